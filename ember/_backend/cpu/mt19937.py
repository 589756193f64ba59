"""torch's CPU random engine: a 32-bit Mersenne Twister (mt19937) seeded and read as torch's
``CPUGeneratorImpl`` does, with its state in torch's byte layout.

NumPy's ``MT19937`` bit generator runs the same recurrence at C speed: ``_legacy_seeding(s)`` is
the reference ``init_genrand(s & 0xffffffff)`` torch uses, and NumPy's 64-bit draw is torch's
``random64()`` (the first 32-bit draw in the high half, the second in the low half).
"""

from __future__ import annotations

import numpy as np

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


class MT19937:
    """The mt19937 stream: 32-bit draws (``random``) and torch's 64-bit ones (``random64``)."""

    __slots__ = ("_bg", "_g", "_seed", "_fresh")

    def __init__(self, seed: int = 5489):
        self._bg = np.random.MT19937(0)
        self._g = np.random.Generator(self._bg)
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
