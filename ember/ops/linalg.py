"""Matrix products: matmul (every broadcasting case), mm, bmm, mv, dot, addmm; the BLAS does
the work, and the backward is two more products."""

from __future__ import annotations

import string

import numpy as np

from .. import dtypes
from .._autocast_state import state as _acs
from .._backend.cpu.gemm import mm as _mm
from .._backend.xp import cuda_index, xp_of
from .._tensor_errors import check_dim, device_error
from ..autograd.node import Op
from ..dtypes import scalar_type_name
from ..tensor import Tensor
from . import _autocast, _bw, sparse
from ._blas_sum import is_half
from ._ignore import IgnoreSecond
from .einsum import einsum
from .inplace import copy_into_out
from .reduction import norm
from .view import broadcast_tensors

__all__ = [
    "matmul",
    "mm",
    "bmm",
    "mv",
    "dot",
    "addmm",
    "inner",
    "vdot",
    "outer",
    "ger",
    "baddbmm",
    "addmv",
    "addbmm",
    "addr",
    "cross",
    "tensordot",
    "trace",
    "kron",
    "cdist",
    "dist",
    "chain_matmul",
]


def _dt_name(d) -> str:
    return scalar_type_name(dtypes.from_numpy_dtype(d).name)


class MatMul(Op):
    save_in = (0, 1)
    higher_order = True

    @staticmethod
    def forward(ctx, a, b):
        ctx.saved = (a, b)
        # complex operands: the backward conjugates (one test here, on arrays, not per backward)
        ctx.cplx = a.dtype.kind == "c" or b.dtype.kind == "c"
        return _mm(a, b)

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved
        n = ctx._needs
        ga = gb = None
        an, bn = a.ndim, b.ndim
        if ctx.cplx:  # torch's convention: g @ b^H, a^H @ g
            a, b = a.conj(), b.conj()
        if an == 1 and bn == 1:
            return (g * b if n[0] else None), (g * a if n[1] else None)
        # lift 1-d operands to matrices so one formula serves all cases
        a2 = a.reshape((1, a.shape[0])) if an == 1 else a
        b2 = b.reshape((b.shape[0], 1)) if bn == 1 else b
        g2 = g
        if an == 1:
            g2 = (
                g2.reshape(tuple(g.shape[:-1]) + (1, g.shape[-1]))
                if bn > 1
                else g2.reshape((1,) + tuple(g.shape))
            )
        if bn == 1:
            g2 = g2.reshape(tuple(g2.shape) + (1,))
        if n[0]:
            ga = _bw.sum_to(_mm(g2, _bw.mT(b2)), a2.shape)
            ga = ga.reshape(a.shape)
        if n[1]:
            gb = _bw.sum_to(_mm(_bw.mT(a2), g2), b2.shape)
            gb = gb.reshape(b.shape)
        return ga, gb


def _check_mm(a: Tensor, b: Tensor, name: str) -> None:
    ad, bd = a._data, b._data
    if ad.dtype != bd.dtype:
        raise RuntimeError(
            f"expected m1 and m2 to have the same dtype, but got: {_dt_name(ad.dtype)} != "
            f"{_dt_name(bd.dtype)}"
        )
    if type(ad) is not type(bd) and cuda_index(ad) != cuda_index(bd):  # vmap's arrays pass
        raise device_error(ad, bd)


def _sparse_mm(a: Tensor, b: Tensor) -> Tensor:
    if not a._sparse:
        return sparse.dense_mm(a, b)
    return sparse.spmm(a, b)


