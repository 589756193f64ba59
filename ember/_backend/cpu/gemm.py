"""Matrix products of ember's hot paths (Linear, matmul) on NumPy, under ``blas_policy``: while
it keeps products off OpenBLAS's worker threads, a big product is split over ember's own threads,
each with a one-thread BLAS, and a small one runs on a one-thread BLAS.
"""

from __future__ import annotations

from contextlib import nullcontext

import numpy as np

from . import blas, blas_policy, blas_routines, threads

_BLAS_MT_FLOPS = 1 << 18  # OpenBLAS threads products past ~65536*4 multiply-adds
_F16 = np.dtype(np.float16)
_F32_64 = (np.dtype(np.float32), np.dtype(np.float64))  # the common case, tested first
_SPLIT_FLOPS = 1 << 23  # from here a split over ember's threads beats one BLAS thread


def mm(a, b):
    """``a @ b``, kept off OpenBLAS's worker threads when they would spin afterwards."""
    if (
        type(a) is np.ndarray
        and a.dtype not in _F32_64
        and (a.dtype.kind == "V" or a.dtype == _F16)
    ):
        # NumPy's bfloat16 product returns float32, and its float16 one runs without the BLAS:
        # run both in float32 on the BLAS and round once, as torch's half-precision GEMMs
        # accumulate in float32
        f = np.dtype(np.float32)
        return mm(a.astype(f), b.astype(f)).astype(a.dtype)
    if (
        not blas_policy.single_threaded_products()
        or type(a) is not np.ndarray
        or a.ndim < 2
        or b.ndim < 2
        or a.shape[-2] * a.shape[-1] * b.shape[-1] < _BLAS_MT_FLOPS
    ):
        return a @ b
    m, k, n = a.shape[-2], a.shape[-1], b.shape[-1]
    if (
        a.ndim == 2
        and b.ndim == 2
        and a.dtype == b.dtype
        and a.dtype.kind == "f"
        and m * k * n >= _SPLIT_FLOPS
        and max(m, n) >= 64
    ):
        # both cores still, each with a one-thread BLAS on half of the output
        out = np.empty((m, n), a.dtype)
        if m >= n:
            threads.pblocks(m, lambda lo, hi: np.matmul(a[lo:hi], b, out=out[lo:hi]))
        else:
            threads.pblocks(n, lambda lo, hi: np.matmul(a, b[:, lo:hi], out=out[:, lo:hi]))
        return out
    with blas.single_threaded():
        return a @ b


def guard():
    """A context in which BLAS products stay on one thread when OpenBLAS's workers would spin
    (a no-op where ``OPENBLAS_THREAD_TIMEOUT`` is in force)."""
    if not blas_policy.single_threaded_products():
        return nullcontext()
    return blas.single_threaded()


def addmm_t(bias, x, w):
    """``x @ w.T + bias`` (a Linear layer's forward): one gemm onto the bias's rows where
    OpenBLAS's threads may run (``blas_routines.addmm_t``), else ``mm`` and an add."""
    if not blas_policy.single_threaded_products():
        y = blas_routines.addmm_t(bias, x, w)
        if y is not None:
            return y
    y = mm(x, w.T)
    y += bias
    return y
