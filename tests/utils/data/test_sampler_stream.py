"""Samplers, random_split and the DataLoader's seeds: after the same manual_seed, ember visits the
indices torch visits, in torch's order, and leaves the generators where torch leaves them."""

from __future__ import annotations

import random

import numpy as np
import pytest

import ember
from ember.utils import data as edata
from tests._support.same_stream import assert_streams_aligned, run_both
from tests._support.torch_ref import torch

tdata = torch.utils.data


def _gens(seed):
    return ember.Generator().manual_seed(seed), torch.Generator().manual_seed(seed)


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"num_samples": 7},
        {"num_samples": 10},  # a whole pass: torch still draws (and drops) one more permutation
        {"num_samples": 23},
        {"replacement": True},
        {"replacement": True, "num_samples": 31},
        {"replacement": True, "num_samples": 32},
        {"replacement": True, "num_samples": 100},
    ],
)
def test_random_sampler_global(kwargs):
    """Without a generator each epoch seeds a fresh one from one global draw."""
    run_both(
        lambda: [list(edata.RandomSampler(range(10), **kwargs)) for _ in range(2)],
        lambda: [list(tdata.RandomSampler(range(10), **kwargs)) for _ in range(2)],
        seed=kwargs.get("num_samples", 1),
    )


@pytest.mark.parametrize("n", [1, 5, 33, 1000])
@pytest.mark.parametrize("replacement", [False, True])
def test_random_sampler_generator(n, replacement):
    ge, gt = _gens(n)
    kw = {"replacement": replacement, "num_samples": 2 * n + 3}
    run_both(
        lambda: [list(edata.RandomSampler(range(n), generator=ge, **kw)) for _ in range(2)],
        lambda: [list(tdata.RandomSampler(range(n), generator=gt, **kw)) for _ in range(2)],
        seed=0,
    )
    assert_streams_aligned((ge, gt))


def test_subset_and_weighted_samplers():
    idx = [3, 9, 11, 20, 21, 40, 41]
    w = [0.1, 0.9, 0.4, 0.7, 3.0, 0.6, 0.0, 2.5]

    def run(d, g):
        return [
            list(d.SubsetRandomSampler(idx)),
            list(d.SubsetRandomSampler(idx, generator=g)),
            list(d.WeightedRandomSampler(w, 20)),
            list(d.WeightedRandomSampler(w, 5, replacement=False)),
            list(d.WeightedRandomSampler(w, 7, replacement=False, generator=g)),
        ]

    ge, gt = _gens(5)
    run_both(lambda: run(edata, ge), lambda: run(tdata, gt), seed=12)
    assert_streams_aligned((ge, gt))


@pytest.mark.parametrize("lengths", [[3, 5, 2], [0.5, 0.3, 0.2], [0.33, 0.33, 0.34]])
def test_random_split(lengths):
    def run(d, lib):
        parts = [list(s.indices) for s in d.random_split(range(10), lengths)]
        g = lib.Generator().manual_seed(42)
        parts += [list(s.indices) for s in d.random_split(range(10), lengths, generator=g)]
        return parts

    run_both(lambda: run(edata, ember), lambda: run(tdata, torch), seed=3)


@pytest.mark.parametrize("drop_last", [False, True])
def test_distributed_sampler(drop_last):
    def run(d):
        out = []
        for rank in range(3):
            s = d.DistributedSampler(
                range(11), num_replicas=3, rank=rank, seed=5, drop_last=drop_last
            )
            for epoch in range(2):
                s.set_epoch(epoch)
                out.append(list(s))
        return out

    run_both(lambda: run(edata), lambda: run(tdata), seed=0)


def _batches(lib, **kw):
    x = lib.arange(40, dtype=lib.float32).reshape(20, 2)
    y = lib.arange(20)
    loader = lib.utils.data.DataLoader(lib.utils.data.TensorDataset(x, y), **kw)
    return [[b for b in loader] for _ in range(2)]


