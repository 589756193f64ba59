"""The Winograd F(2x2, 3x3) conv2d kernels (ops/conv_winograd.py) against torch: through the
public conv2d where they serve it (float32, 64+ channels), and called directly in float64 (exact
to rounding) on odd sizes, asymmetric padding and one image per block."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import ember
from ember._backend.cpu import blas as _blas
from ember.ops import conv_taps, conv_winograd

pytestmark = pytest.mark.usefixtures("restore_thread_settings")


def _data(xs, cout, dtype, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(xs).astype(dtype)
    w = rng.standard_normal((cout, xs[1], 3, 3)).astype(dtype)
    b = rng.standard_normal(cout).astype(dtype)
    return x, w, b


def _torch(x, w, b, pads, gy, needs=(True, True, True)):
    tx = torch.tensor(x, requires_grad=needs[0])
    tw = torch.tensor(w, requires_grad=needs[1])
    tb = torch.tensor(b, requires_grad=needs[2])
    xp = torch.nn.functional.pad(tx, (pads[1][0], pads[1][1], pads[0][0], pads[0][1]))
    y = torch.nn.functional.conv2d(xp, tw, tb)
    y.backward(torch.tensor(gy))
    grads = [t.grad.numpy() if n else None for t, n in zip((tx, tw, tb), needs)]
    return [y.detach().numpy()] + grads


KERNEL_CASES = [
    # (N, C, H, W), Cout, ((top, bottom), (left, right))
    ((3, 5, 8, 8), 4, ((1, 1), (1, 1))),
    ((2, 3, 7, 9), 6, ((1, 1), (1, 1))),  # odd output width: a half-used tile column
    ((2, 4, 5, 6), 3, ((0, 0), (0, 0))),
    ((2, 4, 6, 5), 5, ((2, 2), (0, 1))),  # asymmetric, and padding past the kernel's reach
    ((1, 2, 3, 3), 2, ((0, 0), (0, 0))),  # a single output pixel
    ((4, 6, 4, 11), 7, ((1, 0), (2, 1))),
]


@pytest.mark.parametrize("xs,cout,pads", KERNEL_CASES)
def test_kernels_float64_match_torch(xs, cout, pads):
    x, w, b = _data(xs, cout, np.float64)
    y = conv_winograd.forward(x, w, b, pads)
    gy = np.random.default_rng(1).standard_normal(y.shape)
    ref = _torch(x, w, b, pads, gy)
    got = [y, *conv_winograd.backward(gy, x, w, pads, (True, True, True))]
    for a, r in zip(got, ref):
        assert a.dtype == r.dtype and a.shape == r.shape
        np.testing.assert_allclose(a, r, rtol=1e-10, atol=1e-10)


NEEDS = [(True, False, False), (False, True, False), (False, False, True)]


@pytest.mark.parametrize("needs", NEEDS)
def test_only_the_needed_gradients(needs):
    pads = ((1, 1), (1, 1))
    x, w, b = _data((3, 4, 7, 6), 5, np.float64)
    gy = np.random.default_rng(2).standard_normal((3, 5, 7, 6))
    ref = _torch(x, w, b, pads, gy, needs)
    got = conv_winograd.backward(gy, x, w, pads, needs)
    for a, r in zip(got, ref[1:]):
        assert (a is None) == (r is None)
        if a is not None:
            np.testing.assert_allclose(a, r, rtol=1e-10, atol=1e-10)


def test_one_image_per_block_and_one_thread(monkeypatch):
    monkeypatch.setattr(conv_winograd, "_BLOCK_BYTES", 1)
    pads = ((1, 1), (1, 1))
    x, w, b = _data((5, 3, 6, 7), 4, np.float64)
    gy = np.random.default_rng(3).standard_normal((5, 4, 6, 7))
    ref = _torch(x, w, b, pads, gy)
    for threads in (1, 2):
        ember.set_num_threads(threads)
        got = [conv_winograd.forward(x, w, b, pads)]
        got += conv_winograd.backward(gy, x, w, pads, (True, True, True))
        for a, r in zip(got, ref):
            np.testing.assert_allclose(a, r, rtol=1e-10, atol=1e-10)


def _public(x, w, b, padding, lib):
    tx = lib.tensor(x, requires_grad=True)
    tw = lib.tensor(w, requires_grad=True)
    tb = None if b is None else lib.tensor(b, requires_grad=True)
    y = lib.nn.functional.conv2d(tx, tw, tb, 1, padding)
    gy = np.random.default_rng(4).standard_normal(tuple(y.shape)).astype(x.dtype)
    y.backward(lib.tensor(gy))
    return [y.detach().numpy()] + [None if t is None else t.grad.numpy() for t in (tx, tw, tb)]


@pytest.mark.parametrize(
    "xs,cout,padding,bias",
    [
        ((2, 64, 6, 7), 64, 1, True),
        ((3, 64, 5, 5), 72, 0, False),
        ((2, 80, 4, 3), 64, (2, 1), True),
        ((2, 64, 8, 8), 64, "same", False),
    ],
)
def test_conv2d_float32_uses_winograd_and_matches_torch(monkeypatch, xs, cout, padding, bias):
    x, w, b = _data(xs, cout, np.float32)
    b = b if bias else None
    monkeypatch.setattr(conv_winograd, "_min_channels", lambda: 64)  # whatever the BLAS
    assert conv_winograd.eligible(x, w, (1, 1), (1, 1), 1)
    monkeypatch.setattr(conv_taps, "_MAX_POSITIONS", 0)  # small maps: conv_taps serves them
    calls = []
    real = conv_winograd.forward
    monkeypatch.setattr(conv_winograd, "forward", lambda *a: calls.append(1) or real(*a))
    got = _public(x, w, b, padding, ember)
    ref = _public(x, w, b, padding, torch)
    assert calls
    for a, r in zip(got, ref):
        assert (a is None) == (r is None)
        if a is not None:
            assert a.dtype == r.dtype and a.shape == r.shape
            scale = max(1.0, float(np.abs(r).max()))
            np.testing.assert_allclose(a, r, rtol=1e-4, atol=2e-5 * scale)


def test_without_blas_control(monkeypatch):
    monkeypatch.setattr(_blas, "available", lambda: False)
    x, w, b = _data((4, 64, 5, 6), 64, np.float32)
    got = _public(x, w, b, 1, ember)
    ref = _public(x, w, b, 1, torch)
    for a, r in zip(got, ref):
        np.testing.assert_allclose(a, r, rtol=1e-4, atol=1e-3)


def test_gradcheck_float64_through_the_op(monkeypatch):
    # float64 normally takes the im2col kernels: let Winograd serve it to check its gradients
    monkeypatch.setattr(
        conv_winograd, "eligible", lambda x, w, s, d, g: x.ndim == 4 and w.shape[2:] == (3, 3)
    )
    rng = np.random.default_rng(6)
    x = ember.tensor(rng.standard_normal((2, 3, 5, 4)), requires_grad=True)
    w = ember.tensor(rng.standard_normal((2, 3, 3, 3)), requires_grad=True)
    b = ember.tensor(rng.standard_normal(2), requires_grad=True)

    def f(x, w, b):
        return ember.nn.functional.conv2d(x, w, b, padding=(1, 2))

    assert ember.autograd.gradcheck(f, (x, w, b), eps=1e-6, atol=1e-6)


def test_not_eligible_cases():
    # 128 channels: eligible whatever the BLAS's kernel width (64 is with AVX2 kernels only)
    x = np.zeros((2, 128, 8, 8), np.float32)
    w = np.zeros((128, 128, 3, 3), np.float32)
    assert conv_winograd.eligible(x, w, (1, 1), (1, 1), 1)
    assert not conv_winograd.eligible(x, w, (2, 2), (1, 1), 1)  # stride
    assert not conv_winograd.eligible(x, w, (1, 1), (2, 2), 1)  # dilation
    assert not conv_winograd.eligible(x, np.zeros((128, 64, 3, 3), np.float32), (1, 1), (1, 1), 2)
    assert not conv_winograd.eligible(x, np.zeros((128, 128, 5, 5), np.float32), (1, 1), (1, 1), 1)
    assert not conv_winograd.eligible(x.astype(np.float64), w.astype(np.float64), (1, 1), (1, 1), 1)
    assert not conv_winograd.eligible(x[:, :16], w[:16, :16], (1, 1), (1, 1), 1)  # few channels


@pytest.mark.parametrize("wide", [False, True])
def test_channel_threshold_follows_the_blas_kernels(monkeypatch, wide):
    """64-channel layers take Winograd with AVX2 BLAS kernels, not with 512-bit ones; 128-channel
    layers take it with both."""
    monkeypatch.setattr(_blas, "wide_kernels", lambda: wide)
    x64, w64, _ = _data((2, 64, 8, 8), 64, np.float32)
    x128, w128, _ = _data((2, 128, 8, 8), 128, np.float32)
    assert conv_winograd.eligible(x64, w64, (1, 1), (1, 1), 1) == (not wide)
    assert conv_winograd.eligible(x128, w128, (1, 1), (1, 1), 1)


def test_blas_corename_is_reported(monkeypatch):
    name = _blas.corename()
    assert isinstance(name, str)
    if _blas.available():  # NumPy's OpenBLAS answers
        assert name
    for core, wide in (("SkylakeX", True), ("Cooperlake", True), ("Haswell", False), ("", False)):
        monkeypatch.setattr(_blas, "_core", [core])
        assert _blas.wide_kernels() == wide
