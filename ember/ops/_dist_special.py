"""log I0 and log I1 for ember.distributions (VonMises), composed from torch.special's
exponentially scaled Bessel functions (ops/special.py: i0e, i1e), so they have their gradients
and no kernel of their own. lgamma, digamma and gammainc are the ops of ops/special.py."""

from __future__ import annotations

from ..tensor import Tensor
from .special import i0e, i1e


def log_i0(input: Tensor) -> Tensor:
    """log I0(x) = log(i0e(x)) + x, for x > 0 (no overflow for large x)."""
    return i0e(input).log() + input


def log_i1(input: Tensor) -> Tensor:
    """log I1(x) = log(i1e(x)) + x, for x > 0."""
    return i1e(input).log() + input
