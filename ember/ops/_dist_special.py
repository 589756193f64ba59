"""Private lgamma, digamma and trigamma for ember.distributions (NumPy only, float64 inside).

A stand-in until ember has torch.special: the lead may swap these for ember.lgamma/digamma.
Each is an Op with its gradient (lgamma' = digamma, digamma' = trigamma).
"""

from __future__ import annotations

import numpy as np

from .._backend.xp import xp_of
from ..autograd.node import Op
from ..tensor import Tensor
from . import _bw

_HALF_LOG_2PI = 0.5 * np.log(2.0 * np.pi)
_SHIFT = 10.0  # the asymptotic series below are used for x >= _SHIFT


# series coefficients from the Bernoulli numbers B_2k, lowest order first
_LGAMMA_C = (1 / 12, -1 / 360, 1 / 1260, -1 / 1680, 1 / 1188, -691 / 360360, 1 / 156)
_DIGAMMA_C = (1 / 12, -1 / 120, 1 / 252, -1 / 240, 1 / 132, -691 / 32760, 1 / 12)
_TRIGAMMA_C = (1 / 6, -1 / 30, 1 / 42, -1 / 30, 5 / 66, -691 / 2730, 7 / 6)


def _poly(z, coeffs):
    """sum_k coeffs[k] z^k by Horner's rule."""
    r = np.full_like(z, coeffs[-1])
    for c in coeffs[-2::-1]:
        r = r * z + c
    return r


def _host64(a):
    return np.asarray(a.get() if hasattr(a, "get") else a, dtype=np.float64)


def _back(r, like):
    """Result in the dtype (float64 for integer inputs as torch) and device of ``like``."""
    dt = like.dtype if like.dtype.kind in "fc" else np.dtype(np.float32)
    return xp_of(like).asarray(r.astype(dt))


def _shift_up(x: np.ndarray):
    """x + n >= _SHIFT for the smallest n >= 0; returns (x + n, list of the skipped x + k)."""
    steps = []
    y = x.copy()
    for _ in range(int(_SHIFT) + 1):
        m = y < _SHIFT
        if not m.any():
            break
        steps.append(np.where(m, y, np.nan))
        y = np.where(m, y + 1.0, y)
    return y, steps


def lgamma_np(a) -> np.ndarray:
    """log|Gamma(x)| elementwise; +inf at 0 and the negative integers, as torch.lgamma."""
    x = _host64(a)
    out = np.empty_like(x)
    neg = x < 0.5
    xr = np.where(neg, 1.0 - x, x)  # reflection for x < 1/2
    y, steps = _shift_up(xr)
    z = 1.0 / (y * y)
    # Stirling's series, B_2k / (2k (2k-1) y^(2k-1)), k = 1..7
    s = _poly(z, _LGAMMA_C) / y
    r = (y - 0.5) * np.log(y) - y + _HALF_LOG_2PI + s
    for st in steps:
        r = r - np.where(np.isnan(st), 0.0, np.log(np.where(np.isnan(st), 1.0, st)))
    with np.errstate(divide="ignore", invalid="ignore"):
        sinpx = np.abs(np.sin(np.pi * np.where(neg, x, 0.5)))
        refl = np.log(np.pi / sinpx) - r
    out = np.where(neg, refl, r)
    out = np.where((x <= 0) & (x == np.floor(x)), np.inf, out)
    out = np.where(np.isinf(x), np.inf, out)
    return np.where(np.isnan(x), np.nan, out)


def digamma_np(a) -> np.ndarray:
    """The digamma function; -inf at 0 as torch, nan at the negative integers."""
    x = _host64(a)
    neg = x < 0.5
    xr = np.where(neg, 1.0 - x, x)
    y, steps = _shift_up(xr)
    z = 1.0 / (y * y)
    # log y - 1/(2y) - sum B_2k / (2k y^(2k))
    s = z * _poly(z, _DIGAMMA_C)
    r = np.log(y) - 0.5 / y - s
    for st in steps:
        r = r - np.where(np.isnan(st), 0.0, 1.0 / np.where(np.isnan(st), 1.0, st))
    with np.errstate(divide="ignore", invalid="ignore"):
        refl = r - np.pi / np.tan(np.pi * np.where(neg, x, 0.25))
    out = np.where(neg, refl, r)
    out = np.where((x < 0) & (x == np.floor(x)), np.nan, out)
    out = np.where(x == 0, -np.inf, out)
    out = np.where(x == np.inf, np.inf, out)
    return np.where(np.isnan(x), np.nan, out)


