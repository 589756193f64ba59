"""The blocked channels-last conv2d kernels (ops/conv_nhwc.py) against torch, and the thread and
BLAS controls they run under (ops/conv_par.pblocks, _blas, _gemm, _runtime)."""

from __future__ import annotations

import os
import subprocess
import sys
import threading

import numpy as np
import pytest
import torch

import ember
from ember import _blas, _runtime
from ember.ops import _gemm, conv_nhwc, conv_par


@pytest.fixture(autouse=True)
def _restore_thread_settings():
    """Tests here change the thread counts: put ember's and the BLAS's back afterwards."""
    from ember.device import _settings

    saved, blas = _settings["threads"], _blas.get_threads()
    yield
    _settings["threads"] = saved
    if blas is not None:
        _blas.set_threads(blas)


CASES = [
    # (N, C, H, W), (Cout, KH, KW), stride, padding, dilation
    ((4, 16, 13, 11), (8, 3, 3), 1, 0, 1),
    ((4, 16, 13, 11), (8, 3, 3), 1, 1, 1),
    ((3, 8, 12, 12), (6, 3, 5), (2, 1), (1, 2), (2, 1)),
    ((5, 64, 9, 9), (4, 1, 1), 1, 0, 1),
    ((5, 64, 9, 9), (4, 1, 1), 2, 0, 1),
    ((2, 8, 7, 7), (5, 4, 4), 3, 2, 2),
    ((3, 16, 10, 10), (12, 3, 3), 2, 1, 1),
    ((2, 12, 8, 9), (7, 2, 3), 1, (1, 2), (2, 2)),
]


def _run(xs, ks, stride, padding, dilation, dtype, bias=True, need_x=True, need_w=True, seed=0):
    rng = np.random.default_rng(seed)
    n, c = xs[:2]
    x = rng.standard_normal(xs).astype(dtype)
    w = rng.standard_normal((ks[0], c) + ks[1:]).astype(dtype)
    b = rng.standard_normal(ks[0]).astype(dtype) if bias else None
    assert conv_nhwc.eligible(x, w, 1)
    out = {}
    for lib in (ember, torch):
        tx = lib.tensor(x, requires_grad=need_x)
        tw = lib.tensor(w, requires_grad=need_w)
        tb = lib.tensor(b, requires_grad=True) if bias else None
        y = lib.nn.functional.conv2d(tx, tw, tb, stride, padding, dilation)
        gy = np.random.default_rng(seed + 1).standard_normal(tuple(y.shape)).astype(dtype)
        y.backward(lib.tensor(gy))
        grads = [None if t is None or t.grad is None else t.grad.numpy() for t in (tx, tw, tb)]
        out[lib.__name__] = [y.detach().numpy()] + grads
    return out["ember"], out["torch"]


def _close(e, t, dtype):
    tol = dict(rtol=1e-10, atol=1e-10) if dtype == np.float64 else dict(rtol=1e-4, atol=1e-4)
    for a, b in zip(e, t):
        assert (a is None) == (b is None)
        if a is not None:
            assert a.dtype == b.dtype and a.shape == b.shape
            np.testing.assert_allclose(a, b, **tol)


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_blocked_conv2d_matches_torch(case, dtype):
    e, t = _run(*case, dtype)
    _close(e, t, dtype)


@pytest.mark.parametrize("need", [(False, True), (True, False)])
def test_only_the_needed_gradients(need):
    e, t = _run((3, 8, 9, 9), (4, 3, 3), 1, 1, 1, np.float64, need_x=need[0], need_w=need[1])
    _close(e, t, np.float64)


def test_no_bias_and_one_image_per_block(monkeypatch):
    monkeypatch.setattr(conv_nhwc, "_BLOCK_BYTES", 1)  # every image its own block
    e, t = _run((5, 16, 8, 8), (6, 3, 3), 1, 1, 1, np.float64, bias=False)
    _close(e, t, np.float64)


def test_without_blas_control_runs_in_one_thread(monkeypatch):
    monkeypatch.setattr(_blas, "available", lambda: False)
    e, t = _run((4, 16, 8, 8), (6, 3, 3), 2, 1, 1, np.float32)
    _close(e, t, np.float32)


def test_one_thread_setting():
    ember.set_num_threads(1)
    e, t = _run((4, 16, 8, 8), (6, 3, 3), 1, 0, 1, np.float64)
    _close(e, t, np.float64)


