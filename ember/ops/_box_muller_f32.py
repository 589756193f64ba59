"""torch's float32 Box-Muller (its x86 AVX2 NormalFill16) bit for bit, at the speed of NumPy's
vectorised log/sin/cos: a table of per-input corrections.

Every float32 uniform torch feeds Box-Muller is ``k * 2^-24`` for a 24-bit ``k``, so each of its
transcendental results (the radius ``sqrt(-2 log(1 - u))`` and the angle's sine and cosine) is a
function of ``k`` alone. ``_cephes_f32`` reproduces them exactly but costs some sixty NumPy passes
per value; NumPy's own functions are single fast passes whose results sit within a couple of ulps
of torch's: the radius from a correctly rounded log (float64, rounded to float32), the sine and
cosine from NumPy's float32 ones. The table holds, for each ``k``, how many ulps to add to those
to land on torch's (exact ``_cephes_f32`` values, compared when the table is built), or marks
``k`` as an exception whose row is then computed by ``_cephes_f32``. One byte per ``k``: 16 MiB.

Reading a byte of it for every value took about half of the time: random reads spread over more
than about 8 MiB miss the TLB and the cache (16,384 random bytes from a 16 MiB table: 92 us, from
a 2 MiB one: 14 us). So each role also has a bitmap (2 MiB) of the ``k`` whose correction there
is not zero; every value reads its bit, and only the flagged ones (4% of the radii, 10% of the
angles) read their byte. The extra passes of that scheme cost more than they save in blocks that
stay in the L2 cache, whose many short NumPy calls the two threads also contend for; in blocks of
up to 32,768 rows it is the faster one (measured in one process against the byte-per-value
scheme in 2,048-row blocks: randn(1e6) 6.8 -> 5.5 ms, randn(1e7) 60 -> 55 ms).

The table is built against this machine's NumPy, so the corrections hold on any CPU (x86-64 or
ARM64, whatever SIMD NumPy picked); the build checks that NumPy's functions give the same bits
wherever a value sits in an array, and when they do not the exact emulation is used throughout.
Building it costs about as much as emulating 20 million normals (measured: 0.5 s on one thread),
so without a disk cache it is built only once the process has emulated that many (rent or buy: a
process never spends more than about twice what the better choice in hindsight would have). With
the disk cache on, a build serves every later process on the machine too, so it is bought sooner,
after 2 million emulated values (about 50 ms): a fresh machine's first process that draws that
many pays the build once (0.67 s on two threads, 2026-12-04), where before every process there
drew at the emulation's 26 ms per million until one reached 20 million (the Normal benchmark's
first run on a fresh machine: 3.4x torch's time, against 1.2-1.5x with the table). A built
table is kept in ember's disk cache (``_backend.cpu.disk_cache``, keyed by NumPy's version and
the CPU features it dispatches on; ``EMBER_CACHE_DIR=""`` turns it off), so later processes
read it instead, once they have emulated what reading costs (about 10 ms: 400,000 normals); a
read table is checked (its CRC, NumPy's pointwise results, and a spread of inputs against the
exact emulation) before it is used.
"""

from __future__ import annotations

import math
import threading
from typing import NamedTuple

import numpy as np

from .._backend.cpu import disk_cache, threads
from ._cephes_f32 import log_f32, sincos_f32
from ._fma import fma32

_F32 = np.float32
_TWO_PI_F = _F32(2.0 * math.pi)
_P24 = _F32(2.0**-24)
_P24D = 2.0**-24
_M24 = np.uint32((1 << 24) - 1)
_TWO_PI_U = _TWO_PI_F * _P24  # exact: a power of two times float32(2 pi)
_ROWS = 1 << 15  # at most this many rows of 16 per block (see the module's docstring)
_BUILD_AFTER = 20_000_000  # emulated values that cost what building the table costs
_BUILD_AFTER_CACHED = 2_000_000  # the same with the disk cache on (see the module's docstring)
_LOAD_AFTER = 400_000  # emulated values that cost what reading it from the disk cache costs
# v2: the three angles next to 3 pi / 2 corrected; v3: radii against a correctly rounded log
_CACHE_NAME = "box_muller_f32_v3"
# one byte per k: bits 0-2 the radius correction + 2, bits 3-4 the sine's + 1, bits 5-6 the
# cosine's + 1, bit 7 set when any of them is out of that range (then the row is emulated)
_EXC = 0x80
_NEUTRAL = 2 | 1 << 3 | 1 << 5  # no correction

