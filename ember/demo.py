"""``ember demo``: train a small classifier on the bundled 8x8 handwritten digits, end to end.

The workflow follows the tutorial ember grew from: a ``Dataset`` and ``DataLoader``s for training,
validation and test splits, a small MLP, ``CrossEntropyLoss``, ``SGD`` with momentum, validation
every epoch, keeping the best checkpoint (``best.pt``, loadable by PyTorch too), reloading it for
the test accuracy, and a plot of the learning curves. ``--backend torch`` runs the very same code on
PyTorch, for comparison.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from importlib import resources
from types import ModuleType
from typing import Any

import numpy as np

import ember
import ember.nn  # noqa: F401
import ember.optim  # noqa: F401
import ember.utils.data  # noqa: F401

__all__ = ["load_digits", "main", "train"]


def load_digits() -> tuple[np.ndarray, np.ndarray]:
    """The bundled digits: images (1797, 8, 8) uint8 in 0..16 and labels (1797,) uint8."""
    with resources.files("ember").joinpath("_demo_data/digits.npz").open("rb") as f:
        with np.load(f) as data:
            return data["images"], data["labels"]


def _parse(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="ember demo",
        description="Train a small classifier on the bundled 8x8 handwritten digits (UCI, "
        "CC BY 4.0), keep the best checkpoint and report the test accuracy.",
    )
    p.add_argument("--epochs", type=int, default=20, help="passes over the training split")
    p.add_argument("--device", default="cpu", help="cpu or cuda")
    p.add_argument("--workers", type=int, default=0, help="DataLoader worker processes")
    p.add_argument("--out", default="ember-demo", help="folder for best.pt, curves.png, ...")
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--hidden", type=int, default=128, help="width of the hidden layer")
    p.add_argument("--lr", type=float, default=0.05, help="peak learning rate (cosine decay)")
    p.add_argument("--momentum", type=float, default=0.9, help="SGD momentum")
    p.add_argument("--weight-decay", type=float, default=5e-4)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--no-progress", action="store_true", help="plain prints, no progress bar")
    p.add_argument(
        "--backend",
        choices=["ember", "torch"],
        default="ember",
        help="run the same program on PyTorch instead, for comparison",
    )
    return p.parse_args(argv)


def _backend(name: str) -> ModuleType:
    if name == "torch":
        # optional dependency: PyTorch, only for the comparison run
        import torch
        import torch.utils.data  # noqa: F401

        return torch
    return ember


def _tqdm(disabled: bool) -> Any:
    if disabled:
        return None
    try:  # optional dependency: the progress bar
        from tqdm import tqdm
    except ImportError:
        return None
    return tqdm


def _make_dataset(torch: ModuleType) -> Any:
    """A map-style Dataset of (64 float pixels in [0, 1], class index) pairs."""
    Dataset = torch.utils.data.Dataset

    class DigitsDataset(Dataset):
        """The 1,797 bundled digits as float features and int64 labels."""

        def __init__(self) -> None:
            images, labels = load_digits()
            flat = images.reshape(len(images), 64).astype(np.float32) / 8.0 - 1.0
            self.x = torch.from_numpy(flat)
            self.y = torch.from_numpy(labels.astype(np.int64))

        def __len__(self) -> int:
            return len(self.y)

        def __getitem__(self, i: int) -> tuple[Any, Any]:
            return self.x[i], self.y[i]

    return DigitsDataset()


def _evaluate(torch: ModuleType, model: Any, loader: Any, loss_fn: Any, device: str):
    """Mean loss and accuracy of ``model`` over ``loader``, without building a graph."""
    model.eval()
    total_loss, correct, count = 0.0, 0, 0
    with torch.no_grad():
        for x, y in loader:
            x, y = x.to(device), y.to(device)
            logits = model(x)
            total_loss += loss_fn(logits, y).item() * len(y)
            correct += (logits.argmax(dim=1) == y).sum().item()
            count += len(y)
    return total_loss / count, correct / count


def _plot(history: dict, path: str) -> str | None:
    """Training and validation curves as a PNG; None (and a note) without matplotlib."""
    try:  # optional dependency: the curves' PNG
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    epochs = range(1, len(history["train_loss"]) + 1)
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(9, 3.5))
    ax1.plot(epochs, history["train_loss"], label="training")
    ax1.plot(epochs, history["val_loss"], label="validation")
    ax1.set_xlabel("epoch")
    ax1.set_ylabel("cross-entropy loss")
    ax1.legend()
    ax2.plot(epochs, [100 * a for a in history["val_acc"]], color="tab:green")
    ax2.set_xlabel("epoch")
    ax2.set_ylabel("validation accuracy (%)")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def train(args: argparse.Namespace) -> dict:
    """Run the whole workflow; returns the metrics that are also written to metrics.json."""
    torch = _backend(args.backend)
    nn, optim, data = torch.nn, torch.optim, torch.utils.data
    os.makedirs(args.out, exist_ok=True)
    torch.manual_seed(args.seed)
    device = args.device
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise SystemExit(
            f"ember demo: --device {device} needs CUDA, which is not available "
            "here (ember uses CuPy and an NVIDIA GPU); use --device cpu"
        )

    dataset = _make_dataset(torch)
    n_val = n_test = len(dataset) // 10
    n_train = len(dataset) - n_val - n_test
    generator = torch.Generator().manual_seed(args.seed)
    train_set, val_set, test_set = data.random_split(
        dataset, [n_train, n_val, n_test], generator=generator
    )
    train_loader = data.DataLoader(
        train_set, batch_size=args.batch_size, shuffle=True, num_workers=args.workers
    )
    val_loader = data.DataLoader(val_set, batch_size=256, num_workers=args.workers)
    test_loader = data.DataLoader(test_set, batch_size=256, num_workers=args.workers)

    hidden = args.hidden
    model = nn.Sequential(nn.Linear(64, hidden), nn.ReLU(), nn.Linear(hidden, 10)).to(device)
    loss_fn = nn.CrossEntropyLoss()
    optimizer = optim.SGD(
        model.parameters(), lr=args.lr, momentum=args.momentum, weight_decay=args.weight_decay
    )
    print(
        f"ember demo: {n_train} training / {n_val} validation / {n_test} test digits "
        f"on {args.backend} ({device})"
    )
    print(model)

    best_path = os.path.join(args.out, "best.pt")
    history: dict[str, list[float]] = {"train_loss": [], "val_loss": [], "val_acc": []}
    best_acc, best_epoch = -1.0, 0
    tqdm = _tqdm(args.no_progress)
    start = time.perf_counter()
    for epoch in range(1, args.epochs + 1):
        for group in optimizer.param_groups:  # cosine decay of the learning rate
            group["lr"] = args.lr * 0.5 * (1 + math.cos(math.pi * (epoch - 1) / args.epochs))
        model.train()
        running, seen = 0.0, 0
        batches = train_loader
        bar = None
        if tqdm is not None:
            bar = batches = tqdm(
                train_loader, desc=f"epoch {epoch:2d}/{args.epochs}", leave=False, file=sys.stderr
            )
        for x, y in batches:
            x, y = x.to(device), y.to(device)
            loss = loss_fn(model(x), y)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            running += loss.item() * len(y)
            seen += len(y)
            if bar is not None:
                bar.set_postfix(loss=f"{running / seen:.4f}", refresh=False)
        if bar is not None:
            bar.close()
        val_loss, val_acc = _evaluate(torch, model, val_loader, loss_fn, device)
        history["train_loss"].append(running / seen)
        history["val_loss"].append(val_loss)
        history["val_acc"].append(val_acc)
        mark = ""
        if val_acc > best_acc:
            best_acc, best_epoch = val_acc, epoch
            torch.save(model.state_dict(), best_path)
            mark = "  (best so far: saved best.pt)"
        print(
            f"epoch {epoch:2d}: train loss {running / seen:.4f}  "
            f"validation loss {val_loss:.4f}  accuracy {100 * val_acc:.1f}%{mark}"
        )
    seconds = time.perf_counter() - start

    model.load_state_dict(torch.load(best_path, weights_only=True))
    test_loss, test_acc = _evaluate(torch, model, test_loader, loss_fn, device)
    print(f"best epoch {best_epoch} reloaded from {best_path}")
    print(
        f"test accuracy: {100 * test_acc:.2f}% (test loss {test_loss:.4f}); "
        f"training took {seconds:.1f}s"
    )
    plot = _plot(history, os.path.join(args.out, "curves.png"))
    print(
        f"learning curves: {plot}"
        if plot
        else "learning curves: skipped (pip install matplotlib to get curves.png)"
    )
    metrics = {
        "test_accuracy": test_acc,
        "test_loss": test_loss,
        "best_epoch": best_epoch,
        "best_val_accuracy": best_acc,
        "train_seconds": seconds,
        "history": history,
        "checkpoint": best_path,
        "plot": plot,
        "backend": args.backend,
    }
    with open(os.path.join(args.out, "metrics.json"), "w") as f:
        json.dump(metrics, f, indent=1)
    return metrics


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``ember demo``."""
    train(_parse(argv))
    return 0


if __name__ == "__main__":
    sys.exit(main())
