"""ember.vision: torchvision's API on ember.

``import ember.vision as torchvision`` works. This branch holds models and ops; datasets,
transforms, io and utils join them in the merged package.
"""

from __future__ import annotations

# -- models and ops (owned by the models/ops part): their imports go here --
from ember.vision import models, ops

__version__ = "0.29.1+ember"

__all__ = ["models", "ops", "__version__"]
