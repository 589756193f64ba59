"""Samplers (and DistributedSampler) against torch.utils.data's."""

from __future__ import annotations

import pytest
import torch.utils.data as tdata

import ember
from ember.utils.data import (
    BatchSampler,
    DistributedSampler,
    RandomSampler,
    SequentialSampler,
    SubsetRandomSampler,
    WeightedRandomSampler,
)
from tests._support.torch_ref import torch


def test_sequential():
    assert list(SequentialSampler(range(5))) == list(tdata.SequentialSampler(range(5)))
    assert len(SequentialSampler(range(5))) == 5


def test_random_permutation_and_reproducible():
    s = RandomSampler(range(20))
    out = list(s)
    assert sorted(out) == list(range(20)) and len(s) == 20
    ember.manual_seed(3)
    a = list(RandomSampler(range(20)))
    ember.manual_seed(3)
    b = list(RandomSampler(range(20)))
    assert a == b
    g1, g2 = ember.Generator().manual_seed(7), ember.Generator().manual_seed(7)
    assert list(RandomSampler(range(20), generator=g1)) == list(
        RandomSampler(range(20), generator=g2)
    )
    assert list(s) != list(s)  # a new order each epoch


def test_random_num_samples_and_replacement():
    s = RandomSampler(range(5), num_samples=12)
    out = list(s)
    assert len(out) == len(s) == 12
    assert sorted(out[:5]) == list(range(5)) and sorted(out[5:10]) == list(range(5))
    r = list(RandomSampler(range(3), replacement=True, num_samples=5000))
    assert len(r) == 5000 and set(r) == {0, 1, 2}


def test_random_errors_match_torch():
    for kw, exc in [
        ({"replacement": 1}, TypeError),
        ({"num_samples": 0}, ValueError),
        ({"num_samples": 1.5}, ValueError),
    ]:
        with pytest.raises(exc) as te:
            tdata.RandomSampler(range(3), **kw)
        with pytest.raises(exc) as ee:
            RandomSampler(range(3), **kw)
        assert str(ee.value) == str(te.value)


def test_subset_random():
    idx = [10, 20, 30, 40]
    s = SubsetRandomSampler(idx, generator=ember.Generator().manual_seed(0))
    out = list(s)
    assert sorted(out) == idx and len(s) == 4


def test_weighted():
    s = WeightedRandomSampler([0.0, 1.0, 0.0, 3.0], 400)
    out = list(s)
    assert len(out) == len(s) == 400 and set(out) == {1, 3}
    assert 0.6 < out.count(3) / 400 < 0.9
    w = list(WeightedRandomSampler([0.1, 0.9, 0.4, 0.7, 3.0, 0.6], 6, replacement=False))
    assert sorted(w) == list(range(6))
    for args, kw in [(([1.0], 0), {}), (([1.0], 1), {"replacement": 1}), (([[1.0]], 1), {})]:
        with pytest.raises(ValueError) as te:
            tdata.WeightedRandomSampler(*args, **kw)
        with pytest.raises(ValueError) as ee:
            WeightedRandomSampler(*args, **kw)
        assert str(ee.value) == str(te.value)


@pytest.mark.parametrize(
    "n,bs,drop", [(10, 3, False), (10, 3, True), (9, 3, True), (2, 5, False), (2, 5, True)]
)
def test_batch_sampler_matches_torch(n, bs, drop):
    e = BatchSampler(SequentialSampler(range(n)), bs, drop)
    t = tdata.BatchSampler(tdata.SequentialSampler(range(n)), bs, drop)
    assert list(e) == list(t) and len(e) == len(t)


def test_batch_sampler_errors_match_torch():
    for args in [(range(3), 0, False), (range(3), True, False), (range(3), 2, 1)]:
        with pytest.raises(ValueError) as te:
            tdata.BatchSampler(*args)
        with pytest.raises(ValueError) as ee:
            BatchSampler(*args)
        assert str(ee.value) == str(te.value)


@pytest.mark.parametrize(
    "n,reps,drop", [(10, 3, False), (10, 3, True), (2, 5, False), (12, 4, False), (11, 4, True)]
)
def test_distributed_no_shuffle_matches_torch(n, reps, drop):
    for rank in range(reps):
        e = DistributedSampler(range(n), reps, rank, shuffle=False, drop_last=drop)
        t = tdata.DistributedSampler(range(n), reps, rank, shuffle=False, drop_last=drop)
        assert list(e) == list(t) and len(e) == len(t)
        assert e.total_size == t.total_size


def test_distributed_shuffle_partitions_and_epochs():
    n, reps = 23, 4
    parts = [list(DistributedSampler(range(n), reps, r, seed=5)) for r in range(reps)]
    flat = [i for p in parts for i in p]
    assert len(flat) == 24 and set(flat) == set(range(n))  # one index padded
    again = [list(DistributedSampler(range(n), reps, r, seed=5)) for r in range(reps)]
    assert parts == again
    s = DistributedSampler(range(n), reps, 0, seed=5)
    e0 = list(s)
    s.set_epoch(1)
    assert list(s) != e0 and s.epoch == 1
    s.set_epoch(0)
    assert list(s) == e0


def test_distributed_errors():
    with pytest.raises(ValueError, match=r"Invalid rank 3, rank should be in the interval"):
        DistributedSampler(range(4), 3, 3)
    with pytest.raises(ValueError, match="Invalid rank -1"):
        DistributedSampler(range(4), 3, -1)
    assert torch is not None
