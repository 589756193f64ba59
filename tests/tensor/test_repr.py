"""repr/str of tensors: exactly torch's text."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest

import ember
from tests._support.torch_ref import torch

DATA = [
    [1.0, 2.0, 3.0],
    [1.5, -2.25, 3.0],
    [0.1, 0.2, 0.3],
    [1e-5, 1.0, 2.0],
    [1e10, 1.0],
    [123456.0, 0.5],
    [1e-8, 1e-9],
    [-1.0, -2.0],
    [float("nan"), 1.0],
    [float("inf"), -float("inf"), 1.5],
    [float("nan"), float("inf")],
    [0.0, -0.0],
    [100.0, 2000.0],
    [1e8, 1.0],
    [1e9, 1.0],
    [[1.0, 2.5], [3.0, 4.0]],
    [[[1.0, 2.0], [3.0, 4.0]], [[5.0, 6.0], [7.0, 8.0]]],
    [[1, 2, 3], [4, 5, 6]],
    [[-1, 20], [300, -4000]],
    [True, False],
    [[True], [False]],
    3.5,
    -2.0,
    7,
    True,
    1e-7,
    12345.678,
    0.5,
]


def _both(data, **kw):
    e = ember.tensor(data, **{k: getattr(ember, v) if k == "dtype" else v for k, v in kw.items()})
    t = torch.tensor(data, **{k: getattr(torch, v) if k == "dtype" else v for k, v in kw.items()})
    return e, t


@pytest.mark.parametrize("data", DATA, ids=[str(i) for i in range(len(DATA))])
def test_repr_matches(data):
    e, t = _both(data)
    assert repr(e) == repr(t)
    assert str(e) == str(t)


@pytest.mark.parametrize(
    "dt", ["float64", "float16", "int32", "int8", "uint8", "bfloat16", "int16"]
)
def test_non_default_dtypes(dt):
    e, t = _both([1, 2, 3], dtype=dt)
    assert repr(e) == repr(t)
    e, t = _both(2, dtype=dt)
    assert repr(e) == repr(t)


@pytest.mark.parametrize("dt", ["float64", "float32"])
def test_fractional_non_default(dt):
    e, t = _both([[0.123456, 2.5], [3.75, -1.0]], dtype=dt)
    assert repr(e) == repr(t)


def test_requires_grad_suffix():
    e, t = _both([1.0, 2.0], requires_grad=True)
    assert repr(e) == repr(t)
    e, t = _both([1.0, 2.0], requires_grad=True, dtype="float64")
    assert repr(e) == repr(t)


def _loose(s):
    return re.sub(r"grad_fn=<\w+>", "grad_fn=<X>", s)


@pytest.mark.parametrize(
    "op",
    [
        lambda x: x * 2,
        lambda x: x + 1,
        lambda x: x.exp(),
        lambda x: x.sum(),
        lambda x: x[0],
        lambda x: x.view(2, 1),
        lambda x: x - x,
        lambda x: x / 3,
    ],
)
def test_grad_fn_suffix(op):
    e, t = _both([1.0, 2.0], requires_grad=True)
    re_, rt = repr(op(e)), repr(op(t))
    assert _loose(re_) == _loose(rt)


def test_grad_fn_names_exact_for_common_ops():
    e, t = _both([1.0, 2.0], requires_grad=True)
    for op in [lambda x: x * 2, lambda x: x + 1, lambda x: x.exp(), lambda x: x / 3]:
        assert repr(op(e)) == repr(op(t))


@pytest.mark.parametrize("shape", [(0,), (2, 0), (0, 3), (1, 0, 2)])
def test_empty(shape):
    assert repr(ember.zeros(shape)) == repr(torch.zeros(shape))
    assert repr(ember.zeros(shape, dtype=ember.int64)) == repr(
        torch.zeros(shape, dtype=torch.int64)
    )
    assert repr(ember.zeros(shape, dtype=ember.float64)) == repr(
        torch.zeros(shape, dtype=torch.float64)
    )


@pytest.mark.parametrize("shape", [(2000,), (50, 50), (1001,), (3, 400), (12, 12, 12)])
def test_summarised(shape):
    n = int(np.prod(shape))
    a = (np.arange(n, dtype=np.float32) * 0.37 - 3).reshape(shape)
    assert repr(ember.from_numpy(a)) == repr(torch.from_numpy(a))
    b = np.arange(n, dtype=np.int64).reshape(shape)
    assert repr(ember.from_numpy(b)) == repr(torch.from_numpy(b))


@pytest.mark.parametrize("n", [5, 10, 20, 50, 100])
def test_line_wrapping(n):
    a = np.linspace(-3, 7, n).astype(np.float32)
    assert repr(ember.from_numpy(a)) == repr(torch.from_numpy(a))
    b = (np.arange(n) * 997).astype(np.int64)
    assert repr(ember.from_numpy(b)) == repr(torch.from_numpy(b))


def test_random_matrices():
    rng = np.random.default_rng(0)
    for shape in [(3, 4), (2, 3, 4), (5,), (8, 8)]:
        a = rng.standard_normal(shape).astype(np.float32)
        assert repr(ember.from_numpy(a)) == repr(torch.from_numpy(a))
        a64 = a.astype(np.float64) * 1000
        assert repr(ember.from_numpy(a64)) == repr(torch.from_numpy(a64))


def test_default_dtype_float64():
    ember.set_default_dtype(ember.float64)
    prev = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        for data in [[1.5, 2.0], 3.0]:
            e, t = _both(data)
            assert repr(e) == repr(t)
        e, t = _both([1.0, 2.0], dtype="float32")
        assert repr(e) == repr(t)
    finally:
        torch.set_default_dtype(prev)


def test_complex():
    for data in [[1 + 2j, 3 - 1j], [0.5j, 1.0]]:
        e, t = _both(data)
        assert repr(e) == repr(t)


def test_parameter_repr():
    from ember.nn.parameter import Parameter

    p = Parameter(ember.tensor([1.0, 2.0]))
    tp = torch.nn.Parameter(torch.tensor([1.0, 2.0]))
    assert repr(p) == repr(tp)


def test_non_contiguous_view():
    a = np.arange(12, dtype=np.float32).reshape(3, 4)
    e = ember.from_numpy(a).t()
    t = torch.from_numpy(a).t()
    assert repr(e) == repr(t)
    assert math.isfinite(1.0)


@pytest.mark.parametrize(
    "op",
    [
        lambda x: x[0],
        lambda x: x[:, 1:],
        lambda x: x[[0, 1]],
        lambda x: x.double(),
        lambda x: x.clone(),
        lambda x: x.clamp(0, 1),
        lambda x: x[None],
        lambda x: x[0, 1],
        lambda x: x.sigmoid(),
        lambda x: x.relu(),
        lambda x: x.abs(),
        lambda x: -x,
        lambda x: x**2,
        lambda x: x.tanh(),
        lambda x: x.exp(),
        lambda x: x.log(),
    ],
)
def test_grad_fn_names_match_torch(op):
    e = ember.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    t = torch.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    re_, rt = op(e), op(t)
    assert re_.grad_fn.name() == rt.grad_fn.name()
    assert repr(re_) == repr(rt)


@pytest.mark.parametrize("seed", range(0, 300, 3))
def test_random_tensors_repr(seed):
    """Random shapes (empty and summarised ones included), dtypes, scales and special values."""
    import random

    for trial in range(seed, seed + 3):
        rng, nr = random.Random(trial), np.random.default_rng(trial)
        shape = tuple(rng.choice([0, 1, 2, 3, 5, 7, 40]) for _ in range(rng.randrange(0, 4)))
        dt = rng.choice(["float32", "float64", "int64", "int32", "bool", "float16", "uint8"])
        a = nr.standard_normal(shape) * 10 ** rng.uniform(-6, 9)
        if rng.random() < 0.3:
            a = np.round(a)
        if rng.random() < 0.2 and a.size:
            a.flat[rng.randrange(a.size)] = rng.choice([np.nan, np.inf, -np.inf, 0.0])
        if dt in ("int64", "int32", "uint8"):
            a = np.nan_to_num(a, nan=0, posinf=0, neginf=0).clip(-1e9, 1e9).astype(np.int64)
            a = a % 100 if dt == "uint8" else a
        if dt == "bool":
            a = a > 0
        with np.errstate(all="ignore"):
            arr = np.asarray(a).astype(dt)
        e, t = ember.from_numpy(arr.copy()), torch.from_numpy(arr.copy())
        if dt.startswith("float") and rng.random() < 0.2:
            e.requires_grad_()
            t.requires_grad_()
        assert repr(e) == repr(t)
