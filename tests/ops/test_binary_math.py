"""atan2 / hypot / copysign / logaddexp(2) / float_power / ldexp / heaviside / nextafter / gcd /
lcm / addcmul / addcdiv, and deg2rad / rad2deg / sinc / frexp, against torch: values, dtypes,
errors, gradients (float64 finite differences too) and the in-place methods."""

import warnings

import numpy as np
import pytest

import ember
from tests._support.ops_check import compare, gradcheck, randn
from tests._support.torch_ref import assert_same, torch

DIFFERENTIABLE = ["atan2", "hypot", "copysign", "logaddexp", "logaddexp2", "float_power", "ldexp"]


@pytest.mark.parametrize("name", DIFFERENTIABLE)
def test_binary_values_and_gradients_with_broadcasting(name):
    a, b = randn(3, 4, seed=1), randn(4, seed=2)
    compare(lambda m, a, b: getattr(m, name)(a, b), a, b, atol=1e-5)


@pytest.mark.parametrize("name", ["atan2", "hypot", "logaddexp", "logaddexp2", "float_power"])
def test_binary_gradcheck_float64(name):
    gradcheck(lambda a, b: getattr(ember, name)(a.abs() + 0.5, b), (2, 3), (2, 3))


@pytest.mark.parametrize("name", DIFFERENTIABLE + ["heaviside", "nextafter", "gcd", "lcm"])
def test_binary_dtypes_and_errors_match_torch(name):
    i = [1, 2, -3]
    cases = [
        lambda m: (m.tensor(i), m.tensor(i)),
        lambda m: (m.tensor(i, dtype=m.float64), m.tensor(i, dtype=m.float64)),
        lambda m: (m.tensor(i), m.tensor([1.0, 2.0, 0.0])),
        lambda m: (m.tensor(i, dtype=m.float16), m.tensor([1.0, 2.0, 0.0])),
        lambda m: (m.tensor([True, False, True]), m.tensor([True, True, False])),
        lambda m: (m.tensor([1.0, 0.0, -2.0]), 2),
    ]
    for make in cases:
        outs = []
        for m in (ember, torch):
            try:
                outs.append(getattr(m, name)(*make(m)))
            except Exception as e:  # noqa: BLE001 - the error type is what is compared
                outs.append(type(e))
        if isinstance(outs[1], type):
            assert outs[0] is outs[1] or issubclass(outs[0], outs[1]), (name, outs)
        else:
            assert_same(outs[0], outs[1], atol=1e-3 if outs[1].dtype == torch.float16 else 1e-6)


def test_heaviside_nextafter_gcd_lcm_values():
    x = ember.tensor([-1.5, 0.0, 2.0, 0.0])
    v = ember.tensor([0.5, 0.25, 0.5, 0.75])
    assert_same(
        ember.heaviside(x, v), torch.heaviside(torch.tensor(x.numpy()), torch.tensor(v.numpy()))
    )
    a = np.array([1.0, -1.0, 0.0], np.float32)
    assert_same(
        ember.nextafter(ember.tensor(a), ember.tensor([2.0, -2.0, -1.0])),
        torch.nextafter(torch.tensor(a), torch.tensor([2.0, -2.0, -1.0])),
    )
    p, q = [12, -18, 0, 7], [8, 12, 0, -21]
    for name in ("gcd", "lcm"):
        assert_same(
            getattr(ember, name)(ember.tensor(p), ember.tensor(q)),
            getattr(torch, name)(torch.tensor(p), torch.tensor(q)),
        )
    with pytest.raises(RuntimeError, match="different dtypes"):
        ember.heaviside(x, ember.tensor([1, 2, 3, 4]))


def test_addcmul_addcdiv_values_gradients_and_integer_rules():
    x, a, b = randn(3, 4, seed=3), randn(3, 1, seed=4), randn(4, seed=5)
    compare(lambda m, x, a, b: m.addcmul(x, a, b, value=0.5), x, a, b)
    for t in (x, a, b):
        t.grad = None
    compare(lambda m, x, a, b: m.addcdiv(x, a, b, value=-2), x, a, b)
    i = [1, 2]
    assert_same(
        ember.addcmul(ember.tensor(i), ember.tensor(i), ember.tensor(i), value=2.5),
        torch.addcmul(torch.tensor(i), torch.tensor(i), torch.tensor(i), value=2.5),
    )
    with pytest.raises(RuntimeError, match="Integer division with addcdiv is no longer supported"):
        ember.addcdiv(ember.tensor(i), ember.tensor(i), ember.tensor(i))
    gradcheck(lambda x, a, b: ember.addcdiv(x, a, b.abs() + 1, value=0.3), (2, 3), (2, 3), (2, 3))


