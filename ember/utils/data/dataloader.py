"""DataLoader: batches from a dataset through a sampler, in this process or in worker processes.

The split follows torch: a sampler yields indices (or index lists), a fetcher turns each into a
collated batch, and with ``num_workers > 0`` the fetch runs in worker processes
(``_utils/worker.py``). The main process keeps ``prefetch_factor * num_workers`` tasks in flight,
one index queue per worker (round-robin), one shared result queue, and hands batches out in
task order whatever order they arrive in.
"""

from __future__ import annotations

import collections
import itertools
import math
import multiprocessing
import multiprocessing.context
import os
import queue
import signal
import time
from collections.abc import Callable, Iterable
from typing import Any

from ._utils import shared_memory
from ._utils.collate import default_collate, default_convert
from ._utils.fetch import _DatasetKind
from ._utils.pin_memory import pin_memory as _pin
from ._utils.worker import (
    ExceptionWrapper,
    _IterableDatasetStopIteration,
    _ResultQueue,
    _ResumeIteration,
    _worker_loop,
    get_worker_info,
)
from .dataset import IterableDataset
from .sampler import BatchSampler, RandomSampler, Sampler, SequentialSampler, _seed_from

__all__ = ["DataLoader", "default_collate", "default_convert", "get_worker_info"]

_POLL_INTERVAL = 0.25  # seconds between the main process's checks that workers are alive
_SHUTDOWN_GRACE = 5.0  # seconds workers get to exit before they are terminated
_iter_ids = itertools.count()


class _InfiniteConstantSampler(Sampler):
    """The sampler of an iterable-style dataset: ``None`` forever."""

    def __iter__(self):
        while True:
            yield None


