"""ember.save / ember.load against real torch: state dicts, optimizers, views, dtypes, formats."""

from __future__ import annotations

import collections
import io
import os
import zipfile

import numpy as np
import pytest

import ember
from ember import serialization as es

torch = pytest.importorskip("torch")


def roundtrip_to_torch(obj, **kw):
    b = io.BytesIO()
    ember.save(obj, b)
    b.seek(0)
    return torch.load(b, **kw)


def roundtrip_from_torch(obj, **kw):
    b = io.BytesIO()
    torch.save(obj, b)
    b.seek(0)
    return ember.load(b, **kw)


def as_np(t):
    if isinstance(t, torch.Tensor):
        t = t.detach()
        return t.float().numpy() if t.dtype == torch.bfloat16 else t.numpy()
    a = t.detach()._host()
    return a.astype(np.float32) if t.dtype is ember.bfloat16 else a


def same(e, t):
    assert isinstance(e, ember.Tensor) and isinstance(t, torch.Tensor)
    assert str(e.dtype) == str(t.dtype)
    assert tuple(e.shape) == tuple(t.shape)
    np.testing.assert_array_equal(as_np(e), as_np(t))


def torch_net():
    return torch.nn.Sequential(
        torch.nn.Conv2d(3, 4, 3),
        torch.nn.BatchNorm2d(4),
        torch.nn.Flatten(),
        torch.nn.Linear(4 * 6 * 6, 5),
    )


# --- state dicts -----------------------------------------------------------------------------


def test_state_dict_ember_to_torch():
    sd = collections.OrderedDict()
    sd["0.weight"] = ember.randn(4, 3, 3, 3)
    sd["0.bias"] = ember.randn(4)
    sd["1.weight"] = ember.rand(4)
    sd["1.bias"] = ember.rand(4)
    sd["1.running_mean"] = ember.randn(4)
    sd["1.running_var"] = ember.rand(4) + 0.5
    sd["1.num_batches_tracked"] = ember.tensor(7)
    sd["3.weight"] = ember.randn(5, 144)
    sd["3.bias"] = ember.randn(5)
    sd._metadata = collections.OrderedDict(
        [("", {"version": 1}), ("0", {"version": 1}), ("1", {"version": 2}), ("3", {"version": 1})]
    )
    out = roundtrip_to_torch(sd)  # torch's default weights_only=True
    assert type(out) is collections.OrderedDict and list(out) == list(sd)
    assert out._metadata == sd._metadata
    for k in sd:
        same(sd[k], out[k])
    assert (
        out["1.num_batches_tracked"].dtype == torch.int64
        and out["1.num_batches_tracked"].dim() == 0
    )
    net = torch_net()
    net.load_state_dict(out)  # strict: keys, shapes, and BatchNorm's version 2 metadata
    assert net[1].num_batches_tracked.item() == 7


def test_state_dict_torch_to_ember():
    net = torch_net()
    net(torch.randn(2, 3, 8, 8))  # moves the BatchNorm running stats
    sd = net.state_dict()
    out = roundtrip_from_torch(sd)
    assert type(out) is collections.OrderedDict and list(out) == list(sd)
    assert out._metadata == sd._metadata
    for k in sd:
        same(out[k], sd[k])
    assert out["1.num_batches_tracked"].item() == 1
    nn = ember.nn
    if hasattr(nn, "Conv2d") and hasattr(nn, "BatchNorm2d"):
        enet = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.Flatten(), nn.Linear(144, 5))
        enet.load_state_dict(out)
        enet.eval()
        net.eval()
        x = np.random.default_rng(0).standard_normal((2, 3, 8, 8)).astype(np.float32)
        np.testing.assert_allclose(
            enet(ember.from_numpy(x)).detach().numpy(),
            net(torch.from_numpy(x)).detach().numpy(),
            rtol=1e-4,
            atol=1e-5,
        )


def test_ember_module_state_dict_to_torch():
    nn = ember.nn
    enet = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.Flatten(), nn.Linear(144, 5))
    out = roundtrip_to_torch(enet.state_dict())
    net = torch_net()
    net.load_state_dict(out)
    for k, v in enet.state_dict().items():
        same(v, out[k])