@pytest.mark.parametrize(
    "kw",
    [
        {"batch_size": 4, "shuffle": True},
        {"batch_size": 3, "shuffle": True, "drop_last": True},
        {"batch_size": 5, "shuffle": False},  # draws only the base seed, every epoch
        {"batch_size": 4, "sampler_kw": {"replacement": True, "num_samples": 37}},
    ],
)
def test_dataloader_batches_and_stream(kw):
    """The base seed is drawn from the global stream each epoch, then the shuffle's seed: the
    batches and the stream after two epochs are torch's."""
    kw = dict(kw)
    skw = kw.pop("sampler_kw", None)

    def run(lib):
        extra = {}
        if skw is not None:
            n = 20
            extra["sampler"] = lib.utils.data.RandomSampler(range(n), **skw)
        return _batches(lib, **kw, **extra)

    run_both(lambda: run(ember), lambda: run(torch), seed=17)


def test_dataloader_generator():
    """A loader's own generator feeds both the base seed and the shuffle; the global stream is
    untouched."""
    ge, gt = _gens(99)
    run_both(
        lambda: _batches(ember, batch_size=6, shuffle=True, generator=ge),
        lambda: _batches(torch, batch_size=6, shuffle=True, generator=gt),
        seed=2,
    )
    assert_streams_aligned((ge, gt))


def test_base_seed_is_torchs():
    ember.manual_seed(123)
    torch.manual_seed(123)
    e = iter(ember.utils.data.DataLoader(range(4)))
    t = iter(torch.utils.data.DataLoader(range(4)))
    assert e._base_seed == t._base_seed
    assert_streams_aligned()


class _Seeds:
    """Each item: the worker's seed as torch reports it, its generator's first draw and NumPy's."""

    def __init__(self, lib):
        self.lib = lib

    def __len__(self):
        return 4

    def __getitem__(self, i):
        info = self.lib.utils.data.get_worker_info()
        return [
            info.id,
            info.seed,
            self.lib.initial_seed(),
            float(self.lib.rand(1)[0]),
            int(np.random.randint(0, 2**31)),
        ]


def _worker_seeds(lib):
    loader = lib.utils.data.DataLoader(
        _Seeds(lib), batch_size=None, num_workers=2, shuffle=True, multiprocessing_context="fork"
    )
    rows = [[int(v) if not isinstance(v, float) else v for v in r] for r in loader]
    return sorted(rows)


def test_worker_seeds():
    """Inside workers: seed = base_seed + worker_id, initial_seed() and the first draws of the
    worker's generator and of np.random are torch's."""
    ember.manual_seed(7)
    torch.manual_seed(7)
    assert _worker_seeds(ember) == _worker_seeds(torch)
    assert_streams_aligned()


class _Draws:
    """Each item: the worker id, and one draw each from Python's random, np.random and the
    library's global generator."""

    def __init__(self, lib):
        self.lib = lib

    def __len__(self):
        return 6

    def __getitem__(self, i):
        info = self.lib.utils.data.get_worker_info()
        return [info.id, random.random(), float(np.random.rand()), float(self.lib.rand(1)[0])]


def _seed_worker_from_initial_seed(worker_id):
    """torch's documented reproducibility pattern: seed NumPy and random from initial_seed()."""
    lib = ember if ember.utils.data.get_worker_info() is not None else torch  # this worker's
    seed = lib.initial_seed() % 2**32
    np.random.seed(seed)
    random.seed(seed)


def test_worker_init_fn_pattern():
    """DataLoader(generator=g, worker_init_fn=seed_worker) as in torch's reproducibility notes:
    every worker draws what it draws under torch."""

    def run(lib):
        g = lib.Generator().manual_seed(0)
        loader = lib.utils.data.DataLoader(
            _Draws(lib),
            batch_size=None,
            num_workers=2,
            shuffle=True,
            generator=g,
            worker_init_fn=_seed_worker_from_initial_seed,
            multiprocessing_context="fork",
        )
        return sorted([int(r[0]), *map(float, r[1:])] for r in loader)

    ember.manual_seed(3)
    torch.manual_seed(3)
    assert run(ember) == run(torch)
    assert_streams_aligned()
