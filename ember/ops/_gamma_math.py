"""Vectorised NumPy kernels for the gamma family: lgamma, digamma, trigamma, the Hurwitz zeta
function, polygamma and the regularised incomplete gamma functions, in float64.

The methods, chosen so that no step cancels badly:
- lgamma: on [1.5, 2.5) the Taylor series of lgamma(2 + z), whose coefficients
  (-1)^k (zeta(k) - 1) / k are computed once at import; other arguments of (0, 13) reach that
  interval through the recurrence lgamma(x + 1) = lgamma(x) + log(x) with products of exact
  differences (all terms add, none cancel), and [13, inf) uses Stirling's series. Negative
  arguments use the reflection formula with an exactly reduced sin(pi x).
- digamma: a Taylor series around its positive root x0 (values of zeta(k, x0) computed at
  import) keeps full relative precision near the root; elsewhere the recurrence to x >= 10 and
  the asymptotic series, and the reflection formula for negative arguments.
- zeta(s, q): Euler-Maclaurin summation with enough direct terms for the Bernoulli tail to
  converge; polygamma(n, x) = (-1)^(n+1) n! zeta(n + 1, x).
- P(a, x) and Q(a, x): the power series of P for x < a + 1, the continued fraction of Q (modified
  Lentz) beyond, with the prefactor x^a e^-x / Gamma(a) taken through logs.
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np

__all__ = [
    "lgamma",
    "lgamma_f32",
    "digamma",
    "digamma_f32",
    "trigamma",
    "zeta",
    "polygamma",
    "gammainc",
    "gammaincc",
]

_EULER = 0.57721566490153286060651209008240243
_LOG_SQRT_2PI = 0.91893853320467274178032973640561764


def _bernoulli(n: int) -> list[Fraction]:
    """B_0..B_n exactly (B_1 = -1/2), by the recurrence sum_k C(m + 1, k) B_k = 0."""
    b = [Fraction(1)]
    for m in range(1, n + 1):
        s = sum(Fraction(math.comb(m + 1, k)) * b[k] for k in range(m))
        b.append(-s / (m + 1))
    return b


_B = _bernoulli(40)
_B2K = [float(_B[2 * k]) for k in range(1, 21)]  # B_2, B_4, ..., B_40


def _zeta_int_minus_one(k: int) -> float:
    """zeta(k) - 1 for an integer k >= 2, to float64 accuracy (Euler-Maclaurin, N = 20)."""
    n = 20
    terms = [j ** (-k) for j in range(n - 1, 1, -1)]
    tail = n ** (1 - k) / (k - 1) + 0.5 * n ** (-k)
    rise = k  # k (k + 1) ... (k + 2j - 2)
    for j in range(1, 12):
        tail += float(_B[2 * j]) / math.factorial(2 * j) * rise * n ** (-k - 2 * j + 1)
        rise *= (k + 2 * j - 1) * (k + 2 * j)
    return math.fsum(terms + [tail])


# lgamma(2 + z) = (1 - gamma) z + sum_{k >= 2} (-1)^k (zeta(k) - 1) z^k / k, |z| <= 1/2
_L2 = [1.0 - _EULER] + [(-1) ** k * _zeta_int_minus_one(k) / k for k in range(2, 40)]


def _poly(coefs, z):
    """c0 + c1 z + ... by Horner's rule."""
    p = np.full_like(z, coefs[-1])
    for c in coefs[-2::-1]:
        p = p * z + c
    return p


def _lgamma2(z):
    """lgamma(2 + z) for |z| <= 1/2."""
    return z * _poly(_L2, z)


def _stirling(x):
    """lgamma(x) for x >= 13 by Stirling's series (8 Bernoulli terms)."""
    r = 1.0 / x
    r2 = r * r
    corr = np.zeros_like(x)
    for k in range(8, 0, -1):
        corr = corr * r2 + _B2K[k - 1] / (2 * k * (2 * k - 1))
    return (x - 0.5) * np.log(x) - x + _LOG_SQRT_2PI + corr * r


def _sinpi(x):
    """sin(pi x) with the argument reduced exactly (x - round(x) is exact)."""
    n = np.round(x)
    r = x - n
    s = np.sin(np.pi * r)
    odd = np.fmod(n, 2) != 0
    return np.where(odd, -s, s)


