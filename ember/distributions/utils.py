"""Helpers shared by the distributions, as torch.distributions.utils."""

from __future__ import annotations

from functools import update_wrapper
from numbers import Number
from typing import Any

import ember
from ember import Tensor
from ember.linalg import solve_triangular
from ember.nn import functional as F
from ember.ops._dist_special import log_i0 as _log_i0  # noqa: F401
from ember.ops._dist_special import log_i1 as _log_i1  # noqa: F401

__all__ = [
    "broadcast_all",
    "clamp_probs",
    "euler_constant",
    "lazy_property",
    "logits_to_probs",
    "probs_to_logits",
    "tril_matrix_to_vec",
    "vec_to_tril_matrix",
]

euler_constant = 0.57721566490153286060  # Euler-Mascheroni constant


def is_tensor_like(x: Any) -> bool:
    return isinstance(x, Tensor)


def broadcast_all(*values) -> tuple[Tensor, ...]:
    """Numbers become tensors (of the first tensor's dtype, else the default), then all are
    broadcast to one shape, as torch.distributions.utils.broadcast_all."""
    if not all(isinstance(v, (Tensor, Number)) for v in values):
        raise ValueError(
            "Input arguments must all be instances of numbers.Number, "
            "torch.Tensor or objects implementing __torch_function__."
        )
    if not all(isinstance(v, Tensor) for v in values):
        opts: dict[str, Any] = {"dtype": ember.get_default_dtype()}
        for v in values:
            if isinstance(v, Tensor):
                opts = {"dtype": v.dtype, "device": v.device}
                break
        values = tuple(v if isinstance(v, Tensor) else ember.tensor(v, **opts) for v in values)
    return tuple(ember.broadcast_tensors(*values))


def _standard_normal(shape, dtype, device) -> Tensor:
    return ember.randn(shape, dtype=dtype, device=device)


def _sum_rightmost(value: Tensor, dim: int) -> Tensor:
    """Sum out the ``dim`` rightmost dimensions."""
    if dim == 0:
        return value
    return value.reshape(value.shape[: value.dim() - dim] + (-1,)).sum(-1)


def logits_to_probs(logits: Tensor, is_binary: bool = False) -> Tensor:
    """Probabilities from logits: sigmoid if binary, else softmax over the last dim."""
    if is_binary:
        return ember.sigmoid(logits)
    return F.softmax(logits, dim=-1)


def clamp_probs(probs: Tensor) -> Tensor:
    """Clamp into the open interval (eps, 1 - eps) of the dtype."""
    eps = ember.finfo(probs.dtype).eps
    return probs.clamp(min=eps, max=1 - eps)


def probs_to_logits(probs: Tensor, is_binary: bool = False) -> Tensor:
    """Logits from probabilities (log-odds if binary, else log)."""
    ps_clamped = clamp_probs(probs)
    if is_binary:
        return ember.log(ps_clamped) - ember.log1p(-ps_clamped)
    return ember.log(ps_clamped)


class lazy_property:
    """A property computed once on first access and cached on the instance (torch's
    lazy_property); accessed on the class it returns itself."""

    def __init__(self, wrapped):
        self.wrapped = wrapped
        update_wrapper(self, wrapped)

    def __get__(self, instance, obj_type=None):
        if instance is None:
            return _lazy_property_and_property(self.wrapped)
        with ember.enable_grad():
            value = self.wrapped(instance)
        setattr(instance, self.wrapped.__name__, value)
        return value


class _lazy_property_and_property(lazy_property, property):
    def __init__(self, wrapped):
        property.__init__(self, wrapped)


def _tril_index(n: int, diag: int) -> list[int]:
    """Flat indices (row by row) of the entries with column <= row + diag in an n x n matrix."""
    return [r * n + c for r in range(n) for c in range(n) if c <= r + diag]


def tril_matrix_to_vec(mat: Tensor, diag: int = 0) -> Tensor:
    """The lower triangle (up to diagonal ``diag``) of the last two dims, row by row."""
    n = mat.shape[-1]
    idx = ember.tensor(_tril_index(n, diag), device=mat.device)
    return mat.reshape(mat.shape[:-2] + (n * n,)).index_select(-1, idx)


def vec_to_tril_matrix(vec: Tensor, diag: int = 0) -> Tensor:
    """The inverse of tril_matrix_to_vec: (a batch of) lower-triangular matrices."""
    m = vec.shape[-1]
    # n from m = n (n + 1) / 2 + n diag - |diag| (|diag| - 1) / 2 ... solved as torch does
    n = (-(1 + 2 * diag) + ((1 + 2 * diag) ** 2 + 8 * m + 4 * abs(diag) * (diag + 1)) ** 0.5) / 2
    eps = ember.finfo(vec.dtype).eps
    if round(n) - n > eps:
        raise ValueError(
            f"The size of last dimension is {m} which cannot be expressed as "
            "the lower triangular part of a square D x D matrix."
        )
    n = round(n)
    idx = ember.tensor(_tril_index(n, diag), device=vec.device)
    flat = vec.new_zeros(vec.shape[:-1] + (n * n,))
    flat = flat.index_add(-1, idx, vec)
    return flat.reshape(vec.shape[:-1] + (n, n))


def _xlogy(x, y) -> Tensor:
    """x * log(y), 0 where x == 0 (torch.xlogy); x and y tensors or numbers."""
    if not isinstance(y, Tensor):
        y = ember.tensor(y, dtype=x.dtype if isinstance(x, Tensor) else None)
    if not isinstance(x, Tensor):
        x = ember.tensor(x, dtype=y.dtype)
    prod = x * ember.log(ember.where(x == 0, ember.ones_like(y), y))
    return ember.where(x == 0, ember.zeros_like(prod), prod)


def solve_lower(L: Tensor, B: Tensor) -> Tensor:
    """L^-1 B for lower-triangular L, batch dims broadcast."""
    return solve_triangular(L, B, upper=False)
