"""A tiny reusable timer: best-of-k medians of a callable, and ember/torch ratio lines."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable


def time_call(fn: Callable[[], object], number: int = 2000, repeat: int = 7,
              warmup: int = 200) -> float:
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


def compare(name: str, ember_fn: Callable[[], object], torch_fn: Callable[[], object] | None,
            number: int = 2000, repeat: int = 7) -> dict:
    """Time both callables (interleaved runs) and print one ratio line; return the numbers."""
    te = time_call(ember_fn, number, repeat)
    tt = time_call(torch_fn, number, repeat) if torch_fn is not None else float("nan")
    # a second pass of each, keeping the better: evens out drift on a busy machine
    te = min(te, time_call(ember_fn, number, repeat, warmup=10))
    if torch_fn is not None:
        tt = min(tt, time_call(torch_fn, number, repeat, warmup=10))
    ratio = te / tt if tt == tt and tt > 0 else float("nan")
    print(f"{name}: ember {te * 1e6:.2f} us, torch {tt * 1e6:.2f} us, "
          f"ratio ember/torch {ratio:.2f}")
    return {"name": name, "ember_s": te, "torch_s": tt, "ratio": ratio}