def _tanpi(x):
    """tan(pi x) with exact reduction (the period is 1)."""
    return np.tan(np.pi * (x - np.round(x)))


def _lgamma_pos(x):
    """lgamma of positive finite x (flat float64)."""
    out = np.empty_like(x)
    big = x >= 13
    if big.any():
        out[big] = _stirling(x[big])
    i = np.flatnonzero((x >= 1.5) & (x < 2.5))
    if i.size:
        out[i] = _lgamma2(x[i] - 2.0)
    i = np.flatnonzero((x >= 0.5) & (x < 1.5))
    if i.size:
        z = x[i] - 1.0  # exact: lgamma(x) = lgamma(2 + z) - log(1 + z)
        out[i] = _lgamma2(z) - np.log1p(z)
    i = np.flatnonzero(x < 0.5)
    if i.size:
        xi = x[i]  # lgamma(x) = lgamma(2 + x) - log(x) - log(1 + x)
        out[i] = _lgamma2(xi) - np.log(xi) - np.log1p(xi)
    i = np.flatnonzero((x >= 2.5) & (x < 13))
    if i.size:
        xi = x[i]
        m = np.floor(xi - 1.5)  # x - m in [1.5, 2.5), the differences are exact
        prod = np.ones_like(xi)
        for j in range(1, 12):
            prod = np.where(j <= m, prod * (xi - j), prod)
        out[i] = _lgamma2(xi - m - 2.0) + np.log(prod)
    return out


def _flat(a):
    return np.ascontiguousarray(a, dtype=np.float64).reshape(-1)


def lgamma(a: np.ndarray) -> np.ndarray:
    """log|Gamma(x)| in float64: +inf at 0, the negative integers and +-inf; NaN stays NaN."""
    x = _flat(a)
    out = np.full_like(x, np.inf)
    fin = np.isfinite(x)
    out[np.isnan(x)] = np.nan
    pos = fin & (x > 0)
    if pos.any():
        out[pos] = _lgamma_pos(x[pos])
    neg = fin & (x < 0) & (x != np.floor(x))
    if neg.any():
        xn = x[neg]
        s = np.abs(_sinpi(xn))
        out[neg] = np.log(np.pi / s) - _lgamma_pos(1.0 - xn)
    return out.reshape(np.shape(a))


# float32 lgamma (lgamma_f32): one formula over the whole array instead of lgamma's pieces and
# gathers, in float64 blocks that stay in the L2 cache: lgamma(x) = lgamma(x + 8) - log(x (x + 1)
# ... (x + 7)) below 8, and Stirling's series with eight terms from 8 up (its error there is
# under 1e-16). Near lgamma's zeros at 1 and 2 the difference cancels to an absolute error of
# about 2e-15, which float32 rounding hides: within an ulp of the float64 kernel over the
# positive axis (the zeros' neighbourhoods included; 1 and 2 give 0). 1M float32 values
# (2026-12-04, one thread, best of 5): 45-74 ms through the float64 pieces (SciPy's gammaln:
# 23-27 ms) -> 10-14 ms; torch 2.3-2.7 ms on two threads.
_STIRLING8 = tuple(float(_B[2 * k]) / (2 * k * (2 * k - 1)) for k in range(8, 0, -1))
_SHIFT = 8.0
_BLOCK = 1 << 15


def _lgamma_shifted(x: np.ndarray) -> np.ndarray:
    """lgamma of positive float64 x (finite or +inf), by the shifted Stirling series."""
    xs = np.minimum(x, _SHIFT)  # the shift's product, for the x below 8 only
    p = xs + 1.0
    p *= xs
    for j in range(2, 8):
        p *= xs + float(j)
    small = x < _SHIFT
    y = x + _SHIFT * small
    r = 1.0 / y
    r2 = r * r
    corr = np.full_like(y, _STIRLING8[0])
    for c in _STIRLING8[1:]:
        corr *= r2
        corr += c
    corr *= r
    with np.errstate(invalid="ignore"):  # inf - inf never reaches the kept values
        out = (y - 0.5) * np.log(y)
        out -= y
    out += _LOG_SQRT_2PI
    out += corr
    np.log(p, out=p)
    p *= small
    out -= p
    out[np.isposinf(x)] = np.inf
    out[(x == 1.0) | (x == 2.0)] = 0.0  # exactly, as torch
    return out


