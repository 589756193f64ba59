"""CPU tuning in ember._backend.cpu: the thread pool (threads.pblocks), the BLAS thread control
(blas), the policy that keeps products off BLAS threads next to convolutions (blas_policy, gemm),
and the runtime settings applied on import (runtime)."""

from __future__ import annotations

import os
import subprocess
import sys
import threading

import numpy as np
import pytest

import ember
from ember._backend.cpu import blas as _blas
from ember._backend.cpu import blas_policy, threads
from ember._backend.cpu import gemm as _gemm
from ember._backend.cpu import runtime as _runtime

pytestmark = pytest.mark.usefixtures("restore_thread_settings")


def test_pblocks_splits_and_nested_calls_run_in_place():
    seen = []

    def inner(lo, hi):
        return hi - lo

    def outer(lo, hi):
        parts = threads.pblocks(hi - lo, inner)
        seen.append((threading.current_thread().name, len(parts)))
        return sum(parts)

    assert sum(threads.pblocks(10, outer)) == 10
    # a part on a pool thread does not fan out again (it would wait on itself)
    assert all(n == 1 for name, n in seen if name.startswith("ember-conv"))
    if ember.get_num_threads() > 1 and _blas.available():
        assert len(seen) == min(ember.get_num_threads(), 10)


def test_pblocks_waits_for_every_part_and_reraises():
    done = []

    def fn(lo, hi):
        if lo == 0:
            raise ValueError("part failed")
        done.append(lo)
        return lo

    with pytest.raises(ValueError, match="part failed"):
        threads.pblocks(8, fn)
    if _blas.available():
        assert _blas.get_threads() == ember.get_num_threads()  # restored after the failure


@pytest.mark.parametrize("failing", [0, 2])
def test_split_waits_for_every_part_and_raises_the_failure(failing):
    # the part on this thread (0) or one on the pool (2) fails: every other part still ran to
    # its end before the error comes back, and the pool serves the next split
    ended = []

    def fn(lo, hi):
        if lo == failing:
            raise KeyError("part")
        threading.Event().wait(0.01)
        ended.append(lo)
        return lo

    with pytest.raises(KeyError):
        threads._split(4, 4, fn)
    assert sorted(ended) == sorted({0, 1, 2, 3} - {failing})
    assert threads._split(3, 9, lambda lo, hi: (lo, hi)) == [(0, 3), (3, 6), (6, 9)]


