"""The weights API of ember.vision.models (enums, names, the registry, the deprecated
``pretrained=``, loading from the torch hub cache, the preprocessing preset) against torchvision's
behaviour; preset values against torchvision's fixtures."""

from __future__ import annotations

import urllib.error
import urllib.request
import warnings

import numpy as np
import pytest

import ember
from ember.vision import models
from ember.vision.transforms._presets import ImageClassification
from ember.vision.transforms.functional import InterpolationMode
from tests.vision.models._fixtures import PRESETS, STRUCTURES, no_init, set_det


def test_enums_members_default_and_names():
    w = models.ResNet50_Weights
    assert [m.name for m in w] == ["IMAGENET1K_V1", "IMAGENET1K_V2"]
    assert w.DEFAULT is w.IMAGENET1K_V2
    assert repr(w.DEFAULT) == str(w.DEFAULT) == "ResNet50_Weights.IMAGENET1K_V2"
    assert w.verify("DEFAULT") is w.IMAGENET1K_V2
    assert w.verify("ResNet50_Weights.IMAGENET1K_V1") is w.IMAGENET1K_V1
    assert w.verify(None) is None
    with pytest.raises(TypeError, match="expected ResNet50_Weights but received"):
        w.verify(models.ResNet18_Weights.DEFAULT)
    with pytest.raises(KeyError):
        w.verify("IMAGENET1K_V9")
    assert w.IMAGENET1K_V2.url == "https://download.pytorch.org/models/resnet50-11ad3fa6.pth"
    assert models.ResNet18_Weights.IMAGENET1K_V1.meta["num_params"] == 11689512


def test_meta_categories_and_param_counts_agree_with_torchvision():
    cats = models.AlexNet_Weights.DEFAULT.meta["categories"]
    assert len(cats) == 1000 and cats[0] == "tench" and cats[-1] == "toilet tissue"
    assert models.VGG16_Weights.IMAGENET1K_FEATURES.meta["categories"] is None
    for name in models.list_models():
        for w in models.get_model_weights(name):
            # the stored facts agree with the structure of torchvision's model
            if w.meta["categories"] is not None and name != "googlenet":
                if name.startswith("vit") and w.meta["min_size"][0] != 224:
                    continue  # SWAG weights: a bigger image, so a longer position table
                assert w.meta["num_params"] == STRUCTURES[name]["num_params"], (name, w)
    with no_init(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        g = models.googlenet(aux_logits=False)  # its weights come without the auxiliary heads
    assert sum(p.numel() for p in g.parameters()) == 6624904


def test_registry_functions():
    assert models.get_model_weights("resnet18") is models.ResNet18_Weights
    assert models.get_model_weights(models.resnet18) is models.ResNet18_Weights
    assert models.get_weight("ResNet50_Weights.IMAGENET1K_V2") is models.ResNet50_Weights.DEFAULT
    assert models.list_models(include="resnet*", exclude="resnet1*") == ["resnet34", "resnet50"]
    assert "vit_b_16" in models.list_models(module=models)
    assert models.get_model_builder("ResNet18") is models.resnet18


def test_num_classes_conflicts_with_weights(monkeypatch):
    with pytest.raises(ValueError, match="'num_classes' expected value 1000 but got 10"):
        models.resnet18(weights="DEFAULT", num_classes=10)


def test_pretrained_keyword_is_deprecated_and_maps_to_v1(monkeypatch):
    seen = []
    monkeypatch.setattr(models.ResNet50_Weights, "get_state_dict", None, raising=False)

    def fake_finish(model, weights, progress):
        seen.append(weights)
        return model

    monkeypatch.setattr(models.resnet, "finish", fake_finish)
    with warnings.catch_warnings(record=True) as rec, no_init():
        warnings.simplefilter("always")
        models.resnet50(pretrained=True)
        models.resnet50(pretrained=False)
        models.resnet50(True)
    assert seen == [
        models.ResNet50_Weights.IMAGENET1K_V1,
        None,
        models.ResNet50_Weights.IMAGENET1K_V1,
    ]
    msgs = [str(r.message) for r in rec]
    assert "The parameter 'pretrained' is deprecated since 0.13" in msgs[0]
    assert "equivalent to passing `weights=ResNet50_Weights.IMAGENET1K_V1`" in msgs[1]
    assert "You can also use `weights=ResNet50_Weights.DEFAULT`" in msgs[1]
    assert any("as positional parameter(s) is deprecated" in m for m in msgs)
    with pytest.raises(ValueError, match="No weights available for model vit_h_14"):
        models.vit_h_14(pretrained=True)


def test_weights_load_from_the_hub_cache(tmp_path, monkeypatch):
    """A torch-format checkpoint at $TORCH_HOME/hub/checkpoints/<torchvision's file name>."""
    torch = pytest.importorskip("torch")
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    with no_init():
        ref = models.squeezenet1_1()
    set_det(ref)
    sd = {k: torch.from_numpy(v.numpy().copy()) for k, v in ref.state_dict().items()}
    ckpt = tmp_path / "hub" / "checkpoints" / "squeezenet1_1-b8a52dc0.pth"
    ckpt.parent.mkdir(parents=True)
    torch.save(sd, ckpt)
    m = models.squeezenet1_1(weights=models.SqueezeNet1_1_Weights.IMAGENET1K_V1)
    for k, v in ref.state_dict().items():
        np.testing.assert_array_equal(m.state_dict()[k].numpy(), v.numpy())


def test_densenet_loads_the_old_key_names(tmp_path, monkeypatch):
    torch = pytest.importorskip("torch")
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    with no_init():
        ref = models.densenet121()
    sd = {}
    for k, v in ref.state_dict().items():  # the published file says norm.1 for norm1
        if k.endswith("num_batches_tracked"):
            continue  # that file predates the counter
        k = k.replace("norm1", "norm.1").replace("conv2", "conv.2") if "denselayer" in k else k
        sd[k] = torch.zeros(tuple(v.shape), dtype=torch.int64 if v.dtype == ember.int64 else None)
    ckpt = tmp_path / "hub" / "checkpoints" / "densenet121-a639ec97.pth"
    ckpt.parent.mkdir(parents=True)
    torch.save(sd, ckpt)
    m = models.densenet121(weights="DEFAULT")
    assert float(m.features.denseblock1.denselayer1.norm1.weight.abs().sum()) == 0.0


def test_missing_checkpoint_without_network_names_url_and_path(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))

    def offline(*a, **k):
        raise urllib.error.URLError("no network")

    monkeypatch.setattr(urllib.request, "urlopen", offline)
    with pytest.raises(RuntimeError) as e, no_init():
        models.resnet18(weights="DEFAULT")
    msg = str(e.value)
    assert "https://download.pytorch.org/models/resnet18-f37072fd.pth" in msg
    assert str(tmp_path / "hub" / "checkpoints" / "resnet18-f37072fd.pth") in msg


