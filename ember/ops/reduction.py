"""Reductions: sum, mean, prod, max/min, var/std, norm, logsumexp, cumsum, any/all, ...

``dim`` may be an int, a tuple or None; ``keepdim`` keeps reduced dims as size 1. Integer
inputs of ``sum`` accumulate in int64, as torch.
"""

from __future__ import annotations

from collections import namedtuple

import numpy as np

from .. import dtypes as D
from ..autograd.node import Op
from ..tensor import Tensor, check_dim
from . import _bw

__all__ = ["sum", "mean", "nansum", "nanmean"]

values_indices = namedtuple("return_types", ["values", "indices"])


def norm_dims(dim, nd: int):
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


def _axis(dims):
    return dims if dims is None else (dims[0] if len(dims) == 1 else dims)


class Sum(Op):
    higher_order = True

    @staticmethod
    def forward(ctx, a, dims, keepdim, npdt):
        ctx.shape = a.shape
        ctx.dims = dims
        ctx.keep = keepdim
        ctx.dt = a.dtype
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
    if dtype is not None:
        npdt = D.to_dtype(dtype).np
    elif a.dtype.kind in "biu":
        npdt = np.dtype(np.int64)
    else:
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
            f"or complex dtype. Got: {_name(input.dtype)}")
    npdt = D.to_dtype(dtype).np if dtype is not None else None
    dims = norm_dims(dim, a.ndim)
    return _finish(Mean.apply(input, dims, keepdim, npdt), out)


def _name(d):
    from .inplace import _pretty

    return _pretty(d.name)


def _finish(r, out):
    if out is not None:
        from .inplace import copy_into_out

        return copy_into_out(out, r)
    return r


def nansum(input: Tensor, dim=None, keepdim: bool = False, *, dtype=None) -> Tensor:
    from .compare import where
    from .unary import isnan

    return sum(where(isnan(input), 0.0, input), dim, keepdim, dtype=dtype)


def nanmean(input: Tensor, dim=None, keepdim: bool = False, *, dtype=None) -> Tensor:
    from .unary import isnan

    mask = isnan(input)
    cnt = sum(~mask, dim, keepdim)
    return nansum(input, dim, keepdim, dtype=dtype) / cnt
