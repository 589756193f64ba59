"""ember.utils: helpers outside the tensor core, as ``torch.utils``."""

from .._torch_alias import module_getattr as _module_getattr
from . import _pytree, checkpoint, data, dlpack  # noqa: F401

__getattr__ = _module_getattr(__name__)  # unknown names: a clear not-implemented error
