"""Embedding ops: rows of a weight picked by integer indices, and embedding_bag's sums, means
or maxima of those rows per bag, each in one node with a hand-written backward.

With ``sparse=True`` the weight's gradient is a sparse COO tensor, as torch's: one entry per
looked-up index, in input order and uncoalesced (padding_idx entries left out), holding the
incoming gradient row (for a bag, its bag's row, divided by the bag size for a mean and
multiplied by the per-sample weight). It is sparse only where the weight feeds its leaf's
``.grad`` (or ``autograd.grad``'s input) directly; through another op it stays dense, since
ember's other backwards take dense gradients only.
"""

from __future__ import annotations

import numpy as np

from .._backend import ufunc_methods
from .._backend.xp import xp_of
from ..autograd.node import AccumulateGrad, Op
from ..tensor import Tensor, _wrap
from .sparse import SparseTensor, sparse_coo_tensor


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


_SPARSE_FREQ = "embedding_backward: scale_grad_by_freq not supported with sparse gradients"


def _sparse_weight_grad(ctx, k: int) -> bool:
    """Whether the weight (input ``k`` of the node) gets a sparse gradient: asked for, and the
    weight a leaf whose accumulator takes it as is (see the module docstring)."""
    return ctx.sparse and type(ctx._next[k]) is AccumulateGrad


def _rows_grad(idx, rows, wshape) -> SparseTensor:
    """The sparse gradient of a (V, D) weight: entry i adds ``rows[i]`` to row ``idx[i]``."""
    return sparse_coo_tensor(_wrap(idx.reshape(1, -1)), _wrap(rows), wshape)


class _Embedding(Op):
    higher_order = True  # create_graph=True: the rows added by index_add, as Tensor ops

    @staticmethod
    def forward(ctx, idx, w, padding_idx, scale_grad, sparse=False):
        ctx.idx = idx
        ctx.wshape = w.shape
        ctx.pad = padding_idx
        ctx.scale = scale_grad
        ctx.sparse = sparse
        return w[idx]

    @staticmethod
    def backward(ctx, g):
        if isinstance(g, Tensor) and _sparse_weight_grad(ctx, 1):
            g = g._data  # a sparse gradient is a constant under create_graph=True, as before
        xp = xp_of(ctx.idx)
        idx = ctx.idx.reshape(-1)
        g2 = g.reshape(-1, ctx.wshape[1])
        if isinstance(g, Tensor):  # create_graph=True
            if ctx.scale:
                counts = xp.bincount(idx, minlength=ctx.wshape[0]).astype(g.dtype.np)
                g2 = g2 / _wrap(counts[idx][:, None])
            if ctx.pad is not None:
                g2 = g2 * _wrap((idx != ctx.pad)[:, None].astype(g.dtype.np))
            gw = g.new_zeros(ctx.wshape).index_add(0, _wrap(idx.astype(np.int64)), g2)
            return None, gw, None, None, None
        if _sparse_weight_grad(ctx, 1):
            if ctx.scale:
                raise RuntimeError(_SPARSE_FREQ)
            if ctx.pad is not None:
                keep = idx != ctx.pad
                idx, g2 = idx[keep], g2[keep]
            return None, _rows_grad(idx, g2, ctx.wshape), None, None, None
        gw = xp.zeros(ctx.wshape, g.dtype)
        if ctx.scale:
            counts = xp.bincount(idx, minlength=ctx.wshape[0]).astype(g.dtype)
            g2 = g2 / counts[idx][:, None]
        _add_rows(xp, gw, idx, g2)
        if ctx.pad is not None:
            gw[ctx.pad] = 0
        return None, gw, None, None, None


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
    def forward(
        ctx, w, psw, idx, bag, nbags, mode, stop=None, sparse=False, cut=False, scale=False
    ):
        # cut: indices past the last offset were left out (torch's fast-path sum); torch's
        # sparse backward then indexes its gradient out of range, and so raises here
        xp = xp_of(w)
        D = w.shape[1]
        rows = w[idx]
        if psw is not None:
            rows = rows * psw[:, None]
        counts = xp.bincount(bag, minlength=nbags).astype(w.dtype)
        ctx.meta = (idx, bag, nbags, mode, w.shape, counts)
        ctx.sparse, ctx.cut, ctx.scale = sparse, cut, scale
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
        nones = (None,) * 8
        if mode == "max":
            gw = xp.zeros(wshape, g.dtype)
            arg = ctx.arg
            b, c = xp.nonzero(arg < len(idx))
            _scatter_add(xp, gw, (idx[arg[b, c]], c), g[b, c])
            return (gw, None) + nones
        sparse = _sparse_weight_grad(ctx, 0)
        if sparse and ctx.scale:
            raise RuntimeError(_SPARSE_FREQ)
        if sparse and ctx.cut:
            raise IndexError("index out of range in self")
        w, psw = ctx.saved
        gr = g[bag]
        if mode == "mean":
            gr = gr / xp.maximum(counts, 1)[bag][:, None]
        gpsw = None
        if psw is not None:
            if ctx._needs[1]:
                gpsw = (gr * w[idx]).sum(1)
            gr = gr * psw[:, None]
        if sparse:
            return (_rows_grad(idx, gr, wshape), gpsw) + nones
        gw = xp.zeros(wshape, g.dtype)
        _scatter_add(xp, gw, idx, gr)
        return (gw, gpsw) + nones
