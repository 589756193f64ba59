"""CNN training and inference: ember vs torch, same workloads, ratios of samples/s and peak RSS.

"alone": each framework runs in its own child process (alternating, best of --repeats), which
gives its samples/s and its peak RSS (VmHWM). "interleaved": one child builds both models and
alternates single steps, so bursts of load from other processes on a shared machine hit both
alike (but the two runtimes' thread pools then share the cores). The parent imports neither.

    python benchmarks/bench_cnn.py                 # all workloads
    python benchmarks/bench_cnn.py --only mnist_train --rounds 20
    python benchmarks/bench_cnn.py --child ember mnist_train --profile   # per-op profile (stderr)
    python benchmarks/bench_cnn.py --blas-timeout 4   # OPENBLAS_THREAD_TIMEOUT=4 in children
    python benchmarks/bench_cnn.py --json rows.json  # also the README table's rows (parent only)

NumPy's OpenBLAS keeps its worker threads spinning for 2**OPENBLAS_THREAD_TIMEOUT cycles after
each GEMM (28 by default; ember sets 22 when it loads before NumPy); on a 2-core machine they
take CPU from the array passes that follow. --blas-timeout sets the variable for every child, to
compare settings (torch does not use it).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time

try:
    from .harness import command_line, rate, row, write_json
except ImportError:  # run as a script, or loaded from its path: the checkout's ember
    _here = os.path.dirname(os.path.abspath(__file__))
    sys.path[:0] = [_here, os.path.dirname(_here)]
    from harness import command_line, rate, row, write_json

WORKLOADS = ("mnist_train", "resnet_train", "mnist_infer", "resnet_infer")


def mnist_net(torch):
    """PyTorch's official MNIST example network."""
    nn = torch.nn

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(1, 32, 3, 1)
            self.conv2 = nn.Conv2d(32, 64, 3, 1)
            self.dropout1 = nn.Dropout(0.25)
            self.dropout2 = nn.Dropout(0.5)
            self.fc1 = nn.Linear(9216, 128)
            self.fc2 = nn.Linear(128, 10)

        def forward(self, x):
            F = torch.nn.functional
            x = F.relu(self.conv1(x))
            x = F.relu(self.conv2(x))
            x = F.max_pool2d(x, 2)
            x = self.dropout1(x)
            x = torch.flatten(x, 1)
            x = F.relu(self.fc1(x))
            x = self.dropout2(x)
            x = self.fc2(x)
            return F.log_softmax(x, dim=1)

    return Net()


def resnet_net(torch):
    """A small ResNet-style stack: 3x3 conv + BatchNorm2d + ReLU residual blocks, 16-32 channels."""
    nn = torch.nn
    F = torch.nn.functional

    class Block(nn.Module):
        def __init__(self, cin, cout, stride):
            super().__init__()
            self.c1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
            self.b1 = nn.BatchNorm2d(cout)
            self.c2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
            self.b2 = nn.BatchNorm2d(cout)
            self.short = None
            if stride != 1 or cin != cout:
                self.short = nn.Sequential(
                    nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout)
                )

        def forward(self, x):
            y = F.relu(self.b1(self.c1(x)))
            y = self.b2(self.c2(y))
            return F.relu(y + (x if self.short is None else self.short(x)))

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.stem = nn.Sequential(
                nn.Conv2d(3, 16, 3, 1, 1, bias=False), nn.BatchNorm2d(16), nn.ReLU()
            )
            self.layers = nn.Sequential(
                Block(16, 16, 1), Block(16, 16, 1), Block(16, 32, 2), Block(32, 32, 1)
            )
            self.pool = nn.AdaptiveAvgPool2d(1)
            self.fc = nn.Linear(32, 10)

        def forward(self, x):
            x = self.pool(self.layers(self.stem(x)))
            return F.log_softmax(self.fc(torch.flatten(x, 1)), dim=1)

    return Net()


def _sgd(torch, params, lr, momentum):
    try:
        return torch.optim.SGD(params, lr=lr, momentum=momentum)
    except AttributeError:  # ember.optim not there yet: a plain SGD step, same arithmetic

        class _SGD:
            def __init__(self, ps):
                self.ps = list(ps)
                self.buf = [None] * len(self.ps)

            def zero_grad(self):
                for p in self.ps:
                    p.grad = None

            def step(self):
                with torch.no_grad():
                    for i, p in enumerate(self.ps):
                        g = p.grad
                        if self.buf[i] is None:
                            self.buf[i] = g.clone()
                        else:
                            self.buf[i].mul_(momentum).add_(g)
                        p.sub_(self.buf[i] * lr)

        return _SGD(params)


