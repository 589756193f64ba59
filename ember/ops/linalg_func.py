"""Matrix functions and norms of torch.linalg: matrix_exp (Pade 13 with scaling and squaring),
matrix_power, vector/matrix norms, cond, multi_dot, vecdot, vander, tensorinv, tensorsolve.

Everything but matrix_exp is a composition of differentiable ops, so its gradient is torch's.
"""

from __future__ import annotations

import math

import numpy as np

from .._backend.xp import xp_of
from ..autograd.node import Op
from ..tensor import Tensor, _wrap
from .inplace import copy_into_out
from .join import cat
from .linalg import cross as _cross
from .linalg_decomp import _check, inv, solve, svdvals
from .reduction import norm as _vnorm

__all__ = ["matrix_power", "matrix_exp"]

_B13 = (
    64764752532480000.0,
    32382376266240000.0,
    7771770303897600.0,
    1187353796428800.0,
    129060195264000.0,
    10559470521600.0,
    670442572800.0,
    33522128640.0,
    1323241920.0,
    40840800.0,
    960960.0,
    16380.0,
    182.0,
    1.0,
)
_THETA13 = 5.371920351148152


def _expm(a):
    """exp of a batch of matrices (float64/complex128 work precision), Higham's Pade 13."""
    xp = xp_of(a)
    dt = a.dtype
    w = a.astype(np.complex128 if dt.kind == "c" else np.float64)
    n = w.shape[-1]
    if w.size == 0:
        return w.astype(dt)
    norm1 = float(xp.abs(w).sum(-2).max()) if w.size else 0.0
    s = max(0, math.ceil(math.log2(norm1 / _THETA13))) if norm1 > _THETA13 else 0
    w = w / (2.0**s)
    eye = xp.eye(n, dtype=w.dtype)
    b = _B13
    a2 = w @ w
    a4 = a2 @ a2
    a6 = a4 @ a2
    u = w @ (
        a6 @ (b[13] * a6 + b[11] * a4 + b[9] * a2) + b[7] * a6 + b[5] * a4 + b[3] * a2 + b[1] * eye
    )
    v = a6 @ (b[12] * a6 + b[10] * a4 + b[8] * a2) + b[6] * a6 + b[4] * a4 + b[2] * a2 + b[0] * eye
    r = xp.linalg.solve(v - u, v + u)
    for _ in range(s):
        r = r @ r
    return r.astype(dt)


def _mH(a):
    a = a.swapaxes(-1, -2)
    return a.conj() if a.dtype.kind == "c" else a


class MatrixExp(Op):
    save_in = (0,)
    higher_order = True  # create_graph: the block matrix's exponential, recorded as this op

    @staticmethod
    def forward(ctx, a):
        ctx.saved = (a,)
        return _expm(a)

    @staticmethod
    def backward(ctx, g):
        (a,) = ctx.saved
        n = a.shape[-1]
        if isinstance(a, Tensor):
            ah = a.mH
            zero = _wrap(xp_of(a._data).zeros(a.shape, dtype=a._data.dtype))
            big = cat([cat([ah, g], -1), cat([zero, ah], -1)], -2)
            return MatrixExp.apply(big)[..., :n, n:]
        xp = xp_of(a)
        # the Frechet derivative's adjoint: the top-right block of exp([[A^H, G], [0, A^H]])
        ah = _mH(a)
        big = xp.zeros(a.shape[:-2] + (2 * n, 2 * n), dtype=a.dtype)
        big[..., :n, :n] = ah
        big[..., n:, n:] = ah
        big[..., :n, n:] = g
        return _expm(big)[..., :n, n:]


def matrix_exp(A: Tensor) -> Tensor:
    """Matrix exponential of a batch of square matrices (torch.linalg.matrix_exp)."""
    _check(A, "linalg.matrix_exp")
    return MatrixExp.apply(A)


def matrix_power(A: Tensor, n: int, *, out=None) -> Tensor:
    """A^n by repeated squaring (A^-1 powers for n < 0), as torch.linalg.matrix_power."""
    a = A._data
    if a.ndim < 2:
        raise RuntimeError(
            "linalg.matrix_power: The input tensor A must have at least 2 dimensions."
        )
    if a.shape[-1] != a.shape[-2]:
        raise RuntimeError(
            "linalg.matrix_power: A must be batches of square matrices, but they are "
            f"{a.shape[-2]} by {a.shape[-1]} matrices"
        )
    if not isinstance(n, (int, np.integer)) or isinstance(n, bool):
        raise TypeError(f"matrix_power(): argument 'n' must be int, not {type(n).__name__}")
    n = int(n)
    if n == 0:
        xp = xp_of(a)
        r = _wrap(xp.broadcast_to(xp.eye(a.shape[-1], dtype=a.dtype), a.shape).copy())
        if A._rg:  # torch keeps the graph: a zero gradient
            r = r + A * 0
        return _finish(r, out)
    if n < 0:
        A = inv(A)
        n = -n
    result = None
    base = A
    while n:
        if n & 1:
            result = base if result is None else result @ base
        n >>= 1
        if n:
            base = base @ base
    return _finish(result, out)


