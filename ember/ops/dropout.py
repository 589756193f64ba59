"""Dropout's op: the input times a constant keep mask already scaled by 1 / (1 - p), and the
mask itself (drawn on the input's device). The public dropout family is in
``ember.nn.functional``; ``dropout(input, p, train)`` here is torch.dropout."""

from __future__ import annotations

import numpy as np

from .._backend.xp import CPU_ARRAY, xp_of
from ..autograd.node import Op
from ..random import _gen
from ..tensor import Tensor
from .inplace import inplace as run_inplace

__all__ = ["dropout"]


class _MulMask(Op):
    """x * mask (mask a constant array already scaled); backward g * mask."""

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


def keep_mask(shape, p: float, dtype, xp=np):
    """The scaled keep mask; on CUDA drawn by CuPy's generator on the device (seeded by
    ``ember.cuda.manual_seed``), so a training step uploads nothing."""
    if p == 1.0:
        return xp.zeros(shape, dtype)
    if xp is np:
        keep = _gen(None).random(shape, dtype=np.float32) >= p
        return keep.astype(dtype) * np.asarray(1.0 / (1.0 - p), dtype)
    keep = xp.random.random_sample(shape, dtype=np.float32) >= p
    return keep.astype(dtype) * np.dtype(dtype).type(1.0 / (1.0 - p))  # a scalar: no upload


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
    if not train or p == 0.0:
        return input
    a = input._data
    return apply_mask(input, keep_mask(a.shape, p, a.dtype, xp_of(a)), False)
