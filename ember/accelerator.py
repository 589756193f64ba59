"""ember.accelerator: the device-agnostic accelerator queries of ``torch.accelerator``.

ember's only accelerator is CUDA (through CuPy). Without it, ``is_available()`` is False and
``current_accelerator()`` returns None, as torch does on a machine with no accelerator.
"""

from __future__ import annotations

from . import cuda as _cuda
from ._torch_alias import module_getattr as _module_getattr
from .device import device as _device

__all__ = [
    "current_accelerator",
    "current_device_idx",
    "current_device_index",
    "device_count",
    "is_available",
    "set_device_idx",
    "set_device_index",
    "synchronize",
]


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
    """Index of the current accelerator device; -1 without one."""
    return _cuda.current_device() if is_available() else -1


def set_device_index(device: object) -> None:
    """Make ``device`` (an int or a cuda device) the current accelerator device."""
    if not is_available():
        raise RuntimeError("ember found no accelerator (CUDA through CuPy) on this machine")
    _cuda.set_device(device)


def synchronize(device: object = None) -> None:
    """Wait for queued accelerator work to finish (a no-op without one)."""
    _cuda.synchronize(device)


current_device_idx = current_device_index
set_device_idx = set_device_index

__getattr__ = _module_getattr(__name__)  # unknown names: a clear not-implemented error
