"""Parametrizations built on nn.utils.parametrize: orthogonal, weight_norm and spectral_norm (as
torch.nn.utils.parametrizations), with torch's state_dict layout."""

from __future__ import annotations

import math

import numpy as np

from ...autograd.grad_mode import no_grad
from ...ops.creation import eye, tensor, zeros
from ...ops.join import cat
from ...ops.linalg import mv, vdot
from ...random import randn
from ...tensor import Tensor
from .. import functional as F
from ..modules.conv import ConvTranspose1d, ConvTranspose2d, ConvTranspose3d
from ..modules.module import Module
from .parametrize import register_parametrization
from .weight_norm import _norm_except_dim

__all__ = ["orthogonal", "weight_norm", "spectral_norm"]


class _WeightNorm(Module):
    """weight = g * v / ||v||, the norm over every dim but ``dim`` (all of them for -1)."""

    def __init__(self, dim: int | None = 0) -> None:
        super().__init__()
        self.dim = -1 if dim is None else dim

    def forward(self, weight_g: Tensor, weight_v: Tensor) -> Tensor:
        return weight_v * (weight_g / _norm_except_dim(weight_v, self.dim))

    def right_inverse(self, weight: Tensor) -> tuple[Tensor, Tensor]:
        return _norm_except_dim(weight, self.dim), weight


def weight_norm(module: Module, name: str = "weight", dim: int | None = 0) -> Module:
    """Split ``module.<name>`` into magnitude ``original0`` and direction ``original1``."""
    register_parametrization(module, name, _WeightNorm(dim), unsafe=True)
    return module


class _SpectralNorm(Module):
    """weight / sigma, sigma the largest singular value estimated by power iteration (the
    vectors ``_u``, ``_v`` are buffers updated in training mode)."""

    def __init__(
        self, weight: Tensor, n_power_iterations: int = 1, dim: int = 0, eps: float = 1e-12
    ) -> None:
        super().__init__()
        ndim = weight.dim()
        if dim >= ndim or dim < -ndim:
            raise IndexError(
                "Dimension out of range (expected to be in range of "
                f"[-{ndim}, {ndim - 1}] but got {dim})"
            )
        if n_power_iterations <= 0:
            raise ValueError(
                "Expected n_power_iterations to be positive, but "
                f"got n_power_iterations={n_power_iterations}"
            )
        self.dim = dim if dim >= 0 else dim + ndim
        self.eps = eps
        if ndim > 1:
            self.n_power_iterations = n_power_iterations
            wm = self._reshape_weight_to_matrix(weight)
            h, w = wm.shape
            u = wm.new_empty(h).normal_(0, 1)
            v = wm.new_empty(w).normal_(0, 1)
            self.register_buffer("_u", F.normalize(u, dim=0, eps=self.eps))
            self.register_buffer("_v", F.normalize(v, dim=0, eps=self.eps))
            self._power_method(wm, 15)

    def _reshape_weight_to_matrix(self, weight: Tensor) -> Tensor:
        if self.dim != 0:
            weight = weight.movedim(self.dim, 0)
        return weight.flatten(1)

    def _power_method(self, weight_mat: Tensor, n_power_iterations: int) -> None:
        # updates the buffers in place (no graph), as torch
        with no_grad():
            for _ in range(n_power_iterations):
                self._u.copy_(F.normalize(mv(weight_mat, self._v), dim=0, eps=self.eps))
                self._v.copy_(F.normalize(mv(weight_mat.t().conj(), self._u), dim=0, eps=self.eps))

    def forward(self, weight: Tensor) -> Tensor:
        if weight.dim() == 1:
            return F.normalize(weight, dim=0, eps=self.eps)
        wm = self._reshape_weight_to_matrix(weight)
        if self.training:
            self._power_method(wm, self.n_power_iterations)
        u = self._u.clone()
        v = self._v.clone()
        sigma = vdot(u, mv(wm, v))
        return weight / sigma

    def right_inverse(self, value: Tensor) -> Tensor:
        return value


def spectral_norm(
    module: Module,
    name: str = "weight",
    n_power_iterations: int = 1,
    eps: float = 1e-12,
    dim: int | None = None,
) -> Module:
    """Divide ``module.<name>`` by its spectral norm on every access."""
    weight = getattr(module, name, None)
    if not isinstance(weight, Tensor):
        raise ValueError(f"Module '{module}' has no parameter or buffer with name '{name}'")
    if dim is None:
        transposed = (ConvTranspose1d, ConvTranspose2d, ConvTranspose3d)
        dim = 1 if isinstance(module, transposed) else 0
    register_parametrization(module, name, _SpectralNorm(weight, n_power_iterations, dim, eps))
    return module


def _matrix_exp(a: Tensor) -> Tensor:
    """exp of (a batch of) square matrices by scaling and squaring a Taylor series; built from
    differentiable ops, so its gradient follows."""
    n = a.shape[-1]
    with no_grad():
        norm = float(a.detach().abs().sum(-2).max()) if a.numel() else 0.0
    squarings = max(0, math.ceil(math.log2(norm / 0.25))) if norm > 0.25 else 0
    x = a / (2.0**squarings)
    ident = eye(n, dtype=a.dtype, device=a.device)
    # Horner form of sum_{i<=18} x^i / i!: ||x|| <= 1/4 makes the remainder below 1e-30
    out = ident
    for i in range(18, 0, -1):
        out = ident + (x @ out) / i
    for _ in range(squarings):
        out = out @ out
    return out


