"""ember.backends.mkldnn: oneDNN switches (stored, not used; NumPy's BLAS does the work)."""

from __future__ import annotations

enabled: bool = True


def is_available() -> bool:
    """False: ember does not call oneDNN."""
    return False
