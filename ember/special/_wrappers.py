"""torch.special's forms of ops ember has elsewhere, with torch.special's signatures."""

from __future__ import annotations

from ..ops import activation, reduction, unary
from ..ops.inplace import copy_into_out
from ..tensor import Tensor


def logit(input: Tensor, eps: float | None = None, *, out=None) -> Tensor:
    """log(p / (1 - p)), the input clamped to [eps, 1 - eps] when eps is given."""
    if eps is not None:
        input = input.clamp(eps, 1 - eps)
    return unary.logit(input, out=out)


def softmax(input: Tensor, dim: int, *, dtype=None) -> Tensor:
    """Softmax over ``dim``, as torch.special.softmax."""
    return activation.softmax(input, dim, dtype=dtype)


def log_softmax(input: Tensor, dim: int, *, dtype=None) -> Tensor:
    """Log-softmax over ``dim``, as torch.special.log_softmax."""
    return activation.log_softmax(input, dim, dtype=dtype)


def logsumexp(input: Tensor, dim, keepdim: bool = False, *, out=None) -> Tensor:
    """log(sum(exp(input))) over ``dim``, as torch.special.logsumexp."""
    return reduction.logsumexp(input, dim, keepdim, out=out)


def round(input: Tensor, *, decimals: int = 0, out=None) -> Tensor:  # noqa: A001
    """Round half to even, as torch.special.round."""
    r = unary.round(input, decimals=decimals)
    if out is not None:
        return copy_into_out(out, r)
    return r