def matmul(input: Tensor, other: Tensor, *, out=None) -> Tensor:
    """Matrix product with numpy/torch broadcasting of batch dims (1-d operands promoted)."""
    if input._sparse or other._sparse:
        return _sparse_mm(input, other)
    if _acs.active:  # autocast: a lower-precision op
        input, other = _autocast.lower(input, other)
    _check_mm(input, other, "matmul")
    a, b = input._data, other._data
    if a.ndim == 0 or b.ndim == 0:
        raise RuntimeError(
            f"both arguments to matmul need to be at least 1D, but they are {a.ndim}D and {b.ndim}D"
        )
    ka = a.shape[-1]
    kb = b.shape[-2] if b.ndim > 1 else b.shape[0]
    if ka != kb:
        if a.ndim <= 2 and b.ndim <= 2:
            if b.ndim == 1 and a.ndim == 2:
                raise RuntimeError(
                    f"size mismatch, got input ({a.shape[0]}), mat ({a.shape[0]}x{ka}), vec "
                    f"({b.shape[0]})"
                )
            sa = "x".join(str(s) for s in (a.shape if a.ndim == 2 else (1, a.shape[0])))
            sb = "x".join(str(s) for s in (b.shape if b.ndim == 2 else (b.shape[0], 1)))
            raise RuntimeError(f"mat1 and mat2 shapes cannot be multiplied ({sa} and {sb})")
        raise RuntimeError(
            f"Expected size for first two dimensions of batch2 tensor to be: "
            f"[{b.shape[0] if b.ndim > 2 else 1}, {ka}] but got: "
            f"[{b.shape[0] if b.ndim > 2 else 1}, {kb}]."
        )
    try:
        r = MatMul.apply(input, other)
    except ValueError as e:
        raise RuntimeError(
            f"matmul: batch dimensions do not broadcast: {list(a.shape)} and {list(b.shape)} ({e})"
        ) from None
    if out is not None:
        return copy_into_out(out, r)
    return r


def mm(input: Tensor, mat2: Tensor, *, out=None) -> Tensor:
    """2-d matrix product."""
    if input._sparse or mat2._sparse:
        return _sparse_mm(input, mat2)
    if _acs.active:
        input, mat2 = _autocast.lower(input, mat2)
    if input._data.ndim != 2:
        raise RuntimeError("self must be a matrix")
    if mat2._data.ndim != 2:
        raise RuntimeError("mat2 must be a matrix")
    return matmul(input, mat2, out=out)


def bmm(input: Tensor, mat2: Tensor, *, out=None) -> Tensor:
    """Batched product of (b, n, m) and (b, m, p)."""
    if _acs.active:
        input, mat2 = _autocast.lower(input, mat2)
    if input._data.ndim != 3:
        raise RuntimeError("batch1 must be a 3D tensor")
    if mat2._data.ndim != 3:
        raise RuntimeError("batch2 must be a 3D tensor")
    if input._data.shape[0] != mat2._data.shape[0] or input._data.shape[2] != mat2._data.shape[1]:
        raise RuntimeError(
            f"Expected size for first two dimensions of batch2 tensor to be: "
            f"[{input._data.shape[0]}, {input._data.shape[2]}] but got: "
            f"[{mat2._data.shape[0]}, {mat2._data.shape[1]}]."
        )
    return matmul(input, mat2, out=out)


def mv(input: Tensor, vec: Tensor, *, out=None) -> Tensor:
    """Matrix-vector product."""
    if input._data.ndim != 2 or vec._data.ndim != 1:
        raise RuntimeError(
            f"vector + matrix @ vector expected, got {input._data.ndim}, {vec._data.ndim}"
        )
    if _acs.active:  # autocast: not on its lists (the matmul inside must not cast)
        with _autocast.suspended():
            return matmul(input, vec, out=out)
    return matmul(input, vec, out=out)


def dot(input: Tensor, other: Tensor, *, out=None) -> Tensor:
    """Dot product of two 1-d tensors."""
    if input._data.ndim != 1 or other._data.ndim != 1:
        raise RuntimeError(
            f"1D tensors expected, but got {input._data.ndim}D and {other._data.ndim}D tensors"
        )
    if input._data.shape[0] != other._data.shape[0]:
        raise RuntimeError(
            f"inconsistent tensor size, expected tensor [{input._data.shape[0]}] and src "
            f"[{other._data.shape[0]}] to have the same number of elements, but got "
            f"{input._data.shape[0]} and {other._data.shape[0]} elements respectively"
        )
    if _acs.active:  # autocast: not on its lists (the matmul inside must not cast)
        with _autocast.suspended():
            return matmul(input, other, out=out)
    return matmul(input, other, out=out)


