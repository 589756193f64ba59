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
