"""torchvision.transforms.v2.functional: the v1 functions plus to_image and to_dtype."""

from ember.vision.transforms.functional import *  # noqa: F401,F403  (the same functions)
from ember.vision.transforms.functional import __all__ as _v1_all
from ember.vision.transforms.v2._extra import to_dtype, to_image

__all__ = [*_v1_all, "to_image", "to_dtype"]
