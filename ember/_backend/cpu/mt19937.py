"""torch's CPU random engine: a 32-bit Mersenne Twister (mt19937) seeded and read as torch's
``CPUGeneratorImpl`` does, with its state in torch's byte layout.

NumPy's ``MT19937`` bit generator runs the same recurrence at C speed: ``_legacy_seeding(s)`` is
the reference ``init_genrand(s & 0xffffffff)`` torch uses, and NumPy's 64-bit draw is torch's
``random64()`` (the first 32-bit draw in the high half, the second in the low half).
"""

from __future__ import annotations

import ctypes

import numpy as np

from . import jit

N = 624  # words of mt19937 state

# torch's CPUGeneratorImplState, memcpy'd into the uint8 tensor of get_rng_state (5056 bytes on
# every 64-bit platform torch ships): the legacy TH struct (initial seed, left, seeded, next, the
# 624 state words widened to uint64, three doubles and a flag of the old cached normal, of which
# only normal_y/normal_is_valid still hold the cached double sample), then the cached float
# sample and its flag. Offsets are the C layout's, padding included.
STATE_DTYPE = np.dtype(
    {
        "names": [
            "seed",
            "left",
            "seeded",
            "next",
            "state",
            "normal_x",
            "normal_y",
            "normal_rho",
            "normal_is_valid",
            "next_float",
            "next_float_valid",
        ],
        "formats": [
            "<u8",
            "<i4",
            "<i4",
            "<u8",
            ("<u8", N),
            "<f8",
            "<f8",
            "<f8",
            "<i4",
            "<f4",
            "u1",
        ],
        "offsets": [0, 8, 12, 16, 24, 5016, 5024, 5032, 5040, 5048, 5052],
        "itemsize": 5056,
    }
)
STATE_SIZE = STATE_DTYPE.itemsize


# Up to this many draws come from ``random_raw`` (mt19937's next32 as a uint64 each): the same
# stream, at 0.4 us a call where ``integers`` takes 3.6 us to set up (a transform's single
# draws: torch's ``uniform_`` on one element takes 1.7 us in all)
_FEW = 256


# mt19937's constants (the reference generator's, which NumPy's and torch's both are), as uint32
# so that a compiled loop works on 32-bit lanes
_M = 397
_U32 = np.uint32
_MATRIX_A, _UPPER, _LOWER = _U32(0x9908B0DF), _U32(0x80000000), _U32(0x7FFFFFFF)
_B, _C = _U32(0x9D2C5680), _U32(0xEFC60000)  # the tempering masks
_S1, _S7, _S11, _S15, _S18 = (_U32(v) for v in (1, 7, 11, 15, 18))
_MIN_COMPILED = 1 << 14  # draws from which ``bernoulli53`` runs its compiled loop


