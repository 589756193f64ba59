"""Profile results: FunctionEvent, FunctionEventAvg and EventList (tables, averages, traces),
as ``torch.autograd.profiler_util``.

Times are microseconds as floats, as torch's. Self time is an
event's time less that of the events directly nested in it on the same thread.
"""

from __future__ import annotations

import gzip
import json
import os
from typing import Any

__all__ = ["EventList", "FunctionEvent", "FunctionEventAvg", "Interval", "format_time"]


def format_time(time_us: float) -> str:
    """Microseconds as torch prints them: '12.345us', '1.234ms' or '1.234s'."""
    if time_us >= 1e6:
        return f"{time_us / 1e6:.3f}s"
    if time_us >= 1e3:
        return f"{time_us / 1e3:.3f}ms"
    return f"{time_us:.3f}us"


def format_time_share(time_us: float, total_us: float) -> str:
    """A share of ``total_us`` as a percentage with two decimals (NaN for an empty total)."""
    if total_us == 0:
        return "NaN"
    return f"{time_us * 100.0 / total_us:.2f}%"


class Interval:
    """An event's start and end in microseconds."""

    def __init__(self, start: float, end: float) -> None:
        self.start = start
        self.end = end

    def elapsed_us(self) -> float:
        return self.end - self.start

    def __repr__(self) -> str:
        return f"Interval(start={self.start:.3f}, end={self.end:.3f})"


class _TimeStrings:
    @property
    def cpu_time_str(self) -> str:
        return format_time(self.cpu_time)

    @property
    def cpu_time_total_str(self) -> str:
        return format_time(self.cpu_time_total)

    @property
    def self_cpu_time_total_str(self) -> str:
        return format_time(self.self_cpu_time_total)

    @property
    def device_time_str(self) -> str:
        return format_time(0.0)

    device_time_total_str = device_time_str
    self_device_time_total_str = device_time_str


class FunctionEvent(_TimeStrings):
    """One recorded range: an ember op ("ember::<Op>"), a backward node
    ("autograd::engine::evaluate_function: <Node>"), a record_function range or an optimizer
    step. CPU-side only: device times and memory are 0."""

    count = 1
    node_id = -1
    is_async = False
    is_remote = False
    is_legacy = False
    use_device = None
    device_type = "CPU"
    device_index = 0
    device_time_total = self_device_time_total = 0.0
    cuda_time_total = self_cuda_time_total = 0.0
    cpu_memory_usage = self_cpu_memory_usage = 0
    device_memory_usage = self_device_memory_usage = 0
    sequence_nr = -1
    scope = 0
    flops = 0
    overload_name = ""

    def __init__(
        self,
        id: int,
        name: str,
        thread: int,
        start_us: float,
        end_us: float,
        input_shapes: list | None = None,
        cat: str = "cpu_op",
    ) -> None:
        self.id = id
        self.name = name
        self.thread = thread
        self.time_range = Interval(start_us, end_us)
        self.input_shapes = input_shapes if input_shapes is not None else []
        self.cat = cat
        self.cpu_children: list[FunctionEvent] = []
        self.cpu_parent: FunctionEvent | None = None
        self.stack: list = []
        self.kernels: list = []

    @property
    def key(self) -> str:
        return self.name

    @property
    def trace_name(self) -> str:
        return self.name

    @property
    def is_user_annotation(self) -> bool:
        return self.cat == "user_annotation"

    @property
    def cpu_time_total(self) -> float:
        return self.time_range.elapsed_us()

    @property
    def self_cpu_time_total(self) -> float:
        return self.cpu_time_total - sum(c.cpu_time_total for c in self.cpu_children)

    @property
    def cpu_time(self) -> float:
        return self.cpu_time_total

    @property
    def device_time(self) -> float:
        return 0.0

    cuda_time = device_time

    def append_cpu_child(self, child: FunctionEvent) -> None:
        self.cpu_children.append(child)

    def set_cpu_parent(self, parent: FunctionEvent) -> None:
        self.cpu_parent = parent

    def __repr__(self) -> str:
        return (
            f"<FunctionEvent id={self.id} name={self.name} thread={self.thread} "
            f"cpu_time={self.cpu_time_str} start_us={self.time_range.start:.3f} "
            f"end_us={self.time_range.end:.3f} cpu_children={[c.id for c in self.cpu_children]} "
            f"input_shapes={self.input_shapes}>"
        )