# --- optimizers and checkpoints ---------------------------------------------------------------


def _torch_opt_state(kind):
    net = torch.nn.Linear(3, 2)
    opt = (
        torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9)
        if kind == "sgd"
        else torch.optim.Adam(net.parameters(), lr=1e-3, betas=(0.8, 0.99))
    )
    for _ in range(2):
        opt.zero_grad()
        net(torch.randn(4, 3)).pow(2).sum().backward()
        opt.step()
    return opt.state_dict()


@pytest.mark.parametrize("kind", ["sgd", "adam"])
def test_optimizer_state_torch_to_ember(kind):
    sd = _torch_opt_state(kind)
    out = roundtrip_from_torch(sd)
    assert out["param_groups"] == [{k: v for k, v in g.items()} for g in sd["param_groups"]]
    assert set(out["state"]) == {0, 1}
    for i, st in sd["state"].items():
        assert set(out["state"][i]) == set(st)
        for name, v in st.items():
            same(out["state"][i][name], v)
    optim = getattr(ember, "optim", None)
    cls = getattr(optim, "SGD" if kind == "sgd" else "Adam", None)
    if cls is not None:  # ember's optimizer accepts torch's state dict
        enet = ember.nn.Linear(3, 2)
        eopt = cls(enet.parameters(), lr=0.5)
        eopt.load_state_dict(out)
        assert eopt.param_groups[0]["lr"] == sd["param_groups"][0]["lr"]
    if kind == "adam":
        step = out["state"][0]["step"]
        assert step.dim() == 0 and step.dtype is ember.float32 and step.item() == 2.0
        assert out["param_groups"][0]["betas"] == (0.8, 0.99)


@pytest.mark.parametrize("kind", ["sgd", "adam"])
def test_optimizer_state_ember_to_torch(kind):
    optim = pytest.importorskip("ember.optim")
    cls = getattr(optim, "SGD" if kind == "sgd" else "Adam", None)
    if cls is None:
        pytest.skip("ember.optim lacks this optimizer")
    nn = ember.nn
    net = nn.Linear(3, 2)
    opt = (
        cls(net.parameters(), lr=0.1, momentum=0.9)
        if kind == "sgd"
        else cls(net.parameters(), lr=1e-3)
    )
    for _ in range(2):
        opt.zero_grad()
        net(ember.randn(4, 3)).pow(2).sum().backward()
        opt.step()
    sd = opt.state_dict()
    out = roundtrip_to_torch(sd)
    tnet = torch.nn.Linear(3, 2)
    topt = (
        torch.optim.SGD(tnet.parameters(), lr=0.1, momentum=0.9)
        if kind == "sgd"
        else torch.optim.Adam(tnet.parameters(), lr=1e-3)
    )
    topt.load_state_dict(out)
    for i, st in sd["state"].items():
        for name, v in st.items():
            if isinstance(v, ember.Tensor):
                same(v, out["state"][i][name])


def test_checkpoint_dict_both_ways():
    ck = {
        "epoch": 12,
        "step": 2**40,
        "neg": -5,
        "lr": 3e-4,
        "best": float("inf"),
        "metrics": {
            "loss": [0.5, 0.25],
            "acc": np.float64(0.75),
            "n": np.int64(9),
            "ok": np.bool_(True),
        },
        "name": "résumé ✓",
        "tags": ("a", "b", None),
        "flags": [True, False],
        "model": {"w": ember.randn(2, 2)},
        "big": 10**30,
        "c": 1 - 2j,
        "blob": b"\x00\xffab",
        "set": {1, 2},
    }
    out = roundtrip_to_torch(ck)
    assert out["metrics"]["acc"] == 0.75 and type(out["metrics"]["acc"]) is float
    assert type(out["metrics"]["n"]) is int and out["metrics"]["ok"] is True
    for k in (
        "epoch",
        "step",
        "neg",
        "lr",
        "best",
        "name",
        "tags",
        "flags",
        "big",
        "c",
        "blob",
        "set",
    ):
        assert out[k] == ck[k] and type(out[k]) is type(ck[k]), k
    back = roundtrip_from_torch(out)
    for k in (
        "epoch",
        "step",
        "neg",
        "lr",
        "best",
        "name",
        "tags",
        "flags",
        "big",
        "c",
        "blob",
        "set",
    ):
        assert back[k] == ck[k] and type(back[k]) is type(ck[k]), k
    same(back["model"]["w"], out["model"]["w"])