def vdot(input: Tensor, other: Tensor) -> Tensor:
    """Dot product with the first argument conjugated."""
    return dot(input.conj(), other)


def inner(input: Tensor, other: Tensor) -> Tensor:
    """Inner product over the last dims."""
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
        half = is_half(m1) and m2.dtype == m1.dtype
        # half precision: the product, scaled and with the bias, rounded once as torch's
        r = _mm(m1.astype(np.float32), m2.astype(np.float32)) if half else _mm(m1, m2)
        if alpha != 1:
            r *= alpha
        if beta != 0:
            r += bias if beta == 1 else beta * bias
        return r.astype(m1.dtype) if half else r

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
    if _acs.active:
        input, mat1, mat2 = _autocast.lower(input, mat1, mat2)
    mm_check = mat1._data.shape[1] != mat2._data.shape[0]
    if mm_check:
        raise RuntimeError(
            f"mat1 and mat2 shapes cannot be multiplied ({mat1._data.shape[0]}x"
            f"{mat1._data.shape[1]} and {mat2._data.shape[0]}x{mat2._data.shape[1]})"
        )
    r = AddMM.apply(input, mat1, mat2, beta, alpha)
    if out is not None:
        return copy_into_out(out, r)
    return r


# --- outer / addmv / baddbmm / addbmm / addr / cross ----------------------------------------
def outer(input: Tensor, vec2: Tensor, *, out=None) -> Tensor:
    """Outer product of two vectors."""
    for name, v in (("self", input), ("vec2", vec2)):
        if v._data.ndim != 1:
            raise RuntimeError(f"outer: Expected 1-D argument {name}, but got {v._data.ndim}-D")
    r = input.reshape(-1, 1) * vec2
    return _out(r, out)


ger = outer


def _out(r, out):
    if out is not None:
        return copy_into_out(out, r)
    return r


def _scaled_add(input: Tensor, prod: Tensor, beta, alpha) -> Tensor:
    if prod._data.dtype.kind in "iu":  # torch truncates float factors on integer tensors
        alpha, beta = int(alpha), int(beta)
    if alpha != 1:
        prod = prod * alpha
    if beta == 0:
        # input is ignored (NaNs in it do not propagate) but still gets a zero gradient
        return IgnoreSecond.apply(prod, input) if input._rg else prod
    return (input if beta == 1 else input * beta) + prod


def addmv(input: Tensor, mat: Tensor, vec: Tensor, *, beta=1, alpha=1, out=None) -> Tensor:
    """beta * input + alpha * (mat @ vec)."""
    m, v = mat._data, vec._data
    if m.ndim != 2 or v.ndim != 1:
        raise RuntimeError(
            f"vector + matrix @ vector expected, got {input._data.ndim}, {m.ndim}, {v.ndim}"
        )
    ish = input._data.shape
    if m.shape[1] != v.shape[0] or (ish not in ((), (1,), (m.shape[0],))):
        raise RuntimeError(
            f"size mismatch, got input ({ish[0] if ish else 1}), mat "
            f"({m.shape[0]}x{m.shape[1]}), vec ({v.shape[0]})"
        )
    if _acs.active:  # autocast: not on its lists (the matmul inside must not cast)
        with _autocast.suspended():
            return addmv(input, mat, vec, beta=beta, alpha=alpha, out=out)
    return _out(_scaled_add(input, matmul(mat, vec), beta, alpha), out)


def _check_bmm(b1: Tensor, b2: Tensor) -> None:
    if b1._data.ndim != 3:
        raise RuntimeError("batch1 must be a 3D tensor")
    if b2._data.ndim != 3:
        raise RuntimeError("batch2 must be a 3D tensor")


