"""Gamma-family sampling: _standard_gamma (with its implicit reparameterised gradient),
_standard_gamma_grad, _sample_dirichlet and binomial, as torch's primitives of the same names.

Uniform and normal draws come from ember's generator through ember.random's rand/randn.
"""

from __future__ import annotations

import numpy as np

from .._backend.xp import xp_of
from ..autograd.node import Op
from ..random import rand, randn
from ..tensor import Tensor, _wrap
from ._gamma_math import digamma as digamma_np
from ._gamma_math import lgamma as lgamma_np

__all__ = ["_standard_gamma", "_standard_gamma_grad", "_sample_dirichlet", "binomial"]


def _host64(a):
    return np.asarray(a.get() if hasattr(a, "get") else a, dtype=np.float64)


def _uniform(n: int, generator) -> np.ndarray:
    return rand(n, generator=generator, dtype=np.float64)._data


def _normal(n: int, generator) -> np.ndarray:
    return randn(n, generator=generator, dtype=np.float64)._data


def _gamma_np(alpha: np.ndarray, generator, dtype=np.float64) -> np.ndarray:
    """Standard gamma draws for float64 concentrations (Marsaglia and Tsang's method), at
    least the smallest normal number of ``dtype`` (as torch's) for a positive concentration."""
    a = alpha.ravel()
    out = np.zeros_like(a)
    small = a < 1.0
    a1 = np.where(small, a + 1.0, a)  # Gamma(a) = Gamma(a + 1) * U^(1/a) for a < 1
    d = a1 - 1.0 / 3.0
    c = 1.0 / np.sqrt(9.0 * d)
    todo = np.flatnonzero((a > 0) & np.isfinite(a))
    while todo.size:
        z = _normal(todo.size, generator)
        u = _uniform(todo.size, generator)
        y = 1.0 + c[todo] * z
        v = y * y * y
        with np.errstate(invalid="ignore", divide="ignore"):
            ok = (y > 0) & (
                (u < 1.0 - 0.0331 * z**4)
                | (np.log(u) < 0.5 * z * z + d[todo] * (1.0 - v + np.log(v)))
            )
        out[todo[ok]] = d[todo[ok]] * v[ok]
        todo = todo[~ok]
    idx = np.flatnonzero(small & (a > 0))
    if idx.size:
        u = _uniform(idx.size, generator)
        out[idx] *= (1.0 - u) ** (1.0 / a[idx])
    out[~np.isfinite(a)] = np.nan
    # torch never returns an exact 0 for a positive concentration: the smallest normal number
    tiny = np.finfo(dtype).tiny
    return np.where((a > 0) & (out < tiny), tiny, out).reshape(alpha.shape)


def standard_gamma_grad_np(x, alpha) -> np.ndarray:
    """d x / d alpha of a standard gamma sample x, holding its quantile fixed: the implicit
    reparameterisation -(dF(x; alpha)/d alpha) / f(x; alpha), computed by the series of the
    regularised lower incomplete gamma function (exact to float64 rounding; torch uses an
    approximation accurate to about 1e-3 relative)."""
    x, a = np.broadcast_arrays(_host64(x), _host64(alpha))
    x, a = x.ravel().copy(), a.ravel().copy()
    res = np.zeros_like(x)
    huge = (a > 1e5) & (x > 0)
    if huge.any():  # Wilson-Hilferty: x = a (1 - 1/(9a) + z / (3 sqrt a))^3 at fixed z
        ah, xh = a[huge], x[huge]
        w = np.cbrt(xh / ah)
        z = (w - 1.0 + 1.0 / (9.0 * ah)) * 3.0 * np.sqrt(ah)
        dw = 1.0 / (9.0 * ah * ah) - z / (6.0 * ah**1.5)
        res[huge] = w**3 + 3.0 * ah * w * w * dw
    idx = np.flatnonzero(~huge & (x > 0) & (a > 0))
    if idx.size:
        xs, as_ = x[idx], a[idx]
        logx = np.log(xs)
        # sum_n u_n (log x - psi(a + n + 1)), u_n = x^(n+1) / (a (a+1) ... (a+n)),
        # equals (dP(a, x)/da) / pdf(x; a); the gradient is its negative
        u = xs / as_
        psi = digamma_np(as_ + 1.0)
        acc = u * (logx - psi)
        act = np.arange(idx.size)
        k = as_ + 1.0
        for _ in range(100000):
            u_a, k_a = u[act], k[act]
            u_a = u_a * xs[act] / k_a
            psi[act] = psi[act] + 1.0 / k_a
            t = u_a * (logx[act] - psi[act])
            acc[act] += t
            u[act] = u_a
            k[act] = k_a + 1.0
            done = (k_a > xs[act]) & (np.abs(t) <= 1e-17 * np.abs(acc[act]))
            act = act[~done]
            if not act.size:
                break
        res[idx] = -acc
    return res


