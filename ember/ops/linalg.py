"""Matrix products: matmul (every broadcasting case), mm, bmm, mv, dot, addmm; the BLAS does
the work, and the backward is two more products."""

from __future__ import annotations

from .. import dtypes as D
from ..autograd.node import Op
from ..tensor import Tensor
from . import _bw

__all__ = ["matmul", "mm", "bmm", "mv", "dot", "addmm", "inner", "vdot"]


def _dt_name(d) -> str:
    from .inplace import _pretty

    return _pretty(D.from_numpy_dtype(d).name)


class MatMul(Op):
    save_in = (0, 1)
    higher_order = True

    @staticmethod
    def forward(ctx, a, b):
        ctx.saved = (a, b)
        return a @ b

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved
        n = ctx._needs
        ga = gb = None
        an, bn = a.ndim, b.ndim
        if an == 1 and bn == 1:
            return (g * b if n[0] else None), (g * a if n[1] else None)
        # lift 1-d operands to matrices so one formula serves all cases
        a2 = a.reshape((1, a.shape[0])) if an == 1 else a
        b2 = b.reshape((b.shape[0], 1)) if bn == 1 else b
        g2 = g
        if an == 1:
            g2 = g2.reshape(tuple(g.shape[:-1]) + (1, g.shape[-1])) if bn > 1 else g2.reshape(
                (1,) + tuple(g.shape))
        if bn == 1:
            g2 = g2.reshape(tuple(g2.shape) + (1,))
        if n[0]:
            ga = _bw.sum_to(g2 @ _bw.mT(b2), a2.shape)
            ga = ga.reshape(a.shape)
        if n[1]:
            gb = _bw.sum_to(_bw.mT(a2) @ g2, b2.shape)
            gb = gb.reshape(b.shape)
        return ga, gb


def _check_mm(a: Tensor, b: Tensor, name: str) -> None:
    ad, bd = a._data, b._data
    if ad.dtype != bd.dtype:
        raise RuntimeError(
            f"expected m1 and m2 to have the same dtype, but got: {_dt_name(ad.dtype)} != "
            f"{_dt_name(bd.dtype)}")
    if type(ad) is not type(bd):
        from ..tensor import device_error

        raise device_error(ad, bd)


def matmul(input: Tensor, other: Tensor, *, out=None) -> Tensor:
    """Matrix product with numpy/torch broadcasting of batch dims (1-d operands promoted)."""
    _check_mm(input, other, "matmul")
    a, b = input._data, other._data
    if a.ndim == 0 or b.ndim == 0:
        raise RuntimeError(
            f"both arguments to matmul need to be at least 1D, but they are {a.ndim}D and "
            f"{b.ndim}D")
    ka = a.shape[-1]
    kb = b.shape[-2] if b.ndim > 1 else b.shape[0]
    if ka != kb:
        if a.ndim <= 2 and b.ndim <= 2:
            if b.ndim == 1 and a.ndim == 2:
                raise RuntimeError(
                    f"size mismatch, got input ({a.shape[0]}), mat ({a.shape[0]}x{ka}), vec "
                    f"({b.shape[0]})")
            sa = "x".join(str(s) for s in (a.shape if a.ndim == 2 else (1, a.shape[0])))
            sb = "x".join(str(s) for s in (b.shape if b.ndim == 2 else (b.shape[0], 1)))
            raise RuntimeError(f"mat1 and mat2 shapes cannot be multiplied ({sa} and {sb})")
        raise RuntimeError(
            f"Expected size for first two dimensions of batch2 tensor to be: "
            f"[{b.shape[0] if b.ndim > 2 else 1}, {ka}] but got: "
            f"[{b.shape[0] if b.ndim > 2 else 1}, {kb}].")
    try:
        r = MatMul.apply(input, other)
    except ValueError as e:
        raise RuntimeError(f"matmul: batch dimensions do not broadcast: {list(a.shape)} and "
                           f"{list(b.shape)} ({e})") from None
    if out is not None:
        from .inplace import copy_into_out

        return copy_into_out(out, r)
    return r


