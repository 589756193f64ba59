"""ember.vision.models against real torchvision 0.29 (golden fixtures, see
tests/vision/fixtures_models/make_fixtures.py): for every model the exact state_dict keys,
shapes and dtypes, the parameter count and print(model); for the smaller ones an eval-mode
forward pass with the same deterministic weights."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import ember
from ember.vision import models
from tests.vision.models._fixtures import (
    FORWARD,
    SMALL_VIT,
    STRUCTURES,
    det_input,
    no_init,
    set_det,
    structure_of,
)

NAMES = sorted(n for n in STRUCTURES if not n.startswith("_"))


def _build(name: str, **kw) -> ember.nn.Module:
    with no_init(), warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # GoogLeNet's init_weights notice
        return models.get_model(name, **kw)


def test_list_models_is_torchvisions_for_these_families():
    assert models.list_models() == NAMES


@pytest.mark.parametrize("name", NAMES)
def test_structure_matches_torchvision(name):
    got = structure_of(_build(name))
    ref = STRUCTURES[name]
    assert got["keys"] == ref["keys"]
    assert got["num_params"] == ref["num_params"]
    assert got["repr"] == ref["repr"]


def test_small_vit_structure():
    with no_init():
        m = models.VisionTransformer(**SMALL_VIT, num_classes=10)
    got, ref = structure_of(m), STRUCTURES["_small_vit"]
    assert got == {k: ref[k] for k in got}


@pytest.mark.parametrize("name", sorted(n for n in FORWARD if not n.startswith("_")))
def test_forward_matches_torchvision(name):
    m = _build(name).eval()
    set_det(m)
    with ember.no_grad():
        out = m(ember.from_numpy(det_input((1, 3, 64, 64)))).numpy()
    ref = FORWARD[name]
    assert out.shape == ref.shape
    scale = np.abs(ref).max()
    np.testing.assert_allclose(out, ref, rtol=2e-4, atol=2e-4 * scale)


def test_small_vit_forward():
    with no_init():
        m = models.VisionTransformer(**SMALL_VIT, num_classes=10).eval()
    set_det(m)
    with ember.no_grad():
        out = m(ember.from_numpy(det_input((2, 3, 32, 32)))).numpy()
    np.testing.assert_allclose(out, FORWARD["_small_vit"], rtol=1e-4, atol=1e-5)


def test_resnet18_training_step_matches_torchvision():
    """Train mode (batch statistics) forward and the gradients of a weighted sum of outputs."""
    m = _build("resnet18").train()
    set_det(m)
    out = m(ember.from_numpy(det_input((4, 3, 64, 64))))
    ref = FORWARD["_train_resnet18_out"]
    np.testing.assert_allclose(out.detach().numpy(), ref, rtol=2e-4, atol=2e-4 * np.abs(ref).max())
    np.testing.assert_allclose(
        m.bn1.running_mean.numpy(), FORWARD["_train_resnet18_running_mean"], rtol=1e-4, atol=1e-5
    )
    # the gradients in float64: one ReLU input of layer3.0 lies 3e-6 from zero, inside float32
    # rounding, so float32 gradients flip with the summation order (thread count, kernels)
    m = _build("resnet18").train()
    set_det(m)
    m = m.double()
    out = m(ember.from_numpy(det_input((4, 3, 64, 64)).astype(np.float64)))
    w = np.cos(np.arange(out.numel())).reshape(out.shape)
    (out * ember.from_numpy(w)).sum().backward()
    for k in ("conv1.weight", "layer1.0.bn1.weight", "layer4.1.bn2.weight", "fc.bias"):
        ref = FORWARD[f"_train_resnet18_grad_{k}"]
        got = m.get_parameter(k).grad.numpy()
        np.testing.assert_allclose(got, ref, rtol=1e-3, atol=1e-3 * np.abs(ref).max(), err_msg=k)


def test_googlenet_training_outputs():
    m = _build("googlenet", num_classes=7).train()
    set_det(m)
    out = m(ember.randn(2, 3, 64, 64))
    assert isinstance(out, models.GoogLeNetOutputs)
    assert [tuple(t.shape) for t in out] == [(2, 7)] * 3
    m.eval()
    assert tuple(m(ember.randn(1, 3, 64, 64)).shape) == (1, 7)


def test_num_classes_and_builder_errors():
    assert models.resnet18(num_classes=10).fc.out_features == 10
    with pytest.raises(ValueError, match="Unsupported SqueezeNet version"):
        models.SqueezeNet("2_0")
    with pytest.raises(ValueError, match="Unknown model"):
        models.get_model("resnet7")