def test_inplace_methods_of_binary_math_and_comparisons():
    for name, other in (
        ("atan2_", [1.0, -2.0]),
        ("hypot_", [3.0, 4.0]),
        ("copysign_", [-1.0, 1.0]),
        ("ldexp_", [1.0, 2.0]),
        ("lt_", [2.0, 0.0]),
        ("ge_", [2.0, 0.0]),
        ("logical_and_", [0.0, 1.0]),
        ("float_power_", [2.0, 0.5]),
    ):
        outs = []
        for m in (ember, torch):
            t = m.tensor([1.5, 2.0], dtype=m.float64)
            r = getattr(t, name)(m.tensor(other, dtype=m.float64))
            assert r is t
            outs.append(t)
        assert_same(*outs)
    e, t = ember.tensor([1, 6]), torch.tensor([1, 6])
    e.bitwise_or_(ember.tensor([2, 3]))
    t.bitwise_or_(torch.tensor([2, 3]))
    assert_same(e, t)


@pytest.mark.parametrize("name", ["deg2rad", "rad2deg", "sinc"])
def test_new_unary_values_dtypes_gradients(name):
    x = ember.tensor([-2.5, -1.0, 0.0, 0.3, 1.0, 2.7], requires_grad=True)
    compare(lambda m, x: getattr(m, name)(x), x)
    for vals in ([1, 2], [True, False]):
        assert_same(
            getattr(ember, name)(ember.tensor(vals)), getattr(torch, name)(torch.tensor(vals))
        )
    gradcheck(lambda x: getattr(ember, name)(x), (3, 4))


def test_frexp_is_torch_named_tuple_and_rejects_integers():
    x = np.array([-2.5, 0.0, 0.3, 1e-30, 7.0], np.float32)
    e, t = ember.frexp(ember.tensor(x)), torch.frexp(torch.tensor(x))
    assert_same(e.mantissa, t.mantissa)
    assert_same(e.exponent, t.exponent)
    assert repr(e).startswith("torch.return_types.frexp(")
    m, ex = ember.tensor(x).frexp()
    assert_same(m * 2.0 ** ex.double(), torch.tensor(x).double(), atol=0)
    with pytest.raises(RuntimeError, match="only supports floating-point dtypes"):
        ember.frexp(ember.tensor([1, 2]))


def test_gradients_torch_defines_for_frexp_angle_nextafter_index_fill():
    x = ember.tensor([-2.5, 0.3, 7.0], dtype=ember.float64, requires_grad=True)
    compare(lambda m, x: m.frexp(x).mantissa, x)
    x.grad = None
    compare(lambda m, x: m.angle(x), x)
    x.grad = None
    compare(lambda m, x: m.nextafter(x, m.tensor([0.0, 1.0, 9.0], dtype=m.float64)), x)
    z = ember.tensor([1 + 1j, -2 + 0.5j, 0j], requires_grad=True)
    e = ember.angle(z)
    e.sum().backward()
    t = torch.tensor([1 + 1j, -2 + 0.5j, 0j], requires_grad=True)
    torch.angle(t).sum().backward()
    assert_same(z.grad, t.grad)
    v = ember.tensor(2.0, requires_grad=True)
    y = randn(3, 4)
    compare(lambda m, y, v: y.index_fill(1, m.tensor([0, 2]), v), y, v)


def test_rdiv_and_cdouble_methods():
    a = ember.tensor([1.0, 2.0])
    assert_same(a.__rdiv__(3.0), torch.tensor([1.0, 2.0]).__rdiv__(3.0))
    assert_same(a.cdouble(), torch.tensor([1.0, 2.0]).cdouble())


def _edge_values(n: int, dt, seed: int) -> np.ndarray:
    a = (np.random.default_rng(seed).standard_normal(n) * 30).astype(dt)
    a[::101], a[::103], a[::107], a[::109], a[::113] = np.nan, np.inf, -np.inf, -0.0, -100.0
    return a


