"""The depthwise conv2d kernels (ops/conv_depthwise.py: groups == in_channels, any channel
multiplier) against torch: values and all three gradients, odd shapes, strides, padding,
dilation, bias None, batch 1, non-contiguous inputs, one thread, float64 gradcheck; each on the
compiled loops (where Numba is installed) and on the NumPy path, and the loops run as plain
Python against the NumPy path."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import ember
from ember._backend.cpu import jit
from ember.ops import conv_depthwise
from tests._support.ops_check import close_outputs, conv_gradcheck

pytestmark = pytest.mark.usefixtures("restore_thread_settings")


@pytest.fixture(params=["compiled", "numpy"])
def path(request, monkeypatch):
    """Each test on both NumPy-array paths: the compiled loops (skipped without Numba) and the
    batched products (the loops turned off)."""
    if request.param == "compiled":
        if not jit.available():
            pytest.skip("Numba not installed (jit extra)")
    else:
        monkeypatch.setattr(conv_depthwise, "_compiled", lambda x, g: False)
    return request.param


CASES = [
    # (N, C, H, W), multiplier, (KH, KW), stride, padding, dilation
    ((3, 6, 9, 11), 1, (3, 3), 1, 1, 1),  # stride 1, "same": the direct input gradient
    ((2, 4, 8, 8), 1, (3, 3), 2, 1, 1),  # stride 2: phases, col2im input gradient
    ((2, 3, 7, 9), 2, (3, 3), 1, 1, 1),  # multiplier 2
    ((2, 3, 10, 7), 3, (5, 3), (2, 3), (2, 0), (1, 2)),
    ((1, 5, 6, 5), 1, (3, 3), 1, 0, 1),  # batch 1, no padding
    ((2, 4, 5, 6), 1, (3, 3), 1, 3, 1),  # padding past the kernel's reach
    ((2, 2, 9, 9), 2, (2, 4), 3, (1, 2), 2),
    ((3, 4, 4, 4), 1, (1, 1), 2, 0, 1),
    ((2, 3, 5, 5), 1, (3, 3), 1, 2, 2),
]


def _run(xs, m, ks, stride, padding, dilation, dtype, bias=True, need_x=True, noncontig=False):
    rng = np.random.default_rng(0)
    n, c = xs[:2]
    x = rng.standard_normal(xs).astype(dtype)
    if noncontig:  # a channels-last array seen as NCHW
        x = np.ascontiguousarray(x.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)
    w = rng.standard_normal((c * m, 1) + ks).astype(dtype)
    b = rng.standard_normal(c * m).astype(dtype) if bias else None
    out = []
    for lib in (ember, torch):
        tx = lib.tensor(x, requires_grad=need_x)
        if noncontig and lib is torch:
            tx = torch.from_numpy(x).requires_grad_(need_x)
        tw = lib.tensor(w, requires_grad=True)
        tb = lib.tensor(b, requires_grad=True) if bias else None
        y = lib.nn.functional.conv2d(tx, tw, tb, stride, padding, dilation, c)
        gy = np.random.default_rng(1).standard_normal(tuple(y.shape)).astype(dtype)
        y.backward(lib.tensor(gy))
        grads = [None if t is None or t.grad is None else t.grad.numpy() for t in (tx, tw, tb)]
        out.append([y.detach().numpy()] + grads)
    return out


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_depthwise_matches_torch(case, dtype, path):
    e, t = _run(*case, dtype)
    close_outputs(e, t, dtype)


def test_bias_none_weight_gradient_only_and_noncontiguous_input(path):
    e, t = _run((2, 4, 7, 6), 2, (3, 3), 1, 1, 1, np.float64, bias=False, need_x=False)
    close_outputs(e, t, np.float64)
    e, t = _run((2, 4, 7, 6), 1, (3, 3), 2, 1, 1, np.float64, noncontig=True)
    close_outputs(e, t, np.float64)


def test_one_thread_and_the_mobilenet_shapes(path):
    ember.set_num_threads(1)
    e, t = _run((2, 96, 16, 16), 1, (3, 3), 2, 1, 1, np.float32)
    close_outputs(e, t, np.float32)
    ember.set_num_threads(2)
    e, t = _run((3, 32, 16, 16), 1, (3, 3), 1, 1, 1, np.float32)
    close_outputs(e, t, np.float32)


def test_conv1d_depthwise():
    rng = np.random.default_rng(2)
    x = rng.standard_normal((3, 4, 17))
    w = rng.standard_normal((8, 1, 5))
    res = []
    for lib in (ember, torch):
        tx, tw = lib.tensor(x, requires_grad=True), lib.tensor(w, requires_grad=True)
        y = lib.nn.functional.conv1d(tx, tw, None, 2, 2, 1, 4)
        (y * y).sum().backward()
        res.append([y.detach().numpy(), tx.grad.numpy(), tw.grad.numpy()])
    close_outputs(res[0], res[1], np.float64)


def test_gradcheck_float64(path):
    def served(x, w):
        return conv_depthwise.eligible(x, w, 3)

    conv_gradcheck((2, 3, 6, 5), (6, 1, 3, 3), served, stride=(2, 1), padding=1, groups=3)
    conv_gradcheck((2, 3, 6, 5), (6, 1, 3, 3), served, padding=1, dilation=(1, 2), groups=3)


def _geo_args(x, w, s, pads, d):
    g = conv_depthwise._Geo(x.shape, w.shape, s, pads, d)
    return g, conv_depthwise._kernel_args(g)


@pytest.mark.parametrize(
    "case",
    [
        ((2, 3, 7, 6), 1, (3, 3), (1, 1), ((1, 1), (1, 1)), (1, 1)),  # the nine-tap loops
        ((2, 2, 8, 7), 2, (3, 3), (2, 2), ((1, 1), (1, 1)), (1, 1)),  # phases, multiplier 2
        ((1, 2, 9, 8), 1, (2, 4), (2, 3), ((1, 0), (2, 1)), (2, 1)),  # the tap-by-tap loops
    ],
)
def test_loops_as_python_match_the_numpy_path(case):
    """The compiled loops' arithmetic (the phase-slab loops and the channels-last ones), run as
    plain Python (as where Numba is missing, so the logic is checked on every machine): values,
    input and weight gradients against the batched-product path."""
    xs, m, ks, s, pads, d = case
    rng = np.random.default_rng(3)
    x = rng.standard_normal(xs)
    w = rng.standard_normal((xs[1] * m, 1) + ks)
    b = rng.standard_normal(xs[1] * m)
    g, args = _geo_args(x, w, s, pads, d)
    w2 = w.reshape(g.c * g.m, -1)
    out = np.empty((g.n, g.c * g.m, g.oh, g.ow))
    conv_depthwise._FORWARD.py(x, w2, b, True, out, *args)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(conv_depthwise, "_compiled", lambda x, g: False)
        ref = conv_depthwise.forward(x, w, b, s, pads, d)
        gy = rng.standard_normal(ref.shape)
        rgx, rgw, _ = conv_depthwise.backward(gy, x, w, s, pads, d, (True, True, False))
    np.testing.assert_allclose(out, ref, rtol=1e-12, atol=1e-12)
    gx = np.empty_like(x)
    conv_depthwise._INPUT_GRAD.py(gy, w2, gx, *args[:-1], *conv_depthwise._adjoint_args(g))
    np.testing.assert_allclose(gx, rgx, rtol=1e-12, atol=1e-12)
    gw = np.zeros_like(w2)
    conv_depthwise._WEIGHT_GRAD.py(gy, x, gw, *args)
    np.testing.assert_allclose(gw.reshape(w.shape), rgw, rtol=1e-12, atol=1e-12)
    # the channels-last loops (small output planes), the same arithmetic
    wt = np.ascontiguousarray(w2.T)
    cl = conv_depthwise._cl_args(g) + (g.hp, g.wp)
    conv_depthwise._FORWARD_CL.py(x, wt, b, True, out, *cl)
    np.testing.assert_allclose(out, ref, rtol=1e-12, atol=1e-12)
    gwt = np.zeros_like(wt)
    conv_depthwise._BACKWARD_CL.py(gy, x, wt, gx, gwt, True, True, *cl)
    np.testing.assert_allclose(gx, rgx, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(gwt.T.reshape(w.shape), rgw, rtol=1e-12, atol=1e-12)


@pytest.mark.skipif(not jit.available(), reason="Numba not installed (jit extra)")
@pytest.mark.parametrize("hw", [16, 4])  # the phase-slab loops; the channels-last ones
def test_compiled_loops_split_over_threads_as_one_call(hw):
    """MobileNet's 3x3 layers on 32 images (96 channels on 16x16, 384 on 4x4): split over two
    threads, the output and the input gradient are the bits of one thread (each image is its
    own loops' work); with the weight gradient's parts summed, all three stay within torch's
    float32 tolerance."""
    c = 96 if hw == 16 else 384
    rng = np.random.default_rng(4)
    x = rng.standard_normal((32, c, hw, hw)).astype(np.float32)
    w = rng.standard_normal((c, 1, 3, 3)).astype(np.float32)
    args = ((1, 1), ((1, 1), (1, 1)), (1, 1))
    gy = rng.standard_normal((32, c, hw, hw)).astype(np.float32)
    res = []
    for n in (1, 2):
        ember.set_num_threads(n)
        res.append(
            [conv_depthwise.forward(x, w, None, *args)]
            + list(conv_depthwise.backward(gy, x, w, *args, (True, False, False))[:1])
        )
    assert all(np.array_equal(a, b) for a, b in zip(*res))
    ember.set_num_threads(2)
    e, t = _run((32, c, hw, hw), 1, (3, 3), 1, 1, 1, np.float32)
    close_outputs(e, t, np.float32)
