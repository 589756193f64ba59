"""DataLoader throughput, ember vs torch in one process (python -m benchmarks.bench_data).

1. One shuffled epoch over a 60,000 x 784 float32 TensorDataset (+ int64 labels), batch 64,
   num_workers=0 (ember gathers each batch with one fancy index per tensor).
2. A map-style dataset whose ``__getitem__`` costs about 1 ms, batch 16, num_workers 0 and 2:
   the cost is ``time.sleep`` (I/O-like, robust on a shared machine) and, in a second run,
   busy CPU work (needs two free cores to show the speedup).
"""

from __future__ import annotations

import argparse
import os
import sys
import time

try:
    from .harness import command_line, row, write_json
except ImportError:  # run as a script, or loaded from its path: the checkout's ember
    _here = os.path.dirname(os.path.abspath(__file__))
    sys.path[:0] = [_here, os.path.dirname(_here)]
    from harness import command_line, row, write_json

import numpy as np  # noqa: E402

import ember  # noqa: E402  (after the path set-up above)
import ember.utils.data as edata  # noqa: E402

try:
    import torch
    import torch.utils.data as tdata

    torch.set_num_threads(1)
except ImportError:  # pragma: no cover
    torch = tdata = None

ITEM_COST_S = 1e-3


def _busy(seconds: float) -> None:
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        pass


_WORK = {"sleep": time.sleep, "busy": _busy}


class SlowEmber(edata.Dataset):
    """64 float32 features per item, after ~1 ms of work."""

    def __init__(self, n: int, work: str = "sleep") -> None:
        self.n = n
        self.work = work

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i):
        _WORK[self.work](ITEM_COST_S)
        return np.full(64, i, np.float32), i


if tdata is not None:

    class SlowTorch(tdata.Dataset):
        def __init__(self, n: int, work: str = "sleep") -> None:
            self.n = n
            self.work = work

        def __len__(self) -> int:
            return self.n

        def __getitem__(self, i):
            _WORK[self.work](ITEM_COST_S)
            return np.full(64, i, np.float32), i


def _epoch(loader) -> float:
    t0 = time.perf_counter()
    n = 0
    for batch in loader:
        n += len(batch[0])
    return time.perf_counter() - t0


def _best(fn, repeat: int) -> float:
    return min(fn() for _ in range(repeat))


def bench_tensor_dataset(repeat: int = 3) -> dict:
    rng = np.random.default_rng(0)
    xs = rng.standard_normal((60000, 784), dtype=np.float32)
    ys = rng.integers(0, 10, 60000).astype(np.int64)
    el = edata.DataLoader(
        edata.TensorDataset(ember.from_numpy(xs), ember.from_numpy(ys)), batch_size=64, shuffle=True
    )
    te = _best(lambda: _epoch(el), repeat)
    tt = float("nan")
    if tdata is not None:
        tl = tdata.DataLoader(
            tdata.TensorDataset(torch.from_numpy(xs), torch.from_numpy(ys)),
            batch_size=64,
            shuffle=True,
        )
        tt = _best(lambda: _epoch(tl), repeat)
    print(
        f"TensorDataset 60000x784 epoch, batch 64, shuffled, 0 workers: ember {te:.3f} s, "
        f"torch {tt:.3f} s, torch/ember speedup {tt / te:.2f}x"
    )
    return {"ember_s": te, "torch_s": tt, "speedup": tt / te}


def bench_slow_dataset(n: int = 1600, repeat: int = 3, work: str = "sleep") -> dict:
    out = {}
    for nw in (0, 2):
        el = edata.DataLoader(SlowEmber(n, work), batch_size=16, num_workers=nw)
        out[f"ember_{nw}"] = _best(lambda el=el: _epoch(el), repeat)
        if tdata is not None:
            tl = tdata.DataLoader(SlowTorch(n, work), batch_size=16, num_workers=nw)
            out[f"torch_{nw}"] = _best(lambda tl=tl: _epoch(tl), repeat)
    e0, e2 = out["ember_0"], out["ember_2"]
    line = (
        f"~1 ms/item ({work}) dataset, {n} items, batch 16: ember 0 workers {e0:.3f} s, "
        f"2 workers {e2:.3f} s, speedup {e0 / e2:.2f}x"
    )
    if tdata is not None:
        t0, t2 = out["torch_0"], out["torch_2"]
        line += f"; torch 0 workers {t0:.3f} s, 2 workers {t2:.3f} s, speedup {t0 / t2:.2f}x"
    print(line)
    return out


def readme_rows(tensor: dict, sleep: dict, command: str) -> list[dict]:
    """The README table's rows for ``bench_tensor_dataset`` and the sleeping dataset."""

    def speedup(d: dict, lib: str) -> str:
        if f"{lib}_2" not in d:
            return "n/a"
        return f"{d[f'{lib}_0'] / d[f'{lib}_2']:.2f}x faster"

    return [
        row(
            "DataLoader epoch, 60,000 x 784 `TensorDataset`, batch 64, shuffled",
            f"{tensor['ember_s']:.3f} s",
            f"{tensor['torch_s']:.3f} s",
            f"{tensor['speedup']:.1f}x",
            command,
        ),
        row(
            "Dataset sleeping ~1 ms per item: 2 workers against 0",
            speedup(sleep, "ember"),
            speedup(sleep, "torch"),
            "",
            command,
        ),
    ]


def main(argv: list[str] | None = None) -> int:
    """Run the DataLoader benchmarks and print the times."""
    argv = sys.argv[1:] if argv is None else argv
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", metavar="PATH", help="also write the README table rows here")
    args = ap.parse_args(argv)
    tensor = bench_tensor_dataset()
    sleep = bench_slow_dataset(work="sleep")
    bench_slow_dataset(work="busy")
    cmd = command_line("python -m benchmarks.bench_data", argv)
    write_json(args.json, readme_rows(tensor, sleep, cmd))
    return 0


if __name__ == "__main__":
    sys.exit(main())
