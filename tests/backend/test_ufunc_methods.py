"""The ufunc methods CuPy lacks (accumulate, reduce, at for any ufunc): the fallbacks checked
against NumPy's own methods, and the ops that use them on the CuPy stand-in, whose ufuncs refuse
those methods as CuPy's do."""

from __future__ import annotations

import numpy as np
import pytest

import ember
from ember._backend import ufunc_methods as um
from tests._support import fake_cupy
from tests._support.cuda import _backend_fixture, _host  # noqa: F401
from tests._support.torch_ref import assert_same, to_torch, torch


@pytest.mark.parametrize("shape,axis", [((7,), 0), ((3, 5, 4), 1), ((3, 5, 4), 2), ((1,), 0),
                                        ((0, 3), 0), ((4, 33), -1)])  # fmt: skip
@pytest.mark.parametrize("ufunc", [np.maximum, np.minimum, np.logaddexp])
def test_scan_is_accumulate(shape, axis, ufunc):
    a = np.random.default_rng(0).standard_normal(shape)
    if a.size > 5:
        a.flat[::5] = np.nan if ufunc is not np.logaddexp else -np.inf
    with np.errstate(invalid="ignore"):
        want = ufunc.accumulate(a, axis=axis)
        got = um.scan(ufunc, a, axis)
    np.testing.assert_allclose(got, want, rtol=1e-14, equal_nan=True)


@pytest.mark.parametrize("axis", [None, 0, 1, (0, 2), (2, 0, 1)])
@pytest.mark.parametrize("keepdims", [False, True])
def test_fold_is_reduce(axis, keepdims):
    b = np.random.default_rng(1).integers(0, 1 << 40, (3, 5, 7))
    got = um.fold(np.bitwise_xor, b, axis, keepdims)
    np.testing.assert_array_equal(got, np.bitwise_xor.reduce(b, axis=axis, keepdims=keepdims))


def test_fold_of_an_empty_axis_is_the_identity():
    b = np.zeros((3, 0), np.int64)
    np.testing.assert_array_equal(um.fold(np.bitwise_xor, b, 1), np.zeros(3, np.int64))


@pytest.mark.parametrize("trial", range(5))
def test_rounds_are_at_with_repeats(trial):
    rng = np.random.default_rng(trial)
    a = rng.standard_normal((5, 6))
    i, j, v = rng.integers(-5, 5, 12), rng.integers(0, 6, 12), rng.standard_normal(12)
    want = a.copy()
    np.multiply.at(want, (i, j), v)
    um.in_rounds(np.multiply, a, (i, j), v)
    np.testing.assert_allclose(a, want, rtol=1e-14)
    t = rng.standard_normal((6, 5)).T  # not contiguous: written through its own indexing
    want = t.copy()
    np.multiply.at(want, (i % 5, j), 3.0)
    um.in_rounds(np.multiply, t, (i % 5, j), 3.0)
    np.testing.assert_allclose(t, want, rtol=1e-14)


def test_stand_in_refuses_what_cupy_refuses():
    with pytest.raises(NotImplementedError, match="cupy_maximum.accumulate"):
        fake_cupy.maximum.accumulate(fake_cupy.asarray(np.ones(3)))
    with pytest.raises(NotImplementedError, match="cupy_multiply.at"):
        fake_cupy.multiply.at(fake_cupy.asarray(np.ones(3)), np.array([0]), 2.0)


@pytest.mark.parametrize(
    "fn",
    [
        lambda x: x.cummax(1)[0],
        lambda x: x.cummin(0)[0],
        lambda x: x.logcumsumexp(1),
        lambda x: x.scatter_reduce(
            1, ember.tensor([[0, 0, 2], [1, 1, 1]]).to(x.device), x[:, :3], "prod"
        ),  # fmt: skip
        lambda x: x.index_reduce(0, ember.tensor([1, 1]).to(x.device), x * 2, "prod"),
        # CuPy's own maximum.at rounds float64 through float32 (the stand-in does too)
        lambda x: x.scatter_reduce(
            1,
            ember.tensor([[0, 0, 2], [1, 1, 1]]).to(x.device),
            x[:, :3] * 1.1,
            "amax",
            include_self=False,
        ),  # fmt: skip
    ],
)
def test_ops_on_the_stand_in_match_the_cpu(fn):
    x = ember.randn(2, 4, dtype=ember.float64)
    want = fn(x.detach().requires_grad_())
    xc = x.to("cuda").requires_grad_()
    got = fn(xc)
    np.testing.assert_allclose(_host(got), want.detach().numpy(), rtol=1e-12)
    got.sum().backward()
    xr = x.detach().requires_grad_()
    fn(xr).sum().backward()
    np.testing.assert_allclose(_host(xc.grad), xr.grad.numpy(), rtol=1e-12)


def test_hash_tensor_on_the_stand_in():
    x = ember.randint(0, 1000, (3, 4))
    got = ember.hash_tensor(x.to("cuda"), 1)
    assert_same(_wrap_host(got), torch.hash_tensor(to_torch(x), 1))


def _wrap_host(t):
    return ember.tensor(_host(t))
