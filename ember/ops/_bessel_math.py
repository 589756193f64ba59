"""Vectorised NumPy kernels for Bessel functions in float64: the modified I0/I1 (plain and
exponentially scaled), K0/K1 (plain and scaled), the ordinary J0/J1/Y0/Y1, the spherical j0 and
the Airy function Ai.

Methods (each chosen so that its terms do not cancel):
- I0, I1: the power series (all terms positive) for |x| <= 30, the asymptotic expansion of
  e^-x I(x) beyond (its terms shrink below float64 rounding before they start to grow).
- K0, K1: the power series for x <= 1; for 1 < x <= 25 the trapezoidal rule on
  K_v(x) e^x = int_0^inf exp(-x (cosh t - 1)) cosh(v t) dt, which converges geometrically fast
  because the integrand is analytic in a strip; the asymptotic expansion beyond.
- J0, J1, Y0, Y1: the power series for |x| <= 2; beyond, Hankel's function from the integral
  H_v(x) = sqrt(2 / (pi x)) e^{i (x - v pi / 2 - pi / 4)} / Gamma(v + 1/2)
           * int e^{-s^2} s^{2v} (1 + i s^2 / (2 x))^{v - 1/2} ds   (over the real line),
  again by the trapezoidal rule (a smooth, Gaussian-decaying integrand), J = Re H, Y = Im H.
  As in every method of this kind (and in Cephes), the error near a zero of J or Y is absolute
  (about 1e-16 times the local amplitude), not relative.
- Ai: its Maclaurin series for -2.5 <= x <= 1, Ai(x) = sqrt(x / 3) K_{1/3}(zeta) / pi for
  x > 1 (the same trapezoidal rule), and for x < -2.5 the Hankel integral for J_{+-1/3}.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = [
    "i0",
    "i0e",
    "i1",
    "i1e",
    "k0",
    "k0e",
    "k1",
    "k1e",
    "j0",
    "j1",
    "y0",
    "y1",
    "spherical_j0",
    "airy_ai",
]

_EULER = 0.57721566490153286060651209008240243
_SERIES_MAX = 30.0


def _flat(a):
    return np.ascontiguousarray(a, dtype=np.float64).reshape(-1)


def _i_series(x, nu: int, terms: int = 64):
    """I_nu(x) for nu in {0, 1} by the power series (x >= 0)."""
    q = 0.25 * x * x
    term = np.ones_like(x) if nu == 0 else 0.5 * x
    total = term.copy()
    for k in range(1, terms):
        term = term * q / (k * (k + nu))
        total += term
    return total


def _asym_coefs(nu: int, n: int) -> list[float]:
    """prod_{j <= k} (4 nu^2 - (2j - 1)^2) / (k! 8^k), k = 0..n-1."""
    mu = 4 * nu * nu
    c = [1.0]
    for k in range(1, n):
        c.append(c[-1] * (mu - (2 * k - 1) ** 2) / (k * 8))
    return c


_ASYM = {0: _asym_coefs(0, 40), 1: _asym_coefs(1, 40)}


def _i_scaled_asym(x, nu: int):
    """e^-x I_nu(x) for x > 30: sum_k (-1)^k c_k / x^k / sqrt(2 pi x)."""
    r = 1.0 / x
    s = np.zeros_like(x)
    c = _ASYM[nu]
    for k in range(len(c) - 1, -1, -1):
        s = s * r + (-1) ** k * c[k]
    return s / np.sqrt(2 * np.pi * x)


def _i_scaled(ax, nu: int):
    """e^-x I_nu(x) for x >= 0."""
    out = np.empty_like(ax)
    lo = ax <= _SERIES_MAX
    out[lo] = _i_series(ax[lo], nu) * np.exp(-ax[lo])
    out[~lo] = _i_scaled_asym(ax[~lo], nu)
    return out


def _i_plain(ax, nu: int):
    out = np.empty_like(ax)
    lo = ax <= _SERIES_MAX
    out[lo] = _i_series(ax[lo], nu)
    hi = ~lo
    with np.errstate(over="ignore"):
        h = np.exp(0.5 * ax[hi])  # split so e^x overflows only when the result does
        out[hi] = _i_scaled_asym(ax[hi], nu) * h * h
    return out


def _finish(out, a):
    return out.reshape(np.shape(a))


def i0(a):
    """Modified Bessel function of the first kind, order 0."""
    x = _flat(a)
    return _finish(_i_plain(np.abs(x), 0), a)


def i0e(a):
    """e^-|x| I0(x)."""
    x = _flat(a)
    return _finish(_i_scaled(np.abs(x), 0), a)


def i1(a):
    """Modified Bessel function of the first kind, order 1 (odd)."""
    x = _flat(a)
    return _finish(np.copysign(_i_plain(np.abs(x), 1), x), a)


def i1e(a):
    """e^-|x| I1(x)."""
    x = _flat(a)
    return _finish(np.copysign(_i_scaled(np.abs(x), 1), x), a)


# the trapezoidal rule for K: nodes t = k h / sqrt(x), k = 0..47; the integrand is close to
# exp(-x t^2 / 2), so the step follows its width and 48 nodes reach where it is below 1e-19
_KK = np.arange(48.0)
_KW = np.full(_KK.shape, 1.0)
_KW[0] = 0.5
_KH = 0.2
_CHUNK = 1 << 15  # rows per block of the (elements x nodes) quadrature matrices


def _chunked(f):
    """Apply a quadrature over row blocks, so its temporary stays small."""

    def g(x, *args):
        if x.size <= _CHUNK:
            return f(x, *args)
        return np.concatenate([f(x[i : i + _CHUNK], *args) for i in range(0, x.size, _CHUNK)])

    return g


@_chunked
def _k_trap_scaled(x, nu: float):
    """e^x K_nu(x) for x >= 1 by the trapezoidal rule."""
    h = _KH / np.sqrt(np.maximum(x, 1.0))
    t = _KK[None, :] * h[:, None]
    sh = np.sinh(0.5 * t)
    e = np.exp(-2.0 * x[:, None] * (sh * sh))  # cosh t - 1 without cancellation
    if nu:
        e = e * np.cosh(nu * t)
    return (e @ _KW) * h


def _k_asym_scaled(x, nu: int):
    """e^x K_nu(x) for large x: sqrt(pi / 2x) sum_k c_k / x^k."""
    r = 1.0 / x
    s = np.zeros_like(x)
    c = _ASYM[nu]
    for k in range(len(c) - 1, -1, -1):
        s = s * r + c[k]
    return s * np.sqrt(np.pi / (2 * x))


def _k_series(x, nu: int, terms: int = 30):
    """K_nu(x) for 0 < x <= 1 by the power series."""
    q = 0.25 * x * x
    lg = np.log(0.5 * x)
    if nu == 0:
        term = np.ones_like(x)
        h = 0.0
        s = np.zeros_like(x)
        for k in range(1, terms):
            term = term * q / (k * k)
            h += 1.0 / k
            s += term * h
        return -(lg + _EULER) * _i_series(x, 0, terms) + s
    # K1(x) = 1/x + ln(x/2) I1(x) - (x/4) sum_k (psi(k+1) + psi(k+2)) q^k / (k! (k+1)!)
    term = np.ones_like(x)
    psi1 = -_EULER
    s = (psi1 + psi1 + 1.0) * term
    for k in range(1, terms):
        term = term * q / (k * (k + 1))
        psi1 += 1.0 / k  # psi(k + 1)
        s += (psi1 + psi1 + 1.0 / (k + 1)) * term
    return 1.0 / x + lg * _i_series(x, 1, terms) - 0.25 * x * s


def _k_scaled_pos(x, nu: int):
    """e^x K_nu(x) for x > 0."""
    out = np.empty_like(x)
    lo = x <= 1
    out[lo] = _k_series(x[lo], nu) * np.exp(x[lo])
    mid = (x > 1) & (x <= 25)
    out[mid] = _k_trap_scaled(x[mid], nu)
    hi = x > 25
    out[hi] = _k_asym_scaled(x[hi], nu)
    return out


def _k(a, nu: int, scaled: bool):
    x = _flat(a)
    out = np.full_like(x, np.nan)
    out[x == 0] = np.inf
    out[x == np.inf] = 0.0
    pos = (x > 0) & np.isfinite(x)
    if pos.any():
        xp_ = x[pos]
        if scaled:
            out[pos] = _k_scaled_pos(xp_, nu)
        else:
            r = np.empty_like(xp_)
            lo = xp_ <= 1
            r[lo] = _k_series(xp_[lo], nu)
            with np.errstate(under="ignore"):
                r[~lo] = _k_scaled_pos(xp_[~lo], nu) * np.exp(-xp_[~lo])
            out[pos] = r
    return _finish(out, a)


def k0(a):
    """Modified Bessel function of the second kind, order 0 (NaN for x < 0, inf at 0)."""
    return _k(a, 0, False)


def k1(a):
    """Modified Bessel function of the second kind, order 1."""
    return _k(a, 1, False)


def k0e(a):
    """e^x K0(x)."""
    return _k(a, 0, True)


def k1e(a):
    """e^x K1(x)."""
    return _k(a, 1, True)


# Hankel's integral by the trapezoidal rule: the integrand is even in s, so nodes s = k h, k >= 0
# with weights 2h (h/2... the centre counts once); its singularities lie sqrt(x) >= sqrt(2) off
# the real axis, so h = 0.2 leaves an error near exp(-2 pi sqrt(2) / h) ~ 1e-19
_HH = 0.2
_HS = np.arange(0.0, 6.4, _HH)
_HWT = np.full(_HS.shape, 2 * _HH)
_HWT[0] = _HH


@_chunked
def _hankel_scaled(x, nu: float):
    """e^{-i (x - nu pi/2 - pi/4)} H_nu^(1)(x) for x >= 2 (a complex array)."""
    s2 = (_HS * _HS)[None, :]
    w = np.exp(-s2) * _HWT
    if nu:
        w = w * np.abs(_HS[None, :]) ** (2 * nu)
    f = (1.0 + 1j * s2 / (2.0 * x[:, None])) ** (nu - 0.5)
    integral = (f * w).sum(axis=1)
    return integral * np.sqrt(2.0 / (np.pi * x)) / math.gamma(nu + 0.5)


def _jy_large(x, nu: int):
    """(J_nu(x), Y_nu(x)) for x >= 2 from Hankel's integral."""
    h = _hankel_scaled(x, nu)
    c, s = np.cos(x), np.sin(x)
    # e^{i (x - nu pi / 2 - pi / 4)} with the phase's cos/sin from cos x and sin x (no rounding
    # of x - pi/4 for large x)
    if nu == 0:
        pr, pi_ = (c + s) / math.sqrt(2), (s - c) / math.sqrt(2)
    else:  # x - 3 pi / 4
        pr, pi_ = (s - c) / math.sqrt(2), -(c + s) / math.sqrt(2)
    re = h.real * pr - h.imag * pi_
    im = h.real * pi_ + h.imag * pr
    return re, im


