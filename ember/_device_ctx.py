"""The default device for constructors (``set_default_device``, ``with device(...)``)."""

from __future__ import annotations

from .device import CPU, to_device

_stack: list = []
_default = CPU


def push(d) -> None:
    _stack.append(to_device(d))


def pop() -> None:
    _stack.pop()


def set_default(d) -> None:
    global _default
    _default = CPU if d is None else to_device(d)


def current():
    return _stack[-1] if _stack else _default
