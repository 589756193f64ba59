"""The distributions under test: each builds the same distribution on ember and on torch."""

from __future__ import annotations

import numpy as np

R = np.random.default_rng(1234)


def pos(*shape, lo=0.5, hi=3.0):
    return R.uniform(lo, hi, shape)


def real(*shape):
    return R.normal(size=shape)


def simplex(*shape):
    x = R.uniform(0.2, 1.0, shape)
    return x / x.sum(-1, keepdims=True)


# (id, builder(D, params), params): D is ember.distributions or torch.distributions,
# params maps a name to a float64 array (a tensor of the library) or a Python number.
CASES = [
    ("normal", lambda D, p: D.Normal(p["loc"], p["scale"]), {"loc": real(3), "scale": pos(3)}),
    ("normal_scalar", lambda D, p: D.Normal(0.5, 2.0), {}),
    ("bernoulli_probs", lambda D, p: D.Bernoulli(probs=p["p"]), {"p": pos(4, lo=0.1, hi=0.9)}),
    ("bernoulli_logits", lambda D, p: D.Bernoulli(logits=p["l"]), {"l": real(2, 3)}),
    ("categorical", lambda D, p: D.Categorical(probs=p["p"]), {"p": simplex(2, 4)}),
    ("categorical_logits", lambda D, p: D.Categorical(logits=p["l"]), {"l": real(3, 5)}),
    ("onehot", lambda D, p: D.OneHotCategorical(probs=p["p"]), {"p": simplex(2, 3)}),
    ("uniform", lambda D, p: D.Uniform(p["lo"], p["hi"]), {"lo": real(3), "hi": 2 + pos(3)}),
    ("beta", lambda D, p: D.Beta(p["a"], p["b"]), {"a": pos(3), "b": pos(3)}),
    ("gamma", lambda D, p: D.Gamma(p["a"], p["r"]), {"a": pos(3), "r": pos(3)}),
    ("dirichlet", lambda D, p: D.Dirichlet(p["c"]), {"c": pos(2, 4)}),
    ("exponential", lambda D, p: D.Exponential(p["r"]), {"r": pos(4)}),
    ("laplace", lambda D, p: D.Laplace(p["loc"], p["s"]), {"loc": real(3), "s": pos(3)}),
    ("poisson", lambda D, p: D.Poisson(p["r"]), {"r": pos(3, lo=1, hi=8)}),
    (
        "binomial",
        lambda D, p: D.Binomial(p["n"], probs=p["p"]),
        {"n": np.array([5.0, 10.0, 3.0]), "p": pos(3, lo=0.1, hi=0.9)},
    ),
    (
        "binomial_logits",
        lambda D, p: D.Binomial(7, logits=p["l"]),
        {"l": real(2)},
    ),
    ("multinomial", lambda D, p: D.Multinomial(6, probs=p["p"]), {"p": simplex(2, 3)}),
    (
        "studentt",
        lambda D, p: D.StudentT(p["df"], p["loc"], p["s"]),
        {"df": pos(3, lo=2.5, hi=6), "loc": real(3), "s": pos(3)},
    ),
    ("cauchy", lambda D, p: D.Cauchy(p["loc"], p["s"]), {"loc": real(3), "s": pos(3)}),
    ("lognormal", lambda D, p: D.LogNormal(p["loc"], p["s"]), {"loc": real(3), "s": pos(3)}),
    ("geometric", lambda D, p: D.Geometric(probs=p["p"]), {"p": pos(3, lo=0.2, hi=0.9)}),
    ("chi2", lambda D, p: D.Chi2(p["df"]), {"df": pos(3, lo=1, hi=6)}),
    ("halfnormal", lambda D, p: D.HalfNormal(p["s"]), {"s": pos(3)}),
    ("halfcauchy", lambda D, p: D.HalfCauchy(p["s"]), {"s": pos(3)}),
    ("gumbel", lambda D, p: D.Gumbel(p["loc"], p["s"]), {"loc": real(3), "s": pos(3)}),
    ("weibull", lambda D, p: D.Weibull(p["s"], p["k"]), {"s": pos(3), "k": pos(3)}),
    ("pareto", lambda D, p: D.Pareto(p["s"], p["a"]), {"s": pos(3), "a": pos(3, lo=2.5, hi=4)}),
    (
        "independent",
        lambda D, p: D.Independent(D.Normal(p["loc"], p["s"]), 1),
        {"loc": real(2, 3), "s": pos(2, 3)},
    ),
    (
        "mixture",
        lambda D, p: D.MixtureSameFamily(D.Categorical(probs=p["w"]), D.Normal(p["loc"], p["s"])),
        {"w": simplex(2, 3), "loc": real(2, 3), "s": pos(2, 3)},
    ),
    (
        "transformed_affine_exp",
        lambda D, p: D.TransformedDistribution(
            D.Normal(p["loc"], p["s"]),
            [D.transforms.AffineTransform(0.5, 2.0), D.transforms.ExpTransform()],
        ),
        {"loc": real(3), "s": pos(3)},
    ),
    (
        "transformed_sigmoid",
        lambda D, p: D.TransformedDistribution(
            D.Normal(p["loc"], p["s"]), D.transforms.SigmoidTransform()
        ),
        {"loc": real(3), "s": pos(3)},
    ),
    (
        "transformed_tanh",
        lambda D, p: D.TransformedDistribution(
            D.Normal(p["loc"], p["s"]), [D.transforms.TanhTransform()]
        ),
        {"loc": real(3), "s": pos(3, lo=0.2, hi=1.0)},
    ),
    (
        "relaxed_bernoulli",
        lambda D, p: D.RelaxedBernoulli(p["t"], probs=p["p"]),
        {"t": np.array(0.7), "p": pos(3, lo=0.1, hi=0.9)},
    ),
    (
        "relaxed_onehot",
        lambda D, p: D.RelaxedOneHotCategorical(p["t"], probs=p["p"]),
        {"t": np.array(0.8), "p": simplex(2, 3)},
    ),
    (
        "logistic_normal",
        lambda D, p: D.LogisticNormal(p["loc"], p["s"]),
        {"loc": real(2, 3), "s": pos(2, 3, lo=0.3, hi=1.0)},
    ),
]


