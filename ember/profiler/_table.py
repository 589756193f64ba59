"""The text table of profile results, laid out as torch's ``EventList.table``."""

from __future__ import annotations

from ._events import format_time, format_time_share

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
