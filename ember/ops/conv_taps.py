"""2-D convolution on small feature maps (a few output positions per image) as one GEMM per
kernel tap over only the positions that tap reaches, channels-last.

Why: on a 2x2 or 4x4 map with padding, most of im2col's columns are padding zeros (a 3x3
kernel on a 2x2 map: 5 of 9 taps read padding for every output), and the Winograd tiles are
mostly padding too. Per tap (i, j), the output rows/columns whose input lies inside the map
form one rectangle: its products are one (N*rows*cols, C) @ (C, Cout) GEMM on the NHWC input,
added into that rectangle of the NHWC output, so only the real multiply-adds are done. The
backward runs the same rectangles: the input gradient adds g @ W_tap^T into the input's
rectangle, the weight gradient of a tap is its input rectangle^T @ g.

Measured (2 cores, 64 images, float32, NumPy's OpenBLAS without the Haswell override): 512->512
3x3 on 2x2 7.2-7.3 ms vs 9.8-10.7 ms (Winograd); 256->256 on 4x4 3.7-4.7 vs 7.4-7.5 ms;
256->512 stride 2 on 4x4 4.0-4.2 vs 6.2-6.6 ms; 64->64 on 16x16 12.3 vs 10.7 ms (slower: hence
the limit on output positions). Forward + backward, same runs: 27.8 vs 36.6 ms (512 on 2x2),
14.9 vs 22.9 (256->512 stride 2), 17.0 vs 24.3 (256 on 4x4), 12.3 vs 17.5 (128->256 stride 2).

The weight is taken once to a (C, KH, KW, Cout) layout (``tap_weights``): a 2-D transpose of
(Cout, C*KH*KW), in blocks of 16 source rows split over ember's threads; each tap's (C, Cout)
matrix is then a view with unit column stride that the BLAS reads directly, as is its transpose
(Cout, C) for the input gradient, so forward and backward share one copy. Measured (2 cores,
512->512 3x3 weight, 9.4 MB): 3.5 ms for the 4-d transposing copy before, 1.2-2.3 ms blocked.
The weight gradient is gathered in the same layout and transposed back the same way.

Threads: the forward and the input gradient split the batch over ember's threads, each part
with its own NHWC copies and one-thread BLAS products (``threads.pblocks``); the weight gradient
splits the output channels (no partial sums to add). Before, the products ran on OpenBLAS's own
threads between single-threaded copies, and its spinning workers took the core from the next
passes: measured in a ResNet-18 training step (64x3x64x64, 2 threads, loaded machine), the
backward of the three 512->512 2x2 layers took 110 ms, now 26 ms (three 256->256 4x4: 115 -> 22).
"""

from __future__ import annotations

import numpy as np

from .._backend.cpu.threads import pblocks, prange
from .._backend.xp import CPU_ARRAY

_MAX_POSITIONS = 16  # output positions per image (4x4); at 8x8 the gain was within noise
_MIN_CHANNELS = 64  # fewer input channels: the per-tap GEMMs are too thin (K = C)
_TRANSPOSE_ROWS = 16  # source rows per block of the weight transposes (measured best of 16..64)


def _out_size(xshape, wshape, s, pads, d) -> tuple:
    return tuple(
        (xshape[2 + a] + pads[a][0] + pads[a][1] - d[a] * (wshape[2 + a] - 1) - 1) // s[a] + 1
        for a in (0, 1)
    )


def eligible(x, w, s, pads, d, g: int) -> bool:
    """Whether this path serves the convolution: NumPy float32/float64, 2-d, one
    group, 64+ input channels, at most 16 output positions per image."""
    if type(x) is not CPU_ARRAY or x.ndim != 4 or g != 1 or w.dtype != x.dtype:
        return False
    if x.dtype not in (np.float32, np.float64) or x.shape[1] < _MIN_CHANNELS:
        return False
    oh, ow = _out_size(x.shape, w.shape, s, pads, d)
    return 0 < oh * ow <= _MAX_POSITIONS


