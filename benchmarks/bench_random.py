"""Random sampling on the CPU, ember vs torch in one process (python -m benchmarks.bench_random).

rand, randn, randperm and bernoulli_ over 10^7 elements (float32), each seeded the same in both
frameworks, so both compute the same numbers: ember draws torch's mt19937 stream through NumPy and
applies torch's transforms vectorised. Both run at their default thread counts: the draws are
sequential in both; torch's CPU samplers stay on one thread, while ember's randn draws block by
block in one thread as its other threads turn the blocks drawn into normals (independent rows of
16). ember's randn reads its correction table from its disk cache when an earlier process built
it, else builds it (0.5 s) within the first 20 million normals: the best-of timing is the table's.
"""

from __future__ import annotations

import argparse
import os
import sys

try:
    from .harness import command_line, num, row, time_call, times_x, write_json
except ImportError:  # run as a script, or loaded from its path: the checkout's ember
    _here = os.path.dirname(os.path.abspath(__file__))
    sys.path[:0] = [_here, os.path.dirname(_here)]
    from harness import command_line, num, row, time_call, times_x, write_json

import ember  # noqa: E402  (after the path set-up above)

try:
    import torch
except ImportError:  # pragma: no cover
    torch = None


def cases(n: int) -> list[tuple[str, object, object]]:
    """(name, ember callable, torch callable) for each sampler on ``n`` elements."""
    et = ember.empty(n)
    tt = torch.empty(n) if torch is not None else None
    t = torch
    return [
        (f"rand({n:.0e})", lambda: ember.rand(n), (lambda: t.rand(n)) if t else None),
        (f"randn({n:.0e})", lambda: ember.randn(n), (lambda: t.randn(n)) if t else None),
        (f"randperm({n:.0e})", lambda: ember.randperm(n), (lambda: t.randperm(n)) if t else None),
        (
            f"bernoulli_(0.5) on {n:.0e}",
            lambda: et.bernoulli_(0.5),
            (lambda: tt.bernoulli_(0.5)) if t else None,
        ),
    ]


def compare(name: str, fe, ft, repeat: int) -> dict:
    """Best of alternating rounds of ``repeat`` single calls each (one warm-up call: a call
    over 10^7 elements is long enough to time alone)."""
    te = tt = float("inf")
    for _ in range(2):
        te = min(te, time_call(fe, number=1, repeat=repeat, warmup=1))
        if ft is not None:
            tt = min(tt, time_call(ft, number=1, repeat=repeat, warmup=1))
    tt = tt if ft is not None else float("nan")
    ratio = te / tt if tt == tt and tt > 0 else float("nan")
    print(
        f"{name}: ember {te * 1e3:.1f} ms, torch {tt * 1e3:.1f} ms, ratio ember/torch {ratio:.2f}"
    )
    return {"name": name, "ember_s": te, "torch_s": tt, "ratio": ratio}


def main(argv: list[str] | None = None) -> int:
    """Time each sampler in both frameworks and print ember/torch ratios."""
    argv = sys.argv[1:] if argv is None else argv
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=10**7, help="elements per call")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--json", metavar="PATH", help="also write the README table rows here")
    args = ap.parse_args(argv)
    ember.manual_seed(0)
    if torch is not None:
        torch.manual_seed(0)
    results = [compare(name, fe, ft, args.repeat) for name, fe, ft in cases(args.n)]
    cmd = command_line("python -m benchmarks.bench_random", argv)
    rows = [
        row(
            f"`{r['name']}`, ms per call",
            num(r["ember_s"] * 1e3),
            num(r["torch_s"] * 1e3),
            times_x(r["ratio"]),
            cmd,
        )
        for r in results
    ]
    write_json(args.json, rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
