"""The one factory for elementwise ops of one tensor (exp, sigmoid, gelu, leaky_relu, ...).

An op is built from ``fwd(a, *params)`` and ``bwd(g, a, y, *params)``, where ``a`` is the input,
``y`` the output and ``bwd`` returns the input's gradient (arrays in plain training, Tensors under
``create_graph=True``); ``params`` are the op's non-tensor arguments (a slope, a threshold).

float16 and bfloat16 run in float32 and are rounded once, forward and backward, as torch's CPU
and CUDA kernels compute them (its opmath): step by step in the half type, SiLU, Mish, softplus,
SELU, hardswish and the rest differed from torch in a third to three quarters of values.
"""

from __future__ import annotations

import numpy as np

from .. import dtypes
from .._backend.xp import xp_of
from .._tensor_errors import not_implemented_for
from ..autograd.node import Op
from ..tensor import Tensor, _wrap
from ._blas_sum import HALF

_F32 = np.dtype(np.float32)


def _in_f32(fn, a, *rest):
    """``fn(a, *rest)`` for a float16/bfloat16 ``a``: its arrays in float32, the result rounded
    to a's dtype once. (Tensors, under create_graph=True, take the half type's own ops.)"""
    up = [x.astype(_F32) if getattr(x, "dtype", None) in HALF else x for x in rest]
    return fn(a.astype(_F32), *up).astype(a.dtype)


def _slope_graph(bwd):
    """The graph gradient of a piecewise-linear function: its slope, ``bwd`` at a gradient of
    ones, is constant between the breakpoints (its derivative there is 0)."""

    def graph(g, x, *params):
        a = x._data
        return g * _wrap(bwd(xp_of(a).ones_like(a), a, None, *params))

    return graph


def elementwise_op(
    name: str,
    fwd,
    bwd=None,
    *,
    nparams: int = 0,
    float_only: bool = False,
    save: str | None = "in",
    higher: bool = False,
    holomorphic: bool = True,
    opmath: bool = True,
    opmath_grad: bool | tuple = True,
    no_complex: str | None = None,
    graph=None,
    piecewise_linear: bool = False,
) -> type[Op]:
    """An Op class named ``name`` from ``fwd`` and ``bwd``: ``nparams`` trailing non-tensor
    arguments, ``float_only`` computes integer/bool inputs in the default float dtype, ``save``
    says which value backward reads ("in", "out" or None: for the in-place version check). For
    complex input a ``holomorphic`` op's gradient is g * conj(f'(a)), torch's convention: ``bwd``
    runs on conj(a) and conj(y), which gives that for the functions with real Taylor coefficients
    (exp, log, sin, tanh, sqrt, ...); abs and the like pass ``holomorphic=False``. ``opmath=False``
    keeps float16/bfloat16 in their own type, for the functions torch composes of several ops
    (each rounded: softsign, tanhshrink); ``opmath_grad=False`` keeps only the gradient in it, for
    the functions whose torch gradient is a formula of tensor ops (exp, reciprocal, sin, ...)
    rather than a backward kernel (the activations' own); a tuple of dtypes names the ones the
    kernel computes in float (sigmoid's: bfloat16 only). ``no_complex`` names torch's kernel for
    the ops it has no complex loop for: complex input raises its NotImplementedError. ``graph``,
    for a ``bwd`` that works on arrays only, is ``graph(g, a, *params)``: the input's gradient
    as Tensor ops of g and the input, which create_graph=True takes so that the gradient can be
    differentiated again; ``piecewise_linear`` gives it for a function whose slope is constant
    between breakpoints (hardtanh, the shrinks): g times ``bwd``'s slope as a constant."""
    if piecewise_linear:
        graph = _slope_graph(bwd)
    half = HALF if opmath else ()
    if isinstance(opmath_grad, tuple):
        half_grad = tuple(d for d in opmath_grad if d is not None)
    else:
        half_grad = half if opmath_grad else ()
    if nparams:
        nones = (None,) * nparams

        def forward(ctx, a, *params):
            if no_complex is not None and a.dtype.kind == "c":
                raise not_implemented_for(no_complex, a.dtype)
            y = _in_f32(fwd, a, *params) if a.dtype in half else fwd(a, *params)
            ctx.saved = (a, y)
            ctx.cplx = holomorphic and a.dtype.kind == "c"
            ctx.params = params
            return y

        def backward(ctx, g):
            a, y = ctx.saved
            if graph is not None and type(g) is Tensor:  # create_graph=True
                return (graph(g, a.conj() if ctx.cplx else a, *ctx.params),) + nones
            if ctx.cplx:
                return (bwd(g, a.conj(), y.conj(), *ctx.params),) + nones
            if a.dtype in half_grad and type(g) is not Tensor:
                gx = _in_f32(lambda a2, g2, y2: bwd(g2, a2, y2, *ctx.params), a, g, y)
                return (gx,) + nones
            return (bwd(g, a, y, *ctx.params),) + nones

    else:

        def forward(ctx, a):
            if no_complex is not None and a.dtype.kind == "c":
                raise not_implemented_for(no_complex, a.dtype)
            if float_only and a.dtype.kind in "biu":
                a = a.astype(dtypes._default.np)
            y = _in_f32(fwd, a) if a.dtype in half else fwd(a)
            if bwd is not None:
                ctx.saved = (a, y)
                ctx.cplx = holomorphic and a.dtype.kind == "c"
            return y

        def backward(ctx, g):
            a, y = ctx.saved
            if graph is not None and type(g) is Tensor:  # create_graph=True
                return (graph(g, a.conj() if ctx.cplx else a),)
            if ctx.cplx:
                return (bwd(g, a.conj(), y.conj()),)
            if a.dtype in half_grad and type(g) is not Tensor:
                return (_in_f32(lambda a2, g2, y2: bwd(g2, a2, y2), a, g, y),)
            return (bwd(g, a, y),)

    attrs = {
        "forward": staticmethod(forward),
        "backward": staticmethod(backward),
        "higher_order": higher or graph is not None,
        # torch's backward kernels of these take the input: their gradient has a graph to it
        "grad_reads_input": piecewise_linear,
    }
    if save == "in":
        attrs["save_in"] = (0,)
    elif save == "out":
        attrs["save_out"] = True
    return type(name, (Op,), attrs)
