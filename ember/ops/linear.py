"""Linear maps: the linear op (x @ W^T + b in one node, BLAS in both directions) and the
bilinear op. ``linear`` carries torch's argument checks: torch.nn.functional.linear is this op."""

from __future__ import annotations

import numpy as np

from .._autocast_state import state as _acs
from .._backend.cpu.gemm import addmm_t, mm
from .._backend.xp import CPU_ARRAY, xp_of
from ..autograd.node import Op
from ..dtypes import from_numpy_dtype
from ..tensor import Tensor
from . import _autocast, _bw
from ._blas_sum import is_half, ones
from .einsum import einsum

__all__ = ["linear"]


def _dtn(a) -> str:
    return (
        from_numpy_dtype(a.dtype)
        .name.replace("float32", "float")
        .replace("float64", "double")
        .replace("float16", "half")
    )


class _Linear(Op):
    """y = x @ W^T + b in one node; the backward is two matrix products and a column sum."""

    save_in = (0, 1)
    higher_order = True

    @staticmethod
    def forward(ctx, x, w, b):
        ctx.saved = (x, w)
        nd = x.ndim
        x2 = x.reshape(-1, x.shape[-1]) if nd > 2 else x  # one GEMM, not a batch of them
        # x W^T directly: computing W x^T and copying its transpose back measured slower on
        # every shape tried (64x784x256 to 1024x256x768; the copy alone is 1.4 ms at 768x384)
        if is_half(x2) and b is not None:
            # the bias joins the float32 product before its one rounding, as torch's
            y = mm(x2.astype(np.float32), w.T.astype(np.float32))
            y += b
            y = y.astype(x2.dtype)
        elif b is not None:
            y = addmm_t(b, x2, w)
        else:
            y = mm(x2, w.T)
        return y.reshape(x.shape[:-1] + (w.shape[0],)) if nd > 2 else y

    @staticmethod
    def backward(ctx, g):
        x, w = ctx.saved
        n = ctx._needs
        gx = gw = gb = None
        out_f = w.shape[0]
        g2 = g.reshape(-1, out_f) if g.ndim != 2 else g
        if n[0]:
            gx = mm(g2, w)
            if g.ndim != 2:
                gx = gx.reshape(tuple(g.shape[:-1]) + (w.shape[1],))
        arr = type(g2) is CPU_ARRAY
        if n[1]:
            x2 = x.reshape(-1, w.shape[1]) if x.ndim != 2 else x
            gw = mm(g2.T, x2) if arr else _bw.mT(g2) @ x2
        if n[2]:
            if arr and g2.dtype.kind == "f":
                gb = ones(g2.shape[0], g2.dtype) @ g2  # BLAS column sum
            else:
                gb = g2.sum(0)
        return gx, gw, gb


def linear(input: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """x @ weight^T + bias."""
    if _acs.active:  # autocast: a lower-precision op
        input, weight, bias = _autocast.lower(input, weight, bias)
    x, w = input._data, weight._data
    if x.dtype != w.dtype:
        raise RuntimeError(
            f"expected m1 and m2 to have the same dtype, but got: {_dtn(x)} != {_dtn(w)}"
        )
    if x.shape[-1:] != w.shape[-1:] or w.ndim != 2:
        if w.ndim == 1:
            return input.matmul(weight) + bias if bias is not None else input.matmul(weight)
        rows = x.size // x.shape[-1] if x.ndim and x.shape[-1] else 1
        raise RuntimeError(
            f"mat1 and mat2 shapes cannot be multiplied ({rows}x{x.shape[-1] if x.ndim else 1} "
            f"and {w.shape[1]}x{w.shape[0]})"
        )
    return _Linear.apply(input, weight, bias)


def _bilinear_graph(x1, x2, w, b):
    y = einsum("...i,oij,...j->...o", x1, w, x2)
    return y if b is None else y + b


class _Bilinear(Op):
    save_in = (0, 1, 2)
    higher_order = True  # create_graph=True: the einsum in Tensor ops, differentiated

    @staticmethod
    def forward(ctx, x1, x2, w, b):
        xp = xp_of(x1)
        ctx.saved = (x1, x2, w)
        y = xp.einsum("...i,oij,...j->...o", x1, w, x2, optimize=True)
        if b is not None:
            y += b
        return y

    @staticmethod
    def backward(ctx, g):
        if isinstance(g, Tensor):  # create_graph=True
            return _bw.regrad(ctx, _bilinear_graph, g)
        x1, x2, w = ctx.saved
        xp = xp_of(x1)
        n = ctx._needs
        g1 = xp.einsum("...o,oij,...j->...i", g, w, x2, optimize=True) if n[0] else None
        g2 = xp.einsum("...o,oij,...i->...j", g, w, x1, optimize=True) if n[1] else None
        gw = None
        if n[2]:  # batch dims flattened: CuPy's einsum cannot sum an ellipsis away
            gf, af, bf = (t.reshape(-1, t.shape[-1]) for t in (g, x1, x2))
            gw = xp.einsum("no,ni,nj->oij", gf, af, bf, optimize=True)
        gb = g.reshape(-1, g.shape[-1]).sum(0) if n[3] else None
        return g1, g2, gw, gb
