"""Autograd: custom Functions (ctx, setup_context, several and non-differentiable outputs),
gradcheck, higher-order gradients (also through random chains of elementwise ops) and
torch.autograd.functional; compared with torch."""

from __future__ import annotations

import numpy as np
import pytest

import ember
from tests._support.autograd import _leaf
from tests._support.torch_ref import assert_same, to_torch, torch


class _ExpE(ember.autograd.Function):
    @staticmethod
    def forward(ctx, x, k):
        y = x.exp() * k
        ctx.save_for_backward(y)
        ctx.k = k
        return y

    @staticmethod
    def backward(ctx, g):
        (y,) = ctx.saved_tensors
        assert ctx.needs_input_grad == (True, False)
        return g * y, None


class _ExpT(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, k):
        y = x.exp() * k
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, g):
        (y,) = ctx.saved_tensors
        return g * y, None


def test_custom_function():
    xe, xt = _leaf()
    ye, yt = _ExpE.apply(xe, 2.0), _ExpT.apply(xt, 2.0)
    assert_same(ye, yt)
    assert ye.grad_fn is not None and "Backward" in ye.grad_fn.name()
    (ye * ye).sum().backward()
    (yt * yt).sum().backward()
    assert_same(xe.grad, xt.grad)
    with ember.no_grad():
        assert _ExpE.apply(xe, 1.0).grad_fn is None