class FunctionEventAvg(_TimeStrings):
    """The events of one key (name, and input shapes when grouped) summed: count, totals, avg."""

    node_id = 0
    is_async = False
    is_remote = False
    is_legacy = False
    use_device = None
    device_type = "CPU"
    device_time_total = self_device_time_total = 0.0
    cpu_memory_usage = self_cpu_memory_usage = 0
    device_memory_usage = self_device_memory_usage = 0
    scope = 0
    flops = 0
    overload_name = ""

    def __init__(self) -> None:
        self.key: str | None = None
        self.count = 0
        self.cpu_time_total = 0.0
        self.self_cpu_time_total = 0.0
        self.input_shapes: list | None = None
        self.stack: list | None = None
        self.cpu_children: list | None = None
        self.cpu_parent: FunctionEvent | None = None
        self.is_user_annotation = False

    def add(self, other) -> FunctionEventAvg:
        """Fold an event (or another average) into this one."""
        if self.key is None:
            self.key = other.key
            self.input_shapes = other.input_shapes
            self.cpu_children = other.cpu_children
            self.cpu_parent = other.cpu_parent
            self.is_user_annotation = other.is_user_annotation
            self.stack = other.stack
        elif other.key != self.key:
            raise AssertionError(f"cannot add {other.key!r} to the average of {self.key!r}")
        self.count += other.count
        self.cpu_time_total += other.cpu_time_total
        self.self_cpu_time_total += other.self_cpu_time_total
        return self

    def __iadd__(self, other) -> FunctionEventAvg:
        return self.add(other)

    @property
    def cpu_time(self) -> float:
        return 0.0 if self.count == 0 else self.cpu_time_total / self.count

    @property
    def device_time(self) -> float:
        return 0.0

    cuda_time = device_time

    def __repr__(self) -> str:
        return (
            f"<FunctionEventAvg key={self.key} self_cpu_time={self.self_cpu_time_total_str} "
            f"cpu_time={self.cpu_time_str} count={self.count} input_shapes={self.input_shapes}>"
        )


# --- the text table, laid out as torch's EventList.table ------------------------------------

_COL = 12  # width of each number column
_SEP = "  "


def _sort_value(e, sort_by: str) -> float:
    # torch's device columns ("cuda_time_total", ...) sort as "device_*": 0 for ember's events
    v = getattr(e, sort_by.replace("cuda", "device").replace("xpu", "device"), None)
    if v is None:
        raise AttributeError(f"cannot sort the profile by {sort_by!r}: events have no such field")
    return v


def build_table(
    events,
    sort_by: str | None = None,
    row_limit: int = 100,
    max_name_column_width: int = 55,
    max_shapes_column_width: int = 80,
    header: str | None = None,
    top_level_events_only: bool = False,
    time_unit: str | None = None,
) -> str:
    """The table for ``events`` (FunctionEvents or FunctionEventAvgs)."""
    rows = list(events)
    total = sum(e.self_cpu_time_total for e in rows)
    if sort_by is not None:
        rows.sort(key=lambda e: _sort_value(e, sort_by), reverse=True)
    all_rows = rows
    if top_level_events_only:
        rows = [e for e in rows if e.cpu_parent is None]
    if row_limit is not None and row_limit > 0:
        rows = rows[:row_limit]

    fmt_time = format_time
    if time_unit in ("s", "ms", "us"):
        div = {"s": 1e6, "ms": 1e3, "us": 1.0}[time_unit]

        def fmt_time(t: float) -> str:
            return f"{t / div:.3f}{time_unit}"

    has_shapes = any(e.input_shapes for e in all_rows)
    name_w = max([len(e.key) for e in all_rows] + [4]) + 4
    if max_name_column_width is not None:
        name_w = min(name_w, max_name_column_width)
    headers = [
        "Name",
        "Self CPU %",
        "Self CPU",
        "CPU total %",
        "CPU total",
        "CPU time avg",
        "# of Calls",
    ]
    widths = [name_w] + [_COL] * 6
    if has_shapes:
        shapes_w = max(len(str(e.input_shapes)) for e in all_rows) + 4
        if max_shapes_column_width is not None:
            shapes_w = min(shapes_w, max_shapes_column_width)
        headers.append("Input Shapes")
        widths.append(shapes_w)

    def line(cells: list[str]) -> str:
        return "".join(c.rjust(w) + _SEP for c, w in zip(cells, widths))

    rule = "".join("-" * w + _SEP for w in widths)
    out: list[str] = []
    if header is not None:
        out += ["=" * len(rule), header, "=" * len(rule)]
    if top_level_events_only:
        out.append("This report only display top-level ops statistics")
    out += [rule, line(headers), rule]
    for e in rows:
        name = e.key
        if max_name_column_width is not None and len(name) >= max_name_column_width - 3:
            name = name[: max_name_column_width - 3] + "..."
        cells = [
            name,
            format_time_share(e.self_cpu_time_total, total),
            fmt_time(e.self_cpu_time_total),
            format_time_share(e.cpu_time_total, total),
            fmt_time(e.cpu_time_total),
            fmt_time(e.cpu_time),
            str(e.count),
        ]
        if has_shapes:
            cells.append(str(e.input_shapes)[: widths[-1]])
        out.append(line(cells))
    out.append(rule)
    out.append(f"Self CPU time total: {fmt_time(total)}")
    return "\n".join(out) + "\n"


