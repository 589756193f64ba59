"""Index-driven reads and writes: gather, scatter (+add/reduce), index_select, index_add,
index_copy, index_fill, the flat and masked forms (take, put, masked_select, masked_scatter,
masked_fill), and their in-place forms.

gather and scatter_add are each other's backward, so both support higher-order gradients.
"""

from __future__ import annotations

import numpy as np

from .. import dtypes
from .._backend import ufunc_methods
from .._backend.casting import cast
from .._backend.xp import CPU_ARRAY, cuda_index, xp_of
from .._tensor_errors import broadcast_error, check_dim
from ..autograd.node import Op
from ..dtypes import scalar_type_name
from ..tensor import Tensor, _wrap, is_grad_recording
from . import _bw
from .compare import where
from .creation import zeros
from .indexing import index_put_zeros
from .inplace import copy_into_out, inplace

__all__ = [
    "gather",
    "scatter",
    "scatter_add",
    "scatter_reduce",
    "index_reduce",
    "index_select",
    "masked_select",
    "masked_fill",
    "take",
    "take_along_dim",
    "index_add",
    "index_copy",
    "index_fill",
    "masked_scatter",
    "put",
]


# --- helpers -------------------------------------------------------------------------------
def full_index(idx, dim: int) -> tuple:
    """An advanced-indexing key that addresses ``a[..., idx[...], ...]`` along ``dim`` for every
    position of ``idx`` (open grids in the other dims)."""
    xp = xp_of(idx)
    nd = idx.ndim
    key = []
    for k, n in enumerate(idx.shape):
        if k == dim:
            key.append(idx)
        else:
            ck = (xp.__name__, cuda_index(idx), n, k, nd)
            g = _GRIDS.get(ck)
            if g is None:
                if len(_GRIDS) > 256:
                    _GRIDS.clear()
                shp = [1] * nd
                shp[k] = n
                g = _GRIDS[ck] = xp.arange(n).reshape(shp)
                if xp is np:
                    g.flags.writeable = False
            key.append(g)
    return tuple(key)


_GRIDS: dict = {}  # open-grid aranges by (array module, GPU, length, position, ndim); read-only


def _lead(a, shape, dim: int):
    """``a`` cut to ``shape`` in every dim but ``dim`` (gather/scatter only read that corner)."""
    if a.shape == tuple(shape):
        return a
    key = tuple(slice(None) if k == dim else slice(0, n) for k, n in enumerate(shape))
    return a[key]


def _corner(src, shape):
    """src cut to ``shape`` in every dim (scatter reads src only where index has entries)."""
    if src.shape == tuple(shape):
        return src
    return src[tuple(slice(0, n) for n in shape)]


def _check_index(index: Tensor, name: str) -> None:
    if not isinstance(index, Tensor):
        raise TypeError(f"{name}(): argument 'index' must be Tensor, not {type(index).__name__}")
    if index._data.dtype.kind not in "iu":
        raise RuntimeError(f"{name}(): Expected dtype int32/int64 for index")


def _check_bounds(idx, size: int, dim: int) -> None:
    # one unsigned comparison catches both negative and too-large indices
    if idx.size and (idx.view(_UNSIGNED[idx.dtype.itemsize]) >= size).any():
        lo, hi = idx.min(), idx.max()
        bad = int(lo if lo < 0 else hi)
        raise RuntimeError(f"index {bad} is out of bounds for dimension {dim} with size {size}")


_UNSIGNED = {1: np.uint8, 2: np.uint16, 4: np.uint32, 8: np.uint64}


