"""ember.save / ember.load against real torch: state dicts, optimizers and checkpoints, views
and shared storage, whole modules (dtypes, files and formats in test_formats.py)."""

from __future__ import annotations

import collections
import io
import warnings
import zipfile

import numpy as np
import pytest

import ember
from ember import serialization as es
from tests._support.serialization import _saved, roundtrip_from_torch, roundtrip_to_torch, same

torch = pytest.importorskip("torch")


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
    for dt in (torch.float8_e4m3fn, torch.float8_e5m2):  # held through ml_dtypes
        if not hasattr(ember.dtypes.ml_dtypes, str(dt).removeprefix("torch.")):
            continue  # no ml_dtypes, or one without this type
        x = roundtrip_from_torch({"x": torch.ones(2, dtype=dt)})["x"]
        assert repr(x.dtype) == repr(dt) and x.float().tolist() == [1.0, 1.0]
    for dt, name in ((torch.complex32, "complex32"),):  # no NumPy type (torch cannot save uint4)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # torch: complex32 is experimental
            data = {"x": torch.zeros(2, dtype=dt)}
        with pytest.raises(RuntimeError, match=name):
            roundtrip_from_torch(data)
