"""Randomized low-rank factorizations, ``torch.svd_lowrank`` and ``torch.pca_lowrank`` (Halko,
Martinsson and Tropp 2009: a Gaussian sketch of the range, refined by subspace iterations with a
QR after each product, then the SVD of the small projected matrix). The sketch is drawn from the
default generator in torch's order, one ``randn(n, q)``, so a seed gives torch's factors. Built
from differentiable ops: gradients flow as torch's."""

from __future__ import annotations

from .. import dtypes
from ..random import randn
from ..tensor import Tensor
from .linalg import matmul
from .linalg_decomp import linalg_qr, linalg_svd

__all__ = ["svd_lowrank", "pca_lowrank"]


def _range_basis(A: Tensor, q: int, niter: int, M: Tensor | None) -> Tensor:
    """An orthonormal (m, q) basis Q with Q Q^H (A - M) close to A - M, never forming A - M."""
    dtype = A.dtype if A.is_floating_point() or A.is_complex() else dtypes.float32

    def times(B: Tensor, X: Tensor, adjoint: bool = False) -> Tensor:
        """(A - M) @ X, or its adjoint's product when ``adjoint``."""
        Y = matmul(B.mH if adjoint else B, X)
        if M is not None:
            Y = Y - matmul(M.mH if adjoint else M, X)
        return Y

    Q = linalg_qr(times(A, randn(A.shape[-1], q, dtype=dtype, device=A.device))).Q
    for _ in range(niter):
        Q = linalg_qr(times(A, Q, adjoint=True)).Q
        Q = linalg_qr(times(A, Q)).Q
    return Q


def _lowrank(A: Tensor, q: int, niter: int, M: Tensor | None) -> tuple[Tensor, Tensor, Tensor]:
    m, n = A.shape[-2:]
    if M is not None:
        M = M.broadcast_to(A.shape)
    if m < n:  # work on the tall adjoint
        A = A.mH
        M = None if M is None else M.mH
    Q = _range_basis(A, q, 2 if niter is None else niter, M)
    B = matmul(Q.mH, A)
    if M is not None:
        B = B - matmul(Q.mH, M)
    U, S, Vh = linalg_svd(B, full_matrices=False)
    U, V = matmul(Q, U), Vh.mH
    return (V, S, U) if m < n else (U, S, V)


def svd_lowrank(
    A: Tensor, q: int | None = 6, niter: int | None = 2, M: Tensor | None = None
) -> tuple[Tensor, Tensor, Tensor]:
    """(U, S, V) with A - M ~ U diag(S) V^H of rank q (M: none, or broadcast to A), by a
    randomized range finder with ``niter`` subspace iterations, as torch.svd_lowrank."""
    if A.is_sparse:
        A = A.to_dense()
    return _lowrank(A, 6 if q is None else q, niter, M)


def pca_lowrank(
    A: Tensor, q: int | None = None, center: bool = True, niter: int = 2
) -> tuple[Tensor, Tensor, Tensor]:
    """(U, S, V) of the rank-q SVD of A with its column means taken out (``center``), as
    torch.pca_lowrank: V's columns are the principal directions."""
    m, n = A.shape[-2:]
    if q is None:
        q = min(6, m, n)
    elif not 0 <= q <= min(m, n):
        raise ValueError(
            f"q(={q}) must be non-negative integer and not greater than min(m, n)={min(m, n)}"
        )
    if not niter >= 0:
        raise ValueError(f"niter(={niter}) must be non-negative integer")
    if A.is_sparse:
        A = A.to_dense()
    if center:
        A = A - A.mean(dim=(-2,), keepdim=True)
    return _lowrank(A, q, niter, None)