def _gs_check(input: Tensor, dim: int, index: Tensor, name: str, src=None) -> int:
    """torch's shape rules for gather/scatter: same ndim, index no larger than self/src."""
    _check_index(index, name)
    a, idx = input._data, index._data
    nd = max(a.ndim, 1)
    d = check_dim(dim, a.ndim)
    if idx.ndim != a.ndim and not (idx.ndim <= 1 and a.ndim <= 1):
        raise RuntimeError("Index tensor must have the same number of dimensions as input tensor")
    ishape, ashape = list(idx.shape) or [1], list(a.shape) or [1]
    bad = any(ishape[k] > ashape[k] for k in range(nd) if k != d)
    if src is not None:
        sshape = list(src.shape) or [1]
        if bad or any(ishape[k] > sshape[k] for k in range(min(nd, len(sshape)))):
            raise RuntimeError(
                f"Expected index {ishape} to be no larger than self {ashape} apart from "
                f"dimension {d} and to be no larger size than src {sshape}"
            )
    elif bad:
        k = next(k for k in range(nd) if k != d and ishape[k] > ashape[k])
        if name == "gather":
            raise RuntimeError(
                f"Size does not match at dimension {k} expected index {ishape} to be no larger "
                f"than self {ashape} apart from dimension {d}"
            )
        raise RuntimeError(
            f"Expected index {ishape} to be no larger than self {ashape} apart from dimension {d}"
        )
    _check_bounds(idx, ashape[d], d)
    return d


def add_at(z, key: tuple, v) -> None:
    """``z[key] += v`` with repeated positions accumulating (the ufunc's ``at``)."""
    xp_of(z).add.at(z, key, v)


def _as1(a):
    return a.reshape(1) if a.ndim == 0 else a


def _copy(a):
    """A writable array copy; a NumPy scalar (0-d arithmetic gives them) becomes a 0-d array,
    so that writes through ``_as1`` reach it."""
    return xp_of(a).array(a, copy=True)


class _Ctx:
    pass


def _fw(cls, *args):
    """Run an op's forward on arrays alone (inside another op's backward)."""
    return cls.forward(_Ctx(), *args)


# --- gather / scatter_add ------------------------------------------------------------------
class Gather(Op):
    higher_order = True

    @staticmethod
    def forward(ctx, a, dim, idx, unique=False):
        ctx.shape, ctx.dim, ctx.idx, ctx.unique = a.shape, dim, idx, unique
        if a.ndim == 0:
            return a.reshape(1)[idx.reshape(-1)].reshape(idx.shape)
        return a[full_index(idx, dim)]

    @staticmethod
    def backward(ctx, g):
        if isinstance(g, Tensor):
            z = zeros(ctx.shape, dtype=g.dtype, device=g.device)
            return ScatterAdd.apply(z, ctx.dim, _wrap(ctx.idx), g), None, None, None
        xp = xp_of(g)
        z = xp.zeros(ctx.shape, g.dtype)
        if ctx.unique and z.ndim:
            # one index per position (sort, max along dim): a plain put is enough
            xp.put_along_axis(_lead(z, ctx.idx.shape, ctx.dim), ctx.idx, g, ctx.dim)
        else:
            add_at(_as1(z), full_index(_as1(ctx.idx), ctx.dim), _as1(g))
        return z, None, None, None


class ScatterAdd(Op):
    higher_order = True

    @staticmethod
    def forward(ctx, a, dim, idx, src):
        ctx.dim, ctx.idx, ctx.sshape = dim, idx, src.shape
        out = _copy(a)
        add_at(_as1(out), full_index(_as1(idx), dim), _as1(_corner(_as1(src), _as1(idx).shape)))
        return out

    @staticmethod
    def backward(ctx, g):
        gs = None
        if ctx._needs[3]:
            gs = (
                Gather.apply(g, ctx.dim, _wrap(ctx.idx))
                if isinstance(g, Tensor)
                else _fw(Gather, g, ctx.dim, ctx.idx)
            )
            if tuple(gs.shape) != tuple(ctx.sshape):
                gs = _pad_to(gs, ctx.sshape)
        return g, None, None, gs


def _pad_to(g, shape):
    """Zero-pad ``g`` up to ``shape`` (src larger than index: the extra part got no gradient)."""
    if isinstance(g, Tensor):
        return index_put_zeros(g, tuple(shape), tuple(slice(0, n) for n in g.shape))
    z = xp_of(g).zeros(shape, g.dtype)
    z[tuple(slice(0, n) for n in g.shape)] = g
    return z


def gather(
    input: Tensor, dim: int, index: Tensor, *, sparse_grad: bool = False, out=None
) -> Tensor:
    """Values of input at ``index`` along ``dim`` (result has index's shape)."""
    if isinstance(index, Tensor) and index._data.size == 0:  # torch checks no shapes then
        _check_index(index, "gather")
        return _finish(input.reshape(-1)[:0].reshape(index._data.shape), out)
    d = _gs_check(input, dim, index, "gather")
    idx = index._data
    if idx.dtype != np.int64:
        idx = idx.astype(np.int64)
    return _finish(Gather.apply(input, d, idx), out)


