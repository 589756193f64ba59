"""DataLoader with worker processes: order, seeds, persistence, failures and clean shutdown.

Every test is bounded (pytest-timeout and the loader's own ``timeout=``) and checks that no
worker process is left behind.
"""

from __future__ import annotations

import gc
import glob
import multiprocessing as mp
import os
import signal
import subprocess
import sys
import textwrap
import time
from contextlib import contextmanager

import numpy as np
import pytest
import torch.utils.data as tdata

import ember
from ember.utils.data import DataLoader, TensorDataset
from tests._support.datasets import (
    BatchedDataset,
    BigDataset,
    FailingDataset,
    InfoDataset,
    InitDataset,
    KillingDataset,
    PidDataset,
    RangeDataset,
    ShardedIterable,
    SlowDataset,
    UnpicklableDataset,
    bad_init,
    check_same,
    flat,
    identity,
    record_init,
    torch_sharded,
)

pytestmark = pytest.mark.timeout(60)
T = 20  # every loader's timeout= (seconds): a hang fails instead of blocking the suite


def no_children(wait: float = 5.0, before: frozenset = frozenset()) -> bool:
    """True once no child processes other than ``before`` remain (waiting up to ``wait``)."""
    gc.collect()
    end = time.monotonic() + wait
    while set(mp.active_children()) - before and time.monotonic() < end:
        time.sleep(0.05)
    return not set(mp.active_children()) - before


@pytest.fixture(autouse=True)
def _no_leftovers():
    before = frozenset(mp.active_children())  # children of other tests are not ours to check
    yield
    assert no_children(before=before), mp.active_children()
    assert not glob.glob(f"/dev/shm/ember_dl_{os.getpid()}_*")


def epoch(ds, nw, seed=0, **kw):
    ember.manual_seed(seed)
    kw.setdefault("timeout", T if nw else 0)
    return flat(DataLoader(ds, num_workers=nw, **kw))


def test_map_same_batches_for_0_1_2_workers():
    ds = RangeDataset(23)
    for kw in (
        {"batch_size": 4, "shuffle": True},
        {"batch_size": 5, "drop_last": True},
        {"batch_size": None},
    ):
        ref = epoch(ds, 0, **kw)
        assert epoch(ds, 1, **kw) == ref
        assert epoch(ds, 2, **kw) == ref


def test_map_matches_torch_with_workers():
    ds = RangeDataset(11)
    check_same(
        list(DataLoader(ds, batch_size=3, num_workers=2, timeout=T)),
        list(tdata.DataLoader(ds, batch_size=3, num_workers=2, timeout=T)),
    )


@pytest.mark.parametrize("nw", [0, 1, 2, 3])
@pytest.mark.parametrize(
    "kw", [{"batch_size": 3}, {"batch_size": 3, "drop_last": True}, {"batch_size": None}]
)
def test_iterable_sharded_matches_torch(nw, kw):
    extra = {"timeout": T} if nw else {}
    e = list(DataLoader(ShardedIterable(0, 14), num_workers=nw, **kw, **extra))
    t = list(tdata.DataLoader(torch_sharded(0, 14), num_workers=nw, **kw, **extra))
    check_same(e, t)


def test_tensor_dataset_and_shared_memory_batches():
    x = ember.randn(64, 300)
    y = ember.arange(64)
    ds = TensorDataset(x, y)
    ref = [(b[0].numpy().copy(), b[1].tolist()) for b in DataLoader(ds, batch_size=60)]
    got = list(DataLoader(ds, batch_size=60, num_workers=2, timeout=T))  # 72 KB: shared memory
    assert len(got) == 2
    for (rx, ry), (gx, gy) in zip(ref, got):
        assert gx.dtype == ember.float32 and gy.dtype == ember.int64
        assert (gx.numpy() == rx).all() and gy.tolist() == ry
    big = epoch(BigDataset(10), 2, batch_size=4)
    assert big == epoch(BigDataset(10), 0, batch_size=4)