def test_size_dtype_device_objects():
    obj = {
        "s": ember.Size([2, 3]),
        "d": ember.float16,
        "b": ember.bfloat16,
        "dev": ember.device("cpu"),
        "cuda": ember.device("cuda", 1),
    }
    out = roundtrip_to_torch(obj)
    assert out["s"] == torch.Size([2, 3]) and type(out["s"]) is torch.Size
    assert out["d"] is torch.float16 and out["b"] is torch.bfloat16
    assert out["dev"] == torch.device("cpu") and out["cuda"] == torch.device("cuda", 1)
    back = roundtrip_from_torch(out)
    assert type(back["s"]) is ember.Size and back["s"] == (2, 3)
    assert back["d"] is ember.float16 and back["b"] is ember.bfloat16
    assert back["dev"] == ember.device("cpu") and back["cuda"] == ember.device("cuda:1")


def test_parameters_both_ways():
    p = ember.nn.Parameter(ember.randn(3))
    q = ember.nn.Parameter(ember.randn(2), requires_grad=False)
    out = roundtrip_to_torch({"p": p, "q": q})
    assert type(out["p"]) is torch.nn.Parameter and out["p"].requires_grad
    assert type(out["q"]) is torch.nn.Parameter and not out["q"].requires_grad
    same(p, out["p"])
    back = roundtrip_from_torch(out)
    assert isinstance(back["p"], ember.nn.Parameter) and back["p"].requires_grad
    assert isinstance(back["q"], ember.nn.Parameter) and not back["q"].requires_grad
    same(back["p"], out["p"])
    t = torch.randn(2, requires_grad=True)
    r = roundtrip_from_torch(t)
    assert r.requires_grad and not isinstance(r, ember.nn.Parameter)
    e = ember.randn(2).requires_grad_()
    assert roundtrip_to_torch(e).requires_grad


# --- views and shared storage ---------------------------------------------------------------


def test_views_share_storage_ember_to_torch():
    base = ember.arange(12, dtype=ember.float32).reshape(3, 4)
    views = {
        "base": base,
        "t": base.t(),
        "row": base[0],
        "sub": base[1:, 1:],
        "col": base[:, 2],
        "again": base,
    }
    out = roundtrip_to_torch(views)
    ptr = out["base"].untyped_storage().data_ptr()
    for k in views:
        same(views[k], out[k])
        assert out[k].untyped_storage().data_ptr() == ptr, k
    assert out["sub"].storage_offset() == 5 and out["sub"].stride() == (4, 1)
    assert out["t"].stride() == (1, 4)
    assert out["again"] is out["base"]  # the same object stays one object
    with zipfile.ZipFile(io.BytesIO(_saved(views))) as z:
        assert [n for n in z.namelist() if "/data/" in n] == ["archive/data/0"]


def _saved(obj) -> bytes:
    b = io.BytesIO()
    ember.save(obj, b)
    return b.getvalue()


def test_views_share_storage_torch_to_ember():
    base = torch.arange(12.0).reshape(3, 4)
    d = {
        "base": base,
        "t": base.t(),
        "sub": base[1:, 1:],
        "exp": base[0:1].expand(3, 4),
        "same": base,
    }
    out = roundtrip_from_torch(d)
    for k in d:
        same(out[k], d[k])
    out["base"][1, 2] = 100.0  # writing one view shows in the others
    assert out["t"][2, 1].item() == 100.0 and out["sub"][0, 1].item() == 100.0
    out["sub"][1, 2] = -1.0
    assert out["base"][2, 3].item() == -1.0
    assert out["same"] is out["base"]
    # and saved again from ember, the sharing survives into torch
    again = roundtrip_to_torch(out)
    assert again["t"].untyped_storage().data_ptr() == again["base"].untyped_storage().data_ptr()
    same(out["exp"], again["exp"])


