"""index_put / index_put_ (ops/indexing.py) against torch: values, accumulation of repeated
indices, broadcasting, masks, gradients, and torch's errors. Plain ``t[key]`` indexing is tested
in tests/tensor/test_views_indexing.py."""

from __future__ import annotations

import numpy as np
import pytest

import ember
from tests._support.ops_check import compare, gradcheck, randn
from tests._support.torch_ref import assert_same, to_torch, torch


def _idx(lib, *rows):
    return tuple(lib.tensor(r) for r in rows)


CASES = [
    # (input shape, indices as lists or None, values shape)
    ((5,), ([0, 0, 2],), (3,)),
    ((5,), ([4, 1],), ()),
    ((3, 4), ([2, 0, 2],), (3, 4)),
    ((3, 4), ([2, 0, 2],), (4,)),
    ((3, 4), ([1, 1], [0, 3]), (2,)),
    ((3, 4), ([0, 2, 2], [3, 3, 0]), ()),
    ((2, 3, 4), ([1], [0, 2]), (2, 4)),
    ((3, 4), ([True, False, True],), (4,)),
]


@pytest.mark.parametrize("accumulate", [False, True])
@pytest.mark.parametrize("shape,rows,vshape", CASES)
def test_index_put_matches_torch(shape, rows, vshape, accumulate):
    repeated = any(
        r is not None and not isinstance(r[0], bool) and len(set(r)) < len(r) for r in rows
    )
    if repeated and not accumulate:
        pytest.skip("repeated indices without accumulate: torch leaves the winner unspecified")
    x = randn(*shape, seed=1)
    v = randn(*vshape, seed=2)

    def fn(lib, x, v):
        return x.clone().index_put(_idx(lib, *rows), v * 2, accumulate=accumulate)

    compare(fn, x, v)


@pytest.mark.parametrize("accumulate", [False, True])
def test_index_put_in_place_and_the_function_form(accumulate):
    rows = ([0, 0, 2],)
    e = ember.zeros(4)
    t = torch.zeros(4)
    r = e.index_put_(_idx(ember, *rows), ember.tensor(1.5), accumulate=accumulate)
    assert r is e
    t.index_put_(_idx(torch, *rows), torch.tensor(1.5), accumulate=accumulate)
    assert_same(e, t)
    a = ember.index_put(ember.ones(4), _idx(ember, *rows), ember.tensor(3.0), accumulate)
    b = torch.index_put(torch.ones(4), _idx(torch, *rows), torch.tensor(3.0), accumulate)
    assert_same(a, b)


@pytest.mark.parametrize("dtype", ["uint8", "int32", "int64", "bool", "float64"])
def test_index_put_keeps_the_dtype(dtype):
    e = ember.zeros(5, dtype=getattr(ember, dtype))
    t = torch.zeros(5, dtype=getattr(torch, dtype))
    ve = ember.tensor([1, 1, 0], dtype=getattr(ember, dtype))
    e.index_put_((ember.tensor([0, 0, 3]),), ve, accumulate=dtype != "bool")
    t.index_put_((torch.tensor([0, 0, 3]),), to_torch(ve), accumulate=dtype != "bool")
    assert_same(e, t)


def test_index_put_errors_as_torch():
    for lib in (ember, torch):
        i = lib.tensor([0, 1])
        with pytest.raises(
            RuntimeError,
            match="source and destination dtypes match, got Float "
            "for the destination and Double for the source",
        ):
            lib.zeros(3).index_put_((i,), lib.ones(2, dtype=lib.float64))
        with pytest.raises(TypeError, match="must be tuple of Tensors, not Tensor"):
            lib.zeros(3).index_put_(i, lib.ones(2))
        with pytest.raises(TypeError, match="expected Tensor as element 0 in argument 0, but got"):
            lib.zeros(3, 4).index_put_((None, i), lib.ones(2))
        with pytest.raises(TypeError, match="expected Tensor as element 0 in argument 1, but got"):
            lib.index_put(lib.zeros(3), ([0, 1],), lib.ones(2))
        with pytest.raises(TypeError, match="argument 'values' .position 2. must be Tensor"):
            lib.zeros(3).index_put_((i,), 1.0)
        with pytest.raises(RuntimeError, match="shape mismatch"):
            lib.zeros(3).index_put_((i,), lib.ones(3), accumulate=True)
        with pytest.raises(IndexError):
            lib.zeros(3).index_put_((lib.tensor([5]),), lib.ones(1), accumulate=True)


def test_index_put_on_a_leaf_that_requires_grad_raises_as_torch():
    for lib in (ember, torch):
        x = lib.zeros(3, requires_grad=True)
        with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
            x.index_put_((lib.tensor([0]),), lib.ones(1), accumulate=True)


def test_index_put_gradcheck_float64():
    idx = (ember.tensor([1, 1, 3]),)
    gradcheck(lambda x, v: x.index_put(idx, v, accumulate=True) ** 2, (5,), (3,))
    distinct = (ember.tensor([0, 2, 4]),)
    gradcheck(lambda x, v: x.index_put(distinct, v) * 3, (5,), (3,))


def test_index_put_accumulate_with_many_repeats_against_numpy():
    rng = np.random.default_rng(0)
    idx = rng.integers(0, 7, 500)
    vals = rng.standard_normal(500)
    e = ember.zeros(7, dtype=ember.float64).index_put_(
        (ember.tensor(idx),), ember.tensor(vals), accumulate=True
    )
    want = np.zeros(7)
    np.add.at(want, idx, vals)
    np.testing.assert_allclose(e.numpy(), want, rtol=1e-12)


def test_nonzero_static_pads_and_cuts_as_torch():
    from tests._support.torch_ref import assert_same, torch

    a = [[0, 1, 0], [2, 0, 3]]
    for size, fill in ((5, -1), (2, 7), (0, -1)):
        assert_same(
            ember.nonzero_static(ember.tensor(a), size=size, fill_value=fill),
            torch.nonzero_static(torch.tensor(a), size=size, fill_value=fill),
        )
