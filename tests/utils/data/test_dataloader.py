"""DataLoader in the main process (num_workers=0): batches, options and errors as torch's."""

from __future__ import annotations

import numpy as np
import pytest
import torch.utils.data as tdata

import ember
from ember.utils.data import BatchSampler, DataLoader, SequentialSampler, TensorDataset
from tests._support.datasets import (
    BatchedDataset,
    RangeDataset,
    ShardedIterable,
    check_same,
    flat,
    torch_sharded,
)
from tests._support.torch_ref import torch


@pytest.mark.parametrize(
    "kw",
    [
        {},
        {"batch_size": 3},
        {"batch_size": 3, "drop_last": True},
        {"batch_size": None},
        {"batch_size": 4, "sampler": [5, 1, 2, 9, 0]},
        {"batch_sampler": [[1, 2], [0], [9, 8, 7]]},
        {"batch_size": 2, "collate_fn": lambda b: len(b)},
    ],
)
def test_map_batches_match_torch(kw):
    ds = RangeDataset(10)
    e = list(DataLoader(ds, **kw))
    t = list(tdata.DataLoader(ds, **kw))
    check_same(e, t)
    assert len(DataLoader(ds, **kw)) == len(tdata.DataLoader(ds, **kw))


@pytest.mark.parametrize(
    "kw", [{}, {"batch_size": 4}, {"batch_size": 4, "drop_last": True}, {"batch_size": None}]
)
def test_iterable_batches_match_torch(kw):
    ds, tds = ShardedIterable(3, 17), torch_sharded(3, 17)
    check_same(list(DataLoader(ds, **kw)), list(tdata.DataLoader(tds, **kw)))
    assert len(DataLoader(ds, **kw)) == len(tdata.DataLoader(tds, **kw))


def test_tensor_dataset_batches_match_torch():
    x = ember.randn(50, 7)
    y = ember.randint(0, 3, (50,))
    tx, ty = torch.from_numpy(x.numpy()), torch.from_numpy(y.numpy())
    e = list(DataLoader(TensorDataset(x, y), batch_size=8))
    t = list(tdata.DataLoader(tdata.TensorDataset(tx, ty), batch_size=8))
    check_same(e, t)
    # batch_size=None yields single samples, converted as torch does
    check_same(
        list(DataLoader(TensorDataset(x, y), batch_size=None))[:3],
        list(tdata.DataLoader(tdata.TensorDataset(tx, ty), batch_size=None))[:3],
    )


def test_batched_fetch_calls_getitems_once_per_batch():
    ds = BatchedDataset(10)
    out = list(DataLoader(ds, batch_size=4))
    assert ds.calls == 3
    assert [b[0].tolist() for b in out] == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    assert out[0][1].dtype == ember.float64


def test_shuffle_reproducible_and_complete():
    ds = RangeDataset(20)

    def order(**kw):
        return [
            v for b in DataLoader(ds, batch_size=6, shuffle=True, **kw) for v in b[0][:, 0].tolist()
        ]

    ember.manual_seed(5)
    a = order()
    ember.manual_seed(5)
    assert order() == a
    assert sorted(a) == list(range(20)) and a != sorted(a)
    g = ember.Generator()
    g.manual_seed(1)
    b = order(generator=g)
    g.manual_seed(1)
    assert order(generator=g) == b
    loader = DataLoader(ds, batch_size=6, shuffle=True)
    assert flat(loader) != flat(loader)  # reshuffled every epoch


def test_loader_attributes():
    ds = RangeDataset(5)
    loader = DataLoader(ds, batch_size=2)
    assert loader.dataset is ds and loader.batch_size == 2 and loader.num_workers == 0
    assert isinstance(loader.sampler, SequentialSampler)
    assert isinstance(loader.batch_sampler, BatchSampler)
    with pytest.raises(
        ValueError, match="batch_size attribute should not be set after DataLoader is initialized"
    ):
        loader.batch_size = 3
    loader.num_workers = 0  # other attributes may change


def test_pin_memory():
    out = next(iter(DataLoader(RangeDataset(4), batch_size=2, pin_memory=True)))
    assert out[0].shape == (2, 4) and out[0].dtype == ember.float32


BAD_ARGS = [
    ({"num_workers": -1}, False),
    ({"timeout": -1}, False),
    ({"prefetch_factor": 2}, False),
    ({"num_workers": 1, "prefetch_factor": -1}, False),
    ({"persistent_workers": True}, False),
    ({"shuffle": True, "sampler": [0, 1]}, False),
    ({"batch_sampler": [[0]], "batch_size": 2}, False),
    ({"batch_sampler": [[0]], "shuffle": True}, False),
    ({"batch_sampler": [[0]], "drop_last": True}, False),
    ({"batch_size": None, "drop_last": True}, False),
    ({"multiprocessing_context": "spawn"}, False),
    ({"num_workers": 1, "multiprocessing_context": "nope"}, False),
    ({"num_workers": 1, "multiprocessing_context": 3}, False),
    ({"shuffle": True}, True),
    ({"sampler": [0]}, True),
    ({"batch_sampler": [[0]]}, True),
]


@pytest.mark.parametrize("kw,iterable", BAD_ARGS)
def test_argument_errors_match_torch(kw, iterable):
    ds = ShardedIterable(0, 4) if iterable else RangeDataset(4)
    tds = torch_sharded(0, 4) if iterable else ds
    with pytest.raises((ValueError, TypeError)) as te:
        tdata.DataLoader(tds, **kw)
    with pytest.raises(te.type) as ee:
        DataLoader(ds, **kw)
    assert str(ee.value) == str(te.value)


def test_numpy_dataset_split_and_load():
    data = np.arange(24, dtype=np.float32).reshape(12, 2)
    from ember.utils.data import random_split

    train, _ = random_split(data, [0.5, 0.5])
    batches = list(DataLoader(train, batch_size=3))
    assert len(batches) == 2 and batches[0].shape == (3, 2) and batches[0].dtype == ember.float32


def test_tensor_dataset_subclass_getitem_is_respected():
    class Doubled(TensorDataset):
        def __getitem__(self, i):
            (x,) = super().__getitem__(i)
            return x * 2

    out = list(DataLoader(Doubled(ember.arange(6)), batch_size=4))
    assert [b.tolist() for b in out] == [[0, 2, 4, 6], [8, 10]]


def test_tensor_dataset_batch_index_error_as_torch():
    ds = TensorDataset(ember.arange(4))
    tds = tdata.TensorDataset(torch.arange(4))
    with pytest.raises(IndexError) as te:
        list(tdata.DataLoader(tds, sampler=[0, 9], batch_size=2))
    with pytest.raises(IndexError) as ee:
        list(DataLoader(ds, sampler=[0, 9], batch_size=2))
    assert str(ee.value) == str(te.value)
