"""ember.autograd: backward, grad, Function, grad modes and gradcheck (as torch.autograd)."""

from __future__ import annotations

from . import functional, grad_mode, profiler
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


def _seq(x):
    from ..tensor import Tensor

    if x is None:
        return None
    return [x] if isinstance(x, Tensor) else list(x)


def _root_grads(outputs, grad_outputs, create_graph):
    from .._backend.xp import xp_of
    from ..tensor import Size, Tensor, _wrap

    grads = []
    for i, o in enumerate(outputs):
        g = None if grad_outputs is None else grad_outputs[i]
        if g is None:
            if o._data.size != 1:
                raise RuntimeError("grad can be implicitly created only for scalar outputs")
            arr = xp_of(o._data).ones(o._data.shape, o._data.dtype)
            grads.append(_wrap(arr) if create_graph else arr)
        else:
            if tuple(g.shape) != tuple(o._data.shape):
                raise RuntimeError(
                    f"Mismatch in shape: grad_output[{i}] has a shape of {Size(g.shape)} and "
                    f"output[{i}] has a shape of {o.shape}."
                )
            grads.append(g if create_graph else (g._data if isinstance(g, Tensor) else g))
    return grads


def backward(
    tensors, grad_tensors=None, retain_graph=None, create_graph: bool = False, inputs=None
) -> None:
    """Accumulate gradients of ``tensors`` into the leaves (as ``torch.autograd.backward``)."""
    from .engine import run_backward

    outs = _seq(tensors)
    gos = _seq(grad_tensors)
    if retain_graph is None:
        retain_graph = create_graph
    run_backward(
        outs,
        _root_grads(outs, gos, create_graph),
        retain_graph,
        create_graph,
        inputs=_seq(inputs),
        accumulate=True,
    )


def grad(
    outputs,
    inputs,
    grad_outputs=None,
    retain_graph=None,
    create_graph: bool = False,
    only_inputs: bool = True,
    allow_unused=None,
    is_grads_batched: bool = False,
    materialize_grads: bool = False,
):
    """Gradients of ``outputs`` w.r.t. ``inputs`` (a tuple), without touching ``.grad``."""
    from .engine import run_backward

    outs = _seq(outputs)
    ins = _seq(inputs)
    gos = _seq(grad_outputs)
    if retain_graph is None:
        retain_graph = create_graph
    for t in outs:
        if not t._rg:
            raise RuntimeError(
                "element 0 of tensors does not require grad and does not have a grad_fn"
            )
    res = run_backward(
        outs,
        _root_grads(outs, gos, create_graph),
        retain_graph,
        create_graph,
        inputs=ins,
        accumulate=False,
        allow_unused=bool(allow_unused or materialize_grads),
    )
    if materialize_grads:
        from ..ops.creation import zeros_like

        res = [zeros_like(i) if r is None else r for r, i in zip(res, ins)]
    return tuple(res)
