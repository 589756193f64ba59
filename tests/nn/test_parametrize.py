"""nn.utils.parametrize and nn.utils.parametrizations (weight_norm, spectral_norm) against torch:
state_dict keys, values, gradients, buffers after power iterations, removal and errors."""

from __future__ import annotations

import copy
import pickle

import numpy as np
import pytest

import ember
from ember.nn.utils import parametrizations as EP
from ember.nn.utils import parametrize as EZ
from tests._support.torch_ref import assert_same, torch

TP = torch.nn.utils.parametrizations
TZ = torch.nn.utils.parametrize


def _copy_to_torch(e, t):
    t.load_state_dict({k: torch.tensor(v.numpy()) for k, v in e.state_dict().items()})


def _x(shape, seed=0):
    a = np.random.default_rng(seed).standard_normal(shape).astype(np.float32)
    return ember.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)


class _SymE(ember.nn.Module):
    def forward(self, x):
        return x.triu() + x.triu(1).transpose(0, 1)

    def right_inverse(self, a):
        return a.triu()


class _SymT(torch.nn.Module):
    def forward(self, x):
        return x.triu() + x.triu(1).transpose(0, 1)

    def right_inverse(self, a):
        return a.triu()


class _DoubleE(ember.nn.Module):
    def forward(self, x):
        return x * 2


class _DoubleT(torch.nn.Module):
    def forward(self, x):
        return x * 2


def _pair_linear(n=4, m=4):
    e = ember.nn.Linear(n, m)
    t = torch.nn.Linear(n, m)
    _copy_to_torch(e, t)
    return e, t


def test_register_custom_parametrization_like_torch():
    e, t = _pair_linear()
    w_param = e.weight
    EZ.register_parametrization(e, "weight", _SymE())
    TZ.register_parametrization(t, "weight", _SymT())
    assert type(e).__name__ == type(t).__name__ == "ParametrizedLinear"
    assert EZ.type_before_parametrizations(e) is ember.nn.Linear
    assert list(e.state_dict()) == list(t.state_dict())
    assert [k for k, _ in e.named_parameters()] == [k for k, _ in t.named_parameters()]
    # the original is the same Parameter object, holding right_inverse(weight)
    assert e.parametrizations.weight.original is w_param
    assert_same(e.parametrizations.weight.original, t.parametrizations.weight.original)
    assert_same(e.weight, t.weight)
    assert EZ.is_parametrized(e) and EZ.is_parametrized(e, "weight")
    assert not EZ.is_parametrized(e, "bias")
    xe, xt = _x((3, 4))
    e(xe).pow(2).sum().backward()
    t(xt).pow(2).sum().backward()
    assert_same(xe.grad, xt.grad)
    assert_same(e.parametrizations.weight.original.grad, t.parametrizations.weight.original.grad)
    # a second parametrization chains
    EZ.register_parametrization(e, "weight", _DoubleE())
    TZ.register_parametrization(t, "weight", _DoubleT())
    assert_same(e.weight, t.weight)
    assert list(e.state_dict()) == list(t.state_dict())
    # assigning goes through right_inverse
    v = np.random.default_rng(5).standard_normal((4, 4)).astype(np.float32)
    v = v + v.T
    with pytest.raises(RuntimeError):
        TZ_v = torch.tensor(v)
        t.weight = TZ_v  # _DoubleT has no right_inverse
    with pytest.raises(RuntimeError):
        e.weight = ember.tensor(v)


def test_assign_and_remove_like_torch():
    e, t = _pair_linear()
    EZ.register_parametrization(e, "weight", _SymE())
    TZ.register_parametrization(t, "weight", _SymT())
    v = np.random.default_rng(5).standard_normal((4, 4)).astype(np.float32)
    e.weight = ember.tensor(v)
    t.weight = torch.tensor(v)
    assert_same(e.parametrizations.weight.original, t.parametrizations.weight.original)
    assert_same(e.weight, t.weight)
    for leave in (True, False):
        e2, t2 = _pair_linear()
        EZ.register_parametrization(e2, "weight", _SymE())
        TZ.register_parametrization(t2, "weight", _SymT())
        EZ.remove_parametrizations(e2, "weight", leave_parametrized=leave)
        TZ.remove_parametrizations(t2, "weight", leave_parametrized=leave)
        assert type(e2) is ember.nn.Linear and not EZ.is_parametrized(e2)
        assert list(e2.state_dict()) == list(t2.state_dict()) == ["bias", "weight"]
        assert isinstance(e2.weight, ember.nn.Parameter)
        assert_same(e2.weight, t2.weight)


