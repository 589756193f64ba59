"""Per-op overhead of the core, ember vs torch in one process (python -m benchmarks.bench_core)."""

from __future__ import annotations

import sys

import numpy as np

import ember

try:
    from .harness import compare
except ImportError:  # run as a script
    from harness import compare

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


def main() -> int:
    """Run every core benchmark and print the ratios."""
    results = [bench_add(), bench_matmul_backward()]
    ok = results[0]["ratio"] <= 1.0 and results[1]["ratio"] <= 0.7
    print("targets (add <= 1.0, matmul-sum-backward <= 0.7):", "met" if ok else "NOT met")
    return 0


if __name__ == "__main__":
    sys.exit(main())
