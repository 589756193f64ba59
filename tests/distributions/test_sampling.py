"""Samples: moments of moderate samples against the distributions' own mean/variance (checked
against torch elsewhere), ember's generator fixing the draws, and gradients of rsample-based
losses (reparameterisation identities and float64 finite differences at a fixed state)."""

from __future__ import annotations

import numpy as np
import pytest

import ember
from tests.distributions._cases import CASES

ED = ember.distributions
N = 20000
IDS = [c[0] for c in CASES]
SKIP_MOMENTS = {"cauchy", "halfcauchy", "mixture", "von_mises"}  # checked below


def _build(case, grad=False):
    _, build, params = case
    p = {k: ember.tensor(v, dtype=ember.float64, requires_grad=grad) for k, v in params.items()}
    return build(ED, p), p


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_sample_distribution(case):
    """The empirical CDF where the distribution has a cdf, else the first two moments."""
    d, _ = _build(case)
    ember.manual_seed(1)
    x = d.sample((N,)).double()
    draws = [x]
    if d.has_rsample:
        draws.append(d.rsample((N,)).double().detach())
    for x in draws:
        try:
            grid = ember.tensor(np.quantile(x.numpy(), [0.1, 0.3, 0.5, 0.7, 0.9], axis=0))
            want = d.cdf(grid.to(d.sample().dtype)).numpy()
        except NotImplementedError:
            want = None
        if want is not None:
            got = (x.numpy()[None] <= grid.numpy()[:, None]).mean(1)
            np.testing.assert_allclose(got, want, atol=0.02)
            continue
        if case[0] in SKIP_MOMENTS:
            continue
        try:
            mean, var = d.mean.detach().numpy(), d.variance.detach().numpy()
        except NotImplementedError:
            continue
        if np.isnan(mean).any():  # Categorical: compare the frequencies
            cats = range(d._num_events)
            freq = np.stack([(x == k).double().mean(0).numpy() for k in cats], -1)
            np.testing.assert_allclose(freq, d.probs.numpy(), atol=0.02)
            continue
        sd = np.sqrt(var)
        m = x.mean(0).numpy()
        assert np.all(np.abs(m - mean) <= 5 * sd / np.sqrt(N) + 1e-9), (m, mean)
        if case[0] in ("studentt", "fishersnedecor"):  # heavy tails: the sample variance has
            # no finite variance itself (StudentT df <= 4, FisherSnedecor df2 <= 8)
            continue
        v = x.var(0).numpy()
        assert np.all(np.abs(v - var) <= 0.1 * var + 1e-9), (v, var)


def test_cauchy_and_mixture_quantiles():
    ember.manual_seed(2)
    c = ED.Cauchy(ember.tensor([1.0]).double(), ember.tensor([2.0]).double())
    x = c.sample((N,)).numpy()
    np.testing.assert_allclose(np.median(x), 1.0, atol=0.1)
    np.testing.assert_allclose(np.mean(np.abs(x - 1.0) < 2.0), 0.5, atol=0.02)
    mix = ED.MixtureSameFamily(
        ED.Categorical(probs=ember.tensor([0.3, 0.7])),
        ED.Normal(ember.tensor([-5.0, 5.0]), ember.tensor([1.0, 1.0])),
    )
    y = mix.sample((N,)).numpy()
    np.testing.assert_allclose(np.mean(y < 0), 0.3, atol=0.02)
    np.testing.assert_allclose(y.mean(), float(mix.mean), atol=0.1)


def test_von_mises_circular_moments():
    ember.manual_seed(3)
    d = ED.VonMises(
        ember.tensor([0.5, -2.0, 3.0]).double(), ember.tensor([0.3, 2.0, 25.0]).double()
    )
    x = d.sample((N,))
    assert float(x.abs().max()) <= np.pi
    # E[cos(x - loc)] = I1(k) / I0(k) = 1 - circular variance; E[sin(x - loc)] = 0
    c = ember.cos(x - d.loc).mean(0).numpy()
    np.testing.assert_allclose(c, 1 - d.variance.numpy(), atol=0.015)
    np.testing.assert_allclose(ember.sin(x - d.loc).mean(0).numpy(), 0.0, atol=0.015)
    assert d.sample().dtype == ember.float64
    assert ED.VonMises(0.0, 1.0).sample((3,)).dtype == ember.float32


def test_generator_state_fixes_draws():
    d = ED.Gamma(ember.tensor([0.5, 3.0]), ember.tensor([1.0, 2.0]))
    ember.manual_seed(7)
    a = d.sample((5,))
    ember.manual_seed(7)
    b = d.sample((5,))
    np.testing.assert_array_equal(a.numpy(), b.numpy())
    c = d.sample((5,))
    assert not np.array_equal(a.numpy(), c.numpy())


