"""ember.safetensors against the safetensors package (and torch) both ways."""

from __future__ import annotations

import json
import os
import struct

import numpy as np
import pytest

import ember
import ember.safetensors as est

torch = pytest.importorskip("torch")
st_torch = pytest.importorskip("safetensors.torch")
safetensors = pytest.importorskip("safetensors")

DTYPES = [
    "bool",
    "uint8",
    "int8",
    "int16",
    "uint16",
    "int32",
    "uint32",
    "int64",
    "uint64",
    "float16",
    "bfloat16",
    "float32",
    "float64",
    "complex64",
]


def _torch_tensor(name, shape=(3, 4)):
    x = torch.from_numpy(np.random.default_rng(3).standard_normal(shape) * 40)
    if name == "bool":
        return x > 0
    if name.startswith("complex"):
        return torch.complex(x, -x).to(torch.complex64)
    if name.startswith("uint"):
        return x.abs().to(torch.int64).to(getattr(torch, name))
    return x.to(getattr(torch, name))


def _np(t):
    if isinstance(t, torch.Tensor):
        return t.float().numpy() if t.dtype == torch.bfloat16 else t.numpy()
    a = t._host()
    return a.astype(np.float32) if t.dtype is ember.bfloat16 else a


@pytest.mark.parametrize("name", DTYPES)
def test_package_file_to_ember(tmp_path, name):
    t = _torch_tensor(name)
    tensors = {"x": t, "row": t[1].clone(), "scalar": t[0, 0].clone(), "empty": t[:0].clone()}
    p = tmp_path / "a.safetensors"
    st_torch.save_file(tensors, p, metadata={"format": "pt"})
    out = est.load_file(p)
    assert sorted(out) == sorted(tensors)
    for k, v in tensors.items():
        assert str(out[k].dtype) == str(v.dtype) and tuple(out[k].shape) == tuple(v.shape)
        np.testing.assert_array_equal(_np(out[k]), _np(v))
    with est.safe_open(p, framework="pt") as f:
        assert f.metadata() == {"format": "pt"} and f.keys() == sorted(tensors)
        np.testing.assert_array_equal(_np(f.get_tensor("x")), _np(t))
        sl = f.get_slice("x")
        assert sl.get_shape() == [3, 4]
        np.testing.assert_array_equal(_np(sl[1:, ::2]), _np(t[1:, ::2]))


@pytest.mark.parametrize("name", DTYPES)
def test_ember_file_to_package(tmp_path, name):
    t = _torch_tensor(name)
    base = _from_torch(t)
    tensors = {"x": base, "t": _from_torch(t.t().contiguous()).t(), "s": _from_torch(t[0, 0])}
    p = tmp_path / "b.safetensors"
    est.save_file(tensors, p, metadata={"who": "ember"})
    out = st_torch.load_file(p)
    for k, v in tensors.items():
        assert str(out[k].dtype) == str(v.dtype) and tuple(out[k].shape) == tuple(v.shape)
        np.testing.assert_array_equal(_np(out[k]), _np(v))
    with safetensors.safe_open(p, framework="pt") as f:
        assert f.metadata() == {"who": "ember"}
    # byte-identical to the package's own output
    assert est.save(tensors, {"who": "ember"}) == st_torch.save(
        {k: out[k] for k in tensors}, {"who": "ember"}
    )


def _from_torch(t):
    if t.dtype == torch.bfloat16:
        return ember.tensor(t.float().numpy()).to(ember.bfloat16)
    return ember.from_numpy(t.numpy().copy())


def test_noncontiguous_views_are_written_correctly(tmp_path):
    a = ember.arange(24, dtype=ember.float32).reshape(4, 6)
    tensors = {"t": a[:, 1::2].t(), "b": ember.ones(3, dtype=ember.bfloat16) * 1.5}
    data = est.save(tensors)
    out = st_torch.load(data)
    np.testing.assert_array_equal(out["t"].numpy(), a[:, 1::2].t().numpy())
    assert out["b"].dtype == torch.bfloat16 and out["b"].tolist() == [1.5, 1.5, 1.5]
    back = est.load(data)
    np.testing.assert_array_equal(back["t"].numpy(), a[:, 1::2].t().numpy())
    back["t"][0, 0] = 7.0  # loaded tensors own writable memory
    assert back["t"][0, 0].item() == 7.0


