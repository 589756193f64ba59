"""Lazy modules and skip_init on CUDA (the CuPy stand-in; the real GPU for ``gpu`` tests): the
uninitialised tensors follow ``.cuda()`` / ``device=``, materialise there, and hold the weights
the same seed gives on the CPU."""

from __future__ import annotations

import numpy as np
import pytest

import ember
import ember.nn as nn
from ember.nn.parameter import is_lazy
from tests._support.cuda import _backend_fixture, _host, _on_cuda  # noqa: F401

CASES = [
    ("LazyLinear(3)", (2, 5)),
    ("LazyConv2d(4, 3, padding=1)", (2, 3, 6, 6)),
    ("LazyConvTranspose1d(2, 3, stride=2)", (2, 3, 5)),
    ("LazyBatchNorm2d()", (2, 3, 4, 4)),
    ("LazyInstanceNorm1d()", (2, 3, 6)),
]


def _check(expr, shape, to_device):
    x = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
    ember.manual_seed(4)
    ref = eval("nn." + expr)
    y_ref = ref(ember.tensor(x))
    ember.manual_seed(4)
    m = to_device(expr)
    for p in m.parameters():
        assert is_lazy(p) and p.device.type == "cuda"
    y = m(ember.tensor(x).cuda())
    assert type(m) is type(ref) and _on_cuda(y)
    for (k, a), (_, b) in zip(m.state_dict().items(), ref.state_dict().items()):
        assert _on_cuda(a), k
        np.testing.assert_allclose(_host(a), _host(b), rtol=1e-5, atol=1e-6, err_msg=k)
    np.testing.assert_allclose(_host(y), _host(y_ref), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("expr,shape", CASES, ids=[c for c, _ in CASES])
def test_lazy_module_moved_to_cuda_before_the_first_forward(expr, shape):
    _check(expr, shape, lambda e: eval("nn." + e).cuda())


@pytest.mark.parametrize("expr,shape", CASES, ids=[c for c, _ in CASES])
def test_lazy_module_built_on_cuda(expr, shape):
    def build(e):
        return eval("nn." + e[:-1] + ("" if e.endswith("()") else ", ") + "device='cuda')")

    _check(expr, shape, build)


def test_skip_init_on_cuda():
    m = nn.utils.skip_init(nn.Linear, 4, 2, device="cuda", dtype=ember.float64)
    assert all(_on_cuda(p) and p.dtype is ember.float64 for p in m.parameters())
    assert tuple(m.weight.shape) == (2, 4)
