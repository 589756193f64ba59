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
    from .parallel import DataParallel, DistributedDataParallel  # noqa: F401
except ImportError:  # pragma: no cover
    pass


def _fill_core_gaps() -> None:
    """torch.softmax / log_softmax / dropout and Tensor.softmax / log_softmax route to
    nn.functional; installed only where the core namespace does not define them yet."""
    import ember as _ember

    from ..tensor import Tensor as _T
    from .functional import dropout as _dropout
    from .functional import log_softmax as _log_softmax
    from .functional import softmax as _softmax

    def softmax(input, dim, dtype=None):
        """Softmax along dim."""
        return _softmax(input, dim, dtype=dtype)

    def log_softmax(input, dim, dtype=None):
        """Log-softmax along dim."""
        return _log_softmax(input, dim, dtype=dtype)

    def dropout(input, p, train):
        """Dropout (torch.dropout's positional form)."""
        return _dropout(input, p, train)

    names = vars(_ember)
    for name, fn in (("softmax", softmax), ("log_softmax", log_softmax), ("dropout", dropout)):
        if name not in names:
            setattr(_ember, name, fn)
    for name, fn in (("softmax", softmax), ("log_softmax", log_softmax)):
        if name not in vars(_T):
            setattr(_T, name, fn)


_fill_core_gaps()
