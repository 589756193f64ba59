"""The event recorder behind both profilers (``ember.autograd.profiler`` and ``ember.profiler``):
one active session, raw events from every thread.

While a session records, ``ember.autograd.node`` and ``ember.autograd.engine`` see
``_profiling = True`` and call :func:`enter` / :func:`run_op` / :func:`engine_node`; otherwise
they pay one module-global check. Events are plain tuples
``(name, category, start_ns, end_ns, thread id, input shapes)`` appended to the session's list
(``list.append`` is atomic, so worker threads may record at the same time); nesting and self
times are worked out afterwards from the intervals of each thread (see ``profiler_util``).
"""

from __future__ import annotations

import functools
import sys
import threading
import time
from collections.abc import Callable
from contextlib import ContextDecorator
from typing import Any

from . import engine, node

_now = time.perf_counter_ns
_tls = threading.local()
_lock = threading.Lock()
_session: Session | None = None
_thread_names: dict = {}  # native thread id -> thread name, for the chrome trace


class Session:
    """One recording: the raw events and the clock offsets to turn them into trace times."""

    def __init__(self, record_shapes: bool = False) -> None:
        self.record_shapes = record_shapes
        self.events: list = []
        self.start_ns = _now()
        self.end_ns: int | None = None
        self.wall_offset_ns = time.time_ns() - self.start_ns  # perf counter -> epoch


def active() -> Session | None:
    """The session that records now, or None."""
    return _session


def start(record_shapes: bool = False) -> Session:
    """Begin recording in every thread; one session at a time."""
    global _session
    with _lock:
        if _session is not None:
            raise RuntimeError(
                "Profiler is already enabled: ember records one profile at a time (nested "
                "profilers are not supported)"
            )
        s = Session(record_shapes)
        _session = s
        engine._prof = _this_module()
        engine._profiling = True
        node.set_recorder(_this_module())
    return s


def stop(s: Session) -> Session:
    """End recording of ``s`` (the hooks go back to their one-check path)."""
    global _session
    with _lock:
        if _session is s:
            engine._profiling = False
            node.set_recorder(None)
            _session = None
        s.end_ns = _now()
    return s


def _this_module():
    return sys.modules[__name__]


def _tid() -> int:
    tid = getattr(_tls, "tid", None)
    if tid is None:
        tid = _tls.tid = threading.get_native_id()
        _thread_names[tid] = threading.current_thread().name
    return tid


def _shapes(inputs) -> list:
    out = []
    for a in inputs:
        shape = getattr(a, "shape", None)
        out.append(list(shape) if shape is not None and hasattr(a, "dtype") else [])
    return out


def emit(name: str, cat: str, t0: int, t1: int, inputs=None) -> None:
    """Append a finished event to the recording session (dropped when none records)."""
    s = _session
    if s is None:
        return
    shapes = _shapes(inputs) if (s.record_shapes and inputs is not None) else None
    s.events.append((name, cat, t0, t1, _tid(), shapes))


# --- hooks called from the autograd core ---------------------------------------------------


def enter(cls) -> bool:
    """True when a call of op ``cls`` should become an event: a session records and this thread
    is not already inside the same op's event (Op.apply reaching _apply_recording, say)."""
    return _session is not None and getattr(_tls, "op", None) is not cls


def run_op(cls, fn: Callable, args: tuple, inputs: tuple) -> Any:
    """Call ``fn(*args)`` (an op entry point) as the event "ember::<Op class name>"."""
    tls = _tls
    prev = getattr(tls, "op", None)
    tls.op = cls
    t0 = _now()
    try:
        return fn(*args)
    finally:
        t1 = _now()
        tls.op = prev
        emit(op_name(cls), "cpu_op", t0, t1, inputs)


@functools.cache
def op_name(cls) -> str:
    """The event name of a forward op: "ember::" and the Op class name (ember::Conv2d, ...)."""
    return "ember::" + getattr(cls, "_prof_name", cls.__name__)


def engine_node(prev, node):
    """Close the backward engine's event ``prev`` (if any) and open one for ``node``."""
    t = _now()
    if prev is not None:
        emit(prev[0], "cpu_op", prev[1], t)
    if node is None or _session is None:
        return None
    return ("autograd::engine::evaluate_function: " + node.name(), t)


# --- user ranges ---------------------------------------------------------------------------


class record_function(ContextDecorator):
    """A named range in the profile: a context manager, or a decorator for a function.

    As ``torch.autograd.profiler.record_function``: costs next to nothing when no profile
    records; ``args`` is kept for compatibility (shown in the chrome trace)."""

    def __init__(self, name: str, args: str | None = None) -> None:
        self.name = name
        self.args = args
        self._t0: int | None = None

    def __enter__(self) -> record_function:
        if _session is not None:
            self._t0 = _now()
        return self

    def __exit__(self, *exc: Any) -> bool:
        t0 = self._t0
        if t0 is not None:
            self._t0 = None
            emit(self.name, "user_annotation", t0, _now())
        return False

    def _recreate_cm(self) -> record_function:
        # a decorated function may recurse or run in several threads: a fresh range per call
        return record_function(self.name, self.args)


def range_call(name: str, fn: Callable, *args: Any, **kwargs: Any) -> Any:
    """``fn(*args, **kwargs)`` inside the range ``name`` (when a session records)."""
    if _session is None:
        return fn(*args, **kwargs)
    t0 = _now()
    try:
        return fn(*args, **kwargs)
    finally:
        emit(name, "user_annotation", t0, _now())


def profiled_method(fn: Callable, what: str) -> Callable:
    """``fn`` (an optimizer's step or zero_grad) recorded as the event
    "Optimizer.<what>#<Class>.<what>" while a profile records, as torch names it."""

    @functools.wraps(fn)
    def wrapper(self, *args: Any, **kwargs: Any) -> Any:
        # only the most derived override records (a subclass's step may call super().step())
        if _session is None or getattr(type(self), what) is not wrapper:
            return fn(self, *args, **kwargs)
        name = f"Optimizer.{what}#{type(self).__name__}.{what}"
        return range_call(name, fn, self, *args, **kwargs)

    wrapper._ember_profiled = True
    return wrapper
