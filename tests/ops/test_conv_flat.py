"""The few-channel conv2d kernels on flat phase slabs (ops/conv_flat.py) against torch: the
kernels themselves on odd geometries (strides, padding, dilation, batch 1, bias None,
non-contiguous input), and the dispatch through F.conv2d on the shapes it serves."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import ember
from ember.ops import conv_flat
from tests._support.ops_check import close_outputs, conv_gradcheck

pytestmark = pytest.mark.usefixtures("restore_thread_settings")

CASES = [
    # (N, C, H, W), (Cout, KH, KW), stride, padding, dilation
    ((3, 8, 9, 11), (5, 3, 3), 1, 1, 1),
    ((2, 6, 10, 9), (4, 3, 3), 2, 1, 1),
    ((1, 5, 7, 8), (3, 2, 4), (2, 3), (1, 2), (2, 1)),
    ((2, 4, 6, 6), (6, 3, 3), 1, 0, 1),
    ((2, 3, 5, 6), (2, 3, 3), 1, 3, 1),  # padding past the kernel's reach
    ((2, 4, 9, 9), (3, 1, 1), 3, 0, 1),  # phases no tap reads
    ((3, 2, 8, 7), (4, 5, 3), 1, (2, 1), (1, 2)),
]


def _tup(v):
    return (v, v) if isinstance(v, int) else tuple(v)


def _kernels(xs, ks, stride, padding, dilation, dtype, bias, noncontig=False):
    rng = np.random.default_rng(0)
    x = rng.standard_normal(xs).astype(dtype)
    if noncontig:
        x = np.ascontiguousarray(x.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)
    w = rng.standard_normal((ks[0], xs[1]) + ks[1:]).astype(dtype)
    b = rng.standard_normal(ks[0]).astype(dtype) if bias else None
    s, p, d = _tup(stride), _tup(padding), _tup(dilation)
    pads = tuple((e, e) for e in p)
    y = conv_flat.forward(x, w, b, s, pads, d)
    gy = rng.standard_normal(y.shape).astype(dtype)
    gx, gw, gb = conv_flat.backward(gy, x, w, s, pads, d, (True, True, bias))
    tx = torch.from_numpy(x).requires_grad_(True)
    tw = torch.from_numpy(w).requires_grad_(True)
    tb = torch.from_numpy(b).requires_grad_(True) if bias else None
    ty = torch.nn.functional.conv2d(tx, tw, tb, s, p, d)
    ty.backward(torch.from_numpy(gy))
    ref = [ty.detach().numpy(), tx.grad.numpy(), tw.grad.numpy(), tb.grad.numpy() if bias else None]
    return [y, gx, gw, gb], ref


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("rows", [True, False])
def test_flat_kernels_match_torch(case, dtype, rows, monkeypatch):
    """Both stride-1 paths: the row path (the default for these sizes) and the phase slabs."""
    if not rows:
        monkeypatch.setattr(conv_flat, "_ROW_OUT", 0)
    e, t = _kernels(*case, dtype, bias=True)
    close_outputs(e, t, dtype)


ROW_CASES = [
    # (N, C, H, W), (Cout, KH, KW), padding, dilation
    ((3, 8, 9, 11), (5, 3, 3), 1, 1),
    ((2, 5, 7, 8), (3, 2, 4), (1, 2), (2, 1)),
    ((2, 4, 6, 6), (6, 3, 3), 0, 1),  # the input gradient pads by 2
    ((2, 3, 5, 6), (2, 3, 3), 3, 1),  # padding past the kernel's reach: phase-slab backward
    ((3, 2, 8, 7), (4, 5, 3), (2, 1), (1, 2)),
    ((5, 6, 7, 5), (7, 3, 2), (1, 0), 1),
]


@pytest.mark.parametrize("case", ROW_CASES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("block_bytes", [1, 1 << 19])
def test_row_path_matches_torch(case, dtype, block_bytes, monkeypatch):
    """The row path on its own: one image per block (and a remainder) or several, odd kernels,
    dilations and paddings, against torch's values and gradients."""
    monkeypatch.setattr(conv_flat, "_ROW_BYTES", block_bytes)
    xs, ks, p, d = case
    g = conv_flat._Geo(xs, (ks[0], xs[1]) + ks[1:], (1, 1), tuple((e, e) for e in _tup(p)), _tup(d))
    assert conv_flat._row_path(g)
    e, t = _kernels(xs, ks, 1, p, d, dtype, bias=True, noncontig=dtype == np.float64)
    close_outputs(e, t, dtype)


