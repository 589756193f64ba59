"""nn.AdaptiveLogSoftmaxWithLoss against torch: construction (same seed, same weights), state
dicts both ways, forward's (output, loss), log_prob, predict, gradients and errors."""

from __future__ import annotations

import numpy as np
import pytest

import ember
import ember.nn as enn
from tests._support.torch_ref import assert_same, torch

tnn = torch.nn

CONFIGS = [
    dict(in_features=16, n_classes=20, cutoffs=[4, 10, 15], div_value=2.0, head_bias=True),
    dict(in_features=8, n_classes=10, cutoffs=[3]),
    dict(in_features=5, n_classes=12, cutoffs=(2, 6, 9), div_value=4.0),  # a 0-wide hidden layer
]


def _pair(cfg, dtype="float32", seed=0):
    """ember's module and torch's, ember's weights copied from torch's state_dict."""
    torch.manual_seed(seed)
    t = tnn.AdaptiveLogSoftmaxWithLoss(**cfg, dtype=getattr(torch, dtype))
    e = enn.AdaptiveLogSoftmaxWithLoss(**cfg, dtype=getattr(ember, dtype))
    assert list(e.state_dict()) == list(t.state_dict())
    e.load_state_dict(t.state_dict())
    return e, t


def _inputs(n, cfg, dtype="float32", seed=1):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, cfg["in_features"])).astype(dtype)
    y = rng.integers(0, cfg["n_classes"], n)
    return x, y


def test_construction_matches_torch():
    for cfg in CONFIGS:
        ember.manual_seed(4)
        torch.manual_seed(4)
        e, t = enn.AdaptiveLogSoftmaxWithLoss(**cfg), tnn.AdaptiveLogSoftmaxWithLoss(**cfg)
        assert repr(e) == repr(t)
        se, st = e.state_dict(), t.state_dict()
        assert list(se) == list(st)
        for k in st:  # the same draws in the same order
            assert_same(se[k], st[k], 0, 0)
        for name in ("in_features", "n_classes", "cutoffs", "div_value", "head_bias"):
            assert getattr(e, name) == getattr(t, name)
        for name in ("shortlist_size", "n_clusters", "head_size"):
            assert getattr(e, name) == getattr(t, name)
        assert isinstance(e.head, enn.Linear) and isinstance(e.tail, enn.ModuleList)
        assert all(isinstance(s, enn.Sequential) for s in e.tail)


def test_state_dicts_load_both_ways():
    cfg = CONFIGS[0]
    e, t = _pair(cfg, seed=1)
    for k, v in t.state_dict().items():
        assert_same(e.state_dict()[k], v, 0, 0)
    ember.manual_seed(7)
    e2 = enn.AdaptiveLogSoftmaxWithLoss(**cfg)
    t.load_state_dict({k: torch.tensor(v.numpy()) for k, v in e2.state_dict().items()})
    for k, v in e2.state_dict().items():
        assert_same(v, t.state_dict()[k], 0, 0)
    with pytest.raises(RuntimeError, match="Missing key"):
        e.load_state_dict({k: v for k, v in t.state_dict().items() if k != "tail.1.0.weight"})


@pytest.mark.parametrize("cfg", CONFIGS)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_forward_log_prob_predict_and_gradients(cfg, dtype):
    e, t = _pair(cfg, dtype)
    x, y = _inputs(23, cfg, dtype)
    xe, xt = ember.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    oe, ot = e(xe, ember.tensor(y)), t(xt, torch.tensor(y))
    assert type(oe).__name__ == "_ASMoutput" and oe._fields == ("output", "loss")
    assert isinstance(oe, tuple)
    rtol, atol = (1e-5, 1e-6) if dtype == "float32" else (1e-12, 1e-12)
    assert_same(oe.output, ot.output, rtol, atol)
    assert_same(oe.loss, ot.loss, rtol, atol)
    w = np.random.default_rng(2).standard_normal(23).astype(dtype)
    ((oe.output * ember.tensor(w)).sum() + oe.loss).backward()
    ((ot.output * torch.tensor(w)).sum() + ot.loss).backward()
    assert_same(xe.grad, xt.grad, rtol, atol)
    te = dict(t.named_parameters())
    for name, p in e.named_parameters():
        assert_same(p.grad, te[name].grad, rtol, atol)
    assert_same(e.log_prob(xe), t.log_prob(xt), rtol, atol)
    assert_same(e.predict(xe), t.predict(xt))


