"""Matrix decompositions and solvers with their gradients: solve, inv, det/slogdet, cholesky, qr,
eigh, eig, svd, lu (partial pivoting, vectorised over the batch), pinv, and the torch.* forms
built on them (torch.svd, torch.qr, torch.cholesky_solve, torch.lu_unpack, torch.geqrf, ...).

Forward and backward are written against the array module of the input, so NumPy and CuPy
share the code (``numpy.linalg`` and ``cupy.linalg`` agree on the names used here). The
backward formulas follow torch's conventions: gradients of hermitian inputs are hermitian
(cholesky, eigh), svd/eig gradients are those of gauge-invariant losses, and the unused columns
of ``full_matrices=True`` get no gradient.
"""

from __future__ import annotations

import numpy as np

from .._backend.xp import xp_of
from ..autograd.grad_mode import is_grad_enabled
from ..autograd.node import Op
from ..dtypes import scalar_type_name
from ..tensor import Tensor, _wrap
from . import _bw, linalg_lapack
from ._return_types import struct
from .inplace import copy_into_out
from .join import cat

__all__ = [
    "det",
    "slogdet",
    "logdet",
    "inverse",
    "svd",
    "qr",
    "cholesky",
    "cholesky_solve",
    "cholesky_inverse",
    "lu",
    "lu_unpack",
    "lu_solve",
    "pinverse",
    "triangular_solve",
    "geqrf",
    "ormqr",
]


class LinAlgError(RuntimeError):
    """Raised for singular or not positive-definite input, as torch.linalg.LinAlgError."""


LinAlgError.__module__ = "torch.linalg"


def _rt(name: str, fields: tuple, *vals) -> tuple:
    """A torch.return_types-like named tuple."""
    return struct(name, fields)(*vals)


# --- array helpers (NumPy or CuPy) ---------------------------------------------------------


def _mH(a):
    a = a.swapaxes(-1, -2)
    return a.conj() if a.dtype.kind == "c" else a


def _eye_like(a, n: int | None = None):
    n = a.shape[-1] if n is None else n
    return xp_of(a).eye(n, dtype=a.dtype)


def _diag(a):
    return a.diagonal(0, -2, -1)


def _flat(a, tail: int):
    """``a`` with its batch dims merged into one (also when the batch is empty)."""
    return a.reshape((int(np.prod(a.shape[: a.ndim - tail])),) + a.shape[a.ndim - tail :])


def _solve(a, b):
    return linalg_lapack.solve(a, b)


def _sum_to(g, shape):
    if g.shape == tuple(shape):
        return g
    nd = g.ndim - len(shape)
    if nd:
        g = g.sum(axis=tuple(range(nd)))
    axes = tuple(i for i, s in enumerate(shape) if s == 1 and g.shape[i] != 1)
    return g.sum(axis=axes, keepdims=True) if axes else g


# --- checks and torch's messages -----------------------------------------------------------

_LOW = {"float16": "Half", "bfloat16": "BFloat16"}


def _check(A: Tensor, fname: str, square: bool = True, low_ok: bool = False) -> None:
    if not isinstance(A, Tensor):
        raise TypeError(f"{fname}(): argument 'A' must be Tensor, not {type(A).__name__}")
    a = A._data
    if a.ndim < 2:
        raise RuntimeError(f"{fname}: The input tensor A must have at least 2 dimensions.")
    name = A.dtype.name if hasattr(A.dtype, "name") else str(a.dtype)
    if a.dtype.kind not in "fc" or name in _LOW:
        if name in _LOW and not low_ok:
            raise RuntimeError(f"{fname}: Low precision dtypes not supported. Got {_LOW[name]}")
        if a.dtype.kind not in "fc":
            raise RuntimeError(
                f"{fname}: Expected a floating point or complex tensor as input. "
                f"Got {scalar_type_name(str(a.dtype))}"
            )
    if square and a.shape[-1] != a.shape[-2]:
        raise RuntimeError(
            f"{fname}: A must be batches of square matrices, but they are "
            f"{a.shape[-2]} by {a.shape[-1]} matrices"
        )


def _same_dtype(A: Tensor, B: Tensor, fname: str, an="A", bn="B") -> None:
    if A._data.dtype != B._data.dtype:
        raise RuntimeError(
            f"{fname}: Expected {an} and {bn} to have the same dtype, but found {an} of type "
            f"{_tname(A)} and {bn} of type {_tname(B)} instead"
        )


def _tname(t: Tensor) -> str:
    return scalar_type_name(str(t._data.dtype))


def _raise_batched(info, msg, cls=None) -> None:
    """Raise LinAlgError for the first failing matrix; ``msg(i)`` words it for info value i."""
    info = np.asarray(_host(info)).reshape(-1)
    bad = np.flatnonzero(info)
    if not bad.size:
        return
    k = int(bad[0])
    pre = f"(Batch element {k}): " if info.size > 1 else ""
    raise (cls or LinAlgError)(msg(int(info[k]), pre))


def _host(a):
    return a.get() if hasattr(a, "get") else a


def _out(r, out):
    if out is None:
        return r
    if isinstance(r, tuple):
        for o, x in zip(out, r):
            copy_into_out(o, x)
        return out
    return copy_into_out(out, r)


# --- LU with partial pivoting --------------------------------------------------------------


_NB = 32  # panel width of the blocked LU: the trailing updates are matrix products
USE_SCIPY = True  # LAPACK's getrf through SciPy when it is installed (an optional speed-up)


def _lu_arrays(a):
    """LU of a (..., m, n) array: (LU packed, pivots 1-based int32, perm rows, info int32)."""
    xp = xp_of(a)
    *batch, m, n = a.shape
    k = min(m, n)
    a2 = _flat(a, 2).copy()
    r = _lu_scipy(a2) if (USE_SCIPY and xp is np and a2.size) else None
    if r is None:
        piv, info = _lu_blocked(a2)
    else:
        piv, info = r
    perm = _perm_from_pivots(piv, m)
    return (
        a2.reshape(a.shape),
        piv.reshape(tuple(batch) + (k,)),
        perm.reshape(tuple(batch) + (m,)),
        info.reshape(tuple(batch)),
    )


def _lu_scipy(a2):
    """getrf on each matrix of the (B, m, n) array, in place; None without SciPy."""
    lapack = linalg_lapack.scipy_lapack()
    if lapack is None:
        return None
    getrf = lapack.get_lapack_funcs("getrf", (a2[0],))
    nb, m, n = a2.shape
    piv = np.empty((nb, min(m, n)), dtype=np.int32)
    info = np.zeros(nb, dtype=np.int32)
    for b in range(nb):
        lu, p, inf = getrf(a2[b])
        a2[b] = lu
        piv[b] = p + 1
        info[b] = max(int(inf), 0)
    return piv, info


