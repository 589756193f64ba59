"""Sorting and selection: sort, argsort, msort, topk, kthvalue, unique, unique_consecutive;
binning: searchsorted, bucketize, bincount, histc.

Values come out through a differentiable gather with the computed indices, so the gradient
flows back to the positions the values were taken from.
"""

from __future__ import annotations

import builtins

import numpy as np

from .._backend.casting import cast
from .._backend.xp import xp_of
from .._tensor_errors import check_dim, not_implemented_for
from ..dtypes import scalar_type_name
from ..tensor import Tensor, _wrap
from ._promotion import result_type_name
from ._return_types import return_type
from .compare import where
from .gather import gather
from .inplace import copy_into_out
from .join import stack
from .reduction import rev, select_along, span

_I64 = np.dtype(np.int64)

__all__ = [
    "sort",
    "argsort",
    "msort",
    "topk",
    "kthvalue",
    "unique",
    "unique_consecutive",
    "searchsorted",
    "bucketize",
    "bincount",
    "histc",
    "histogram",
    "histogramdd",
    "quantile",
    "nanquantile",
    "mode",
]


def _order(a, d: int, descending: bool):
    """Stable argsort along ``d``; NaN sorts as the largest value (as torch)."""
    xp = xp_of(a)
    if a.dtype == np.bool_:
        a = a.view(np.uint8)
    if not descending:
        return xp.argsort(a, axis=d, kind="stable").astype(np.int64, copy=False)
    # stable descending: sort the reversed array ascending, reverse back, map positions
    n = a.shape[d]
    r = xp.argsort(rev(a, d), axis=d, kind="stable")
    return (n - 1 - rev(r, d)).astype(np.int64, copy=False)


# torch's words, leading space included
_SORT_COMPLEX = " Sort does not support complex dtypes on CPU"


def sort(
    input: Tensor, dim: int = -1, descending: bool = False, stable: bool = False, *, out=None
) -> tuple:
    """(values, indices) sorted along ``dim``; ties keep their order."""
    a = input._data
    d = check_dim(dim, a.ndim)
    if a.dtype.kind == "c":
        raise RuntimeError(_SORT_COMPLEX)
    if a.ndim == 0:
        return return_type("sort", input.clone(), _wrap(np.zeros((), np.int64)))
    idx = _order(a, d, descending)
    return return_type("sort", select_along(input, d, idx, True), _wrap(idx))


def argsort(input: Tensor, dim: int = -1, descending: bool = False, stable: bool = False) -> Tensor:
    """Indices that sort input along ``dim``."""
    a = input._data
    d = check_dim(dim, a.ndim)
    if a.dtype.kind == "c":
        raise RuntimeError(_SORT_COMPLEX)
    if a.ndim == 0:
        return _wrap(np.zeros((), np.int64))
    return _wrap(_order(a, d, descending))


def msort(input: Tensor) -> Tensor:
    """Values sorted along dim 0."""
    return sort(input, 0).values


def topk(
    input: Tensor,
    k: int,
    dim: int = -1,
    largest: bool = True,
    sorted: bool = True,
    *,  # noqa: A002
    out=None,
) -> tuple:
    """(values, indices) of the ``k`` largest (or smallest) elements along ``dim``."""
    a = input._data
    d = check_dim(dim, a.ndim)
    n = a.shape[d] if a.ndim else 1
    if k < 0 or k > n:
        raise RuntimeError("selected index k out of range")
    if a.dtype.kind == "c":
        raise RuntimeError(" topk does not support complex dtypes on CPU")
    if a.ndim == 0:
        return return_type("topk", input.clone(), _wrap(np.zeros((), np.int64)))
    if 0 < k and 4 * k < n and n >= 64 and a.dtype != np.bool_:
        idx = _top_partition(a, d, k, largest)
    else:
        idx = span(_order(a, d, largest), d, 0, k)
    return return_type("topk", select_along(input, d, idx, True), _wrap(idx))


