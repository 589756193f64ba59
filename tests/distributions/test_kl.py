"""kl_divergence against torch for every registered pair, its gradients, and the registry."""

from __future__ import annotations

import numpy as np
import pytest

import ember

torch = pytest.importorskip("torch")
ED = ember.distributions
TD = torch.distributions
R = np.random.default_rng(7)


_CREATED: list = []  # the parameter tensors made by the last builds


def _t(m, a):
    t = m.tensor(np.asarray(a, dtype=np.float64), requires_grad=True)
    _CREATED.append(t)
    return t


def _pos(lo=0.5, hi=3.0):
    return R.uniform(lo, hi, 3)


def _simplex():
    x = R.uniform(0.2, 1.0, (3, 4))
    return x / x.sum(-1, keepdims=True)


def _spd():
    a = R.normal(size=(2, 3, 3))
    return a @ np.swapaxes(a, -1, -2) + 3 * np.eye(3)


# name -> (builder(D, m, params), params)
DISTS = {
    "Normal": (
        lambda D, m, p: D.Normal(_t(m, p[0]), _t(m, p[1])),
        lambda: (R.normal(size=3), _pos()),
    ),
    "Bernoulli": (lambda D, m, p: D.Bernoulli(_t(m, p[0])), lambda: (_pos(0.1, 0.9),)),
    "Categorical": (lambda D, m, p: D.Categorical(_t(m, p[0])), lambda: (_simplex(),)),
    "OneHotCategorical": (lambda D, m, p: D.OneHotCategorical(_t(m, p[0])), lambda: (_simplex(),)),
    "Beta": (lambda D, m, p: D.Beta(_t(m, p[0]), _t(m, p[1])), lambda: (_pos(), _pos())),
    "Gamma": (lambda D, m, p: D.Gamma(_t(m, p[0]), _t(m, p[1])), lambda: (_pos(), _pos())),
    "Dirichlet": (lambda D, m, p: D.Dirichlet(_t(m, p[0])), lambda: (R.uniform(0.5, 3, (3, 4)),)),
    "Exponential": (lambda D, m, p: D.Exponential(_t(m, p[0])), lambda: (_pos(),)),
    "Laplace": (
        lambda D, m, p: D.Laplace(_t(m, p[0]), _t(m, p[1])),
        lambda: (R.normal(size=3), _pos()),
    ),
    "Poisson": (lambda D, m, p: D.Poisson(_t(m, p[0])), lambda: (_pos(),)),
    "Cauchy": (
        lambda D, m, p: D.Cauchy(_t(m, p[0]), _t(m, p[1])),
        lambda: (R.normal(size=3), _pos()),
    ),
    "Gumbel": (
        lambda D, m, p: D.Gumbel(_t(m, p[0]), _t(m, p[1])),
        lambda: (R.normal(size=3), _pos()),
    ),
    "Geometric": (lambda D, m, p: D.Geometric(_t(m, p[0])), lambda: (_pos(0.1, 0.9),)),
    "HalfNormal": (lambda D, m, p: D.HalfNormal(_t(m, p[0])), lambda: (_pos(),)),
    "Pareto": (lambda D, m, p: D.Pareto(_t(m, p[0]), _t(m, p[1])), lambda: (_pos(), _pos())),
    "Uniform": (
        lambda D, m, p: D.Uniform(_t(m, p[0]), _t(m, p[1])),
        lambda: (R.uniform(-1, 0, 3), _pos()),
    ),
    "Binomial": (lambda D, m, p: D.Binomial(5, _t(m, p[0])), lambda: (_pos(0.1, 0.9),)),
    "LogNormal": (
        lambda D, m, p: D.LogNormal(_t(m, p[0]), _t(m, p[1])),
        lambda: (R.normal(size=3), _pos()),
    ),
    "MultivariateNormal": (
        lambda D, m, p: D.MultivariateNormal(_t(m, p[0]), scale_tril=_t(m, p[1])),
        lambda: (R.normal(size=(2, 3)), np.linalg.cholesky(_spd())),
    ),
    "LowRankMultivariateNormal": (
        lambda D, m, p: D.LowRankMultivariateNormal(_t(m, p[0]), _t(m, p[1]), _t(m, p[2])),
        lambda: (R.normal(size=(2, 3)), R.normal(size=(2, 3, 2)), R.uniform(0.5, 2, (2, 3))),
    ),
    "Independent": (
        lambda D, m, p: D.Independent(D.Normal(_t(m, p[0]), _t(m, p[1])), 1),
        lambda: (R.normal(size=(2, 3)), R.uniform(0.5, 2, (2, 3))),
    ),
}

