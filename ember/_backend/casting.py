"""Array dtype conversion with torch's x86-64 float -> integer results on every CPU and on CUDA.

C++ leaves a float -> integer conversion undefined when the value (NaN, an infinity, a number
out of the destination's range) does not fit, so NumPy, ml_dtypes and CuPy give whatever the
processor's instruction gives: the "integer indefinite" INT_MIN on x86-64, a saturated value on
ARM64 and CUDA, and for the narrow and unsigned types whatever the compiler chose. torch's
results on x86-64 follow fixed rules (c10's casts go through int64 for uint8, through int32 for
the other narrow types); ``cast`` computes them from defined operations only. The rules, and
where torch itself depends on the processor, are in docs/differences.md.
"""

from __future__ import annotations

import platform

import numpy as np

from .cpu import half

try:  # bfloat16 needs ml_dtypes (an optional extra); the backend sits below ember.dtypes
    import ml_dtypes as _ml

    _BF16 = np.dtype(_ml.bfloat16)
except ImportError:  # pragma: no cover - exercised only without the extra
    _ml = None
    _BF16 = None


def _ml_dtype(name: str):
    t = getattr(_ml, name, None)
    return None if t is None else np.dtype(t)


# torch's float -> float8 rules where ml_dtypes' differ: e4m3fn saturates (an infinity or a
# value past 448 gives +-448, never NaN); e5m2 writes NaN as 0x7f (ml_dtypes: 0x7e); e8m0fnu
# (no sign, no zero) takes the magnitude, and gives zero its smallest value 2**-127
_E4M3FN, _E5M2 = _ml_dtype("float8_e4m3fn"), _ml_dtype("float8_e5m2")
_E8M0 = _ml_dtype("float8_e8m0fnu")
_FLOAT8 = frozenset(
    d
    for d in (_E4M3FN, _E5M2, _ml_dtype("float8_e4m3fnuz"), _ml_dtype("float8_e5m2fnuz"), _E8M0)
    if d is not None
)


_NAN_ONLY = frozenset(  # the types whose one NaN has the sign bit's pattern (0x80) or is 0xff
    d for d in (_ml_dtype("float8_e4m3fnuz"), _ml_dtype("float8_e5m2fnuz"), _E8M0) if d is not None
)


def _from_float8(a, dtype: np.dtype):
    """A float8 NumPy array converted to a non-float8 type as torch does: exactly through
    float32, where the fnuz types' and e8m0's NaN is a positive NaN (an integer 0)."""
    f = a.astype(_F32)
    if a.dtype in _NAN_ONLY:
        nan = np.isnan(f)
        if nan.any():
            f[nan] = 0.0 if dtype.kind in "iu" else np.float32(np.nan)
    if dtype == _F32:
        return f
    with np.errstate(invalid="ignore"):  # NaN and infinities to integers: torch does not warn
        return cast(f, dtype, False)


def _to_float8(a, dtype: np.dtype):
    """A NumPy array converted to a float8 type with torch's results."""
    if a.dtype in _FLOAT8:
        a = _from_float8(a, _F32)
    elif a.dtype.kind in "biu":  # integers: through float32 (int64 through float64)
        a = a.astype(_F32 if a.dtype.kind != "i" or a.dtype.itemsize < 8 else _F64)
    if dtype == _E4M3FN:
        return np.clip(a, -448.0, 448.0).astype(dtype)  # NaN stays NaN
    if dtype == _E8M0:
        m = np.abs(a)
        return np.where(m == 0, np.float32(2.0**-127), m).astype(dtype)
    r = a.astype(dtype)
    if dtype == _E5M2:
        nan = np.isnan(a)
        if nan.any():
            bits = r.view(np.uint8)
            bits[nan] = 0x7F | (bits[nan] & 0x80)
    return r


_I32, _I64, _U64 = np.dtype(np.int32), np.dtype(np.int64), np.dtype(np.uint64)
_F32, _ND = np.dtype(np.float32), np.ndarray
_F16 = np.dtype(np.float16)
_F64 = np.dtype(np.float64)

# the integer type torch converts through before wrapping into the destination
_VIA = {
    np.dtype(np.uint8): _I64,
    np.dtype(np.int8): _I32,
    np.dtype(np.int16): _I32,
    np.dtype(np.uint16): _I32,
    _I32: _I32,
    _I64: _I64,
    np.dtype(np.uint32): _I64,
}
_BOUND = {_I32: 2.0**31, _I64: 2.0**63}  # [-bound, bound) converts exactly; exact in float16+