def trigamma_np(a) -> np.ndarray:
    """The trigamma function (polygamma of order 1)."""
    x = _host64(a)
    neg = x < 0.5
    xr = np.where(neg, 1.0 - x, x)
    y, steps = _shift_up(xr)
    z = 1.0 / (y * y)
    # 1/y + 1/(2y^2) + sum B_2k / y^(2k+1)
    s = (1.0 + 0.5 / y + z * _poly(z, _TRIGAMMA_C)) / y
    r = s
    for st in steps:
        r = r + np.where(np.isnan(st), 0.0, 1.0 / np.where(np.isnan(st), 1.0, st) ** 2)
    with np.errstate(divide="ignore", invalid="ignore"):
        refl = (np.pi / np.sin(np.pi * np.where(neg, x, 0.5))) ** 2 - r
    out = np.where(neg, refl, r)
    out = np.where((x <= 0) & (x == np.floor(x)), np.inf, out)
    return np.where(np.isnan(x), np.nan, out)


class _Lgamma(Op):
    save_in = (0,)

    @staticmethod
    def forward(ctx, a):
        ctx.saved = (a,)
        return _back(lgamma_np(a), a)

    @staticmethod
    def backward(ctx, g):
        (a,) = ctx.saved
        return g * _back(digamma_np(a), a)


class _Digamma(Op):
    save_in = (0,)

    @staticmethod
    def forward(ctx, a):
        ctx.saved = (a,)
        return _back(digamma_np(a), a)

    @staticmethod
    def backward(ctx, g):
        (a,) = ctx.saved
        return g * _back(trigamma_np(a), a)


class _Trigamma(Op):
    @staticmethod
    def forward(ctx, a):
        return _back(trigamma_np(a), a)

    @staticmethod
    def backward(ctx, g):
        raise RuntimeError("ember's private trigamma has no gradient")


def lgamma(input: Tensor) -> Tensor:
    """log|Gamma(x)|, as torch.lgamma (private to ember.distributions)."""
    return _Lgamma.apply(input)


def digamma(input: Tensor) -> Tensor:
    """The digamma function, as torch.digamma (private to ember.distributions)."""
    return _Digamma.apply(input)


def trigamma(input: Tensor) -> Tensor:
    """polygamma(1, x), as torch.polygamma(1, x) (private to ember.distributions)."""
    return _Trigamma.apply(input)


def gammainc_np(a, x) -> np.ndarray:
    """The regularised lower incomplete gamma function P(a, x) (torch.special.gammainc):
    its power series below x = a + 1, the continued fraction of Q = 1 - P above."""
    a, x = np.broadcast_arrays(_host64(a), _host64(x))
    a, x = a.ravel().copy(), x.ravel().copy()
    out = np.full(a.shape, np.nan)
    ok = (a > 0) & (x >= 0)
    out[ok & (x == 0)] = 0.0
    out[ok & np.isinf(x)] = 1.0
    fin = ok & (x > 0) & np.isfinite(x)
    logpre = np.zeros_like(a)
    with np.errstate(divide="ignore", invalid="ignore"):
        logpre[fin] = a[fin] * np.log(x[fin]) - x[fin] - lgamma_np(a[fin])
    ser = np.flatnonzero(fin & (x < a + 1.0))
    if ser.size:
        aa, xx = a[ser], x[ser]
        term = 1.0 / aa
        total = term.copy()
        ap = aa.copy()
        for _ in range(2000):
            ap = ap + 1.0
            term = term * xx / ap
            total = total + term
            if np.all(np.abs(term) < np.abs(total) * 1e-17):
                break
        out[ser] = total * np.exp(logpre[ser])
    cf = np.flatnonzero(fin & (x >= a + 1.0))
    if cf.size:
        aa, xx = a[cf], x[cf]
        tiny = 1e-300
        b = xx + 1.0 - aa
        c = np.full_like(aa, 1.0 / tiny)
        d = 1.0 / b
        h = d.copy()
        for i in range(1, 2000):
            an = -i * (i - aa)
            b = b + 2.0
            d = an * d + b
            d = np.where(np.abs(d) < tiny, tiny, d)
            c = b + an / c
            c = np.where(np.abs(c) < tiny, tiny, c)
            d = 1.0 / d
            delta = d * c
            h = h * delta
            if np.all(np.abs(delta - 1.0) < 1e-16):
                break
        out[cf] = 1.0 - np.exp(logpre[cf]) * h
    return out


