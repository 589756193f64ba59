"""nn.functional: the stateless layer functions, as ``torch.nn.functional``.

The implementations live in private files by family; this module re-exports them.
"""

from __future__ import annotations

from ..ops.unary import tanh as _tanh  # noqa: F401
from ._functional_act import *  # noqa: F401,F403
from ._functional_act import __all__ as _a
from ._functional_bag import *  # noqa: F401,F403
from ._functional_bag import __all__ as _bag
from ._functional_basic import *  # noqa: F401,F403
from ._functional_basic import __all__ as _b
from ._functional_loss import *  # noqa: F401,F403
from ._functional_loss import __all__ as _c
from ._functional_norm import *  # noqa: F401,F403
from ._functional_norm import __all__ as _d

__all__ = list(_a) + list(_b) + list(_bag) + list(_c) + list(_d)

try:  # convolution and pooling live in the conv owner's file
    from . import _functional_conv as _fc
    from ._functional_conv import *  # noqa: F401,F403

    __all__ += [k for k in getattr(_fc, "__all__", ()) if k not in __all__]
except ImportError:  # pragma: no cover - absent until that file lands
    pass
