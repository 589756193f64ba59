"""Transforms and the constraint registry against torch: forward, inverse, log |det J|, shapes,
signs, caching, and biject_to / transform_to."""

from __future__ import annotations

import numpy as np
import pytest

import ember

torch = pytest.importorskip("torch")
ED = ember.distributions
TD = torch.distributions
R = np.random.default_rng(3)


def _pos(*s):
    return R.uniform(0.5, 2.0, s)


# (id, builder(T, m), input array)
TRANSFORMS = [
    ("exp", lambda T, m: T.ExpTransform(), R.normal(size=(2, 3))),
    ("exp_inv", lambda T, m: T.ExpTransform().inv, _pos(2, 3)),
    ("affine", lambda T, m: T.AffineTransform(0.5, -2.0), R.normal(size=(3,))),
    (
        "affine_tensor_event",
        lambda T, m: T.AffineTransform(m.tensor([0.1, 0.2]), m.tensor([2.0, 3.0]), event_dim=1),
        R.normal(size=(4, 2)),
    ),
    ("sigmoid", lambda T, m: T.SigmoidTransform(), R.normal(size=(5,))),
    ("tanh", lambda T, m: T.TanhTransform(), R.normal(size=(5,))),
    ("softplus", lambda T, m: T.SoftplusTransform(), R.normal(size=(5,))),
    ("power", lambda T, m: T.PowerTransform(m.tensor(2.5)), _pos(4)),
    ("stick_breaking", lambda T, m: T.StickBreakingTransform(), R.normal(size=(2, 3))),
    ("lower_cholesky", lambda T, m: T.LowerCholeskyTransform(), R.normal(size=(2, 3, 3))),
    (
        "compose",
        lambda T, m: T.ComposeTransform([T.AffineTransform(1.0, 2.0), T.ExpTransform()]),
        R.normal(size=(3,)),
    ),
    (
        "independent",
        lambda T, m: T.IndependentTransform(T.SigmoidTransform(), 1),
        R.normal(size=(2, 3)),
    ),
    ("positive_definite", lambda T, m: T.PositiveDefiniteTransform(), R.normal(size=(2, 3, 3))),
    ("corr_cholesky", lambda T, m: T.CorrCholeskyTransform(), R.normal(size=(2, 6))),
    ("reshape", lambda T, m: T.ReshapeTransform((2, 3), (6,)), R.normal(size=(4, 2, 3))),
    (
        "cat",
        lambda T, m: T.CatTransform([T.ExpTransform(), T.AffineTransform(1.0, 3.0)], 0, [2, 1]),
        R.normal(size=(3, 2)),
    ),
    (
        "stack",
        lambda T, m: T.StackTransform([T.ExpTransform(), T.SigmoidTransform()], 1),
        R.normal(size=(3, 2)),
    ),
]
IDS = [t[0] for t in TRANSFORMS]


def _np(t):
    return t.detach().numpy()


