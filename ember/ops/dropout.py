"""Dropout's op: the input times a constant keep mask already scaled by 1 / (1 - p), and the
mask itself (drawn on the input's device). The public dropout family is in
``ember.nn.functional``; ``dropout(input, p, train)`` here is torch.dropout."""

from __future__ import annotations

import numpy as np

from .._backend.xp import CPU_ARRAY, xp_of
from ..autograd.node import Op
from ..random import bernoulli_
from ..tensor import Tensor, _wrap
from .inplace import inplace as run_inplace

__all__ = ["dropout"]


class _MulMask(Op):
    """x * mask (mask a constant array already scaled); backward g * mask."""

    higher_order = True  # g * mask works on Tensors

    @staticmethod
    def forward(ctx, x, mask):
        ctx.mask = mask
        return x * mask

    @staticmethod
    def backward(ctx, g):
        return g * ctx.mask, None


def check_p(p: float) -> None:
    if p < 0.0 or p > 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")


def _noise(shape, p: float, dt: np.dtype, xp, generator, like=None):
    """0/1 keep noise in ``dt``: on the CPU torch's ``bernoulli_(1 - p)`` of an empty tensor (the
    same draws as torch's CPU dropout); on CUDA CuPy's generator on the device (seeded by
    ``ember.cuda.manual_seed``), so a training step uploads nothing."""
    if xp is np:
        # laid out as ``like`` (torch's empty_like of the input), else C order (a feature mask)
        noise = _wrap(np.empty(shape, dt) if like is None else np.empty_like(like, dt))
        bernoulli_(noise, 1.0 - p, generator=generator)
        return noise._data
    return (xp.random.random_sample(shape, dtype=np.float32) >= p).astype(dt)


def _opmath(dt: np.dtype):
    """The type torch computes a scalar op in: float32 for float16/bfloat16, else the dtype."""
    return np.float32 if dt.itemsize < 4 else dt.type


def keep_mask(shape, p: float, dtype, xp=np, generator=None, like=None):
    """The scaled keep mask: 0 or 1 / (1 - p) in ``dtype``, i.e. torch's noise divided by
    (1 - p) (the division in float32 for the half types, as torch's scalar division)."""
    if p == 1.0:
        return xp.zeros(shape, dtype)
    dt = np.dtype(dtype)
    op = _opmath(dt)
    return _noise(shape, p, dt, xp, generator, like) * dt.type(op(1.0) / op(1.0 - p))


ALPHA = 1.7580993408473766  # SELU's -alpha' (scale * alpha)


def alpha_masks(shape, p: float, dtype, xp=np, generator=None, like=None):
    """(mul, add) for alpha dropout: the output is ``x * mul + add``, torch's arithmetic with
    one rounding per step in ``dtype``: kept elements scaled by a, dropped ones set to
    -alpha' * a plus the shift that keeps SELU's mean and variance."""
    dt = np.dtype(dtype)
    op = _opmath(dt)
    a = 1.0 / np.sqrt((ALPHA * ALPHA * p + 1) * (1 - p))

    def step(x, f):  # one torch scalar op: computed in opmath, stored in dt
        return f(x.astype(op, copy=False)).astype(dt, copy=False)

    noise = _noise(shape, p, dt, xp, generator, like)
    add = step(noise, lambda v: v + op(-1))
    add = step(add, lambda v: v * op(ALPHA * a))
    add = step(add, lambda v: v + op(ALPHA * a * p))
    return step(noise, lambda v: v * op(a)), add


def apply_mask(input: Tensor, mask, inplace: bool) -> Tensor:
    if type(input._data) is not CPU_ARRAY:
        mask = xp_of(input._data).asarray(mask)
    if inplace:
        return run_inplace(input, lambda t: _MulMask.apply(t, mask))
    return _MulMask.apply(input, mask)


def dropout(input: Tensor, p: float, train: bool) -> Tensor:
    """Zero elements with probability p and scale the rest by 1/(1-p) when ``train``, as
    torch.dropout."""
    check_p(p)
    if not train or p == 0.0 or input._data.size == 0:  # torch draws nothing then
        return input
    a = input._data
    return apply_mask(input, keep_mask(a.shape, p, a.dtype, xp_of(a), like=a), False)


class _NativeDropout(Op):
    """x * scaled mask; backward g * ``grad_mask``: torch.native_dropout's derivative scales by
    1 / (1 - p) only when ``train`` is given as True (None trains the forward, but its gradient
    is the bare mask)."""

    @staticmethod
    def forward(ctx, x, mask, grad_mask):
        ctx.mask = grad_mask
        return x * mask

    @staticmethod
    def backward(ctx, g):
        return g * ctx.mask, None, None


def native_dropout(input: Tensor, p: float, train: bool | None) -> tuple[Tensor, Tensor]:
    """(output, keep mask): dropout that draws its noise whenever it trains, even for p of 0
    or 1, and returns the boolean mask beside the output, as torch.native_dropout (``train``
    None trains, with torch's unscaled gradient)."""
    a = input._data
    xp = xp_of(a)
    if train is False:
        return _MulMask.apply(input, a.dtype.type(1)), _wrap(xp.ones(a.shape, bool))
    if not 0.0 <= p <= 1.0:
        raise RuntimeError(f"bernoulli_ expects p to be in [0, 1], but got p={1.0 - p}")
    noise = _noise(a.shape, p, a.dtype, xp, None, like=a)
    keep = _wrap(noise != 0)
    if p == 1.0:
        noise = xp.zeros_like(noise)
        return _MulMask.apply(input, noise), keep
    op = _opmath(a.dtype)
    mask = noise * a.dtype.type(op(1.0) / op(1.0 - p))
    return _NativeDropout.apply(input, mask, mask if train else noise), keep
