"""weights_only safety, the safe-globals API, and refusal of malformed checkpoints."""

from __future__ import annotations

import io
import os
import pickle
import struct
import zipfile

import numpy as np
import pytest

import ember
from ember import serialization as es

torch = pytest.importorskip("torch")

BAD = (RuntimeError, ValueError, pickle.UnpicklingError)


class RunsShell:
    """Its pickle calls os.system: loading it must not run the command."""

    def __init__(self, cmd):
        self.cmd = cmd

    def __reduce__(self):
        return (os.system, (self.cmd,))


class RunsExec:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (exec, (f"open({self.marker!r}, 'w').write('pwned')",))


class Point:
    def __init__(self, x, y):
        self.x, self.y = x, y


def _torch_bytes(obj, **kw) -> bytes:
    b = io.BytesIO()
    torch.save(obj, b, **kw)
    return b.getvalue()


def _ember_bytes(obj) -> bytes:
    b = io.BytesIO()
    ember.save(obj, b)
    return b.getvalue()


# --- malicious pickles -------------------------------------------------------------------------


@pytest.mark.parametrize("writer", ["torch_zip", "torch_legacy", "ember"])
def test_malicious_reduce_does_not_run(tmp_path, writer):
    marker = tmp_path / "marker"
    for evil, name in ((RunsShell(f"touch {marker}"), "system"), (RunsExec(str(marker)), "exec")):
        obj = {"w": torch.ones(2) if writer != "ember" else ember.ones(2), "evil": evil}
        data = (
            _torch_bytes(obj)
            if writer == "torch_zip"
            else _torch_bytes(obj, _use_new_zipfile_serialization=False)
            if writer == "torch_legacy"
            else _ember_bytes(obj)
        )
        with pytest.raises(pickle.UnpicklingError, match=name) as ei:
            ember.load(io.BytesIO(data))
        assert "weights_only" in str(ei.value)
        assert not marker.exists()
    # the payload is live: the unsafe loader does run it (this is why weights_only=True)
    ember.load(io.BytesIO(data), weights_only=False)
    assert marker.exists()


def test_blocked_module_message():
    data = _torch_bytes({"e": RunsShell("true")})
    with pytest.raises(pickle.UnpicklingError, match=r"GLOBAL (posix|os)\.system"):
        ember.load(io.BytesIO(data))


def test_explicit_pickle_module_with_weights_only():
    """torch: weights_only=True with a pickle_module raises; left unset, a pickle_module means
    weights_only=False."""
    for lib in (torch, ember):
        with pytest.raises(RuntimeError, match="pickle_module"):
            lib.load(io.BytesIO(_ember_bytes({})), pickle_module=pickle, weights_only=True)
        assert lib.load(io.BytesIO(_ember_bytes({"a": 1})), pickle_module=pickle) == {"a": 1}


def _zip_with_pickle(pkl: bytes, records=None, prefix="archive") -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as z:
        z.writestr(f"{prefix}/data.pkl", pkl)
        z.writestr(f"{prefix}/byteorder", "little")
        for k, v in (records or {}).items():
            z.writestr(f"{prefix}/data/{k}", v)
        z.writestr(f"{prefix}/version", "3\n")
    return out.getvalue()


def test_protocol_4_and_unknown_opcodes_refused():
    with pytest.raises(pickle.UnpicklingError, match="Unsupported operand"):
        ember.load(io.BytesIO(_zip_with_pickle(pickle.dumps({"a": b"x" * 10}, protocol=4))))
    # but plain protocol-2 data loads
    assert ember.load(io.BytesIO(_zip_with_pickle(pickle.dumps({"a": [1, 2.5]}, 2)))) == {
        "a": [1, 2.5]
    }


