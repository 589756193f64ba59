"""default_collate / default_convert against torch's: same structure, same dtypes, same values."""

from __future__ import annotations

import collections

import numpy as np
import pytest
from torch.utils.data import default_collate as t_collate
from torch.utils.data import default_convert as t_convert

import ember
from ember.utils.data import GatheredBatch, TensorDataset, default_collate, default_convert
from tests._support.datasets import check_same
from tests._support.torch_ref import assert_same, torch

Point = collections.namedtuple("Point", ["x", "y"])


BATCHES = {
    "ints": [1, 2, 3],
    "floats": [1.5, 2.0, -3.25],
    "bools": [True, False, True],
    "strings": ["a", "bc", "d"],
    "np_f32": [np.arange(3, dtype=np.float32) + i for i in range(4)],
    "np_i32_2d": [np.ones((2, 3), np.int32) * i for i in range(3)],
    "np_scalars_f32": [np.float32(1.5), np.float32(2)],
    "np_scalars_i16": [np.int16(1), np.int16(7)],
    "np_bool_scalars": [np.bool_(True), np.bool_(False)],
    "np_f64_0d": [np.array(1.0), np.array(2.0)],
    "tuples": [(np.zeros(2, np.float32), 1), (np.ones(2, np.float32), 0)],
    "lists": [[1, 2.0, "x"], [3, 4.0, "y"]],
    "dicts": [{"a": 1, "b": [np.float32(1), 2.5]}, {"a": 2, "b": [np.float32(3), 4.5]}],
    "nested": [{"p": (1, {"q": [True]}), "s": "u"}, {"p": (2, {"q": [False]}), "s": "v"}],
    "namedtuples": [Point(1, 2.0), Point(3, 4.0)],
    "ordered": [collections.OrderedDict(b=1, a=2.0), collections.OrderedDict(b=3, a=4.0)],
}


@pytest.mark.parametrize("name", sorted(BATCHES))
def test_default_collate_matches_torch(name):
    batch = BATCHES[name]
    check_same(default_collate(batch), t_collate(batch))


def test_collate_tensors_stack_and_promote():
    e = [ember.tensor([1.0, 2.0]), ember.tensor([3.0, 4.0])]
    t = [torch.tensor([1.0, 2.0]), torch.tensor([3.0, 4.0])]
    check_same(default_collate(e), t_collate(t))
    e2 = [ember.tensor([1, 2], dtype=ember.int32), ember.tensor([3.0, 4.0])]
    t2 = [torch.tensor([1, 2], dtype=torch.int32), torch.tensor([3.0, 4.0])]
    check_same(default_collate(e2), t_collate(t2))
    pairs = [(ember.tensor([i]), i) for i in range(3)]
    tpairs = [(torch.tensor([i]), i) for i in range(3)]
    check_same(default_collate(pairs), t_collate(tpairs))


def test_collate_keeps_autograd():
    a = ember.tensor([1.0, 2.0], requires_grad=True)
    out = default_collate([a, a * 2])
    assert out.requires_grad
    out.sum().backward()
    np.testing.assert_allclose(a.grad.numpy(), [3.0, 3.0])


@pytest.mark.parametrize(
    "batch",
    [
        [object(), object()],
        [np.array(["a"]), np.array(["b"])],
        [None, None],
    ],
)
def test_collate_errors_match_torch(batch):
    with pytest.raises(TypeError) as te:
        t_collate(batch)
    with pytest.raises(TypeError) as ee:
        default_collate(batch)
    assert str(ee.value) == str(te.value)


def test_collate_size_errors():
    with pytest.raises(RuntimeError, match="each element in list of batch should be of equal"):
        default_collate([[1, 2], [3]])
    with pytest.raises(RuntimeError, match="stack expects each tensor to be equal size"):
        default_collate([ember.zeros(2), ember.zeros(3)])


@pytest.mark.parametrize(
    "data",
    [
        np.arange(3, dtype=np.int32),
        np.float32(2.5),
        3,
        "s",
        (1, np.zeros(2)),
        [np.zeros(2, np.float32), 1],
        {"a": np.ones(2), "b": "t"},
        Point(np.int64(1), 2),
        np.array(["x", "y"]),
    ],
)
def test_default_convert_matches_torch(data):
    check_same(default_convert(data), t_convert(data))


def test_gathered_batch_collates_like_stacked_samples():
    x = ember.randn(10, 3)
    y = ember.arange(10)
    ds = TensorDataset(x, y)
    got = ds.__getitems__([4, 0, 7])
    assert isinstance(got, GatheredBatch) and len(got) == 3
    # it reads as a list of samples ...
    assert_same(got[1][0], torch.from_numpy(x.numpy()[0]))
    assert [int(s[1]) for s in got] == [4, 0, 7]
    # ... and collates to exactly what stacking those samples gives
    fast = default_collate(got)
    slow = default_collate([ds[i] for i in [4, 0, 7]])
    assert isinstance(fast, list) and len(fast) == 2
    for a, b in zip(fast, slow):
        assert_same(a, torch.from_numpy(b.numpy()))