def test_padding_modes_through_the_module():
    for mode in ("reflect", "circular", "replicate"):
        tm = torch.nn.Conv2d(8, 4, 3, padding=1, padding_mode=mode).double()
        em = ember.nn.Conv2d(8, 4, 3, padding=1, padding_mode=mode).double()
        sd = tm.state_dict()
        em.load_state_dict({k: ember.tensor(v.detach().numpy()) for k, v in sd.items()})
        x = np.random.default_rng(3).standard_normal((3, 8, 6, 7))
        tx, ex = torch.tensor(x, requires_grad=True), ember.tensor(x, requires_grad=True)
        tm(tx).square().sum().backward()
        em(ex).square().sum().backward()
        np.testing.assert_allclose(ex.grad.numpy(), tx.grad.numpy(), rtol=1e-10, atol=1e-10)
        np.testing.assert_allclose(em.weight.grad.numpy(), tm.weight.grad.numpy(), rtol=1e-10)


def test_gradcheck_float64():
    rng = np.random.default_rng(5)
    x = ember.tensor(rng.standard_normal((2, 8, 5, 6)), requires_grad=True)
    w = ember.tensor(rng.standard_normal((3, 8, 3, 3)), requires_grad=True)
    b = ember.tensor(rng.standard_normal(3), requires_grad=True)
    assert conv_nhwc.eligible(x.detach().numpy(), w.detach().numpy(), 1)

    def f(x, w, b):
        return ember.nn.functional.conv2d(x, w, b, stride=(1, 2), padding=1, dilation=(2, 1))

    assert ember.autograd.gradcheck(f, (x, w, b), eps=1e-6, atol=1e-5)


def test_not_eligible_cases_fall_back():
    x = np.zeros((2, 3, 8, 8), np.float32)  # 3 channels: a first layer, NCHW path
    assert not conv_nhwc.eligible(x, np.zeros((4, 3, 3, 3), np.float32), 1)
    x = np.zeros((2, 16, 8, 8), np.float32)
    assert not conv_nhwc.eligible(x, np.zeros((4, 8, 3, 3), np.float32), 2)  # groups
    assert not conv_nhwc.eligible(x.astype(np.float16), np.zeros((4, 16, 3, 3), np.float16), 1)


def test_pblocks_splits_and_nested_calls_run_in_place():
    seen = []

    def inner(lo, hi):
        return hi - lo

    def outer(lo, hi):
        parts = conv_par.pblocks(hi - lo, inner)
        seen.append((threading.current_thread().name, len(parts)))
        return sum(parts)

    assert sum(conv_par.pblocks(10, outer)) == 10
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
        conv_par.pblocks(8, fn)
    if _blas.available():
        assert _blas.get_threads() == ember.get_num_threads()  # restored after the failure


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
        monkeypatch.setattr(_gemm, "_keep_single", lambda s=single: s)
        np.testing.assert_allclose(_gemm.mm(a, b), a @ b, rtol=1e-5, atol=1e-4)
        np.testing.assert_allclose(_gemm.mm(a[None], b), a[None] @ b, rtol=1e-5, atol=1e-4)
    monkeypatch.setattr(_gemm, "_keep_single", lambda: True)
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
    monkeypatch.setattr(conv_par, "last_blocks", [float("inf")])
    assert not _gemm._keep_single()  # the workers sleep at once: nothing to avoid
    monkeypatch.setattr(_runtime, "blas_spin_safe", lambda: False)
    monkeypatch.setattr(conv_par, "last_blocks", [float("-inf")])
    assert not _gemm._keep_single()  # an MLP: spinning workers only help the next product
    conv_par.last_blocks[0] = 0.0
    x = ember.randn(4, 16, 10, 10)
    ember.nn.functional.conv2d(x, ember.randn(8, 16, 3, 3), padding=1)
    if ember.get_num_threads() > 1 and _blas.available():
        assert _gemm._keep_single()  # a CNN: keep ember's threads' cores free


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
        "import os, ember; from ember import _runtime as r; "
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


def test_user_timeout_is_respected():
    code = (
        "import os, ember; "
        "print(os.environ['OPENBLAS_THREAD_TIMEOUT'], ember._runtime.blas_spin_safe())"
    )
    for value, safe in (("20", "False"), ("4", "True")):
        env = {**os.environ, "OPENBLAS_THREAD_TIMEOUT": value}
        r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
        assert r.stdout.split() == [value, safe]


