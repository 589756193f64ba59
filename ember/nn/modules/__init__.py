"""nn.modules: every layer class, re-exported by ``ember.nn``."""

from __future__ import annotations

import importlib as _importlib

from .activation import *  # noqa: F401,F403
from .batchnorm import *  # noqa: F401,F403
from .container import *  # noqa: F401,F403
from .distance import *  # noqa: F401,F403
from .dropout import *  # noqa: F401,F403
from .flatten import *  # noqa: F401,F403
from .linear import *  # noqa: F401,F403
from .loss import *  # noqa: F401,F403
from .module import Module  # noqa: F401
from .normalization import *  # noqa: F401,F403
from .rnn import *  # noqa: F401,F403
from .sparse import *  # noqa: F401,F403
from .transformer import *  # noqa: F401,F403

# convolution, pooling and friends belong to another owner; each file is optional here
for _name in ("conv", "pooling", "padding", "upsampling", "pixelshuffle", "fold", "instancenorm"):
    try:
        _mod = _importlib.import_module(f".{_name}", __name__)
    except ImportError:  # pragma: no cover - the file has not landed yet
        continue
    for _k in getattr(_mod, "__all__", ()):
        globals()[_k] = getattr(_mod, _k)
del _name
