"""Reductions over ``dim``: sum, mean, prod, max/min, amax/amin, argmax/argmin, median,
var/std (+ the _mean forms), norm, logsumexp, any/all, count_nonzero, and cov/corrcoef.

``dim`` may be an int, a tuple or None; ``keepdim`` keeps reduced dims as size 1. Integer
inputs of ``sum`` accumulate in int64, as torch.

Borderline choices, one line each:
- var/std/norm/logsumexp/cov stay here: they share the dim/keepdim helpers (no statistics seam).
- the scans (cumsum, cummax, ..., trapezoid) keep no reduced dim: cumulative.py.
- sort-based statistics (quantile, kthvalue, mode, histc) live with sort in sorting.py.
- sum_to_size (a Tensor method only) is here: it sums down to a shape.
"""

from __future__ import annotations

import builtins
import math
import warnings

import numpy as np

from .. import dtypes
from .._autocast_state import state as _acs
from .._backend import ufunc_methods
from .._backend.xp import CPU_ARRAY, xp_of
from .._tensor_errors import check_dim, not_implemented_for
from ..autograd.node import Op
from ..dtypes import scalar_type_name
from ..tensor import Tensor, _wrap
from . import _autocast, _bw
from ._blas_sum import _FAST, is_half, ones, rsum
from ._return_types import return_type
from .compare import maximum, minimum, where
from .creation import zeros
from .gather import Gather, ScatterAdd
from .inplace import copy_into_out
from .join import stack
from .linalg_decomp import SVD
from .unary import isnan
from .view import reshape

__all__ = [
    "sum",
    "mean",
    "nansum",
    "nanmean",
    "prod",
    "max",
    "min",
    "amax",
    "amin",
    "argmax",
    "argmin",
    "aminmax",
    "var",
    "std",
    "var_mean",
    "std_mean",
    "norm",
    "logsumexp",
    "any",
    "all",
    "count_nonzero",
    "median",
    "nanmedian",
    "cov",
    "corrcoef",
    "renorm",
    "hash_tensor",
    "segment_reduce",
]


def norm_dims(dim, nd: int) -> tuple | None:
    """(tuple of normalised dims) or None for 'all dims'."""
    if dim is None:
        return None
    if isinstance(dim, (list, tuple)):
        if len(dim) == 0:
            return None
        dims = tuple(check_dim(d, nd) for d in dim)
        if len(set(dims)) != len(dims):
            raise RuntimeError(f"dim {dims[0]} appears multiple times in the list of dims")
        return dims
    return (check_dim(dim, nd),)


def rev(a, dims):
    """``a`` reversed along ``dims`` (an int or a tuple): a strided view, no copy."""
    if isinstance(dims, int):
        return a[(slice(None),) * dims + (_REV,)]
    key = [slice(None)] * a.ndim
    for d in dims:
        key[d] = _REV
    return a[tuple(key)]


_REV = slice(None, None, -1)


def span(a, d: int, start: int, stop: int):
    """``a[start:stop]`` along dim ``d`` (a view that keeps the dim)."""
    return a[(slice(None),) * d + (slice(start, stop),)]


def _axis(dims):
    return dims if dims is None else (dims[0] if len(dims) == 1 else dims)


def sum_dim(a, d: int, keepdim: bool):
    """``a.sum(axis=d, keepdims=keepdim)`` for a CPU array and a normalised ``d``: a float sum
    over the first or last dim as one matrix-vector product (measured: 14 us -> 1.5 us for a
    (64, 128) float32 over dim 1; NumPy reduces a short axis one output at a time, and
    _blas_sum.rsum's general grouping costs 4 us of Python on top). float16/bfloat16 sum in
    float32 (torch's accumulation), rounded once."""
    if a.ndim == 0:  # a 0-d tensor's dim 0 (or -1) is the value itself, as torch
        return a.copy()
    if a.dtype in _FAST and a.size:
        shp = a.shape
        n = shp[d]
        # np.dot, and no reshape a 2-d array doesn't need: 1.1 us of the 2.6 us a (64, 128)
        # sum took went to `@` and the two reshapes
        two = len(shp) == 2
        if d == len(shp) - 1:
            out = np.dot(a if two else a.reshape(-1, n), ones(n, a.dtype))
            return out if two and not keepdim else out.reshape(shp[:d] + (1,) * keepdim)
        if d == 0:
            out = np.dot(ones(n, a.dtype), a if two else a.reshape(n, -1))
            return out if two and not keepdim else out.reshape((1,) * keepdim + shp[1:])
        return rsum(a, (d,), keepdim)
    if is_half(a):
        return sum_dim(a.astype(np.float32), d, keepdim).astype(a.dtype)
    return a.sum(axis=d, keepdims=keepdim)


class Sum(Op):
    higher_order = True

    @staticmethod
    def forward(ctx, a, dims, keepdim, npdt):
        ctx.shape = a.shape
        ctx.dims = dims
        ctx.keep = keepdim
        ctx.dt = a.dtype
        if is_half(a) and npdt in (None, a.dtype):
            # accumulated in float32 and rounded once, as torch does
            r = Sum.forward(ctx, a.astype(np.float32), dims, keepdim, None)
            ctx.dt = a.dtype
            return r.astype(a.dtype)
        if dims is not None and npdt is None and type(a) is CPU_ARRAY:
            # float sums as matrix-vector products (see sum_dim)
            return sum_dim(a, dims[0], keepdim) if len(dims) == 1 else rsum(a, dims, keepdim)
        return a.sum(axis=_axis(dims), keepdims=keepdim, dtype=npdt)

    @staticmethod
    def backward(ctx, g):
        g = _bw.expand_reduced(g, ctx.shape, ctx.dims, ctx.keep)
        return _bw.cast(g, ctx.dt), None, None, None


