"""Private batched cholesky, lower-triangular solve and inverse for ember.distributions'
multivariate normals (NumPy/CuPy linalg with their gradients). A stand-in until ember.linalg
lands: the lead may swap these for linalg.cholesky / solve_triangular / inv."""

from __future__ import annotations

from .._backend.xp import xp_of
from ..autograd.node import Op
from ..tensor import Tensor
from . import _bw


def _mT(a):
    return a.swapaxes(-1, -2)


def _tril(xp, a):
    return xp.tril(a)


class _Cholesky(Op):
    @staticmethod
    def forward(ctx, a):
        xp = xp_of(a)
        try:
            L = xp.linalg.cholesky(a)
        except Exception as e:  # NumPy's LinAlgError, as torch's linalg error names it
            raise RuntimeError(
                "linalg.cholesky: The factorization could not be completed because the input "
                "is not positive-definite."
            ) from e
        ctx.saved = (L,)
        return L

    @staticmethod
    def backward(ctx, g):
        (L,) = ctx.saved
        xp = xp_of(L)
        # gA = L^-T Phi(L^T gL) L^-1, symmetrised; Phi keeps the lower triangle, halves the diagonal
        phi = _tril(xp, _mT(L) @ g)
        n = L.shape[-1]
        idx = xp.arange(n)
        phi[..., idx, idx] *= 0.5
        eye = xp.broadcast_to(xp.eye(n, dtype=L.dtype), L.shape)
        linv = xp.linalg.solve(L, eye)
        ga = _mT(linv) @ phi @ linv
        return 0.5 * (ga + _mT(ga))


class _SolveLower(Op):
    """X = L^-1 B for lower-triangular L (batch dims broadcast)."""

    @staticmethod
    def forward(ctx, L, B):
        xp = xp_of(L)
        shape = xp.broadcast_shapes(L.shape[:-2], B.shape[:-2])
        Lb = xp.broadcast_to(L, shape + L.shape[-2:])
        Bb = xp.broadcast_to(B, shape + B.shape[-2:])
        X = xp.linalg.solve(Lb, Bb)
        ctx.saved = (Lb, X)
        ctx.shapes = (L.shape, B.shape)
        return X

    @staticmethod
    def backward(ctx, g):
        Lb, X = ctx.saved
        xp = xp_of(Lb)
        gB = xp.linalg.solve(_mT(Lb), g)
        gL = -_tril(xp, gB @ _mT(X))
        return _bw.sum_to(gL, ctx.shapes[0]), _bw.sum_to(gB, ctx.shapes[1])


class _Inverse(Op):
    @staticmethod
    def forward(ctx, a):
        inv = xp_of(a).linalg.inv(a)
        ctx.saved = (inv,)
        return inv

    @staticmethod
    def backward(ctx, g):
        (inv,) = ctx.saved
        return -_mT(inv) @ g @ _mT(inv)


def cholesky(input: Tensor) -> Tensor:
    """The lower Cholesky factor of a (batch of) symmetric positive-definite matrices."""
    return _Cholesky.apply(input)


def solve_lower(L: Tensor, B: Tensor) -> Tensor:
    """L^-1 B for lower-triangular L, batch dims broadcast (solve_triangular(upper=False))."""
    return _SolveLower.apply(L, B)


def inverse(input: Tensor) -> Tensor:
    """The inverse of a (batch of) square matrices."""
    return _Inverse.apply(input)
