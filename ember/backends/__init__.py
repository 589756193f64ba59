"""ember.backends: the switches of ``torch.backends`` (cudnn, cuda, mps, ...), as settable flags.

ember computes with NumPy/CuPy, so most flags change nothing; they exist so that scripts which
set them for reproducibility or speed run unchanged.
"""

from __future__ import annotations

from .._torch_alias import module_getattr as _module_getattr
from . import cuda, cudnn, mkldnn, mps, openmp  # noqa: F401

__all__ = ["cuda", "cudnn", "mkldnn", "mps", "openmp"]

__getattr__ = _module_getattr(__name__)  # unknown names: a clear not-implemented error
