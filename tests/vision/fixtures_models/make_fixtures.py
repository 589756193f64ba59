"""Golden fixtures of ember.vision.models and ember.vision.ops, made from REAL torchvision.

Run once (needs torch 2.14.1 + torchvision 0.29.1, in a venv of their own beside ember's):

    python -m venv /work/venv-tv
    /work/venv-tv/bin/pip install torch==2.14.1 torchvision==0.29.1 pillow numpy
    cd <repo root> && /work/venv-tv/bin/python tests/vision/fixtures_models/make_fixtures.py

It writes, next to this file:
- models.json.gz: per model, the state_dict keys, shapes and dtypes, the parameter count and
  str(model) (models built on the meta device: nothing is allocated);
- models_forward.npz: eval-mode outputs of the smaller models on a 1x3x64x64 input, their weights
  set by det_weights.det_value (a formula, so no weight file is stored);
- ops.npz and ops.json: inputs and outputs (and gradients) of torchvision.ops functions, and the
  reprs/keys of its layers;
and ember/vision/models/_weights_meta.json: the facts of every weights enum (URL, parameter count,
metrics, the preset's sizes) and ImageNet's category names.
"""

from __future__ import annotations

import gzip
import json
import os
import sys

import numpy as np
import torch
import torchvision
from torchvision import ops
from torchvision.models import get_model, get_model_weights, list_models

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", "..", ".."))
sys.path.insert(0, HERE)
from det_weights import det_input, det_value  # noqa: E402

FAMILIES = (
    "resnet",
    "resnext",
    "wide_resnet",
    "vgg",
    "alexnet",
    "squeezenet",
    "densenet",
    "mobilenet_v",
    "efficientnet_",
    "shufflenet",
    "googlenet",
    "vit_",
    "convnext",
)
FORWARD = (
    "resnet18",
    "resnet50",
    "squeezenet1_0",
    "squeezenet1_1",
    "densenet121",
    "mobilenet_v2",
    "mobilenet_v3_small",
    "mobilenet_v3_large",
    "efficientnet_b0",
    "shufflenet_v2_x1_0",
    "googlenet",
    "convnext_tiny",
)
SMALL_VIT = dict(image_size=32, patch_size=8, num_layers=2, num_heads=2, hidden_dim=32, mlp_dim=64)


def my_models() -> list[str]:
    return [m for m in list_models(module=torchvision.models) if m.startswith(FAMILIES)]


def set_det(model: torch.nn.Module) -> None:
    sd = model.state_dict()
    new = {}
    for i, (k, v) in enumerate(sd.items()):
        new[k] = torch.from_numpy(det_value(i, k, tuple(v.shape), v.is_floating_point()))
    model.load_state_dict(new)


def structures() -> None:
    out = {}
    for name in my_models():
        with torch.device("meta"):
            m = get_model(name)
        sd = m.state_dict()
        out[name] = {
            "keys": [[k, list(v.shape), str(v.dtype)] for k, v in sd.items()],
            "num_params": sum(p.numel() for p in m.parameters()),
            "repr": str(m),
        }
        print(name, out[name]["num_params"], flush=True)
    with torch.device("meta"):
        vit = torchvision.models.VisionTransformer(**SMALL_VIT, num_classes=10)
    out["_small_vit"] = {
        "keys": [[k, list(v.shape), str(v.dtype)] for k, v in vit.state_dict().items()],
        "num_params": sum(p.numel() for p in vit.parameters()),
        "repr": str(vit),
    }
    with gzip.open(os.path.join(HERE, "models.json.gz"), "wt") as f:
        json.dump(out, f)


