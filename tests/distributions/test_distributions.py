"""Every distribution against torch.distributions: shapes, densities, moments, cdf/icdf,
entropy, expand, sample shapes and the gradients of log_prob w.r.t. the parameters."""

from __future__ import annotations

import math

import numpy as np
import pytest

import ember
from tests.distributions._cases import CASES

torch = pytest.importorskip("torch")
ED = ember.distributions
TD = torch.distributions

IDS = [c[0] for c in CASES]


# torch's GeneralizedPareto compares with a float32 zero: it works in float32 only
F32 = {"generalized_pareto"}
_f32 = [False]


def _params(params, lib, grad):
    out = {}
    for k, v in params.items():
        t = lib.tensor(v, dtype=lib.float32 if _f32[0] else lib.float64)
        if grad:
            t.requires_grad_(True)
        out[k] = t
    return out


def _np(x):
    if isinstance(x, ember.Tensor):
        return x.detach().numpy()
    return x.detach().numpy()


# torch's VonMises evaluates log I0 / I1 by polynomial fits (about 1e-7 relative); ember's
# series are exact to rounding
LOOSE = {"von_mises", "generalized_pareto"}
_loose = [False]


def _close(e, t, rtol=1e-7, atol=1e-9):
    if _loose[0]:
        rtol, atol = max(rtol, 1e-5), max(atol, 1e-6)
    assert tuple(e.shape) == tuple(t.shape), (e.shape, t.shape)
    np.testing.assert_allclose(_np(e), _np(t), rtol=rtol, atol=atol, equal_nan=True)


def _pair(case, grad=False):
    _, build, params = case
    _loose[0] = case[0] in LOOSE
    _f32[0] = case[0] in F32
    ep, tp = _params(params, ember, grad), _params(params, torch, grad)
    return build(ED, ep), build(TD, tp), ep, tp