def _top_partition(a, d: int, k: int, largest: bool):
    """topk indices without a full sort: partition, then order only the k candidates."""
    xp = xp_of(a)
    n = a.shape[d]
    if largest:
        cand = span(xp.argpartition(a, n - k, axis=d), d, n - k, n)
    else:
        cand = span(xp.argpartition(a, k - 1, axis=d), d, 0, k)
    cand = xp.sort(cand, axis=d)  # ties then keep index order, as the full sort does
    o = _order(xp.take_along_axis(a, cand, d), d, largest)
    return xp.take_along_axis(cand, o, d).astype(np.int64, copy=False)


def kthvalue(input: Tensor, k: int, dim: int = -1, keepdim: bool = False, *, out=None) -> tuple:
    """(values, indices) of the k-th smallest element along ``dim`` (k counts from 1)."""
    a = input._data
    d = check_dim(dim, a.ndim)
    n = a.shape[d] if a.ndim else 1
    if k < 1 or k > n:
        raise RuntimeError(f"kthvalue(): selected number k out of range for dimension {d}")
    if a.ndim == 0:  # torch takes a 0-d complex tensor's one value too
        return return_type("kthvalue", input.clone(), _wrap(np.zeros((), np.int64)))
    if a.dtype.kind == "c":
        raise not_implemented_for("kthvalue_cpu", a.dtype)
    idx = span(_order(a, d, False), d, k - 1, k)
    vals = select_along(input, d, idx, keepdim)
    return return_type("kthvalue", vals, _wrap(idx if keepdim else idx.squeeze(d)))


def mode(input: Tensor, dim: int = -1, keepdim: bool = False) -> tuple:
    """(values, indices) of the most frequent value along ``dim`` (the smallest among ties;
    the index of its last occurrence)."""
    a = input._data
    d = check_dim(dim, a.ndim)
    if a.ndim == 0:
        return return_type("mode", input.clone(), _wrap(np.zeros((), np.int64)))
    xp = xp_of(a)
    n = a.shape[d]
    if n == 0:
        raise IndexError(f"mode(): Expected reduction dim {d} to have non-zero size.")
    if a.dtype.kind == "c" and a.size:  # torch returns an empty result, and a 0-d value
        raise not_implemented_for("mode_cpu", a.dtype)
    moved = xp.moveaxis(a, d, -1).reshape(-1, n)
    order = xp.argsort(moved, axis=1, kind="stable")
    sv = xp.take_along_axis(moved, order, 1)
    pick = xp.empty(moved.shape[0], np.int64)
    for r in range(moved.shape[0]):
        starts = xp.concatenate([xp.asarray([True]), sv[r, 1:] != sv[r, :-1]])
        first = xp.nonzero(starts)[0]
        counts = xp.diff(xp.concatenate([first, xp.asarray([n])]))
        k = int(xp.argmax(counts))
        pick[r] = order[r, first[k] : first[k] + counts[k]].max()
    shp = list(a.shape)
    shp[d] = 1
    idx = xp.moveaxis(pick.reshape(shp[:d] + shp[d + 1 :] + [1]), -1, d)
    vals = select_along(input, d, idx, keepdim)
    return return_type("mode", vals, _wrap(idx if keepdim else idx.squeeze(d)))


def _pack(vals, inverse, counts, return_inverse: bool, return_counts: bool):
    out = [_wrap(vals)]
    if return_inverse:
        out.append(_wrap(inverse.astype(np.int64, copy=False)))
    if return_counts:
        out.append(_wrap(counts.astype(np.int64, copy=False)))
    return out[0] if len(out) == 1 else tuple(out)


def unique(
    input: Tensor,
    sorted: bool = True,
    return_inverse: bool = False,  # noqa: A002
    return_counts: bool = False,
    dim: int | None = None,
) -> Tensor | tuple:
    """The distinct values (or slices along ``dim``), sorted; optionally inverse and counts."""
    a = input._data
    if a.dtype.kind == "c":
        raise not_implemented_for("unique" if dim is None else "unique_dim", a.dtype)
    xp = xp_of(a)
    if dim is None:
        vals, inv, cnt = xp.unique(a.reshape(-1), return_inverse=True, return_counts=True)
        return _pack(vals, inv.reshape(a.shape), cnt, return_inverse, return_counts)
    d = check_dim(dim, a.ndim)
    if a.ndim == 0:
        raise IndexError("unique(): dim must be specified for a tensor with at least one dim")
    vals, inv, cnt = xp.unique(a, return_inverse=True, return_counts=True, axis=d)
    return _pack(vals, inv.reshape(-1), cnt, return_inverse, return_counts)