@jit.kernel
def _bernoulli_loop(st, thr, out):
    """``out[i] = (random64() & (2**53 - 1)) < thr`` for each i, drawn from the mt19937 state
    ``st`` (NumPy's: the 624 key words, then the position), which it advances in place: the
    reference twist, then the block's 624 words tempered at once, then each 64-bit draw from
    the next two words (high, then low), as NumPy's ``next64`` and torch's ``random64``."""
    tmp = np.empty(N, np.uint32)
    pos = np.int64(st[N])
    fresh = True  # tmp is to be filled from st
    n = out.size
    i = 0
    hi = np.int64(-1)  # a draw's high word, where the block ended between its two words
    while i < n:
        if pos >= N:
            for k in range(N - _M):
                y = (st[k] & _UPPER) | (st[k + 1] & _LOWER)
                st[k] = st[k + _M] ^ (y >> _S1) ^ ((y & _S1) * _MATRIX_A)
            for k in range(N - _M, N - 1):
                y = (st[k] & _UPPER) | (st[k + 1] & _LOWER)
                st[k] = st[k + _M - N] ^ (y >> _S1) ^ ((y & _S1) * _MATRIX_A)
            y = (st[N - 1] & _UPPER) | (st[0] & _LOWER)
            st[N - 1] = st[_M - 1] ^ (y >> _S1) ^ ((y & _S1) * _MATRIX_A)
            pos = 0
            fresh = True
        if fresh:
            for k in range(N):
                y = st[k]
                y ^= y >> _S11
                y ^= (y << _S7) & _B
                y ^= (y << _S15) & _C
                tmp[k] = y ^ (y >> _S18)
            fresh = False
        if hi >= 0:  # the low word of a draw begun in the last block
            out[i] = (((hi & 0x1FFFFF) << 32) | np.int64(tmp[pos])) < thr
            pos += 1
            i += 1
            hi = -1
            continue
        m = min((N - pos) // 2, n - i)
        for k in range(m):
            a = np.int64(tmp[pos + 2 * k])
            out[i + k] = (((a & 0x1FFFFF) << 32) | np.int64(tmp[pos + 2 * k + 1])) < thr
        i += m
        pos += 2 * m
        if i < n and pos == N - 1:  # one word left in the block: a draw's high half
            hi = np.int64(tmp[pos])
            pos += 1
    st[N] = pos


class MT19937:
    """The mt19937 stream: 32-bit draws (``random``) and torch's 64-bit ones (``random64``)."""

    __slots__ = ("_bg", "_g", "_seed", "_fresh", "_words")

    def __init__(self, seed: int = 5489):
        self._bg = np.random.MT19937(0)
        self._g = np.random.Generator(self._bg)
        self._words = None  # the bit generator's state as a uint32 view (``_state_words``)
        self.seed(seed)

    def seed(self, seed: int) -> None:
        """Seed as torch: the state from the seed's low 32 bits; the full 64-bit seed is kept."""
        self._seed = int(seed) & 0xFFFFFFFFFFFFFFFF
        self._bg._legacy_seeding(self._seed & 0xFFFFFFFF)
        # torch marks a freshly seeded engine with next=0, left=1 (NumPy: pos=624); remembered so
        # get_state writes torch's bytes exactly
        self._fresh = True

    @property
    def initial_seed(self) -> int:
        return self._seed

    def random64(self, n: int) -> np.ndarray:
        """``n`` 64-bit draws (uint64), each two 32-bit draws as torch's random64()."""
        if n <= 0:
            return np.empty(0, np.uint64)
        self._fresh = False
        if n <= _FEW // 2:  # the same two draws per value, without integers' set-up
            w = self._bg.random_raw(2 * n)
            return (w[0::2] << np.uint64(32)) | w[1::2]
        # NumPy's full-range uint64 draw is mt19937's next64: (first << 32) | second
        return self._g.integers(0, 1 << 64, size=n, dtype=np.uint64, endpoint=False)

    def bernoulli53(self, n: int, thr: int):
        """``(random64(n) & (2**53 - 1)) < thr`` as a bool array, by ``_bernoulli_loop`` on the
        bit generator's own state where Numba is loaded already and ``n`` is large; None
        otherwise (the caller draws through NumPy). Dropout's mask on nanoGPT's 12x64x128
        activations (2026-12-05): 0.43 -> 0.18 ms (torch's bernoulli_: 0.57), the nanoGPT
        training step 49.7 -> 45.8 ms. Not worth loading Numba for (a CNN with dropout would
        carry its ~110 MB for a few percent), so only where a transformer's loops loaded it."""
        if n < _MIN_COMPILED or not jit.loaded():
            return None
        words = self._words
        if words is None or (
            words is not False and words.ctypes.data != self._bg.ctypes.state_address
        ):  # not made yet, or a copy's (pickle and deepcopy copy the view's values)
            words = self._state_words()
        if words is False:
            return None
        out = np.empty(n, np.bool_)
        with self._bg.lock:  # NumPy's draws hold it too: no other thread moves the state
            if not _bernoulli_loop.run(words, np.int64(thr), out):
                return None
        self._fresh = False
        return out

    def _state_words(self):
        """NumPy's mt19937 state (624 key words, then the position as a C int) as a uint32
        view of the bit generator's memory, checked against its ``state``; False (kept, so
        never tried again) where they differ."""
        view = np.ctypeslib.as_array(
            (ctypes.c_uint32 * (N + 1)).from_address(self._bg.ctypes.state_address)
        )
        st = self._bg.state["state"]
        same = np.array_equal(view[:N], st["key"]) and int(view[N]) == int(st["pos"])
        self._words = view if same else False
        return self._words

    def random(self, n: int) -> np.ndarray:
        """``n`` 32-bit draws (uint32), in stream order.

        NumPy's full-range uint32 ``integers`` is mt19937's next32 stream written straight into
        a uint32 array, without holding the GIL (so another thread can work meanwhile). 1M
        draws, best of 7 (2026-12-03): 1.9 ms, against 2.4 for ``random_raw`` (a uint64 per
        draw) and 3.0 for 64-bit draws split in two."""
        if n <= 0:
            return np.empty(0, np.uint32)
        self._fresh = False
        if n <= _FEW:
            return self._bg.random_raw(n).astype(np.uint32)
        return self._g.integers(0, 1 << 32, size=n, dtype=np.uint32)

    def get_words(self) -> tuple[np.ndarray, int, int]:
        """(state words, torch's ``next``, torch's ``left``)."""
        st = self._bg.state["state"]
        key = np.asarray(st["key"], dtype=np.uint32).copy()
        pos = int(st["pos"])
        if pos >= N:
            return key, (0 if self._fresh else N), 1
        return key, pos, N + 1 - pos

    def set_words(self, key: np.ndarray, nxt: int, left: int, seed: int) -> None:
        # torch reads the next word when left > 1 and regenerates the block when left == 1
        pos = N if left <= 1 else nxt
        self._bg.state = {
            "bit_generator": "MT19937",
            "state": {"key": np.asarray(key, dtype=np.uint32).copy(), "pos": pos},
        }
        self._seed = int(seed) & 0xFFFFFFFFFFFFFFFF
        self._fresh = left <= 1 and nxt == 0

    def copy(self) -> MT19937:
        new = MT19937.__new__(MT19937)
        new._bg = np.random.MT19937(0)
        new._bg.state = self._bg.state
        new._g = np.random.Generator(new._bg)
        new._seed, new._fresh = self._seed, self._fresh
        new._words = None
        return new


def pack_state(eng: MT19937, next_double: float | None, next_float: float | None) -> np.ndarray:
    """torch's get_rng_state bytes (uint8, 5056) for the engine and the cached normal samples."""
    rec = np.zeros((), STATE_DTYPE)
    key, nxt, left = eng.get_words()
    rec["seed"] = eng.initial_seed
    rec["left"] = left
    rec["seeded"] = 1
    rec["next"] = nxt
    rec["state"] = key.astype(np.uint64)
    if next_double is not None:
        rec["normal_is_valid"] = 1
        rec["normal_y"] = next_double
    if next_float is not None:
        rec["next_float_valid"] = 1
        rec["next_float"] = next_float
    return np.frombuffer(rec.tobytes(), dtype=np.uint8).copy()


def unpack_state(blob: np.ndarray, eng: MT19937) -> tuple[float | None, float | None]:
    """Load torch's state bytes into ``eng``; returns the cached (double, float) normal samples."""
    if blob.size != STATE_SIZE:
        raise RuntimeError(
            f"Expected a CPUGeneratorImplState of size {STATE_SIZE} but found the input RNG "
            f"state size to be {blob.size}"
        )
    rec = np.frombuffer(np.ascontiguousarray(blob, dtype=np.uint8).tobytes(), STATE_DTYPE)[0]
    left, nxt, seeded = int(rec["left"]), int(rec["next"]), int(rec["seeded"])
    if not (seeded and 0 < left <= N and nxt <= N):
        raise RuntimeError("Invalid mt19937 state")
    eng.set_words(rec["state"].astype(np.uint32), nxt, left, int(rec["seed"]))
    nd = float(rec["normal_y"]) if int(rec["normal_is_valid"]) else None
    nf = float(rec["next_float"]) if int(rec["next_float_valid"]) else None
    return nd, nf
