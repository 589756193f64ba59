"""ember.backends.mps: Apple's Metal backend, which ember does not have."""

from __future__ import annotations

from .._torch_alias import module_getattr as _module_getattr


def is_available() -> bool:
    """False: ember has no Metal (MPS) backend."""
    return False


def is_built() -> bool:
    """False: ember was not built with Metal (MPS) support."""
    return False


__getattr__ = _module_getattr(__name__)  # unknown names: a clear not-implemented error
