"""Differential-test helper for the op test files: run one function on ember and on torch,
compare every output (values, dtype, shape), then backward a random weighting of the float
outputs and compare the input gradients."""

from __future__ import annotations

import numpy as np

import ember
from tests._support.torch_ref import assert_same, to_torch, torch


def _flat(out):
    if isinstance(out, (tuple, list)):
        return [o for x in out for o in _flat(x)]
    return [out]


def compare(fn, *inputs, grad: bool = True, atol: float = 1e-6, rtol: float = 1e-5):
    """fn(module, *inputs) with module = ember / torch; inputs are ember tensors or plain values.
    Returns the (ember, torch) outputs."""
    t_inputs = [to_torch(x) if isinstance(x, ember.Tensor) else x for x in inputs]
    e_out = fn(ember, *inputs)
    t_out = fn(torch, *t_inputs)
    ef, tf = _flat(e_out), _flat(t_out)
    assert len(ef) == len(tf)
    for e, t in zip(ef, tf):
        assert_same(e, t, rtol=rtol, atol=atol)
    if not grad:
        return e_out, t_out
    rng = np.random.default_rng(1)
    e_loss, t_loss = None, None
    for e, t in zip(ef, tf):
        if isinstance(t, torch.Tensor) and t.requires_grad:
            w = rng.standard_normal(tuple(t.shape)).astype(str(t.dtype).split(".")[-1])
            el = (e * ember.from_numpy(w.copy())).sum()
            tl = (t * torch.from_numpy(w.copy())).sum()
            e_loss = el if e_loss is None else e_loss + el
            t_loss = tl if t_loss is None else t_loss + tl
    assert t_loss is not None, "no differentiable output"
    e_loss.backward()
    t_loss.backward()
    for e, t in zip(inputs, t_inputs):
        if isinstance(t, torch.Tensor) and t.requires_grad:
            if t.grad is None:
                assert e.grad is None or not np.any(e.grad.numpy())
            else:
                assert_same(e.grad, t.grad, rtol=rtol, atol=max(atol, 1e-5))
    return e_out, t_out


def randn(*shape, dtype=None, rg: bool = True, seed: int | None = None):
    """An ember float tensor (float32 by default) of distinct random values."""
    rng = np.random.default_rng(abs(seed) if seed is not None else sum(shape) + len(shape))
    arr = rng.standard_normal(shape).astype(np.float64 if dtype is ember.float64 else np.float32)
    t = ember.from_numpy(arr)
    return t.requires_grad_() if rg else t


def gradcheck(fn, *shapes, **kw):
    """float64 finite-difference check of fn over fresh inputs of the given shapes."""
    xs = [randn(*s, dtype=ember.float64, seed=i + 7) for i, s in enumerate(shapes)]
    assert ember.autograd.gradcheck(fn, xs, **kw)


def compare_double_backward(fn, *shapes):
    """Second derivatives through fn (create_graph=True) against torch's."""
    xs = [randn(*s, dtype=ember.float64, seed=i + 3) for i, s in enumerate(shapes)]
    ts = [to_torch(x) for x in xs]
    rng = np.random.default_rng(5)
    w = rng.standard_normal(tuple(fn(torch, *ts).shape))
    ge = ember.autograd.grad(
        [(fn(ember, *xs) * ember.from_numpy(w.copy())).sum()], xs, create_graph=True
    )
    gt = torch.autograd.grad(
        [(fn(torch, *ts) * torch.from_numpy(w.copy())).sum()], ts, create_graph=True
    )
    for a, b in zip(ge, gt):
        assert_same(a, b)
    sum(((g * g).sum() for g in ge), ember.zeros(())).backward()
    sum(((g * g).sum() for g in gt), torch.zeros((), dtype=torch.float64)).backward()
    for x, t in zip(xs, ts):
        assert_same(x.grad, t.grad, atol=1e-8)


def close_outputs(e, t, dtype, atol32: float = 1e-4) -> None:
    """ember's [output, gradients...] against torch's (numpy arrays or None, in pairs): the
    same dtypes and shapes, values within float64 or float32 rounding."""
    tol = dict(rtol=1e-10, atol=1e-10) if dtype == np.float64 else dict(rtol=1e-4, atol=atol32)
    for a, b in zip(e, t):
        assert (a is None) == (b is None)
        if a is not None:
            assert a.dtype == b.dtype and a.shape == b.shape
            np.testing.assert_allclose(a, b, **tol)


def conv_gradcheck(xshape, wshape, served, *conv_args, seed=5, **conv_kw):
    """Finite-difference gradcheck (float64) of ``conv2d(x, w, b, *conv_args, **conv_kw)`` for
    random x (``xshape``), w (``wshape``) and bias, after asserting that ``served(x, w)`` (the
    path's eligibility on the arrays) holds, so the check reaches the path under test."""
    rng = np.random.default_rng(seed)
    x = ember.tensor(rng.standard_normal(xshape), requires_grad=True)
    w = ember.tensor(rng.standard_normal(wshape), requires_grad=True)
    b = ember.tensor(rng.standard_normal(wshape[0]), requires_grad=True)
    assert served(x.detach().numpy(), w.detach().numpy())

    def f(x, w, b):
        return ember.nn.functional.conv2d(x, w, b, *conv_args, **conv_kw)

    assert ember.autograd.gradcheck(f, (x, w, b), eps=1e-6, atol=1e-5)
