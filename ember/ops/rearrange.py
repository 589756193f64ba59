"""Rearrangements: copies of the input with its elements reordered, repeated, masked or
replaced: flip/fliplr/flipud, roll, rot90, repeat, tile, repeat_interleave, tril/triu,
diag/diag_embed/diagflat, fill_diagonal_ and the *_scatter ops (select_scatter, slice_scatter,
diagonal_scatter). Backwards are duck-typed where the adjoint is another op here, so they
support higher-order gradients.

Borderline choices, one line each:
- diag copies a diagonal (diagonal, the view, is in view.py); the diag ops share DiagScatter.
- diff is built from narrow and cat; cumulative.py (beside cumsum, its inverse) would also fit.
"""

from __future__ import annotations

import numpy as np

from .. import dtypes
from .._backend.xp import xp_of
from .._tensor_errors import check_dim
from ..autograd.node import Op
from ..tensor import Size, Tensor, _wrap
from .gather import index_select, masked_fill
from .indexing import SetItem
from .inplace import copy_into_out, inplace
from .join import cat
from .reduction import rev
from .view import Diagonal, DiagScatter, _diag_dims, _NoCtx, diag_view, narrow, reshape
from .view import diagonal as _diagonal  # diag's own parameter is named diagonal

__all__ = [
    "gradient",
    "flip",
    "fliplr",
    "flipud",
    "roll",
    "rot90",
    "tile",
    "repeat_interleave",
    "tril",
    "triu",
    "diag",
    "diag_embed",
    "diagflat",
    "select_scatter",
    "slice_scatter",
    "diagonal_scatter",
    "diff",
]


def _dims_list(dims, nd: int) -> tuple:
    dims = (dims,) if isinstance(dims, int) else tuple(dims)
    out = tuple(check_dim(d, nd) for d in dims)
    if len(set(out)) != len(out):
        raise RuntimeError(f"dim {out[0]} appears multiple times in the list of dims")
    return out


# --- flip / roll / rot90 --------------------------------------------------------------------
class Flip(Op):
    higher_order = True

    @staticmethod
    def forward(ctx, a, dims):
        ctx.dims = dims
        return rev(a, dims).copy() if dims else a.copy()

    @staticmethod
    def backward(ctx, g):
        if isinstance(g, Tensor):
            return Flip.apply(g, ctx.dims), None
        return (rev(g, ctx.dims) if ctx.dims else g), None


def flip(input: Tensor, dims) -> Tensor:
    """A copy with the order of elements reversed along ``dims``."""
    nd = input._data.ndim
    dims = _dims_list(dims, nd)
    return Flip.apply(input, dims if nd else ())


def fliplr(input: Tensor) -> Tensor:
    """Reverse the columns (dim 1)."""
    if input._data.ndim < 2:
        raise RuntimeError("Input must be >= 2-d.")
    return flip(input, (1,))


def flipud(input: Tensor) -> Tensor:
    """Reverse the rows (dim 0)."""
    if input._data.ndim < 1:
        raise RuntimeError("Input must be >= 1-d.")
    return flip(input, (0,))


class Roll(Op):
    higher_order = True

    @staticmethod
    def forward(ctx, a, shifts, dims):
        ctx.shifts, ctx.dims = shifts, dims
        if dims is None:
            return xp_of(a).roll(a.reshape(-1), shifts[0]).reshape(a.shape)
        return xp_of(a).roll(a, shifts, dims)

    @staticmethod
    def backward(ctx, g):
        neg = tuple(-s for s in ctx.shifts)
        if isinstance(g, Tensor):
            return Roll.apply(g, neg, ctx.dims), None, None
        return Roll.forward(_NoCtx(), g, neg, ctx.dims), None, None


def roll(input: Tensor, shifts, dims=None) -> Tensor:
    """Shift elements circularly along ``dims`` (the flattened tensor when dims is None)."""
    shifts = (shifts,) if isinstance(shifts, int) else tuple(int(s) for s in shifts)
    if dims is None:
        if len(shifts) != 1:
            raise RuntimeError(f"shifts and dimensions must align. shifts: {len(shifts)}, dims:0")
        return Roll.apply(input, shifts, None)
    dims = (dims,) if isinstance(dims, int) else tuple(dims)
    if len(shifts) != len(dims):
        raise RuntimeError(
            f"shifts and dimensions must align. shifts: {len(shifts)}, dims:{len(dims)}"
        )
    nd = input._data.ndim
    dims = tuple(check_dim(d, nd) for d in dims)
    if nd == 0:
        return Roll.apply(input, shifts[:1], None)
    return Roll.apply(input, shifts, dims)


