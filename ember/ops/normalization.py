"""Normalisation ops: one fused op with a hand-written backward normalises over any set of axes
with an optional per-channel affine (layer, group and evaluation-free batch norm), and a threaded
one-op training batch norm for C-contiguous NumPy (N, C, *spatial) arrays.

The general op makes about ten full passes over the activations per step. In the training batch
norm, per-channel sums are reductions over an (N, C, P) view, every pass runs on blocks of a few
images that stay in cache, and the blocks are split over ember's threads, so forward and backward
each cost about two passes of memory traffic. The public functions are in
``ember.nn.functional``.
"""

from __future__ import annotations

import numpy as np

from .._backend.cpu import blas, jit
from .._backend.cpu.gemm import mm
from .._backend.cpu.threads import add_parts, prange
from .._backend.xp import CPU_ARRAY, xp_of
from ..autograd.node import Op
from ..tensor import Tensor
from . import _bw
from ._blas_sum import ones as _blas_ones
from ._blas_sum import rsum


def _rows(x, w, b, axes, bshape):
    """(M, D) when the norm is over the trailing ``axes`` of a C-contiguous float32/float64
    NumPy array with w/b (if any) over exactly those dims (layer and RMS norm): each of the M
    rows of D values is normalised on its own, and the row-wise path serves it."""
    nd = x.ndim
    k = len(axes)
    if (
        type(x) is not CPU_ARRAY
        or x.dtype not in _ROW_DTYPES
        or k == 0
        or axes != tuple(range(nd - k, nd))
        or not x.flags.c_contiguous
        or x.size == 0
    ):
        return None
    tail = x.shape[nd - k :]
    for t in (w, b):
        if t is not None and (
            type(t) is not CPU_ARRAY or t.dtype != x.dtype or tuple(bshape) != tail
        ):
            return None
    d = 1
    for e in tail:
        d *= e
    return x.size // d, d


_ROW_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


_vecdot = getattr(np, "vecdot", None)  # NumPy >= 2.0


def _row_dots(a, b):
    """The dot product of each row of ``a`` with the same row of ``b`` ((m, d) -> (m,)):
    ``np.vecdot`` (23 us on 1024 x 256 float32) where NumPy has it, else einsum (41 us)."""
    if _vecdot is not None:
        return _vecdot(a, b)
    return np.einsum("ij,ij->i", a, b)


def _outer(u, v):
    """``u[:, None] * v[None, :]`` as a GEMM with an inner size of 2 (the second column and row
    zero): 19 us for 1024 x 256 float32, where the broadcast multiply takes 58 and ``np.outer``
    75 (and a GEMM with inner size 1 about 300: OpenBLAS does not take that case well)."""
    a = np.zeros((u.shape[0], 2), u.dtype)
    a[:, 0] = u
    c = np.zeros((2, v.shape[0]), v.dtype)
    c[0] = v
    return mm(a, c)


@jit.kernel(reassoc=True)
def _ln_fw_loop(x, w, b, eps, d, two_pass, y, xhat, mean, rstd):
    """Layer norm of the rows of d values of the flat C-contiguous array ``x``: each row's mean
    and variance in one read (sums of x and x^2 in float64), then xhat and y = xhat * w + b in
    a second loop over the row. E[x^2] - mean^2 keeps float32's precision while the mean is
    within 1000 standard deviations of zero; past that, and always with ``two_pass`` (float64
    input), the variance is summed again from the centred row. ``eps`` comes in x's dtype; ``w``
    and ``b`` are ones and zeros where the norm has none. ``F.layer_norm`` on nanoGPT's 12 x 64
    x 128 float32 (2026-12-05): 104 -> 48 us against the NumPy path's ten passes (torch: 35)."""
    m = x.size // d
    for i in range(m):
        o = i * d
        s = 0.0
        q = 0.0
        for j in range(d):
            v = np.float64(x[o + j])
            s += v
            q += v * v
        mu = s / d
        var = q / d - mu * mu
        if two_pass or mu * mu > 1e6 * var:
            q = 0.0
            for j in range(d):
                c = np.float64(x[o + j]) - mu
                q += c * c
            var = q / d
        mean[i] = mu
        rstd[i] = 1.0 / np.sqrt(max(var, 0.0) + eps)
    for i in range(m):
        o = i * d
        mu = mean[i]
        r = rstd[i]
        for j in range(d):
            h = (x[o + j] - mu) * r
            xhat[o + j] = h
            y[o + j] = h * w[j] + b[j]