def exact(a, dtype: np.dtype):
    """The float -> integer conversion from defined operations only (no native shortcut)."""
    if a.dtype.itemsize == 2:  # float16 and bfloat16 are exact in float32
        a = a.astype(_F32)
    if a.size == 0:
        return a.astype(dtype)
    if dtype == _U64:
        return _to_uint64(a)
    via = _VIA[dtype]
    r = _trunc(a, via)
    return r if via == dtype else r.astype(dtype)  # integer -> integer wraps, as torch


def _via_native(a, dtype: np.dtype):
    """x86-64, NumPy: the signed conversion torch goes through, native, then the wrap."""
    if a.dtype.itemsize == 2:  # float16 and bfloat16 are exact in float32
        a = a.astype(_F32)
    via = _VIA[dtype]
    return a.astype(via) if via == dtype else a.astype(via).astype(dtype)


def _plain(a, dtype: np.dtype):
    """Marks a pair whose NumPy cast is already torch's (never called)."""


# Every x86-64 truncating conversion (cvttss2si, cvttsd2si, cvttps2dq, cvttpd2dq, vcvttps2qq,
# vcvttpd2qq) returns INT_MIN for NaN and out-of-range values, which is what torch's casts give
# on x86-64: there NumPy's own float32/float64 -> int32/int64 cast is exact and costs no extra
# pass, and the other pairs go through int32/int64 first (NumPy's direct casts to the narrow
# and unsigned types, and ml_dtypes' bfloat16 ones, are compiled differently and disagree
# between x86-64 processors). Elsewhere (ARM64 saturates) every pair takes ``exact``.
_X86 = platform.machine().lower() in ("x86_64", "amd64")
_FLOATS = [np.dtype(np.float16), _F32, np.dtype(np.float64)]
if _BF16 is not None:
    _FLOATS.append(_BF16)
_HOW = {}  # (source, destination) -> how NumPy arrays convert; CuPy ones always take exact
for _s in _FLOATS:
    for _d in [*_VIA, _U64]:
        if not _X86 or _d == _U64:
            _HOW[_s, _d] = exact
        elif _s.itemsize >= 4 and _VIA[_d] == _d:
            _HOW[_s, _d] = _plain
        else:
            _HOW[_s, _d] = _via_native


def needs_cast(src: np.dtype, dst: np.dtype) -> bool:
    """Whether NumPy's own ``src -> dst`` conversion can differ from torch's: float (bfloat16
    included) to integer, and double to float16/bfloat16 (rounded through float by torch)."""
    return (src, dst) in _HOW or (src == _F64 and (dst == _F16 or dst == _BF16))


def cast(a, dtype: np.dtype, copy: bool = True):
    """``a.astype(dtype)`` for a NumPy or CuPy array, with torch's float -> integer results
    (float32 -> float16 in SIMD passes: ``cpu/half.py``)."""
    if a.dtype == _F64 and (dtype == _F16 or dtype == _BF16):
        # torch converts a double to a half type through float: rounded twice, which differs
        # from one rounding in about one value of 8,000 (float16)
        with np.errstate(over="ignore"):  # past float's range is inf, as torch gives it
            a = a.astype(_F32)
        copy = False
    if dtype == _F16 and a.dtype.kind == "f" and type(a) is _ND:
        if half.serves(a):
            return half.to_float16(a)
        with np.errstate(over="ignore"):  # past 65504 is inf, as torch gives it (no warning)
            return a.astype(dtype, copy=copy)
    if (dtype.itemsize == 1 or a.dtype.itemsize == 1) and type(a) is _ND:  # float8 is 1 byte
        if dtype in _FLOAT8 and dtype != a.dtype:
            return _to_float8(a, dtype)
        if a.dtype in _FLOAT8 and dtype != a.dtype and dtype.kind in "iufb":
            return _from_float8(a, dtype)
    how = _HOW.get((a.dtype, dtype))
    if how is None or (how is _plain and type(a) is _ND):
        return a.astype(dtype, copy=copy)
    return how(a, dtype) if type(a) is _ND else exact(a, dtype)


def _trunc(a, via: np.dtype):
    """Truncate toward zero into ``via``; NaN and out-of-range values give its minimum."""
    bound = _BOUND[via]
    if a.min() >= -bound and a.max() < bound:  # NaN fails both: min/max propagate it
        return a.astype(via)
    ok = (a >= -bound) & (a < bound)
    b = a.copy()
    b[~ok] = 0
    r = b.astype(via)
    r[~ok] = np.iinfo(via).min
    return r


def _to_uint64(a):
    """torch's x86-64 float -> uint64: through int64 below 2**63, exact up to 2**64, else 0."""
    r = _trunc(a, _I64).view(_U64)
    top = a >= 2.0**63
    if top.any():
        r[top] = 0
        fits = top & (a < 2.0**64)
        r[fits] = (a[fits] - 2.0**63).astype(_I64).view(_U64) + np.uint64(2**63)
    return r
