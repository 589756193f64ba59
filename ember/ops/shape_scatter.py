"""The *_scatter ops (re-exported by shape_extra.py and shape.py): copies of the input with a
selected index, slice or diagonal replaced by ``src``, differentiable in both."""

from __future__ import annotations

from .._tensor_errors import check_dim
from ..autograd.node import Op
from ..tensor import Tensor
from .shape import DiagScatter, _diag_dims

__all__ = ["select_scatter", "slice_scatter", "diagonal_scatter"]


def _scatter_into(input: Tensor, src: Tensor, key) -> Tensor:
    from .indexing import SetItem

    if src._data.dtype != input._data.dtype:
        src = src.to(input.dtype)
    return SetItem.apply(input, src, key)


def select_scatter(input: Tensor, src: Tensor, dim: int, index: int) -> Tensor:
    """Copy of input with ``input.select(dim, index)`` replaced by src."""
    d = check_dim(dim, input._data.ndim)
    n = input._data.shape[d]
    if not -n <= index < n:
        raise IndexError(
            f"select(): index {index} out of range for tensor of size "
            f"{list(input._data.shape)} at dimension {d}"
        )
    expect = input._data.shape[:d] + input._data.shape[d + 1 :]
    if tuple(src._data.shape) != expect:
        raise RuntimeError(
            f"expected src to have a size equal to the slice of self. src size = "
            f"{list(src._data.shape)}, slice size = {list(expect)}"
        )
    return _scatter_into(input, src, (slice(None),) * d + (index % n,))


def slice_scatter(
    input: Tensor, src: Tensor, dim: int = 0, start=None, end=None, step: int = 1
) -> Tensor:
    """Copy of input with the slice start:end:step along ``dim`` replaced by src."""
    d = check_dim(dim, input._data.ndim)
    key = (slice(None),) * d + (slice(start, end, step),)
    expect = input._data[key].shape
    if tuple(src._data.shape) != expect:
        raise RuntimeError(
            f"expected src to have a size equal to the slice of self. src size = "
            f"{list(src._data.shape)}, slice size = {list(expect)}"
        )
    return _scatter_into(input, src, key)


class DiagonalScatter(Op):
    higher_order = True

    @staticmethod
    def forward(ctx, a, src, offset, d1, d2):
        from .shape import diag_view

        ctx.args = (offset, d1, d2)
        out = a.copy()
        diag_view(out, offset, d1, d2)[...] = src
        return out

    @staticmethod
    def backward(ctx, g):
        from .shape import Diagonal, diag_view

        n = ctx._needs
        ga = gs = None
        if isinstance(g, Tensor):
            d = Diagonal.apply(g, *ctx.args)
            if n[0]:
                ga = g - DiagScatter.apply(d, tuple(g.shape), *ctx.args)
            return ga, (d if n[1] else None), None, None, None
        if n[0]:
            ga = g.copy()
            diag_view(ga, *ctx.args)[...] = 0
        if n[1]:
            gs = diag_view(g, *ctx.args).copy()
        return ga, gs, None, None, None


def diagonal_scatter(
    input: Tensor, src: Tensor, offset: int = 0, dim1: int = 0, dim2: int = 1
) -> Tensor:
    """Copy of input with a diagonal (as torch.diagonal selects it) replaced by src."""
    from .shape import diagonal

    expect = tuple(diagonal(input.detach(), offset, dim1, dim2)._data.shape)
    if tuple(src._data.shape) != expect:
        raise RuntimeError(
            f"expected src to have a size equal to the slice of self. src size = "
            f"{list(src._data.shape)}, slice size = {list(expect)}"
        )
    off, d1, d2 = _diag_dims(input._data.ndim, offset, dim1, dim2)
    if src._data.dtype != input._data.dtype:
        src = src.to(input.dtype)
    return DiagonalScatter.apply(input, src, off, d1, d2)
