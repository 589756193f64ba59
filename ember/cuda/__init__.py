"""ember.cuda: CUDA availability, devices, streams, seeds and memory figures through CuPy.

Everything here answers sensibly without CuPy or a GPU: ``is_available()`` is False and never
raises, ``device_count()`` is 0, seeding and ``synchronize`` are no-ops; the calls that need a
device raise torch's "Torch not compiled with CUDA enabled" AssertionError.

Random numbers: factory functions (``randn(..., device='cuda')``, ``nn.init``) draw on the host
with ember's generator and copy once, so a seed gives the same values on CPU and GPU; random
numbers inside a training step (dropout masks) come from CuPy's generator on the device, seeded
by ``manual_seed`` here (and by ``ember.manual_seed``), so a step never uploads from the host.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

from .._backend.xp import cuda_device_count, cupy, cupy_loaded
from .._tensor_errors import OutOfMemoryError  # noqa: F401  (torch.cuda.OutOfMemoryError)
from .._torch_alias import module_getattr as _module_getattr
from ..device import to_device
from . import amp  # noqa: F401  (torch.cuda.amp)

_available = None
_peak = [0]  # the high-water mark of memory_allocated() since reset_peak_memory_stats()


def _cp():
    return cupy()


def is_available() -> bool:
    """True when CuPy imports and sees at least one GPU (never raises)."""
    global _available
    if _available is None:
        _available = cuda_device_count() > 0
    return _available


def is_initialized() -> bool:
    """True once CUDA has been used (ember initialises lazily, on the first CUDA tensor)."""
    return cupy_loaded() and is_available()


def init() -> None:
    """Initialise CUDA now (import CuPy and check the driver)."""
    _cp()


def device_count() -> int:
    """Number of visible GPUs (0 without CuPy or a driver)."""
    return _cp().cuda.runtime.getDeviceCount() if is_available() else 0


def _index(device) -> int:
    """A CUDA ordinal from None (current), an int, a string or an ember device."""
    if device is None:
        return current_device()
    if isinstance(device, int):
        return device
    d = to_device(device)
    if d.type != "cuda":
        raise ValueError(f"Expected a cuda device, but got: {d}")
    return current_device() if d.index is None else d.index


def current_device() -> int:
    """The ordinal of the current GPU."""
    return _cp().cuda.Device().id


def set_device(device) -> None:
    """Make ``device`` (an int, 'cuda:N' or a device) the current GPU."""
    if isinstance(device, int) and device < 0:
        return  # torch: a negative ordinal is a no-op
    _cp().cuda.Device(_index(device)).use()


class device:
    """Context manager that makes a GPU current for its block, as ``torch.cuda.device``."""

    def __init__(self, device) -> None:
        self.idx = -1 if device is None else _index(device)
        self._ctx = None

    def __enter__(self):
        if self.idx >= 0:
            self._ctx = _cp().cuda.Device(self.idx)
            self._ctx.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        if self._ctx is not None:
            self._ctx.__exit__(*exc)
            self._ctx = None


class device_of(device):
    """``device`` for the GPU a tensor lives on (a no-op for CPU tensors)."""

    def __init__(self, obj) -> None:
        super().__init__(obj.device.index if obj.is_cuda else None)


def synchronize(device=None) -> None:
    """Wait for all queued work on a GPU (a no-op without CUDA)."""
    if is_available():
        with _cp().cuda.Device(_index(device)) as d:
            d.synchronize()


def manual_seed(seed: int) -> None:
    """Seed the GPU generator (a no-op without CUDA, as torch)."""
    if is_available():
        _cp().random.seed(int(seed) & 0xFFFFFFFFFFFFFFFF)


manual_seed_all = manual_seed


def seed() -> None:
    """Seed the GPU generator from fresh entropy."""
    if is_available():
        _cp().random.seed(None)


seed_all = seed


def _seed_all_if_loaded(seed: int) -> None:
    """``ember.manual_seed`` reaches the GPU generator when CUDA is already in use."""
    if is_initialized():
        manual_seed(seed)


def _props(device) -> dict:
    return _cp().cuda.runtime.getDeviceProperties(_index(device))


def get_device_name(device=None) -> str:
    """The GPU's marketing name."""
    n = _props(device)["name"]
    return n.decode() if isinstance(n, bytes) else n


def get_device_capability(device=None) -> tuple[int, int]:
    """The compute capability as (major, minor)."""
    p = _props(device)
    return int(p["major"]), int(p["minor"])


@dataclass(frozen=True)
class _CudaDeviceProperties:
    """What ``torch.cuda.get_device_properties`` reports (the commonly read fields)."""

    name: str
    major: int
    minor: int
    total_memory: int
    multi_processor_count: int

    def __repr__(self) -> str:
        return (
            f"_CudaDeviceProperties(name='{self.name}', major={self.major}, minor={self.minor}, "
            f"total_memory={self.total_memory // 2**20}MB, "
            f"multi_processor_count={self.multi_processor_count})"
        )


