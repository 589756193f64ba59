"""Fast sums over axes for the fused ops (normalization, softmax, losses): NumPy's reductions
over short or strided axes are slow (one C loop per output element), so sums of float arrays
over leading, trailing or (leading, trailing) axis groups run as matrix-vector products on the
BLAS instead."""

from __future__ import annotations

import numpy as np

from .. import dtypes
from .._backend.xp import CPU_ARRAY

_FAST = (np.dtype(np.float32), np.dtype(np.float64))
# sums of float16/bfloat16 accumulate in float32 and are rounded once, as torch's CPU kernels
# do (NumPy accumulates bfloat16 in bfloat16: a sum of ones stops growing at 256)
# (bfloat16 only where its optional ml_dtypes package is installed)
HALF = tuple(d for d in (np.dtype(np.float16), dtypes.bfloat16._np) if d is not None)
_ONES: dict = {}


def is_half(a) -> bool:
    """A float16/bfloat16 NumPy array (float32 and float64 answer at the first, cheap test)."""
    dt = a.dtype
    return dt not in _FAST and type(a) is CPU_ARRAY and dt in HALF


def total(a):
    """``a.sum()`` of an array, float16/bfloat16 accumulated in float32 and rounded once."""
    if is_half(a):
        return np.asarray(a.astype(np.float32).sum()).astype(a.dtype)
    return a.sum()


def average(a):
    """``a.mean()`` of an array, float16/bfloat16 accumulated in float32 and rounded once."""
    if is_half(a):
        return np.asarray(a.astype(np.float32).mean()).astype(a.dtype)
    return a.mean()


def ones(n: int, dtype):
    """A cached read-only vector of ones (the summing vector of a BLAS reduction)."""
    key = (n, dtype)
    v = _ONES.get(key)
    if v is None:
        if len(_ONES) > 256:
            _ONES.clear()
        v = _ONES[key] = np.ones(n, dtype)
        v.flags.writeable = False
    return v


def rsum(a, axes: tuple, keepdims: bool = True):
    """a.sum(axis=axes, keepdims=keepdims), through BLAS where the layout allows."""
    nd = a.ndim
    axes = tuple(sorted(ax % nd for ax in axes)) if nd else ()
    if type(a) is not CPU_ARRAY or a.dtype not in _FAST or a.size == 0 or not axes:
        if is_half(a):
            return rsum(a.astype(np.float32), axes, keepdims).astype(a.dtype)
        return a.sum(axis=axes, keepdims=keepdims)
    red = [i in axes for i in range(nd)]
    # group consecutive axes into (reduced?, size) runs
    runs: list = []
    for i, r in enumerate(red):
        if runs and runs[-1][0] == r:
            runs[-1][1] *= a.shape[i]
        else:
            runs.append([r, a.shape[i]])
    pattern = tuple(r for r, _ in runs)
    sizes = [s for _, s in runs]
    if pattern == (True,):
        out = np.asarray(a.sum(dtype=a.dtype))
    elif pattern == (False, True):
        out = a.reshape(sizes) @ ones(sizes[1], a.dtype)
    elif pattern == (True, False):
        out = ones(sizes[0], a.dtype) @ a.reshape(sizes)
    elif pattern == (True, False, True):
        out = ones(sizes[0], a.dtype) @ (a.reshape(sizes) @ ones(sizes[2], a.dtype))
    else:
        return a.sum(axis=axes, keepdims=keepdims)
    if keepdims:
        return out.reshape(tuple(1 if r else s for r, s in zip(red, a.shape)))
    return out.reshape(tuple(s for r, s in zip(red, a.shape) if not r))
