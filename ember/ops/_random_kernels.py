"""torch's CPU sampling kernels over the mt19937 stream, vectorised in NumPy: each function draws
what torch's kernel draws, in the same order, and applies the same transform.

``gen`` is any object with ``engine`` (``_backend.cpu.mt19937.MT19937``) and ``next_double`` (the
Box-Muller sample torch caches between scalar normal draws). Values come back as a flat array in
torch's iteration order; the caller places them (``fill_in_order``).

Transcendental functions: torch evaluates them with the C library in double precision. For up to
``_LIBM_MAX`` values ember calls the same C library through Python's ``math`` module (bit for bit
with torch on the same platform); above that NumPy's vectorised log/log1p/exp/tan, whose results
may differ from the C library's in the last bit or two of a double (cos, sin and sqrt agree
exactly). Rounded to float32, the usual case, the values are equal.
"""

from __future__ import annotations

import math

import numpy as np

from .._backend.cpu import select
from ._box_muller_f32 import normal_rows
from ._fma import fma32

_M53 = np.uint64((1 << 53) - 1)
_M24 = np.uint32((1 << 24) - 1)
_P53 = 2.0**-53
_P24 = np.float32(2.0**-24)
_F32 = np.float32
_LIBM_MAX = 2048


# ---------------------------------------------------------------- uniforms
def u01_double(gen, n: int) -> np.ndarray:
    """torch's uniform_real_distribution<double>(0, 1): the low 53 bits of random64() * 2^-53."""
    return (gen.engine.random64(n) & _M53).astype(np.float64) * _P53


def u01_float(gen, n: int) -> np.ndarray:
    """torch's uniform_real_distribution<float>(0, 1): the low 24 bits of random() * 2^-24."""
    r = gen.engine.random(n)
    np.bitwise_and(r, _M24, out=r)
    return np.multiply(r, _P24, dtype=_F32)  # exact: 24-bit integers times 2^-24


def fma64(a, b, c) -> np.ndarray:
    """double ``a * b + c`` rounded once (as torch's compiled FMA), by error-free transforms."""
    a = np.asarray(a, np.float64)
    b = np.asarray(b, np.float64)
    c = np.asarray(c, np.float64)
    p = a * b
    sa = a * 134217729.0  # Veltkamp split into 26-bit halves: the product's error exactly
    ah = sa - (sa - a)
    al = a - ah
    sb = b * 134217729.0
    bh = sb - (sb - b)
    bl = b - bh
    ep = ((ah * bh - p) + ah * bl + al * bh) + al * bl
    s = p + c
    bb = s - p
    es = (p - (s - bb)) + (c - bb)
    return s + (ep + es)


def uniform(gen, n: int, npdt, low: float, high: float) -> np.ndarray:
    """uniform_(low, high) into ``npdt``: torch computes ``u * (to - from) + from`` (fused) in
    the op-math type (double for float64, float otherwise) and maps a rounded ``to`` back to
    ``from``."""
    if np.dtype(npdt) == np.float64:
        u = u01_double(gen, n)
        v = u if (low == 0.0 and high == 1.0) else fma64(u, high - low, low)
    else:
        f, t = _F32(low), _F32(high)
        u = u01_float(gen, n)
        v = u if (f == 0 and t == 1) else fma32(u, t - f, f)
    out = v.astype(npdt, copy=False)
    to_s = np.asarray(high).astype(npdt)
    hit = out == to_s
    if hit.any():
        out[hit] = np.asarray(low).astype(npdt)
    return out


# ---------------------------------------------------------------- normal
def _fill16_f64(d: np.ndarray, mean: float, std: float) -> np.ndarray:
    """torch's generic NormalFill16 in double (C library log/cos/sin)."""
    u1 = 1.0 - d[:, :8]
    theta = (2.0 * math.pi) * d[:, 8:]
    if d.size <= _LIBM_MAX:
        radius = np.array([math.sqrt(-2.0 * math.log(v)) for v in u1.ravel()]).reshape(u1.shape)
    else:
        radius = np.sqrt(-2.0 * np.log(u1))
    n1, n2 = radius * np.cos(theta), radius * np.sin(theta)
    if std != 1.0 or mean != 0.0:
        n1, n2 = fma64(n1, std, mean), fma64(n2, std, mean)
    return np.concatenate([n1, n2], axis=1)


