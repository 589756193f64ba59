"""The language-model building blocks (GELU both forms, SiLU, LayerNorm, embedding, cross-entropy
over a large vocabulary) against torch, values and gradients, plus float64 gradchecks."""

from __future__ import annotations

import math

import numpy as np
import pytest

import ember
from tests._support.ops_check import compare
from tests._support.torch_ref import torch


def _t(shape, seed=0, dtype=np.float32, scale=2.0):
    a = (np.random.default_rng(seed).standard_normal(shape) * scale).astype(dtype)
    return ember.tensor(a, requires_grad=True)


@pytest.mark.parametrize("approx", ["none", "tanh"])
@pytest.mark.parametrize("shape", [(), (7,), (3, 5, 16)])
def test_gelu_matches_torch(approx, shape):
    x = _t(shape)
    compare(lambda m, a: m.nn.functional.gelu(a, approximate=approx), x)


def test_exact_gelu_big_and_strided_inputs():
    """Exact GELU on a float32 activation of nanoGPT's size and on a strided view of it (the
    sign-bit reflection reads the input's bits through a view): values and gradients against
    torch."""
    compare(lambda m, a: m.nn.functional.gelu(a), _t((8, 64, 512), seed=11))
    compare(lambda m, a: m.nn.functional.gelu(a.transpose(0, 2)), _t((8, 64, 512), seed=11))
    compare(lambda m, a: m.nn.functional.gelu(a[:, ::3, 1::2]), _t((4, 30, 64), seed=12))


@pytest.mark.parametrize("approx", ["none", "tanh"])
def test_gelu_float64_and_extremes(approx):
    a = np.array([-40.0, -8.0, -1e-8, 0.0, 1e-8, 0.5, 3.0, 9.0, 40.0])
    x = ember.tensor(a, requires_grad=True)
    compare(lambda m, v: m.nn.functional.gelu(v, approximate=approx), x, atol=1e-12, rtol=1e-10)
    assert ember.autograd.gradcheck(
        lambda v: ember.nn.functional.gelu(v, approximate=approx),
        (_t((4, 3), seed=3, dtype=np.float64),),
    )


def test_gelu_module():
    x = _t((4, 8), seed=5)
    compare(lambda m, a: m.nn.GELU()(a), x, atol=2e-6)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("ignore", [-100, 3])
def test_cross_entropy_large_vocab_matches_torch(reduction, weighted, ignore):
    rng = np.random.default_rng(7)
    x = _t((40, 1000), seed=8)
    tgt = rng.integers(0, 1000, 40)
    tgt[:5] = 3
    t = ember.tensor(tgt)
    w = ember.tensor(rng.random(1000).astype(np.float32)) if weighted else None

    def f(m, a, b):
        wm = None if w is None else (w if m is ember else torch.from_numpy(w.numpy()))
        return m.nn.functional.cross_entropy(
            a, b, weight=wm, reduction=reduction, ignore_index=ignore
        )

    compare(f, x, t)


@pytest.mark.parametrize("shape", [(300, 1500), (6, 3000, 50)])
def test_cross_entropy_in_cache_blocks_on_threads_matches_torch(shape):
    """Logits of over 1 MiB: the forward runs in blocks of rows on ember's threads (many rows
    per block for 2-d input; a 3-d input's rows are strided), with and without grad."""
    rng = np.random.default_rng(12)
    x = _t(shape, seed=13)
    tshape = (shape[0],) + shape[2:]
    t = ember.tensor(rng.integers(0, shape[1], tshape))
    compare(lambda m, a, b: m.nn.functional.cross_entropy(a, b, reduction="none"), x, t)
    with ember.no_grad():
        got = ember.nn.functional.cross_entropy(x, t)
    want = torch.nn.functional.cross_entropy(
        torch.from_numpy(x.detach().numpy()), torch.from_numpy(t.numpy())
    )
    np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-5)


def test_cross_entropy_unshifted_exps_and_their_fallback_rows_match_torch():
    """Float32 logits of over 1 MiB take the unshifted base-2 exps block by block; blocks with a
    row whose sum overflows (logits near 100), all but vanishes (logits near -200), holds NaN,
    or masks everything with -inf are done again with the row maximum's shift. Values and
    gradients as torch's; -inf entries in an ordinary row stay on the fast path."""
    rng = np.random.default_rng(21)
    a = (rng.standard_normal((240, 2000)) * 3).astype(np.float32)
    a[10] += 100.0
    a[40] -= 200.0
    a[70, 5] = np.nan
    a[100] = -np.inf
    a[130, ::3] = -np.inf
    a[160] *= 10.0
    t = ember.tensor(rng.integers(0, 2000, 240))
    t.numpy()[130] = 1  # a target that is not masked

    def f(m, x, y):
        return m.nn.functional.cross_entropy(x, y, reduction="none")

    compare(f, ember.tensor(a, requires_grad=True), t, atol=1e-4, rtol=1e-5)
    got = ember.nn.functional.cross_entropy(ember.tensor(a), t, reduction="none").numpy()
    assert np.isnan(got[70]) and np.isnan(got[100])
    assert np.isfinite(np.delete(got, [70, 100])).all()


