"""Matrix products of ember's hot paths (Linear, matmul) on NumPy.

OpenBLAS's worker threads spin after each threaded product: ~0.1 s by default, ~1.5 ms with the
``OPENBLAS_THREAD_TIMEOUT=22`` that ``ember._runtime`` sets when ember loads before NumPy. A
spinning worker takes a core from the convolution passes that run on ember's threads next (with
the default timeout a CNN's step got ~40% slower), so unless the workers sleep at once
(a timeout of 8 or less), while ember's threads have been running convolutions in the last
second these products run on ember's own threads instead, each with a one-thread BLAS (a small
one on just one). A model without convolutions (an MLP) keeps the BLAS's threads, whose short
spinning bridges the gaps between its back-to-back products.
"""

from __future__ import annotations

import time
from contextlib import nullcontext

import numpy as np

from .. import _blas, _runtime
from . import conv_par

_BLAS_MT_FLOPS = 1 << 18  # OpenBLAS threads products past ~65536*4 multiply-adds
_RECENT_S = 1.0
_SPLIT_FLOPS = 1 << 23  # from here a split over ember's threads beats one BLAS thread


def _keep_single() -> bool:
    return not _runtime.blas_spin_safe() and time.monotonic() - conv_par.last_blocks[0] < _RECENT_S


def mm(a, b):
    """``a @ b``, kept off OpenBLAS's worker threads when they would spin afterwards."""
    if (
        not _keep_single()
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
            conv_par.pblocks(m, lambda lo, hi: np.matmul(a[lo:hi], b, out=out[lo:hi]))
        else:
            conv_par.pblocks(n, lambda lo, hi: np.matmul(a, b[:, lo:hi], out=out[:, lo:hi]))
        return out
    with _blas.single_threaded():
        return a @ b


def guard():
    """A context in which BLAS products stay on one thread when OpenBLAS's workers would spin
    (a no-op where ``OPENBLAS_THREAD_TIMEOUT`` is in force)."""
    if not _keep_single():
        return nullcontext()
    return _blas.single_threaded()
