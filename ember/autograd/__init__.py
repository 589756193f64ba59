"""ember.autograd: backward, grad, Function, grad modes and gradcheck (as torch.autograd).

``autograd.functional`` (jacobian, hessian, ...) is built over ops, which import
``autograd.node``, and ``autograd.profiler`` over ``ember.profiler``: both are loaded by
``ember/__init__.py`` after the ops, not from here, so that no import cycle runs through
this package.
"""

from __future__ import annotations

from .._torch_alias import module_getattr as _module_getattr
from . import forward_ad, grad_mode
from .engine import backward, grad
from .function import Function, FunctionCtx, once_differentiable
from .grad_mode import (
    enable_grad,
    inference_mode,
    is_grad_enabled,
    is_inference_mode_enabled,
    no_grad,
    set_grad_enabled,
)
from .gradcheck import gradcheck, gradgradcheck

__all__ = [
    "Function",
    "FunctionCtx",
    "backward",
    "grad",
    "gradcheck",
    "gradgradcheck",
    "no_grad",
    "enable_grad",
    "set_grad_enabled",
    "inference_mode",
    "is_grad_enabled",
    "is_inference_mode_enabled",
    "once_differentiable",
    "grad_mode",
    "forward_ad",
    "functional",
    "profiler",
    "Variable",
    "detect_anomaly",
    "set_detect_anomaly",
]


def Variable(data, requires_grad: bool = False, volatile: bool = False):  # noqa: N802
    """The legacy wrapper: today's tensors are Variables; this returns ``data`` itself."""
    if requires_grad:
        data.requires_grad_(True)
    return data


class detect_anomaly:
    """Accepted for compatibility (ember's errors already name the failing op's backward)."""

    def __init__(self, check_nan: bool = True):
        self.check_nan = check_nan

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def __call__(self, fn):
        return fn


class set_detect_anomaly(detect_anomaly):
    """Accepted for compatibility, as a call or a context manager."""

    def __init__(self, mode: bool, check_nan: bool = True):
        super().__init__(check_nan)
        self.mode = mode


__getattr__ = _module_getattr(__name__)  # unknown names: a clear not-implemented error