@jit.kernel(reassoc=True)
def _ln_bw_loop(g, xhat, w, rstd, d, gx, gw, gb):
    """The row-wise norm's backward over flat C-contiguous arrays of rows of d values: per row
    the means of g * w and g * w * xhat (float64 sums), then gx = (g w - mean(g w) - xhat
    mean(g w xhat)) * rstd; the weight's and bias's gradients accumulate into ``gw`` and ``gb``
    (float64, zeroed by the caller)."""
    m = g.size // d
    for i in range(m):
        o = i * d
        a = 0.0
        c = 0.0
        for j in range(d):
            p = np.float64(g[o + j] * w[j])
            a += p
            c += p * xhat[o + j]
        a = a / d
        c = c / d
        r = rstd[i]
        for j in range(d):
            gj = g[o + j]
            h = xhat[o + j]
            gx[o + j] = (gj * w[j] - a - h * c) * r
            gw[j] += gj * h
            gb[j] += gj


_JIT_MIN = 1 << 14  # values from which the row norm runs its compiled kernels


def _row_forward_jit(ctx, x, w, b, eps, m, d):
    """``_row_forward``'s layer norm (centred) by ``_ln_fw_loop``, its rows split across
    ember's threads from ~1 MiB; None where the kernel cannot run."""
    dt = x.dtype
    xf = x.reshape(-1)
    wv = _blas_ones(d, dt) if w is None else w.reshape(d)
    bv = np.zeros(d, dt) if b is None else b.reshape(d)
    y = np.empty_like(xf)
    xhat = np.empty_like(xf)
    rstd = np.empty(m, dt)
    mean = np.empty(m, dt)  # rounded to x's dtype, as torch's and the NumPy path's mean
    e, two = dt.type(eps), dt != np.float32

    def part(lo, hi):
        sl = slice(lo * d, hi * d)
        rows = slice(lo, hi)
        return _ln_fw_loop.run(xf[sl], wv, bv, e, d, two, y[sl], xhat[sl], mean[rows], rstd[rows])

    if jit.split(m, part, x.nbytes, jit.ROWS_SPLIT_BYTES) is None:
        return None
    ctx.rows = (m, d)
    ctx.saved = (xhat.reshape(m, d), rstd, w)
    ctx.centred = False
    ctx.jit = True
    return y.reshape(x.shape)


def _row_backward_jit(ctx, g):
    """``_row_backward`` by ``_ln_bw_loop`` (after ``_row_forward_jit``); None where the
    kernel cannot run."""
    xhat, rstd, w = ctx.saved
    m, d = ctx.rows
    dt = xhat.dtype
    gf = np.ascontiguousarray(g, dtype=dt).reshape(-1)
    hf = xhat.reshape(-1)
    wv = _blas_ones(d, dt) if w is None else w.reshape(d)
    gx = np.empty_like(hf)

    def part(lo, hi):
        gw, gb = np.zeros(d), np.zeros(d)
        sl = slice(lo * d, hi * d)
        ok = _ln_bw_loop.run(gf[sl], hf[sl], wv, rstd[lo:hi], d, gx[sl], gw, gb)
        return (gw, gb) if ok else None

    parts = jit.split(m, part, xhat.nbytes, jit.ROWS_SPLIT_BYTES)
    if parts is None:
        return None
    n = ctx._needs
    gw = gb = None
    if n[1]:
        gw = sum(p[0] for p in parts).astype(dt).reshape(w.shape)
    if n[2]:
        gb = sum(p[1] for p in parts).astype(dt).reshape(ctx.bshape_b)
    gx = gx.reshape(g.shape) if n[0] else None
    return gx, gw, gb, None, None, None, None, None