class Mean(Op):
    higher_order = True

    @staticmethod
    def forward(ctx, a, dims, keepdim, npdt):
        ctx.shape = a.shape
        ctx.dims = dims
        ctx.keep = keepdim
        ctx.n = a.size if dims is None else int(np.prod([a.shape[d] for d in dims]))
        if is_half(a) and npdt in (None, a.dtype):
            r = a.astype(np.float32).mean(axis=_axis(dims), keepdims=keepdim)  # as Sum
            return r.astype(a.dtype)
        r = a.mean(axis=_axis(dims), keepdims=keepdim, dtype=npdt)
        return r.astype(npdt or a.dtype, copy=False)

    @staticmethod
    def backward(ctx, g):
        g = _bw.expand_reduced(g / ctx.n, ctx.shape, ctx.dims, ctx.keep)
        return g, None, None, None


def _kw_dim(dim, kw):
    if "axis" in kw:
        dim = kw.pop("axis")
    keep = kw.pop("keepdims", None)
    return dim, keep


def sum(input: Tensor, dim=None, keepdim: bool = False, *, dtype=None, out=None, **kw) -> Tensor:  # noqa: A001
    """Sum over all elements or over ``dim``; bool/int inputs sum in int64."""
    dim, keep = _kw_dim(dim, kw)
    if keep is not None:
        keepdim = keep
    a = input._data
    dims = norm_dims(dim, a.ndim)
    if not a.ndim:  # dim 0 or -1 of a 0-d tensor: the tensor itself
        dims = None
    if dtype is not None:
        npdt = dtypes.to_dtype(dtype).np
    elif a.dtype.kind in "biu":
        npdt = np.dtype(np.int64)
    else:
        if a.dtype.itemsize == 1 and a.dtype in dtypes.FLOAT8_NP:
            raise not_implemented_for("sum_cpu", a.dtype)
        npdt = None
    r = Sum.apply(input, dims, keepdim, npdt)
    return _finish(r, out)


def mean(input: Tensor, dim=None, keepdim: bool = False, *, dtype=None, out=None, **kw) -> Tensor:
    """Arithmetic mean; integer inputs raise as in torch (give a float dtype)."""
    dim, keep = _kw_dim(dim, kw)
    if keep is not None:
        keepdim = keep
    a = input._data
    if dtype is None and a.dtype.kind in "biu":
        raise RuntimeError(
            "mean(): could not infer output dtype. Input dtype must be either a floating point "
            f"or complex dtype. Got: {_name(input.dtype)}"
        )
    if dtype is None and a.dtype.itemsize == 1 and a.dtype in dtypes.FLOAT8_NP:
        raise not_implemented_for("sum_cpu", a.dtype)
    npdt = dtypes.to_dtype(dtype).np if dtype is not None else None
    dims = norm_dims(dim, a.ndim)
    if not a.ndim:  # dim 0 or -1 of a 0-d tensor: the tensor itself
        dims = None
    return _finish(Mean.apply(input, dims, keepdim, npdt), out)


def _name(d):
    return scalar_type_name(d.name)


def _finish(r, out):
    if out is not None:
        return copy_into_out(out, r)
    return r


def nansum(input: Tensor, dim=None, keepdim: bool = False, *, dtype=None) -> Tensor:
    """sum that treats NaN as zero."""
    if input._data.dtype.kind in "biu":  # no NaNs: a plain sum, in its integer dtype
        return sum(input, dim, keepdim, dtype=dtype)
    return sum(where(isnan(input), 0.0, input), dim, keepdim, dtype=dtype)


def nanmean(input: Tensor, dim=None, keepdim: bool = False, *, dtype=None) -> Tensor:
    """mean over the non-NaN elements."""
    mask = isnan(input)
    cnt = sum(~mask, dim, keepdim)
    return nansum(input, dim, keepdim, dtype=dtype) / cnt


def sum_to_size(self: Tensor, *size) -> Tensor:
    """Sum this tensor down to ``size`` (the reverse of expanding to this shape)."""
    if len(size) == 1 and not isinstance(size[0], int):
        size = size[0]
    size = tuple(int(s) for s in size)
    shp = self._data.shape
    lead = len(shp) - len(size)
    if lead < 0 or builtins.any(s != 1 and s != shp[lead + k] for k, s in enumerate(size)):
        raise RuntimeError(f"size {{{list(size)}}} is not expandable to size {{{list(shp)}}}.")
    dims = list(range(lead)) + [
        lead + k for k, s in enumerate(size) if s == 1 and shp[lead + k] != 1
    ]
    if not size:  # torch sums everything into a 0-d tensor (bool and ints become int64)
        return self.sum()
    r = self.sum(dims, keepdim=True) if dims else self
    return reshape(r, size)


# --- prod ----------------------------------------------------------------------------------
def _excl_cumprod(a, axis: int, reverse: bool):
    """Product of the elements strictly before (or after) each position along ``axis``."""
    xp = xp_of(a)
    if reverse:
        a = rev(a, axis)
    c = xp.cumprod(a, axis=axis)
    ones = xp.ones_like(span(a, axis, 0, 1))
    c = xp.concatenate([ones, span(c, axis, 0, a.shape[axis] - 1)], axis=axis)
    return rev(c, axis) if reverse else c


class Prod(Op):
    save_in = (0,)
    save_out = True
    higher_order = True

    @staticmethod
    def forward(ctx, a, dim, keepdim, npdt):
        r = a.prod(axis=dim, keepdims=keepdim, dtype=npdt)
        ctx.saved = (a, r)
        ctx.dim, ctx.keep = dim, keepdim
        return r

    @staticmethod
    def backward(ctx, g):
        a, r = ctx.saved
        dim = ctx.dim
        dims = None if dim is None else (dim,)
        if isinstance(g, Tensor):
            if not (a._data == 0).any():
                # no zeros: d prod / d x_i = prod / x_i, written with graph-building ops
                g = _bw.expand_reduced(g, a.shape, dims, ctx.keep)
                r = _bw.expand_reduced(r, a.shape, dims, ctx.keep)
                return g * r / a, None, None, None
            others = _wrap(_prod_others(a._data, dim))  # exact with zeros; constant beyond
            return _bw.expand_reduced(g, a.shape, dims, ctx.keep) * others, None, None, None
        if dim is not None and not ctx.keep:
            g = xp_of(g).expand_dims(g, dim)
        return (g * _prod_others(a, dim)).astype(a.dtype, copy=False), None, None, None


