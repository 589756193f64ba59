"""Elementwise sweeps against torch: hypothesis-drawn broadcast shapes, the dtype-promotion grid
of binary and unary ops, and random op chains checked to second derivatives."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import ember
from tests._support.elementwise import NO_GRAD_UNARY, UNARY, _arr, _pair
from tests._support.torch_ref import assert_same, torch


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
