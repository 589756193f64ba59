"""torch's float32 Box-Muller (its x86 AVX2 NormalFill16) bit for bit, at the speed of NumPy's
vectorised float32 log/sin/cos: a table of per-input corrections.

Every float32 uniform torch feeds Box-Muller is ``k * 2^-24`` for a 24-bit ``k``, so each of its
transcendental results (the radius ``sqrt(-2 log(1 - u))`` and the angle's sine and cosine) is a
function of ``k`` alone. ``_cephes_f32`` reproduces them exactly but costs some sixty NumPy passes
per value; NumPy's own float32 ``log``/``sin``/``cos`` are single fast passes whose results sit
within a couple of ulps of torch's. The table holds, for each ``k``, how many ulps to add to
NumPy's radius, sine and cosine to land on torch's (exact ``_cephes_f32`` values, compared when
the table is built), or marks ``k`` as an exception whose row is then computed by
``_cephes_f32``. One byte per ``k``: 16 MiB. Its random reads (cache and TLB misses) take about a
third of the time; two packed tables (4 + 8 MiB) and a 2 MiB bitmap with sparse lookups were
both measured slower, their extra passes costing more than the smaller reads save.

The table is built in this process, against this process's NumPy, so the corrections hold on any
CPU (x86-64 or ARM64, whatever SIMD NumPy picked); the build checks that NumPy's functions give
the same bits wherever a value sits in an array, and when they do not the exact emulation is used
throughout. Building it costs about as much as emulating 2^24.4 normals (measured: 0.7 s), so it
is built only once the process has emulated that many (rent or buy: a process never spends more
than about twice what the better choice in hindsight would have).
"""

from __future__ import annotations

import math
import threading

import numpy as np

from .._backend.cpu import threads
from .._backend.cpu.mt19937 import split64
from ._cephes_f32 import fma32, log_f32, sincos_f32

_F32 = np.float32
_TWO_PI_F = _F32(2.0 * math.pi)
_P24 = _F32(2.0**-24)
_M24 = np.uint32((1 << 24) - 1)
_TWO_PI_U = _TWO_PI_F * _P24  # exact: a power of two times float32(2 pi)
_ROWS = 1 << 11  # rows of 16 per block: the block's temporaries stay in the L2 cache
_BUILD_AFTER = 22_000_000  # emulated values that cost what building the table costs
# one byte per k: bits 0-2 the radius correction + 2, bits 3-4 the sine's + 1, bits 5-6 the
# cosine's + 1, bit 7 set when any of them is out of that range (then the row is emulated)
_EXC = 0x80
_EXC8 = np.uint64(0x8080808080808080)

_lock = threading.Lock()
_state: dict = {"emulated": 0, "table": None, "usable": True}


