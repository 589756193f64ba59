"""Embedding ops: rows of a weight picked by integer indices, and embedding_bag's sums, means
or maxima of those rows per bag, each in one node with a hand-written backward."""

from __future__ import annotations

import numpy as np

from .._backend import ufunc_methods
from .._backend.xp import xp_of
from ..autograd.node import Op
from ..tensor import Tensor


def _scatter_add(xp, dst, idx, src) -> None:
    """dst[idx] += src with repeated indices accumulating (``add.at``: NumPy, CuPy >= 13)."""
    xp.add.at(dst, idx, src)


_ONEHOT_MAX = 1 << 17  # vocabulary x indices up to which the one-hot product is used


def _add_rows(xp, dst, idx, src) -> None:
    """dst[idx] += src for 1-d ``idx`` and 2-d ``src``, repeated rows accumulating. On the CPU
    without ``add.at`` (one Python-speed step per index in NumPy): a one-hot matrix product for
    small vocabularies, else a stable sort of the indices and one ``add.reduceat`` per run of
    equal indices (the sums then come in index order: deterministic)."""
    n = idx.shape[0]
    if xp is not np or dst.dtype.kind != "f" or n == 0:
        _scatter_add(xp, dst, idx, src)
        return
    V = dst.shape[0]
    if V * n <= _ONEHOT_MAX and dst.dtype.itemsize >= 4:
        onehot = np.zeros((V, n), dst.dtype)
        onehot[idx, np.arange(n)] = 1
        dst += onehot @ src
        return
    order = np.argsort(idx, kind="stable")
    s = idx[order]
    first = np.empty(n, bool)
    first[0] = True
    np.not_equal(s[1:], s[:-1], out=first[1:])
    starts = np.flatnonzero(first)
    dst[s[starts]] += np.add.reduceat(src[order], starts, axis=0)


class _Embedding(Op):
    @staticmethod
    def forward(ctx, idx, w, padding_idx, scale_grad):
        ctx.idx = idx
        ctx.wshape = w.shape
        ctx.pad = padding_idx
        ctx.scale = scale_grad
        return w[idx]

    @staticmethod
    def backward(ctx, g):
        xp = xp_of(g)
        idx = ctx.idx.reshape(-1)
        g2 = g.reshape(-1, ctx.wshape[1])
        gw = xp.zeros(ctx.wshape, g.dtype)
        if ctx.scale:
            counts = xp.bincount(idx, minlength=ctx.wshape[0]).astype(g.dtype)
            g2 = g2 / counts[idx][:, None]
        _add_rows(xp, gw, idx, g2)
        if ctx.pad is not None:
            gw[ctx.pad] = 0
        return None, gw, None, None


def renorm_rows(weight: Tensor, idx, max_norm: float, norm_type: float) -> None:
    w = weight._data
    xp = xp_of(w)
    rows = xp.unique(idx.reshape(-1))
    norms = (xp.abs(w[rows]) ** norm_type).sum(1) ** (1.0 / norm_type)
    scale = xp.where(norms > max_norm, max_norm / (norms + 1e-7), 1.0).astype(w.dtype)
    w[rows] *= scale[:, None]
    weight._bump()


def bag_of_positions(off, n: int, include_last_offset: bool) -> tuple:
    """embedding_bag's bag number for each of ``n`` indices from its 1-d ``offsets`` array (-1
    for none: with include_last_offset, zero bags when there is one offset), and the bag count;
    torch's errors for offsets it refuses."""
    xp = xp_of(off)
    if include_last_offset and len(off) == 0:
        raise RuntimeError("include_last_offset: number of offset should be at least 1")
    if len(off) and int(off[0]) != 0:
        raise RuntimeError(
            "offsets[0] has to be 0, i.e., the first sequence in the mini-batch has to start "
            f"from position 0. However, got {int(off[0])}"
        )
    if len(off) and int(off[-1]) > n:
        raise RuntimeError(
            f"offsets[-1] can not be greater than input's length {n} but got offsets[-1] of "
            f"{int(off[-1])}"
        )
    starts = off[:-1] if include_last_offset else off
    return xp.searchsorted(starts, xp.arange(n), side="right") - 1, len(starts)


class _EmbeddingBag(Op):
    @staticmethod
    def forward(ctx, w, psw, idx, bag, nbags, mode, stop=None):
        xp = xp_of(w)
        D = w.shape[1]
        rows = w[idx]
        if psw is not None:
            rows = rows * psw[:, None]
        counts = xp.bincount(bag, minlength=nbags).astype(w.dtype)
        ctx.meta = (idx, bag, nbags, mode, w.shape, counts)
        if mode == "max":
            out = xp.full((nbags, D), -xp.inf, w.dtype)
            ufunc_methods.at(xp.maximum, out, bag, rows)
            out[counts == 0] = 0
            # the first winning index per (bag, column), for the backward
            j, col = xp.nonzero(rows == out[bag])
            first = xp.full((nbags, D), len(idx), np.int64)
            ufunc_methods.at(xp.minimum, first, (bag[j], col), j)
            ctx.arg = first
            return out
        out = xp.zeros((nbags, D), w.dtype)
        # stop: the forward adds only the first ``stop`` rows, the backward reaches them all
        # (torch's fast-path mean past include_last_offset's last offset)
        _scatter_add(xp, out, bag[:stop], rows[:stop])
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
            return gw, None, None, None, None, None, None
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
        return gw, gpsw, None, None, None, None, None
