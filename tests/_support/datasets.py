"""Module-level datasets for the DataLoader tests (importable, so 'spawn' workers can use them).

The datasets return NumPy arrays and Python numbers, so the same object feeds an ember loader
and a torch loader.
"""

from __future__ import annotations

import os
import random
import signal
import time

import numpy as np

import ember
from ember.utils.data import Dataset, IterableDataset, get_worker_info


class RangeDataset(Dataset):
    """Item i: (float32 vector filled with i, int label i % 10)."""

    def __init__(self, n: int, width: int = 4) -> None:
        self.n = n
        self.width = width

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i):
        return np.full(self.width, i, np.float32), int(i) % 10


class BigDataset(RangeDataset):
    """Items big enough (64 KiB a batch of 4) to travel through shared memory."""

    def __init__(self, n: int) -> None:
        super().__init__(n, width=4096)


class ShardedIterable(IterableDataset):
    """Yields start..end-1, split into contiguous shards across workers (as torch's docs)."""

    def __init__(self, start: int, end: int) -> None:
        self.start, self.end = start, end

    def __iter__(self):
        info = get_worker_info()
        lo, hi = self.start, self.end
        if info is not None:
            per = -(-(hi - lo) // info.num_workers)
            lo = self.start + info.id * per
            hi = min(lo + per, self.end)
        return iter(range(lo, hi))

    def __len__(self) -> int:
        return self.end - self.start


class InfoDataset(Dataset):
    """Item i: worker id, num_workers, seed, and draws from Python, NumPy and ember RNGs."""

    def __len__(self) -> int:
        return 8

    def __getitem__(self, i):
        info = get_worker_info()
        wid = -1 if info is None else info.id
        nw = 0 if info is None else info.num_workers
        seed = -1 if info is None else info.seed
        same = info is not None and info.dataset is self
        return (
            wid,
            nw,
            seed,
            same,
            random.random(),
            float(np.random.rand()),
            float(ember.rand(1).item()),
        )


class FailingDataset(Dataset):
    """Raises ``exc`` at index ``bad``."""

    def __init__(self, n: int, bad: int, exc: type = ValueError) -> None:
        self.n, self.bad, self.exc = n, bad, exc

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i):
        if i == self.bad:
            raise self.exc(f"bad index {i}")
        return i


class KillingDataset(Dataset):
    """Kills its own worker process with SIGKILL at index ``bad``."""

    def __init__(self, n: int, bad: int) -> None:
        self.n, self.bad = n, bad

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i):
        if i == self.bad and get_worker_info() is not None:
            os.kill(os.getpid(), signal.SIGKILL)
        return i


class SlowDataset(Dataset):
    """Sleeps ``delay`` seconds per item (``slow_index`` only, when given)."""

    def __init__(self, n: int, delay: float, slow_index: int | None = None) -> None:
        self.n, self.delay, self.slow_index = n, delay, slow_index

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i):
        if self.slow_index is None or i == self.slow_index:
            time.sleep(self.delay)
        return i


class BatchedDataset(Dataset):
    """Counts ``__getitems__`` calls (per process) and returns a list of samples."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.calls = 0

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i):
        raise AssertionError("__getitem__ must not be used when __getitems__ exists")

    def __getitems__(self, indices):
        self.calls += 1
        return [(i, float(i)) for i in indices]


class Unpicklable:
    """A sample that cannot be pickled."""

    def __reduce__(self):
        raise TypeError("cannot pickle Unpicklable")


class UnpicklableDataset(Dataset):
    def __len__(self) -> int:
        return 4

    def __getitem__(self, i):
        return Unpicklable()


def record_init(worker_id: int) -> None:
    """A worker_init_fn: stores the id in the dataset (seen by that worker's items)."""
    info = get_worker_info()
    info.dataset.init_id = worker_id


def bad_init(worker_id: int) -> None:
    raise RuntimeError(f"init failed in {worker_id}")


class InitDataset(Dataset):
    init_id = None

    def __len__(self) -> int:
        return 4

    def __getitem__(self, i):
        return self.init_id


def identity(batch):
    return batch


class PidDataset(Dataset):
    """Item i: the pid of the process that fetched it."""

    def __len__(self) -> int:
        return 8

    def __getitem__(self, i):
        return os.getpid()


def check_same(e, t) -> None:
    """Recursively: ember tensors equal torch tensors (values, dtype, shape); containers have
    the same types and keys."""
    from tests._support.torch_ref import assert_same, torch

    if isinstance(t, torch.Tensor):
        assert_same(e, t)
    elif isinstance(t, dict):
        assert type(e) is type(t) and list(e) == list(t)
        for k in t:
            check_same(e[k], t[k])
    elif isinstance(t, (list, tuple)):
        if hasattr(t, "_fields"):
            assert type(e).__name__ == type(t).__name__ and e._fields == t._fields
        else:
            assert type(e) is type(t), (type(e), type(t))
        assert len(e) == len(t)
        for a, b in zip(e, t):
            check_same(a, b)
    elif isinstance(t, np.ndarray):
        np.testing.assert_array_equal(e, t)
    else:
        assert type(e) is type(t) and e == t, (e, t)


def flat(batches) -> list:
    """A loader's output as plain nested Python lists (for order comparisons)."""
    out = []
    for b in batches:
        if isinstance(b, (list, tuple)):
            out.append([x.tolist() if hasattr(x, "tolist") else x for x in b])
        else:
            out.append(b.tolist() if hasattr(b, "tolist") else b)
    return out


def torch_sharded(start: int, end: int):
    """ShardedIterable's twin for torch's DataLoader (sharded with torch's worker info)."""
    import torch.utils.data as tdata

    class TorchSharded(tdata.IterableDataset):
        def __iter__(self):
            info = tdata.get_worker_info()
            lo, hi = start, end
            if info is not None:
                per = -(-(end - start) // info.num_workers)
                lo = start + info.id * per
                hi = min(lo + per, end)
            return iter(range(lo, hi))

        def __len__(self) -> int:
            return end - start

    return TorchSharded()
