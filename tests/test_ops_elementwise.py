"""Elementwise ops (ember/ops/unary.py, arith.py, compare.py) against torch: values, dtypes,
gradients, broadcasting, non-contiguous and integer inputs, float64 gradient checks."""

from __future__ import annotations

import operator

import numpy as np
import pytest
from conftest import assert_same, to_torch, torch
from hypothesis import given, settings
from hypothesis import strategies as st

import ember

DOMAINS = {
    "any": lambda a: a,
    "pos": lambda a: np.abs(a) + 0.1,
    "unit": lambda a: np.tanh(a) * 0.9,
    "ge1": lambda a: np.abs(a) + 1.1,
    "prob": lambda a: 1 / (1 + np.exp(-a)) * 0.9 + 0.05,
    "nonint": lambda a: np.round(a * 4) / 4 + 0.13,
}

UNARY = [
    ("neg", "any"),
    ("negative", "any"),
    ("abs", "nonint"),
    ("absolute", "nonint"),
    ("exp", "any"),
    ("exp2", "any"),
    ("expm1", "any"),
    ("log", "pos"),
    ("log2", "pos"),
    ("log10", "pos"),
    ("log1p", "pos"),
    ("sqrt", "pos"),
    ("rsqrt", "pos"),
    ("square", "any"),
    ("sin", "any"),
    ("cos", "any"),
    ("tan", "unit"),
    ("asin", "unit"),
    ("acos", "unit"),
    ("atan", "any"),
    ("sinh", "any"),
    ("cosh", "any"),
    ("tanh", "any"),
    ("asinh", "any"),
    ("acosh", "ge1"),
    ("atanh", "unit"),
    ("arcsin", "unit"),
    ("arccos", "unit"),
    ("arctan", "any"),
    ("arcsinh", "any"),
    ("arccosh", "ge1"),
    ("arctanh", "unit"),
    ("sigmoid", "any"),
    ("relu", "nonint"),
    ("erf", "any"),
    ("erfc", "any"),
    ("erfinv", "unit"),
    ("sign", "nonint"),
    ("sgn", "nonint"),
    ("floor", "nonint"),
    ("ceil", "nonint"),
    ("round", "nonint"),
    ("trunc", "nonint"),
    ("fix", "nonint"),
    ("frac", "nonint"),
    ("reciprocal", "pos"),
    ("logit", "prob"),
    ("positive", "any"),
]
NO_GRAD_UNARY = ["isnan", "isinf", "isfinite", "isposinf", "isneginf", "signbit"]


def _arr(shape, domain="any", seed=0, dtype=np.float32):
    a = np.random.default_rng(seed).standard_normal(shape)
    return np.asarray(DOMAINS[domain](a)).astype(dtype)


def _pair(a, rg=False):
    e = ember.from_numpy(a.copy())
    t = torch.from_numpy(a.copy())
    if rg:
        e.requires_grad_()
        t.requires_grad_()
    return e, t


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


BINARY = [
    ("add", operator.add, "any"),
    ("sub", operator.sub, "any"),
    ("mul", operator.mul, "any"),
    ("div", operator.truediv, "pos"),
    ("pow", operator.pow, "pos"),
    ("remainder", operator.mod, "pos"),
    ("floor_divide", operator.floordiv, "pos"),
    ("fmod", None, "pos"),
    ("maximum", None, "any"),
    ("minimum", None, "any"),
    ("subtract", None, "any"),
    ("multiply", None, "any"),
    ("divide", None, "pos"),
    ("true_divide", None, "pos"),
    ("rsub", None, "any"),
    ("fmax", None, "any"),
    ("fmin", None, "any"),
]

SHAPE_PAIRS = [
    ((3, 4), (3, 4)),
    ((3, 4), (4,)),
    ((3, 1), (1, 4)),
    ((2, 3, 4), (3, 1)),
    ((4,), (2, 3, 4)),
    ((), (3,)),
    ((3,), ()),
]


