"""The default device for constructors (``set_default_device``); the ``with device(...)`` stack,
which takes precedence, is kept by ``device`` itself (``device._default_stack``)."""

from __future__ import annotations

from .device import CPU, _default_stack, to_device

_default = CPU


def set_default(d) -> None:
    global _default
    _default = CPU if d is None else to_device(d)


def current():
    return _default_stack[-1] if _default_stack else _default
