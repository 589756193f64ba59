"""float32 -> float16 conversion in SIMD passes, with NumPy's bits.

NumPy's cast to float16 is a scalar loop here (x86-64, NumPy 2.4): 1M float32 values took 1.7 ms,
and 72 ms when they are small (|x| < 6.1e-5, float16's subnormals, where each element takes a
slow path); torch converts with vector instructions (0.05 ms). The same round-to-nearest-even
result comes from eleven whole-array passes that NumPy runs with SIMD loops (1.0 ms, small values
included):

* ``M``, the power of two 2^(e + 13) for the exponent e of ``|x|`` (its exponent bits plus 13,
  e clamped to [-14, 16]): ``(|x| + M) - M`` rounds ``|x|`` to a multiple of 2^(e - 10), that is
  to float16's eleven significant bits (or to its fixed 2^-24 step below 2^-14), with the float
  unit's own ties-to-even;
* the rounded value, clipped to 65536 (float16's overflow: 65520 and above round there), times
  2^-112 moves float16's exponent range onto float32's: the float32 bits shifted right by 13 are
  the float16 bits, subnormals included (2^-112 times a multiple of 2^-24 below 2^-14 is a
  float32 subnormal whose bits are the float16 ones, shifted);
* the sign bit is moved into place, and NaN (found by one max reduction) is NumPy's own cast of
  those elements, so NaN payloads are NumPy's too.

Every float32 bit pattern was checked against NumPy's cast once (all 2^32, in chunks);
``tests/backend/test_half.py`` checks a structured sample. ``EMBER_FAST_HALF=0`` in the
environment turns this off.
"""

from __future__ import annotations

import os

import numpy as np

enabled = os.environ.get("EMBER_FAST_HALF", "1") != "0"
_MIN = 1 << 14  # below this the dozen calls (~1.5 us each) cost more than NumPy's loop
_U32 = np.uint32
_F32 = np.dtype(np.float32)
_EXP = _U32(0x7F800000)
_E_LO, _E_HI = _U32(113 << 23), _U32(143 << 23)  # 2^-14 and 2^16
_E_SHIFT = _U32(13 << 23)
_TOP = np.float32(65536.0)
_DOWN = np.float32(2.0**-112)


def serves(a: np.ndarray) -> bool:
    """Whether ``to_float16`` takes this NumPy array's conversion to float16 (C-contiguous
    float32, at least ``_MIN`` elements)."""
    return enabled and a.dtype == _F32 and a.size >= _MIN and a.flags.c_contiguous


def to_float16(x: np.ndarray) -> np.ndarray:
    """``x.astype(np.float16)`` for a C-contiguous float32 NumPy array: the same bits (see the
    module's docstring), no warnings (overflow is inf, as torch gives it)."""
    u = x.view(_U32)
    m = np.bitwise_and(u, _EXP)
    np.clip(m, _E_LO, _E_HI, out=m)
    m += _E_SHIFT
    mf = m.view(np.float32)
    r = np.abs(x)
    with np.errstate(invalid="ignore"):  # signalling NaN patterns: replaced below
        r += mf
        r -= mf
        np.clip(r, 0, _TOP, out=r)  # inf and values past float16's range: 65536, its inf
        r *= _DOWN
    h = r.view(_U32)
    h >>= 13
    np.right_shift(u, 16, out=m)  # the sign, to bit 15
    m &= 0x8000
    h |= m
    out = h.astype(np.uint16).view(np.float16)
    if np.isnan(x.max()):  # NaN is rare: a predictable branch, then NumPy's own NaN bits
        nan = np.isnan(x)
        out[nan] = x[nan].astype(np.float16)
    return out
