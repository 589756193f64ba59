"""The one factory for elementwise ops of one tensor (exp, sigmoid, gelu, leaky_relu, ...).

An op is built from ``fwd(a, *params)`` and ``bwd(g, a, y, *params)``, where ``a`` is the input,
``y`` the output and ``bwd`` returns the input's gradient (arrays in plain training, Tensors under
``create_graph=True``); ``params`` are the op's non-tensor arguments (a slope, a threshold).
"""

from __future__ import annotations

import numpy as np

from .. import dtypes
from ..autograd.node import Op


def elementwise_op(
    name: str,
    fwd,
    bwd=None,
    *,
    nparams: int = 0,
    float_only: bool = False,
    bf16_in_f32: bool = False,
    save: str | None = "in",
    higher: bool = False,
    holomorphic: bool = True,
) -> type[Op]:
    """An Op class named ``name`` from ``fwd`` and ``bwd``: ``nparams`` trailing non-tensor
    arguments, ``float_only`` computes integer/bool inputs in the default float dtype,
    ``bf16_in_f32`` computes bfloat16 in float32 and rounds once (as torch), ``save`` says which
    value backward reads ("in", "out" or None: for the in-place version check). For complex
    input a ``holomorphic`` op's gradient is g * conj(f'(a)), torch's convention: ``bwd`` runs on
    conj(a) and conj(y), which gives that for the functions with real Taylor coefficients (exp,
    log, sin, tanh, sqrt, ...); abs and the like pass ``holomorphic=False``."""
    if nparams:
        nones = (None,) * nparams

        def forward(ctx, a, *params):
            y = fwd(a, *params)
            ctx.saved = (a, y)
            ctx.cplx = holomorphic and a.dtype.kind == "c"
            ctx.params = params
            return y

        def backward(ctx, g):
            a, y = ctx.saved
            if ctx.cplx:
                return (bwd(g, a.conj(), y.conj(), *ctx.params),) + nones
            return (bwd(g, a, y, *ctx.params),) + nones

    else:

        def forward(ctx, a):
            if float_only and a.dtype.kind in "biu":
                a = a.astype(dtypes._default.np)
            if bf16_in_f32 and a.dtype.kind == "V":
                y = fwd(a.astype(np.float32)).astype(a.dtype)
            else:
                y = fwd(a)
            if bwd is not None:
                ctx.saved = (a, y)
                ctx.cplx = holomorphic and a.dtype.kind == "c"
            return y

        def backward(ctx, g):
            a, y = ctx.saved
            if ctx.cplx:
                return (bwd(g, a.conj(), y.conj()),)
            return (bwd(g, a, y),)

    attrs = {
        "forward": staticmethod(forward),
        "backward": staticmethod(backward),
        "higher_order": higher,
    }
    if save == "in":
        attrs["save_in"] = (0,)
    elif save == "out":
        attrs["save_out"] = True
    return type(name, (Op,), attrs)