def _f32_in_blocks(a: np.ndarray, block_fn) -> np.ndarray:
    """``block_fn`` over the values of a float32 array in float64 blocks of ``_BLOCK`` (their
    temporaries stay in the L2 cache), each result rounded once into a float32 array."""
    x = np.ascontiguousarray(a).reshape(-1)
    out = np.empty(x.shape, np.float32)
    for lo in range(0, x.size, _BLOCK):
        out[lo : lo + _BLOCK] = block_fn(x[lo : lo + _BLOCK].astype(np.float64))
    return out.reshape(np.shape(a))


def _lgamma_block(xb: np.ndarray) -> np.ndarray:
    pos = xb > 0
    r = _lgamma_shifted(np.where(pos, xb, 1.0 - xb))  # 1 - x for the reflection
    neg = np.flatnonzero(~pos)
    if neg.size:
        xn = xb[neg]
        with np.errstate(divide="ignore", invalid="ignore"):  # the poles and -inf: below
            refl = np.log(np.pi / np.abs(_sinpi(xn))) - r[neg]
        refl[xn == np.floor(xn)] = np.inf  # 0, the negative integers and -inf
        refl[np.isnan(xn)] = np.nan
        r[neg] = refl
    return r


def lgamma_f32(a: np.ndarray) -> np.ndarray:
    """log|Gamma(x)| of a float32 array in float32 (see above); +inf at 0, the negative
    integers and +-inf, NaN stays NaN; negative arguments by reflection."""
    return _f32_in_blocks(a, _lgamma_block)


# digamma's positive root, as a double-double, and its Taylor coefficients zeta(k + 1, x0)
_X0_HI = 1.4616321449683622
_X0_LO = 9.549995429965697e-17


def _psi_asym(x):
    """digamma(x) for x >= 10 by the asymptotic series."""
    r2 = 1.0 / (x * x)
    s = np.zeros_like(x)
    for k in range(8, 0, -1):
        s = s * r2 + _B2K[k - 1] / (2 * k)
    return np.log(x) - 0.5 / x - s * r2


def _psi_pos(x):
    """digamma of positive finite x away from the root (recurrence up to >= 10)."""
    acc = np.zeros_like(x)
    y = x.copy()
    for _ in range(10):
        low = y < 10
        if not low.any():
            break
        acc = np.where(low, acc - 1.0 / np.where(low, y, 1.0), acc)
        y = np.where(low, y + 1.0, y)
    return _psi_asym(y) + acc


def _zeta_em(s, q):
    """Hurwitz zeta by Euler-Maclaurin for s > 1 and q + j never 0; s, q broadcast float64."""
    s, q = np.broadcast_arrays(s, q)
    s = s.astype(np.float64)
    q = q.astype(np.float64)
    smax = float(np.max(s)) if s.size else 2.0
    n = int(min(max(9, math.ceil(smax / 2)), 400))
    total = np.zeros(s.shape)
    for j in range(n):
        total += np.power(q + j, -s)
    a = q + n
    tail = np.power(a, 1.0 - s) / (s - 1.0) + 0.5 * np.power(a, -s)
    fac = s / a  # s (s + 1) ... (s + 2k - 2) / a^(2k - 1), times a^-s below
    corr = np.zeros(s.shape)
    for k in range(1, 16):
        corr += _B2K[k - 1] / math.factorial(2 * k) * fac
        fac = fac * (s + 2 * k - 1) * (s + 2 * k) / (a * a)
    return total + tail + corr * np.power(a, -s)


_ZX0 = [float(v) for v in _zeta_em(np.arange(2.0, 46.0), np.full(44, _X0_HI))]


def _psi_near_root(x):
    """digamma(x) for |x - x0| < 0.5: sum_k (-1)^(k+1) zeta(k + 1, x0) d^k, d = x - x0."""
    d = (x - _X0_HI) - _X0_LO
    coefs = [(-1) ** (k + 1) * _ZX0[k - 1] for k in range(1, 45)]
    return d * _poly(coefs, d)


