"""The casts autocast makes where an op of torch's autocast lists is entered.

An op of the "lower precision" list (matrix products, convolutions, linear, ...) runs its float32
and float16/bfloat16 inputs in the region's dtype (bfloat16 on the CPU, float16 on CUDA by
default); an op of the "fp32" list (losses, ``prod``, ``cdist``, the pads and 3-d pools, the
decompositions, ...) runs its reduced-precision inputs in float32. float64 and non-floating
tensors pass through, and so does every tensor of a device type whose autocast is off. The op
functions call these only when ``_autocast_state.state.active`` is set.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import numpy as np

from .._autocast_state import state
from .._backend.xp import CPU_ARRAY
from ..tensor import Tensor
from .unary import Cast

_F32 = np.dtype(np.float32)


def _device_type(t: Tensor) -> str:
    return "cpu" if type(t._data) is CPU_ARRAY else t.device.type


def _to(t: Tensor, npd) -> Tensor:
    return Cast.apply(t, npd)  # differentiable: the gradient comes back in t's dtype


def lower(*tensors):
    """The tensors as an op of the lower-precision list sees them (a tuple, None kept)."""
    out = []
    for t in tensors:
        if isinstance(t, Tensor):
            d = t._data.dtype
            if d.kind in "fV" and d.itemsize < 8:
                dev = _device_type(t)
                if state.enabled.get(dev, False):
                    npd = state.dtypes[dev].np
                    if d != npd:
                        t = _to(t, npd)
        out.append(t)
    return tuple(out)


def fp32(*tensors):
    """The tensors as an op of the fp32 list sees them (a tuple, None kept)."""
    out = []
    for t in tensors:
        if isinstance(t, Tensor):
            d = t._data.dtype
            if d.itemsize == 2 and d.kind in "fV" and state.enabled.get(_device_type(t), False):
                t = _to(t, _F32)
        out.append(t)
    return tuple(out)


@contextlib.contextmanager
def suspended() -> Iterator[None]:
    """No casting in the block: for ops on neither list (mv, dot, ...) built on listed ones."""
    state.active = False
    try:
        yield
    finally:
        state.active = any(state.enabled.values())
