"""Scans along one dim: cumsum, cumprod, cummax, cummin, logcumsumexp, and the trapezoid rules."""

from __future__ import annotations

import numpy as np

from .. import dtypes
from .._backend import ufunc_methods
from .._backend.casting import cast, needs_cast
from .._backend.xp import xp_of
from .._tensor_errors import check_dim, not_implemented_for
from ..autograd.node import Op
from ..tensor import Tensor, _wrap
from . import _bw
from ._blas_sum import is_half
from ._return_types import return_type
from .binary_math import logaddexp_complex
from .gather import Gather
from .inplace import copy_into_out
from .reduction import is_float, rev, via_f32
from .view import narrow


def _rev_cumsum(g, dim: int):
    """Sum of g over positions j >= i along ``dim`` (the adjoint of cumsum)."""
    if isinstance(g, Tensor):
        return g.flip(dim).cumsum(dim).flip(dim)
    xp = xp_of(g)
    return rev(xp.cumsum(rev(g, dim), axis=dim), dim)


def _finish(r, out):
    if out is not None:
        return copy_into_out(out, r)
    return r


def _scan_dtype(a, dtype):
    if dtype is not None:
        return dtypes.to_dtype(dtype).np
    return np.dtype(np.int64) if a.dtype.kind in "biu" else None


class CumSum(Op):
    higher_order = True

    @staticmethod
    def forward(ctx, a, dim, npdt):
        ctx.dim, ctx.dt = dim, a.dtype
        if npdt is not None and needs_cast(a.dtype, npdt):
            a = cast(a, npdt)  # torch casts the input first
        if a.ndim == 0:
            return a.astype(npdt or a.dtype)
        if is_half(a) and npdt in (None, a.dtype):
            # torch accumulates float16/bfloat16 in float32, rounding each running value
            return np.cumsum(a.astype(np.float32), axis=dim).astype(a.dtype)
        return xp_of(a).cumsum(a, axis=dim, dtype=npdt)

    @staticmethod
    def backward(ctx, g):
        if g.ndim:
            g = _rev_cumsum(g, ctx.dim)
        return _bw.cast(g, ctx.dt), None, None


def cumsum(input: Tensor, dim: int, *, dtype=None, out=None) -> Tensor:
    """Running sum along ``dim``; bool/int inputs accumulate in int64."""
    a = input._data
    d = check_dim(dim, a.ndim)
    return _finish(CumSum.apply(input, d, _scan_dtype(a, dtype)), out)


class CumProd(Op):
    save_in = (0,)
    save_out = True
    higher_order = True

    @staticmethod
    def forward(ctx, a, dim, npdt):
        if npdt is not None and needs_cast(a.dtype, npdt):
            a = cast(a, npdt)  # torch casts the input first
        if a.ndim == 0:
            r = a.astype(npdt or a.dtype)
        elif is_half(a) and npdt in (None, a.dtype):
            r = np.cumprod(a.astype(np.float32), axis=dim).astype(a.dtype)  # as CumSum
        else:
            r = xp_of(a).cumprod(a, axis=dim, dtype=npdt)
        ctx.saved = (a, r)
        ctx.dim = dim
        return r

    @staticmethod
    def backward(ctx, g):
        a, r = ctx.saved
        if a.ndim == 0:
            return g, None, None
        dim = ctx.dim
        if isinstance(g, Tensor):
            if not (a._data == 0).any():
                return _rev_cumsum(g * r, dim) / a, None, None
            # zeros: exact first order, held constant for higher orders
            return _wrap(_cumprod_grad(a._data, r._data, g._data, dim)), None, None
        return _cumprod_grad(a, r, g, dim), None, None


def _cumprod_grad(a, r, g, dim: int):
    """cumprod's input gradient on arrays, exact when the input has zeros."""
    xp = xp_of(a)
    g = g.astype(r.dtype, copy=False)
    if not (a == 0).any():
        return (_rev_cumsum(g * r, dim) / a).astype(a.dtype, copy=False)
    # with zeros, d out_j / d x_i is the product of the other x_k, k <= j: one scan per i
    n = a.shape[dim]
    out = xp.empty(a.shape, r.dtype)
    for i in range(n):
        b = a.copy()
        b[(slice(None),) * dim + (i,)] = 1
        c = xp.cumprod(b, axis=dim, dtype=r.dtype)
        tail = (slice(None),) * dim + (slice(i, None),)
        out[(slice(None),) * dim + (i,)] = (g[tail] * c[tail]).sum(axis=dim)
    return out.astype(a.dtype, copy=False)


def cumprod(input: Tensor, dim: int, *, dtype=None, out=None) -> Tensor:
    """Running product along ``dim``; bool/int inputs multiply in int64."""
    a = input._data
    d = check_dim(dim, a.ndim)
    return _finish(CumProd.apply(input, d, _scan_dtype(a, dtype)), out)