def _finish(r, out):
    return copy_into_out(out, r) if out is not None else r


# --- norms ---------------------------------------------------------------------------------


def _real_dtype(t: Tensor):
    return t.real.dtype if t._data.dtype.kind == "c" else t.dtype


def vector_norm(
    x: Tensor, ord=2, dim=None, keepdim: bool = False, *, dtype=None, out=None
) -> Tensor:
    """||x||_ord over ``dim`` (all elements by default), as torch.linalg.vector_norm."""
    if isinstance(ord, str):
        raise TypeError("linalg_vector_norm(): argument 'ord' (position 2) must be Number, not str")
    if dtype is not None:
        x = x.to(dtype)
    if x._data.dtype.kind == "c":
        x = x.abs()
    if isinstance(dim, int):
        dim = (dim,)
    return _finish(_vnorm(x, float(ord), dim, keepdim), out)


def _mnorm_dims(A: Tensor, dim, fname: str):
    nd = A._data.ndim
    if nd < 2:
        raise RuntimeError(f"{fname}: The input tensor A must have at least 2 dimensions.")
    if len(dim) != 2:
        raise RuntimeError(f"{fname}: dim must be a 2-tuple. Got " + " ".join(map(str, dim)))
    d0, d1 = (d % nd for d in dim)
    if d0 == d1:
        raise RuntimeError(f"{fname}: dims must be different. Got ({dim[0]}, {dim[1]})")
    return d0, d1


def matrix_norm(
    A: Tensor, ord="fro", dim=(-2, -1), keepdim: bool = False, *, dtype=None, out=None
) -> Tensor:
    """Matrix norm ('fro', 'nuc', +-1, +-2, +-inf) over ``dim``, as torch.linalg.matrix_norm."""
    fname = "linalg.matrix_norm"
    d0, d1 = _mnorm_dims(A, tuple(dim), fname)
    if A._data.dtype.kind not in "fc":
        raise RuntimeError(
            f"{fname}: Expected a floating point or complex tensor as input. Got {A.dtype}"
        )
    if dtype is not None:
        A = A.to(dtype)
    if ord == "fro":
        r = vector_norm(A, 2, (d0, d1), keepdim)
    elif ord == "nuc" or ord in (2, -2):
        s = svdvals(A.movedim((d0, d1), (-2, -1)))
        if ord == "nuc":
            r = s.sum(-1)
        else:
            r = s.amax(-1) if ord == 2 else s.amin(-1)
        if keepdim:
            for d in sorted((d0, d1)):
                r = r.unsqueeze(d)
    elif ord in (1, -1, math.inf, -math.inf):
        sum_dim, red_dim = (d0, d1) if ord in (1, -1) else (d1, d0)
        s = A.abs().sum(sum_dim, keepdim=True)
        r = s.amax(red_dim, keepdim=True) if ord > 0 else s.amin(red_dim, keepdim=True)
        if not keepdim:
            r = r.squeeze((d0, d1))
    else:
        raise RuntimeError(f"{fname}: Order {ord} not supported.")
    return _finish(r, out)


def norm(A: Tensor, ord=None, dim=None, keepdim: bool = False, *, dtype=None, out=None) -> Tensor:
    """Vector or matrix norm, chosen by ``ord``/``dim`` as torch.linalg.norm."""
    nd = A._data.ndim
    if isinstance(dim, int):
        dim = (dim,)
    if dim is not None:
        dim = tuple(dim)
        if len(dim) == 2:
            return matrix_norm(A, "fro" if ord is None else ord, dim, keepdim, dtype=dtype, out=out)
        return vector_norm(A, 2 if ord is None else ord, dim, keepdim, dtype=dtype, out=out)
    if ord is None:
        return vector_norm(A, 2, None, keepdim, dtype=dtype, out=out)
    if nd == 2:
        return matrix_norm(A, ord, (-2, -1), keepdim, dtype=dtype, out=out)
    if nd == 1 and not isinstance(ord, str):
        return vector_norm(A, ord, None, keepdim, dtype=dtype, out=out)
    raise RuntimeError(
        f"linalg.norm: If dim is not specified but ord is, the input must be 1D or 2D. Got {nd}D."
    )


