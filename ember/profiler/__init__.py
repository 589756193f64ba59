"""ember.profiler: the commonly used part of ``torch.profiler`` on ember's own event recorder.

Events (CPU-side wall times, from every thread, each with its thread id):

- forward ops: "ember::<Op class name>" (ember::Conv2d, ember::Linear, ember::Add, ...), one per
  op call that goes through ember's autograd ``Op`` entry points (every op that records a
  graph, and ops run through ``Op.apply``); a few elementwise fast paths taken without
  autograd (``a + b`` on tensors that do not require grad) are not recorded one by one;
- backward: "autograd::engine::evaluate_function: <Node name>" per graph node, as torch;
- ``record_function`` ranges, "ProfilerStep#N" with a schedule, and
  "Optimizer.step#SGD.step" / "Optimizer.zero_grad#SGD.zero_grad".

``ProfilerActivity.CUDA`` is accepted, but no device kernels are traced: only host-side times.
Memory, stack, flops and module options are accepted and ignored. With no profile active, the
recording hooks cost one module-global check per op call and per backward node.
"""

from __future__ import annotations

import enum
import os
import socket
import time
import warnings
from collections.abc import Callable, Iterable
from typing import Any

from .. import cuda
from .._torch_alias import module_getattr as _module_getattr
from ..autograd import profiler as _legacy
from ..autograd.profiler import kineto_available, record_function
from ..autograd.profiler_util import EventList, FunctionEvent, FunctionEventAvg

__all__ = [
    "EventList",
    "FunctionEvent",
    "FunctionEventAvg",
    "ProfilerAction",
    "ProfilerActivity",
    "profile",
    "record_function",
    "schedule",
    "supported_activities",
    "kineto_available",
    "tensorboard_trace_handler",
]


class ProfilerActivity(enum.Enum):
    """Activity groups a profile may name (ember records host-side events for all of them)."""

    CPU = 0
    XPU = 1
    MTIA = 2
    CUDA = 3
    HPU = 4
    PrivateUse1 = 5


class ProfilerAction(enum.Enum):
    """What a schedule asks for at a step (as torch.profiler.ProfilerAction)."""

    NONE = 0
    WARMUP = 1
    RECORD = 2
    RECORD_AND_SAVE = 3


def supported_activities() -> set:
    """CPU, and CUDA when ember sees a GPU (its events are still host-side times)."""
    acts = {ProfilerActivity.CPU}
    try:
        if cuda.is_available():
            acts.add(ProfilerActivity.CUDA)
    except Exception:  # pragma: no cover - a broken CUDA set-up leaves CPU
        pass
    return acts


def schedule(
    *,
    wait: int,
    warmup: int,
    active: int,
    repeat: int = 0,
    skip_first: int = 0,
    skip_first_wait: int = 0,
) -> Callable[[int], ProfilerAction]:
    """A step -> ProfilerAction function: skip ``skip_first`` steps, then cycles of ``wait``
    idle, ``warmup`` and ``active`` recorded steps (the last one RECORD_AND_SAVE), ``repeat``
    times (0: without end). ``skip_first_wait`` drops the first cycle's wait. As torch."""
    if wait < 0 or warmup < 0 or active <= 0 or repeat < 0 or skip_first < 0:
        raise AssertionError(
            f"Invalid profiler schedule arguments. Got wait={wait} (need >= 0), "
            f"warmup={warmup} (need >= 0), active={active} (need > 0), repeat={repeat} "
            f"(need >= 0), skip_first={skip_first} (need >= 0)."
        )
    if warmup == 0:
        warnings.warn(
            "Profiler won't be using warmup, this can skew profiler results", stacklevel=2
        )
    cycle = wait + warmup + active

    def schedule_fn(step: int) -> ProfilerAction:
        if step < 0:
            raise AssertionError(f"Step must be non-negative. Got {step}.")
        if step < skip_first:
            return ProfilerAction.NONE
        k = step - skip_first + (wait if skip_first_wait else 0)
        if repeat > 0 and k >= repeat * cycle:
            return ProfilerAction.NONE
        pos = k % cycle
        if pos < wait:
            return ProfilerAction.NONE
        if pos < wait + warmup:
            return ProfilerAction.WARMUP
        return ProfilerAction.RECORD if pos < cycle - 1 else ProfilerAction.RECORD_AND_SAVE

    return schedule_fn


