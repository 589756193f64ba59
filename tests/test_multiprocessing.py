"""torch.multiprocessing: the standard module's names, spawn/start_processes (each rank runs,
a child's exception or exit code raised in the parent as torch's errors) and the sharing
strategies, against torch."""

from __future__ import annotations

import os
import sys

import pytest

import ember
import ember.multiprocessing as emp
from tests._support.torch_ref import torch


def _write_rank(i, folder, value):
    with open(os.path.join(folder, f"rank{i}"), "w") as f:
        f.write(f"{value + i}")


def _fail_on_one(i):
    if i == 1:
        raise ValueError("rank one failed")


def _exit_three(i):
    sys.exit(3)


def test_standard_names_are_there():
    import multiprocessing

    for name in ("Process", "Queue", "Pool", "get_context", "set_start_method", "cpu_count"):
        assert getattr(emp, name) is getattr(multiprocessing, name)
    assert ember.multiprocessing is emp


@pytest.mark.parametrize("method", ["spawn", "fork"])
def test_start_processes_runs_every_rank(tmp_path, method):
    emp.start_processes(_write_rank, args=(str(tmp_path), 10), nprocs=2, start_method=method)
    assert sorted(p.read_text() for p in tmp_path.iterdir()) == ["10", "11"]


def test_spawn_raises_the_childs_error():
    with pytest.raises(emp.ProcessRaisedException) as err:
        emp.spawn(_fail_on_one, nprocs=2)
    assert "-- Process 1 terminated with the following error:" in str(err.value)
    assert "ValueError: rank one failed" in str(err.value)
    assert err.value.error_index == 1


def test_spawn_reports_an_exit_code():
    with pytest.raises(emp.ProcessExitedException, match="process 0 terminated with exit code 3"):
        emp.start_processes(_exit_three, nprocs=1, start_method="fork")


def test_join_false_gives_a_context(tmp_path):
    ctx = emp.spawn(_write_rank, args=(str(tmp_path), 0), nprocs=1, join=False)
    assert isinstance(ctx, emp.ProcessContext) and len(ctx.pids()) == 1
    while not ctx.join():
        pass
    assert (tmp_path / "rank0").read_text() == "0"


def test_sharing_strategies_as_torch():
    import torch.multiprocessing as tmp

    assert emp.get_all_sharing_strategies() == tmp.get_all_sharing_strategies()
    assert emp.get_sharing_strategy() == tmp.get_sharing_strategy()
    emp.set_sharing_strategy("file_system")
    assert emp.get_sharing_strategy() == "file_system"
    emp.set_sharing_strategy("file_descriptor")
    with pytest.raises(AssertionError):
        emp.set_sharing_strategy("nope")
    assert torch is not None