def _householder_product(a: Tensor, tau: Tensor) -> Tensor:
    """The first k columns of H_1 ... H_k, H_i = I - tau_i v_i v_i^T, v_i the i-th column of
    ``a`` below the diagonal with a 1 on it (LAPACK's orgqr)."""
    n, k = a.shape[-2], a.shape[-1]
    ident = eye(n, dtype=a.dtype, device=a.device)
    q = ident.expand(*a.shape[:-2], n, n)
    for i in range(k):
        below = a[..., i + 1 :, i]
        head = zeros(*a.shape[:-2], i, dtype=a.dtype, device=a.device)
        one = zeros(*a.shape[:-2], 1, dtype=a.dtype, device=a.device) + 1
        v = cat([head, one, below], -1).unsqueeze(-1)
        h = ident - tau[..., i, None, None] * (v @ v.transpose(-2, -1))
        q = q @ h
    return q[..., :k]


def _make_orthogonal(a: np.ndarray) -> np.ndarray:
    """The Q of a = QR with diag(R) >= 0 (a tall)."""
    q, r = np.linalg.qr(a)
    d = np.sign(np.diagonal(r, axis1=-2, axis2=-1))
    d = np.where(d == 0, 1, d)
    return q * d[..., None, :]


class _Orthogonal(Module):
    """An orthogonal (semi-orthogonal) matrix from unconstrained parameters: the matrix
    exponential of a skew-symmetric matrix or a product of Householder reflections, times a
    fixed orthogonal ``base`` (the trivialization)."""

    def __init__(self, weight: Tensor, orthogonal_map: str, *, use_trivialization: bool = True):
        super().__init__()
        if weight.is_complex() and orthogonal_map == "householder":
            raise ValueError("The householder parametrization does not support complex tensors.")
        self.shape = weight.shape
        self.orthogonal_map = orthogonal_map
        if use_trivialization:
            self.register_buffer("base", None)

    def forward(self, X: Tensor) -> Tensor:
        n, k = X.shape[-2], X.shape[-1]
        transposed = n < k
        if transposed:
            X = X.transpose(-2, -1)
            n, k = k, n
        if self.orthogonal_map == "matrix_exp":
            X = X.tril()
            if n != k:
                pad = zeros(*X.shape[:-2], n, n - k, dtype=X.dtype, device=X.device)
                X = cat([X, pad], -1)
            Q = _matrix_exp(X - X.transpose(-2, -1).conj())
            if n != k:
                Q = Q[..., :k]
        else:
            A = X.tril(-1)
            tau = 2.0 / (1.0 + (A * A).sum(-2))
            Q = _householder_product(A, tau)
            # X's diagonal, truncated to integers as torch does (not differentiated), scales
            # the columns: the -1s that right_inverse stores flip them
            signs = X.detach().diagonal(dim1=-2, dim2=-1).trunc()
            Q = Q * signs.unsqueeze(-2)
        if "base" in self._buffers:
            Q = self.base @ Q
        if transposed:
            Q = Q.transpose(-2, -1)
        return Q

    def right_inverse(self, Q: Tensor) -> Tensor:
        with no_grad():
            if tuple(Q.shape) != tuple(self.shape):
                raise ValueError(
                    f"Expected a matrix or batch of matrices of shape {self.shape}. "
                    f"Got a tensor of shape {Q.shape}."
                )
            Q_init = Q
            n, k = Q.shape[-2], Q.shape[-1]
            transpose = n < k
            if transpose:
                Q = Q.transpose(-2, -1)
                n, k = k, n
            if "base" not in self._buffers:
                raise NotImplementedError(
                    "ember does not implement assigning to an orthogonal parametrization with "
                    "use_trivialization=False yet"
                )
            q = Q.detach().cpu().numpy().astype(Q.detach().cpu().numpy().dtype)
            if n == k:
                ident = np.eye(k, dtype=q.dtype)
                eps = 10.0 * n * np.finfo(q.dtype).eps
                gram = np.swapaxes(q.conj(), -2, -1) @ q
                if not np.allclose(gram, ident, atol=eps, rtol=1e-5):
                    q = _make_orthogonal(q)
                else:
                    q = q.copy()
            else:
                extra = randn(*(tuple(Q.shape[:-2]) + (n, n - k)), dtype=Q.dtype)
                q = _make_orthogonal(np.concatenate([q, extra.numpy()], -1))
            self.base = tensor(q, dtype=Q.dtype, device=Q.device)
            neg_id = zeros(*Q_init.shape, dtype=Q_init.dtype, device=Q_init.device)
            neg_id.diagonal(dim1=-2, dim2=-1).fill_(-1.0)
            return neg_id


def orthogonal(
    module: Module,
    name: str = "weight",
    orthogonal_map: str | None = None,
    *,
    use_trivialization: bool = True,
) -> Module:
    """Keep ``module.<name>`` orthogonal (semi-orthogonal when not square).

    As torch: ``orthogonal_map`` defaults to "matrix_exp" for square matrices and
    "householder" otherwise; ember lacks the "cayley" map.
    """
    weight = getattr(module, name, None)
    if not isinstance(weight, Tensor):
        raise ValueError(f"Module '{module}' has no parameter or buffer with name '{name}'")
    if weight.dim() < 2:
        raise ValueError(
            f"Expected a matrix or batch of matrices. Got a tensor of {weight.dim()} dimensions."
        )
    if orthogonal_map is None:
        square = weight.shape[-2] == weight.shape[-1]
        orthogonal_map = "matrix_exp" if square or weight.is_complex() else "householder"
    if orthogonal_map not in ("matrix_exp", "cayley", "householder"):
        raise ValueError(
            'orthogonal_map has to be one of "matrix_exp", "cayley", "householder". '
            f"Got: {orthogonal_map}"
        )
    if orthogonal_map == "cayley":
        raise NotImplementedError("ember does not implement the cayley orthogonal map yet")
    orth = _Orthogonal(weight, orthogonal_map, use_trivialization=use_trivialization)
    register_parametrization(module, name, orth, unsafe=True)
    return module
