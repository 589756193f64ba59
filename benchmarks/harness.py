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
