"""Statistical reductions: var/std (+ _mean forms), vector norms, logsumexp (re-exported by
reduction.py, whose ``__all__`` lists them)."""

from __future__ import annotations

import builtins

import numpy as np

from .. import dtypes as D
from .._backend.xp import xp_of
from ..autograd.node import Op
from ..tensor import Tensor
from . import _bw
from .reduction import Mean, _axis, _finish, _name, norm_dims


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
    return a.dtype.kind in "fc" or a.dtype == D.bfloat16.np


def via_f32(input: Tensor, fn):
    """fn(input), computed in float32 for a bfloat16 input (as torch accumulates)."""
    if input._data.dtype != D.bfloat16.np:
        return fn(input)
    r = fn(input.float())
    if isinstance(r, tuple):
        return tuple(x.to(D.bfloat16) for x in r)
    return r.to(D.bfloat16)


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
    return _finish(via_f32(input, lambda x: VarStd.apply(x, dims, c, k, False)), out)


def std(
    input: Tensor, dim=None, unbiased=None, keepdim: bool = False, *, correction=None, out=None
) -> Tensor:
    """Standard deviation over ``dim`` with Bessel's ``correction`` (1 by default)."""
    dims, c, k = _var_args(input, dim, unbiased, keepdim, correction)
    return _finish(via_f32(input, lambda x: VarStd.apply(x, dims, c, k, True)), out)


def var_mean(
    input: Tensor, dim=None, unbiased=None, keepdim: bool = False, *, correction=None
) -> tuple:
    """(var, mean) over ``dim``."""
    dims, c, k = _var_args(input, dim, unbiased, keepdim, correction)
    return via_f32(
        input, lambda x: (VarStd.apply(x, dims, c, k, False), Mean.apply(x, dims, k, None))
    )


def std_mean(
    input: Tensor, dim=None, unbiased=None, keepdim: bool = False, *, correction=None
) -> tuple:
    """(std, mean) over ``dim``."""
    dims, c, k = _var_args(input, dim, unbiased, keepdim, correction)
    return via_f32(
        input, lambda x: (VarStd.apply(x, dims, c, k, True), Mean.apply(x, dims, k, None))
    )


# --- norm / logsumexp ----------------------------------------------------------------------
class Norm(Op):
    save_in = (0,)
    save_out = True
    higher_order = True

    @staticmethod
    def forward(ctx, a, p, dims, keepdim):
        xp = xp_of(a)
        ax = _axis(dims)
        x = xp.abs(a)
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
    return _finish(via_f32(input, lambda x: Norm.apply(x, float(p), dims, keepdim)), out)


class NuclearNorm(Op):
    """Sum of the singular values of the last two dims; gradient U @ Vh."""

    save_in = (0,)

    @staticmethod
    def forward(ctx, a):
        u, sv, vh = xp_of(a).linalg.svd(a, full_matrices=False)
        ctx.uv = u @ vh
        return sv.sum(-1).astype(a.dtype, copy=False)

    @staticmethod
    def backward(ctx, g):
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
        input = input.to(D._default)
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
        x = x.to(D._default)
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
        import warnings

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
    return c.reshape(()) if nd < 2 else c


def corrcoef(input: Tensor) -> Tensor:
    """Pearson correlation coefficients of the rows."""
    c = cov(input)
    if c._data.ndim == 0:
        return c / c
    d = c.diagonal()
    s = d.sqrt()
    c = c / s.reshape(-1, 1) / s.reshape(1, -1)
    return c.clamp(-1, 1) if not c.is_complex() else c