def _prod_others(a, dim):
    """For each element, the product of the others in its reduction (exact with zeros)."""
    if dim is None:
        flat = a.reshape(-1)
        return (_excl_cumprod(flat, 0, False) * _excl_cumprod(flat, 0, True)).reshape(a.shape)
    return _excl_cumprod(a, dim, False) * _excl_cumprod(a, dim, True)


def prod(input: Tensor, dim=None, keepdim: bool = False, *, dtype=None, out=None) -> Tensor:
    """Product of all elements or along ``dim``; bool/int inputs multiply in int64."""
    if _acs.active:  # autocast: an fp32 op
        (input,) = _autocast.fp32(input)
    a = input._data
    if dim is not None and not isinstance(dim, int):
        raise TypeError(
            f"prod() received an invalid combination of arguments - got (Tensor, "
            f"{type(dim).__name__}), but expected one of: (Tensor input, *, "
            "torch.dtype dtype = None) or (Tensor input, int dim, bool keepdim = "
            "False, *, torch.dtype dtype = None)"
        )
    d = None if dim is None else check_dim(dim, a.ndim)
    if a.ndim == 0:
        d = None
    if dtype is not None:
        npdt = dtypes.to_dtype(dtype).np
    elif a.dtype.kind in "biu":
        npdt = np.dtype(np.int64)
    else:
        npdt = None
    r = Prod.apply(input, d, keepdim, npdt)
    if a.ndim == 0 and dim is not None:
        r = r.reshape(())
    return _finish(r, out)


# --- max / min / amax / amin / argmax / argmin ---------------------------------------------
class AMaxMin(Op):
    """amax/amin (and max()/min() over everything): ties share the gradient evenly."""

    save_in = (0,)
    save_out = True
    higher_order = True

    @staticmethod
    def forward(ctx, a, dims, keepdim, is_max):
        ax = _axis(dims)
        r = a.max(axis=ax, keepdims=keepdim) if is_max else a.min(axis=ax, keepdims=keepdim)
        ctx.saved = (a, r)
        ctx.dims, ctx.keep = dims, keepdim
        return r

    @staticmethod
    def backward(ctx, g):
        a, r = ctx.saved
        dims, keep = ctx.dims, ctx.keep
        r = _bw.expand_reduced(r, a.shape, dims, keep)
        mask = a == r
        g = _bw.expand_reduced(g, a.shape, dims, keep)
        if isinstance(g, Tensor):
            cnt = mask.sum(dim=list(range(a.ndim)) if dims is None else list(dims), keepdim=True)
            return g * mask / cnt, None, None, None
        cnt = mask.sum(axis=_axis(dims), keepdims=True)
        return (g * mask / cnt).astype(a.dtype, copy=False), None, None, None


class EvenSplit(Op):
    """Returns the precomputed 0-d value ``r`` of ``a`` (median()); the gradient is shared
    evenly by the elements equal to it (NaN elements when it is NaN), as torch."""

    save_in = (0,)
    higher_order = True

    @staticmethod
    def forward(ctx, a, r):
        xp = xp_of(a)
        mask = xp.isnan(a) if xp.isnan(r) else a == r
        ctx.w = (mask / mask.sum()).astype(a.dtype, copy=False)  # a constant of the graph
        return r

    @staticmethod
    def backward(ctx, g):
        return g * (_wrap(ctx.w) if isinstance(g, Tensor) else ctx.w), None


def _amaxmin(input: Tensor, dim, keepdim: bool, is_max: bool, name: str) -> Tensor:
    a = input._data
    dims = norm_dims(dim, a.ndim)
    if a.size == 0:
        if dims is None:
            raise RuntimeError(
                f"{name}(): Expected reduction dim to be specified for "
                "input.numel() == 0. Specify the reduction dim with the 'dim' "
                "argument."
            )
        for d in dims:
            if a.shape[d] == 0:
                raise IndexError(f"{name}(): Expected reduction dim {d} to have non-zero size.")
    elif a.dtype.kind == "c":  # torch has no order on complex numbers; an empty result is fine
        raise not_implemented_for(_NO_COMPLEX[name], a.dtype)
    if a.ndim == 0:
        dims = None
    return AMaxMin.apply(input, dims, keepdim, is_max)


# the kernels torch names when it refuses complex input
_NO_COMPLEX = {
    "max": "max_all",
    "min": "min_all",
    "amax": "max_values_cpu",
    "amin": "min_values_cpu",
    "aminmax": "aminmax_cpu",
}


def amax(input: Tensor, dim=(), keepdim: bool = False, *, out=None) -> Tensor:
    """Maximum over ``dim`` (all dims by default); the gradient is split among ties."""
    return _finish(_amaxmin(input, dim, keepdim, True, "amax"), out)


def amin(input: Tensor, dim=(), keepdim: bool = False, *, out=None) -> Tensor:
    """Minimum over ``dim`` (all dims by default); the gradient is split among ties."""
    return _finish(_amaxmin(input, dim, keepdim, False, "amin"), out)


def _arg(a, d: int, is_max: bool, keepdim: bool):
    xp = xp_of(a)
    i = xp.argmax(a, axis=d, keepdims=keepdim) if is_max else xp.argmin(a, axis=d, keepdims=keepdim)
    return i.astype(np.int64, copy=False)


def select_along(input: Tensor, d: int, idx, keepdim: bool) -> Tensor:
    """Values of input at ``idx`` (keepdim-shaped int64 array) along ``d``, differentiable."""
    r = Gather.apply(input, d, idx, True)
    return r if keepdim else r.squeeze(d)


