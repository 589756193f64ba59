"""torch.autograd.forward_ad (dual levels, make_dual, unpack_dual) and
autograd.functional.jvp/hvp: against torch and float64 finite differences."""

from __future__ import annotations

import numpy as np
import pytest

import ember
import ember.autograd.forward_ad as fwad
from tests._support.torch_ref import torch

tfw = torch.autograd.forward_ad


def _arr(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


FUNCS = [
    ("poly", lambda m, x, y: x * x * y - 3 * x / (1 + y * y)),
    ("unary", lambda m, x, y: m.tanh(x).exp() + m.sigmoid(y) * m.sin(x) + m.log(1 + x * x)),
    ("matmul", lambda m, x, y: (x @ y.t()).relu() + x.sum(-1, keepdim=True)),
    ("softmax", lambda m, x, y: m.softmax(x * y, -1).mean(0) * m.log_softmax(y, 0)[0]),
    ("shapes", lambda m, x, y: x.reshape(-1)[2:5].unsqueeze(0) * y.t().flatten()[:3]),
    ("pow", lambda m, x, y: (x * x + 1).pow(1.5) + y.abs() ** 0.5),
]


def _run_dual(m, fw, f, x, y, tx, ty):
    with fw.dual_level():
        dx = fw.make_dual(x, tx)
        dy = fw.make_dual(y, ty)
        out = f(m, dx, dy)
        p, t = fw.unpack_dual(out)
    return p, t


@pytest.mark.parametrize("name,f", FUNCS, ids=[n for n, _ in FUNCS])
def test_tangents_match_torch_and_finite_differences(name, f):
    x, y, tx, ty = (_arr(3, 4, seed=s) for s in range(4))
    if name == "pow":
        y = np.abs(y) + 0.5
    ep, et = _run_dual(ember, fwad, f, *(ember.tensor(a) for a in (x, y, tx, ty)))
    tp, tt = _run_dual(torch, tfw, f, *(torch.tensor(a) for a in (x, y, tx, ty)))
    np.testing.assert_allclose(ep.numpy(), tp.numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(et.numpy(), tt.numpy(), rtol=1e-9, atol=1e-11)
    # central differences in float64 along the tangent direction
    h = 1e-6

    def val(s):
        return f(ember, ember.tensor(x + s * tx), ember.tensor(y + s * ty)).numpy()

    fd = (val(h) - val(-h)) / (2 * h)
    np.testing.assert_allclose(et.numpy(), fd, rtol=1e-5, atol=1e-6)


def test_unpack_dual_is_a_namedtuple_and_levels_end():
    x = ember.tensor(_arr(3))
    t = ember.tensor(_arr(3, seed=1))
    with fwad.dual_level() as lv:
        assert lv == 0
        d = fwad.make_dual(x, t)
        u = fwad.unpack_dual(d)
        assert isinstance(u, fwad.UnpackedDualTensor) and u._fields == ("primal", "tangent")
        assert u.tangent is t
        np.testing.assert_array_equal(u.primal.numpy(), x.numpy())
        assert fwad.unpack_dual(ember.ones(2)).tangent is None
        assert fwad.unpack_dual(d * 0 + ember.ones(3)).tangent is not None
    assert fwad.unpack_dual(d).tangent is None  # the level is gone
    lvl = fwad.enter_dual_level()
    fwad.exit_dual_level(level=lvl)


def test_independent_output_has_no_tangent_and_constants_give_zero():
    with fwad.dual_level():
        d = fwad.make_dual(ember.ones(3), ember.ones(3))
        z = fwad.unpack_dual(d * 0.0).tangent
        np.testing.assert_array_equal(z.numpy(), np.zeros(3))
        assert fwad.unpack_dual(ember.ones(3) * 2).tangent is None
    with tfw.dual_level():
        d = tfw.make_dual(torch.ones(3), torch.ones(3))
        assert tfw.unpack_dual(torch.ones(3) * 2).tangent is None


def test_reverse_mode_still_works_on_a_primal_that_requires_grad():
    x = ember.tensor(_arr(3), requires_grad=True)
    tx = torch.tensor(_arr(3), requires_grad=True)
    t = _arr(3, seed=1)
    with fwad.dual_level():
        out = fwad.make_dual(x, ember.tensor(t)).sin()
        tan = fwad.unpack_dual(out).tangent
        out.sum().backward()
    with tfw.dual_level():
        tout = tfw.make_dual(tx, torch.tensor(t)).sin()
        ttan = tfw.unpack_dual(tout).tangent
        tout.sum().backward()
    assert tan.requires_grad == ttan.requires_grad
    np.testing.assert_allclose(tan.detach().numpy(), ttan.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-12)
    gx = ember.autograd.grad(tan.sum(), x)[0]  # d(tangent)/dx, through the dual
    (tgx,) = torch.autograd.grad(ttan.sum(), tx)
    np.testing.assert_allclose(gx.numpy(), tgx.numpy(), rtol=1e-12)


@pytest.mark.parametrize(
    "call,exc,match",
    [
        (lambda fw, m: fw.make_dual(m.ones(3), m.ones(3)), RuntimeError, "no level exists"),
        (lambda fw, m: fw.exit_dual_level(), RuntimeError, "Dual level must be"),
    ],
)
def test_errors_outside_a_level(call, exc, match):
    for fw, m in ((tfw, torch), (fwad, ember)):
        with pytest.raises(exc, match=match):
            call(fw, m)


def test_errors_inside_a_level():
    for fw, m in ((tfw, torch), (fwad, ember)):
        with fw.dual_level():
            with pytest.raises(RuntimeError, match="different size"):
                fw.make_dual(m.ones(3), m.ones(2))
            with pytest.raises(RuntimeError, match="Nested forward mode AD"):
                fw.enter_dual_level()
            with pytest.raises(ValueError, match="floating point or complex"):
                fw.make_dual(m.ones(3, dtype=m.int64), m.ones(3, dtype=m.int64))


def test_functional_jvp_and_hvp_match_torch():
    x, v = _arr(4), _arr(4, seed=1)
    y = _arr(3, 4, seed=2)

    def f(m, a):
        return (a.exp() * a).sum() + (a @ a) ** 2

    def g(m, a, b):
        return (b @ a).tanh(), a * 2

    for name in ("jvp", "hvp", "vhp", "vjp"):
        fe = getattr(ember.autograd.functional, name)
        ft = getattr(torch.autograd.functional, name)
        if name in ("hvp", "vhp"):
            got = fe(lambda a: f(ember, a), ember.tensor(x), ember.tensor(v))
            want = ft(lambda a: f(torch, a), torch.tensor(x), torch.tensor(v))
        elif name == "jvp":
            got = fe(
                lambda a, b: g(ember, a, b),
                (ember.tensor(x), ember.tensor(y)),
                (ember.tensor(v), ember.tensor(y * 0.5)),
            )
            want = ft(
                lambda a, b: g(torch, a, b),
                (torch.tensor(x), torch.tensor(y)),
                (torch.tensor(v), torch.tensor(y * 0.5)),
            )
        else:
            c = _arr(3, seed=3)
            got = fe(
                lambda a, b: g(ember, a, b)[0],
                (ember.tensor(x), ember.tensor(y)),
                ember.tensor(c),
            )
            want = ft(
                lambda a, b: g(torch, a, b)[0],
                (torch.tensor(x), torch.tensor(y)),
                torch.tensor(c),
            )
        ge, gt = _flatten(got), _flatten(want)
        assert len(ge) == len(gt), name
        for a, b in zip(ge, gt):
            np.testing.assert_allclose(a.numpy(), b.detach().numpy(), rtol=1e-10, err_msg=name)


def _flatten(x):
    if isinstance(x, (tuple, list)):
        return [v for i in x for v in _flatten(i)]
    return [x]


@pytest.mark.parametrize("api", ["hessian", "jacobian", "vhp", "hvp", "vjp", "jvp"])
@pytest.mark.parametrize("name", ["relu", "max_pool", "relu_squared", "two_inputs"])
def test_functional_on_piecewise_linear_functions_matches_torch(name, api):
    """A gradient without a graph (ReLU's, max pooling's: piecewise constant in the input) is
    a zero second derivative for torch's functional API, not an error; and hvp's vector pairs
    with its own input where only the second input's gradient exists."""
    x, v = _arr(4), _arr(4, seed=1)

    def fn(m):
        F = m.nn.functional
        return {
            "relu": lambda a: F.relu(a).sum(),
            "max_pool": lambda a: F.max_pool1d(a.view(1, 1, 4), 2).sum(),
            "relu_squared": lambda a: (F.relu(a) ** 2).sum(),
            "two_inputs": lambda a, b: (F.relu(a) * 0).sum() + (b**3).sum(),
        }[name]

    def run(m):
        f = fn(m)
        ins = (m.tensor(x), m.tensor(v)) if name == "two_inputs" else m.tensor(x)
        vec = (m.tensor(v), m.tensor(x)) if name == "two_inputs" else m.tensor(v)
        F = m.autograd.functional
        if api in ("hessian", "jacobian"):
            r = getattr(F, api)(f, ins)
        else:
            r = getattr(F, api)(f, ins, None if api == "vjp" else vec)[1]
        flat = []
        stack = [r]
        while stack:
            t = stack.pop(0)
            if isinstance(t, tuple):
                stack[:0] = list(t)
            else:
                flat.append(t.detach().numpy())
        return flat

    for a, b in zip(run(ember), run(torch), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)