def get_device_properties(device=None) -> _CudaDeviceProperties:
    """Name, capability, memory and SM count of a GPU."""
    p = _props(device)
    return _CudaDeviceProperties(
        get_device_name(device),
        int(p["major"]),
        int(p["minor"]),
        int(p["totalGlobalMem"]),
        int(p["multiProcessorCount"]),
    )


# --- memory (CuPy's default pool: "allocated" = in use, "reserved" = held by the pool) -------
def memory_allocated(device=None) -> int:
    """Bytes held by live CUDA tensors (CuPy's pool: used bytes)."""
    if not is_available():
        return 0
    n = _cp().get_default_memory_pool().used_bytes()
    _peak[0] = max(_peak[0], n)
    return n


def max_memory_allocated(device=None) -> int:
    """The most bytes seen allocated since the last reset (sampled, at least the pool's use
    now: CuPy keeps no allocation peak)."""
    return max(_peak[0], memory_allocated(device))


def memory_reserved(device=None) -> int:
    """Bytes the caching pool holds from the driver."""
    return _cp().get_default_memory_pool().total_bytes() if is_available() else 0


def max_memory_reserved(device=None) -> int:
    return memory_reserved(device)


def reset_peak_memory_stats(device=None) -> None:
    _peak[0] = 0


reset_max_memory_allocated = reset_peak_memory_stats


def empty_cache() -> None:
    """Give the pool's cached, unused blocks back to the driver."""
    if is_available():
        _cp().get_default_memory_pool().free_all_blocks()
        _cp().get_default_pinned_memory_pool().free_all_blocks()


def mem_get_info(device=None) -> tuple[int, int]:
    """(free, total) bytes on the GPU."""
    with _cp().cuda.Device(_index(device)):
        return tuple(_cp().cuda.runtime.memGetInfo())


# --- streams and events ---------------------------------------------------------------------
class Stream:
    """A CUDA stream (CuPy's), as ``torch.cuda.Stream``."""

    def __init__(self, device=None, priority: int = 0, **kw) -> None:
        with _cp().cuda.Device(_index(device)):
            self._s = _cp().cuda.Stream(non_blocking=True)

    def synchronize(self) -> None:
        self._s.synchronize()

    def query(self) -> bool:
        return bool(self._s.done)

    def wait_event(self, event: Event) -> None:
        self._s.wait_event(event._e)

    def wait_stream(self, stream: Stream) -> None:
        self._s.wait_event(stream._s.record())

    def record_event(self, event: Event | None = None) -> Event:
        event = event or Event()
        event.record(self)
        return event

    @property
    def cuda_stream(self) -> int:
        return int(self._s.ptr)

    def __eq__(self, other) -> bool:
        return isinstance(other, Stream) and other._s is self._s

    def __hash__(self) -> int:
        return id(self._s)


class Event:
    """A CUDA event (CuPy's), as ``torch.cuda.Event``: record, synchronize, elapsed_time."""

    def __init__(self, enable_timing: bool = False, blocking: bool = False, **kw) -> None:
        self._e = _cp().cuda.Event(block=blocking, disable_timing=not enable_timing)

    def record(self, stream: Stream | None = None) -> None:
        self._e.record(None if stream is None else stream._s)

    def synchronize(self) -> None:
        self._e.synchronize()

    def query(self) -> bool:
        return bool(self._e.done)

    def wait(self, stream: Stream | None = None) -> None:
        (stream or current_stream())._s.wait_event(self._e)

    def elapsed_time(self, end_event: Event) -> float:
        """Milliseconds from this event to ``end_event``."""
        return float(_cp().cuda.get_elapsed_time(self._e, end_event._e))


_streams: list = []  # the ember Streams made current by `stream(...)` blocks


def current_stream(device=None) -> Stream:
    """The stream work is queued on now."""
    cur = _cp().cuda.get_current_stream()
    for s in reversed(_streams):
        if s._s is cur:
            return s
    s = Stream.__new__(Stream)
    s._s = cur
    return s


def default_stream(device=None) -> Stream:
    s = Stream.__new__(Stream)
    s._s = _cp().cuda.Stream.null
    return s


@contextlib.contextmanager
def stream(s: Stream | None):
    """Queue the block's work on stream ``s`` (None: no change), as ``torch.cuda.stream``."""
    if s is None:
        yield
        return
    s = getattr(s, "_cuda", None) or s  # a torch.Stream on a CUDA device wraps one of ours
    _streams.append(s)
    try:
        with s._s:
            yield
    finally:
        _streams.pop()


def set_stream(s: Stream) -> None:
    s = getattr(s, "_cuda", None) or s  # a torch.Stream on a CUDA device wraps one of ours
    s._s.use()


__getattr__ = _module_getattr(__name__)  # unknown names: a clear not-implemented error
