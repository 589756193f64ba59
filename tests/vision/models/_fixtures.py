"""The golden fixtures of tests/vision/fixtures_models (made from real torchvision by
make_fixtures.py there) and a context that builds models without running their initializers."""

from __future__ import annotations

import contextlib
import gzip
import json
from pathlib import Path

import numpy as np

import ember
import ember.nn.init as init
from tests.vision.fixtures_models.det_weights import det_input, det_value

HERE = Path(__file__).resolve().parents[1] / "fixtures_models"

with gzip.open(HERE / "models.json.gz", "rt") as f:
    STRUCTURES: dict = json.load(f)
FORWARD = dict(np.load(HERE / "models_forward.npz"))
PRESETS = dict(np.load(HERE / "presets.npz"))
SMALL_VIT = dict(image_size=32, patch_size=8, num_layers=2, num_heads=2, hidden_dim=32, mlp_dim=64)

_INITS = (
    "kaiming_normal_",
    "kaiming_uniform_",
    "normal_",
    "uniform_",
    "trunc_normal_",
    "constant_",
    "zeros_",
    "ones_",
    "xavier_uniform_",
    "xavier_normal_",
)


@contextlib.contextmanager
def no_init():
    """Initializers become no-ops: building a 600M-parameter model then costs only its
    allocation (the structure tests do not need the random values)."""
    saved = {n: getattr(init, n) for n in _INITS}
    try:
        for n in _INITS:
            setattr(init, n, lambda t, *a, **k: t)
        yield
    finally:
        for n, fn in saved.items():
            setattr(init, n, fn)


def set_det(model: ember.nn.Module) -> None:
    """Loads the deterministic weights of det_weights.det_value (same on torchvision's side)."""
    sd = model.state_dict()
    new = {
        k: ember.from_numpy(det_value(i, k, tuple(v.shape), v.is_floating_point()))
        for i, (k, v) in enumerate(sd.items())
    }
    model.load_state_dict(new)


def structure_of(model: ember.nn.Module) -> dict:
    sd = model.state_dict()
    return {
        "keys": [[k, list(v.shape), "torch." + str(v.dtype).split(".")[-1]] for k, v in sd.items()],
        "num_params": sum(p.numel() for p in model.parameters()),
        "repr": str(model),
    }


__all__ = ["STRUCTURES", "FORWARD", "PRESETS", "SMALL_VIT", "det_input", "no_init", "set_det"]