def _emulate(d: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(radius, sin, cos) of rows of 16 uniforms by the exact Cephes emulation."""
    radius = np.sqrt(_F32(-2.0) * log_f32(_F32(1.0) - d[:, :8]))
    s, c = sincos_f32(_TWO_PI_F * d[:, 8:])
    return radius, s, c


def _ulps(exact: np.ndarray, base: np.ndarray) -> np.ndarray:
    """exact - base in ulps (int64), or a huge value where their signs differ."""
    diff = exact.view(np.int32).astype(np.int64) - base.view(np.int32).astype(np.int64)
    diff[np.signbit(exact) != np.signbit(base)] = 1 << 40
    return diff


def _base_is_pointwise(x: np.ndarray) -> bool:
    """True when NumPy's float32 log/sin/cos give each value the same bits wherever it sits
    (the fast path calls them on blocks at other offsets and lengths than the build did)."""
    pad = np.empty(x.size + 1, _F32)[1:]  # misaligned by one element
    pad[...] = x
    for fn in (np.log, np.sin, np.cos):
        whole = fn(x)
        for lo, hi in ((0, 1), (3, 10), (5, 22), (17, 200)):
            if not np.array_equal(fn(pad[lo:hi]).view(np.int32), whole[lo:hi].view(np.int32)):
                return False
        if not np.array_equal(fn(pad).view(np.int32), whole.view(np.int32)):
            return False
    return True


def _build() -> np.ndarray | None:
    """The correction byte of every 24-bit k, or None when NumPy's functions are not pointwise."""
    table = np.empty(1 << 24, np.uint8)
    step = 1 << 16
    for lo in range(0, 1 << 24, step):
        u = np.arange(lo, lo + step, dtype=np.uint32).astype(_F32) * _P24
        if lo == 0 and not _base_is_pointwise(u[1:4097] * _TWO_PI_F):
            return None
        radius, s, c = _emulate(np.concatenate([u.reshape(-1, 8)] * 2, axis=1))
        radius, s, c = radius.ravel(), s.ravel(), c.ravel()
        x = _F32(1.0) - u
        base_r = np.sqrt(np.log(x) * _F32(-2.0))
        a = _TWO_PI_F * u
        dr, ds, dc = _ulps(radius, base_r), _ulps(s, np.sin(a)), _ulps(c, np.cos(a))
        ok = (np.abs(dr) <= 2) & (np.abs(ds) <= 1) & (np.abs(dc) <= 1)
        code = (dr + 2) | (ds + 1) << 3 | (dc + 1) << 5
        code[~ok] = _EXC | 2 | 1 << 3 | 1 << 5  # neutral fields: the row is emulated anyway
        table[lo : lo + step] = code
    return table


def _table() -> np.ndarray | None:
    with _lock:
        if _state["table"] is None and _state["usable"]:
            _state["table"] = _build()
            _state["usable"] = _state["table"] is not None
        return _state["table"]


def _fast_rows(k: np.ndarray, table: np.ndarray):
    """(radius, sin, cos) of rows of 16 uniforms ``k * 2^-24`` (``k``: 24-bit integers, uint32)
    through NumPy's functions and the table."""
    # the radius inputs' k, then the angle inputs': each half's codes contiguous (a strided
    # uint8 pass costs several contiguous ones)
    at = np.empty((2, k.shape[0], 8), np.intp)
    at[0] = k[:, :8]
    at[1] = k[:, 8:]
    code = table.take(at)
    cr, ca = code
    x = np.multiply(k[:, :8], -_P24, dtype=_F32)  # -u, exact
    x += _F32(1.0)  # 1 - u, exact (a multiple of 2^-24 in (0, 1])
    np.log(x, out=x)
    x *= _F32(-2.0)
    radius = np.sqrt(x, out=x)
    # each correction is taken out of its bit field in uint8 (the -bias wraps) and added as int8
    f = cr & np.uint8(7)
    f -= np.uint8(2)
    np.add(radius.view(np.int32), f.view(np.int8), out=radius.view(np.int32))
    # float32(2 pi) * u rounded once: k times float32(2 pi) * 2^-24 (a power of two apart, so
    # the same rounding)
    a = np.multiply(k[:, 8:], _TWO_PI_U, dtype=_F32)
    s, c = np.sin(a), np.cos(a)
    f = ca >> np.uint8(3)
    f &= np.uint8(3)
    f -= np.uint8(1)
    np.add(s.view(np.int32), f.view(np.int8), out=s.view(np.int32))
    f = ca >> np.uint8(5)
    f &= np.uint8(3)
    f -= np.uint8(1)
    np.add(c.view(np.int32), f.view(np.int8), out=c.view(np.int32))
    flags = code.view(np.uint64)[..., 0] & _EXC8  # a row's 8 bytes of each half: one word
    rows = np.nonzero(flags[0] | flags[1])[0]
    if rows.size:  # the few inputs outside the table's reach: the exact emulation
        radius[rows], s[rows], c[rows] = _emulate(np.multiply(k[rows], _P24, dtype=_F32))
    return radius, s, c


def normal_rows(words: np.ndarray, mean: float, std: float, out: np.ndarray) -> np.ndarray:
    """torch's NormalFill16 into ``out`` (rows of 16 float32) from ``words``, the engine's
    64-bit draws (8 a row): each row's 16 float32 uniforms are their 32-bit halves in stream
    order, the radius from the first 8 and the angle from the last 8; bit for bit. The uniforms
    are made block by block, in the cache, on ember's threads (the draws themselves are
    sequential and done; every row after that is independent)."""
    table = _state["table"]
    if table is None and _state["usable"]:
        _state["emulated"] += out.size
        if _state["emulated"] >= _BUILD_AFTER:
            table = _table()
    scaled = std != 1.0 or mean != 0.0

    def rows(lo: int, hi: int) -> None:
        for i in range(lo, hi, _ROWS):
            j = min(i + _ROWS, hi)
            k = np.empty((j - i, 16), np.uint32)
            split64(words[i * 8 : j * 8], k)
            k &= _M24
            if table is None:  # exact: 24-bit integers times 2^-24
                radius, s, c = _emulate(np.multiply(k, _P24, dtype=_F32))
            else:
                radius, s, c = _fast_rows(k, table)
            if scaled:
                np.multiply(radius, c, out=c)
                np.multiply(radius, s, out=s)
                out[i:j, :8] = fma32(c, _F32(std), _F32(mean))
                out[i:j, 8:] = fma32(s, _F32(std), _F32(mean))
            else:
                np.multiply(radius, c, out=out[i:j, :8])
                np.multiply(radius, s, out=out[i:j, 8:])

    threads.prange(out.shape[0], rows, out.nbytes * 2)
    return out