def build_events(raw: list, record_shapes: bool) -> list[FunctionEvent]:
    """FunctionEvents from the recorder's tuples, with parents and children set per thread."""
    evs = []
    for name, cat, t0, t1, tid, shapes in raw:
        evs.append((t0, -t1, tid, name, cat, shapes))
    evs.sort(key=lambda e: (e[0], e[1]))
    out: list[FunctionEvent] = []
    stacks: dict = {}
    for i, (t0, neg_t1, tid, name, cat, shapes) in enumerate(evs):
        t1 = -neg_t1
        fe = FunctionEvent(i, name, tid, t0 / 1e3, t1 / 1e3, shapes if record_shapes else None, cat)
        fe._ns = (t0, t1)
        stack = stacks.setdefault(tid, [])
        while stack and not (t0 >= stack[-1]._ns[0] and t1 <= stack[-1]._ns[1]):
            stack.pop()
        if stack:
            fe.cpu_parent = stack[-1]
            stack[-1].cpu_children.append(fe)
        stack.append(fe)
        out.append(fe)
    return out


class EventList(list):
    """A list of events (or of averages) with torch's ``table``, ``key_averages``,
    ``total_average`` and ``export_chrome_trace``."""

    def __init__(self, *args: Any, trace_info: dict | None = None, **kwargs: Any) -> None:
        super().__init__(*args)
        self._trace_info = trace_info or {}

    @property
    def self_cpu_time_total(self) -> float:
        return sum(e.self_cpu_time_total for e in self)

    def key_averages(
        self,
        group_by_input_shape: bool = False,
        group_by_stack_n: int = 0,
        group_by_overload_name: bool = False,
    ) -> EventList:
        """One FunctionEventAvg per name (and per input shapes with ``group_by_input_shape``),
        in order of first appearance."""
        groups: dict = {}
        for e in self:
            key = (e.key, str(e.input_shapes)) if group_by_input_shape else e.key
            avg = groups.get(key)
            if avg is None:
                avg = groups[key] = FunctionEventAvg()
            avg.add(e)
        res = EventList(groups.values(), trace_info=self._trace_info)
        if not group_by_input_shape:
            for avg in res:
                avg.input_shapes = None
        return res

    def total_average(self) -> FunctionEventAvg:
        """All events summed into one average with key "Total"."""
        tot = FunctionEventAvg()
        tot.key = "Total"
        for e in self:
            tot.count += e.count
            tot.cpu_time_total += e.cpu_time_total
            tot.self_cpu_time_total += e.self_cpu_time_total
        return tot

    def table(
        self,
        sort_by: str | None = None,
        row_limit: int = 100,
        max_src_column_width: int = 75,
        max_name_column_width: int = 55,
        max_shapes_column_width: int = 80,
        header: str | None = None,
        top_level_events_only: bool = False,
        time_unit: str | None = None,
    ) -> str:
        """The summary table torch prints: Name, Self CPU %, Self CPU, CPU total %, CPU total,
        CPU time avg, # of Calls (and Input Shapes when the events carry them). ``sort_by``
        takes an attribute name such as "self_cpu_time_total", "cpu_time_total", "cpu_time" or
        "count" (descending); device columns are left out: ember's events are CPU-side."""
        return build_table(
            self,
            sort_by=sort_by,
            row_limit=row_limit,
            max_name_column_width=max_name_column_width,
            max_shapes_column_width=max_shapes_column_width,
            header=header,
            top_level_events_only=top_level_events_only,
            time_unit=time_unit,
        )

    def __str__(self) -> str:
        return self.table()

    def export_chrome_trace(self, path: str) -> None:
        """Write the events as Chrome trace JSON ("ph": "X" events, ts/dur in us); a path
        ending in ".gz" is gzipped. Open in chrome://tracing or Perfetto."""
        info = self._trace_info
        offset_us = info.get("wall_offset_ns", 0) / 1e3
        pid = os.getpid()
        trace: list[dict] = []
        for e in self:
            if not isinstance(e, FunctionEvent):
                continue
            ev: dict[str, Any] = {
                "ph": "X",
                "cat": e.cat,
                "name": e.name,
                "pid": pid,
                "tid": e.thread,
                "ts": round(e.time_range.start + offset_us, 3),
                "dur": round(e.cpu_time_total, 3),
                "args": {"Ev Idx": e.id},
            }
            if e.input_shapes:
                ev["args"]["Input Dims"] = e.input_shapes
            trace.append(ev)
        names = info.get("thread_names", {})
        for tid in sorted({e["tid"] for e in trace}):
            trace.append(
                {
                    "ph": "M",
                    "name": "thread_name",
                    "pid": pid,
                    "tid": tid,
                    "args": {"name": names.get(tid, f"thread {tid}")},
                }
            )
        doc = {
            "schemaVersion": 1,
            "displayTimeUnit": "ms",
            "baseTimeNanoseconds": 0,
            "traceName": os.path.basename(path),
            "traceEvents": trace,
        }
        text = json.dumps(doc)
        if path.endswith(".gz"):
            with gzip.open(path, "wt", encoding="utf-8") as f:
                f.write(text)
        else:
            with open(path, "w", encoding="utf-8") as f:
                f.write(text)