def _row_forward(ctx, x, w, b, eps, centre, m, d):
    """Layer/RMS norm of (m, d) rows: the row sums as matrix-vector products, the sums of
    squares as row dot products. With a weight, y = xc * (invstd outer w) + b: the outer
    product is a GEMM (``_outer``), so one flat multiply replaces two broadcast ones, whose
    per-row loops cost twice a flat pass (1024 x 256 float32: 58-64 us against 26-38), and the
    backward works from the centred rows and invstd. Forward on BERT's 8 x 128 x 256 float32
    rows, one thread: 277 -> 202 us (2026-12-05; torch 59 on two threads)."""
    if centre and m * d >= _JIT_MIN:
        y = _row_forward_jit(ctx, x, w, b, eps, m, d)
        if y is not None:
            return y
    dt = x.dtype.type
    x2 = x.reshape(m, d)
    k = dt(1.0 / d)
    if centre:
        xc = x2 - (x2 @ _blas_ones(d, x.dtype) * k)[:, None]
    else:
        xc = x2
    var = _row_dots(xc, xc) * k
    var += dt(eps)
    invstd = np.sqrt(var, out=var)
    np.divide(1.0, invstd, out=invstd)
    ctx.rows = (m, d)
    if w is not None and centre:
        y = _outer(invstd, w.reshape(d))
        y *= xc
        if b is not None:
            y += b.reshape(d)
        ctx.saved = (xc, invstd, w)
        ctx.centred = True  # saved[0] is x - mean, not xhat
        return y.reshape(x.shape)
    xhat = np.multiply(xc, invstd[:, None], out=xc if centre else None)
    if w is None:
        y = xhat if b is None else xhat + b.reshape(d)
    else:
        y = xhat * w.reshape(d)
        if b is not None:
            y += b.reshape(d)
    ctx.saved = (xhat, invstd, w)
    ctx.centred = False
    return y.reshape(x.shape)


def _row_backward(ctx, g):
    """The row-wise norm's backward: gx = (g w - mean(g w) - xhat mean(g w xhat)) * invstd,
    the row means as matrix-vector products with w. From the centred rows xc (xhat = xc *
    invstd): g * xc serves the weight's gradient and mean(g w xhat), and gx = g * (invstd outer
    w) - xc * (invstd^3 mean(g w xc)) - invstd mean(g w), four passes and two broadcasts. BERT's
    rows: 376 -> 317 us. From xhat (no weight, or RMS norm): six passes."""
    if ctx.__dict__.get("jit"):
        r = _row_backward_jit(ctx, g)
        if r is not None:
            return r
    a, invstd, w = ctx.saved
    m, d = ctx.rows
    n = ctx._needs
    g2 = g.reshape(m, d)
    if g2.dtype != a.dtype:
        g2 = g2.astype(a.dtype)
    gw = gb = gx = None
    k = a.dtype.type(1.0 / d)
    if n[2]:
        gb = (_blas_ones(m, a.dtype) @ g2).reshape(ctx.bshape_b)
    if ctx.centred:
        pxc = g2 * a if n[1] or n[0] else None
        if n[1]:
            gw = (invstd @ pxc).reshape(w.shape)
        if n[0]:
            wv = w.reshape(d)
            alpha = pxc @ wv  # times invstd^3 / d, the bounded factor first
            alpha *= invstd
            alpha *= k
            alpha *= invstd
            alpha *= invstd
            beta = g2 @ wv
            beta *= invstd
            beta *= k
            gx = _outer(invstd, wv)
            gx *= g2
            np.multiply(a, alpha[:, None], out=pxc)
            gx -= pxc
            gx -= beta[:, None]
            gx = gx.reshape(g.shape)
        return gx, gw, gb, None, None, None, None, None
    xhat = a
    gxh = None
    if n[1] or n[0]:
        gxh = g2 * xhat
    if n[1]:
        gw = (_blas_ones(m, xhat.dtype) @ gxh).reshape(w.shape)
    if n[0]:
        wv = _blas_ones(d, xhat.dtype) if w is None else w.reshape(d)
        s2 = gxh @ wv
        s2 *= k
        gx = g2 * wv if w is not None else g2.copy()
        if ctx.centre:
            c1 = g2 @ wv
            c1 *= k
            gx -= c1[:, None]
        np.multiply(xhat, s2[:, None], out=gxh)
        gx -= gxh
        gx *= invstd[:, None]
        gx = gx.reshape(g.shape)
    return gx, gw, gb, None, None, None, None, None


