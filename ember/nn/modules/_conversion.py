"""Module.to / cpu / cuda / float / ...: moving and casting parameters and buffers in place,
keeping Parameter identity (bound as Module methods in module.py)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from ...tensor import Tensor

if TYPE_CHECKING:
    from .module import Module


def _apply(self, fn: Callable[[Tensor], Tensor], recurse: bool = True) -> Module:
    """Convert every parameter and buffer with fn, keeping Parameter identity."""
    if recurse:
        for m in self.children():
            m._apply(fn)
    for _key, p in list(self._parameters.items()):
        if p is None:
            continue
        new = fn(p.detach())
        if new._data is not p._data:
            p._data = new._data
            p.__dict__.pop("_vc", None)
        if p.grad is not None:
            gnew = fn(p.grad)
            if gnew._data is not p.grad._data:
                p.grad._data = gnew._data
    for key, b in list(self._buffers.items()):
        if b is not None:
            nb = fn(b)
            if nb is not b:
                self._buffers[key] = nb
    return self


def to(self, *args, **kwargs) -> Module:
    """Move and/or cast parameters and buffers (floating ones only for dtype)."""
    from ...tensor import _parse_to

    kwargs.pop("non_blocking", None)
    kwargs.pop("memory_format", None)
    dev, dt, _ = _parse_to(args, kwargs)
    if dt is not None and not (dt.is_floating_point or dt.is_complex):
        raise TypeError(
            "nn.Module.to only accepts floating point or complex dtypes, but "
            f"got desired dtype={dt}"
        )

    def conv(t):
        if dt is not None and (t.is_floating_point() or t.is_complex()):
            return t._to(dev, dt)
        return t._to(dev, None)

    return self._apply(conv)


def cpu(self) -> Module:
    """Move parameters and buffers to the CPU."""
    return self._apply(lambda t: t.cpu())


def cuda(self, device=None) -> Module:
    """Move parameters and buffers to a CUDA device."""
    return self._apply(lambda t: t.cuda(device))


def type(self, dst_type) -> Module:
    """Cast parameters and buffers."""
    return self._apply(lambda t: t.type(dst_type))


def _cast_float(self, dtype) -> Module:
    return self._apply(lambda t: t._to(None, dtype) if t.is_floating_point() else t)


def float(self) -> Module:
    """Cast floating parameters and buffers to float32."""
    from ... import dtypes as D

    return self._cast_float(D.float32)


def double(self) -> Module:
    """Cast floating parameters and buffers to float64."""
    from ... import dtypes as D

    return self._cast_float(D.float64)


def half(self) -> Module:
    """Cast floating parameters and buffers to float16."""
    from ... import dtypes as D

    return self._cast_float(D.float16)


def bfloat16(self) -> Module:
    """Cast floating parameters and buffers to bfloat16."""
    from ... import dtypes as D

    return self._cast_float(D.bfloat16)


def to_empty(self, *, device=None, recurse: bool = True) -> Module:
    """Move to ``device`` with uninitialised storage (values are not copied)."""
    from ...ops.creation import empty_like

    return self._apply(lambda t: empty_like(t, device=device), recurse)


def share_memory(self) -> Module:
    """No-op (arrays are process memory)."""
    return self