def forwards() -> None:
    res = {}
    x = torch.from_numpy(det_input((1, 3, 64, 64)))
    for name in FORWARD:
        m = get_model(name).eval()
        set_det(m)
        with torch.no_grad():
            res[name] = m(x).numpy()
        print(name, res[name][0, :3], flush=True)
    vit = torchvision.models.VisionTransformer(**SMALL_VIT, num_classes=10).eval()
    set_det(vit)
    with torch.no_grad():
        res["_small_vit"] = vit(torch.from_numpy(det_input((2, 3, 32, 32)))).numpy()
    # a training step of resnet18: batch-statistics forward and the gradients of a weighted sum
    m = get_model("resnet18").train()
    set_det(m)
    x = torch.from_numpy(det_input((4, 3, 64, 64)))
    out = m(x)
    w = torch.from_numpy(np.cos(np.arange(out.numel())).reshape(out.shape).astype(np.float32))
    (out * w).sum().backward()
    res["_train_resnet18_out"] = out.detach().numpy()
    for k in ("conv1.weight", "layer1.0.bn1.weight", "layer4.1.bn2.weight", "fc.bias"):
        res[f"_train_resnet18_grad_{k}"] = m.get_parameter(k).grad.numpy()
    res["_train_resnet18_running_mean"] = m.bn1.running_mean.numpy()
    np.savez_compressed(os.path.join(HERE, "models_forward.npz"), **res)


def weights_meta() -> None:
    out = {}
    cats = None
    for name in my_models():
        enum = get_model_weights(name)
        entries = {}
        for w in enum:
            meta = {k: v for k, v in w.meta.items() if k not in ("categories", "_docs")}
            cats_w = w.meta.get("categories")
            if cats_w is None:  # weights without a classifier (VGG16 IMAGENET1K_FEATURES)
                meta["categories"] = None
            if cats is None and cats_w is not None and len(cats_w) == 1000:
                cats = list(cats_w)
            assert cats_w is None or list(cats_w) == cats, (name, w)
            tr = w.transforms
            entries[w.name] = {
                "url": w.url,
                "meta": meta,
                "transforms": {
                    "class": tr.func.__name__,
                    **{k: (v.value if hasattr(v, "value") else v) for k, v in tr.keywords.items()},
                },
            }
        default = enum.DEFAULT.name
        out[name] = {"enum": enum.__name__, "default": default, "weights": entries}
    path = os.path.join(ROOT, "ember", "vision", "models", "_weights_meta.json")
    with open(path, "w") as f:
        json.dump({"models": out, "imagenet_categories": cats}, f, indent=0, sort_keys=False)


def _boxes(rng: np.random.RandomState, n: int, size: float = 50.0) -> np.ndarray:
    xy = rng.uniform(0, size, (n, 2))
    wh = rng.uniform(1, size / 2, (n, 2))
    return np.concatenate([xy, xy + wh], 1)


