"""More shape ops (re-exported by shape.py): flip, roll, rot90, repeat, tile,
repeat_interleave, tril/triu, diag, diag_embed, select, broadcasting helpers, atleast_nd;
the *_scatter ops live in shape_scatter.py.

Backwards are duck-typed where the adjoint is another op here, so they support higher-order
gradients."""

from __future__ import annotations

import numpy as np

from .._backend.xp import xp_of
from ..autograd.node import Op
from ..tensor import Size, Tensor, _wrap, check_dim
from .reduction import rev
from .shape import DiagScatter, _diag_dims, _slice, expand, reshape, unsqueeze
from .shape_scatter import (  # noqa: F401  (re-exported: they were defined here)
    DiagonalScatter,
    _scatter_into,
    diagonal_scatter,
    select_scatter,
    slice_scatter,
)

__all__ = [
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
    "select",
    "broadcast_to",
    "broadcast_tensors",
    "broadcast_shapes",
    "atleast_1d",
    "atleast_2d",
    "atleast_3d",
    "diff",
    "ravel",
    "tensor_split",
    "hsplit",
    "vsplit",
    "dsplit",
    "row_stack",
    "block_diag",
    "diagflat",
    "narrow_copy",
    "select_scatter",
    "slice_scatter",
    "diagonal_scatter",
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
        return Roll.forward(_Ctx(), g, neg, ctx.dims), None, None


class _Ctx:
    pass


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
    from .gather import index_select

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
        from .inplace import copy_into_out

        return copy_into_out(out, r)
    return r


# --- diag / diag_embed / select -------------------------------------------------------------
def diag(input: Tensor, diagonal: int = 0, *, out=None) -> Tensor:
    """1-d input: a square matrix with it on a diagonal; 2-d input: a copy of a diagonal."""
    from .shape import diagonal as _diagonal

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


def select(input: Tensor, dim: int, index: int) -> Tensor:
    """The slice at ``index`` along ``dim``, with that dim removed (a view)."""
    shp = input._data.shape
    d = check_dim(dim, len(shp))
    n = shp[d]
    index = int(index)
    if not -n <= index < n:
        raise IndexError(
            f"select(): index {index} out of range for tensor of size {list(shp)} at dimension {d}"
        )
    return _slice(input, d, index % n, None, drop=True)


# --- broadcasting and atleast_nd --------------------------------------------------------------
def broadcast_to(input: Tensor, size) -> Tensor:
    """input expanded to ``size`` (a view; -1 keeps a dimension)."""
    return expand(input, tuple(size))


def broadcast_shapes(*shapes) -> Size:
    """The shape that the given shapes broadcast to."""
    out: list = []
    for s in shapes:
        s = (s,) if isinstance(s, int) else tuple(s)
        if len(s) > len(out):
            out = [1] * (len(s) - len(out)) + out
        for i, n in enumerate(s):
            k = len(out) - len(s) + i
            if out[k] == 1:
                out[k] = n
            elif n != 1 and n != out[k]:
                raise RuntimeError(
                    f"Shape mismatch: objects cannot be broadcast to a single "
                    f"shape.  Mismatch is between arg {k} and arg {k}."
                )
    return Size(out)


def broadcast_tensors(*tensors) -> tuple:
    """Views of the tensors expanded to their common broadcast shape."""
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tuple(tensors[0])
    shape: tuple = ()
    for t in tensors:
        try:
            shape = np.broadcast_shapes(shape, t._data.shape)
        except ValueError:
            from ..tensor import broadcast_error

            raise broadcast_error(shape, t._data.shape) from None
    return tuple(expand(t, shape) for t in tensors)


def _atleast(tensors, fn):
    for t in tensors:
        if not isinstance(t, (Tensor, list, tuple)):
            raise TypeError(
                f"atleast_nd() received an invalid combination of arguments - got "
                f"({type(t).__name__}), but expected one of: (Tensor input)"
            )
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        return tuple(fn(t) for t in tensors[0])
    if len(tensors) == 1:
        return fn(tensors[0])
    return tuple(fn(t) for t in tensors)


def atleast_1d(*tensors) -> Tensor | tuple:
    """Tensors with at least one dimension (0-d becomes shape (1,))."""
    return _atleast(tensors, lambda t: reshape(t, (1,)) if t._data.ndim == 0 else t)


def atleast_2d(*tensors) -> Tensor | tuple:
    """Tensors with at least two dimensions (leading 1s added)."""
    return _atleast(
        tensors,
        lambda t: reshape(t, (1,) * (2 - t._data.ndim) + t._data.shape) if t._data.ndim < 2 else t,
    )


def _three(t):
    nd = t._data.ndim
    if nd == 0:
        return reshape(t, (1, 1, 1))
    if nd == 1:
        return reshape(t, (1, t._data.shape[0], 1))
    if nd == 2:
        return unsqueeze(t, 2)
    return t


def atleast_3d(*tensors) -> Tensor | tuple:
    """Tensors with at least three dimensions (numpy's placement of the new 1s)."""
    return _atleast(tensors, _three)


def diff(input: Tensor, n: int = 1, dim: int = -1, prepend=None, append=None) -> Tensor:
    """n-th forward difference along ``dim`` (after joining prepend/append)."""
    from .shape import cat, narrow

    if input._data.ndim == 0:
        raise RuntimeError("diff expects input to be at least one-dimensional")
    d = check_dim(dim, input._data.ndim)
    parts = [t for t in (prepend, input, append) if t is not None]
    x = cat(parts, d) if len(parts) > 1 else input
    for _ in range(n):
        m = x._data.shape[d]
        if m == 0:
            break
        hi, lo = narrow(x, d, 1, m - 1), narrow(x, d, 0, m - 1)
        x = hi != lo if x._data.dtype == np.bool_ else hi - lo
    return x


# --- splits, stacks, scatters into slices ----------------------------------------------------
def ravel(input: Tensor) -> Tensor:
    """The elements as a 1-d tensor (a view where possible)."""
    return reshape(input, (-1,))


def tensor_split(input: Tensor, indices_or_sections, dim: int = 0) -> tuple:
    """Split into n nearly equal parts, or at the given indices, along ``dim`` (views)."""
    d = check_dim(dim, input._data.ndim)
    n = input._data.shape[d]
    ios = indices_or_sections
    if isinstance(ios, Tensor):
        ios = ios.item() if ios._data.ndim == 0 else ios.tolist()
    if isinstance(ios, int):
        if ios <= 0:
            raise RuntimeError(f"number of sections must be larger than 0, got {ios}")
        q, r = divmod(n, ios)
        bounds, pos = [], 0
        for k in range(ios - 1):
            pos += q + (1 if k < r else 0)
            bounds.append(pos)
    else:
        bounds = [int(b) for b in ios]
    out, prev = [], 0
    for b in bounds + [n]:
        start = min(max(prev, 0), n)
        stop = min(max(b, start), n)
        out.append(_slice(input, d, start, stop))
        prev = b
    return tuple(out)


def _split_dim(input: Tensor, sections, dim: int, name: str) -> tuple:
    if isinstance(sections, int):
        n = input._data.shape[dim]
        if sections == 0 or n % sections:
            raise RuntimeError(
                f"torch.{name} attempted to split along dimension {dim}, but the size of the "
                f"dimension {n} is not divisible by the split_size {sections}!"
            )
    return tensor_split(input, sections, dim)


def hsplit(input: Tensor, indices_or_sections) -> tuple:
    """tensor_split along dim 1 (dim 0 for 1-d tensors)."""
    nd = input._data.ndim
    if nd < 1:
        raise RuntimeError(
            "torch.hsplit requires a tensor with at least 1 dimension, but got a "
            "tensor with 0 dimensions!"
        )
    return _split_dim(input, indices_or_sections, 1 if nd > 1 else 0, "hsplit")


def vsplit(input: Tensor, indices_or_sections) -> tuple:
    """tensor_split along dim 0 (needs at least 2 dims)."""
    if input._data.ndim < 2:
        raise RuntimeError(
            f"torch.vsplit requires a tensor with at least 2 dimension, but got a "
            f"tensor with {input._data.ndim} dimensions!"
        )
    return _split_dim(input, indices_or_sections, 0, "vsplit")


def dsplit(input: Tensor, indices_or_sections) -> tuple:
    """tensor_split along dim 2 (needs at least 3 dims)."""
    if input._data.ndim < 3:
        raise RuntimeError(
            f"torch.dsplit requires a tensor with at least 3 dimension, but got a "
            f"tensor with {input._data.ndim} dimensions!"
        )
    return _split_dim(input, indices_or_sections, 2, "dsplit")


def row_stack(tensors) -> Tensor:
    """Alias of vstack."""
    from .shape import vstack

    return vstack(tensors)


def block_diag(*tensors) -> Tensor:
    """A block-diagonal matrix of the given (0-, 1- or 2-d) tensors."""
    from .creation import zeros
    from .shape import cat

    mats = []
    for k, t in enumerate(tensors):
        nd = t._data.ndim
        if nd > 2:
            raise RuntimeError(
                f"torch.block_diag: Input tensors must have 2 or fewer dimensions."
                f" Input {k} has {nd} dimensions"
            )
        mats.append(reshape(t, (1, 1)) if nd == 0 else reshape(t, (1, -1)) if nd == 1 else t)
    width = sum(m._data.shape[1] for m in mats)
    rows, left = [], 0
    for m in mats:
        h, w = m._data.shape
        parts = [
            zeros(h, left, dtype=m.dtype, device=m.device),
            m,
            zeros(h, width - left - w, dtype=m.dtype, device=m.device),
        ]
        rows.append(cat(parts, 1))
        left += w
    if not rows:
        return zeros(1, 0)
    return cat(rows, 0)


def diagflat(input: Tensor, offset: int = 0) -> Tensor:
    """A matrix with the flattened input on diagonal ``offset``."""
    return diag(reshape(input, (-1,)), offset)


def narrow_copy(input: Tensor, dim: int, start: int, length: int) -> Tensor:
    """narrow, as a copy."""
    from .shape import narrow

    return narrow(input, dim, start, length).clone()


def fill_diagonal_(self: Tensor, fill_value, wrap: bool = False) -> Tensor:
    """Fill the main diagonal in place (every dim equal, or a tall matrix with ``wrap``)."""
    from .indexing import masked_fill
    from .inplace import inplace

    shp = self._data.shape
    if len(shp) < 2:
        raise RuntimeError("dimensions must larger than 1")
    if len(shp) > 2 and len(set(shp)) != 1:
        raise RuntimeError("all dimensions of input must be of equal length")
    mask = np.zeros(shp, np.bool_)
    np.fill_diagonal(mask, True, wrap=wrap)
    m = _wrap(xp_of(self._data).asarray(mask))
    return inplace(self, lambda s: masked_fill(s, m, fill_value))


def sum_to_size(self: Tensor, *size) -> Tensor:
    """Sum this tensor down to ``size`` (the reverse of expanding to this shape)."""
    if len(size) == 1 and not isinstance(size[0], int):
        size = size[0]
    size = tuple(int(s) for s in size)
    shp = self._data.shape
    lead = len(shp) - len(size)
    if lead < 0 or any(s != 1 and s != shp[lead + k] for k, s in enumerate(size)):
        raise RuntimeError(f"size {{{list(size)}}} is not expandable to size {{{list(shp)}}}.")
    dims = list(range(lead)) + [
        lead + k for k, s in enumerate(size) if s == 1 and shp[lead + k] != 1
    ]
    r = self.sum(dims, keepdim=True) if dims else self
    return reshape(r, size)
