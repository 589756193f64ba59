"""Views: ops whose result shares storage (and the version counter) with the input, as torch's
views do: view/reshape, permute/transpose/t/movedim, squeeze/unsqueeze, flatten/unflatten,
expand/broadcast_to, narrow/select, diagonal and unfold (strided views). Each backward is
duck-typed, so these support higher-order gradients.

Borderline choices, one line each:
- reshape, flatten, squeeze, ravel, atleast_nd: views that copy only where no view exists (torch).
- expand_copy and narrow_copy sit beside the view they copy; the other *_copy ops are at the end.
- broadcast_shapes makes no tensor; it sits with broadcast_to and broadcast_tensors.
- DiagScatter is diagonal's adjoint, so it is here; the diag ops in rearrange.py build on it.
- split, chunk, unbind and tensor_split return views but, as cat's inverse, live in join.py.
- meshgrid returns expanded views of its inputs, so it is here (cartesian_prod is in join.py).
"""

from __future__ import annotations

import numpy as np

from .. import dtypes
from .._backend.xp import CPU_ARRAY, cuda_index, xp_of
from .._grad_state import state as _gs
from .._tensor_errors import broadcast_error, check_dim
from ..autograd import node as _node
from ..autograd.node import Op
from ..tensor import Size, Tensor, _wrap, as_view, view_of
from . import _bw
from .indexing import index_put_zeros

__all__ = [
    "meshgrid",
    "reshape",
    "transpose",
    "swapaxes",
    "swapdims",
    "permute",
    "t",
    "movedim",
    "moveaxis",
    "squeeze",
    "unsqueeze",
    "flatten",
    "unflatten",
    "ravel",
    "atleast_1d",
    "atleast_2d",
    "atleast_3d",
    "expand_copy",
    "broadcast_to",
    "broadcast_tensors",
    "broadcast_shapes",
    "narrow",
    "narrow_copy",
    "select",
    "diagonal",
    "as_strided",
    "as_strided_copy",
    "as_strided_scatter",
    "view_copy",
    "permute_copy",
    "transpose_copy",
    "t_copy",
    "squeeze_copy",
    "unsqueeze_copy",
    "select_copy",
    "diagonal_copy",
    "unfold_copy",
    "slice_copy",
    "alias_copy",
    "detach_copy",
]


def plain(t: Tensor) -> bool:
    """True when an op on ``t`` may skip the graph and the op machinery: a CPU array, no
    gradient to record, no profile running. The fast paths below take it (measured: a view
    or transpose of a small tensor went from 3-7 us to under 1 us)."""
    return type(t._data) is CPU_ARRAY and not (t._rg and _gs.enabled) and not _node._profiling


def _shape_arg(shape) -> tuple:
    if len(shape) == 1 and isinstance(shape[0], (tuple, list, Size)):
        shape = shape[0]
    return tuple(int(s) for s in shape)


# --- view / reshape -------------------------------------------------------------------------
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
    for k, s in enumerate(shape):
        if s != -1:
            if s < -1:
                raise RuntimeError(
                    f"invalid shape dimension {s} at index {k} of shape {list(shape)}"
                )
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
    # a reshape that is a view starts where its input does; a copy is a new allocation (one
    # pointer read, where shares_memory cost CuPy 0.5 ms a call: a tenth of a GPU CNN step)
    if need_view or _same_start(r._data, input._data):
        as_view(r, input)
    return r


def _same_start(r, a) -> bool:
    """Whether the reshape ``r`` of ``a`` is a view: for NumPy and CuPy arrays, whether it
    starts at ``a``'s first byte; for other arrays (vmap's) whether it shares memory."""
    if type(r) is CPU_ARRAY or cuda_index(r) is not None:
        return bool(r.size) and _ptr(r) == _ptr(a)
    return bool(np.shares_memory(r, a))


def reshape(input: Tensor, *shape) -> Tensor:
    """The same data with a new shape; a view where possible, else a copy."""
    return _reshape(input, _shape_arg(shape), False)