def test_header_layout():
    data = est.save(
        {"a": ember.arange(3), "h": ember.ones(1, dtype=ember.float16)}, metadata={"format": "pt"}
    )
    n = struct.unpack("<Q", data[:8])[0]
    assert n % 8 == 0
    header = json.loads(data[8 : 8 + n])
    assert header["__metadata__"] == {"format": "pt"}
    assert header["a"] == {"dtype": "I64", "shape": [3], "data_offsets": [0, 24]}
    assert header["h"] == {"dtype": "F16", "shape": [1], "data_offsets": [24, 26]}
    assert data[8 : 8 + n].rstrip(b" ").endswith(b"}")


def test_shared_tensors_refused():
    a = ember.arange(6.0)
    with pytest.raises(RuntimeError, match="share memory"):
        est.save({"a": a, "b": a[2:]})
    with pytest.raises(RuntimeError, match="share memory"):
        est.save({"a": a, "a2": a.view(2, 3)})
    ta = torch.arange(6.0)
    with pytest.raises(RuntimeError):  # the package refuses the same
        st_torch.save({"a": ta, "b": ta[2:]})
    assert est.load(est.save({"a": a, "b": a[2:].clone()}))["b"].tolist() == [2, 3, 4, 5]


def _with_header(header: dict | bytes, data: bytes = b"") -> bytes:
    raw = header if isinstance(header, bytes) else json.dumps(header).encode()
    return struct.pack("<Q", len(raw)) + raw + data


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"\x01\x00",
        struct.pack("<Q", 2**40) + b"{}",  # header too large
        struct.pack("<Q", 1000) + b"{}",  # past the end
        _with_header(b"[1, 2]"),  # not an object
        _with_header(b"{not json"),
        _with_header({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}, b"\0" * 4),
        _with_header({"a": {"dtype": "F32", "shape": [3], "data_offsets": [0, 8]}}, b"\0" * 8),
        _with_header(
            {
                "a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
                "b": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]},
            },
            b"\0" * 12,
        ),
        _with_header({"a": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}}, b"\0" * 8),
        _with_header({"a": {"dtype": "X9", "shape": [1], "data_offsets": [0, 4]}}, b"\0" * 4),
        _with_header({"a": {"dtype": "F32", "shape": [-1], "data_offsets": [0, 4]}}, b"\0" * 4),
        _with_header(
            {"a": {"dtype": "F32", "shape": [10**12, 10**12], "data_offsets": [0, 4]}}, b"\0" * 4
        ),
        _with_header(
            b'{"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}, '
            b'"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}',
            b"\0" * 4,
        ),
        _with_header({"__metadata__": {"k": 1}}),
        _with_header(b"{" + b"[" * 100000 + b"]" * 100000 + b"}"),
    ],
)
def test_bad_files_refused(tmp_path, data):
    with pytest.raises(est.SafetensorError):
        est.load(data)
    p = tmp_path / "bad.safetensors"
    p.write_bytes(data)
    with pytest.raises(ValueError):
        est.load_file(p)


def test_package_refuses_what_ember_refuses():
    data = struct.pack("<Q", 2**40) + b"{}"
    with pytest.raises(safetensors.SafetensorError, match="header too large"):
        st_torch.load(data)


def test_save_arguments_checked():
    with pytest.raises(TypeError):
        est.save({"a": np.ones(2)})
    with pytest.raises(TypeError):
        est.save({"a": ember.ones(2)}, metadata={"k": 1})
    with pytest.raises(ValueError):
        est.save({"__metadata__": ember.ones(2)})


def test_torch_load_of_safetensors_path(tmp_path):
    p = tmp_path / "m.safetensors"
    est.save_file({"w": ember.arange(3.0)}, p)
    assert ember.load(p)["w"].tolist() == [0.0, 1.0, 2.0]
    assert torch.load(p)["w"].tolist() == [0.0, 1.0, 2.0]
    assert os.path.exists(p)


def test_disjoint_views_of_one_buffer_are_allowed():
    flat = ember.arange(10.0)
    out = est.load(est.save({"a": flat[:4], "b": flat[4:].view(2, 3)}))
    assert out["a"].tolist() == [0, 1, 2, 3] and out["b"].tolist() == [[4, 5, 6], [7, 8, 9]]
    with pytest.raises(RuntimeError, match="share memory"):
        est.save({"a": flat[:5], "b": flat[4:]})
