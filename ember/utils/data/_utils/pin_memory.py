"""pin_memory: page-locking batch tensors (a no-op copy on a CPU-only build)."""

from __future__ import annotations

import collections.abc
from typing import Any

from ....tensor import Tensor
from ..dataset import GatheredBatch


def pin_memory(data: Any, device: str | None = None) -> Any:
    """``t.pin_memory()`` for every tensor in a nested batch, keeping the structure."""
    if isinstance(data, Tensor):
        return data.pin_memory()
    if isinstance(data, (str, bytes)):
        return data
    if type(data) is GatheredBatch:
        return GatheredBatch([pin_memory(f, device) for f in data.fields])
    if isinstance(data, collections.abc.Mapping):
        try:
            return type(data)({k: pin_memory(v, device) for k, v in data.items()})
        except TypeError:
            return {k: pin_memory(v, device) for k, v in data.items()}
    if isinstance(data, tuple) and hasattr(data, "_fields"):
        return type(data)(*(pin_memory(v, device) for v in data))
    if isinstance(data, tuple):
        return [pin_memory(v, device) for v in data]
    if isinstance(data, collections.abc.Sequence):
        try:
            return type(data)([pin_memory(v, device) for v in data])
        except TypeError:
            return [pin_memory(v, device) for v in data]
    if hasattr(data, "pin_memory"):
        return data.pin_memory()
    return data
