"""torch.cpu.amp.autocast: the deprecated spelling of ``torch.amp.autocast("cpu", ...)``."""

from __future__ import annotations

import warnings

from ...amp import autocast_mode as _amp
from ...dtypes import bfloat16, dtype

__all__ = ["autocast"]


class autocast(_amp.autocast):
    """``torch.amp.autocast("cpu", ...)`` (deprecated spelling; bfloat16 by default)."""

    def __init__(self, enabled: bool = True, dtype: dtype = bfloat16, cache_enabled: bool = True):
        warnings.warn(
            "`torch.cpu.amp.autocast(args...)` is deprecated. Please use "
            "`torch.amp.autocast('cpu', args...)` instead.",
            FutureWarning,
            stacklevel=2,
        )
        super().__init__("cpu", enabled=enabled, dtype=dtype, cache_enabled=cache_enabled)
