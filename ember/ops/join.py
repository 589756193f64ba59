"""Joins and their inverses: cat/concat/concatenate, stack and the hstack/vstack/dstack/
column_stack/row_stack family, block_diag; split, chunk, unbind, tensor_split and
hsplit/vsplit/dsplit. Each backward is duck-typed, so these support higher-order gradients.

Borderline choices, one line each:
- the split family returns views (through view._slice) but, as cat's inverse, lives here.
- block_diag joins zero-padded blocks with cat, so it is a join rather than a diag op.
- cartesian_prod stacks meshgrid's grids, so it is a join.
"""

from __future__ import annotations

import itertools

import numpy as np

from .. import dtypes
from .._backend.xp import CPU_ARRAY, xp_of
from .._grad_state import state as _gs
from .._tensor_errors import check_dim
from ..autograd import node as _node
from ..autograd.node import Op
from ..tensor import Tensor, _new, _wrap, as_view, view_of
from . import _bw
from .creation import zeros
from .inplace import copy_into_out, mark_multi_views
from .view import Slice, _slice, meshgrid, plain, reshape, unsqueeze

__all__ = [
    "cartesian_prod",
    "combinations",
    "cat",
    "concat",
    "concatenate",
    "stack",
    "hstack",
    "vstack",
    "dstack",
    "column_stack",
    "row_stack",
    "block_diag",
    "split",
    "chunk",
    "unbind",
    "tensor_split",
    "hsplit",
    "vsplit",
    "dsplit",
    "split_with_sizes",
    "unsafe_chunk",
    "unsafe_split",
    "unsafe_split_with_sizes",
    "split_copy",
    "split_with_sizes_copy",
    "unbind_copy",
]


# --- cat / stack ------------------------------------------------------------------------------
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


class Stack(Op):
    """Join arrays of one shape along a new dim in one node (not one unsqueeze node each)."""

    higher_order = True

    @staticmethod
    def forward(ctx, *args):  # the arrays, then the dim (torch's next_functions: the tensors)
        arrays, dim = args[:-1], args[-1]
        ctx.dim = dim
        ctx.dts = [a.dtype for a in arrays]
        return xp_of(arrays[0]).stack(arrays, axis=dim)

    @staticmethod
    def backward(ctx, g):
        pre = (slice(None),) * ctx.dim
        # the trailing ... keeps each piece an array (a 0-d view) where it is one element
        return tuple(_bw.cast(g[pre + (i, ...)], dt) for i, dt in enumerate(ctx.dts)) + (None,)


def _plain_arrays(tensors):
    """(the arrays of ``tensors``, their common shape or None where shapes differ) when all are
    CPU arrays of one dtype and none needs a graph (the joins' graph-free path), checked in one
    pass; None otherwise (torch's TypeError for an element that is not a Tensor)."""
    if _node._profiling:
        return None
    grad, arrays, dt, shape = _gs.enabled, [], None, None
    for x in tensors:
        if type(x) is not Tensor and not isinstance(x, Tensor):
            _check_elements(tensors)
        a = x._data
        if type(a) is not CPU_ARRAY or (grad and x._rg):
            return None
        if dt is None:
            dt = a.dtype
            shape = a.shape
        elif a.dtype is not dt:
            return None
        elif shape is not None and a.shape != shape:
            shape = None
        arrays.append(a)
    return arrays, shape


def _check_elements(tensors) -> None:
    """torch's TypeError for a list element that is not a Tensor."""
    for i, t in enumerate(tensors):
        if not isinstance(t, Tensor):
            raise TypeError(
                f"expected Tensor as element {i} in argument 0, but got {type(t).__name__}"
            )


def _promote_all(tensors):
    dt = None
    for t in tensors:
        dt = t.dtype if dt is None else dtypes.promote_types(dt, t.dtype)
    return [t if t.dtype is dt else t.to(dt) for t in tensors]


_join_bytes = bytearray().join
_ndarray = np.ndarray


