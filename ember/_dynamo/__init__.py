"""torch._dynamo in an eager framework: ember compiles nothing, so the decorators give the function
back, the shape markers record nothing, nothing is compiling and ``reset`` has no cache to clear.
``config`` holds the settings scripts assign. The shared markers are ``torch.compiler``'s own."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .. import compiler as _compiler
from .._torch_alias import module_getattr as _module_getattr
from ..compiler import allow_in_graph, assume_constant_result, is_compiling, reset
from . import config

__all__ = [
    "allow_in_graph",
    "assume_constant_result",
    "config",
    "disable",
    "disallow_in_graph",
    "graph_break",
    "is_compiling",
    "mark_dynamic",
    "mark_static",
    "mark_static_address",
    "maybe_mark_dynamic",
    "optimize",
    "reset",
    "run",
]


def disable(
    fn: Callable | None = None,
    recursive: bool = True,
    *,
    reason: str | None = None,
    wrapping: bool = True,
) -> Any:
    """Keep ``fn`` out of compilation: ``fn`` unchanged (torch wraps it), or a decorator that
    gives back what it decorates when ``fn`` is None."""
    return _compiler.disable(fn, recursive, reason=reason)


def disallow_in_graph(fn: Callable) -> Callable:
    """Make the compiler break its graph at ``fn``: ``fn`` unchanged."""
    return fn


def graph_break(msg: str = "") -> None:
    """Force a graph break here: nothing to break when running eagerly."""


def mark_dynamic(
    t: Any,
    index: int | list | tuple,
    *,
    hint_override: int | None = None,
    min: int | None = None,  # noqa: A002 - torch's keyword
    max: int | None = None,  # noqa: A002 - torch's keyword
    specialize_on: list | None = None,
) -> None:
    """Mark dimensions of ``t`` as dynamic for the compiler: nothing to record."""


def maybe_mark_dynamic(t: Any, index: int | list | tuple) -> None:
    """Hint that dimensions of ``t`` may be dynamic: nothing to record."""


def mark_static(t: Any, index: int | list | tuple | None = None) -> None:
    """Mark dimensions of ``t`` (or a module) as static: nothing to record."""


def mark_static_address(t: Any, guard: bool = False) -> None:
    """Mark ``t``'s storage address as fixed across calls: nothing to record."""


class _Eager:
    """What ``optimize`` and ``run`` return: a decorator giving back the function, and a context
    manager whose block runs as written."""

    def __call__(self, fn: Callable) -> Callable:
        return fn

    def __enter__(self) -> _Eager:
        return self

    def __exit__(self, *exc: object) -> None:
        return None


def optimize(*args: Any, **kwargs: Any) -> _Eager:
    """Compile with a backend: a decorator that leaves the function as is (torch's
    ``OptimizeContext``, also usable as a ``with`` block)."""
    return _Eager()


def run(fn: Callable | None = None) -> Any:
    """Run already-compiled code without compiling more: ``fn`` unchanged, or a decorator and
    context manager when ``fn`` is None."""
    return _Eager() if fn is None else fn


__getattr__ = _module_getattr(__name__)  # unknown names: a clear not-implemented error