def _always_record(_: int) -> ProfilerAction:
    return ProfilerAction.RECORD


def tensorboard_trace_handler(
    dir_name: str,
    worker_name: str | None = None,
    use_gzip: bool = False,
    use_python_export: bool = False,
) -> Callable[[Any], None]:
    """An ``on_trace_ready`` handler writing each cycle's chrome trace to
    ``dir_name/<worker>.<time ns>.pt.trace.json`` (``.gz`` with ``use_gzip``); the worker
    name defaults to "<hostname>_<pid>"."""

    def handler_fn(prof: Any) -> None:
        nonlocal worker_name
        os.makedirs(dir_name, exist_ok=True)
        if not worker_name:
            worker_name = f"{socket.gethostname()}_{os.getpid()}"
        name = f"{worker_name}.{time.time_ns()}.pt.trace.json" + (".gz" if use_gzip else "")
        prof.export_chrome_trace(os.path.join(dir_name, name))

    return handler_fn


_N, _W, _R, _S = (
    ProfilerAction.NONE,
    ProfilerAction.WARMUP,
    ProfilerAction.RECORD,
    ProfilerAction.RECORD_AND_SAVE,
)
# (previous action, next action) -> what to do, by name: torch's state machine (None: the end)
_TRANSITIONS: dict = {
    (_N, _W): ("prepare",),
    (_N, _R): ("prepare", "start"),
    (_N, _S): ("prepare", "start"),
    (_W, _N): ("warn", "start", "stop"),
    (_W, _R): ("start",),
    (_W, _S): ("start",),
    (_R, _N): ("warn", "stop"),
    (_R, _W): ("warn", "stop"),
    (_S, _N): ("stop", "ready"),
    (_S, _W): ("stop", "ready", "prepare"),
    (_S, _R): ("stop", "ready", "prepare", "start"),
    (_S, _S): ("stop", "ready", "prepare", "start"),
    (_W, None): ("start", "stop"),
    (_R, None): ("stop", "ready"),
    (_S, None): ("stop", "ready"),
}


