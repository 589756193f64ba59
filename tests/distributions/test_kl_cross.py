"""kl_divergence for every pair of the univariate families torch registers (including the
infinite ones), values and gradients, and that ember registers no pair torch lacks."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

import ember

torch = pytest.importorskip("torch")
ED = ember.distributions
TD = torch.distributions


def _make(D, m, name, leaves):
    def t(v):
        x = m.tensor(np.asarray(v, dtype=np.float64), requires_grad=True)
        leaves.append(x)
        return x

    return {
        "Normal": lambda: D.Normal(t([0.3, -0.2]), t([1.2, 0.7])),
        "Beta": lambda: D.Beta(t([1.5, 2.0]), t([2.5, 0.8])),
        "Gamma": lambda: D.Gamma(t([2.0, 3.0]), t([1.0, 0.5])),
        "Exponential": lambda: D.Exponential(t([1.0, 2.0])),
        "Uniform": lambda: D.Uniform(t([0.1, 0.2]), t([0.7, 0.9])),
        "Pareto": lambda: D.Pareto(t([1.0, 2.0]), t([3.0, 4.0])),
        "Gumbel": lambda: D.Gumbel(t([0.0, 1.0]), t([1.0, 2.0])),
        "Laplace": lambda: D.Laplace(t([0.0, 1.0]), t([1.0, 2.0])),
        "ContinuousBernoulli": lambda: D.ContinuousBernoulli(t([0.3, 0.8])),
        "Bernoulli": lambda: D.Bernoulli(t([0.3, 0.6])),
        "Poisson": lambda: D.Poisson(t([1.0, 3.0])),
        "Binomial": lambda: D.Binomial(3, t([0.3, 0.6])),
        "Cauchy": lambda: D.Cauchy(t([0.0, 1.0]), t([1.0, 2.0])),
    }[name]()


NAMES = [
    "Normal",
    "Beta",
    "Gamma",
    "Exponential",
    "Uniform",
    "Pareto",
    "Gumbel",
    "Laplace",
    "ContinuousBernoulli",
    "Bernoulli",
    "Poisson",
    "Binomial",
]
_REGISTERED = {(a.__name__, b.__name__) for a, b in TD.kl._KL_REGISTRY}
# every registered pair among NAMES, and a few that torch does not register
PAIRS = [p for p in itertools.product(NAMES, NAMES) if p in _REGISTERED] + [
    ("Beta", "Laplace"),
    ("Bernoulli", "Binomial"),
    ("Cauchy", "Normal"),
]


@pytest.mark.parametrize("pair", PAIRS, ids=[f"{a}-{b}" for a, b in PAIRS])
def test_pair(pair):
    a, b = pair
    tl, el = [], []
    tp, tq = _make(TD, torch, a, tl), _make(TD, torch, b, tl)
    ep, eq = _make(ED, ember, a, el), _make(ED, ember, b, el)
    try:
        want = TD.kl_divergence(tp, tq)
    except NotImplementedError as e:
        with pytest.raises(NotImplementedError) as got:
            ED.kl_divergence(ep, eq)
        assert str(got.value) == str(e)
        return
    got = ED.kl_divergence(ep, eq)
    np.testing.assert_allclose(got.detach().numpy(), want.detach().numpy(), rtol=1e-7, atol=1e-10)
    if not np.isfinite(want.detach().numpy()).all() or not want.requires_grad:
        return
    tg = torch.autograd.grad(want.sum(), tl, allow_unused=True)
    eg = ember.autograd.grad(got.sum(), el, allow_unused=True)
    for x, y in zip(eg, tg):
        if y is not None:
            np.testing.assert_allclose(x.numpy(), y.numpy(), rtol=1e-6, atol=1e-9)


def test_registry_matches_torch():
    import torch.distributions.kl as tk

    import ember.distributions.kl as ek

    names = {(a.__name__, b.__name__) for a, b in tk._KL_REGISTRY}
    ours = {(a.__name__, b.__name__) for a, b in ek._KL_REGISTRY}
    assert ours == names
