"""ember.vision.transforms against real torchvision (golden fixtures) and its own contracts."""

from __future__ import annotations

import types

import numpy as np
import pytest

import ember
from ember.vision import transforms as T
from ember.vision.transforms import functional as F
from ember.vision.transforms import v2
from tests._support.torch_ref import torch
from tests.vision.conftest import assert_matches, vision_inputs
from tests.vision.fixtures import cases

CASES = cases.transform_cases(F, T, ember)
SEEDED = cases.seeded_cases(T)


@pytest.fixture(scope="module")
def inputs() -> dict:
    return vision_inputs()


@pytest.mark.parametrize("name", sorted(CASES))
def test_functional_matches_torchvision(name, inputs, golden):
    src, fn = CASES[name]
    out = cases.as_array(fn(inputs[src]))
    assert_matches(out, golden[f"t/{name}"], name)


def _streams_match_torch(golden_meta) -> bool:
    ember.manual_seed(0)
    return np.allclose(ember.rand(4).tolist(), golden_meta["rng_fingerprint"], rtol=0, atol=0)


@pytest.mark.parametrize("name", sorted(SEEDED))
def test_seeded_random_transforms_match_torchvision(name, inputs, golden, golden_meta):
    # Needs ember's generator to give torch's streams (manual_seed(s) -> the same draws).
    if not _streams_match_torch(golden_meta):
        pytest.skip("ember's random stream differs from torch's on this build")
    src, seed, tr = SEEDED[name]
    ember.manual_seed(seed)
    assert_matches(cases.as_array(tr(inputs[src])), golden[f"s/{name}"], name)


def test_fakedata_matches_torchvision_when_streams_match(golden, golden_meta):
    from ember.vision.datasets import FakeData

    if not _streams_match_torch(golden_meta):
        pytest.skip("ember's random stream differs from torch's on this build")
    fake = FakeData(size=3, image_size=(3, 5, 6), num_classes=4)
    np.testing.assert_array_equal(
        np.stack([np.asarray(fake[i][0]) for i in range(3)]), golden["s/fakedata"]
    )
    assert [fake[i][1] for i in range(3)] == golden_meta["fakedata_targets"]


# -- the random transforms apply exactly the functional op with the parameters they draw --------


def _replay(seed, draw, apply):
    """Run ``draw`` then ``apply`` under one seed: the random transform must equal this."""
    ember.manual_seed(seed)
    return apply(*draw())


def test_random_resized_crop_is_get_params_then_resized_crop(inputs):
    x = inputs["u8"]
    tr = T.RandomResizedCrop(8)
    ember.manual_seed(3)
    out = tr(x)
    ember.manual_seed(3)
    i, j, h, w = T.RandomResizedCrop.get_params(x, tr.scale, tr.ratio)
    assert 0 <= i <= x.shape[-2] - h and 0 <= j <= x.shape[-1] - w
    ref = F.resized_crop(x, i, j, h, w, [8, 8])
    np.testing.assert_array_equal(out.numpy(), ref.numpy())


def test_color_jitter_order_and_factors(inputs):
    x = inputs["u8"]
    tr = T.ColorJitter(0.4, 0.3, 0.2, 0.1)
    ember.manual_seed(5)
    out = tr(x)
    ember.manual_seed(5)
    order, b, c, s, h = T.ColorJitter.get_params(tr.brightness, tr.contrast, tr.saturation, tr.hue)
    assert sorted(order.tolist()) == [0, 1, 2, 3]
    assert 0.6 <= b <= 1.4 and 0.7 <= c <= 1.3 and 0.8 <= s <= 1.2 and -0.1 <= h <= 0.1
    ref = x
    fns = {0: (F.adjust_brightness, b), 1: (F.adjust_contrast, c), 2: (F.adjust_saturation, s)}
    fns[3] = (F.adjust_hue, h)
    for k in order.tolist():
        fn, v = fns[k]
        ref = fn(ref, v)
    np.testing.assert_array_equal(out.numpy(), ref.numpy())