def _values(td, shape=(4,)):
    torch.manual_seed(0)
    v = td.sample(shape)
    return ember.tensor(v.numpy()), v


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_shapes_and_log_prob(case):
    ed, td, _, _ = _pair(case)
    assert tuple(ed.batch_shape) == tuple(td.batch_shape)
    assert tuple(ed.event_shape) == tuple(td.event_shape)
    assert ed.has_rsample == td.has_rsample
    assert ed.has_enumerate_support == td.has_enumerate_support
    if "mixture" not in case[0]:
        assert repr(ed) == repr(td)
    ev, tv = _values(td)
    _close(ed.log_prob(ev), td.log_prob(tv))


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_moments_and_entropy(case):
    ed, td, _, _ = _pair(case)
    for name in ("mean", "mode", "variance", "stddev"):
        try:
            want = getattr(td, name)
        except NotImplementedError:
            continue
        _close(getattr(ed, name), want)
    try:
        want = td.entropy()
    except NotImplementedError:
        return
    _close(ed.entropy(), want, rtol=1e-6)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_cdf_icdf(case):
    ed, td, _, _ = _pair(case)
    ev, tv = _values(td)
    try:
        want = td.cdf(tv)
    except NotImplementedError:
        want = None
    if want is not None:
        _close(ed.cdf(ev), want)
    q = np.linspace(0.1, 0.9, 4).reshape((4,) + (1,) * len(td.batch_shape))
    q = np.broadcast_to(q, (4,) + tuple(td.batch_shape)).copy()
    try:
        want = td.icdf(torch.tensor(q))
    except NotImplementedError:
        return
    _close(ed.icdf(ember.tensor(q)), want)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_log_prob_gradients(case):
    ed, td, ep, tp = _pair(case, grad=True)
    if not ep:
        pytest.skip("no tensor parameters")
    ev, tv = _values(td)
    td.log_prob(tv).sum().backward()
    ed.log_prob(ev).sum().backward()
    for k in ep:
        if tp[k].grad is None:
            assert ep[k].grad is None or not np.any(_np(ep[k].grad))
            continue
        _close(ep[k].grad, tp[k].grad, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_sample_shapes_and_support(case):
    ed, td, _, _ = _pair(case)
    for shape in [(), (5,), (2, 3)]:
        s = ed.sample(shape)
        want = td.sample(shape)
        assert tuple(s.shape) == tuple(want.shape)
        assert s.dtype == getattr(ember, str(want.dtype).split(".")[-1])
        assert not s.requires_grad
        assert bool(ed.support.check(s).all())
        if ed.has_rsample:
            r = ed.rsample(shape)
            assert tuple(r.shape) == tuple(want.shape)
    with pytest.warns(UserWarning):
        assert tuple(ed.sample_n(3).shape) == tuple(td.sample((3,)).shape)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_expand(case):
    ed, td, _, _ = _pair(case)
    shape = (2,) + tuple(td.batch_shape)
    ee, te = ed.expand(shape), td.expand(shape)
    assert type(ee) is type(ed)
    assert tuple(ee.batch_shape) == tuple(te.batch_shape)
    assert tuple(ee.event_shape) == tuple(te.event_shape)
    ev, tv = _values(te, (3,))
    _close(ee.log_prob(ev), te.log_prob(tv))
    assert tuple(ee.sample((4,)).shape) == tuple(te.sample((4,)).shape)


@pytest.mark.parametrize(
    "name",
    ["bernoulli_probs", "categorical", "onehot", "binomial_logits"],
)
def test_enumerate_support(name):
    case = CASES[IDS.index(name)]
    ed, td, _, _ = _pair(case)
    for expand in (True, False):
        _close(ed.enumerate_support(expand), td.enumerate_support(expand))
    _close(
        ed.log_prob(ed.enumerate_support()).exp().sum(0),
        td.log_prob(td.enumerate_support()).exp().sum(0),
    )


def test_float32_parameters_keep_float32():
    d = ED.Normal(ember.zeros(3), ember.ones(3))
    assert d.sample().dtype == ember.float32
    assert d.log_prob(ember.zeros(3)).dtype == ember.float32
    g = ED.Gamma(ember.full((3,), 2.0), ember.ones(3))
    assert g.rsample((2,)).dtype == ember.float32
    assert g.log_prob(ember.ones(3)).dtype == ember.float32


def test_entropy_mc_matches_closed_form():
    # a Monte-Carlo check of the exponential-family (Bregman) entropy path
    ember.manual_seed(0)
    d = ED.Gamma(ember.tensor([2.0, 5.0], dtype=ember.float64), ember.tensor([1.0, 3.0]).double())
    x = d.sample((40000,))
    mc = -d.log_prob(x).mean(0)
    ef = super(ED.Gamma, d).entropy()  # ExponentialFamily.entropy
    np.testing.assert_allclose(_np(ef), _np(d.entropy()), rtol=1e-9)
    np.testing.assert_allclose(_np(mc), _np(d.entropy()), atol=0.03)
    assert math.isfinite(float(ef.sum()))


def test_normal_without_a_graph_gives_the_graphs_values():
    # with nothing to differentiate, log_prob and rsample work in place on one array: the same
    # operations, so the same bits as the recorded path, and torch's draws
    rng = np.random.default_rng(9)
    loc = rng.standard_normal(50).astype(np.float32)
    scale = rng.uniform(0.5, 2.0, 50).astype(np.float32)
    value = rng.standard_normal((3, 50)).astype(np.float32)
    fast = ember.distributions.Normal(ember.tensor(loc), ember.tensor(scale))
    graph = ember.distributions.Normal(ember.tensor(loc, requires_grad=True), ember.tensor(scale))
    a = fast.log_prob(ember.tensor(value)).numpy()
    b = graph.log_prob(ember.tensor(value)).detach().numpy()
    assert np.array_equal(a, b)
    with ember.no_grad():
        assert np.array_equal(graph.log_prob(ember.tensor(value)).numpy(), a)
    t = torch.distributions.Normal(torch.tensor(loc), torch.tensor(scale))
    np.testing.assert_allclose(a, t.log_prob(torch.tensor(value)).numpy(), rtol=1e-6, atol=1e-6)
    ember.manual_seed(5)
    torch.manual_seed(5)
    want = t.rsample((4,)).numpy()
    assert np.array_equal(fast.rsample((4,)).numpy(), want)
    ember.manual_seed(5)
    assert np.array_equal(graph.rsample((4,)).detach().numpy(), want)
