"""torch.cuda.amp.autocast and custom_fwd/custom_bwd: deprecated spellings of torch.amp's, which
warn (FutureWarning) and default to CUDA and float16."""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable
from typing import Any

from ...amp import autocast_mode as _amp
from ...dtypes import dtype, float16

__all__ = ["autocast", "custom_fwd", "custom_bwd"]


def _deprecated(old: str, new: str) -> None:
    warnings.warn(
        f"`torch.cuda.amp.{old}(args...)` is deprecated. Please use `torch.amp.{new}` instead.",
        FutureWarning,
        stacklevel=3,
    )


class autocast(_amp.autocast):
    """``torch.amp.autocast("cuda", ...)`` (deprecated spelling; float16 by default)."""

    def __init__(self, enabled: bool = True, dtype: dtype = float16, cache_enabled: bool = True):
        _deprecated("autocast", "autocast('cuda', args...)")
        super().__init__("cuda", enabled=enabled, dtype=dtype, cache_enabled=cache_enabled)


def custom_fwd(fwd: Callable | None = None, *, cast_inputs: dtype | None = None) -> Any:
    """``torch.amp.custom_fwd(..., device_type='cuda')`` (deprecated spelling)."""
    _deprecated("custom_fwd", "custom_fwd(args..., device_type='cuda')")
    return functools.partial(_amp.custom_fwd, device_type="cuda")(fwd=fwd, cast_inputs=cast_inputs)


def custom_bwd(bwd: Callable) -> Any:
    """``torch.amp.custom_bwd(..., device_type='cuda')`` (deprecated spelling)."""
    _deprecated("custom_bwd", "custom_bwd(args..., device_type='cuda')")
    return _amp.custom_bwd(bwd, device_type="cuda")