def test_random_affine_and_rotation_use_their_params(inputs):
    x = inputs["u8"]
    tr = T.RandomAffine(20, (0.1, 0.2), (0.8, 1.2), (-5, 5, -3, 3))
    ember.manual_seed(9)
    out = tr(x)
    ember.manual_seed(9)
    angle, tr_xy, scale, shear = T.RandomAffine.get_params(
        tr.degrees, tr.translate, tr.scale, tr.shear, [x.shape[-1], x.shape[-2]]
    )
    assert -20 <= angle <= 20 and 0.8 <= scale <= 1.2 and abs(tr_xy[0]) <= 2
    ref = F.affine(x, angle, list(tr_xy), scale, list(shear), fill=[0.0, 0.0, 0.0])
    np.testing.assert_array_equal(out.numpy(), ref.numpy())
    rot = T.RandomRotation((10, 40))
    ember.manual_seed(2)
    out = rot(x)
    ember.manual_seed(2)
    ang = T.RandomRotation.get_params(rot.degrees)
    assert 10 <= ang <= 40
    np.testing.assert_array_equal(out.numpy(), F.rotate(x, ang, fill=[0.0] * 3).numpy())


def test_random_erasing_and_crop_and_perspective_params(inputs):
    x = inputs["f32"]
    ember.manual_seed(4)
    i, j, h, w, v = T.RandomErasing.get_params(x, (0.02, 0.33), (0.3, 3.3), value=[0.5])
    assert h < x.shape[-2] and w < x.shape[-1] and float(v.reshape(-1)[0]) == 0.5
    ember.manual_seed(1)
    i, j, th, tw = T.RandomCrop.get_params(x, (5, 6))
    assert (th, tw) == (5, 6) and 0 <= i <= x.shape[-2] - 5 and 0 <= j <= x.shape[-1] - 6
    start, end = T.RandomPerspective.get_params(17, 13, 0.5)
    assert start == [[0, 0], [16, 0], [16, 12], [0, 12]]
    assert all(0 <= px < 17 and 0 <= py < 13 for px, py in end)


def test_seed_makes_pipelines_reproducible(inputs):
    pipe = T.Compose(
        [
            T.RandomResizedCrop(10),
            T.RandomHorizontalFlip(),
            T.ColorJitter(0.4, 0.4, 0.4, 0.1),
            T.RandAugment(),
            T.ToTensor(),
            T.RandomErasing(p=1.0),
        ]
    )
    ember.manual_seed(7)
    a = pipe(inputs["pil"])
    ember.manual_seed(7)
    b = pipe(inputs["pil"])
    np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert a.shape == (3, 10, 10) and a.dtype == ember.float32


@pytest.mark.parametrize(
    "aug",
    [T.AutoAugment(), T.RandAugment(), T.TrivialAugmentWide(), T.AugMix(), T.ElasticTransform()],
)
def test_auto_augment_shapes_on_tensors_and_pil(aug, inputs):
    ember.manual_seed(0)
    out = aug(inputs["u8"])
    assert out.shape == inputs["u8"].shape and out.dtype == ember.uint8
    out_pil = aug(inputs["pil"])
    assert out_pil.size == inputs["pil"].size


def test_augmix_weights_are_a_convex_mix(monkeypatch):
    # with every augmentation replaced by the identity, the Dirichlet-weighted mix is the image
    from ember.vision.transforms import autoaugment

    monkeypatch.setattr(autoaugment, "_apply_op", lambda img, *args: img)
    x = ember.rand(3, 9, 9)
    out = T.AugMix(mixture_width=4, alpha=0.7)(x)
    np.testing.assert_allclose(out.numpy(), x.numpy(), rtol=1e-5, atol=1e-6)


def test_v2_names_and_extras(inputs):
    for name in T.__all__:
        if name != "functional":
            assert getattr(v2, name) is getattr(T, name)
    img = v2.ToImage()(inputs["pil"])
    assert img.dtype == ember.uint8 and tuple(img.shape) == (3, cases.H, cases.W)
    f = v2.ToDtype(ember.float32, scale=True)(img)
    np.testing.assert_allclose(f.numpy(), img.numpy().astype(np.float32) / 255, rtol=1e-6)
    assert v2.ToDtype(ember.float32)(img).max().item() > 1
    assert v2.functional.to_dtype(img, ember.float32, scale=True).dtype == ember.float32


