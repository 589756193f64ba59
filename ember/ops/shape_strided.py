"""Strided views (re-exported by shape.py): diagonal and unfold read the input through
as_strided, and their backwards write into zeros through the same views."""

from __future__ import annotations

from .._backend.xp import xp_of
from ..autograd.node import Op
from ..tensor import Tensor, check_dim
from .shape import as_view

__all__ = ["diagonal"]  # unfold is a Tensor method only, as in torch


# --- strided views: diagonal, unfold ----------------------------------------------------------
def _as_strided(a, shape, strides):
    return xp_of(a).lib.stride_tricks.as_strided(a, shape, strides)


def diag_view(a, offset: int, d1: int, d2: int):
    """A writable view of the ``offset`` diagonal of dims ``d1``/``d2`` (moved to the end)."""
    n1, n2 = a.shape[d1], a.shape[d2]
    if offset >= 0:
        length = max(0, min(n1, n2 - offset))
        key = (slice(None),) * d2 + (slice(offset, None),) if length else ()
    else:
        length = max(0, min(n1 + offset, n2))
        key = (slice(None),) * d1 + (slice(-offset, None),) if length else ()
    base = a[key] if key else a
    keep = [k for k in range(a.ndim) if k not in (d1, d2)]
    shape = tuple(a.shape[k] for k in keep) + (length,)
    strides = tuple(a.strides[k] for k in keep) + (a.strides[d1] + a.strides[d2],)
    return _as_strided(base, shape, strides)


def _diag_dims(nd: int, offset: int, dim1: int, dim2: int):
    d1, d2 = check_dim(dim1, nd), check_dim(dim2, nd)
    if d1 == d2:
        raise RuntimeError(f"diagonal dimensions cannot be identical {dim1}, {dim2}")
    return int(offset), d1, d2


class Diagonal(Op):
    higher_order = True

    @staticmethod
    def forward(ctx, a, offset, d1, d2):
        ctx.shape, ctx.args = a.shape, (offset, d1, d2)
        return diag_view(a, offset, d1, d2)

    @staticmethod
    def backward(ctx, g):
        return (
            DiagScatter.apply(g, ctx.shape, *ctx.args)
            if isinstance(g, Tensor)
            else DiagScatter.forward(None, g, ctx.shape, *ctx.args),
            None,
            None,
            None,
        )


class DiagScatter(Op):
    """zeros(shape) with ``g`` written on a diagonal (diagonal's backward, diag, diag_embed)."""

    higher_order = True

    @staticmethod
    def forward(ctx, g, shape, offset, d1, d2):
        if ctx is not None:
            ctx.args = (offset, d1, d2)
        z = xp_of(g).zeros(shape, g.dtype)
        diag_view(z, offset, d1, d2)[...] = g
        return z

    @staticmethod
    def backward(ctx, gg):
        r = Diagonal.apply(gg, *ctx.args) if isinstance(gg, Tensor) else diag_view(gg, *ctx.args)
        return r, None, None, None, None


def diagonal(input: Tensor, offset: int = 0, dim1: int = 0, dim2: int = 1) -> Tensor:
    """A view of the diagonal of dims ``dim1``/``dim2`` (moved to the last dim)."""
    off, d1, d2 = _diag_dims(input._data.ndim, offset, dim1, dim2)
    return as_view(Diagonal.apply(input, off, d1, d2), input)


class Unfold(Op):
    higher_order = True

    @staticmethod
    def forward(ctx, a, d, size, step):
        ctx.shape, ctx.args = a.shape, (d, size, step)
        if a.ndim == 0:
            return a.reshape(1)
        nw = (a.shape[d] - size) // step + 1
        shape = a.shape[:d] + (nw,) + a.shape[d + 1 :] + (size,)
        st = a.strides
        strides = st[:d] + (st[d] * step,) + st[d + 1 :] + (st[d],)
        return _as_strided(a, shape, strides)

    @staticmethod
    def backward(ctx, g):
        if isinstance(g, Tensor):
            return UnfoldBackward.apply(g, ctx.shape, *ctx.args), None, None, None
        return UnfoldBackward.forward(None, g, ctx.shape, *ctx.args), None, None, None


class UnfoldBackward(Op):
    """Sum the windows back onto the input's positions (unfold's adjoint)."""

    higher_order = True

    @staticmethod
    def forward(ctx, g, shape, d, size, step):
        if ctx is not None:
            ctx.args = (d, size, step)
        if not shape:
            return g.reshape(())
        z = xp_of(g).zeros(shape, g.dtype)
        nw = g.shape[d]
        for j in range(size):
            key = (slice(None),) * d + (slice(j, j + step * (nw - 1) + 1, step),)
            z[key] += g[..., j]
        return z

    @staticmethod
    def backward(ctx, gg):
        r = (
            Unfold.apply(gg, *ctx.args)
            if isinstance(gg, Tensor)
            else Unfold.forward(_NoCtx(), gg, *ctx.args)
        )
        return r, None, None, None, None


class _NoCtx:
    pass


def unfold(input: Tensor, dimension: int, size: int, step: int) -> Tensor:
    """A view of all windows of ``size`` along ``dimension`` every ``step`` (new last dim)."""
    a = input._data
    d = check_dim(dimension, a.ndim)
    n = a.shape[d] if a.ndim else 1
    if size > n:
        raise RuntimeError(f"maximum size for tensor at dimension {d} is {n} but size is {size}")
    if size < 0:
        raise RuntimeError(f"size is {size} but must be >= 0")
    if step <= 0:
        raise RuntimeError(f"step is {step} but must be > 0")
    return as_view(Unfold.apply(input, d, size, step), input)