def _normalized(x, axes, eps, centre: bool):
    """(x - mean) / sqrt(var + eps) over ``axes`` (x / sqrt(mean(x^2) + eps) without
    ``centre``) in differentiable Tensor ops: the norms' forward for create_graph=True."""
    xc = x - x.mean(axes, keepdim=True) if centre else x
    return xc * ((xc * xc).mean(axes, keepdim=True) + eps).rsqrt()


def _affine(y, w, b, shape):
    if w is not None:
        y = y * w.reshape(shape)
    return y if b is None else y + b.reshape(shape)


class _Norm(Op):
    """y = (x - mean) / sqrt(var + eps) * w + b over ``axes``; w/b reshaped to ``bshape``;
    with ``centre`` False, y = x / sqrt(mean(x^2) + eps) * w + b (RMS norm)."""

    save_in = (0,)  # x, as torch's layer norm saves it, and for create_graph=True
    higher_order = True  # create_graph=True: the forward again in Tensor ops, differentiated

    @staticmethod
    def forward(ctx, x, w, b, axes, eps, bshape, stats, centre=True):
        ctx.centre = centre
        ctx.rows = None
        if stats is None:
            md = _rows(x, w, b, axes, bshape)
            if md is not None:
                return _row_forward(ctx, x, w, b, eps, centre, *md)
        xp = xp_of(x)
        cnt = 1
        for a in axes:
            cnt *= x.shape[a]
        k = x.dtype.type(1.0 / max(cnt, 1))
        if centre:
            mean = rsum(x, axes) * k
            xhat = x - mean
            var = rsum(xhat * xhat, axes) * k
            invstd = 1.0 / xp.sqrt(var + x.dtype.type(eps))
            xhat *= invstd
        else:  # RMS norm: the mean square in place of the variance, nothing subtracted
            mean = None
            var = rsum(x * x, axes) * k
            invstd = 1.0 / xp.sqrt(var + x.dtype.type(eps))
            xhat = x * invstd
        if stats is not None:
            stats.append((mean, var))
        y = xhat
        if w is not None:
            y = y * w.reshape(bshape)
        if b is not None:
            y = y + b.reshape(bshape) if y is xhat else y.__iadd__(b.reshape(bshape))
        ctx.saved = (xhat, invstd, w)
        ctx.centre = centre
        ctx.axes = axes
        ctx.bshape = bshape
        return y

    @staticmethod
    def backward(ctx, g):
        if isinstance(g, Tensor):  # create_graph=True
            return _bw.regrad(
                ctx,
                lambda x, w, b, axes, eps, bshape, stats, centre=True: _affine(
                    _normalized(x, axes, eps, centre), w, b, bshape
                ),
                g,
            )
        if ctx.rows is not None:
            return _row_backward(ctx, g)
        xhat, invstd, w = ctx.saved
        axes = ctx.axes
        n = ctx._needs
        bshape = ctx.bshape
        cnt = 1
        for a in axes:
            cnt *= xhat.shape[a]
        gw = gb = gx = None
        raxes = None
        if n[1] or n[2]:
            nd = xhat.ndim
            pad = nd - len(bshape)
            full = (1,) * pad + tuple(bshape)
            raxes = tuple(i for i in range(nd) if full[i] == 1 and xhat.shape[i] != 1)
        if n[1]:
            gw = rsum(g * xhat, raxes, False).reshape(w.shape)
        if n[2]:
            gb = rsum(g, raxes, False).reshape(ctx.bshape_b)
        if n[0]:
            gxh = g * w.reshape(bshape) if w is not None else g
            s2 = rsum(gxh * xhat, axes)
            k = xhat.dtype.type(1.0 / cnt)
            if ctx.centre:
                gx = gxh - rsum(gxh, axes) * k
                gx -= xhat * (s2 * k)
            else:
                gx = gxh - xhat * (s2 * k)
            gx *= invstd
        return gx, gw, gb, None, None, None, None, None