def test_row_path_limits():
    """Stride 1 and a kernel wider than one column, and at most _ROW_OUT output values per
    image on the grid (16->16 on 32x32 yes; 16->32 on 32x32, strided or 1-wide kernels no)."""
    p = ((1, 1), (1, 1))
    geo = conv_flat._Geo
    assert conv_flat._row_path(geo((2, 16, 32, 32), (16, 16, 3, 3), (1, 1), p, (1, 1)))
    assert not conv_flat._row_path(geo((2, 16, 32, 32), (32, 16, 3, 3), (1, 1), p, (1, 1)))
    assert not conv_flat._row_path(geo((2, 16, 32, 32), (16, 16, 3, 3), (2, 2), p, (1, 1)))
    assert not conv_flat._row_path(geo((2, 16, 32, 32), (16, 16, 3, 1), (1, 1), p, (1, 1)))


@pytest.mark.parametrize("sign", [1, -1])
def test_tap_grid_holds_every_taps_slab(sign):
    """The one-view gather of a stride-1 convolution's taps (forward columns: read forward;
    the input gradient's: backward from the end of the padding) against each tap's slab; none
    for a strided one, whose taps sit on several phases."""
    g = conv_flat._Geo((2, 3, 9, 11), (4, 3, 5, 3), (1, 1), ((2, 2), (1, 1)), (1, 2))
    a = np.arange(3 * 2 * 2 * g.flat, dtype=np.float64).reshape(3, 2, 2 * g.flat)
    base = g.flat if sign < 0 else 0
    grid = conv_flat.tap_grid(a[..., base:], g.taps, g.kh, g.kw, g.span, sign=sign)
    assert grid.shape == (g.kh, g.kw, 3, 2, g.span)
    for t, (i, j) in enumerate(np.ndindex(g.kh, g.kw)):
        start = base + sign * g.taps[t][1]
        np.testing.assert_array_equal(grid[i, j], a[..., start : start + g.span])
    s2 = conv_flat._Geo((2, 3, 9, 11), (4, 3, 3, 3), (2, 2), ((1, 1), (1, 1)), (1, 1))
    assert conv_flat.tap_grid(a, s2.taps, 3, 3, s2.span) is None


@pytest.mark.parametrize("n", [3, 5])
def test_blocks_of_two_images_and_a_remainder(monkeypatch, n):
    monkeypatch.setattr(conv_flat, "_COLS_BYTES", 1)
    g = conv_flat._Geo((n, 8, 7, 9), (5, 8, 3, 3), (1, 1), ((1, 1), (1, 1)), (1, 1))
    monkeypatch.setattr(conv_flat, "_COLS_BYTES", 2 * g.k * g.span * 8)
    assert conv_flat._blocks(g, 0, n, 8)[-1] == (n - 1, n)
    e, t = _kernels((n, 8, 7, 9), (5, 3, 3), 1, 1, 1, np.float64, bias=True)
    close_outputs(e, t, np.float64)
    e, t = _kernels((n, 8, 9, 9), (5, 3, 3), 2, 1, 1, np.float64, bias=False)
    close_outputs(e, t, np.float64)


def test_bias_none_and_noncontiguous_input():
    e, t = _kernels((2, 8, 7, 9), (4, 3, 3), 1, 1, 1, np.float64, bias=False, noncontig=True)
    close_outputs(e, t, np.float64)


