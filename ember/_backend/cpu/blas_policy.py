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

The same second also holds the BLAS itself on one thread (``blas.hold_one_thread``), for the
products that do not go through ember's ``gemm``: the BLAS sums of batch norm and the losses,
adaptive pooling's, a Linear layer's bias gradient, NumPy's own. Each of those could wake the
workers, which then spin through the convolutions that follow. Measured (2026-12-05, 2-core
EPYC, the small ResNet's training step, medians of 20 steps, alternating runs): with NumPy
imported before ember (OpenBLAS's default timeout, ~0.1 s of spinning) 138-143 -> 93-96 ms;
with ember first (``OPENBLAS_THREAD_TIMEOUT=22``) no change beyond the machine's noise. The
first product that finds the second over gives the BLAS its threads back.
"""

from __future__ import annotations

import time

from . import blas, runtime

RECENT_S = 1.0  # how long after the last blocks products stay off the BLAS's threads
_last = [float("-inf")]  # time.monotonic() when ember's threads last ran blocks of products


def record_parallel_blocks() -> None:
    """Note that ember's threads are running blocks of products now (``threads.pblocks``), and
    hold the BLAS on one thread until a product finds that over a second ago."""
    _last[0] = time.monotonic()
    if not runtime.blas_spin_safe():
        blas.hold_one_thread()


def single_threaded_products() -> bool:
    """Whether a product now should keep off OpenBLAS's worker threads (the BLAS's threads
    given back where not)."""
    if runtime.blas_spin_safe():
        return False
    if time.monotonic() - _last[0] < RECENT_S:
        return True
    blas.release_hold()
    return False