def _join_rows(tensors, stacked: bool):
    """``cat(tensors, 0)`` (``stack`` where ``stacked``) of same-shape, same-dtype, C-contiguous
    CPU tensors outside a graph, as one ``bytearray.join`` of their buffers: a single copy and no
    NumPy call but the array's construction, the result tensor built inline. None for anything
    else (the general paths give torch's errors). Two (64, 128) float32: 3.1 -> 2.8 us (torch
    2.4-2.5), NumPy's concatenate alone taking 2.1. Checked by ``_plain_arrays``: a copy of its
    loop here was 0.08 us faster, not kept."""
    plain = _plain_arrays(tensors)
    if plain is None:
        return None
    arrays, shape = plain
    if not shape:
        return None  # no tensors, or 0-d ones (cat's error)
    try:
        buf = _join_bytes(arrays)
    except TypeError:  # an array that is not C-contiguous
        return None
    n = len(arrays)
    t = _new(Tensor)
    dt = arrays[0].dtype
    t._data = _ndarray((n,) + shape if stacked else (n * shape[0],) + shape[1:], dt, buf)
    t._rg = False
    t.grad_fn = None
    return t


def cat(tensors, dim: int = 0, *, out=None) -> Tensor:
    """Join tensors along an existing dim (dtypes promoted, as torch)."""
    tt = type(tensors)
    if dim == 0 and out is None and (tt is list or tt is tuple):
        r = _join_rows(tensors, False)
        if r is not None:
            return r
    if out is None and type(dim) is int and (tt is list or tt is tuple) and tensors:
        # the graph-free path, checked in one pass, with the axis passed by position: NumPy's
        # keyword parsing alone cost 0.6 of the 3.1 us that two (64, 128) float32 took (torch:
        # 2.2 us; NumPy's copy 1.3); 10.5 us before this fast path
        plain = _plain_arrays(tensors)
        arrays = None if plain is None else plain[0]
        if arrays is not None and -arrays[0].ndim <= dim < arrays[0].ndim:
            try:  # NumPy raises for ranks or sizes that differ
                return _wrap(np.concatenate(arrays, dim))
            except ValueError:
                pass  # mismatched shapes: torch's message from the checks below
    if isinstance(tensors, Tensor) or not isinstance(tensors, (list, tuple)):
        raise TypeError(
            "cat() argument 'tensors' must be tuple of Tensors, not " + type(tensors).__name__
        )
    if not tensors:
        raise RuntimeError("torch.cat(): expected a non-empty list of Tensors")
    _check_elements(tensors)
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
        return copy_into_out(out, r)
    return r


concat = concatenate = cat


def stack(tensors, dim: int = 0, *, out=None) -> Tensor:
    """Join tensors of one shape along a new dim."""
    if isinstance(tensors, Tensor) or not isinstance(tensors, (list, tuple)):
        raise TypeError(
            "stack(): argument 'tensors' (position 1) must be tuple of Tensors, not "
            + type(tensors).__name__
        )
    if not tensors:
        raise RuntimeError("stack expects a non-empty TensorList")
    if dim == 0 and out is None:
        r = _join_rows(tensors, True)
        if r is not None:
            return r
    plain = _plain_arrays(tensors) if out is None else None
    shp = tensors[0]._data.shape
    if plain is not None and plain[1] is not None:
        return _wrap(np.stack(plain[0], axis=check_dim(dim, len(shp) + 1)))
    _check_elements(tensors)
    for i, x in enumerate(tensors):
        if x._data.shape != shp:
            raise RuntimeError(
                f"stack expects each tensor to be equal size, but got {list(shp)} at entry 0 "
                f"and {list(x._data.shape)} at entry {i}"
            )
    d = check_dim(dim, len(shp) + 1)
    r = Stack.apply(*_promote_all(tensors), d)
    if out is not None:
        return copy_into_out(out, r)
    return r


def hstack(tensors) -> Tensor:
    """Concatenate column-wise (dim 1; dim 0 for 1-d tensors)."""
    return cat(tensors, 0 if tensors[0]._data.ndim == 1 else 1)


def vstack(tensors) -> Tensor:
    """Concatenate row-wise (1-d tensors become rows)."""
    return cat([x if x._data.ndim > 1 else reshape(x, (1, -1)) for x in tensors], 0)