def _lu_blocked(a2):
    """Right-looking blocked LU with partial pivoting of a (B, m, n) array, in place."""
    xp = xp_of(a2)
    nb, m, n = a2.shape
    k = min(m, n)
    piv = xp.zeros((nb, k), dtype=np.int32)
    info = xp.zeros(nb, dtype=np.int32)
    rows = xp.arange(nb)
    cplx = a2.dtype.kind == "c"
    for j0 in range(0, k, _NB):
        j1 = min(j0 + _NB, k)
        for j in range(j0, j1):  # the panel, column by column
            col = a2[:, j:, j]
            # LAPACK's i?amax: |re| + |im| for complex
            mag = (xp.abs(col.real) + xp.abs(col.imag)) if cplx else xp.abs(col)
            p = mag.argmax(axis=1) + j
            piv[:, j] = p + 1
            if (p != j).any():
                rj = a2[rows, j].copy()
                a2[rows, j] = a2[rows, p]
                a2[rows, p] = rj
            pivot = a2[:, j, j]
            zero = pivot == 0
            if zero.any():
                info = xp.where((info == 0) & zero, j + 1, info).astype(np.int32)
                pivot = xp.where(zero, 1, pivot)
            if j + 1 < m:
                a2[:, j + 1 :, j] /= pivot[:, None]
                if j + 1 < j1:
                    a2[:, j + 1 :, j + 1 : j1] -= (
                        a2[:, j + 1 :, j, None] * a2[:, j, None, j + 1 : j1]
                    )
        if j1 < n:  # U12 = L11^-1 A12, then A22 -= L21 U12
            l11 = xp.tril(a2[:, j0:j1, j0:j1], -1) + xp.eye(j1 - j0, dtype=a2.dtype)
            a2[:, j0:j1, j1:] = xp.linalg.solve(l11, a2[:, j0:j1, j1:])
            if j1 < m:
                a2[:, j1:, j1:] -= a2[:, j1:, j0:j1] @ a2[:, j0:j1, j1:]
    return piv, info


def _split_lu(lu):
    xp = xp_of(lu)
    m, n = lu.shape[-2:]
    k = min(m, n)
    L = xp.tril(lu[..., :, :k], -1) + xp.eye(m, k, dtype=lu.dtype)
    U = xp.triu(lu[..., :k, :])
    return L, U


def _perm_matrix(perm, dtype):
    """P with A = P L U from the row order ``perm`` (row i of PA is row perm[i] of A)."""
    xp = xp_of(perm)
    m = perm.shape[-1]
    P = xp.zeros(perm.shape + (m,), dtype=dtype)
    # (P^T)[i, perm[i]] = 1, so P[perm[i], i] = 1
    np_idx = xp.indices(perm.shape)
    P[tuple(np_idx[:-1]) + (perm, np_idx[-1])] = 1
    return P


def _perm_from_pivots(piv, m: int):
    xp = xp_of(piv)
    nb_shape = piv.shape[:-1]
    p2 = _flat(piv, 1).astype(np.int64) - 1
    nb = p2.shape[0]
    perm = xp.broadcast_to(xp.arange(m), (nb, m)).copy()
    rows = xp.arange(nb)
    for j in range(p2.shape[1]):
        p = p2[:, j]
        t = perm[rows, j].copy()
        perm[rows, j] = perm[rows, p]
        perm[rows, p] = t
    return perm.reshape(tuple(nb_shape) + (m,))


class LU(Op):
    """(L, U) of A = P L U; P (with the pivots) is computed too but has no gradient."""

    save_out = True
    higher_order = True  # create_graph: the same formula in Tensor ops of L and U

    @staticmethod
    def forward(ctx, a):
        lu, piv, perm, info = _lu_arrays(a)
        L, U = _split_lu(lu)
        ctx.saved = (L, U, perm)
        ctx.extra = (lu, piv, perm, info)
        return L, U

    @staticmethod
    def backward(ctx, gL, gU):
        L, U, perm = ctx.saved
        graph = isinstance(L, Tensor)
        if graph:
            perm = perm._data  # (an integer array: wrapped as a constant)
        m, n = L.shape[-2], U.shape[-1]
        k = min(m, n)
        gL = _zeros_if_none(gL, L)
        gU = _zeros_if_none(gU, U)
        L1, U1 = L[..., :k, :], U[..., :, :k]
        gL1, gU1 = gL[..., :k, :], gU[..., :, :k]
        bottom = right = None
        if m > n:  # tall: the rows below the square block are L2 = A2 U^{-1}
            L2, gL2 = L[..., k:, :], gL[..., k:, :]
            bottom = _H(_solve_any(U1, _H(gL2)))  # gL2 U^{-H}
            gU1 = gU1 - _H(L2) @ bottom
        elif n > m:  # wide: the right columns are U2 = L^{-1} A2
            U2, gU2 = U[..., :, k:], gU[..., :, k:]
            right = _solve_any(_H(L1), gU2)  # L^{-H} gU2
            gL1 = gL1 - right @ _H(U2)
        gx = _tril(_H(L1) @ gL1, -1) + _triu(gU1 @ _H(U1))
        top = _H(_solve_any(U1, _H(_solve_any(_H(L1), gx))))  # L^{-H} gX U^{-H}
        if bottom is not None:
            g = cat([top, bottom], -2) if graph else xp_of(top).concatenate([top, bottom], -2)
        elif right is not None:
            g = cat([top, right], -1) if graph else xp_of(top).concatenate([top, right], -1)
        else:
            g = top
        # undo the row permutation: (P^T A) rows are A[perm], so row i of A is row inv[i] of g
        xp = xp_of(perm)
        if graph:
            inv = xp.argsort(perm, axis=-1)
            idx = xp.broadcast_to(inv[..., :, None], inv.shape + (g.shape[-1],))
            return g.gather(-2, _wrap(xp.ascontiguousarray(idx).astype(np.int64)))
        out = xp.empty_like(g)
        idx = xp.indices(perm.shape)
        out[tuple(idx[:-1]) + (perm,)] = g
        return out


# --- solve / inv ---------------------------------------------------------------------------


class Solve(Op):
    """X with A X = B (B a batch of matrices; batch dims broadcast)."""

    save_in = (0,)
    save_out = True
    higher_order = True  # under create_graph the backward runs on Tensors through these ops

    @staticmethod
    def forward(ctx, a, b):
        x = _solve(a, b)
        ctx.saved = (a, x)
        ctx.shapes = (a.shape, b.shape)
        return x

    @staticmethod
    def backward(ctx, g):
        a, x = ctx.saved
        sa, sb = ctx.shapes
        if isinstance(g, Tensor):  # create_graph: the same formula through recorded ops
            gb = Solve.apply(a.mH, g)
            ga = -gb @ x.mH if ctx._needs[0] else None
            return (_bw.sum_to(ga, sa) if ga is not None else None), _bw.sum_to(gb, sb)
        gb = _solve(_mH(a), g)  # batch dims broadcast
        ga = -gb @ _mH(x) if ctx._needs[0] else None
        return (_sum_to(ga, sa) if ga is not None else None), _sum_to(gb, sb)


def _singular_msg(fname):
    return lambda i, pre: (
        f"{fname}: {pre}The diagonal element {i} is zero, the inversion could not be completed "
        "because the input matrix is singular."
    )


def _safe(fn, a, fname, msg):
    """Run an xp.linalg function; on LAPACK's singular error find the failing matrix as torch."""
    try:
        return fn(a)
    except Exception as e:
        if "LinAlgError" not in type(e).__name__ and "singular" not in str(e).lower():
            raise
    _raise_batched(_lu_arrays(a)[3], msg)
    raise LinAlgError(f"{fname}: The input matrix is singular.")


def _is_vector_rhs(A: Tensor, B: Tensor) -> bool:
    a, b = A._data, B._data
    return b.ndim == 1 or (b.ndim == a.ndim - 1 and b.shape == a.shape[:-1])


def solve_ex(A: Tensor, B: Tensor, *, left: bool = True, check_errors: bool = False, out=None):
    """(result, info) of A X = B, as torch.linalg.solve_ex."""
    _check(A, "linalg.solve")
    _same_dtype(A, B, "linalg.solve")
    vec = _is_vector_rhs(A, B)
    b = B.unsqueeze(-1) if vec else B
    if not left:
        A, b = A.mT, b.mT
    a = A._data
    n = a.shape[-1]
    if b._data.shape[-2] != n:
        bs = b._data.shape
        raise RuntimeError(
            "linalg.solve: Incompatible shapes of A and B for the equation "
            f"{'AX = B' if left else 'XA = B'} ({a.shape[-2]}x{n} and {bs[-2]}x{bs[-1]})"
        )
    info = xp_of(a).zeros(a.shape[:-2], dtype=np.int32)
    try:
        X = Solve.apply(A, b)
    except Exception as e:
        if "singular" not in str(e).lower():
            raise
        info = _lu_arrays(a)[3]
        if check_errors:
            _raise_batched(
                info,
                lambda i, pre: (
                    f"torch.linalg.solve: {pre}The solver failed because the input "
                    "matrix is singular."
                ),
            )
        X = _wrap(_singular_solution(a, b._data))
    if not left:
        X = X.mT
    if vec:
        X = X.squeeze(-1)
    return _out(_rt("linalg_solve_ex", ("result", "info"), X, _wrap(info)), out)