def _cum_ext(input: Tensor, dim: int, is_max: bool, name: str):
    a = input._data
    d = check_dim(dim, a.ndim)
    if a.ndim == 0:
        return return_type(name, input.clone(), _wrap(np.zeros((), np.int64)))
    if a.dtype.kind == "c" and a.size:  # torch takes a 0-d or empty complex tensor as it is
        raise not_implemented_for(f"{name}_cpu", a.dtype)
    xp = xp_of(a)
    vals = ufunc_methods.accumulate(xp.maximum if is_max else xp.minimum, a, d)
    shp = [1] * a.ndim
    shp[d] = a.shape[d]
    pos = xp.arange(a.shape[d]).reshape(shp)
    hit = (a == vals) | (xp.isnan(a) if a.dtype.kind == "f" else False)
    idx = ufunc_methods.accumulate(xp.maximum, xp.where(hit, pos, 0), d).astype(np.int64)
    return return_type(name, Gather.apply(input, d, idx, False), _wrap(idx))


def cummax(input: Tensor, dim: int) -> tuple:
    """(running maximum, index of where it was reached) along ``dim``."""
    return _cum_ext(input, dim, True, "cummax")


def cummin(input: Tensor, dim: int) -> tuple:
    """(running minimum, index of where it was reached) along ``dim``."""
    return _cum_ext(input, dim, False, "cummin")


def _complex_logcumsumexp(a, dim: int):
    """The running complex logaddexp along ``dim``, one slice at a time."""
    xp = xp_of(a)
    r = xp.moveaxis(a, dim, 0).copy()
    for i in range(1, r.shape[0]):
        r[i] = logaddexp_complex(r[i - 1], r[i])
    return xp.moveaxis(r, 0, dim)


class LogCumSumExp(Op):
    save_in = (0,)
    save_out = True
    higher_order = True

    @staticmethod
    def forward(ctx, a, dim):
        if a.ndim == 0:
            r = a.copy()
        elif a.dtype.kind == "c":  # NumPy's logaddexp has no complex loop to accumulate
            r = _complex_logcumsumexp(a, dim)
        else:
            r = ufunc_methods.accumulate(xp_of(a).logaddexp, a, dim)
        ctx.saved = (a, r)
        ctx.dim = dim
        return r

    @staticmethod
    def backward(ctx, g):
        a, r = ctx.saved
        if a.ndim == 0:
            return g, None
        # d out_j / d x_i = exp(x_i - out_j) for i <= j; shift by the last (largest) out
        n = a.shape[ctx.dim]
        last = r[(slice(None),) * ctx.dim + (slice(n - 1, n),)]
        if isinstance(g, Tensor):
            # the shift is a constant (it cancels); keep it out of the graph
            last = _wrap(
                xp_of(last._data).where(xp_of(last._data).isfinite(last._data), last._data, 0)
            )
            return _rev_cumsum(g * _bw.exp(last - r), ctx.dim) * _bw.exp(a - last), None
        xp = xp_of(a)
        last = xp.where(xp.isfinite(last), last, 0)
        with np.errstate(over="ignore", invalid="ignore"):
            s = _rev_cumsum(g * xp.exp(last - r), ctx.dim)
            gx = s * xp.exp(a - last)
        return gx.astype(a.dtype, copy=False), None


def logcumsumexp(input: Tensor, dim: int, *, out=None) -> Tensor:
    """log(cumsum(exp(input))) along ``dim``, computed stably."""
    if not is_float(input._data):
        input = input.to(dtypes._default)
    d = check_dim(dim, input._data.ndim)
    return _finish(via_f32(input, lambda x: LogCumSumExp.apply(x, d)), out)


def _trap_terms(y: Tensor, x, dx, dim: int):
    d = check_dim(dim, y._data.ndim)
    n = y._data.shape[d]
    if n == 0:
        return None, d
    if y._data.dtype.kind in "biu":
        y = y.to(dtypes._default)
    avg = (narrow(y, d, 1, n - 1) + narrow(y, d, 0, n - 1)) / 2
    if x is None:
        return avg * (1.0 if dx is None else dx), d
    if not isinstance(x, Tensor):
        return avg * x, d
    xd = d if x._data.ndim == y._data.ndim else x._data.ndim - 1
    m = x._data.shape[xd]
    if m != n:
        raise RuntimeError(
            f"trapezoid: There must be one `x` value for each sample point. Got "
            f"{m} x values and {n} y values"
        )
    h = narrow(x, xd, 1, m - 1) - narrow(x, xd, 0, m - 1)
    if x._data.ndim == 1 and y._data.ndim > 1:
        shp = [1] * y._data.ndim
        shp[d] = n - 1
        h = h.reshape(shp)
    return avg * h, d


def trapezoid(y: Tensor, x=None, *, dx=None, dim: int = -1) -> Tensor:
    """Integral of y along ``dim`` by the trapezoid rule (sample points x, or spacing dx)."""
    terms, d = _trap_terms(y, x, dx, dim)
    if terms is None:
        return (y.to(dtypes._default) if y._data.dtype.kind in "biu" else y).sum(d)
    return terms.sum(d)


trapz = trapezoid


def cumulative_trapezoid(y: Tensor, x=None, *, dx=None, dim: int = -1) -> Tensor:
    """Running trapezoid-rule integral of y along ``dim``."""
    terms, d = _trap_terms(y, x, dx, dim)
    if terms is None:
        return (y.to(dtypes._default) if y._data.dtype.kind in "biu" else y).clone()
    return cumsum(terms, d)