def normal_vectorised(gen, n: int, npdt, mean: float, std: float) -> np.ndarray:
    """normal_ on a contiguous tensor of n >= 16 elements (torch's normal_fill): Box-Muller over
    rows of 16 uniforms; a ragged tail redraws 16 uniforms and rewrites the last 16 values."""
    npdt = np.dtype(npdt)
    full = (n // 16) * 16
    if npdt == np.float64:
        d = u01_double(gen, n)
        out = d.copy()
        out[:full] = _fill16_f64(d[:full].reshape(-1, 16), mean, std).ravel()
        if n % 16:
            out[n - 16 :] = _fill16_f64(u01_double(gen, 16).reshape(1, 16), mean, std).ravel()
        return out
    # float16/bfloat16: torch fills a float buffer per row of 16, then rounds
    f32 = npdt == np.float32
    out = np.empty(n, np.float32 if f32 else npdt)
    rows = out[:full].reshape(-1, 16) if f32 else np.empty((full // 16, 16), np.float32)
    normal_rows(gen.engine, mean, std, rows)
    if not f32:
        out[:full] = rows.reshape(-1)
    if n % 16:
        if f32:  # the rest of the n uniforms torch draws into the output (the tail overwrites
            gen.engine.random(n - full)  # them); with a buffer per row it draws whole rows
        tail = normal_rows(gen.engine, mean, std, np.empty((1, 16), np.float32))
        out[n - 16 :] = tail.reshape(-1)
    return out


def standard_normal_scalar(gen, n: int) -> np.ndarray:
    """n draws of torch's normal_distribution<double>(0, 1) (float64), one at a time as torch's
    scalar kernel makes them: Box-Muller on two random64 uniforms (angle from the first, radius
    from the second), the cosine sample returned and the sine one cached in the generator."""
    out = np.empty(n, np.float64)
    k = 0
    if n and gen.next_double is not None:
        out[0] = gen.next_double
        gen.next_double = None
        k = 1
    m = n - k
    if m <= 0:
        return out
    pairs = (m + 1) // 2
    u = u01_double(gen, 2 * pairs)
    u1, u2 = u[0::2], u[1::2]
    theta = (2.0 * math.pi) * u1
    if pairs <= _LIBM_MAX:
        r = np.array([math.sqrt(-2.0 * math.log1p(-v)) for v in u2.tolist()])
    else:
        r = np.sqrt(-2.0 * np.log1p(-u2))
    both = np.empty((pairs, 2))
    both[:, 0] = r * np.cos(theta)
    both[:, 1] = r * np.sin(theta)
    flat = both.ravel()
    out[k:] = flat[:m]
    if m & 1:
        gen.next_double = float(flat[m])
    return out


def normal_scalar(gen, n: int, mean: float, std: float) -> np.ndarray:
    """torch's scalar normal kernel (tensors under 16 elements or not contiguous), float64."""
    z = standard_normal_scalar(gen, n)
    if std == 1.0 and mean == 0.0:
        return z
    return fma64(z, std, mean)  # val * std + mean, fused by torch's compiler


# ---------------------------------------------------------------- integers
def random_from_to(gen, n: int, rng: int, base: int) -> np.ndarray:
    """random_(from, to): ``(draw % range) + from`` wrapped to int64; a 64-bit draw when the
    range is 2^28 or more (torch's cut-off for the modulo bias), a 32-bit one otherwise."""
    if rng >= 1 << 28:
        v = gen.engine.random64(n) % np.uint64(rng)
    else:
        v = (gen.engine.random(n) % np.uint32(rng)).astype(np.uint64)
    return (v + np.uint64(base & 0xFFFFFFFFFFFFFFFF)).view(np.int64)


def random_full64(gen, n: int) -> np.ndarray:
    """random_(int64 min, None): a 64-bit draw as int64."""
    return gen.engine.random64(n).view(np.int64)


_DIGITS = {"float64": 53, "float32": 24, "float16": 11, "bfloat16": 8}
_INT_MAX = {
    "int8": 127,
    "int16": 32767,
    "int32": 2**31 - 1,
    "int64": 2**63 - 1,
    "uint8": 255,
    "uint16": 65535,
    "uint32": 2**32 - 1,
    "uint64": 2**64 - 1,
}


def random_default(gen, n: int, name: str) -> np.ndarray:
    """random_() with no bounds, per dtype: bool the low bit; integers ``% (max + 1)``; floating
    types ``% (2^digits + 1)``; 64-bit draws for int64/float64, 32-bit ones otherwise."""
    if name == "bool":
        return (gen.engine.random(n) & np.uint32(1)).astype(bool)
    wide = name in ("int64", "float64", "uint64")
    v = gen.engine.random64(n) if wide else gen.engine.random(n).astype(np.uint64)
    mod = (1 << _DIGITS[name]) + 1 if name in _DIGITS else _INT_MAX[name] + 1
    if mod >= 1 << 64:
        return v
    return (v % np.uint64(mod)).view(np.int64)


# ---------------------------------------------------------------- permutation
def randperm(gen, n: int) -> np.ndarray:
    """randperm(n) as int64: torch's Fisher-Yates, swapping position i with i + random() % (n-i)
    for i < n - 1 (n below 2^32 / 20), else the inside-out variant on random64()."""
    if n < (2**32 - 1) // 20:
        if n <= 1:
            return np.arange(n, dtype=np.int64)
        r = gen.engine.random(n - 1)
        r %= np.arange(n, 1, -1, dtype=np.uint32)  # n < 2^32: the modulo in 32 bits
        return _apply_swaps(r, n)
    r = gen.engine.random64(n)
    a = np.empty(n, np.int64)
    for i, z in enumerate((r % np.arange(1, n + 1, dtype=np.uint64)).tolist()):
        a[i] = a[z]
        a[z] = i
    return a


def _apply_swaps(r: np.ndarray, n: int) -> np.ndarray:
    """arange(n) after swapping a[j] with a[z[j]] for j = 0, 1, ..., n - 2, where z[j] = j + r[j]
    (``r``: uint32 offsets), with no Python loop over the steps.

    Position j is final after step j: it gets the value at z[j] just before step j. The value at
    p before step t is p itself unless an earlier step j' < t targeted p (z[j'] == p); then it is
    what the last such step moved there, ``carried[j']``: the value at j' just before step j'.
    So each step needs the previous step with the same target (``prev``), and ``carried`` follows
    chains of such writers back to a position no step wrote to, resolved by pointer jumping.
    """
    m = r.size
    # group the steps by target, in step order inside a group: one sort of unique keys, the
    # step index in the low bits (a mask and a shift, not a division: measured ~10% faster).
    # The key (z << shift) | j is j * (2^shift + 1) + (r << shift), made without z or an index
    # array: arrays of 1e7 int64 are 80 MB each, fresh pages each time (randperm(1e7), one
    # process, alternating: median 707 -> 504 ms, best 554 -> 493)
    shift = np.int64(max((m - 1).bit_length(), 1))
    key = np.arange(m, dtype=np.int64)
    key *= (np.int64(1) << shift) + 1
    high = r.astype(np.int64)
    high <<= shift
    key += high
    del high
    key.sort()
    order = key & ((np.int64(1) << shift) - 1)
    zs = key
    zs >>= shift
    same = zs[1:] == zs[:-1]
    # the links are step indices below 2^31 (n < 2^32 / 20): int32 halves the memory the
    # random scatters and gathers below touch (measured ~18% faster than int64)
    i32 = np.int32
    prev = np.empty(m, i32)
    prev[order[0]] = -1
    # a bit select: NumPy's where mispredicts on a condition this irregular (70 -> 45 ms at 1e7)
    prev[order[1:]] = select.where(same, order[:-1].astype(i32), i32(-1))
    last = np.empty(m, bool)  # the last step of each target group
    np.logical_not(same, out=last[:-1])
    last[-1] = True
    # the last step before j that wrote into position j: that group's last step, or the one
    # before it when j's own step is a self-swap (z[j] == j, always the last of its group); a
    # position no earlier step wrote into points at itself (writers are always below j)
    ptr = np.arange(n, dtype=i32)
    at = np.flatnonzero(last)
    ptr[zs.take(at)] = order.take(at)
    selfs = np.flatnonzero(r == 0)  # self-swaps: z[j] == j
    ptr[selfs] = np.where(prev[selfs] >= 0, prev[selfs], selfs)
    lw = int(ptr[n - 1])  # the final position is no step's own: its last writer, or itself
    active = np.flatnonzero(ptr[:m] != np.arange(m, dtype=i32))  # same-type compare
    # pointer jumping on the chains not yet at their root; take/put rather than fancy indexing
    # (measured in one process: randperm(1e7)'s swaps 550 -> 450 ms at best, 720-770 -> 500-540
    # ms in the median, with the gathers below)
    while active.size:
        cur = ptr.take(active)
        nxt = ptr.take(cur)
        ptr.put(active, nxt)
        active = active[nxt != cur]
    carried = ptr  # a step no one wrote into before carries its own index
    # a step with no earlier step on its target takes the target's own value; the others (about
    # half) what that earlier step carried there (compacted: measured ~40% faster than a where)
    out = np.arange(n, dtype=np.int64)
    out[:m] += r  # z
    sel = np.flatnonzero(prev >= 0)
    out.put(sel, carried.take(prev.take(sel)))
    out[n - 1] = carried[lw]  # its last writer's carried value (itself when none)
    return out


# ---------------------------------------------------------------- other distributions
def bernoulli_scalar(gen, n: int, p: float) -> np.ndarray:
    """bernoulli_(p) with a float p: a double uniform < p per element (torch's generic CPU
    kernel; its MKL build on Intel CPUs draws from MKL's stream instead). The uniform is
    ``k * 2^-53`` for the low 53 bits ``k`` of a 64-bit draw, so ``u < p`` exactly when
    ``k < ceil(p * 2^53)``: compared as integers, without the two float64 passes."""
    thr = math.ceil(p * 2.0**53)
    fast = gen.engine.bernoulli53(n, thr)  # compiled, where Numba is loaded already
    if fast is not None:
        return fast
    r = gen.engine.random64(n)
    r &= _M53
    return r < np.uint64(thr)


def bernoulli_tensor(gen, p: np.ndarray) -> np.ndarray:
    """bernoulli_(p_tensor): per element a double uniform < p for float64 p, else a float one."""
    if p.dtype == np.float64:
        return u01_double(gen, p.size) < p.ravel()
    return u01_float(gen, p.size) < p.ravel().astype(_F32)


def _libm(fn, npfn, x: np.ndarray) -> np.ndarray:
    if x.size <= _LIBM_MAX:
        return np.array([fn(v) for v in x.tolist()], dtype=np.float64)
    return npfn(x)


def exponential(gen, n: int, lambd: float) -> np.ndarray:
    """exponential_(lambd): ``-1/lambd * log1p(-u)`` on double uniforms."""
    u = u01_double(gen, n)
    return (-1.0 / lambd) * _libm(math.log1p, np.log1p, -u)


def cauchy(gen, n: int, median: float, sigma: float) -> np.ndarray:
    """cauchy_(median, sigma): ``median + sigma * tan(pi * (u - 0.5))`` on double uniforms."""
    u = u01_double(gen, n)
    t = _libm(math.tan, np.tan, math.pi * (u - 0.5))
    return fma64(sigma, t, median)


def log_normal(gen, n: int, mean: float, std: float) -> np.ndarray:
    """log_normal_(mean, std): exp of torch's scalar normal draws (sharing its cached sample)."""
    return _libm(math.exp, np.exp, normal_scalar(gen, n, mean, std))


def geometric(gen, n: int, p: float) -> np.ndarray:
    """geometric_(p): ``ceil(log(u) / log1p(-p))`` on double uniforms."""
    u = u01_double(gen, n)
    with np.errstate(divide="ignore"):
        return np.ceil(_libm(_safe_log, np.log, u) / math.log1p(-p))


def _safe_log(v: float) -> float:
    return math.log(v) if v > 0 else -math.inf


def multinomial_with_replacement(gen, rows: np.ndarray, n_sample: int) -> np.ndarray:
    """torch's CPU sampler: per row the cumulative sum in the row's type (float for half types),
    normalised, its last entry forced to 1, then for each sample the first bucket whose
    cumulative probability is >= a double uniform."""
    acc = np.float64 if rows.dtype == np.float64 else _F32
    out = np.empty((rows.shape[0], n_sample), np.int64)
    for i, r in enumerate(rows):
        cum = np.cumsum(r.astype(acc))
        cum = cum / cum[-1]
        cum[-1] = 1
        out[i] = np.searchsorted(cum.astype(np.float64), u01_double(gen, n_sample), side="left")
    return out


def poisson(gen, lam: np.ndarray) -> np.ndarray:
    """torch's sample_poisson per rate (float64, in order): the product of uniforms below rate
    10, Hoermann's transformed rejection (PTRS) from 10 on. Each sample takes a variable number
    of double uniforms, so the stream is read ahead in blocks and the engine is then set to just
    past the draws actually used. One Python step per sample: meant for modest sizes."""
    start = gen.engine.copy()
    block: list[float] = []
    pos = used = 0

    def uniform01() -> float:
        nonlocal block, pos, used
        if pos == len(block):
            block = u01_double(gen, 1024).tolist()
            pos = 0
        pos += 1
        used += 1
        return block[pos - 1]

    out = np.empty(lam.size, np.float64)
    for i, rate in enumerate(lam.tolist()):
        out[i] = _poisson_one(rate, uniform01)
    gen.engine = start
    start.random64(used)
    return out


def _poisson_one(lam: float, uniform01) -> float:
    if lam >= 10:
        slam = math.sqrt(lam)
        loglam = math.log(lam)
        b = 0.931 + 2.53 * slam
        a = -0.059 + 0.02483 * b
        invalpha = 1.1239 + 1.1328 / (b - 3.4)
        vr = 0.9277 - 3.6224 / (b - 2)
        while True:
            u = uniform01() - 0.5
            v = uniform01()
            us = 0.5 - abs(u)
            k = math.floor((2 * a / us + b) * u + lam + 0.43)
            if us >= 0.07 and v <= vr:
                return k
            if k < 0 or (us < 0.013 and v > us):
                continue
            lhs = math.log(v) + math.log(invalpha) - math.log(a / (us * us) + b)
            if lhs <= -lam + k * loglam - math.lgamma(k + 1.0):
                return k
    if lam == 0:
        return 0
    enlam = math.exp(-lam)
    x = 0
    prod = 1.0
    while True:
        prod *= uniform01()
        if prod > enlam:
            x += 1
        else:
            return x
