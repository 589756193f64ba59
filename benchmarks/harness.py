"""A tiny reusable timer: best-of-k medians of a callable, and ember/torch ratio lines."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable


def time_call(
    fn: Callable[[], object], number: int = 2000, repeat: int = 7, warmup: int = 200
) -> float:
    """Seconds per call of ``fn``: the median of ``repeat`` timed runs of ``number`` calls."""
    for _ in range(warmup):
        fn()
    clock = time.perf_counter
    runs = []
    for _ in range(repeat):
        t0 = clock()
        for _ in range(number):
            fn()
        runs.append((clock() - t0) / number)
    runs.sort()
    # the median of the faster half: robust to a noisy machine shared with other work
    return statistics.median(runs[: max(1, (len(runs) + 1) // 2)])


def compare(
    name: str,
    ember_fn: Callable[[], object],
    torch_fn: Callable[[], object] | None,
    number: int = 2000,
    repeat: int = 7,
    rounds: int = 3,
) -> dict:
    """Time both callables in alternating rounds (the best round of each counts, which evens
    out bursts of load on a shared machine), print one ratio line and return the numbers."""
    te = tt = float("inf")
    for r in range(rounds):
        warm = 200 if r == 0 else 10
        te = min(te, time_call(ember_fn, number, repeat, warmup=warm))
        if torch_fn is not None:
            tt = min(tt, time_call(torch_fn, number, repeat, warmup=warm))
    if torch_fn is None:
        tt = float("nan")
    ratio = te / tt if tt == tt and tt > 0 else float("nan")
    print(
        f"{name}: ember {te * 1e6:.2f} us, torch {tt * 1e6:.2f} us, ratio ember/torch {ratio:.2f}"
    )
    return {"name": name, "ember_s": te, "torch_s": tt, "ratio": ratio}


def best_alternating(
    ember_fn: Callable[[], object],
    torch_fn: Callable[[], object] | None,
    repeat: int = 15,
    pause: float = 0.01,
) -> tuple[float, float]:
    """(ember's, torch's) best seconds per call of single calls taken in turn, with a short
    pause after each (so neither runtime's spinning worker threads eat into the other's call).

    Why: on a shared machine the speed changes by 2x within a minute; all of one framework's
    calls and then all of the other's put the two in different phases (the same code measured
    1.0x and 2.2x minutes apart), while calls in turn share each phase."""
    te = tt = float("inf")
    ember_fn()
    if torch_fn is not None:
        torch_fn()
    for _ in range(repeat):
        for i, fn in enumerate((ember_fn, torch_fn)):
            if fn is None:
                continue
            time.sleep(pause)
            t0 = time.perf_counter()
            fn()
            dt = time.perf_counter() - t0
            if i == 0:
                te = min(te, dt)
            else:
                tt = min(tt, dt)
    return te, (tt if torch_fn is not None else float("nan"))


# --- rows for the README's benchmark table (benchmarks/readme_table.py collects them) ---


def num(x: float) -> str:
    """About three significant figures, at most two decimals, thousands separated:
    0.70, 1.24, 16.1, 146, 1,261."""
    if x != x or x in (float("inf"), float("-inf")):
        return "n/a"
    ax = abs(x)
    decimals = 2 if ax < 10 else 1 if ax < 100 else 0
    return f"{x:,.{decimals}f}"


def rate(x: float) -> str:
    """A throughput as a whole number with thousands separated: 449,312."""
    return "n/a" if x != x else f"{x:,.0f}"


def times_x(x: float) -> str:
    """A speed ratio: 3.51x below 10, 14x from 10 on."""
    if x != x:
        return "n/a"
    return f"{x:.0f}x" if x >= 10 else f"{x:.2f}x"


def row(workload: str, ember: str, torch: str, ratio: str, command: str, **extra) -> dict:
    """One row of the README table (extra keys, such as ``key``, ride along)."""
    return {
        "workload": workload,
        "ember": ember,
        "torch": torch,
        "ratio": ratio,
        "command": command,
        **extra,
    }


def command_line(base: str, argv: list[str]) -> str:
    """``base`` followed by the options in ``argv`` other than ``--json PATH``: the command
    that produced a row, as it is quoted in the README."""
    parts, skip = [], False
    for arg in argv:
        if skip:
            skip = False
        elif arg == "--json":
            skip = True
        elif not arg.startswith("--json="):
            parts.append(arg)
    return " ".join([base, *parts])


def write_json(path: str | None, rows: list[dict]) -> None:
    """Write ``rows`` as a JSON list to ``path`` (nothing when ``path`` is None)."""
    if not path:
        return
    import json

    with open(path, "w", encoding="utf-8") as f:
        json.dump(rows, f, indent=1)
        f.write("\n")
