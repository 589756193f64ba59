"""torch.cpu: the CPU device module (always available, one device) and its amp spellings."""

from __future__ import annotations

from .._torch_alias import module_getattr as _module_getattr
from . import amp

__all__ = ["amp", "current_device", "device_count", "is_available", "synchronize"]


def is_available() -> bool:
    """Always True, as torch.cpu.is_available."""
    return True


def device_count() -> int:
    """One CPU device, as torch.cpu.device_count."""
    return 1


def current_device() -> str:
    """'cpu', as torch.cpu.current_device."""
    return "cpu"


def synchronize(device=None) -> None:
    """Nothing to wait for: CPU work is synchronous."""


__getattr__ = _module_getattr(__name__)  # unknown names: a clear not-implemented error