class PickAlong(Op):
    """max/min along a dim: the values come precomputed, the gradient goes to ``idx``."""

    higher_order = True

    @staticmethod
    def forward(ctx, a, d, idx, keepdim, vals):
        ctx.shape, ctx.d, ctx.idx, ctx.keep = a.shape, d, idx, keepdim
        return vals

    @staticmethod
    def backward(ctx, g):
        d = ctx.d
        if isinstance(g, Tensor):
            g = g if ctx.keep else g.unsqueeze(d)
            z = zeros(ctx.shape, dtype=g.dtype, device=g.device)
            return ScatterAdd.apply(z, d, ctx.idx, g), None, None, None, None
        xp = xp_of(g)
        if not ctx.keep:
            g = xp.expand_dims(g, d)
        z = xp.zeros(ctx.shape, g.dtype)
        xp.put_along_axis(z, ctx.idx, g, d)
        return z, None, None, None, None


def _minmax_dim(input: Tensor, dim, keepdim: bool, is_max: bool, name: str):
    a = input._data
    d = check_dim(dim, a.ndim)
    if a.ndim and a.shape[d] == 0:
        raise IndexError(f"{name}(): Expected reduction dim {d} to have non-zero size.")
    if a.dtype.kind == "c":
        raise RuntimeError(f"{name}(): does not support complex input")
    if a.ndim == 0:
        return return_type(name, input.clone(), _wrap(np.zeros((), np.int64)))
    idx = _arg(a, d, is_max, True)
    vals = a.max(axis=d, keepdims=keepdim) if is_max else a.min(axis=d, keepdims=keepdim)
    vals = PickAlong.apply(input, d, idx, keepdim, vals) if input._rg else _wrap(vals)
    return return_type(name, vals, _wrap(idx if keepdim else idx.squeeze(d)))


def max(input: Tensor, dim=None, keepdim: bool = False, *, out=None) -> Tensor | tuple:  # noqa: A001, E501
    """max(input) -> value; max(input, dim) -> (values, indices); max(input, other) ->
    maximum."""
    if isinstance(dim, Tensor):
        return maximum(input, dim, out=out)
    if dim is None:
        return _finish(_amaxmin(input, None, False, True, "max"), out)
    return _minmax_dim(input, dim, keepdim, True, "max")


def min(input: Tensor, dim=None, keepdim: bool = False, *, out=None) -> Tensor | tuple:  # noqa: A001, E501
    """min(input) -> value; min(input, dim) -> (values, indices); min(input, other) ->
    minimum."""
    if isinstance(dim, Tensor):
        return minimum(input, dim, out=out)
    if dim is None:
        return _finish(_amaxmin(input, None, False, False, "min"), out)
    return _minmax_dim(input, dim, keepdim, False, "min")


def _argmaxmin(input: Tensor, dim, keepdim: bool, is_max: bool, name: str) -> Tensor:
    a = input._data
    k = a.dtype.kind
    if k == "b" or k == "c":
        raise RuntimeError(f"{name}(): does not support {'bool' if k == 'b' else 'complex'} input")
    if dim is None:
        if a.size == 0:
            raise IndexError(
                f"{name}(): Expected reduction dim to be specified for input.numel() == 0."
            )
        i = _arg(a.reshape(-1), 0, is_max, False)
        return _wrap(i.reshape((1,) * a.ndim) if keepdim else i)
    d = check_dim(dim, a.ndim)
    if a.ndim == 0:
        return _wrap(np.zeros((), np.int64))
    if a.shape[d] == 0:
        raise IndexError(f"{name}(): Expected reduction dim {d} to have non-zero size.")
    return _wrap(_arg(a, d, is_max, keepdim))


def argmax(input: Tensor, dim=None, keepdim: bool = False) -> Tensor:
    """Index of the maximum (of the flattened input when ``dim`` is None)."""
    return _argmaxmin(input, dim, keepdim, True, "argmax")


def argmin(input: Tensor, dim=None, keepdim: bool = False) -> Tensor:
    """Index of the minimum (of the flattened input when ``dim`` is None)."""
    return _argmaxmin(input, dim, keepdim, False, "argmin")


def aminmax(input: Tensor, *, dim=None, keepdim: bool = False) -> tuple:
    """(min, max) over everything or one ``dim``."""
    a = input._data
    if dim is not None:
        dim = check_dim(dim, a.ndim)
        if a.ndim and a.shape[dim] == 0:
            raise IndexError(f"aminmax: Expected reduction dim {dim} to have non-zero size.")
    elif a.size == 0:
        raise RuntimeError(
            "aminmax(): cannot compute aminmax over an empty dimension as the "
            "operation has no identity."
        )
    if a.dtype.kind == "c":  # even where the result is empty, unlike amax
        if dim is not None and a.ndim == 0:  # torch's 0-d path words it differently
            raise RuntimeError(f"aminmax not implemented for {scalar_type_name(input.dtype.name)}")
        raise not_implemented_for("aminmax_cpu", a.dtype)
    lo = _amaxmin(input, dim, keepdim, False, "aminmax")
    hi = _amaxmin(input, dim, keepdim, True, "aminmax")
    return return_type("aminmax", lo, hi, ("min", "max"))


def median(input: Tensor, dim=None, keepdim: bool = False) -> Tensor | tuple:
    """Lower median of all elements, or (values, indices) along ``dim``; NaN propagates."""
    return _median(input, dim, keepdim, False, "median")


def nanmedian(input: Tensor, dim=None, keepdim: bool = False) -> Tensor | tuple:
    """median that ignores NaN values (NaN only where a slice is all NaN)."""
    return _median(input, dim, keepdim, True, "nanmedian")