def normalize_over(x: Tensor, w, b, axes, eps, bshape, stats=None, centre=True) -> Tensor:
    """The _Norm op over ``axes``; the batch statistics are appended to ``stats`` if given;
    ``centre=False`` is the RMS norm (no mean subtracted, the mean square for the variance)."""
    out = _Norm.apply(x, w, b, tuple(axes), eps, tuple(bshape), stats, centre)
    node = out.grad_fn
    if node is not None and b is not None:
        node.bshape_b = b.shape
    return out


# --- training batch norm --------------------------------------------------------------------
# one block of images, about one L2: 256 KiB blocks (well inside L2) measured slower, each
# block's several short NumPy calls costing more than the cache misses they avoid (training
# forward+backward, 64x16x32x32: 3.4 -> 2.7 ms; 64x64x16x16: 2.8 -> 2.1 ms)
_BLOCK_BYTES = 1 << 20


def eligible(x, w, b) -> bool:
    """Whether BatchNormTrain takes these arrays (C-contiguous float NumPy, >= 3-d)."""
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


# images whose channels have fewer positions than this (a ResNet's last stages: 4x4, 2x2) are
# summed over the images first (one matrix-vector product over (m, C*P) rows) and then over the
# positions; larger ones over each channel's row of positions first. Sums of g and g * x, one
# thread (ms, rows -> images): 64x512x2x2 0.50 -> 0.07, 64x256x4x4 0.54 -> 0.26, 64x128x8x8
# 0.23 vs 0.25, 64x64x16x16 0.46 vs 0.64 (rows of 256 win).
_SHORT_ROWS = 64


def _csum(blk):
    """Per-channel sums of a C-contiguous (m, C, P) block on the BLAS, as matrix-vector
    products (measured 1.6-4x faster than ``sum(axis=(0, 2))``)."""
    m, c, p = blk.shape
    if p < _SHORT_ROWS:
        return (_blas_ones(m, blk.dtype) @ blk.reshape(m, -1)).reshape(c, p).sum(1)
    return (blk.reshape(-1, p) @ _blas_ones(p, blk.dtype)).reshape(m, c).sum(0)


def _per_position(v, p: int):
    """A per-channel vector (C,) repeated over the P positions, C-contiguous (C, P): with it
    the per-channel passes over (m, C, P) blocks run one contiguous inner loop instead of a
    (C, 1) column's loops of P (64x512x2x2, g * a + x * b + c: 0.45 -> 0.08 ms; 64x64x32x32:
    2.8 -> 2.0 ms)."""
    return np.repeat(v.reshape(-1, 1), p, axis=1)


def batch_norm_eval(x, scale, shift):
    """y = x * scale + shift per channel (dim 1) of a C-contiguous NumPy (N, C, *) array, with
    no gradient: evaluation-mode batch norm as one pass of memory traffic, in cache-sized blocks
    split over ember's threads (two single-threaded passes and a temporary before)."""
    n, c = x.shape[:2]
    x3 = x.reshape(n, c, -1)
    y = np.empty_like(x3)
    step = _blocks(x3)
    scol = _per_position(scale, x3.shape[2])
    bcol = _per_position(shift, x3.shape[2])

    def run(lo, hi):
        for a in range(lo, hi, step):
            e = min(a + step, hi)
            np.multiply(x3[a:e], scol, out=y[a:e])
            y[a:e] += bcol

    prange(n, run, x.nbytes)
    return y.reshape(x.shape)


# the one-pass statistics (var = E[x^2] - mean^2) are used where mean^2 <= 4 var: there the
# float32 cancellation costs at most a few parts in 10^6 of var; above it (data far from zero
# mean) the two-pass centred form runs, as torch's
_ONE_PASS_SPREAD = 4.0


