"""validate_args: the errors torch raises, with its messages, and the global switch."""

from __future__ import annotations

import pytest

import ember

torch = pytest.importorskip("torch")
ED = ember.distributions
TD = torch.distributions


@pytest.fixture(autouse=True)
def _torch_validates():
    """torch's eager flex_attention (tests/nn) turns torch.distributions' validation off for the
    whole process, a side effect of its compile machinery: these tests compare with it on."""
    prev = TD.Distribution._validate_args
    TD.Distribution.set_default_validate_args(True)
    yield
    TD.Distribution.set_default_validate_args(prev)


def _err(fn):
    with pytest.raises(ValueError) as e:
        fn()
    return str(e.value)


def _both(build):
    return _err(lambda: build(ED, ember)), _err(lambda: build(TD, torch))


@pytest.mark.parametrize(
    "build",
    [
        lambda D, m: D.Normal(0.0, -1.0),
        lambda D, m: D.Normal(m.tensor([0.0, 1.0]), m.tensor([1.0, 0.0])),
        lambda D, m: D.Bernoulli(probs=m.tensor([0.2, 1.5])),
        lambda D, m: D.Bernoulli(),
        lambda D, m: D.Bernoulli(probs=0.3, logits=0.1),
        lambda D, m: D.Categorical(probs=m.tensor(0.5)),
        lambda D, m: D.Uniform(1.0, 0.0),
        lambda D, m: D.Gamma(m.tensor([1.0]), m.tensor([-1.0])),
        lambda D, m: D.Dirichlet(m.tensor(1.0)),
        lambda D, m: D.Beta(m.tensor([1.0]), m.tensor([0.0])),
        lambda D, m: D.Geometric(probs=m.tensor([0.0, 0.5])),
        lambda D, m: D.Exponential(m.tensor([-2.0])),
        lambda D, m: D.Poisson(m.tensor([-1.0])),
        lambda D, m: D.Independent(D.Normal(m.zeros(3), m.ones(3)), 2),
        lambda D, m: D.MixtureSameFamily(D.Normal(0.0, 1.0), D.Normal(m.zeros(2), m.ones(2))),
        lambda D, m: D.MixtureSameFamily(
            D.Categorical(probs=m.ones(3) / 3), D.Normal(m.zeros(2), m.ones(2))
        ),
    ],
)
def test_argument_errors(build):
    e, t = _both(build)
    assert e == t


@pytest.mark.parametrize(
    "build",
    [
        lambda D, m: D.Normal(0.0, 1.0).log_prob(m.tensor(float("nan"))),
        lambda D, m: D.Exponential(m.tensor([1.0, 2.0])).log_prob(m.tensor([-1.0, 1.0])),
        lambda D, m: D.Bernoulli(probs=m.tensor([0.3])).log_prob(m.tensor([0.5])),
        lambda D, m: D.Categorical(probs=m.ones(3) / 3).log_prob(m.tensor(3)),
        lambda D, m: D.Normal(m.zeros(3), m.ones(3)).log_prob(m.zeros(2)),
        lambda D, m: D.Dirichlet(m.ones(3)).log_prob(m.ones(2) / 2),
        lambda D, m: D.Beta(2.0, 2.0).log_prob(m.tensor(1.5)),
        lambda D, m: D.Normal(0.0, 1.0).log_prob(1.0),
        lambda D, m: D.Uniform(0.0, 1.0).log_prob(m.tensor(2.0)),
    ],
)
def test_sample_errors(build):
    e, t = _both(build)
    assert e == t


def test_validate_args_false_and_default_switch():
    d = ED.Normal(0.0, -1.0, validate_args=False)
    assert not d._validate_args
    assert ED.Exponential(1.0, validate_args=False).log_prob(ember.tensor(-1.0)).item() == 1.0
    ED.Distribution.set_default_validate_args(False)
    try:
        ED.Normal(0.0, -1.0)  # no error
        assert not ED.Normal(0.0, 1.0)._validate_args
    finally:
        ED.Distribution.set_default_validate_args(True)
    with pytest.raises(ValueError):
        ED.Normal(0.0, -1.0)
    with pytest.raises(ValueError):
        ED.Distribution.set_default_validate_args(3)


def test_expand_keeps_validation_flag():
    d = ED.Normal(ember.zeros(2), ember.ones(2), validate_args=False).expand((3, 2))
    assert not d._validate_args
    assert ED.Normal(0.0, 1.0).expand((2,))._validate_args


def test_support_and_arg_constraints_match_torch():
    pairs = [
        (ED.Normal(0.0, 1.0), TD.Normal(0.0, 1.0)),
        (ED.Gamma(2.0, 1.0), TD.Gamma(2.0, 1.0)),
        (ED.Beta(2.0, 1.0), TD.Beta(2.0, 1.0)),
        (ED.Uniform(0.0, 2.0), TD.Uniform(0.0, 2.0)),
        (ED.Categorical(ember.ones(3)), TD.Categorical(torch.ones(3))),
        (ED.Binomial(5, ember.tensor(0.3)), TD.Binomial(5, torch.tensor(0.3))),
        (ED.Dirichlet(ember.ones(3)), TD.Dirichlet(torch.ones(3))),
        (ED.Multinomial(4, ember.ones(3)), TD.Multinomial(4, torch.ones(3))),
        (ED.Pareto(1.0, 2.0), TD.Pareto(1.0, 2.0)),
    ]
    for e, t in pairs:
        assert repr(e.support) == repr(t.support)
        assert e.support.is_discrete == t.support.is_discrete
        assert e.support.event_dim == t.support.event_dim
        assert sorted(e.arg_constraints) == sorted(t.arg_constraints)
        for k in e.arg_constraints:
            assert repr(e.arg_constraints[k]) == repr(t.arg_constraints[k])