def test_preset_repr():
    t = models.ResNet50_Weights.DEFAULT.transforms()
    assert repr(t) == (
        "ImageClassification(\n    crop_size=[224]\n    resize_size=[232]\n"
        "    mean=[0.485, 0.456, 0.406]\n    std=[0.229, 0.224, 0.225]\n"
        "    interpolation=InterpolationMode.BILINEAR\n)"
    )
    vit = models.ViT_B_16_Weights.IMAGENET1K_SWAG_E2E_V1.transforms()
    assert vit.interpolation is InterpolationMode.BICUBIC and vit.crop_size == [384]


CASES = {
    "up": dict(crop_size=48, resize_size=52),
    "down": dict(crop_size=16, resize_size=20),
    "down_bicubic": dict(crop_size=18, resize_size=24, interpolation=InterpolationMode.BICUBIC),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_preset_values_match_torchvision(case):
    tr = ImageClassification(**CASES[case])
    img = PRESETS["img"]
    out = tr(ember.from_numpy(img.copy())).numpy()
    # torch resizes uint8 with fixed-point weights: at most one level (1/255/std) apart
    np.testing.assert_allclose(out, PRESETS[f"{case}_uint8"], atol=1.01 / 255 / 0.224)
    assert np.mean(np.abs(out - PRESETS[f"{case}_uint8"]) > 1e-5) < 0.05
    out = tr(ember.from_numpy(img.astype(np.float32) / 255)).numpy()
    np.testing.assert_allclose(out, PRESETS[f"{case}_float"], atol=2e-5)
    pil = pytest.importorskip("PIL.Image")
    out = tr(pil.fromarray(img.transpose(1, 2, 0))).numpy()
    np.testing.assert_allclose(out, PRESETS[f"{case}_pil"], atol=1e-6)