def test_shared_memory_batches_are_mapped_owned_and_leave_no_segment():
    # the main process maps each batch's segment instead of copying it: the batches stay
    # correct, writable and alive after later batches and after the loader is gone, and no
    # segment is left in /dev/shm
    x = ember.randn(64, 300)
    loader = DataLoader(TensorDataset(x), batch_size=32, num_workers=2, timeout=T)
    batches = [b[0] for b in loader]
    del loader
    gc.collect()
    for i, b in enumerate(batches):
        assert b.numpy().flags.writeable
        assert (b.numpy() == x.numpy()[32 * i : 32 * (i + 1)]).all()
        b.add_(1)
        assert (b.numpy() == x.numpy()[32 * i : 32 * (i + 1)] + 1).all()
    if os.path.isdir("/dev/shm"):
        assert not [p for p in glob.glob("/dev/shm/ember_dl_*") if str(os.getpid()) in p]


@pytest.mark.parametrize("persistent", [False, True])
def test_recycled_segments_never_overwrite_a_held_batch(persistent, monkeypatch):
    # a dropped batch's segment goes back to its worker for a later batch; one still held (or a
    # view of it) keeps its segment: every batch keeps its own values, over several epochs
    from ember.utils.data._utils import shared_memory as shm

    names = []
    get = shm._get

    def spy(rec, recycle=None):
        names.append(rec.name)
        return get(rec, recycle)

    monkeypatch.setattr(shm, "_get", spy)
    x = ember.arange(128 * 4096, dtype=ember.float32).reshape(128, 4096)  # 8 rows: 128 KB
    loader = DataLoader(
        TensorDataset(x), batch_size=8, num_workers=2, timeout=T, persistent_workers=persistent
    )
    held = []
    for _ in range(3):
        for i, (b,) in enumerate(loader):
            assert (b.numpy() == x.numpy()[8 * i : 8 * (i + 1)]).all()
            if i % 2 == 0:
                held.append((i, b[1:]))  # a view keeps the whole mapping alive
            del b
            gc.collect()  # the dropped batches' segments go back at once
    for i, v in held:
        assert (v.numpy() == x.numpy()[8 * i + 1 : 8 * (i + 1)]).all()
    if os.path.isdir("/dev/shm"):
        assert len(set(names)) < len(names) == 48  # segments were written again
    del loader
    gc.collect()
    if os.path.isdir("/dev/shm"):
        assert not [p for p in glob.glob("/dev/shm/ember_dl_*") if str(os.getpid()) in p]


def test_given_back_segment_gone_falls_back_to_a_new_one():
    from ember.utils.data._utils import shared_memory as shm

    shm.give_back([("ember_dl_no_such_segment", 4 * 20_000)])
    rec = shm.share(np.ones(20_000, np.float32), f"ember_dl_{os.getpid()}_t")
    assert rec.name != "ember_dl_no_such_segment"
    back = shm.rebuild(rec)
    assert (back == 1).all()
    shm._free.clear()


def test_batched_fetch_in_workers():
    out = epoch(BatchedDataset(10), 2, batch_size=4)
    assert [b[0] for b in out] == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]


def test_results_in_sampler_order_whatever_finishes_first():
    # item 0 is slow: worker 1 finishes items 1, 3, 5 first; the loader still yields in order
    ds = SlowDataset(8, 0.3, slow_index=0)
    assert epoch(ds, 2, batch_size=1) == [[i] for i in range(8)]


