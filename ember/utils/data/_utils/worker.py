"""What runs inside a DataLoader worker process, and what the worker tells the main process.

A worker reads ``(task_idx, index)`` from its own index queue, fetches and collates that batch,
moves large arrays to shared memory and puts ``(task_idx, batch)`` on the shared result queue.
An exception becomes an ``ExceptionWrapper`` (re-raised in the main process with the worker's
traceback); an exhausted iterable dataset answers ``_IterableDatasetStopIteration``; ``None``
on the index queue means "exit"; ``_ResumeIteration`` restarts a persistent worker's epoch.
"""

from __future__ import annotations

import os
import pickle
import queue
import random
import sys
import traceback
from dataclasses import dataclass
from multiprocessing.queues import Queue as _MPQueue
from typing import Any

import numpy as np

from .... import random as ember_random
from . import shared_memory
from .fetch import _DatasetKind

MP_STATUS_CHECK_INTERVAL = 0.2  # seconds between a worker's checks of its parent and done_event


class KeyErrorMessage(str):
    """A KeyError message that prints its newlines instead of a repr."""

    def __repr__(self) -> str:
        return self


class ExceptionWrapper:
    """An exception caught in a worker, carried to the main process with its traceback text."""

    def __init__(self, exc_info=None, where: str = "in background") -> None:
        if exc_info is None:
            exc_info = sys.exc_info()
        exc_type = exc_info[0]
        try:
            pickle.dumps(exc_type)
        except Exception:
            exc_type = RuntimeError  # an unimportable exception class cannot cross processes
        self.exc_type = exc_type
        self.exc_msg = "".join(traceback.format_exception(*exc_info))
        self.where = where

    def reraise(self):
        """Raise the wrapped exception (same type when it can be built from a message)."""
        msg = f"Caught {self.exc_type.__name__} {self.where}.\nOriginal {self.exc_msg}"
        if self.exc_type is KeyError:
            msg = KeyErrorMessage(msg)
        elif getattr(self.exc_type, "message", None):
            raise self.exc_type(message=msg)
        try:
            exc = self.exc_type(msg)
        except Exception:
            raise RuntimeError(msg) from None
        raise exc


class _ResultQueue(_MPQueue):
    """The shared result queue: a result that fails to pickle is answered with that error.

    (A plain queue only prints the error in its feeder thread and loses the item, which would
    leave the main process waiting for a batch that never comes.)
    """

    worker_id = -1

    def _on_queue_feeder_error(self, e, obj):  # called from the queue's feeder thread
        if isinstance(obj, tuple) and len(obj) == 2 and isinstance(obj[0], int):
            where = f"in DataLoader worker process {self.worker_id}"
            self.put((obj[0], ExceptionWrapper(sys.exc_info(), where=where)))
        else:
            traceback.print_exc()


@dataclass(frozen=True)
class _IterableDatasetStopIteration:
    worker_id: int


@dataclass(frozen=True)
class _ResumeIteration:
    seed: int | None = None


class WorkerInfo:
    """What ``get_worker_info()`` returns inside a worker: id, num_workers, seed, dataset."""

    id: int
    num_workers: int
    seed: int
    dataset: Any
    __initialized = False

    def __init__(self, **kwargs) -> None:
        for k, v in kwargs.items():
            setattr(self, k, v)
        self.__keys = tuple(kwargs.keys())
        self.__initialized = True

    def __setattr__(self, key, val) -> None:
        if self.__initialized:
            raise RuntimeError(f"Cannot assign attributes to {self.__class__.__name__} objects")
        return super().__setattr__(key, val)

    def __repr__(self) -> str:
        items = ", ".join(f"{k}={getattr(self, k)}" for k in self.__keys)
        return f"{self.__class__.__name__}({items})"


_worker_info: WorkerInfo | None = None


def get_worker_info() -> WorkerInfo | None:
    """Inside a DataLoader worker: that worker's ``WorkerInfo``; in the main process: None."""
    return _worker_info


class ManagerWatchdog:
    """Tells a worker whether the process that started it is still alive."""

    def __init__(self) -> None:
        self.manager_pid = os.getppid()
        self.manager_dead = False

    def is_alive(self) -> bool:
        if not self.manager_dead:
            self.manager_dead = os.getppid() != self.manager_pid
        return not self.manager_dead


def seed_worker(base_seed: int, worker_id: int) -> int:
    """Seed Python's ``random``, NumPy's global RNG and ember's default generator for a worker."""
    seed = base_seed + worker_id
    random.seed(seed)
    ember_random.manual_seed(seed)
    # NumPy's seed as torch derives it (a SeedSequence hash of the worker id and the base seed's
    # two 32-bit halves), so np.random in a worker draws what it draws under torch
    words = [worker_id, base_seed & 0xFFFFFFFF, base_seed >> 32, 0]
    np.random.seed(np.random.SeedSequence(words).generate_state(4))
    return seed


def _worker_loop(
    dataset_kind,
    dataset,
    index_queue,
    data_queue,
    done_event,
    auto_collation,
    collate_fn,
    drop_last,
    base_seed,
    init_fn,
    worker_id,
    num_workers,
    shm_prefix,
) -> None:
    """The body of one worker process (see the module docstring for the protocol)."""
    global _worker_info
    try:
        seed = seed_worker(base_seed, worker_id)
        _worker_info = WorkerInfo(id=worker_id, num_workers=num_workers, seed=seed, dataset=dataset)
        data_queue.worker_id = worker_id
        where = f"in DataLoader worker process {worker_id}"
        init_exception = None
        fetcher = None
        try:
            if init_fn is not None:
                init_fn(worker_id)
            fetcher = _DatasetKind.create_fetcher(
                dataset_kind, dataset, auto_collation, collate_fn, drop_last
            )
        except Exception:
            init_exception = ExceptionWrapper(where=where)
        iteration_end = False
        prefix = f"{shm_prefix}_{worker_id}"
        watchdog = ManagerWatchdog()
        while watchdog.is_alive():
            try:
                r = index_queue.get(timeout=MP_STATUS_CHECK_INTERVAL)
            except queue.Empty:
                # also a way out when the main process's queue feeder is gone (garbage-collected
                # iterator): shutdown sets done_event before it sends the None
                if done_event.is_set():
                    break
                continue
            if isinstance(r, _ResumeIteration):
                data_queue.put((r, None))
                iteration_end = False
                if init_exception is None:
                    fetcher = _DatasetKind.create_fetcher(
                        dataset_kind, dataset, auto_collation, collate_fn, drop_last
                    )
                continue
            if r is None:
                break
            if done_event.is_set() or iteration_end:
                continue
            idx, index, segments = r
            shared_memory.give_back(segments)  # the main process's dropped batches: reuse them
            if init_exception is not None:
                data = init_exception
                init_exception = None
            else:
                try:
                    data = shared_memory.share(fetcher.fetch(index), prefix)
                except Exception as e:
                    if isinstance(e, StopIteration) and dataset_kind == _DatasetKind.Iterable:
                        data = _IterableDatasetStopIteration(worker_id)
                        iteration_end = True
                    else:
                        data = ExceptionWrapper(where=where)
            data_queue.put((idx, data))
            del data, idx, index, r
    except KeyboardInterrupt:  # Ctrl-C reaches the whole process group: exit without flushing
        data_queue.cancel_join_thread()
    if done_event.is_set():
        data_queue.cancel_join_thread()
        data_queue.close()