def _rowdots(a2, b2):
    """Per-row dot products of two C-contiguous (rows, P) arrays: NumPy's stacked matmul (the
    BLAS's dot per row), about 2x faster than a product pass and a sum."""
    return np.matmul(a2[:, None, :], b2[:, :, None]).reshape(-1)


# The sums stream their rows through the BLAS, so each thread takes its whole part in one
# block (fewer calls; the L2-sized blocks above serve the passes that write). Both sums of a
# forward and a backward, two threads, 1 MiB blocks -> whole parts (ms): 32x96x32x32 2.35 ->
# 1.36, 64x16x32x32 0.63 -> 0.39, 64x64x16x16 0.49 -> 0.39, 64x128x8x8 0.29 -> 0.25; smaller
# maps unchanged.
_SUM_BLOCK_BYTES = 1 << 30
# and on one thread below 8 MiB, where the hand-over costs more than the second thread gives:
# one thread vs two, both sums of a backward / of a forward (ms): 64x32x16x16 0.095 vs 0.145 /
# 0.080 vs 0.107, 64x128x8x8 0.117 vs 0.175, 64x16x32x32 0.167 vs 0.185 / 0.124 vs 0.152;
# 64x64x32x32 (16 MiB) 0.82 vs 0.40
_SUM_THREADS_BYTES = 8 << 20