def rot90(input: Tensor, k: int = 1, dims=(0, 1)) -> Tensor:
    """Rotate by 90 degrees ``k`` times in the plane of ``dims``."""
    nd = input._data.ndim
    if len(dims) != 2:
        raise RuntimeError(f"expected total rotation dims == 2, but got dims = {len(dims)}")
    if nd < 2:
        raise RuntimeError(f"expected total dims >= 2, but got total dims = {nd}")
    d0, d1 = check_dim(dims[0], nd), check_dim(dims[1], nd)
    if d0 == d1:
        raise RuntimeError(
            f"expected rotation dims to be different, but got dim0 = {d0} and dim1 = {d1}"
        )
    k %= 4
    if k == 1:
        return flip(input, (d1,)).transpose(d0, d1)
    if k == 2:
        return flip(input, (d0, d1))
    if k == 3:
        return flip(input, (d0,)).transpose(d0, d1)
    return input.clone()


# --- repeat / tile / repeat_interleave ------------------------------------------------------
class Repeat(Op):
    higher_order = True

    @staticmethod
    def forward(ctx, a, reps):
        shp = (1,) * (len(reps) - a.ndim) + a.shape
        ctx.ishape, ctx.shp, ctx.reps = a.shape, shp, reps
        return xp_of(a).tile(a.reshape(shp), reps)

    @staticmethod
    def backward(ctx, g):
        inter = []
        for r, n in zip(ctx.reps, ctx.shp):
            inter += [r, n]
        axes = tuple(range(0, 2 * len(ctx.reps), 2))
        g = g.reshape(tuple(inter))
        g = g.sum(axes) if axes else g
        return g.reshape(ctx.ishape), None


def repeat(input: Tensor, *sizes) -> Tensor:
    """Tile the tensor ``sizes[i]`` times along each dim (Tensor.repeat)."""
    if len(sizes) == 1 and isinstance(sizes[0], (tuple, list, Size)):
        sizes = sizes[0]
    reps = tuple(int(s) for s in sizes)
    if len(reps) < input._data.ndim:
        raise RuntimeError(
            "Number of dimensions of repeat dims can not be smaller than number "
            "of dimensions of tensor"
        )
    shp = (1,) * (len(reps) - input._data.ndim) + input._data.shape
    new = [r * n for r, n in zip(reps, shp)]
    bad = [n for n in new if n < 0]
    if bad:
        raise RuntimeError(f"Trying to create tensor with negative dimension {bad[0]}: {new}")
    return Repeat.apply(input, reps)


def tile(input: Tensor, dims) -> Tensor:
    """Repeat the tensor along each dim (missing leading reps count as 1)."""
    reps = (dims,) if isinstance(dims, int) else tuple(dims)
    nd = input._data.ndim
    reps = (1,) * (nd - len(reps)) + reps
    return Repeat.apply(input, reps)


def repeat_interleave(
    input: Tensor, repeats=None, dim: int | None = None, *, output_size: int | None = None
) -> Tensor:
    """Repeat each element (or slice along ``dim``) ``repeats`` times, in place of order."""
    if repeats is None:
        r = input._host()
        return _wrap(
            xp_of(input._data).asarray(np.repeat(np.arange(r.shape[0]), r).astype(np.int64))
        )
    if dim is None:
        input = reshape(input, (-1,))
        d = 0
    else:
        d = check_dim(dim, input._data.ndim)
    n = input._data.shape[d] if input._data.ndim else 1
    if isinstance(repeats, Tensor):
        reps = repeats._host()
        if reps.ndim == 1 and reps.shape[0] == 1:
            reps = reps.reshape(())
        if reps.ndim and reps.shape[0] != n:
            raise RuntimeError(
                f"repeats must have the same size as input along dim, but got "
                f"repeats.size(0) = {reps.shape[0]} and input.size({d}) = {n}"
            )
    else:
        reps = int(repeats)
    if np.any(np.asarray(reps) < 0):
        raise RuntimeError("repeats can not be negative")
    idx = xp_of(input._data).asarray(np.repeat(np.arange(n), reps).astype(np.int64))
    if input._data.ndim == 0:
        input = reshape(input, (1,))
    return index_select(input, d, _wrap(idx))


# --- tril / triu ----------------------------------------------------------------------------
class Tri(Op):
    higher_order = True

    @staticmethod
    def forward(ctx, a, k, upper):
        ctx.k, ctx.upper = k, upper
        xp = xp_of(a)
        return xp.triu(a, k) if upper else xp.tril(a, k)

    @staticmethod
    def backward(ctx, g):
        if isinstance(g, Tensor):
            return Tri.apply(g, ctx.k, ctx.upper), None, None
        xp = xp_of(g)
        return (xp.triu(g, ctx.k) if ctx.upper else xp.tril(g, ctx.k)), None, None


def _tri(input: Tensor, diagonal: int, upper: bool) -> Tensor:
    if input._data.ndim < 2:
        raise RuntimeError(
            f"{'triu' if upper else 'tril'}: input tensor must have at least 2 dimensions"
        )
    return Tri.apply(input, int(diagonal), upper)


