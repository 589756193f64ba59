"""ember.autograd: backward, grad, Function, grad modes and gradcheck (as torch.autograd).

``autograd.functional`` (jacobian, hessian, ...) is built over ops, which import
``autograd.node``, and ``autograd.profiler`` over ``ember.profiler``: both are loaded by
``ember/__init__.py`` after the ops, not from here, so that no import cycle runs through
this package.
"""

from __future__ import annotations

from .. import _settings
from .._torch_alias import module_getattr as _module_getattr
from . import forward_ad, grad_mode, graph
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
    "graph",
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
    """Anomaly mode for the block (``is_anomaly_enabled()`` reads it); ember's backward errors
    already name the failing op, so it changes nothing else."""

    def __init__(self, check_nan: bool = True):
        self.check_nan = check_nan
        self._prev = None

    def __enter__(self):
        self._prev = (_settings.is_anomaly_enabled(), _settings.is_anomaly_check_nan_enabled())
        _settings.set_anomaly_enabled(True, self.check_nan)
        return self

    def __exit__(self, *exc):
        _settings.set_anomaly_enabled(*self._prev)
        return False

    def __call__(self, fn):
        def wrapped(*args, **kwargs):
            with self.__class__(self.check_nan):
                return fn(*args, **kwargs)

        return wrapped


class set_detect_anomaly:
    """Set the anomaly mode now, as a call; as a context manager, restore it on exit."""

    def __init__(self, mode: bool, check_nan: bool = True):
        self.mode = mode
        self._prev = (_settings.is_anomaly_enabled(), _settings.is_anomaly_check_nan_enabled())
        _settings.set_anomaly_enabled(mode, check_nan)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        _settings.set_anomaly_enabled(*self._prev)
        return False


__getattr__ = _module_getattr(__name__)  # unknown names: a clear not-implemented error
