"""Unary elementwise ops (ember/ops/unary.py) against torch: values, dtypes, gradients,
non-contiguous and integer inputs, hypothesis-drawn shapes, predicates, nan_to_num, round and
clamp, float64 gradient checks (binary ops in test_binary.py, every dtype in test_promotion.py)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import ember
from tests._support.elementwise import NO_GRAD_UNARY, UNARY, _arr, _pair
from tests._support.torch_ref import assert_same, to_torch, torch


@pytest.mark.parametrize("name,domain", UNARY, ids=[u[0] for u in UNARY])
def test_unary_values_and_grads(name, domain):
    a = _arr((3, 4), domain)
    e, t = _pair(a, rg=True)
    re_, rt = getattr(ember, name)(e), getattr(torch, name)(t)
    assert_same(re_, rt, rtol=1e-5, atol=1e-5)
    assert_same(getattr(e, name)(), getattr(t, name)(), rtol=1e-5, atol=1e-5)
    ge = ember.from_numpy(_arr((3, 4), seed=1))
    (re_ * ge).sum().backward()
    (rt * to_torch(ge)).sum().backward()
    if name == "positive":
        return
    if name in ("sign", "sgn", "floor", "ceil", "round", "trunc", "fix"):
        assert not e.grad.numpy().any()  # torch: a zero gradient
        return
    assert_same(e.grad, t.grad, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("name,domain", UNARY, ids=[u[0] for u in UNARY])
def test_unary_float64_noncontiguous_and_inplace(name, domain):
    a = _arr((4, 3), domain, dtype=np.float64)
    e, t = _pair(a)
    assert_same(getattr(ember, name)(e.t()), getattr(torch, name)(t.t()), rtol=1e-10, atol=1e-12)
    assert_same(
        getattr(ember, name)(e[:, ::2]), getattr(torch, name)(t[:, ::2]), rtol=1e-10, atol=1e-12
    )
    if hasattr(t, name + "_") and name not in ("positive",):
        ei, ti = e.clone(), t.clone()
        assert getattr(ei, name + "_")() is ei
        getattr(ti, name + "_")()
        assert_same(ei, ti, rtol=1e-10, atol=1e-12)


INT_OK = [n for n, _ in UNARY if n not in ("erfinv", "logit", "positive", "frac")]


@pytest.mark.parametrize("name", INT_OK)
@pytest.mark.parametrize("dt", ["int64", "int32", "bool", "uint8"])
def test_unary_int_inputs(name, dt):
    if dt == "bool" and name in ("neg", "negative", "sign", "sgn", "abs", "absolute"):
        pytest.skip("torch rejects or special-cases bool here")
    vals = [0, 1, 2, 3] if dt in ("uint8", "bool") else [-2, 0, 1, 3]
    if dt == "bool":
        vals = [True, False, True, True]
    e = ember.tensor(vals, dtype=getattr(ember, dt))
    t = torch.tensor(vals, dtype=getattr(torch, dt))
    try:
        rt = getattr(torch, name)(t)
    except Exception as ex:  # noqa: BLE001
        with pytest.raises(type(ex)):
            getattr(ember, name)(e)
        return
    with np.errstate(all="ignore"):
        re_ = getattr(ember, name)(e)
    assert_same(re_, rt, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", NO_GRAD_UNARY)
def test_predicates(name):
    a = np.array([1.0, -0.0, np.nan, np.inf, -np.inf, -2.5], dtype=np.float32)
    e, t = _pair(a)
    assert_same(getattr(ember, name)(e), getattr(torch, name)(t))
    assert_same(getattr(e, name)(), getattr(t, name)())
    ei = ember.tensor([1, -2])
    ti = torch.tensor([1, -2])
    assert_same(getattr(ember, name)(ei), getattr(torch, name)(ti))


def test_nan_to_num_and_special_values():
    a = np.array([1.0, np.nan, np.inf, -np.inf], dtype=np.float32)
    e, t = _pair(a)
    assert_same(ember.nan_to_num(e), torch.nan_to_num(t))
    assert_same(
        ember.nan_to_num(e, nan=2.0, posinf=5.0, neginf=-5.0),
        torch.nan_to_num(t, nan=2.0, posinf=5.0, neginf=-5.0),
    )
    with np.errstate(all="ignore"):
        for name in ["log", "sqrt", "exp", "reciprocal", "sigmoid", "tanh"]:
            b = np.array([0.0, -1.0, np.inf, -np.inf, np.nan, 100.0, -100.0], np.float32)
            assert_same(
                getattr(ember, name)(ember.from_numpy(b)), getattr(torch, name)(torch.from_numpy(b))
            )


@pytest.mark.parametrize("dtype", ["float32", "float64", "float16", "bfloat16"])
@pytest.mark.parametrize(
    "kw",
    [
        {},
        {"nan": 2.0, "posinf": 5.0, "neginf": -5.0},
        {"posinf": 1e40},
        {"nan": None},
        {"neginf": -1e-50},
    ],
)
def test_nan_to_num_clip_path_matches_torch(dtype, kw):
    """nan_to_num's clip-then-fix path: torch's bits (the dtype's max/min, the arguments cast to
    the dtype, 1e40 is inf in float32, -0.0 kept), with and without NaN/infinities present,
    0-d, non-contiguous and in-place (Tensor.nan_to_num_, torch.nan_to_num_) forms, integer
    inputs unchanged, the gradient (zero at NaN and infinities), no warnings."""
    rng = np.random.default_rng(0)
    base = (rng.standard_normal(6000) * 1e4).astype(np.float32)
    base[:6] = [np.nan, np.inf, -np.inf, -0.0, 3e38, -3e38]
    base[::97], base[::89], base[::83] = np.nan, np.inf, -np.inf
    tdt = getattr(torch, dtype)
    for a in (base, np.abs(base[6:]).clip(0, 100), base[6:].clip(-100, 100)):  # some, none
        t = torch.from_numpy(a).to(tdt)
        want = torch.nan_to_num(t, **kw)
        e = ember.from_numpy(t.float().numpy()).to(getattr(ember, dtype))
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            got = ember.nan_to_num(e, **kw)
            got_nc = ember.nan_to_num(e[::3], **kw)
            got_0d = ember.nan_to_num(e[1], **kw)
            e2 = e.clone()
            assert e2.nan_to_num_(**kw) is e2
            e3 = e.clone()
            ember.nan_to_num_(e3, **kw)
        for g, w in ((got, want), (got_nc, want[::3]), (got_0d, want[1])):
            assert_same(g, w, 0, 0)
            assert tuple(g.shape) == tuple(w.shape)
        assert_same(e2, want, 0, 0)
        assert_same(e3, want, 0, 0)
        if dtype in ("float32", "float64"):
            np.testing.assert_array_equal(np.signbit(got.numpy()), np.signbit(want.numpy()))
    for dt in (torch.int32, torch.int64, torch.uint8, torch.bool):
        ti = torch.tensor([0, 1, 5], dtype=dt)
        assert_same(
            ember.nan_to_num(ember.from_numpy(ti.numpy()), **kw), torch.nan_to_num(ti, **kw)
        )
    if dtype == "float64":
        t = torch.from_numpy(base.astype(np.float64)).requires_grad_()
        e = ember.from_numpy(base.astype(np.float64)).requires_grad_()
        g = rng.standard_normal(base.size)
        torch.nan_to_num(t * 2, **kw).backward(torch.from_numpy(g))
        ember.nan_to_num(e * 2, **kw).backward(ember.from_numpy(g))
        assert_same(e.grad, t.grad, 0, 0)
        e4 = (e * 1).nan_to_num_(**kw)  # in-place on a non-leaf with a graph: the general path
        e4.backward(ember.from_numpy(g))


def test_round_decimals_and_clamp():
    a = _arr((5,), "any") * 10
    e, t = _pair(a)
    assert_same(ember.round(e, decimals=2), torch.round(t, decimals=2))
    for lo, hi in [(-1.0, 1.0), (None, 0.5), (-0.5, None), (0, 1)]:
        assert_same(ember.clamp(e, lo, hi), torch.clamp(t, lo, hi))
        assert_same(e.clip(lo, hi), t.clip(lo, hi))
    assert_same(
        ember.clamp(e, min=ember.zeros(5), max=ember.ones(5) * 3),
        torch.clamp(t, min=torch.zeros(5), max=torch.ones(5) * 3),
    )
    ei, ti = ember.tensor([1, 5, 9]), torch.tensor([1, 5, 9])
    assert_same(ei.clamp(2, 6), ti.clamp(2, 6))
    assert_same(ei.clamp(2.5, 6), ti.clamp(2.5, 6))
    assert_same(ember.clamp_min(e, 0.0), torch.clamp_min(t, 0.0))
    assert_same(ember.clamp_max(e, 0.0), torch.clamp_max(t, 0.0))


def test_clamp_grads():
    a = np.array([-2.0, -1.0, 0.0, 0.5, 1.0, 3.0], dtype=np.float32)
    e, t = _pair(a, rg=True)
    (ember.clamp(e, -1.0, 1.0) * ember.arange(6.0)).sum().backward()
    (torch.clamp(t, -1.0, 1.0) * torch.arange(6.0)).sum().backward()
    assert_same(e.grad, t.grad)
    e.grad = None
    t.grad = None
    lo_e, lo_t = _pair(np.zeros(6, np.float32), rg=True)
    (ember.clamp(e, min=lo_e) * ember.arange(6.0)).sum().backward()
    (torch.clamp(t, min=lo_t) * torch.arange(6.0)).sum().backward()
    assert_same(e.grad, t.grad)
    assert_same(lo_e.grad, lo_t.grad)


@settings(max_examples=25, deadline=None)
@given(st.lists(st.integers(0, 4), min_size=0, max_size=3), st.sampled_from([n for n, _ in UNARY]))
def test_hypothesis_unary_shapes(shape, name):
    domain = dict(UNARY)[name]
    a = _arr(tuple(shape), domain)
    e, t = _pair(a)
    assert_same(getattr(ember, name)(e), getattr(torch, name)(t), rtol=1e-5, atol=1e-5)


def test_neg_bool_and_invert_errors():
    with pytest.raises(RuntimeError):
        -ember.tensor([True])
    with pytest.raises(RuntimeError):
        -torch.tensor([True])


@pytest.mark.parametrize(
    "name",
    [
        "exp",
        "log",
        "tanh",
        "sigmoid",
        "sin",
        "sqrt",
        "atan",
        "erf",
        "log1p",
        "reciprocal",
        "square",
        "relu",
        "abs",
    ],
)
def test_unary_gradcheck_float64(name):
    x = ember.from_numpy(_arr((5,), "pos", dtype=np.float64)).requires_grad_()
    assert ember.autograd.gradcheck(getattr(ember, name), (x,))


def _relu_forms(lib, t):
    return {
        "method": lambda: t.relu_(),
        "top-level": lambda: lib.relu_(t),
        "functional": lambda: lib.nn.functional.relu(t, inplace=True),
        "module": lambda: lib.nn.ReLU(inplace=True)(t),
    }


@pytest.mark.parametrize("form", ["method", "top-level", "functional", "module"])
@pytest.mark.parametrize("shape", [(3, 4), (4, 64, 32, 32)])  # the second splits over threads
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_relu_inplace_values_grads_and_versions(form, shape, dtype):
    """In-place relu of an intermediate written in its own memory: the same tensor back, the
    values, the gradient through it and the version bump as torch's."""
    a = np.random.default_rng(0).standard_normal(shape).astype(dtype)
    w = np.random.default_rng(1).standard_normal(shape).astype(dtype)
    res = []
    for lib in (ember, torch):
        x = lib.tensor(a, requires_grad=True)
        y = x * 2
        before = y._version
        z = _relu_forms(lib, y)[form]()
        assert z is y
        assert y._version == before + 1
        (z * lib.tensor(w)).sum().backward()
        res.append((z.detach().numpy().copy(), x.grad.numpy()))
    np.testing.assert_array_equal(res[0][0], res[1][0])
    np.testing.assert_array_equal(res[0][1], res[1][1])


