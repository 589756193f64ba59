"""Matrix products of ember's hot paths (Linear, matmul) on NumPy.

OpenBLAS's worker threads spin for ~0.1 s after each threaded product unless
``OPENBLAS_THREAD_TIMEOUT`` was set before NumPy loaded (``ember._runtime`` sets it when ember is
imported first). A spinning worker takes a core from the convolution and pooling passes that
run on ember's threads next, which costs far more than it saves: where the timeout is not in
force, these products run on one BLAS thread instead.
"""

from __future__ import annotations

from contextlib import nullcontext

import numpy as np

from .. import _blas, _runtime

_BLAS_MT_FLOPS = 1 << 18  # OpenBLAS threads products past ~65536*4 multiply-adds


def mm(a, b):
    """``a @ b``, kept off OpenBLAS's worker threads when they would spin afterwards."""
    if (
        _runtime.blas_spin_safe()
        or type(a) is not np.ndarray
        or a.ndim < 2
        or b.ndim < 2
        or a.shape[-2] * a.shape[-1] * b.shape[-1] < _BLAS_MT_FLOPS
    ):
        return a @ b
    with _blas.single_threaded():
        return a @ b


def guard():
    """A context in which BLAS products stay on one thread when OpenBLAS's workers would spin
    (a no-op where ``OPENBLAS_THREAD_TIMEOUT`` is in force)."""
    if _runtime.blas_spin_safe():
        return nullcontext()
    return _blas.single_threaded()
