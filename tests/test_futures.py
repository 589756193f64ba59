"""torch.futures.Future, torch.fork/wait and the small top-level classes (OutOfMemoryError,
AcceleratorError, SymInt...), against torch."""

from __future__ import annotations

import pytest

import ember
from tests._support.torch_ref import torch


@pytest.mark.parametrize("m", [ember, torch], ids=["ember", "torch"])
def test_future_results_and_callbacks(m):
    f = m.futures.Future()
    assert not f.done()
    g = f.then(lambda x: x.value() + 1)
    seen = []
    f.add_done_callback(lambda x: seen.append(x.value()))
    assert not g.done()
    f.set_result(5)
    assert (f.done(), f.wait(), f.value(), g.wait(), seen) == (True, 5, 5, 6, [5])
    with pytest.raises(RuntimeError, match="can only be marked completed once"):
        f.set_result(6)
    late = []
    f.add_done_callback(lambda x: late.append(x.value()))  # already done: runs at once
    assert late == [5]


@pytest.mark.parametrize("m", [ember, torch], ids=["ember", "torch"])
def test_future_errors(m):
    e = m.futures.Future()
    e.set_exception(ValueError("bad"))
    with pytest.raises(ValueError, match="bad"):
        e.wait()
    with pytest.raises(ValueError, match="bad"):
        e.value()
    with pytest.raises(RuntimeError, match="error when running the callback: ValueError: bad"):
        e.then(lambda x: x.value()).wait()
    with pytest.raises(AssertionError, match="not an Exception"):
        m.futures.Future().set_exception("x")


@pytest.mark.parametrize("m", [ember, torch], ids=["ember", "torch"])
def test_collect_and_wait_all(m):
    a, b = m.futures.Future(), m.futures.Future()
    both = m.futures.collect_all([a, b])
    a.set_result(1)
    assert not both.done()
    b.set_result(2)
    assert [x.value() for x in both.wait()] == [1, 2]
    assert m.futures.wait_all([a, b]) == [1, 2]


@pytest.mark.parametrize("m", [ember, torch], ids=["ember", "torch"])
def test_fork_and_wait(m):
    f = m.jit.fork(lambda x, y=1: x * 2 + y, 3, y=0)
    assert isinstance(f, m.Future)
    assert m.jit.wait(f) == 6 and m.wait(m.fork(len, [1, 2])) == 2


def test_top_level_classes_as_torch():
    assert ember.OutOfMemoryError is ember.cuda.OutOfMemoryError
    for name in ("OutOfMemoryError", "AcceleratorError"):
        assert [c.__name__ for c in getattr(ember, name).__mro__] == [
            c.__name__ for c in getattr(torch, name).__mro__
        ]
    for name in ("SymInt", "SymFloat", "SymBool"):
        assert isinstance(getattr(ember, name), type)
        assert not isinstance(3, getattr(ember, name))