def tril(input: Tensor, diagonal: int = 0, *, out=None) -> Tensor:
    """The lower triangle (elements above ``diagonal`` set to 0) of the last two dims."""
    return _finish(_tri(input, diagonal, False), out)


def triu(input: Tensor, diagonal: int = 0, *, out=None) -> Tensor:
    """The upper triangle (elements below ``diagonal`` set to 0) of the last two dims."""
    return _finish(_tri(input, diagonal, True), out)


def _finish(r, out):
    if out is not None:
        return copy_into_out(out, r)
    return r


# --- diag / diag_embed / diagflat / fill_diagonal_ ------------------------------------------
def diag(input: Tensor, diagonal: int = 0, *, out=None) -> Tensor:
    """1-d input: a square matrix with it on a diagonal; 2-d input: a copy of a diagonal."""
    nd = input._data.ndim
    k = int(diagonal)
    if nd == 1:
        m = input._data.shape[0] + abs(k)
        return _finish(DiagScatter.apply(input, (m, m), k, 0, 1), out)
    if nd == 2:
        return _finish(_diagonal(input, k).clone(), out)
    raise RuntimeError(f"diag(): Supports 1D or 2D tensors. Got {nd}D")


def diag_embed(input: Tensor, offset: int = 0, dim1: int = -2, dim2: int = -1) -> Tensor:
    """Matrices (in dims ``dim1``/``dim2`` of the result) with the last dim of input on a
    diagonal."""
    shp = input._data.shape
    nd = len(shp) + 1
    off, d1, d2 = _diag_dims(nd, offset, dim1, dim2)
    m = (shp[-1] if shp else 1) + abs(off)
    rest = list(shp[:-1])
    out = []
    for k in range(nd):
        out.append(m if k in (d1, d2) else rest.pop(0))
    if not shp:
        input = reshape(input, (1,))
    return DiagScatter.apply(input, tuple(out), off, d1, d2)


def diagflat(input: Tensor, offset: int = 0) -> Tensor:
    """A matrix with the flattened input on diagonal ``offset``."""
    return diag(reshape(input, (-1,)), offset)


def fill_diagonal_(self: Tensor, fill_value, wrap: bool = False) -> Tensor:
    """Fill the main diagonal in place (every dim equal, or a tall matrix with ``wrap``)."""
    shp = self._data.shape
    if len(shp) < 2:
        raise RuntimeError("dimensions must larger than 1")
    if len(shp) > 2 and len(set(shp)) != 1:
        raise RuntimeError("all dimensions of input must be of equal length")
    mask = np.zeros(shp, np.bool_)
    np.fill_diagonal(mask, True, wrap=wrap)
    m = _wrap(xp_of(self._data).asarray(mask))
    return inplace(self, lambda s: masked_fill(s, m, fill_value))


# --- the *_scatter ops: copies with an index, slice or diagonal replaced by src -------------
def _scatter_into(input: Tensor, src: Tensor, key) -> Tensor:
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
        ctx.args = (offset, d1, d2)
        out = a.copy()
        diag_view(out, offset, d1, d2)[...] = src
        return out

    @staticmethod
    def backward(ctx, g):
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
    expect = tuple(_diagonal(input.detach(), offset, dim1, dim2)._data.shape)
    if tuple(src._data.shape) != expect:
        raise RuntimeError(
            f"expected src to have a size equal to the slice of self. src size = "
            f"{list(src._data.shape)}, slice size = {list(expect)}"
        )
    off, d1, d2 = _diag_dims(input._data.ndim, offset, dim1, dim2)
    if src._data.dtype != input._data.dtype:
        src = src.to(input.dtype)
    return DiagonalScatter.apply(input, src, off, d1, d2)


# --- differences ----------------------------------------------------------------------------
def diff(input: Tensor, n: int = 1, dim: int = -1, prepend=None, append=None) -> Tensor:
    """n-th forward difference along ``dim`` (after joining prepend/append)."""
    if input._data.ndim == 0:
        raise RuntimeError("diff expects input to be at least one-dimensional")
    if n < 0:
        raise RuntimeError(f"order must be non-negative but got {n}")
    d = check_dim(dim, input._data.ndim)
    if n == 0:  # torch ignores prepend/append and returns a copy
        return input.clone()
    parts = [t for t in (prepend, input, append) if t is not None]
    x = cat(parts, d) if len(parts) > 1 else input
    for _ in range(n):
        m = x._data.shape[d]
        if m == 0:
            break
        hi, lo = narrow(x, d, 1, m - 1), narrow(x, d, 0, m - 1)
        x = hi != lo if x._data.dtype == np.bool_ else hi - lo
    return x