def test_reprs_and_errors():
    assert (
        repr(T.Resize(8)) == "Resize(size=8, interpolation=bilinear, max_size=None, antialias=True)"
    )
    assert (
        repr(T.Compose([T.ToTensor(), T.Lambda(abs)]))
        == "Compose(\n    ToTensor()\n    Lambda()\n)"
    )
    assert repr(T.RandomHorizontalFlip()) == "RandomHorizontalFlip(p=0.5)"
    assert "ColorJitter(brightness=(0.6, 1.4)" in repr(T.ColorJitter(0.4))
    with pytest.raises(ValueError, match="hue_factor"):
        F.adjust_hue(ember.zeros(3, 4, 4), 0.7)
    with pytest.raises(TypeError, match="Only torch.uint8"):
        F.posterize(ember.zeros(3, 4, 4), 2)
    with pytest.raises(TypeError, match="Input tensor should be a float tensor"):
        F.normalize(ember.zeros(3, 4, 4, dtype=ember.uint8), [0.5], [0.5])
    with pytest.raises(TypeError, match="pic should be PIL Image or ndarray"):
        F.to_tensor(ember.zeros(3, 4, 4))
    with pytest.raises(ValueError, match="Requested crop size"):
        F.five_crop(ember.zeros(3, 4, 4), 5)
    assert isinstance(T.Normalize([0.5], [0.5]), ember.nn.Module)


class _TorchDraws(types.ModuleType):
    """``ember`` as the transforms see it, with every random draw taken from torch's generator.

    ember's generator does not give torch's streams on every build, so this checks what ember
    controls: which draws each transform makes, in which order, and how it uses them.
    """

    def __getattr__(self, name: str):
        return getattr(ember, name)

    @staticmethod
    def _wrap(t):
        return ember.from_numpy(t.numpy().copy())

    def rand(self, *size, dtype=None):
        return self._wrap(
            torch.rand(*size, dtype=torch.float64 if dtype == ember.float64 else None)
        )

    def randn(self, *size, dtype=None):
        return self._wrap(torch.randn(*size))

    def randint(self, *args, size=None, dtype=None):
        return self._wrap(
            torch.randint(*args, size=size) if size is not None else torch.randint(*args)
        )

    def randperm(self, n):
        return self._wrap(torch.randperm(n))

    def empty(self, *shape, dtype=None):
        draws = self

        class _Empty:
            def uniform_(self, low, high):
                return draws._wrap(torch.empty(*shape).uniform_(low, high))

            def normal_(self):
                return draws._wrap(torch.empty(*shape).normal_())

        return _Empty()


@pytest.mark.parametrize("name", sorted(SEEDED))
def test_draw_order_matches_torchvision_on_torchs_stream(name, inputs, golden, monkeypatch):
    from ember.vision.transforms import autoaugment, transforms

    shim = _TorchDraws("ember")
    monkeypatch.setattr(transforms, "ember", shim)
    monkeypatch.setattr(autoaugment, "ember", shim)
    src, seed, tr = SEEDED[name]
    torch.manual_seed(seed)
    assert_matches(cases.as_array(tr(inputs[src])), golden[f"s/{name}"], name)


def test_normalize_keeps_autograd_and_inplace():
    x = ember.rand(3, 4, 5, requires_grad=True)
    y = F.normalize(x, [0.5, 0.4, 0.3], [0.25, 0.5, 2.0])
    y.sum().backward()
    np.testing.assert_allclose(x.grad[:, 0, 0].numpy(), [4.0, 2.0, 0.5])
    z = ember.rand(3, 4, 5)
    before = z.clone()
    out = F.normalize(z, [0.5] * 3, [0.5] * 3, inplace=True)
    assert out is z
    np.testing.assert_allclose(z.numpy(), (before.numpy() - 0.5) / 0.5, rtol=1e-6)
    same = F.normalize(before, [0.5] * 3, [0.5] * 3)
    np.testing.assert_array_equal(same.numpy(), z.numpy())
    assert same.is_contiguous() and F.to_tensor(np.zeros((4, 5, 3), np.uint8)).is_contiguous()


def test_pipelines_pickle_for_spawned_workers(inputs):
    import pickle

    pipe = T.Compose(
        [
            T.RandomResizedCrop(8),
            T.RandomApply([T.ColorJitter(0.3)], p=0.5),
            T.RandomChoice([T.RandomRotation(10), T.RandomAffine(5)]),
            T.AutoAugment(),
            T.PILToTensor(),
            T.ConvertImageDtype(ember.float32),
            T.Normalize([0.5] * 3, [0.5] * 3),
        ]
    )
    back = pickle.loads(pickle.dumps(pipe))
    ember.manual_seed(1)
    import random

    random.seed(1)
    a = pipe(inputs["pil"])
    ember.manual_seed(1)
    random.seed(1)
    b = back(inputs["pil"])
    np.testing.assert_array_equal(a.numpy(), b.numpy())