@pytest.mark.parametrize("dt", [np.float32, np.float64])
def test_logaddexp_vectorised_matches_torch(dt):
    """logaddexp's SIMD formula (max + log1p(exp(-|a - b|)), equal infinities kept): torch's
    values within float rounding (absolute, for results near 0 where the sum cancels), NaN where
    torch has NaN, infinities exact, and the gradient; no warnings on inf - inf."""
    a, b = _edge_values(30_000, dt, 0), _edge_values(30_000, dt, 1)
    b[::11] = a[::11]  # equal pairs, infinities included
    ea, eb = (ember.tensor(v, requires_grad=True) for v in (a, b))
    ta, tb = (torch.tensor(v, requires_grad=True) for v in (a, b))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = ember.logaddexp(ea, eb)
    want = torch.logaddexp(ta, tb)
    g, w = got.detach().numpy(), want.detach().numpy()
    np.testing.assert_array_equal(np.isnan(g), np.isnan(w))
    inf = np.isinf(w)
    np.testing.assert_array_equal(g[inf], w[inf])
    fin = np.isfinite(w)
    tol = 1e-6 if dt == np.float32 else 1e-14
    np.testing.assert_allclose(g[fin], w[fin], rtol=tol, atol=tol * np.abs(a).clip(1)[fin].max())
    keep = np.isfinite(a) & np.isfinite(b)  # gradients where both are finite
    go = np.random.default_rng(2).standard_normal(a.size).astype(dt) * keep
    got.backward(ember.tensor(go))
    want.backward(torch.tensor(go))
    np.testing.assert_allclose(ea.grad.numpy()[keep], ta.grad.numpy()[keep], rtol=tol, atol=tol)
    np.testing.assert_allclose(eb.grad.numpy()[keep], tb.grad.numpy()[keep], rtol=tol, atol=tol)


@pytest.mark.parametrize("dt", [np.float32, np.float64])
def test_hypot_vectorised_matches_torch(dt):
    """hypot as sqrt(a*a + b*b) with np.hypot where the squares overflow or go subnormal: torch's
    values within an ulp (torch's kernel rounds correctly, the naive formula is within one ulp),
    no overflow at 1e30 in float32, inf for inf with NaN, NaN elsewhere as torch, broadcast,
    strided and 0-d operands, the gradients, and no warnings (a true overflow is inf)."""
    rng = np.random.default_rng(0)
    a = (rng.standard_normal(20_000) * 10.0 ** rng.integers(-3, 4, 20_000)).astype(dt)
    b = (rng.standard_normal(20_000) * 10.0 ** rng.integers(-3, 4, 20_000)).astype(dt)
    edges = [1e30, 1e-30, 3e38, np.inf, -np.inf, np.nan, 0.0, -0.0, 1e-45, 1e-40, 1e20]
    edges += [1e300, 1e-300, 1e-310, 1.7e308] if dt == np.float64 else []
    with np.errstate(over="ignore", under="ignore"):
        e = np.array(edges).astype(dt)
    a[: e.size**2], b[: e.size**2] = np.tile(e, e.size), np.repeat(e, e.size)
    ea, eb = (ember.tensor(v, requires_grad=True) for v in (a, b))
    ta, tb = (torch.tensor(v, requires_grad=True) for v in (a, b))
    tol = 2.5e-7 if dt == np.float32 else 5e-16  # one ulp and a little
    cases = [
        (ea, eb, ta, tb),
        (ea[::3], eb[1::3], ta[::3], tb[1::3]),
        (ea[:600].reshape(20, 30).t(), eb[:20], ta[:600].reshape(20, 30).t(), tb[:20]),
        (ea[:600].reshape(20, 30).t(), eb[:600].reshape(20, 30).t())
        + (ta[:600].reshape(20, 30).t(), tb[:600].reshape(20, 30).t()),
        (ea[5], eb[7], ta[5], tb[7]),
    ]
    for x, y, tx, ty in cases:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            got = ember.hypot(x, y).detach().numpy()
        want = torch.hypot(tx, ty).detach().numpy()
        assert got.dtype == want.dtype and got.shape == want.shape
        np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
        inf = np.isinf(want)
        np.testing.assert_array_equal(got[inf], want[inf])
        np.testing.assert_allclose(got[~inf], want[~inf], rtol=tol, atol=0)
    keep = np.isfinite(a) & np.isfinite(b) & ((a != 0) | (b != 0))
    g = rng.standard_normal(a.size).astype(dt) * keep
    ember.hypot(ea, eb).backward(ember.tensor(g))
    torch.hypot(ta, tb).backward(torch.tensor(g))
    np.testing.assert_allclose(ea.grad.numpy()[keep], ta.grad.numpy()[keep], rtol=tol * 4)
    np.testing.assert_allclose(eb.grad.numpy()[keep], tb.grad.numpy()[keep], rtol=tol * 4)