def view(input: Tensor, *shape) -> Tensor:
    """A view with a new shape (errors where a view is impossible); ``view(dtype)`` is not
    supported."""
    a = input._data
    if shape and type(a) is CPU_ARRAY and not (input._rg and _gs.enabled) and not _node._profiling:
        s = shape[0] if len(shape) == 1 and type(shape[0]) is not int else shape
        if (type(s) is tuple or type(s) is Size or type(s) is list) and s:
            try:  # a C-contiguous array reshapes to a view always; others only without a copy
                # (sizes unpacked: NumPy parses a tuple argument 100 ns slower than positions)
                r = a.reshape(*s) if a.flags["C_CONTIGUOUS"] else a.reshape(s, copy=False)
            except (ValueError, TypeError):
                pass  # torch's message (or the dtype form) from the general path below
            else:
                # NumPy takes any negative size as the inferred one, torch only -1
                if r.shape == s or min(s) >= -1:
                    return view_of(r, input)
    if len(shape) == 1 and not isinstance(shape[0], (int, tuple, list, Size)):
        dt = dtypes.to_dtype(shape[0])
        return as_view(_wrap(input._data.view(dt.np)), input)
    return _reshape(input, _shape_arg(shape), True)


def ravel(input: Tensor) -> Tensor:
    """The elements as a 1-d tensor (a view where possible)."""
    return reshape(input, (-1,))


# --- permute / transpose / movedim ------------------------------------------------------------
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
    a = input._data
    nd = a.ndim
    if (
        type(dim0) is int
        and type(dim1) is int
        and -nd <= dim0 < nd
        and -nd <= dim1 < nd
        and type(a) is CPU_ARRAY
        and not (input._rg and _gs.enabled)
        and not _node._profiling
    ):
        return view_of(a.swapaxes(dim0, dim1), input)
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
    a = input._data
    nd = a.ndim
    if nd > 2:
        raise RuntimeError(f"t() expects a tensor with <= 2 dimensions, but self is {nd}D")
    if type(a) is CPU_ARRAY and not (input._rg and _gs.enabled) and not _node._profiling:
        return view_of(a.T, input)
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


# --- squeeze / unsqueeze / flatten / unflatten / atleast_nd -----------------------------------
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
    if plain(input):  # inserting a size-1 dim never copies
        return view_of(input._data.reshape(shp[:d] + (1,) + shp[d:]), input)
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


# --- expand and broadcasting ------------------------------------------------------------------
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
            raise broadcast_error(shape, t._data.shape) from None
    return tuple(expand(t, shape) for t in tensors)


# --- slices along one dim: narrow, select ----------------------------------------------------
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


def narrow_copy(input: Tensor, dim: int, start: int, length: int) -> Tensor:
    """narrow, as a copy."""
    return narrow(input, dim, start, length).clone()


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


# --- strided views: diagonal, unfold -----------------------------------------------------------
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


def meshgrid(*tensors, indexing: str = "ij"):
    """Coordinate grids; ember defaults to 'ij' as torch does."""
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tensors[0]
    n = len(tensors)
    sizes = [t.numel() for t in tensors]
    if indexing == "xy" and n >= 2:
        sizes[0], sizes[1] = sizes[1], sizes[0]
    out = []
    for i, t in enumerate(tensors):
        shape = [1] * n
        pos = i
        if indexing == "xy" and n >= 2 and i < 2:
            pos = 1 - i
        shape[pos] = t.numel()
        out.append(expand(reshape(t, shape), sizes))
    return tuple(out)


# --- as_strided ----------------------------------------------------------------------------
def _ptr(a) -> int:
    return a.__array_interface__["data"][0] if hasattr(a, "__array_interface__") else a.data.ptr