def ops_fixtures() -> None:
    rng = np.random.RandomState(0)
    d: dict[str, np.ndarray] = {}
    t = torch.from_numpy
    a = _boxes(rng, 30).astype(np.float32)
    a[5] = a[4] + 0.5  # near duplicates so nms suppresses
    a[9] = a[8] + 1.0
    b = _boxes(rng, 7).astype(np.float32)
    scores = rng.uniform(0, 1, 30).astype(np.float32)
    scores[12] = scores[13]  # a tie
    idxs = rng.randint(0, 3, 30)
    d.update(boxes_a=a, boxes_b=b, scores=scores, idxs=idxs)
    for thr in (0.3, 0.5, 0.7):
        d[f"nms_{thr}"] = ops.nms(t(a), t(scores), thr).numpy()
        d[f"batched_nms_{thr}"] = ops.batched_nms(t(a), t(scores), t(idxs), thr).numpy()
    d["box_iou"] = ops.box_iou(t(a), t(b)).numpy()
    d["generalized_box_iou"] = ops.generalized_box_iou(t(a), t(b)).numpy()
    d["box_area"] = ops.box_area(t(a)).numpy()
    for fmt_in in ("xyxy", "xywh", "cxcywh"):
        for fmt_out in ("xyxy", "xywh", "cxcywh"):
            d[f"convert_{fmt_in}_{fmt_out}"] = ops.box_convert(t(a), fmt_in, fmt_out).numpy()
    d["clip"] = ops.clip_boxes_to_image(t(a), (40, 45)).numpy()
    d["remove_small"] = ops.remove_small_boxes(t(a), 8.0).numpy()
    # roi_align / roi_pool: float64 input, rois with a batch index column, grads of a weighted sum
    x = rng.standard_normal((2, 3, 11, 13))
    rois = np.concatenate([rng.randint(0, 2, (6, 1)).astype(np.float64), _boxes(rng, 6, 24.0)], 1)
    rois[0, 1:] = [-3.0, -2.0, 30.0, 28.0]  # reaches outside the map
    rois[1, 1:] = [4.0, 4.0, 4.5, 5.0]  # tiny
    d.update(roi_x=x, roi_rois=rois)
    for so in (-1, 2):
        for al in (False, True):
            xt = t(x.copy()).requires_grad_()
            y = ops.roi_align(xt, t(rois), (3, 4), spatial_scale=0.5, sampling_ratio=so, aligned=al)
            w = torch.from_numpy(np.cos(np.arange(y.numel())).reshape(y.shape))
            (y * w).sum().backward()
            d[f"roi_align_{so}_{al}"] = y.detach().numpy()
            d[f"roi_align_{so}_{al}_grad"] = xt.grad.numpy()
    xt = t(x.copy()).requires_grad_()
    y = ops.roi_pool(xt, t(rois), (3, 3), spatial_scale=0.5)
    w = torch.from_numpy(np.cos(np.arange(y.numel())).reshape(y.shape))
    (y * w).sum().backward()
    d["roi_pool"] = y.detach().numpy()
    d["roi_pool_grad"] = xt.grad.numpy()
    # focal loss
    logits = rng.standard_normal((5, 4)) * 2
    targets = (rng.uniform(0, 1, (5, 4)) > 0.6).astype(np.float64)
    d.update(focal_logits=logits, focal_targets=targets)
    for red in ("none", "mean", "sum"):
        for alpha, gamma in ((0.25, 2.0), (-1, 1.5)):
            lt = t(logits.copy()).requires_grad_()
            y = ops.sigmoid_focal_loss(lt, t(targets), alpha=alpha, gamma=gamma, reduction=red)
            y.sum().backward()
            d[f"focal_{red}_{alpha}"] = y.detach().numpy()
            d[f"focal_{red}_{alpha}_grad"] = lt.grad.numpy()
    np.savez_compressed(os.path.join(HERE, "ops.npz"), **d)
    layers = {
        "conv_norm_act": ops.Conv2dNormActivation(3, 8, 3, stride=2),
        "conv_norm_act_hs": ops.Conv2dNormActivation(
            8, 16, 5, groups=8, activation_layer=torch.nn.Hardswish, bias=True, dilation=2
        ),
        "conv3d_norm_act": ops.Conv3dNormActivation(3, 4, 3),
        "se": ops.SqueezeExcitation(16, 4),
        "mlp": ops.MLP(10, [20, 30, 5], norm_layer=torch.nn.LayerNorm, dropout=0.1),
        "mlp_plain": ops.MLP(10, [7, 3], activation_layer=torch.nn.GELU, bias=False),
        "frozen_bn": ops.FrozenBatchNorm2d(6),
        "stochastic_depth": ops.StochasticDepth(0.2, "row"),
        "permute": ops.Permute([0, 2, 3, 1]),
    }
    info = {
        k: {"repr": str(m), "keys": [[n, list(v.shape)] for n, v in m.state_dict().items()]}
        for k, m in layers.items()
    }
    with open(os.path.join(HERE, "ops.json"), "w") as f:
        json.dump(info, f, indent=0)


def presets() -> None:
    from PIL import Image
    from torchvision.transforms import InterpolationMode
    from torchvision.transforms._presets import ImageClassification

    img = (det_input((3, 37, 53)) * 127.5 + 127.5).round().astype(np.uint8)
    d = {"img": img}
    cases = {
        "up": dict(crop_size=48, resize_size=52),
        "down": dict(crop_size=16, resize_size=20),
        "down_bicubic": dict(crop_size=18, resize_size=24, interpolation=InterpolationMode.BICUBIC),
    }
    for k, kw in cases.items():
        tr = ImageClassification(**kw)
        d[f"{k}_uint8"] = tr(torch.from_numpy(img)).numpy()
        d[f"{k}_float"] = tr(torch.from_numpy(img).float() / 255).numpy()
        d[f"{k}_pil"] = tr(Image.fromarray(img.transpose(1, 2, 0))).numpy()
    np.savez_compressed(os.path.join(HERE, "presets.npz"), **d)


if __name__ == "__main__":
    torch.set_num_threads(2)
    ops_fixtures()
    presets()
    weights_meta()
    structures()
    forwards()