def _through_conv2d(xs, cout, dtype, need_x=True, bias=True, threads=None):
    if threads:
        ember.set_num_threads(threads)
    rng = np.random.default_rng(3)
    x = rng.standard_normal(xs).astype(dtype)
    w = rng.standard_normal((cout, xs[1], 3, 3)).astype(dtype)
    b = rng.standard_normal(cout).astype(dtype) if bias else None
    assert conv_flat.eligible(x, w, (1, 1), ((1, 1), (1, 1)), (1, 1), 1)
    res = []
    for lib in (ember, torch):
        tx = lib.tensor(x, requires_grad=need_x)
        tw = lib.tensor(w, requires_grad=True)
        tb = lib.tensor(b, requires_grad=True) if bias else None
        y = lib.nn.functional.conv2d(tx, tw, tb, 1, 1)
        (y * y).sum().backward()
        grads = [None if v is None or v.grad is None else v.grad.numpy() for v in (tx, tw, tb)]
        res.append([y.detach().numpy()] + grads)
    # float32: the weight gradient sums 2048 products per entry, rounded in another order
    close_outputs(res[0], res[1], dtype, atol32=3e-3)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("xs, cout", [((2, 16, 32, 32), 16), ((2, 32, 16, 16), 32)])
def test_dispatch_on_the_small_resnet_shapes(dtype, xs, cout):
    _through_conv2d(xs, cout, dtype)


def test_dispatch_batch_one_one_thread_weight_gradient_only():
    _through_conv2d((1, 8, 32, 33), 12, np.float64, need_x=False, bias=False, threads=1)


def test_eligibility():
    x = np.zeros((2, 16, 32, 32), np.float32)
    w = np.zeros((16, 16, 3, 3), np.float32)
    p = ((1, 1), (1, 1))
    assert conv_flat.eligible(x, w, (1, 1), p, (1, 1), 1)
    assert conv_flat.eligible(x, w, (2, 2), p, (1, 1), 1)  # 16x16 outputs
    assert not conv_flat.eligible(x, w, (3, 3), p, (1, 1), 1)  # 11x11
    w32 = np.zeros((32, 32, 3, 3), np.float32)
    x32 = np.zeros((2, 32, 16, 16), np.float32)
    assert conv_flat.eligible(x32, w32, (1, 1), p, (1, 1), 1)  # the ResNet's 32-channel stage
    assert not conv_flat.eligible(x32[:, :, :15], w32, (1, 1), p, (1, 1), 1)  # 15x16 outputs
    assert not conv_flat.eligible(x[:, :2], w[:, :2], (1, 1), p, (1, 1), 1)  # 2 channels
    # a first layer on 3-7 channels, up to 64 output channels, any kernel
    w3 = np.zeros((64, 3, 7, 7), np.float32)
    x64 = np.zeros((2, 3, 64, 64), np.float32)
    assert conv_flat.eligible(x64, w3, (2, 2), ((3, 3), (3, 3)), (1, 1), 1)
    assert conv_flat.eligible(x[:, :4], w[:, :4], (1, 1), p, (1, 1), 1)
    w128 = np.zeros((128, 3, 3, 3), np.float32)
    assert not conv_flat.eligible(x[:, :3], w128, (1, 1), p, (1, 1), 1)
    w64 = np.zeros((64, 16, 3, 3), np.float32)
    assert not conv_flat.eligible(x, w64, (1, 1), p, (1, 1), 1)
    assert not conv_flat.eligible(x, w[:8], (1, 1), p, (1, 1), 2)
    assert not conv_flat.eligible(x.astype(np.float16), w.astype(np.float16), (1, 1), p, (1, 1), 1)


@pytest.mark.parametrize("rows", [True, False])
def test_gradcheck_float64(monkeypatch, rows):
    monkeypatch.setattr(conv_flat, "_MIN_POSITIONS", 1)  # a small input through this path
    if not rows:
        monkeypatch.setattr(conv_flat, "_ROW_OUT", 0)
    p = ((1, 1), (2, 2))
    conv_gradcheck(
        (2, 8, 5, 6),
        (3, 8, 3, 3),
        lambda x, w: conv_flat.eligible(x, w, (1, 1), p, (1, 2), 1),
        padding=(1, 2),
        dilation=(1, 2),
    )


