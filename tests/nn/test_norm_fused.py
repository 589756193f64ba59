"""layer_norm and rms_norm, each one fused op (ember/ops/normalization.py's _Norm), against
torch: values and gradients of input, weight and bias (each present or None), one- and
multi-dimensional normalized_shape, float64 finite differences."""

from __future__ import annotations

import pytest

import ember
from tests._support.ops_check import compare, gradcheck, randn

CASES = [((4, 6), (6,)), ((2, 3, 4), (3, 4)), ((2, 5, 3, 4), (5, 3, 4)), ((3, 7), [7])]


def _ns(ns):
    return tuple(ns)


@pytest.mark.parametrize("affine", ["both", "weight", "bias", "none"])
@pytest.mark.parametrize("shape,ns", CASES)
def test_layer_norm(shape, ns, affine):
    x = randn(*shape, seed=1)
    w = randn(*_ns(ns), seed=2) if affine in ("both", "weight") else None
    b = randn(*_ns(ns), seed=3) if affine in ("both", "bias") else None
    compare(
        lambda m, x, w, b: m.nn.functional.layer_norm(x, ns, w, b, 1e-5),
        x,
        w,
        b,
        atol=1e-5,
        rtol=1e-4,
    )


@pytest.mark.parametrize("eps", [None, 1e-3])
@pytest.mark.parametrize("weighted", [True, False])
@pytest.mark.parametrize("shape,ns", CASES)
def test_rms_norm(shape, ns, weighted, eps):
    x = randn(*shape, seed=4)
    w = randn(*_ns(ns), seed=5) if weighted else None
    compare(lambda m, x, w: m.nn.functional.rms_norm(x, ns, w, eps), x, w, atol=1e-5, rtol=1e-4)


def test_rms_norm_module_and_float64():
    x = randn(3, 4, 5, dtype=ember.float64, seed=6)
    compare(lambda m, x: m.nn.RMSNorm([4, 5], eps=1e-6, dtype=m.float64)(x), x, atol=1e-12)


def test_gradcheck_float64():
    w = randn(4, 3, dtype=ember.float64, seed=8)
    b = randn(4, 3, dtype=ember.float64, seed=9)
    gradcheck(lambda x: ember.nn.functional.layer_norm(x, (4, 3), w, b), (2, 4, 3))
    gradcheck(lambda x, w: ember.nn.functional.rms_norm(x, (4, 3), w), (2, 4, 3), (4, 3))
    gradcheck(lambda x: ember.nn.functional.rms_norm(x, 3, None, 1e-2), (5, 3))


def test_row_path_edges():
    """The row-wise path (trailing dims of a C-contiguous array) beside the general one: a
    transposed input (general path), an input without gradient (weight and bias only), a
    gradient that is a broadcast (the sum's), and the second backward's error."""
    x = randn(5, 6, 8, seed=10)
    w, b = randn(8, seed=11), randn(8, seed=12)
    compare(lambda m, x, w, b: m.nn.functional.layer_norm(x.transpose(0, 1), (8,), w, b), x, w, b)
    const = randn(5, 6, 8, seed=13).detach()
    w2, b2 = randn(8, seed=11), randn(8, seed=12)  # compare leaves gradients on its inputs
    compare(lambda m, w, b: m.nn.functional.layer_norm(m.tensor(const.numpy()), (8,), w, b), w2, b2)
    for m in (ember, __import__("torch")):
        xx = m.tensor(x.detach().numpy(), requires_grad=True)
        ww = m.tensor(w.detach().numpy(), requires_grad=True)
        y = m.nn.functional.layer_norm(xx, (8,), ww, None)
        y.sum().backward(retain_graph=False)
        if m is ember:
            got = (xx.grad.numpy(), ww.grad.numpy())
        else:
            import numpy as np

            np.testing.assert_allclose(got[0], xx.grad.numpy(), atol=1e-5)
            np.testing.assert_allclose(got[1], ww.grad.numpy(), rtol=1e-4, atol=1e-4)
        with pytest.raises(RuntimeError, match="backward through the graph a second time"):
            y.sum().backward()
    gradcheck(lambda x, w, b: ember.nn.functional.layer_norm(x, (3,), w, b), (4, 3), (3,), (3,))


def test_row_path_from_centred_rows():
    """With a weight, the row path keeps x - mean and invstd (not xhat) and builds invstd outer
    w as a GEMM: rows far from zero (mean 1000, std 0.5) with BERT's eps keep torch's values and
    gradients (a variance from mean(x^2) - mean^2 would be 25% off); a (m, d) big enough for
    the BLAS; the weight alone differentiable."""
    x = randn(64, 256, seed=14)
    with ember.no_grad():
        x.mul_(0.5).add_(1000.0)
    w, b = randn(256, seed=15), randn(256, seed=16)
    compare(
        lambda m, x, w, b: m.nn.functional.layer_norm(x, (256,), w, b, 1e-12),
        x,
        w,
        b,
        atol=3e-3,  # both are off float64's by up to 6e-4: x's own float32 rounding at 1000
        rtol=1e-3,
    )
    x2 = randn(3, 40, 96, seed=17)
    w2 = randn(96, seed=18)
    compare(lambda m, x, w: m.nn.functional.layer_norm(x, (96,), w), x2, w2, atol=1e-5, rtol=1e-4)
    gradcheck(lambda x, w, b: ember.nn.functional.layer_norm(x, (5,), w, b), (6, 5), (5,), (5,))
    gradcheck(
        lambda w: ember.nn.functional.layer_norm(
            randn(4, 7, dtype=ember.float64, seed=19), (7,), w
        ),
        (7,),
    )
