"""Loss functions and modules against torch: values, reductions, gradients, errors."""

from __future__ import annotations

import numpy as np
import pytest

import ember
import ember.nn as nn
import ember.nn.functional as F
from tests._support.torch_ref import assert_same, torch

TF = torch.nn.functional
RED = ["mean", "sum", "none"]


def _leaf(a):
    return ember.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)


def _grad_check(ye, yt, pairs, rtol=1e-5, atol=1e-6):
    assert_same(ye, yt, rtol, atol)
    if ye.ndim:
        g = (
            np.random.default_rng(3)
            .standard_normal(tuple(yt.shape))
            .astype(yt.detach().numpy().dtype)
        )
        ye.backward(ember.tensor(g))
        yt.backward(torch.tensor(g))
    else:
        ye.backward()
        yt.backward()
    for a, b in pairs:
        assert_same(a.grad, b.grad, rtol, atol)


rng = np.random.default_rng(0)


@pytest.mark.parametrize("red", RED)
def test_mse_l1(red):
    for fe, ft in ((F.mse_loss, TF.mse_loss), (F.l1_loss, TF.l1_loss)):
        xe, xt = _leaf(rng.standard_normal((4, 3)).astype(np.float32))
        te, tt = _leaf(rng.standard_normal((4, 3)).astype(np.float32))
        _grad_check(fe(xe, te, reduction=red), ft(xt, tt, reduction=red), [(xe, xt), (te, tt)])


def test_mse_broadcast_warns():
    xe, xt = _leaf(rng.standard_normal((4, 1)).astype(np.float32))
    te = ember.tensor(rng.standard_normal(4).astype(np.float32))
    with pytest.warns(UserWarning, match="different to the input size"):
        ye = F.mse_loss(xe, te)
    with pytest.warns(UserWarning):
        yt = TF.mse_loss(xt, torch.tensor(te.numpy()))
    _grad_check(ye, yt, [(xe, xt)])


@pytest.mark.parametrize("red", RED)
@pytest.mark.parametrize("smooth", [0.0, 0.15])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("shape", [(5, 4), (3, 4, 2, 2), (4,)])
def test_cross_entropy_indices(shape, weighted, smooth, red):
    x = rng.standard_normal(shape).astype(np.float32)
    C = shape[1] if len(shape) > 1 else shape[0]
    tshape = (shape[0],) + shape[2:] if len(shape) > 1 else ()
    t = rng.integers(0, C, tshape)
    if len(shape) > 1:
        t.reshape(-1)[0] = -100  # one ignored target
    w = rng.uniform(0.5, 2, C).astype(np.float32) if weighted else None
    xe, xt = _leaf(x)
    kw = dict(reduction=red, label_smoothing=smooth)
    ye = F.cross_entropy(xe, ember.tensor(t), None if w is None else ember.tensor(w), **kw)
    yt = TF.cross_entropy(xt, torch.tensor(t), None if w is None else torch.tensor(w), **kw)
    _grad_check(ye, yt, [(xe, xt)], 1e-5, 1e-6)


@pytest.mark.parametrize("red", RED)
@pytest.mark.parametrize("smooth", [0.0, 0.2])
def test_cross_entropy_probs(red, smooth):
    x = rng.standard_normal((5, 3, 2)).astype(np.float32)
    p = rng.uniform(0, 1, (5, 3, 2)).astype(np.float32)
    p /= p.sum(1, keepdims=True)
    w = rng.uniform(0.5, 2, 3).astype(np.float32)
    xe, xt = _leaf(x)
    pe, pt = _leaf(p)
    ye = F.cross_entropy(xe, pe, ember.tensor(w), reduction=red, label_smoothing=smooth)
    yt = TF.cross_entropy(xt, pt, torch.tensor(w), reduction=red, label_smoothing=smooth)
    _grad_check(ye, yt, [(xe, xt), (pe, pt)])


