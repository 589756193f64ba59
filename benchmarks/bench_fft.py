"""torch.fft: rfft and irfft of 2^20 float32 points and fft2 of a 512 x 512 complex64 array,
ember vs torch in one process (python -m benchmarks.bench_fft). Target: ember within 1.5x of
torch's time (time ember/torch <= 1.5x)."""

from __future__ import annotations

import argparse
import os
import sys
import time

try:
    from .harness import command_line, num, row, write_json
except ImportError:  # run as a script, or loaded from its path: the checkout's ember
    _here = os.path.dirname(os.path.abspath(__file__))
    sys.path[:0] = [_here, os.path.dirname(_here)]
    from harness import command_line, num, row, write_json

import numpy as np  # noqa: E402

import ember  # noqa: E402  (after the path set-up above)

try:
    import torch
except ImportError:  # pragma: no cover
    torch = None


def _best(fn, repeat: int) -> float:
    fn()  # warm
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def _workloads(n: int, side: int):
    rng = np.random.default_rng(0)
    sig = rng.standard_normal(n).astype(np.float32)
    spec = np.fft.rfft(sig).astype(np.complex64)
    img = (rng.standard_normal((side, side)) + 1j * rng.standard_normal((side, side))).astype(
        np.complex64
    )
    return [
        (f"fft.rfft of {n:,} float32 points", "rfft", sig),
        (f"fft.irfft to {n:,} float32 points", "irfft", spec),
        (f"fft.fft2 of {side}x{side} complex64", "fft2", img),
    ]


def main(argv: list[str] | None = None) -> int:
    """Time each transform on both libraries and print the ratios."""
    argv = sys.argv[1:] if argv is None else argv
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--log2n", type=int, default=20)
    ap.add_argument("--side", type=int, default=512)
    ap.add_argument("--repeat", type=int, default=20)
    ap.add_argument("--json", metavar="PATH", help="also write the README table rows here")
    args = ap.parse_args(argv)
    cmd = command_line("python -m benchmarks.bench_fft", argv)
    rows = []
    for name, fn, arr in _workloads(1 << args.log2n, args.side):
        ex = ember.from_numpy(arr)
        ef = getattr(ember.fft, fn)
        te = _best(lambda: ef(ex), args.repeat)  # noqa: B023  (called at once)
        tt = float("nan")
        if torch is not None:
            tx = torch.from_numpy(arr)
            e, t = getattr(ember.fft, fn)(ex), getattr(torch.fft, fn)(tx)
            # the same numbers, or the timing means nothing
            np.testing.assert_allclose(e.numpy(), t.numpy(), rtol=1e-3, atol=1e-2)
            tf = getattr(torch.fft, fn)
            tt = _best(lambda: tf(tx), args.repeat)  # noqa: B023  (called at once)
        ratio = te / tt  # time ratio, as the README's other ms rows: < 1: ember faster
        print(
            f"{name}: ember {te * 1e3:.2f} ms, torch {tt * 1e3:.2f} ms, "
            f"time ember/torch {ratio:.2f}x (target <= 1.5x)"
        )
        rows.append(row(name, f"{num(te * 1e3)} ms", f"{num(tt * 1e3)} ms", f"{num(ratio)}x", cmd))
    write_json(args.json, rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
