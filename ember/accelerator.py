"""ember.accelerator: the device-agnostic accelerator queries of ``torch.accelerator``.

ember's only accelerator is CUDA (through CuPy). Without it, ``is_available()`` is False,
``device_count()`` 0 and ``current_accelerator()`` None, and every call that needs the device
raises torch's RuntimeError, as torch does on a machine with no accelerator.
"""

from __future__ import annotations

from . import cuda as _cuda
from ._torch_alias import module_getattr as _module_getattr
from .device import device as _device
from .dtypes import float16, float32, float64
from .stream import Stream as _Stream

__all__ = [
    "current_accelerator",
    "current_device_idx",
    "current_device_index",
    "current_stream",
    "device_count",
    "device_index",
    "empty_cache",
    "get_device_capability",
    "get_memory_info",
    "is_available",
    "max_memory_allocated",
    "max_memory_reserved",
    "memory_allocated",
    "memory_reserved",
    "reset_peak_memory_stats",
    "set_device_idx",
    "set_device_index",
    "set_stream",
    "synchronize",
]


_NONE = "Cannot access accelerator device when none is available."


def _require() -> None:
    """torch's error for a call that needs the accelerator on a machine without one."""
    if not _cuda.is_available():
        raise RuntimeError(_NONE)


def is_available() -> bool:
    """True when a CUDA device is usable through CuPy."""
    return _cuda.is_available()


def device_count() -> int:
    """How many accelerator devices are visible (0 without CUDA)."""
    return _cuda.device_count() if is_available() else 0


def current_accelerator(check_available: bool = False) -> _device | None:
    """``device('cuda')`` when CUDA is present, else None (torch's answer without one)."""
    return _device("cuda") if is_available() else None


def current_device_index() -> int:
    """Index of the current accelerator device."""
    _require()
    return _cuda.current_device()


def set_device_index(device: object) -> None:
    """Make ``device`` (an int or a cuda device) the current accelerator device."""
    _require()
    _cuda.set_device(device)


def synchronize(device: object = None) -> None:
    """Wait for queued accelerator work to finish."""
    _require()
    _cuda.synchronize(device)


current_device_idx = current_device_index
set_device_idx = set_device_index


class device_index:
    """Context manager making accelerator ``idx`` current for its block (None: no change)."""

    def __init__(self, idx: int | None) -> None:
        self._idx = idx
        self._ctx = None

    def __enter__(self) -> None:
        if self._idx is not None:
            _require()
            self._ctx = _cuda.device(self._idx)
            self._ctx.__enter__()

    def __exit__(self, *exc) -> None:
        if self._ctx is not None:
            self._ctx.__exit__(*exc)


def current_stream(device: object = None) -> _Stream:
    """The accelerator stream work is queued on now, as a ``torch.Stream``."""
    _require()
    index = None if device is None else _cuda._index(device)
    return _Stream._of_cuda(_cuda.current_stream(device), index)


def set_stream(stream: _Stream) -> None:
    """Make ``stream`` (a ``torch.Stream`` or an ember.cuda stream) the current one."""
    _require()
    if isinstance(stream, _Stream):
        stream = stream._cuda_stream()
    _cuda.set_stream(stream)


def get_device_capability(device: object = None) -> dict:
    """What the device supports, as torch: a dict with the supported dtypes."""
    _require()
    return {"supported_dtypes": [float16, float32, float64]}


def memory_allocated(device_index: object = None) -> int:
    _require()
    return _cuda.memory_allocated(device_index)


def max_memory_allocated(device_index: object = None) -> int:
    _require()
    return _cuda.max_memory_allocated(device_index)


def memory_reserved(device_index: object = None) -> int:
    _require()
    return _cuda.memory_reserved(device_index)


def max_memory_reserved(device_index: object = None) -> int:
    _require()
    return _cuda.max_memory_reserved(device_index)


def reset_peak_memory_stats(device_index: object = None) -> None:
    _require()
    _cuda.reset_peak_memory_stats(device_index)


def empty_cache() -> None:
    _require()
    _cuda.empty_cache()


def get_memory_info(device_index: object = None) -> tuple[int, int]:
    """(free, total) bytes on the accelerator."""
    _require()
    return _cuda.mem_get_info(device_index)


__getattr__ = _module_getattr(__name__)  # unknown names: a clear not-implemented error
