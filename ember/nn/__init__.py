"""ember.nn: modules, functional, init, Parameter and utils, as ``torch.nn``."""

from __future__ import annotations

from . import (  # noqa: F401
    functional,
    init,
    utils,  # noqa: E402,F401
)
from .modules import *  # noqa: F401,F403
from .modules import Module  # noqa: F401
from .modules.module import (  # noqa: F401
    register_module_forward_hook,
    register_module_forward_pre_hook,
)
from .parameter import Buffer, Parameter  # noqa: F401
from .parameter import Parameter as UninitializedParameter  # noqa: F401

try:  # DistributedDataParallel and friends, owned elsewhere
    from . import parallel  # noqa: F401
    from .parallel import DistributedDataParallel  # noqa: F401
except ImportError:  # pragma: no cover
    pass