def _j_series(x, nu: int, terms: int = 30):
    q = -0.25 * x * x
    term = np.ones_like(x) if nu == 0 else 0.5 * x
    total = term.copy()
    for k in range(1, terms):
        term = term * q / (k * (k + nu))
        total += term
    return total


def _y_series(x, nu: int, terms: int = 30):
    """Y_nu(x) for 0 < x <= 2 by the power series."""
    q = -0.25 * x * x
    lg = np.log(0.5 * x)
    if nu == 0:
        term = np.ones_like(x)
        h = 0.0
        s = np.zeros_like(x)
        for k in range(1, terms):
            term = term * q / (k * k)
            h += 1.0 / k
            s -= term * h
        return (2 / np.pi) * ((lg + _EULER) * _j_series(x, 0, terms) + s)
    term = np.ones_like(x)
    psi1 = -_EULER
    s = (psi1 + psi1 + 1.0) * term
    for k in range(1, terms):
        term = term * q / (k * (k + 1))
        psi1 += 1.0 / k
        s += (psi1 + psi1 + 1.0 / (k + 1)) * term
    return -2.0 / (np.pi * x) + (2 / np.pi) * lg * _j_series(x, 1, terms) - x / (2 * np.pi) * s


def _j(a, nu: int):
    x = _flat(a)
    ax = np.abs(x)
    out = np.full_like(x, np.nan)  # torch gives NaN at +-inf too
    lo = ax <= 2
    out[lo] = _j_series(ax[lo], nu)
    hi = (ax > 2) & np.isfinite(ax)
    if hi.any():
        out[hi] = _jy_large(ax[hi], nu)[0]
    if nu == 1:
        out = np.where(x < 0, -out, out)
    return _finish(out, a)


