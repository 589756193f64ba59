"""ember.save / ember.load against real torch: every dtype, paths and mmap, map_location, byte
order, legacy and refused formats, atomic save and zip64 archives."""

from __future__ import annotations

import io
import os
import zipfile

import numpy as np
import pytest

import ember
from tests._support.serialization import _saved, roundtrip_from_torch, roundtrip_to_torch, same

torch = pytest.importorskip("torch")

# --- dtypes ------------------------------------------------------------------------------------

DTYPES = [
    "bool",
    "uint8",
    "int8",
    "int16",
    "int32",
    "int64",
    "uint16",
    "uint32",
    "uint64",
    "float16",
    "bfloat16",
    "float32",
    "float64",
    "complex64",
    "complex128",
]


def _values(name):
    rng = np.random.default_rng(1)
    x = rng.standard_normal((3, 4)) * 50
    if name == "bool":
        return x > 0
    if name.startswith(("int", "uint")):
        return np.abs(x).astype(name) if name.startswith("u") else x.astype(name)
    if name.startswith("complex"):
        return (x + 1j * x[::-1]).astype(name)
    return x.astype(np.float32 if name == "bfloat16" else name)


@pytest.mark.parametrize("name", DTYPES)
def test_every_dtype_both_ways(name):
    t = torch.from_numpy(_values(name))
    if name == "bfloat16":
        t = t.to(torch.bfloat16)
    t = t.to(getattr(torch, name))
    obj = {"x": t, "v": t[1:, ::2], "s": t[0, 0].clone()}
    e = roundtrip_from_torch(obj)
    for k in obj:
        same(e[k], obj[k])
    back = roundtrip_to_torch(e)
    for k in obj:
        assert back[k].dtype == obj[k].dtype
        assert torch.equal(back[k], obj[k])
        assert back[k].stride() == obj[k].stride()


@pytest.mark.parametrize("name", [d for d in DTYPES if d != "bfloat16"])
def test_every_dtype_fresh_ember_tensors(name):
    a = _values(name)
    t = ember.from_numpy(a)
    out = roundtrip_to_torch({"t": t, "v": t[:, 1::2], "s": t[2, 3]})
    np.testing.assert_array_equal(out["t"].numpy(), a)
    np.testing.assert_array_equal(out["v"].numpy(), a[:, 1::2])
    assert out["s"].dim() == 0 and out["s"].item() == a[2, 3].item()
    assert str(out["t"].dtype) == f"torch.{name}"


def test_empty_and_zero_dim_tensors():
    obj = {"e": ember.zeros(0, 3), "z": ember.tensor(2.5), "e2": ember.zeros(2, 0, 4)}
    out = roundtrip_to_torch(obj)
    assert out["e"].shape == (0, 3) and out["e2"].shape == (2, 0, 4)
    assert out["z"].dim() == 0 and out["z"].item() == 2.5
    back = roundtrip_from_torch(out)
    assert tuple(back["e"].shape) == (0, 3) and back["z"].item() == 2.5


def test_conj_and_neg_bits_from_torch():
    c = torch.tensor([1 + 2j, 3 - 1j], dtype=torch.complex64).conj()
    n = torch.tensor([1.0, -2.0])._neg_view()
    out = roundtrip_from_torch({"c": c, "n": n})
    np.testing.assert_array_equal(out["c"].numpy(), c.resolve_conj().numpy())
    np.testing.assert_array_equal(out["n"].numpy(), n.resolve_neg().numpy())


# --- files, mmap, map_location ---------------------------------------------------------------


def test_paths_pathlike_and_archive_name(tmp_path):
    sd = {"w": ember.randn(3, 3)}
    p = tmp_path / "my.model.v1.pth"
    ember.save(sd, p)  # os.PathLike
    with zipfile.ZipFile(p) as z:
        assert z.namelist()[0] == "my.model.v1/data.pkl"
        assert all(i.compress_type == zipfile.ZIP_STORED for i in z.infolist())
        for info in z.infolist():  # every payload 64-byte aligned
            with open(p, "rb") as fh:
                fh.seek(info.header_offset + 26)
                nlen, elen = np.frombuffer(fh.read(4), "<u2")
            assert (info.header_offset + 30 + nlen + elen) % 64 == 0
    same(ember.load(str(p))["w"], torch.load(p)["w"])
    t = torch.load(str(p), mmap=True)
    same(sd["w"], t["w"])


def test_mmap_load(tmp_path):
    p = tmp_path / "m.pt"
    torch.save({"a": torch.arange(10.0), "b": torch.ones(3, dtype=torch.int64)}, p)
    out = ember.load(p, mmap=True)
    assert out["a"].tolist() == list(range(10)) and out["b"].tolist() == [1, 1, 1]
    out["a"][0] = 42.0  # copy-on-write: the file is not touched
    assert torch.load(p)["a"][0].item() == 0.0
    with pytest.raises(ValueError, match="file path"):
        ember.load(io.BytesIO(p.read_bytes()), mmap=True)