@pytest.mark.parametrize(
    "xs,ks,stride,padding,dilation",
    [((4, 16, 20), (8, 5), 1, 2, 1), ((3, 32, 17), (6, 3), 2, 1, 2), ((2, 64, 9), (5, 1), 1, 0, 1)],
)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_conv1d_runs_as_a_height_one_conv2d(xs, ks, stride, padding, dilation, dtype):
    rng = np.random.default_rng(4)
    x = rng.standard_normal(xs).astype(dtype)
    w = rng.standard_normal((ks[0], xs[1], ks[1])).astype(dtype)
    b = rng.standard_normal(ks[0]).astype(dtype)
    assert conv_nhwc.eligible(x[:, :, None], w[:, :, None], 1)
    res = []
    for lib in (ember, torch):
        tx, tw, tb = (lib.tensor(a, requires_grad=True) for a in (x, w, b))
        y = lib.nn.functional.conv1d(tx, tw, tb, stride, padding, dilation)
        (y * y).sum().backward()
        res.append([y.detach().numpy(), tx.grad.numpy(), tw.grad.numpy(), tb.grad.numpy()])
    _close(res[0], res[1], dtype)


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


TRANSPOSED = [
    # (N, Cin, *S), (Cin, Cout, *K), stride, padding, output_padding, dilation
    ((3, 16, 5, 6), (16, 8, 3, 3), 1, 1, 0, 1),
    ((3, 16, 5, 6), (16, 8, 4, 4), 2, 1, 0, 1),
    ((2, 16, 5, 5), (16, 12, 3, 3), 2, 1, 1, 1),
    ((2, 12, 7, 6), (12, 16, 3, 2), (2, 1), (1, 0), (1, 0), (1, 2)),
    ((3, 16, 9), (16, 16, 5), 2, 2, 1, 1),
]


@pytest.mark.parametrize("case", TRANSPOSED)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_conv_transpose_on_the_blocked_kernels(case, dtype):
    from ember.ops.conv import ConvTransposeNd

    xs, ws, stride, padding, out_pad, dilation = case
    rng = np.random.default_rng(6)
    x = rng.standard_normal(xs).astype(dtype)
    w = rng.standard_normal(ws).astype(dtype)
    b = rng.standard_normal(ws[1]).astype(dtype)
    nsp = len(xs) - 2

    def tup(v):
        return (v,) * nsp if isinstance(v, int) else tuple(v)

    s, p, op, d = tup(stride), tup(padding), tup(out_pad), tup(dilation)
    osz = tuple(
        (xs[2 + i] - 1) * s[i] - 2 * p[i] + d[i] * (ws[2 + i] - 1) + op[i] + 1 for i in range(nsp)
    )
    pads = tuple((e, e) for e in p)
    assert ConvTransposeNd._nhwc_geometry(x, w, s, pads, d, 1, osz) is not None
    res = []
    for lib in (ember, torch):
        tx, tw, tb = (lib.tensor(a, requires_grad=True) for a in (x, w, b))
        f = lib.nn.functional.conv_transpose2d if nsp == 2 else lib.nn.functional.conv_transpose1d
        y = f(tx, tw, tb, stride, padding, out_pad, 1, dilation)
        (y * y).sum().backward()
        res.append([y.detach().numpy(), tx.grad.numpy(), tw.grad.numpy(), tb.grad.numpy()])
    _close(res[0], res[1], dtype)


def test_conv_transpose_output_padding_past_the_stride_falls_back():
    from ember.ops.conv import ConvTransposeNd

    # torch allows output_padding >= stride when it is below the dilation; the convolution it
    # transposes then maps back to a different size, so the NCHW kernels serve it
    x = np.random.default_rng(8).standard_normal((2, 16, 4, 4))
    w = np.random.default_rng(9).standard_normal((16, 8, 3, 3))
    assert ConvTransposeNd._nhwc_geometry(x, w, (1, 1), ((0, 0), (0, 0)), (2, 2), 1, (9, 9)) is None
    res = []
    for lib in (ember, torch):
        tx, tw = lib.tensor(x, requires_grad=True), lib.tensor(w, requires_grad=True)
        y = lib.nn.functional.conv_transpose2d(tx, tw, None, 1, 0, 1, 1, 2)
        y.square().sum().backward()
        res.append([y.detach().numpy(), tx.grad.numpy(), tw.grad.numpy()])
    _close(res[0], res[1], np.float64)