def test_worker_info_and_seeds():
    loader = DataLoader(InfoDataset(), batch_size=None, num_workers=2, timeout=T)
    ember.manual_seed(0)
    items = list(loader)
    assert [it[0] for it in items] == [0, 1] * 4 and all(it[1] == 2 for it in items)
    assert all(it[3] for it in items)  # info.dataset is the dataset being read
    seeds = {it[0]: it[2] for it in items}
    assert seeds[1] == seeds[0] + 1
    w0 = [it for it in items if it[0] == 0]
    w1 = [it for it in items if it[0] == 1]
    for k in (4, 5, 6):  # python random, numpy, ember: different streams per worker
        assert w0[0][k] != w1[0][k]
    ember.manual_seed(0)
    assert list(loader) == items  # the same seeds again
    assert list(loader) != items  # a new base seed each epoch
    assert ember.utils.data.get_worker_info() is None


def test_worker_init_fn():
    out = epoch(InitDataset(), 2, batch_size=None, worker_init_fn=record_init)
    assert out == [0, 1, 0, 1]


def test_persistent_workers_and_prefetch():
    before = frozenset(mp.active_children())
    loader = DataLoader(
        PidDataset(),
        batch_size=2,
        num_workers=2,
        persistent_workers=True,
        prefetch_factor=1,
        timeout=T,
    )
    first = flat(loader)
    pids = {p for b in first for p in b}
    assert len(pids) == 2 and os.getpid() not in pids
    for _b in loader:  # break mid-epoch: the next epoch is still complete and correct
        break
    assert flat(loader) == first
    assert len(set(mp.active_children()) - before) == 2  # the same two workers throughout
    del loader, _b
    assert no_children(before=before)


def test_persistent_iterable_restarts_each_epoch():
    loader = DataLoader(
        ShardedIterable(0, 9), batch_size=2, num_workers=2, persistent_workers=True, timeout=T
    )
    a = flat(loader)
    assert flat(loader) == a and sorted(v for b in a for v in b) == list(range(9))
    del loader


def test_break_and_del_shut_workers_down():
    before = frozenset(mp.active_children())
    loader = DataLoader(SlowDataset(100, 0.01), batch_size=2, num_workers=2, timeout=T)
    for _ in loader:
        break
    assert no_children(before=before)
    it = iter(loader)
    next(it)
    assert len(set(mp.active_children()) - before) == 2
    del it
    assert no_children(before=before)


def test_worker_exception_reraised_with_traceback():
    loader = DataLoader(FailingDataset(10, 5), batch_size=2, num_workers=2, timeout=T)
    with pytest.raises(ValueError, match="Caught ValueError in DataLoader worker process 0") as ei:
        list(loader)
    msg = str(ei.value)
    assert "Traceback" in msg and "bad index 5" in msg and "__getitem__" in msg
    del ei
    with pytest.raises(KeyError, match="Caught KeyError in DataLoader worker process 1"):
        list(DataLoader(FailingDataset(4, 1, KeyError), num_workers=2, timeout=T))


def test_worker_init_and_pickling_failures():
    with pytest.raises(RuntimeError, match="init failed in"):
        list(DataLoader(InitDataset(), num_workers=2, worker_init_fn=bad_init, timeout=T))
    with pytest.raises(TypeError, match="cannot pickle Unpicklable"):
        list(DataLoader(UnpicklableDataset(), num_workers=1, collate_fn=identity, timeout=T))


def test_worker_killed_by_signal():
    loader = DataLoader(KillingDataset(20, 3), batch_size=1, num_workers=2, timeout=T)
    with pytest.raises(
        RuntimeError,
        match=r"DataLoader worker \(pid \d+\) is killed by signal: "
        r"Killed",
    ):
        list(loader)


def test_timeout():
    loader = DataLoader(SlowDataset(4, 30.0, slow_index=0), num_workers=1, timeout=0.5)
    t0 = time.monotonic()
    with pytest.raises(RuntimeError, match=r"DataLoader timed out after 0.5 seconds"):
        next(iter(loader))
    assert time.monotonic() - t0 < 5


