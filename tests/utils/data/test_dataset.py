"""Datasets and random_split, against torch.utils.data where behaviour is deterministic."""

from __future__ import annotations

import numpy as np
import pytest
import torch.utils.data as tdata

import ember
from ember.utils.data import (
    ChainDataset,
    ConcatDataset,
    Dataset,
    IterableDataset,
    StackDataset,
    Subset,
    TensorDataset,
    random_split,
)
from tests._support.torch_ref import assert_same, torch


class Squares(Dataset):
    def __init__(self, n):
        self.n = n

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        return i * i


class Stream(IterableDataset):
    def __init__(self, items):
        self.items = items

    def __iter__(self):
        return iter(self.items)

    def __len__(self):
        return len(self.items)


def test_tensor_dataset():
    x, y = ember.randn(5, 3), ember.arange(5)
    ds = TensorDataset(x, y)
    tds = tdata.TensorDataset(torch.from_numpy(x.numpy()), torch.from_numpy(y.numpy()))
    assert len(ds) == len(tds) == 5
    for i in (0, 3, -1):
        assert_same(list(ds[i]), list(tds[i]))
    with pytest.raises(AssertionError, match="Size mismatch between tensors"):
        TensorDataset(ember.zeros(3), ember.zeros(4))


def test_base_dataset():
    with pytest.raises(NotImplementedError, match="Subclasses of Dataset should implement"):
        Dataset()[0]
    assert isinstance(Squares(2) + Squares(3), ConcatDataset)
    assert isinstance(Stream([1]) + Stream([2]), ChainDataset)


def test_concat_dataset():
    ds = ConcatDataset([Squares(3), Squares(2), Squares(4)])
    tds = tdata.ConcatDataset([Squares(3), Squares(2), Squares(4)])
    assert len(ds) == 9 and ds.cumulative_sizes == tds.cumulative_sizes
    assert [ds[i] for i in range(-9, 9)] == [tds[i] for i in range(-9, 9)]
    with pytest.raises(ValueError, match="absolute value of index should not exceed"):
        ds[-10]
    with pytest.raises(AssertionError, match="datasets should not be an empty iterable"):
        ConcatDataset([])
    with pytest.raises(AssertionError, match="ConcatDataset does not support IterableDataset"):
        ConcatDataset([Stream([1])])


def test_chain_dataset():
    ds = ChainDataset([Stream([1, 2]), Stream([3])])
    assert list(ds) == [1, 2, 3] and len(ds) == 3
    with pytest.raises(AssertionError, match="ChainDataset only supports IterableDataset"):
        list(ChainDataset([Squares(2)]))


def test_stack_dataset():
    ds = StackDataset(Squares(3), Squares(3))
    assert ds[2] == (4, 4) and len(ds) == 3
    kw = StackDataset(a=Squares(3), b=TensorDataset(ember.arange(3)))
    item = kw[1]
    assert item["a"] == 1 and int(item["b"][0]) == 1
    batch = kw.__getitems__([0, 2])
    assert [b["a"] for b in batch] == [0, 4] and [int(b["b"][0]) for b in batch] == [0, 2]
    assert StackDataset(Squares(3), Squares(3)).__getitems__([1, 2]) == [(1, 1), (4, 4)]
    with pytest.raises(ValueError, match="Size mismatch between datasets"):
        StackDataset(Squares(2), Squares(3))
    with pytest.raises(ValueError, match="At least one dataset should be passed"):
        StackDataset()
    with pytest.raises(ValueError, match="but both types are given"):
        StackDataset(Squares(2), b=Squares(2))


def test_subset():
    sub = Subset(Squares(10), [3, 1, 4])
    assert len(sub) == 3 and [sub[i] for i in range(3)] == [9, 1, 16]
    assert sub.__getitems__([2, 0]) == [16, 9]
    tsub = Subset(TensorDataset(ember.arange(10)), [5, 6, 7])
    got = tsub.__getitems__([0, 2])
    assert [int(s[0]) for s in got] == [5, 7]

    class Bad(Subset):
        def __getitem__(self, i):
            return 0

    with pytest.raises(NotImplementedError, match="overrides __getitem__ but not __getitems__"):
        Bad(Squares(3), [0])


def test_random_split_lengths_and_generator():
    parts = random_split(range(10), [3, 7], generator=ember.Generator().manual_seed(42))
    again = random_split(range(10), [3, 7], generator=ember.Generator().manual_seed(42))
    assert [len(p) for p in parts] == [3, 7]
    assert [list(p) for p in parts] == [list(p) for p in again]
    assert sorted(list(parts[0]) + list(parts[1])) == list(range(10))
    ember.manual_seed(1)
    a = [list(p) for p in random_split(range(10), [5, 5])]
    ember.manual_seed(1)
    b = [list(p) for p in random_split(range(10), [5, 5])]
    assert a == b
    with pytest.raises(ValueError, match="Sum of input lengths does not equal"):
        random_split(range(10), [3, 3])


@pytest.mark.parametrize(
    "n,fracs",
    [(30, [0.3, 0.3, 0.4]), (11, [0.5, 0.5]), (7, [0.1, 0.9]), (5, [0.2, 0.2, 0.2, 0.2, 0.2])],
)
def test_random_split_fractions_sizes_match_torch(n, fracs):
    got = [len(p) for p in random_split(range(n), fracs)]
    want = [len(p) for p in tdata.random_split(range(n), fracs)]
    assert got == want


def test_random_split_fraction_errors_and_warning():
    with pytest.raises(ValueError, match="Fraction at index 0 is not between 0 and 1"):
        random_split(range(4), [-0.5, 1.5])
    with pytest.warns(UserWarning, match="Length of split at index 1 is 0"):
        random_split(range(2), [1.0, 0.0])


def test_random_split_numpy_array_roundtrip():
    data = np.arange(40, dtype=np.float32).reshape(20, 2)
    train, test = random_split(data, [0.75, 0.25], generator=ember.Generator().manual_seed(0))
    tr, te = np.array(train), np.array(test)
    assert tr.shape == (15, 2) and te.shape == (5, 2) and tr.dtype == np.float32
    np.testing.assert_array_equal(tr, data[train.indices])
    assert sorted(np.concatenate([tr, te])[:, 0].tolist()) == data[:, 0].tolist()
    assert np.array(train, dtype=np.float64).dtype == np.float64
    np.testing.assert_array_equal(np.array(Subset(Squares(5), [4, 2])), [16, 4])
