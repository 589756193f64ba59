"""Same seed, same numbers for integer and discrete samplers (randint, random_, randperm,
bernoulli, multinomial) and the transformed-uniform ones (exponential, cauchy, log-normal,
geometric): values equal to torch's, generator state equal after each op."""

from __future__ import annotations

import numpy as np
import pytest

import ember
from ember._backend.cpu import jit, mt19937
from ember.ops import _random_kernels as rk
from tests._support.torch_ref import torch
from tests.ops.test_random_stream import assert_bits, same, ulps

INTS = ["int64", "int32", "int16", "int8", "uint8"]


@pytest.mark.parametrize("size", [(), (1,), (17,), (3, 4)])
@pytest.mark.parametrize("dt", INTS + ["float32", "float64", "bool"])
@pytest.mark.parametrize("bounds", [(0, 10), (-5, 7), (0, 2**28), (3, 2**40), (-(2**62), 2**62)])
def test_randint_bits(bounds, dt, size):
    lo, hi = bounds
    if dt in INTS and dt != "int64" and (hi > 100 or lo < 0):
        lo, hi = 0, 100  # out of range for the narrow types (torch raises)
    if dt == "bool":
        lo, hi = 0, 2
    same(lambda L: L.randint(lo, hi, size, dtype=getattr(L, dt)), 1, (bounds, dt, size))


@pytest.mark.parametrize("dt", INTS + ["float32", "float64", "float16", "bfloat16", "bool"])
def test_random_default_range_bits(dt):
    same(lambda L: L.empty(33, dtype=getattr(L, dt)).random_(), 3, dt)
    same(lambda L: L.empty(9, dtype=getattr(L, dt)).random_(2), 3, dt)


def test_random_from_to_forms():
    same(lambda L: L.empty(20, dtype=L.int64).random_(-3, 9))
    same(lambda L: L.empty(20, dtype=L.int64).random_(5, None))
    same(lambda L: L.empty(20, dtype=L.int32).random_(-7, None))
    same(lambda L: L.empty(20, dtype=L.int64).random_(-(2**63), None))
    same(lambda L: L.empty(20, dtype=L.float32).random_(0, None))
    same(lambda L: L.empty(20, dtype=L.int8).random_(-100, 100))
    with pytest.raises(RuntimeError, match="out of bounds"):
        ember.empty(3, dtype=ember.int8).random_(0, 300)


@pytest.mark.parametrize("n", [0, 1, 2, 3, 16, 17, 100, 1000, 100003])
def test_randperm_bits(n):
    for seed in (0, 5):
        same(lambda L: L.randperm(n), seed, n)
    same(lambda L: L.randperm(n, dtype=L.int32), 2, n)
    same(lambda L: L.randperm(min(n, 200), dtype=L.float32), 2, n)


def test_randperm_with_generator():
    g, tg = ember.Generator().manual_seed(3), torch.Generator().manual_seed(3)
    assert_bits(ember.randperm(50, generator=g), torch.randperm(50, generator=tg))
    assert (g.get_state()._data == tg.get_state().numpy()).all()


@pytest.mark.parametrize("p", [0.0, 0.3, 0.5, 1.0])
@pytest.mark.parametrize("dt", ["float32", "float64", "float16", "bfloat16", "int64", "bool"])
def test_bernoulli_scalar_p_bits(dt, p):
    """bernoulli_(float p): a double uniform per element (torch's generic CPU kernel, which
    torch uses on every CPU but Intel's with its MKL build)."""
    same(lambda L: L.empty(1001, dtype=getattr(L, dt)).bernoulli_(p), 4, (dt, p))
    same(lambda L: L.bernoulli(L.zeros(7, 3, dtype=getattr(L, dt)), p), 4, (dt, p))


@pytest.mark.parametrize("dt", ["float32", "float64", "float16", "bfloat16"])
def test_bernoulli_tensor_p_bits(dt):
    # float p: a float uniform per element; double p: a double one
    same(lambda L: L.bernoulli(L.linspace(0, 1, 101, dtype=getattr(L, dt))), 6, dt)
    same(lambda L: L.zeros(4, 5).bernoulli_(L.full((5,), 0.4, dtype=getattr(L, dt))), 6, dt)
    same(lambda L: L.zeros(6, 5).t().bernoulli_(L.rand(6, 5).t()), 6, dt)


@pytest.mark.parametrize("dt", ["float32", "float64"])
def test_multinomial_bits(dt):
    def w(L):
        return (L.arange(1.0, 13.0, dtype=getattr(L, dt)) % 5).reshape(3, 4) + 0.5

    same(lambda L: L.multinomial(w(L), 7, replacement=True), 1, dt)
    same(lambda L: L.multinomial(w(L)[0], 20, replacement=True), 1, dt)
    same(lambda L: L.multinomial(w(L), 1, replacement=True), 1, dt)  # torch's exponential trick
    same(lambda L: L.multinomial(w(L), 1), 1, dt)
    same(lambda L: L.multinomial(w(L), 3), 1, dt)
    same(lambda L: L.multinomial(L.tensor([0.0, 3.0, 0.0, 1.0], dtype=w(L).dtype), 2), 1, dt)