_lock = threading.Lock()
_state: dict = {"emulated": 0, "table": None, "usable": True, "looked": False}


def _emulate(d: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(radius, sin, cos) by the exact Cephes emulation from ``d``: the radius uniforms, then
    the angle uniforms (``d[0]``, ``d[1]``)."""
    radius = np.sqrt(_F32(-2.0) * log_f32(_F32(1.0) - d[0]))
    s, c = sincos_f32(_TWO_PI_F * d[1])
    return radius, s, c


def _ulps(exact: np.ndarray, base: np.ndarray) -> np.ndarray:
    """exact - base in ulps (int64), or a huge value where their signs differ."""
    diff = exact.view(np.int32).astype(np.int64) - base.view(np.int32).astype(np.int64)
    diff[np.signbit(exact) != np.signbit(base)] = 1 << 40
    return diff


def _base_is_pointwise(x: np.ndarray) -> bool:
    """True when NumPy's float64 log and float32 sin/cos give each value the same bits wherever
    it sits (the fast path calls them on blocks at other offsets and lengths than the build
    did)."""
    for v, fn in ((x.astype(np.float64), np.log), (x, np.sin), (x, np.cos)):
        pad = np.empty(v.size + 1, v.dtype)[1:]  # misaligned by one element
        pad[...] = v
        whole = fn(v)
        for lo, hi in ((0, 1), (3, 10), (5, 22), (17, 200)):
            if not np.array_equal(fn(pad[lo:hi]), whole[lo:hi]):
                return False
        if not np.array_equal(fn(pad), whole):
            return False
    return True


def _radius_base(k: np.ndarray) -> np.ndarray:
    """sqrt(-2 log(1 - u)) for ``u = k * 2^-24``, the log correctly rounded to float32 (through
    float64): it differs from torch's in 3.7% of the k, NumPy's float32 log in 11%."""
    x = np.multiply(k, -_P24D, dtype=np.float64)  # -u, exact
    x += 1.0
    np.log(x, out=x)
    r = x.astype(_F32)
    r *= _F32(-2.0)
    return np.sqrt(r, out=r)


def _build() -> np.ndarray | None:
    """The correction byte of every 24-bit k, or None when NumPy's functions are not pointwise.
    Built on ember's threads, in chunks that keep their temporaries in the cache."""
    if not _base_is_pointwise(np.arange(1, 4097, dtype=_F32) * (_P24 * _TWO_PI_F)):
        return None
    table = np.empty(1 << 24, np.uint8)
    step = 1 << 14

    def chunks(first: int, last: int) -> None:
        for lo in range(first * step, last * step, step):
            k = np.arange(lo, lo + step, dtype=np.int32)
            u = k.astype(_F32) * _P24
            radius, s, c = _emulate(np.stack([u, u]))
            base_r = _radius_base(k)
            a = _TWO_PI_F * u
            dr, ds, dc = _ulps(radius, base_r), _ulps(s, np.sin(a)), _ulps(c, np.cos(a))
            ok = (np.abs(dr) <= 2) & (np.abs(ds) <= 1) & (np.abs(dc) <= 1)
            code = (dr + 2) | (ds + 1) << 3 | (dc + 1) << 5
            code[~ok] = _EXC | _NEUTRAL  # neutral fields: the row is emulated anyway
            table[lo : lo + step] = code

    threads.prange((1 << 24) // step, chunks, 1 << 30)
    return table


class _Tables(NamedTuple):
    """The correction byte of every k, and per role the bitmap (little bit order) of the k whose
    byte holds a correction there."""

    codes: np.ndarray
    radius_bits: np.ndarray
    angle_bits: np.ndarray


def _tables(codes: np.ndarray) -> _Tables:
    radius = (codes & np.uint8(_EXC | 0x07)) != np.uint8(_NEUTRAL & 0x07)
    angle = (codes & np.uint8(_EXC | 0x78)) != np.uint8(_NEUTRAL & 0x78)
    return _Tables(
        codes, np.packbits(radius, bitorder="little"), np.packbits(angle, bitorder="little")
    )


def _checked(codes: np.ndarray | None) -> _Tables | None:
    """The tables of ``codes`` (read from the disk cache) when they give the exact emulation's
    bits on a spread of 2^16 inputs in both roles and NumPy's functions are pointwise here;
    else None."""
    if codes is None or not _base_is_pointwise(np.arange(1, 4097, dtype=_F32) * _TWO_PI_U):
        return None
    tables = _tables(codes)
    k = (np.arange(1 << 16, dtype=np.int32) * 256 + 97).reshape(1, -1, 8)
    k = np.concatenate([k, np.roll(k, 4099)])
    fast = _fast_rows(k, tables)
    exact = _emulate(np.multiply(k, _P24, dtype=_F32))
    same = all(np.array_equal(f.view(np.int32), e.view(np.int32)) for f, e in zip(fast, exact))
    return tables if same else None


def _build_after() -> int:
    """Emulated values after which this process builds the table."""
    if disk_cache.cache_dir() is None:
        return _BUILD_AFTER
    return min(_BUILD_AFTER, _BUILD_AFTER_CACHED)


def _table() -> _Tables | None:
    """The tables: from the disk cache once the process has emulated what reading it costs,
    built (and saved there) once it has emulated what building it costs; None until then."""
    with _lock:
        if _state["table"] is None and _state["usable"]:
            if not _state["looked"]:
                _state["looked"] = True
                _state["table"] = _checked(disk_cache.load(_CACHE_NAME, np.uint8, 1 << 24))
            if _state["table"] is None and _state["emulated"] >= _build_after():
                codes = _build()
                _state["usable"] = codes is not None
                if codes is not None:
                    _state["table"] = _tables(codes)
                    disk_cache.save(_CACHE_NAME, codes)
        return _state["table"]


def _flagged(bits: np.ndarray, k: np.ndarray) -> np.ndarray:
    """Flat positions of the ``k`` (int32, C-contiguous) whose bit in ``bits`` is set."""
    b = bits.take((k >> 3).astype(np.intp))
    shift = np.bitwise_and(k, 7, out=np.empty(k.shape, np.uint8), casting="unsafe")
    b >>= shift
    b &= np.uint8(1)
    return np.flatnonzero(b.view(np.bool_))


def _correct(values: np.ndarray, at: np.ndarray, codes: np.ndarray, shift: int, bias: int):
    """Add to float32 ``values``, at flat positions ``at``, the ulps in the bit field of
    ``codes`` that starts at bit ``shift`` (stored plus ``bias``; 3 bits wide for bias 2, else
    2)."""
    f = codes >> np.uint8(shift) if shift else codes.copy()
    f &= np.uint8(7 if bias == 2 else 3)
    f -= np.uint8(bias)  # wraps: read as int8 it is the signed correction
    flat = values.view(np.int32).reshape(-1)
    flat[at] += f.view(np.int8)


def _fast_rows(k: np.ndarray, tables: _Tables):
    """(radius, sin, cos) of rows of 16 uniforms ``k * 2^-24`` through NumPy's functions and the
    tables. ``k``: shape (2, rows, 8), the radius inputs then the angle inputs, 24-bit integers
    as int32 (whose conversions to intp and float are SIMD passes, unlike uint32's), each half
    contiguous (strided halves made every pass several times slower)."""
    codes = tables.codes
    radius = _radius_base(k[0])
    # float32(2 pi) * u rounded once: k times float32(2 pi) * 2^-24 (a power of two apart, so
    # the same rounding)
    a = np.multiply(k[1], _TWO_PI_U, dtype=_F32)
    s, c = np.sin(a), np.cos(a)
    odd = []
    at = _flagged(tables.radius_bits, k[0])
    if at.size:
        code = codes.take(k[0].reshape(-1).take(at))
        _correct(radius, at, code, 0, 2)
        odd.append(at[code >= _EXC])
    at = _flagged(tables.angle_bits, k[1])
    if at.size:
        code = codes.take(k[1].reshape(-1).take(at))
        _correct(s, at, code, 3, 1)
        _correct(c, at, code, 5, 1)
        odd.append(at[code >= _EXC])
    rows = np.unique(np.concatenate(odd) >> 3) if odd else np.empty(0, np.intp)
    if rows.size:  # the few inputs outside the table's reach: the exact emulation
        radius[rows], s[rows], c[rows] = _emulate(np.multiply(k[:, rows], _P24, dtype=_F32))
    return radius, s, c


def normal_rows(engine, mean: float, std: float, out: np.ndarray) -> np.ndarray:
    """torch's NormalFill16 into ``out`` (rows of 16 float32), drawing 16 32-bit words a row
    from ``engine`` (``_backend.cpu.mt19937.MT19937``): each row's 16 float32 uniforms in
    stream order, the radius from the first 8 and the angle from the last 8; bit for bit.

    The draws are sequential, every row after them independent: this thread draws block after
    block (NumPy draws without holding the GIL) while ember's other threads turn the blocks
    already drawn into normals, and then joins them. Drawing everything first and
    transforming it after left the other threads idle during the draws, a fifth of the time,
    and read the draws back from memory."""
    table = _state["table"]
    if table is None and _state["usable"]:
        _state["emulated"] += out.size
        if _state["emulated"] >= (_build_after() if _state["looked"] else _LOAD_AFTER):
            table = _table()
    scaled = std != 1.0 or mean != 0.0
    n = out.shape[0]
    # blocks of up to _ROWS rows, and at least two when there are 4,096 rows (both threads work)
    per = min(_ROWS, max(1 << 11, -(-n // 2)))
    nblocks = -(-n // per)

    def transform(b: int, raw: np.ndarray) -> None:
        i = b * per
        j = i + raw.shape[0]
        # the radius inputs and the angle inputs, each half contiguous
        k = np.empty((2, j - i, 8), np.uint32)
        np.bitwise_and(raw.reshape(j - i, 2, 8).transpose(1, 0, 2), _M24, out=k)
        k = k.view(np.int32)
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

    def draw(b: int) -> np.ndarray:
        rows = min(per, n - b * per)
        return engine.random(rows * 16).reshape(rows, 16)

    drawn: list = [None] * nblocks
    st = {"made": 0, "next": 0, "stop": False}
    cond = threading.Condition()

    def consume() -> None:
        while True:
            with cond:
                while st["next"] < nblocks and st["next"] >= st["made"] and not st["stop"]:
                    cond.wait()
                b = st["next"]
                if b >= nblocks or b >= st["made"]:
                    return
                st["next"] = b + 1
                raw, drawn[b] = drawn[b], None
            transform(b, raw)

    def produce() -> None:
        try:
            for b in range(nblocks):
                raw = draw(b)
                with cond:
                    drawn[b] = raw
                    st["made"] = b + 1
                    cond.notify()
        finally:  # on an error too: no consumer may wait for a block that never comes
            with cond:
                st["stop"] = True
                cond.notify_all()
        consume()

    if not threads.alongside(produce, consume, out.nbytes * 2):
        for b in range(nblocks):
            transform(b, draw(b))
    return out
