"""`ember demo` end to end (short run) and the runnable examples under examples/."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import numpy as np
import pytest

import ember

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
EXAMPLES = os.path.join(ROOT, "examples")


def run(*args: str, cwd: str = ROOT, timeout: int = 120) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    return subprocess.run(
        [sys.executable, "-m", "ember", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo")
    proc = run("demo", "--epochs", "2", "--out", str(out), "--no-progress")
    assert proc.returncode == 0, proc.stderr
    return out, proc.stdout


def test_bundled_digits_data():
    from ember.demo import load_digits

    images, labels = load_digits()
    assert images.shape == (1797, 8, 8) and labels.shape == (1797,)
    assert images.dtype == np.uint8 and images.max() == 16
    assert sorted(set(labels.tolist())) == list(range(10))
    here = os.path.join(os.path.dirname(ember.__file__), "_demo_data")
    assert os.path.getsize(os.path.join(here, "digits.npz")) < 100_000
    assert "CC BY 4.0" in open(os.path.join(here, "DIGITS_LICENSE.txt")).read()


def test_demo_reports_accuracy_and_writes_outputs(demo_run):
    out, stdout = demo_run
    m = re.search(r"test accuracy: ([0-9.]+)%", stdout)
    assert m, stdout
    assert float(m.group(1)) > 85.0  # two epochs already get most digits right
    assert "epoch  2:" in stdout and "best epoch" in stdout
    metrics = json.loads((out / "metrics.json").read_text())
    assert len(metrics["history"]["val_acc"]) == 2
    assert abs(metrics["test_accuracy"] * 100 - float(m.group(1))) < 0.01
    if metrics["plot"]:
        assert (out / "curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    else:
        assert "skipped" in stdout


def test_checkpoint_loads_in_ember_and_in_torch(demo_run):
    out, _ = demo_run
    path = str(out / "best.pt")
    sd = ember.load(path, weights_only=True)
    assert list(sd) == ["0.weight", "0.bias", "2.weight", "2.bias"]
    assert tuple(sd["0.weight"].shape) == (128, 64)
    torch = pytest.importorskip("torch")
    tsd = torch.load(path, weights_only=True)
    assert list(tsd) == list(sd)
    for k in sd:
        np.testing.assert_array_equal(tsd[k].numpy(), sd[k].numpy())
    # The same weights in a torch model and an ember model give the same predictions.
    from ember.demo import load_digits

    images, _ = load_digits()
    x = images.reshape(-1, 64).astype(np.float32) / 8.0 - 1.0
    tmodel = torch.nn.Sequential(
        torch.nn.Linear(64, 128), torch.nn.ReLU(), torch.nn.Linear(128, 10)
    )
    tmodel.load_state_dict(tsd)
    emodel = ember.nn.Sequential(
        ember.nn.Linear(64, 128), ember.nn.ReLU(), ember.nn.Linear(128, 10)
    )
    emodel.load_state_dict(sd)
    with torch.no_grad(), ember.no_grad():
        t_out = tmodel(torch.from_numpy(x)).numpy()
        e_out = emodel(ember.from_numpy(x)).numpy()
    np.testing.assert_allclose(e_out, t_out, rtol=1e-4, atol=1e-5)


def test_demo_with_worker_processes(tmp_path):
    proc = run("demo", "--epochs", "1", "--workers", "2", "--out", str(tmp_path), "--no-progress")
    assert proc.returncode == 0, proc.stderr
    assert "test accuracy:" in proc.stdout


def example(name: str, *args: str) -> str:
    proc = run("run", os.path.join(EXAMPLES, name), *args, cwd=EXAMPLES)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def test_example_fit_polynomial():
    out = example("fit_polynomial.py", "--steps", "1000")
    mse = float(re.search(r"mean squared error ([0-9.]+)", out).group(1))
    assert mse < 0.1
    # same seed, same numbers: PyTorch itself prints the same fit
    pytest.importorskip("torch")
    ref = subprocess.run(
        [sys.executable, os.path.join(EXAMPLES, "fit_polynomial.py"), "--steps", "1000"],
        capture_output=True,
        text=True,
        cwd=EXAMPLES,
        timeout=120,
    )
    assert ref.returncode == 0, ref.stderr
    assert out.splitlines()[-2:] == ref.stdout.splitlines()[-2:]


def test_example_custom_autograd_function():
    out = example("custom_autograd_function.py")
    assert "learned w=1.500 b=-0.500" in out


def test_example_load_torch_checkpoint():
    out = example("load_torch_checkpoint.py")
    assert "written by torch 2.13.0" in out and "outputs match" in out


def test_example_digits_classifier(tmp_path):
    out = example("digits_classifier.py", "--epochs", "2", "--out", str(tmp_path / "b.pt"))
    acc = float(re.search(r"test accuracy ([0-9.]+)", out).group(1))
    assert acc > 0.85


def test_demo_without_tqdm_and_matplotlib(tmp_path, monkeypatch, capsys):
    from ember import demo

    monkeypatch.setitem(sys.modules, "tqdm", None)
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    assert demo.main(["--epochs", "1", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "epoch  1:" in out and "test accuracy:" in out
    assert "learning curves: skipped" in out and not (tmp_path / "curves.png").exists()
    assert (tmp_path / "best.pt").exists()


def test_example_is_plain_pytorch_code(tmp_path):
    """The same example file runs on real PyTorch too (it is an ordinary torch program)."""
    pytest.importorskip("torch")
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    proc = subprocess.run(
        [
            sys.executable,
            os.path.join(EXAMPLES, "digits_classifier.py"),
            "--epochs",
            "1",
            "--out",
            str(tmp_path / "t.pt"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert proc.returncode == 0, proc.stderr
    assert float(re.search(r"test accuracy ([0-9.]+)", proc.stdout).group(1)) > 0.8
    import torch

    assert set(torch.load(str(tmp_path / "t.pt"), weights_only=True)) == {
        "net.0.weight",
        "net.0.bias",
        "net.2.weight",
        "net.2.bias",
    }