def test_errors_like_torch():
    e, t = _pair_linear(2, 2)
    for fe, ft in (
        (
            lambda: EZ.remove_parametrizations(e, "weight"),
            lambda: TZ.remove_parametrizations(t, "weight"),
        ),
        (
            lambda: EZ.register_parametrization(e, "foo", ember.nn.Identity()),
            lambda: TZ.register_parametrization(t, "foo", torch.nn.Identity()),
        ),
    ):
        with pytest.raises(ValueError) as te:
            ft()
        with pytest.raises(ValueError) as ee:
            fe()
        assert str(ee.value) == str(te.value)

    class _Shrink(ember.nn.Module):
        def forward(self, x):
            return x[0]

    with pytest.raises(ValueError, match="may not change the shape"):
        EZ.register_parametrization(ember.nn.Linear(2, 2), "weight", _Shrink())


def test_cached_computes_once():
    calls = []

    class _Count(ember.nn.Module):
        def forward(self, x):
            calls.append(1)
            return x * 3

    m = EZ.register_parametrization(ember.nn.Linear(3, 3), "weight", _Count())
    calls.clear()
    with EZ.cached():
        a = m.weight
        b = m.weight
    assert a is b and len(calls) == 1
    _ = m.weight
    assert len(calls) == 2


@pytest.mark.parametrize("dim", [0, 1, None])
def test_weight_norm_matches_torch(dim):
    e = ember.nn.Conv2d(3, 4, 2)
    t = torch.nn.Conv2d(3, 4, 2)
    _copy_to_torch(e, t)
    EP.weight_norm(e, dim=dim)
    TP.weight_norm(t, dim=dim)
    assert list(e.state_dict()) == list(t.state_dict())
    for k, v in t.state_dict().items():
        assert_same(e.state_dict()[k], v, 1e-6, 1e-6)
    assert_same(e.weight, t.weight, 1e-6, 1e-6)
    xe, xt = _x((2, 3, 5, 5))
    e(xe).pow(2).sum().backward()
    t(xt).pow(2).sum().backward()
    assert_same(xe.grad, xt.grad, 1e-5, 1e-5)
    for (k, p), (k2, q) in zip(e.named_parameters(), t.named_parameters()):
        assert k == k2
        assert_same(p.grad, q.grad, 1e-4, 1e-5)


def test_weight_norm_state_dict_loads_from_torch_and_gradcheck():
    t = TP.weight_norm(torch.nn.Linear(3, 2))
    e = EP.weight_norm(ember.nn.Linear(3, 2))
    e.load_state_dict({k: ember.tensor(v.numpy()) for k, v in t.state_dict().items()})
    assert_same(e.weight, t.weight)
    m = EP.weight_norm(ember.nn.Linear(3, 2).double())
    g = m.parametrizations.weight.original0
    v = m.parametrizations.weight.original1

    def f(g_, v_):
        return m.parametrizations.weight[0](g_, v_)

    assert ember.autograd.gradcheck(f, (g.detach().requires_grad_(), v.detach().requires_grad_()))


@pytest.mark.parametrize("make", ["linear", "conv", "convT"])
def test_spectral_norm_matches_torch(make):
    if make == "linear":
        e, t = ember.nn.Linear(5, 3), torch.nn.Linear(5, 3)
        shape = (4, 5)
    elif make == "conv":
        e, t = ember.nn.Conv2d(2, 3, 2), torch.nn.Conv2d(2, 3, 2)
        shape = (2, 2, 4, 4)
    else:
        e, t = ember.nn.ConvTranspose2d(2, 3, 2), torch.nn.ConvTranspose2d(2, 3, 2)
        shape = (2, 2, 4, 4)
    _copy_to_torch(e, t)
    EP.spectral_norm(e)
    TP.spectral_norm(t)
    assert list(e.state_dict()) == list(t.state_dict())
    for k, v in t.state_dict().items():
        assert tuple(e.state_dict()[k].shape) == tuple(v.shape)
    # the power-iteration vectors start random: take torch's, then both evolve the same way
    e.load_state_dict({k: ember.tensor(v.numpy()) for k, v in t.state_dict().items()})
    for step in range(3):
        xe, xt = _x(shape, seed=step)
        ye, yt = e(xe), t(xt)
        assert_same(ye, yt, 1e-4, 1e-5)
        ye.pow(2).sum().backward()
        yt.pow(2).sum().backward()
        assert_same(xe.grad, xt.grad, 1e-4, 1e-5)
        for k, v in t.state_dict().items():
            assert_same(e.state_dict()[k], v, 1e-4, 1e-5)
    assert_same(
        e.parametrizations.weight.original.grad, t.parametrizations.weight.original.grad, 1e-4, 1e-4
    )
    e.eval()
    t.eval()
    u = e.parametrizations.weight[0]._u.clone()
    assert_same(e.weight, t.weight, 1e-4, 1e-5)
    assert_same(e.parametrizations.weight[0]._u, torch.tensor(u.numpy()), 0, 0)  # eval: no update