def baddbmm(input: Tensor, batch1: Tensor, batch2: Tensor, *, beta=1, alpha=1, out=None) -> Tensor:
    """beta * input + alpha * bmm(batch1, batch2)."""
    if _acs.active:
        input, batch1, batch2 = _autocast.lower(input, batch1, batch2)
    _check_bmm(batch1, batch2)
    p = bmm(batch1, batch2)
    input.expand(*p._data.shape)
    return _out(_scaled_add(input, p, beta, alpha), out)


def addbmm(input: Tensor, batch1: Tensor, batch2: Tensor, *, beta=1, alpha=1, out=None) -> Tensor:
    """beta * input + alpha * (sum over the batch of batch1[i] @ batch2[i])."""
    if _acs.active:
        input, batch1, batch2 = _autocast.lower(input, batch1, batch2)
    _check_bmm(batch1, batch2)
    # one GEMM over the joined (batch, k) axis: one accumulation, as accurate as torch's
    b, n, k = batch1._data.shape
    b2 = batch2._data.shape
    if b2[0] != b or b2[1] != k:
        p = bmm(batch1, batch2).sum(0)  # bmm raises torch's shape error
    else:
        p = matmul(batch1.permute(1, 0, 2).reshape(n, b * k), batch2.reshape(b * k, b2[2]))
    input.expand(*p._data.shape)
    return _out(_scaled_add(input, p, beta, alpha), out)


def addr(input: Tensor, vec1: Tensor, vec2: Tensor, *, beta=1, alpha=1, out=None) -> Tensor:
    """beta * input + alpha * outer(vec1, vec2)."""
    p = outer(vec1, vec2)
    input.expand(*p._data.shape)
    return _out(_scaled_add(input, p, beta, alpha), out)


class Cross(Op):
    save_in = (0, 1)
    higher_order = True

    @staticmethod
    def forward(ctx, a, b, d):
        ctx.saved = (a, b)
        ctx.d = d
        return xp_of(a).cross(a, b, axis=d)

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved
        n = ctx._needs
        f = (
            (lambda x, y: Cross.apply(x, y, ctx.d))
            if isinstance(g, Tensor)
            else (lambda x, y: xp_of(x).cross(x, y, axis=ctx.d))
        )
        return (f(b, g) if n[0] else None), (f(g, a) if n[1] else None), None


def cross(input: Tensor, other: Tensor, dim: int | None = None, *, out=None) -> Tensor:
    """Cross product of 3-vectors along ``dim`` (the first dim of size 3 when None)."""
    if input._data.ndim != other._data.ndim:
        raise RuntimeError("linalg.cross: inputs must have the same number of dimensions.")
    a, b = broadcast_tensors(input, other)
    if a._data.dtype != b._data.dtype:
        rt = dtypes.promote_types(a.dtype, b.dtype)
        a, b = a.to(rt), b.to(rt)
    shp = a._data.shape
    if dim is None:
        d = next((k for k, n in enumerate(shp) if n == 3), None)
        if d is None:
            raise RuntimeError("no dimension of size 3 in input")
    else:
        d = check_dim(dim, len(shp))
        if shp[d] != 3:
            raise RuntimeError(
                f"linalg.cross: inputs dimension {dim} must have length 3. Got "
                f"{input._data.shape[d]} and {other._data.shape[d]}"
            )
    return _out(Cross.apply(a, b, d), out)


