"""ember.quasirandom.SobolEngine against torch.quasirandom.SobolEngine: bit-identical draws."""

from __future__ import annotations

import numpy as np
import pytest

import ember
from ember.quasirandom import SobolEngine, _direction_numbers

torch = pytest.importorskip("torch")


def assert_equal(e, t) -> None:
    """Same dtype, shape and every bit."""
    a, b = e.numpy(), t.numpy()
    assert a.dtype == b.dtype and a.shape == b.shape
    np.testing.assert_array_equal(a, b)


def engines(dimension, scramble=False, seed=None):
    return (
        SobolEngine(dimension, scramble=scramble, seed=seed),
        torch.quasirandom.SobolEngine(dimension, scramble=scramble, seed=seed),
    )


@pytest.mark.parametrize("dimension", [1, 2, 3, 50, 1111, 21201])
def test_direction_numbers_equal_torchs(dimension):
    ref = torch.zeros(dimension, SobolEngine.MAXBIT, dtype=torch.long)
    torch._sobol_engine_initialize_state_(ref, dimension)
    got = _direction_numbers(dimension)
    assert got.dtype == np.int64
    np.testing.assert_array_equal(got, ref.numpy())


@pytest.mark.parametrize(
    "dimension,scramble,seed",
    [(1, False, None), (2, False, None), (7, False, None), (1, True, 0), (5, True, 123),
     (40, True, 2**40 + 3), (300, True, -5)],
)  # fmt: skip
def test_draws_equal_torchs(dimension, scramble, seed):
    e, t = engines(dimension, scramble, seed)
    np.testing.assert_array_equal(e.sobolstate.numpy(), t.sobolstate.numpy())
    np.testing.assert_array_equal(e.shift.numpy(), t.shift.numpy())
    assert_equal(e.draw(), t.draw())
    assert_equal(e.draw(5), t.draw(5))
    assert_equal(e.draw(64, dtype=ember.float64), t.draw(64, dtype=torch.float64))
    e.fast_forward(100)
    t.fast_forward(100)
    assert_equal(e.draw(33), t.draw(33))
    assert e.num_generated == t.num_generated == 203
    np.testing.assert_array_equal(e.quasi.numpy(), t.quasi.numpy())


@pytest.mark.parametrize("scramble,seed", [(False, None), (True, 11)])
def test_pieces_equal_one_draw(scramble, seed):
    whole, t = engines(9, scramble, seed)
    ref = t.draw(300)
    assert_equal(whole.draw(300), ref)
    pieces = SobolEngine(9, scramble=scramble, seed=seed)
    got = [pieces.draw(n) for n in (1, 2, 1, 40, 0, 129, 127)]
    assert_equal(ember.cat(got), ref)


@pytest.mark.parametrize("scramble", [False, True])
def test_fast_forward_and_reset(scramble):
    e, t = engines(6, scramble, 4)
    for n in (0, 1, 3, 1000, 2**20 + 5):
        e.fast_forward(n)
        t.fast_forward(n)
        assert_equal(e.draw(3), t.draw(3))
    assert e.num_generated == t.num_generated
    e.reset()
    t.reset()
    assert e.num_generated == 0
    assert_equal(e.draw(10), t.draw(10))
    e.reset().fast_forward(17)
    t.reset().fast_forward(17)
    assert_equal(e.draw(4, dtype=ember.float64), t.draw(4, dtype=torch.float64))


def test_draw_base2():
    e, t = engines(4, True, 8)
    assert_equal(e.draw_base2(0), t.draw_base2(0))
    assert_equal(e.draw_base2(0), t.draw_base2(0))
    assert_equal(e.draw_base2(1), t.draw_base2(1))
    assert_equal(e.draw_base2(2, dtype=ember.float64), t.draw_base2(2, dtype=torch.float64))
    assert e.num_generated == 8
    with pytest.raises(ValueError) as te:
        t.draw_base2(1)
    with pytest.raises(ValueError) as ee:
        e.draw_base2(1)
    assert str(ee.value) == str(te.value)


def test_float64_first_point_and_default_dtype():
    # torch rounds the (scrambled) first point in the default dtype at construction
    e, t = engines(30, True, 1)
    assert_equal(e.draw(dtype=ember.float64), t.draw(dtype=torch.float64))
    e, t = engines(30, True, 1)
    assert_equal(e.draw(4, dtype=ember.float64), t.draw(4, dtype=torch.float64))
    try:
        ember.set_default_dtype(ember.float64)
        torch.set_default_dtype(torch.float64)
        e, t = engines(30, True, 1)
        assert_equal(e.draw(3), t.draw(3))
        assert_equal(e.draw(2, dtype=ember.float32), t.draw(2, dtype=torch.float32))
    finally:
        ember.set_default_dtype(ember.float32)
        torch.set_default_dtype(torch.float32)