def cond(A: Tensor, p=None, *, out=None) -> Tensor:
    """Condition number in the ``p`` norm, as torch.linalg.cond."""
    _check(A, "linalg.cond", square=p not in (None, 2, -2))
    if p is None or p in (2, -2):
        s = svdvals(A)
        r = s[..., 0] / s[..., -1] if p != -2 else s[..., -1] / s[..., 0]
    else:
        r = matrix_norm(A, p) * matrix_norm(inv(A), p)
    return _finish(r, out)


# --- products and shapes -------------------------------------------------------------------


def multi_dot(tensors, *, out=None) -> Tensor:
    """Chained matrix product (first/last operand may be 1-D), as torch.linalg.multi_dot."""
    ts = list(tensors)
    if len(ts) < 2:
        raise RuntimeError(f"multi_dot(): expected at least 2 tensors but got {len(ts)}")
    first1, last1 = ts[0]._data.ndim == 1, ts[-1]._data.ndim == 1
    if first1:
        ts[0] = ts[0].unsqueeze(0)
    if last1:
        ts[-1] = ts[-1].unsqueeze(-1)
    for i, t in enumerate(ts):
        if t._data.ndim != 2:
            raise RuntimeError(
                f"multi_dot(): tensor {i} must be 2D but got {t._data.ndim}D"
                if 0 < i < len(ts) - 1
                else f"multi_dot(): the {'first' if i == 0 else 'last'} argument must be 1D or "
                f"2D but got {tensors[i]._data.ndim}D"
            )
    r = ts[0]
    for t in ts[1:]:
        r = r @ t
    if first1:
        r = r.squeeze(0)
    if last1:
        r = r.squeeze(-1)
    return _finish(r, out)


def vecdot(x: Tensor, y: Tensor, *, dim: int = -1, out=None) -> Tensor:
    """sum(conj(x) * y) over ``dim``, as torch.linalg.vecdot."""
    xc = x.conj() if x._data.dtype.kind == "c" else x
    return _finish((xc * y).sum(dim), out)


def vander(x: Tensor, *, N: int | None = None) -> Tensor:
    """Vandermonde matrix of increasing powers x^0..x^(N-1), as torch.linalg.vander."""
    if x._data.ndim == 0:  # torch treats a 0-d x as one value
        x = x.reshape(1)
    a = x._data
    n = a.shape[-1] if N is None else N
    if n <= 1:
        raise RuntimeError("N must be greater than 1.")
    if a.dtype.kind in "bu" or a.dtype == np.int8 or a.dtype == np.int16 or a.dtype == np.int32:
        x = x.to(_wrap(np.zeros((), np.int64)).dtype)
    xs = x.unsqueeze(-1).expand(*a.shape, n - 1)
    ones = _wrap(xp_of(a).ones(a.shape + (1,), dtype=x._data.dtype))
    return cat((ones, xs.cumprod(-1)), -1)


def diagonal(A: Tensor, *, offset: int = 0, dim1: int = -2, dim2: int = -1) -> Tensor:
    """A's diagonal over (dim1, dim2), as torch.linalg.diagonal."""
    return A.diagonal(offset, dim1, dim2)


def cross(input: Tensor, other: Tensor, *, dim: int = -1, out=None) -> Tensor:
    """Cross product of 3-vectors along ``dim`` (broadcasting), as torch.linalg.cross."""
    return _cross(input, other, dim, out=out)


def tensorinv(A: Tensor, ind: int = 2, *, out=None) -> Tensor:
    """Inverse of A seen as a map from A.shape[ind:] to A.shape[:ind] (torch.linalg.tensorinv)."""
    if ind <= 0:
        raise RuntimeError(f"Expected a strictly positive integer for 'ind', but got {ind}")
    shp = A._data.shape
    rows = int(np.prod(shp[:ind]))
    cols = int(np.prod(shp[ind:]))
    if rows != cols:
        raise RuntimeError(
            "Expected self to satisfy the requirement prod(self.shape[ind:]) == "
            f"prod(self.shape[:ind]), but got {cols} != {rows}"
        )
    r = inv(A.reshape(rows, cols)).reshape(*shp[ind:], *shp[:ind])
    return _finish(r, out)


def tensorsolve(A: Tensor, B: Tensor, dims=None, *, out=None) -> Tensor:
    """X with tensordot(A, X, X.ndim) = B, as torch.linalg.tensorsolve."""
    if dims is not None:
        nd = A._data.ndim
        src = [d % nd for d in dims]
        A = A.movedim(src, list(range(nd - len(src), nd)))
    shp = A._data.shape
    rest = shp[B._data.ndim :]
    n = int(np.prod(rest))
    m = int(np.prod(B._data.shape))
    if m != n:
        raise RuntimeError(
            "Expected self to satisfy the requirement prod(self.shape[other.ndim:]) == "
            f"prod(self.shape[:other.ndim]), but got {n} != {m}"
        )
    r = solve(A.reshape(m, n), B.reshape(m)).reshape(*rest)
    return _finish(r, out)
