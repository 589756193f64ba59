"""torch.masked reductions and normalisations against torch: values, shapes, dtypes for several
dims/keepdim, fully masked slices, broadcast masks, and gradients."""

from __future__ import annotations

import numpy as np
import pytest

import ember
from tests._support.ops_check import gradcheck
from tests._support.torch_ref import assert_same, torch

_RNG = np.random.default_rng(0)
_X = _RNG.standard_normal((3, 4, 5))
_M = _RNG.random((3, 4, 5)) > 0.5
_M[0, 0, :] = False  # a fully masked slice


def _both(name, *args, x=_X, m=_M, **kw):
    t = getattr(torch.masked, name)(torch.from_numpy(x), *args, mask=torch.from_numpy(m), **kw)
    e = getattr(ember.masked, name)(ember.from_numpy(x), *args, mask=ember.from_numpy(m), **kw)
    return e, t


@pytest.mark.parametrize("name", ["sum", "prod", "amax", "amin", "mean", "logsumexp", "std", "var"])
def test_reductions_match_torch(name):
    for dim in (None, 1, (0, 2)):
        for keepdim in (False, True):
            e, t = _both(name, dim, keepdim=keepdim)
            assert_same(e, t, rtol=1e-10, atol=1e-12)


def test_arg_reductions_median_norms():
    for name in ("argmax", "argmin"):
        assert_same(*_both(name, 1))
        assert_same(*_both(name, 2, keepdim=True))
    assert_same(*_both("median", 1))
    assert_same(*_both("median", -1, keepdim=True))
    for o in (1, 2, 3.0, float("inf"), -float("inf"), 0):
        assert_same(*_both("norm", o, 1), rtol=1e-10)
        assert_same(*_both("norm", o, None), rtol=1e-10)
    for o in (1, 2, 3.0):
        assert_same(*_both("normalize", o, 2), rtol=1e-10)
    assert_same(*_both("var", 1, False), rtol=1e-10)
    assert_same(*_both("std", (0, 1), correction=0), rtol=1e-10)
    e, t = _both("sum", 1, m=np.array([True, False, True, True, False]))  # broadcast mask
    assert_same(e, t)


@pytest.mark.parametrize("name", ["softmax", "log_softmax", "softmin", "cumsum", "cumprod"])
def test_normalisations_match_torch(name):
    for dim in (0, 1, 2):
        assert_same(*_both(name, dim), rtol=1e-10, atol=1e-12)


def test_logaddexp_and_no_mask():
    x, y = torch.from_numpy(_X), torch.from_numpy(_X * 2)
    t = torch.masked.logaddexp(
        x, y, input_mask=torch.from_numpy(_M), other_mask=torch.from_numpy(~_M)
    )
    e = ember.masked.logaddexp(
        ember.from_numpy(_X),
        ember.from_numpy(_X * 2),
        input_mask=ember.from_numpy(_M),
        other_mask=ember.from_numpy(~_M),
    )
    assert_same(e, t, rtol=1e-12)
    assert_same(ember.masked.sum(ember.from_numpy(_X), 1), torch.masked.sum(x, 1), rtol=1e-12)


@pytest.mark.parametrize(
    "name,args",
    [
        ("sum", (1,)),
        ("mean", (1,)),
        ("softmax", (1,)),
        ("log_softmax", (2,)),
        ("std", (1,)),
        ("amax", (1,)),
        ("norm", (2, 1)),
        ("logsumexp", (1,)),
        ("prod", (2,)),
        ("normalize", (2, 1)),
    ],
)
def test_gradients_match_torch(name, args):
    w = _RNG.standard_normal(tuple(_both(name, *args)[1].shape))
    tx = torch.from_numpy(_X.copy()).requires_grad_()
    ex = ember.from_numpy(_X.copy()).requires_grad_()
    t = getattr(torch.masked, name)(tx, *args, mask=torch.from_numpy(_M))
    e = getattr(ember.masked, name)(ex, *args, mask=ember.from_numpy(_M))
    torch.nan_to_num(t * torch.from_numpy(w), 0, 0, 0).sum().backward()
    ember.nan_to_num(e * ember.from_numpy(w), 0, 0, 0).sum().backward()
    assert_same(ember.nan_to_num(ex.grad), torch.nan_to_num(tx.grad), rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("name", ["softmax", "log_softmax", "softmin"])
@pytest.mark.parametrize("dim", [0, 2])
def test_softmax_family_fully_masked_and_masked_outputs_gradients(name, dim):
    # no nan_to_num on the output: the upstream gradient reaches the NaN (fully masked) slice
    # and the masked positions, as in torch's op_db samples; torch's input gradient stays finite
    w = _RNG.standard_normal(_X.shape)
    tx = torch.from_numpy(_X.copy()).requires_grad_()
    ex = ember.from_numpy(_X.copy()).requires_grad_()
    t = getattr(torch.masked, name)(tx, dim, mask=torch.from_numpy(_M))
    e = getattr(ember.masked, name)(ex, dim, mask=ember.from_numpy(_M))
    assert_same(e, t, rtol=1e-12, atol=1e-12)
    torch.autograd.backward(t, torch.from_numpy(w))
    ember.autograd.backward(e, ember.from_numpy(w))
    assert_same(ex.grad, tx.grad, rtol=1e-10, atol=1e-12)
    assert np.isfinite(ex.grad.numpy()).all()


def test_softmax_gradcheck_float64():
    m = ember.from_numpy(_M[:, :, :3].copy())
    m[0, 0] = True  # finite differences need a finite output

    def f(x):
        return ember.masked.log_softmax(x, 2, mask=m).clamp(min=-50)

    gradcheck(f, (3, 4, 3))
