"""Normal.rsample + Normal.log_prob on 1M float32 samples (the forward, and the forward with the
backward to loc and scale), ember vs torch in one process
(python -m benchmarks.bench_distributions)."""

from __future__ import annotations

import argparse
import os
import sys

try:
    from .harness import best_alternating, command_line, num, row, write_json
except ImportError:  # run as a script, or loaded from its path: the checkout's ember
    _here = os.path.dirname(os.path.abspath(__file__))
    sys.path[:0] = [_here, os.path.dirname(_here)]
    from harness import best_alternating, command_line, num, row, write_json

import numpy as np  # noqa: E402

import ember  # noqa: E402  (after the path set-up above)

try:
    import torch
except ImportError:  # pragma: no cover
    torch = None


def _params(m, n: int, grad: bool):
    rng = np.random.default_rng(0)
    loc = m.from_numpy(rng.standard_normal(n).astype(np.float32))
    scale = m.from_numpy(rng.uniform(0.5, 2.0, n).astype(np.float32))
    if grad:
        loc.requires_grad_()
        scale.requires_grad_()
    return loc, scale


def _forward(m, loc, scale):
    d = m.distributions.Normal(loc, scale)
    x = d.rsample()
    return d.log_prob(x)


def _backward(m, loc, scale):
    loc.grad = scale.grad = None
    _forward(m, loc, scale).sum().backward()
    return loc.grad, scale.grad


def _check(n: int) -> None:
    """The same numbers on both for the same standard-normal draws, or the timing means
    nothing: log_prob of loc + eps * scale is -eps^2/2 - log(scale) - log(sqrt(2 pi))."""
    for m in (ember, torch):
        loc, scale = _params(m, n, grad=True)
        lp = _forward(m, loc, scale)
        lp.sum().backward()
        s = scale.detach().numpy().astype(np.float64)
        # d/dscale of -eps^2/2 - log(scale) with eps fixed is -1/scale; d/dloc is 0
        np.testing.assert_allclose(scale.grad.numpy(), -1.0 / s, rtol=1e-4)
        np.testing.assert_allclose(loc.grad.numpy(), 0.0, atol=1e-4)
        assert lp.shape == (n,)


def main(argv: list[str] | None = None) -> int:
    """Time both workloads on both libraries and print the ratios."""
    argv = sys.argv[1:] if argv is None else argv
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=15)
    ap.add_argument("--json", metavar="PATH", help="also write the README table rows here")
    args = ap.parse_args(argv)
    if torch is not None:
        _check(min(args.n, 10_000))
    cmd = command_line("python -m benchmarks.bench_distributions", argv)
    rows = []
    for label, fn, grad in (
        ("rsample + log_prob", _forward, False),
        ("rsample + log_prob, fwd+bwd", _backward, True),
    ):
        pe = _params(ember, args.n, grad)
        pt = _params(torch, args.n, grad) if torch is not None else None
        te, tt = best_alternating(
            lambda fn=fn, pe=pe: fn(ember, *pe),
            None if pt is None else (lambda fn=fn, pt=pt: fn(torch, *pt)),
            args.repeat,
        )
        name = f"distributions.Normal {label}, {args.n:,} float32 samples"
        ratio = te / tt  # < 1.5: the target
        print(
            f"{name}: ember {te * 1e3:.1f} ms, torch {tt * 1e3:.1f} ms, "
            f"ratio ember/torch {ratio:.2f} (target <= 1.5)"
        )
        rows.append(row(name, f"{num(te * 1e3)} ms", f"{num(tt * 1e3)} ms", f"{num(ratio)}x", cmd))
    write_json(args.json, rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