def test_noncontiguous_and_negative_stride_arrays_are_copied():
    a = np.arange(24, dtype=np.float32).reshape(4, 6)
    t1 = ember.from_numpy(a[::-1, ::2])  # negative strides: torch has none, so a copy
    t2 = ember.from_numpy(np.asfortranarray(a))
    t3 = ember.from_numpy(a.view(np.int32)[1])  # other dtype than its base
    out = roundtrip_to_torch({"a": t1, "b": t2, "c": t3})
    same(t1, out["a"])
    same(t2, out["b"])
    same(t3, out["c"])


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


# --- whole modules -------------------------------------------------------------------------------


def test_whole_module_save_and_load():
    nn = ember.nn
    m = nn.Sequential(nn.Linear(3, 2), nn.ReLU(), nn.BatchNorm1d(2))
    m.eval()
    data = _saved(m)
    with pytest.raises(Exception, match="torch.nn.modules.container.Sequential"):
        ember.load(io.BytesIO(data))
    x = ember.randn(4, 3)
    m2 = ember.load(io.BytesIO(data), weights_only=False)
    assert type(m2[0]) is nn.Linear
    np.testing.assert_array_equal(m(x).detach().numpy(), m2(x).detach().numpy())
    with es.safe_globals([nn.Sequential, nn.Linear, nn.ReLU, nn.BatchNorm1d]):
        m3 = ember.load(io.BytesIO(data))
    np.testing.assert_array_equal(m(x).detach().numpy(), m3(x).detach().numpy())
    tm = torch.load(io.BytesIO(data), weights_only=False)  # torch reads ember's module too
    assert isinstance(tm[2], torch.nn.BatchNorm1d)
    np.testing.assert_allclose(
        tm(torch.from_numpy(x.numpy())).detach().numpy(),
        m(x).detach().numpy(),
        rtol=1e-5,
        atol=1e-6,
    )


def test_torch_module_loads_into_ember():
    tm = torch.nn.Sequential(torch.nn.Linear(3, 2), torch.nn.Tanh())
    b = io.BytesIO()
    torch.save(tm, b)
    em = ember.load(io.BytesIO(b.getvalue()), weights_only=False)
    assert type(em) is ember.nn.Sequential and type(em[1]) is ember.nn.Tanh
    x = np.random.default_rng(0).standard_normal((4, 3)).astype(np.float32)
    np.testing.assert_allclose(
        em(ember.from_numpy(x)).detach().numpy(),
        tm(torch.from_numpy(x)).detach().numpy(),
        rtol=1e-5,
        atol=1e-6,
    )
    # weights_only with ember's classes allowlisted: torch's class paths map onto them
    nn = ember.nn
    with pytest.raises(Exception, match="torch.nn.modules.linear.Linear"):
        with es.safe_globals([nn.Sequential, nn.Tanh]):
            ember.load(io.BytesIO(b.getvalue()))
    with es.safe_globals([nn.Sequential, nn.Linear, nn.Tanh]):
        em2 = ember.load(io.BytesIO(b.getvalue()))
    np.testing.assert_allclose(
        em2(ember.from_numpy(x)).detach().numpy(),
        tm(torch.from_numpy(x)).detach().numpy(),
        rtol=1e-5,
        atol=1e-6,
    )


def test_tensor_attributes_and_unsupported_dtypes():
    t = torch.ones(2)
    t.note = "kept"
    p = torch.nn.Parameter(torch.zeros(3))
    p.tag = 7
    out = roundtrip_from_torch({"t": t, "p": p})  # _rebuild_from_type_v2 / _with_state
    assert out["t"].note == "kept" and out["p"].tag == 7
    assert isinstance(out["p"], ember.nn.Parameter) and out["p"].requires_grad
    for dt in (torch.float8_e4m3fn, torch.float8_e5m2):
        with pytest.raises(RuntimeError, match="float8"):
            roundtrip_from_torch({"x": torch.zeros(2, dtype=dt)})


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
