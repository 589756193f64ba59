"""The LAPACK drivers behind solve, inv, cholesky, svd and eigh on CPU: NumPy's own LAPACK loops
(the gufuncs behind ``numpy.linalg``) called in the input's precision.

Why: ``numpy.linalg`` computes float32 and complex64 input in double precision and rounds the
result back, although its gufuncs carry the single-precision loops too (sgesv, sgesdd, ssyevd:
what torch calls for float32). Called with the input's own type (2026-12-04, best of 7, float32,
numpy.linalg -> here): 256x256 solve 0.68 -> 0.46 ms, inv 1.9 -> 1.2, cholesky 0.83 -> 0.53,
svd 10.4 -> 6.4, eigh 4.9 -> 3.1; 64x32x32 solve 0.48 -> 0.39 (0.54 -> 0.33 in a quieter
phase), inv 0.94 -> 0.69, svd 8.2 -> 5.6, eigh 5.1 -> 4.5. That is as fast as the same drivers
through SciPy, which an earlier version called when installed (a batch then took a Python loop
of calls and lost below 32-48 rows); so NumPy alone serves, and SciPy's LAPACK is left to the
drivers NumPy does not expose (getrf for lu, sytrf for ldl: ``scipy_lapack``).

float64 and complex128 take the same loops numpy.linalg takes. Errors are numpy.linalg's
``LinAlgError`` with its messages. ``SINGLE_PRECISION = False`` (or a NumPy without the private
``numpy.linalg._umath_linalg``) restores numpy.linalg's double-precision path; CuPy arrays go to
cupy.linalg.
"""

from __future__ import annotations

import functools

import numpy as np

from .._backend.cpu import blas
from .._backend.xp import xp_of

try:  # numpy.linalg's gufuncs (private, but stable since NumPy 1.8; guarded all the same)
    from numpy.linalg import _umath_linalg as _loops
except ImportError:  # pragma: no cover
    _loops = None

SINGLE_PRECISION = True  # set False to compute float32/complex64 in double, as numpy.linalg
# the loop's one-letter type for each input dtype it serves in its own precision
_OWN = {np.dtype(np.float32): "f", np.dtype(np.complex64): "F"}
_REAL = {"f": "f", "F": "f"}


@functools.cache
def scipy_lapack():
    """scipy.linalg.lapack, or None when SciPy is not installed."""
    try:
        from scipy.linalg import lapack  # optional dependency: getrf and sytrf (lu, ldl)
    except ImportError:
        return None
    blas.adopt_loaded()  # SciPy's own OpenBLAS follows ember's thread count
    return lapack


def path() -> str:
    """How the CPU ops run float32: 'single' (LAPACK's single-precision loops) or 'double'."""
    return "single" if SINGLE_PRECISION and _loops is not None else "double"


def _own(a) -> str | None:
    """The loop type to call for ``a`` in its own precision, or None for numpy.linalg's path."""
    if not SINGLE_PRECISION or _loops is None or xp_of(a) is not np or a.size == 0:
        return None
    return _OWN.get(a.dtype)


def _raiser(message: str):
    def raise_(err, flag):
        raise np.linalg.LinAlgError(message)

    return raise_


def _call(name: str, message: str, signature: str, *arrays):
    """NumPy's LAPACK gufunc ``name``, a failure (flagged as an invalid value) raised as
    numpy.linalg raises it."""
    with np.errstate(
        call=_raiser(message), invalid="call", over="ignore", divide="ignore", under="ignore"
    ):
        return getattr(_loops, name)(*arrays, signature=signature)


def solve(a, b):
    """X with A X = B for (..., n, n) ``a`` and (..., n, k) ``b`` (batch dims broadcast), as
    numpy.linalg.solve (LinAlgError 'Singular matrix')."""
    t = _own(a)
    if t is None or b.dtype != a.dtype or b.ndim < 2 or b.size == 0:
        return xp_of(a).linalg.solve(a, b)
    return _call("solve", "Singular matrix", f"{t}{t}->{t}", a, b)


def inv(a):
    """The inverse of each (..., n, n) matrix, as numpy.linalg.inv."""
    t = _own(a)
    if t is None:
        return xp_of(a).linalg.inv(a)
    return _call("inv", "Singular matrix", f"{t}->{t}", a)


def cholesky(a):
    """The lower Cholesky factor of each (..., n, n) matrix, as numpy.linalg.cholesky."""
    t = _own(a)
    if t is None:
        return xp_of(a).linalg.cholesky(a)
    return _call("cholesky_lo", "Matrix is not positive definite", f"{t}->{t}", a)


def svd(a, full_matrices: bool = True, compute_uv: bool = True):
    """(U, S, Vh) or S of (..., m, n) ``a``, as numpy.linalg.svd (gesdd)."""
    t = _own(a)
    if t is None:
        return xp_of(a).linalg.svd(a, full_matrices=full_matrices, compute_uv=compute_uv)
    msg = "SVD did not converge"
    if not compute_uv:
        return _call("svd", msg, f"{t}->{_REAL[t]}", a)
    name = "svd_f" if full_matrices else "svd_s"
    return _call(name, msg, f"{t}->{t}{_REAL[t]}{t}", a)


def eigh(a, uplo: str = "L", vectors: bool = True):
    """(w, v) or w of hermitian (..., n, n) ``a`` from its ``uplo`` triangle, as
    numpy.linalg.eigh / eigvalsh (syevd / heevd)."""
    t = _own(a)
    if t is None:
        la = xp_of(a).linalg
        return la.eigh(a, UPLO=uplo) if vectors else la.eigvalsh(a, UPLO=uplo)
    side = "lo" if uplo == "L" else "up"
    msg = "Eigenvalues did not converge"
    if not vectors:
        return _call(f"eigvalsh_{side}", msg, f"{t}->{_REAL[t]}", a)
    return _call(f"eigh_{side}", msg, f"{t}->{_REAL[t]}{t}", a)
