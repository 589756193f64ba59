"""float32 log and sin/cos as torch's x86 Box-Muller computes them (the Cephes polynomials of
``avx_mathfun.h`` in torch's AVX2 build), operation for operation in NumPy, so ``randn`` gives
torch's bits.

torch's compiler fuses some of the multiply-adds of those polynomials into FMA instructions
(one rounding instead of two). Which ones was measured against torch 2.13 on x86-64: the Horner
steps of the log, sine and cosine polynomials, the ``y * z + e * q1`` step of the log (the
``y * z`` product fused), the ``y * z - z / 2`` step of the cosine (``y * z`` fused) and the
final ``y * x + x`` of the sine, and the last step of the argument reduction (``x + y * DP3``,
which decides the angles next to 3 pi / 2: k = 12582909, 12582912 and 12582913 of the 2^24;
fusing its first two steps too changes no result); the other log steps stay unfused. With that
pattern every value of 120M draws (twelve seeds, all three of those k among them) equals
torch's. ``fma32`` computes a fused multiply-add exactly from float64 (the product of two
float32 is exact there; a sum that lands on a float32 rounding midpoint is rounded by the sign of
its float64 error), so the results do not depend on the CPU's instruction set.
"""

from __future__ import annotations

import numpy as np

from ._fma import fma32

_F = np.float32
_D = np.float64
_ONE = _F(1.0)
_HALF = _F(0.5)
_ZERO = _F(0.0)
_SQRTHF = _F(0.707106781186547524)
_LOG_P = [
    _F(7.0376836292e-2),
    _F(-1.1514610310e-1),
    _F(1.1676998740e-1),
    _F(-1.2420140846e-1),
    _F(1.4249322787e-1),
    _F(-1.6668057665e-1),
    _F(2.0000714765e-1),
    _F(-2.4999993993e-1),
    _F(3.3333331174e-1),
]
_LOG_Q1 = _F(-2.12194440e-4)
_LOG_Q2 = _F(0.693359375)
_MIN_NORM = np.array(0x00800000, np.uint32).view(_F)

_DP1 = _F(-0.78515625)
_DP2 = _F(-2.4187564849853515625e-4)
_DP3 = _F(-3.77489497744594108e-8)
_SIN_P = (_F(-1.9515295891e-4), _F(8.3321608736e-3), _F(-1.6666654611e-1))
_COS_P = (_F(2.443315711809948e-005), _F(-1.388731625493765e-003), _F(4.166664568298827e-002))
_FOPI = _F(1.27323954473516)  # 4 / pi


def _fma32_exact_sum(a, b, c) -> np.ndarray:
    """``fma32`` without its midpoint check, for operands whose double sum never falls inexactly
    on a float32 midpoint (then rounding the double sum once is the fused result): two passes."""
    p = np.multiply(a, b, dtype=_D)
    out = np.empty(p.shape, _F)
    np.add(p, c, out=out, dtype=_D, casting="unsafe")
    return out


def log_f32(x: np.ndarray) -> np.ndarray:
    """Natural log of float32 ``x`` > 0, Cephes' logf as torch's AVX2 code evaluates it.

    For Box-Muller's inputs ``1 - u`` (the 2^24 multiples of 2^-24 in (0, 1]) each fused step is
    one float64 sum rounded once to float32: checked exhaustively over all 2^24 inputs against
    ``fma32`` (no double sum falls on a float32 midpoint inexactly). Other inputs may, rarely,
    round twice."""
    x = np.maximum(np.asarray(x, _F), _MIN_NORM)
    bits = x.view(np.uint32)
    m = ((bits & np.uint32(0x807FFFFF)) | np.uint32(0x3F000000)).view(_F)  # mantissa in [0.5, 1)
    small = m < _SQRTHF
    # exponent + 1, minus one more where the mantissa is doubled below sqrt(1/2)
    e = ((bits >> np.uint32(23)).view(np.int32) - np.int32(126) - small).astype(_F)
    m = np.where(small, m + m, m) - _ONE  # exact: 2m - 1 or m - 1
    z = m * m
    y = _fma32_exact_sum(_LOG_P[0], m, _LOG_P[1])
    for c in _LOG_P[2:]:
        y = _fma32_exact_sum(y, m, c)
    y = y * m
    y = _fma32_exact_sum(y, z, e * _LOG_Q1)
    y = y - z * _HALF
    return (m + y) + e * _LOG_Q2


def sincos_f32(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(sin x, cos x) of float32 ``x`` >= 0, Cephes' sinf/cosf with one shared reduction.

    Exact (one rounding per fused step) for Box-Muller's angles ``float32(2 pi) * u``, all 2^24
    of them checked as in ``log_f32``."""
    x = np.asarray(x, _F)
    j = (x * _FOPI).astype(np.int32)  # truncation, as cvttps
    j += 1
    j &= ~1
    y = j.astype(_F)
    neg_sin = (j & 4) != 0
    poly2 = (j & 2) == 0  # the sine polynomial gives sin (and the cosine one cos) there
    neg_cos = ((j - 2) & 4) == 0
    x = fma32(y, _DP3, (x + y * _DP1) + y * _DP2)
    z = x * x
    yc = _fma32_exact_sum(_COS_P[0], z, _COS_P[1])
    yc = _fma32_exact_sum(yc, z, _COS_P[2])
    yc = yc * z
    yc = _fma32_exact_sum(yc, z, -(z * _HALF)) + _ONE
    ys = _fma32_exact_sum(_SIN_P[0], z, _SIN_P[1])
    ys = _fma32_exact_sum(ys, z, _SIN_P[2])
    ys = _fma32_exact_sum(ys * z, x, x)
    # the AVX code blends the two polynomials by adding a masked +0, which would turn a -0 into
    # +0; neither polynomial gives -0 for x >= 0, so a plain select is the same
    s = np.where(poly2, ys, yc)
    c = np.where(poly2, yc, ys)
    np.negative(s, out=s, where=neg_sin)
    np.negative(c, out=c, where=neg_cos)
    return s, c
