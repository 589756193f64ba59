"""embedding_bag: sums, means or maxima of embedding rows per bag, in one node."""

from __future__ import annotations

import numpy as np

from .._backend.xp import xp_of
from ..autograd.node import Op
from ..tensor import Tensor, _wrap
from ._functional_basic import _renorm_rows, _scatter_add

__all__ = ["embedding_bag"]


class _EmbeddingBag(Op):
    @staticmethod
    def forward(ctx, w, psw, idx, bag, nbags, mode):
        xp = xp_of(w)
        D = w.shape[1]
        rows = w[idx]
        if psw is not None:
            rows = rows * psw[:, None]
        counts = xp.bincount(bag, minlength=nbags).astype(w.dtype)
        ctx.meta = (idx, bag, nbags, mode, w.shape, counts)
        if mode == "max":
            out = xp.full((nbags, D), -xp.inf, w.dtype)
            xp.maximum.at(out, bag, rows)
            out[counts == 0] = 0
            # the first winning index per (bag, column), for the backward
            j, col = xp.nonzero(rows == out[bag])
            first = xp.full((nbags, D), len(idx), np.int64)
            xp.minimum.at(first, (bag[j], col), j)
            ctx.arg = first
            return out
        out = xp.zeros((nbags, D), w.dtype)
        _scatter_add(xp, out, bag, rows)
        if mode == "mean":
            out /= xp.maximum(counts, 1)[:, None]
        ctx.saved = (w, psw)
        return out

    @staticmethod
    def backward(ctx, g):
        xp = xp_of(g)
        idx, bag, nbags, mode, wshape, counts = ctx.meta
        gw = xp.zeros(wshape, g.dtype)
        if mode == "max":
            arg = ctx.arg
            b, c = xp.nonzero(arg < len(idx))
            _scatter_add(xp, gw, (idx[arg[b, c]], c), g[b, c])
            return gw, None, None, None, None, None
        w, psw = ctx.saved
        gr = g[bag]
        if mode == "mean":
            gr = gr / xp.maximum(counts, 1)[bag][:, None]
        gpsw = None
        if psw is not None:
            if ctx._needs[1]:
                gpsw = (gr * w[idx]).sum(1)
            gr = gr * psw[:, None]
        _scatter_add(xp, gw, idx, gr)
        return gw, gpsw, None, None, None, None


def embedding_bag(
    input: Tensor,
    weight: Tensor,
    offsets: Tensor | None = None,
    max_norm: float | None = None,
    norm_type: float = 2,
    scale_grad_by_freq: bool = False,
    mode: str = "mean",
    sparse: bool = False,
    per_sample_weights: Tensor | None = None,
    include_last_offset: bool = False,
    padding_idx: int | None = None,
) -> Tensor:
    """Reduce (sum, mean or max) the embedding rows of each bag of indices."""
    if mode not in ("sum", "mean", "max"):
        raise ValueError(f"mode has to be one of sum, mean or max, but got {mode}")
    if per_sample_weights is not None and mode != "sum":
        raise NotImplementedError(
            "embedding_bag: per_sample_weights was not None. "
            "per_sample_weights is only supported for mode='sum' (got "
            f"mode='{mode}'). Please open a feature request on GitHub."
        )
    a = input._data
    xp = xp_of(a)
    psw = per_sample_weights
    if a.ndim == 2:
        if offsets is not None:
            raise ValueError(
                "if input is 2D, then offsets has to be None, as input is treated "
                "is a mini-batch of fixed length sequences. However, found "
                f"offsets of type {type(offsets).__name__}"
            )
        nbags, L = a.shape
        idx = a.reshape(-1)
        bag = xp.repeat(xp.arange(nbags), L)
        if psw is not None:
            psw = psw.reshape(-1)
    else:
        if offsets is None:
            raise ValueError("offsets has to be a 1D Tensor but got None")
        off = offsets._data.astype(np.int64)
        idx = a
        if include_last_offset:
            off = off[:-1]
        nbags = len(off)
        bounds = xp.concatenate([off, xp.asarray([len(idx)])])
        bag = xp.repeat(xp.arange(nbags), xp.diff(bounds))
    n = weight._data.shape[0]
    if idx.size and (idx.max() >= n or idx.min() < 0):
        raise IndexError("index out of range in self")
    if padding_idx is not None and padding_idx < 0:
        padding_idx += n
    if max_norm is not None:
        _renorm_rows(weight, idx, max_norm, norm_type)
    if padding_idx is not None:
        keep = idx != padding_idx
        idx, bag = idx[keep], bag[keep]
        if psw is not None:
            psw = psw[_wrap(keep)]
    return _EmbeddingBag.apply(weight, psw, idx, bag, nbags, mode)
