"""Training-mode batch norm of a C-contiguous NumPy (N, C, *spatial) array as one op.

The general normalisation op (``_functional_norm._Norm``) makes about ten full passes over the
activations per step. Here per-channel sums are reductions over an (N, C, P) view, every pass
runs on blocks of a few images that stay in cache, and the blocks are split over ember's
threads, so forward and backward each cost about two passes of memory traffic.
"""

from __future__ import annotations

import numpy as np

from .._backend.cpu.threads import prange
from .._backend.xp import CPU_ARRAY
from ..autograd.node import Op

_BLOCK_BYTES = 256 << 10  # one block of images: well inside L2


def eligible(x, w, b) -> bool:
    return (
        type(x) is CPU_ARRAY
        and x.ndim >= 3
        and x.dtype in (np.float32, np.float64)
        and x.flags.c_contiguous
        and all(t is None or (type(t) is CPU_ARRAY and t.dtype == x.dtype) for t in (w, b))
    )


def _blocks(x3) -> int:
    """Images per block: each thread's part of the batch is walked in blocks of this many."""
    per = x3[0].nbytes or 1
    return max(1, _BLOCK_BYTES // per)


class BatchNormTrain(Op):
    """y = (x - mean) / sqrt(var + eps) * w + b with the batch's per-channel statistics."""

    def name(self) -> str:
        return "NativeBatchNormBackward0"

    @staticmethod
    def forward(ctx, x, w, b, eps, stats):
        n, c = x.shape[:2]
        x3 = x.reshape(n, c, -1)
        cnt = x3.shape[0] * x3.shape[2]
        dt = x.dtype.type
        step = _blocks(x3)
        mean = x3.sum(axis=(0, 2)) * dt(1.0 / cnt)
        mcol = mean.reshape(c, 1)
        xc = np.empty_like(x3)

        def centre(lo, hi):
            s = np.zeros(c, x.dtype)
            tmp = np.empty_like(x3[:step])
            for a in range(lo, hi, step):
                e = min(a + step, hi)
                blk = xc[a:e]
                np.subtract(x3[a:e], mcol, out=blk)
                s += np.square(blk, out=tmp[: e - a]).sum(axis=(0, 2))
            return s

        parts = prange(n, centre, x.nbytes)
        var = sum(parts[1:], parts[0]) * dt(1.0 / cnt)
        invstd = 1.0 / np.sqrt(var + dt(eps))
        scale = invstd if w is None else invstd * w
        scol = scale.reshape(c, 1)
        bcol = None if b is None else b.reshape(c, 1)
        y = np.empty_like(x3)

        def affine(lo, hi):
            for a in range(lo, hi, step):
                e = min(a + step, hi)
                np.multiply(xc[a:e], scol, out=y[a:e])
                if bcol is not None:
                    y[a:e] += bcol

        prange(n, affine, x.nbytes)
        if stats is not None:
            stats.append((mean, var))
        ctx.saved = (xc, invstd, w)
        ctx.shape = x.shape
        return y.reshape(x.shape)

    @staticmethod
    def backward(ctx, g):
        xc, invstd, w = ctx.saved
        nd = ctx._needs
        n, c, p = xc.shape
        cnt = n * p
        dt = xc.dtype.type
        g3 = np.ascontiguousarray(g).reshape(n, c, p)
        step = _blocks(xc)

        def sums(lo, hi):
            sg = np.zeros(c, xc.dtype)
            sgx = np.zeros(c, xc.dtype)
            tmp = np.empty_like(xc[:step])
            for a in range(lo, hi, step):
                e = min(a + step, hi)
                sg += g3[a:e].sum(axis=(0, 2))
                sgx += np.multiply(g3[a:e], xc[a:e], out=tmp[: e - a]).sum(axis=(0, 2))
            return sg, sgx

        parts = prange(n, sums, xc.nbytes)
        sg = sum((q[0] for q in parts[1:]), parts[0][0])
        sgx = sum((q[1] for q in parts[1:]), parts[0][1])
        gw = (sgx * invstd).astype(xc.dtype, copy=False) if nd[1] else None
        gb = sg if nd[2] else None
        gx = None
        if nd[0]:
            # gx = A*g + B*xc + C per channel (the batch-norm input gradient, expanded)
            a_ = invstd if w is None else invstd * w
            k = dt(1.0 / cnt)
            acol = a_.reshape(c, 1)
            bcol = (-a_ * invstd * invstd * sgx * k).reshape(c, 1)
            ccol = (-a_ * sg * k).reshape(c, 1)
            out = np.empty_like(xc)

            def grad(lo, hi):
                tmp = np.empty_like(xc[:step])
                for a in range(lo, hi, step):
                    e = min(a + step, hi)
                    o = out[a:e]
                    np.multiply(g3[a:e], acol, out=o)
                    o += np.multiply(xc[a:e], bcol, out=tmp[: e - a])
                    o += ccol

            prange(n, grad, xc.nbytes)
            gx = out.reshape(ctx.shape)
        return gx, gw, gb, None, None