def test_cross_entropy_3d_and_smoothing_and_gradcheck():
    x = _t((2, 5, 3), seed=9)
    t = ember.tensor(np.random.default_rng(1).integers(0, 5, (2, 3)))
    compare(lambda m, a, b: m.nn.functional.cross_entropy(a, b), x, t)
    x = _t((2, 5, 3), seed=9)  # a fresh leaf: compare accumulates into .grad
    compare(lambda m, a, b: m.nn.functional.cross_entropy(a, b, label_smoothing=0.1), x, t)
    x64 = _t((6, 11), seed=10, dtype=np.float64)
    t1 = ember.tensor(np.random.default_rng(2).integers(0, 11, 6))
    f = ember.nn.functional.cross_entropy
    assert ember.autograd.gradcheck(lambda a: f(a, t1), (x64,))
    assert ember.autograd.gradcheck(lambda a: f(a, t1, reduction="none"), (x64,))


def test_cross_entropy_backward_twice_with_retain_graph():
    x = _t((4, 9), seed=11)
    t = ember.tensor(np.array([1, 2, 3, 4]))
    loss = ember.nn.functional.cross_entropy(x, t)
    loss.backward(retain_graph=True)
    g1 = x.grad.numpy().copy()
    loss.backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * g1, rtol=1e-6)


