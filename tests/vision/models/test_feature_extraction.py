"""ember.vision.models.feature_extraction against torchvision 0.29.1's (node names, feature
shapes and values from fixtures_models/make_feature_extraction_fixtures.py), its rules on
hand-made modules, and ember.channels_last_3d."""

from __future__ import annotations

import copy
import json
import os
import pickle
import subprocess
import sys
import textwrap
import warnings

import numpy as np
import pytest

import ember
import ember.vision
from ember import nn
from ember.vision import models, ops
from ember.vision.models.feature_extraction import (
    create_feature_extractor,
    get_graph_node_names,
)
from tests.vision.fixtures_models.det_weights import det_input
from tests.vision.models._fixtures import HERE, SMALL_VIT, no_init, set_det

with open(HERE / "feature_extraction.json") as f:
    CASES: dict = json.load(f)
VALUES = dict(np.load(HERE / "feature_extraction.npz"))
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(ember.__file__)))

CNNS = ("resnet18", "mobilenet_v2", "mobilenet_v3_small", "vgg11")


def _build(name: str) -> nn.Module:
    case = CASES[name]
    with no_init():
        if name == "_small_vit":
            return models.VisionTransformer(**SMALL_VIT, num_classes=10)
        return models.get_model(name, weights=None, **case["kwargs"])


def _check_nodes(name: str) -> None:
    train, eval_ = get_graph_node_names(_build(name))
    assert train == CASES[name]["train_nodes"]
    assert eval_ == CASES[name]["eval_nodes"]


def _features(name: str, det: bool) -> dict[str, ember.Tensor]:
    case = CASES[name]
    model = _build(name)
    if det:
        set_det(model)
    else:  # no_init left the memory as it was: zeros keep the forward free of overflows
        for p in model.parameters():
            p.data.zero_()
    extractor = create_feature_extractor(model.eval(), return_nodes=case["return_nodes"])
    with ember.no_grad():
        return extractor(ember.from_numpy(det_input(tuple(case["input_shape"]))))


@pytest.mark.parametrize("name", CNNS)
def test_node_names_match_torchvision(name):
    _check_nodes(name)


@pytest.mark.parametrize("name", CNNS)
def test_feature_keys_and_shapes_match_torchvision(name):
    out = _features(name, det=False)
    assert isinstance(out, dict)
    assert {k: list(v.shape) for k, v in out.items()} == CASES[name]["features"]
    assert list(out) == list(CASES[name]["features"])  # the order too


def test_resnet18_feature_values_match_torchvision():
    out = _features("resnet18", det=True)
    for key, value in out.items():
        ref = VALUES[f"resnet18/{key}"]
        np.testing.assert_allclose(value.numpy(), ref, rtol=1e-4, atol=1e-4 * np.abs(ref).max())


@pytest.mark.parametrize("name", ["vit_b_16", "_small_vit"])
def test_vit_node_names_match_torchvision(name):
    """ViT checks its shapes with ember._assert, which fx records as torch._assert: the same
    187 nodes as torchvision's vit_b_16."""
    _check_nodes(name)


def test_small_vit_feature_values_match_torchvision():
    out = _features("_small_vit", det=True)
    for key, value in out.items():
        np.testing.assert_allclose(value.numpy(), VALUES[f"_small_vit/{key}"], atol=1e-4)


