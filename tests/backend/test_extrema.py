"""ember._backend.cpu.extrema: max/min of an array and a number (floats by clip with an infinite
bound, integers row by row), the same values as NumPy's own call, and the ops built on it (relu,
relu_, one-sided clamp) against torch."""

from __future__ import annotations

import numpy as np
import pytest

import ember
from ember._backend.cpu import extrema

torch = pytest.importorskip("torch")

_UFUNCS = (np.maximum, np.minimum)


def _same(got: np.ndarray, want: np.ndarray) -> None:
    """Equal values, NaN where NaN is: the sign of a zero tie is the SIMD loop's choice, which
    differs between instruction sets (x86-64 keeps the second operand, ARM64's FMAX gives +0)."""
    assert got.dtype == want.dtype and got.shape == want.shape
    np.testing.assert_array_equal(got, want)


def _values(n: int, dt) -> np.ndarray:
    rng = np.random.default_rng(n)
    a = (rng.standard_normal(n) * 3).astype(dt)
    a[::7] = -0.0
    a[::11] = 0.0
    a[::13] = np.nan
    a[::17] = 0.5
    return a


@pytest.mark.parametrize("dt", [np.float32, np.float64])
@pytest.mark.parametrize("ufunc", _UFUNCS, ids=lambda u: u.__name__)
def test_same_values_as_numpy_for_every_length_around_a_row(dt, ufunc):
    width = (32 << 10) // np.dtype(dt).itemsize
    for n in (0, 1, width - 1, width, width + 1, 3 * width + 5):
        a = _values(n, dt)
        for s in (0, 0.5, -1.25, np.dtype(dt).type(2.5)):
            _same(extrema.with_number(ufunc, a, s), ufunc(s, a))


@pytest.mark.parametrize("dt", [np.int32, np.int64])
@pytest.mark.parametrize("ufunc", _UFUNCS, ids=lambda u: u.__name__)
def test_integer_rows_give_numpys_values(dt, ufunc):
    info = np.iinfo(dt)
    width = (32 << 10) // np.dtype(dt).itemsize
    for n in (width - 1, width, 3 * width + 5):
        a = np.random.default_rng(n).integers(info.min, info.max, n, dtype=dt, endpoint=True)
        a[:4] = [info.min, info.max, 0, -1]
        for s in (0, -1, 7, info.min, info.max, dt(3)):
            got = extrema.with_number(ufunc, a, s)
            want = ufunc(s, a)
            assert got.dtype == want.dtype
            np.testing.assert_array_equal(got, want)


def test_out_in_place_and_shaped_arrays():
    a = _values(4 * 64 * 33, np.float32).reshape(4, 64, 33)
    want = np.maximum(0, a)
    b = a.copy()
    assert extrema.with_number(np.maximum, b, 0, b) is b
    np.testing.assert_array_equal(b, want)
    out = np.empty_like(a)
    assert extrema.with_number(np.minimum, a, 1.5, out) is out
    np.testing.assert_array_equal(out, np.minimum(1.5, a))


def test_other_inputs_take_numpys_own_call():
    a = _values(50_000, np.float32)
    # a wider number promotes as NumPy does (float64 here), a strided array, float16 (ints: rows)
    r = extrema.with_number(np.maximum, a, np.float64(0.1))
    assert r.dtype == np.float64
    np.testing.assert_array_equal(r, np.maximum(np.float64(0.1), a))
    strided = _values(100_000, np.float32)[::2]
    _same(extrema.with_number(np.maximum, strided, 0), np.maximum(0, strided))
    ints = np.arange(-50_000, 50_000, dtype=np.int32)
    np.testing.assert_array_equal(extrema.with_number(np.maximum, ints, 3), np.maximum(ints, 3))
    half = _values(50_000, np.float16)
    r = extrema.with_number(np.minimum, half, 0.5)
    assert r.dtype == np.float16
    np.testing.assert_array_equal(r, np.minimum(0.5, half))
    # a number not exact in the dtype (or NaN): NumPy decides
    r = extrema.with_number(np.maximum, a, float("nan"))
    assert np.isnan(r).all()


def test_off_switch(monkeypatch):
    monkeypatch.setattr(extrema, "enabled", False)
    a = _values(50_000, np.float32)
    _same(extrema.with_number(np.maximum, a, 0), np.maximum(0, a))


@pytest.mark.parametrize("n", [5, 70_000, 1_600_000])  # threads split the largest (6 MiB)
def test_relu_and_clamp_match_torch(n):
    a = _values(n, np.float32)
    e, t = ember.from_numpy(a.copy()), torch.from_numpy(a.copy())
    pairs = [
        (ember.relu(e), torch.relu(t)),
        (ember.nn.functional.relu(e), torch.nn.functional.relu(t)),
        (ember.clamp(e, min=0), torch.clamp(t, min=0)),
        (ember.clamp(e, max=-0.0), torch.clamp(t, max=-0.0)),
        (ember.clamp_min(e, -1.5), torch.clamp_min(t, -1.5)),
        (ember.clamp(e, -1.0, 0.0), torch.clamp(t, -1.0, 0.0)),
        (ember.relu_(e.clone()), torch.relu_(t.clone())),
    ]
    for got, want in pairs:
        _same(got.numpy(), want.numpy())


def test_relu_gradient_unchanged():
    a = _values(70_000, np.float64)
    a[np.isnan(a)] = 1.0
    e = ember.from_numpy(a.copy()).requires_grad_()
    t = torch.from_numpy(a.copy()).requires_grad_()
    g = np.random.default_rng(1).standard_normal(a.size)
    ember.relu(e).backward(ember.from_numpy(g))
    torch.relu(t).backward(torch.from_numpy(g))
    np.testing.assert_array_equal(e.grad.numpy(), t.grad.numpy())
