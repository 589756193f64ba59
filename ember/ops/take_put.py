"""Flat and masked indexing: take, put, masked_select, masked_scatter (re-exported by
gather.py, whose ``__all__`` lists them)."""

from __future__ import annotations

import numpy as np

from .._backend.xp import xp_of
from ..autograd.node import Op
from ..tensor import Tensor, _wrap
from . import _bw
from .gather import _finish, _fw, _pretty, add_at


# --- masked_select / take ------------------------------------------------------------------
class MaskedSelect(Op):
    higher_order = True

    @staticmethod
    def forward(ctx, a, mask):
        xp = xp_of(a)
        shape = np.broadcast_shapes(a.shape, mask.shape)
        ctx.shape, ctx.full, ctx.mask = a.shape, shape, xp.broadcast_to(mask, shape)
        return xp.broadcast_to(a, shape)[ctx.mask]

    @staticmethod
    def backward(ctx, g):
        if isinstance(g, Tensor):
            from .indexing import index_put_zeros

            z = index_put_zeros(g, ctx.full, (_wrap(ctx.mask)._data,))
            return _bw.sum_to(z, ctx.shape), None
        z = xp_of(g).zeros(ctx.full, g.dtype)
        z[ctx.mask] = g
        return _bw.sum_to(z, ctx.shape), None


def masked_select(input: Tensor, mask: Tensor, *, out=None) -> Tensor:
    """The elements of input where mask (broadcast) is True, as a 1-d tensor."""
    if mask._data.dtype != np.bool_:
        raise RuntimeError("masked_select: expected BoolTensor for mask")
    try:
        np.broadcast_shapes(input._data.shape, mask._data.shape)
    except ValueError:
        from .._tensor_errors import broadcast_error

        raise broadcast_error(input._data.shape, mask._data.shape) from None
    return _finish(MaskedSelect.apply(input, mask._data), out)


def masked_scatter(input: Tensor, mask: Tensor, source: Tensor) -> Tensor:
    """Copy of input with source's leading elements written where mask is True."""
    from .compare import where

    m = mask._data
    shape = np.broadcast_shapes(input._data.shape, m.shape)
    xp = xp_of(m)
    mb = xp.broadcast_to(m, shape)
    n = int(mb.sum())
    if n > source._data.size:
        raise RuntimeError(
            "masked_scatter: expected source to have at least as many elements as ones in mask"
        )
    pos = xp.zeros(shape, np.int64)
    pos[mb] = xp.arange(n)
    vals = take(source, _wrap(pos))
    return where(_wrap(mb), vals, input)


class Take(Op):
    higher_order = True

    @staticmethod
    def forward(ctx, a, idx):
        ctx.shape, ctx.idx = a.shape, idx
        return a.reshape(-1)[idx]

    @staticmethod
    def backward(ctx, g):
        n = int(np.prod(ctx.shape))
        if isinstance(g, Tensor):
            from .indexing import index_put_zeros

            return index_put_zeros(g, (n,), (ctx.idx,), accumulate=True).reshape(ctx.shape), None
        z = xp_of(g).zeros(n, g.dtype)
        add_at(z, (ctx.idx,), g)
        return z.reshape(ctx.shape), None


def take(input: Tensor, index: Tensor) -> Tensor:
    """Elements of the flattened input at ``index`` (negative indices count from the end)."""
    idx = index._data
    if idx.dtype.kind not in "iu":
        raise RuntimeError(
            "take(): Expected a long tensor for index, but got " + _pretty(idx.dtype)
        )
    n = input._data.size
    if idx.size and (idx.min() < -n or idx.max() >= n):
        bad = int(idx.min() if idx.min() < -n else idx.max())
        raise IndexError(f"out of range: tried to access index {bad} on a tensor of {n} elements.")
    if idx.size and idx.min() < 0:
        idx = xp_of(idx).where(idx < 0, idx + n, idx)
    return Take.apply(input, idx)


class Put(Op):
    higher_order = True

    @staticmethod
    def forward(ctx, a, idx, src, accumulate):
        ctx.idx, ctx.acc, ctx.sshape = idx, accumulate, src.shape
        out = a.copy()
        flat = out.reshape(-1)
        if accumulate:
            add_at(flat, (idx,), src.reshape(-1))
        else:
            flat[idx] = src.reshape(-1)
        return out

    @staticmethod
    def backward(ctx, g):
        n = ctx._needs
        ga = gs = None
        if n[0]:
            if ctx.acc:
                ga = g
            elif isinstance(g, Tensor):
                from .creation import zeros

                z = zeros(ctx.sshape, dtype=g.dtype, device=g.device)
                ga = Put.apply(g, ctx.idx, z, False)
            else:
                ga = _fw(Put, g, ctx.idx, xp_of(g).zeros(ctx.sshape, g.dtype), False)
        if n[2]:
            gs = (
                Take.apply(g, ctx.idx) if isinstance(g, Tensor) else g.reshape(-1)[ctx.idx]
            ).reshape(ctx.sshape)
        return ga, None, gs, None


def put(input: Tensor, index: Tensor, source: Tensor, accumulate: bool = False) -> Tensor:
    """Copy of input with source written (or added) at the flat positions ``index``."""
    idx = index._data
    if idx.dtype.kind not in "iu":
        raise RuntimeError(
            "put_(): Expected a long tensor for index, but got " + _pretty(idx.dtype)
        )
    if source._data.size != idx.size:
        raise IndexError(
            f"put_(): Expected source and index to have the same number of "
            f"elements, but got source.numel() = {source._data.size}, "
            f"index.numel() = {idx.size}"
        )
    if source._data.dtype != input._data.dtype:
        raise RuntimeError(
            f"put_(): self and source expected to have the same dtype, but got "
            f"self.dtype = {_pretty(input._data.dtype)} and source.dtype = "
            f"{_pretty(source._data.dtype)}"
        )
    n = input._data.size
    idx = idx.reshape(-1)
    if idx.size and (idx.min() < -n or idx.max() >= n):
        bad = int(idx.min() if idx.min() < -n else idx.max())
        raise IndexError(f"out of range: tried to access index {bad} on a tensor of {n} elements.")
    if idx.size and idx.min() < 0:
        idx = xp_of(idx).where(idx < 0, idx + n, idx)
    return Put.apply(input, idx, source, accumulate)