def test_cross_entropy_huge_logits():
    x = np.array([[1e4, 0, -1e4], [0, 1e4, 3]], np.float32)
    xe, xt = _leaf(x)
    ye = F.cross_entropy(xe, ember.tensor([1, 1]))
    yt = TF.cross_entropy(xt, torch.tensor([1, 1]))
    assert np.isfinite(ye.item())
    _grad_check(ye, yt, [(xe, xt)])


def test_cross_entropy_gradcheck():
    x = ember.randn(4, 3, dtype=ember.float64, requires_grad=True)
    t = ember.tensor([0, 2, 1, -100])
    w = ember.tensor([0.5, 1.0, 2.0], dtype=ember.float64)
    assert ember.autograd.gradcheck(lambda x: F.cross_entropy(x, t, w, label_smoothing=0.1), (x,))
    p = F.softmax(ember.randn(4, 3, dtype=ember.float64), 1)
    assert ember.autograd.gradcheck(lambda x: F.cross_entropy(x, p), (x,))


def test_cross_entropy_errors():
    with pytest.raises(ValueError, match=r"Expected input batch_size \(3\) to match target"):
        F.cross_entropy(ember.zeros(3, 4), ember.tensor([0, 1]))
    with pytest.raises(IndexError, match="Target 7 is out of bounds."):
        F.cross_entropy(ember.zeros(3, 4), ember.tensor([0, 1, 7]))
    with pytest.raises(RuntimeError, match=r"Expected target size \[3, 5\], got \[3, 6\]"):
        F.cross_entropy(ember.zeros(3, 4, 5), ember.zeros(3, 6, dtype=ember.long))
    with pytest.raises(RuntimeError, match="expected target dtype to be Long"):
        F.cross_entropy(ember.zeros(3, 4), ember.tensor([0, 1, 2], dtype=ember.int32))


@pytest.mark.parametrize("red", RED)
def test_nll(red):
    x = np.log(rng.uniform(0.1, 1, (6, 4))).astype(np.float32)
    t = np.array([0, 3, 1, -100, 2, 2])
    w = rng.uniform(0.5, 2, 4).astype(np.float32)
    xe, xt = _leaf(x)
    ye = F.nll_loss(xe, ember.tensor(t), ember.tensor(w), reduction=red)
    yt = TF.nll_loss(xt, torch.tensor(t), torch.tensor(w), reduction=red)
    _grad_check(ye, yt, [(xe, xt)])


@pytest.mark.parametrize("red", RED)
def test_bce(red):
    x = rng.uniform(0.01, 0.99, (4, 3)).astype(np.float32)
    t = rng.uniform(0, 1, (4, 3)).astype(np.float32)
    w = rng.uniform(0.5, 2, 3).astype(np.float32)
    xe, xt = _leaf(x)
    te, tt = _leaf(t)
    ye = F.binary_cross_entropy(
        xe, te, ember.tensor(np.broadcast_to(w, (4, 3)).copy()), reduction=red
    )
    yt = TF.binary_cross_entropy(
        xt, tt, torch.tensor(np.broadcast_to(w, (4, 3)).copy()), reduction=red
    )
    _grad_check(ye, yt, [(xe, xt), (te, tt)], 1e-5, 1e-5)
    with pytest.raises(ValueError, match="Using a target size"):
        F.binary_cross_entropy(ember.rand(3), ember.rand(3, 1))


@pytest.mark.parametrize("red", RED)
def test_bce_with_logits(red):
    x = (rng.standard_normal((4, 3)) * 30).astype(np.float32)
    t = rng.uniform(0, 1, (4, 3)).astype(np.float32)
    pw = rng.uniform(0.5, 3, 3).astype(np.float32)
    w = rng.uniform(0.5, 2, 3).astype(np.float32)
    xe, xt = _leaf(x)
    te, tt = _leaf(t)
    ye = F.binary_cross_entropy_with_logits(
        xe, te, ember.tensor(w), reduction=red, pos_weight=ember.tensor(pw)
    )
    yt = TF.binary_cross_entropy_with_logits(
        xt, tt, torch.tensor(w), reduction=red, pos_weight=torch.tensor(pw)
    )
    _grad_check(ye, yt, [(xe, xt), (te, tt)], 1e-5, 1e-5)


