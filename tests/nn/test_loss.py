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


# --- the margin losses and CTC that issue 14 adds -------------------------------------------
def _grads_match(fe, ft, *arrays, rtol=1e-5, atol=1e-6):
    es = [ember.tensor(a, requires_grad=a.dtype.kind == "f") for a in arrays]
    ts = [torch.tensor(a, requires_grad=a.dtype.kind == "f") for a in arrays]
    le, lt = fe(*es), ft(*ts)
    assert_same(le, lt, rtol, atol)
    (le.sum() if le.dim() else le).backward()
    (lt.sum() if lt.dim() else lt).backward()
    for e, t in zip(es, ts):
        if t.requires_grad:
            assert_same(e.grad, t.grad, rtol, max(atol, 1e-6))


@pytest.mark.parametrize("reduction", RED)
@pytest.mark.parametrize("p", [1, 2])
def test_multi_margin_loss_against_torch(reduction, p):
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((5, 4)), rng.integers(0, 4, 5)
    w = rng.random(4)
    for kw in ({}, {"margin": 0.5}):
        _grads_match(
            lambda a, b, kw=kw: F.multi_margin_loss(a, b, p=p, reduction=reduction, **kw),
            lambda a, b, kw=kw: TF.multi_margin_loss(a, b, p=p, reduction=reduction, **kw),
            x,
            y,
        )
    _grads_match(
        lambda a, b: F.multi_margin_loss(a, b, p=p, weight=ember.tensor(w), reduction=reduction),
        lambda a, b: TF.multi_margin_loss(a, b, p=p, weight=torch.tensor(w), reduction=reduction),
        x,
        y,
    )
    _grads_match(
        lambda a, b: F.multi_margin_loss(a, b),
        lambda a, b: TF.multi_margin_loss(a, b),
        x[0],
        np.int64(2),
    )
    with pytest.raises(ValueError, match="only p == 1 and p == 2 supported"):
        F.multi_margin_loss(ember.tensor(x), ember.tensor(y), p=3)
    assert_same(
        nn.MultiMarginLoss(p=p, weight=ember.tensor(w))(ember.tensor(x), ember.tensor(y)),
        torch.nn.MultiMarginLoss(p=p, weight=torch.tensor(w))(torch.tensor(x), torch.tensor(y)),
    )


@pytest.mark.parametrize("reduction", RED)
def test_multilabel_margin_loss_against_torch(reduction):
    rng = np.random.default_rng(1)
    x = rng.standard_normal((3, 5))
    t = np.array([[3, 0, -1, 1, 2], [1, 2, 3, 4, 0], [-1, 0, 1, 2, 3]])  # stops at the first -1
    _grads_match(
        lambda a, b: F.multilabel_margin_loss(a, b, reduction=reduction),
        lambda a, b: TF.multilabel_margin_loss(a, b, reduction=reduction),
        x,
        t,
    )
    _grads_match(
        lambda a, b: F.multilabel_margin_loss(a, b),
        lambda a, b: TF.multilabel_margin_loss(a, b),
        x[0],
        t[0],
    )
    assert_same(
        nn.MultiLabelMarginLoss()(ember.tensor(x), ember.tensor(t)),
        torch.nn.MultiLabelMarginLoss()(torch.tensor(x), torch.tensor(t)),
    )


@pytest.mark.parametrize("swap", [False, True])
def test_triplet_margin_with_distance_loss_against_torch(swap):
    rng = np.random.default_rng(2)
    a, p, n = (rng.standard_normal((4, 3)) for _ in range(3))
    _grads_match(
        lambda a, p, n: F.triplet_margin_with_distance_loss(a, p, n, swap=swap),
        lambda a, p, n: TF.triplet_margin_with_distance_loss(a, p, n, swap=swap),
        a,
        p,
        n,
    )
    _grads_match(
        lambda a, p, n: F.triplet_margin_with_distance_loss(
            a,
            p,
            n,
            distance_function=lambda x, y: 1 - F.cosine_similarity(x, y),
            margin=0.3,
            reduction="none",
        ),
        lambda a, p, n: TF.triplet_margin_with_distance_loss(
            a,
            p,
            n,
            distance_function=lambda x, y: 1 - TF.cosine_similarity(x, y),
            margin=0.3,
            reduction="none",
        ),
        a,
        p,
        n,
    )
    with pytest.raises(ValueError, match="expected margin to be greater than 0"):
        nn.TripletMarginWithDistanceLoss(margin=0)
    assert repr(nn.TripletMarginWithDistanceLoss()) == repr(
        torch.nn.TripletMarginWithDistanceLoss()
    )


