"""ember.backends.mkldnn: oneDNN switches (stored, not used; NumPy's BLAS does the work)."""

from __future__ import annotations

from .._torch_alias import module_getattr as _module_getattr

enabled: bool = True


def is_available() -> bool:
    """False: ember does not call oneDNN."""
    return False


__getattr__ = _module_getattr(__name__)  # unknown names: a clear not-implemented error
