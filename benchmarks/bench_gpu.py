"""GPU training throughput, ember (CuPy) vs torch (CUDA) in one process: the seed's MLP
(10-32-Sigmoid-1, MSE), a 784-256-128-10 ReLU MLP (cross-entropy) and the MNIST CNN of torch's
examples (conv 32/64, max-pool, dropout, two linears), batch 256, SGD with momentum.

    python -m benchmarks.bench_gpu [--steps 50] [--repeat 5] [--workload all|seed|mlp|cnn]
                                   [--json PATH]

Prints samples/s for each library and the time ratio ember/torch (below 1: ember is faster).
Runs only where a CUDA GPU is usable through CuPy; elsewhere it says so and exits with status 0.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

try:
    from .harness import command_line, rate, row, write_json
except ImportError:  # run as a script, or loaded from its path: the checkout's ember
    _here = os.path.dirname(os.path.abspath(__file__))
    sys.path[:0] = [_here, os.path.dirname(_here)]
    from harness import command_line, rate, row, write_json


def _seed_model(lib):
    nn = lib.nn
    return nn.Sequential(nn.Linear(10, 32), nn.Sigmoid(), nn.Linear(32, 1)), nn.MSELoss()


def _mlp(lib):
    nn = lib.nn
    model = nn.Sequential(
        nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 128), nn.ReLU(), nn.Linear(128, 10)
    )
    return model, nn.CrossEntropyLoss()


def _cnn(lib):
    nn, F = lib.nn, lib.nn.functional

    class Net(nn.Module):
        """The MNIST network of torch's examples (log_softmax + nll_loss)."""

        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(1, 32, 3, 1)
            self.conv2 = nn.Conv2d(32, 64, 3, 1)
            self.drop1 = nn.Dropout(0.25)
            self.drop2 = nn.Dropout(0.5)
            self.fc1 = nn.Linear(9216, 128)
            self.fc2 = nn.Linear(128, 10)

        def forward(self, x):
            x = F.relu(self.conv1(x))
            x = F.max_pool2d(F.relu(self.conv2(x)), 2)
            x = self.drop1(x).flatten(1)
            x = self.drop2(F.relu(self.fc1(x)))
            return F.log_softmax(self.fc2(x), dim=1)

    return Net(), nn.NLLLoss()


WORKLOADS = {
    "seed": (_seed_model, (10,), "regression"),
    "mlp": (_mlp, (784,), 10),
    "cnn": (_cnn, (1, 28, 28), 10),
}


def _data(shape, target, n: int):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((n,) + shape).astype(np.float32)
    if target == "regression":
        y = rng.standard_normal((n, 1)).astype(np.float32)
    else:
        y = rng.integers(0, target, n).astype(np.int64)
    return x, y


def _run(lib, sync, name: str, batch: int, steps: int, repeat: int) -> float:
    """Best seconds for ``steps`` training steps (data already on the GPU)."""
    make, shape, target = WORKLOADS[name]
    lib.manual_seed(0)
    model, crit = make(lib)
    model = model.to("cuda")
    opt = lib.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    xh, yh = _data(shape, target, batch * 8)
    x, y = lib.from_numpy(xh).to("cuda"), lib.from_numpy(yh).to("cuda")
    batches = [(x[i : i + batch], y[i : i + batch]) for i in range(0, len(xh), batch)]
    model.train()

    def epoch(n):
        for i in range(n):
            xb, yb = batches[i % len(batches)]
            opt.zero_grad()
            loss = crit(model(xb), yb)
            loss.backward()
            opt.step()
        return loss

    epoch(5)  # warm-up: kernels compiled, memory pools filled, flat buffers built
    sync()
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        loss = epoch(steps)
        loss.item()  # one read back per run, as a training loop logging its loss
        sync()
        best = min(best, time.perf_counter() - t0)
    return best


LABELS = {
    "seed": "GPU: seed model 10-32-1, MSE, SGD momentum",
    "mlp": "GPU: 784-256-128-10 MLP, cross-entropy, SGD momentum",
    "cnn": "GPU: MNIST example CNN training, SGD momentum",
}


def readme_rows(results: dict, batch: int, device: str, command: str) -> list[dict]:
    """The README table's rows: ``results`` maps a workload to (ember samples/s, torch
    samples/s or None, time ratio ember/torch or None)."""
    rows = []
    for name, (se, st, ratio) in results.items():
        rows.append(
            row(
                f"{LABELS[name]}, batch {batch} ({device})",
                f"{rate(se)} samples/s",
                "" if st is None else f"{rate(st)} samples/s",
                "" if ratio is None else f"{ratio:.2f} (time)",
                command,
            )
        )
    return rows


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=50)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--workload", default="all", choices=["all", *WORKLOADS])
    ap.add_argument("--json", metavar="PATH", help="also write the README table rows here")
    argv = sys.argv[1:] if argv is None else list(argv)
    args = ap.parse_args(argv)

    import ember

    if not ember.cuda.is_available():
        print("bench_gpu: no CUDA device (CuPy missing or no GPU): nothing to measure.")
        print("Install the GPU extra first, e.g. pip install 'ember[cuda12]'.")
        return 0
    try:
        import torch

        have_torch = torch.cuda.is_available()
    except ImportError:
        torch, have_torch = None, False
    print(f"GPU: {ember.cuda.get_device_name()}  (batch {args.batch}, {args.steps} steps)")
    if not have_torch:
        print("torch with CUDA not found: ember's numbers only")
    names = list(WORKLOADS) if args.workload == "all" else [args.workload]
    results = {}
    for name in names:
        te = _run(ember, ember.cuda.synchronize, name, args.batch, args.steps, args.repeat)
        se = args.steps * args.batch / te
        st = ratio = None
        line = f"{name:5s} ember {se:10.0f} samples/s"
        if have_torch:
            tt = _run(torch, torch.cuda.synchronize, name, args.batch, args.steps, args.repeat)
            st = args.steps * args.batch / tt
            ratio = te / tt
            line += f" | torch {st:10.0f} samples/s | ratio ember/torch {te / tt:.2f}"
        print(line)
        results[name] = (se, st, ratio)
    cmd = command_line("python -m benchmarks.bench_gpu", argv)
    write_json(args.json, readme_rows(results, args.batch, ember.cuda.get_device_name(), cmd))
    return 0


if __name__ == "__main__":
    sys.exit(main())
