"""torch.amp: automatic mixed precision (autocast regions and the gradient scaler)."""

from .._torch_alias import module_getattr as _module_getattr
from . import autocast_mode, grad_scaler
from .autocast_mode import autocast, custom_bwd, custom_fwd, is_autocast_available
from .grad_scaler import GradScaler

__all__ = [
    "autocast",
    "autocast_mode",
    "custom_bwd",
    "custom_fwd",
    "grad_scaler",
    "is_autocast_available",
    "GradScaler",
]

__getattr__ = _module_getattr(__name__)  # unknown names: a clear not-implemented error
