"""amp_definitely_not_available: True where no GPU is found (autocast and GradScaler then turn
themselves off for 'cuda')."""

from __future__ import annotations

from ..._backend.xp import cuda_device_count

__all__ = ["amp_definitely_not_available"]


def amp_definitely_not_available() -> bool:
    """True when no CUDA device is visible (ember has no XLA backend to count as well)."""
    return cuda_device_count() == 0