@pytest.mark.parametrize("shape", [(7,), (3, 40), (16, 100, 32, 32)])  # the last: threads
@pytest.mark.parametrize("dtype", ["float32", "float64", "float16", "bfloat16"])
def test_relu_gradient_edges_as_torch(shape, dtype):
    """relu's gradient as torch's threshold_backward: g where the output is above 0 or NaN, 0
    where it is +-0 even for a NaN or infinite g; every dtype, big tensors on the threads."""
    if dtype == "bfloat16" and ember.bfloat16._np is None:
        pytest.skip("bfloat16 needs ml_dtypes")
    n = int(np.prod(shape))
    rng = np.random.default_rng(7)
    a = rng.standard_normal(n)
    a[::5] = 0.0
    a[1::5] = -0.0
    a[2::11] = np.nan
    a[3::13] = -np.nan
    g = rng.standard_normal(n)
    g[::7] = np.nan
    g[1::9] = np.inf
    res = []
    for lib in (ember, torch):
        dt = getattr(lib, dtype)
        x = lib.tensor(a.reshape(shape), dtype=dt, requires_grad=True)
        lib.relu(x).backward(lib.tensor(g.reshape(shape), dtype=dt))
        res.append(x.grad.float().numpy())
    np.testing.assert_array_equal(res[0], res[1])