def _singular_solution(a, b):
    """What LAPACK's gesv leaves for a singular system: inf/nan from dividing by the zero pivot."""
    lu, _, perm, _ = _lu_arrays(a)
    xp = xp_of(a)
    L, U = _split_lu(lu)
    shape = np.broadcast_shapes(a.shape[:-2], b.shape[:-2])
    bb = xp.broadcast_to(b, shape + b.shape[-2:])
    pp = xp.broadcast_to(perm[..., None], shape + (perm.shape[-1], 1))
    y = _solve(L, xp.take_along_axis(bb, pp, axis=-2))
    return _back_subst(xp.broadcast_to(U, shape + U.shape[-2:]), y)


def solve(A: Tensor, B: Tensor, *, left: bool = True, out=None) -> Tensor:
    """X with A X = B (or X A = B for left=False), as torch.linalg.solve."""
    return _out(solve_ex(A, B, left=left, check_errors=True)[0], out)


class Inv(Op):
    save_out = True
    higher_order = True  # the backward is products of the output: Tensors work too

    @staticmethod
    def forward(ctx, a):
        r = _safe(linalg_lapack.inv, a, "linalg.inv", _singular_msg("linalg.inv"))
        ctx.saved = (r,)
        return r

    @staticmethod
    def backward(ctx, g):
        (r,) = ctx.saved
        rh = r.mH if isinstance(r, Tensor) else _mH(r)
        return -(rh @ g @ rh)


def inv(A: Tensor, *, out=None) -> Tensor:
    """Inverse of a batch of square matrices; LinAlgError for a singular one."""
    _check(A, "linalg.inv")
    return _out(Inv.apply(A), out)


def inv_ex(A: Tensor, *, check_errors: bool = False, out=None):
    """(inverse, info), as torch.linalg.inv_ex."""
    _check(A, "linalg.inv")
    a = A._data
    info = _lu_arrays(a)[3]
    if bool((info != 0).any()):
        if check_errors:
            _raise_batched(info, _singular_msg("linalg.inv"))
        eye = xp_of(a).broadcast_to(_eye_like(a), a.shape)
        r = _wrap(_singular_solution(a, eye))
    else:
        r = Inv.apply(A)
    return _out(_rt("linalg_inv_ex", ("inverse", "info"), r, _wrap(info)), out)


def inverse(input: Tensor, *, out=None) -> Tensor:
    """torch.inverse: the matrix inverse (torch.linalg.inv)."""
    return inv(input, out=out)


# --- det / slogdet -------------------------------------------------------------------------


class Det(Op):
    save_in = (0,)
    higher_order = True

    @staticmethod
    def forward(ctx, a):
        r = xp_of(a).linalg.det(a)
        ctx.saved = (a, r)
        return r

    @staticmethod
    def backward(ctx, g):
        a, r = ctx.saved
        if isinstance(g, Tensor):  # create_graph: det and inverse as recorded ops
            d = Det.apply(a)
            scale = (g * d.conj()).unsqueeze(-1).unsqueeze(-1)
            return scale * Inv.apply(a).mH
        xp = xp_of(a)
        if a.shape[-1] == 0:
            return xp.zeros_like(a)
        # torch: g * conj(det) * A^{-H}, and 0 where the determinant is exactly 0
        zero = r == 0
        safe = xp.where(zero[..., None, None], _eye_like(a), a) if bool(zero.any()) else a
        scale = xp.where(zero, 0, g * r.conj())
        return scale[..., None, None] * _mH(xp.linalg.inv(safe))


def det(A: Tensor, *, out=None) -> Tensor:
    """Determinant of a batch of square matrices, as torch.linalg.det / torch.det."""
    _check(A, "linalg.det")
    return _out(Det.apply(A), out)


class SlogDet(Op):
    save_in = (0,)
    higher_order = True

    @staticmethod
    def forward(ctx, a):
        xp = xp_of(a)
        sign, logabs = xp.linalg.slogdet(a)
        ctx.saved = (a,)
        return sign.astype(a.dtype, copy=False), logabs.astype(a.real.dtype, copy=False)

    @staticmethod
    def backward(ctx, gsign, glog):
        (a,) = ctx.saved
        if isinstance(a, Tensor):  # create_graph
            if glog is None:
                return a * 0
            return glog.unsqueeze(-1).unsqueeze(-1) * Inv.apply(a).mH
        xp = xp_of(a)
        if glog is None:
            return xp.zeros_like(a)
        return glog[..., None, None] * _mH(xp.linalg.inv(a))


def linalg_slogdet(A: Tensor, *, out=None):
    """(sign, logabsdet), as torch.linalg.slogdet."""
    _check(A, "linalg.slogdet")
    s, la = SlogDet.apply(A)
    return _out(_rt("linalg_slogdet", ("sign", "logabsdet"), s, la), out)


def slogdet(input: Tensor, *, out=None):
    """torch.slogdet: (sign, logabsdet)."""
    _check(input, "linalg.slogdet")
    s, la = SlogDet.apply(input)
    return _out(_rt("slogdet", ("sign", "logabsdet"), s, la), out)


def logdet(input: Tensor) -> Tensor:
    """log(det(A)): nan for a negative determinant, -inf for a zero one (torch.logdet)."""
    _check(input, "logdet")
    s, la = SlogDet.apply(input)
    if input._data.dtype.kind == "c":
        return la + s.log()
    return la.where(s >= 0, la.new_full((), float("nan")))


# --- cholesky ------------------------------------------------------------------------------


def _chol_info(a):
    """Order of the first leading minor that is not positive-definite (0 when all are)."""
    xp = xp_of(a)
    n = a.shape[-1]
    a2 = _flat(a, 2)
    info = xp.zeros(a2.shape[0], dtype=np.int32)
    for k in range(1, n + 1):
        sub = a2[:, :k, :k]
        try:
            xp.linalg.cholesky(sub)
            continue
        except Exception:
            pass
        for b in range(a2.shape[0]):
            if info[b] == 0:
                try:
                    xp.linalg.cholesky(sub[b])
                except Exception:
                    info[b] = k
    return info.reshape(a.shape[:-2])


def _chol_msg(fname):
    return lambda i, pre: (
        f"{fname}: {pre}The factorization could not be completed because the input is not "
        f"positive-definite (the leading minor of order {i} is not positive-definite)."
    )


class Cholesky(Op):
    save_out = True
    higher_order = True

    @staticmethod
    def forward(ctx, a):
        try:
            L = linalg_lapack.cholesky(a)
        except Exception:
            _raise_batched(_chol_info(a), _chol_msg("linalg.cholesky"))
            raise
        ctx.saved = (L,)
        return L

    @staticmethod
    def backward(ctx, g):
        (L,) = ctx.saved
        if isinstance(L, Tensor):  # create_graph: the same formula through recorded ops
            p = (L.mH @ g).tril()
            phi = 0.5 * (p + p.tril(-1).mH)
            s = Solve.apply(L.mH, phi)
            return Solve.apply(L.mH, s.mH).mH
        xp = xp_of(L)
        p = xp.tril(_mH(L) @ g)
        # the hermitian matrix with P's strict lower part halved (and mirrored) and P's
        # diagonal halved, as torch (Murray 2016)
        phi = 0.5 * (p + _mH(xp.tril(p, -1)))
        s = _solve(_mH(L), phi)  # L^{-H} Phi
        return _mH(_solve(_mH(L), _mH(s)))  # ... L^{-1}


