"""Training-epoch throughput, ember vs torch: (a) the seed's model (10 -> 32 -> Sigmoid -> 1,
MSELoss, SGD momentum, batch 32) and (b) a 784-256-128-10 ReLU MLP with cross-entropy (SGD
momentum, batch 64). Prints samples/s for both and the ratio.

    python benchmarks/bench_mlp.py [--repeat 5] [--threads 1] [--profile] [--json PATH]

``--threads N`` caps the BLAS threads of both libraries (OpenBLAS for NumPy, torch's intra-op
pool) before they load; both then run in one process, epochs alternating. ``--threads 0`` leaves
both at their defaults, and then each framework runs in a process of its own (alternating runs,
best of ``--repeat``): in one process, the idle worker threads of one library keep spinning
while the other computes (OpenBLAS's for ~0.1 s after each product unless ember set
OPENBLAS_THREAD_TIMEOUT first), which slowed torch by a third in earlier versions of this script.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

if __name__ == "__main__":
    _n = "1"
    if "--threads" in sys.argv:
        _n = sys.argv[sys.argv.index("--threads") + 1]
    if _n != "0":
        for _v in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
            os.environ[_v] = _n
    if sys.argv[1:3] == ["--child", "ember"]:
        # as a user's program gets it: ember loads before NumPy (and sets up its runtime)
        sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
        import ember  # noqa: F401

import numpy as np  # noqa: E402

try:
    from .harness import command_line, rate, row, times_x, write_json
except ImportError:  # run as a script, or loaded from its path: the checkout's ember
    _here = os.path.dirname(os.path.abspath(__file__))
    sys.path[:0] = [_here, os.path.dirname(_here)]
    from harness import command_line, rate, row, times_x, write_json


def _seed_model(lib):
    nn = lib.nn

    class MyModel(nn.Module):
        def __init__(self):
            super().__init__()
            self.net = nn.Sequential(nn.Linear(10, 32), nn.Sigmoid(), nn.Linear(32, 1))

        def forward(self, x):
            return self.net(x)

    return MyModel(), nn.MSELoss()


def _mlp(lib):
    nn = lib.nn
    model = nn.Sequential(
        nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 128), nn.ReLU(), nn.Linear(128, 10)
    )
    return model, nn.CrossEntropyLoss()


def _batches(lib, x, y, bs):
    tx, ty = lib.from_numpy(x), lib.from_numpy(y)
    return [(tx[i : i + bs], ty[i : i + bs]) for i in range(0, len(x), bs)]


def _epoch(model, crit, opt, batches):
    model.train()
    for xb, yb in batches:
        opt.zero_grad()
        loss = crit(model(xb), yb)
        loss.backward()
        opt.step()
    return loss


def _setup(lib, which, x, y, bs):
    lib.manual_seed(0)
    model, crit = _seed_model(lib) if which == "seed" else _mlp(lib)
    opt = lib.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    return model, crit, opt, _batches(lib, x, y, bs)


def _data(which: str):
    rng = np.random.default_rng(0)
    if which == "seed":
        n, bs = 4096, 32
        x = rng.standard_normal((n, 10)).astype(np.float32)
        y = (np.tanh(x[:, :3].sum(1, keepdims=True))).astype(np.float32)
    else:
        n, bs = 6400, 64
        x = rng.standard_normal((n, 784)).astype(np.float32)
        y = rng.integers(0, 10, n).astype(np.int64)
    return x, y, bs


def _child(fw: str, which: str, repeat: int) -> float:
    """Best epoch time of one framework alone in this process."""
    if fw == "ember":
        import ember as lib
    else:
        import torch as lib
    x, y, bs = _data(which)
    run = _setup(lib, which, x, y, bs)
    _epoch(*run)
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        _epoch(*run)
        best = min(best, time.perf_counter() - t0)
    return best


def _separate(which: str, repeat: int) -> dict:
    """Each framework in its own process, runs alternating: best epoch time of each."""
    import json
    import subprocess

    best = {"ember": float("inf"), "torch": float("inf")}
    for _ in range(3):
        for fw in ("ember", "torch"):
            out = subprocess.run(
                [sys.executable, os.path.abspath(__file__), "--child", fw, which]
                + ["--repeat", str(repeat), "--threads", "0"],
                capture_output=True,
                text=True,
                check=True,
            )
            best[fw] = min(best[fw], json.loads(out.stdout.strip().splitlines()[-1]))
    return best


def bench(which: str, repeat: int = 5) -> dict:
    threads = os.environ.get("OMP_NUM_THREADS")
    n = len(_data(which)[0])
    if not threads:
        best = _separate(which, repeat)
        return _report(which, n, best, threads)
    import torch

    import ember

    torch.set_num_threads(int(threads))
    x, y, bs = _data(which)
    runs = {}
    for name, lib in (("ember", ember), ("torch", torch)):
        runs[name] = _setup(lib, which, x, y, bs)
        _epoch(*runs[name])  # warm up
    best = {"ember": float("inf"), "torch": float("inf")}
    for _ in range(repeat):  # interleaved, best of repeat: robust on a shared machine
        for name in ("ember", "torch"):
            t0 = time.perf_counter()
            _epoch(*runs[name])
            best[name] = min(best[name], time.perf_counter() - t0)
    return _report(which, n, best, threads)


def _report(which: str, n: int, best: dict, threads) -> dict:
    se, st = n / best["ember"], n / best["torch"]
    label = "seed model 10-32-1 (batch 32)" if which == "seed" else "MLP 784-256-128-10 (batch 64)"
    print(
        f"{label}: ember {se:,.0f} samples/s, torch {st:,.0f} samples/s, "
        f"ratio ember/torch {se / st:.2f}x (threads: {threads or 'default, separate processes'})"
    )
    return {"ember": se, "torch": st, "ratio": se / st}


def bench_step(n_params: int = 200, size: int = 256, repeat: int = 7) -> dict:
    """optimizer.step() alone over many small parameters: the fused flat update keeps the
    number of array operations fixed, whatever the parameter count."""
    import torch

    import ember

    rng = np.random.default_rng(0)
    arrs = [rng.standard_normal(size).astype(np.float32) for _ in range(n_params)]
    out = {"n_params": n_params}
    for name, kw in (("SGD", dict(lr=0.01, momentum=0.9)), ("Adam", dict(lr=1e-3))):
        times = {}
        for lib in (ember, torch):
            ps = [lib.nn.Parameter(lib.from_numpy(a.copy())) for a in arrs]
            for p, a in zip(ps, arrs):
                p.grad = lib.from_numpy(a * 0.1)
            opt = getattr(lib.optim, name)(ps, **kw)
            opt.step()
            best = float("inf")
            for _ in range(repeat):
                t0 = time.perf_counter()
                for _ in range(50):
                    opt.step()
                best = min(best, (time.perf_counter() - t0) / 50)
            times[lib.__name__] = best
        print(
            f"{name}.step() over {n_params} params of {size}: ember "
            f"{times['ember'] * 1e6:.0f} us, torch {times['torch'] * 1e6:.0f} us, "
            f"ratio ember/torch speed {times['torch'] / times['ember']:.2f}x"
        )
        out[name] = times
    return out


def readme_rows(seed: dict, mlp: dict, step: dict, threads: int, command: str) -> list[dict]:
    """The README table's rows: one row per model (``key`` seed, mlp), or both models in one
    row when pinned to one thread (``key`` pinned), and the optimizer steps (``key`` step)."""
    rows = []
    if threads == 1:
        rows.append(
            row(
                "the same two, both pinned to 1 thread",
                f"{rate(seed['ember'])} / {rate(mlp['ember'])} samples/s",
                f"{rate(seed['torch'])} / {rate(mlp['torch'])} samples/s",
                f"{times_x(seed['ratio'])} / {times_x(mlp['ratio'])}",
                command,
                key="pinned",
            )
        )
    else:
        where = "default threads" if threads == 0 else f"{threads} threads"
        for key, r, label in (
            ("seed", seed, "Seed model 10-32-1, MSE, SGD momentum, batch 32"),
            ("mlp", mlp, "784-256-128-10 MLP, cross-entropy, SGD momentum, batch 64"),
        ):
            rows.append(
                row(
                    f"{label}, {where}",
                    f"{rate(r['ember'])} samples/s",
                    f"{rate(r['torch'])} samples/s",
                    times_x(r["ratio"]),
                    command,
                    key=key,
                )
            )
    sgd, adam = step["SGD"], step["Adam"]
    rows.append(
        row(
            f"`SGD.step()` / `Adam.step()` over {step['n_params']} parameters",
            f"{rate(sgd['ember'] * 1e6)} / {rate(adam['ember'] * 1e6)} us",
            f"{rate(sgd['torch'] * 1e6)} / {rate(adam['torch'] * 1e6)} us",
            f"{times_x(sgd['torch'] / sgd['ember'])} / {times_x(adam['torch'] / adam['ember'])}",
            command,
            key="step",
        )
    )
    return rows


def profile(which: str) -> None:
    import cProfile
    import pstats

    import ember

    rng = np.random.default_rng(0)
    if which == "seed":
        x = rng.standard_normal((4096, 10)).astype(np.float32)
        y = x[:, :1].copy()
        args = _setup(ember, which, x, y, 32)
    else:
        x = rng.standard_normal((6400, 784)).astype(np.float32)
        y = rng.integers(0, 10, 6400).astype(np.int64)
        args = _setup(ember, which, x, y, 64)
    pr = cProfile.Profile()
    pr.enable()
    for _ in range(3):
        _epoch(*args)
    pr.disable()
    pstats.Stats(pr).sort_stats("tottime").print_stats(25)


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--profile", action="store_true")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--json", metavar="PATH", help="also write the README table rows here")
    ap.add_argument("--child", nargs=2, metavar=("FW", "MODEL"), help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.child:
        print(_child(a.child[0], a.child[1], a.repeat))
    elif a.profile:
        profile("seed")
        profile("mlp")
    else:
        seed = bench("seed", a.repeat)
        mlp = bench("mlp", a.repeat)
        step = bench_step()
        cmd = command_line("python benchmarks/bench_mlp.py", sys.argv[1:])
        write_json(a.json, readme_rows(seed, mlp, step, a.threads, cmd))
