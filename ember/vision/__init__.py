"""ember.vision: torchvision's API on ember (datasets, transforms, io, utils, models, ops).

``import ember.vision as torchvision`` works, and under ``ember run`` ``import torchvision`` (and
every ``torchvision.*`` submodule) resolves here. Pillow is an optional extra (``ember[vision]``):
only the parts that handle images need it, and they name the extra when it is missing.
"""

from __future__ import annotations

from ember.vision import datasets, io, models, ops, transforms, utils
from ember.vision._backend import (
    get_image_backend,
    get_video_backend,
    set_image_backend,
    set_video_backend,
)

__version__ = "0.29.1+ember"

__all__ = [
    "datasets",
    "io",
    "models",
    "ops",
    "transforms",
    "utils",
    "get_image_backend",
    "set_image_backend",
    "get_video_backend",
    "set_video_backend",
    "__version__",
]