class _SortE(ember.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        idx = ember.from_numpy(np.argsort(x.detach().numpy()))
        ctx.mark_non_differentiable(idx)
        ctx.save_for_backward(idx)
        return x[idx], idx

    @staticmethod
    def backward(ctx, g, gi):
        (idx,) = ctx.saved_tensors
        out = ember.zeros_like(g)
        out[idx] = g
        return out


def test_custom_function_multiple_outputs_non_differentiable():
    xe, xt = _leaf()
    ve, ie = _SortE.apply(xe)
    assert not ie.requires_grad and ve.requires_grad
    (ve * ember.tensor([1.0, 2.0, 3.0])).sum().backward()
    vt, it = torch.sort(xt)
    (vt * torch.tensor([1.0, 2.0, 3.0])).sum().backward()
    assert_same(xe.grad, xt.grad)


def test_gradcheck():
    x = ember.randn(3, dtype=ember.float64, requires_grad=True)
    w = ember.randn(3, 3, dtype=ember.float64, requires_grad=True)
    assert ember.autograd.gradcheck(lambda a, b: (a @ b).tanh(), (x, w))
    assert ember.autograd.gradcheck(_ExpE.apply, (x, 1.5))

    class Bad(ember.autograd.Function):
        @staticmethod
        def forward(ctx, a):
            return a * 2

        @staticmethod
        def backward(ctx, g):
            return g * 3

    with pytest.raises(RuntimeError):
        ember.autograd.gradcheck(Bad.apply, (x,))
    assert not ember.autograd.gradcheck(Bad.apply, (x,), raise_exception=False)


def _hvp_case(lib, x, v):
    y = (x**3).sum() + (x.sin() * x).sum()
    (g,) = lib.autograd.grad(y, x, create_graph=True)
    (hv,) = lib.autograd.grad((g * v).sum(), x)
    return g, hv


def test_hessian_vector_product():
    xe, xt = _leaf(dtype=np.float64)
    ve = ember.tensor([1.0, -2.0, 0.5], dtype=ember.float64)
    ge, hve = _hvp_case(ember, xe, ve)
    gt, hvt = _hvp_case(torch, xt, to_torch(ve))
    assert_same(ge, gt)
    assert_same(hve, hvt)


def _penalty(lib, x, w, b):
    out = (x @ w + b).tanh().sigmoid()
    loss = (out.exp() + out.log() + out**2 / 3 - out).mean()
    (g,) = lib.autograd.grad(loss, x, create_graph=True)
    pen = ((g * g).sum(1) - 1) ** 2
    return pen.mean()


def test_gradient_penalty():
    xe, xt = _leaf((4, 3), seed=0, dtype=np.float64)
    we, wt = _leaf((3, 2), seed=1, dtype=np.float64)
    be, bt = _leaf((2,), seed=2, dtype=np.float64)
    _penalty(ember, xe, we, be).backward()
    _penalty(torch, xt, wt, bt).backward()
    for a, b in ((xe, xt), (we, wt), (be, bt)):
        assert_same(a.grad, b.grad, rtol=1e-7, atol=1e-9)


@pytest.mark.parametrize(
    "f",
    [
        lambda x: (x * x * x).sum(),
        lambda x: (x / (x * x + 1)).sum(),
        lambda x: (x - 2 * x**2).sum(),
        lambda x: (x.abs() ** 2.5).sum(),
        lambda x: (2**x).sum(),
        lambda x: x.exp().mean(),
        lambda x: (x * x + 1).log().sum(),
        lambda x: x.tanh().sum(),
        lambda x: x.sigmoid().sum(),
        lambda x: (x.reshape(3, 1) @ x.reshape(1, 3)).sum(),
        lambda x: (x.view(1, 3).t().expand(3, 3) * x).sum(),
        lambda x: (x.unsqueeze(0).permute(1, 0).squeeze(1) ** 2).mean(),
        lambda x: (x[1:] * x[:2]).sum(),
    ],
)
def test_second_derivatives(f):
    xe, xt = _leaf(dtype=np.float64)
    (ge,) = ember.autograd.grad(f(xe), xe, create_graph=True)
    (gt,) = torch.autograd.grad(f(xt), xt, create_graph=True)
    assert_same(ge, gt)
    ge.sum().backward()
    gt.sum().backward()
    assert_same(xe.grad, xt.grad)


def test_create_graph_backward_grads_have_graph():
    xe, xt = _leaf(dtype=np.float64)
    (xe**3).sum().backward(create_graph=True)
    (xt**3).sum().backward(create_graph=True)
    assert xe.grad.requires_grad
    ge, gt = xe.grad, xt.grad
    xe.grad = None
    xt.grad = None
    ge.sum().backward()
    gt.sum().backward()
    assert_same(xe.grad, xt.grad)


def test_long_chain_no_recursion():
    x = ember.tensor([1.0], requires_grad=True)
    y = x
    for _ in range(100_000):
        y = y * 1.0
    y.sum().backward()
    assert x.grad.tolist() == [1.0]


class _SplitE(ember.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        return x * 2, x * 3

    @staticmethod
    def backward(ctx, ga, gb):
        return ga * 2 + gb * 3


class _Scale(ember.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        return x * 5

    @staticmethod
    def backward(ctx, g):
        return g * 5


def test_function_consumes_second_output_of_function():
    xe, xt = _leaf()
    a, b = _SplitE.apply(xe)
    (_Scale.apply(b) + a).sum().backward()
    (((xt * 3) * 5) + xt * 2).sum().backward()
    assert_same(xe.grad, xt.grad)


def test_functional_jacobian_hessian_vjp_jvp():
    import torch.autograd.functional as TF

    import ember.autograd.functional as EF

    xe, xt = _leaf(dtype=np.float64)
    ve = ember.tensor([1.0, -1.0, 0.5], dtype=ember.float64)

    def fe(x):
        return x.exp() * x.sum()

    def ft(x):
        return x.exp() * x.sum()

    assert_same(EF.jacobian(fe, xe), TF.jacobian(ft, xt))
    assert_same(EF.hessian(lambda x: (x**3).sum(), xe), TF.hessian(lambda x: (x**3).sum(), xt))
    assert_same(EF.vjp(fe, xe, ve)[1], TF.vjp(ft, xt, to_torch(ve))[1])
    assert_same(EF.jvp(fe, xe, ve)[1], TF.jvp(ft, xt, to_torch(ve))[1])
    assert_same(
        EF.hvp(lambda x: (x**3).sum(), xe, ve)[1],
        TF.hvp(lambda x: (x**3).sum(), xt, to_torch(ve))[1],
    )
    v = ember.autograd.Variable(ember.ones(2), requires_grad=True)
    assert v.requires_grad
    with ember.autograd.detect_anomaly():
        pass


def test_function_with_setup_context():
    class Cube(ember.autograd.Function):
        @staticmethod
        def forward(x):
            return x**3

        @staticmethod
        def setup_context(ctx, inputs, output):
            ctx.save_for_backward(inputs[0])

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return g * 3 * x**2

    xe, xt = _leaf()
    Cube.apply(xe).sum().backward()
    (xt**3).sum().backward()
    assert_same(xe.grad, xt.grad)


_CHAIN_U = [
    "exp",
    "tanh",
    "sigmoid",
    "sin",
    "abs",
    "relu",
    "square",
    "atan",
    "erf",
    "expm1",
    "asinh",
]


_CHAIN_B = [
    "add",
    "sub",
    "mul",
    "maximum",
    "minimum",
    "fmax",
    "lerp",
    "pos_div",
    "pos_pow",
    "where",
    "clamp_t",
    "pos_fmod",
]


def _chain_binary(L, name, x, y):
    if name == "pos_div":
        return x / (y.abs() + 1)
    if name == "pos_pow":
        return (x.abs() + 0.5) ** y.tanh()
    if name == "where":
        return L.where(x > y, x, y * 2)
    if name == "clamp_t":
        return L.clamp(x, min=y, max=y + 1)
    if name == "lerp":
        return L.lerp(x, y, 0.3)
    if name == "pos_fmod":
        return L.fmod(x, y.abs() + 1)
    return getattr(L, name)(x, y)


@pytest.mark.parametrize("seed", range(30))
def test_random_chains_first_and_second_derivatives(seed):
    """Random compositions of elementwise ops (with broadcasting): values, gradients and
    gradients of gradients (create_graph) match torch in float64."""
    import random

    rng = random.Random(seed)
    sa, sb = rng.choice([((3,), (3,)), ((2, 3), (3,)), ((2, 1), (1, 4)), ((), (3,))])
    a = np.random.default_rng(seed).standard_normal(sa)
    b = np.random.default_rng(seed + 99).standard_normal(sb)
    prog = [
        (rng.random() < 0.5, rng.choice(_CHAIN_U), rng.choice(_CHAIN_B), rng.random() < 0.5)
        for _ in range(4)
    ]
    res = []
    for L in (ember, torch):
        x, y = L.tensor(a, requires_grad=True), L.tensor(b, requires_grad=True)
        vals = [x, y]
        for unary, u, bn, first in prog:
            vals.append(
                getattr(L, u)(vals[-1])
                if unary
                else _chain_binary(L, bn, vals[-1], vals[0 if first else 1])
            )
        r = vals[-1]
        out = (r * L.arange(r.numel(), dtype=L.float64).reshape(r.shape)).sum()
        gx, gy = L.autograd.grad(out, [x, y], allow_unused=True, create_graph=True)
        total = sum(g.sum() for g in (gx, gy) if g is not None)
        h = (
            L.autograd.grad(total, [x, y], allow_unused=True)
            if isinstance(total, L.Tensor) and total.requires_grad
            else (None, None)
        )
        res.append([out, gx, gy, *h])
    for e, t in zip(*res):
        if t is None or e is None:
            for z in (e, t):
                assert z is None or not z.detach().numpy().any()
        else:
            assert_same(e, t, rtol=1e-6, atol=1e-8)


def _dirty_functions(m):
    """Functions that change an input in place and mark it dirty (one returns it, one returns a
    copy instead, one takes two inputs)."""

    class Double(m.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            x.mul_(2)
            ctx.mark_dirty(x)
            return x

        @staticmethod
        def backward(ctx, g):
            return g * 2

    class NotReturned(m.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            x.mul_(2)
            ctx.mark_dirty(x)
            return x * 1

        @staticmethod
        def backward(ctx, g):
            return g * 2

    class AddInto(m.autograd.Function):
        @staticmethod
        def forward(ctx, x, y):
            x.add_(y)
            ctx.mark_dirty(x)
            return x, y * 3

        @staticmethod
        def backward(ctx, gx, gy):
            return gx, gx + 3 * gy

    return Double, NotReturned, AddInto


def _mark_dirty_cases(m):
    double, not_returned, add_into = _dirty_functions(m)
    out = []
    x = m.ones(3, requires_grad=True)
    a = x * 1
    y = double.apply(a)
    out.append((y is a, a._version, a.grad_fn.name()))
    a.sum().backward()
    out.append(x.grad.tolist())
    x, w = m.ones(3, requires_grad=True), m.ones(3, requires_grad=True)
    a = x * 1
    (add_into.apply(a, w)[0].sum() + a.sum()).backward()
    out.append((x.grad.tolist(), w.grad.tolist()))
    x = m.ones(4, requires_grad=True)
    a = x * 1
    v = a[0:2]  # a view taken before the change takes the new history
    double.apply(a)
    v.sum().backward()
    out.append(x.grad.tolist())
    b = m.ones(3)
    out.append((double.apply(b) is b, b._version))
    for bad in (lambda: double.apply(m.ones(3, requires_grad=True)),
                lambda: not_returned.apply(m.ones(3, requires_grad=True) * 1)):  # fmt: skip
        with pytest.raises(RuntimeError) as info:
            bad()
        out.append(str(info.value))
    return out


def test_mark_dirty_as_torch():
    """A dirty input returned by the Function takes its node as history (it was aliased and
    kept its old one: a gradient of 1 where torch's is 2), versions are bumped, and torch's
    errors for a dirty leaf and a dirty input not returned."""
    assert _mark_dirty_cases(ember) == _mark_dirty_cases(torch)


def _conj_square(m):
    """z * z with a gradient that forgets the conjugate (right only for real z)."""

    class Square(m.autograd.Function):
        @staticmethod
        def forward(ctx, z):
            ctx.save_for_backward(z)
            return z * z

        @staticmethod
        def backward(ctx, g):
            (z,) = ctx.saved_tensors
            return g * 2 * z

    return Square


@pytest.mark.parametrize(
    "fn",
    [
        lambda t: t.sgn(),
        lambda t: t.exp() * t.conj(),
        lambda t: t.abs(),
        lambda t: (t * t).real,
        lambda t: t.angle(),
    ],
)
def test_gradcheck_checks_complex_functions_as_torch(fn):
    """Complex inputs and outputs are checked through their real and imaginary parts (the
    parts were dropped: any complex gradient passed); the verdicts are torch's."""
    z = np.array([1 + 2j, -3 + 0.5j, 2 - 1j])
    verdicts = []
    for m in (ember, torch):
        t = m.tensor(z, dtype=m.complex128, requires_grad=True)
        verdicts.append(m.autograd.gradcheck(fn, (t,), raise_exception=False))
    assert verdicts == [True, True]


def test_gradcheck_refuses_a_wrong_complex_gradient():
    z = np.array([1 + 2j, -3 + 0.5j])
    for m in (ember, torch):
        t = m.tensor(z, dtype=m.complex128, requires_grad=True)
        assert not m.autograd.gradcheck(_conj_square(m).apply, (t,), raise_exception=False)
        r = m.tensor(z.real, dtype=m.float64, requires_grad=True)
        assert m.autograd.gradcheck(_conj_square(m).apply, (r,))


def test_sgn_gradient_of_complex_input_as_torch():
    z = np.array([1 + 2j, -3 + 0.5j, 0j, 2 - 1j])
    g = np.array([0.3 - 1j, 2 + 0.5j, 1 + 1j, -1 + 2j])
    res = []
    for m in (ember, torch):
        t = m.tensor(z, dtype=m.complex128, requires_grad=True)
        t.sgn().backward(m.tensor(g))
        res.append(t.grad.numpy())
    np.testing.assert_allclose(res[0], res[1], rtol=1e-12, atol=1e-15)
