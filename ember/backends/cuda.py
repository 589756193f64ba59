"""ember.backends.cuda: the CUDA matmul switches of ``torch.backends.cuda`` (stored, not used)."""

from __future__ import annotations

from .. import cuda
from .._torch_alias import module_getattr as _module_getattr


class _MatmulFlags:
    """Holds ``torch.backends.cuda.matmul.allow_tf32`` and its siblings."""

    def __init__(self) -> None:
        self.allow_tf32 = False
        self.allow_fp16_reduced_precision_reduction = True
        self.allow_bf16_reduced_precision_reduction = True
        self.fp32_precision = "ieee"


matmul = _MatmulFlags()


def is_built() -> bool:
    """True when CuPy is importable (ember's CUDA support)."""
    return cuda.is_available()


def preferred_linalg_library(backend: object = None) -> str:
    """The linear algebra library in use: CuPy's (cuSOLVER) on GPU, NumPy's LAPACK on CPU."""
    return "default"


__getattr__ = _module_getattr(__name__)  # unknown names: a clear not-implemented error