def _storage_root(a):
    """The array that owns ``a``'s memory (torch's storage) as a flat array, and ``a``'s offset
    into it. Memory that no contiguous array owns (a strided view made by NumPy's
    as_strided) is taken as a contiguous copy of ``a`` itself."""
    mem = getattr(getattr(a, "data", None), "mem", None)
    if mem is not None and type(a) is not CPU_ARRAY:
        # a CuPy array: its allocation is the storage (CuPy's views and as_strided results
        # keep no base array, only the pointer into it)
        xp = xp_of(a)
        n = mem.size // a.itemsize
        root = xp.ndarray((n,), a.dtype, memptr=xp.cuda.MemoryPointer(mem, 0))
        return root, (a.data.ptr - mem.ptr) // a.itemsize
    root = a
    while (b := getattr(root, "base", None)) is not None:
        if type(b) is not type(a):  # NumPy's as_strided result: its base is a wrapper's base
            b = getattr(b, "base", None)
        if b is None or type(b) is not type(a):
            break
        root = b
    if not root.flags.c_contiguous and root.flags.f_contiguous:
        root = root.T  # a Fortran-ordered owner: the same memory, read in its own order
    if not root.flags.c_contiguous:
        return xp_of(a).ascontiguousarray(a).reshape(-1), 0
    return root.reshape(-1), (_ptr(a) - _ptr(root)) // a.itemsize


def _as_strided_checked(b, dt, offset: int, size, stride):
    """A view of the flat bytes ``b`` as elements of NumPy dtype ``dt``: ``size`` and ``stride``
    (contiguous when None) in elements from element ``offset``; torch's setStorage error when
    it reaches past the bytes (``Tensor.set_`` on a storage)."""
    size = tuple(int(v) for v in size)
    if stride is None:
        stride, acc = [], 1
        for v in reversed(size):
            stride.insert(0, acc)
            acc *= max(v, 1)
    stride = tuple(int(v) for v in stride)
    isz = np.dtype(dt).itemsize
    n = b.size // isz
    need = 0 if 0 in size else offset + 1 + sum((v - 1) * st for v, st in zip(size, stride))
    if need > n or offset < 0 or len(size) != len(stride):
        raise RuntimeError(
            f"setStorage: sizes {list(size)}, strides {list(stride)}, storage offset {offset}, and "
            f"itemsize {isz} requiring a storage size of {need * isz} are out of bounds for "
            f"storage of size {b.size}"
        )
    flat = b[: n * isz].view(dt)
    return _as_strided(flat[offset:], size, tuple(st * isz for st in stride))


def _strided_positions(n: int, shape, strides, offset: int):
    """For each element of a strided view, its position in a storage of ``n`` elements."""
    pos = np.arange(n, dtype=np.int64)
    return _as_strided(pos[offset:], shape, tuple(s * 8 for s in strides))