def cholesky_ex(A: Tensor, *, upper: bool = False, check_errors: bool = False, out=None):
    """(L, info), as torch.linalg.cholesky_ex."""
    _check(A, "linalg.cholesky")
    a = A._data
    try:
        L = Cholesky.apply(A)
        info = xp_of(a).zeros(a.shape[:-2], dtype=np.int32)
    except LinAlgError:
        if check_errors:
            raise
        info = _chol_info(a)
        L = _wrap(_partial_cholesky(a, info))
    if upper:
        L = L.mH
    return _out(_rt("linalg_cholesky_ex", ("L", "info"), L, _wrap(info)), out)


def _partial_cholesky(a, info):
    """What LAPACK's potrf leaves when it stops: the factor of the leading good block."""
    xp = xp_of(a)
    a2 = _flat(a, 2)
    out = xp.zeros_like(a2)
    inf2 = info.reshape(-1)
    for b in range(a2.shape[0]):
        k = int(inf2[b])
        if k == 0:
            out[b] = xp.linalg.cholesky(a2[b])
            continue
        good = k - 1
        t = xp.tril(a2[b]).copy()
        if good:
            l11 = xp.linalg.cholesky(a2[b, :good, :good])
            t[:good, :good] = l11
            t[good:, :good] = _mH(_solve(l11, _mH(a2[b, good:, :good])))
            # potrf stops at the failing pivot and leaves its Schur complement there
            lr = t[good, :good]
            t[good, good] = a2[b, good, good] - (lr * lr.conj()).sum().real
        out[b] = t
    return out.reshape(a.shape)


def linalg_cholesky(A: Tensor, *, upper: bool = False, out=None) -> Tensor:
    """Lower (or upper) Cholesky factor, as torch.linalg.cholesky."""
    _check(A, "linalg.cholesky")
    L = Cholesky.apply(A)
    return _out(L.mH if upper else L, out)


def cholesky(input: Tensor, upper: bool = False, *, out=None) -> Tensor:
    """torch.cholesky (the deprecated form of torch.linalg.cholesky)."""
    return linalg_cholesky(input, upper=upper, out=out)


def cholesky_solve(input: Tensor, input2: Tensor, upper: bool = False, *, out=None) -> Tensor:
    """X with (L L^H) X = B, from B and the Cholesky factor L (torch.cholesky_solve)."""
    _check(input2, "cholesky_solve", square=True)
    _same_dtype(input, input2, "cholesky_solve", "b", "A")
    # torch's gradient treats the factor as a full matrix: solve with L L^H composed as such
    prod = input2.mH @ input2 if upper else input2 @ input2.mH
    return _out(Solve.apply(prod, input), out)


def cholesky_inverse(input: Tensor, upper: bool = False, *, out=None) -> Tensor:
    """(L L^H)^{-1} from the Cholesky factor L (torch.cholesky_inverse)."""
    _check(input, "cholesky_inverse")
    # torch's gradient treats the factor as a full matrix: (L L^H)^{-1} composed as such
    prod = input.mH @ input if upper else input @ input.mH
    return _out(inv(prod), out)


# --- triangular solve ----------------------------------------------------------------------


def solve_triangular(
    A: Tensor, B: Tensor, *, upper: bool, left: bool = True, unitriangular: bool = False, out=None
) -> Tensor:
    """X with A X = B for triangular A (only its upper/lower triangle is read)."""
    _check(A, "linalg.solve_triangular")
    _same_dtype(A, B, "linalg.solve_triangular", "A", "B")
    if B._data.ndim < 2:
        raise RuntimeError(
            "linalg.solve_triangular: The input tensor B must have at least 2 dimensions."
        )
    T = A.triu() if upper else A.tril()
    if unitriangular:
        xp = xp_of(A._data)
        n = A._data.shape[-1]
        T = (A.triu(1) if upper else A.tril(-1)) + _wrap(xp.eye(n, dtype=A._data.dtype))
    if not left:
        T, B = T.mT, B.mT
    X = _tri_solve(T, B)
    return _out(X.mT if not left else X, out)


def _tri_solve(T: Tensor, B: Tensor) -> Tensor:
    t, b = T._data, B._data
    if t.shape[-1] != b.shape[-2]:
        raise RuntimeError(
            "linalg.solve_triangular: Incompatible shapes of A and B for the equation AX = B "
            f"({t.shape[-2]}x{t.shape[-1]} and {b.shape[-2]}x{b.shape[-1]})"
        )
    with np.errstate(all="ignore"):
        try:
            return Solve.apply(T, B)
        except Exception as e:
            if "singular" not in str(e).lower():
                raise
    # a zero on the diagonal: LAPACK's trtrs divides by it (inf/nan), no error
    xp = xp_of(t)
    shape = np.broadcast_shapes(t.shape[:-2], b.shape[:-2])
    tt = xp.broadcast_to(t, shape + t.shape[-2:])
    bb = xp.broadcast_to(b, shape + b.shape[-2:])
    return _wrap(_back_subst(tt, bb))


def _back_subst(t, b):
    xp = xp_of(t)
    n = t.shape[-1]
    lower = bool((xp.triu(t, 1) == 0).all())
    x = xp.zeros(b.shape, dtype=np.result_type(t, b))
    order = range(n) if lower else range(n - 1, -1, -1)
    with np.errstate(all="ignore"):
        for i in order:
            s = b[..., i, :] - (t[..., i, None, :] @ x)[..., 0, :]
            x[..., i, :] = s / t[..., i, i, None]
    return x


def triangular_solve(
    b: Tensor, A: Tensor, upper: bool = True, transpose: bool = False, unitriangular: bool = False
):
    """(solution, cloned_coefficient) of A X = b (or A^T X = b), as torch.triangular_solve."""
    M = A.mT if transpose else A
    X = solve_triangular(M, b, upper=upper != transpose, unitriangular=unitriangular)
    return _rt("triangular_solve", ("solution", "cloned_coefficient"), X, A.clone())


# --- QR ------------------------------------------------------------------------------------


class QR(Op):
    save_out = True
    higher_order = True  # create_graph: the same formula in Tensor ops of Q and R

    @staticmethod
    def forward(ctx, a, mode):
        xp = xp_of(a)
        q, r = xp.linalg.qr(a, mode="complete" if mode == "complete" else "reduced")
        ctx.saved = (q, r)
        ctx.mode = mode
        if mode == "r":
            q = xp.zeros((0,), dtype=a.dtype)
        return q, r

    @staticmethod
    def backward(ctx, gq, gr):
        q, r = ctx.saved
        m, n = q.shape[-2], r.shape[-1]
        if ctx.mode == "r":
            raise RuntimeError(
                "The derivative of linalg.qr depends on Q, which is not computed when mode='r'. "
                "Please use linalg.qr(A, mode='reduced') if you are going to differentiate "
                "through linalg.qr."
            )
        if ctx.mode == "complete" and m > n:
            raise RuntimeError(
                "The QR decomposition is not differentiable when mode='complete' and nrows > ncols."
            )
        gq = _zeros_if_none(gq, q)
        gr = _zeros_if_none(gr, r)
        if m >= n:
            return _qr_square_grad(q, r, gq, gr)
        x_r, y_r = r[..., :, :m], r[..., :, m:]
        gx_r, gy_r = gr[..., :, :m], gr[..., :, m:]
        y = q @ y_r
        gx = _qr_square_grad(q, x_r, gq + y @ _H(gy_r), gx_r)
        if isinstance(q, Tensor):
            return cat([gx, q @ gy_r], -1)
        return xp_of(q).concatenate([gx, q @ gy_r], axis=-1)


