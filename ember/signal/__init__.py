"""torch.signal: signal-processing helpers (today its ``windows`` namespace)."""

from . import windows

__all__ = ["windows"]
