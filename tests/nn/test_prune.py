"""nn.utils.prune against torch: masks, state_dict keys, hooks, gradients, removal, errors."""

from __future__ import annotations

import numpy as np
import pytest

import ember
import ember.nn.utils.prune as EP
from tests._support.torch_ref import assert_same, torch

TP = pytest.importorskip("torch.nn.utils.prune")


def _pair(kind="linear", seed=0):
    rng = np.random.default_rng(seed)
    if kind == "linear":
        e, t = ember.nn.Linear(5, 4), torch.nn.Linear(5, 4)
    else:
        e, t = ember.nn.Conv2d(3, 6, 2), torch.nn.Conv2d(3, 6, 2)
    # distinct magnitudes: no ties, so both pick the same entries
    w = rng.permutation(np.arange(1, e.weight.numel() + 1)).astype(np.float32)
    w = (w * rng.choice([-1, 1], w.size)).reshape(tuple(e.weight.shape)) / (10 + seed / 7)
    with ember.no_grad():
        e.weight.copy_(ember.tensor(w))
    t.load_state_dict({k: torch.tensor(v.numpy()) for k, v in e.state_dict().items()})
    return e, t


def _same_module(e, t, shape):
    assert list(e.state_dict()) == list(t.state_dict())
    assert [k for k, _ in e.named_parameters()] == [k for k, _ in t.named_parameters()]
    for k, v in t.state_dict().items():
        assert_same(e.state_dict()[k], v)
    a = np.random.default_rng(9).standard_normal(shape).astype(np.float32)
    xe, xt = ember.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    e(xe).pow(2).sum().backward()
    t(xt).pow(2).sum().backward()
    assert_same(xe.grad, xt.grad, 1e-4, 1e-3)
    for (_k, p), (_, q) in zip(e.named_parameters(), t.named_parameters()):
        assert_same(p.grad, q.grad, 1e-4, 1e-3)


def test_l1_then_ln_structured_then_remove_like_torch():
    e, t = _pair("conv")
    EP.l1_unstructured(e, "weight", amount=0.3)
    TP.l1_unstructured(t, "weight", amount=0.3)
    assert EP.is_pruned(e)
    _same_module(e, t, (2, 3, 4, 4))
    EP.ln_structured(e, "weight", amount=2, n=2, dim=0)
    TP.ln_structured(t, "weight", amount=2, n=2, dim=0)
    assert type(e._forward_pre_hooks[next(iter(e._forward_pre_hooks))]).__name__ == (
        "PruningContainer"
    )
    e.zero_grad()
    t.zero_grad()
    _same_module(e, t, (2, 3, 4, 4))
    EP.l1_unstructured(e, "bias", amount=1)
    TP.l1_unstructured(t, "bias", amount=1)
    e.zero_grad()
    t.zero_grad()
    _same_module(e, t, (2, 3, 4, 4))
    EP.remove(e, "weight")
    TP.remove(t, "weight")
    assert isinstance(e.weight, ember.nn.Parameter)
    e.zero_grad()
    t.zero_grad()
    _same_module(e, t, (2, 3, 4, 4))


def test_importance_scores_identity_custom_mask():
    e, t = _pair()
    s = np.random.default_rng(3).permutation(20).reshape(4, 5).astype(np.float32)
    EP.l1_unstructured(e, "weight", 7, importance_scores=ember.tensor(s))
    TP.l1_unstructured(t, "weight", 7, importance_scores=torch.tensor(s))
    _same_module(e, t, (3, 5))
    e, t = _pair()
    EP.identity(e, "bias")
    TP.identity(t, "bias")
    m = (np.arange(20).reshape(4, 5) % 3 == 0).astype(np.float32)
    EP.custom_from_mask(e, "weight", ember.tensor(m))
    TP.custom_from_mask(t, "weight", torch.tensor(m))
    _same_module(e, t, (3, 5))


def test_global_unstructured_like_torch():
    (e1, t1), (e2, t2) = _pair(seed=1), _pair(seed=2)
    EP.l1_unstructured(e1, "weight", 3)
    TP.l1_unstructured(t1, "weight", 3)
    EP.global_unstructured(
        [(e1, "weight"), (e2, "weight"), (e2, "bias")], EP.L1Unstructured, amount=0.4
    )
    TP.global_unstructured(
        [(t1, "weight"), (t2, "weight"), (t2, "bias")], TP.L1Unstructured, amount=0.4
    )
    _same_module(e1, t1, (3, 5))
    _same_module(e2, t2, (3, 5))
    with pytest.raises(TypeError, match='Only "unstructured" PRUNING_TYPE'):
        EP.global_unstructured([(e1, "weight")], EP.LnStructured, amount=1, n=2, dim=0)


def test_random_pruning_counts():
    m = ember.nn.Linear(5, 4)
    EP.random_unstructured(m, "weight", amount=0.25)
    assert int(m.weight_mask.sum()) == 15
    EP.random_unstructured(m, "weight", amount=5)
    assert int(m.weight_mask.sum()) == 10
    assert ((m.weight == 0) | (m.weight_mask == 1)).all()
    c = ember.nn.Conv2d(2, 6, 3)
    EP.random_structured(c, "weight", amount=2, dim=0)
    per_channel = c.weight_mask.sum((1, 2, 3))
    assert sorted(per_channel.tolist()) == [0, 0, 18, 18, 18, 18]


def test_errors_like_torch():
    for amount in (1.5, -1, "x", 40):
        with pytest.raises((TypeError, ValueError)) as te:
            TP.l1_unstructured(torch.nn.Linear(5, 4), "weight", amount)
        with pytest.raises((TypeError, ValueError)) as ee:
            EP.l1_unstructured(ember.nn.Linear(5, 4), "weight", amount)
        assert type(ee.value) is type(te.value)
        assert str(ee.value) == str(te.value)
    e, t = ember.nn.Linear(2, 2), torch.nn.Linear(2, 2)
    with pytest.raises(ValueError) as te:
        TP.remove(t, "weight")
    with pytest.raises(ValueError) as ee:
        EP.remove(e, "weight")
    assert str(ee.value) == str(te.value)
    assert not EP.is_pruned(e)
    # a failed pruning leaves the module as it was
    assert list(e.state_dict()) == ["weight", "bias"]