def digamma(a: np.ndarray) -> np.ndarray:
    """digamma in float64, as torch: -inf at +0 (+inf at -0), NaN at the negative integers."""
    x = _flat(a)
    out = np.full_like(x, np.nan)
    out[x == np.inf] = np.inf
    zero = x == 0
    out[zero] = np.copysign(np.inf, -x[zero])
    pos = np.isfinite(x) & (x > 0)
    if pos.any():
        xp_ = x[pos]
        r = np.empty_like(xp_)
        near = np.abs(xp_ - _X0_HI) < 0.5
        r[near] = _psi_near_root(xp_[near])
        r[~near] = _psi_pos(xp_[~near])
        out[pos] = r
    neg = np.isfinite(x) & (x < 0) & (x != np.floor(x))
    if neg.any():
        xn = x[neg]
        out[neg] = digamma(1.0 - xn) - np.pi / _tanpi(xn)
    return out.reshape(np.shape(a))


# float32 digamma (digamma_f32) the same way: digamma(x) = digamma(x + 8) - sum_j 1 / (x + j)
# below 8, the asymptotic series with eight terms from 8 up, in float64 blocks; zero, the
# negative axis and NaN go to the float64 kernel (its reflection and torch's special values).
# Near the positive root (1.4616...) the sum cancels to about 5e-16 absolute, which float32
# rounding hides: within an ulp of the float64 kernel (torch's float32 digamma is off by many
# ulps there). 1M float32 values (2026-12-04, one thread, best of 5): 93-127 ms through the
# float64 pieces -> 14 ms; torch 10.5-11.2 ms on two threads.
def _psi_shifted(x: np.ndarray) -> np.ndarray:
    """digamma of positive float64 x (finite or +inf), by the shifted asymptotic series."""
    xs = np.minimum(x, _SHIFT)
    small = x < _SHIFT
    acc = 1.0 / xs
    for j in range(1, 8):
        acc += 1.0 / (xs + float(j))
    acc *= small
    y = x + _SHIFT * small
    r2 = 1.0 / (y * y)
    ser = np.full_like(y, _B2K[7] / 16)
    for k in range(7, 0, -1):
        ser *= r2
        ser += _B2K[k - 1] / (2 * k)
    ser *= r2
    out = np.log(y)
    out -= 0.5 / y
    out -= ser
    out -= acc
    return out


def _digamma_block(xb: np.ndarray) -> np.ndarray:
    pos = xb > 0
    r = _psi_shifted(np.where(pos, xb, 1.0))
    rest = np.flatnonzero(~pos)
    if rest.size:
        r[rest] = digamma(xb[rest])
    return r


def digamma_f32(a: np.ndarray) -> np.ndarray:
    """digamma of a float32 array in float32 (see above), with torch's special values."""
    return _f32_in_blocks(a, _digamma_block)


