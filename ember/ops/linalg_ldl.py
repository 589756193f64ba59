"""LDL^T factorisation of symmetric (or hermitian) matrices with Bunch-Kaufman pivoting, as
LAPACK's sytf2/sytrs (lower triangle), for torch.linalg.ldl_factor(_ex) and ldl_solve.

The pivoting decisions differ per matrix, so the batch is a loop; each step is vectorised over
the trailing block. torch records no gradient for these, nor does ember.
"""

from __future__ import annotations

import math

import numpy as np

from .._backend.xp import xp_of
from ..tensor import Tensor, _wrap
from . import linalg_lapack
from .inplace import copy_into_out
from .linalg_decomp import _check, _flat, _raise_batched, _rt, _same_dtype

_ALPHA = (1.0 + math.sqrt(17.0)) / 8.0


def _abs1(x, cplx: bool):
    # LAPACK compares complex entries by |re| + |im|
    return np.abs(x.real) + np.abs(x.imag) if cplx else np.abs(x)


def _sytf2(a, herm: bool):
    """Factor one n x n matrix in place (lower); returns (pivots 1-based, info)."""
    n = a.shape[0]
    cplx = a.dtype.kind == "c"
    conj = (lambda x: x.conj()) if (herm and cplx) else (lambda x: x)
    piv = np.zeros(n, dtype=np.int32)
    info = 0
    k = 0
    while k < n:
        kstep = 1
        akk = a[k, k].real if (herm and cplx) else a[k, k]
        absakk = abs(akk) if (herm and cplx) else float(_abs1(np.asarray(akk), cplx))
        if k < n - 1:
            col = _abs1(a[k + 1 :, k], cplx)
            imax = k + 1 + int(np.argmax(col))
            colmax = float(col.max())
        else:
            imax, colmax = k, 0.0
        if max(absakk, colmax) == 0 or math.isnan(absakk):
            if info == 0:
                info = k + 1
            kp = k
            if herm and cplx:
                a[k, k] = a[k, k].real
        else:
            if absakk >= _ALPHA * colmax:
                kp = k
            else:
                rowmax = float(_abs1(a[imax, k:imax], cplx).max())
                if imax < n - 1:
                    rowmax = max(rowmax, float(_abs1(a[imax + 1 :, imax], cplx).max()))
                aii = (
                    abs(a[imax, imax].real)
                    if (herm and cplx)
                    else float(_abs1(np.asarray(a[imax, imax]), cplx))
                )
                if absakk >= _ALPHA * colmax * (colmax / rowmax):
                    kp = k
                elif aii >= _ALPHA * rowmax:
                    kp = imax
                else:
                    kp = imax
                    kstep = 2
            kk = k + kstep - 1
            if kp != kk:
                if kp < n - 1:
                    t = a[kp + 1 :, kk].copy()
                    a[kp + 1 :, kk] = a[kp + 1 :, kp]
                    a[kp + 1 :, kp] = t
                t = conj(a[kk + 1 : kp, kk].copy())
                a[kk + 1 : kp, kk] = conj(a[kp, kk + 1 : kp])
                a[kp, kk + 1 : kp] = t
                if herm and cplx:
                    a[kp, kk] = a[kp, kk].conj()
                t = a[kk, kk]
                a[kk, kk] = a[kp, kp]
                a[kp, kp] = t
                if kstep == 2:
                    t = a[k + 1, k]
                    a[k + 1, k] = a[kp, k]
                    a[kp, k] = t
            if kstep == 1:
                if herm and cplx:
                    a[k, k] = a[k, k].real
                if k < n - 1:
                    x = a[k + 1 :, k].copy()
                    upd = np.outer(x, conj(x)) / a[k, k]
                    a[k + 1 :, k + 1 :] -= np.tril(upd)
                    a[k + 1 :, k] = x / a[k, k]
            else:
                if k < n - 2 and herm and cplx:  # LAPACK's hetf2
                    d = abs(a[k + 1, k])
                    d11 = a[k + 1, k + 1].real / d
                    d22 = a[k, k].real / d
                    tt = 1.0 / (d11 * d22 - 1.0)
                    d21 = a[k + 1, k] / d
                    d = tt / d
                    c0, c1 = a[k + 2 :, k].copy(), a[k + 2 :, k + 1].copy()
                    wk = d * (d11 * c0 - d21 * c1)
                    wkp1 = d * (d22 * c1 - d21.conj() * c0)
                    upd = np.outer(c0, wk.conj()) + np.outer(c1, wkp1.conj())
                    a[k + 2 :, k + 2 :] -= np.tril(upd)
                    a[k + 2 :, k] = wk
                    a[k + 2 :, k + 1] = wkp1
                    idx = np.arange(k + 2, n)
                    a[idx, idx] = a[idx, idx].real
                elif k < n - 2:  # LAPACK's sytf2
                    d21 = a[k + 1, k]
                    d11 = a[k + 1, k + 1] / d21
                    d22 = a[k, k] / d21
                    tt = 1.0 / (d11 * d22 - 1.0)
                    d21 = tt / d21
                    c0, c1 = a[k + 2 :, k].copy(), a[k + 2 :, k + 1].copy()
                    wk = d21 * (d11 * c0 - c1)
                    wkp1 = d21 * (d22 * c1 - c0)
                    upd = np.outer(c0, wk) + np.outer(c1, wkp1)
                    a[k + 2 :, k + 2 :] -= np.tril(upd)
                    a[k + 2 :, k] = wk
                    a[k + 2 :, k + 1] = wkp1
                if herm and cplx:
                    a[k, k] = a[k, k].real
                    a[k + 1, k + 1] = a[k + 1, k + 1].real
        if kstep == 1:
            piv[k] = kp + 1
        else:
            piv[k] = piv[k + 1] = -(kp + 1)
        k += kstep
    return piv, info


