"""BLAS routines NumPy does not expose, through ctypes: the vector updates axpy and axpby (y +=
a * x and y = a * x + b * y in one pass over memory, where NumPy takes two: a product into
scratch, then the update) and gemm with beta = 1 (a product added to an array already holding
the bias, as torch's addmm).

Why: an optimizer's step is memory-bound. Measured on 2,000,000 float32 values (2026-12-05,
2-core AVX-512 EPYC): OpenBLAS's saxpy 0.09 ms on its threads and 0.22 on one, NumPy's
multiply-then-subtract 0.65 ms; the word-language-model LSTM's plain SGD step (4.65 M
parameters) 2.74 ms against torch's 0.74. Below ~32K values the ctypes call costs more than it
saves, so callers keep NumPy there. And a Linear layer's bias added after its product is a pass
over the whole output: the LSTM benchmark's decoder, (700, 200) @ (200, 10000) + bias, 18.8-19.6
ms as NumPy's product and add, 16.3 as one gemm onto the bias's rows.

The routines come from the OpenBLAS whose thread controls ``blas`` found (NumPy's own copy);
where there is none, or it lacks them, every call answers False (or None) and the caller runs
NumPy. OpenBLAS skips the update when ``a`` is zero (BLAS's convention, which would hide a NaN in
x), so these answer False for a zero ``a`` as well.
"""

from __future__ import annotations

import ctypes
import threading

import numpy as np

from . import blas

MIN_SIZE = 1 << 15  # values from which one BLAS pass beats NumPy's two
_lock = threading.Lock()
_fns: list = []  # [] until probed; then [{(name, dtype): function}] (empty when none found)
_F32, _F64 = np.dtype(np.float32), np.dtype(np.float64)


def _probe() -> dict:
    c = blas._controls()
    if c is None:
        return {}
    try:
        lib = ctypes.CDLL(c[2])
    except OSError:
        return {}
    found: dict = {}
    # NumPy 2's scipy-openblas, NumPy 1's openblas64_, a 32-bit-index OpenBLAS
    for prefix, suffix, index in (
        ("scipy_cblas_", "64_", ctypes.c_int64),
        ("cblas_", "64_", ctypes.c_int64),
        ("cblas_", "", ctypes.c_int),
    ):
        for ch, dt, real in (("s", _F32, ctypes.c_float), ("d", _F64, ctypes.c_double)):
            axpy = getattr(lib, f"{prefix}{ch}axpy{suffix}", None)
            axpby = getattr(lib, f"{prefix}{ch}axpby{suffix}", None)
            gemm = getattr(lib, f"{prefix}{ch}gemm{suffix}", None)
            if axpy is None or axpby is None or gemm is None:
                continue
            ptr = ctypes.c_void_p
            axpy.argtypes = [index, real, ptr, index, ptr, index]
            axpy.restype = None
            axpby.argtypes = [index, real, ptr, index, real, ptr, index]
            axpby.restype = None
            # order, trans a, trans b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc
            gemm.argtypes = [ctypes.c_int] * 3 + [index] * 3 + [real, ptr, index, ptr, index]
            gemm.argtypes += [real, ptr, index]
            gemm.restype = None
            found[("axpy", dt)] = axpy
            found[("axpby", dt)] = axpby
            found[("gemm", dt)] = gemm
            found[("limit", dt)] = (1 << 62) if index is ctypes.c_int64 else (1 << 31) - 1
        if found:
            return found
    return {}


def _functions() -> dict:
    if not _fns:
        with _lock:
            if not _fns:
                _fns.append(_probe())
    return _fns[0]


def available() -> bool:
    """Whether the BLAS's axpy, axpby and gemm were found."""
    return bool(_functions())


def fits(*arrays) -> bool:
    """Whether ``axpy``/``axpby`` can run on these arrays (each as x or y): writeable
    C-contiguous float32/float64 NumPy arrays of one dtype and size, at least ``MIN_SIZE``
    values, and the BLAS's routines found. (A zero coefficient is refused apart.)"""
    a0 = arrays[0]
    if type(a0) is not np.ndarray or not (a0.dtype == _F32 or a0.dtype == _F64):
        return False
    n = a0.size
    for a in arrays:
        if (
            type(a) is not np.ndarray
            or a.dtype != a0.dtype
            or a.size != n
            or not a.flags.c_contiguous
            or not a.flags.writeable
        ):
            return False
    fns = _functions()
    return n >= MIN_SIZE and ("axpy", a0.dtype) in fns and n <= fns[("limit", a0.dtype)]


def axpy(a: float, x, y) -> bool:
    """y += a * x in place, in one pass; False (nothing done) where the BLAS can't: not two
    C-contiguous float32/float64 NumPy arrays of one dtype and size, fewer than ``MIN_SIZE``
    values, a zero ``a``, or no BLAS routine."""
    if a == 0 or not fits(x, y):
        return False
    _functions()[("axpy", x.dtype)](x.size, a, x.ctypes.data, 1, y.ctypes.data, 1)
    return True


def axpby(a: float, x, b: float, y) -> bool:
    """y = a * x + b * y in place, in one pass; False (nothing done) where ``axpy`` would be,
    or for a zero ``b`` (BLAS's convention: y's NaN would be dropped)."""
    if a == 0 or b == 0 or not fits(x, y):
        return False
    _functions()[("axpby", x.dtype)](x.size, a, x.ctypes.data, 1, b, y.ctypes.data, 1)
    return True


_ROW_MAJOR, _NO_TRANS, _TRANS = 101, 111, 112
ADDMM_MIN_SIZE = 1 << 16  # output values from which the gemm onto the bias beats product + add


def addmm_t(bias, x, w):
    """``x @ w.T + bias`` as one gemm with beta = 1 onto rows filled with the bias (torch's addmm
    for a Linear layer), or None where it can't: x (M, K) and w (N, K) C-contiguous NumPy
    arrays of one float32/float64 dtype, bias (N,) of that dtype, fewer than
    ``ADDMM_MIN_SIZE`` output values, or no BLAS routine."""
    if type(x) is not np.ndarray or type(w) is not np.ndarray or type(bias) is not np.ndarray:
        return None
    dt = x.dtype
    if (
        not (dt == _F32 or dt == _F64)
        or w.dtype != dt
        or bias.dtype != dt
        or x.ndim != 2
        or w.ndim != 2
        or bias.ndim != 1
    ):
        return None
    m, k = x.shape
    n = w.shape[0]
    if w.shape[1] != k or bias.shape[0] != n or m * n < ADDMM_MIN_SIZE or k == 0:
        return None
    if not (x.flags.c_contiguous and w.flags.c_contiguous):
        return None
    fns = _functions()
    f = fns.get(("gemm", dt))
    if f is None or max(m, n, k) > fns[("limit", dt)]:
        return None
    c = np.empty((m, n), dt)
    c[...] = bias
    f(
        _ROW_MAJOR,
        _NO_TRANS,
        _TRANS,
        m,
        n,
        k,
        1.0,
        x.ctypes.data,
        k,
        w.ctypes.data,
        k,
        1.0,
        c.ctypes.data,
        n,
    )
    return c
