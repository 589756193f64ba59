"""torch.cuda.amp: the deprecated CUDA spellings of torch.amp's autocast and GradScaler."""

from ..._torch_alias import module_getattr as _module_getattr
from . import autocast_mode, common, grad_scaler
from .autocast_mode import autocast, custom_bwd, custom_fwd
from .common import amp_definitely_not_available
from .grad_scaler import GradScaler

__all__ = [
    "amp_definitely_not_available",
    "autocast",
    "autocast_mode",
    "common",
    "custom_bwd",
    "custom_fwd",
    "grad_scaler",
    "GradScaler",
]

__getattr__ = _module_getattr(__name__)  # unknown names: a clear not-implemented error
