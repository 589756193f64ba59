"""The blocked channels-last conv2d kernels (ops/conv_nhwc.py) against torch, also under one
thread and without BLAS control (the thread and BLAS machinery itself: tests/backend/)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import ember
from ember._backend.cpu import blas as _blas
from ember.ops import conv_nhwc
from tests._support.ops_check import close_outputs, conv_gradcheck

pytestmark = pytest.mark.usefixtures("restore_thread_settings")


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
    # few channels, wide kernel (rows of KW*C >= 16 numbers): a ResNet stem, odd sizes
    ((3, 3, 21, 19), (8, 7, 7), 2, 3, 1),
    ((2, 2, 11, 13), (4, 5, 8), (2, 1), (2, 3), 1),
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


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_blocked_conv2d_matches_torch(case, dtype):
    e, t = _run(*case, dtype)
    close_outputs(e, t, dtype)


@pytest.mark.parametrize("need", [(False, True), (True, False)])
def test_only_the_needed_gradients(need):
    e, t = _run((3, 8, 9, 9), (4, 3, 3), 1, 1, 1, np.float64, need_x=need[0], need_w=need[1])
    close_outputs(e, t, np.float64)


def test_no_bias_and_one_image_per_block(monkeypatch):
    monkeypatch.setattr(conv_nhwc, "_BLOCK_BYTES", 1)  # every image its own block
    e, t = _run((5, 16, 8, 8), (6, 3, 3), 1, 1, 1, np.float64, bias=False)
    close_outputs(e, t, np.float64)


def test_without_blas_control_runs_in_one_thread(monkeypatch):
    monkeypatch.setattr(_blas, "available", lambda: False)
    e, t = _run((4, 16, 8, 8), (6, 3, 3), 2, 1, 1, np.float32)
    close_outputs(e, t, np.float32)


def test_one_thread_setting():
    ember.set_num_threads(1)
    e, t = _run((4, 16, 8, 8), (6, 3, 3), 1, 0, 1, np.float64)
    close_outputs(e, t, np.float64)


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
    conv_gradcheck(
        (2, 8, 5, 6),
        (3, 8, 3, 3),
        lambda x, w: conv_nhwc.eligible(x, w, 1),
        stride=(1, 2),
        padding=1,
        dilation=(2, 1),
    )


def test_gradcheck_float64_stem_shape():
    # 3 input channels and a 7x7 stride-2 kernel: served here (rows of 21 numbers) when the
    # weight gradient is not wanted (an input's gradient, or inference)
    rng = np.random.default_rng(6)
    x = ember.tensor(rng.standard_normal((2, 3, 9, 8)), requires_grad=True)
    w = ember.tensor(rng.standard_normal((4, 3, 7, 7)))
    assert conv_nhwc.eligible(x.detach().numpy(), w.numpy(), 1, (True, False, False))

    def f(x):
        return ember.nn.functional.conv2d(x, w, None, stride=2, padding=3)

    assert ember.autograd.gradcheck(f, (x,), eps=1e-6, atol=1e-5)


@pytest.mark.parametrize("need_x", [True, False])
def test_few_wide_channels_take_this_path_without_weight_gradient(monkeypatch, need_x):
    calls = []
    real = conv_nhwc.forward
    monkeypatch.setattr(conv_nhwc, "forward", lambda *a, **k: calls.append(1) or real(*a, **k))
    e, t = _run((3, 3, 21, 19), (8, 7, 7), 2, 3, 1, np.float32, need_x=need_x, need_w=False)
    close_outputs(e, t, np.float32)
    assert calls
    # with the weight gradient wanted, the batch im2col path serves them (one long product)
    calls.clear()
    e, t = _run((3, 3, 21, 19), (8, 7, 7), 2, 3, 1, np.float32)
    close_outputs(e, t, np.float32)
    assert not calls
    x, w = np.zeros((2, 3, 9, 9), np.float32), np.zeros((4, 3, 7, 7), np.float32)
    assert not conv_nhwc.eligible(x, w, 1, (False, True, False))
    assert conv_nhwc.eligible(x, w, 1, (True, False, True))
    assert conv_nhwc.eligible(np.zeros((2, 8, 9, 9)), np.zeros((4, 8, 3, 3)), 1, (0, 1, 0))


def test_not_eligible_cases_fall_back():
    x = np.zeros((2, 3, 8, 8), np.float32)  # 3 channels: a first layer, NCHW path
    assert not conv_nhwc.eligible(x, np.zeros((4, 3, 3, 3), np.float32), 1)
    assert not conv_nhwc.eligible(x, np.zeros((4, 3, 5, 5), np.float32), 1)  # rows of 15
    x = np.zeros((2, 16, 8, 8), np.float32)
    assert not conv_nhwc.eligible(x, np.zeros((4, 8, 3, 3), np.float32), 2)  # groups
    assert not conv_nhwc.eligible(x.astype(np.float16), np.zeros((4, 16, 3, 3), np.float16), 1)


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
    close_outputs(res[0], res[1], dtype)


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
    from ember.ops.conv_transpose import ConvTransposeNd

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
    close_outputs(res[0], res[1], dtype)


def test_conv_transpose_output_padding_past_the_stride_falls_back():
    from ember.ops.conv_transpose import ConvTransposeNd

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
    close_outputs(res[0], res[1], np.float64)
