"""The LAPACK drivers behind solve, svd and eigh on CPU: SciPy's LAPACK when SciPy is installed
(an optional speed-up), else NumPy's ``numpy.linalg``; both give NumPy's results and errors.

Why: NumPy's and SciPy's wheels each bundle an OpenBLAS, and the same LAPACK drivers (gesv,
gesdd, syevd/heevd) called through SciPy ran about 2x faster on one 256x256 float32 matrix
(2026-12-03, one thread, interleaved best-of-5: gesdd 13.2-19.8 vs 22.5-39.4 ms, syevd 5.4-8.9
vs 10.7-15.2 ms, gesv 0.46-0.52 vs 0.85-1.24 ms). A batch is a Python loop of driver calls, so
it only pays for matrices of at least ``_MIN_N`` rows: on 64x32x32 the loop measured solve 0.55
vs 0.77 ms, svd 11.3 vs 14.1 ms, eigh 7.2 vs 8.1 ms; on tiny matrices NumPy's C loop wins.
``path()`` says which ran (the benchmark prints it). CuPy arrays go to cupy.linalg.
"""

from __future__ import annotations

import functools

import numpy as np

from .._backend.cpu import blas
from .._backend.xp import xp_of

USE_SCIPY = True  # set False to force numpy.linalg (the tests run both paths)
_MIN_N = 32  # smallest matrix a batched call sends through the Python loop (measured above)
# gesv is cheap enough that the loop's per-call cost decides: on 64 float32 matrices NumPy's
# batched solve measured 0.29-0.34 ms against the loop's 0.32-0.51 at n=32 and lost from n=48
# (0.63-0.98 vs 0.50-0.79 ms), with either OpenBLAS kernel set
_SOLVE_MIN_N = 48
_DTYPES = frozenset(np.dtype(t) for t in ("float32", "float64", "complex64", "complex128"))


@functools.cache
def scipy_lapack():
    """scipy.linalg.lapack, or None when SciPy is not installed."""
    try:
        from scipy.linalg import lapack  # optional dependency: the faster path above
    except ImportError:
        return None
    blas.adopt_loaded()  # SciPy's own OpenBLAS follows ember's thread count
    return lapack


def path() -> str:
    """Which LAPACK the CPU ops call: 'scipy' or 'numpy'."""
    return "scipy" if USE_SCIPY and scipy_lapack() is not None else "numpy"


def _use(a, min_n: int = _MIN_N) -> bool:
    if not USE_SCIPY or xp_of(a) is not np or a.dtype not in _DTYPES or a.size == 0:
        return False
    if a.ndim > 2 and a.shape[-1] < min_n and int(np.prod(a.shape[:-2])) > 1:
        return False
    return scipy_lapack() is not None


@functools.cache
def _fn(name: str, char: str):
    return scipy_lapack().get_lapack_funcs(name, dtype=np.dtype(char))


def _batch(a):
    return a.reshape((-1,) + a.shape[-2:])


def solve(a, b):
    """X with A X = B for (..., n, n) ``a`` and (..., n, k) ``b`` (batch dims broadcast), as
    numpy.linalg.solve (LinAlgError 'Singular matrix')."""
    if not _use(a, _SOLVE_MIN_N) or b.dtype != a.dtype or b.ndim < 2 or b.size == 0:
        return xp_of(a).linalg.solve(a, b)
    shape = np.broadcast_shapes(a.shape[:-2], b.shape[:-2])
    a2 = _batch(np.broadcast_to(a, shape + a.shape[-2:]))
    b2 = _batch(np.broadcast_to(b, shape + b.shape[-2:]))
    gesv = _fn("gesv", a.dtype.char)
    out = np.empty(b2.shape, dtype=a.dtype)
    for i in range(a2.shape[0]):
        _, _, x, info = gesv(a2[i], b2[i])
        if info > 0:
            raise np.linalg.LinAlgError("Singular matrix")
        out[i] = x
    return out.reshape(shape + b.shape[-2:])


@functools.cache
def _gesdd_lwork(char: str, m: int, n: int, full: bool, uv: bool) -> int:
    # the driver's default workspace is the minimum; the optimal one measured ~15% faster
    lw = _fn("gesdd_lwork", char)(m, n, compute_uv=int(uv), full_matrices=int(full))
    return int(lw[0].real)


def svd(a, full_matrices: bool = True, compute_uv: bool = True):
    """(U, S, Vh) or S of (..., m, n) ``a``, as numpy.linalg.svd (gesdd)."""
    if not _use(a):
        return xp_of(a).linalg.svd(a, full_matrices=full_matrices, compute_uv=compute_uv)
    *batch, m, n = a.shape
    k = min(m, n)
    a2 = _batch(a)
    ch = a.dtype.char
    gesdd = _fn("gesdd", ch)
    lwork = _gesdd_lwork(ch, m, n, bool(full_matrices), bool(compute_uv))
    real = a.real.dtype
    s = np.empty((a2.shape[0], k), dtype=real)
    if compute_uv:
        mu, nv = (m, n) if full_matrices else (k, k)
        u = np.empty((a2.shape[0], m, mu), dtype=a.dtype)
        vh = np.empty((a2.shape[0], nv, n), dtype=a.dtype)
    for i in range(a2.shape[0]):
        ui, si, vhi, info = gesdd(
            a2[i], compute_uv=int(compute_uv), full_matrices=int(full_matrices), lwork=lwork
        )
        if info != 0:
            raise np.linalg.LinAlgError("SVD did not converge")
        s[i] = si
        if compute_uv:
            u[i] = ui
            vh[i] = vhi
    s = s.reshape(tuple(batch) + (k,))
    if not compute_uv:
        return s
    return u.reshape(tuple(batch) + u.shape[1:]), s, vh.reshape(tuple(batch) + vh.shape[1:])


def eigh(a, uplo: str = "L", vectors: bool = True):
    """(w, v) or w of hermitian (..., n, n) ``a`` from its ``uplo`` triangle, as
    numpy.linalg.eigh / eigvalsh (syevd / heevd)."""
    if not _use(a):
        la = xp_of(a).linalg
        return la.eigh(a, UPLO=uplo) if vectors else la.eigvalsh(a, UPLO=uplo)
    *batch, n, _ = a.shape
    a2 = _batch(a)
    evd = _fn("heevd" if a.dtype.kind == "c" else "syevd", a.dtype.char)
    lower = int(uplo == "L")
    w = np.empty((a2.shape[0], n), dtype=a.real.dtype)
    v = np.empty(a2.shape, dtype=a.dtype) if vectors else None
    for i in range(a2.shape[0]):
        wi, vi, info = evd(a2[i], compute_v=int(vectors), lower=lower)
        if info != 0:
            raise np.linalg.LinAlgError("Eigenvalues did not converge")
        w[i] = wi
        if vectors:
            v[i] = vi
    w = w.reshape(tuple(batch) + (n,))
    return (w, v.reshape(a.shape)) if vectors else w
