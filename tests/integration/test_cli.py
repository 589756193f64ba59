"""`ember run`: PyTorch scripts run on ember with argv, __name__, __file__, tracebacks intact."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

import ember
from ember import _torch_alias

SCRIPTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "scripts")

MODULES = [
    "torch",
    "torch.nn",
    "torch.nn.functional",
    "torch.optim",
    "torch.optim.lr_scheduler",
    "torch.utils.data",
    "torch.autograd",
    "torch.cuda",
    "torch.backends.cudnn",
    "torch.serialization",
    "torch.accelerator",
    "torch.version",
    "torch.distributions",
    "torch.distributions.normal",
    "torch.distributions.constraints",
    "torch.distributions.kl",
]


def ember_run(*args: str, cwd: str = SCRIPTS, timeout: int = 90) -> subprocess.CompletedProcess:
    """`python -m ember run ARGS` in a fresh interpreter."""
    env = dict(os.environ)
    root = os.path.dirname(os.path.dirname(ember.__file__))
    env["PYTHONPATH"] = root + os.pathsep + env.get("PYTHONPATH", "")
    return subprocess.run(
        [sys.executable, "-m", "ember", "run", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def result(proc: subprocess.CompletedProcess) -> dict:
    """The JSON a test script printed after 'RESULT '."""
    assert proc.returncode == 0, proc.stderr
    line = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")][-1]
    return json.loads(line[len("RESULT ") :])


def test_argv_name_file_path_and_version():
    info = result(ember_run("show_env.py", "alpha", "--beta", "3"))
    assert info["argv"] == ["show_env.py", "alpha", "--beta", "3"]
    assert info["name"] == "__main__"
    assert info["file"] == os.path.join(SCRIPTS, "show_env.py")
    assert os.path.realpath(info["path0"]) == os.path.realpath(SCRIPTS)
    assert info["torch_module"] == "ember" and info["torch_is_ember"]
    assert info["version"] == ember.__version__
    assert info["version_ge_2"] and info["version_ge_tuple"]
    assert info["tensor_sum"] == 6.0


@pytest.fixture(scope="module")
def imported() -> dict:
    return result(ember_run("import_modules.py", *MODULES))


@pytest.mark.parametrize("name", MODULES)
def test_each_torch_module_is_the_ember_module(imported, name):
    entry = imported[name]
    assert entry["module_name"] == "ember" + name[len("torch") :]
    assert entry["same_object"], entry


def test_training_script_with_common_imports():
    proc = ember_run("from_imports.py")
    assert proc.returncode == 0, proc.stderr
    assert "RESULT grad=6.0 loss_dropped=True" in proc.stdout
    assert "classes=ember.nn" in proc.stdout


def test_child_processes_see_ember_as_torch():
    info = result(ember_run("spawn_children.py", timeout=150))
    assert info == {"spawned": "ember", "batches": [[0.0, 1.0], [2.0, 3.0]], "subprocess": "ember"}


def test_traceback_looks_like_plain_python():
    proc = ember_run("raise_error.py")
    assert proc.returncode == 1
    err = proc.stderr
    assert err.startswith("Traceback (most recent call last):")
    path = os.path.join(SCRIPTS, "raise_error.py")
    assert f'File "{path}", line 14, in <module>' in err
    assert f'File "{path}", line 7, in inner' in err
    assert err.rstrip().endswith("ValueError: boom from the user script")
    assert "runpy" not in err and "__main__.py" not in err


def test_exit_status_passes_through():
    proc = ember_run("exit_code.py", "3")
    assert proc.returncode == 3 and "before exit" in proc.stdout


def test_missing_api_names_the_torch_function():
    proc = ember_run("uses_missing.py", "filecheck")
    assert proc.returncode == 1
    assert "QUANTIZE ember does not implement torch.quantize_per_tensor yet" in proc.stdout
    last = proc.stderr.strip().splitlines()[-1]
    assert last == "NotImplementedError: ember does not implement torch.testing.FileCheck yet"
    assert "_torch_alias" not in proc.stderr


def test_module_mode():
    info = result(ember_run("-m", "clipkg.tool", "x", "--y"))
    assert info["argv"] == [os.path.join(SCRIPTS, "clipkg", "tool.py"), "x", "--y"]
    assert info["name"] == "__main__" and info["pkg"] == "clipkg"
    assert info["nn"] == "ember.nn"
    proc = ember_run("-m", "clipkg.tool", "--fail")
    assert proc.returncode == 1
    assert proc.stderr.rstrip().endswith("RuntimeError: module failure")
    assert "tool.py" in proc.stderr and "runpy" not in proc.stderr


def test_usage_errors():
    proc = ember_run("no_such_script.py")
    assert proc.returncode == 2 and "can't open file" in proc.stderr
    proc = ember_run("-m", "clipkg.nope")
    assert proc.returncode == 1 and "No module named" in proc.stderr
    proc = ember_run()
    assert proc.returncode == 2 and "usage: ember run" in proc.stderr


def test_not_implemented_error_is_also_attribute_error():
    assert not hasattr(ember, "definitely_not_a_torch_api")
    missing = "ember does not implement torch.quantize_per_tensor yet"
    with pytest.raises(NotImplementedError, match=missing):
        _ = ember.quantize_per_tensor
    with pytest.raises(AttributeError):
        _ = ember.quantize_per_tensor
    with pytest.raises(AttributeError):
        _ = ember.__wrapped__  # dunder probes stay plain AttributeErrors
    ph = _torch_alias.placeholder_module("torch.fft")
    assert not hasattr(ph, "rfft")
    with pytest.raises(NotImplementedError, match="torch.fft.rfft yet"):
        ph.rfft(1)
    with pytest.raises(NotImplementedError, match="torch.fft yet"):
        ph()


def test_version_compares_like_torch():
    v = ember.__version__
    assert isinstance(v, str) and v == "2.13.0+ember.0.1.0"
    assert v >= "2.0" and v > "1.13.1+cu117" and v < "2.14" and v < "3"
    assert v >= (2, 13) and v < (2, 14) and v > (1, 9)
    assert ember.version.__version__ == v and ember.version.cuda is None
    assert v.split("+")[0] == "2.13.0"


def test_accelerator_and_backends_flags():
    assert ember.accelerator.is_available() is ember.cuda.is_available()
    if not ember.cuda.is_available():
        assert ember.accelerator.current_accelerator() is None
        assert ember.accelerator.device_count() == 0
    cudnn = ember.backends.cudnn
    old = cudnn.benchmark, cudnn.deterministic
    cudnn.benchmark, cudnn.deterministic = True, True
    assert ember.backends.cudnn.benchmark and ember.backends.cudnn.deterministic
    with cudnn.flags(enabled=False, benchmark=False):
        assert cudnn.enabled is False and cudnn.benchmark is False
    assert cudnn.enabled is True and cudnn.benchmark is True
    cudnn.benchmark, cudnn.deterministic = old
    assert cudnn.is_available() is False
    assert ember.backends.mps.is_available() is False
    ember.backends.cuda.matmul.allow_tf32 = True
    assert ember.backends.cuda.matmul.allow_tf32 is True
    ember.backends.cuda.matmul.allow_tf32 = False


def test_console_script_entry_point():
    from ember.__main__ import main

    assert main(["--version"]) == 0
    assert main(["info"]) == 0


def test_install_refuses_when_real_torch_is_loaded():
    pytest.importorskip("torch")  # conftest imports the real torch into this process
    with pytest.raises(RuntimeError, match="already imported"):
        _torch_alias.install()
    assert not _torch_alias.is_installed()


def test_install_and_uninstall_in_a_fresh_process():
    code = (
        "import sys\n"
        "from ember import _torch_alias\n"
        "_torch_alias.install()\n"
        "import torch.nn.functional as F\n"
        "import torch.fft\n"
        "assert F.__name__ == 'ember.nn.functional' and sys.modules['torch.nn'] is torch.nn\n"
        "assert _torch_alias.is_installed()\n"
        "_torch_alias.uninstall()\n"
        "assert not _torch_alias.is_installed()\n"
        "assert not [k for k in sys.modules if k == 'torch' or k.startswith('torch.')]\n"
        "print('OK')\n"
    )
    root = os.path.dirname(os.path.dirname(ember.__file__))
    env = dict(os.environ, PYTHONPATH=root + os.pathsep + os.environ.get("PYTHONPATH", ""))
    proc = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=90,
        cwd=SCRIPTS,
        env=env,
    )
    assert proc.stdout.strip() == "OK", proc.stderr