@pytest.mark.parametrize("red", RED)
def test_other_losses(red):
    a = rng.standard_normal((4, 5)).astype(np.float32) * 2
    b = rng.standard_normal((4, 5)).astype(np.float32)
    c = rng.standard_normal((4, 5)).astype(np.float32)
    y = np.array([1.0, -1.0, 1.0, -1.0], np.float32)
    cases = [
        (lambda m, x, z: m.smooth_l1_loss(x, z, reduction=red, beta=0.5), (a, b)),
        (lambda m, x, z: m.huber_loss(x, z, reduction=red, delta=0.7), (a, b)),
        (lambda m, x, z: m.cosine_embedding_loss(x, z, _t(m, y), 0.1, reduction=red), (a, b)),
        (
            lambda m, x, z: m.margin_ranking_loss(x[:, 0], z[:, 0], _t(m, y), 0.2, reduction=red),
            (a, b),
        ),
        (lambda m, x, z, w: m.triplet_margin_loss(x, z, w, reduction=red), (a, b, c)),
        (lambda m, x: m.soft_margin_loss(x, _t(m, np.sign(b)), reduction=red), (a,)),
        (lambda m, x: m.hinge_embedding_loss(x, _t(m, np.sign(b)), reduction=red), (a,)),
    ]
    for fn, arrs in cases:
        le = [_leaf(x) for x in arrs]
        ye = fn(F, *[p[0] for p in le])
        yt = fn(TF, *[p[1] for p in le])
        _grad_check(ye, yt, le, 1e-4, 1e-5)


def _t(m, arr):
    return ember.tensor(arr) if m is F else torch.tensor(arr)


@pytest.mark.parametrize("red", ["batchmean", "sum", "none"])
@pytest.mark.parametrize("log_target", [False, True])
def test_kl_div(red, log_target):
    x = np.log(rng.uniform(0.05, 1, (3, 4))).astype(np.float32)
    t = rng.uniform(0, 1, (3, 4)).astype(np.float32)
    t[0, 0] = 0
    if log_target:
        t = np.log(t + 0.1).astype(np.float32)
    xe, xt = _leaf(x)
    ye = F.kl_div(xe, ember.tensor(t), reduction=red, log_target=log_target)
    yt = TF.kl_div(xt, torch.tensor(t), reduction=red, log_target=log_target)
    _grad_check(ye, yt, [(xe, xt)])


def test_loss_modules_repr_and_forward():
    w = ember.tensor([1.0, 2.0, 0.5])
    m = nn.CrossEntropyLoss(weight=w, ignore_index=1, label_smoothing=0.1)
    assert repr(m) == "CrossEntropyLoss()"
    assert "weight" in m.state_dict()
    x = ember.randn(4, 3)
    t = ember.tensor([0, 1, 2, 0])
    tm = torch.nn.CrossEntropyLoss(
        weight=torch.tensor([1.0, 2.0, 0.5]), ignore_index=1, label_smoothing=0.1
    )
    assert_same(m(x, t), tm(torch.tensor(x.numpy()), torch.tensor(t.numpy())))
    assert nn.MSELoss(reduction="sum")(ember.ones(3), ember.zeros(3)).item() == 3.0
    assert nn.MSELoss(size_average=False).reduction == "sum"
    assert nn.BCEWithLogitsLoss(pos_weight=ember.ones(3)).state_dict()["pos_weight"].shape == (3,)
    with pytest.raises(ValueError, match="is not a valid value for reduction"):
        F.mse_loss(ember.ones(2), ember.ones(2), reduction="avg")