class _Gammainc(Op):
    save_in = (0, 1)

    @staticmethod
    def forward(ctx, a, x):
        ctx.saved = (a, x)
        shape = np.broadcast_shapes(a.shape, x.shape)
        return _back(gammainc_np(a, x).reshape(shape), x if x.dtype.kind == "f" else a)

    @staticmethod
    def backward(ctx, g):
        a, x = ctx.saved
        a64, x64 = np.broadcast_arrays(_host64(a), _host64(x))
        with np.errstate(divide="ignore", invalid="ignore"):
            dens = np.exp((a64 - 1) * np.log(x64) - x64 - lgamma_np(a64))
        gx = _bw.sum_to(g * _back(np.where(x64 > 0, dens, 0.0), x), x.shape)
        return None, gx  # torch has no derivative w.r.t. a either


def gammainc(a: Tensor, x: Tensor) -> Tensor:
    """P(a, x), as torch.special.gammainc (differentiable in x only, as torch's)."""
    return _Gammainc.apply(a, x)


def log_bessel_i_np(order: int, a) -> np.ndarray:
    """log I_order(x) for x > 0 and order 0 or 1: the power series up to x = 20, the
    asymptotic expansion of the exponentially scaled function above."""
    x = _host64(a)
    out = np.empty_like(x)
    small = x <= 20.0
    xs = x[small]
    if xs.size:
        q = 0.25 * xs * xs
        term = np.ones_like(xs) if order == 0 else 0.5 * xs
        total = term.copy()
        for k in range(1, 120):
            term = term * q / (k * (k + order))
            total = total + term
        with np.errstate(divide="ignore"):
            out[small] = np.log(total)
    xl = x[~small]
    if xl.size:
        mu = 4.0 * order * order
        term = np.ones_like(xl)
        total = term.copy()
        for k in range(1, 30):
            term = -term * (mu - (2 * k - 1) ** 2) / (k * 8.0 * xl)
            total = total + term
        out[~small] = xl - 0.5 * np.log(2 * np.pi * xl) + np.log(total)
    return out


class _LogI0(Op):
    save_in = (0,)

    @staticmethod
    def forward(ctx, a):
        ctx.saved = (a,)
        return _back(log_bessel_i_np(0, a), a)

    @staticmethod
    def backward(ctx, g):
        (a,) = ctx.saved
        # d/dx log I0(x) = I1(x) / I0(x)
        ratio = np.exp(log_bessel_i_np(1, a) - log_bessel_i_np(0, a))
        return g * _back(ratio, a)


class _LogI1(Op):
    @staticmethod
    def forward(ctx, a):
        return _back(log_bessel_i_np(1, a), a)

    @staticmethod
    def backward(ctx, g):
        raise RuntimeError("ember's private log I1 has no gradient")


def log_i0(input: Tensor) -> Tensor:
    """log I0(x), the log of the modified Bessel function of order 0, for x > 0."""
    return _LogI0.apply(input)


def log_i1(input: Tensor) -> Tensor:
    """log I1(x), the log of the modified Bessel function of order 1, for x > 0."""
    return _LogI1.apply(input)
