"""ember's CPU threads: how many (``set_num_threads``) and a small pool for the memory-bound
passes of convolution, pooling, batch norm, ReLU and split matrix products (im2col, col2im,
layout transposes, window maxima). NumPy releases the GIL inside these loops, so splitting a
pass along its outermost axis uses every core, as torch's OpenMP loops do; BLAS already does.
"""

from __future__ import annotations

import os
import threading

import numpy as np

from . import blas, blas_policy

_settings = {"threads": None}  # what set_num_threads asked for; None: every core
_workers: list = []  # the pool's threads (_Worker), grown on demand
_busy = threading.Lock()  # held while a split runs on the pool
_MIN_BYTES = 1 << 20  # below ~1 MiB a pass is faster on one thread than dispatched
MIN_SPLIT_BYTES = _MIN_BYTES


def get_num_threads() -> int:
    """Threads used for CPU work (the BLAS's own pool; ember records what was asked)."""
    if _settings["threads"] is None:
        if hasattr(os, "sched_getaffinity"):
            return max(1, len(os.sched_getaffinity(0)))
        return os.cpu_count() or 1
    return _settings["threads"]


def set_num_threads(n: int) -> None:
    """Use ``n`` CPU threads: ember's own pool (convolution, pooling) and the BLAS's."""
    if int(n) < 1:
        raise RuntimeError("set_num_threads expects a positive integer")
    _settings["threads"] = int(n)
    if blas.set_threads(int(n)):
        return
    try:  # another BLAS: threadpoolctl, when installed, knows how to limit it
        from threadpoolctl import threadpool_limits  # optional dependency

        threadpool_limits(int(n))
    except ImportError:
        pass


def _threads() -> int:
    return max(1, int(get_num_threads()))


def _reset_after_fork() -> None:
    global _workers, _busy
    # the parent's worker threads do not exist in a forked child, and a split the parent was
    # running holds the lock
    _workers = []
    _busy = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_reset_after_fork)


def _in_pool() -> bool:
    """True on one of the pool's own threads: a nested split runs in place (the pool's workers
    are busy with the outer one, so waiting on them could deadlock)."""
    return threading.current_thread().name.startswith("ember-conv")


class _Worker:
    """One pool thread, handed a part through a pair of locks used as binary semaphores: a
    hand-over and the wait for its end cost 14-20 us here (median, empty parts), where
    concurrent.futures' executor (a queue, a Future and a condition per part) cost 22-67 us;
    a small ResNet's training step makes some 200 of them (2026-12-04, 2-core EPYC VM)."""

    def __init__(self, k: int) -> None:
        self._go = threading.Lock()
        self._go.acquire()
        self._done = threading.Lock()
        self._done.acquire()
        self._job = None
        self._out = None
        self._exc: BaseException | None = None
        threading.Thread(target=self._loop, name=f"ember-conv-{k}", daemon=True).start()

    def _loop(self) -> None:
        while True:
            self._go.acquire()
            fn, lo, hi = self._job
            self._job = None
            try:
                self._out = fn(lo, hi)
            except BaseException as e:  # noqa: BLE001  (handed to the caller, raised there)
                self._exc = e
            self._done.release()

    def start(self, fn, lo: int, hi: int) -> None:
        self._out, self._exc = None, None
        self._job = (fn, lo, hi)
        self._go.release()

    def finish(self):
        """Wait for the part; its result (its exception raised here)."""
        self._done.acquire()
        out, exc = self._out, self._exc
        self._out = self._exc = None
        if exc is not None:
            raise exc
        return out


