"""Shape ops: views (view, reshape, transpose, permute, squeeze, unsqueeze, expand, narrow,
flatten, unflatten) that share memory as in torch, and joins/splits (cat, stack, split, chunk,
unbind). Each op's backward is duck-typed, so these support higher-order gradients."""

from __future__ import annotations

import numpy as np

from .._backend.xp import xp_of
from ..autograd.node import Op
from ..tensor import Size, Tensor, _wrap, check_dim
from . import _bw

__all__ = [
    "reshape",
    "transpose",
    "swapaxes",
    "swapdims",
    "permute",
    "squeeze",
    "unsqueeze",
    "flatten",
    "unflatten",
    "narrow",
    "cat",
    "concat",
    "concatenate",
    "stack",
    "split",
    "chunk",
    "unbind",
    "t",
    "expand_copy",
    "hstack",
    "vstack",
    "dstack",
    "column_stack",
    "movedim",
    "moveaxis",
    "diagonal",
]


def as_view(r: Tensor, base: Tensor) -> Tensor:
    """Mark r as a view of base: they share a version counter, as torch's views do."""
    r._vc = base._version_counter()
    r._base = base if base._base is None else base._base
    return r


def _shape_arg(shape) -> tuple:
    if len(shape) == 1 and isinstance(shape[0], (tuple, list, Size)):
        shape = shape[0]
    return tuple(int(s) for s in shape)


class Reshape(Op):
    higher_order = True

    @staticmethod
    def forward(ctx, a, shape, need_view):
        ctx.shape = a.shape
        if need_view:
            try:
                return xp_of(a).reshape(a, shape, copy=False)
            except ValueError:
                raise RuntimeError(
                    "view size is not compatible with input tensor's size and stride (at least "
                    "one dimension spans across two contiguous subspaces). Use .reshape(...) "
                    "instead."
                ) from None
        return a.reshape(shape)

    @staticmethod
    def backward(ctx, g):
        return g.reshape(ctx.shape), None, None