def test_split_from_two_threads_at_once():
    # a second caller while the pool is busy runs its parts itself; both get every result
    out = {}
    gate = threading.Barrier(2)

    def caller(k):
        gate.wait()
        out[k] = [threads._split(2, 1000, lambda lo, hi: sum(range(lo, hi))) for _ in range(200)]

    ts = [threading.Thread(target=caller, args=(k,)) for k in range(2)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    want = [sum(range(500)), sum(range(500, 1000))]
    assert out[0] == out[1] == [want] * 200


def test_split_in_a_forked_child():
    if not hasattr(os, "fork"):
        pytest.skip("no fork here")
    threads._split(2, 2, lambda lo, hi: lo)  # the parent's pool exists
    pid = os.fork()
    if pid == 0:  # the child: a fresh pool, not the parent's threads
        ok = threads._split(2, 4, lambda lo, hi: hi - lo) == [2, 2]
        os._exit(0 if ok else 1)
    _, status = os.waitpid(pid, 0)
    assert os.WEXITSTATUS(status) == 0


@pytest.mark.skipif(not _blas.available(), reason="no controllable OpenBLAS in this NumPy")
def test_blas_single_threaded_nests_and_restores():
    ember.set_num_threads(2)
    with _blas.single_threaded():
        assert _blas.get_threads() == 1
        with _blas.single_threaded():
            assert _blas.get_threads() == 1
        assert _blas.get_threads() == 1
        _blas.set_threads(2)  # deferred to the end of the region
        assert _blas.get_threads() == 1
    assert _blas.get_threads() == 2


def test_mm_matches_numpy_when_kept_on_one_blas_thread(monkeypatch):
    rng = np.random.default_rng(0)
    a = rng.standard_normal((96, 300)).astype(np.float32)
    b = rng.standard_normal((300, 80)).astype(np.float32)
    for single in (True, False):
        monkeypatch.setattr(blas_policy, "single_threaded_products", lambda s=single: s)
        np.testing.assert_allclose(_gemm.mm(a, b), a @ b, rtol=1e-5, atol=1e-4)
        np.testing.assert_allclose(_gemm.mm(a[None], b), a[None] @ b, rtol=1e-5, atol=1e-4)
    monkeypatch.setattr(blas_policy, "single_threaded_products", lambda: True)
    for m, k, n in ((300, 200, 160), (64, 300, 700)):  # split by rows, then by columns
        big_a = rng.standard_normal((m, k)).astype(np.float32)
        big_b = rng.standard_normal((k, n)).astype(np.float32)
        monkeypatch.setattr(_gemm, "_SPLIT_FLOPS", m * k * n)
        got = _gemm.mm(big_a, big_b)
        assert got.shape == (m, n) and got.flags.c_contiguous
        np.testing.assert_allclose(got, big_a @ big_b, rtol=1e-5, atol=1e-3)
    x = ember.tensor(a, requires_grad=True)
    y = ember.nn.functional.linear(x, ember.tensor(b.T.copy()))
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), np.ones((96, 80), np.float32) @ b.T, rtol=1e-5)


def test_products_stay_on_one_blas_thread_only_next_to_recent_convolutions(monkeypatch):
    monkeypatch.setattr(_runtime, "blas_spin_safe", lambda: True)
    monkeypatch.setattr(blas_policy, "_last", [float("inf")])
    assert not blas_policy.single_threaded_products()  # the workers sleep at once: nothing to avoid
    monkeypatch.setattr(_runtime, "blas_spin_safe", lambda: False)
    monkeypatch.setattr(blas_policy, "_last", [float("-inf")])
    # an MLP: spinning workers only help the next product
    assert not blas_policy.single_threaded_products()
    blas_policy._last[0] = 0.0
    x = ember.randn(4, 16, 10, 10)
    ember.nn.functional.conv2d(x, ember.randn(8, 16, 3, 3), padding=1)
    if ember.get_num_threads() > 1 and _blas.available():
        assert blas_policy.single_threaded_products()  # a CNN: keep ember's threads' cores free


@pytest.mark.skipif(not _blas.available(), reason="no controllable OpenBLAS in this NumPy")
def test_blas_held_on_one_thread_between_a_convolutions_blocks_and_released_after(monkeypatch):
    """Next to a convolution's blocks the BLAS stays on one thread for every product, not only
    ember's (the others would wake its spinning workers); the count reads as set meanwhile,
    set_threads waits for the release, and the first product past the window releases it."""
    ember.set_num_threads(2)
    ctl = _blas._controls()
    monkeypatch.setattr(_runtime, "blas_spin_safe", lambda: False)
    blas_policy.record_parallel_blocks()
    try:
        assert ctl[1]() == 1  # the library itself: one thread
        assert _blas.get_threads() == 2  # the count ember set
        with _blas.single_threaded():
            assert _blas.get_threads() == 1
        _blas.set_threads(2)  # deferred to the release
        assert ctl[1]() == 1 and blas_policy.single_threaded_products()
        blas_policy._last[0] = float("-inf")  # the convolutions are over a second ago
        assert not blas_policy.single_threaded_products()
        assert ctl[1]() == 2 and _blas.get_threads() == 2
    finally:
        _blas.release_hold()
    monkeypatch.setattr(_runtime, "blas_spin_safe", lambda: True)  # workers sleep at once
    blas_policy.record_parallel_blocks()
    assert ctl[1]() == 2  # nothing held


