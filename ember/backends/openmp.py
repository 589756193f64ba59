"""ember.backends.openmp: OpenMP availability (NumPy's BLAS manages its own threads)."""

from __future__ import annotations

from .._torch_alias import module_getattr as _module_getattr


def is_available() -> bool:
    """False: ember itself starts no OpenMP threads."""
    return False


__getattr__ = _module_getattr(__name__)  # unknown names: a clear not-implemented error
