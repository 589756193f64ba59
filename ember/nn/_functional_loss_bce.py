"""Binary cross entropy losses (re-exported by _functional_loss.py): fused ops with hand-written
backward, on probabilities and on logits."""

from __future__ import annotations

import numpy as np

from .._backend.xp import xp_of
from ..autograd.node import Op
from ..ops import _bw
from ..tensor import Tensor
from ._functional_loss import _check_reduction, _legacy_reduction

__all__ = ["binary_cross_entropy", "binary_cross_entropy_with_logits"]


class _BCE(Op):
    save_in = (0, 1)

    @staticmethod
    def forward(ctx, x, t, w, red):
        xp = xp_of(x)
        if x.size and ((x < 0).any() or (x > 1).any()):
            raise RuntimeError("all elements of input should be between 0 and 1")
        lx = xp.maximum(xp.log(x), -100)
        l1x = xp.maximum(xp.log1p(-x), -100)
        loss = -(t * lx + (1 - t) * l1x)
        if w is not None:
            loss = loss * w
        ctx.saved = (x, t, w, lx, l1x)
        ctx.red = red
        loss = loss.astype(x.dtype, copy=False)
        if red == "none":
            return loss
        return loss.sum() if red == "sum" else loss.mean()

    @staticmethod
    def backward(ctx, g):
        x, t, w, lx, l1x = ctx.saved
        xp = xp_of(x)
        if ctx.red == "mean":
            g = g / x.dtype.type(max(x.size, 1))
        gx = g * (x - t) / xp.maximum((1 - x) * x, x.dtype.type(1e-12))
        if w is not None:
            gx = gx * w
        gt = None
        if ctx._needs[1]:
            gt = g * (l1x - lx)
            if w is not None:
                gt = gt * w
            gt = _bw.sum_to(gt, t.shape)
        return _bw.sum_to(gx, x.shape).astype(x.dtype, copy=False), gt, None, None


def binary_cross_entropy(
    input: Tensor,
    target: Tensor,
    weight: Tensor | None = None,
    size_average=None,
    reduce=None,
    reduction: str = "mean",
) -> Tensor:
    """-(t log x + (1 - t) log(1 - x)), logs clamped at -100."""
    reduction = _legacy_reduction(size_average, reduce, reduction)
    _check_reduction(reduction)
    if tuple(target.shape) != tuple(input.shape):
        raise ValueError(
            f"Using a target size ({target.shape}) that is different to the input "
            f"size ({input.shape}) is deprecated. Please ensure they have the same "
            "size."
        )
    w = weight._data if weight is not None else None
    return _BCE.apply(input, target, w, reduction)


class _BCELogits(Op):
    save_in = (0, 1)

    @staticmethod
    def forward(ctx, x, t, w, pw, red):
        xp = xp_of(x)
        sp = xp.logaddexp(0, -x).astype(x.dtype, copy=False)  # softplus(-x), stable
        if pw is not None:
            lw = (pw - 1) * t + 1
            loss = (1 - t) * x + lw * sp
        else:
            lw = None
            loss = (1 - t) * x + sp
        if w is not None:
            loss = loss * w
        ctx.saved = (x, t, w, pw, lw, sp)
        ctx.red = red
        loss = loss.astype(x.dtype, copy=False)
        if red == "none":
            return loss
        return loss.sum() if red == "sum" else loss.mean()

    @staticmethod
    def backward(ctx, g):
        x, t, w, pw, lw, sp = ctx.saved
        xp = xp_of(x)
        if ctx.red == "mean":
            g = g / x.dtype.type(max(x.size, 1))
        with np.errstate(over="ignore"):
            sig_neg = (1 / (1 + xp.exp(x))).astype(x.dtype, copy=False)  # sigmoid(-x)
        d = (1 - t) - (lw if lw is not None else 1) * sig_neg
        if w is not None:
            d = d * w
        gx = _bw.sum_to(g * d, x.shape).astype(x.dtype, copy=False)
        gt = None
        if ctx._needs[1]:
            dt_ = -x + ((pw - 1) * sp if pw is not None else 0)
            if w is not None:
                dt_ = dt_ * w
            gt = _bw.sum_to(g * dt_, t.shape)
        return gx, gt, None, None, None


def binary_cross_entropy_with_logits(
    input: Tensor,
    target: Tensor,
    weight: Tensor | None = None,
    size_average=None,
    reduce=None,
    reduction: str = "mean",
    pos_weight: Tensor | None = None,
) -> Tensor:
    """Sigmoid + binary cross entropy in one stable op (log-sum-exp form)."""
    reduction = _legacy_reduction(size_average, reduce, reduction)
    _check_reduction(reduction)
    if tuple(target.shape) != tuple(input.shape):
        raise ValueError(
            f"Target size ({target.shape}) must be the same as input size ({input.shape})"
        )
    w = weight._data if weight is not None else None
    pw = pos_weight._data if pos_weight is not None else None
    return _BCELogits.apply(input, target, w, pw, reduction)
