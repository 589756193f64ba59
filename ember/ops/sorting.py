"""Sorting and selection: sort, argsort, msort, topk, kthvalue, unique, unique_consecutive.

Values come out through a differentiable gather with the computed indices, so the gradient
flows back to the positions the values were taken from.
"""

from __future__ import annotations

import numpy as np

from ..device import xp_of
from ..tensor import Tensor, _wrap, check_dim
from .reduction import return_type, select_along, span

__all__ = ["sort", "argsort", "msort", "topk", "kthvalue", "unique", "unique_consecutive"]


def _order(a, d: int, descending: bool):
    """Stable argsort along ``d``; NaN sorts as the largest value (as torch)."""
    xp = xp_of(a)
    if a.dtype == np.bool_:
        a = a.view(np.uint8)
    if not descending:
        return xp.argsort(a, axis=d, kind="stable").astype(np.int64, copy=False)
    # stable descending: sort the reversed array ascending, reverse back, map positions
    n = a.shape[d]
    rev = xp.argsort(xp.flip(a, d), axis=d, kind="stable")
    return (n - 1 - xp.flip(rev, d)).astype(np.int64, copy=False)


def sort(input: Tensor, dim: int = -1, descending: bool = False, stable: bool = False, *,
         out=None):
    """(values, indices) sorted along ``dim``; ties keep their order."""
    a = input._data
    d = check_dim(dim, a.ndim)
    if a.ndim == 0:
        return return_type("sort", input.clone(), _wrap(np.zeros((), np.int64)))
    idx = _order(a, d, descending)
    return return_type("sort", select_along(input, d, idx, True), _wrap(idx))


def argsort(input: Tensor, dim: int = -1, descending: bool = False, stable: bool = False) -> Tensor:
    """Indices that sort input along ``dim``."""
    a = input._data
    d = check_dim(dim, a.ndim)
    if a.ndim == 0:
        return _wrap(np.zeros((), np.int64))
    return _wrap(_order(a, d, descending))


def msort(input: Tensor) -> Tensor:
    """Values sorted along dim 0."""
    return sort(input, 0).values


def topk(input: Tensor, k: int, dim: int = -1, largest: bool = True, sorted: bool = True, *,  # noqa: A002
         out=None):
    """(values, indices) of the ``k`` largest (or smallest) elements along ``dim``."""
    a = input._data
    d = check_dim(dim, a.ndim)
    n = a.shape[d] if a.ndim else 1
    if k < 0 or k > n:
        raise RuntimeError("selected index k out of range")
    if a.ndim == 0:
        return return_type("topk", input.clone(), _wrap(np.zeros((), np.int64)))
    idx = _order(a, d, largest)
    idx = span(idx, d, 0, k)
    return return_type("topk", select_along(input, d, idx, True), _wrap(idx))


def kthvalue(input: Tensor, k: int, dim: int = -1, keepdim: bool = False, *, out=None):
    """(values, indices) of the k-th smallest element along ``dim`` (k counts from 1)."""
    a = input._data
    d = check_dim(dim, a.ndim)
    n = a.shape[d] if a.ndim else 1
    if k < 1 or k > n:
        raise RuntimeError(f"kthvalue(): selected number k out of range for dimension {d}")
    if a.ndim == 0:
        return return_type("kthvalue", input.clone(), _wrap(np.zeros((), np.int64)))
    idx = span(_order(a, d, False), d, k - 1, k)
    vals = select_along(input, d, idx, keepdim)
    return return_type("kthvalue", vals, _wrap(idx if keepdim else idx.squeeze(d)))


def _pack(vals, inverse, counts, return_inverse: bool, return_counts: bool):
    out = [_wrap(vals)]
    if return_inverse:
        out.append(_wrap(inverse.astype(np.int64, copy=False)))
    if return_counts:
        out.append(_wrap(counts.astype(np.int64, copy=False)))
    return out[0] if len(out) == 1 else tuple(out)


def unique(input: Tensor, sorted: bool = True, return_inverse: bool = False,  # noqa: A002
           return_counts: bool = False, dim: int | None = None):
    """The distinct values (or slices along ``dim``), sorted; optionally inverse and counts."""
    a = input._data
    xp = xp_of(a)
    if dim is None:
        vals, inv, cnt = xp.unique(a.reshape(-1), return_inverse=True, return_counts=True)
        return _pack(vals, inv.reshape(a.shape), cnt, return_inverse, return_counts)
    d = check_dim(dim, a.ndim)
    if a.ndim == 0:
        raise IndexError("unique(): dim must be specified for a tensor with at least one dim")
    vals, inv, cnt = xp.unique(a, return_inverse=True, return_counts=True, axis=d)
    return _pack(vals, inv.reshape(-1), cnt, return_inverse, return_counts)


def unique_consecutive(input: Tensor, return_inverse: bool = False, return_counts: bool = False,
                       dim: int | None = None):
    """Collapse runs of equal consecutive values (or slices along ``dim``)."""
    a = input._data
    xp = xp_of(a)
    if dim is None:
        flat = a.reshape(-1)
        d = 0
    else:
        d = check_dim(dim, a.ndim)
        flat = xp.moveaxis(a, d, 0).reshape(a.shape[d], -1) if a.ndim else a.reshape(1, 1)
    n = flat.shape[0]
    if n == 0:
        return _pack(a.reshape(-1) if dim is None else a, xp.zeros(a.shape if dim is None else 0,
                     np.int64), xp.zeros(0, np.int64), return_inverse, return_counts)
    diff = flat[1:] != flat[:-1]
    if diff.ndim > 1:
        diff = diff.any(axis=1)
    starts = xp.concatenate([xp.asarray([True]), diff])
    inv = xp.cumsum(starts) - 1
    first = xp.nonzero(starts)[0]
    cnt = xp.diff(xp.concatenate([first, xp.asarray([n])]))
    vals = flat[first] if dim is None else xp.take(a, first, axis=d)
    if dim is None:
        inv = inv.reshape(a.shape)
    return _pack(vals, inv, cnt, return_inverse, return_counts)