@pytest.mark.skipif(not _blas.available(), reason="no controllable OpenBLAS in this NumPy")
def test_a_fork_during_the_hold_gives_the_child_its_blas_threads():
    if not hasattr(os, "fork"):
        pytest.skip("no fork here")
    ember.set_num_threads(2)
    _blas.hold_one_thread()
    try:
        pid = os.fork()
        if pid == 0:
            ok = _blas._controls()[1]() == 2 and not _blas._hold[0] and _blas._single[0] == 0
            os._exit(0 if ok else 1)
        _, status = os.waitpid(pid, 0)
        assert os.WEXITSTATUS(status) == 0
    finally:
        _blas.release_hold()
    assert _blas._controls()[1]() == 2


def _py(code: str, env: dict) -> str:
    env = {**os.environ, **env}
    env.pop("OPENBLAS_THREAD_TIMEOUT", None)
    r = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120
    )
    assert r.returncode == 0, r.stderr
    return r.stdout.strip()


def test_runtime_settings_on_import():
    code = (
        "import os, ember; from ember._backend.cpu import runtime as r; "
        "print(os.environ.get('OPENBLAS_THREAD_TIMEOUT'), sorted(r.applied), r.blas_spin_safe())"
    )
    out = _py(code, {})
    # ~1.5 ms of spinning: short, but convolutions still keep products off the workers
    assert out.startswith("22 ") and out.endswith("False")
    if sys.platform.startswith("linux"):
        assert "'malloc'" in out
    # NumPy already loaded: too late for the variable; ember knows its workers may spin
    assert (
        _py("import numpy; " + code, {})
        == "None [" + ("'malloc'" if sys.platform.startswith("linux") else "") + "] False"
    )
    assert _py(code, {"EMBER_TUNE_RUNTIME": "0"}) == "None [] False"