@pytest.mark.parametrize("n", [1, 17, 1000])
@pytest.mark.parametrize("dt", ["float32", "float64", "float16", "bfloat16"])
def test_exponential_cauchy_log_normal_geometric_bits(dt, n):
    same(lambda L: L.empty(n, dtype=getattr(L, dt)).exponential_(2.5), 8, (n, dt))
    same(lambda L: L.empty(n, dtype=getattr(L, dt)).cauchy_(1.0, 0.5), 8, (n, dt))
    same(lambda L: L.empty(n, dtype=getattr(L, dt)).log_normal_(0.5, 0.25), 8, (n, dt))
    same(lambda L: L.empty(n, dtype=getattr(L, dt)).geometric_(0.3), 8, (n, dt))
    same(lambda L: L.empty(40, dtype=L.int64).geometric_(0.2), 8)


def test_large_exponential_ulp_bound():
    """Above 2048 values ember takes NumPy's log1p (not the C library's): float32 results are
    still equal; float64 ones within 1 ulp."""
    same(lambda L: L.empty(5000).exponential_(), 3)
    torch.manual_seed(3)
    ember.manual_seed(3)
    t = torch.empty(5000, dtype=torch.float64).exponential_()
    e = ember.empty(5000, dtype=ember.float64).exponential_()
    assert ulps(e, t) <= 1


def test_sampler_errors_match_torch():
    t = ember.empty(3)
    for fn, msg in [
        (lambda: t.exponential_(0), "lambda > 0.0"),
        (lambda: t.cauchy_(0, -1), "sigma > 0.0"),
        (lambda: t.log_normal_(1, 0), "std > 0.0"),
        (lambda: t.geometric_(1.5), r"p to be in \(0, 1\)"),
        (lambda: t.uniform_(2, 1), r"\[from, to\) range"),
        (lambda: t.normal_(0, -1), "std >= 0.0"),
    ]:
        with pytest.raises(RuntimeError, match=msg):
            fn()
    with pytest.raises(NotImplementedError, match="normal_kernel_cpu"):
        ember.empty(3, dtype=ember.int64).normal_()


@pytest.mark.parametrize("dt", ["float32", "float64"])
def test_poisson_bits(dt):
    """torch's sampler: products of uniforms below rate 10, transformed rejection from 10 on;
    each sample reads a variable number of draws and the state must still end where torch's
    does."""
    rates = [0.0, 0.3, 3.0, 9.9, 10.0, 17.5, 250.0, 1e5]
    same(lambda L: L.poisson(L.tensor(rates * 20, dtype=getattr(L, dt)).reshape(8, 20)), 2, dt)
    with pytest.raises(RuntimeError, match="non-negative"):
        ember.poisson(ember.tensor([-1.0]))


def _state_words(gen_engine):
    """A copy of an engine's mt19937 state as the compiled loop takes it (key words, position)."""
    st = gen_engine._bg.state["state"]
    return np.concatenate([st["key"], [st["pos"]]]).astype(np.uint32)


@pytest.mark.parametrize("skip", [0, 1, 600, 623])
def test_bernoulli_loop_as_python_is_the_numpy_draw(skip):
    """The compiled Bernoulli loop, run as plain Python from a copy of the state: the NumPy
    path's draws (twist, tempering, 64-bit pairs across a block's end) and its final state."""
    eng = mt19937.MT19937(11)
    eng.random(skip)  # an odd skip leaves a draw straddling the block's end
    st = _state_words(eng)
    n, thr = 700, int(np.ceil(0.3 * 2.0**53))
    got = np.empty(n, np.bool_)
    mt19937._bernoulli_loop.py(st, np.int64(thr), got)
    want = (eng.random64(n) & rk._M53) < np.uint64(thr)
    assert np.array_equal(got, want)
    assert np.array_equal(st, _state_words(eng))


@pytest.mark.skipif(not jit.available(), reason="Numba not installed (jit extra)")
@pytest.mark.parametrize("n", [16384, 16385, 100003])
@pytest.mark.parametrize("skip", [0, 1, 623])
def test_bernoulli_compiled_draws_torchs_numbers(n, skip):
    """Where Numba is loaded, bernoulli_ and dropout on large tensors draw through the
    compiled loop: torch's values and generator state, bit for bit."""
    assert jit.loaded()  # available() loaded it
    for p in (0.9, 0.25):
        same(lambda L, p=p: (L.empty(skip).random_(), L.empty(n).bernoulli_(p))[1], 5, (n, p))
    x = np.random.default_rng(0).standard_normal(n).astype(np.float32)
    same(lambda L: L.nn.functional.dropout(L.tensor(x), 0.1), 6, (n, "dropout"))
    assert mt19937._bernoulli_loop._compiled is not None


@pytest.mark.skipif(not jit.available(), reason="Numba not installed (jit extra)")
@pytest.mark.parametrize("clone", ["pickle", "deepcopy"])
def test_bernoulli_compiled_draws_follow_a_copied_generator(clone):
    """A generator copied after a compiled draw keeps one stream: its compiled draws move the
    copy's own state, which its NumPy-path draws then continue (the cached state view is the
    original's memory, so the copy makes its own)."""
    import copy
    import pickle

    def copied(g):
        return pickle.loads(pickle.dumps(g)) if clone == "pickle" else copy.deepcopy(g)

    g = ember.Generator().manual_seed(3)
    ember.empty(20000).bernoulli_(0.5, generator=g)  # the view is made and cached
    g2 = copied(g)
    ref = torch.Generator().manual_seed(3)
    torch.empty(20000).bernoulli_(0.5, generator=ref)
    got = [ember.empty(20000).bernoulli_(0.3, generator=g2), ember.rand(5, generator=g2)]
    want = [torch.empty(20000).bernoulli_(0.3, generator=ref), torch.rand(5, generator=ref)]
    for e, t in zip(got, want):
        assert_bits(e, t)
