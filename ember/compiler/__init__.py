"""torch.compiler: ember runs every program eagerly, so compiling changes nothing; these are
torch's switches and markers with their eager meaning (the function itself, "not compiling")."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any

from .._tensor_methods import compile  # noqa: A004 - torch.compiler.compile is torch.compile

__all__ = [
    "allow_in_graph",
    "assume_constant_result",
    "compile",
    "cudagraph_mark_step_begin",
    "disable",
    "is_compiling",
    "is_dynamo_compiling",
    "is_exporting",
    "list_backends",
    "reset",
    "set_stance",
    "substitute_in_graph",
]


def _same(fn: Callable | None = None, *args: Any, **kwargs: Any):
    """``fn`` itself, or a decorator giving back what it decorates when ``fn`` is None."""
    return fn if fn is not None else (lambda f: f)


def disable(fn: Callable | None = None, recursive: bool = True, *, reason: str | None = None):
    """Keep ``fn`` out of compilation: with nothing compiled, ``fn`` unchanged."""
    return _same(fn)


def allow_in_graph(fn: Callable) -> Callable:
    """Let the compiler put ``fn`` in its graph: ``fn`` unchanged."""
    return fn


def assume_constant_result(fn: Callable) -> Callable:
    """Let the compiler treat ``fn``'s result as a constant: ``fn`` unchanged."""
    return fn


def substitute_in_graph(original_fn: Callable, *, can_constant_fold_through: bool = False,
                        skip_signature_check: bool = False):  # fmt: skip
    """A decorator registering a traceable stand-in for ``original_fn``: nothing to register."""
    return lambda f: f


def is_compiling() -> bool:
    """False: nothing runs under a compiler in ember."""
    return False


def is_dynamo_compiling() -> bool:
    """False: nothing runs under a compiler in ember."""
    return False


def is_exporting() -> bool:
    """False: ember does not export programs."""
    return False


def reset() -> None:
    """Clear the compiler's caches: there are none."""


def cudagraph_mark_step_begin() -> None:
    """Mark a new step for CUDA graphs: ember records none."""


def list_backends(exclude_tags=("debug", "experimental")) -> list:
    """The compiler backends: none (ember runs eagerly; ``torch.compile`` returns the model)."""
    return []


@contextlib.contextmanager
def _stance():
    yield


def set_stance(stance: str = "default", *, skip_guard_eval_unsafe: bool = False,
               force_backend=None):  # fmt: skip
    """Set how compiled functions behave: a no-op context manager and decorator in ember."""
    return _stance()