def unique_consecutive(
    input: Tensor, return_inverse: bool = False, return_counts: bool = False, dim: int | None = None
) -> Tensor | tuple:
    """Collapse runs of equal consecutive values (or slices along ``dim``)."""
    a = input._data
    if a.dtype.kind == "c":
        # torch takes dim 0 of a 1-d tensor as no dim (checked before the dim is)
        flat_path = dim is None or (a.ndim == 1 and dim == 0)
        raise not_implemented_for("unique" if flat_path else "unique_dim", a.dtype)
    xp = xp_of(a)
    if dim is None:
        flat = a.reshape(-1)
        d = 0
    else:
        d = check_dim(dim, a.ndim)
        flat = xp.moveaxis(a, d, 0).reshape(a.shape[d], -1) if a.ndim else a.reshape(1, 1)
    n = flat.shape[0]
    if n == 0:
        return _pack(
            a.reshape(-1) if dim is None else a,
            xp.zeros(a.shape if dim is None else 0, np.int64),
            xp.zeros(0, np.int64),
            return_inverse,
            return_counts,
        )
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


# --- binning --------------------------------------------------------------------------------
def searchsorted(
    sorted_sequence: Tensor,
    input,
    *,
    out_int32: bool = False,
    right: bool = False,
    side: str | None = None,
    sorter: Tensor | None = None,
) -> Tensor:
    """Insertion points of ``input`` into the last dim of ``sorted_sequence``."""
    seq = sorted_sequence._data
    scalar = not isinstance(input, Tensor)
    vals = xp_of(seq).asarray(input) if scalar else input._data
    if side is not None:
        if side not in ("left", "right"):
            raise RuntimeError(
                f"torch.searchsorted(): side can only be 'left' or 'right' but got {side}"
            )
        if right and side == "left":
            raise RuntimeError(
                "torch.searchsorted(): side and right can't be set to opposites, "
                "got side of left while right was True"
            )
        right = side == "right"
    s = "right" if right else "left"
    if seq.ndim > 1 and seq.shape[:-1] != vals.shape[:-1]:
        raise RuntimeError(
            "torch.searchsorted(): boundaries tensor should be 1 dimension or the first N-1 "
            "dimensions of boundaries tensor and input value tensor must match, but we got "
            f"boundaries tensor {list(seq.shape)} and input value tensor {list(vals.shape)}"
        )
    if seq.dtype.kind == "c" or vals.dtype.kind == "c":
        raise not_implemented_for("searchsorted_out_cpu", result_type_name(sorted_sequence, input))
    if sorter is not None:
        seq = xp_of(seq).take_along_axis(seq, sorter._data, -1)
    xp = xp_of(seq)
    if seq.ndim <= 1:
        r = xp.searchsorted(seq.reshape(-1), vals, side=s)
    else:
        s2, v2 = seq.reshape(-1, seq.shape[-1]), vals.reshape(-1, vals.shape[-1])
        r = xp.stack([xp.searchsorted(a, b, side=s) for a, b in zip(s2, v2)]).reshape(vals.shape)
    return _wrap(xp.asarray(r).astype(np.int32 if out_int32 else np.int64))


def bucketize(input, boundaries: Tensor, *, out_int32: bool = False, right: bool = False) -> Tensor:
    """Index of the bucket (between consecutive ``boundaries``) of each element."""
    if boundaries._data.ndim != 1:
        raise RuntimeError(
            f"boundaries tensor must be 1 dimension, but got dim({boundaries._data.ndim})"
        )
    return searchsorted(boundaries, input, out_int32=out_int32, right=right)