def test_allowed_callables_cannot_allocate():
    # builtins.bytearray(10**12) is on torch's allowlist; ember refuses the int form
    pkl = b"\x80\x02c__builtin__\nbytearray\nJ\x00\x00\x00\x7f\x85R."
    with pytest.raises(pickle.UnpicklingError):
        ember.load(io.BytesIO(_zip_with_pickle(pkl)))
    # and torch.Tensor(huge) is never called
    pkl = b"\x80\x02ctorch\nTensor\nJ\x00\x00\x00\x7fJ\x00\x00\x00\x7f\x86R."
    with pytest.raises(pickle.UnpicklingError):
        ember.load(io.BytesIO(_zip_with_pickle(pkl)))


def test_nested_tuple_keys_refused():
    # ((((x,x),(x,x)),...)) as a dict key: hashing it would take 2**60 steps
    pkl = b"\x80\x02}K\x01" + b"q\x00h\x00\x86" * 60 + b"K\x02s."
    with pytest.raises(pickle.UnpicklingError, match="too large"):
        ember.load(io.BytesIO(_zip_with_pickle(pkl)))


# --- the safe-globals API ------------------------------------------------------------------


def test_safe_globals_api():
    es.clear_safe_globals()
    data = _ember_bytes({"p": Point(1, 2), "w": ember.ones(1)})
    with pytest.raises(pickle.UnpicklingError, match=f"{__name__}.Point"):
        ember.load(io.BytesIO(data))
    assert f"{__name__}.Point" in es.get_unsafe_globals_in_checkpoint(io.BytesIO(data))
    with es.safe_globals([Point]):
        assert Point in es.get_safe_globals()
        out = ember.load(io.BytesIO(data))
        assert type(out["p"]) is Point and (out["p"].x, out["p"].y) == (1, 2)
    assert Point not in es.get_safe_globals()
    with pytest.raises(pickle.UnpicklingError):
        ember.load(io.BytesIO(data))
    es.add_safe_globals([Point])
    try:
        assert ember.load(io.BytesIO(data))["p"].y == 2
        assert es.get_unsafe_globals_in_checkpoint(io.BytesIO(data)) == []
        # torch reads the same file with its own allowlist
        with torch.serialization.safe_globals([Point]):
            assert torch.load(io.BytesIO(data))["p"].x == 1
    finally:
        es.clear_safe_globals()
    assert es.get_safe_globals() == []
    # (object, "full.path") pairs name a global by any path
    pkl = b"\x80\x02cmy.lib\nPt\nK\x03K\x04\x86\x81}(X\x01\x00\x00\x00xK\x03ub."
    with es.safe_globals([(Point, "my.lib.Pt")]):
        p = ember.load(io.BytesIO(_zip_with_pickle(pkl)))
    assert type(p) is Point and p.x == 3
    with pytest.raises(ValueError):
        es.add_safe_globals([(Point,)])


# --- malformed files ---------------------------------------------------------------------------


def _tensor_pickle(size, stride, offset=0, numel=6, stype=b"FloatStorage", key=b"0") -> bytes:
    """A hand-assembled protocol-2 pickle of one _rebuild_tensor_v2 call."""

    def ints(vals):
        out = b"("
        for v in vals:
            out += _int(v)
        return out + b"t"

    pid = (
        b"(X\x07\x00\x00\x00storagectorch\n"
        + stype
        + b"\nX"
        + struct.pack("<I", len(key))
        + key
        + b"X\x03\x00\x00\x00cpu"
        + _int(numel)
        + b"tQ"
    )
    return (
        b"\x80\x02ctorch._utils\n_rebuild_tensor_v2\n("
        + pid
        + _int(offset)
        + ints(size)
        + ints(stride)
        + b"\x89ccollections\nOrderedDict\n)Rt"
        + b"R."
    )


def _int(v: int) -> bytes:
    if -(2**31) <= v < 2**31:
        return b"J" + struct.pack("<i", v)
    n = (v.bit_length() + 8) // 8
    return b"\x8a" + bytes([n]) + v.to_bytes(n, "little", signed=True)


def test_hand_made_tensor_pickle_loads():
    rec = np.arange(6, dtype=np.float32).tobytes()
    t = ember.load(io.BytesIO(_zip_with_pickle(_tensor_pickle((2, 3), (3, 1)), {"0": rec})))
    assert t.tolist() == [[0, 1, 2], [3, 4, 5]]
    t = ember.load(io.BytesIO(_zip_with_pickle(_tensor_pickle((3, 2), (1, 3), 0), {"0": rec})))
    assert t.tolist() == [[0, 3], [1, 4], [2, 5]]