def _rewrite(data: bytes, fn) -> bytes:
    """Rebuild a zip checkpoint with fn(name, bytes) -> bytes applied to each record."""
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as z:
        for n in src.namelist():
            new = fn(n, src.read(n))
            if new is not None:
                z.writestr(n, new)
    return out.getvalue()


def _on_cuda(data: bytes) -> bytes:
    return _rewrite(
        data,
        lambda n, b: (
            b.replace(b"X\x03\x00\x00\x00cpu", b"X\x06\x00\x00\x00cuda:0")
            if n.endswith("data.pkl")
            else b
        ),
    )


def test_map_location_forms():
    data = _on_cuda(_saved({"w": ember.arange(4.0)}))
    if not ember.cuda.is_available():
        with pytest.raises(RuntimeError, match=r"map_location=torch.device\('cpu'\)"):
            ember.load(io.BytesIO(data))
        with pytest.raises(RuntimeError, match=r"map_location=torch.device\('cpu'\)"):
            torch.load(io.BytesIO(data))  # torch says the same
    for ml in (
        "cpu",
        ember.device("cpu"),
        {"cuda:0": "cpu"},
        lambda s, loc: s,
        lambda s, loc: s.cpu(),
    ):
        out = ember.load(io.BytesIO(data), map_location=ml)
        assert out["w"].device == ember.device("cpu") and out["w"].tolist() == [0, 1, 2, 3]
    seen = []
    ember.load(io.BytesIO(data), map_location=lambda s, loc: seen.append(loc) or s)
    assert seen == ["cuda:0"]


def test_big_endian_file():
    t = {
        "f": torch.arange(6.0).reshape(2, 3),
        "i": torch.tensor([1, -2, 300]),
        "c": torch.tensor([1 + 2j]),
        "h": torch.tensor([1.5], dtype=torch.float16),
        "u": torch.tensor([1, 2, 65535], dtype=torch.int32).to(torch.uint16),
        "z": torch.tensor([3 - 4j], dtype=torch.complex128),
    }
    t["fv"] = t["f"][:, 1:]  # a view of a swapped storage is swapped once
    b = io.BytesIO()
    torch.save(t, b)
    sizes = {"0": 4, "1": 8, "2": 4, "3": 2, "4": 2, "5": 8}  # complex: per float half

    def swap(name, data):
        if name.endswith("byteorder"):
            return b"big"
        key = name.rsplit("/", 1)[-1]
        if "/data/" in name:
            return np.frombuffer(data, f"<u{sizes[key]}").astype(f">u{sizes[key]}").tobytes()
        return data

    out = ember.load(io.BytesIO(_rewrite(b.getvalue(), swap)))
    for k in t:
        same(out[k], t[k])


def test_legacy_format():
    base = torch.arange(12.0).reshape(3, 4)
    obj = {
        "a": base,
        "v": base[1:, 1:],
        "p": torch.nn.Parameter(torch.ones(2)),
        "i": torch.tensor([1, 2], dtype=torch.int64),
        "epoch": 3,
    }
    b = io.BytesIO()
    torch.save(obj, b, _use_new_zipfile_serialization=False)
    for wo in (True, False):
        out = ember.load(io.BytesIO(b.getvalue()), weights_only=wo)
        for k in ("a", "v", "p", "i"):
            same(out[k], obj[k])
        assert isinstance(out["p"], ember.nn.Parameter) and out["epoch"] == 3
        out["a"][1, 1] = 99.0
        assert out["v"][0, 0].item() == 99.0


def test_legacy_format_refuses_mmap(tmp_path):
    p = tmp_path / "legacy.pt"
    torch.save({"a": torch.ones(2)}, p, _use_new_zipfile_serialization=False)
    with pytest.raises(RuntimeError, match="mmap"):
        ember.load(p, mmap=True)


def test_torchscript_and_quantized_are_refused():
    b = io.BytesIO()
    torch.jit.save(torch.jit.script(torch.nn.Linear(2, 2)), b)
    with pytest.raises(RuntimeError, match="TorchScript"):
        ember.load(io.BytesIO(b.getvalue()))
    q = torch.quantize_per_tensor(torch.randn(4), 0.1, 0, torch.qint8)
    b = io.BytesIO()
    torch.save({"q": q}, b)
    with pytest.raises(RuntimeError, match="quantized"):
        ember.load(io.BytesIO(b.getvalue()))