# --- tensordot / trace / kron / cdist / dist --------------------------------------------------
def tensordot(a: Tensor, b: Tensor, dims=2, out=None) -> Tensor:
    """Contract the last ``dims`` dims of a with the first of b (or the given dim lists)."""
    na, nb = a._data.ndim, b._data.ndim
    if isinstance(dims, Tensor):
        dims = dims.tolist()
    if isinstance(dims, int):
        if dims < 0:
            raise RuntimeError(f"tensordot expects dims >= 0, but got dims={dims}")
        da, db = list(range(na - dims, na)), list(range(dims))
    else:
        da, db = dims
        da = [da] if isinstance(da, int) else list(da)
        db = [db] if isinstance(db, int) else list(db)
    if len(da) != len(db):
        raise RuntimeError("both dimension lists should have same length")
    da = [check_dim(d, na) for d in da]
    db = [check_dim(d, nb) for d in db]
    for x, y in zip(da, db):
        sx, sy = a._data.shape[x], b._data.shape[y]
        if sx != sy and 1 in (sx, sy):  # torch broadcasts a size-1 contracted dim
            if sx == 1:
                b = b.sum(y, keepdim=True)
            else:
                a = a.sum(x, keepdim=True)
            continue
        if sx != sy:
            raise RuntimeError(
                f"contracted dimensions need to match, but first has size "
                f"{a._data.shape[x]} in dim {x} and second has size "
                f"{b._data.shape[y]} in dim {y}"
            )
    letters = iter(string.ascii_letters)
    sa = [next(letters) for _ in range(na)]
    sb = [next(letters) for _ in range(nb)]
    for x, y in zip(da, db):
        sb[y] = sa[x]
    outs = [c for k, c in enumerate(sa) if k not in da] + [
        c for k, c in enumerate(sb) if k not in db
    ]
    return _out(einsum("".join(sa) + "," + "".join(sb) + "->" + "".join(outs), a, b), out)


def trace(input: Tensor) -> Tensor:
    """Sum of the main diagonal of a matrix."""
    if _acs.active:  # autocast: an fp32 op
        (input,) = _autocast.fp32(input)
    if input._data.ndim != 2:
        raise RuntimeError(f"trace: expected a matrix, but got tensor with dim {input._data.ndim}")
    return input.diagonal().sum()


def kron(input: Tensor, other: Tensor, *, out=None) -> Tensor:
    """Kronecker product."""
    na, nb = input._data.ndim, other._data.ndim
    n = max(na, nb)
    sa = (1,) * (n - na) + tuple(input._data.shape)
    sb = (1,) * (n - nb) + tuple(other._data.shape)
    ea = [x for s in sa for x in (s, 1)]
    eb = [x for s in sb for x in (1, s)]
    r = input.reshape(ea) * other.reshape(eb)
    return _out(r.reshape([x * y for x, y in zip(sa, sb)]), out)


def cdist(x1: Tensor, x2: Tensor, p: float = 2.0, compute_mode: str | None = None) -> Tensor:
    """p-norm distances between each row of x1 and each row of x2 (batched)."""
    if _acs.active:
        x1, x2 = _autocast.fp32(x1, x2)
    if x1._data.ndim < 2 or x2._data.ndim < 2:
        raise RuntimeError(f"cdist only supports at least 2D tensors, X1 got: {x1._data.ndim}D")
    if x1._data.shape[-1] != x2._data.shape[-1]:
        raise RuntimeError(
            f"X1 and X2 must have the same number of columns. X1: "
            f"{x1._data.shape[-1]} X2: {x2._data.shape[-1]}"
        )
    return norm(x1.unsqueeze(-2) - x2.unsqueeze(-3), p, -1)


def dist(input: Tensor, other: Tensor, p: float = 2) -> Tensor:
    """p-norm of ``input - other``."""
    return norm(input - other, p)


def chain_matmul(*matrices, out=None) -> Tensor:
    """The product of a chain of 2-d matrices (deprecated in torch; linalg.multi_dot)."""
    if len(matrices) == 1 and isinstance(matrices[0], (list, tuple)):
        matrices = tuple(matrices[0])
    if not matrices:
        raise RuntimeError("chain_matmul(): Expected one or more matrices")
    r = matrices[0]
    for m in matrices[1:]:
        r = mm(r, m)
    return _out(r if len(matrices) > 1 else r.clone(), out)