def _infer(shape, numel):
    if shape.count(-1) > 1:
        raise RuntimeError("only one dimension can be inferred")
    known = 1
    for s in shape:
        if s != -1:
            if s < -1:
                raise RuntimeError(f"invalid shape dimension {s}")
            known *= s
    if -1 in shape:
        if known == 0 or numel % known:
            raise RuntimeError(f"shape '{list(shape)}' is invalid for input of size {numel}")
        return tuple(numel // known if s == -1 else s for s in shape)
    if known != numel:
        raise RuntimeError(f"shape '{list(shape)}' is invalid for input of size {numel}")
    return shape


def _reshape(input: Tensor, shape, need_view: bool) -> Tensor:
    shape = _infer(shape, input._data.size)
    if shape == input._data.shape:
        r = Reshape.apply(input, shape, False) if input._rg else _wrap(input._data.view())
        return as_view(r, input)
    r = Reshape.apply(input, shape, need_view)
    if need_view or np.shares_memory(r._data, input._data):
        as_view(r, input)
    return r


def reshape(input: Tensor, *shape) -> Tensor:
    """The same data with a new shape; a view where possible, else a copy."""
    return _reshape(input, _shape_arg(shape), False)


def view(input: Tensor, *shape) -> Tensor:
    """A view with a new shape (errors where a view is impossible); ``view(dtype)`` is not
    supported."""
    if len(shape) == 1 and not isinstance(shape[0], (int, tuple, list, Size)):
        from .. import dtypes as D

        dt = D.to_dtype(shape[0])
        return as_view(_wrap(input._data.view(dt.np)), input)
    return _reshape(input, _shape_arg(shape), True)


class Permute(Op):
    higher_order = True

    @staticmethod
    def forward(ctx, a, perm):
        ctx.perm = perm
        return a.transpose(perm)

    @staticmethod
    def backward(ctx, g):
        inv = tuple(np.argsort(ctx.perm))
        return permute(g, inv) if isinstance(g, Tensor) else g.transpose(inv), None


def permute(input: Tensor, *dims) -> Tensor:
    """Reorder the dimensions (a view)."""
    dims = _shape_arg(dims)
    nd = input._data.ndim
    if len(dims) != nd:
        raise RuntimeError(
            f"permute(sparse_coo): number of dimensions in the tensor input does not match the "
            f"length of the desired ordering of dimensions i.e. input.dim() = {nd} is not equal "
            f"to len(dims) = {len(dims)}"
        )
    perm = tuple(check_dim(d, nd) for d in dims)
    if len(set(perm)) != nd:
        raise RuntimeError("permute(): duplicate dims are not allowed.")
    return as_view(Permute.apply(input, perm), input)


def transpose(input: Tensor, dim0: int, dim1: int) -> Tensor:
    """Swap two dimensions (a view)."""
    nd = input._data.ndim
    if nd == 0:
        check_dim(dim0, 0), check_dim(dim1, 0)
        return as_view(_wrap(input._data.view()), input) if not input._rg else reshape(input, ())
    d0, d1 = check_dim(dim0, nd), check_dim(dim1, nd)
    perm = list(range(nd))
    perm[d0], perm[d1] = perm[d1], perm[d0]
    return as_view(Permute.apply(input, tuple(perm)), input)


swapaxes = swapdims = transpose


def t(input: Tensor) -> Tensor:
    """Transpose a matrix (0-d and 1-d tensors come back as they are)."""
    nd = input._data.ndim
    if nd > 2:
        raise RuntimeError(f"t() expects a tensor with <= 2 dimensions, but self is {nd}D")
    return transpose(input, 0, 1) if nd == 2 else as_view(_view_same(input), input)


def _view_same(input):
    return Reshape.apply(input, input._data.shape, False)


def movedim(input: Tensor, source, destination) -> Tensor:
    """Move dims from ``source`` to ``destination`` positions (a view)."""
    nd = input._data.ndim
    src = [source] if isinstance(source, int) else list(source)
    dst = [destination] if isinstance(destination, int) else list(destination)
    src = [check_dim(s, nd) for s in src]
    dst = [check_dim(d, nd) for d in dst]
    order = [i for i in range(nd) if i not in src]
    for d, s in sorted(zip(dst, src)):
        order.insert(d, s)
    return permute(input, order)


moveaxis = movedim


def squeeze(input: Tensor, dim=None) -> Tensor:
    """Remove dimensions of size 1 (all of them, or the given ones)."""
    shp = input._data.shape
    nd = len(shp)
    if dim is None:
        new = tuple(s for s in shp if s != 1)
    else:
        dims = (dim,) if isinstance(dim, int) else tuple(dim)
        dims = {check_dim(d, nd) for d in dims}
        new = tuple(s for i, s in enumerate(shp) if not (i in dims and s == 1))
    return _reshape(input, new, False)


def unsqueeze(input: Tensor, dim: int) -> Tensor:
    """Insert a dimension of size 1 at ``dim`` (a view)."""
    nd = input._data.ndim
    d = check_dim(dim, nd + 1)
    shp = input._data.shape
    return _reshape(input, shp[:d] + (1,) + shp[d:], False)


def flatten(input: Tensor, start_dim: int = 0, end_dim: int = -1) -> Tensor:
    """Merge dims ``start_dim``..``end_dim`` into one."""
    shp = input._data.shape
    nd = len(shp)
    if nd == 0:
        return reshape(input, (1,))
    s, e = check_dim(start_dim, nd), check_dim(end_dim, nd)
    if s > e:
        raise RuntimeError("flatten() has invalid args: start_dim cannot come after end_dim")
    n = 1
    for x in shp[s : e + 1]:
        n *= x
    return _reshape(input, shp[:s] + (n,) + shp[e + 1 :], False)


def unflatten(input: Tensor, dim: int, sizes) -> Tensor:
    """Split dim ``dim`` into ``sizes``."""
    shp = input._data.shape
    d = check_dim(dim, len(shp))
    sizes = tuple(sizes)
    if -1 in sizes:
        known = int(np.prod([s for s in sizes if s != -1]))
        sizes = tuple(shp[d] // known if s == -1 else s for s in sizes)
    if int(np.prod(sizes)) != shp[d]:
        raise RuntimeError(
            f"unflatten: Provided sizes {list(sizes)} don't multiply up to the size of dim "
            f"{dim} ({shp[d]}) in the input tensor"
        )
    return _reshape(input, shp[:d] + sizes + shp[d + 1 :], False)


class Expand(Op):
    higher_order = True

    @staticmethod
    def forward(ctx, a, shape):
        ctx.shape = a.shape
        return xp_of(a).broadcast_to(a, shape)

    @staticmethod
    def backward(ctx, g):
        return _bw.sum_to(g, ctx.shape), None


def expand(input: Tensor, *sizes) -> Tensor:
    """Broadcast to a larger shape without copying (-1 keeps a dimension)."""
    sizes = _shape_arg(sizes)
    shp = input._data.shape
    if len(sizes) < len(shp):
        raise RuntimeError(
            f"expand(torch.FloatTensor{{{list(shp)}}}, size={list(sizes)}): the number of sizes "
            f"provided ({len(sizes)}) must be greater or equal to the number of dimensions in "
            f"the tensor ({len(shp)})"
        )
    off = len(sizes) - len(shp)
    new = []
    for i, s in enumerate(sizes):
        if i >= off:
            cur = shp[i - off]
            if s == -1:
                s = cur
            elif cur != 1 and cur != s:
                raise RuntimeError(
                    f"The expanded size of the tensor ({s}) must match the existing size ({cur})"
                    f" at non-singleton dimension {i}.  Target sizes: {list(sizes)}.  Tensor "
                    f"sizes: {list(shp)}"
                )
        elif s < 0:
            raise RuntimeError(
                f"The expanded size of the tensor ({s}) isn't allowed in a leading, "
                "non-existing dimension 0"
            )
        new.append(s)
    return as_view(Expand.apply(input, tuple(new)), input)


def expand_copy(input: Tensor, *sizes) -> Tensor:
    """expand, then a copy."""
    return expand(input, *sizes).clone()


class Slice(Op):
    """Basic indexing along one dim (narrow, split, chunk, unbind)."""

    higher_order = True

    @staticmethod
    def forward(ctx, a, key):
        ctx.shape = a.shape
        ctx.key = key
        ctx.dt = a.dtype
        return a[key]

    @staticmethod
    def backward(ctx, g):
        if isinstance(g, Tensor):
            from .indexing import index_put_zeros

            return index_put_zeros(g, ctx.shape, ctx.key), None
        z = xp_of(g).zeros(ctx.shape, g.dtype)
        z[ctx.key] = g
        return z, None


def _slice(input: Tensor, dim: int, start: int, stop: int | None, drop: bool = False) -> Tensor:
    key = (slice(None),) * dim + ((start if drop else slice(start, stop)),)
    return as_view(Slice.apply(input, key), input)


def narrow(input: Tensor, dim: int, start, length: int) -> Tensor:
    """A view of ``length`` elements from ``start`` along ``dim``."""
    nd = input._data.ndim
    d = check_dim(dim, nd)
    size = input._data.shape[d]
    start = int(start)
    if start < 0:
        start += size
    if start < 0 or start + length > size:
        raise RuntimeError(f"start ({start}) + length ({length}) exceeds dimension size ({size}).")
    return _slice(input, d, start, start + length)


def unbind(input: Tensor, dim: int = 0) -> tuple:
    """The slices along ``dim``, as a tuple of views."""
    d = check_dim(dim, input._data.ndim)
    return tuple(_slice(input, d, i, None, drop=True) for i in range(input._data.shape[d]))


def split(tensor: Tensor, split_size_or_sections, dim: int = 0) -> tuple:
    """Pieces of ``split_size`` along dim (the last may be smaller), or of the given sizes."""
    d = check_dim(dim, tensor._data.ndim)
    n = tensor._data.shape[d]
    if isinstance(split_size_or_sections, int):
        step = split_size_or_sections
        if step <= 0 and n:
            raise RuntimeError(
                f"split_size can only be 0 if dimension size is 0, but got dimension size of {n}"
            )
        sizes = [min(step, n - i) for i in range(0, n, step)] if n else [0]
    else:
        sizes = list(split_size_or_sections)
        if sum(sizes) != n:
            raise RuntimeError(
                f"split_with_sizes expects split_sizes to sum exactly to {n} (input tensor's "
                f"size at dimension {dim}), but got split_sizes={sizes}"
            )
    out, start = [], 0
    for s in sizes:
        out.append(_slice(tensor, d, start, start + s))
        start += s
    return tuple(out)


def chunk(input: Tensor, chunks: int, dim: int = 0) -> tuple:
    """Split into ``chunks`` nearly equal pieces along ``dim``."""
    if chunks <= 0:
        raise RuntimeError("chunk expects `chunks` to be greater than 0, got: " + str(chunks))
    d = check_dim(dim, input._data.ndim)
    n = input._data.shape[d]
    step = -(-n // chunks) if n else 1
    return split(input, step, d) if n else split(input, [0], d)


class Cat(Op):
    higher_order = True

    @staticmethod
    def forward(ctx, dim, *arrays):
        ctx.sizes = [a.shape[dim] for a in arrays]
        ctx.dim = dim
        ctx.dts = [a.dtype for a in arrays]
        return xp_of(arrays[0]).concatenate(arrays, axis=dim)

    @staticmethod
    def backward(ctx, g):
        outs, start = [None], 0
        for s, dt in zip(ctx.sizes, ctx.dts):
            key = (slice(None),) * ctx.dim + (slice(start, start + s),)
            outs.append(_bw.cast(g[key], dt))
            start += s
        return tuple(outs)


def _promote_all(tensors):
    from .. import dtypes as D

    dt = None
    for t in tensors:
        dt = t.dtype if dt is None else D.promote_types(dt, t.dtype)
    return [t if t.dtype is dt else t.to(dt) for t in tensors]


def cat(tensors, dim: int = 0, *, out=None) -> Tensor:
    """Join tensors along an existing dim (dtypes promoted, as torch)."""
    if isinstance(tensors, Tensor) or not isinstance(tensors, (list, tuple)):
        raise TypeError(
            "cat() argument 'tensors' must be tuple of Tensors, not " + type(tensors).__name__
        )
    if not tensors:
        raise RuntimeError("torch.cat(): expected a non-empty list of Tensors")
    # torch skips legacy empty 1-d tensors in cat
    ts = [t for t in tensors if not (t._data.ndim == 1 and t._data.shape[0] == 0)] or [tensors[0]]
    nd = ts[0]._data.ndim
    if nd == 0:
        raise RuntimeError("zero-dimensional tensor (at position 0) cannot be concatenated")
    d = check_dim(dim, nd)
    for i, x in enumerate(ts):
        if x._data.ndim != nd:
            raise RuntimeError(
                f"Tensors must have same number of dimensions: got {nd} and {x._data.ndim}"
            )
        for k in range(nd):
            if k != d and x._data.shape[k] != ts[0]._data.shape[k]:
                raise RuntimeError(
                    f"Sizes of tensors must match except in dimension {d}. Expected size "
                    f"{ts[0]._data.shape[k]} but got size {x._data.shape[k]} for tensor number "
                    f"{i} in the list."
                )
    ts = _promote_all(ts)
    r = Cat.apply(d, *ts)
    if out is not None:
        from .inplace import copy_into_out

        return copy_into_out(out, r)
    return r


concat = concatenate = cat


def stack(tensors, dim: int = 0, *, out=None) -> Tensor:
    """Join tensors of one shape along a new dim."""
    if not tensors:
        raise RuntimeError("stack expects a non-empty TensorList")
    shp = tensors[0]._data.shape
    for i, x in enumerate(tensors):
        if x._data.shape != shp:
            raise RuntimeError(
                f"stack expects each tensor to be equal size, but got {list(shp)} at entry 0 "
                f"and {list(x._data.shape)} at entry {i}"
            )
    d = check_dim(dim, len(shp) + 1)
    return cat([unsqueeze(x, d) for x in tensors], d, out=out)


def hstack(tensors) -> Tensor:
    """Concatenate column-wise (dim 1; dim 0 for 1-d tensors)."""
    return cat(tensors, 0 if tensors[0]._data.ndim == 1 else 1)


def vstack(tensors) -> Tensor:
    """Concatenate row-wise (1-d tensors become rows)."""
    return cat([x if x._data.ndim > 1 else reshape(x, (1, -1)) for x in tensors], 0)


def dstack(tensors) -> Tensor:
    """Concatenate depth-wise (dim 2)."""
    ts = []
    for x in tensors:
        if x._data.ndim == 1:
            x = reshape(x, (1, -1, 1))
        elif x._data.ndim == 2:
            x = unsqueeze(x, 2)
        ts.append(x)
    return cat(ts, 2)


def column_stack(tensors) -> Tensor:
    """Stack 1-d tensors as columns, concatenate the rest along dim 1."""
    return cat([x.reshape(-1, 1) if x._data.ndim <= 1 else x for x in tensors], 1)


from .shape_strided import (  # noqa: E402,F401  (re-exported: shape_extra and callers use them)
    Diagonal,
    DiagScatter,
    Unfold,
    UnfoldBackward,
    _as_strided,
    _diag_dims,
    _NoCtx,
    diag_view,
    diagonal,
    unfold,
)

# shape_extra imports DiagScatter and _diag_dims from here, so shape_strided comes first
# isort: split
from .shape_extra import *  # noqa: E402,F401,F403
from .shape_extra import __all__ as _extra_all  # noqa: E402

__all__ += _extra_all
