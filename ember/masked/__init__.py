"""torch.masked: reductions and normalisations of a strided tensor over the elements a boolean
``mask`` selects (masked-out elements count as the operation's identity: 0 for sum, 1 for prod,
-inf for amax, ...; a fully masked slice gives torch's value: 0, 1, -inf, +inf or NaN).
Built from ember's differentiable ops, so gradients flow as in torch. MaskedTensor is not
provided.
"""

from __future__ import annotations

import math

import numpy as np

from .. import dtypes
from .._backend.xp import move_like, xp_of
from ..ops import activation, compare, cumulative, reduction
from ..tensor import Tensor, _wrap

__all__ = [
    "amax",
    "amin",
    "argmax",
    "argmin",
    "cumprod",
    "cumsum",
    "log_softmax",
    "logaddexp",
    "logsumexp",
    "mean",
    "median",
    "norm",
    "normalize",
    "prod",
    "softmax",
    "softmin",
    "std",
    "sum",
    "var",
]


def _prep(input: Tensor, dtype, mask):
    if dtype is not None:
        input = input.to(dtypes.to_dtype(dtype))
    if mask is None:
        m = _wrap(xp_of(input._data).ones(input._data.shape, dtype=bool))
    else:
        m = mask if isinstance(mask, Tensor) else _wrap(np.asarray(mask, dtype=bool))
        mb = move_like(m._data.astype(bool), input._data)  # on the input's device
        m = _wrap(xp_of(mb).broadcast_to(mb, input._data.shape).copy())
    return input, m


def _fill(input: Tensor, m: Tensor, value) -> Tensor:
    v = _wrap(xp_of(input._data).asarray(value, dtype=input._data.dtype))
    return compare.where(m, input, v)


def _dims(input: Tensor, dim):
    if dim is None:
        return tuple(range(input._data.ndim))
    if isinstance(dim, int):
        return (dim,)
    return tuple(dim)


def _reduce_dims(fn, x: Tensor, dims, keepdim: bool):
    """Apply a one-dim reduction over several dims, highest first."""
    nd = x._data.ndim
    if nd == 0:
        return x
    for d in sorted((d % nd for d in dims), reverse=True):
        x = fn(x, d, True)
    if not keepdim:
        shape = [s for i, s in enumerate(x._data.shape) if i not in {d % nd for d in dims}]
        x = x.reshape(shape)
    return x


def _count(m: Tensor, dims, keepdim: bool, dt) -> Tensor:
    return reduction.sum(m.to(dt), dim=dims, keepdim=keepdim)


def sum(input, dim=None, *, keepdim=False, dtype=None, mask=None):  # noqa: A001
    """Sum of the selected elements (0 where none), as torch.masked.sum."""
    x, m = _prep(input, dtype, mask)
    return reduction.sum(_fill(x, m, 0), dim=_dims(x, dim), keepdim=keepdim)


def prod(input, dim=None, *, keepdim=False, dtype=None, mask=None):
    """Product of the selected elements (1 where none), as torch.masked.prod."""
    x, m = _prep(input, dtype, mask)
    return _reduce_dims(
        lambda t, d, k: reduction.prod(t, d, keepdim=k), _fill(x, m, 1), _dims(x, dim), keepdim
    )


def _extreme_fill(x: Tensor, high: bool):
    dt = x._data.dtype
    if dt.kind == "f":
        return -np.inf if high else np.inf
    info = np.iinfo(dt) if dt.kind in "iu" else None
    if info is None:
        return not high
    return info.min if high else info.max


def amax(input, dim=None, *, keepdim=False, dtype=None, mask=None):
    """Maximum of the selected elements (-inf where none), as torch.masked.amax."""
    x, m = _prep(input, dtype, mask)
    return reduction.amax(_fill(x, m, _extreme_fill(x, True)), _dims(x, dim), keepdim)


def amin(input, dim=None, *, keepdim=False, dtype=None, mask=None):
    """Minimum of the selected elements (+inf where none), as torch.masked.amin."""
    x, m = _prep(input, dtype, mask)
    return reduction.amin(_fill(x, m, _extreme_fill(x, False)), _dims(x, dim), keepdim)


def argmax(input, dim=None, *, keepdim=False, dtype=None, mask=None):
    """Index of the largest selected element, in the input's dtype as torch.masked.argmax."""
    x, m = _prep(input, dtype, mask)
    r = reduction.argmax(_fill(x, m, _extreme_fill(x, True)), dim, keepdim)
    return r.to(x.dtype)


def argmin(input, dim=None, *, keepdim=False, dtype=None, mask=None):
    """Index of the smallest selected element, in the input's dtype (torch.masked.argmin)."""
    x, m = _prep(input, dtype, mask)
    r = reduction.argmin(_fill(x, m, _extreme_fill(x, False)), dim, keepdim)
    return r.to(x.dtype)


def mean(input, dim=None, *, keepdim=False, dtype=None, mask=None):
    """Mean of the selected elements (NaN where none), as torch.masked.mean."""
    x, m = _prep(input, dtype, mask)
    dims = _dims(x, dim)
    s = reduction.sum(_fill(x, m, 0), dim=dims, keepdim=keepdim)
    return s / _count(m, dims, keepdim, x.dtype)


