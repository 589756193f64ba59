"""Per-call overhead of the core ops on small tensors, ember vs torch, each framework in its own
process (alternating, the best of ``--rounds`` counts): ``a + b``, a tiny backward, and the
views, joins, reductions and indexing that real programs build batches and heads from.

    python -m benchmarks.bench_core [--rounds 3] [--json PATH]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

if __name__ == "__main__" and sys.argv[1:3] == ["--child", "ember"]:
    # as a user's program gets it: ember loads before NumPy (and sets up its runtime)
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    import ember  # noqa: F401

try:
    from .harness import command_line, num, row, time_call, write_json
except ImportError:  # run as a script, or loaded from its path: the checkout's ember
    _here = os.path.dirname(os.path.abspath(__file__))
    sys.path[:0] = [_here, os.path.dirname(_here)]
    from harness import command_line, num, row, time_call, write_json

import numpy as np  # noqa: E402

# (key, README label, calls per timed run); the key names the case in _cases
CASES = [
    ("add", "`a + b`, 2x2 float32", 20000),
    ("matmul_backward", "`(x @ w).sum().backward()`, 2x4 @ 4x4", 3000),
    ("stack_batch", "`torch.stack([data[i:i+64] for i in ix])`, 32 rows (nanoGPT batch)", 300),
    ("slice_last", "`x[:, :-1]`, 12x65", 20000),
    ("heads", "`t.view(B, T, H, D).transpose(1, 2)`, 12x64x128 -> 12x4x64x32", 20000),
    ("slice", "`data[10:74]`, 1-d", 20000),
    ("int_index", "`m[3]`, 64x128", 20000),
    ("tensor_index", "`data[ix[0]]` (0-d tensor index)", 20000),
    ("cat", "`torch.cat([m, m])`, 64x128 float32", 5000),
    ("view", "`m.view(128, 64)`", 20000),
    ("transpose", "`m.transpose(0, 1)`", 20000),
    ("t", "`m.t()`", 20000),
    ("contiguous", "`m.t().contiguous()`, 64x128 float32", 5000),
    ("sum_dim", "`m.sum(1)`, 64x128 float32", 10000),
]


def _cases(torch) -> dict:
    """The callables of every case, on ``torch`` (ember or torch)."""
    rng = np.random.default_rng(0)
    an, bn = rng.standard_normal((2, 2), np.float32), rng.standard_normal((2, 2), np.float32)
    a, b = torch.from_numpy(an), torch.from_numpy(bn)
    xn, wn = rng.standard_normal((2, 4), np.float32), rng.standard_normal((4, 4), np.float32)
    x = torch.from_numpy(xn)
    w = torch.from_numpy(wn.copy()).requires_grad_()

    def matmul_backward():
        w.grad = None
        (x @ w).sum().backward()

    data = torch.from_numpy(rng.integers(0, 65, 100_000))
    ix = torch.from_numpy(rng.integers(0, 100_000 - 64, 32))
    xs = torch.from_numpy(rng.standard_normal((12, 65), np.float32))
    t = torch.from_numpy(rng.standard_normal((12, 64, 128), np.float32))
    m = torch.from_numpy(rng.standard_normal((64, 128), np.float32))
    B, T, H, D = 12, 64, 4, 32
    return {
        "add": lambda: a + b,
        "matmul_backward": matmul_backward,
        "stack_batch": lambda: torch.stack([data[i : i + 64] for i in ix]),
        "slice_last": lambda: xs[:, :-1],
        "heads": lambda: t.view(B, T, H, D).transpose(1, 2),
        "slice": lambda: data[10:74],
        "int_index": lambda: m[3],
        "tensor_index": lambda: data[ix[0]],
        "cat": lambda: torch.cat([m, m]),
        "view": lambda: m.view(128, 64),
        "transpose": lambda: m.transpose(0, 1),
        "t": lambda: m.t(),
        "contiguous": lambda: m.t().contiguous(),
        "sum_dim": lambda: m.sum(1),
    }


def _child(fw: str) -> dict:
    """Seconds per call of every case, for one framework alone in this process."""
    if fw == "ember":
        import ember as torch
    else:
        import torch

        torch.set_num_threads(1)
    fns = _cases(torch)
    return {key: time_call(fns[key], number) for key, _, number in CASES}


def _separate(rounds: int) -> dict:
    best = {fw: {} for fw in ("ember", "torch")}
    for _ in range(rounds):
        for fw in best:
            out = subprocess.run(
                [sys.executable, os.path.abspath(__file__), "--child", fw],
                capture_output=True,
                text=True,
                check=True,
            )
            for k, v in json.loads(out.stdout.strip().splitlines()[-1]).items():
                best[fw][k] = min(best[fw].get(k, float("inf")), v)
    return best


def main(argv: list[str] | None = None) -> int:
    """Run every core benchmark and print the per-call times and ratios."""
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--child"]:
        print(json.dumps(_child(argv[1])))
        return 0
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--json", metavar="PATH", help="also write the README table rows here")
    args = ap.parse_args(argv)
    best = _separate(args.rounds)
    cmd = command_line("python -m benchmarks.bench_core", argv)
    rows, missed = [], []
    for key, label, _ in CASES:
        te, tt = best["ember"][key], best["torch"][key]
        ratio = te / tt
        print(f"{label}: ember {te * 1e6:.2f} us, torch {tt * 1e6:.2f} us, ratio {ratio:.2f}")
        rows.append(
            row(label, f"{num(te * 1e6)} us", f"{num(tt * 1e6)} us", f"{ratio:.2f} (time)", cmd)
        )
        limit = 0.7 if key == "matmul_backward" else 1.0
        if ratio > limit:
            missed.append(key)
    print(
        "targets (time ratio <= 1.0, matmul-sum-backward <= 0.7):",
        "met" if not missed else "NOT met: " + ", ".join(missed),
    )
    write_json(args.json, rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
