"""1x1 convolution (groups=1, no padding, any stride) as one batched GEMM over the NCHW layout.

Why: a 1x1 kernel's im2col matrix is the input itself, so the im2col copy and the NHWC layout
passes the other paths make are pure memory traffic. Per image, the output is W (Cout, C) @
x[n] (C, P), the input gradient W^T @ gy[n] and the weight gradient the sum over images of
gy[n] @ x[n]^T: NumPy's batched matmul runs them straight on the NCHW arrays. A stride > 1
first takes the strided positions (one copy of the output's size) and scatters the input
gradient back to them.

Measured (2 cores, 32 images, NumPy's OpenBLAS): a 96->16 channel 1x1 layer on 32x32, forward
7.6 ms via the NHWC path vs 1.5 ms here; forward + backward of 16->96 on 32x32 9.9 ms vs ~5.5 ms.

On NumPy the batch is split over ember's threads, each part with one-thread BLAS products, as in
conv_taps (same time on one thread; with two threads on a loaded machine, 64->128 stride 2 on
16x16, 64 images: backward 1.7 vs 1.6-3.6 ms, 64->256 forward 3.4 vs 3.4-8.6 ms).
"""

from __future__ import annotations

import numpy as np

from .._backend.cpu.threads import add_parts, pblocks
from .._backend.xp import xp_of

_GW_BYTES = 8 << 20  # bytes of per-image weight-gradient products formed at once


_MIN_POSITIONS = 64  # output positions per image; fewer: the per-image GEMMs are too small


def eligible(x, w, s, pads, g: int) -> bool:
    """Whether this path serves the convolution: every kernel dim 1, no padding, one group,
    float32/float64 input and weight of one dtype, at least 64 output positions per image
    (measured: a 256->512 layer with 2x2 outputs, 64 images, took 4.7 ms forward + backward
    here vs 2.7 ms on the blocked NHWC path; at 8x8 outputs 3.8 vs 4.8 ms)."""
    positions = 1
    for e, st in zip(x.shape[2:], s):
        positions *= (e - 1) // st + 1
    return (
        positions >= _MIN_POSITIONS
        and g == 1
        and x.ndim >= 3
        and all(e == 1 for e in w.shape[2:])
        and all(lo == 0 and hi == 0 for lo, hi in pads)
        and x.dtype.kind == "f"
        and x.dtype.itemsize >= 4
        and w.dtype == x.dtype
    )


def _strided(x, s):
    """The input at the positions the output reads (a view when the stride is 1)."""
    if all(e == 1 for e in s):
        return x
    return x[(slice(None), slice(None)) + tuple(slice(None, None, e) for e in s)]


def forward(x, w, b, s):
    """Output (N, Cout, *O) of x (N, C, *S) and w (Cout, C, 1, ...)."""
    xp = xp_of(x)
    n, c = x.shape[:2]
    cout = w.shape[0]
    if xp is np:
        # the batch split over ember's threads, one-thread BLAS products per part: OpenBLAS's
        # own threads on these small per-image products spin afterwards and take the core from
        # the threaded passes that follow (see conv_taps)
        osz = _strided(x[:1], s).shape[2:]
        out = np.empty((n, cout) + osz, x.dtype)
        wm = w.reshape(cout, c)

        def run(lo, hi):
            xs = np.ascontiguousarray(_strided(x[lo:hi], s)).reshape(hi - lo, c, -1)
            o = out[lo:hi].reshape(hi - lo, cout, -1)
            np.matmul(wm, xs, out=o)
            if b is not None:
                o += b.reshape(cout, 1)

        pblocks(n, run)
        return out
    xs = xp.ascontiguousarray(_strided(x, s))
    out = xp.matmul(w.reshape(cout, c), xs.reshape(n, c, -1))
    if b is not None:
        out += b.reshape(cout, 1)
    return out.reshape((n, cout) + xs.shape[2:])


def backward(gy, x, w, s, needs):
    """(grad_input, grad_weight, grad_bias) of ``forward``; None where ``needs`` is False."""
    xp = xp_of(gy)
    if xp is np:
        return _backward_blocks(gy, x, w, s, needs)
    n, cout = gy.shape[:2]
    c = x.shape[1]
    g3 = xp.ascontiguousarray(gy).reshape(n, cout, -1)
    wm = w.reshape(cout, c)
    gx = gw = gb = None
    if needs[0]:
        gs = xp.matmul(wm.T, g3)
        if all(e == 1 for e in s):
            gx = gs.reshape(x.shape)
        else:
            gx = xp.zeros(x.shape, x.dtype)
            _strided(gx, s)[...] = gs.reshape((n, c) + gy.shape[2:])
    if needs[1]:
        xs = xp.ascontiguousarray(_strided(x, s)).reshape(n, c, -1)
        # per-image products summed: faster than one einsum/tensordot over (N, P) (measured);
        # in blocks of images so the (block, Cout, C) products stay a few MB
        step = max(1, _GW_BYTES // (cout * c * x.dtype.itemsize))
        acc = None
        for a in range(0, n, step):
            part = xp.matmul(g3[a : a + step], xs[a : a + step].transpose(0, 2, 1)).sum(0)
            acc = part if acc is None else acc + part
        gw = acc.reshape(w.shape)
    if needs[2]:
        gb = g3.sum((0, 2))
    return gx, gw, gb


def _backward_blocks(gy, x, w, s, needs):
    """``backward`` on NumPy: the batch split over ember's threads as in ``forward``, each part
    summing its own weight-gradient products (the parts' sums added at the end)."""
    n, cout = gy.shape[:2]
    c = x.shape[1]
    wm = w.reshape(cout, c)
    strided = any(e != 1 for e in s)  # then the positions the output skips get zeros
    gx = (np.zeros if strided else np.empty)(x.shape, x.dtype) if needs[0] else None
    step = max(1, _GW_BYTES // (cout * c * x.dtype.itemsize))

    def run(lo, hi):
        g3 = np.ascontiguousarray(gy[lo:hi]).reshape(hi - lo, cout, -1)
        if needs[0]:
            gs = np.matmul(wm.T, g3).reshape((hi - lo, c) + gy.shape[2:])
            _strided(gx[lo:hi], s)[...] = gs
        acc = None
        if needs[1]:
            xs = np.ascontiguousarray(_strided(x[lo:hi], s)).reshape(hi - lo, c, -1)
            for a in range(0, hi - lo, step):
                part = np.matmul(g3[a : a + step], xs[a : a + step].transpose(0, 2, 1)).sum(0)
                acc = part if acc is None else acc + part
        gb = g3.sum((0, 2)) if needs[2] else None
        return acc, gb

    parts = pblocks(n, run)
    gw = gb = None
    if needs[1]:
        gw = add_parts([part[0] for part in parts]).reshape(w.shape)
    if needs[2]:
        gb = add_parts([part[1] for part in parts])
    return gx, gw, gb