class _StandardGamma(Op):
    @staticmethod
    def forward(ctx, alpha, sample):
        ctx.saved = (sample, alpha)
        return sample

    @staticmethod
    def backward(ctx, g):
        x, alpha = ctx.saved
        gr = standard_gamma_grad_np(x, alpha).reshape(x.shape)
        return g * xp_of(g).asarray(gr.astype(x.dtype)), None


def _standard_gamma(input: Tensor, generator=None) -> Tensor:
    """Gamma(concentration, 1) draws, differentiable w.r.t. the concentration (implicit
    reparameterisation), as torch._standard_gamma."""
    a = input._data
    x = _gamma_np(_host64(a), generator, a.dtype).astype(a.dtype)
    return _StandardGamma.apply(input, _wrap(xp_of(a).asarray(x)))


def _standard_gamma_grad(self: Tensor, output: Tensor) -> Tensor:
    """d output / d self for output ~ Gamma(self), as torch._standard_gamma_grad."""
    a = self._data
    gr = standard_gamma_grad_np(output._data, a)
    shape = np.broadcast_shapes(a.shape, output._data.shape)
    return _wrap(xp_of(a).asarray(gr.reshape(shape).astype(a.dtype)))


def _sample_dirichlet(input: Tensor, generator=None) -> Tensor:
    """Dirichlet draws for concentrations along the last dim, as torch._sample_dirichlet."""
    a = input._data
    g = _gamma_np(_host64(a), generator, a.dtype)
    s = g.sum(-1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        x = np.where(s > 0, g / np.where(s > 0, s, 1.0), 0.0)
    tiny = np.finfo(a.dtype).tiny
    x = np.clip(x, tiny, 1.0 - np.finfo(a.dtype).eps / 2)
    return _wrap(xp_of(a).asarray(x.astype(a.dtype)))


def _binomial_inversion(n, p, generator):
    """Binomial(n, p) by sequential search of the CDF (small n p), p <= 1/2."""
    k = np.zeros_like(n)
    u = _uniform(n.size, generator)
    q = 1.0 - p
    pk = np.exp(n * np.log1p(-p))
    cdf = pk.copy()
    act = np.flatnonzero(u > cdf)
    while act.size:
        ka, na = k[act], n[act]
        pk[act] = pk[act] * (na - ka) / (ka + 1.0) * p[act] / q[act]
        k[act] = ka + 1.0
        cdf[act] += pk[act]
        act = act[(u[act] > cdf[act]) & (k[act] < n[act])]
    return k


def _binomial_btrs(n, p, generator):
    """Binomial(n, p) by Hormann's BTRS rejection (n p >= 10), p <= 1/2."""
    q = 1.0 - p
    spq = np.sqrt(n * p * q)
    b = 1.15 + 2.53 * spq
    a = -0.0873 + 0.0248 * b + 0.01 * p
    c = n * p + 0.5
    vr = 0.92 - 4.2 / b
    alpha = (2.83 + 5.1 / b) * spq
    lpq = np.log(p / q)
    m = np.floor((n + 1.0) * p)
    h = lgamma_np(m + 1.0) + lgamma_np(n - m + 1.0)
    out = np.zeros_like(n)
    act = np.arange(n.size)
    while act.size:
        uu = _uniform(act.size, generator) - 0.5
        v = _uniform(act.size, generator)
        us = 0.5 - np.abs(uu)
        k = np.floor((2.0 * a[act] / us + b[act]) * uu + c[act])
        inside = (k >= 0) & (k <= n[act])
        quick = inside & (us >= 0.07) & (v <= vr[act])
        with np.errstate(divide="ignore", invalid="ignore"):
            lv = np.log(v * alpha[act] / (a[act] / (us * us) + b[act]))
            kk = np.where(inside, k, 0.0)
            bound = (
                h[act]
                - lgamma_np(kk + 1.0)
                - lgamma_np(n[act] - kk + 1.0)
                + (kk - m[act]) * lpq[act]
            )
        ok = quick | (inside & (lv <= bound))
        out[act[ok]] = k[ok]
        act = act[~ok]
    return out


def binomial(count: Tensor, prob: Tensor, generator=None) -> Tensor:
    """Binomial(count, prob) draws in count's dtype, as torch.binomial."""
    c_arr = count._data
    shape = np.broadcast_shapes(c_arr.shape, prob._data.shape)
    n = np.broadcast_to(_host64(c_arr), shape).ravel().copy()
    p = np.broadcast_to(_host64(prob._data), shape).ravel().copy()
    flip = p > 0.5
    ps = np.where(flip, 1.0 - p, p)
    out = np.zeros_like(n)
    use_btrs = n * ps >= 10.0
    i = np.flatnonzero(~use_btrs & (ps > 0) & (n > 0))
    if i.size:
        out[i] = _binomial_inversion(n[i], ps[i], generator)
    j = np.flatnonzero(use_btrs)
    if j.size:
        out[j] = _binomial_btrs(n[j], ps[j], generator)
    out = np.where(flip, n - out, out)
    out = np.where(np.isnan(p) | np.isnan(n), np.nan, out)
    return _wrap(xp_of(c_arr).asarray(out.reshape(shape).astype(c_arr.dtype)))