def bincount(input: Tensor, weights: Tensor | None = None, minlength: int = 0) -> Tensor:
    """Count of each value 0..max in a 1-d non-negative integer tensor (or summed weights)."""
    a = input._data
    if a.ndim != 1 or a.dtype.kind not in "iu" or (a.size and a.min() < 0):
        raise RuntimeError("bincount only supports 1-d non-negative integral inputs.")
    xp = xp_of(a)
    if weights is None:
        return _wrap(xp.bincount(a, minlength=minlength).astype(np.int64))
    w = weights._data
    if w.shape != a.shape:
        raise RuntimeError("weights should be 1-d and have the same length as input")
    out_dt = w.dtype if w.dtype.kind == "f" else np.dtype(np.float64)
    return _wrap(xp.bincount(a, weights=w, minlength=minlength).astype(out_dt))


def histc(input: Tensor, bins: int = 100, min=0, max=0, *, out=None) -> Tensor:  # noqa: A002
    """Histogram of ``bins`` equal bins over [min, max] (the data range when both are 0)."""
    a = input._data
    if bins <= 0:
        raise RuntimeError(f"torch.histogram(): bins must be > 0, but got {bins} for dimension 0")
    lo, hi = float(min), float(max)
    if lo > hi:
        raise RuntimeError("torch.histc: max must be larger than min")
    if a.dtype.kind not in "f":
        # torch takes the range of complex data with aminmax, which refuses it first
        kernel = "aminmax_cpu" if a.dtype.kind == "c" and lo == hi and a.size else "histogram_cpu"
        raise not_implemented_for(kernel, a.dtype)
    if lo == hi and a.size:
        lo, hi = float(a.min()), float(a.max())
    if lo == hi:
        lo, hi = lo - 1, hi + 1
    h, _ = xp_of(a).histogram(a.reshape(-1), bins=bins, range=(lo, hi))
    r = _wrap(h.astype(a.dtype))
    if out is not None:
        return copy_into_out(out, r)
    return r


def _hist_edges(a, bins, rng, name: str):
    """Bin edges as torch builds them: a linspace in the input's dtype over ``range`` (or the
    data's min and max; a single value v spans [v - 0.5, v + 0.5]), or the given edges."""
    xp = xp_of(a)
    if isinstance(bins, Tensor):
        return bins._data.astype(a.dtype, copy=False)
    bins = int(bins)
    if bins <= 0:
        raise RuntimeError(f"{name}(): bins must be > 0, but got {bins} for dimension 0")
    if rng is not None:
        lo, hi = float(rng[0]), float(rng[1])
        if lo > hi:
            raise RuntimeError(f"{name}(): max must be larger than min")
    elif a.size:
        lo, hi = float(a.min()), float(a.max())
    else:
        lo, hi = 0.0, 1.0
    if lo == hi:
        lo, hi = lo - 0.5, hi + 0.5
    return xp.linspace(lo, hi, bins + 1).astype(a.dtype)


def _hist_float_check(input: Tensor, name: str) -> None:
    if input._data.dtype.kind != "f":
        raise NotImplementedError(
            f"\"{name}\" not implemented for '{scalar_type_name(input.dtype.name)}'"
        )


def histogram(input: Tensor, bins=100, *, range=None, weight=None, density: bool = False, out=None):  # noqa: A002
    """(hist, bin_edges): counts (or summed weights) in ``bins`` equal bins or at the given
    edges; the last bin includes its right edge. Values outside the edges are not counted."""
    _hist_float_check(input, "histogramdd")  # torch computes histogram with histogramdd
    a = input._data.reshape(-1)
    edges = _hist_edges(a, bins, range, "torch.histogram")
    w = None if weight is None else weight._data.reshape(-1)
    h, _ = xp_of(a).histogram(a, bins=edges, weights=w, density=density)
    r = return_type("histogram", _wrap(h.astype(a.dtype)), _wrap(edges), ("hist", "bin_edges"))
    if out is not None:
        copy_into_out(out[0], r[0])
        copy_into_out(out[1], r[1])
        return return_type("histogram", out[0], out[1], ("hist", "bin_edges"))
    return r