def _y(a, nu: int):
    x = _flat(a)
    out = np.full_like(x, np.nan)
    out[x == 0] = -np.inf
    lo = (x > 0) & (x <= 2)
    out[lo] = _y_series(x[lo], nu)
    hi = (x > 2) & np.isfinite(x)
    if hi.any():
        out[hi] = _jy_large(x[hi], nu)[1]
    return _finish(out, a)


def j0(a):
    """Bessel function of the first kind, order 0."""
    return _j(a, 0)


def j1(a):
    """Bessel function of the first kind, order 1."""
    return _j(a, 1)


def y0(a):
    """Bessel function of the second kind, order 0 (NaN for x < 0, -inf at 0)."""
    return _y(a, 0)


def y1(a):
    """Bessel function of the second kind, order 1."""
    return _y(a, 1)


def spherical_j0(a):
    """sin(x) / x, by its Taylor series for |x| < 0.5."""
    x = _flat(a)
    out = np.empty_like(x)
    small = np.abs(x) < 0.5
    xs = x[small]
    z = xs * xs
    # 1 - z/3! + z^2/5! - ...: 9 terms reach float64 rounding for |x| < 0.5
    p = np.zeros_like(xs)
    for k in range(9, -1, -1):
        p = p * z + (-1) ** k / math.factorial(2 * k + 1)
    out[small] = p
    big = ~small
    out[big] = np.sin(x[big]) / x[big]
    out[np.isinf(x)] = 0.0
    return _finish(out, a)


