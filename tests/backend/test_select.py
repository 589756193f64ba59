"""ember._backend.cpu.select.where: the bit select gives np.where's values, dtype and shape bit
for bit (NaN payloads and -0.0 included) for every operand form it takes or hands back to
NumPy, and the ops on it agree with torch."""

from __future__ import annotations

import numpy as np
import pytest

import ember
from ember._backend.cpu import select

torch = pytest.importorskip("torch")

_DTYPES = [np.float32, np.float64, np.float16, np.int8, np.int16, np.int32, np.int64, np.uint8]


def _array(n: int, dt, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    if np.dtype(dt).kind == "f":
        a = (rng.standard_normal(n) * 4).astype(dt)
        a[::7] = -0.0
        a[::11] = np.nan
        a.view(np.uint8)[::97] ^= 1  # odd NaN payloads and subnormals ride along bit for bit
        return a
    info = np.iinfo(dt)
    return rng.integers(info.min, info.max, n, dtype=dt, endpoint=True)


def _same(got, want) -> None:
    assert got.dtype == want.dtype and got.shape == want.shape
    as_bytes = [np.ascontiguousarray(v).view(np.uint8) for v in (got, want)]
    np.testing.assert_array_equal(*as_bytes)


@pytest.mark.parametrize("dt", _DTYPES, ids=lambda d: np.dtype(d).name)
def test_every_operand_form_matches_numpy_bit_for_bit(dt):
    n = 3 * select._MIN + 5
    cond = np.random.default_rng(0).random(n) < 0.5
    a, b = _array(n, dt, 1), _array(n, dt, 2)
    zero = np.dtype(dt).type(0)
    number = 3 if np.dtype(dt).kind in "iu" else 1.5
    forms = [(a, b), (a, zero), (zero, b), (a, number), (number, b), (number, 0), (0, number)]
    forms += [(a, np.asarray(number, dt)), (a, b[:1])]  # a 0-d array; a broadcast row: NumPy
    for x, y in forms:
        _same(select.where(cond, x, y), np.where(cond, x, y))


def test_bool_and_mixed_dtypes_and_shapes():
    rng = np.random.default_rng(3)
    cond = rng.random((64, 300)) < 0.3
    a = rng.random((64, 300)) < 0.5
    _same(select.where(cond, a, True), np.where(cond, a, True))
    f32 = rng.standard_normal((64, 300)).astype(np.float32)
    # promotion as NumPy's: a Python float keeps float32, a float64 array or int8 widens
    for x, y in ((f32, 0.1), (f32, np.float64(0.1)), (f32, f32.astype(np.float64)), (f32, 7)):
        _same(select.where(cond, x, y), np.where(cond, x, y))
    _same(select.where(cond.T, f32.T, 0.0), np.where(cond.T, f32.T, 0.0))  # not contiguous
    i8 = rng.integers(-100, 100, (64, 300), dtype=np.int8)
    _same(select.where(~cond, i8, 1000), np.where(~cond, i8, 1000))  # out of int8: NumPy's call


def test_off_switch(monkeypatch):
    monkeypatch.setattr(select, "enabled", False)
    cond = np.random.default_rng(0).random(20_000) < 0.5
    a = _array(20_000, np.float32, 1)
    _same(select.where(cond, a, 0.0), np.where(cond, a, 0.0))


@pytest.mark.parametrize("n", [100, 50_000])
def test_where_and_its_gradient_match_torch(n):
    rng = np.random.default_rng(n)
    c = rng.random(n) < 0.5
    x = rng.standard_normal(n)
    y = rng.standard_normal(n)
    g = rng.standard_normal(n)
    ex, ey = (ember.from_numpy(v.copy()).requires_grad_() for v in (x, y))
    tx, ty = (torch.from_numpy(v.copy()).requires_grad_() for v in (x, y))
    er = ember.where(ember.from_numpy(c), ex, ey)
    tr = torch.where(torch.from_numpy(c), tx, ty)
    np.testing.assert_array_equal(er.detach().numpy(), tr.detach().numpy())
    er.backward(ember.from_numpy(g))
    tr.backward(torch.from_numpy(g))
    np.testing.assert_array_equal(ex.grad.numpy(), tx.grad.numpy())
    np.testing.assert_array_equal(ey.grad.numpy(), ty.grad.numpy())
    em = ember.from_numpy(x.astype(np.float32)).masked_fill(ember.from_numpy(c), -np.inf)
    tm = torch.from_numpy(x.astype(np.float32)).masked_fill(torch.from_numpy(c), -np.inf)
    np.testing.assert_array_equal(em.numpy(), tm.numpy())