def _zeros_if_none(g, like):
    """A missing output gradient as zeros, an array or a Tensor as ``like``."""
    if g is not None:
        return g
    if isinstance(like, Tensor):
        return _wrap(xp_of(like._data).zeros_like(like._data))
    return xp_of(like).zeros_like(like)


def _H(a):
    """The conjugate transpose of the last two dims, of an array or a Tensor."""
    return a.mH if isinstance(a, Tensor) else _mH(a)


def _tril(a, k: int = 0):
    return a.tril(k) if isinstance(a, Tensor) else xp_of(a).tril(a, k)


def _triu(a, k: int = 0):
    return a.triu(k) if isinstance(a, Tensor) else xp_of(a).triu(a, k)


def _solve_any(a, b):
    """A^{-1} B: the Solve op on Tensors (create_graph=True), LAPACK on arrays."""
    return Solve.apply(a, b) if isinstance(a, Tensor) else _solve(a, b)


def _qr_square_grad(q, r, gq, gr):
    """Gradient for A = QR with Q m x n (m >= n), R n x n upper (arrays or Tensors)."""
    M = _H(q) @ gq - gr @ _H(r)
    t = _tril(M - _H(M), -1)
    inner = gq - q @ M + q @ t
    return _H(_solve_any(r, _H(inner)))  # inner R^{-H}


def linalg_qr(A: Tensor, mode: str = "reduced", *, out=None):
    """(Q, R), as torch.linalg.qr (mode 'reduced', 'complete' or 'r')."""
    _check(A, "linalg.qr", square=False)
    if mode not in ("reduced", "complete", "r"):
        raise RuntimeError(
            "qr received unrecognized mode '"
            + str(mode)
            + "' but expected one of 'reduced' (default), 'r', or 'complete'"
        )
    q, r = QR.apply(A, mode)
    return _out(_rt("linalg_qr", ("Q", "R"), q, r), out)


def qr(input: Tensor, some: bool = True, *, out=None):
    """torch.qr: reduced (some=True) or complete QR."""
    q, r = linalg_qr(input, "reduced" if some else "complete")
    return _out(_rt("qr", ("Q", "R"), q, r), out)


def geqrf(input: Tensor, *, out=None):
    """(a, tau): LAPACK's geqrf packing of the Householder QR (torch.geqrf; no gradient)."""
    _check(input, "geqrf", square=False)
    a = input._data
    xp = xp_of(a)
    m, n = a.shape[-2:]
    a2 = _flat(a, 2)
    hs, taus = [], []
    for b in range(a2.shape[0]):
        h, tau = xp.linalg.qr(a2[b], mode="raw")
        hs.append(h.T)
        taus.append(tau)
    k = min(m, n)
    if hs:
        h = xp.stack(hs).reshape(a.shape).astype(a.dtype, copy=False)
        tau = xp.stack(taus).reshape(a.shape[:-2] + (k,)).astype(a.dtype, copy=False)
    else:
        h, tau = a.copy(), xp.zeros(a.shape[:-2] + (k,), dtype=a.dtype)
    return _out(_rt("geqrf", ("a", "tau"), _wrap(h), _wrap(tau)), out)


def householder_product(A: Tensor, tau: Tensor, *, out=None) -> Tensor:
    """The first n columns of H_1 ... H_k, H_i = I - tau_i v_i v_i^H (torch.linalg
    .householder_product); differentiable through its composition."""
    _check(A, "torch.linalg.householder_product", square=False)
    a = A._data
    m, n = a.shape[-2:]
    k = tau._data.shape[-1]
    if m < n:
        raise RuntimeError(
            "torch.linalg.householder_product: input.shape[-2] must be greater than or equal "
            "to input.shape[-1]"
        )
    if k > n:
        raise RuntimeError(
            "torch.linalg.householder_product: input.shape[-1] must be greater than or equal "
            "to tau.shape[-1]"
        )
    _same_dtype(A, tau, "torch.linalg.householder_product", "input", "tau")
    xp = xp_of(a)
    V = A.tril(-1) + _wrap(xp.eye(m, n, dtype=a.dtype))
    Q = _wrap(xp.broadcast_to(xp.eye(m, dtype=a.dtype), a.shape[:-2] + (m, m)).copy())
    for i in range(k):
        v = V[..., :, i : i + 1]
        Q = Q - (Q @ v) * tau[..., i : i + 1, None] @ v.mH
    Q = Q[..., :, :n]
    if k == 0 and (A._rg or tau._rg):  # torch's result stays in the graph (a zero gradient)
        Q = Q + A * 0 + tau.sum(-1)[..., None, None] * 0
    return _out(Q, out)


def ormqr(
    input: Tensor,
    input2: Tensor,
    input3: Tensor,
    left: bool = True,
    transpose: bool = False,
    *,
    out=None,
) -> Tensor:
    """Q C, C Q (or with Q^H) for Q of the Householder packing (input, tau) (torch.ormqr)."""
    a = input._data
    m = a.shape[-2]
    k = input2._data.shape[-1]
    xp = xp_of(a)
    # pad to m x m so the product is the full Q
    A = input
    if a.shape[-1] < m:
        A = _cat_last(input, _wrap(xp.zeros(a.shape[:-1] + (m - a.shape[-1],), dtype=a.dtype)))
    elif a.shape[-1] > m:
        A = input[..., :, :m]
    tau = input2
    if k < m:
        tau = _cat_last(input2, _wrap(xp.zeros(input2._data.shape[:-1] + (m - k,), dtype=a.dtype)))
    Q = householder_product(A, tau)
    if transpose:
        Q = Q.mH
    return _out(Q @ input3 if left else input3 @ Q, out)


def _cat_last(a: Tensor, b: Tensor) -> Tensor:
    return cat((a, b), -1)


# --- eigh / eig ----------------------------------------------------------------------------


class Eigh(Op):
    save_out = True
    higher_order = True  # create_graph: ``_eigh_grad`` on the outputs as Tensors

    @staticmethod
    def forward(ctx, a, uplo, vectors):
        if not vectors:
            w = linalg_lapack.eigh(a, uplo, vectors=False)
            ctx.saved = (None, None)
            return w
        w, v = linalg_lapack.eigh(a, uplo)
        ctx.saved = (w, v)
        return w, v

    @staticmethod
    def backward(ctx, gw, gv=None):
        w, v = ctx.saved
        return _eigh_grad(w, v, gw, gv)


def _eigh_phase_check(vhgv) -> None:
    """torch's error where a complex eigenvector's phase reaches the loss."""
    im = _diag(vhgv).imag
    if not bool(xp_of(im).allclose(im, 0.0, rtol=1e-2, atol=1e-2)):  # torch's test
        raise RuntimeError(
            "linalg_eigh_backward: The eigenvectors in the complex case are specified up "
            "to multiplication by e^{i phi}. The specified loss function depends on this "
            "quantity, so it is ill-defined."
        )


def _eye(n: int, like):
    """The n x n identity in ``like``'s dtype: an array, or a constant Tensor for a Tensor."""
    if isinstance(like, Tensor):
        return _wrap(_eye_like(like._data, n))
    return _eye_like(like, n)


def _is_complex(a) -> bool:
    return a.is_complex() if isinstance(a, Tensor) else a.dtype.kind == "c"


