"""Fused multiply-add, ``a * b + c`` rounded once, on NumPy arrays: torch's CPU kernels compute
``add(alpha=)``, ``sub(alpha=)``, ``addcmul``, ``lerp`` and the optimizers' updates with FMA
instructions, so two roundings (NumPy's ``a * b + c``) differ from torch's bits for a sixth to a
quarter of float32 values, by hundreds of ulps where the sum cancels.

float32: the product of two float32 is exact in float64, so one float64 sum rounded to float32
is the fused result, except when that sum lands exactly on a float32 rounding midpoint after
rounding inexactly; those few are rounded by the sign of the sum's exact error (midpoints of
the subnormal float32 range, below 2^-126, are not looked for: landing on one needs a product
within about 2^-180 of it).
float64: the product split exactly into two doubles (Dekker's product with Veltkamp's split) and
the sum into two (Knuth's two-sum), then added once more: correctly rounded unless the exact
result lies within about 2^-106 of a rounding midpoint, and exact only while the operands stay
clear of overflow and of the subnormal range (there the plain ``a * b + c`` is returned).
float16/bfloat16 (torch computes them in float32 and rounds once more): the float32 result,
rounded. The results do not depend on the CPU's instruction set.
"""

from __future__ import annotations

import numpy as np

from .._backend.cpu.threads import prange, workspace

_F32 = np.float32
_F64 = np.float64
_MID_MASK = np.int64((1 << 29) - 1)  # the bits a float64 drops when rounded to float32
_MID = np.int64(1 << 28)  # ... reading exactly half an ulp of the float32
_SPLIT = 134217729.0  # 2^27 + 1: Veltkamp's split of a double into two 26-bit halves


def _fix_midpoints(out, s, a, b, c) -> None:
    """Where the float64 sum ``s`` of a * b + c sits exactly on a float32 rounding midpoint
    (its 29 low mantissa bits 1000...0) after rounding inexactly, round ``out`` by the sign of
    the exact sum's error instead."""
    mid = (s.view(np.int64) & _MID_MASK) == _MID
    if not mid.any():
        return
    idx = np.nonzero(mid)
    pick = [np.broadcast_to(np.asarray(v, _F64), s.shape)[idx] for v in (a, b, c)]
    pm = pick[0] * pick[1]  # exact
    sm, cm = s[idx], pick[2]
    bb = sm - pm
    err = (pm - (sm - bb)) + (cm - bb)
    # toward the error's side (sm + err would round back to sm: the error is below its ulp)
    out[idx] = np.where(err != 0, np.nextafter(sm, np.copysign(np.inf, err)), sm).astype(_F32)


def _one_value(a, b, c, shape):
    """The fused result for a single value, in Python floats (a transform's one random draw:
    six NumPy calls cost ~6 us, these ~1 us); None where the sum lands on a float32 rounding
    midpoint, for the general path to settle."""
    p = float(np.asarray(a).reshape(-1)[0]) * float(np.asarray(b).reshape(-1)[0])  # exact
    s = p + float(np.asarray(c).reshape(-1)[0])
    if (int(np.float64(s).view(np.int64)) & int(_MID_MASK)) == int(_MID):
        return None
    return np.full(shape, s, _F32)


_PIECE = 1 << 15  # elements per pass of the big-array form: its float64 temporary stays in L2


def fma32(a, b, c) -> np.ndarray:
    """float32 ``a * b + c`` with one rounding, as an FMA instruction gives it. Same-shape
    C-contiguous arrays (and scalars) of 64K values or more run in pieces over ember's threads
    (1M values: 3.8 -> 0.9 ms)."""
    arrays = [v for v in (a, b, c) if isinstance(v, np.ndarray) and v.ndim]
    if len(arrays) == 1 and arrays[0].size == 1:
        one = _one_value(a, b, c, arrays[0].shape)
        if one is not None:
            return one
    big = (
        arrays
        and arrays[0].size >= 2 * _PIECE
        and all(v.shape == arrays[0].shape and v.flags.c_contiguous for v in arrays)
    )
    if not big:
        p = np.multiply(a, b, dtype=_F64)  # exact: 24 + 24 bits fit a double's 53
        s = p + c
        out = s.astype(_F32)
        _fix_midpoints(out, s, a, b, c)
        return out
    shape = arrays[0].shape
    flat = [v.reshape(-1) if isinstance(v, np.ndarray) and v.ndim else v for v in (a, b, c)]
    out = np.empty(shape, _F32)
    of = out.reshape(-1)
    n = of.size

    def run(lo, hi):
        w = workspace("fma_sum", (_PIECE,), _F64, np)
        bits = workspace("fma_bits", (_PIECE,), np.int64, np)
        hit = workspace("fma_hit", (_PIECE,), np.bool_, np)
        for i in range(lo * _PIECE, min(hi * _PIECE, n), _PIECE):
            j = min(i + _PIECE, n)
            pa, pb, pc = (v[i:j] if isinstance(v, np.ndarray) else v for v in flat)
            s = w[: j - i]
            np.multiply(pa, pb, out=s, dtype=_F64)
            s += pc
            np.copyto(of[i:j], s, casting="same_kind")
            np.bitwise_and(s.view(np.int64), _MID_MASK, out=bits[: j - i])
            if np.equal(bits[: j - i], _MID, out=hit[: j - i]).any():
                _fix_midpoints(of[i:j], s, pa, pb, pc)

    prange(-(-n // _PIECE), run, n * 8)
    return out


def _halves(x):
    """x as hi + lo, each with at most 26 significant bits (Veltkamp)."""
    t = x * _SPLIT
    hi = t - (t - x)
    return hi, x - hi


def fma64(a, b, c) -> np.ndarray:
    """float64 ``a * b + c`` with one rounding (see the module's note on its limits)."""
    a, b, c = (np.asarray(v, _F64) for v in (a, b, c))
    with np.errstate(all="ignore"):  # infinities and NaN take the plain form below
        return _fma64(a, b, c)


def _fma64(a, b, c):
    p = a * b
    ah, al = _halves(a)
    bh, bl = _halves(b)
    e = ((ah * bh - p) + ah * bl + al * bh) + al * bl  # p + e == a * b exactly
    s = p + c
    bb = s - p
    t = (p - (s - bb)) + (c - bb)  # s + t == p + c exactly
    r = s + (t + e)
    plain = ~np.isfinite(r) | (np.abs(p) < 1e-280)
    if plain.any():  # overflow in the split, infinities, NaN, or products near the subnormals
        r = np.where(plain, p + c, r)
    return r


def fma(a, b, c, dtype) -> np.ndarray:
    """``a * b + c`` rounded once to ``dtype`` (float16/bfloat16 through float32, as torch),
    elementwise with broadcasting; NumPy arrays and numbers, numbers taken in the arithmetic's
    type (float64 for float64, else float32)."""
    dt = np.dtype(dtype)
    if dt == _F64:
        return fma64(a, b, c)
    # numbers in float32 (torch takes a half tensor's scalars in its float32 arithmetic)
    a, b, c = (v if isinstance(v, np.ndarray) else _F32(v) for v in (a, b, c))
    r = fma32(*(v.astype(_F32, copy=False) if v.dtype != _F32 else v for v in (a, b, c)))
    return r if dt == _F32 else r.astype(dt)
