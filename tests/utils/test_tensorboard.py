"""SummaryWriter writes real TensorBoard event files (read back through the TFRecord framing)."""

from __future__ import annotations

import glob
import os
import struct
import subprocess
import sys

import numpy as np
import pytest

import ember

tbx = pytest.importorskip("tensorboardX")


def read_records(path: str) -> list[bytes]:
    """The payloads of a TFRecord file: u64 length, u32 crc, data, u32 crc per record."""
    out = []
    with open(path, "rb") as f:
        while True:
            head = f.read(12)
            if not head:
                break
            (length,) = struct.unpack("<Q", head[:8])
            data = f.read(length)
            assert len(data) == length
            assert len(f.read(4)) == 4
            out.append(data)
    return out


def events(logdir: str) -> list:
    """Every Event message in the event files under ``logdir``."""
    from tensorboardX.proto.event_pb2 import Event

    found = []
    for path in sorted(
        glob.glob(os.path.join(logdir, "**", "events.out.tfevents.*"), recursive=True)
    ):
        for rec in read_records(path):
            ev = Event()
            ev.ParseFromString(rec)
            found.append(ev)
    return found


def test_scalars_text_histogram(tmp_path):
    from ember.utils.tensorboard import SummaryWriter

    with SummaryWriter(log_dir=str(tmp_path)) as w:
        assert w.get_logdir() == str(tmp_path)
        for step in range(3):
            w.add_scalar("loss/train", ember.tensor(1.0 / (step + 1)), step)
        w.add_scalar("lr", 0.1, global_step=ember.tensor(7))
        w.add_histogram("weights", ember.randn(100), 0)
        w.add_text("note", "hello ember", 0)
        w.flush()
    evs = events(str(tmp_path))
    scalars = {}
    hist = text = None
    for ev in evs:
        for v in ev.summary.value:
            if v.HasField("histo"):
                hist = v.histo
            elif v.tag.startswith("note"):
                text = v
            else:
                scalars.setdefault(v.tag, []).append((ev.step, v.simple_value))
    assert [s for s, _ in scalars["loss/train"]] == [0, 1, 2]
    np.testing.assert_allclose([x for _, x in scalars["loss/train"]], [1.0, 0.5, 1 / 3], rtol=1e-6)
    assert scalars["lr"] == [(7, pytest.approx(0.1))]
    assert hist is not None and hist.num == 100
    assert text is not None and b"hello ember" in text.tensor.string_val[0]


def test_add_scalars_writes_one_run_per_key(tmp_path):
    from ember.utils.tensorboard import SummaryWriter

    w = SummaryWriter(str(tmp_path))
    w.add_scalars("acc", {"train": ember.tensor(0.9), "val": np.float32(0.8)}, 1)
    w.close()
    tags = {
        (v.tag, round(v.simple_value, 4)) for ev in events(str(tmp_path)) for v in ev.summary.value
    }
    assert ("acc", 0.9) in tags and ("acc", 0.8) in tags
    runs = {
        os.path.relpath(os.path.dirname(p), tmp_path)
        for p in glob.glob(str(tmp_path / "**" / "events.out.*"), recursive=True)
    }
    assert len(runs) >= 2 and any("train" in r for r in runs) and any("val" in r for r in runs)


def test_non_scalar_rejected(tmp_path):
    from ember.utils.tensorboard import SummaryWriter

    with SummaryWriter(str(tmp_path)) as w, pytest.raises(ValueError, match="one element"):
        w.add_scalar("bad", ember.ones(3), 0)


def test_missing_tensorboardx_message():
    code = (
        "import sys; sys.modules['tensorboardX'] = None\n"
        "try:\n    import ember.utils.tensorboard\n"
        "except ImportError as e:\n    print('ERR', e)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert "pip install 'ember[tensorboard]'" in out.stdout, out.stderr


def test_torch_utils_tensorboard_under_ember_run(tmp_path):
    script = tmp_path / "log.py"
    script.write_text(
        "import sys\n"
        "import torch\n"
        "from torch.utils.tensorboard import SummaryWriter\n"
        "with SummaryWriter(sys.argv[1]) as w:\n"
        "    for i in range(3):\n"
        "        w.add_scalar('loss', torch.tensor(1.0 + i), i)\n"
    )
    logdir = tmp_path / "runs"
    root = os.path.dirname(os.path.dirname(ember.__file__))
    env = dict(os.environ, PYTHONPATH=root + os.pathsep + os.environ.get("PYTHONPATH", ""))
    proc = subprocess.run(
        [sys.executable, "-m", "ember", "run", str(script), str(logdir)],
        capture_output=True,
        text=True,
        timeout=90,
        env=env,
    )
    assert proc.returncode == 0, proc.stderr
    values = [(ev.step, v.simple_value) for ev in events(str(logdir)) for v in ev.summary.value]
    assert values == [(0, 1.0), (1, 2.0), (2, 3.0)]
