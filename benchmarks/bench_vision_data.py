"""Image loading throughput, ember.vision vs torchvision (python -m benchmarks.bench_vision_data).

The ImageNet training pipeline: an ``ImageFolder`` of JPEGs (500x375, 2 classes),
``RandomResizedCrop(224)`` + ``RandomHorizontalFlip`` + ``ToTensor`` + ``Normalize``, through a
``DataLoader`` (batch 32) with 0 and 2 workers; images per second, best of a few epochs.

torchvision cannot be imported beside ember's torch alias in one process, so its side runs in a
second interpreter: ``--tv-python PATH`` (default: $EMBER_BENCH_TV_PYTHON, else
/work/venv-tv/bin/python when it exists) with torch and torchvision installed. Without one the
ratios are taken against the figures recorded below on the development machine.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

try:
    from .harness import command_line, rate, row, write_json
except ImportError:  # run as a script, or loaded from its path (the torchvision side too)
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from harness import command_line, rate, row, write_json

# torchvision 0.29.1's images/s measured by this script on the development machine (2 cores
# shared with other jobs, load average ~13, 2026-12-03; 96 images, best of 3 epochs), used when
# no torchvision interpreter is available: {workers: images per second}
RECORDED_TORCHVISION = {0: 87.3, 2: 69.1}

DEFAULT_TV_PYTHON = "/work/venv-tv/bin/python"


def make_tree(root: str, n_images: int) -> None:
    """``n_images`` random-texture JPEGs, 500x375, in two class folders."""
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(0)
    for i in range(n_images):
        folder = os.path.join(root, f"class{i % 2}")
        os.makedirs(folder, exist_ok=True)
        small = rng.integers(0, 256, size=(47, 63, 3), dtype=np.uint8)
        img = Image.fromarray(small).resize((500, 375), Image.Resampling.BILINEAR)
        img.save(os.path.join(folder, f"{i}.jpg"), quality=90)


def run_side(side: str, root: str, workers: list[int], epochs: int) -> dict[int, float]:
    """Images per second of the pipeline with each worker count, for 'ember' or 'torchvision'."""
    if side == "ember":
        import ember as torch
        from ember.utils.data import DataLoader
        from ember.vision import datasets, transforms
    else:
        import torch
        from torch.utils.data import DataLoader
        from torchvision import datasets, transforms

        torch.set_num_threads(1)
    tf = transforms.Compose(
        [
            transforms.RandomResizedCrop(224),
            transforms.RandomHorizontalFlip(),
            transforms.ToTensor(),
            transforms.Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225]),
        ]
    )
    ds = datasets.ImageFolder(root, transform=tf)
    out = {}
    for nw in workers:
        torch.manual_seed(0)
        loader = DataLoader(
            ds, batch_size=32, shuffle=True, num_workers=nw, persistent_workers=nw > 0
        )
        best = float("inf")
        for _ in range(epochs):
            t0 = time.perf_counter()
            n = 0
            for x, _y in loader:
                n += x.shape[0]
            best = min(best, time.perf_counter() - t0)
        out[nw] = n / best
    return out


def main(argv: list[str] | None = None) -> int:
    """Build the image tree, time both libraries, print images/s and ratios."""
    argv = sys.argv[1:] if argv is None else argv
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--images", type=int, default=128)
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--rounds", type=int, default=2, help="alternating runs of each side")
    ap.add_argument("--workers", default="0,2")
    ap.add_argument("--tv-python", default=os.environ.get("EMBER_BENCH_TV_PYTHON"))
    ap.add_argument("--json", metavar="PATH", help="also write the README table rows here")
    ap.add_argument("--side", choices=["ember", "torchvision"], help=argparse.SUPPRESS)
    ap.add_argument("--root", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    workers = [int(w) for w in args.workers.split(",")]
    if args.side:  # the child process of one side: print its figures as JSON
        print(json.dumps(run_side(args.side, args.root, workers, args.epochs)))
        return 0
    tv_python = args.tv_python or (DEFAULT_TV_PYTHON if os.path.exists(DEFAULT_TV_PYTHON) else None)
    with tempfile.TemporaryDirectory() as root:
        make_tree(root, args.images)
        here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        env = dict(os.environ, PYTHONPATH=here + os.pathsep + os.environ.get("PYTHONPATH", ""))
        common = ["--root", root, "--workers", args.workers, "--epochs", str(args.epochs)]
        script = os.path.abspath(__file__)
        # the torchvision side must not see ember's torch alias or the checkout on its path
        tv_env = {
            k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "EMBER_RUN_TORCH_ALIAS")
        }
        ember_ips: dict[int, float] = {}
        tv_ips, source = dict(RECORDED_TORCHVISION), "recorded figures"
        measured_tv: dict[int, float] = {}
        # alternate the two sides for a few rounds and keep each one's best: a shared machine's
        # load comes in bursts, which this evens out
        for _ in range(args.rounds):
            ours = subprocess.run(
                [sys.executable, script, "--side", "ember", *common],
                capture_output=True,
                text=True,
                env=env,
            )
            if ours.returncode != 0:
                print(ours.stderr, file=sys.stderr)
                return 1
            for k, v in json.loads(ours.stdout.splitlines()[-1]).items():
                ember_ips[int(k)] = max(ember_ips.get(int(k), 0.0), v)
            if tv_python:
                theirs = subprocess.run(
                    [tv_python, script, "--side", "torchvision", *common],
                    capture_output=True,
                    text=True,
                    env=tv_env,
                )
                if theirs.returncode == 0:
                    for k, v in json.loads(theirs.stdout.splitlines()[-1]).items():
                        measured_tv[int(k)] = max(measured_tv.get(int(k), 0.0), v)
                else:
                    print(f"torchvision side failed:\n{theirs.stderr[-2000:]}", file=sys.stderr)
                    tv_python = None
        if measured_tv:
            tv_ips, source = measured_tv, f"torchvision in {args.tv_python or DEFAULT_TV_PYTHON}"
    print(
        f"ImageFolder of {args.images} 500x375 JPEGs, "
        "RandomResizedCrop(224)+flip+ToTensor+Normalize, batch 32"
    )
    print(f"torchvision side: {source}")
    rows = []
    cmd = command_line("python -m benchmarks.bench_vision_data", argv)
    for nw in workers:
        e, t = ember_ips[nw], tv_ips.get(nw, float("nan"))
        print(
            f"  {nw} workers: ember {e:7.1f} images/s, torchvision {t:7.1f} images/s, "
            f"ratio ember/torchvision {e / t:.2f}"
        )
        work = (
            f"ImageFolder + RandomResizedCrop(224) + flip + ToTensor + Normalize, DataLoader "
            f"batch 32, {nw} workers (against torchvision 0.29.1"
            f"{'' if measured_tv else ', recorded figures'})"
        )
        rows.append(row(work, f"{rate(e)} images/s", f"{rate(t)} images/s", f"{e / t:.2f}x", cmd))
    write_json(args.json, rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