def row_stack(tensors) -> Tensor:
    """Alias of vstack."""
    return vstack(tensors)


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


def block_diag(*tensors) -> Tensor:
    """A block-diagonal matrix of the given (0-, 1- or 2-d) tensors."""
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


# --- splits (views of the input) -------------------------------------------------------------
def split(tensor: Tensor, split_size_or_sections, dim: int = 0) -> tuple:
    """Pieces of ``split_size`` along dim (the last may be smaller), or of the given sizes.
    As torch's, the pieces refuse in-place changes that autograd would record."""
    name = _split_name(split_size_or_sections)
    return mark_multi_views(_split(tensor, split_size_or_sections, dim, name), name, tensor)


def _split_name(split_size_or_sections, unsafe: bool = False) -> str:
    """torch's node name (less "Backward0") for a split by one size or by a list of sizes."""
    kind = "Split" if isinstance(split_size_or_sections, int) else "SplitWithSizes"
    return "Unsafe" + kind if unsafe else kind


def _split(tensor: Tensor, split_size_or_sections, dim: int, name: str) -> tuple:
    """The pieces; ``name`` is torch's for the node (with "Unsafe", the unsafe_ forms, whose
    pieces share memory but are not views to autograd: no shared base or version counter)."""
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
        sizes = [int(k) for k in split_size_or_sections]
        if any(k < 0 for k in sizes):
            raise RuntimeError(
                "split_with_sizes expects split_sizes have only non-negative entries, but got "
                f"split_sizes={sizes}"
            )
        if sum(sizes) != n:
            raise RuntimeError(
                f"split_with_sizes expects split_sizes to sum exactly to {n} (input tensor's "
                f"size at dimension {dim}), but got split_sizes={sizes}"
            )
    views = not name.startswith("Unsafe")
    if len(sizes) > 1 and tensor._rg and _gs.enabled:
        parts = SplitViews.apply(tensor, d, tuple(sizes), name + "Backward0")
        return tuple(as_view(t, tensor) for t in parts) if views else parts
    out, start = [], 0
    for s in sizes:
        if views:
            out.append(_slice(tensor, d, start, start + s))
        else:
            out.append(Slice.apply(tensor, (slice(None),) * d + (slice(start, start + s),)))
        start += s
    return tuple(out)


class SplitViews(Op):
    """The pieces of a split along one dim as views, one node for all of them: the backward
    writes the pieces' gradients into one array (zeros only where a piece has none), where a
    node per piece made a zero-padded full-size gradient for each and summed them (nanoGPT's
    q, k, v split of (12, 64, 384): 190 -> 60 us per backward)."""

    higher_order = True

    def name(self) -> str:
        return self.node_name

    @staticmethod
    def forward(ctx, a, d, sizes, node_name):
        ctx.node_name = node_name
        ctx.shape = a.shape
        ctx.d = d
        ctx.sizes = sizes
        pre = (slice(None),) * d
        starts = itertools.accumulate(sizes, initial=0)
        ctx.keys = [pre + (slice(b, b + n),) for b, n in zip(starts, sizes)]
        return tuple(a[k] for k in ctx.keys)

    @staticmethod
    def backward(ctx, *gs):
        d, sizes = ctx.d, ctx.sizes
        if any(isinstance(g, Tensor) for g in gs):  # create_graph: a differentiable cat
            like = next(g for g in gs if g is not None)
            parts = []
            for g, n in zip(gs, sizes):
                if g is None:
                    shape = list(ctx.shape)
                    shape[d] = n
                    g = zeros(*shape, dtype=like.dtype, device=like.device)
                parts.append(g)
            return cat(parts, d), None, None, None
        like = next(g for g in gs if g is not None)
        xp = xp_of(like)
        full = xp.empty if all(g is not None for g in gs) else xp.zeros
        out = full(ctx.shape, like.dtype)
        for g, k in zip(gs, ctx.keys):
            if g is not None:
                out[k] = g
        return out, None, None, None