def test_numpy_float_warnings_silent_in_ember_only():
    """torch computes inf and NaN silently; the program's own NumPy code still warns (a fresh
    process with every warning shown, as ``python -W always``)."""
    code = (
        "import warnings; warnings.simplefilter('always'); import numpy as np, ember; "
        "x = ember.tensor([0.0, 1.0, -1.0, float('inf')]); "
        "x / 0; ember.log(x); x * float('inf'); ember.sqrt(x); ember.exp(x * 1e4); "
        "x.to(ember.int32); ember.nn.functional.softmax(ember.full((3,), -float('inf')), 0); "
        "np.log(np.zeros(1))"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    lines = [ln for ln in r.stderr.splitlines() if "Warning" in ln]
    assert len(lines) == 1 and "divide by zero encountered in log" in lines[0], r.stderr
    assert lines[0].startswith("<string>")  # the program's np.log, not ember's


def test_user_timeout_is_respected():
    code = (
        "import os, ember; "
        "print(os.environ['OPENBLAS_THREAD_TIMEOUT'], ember._backend.cpu.runtime.blas_spin_safe())"
    )
    for value, safe in (("20", "False"), ("4", "True")):
        env = {**os.environ, "OPENBLAS_THREAD_TIMEOUT": value}
        r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
        assert r.stdout.split() == [value, safe]


@pytest.mark.skipif(
    not (_blas.available() and hasattr(os, "fork")), reason="needs fork and OpenBLAS controls"
)
def test_fork_inside_a_single_threaded_region_restores_the_child():
    ember.set_num_threads(2)
    with _blas.single_threaded():
        pid = os.fork()
        if pid == 0:  # child: the region's thread is gone, its count must be restored
            os._exit(0 if _blas.get_threads() == 2 and _blas._single[0] == 0 else 1)
        _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0


def test_blas_routines_updates_match_numpy_and_refuse_what_they_cannot_do():
    from ember._backend.cpu import blas_routines

    if not blas_routines.available():
        pytest.skip("no OpenBLAS axpy/axpby in this NumPy")
    rng = np.random.default_rng(0)
    n = blas_routines.MIN_SIZE + 5
    for dt in (np.float32, np.float64):
        tol = dict(rtol=1e-6, atol=1e-6) if dt == np.float32 else dict(rtol=1e-14, atol=1e-14)
        x, y = rng.standard_normal(n).astype(dt), rng.standard_normal(n).astype(dt)
        want = y + dt(-0.3) * x
        assert blas_routines.axpy(-0.3, x, y)
        np.testing.assert_allclose(y, want, **tol)
        want = dt(0.7) * x + dt(0.9) * y
        assert blas_routines.axpby(0.7, x, 0.9, y)
        np.testing.assert_allclose(y, want, **tol)
    x = rng.standard_normal(n).astype(np.float32)
    y = x.copy()
    before = y.copy()
    assert not blas_routines.axpy(0.0, x, y)  # BLAS would skip the update, dropping a NaN in x
    assert not blas_routines.axpby(0.5, x, 0.0, y)  # and y's NaN for a zero b
    assert not blas_routines.axpy(1.0, x[::2], y[: (n + 1) // 2])  # strided
    assert not blas_routines.axpy(1.0, x.astype(np.float64), y)  # dtypes differ
    assert not blas_routines.axpy(1.0, x[:100], y[:100])  # under MIN_SIZE: NumPy is faster
    assert not blas_routines.axpy(1.0, x.astype(np.float16), y.astype(np.float16))
    ro = y.copy()
    ro.flags.writeable = False
    assert not blas_routines.axpy(1.0, x, ro)
    np.testing.assert_array_equal(y, before)


def test_addmm_onto_the_bias_matches_numpy_and_declines_what_it_cannot_do():
    from ember._backend.cpu import blas_routines

    if not blas_routines.available():
        pytest.skip("no OpenBLAS routines in this NumPy")
    rng = np.random.default_rng(1)
    for dt, tol in ((np.float32, 1e-4), (np.float64, 1e-12)):
        x = rng.standard_normal((300, 70)).astype(dt)
        w = rng.standard_normal((250, 70)).astype(dt)
        b = rng.standard_normal(250).astype(dt)
        got = blas_routines.addmm_t(b, x, w)
        assert got.dtype == dt and got.shape == (300, 250)
        np.testing.assert_allclose(got, x @ w.T + b, rtol=tol, atol=tol)
    x32, w32, b32 = (a.astype(np.float32) for a in (x, w, b))
    assert blas_routines.addmm_t(b32, x32[:, ::2], w32[:, ::2]) is None  # strided
    assert blas_routines.addmm_t(b, x32, w32) is None  # the bias's dtype differs
    assert blas_routines.addmm_t(b32[:10], x32[:10], w32[:10]) is None  # 100 outputs: NumPy's
    assert blas_routines.addmm_t(b32, x32.astype(np.float16), w32.astype(np.float16)) is None


def test_linear_with_bias_on_the_gemm_path_matches_torch():
    """Outputs past blas_routines.ADDMM_MIN_SIZE: the bias goes in with the product (torch's
    addmm); values and gradients as torch's, float32 and float64, and 3-d input."""
    from tests._support.ops_check import compare

    rng = np.random.default_rng(2)
    for dt in (np.float32, np.float64):
        x = ember.tensor(rng.standard_normal((4, 90, 64)).astype(dt), requires_grad=True)
        w = ember.tensor(rng.standard_normal((300, 64)).astype(dt), requires_grad=True)
        b = ember.tensor(rng.standard_normal(300).astype(dt), requires_grad=True)
        tol = dict(atol=1e-4, rtol=1e-5) if dt == np.float32 else dict(atol=1e-10, rtol=1e-10)
        compare(lambda m, a, ww, bb: m.nn.functional.linear(a, ww, bb), x, w, b, **tol)
