"""Golden fixtures of ember.vision.models.feature_extraction, made from REAL torchvision.

Run once (needs torch 2.14.1 + torchvision 0.29.1, in a venv of their own beside ember's):

    python -m venv /tmp/tvenv
    /tmp/tvenv/bin/pip install torch==2.14.1 torchvision==0.29.1
    cd <repo root> && /tmp/tvenv/bin/python \
        tests/vision/fixtures_models/make_feature_extraction_fixtures.py

It writes, next to this file:
- feature_extraction.json: per model, get_graph_node_names' (train, eval) lists, the
  return_nodes asked of create_feature_extractor, the input shape and the features' shapes;
- feature_extraction.npz: the features of resnet18 and of a small ViT, their weights set by
  det_weights.det_value (a formula, so no weight file is stored), on det_input.
"""

from __future__ import annotations

import json
import os
import sys

import numpy as np
import torch
import torchvision
from torchvision.models.feature_extraction import create_feature_extractor, get_graph_node_names

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from det_weights import det_input, det_value  # noqa: E402

SMALL_VIT = dict(image_size=32, patch_size=8, num_layers=2, num_heads=2, hidden_dim=32, mlp_dim=64)

# name -> (builder keyword arguments, input shape, return_nodes); a dict renames the outputs
CASES: dict[str, tuple[dict, list[int], list[str] | dict[str, str]]] = {
    "resnet18": (
        {},
        [1, 3, 64, 64],
        {
            "layer1": "feat1",
            "layer2.1.relu_1": "mid",
            "layer3.0.add": "res",
            "layer4": "feat4",
            "flatten": "pooled",
            "fc": "logits",
        },
    ),
    "mobilenet_v2": ({}, [1, 3, 64, 64], ["features.0", "features.3.add", "features", "flatten"]),
    "mobilenet_v3_small": ({}, [1, 3, 64, 64], ["features.1.block.1", "features.12", "classifier"]),
    "vgg11": ({}, [1, 3, 32, 32], {"features.10": "mid", "avgpool": "pool", "classifier.3": "fc2"}),
    "vit_b_16": (
        {"image_size": 32},
        [1, 3, 32, 32],
        ["conv_proj", "encoder.layers.encoder_layer_5", "encoder.ln", "getitem_5", "heads"],
    ),
}
VALUES = ("resnet18",)
SMALL_VIT_NODES = ["conv_proj", "cat", "encoder.layers.encoder_layer_0.add_1", "heads.head"]


def set_det(model: torch.nn.Module) -> None:
    sd = model.state_dict()
    new = {}
    for i, (k, v) in enumerate(sd.items()):
        new[k] = torch.from_numpy(det_value(i, k, tuple(v.shape), v.is_floating_point()))
    model.load_state_dict(new)


def main() -> None:
    torch.manual_seed(0)
    out: dict = {}
    values: dict[str, np.ndarray] = {}
    for name, (kwargs, shape, return_nodes) in CASES.items():
        model = torchvision.models.get_model(name, weights=None, **kwargs)
        train_nodes, eval_nodes = get_graph_node_names(model)
        if name in VALUES:
            set_det(model)
        model.eval()
        fx_model = create_feature_extractor(model, return_nodes=return_nodes)
        with torch.no_grad():
            feats = fx_model(torch.from_numpy(det_input(tuple(shape))))
        out[name] = {
            "kwargs": kwargs,
            "train_nodes": train_nodes,
            "eval_nodes": eval_nodes,
            "return_nodes": return_nodes,
            "input_shape": shape,
            "features": {k: list(v.shape) for k, v in feats.items()},
        }
        if name in VALUES:
            for k, v in feats.items():
                values[f"{name}/{k}"] = v.numpy()
        print(name, len(train_nodes), {k: list(v.shape) for k, v in feats.items()})

    vit = torchvision.models.VisionTransformer(**SMALL_VIT, num_classes=10)
    train_nodes, eval_nodes = get_graph_node_names(vit)
    set_det(vit)
    vit.eval()
    fx_vit = create_feature_extractor(vit, return_nodes=SMALL_VIT_NODES)
    with torch.no_grad():
        feats = fx_vit(torch.from_numpy(det_input((2, 3, 32, 32))))
    out["_small_vit"] = {
        "kwargs": SMALL_VIT,
        "train_nodes": train_nodes,
        "eval_nodes": eval_nodes,
        "return_nodes": SMALL_VIT_NODES,
        "input_shape": [2, 3, 32, 32],
        "features": {k: list(v.shape) for k, v in feats.items()},
    }
    for k, v in feats.items():
        values[f"_small_vit/{k}"] = v.numpy()

    with open(os.path.join(HERE, "feature_extraction.json"), "w") as f:
        json.dump(out, f, indent=None, separators=(",", ":"))
        f.write("\n")
    np.savez_compressed(os.path.join(HERE, "feature_extraction.npz"), **values)


if __name__ == "__main__":
    main()
