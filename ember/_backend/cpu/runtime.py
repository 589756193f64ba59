"""Process settings ember makes when it is imported, before NumPy loads (each can be turned off).

- ``OPENBLAS_THREAD_TIMEOUT=22`` (when unset): after each threaded product OpenBLAS keeps its
  worker threads spinning for 2**timeout cycles, by default 2**28 (~0.1 s). That much takes a
  core from whatever runs next on ember's own threads; 2**22 (~1.5 ms) still bridges the gaps
  between the back-to-back products of an MLP (where sleeping at once, 4, costs ~15%). Next to
  convolutions ember keeps its products off OpenBLAS's workers anyway (``blas_policy``), which
  is also what protects it when NumPy was imported first, too late for the variable.
- glibc's malloc keeps freed memory instead of giving it back to the kernel after every large
  free (``M_TRIM_THRESHOLD`` 256 MiB, ``M_MMAP_THRESHOLD`` 32 MiB): a training step frees and
  re-allocates the same tens of MB each step, and handing them back costs thousands of page
  faults (with NumPy's huge-page hint, tens of ms of kernel time) per step. This is what
  caching allocators do in other frameworks; the price is that up to 256 MiB of freed memory
  stays with the process.

``EMBER_TUNE_RUNTIME=0`` in the environment turns both off.

And always: NumPy's floating-point warnings (``RuntimeWarning: divide by zero encountered in
log``) are ignored where they come from ember's own code, since torch computes the IEEE results
(inf, NaN) silently: ``torch.log(p)`` of a probability that is 0 prints nothing in torch. The
filter matches ember's modules only, so the program's own NumPy code keeps its warnings. A
``warnings.catch_warnings()`` block around ``import ember`` (pytest's collection is one) drops it
with the block's other filters.

This module must not import NumPy (nor must ``ember._backend`` and ``ember._backend.cpu``, the
packages above it): ``ember`` runs ``configure()`` first, while the variable can still count.
"""

from __future__ import annotations

import ctypes
import os
import sys
import warnings

applied: dict = {}
_TIMEOUT = 22
_spin_safe = False  # set by configure()


def blas_spin_safe() -> bool:
    """Whether OpenBLAS's workers sleep right after a product: ``OPENBLAS_THREAD_TIMEOUT`` of at
    most 8 (256 cycles) was in the environment when NumPy loaded, as far as ember can tell. Not
    so with ember's own default of 22, whose ~1.5 ms of spinning would still cost a
    convolution's threads a share of a core after every product."""
    return _spin_safe


def configure() -> None:
    global _spin_safe
    warnings.filterwarnings(
        "ignore",
        message=r"(divide by zero|invalid value|overflow|underflow) encountered in ",
        category=RuntimeWarning,
        module=r"ember(\.|$)",
    )
    tune = os.environ.get("EMBER_TUNE_RUNTIME", "1") != "0"
    if tune and "numpy" not in sys.modules and "OPENBLAS_THREAD_TIMEOUT" not in os.environ:
        os.environ["OPENBLAS_THREAD_TIMEOUT"] = str(_TIMEOUT)
        applied["openblas_thread_timeout"] = _TIMEOUT
    # when NumPy loaded first it read the environment of then: most likely what is there now
    v = os.environ.get("OPENBLAS_THREAD_TIMEOUT", "")
    _spin_safe = v.isdigit() and int(v) <= 8
    if tune and sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(None)
            mallopt = libc.mallopt
            mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
            mallopt.restype = ctypes.c_int
            # M_MMAP_THRESHOLD (-3) first: setting either turns off glibc's own adjustment
            if mallopt(-3, 32 << 20) and mallopt(-1, 256 << 20):  # M_TRIM_THRESHOLD (-1)
                applied["malloc"] = True
        except (OSError, AttributeError):  # not glibc (musl, ...): keep the defaults
            pass


def set_flush_denormal(mode: bool) -> bool:
    """Not supported by NumPy: returns False, as torch does on CPUs without the feature."""
    return False