def mm(input: Tensor, mat2: Tensor, *, out=None) -> Tensor:
    """2-d matrix product."""
    if input._data.ndim != 2:
        raise RuntimeError("self must be a matrix")
    if mat2._data.ndim != 2:
        raise RuntimeError("mat2 must be a matrix")
    return matmul(input, mat2, out=out)


def bmm(input: Tensor, mat2: Tensor, *, out=None) -> Tensor:
    """Batched product of (b, n, m) and (b, m, p)."""
    if input._data.ndim != 3:
        raise RuntimeError("batch1 must be a 3D tensor")
    if mat2._data.ndim != 3:
        raise RuntimeError("batch2 must be a 3D tensor")
    if input._data.shape[0] != mat2._data.shape[0] or input._data.shape[2] != \
            mat2._data.shape[1]:
        raise RuntimeError(
            f"Expected size for first two dimensions of batch2 tensor to be: "
            f"[{input._data.shape[0]}, {input._data.shape[2]}] but got: "
            f"[{mat2._data.shape[0]}, {mat2._data.shape[1]}].")
    return matmul(input, mat2, out=out)


def mv(input: Tensor, vec: Tensor, *, out=None) -> Tensor:
    if input._data.ndim != 2 or vec._data.ndim != 1:
        raise RuntimeError(
            f"vector + matrix @ vector expected, got {input._data.ndim}, {vec._data.ndim}")
    return matmul(input, vec, out=out)


def dot(input: Tensor, other: Tensor, *, out=None) -> Tensor:
    if input._data.ndim != 1 or other._data.ndim != 1:
        raise RuntimeError(
            f"1D tensors expected, but got {input._data.ndim}D and {other._data.ndim}D tensors")
    if input._data.shape[0] != other._data.shape[0]:
        raise RuntimeError(
            f"inconsistent tensor size, expected tensor [{input._data.shape[0]}] and src "
            f"[{other._data.shape[0]}] to have the same number of elements, but got "
            f"{input._data.shape[0]} and {other._data.shape[0]} elements respectively")
    return matmul(input, other, out=out)


def vdot(input: Tensor, other: Tensor) -> Tensor:
    return dot(input.conj(), other)


def inner(input: Tensor, other: Tensor) -> Tensor:
    if input._data.ndim == 0 or other._data.ndim == 0:
        return input * other
    return matmul(input, other.transpose(-1, -2) if other._data.ndim > 1 else other)


class AddMM(Op):
    """beta * bias + alpha * (m1 @ m2) in one node (the Linear layer's forward)."""

    save_in = (1, 2)
    higher_order = True

    @staticmethod
    def forward(ctx, bias, m1, m2, beta, alpha):
        ctx.saved = (m1, m2)
        ctx.bshape = bias.shape
        ctx.beta, ctx.alpha = beta, alpha
        r = m1 @ m2
        if alpha != 1:
            r *= alpha
        if beta == 0:
            return r
        r += bias if beta == 1 else beta * bias
        return r

    @staticmethod
    def backward(ctx, g):
        m1, m2 = ctx.saved
        n = ctx._needs
        gb = g1 = g2 = None
        if n[0]:
            gb = _bw.sum_to(g if ctx.beta == 1 else g * ctx.beta, ctx.bshape)
        if n[1]:
            g1 = g @ _bw.mT(m2)
            if ctx.alpha != 1:
                g1 = g1 * ctx.alpha
        if n[2]:
            g2 = _bw.mT(m1) @ g
            if ctx.alpha != 1:
                g2 = g2 * ctx.alpha
        return gb, g1, g2, None, None


def addmm(input: Tensor, mat1: Tensor, mat2: Tensor, *, beta=1, alpha=1, out=None) -> Tensor:
    """beta * input + alpha * (mat1 @ mat2)."""
    mm_check = mat1._data.shape[1] != mat2._data.shape[0]
    if mm_check:
        raise RuntimeError(
            f"mat1 and mat2 shapes cannot be multiplied ({mat1._data.shape[0]}x"
            f"{mat1._data.shape[1]} and {mat2._data.shape[0]}x{mat2._data.shape[1]})")
    r = AddMM.apply(input, mat1, mat2, beta, alpha)
    if out is not None:
        from .inplace import copy_into_out

        return copy_into_out(out, r)
    return r