@pytest.mark.parametrize("vocab,n", [(65, 96), (10000, 700), (300, 900)])
@pytest.mark.parametrize("padding_idx", [None, 3])
@pytest.mark.parametrize("scale", [False, True])
def test_embedding_backward_matches_torch(vocab, n, padding_idx, scale):
    rng = np.random.default_rng(vocab + n)
    idx = rng.integers(0, vocab, (n // 7, 7))
    idx[0, :3] = 3  # repeats, and the padding row
    w = _t((vocab, 16), seed=12)

    def f(m, weight, i):
        return m.nn.functional.embedding(
            i, weight, padding_idx=padding_idx, scale_grad_by_freq=scale
        )

    compare(f, w, ember.tensor(idx))


def test_embedding_gradcheck_float64():
    idx = ember.tensor(np.array([[0, 2, 2], [4, 0, 1]]))
    w = _t((5, 3), seed=13, dtype=np.float64)
    assert ember.autograd.gradcheck(lambda a: ember.nn.functional.embedding(idx, a), (w,))


@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("batch_first", [False, True])
def test_lstm_layer_matches_torch(bidirectional, batch_first):
    ember.manual_seed(0)
    m = ember.nn.LSTM(6, 5, 2, bidirectional=bidirectional, batch_first=batch_first)
    tm = torch.nn.LSTM(6, 5, 2, bidirectional=bidirectional, batch_first=batch_first)
    with torch.no_grad():
        for (_, p), (_, tp) in zip(m.named_parameters(), tm.named_parameters()):
            tp.copy_(torch.from_numpy(p.detach().numpy()))
    x = _t((4, 3, 6), seed=14, scale=1.0)
    d = 2 if bidirectional else 1
    h0 = _t((2 * d, 4 if batch_first else 3, 5), seed=15, scale=0.5)
    c0 = _t((2 * d, 4 if batch_first else 3, 5), seed=16, scale=0.5)
    out, (h, c) = m(x, (h0, c0))
    tx, th0, tc0 = (torch.tensor(v.detach().numpy(), requires_grad=True) for v in (x, h0, c0))
    tout, (th, tc) = tm(tx, (th0, tc0))
    w = [
        np.random.default_rng(k).standard_normal(tuple(v.shape)).astype(np.float32)
        for k, v in enumerate((tout, th, tc))
    ]
    (sum((a * ember.tensor(b)).sum() for a, b in zip((out, h, c), w))).backward()
    (sum((a * torch.from_numpy(b)).sum() for a, b in zip((tout, th, tc), w))).backward()
    for e, t in [
        (out, tout),
        (h, th),
        (c, tc),
        (x.grad, tx.grad),
        (h0.grad, th0.grad),
        (c0.grad, tc0.grad),
    ]:
        np.testing.assert_allclose(e.detach().numpy(), t.detach().numpy(), rtol=1e-4, atol=1e-5)
    for (_, p), (_, tp) in zip(m.named_parameters(), tm.named_parameters()):
        np.testing.assert_allclose(p.grad.numpy(), tp.grad.numpy(), rtol=1e-4, atol=1e-5)


def test_lstm_gradcheck_float64():
    ember.manual_seed(1)
    m = ember.nn.LSTM(3, 2, 1).double()
    x = _t((3, 2, 3), seed=17, dtype=np.float64, scale=1.0)
    assert ember.autograd.gradcheck(lambda a: m(a)[0], (x,))


@pytest.mark.parametrize("path", ["compiled", "numpy"])
def test_exact_gelu_float32_accuracy(path, monkeypatch):
    """The float32 exact GELU (its own float32 Phi) against float64 math.erfc: a few ulps for
    |x| <= 2, the relative error bounded in the left tail (where torch's float32 1 + erf loses
    every digit), and the signs of zeros. Both paths: the compiled kernel (where Numba is
    installed) and the NumPy passes. On a grid of 480K points in [-12, 12] the largest bulk
    errors were 9.3 (compiled) and 9.6 (NumPy) ulps, the 99.99th percentile 8.5 (2026-12-05)."""
    from ember.ops import activation as act

    if path == "numpy":
        monkeypatch.setattr(act, "_JIT_MIN", 1 << 62)
    else:
        pytest.importorskip("numba")
    x = np.concatenate([np.linspace(-12, 12, 120001), [0.0, -0.0, 1e-30, -1e-30]])
    x = x.astype(np.float32)
    ref = np.array([v * 0.5 * math.erfc(-v / math.sqrt(2)) for v in x.astype(np.float64)])
    got = ember.nn.functional.gelu(ember.tensor(x)).numpy().astype(np.float64)
    bulk = np.abs(x) <= 2
    assert np.all(np.abs(got - ref)[bulk] <= 10 * np.spacing(np.abs(ref[bulk]).astype(np.float32)))
    tail = (x < -2) & (np.abs(ref) > 1e-30)
    assert np.max(np.abs(got - ref)[tail] / np.abs(ref[tail])) < 3e-5
    assert np.array_equal(np.signbit(got[-4:]), [False, True, False, True])


def test_exact_gelu_threaded_split_matches_one_thread(monkeypatch):
    """Big float32 activations (BERT's FFN: 8 x 128 x 1024) run GELU's forward and backward on
    ember's threads: the same bits as one thread, and torch's values and gradients. (The NumPy
    passes here; the compiled kernels' split is tested in test_jit_kernels.py.)"""
    from ember.ops import activation as act

    monkeypatch.setattr(act, "_JIT_MIN", 1 << 62)
    x = _t((8, 128, 1024), seed=3, scale=3.0)
    a = x.detach().numpy()
    assert a.nbytes >= act._GELU_THREADS_BYTES
    y, t = act._gelu_f32(a)
    t1 = np.empty_like(a)
    act._phi_f32(a, t1)
    assert np.array_equal(t, t1) and np.array_equal(y, a * t1)
    g = np.random.default_rng(4).standard_normal(a.shape).astype(np.float32)
    d = act._gelu_erf_grad(g, a, t)
    assert np.array_equal(d, act._gelu_erf_grad(g, a, t, out=np.empty_like(g)))
    # torch's float32 erf is good to about 1e-7 absolute, so its GELU is off by up to ~1e-6
    # where |x| is large (ember's is within a few ulps, test above)
    compare(lambda m, v: m.nn.functional.gelu(v), x, atol=3e-6, rtol=1e-5)


@pytest.mark.parametrize("name", ["silu", "mish"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_silu_mish_tails(name, dtype):
    """The logistic function behind SiLU and Mish from exp(-|x|): both tails keep their relative
    precision (no 1 - t cancellation), infinities and zeros as torch, values and gradients."""
    a = np.concatenate(
        [np.linspace(-60, 60, 481), [-20.0, -1e-30, -0.0, 0.0, 1e-30, 20.0, -np.inf, np.inf]]
    ).astype(dtype)
    x = ember.tensor(a, requires_grad=True)
    tol = 1e-6 if dtype == np.float32 else 1e-13
    with np.errstate(invalid="ignore"):
        compare(lambda m, v: getattr(m.nn.functional, name)(v), x, atol=1e-30, rtol=tol * 4)


@pytest.mark.parametrize("dtype", [np.complex64, np.complex128])
def test_silu_of_complex_inputs_matches_torch(dtype):
    # torch's x / (1 + exp(-x)) (the real path's logaddexp has no complex loop); like torch,
    # no derivative for complex silu
    rng = np.random.default_rng(2)
    a = (rng.standard_normal(20) + 1j * rng.standard_normal(20)).astype(dtype)
    tol = 1e-5 if dtype == np.complex64 else 1e-12
    e = ember.nn.functional.silu(ember.tensor(a)).numpy()
    t = torch.nn.functional.silu(torch.tensor(a)).numpy()
    np.testing.assert_allclose(e, t, rtol=tol, atol=tol)
    errors = []
    for m in (ember, torch):
        with pytest.raises(RuntimeError) as err:
            m.nn.functional.silu(m.tensor(a, requires_grad=True))
        errors.append(str(err.value))
    assert errors[0] == errors[1]