def _split(t: int, n: int, fn) -> list:
    """``fn`` over ``t`` parts of ``range(n)``: the first in this thread, the rest on the pool;
    every part has finished when this returns (or raises). The parts' results, in order. While
    another thread's split holds the pool, the parts run here, one after another."""
    bounds = [(n * i) // t for i in range(t + 1)]
    if not _busy.acquire(blocking=False):
        return [fn(bounds[i], bounds[i + 1]) for i in range(t)]
    try:
        while len(_workers) < t - 1:
            _workers.append(_Worker(len(_workers)))
        for i in range(1, t):
            _workers[i - 1].start(fn, bounds[i], bounds[i + 1])
        try:
            first = fn(bounds[0], bounds[1])
        finally:
            # every part ends before this returns; the first failure is raised
            rest: list = []
            err = None
            for w in _workers[: t - 1]:
                try:
                    rest.append(w.finish())
                except BaseException as e:  # noqa: BLE001
                    err = err or e
        if err is not None:
            raise err
        return [first] + rest
    finally:
        _busy.release()


def prange(n: int, fn, nbytes: int) -> list:
    """Run ``fn(lo, hi)`` over a split of ``range(n)``: in parallel when the pass moves at least
    ~1 MiB (``nbytes``) and more than one thread is allowed, else in one call. Returns the
    parts' results in order."""
    t = _threads() if nbytes >= _MIN_BYTES and not _in_pool() else 1
    t = min(t, n)
    if t <= 1:
        return [fn(0, n)]
    return _split(t, n, fn)


def alongside(main, helper, nbytes: int) -> bool:
    """Run ``main()`` in this thread and ``helper()`` on every other allowed thread at once (a
    producer and its consumers); returns when all have finished. False, running nothing, when
    one thread would do (``nbytes`` under ~1 MiB, one thread allowed, or already on the pool)."""
    t = _threads() if nbytes >= _MIN_BYTES and not _in_pool() else 1
    if t <= 1:
        return False
    _split(t, t, lambda lo, hi: main() if lo == 0 else helper())
    return True


def add_parts(parts: list):
    """The sum of the threads' partial results in their order, added into the first (each
    part is an array its own thread made)."""
    acc = parts[0]
    for part in parts[1:]:
        acc += part
    return acc


def pblocks(n: int, fn) -> list:
    """Run ``fn(lo, hi)`` over a split of ``range(n)`` on every allowed thread, with the BLAS
    held to one thread meanwhile (each part runs its own matrix products); the parts' results,
    in order. One part, in this thread, when the BLAS's pool cannot be controlled."""
    t = 1 if _in_pool() else min(_threads(), n)
    if t <= 1 or not blas.available():
        return [fn(0, n)]
    blas_policy.record_parallel_blocks()
    with blas.single_threaded():  # held until every part has finished
        return _split(t, n, fn)


_ws = threading.local()


def workspace(slot: str, shape: tuple, dtype, xp):
    """A scratch array of ``shape`` reused across calls (per thread and slot): big temporaries
    such as im2col columns skip the mmap, page faults and kernel zeroing of a fresh array."""
    if xp is not np:
        return xp.empty(shape, dtype)
    n = 1
    for e in shape:
        n *= e
    nbytes = n * np.dtype(dtype).itemsize
    d = _ws.__dict__.setdefault("bufs", {})
    buf = d.get(slot)
    if buf is None or buf.nbytes < nbytes:
        buf = d[slot] = np.empty(nbytes, np.uint8)
    return buf[:nbytes].view(dtype).reshape(shape)


def release_workspaces() -> None:
    """Drop this thread's scratch arrays (they are re-made on the next convolution)."""
    _ws.__dict__.pop("bufs", None)


# an elementwise pass gains from a second thread only from about this size: the hand-over costs
# some 50-100 us. Float32, one thread vs two, ms: relu 2 MiB 0.063 vs 0.114, 4 MiB 0.12 vs 0.16,
# 8 MiB 0.25 vs 0.20, 16 MiB 0.97 vs 0.54; relu's gradient 4 MiB 0.29 vs 0.41, 8 MiB 1.14 vs
# 0.76; hardtanh's gradient 2 MiB 0.17 vs 0.24, 3 MiB 0.25 vs 0.32, 6 MiB 0.65 vs 0.70
_ELEMENTWISE_BYTES = 6 << 20


def elementwise_pays(first, *others, min_bytes: int = _ELEMENTWISE_BYTES) -> bool:
    """Whether ``elementwise`` serves these arrays and pays for its threads: NumPy arrays,
    C-contiguous, of one shape and dtype, the first at least ``min_bytes`` (6 MiB: the size
    from which one memory pass gains; a function of many passes gains from less)."""
    return (
        type(first) is np.ndarray
        and first.nbytes >= min_bytes
        and first.flags.c_contiguous
        and all(
            type(o) is np.ndarray
            and o.dtype == first.dtype
            and o.shape == first.shape
            and o.flags.c_contiguous
            for o in others
        )
    )


def elementwise(fn, out, *arrays) -> None:
    """``fn(out_part, *parts)`` over matching slices of C-contiguous same-shape NumPy arrays,
    split across threads when they are big (one memory pass each: ReLU and its gradient)."""
    n = out.size
    if n == 0:
        return
    flat = [a.reshape(-1) for a in (out,) + arrays]
    rows = 64 if n % 64 == 0 else 1
    views = [f.reshape(rows, -1) for f in flat]

    def run(lo, hi):
        fn(views[0][lo:hi], *(v[lo:hi] for v in views[1:]))

    prange(rows, run, out.nbytes)
