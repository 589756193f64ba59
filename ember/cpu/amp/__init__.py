"""torch.cpu.amp: the deprecated CPU spellings of torch.amp's autocast and GradScaler."""

from ..._torch_alias import module_getattr as _module_getattr
from . import autocast_mode, grad_scaler
from .autocast_mode import autocast
from .grad_scaler import GradScaler

__all__ = ["autocast", "autocast_mode", "grad_scaler", "GradScaler"]

__getattr__ = _module_getattr(__name__)  # unknown names: a clear not-implemented error