# Ai(0) and -Ai'(0)
_AI0 = 0.355028053887817239260063186004183176
_AIP0 = 0.258819403792806798405183560189203963


def _airy_series(x, terms: int = 60):
    """Ai(x) = Ai(0) f(x) - (-Ai'(0)) g(x) by the Maclaurin series."""
    z = x * x * x
    f_term = np.ones_like(x)
    g_term = x.copy()
    f, g = f_term.copy(), g_term.copy()
    for k in range(1, terms):
        f_term = f_term * z / ((3 * k - 1) * (3 * k))
        g_term = g_term * z / ((3 * k) * (3 * k + 1))
        f += f_term
        g += g_term
    return _AI0 * f - _AIP0 * g


def _airy_pos(x):
    """Ai(x) for x > 1 from K_{1/3}."""
    zeta = (2.0 / 3.0) * x * np.sqrt(x)
    with np.errstate(under="ignore"):
        return np.sqrt(x / 3.0) / np.pi * _k_trap_or_asym_third(zeta) * np.exp(-zeta)


def _k_trap_or_asym_third(z):
    """e^z K_{1/3}(z) for z > 0.6."""
    out = np.empty_like(z)
    mid = z <= 25
    out[mid] = _k_trap_scaled(z[mid], 1.0 / 3.0)
    hi = ~mid
    # asymptotic expansion with mu = 4/9
    r = 1.0 / z[hi]
    c = [1.0]
    for k in range(1, 30):
        c.append(c[-1] * (4.0 / 9.0 - (2 * k - 1) ** 2) / (k * 8))
    s = np.zeros_like(r)
    for k in range(len(c) - 1, -1, -1):
        s = s * r + c[k]
    out[hi] = s * np.sqrt(np.pi / (2 * z[hi]))
    return out


def _airy_neg(x):
    """Ai(-t) for t = -x > 2.5: sqrt(t) Re(e^{i pi/6} H_{1/3}(zeta)) ... via J_{+-1/3}."""
    t = -x
    zeta = (2.0 / 3.0) * t * np.sqrt(t)
    # Ai(-t) = (sqrt(t) / 2) (J_{1/3}(z) + J_{-1/3}(z)) ... written through Hankel's function:
    # Ai(-t) = sqrt(t) / 2 * Re(e^{-i pi / 6} H_{1/3}(z) + e^{i pi / 6} H_{-1/3}(z)) ... we use
    # J_v = Re H_v with the scaled integrals for v = 1/3 and -1/3 (H_{-v} = e^{i v pi} H_v)
    h = _hankel_scaled_frac(zeta, 1.0 / 3.0)
    ph = zeta - math.pi / 6 - math.pi / 4
    jp = (h * np.exp(1j * ph)).real  # J_{1/3}
    jm = (h * np.exp(1j * (ph + math.pi / 3))).real  # J_{-1/3} = Re(e^{i pi/3} H_{1/3})
    return np.sqrt(t) / 3.0 * (jp + jm)


# Hankel's integral for a fractional order: the substitution u = s^6 keeps the integrand smooth
_FH = 0.02
_FS = np.arange(_FH / 2, 3.0, _FH)


@_chunked
def _hankel_scaled_frac(x, nu: float):
    """e^{-i (x - nu pi/2 - pi/4)} H_nu^(1)(x) for x > 0, 0 < nu < 1/2 (midpoint rule, s^6)."""
    s = _FS[None, :]
    u = s**6
    w = 6.0 * s**5 * np.exp(-u) * u ** (nu - 0.5) * _FH
    f = (1.0 + 1j * u / (2.0 * x[:, None])) ** (nu - 0.5)
    integral = (f * w).sum(axis=1)
    return integral * np.sqrt(2.0 / (np.pi * x)) / math.gamma(nu + 0.5)


def airy_ai(a):
    """The Airy function Ai."""
    x = _flat(a)
    out = np.full_like(x, np.nan)  # NaN at +-inf, as torch
    mid = (x >= -2.5) & (x <= 1)
    out[mid] = _airy_series(x[mid])
    pos = (x > 1) & np.isfinite(x)
    if pos.any():
        out[pos] = _airy_pos(x[pos])
    neg = (x < -2.5) & np.isfinite(x)
    if neg.any():
        out[neg] = _airy_neg(x[neg])
    return _finish(out, a)