# --- gradient: finite-difference derivatives (second order inside, first or second at edges) --
def _spacings(spacing, dims: list) -> list:
    """One spacing per dim: a number (uniform) or a 1-d array of coordinates."""
    if spacing is None:
        spacing = 1.0
    if isinstance(spacing, (int, float)):
        return [float(spacing)] * len(dims)
    if isinstance(spacing, Tensor) and spacing._data.ndim == 0:
        return [float(spacing.item())] * len(dims)
    sp = list(spacing)
    if len(sp) != len(dims):
        raise RuntimeError(
            "torch.gradient expected spacing to be unspecified, a scalar or it's spacing and dim "
            f"arguments to have the same length, but got a spacing argument of length {len(sp)} "
            f"and a dim argument of length {len(dims)}."
        )
    out = []
    for v in sp:
        if isinstance(v, Tensor):
            out.append(float(v.item()) if v._data.ndim == 0 else np.asarray(v.tolist(), np.float64))
        else:
            out.append(float(v))
    return out


def _along(t: Tensor, d: int, coef: np.ndarray) -> Tensor:
    """A 1-d coefficient array shaped to broadcast along dim ``d`` of ``t``, in t's dtype."""
    shape = [1] * t._data.ndim
    shape[d] = coef.shape[0]
    return _wrap(xp_of(t._data).asarray(coef.reshape(shape).astype(t._data.dtype)))


def _grad_one(f: Tensor, d: int, h, edge_order: int) -> Tensor:
    n = f._data.shape[d]

    def part(start, length):
        return narrow(f, d, start, length)

    if isinstance(h, float):
        inner = (part(2, n - 2) - part(0, n - 2)) / (2 * h)
        if edge_order == 1:
            left = (part(1, 1) - part(0, 1)) / h
            right = (part(n - 1, 1) - part(n - 2, 1)) / h
        else:
            left = (-1.5 * part(0, 1) + 2 * part(1, 1) - 0.5 * part(2, 1)) / h
            right = (0.5 * part(n - 3, 1) - 2 * part(n - 2, 1) + 1.5 * part(n - 1, 1)) / h
        return cat([left, inner, right], d)
    x = h
    if x.shape[0] != n:
        raise RuntimeError(
            f"torch.gradient expected each tensor to be on the same device, and the coordinate "
            f"tensor of dimension {d} to have {n} elements, but got {x.shape[0]}"
        )
    hl, hr = x[1:-1] - x[:-2], x[2:] - x[1:-1]
    inner = (
        part(0, n - 2) * _along(f, d, -hr / (hl * (hl + hr)))
        + part(1, n - 2) * _along(f, d, (hr - hl) / (hl * hr))
        + part(2, n - 2) * _along(f, d, hl / (hr * (hl + hr)))
    )
    if edge_order == 1:
        left = (part(1, 1) - part(0, 1)) / float(x[1] - x[0])
        right = (part(n - 1, 1) - part(n - 2, 1)) / float(x[-1] - x[-2])
    else:
        d1, d2 = float(x[1] - x[0]), float(x[2] - x[1])
        left = (
            part(0, 1) * (-(2 * d1 + d2) / (d1 * (d1 + d2)))
            + part(1, 1) * ((d1 + d2) / (d1 * d2))
            + part(2, 1) * (-d1 / (d2 * (d1 + d2)))
        )
        d1, d2 = float(x[-2] - x[-3]), float(x[-1] - x[-2])
        right = (
            part(n - 3, 1) * (d2 / (d1 * (d1 + d2)))
            + part(n - 2, 1) * (-(d2 + d1) / (d1 * d2))
            + part(n - 1, 1) * ((2 * d2 + d1) / (d2 * (d1 + d2)))
        )
    return cat([left, inner, right], d)


def gradient(input: Tensor, *, spacing=1, dim=None, edge_order: int = 1) -> tuple:
    """Estimates of df/dx along each dim (central differences inside; one-sided of order
    ``edge_order`` at the ends); ``spacing`` is a number, one per dim, or coordinate tensors."""
    nd = input._data.ndim
    if dim is None:
        dims = list(range(nd))
    elif isinstance(dim, int):
        dims = [check_dim(dim, nd)]
    else:
        dims = [check_dim(k, nd) for k in dim]
    if edge_order not in (1, 2):
        raise RuntimeError(
            f"torch.gradient only supports edge_order=1 and edge_order=2. Got {edge_order}"
        )
    f = input if input._data.dtype.kind in "fcV" else input.to(dtypes.get_default_dtype())
    for k in dims:
        if f._data.shape[k] < edge_order + 1:
            raise RuntimeError(
                "torch.gradient expected each dimension size to be at least edge_order+1"
            )
    return tuple(_grad_one(f, k, h, edge_order) for k, h in zip(dims, _spacings(spacing, dims)))
