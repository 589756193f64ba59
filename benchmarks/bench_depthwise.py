"""MobileNet-style depthwise block training step: ember vs torch, each in its own process,
alternating, best of several runs; prints samples/s and the ratio per round.

    python benchmarks/bench_depthwise.py                  # 5 rounds
    python benchmarks/bench_depthwise.py --rounds 3 --batch 32
    python benchmarks/bench_depthwise.py --child ember    # one framework, JSON on stdout

The block: 1x1 expand (x6), BatchNorm, ReLU6, 3x3 depthwise (stride 1, then a stride-2 one),
BatchNorm, ReLU6, 1x1 project, BatchNorm, residual where the shapes allow; on 32x32 inputs.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

try:
    from .harness import command_line, num, row, times_x, write_json
except ImportError:  # run as a script
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from harness import command_line, num, row, times_x, write_json


def _framework(fw: str):
    if fw == "torch":
        import torch  # optional dependency: only the child process that measures torch

        torch.set_num_threads(2)
        return torch
    import ember  # the child that measures ember

    return ember


def make_model(torch, c: int = 16):
    nn = torch.nn

    class Inverted(nn.Module):
        def __init__(self, cin, cout, stride, expand=6):
            super().__init__()
            mid = cin * expand
            self.res = stride == 1 and cin == cout
            self.body = nn.Sequential(
                nn.Conv2d(cin, mid, 1, bias=False),
                nn.BatchNorm2d(mid),
                nn.ReLU6(),
                nn.Conv2d(mid, mid, 3, stride, 1, groups=mid, bias=False),
                nn.BatchNorm2d(mid),
                nn.ReLU6(),
                nn.Conv2d(mid, cout, 1, bias=False),
                nn.BatchNorm2d(cout),
            )

        def forward(self, x):
            y = self.body(x)
            return x + y if self.res else y

    return nn.Sequential(
        nn.Conv2d(3, c, 3, 1, 1, bias=False),
        nn.BatchNorm2d(c),
        nn.ReLU6(),
        Inverted(c, c, 1),
        Inverted(c, 2 * c, 2),
        Inverted(2 * c, 2 * c, 1),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(2 * c, 10),
    )


def child(fw: str, batch: int, steps: int) -> dict:
    torch = _framework(fw)
    torch.manual_seed(0)
    model = make_model(torch)
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    x = torch.randn(batch, 3, 32, 32)
    y = torch.randint(0, 10, (batch,))
    lossf = torch.nn.CrossEntropyLoss()

    def step():
        opt.zero_grad()
        loss = lossf(model(x), y)
        loss.backward()
        opt.step()

    for _ in range(3):
        step()
    best = float("inf")
    for _ in range(steps):
        t = time.perf_counter()
        step()
        best = min(best, time.perf_counter() - t)
    return {"fw": fw, "step_s": best, "samples_s": batch / best}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--child", default=None)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--json", metavar="PATH", help="also write the README table row here")
    a = ap.parse_args()
    if a.child:
        print(json.dumps(child(a.child, a.batch, a.steps)))
        return
    ratios = []
    best = {"ember": 0.0, "torch": 0.0}
    for r in range(a.rounds):
        res = {}
        for fw in ("ember", "torch") if r % 2 == 0 else ("torch", "ember"):
            cmd = [sys.executable, __file__, "--child", fw, "--batch", str(a.batch)]
            cmd += ["--steps", str(a.steps)]
            out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
            res[fw] = json.loads(out.strip().splitlines()[-1])
        ratio = res["ember"]["samples_s"] / res["torch"]["samples_s"]
        ratios.append(ratio)
        for fw in best:
            best[fw] = max(best[fw], res[fw]["samples_s"])
        print(
            f"round {r}: ember {res['ember']['step_s'] * 1e3:.1f} ms, "
            f"torch {res['torch']['step_s'] * 1e3:.1f} ms, ratio {ratio:.2f}x"
        )
    print(f"mobilenet block train: ember/torch speed {min(ratios):.2f}-{max(ratios):.2f}x")
    argv = sys.argv[1:]
    label = f"MobileNet-style depthwise blocks, {a.batch}x3x32x32, training"
    rows = [
        row(
            label,
            f"{num(best['ember'])} samples/s",
            f"{num(best['torch'])} samples/s",
            times_x(best["ember"] / best["torch"]),
            command_line("python benchmarks/bench_depthwise.py", argv),
        )
    ]
    write_json(a.json, rows)


if __name__ == "__main__":
    main()
