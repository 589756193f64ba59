"""torchvision.models on ember: the classification models with torchvision's module structure
(state_dict keys, shapes and printout) and its weights API (``weights=``, ``get_model``, ...)."""

from __future__ import annotations

# a submodule, as torchvision.models.feature_extraction (which `import torchvision` leaves
# unimported; here it is imported so the attribute is always there)
from ember.vision.models import feature_extraction  # noqa: F401

# the registry and weights API, then every model module's __all__
from ember.vision.models._api import (  # noqa: F401  # noqa: F401  # noqa: F401
    Weights,
    WeightsEnum,
    get_model,
    get_model_builder,
    get_model_weights,
    get_weight,
    list_models,
)
from ember.vision.models.alexnet import *  # noqa: F403
from ember.vision.models.convnext import *  # noqa: F403
from ember.vision.models.densenet import *  # noqa: F403
from ember.vision.models.efficientnet import *  # noqa: F403
from ember.vision.models.googlenet import *  # noqa: F403
from ember.vision.models.mobilenetv2 import *  # noqa: F403
from ember.vision.models.mobilenetv3 import *  # noqa: F403
from ember.vision.models.resnet import *  # noqa: F403
from ember.vision.models.shufflenetv2 import *  # noqa: F403
from ember.vision.models.squeezenet import *  # noqa: F403
from ember.vision.models.vgg import *  # noqa: F403
from ember.vision.models.vision_transformer import *  # noqa: F403
