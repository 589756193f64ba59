"""The direct convolution kernels vs torch: depthwise (groups == in_channels, channel
multiplier 1-3, stride, padding, dilation, 1-d and 2-d) and small-channel 3x3 layers; values and
input, weight and bias gradients in float32 and float64, plus a float64 gradcheck."""

from __future__ import annotations

import numpy as np
import pytest

import ember
import ember.nn as enn
from tests._support.ops_check import compare, gradcheck, randn
from tests._support.torch_ref import assert_same, to_torch, torch

DW_CASES = [
    # (N, C, mult, H, W, k, stride, padding, dilation)
    (2, 4, 1, 9, 8, 3, 1, 1, 1),
    (2, 4, 2, 9, 7, 3, 2, 1, 1),
    (3, 5, 1, 10, 10, 3, 1, 2, 2),
    (2, 3, 2, 8, 8, 5, 2, 0, 1),
    (1, 2, 3, 6, 9, 2, 3, 1, 2),
    (2, 6, 1, 7, 7, 3, 1, 0, 1),
    (2, 3, 1, 5, 6, 3, 1, 3, 1),  # padding past the kernel's reach
]


@pytest.mark.parametrize("dtype", [ember.float32, ember.float64])
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("case", DW_CASES)
def test_depthwise_matches_torch(case, bias, dtype):
    n, c, m, h, w, k, s, p, d = case
    x = randn(n, c, h, w, dtype=dtype, seed=1)
    wt = randn(c * m, 1, k, k, dtype=dtype, seed=2)
    b = randn(c * m, dtype=dtype, seed=3) if bias else None
    tol = 1e-4 if dtype is ember.float32 else 1e-10

    def fn(lib, x, wt, b=None):
        return lib.nn.functional.conv2d(x, wt, b, stride=s, padding=p, dilation=d, groups=c)

    compare(fn, x, wt, b, atol=tol, rtol=tol)


@pytest.mark.parametrize("dtype", [ember.float32, ember.float64])
def test_depthwise_conv1d_matches_torch(dtype):
    x = randn(2, 4, 11, dtype=dtype, seed=4)
    wt = randn(8, 1, 3, dtype=dtype, seed=5)
    b = randn(8, dtype=dtype, seed=6)
    compare(
        lambda lib, x, w, b: lib.nn.functional.conv1d(x, w, b, 2, 1, 2, 4),
        x,
        wt,
        b,
        atol=1e-4,
        rtol=1e-4,
    )


def test_depthwise_gradcheck():
    def f(x, w, b):
        return ember.nn.functional.conv2d(x, w, b, stride=1, padding=1, groups=3)

    gradcheck(f, (2, 3, 5, 5), (6, 1, 3, 3), (6,))

    def g(x, w):
        return ember.nn.functional.conv2d(x, w, None, stride=2, padding=2, dilation=2, groups=2)

    gradcheck(g, (1, 2, 7, 6), (2, 1, 3, 3))


def test_depthwise_noncontiguous_grad_and_input():
    """A transposed input and an expanded output gradient take the same path."""
    x = randn(4, 7, 7, 3, dtype=ember.float64, seed=8)
    wt = randn(3, 1, 3, 3, dtype=ember.float64, seed=9)

    def fn(lib, x, w):
        y = lib.nn.functional.conv2d(x.permute(0, 3, 1, 2), w, None, 1, 1, 1, 3)
        return y.sum(0, keepdim=True).expand(4, 3, 7, 7)

    compare(fn, x, wt)


@pytest.mark.parametrize("dtype", [ember.float32, ember.float64])
@pytest.mark.parametrize("c", [16, 32])
@pytest.mark.parametrize("s,p,d", [(1, 1, 1), (2, 1, 1), (1, 0, 1), (2, 0, 1), (1, 2, 2)])
def test_small_channel_3x3_matches_torch(c, s, p, d, dtype):
    x = randn(2, c, 10, 9, dtype=dtype, seed=c)
    wt = randn(c, c, 3, 3, dtype=dtype, seed=c + 1)
    b = randn(c, dtype=dtype, seed=c + 2)
    tol = 1e-4 if dtype is ember.float32 else 1e-10
    compare(
        lambda lib, x, w, b: lib.nn.functional.conv2d(x, w, b, s, p, d),
        x,
        wt,
        b,
        atol=tol,
        rtol=tol,
    )


def test_mobilenet_block_trains_like_torch():
    """A 1x1 expand / 3x3 depthwise / 1x1 project block with BatchNorm and ReLU6: the same
    parameters' gradients as torch after one backward."""
    ember.manual_seed(0)

    def block(nn):
        return nn.Sequential(
            nn.Conv2d(4, 12, 1, bias=False),
            nn.BatchNorm2d(12),
            nn.ReLU6(),
            nn.Conv2d(12, 12, 3, 2, 1, groups=12, bias=False),
            nn.BatchNorm2d(12),
            nn.ReLU6(),
            nn.Conv2d(12, 6, 1, bias=False),
        )

    em = block(enn).double()
    tm = block(torch.nn).double()
    tm.load_state_dict({k: to_torch(v) for k, v in em.state_dict().items()})
    x = randn(3, 4, 9, 9, dtype=ember.float64, seed=11, rg=False)
    em(x).pow(2).sum().backward()
    tm(to_torch(x)).pow(2).sum().backward()
    for (name, pe), (_, pt) in zip(em.named_parameters(), tm.named_parameters()):
        assert_same(pe.grad, pt.grad, rtol=1e-8, atol=1e-10), name
    assert np.isfinite(em[3].weight.grad.numpy()).all()