def spd(*batch, n=3):
    a = R.normal(size=batch + (n, n))
    return a @ np.swapaxes(a, -1, -2) + n * np.eye(n)


CASES += [
    (
        "mvn_cov",
        lambda D, p: D.MultivariateNormal(p["loc"], covariance_matrix=p["cov"]),
        {"loc": real(2, 3), "cov": spd(2)},
    ),
    (
        "mvn_scale_tril",
        lambda D, p: D.MultivariateNormal(p["loc"], scale_tril=p["L"]),
        {"loc": real(3), "L": np.linalg.cholesky(spd(2))},
    ),
    (
        "mvn_precision",
        lambda D, p: D.MultivariateNormal(p["loc"], precision_matrix=p["P"]),
        {"loc": real(2, 3), "P": spd()},
    ),
    (
        "lowrank_mvn",
        lambda D, p: D.LowRankMultivariateNormal(p["loc"], p["W"], p["d"]),
        {"loc": real(2, 3), "W": real(2, 3, 2), "d": pos(2, 3)},
    ),
]

CASES += [
    (
        "fishersnedecor",
        lambda D, p: D.FisherSnedecor(p["a"], p["b"]),
        {"a": pos(3, lo=3, hi=8), "b": pos(3, lo=5, hi=10)},
    ),
    (
        "negative_binomial",
        lambda D, p: D.NegativeBinomial(p["n"], probs=p["p"]),
        {"n": pos(3, lo=1, hi=6), "p": pos(3, lo=0.1, hi=0.7)},
    ),
    ("kumaraswamy", lambda D, p: D.Kumaraswamy(p["a"], p["b"]), {"a": pos(3), "b": pos(3)}),
    (
        "von_mises",
        lambda D, p: D.VonMises(p["loc"], p["k"]),
        {"loc": real(3), "k": pos(3, lo=0.5, hi=30)},
    ),
]

CASES += [
    (
        "continuous_bernoulli",
        lambda D, p: D.ContinuousBernoulli(probs=p["p"]),
        {"p": np.array([0.1, 0.4995, 0.7, 0.95])},
    ),
    (
        "continuous_bernoulli_logits",
        lambda D, p: D.ContinuousBernoulli(logits=p["l"]),
        {"l": real(3)},
    ),
]

CASES += [
    (
        "inverse_gamma",
        lambda D, p: D.InverseGamma(p["a"], p["r"]),
        {"a": pos(3, lo=2.5, hi=5), "r": pos(3)},
    ),
    (
        "generalized_pareto",
        lambda D, p: D.GeneralizedPareto(p["loc"], p["s"], p["c"]),
        {"loc": real(4), "s": pos(4), "c": np.array([-0.3, 0.0, 0.2, 0.4])},
    ),
]

CASES += [
    ("lkj_cholesky", lambda D, p: D.LKJCholesky(3, p["c"]), {"c": pos(2)}),
    (
        "wishart_cov",
        lambda D, p: D.Wishart(p["df"], covariance_matrix=p["cov"]),
        {"df": pos(2, lo=4, hi=7), "cov": spd(2)},
    ),
    (
        "wishart_scale_tril",
        lambda D, p: D.Wishart(p["df"], scale_tril=p["L"]),
        {"df": np.array(5.0), "L": np.linalg.cholesky(spd(2))},
    ),
]
