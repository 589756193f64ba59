"""Per-sample gradients with torch.func: vmap(grad(loss through functional_call)) over a batch
of 64 for a 784-128-10 MLP, ember vs torch.func in one process (python -m benchmarks.bench_func).
"""

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
    import torch.func
except ImportError:  # pragma: no cover
    torch = None


def _problem(batch: int, sizes: tuple[int, ...], seed: int = 0):
    rng = np.random.default_rng(seed)
    weights = []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
        bound = 1.0 / np.sqrt(fan_in)
        w = rng.uniform(-bound, bound, (fan_out, fan_in)).astype(np.float32)
        b = rng.uniform(-bound, bound, fan_out).astype(np.float32)
        weights.append((w, b))
    x = rng.standard_normal((batch, sizes[0])).astype(np.float32)
    y = rng.integers(0, sizes[-1], batch)
    return weights, x, y


def _per_sample_grads(m, weights, x, y):
    """The torch.func tutorial's per-sample gradients, written once for either framework."""
    layers = []
    for w, _ in weights:
        layers += [m.nn.Linear(w.shape[1], w.shape[0]), m.nn.ReLU()]
    model = m.nn.Sequential(*layers[:-1])
    params = {}
    for i, (w, b) in enumerate(weights):
        params[f"{2 * i}.weight"] = m.from_numpy(w)
        params[f"{2 * i}.bias"] = m.from_numpy(b)
    xs, ys = m.from_numpy(x), m.from_numpy(y)

    def loss(p, sample, target):
        out = m.func.functional_call(model, p, (sample.unsqueeze(0),))
        return m.nn.functional.cross_entropy(out, target.unsqueeze(0))

    f = m.func.vmap(m.func.grad(loss), in_dims=(None, 0, 0))
    return lambda: f(params, xs, ys)


def _best(fn, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def main(argv: list[str] | None = None) -> int:
    """Time both frameworks in alternating rounds and print the ratio."""
    argv = sys.argv[1:] if argv is None else argv
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--sizes", default="784,128,10")
    ap.add_argument("--repeat", type=int, default=20)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--threads", type=int, default=0, help="pin both to N threads (0: default)")
    ap.add_argument("--json", metavar="PATH", help="also write the README table rows here")
    args = ap.parse_args(argv)
    sizes = tuple(int(s) for s in args.sizes.split(","))
    if args.threads > 0:
        ember.set_num_threads(args.threads)
        if torch is not None:
            torch.set_num_threads(args.threads)
    weights, x, y = _problem(args.batch, sizes)
    run_e = _per_sample_grads(ember, weights, x, y)
    run_t = _per_sample_grads(torch, weights, x, y) if torch is not None else None
    ge = run_e()
    if run_t is not None:
        gt = run_t()
        for k in gt:  # the same numbers, or the timing means nothing
            np.testing.assert_allclose(ge[k].numpy(), gt[k].numpy(), rtol=1e-4, atol=1e-5)
    te = tt = float("inf")
    for _ in range(args.rounds):  # alternating rounds even out bursts of load
        te = min(te, _best(run_e, args.repeat))
        if run_t is not None:
            tt = min(tt, _best(run_t, args.repeat))
    if run_t is None:
        tt = float("nan")
    ratio = tt / te  # > 1: ember faster
    name = f"vmap(grad) per-sample gradients, MLP {'-'.join(map(str, sizes))}, batch {args.batch}"
    print(
        f"{name}: ember {te * 1e3:.2f} ms, torch.func {tt * 1e3:.2f} ms, "
        f"speed ember/torch {ratio:.2f}x (target >= 1.0x)"
    )
    cmd = command_line("python -m benchmarks.bench_func", argv)
    rows = [row(name, f"{num(te * 1e3)} ms", f"{num(tt * 1e3)} ms", f"{num(ratio)}x", cmd)]
    write_json(args.json, rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