@pytest.mark.parametrize("sa,sb", SHAPE_PAIRS, ids=[f"{a}-{b}" for a, b in SHAPE_PAIRS])
@pytest.mark.parametrize("name,op,domain", BINARY, ids=[b[0] for b in BINARY])
def test_binary_broadcast_values_grads(name, op, domain, sa, sb):
    a = _arr(sa, domain, seed=0)
    b = _arr(sb, domain, seed=1)
    ea, ta = _pair(a, rg=True)
    eb, tb = _pair(b, rg=True)
    re_, rt = getattr(ember, name)(ea, eb), getattr(torch, name)(ta, tb)
    assert_same(re_, rt, rtol=1e-5, atol=1e-5)
    if op is not None:
        assert_same(op(ea, eb), op(ta, tb), rtol=1e-5, atol=1e-5)
    if not rt.requires_grad:
        return
    g = _arr(tuple(rt.shape), seed=2)
    if name == "floor_divide":
        for r in (re_, rt):
            with pytest.raises(RuntimeError, match="derivative for aten::floor_divide"):
                r.sum().backward()
        return
    (re_ * ember.from_numpy(g)).sum().backward()
    (rt * torch.from_numpy(g)).sum().backward()
    for x, y in ((ea, ta), (eb, tb)):
        if y.grad is None:
            assert x.grad is None or not x.grad.numpy().any()
        else:
            assert_same(x.grad, y.grad, rtol=1e-4, atol=1e-5)


SCALARS = [2, 2.5, -3, True, 0.5]


@pytest.mark.parametrize("scalar", SCALARS, ids=[repr(s) for s in SCALARS])
@pytest.mark.parametrize(
    "opname",
    ["add", "sub", "mul", "truediv", "pow", "mod", "floordiv", "lt", "le", "gt", "ge", "eq", "ne"],
)
@pytest.mark.parametrize("dt", ["float32", "float64", "int64", "int32", "uint8", "float16"])
def test_binary_scalar_both_sides(opname, scalar, dt):
    f = getattr(operator, opname)
    vals = [1, 2, 3, 5] if dt == "uint8" else [-3, 1, 2, 5]
    e = ember.tensor(vals, dtype=getattr(ember, dt))
    t = torch.tensor(vals, dtype=getattr(torch, dt))
    for args_e, args_t in (((e, scalar), (t, scalar)), ((scalar, e), (scalar, t))):
        try:
            rt = f(*args_t)
        except Exception as ex:  # noqa: BLE001
            with pytest.raises(type(ex)):
                f(*args_e)
            continue
        with np.errstate(all="ignore"):
            re_ = f(*args_e)
        assert_same(re_, rt, rtol=2e-3 if dt == "float16" else 1e-5, atol=1e-5)