def peak_rss_mb() -> float:
    """Peak resident memory of this process in MiB: VmHWM belongs to the address space that
    exec created (ru_maxrss can carry over the parent's peak across fork+exec on Linux)."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _framework(fw: str):
    if fw == "torch":
        import torch

        return torch
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
    import ember

    return ember


def make_step(torch, workload: str, batch: int):
    """One training step (forward, nll_loss, backward, SGD) or one no_grad forward."""
    torch.manual_seed(0)
    mnist = workload.startswith("mnist")
    model = mnist_net(torch) if mnist else resnet_net(torch)
    shape = (batch, 1, 28, 28) if mnist else (batch, 3, 32, 32)
    x = torch.randn(*shape)
    y = torch.randint(0, 10, (batch,))
    F = torch.nn.functional
    if workload.endswith("train"):
        model.train()
        opt = _sgd(torch, model.parameters(), 0.01, 0.9)

        def step():
            opt.zero_grad()
            loss = F.nll_loss(model(x), y)
            loss.backward()
            opt.step()
    else:
        model.eval()

        def step():
            with torch.no_grad():
                model(x)

    return step


def run_memory(fw: str, workload: str, steps: int, batch: int, profile: bool) -> dict:
    """Peak RSS of a process that runs only this framework (and its samples/s, for reference)."""
    torch = _framework(fw)
    rss0 = peak_rss_mb()
    step = make_step(torch, workload, batch)
    for _ in range(3):
        step()
    if profile:
        # the same profiler API on both sides: per-op forward and backward times of the step
        prof_mod = torch.profiler
        with prof_mod.profile(activities=[prof_mod.ProfilerActivity.CPU]) as prof:
            for _ in range(steps):
                step()
        table = prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=20)
        print(f"{fw} {workload}, {steps} steps:\n{table}", file=sys.stderr)
    t0 = time.perf_counter()
    for _ in range(steps):
        step()
    dt = time.perf_counter() - t0
    return {
        "fw": fw,
        "workload": workload,
        "samples_per_s": steps * batch / dt,
        "peak_rss_mb": peak_rss_mb(),
        "import_rss_mb": rss0,
        "version": torch.__version__,
        "threads": torch.get_num_threads(),
    }


def run_speed(workload: str, rounds: int, batch: int) -> dict:
    """Both frameworks in one process, one step of each in turn: a burst of load from other
    processes hits both alike. Medians of the step times and of the per-pair ratios."""
    import statistics

    steps = {fw: make_step(_framework(fw), workload, batch) for fw in ("ember", "torch")}
    for _ in range(3):
        for f in steps.values():
            f()
    times = {"ember": [], "torch": []}
    for _ in range(rounds):
        for fw, f in steps.items():
            t0 = time.perf_counter()
            f()
            times[fw].append(time.perf_counter() - t0)
    ratios = [t / e for e, t in zip(times["ember"], times["torch"])]
    return {
        "ember": batch / statistics.median(times["ember"]),
        "torch": batch / statistics.median(times["torch"]),
        "ratio": statistics.median(ratios),
        "ember_best": batch / min(times["ember"]),
        "torch_best": batch / min(times["torch"]),
    }


_ENV: dict = {}  # extra environment of the children (--blas-timeout)

_SHORT = {
    "mnist_train": "MNIST train",
    "resnet_train": "ResNet train",
    "mnist_infer": "MNIST infer",
    "resnet_infer": "ResNet infer",
}


def _span(lo: float, hi: float, fmt) -> str:
    """``lo-hi`` in ``fmt``, or one value when both print the same."""
    a, b = fmt(lo), fmt(hi)
    return a if a == b else f"{a}-{b}"


def readme_rows(results: dict, batch: int, repeats: int, command: str) -> list[dict]:
    """The README table's rows. ``results`` maps each workload that ran to a dict with
    ``ember`` and ``torch`` (the samples/s of each single-framework run), ``ember_mb`` and
    ``torch_mb`` (peak RSS, MiB) and ``interleaved`` (the median ratio of the speed child)."""
    rows = []

    def ratio2(x: float) -> str:
        return f"{x:.2f}"

    r = results.get("mnist_train")
    if r is not None:
        e, t = r["ember"], r["torch"]
        runs = f"{repeats} runs" if repeats != 1 else "1 run"
        paired = [a / b for a, b in zip(e, t)]  # each ember run next to a torch run
        rows.append(
            row(
                f"MNIST example CNN training, batch {batch}, SGD (each framework alone; best of "
                f"{runs}, the runs' range in brackets)",
                f"{rate(max(e))} ({_span(min(e), max(e), rate)}) samples/s",
                f"{rate(max(t))} ({_span(min(t), max(t), rate)}) samples/s",
                f"{max(e) / max(t):.2f}x ({_span(min(paired), max(paired), ratio2)}x)",
                command,
            )
        )
        rows.append(
            row(
                "the same, both in one process, alternating steps",
                "",
                "",
                f"{r['interleaved']:.2f}x",
                command,
            )
        )
    r = results.get("resnet_train")
    if r is not None:
        e, t = max(r["ember"]), max(r["torch"])
        rows.append(
            row(
                "Small ResNet-style stack, 3x32x32, training",
                f"{rate(e)} samples/s",
                f"{rate(t)} samples/s",
                f"{e / t:.2f}x",
                command,
            )
        )
    labels = (("mnist_infer", "MNIST CNN"), ("resnet_infer", "ResNet stack"))
    infer = [(wl, lab) for wl, lab in labels if wl in results]
    if infer:
        es = [max(results[wl]["ember"]) for wl, _ in infer]
        ts = [max(results[wl]["torch"]) for wl, _ in infer]
        rows.append(
            row(
                " / ".join(lab for _, lab in infer) + " inference under `no_grad`",
                " / ".join(rate(x) for x in es) + " samples/s",
                " / ".join(rate(x) for x in ts) + " samples/s",
                " / ".join(f"{a / b:.2f}x" for a, b in zip(es, ts)),
                command,
            )
        )
    ran = [wl for wl in WORKLOADS if wl in results]
    if ran:
        em = [results[wl]["ember_mb"] for wl in ran]
        tm = [results[wl]["torch_mb"] for wl in ran]
        rows.append(
            row(
                "Peak memory of the CNN runs (" + ", ".join(_SHORT[wl] for wl in ran) + ")",
                ", ".join(f"{x:.0f}" for x in em) + " MB",
                ", ".join(f"{x:.0f}" for x in tm) + " MB",
                ", ".join(f"{a / b:.2f}" for a, b in zip(em, tm)),
                command,
            )
        )
    return rows


def _child(args: list) -> dict:
    out = subprocess.run(
        [sys.executable, os.path.abspath(__file__), "--child"] + args,
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, **_ENV},
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--child", nargs="+", metavar="ARG", help="internal: FW WORKLOAD | speed WL")
    ap.add_argument("--only", nargs="*", default=list(WORKLOADS))
    ap.add_argument("--steps", type=int, default=8, help="timed steps of each single run")
    ap.add_argument("--repeats", type=int, default=3, help="single-framework runs of each")
    ap.add_argument("--rounds", type=int, default=12, help="alternating steps of each framework")
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--profile", action="store_true")
    ap.add_argument(
        "--blas-timeout", type=int, help="OPENBLAS_THREAD_TIMEOUT for the children (4..30)"
    )
    ap.add_argument("--json", metavar="PATH", help="also write the README table rows here")
    a = ap.parse_args()
    if a.blas_timeout is not None:
        _ENV["OPENBLAS_THREAD_TIMEOUT"] = str(a.blas_timeout)
    if a.child:
        if a.child[0] == "speed":
            print(json.dumps(run_speed(a.child[1], a.rounds, a.batch)))
        else:
            print(json.dumps(run_memory(a.child[0], a.child[1], a.steps, a.batch, a.profile)))
        return
    # the parent never imports a framework: every child starts from a small process
    print(
        f"cpus {os.cpu_count()}, batch {a.batch}. alone: each framework in its own process, "
        f"best of {a.repeats} alternating runs ({a.steps} steps each); interleaved: both in one "
        f"process, median ratio over {a.rounds} alternating steps"
        + (f"; OPENBLAS_THREAD_TIMEOUT={a.blas_timeout}" if a.blas_timeout is not None else "")
    )
    print(
        f"{'workload':13s} {'ember/s':>8s} {'torch/s':>8s} {'ratio':>6s} {'interleaved':>11s}"
        f"   {'ember MB':>8s} {'torch MB':>8s} {'mem':>5s}"
    )
    results = {}
    for wl in a.only:
        runs = {"ember": [], "torch": []}
        for _ in range(a.repeats):
            for fw in ("ember", "torch"):
                runs[fw].append(_child([fw, wl, "--steps", str(a.steps), "--batch", str(a.batch)]))
        e, t = (max(runs[fw], key=lambda r: r["samples_per_s"]) for fw in ("ember", "torch"))
        e_mb = max(r["peak_rss_mb"] for r in runs["ember"])
        t_mb = max(r["peak_rss_mb"] for r in runs["torch"])
        sp = _child(["speed", wl, "--rounds", str(a.rounds), "--batch", str(a.batch)])
        if wl == a.only[0]:
            print(f"(torch {t['version']} with {t['threads']} threads; ember {e['version']})")
        print(
            f"{wl:13s} {e['samples_per_s']:8.1f} {t['samples_per_s']:8.1f} "
            f"{e['samples_per_s'] / t['samples_per_s']:6.2f} {sp['ratio']:11.2f}   "
            f"{e_mb:8.1f} {t_mb:8.1f} {e_mb / t_mb:5.2f}",
            flush=True,
        )
        results[wl] = {
            "ember": [r["samples_per_s"] for r in runs["ember"]],
            "torch": [r["samples_per_s"] for r in runs["torch"]],
            "ember_mb": e_mb,
            "torch_mb": t_mb,
            "interleaved": sp["ratio"],
        }
    cmd = command_line("python benchmarks/bench_cnn.py", sys.argv[1:])
    write_json(a.json, readme_rows(results, a.batch, a.repeats, cmd))


if __name__ == "__main__":
    main()