def _fd_check(make, params, loss, seed=3, eps=1e-6):
    """d loss(rsample) / d params by autograd vs central differences at one generator state."""
    p = {k: ember.tensor(v, dtype=ember.float64, requires_grad=True) for k, v in params.items()}
    ember.manual_seed(seed)
    loss(make(p).rsample((7,))).backward()
    for k, v in params.items():
        num = np.zeros_like(v)
        for i in np.ndindex(v.shape):
            vals = []
            for s in (1, -1):
                w = v.copy()
                w[i] += s * eps
                q = dict(params)
                q[k] = w
                q = {kk: ember.tensor(vv, dtype=ember.float64) for kk, vv in q.items()}
                ember.manual_seed(seed)
                vals.append(float(loss(make(q).rsample((7,)))))
            num[i] = (vals[0] - vals[1]) / (2 * eps)
        np.testing.assert_allclose(p[k].grad.numpy(), num, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize(
    "make,params",
    [
        (
            lambda p: ED.Normal(p["a"], p["b"]),
            {"a": np.array([0.3, -1.0]), "b": np.array([1.5, 0.4])},
        ),
        (lambda p: ED.Uniform(p["a"], p["b"]), {"a": np.array([0.3]), "b": np.array([2.0])}),
        (lambda p: ED.Exponential(p["a"]), {"a": np.array([0.7, 2.0])}),
        (lambda p: ED.Laplace(p["a"], p["b"]), {"a": np.array([0.1]), "b": np.array([2.0])}),
        (lambda p: ED.Cauchy(p["a"], p["b"]), {"a": np.array([0.1]), "b": np.array([0.5])}),
        (lambda p: ED.LogNormal(p["a"], p["b"]), {"a": np.array([0.1]), "b": np.array([0.5])}),
        (lambda p: ED.Gumbel(p["a"], p["b"]), {"a": np.array([0.1]), "b": np.array([0.5])}),
        (lambda p: ED.Weibull(p["a"], p["b"]), {"a": np.array([1.1]), "b": np.array([1.5])}),
        (
            lambda p: ED.RelaxedBernoulli(ember.tensor(0.5).double(), logits=p["a"]),
            {"a": np.array([0.2, -0.4])},
        ),
        (
            lambda p: ED.RelaxedOneHotCategorical(ember.tensor(0.5).double(), logits=p["a"]),
            {"a": np.array([0.2, -0.4, 1.0])},
        ),
        (
            lambda p: ED.LogisticNormal(p["a"], p["b"]),
            {"a": np.array([0.1, 0.2]), "b": np.array([0.5, 1.0])},
        ),
    ],
)
def test_rsample_gradients_finite_differences(make, params):
    _fd_check(make, params, lambda x: (x * x.cos()).sum())


def test_gamma_rsample_gradient_identities():
    # E[x] = a / r and E[log x] = digamma(a) - log r: the implicit reparameterisation
    # gradients average to d/da of those (1 / r and trigamma(a))
    ember.manual_seed(4)
    a = ember.tensor([0.4, 2.5, 9.0], dtype=ember.float64, requires_grad=True)
    r = ember.tensor([1.0, 2.0, 0.5], dtype=ember.float64, requires_grad=True)
    x = ED.Gamma(a, r).rsample((N,))
    (ga, gr) = ember.autograd.grad(x.mean(0).sum(), (a, r))
    an, rn = a.detach().numpy(), r.detach().numpy()
    np.testing.assert_allclose(ga.numpy(), 1 / rn, rtol=0.05)
    np.testing.assert_allclose(gr.numpy(), -an / rn**2, rtol=0.05)
    torch = pytest.importorskip("torch")
    (ga,) = ember.autograd.grad(ED.Gamma(a, r).rsample((N,)).log().mean(0).sum(), (a,))
    want = torch.polygamma(1, torch.tensor(an)).numpy()
    np.testing.assert_allclose(ga.numpy(), want, rtol=0.05)


@pytest.mark.parametrize(
    "make",
    [
        lambda c: ED.Dirichlet(c),
        lambda c: ED.Beta(c[0], c[1]),
        lambda c: ED.Chi2(c),
        lambda c: ED.StudentT(c + 3.0, c, c),
    ],
)
def test_gamma_based_rsample_gradients_average_to_the_moment_gradients(make):
    # d/dc E[x] and d/dc E[x^2] by the pathwise estimator vs the closed-form moments
    ember.manual_seed(5)
    c = ember.tensor([1.5, 3.0], dtype=ember.float64, requires_grad=True)
    x = make(c).rsample((N,))
    (g1,) = ember.autograd.grad(x.mean(0).sum(), (c,), retain_graph=True)
    (g2,) = ember.autograd.grad((x * x).mean(0).sum(), (c,))
    d = make(c)
    (w1,) = ember.autograd.grad(d.mean.sum(), (c,), retain_graph=True)
    (w2,) = ember.autograd.grad((d.variance + d.mean**2).sum(), (c,))
    np.testing.assert_allclose(g1.numpy(), w1.numpy(), atol=0.03, rtol=0.05)
    np.testing.assert_allclose(g2.numpy(), w2.numpy(), atol=0.05, rtol=0.1)
