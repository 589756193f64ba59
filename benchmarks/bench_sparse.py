"""torch.sparse.mm of a 10k x 10k matrix with 1% non-zeros by a 10k x 64 dense matrix, forward
and backward (gradients to the values and to the dense operand), ember vs torch in one process
(python -m benchmarks.bench_sparse)."""

from __future__ import annotations

import argparse
import os
import sys
import time
import warnings

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


def _problem(n: int, k: int, density: float, seed: int = 0):
    rng = np.random.default_rng(seed)
    nnz = int(n * n * density)
    lin = np.unique(rng.integers(0, n * n, nnz))  # sorted and unique: a coalesced pattern
    idx = np.stack(np.unravel_index(lin, (n, n))).astype(np.int64)
    vals = rng.standard_normal(len(lin)).astype(np.float32)
    dense = rng.standard_normal((n, k)).astype(np.float32)
    return idx, vals, dense


def _step(m, idx, vals, dense, n):
    v = m.from_numpy(vals).requires_grad_()
    d = m.from_numpy(dense).requires_grad_()
    s = m.sparse_coo_tensor(m.from_numpy(idx), v, (n, n), is_coalesced=True)
    m.sparse.mm(s, d).sum().backward()
    return v.grad, d.grad


def _best(fn, repeat: int) -> float:
    fn()  # warm
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def main(argv: list[str] | None = None) -> int:
    """Time the forward + backward on both and print the ratio."""
    argv = sys.argv[1:] if argv is None else argv
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--n", type=int, default=10_000)
    ap.add_argument("--k", type=int, default=64)
    ap.add_argument("--density", type=float, default=0.01)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--json", metavar="PATH", help="also write the README table rows here")
    args = ap.parse_args(argv)
    warnings.filterwarnings("ignore", message="Sparse")
    idx, vals, dense = _problem(args.n, args.k, args.density)
    te = _best(lambda: _step(ember, idx, vals, dense, args.n), args.repeat)
    tt = float("nan")
    if torch is not None:
        ge, gt = _step(ember, idx, vals, dense, args.n), _step(torch, idx, vals, dense, args.n)
        for a, b in zip(ge, gt):  # the same numbers, or the timing means nothing
            np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-3, atol=1e-3)
        tt = _best(lambda: _step(torch, idx, vals, dense, args.n), args.repeat)
    name = f"sparse.mm {args.n}x{args.n} ({args.density:.0%} nnz) @ {args.n}x{args.k}, fwd+bwd"
    ratio = tt / te  # > 1: ember faster
    print(
        f"{name}: ember {te * 1e3:.1f} ms, torch {tt * 1e3:.1f} ms, "
        f"speed ember/torch {ratio:.2f}x (target >= 1.0x)"
    )
    cmd = command_line("python -m benchmarks.bench_sparse", argv)
    rows = [row(name, f"{num(te * 1e3)} ms", f"{num(tt * 1e3)} ms", f"{num(ratio)}x", cmd)]
    write_json(args.json, rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