def test_int_division_semantics():
    a = ember.tensor([-7, -3, 0, 3, 7])
    b = ember.tensor([2, -2, 3, -4, 5])
    ta, tb = to_torch(a), to_torch(b)
    assert_same(a / b, ta / tb)
    assert_same(a // b, ta // tb)
    assert_same(a % b, ta % tb)
    assert_same(ember.div(a, b, rounding_mode="trunc"), torch.div(ta, tb, rounding_mode="trunc"))
    assert_same(ember.div(a, b, rounding_mode="floor"), torch.div(ta, tb, rounding_mode="floor"))
    assert_same(ember.fmod(a, b), torch.fmod(ta, tb))
    af, bf = a.double(), b.double()
    assert_same(ember.fmod(af, bf), torch.fmod(ta.double(), tb.double()))
    assert_same(
        ember.div(af, bf, rounding_mode="trunc"),
        torch.div(ta.double(), tb.double(), rounding_mode="trunc"),
    )
    assert_same(ember.remainder(af, 2.5), torch.remainder(ta.double(), 2.5))
    assert_same(a**2, ta**2)
    assert_same(2 ** a.abs(), 2 ** ta.abs())
    assert_same(a.abs() ** 0.5, ta.abs() ** 0.5)


def test_add_alpha_and_sub_alpha():
    a, b = _arr((3,)), _arr((3,), seed=1)
    ea, ta = _pair(a, rg=True)
    eb, tb = _pair(b, rg=True)
    re_ = ember.add(ea, eb, alpha=2) + ember.sub(ea, eb, alpha=0.5) + ea.add(eb, alpha=3)
    rt = torch.add(ta, tb, alpha=2) + torch.sub(ta, tb, alpha=0.5) + ta.add(tb, alpha=3)
    assert_same(re_, rt)
    re_.sum().backward()
    rt.sum().backward()
    assert_same(ea.grad, ta.grad)
    assert_same(eb.grad, tb.grad)


def test_pow_grads_special():
    a = np.array([0.0, 1.0, 2.0, -1.5], dtype=np.float64)
    for exp in [2, 0, 1, 0.5, 3.0, -1]:
        ea, ta = _pair(np.abs(a) if exp in (0.5, -1) else a, rg=True)
        if exp == -1:
            ea, ta = _pair(np.abs(a) + 1, rg=True)
        (ea**exp).sum().backward()
        (ta**exp).sum().backward()
        assert_same(ea.grad, ta.grad)
    base_e, base_t = _pair(np.array([2.0, 0.5]), rg=True)
    ex_e, ex_t = _pair(np.array([1.5, -2.0]), rg=True)
    (base_e**ex_e).sum().backward()
    (base_t**ex_t).sum().backward()
    assert_same(base_e.grad, base_t.grad)
    assert_same(ex_e.grad, ex_t.grad)
    s_e, s_t = _pair(np.array([1.0, -2.0]), rg=True)
    (3.0**s_e).sum().backward()
    (3.0**s_t).sum().backward()
    assert_same(s_e.grad, s_t.grad)


def test_max_min_ties_gradient():
    a = np.array([1.0, 2.0, 3.0], dtype=np.float32)
    b = np.array([1.0, 3.0, 2.0], dtype=np.float32)
    for fn in ("maximum", "minimum"):
        ea, ta = _pair(a, rg=True)
        eb, tb = _pair(b, rg=True)
        getattr(ember, fn)(ea, eb).sum().backward()
        getattr(torch, fn)(ta, tb).sum().backward()
        assert_same(ea.grad, ta.grad)
        assert_same(eb.grad, tb.grad)


COMPARE = [
    "eq",
    "ne",
    "lt",
    "le",
    "gt",
    "ge",
    "greater",
    "greater_equal",
    "less",
    "less_equal",
    "not_equal",
    "logical_and",
    "logical_or",
    "logical_xor",
]


@pytest.mark.parametrize("name", COMPARE)
def test_compare_and_logical(name):
    a = np.array([[1.0, 2.0, 0.0], [3.0, -1.0, 2.0]], np.float32)
    b = np.array([2.0, 2.0, 0.0], np.float32)
    ea, ta = _pair(a)
    eb, tb = _pair(b)
    assert_same(getattr(ember, name)(ea, eb), getattr(torch, name)(ta, tb))
    if name.startswith("logical"):
        with pytest.raises(TypeError):
            getattr(torch, name)(ta, 2.0)
        with pytest.raises(TypeError):
            getattr(ember, name)(ea, 2.0)
    else:
        assert_same(getattr(ember, name)(ea, 2.0), getattr(torch, name)(ta, 2.0))
    assert_same(getattr(ea, name)(eb), getattr(ta, name)(tb))
    ei, ti = ember.tensor([1, 2, 3]), torch.tensor([1, 2, 3])
    assert_same(
        getattr(ember, name)(ei, ember.tensor([1.5, 2.0, 0.0])),
        getattr(torch, name)(ti, torch.tensor([1.5, 2.0, 0.0])),
    )


@pytest.mark.parametrize(
    "name",
    ["bitwise_and", "bitwise_or", "bitwise_xor", "bitwise_left_shift", "bitwise_right_shift"],
)
def test_bitwise(name):
    a, b = [12, 5, 7, 0], [10, 3, 1, 2]
    for dt in ["int64", "int32", "uint8"]:
        ea = ember.tensor(a, dtype=getattr(ember, dt))
        ta = torch.tensor(a, dtype=getattr(torch, dt))
        eb = ember.tensor(b, dtype=getattr(ember, dt))
        tb = torch.tensor(b, dtype=getattr(torch, dt))
        assert_same(getattr(ember, name)(ea, eb), getattr(torch, name)(ta, tb))
        assert_same(getattr(ember, name)(ea, 1), getattr(torch, name)(ta, 1))
    eb_, tb_ = ember.tensor([True, False, True]), torch.tensor([True, False, True])
    ec_, tc_ = ember.tensor([True, True, False]), torch.tensor([True, True, False])
    if name in ("bitwise_and", "bitwise_or", "bitwise_xor"):
        assert_same(getattr(ember, name)(eb_, ec_), getattr(torch, name)(tb_, tc_))
    assert_same(eb_ & ec_, tb_ & tc_)
    assert_same(eb_ | ec_, tb_ | tc_)
    assert_same(eb_ ^ ec_, tb_ ^ tc_)
    assert_same(~eb_, ~tb_)
    assert_same(~ember.tensor([1, -2]), ~torch.tensor([1, -2]))
    assert_same(ember.tensor([1, 8]) << 2, torch.tensor([1, 8]) << 2)
    assert_same(ember.tensor([1, 8]) >> 1, torch.tensor([1, 8]) >> 1)


def test_where_values_grads_dtypes():
    c = np.array([True, False, True, False])
    a, b = _arr((4,)), _arr((4,), seed=1)
    ea, ta = _pair(a, rg=True)
    eb, tb = _pair(b, rg=True)
    ec, tc = ember.from_numpy(c), torch.from_numpy(c)
    re_, rt = ember.where(ec, ea, eb), torch.where(tc, ta, tb)
    assert_same(re_, rt)
    (re_ * ember.arange(4.0)).sum().backward()
    (rt * torch.arange(4.0)).sum().backward()
    assert_same(ea.grad, ta.grad)
    assert_same(eb.grad, tb.grad)
    assert_same(ember.where(ec, ea.detach(), 0.0), torch.where(tc, ta.detach(), 0.0))
    assert_same(ember.where(ec, 1.0, 0.0), torch.where(tc, 1.0, 0.0))
    assert_same(ember.where(ec, 1, 0), torch.where(tc, 1, 0))
    assert_same(
        ember.where(ec, ember.tensor([1, 2, 3, 4]), ea.detach().double()),
        torch.where(tc, torch.tensor([1, 2, 3, 4]), ta.detach().double()),
    )
    assert_same(
        ember.where(ec.reshape(4, 1), ea.detach(), eb.detach()[:1].reshape(1, 1)),
        torch.where(tc.reshape(4, 1), ta.detach(), tb.detach()[:1].reshape(1, 1)),
    )
    with pytest.raises(RuntimeError, match="must match the size"):
        torch.where(tc.reshape(4, 1), ta.detach(), tb.detach()[:2].reshape(1, 2))
    with pytest.raises(RuntimeError, match="must match the size"):
        ember.where(ec.reshape(4, 1), ea.detach(), eb.detach()[:2].reshape(1, 2))
    assert_same(ember.where(ec), torch.where(tc))
    assert_same(ea.detach().where(ec, eb.detach()), ta.detach().where(tc, tb.detach()))


def test_lerp_isclose_allclose_equal_isin():
    a, b = _arr((4,)), _arr((4,), seed=1)
    ea, ta = _pair(a, rg=True)
    eb, tb = _pair(b)
    assert_same(ember.lerp(ea, eb, 0.3), torch.lerp(ta, tb, 0.3))
    assert_same(
        ember.lerp(ea, eb, ember.full((4,), 0.25)), torch.lerp(ta, tb, torch.full((4,), 0.25))
    )
    ember.lerp(ea, eb, 0.3).sum().backward()
    torch.lerp(ta, tb, 0.3).sum().backward()
    assert_same(ea.grad, ta.grad)
    x = ember.tensor([1.0, 2.0, float("nan")])
    y = ember.tensor([1.0 + 1e-7, 2.1, float("nan")])
    tx, ty = to_torch(x), to_torch(y)
    assert_same(ember.isclose(x, y), torch.isclose(tx, ty))
    assert_same(ember.isclose(x, y, equal_nan=True), torch.isclose(tx, ty, equal_nan=True))
    assert ember.allclose(x[:1], y[:1]) == torch.allclose(tx[:1], ty[:1])
    assert ember.equal(x[:2], x[:2].clone()) == torch.equal(tx[:2], tx[:2].clone())
    assert ember.equal(x[:2], y[:2]) == torch.equal(tx[:2], ty[:2])
    assert_same(
        ember.isin(ember.tensor([1, 2, 3]), ember.tensor([2, 5])),
        torch.isin(torch.tensor([1, 2, 3]), torch.tensor([2, 5])),
    )


def test_out_argument():
    a, b = _arr((2, 3)), _arr((3, 2), seed=1)
    ea, ta = _pair(a)
    eb, tb = _pair(b)
    oe, ot = ember.empty(2, 2), torch.empty(2, 2)
    r = ember.matmul(ea, eb, out=oe)
    torch.matmul(ta, tb, out=ot)
    assert r is oe
    assert_same(oe, ot)
    oe, ot = ember.empty(2, 3), torch.empty(2, 3)
    assert ember.mul(ea, 2.0, out=oe) is oe
    torch.mul(ta, 2.0, out=ot)
    assert_same(oe, ot)
    assert ember.add(ea, ea, out=oe) is oe
    torch.add(ta, ta, out=ot)
    assert_same(oe, ot)
    oe, ot = ember.empty(0), torch.empty(0)
    ember.add(ea, 1, out=oe)
    torch.add(ta, 1, out=ot)
    assert_same(oe, ot)
    oe, ot = ember.empty(2, 3, dtype=ember.int64), torch.empty(2, 3, dtype=torch.int64)
    with pytest.raises(RuntimeError):
        torch.mul(ta, 2.0, out=ot)
    with pytest.raises(RuntimeError):
        ember.mul(ea, 2.0, out=oe)
    oe, ot = ember.empty(3), torch.empty(3)
    ember.exp(ember.tensor([0.0, 1.0, 2.0]), out=oe)
    torch.exp(torch.tensor([0.0, 1.0, 2.0]), out=ot)
    assert_same(oe, ot)


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


@pytest.mark.parametrize(
    "name", ["add", "sub", "mul", "div", "pow", "maximum", "atan2" if False else "minimum"]
)
def test_binary_gradcheck_float64(name):
    x = ember.from_numpy(_arr((3, 1), "pos", dtype=np.float64)).requires_grad_()
    y = ember.from_numpy(_arr((4,), "pos", seed=3, dtype=np.float64)).requires_grad_()
    assert ember.autograd.gradcheck(getattr(ember, name), (x, y))


@st.composite
def _broadcast_shapes(draw):
    nd = draw(st.integers(0, 3))
    base = draw(st.lists(st.integers(1, 4), min_size=nd, max_size=nd))
    sa = [d if draw(st.booleans()) else 1 for d in base]
    sb = [d if draw(st.booleans()) else 1 for d in base]
    cut = draw(st.integers(0, nd))
    return tuple(sa), tuple(sb[cut:])


@settings(max_examples=25, deadline=None)
@given(_broadcast_shapes(), st.sampled_from(["add", "mul", "sub", "div", "maximum"]))
def test_hypothesis_broadcast_binary(shapes, name):
    sa, sb = shapes
    a, b = _arr(sa, "pos"), _arr(sb, "pos", seed=1)
    ea, ta = _pair(a, rg=True)
    eb, tb = _pair(b, rg=True)
    re_, rt = getattr(ember, name)(ea, eb), getattr(torch, name)(ta, tb)
    assert_same(re_, rt)
    re_.sum().backward()
    rt.sum().backward()
    assert_same(ea.grad, ta.grad, rtol=1e-4, atol=1e-5)
    assert_same(eb.grad, tb.grad, rtol=1e-4, atol=1e-5)


@settings(max_examples=25, deadline=None)
@given(st.lists(st.integers(0, 4), min_size=0, max_size=3), st.sampled_from([n for n, _ in UNARY]))
def test_hypothesis_unary_shapes(shape, name):
    domain = dict(UNARY)[name]
    a = _arr(tuple(shape), domain)
    e, t = _pair(a)
    assert_same(getattr(ember, name)(e), getattr(torch, name)(t), rtol=1e-5, atol=1e-5)


GRID_DT = [
    "bool",
    "uint8",
    "int8",
    "int16",
    "int32",
    "int64",
    "float16",
    "bfloat16",
    "float32",
    "float64",
]


def _grid_make(L, dt, kind):
    vals = [3, 1, 2, 5] if dt in ("uint8", "bool") else [-3, 1, 2, 5]
    if dt == "bool":
        vals = [True, False, True, True]
    t = L.tensor(vals, dtype=getattr(L, dt))
    return t if kind == "t" else t[0].clone()


@pytest.mark.parametrize(
    "op",
    [
        "add",
        "sub",
        "mul",
        "div",
        "pow",
        "remainder",
        "floor_divide",
        "maximum",
        "minimum",
        "fmod",
        "eq",
        "lt",
        "ne",
        "logical_and",
        "bitwise_and",
    ],
)
def test_binary_dtype_grid_vs_torch(op):
    """Every dtype pair and operand kind: same result dtype and values, or same error type."""
    import itertools

    for da, db in itertools.product(GRID_DT, GRID_DT + ["scalar"]):
        for ka in ("t", "0d"):
            for kb in ("t", "0d") if db != "scalar" else (2, 2.5, True, -1):
                ta = _grid_make(torch, da, ka)
                ea = _grid_make(ember, da, ka)
                tb = _grid_make(torch, db, kb) if db != "scalar" else kb
                eb = _grid_make(ember, db, kb) if db != "scalar" else kb
                try:
                    rt = getattr(torch, op)(ta, tb)
                except Exception as ex:  # noqa: BLE001
                    with pytest.raises(type(ex)):
                        getattr(ember, op)(ea, eb)
                    continue
                with np.errstate(all="ignore"):
                    re_ = getattr(ember, op)(ea, eb)
                assert str(re_.dtype) == str(rt.dtype), (op, da, db, ka, kb)
                tv = rt.float().numpy() if rt.dtype == torch.bfloat16 else rt.numpy()
                ev = np.asarray(re_.float().numpy() if re_.dtype is ember.bfloat16 else re_.numpy())
                np.testing.assert_allclose(
                    ev.astype(float),
                    tv.astype(float),
                    rtol=1e-2,
                    atol=1e-3,
                    err_msg=str((op, da, db, ka, kb)),
                )


@pytest.mark.parametrize(
    "name",
    [n for n, _ in UNARY]
    + NO_GRAD_UNARY
    + ["angle", "real", "imag", "bitwise_not", "logical_not", "nan_to_num"],
)
def test_unary_dtype_grid_vs_torch(name):
    """Every dtype: same result dtype and values as torch, or the same error type."""
    for dt in GRID_DT:
        floating = dt in ("float16", "bfloat16", "float32", "float64")
        vals = [0.25, 0.5, 0.75, 0.1] if floating else [0, 1, 2, 3]
        if dt == "bool":
            vals = [True, False, True, True]
        t = torch.tensor(vals, dtype=getattr(torch, dt))
        e = ember.tensor(vals, dtype=getattr(ember, dt))
        try:
            rt = getattr(torch, name)(t)
        except Exception as ex:  # noqa: BLE001
            with pytest.raises(type(ex)):
                getattr(ember, name)(e)
            continue
        with np.errstate(all="ignore"):
            re_ = getattr(ember, name)(e)
        assert str(re_.dtype) == str(rt.dtype), (name, dt)
        tv = rt.float().numpy() if rt.dtype == torch.bfloat16 else rt.numpy()
        ev = re_.float().numpy() if re_.dtype is ember.bfloat16 else re_.numpy()
        np.testing.assert_allclose(
            np.asarray(ev).astype(float),
            tv.astype(float),
            rtol=1e-2,
            atol=1e-3,
            err_msg=f"{name} {dt}",
        )


_CHAIN_U = [
    "exp",
    "tanh",
    "sigmoid",
    "sin",
    "abs",
    "relu",
    "square",
    "atan",
    "erf",
    "expm1",
    "asinh",
]
_CHAIN_B = [
    "add",
    "sub",
    "mul",
    "maximum",
    "minimum",
    "fmax",
    "lerp",
    "pos_div",
    "pos_pow",
    "where",
    "clamp_t",
    "pos_fmod",
]


def _chain_binary(L, name, x, y):
    if name == "pos_div":
        return x / (y.abs() + 1)
    if name == "pos_pow":
        return (x.abs() + 0.5) ** y.tanh()
    if name == "where":
        return L.where(x > y, x, y * 2)
    if name == "clamp_t":
        return L.clamp(x, min=y, max=y + 1)
    if name == "lerp":
        return L.lerp(x, y, 0.3)
    if name == "pos_fmod":
        return L.fmod(x, y.abs() + 1)
    return getattr(L, name)(x, y)


@pytest.mark.parametrize("seed", range(30))
def test_random_chains_first_and_second_derivatives(seed):
    """Random compositions of elementwise ops (with broadcasting): values, gradients and
    gradients of gradients (create_graph) match torch in float64."""
    import random

    rng = random.Random(seed)
    sa, sb = rng.choice([((3,), (3,)), ((2, 3), (3,)), ((2, 1), (1, 4)), ((), (3,))])
    a = np.random.default_rng(seed).standard_normal(sa)
    b = np.random.default_rng(seed + 99).standard_normal(sb)
    prog = [
        (rng.random() < 0.5, rng.choice(_CHAIN_U), rng.choice(_CHAIN_B), rng.random() < 0.5)
        for _ in range(4)
    ]
    res = []
    for L in (ember, torch):
        x, y = L.tensor(a, requires_grad=True), L.tensor(b, requires_grad=True)
        vals = [x, y]
        for unary, u, bn, first in prog:
            vals.append(
                getattr(L, u)(vals[-1])
                if unary
                else _chain_binary(L, bn, vals[-1], vals[0 if first else 1])
            )
        r = vals[-1]
        out = (r * L.arange(r.numel(), dtype=L.float64).reshape(r.shape)).sum()
        gx, gy = L.autograd.grad(out, [x, y], allow_unused=True, create_graph=True)
        total = sum(g.sum() for g in (gx, gy) if g is not None)
        h = (
            L.autograd.grad(total, [x, y], allow_unused=True)
            if isinstance(total, L.Tensor) and total.requires_grad
            else (None, None)
        )
        res.append([out, gx, gy, *h])
    for e, t in zip(*res):
        if t is None or e is None:
            for z in (e, t):
                assert z is None or not z.detach().numpy().any()
        else:
            assert_same(e, t, rtol=1e-6, atol=1e-8)