def test_spawn_context():
    ds = RangeDataset(9)
    ref = epoch(ds, 0, batch_size=2, shuffle=True)
    assert epoch(ds, 2, batch_size=2, shuffle=True, multiprocessing_context="spawn") == ref
    with pytest.raises(ValueError, match="Caught ValueError in DataLoader worker process"):
        list(
            DataLoader(
                FailingDataset(4, 0),
                num_workers=1,
                timeout=T,
                multiprocessing_context=mp.get_context("spawn"),
            )
        )


@contextmanager
def _run_child(code: str):
    """Start a Python child (in its own session) running ``code``; give it and the worker pids
    it prints. On the way out, whatever of them is still alive is killed: a failed or timed-out
    test must not leave a DataLoader iterating for hours."""
    root = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
    env = dict(os.environ, PYTHONPATH=root)
    p = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(code)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    pids: list[int] = []
    try:
        pids += [int(x) for x in p.stdout.readline().split()]
        yield p, pids
    finally:
        for kill, target in [(os.killpg, p.pid)] + [(os.kill, q) for q in pids]:
            try:
                kill(target, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        p.wait(10)
        p.stdout.close()
        p.stderr.close()


def _gone(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/status") as f:
            return "State:\tZ" in f.read()
    except FileNotFoundError:
        return True


CHILD = """
    import multiprocessing as mp, time
    from tests._support.datasets import SlowDataset
    from ember.utils.data import DataLoader
    it = iter(DataLoader(SlowDataset(10**6, 0.01), num_workers=2))
    next(it)
    print(*[p.pid for p in mp.active_children()], flush=True)
    for _ in it:
        pass
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="uses /proc")
def test_workers_exit_when_parent_dies():
    with _run_child(CHILD) as (p, pids):
        assert len(pids) == 2
        p.kill()
        p.wait(10)
        end = time.monotonic() + 10
        while not all(_gone(q) for q in pids) and time.monotonic() < end:
            time.sleep(0.1)
        assert all(_gone(q) for q in pids)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="uses /proc")
@pytest.mark.parametrize("group", [False, True])
def test_ctrl_c_stops_the_program(group):
    with _run_child(CHILD) as (p, pids):
        assert len(pids) == 2
        if group:  # as a terminal's Ctrl-C: the parent and its workers all get SIGINT
            os.killpg(p.pid, signal.SIGINT)
        else:
            p.send_signal(signal.SIGINT)
        # generous: a loaded 2-core machine takes seconds to unwind three processes
        _, err = p.communicate(timeout=60)
        assert p.returncode != 0 and "KeyboardInterrupt" in err
        end = time.monotonic() + 10
        while not all(_gone(q) for q in pids) and time.monotonic() < end:
            time.sleep(0.1)
        assert all(_gone(q) for q in pids)


def test_identity_collate_of_tensor_dataset_through_workers():
    x = ember.randn(40, 600)
    ds = TensorDataset(x)
    got = list(
        DataLoader(
            ds, batch_size=32, num_workers=2, collate_fn=identity, pin_memory=True, timeout=T
        )
    )
    assert [len(b) for b in got] == [32, 8]
    assert (got[0][3][0].numpy() == x.numpy()[3]).all()


@pytest.mark.parametrize("pf", [1, 3])
def test_prefetch_factor_bounds_tasks_in_flight(pf):
    it = iter(DataLoader(RangeDataset(40), num_workers=2, prefetch_factor=pf, timeout=T))
    assert it._send_idx == 2 * pf  # primed: prefetch_factor tasks per worker
    for _ in range(5):
        next(it)
        assert it._send_idx - it._rcvd_idx <= 2 * pf
    assert [b[1].item() for b in it] == [i % 10 for i in range(5, 40)]


def test_in_order_false_hands_out_batches_as_they_come():
    ds = SlowDataset(8, 0.5, slow_index=0)
    out = [b.item() for b in DataLoader(ds, batch_size=1, num_workers=2, in_order=False, timeout=T)]
    assert sorted(out) == list(range(8)) and out[0] != 0