def _eigh_grad(w, v, gw, gv):
    """``Eigh.backward`` on arrays, or Tensors (create_graph=True): V (diag(gw) + skew(V^H gV)
    / E) V^H with E_ij = w_j - w_i off the diagonal, as torch's linalg_eigh_backward."""
    vh = _H(v)
    if gv is None:
        return (v * gw[..., None, :]) @ vh
    vhgv = vh @ gv
    if _is_complex(v):
        _eigh_phase_check(_arr(vhgv))
    vhgv = 0.5 * (vhgv - _H(vhgv))
    eye = _eye(w.shape[-1], w)
    x = vhgv / (w[..., None, :] - w[..., :, None] + eye) * (1 - eye)  # diagonal divided by 1
    if gw is not None:
        x = x + gw[..., :, None] * eye
    return v @ x @ vh


def _eigh_check(A: Tensor, fname: str, UPLO: str) -> None:
    _check(A, fname)
    if UPLO not in ("L", "U"):
        raise RuntimeError(f"Expected UPLO argument to be 'L' or 'U', but got {UPLO}")


def eigh(A: Tensor, UPLO: str = "L", *, out=None):
    """(eigenvalues, eigenvectors) of a batch of hermitian matrices, as torch.linalg.eigh."""
    _eigh_check(A, "linalg.eigh", UPLO)
    w, v = Eigh.apply(A, UPLO, True)
    return _out(_rt("linalg_eigh", ("eigenvalues", "eigenvectors"), w, v), out)


def eigvalsh(A: Tensor, UPLO: str = "L", *, out=None) -> Tensor:
    """Eigenvalues (ascending) of hermitian matrices, as torch.linalg.eigvalsh."""
    _eigh_check(A, "linalg.eigvalsh", UPLO)
    if _records(A):
        return _out(Eigh.apply(A, UPLO, True)[0], out)
    return _out(Eigh.apply(A, UPLO, False), out)


def _complex_of(dt):
    return np.dtype(np.complex64) if dt in (np.float32, np.complex64) else np.dtype(np.complex128)


def _eig_any(a, vectors: bool = True):
    """numpy/cupy ``linalg.eig``; on the host when the array module has none (older CuPy)."""
    xp = xp_of(a)
    if hasattr(xp.linalg, "eig"):
        return xp.linalg.eig(a) if vectors else xp.linalg.eigvals(a)
    r = np.linalg.eig(_host(a)) if vectors else np.linalg.eigvals(_host(a))
    return tuple(xp.asarray(x) for x in r) if vectors else xp.asarray(r)


class Eig(Op):
    save_out = True
    higher_order = True  # create_graph: ``_eig_grad`` on the outputs as Tensors

    @staticmethod
    def forward(ctx, a):
        w, v = _eig_any(a)
        c = _complex_of(a.dtype)
        w, v = w.astype(c, copy=False), v.astype(c, copy=False)
        ctx.saved = (w, v)
        ctx.dt = a.dtype
        return w, v

    @staticmethod
    def backward(ctx, gw, gv):
        w, v = ctx.saved
        return _eig_grad(w, v, gw, gv, ctx.dt)


def _eig_grad(w, v, gw, gv, dt):
    """``Eig.backward`` on arrays, or Tensors (create_graph=True): V^{-H} (diag(gw) + (V^H gV -
    V^H V Re(diag(V^H gV))) / conj(E)) V^H, as torch's linalg_eig_backward; the real part for a
    real input."""
    eye = _eye(w.shape[-1], v)
    vh = _H(v)
    if gv is None:
        x = gw[..., :, None] * eye
    else:
        vhgv = vh @ gv
        im = _diag(_arr(vhgv)).imag
        if not bool(xp_of(im).allclose(im, 0.0, rtol=1e-2, atol=1e-2)):  # torch's test
            raise RuntimeError(
                "linalg_eig_backward: The eigenvectors in the complex case are specified up "
                "to multiplication by e^{i phi}. The specified loss function depends on this "
                "quantity, so it is ill-defined."
            )
        wc = w.conj()
        e = wc[..., None, :] - wc[..., :, None] + eye  # the diagonal divided by 1
        x = (vhgv - vh @ (v * _diag(vhgv).real[..., None, :])) / e * (1 - eye)
        if gw is not None:
            x = x + gw[..., :, None] * eye
    g = _solve_any(vh, x @ vh)
    if dt.kind == "c":
        return g
    return g.real if isinstance(g, Tensor) else g.real.astype(dt, copy=False)


def eig(A: Tensor, *, out=None):
    """(eigenvalues, eigenvectors), complex, as torch.linalg.eig."""
    _check(A, "linalg.eig")
    w, v = Eig.apply(A)
    return _out(_rt("linalg_eig", ("eigenvalues", "eigenvectors"), w, v), out)


def eigvals(A: Tensor, *, out=None) -> Tensor:
    """Eigenvalues (complex), as torch.linalg.eigvals."""
    _check(A, "linalg.eigvals")
    if _records(A):
        return _out(Eig.apply(A)[0], out)
    a = A._data
    return _out(_wrap(_eig_any(a, False).astype(_complex_of(a.dtype), copy=False)), out)


# --- SVD -----------------------------------------------------------------------------------


class SVD(Op):
    save_out = True
    higher_order = True  # create_graph: ``_svd_grad`` on the outputs as Tensors

    @staticmethod
    def forward(ctx, a, full):
        u, s, vh = linalg_lapack.svd(a, full_matrices=full)
        s = s.astype(a.real.dtype, copy=False)
        ctx.saved = (u, s, vh)
        return u, s, vh

    @staticmethod
    def backward(ctx, gu, gs, gvh):
        u, s, vh = ctx.saved
        m, n = u.shape[-2], vh.shape[-1]
        k = s.shape[-1]
        u, vh = u[..., :, :k], vh[..., :k, :]
        if gu is not None:
            gu = gu[..., :, :k]
        if gvh is not None:
            gvh = gvh[..., :k, :]
        return _svd_grad(u, s, vh, gu, gs, gvh, m, n)


def _svd_phase_check(uhgu, vhgv, s) -> None:
    """torch's error where a complex singular vector's phase reaches the loss (arrays)."""
    xp = xp_of(s)
    imu = _diag(uhgu).imag if uhgu is not None else xp.zeros_like(s)
    imv = _diag(vhgv).imag if vhgv is not None else xp.zeros_like(s)
    if not bool(xp.allclose(imu, -imv, rtol=1e-2, atol=1e-2)):
        raise RuntimeError(
            "svd_backward: The singular vectors in the complex case are specified up to "
            "multiplication by e^{i phi}. The specified loss function depends on this phase "
            "term, making it ill-defined."
        )


def _svd_grad(u, s, vh, gu, gs, gvh, m, n):
    """The SVD's input gradient (torch's svd_backward) on arrays, or Tensors (create_graph)."""
    if gu is None and gvh is None:
        return (u * gs[..., None, :]) @ vh
    uhgu = vhgv = None
    if gu is not None:
        uhgu = _H(u) @ gu
        uhgu = uhgu - _H(uhgu)
    if gvh is not None:
        vhgv = vh @ _H(gvh)
        vhgv = vhgv - _H(vhgv)
    cplx = _is_complex(u)
    if cplx:
        _svd_phase_check(
            None if uhgu is None else _arr(uhgu), None if vhgv is None else _arr(vhgv), _arr(s)
        )
    eye = _eye(s.shape[-1], s)
    s2 = s * s
    e = s2[..., None, :] - s2[..., :, None] + eye  # the diagonal divided by 1
    if uhgu is not None and vhgv is not None:
        ret = (uhgu * s[..., None, :] + s[..., :, None] * vhgv) / e
    elif uhgu is not None:
        ret = (uhgu / e) * s[..., None, :]
    else:
        ret = s[..., :, None] * (vhgv / e)
    if gs is not None:
        ret = ret + gs[..., :, None] * eye
    if cplx and uhgu is not None:
        ret = ret + (1j * _diag(uhgu).imag / (2 * s))[..., :, None] * eye
    if m > n and gu is not None:
        gus = gu / s[..., None, :]
        ga = u @ ret + gus - u @ (_H(u) @ gus)
        return ga @ vh
    if m < n and gvh is not None:
        sg = gvh / s[..., :, None]
        ga = ret @ vh + sg - (sg @ _H(vh)) @ vh
        return u @ ga
    return u @ ret @ vh


