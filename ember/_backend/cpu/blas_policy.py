"""When ember's matrix products keep off OpenBLAS's worker threads: for a second after ember's
own threads ran blocks of products (a convolution's, or a split product), unless those workers
sleep at once.

Why: OpenBLAS's workers spin after each threaded product, ~0.1 s by default and ~1.5 ms with the
``OPENBLAS_THREAD_TIMEOUT=22`` that ``runtime`` sets when ember loads before NumPy. A spinning
worker takes a core from the convolution passes that run on ember's threads next: measured, a
CNN's training step got ~40% slower with the default timeout. So while ember's threads have run
blocks in the last second, products (Linear, matmul: ``gemm``) run on ember's threads instead,
each with a one-thread BLAS. A model without convolutions (an MLP) never records blocks and keeps
the BLAS's threads, whose short spinning bridges the gaps between its back-to-back products.
Where the workers sleep at once (a timeout of 8 or less in the environment when NumPy loaded,
``runtime.blas_spin_safe()``) there is nothing to avoid.
"""

from __future__ import annotations

import time

from . import runtime

RECENT_S = 1.0  # how long after the last blocks products stay off the BLAS's threads
_last = [float("-inf")]  # time.monotonic() when ember's threads last ran blocks of products


def record_parallel_blocks() -> None:
    """Note that ember's threads are running blocks of products now (``threads.pblocks``)."""
    _last[0] = time.monotonic()


def single_threaded_products() -> bool:
    """Whether a product now should keep off OpenBLAS's worker threads."""
    return not runtime.blas_spin_safe() and time.monotonic() - _last[0] < RECENT_S
