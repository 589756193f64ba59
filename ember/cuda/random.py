"""torch.cuda.random: the GPUs' random streams, seeded, saved and restored as torch's.

ember draws random numbers on a GPU (dropout masks, ...) from CuPy's generator of that GPU.
CuPy cannot read a generator's state back, so ember names a stream by (seed, offset), the two
numbers of torch's 16-byte CUDA state: ``manual_seed(s)`` starts stream (s, 0), and
``get_rng_state()`` moves the GPU on to the next stream of its seed and returns that stream's
name. ``set_rng_state`` of that state then replays exactly the numbers drawn after it was taken,
which is what checkpoints and ``fork_rng`` rely on. Unlike torch, taking the state changes the
numbers that follow (torch's CUDA numbers differ from CuPy's anyway).

Without a GPU every call answers as torch's CPU build: seeding and ``set_rng_state`` do nothing,
``get_rng_state_all()`` is [], ``get_rng_state`` and ``initial_seed`` raise "Torch not compiled
with CUDA enabled".
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable

import numpy as np

from .._backend.xp import cupy
from .._torch_alias import module_getattr as _module_getattr
from ..device import device as _torch_device
from ..tensor import Tensor, _wrap
from ._runtime import Device, device_count, index_of, is_available, is_initialized, require

__all__ = [
    "get_rng_state",
    "get_rng_state_all",
    "set_rng_state",
    "set_rng_state_all",
    "manual_seed",
    "manual_seed_all",
    "seed",
    "seed_all",
    "initial_seed",
]

_MASK = 2**64 - 1


def _stream_seed(seed: int, offset: int) -> int:
    """CuPy's seed for stream (seed, offset): the seed itself at offset 0 (so ``manual_seed``
    seeds CuPy with the user's number), else a SplitMix64 mix of both, which spreads the
    streams of one seed far apart."""
    if offset == 0:
        return seed
    z = (seed + offset * 0x9E3779B97F4A7C15) & _MASK
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK
    return z ^ (z >> 31)


def _state_bytes(state) -> np.ndarray:
    """The bytes of an RNG state: an ember tensor, a torch tensor or an array."""
    if isinstance(state, Tensor):
        return state._host()
    return np.asarray(state.numpy() if hasattr(state, "numpy") else state)


class _DeviceGenerator:
    """The random stream of one GPU (an entry of ``torch.cuda.default_generators``): CuPy's
    generator on that GPU, with the seed and offset ember gave it."""

    def __init__(self, index: int) -> None:
        self.device = _torch_device("cuda", index)
        self._seed: int | None = None  # until ember seeds it, CuPy's own seed (unknown)
        self._offset = 0

    def _start(self, seed: int, offset: int) -> None:
        with cupy().cuda.Device(self.device.index):
            cupy().random.seed(_stream_seed(seed, offset))
        self._seed, self._offset = seed, offset

    def manual_seed(self, seed: int) -> _DeviceGenerator:
        self._start(int(seed) & _MASK, 0)
        return self

    def seed(self) -> int:
        """Seed from the OS's entropy and return the seed."""
        s = secrets.randbits(64)
        self.manual_seed(s)
        return s

    def initial_seed(self) -> int:
        """The seed of the current stream. A GPU nobody seeded gets a fresh random seed here,
        so that its state can be named (its numbers were random anyway)."""
        if self._seed is None:
            self.seed()
        return self._seed

    def get_state(self) -> Tensor:
        """The name of a fresh stream, now current: (seed, offset) as 16 little-endian bytes."""
        seed = self.initial_seed()
        self._start(seed, self._offset + 1)
        return _wrap(np.array([seed, self._offset], dtype="<u8").view(np.uint8))

    def set_state(self, new_state) -> _DeviceGenerator:
        """Restart the stream a ``get_state`` named."""
        raw = _state_bytes(new_state)
        if raw.dtype != np.uint8:
            raise TypeError("RNG state must be a torch.ByteTensor")
        if raw.size != 16:
            raise RuntimeError(f"Expected a CUDA generator state of 16 bytes, got {raw.size}")
        seed, offset = (int(v) for v in np.ascontiguousarray(raw).reshape(-1).view("<u8"))
        self._start(seed, offset)
        return self


_generators: dict[int, _DeviceGenerator] = {}


def _generator(device: Device = None) -> _DeviceGenerator:
    index = index_of(device)
    if index not in _generators:
        _generators[index] = _DeviceGenerator(index)
    return _generators[index]


def default_generators() -> tuple:
    """One generator per visible GPU (``torch.cuda.default_generators``); () without one."""
    return tuple(_generator(i) for i in range(device_count()))


def get_rng_state(device: Device = "cuda") -> Tensor:
    """The state of a GPU's generator, a 16-byte uint8 tensor (see the module's note)."""
    require()
    return _generator(device).get_state()


def get_rng_state_all() -> list[Tensor]:
    """``get_rng_state`` of every GPU ([] without one)."""
    return [get_rng_state(i) for i in range(device_count())]


def set_rng_state(new_state: Tensor, device: Device = "cuda") -> None:
    """Restore a GPU's generator from ``get_rng_state``; a no-op without a GPU, as torch."""
    if is_available():
        _generator(device).set_state(new_state)


def set_rng_state_all(new_states: Iterable[Tensor]) -> None:
    """``set_rng_state`` for GPU 0, 1, ... from the states in order."""
    for index, state in enumerate(new_states):
        set_rng_state(state, index)


def manual_seed(seed: int) -> None:
    """Seed the current GPU's generator (a no-op without CUDA, as torch)."""
    seed = int(seed)
    if is_available():
        _generator().manual_seed(seed)


def manual_seed_all(seed: int) -> None:
    """Seed every GPU's generator (a no-op without CUDA, as torch)."""
    seed = int(seed)
    for index in range(device_count()):
        _generator(index).manual_seed(seed)


def seed() -> None:
    """Seed the current GPU's generator from fresh entropy (a no-op without CUDA)."""
    if is_available():
        _generator().seed()


def seed_all() -> None:
    """Seed every GPU's generator with one fresh random seed (a no-op without CUDA)."""
    if is_available():
        manual_seed_all(secrets.randbits(64))


def initial_seed() -> int:
    """The seed of the current GPU's generator."""
    require()
    return _generator().initial_seed()


def seed_all_if_loaded(seed: int) -> None:
    """``ember.manual_seed`` reaches the GPU generators when CUDA is already in use."""
    if is_initialized():
        manual_seed_all(seed)


__getattr__ = _module_getattr(__name__)  # unknown names: a clear not-implemented error