USE_SCIPY = True  # LAPACK's sytrf/hetrf through SciPy when it is installed (a speed-up)


def _ldl_scipy(a2, piv, info, herm: bool) -> bool:
    """sytrf (hetrf) on each matrix, in place; False without SciPy."""
    lapack = linalg_lapack.scipy_lapack()
    if lapack is None:
        return False
    name = "hetrf" if (herm and a2.dtype.kind == "c") else "sytrf"
    fn = lapack.get_lapack_funcs(name, (a2[0],))
    for b in range(a2.shape[0]):
        ld, p, inf = fn(a2[b], lower=1)
        a2[b] = np.tril(ld)
        piv[b] = p
        info[b] = max(int(inf), 0)
    return True


def _ldl_arrays(a, herm: bool):
    n = a.shape[-1]
    host = a.get() if hasattr(a, "get") else a
    a2 = np.array(_flat(host, 2), copy=True)
    piv = np.zeros((a2.shape[0], n), dtype=np.int32)
    info = np.zeros(a2.shape[0], dtype=np.int32)
    if not (USE_SCIPY and a2.size and _ldl_scipy(a2, piv, info, herm)):
        for b in range(a2.shape[0]):
            m = np.tril(a2[b])
            piv[b], info[b] = _sytf2(m, herm)
            a2[b] = m
    xp = xp_of(a)
    return (
        xp.asarray(a2.reshape(a.shape)),
        xp.asarray(piv.reshape(a.shape[:-1])),
        xp.asarray(info.reshape(a.shape[:-2])),
    )


def ldl_factor_ex(A: Tensor, *, hermitian: bool = False, check_errors: bool = False, out=None):
    """(LD, pivots, info), as torch.linalg.ldl_factor_ex (LAPACK's compact lower storage)."""
    _check(A, "torch.linalg.ldl_factor_ex")
    ld, piv, info = _ldl_arrays(A._data, hermitian)
    if check_errors:
        _raise_batched(info, _ldl_msg("torch.linalg.ldl_factor_ex"))
    r = _rt("linalg_ldl_factor_ex", ("LD", "pivots", "info"), _wrap(ld), _wrap(piv), _wrap(info))
    return _out(r, out)


def _ldl_msg(fname):
    return lambda i, pre: (
        f"{fname}: {pre}The factorization could not be completed because the input is not "
        f"invertible: D[{i},{i}] is zero."
    )


