"""ember.backends.cuda: the CUDA matmul and attention switches of ``torch.backends.cuda``.

The switches are stored and read back as torch's are, but not used: ember computes matmuls and
``scaled_dot_product_attention`` one way whatever they say.
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterator

from .. import cuda
from .._torch_alias import module_getattr as _module_getattr
from ..nn import attention as _attention
from ..nn.attention import SDPBackend


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


def enable_flash_sdp(enabled: bool) -> None:
    """Record whether flash attention may be used (a flag only: ember's attention is unchanged)."""
    _attention._set_flag("flash", enabled)


def flash_sdp_enabled() -> bool:
    """Whether flash attention is enabled (True by default, as torch)."""
    return _attention._get_flag("flash")


def enable_mem_efficient_sdp(enabled: bool) -> None:
    """Record whether memory-efficient attention may be used (a flag only)."""
    _attention._set_flag("mem_efficient", enabled)


def mem_efficient_sdp_enabled() -> bool:
    """Whether memory-efficient attention is enabled (True by default, as torch)."""
    return _attention._get_flag("mem_efficient")


def enable_math_sdp(enabled: bool) -> None:
    """Record whether the math attention kernel may be used (a flag only)."""
    _attention._set_flag("math", enabled)


def math_sdp_enabled() -> bool:
    """Whether the math attention kernel is enabled (True by default, as torch)."""
    return _attention._get_flag("math")


def enable_cudnn_sdp(enabled: bool) -> None:
    """Record whether cuDNN attention may be used (a flag only)."""
    _attention._set_flag("cudnn", enabled)


def cudnn_sdp_enabled() -> bool:
    """Whether cuDNN attention is enabled (True by default, as torch)."""
    return _attention._get_flag("cudnn")


def allow_fp16_bf16_reduction_math_sdp(enabled: bool) -> None:
    """Record whether the math kernel may reduce in fp16/bf16 (a flag only)."""
    _attention._set_math_reduction(enabled)


def fp16_bf16_reduction_math_sdp_allowed() -> bool:
    """Whether the math kernel may reduce in fp16/bf16 (False by default, as torch)."""
    return _attention._get_math_reduction()


@contextlib.contextmanager
def _sdp_kernel(
    enable_flash: bool, enable_math: bool, enable_mem_efficient: bool, enable_cudnn: bool
) -> Iterator[dict]:
    wanted = [
        (enable_flash, SDPBackend.FLASH_ATTENTION),
        (enable_mem_efficient, SDPBackend.EFFICIENT_ATTENTION),
        (enable_math, SDPBackend.MATH),
        (enable_cudnn, SDPBackend.CUDNN_ATTENTION),
    ]
    with _attention.sdpa_kernel([b for on, b in wanted if on]) as context:
        yield context


def sdp_kernel(
    enable_flash: bool = True,
    enable_math: bool = True,
    enable_mem_efficient: bool = True,
    enable_cudnn: bool = True,
) -> contextlib.AbstractContextManager:
    """Deprecated context manager that enables only the chosen attention backends (flags only).

    As torch: calling it warns with a FutureWarning; prefer ``torch.nn.attention.sdpa_kernel``.
    """
    warnings.warn(
        "`torch.backends.cuda.sdp_kernel()` is deprecated. In the future, this context manager "
        "will be removed. Please see `torch.nn.attention.sdpa_kernel()` for the new context "
        "manager, with updated signature.",
        FutureWarning,
        stacklevel=2,
    )
    return _sdp_kernel(enable_flash, enable_math, enable_mem_efficient, enable_cudnn)


__getattr__ = _module_getattr(__name__)  # unknown names: a clear not-implemented error
