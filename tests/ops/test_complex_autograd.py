"""Complex tensors in the graph: complex, polar, real, imag, view_as_real, view_as_complex and
complex products/quotients, gradients against torch (which passes dL/dRe + i dL/dIm) and float64
finite differences; Tensor.real / .imag are attributes as in torch."""

from __future__ import annotations

import numpy as np
import pytest

import ember
from tests._support.torch_ref import assert_same, torch


def _pair(lib, arr):
    wrap = torch.from_numpy if lib is torch else ember.from_numpy
    return wrap(arr.copy()).requires_grad_()


def _loss(lib, out):
    w = np.random.default_rng(9).standard_normal(tuple(out.shape) + (2,))
    wrap = torch.from_numpy if lib is torch else ember.from_numpy
    return (lib.view_as_real(out) * wrap(w)).sum()


CASES = [
    ("complex", lambda L, a, b: L.complex(a, b)),
    ("polar", lambda L, a, b: L.polar(a.abs() + 0.1, b)),
    ("mul", lambda L, a, b: L.complex(a, b) * L.complex(b, a * 2)),
    ("div", lambda L, a, b: L.complex(a, b) / L.complex(b.abs() + 1, a)),
    ("scalar", lambda L, a, b: L.complex(a, b) * (2 - 3j) + 1j),
    ("real_imag", lambda L, a, b: L.complex(L.real(L.complex(a, b) ** 2), L.imag(L.polar(a, b)))),
    ("attrs", lambda L, a, b: L.complex((L.complex(a, b) * L.complex(b, a)).real, b.imag * 0)),
    ("view", lambda L, a, b: L.view_as_complex(L.view_as_real(L.complex(a, b)) * 3)),
    ("broadcast", lambda L, a, b: L.complex(a, b[:1])),
]


@pytest.mark.parametrize("name,fn", CASES, ids=[c[0] for c in CASES])
@pytest.mark.parametrize("dt", [np.float32, np.float64])
def test_gradients_match_torch(name, fn, dt):
    rng = np.random.default_rng(2)
    a, b = rng.standard_normal((3, 4)).astype(dt), rng.standard_normal((3, 4)).astype(dt)
    if name == "attrs":
        b = b * 1  # .imag of a real tensor raises in both; exercised below
        fn = CASES[6][1] if False else (lambda L, a, b: (L.complex(a, b) * L.complex(b, a)).real)
    ta, tb = _pair(torch, a), _pair(torch, b)
    ea, eb = _pair(ember, a), _pair(ember, b)
    tout, eout = fn(torch, ta, tb), fn(ember, ea, eb)
    assert_same(eout, tout.resolve_conj(), rtol=1e-5, atol=1e-5)
    if tout.is_complex():
        _loss(torch, tout).backward()
        _loss(ember, eout).backward()
    else:
        tout.sum().backward()
        eout.sum().backward()
    assert_same(ea.grad, ta.grad, rtol=1e-5, atol=1e-5)
    assert_same(eb.grad, tb.grad, rtol=1e-5, atol=1e-5)


def test_complex_leaf_gradient():
    z = np.array([1 + 2j, -0.5 + 1j, 3 - 1j])
    tz, ez = _pair(torch, z), _pair(ember, z)
    for lib, v in ((torch, tz), (ember, ez)):
        (lib.view_as_real(v * v.conj() + v * (1 + 1j)).sum() + (v.imag * v.real).sum()).backward()
    assert_same(ez.grad, tz.grad, rtol=1e-12, atol=1e-12)


def test_float64_finite_differences():
    x = ember.from_numpy(np.random.default_rng(1).standard_normal((2, 3))).requires_grad_()
    y = ember.from_numpy(np.random.default_rng(2).standard_normal((2, 3))).requires_grad_()
    assert ember.autograd.gradcheck(
        lambda a, b: ember.view_as_real(ember.polar(a * a + 0.5, b) * ember.complex(b, a)), (x, y)
    )
    assert ember.autograd.gradcheck(lambda a, b: (ember.complex(a, b) / (b + 3)).imag, (x, y))


def test_real_imag_are_attributes():
    z = ember.tensor([1 + 2j, 3 - 4j])
    assert not callable(z.real) and not callable(z.imag)
    assert z.real.tolist() == [1.0, 3.0] and z.imag.tolist() == [2.0, -4.0]
    assert z.real.dtype is ember.float32
    x = ember.tensor([1.0, 2.0])
    assert x.real is x
    with pytest.raises(RuntimeError, match="imag is not implemented"):
        _ = x.imag
    with pytest.raises(RuntimeError, match="imag is not implemented"):
        _ = torch.tensor([1.0]).imag
    z.real = ember.tensor([5.0, 6.0])
    assert z.tolist() == [5 + 2j, 6 - 4j]


def test_errors_match_torch():
    for lib in (torch, ember):
        with pytest.raises(RuntimeError, match="view_as_real is only supported for complex"):
            lib.view_as_real(lib.ones(2))
        with pytest.raises(RuntimeError, match="last dimension of size 2"):
            lib.view_as_complex(lib.ones(2, 3))
        with pytest.raises(RuntimeError, match="Expected object of scalar type Float"):
            lib.complex(lib.ones(2), lib.ones(2, dtype=lib.float64))
        with pytest.raises(RuntimeError, match="Expected both inputs to be Half, Float or Double"):
            lib.complex(lib.ones(2, dtype=lib.int64), lib.ones(2, dtype=lib.int64))


@pytest.mark.parametrize(
    "name",
    ["mul", "div", "exp", "pow", "sqrt", "log", "sin", "tanh", "sigmoid", "reciprocal", "matmul"],
)
def test_holomorphic_ops_give_torch_complex_gradients(name):
    """torch's convention: the gradient of a holomorphic f is g * conj(f'(z))."""
    fs = {
        "mul": lambda x, y: x * y, "div": lambda x, y: x / y, "exp": lambda x, y: x.exp() * y,
        "pow": lambda x, y: x**2 * y, "sqrt": lambda x, y: x.sqrt() * y,
        "log": lambda x, y: x.log() * y, "sin": lambda x, y: x.sin() * y,
        "tanh": lambda x, y: x.tanh() * y, "sigmoid": lambda x, y: x.sigmoid() * y,
        "reciprocal": lambda x, y: x.reciprocal() * y, "matmul": lambda x, y: x @ y.mT,
    }  # fmt: skip
    rng = np.random.default_rng(0)
    a = rng.standard_normal((2, 3)) + 1j * rng.standard_normal((2, 3))
    b = rng.standard_normal((2, 3)) + 1j * rng.standard_normal((2, 3))
    outs = []
    for m in (ember, torch):
        x, y = m.tensor(a, requires_grad=True), m.tensor(b, requires_grad=True)
        r = fs[name](x, y)
        r.abs().sum().backward()
        outs.append((r.detach(), x.grad, y.grad))
    for e, t in zip(*outs):
        np.testing.assert_allclose(e.numpy(), t.resolve_conj().numpy(), rtol=1e-10, atol=1e-12)
