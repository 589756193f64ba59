"""The one-op training batch norm (ops/normalization.py) against torch."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import ember
from ember.ops import normalization as bnt

_MODS = {3: "BatchNorm1d", 4: "BatchNorm2d", 5: "BatchNorm3d"}


def _pair(shape, dtype, **kw):
    tm = getattr(torch.nn, _MODS[len(shape)])(shape[1], **kw)
    em = getattr(ember.nn, _MODS[len(shape)])(shape[1], **kw)
    if dtype == np.float64:
        tm, em = tm.double(), em.double()
    if kw.get("affine", True):
        rng = np.random.default_rng(7)
        w = rng.standard_normal(shape[1]).astype(dtype)
        b = rng.standard_normal(shape[1]).astype(dtype)
        with torch.no_grad():
            tm.weight.copy_(torch.tensor(w))
            tm.bias.copy_(torch.tensor(b))
        with ember.no_grad():
            em.weight.copy_(ember.tensor(w))
            em.bias.copy_(ember.tensor(b))
    return tm, em


def _spread(rng, shape):
    return rng.standard_normal(shape) * 3 + 2


def _check(shape, dtype, steps=2, inputs=_spread, **kw):
    tm, em = _pair(shape, dtype, **kw)
    tol = dict(rtol=1e-9, atol=1e-9) if dtype == np.float64 else dict(rtol=2e-4, atol=2e-4)
    rng = np.random.default_rng(0)
    for _ in range(steps):
        x = inputs(rng, shape).astype(dtype)
        gy = rng.standard_normal(shape).astype(dtype)
        tx, ex = torch.tensor(x, requires_grad=True), ember.tensor(x, requires_grad=True)
        ty, ey = tm(tx), em(ex)
        assert ey.grad_fn.name() == ty.grad_fn.name()
        ty.backward(torch.tensor(gy))
        ey.backward(ember.tensor(gy))
        np.testing.assert_allclose(ey.detach().numpy(), ty.detach().numpy(), **tol)
        np.testing.assert_allclose(ex.grad.numpy(), tx.grad.numpy(), **tol)
    for name, tv in tm.state_dict().items():
        np.testing.assert_allclose(em.state_dict()[name].numpy(), tv.numpy(), **tol)
    if kw.get("affine", True):
        for p in ("weight", "bias"):
            tg, eg = getattr(tm, p).grad.numpy(), getattr(em, p).grad.numpy()
            np.testing.assert_allclose(eg, tg, rtol=tol["rtol"], atol=tol["atol"] * 50)


@pytest.mark.parametrize("shape", [(4, 3, 5, 7), (16, 8, 12, 12), (2, 5, 9), (3, 4, 2, 3, 5)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("affine", [True, False])
def test_training_batch_norm_matches_torch(shape, dtype, affine):
    _check(shape, dtype, affine=affine)


def test_options_momentum_none_and_no_running_stats():
    _check((6, 4, 5, 5), np.float64, steps=3, momentum=None)
    _check((6, 4, 5, 5), np.float64, track_running_stats=False)


def test_many_small_blocks(monkeypatch):
    monkeypatch.setattr(bnt, "_BLOCK_BYTES", 1)  # one image per block
    _check((7, 3, 4, 6), np.float64)


def test_frozen_affine_parameters():
    tm, em = _pair((5, 3, 4, 4), np.float64)
    for m in (tm, em):
        m.weight.requires_grad_(False)
    x = np.random.default_rng(1).standard_normal((5, 3, 4, 4))
    tx, ex = torch.tensor(x, requires_grad=True), ember.tensor(x, requires_grad=True)
    tm(tx).pow(3).sum().backward()
    em(ex).pow(3).sum().backward()
    np.testing.assert_allclose(ex.grad.numpy(), tx.grad.numpy(), rtol=1e-9, atol=1e-9)
    assert em.weight.grad is None
    np.testing.assert_allclose(em.bias.grad.numpy(), tm.bias.grad.numpy(), rtol=1e-9)


def test_non_contiguous_input_takes_the_general_path():
    x = np.random.default_rng(2).standard_normal((4, 5, 6, 3)).transpose(0, 3, 1, 2)
    assert not bnt.eligible(x, None, None)
    tm, em = _pair((4, 3, 5, 6), np.float64)
    tx, ex = torch.tensor(x, requires_grad=True), ember.tensor(x, requires_grad=True)
    tm(tx).square().sum().backward()
    em(ex).square().sum().backward()
    np.testing.assert_allclose(ex.grad.numpy(), tx.grad.numpy(), rtol=1e-9, atol=1e-9)


def test_gradcheck_float64():
    rng = np.random.default_rng(3)
    x = ember.tensor(rng.standard_normal((3, 2, 4, 3)), requires_grad=True)
    w = ember.tensor(rng.standard_normal(2), requires_grad=True)
    b = ember.tensor(rng.standard_normal(2), requires_grad=True)

    def f(x, w, b):
        return ember.nn.functional.batch_norm(x, None, None, w, b, training=True)

    assert ember.autograd.gradcheck(f, (x, w, b), eps=1e-6, atol=1e-5)


@pytest.mark.parametrize("shape", [(3, 5, 7), (4, 6, 5, 3), (2, 3, 4, 5, 2), (40, 8, 30, 30)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("affine", [True, False])
def test_eval_batch_norm_without_graph_matches_torch(shape, dtype, affine):
    # evaluation mode under no_grad takes the one-pass kernel (threaded past 1 MiB)
    tm, em = _pair(shape, dtype, affine=affine)
    rng = np.random.default_rng(3)
    stats = rng.standard_normal((2, shape[1])).astype(dtype)
    for m, lib in ((tm, torch), (em, ember)):
        m.running_mean.copy_(lib.tensor(stats[0]))
        m.running_var.copy_(lib.tensor(np.abs(stats[1]) + 0.5))
        m.eval()
    x = rng.standard_normal(shape).astype(dtype)
    with torch.no_grad():
        ref = tm(torch.tensor(x)).numpy()
    with ember.no_grad():
        got = em(ember.tensor(x))
    assert got.grad_fn is None and got.dtype == em.running_mean.dtype
    tol = dict(rtol=1e-12, atol=1e-12) if dtype == np.float64 else dict(rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(got.numpy(), ref, **tol)
    # with a graph (input requiring grad), the differentiable path gives the same values
    ex = ember.tensor(x, requires_grad=True)
    y = em(ex)
    y.sum().backward()
    np.testing.assert_allclose(y.detach().numpy(), ref, **tol)
    tx = torch.tensor(x, requires_grad=True)
    tm(tx).sum().backward()
    np.testing.assert_allclose(ex.grad.numpy(), tx.grad.numpy(), **tol)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("offset", [1e3, 1.5, -2.5])  # the last two straddle the switch
def test_inputs_far_from_zero_mean(dtype, offset):
    """Inputs whose mean is far from zero relative to their spread take the two-pass centred
    statistics (the one-pass form would cancel); one channel far is enough."""

    def one_channel_off(rng, shape):
        x = rng.standard_normal(shape)
        x[:, 0] += offset
        return x

    _check((8, 3, 6, 6), dtype, inputs=one_channel_off)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("offset", [0.0, 1e3])  # the one-pass and the centred statistics
@pytest.mark.parametrize("shape", [(13, 6, 3, 3), (13, 3, 9, 9), (11, 5, 2)])
def test_many_blocks_short_and_long_rows(monkeypatch, shape, offset, dtype):
    """Small blocks (a few images each, a shorter last one, split over the threads) on both
    sides of _SHORT_ROWS: channels of fewer positions are summed over the images first."""
    monkeypatch.setattr(bnt, "_BLOCK_BYTES", 3 * shape[1] * int(np.prod(shape[2:])) * 8)
    monkeypatch.setattr(bnt, "_SUM_BLOCK_BYTES", bnt._BLOCK_BYTES)  # the sums' blocks too
    assert (np.prod(shape[2:]) < bnt._SHORT_ROWS) == (shape[2] != 9)

    def far(rng, shp):
        x = rng.standard_normal(shp)
        x[:, -1] += offset
        return x

    _check(shape, dtype, inputs=far)


def test_one_pass_statistics_stay_accurate_near_the_switch():
    """At the one-pass form's limit (mean = 2 standard deviations) float32 statistics still
    agree with float64 ones to a few parts in 10^6."""
    rng = np.random.default_rng(6)
    x = (rng.standard_normal((16, 4, 32, 32)) * 3 + 5.9).astype(np.float32)
    em = ember.nn.BatchNorm2d(4, affine=False, momentum=1.0)
    em(ember.tensor(x))
    var = x.astype(np.float64).var(axis=(0, 2, 3), ddof=1)
    np.testing.assert_allclose(em.running_var.numpy(), var, rtol=1e-5)


def test_input_changed_in_place_after_forward_raises_as_torch():
    for lib in (torch, ember):
        m = lib.nn.BatchNorm2d(3)
        x = lib.randn(4, 3, 5, 5, requires_grad=True)
        h = x * 1.0
        y = m(h)
        h.mul_(2)
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            y.sum().backward()


def test_tiny_maps_allocate_by_the_batch_not_the_block_limit():
    """The sums' blocks may span far more images than a batch holds: a 1x1 map's buffers are
    sized by the batch (the block limit once asked for a 1 GiB vector of ones)."""
    import tracemalloc

    m = ember.nn.BatchNorm2d(1)
    x = ember.randn(8, 1, 1, 1, requires_grad=True)
    tracemalloc.start()
    try:
        m(x).sum().backward()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 1 << 20
