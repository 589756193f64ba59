"""ember.backends: the switches of ``torch.backends`` (cudnn, cuda, mps, ...), as settable flags.

ember computes with NumPy/CuPy, so most flags change nothing; they exist so that scripts which
set them for reproducibility or speed run unchanged.
"""

from __future__ import annotations

from . import cuda, cudnn, mkldnn, mps, openmp  # noqa: F401

__all__ = ["cuda", "cudnn", "mkldnn", "mps", "openmp"]
