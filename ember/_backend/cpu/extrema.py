"""The maximum or minimum of an array and a number at the speed of NumPy's SIMD loops.

NumPy (2.4, x86-64) vectorises ``maximum`` and ``minimum`` only where both operands step element
by element; against a number (a zero stride) it runs a scalar loop. Measured on 512K contiguous
values (float32 / float64, one thread): ``maximum(a, 0)`` 0.20 / 0.27 ms, the same with an
array of zeros 0.06-0.08 / 0.14 ms; ``add``, ``multiply``, the comparisons and ``clip`` with
two numbers are as fast with numbers as with arrays.

Float arrays therefore take ``clip`` with the other bound infinite: ``maximum(s, a)`` is
``clip(a, s, inf)``, ``minimum(s, a)`` is ``clip(a, -inf, s)``, bit for bit (NaN and the sign
of a zero tie included, checked against the loop below and torch's ``relu``/``clamp``). Its
loop is NumPy's fastest of the three: ReLU's forward on 1M float32 values 152 -> 113 us, 256K
float64 126 -> 58 us (2026-12-05, one thread; the rows below against ``clip``). Below a row
(32 KiB) NumPy's own call is cheaper: ``clip`` has a fixed cost of some 3 us.

Integer arrays (1M int32: 0.33 ms with the number, 0.13 row by row; elu's bit-level clamp of a
float's sign) are viewed as rows of 32 KiB and the number as one such row (built once, cached),
which NumPy's outer loop repeats: each row is one call of the SIMD array-array loop, and the
row of the number stays in the L1 cache. The values are the same: a maximum or minimum is
exact. Only the sign of a zero tie (``-0.0`` against ``0``) is the loop's choice, as it is in
NumPy's own calls: the number goes first, so on x86-64 the tie gives the array's element, as
torch's ``relu(-0.0)`` and ``clamp(-0.0, min=0)`` do there.

``EMBER_ROW_EXTREMA=0`` in the environment turns both off (NumPy's own call with the number).
"""

from __future__ import annotations

import os

import numpy as np

from ..xp import xp_of

enabled = os.environ.get("EMBER_ROW_EXTREMA", "1") != "0"
_ROW_BYTES = 32 << 10
_FAST = tuple(np.dtype(t) for t in (np.float32, np.float64, np.int32, np.int64))
_FLOATS = _FAST[:2]
_rows: dict = {}  # (dtype, the number's bytes) -> a row of the number, read-only


def _row(dt: np.dtype, s) -> np.ndarray:
    v = dt.type(s)
    key = (dt, v.tobytes())
    row = _rows.get(key)
    if row is None:
        if len(_rows) >= 64:  # a program that clamps to ever new bounds: start over
            _rows.clear()
        row = np.full(_ROW_BYTES // dt.itemsize, v, dt)
        row.flags.writeable = False
        _rows[key] = row
    return row


def _same_layout(out, a) -> bool:
    return out.dtype == a.dtype and out.shape == a.shape and out.flags.c_contiguous


def with_number(ufunc, a, s, out=None):
    """``ufunc(s, a)`` for ``np.maximum`` or ``np.minimum``, an array ``a`` and a Python or
    NumPy number ``s`` (``out`` optional, as for the ufunc). Contiguous float32, float64, int32
    and int64 NumPy arrays of at least a row, with ``s`` exact in their dtype, run as ``clip``
    (floats) or row by row (integers; see the module's docstring); anything else is the array
    module's own call."""
    if type(a) is not np.ndarray:  # a CuPy array: its own function (CuPy's are named cupy_*)
        return getattr(xp_of(a), ufunc.__name__.removeprefix("cupy_"))(s, a, out=out)
    dt = a.dtype
    n = a.size
    if (
        not enabled
        or dt not in _FAST
        or n * dt.itemsize < _ROW_BYTES
        or not a.flags.c_contiguous
        or not (out is None or _same_layout(out, a))
        or isinstance(s, (bool, np.bool_))
        or not isinstance(s, (int, float, np.floating, np.integer))
        or np.result_type(dt, s) != dt  # NumPy's promotion would widen: keep its result
        or not dt.type(s) == s  # not exact (or NaN): NumPy's call decides
    ):
        return ufunc(s, a, out=out)
    if dt in _FLOATS:
        if ufunc is np.maximum:
            return np.clip(a, s, np.inf, out=out)
        return np.clip(a, -np.inf, s, out=out)
    row = _row(dt, s)
    width = row.size
    if out is None:
        out = np.empty_like(a)
    flat_a = a.reshape(-1)
    flat_o = out.reshape(-1)
    whole = n - n % width
    ufunc(row, flat_a[:whole].reshape(-1, width), out=flat_o[:whole].reshape(-1, width))
    if whole < n:
        ufunc(row[: n - whole], flat_a[whole:], out=flat_o[whole:])
    return out