# --- the rules on hand-made modules -----------------------------------------------------------
class Block(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(4, 4, 3, padding=1)
        self.relu = nn.ReLU()

    def forward(self, x):
        y = self.relu(self.conv(x))
        return self.relu(y + x) + 1.0


class Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.stem = ops.Conv2dNormActivation(3, 4, 3)  # a torchvision.ops class: a leaf
        self.blocks = nn.Sequential(Block(), Block())
        self.drop = nn.Dropout(0.5)
        self.head = nn.Linear(4, 2)

    def forward(self, x):
        x = self.blocks(self.stem(x))
        if self.training:
            x = self.drop(x)
        x = x.mean(dim=(2, 3))
        return self.head(x) + self.head(x)


def test_hand_made_names_leaves_and_train_eval_difference():
    net = Net()
    net.eval()
    with pytest.warns(UserWarning, match="eval mode are a subsequence of those obtained in train"):
        train, eval_ = get_graph_node_names(net)
    assert not net.training  # the mode is restored
    common = ["x", "stem"]
    block = ["conv", "relu", "add", "relu_1", "add_1"]
    for i in range(2):
        common += [f"blocks.{i}.{n}" for n in block]
    assert eval_ == [*common, "mean", "head", "head_1", "add"]
    assert train == [*common, "drop", "mean", "head", "head_1", "add"]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        get_graph_node_names(net, suppress_diff_warning=True)


def test_return_nodes_dict_partial_names_and_modes():
    ember.manual_seed(0)
    net = Net()
    x = ember.randn(2, 3, 8, 8)
    with pytest.warns(UserWarning):
        ext = create_feature_extractor(net.eval(), {"blocks.1": "b1", "stem": "s", "head_1": "h"})
    assert not ext.training
    out = ext(x)
    assert list(out) == ["s", "b1", "h"]  # graph order, not return_nodes' order
    with ember.no_grad():
        s = net.stem(x)
        b1 = net.blocks(s)
        np.testing.assert_allclose(out["s"].detach().numpy(), s.numpy())
        np.testing.assert_allclose(out["b1"].detach().numpy(), b1.numpy())
        h = net.head(b1.mean(dim=(2, 3)))
        np.testing.assert_allclose(out["h"].detach().numpy(), h.numpy(), rtol=1e-6)
    # the state_dict keeps the model's names; modules neither graph uses are left out
    assert "head.weight" in ext.state_dict()
    small = create_feature_extractor(net, ["blocks.0.conv"], suppress_diff_warning=True)
    assert sorted(small.state_dict()) == [
        "blocks.0.conv.bias",
        "blocks.0.conv.weight",
        "stem.0.weight",
        "stem.1.bias",
        "stem.1.num_batches_tracked",
        "stem.1.running_mean",
        "stem.1.running_var",
        "stem.1.weight",
    ]
    # separate train and eval nodes; train() switches graph
    with pytest.warns(UserWarning):
        ext = create_feature_extractor(
            net, train_return_nodes=["drop"], eval_return_nodes=["blocks.0.add_1"]
        )
    assert list(ext(x)) == ["blocks.0.add_1"]
    ext.train()
    assert list(ext(x)) == ["drop"] and ext.graph is ext.train_graph
    twin = copy.deepcopy(ext)
    assert twin.training and list(twin(x)) == ["drop"]
    twin.eval()
    assert list(twin(x)) == ["blocks.0.add_1"] and list(ext(x)) == ["drop"]


def test_errors_as_torchvision():
    net = Net().eval()
    with pytest.raises(ValueError, match="Either `return_nodes` or `train_return_nodes`"):
        create_feature_extractor(net)
    with pytest.raises(ValueError, match="If any of `train_return_nodes` and `eval_return"):
        create_feature_extractor(net, train_return_nodes=["stem"])
    with pytest.raises(ValueError, match="If `train_return_nodes` and `eval_return_nodes` are"):
        create_feature_extractor(
            net, return_nodes=["stem"], train_return_nodes=["stem"], eval_return_nodes=["stem"]
        )
    with pytest.raises(ValueError, match=r"node: 'blocks\.2' is not present in model\. Hint"):
        create_feature_extractor(net, return_nodes=["blocks.2"], suppress_diff_warning=True)
    # 'block' is no module path prefix of 'blocks.0...': a whole path part must match
    with pytest.raises(ValueError, match="node: 'block' is not present"):
        create_feature_extractor(net, return_nodes=["block"], suppress_diff_warning=True)


def scale(x):
    return x * 2.0


class Custom(nn.Module):
    def forward(self, x):
        return scale(x) - 1.0


class WithCustom(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.inner = Custom()
        self.lin = nn.Linear(3, 3)

    def forward(self, x):
        return self.lin(self.inner(x)) + scale(x)


def test_tracer_kwargs_leaf_modules_and_autowrap_functions():
    model = WithCustom()
    assert get_graph_node_names(model)[0] == ["x", "inner.mul", "inner.sub", "lin", "mul", "add"]
    kwargs = {"leaf_modules": [Custom], "autowrap_functions": [scale]}
    names = get_graph_node_names(model, tracer_kwargs=kwargs)[0]
    assert names == ["x", "inner", "lin", "scale", "add"]
    assert kwargs == {"leaf_modules": [Custom], "autowrap_functions": [scale]}  # not mutated
    ext = create_feature_extractor(model, ["inner", "scale"], tracer_kwargs=kwargs)
    x = ember.randn(2, 3)
    out = ext(x)
    np.testing.assert_allclose(out["inner"].numpy(), (x * 2.0 - 1.0).numpy())
    np.testing.assert_allclose(out["scale"].numpy(), (x * 2.0).numpy())


def test_torchvision_import_under_ember_run(tmp_path):
    script = tmp_path / "prog.py"
    script.write_text(
        textwrap.dedent(
            """
            import torch, torchvision
            from torchvision.models.feature_extraction import create_feature_extractor
            m = create_feature_extractor(torchvision.models.resnet18(), {"layer2": "f"})
            x = torch.zeros(1, 3, 32, 32).contiguous(memory_format=torch.channels_last)
            print("RESULT", list(m(x)["f"].shape), torch.channels_last_3d)
            """
        )
    )
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    proc = subprocess.run(
        [sys.executable, "-m", "ember", "run", str(script)],
        cwd=str(tmp_path),
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert "RESULT [1, 128, 4, 4] torch.channels_last_3d" in proc.stdout
    assert ember.vision.models.feature_extraction.create_feature_extractor is (
        create_feature_extractor
    )


# --- channels_last_3d ---------------------------------------------------------------------------
def test_channels_last_3d_as_channels_last():
    fmt = ember.channels_last_3d
    assert isinstance(fmt, ember.memory_format) and repr(fmt) == "torch.channels_last_3d"
    assert pickle.loads(pickle.dumps(fmt)) is fmt
    x = ember.randn(2, 3, 4, 5, 6)
    # ember's tensors stay row-major: contiguous() gives the tensor itself, as for channels_last
    assert x.contiguous(memory_format=fmt) is x
    assert x.is_contiguous(memory_format=fmt) == x.is_contiguous(memory_format=ember.channels_last)
    t = x.transpose(1, 4)
    y = t.contiguous(memory_format=fmt)
    assert y.is_contiguous() and np.array_equal(y.numpy(), t.numpy())
    assert ember.empty(2, 3, 4, 5, 6, memory_format=fmt).shape == (2, 3, 4, 5, 6)
    with pytest.raises(RuntimeError, match="required rank 5 tensor to use channels_last_3d"):
        ember.empty(2, 3, 4, 5, memory_format=fmt)
    torch = pytest.importorskip("torch")
    assert repr(fmt) == repr(torch.channels_last_3d)
    with pytest.raises(RuntimeError, match="required rank 5 tensor to use channels_last_3d"):
        torch.empty(2, 3, 4, 5, memory_format=torch.channels_last_3d)