def median(input, dim=-1, *, keepdim=False, dtype=None, mask=None):
    """The lower median of the selected elements (NaN where none), as torch.masked.median."""
    x, m = _prep(input, dtype, mask)
    if not x.is_floating_point():
        x = x.to(dtypes.get_default_dtype())
    r = reduction.nanmedian(_fill(x, m, math.nan), dim, keepdim)
    return r[0] if isinstance(r, tuple) else r.values


def var(input, dim=None, unbiased=None, *, correction=None, keepdim=False, dtype=None, mask=None):
    """Variance of the selected elements (NaN where too few), as torch.masked.var."""
    x, m = _prep(input, dtype, mask)
    dims = _dims(x, dim)
    if correction is None:
        correction = 0 if unbiased is False else 1
    n = _count(m, dims, True, x.dtype)
    mu = reduction.sum(_fill(x, m, 0), dim=dims, keepdim=True) / n
    d = _fill(x - mu, m, 0)
    ss = reduction.sum(d * d, dim=dims, keepdim=keepdim)
    if not keepdim:
        n = _count(m, dims, False, x.dtype)
    den = n - correction
    den = compare.where(den > 0, den, _wrap(xp_of(x._data).asarray(math.nan, dtype=x._data.dtype)))
    return ss / den


def std(input, dim=None, unbiased=None, *, correction=None, keepdim=False, dtype=None, mask=None):
    """Standard deviation of the selected elements, as torch.masked.std."""
    return var(
        input,
        dim,
        unbiased,
        correction=correction,
        keepdim=keepdim,
        dtype=dtype,
        mask=mask,
    ).sqrt()


def norm(input, ord=2.0, dim=None, *, keepdim=False, dtype=None, mask=None):  # noqa: A002
    """The ord-norm of the selected elements (0 where none), as torch.masked.norm."""
    x, m = _prep(input, dtype, mask)
    dims = _dims(x, dim)
    a = _fill(x, m, 0).abs()
    if ord == math.inf:
        return reduction.amax(a, dims, keepdim)
    if ord == -math.inf:
        return reduction.amin(_fill(a, m, math.inf), dims, keepdim)
    if ord == 0:
        return reduction.sum((a != 0).to(x.dtype), dim=dims, keepdim=keepdim)
    if ord == 2:
        return reduction.sum(a * a, dim=dims, keepdim=keepdim).sqrt()
    return reduction.sum(a**ord, dim=dims, keepdim=keepdim) ** (1.0 / ord)


def logsumexp(input, dim=None, *, keepdim=False, dtype=None, mask=None):
    """log(sum(exp)) of the selected elements (-inf where none), as torch.masked.logsumexp."""
    x, m = _prep(input, dtype, mask)
    return reduction.logsumexp(_fill(x, m, -math.inf), _dims(x, dim), keepdim)


def _softmax_like(fn, x: Tensor, m: Tensor, dim: int):
    # as torch: the masked-out inputs become -inf and the result is not masked again, so the
    # masked positions give 0 (-inf for log_softmax), a fully masked slice NaN, and the upstream
    # gradient at masked positions of log_softmax still enters the selected ones' gradient
    return fn(_fill(x, m, -math.inf), dim)


def softmax(input, dim, *, dtype=None, mask=None):
    """Softmax over the selected elements (0 elsewhere), as torch.masked.softmax."""
    x, m = _prep(input, dtype, mask)
    return _softmax_like(activation.softmax, x, m, dim)


def log_softmax(input, dim, *, dtype=None, mask=None):
    """Log-softmax over the selected elements (-inf elsewhere), as torch.masked.log_softmax."""
    x, m = _prep(input, dtype, mask)
    return _softmax_like(activation.log_softmax, x, m, dim)


def softmin(input, dim, *, dtype=None, mask=None):
    """Softmin over the selected elements (0 elsewhere), as torch.masked.softmin."""
    x, m = _prep(input, dtype, mask)
    return _softmax_like(activation.softmax, -x, m, dim)


def normalize(input, ord, dim, *, eps=1e-12, dtype=None, mask=None):
    """input / max(norm, eps) over the selected elements (0 elsewhere), torch.masked.normalize."""
    x, m = _prep(input, dtype, mask)
    n = norm(x, ord, dim, keepdim=True, mask=m).clamp(min=eps)
    return _fill(x, m, 0) / n


def cumsum(input, dim, *, dtype=None, mask=None):
    """Running sum of the selected elements (masked ones count as 0), torch.masked.cumsum."""
    x, m = _prep(input, dtype, mask)
    return cumulative.cumsum(_fill(x, m, 0), dim)


def cumprod(input, dim, *, dtype=None, mask=None):
    """Running product of the selected elements (masked ones count as 1)."""
    x, m = _prep(input, dtype, mask)
    return cumulative.cumprod(_fill(x, m, 1), dim)


def logaddexp(input, other, *, dtype=None, input_mask=None, other_mask=None):
    """log(exp(input) + exp(other)) with masked-out terms left out, as torch.masked.logaddexp."""
    x, mx = _prep(input, dtype, input_mask)
    y, my = _prep(other, dtype, other_mask)
    a = _fill(x, mx, -math.inf)
    b = _fill(y, my, -math.inf)
    hi = compare.where(a > b, a, b)
    lo = compare.where(a > b, b, a)
    finite = hi > -math.inf
    safe_hi = compare.where(finite, hi, _wrap(xp_of(hi._data).asarray(0.0, dtype=hi._data.dtype)))
    return compare.where(finite, safe_hi + ((lo - safe_hi).exp()).log1p(), hi)