def take_along_dim(input: Tensor, indices: Tensor, dim: int | None = None) -> Tensor:
    """gather with broadcasting of the index against input (numpy's take_along_axis)."""
    if dim is None:  # torch gathers from the flattened input: negative indices raise
        return gather(input.reshape(-1), 0, indices.reshape(-1))
    d = check_dim(dim, input._data.ndim)
    ia = indices._data
    if ia.size and input._data.ndim and (ia < 0).any():  # along a dim, torch wraps them
        indices = _wrap(ia + (ia < 0) * input._data.shape[d])
    a_shape = list(input._data.shape)
    i_shape = list(indices._data.shape)
    bs_a = a_shape[:d] + [1] + a_shape[d + 1 :]
    bs_i = i_shape[:d] + [1] + i_shape[d + 1 :]
    common = list(np.broadcast_shapes(tuple(bs_a), tuple(bs_i)))
    a = input.expand(*(common[:d] + [a_shape[d]] + common[d + 1 :]))
    idx = indices.expand(*(common[:d] + [i_shape[d]] + common[d + 1 :]))
    return gather(a, d, idx)


def scatter_add(input: Tensor, dim: int, index: Tensor, src: Tensor) -> Tensor:
    """Copy of input with src added at ``index`` along ``dim`` (repeats accumulate)."""
    d = _gs_check(input, dim, index, "scatter_add", src._data)
    _same_dtype(input, src, "scatter()")
    return ScatterAdd.apply(input, d, index._data, src)


def _same_dtype(a: Tensor, b: Tensor, name: str) -> None:
    if a._data.dtype != b._data.dtype:
        raise RuntimeError(f"{name}: Expected self.dtype to be equal to src.dtype")


# --- scatter -------------------------------------------------------------------------------
class Scatter(Op):
    higher_order = True

    @staticmethod
    def forward(ctx, a, dim, idx, src, reduce):
        ctx.dim, ctx.idx = dim, idx
        ctx.sshape = getattr(src, "shape", None)
        out = _copy(a)
        key = full_index(_as1(idx), dim)
        v = _as1(_corner(_as1(src), _as1(idx).shape)) if hasattr(src, "shape") else src
        o = _as1(out)
        if reduce is None:
            o[key] = v
        elif reduce == "add":
            add_at(o, key, v)
        else:
            ufunc_methods.at(xp_of(a).multiply, o, key, v)
        return out

    @staticmethod
    def backward(ctx, g):
        n = ctx._needs
        ga = gs = None
        if n[0]:
            ga = (
                Scatter.apply(g, ctx.dim, _wrap(ctx.idx), 0, None)
                if isinstance(g, Tensor)
                else _fw(Scatter, g, ctx.dim, ctx.idx, 0, None)
            )
        if n[3]:
            gs = (
                Gather.apply(g, ctx.dim, _wrap(ctx.idx))
                if isinstance(g, Tensor)
                else _fw(Gather, g, ctx.dim, ctx.idx)
            )
            if tuple(gs.shape) != tuple(ctx.sshape):
                gs = _pad_to(gs, ctx.sshape)
        return ga, None, None, gs, None


def scatter(
    input: Tensor, dim: int, index: Tensor, src=None, value=None, *, reduce: str | None = None
) -> Tensor:
    """Copy of input with ``src`` (a tensor, or a scalar ``value``) written at ``index``."""
    if src is None:
        src = value
    if reduce is not None and reduce not in ("add", "multiply"):
        raise RuntimeError("reduce argument must be either add or multiply.")
    if isinstance(src, Tensor):
        d = _gs_check(input, dim, index, "scatter", src._data)
        _same_dtype(input, src, "scatter()")
    else:
        d = _gs_check(input, dim, index, "scatter")
        if src is None:
            raise TypeError("scatter() missing required argument 'src' or 'value'")
        src = cast(np.asarray(src), input._data.dtype).item() if not hasattr(src, "shape") else src
    if reduce is not None and _grad_on(input, src):
        raise RuntimeError("scatter(): reduce with autograd is not supported in ember")
    return Scatter.apply(input, d, index._data, src, reduce)