def zeta(s: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Hurwitz zeta(s, q) = sum_k (k + q)^-s, with torch's (Cephes') special values."""
    s, q = np.broadcast_arrays(np.asarray(s, np.float64), np.asarray(q, np.float64))
    shape = s.shape
    s, q = _flat(s), _flat(q)
    out = np.full_like(s, np.nan)
    out[s == 1] = np.inf
    ok = (s > 1) & ~np.isnan(q)
    qint = q == np.floor(q)
    out[ok & (q <= 0) & qint] = np.inf
    # a negative q is allowed for an integer s only (q^-s is not real otherwise)
    ok &= s != np.inf  # torch gives NaN for an infinite s
    good = ok & (q > 0) & np.isfinite(q)
    if good.any():
        out[good] = _zeta_em(s[good], q[good])
    neg = ok & (q < 0) & ~qint & (s == np.floor(s)) & np.isfinite(q)
    if neg.any():
        # zeta(s, q) = sum_{j < m} (q + j)^-s + zeta(s, q + m), m = ceil(-q)
        sn, qn = s[neg], q[neg]
        m = np.ceil(-qn)
        head = np.zeros_like(qn)
        for j in range(int(m.max())):
            head += np.where(j < m, np.power(qn + j, -sn), 0.0)
        out[neg] = head + _zeta_em(sn, qn + m)
    return out.reshape(shape)


def trigamma(a: np.ndarray) -> np.ndarray:
    """polygamma(1, x): zeta(2, x), by reflection for x < 1/2."""
    x = _flat(a)
    out = np.full_like(x, np.nan)
    out[x == np.inf] = 0.0
    fin = np.isfinite(x)
    out[fin & (x == np.floor(x)) & (x <= 0)] = np.inf
    pos = fin & (x >= 0.5)
    if pos.any():
        out[pos] = _zeta_em(2.0, x[pos])
    neg = fin & (x < 0.5) & ~((x == np.floor(x)) & (x <= 0))
    if neg.any():
        xn = x[neg]
        s = _sinpi(xn)
        out[neg] = (np.pi * np.pi) / (s * s) - _zeta_em(2.0, 1.0 - xn)
    return out.reshape(np.shape(a))


def polygamma(n: int, a: np.ndarray) -> np.ndarray:
    """The n-th derivative of digamma: (-1)^(n+1) n! zeta(n + 1, x) for n >= 2."""
    if n == 0:
        return digamma(a)
    if n == 1:
        return trigamma(a)
    sign = -1.0 if n % 2 == 0 else 1.0
    return sign * math.factorial(n) * zeta(np.float64(n + 1), a)


def _log_prefactor(a, x):
    """log(x^a e^-x / Gamma(a))."""
    return a * np.log(x) - x - lgamma(a)


def _p_series(a, x):
    """P(a, x) by its power series (x < a + 1)."""
    term = 1.0 / a
    total = term.copy()
    ap = a.copy()
    for _ in range(2000):
        ap = ap + 1.0
        term = term * x / ap
        total += term
        if np.all(np.abs(term) <= np.abs(total) * 1e-17):
            break
    return total * np.exp(_log_prefactor(a, x))


def _q_cf(a, x):
    """Q(a, x) by its continued fraction (x >= a + 1), modified Lentz."""
    tiny = 1e-300
    b = x + 1.0 - a
    c = np.full_like(x, 1.0 / tiny)
    d = 1.0 / b
    h = d.copy()
    for i in range(1, 2000):
        an = -i * (i - a)
        b = b + 2.0
        d = an * d + b
        d = np.where(np.abs(d) < tiny, tiny, d)
        c = b + an / c
        c = np.where(np.abs(c) < tiny, tiny, c)
        d = 1.0 / d
        delta = d * c
        h = h * delta
        if np.all(np.abs(delta - 1.0) <= 1e-16):
            break
    return h * np.exp(_log_prefactor(a, x))


def _gammainc_pair(a, x, upper: bool):
    a, x = np.broadcast_arrays(np.asarray(a, np.float64), np.asarray(x, np.float64))
    shape = a.shape
    a, x = _flat(a), _flat(x)
    out = np.full_like(a, np.nan)
    bad = (x < 0) | (a < 0) | np.isnan(a) | np.isnan(x)
    lower = 0.0 if not upper else 1.0
    # torch's edge values: a == 0 -> P = 1 (x > 0); x == 0 -> P = 0; a = inf -> P = 0;
    # x = inf -> P = 1
    a0 = ~bad & (a == 0)
    out[a0 & (x > 0)] = 1.0 - lower
    x0 = ~bad & (x == 0) & (a > 0)
    out[x0] = lower
    ainf = ~bad & np.isinf(a) & ~np.isinf(x)
    out[ainf] = lower
    xinf = ~bad & np.isinf(x) & ~np.isinf(a) & (a > 0)
    out[xinf] = 1.0 - lower
    reg = ~bad & (a > 0) & (x > 0) & np.isfinite(a) & np.isfinite(x)
    ser = reg & (x < a + 1)
    if ser.any():
        p = _p_series(a[ser], x[ser])
        out[ser] = 1.0 - p if upper else p
    cf = reg & ~(x < a + 1)
    if cf.any():
        q = _q_cf(a[cf], x[cf])
        out[cf] = q if upper else 1.0 - q
    return out.reshape(shape)


def gammainc(a: np.ndarray, x: np.ndarray) -> np.ndarray:
    """The regularised lower incomplete gamma function P(a, x) (torch.igamma)."""
    return _gammainc_pair(a, x, upper=False)


def gammaincc(a: np.ndarray, x: np.ndarray) -> np.ndarray:
    """The regularised upper incomplete gamma function Q(a, x) (torch.igammac)."""
    return _gammainc_pair(a, x, upper=True)