def _check_driver(A: Tensor, fname: str, driver) -> None:
    if driver is not None and xp_of(A._data) is np:
        raise RuntimeError(
            f"{fname}: keyword argument `driver=` is only supported on CUDA inputs with cuSOLVER "
            "backend."
        )


def linalg_svd(A: Tensor, full_matrices: bool = True, *, driver=None, out=None):
    """(U, S, Vh), as torch.linalg.svd."""
    _check(A, "linalg.svd", square=False)
    _check_driver(A, "torch.linalg.svd", driver)
    u, s, vh = SVD.apply(A, full_matrices)
    return _out(_rt("linalg_svd", ("U", "S", "Vh"), u, s, vh), out)


def svdvals(A: Tensor, *, driver=None, out=None) -> Tensor:
    """Singular values (descending), as torch.linalg.svdvals."""
    _check(A, "linalg.svdvals", square=False)
    _check_driver(A, "torch.linalg.svdvals", driver)
    if _records(A):
        return _out(SVD.apply(A, False)[1], out)
    a = A._data
    s = linalg_lapack.svd(a, compute_uv=False).astype(a.real.dtype, copy=False)
    return _out(_wrap(s), out)


def svd(input: Tensor, some: bool = True, compute_uv: bool = True, *, out=None):
    """torch.svd: (U, S, V) with V (not V^H); zero U/V when compute_uv=False."""
    _check(input, "svd", square=False)
    a = input._data
    if not compute_uv:
        xp = xp_of(a)
        m, n = a.shape[-2:]
        s = svdvals(input)
        u = _wrap(xp.zeros(a.shape[:-2] + (m, m), dtype=a.dtype))
        v = _wrap(xp.zeros(a.shape[:-2] + (n, n), dtype=a.dtype))
        return _out(_rt("svd", ("U", "S", "V"), u, s, v), out)
    u, s, vh = SVD.apply(input, not some)
    return _out(_rt("svd", ("U", "S", "V"), u, s, vh.mH), out)


# --- pinv / lstsq / rank -------------------------------------------------------------------


def _tol_arrays(s_max, atol, rtol, m, n, eps):
    xp = xp_of(s_max)
    a = xp.asarray(0.0 if atol is None else atol, dtype=s_max.dtype)
    if rtol is None:
        r = xp.asarray(eps * max(m, n) if (atol is None or _all_zero(atol)) else 0.0)
    else:
        r = xp.asarray(rtol, dtype=s_max.dtype)
    return xp.maximum(a, r * s_max)


def _all_zero(x) -> bool:
    return bool(np.all(np.asarray(_host(x)) == 0))


def _arr(x):
    return x._data if isinstance(x, Tensor) else x


def _last_max(s):
    """The largest of non-negative values along the last axis, 0 where it is empty, that axis
    kept (CuPy's max has no ``initial``)."""
    if s.shape[-1]:
        return s.max(-1, keepdims=True)
    return xp_of(s).zeros(s.shape[:-1] + (1,), s.dtype)


class Pinv(Op):
    save_in = (0,)
    save_out = True
    higher_order = True  # the backward is products of the input and output: Tensors work too

    @staticmethod
    def forward(ctx, a, atol, rtol, hermitian):
        xp = xp_of(a)
        m, n = a.shape[-2:]
        eps = float(np.finfo(a.real.dtype).eps)
        if hermitian:
            w, v = linalg_lapack.eigh(a)
            aw = xp.abs(w)
            tol = _tol_arrays(_last_max(aw), _ex(atol), _ex(rtol), m, n, eps)
            with np.errstate(divide="ignore"):
                inv_w = xp.where(aw > tol, 1 / xp.where(aw > tol, w, 1), 0).astype(a.dtype)
            p = (v * inv_w[..., None, :]) @ _mH(v)
        else:
            u, s, vh = linalg_lapack.svd(a, full_matrices=False)
            smax = s[..., :1] if s.shape[-1] else xp.zeros(s.shape[:-1] + (1,), s.dtype)
            tol = _tol_arrays(smax, _ex(atol), _ex(rtol), m, n, eps)
            inv_s = xp.where(s > tol, 1 / xp.where(s > tol, s, 1), 0).astype(a.dtype)
            p = (_mH(vh) * inv_s[..., None, :]) @ _mH(u)
        ctx.saved = (a, p)
        return p

    @staticmethod
    def backward(ctx, g):
        a, p = ctx.saved
        m, n = a.shape[-2:]
        ph, gh, eye_m, eye_n = _H(p), _H(g), _eye(m, a), _eye(n, a)
        ga = -(ph @ g @ ph)
        ga = ga + (eye_m - a @ p) @ gh @ (p @ ph)
        ga = ga + (ph @ p) @ gh @ (eye_n - p @ a)
        return ga, None, None, None


def _ex(x):
    """A tolerance argument: a number, an array (from a Tensor, with a trailing axis) or None."""
    if isinstance(x, Tensor):
        x = x._data
    if x is None or isinstance(x, (int, float)):
        return x
    return x[..., None]


def pinv(
    A: Tensor, rcond=None, hermitian: bool = False, *, atol=None, rtol=None, out=None
) -> Tensor:
    """Moore-Penrose pseudo-inverse, as torch.linalg.pinv (atol/rtol or the legacy rcond)."""
    _check(A, "linalg.pinv", square=False)
    if rcond is not None:
        rtol = rcond
    return _out(Pinv.apply(A, _arr(atol), _arr(rtol), hermitian), out)


def pinverse(input: Tensor, rcond: float = 1e-15) -> Tensor:
    """torch.pinverse: pinv with a relative cutoff ``rcond``."""
    return pinv(input, rtol=rcond)


def matrix_rank(
    A: Tensor, tol=None, hermitian: bool = False, *, atol=None, rtol=None, out=None
) -> Tensor:
    """Number of singular values above max(atol, rtol * largest), as torch.linalg.matrix_rank."""
    _check(A, "linalg.matrix_rank", square=False)
    a = A._data
    xp = xp_of(a)
    if tol is not None:
        atol, rtol = tol, 0.0
    m, n = a.shape[-2:]
    s = (
        xp.abs(linalg_lapack.eigh(a, vectors=False))
        if hermitian
        else linalg_lapack.svd(a, compute_uv=False)
    )
    smax = _last_max(s)
    eps = float(np.finfo(a.real.dtype).eps)
    t = _tol_arrays(smax, _ex(_arr(atol)), _ex(_arr(rtol)), m, n, eps)
    r = (s > t).sum(-1).astype(np.int64)
    return _out(_wrap(r), out)