class profile:
    """Profile ember's host-side events (as ``torch.profiler.profile``).

    ``activities`` may name ProfilerActivity.CPU and .CUDA; only CPU-side times are recorded
    (CUDA work shows as the host time of its launches). ``schedule`` and ``on_trace_ready``
    follow torch's state machine: with a schedule, each ``step()`` moves to the next action
    and "ProfilerStep#N" ranges mark the steps; ``on_trace_ready(prof)`` runs at the end of
    each active cycle (and at exit while recording). Results: ``events()``,
    ``key_averages(group_by_input_shape=...)``, ``export_chrome_trace(path)``.
    """

    def __init__(
        self,
        *,
        activities: Iterable[Any] | None = None,
        schedule: Callable[[int], ProfilerAction] | None = None,
        on_trace_ready: Callable[..., Any] | None = None,
        record_shapes: bool = False,
        profile_memory: bool = False,
        with_stack: bool = False,
        with_flops: bool = False,
        with_modules: bool = False,
        experimental_config: Any = None,
        execution_trace_observer: Any = None,
        acc_events: bool = False,
        use_cuda: bool | None = None,
        custom_trace_id_callback: Callable[[], str] | None = None,
        post_processing_timeout_s: float | None = None,
    ) -> None:
        self.activities = set(activities) if activities is not None else supported_activities()
        if use_cuda:
            self.activities.add(ProfilerActivity.CUDA)
        self.record_shapes = record_shapes
        self.profile_memory = profile_memory
        self.with_stack = with_stack
        self.with_flops = with_flops
        self.with_modules = with_modules
        self.acc_events = acc_events
        self.record_steps = schedule is not None
        self.schedule = schedule if schedule is not None else _always_record
        self.on_trace_ready = on_trace_ready
        self.step_num = 0
        self.step_rec_fn: record_function | None = None
        self.current_action = self.schedule(self.step_num)
        self.profiler: _legacy.profile | None = None

    # --- the state machine ---------------------------------------------------------------

    def __enter__(self) -> profile:
        self.start()
        return self

    def __exit__(self, *exc: Any) -> bool:
        self.stop()
        return False

    def start(self) -> None:
        self._transit(_N, self.current_action)
        self._open_step()

    def stop(self) -> None:
        self._close_step()
        self._transit(self.current_action, None)

    def step(self) -> None:
        """Signal that the next step begins: apply the schedule's next action."""
        self._close_step()
        prev = self.current_action
        self.step_num += 1
        self.current_action = self.schedule(self.step_num)
        self._transit(prev, self.current_action)
        self._open_step()

    def _open_step(self) -> None:
        if self.record_steps:
            self.step_rec_fn = record_function(f"ProfilerStep#{self.step_num}")
            self.step_rec_fn.__enter__()

    def _close_step(self) -> None:
        if self.step_rec_fn is not None:
            self.step_rec_fn.__exit__(None, None, None)
            self.step_rec_fn = None

    def _transit(self, prev: ProfilerAction, cur: ProfilerAction | None) -> None:
        for what in _TRANSITIONS.get((prev, cur), ()):
            if what == "prepare":
                self.prepare_trace()
            elif what == "start":
                self.start_trace()
            elif what == "stop":
                self.stop_trace()
            elif what == "ready":
                if self.on_trace_ready:
                    self.on_trace_ready(self)
            else:
                msg = f"Incorrect schedule: {prev.name} followed by {cur.name}"
                warnings.warn(msg, stacklevel=3)

    def prepare_trace(self) -> None:
        if self.profiler is None or not self.acc_events:
            self.profiler = _legacy.profile(
                record_shapes=self.record_shapes,
                use_cuda=ProfilerActivity.CUDA in self.activities,
                acc_events=self.acc_events,
            )

    def start_trace(self) -> None:
        if self.profiler is None:
            self.prepare_trace()
        self.profiler._start()

    def stop_trace(self) -> None:
        if self.profiler is not None:
            self.profiler._stop()

    # --- results -------------------------------------------------------------------------

    def events(self) -> EventList:
        """The recorded FunctionEvents of the last cycle."""
        if self.profiler is None:
            raise RuntimeError("Profiler didn't finish running")
        return self.profiler.events()

    def key_averages(
        self,
        group_by_input_shape: bool = False,
        group_by_stack_n: int = 0,
        group_by_overload_name: bool = False,
    ) -> EventList:
        """Averages per event name (and input shapes with ``group_by_input_shape``)."""
        if self.profiler is None:
            raise RuntimeError("Profiler didn't finish running")
        return self.profiler.key_averages(
            group_by_input_shape, group_by_stack_n, group_by_overload_name
        )

    def export_chrome_trace(self, path: str, use_python_export: bool = False) -> None:
        """Write the Chrome trace event JSON (chrome://tracing, Perfetto) to ``path``."""
        if self.profiler is None:
            raise RuntimeError("Profiler didn't finish running")
        self.profiler.export_chrome_trace(path)

    def add_metadata(self, key: str, value: str) -> None:
        """Accepted for compatibility (ember's traces carry no user metadata)."""

    def add_metadata_json(self, key: str, value: str) -> None:
        """Accepted for compatibility (ember's traces carry no user metadata)."""

    def export_stacks(self, path: str, metric: str = "self_cpu_time_total") -> None:
        raise NotImplementedError("ember does not implement torch.profiler.profile.export_stacks")


__getattr__ = _module_getattr(__name__)  # unknown names: a clear not-implemented error