def test_not_a_checkpoint(tmp_path):
    import pickle

    for data in (b"", b"hello world, not a checkpoint" * 3, pickle.dumps({"a": 1}, 2)):
        with pytest.raises((pickle.UnpicklingError, RuntimeError)):
            ember.load(io.BytesIO(data))
    p = tmp_path / "w.safetensors"
    ember.safetensors.save_file({"a": ember.ones(2)}, p)
    assert ember.load(p)["a"].tolist() == [1.0, 1.0]  # by extension, as torch.load
    os.rename(p, tmp_path / "w.bin")
    with pytest.raises(RuntimeError, match="safetensors"):
        ember.load(tmp_path / "w.bin")


# --- atomic save -----------------------------------------------------------------------------


def test_atomic_save_keeps_old_file_on_failure(tmp_path, monkeypatch):
    p = tmp_path / "ck.pt"
    ember.save({"w": ember.ones(3)}, p)
    old = p.read_bytes()
    from ember._serialization import zip_writer

    real = zip_writer.ZipWriter.write_record

    def failing(self, name, data):
        if name == "data/0":
            raise OSError("disk full (simulated)")
        return real(self, name, data)

    monkeypatch.setattr(zip_writer.ZipWriter, "write_record", failing)
    with pytest.raises(OSError, match="simulated"):
        ember.save({"w": ember.zeros(1000)}, p)
    assert p.read_bytes() == old
    assert os.listdir(tmp_path) == ["ck.pt"]  # no temporary file left behind
    monkeypatch.undo()
    with pytest.raises(RuntimeError, match="Parent directory"):
        ember.save({}, tmp_path / "missing" / "x.pt")
    with pytest.raises(AttributeError, match="local object"):  # fails before the file is touched
        ember.save({"f": lambda: 0, "w": ember.ones(1)}, p)
    assert p.read_bytes() == old
    ember.save({"w": ember.zeros(2)}, p)
    assert torch.load(p)["w"].tolist() == [0.0, 0.0]
    assert oct(p.stat().st_mode & 0o777) != oct(0o600)


def test_disjoint_parts_of_one_array_get_their_own_storages():
    flat = ember.arange(20, dtype=ember.float32)  # as an optimizer's flat parameter buffer
    w, b = flat[:12].view(3, 4), flat[12:15]
    sd = {"w": w, "b": b}
    out = roundtrip_to_torch(sd)
    assert out["w"].untyped_storage().nbytes() == 48 and out["b"].untyped_storage().nbytes() == 12
    same(w, out["w"])
    same(b, out["b"])
    assert len(_saved({"b": b})) < len(_saved({"w": w, "b": b}))  # no unrelated bytes written
    # overlapping views still share, with offsets relative to their common storage
    out = roundtrip_to_torch({"a": flat[2:10], "b": flat[8:14]})
    assert out["a"].untyped_storage().data_ptr() == out["b"].untyped_storage().data_ptr()
    assert out["b"].storage_offset() == 6 and out["a"].untyped_storage().nbytes() == 48


def test_model_with_flat_optimizer_buffers(tmp_path):
    optim = pytest.importorskip("ember.optim")
    if not hasattr(optim, "SGD"):
        pytest.skip("no ember.optim.SGD")
    nn = ember.nn
    net = nn.Sequential(nn.Linear(3, 4), nn.Linear(4, 2))
    opt = optim.SGD(net.parameters(), lr=0.1, momentum=0.9)
    net(ember.randn(2, 3)).sum().backward()
    opt.step()
    sd = net.state_dict()
    out = roundtrip_to_torch({"model": sd, "opt": opt.state_dict()})
    tnet = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Linear(4, 2))
    tnet.load_state_dict(out["model"])
    for k, v in sd.items():
        same(v, out["model"][k])
    assert out["model"]["0.weight"].untyped_storage().nbytes() == 48
    st = pytest.importorskip("safetensors.torch")
    ember.safetensors.save_file(sd, tmp_path / "m.safetensors")  # disjoint views: allowed
    tnet.load_state_dict(st.load_file(tmp_path / "m.safetensors"))


def test_zip64_records_and_offsets(monkeypatch):
    # records and offsets past 4 GiB need zip64 extra fields; lower the threshold to test them
    from ember._serialization import zip_writer

    monkeypatch.setattr(zip_writer, "ZIP64_AT", 100)
    obj = {"a": ember.arange(64, dtype=ember.float32), "b": ember.ones(3), "n": 5}
    data = _saved(obj)
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        assert z.testzip() is None
        assert z.getinfo("archive/data/0").file_size == 256
    out = ember.load(io.BytesIO(data))
    assert out["a"].tolist() == list(range(64)) and out["n"] == 5
    t = torch.load(io.BytesIO(data))
    assert t["a"].tolist() == list(range(64)) and t["b"].tolist() == [1.0, 1.0, 1.0]