def lstsq(A: Tensor, B: Tensor, rcond=None, *, driver=None):
    """(solution, residuals, rank, singular_values), as torch.linalg.lstsq on the CPU."""
    _check(A, "torch.linalg.lstsq", square=False)
    _same_dtype(A, B, "torch.linalg.lstsq", "A", "B")
    drv = driver or "gelsy"
    if drv not in ("gels", "gelsy", "gelsd", "gelss"):
        raise RuntimeError(
            "torch.linalg.lstsq: parameter `driver` should be one of (gels, gelsy, gelsd, gelss)"
        )
    a = A._data
    xp = xp_of(a)
    vec = B._data.ndim == a.ndim - 1
    b = B.unsqueeze(-1) if vec else B
    m, n = a.shape[-2:]
    eps = float(np.finfo(a.real.dtype).eps)
    rc = eps * max(m, n) if rcond is None else rcond
    X = Pinv.apply(A, None, rc, False) @ b
    if vec:
        X = X.squeeze(-1)
    rdt = a.real.dtype
    s_np = linalg_lapack.svd(a, compute_uv=False).astype(rdt, copy=False)
    smax = s_np[..., :1] if s_np.shape[-1] else xp.zeros(s_np.shape[:-1] + (1,), rdt)
    rank = (s_np > rc * smax).sum(-1).astype(np.int64)
    # torch's residuals stay in the graph even when empty
    res = (X.abs() if a.dtype.kind == "c" else X).reshape(-1)[:0]
    if m > n and drv != "gelsy" and bool((rank == n).all()):
        r = (A @ X.unsqueeze(-1) if vec else A @ X) - b
        res = (r.abs() ** 2).sum(-2)  # torch keeps the column dim of a vector b
    rank_t = _wrap(rank) if drv != "gels" else _wrap(xp.zeros((0,), dtype=np.int64))
    sv = _wrap(s_np) if drv in ("gelsd", "gelss") else _wrap(xp.zeros((0,), dtype=rdt))
    return _rt(
        "linalg_lstsq", ("solution", "residuals", "rank", "singular_values"), X, res, rank_t, sv
    )


# --- LU forms ------------------------------------------------------------------------------


def linalg_lu(A: Tensor, *, pivot: bool = True, out=None):
    """(P, L, U) with A = P L U, as torch.linalg.lu."""
    _check(A, "linalg.lu", square=False)
    if not pivot:
        raise RuntimeError("linalg.lu_factor: LU without pivoting is not implemented on the CPU")
    if _records(A):
        L, U = LU.apply(A)
        perm = L.grad_fn.extra[2]
    else:
        lu, _, perm, _ = _lu_arrays(A._data)
        L, U = (_wrap(x) for x in _split_lu(lu))
    P = _wrap(_perm_matrix(perm, A._data.dtype))
    return _out(_rt("linalg_lu", ("P", "L", "U"), P, L, U), out)


def _records(A: Tensor) -> bool:
    return A._rg and is_grad_enabled()


def _lu_pack(A: Tensor):
    a = A._data
    if _records(A):
        L, U = LU.apply(A)
        lu, piv, _, info = L.grad_fn.extra
        m, n = a.shape[-2:]
        k = min(m, n)
        LU_ = L.tril(-1)
        if n > k:
            LU_ = cat((LU_, _wrap(xp_of(a).zeros(a.shape[:-1] + (n - k,), dtype=a.dtype))), -1)
        if m > k:
            U = cat((U, _wrap(xp_of(a).zeros(a.shape[:-2] + (m - k, n), dtype=a.dtype))), -2)
        return LU_ + U, piv, info
    lu, piv, _, info = _lu_arrays(a)
    return _wrap(lu), piv, info


def lu_factor_ex(A: Tensor, *, pivot: bool = True, check_errors: bool = False, out=None):
    """(LU, pivots, info), as torch.linalg.lu_factor_ex (pivots 1-based int32)."""
    _check(A, "torch.linalg.lu_factor_ex", square=False)
    LU_, piv, info = _lu_pack(A)
    if check_errors:
        _raise_batched(
            info,
            lambda i, pre: (
                f"torch.linalg.lu_factor_ex: {pre}U[{i},{i}] is zero and using it on "
                "lu_solve would result in a division by zero. If you still want to perform the "
                "factorization, consider calling linalg.lu(A, pivot) or linalg.lu_factor_ex(A, "
                "pivot)"
            ),
            RuntimeError,
        )
    return _out(
        _rt("linalg_lu_factor_ex", ("LU", "pivots", "info"), LU_, _wrap(piv), _wrap(info)), out
    )


def lu_factor(A: Tensor, *, pivot: bool = True, out=None):
    """(LU, pivots), as torch.linalg.lu_factor (LinAlgError for a singular matrix)."""
    _check(A, "torch.linalg.lu_factor", square=False)
    LU_, piv, info = _lu_pack(A)
    _raise_batched(
        info,
        lambda i, pre: (
            f"torch.linalg.lu_factor: {pre}U[{i},{i}] is zero and using it on "
            "lu_solve would result in a division by zero. If you still want to perform the "
            "factorization, consider calling linalg.lu(A, pivot) or linalg.lu_factor_ex(A, pivot)"
        ),
        RuntimeError,
    )
    return _out(_rt("linalg_lu_factor", ("LU", "pivots"), LU_, _wrap(piv)), out)


def lu(A: Tensor, pivot: bool = True, get_infos: bool = False, out=None):
    """torch.lu: (LU, pivots[, infos])."""
    _check(A, "lu", square=False)
    LU_, piv, info = _lu_pack(A)
    if get_infos:
        return _out((LU_, _wrap(piv), _wrap(info)), out)
    return _out((LU_, _wrap(piv)), out)


def lu_unpack(
    LU_data: Tensor,
    LU_pivots: Tensor,
    unpack_data: bool = True,
    unpack_pivots: bool = True,
    *,
    out=None,
):
    """(P, L, U) from lu_factor's packing, as torch.lu_unpack (L and U keep the gradient)."""
    a = LU_data._data
    xp = xp_of(a)
    m, n = a.shape[-2:]
    k = min(m, n)
    empty = _wrap(xp.zeros((0,), dtype=a.dtype))
    L = U = P = empty
    if unpack_data:
        L = LU_data[..., :, :k].tril(-1) + _wrap(xp.eye(m, k, dtype=a.dtype))
        U = LU_data[..., :k, :].triu()
    if unpack_pivots:
        piv = LU_pivots._data
        perm = _perm_from_pivots(piv, m)
        P = _wrap(_perm_matrix(perm, a.dtype))
    return _out(_rt("lu_unpack", ("P", "L", "U"), P, L, U), out)


def lu_solve_linalg(
    LU_: Tensor, pivots: Tensor, B: Tensor, *, left: bool = True, adjoint: bool = False, out=None
) -> Tensor:
    """X with A X = B (or X A = B, A^H) from lu_factor's output, as torch.linalg.lu_solve."""
    _check(LU_, "linalg.lu_solve")
    _same_dtype(LU_, B, "linalg.lu_solve", "LU", "B")
    P, L, U = lu_unpack(LU_, pivots)
    # A = P L U
    if left and not adjoint:  # X = U^-1 L^-1 P^T B
        y = solve_triangular(L, P.mT @ B, upper=False, unitriangular=True)
        X = solve_triangular(U, y, upper=True)
    elif left:  # A^H X = B: X = P L^-H U^-H B
        y = solve_triangular(U.mH, B, upper=False)
        X = P @ solve_triangular(L.mH, y, upper=True, unitriangular=True)
    elif not adjoint:  # X A = B: X = B U^-1 L^-1 P^T
        y = solve_triangular(U, B, upper=True, left=False)
        X = solve_triangular(L, y, upper=False, left=False, unitriangular=True) @ P.mT
    else:  # X A^H = B: X = B P L^-H U^-H
        y = solve_triangular(L.mH, B @ P, upper=True, left=False, unitriangular=True)
        X = solve_triangular(U.mH, y, upper=False, left=False)
    return _out(X, out)


def lu_solve(b: Tensor, LU_data: Tensor, LU_pivots: Tensor, *, out=None) -> Tensor:
    """torch.lu_solve(b, LU_data, LU_pivots)."""
    return lu_solve_linalg(LU_data, LU_pivots, b, out=out)