class DataLoader:
    """Iterates a dataset in batches, as ``torch.utils.data.DataLoader``.

    >>> loader = DataLoader(TensorDataset(x, y), batch_size=64, shuffle=True, num_workers=2)
    """

    __initialized = False

    def __init__(
        self,
        dataset: Any,
        batch_size: int | None = 1,
        shuffle: bool | None = None,
        sampler: Sampler | Iterable | None = None,
        batch_sampler: Sampler | Iterable | None = None,
        num_workers: int = 0,
        collate_fn: Callable | None = None,
        pin_memory: bool = False,
        drop_last: bool = False,
        timeout: float = 0,
        worker_init_fn: Callable | None = None,
        multiprocessing_context=None,
        generator=None,
        *,
        prefetch_factor: int | None = None,
        persistent_workers: bool = False,
        pin_memory_device: str = "",
        in_order: bool = True,
    ) -> None:
        if num_workers < 0:
            raise ValueError(
                "num_workers option should be non-negative; "
                "use num_workers=0 to disable multiprocessing."
            )
        if timeout < 0:
            raise ValueError("timeout option should be non-negative")
        if num_workers == 0 and prefetch_factor is not None:
            raise ValueError(
                "prefetch_factor option could only be specified in multiprocessing."
                "let num_workers > 0 to enable multiprocessing, otherwise set prefetch_factor "
                "to None."
            )
        if num_workers > 0 and prefetch_factor is None:
            prefetch_factor = 2
        elif prefetch_factor is not None and prefetch_factor < 0:
            raise ValueError("prefetch_factor option should be non-negative")
        if persistent_workers and num_workers == 0:
            raise ValueError("persistent_workers option needs num_workers > 0")

        self.dataset = dataset
        self.num_workers = num_workers
        self.prefetch_factor = prefetch_factor
        self.pin_memory = pin_memory
        self.pin_memory_device = pin_memory_device
        self.timeout = timeout
        self.worker_init_fn = worker_init_fn
        self.multiprocessing_context = multiprocessing_context
        self.in_order = in_order

        if isinstance(dataset, IterableDataset):
            self._dataset_kind = _DatasetKind.Iterable
            if shuffle not in {False, None}:
                raise ValueError(
                    "DataLoader with IterableDataset: expected unspecified shuffle "
                    f"option, but got shuffle={shuffle}"
                )
            if sampler is not None:
                raise ValueError(
                    "DataLoader with IterableDataset: expected unspecified sampler "
                    f"option, but got sampler={sampler}"
                )
            if batch_sampler is not None:
                raise ValueError(
                    "DataLoader with IterableDataset: expected unspecified "
                    f"batch_sampler option, but got batch_sampler={batch_sampler}"
                )
        else:
            shuffle = bool(shuffle)
            self._dataset_kind = _DatasetKind.Map

        if sampler is not None and shuffle:
            raise ValueError("sampler option is mutually exclusive with shuffle")
        if batch_sampler is not None:
            if batch_size != 1 or shuffle or sampler is not None or drop_last:
                raise ValueError(
                    "batch_sampler option is mutually exclusive with batch_size, "
                    "shuffle, sampler, and drop_last"
                )
            batch_size = None
            drop_last = False
        elif batch_size is None and drop_last:
            raise ValueError(
                "batch_size=None option disables auto-batching and is mutually "
                "exclusive with drop_last"
            )

        if sampler is None:
            if self._dataset_kind == _DatasetKind.Iterable:
                sampler = _InfiniteConstantSampler()
            elif shuffle:
                sampler = RandomSampler(dataset, generator=generator)
            else:
                sampler = SequentialSampler(dataset)
        if batch_size is not None and batch_sampler is None:
            batch_sampler = BatchSampler(sampler, batch_size, drop_last)

        self.batch_size = batch_size
        self.drop_last = drop_last
        self.sampler = sampler
        self.batch_sampler = batch_sampler
        self.generator = generator
        if collate_fn is None:
            collate_fn = default_collate if self._auto_collation else default_convert
        self.collate_fn = collate_fn
        self.persistent_workers = persistent_workers
        self.__initialized = True
        self._iterator = None

    @property
    def multiprocessing_context(self):
        return self.__multiprocessing_context

    @multiprocessing_context.setter
    def multiprocessing_context(self, ctx) -> None:
        if ctx is not None:
            if self.num_workers > 0:
                if isinstance(ctx, str):
                    valid = multiprocessing.get_all_start_methods()
                    if ctx not in valid:
                        raise ValueError(
                            "multiprocessing_context option should specify a valid start "
                            f"method in {valid!r}, but got multiprocessing_context={ctx!r}"
                        )
                    ctx = multiprocessing.get_context(ctx)
                if not isinstance(ctx, multiprocessing.context.BaseContext):
                    raise TypeError(
                        "multiprocessing_context option should be a valid context object or a "
                        "string specifying the start method, but got "
                        f"multiprocessing_context={ctx}"
                    )
            else:
                raise ValueError(
                    "multiprocessing_context can only be used with multi-process loading "
                    f"(num_workers > 0), but got num_workers={self.num_workers}"
                )
        self.__multiprocessing_context = ctx

    def __setattr__(self, attr, val) -> None:
        if self.__initialized and attr in (
            "batch_size",
            "batch_sampler",
            "sampler",
            "drop_last",
            "dataset",
            "persistent_workers",
        ):
            raise ValueError(
                f"{attr} attribute should not be set after {self.__class__.__name__} is initialized"
            )
        super().__setattr__(attr, val)

    @property
    def _auto_collation(self) -> bool:
        return self.batch_sampler is not None

    @property
    def _index_sampler(self):
        return self.batch_sampler if self._auto_collation else self.sampler

    def _get_iterator(self):
        if self.num_workers == 0:
            return _SingleProcessDataLoaderIter(self)
        return _MultiProcessingDataLoaderIter(self)

    def __iter__(self):
        """A fresh iterator (or, with persistent_workers, the same workers restarted)."""
        if self.persistent_workers and self.num_workers > 0:
            if self._iterator is None or self._iterator._shutdown:
                self._iterator = self._get_iterator()
            else:
                self._iterator._reset(self)
            return self._iterator
        return self._get_iterator()

    def __len__(self) -> int:
        if self._dataset_kind == _DatasetKind.Iterable:
            length = len(self.dataset)
            if self.batch_size is not None:
                length = (
                    length // self.batch_size
                    if self.drop_last
                    else math.ceil(length / self.batch_size)
                )
            return length
        return len(self._index_sampler)


class _BaseDataLoaderIter:
    def __init__(self, loader: DataLoader) -> None:
        self._dataset = loader.dataset
        self._dataset_kind = loader._dataset_kind
        self._auto_collation = loader._auto_collation
        self._drop_last = loader.drop_last
        self._index_sampler = loader._index_sampler
        self._num_workers = loader.num_workers
        self._prefetch_factor = loader.prefetch_factor
        self._pin_memory = loader.pin_memory
        self._timeout = loader.timeout
        self._collate_fn = loader.collate_fn
        # torch's order: the sampler's iterator made first (a lazy one draws nothing yet), then
        # the base seed drawn from the loader's generator, every epoch even without workers
        self._sampler_iter = iter(self._index_sampler)
        self._base_seed = _seed_from(loader.generator)
        self._persistent_workers = loader.persistent_workers
        self._num_yielded = 0

    def __iter__(self):
        return self

    def _reset(self, loader: DataLoader, first_iter: bool = False) -> None:
        self._sampler_iter = iter(self._index_sampler)
        self._num_yielded = 0

    def _next_index(self):
        return next(self._sampler_iter)

    def _next_data(self):
        raise NotImplementedError

    def __next__(self):
        data = self._next_data()
        self._num_yielded += 1
        return data

    def __len__(self) -> int:
        return len(self._index_sampler)

    def __getstate__(self):
        raise NotImplementedError(f"{self.__class__.__name__} cannot be pickled")


