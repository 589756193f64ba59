"""ResNet-18 (ember.vision.models.resnet18) against torch: inference under no_grad and one
training step (forward, cross-entropy, backward, SGD with momentum) on a 64x3x64x64 batch.

Each framework runs in its own child process, alternating, best of --repeats runs. torch 2.13 in
this environment has no torchvision, so the torch side builds the same ResNet-18 (same layers,
same 11,689,512 parameters, checked) from torch.nn in this file; --torchvision PYTHON runs the
torch side with another interpreter that has torchvision (e.g. /work/venv-tv/bin/python, torch
2.14.1 + torchvision 0.29.1) and its real torchvision.models.resnet18.

    python benchmarks/bench_vision_models.py
    python benchmarks/bench_vision_models.py --torchvision /work/venv-tv/bin/python
    python benchmarks/bench_vision_models.py --json rows.json   # README table rows
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

try:
    from .harness import command_line, rate, row, write_json
except ImportError:  # run as a script: the checkout's ember and harness
    _here = os.path.dirname(os.path.abspath(__file__))
    sys.path[:0] = [_here, os.path.dirname(_here)]
    from harness import command_line, rate, row, write_json

WORKLOADS = ("infer", "train")
PARAMS = 11_689_512  # torchvision's ResNet-18


def torch_resnet18(torch):
    """ResNet-18 written with torch.nn: torchvision's layers, without torchvision."""
    nn = torch.nn

    class Block(nn.Module):
        def __init__(self, cin, cout, stride):
            super().__init__()
            self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
            self.bn1 = nn.BatchNorm2d(cout)
            self.relu = nn.ReLU(inplace=True)
            self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
            self.bn2 = nn.BatchNorm2d(cout)
            self.downsample = None
            if stride != 1 or cin != cout:
                self.downsample = nn.Sequential(
                    nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout)
                )

        def forward(self, x):
            out = self.relu(self.bn1(self.conv1(x)))
            out = self.bn2(self.conv2(out))
            idt = x if self.downsample is None else self.downsample(x)
            return self.relu(out + idt)

    class ResNet18(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(3, 64, 7, 2, 3, bias=False)
            self.bn1 = nn.BatchNorm2d(64)
            self.relu = nn.ReLU(inplace=True)
            self.maxpool = nn.MaxPool2d(3, 2, 1)
            chans = [(64, 64, 1), (64, 128, 2), (128, 256, 2), (256, 512, 2)]
            for i, (cin, cout, s) in enumerate(chans):
                setattr(
                    self, f"layer{i + 1}", nn.Sequential(Block(cin, cout, s), Block(cout, cout, 1))
                )
            self.avgpool = nn.AdaptiveAvgPool2d(1)
            self.fc = nn.Linear(512, 1000)

        def forward(self, x):
            x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
            x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
            return self.fc(torch.flatten(self.avgpool(x), 1))

    return ResNet18()


def make_model(fw: str):
    if fw == "ember":
        import ember
        from ember.vision import models

        return ember, models.resnet18(), "ember.vision.models.resnet18"
    import torch

    try:
        import torchvision

        return torch, torchvision.models.resnet18(), f"torchvision {torchvision.__version__}"
    except ImportError:
        return torch, torch_resnet18(torch), "torch.nn equivalent (no torchvision)"


def run(fw: str, workload: str, steps: int, batch: int) -> dict:
    torch, model, source = make_model(fw)
    n = sum(p.numel() for p in model.parameters())
    assert n == PARAMS, n
    torch.manual_seed(0)
    x = torch.randn(batch, 3, 64, 64)
    y = torch.randint(0, 1000, (batch,))
    if workload == "train":
        model.train()
        opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)

        def step():
            opt.zero_grad()
            torch.nn.functional.cross_entropy(model(x), y).backward()
            opt.step()
    else:
        model.eval()

        def step():
            with torch.no_grad():
                model(x)

    for _ in range(2):
        step()
    best = float("inf")
    for _ in range(steps):
        t0 = time.perf_counter()
        step()
        best = min(best, time.perf_counter() - t0)
    return {
        "samples_per_s": batch / best,
        "version": torch.__version__,
        "threads": torch.get_num_threads(),
        "model": source,
    }


def _child(python: str, args: list) -> dict:
    out = subprocess.run(
        [python, os.path.abspath(__file__), "--child"] + args,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--child", nargs=2, metavar=("FW", "WORKLOAD"), help=argparse.SUPPRESS)
    ap.add_argument("--only", nargs="*", default=list(WORKLOADS))
    ap.add_argument("--steps", type=int, default=5, help="timed steps per run (best counts)")
    ap.add_argument("--repeats", type=int, default=2, help="runs of each framework")
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--torchvision", metavar="PYTHON", help="interpreter with torchvision")
    ap.add_argument("--json", metavar="PATH", help="also write the README table rows here")
    a = ap.parse_args()
    if a.child:
        print(json.dumps(run(a.child[0], a.child[1], a.steps, a.batch)))
        return
    torch_python = a.torchvision or sys.executable
    print(f"ResNet-18, batch {a.batch}x3x64x64, best step of {a.steps}, best of {a.repeats} runs")
    rows = []
    cmd = command_line("python benchmarks/bench_vision_models.py", sys.argv[1:])
    for wl in a.only:
        res = {"ember": [], "torch": []}
        for _ in range(a.repeats):
            opts = [wl, "--steps", str(a.steps), "--batch", str(a.batch)]
            res["ember"].append(_child(sys.executable, ["ember"] + opts))
            res["torch"].append(_child(torch_python, ["torch"] + opts))
        e = max(r["samples_per_s"] for r in res["ember"])
        t = max(r["samples_per_s"] for r in res["torch"])
        tr = res["torch"][0]
        print(
            f"{wl:6s} ember {e:8.1f} samples/s   torch {t:8.1f} samples/s   ratio {e / t:.2f}x"
            f"   (torch {tr['version']}, {tr['threads']} threads, {tr['model']})",
            flush=True,
        )
        label = "inference under no_grad" if wl == "infer" else "training step, SGD"
        rows.append(
            row(
                f"ResNet-18 (ember.vision.models), 64x3x64x64, {label}",
                f"{rate(e)} samples/s",
                f"{rate(t)} samples/s",
                f"{e / t:.2f}x",
                cmd,
            )
        )
    write_json(a.json, rows)


if __name__ == "__main__":
    main()