def test_out():
    e, t = engines(3, True, 2)
    eo, to = ember.empty(1), torch.empty(1)
    assert e.draw(5, out=eo) is eo
    t.draw(5, out=to)
    assert_equal(eo, to)
    eo, to = ember.empty(2, 2, dtype=ember.float64), torch.empty(2, 2, dtype=torch.float64)
    e.draw(4, out=eo, dtype=ember.float64)
    t.draw(4, out=to, dtype=torch.float64)
    assert_equal(eo, to)


def test_default_generator_path():
    ember.manual_seed(2024)
    torch.manual_seed(2024)
    e, t = engines(12, True)
    assert_equal(e.draw(50), t.draw(50))
    # the engine consumed the default stream as torch's did
    assert_equal(ember.rand(3), torch.rand(3))


def test_seeded_engine_leaves_default_stream():
    ember.manual_seed(5)
    SobolEngine(4, scramble=True, seed=9)
    torch.manual_seed(5)
    assert_equal(ember.rand(2), torch.rand(2))


def test_attributes_and_repr():
    e, t = engines(5, True, 3)
    assert (e.dimension, e.scramble, e.seed) == (t.dimension, t.scramble, t.seed)
    assert (e.MAXBIT, e.MAXDIM) == (t.MAXBIT, t.MAXDIM) == (30, 21201)
    for args in [(5,), (5, True), (5, False, 3), (5, True, 3)]:
        assert repr(SobolEngine(*args)) == repr(torch.quasirandom.SobolEngine(*args))
    e.draw(3)
    assert e.num_generated == 3
    assert e.sobolstate.dtype is ember.int64 and e.quasi.shape == (5,)


def _raises_like(make_e, make_t):
    with pytest.raises(Exception) as te:
        make_t()
    with pytest.raises(type(te.value)) as ee:
        make_e()
    assert str(ee.value) == str(te.value)


@pytest.mark.parametrize("dimension", [0, -1, 21202])
def test_dimension_errors(dimension):
    _raises_like(lambda: SobolEngine(dimension), lambda: torch.quasirandom.SobolEngine(dimension))


def test_draw_errors():
    _raises_like(lambda: SobolEngine(3).draw(0), lambda: torch.quasirandom.SobolEngine(3).draw(0))
    _raises_like(lambda: SobolEngine(3).draw(-2), lambda: torch.quasirandom.SobolEngine(3).draw(-2))
    for ed, td in [(ember.float16, torch.float16), (ember.int64, torch.int64)]:
        _raises_like(
            lambda ed=ed: SobolEngine(3).draw(2, dtype=ed),
            lambda td=td: torch.quasirandom.SobolEngine(3).draw(2, dtype=td),
        )
    _raises_like(
        lambda: SobolEngine(2, True, 2**70), lambda: torch.quasirandom.SobolEngine(2, True, 2**70)
    )
    # the lone first point is converted, not computed, so any dtype works there, as in torch
    assert_equal(
        SobolEngine(3, True, 1).draw(dtype=ember.float16),
        torch.quasirandom.SobolEngine(3, True, 1).draw(dtype=torch.float16),
    )
    e = SobolEngine(3)
    e.draw(2)
    assert e.draw(0).shape == (0, 3)


def test_torch_alias():
    assert ember.quasirandom.SobolEngine is SobolEngine


def test_negative_fast_forward_as_torch():
    # torch's loop runs no step and its index helper gives 0 below zero; ember follows it
    e, t = engines(4, True, 3)
    e.fast_forward(-3)
    t.fast_forward(-3)
    assert_equal(e.draw(5), t.draw(5))
    assert e.num_generated == t.num_generated == 2


def test_past_the_last_point_raises():
    # torch reads outside its table there; ember refuses
    e = SobolEngine(2)
    e.fast_forward(2**30 - 1)
    assert e.draw(1).shape == (1, 2)  # point 2**30 - 1, the last
    with pytest.raises(ValueError, match="at most 2\\*\\*30 points"):
        e.draw(1)
    with pytest.raises(ValueError, match="at most 2\\*\\*30 points"):
        SobolEngine(2).fast_forward(2**30 + 1)
