"""The SciPy-free special-function kernels (ember/ops/_special_math.py) and the ops that use them
(erf, erfc, erfinv, exact GELU) with SciPy's handle forced off: ulp error against the C library's
math.erf/math.erfc over a dense grid with tails, subnormals, signed zeros, infinities and NaN;
values and gradients against torch in float32/float64; float64 gradchecks."""

from __future__ import annotations

import math

import numpy as np
import pytest

import ember
from ember.ops import _special_math, unary
from tests._support.ops_check import compare, gradcheck
from tests._support.torch_ref import assert_same, torch


@pytest.fixture
def no_scipy(monkeypatch):
    """Force the NumPy fallbacks although SciPy is installed here."""
    for name in ("_sp_erf", "_sp_erfc", "_sp_erfinv"):
        monkeypatch.setattr(unary, name, None)


def _grid() -> np.ndarray:
    dense = np.linspace(-30.0, 30.0, 200_001)
    logs = np.geomspace(1e-310, 30.0, 40_000)
    # the piece boundaries, one float64 step either side
    edges = np.array([0.25, 0.84375, 1.25, 1 / 0.35, 6.0, 26.5, 27.2, 28.0])
    edges = np.concatenate([edges, np.nextafter(edges, 0), np.nextafter(edges, 99)])
    special = np.array([0.0, 5e-324, 1e-320, 2.2250738585072014e-308, 1e-20, 3.7e-9, 1.0])
    pos = np.concatenate([dense[dense > 0], logs, edges, special])
    return np.concatenate([pos, -pos, [0.0, -0.0]])


def _ulps(got: np.ndarray, ref: np.ndarray) -> np.ndarray:
    # ulp of the reference value; np.spacing(0) is the smallest subnormal
    return np.abs(got - ref) / np.spacing(np.abs(ref))


@pytest.mark.parametrize("name", ["erf", "erfc"])
def test_float64_within_4_ulps_of_libm(name):
    x = _grid()
    ref = np.array([getattr(math, name)(v) for v in x])
    got = getattr(_special_math, name)(x)
    assert got.dtype == np.float64 and got.shape == x.shape
    err = _ulps(got, ref)
    assert err.max() <= 4, (x[err.argmax()], err.max())
    assert np.mean(err > 1) < 0.01  # almost all correctly or faithfully rounded


def test_signed_zero_infinities_nan():
    x = np.array([0.0, -0.0, np.inf, -np.inf, np.nan])
    erf, erfc = _special_math.erf(x), _special_math.erfc(x)
    np.testing.assert_array_equal(erf, [0.0, -0.0, 1.0, -1.0, np.nan])
    assert np.signbit(erf[1]) and not np.signbit(erf[0])
    np.testing.assert_array_equal(erfc, [1.0, 1.0, 0.0, 2.0, np.nan])


def test_shapes_dtypes_and_empty():
    x = np.linspace(-4, 4, 24, dtype=np.float32).reshape(2, 3, 4)[:, ::2]  # non-contiguous
    for f in (_special_math.erf, _special_math.erfc):
        y = f(x)
        assert y.dtype == np.float32 and y.shape == x.shape
        assert f(np.zeros((0, 3))).shape == (0, 3)
    half = _special_math.erf(np.array([0.5, -2.0], dtype=np.float16))
    assert half.dtype == np.float16


@pytest.mark.parametrize("dt", ["float32", "float64"])
@pytest.mark.parametrize("name", ["erf", "erfc", "erfinv"])
def test_ops_match_torch_without_scipy(no_scipy, name, dt):
    rng = np.random.default_rng(0)
    if name == "erfinv":
        vals = np.concatenate([rng.uniform(-1, 1, 4000), [-1, 1, 0, -0.0, 1e-30, 0.9999999]])
    else:
        vals = np.concatenate(
            [rng.standard_normal(4000) * 3, np.linspace(-10, 10, 2001), [0, -0.0, 1e-30, 1e-40]]
        )
    vals = np.concatenate([vals, [np.nan, np.inf, -np.inf]]).astype(dt)
    e, t = ember.from_numpy(vals.copy()), torch.from_numpy(vals.copy())
    tol = {"float32": (2e-6, 1e-7), "float64": (1e-13, 1e-300)}[dt]
    if name == "erfinv" and dt == "float64":
        tol = (1e-12, 1e-300)
    with np.errstate(all="ignore"):
        assert_same(getattr(ember, name)(e), getattr(torch, name)(t), rtol=tol[0], atol=tol[1])


@pytest.mark.parametrize("name", ["erf", "erfc"])
def test_float32_kernels_match_torch_elementwise(name):
    # float32 results are float64 values rounded once: within one float32 ulp of torch's
    x = np.linspace(-12, 12, 100_001, dtype=np.float32)
    got = getattr(_special_math, name)(x)
    ref = getattr(torch, name)(torch.from_numpy(x)).numpy()
    diff = np.abs(got.astype(np.float64) - ref) / np.spacing(np.abs(ref))
    assert diff.max() <= 2