class _SingleProcessDataLoaderIter(_BaseDataLoaderIter):
    def __init__(self, loader: DataLoader) -> None:
        super().__init__(loader)
        self._fetcher = _DatasetKind.create_fetcher(
            self._dataset_kind,
            self._dataset,
            self._auto_collation,
            self._collate_fn,
            self._drop_last,
        )

    def _next_data(self):
        index = self._next_index()
        data = self._fetcher.fetch(index)
        return _pin(data) if self._pin_memory else data


def _worker_error(w) -> RuntimeError | None:
    """The error for a worker process that has exited (None while it runs)."""
    code = w.exitcode
    if code is None:
        return None
    if code < 0:
        try:
            name = signal.strsignal(-code) or f"signal {-code}"
        except ValueError:
            name = f"signal {-code}"
        return RuntimeError(f"DataLoader worker (pid {w.pid}) is killed by signal: {name}. ")
    return RuntimeError(
        f"DataLoader worker (pid {w.pid}) exited unexpectedly with exit code {code}. Details "
        "are lost due to multiprocessing. Rerunning with num_workers=0 may give better error "
        "trace."
    )


class _MultiProcessingDataLoaderIter(_BaseDataLoaderIter):
    """Worker processes fetch; this process schedules tasks and reorders their results."""

    def __init__(self, loader: DataLoader) -> None:
        super().__init__(loader)
        ctx = loader.multiprocessing_context or multiprocessing.get_context()
        self._shutdown = False
        self.in_order = loader.in_order
        self._worker_init_fn = loader.worker_init_fn
        self._shm_prefix = f"ember_dl_{os.getpid()}_{next(_iter_ids)}"
        shared_memory.ensure_tracker()
        # segments whose batches this process has dropped, (name, size), filled from the
        # arrays' finalizers (any thread); handed back to their workers with the next tasks
        recycled: collections.deque = collections.deque()
        self._recycled = recycled
        self._recycle = lambda name, size: recycled.append((name, size))
        self._free_for: list[list] = [[] for _ in range(self._num_workers)]
        self._worker_result_queue = _ResultQueue(ctx=ctx)
        self._workers_done_event = ctx.Event()
        self._index_queues = []
        self._workers = []
        try:
            for i in range(self._num_workers):
                iq = ctx.Queue()
                iq.cancel_join_thread()
                w = ctx.Process(
                    target=_worker_loop,
                    args=(
                        self._dataset_kind,
                        self._dataset,
                        iq,
                        self._worker_result_queue,
                        self._workers_done_event,
                        self._auto_collation,
                        self._collate_fn,
                        self._drop_last,
                        self._base_seed,
                        self._worker_init_fn,
                        i,
                        self._num_workers,
                        self._shm_prefix,
                    ),
                    daemon=True,
                )
                w.start()
                self._index_queues.append(iq)
                self._workers.append(w)
        except BaseException:
            self._shutdown_workers()
            raise
        self._reset(loader, first_iter=True)

    def _reset(self, loader: DataLoader, first_iter: bool = False) -> None:
        super()._reset(loader, first_iter)
        self._send_idx = 0  # the next task's index
        self._rcvd_idx = 0  # the task whose batch is due next (in order)
        self._task_info: dict[int, tuple] = {}  # task -> (worker,) or (worker, batch)
        self._in_flight = 0  # tasks sent and not yet handed out (or skipped)
        self._worker_tasks = [0] * self._num_workers
        self._workers_status = [True] * self._num_workers
        self._worker_cycle = itertools.cycle(range(self._num_workers))
        if not first_iter:
            # persistent workers: restart each one and drop results left from the last epoch
            for q in self._index_queues:
                q.put(_ResumeIteration())
            pending = self._num_workers
            while pending > 0:
                idx, _ = self._get_data()
                if isinstance(idx, _ResumeIteration):
                    pending -= 1
        for _ in range(self._prefetch_factor * self._num_workers):
            self._try_put_index()

    def _try_put_index(self) -> None:
        max_tasks = self._prefetch_factor * self._num_workers
        if self._in_flight >= max_tasks:
            return
        try:
            index = self._next_index()
        except StopIteration:
            return
        active = sum(self._workers_status)
        for _ in range(self._num_workers):
            wid = next(self._worker_cycle)
            if self._workers_status[wid] and (
                self.in_order or self._worker_tasks[wid] < max_tasks // active
            ):
                break
        else:
            return
        self._index_queues[wid].put((self._send_idx, index, self._segments_for(wid)))
        self._task_info[self._send_idx] = (wid,)
        self._worker_tasks[wid] += 1
        self._in_flight += 1
        self._send_idx += 1

    def _segments_for(self, wid: int) -> list:
        """The dropped batches' segments that worker ``wid`` made, to write new batches into."""
        start = len(self._shm_prefix) + 1  # names are <prefix>_<worker>_<n> (worker.py)
        while self._recycled:
            name, size = self._recycled.popleft()
            self._free_for[int(name[start:].split("_", 1)[0])].append((name, size))
        segs, self._free_for[wid] = self._free_for[wid], []
        return segs

    def _retire(self, idx: int) -> tuple | None:
        """Forget task ``idx`` (delivered or skipped): its slot may take a new task."""
        info = self._task_info.pop(idx, None)
        if info is not None:
            self._in_flight -= 1
            self._worker_tasks[info[0]] -= 1
        return info

    def _check_workers(self) -> None:
        for w in self._workers:  # workers only exit when told to, so any exit is an error
            err = _worker_error(w) if not w.is_alive() else None
            if err is not None:
                self._shutdown_workers(graceful=False)
                raise err

    def _get_data(self):
        """The next (task_idx, batch) from any worker; raises on timeout or a dead worker."""
        deadline = time.monotonic() + self._timeout if self._timeout > 0 else None
        while True:
            wait = _POLL_INTERVAL
            if deadline is not None:
                wait = min(wait, max(deadline - time.monotonic(), 0.0))
            try:
                idx, data = self._worker_result_queue.get(timeout=wait)
            except queue.Empty:
                self._check_workers()
                if deadline is not None and time.monotonic() >= deadline:
                    self._shutdown_workers(graceful=False)
                    raise RuntimeError(
                        f"DataLoader timed out after {self._timeout} seconds"
                    ) from None
                continue
            except (EOFError, OSError, ConnectionError) as e:
                self._check_workers()
                raise RuntimeError("DataLoader workers exited unexpectedly") from e
            return idx, shared_memory.rebuild(data, self._recycle)

    def _next_data(self):
        while True:
            while self._rcvd_idx < self._send_idx:
                info = self._task_info.get(self._rcvd_idx)
                if info is not None and (len(info) == 2 or self._workers_status[info[0]]):
                    break
                if info is not None:  # its worker's stream has ended: no batch will come
                    self._retire(self._rcvd_idx)
                    self._try_put_index()
                self._rcvd_idx += 1
            else:
                if not self._persistent_workers:
                    self._shutdown_workers()
                raise StopIteration
            if len(self._task_info[self._rcvd_idx]) == 2:
                data = self._retire(self._rcvd_idx)[1]
                self._rcvd_idx += 1
                return self._process_data(data)
            idx, data = self._get_data()
            if isinstance(idx, _ResumeIteration):
                continue
            if isinstance(data, _IterableDatasetStopIteration):
                self._workers_status[data.worker_id] = False
                self._retire(idx)
                self._try_put_index()
                continue
            if idx != self._rcvd_idx:
                if idx not in self._task_info:
                    continue
                if not self.in_order:  # hand it out now; the in-order scan skips it later
                    self._retire(idx)
                    return self._process_data(data)
                self._task_info[idx] += (data,)
                continue
            self._retire(idx)
            self._rcvd_idx += 1
            return self._process_data(data)

    def _process_data(self, data):
        self._try_put_index()
        if isinstance(data, ExceptionWrapper):
            data.reraise()
        return _pin(data) if self._pin_memory else data

    def _shutdown_workers(self, graceful: bool = True) -> None:
        """Stop every worker (asking first, then terminating), close queues, free segments.

        ``graceful=False`` (after a timeout or a dead worker) terminates without waiting.
        """
        if self._shutdown or not hasattr(self, "_workers"):
            return
        self._shutdown = True
        try:
            self._workers_done_event.set()
            for wid, w in enumerate(self._workers):
                if w.is_alive():
                    try:
                        self._index_queues[wid].put(None)
                    except (OSError, ValueError):
                        pass
            deadline = time.monotonic() + (_SHUTDOWN_GRACE if graceful else 0.0)
            for w in self._workers:
                w.join(timeout=max(deadline - time.monotonic(), 0.0))
            for w in self._workers:
                if w.is_alive():
                    w.terminate()
                    w.join(timeout=1.0)
                    if w.is_alive():
                        w.kill()
                        w.join()
            for q in self._index_queues:
                q.cancel_join_thread()
                q.close()
            self._worker_result_queue.cancel_join_thread()
            self._worker_result_queue.close()
        finally:
            shared_memory.unlink_prefix(self._shm_prefix)

    def __del__(self) -> None:
        try:
            self._shutdown_workers()
        except Exception:  # at interpreter teardown module globals may already be gone
            pass