def test_relu_inplace_errors_as_torch():
    """A leaf that requires grad cannot be overwritten; changing the result before backward is
    caught at backward; so is overwriting a value another node saved."""
    for lib in (ember, torch):
        leaf = lib.ones(3, requires_grad=True)
        with pytest.raises(RuntimeError, match="a leaf Variable that requires grad"):
            leaf.relu_()
        y = (lib.tensor([1.0, -2.0], requires_grad=True) * 1).relu_()
        y.add_(1)
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            y.sum().backward()
        e = lib.tensor([1.0, -2.0], requires_grad=True).exp()
        e.relu_()
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            e.sum().backward()


def test_relu_inplace_on_a_view_without_grad_and_double_backward():
    """A view takes the general path (the base sees the write, its gradient flows); without a
    graph the values are written in place; a second derivative through relu_ is torch's."""
    a = np.random.default_rng(2).standard_normal((4, 5))
    outs = []
    for lib in (ember, torch):
        x = lib.tensor(a, requires_grad=True)
        y = x * 3
        y[1:3].relu_()
        (y * y).sum().backward()
        with lib.no_grad():
            n = lib.tensor(a)
            n.relu_()
        x2 = lib.tensor(a, requires_grad=True)
        r = (x2 * x2).relu_()
        (g,) = lib.autograd.grad(r.sum(), x2, create_graph=True)
        (gg,) = lib.autograd.grad((g * g).sum(), x2)
        outs.append([y.detach().numpy(), x.grad.numpy(), n.numpy(), g.detach().numpy(), gg.numpy()])
    for e, t in zip(*outs):
        np.testing.assert_allclose(e, t, rtol=1e-12)


