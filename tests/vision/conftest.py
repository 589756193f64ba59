"""Fixtures for the ember.vision tests: the torchvision golden files and the shared inputs."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

import ember
from tests.vision.fixtures import cases

FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures")

try:
    import PIL  # noqa: F401  (Pillow is the ember[vision] extra; the test extra installs it)
except ImportError:  # without Pillow only the error-path tests could run: skip the folder
    collect_ignore_glob = ["test_*.py"]


@pytest.fixture(scope="session")
def golden() -> dict[str, np.ndarray]:
    """Arrays produced by real torchvision 0.29.1 (see fixtures/make_fixtures.py)."""
    with np.load(os.path.join(FIXTURES, "torchvision_golden.npz")) as f:
        return {k: f[k] for k in f.files}


@pytest.fixture(scope="session")
def golden_meta() -> dict:
    """Reprs, class lists and RNG fingerprints recorded from real torchvision."""
    with open(os.path.join(FIXTURES, "torchvision_golden.json")) as f:
        return json.load(f)


def vision_inputs() -> dict:
    """The shared inputs as ember tensors and PIL images."""
    from PIL import Image

    arrs = cases.inputs()
    out = {k: ember.from_numpy(v) for k, v in arrs.items()}
    out["pil"] = cases.make_pil(Image, arrs["u8"])
    out["pil_gray"] = cases.make_pil(Image, arrs["gray"])
    return out


def assert_matches(out: np.ndarray, ref: np.ndarray, name: str) -> None:
    """Integer results exactly; float results within a few float32 rounding steps."""
    assert out.shape == ref.shape, (name, out.shape, ref.shape)
    assert out.dtype == ref.dtype, (name, out.dtype, ref.dtype)
    if np.issubdtype(ref.dtype, np.floating):
        np.testing.assert_allclose(out, ref, rtol=1e-6, atol=2e-6, err_msg=name)
    else:
        np.testing.assert_array_equal(out, ref, err_msg=name)