def histogramdd(input: Tensor, bins=10, *, range=None, weight=None, density: bool = False):  # noqa: A002
    """(hist, bin_edges) over the last dimension's coordinates: one axis of bins per column."""
    _hist_float_check(input, "histogramdd")
    a = input._data
    nd = a.shape[-1]
    pts = a.reshape(-1, nd)
    if isinstance(bins, int):
        bins = [bins] * nd
    bins = list(bins)
    if len(bins) != nd:
        raise RuntimeError(
            f"torch.histogramdd(): expected {nd} sequences of bin edges for each of the {nd} "
            f"input dimensions, but got {len(bins)}"
        )
    edges = []
    for k in builtins.range(nd):
        rk = None if range is None else (range[2 * k], range[2 * k + 1])
        edges.append(_hist_edges(pts[:, k], bins[k], rk, "torch.histogramdd"))
    w = None if weight is None else weight._data.reshape(-1)
    h, _ = np.histogramdd(pts, bins=edges, weights=w, density=density)
    return return_type(
        "histogramdd",
        _wrap(h.astype(a.dtype)),
        tuple(_wrap(e) for e in edges),
        ("hist", "bin_edges"),
    )


# --- quantiles ------------------------------------------------------------------------------
_INTERP = ("linear", "lower", "higher", "midpoint", "nearest")


def _quantile(input: Tensor, q, dim, keepdim: bool, interpolation: str, skip_nan: bool) -> Tensor:
    # torch's messages say quantile() for nanquantile too
    a = input._data
    if a.dtype not in (np.float32, np.float64):
        raise RuntimeError("quantile() input tensor must be either float or double dtype")
    if interpolation not in _INTERP:
        raise RuntimeError(
            "quantile() interpolation must be one of linear, lower, higher, "
            f"midpoint or nearest, but got {interpolation}"
        )
    many = isinstance(q, Tensor) and q._data.ndim == 1
    qs = np.asarray(q._data if isinstance(q, Tensor) else q, dtype=np.float64).reshape(-1)
    for v in qs:
        if not 0 <= v <= 1:
            raise RuntimeError(f"quantile() q must be in the range [0, 1] but got {v:g}")
    x = input.reshape(-1) if dim is None else input
    d = 0 if dim is None else check_dim(dim, a.ndim)
    if x._data.ndim == 0:
        x = x.reshape(1)
    xs = x._data
    n = xs.shape[d]
    if n == 0:
        raise RuntimeError("quantile() input tensor must be non-empty")
    srt = sort(x, d).values
    xp = xp_of(xs)
    nan = xp.isnan(xs).sum(axis=d, keepdims=True)
    count = (n - nan) if skip_nan else xp.full(nan.shape, n)
    outs = []
    for v in qs:
        pos = v * xp.maximum(count - 1, 0)
        if interpolation == "nearest":
            pos = xp.round(pos)
        lo = cast(xp.floor(pos), _I64)
        hi = cast(xp.ceil(pos), _I64)
        if interpolation == "lower":
            hi = lo
        elif interpolation == "higher":
            lo = hi
        frac = (
            (pos - lo).astype(xs.dtype)
            if interpolation == "linear"
            else xp.full(pos.shape, 0.5 if interpolation == "midpoint" else 0.0, xs.dtype)
        )
        vlo = gather(srt, d, _wrap(lo))
        r = vlo if (lo == hi).all() else vlo + (gather(srt, d, _wrap(hi)) - vlo) * _wrap(frac)
        bad = (count == 0) if skip_nan else (nan > 0)
        if bad.any():
            r = where(_wrap(bad), _wrap(xp.full((), np.nan, xs.dtype)), r)
        if dim is None or a.ndim == 0:
            r = r.reshape((1,) * a.ndim if keepdim else ())
        elif not keepdim:
            r = r.squeeze(d)
        outs.append(r)
    return stack(outs, 0) if many else outs[0]


def quantile(
    input: Tensor,
    q,
    dim: int | None = None,
    keepdim: bool = False,
    *,
    interpolation: str = "linear",
    out=None,
) -> Tensor:
    """The q-th quantiles along ``dim`` (all elements when None); NaN in a slice gives NaN."""
    return _quantile(input, q, dim, keepdim, interpolation, False)


def nanquantile(
    input: Tensor,
    q,
    dim: int | None = None,
    keepdim: bool = False,
    *,
    interpolation: str = "linear",
    out=None,
) -> Tensor:
    """quantile that ignores NaN values."""
    return _quantile(input, q, dim, keepdim, interpolation, True)