def test_spectral_norm_sigma_is_largest_singular_value():
    m = EP.spectral_norm(ember.nn.Linear(6, 4), n_power_iterations=50)
    _ = m.weight  # runs the power iterations
    w = m.parametrizations.weight.original.detach().numpy()
    s = np.linalg.svd(w, compute_uv=False)[0]
    assert np.allclose(np.linalg.svd(m.weight.detach().numpy(), compute_uv=False)[0], 1.0, 1e-4)
    assert np.allclose(w / s, m.weight.detach().numpy(), atol=1e-5)


def test_deepcopy_allowed_pickle_refused_like_torch():
    m = EP.spectral_norm(ember.nn.Linear(3, 4))
    t = TP.spectral_norm(torch.nn.Linear(3, 4))
    m2 = copy.deepcopy(m)
    assert type(m2).__name__ == "ParametrizedLinear"
    assert m2.parametrizations.weight.original is not m.parametrizations.weight.original
    assert list(m2.state_dict()) == list(m.state_dict())
    assert_same(m2.weight, torch.tensor(m.weight.detach().numpy()), 1e-6, 1e-6)
    with pytest.raises(RuntimeError) as te:
        pickle.dumps(t)
    with pytest.raises(RuntimeError) as ee:
        pickle.dumps(m)
    assert str(ee.value) == str(te.value)
    assert repr(m) == repr(t)


@pytest.mark.parametrize("shape", [(4, 4), (6, 3), (3, 6)])
def test_orthogonal_matches_torch(shape):
    e, t = _pair_linear(shape[1], shape[0])
    EP.orthogonal(e)
    TP.orthogonal(t)
    assert list(e.state_dict()) == list(t.state_dict())
    assert_same(e.weight, t.weight, 1e-5, 1e-5)  # registration: QR of the weight, deterministic
    w = e.weight.detach().numpy()
    gram = w @ w.T if shape[0] <= shape[1] else w.T @ w
    assert np.allclose(gram, np.eye(min(shape)), atol=1e-5)
    # a trained state: the same original and base in both, values and gradients agree
    sd = {k: v.detach().numpy().copy() for k, v in t.state_dict().items()}
    rng = np.random.default_rng(4)
    sd["parametrizations.weight.original"] = rng.standard_normal(shape).astype(
        np.float32
    ) * 0.3 - 1.5 * np.eye(*shape, dtype=np.float32)
    e.load_state_dict({k: ember.tensor(v) for k, v in sd.items()})
    t.load_state_dict({k: torch.tensor(v) for k, v in sd.items()})
    assert_same(e.weight, t.weight, 1e-5, 1e-5)
    xe, xt = _x((2, shape[1]))
    e(xe).pow(2).sum().backward()
    t(xt).pow(2).sum().backward()
    assert_same(xe.grad, xt.grad, 1e-4, 1e-5)
    assert_same(
        e.parametrizations.weight.original.grad,
        t.parametrizations.weight.original.grad,
        1e-4,
        1e-4,
    )


def test_orthogonal_assign_gradcheck_and_errors():
    e, t = _pair_linear(4, 4)
    EP.orthogonal(e)
    TP.orthogonal(t)
    q = np.linalg.qr(np.random.default_rng(2).standard_normal((4, 4)))[0].astype(np.float32)
    e.weight = ember.tensor(q)
    t.weight = torch.tensor(q)
    assert_same(e.weight, t.weight, 1e-5, 1e-5)
    assert_same(e.parametrizations.weight[0].base, t.parametrizations.weight[0].base, 1e-5, 1e-5)
    m = EP.orthogonal(ember.nn.Linear(3, 3).double())
    h = EP.orthogonal(ember.nn.Linear(2, 4).double())
    for mod in (m, h):
        x = (mod.parametrizations.weight.original.detach() * 0.5).requires_grad_()
        assert ember.autograd.gradcheck(mod.parametrizations.weight[0], (x,))
    with pytest.raises(ValueError) as te:
        TP.orthogonal(torch.nn.Linear(2, 2), name="bias")
    with pytest.raises(ValueError) as ee:
        EP.orthogonal(ember.nn.Linear(2, 2), name="bias")
    assert str(ee.value) == str(te.value)
    with pytest.raises(ValueError, match='orthogonal_map has to be one of "matrix_exp"'):
        EP.orthogonal(ember.nn.Linear(2, 2), orthogonal_map="qr")
