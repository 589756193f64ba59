"""Tensor transforms on CUDA tensors (the CuPy stand-in): CPU values, results on the device."""

from __future__ import annotations

import numpy as np
import pytest

import ember
from ember.vision import transforms as T
from ember.vision.transforms import functional as F
from tests._support.cuda import _backend_fixture, _host, _on_cuda  # noqa: F401
from tests.vision.fixtures import cases

OPS = {
    "resize": lambda x: F.resize(x, [7, 9]),
    "rotate": lambda x: F.rotate(x, 20.0, T.InterpolationMode.BILINEAR),
    "affine": lambda x: F.affine(x, 5.0, [1, 1], 1.1, [2.0, 0.0]),
    "hue": lambda x: F.adjust_hue(x, 0.2),
    "contrast": lambda x: F.adjust_contrast(x, 0.6),
    "blur": lambda x: F.gaussian_blur(x, 3, 1.0),
    "normalize": lambda x: F.normalize(x.float() / 255, [0.5] * 3, [0.25] * 3),
    "crop_flip": lambda x: F.hflip(F.center_crop(x, [8, 8])),
    "convert": lambda x: F.convert_image_dtype(x, ember.float32),
}


@pytest.mark.parametrize("name", sorted(OPS))
def test_transforms_keep_cuda_tensors_on_the_device(name):
    cpu = ember.from_numpy(cases.inputs()["u8"])
    dev = cpu.cuda()
    out_cpu, out_dev = OPS[name](cpu), OPS[name](dev)
    assert _on_cuda(out_dev) and out_dev.dtype == out_cpu.dtype
    np.testing.assert_allclose(_host(out_dev), _host(out_cpu), rtol=1e-6, atol=1e-6)
