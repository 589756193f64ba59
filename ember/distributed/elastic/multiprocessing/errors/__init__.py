"""``@record`` for entry points, as torchrun scripts use it; errors end the MPI job instead."""

from __future__ import annotations

import functools
from collections.abc import Callable

__all__ = ["ChildFailedError", "ErrorHandler", "record"]


class ChildFailedError(Exception):
    """A worker process failed (raised by launchers; kept for scripts that catch it)."""

    def __init__(self, name: str = "", failures: dict | None = None):
        super().__init__(name)
        self.name = name
        self.failures = failures or {}


class ErrorHandler:
    """No-op error handler: ember.distributed's excepthook already reports and aborts."""

    def initialize(self) -> None:
        """Nothing to set up."""

    def record_exception(self, e: BaseException) -> None:
        """Nothing to record: the exception reaches ember's excepthook."""


def record(fn: Callable | None = None, error_handler: ErrorHandler | None = None) -> Callable:
    """Decorator that returns the function unchanged (the traceback is shown on failure)."""
    if fn is None:
        return functools.partial(record, error_handler=error_handler)
    return fn
