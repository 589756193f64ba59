"""ember.autograd: backward, grad, Function, grad modes and gradcheck (as torch.autograd).

``autograd.functional`` (jacobian, hessian, ...) is built over ops, which import
``autograd.node``, and ``autograd.profiler`` over ``ember.profiler``: both are loaded by
``ember/__init__.py`` after the ops, not from here, so that no import cycle runs through
this package.
"""

from __future__ import annotations

from .._torch_alias import module_getattr as _module_getattr
from . import anomaly_mode, forward_ad, grad_mode, graph
from .anomaly_mode import detect_anomaly, set_detect_anomaly
from .engine import backward, grad
from .function import Function, FunctionCtx, NestedIOFunction, once_differentiable
from .grad_mode import (
    enable_grad,
    enforce_grad_layout_policy,
    inference_mode,
    is_grad_enabled,
    is_inference_mode_enabled,
    is_multithreading_enabled,
    is_view_replay_enabled,
    no_grad,
    set_grad_enabled,
    set_multithreading_enabled,
)
from .gradcheck import gradcheck, gradgradcheck
from .graph import SavedTensor
from .variable import Variable

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
    "graph",
    "functional",
    "profiler",
    "Variable",
    "detect_anomaly",
    "set_detect_anomaly",
    "anomaly_mode",
    "NestedIOFunction",
    "SavedTensor",
    "enforce_grad_layout_policy",
    "is_multithreading_enabled",
    "is_view_replay_enabled",
    "set_multithreading_enabled",
]


def variable(*args, **kwargs):
    """The removed legacy constructor: raises as torch's (the ``variable`` module keeps
    ``Variable``), so ``autograd.variable`` is this function, as in torch."""
    raise RuntimeError("torch.autograd.variable(...) is deprecated, use torch.tensor(...) instead")


__getattr__ = _module_getattr(__name__)  # unknown names: a clear not-implemented error
