"""Per-op overhead of the core, ember vs torch in one process (python -m benchmarks.bench_core)."""

from __future__ import annotations

import argparse
import os
import sys

try:
    from .harness import command_line, compare, num, row, write_json
except ImportError:  # run as a script, or loaded from its path: the checkout's ember
    _here = os.path.dirname(os.path.abspath(__file__))
    sys.path[:0] = [_here, os.path.dirname(_here)]
    from harness import command_line, compare, num, row, write_json

import numpy as np  # noqa: E402

import ember  # noqa: E402  (after the path set-up above)

try:
    import torch

    torch.set_num_threads(1)
except ImportError:  # pragma: no cover
    torch = None


def bench_add() -> dict:
    """``a + b`` on 2x2 float32 tensors."""
    rng = np.random.default_rng(0)
    an, bn = rng.standard_normal((2, 2), np.float32), rng.standard_normal((2, 2), np.float32)
    a, b = ember.from_numpy(an), ember.from_numpy(bn)
    tf = None
    if torch is not None:
        ta, tb = torch.from_numpy(an), torch.from_numpy(bn)

        def tf():
            return ta + tb

    return compare("add 2x2 float32", lambda: a + b, tf, number=20000)


def bench_matmul_backward() -> dict:
    """``(x @ w).sum().backward()`` with x 2x4 and w 4x4 requiring grad (``w.grad = None``)."""
    rng = np.random.default_rng(0)
    xn, wn = rng.standard_normal((2, 4), np.float32), rng.standard_normal((4, 4), np.float32)
    x = ember.from_numpy(xn)
    w = ember.from_numpy(wn.copy()).requires_grad_()

    def ef():
        w.grad = None
        (x @ w).sum().backward()

    tf = None
    if torch is not None:
        tx = torch.from_numpy(xn)
        tw = torch.from_numpy(wn.copy()).requires_grad_()

        def tf():
            tw.grad = None
            (tx @ tw).sum().backward()

    return compare("(x@w).sum().backward() 2x4@4x4", ef, tf, number=3000)


def readme_rows(results: list[dict], command: str) -> list[dict]:
    """The README table's rows for the results of ``bench_add`` and ``bench_matmul_backward``."""
    labels = ("`a + b`, 2x2 float32", "`(x @ w).sum().backward()`, 2x4 @ 4x4")
    return [
        row(
            label,
            f"{num(r['ember_s'] * 1e6)} us",
            f"{num(r['torch_s'] * 1e6)} us",
            f"{r['ratio']:.2f} (time)",
            command,
        )
        for label, r in zip(labels, results)
    ]


def main(argv: list[str] | None = None) -> int:
    """Run every core benchmark and print the ratios."""
    argv = sys.argv[1:] if argv is None else argv
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--json", metavar="PATH", help="also write the README table rows here")
    args = ap.parse_args(argv)
    results = [bench_add(), bench_matmul_backward()]
    ok = results[0]["ratio"] <= 1.0 and results[1]["ratio"] <= 0.7
    print("targets (add <= 1.0, matmul-sum-backward <= 0.7):", "met" if ok else "NOT met")
    cmd = command_line("python -m benchmarks.bench_core", argv)
    write_json(args.json, readme_rows(results, cmd))
    return 0


if __name__ == "__main__":
    sys.exit(main())