@pytest.mark.parametrize("case", TRANSFORMS, ids=IDS)
def test_forward_inverse_jacobian(case):
    _, build, x = case
    et, tt = build(ED.transforms, ember), build(TD.transforms, torch)
    ex = ember.tensor(x, requires_grad=True)
    tx = torch.tensor(x, requires_grad=True)
    ey, ty = et(ex), tt(tx)
    np.testing.assert_allclose(_np(ey), _np(ty), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(_np(et.inv(ey)), _np(tt.inv(ty)), rtol=1e-8, atol=1e-10)
    assert et.bijective == tt.bijective
    assert repr(et.domain) == repr(tt.domain)
    assert repr(et.codomain) == repr(tt.codomain)
    shape = tuple(x.shape)
    assert tuple(et.forward_shape(shape)) == tuple(tt.forward_shape(shape))
    assert tuple(et.inverse_shape(tuple(ty.shape))) == tuple(tt.inverse_shape(tuple(ty.shape)))
    if case[0] == "softmax":
        return
    try:
        tj = tt.log_abs_det_jacobian(tx, ty)
    except NotImplementedError:
        return
    ej = et.log_abs_det_jacobian(ex, ey)
    np.testing.assert_allclose(_np(ej), _np(tj), rtol=1e-8, atol=1e-10)
    (tj.sum() + ty.sum()).backward()
    (ej.sum() + ey.sum()).backward()
    np.testing.assert_allclose(ex.grad.numpy(), tx.grad.numpy(), rtol=1e-8, atol=1e-10)


def test_softmax_transform():
    x = R.normal(size=(2, 4))
    e, t = ED.transforms.SoftmaxTransform(), TD.transforms.SoftmaxTransform()
    np.testing.assert_allclose(_np(e(ember.tensor(x))), _np(t(torch.tensor(x))), rtol=1e-12)
    y = t(torch.tensor(x))
    np.testing.assert_allclose(_np(e.inv(ember.tensor(y.numpy()))), _np(t.inv(y)), rtol=1e-12)


def test_sign_equality_and_cache():
    T = ED.transforms
    assert T.ExpTransform().sign == 1 and T.AffineTransform(0.0, -2.0).sign == -1
    assert T.ExpTransform() == T.ExpTransform()
    assert T.AffineTransform(1.0, 2.0) == T.AffineTransform(1.0, 2.0)
    assert T.AffineTransform(1.0, 2.0) != T.AffineTransform(1.0, 3.0)
    assert T.ExpTransform().inv == T.ExpTransform().inv
    assert T.ExpTransform().inv.inv == T.ExpTransform()
    assert T.ComposeTransform([T.ExpTransform()]).sign == 1
    c = T.ExpTransform(cache_size=1)
    x = ember.tensor([0.5])
    y = c(x)
    assert c(x) is y and c.inv(y) is x
    with pytest.raises(ValueError, match="cache_size must be 0 or 1"):
        T.ExpTransform(cache_size=2)
    assert repr(T.ExpTransform().inv) == repr(TD.transforms.ExpTransform().inv)
    assert repr(T.ComposeTransform([T.ExpTransform(), T.SigmoidTransform()])) == repr(
        TD.transforms.ComposeTransform(
            [TD.transforms.ExpTransform(), TD.transforms.SigmoidTransform()]
        )
    )


CONSTRAINTS = [
    ("real", lambda C: C.real),
    ("positive", lambda C: C.positive),
    ("nonnegative", lambda C: C.nonnegative),
    ("greater_than", lambda C: C.greater_than(1.5)),
    ("less_than", lambda C: C.less_than(-1.0)),
    ("unit_interval", lambda C: C.unit_interval),
    ("interval", lambda C: C.interval(-2.0, 3.0)),
    ("simplex", lambda C: C.simplex),
    ("real_vector", lambda C: C.real_vector),
    ("independent_positive", lambda C: C.independent(C.positive, 1)),
    ("corr_cholesky", lambda C: C.corr_cholesky),
]


@pytest.mark.parametrize("case", CONSTRAINTS, ids=[c[0] for c in CONSTRAINTS])
@pytest.mark.parametrize("registry", ["biject_to", "transform_to"])
def test_constraint_registry(case, registry):
    _, make = case
    ec, tc = make(ED.constraints), make(TD.constraints)
    et, tt = getattr(ED, registry)(ec), getattr(TD, registry)(tc)
    x = R.normal(size=(2, 3))
    ey, ty = et(ember.tensor(x)), tt(torch.tensor(x))
    np.testing.assert_allclose(_np(ey), _np(ty), rtol=1e-10, atol=1e-12)
    assert bool(ec.check(ey).all())
    np.testing.assert_allclose(_np(et.inv(ey)), _np(tt.inv(ty)), rtol=1e-7, atol=1e-9)
    try:
        tj = tt.log_abs_det_jacobian(torch.tensor(x), ty)
    except NotImplementedError:  # SoftmaxTransform has none
        with pytest.raises(NotImplementedError):
            et.log_abs_det_jacobian(ember.tensor(x), ey)
        return
    ej = et.log_abs_det_jacobian(ember.tensor(x), ey)
    np.testing.assert_allclose(_np(ej), _np(tj), rtol=1e-9, atol=1e-11)


def test_registries_match_torch():
    from torch.distributions import constraint_registry as tr

    from ember.distributions import constraint_registry as er

    for name in ("biject_to", "transform_to"):
        want = sorted(k.__name__ for k in getattr(tr, name)._registry)
        assert sorted(k.__name__ for k in getattr(er, name)._registry) == want


def test_tril_vec_round_trip():
    from torch.distributions import utils as tu

    from ember.distributions import utils as eu

    for diag in (-2, -1, 0, 1):
        m = R.normal(size=(2, 4, 4))
        v = eu.tril_matrix_to_vec(ember.tensor(m), diag)
        np.testing.assert_array_equal(v.numpy(), tu.tril_matrix_to_vec(torch.tensor(m), diag))
        np.testing.assert_array_equal(
            eu.vec_to_tril_matrix(v, diag).numpy(),
            tu.vec_to_tril_matrix(torch.tensor(v.numpy()), diag).numpy(),
        )


def test_registry_errors_and_lower_cholesky():
    with pytest.raises(NotImplementedError):
        ED.biject_to(ED.constraints.lower_cholesky)
    t = ED.transform_to(ED.constraints.lower_cholesky)
    y = t(ember.tensor(R.normal(size=(3, 3))))
    assert bool(ED.constraints.lower_cholesky.check(y))


@pytest.mark.parametrize(
    "name,value",
    [
        ("boolean", [0.0, 1.0, 0.5]),
        ("nonnegative_integer", [0.0, 2.0, -1.0, 1.5]),
        ("positive_integer", [1.0, 0.0]),
        ("unit_interval", [0.0, 1.0, 1.5]),
        ("positive", [0.0, 1.0]),
        ("real", [float("nan"), 1.0]),
    ],
)
def test_constraint_checks(name, value):
    e = getattr(ED.constraints, name).check(ember.tensor(value))
    t = getattr(TD.constraints, name).check(torch.tensor(value))
    np.testing.assert_array_equal(e.numpy(), t.numpy())
    assert repr(getattr(ED.constraints, name)) == repr(getattr(TD.constraints, name))


def test_matrix_constraints():
    a = R.normal(size=(2, 3, 3))
    spd = a @ np.swapaxes(a, -1, -2) + 3 * np.eye(3)
    for name in (
        "positive_definite",
        "positive_semidefinite",
        "symmetric",
        "square",
        "lower_triangular",
        "lower_cholesky",
    ):
        for m in (spd, a, np.linalg.cholesky(spd)):
            e = getattr(ED.constraints, name).check(ember.tensor(m))
            t = getattr(TD.constraints, name).check(torch.tensor(m))
            np.testing.assert_array_equal(e.numpy(), t.numpy())
    x = R.uniform(0.1, 1, (2, 4))
    for v in (x, x / x.sum(-1, keepdims=True)):
        e = ED.constraints.simplex.check(ember.tensor(v))
        np.testing.assert_array_equal(
            e.numpy(), TD.constraints.simplex.check(torch.tensor(v)).numpy()
        )