@pytest.mark.parametrize(
    "size,stride,offset,numel,rec_len",
    [
        ((10**6, 10**6), (1, 1), 0, 6, 24),  # absurd shape: more elements than stored
        ((2, 3), (3, 1), 1, 6, 24),  # offset pushes the view past the end
        ((3,), (-1,), 2, 6, 24),  # negative stride
        ((2, 3), (3,), 0, 6, 24),  # size and stride disagree
        ((-2, 3), (3, 1), 0, 6, 24),  # negative size
        ((2, 3), (3, 1), -1, 6, 24),  # negative offset
        ((1,), (2**70,), 0, 6, 24),  # stride overflows int64
        ((0, 2**70), (1, 1), 0, 6, 24),  # empty but impossibly wide
        ((2, 3), (3, 1), 0, 6, 20),  # record of the wrong size
        ((2, 3), (3, 1), 0, 2**62, 24),  # storage numel beyond the record
    ],
)
def test_bad_tensor_views(size, stride, offset, numel, rec_len):
    rec = bytes(rec_len)
    data = _zip_with_pickle(_tensor_pickle(size, stride, offset, numel), {"0": rec})
    with pytest.raises(BAD):
        ember.load(io.BytesIO(data))


def test_missing_record_and_bad_storage_ids():
    with pytest.raises(RuntimeError, match="data/0"):
        ember.load(io.BytesIO(_zip_with_pickle(_tensor_pickle((2, 3), (3, 1)))))
    with pytest.raises(BAD):  # storage type that is not a storage
        ember.load(
            io.BytesIO(
                _zip_with_pickle(_tensor_pickle((2,), (1,), stype=b"float32"), {"0": bytes(24)})
            )
        )
    pkl = b"\x80\x02(X\x06\x00\x00\x00moduleK\x01tQ."
    with pytest.raises(pickle.UnpicklingError):
        ember.load(io.BytesIO(_zip_with_pickle(pkl)))


def test_truncated_and_corrupted_files():
    data = _ember_bytes({"a": ember.randn(4, 4), "b": [1, 2, {"c": ember.arange(5)}]})
    for n in range(0, len(data), 13):
        with pytest.raises(BAD):
            ember.load(io.BytesIO(data[:n]))
    z64 = data.rfind(b"PK\x06\x06")  # zip64 end record: entry count, directory size/offset
    cdir = data.find(b"PK\x01\x02")  # the directory entry of data.pkl
    for pos in (0, 70, 200, z64 + 32, z64 + 41, z64 + 48, cdir, cdir + 42, cdir + 20):
        bad = bytearray(data)
        bad[pos] ^= 0xFF
        with pytest.raises(BAD):
            ember.load(io.BytesIO(bytes(bad)))
    # a zip with no version record, and one whose entries are not in a folder
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        z.writestr("archive/data.pkl", pickle.dumps(1, 2))
    with pytest.raises(RuntimeError, match="version"):
        ember.load(io.BytesIO(out.getvalue()))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        z.writestr("data.pkl", pickle.dumps(1, 2))
    with pytest.raises(RuntimeError, match="subdirectory"):
        ember.load(io.BytesIO(out.getvalue()))


def test_deflated_records_load():
    src = zipfile.ZipFile(io.BytesIO(_torch_bytes({"a": torch.arange(100.0)})))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for n in src.namelist():
            z.writestr(n, src.read(n))
    assert ember.load(io.BytesIO(out.getvalue()))["a"].tolist() == list(range(100))


def test_legacy_truncations():
    data = _torch_bytes({"a": torch.randn(3, 3), "n": 5}, _use_new_zipfile_serialization=False)
    for n in range(1, len(data), 11):
        with pytest.raises(BAD):
            ember.load(io.BytesIO(data[:n]))
