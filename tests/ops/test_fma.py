"""The fused multiply-add emulation (ops/_fma.py) against exact rational arithmetic, and the ops
torch computes with FMA (add/sub with alpha, addcmul, lerp; addcdiv's order) against torch, bit
for bit."""

from __future__ import annotations

import platform
from fractions import Fraction

import numpy as np
import pytest

import ember
from ember.ops import _fma
from tests._support.torch_ref import torch

# torch's x86 build without AVX2 (its DEFAULT kernels) is compiled without FMA instructions and
# rounds twice; its AVX2/AVX-512 and ARM64 kernels fuse
TORCH_FUSES = not (
    platform.machine().lower() in ("x86_64", "amd64")
    and torch.backends.cpu.get_cpu_capability() == "DEFAULT"
)
needs_fused_torch = pytest.mark.skipif(not TORCH_FUSES, reason="this torch rounds twice")

# 2^-24 (1 + 2^-18) * (1 - 2^-18) + (1 + 2^-23) = 1 + 3 * 2^-24 - 2^-60: the float64 sum rounds
# onto the float32 midpoint 1 + 3 * 2^-24, from which rounding to even goes up; the exact
# value is below it, so the fused result is 1 + 2^-23
_MIDPOINT = (2.0**-24 * (1 + 2.0**-18), 1 - 2.0**-18, 1 + 2.0**-23)


def _round32(x: Fraction) -> np.float32:
    """The float32 nearest the rational x (ties to even): float(x) is the nearest double, and
    the float32 nearest x is that double's neighbour nearest x."""
    r = np.float32(float(x))
    best = None
    for c in (np.nextafter(r, np.float32(-np.inf)), r, np.nextafter(r, np.float32(np.inf))):
        d = abs(Fraction(float(c)) - x)
        even = not (int(np.array(c).view(np.int32)) & 1)
        if best is None or d < best[0] or (d == best[0] and even):
            best = (d, c)
    return best[1]


