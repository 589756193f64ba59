"""torch.linalg.solve / svd / eigh on one 256x256 matrix and on a batch of 64 32x32 matrices,
ember vs torch in one process (python -m benchmarks.bench_linalg); float32, forward only by
default (--backward adds the gradient)."""

from __future__ import annotations

import argparse
import os
import sys
import time
from functools import partial

try:
    from .harness import command_line, num, row, write_json
except ImportError:  # run as a script, or loaded from its path: the checkout's ember
    _here = os.path.dirname(os.path.abspath(__file__))
    sys.path[:0] = [_here, os.path.dirname(_here)]
    from harness import command_line, num, row, write_json

import numpy as np  # noqa: E402

import ember  # noqa: E402  (after the path set-up above)
from ember.ops import linalg_lapack  # noqa: E402

try:
    import torch
except ImportError:  # pragma: no cover
    torch = None


def _inputs(shape, seed: int = 0):
    rng = np.random.default_rng(seed)
    a = rng.standard_normal(shape).astype(np.float32)
    n = shape[-1]
    spd = a @ np.swapaxes(a, -1, -2) + n * np.eye(n, dtype=np.float32)
    b = rng.standard_normal(shape[:-1] + (1,)).astype(np.float32)
    return a + n**0.5 * np.eye(n, dtype=np.float32), spd.astype(np.float32), b


def _solve(m, a, spd, b):
    return m.linalg.solve(a, b)


def _svd(m, a, spd, b):
    return m.linalg.svd(a, full_matrices=False)[1]


def _eigh(m, a, spd, b):
    return m.linalg.eigh(spd)[0]


OPS = {"solve": _solve, "svd": _svd, "eigh": _eigh}


def _run(m, fn, arrays, backward: bool):
    a, spd, b = (m.from_numpy(x.copy()) for x in arrays)
    if backward:
        a.requires_grad_()
        spd.requires_grad_()
        fn(m, a, spd, b).sum().backward()
        return
    fn(m, a, spd, b)


def _best(fn, repeat: int, number: int, clock=time.perf_counter) -> float:
    fn()  # warm
    best = float("inf")
    for _ in range(repeat):
        t0 = clock()
        for _ in range(number):
            fn()
        best = min(best, (clock() - t0) / number)
    return best


def main(argv: list[str] | None = None) -> int:
    """Time each op on both and print the time ratios (< 1: ember faster)."""
    argv = sys.argv[1:] if argv is None else argv
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--number", type=int, default=5)
    ap.add_argument("--backward", action="store_true")
    ap.add_argument("--threads", type=int, default=0, help="cap both libraries' threads (0: as is)")
    ap.add_argument(
        "--cpu-time",
        action="store_true",
        help="time with the process's CPU clock (steadier on a loaded machine; use --threads 1)",
    )
    ap.add_argument("--json", metavar="PATH", help="also write the README table rows here")
    args = ap.parse_args(argv)
    cmd = command_line("python -m benchmarks.bench_linalg", argv)
    if args.threads > 0:
        ember.set_num_threads(args.threads)
        if torch is not None:
            torch.set_num_threads(args.threads)
    clock = time.process_time if args.cpu_time else time.perf_counter
    rows = []
    for shape in ((256, 256), (64, 32, 32)):
        arrays = _inputs(shape)
        for name, fn in OPS.items():
            if torch is not None:  # the same numbers, or the timing means nothing
                e = fn(ember, *(ember.from_numpy(x.copy()) for x in arrays)).numpy()
                t = fn(torch, *(torch.from_numpy(x.copy()) for x in arrays)).numpy()
                np.testing.assert_allclose(e, t, rtol=2e-3, atol=2e-3)
            te = _best(
                partial(_run, ember, fn, arrays, args.backward), args.repeat, args.number, clock
            )
            tt = float("nan")
            if torch is not None:
                tt = _best(
                    partial(_run, torch, fn, arrays, args.backward), args.repeat, args.number
                )
            label = "x".join(map(str, shape))
            work = f"linalg.{name} {label} float32{', fwd+bwd' if args.backward else ''}"
            ratio = te / tt  # time ratio, as the README's other ms rows: < 1: ember faster
            print(
                f"{work}: ember {te * 1e3:.2f} ms, torch {tt * 1e3:.2f} ms, "
                f"time ember/torch {ratio:.2f}x (target <= 1.5x)"
            )
            rows.append(
                row(
                    work,
                    f"{num(te * 1e3)} ms",
                    f"{num(tt * 1e3)} ms",
                    f"{num(ratio)}x",
                    cmd,
                    lapack=linalg_lapack.path(),
                )
            )
    # the precision ember's float32 ops ran LAPACK in: 'single' (its float32 loops, as torch)
    print(f"ember's float32 LAPACK: {linalg_lapack.path()} precision")
    write_json(args.json, rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