def _median(input: Tensor, dim, keepdim: bool, skip_nan: bool, name: str):
    a = input._data
    xp = xp_of(a)
    isf = a.dtype.kind == "f"
    if dim is None:
        if a.size == 0:
            return _wrap(np.full((), np.nan, a.dtype))
        if a.dtype.kind == "c":
            raise not_implemented_for("median_cpu", a.dtype)
        flat = a.reshape(-1)
        n = int((~xp.isnan(flat)).sum()) if skip_nan and isf else a.size
        v = flat[xp.argsort(flat, kind="stable")[builtins.max(n - 1, 0) // 2]]
        if isf and not skip_nan and xp.isnan(flat).any():
            v = flat.dtype.type(np.nan)
        return EvenSplit.apply(input, xp.asarray(v))
    d = check_dim(dim, a.ndim)
    n = a.shape[d] if a.ndim else 1
    if n == 0:
        raise IndexError(f"{name}(): Expected reduction dim {d} to have non-zero size.")
    if a.dtype.kind == "c":
        raise not_implemented_for("median_out", a.dtype)
    if a.ndim == 0:
        return return_type(name, input.clone(), _wrap(np.zeros((), np.int64)))
    order = xp.argsort(a, axis=d, kind="stable")  # NaN sorts last
    if isf:
        cnt = (~xp.isnan(a)).sum(axis=d, keepdims=True)
        # nanmedian: the lower median of the non-NaN values; median: the first NaN if any
        k = xp.maximum(cnt - 1, 0) // 2 if skip_nan else xp.where(cnt < n, cnt, (n - 1) // 2)
        idx = xp.take_along_axis(order, k, d).astype(np.int64)
    else:
        idx = span(order, d, (n - 1) // 2, (n - 1) // 2 + 1).astype(np.int64)
    vals = select_along(input, d, idx, keepdim)
    return return_type(name, vals, _wrap(idx if keepdim else idx.squeeze(d)))


# --- var / std ------------------------------------------------------------------------------
def _all_dims(dims, nd: int) -> list:
    return list(range(nd)) if dims is None else list(dims)


class VarStd(Op):
    save_in = (0,)
    save_out = True
    higher_order = True

    @staticmethod
    def forward(ctx, a, dims, correction, keepdim, take_sqrt):
        ax = _axis(dims)
        if dims is None:
            n = a.size
        else:
            n = 1
            for d in dims:
                n *= a.shape[d]
        den = n - correction
        acc = np.float32 if a.dtype == np.float16 else None  # accumulate half in float
        if n and den > 0:  # the common case: no 0/0 to silence
            dev = a - (a.sum(axis=ax, keepdims=True, dtype=acc) / n).astype(a.dtype, copy=False)
            v = (dev * dev).sum(axis=ax, keepdims=keepdim, dtype=acc) / den
            r = xp_of(a).sqrt(v) if take_sqrt else v
        else:
            with np.errstate(divide="ignore", invalid="ignore"):
                dev = a - a.mean(axis=ax, keepdims=True)
                v = (dev * dev).sum(axis=ax, keepdims=keepdim) / builtins.max(den, 0)
                r = xp_of(a).sqrt(v) if take_sqrt else v
        r = r.astype(a.dtype, copy=False)
        ctx.saved = (a, r)
        ctx.dev = dev
        ctx.dims, ctx.keep, ctx.den, ctx.sq = dims, keepdim, n - correction, take_sqrt
        return r

    @staticmethod
    def backward(ctx, g):
        if isinstance(g, Tensor):
            return VarStd._backward_graph(ctx, g), None, None, None, None
        dev, r = ctx.dev, ctx.saved[1]
        with np.errstate(divide="ignore", invalid="ignore"):
            den = np.float64(ctx.den)
            if ctx.sq:
                g = xp_of(r).where(r == 0, 0, g / r)
                gx = _bw.expand_reduced(g, dev.shape, ctx.dims, ctx.keep) * dev / den
            else:
                gx = _bw.expand_reduced(g, dev.shape, ctx.dims, ctx.keep) * dev * (2 / den)
        return gx.astype(dev.dtype, copy=False), None, None, None, None

    @staticmethod
    def _backward_graph(ctx, g):
        a, r = ctx.saved
        dev = a - a.mean(dim=_all_dims(ctx.dims, a.ndim), keepdim=True)
        den = np.float64(ctx.den)
        if ctx.sq:
            g = _bw.where(r == 0, 0.0, g / r)
            return _bw.expand_reduced(g, a.shape, ctx.dims, ctx.keep) * dev / den
        return _bw.expand_reduced(g, a.shape, ctx.dims, ctx.keep) * dev * (2 / den)


def is_float(a) -> bool:
    """Floating or complex array (bfloat16 included)."""
    return a.dtype.kind in "fcV"  # V: bfloat16 (without ml_dtypes there is none to compare)


def via_f32(input: Tensor, fn, float16: bool = False):
    """fn(input), computed in float32 for a bfloat16 input (as torch accumulates), and for a
    float16 one with ``float16`` (the reductions torch also runs in float32 for it)."""
    dt = input._data.dtype
    if dt.kind != "V" and not (float16 and dt == np.float16):  # V: bfloat16
        return fn(input)
    r = fn(input.float())
    back = input.dtype
    if isinstance(r, tuple):
        return tuple(x.to(back) for x in r)
    return r.to(back)


def _var_args(input, dim, unbiased, keepdim, correction):
    if isinstance(dim, bool):
        unbiased, dim = dim, None
    if not is_float(input._data):
        raise RuntimeError("std and var only support floating point and complex dtypes")
    if correction is None:
        correction = 1 if unbiased is None or unbiased else 0
    dims = norm_dims(dim, input._data.ndim)
    if input._data.ndim == 0:
        dims = None
    return dims, correction, keepdim


def var(
    input: Tensor, dim=None, unbiased=None, keepdim: bool = False, *, correction=None, out=None
) -> Tensor:
    """Variance over ``dim`` with Bessel's ``correction`` (1 by default)."""
    dims, c, k = _var_args(input, dim, unbiased, keepdim, correction)
    return _finish(via_f32(input, lambda x: VarStd.apply(x, dims, c, k, False), True), out)


def std(
    input: Tensor, dim=None, unbiased=None, keepdim: bool = False, *, correction=None, out=None
) -> Tensor:
    """Standard deviation over ``dim`` with Bessel's ``correction`` (1 by default)."""
    dims, c, k = _var_args(input, dim, unbiased, keepdim, correction)
    return _finish(via_f32(input, lambda x: VarStd.apply(x, dims, c, k, True), True), out)


def var_mean(
    input: Tensor, dim=None, unbiased=None, keepdim: bool = False, *, correction=None
) -> tuple:
    """(var, mean) over ``dim``."""
    dims, c, k = _var_args(input, dim, unbiased, keepdim, correction)
    return via_f32(
        input, lambda x: (VarStd.apply(x, dims, c, k, False), Mean.apply(x, dims, k, None)), True
    )


def std_mean(
    input: Tensor, dim=None, unbiased=None, keepdim: bool = False, *, correction=None
) -> tuple:
    """(std, mean) over ``dim``."""
    dims, c, k = _var_args(input, dim, unbiased, keepdim, correction)
    return via_f32(
        input, lambda x: (VarStd.apply(x, dims, c, k, True), Mean.apply(x, dims, k, None)), True
    )


# --- norm / logsumexp ----------------------------------------------------------------------
def _reduced_keepdims(v, ndim: int, dims, keep: bool):
    """A reduction's result (or its gradient) with the reduced dims restored as size 1."""
    if keep:
        return v
    if dims is None:
        return v.reshape((1,) * ndim)
    for d in sorted(dims):
        v = xp_of(v).expand_dims(v, d)
    return v


class Norm(Op):
    save_in = (0,)
    save_out = True
    higher_order = True

    @staticmethod
    def forward(ctx, a, p, dims, keepdim):
        xp = xp_of(a)
        ax = _axis(dims)
        # a real square needs no abs (a pass less over a)
        x = a if p == 2 and a.dtype.kind != "c" else xp.abs(a)
        if p == 2:
            r = xp.sqrt((x * x).sum(axis=ax, keepdims=keepdim))
        elif p == 1:
            r = x.sum(axis=ax, keepdims=keepdim)
        elif p == np.inf:
            r = x.max(axis=ax, keepdims=keepdim) if a.size else x.sum(axis=ax, keepdims=keepdim)
        elif p == -np.inf:
            r = x.min(axis=ax, keepdims=keepdim)
        elif p == 0:
            r = (x != 0).sum(axis=ax, keepdims=keepdim)
        else:
            r = (x**p).sum(axis=ax, keepdims=keepdim) ** (1.0 / p)
        r = r.astype(a.real.dtype, copy=False)
        ctx.saved = (a, r)
        ctx.p, ctx.dims, ctx.keep = p, dims, keepdim
        return r

    @staticmethod
    def backward(ctx, g):
        a, r = ctx.saved
        p, dims, keep = ctx.p, ctx.dims, ctx.keep
        if p == 2 and not isinstance(g, Tensor):
            # torch's order, a * (g / r) (0 where r is 0), with the quotient on the reduced
            # shape: one pass over a instead of three (256 x 512 float32 rows: the normalize
            # forward and backward 0.60 -> 0.44 ms, torch 0.38; the norm alone 0.27 -> 0.12)
            rk = _reduced_keepdims(r, a.ndim, dims, keep)
            gk = _reduced_keepdims(g, a.ndim, dims, keep)
            with np.errstate(divide="ignore", invalid="ignore"):
                q = xp_of(a).where(rk == 0, 0, gk / rk).astype(r.dtype, copy=False)
            return (a * q).astype(a.dtype, copy=False), None, None, None
        r = _bw.expand_reduced(r, a.shape, dims, keep)
        g = _bw.expand_reduced(g, a.shape, dims, keep)
        if isinstance(g, Tensor):
            return Norm._backward_graph(a, r, g, p, dims), None, None, None
        xp = xp_of(a)
        with np.errstate(divide="ignore", invalid="ignore"):
            if p == 2:
                gx = g * xp.where(r == 0, 0, a / r)
            elif p == 1:
                gx = g * xp.sign(a)
            elif p in (np.inf, -np.inf):
                mask = xp.abs(a) == r
                gx = g * xp.sign(a) * mask / mask.sum(axis=_axis(dims), keepdims=True)
            elif p == 0:
                gx = xp.zeros_like(a)
            else:
                x = xp.abs(a)
                gx = g * xp.where(r == 0, 0, xp.sign(a) * x ** (p - 1) / r ** (p - 1))
        return gx.astype(a.dtype, copy=False), None, None, None

    @staticmethod
    def _backward_graph(a, r, g, p, dims):
        if p == 2:
            return g * _bw.where(r == 0, 0.0, a / r)
        if p == 1:
            return g * _bw.sign(a)
        if p in (np.inf, -np.inf):
            mask = abs(a) == r
            return g * _bw.sign(a) * mask / mask.sum(dim=_all_dims(dims, a.ndim), keepdim=True)
        if p == 0:
            return _bw.zeros_like(a)
        return g * _bw.where(r == 0, 0.0, _bw.sign(a) * abs(a) ** (p - 1) / r ** (p - 1))


def norm(input: Tensor, p="fro", dim=None, keepdim: bool = False, out=None, dtype=None) -> Tensor:
    """Vector p-norm over ``dim`` (all elements by default); p in 'fro', numbers, inf."""
    a = input._data
    if not is_float(a):
        raise RuntimeError(
            "linalg.vector_norm: Expected a floating point or complex tensor as "
            f"input. Got {_name(input.dtype)}"
        )
    if dtype is not None:
        input = input.to(dtype)
    if p == "fro" or p is None:
        p = 2
    elif p == "nuc":
        return _finish(_nuclear(input, dim, keepdim), out)
    elif isinstance(p, str):
        raise RuntimeError(f"linalg.matrix_norm: Order {p} not supported.")
    dims = norm_dims(dim, a.ndim)
    if a.ndim == 0:
        dims = None
    return _finish(via_f32(input, lambda x: Norm.apply(x, float(p), dims, keepdim), True), out)


class NuclearNorm(Op):
    """Sum of the singular values of the last two dims; gradient U @ Vh."""

    save_in = (0,)
    higher_order = True  # create_graph: U @ Vh from the SVD op, whose outputs are differentiable

    @staticmethod
    def forward(ctx, a):
        u, sv, vh = xp_of(a).linalg.svd(a, full_matrices=False)
        ctx.uv = u @ vh
        return sv.sum(-1).astype(a.dtype, copy=False)

    @staticmethod
    def backward(ctx, g):
        if isinstance(g, Tensor):
            u, _, vh = SVD.apply(ctx._inputs[0], False)
            return (g.unsqueeze(-1).unsqueeze(-1) * (u @ vh),)
        return (g[..., None, None] * ctx.uv).astype(ctx.uv.dtype, copy=False)


def _nuclear(input: Tensor, dim, keepdim: bool) -> Tensor:
    nd = input._data.ndim
    if dim is None:
        if nd != 2:
            raise RuntimeError(
                "linalg.matrix_norm: The input tensor A must have at least 2 dimensions."
                if nd < 2
                else "norm(): nuclear norm with dim=None needs a 2-D input"
            )
        dims = (0, 1)
    else:
        dims = norm_dims(dim, nd)
        if dims is None or len(dims) != 2:
            raise RuntimeError(
                "linalg.matrix_norm: dim must be a 2-tuple. Got "
                + " ".join(str(d) for d in (dims or ()))
            )
    x = input.movedim(dims, (-2, -1))
    r = NuclearNorm.apply(x)
    if keepdim:
        for d in sorted(dims):
            r = r.unsqueeze(d)
    return r


class LogSumExp(Op):
    save_in = (0,)
    save_out = True
    higher_order = True

    @staticmethod
    def forward(ctx, a, dims, keepdim):
        xp = xp_of(a)
        ax = _axis(dims)
        m = a.max(axis=ax, keepdims=True) if a.size else xp.zeros((1,) * a.ndim, a.dtype)
        m = xp.where(xp.isfinite(m), m, 0)
        s = xp.exp(a - m).sum(axis=ax, keepdims=True)
        with np.errstate(divide="ignore"):
            r = xp.log(s) + m
        if not keepdim:
            r = r.reshape(
                tuple(n for k, n in enumerate(a.shape) if not (dims is None or k in dims))
            )
        ctx.saved = (a, r)
        ctx.dims, ctx.keep = dims, keepdim
        return r

    @staticmethod
    def backward(ctx, g):
        a, r = ctx.saved
        r = _bw.expand_reduced(r, a.shape, ctx.dims, ctx.keep)
        g = _bw.expand_reduced(g, a.shape, ctx.dims, ctx.keep)
        return g * _bw.exp(a - r), None, None


def logsumexp(input: Tensor, dim, keepdim: bool = False, *, out=None) -> Tensor:
    """log(sum(exp(input))) over ``dim``, computed stably."""
    if not is_float(input._data):
        input = input.to(dtypes._default)
    dims = norm_dims(dim, input._data.ndim)
    if input._data.ndim == 0:
        dims = None
    return _finish(via_f32(input, lambda x: LogSumExp.apply(x, dims, keepdim)), out)


# --- cov / corrcoef -------------------------------------------------------------------------
def cov(
    input: Tensor,
    *,
    correction: int = 1,
    fweights: Tensor | None = None,
    aweights: Tensor | None = None,
) -> Tensor:
    """Covariance of the rows (variables) over the columns (observations), optionally weighted."""
    nd = input._data.ndim
    if nd > 2:
        raise RuntimeError(
            f"cov(): expected input to have two or fewer dimensions but got an "
            f"input with {nd} dimensions"
        )
    x = input.reshape(1, -1) if nd < 2 else input
    if not is_float(x._data):
        x = x.to(dtypes._default)
    n_obs = x._data.shape[1]
    w = None
    if fweights is not None:
        w = fweights
    if aweights is not None:
        w = aweights if w is None else w * aweights
    if w is None:
        avg = x.mean(1, keepdim=True)
        norm_factor = n_obs - correction
    else:
        w = w.to(x.dtype)
        w_sum = w.sum()
        avg = (x * w).sum(1, keepdim=True) / w_sum
        if correction == 0:
            norm_factor = w_sum
        elif aweights is None:
            norm_factor = w_sum - correction
        else:
            norm_factor = w_sum - correction * (w * aweights).sum() / w_sum
    if not isinstance(norm_factor, Tensor) and norm_factor <= 0:
        warnings.warn(
            "cov(): degrees of freedom is <= 0. Correction should be strictly less "
            "than the number of observations.",
            UserWarning,
            stacklevel=2,
        )
        norm_factor = 0
    xm = x - avg
    xw = xm if w is None else xm * w
    with np.errstate(divide="ignore", invalid="ignore"):
        c = (xw @ xm.t().conj()) / norm_factor
    # one variable (a vector, or a single row) gives a 0-d variance, as torch's
    return c.reshape(()) if nd < 2 or input._data.shape[0] == 1 else c


def corrcoef(input: Tensor) -> Tensor:
    """Pearson correlation coefficients of the rows."""
    c = cov(input)
    if c._data.ndim == 0:
        return c / c
    d = c.diagonal()
    s = d.sqrt()
    c = c / s.reshape(-1, 1) / s.reshape(1, -1)
    return c.clamp(-1, 1) if not c.is_complex() else c


# --- any / all / count_nonzero -------------------------------------------------------------
def _logical_reduce(input: Tensor, dim, keepdim: bool, fn: str) -> Tensor:
    a = input._data
    dims = norm_dims(dim, a.ndim)
    if a.ndim == 0:
        dims = None
    r = getattr(a, fn)(axis=_axis(dims), keepdims=keepdim)
    if a.dtype == np.uint8:
        r = r.astype(np.uint8)
    return _wrap(r)


def any(input: Tensor, dim=None, keepdim: bool = False, *, out=None) -> Tensor:  # noqa: A001
    """True where any element (over ``dim``) is nonzero."""
    return _finish(_logical_reduce(input, dim, keepdim, "any"), out)


def all(input: Tensor, dim=None, keepdim: bool = False, *, out=None) -> Tensor:  # noqa: A001
    """True where every element (over ``dim``) is nonzero."""
    return _finish(_logical_reduce(input, dim, keepdim, "all"), out)


def count_nonzero(input: Tensor, dim=None) -> Tensor:
    """Number of nonzero elements (over ``dim``), int64."""
    a = input._data
    dims = norm_dims(dim, a.ndim)
    if a.ndim == 0:
        dims = None
    return _wrap(xp_of(a).asarray((a != 0).sum(axis=_axis(dims))).astype(np.int64))


def renorm(input: Tensor, p: float, dim: int, maxnorm: float) -> Tensor:
    """Each slice along ``dim`` whose p-norm exceeds ``maxnorm`` scaled down to norm maxnorm."""
    nd = input._data.ndim
    if maxnorm < 0:
        raise RuntimeError(f"renorm: expected maxnorm to be >= 0 but got {maxnorm:g}")
    if nd < 2:
        raise RuntimeError(f"renorm: input needs at least 2 dimensions, got {nd} dimensions")
    if p <= 0:
        raise RuntimeError("renorm: non-positive-norm not supported")
    d = check_dim(dim, nd)
    others = tuple(k for k in range(nd) if k != d)
    n = norm(input, p, others, keepdim=True)
    factor = where(n > maxnorm, maxnorm / (n + 1e-7), 1.0)
    return input * factor


def hash_tensor(input: Tensor, dim=None, *, keepdim: bool = False, mode: int = 0) -> Tensor:
    """The xor of the elements' bits (floats as float64, the rest as int64), over ``dim`` or
    everything, as torch.hash_tensor: a uint64 tensor, outside autograd."""
    if mode != 0:
        raise RuntimeError(f"Unknown hash_tensor mode: {mode}")
    if input.dtype.is_complex:
        raise NotImplementedError(
            f"\"xor_sum_cpu\" not implemented for '{scalar_type_name(input.dtype.name)}'"
        )
    axes = norm_dims(dim, input.dim())
    if axes is None and input.numel() == 0:
        raise RuntimeError(
            "hash_tensor: Expected reduction dim to be specified for input.numel() == 0. "
            "Specify the reduction dim with the 'dim' argument."
        )
    wide = dtypes.float64 if input.dtype.is_floating_point else dtypes.int64
    a = input.detach().to(wide)._data
    xp = xp_of(a)
    if a.ndim == 0:  # dim 0 (or -1) of a 0-d tensor is the element itself
        return _wrap(a.reshape(()).view(xp.uint64).copy())
    bits = a.view(xp.uint64)
    r = ufunc_methods.reduce(xp.bitwise_xor, bits, axes, keepdim)
    return _wrap(xp.asarray(r, dtype=xp.uint64))


_SEGMENT_EMPTY = {"sum": 0.0, "mean": float("nan"), "max": -math.inf, "min": math.inf, "prod": 1.0}


def segment_reduce(
    data: Tensor,
    reduce: str,
    *,
    lengths: Tensor | None = None,
    indices: Tensor | None = None,
    offsets: Tensor | None = None,
    axis: int = 0,
    unsafe: bool = False,
    initial=None,
) -> Tensor:
    """Reduce consecutive segments of ``data`` along ``axis`` ('sum', 'mean', 'max', 'min',
    'prod'), as torch.segment_reduce: segments given by ``lengths`` or ``offsets`` (shaped as
    data's dims before ``axis`` plus the segments); an empty segment gives ``initial`` or the
    reduction's identity (NaN for mean), ``initial`` joins every other one. Differentiable (a
    tie in max/min shares the gradient, as torch's)."""
    if reduce not in _SEGMENT_EMPTY:
        raise RuntimeError(
            f"reduce argument must be either sum, prod, mean, amax or amin, got {reduce}"
        )
    if indices is not None:
        raise RuntimeError("segment_reduce(): indices based reduction is not supported yet.")
    if lengths is None and offsets is None:
        raise RuntimeError("segment_reduce(): Either lengths or offsets must be defined.")
    if not data.dtype.is_floating_point:
        raise NotImplementedError(
            f"\"_segment_reduce_cpu\" not implemented for '{scalar_type_name(data.dtype.name)}'"
        )
    ax = check_dim(axis, data.dim())
    seg = lengths if lengths is not None else offsets
    if seg.dim() - 1 != ax:
        raise RuntimeError(
            f"segment_reduce(): Expected axis to be the last dimension of lengths but got {ax}."
        )
    given = np.asarray(seg.detach()._host(), dtype=np.int64)
    if lengths is not None:
        counts = given
        starts = np.cumsum(counts, axis=-1) - counts
        if not unsafe and (counts.sum(axis=-1) != data.shape[ax]).any():
            raise RuntimeError(
                "segment_reduce(): Expected all rows of lengths along axis to sum to "
                "data.size(lengths.dim()-1) when !unsafe."
            )
    else:
        starts, counts = given[..., :-1], np.diff(given, axis=-1)
    empty = _SEGMENT_EMPTY[reduce] if initial is None else float(initial)
    init = None if initial is None else zeros((), device=data.device) + initial
    rows = []
    for b in np.ndindex(*starts.shape[:-1]):
        row = data[b] if b else data  # the batch dims before ``axis`` taken away
        parts = []
        for st, n in zip(starts[b].tolist(), counts[b].tolist()):
            part = row[st : st + n]
            if n == 0:
                part = zeros(row.shape[1:], dtype=data.dtype, device=data.device) + empty
            elif reduce in ("sum", "mean"):
                part = sum(part, 0) if initial is None else sum(part, 0) + initial
                if reduce == "mean":
                    part = part / n
            elif reduce == "prod":
                part = prod(part, 0) if initial is None else prod(part, 0) * initial
            else:
                part = (amax if reduce == "max" else amin)(part, 0)
                if init is not None:
                    part = (maximum if reduce == "max" else minimum)(part, init)
            parts.append(part)
        rows.append(stack(parts, 0))
    if not starts.shape[:-1]:
        return rows[0]
    return reshape(stack(rows, 0), tuple(data.shape[:ax]) + tuple(rows[0].shape))