def split_with_sizes(input: Tensor, split_sizes, dim: int = 0) -> tuple:
    """Views of the given sizes along dim (they must sum to its length)."""
    return split(input, list(split_sizes), dim)


def split_copy(tensor: Tensor, split_size_or_sections, dim: int = 0) -> tuple:
    """split, as copies."""
    return tuple(p.clone() for p in split(tensor, split_size_or_sections, dim))


def split_with_sizes_copy(input: Tensor, split_sizes, dim: int = 0) -> tuple:
    """split_with_sizes, as copies."""
    return tuple(p.clone() for p in split(input, list(split_sizes), dim))


def chunk(input: Tensor, chunks: int, dim: int = 0) -> tuple:
    """Split into ``chunks`` nearly equal pieces along ``dim``."""
    return split(input, *_chunk_split(input, chunks, dim))


def _chunk_split(input: Tensor, chunks: int, dim: int) -> tuple:
    """split's arguments for chunk: the piece size (one empty piece of an empty dim) and dim."""
    if chunks <= 0:
        raise RuntimeError("chunk expects `chunks` to be greater than 0, got: " + str(chunks))
    d = check_dim(dim, input._data.ndim)
    n = input._data.shape[d]
    return (-(-n // chunks) if n else [0]), d


def unbind(input: Tensor, dim: int = 0) -> tuple:
    """The slices along ``dim``, as a tuple of views (which refuse in-place changes that
    autograd would record, as torch's)."""
    a = input._data
    d = check_dim(dim, a.ndim)
    if plain(input):  # measured: iterating 32 elements, 190 us -> about 25 us
        pre = (slice(None),) * d
        parts = tuple(view_of(a[pre + (i, ...)], input) for i in range(a.shape[d]))
    else:
        parts = tuple(_slice(input, d, i, None, drop=True) for i in range(a.shape[d]))
    return mark_multi_views(parts, "Unbind", input)


def unbind_copy(input: Tensor, dim: int = 0) -> tuple:
    """unbind, as copies."""
    return tuple(p.clone() for p in unbind(input, dim))


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


def cartesian_prod(*tensors) -> Tensor:
    grids = meshgrid(*tensors, indexing="ij")
    if len(tensors) == 1:
        return tensors[0]
    return stack([g.reshape(-1) for g in grids], 1)


def combinations(input: Tensor, r: int = 2, with_replacement: bool = False) -> Tensor:
    """The r-length combinations of a 1-d tensor's elements, one per row (itertools order)."""
    if input._data.ndim != 1:
        raise RuntimeError(f"Expect a 1D vector, but got shape {list(input._data.shape)}")
    if r < 0:
        raise RuntimeError(f"Expect a non-negative number, but got {r}")
    if r == 0:
        return input[np.zeros(0, np.int64)]  # empty, but in the graph as torch's
    n = input._data.shape[0]
    make = itertools.combinations_with_replacement if with_replacement else itertools.combinations
    rows = list(make(range(n), r))
    idx = np.asarray(rows, dtype=np.int64).reshape(len(rows), r)
    return stack([input[idx[:, k]] for k in range(r)], 1)


def unsafe_chunk(input: Tensor, chunks: int, dim: int = 0) -> tuple:
    """chunk whose pieces allow in-place changes under autograd, as torch's unsafe_ forms: they
    share the input's memory but are not views to autograd, so an in-place change of one is
    recorded on it alone (the input's history is not rewritten: the caller vouches for that)."""
    size, d = _chunk_split(input, chunks, dim)
    return _split(input, size, d, _split_name(size, unsafe=True))


def unsafe_split(tensor: Tensor, split_size_or_sections, dim: int = 0) -> tuple:
    """split without the in-place refusal (see unsafe_chunk)."""
    return _split(
        tensor, split_size_or_sections, dim, _split_name(split_size_or_sections, unsafe=True)
    )


def unsafe_split_with_sizes(input: Tensor, split_sizes, dim: int = 0) -> tuple:
    """split_with_sizes without the in-place refusal (see unsafe_chunk)."""
    return _split(input, list(split_sizes), dim, _split_name(list(split_sizes), unsafe=True))
