"""torch._inductor: ember generates no code, so only the settings module ``config`` exists."""

from .._torch_alias import module_getattr as _module_getattr
from . import config  # noqa: F401

__getattr__ = _module_getattr(__name__)  # unknown names: a clear not-implemented error
