"""ember's compiled CPU kernels (``_backend/cpu/jit.py`` and the loops the ops register with it):
the helpers' arithmetic, each kernel run as plain Python against its op's NumPy path, the compiled
kernel against the Python one (where Numba is installed), the split over ember's threads, and the
NumPy paths when Numba is absent or turned off."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

import ember
from ember._backend.cpu import jit, threads
from ember.ops import activation as act
from ember.ops import normalization as nrm
from ember.ops import unary
from tests._support.ops_check import compare
from tests._support.torch_ref import torch

pytestmark = pytest.mark.usefixtures("restore_thread_settings")

needs_numba = pytest.mark.skipif(not jit.available(), reason="Numba not installed (jit extra)")


def _exp2_loop(u, out):
    for i in range(u.size):
        out[i] = jit.exp2_f32(u[i])


def _broken_loop(a):
    for i in range(a.size):
        a[i] = a[i] + "text"


_EXP2 = jit.kernel(_exp2_loop)
_BROKEN = jit.kernel(_broken_loop)


def _ulps(got, ref):
    return np.abs(got.astype(np.float64) - ref) / np.spacing(np.abs(ref).astype(np.float32))


def _exp2_args():
    u = np.concatenate([np.linspace(-130, 0, 4001), [-0.0, -1e-30, -126, -125.5, -0.5, 0.5]])
    return u.astype(np.float32)


def test_exp2_f32_within_an_ulp_as_python():
    u = _exp2_args()
    got = np.array([jit.exp2_f32(v) for v in u], np.float32)
    ref = np.exp2(u.astype(np.float64))
    normal = u > -126
    assert _ulps(got[normal], ref[normal]).max() <= 1.0
    assert np.all(got[~normal] == 0)
    assert jit.exp2_f32(np.float32(np.nan)) == 0  # a NaN argument underflows with the rest


@needs_numba
def test_exp2_f32_compiled_is_the_python_arithmetic():
    u = _exp2_args()
    out = np.empty_like(u)
    assert _EXP2.run(u, out)
    assert np.array_equal(out, np.array([jit.exp2_f32(v) for v in u], np.float32))


@needs_numba
def test_a_kernel_compiles_where_numba_cannot_cache(monkeypatch):
    """No writable cache directory (Numba's njit(cache=True) raises): compiled for the process."""
    import numba  # the jit extra

    real = numba.njit

    def no_cache(*args, cache=False, **kw):
        if cache:
            raise RuntimeError("cannot cache function: no locator available")
        return real(*args, **kw)

    monkeypatch.setattr(numba, "njit", no_cache)
    k = jit.kernel(_exp2_loop)
    u = _exp2_args()
    out = np.empty_like(u)
    assert k.run(u, out)
    assert np.array_equal(out, np.array([jit.exp2_f32(v) for v in u], np.float32))


def test_a_kernel_that_does_not_compile_leaves_the_numpy_path():
    a = np.zeros(4)
    assert _BROKEN.run(a) is False
    assert _BROKEN.run(a) is False  # and stays refused, without trying again
    assert np.all(a == 0)


def _gelu_inputs():
    rng = np.random.default_rng(5)
    special = [0.0, -0.0, 1e-30, -1e-30, 1e-45, -1e-45, np.inf, -np.inf, np.nan, 1e20, -1e20]
    special += [3e38, -3e38, 12.7, -12.7, -13.0, -20.0, 2.0, -2.0]
    x = np.concatenate([rng.standard_normal(300) * 3, np.linspace(-14, 14, 281), special])
    return x.astype(np.float32)


def _python(kernel, *arrays):
    with np.errstate(all="ignore"):  # the loop as plain Python, scalar by scalar
        kernel.py(*arrays)


def _numpy_gelu(x):
    t = np.empty_like(x)
    with np.errstate(all="ignore"):
        act._phi_f32(x, t)
        return x * t, t


def test_gelu_kernels_as_python_match_the_numpy_passes():
    x = _gelu_inputs()
    y, phi = np.empty_like(x), np.empty_like(x)
    _python(act._gelu_fw_loop, x, y, phi)
    y0, t0 = _numpy_gelu(x)
    fin = np.isfinite(x)
    np.testing.assert_allclose(phi[fin], t0[fin], rtol=4e-7, atol=1.2e-7)
    np.testing.assert_allclose(y[fin], y0[fin], rtol=1e-6, atol=1e-30)
    # the non-finite values and the signs of zeros exactly as the NumPy passes give them
    assert np.array_equal(y[~fin], y0[~fin], equal_nan=True)
    assert np.array_equal(np.signbit(y[x == 0]), np.signbit(y0[x == 0]))
    g = np.random.default_rng(6).standard_normal(x.shape).astype(np.float32)
    d = np.empty_like(x)
    _python(act._gelu_bw_loop, g, x, t0, d)
    with np.errstate(all="ignore"):
        d0 = act._gelu_erf_grad(g, x, t0, out=np.empty_like(x))
    np.testing.assert_allclose(d[fin], d0[fin], rtol=1e-6, atol=1e-7)
    assert np.array_equal(np.isnan(d), np.isnan(d0))


@needs_numba
def test_gelu_kernels_compiled_are_the_python_arithmetic():
    x = _gelu_inputs()
    y, phi = np.empty_like(x), np.empty_like(x)
    _python(act._gelu_fw_loop, x, y, phi)
    yc, pc = np.empty_like(x), np.empty_like(x)
    assert act._gelu_fw_loop.run(x, yc, pc)
    assert np.array_equal(yc, y, equal_nan=True) and np.array_equal(pc, phi, equal_nan=True)
    assert np.array_equal(np.signbit(yc), np.signbit(y))
    g = np.random.default_rng(7).standard_normal(x.shape).astype(np.float32)
    d, dc = np.empty_like(x), np.empty_like(x)
    _python(act._gelu_bw_loop, g, x, phi, d)
    assert act._gelu_bw_loop.run(g, x, phi, dc)
    assert np.array_equal(dc, d, equal_nan=True)


@needs_numba
def test_gelu_compiled_split_over_threads_is_one_call():
    """BERT's FFN activations (8 x 128 x 1024 float32): the split over ember's threads gives the
    bits of one call on the whole array, and torch's values and gradients."""
    ember.set_num_threads(2)
    x = (np.random.default_rng(8).standard_normal((8, 128, 1024)) * 3).astype(np.float32)
    assert x.nbytes >= threads.MIN_SPLIT_BYTES
    y, t = act._gelu_f32(x)
    y1, t1 = np.empty_like(x), np.empty_like(x)
    assert act._gelu_fw_loop.run(x.reshape(-1), y1.reshape(-1), t1.reshape(-1))
    assert np.array_equal(y, y1) and np.array_equal(t, t1)
    g = np.random.default_rng(9).standard_normal(x.shape).astype(np.float32)
    d1 = np.empty_like(x)
    assert act._gelu_bw_loop.run(g.reshape(-1), x.reshape(-1), t.reshape(-1), d1.reshape(-1))
    assert np.array_equal(act._gelu_erf_grad(g, x, t), d1)
    xt = ember.tensor(x, requires_grad=True)
    compare(lambda m, v: m.nn.functional.gelu(v), xt, atol=3e-6, rtol=1e-5)


def test_gelu_without_numba_runs_the_numpy_passes():
    """``EMBER_JIT=0``, or Numba's ``NUMBA_DISABLE_JIT=1``: no loop runs (Numba's switch would
    run them interpreted), and GELU's values are the NumPy passes' bits."""
    code = (
        "import numpy as np, ember\n"
        "from ember._backend.cpu import jit\n"
        "from ember.ops import activation as act\n"
        "assert not jit.available()\n"
        "x = (np.random.default_rng(1).standard_normal(1 << 15) * 3).astype(np.float32)\n"
        "t = np.empty_like(x); act._phi_f32(x, t)\n"
        "y = ember.nn.functional.gelu(ember.tensor(x)).numpy()\n"
        "assert np.array_equal(y, x * t)\n"
        "print('ok')\n"
    )
    for var in ("EMBER_JIT", "NUMBA_DISABLE_JIT"):  # ember's switch; Numba's own (interpreted)
        env = dict(os.environ, **{var: "0" if var == "EMBER_JIT" else "1"})
        out = subprocess.run(
            [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120
        )
        assert out.returncode == 0, out.stderr
        assert out.stdout.strip() == "ok"


def _ln_reference(x, w, b, g, eps):
    """Layer norm over the last dim and its gradients, in float64 NumPy."""
    x = x.astype(np.float64)
    mu = x.mean(-1, keepdims=True)
    r = 1 / np.sqrt(((x - mu) ** 2).mean(-1, keepdims=True) + eps)
    h = (x - mu) * r
    y = h * w + b
    gw_ = g * w
    gx = (gw_ - gw_.mean(-1, keepdims=True) - h * (gw_ * h).mean(-1, keepdims=True)) * r
    rows = tuple(range(x.ndim - 1))
    return y, gx, (g * h).sum(rows), g.sum(rows)


@pytest.mark.parametrize("d", [16, 37, 128])
def test_layer_norm_kernels_as_python_match_float64(d):
    rng = np.random.default_rng(d)
    m = 5
    x = (rng.standard_normal((m, d)) * 3 + 1).astype(np.float32)
    x[1] += 5e3  # a mean far from zero: the two-pass variance
    w = rng.standard_normal(d).astype(np.float32)
    b = rng.standard_normal(d).astype(np.float32)
    g = rng.standard_normal((m, d)).astype(np.float32)
    y, xhat = np.empty(m * d, np.float32), np.empty(m * d, np.float32)
    mean, rstd = np.empty(m, np.float32), np.empty(m, np.float32)
    args = (x.reshape(-1), w, b, np.float32(1e-5), d, False, y, xhat, mean, rstd)
    _python(nrm._ln_fw_loop, *args)
    ry, rgx, rgw, rgb = _ln_reference(x, w, b, g, 1e-5)
    # the far row's mean rounds to float32 (spacing 5e-4 at 5e3), as torch's does: a shift of
    # up to 2.5e-4 / std in its xhat
    far = np.arange(m) == 1
    np.testing.assert_allclose(y.reshape(m, d)[~far], ry[~far], rtol=2e-5, atol=2e-5)
    np.testing.assert_allclose(y.reshape(m, d)[far], ry[far], rtol=0, atol=5e-4)
    gx = np.empty(m * d, np.float32)
    gw, gb = np.zeros(d), np.zeros(d)
    _python(nrm._ln_bw_loop, g.reshape(-1), xhat, w, rstd, d, gx, gw, gb)
    np.testing.assert_allclose(gx.reshape(m, d), rgx, rtol=1e-4, atol=5e-4)
    np.testing.assert_allclose(gw, rgw, rtol=1e-4, atol=2e-3)
    np.testing.assert_allclose(gb, rgb, rtol=1e-5, atol=1e-5)


@needs_numba
@pytest.mark.parametrize("affine", [True, False])
@pytest.mark.parametrize(
    "shape, dtype, offset",
    [
        ((12, 64, 128), np.float32, 0.0),  # nanoGPT's rows
        ((8, 128, 256), np.float32, 0.0),  # BERT's
        ((4, 64, 100), np.float32, 3e3),  # rows far from zero mean, d not a multiple of 16
        ((3, 50, 120), np.float64, 1e5),
    ],
)
def test_layer_norm_compiled_matches_torch(shape, dtype, offset, affine):
    ember.set_num_threads(2)
    rng = np.random.default_rng(11)
    x = ember.tensor((rng.standard_normal(shape) + offset).astype(dtype), requires_grad=True)
    assert x.numel() >= nrm._JIT_MIN
    d = shape[-1]
    if affine:
        w = ember.tensor(rng.standard_normal(d).astype(dtype), requires_grad=True)
        b = ember.tensor(rng.standard_normal(d).astype(dtype), requires_grad=True)
        fn = lambda m, a, ww, bb: m.nn.functional.layer_norm(a, (d,), ww, bb)  # noqa: E731
        args = (x, w, b)
    else:
        fn = lambda m, a: m.nn.functional.layer_norm(a, (d,))  # noqa: E731
        args = (x,)
    tol = 1e-10 if dtype == np.float64 else 2e-5
    if offset and dtype == np.float32:
        # inputs at 3e3 carry float32 spacing 2.4e-4, and torch's float32 statistics are off
        # by ~1e-3 there (its output's max error against float64: 1.2e-3; the kernels', with
        # float64 sums: 3.9e-4): checked against float64 instead of torch
        xs = x.detach().numpy()
        wn = w.detach().numpy() if affine else np.ones(d, dtype)
        bn = b.detach().numpy() if affine else np.zeros(d, dtype)
        g = rng.standard_normal(shape).astype(dtype)
        ry, rgx, rgw, rgb = _ln_reference(xs, wn, bn, g.astype(np.float64), 1e-5)
        y = fn(ember, *args)
        y.backward(ember.tensor(g))
        assert np.abs(y.detach().numpy() - ry).max() < 5e-4
        assert np.abs(x.grad.numpy() - rgx).max() < 5e-4
        if affine:
            np.testing.assert_allclose(w.grad.numpy(), rgw, rtol=1e-5, atol=3e-3)
            np.testing.assert_allclose(b.grad.numpy(), rgb, rtol=1e-5, atol=1e-4)
        return
    compare(fn, *args, atol=tol, rtol=tol if dtype == np.float64 else 1e-4)


@needs_numba
def test_layer_norm_compiled_gradcheck_float64(monkeypatch):
    monkeypatch.setattr(nrm, "_JIT_MIN", 1)  # a small input through the kernels
    rng = np.random.default_rng(12)
    x = ember.tensor(rng.standard_normal((3, 4, 7)), requires_grad=True)
    w = ember.tensor(rng.standard_normal(7), requires_grad=True)
    b = ember.tensor(rng.standard_normal(7), requires_grad=True)
    f = lambda a, ww, bb: ember.nn.functional.layer_norm(a, (7,), ww, bb)  # noqa: E731
    assert ember.autograd.gradcheck(f, (x, w, b))
    assert nrm._ln_fw_loop._compiled is not None


@needs_numba
def test_layer_norm_compiled_split_over_threads_is_one_call(monkeypatch):
    """The rows split across ember's threads (from 1 MiB here; by default from
    ``jit.ROWS_SPLIT_BYTES``): each row's values are one call's bits; the weight and bias
    gradients are the parts' sums (float64), equal to one call's to float32 rounding."""
    monkeypatch.setattr(jit, "ROWS_SPLIT_BYTES", 1 << 20)
    ember.set_num_threads(2)
    rng = np.random.default_rng(13)
    x = rng.standard_normal((8, 128, 256)).astype(np.float32)
    assert x.nbytes >= jit.ROWS_SPLIT_BYTES
    w = ember.tensor(rng.standard_normal(256).astype(np.float32), requires_grad=True)
    b = ember.tensor(rng.standard_normal(256).astype(np.float32), requires_grad=True)
    g = rng.standard_normal(x.shape).astype(np.float32)
    outs = []
    for count in (2, 1):
        ember.set_num_threads(count)
        xt = ember.tensor(x, requires_grad=True)
        w.grad = b.grad = None
        y = ember.nn.functional.layer_norm(xt, (256,), w, b)
        y.backward(ember.tensor(g))
        outs.append((y.detach().numpy(), xt.grad.numpy(), w.grad.numpy(), b.grad.numpy()))
    (y2, gx2, gw2, gb2), (y1, gx1, gw1, gb1) = outs
    assert np.array_equal(y2, y1) and np.array_equal(gx2, gx1)
    np.testing.assert_allclose(gw2, gw1, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(gb2, gb1, rtol=1e-6, atol=1e-6)


_ADAMS = [
    ("Adam", {}),
    ("Adam", {"weight_decay": 0.1}),
    ("AdamW", {"weight_decay": 0.1}),
    ("Adam", {"maximize": True, "weight_decay": 0.05}),
    ("AdamW", {"maximize": True}),
]


# 22 tensors of 325,605 values in all: their gathered flat buffer (1.3 MB in float32) is updated
# in one compiled call, split across ember's threads
_ADAM_SHAPES = ((70, 80), (5,)) + ((125, 128),) * 20


def _adam_run(name, kw, dtype, steps=3):
    """Parameters and states after ``steps`` updates of the tensors of ``_ADAM_SHAPES``."""
    ember.set_num_threads(2)
    rng = np.random.default_rng(21)
    ps = [
        ember.tensor(rng.standard_normal(s).astype(dtype), requires_grad=True) for s in _ADAM_SHAPES
    ]
    opt = getattr(ember.optim, name)(ps, lr=1e-2, **kw)
    for _ in range(steps):
        for p in ps:
            p.grad = ember.tensor(rng.standard_normal(p.shape).astype(dtype))
        opt.step()
    st = [opt.state[p] for p in ps]
    return [p.detach().numpy().copy() for p in ps], [
        (s["exp_avg"].numpy().copy(), s["exp_avg_sq"].numpy().copy()) for s in st
    ]


@needs_numba
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name, kw", _ADAMS)
def test_adam_compiled_loop_is_the_numpy_update(name, kw, dtype, monkeypatch):
    """The compiled Adam/AdamW update gives the NumPy passes' bits, step after step (L2 and
    decoupled weight decay, maximize), and torch's values."""
    from ember.optim import adam

    splits = []
    prange = threads.prange
    monkeypatch.setattr(threads, "prange", lambda n, fn, nb: splits.append(n) or prange(n, fn, nb))
    got = _adam_run(name, kw, dtype)
    assert splits  # the compiled update ran split
    monkeypatch.setattr(threads, "prange", prange)
    monkeypatch.setattr(adam, "_JIT_MIN", 1 << 62)
    ref = _adam_run(name, kw, dtype)
    for a, b in zip(got[0], ref[0]):
        assert np.array_equal(a, b)
    for (m1, v1), (m2, v2) in zip(got[1], ref[1]):
        assert np.array_equal(m1, m2) and np.array_equal(v1, v2)
    rng = np.random.default_rng(21)
    tp = [
        torch.tensor(rng.standard_normal(s).astype(dtype), requires_grad=True) for s in _ADAM_SHAPES
    ]
    topt = getattr(torch.optim, name)(tp, lr=1e-2, **kw)
    for _ in range(3):
        for p in tp:
            p.grad = torch.tensor(rng.standard_normal(tuple(p.shape)).astype(dtype))
        topt.step()
    tol = 1e-6 if dtype == np.float32 else 1e-12
    for a, p in zip(got[0], tp):
        np.testing.assert_allclose(a, p.detach().numpy(), rtol=tol, atol=tol)


def _scores():
    """Base-2 float32 scores, rows of 50: ordinary rows, a row masked to -inf but one entry, a
    fully masked row, a row with a NaN, rows far above and below zero."""
    rng = np.random.default_rng(41)
    s = (rng.standard_normal((8, 50)) * 4).astype(np.float32)
    s[1, 1:] = -np.inf
    s[2] = -np.inf
    s[3, 7] = np.nan
    s[4] += 300.0
    s[5] -= 300.0
    s[6, 10] = 500.0  # far past the shift (the max of four columns): the exact row again
    return s


def test_softmax_loops_as_python_match_the_numpy_rows():
    from ember.ops import attention as att

    s = _scores()
    with np.errstate(all="ignore"):
        ref = att._softmax_rows(s.copy(), True, np.exp2)
    rows, n = s.shape
    c = att._row_shift(s)
    e, tot = np.empty_like(s), np.empty(rows, np.float32)
    _python(att._softmax_rows_loop, s.reshape(-1), c, n, e.reshape(-1), tot)
    good = ~np.isnan(tot)
    # rows 1 (one term), 2 (all -inf: exact again), 3 (NaN), 6 (a term past the range)
    assert list(np.flatnonzero(~good)) == [2, 3, 6]
    np.testing.assert_allclose(e[good], ref[good], rtol=1e-6, atol=1e-30)  # exp2: an ulp or two
    rng = np.random.default_rng(42)
    p = ref[good]
    gp = rng.standard_normal(p.shape).astype(np.float32)
    keep = (rng.random(p.shape) > 0.1).astype(np.float32) / np.float32(0.9)
    want = gp * keep * p
    want -= p * want.sum(-1, keepdims=True)
    got = gp.copy()
    _python(att._softmax_grad_loop, got.reshape(-1), p.reshape(-1), keep.reshape(-1), True, n)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


@needs_numba
@pytest.mark.parametrize(
    "shape, mask",
    [
        ((12, 4, 64, 32), "causal"),  # nanoGPT's heads
        ((8, 4, 128, 64), "float"),  # BERT's, with its padding mask
        ((2, 4, 64, 32), "bool"),  # a boolean mask with fully masked rows
    ],
)
def test_attention_compiled_softmax_matches_torch(shape, mask, monkeypatch):
    """Scaled dot-product attention over the compiled softmax loops (forward and backward, the
    rows split across ember's threads from 1 MiB here) against torch."""
    from ember.ops import attention as att

    monkeypatch.setattr(jit, "ROWS_SPLIT_BYTES", 1 << 20)
    ember.set_num_threads(2)
    rng = np.random.default_rng(43)
    B, H, T, D = shape
    assert B * H * T * T >= att._JIT_MIN
    q, k, v = (
        ember.tensor(rng.standard_normal(shape).astype(np.float32), requires_grad=True)
        for _ in range(3)
    )
    kw: dict = {}
    if mask == "causal":
        kw["is_causal"] = True
        args = (q, k, v)
    elif mask == "float":
        keep = np.arange(T)[None, :] < rng.integers(T // 2, T + 1, B)[:, None]
        m = np.where(keep, 0.0, -1e4).astype(np.float32).reshape(B, 1, 1, T)
        args = (q, k, v, ember.tensor(m))
    else:
        m = rng.random((B, 1, T, T)) > 0.3
        m[:, :, 5] = False  # whole rows masked: zeros out, as torch's safe softmax
        args = (q, k, v, ember.tensor(m))
    f = (  # noqa: E731
        (lambda mod, a, b, c: mod.nn.functional.scaled_dot_product_attention(a, b, c, **kw))
        if len(args) == 3
        else (
            lambda mod, a, b, c, mm: mod.nn.functional.scaled_dot_product_attention(
                a, b, c, attn_mask=mm
            )
        )
    )
    compare(f, *args, atol=2e-5, rtol=1e-4)


def _exp_args():
    u = np.concatenate(
        [np.linspace(-87.3, 88.72, 40001), [0.0, -0.0, 88.7228, -87.336, 100.0, -100.0]]
    )
    return np.concatenate([u.astype(np.float32), np.float32([np.inf, -np.inf, np.nan])])


def _exp_loop(u, out):
    for i in range(u.size):
        out[i] = jit.exp_f32(u[i])


_EXP = jit.kernel(_exp_loop)


def test_exp_f32_within_two_ulps_as_python():
    u = _exp_args()
    with np.errstate(all="ignore"):
        got = np.array([jit.exp_f32(v) for v in u], np.float32)
    ref = np.exp(u.astype(np.float64))
    normal = np.isfinite(ref) & (ref >= np.finfo(np.float32).tiny) & (ref <= 3.4e38)
    assert _ulps(got[normal], ref[normal]).max() <= 2.0
    assert got[-5] == np.inf and got[-4] == 0 and got[-3] == np.inf and got[-2] == 0
    assert np.isnan(got[-1])


@needs_numba
def test_exp_f32_compiled_is_the_python_arithmetic():
    u = _exp_args()
    out = np.empty_like(u)
    assert _EXP.run(u, out)
    with np.errstate(all="ignore"):
        ref = np.array([jit.exp_f32(v) for v in u], np.float32)
    assert np.array_equal(out, ref, equal_nan=True)


def _silu_inputs():
    rng = np.random.default_rng(51)
    special = [0.0, -0.0, 1e-30, -1e-30, 88.0, -88.0, -88.5, -89.0, 100.0, -100.0, 3e38, -3e38]
    special += [np.inf, -np.inf, np.nan]
    return np.concatenate([rng.standard_normal(500) * 6, special]).astype(np.float32)


def test_silu_loops_as_python_match_the_numpy_path():
    x = _silu_inputs()
    y = np.empty_like(x)
    _python(act._silu_fw_loop, x, y)
    assert x.size < act._JIT_MIN  # so _silu_fwd runs its NumPy passes
    with np.errstate(all="ignore"):
        y0 = act._silu_fwd(x.copy())
    fin = np.isfinite(y0)
    np.testing.assert_allclose(y[fin], y0[fin], rtol=5e-7, atol=1e-37)
    assert np.array_equal(y[~fin], y0[~fin], equal_nan=True)
    assert np.array_equal(np.signbit(y[x == 0]), np.signbit(y0[x == 0]))
    g = np.random.default_rng(52).standard_normal(x.shape).astype(np.float32)
    d = np.empty_like(x)
    _python(act._silu_bw_loop, g, x, d)
    with np.errstate(all="ignore"):
        d0 = g * act._silu_grad(x)
    fin = np.isfinite(d0)
    np.testing.assert_allclose(d[fin], d0[fin], rtol=2e-6, atol=1e-37)
    assert np.array_equal(np.isnan(d), np.isnan(d0))


@needs_numba
def test_silu_compiled_matches_the_python_run_and_torch():
    x = _silu_inputs()
    y, yc = np.empty_like(x), np.empty_like(x)
    _python(act._silu_fw_loop, x, y)
    assert act._silu_fw_loop.run(x, yc)
    assert np.array_equal(yc, y, equal_nan=True)
    g = np.random.default_rng(53).standard_normal(x.shape).astype(np.float32)
    d, dc = np.empty_like(x), np.empty_like(x)
    _python(act._silu_bw_loop, g, x, d)
    assert act._silu_bw_loop.run(g, x, dc)
    assert np.array_equal(dc, d, equal_nan=True)
    # through F.silu on a tensor big enough for the loops, with the special values in it
    ember.set_num_threads(2)
    big = np.concatenate([np.random.default_rng(54).standard_normal(300_000) * 6, x])
    xt = ember.tensor(big.astype(np.float32), requires_grad=True)
    assert xt.numel() >= act._JIT_MIN
    compare(lambda m, a: m.nn.functional.silu(a), xt, atol=1e-6, rtol=1e-5)


def _logits():
    """Float32 logits, rows of 300: ordinary rows, a row past exp's range, a row far below
    zero, a row with a NaN, a row with an inf, a row of one huge logit."""
    rng = np.random.default_rng(61)
    x = (rng.standard_normal((9, 300)) * 4).astype(np.float32)
    x[1] += 100.0  # the unshifted sum overflows: done again with the shift
    x[2] -= 120.0  # the unshifted terms vanish
    x[3, 17] = np.nan
    x[4, 5] = np.inf
    x[5, 9] = 3e38
    x[6] -= 40.0  # low, but its sum is still trusted (2**-60 floor)
    return x


def test_cross_entropy_loop_as_python_matches_the_numpy_rows():
    from ember.ops import loss as ls

    x = _logits()
    M, n = x.shape
    tc = np.random.default_rng(62).integers(0, n, M)
    e, s, picked = np.empty_like(x), np.empty(M, np.float32), np.empty(M, np.float32)
    _python(ls._ce_rows_loop, x.reshape(-1), tc, n, e.reshape(-1), True, s, picked)
    bad = np.isnan(s)
    assert list(np.flatnonzero(bad)) == [1, 2, 3, 4, 5]  # left to the shift by the maximum
    good = ~bad
    x64 = x[good].astype(np.float64)
    np.testing.assert_allclose(e[good], np.exp(x64), rtol=3e-7, atol=0)
    np.testing.assert_allclose(s[good], np.exp(x64).sum(1), rtol=1e-6)
    assert np.array_equal(picked, x[np.arange(M), tc], equal_nan=True)
    # without ``store`` the sums are the same and the exps are not written
    s2, p2, untouched = np.empty_like(s), np.empty_like(picked), x.copy()
    _python(ls._ce_rows_loop, untouched.reshape(-1), tc, n, untouched.reshape(-1), False, s2, p2)
    assert np.array_equal(untouched, x, equal_nan=True)
    assert np.array_equal(s2, s, equal_nan=True) and np.array_equal(p2, picked, equal_nan=True)


@needs_numba
@pytest.mark.parametrize("ignore", [False, True])
def test_cross_entropy_compiled_rows_match_torch(ignore, monkeypatch):
    """F.cross_entropy over the compiled rows (split across ember's threads from 256 KiB here),
    with the rows the loop leaves to the NumPy shift among them, against torch: the loss and
    the gradient; the compiled sums are the Python run's."""
    from ember.ops import loss as ls

    monkeypatch.setattr(jit, "ROWS_SPLIT_BYTES", 1 << 18)
    ember.set_num_threads(2)
    rng = np.random.default_rng(63)
    x = (rng.standard_normal((400, 1000)) * 3).astype(np.float32)
    x[7] += 100.0
    x[300] -= 120.0
    assert x.size >= ls._CE_JIT_MIN and x.nbytes >= jit.ROWS_SPLIT_BYTES
    t = rng.integers(0, 1000, 400)
    kw = {}
    if ignore:
        t[::7] = -100
        kw["ignore_index"] = -100
    for reduction in ("mean", "sum", "none"):
        compare(
            lambda m, a, b, r=reduction: m.nn.functional.cross_entropy(a, b, reduction=r, **kw),
            ember.tensor(x, requires_grad=True),
            ember.tensor(t),
            atol=2e-5,
            rtol=2e-5,
        )
    M, n = x.shape
    tc = np.where(t < 0, 0, t)
    e, s, p = np.empty_like(x), np.empty(M, np.float32), np.empty(M, np.float32)
    ec, sc, pc = np.empty_like(x), np.empty(M, np.float32), np.empty(M, np.float32)
    _python(ls._ce_rows_loop, x.reshape(-1), tc, n, e.reshape(-1), True, s, p)
    assert ls._ce_rows_loop.run(x.reshape(-1), tc, n, ec.reshape(-1), True, sc, pc)
    assert np.array_equal(ec, e) and np.array_equal(pc, p)
    np.testing.assert_allclose(sc, s, rtol=2e-6)  # the compiled sum is vectorised (reassoc)
    # a NaN logit gives NaN, as torch
    xn = x.copy()
    xn[3, 4] = np.nan
    got = ember.nn.functional.cross_entropy(ember.tensor(xn), ember.tensor(t), reduction="none")
    assert np.isnan(got.numpy()[3]) and np.isfinite(np.delete(got.numpy(), 3)).all()


class _AsPython:
    """A kernel stand-in that runs the loop as plain Python (no Numba needed)."""

    def __init__(self, kernel):
        self.py = kernel.py
        self.calls = 0

    def run(self, *args):
        self.calls += 1
        with np.errstate(all="ignore"):
            self.py(*args)
        return True


def _lstm_grads(bidirectional: bool, seed: int = 71, size=(4, 3, 5, 6)):
    """The input, weight and state gradients of a 2-layer float32 LSTM (dropout 0) whose
    output and final states all carry gradients."""
    T, N, F, H = size
    ember.manual_seed(seed)
    m = ember.nn.LSTM(F, H, 2, bidirectional=bidirectional)
    rng = np.random.default_rng(seed)
    x = ember.tensor(rng.standard_normal((T, N, F)).astype(np.float32), requires_grad=True)
    d = 2 if bidirectional else 1
    h0 = ember.tensor(rng.standard_normal((2 * d, N, H)).astype(np.float32), requires_grad=True)
    c0 = ember.tensor(rng.standard_normal((2 * d, N, H)).astype(np.float32), requires_grad=True)
    out, (hn, cn) = m(x, (h0, c0))
    w = [ember.tensor(rng.standard_normal(t.shape).astype(np.float32)) for t in (out, hn, cn)]
    ((out * w[0]).sum() + (hn * w[1]).sum() + (cn * w[2]).sum()).backward()
    return [x.grad.numpy(), h0.grad.numpy(), c0.grad.numpy()] + [
        p.grad.numpy() for p in m.parameters()
    ]


@pytest.mark.parametrize("bidirectional", [False, True])
def test_lstm_backward_loop_as_python_is_the_numpy_path(bidirectional, monkeypatch):
    """The LSTM layer's backward step loop, run as Python, gives the NumPy backward's bits
    (the same operations in the same order), both directions."""
    from ember.ops import rnn

    monkeypatch.setattr(rnn._LSTMLayer, "_backward_jit", staticmethod(lambda *a: None))
    want = _lstm_grads(bidirectional)
    monkeypatch.undo()
    monkeypatch.setattr(jit, "available", lambda: True)
    loop = _AsPython(rnn._lstm_bw_loop)
    monkeypatch.setattr(rnn, "_lstm_bw_loop", loop)
    got = _lstm_grads(bidirectional)
    assert loop.calls == 4 * (4 if bidirectional else 2)  # T steps per layer and direction
    for g, w in zip(got, want):
        assert np.array_equal(g, w)


@needs_numba
@pytest.mark.parametrize("bidirectional", [False, True])
def test_lstm_backward_loop_compiled_matches_numpy_and_torch(bidirectional, monkeypatch):
    """The compiled backward step loop: the NumPy backward's bits on the word model's layer
    width, and torch's gradients."""
    from ember.ops import rnn

    size = (7, 5, 12, 40)
    monkeypatch.setattr(rnn._LSTMLayer, "_backward_jit", staticmethod(lambda *a: None))
    want = _lstm_grads(bidirectional, 72, size)
    monkeypatch.undo()
    got = _lstm_grads(bidirectional, 72, size)
    for g, w in zip(got, want):
        assert np.array_equal(g, w)
    T, N, F, H = size
    rng = np.random.default_rng(73)
    x = ember.tensor(rng.standard_normal((T, N, F)).astype(np.float32), requires_grad=True)
    ember.manual_seed(3)
    m = ember.nn.LSTM(F, H, 2, bidirectional=bidirectional)
    tm = torch.nn.LSTM(F, H, 2, bidirectional=bidirectional)
    tm.load_state_dict({k: torch.from_numpy(v.numpy()) for k, v in m.state_dict().items()})
    out, (hn, cn) = m(x)
    (out.sum() + hn.sum() + cn.sum()).backward()
    xt = torch.from_numpy(x.detach().numpy()).requires_grad_()
    to, (th, tc) = tm(xt)
    (to.sum() + th.sum() + tc.sum()).backward()
    np.testing.assert_allclose(x.grad.numpy(), xt.grad.numpy(), rtol=1e-4, atol=1e-5)
    for p, tp in zip(m.parameters(), tm.parameters()):
        np.testing.assert_allclose(p.grad.numpy(), tp.grad.numpy(), rtol=1e-4, atol=1e-5)


def _select_inputs(dtype):
    """Activations and gradients with every special value in both (NaN, +-inf, +-0, the bounds
    0 and 6 exactly), 64K of them: past the loops' size limit."""
    rng = np.random.default_rng(41)
    special = np.array([np.nan, np.inf, -np.inf, 0.0, -0.0, 6.0, -6.0, 1e-45, 5.9999995, 3.0])
    x = rng.standard_normal(1 << 16) * 4
    g = rng.standard_normal(1 << 16)
    x[: special.size * special.size] = np.repeat(special, special.size)
    g[: special.size * special.size] = np.tile(special, special.size)
    return x.astype(dtype), g.astype(dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_select_loops_as_python_are_the_numpy_bits(dtype):
    """The relu and hardtanh gradient loops, run as plain Python, give the NumPy passes' bits
    (both are a select of g): NaN and infinite g where the mask is off give 0, a NaN relu output
    keeps g, a NaN hardtanh input gives 0."""
    x, g = _select_inputs(dtype)
    n = 300  # the special values' block and some more (Python speed)
    y = np.maximum(x[:n], 0)
    o, ref = np.empty(n, dtype), np.empty(n, dtype)
    _python(unary._relu_bw_loop, g[:n], y, o)
    unary._relu_grad_part(ref, g[:n], y)
    assert np.array_equal(o.view(np.uint8), ref.view(np.uint8))
    t = np.dtype(dtype).type
    _python(act._hardtanh_bw_loop, g[:n], x[:n], o, t(0.0), t(6.0))
    act._hardtanh_part(ref, g[:n], x[:n], 0.0, 6.0)
    assert np.array_equal(o.view(np.uint8), ref.view(np.uint8))


@needs_numba
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_relu_and_hardtanh_gradients_compiled_once_numba_is_loaded(dtype):
    """With Numba in the process, relu's and hardtanh's gradients run their loops (split over
    ember's threads): the NumPy passes' bits, and torch's values."""
    assert jit.available()  # loads Numba: the gate the loops wait for
    ember.set_num_threads(2)
    x, g = _select_inputs(dtype)
    x, g = x.reshape(16, 64, 64), g.reshape(16, 64, 64)
    y = np.maximum(x, 0)
    ref = np.empty_like(g)
    unary._relu_grad_part(ref, g, y)
    assert np.array_equal(unary._relu_bw(g, x, y).view(np.uint8), ref.view(np.uint8))
    act._hardtanh_part(ref, g, x, -1.5, 6.0)
    got = act._hardtanh_bw(g, x, None, -1.5, 6.0)
    assert np.array_equal(got.view(np.uint8), ref.view(np.uint8))
    finite = np.where(np.isfinite(x), x, 0.5)
    for fn in (
        lambda m, v: m.nn.functional.relu6(v),
        lambda m, v: m.nn.functional.hardtanh(v, -1.5, 2.0),
        lambda m, v: m.nn.functional.relu(v),
    ):
        compare(fn, ember.tensor(finite, requires_grad=True))


def _bn_grads(x, w, b, g):
    xt = ember.tensor(x, requires_grad=True)
    wt = ember.tensor(w, requires_grad=True)
    bt = ember.tensor(b, requires_grad=True)
    y = ember.nn.functional.batch_norm(xt, None, None, wt, bt, training=True)
    y.backward(ember.tensor(g))
    return xt.grad.numpy(), wt.grad.numpy(), bt.grad.numpy()


@needs_numba
@pytest.mark.parametrize("offset", [0.0, 50.0])  # the one-pass form, and the centred one
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_batch_norm_compiled_combine_is_the_numpy_blocks(dtype, offset, monkeypatch):
    """The batch-norm input gradient's compiled loop (split over images across ember's threads;
    it runs once Numba is loaded) gives the NumPy blocks' bits, and torch's values."""
    assert jit.available()  # loads Numba: the gate the loop waits for
    ember.set_num_threads(2)
    rng = np.random.default_rng(31)
    x = (rng.standard_normal((64, 32, 16, 16)) + offset).astype(dtype)
    w = rng.standard_normal(32).astype(dtype)
    b = rng.standard_normal(32).astype(dtype)
    g = rng.standard_normal(x.shape).astype(dtype)
    got = _bn_grads(x, w, b, g)
    monkeypatch.setattr(nrm, "_JIT_MIN", 1 << 62)
    ref = _bn_grads(x, w, b, g)
    for a, r in zip(got, ref):
        assert np.array_equal(a, r)
    xt = ember.tensor(x, requires_grad=True)
    wt = ember.tensor(w, requires_grad=True)
    bt = ember.tensor(b, requires_grad=True)
    tol = 2e-4 if dtype == np.float32 else 1e-10
    compare(
        lambda m, a, ww, bb: m.nn.functional.batch_norm(a, None, None, ww, bb, training=True),
        xt,
        wt,
        bt,
        atol=tol,
        rtol=tol,
    )