def ldl_factor(A: Tensor, *, hermitian: bool = False, out=None):
    """(LD, pivots), as torch.linalg.ldl_factor."""
    _check(A, "torch.linalg.ldl_factor_ex")
    ld, piv, info = _ldl_arrays(A._data, hermitian)
    _raise_batched(info, _ldl_msg("torch.linalg.ldl_factor"))
    return _out(_rt("linalg_ldl_factor", ("LD", "pivots"), _wrap(ld), _wrap(piv)), out)


def _out(r, out):
    if out is None:
        return r
    for o, x in zip(out, r):
        copy_into_out(o, x)
    return out


def _sytrs(a, piv, b, herm: bool):
    """Solve with one factored matrix (LAPACK's sytrs, lower); b is n x k, overwritten."""
    n = a.shape[0]
    cplx = a.dtype.kind == "c"
    conj = (lambda x: x.conj()) if (herm and cplx) else (lambda x: x)
    k = 0
    while k < n:  # L D X = B
        if piv[k] > 0:
            kp = piv[k] - 1
            if kp != k:
                b[[k, kp]] = b[[kp, k]]
            if k < n - 1:
                b[k + 1 :] -= np.outer(a[k + 1 :, k], b[k])
            b[k] /= a[k, k].real if (herm and cplx) else a[k, k]
            k += 1
        else:
            kp = -piv[k] - 1
            if kp != k + 1:
                b[[k + 1, kp]] = b[[kp, k + 1]]
            if k < n - 2:
                b[k + 2 :] -= np.outer(a[k + 2 :, k], b[k]) + np.outer(a[k + 2 :, k + 1], b[k + 1])
            akm1k = a[k + 1, k]
            akm1 = a[k, k] / conj(akm1k)
            ak = a[k + 1, k + 1] / akm1k
            denom = akm1 * ak - 1.0
            bkm1 = b[k] / conj(akm1k)
            bk = b[k + 1] / akm1k
            b[k] = (ak * bkm1 - bk) / denom
            b[k + 1] = (akm1 * bk - bkm1) / denom
            k += 2
    k = n - 1
    while k >= 0:  # L^T X = B (L^H when hermitian)
        if piv[k] > 0:
            if k < n - 1:
                b[k] -= conj(a[k + 1 :, k]) @ b[k + 1 :]
            kp = piv[k] - 1
            if kp != k:
                b[[k, kp]] = b[[kp, k]]
            k -= 1
        else:
            if k < n - 1:
                b[k] -= conj(a[k + 1 :, k]) @ b[k + 1 :]
                b[k - 1] -= conj(a[k + 1 :, k - 1]) @ b[k + 1 :]
            kp = -piv[k] - 1
            if kp != k:
                b[[k, kp]] = b[[kp, k]]
            k -= 2
    return b


def ldl_solve(LD: Tensor, pivots: Tensor, B: Tensor, *, hermitian: bool = False, out=None):
    """X with A X = B from ldl_factor's (LD, pivots), as torch.linalg.ldl_solve."""
    _check(LD, "torch.linalg.ldl_solve")
    _same_dtype(LD, B, "torch.linalg.ldl_solve", "LD", "B")
    ld, pv, b = (
        np.asarray(x._data.get() if hasattr(x._data, "get") else x._data) for x in (LD, pivots, B)
    )
    if b.ndim < 2:
        raise RuntimeError(
            "torch.linalg.ldl_solve: The input tensor B must have at least 2 dimensions."
        )
    shape = np.broadcast_shapes(ld.shape[:-2], b.shape[:-2])
    ld2 = _flat(np.broadcast_to(ld, shape + ld.shape[-2:]), 2)
    pv2 = _flat(np.broadcast_to(pv, shape + pv.shape[-1:]), 1)
    x = np.array(_flat(np.broadcast_to(b, shape + b.shape[-2:]), 2))
    for i in range(x.shape[0]):
        _sytrs(ld2[i], pv2[i], x[i], hermitian)
    r = _wrap(xp_of(LD._data).asarray(x.reshape(shape + b.shape[-2:])))
    return copy_into_out(out, r) if out is not None else r