class AsStrided(Op):
    """A view with the given sizes and element strides over the input's storage. The backward
    sums the gradient by storage position, then reads it back at the input's positions."""

    higher_order = False

    @staticmethod
    def forward(ctx, a, size, stride, offset):
        flat, a_off = _storage_root(a)
        isz = a.itemsize
        ctx.geo = (
            flat.size,
            size,
            stride,
            offset,
            a.shape,
            tuple(s // isz for s in a.strides),
            a_off,
        )
        return _as_strided(flat[offset:], size, tuple(s * isz for s in stride))

    @staticmethod
    def backward(ctx, g):
        n, size, stride, offset, a_shape, a_strides, a_off = ctx.geo
        xp = xp_of(g)
        acc = xp.zeros(n, g.dtype)
        xp.add.at(acc, xp.asarray(_strided_positions(n, size, stride, offset)), g)
        return acc[xp.asarray(_strided_positions(n, a_shape, a_strides, a_off))], None, None, None


def as_strided(input: Tensor, size, stride, storage_offset: int | None = None) -> Tensor:
    """A view of input's storage with the given sizes and strides (in elements)."""
    size, stride = tuple(int(s) for s in size), tuple(int(s) for s in stride)
    if len(size) != len(stride):
        raise RuntimeError(
            f"mismatch in length of strides and shape: strides has {len(stride)} elements but "
            f"shape has {len(size)} elements"
        )
    if any(s < 0 for s in stride):
        raise RuntimeError(
            f"as_strided: Negative strides are not supported at the moment, got strides: "
            f"{list(stride)}"
        )
    a = input._data
    flat, a_off = _storage_root(a)
    off = a_off if storage_offset is None else int(storage_offset)
    need = 0 if 0 in size else off + 1 + sum((n - 1) * s for n, s in zip(size, stride))
    if need > flat.size or off < 0:
        isz = a.itemsize
        raise RuntimeError(
            f"setStorage: sizes {list(size)}, strides {list(stride)}, storage offset {off}, and "
            f"itemsize {isz} requiring a storage size of {need * isz} are out of bounds for "
            f"storage of size {flat.size * isz}"
        )
    return as_view(AsStrided.apply(input, size, stride, off), input)


def as_strided_copy(input: Tensor, size, stride, storage_offset: int | None = None) -> Tensor:
    """as_strided, as a copy."""
    return as_strided(input, size, stride, storage_offset).clone()


class AsStridedScatter(Op):
    """A contiguous copy of the input with ``src`` written at the strided positions."""

    @staticmethod
    def forward(ctx, a, src, size, stride, offset):
        xp = xp_of(a)
        out = xp.ascontiguousarray(a).copy()
        pos = xp.asarray(_strided_positions(out.size, size, stride, offset))
        out.reshape(-1)[pos] = src
        ctx.pos, ctx.shape = pos, a.shape
        return out

    @staticmethod
    def backward(ctx, g):
        g = xp_of(g).ascontiguousarray(g)
        flat = g.reshape(-1)
        gsrc = flat[ctx.pos] if ctx._needs[1] else None
        ga = None
        if ctx._needs[0]:
            ga = g.copy()
            ga.reshape(-1)[ctx.pos] = 0
        return ga, gsrc, None, None, None


def as_strided_scatter(
    input: Tensor, src: Tensor, size, stride, storage_offset: int | None = None
) -> Tensor:
    """A copy of input (contiguous) whose as_strided view (size, stride, offset) holds src."""
    size, stride = tuple(int(s) for s in size), tuple(int(s) for s in stride)
    off = 0 if storage_offset is None else int(storage_offset)
    as_strided(input.detach().contiguous(), size, stride, off)  # torch's checks and errors
    if tuple(src._data.shape) != size:
        raise RuntimeError(
            f"expected src to have a size equal to the slice of self. src size = "
            f"{list(src._data.shape)}, slice size = {list(size)}"
        )
    if src._data.dtype != input._data.dtype:
        src = src.to(input.dtype)
    return AsStridedScatter.apply(input, src, size, stride, off)


# --- the *_copy forms of the views (torch's functional variants): the view, then a copy ----
def _copy_of(view_fn, name: str):
    def fn(input: Tensor, *args, **kwargs) -> Tensor:
        return view_fn(input, *args, **kwargs).clone()

    fn.__name__ = name
    fn.__qualname__ = name
    fn.__doc__ = f"{view_fn.__name__}, as a copy (torch.{name})."
    return fn


view_copy = _copy_of(view, "view_copy")
permute_copy = _copy_of(permute, "permute_copy")
transpose_copy = _copy_of(transpose, "transpose_copy")
t_copy = _copy_of(t, "t_copy")
squeeze_copy = _copy_of(squeeze, "squeeze_copy")
unsqueeze_copy = _copy_of(unsqueeze, "unsqueeze_copy")
select_copy = _copy_of(select, "select_copy")
diagonal_copy = _copy_of(diagonal, "diagonal_copy")
unfold_copy = _copy_of(unfold, "unfold_copy")


def slice_copy(input: Tensor, dim: int = 0, start=None, end=None, step: int = 1) -> Tensor:
    """input[..., start:end:step, ...] along ``dim``, as a copy."""
    d = check_dim(dim, input._data.ndim)
    return input[(slice(None),) * d + (slice(start, end, step),)].clone()


def alias_copy(input: Tensor) -> Tensor:
    """A copy of input (torch.alias_copy)."""
    return input.clone()


def detach_copy(input: Tensor) -> Tensor:
    """A detached copy of input."""
    return input.detach().clone()