@pytest.mark.parametrize("n", [1000, 3 * _fma._PIECE + 5])  # one pass; pieces on threads
def test_fma32_is_rounded_once(n):
    rng = np.random.default_rng(0)
    a, b, c = (rng.standard_normal(n).astype(np.float32) * 4.0**k for k in (0, 1, 3))
    for i in (0, n // 2, n - 1):
        a[i], b[i], c[i] = _MIDPOINT
    got = _fma.fma32(a, b, c)
    assert got[0] == np.float32(1 + 2.0**-23)  # not the double rounding's 1 + 2^-22
    if TORCH_FUSES:  # as the FMA instruction under torch's addcmul gives it
        assert torch.addcmul(*(torch.tensor(v[:1]) for v in (c, a, b))).item() == got[0]
    sample = np.r_[0 : min(n, 1000), n // 2, n - 1]
    exact = [
        _round32(Fraction(float(x)) * Fraction(float(y)) + Fraction(float(z)))
        for x, y, z in zip(a[sample], b[sample], c[sample])
    ]
    np.testing.assert_array_equal(got[sample], np.array(exact, np.float32))


def test_fma64_is_rounded_once():
    rng = np.random.default_rng(1)
    a, b = rng.standard_normal(3000), rng.standard_normal(3000)
    c = rng.standard_normal(3000) * np.logspace(-8, 8, 3000)
    exact = [float(Fraction(x) * Fraction(y) + Fraction(z)) for x, y, z in zip(a, b, c)]
    np.testing.assert_array_equal(_fma.fma64(a, b, c), exact)
    special = _fma.fma64(np.array([np.inf, np.nan, 1e300, 1e-300]), 2.0, np.array([1.0, 1, 1, 0]))
    np.testing.assert_array_equal(special, [np.inf, np.nan, 2e300, 2e-300])


def _pair(x):
    return ember.tensor(x), torch.tensor(x)


def _same(e, t):
    np.testing.assert_array_equal(e.detach().numpy(), t.detach().numpy())


@needs_fused_torch
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n", [5000, 3 * _fma._PIECE + 5])
def test_ops_with_torchs_fused_roundings(dtype, n):
    rng = np.random.default_rng(2)
    a, b, w = (rng.uniform(-3, 3, n).astype(dtype) for _ in range(3))
    (ea, ta), (eb, tb), (ew, tw) = _pair(a), _pair(b), _pair(w)
    for alpha in (0.3, -1.7):
        _same(ember.add(ea, eb, alpha=alpha), torch.add(ta, tb, alpha=alpha))
        _same(ember.sub(ea, eb, alpha=alpha), torch.sub(ta, tb, alpha=alpha))
    _same(ember.addcmul(ea, eb, ew, value=0.7), torch.addcmul(ta, tb, tw, value=0.7))
    _same(ember.addcmul(ea, eb, ew), torch.addcmul(ta, tb, tw))
    ed, td = ew.abs() + 0.5, tw.abs() + 0.5
    _same(ember.addcdiv(ea, eb, ed, value=0.7), torch.addcdiv(ta, tb, td, value=0.7))
    for weight in (0.3, -0.2, 0.5, 0.7, 1.3):
        _same(ember.lerp(ea, eb, weight), torch.lerp(ta, tb, weight))
    _same(ember.lerp(ea, eb, ew), torch.lerp(ta, tb, tw))
    # broadcasting: a row against a matrix
    _same(
        ember.add(ea[:10], eb[:40].reshape(4, 10), alpha=0.3),
        torch.add(ta[:10], tb[:40].reshape(4, 10), alpha=0.3),
    )
    # in place, as a hand-written SGD step writes it
    ep, tp = ea.clone(), ta.clone()
    ep.add_(eb, alpha=-0.01)
    tp.add_(tb, alpha=-0.01)
    _same(ep, tp)


@needs_fused_torch
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_recorded_graph_keeps_the_fused_values_and_gradients(dtype):
    rng = np.random.default_rng(3)
    a, b, w, g = (rng.uniform(-3, 3, 4000).astype(dtype) for _ in range(4))
    for fn in (
        lambda m, x, y, z: m.add(x, y, alpha=0.3),
        lambda m, x, y, z: m.sub(x, y, alpha=0.3),
        lambda m, x, y, z: m.addcmul(x, y, z, value=0.7),
        lambda m, x, y, z: m.lerp(x, y, 0.3),
        lambda m, x, y, z: m.lerp(x, y, 0.8),
    ):
        outs = []
        for m in (ember, torch):
            ts = [m.tensor(v, requires_grad=True) for v in (a, b, w)]
            y = fn(m, *ts)
            y.backward(m.tensor(g))
            outs.append([y] + [t.grad for t in ts])
        (ey, *eg), (ty, *tg) = outs
        _same(ey, ty)
        for e, t in zip(eg, tg):
            if t is None:
                assert e is None
            else:  # addcmul's products of the gradient round in another order: an ulp or two
                np.testing.assert_allclose(
                    e.numpy(), t.numpy(), rtol=1e-6 if dtype == np.float32 else 1e-15
                )


def test_one_value_path_matches_the_array_path_midpoints_included():
    # a single value (a transform's one random draw) is fused in Python floats; where the
    # float64 sum sits on a float32 midpoint it defers to the array path's tie-breaking
    rng = np.random.default_rng(3)
    u = (rng.integers(0, 1 << 24, 4000) * 2.0**-24).astype(np.float32)
    d = rng.standard_normal(4000).astype(np.float32)
    f = (rng.standard_normal(4000) * rng.choice([1e-3, 1.0, 1e3], 4000)).astype(np.float32)
    # a midpoint: (1 + 2^-23)(1 - 2^-23) + 2^24 + 2 = 2^24 + 3 - 2^-46 rounds in float64 to
    # 2^24 + 3, halfway between two float32; the fused result is the lower one, 2^24 + 2
    u = np.concatenate([u, np.float32([1.0 + 2.0**-23])])
    d = np.concatenate([d, np.float32([1.0 - 2.0**-23])])
    f = np.concatenate([f, np.float32([2.0**24 + 2])])
    whole = _fma.fma32(u, d, f)
    assert whole[-1] == np.float32(2.0**24 + 2)
    for i in range(u.size):
        one = _fma.fma32(u[i : i + 1], d[i], f[i])
        assert one.shape == (1,) and one.dtype == np.float32
        assert one.view(np.int32)[0] == whole.view(np.int32)[i], i