def _ctc_case(rng, t_max, n, c, s, concat, tl=None, il=None, dtype=np.float64):
    x = rng.standard_normal((t_max, n, c)).astype(dtype)
    tl = tl if tl is not None else rng.integers(0, s + 1, n)
    il = il if il is not None else rng.integers(max(1, t_max - 3), t_max + 1, n)
    tg = rng.integers(1, c, (n, s))
    if concat:
        tg = np.concatenate([tg[i, : tl[i]] for i in range(n)])
    return x, tg, il, tl


@pytest.mark.parametrize("reduction", RED)
@pytest.mark.parametrize("concat", [False, True])
def test_ctc_loss_values_and_gradients_against_torch(reduction, concat):
    rng = np.random.default_rng(3)
    cases = [
        _ctc_case(rng, 12, 4, 5, 4, concat),
        _ctc_case(rng, 6, 2, 4, 2, concat, tl=np.array([0, 2]), il=np.array([6, 5])),
        _ctc_case(rng, 10, 3, 6, 3, concat, dtype=np.float32),
        _ctc_case(rng, 5, 2, 3, 2, concat, tl=np.array([2, 2]), il=np.array([5, 5])),
    ]
    for x, tg, il, tl in cases:
        tol = 1e-5 if x.dtype == np.float32 else 1e-10
        outs = []
        for m in (ember, torch):
            a = m.tensor(x, requires_grad=True)
            loss = m.nn.functional.ctc_loss(
                a.log_softmax(2), m.tensor(tg), m.tensor(il), m.tensor(tl), reduction=reduction
            )
            (loss.sum() if reduction == "none" else loss).backward()
            outs.append((loss, a.grad))
        assert_same(outs[0][0], outs[1][0], tol, tol)
        assert_same(outs[0][1], outs[1][1], tol, tol)


def test_ctc_loss_infeasible_targets_zero_infinity_unbatched_and_module():
    rng = np.random.default_rng(4)
    x = rng.standard_normal((4, 2, 5))
    tg, il, tl = np.array([[1, 2, 3, 4], [2, 0, 0, 0]]), np.array([3, 4]), np.array([4, 1])
    for zi in (False, True):
        outs = []
        for m in (ember, torch):
            a = m.tensor(x, requires_grad=True)
            loss = m.nn.CTCLoss(zero_infinity=zi, reduction="none")(
                a.log_softmax(2), m.tensor(tg), m.tensor(il), m.tensor(tl)
            )
            loss.sum().backward()
            outs.append((loss, a.grad))
        assert_same(outs[0][0], outs[1][0])
        if (
            zi
        ):  # torch's gradient of an infinite loss is NaN/inf noise; with zero_infinity both are 0
            assert_same(outs[0][1], outs[1][1])
    e = F.ctc_loss(ember.tensor(x[:, 0]).log_softmax(1), ember.tensor([1, 2]), (4,), (2,))
    t = TF.ctc_loss(torch.tensor(x[:, 0]).log_softmax(1), torch.tensor([1, 2]), (4,), (2,))
    assert_same(e, t)


def test_multilabel_margin_loss_counts_repeated_targets_as_torch():
    x = np.random.default_rng(11).standard_normal((3, 5))
    t = np.array([[1, 1, 0, 1, 4], [2, 0, 0, 4, 3], [3, 3, -1, 0, 0]])
    _grads_match(
        lambda a, b: F.multilabel_margin_loss(a, b),
        lambda a, b: TF.multilabel_margin_loss(a, b),
        x,
        t,
    )


def test_linear_cross_entropy_is_linear_then_cross_entropy():
    rng = np.random.default_rng(12)
    x, w, b = rng.standard_normal((4, 3)), rng.standard_normal((5, 3)), rng.standard_normal(5)
    y = np.array([0, 4, 2, 1])
    _grads_match(
        lambda x, w, b, y: F.linear_cross_entropy(x, w, y, linear_bias=b, label_smoothing=0.1),
        lambda x, w, b, y: TF.linear_cross_entropy(x, w, y, linear_bias=b, label_smoothing=0.1),
        x,
        w,
        b,
        y,
    )


def test_linear_cross_entropy_k_dimensional_weight():
    # weight (C, d1, in_features): logits (N, C, d1), as torch's op_db samples
    rng = np.random.default_rng(13)
    x, w, b = (
        rng.standard_normal((4, 3)),
        rng.standard_normal((2, 3, 3)),
        rng.standard_normal((2, 3)),
    )
    y = np.array([[0, 1, 1], [1, 0, 0], [1, 1, 0], [0, 0, 1]])
    p = rng.random((4, 2, 3))
    for tgt in (y, p / p.sum(1, keepdims=True)):
        _grads_match(
            lambda x, w, b, y: F.linear_cross_entropy(x, w, y, linear_bias=b),
            lambda x, w, b, y: TF.linear_cross_entropy(x, w, y, linear_bias=b),
            x,
            w,
            b,
            tgt,
        )