@pytest.mark.parametrize(
    "xs, ws, stride, padding",
    [
        ((2, 3, 64, 64), (64, 3, 7, 7), 2, 3),  # ResNet's stem
        ((3, 3, 32, 32), (64, 3, 3, 3), 1, 1),  # a CIFAR network's first layer
        ((2, 5, 20, 24), (16, 5, 3, 3), 1, 0),
    ],
)
def test_first_layers_dispatch_here_and_match_torch(xs, ws, stride, padding):
    """First layers on 3-7 channels take this path through F.conv2d: the output and the
    weight and bias gradients (the image needs none) against torch's, float32."""
    rng = np.random.default_rng(4)
    x = rng.standard_normal(xs).astype(np.float32)
    w = (rng.standard_normal(ws) * 0.1).astype(np.float32)
    b = rng.standard_normal(ws[0]).astype(np.float32)
    pads = ((padding, padding), (padding, padding))
    assert conv_flat.eligible(x, w, (stride, stride), pads, (1, 1), 1)
    res = []
    for lib in (ember, torch):
        tw = lib.tensor(w, requires_grad=True)
        tb = lib.tensor(b, requires_grad=True)
        y = lib.nn.functional.conv2d(lib.tensor(x), tw, tb, stride, padding)
        (y * y).sum().backward()
        res.append([y.detach().numpy(), tw.grad.numpy(), tb.grad.numpy()])
    close_outputs(res[0], res[1], np.float32, atol32=3e-3)


@pytest.mark.parametrize("ks, dil", [((2, 4), (1, 1)), ((4, 2), (2, 1))])
def test_row_path_asymmetric_same_padding(ks, dil):
    """padding='same' with even kernels pads one side less: the row path's forward and its
    flipped-kernel input gradient against torch (float64)."""
    rng = np.random.default_rng(5)
    x = rng.standard_normal((2, 8, 20, 20))
    w = rng.standard_normal((6, 8) + ks)
    res = []
    for lib in (ember, torch):
        tx = lib.tensor(x, requires_grad=True)
        tw = lib.tensor(w, requires_grad=True)
        y = lib.nn.functional.conv2d(tx, tw, None, 1, "same", dil)
        (y * y).sum().backward()
        res.append([y.detach().numpy(), tx.grad.numpy(), tw.grad.numpy()])
    close_outputs(res[0], res[1], np.float64)


@pytest.mark.parametrize(
    "xs, ws, stride, padding, by_columns",
    [
        ((2, 3, 32, 32), (64, 3, 7, 7), 2, 3, True),  # ResNet's stem, the image with gradients
        ((3, 3, 16, 16), (32, 3, 3, 3), 1, 1, True),
        ((2, 4, 34, 32), (64, 4, 3, 3), 1, 0, True),
        ((3, 3, 16, 16), (16, 3, 3, 3), 1, 1, False),  # few outputs: the blocks' own gradient
        ((2, 6, 64, 64), (64, 6, 3, 3), 2, 1, False),
    ],
)
def test_first_layer_input_gradient_matches_torch(xs, ws, stride, padding, by_columns):
    """Where the image takes gradients, a first layer's input gradient comes from the batch
    product and col2im when its taps times outputs are many (input_grad_by_columns), else from
    the blocks: all gradients against torch's (float32) and float64 finite differences."""
    rng = np.random.default_rng(5)
    x = rng.standard_normal(xs).astype(np.float32)
    w = (rng.standard_normal(ws) * 0.1).astype(np.float32)
    s = (stride, stride)
    assert conv_flat.eligible(x, w, s, ((padding,) * 2,) * 2, (1, 1), 1)
    assert conv_flat.input_grad_by_columns(xs, ws, s) is by_columns
    res = []
    for lib in (ember, torch):
        tx = lib.tensor(x, requires_grad=True)
        tw = lib.tensor(w, requires_grad=True)
        y = lib.nn.functional.conv2d(tx, tw, None, stride, padding)
        (y * y).sum().backward()
        res.append([y.detach().numpy(), tx.grad.numpy(), tw.grad.numpy()])
    close_outputs(res[0], res[1], np.float32, atol32=3e-3)


def test_first_layer_input_gradient_by_columns_gradcheck():
    def served(x, w):
        pads = ((1, 1), (1, 1))
        return conv_flat.eligible(x, w, (1, 1), pads, (1, 1), 1) and (
            conv_flat.input_grad_by_columns(x.shape, w.shape, (1, 1))
        )

    conv_gradcheck((1, 3, 16, 16), (32, 3, 3, 3), served, 1, 1)