def test_targets_in_some_clusters_only_and_batch_of_one():
    cfg = CONFIGS[0]
    e, t = _pair(cfg)
    x, _ = _inputs(6, cfg)
    for y in ([0, 1, 2, 3, 0, 1], [16, 19, 17, 18, 16, 15], [5, 0, 19, 5, 5, 0], [11]):
        n = len(y)
        xe, xt = ember.tensor(x[:n], requires_grad=True), torch.tensor(x[:n], requires_grad=True)
        oe, ot = e(xe, ember.tensor(y)), t(xt, torch.tensor(y))
        assert_same(oe.output, ot.output)
        assert_same(oe.loss, ot.loss)
        oe.loss.backward()
        ot.loss.backward()
        assert_same(xe.grad, xt.grad)


def test_unbatched_input():
    cfg = CONFIGS[0]
    e, t = _pair(cfg)
    x, _ = _inputs(1, cfg)
    for y in (2, 12, 19):
        oe = e(ember.tensor(x[0]), ember.tensor(y))
        ot = t(torch.tensor(x[0]), torch.tensor(y))
        assert tuple(oe.output.shape) == () == tuple(ot.output.shape)
        assert_same(oe.output, ot.output)
        assert_same(oe.loss, ot.loss)


def test_predict_paths():
    """Rows whose head prefers the shortlist, rows that need the clusters, and a mix."""
    cfg = CONFIGS[0]
    e, t = _pair(cfg)
    x, _ = _inputs(12, cfg)
    for bias, far in (
        ([5.0] * 4 + [-5.0] * 3, 0),  # every row in the shortlist
        ([-5.0] * 4 + [5.0] * 3, 12),  # every row in a cluster
        ([0.0] * 7, 6),  # a mix
    ):
        with torch.no_grad():
            t.head.bias.copy_(torch.tensor(bias))
        e.load_state_dict(t.state_dict())
        assert int((e.head(ember.tensor(x)).argmax(1) >= 4).sum()) == far
        pe, pt = e.predict(ember.tensor(x)), t.predict(torch.tensor(x))
        assert_same(pe, pt)
        np.testing.assert_array_equal(pe.numpy(), e.log_prob(ember.tensor(x)).argmax(1).numpy())


def _same_error(efn, tfn):
    with pytest.raises(Exception) as te:
        tfn()
    with pytest.raises(type(te.value)) as ee:
        efn()
    assert str(ee.value) == str(te.value)


@pytest.mark.parametrize(
    "cutoffs",
    [[], [5, 3], [3, 3], [0, 4], [4, 10], [4, 11], [2.5], [-1, 3]],
)
def test_bad_cutoffs_as_torch(cutoffs):
    _same_error(
        lambda: enn.AdaptiveLogSoftmaxWithLoss(8, 10, cutoffs),
        lambda: tnn.AdaptiveLogSoftmaxWithLoss(8, 10, cutoffs),
    )


def test_bad_inputs_and_targets_as_torch():
    cfg = CONFIGS[0]
    e, t = _pair(cfg)
    x, y = _inputs(5, cfg)
    cases = [
        (x, y[:4]),  # batch sizes differ
        (x[None], y),  # 3-D input for a 1-D target... batch dim 1 != 5
        (x[None, :, :].repeat(5, 0), y),  # 3-D input, equal batch
        (x[0], y),  # 1-D input, 1-D target
        (x, np.int64(3)),  # 0-D target, 2-D input
        (x, y[None]),  # 2-D target
        (x, np.array([0, 1, 20, 2, 3])),  # out of range
        (x, np.array([0, -1, 3, 2, 19])),
        (x[0], np.int64(25)),
    ]
    for xi, yi in cases:
        _same_error(
            lambda xi=xi, yi=yi: e(ember.tensor(xi), ember.tensor(yi)),
            lambda xi=xi, yi=yi: t(torch.tensor(xi), torch.tensor(yi)),
        )