PAIRS = [(n, n) for n in DISTS] + [
    ("Exponential", "Gamma"),
    ("Exponential", "Normal"),
    ("Gamma", "Exponential"),
    ("Gamma", "Normal"),
    ("Normal", "Gumbel"),
    ("Normal", "Laplace"),
    ("Uniform", "Normal"),
    ("Uniform", "Gumbel"),
    ("Uniform", "Exponential"),
    ("Uniform", "Gamma"),
    ("Normal", "Beta"),
    ("Laplace", "Exponential"),
    ("Gumbel", "Uniform"),
    ("MultivariateNormal", "LowRankMultivariateNormal"),
    ("LowRankMultivariateNormal", "MultivariateNormal"),
]


@pytest.mark.parametrize("pair", PAIRS, ids=[f"{a}-{b}" for a, b in PAIRS])
def test_kl_values_and_gradients(pair):
    (bp, gp), (bq, gq) = DISTS[pair[0]], DISTS[pair[1]]
    pp, pq = gp(), gq()
    if pair == ("Uniform", "Exponential") or pair == ("Uniform", "Gamma"):
        pp = (R.uniform(0.1, 1, 3), R.uniform(1.5, 3, 3))  # inside q's support
    e = ED.kl_divergence(bp(ED, ember, pp), bq(ED, ember, pq))
    t = TD.kl_divergence(bp(TD, torch, pp), bq(TD, torch, pq))
    assert tuple(e.shape) == tuple(t.shape)
    np.testing.assert_allclose(e.detach().numpy(), t.detach().numpy(), rtol=1e-7, atol=1e-9)
    if not np.isfinite(t.detach().numpy()).all() or not t.requires_grad:
        return
    # gradients w.r.t. every parameter of p and q
    _CREATED.clear()
    ep, eq = bp(ED, ember, pp), bq(ED, ember, pq)
    eleaves = list(_CREATED)
    _CREATED.clear()
    tp, tq = bp(TD, torch, pp), bq(TD, torch, pq)
    tleaves = list(_CREATED)
    eg = ember.autograd.grad(ED.kl_divergence(ep, eq).sum(), eleaves, allow_unused=True)
    tg = torch.autograd.grad(TD.kl_divergence(tp, tq).sum(), tleaves, allow_unused=True)
    for a, b in zip(eg, tg):
        if b is None:
            continue
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-6, atol=1e-8)


def test_mvn_event_shape_errors():
    for a, b in (
        ("MultivariateNormal",) * 2,
        ("LowRankMultivariateNormal",) * 2,
        ("MultivariateNormal", "LowRankMultivariateNormal"),
    ):
        msgs = []
        for D, m in ((ED, ember), (TD, torch)):
            p = DISTS[a][0](D, m, DISTS[a][1]())
            q = getattr(D, b)
            if b == "MultivariateNormal":
                q = q(m.zeros(2), scale_tril=m.eye(2))
            else:
                q = q(m.zeros(2), m.ones(2, 1), m.ones(2))
            with pytest.raises(ValueError) as e:
                D.kl_divergence(p, q)
            msgs.append(str(e.value))
        assert msgs[0] == msgs[1]


def test_not_implemented_message():
    with pytest.raises(NotImplementedError) as e:
        ED.kl_divergence(ED.Cauchy(0.0, 1.0), ED.Normal(0.0, 1.0))
    with pytest.raises(NotImplementedError) as t:
        TD.kl_divergence(TD.Cauchy(0.0, 1.0), TD.Normal(0.0, 1.0))
    assert str(e.value) == str(t.value)


def test_register_kl_most_specific_wins():
    class MyNormal(ED.Normal):
        pass

    @ED.register_kl(MyNormal, ED.Normal)
    def _kl(p, q):
        return ember.tensor(42.0)

    try:
        assert ED.kl_divergence(MyNormal(0.0, 1.0), ED.Normal(0.0, 1.0)).item() == 42.0
        assert ED.kl_divergence(ED.Normal(0.0, 1.0), MyNormal(0.0, 1.0)).item() == 0.0
    finally:  # leave the registry as torch's for the other tests
        del ED.kl._KL_REGISTRY[MyNormal, ED.Normal]
        ED.kl._KL_MEMOIZE.clear()
    with pytest.raises(TypeError):
        ED.register_kl(int, ED.Normal)


def test_kl_matches_monte_carlo():
    ember.manual_seed(0)
    p = ED.Gamma(ember.tensor([2.0]).double(), ember.tensor([1.5]).double())
    q = ED.Gamma(ember.tensor([3.0]).double(), ember.tensor([1.0]).double())
    x = p.sample((40000,))
    mc = (p.log_prob(x) - q.log_prob(x)).mean()
    np.testing.assert_allclose(float(mc), float(ED.kl_divergence(p, q)), atol=0.01)