def test_erfc_keeps_relative_precision_in_the_tail(no_scipy):
    x = ember.tensor([5.0, 10.0, 20.0, 26.0], dtype=ember.float64)
    got = ember.erfc(x).numpy()
    ref = np.array([math.erfc(v) for v in (5.0, 10.0, 20.0, 26.0)])
    np.testing.assert_allclose(got, ref, rtol=1e-15)  # 1 - erf(x) would give 0 here


@pytest.mark.parametrize("name", ["erf", "erfc", "erfinv"])
def test_gradients_without_scipy(no_scipy, name):
    def fn(m, a):
        return getattr(m, name)(m.tanh(a) * 0.9 if name == "erfinv" else a)

    compare(fn, ember.from_numpy(np.linspace(-2, 2, 12).reshape(3, 4)).requires_grad_())
    gradcheck(lambda a: fn(ember, a), (3, 4))


@pytest.mark.parametrize("dt", ["float32", "float64"])
def test_exact_gelu_without_scipy(no_scipy, dt):
    a = np.random.default_rng(1).standard_normal((64, 33)).astype(dt) * 3
    e = ember.from_numpy(a.copy()).requires_grad_()
    t = torch.from_numpy(a.copy()).requires_grad_()
    ye, yt = ember.nn.functional.gelu(e), torch.nn.functional.gelu(t)
    tol = 1e-6 if dt == "float32" else 1e-13
    assert_same(ye, yt, rtol=tol, atol=tol)
    ye.sum().backward()
    yt.sum().backward()
    assert_same(e.grad, t.grad, rtol=tol, atol=tol)
    assert_same(ember.nn.GELU()(e), torch.nn.GELU()(t), rtol=tol, atol=tol)
    gradcheck(lambda x: ember.nn.functional.gelu(x), (4, 5))


def test_erfinv_float64_within_4_ulps_of_scipy():
    sp = pytest.importorskip("scipy.special")
    x = np.concatenate(
        [
            np.linspace(-1, 1, 100_001),
            1 - np.geomspace(1.1e-16, 0.5, 5000),  # next to 1, where erfc carries the digits
            np.geomspace(1e-300, 0.5, 5000),
            [5e-324, 0.5, np.nextafter(0.5, 1), np.nextafter(1.0, 0)],
        ]
    )
    x = np.concatenate([x, -x])
    got, ref = _special_math.erfinv(x), sp.erfinv(x)
    fin = np.isfinite(ref)
    np.testing.assert_array_equal(got[~fin], ref[~fin])  # +-inf at +-1
    err = _ulps(got[fin], ref[fin])
    assert err.max() <= 4, (x[fin][err.argmax()], err.max())


def test_erfinv_edges_and_float32_rounding():
    x = np.array([-1.0, 1.0, 1.5, -2.0, np.nan, 0.0, -0.0, np.inf])
    got = _special_math.erfinv(x)
    np.testing.assert_array_equal(got, [-np.inf, np.inf, np.nan, np.nan, np.nan, 0.0, -0.0, np.nan])
    assert np.signbit(got[6])
    # float32 results within one float32 ulp of the exact value (torch in float64, rounded)
    x32 = np.concatenate([np.linspace(-1, 1, 200_001), 1 - np.geomspace(6e-8, 0.5, 2000)]).astype(
        np.float32
    )
    x32 = x32[np.abs(x32) < 1]
    got32 = _special_math.erfinv(x32)
    assert got32.dtype == np.float32
    ref = torch.erfinv(torch.from_numpy(x32).double()).numpy()
    err = np.abs(got32 - ref) / np.spacing(np.abs(ref).astype(np.float32))
    assert err.max() <= 1


def test_float32_erf_within_one_ulp_of_libm_and_torch():
    # erf_f32 (the rational fit in float64 passes) serves every float32 erf, SciPy or not
    x = _grid()
    x = np.unique(np.concatenate([x.astype(np.float32), np.float32([4.0, 3.9999998, 1e-45])]))
    ref = np.array([math.erf(float(v)) for v in x])
    got = _special_math.erf_f32(x)
    assert got.dtype == np.float32 and got.shape == x.shape
    err = np.abs(got - ref) / np.spacing(np.abs(ref).astype(np.float32)).astype(np.float64)
    assert err.max() <= 0.6, (x[err.argmax()], err.max())
    t = torch.erf(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(got, t, rtol=2.4e-7, atol=3e-45)  # a float32 ulp or so of torch
    y = _special_math.erf_f32(np.float32([0.0, -0.0, np.inf, -np.inf, np.nan]))
    np.testing.assert_array_equal(y, [0.0, -0.0, 1.0, -1.0, np.nan])
    assert np.signbit(y[1]) and not np.signbit(y[0])
    # the op and GELU written with erf use it: torch's values and gradients in float32
    compare(lambda m, a: m.erf(a), ember.from_numpy(x[np.isfinite(x)][::97].copy()), grad=False)
    a = ember.from_numpy(np.linspace(-5, 5, 301, dtype=np.float32)).requires_grad_()
    compare(lambda m, a: 0.5 * a * (1 + m.erf(a / math.sqrt(2))), a, rtol=2e-6, atol=1e-6)
