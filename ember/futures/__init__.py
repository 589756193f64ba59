"""torch.futures: a Future holds the result of a call that may finish later.

ember runs every call eagerly, so a Future is usually complete when it is returned
(``torch.jit.fork``); one made by hand completes when ``set_result``/``set_exception`` is called,
and the callbacks chained on it (``then``, ``add_done_callback``) run at that moment, in the
calling thread.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["Future", "collect_all", "wait_all"]

_PENDING = object()


class Future:
    """The eventual result of a call (torch.futures.Future)."""

    def __init__(self, *, devices=None) -> None:
        self._result: Any = _PENDING
        self._error: BaseException | None = None
        self._callbacks: list[Callable[[Future], None]] = []

    def done(self) -> bool:
        """Whether a result or an error has been set."""
        return self._result is not _PENDING or self._error is not None

    def wait(self) -> Any:
        """The result (raising the error that was set instead)."""
        if not self.done():
            raise RuntimeError(
                "Future.wait() on a Future that is not complete: ember runs calls eagerly, so "
                "nothing else will complete it (call set_result first)"
            )
        return self.value()

    def value(self) -> Any:
        """The result of a completed Future (its error raised instead)."""
        if self._error is not None:
            raise self._error
        if self._result is _PENDING:
            raise RuntimeError("Future.value() on a Future that is not complete")
        return self._result

    def set_result(self, result: Any) -> None:
        """Complete the Future with ``result`` and run its callbacks."""
        self._complete(result, None)

    def set_exception(self, result: BaseException) -> None:
        """Complete the Future with an error that ``wait``/``value`` will raise."""
        if not isinstance(result, BaseException):
            raise AssertionError(f"{result} is of type {type(result)}, not an Exception.")
        self._complete(_PENDING, result)

    def _complete(self, result: Any, error: BaseException | None) -> None:
        if self.done():
            raise RuntimeError(
                "Attempting to mark a completed Future as complete again. Note that a Future "
                "can only be marked completed once."
            )
        self._result, self._error = result, error
        callbacks, self._callbacks = self._callbacks, []
        for cb in callbacks:
            cb(self)

    def then(self, callback: Callable[[Future], Any]) -> Future:
        """A new Future completed with ``callback(self)`` once this one completes (with the
        callback's error, wrapped as torch's RuntimeError, if it raises)."""
        nxt = Future()

        def run(fut: Future) -> None:
            try:
                value = callback(fut)
            except Exception as e:  # noqa: BLE001 - handed to the chained Future, as torch
                nxt.set_exception(
                    RuntimeError(
                        f"Got the following error when running the callback: "
                        f"{type(e).__name__}: {e}"
                    )
                )
                return
            nxt.set_result(value)

        self.add_done_callback(run)
        return nxt

    def add_done_callback(self, callback: Callable[[Future], None]) -> None:
        """Run ``callback(self)`` when the Future completes (now, when it already has)."""
        if self.done():
            callback(self)
        else:
            self._callbacks.append(callback)


def collect_all(futures: list[Future]) -> Future:
    """A Future of the list of ``futures``, complete when all of them are."""
    out = Future()
    left = [len(futures)]

    def one(_: Future) -> None:
        left[0] -= 1
        if left[0] == 0:
            out.set_result(list(futures))

    if not futures:
        out.set_result([])
    for f in futures:
        f.add_done_callback(one)
    return out


def wait_all(futures: list[Future]) -> list:
    """The values of ``futures`` (the first error raised)."""
    return [f.wait() for f in futures]