def _grad_on(*ts) -> bool:
    return is_grad_recording(*ts)


def _scatter_reduce_arr(a, d, idx, v, reduce, include_self):
    """The scatter_reduce result as an array; ``v`` is src cut to index's shape."""
    xp = xp_of(a)
    key = full_index(_as1(idx), d)
    out = _copy(a)
    o = _as1(out)
    if not include_self:
        ident = {"sum": 0, "mean": 0, "prod": 1}.get(reduce)
        if ident is None:
            info = np.finfo(a.dtype) if a.dtype.kind == "f" else np.iinfo(a.dtype)
            ident = info.min if reduce == "amax" else info.max
        o[key] = ident
    ufunc = {
        "sum": xp.add,
        "mean": xp.add,
        "prod": xp.multiply,
        "amax": xp.maximum,
        "amin": xp.minimum,
    }[reduce]
    ufunc_methods.at(ufunc, o, key, _as1(v))
    if reduce == "mean":
        o[...] = (
            (o / _mean_count(o, key, include_self))
            if a.dtype.kind == "f"
            else (o // _mean_count(o, key, include_self))
        )
    return out


def _mean_count(o, key, include_self):
    """How many values each position of a 'mean' scatter_reduce averages (at least 1)."""
    xp = xp_of(o)
    cnt = xp.zeros(o.shape, np.int64) + (1 if include_self else 0)
    xp.add.at(cnt, key, 1)
    return xp.maximum(cnt, 1)


class ScatterReduce(Op):
    """scatter_reduce with torch's gradients: ties of amax/amin share the gradient evenly, prod
    takes the product of the others (zeros handled exactly), mean divides by the count."""

    @staticmethod
    def forward(ctx, a, d, idx, src, reduce, include_self):
        v = _corner(_as1(src), _as1(idx).shape)
        out = _scatter_reduce_arr(a, d, idx, v, reduce, include_self)
        ctx.args = (a, d, idx, v, src.shape, reduce, include_self, out)
        return out

    @staticmethod
    def backward(ctx, g):
        a, d, idx, v, src_shape, reduce, include_self, out = ctx.args
        xp = xp_of(g)
        key = full_index(_as1(idx), d)
        a1, g1, o1 = _as1(a), _as1(g), _as1(out)
        if reduce == "sum":
            gs, gv = g1, g1[key]
        elif reduce == "mean":
            gd = g1 / _mean_count(o1, key, include_self)
            gs, gv = gd, gd[key]
        elif reduce == "prod":
            ms = xp.where(a1 == 0, a1.dtype.type(1), a1)
            gs = g1 * _scatter_reduce_arr(ms, d, idx, v, reduce, include_self) / ms
            vz = v == 0
            nz = xp.zeros(a1.shape, a1.dtype)
            xp.add.at(nz, key, vz.astype(a1.dtype))
            single = vz & (nz[key] == 1)
            masked = _scatter_reduce_arr(
                a1, d, idx, xp.where(single, v.dtype.type(1), v), reduce, include_self
            )
            gv = xp.where(
                single, (g1 * masked)[key], (g1 * o1)[key] / xp.where(vz, v.dtype.type(1), v)
            )
        else:  # amax / amin
            a_is = (a1 == o1).astype(a1.dtype)
            v_is = (v == o1[key]).astype(a1.dtype)
            n = a_is.copy()
            xp.add.at(n, key, v_is)
            gd = g1 / n
            gs, gv = a_is * gd, v_is * gd[key]
        if not include_self:
            gs = gs.copy()
            gs[key] = 0
        gsrc = None
        if ctx._needs[3]:
            gsrc = gv if tuple(gv.shape) == tuple(src_shape) else xp.zeros(src_shape, g.dtype)
            if gsrc is not gv:
                _as1(gsrc)[tuple(slice(0, n) for n in gv.shape)] = gv
        return (
            gs.reshape(a.shape),
            None,
            None,
            gsrc.reshape(src_shape) if gsrc is not None else None,
            None,
            None,
        )

    def name(self) -> str:
        return "ScatterReduceBackward0"


def scatter_reduce(
    input: Tensor, dim: int, index: Tensor, src: Tensor, reduce: str, *, include_self: bool = True
) -> Tensor:
    """scatter with reduce 'sum'/'prod'/'amax'/'amin'/'mean', with torch's gradients."""
    d = _gs_check(input, dim, index, "scatter_reduce", src._data)
    _same_dtype(input, src, "scatter_reduce()")
    if reduce == "sum" and include_self:
        return scatter_add(input, d, index, src)
    if reduce not in ("sum", "prod", "amax", "amin", "mean"):
        raise RuntimeError(
            "reduce argument must be either sum, prod, mean, amax or amin, got " + reduce
        )
    if _grad_on(input, src):
        return ScatterReduce.apply(input, d, index._data, src, reduce, include_self)
    v = _corner(_as1(src._data), _as1(index._data).shape)
    return _wrap(_scatter_reduce_arr(input._data, d, index._data, v, reduce, include_self))


def index_reduce(
    input: Tensor, dim: int, index: Tensor, source: Tensor, reduce: str, *, include_self=True
) -> Tensor:
    """Reduce the slices of ``source`` into input at ``index`` along ``dim`` ('prod', 'mean',
    'amax', 'amin'): scatter_reduce with the index spread over source's shape."""
    if reduce not in ("prod", "mean", "amax", "amin"):
        raise RuntimeError(
            "index_reduce(): Expected reduce to be one of prod, mean, amax or amin but got "
            f"{reduce}."
        )
    idx = _vec_index(index, "index_reduce")
    nd = input._data.ndim
    d = check_dim(dim, nd)
    src = source._data
    if src.ndim != nd or (nd and src.shape[d] != idx.size):
        raise RuntimeError("index_reduce_(): Number of indices should be equal to source.size(dim)")
    shape = [1] * max(nd, 1)
    shape[d] = idx.size
    full = xp_of(idx).broadcast_to(idx.reshape(shape), src.shape if nd else (idx.size,))
    return scatter_reduce(
        input,
        d,
        _wrap(xp_of(idx).ascontiguousarray(full)),
        source,
        reduce,
        include_self=include_self,
    )


# --- index_select / index_add / index_copy / index_fill -----------------------------------
def _vec_index(index: Tensor, name: str):
    if not isinstance(index, Tensor):
        raise TypeError(f"{name}(): argument 'index' must be Tensor, not {type(index).__name__}")
    idx = index._data
    if idx.ndim > 1:
        raise IndexError(f"{name}(): Index is supposed to be a vector")
    if idx.dtype.kind not in "iu":
        raise RuntimeError(f"{name}(): Expected dtype int32 or int64 for index")
    return idx.reshape(-1)


class IndexSelect(Op):
    higher_order = True

    @staticmethod
    def forward(ctx, a, dim, idx):
        ctx.shape, ctx.dim, ctx.idx = a.shape, dim, idx
        # a 0-d input gives a 0-d result, as torch's
        return xp_of(a).take(a, idx, axis=dim) if a.ndim else a.reshape(1)[idx].reshape(())

    @staticmethod
    def backward(ctx, g):
        if isinstance(g, Tensor):
            z = zeros(ctx.shape, dtype=g.dtype, device=g.device)
            return IndexAdd.apply(z, ctx.dim, ctx.idx, g, 1), None, None
        z = xp_of(g).zeros(ctx.shape, g.dtype)
        _index_add_arr(z, ctx.dim, ctx.idx, g)
        return z, None, None


def _index_add_arr(z, dim, idx, v):
    key = (slice(None),) * dim + (idx,)
    xp_of(z).add.at(_as1(z), key, _as1(v))


def index_select(input: Tensor, dim: int, index: Tensor, *, out=None) -> Tensor:
    """The slices of input at ``index`` (a vector) along ``dim``."""
    idx = _vec_index(index, "index_select")
    d = check_dim(dim, input._data.ndim)
    n = input._data.shape[d] if input._data.ndim else 1
    if idx.size and (idx.min() < 0 or idx.max() >= n):
        bad = int(idx.min() if idx.min() < 0 else idx.max())
        raise RuntimeError(f"INDICES element is out of DATA bounds, id={bad} axis_dim={n}")
    if input._data.ndim == 0:
        if idx.size != 1:
            raise RuntimeError(
                f"index_select(): Index to scalar can have only 1 value, got {idx.size} value(s)"
            )
        idx = idx.reshape(index._data.shape)
    return _finish(IndexSelect.apply(input, d, idx), out)


class IndexAdd(Op):
    higher_order = True

    @staticmethod
    def forward(ctx, a, dim, idx, src, alpha):
        ctx.dim, ctx.idx, ctx.alpha = dim, idx, alpha
        out = _copy(a)
        _index_add_arr(out, dim, idx, src if alpha == 1 else src * alpha)
        return out

    @staticmethod
    def backward(ctx, g):
        gs = None
        if ctx._needs[3]:
            gs = (
                IndexSelect.apply(g, ctx.dim, ctx.idx)
                if isinstance(g, Tensor)
                else _fw(IndexSelect, g, ctx.dim, ctx.idx)
            )
            if ctx.alpha != 1:
                gs = gs * ctx.alpha
        return g, None, None, gs, None


def _index_src_check(input: Tensor, dim: int, index: Tensor, source: Tensor, name: str):
    idx = _vec_index(index, name)
    d = check_dim(dim, input._data.ndim)
    a, s = input._data, source._data
    if a.dtype != s.dtype:
        raise RuntimeError(
            f"{name}(): self ({_pretty(a.dtype)}) and source ({_pretty(s.dtype)}) "
            "must have the same scalar type"
        )
    ns = s.shape[d] if s.ndim else 1
    if idx.size != ns:
        raise RuntimeError(
            f"{name}(): Number of indices ({idx.size}) should be equal to "
            f"source.size(dim): ({ns}), for dim: {d}"
        )
    sa = a.shape[:d] + a.shape[d + 1 :]
    ss = s.shape[:d] + s.shape[d + 1 :]
    if a.ndim and s.ndim and sa != ss:
        if name == "index_copy_":
            k = next((k for k, (x, y) in enumerate(zip(sa, ss)) if x != y), 0)
            raise RuntimeError(
                f"index_copy_(): Source/destination tensor must have same slice shapes. "
                f"Destination slice shape: {sa[k] if k < len(sa) else 1} at dimension {k} and "
                f"source slice shape: {ss[k] if k < len(ss) else 1} at dimension {k}."
            )
        raise RuntimeError(
            f"source tensor shape must match self tensor shape, excluding the specified "
            f"dimension. Got self.shape = {list(a.shape)} source.shape = {list(s.shape)}"
        )
    _check_bounds(idx, a.shape[d] if a.ndim else 1, d)
    return d, idx


def _pretty(npd) -> str:
    return scalar_type_name(dtypes.from_numpy_dtype(npd).name)


def index_add(input: Tensor, dim: int, index: Tensor, source: Tensor, *, alpha=1) -> Tensor:
    """Copy of input with ``alpha * source`` slices added at ``index`` along ``dim``."""
    d, idx = _index_src_check(input, dim, index, source, "index_add_")
    return IndexAdd.apply(input, d, idx, source, alpha)


class IndexCopy(Op):
    higher_order = True

    @staticmethod
    def forward(ctx, a, dim, idx, src):
        ctx.dim, ctx.idx = dim, idx
        out = _copy(a)
        _as1(out)[(slice(None),) * dim + (idx,)] = _as1(src)
        return out

    @staticmethod
    def backward(ctx, g):
        n = ctx._needs
        ga = gs = None
        if n[0]:
            ga = (
                IndexFill.apply(g, ctx.dim, ctx.idx, 0)
                if isinstance(g, Tensor)
                else _fw(IndexFill, g, ctx.dim, ctx.idx, 0)
            )
        if n[3]:
            gs = (
                IndexSelect.apply(g, ctx.dim, ctx.idx)
                if isinstance(g, Tensor)
                else _fw(IndexSelect, g, ctx.dim, ctx.idx)
            )
        return ga, None, None, gs


def index_copy(input: Tensor, dim: int, index: Tensor, source: Tensor) -> Tensor:
    """Copy of input with the slices at ``index`` along ``dim`` replaced by source's."""
    d, idx = _index_src_check(input, dim, index, source, "index_copy_")
    return IndexCopy.apply(input, d, idx, source)


class IndexFill(Op):
    higher_order = True

    @staticmethod
    def forward(ctx, a, dim, idx, value):
        ctx.dim, ctx.idx = dim, idx
        out = _copy(a)
        _as1(out)[(slice(None),) * dim + (idx,)] = value
        return out

    @staticmethod
    def backward(ctx, g):
        ga = (
            IndexFill.apply(g, ctx.dim, ctx.idx, 0)
            if isinstance(g, Tensor)
            else _fw(IndexFill, g, ctx.dim, ctx.idx, 0)
        )
        return ga, None, None, None


def index_fill(input: Tensor, dim: int, index: Tensor, value) -> Tensor:
    """Copy of input with the slices at ``index`` along ``dim`` set to ``value``."""
    idx = _vec_index(index, "index_fill_")
    d = check_dim(dim, input._data.ndim)
    try:
        _check_bounds(idx, input._data.shape[d] if input._data.ndim else 1, d)
    except RuntimeError as e:
        raise IndexError(str(e)) from None
    if isinstance(value, Tensor):
        if value._rg and is_grad_recording(value):  # torch: value's gradient sums the filled g
            filled = IndexFill.apply(input, d, idx, 0)
            blank = zeros(input._data.shape, dtype=input.dtype, device=input.device)
            mask = IndexFill.apply(blank, d, idx, 1)
            return filled + mask * value
        value = value.item()
    return IndexFill.apply(input, d, idx, value)


def _finish(r, out):
    if out is not None:
        return copy_into_out(out, r)
    return r


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
        raise broadcast_error(input._data.shape, mask._data.shape) from None
    return _finish(MaskedSelect.apply(input, mask._data), out)


def masked_scatter(input: Tensor, mask: Tensor, source: Tensor) -> Tensor:
    """Copy of input with source's leading elements written where mask is True."""
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
        out = _copy(a)
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


# --- in-place forms (Tensor methods) -------------------------------------------------------
def _inplace_call(fn):
    def method(self: Tensor, *args, **kwargs) -> Tensor:
        others = [a for a in list(args) + list(kwargs.values()) if isinstance(a, Tensor)]
        return inplace(self, lambda s: fn(s, *args, **kwargs), *others)

    method.__name__ = fn.__name__ + "_"
    method.__doc__ = f"In-place {fn.__name__}."
    return method


scatter_ = _inplace_call(scatter)
scatter_add_ = _inplace_call(scatter_add)
scatter_reduce_ = _inplace_call(scatter_reduce)
index_add_ = _inplace_call(index_add)
index_copy_ = _inplace_call(index_copy)
index_fill_ = _inplace_call(index_fill)
masked_scatter_ = _inplace_call(masked_scatter)
put_ = _inplace_call(put)


def masked_fill(input: Tensor, mask: Tensor, value) -> Tensor:
    """Copy of input with value where mask is True (mask broadcasts)."""
    if mask._data.dtype != np.bool_:
        raise RuntimeError(
            f"masked_fill_ only supports boolean masks, but got mask with dtype {mask.dtype.name}"
        )
    if isinstance(value, Tensor):
        if value._data.ndim:
            raise RuntimeError(
                f"masked_fill_ only supports a 0-dimensional value tensor, but got tensor with "
                f"{value._data.ndim} dimension(s)."
            )
        v = value.to(input.dtype) if value._rg else _fill_value(value._data, input)
    else:
        v = _fill_value(value, input)
    r = where(mask, _wrap(v) if not isinstance(v, Tensor) else v, input)
    return r.to(input.dtype) if r.dtype is not input.dtype else r


def _fill_value(v, input: Tensor):
    """A fill value as a 0-d array of input's dtype: integers wrap as in torch; a float that
    does not fit an integer dtype raises torch's overflow error."""
    dt = input._data.dtype
    a = np.asarray(v.get() if hasattr(v, "get") and not isinstance(v, CPU_ARRAY) else v)
    if dt.kind in "iu" and a.dtype.kind in "fV":
        lo, hi = np.iinfo(dt).min, np.iinfo(dt).max
        if not lo <= float(a) <= hi:
            name = {"u": "uint", "i": "int"}[dt.kind] + f"{8 * dt.itemsize}_t"
            raise RuntimeError(f"value cannot be converted to type {name} without overflow")
    if dt.kind in "iu" and a.dtype.kind in "iu":
        return a.astype(np.int64).astype(dt)
    return cast(a, dt)
