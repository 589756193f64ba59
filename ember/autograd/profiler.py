"""ember.autograd.profiler: the profiler (as ``torch.autograd.profiler``); ``ember.profiler``
adds torch.profiler's schedules and trace handlers on top of this ``profile``.

``profile`` records (with the recorder in ``_profiler_recorder``) ember ops as
"ember::<Op class>", backward nodes as "autograd::engine::evaluate_function: <Node>",
``record_function`` ranges and optimizer steps.
Only CPU-side times are measured; ``use_cuda``/``use_device`` are accepted and add no device
events. ``emit_nvtx`` and ``emit_itt`` are accepted as no-op context managers.
"""

from __future__ import annotations

from typing import Any

from . import _profiler_recorder as _recorder
from ._profiler_recorder import record_function
from .profiler_util import EventList, FunctionEvent, FunctionEventAvg, build_events

__all__ = [
    "EventList",
    "FunctionEvent",
    "FunctionEventAvg",
    "emit_itt",
    "emit_nvtx",
    "kineto_available",
    "profile",
    "record_function",
]


def kineto_available() -> bool:
    """False: ember's profiler is its own recorder, not Kineto."""
    return False


class profile:
    """Record ember's CPU events while the context is open (as torch.autograd.profiler.profile).

    ``enabled=False`` makes it do nothing. ``record_shapes`` keeps the input shapes of ops for
    ``key_averages(group_by_input_shape=True)``. Memory, flops, stack and module options are
    accepted and ignored. Results: ``function_events``, ``key_averages()``, ``table()``,
    ``total_average()``, ``self_cpu_time_total`` and ``export_chrome_trace(path)``.
    """

    def __init__(
        self,
        enabled: bool = True,
        *,
        use_cuda: bool = False,
        use_device: str | None = None,
        record_shapes: bool = False,
        with_flops: bool = False,
        profile_memory: bool = False,
        with_stack: bool = False,
        with_modules: bool = False,
        use_kineto: bool = False,
        use_cpu: bool = True,
        experimental_config: Any = None,
        acc_events: bool = False,
        custom_trace_id_callback: Any = None,
        post_processing_timeout_s: float | None = None,
        activity_filters: Any = None,
    ) -> None:
        self.enabled = enabled
        self.use_cuda = use_cuda
        self.use_device = "cuda" if use_cuda and use_device is None else use_device
        self.use_cpu = use_cpu
        self.record_shapes = record_shapes
        self.with_flops = with_flops
        self.profile_memory = profile_memory
        self.with_stack = with_stack
        self.with_modules = with_modules
        self.use_kineto = use_kineto
        self.acc_events = acc_events
        self.entered = False
        self._session: _recorder.Session | None = None
        self._function_events: EventList | None = None
        self._old_events: list = []  # with acc_events: earlier sessions' raw events

    def __enter__(self) -> profile:
        if not self.enabled:
            return self
        if self.entered:
            raise RuntimeError("Profiler context manager is not reentrant")
        self.entered = True
        self._start()
        return self

    def _start(self) -> None:
        if self._session is not None and self.acc_events:
            self._old_events += self._session.events
        self._function_events = None
        self._session = _recorder.start(self.record_shapes)

    def _stop(self) -> None:
        if self._session is not None:
            _recorder.stop(self._session)

    def __exit__(self, *exc: Any) -> bool:
        if not self.enabled:
            return False
        self._stop()
        self.entered = False
        return False

    def _check_finished(self) -> None:
        if self._session is None or self._session.end_ns is None:
            raise RuntimeError("Profiler didn't finish running")

    @property
    def function_events(self) -> EventList | None:
        if self._session is None or self._session.end_ns is None:
            return None
        if self._function_events is None:
            s = self._session
            self._function_events = EventList(
                build_events(self._old_events + s.events, self.record_shapes),
                trace_info={
                    "wall_offset_ns": s.wall_offset_ns,
                    "thread_names": dict(_recorder._thread_names),
                },
            )
        return self._function_events

    def events(self) -> EventList:
        """All recorded events (FunctionEvent) in start order."""
        self._check_finished()
        return self.function_events

    def key_averages(
        self,
        group_by_input_shape: bool = False,
        group_by_stack_n: int = 0,
        group_by_overload_name: bool = False,
    ) -> EventList:
        """Events averaged per name (and input shapes with ``group_by_input_shape``)."""
        self._check_finished()
        return self.function_events.key_averages(
            group_by_input_shape, group_by_stack_n, group_by_overload_name
        )

    def table(self, sort_by: str | None = None, row_limit: int = 100, **kwargs: Any) -> str:
        """The per-event table (see EventList.table); key_averages().table() groups by name."""
        self._check_finished()
        return self.function_events.table(sort_by=sort_by, row_limit=row_limit, **kwargs)

    def total_average(self) -> FunctionEventAvg:
        self._check_finished()
        return self.function_events.total_average()

    @property
    def self_cpu_time_total(self) -> float:
        """The sum of every event's self time, in us (the root ranges' total)."""
        self._check_finished()
        return self.function_events.self_cpu_time_total

    def export_chrome_trace(self, path: str) -> None:
        """Write the Chrome trace event JSON of the recorded events to ``path``."""
        self._check_finished()
        self.function_events.export_chrome_trace(path)

    def __str__(self) -> str:
        self._check_finished()
        return str(self.function_events)


class emit_nvtx:
    """Accepted for compatibility: ember emits no NVTX ranges (a no-op context manager)."""

    def __init__(self, enabled: bool = True, record_shapes: bool = False) -> None:
        self.enabled = enabled
        self.record_shapes = record_shapes

    def __enter__(self) -> emit_nvtx:
        return self

    def __exit__(self, *exc: Any) -> bool:
        return False


class emit_itt(emit_nvtx):
    """Accepted for compatibility: ember emits no ITT ranges (a no-op context manager)."""
