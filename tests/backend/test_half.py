"""ember._backend.cpu.half: float32 -> float16 in SIMD passes gives NumPy's own cast bit for bit
(every float32 pattern was checked once; here a structured sample: every exponent with mantissa
edge patterns, both signs, the ties of each float16 step, subnormals, overflow, NaN payloads),
and the casts that use it (``half()``, ``to(float16)``, with a gradient) against torch."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import ember
from ember._backend.cpu import half

torch = pytest.importorskip("torch")


def _sample() -> np.ndarray:
    """Bit patterns: every exponent x mantissa edges (float16's cut at bit 13: 0x1000 is the
    half-way tie, 0x0FFF/0x1001 around it, odd and even kept bits), every tie of float16's
    subnormal and normal steps near the range ends, and random patterns."""
    mant = [0, 1, 2, 0x0FFF, 0x1000, 0x1001, 0x1FFF, 0x2000, 0x3000, 0x2FFF, 0x3001]
    mant += [0x400000, 0x7FE000, 0x7FF000, 0x7FEFFF, 0x7FF001, 0x7FFFFF, 0x155555, 0x2AAAAA]
    exps = np.arange(256, dtype=np.uint32) << 23
    grid = (exps[:, None] | np.array(mant, np.uint32)[None, :]).ravel()
    ties = []
    for e in range(100, 145):  # around float16's subnormal, normal and overflow boundaries
        base = np.uint32(e << 23)
        for k in range(0, 1 << 23, 1 << 12):  # every multiple of half a float16 step
            ties += [base + k - 1, base + k, base + k + 1]
    rand = np.random.default_rng(0).integers(0, 1 << 32, 200_000, dtype=np.uint64)
    bits = np.concatenate(
        [grid, np.array(ties, np.int64).astype(np.uint32), rand.astype(np.uint32)]
    )
    bits = np.concatenate([bits, bits | np.uint32(0x80000000)])
    pad = -bits.size % 4096
    return np.concatenate([bits, bits[:pad]])  # above half._MIN


def test_same_bits_as_numpys_cast():
    x = _sample().view(np.float32)
    assert half.serves(x)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = half.to_float16(x)
    with np.errstate(all="ignore"):
        want = x.astype(np.float16)
    assert got.dtype == np.float16 and got.shape == x.shape
    np.testing.assert_array_equal(got.view(np.uint16), want.view(np.uint16))


def test_other_arrays_take_numpys_cast():
    small = np.ones(10, np.float32)
    assert not half.serves(small)
    strided = np.ones(1 << 16, np.float32)[::2]
    assert not half.serves(strided)
    assert not half.serves(np.ones(1 << 16))  # float64


def test_off_switch(monkeypatch):
    monkeypatch.setattr(half, "enabled", False)
    assert not half.serves(np.ones(1 << 16, np.float32))


@pytest.mark.parametrize("n", [5, 1 << 15, (1 << 15) + 3])
def test_tensor_casts_match_torch(n):
    rng = np.random.default_rng(n)
    a = (rng.standard_normal(n) * 10.0 ** rng.integers(-9, 6, n)).astype(np.float32)
    a[:5] = [np.inf, -np.inf, 65519.0, 65520.0, -0.0]
    e, t = ember.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        outs = [e.half(), e.to(ember.float16), e.detach().to(dtype=ember.float16)]
    want = t.half()
    for o in outs:
        assert o.dtype == ember.float16
        np.testing.assert_array_equal(
            o.detach().numpy().view(np.uint16), want.detach().numpy().view(np.uint16)
        )
    g = rng.standard_normal(n).astype(np.float16)
    outs[0].backward(ember.tensor(g))
    want.backward(torch.tensor(g))
    np.testing.assert_array_equal(e.grad.numpy(), t.grad.numpy())