@pytest.mark.parametrize("dtype", ["float32", "float64", "float16", "bfloat16", "int32", "int64"])
def test_sign_matches_torch_bits(dtype):
    """sign as torch's (0 < x) - (x < 0): NaN gives 0 and -0.0 gives +0.0 (torch's bits, sign
    bit included), subnormals and infinities give +-1; strided and 0-d inputs, the in-place
    and sgn forms, and a zero gradient."""
    rng = np.random.default_rng(0)
    a = rng.standard_normal(5000) * 100
    a[:9] = [-0.0, 0.0, np.nan, -np.inf, np.inf, 1e-45, -1e-45, 3.0, -2.5]
    a[::7] = 0.0
    t = torch.from_numpy(a).to(getattr(torch, dtype))
    e = ember.from_numpy(t.float().numpy() if dtype == "bfloat16" else t.numpy())
    e = e.to(getattr(ember, dtype))
    for got, want in (
        (ember.sign(e), torch.sign(t)),
        (ember.sgn(e[::3]), torch.sgn(t[::3])),
        (ember.sign(e[2]), torch.sign(t[2])),
        (e.clone().sign_(), t.clone().sign_()),
    ):
        assert_same(got, want, 0, 0)
        if dtype.startswith("float"):
            np.testing.assert_array_equal(np.signbit(got.numpy()), np.signbit(want.numpy()))
    if dtype == "float64":
        x = ember.from_numpy(a).requires_grad_()
        ember.sign(x).sum().backward()
        assert not x.grad.numpy().any()