def _reach(k: int, d: int, s: int, lo: int, size: int, o: int):
    """The output range [r0, r1) whose input index r*s + k*d - lo lies in [0, size)."""
    first = k * d - lo
    r0 = 0 if first >= 0 else -(first // s)
    r1 = min(o, (size - 1 - first) // s + 1) if size - 1 - first >= 0 else 0
    return (r0, r1) if r1 > r0 else None


def _taps(xshape, wshape, s, pads, d, oh, ow) -> list:
    """[(i, j, input rows, input cols, output rows, output cols)] of the taps reaching input."""
    h, wd = xshape[2:]
    kh, kw = wshape[2:]
    out = []
    for i in range(kh):
        ri = _span(i, d[0], s[0], pads[0][0], h, oh)
        if ri is None:
            continue
        for j in range(kw):
            ci = _span(j, d[1], s[1], pads[1][0], wd, ow)
            if ci is not None:
                out.append((i, j, ri[0], ci[0], ri[1], ci[1]))
    return out


def _span(i: int, d: int, s: int, pad: int, n: int, on: int):
    """(input slice, output slice) along one axis of kernel offset ``i``, or None when it reaches
    no input."""
    r = _reach(i, d, s, pad, n, on)
    if r is None:
        return None
    x0 = r[0] * s + i * d - pad
    return slice(x0, x0 + (r[1] - r[0] - 1) * s + 1, s), slice(*r)


def _transpose(a):
    """A contiguous copy of the 2-D ``a``'s transpose, in blocks of source rows over ember's
    threads (one 2-D transposing copy of a 512 x 4608 matrix: 3.1 ms; in blocks: 2.3 ms on one
    thread)."""
    r = a.shape[0]
    out = np.empty(a.shape[::-1], a.dtype)
    step = _TRANSPOSE_ROWS

    def run(lo, hi):
        for b in range(lo * step, min(hi * step, r), step):
            out[:, b : b + step] = a[b : b + step].T

    prange(-(-r // step), run, a.nbytes)
    return out


def tap_weights(w):
    """w (Cout, C, KH, KW) as a contiguous (C, KH, KW, Cout) array: tap (i, j)'s (C, Cout)
    matrix is ``[:, i, j]``."""
    cout, c, kh, kw = w.shape
    return _transpose(w.reshape(cout, c * kh * kw)).reshape(c, kh, kw, cout)


def forward(x, w, b, s, pads, d, wt=None):
    """Output (N, Cout, OH, OW) of x (N, C, H, W) and w (Cout, C, KH, KW); ``wt``: the
    weight's ``tap_weights`` when the caller has them."""
    c = x.shape[1]
    cout = w.shape[0]
    oh, ow = _out_size(x.shape, w.shape, s, pads, d)
    if wt is None:
        wt = tap_weights(w)
    taps = _taps(x.shape, w.shape, s, pads, d, oh, ow)
    out = np.empty((x.shape[0], cout, oh, ow), x.dtype)

    def run(lo, hi):
        xt = np.ascontiguousarray(x[lo:hi].transpose(0, 2, 3, 1))
        ob = np.zeros((hi - lo, oh, ow, cout), x.dtype)
        for i, j, rows, cols, ro, co in taps:
            a = np.ascontiguousarray(xt[:, rows, cols]).reshape(-1, c)
            dst = ob[:, ro, co]
            dst += (a @ wt[:, i, j]).reshape(dst.shape)
        if b is not None:
            ob += b
        out[lo:hi] = ob.transpose(0, 3, 1, 2)

    pblocks(x.shape[0], run)
    return out


def backward(gy, x, w, s, pads, d, needs, wt=None):
    """(grad_input, grad_weight, grad_bias) of ``forward``; None where ``needs`` is False.
    ``wt``: the weight's ``tap_weights``, kept from the forward (else formed again)."""
    n, c = x.shape[:2]
    cout, _, kh, kw = w.shape
    oh, ow = gy.shape[2:]
    taps = _taps(x.shape, w.shape, s, pads, d, oh, ow)
    if needs[0] and wt is None:
        wt = tap_weights(w)
    gyt = np.empty((n, oh, ow, cout), x.dtype)
    xt = np.empty((n,) + x.shape[2:] + (c,), x.dtype) if needs[1] else None
    gx = np.empty(x.shape, x.dtype) if needs[0] else None

    def images(lo, hi):
        # the NHWC copies of this part of the batch, and its input gradient
        gyt[lo:hi] = gy[lo:hi].transpose(0, 2, 3, 1)
        if needs[1]:
            xt[lo:hi] = x[lo:hi].transpose(0, 2, 3, 1)
        if not needs[0]:
            return
        gxt = np.zeros((hi - lo,) + x.shape[2:] + (c,), x.dtype)
        for i, j, rows, cols, ro, co in taps:
            g = np.ascontiguousarray(gyt[lo:hi, ro, co]).reshape(-1, cout)
            dst = gxt[:, rows, cols]
            dst += (g @ wt[:, i, j].T).reshape(dst.shape)
        gx[lo:hi] = gxt.transpose(0, 3, 1, 2)

    pblocks(n, images)
    gw = None
    if needs[1]:
        gwt = np.zeros((c, kh, kw, cout), x.dtype)

        def channels(lo, hi):
            # the weight gradient of output channels lo:hi, every tap: a split with no sum
            for i, j, rows, cols, ro, co in taps:
                a = np.ascontiguousarray(xt[:, rows, cols]).reshape(-1, c)
                g = np.ascontiguousarray(gyt[:, ro, co, lo:hi]).reshape(-1, hi - lo)
                gwt[:, i, j, lo:hi] = a.T @ g

        pblocks(cout, channels)
        gw = _transpose(gwt.reshape(c * kh * kw, cout)).reshape(w.shape)
    gb = gy.sum((0, 2, 3)) if needs[2] else None
    return gx, gw, gb
