"""ember.backends.openmp: OpenMP availability (NumPy's BLAS manages its own threads)."""

from __future__ import annotations


def is_available() -> bool:
    """False: ember itself starts no OpenMP threads."""
    return False
