"""ember/ops/random_gamma.py (_standard_gamma and its gradient, _sample_dirichlet, binomial)
and the distributions' log I0 / log I1 of ember/ops/_dist_special.py, against torch."""

from __future__ import annotations

import numpy as np
import pytest

import ember
from ember.ops import _dist_special as sp

torch = pytest.importorskip("torch")


def test_standard_gamma_grad_matches_torch_and_the_exact_derivative():
    alphas = np.array([0.05, 0.3, 1.0, 2.5, 7.9, 8.1, 30.0, 500.0, 2e5])
    torch.manual_seed(0)
    for a in alphas:
        ta = torch.full((50,), a, dtype=torch.float64)
        x = torch._standard_gamma(ta)
        want = torch._standard_gamma_grad(ta, x).numpy()
        got = ember._standard_gamma_grad(ember.tensor(ta.numpy()), ember.tensor(x.numpy()))
        # torch's gradient is a fitted approximation (about 1e-3 relative); ember's is exact
        np.testing.assert_allclose(got.numpy(), want, rtol=2e-3, atol=1e-8)
    # exact: -(dP(a, x)/da) / pdf by central differences of torch.special.gammainc
    a = torch.tensor(2.5, dtype=torch.float64)
    x = torch.tensor([0.05, 0.7, 2.5, 6.0, 14.0], dtype=torch.float64)
    h = 1e-6
    dp = (torch.special.gammainc(a + h, x) - torch.special.gammainc(a - h, x)) / (2 * h)
    pdf = torch.distributions.Gamma(a, 1.0).log_prob(x).exp()
    got = ember._standard_gamma_grad(
        ember.tensor(2.5, dtype=ember.float64), ember.tensor(x.numpy())
    )
    np.testing.assert_allclose(got.numpy(), (-dp / pdf).numpy(), rtol=1e-6)


def test_standard_gamma_samples_and_backward():
    ember.manual_seed(0)
    a = ember.tensor([0.2, 1.0, 4.0], dtype=ember.float64, requires_grad=True)
    x = ember._standard_gamma(a.expand(20000, 3))
    assert x.dtype == ember.float64 and x.shape == (20000, 3)
    np.testing.assert_allclose(x.detach().numpy().mean(0), [0.2, 1.0, 4.0], rtol=0.05)
    np.testing.assert_allclose(x.detach().numpy().var(0), [0.2, 1.0, 4.0], rtol=0.1)
    assert (x.detach().numpy() > 0).all()
    x.sum().backward()
    want = ember._standard_gamma_grad(a.detach().expand(20000, 3), x.detach()).numpy().sum(0)
    np.testing.assert_allclose(a.grad.numpy(), want, rtol=1e-12)
    f = ember._standard_gamma(ember.full((4,), 2.0))
    assert f.dtype == ember.float32


def test_sample_dirichlet():
    ember.manual_seed(1)
    c = np.array([0.5, 2.0, 3.0])
    x = ember._sample_dirichlet(ember.tensor(c).expand(20000, 3)).numpy()
    np.testing.assert_allclose(x.sum(-1), 1.0, rtol=1e-12)
    np.testing.assert_allclose(x.mean(0), c / c.sum(), atol=0.01)


@pytest.mark.parametrize(
    "n,p", [(10.0, 0.3), (10.0, 0.9), (200.0, 0.4), (1000.0, 0.97), (0.0, 0.5)]
)
def test_binomial(n, p):
    ember.manual_seed(2)
    x = ember.binomial(ember.full((20000,), n), ember.full((20000,), p)).numpy()
    assert x.dtype == np.float32
    assert ((x >= 0) & (x <= n) & (x == np.round(x))).all()
    np.testing.assert_allclose(x.mean(), n * p, atol=0.05 * max(1.0, np.sqrt(n * p * (1 - p))))
    if n:
        np.testing.assert_allclose(x.var(), n * p * (1 - p), rtol=0.1)
    torch.manual_seed(0)
    t = torch.binomial(torch.full((3,), n), torch.full((3,), p))
    assert t.dtype == torch.float32


def test_distribution_helpers_against_torch():
    # the distributions' lgamma/digamma/gammainc are torch.special's ops (ops/special.py);
    # log_i0/log_i1 compose i0e/i1e: values and float64 gradients against torch
    from ember.distributions import gamma

    assert gamma.lgamma is ember.lgamma and gamma.digamma is ember.digamma
    assert gamma.gammainc is ember.special.gammainc
    x = np.array([1e-3, 0.3, 1.7, 4.2, 25.0, 800.0])
    for mine, theirs in (
        (sp.log_i0, lambda t: torch.special.i0e(t).log() + t),
        (sp.log_i1, lambda t: torch.special.i1e(t).log() + t),
    ):
        ex = ember.tensor(x, requires_grad=True)
        tx = torch.tensor(x, requires_grad=True)
        e, t = mine(ex), theirs(tx)
        np.testing.assert_allclose(e.detach().numpy(), t.detach().numpy(), rtol=1e-12, atol=1e-14)
        e.sum().backward()
        t.sum().backward()
        np.testing.assert_allclose(ex.grad.numpy(), tx.grad.numpy(), rtol=1e-10, atol=1e-12)
        assert ember.autograd.gradcheck(mine, (ember.tensor(x[:5], requires_grad=True),))
    # log I0 itself, where torch.i0 does not overflow
    small = torch.tensor(x[:5])
    np.testing.assert_allclose(
        sp.log_i0(ember.tensor(x[:5])).numpy(),
        torch.special.i0(small).log().numpy(),
        rtol=1e-12,
        atol=1e-14,
    )
    assert sp.log_i0(ember.tensor([2.5])).dtype == ember.float32


def test_tiny_concentrations_stay_positive_in_float32():
    ember.manual_seed(3)
    x = ember._standard_gamma(ember.full((5000,), 0.01))
    assert x.dtype == ember.float32
    assert (x.numpy() >= np.finfo(np.float32).tiny).all()
    t = torch._standard_gamma(torch.full((5000,), 0.01))
    assert (t.numpy() >= np.finfo(np.float32).tiny).all()
