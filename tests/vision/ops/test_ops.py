"""ember.vision.ops against real torchvision 0.29 (golden fixtures made by
tests/vision/fixtures_models/make_fixtures.py): box utilities, roi_align / roi_pool values and
input gradients, sigmoid_focal_loss values and gradients, the layers' reprs and state_dict keys;
float64 finite-difference gradchecks for the RoI ops."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pytest

import ember
from ember import nn
from ember.vision import ops
from tests._support.torch_ref import torch

FIX = Path(__file__).resolve().parents[1] / "fixtures_models"
D = dict(np.load(FIX / "ops.npz"))
LAYERS = json.loads((FIX / "ops.json").read_text())
t = ember.from_numpy


@pytest.mark.parametrize("thr", [0.3, 0.5, 0.7])
def test_nms_and_batched_nms(thr):
    a, s, idx = t(D["boxes_a"]), t(D["scores"]), t(D["idxs"])
    keep = ops.nms(a, s, thr)
    assert keep.dtype == ember.int64
    np.testing.assert_array_equal(keep.numpy(), D[f"nms_{thr}"])
    np.testing.assert_array_equal(ops.batched_nms(a, s, idx, thr).numpy(), D[f"batched_nms_{thr}"])
    # the per-class path (torchvision's for many boxes) keeps the same set, in score order
    van = ops.boxes._batched_nms_vanilla(a, s, idx, thr)
    np.testing.assert_array_equal(van.numpy(), D[f"batched_nms_{thr}"])


def test_nms_empty():
    assert ops.nms(ember.zeros(0, 4), ember.zeros(0), 0.5).shape == (0,)
    assert ops.batched_nms(ember.zeros(0, 4), ember.zeros(0), ember.zeros(0), 0.5).shape == (0,)


def test_box_ops_values():
    a, b = t(D["boxes_a"]), t(D["boxes_b"])
    np.testing.assert_allclose(ops.box_iou(a, b).numpy(), D["box_iou"], rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(
        ops.generalized_box_iou(a, b).numpy(), D["generalized_box_iou"], rtol=1e-5, atol=1e-6
    )
    np.testing.assert_allclose(ops.box_area(a).numpy(), D["box_area"], rtol=1e-6)
    for i in ("xyxy", "xywh", "cxcywh"):
        for o in ("xyxy", "xywh", "cxcywh"):
            got = ops.box_convert(a, i, o).numpy()
            np.testing.assert_allclose(got, D[f"convert_{i}_{o}"], rtol=1e-6, atol=1e-5)
    np.testing.assert_array_equal(ops.clip_boxes_to_image(a, (40, 45)).numpy(), D["clip"])
    np.testing.assert_array_equal(ops.remove_small_boxes(a, 8.0).numpy(), D["remove_small"])
    with pytest.raises(ValueError, match="Unsupported Bounding Box Conversions"):
        ops.box_convert(a, "xyxy", "yxyx")


def test_box_iou_gradient_against_torch():
    a = ember.from_numpy(D["boxes_a"][:6].astype(np.float64)).requires_grad_()
    b = ember.from_numpy(D["boxes_b"].astype(np.float64))
    ta, tb = (
        torch.from_numpy(a.detach().numpy().copy()).requires_grad_(),
        torch.from_numpy(b.numpy()),
    )
    ops.generalized_box_iou(a, b).sum().backward()
    # torchvision's formula written with torch ops (torchvision itself is not a test dependency)
    area = lambda x: (x[:, 2] - x[:, 0]) * (x[:, 3] - x[:, 1])  # noqa: E731
    lt, rb = torch.max(ta[:, None, :2], tb[:, :2]), torch.min(ta[:, None, 2:], tb[:, 2:])
    wh = (rb - lt).clamp(min=0)
    inter = wh[..., 0] * wh[..., 1]
    union = area(ta)[:, None] + area(tb) - inter
    lti, rbi = torch.min(ta[:, None, :2], tb[:, :2]), torch.max(ta[:, None, 2:], tb[:, 2:])
    whi = (rbi - lti).clamp(min=0)
    areai = whi[..., 0] * whi[..., 1]
    (inter / union - (areai - union) / areai).sum().backward()
    np.testing.assert_allclose(a.grad.numpy(), ta.grad.numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("sampling_ratio", [-1, 2])
@pytest.mark.parametrize("aligned", [False, True])
def test_roi_align_values_and_grad(sampling_ratio, aligned):
    x = t(D["roi_x"].copy()).requires_grad_()
    y = ops.roi_align(x, t(D["roi_rois"]), (3, 4), 0.5, sampling_ratio, aligned)
    key = f"roi_align_{sampling_ratio}_{aligned}"
    np.testing.assert_allclose(y.detach().numpy(), D[key], rtol=1e-10, atol=1e-12)
    w = np.cos(np.arange(y.numel())).reshape(y.shape)
    (y * t(w)).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), D[key + "_grad"], rtol=1e-10, atol=1e-12)


def test_roi_pool_values_and_grad():
    x = t(D["roi_x"].copy()).requires_grad_()
    y = ops.roi_pool(x, t(D["roi_rois"]), (3, 3), 0.5)
    np.testing.assert_array_equal(y.detach().numpy(), D["roi_pool"])
    w = np.cos(np.arange(y.numel())).reshape(y.shape)
    (y * t(w)).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), D["roi_pool_grad"], rtol=1e-12, atol=1e-12)


def test_roi_ops_accept_box_lists_modules_and_float32():
    x = t(D["roi_x"].astype(np.float32))
    rois = D["roi_rois"]
    lists = [t(rois[rois[:, 0] == i, 1:].astype(np.float32)) for i in range(2)]
    order = np.concatenate([np.where(rois[:, 0] == i)[0] for i in range(2)])
    y = ops.roi_align(x, lists, 3, spatial_scale=0.5, sampling_ratio=2)
    assert y.dtype == ember.float32 and tuple(y.shape) == (6, 3, 3, 3)
    full = ops.roi_align(x, t(rois[order].astype(np.float32)), 3, 0.5, 2)
    np.testing.assert_allclose(y.numpy(), full.numpy(), rtol=1e-6)
    m = ops.RoIAlign((3, 4), spatial_scale=0.5, sampling_ratio=2, aligned=True)
    assert (
        repr(m) == "RoIAlign(output_size=(3, 4), spatial_scale=0.5, sampling_ratio=2, aligned=True)"
    )
    p = ops.RoIPool(3, 0.25)
    assert repr(p) == "RoIPool(output_size=3, spatial_scale=0.25)"
    assert tuple(p(x, lists).shape) == (6, 3, 3, 3)
    with pytest.raises(AssertionError, match="Tensor\\[K, 5\\]"):
        ops.roi_align(x, t(rois[:, 1:]), 3)


def test_roi_ops_gradcheck():
    rng = np.random.default_rng(0)
    x = ember.from_numpy(rng.standard_normal((1, 2, 6, 7))).requires_grad_()
    rois = ember.tensor([[0, 0.3, 0.7, 4.2, 5.1], [0, 2.2, 1.1, 6.9, 3.3]], dtype=ember.float64)
    f = lambda x: ops.roi_align(x, rois, (2, 3), 1.0, -1, True)  # noqa: E731
    assert ember.autograd.gradcheck(f, (x,))
    g = lambda x: ops.roi_pool(x, rois, (2, 2), 1.0)  # noqa: E731
    assert ember.autograd.gradcheck(g, (x,))


@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
@pytest.mark.parametrize("alpha", [0.25, -1])
def test_sigmoid_focal_loss(reduction, alpha):
    gamma = 2.0 if alpha == 0.25 else 1.5
    x = t(D["focal_logits"].copy()).requires_grad_()
    y = ops.sigmoid_focal_loss(x, t(D["focal_targets"]), alpha, gamma, reduction)
    key = f"focal_{reduction}_{alpha}"
    np.testing.assert_allclose(y.detach().numpy(), D[key], rtol=1e-10, atol=1e-14)
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), D[key + "_grad"], rtol=1e-10, atol=1e-14)
    with pytest.raises(ValueError, match="Invalid Value for arg 'reduction'"):
        ops.sigmoid_focal_loss(x, t(D["focal_targets"]), reduction="avg")


def _layers():
    return {
        "conv_norm_act": ops.Conv2dNormActivation(3, 8, 3, stride=2),
        "conv_norm_act_hs": ops.Conv2dNormActivation(
            8, 16, 5, groups=8, activation_layer=nn.Hardswish, bias=True, dilation=2
        ),
        "conv3d_norm_act": ops.Conv3dNormActivation(3, 4, 3),
        "se": ops.SqueezeExcitation(16, 4),
        "mlp": ops.MLP(10, [20, 30, 5], norm_layer=nn.LayerNorm, dropout=0.1),
        "mlp_plain": ops.MLP(10, [7, 3], activation_layer=nn.GELU, bias=False),
        "frozen_bn": ops.FrozenBatchNorm2d(6),
        "stochastic_depth": ops.StochasticDepth(0.2, "row"),
        "permute": ops.Permute([0, 2, 3, 1]),
    }


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_layer_repr_and_keys(name):
    m = _layers()[name]
    assert repr(m) == LAYERS[name]["repr"]
    assert [[k, list(v.shape)] for k, v in m.state_dict().items()] == LAYERS[name]["keys"]


def test_layers_forward():
    x = ember.randn(2, 16, 5, 5)
    se = ops.SqueezeExcitation(16, 4)
    scale = ember.sigmoid(se.fc2(ember.relu(se.fc1(x.mean((2, 3), keepdim=True)))))
    np.testing.assert_allclose(se(x).detach().numpy(), (scale * x).detach().numpy(), rtol=1e-6)
    assert tuple(ops.Permute([0, 2, 3, 1])(x).shape) == (2, 5, 5, 16)
    mlp = ops.MLP(16, [8, 4]).eval()
    assert tuple(mlp(ember.randn(3, 16)).shape) == (3, 4)
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        ops.misc.ConvNormActivation(3, 4)
    assert "Don't use ConvNormActivation directly" in str(rec[0].message)


def test_frozen_batchnorm_equals_eval_batchnorm_and_loads_its_state():
    bn = nn.BatchNorm2d(6).eval()
    with ember.no_grad():
        bn.weight.copy_(ember.randn(6))
        bn.bias.copy_(ember.randn(6))
        bn.running_mean.copy_(ember.randn(6))
        bn.running_var.copy_(ember.rand(6) + 0.5)
    fb = ops.FrozenBatchNorm2d(6)
    fb.load_state_dict(bn.state_dict())  # num_batches_tracked is dropped, not an error
    x = ember.randn(2, 6, 3, 3)
    np.testing.assert_allclose(fb(x).numpy(), bn(x).detach().numpy(), rtol=1e-5, atol=1e-6)
    assert not list(fb.parameters())


def test_stochastic_depth():
    x = ember.ones(1000, 3)
    assert ops.stochastic_depth(x, 0.5, "row", training=False) is x
    assert ops.stochastic_depth(x, 0.0, "row") is x
    y = ops.stochastic_depth(x, 0.25, "row").numpy()
    rows = y[:, 0]
    assert set(np.unique(rows)) <= {0.0, np.float32(1 / 0.75)} and (y == y[:, :1]).all()
    assert 0.18 < np.mean(rows == 0) < 0.32
    b = ops.stochastic_depth(x, 0.5, "batch").numpy()
    assert len(np.unique(b)) == 1
    assert not ops.stochastic_depth(x, 1.0, "row").numpy().any()
    with pytest.raises(ValueError, match="drop probability has to be between 0 and 1, but got 1.5"):
        ops.stochastic_depth(x, 1.5, "row")
    with pytest.raises(ValueError, match="mode has to be either 'batch' or 'row', but got col"):
        ops.stochastic_depth(x, 0.5, "col")
    m = ops.StochasticDepth(0.2, "row").eval()
    assert m(x) is x