def _channel_sums(x3, g3=None):
    """Per-channel (sum, sum of squares) of x3, or (sum of g3, sum of g3 * x3) when ``g3`` is
    given, in float64 from blocks on ember's threads (each block's rows summed on the BLAS)."""
    n, c, p = x3.shape
    step = max(1, _SUM_BLOCK_BYTES // (x3[0].nbytes or 1))
    ones = _blas_ones(p, x3.dtype)
    first = x3 if g3 is None else g3

    def over_images(lo, hi):  # short rows (see _SHORT_ROWS): per position, then per channel
        rows = min(step, hi - lo)  # step alone can be far more images than the batch holds
        ones_m = _blas_ones(rows, x3.dtype)
        s = np.zeros(c * p)
        q = np.zeros(c * p)
        tmp = np.empty((rows, c * p), x3.dtype)
        for a in range(lo, hi, step):
            e = min(a + step, hi)
            f2 = first[a:e].reshape(e - a, -1)
            s += ones_m[: e - a] @ f2
            q += ones_m[: e - a] @ np.multiply(f2, x3[a:e].reshape(e - a, -1), out=tmp[: e - a])
        return s.reshape(c, p).sum(1), q.reshape(c, p).sum(1)

    def run(lo, hi):
        s = np.zeros(c)
        q = np.zeros(c)
        for a in range(lo, hi, step):
            e = min(a + step, hi)
            f2 = first[a:e].reshape(-1, p)
            s += (f2 @ ones).reshape(e - a, c).sum(0, dtype=np.float64)
            q += _rowdots(f2, x3[a:e].reshape(-1, p)).reshape(e - a, c).sum(0, dtype=np.float64)
        return s, q

    fn = over_images if p < _SHORT_ROWS else run
    with blas.single_threaded():  # ember's threads split the batch; each sum on one
        if x3.nbytes < _SUM_THREADS_BYTES:
            return fn(0, n)
        parts = prange(n, fn, x3.nbytes)
    return sum(q[0] for q in parts), sum(q[1] for q in parts)


@jit.kernel
def _bn_combine_loop(g, x, a, b, c, out):
    """``_combine`` in one loop over C-contiguous (N, C, P) arrays, with the per-channel
    vectors a, b, c: out = (g * a + x * b) + c, the NumPy blocks' operations in their order
    (the same bits) in one pass where they make four. The small ResNet's 64 x 32 x 16 x 16
    batch-norm input gradient, two threads: 0.31 -> 0.12 ms (2026-12-05). Run only where Numba
    is loaded already (a MobileNet's depthwise convolutions, a transformer's loops): loading it
    for this alone added ~110 MB to the small ResNet's peak memory for 1% of its step."""
    n, ch, p = g.shape
    for i in range(n):
        for k in range(ch):
            ak = a[k]
            bk = b[k]
            ck = c[k]
            for j in range(p):
                out[i, k, j] = g[i, k, j] * ak + x[i, k, j] * bk + ck


def _combine(g3, x3, a, b, c):
    """g3 * a + x3 * b + c per channel (vectors of C values) of C-contiguous (N, C, P) arrays
    (the batch-norm input gradient, expanded): the compiled loop where Numba is loaded, else
    NumPy passes in cache-sized blocks; both on ember's threads."""
    out = np.empty_like(x3)
    if jit.loaded() and x3.size >= _JIT_MIN and g3.dtype == x3.dtype and g3.flags.c_contiguous:

        def loop(lo, hi):
            return _bn_combine_loop.run(g3[lo:hi], x3[lo:hi], a, b, c, out[lo:hi])

        if jit.split(x3.shape[0], loop, x3.nbytes) is not None:
            return out
    p = x3.shape[2]
    acol, bcol, ccol = (_per_position(v, p) for v in (a, b, c))
    step = _blocks(x3)

    def run(lo, hi):
        tmp = np.empty_like(x3[:step])
        for a0 in range(lo, hi, step):
            e = min(a0 + step, hi)
            o = out[a0:e]
            np.multiply(g3[a0:e], acol, out=o)
            o += np.multiply(x3[a0:e], bcol, out=tmp[: e - a0])
            o += ccol

    prange(x3.shape[0], run, x3.nbytes)
    return out


class BatchNormTrain(Op):
    """y = (x - mean) / sqrt(var + eps) * w + b with the batch's per-channel statistics.

    Where the batch's mean is within two standard deviations of zero (``_ONE_PASS_SPREAD``; as
    for activations and convolution outputs), one read of x gives each channel's sum and sum of
    squares, y = x * alpha + beta (torch's form: alpha = w / sqrt(var + eps), beta = b - mean *
    alpha) is a second, and backward reads x again (saved, version-checked) for the sums of
    g and g * x: no centred copy of x is written. Measured against the two-pass form (float32,
    forward / backward): 32x96x32x32 4.0 -> 2.5 ms / 4.5 -> 3.9 ms (torch 2.3-2.7 forward),
    64x64x16x16 1.4 -> 0.7 ms / 1.7 -> 0.8 ms.
    Elsewhere the two-pass centred form runs, keeping the centred copy for backward."""

    save_in = (0,)
    higher_order = True  # create_graph=True: the forward again in Tensor ops, differentiated

    def name(self) -> str:
        return "NativeBatchNormBackward0"

    @staticmethod
    def forward(ctx, x, w, b, eps, stats):
        n, c = x.shape[:2]
        x3 = x.reshape(n, c, -1)
        cnt = x3.shape[0] * x3.shape[2]
        total, squares = _channel_sums(x3)
        mean64 = total / cnt
        var64 = squares / cnt - mean64 * mean64
        if not np.all(mean64 * mean64 <= _ONE_PASS_SPREAD * var64):  # also catches NaN/inf
            return BatchNormTrain._centred(ctx, x, x3, w, b, eps, stats)
        dt = x.dtype.type
        mean = mean64.astype(x.dtype)
        var = var64.astype(x.dtype)
        invstd = 1.0 / np.sqrt(var + dt(eps))
        alpha = invstd if w is None else invstd * w
        beta = -mean * alpha if b is None else b - mean * alpha
        y = batch_norm_eval(x, alpha, beta)  # the same one pass: x * alpha + beta
        if stats is not None:
            stats.append((mean, var))
        ctx.saved = (None, x3, mean64, invstd, w)
        ctx.shape = x.shape
        return y

    @staticmethod
    def _centred(ctx, x, x3, w, b, eps, stats):
        """The two-pass form: the mean, then the centred copy and its sum of squares."""
        n, c = x.shape[:2]
        cnt = x3.shape[0] * x3.shape[2]
        dt = x.dtype.type
        step = _blocks(x3)

        def total(lo, hi):
            return sum(_csum(x3[a : min(a + step, hi)]) for a in range(lo, hi, step))

        with blas.single_threaded():  # ember's threads split the batch; each sum on one
            parts = prange(n, total, x.nbytes)
        mean = add_parts(parts) * dt(1.0 / cnt)
        mcol = _per_position(mean, x3.shape[2])
        xc = np.empty_like(x3)

        def centre(lo, hi):
            s = np.zeros(c, x.dtype)
            tmp = np.empty_like(x3[:step])
            for a in range(lo, hi, step):
                e = min(a + step, hi)
                blk = xc[a:e]
                np.subtract(x3[a:e], mcol, out=blk)
                s += _csum(np.square(blk, out=tmp[: e - a]))
            return s

        with blas.single_threaded():
            parts = prange(n, centre, x.nbytes)
        var = add_parts(parts) * dt(1.0 / cnt)
        invstd = 1.0 / np.sqrt(var + dt(eps))
        scale = invstd if w is None else invstd * w
        y = batch_norm_eval(xc, scale, np.zeros(c, x.dtype) if b is None else b)
        if stats is not None:
            stats.append((mean, var))
        ctx.saved = (xc, None, None, invstd, w)
        ctx.shape = x.shape
        return y.reshape(x.shape)

    @staticmethod
    def backward(ctx, g):
        if isinstance(g, Tensor):  # create_graph=True; the running statistics are not touched
            return _bw.regrad(
                ctx,
                lambda x, w, b, eps, stats: _affine(
                    _normalized(x, (0,) + tuple(range(2, x.ndim)), eps, True),
                    w,
                    b,
                    (1, -1) + (1,) * (x.ndim - 2),
                ),
                g,
            )
        xc, x3, mean64, invstd, w = ctx.saved
        if xc is None:
            return BatchNormTrain._backward_from_x(ctx, g, x3, mean64, invstd, w)
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
                sg += _csum(g3[a:e])
                sgx += _csum(np.multiply(g3[a:e], xc[a:e], out=tmp[: e - a]))
            return sg, sgx

        with blas.single_threaded():
            parts = prange(n, sums, xc.nbytes)
        sg = add_parts([q[0] for q in parts])
        sgx = add_parts([q[1] for q in parts])
        gw = (sgx * invstd).astype(xc.dtype, copy=False) if nd[1] else None
        gb = sg if nd[2] else None
        gx = None
        if nd[0]:
            # gx = A*g + B*xc + C per channel (the batch-norm input gradient, expanded)
            a_ = invstd if w is None else invstd * w
            k = dt(1.0 / cnt)
            bv = -a_ * invstd * invstd * sgx * k
            gx = _combine(g3, xc, a_, bv, -a_ * sg * k).reshape(ctx.shape)
        return gx, gw, gb, None, None

    @staticmethod
    def _backward_from_x(ctx, g, x3, mean64, invstd, w):
        """Backward of the one-pass form: the sums of g and g * x in one read of each, then
        gx = A g + B x + C per channel (C holding B's share of the mean)."""
        nd = ctx._needs
        n, c, p = x3.shape
        cnt = n * p
        dt = x3.dtype
        g3 = np.ascontiguousarray(g).reshape(n, c, p)
        sg64, sgx64 = _channel_sums(x3, g3)
        sgx64 -= mean64 * sg64  # the sum of g * (x - mean)
        sg = sg64.astype(dt)
        gw = (sgx64 * invstd).astype(dt) if nd[1] else None
        gb = sg if nd[2] else None
        gx = None
        if nd[0]:
            a64 = invstd.astype(np.float64) if w is None else (invstd * w).astype(np.float64)
            i64 = invstd.astype(np.float64)
            b64 = -a64 * i64 * i64 * sgx64 / cnt
            cv = (-a64 * sg64 / cnt - b64 * mean64).astype(dt)
            gx = _combine(g3, x3, a64.astype(dt), b64.astype(dt), cv).reshape(ctx.shape)
        return gx, gw, gb, None, None
