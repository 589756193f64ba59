"""Depthwise 2-D convolution (``groups == in_channels``, any channel multiplier), NumPy or
CuPy.

NumPy: one image at a time on flat slabs, as ``conv_flat``. The zero-padded image, split into
its stride phases and flattened per channel, gives each tap's outputs as one contiguous slab
per channel (with a few junk columns per row that the output drops); the KH*KW slabs are copied
into columns (C, T, OH*Wq) and one batched product (C, m, T) @ (C, T, OH*Wq) gives the image's
output. Why not a multiply-add pass per tap: NumPy's multiply by a per-channel weight
broadcast along the rows runs ~3x slower than a copy, and the passes take twice the taps;
a copy per tap and one product move less (measured below). The weight gradient is the output
gradient (C, m, span) @ columns^T; each input phase's gradient is one product of its taps'
weights with the output gradient's slabs read back from the taps' offsets (the adjoint of the
forward's reads: no scatter-adds). The batch is split over ember's threads (``pblocks``, a
one-thread BLAS each); the weight gradient's parts are summed.

NumPy with Numba (the jit extra), float32/float64: the same phase slabs, but per image and
channel one compiled loop computes the whole (OH, Wq) grid from the taps' slabs (a 3x3 kernel's
nine products in one expression), where the batched product above makes one BLAS call per
channel on a 1 x 9 matrix and its columns are nine copies of the input. The input gradient is
the adjoint of the slab reads, the weight gradient one loop of nine dot products. Measured
(2026-12-05, 2-core EPYC, 32 images, float32, two threads, best of two runs, forward / forward +
both gradients, ms): 96 channels on 32x32 1.0 / 3.3 against 4.2 / 13.1 with the products, the
same with stride 2 0.8 / 2.7 against 2.7 / 8.7, 192 channels on 16x16 0.6 / 2.0 against 2.8 /
7.1; the MobileNet-style training step (benchmarks/bench_depthwise.py) 82 -> 63 ms, torch's
69-83 (peak memory 295 -> 385 MB: the first depthwise convolution loads Numba; torch's 586).

Output planes of a few positions (``_CL_POSITIONS``: a MobileNet's last layers, 2x2 to 5x5 with
hundreds of channels) run channels last instead, one loop over all channels per output position
and tap: 960 channels on 2x2, forward + both gradients, 5.1 ms on the phase slabs (5.4 with the
products) -> 1.1 ms. MobileNetV2 (``ember.vision.models``) on 32 64x64 images then trains at
138-145 ms a step, 212 on NumPy alone (torchvision's on torch 2.14.1: 148-235).

The ResNet-style stack's elementwise passes stay NumPy for Numba's ~110 MB: there compiled
loops gained a few percent of a step.

CuPy: a sum over the kernel's taps of shifted views of the input (one multiply-add pass per
(tap, multiplier)); the input gradient scatters the same products back (any stride, padding
and dilation); the weight gradient is one per-channel dot product per (tap, multiplier).

The output channel ``c*m + j`` reads input channel ``c`` (torch's order).
"""

from __future__ import annotations

import numpy as np

from .._backend.cpu import jit
from .._backend.cpu.threads import add_parts, pblocks, prange, workspace
from .._backend.xp import xp_of
from .conv_flat import flipped_pads, phase_taps, run_phase_plan, tap_grid


def eligible(x, w, g: int) -> bool:
    """Whether the direct kernels serve this convolution: 2-d, float, one input channel per
    group (so ``groups == in_channels``), more than one group."""
    return (
        x.ndim == 4
        and g > 1
        and x.shape[1] == g
        and w.shape[1] == 1
        and x.dtype.kind == "f"
        and w.dtype == x.dtype
    )


def _geometry(xshape, wshape, s, pads, d):
    n, c, h, w_ = xshape
    kh, kw = wshape[2:]
    hp = h + pads[0][0] + pads[0][1]
    wp = w_ + pads[1][0] + pads[1][1]
    oh = (hp - d[0] * (kh - 1) - 1) // s[0] + 1
    ow = (wp - d[1] * (kw - 1) - 1) // s[1] + 1
    return n, c, wshape[0] // c, kh, kw, hp, wp, oh, ow


_BLOCK_BYTES = 512 << 10  # a block of images' output: stays in L2 across the taps' passes


def _pad(x, pads, hp, wp, extra=0):
    """x zero-padded to (N, C, hp + extra, wp) (``extra`` rows below for the flat views)."""
    if hp == x.shape[2] and wp == x.shape[3] and not extra:
        return x
    xp = xp_of(x)
    out = xp.zeros(x.shape[:2] + (hp + extra, wp), x.dtype)
    out[:, :, pads[0][0] : pads[0][0] + x.shape[2], pads[1][0] : pads[1][0] + x.shape[3]] = x
    return out


def _taps(kh, kw, s, d, oh, ow) -> list:
    """[(i, j, row slice, column slice)]: the padded-input positions each tap reads."""
    return [
        (
            i,
            j,
            slice(i * d[0], i * d[0] + s[0] * (oh - 1) + 1, s[0]),
            slice(j * d[1], j * d[1] + s[1] * (ow - 1) + 1, s[1]),
        )
        for i in range(kh)
        for j in range(kw)
    ]


def _blocks(xp, n: int, per_image: int, fn) -> list:
    """``fn(a, e)`` over blocks of images sized to stay in cache, the batch split over threads
    (NumPy); the parts' results, one per thread."""
    # a GPU takes the whole batch at once: blocks only add kernel launches there
    step = max(1, _BLOCK_BYTES // max(1, per_image)) if xp is np else max(1, n)

    def run(lo, hi):
        acc = None
        for a in range(lo, hi, step):
            r = fn(a, min(a + step, hi))
            if r is not None:
                acc = r if acc is None else acc + r
        return acc

    if xp is np:
        return prange(n, run, n * per_image * 8)
    return [run(0, n)]


def _correlate(src, w4, k, kh, kw, d, rows, wp, acc, tmp, first=True):
    """acc (B, C, rows*wp) += sum over taps of the flat padded ``src`` (B, C, L) shifted by
    each tap, times multiplier ``k``'s weight: a stride-1 correlation on a grid ``wp`` wide
    (the last columns of each row are junk the caller drops)."""
    xp = xp_of(src)
    c = src.shape[1]
    span = rows * wp
    for i in range(kh):
        for j in range(kw):
            off = i * d[0] * wp + j * d[1]
            v = src[:, :, off : off + span]
            wt = w4[:, k, i, j].reshape(c, 1)
            if first:
                xp.multiply(v, wt, out=acc)
                first = False
            else:
                xp.multiply(v, wt, out=tmp)
                acc += tmp


def _forward_xp(x, w, b, s, pads, d):
    """Output (N, C*m, OH, OW) of x (N, C, H, W) and w (C*m, 1, KH, KW): the tap-by-tap
    passes (CuPy)."""
    xp = xp_of(x)
    n, c, m, kh, kw, hp, wp, oh, ow = _geometry(x.shape, w.shape, s, pads, d)
    flat = s == (1, 1)
    xpad = _pad(x, pads, hp, wp, extra=1 if flat else 0)
    w4 = w.reshape(c, m, kh, kw)
    out = xp.empty((n, c * m, oh, ow), x.dtype)
    o5 = out.reshape(n, c, m, oh, ow)
    taps = _taps(kh, kw, s, d, oh, ow)
    bb = None if b is None else b.reshape(c, m)
    gw_ = wp if flat else ow

    def run(a, e):
        acc = xp.empty((e - a, c, oh * gw_), x.dtype)
        tmp = xp.empty_like(acc)
        for k in range(m):
            if flat:
                src = xpad[a:e].reshape(e - a, c, -1)
                _correlate(src, w4, k, kh, kw, d, oh, wp, acc, tmp)
            else:
                a4 = acc.reshape(e - a, c, oh, ow)
                t4 = tmp.reshape(e - a, c, oh, ow)
                for t, (i, j, si, sj) in enumerate(taps):
                    wt = w4[:, k, i, j].reshape(c, 1, 1)
                    if t == 0:
                        xp.multiply(xpad[a:e, :, si, sj], wt, out=a4)
                    else:
                        xp.multiply(xpad[a:e, :, si, sj], wt, out=t4)
                        a4 += t4
            res = acc.reshape(e - a, c, oh, gw_)[:, :, :, :ow]
            if bb is None:
                o5[a:e, :, k] = res
            else:
                xp.add(res, bb[:, k].reshape(c, 1, 1), out=o5[a:e, :, k])

    _blocks(xp, n, c * oh * gw_ * x.itemsize, run)
    return out


def _backward_xp(gy, x, w, s, pads, d, needs):
    """(grad_input, grad_weight, grad_bias) of ``_forward_xp`` (CuPy); None where ``needs`` is
    False. The input gradient of a stride-1 convolution is the padded output gradient
    correlated with the flipped kernel (flat views, as the forward); otherwise each tap's
    products are added back into the padded input gradient through strided views."""
    xp = xp_of(gy)
    n, c, m, kh, kw, hp, wp, oh, ow = _geometry(x.shape, w.shape, s, pads, d)
    h, w_ = x.shape[2:]
    nx, nw, nb = needs[0], needs[1], needs[2]
    g5 = gy.reshape(n, c, m, oh, ow)
    w4 = w.reshape(c, m, kh, kw)
    taps = _taps(kh, kw, s, d, oh, ow)
    xpad = _pad(x, pads, hp, wp) if nw else None
    gp = flipped_pads(kh, kw, s, pads, d) if nx else None
    direct = gp is not None
    gx = gxp = gyp = wf = None
    if direct:
        gwp = ow + gp[1][0] + gp[1][1]
        gyp = _pad(gy, gp, oh + gp[0][0] + gp[0][1], gwp, extra=1)
        gyp = gyp.reshape(n, c, m, -1)
        wf = w4[:, :, ::-1, ::-1]
        gx = xp.empty(x.shape, x.dtype)
    elif nx:
        gxp = xp.zeros((n, c, hp, wp), x.dtype)

    def run(a, e):
        gw = xp.zeros((c, m, kh, kw), x.dtype) if nw else None
        tmp = xp.empty((e - a, c, oh, ow), x.dtype)
        for k in range(m):
            gk = g5[a:e, :, k]
            if nw:
                for i, j, si, sj in taps:
                    gw[:, k, i, j] = xp.einsum("nchw,nchw->c", xpad[a:e, :, si, sj], gk)
            if nx and not direct:
                for i, j, si, sj in taps:
                    xp.multiply(gk, w4[:, k, i, j].reshape(c, 1, 1), out=tmp)
                    gxp[a:e, :, si, sj] += tmp
        if direct:
            acc = xp.empty((e - a, c, h * gwp), x.dtype)
            t2 = xp.empty_like(acc)
            for k in range(m):
                _correlate(gyp[a:e, :, k], wf, k, kh, kw, d, h, gwp, acc, t2, first=k == 0)
            gx[a:e] = acc.reshape(e - a, c, h, gwp)[:, :, :, :w_]
        return gw

    parts = _blocks(xp, n, c * m * max(oh * ow, h * wp) * x.itemsize, run)
    gw = gb = None
    if nx and not direct:
        gx = xp.ascontiguousarray(
            gxp[:, :, pads[0][0] : pads[0][0] + h, pads[1][0] : pads[1][0] + w_]
        )
    if nw:
        gw = add_parts(parts).reshape(w.shape)
    if nb:
        gb = gy.sum((0, 2, 3))
    return gx, gw, gb


# ---------------------------------------------------------------------------------------------
# NumPy: one image at a time, columns over flat phase slabs, one batched product per image


class _Geo:
    """Shapes of one depthwise convolution on the phase grid (as ``conv_flat``'s): the padded
    image split into its s0*s1 phases, each flattened per channel to ``r`` numbers; tap t reads
    ``span`` = OH*Wq numbers of phase ``taps[t][0]`` from offset ``taps[t][1]``."""

    def __init__(self, xshape, wshape, s, pads, d):
        self.n, self.c, self.h, self.w = xshape
        self.m = wshape[0] // self.c
        self.kh, self.kw = wshape[2:]
        self.s, self.pads = s, pads
        self.d = d
        self.hp = hp = self.h + pads[0][0] + pads[0][1]
        self.wp = wp = self.w + pads[1][0] + pads[1][1]
        self.oh = (hp - d[0] * (self.kh - 1) - 1) // s[0] + 1
        self.ow = (wp - d[1] * (self.kw - 1) - 1) // s[1] + 1
        self.hq = -(-hp // s[0])
        self.wq = -(-wp // s[1])
        self.span = self.oh * self.wq
        self.taps = phase_taps(self.kh, self.kw, s, d, self.wq)
        self.r = max(self.hq * self.wq, max(off for _, off in self.taps) + self.span)

    def places(self):
        """[(phase, first input row, first input column, phase row, phase column)] of the
        phases that hold input."""
        (pt, _), (pl, _) = self.pads
        s0, s1 = self.s
        out = []
        for a in range(s0):
            for b in range(s1):
                r0, c0 = (a - pt) % s0, (b - pl) % s1
                if r0 < self.h and c0 < self.w:
                    out.append((a * s1 + b, r0, c0, (r0 + pt) // s0, (c0 + pl) // s1))
        return out


class _Slabs:
    """One thread's phase buffer (C, S, r) and columns (C, T, span) for a geometry, with the
    views each image's copies use, made once per call: the padding stays zero across images
    (no fill per image)."""

    def __init__(self, g: _Geo, dtype):
        s0, s1 = g.s
        self.buf = workspace("dw_x", (g.c, s0 * s1, g.r), dtype, np)
        self.buf.fill(0)
        grid = self.buf[:, :, : g.hq * g.wq].reshape(g.c, s0 * s1, g.hq, g.wq)
        self.places = []
        for p, r0, c0, q0, p0 in g.places():
            nr, nc = len(range(r0, g.h, s0)), len(range(c0, g.w, s1))
            dst = grid[:, p, q0 : q0 + nr, p0 : p0 + nc]
            self.places.append((dst, (slice(None), slice(r0, None, s0), slice(c0, None, s1))))
        self.cols = workspace("dw_cols", (g.c, len(g.taps), g.span), dtype, np)
        grid = tap_grid(self.buf[:, 0], g.taps, g.kh, g.kw, g.span)
        if grid is not None:  # stride 1: every tap in one copy
            cols = self.cols.reshape(g.c, g.kh, g.kw, g.span).transpose(1, 2, 0, 3)
            self.pairs = [(cols, grid)]
        else:
            self.pairs = [
                (self.cols[:, t], self.buf[:, p, off : off + g.span])
                for t, (p, off) in enumerate(g.taps)
            ]

    def columns(self, xi):
        """The columns of image ``xi`` (C, H, W)."""
        for dst, sl in self.places:
            np.copyto(dst, xi[sl])
        for dst, src in self.pairs:
            np.copyto(dst, src)
        return self.cols


# ---------------------------------------------------------------------------------------------
# NumPy with Numba (the jit extra): the same phase slabs, one compiled loop per image and channel


@jit.helper
def _phase_copy(plane, ph, into, h, w, s0, s1, pt, pl, hq, wq, r):
    """Between an image's channel ``plane`` (H, W) and its zero-padded phases ``ph`` (s0*s1
    grids hq x wq, ``r`` apart, flat): ``into`` copies the plane into the phases (their padding
    stays as it is), else the phases' input positions back into the plane."""
    su = np.uint64(s1)
    for a in range(s0):
        for b in range(s1):
            c0 = b - pl  # the input column of phase column 0
            lo = 0 if c0 >= 0 else (s1 - 1 - c0) // s1
            hi = min(wq, (w - 1 - c0) // s1 + 1) if w - 1 - c0 >= 0 else 0
            if hi <= lo:
                continue
            n = np.uint64(hi - lo)
            src = np.uint64(lo * s1 + c0)
            for qr in range(hq):
                row = qr * s0 + a - pt
                if row < 0 or row >= h:
                    continue
                # unsigned offsets: Numba then needs no negative-index test per element, and
                # LLVM vectorises the loop
                dst = np.uint64((a * s1 + b) * r + qr * wq + lo)
                if into:
                    for q in range(n):
                        ph[dst + q] = plane[row, src + q * su]
                else:
                    for q in range(n):
                        plane[row, src + q * su] = ph[dst + q]


@jit.helper
def _grid_copy(g, grid, front, oh, ow, wq):
    """An output gradient plane ``g`` (OH, OW) onto the flat (OH, Wq) ``grid`` from ``front`` on
    (its junk columns left as they are: zero)."""
    for i in range(oh):
        o = np.uint64(front + i * wq)
        for q in range(np.uint64(ow)):
            grid[o + q] = g[i, q]


@jit.helper
def _nine_taps(out, src, offs, w, n, add):
    """out[q] = (``add``: +=) the sum over a 3x3 kernel's taps t of w[t] * src[offs[t] + q], for
    q < n: the nine products in one expression, one pass (the generic loops make nine)."""
    w0, w1, w2, w3, w4, w5, w6, w7, w8 = w[0], w[1], w[2], w[3], w[4], w[5], w[6], w[7], w[8]
    o0, o1, o2, o3, o4 = offs[0], offs[1], offs[2], offs[3], offs[4]
    o5, o6, o7, o8 = offs[5], offs[6], offs[7], offs[8]
    for q in range(n):
        v = (
            w0 * src[o0 + q]
            + w1 * src[o1 + q]
            + w2 * src[o2 + q]
            + w3 * src[o3 + q]
            + w4 * src[o4 + q]
            + w5 * src[o5 + q]
            + w6 * src[o6 + q]
            + w7 * src[o7 + q]
            + w8 * src[o8 + q]
        )
        out[q] = out[q] + v if add else v


def _dw_forward_loop(x, w, b, has_bias, out, m, s0, s1, pt, pl, hq, wq, r, offs):
    """``forward`` of images x (B, C, H, W) into out (B, C*m, OH, OW), w (C*m, T), on the
    phases of ``_Geo`` (flat, ``r`` apart): tap t reads from ``offs[t]``. Per channel, its
    phases once; per output channel, the (OH, Wq) grid as one loop over the taps (a 3x3 kernel's
    nine in one expression), then its OW columns per row out, plus the bias."""
    nb, c, h, w_ = x.shape
    oh, ow = out.shape[2], out.shape[3]
    nt = offs.shape[0]
    span = np.uint64(oh * wq)
    ph = np.zeros(s0 * s1 * r, x.dtype)
    acc = np.empty(oh * wq, x.dtype)
    for n in range(nb):
        for ic in range(c):
            _phase_copy(x[n, ic], ph, True, h, w_, s0, s1, pt, pl, hq, wq, r)
            for k in range(m):
                oc = ic * m + k
                if nt == 9:
                    _nine_taps(acc, ph, offs, w[oc], span, False)
                else:
                    o = offs[0]
                    wv = w[oc, 0]
                    for q in range(span):
                        acc[q] = wv * ph[o + q]
                    for t in range(1, nt):
                        o = offs[t]
                        wv = w[oc, t]
                        for q in range(span):
                            acc[q] += wv * ph[o + q]
                bv = b[oc] if has_bias else b[0]
                for i in range(oh):
                    row = np.uint64(i * wq)
                    if has_bias:
                        for q in range(np.uint64(ow)):
                            out[n, oc, i, q] = acc[row + q] + bv
                    else:
                        for q in range(np.uint64(ow)):
                            out[n, oc, i, q] = acc[row + q]


def _dw_input_grad_loop(gy, w, gx, m, s0, s1, pt, pl, hq, wq, r, dst, src, front):
    """The input gradient gx (B, C, H, W) of ``_dw_forward_loop`` at gy (B, C*m, OH, OW): the
    adjoint of its slab reads. Each output channel's gradient on the (OH, Wq) grid after
    ``front`` zeros (the largest offset in a phase); position j of tap t's phase, which starts
    at ``dst[t]``, takes w[t] * grid[src[t] + j] (src = front - the tap's offset in its phase),
    for every position of the phase's grid at once; the phases then go back to the plane."""
    nb, c, h, w_ = gx.shape
    oh, ow = gy.shape[2], gy.shape[3]
    nt = dst.shape[0]
    ns = s0 * s1
    cells = np.uint64(hq * wq)
    grid = np.zeros(front + hq * wq, gy.dtype)  # junk columns and both ends stay zero
    gph = np.zeros(ns * r, gy.dtype)
    for n in range(nb):
        for ic in range(c):
            for q in range(np.uint64(ns * r)):
                gph[q] = 0
            for k in range(m):
                oc = ic * m + k
                _grid_copy(gy[n, oc], grid, front, oh, ow, wq)
                if nt == 9 and ns == 1:
                    _nine_taps(gph, grid, src, w[oc], cells, True)
                else:
                    for t in range(nt):
                        d = dst[t]
                        o = src[t]
                        wv = w[oc, t]
                        for q in range(cells):
                            gph[d + q] += wv * grid[o + q]
            _phase_copy(gx[n, ic], gph, False, h, w_, s0, s1, pt, pl, hq, wq, r)


def _dw_weight_grad_loop(gy, x, gw, m, s0, s1, pt, pl, hq, wq, r, offs):
    """gw (C*m, T) += the weight gradient of ``_dw_forward_loop`` over images x at gy: per
    channel its phases, per output channel its gradient on the (OH, Wq) grid (zero junk
    columns), and per tap the dot product of that grid with the tap's slab (a 3x3 kernel's nine
    in one loop). Compiled with reassociation, so that the sums vectorise."""
    nb, c, h, w_ = x.shape
    oh, ow = gy.shape[2], gy.shape[3]
    nt = offs.shape[0]
    span = np.uint64(oh * wq)
    ph = np.zeros(s0 * s1 * r, x.dtype)
    grid = np.zeros(oh * wq, x.dtype)
    zero = np.zeros(1, x.dtype)[0]
    for n in range(nb):
        for ic in range(c):
            _phase_copy(x[n, ic], ph, True, h, w_, s0, s1, pt, pl, hq, wq, r)
            for k in range(m):
                oc = ic * m + k
                _grid_copy(gy[n, oc], grid, 0, oh, ow, wq)
                if nt == 9:
                    o0, o1, o2, o3, o4 = offs[0], offs[1], offs[2], offs[3], offs[4]
                    o5, o6, o7, o8 = offs[5], offs[6], offs[7], offs[8]
                    a0 = a1 = a2 = a3 = a4 = a5 = a6 = a7 = a8 = zero
                    for q in range(span):
                        v = grid[q]
                        a0 += v * ph[o0 + q]
                        a1 += v * ph[o1 + q]
                        a2 += v * ph[o2 + q]
                        a3 += v * ph[o3 + q]
                        a4 += v * ph[o4 + q]
                        a5 += v * ph[o5 + q]
                        a6 += v * ph[o6 + q]
                        a7 += v * ph[o7 + q]
                        a8 += v * ph[o8 + q]
                    gw[oc, 0] += a0
                    gw[oc, 1] += a1
                    gw[oc, 2] += a2
                    gw[oc, 3] += a3
                    gw[oc, 4] += a4
                    gw[oc, 5] += a5
                    gw[oc, 6] += a6
                    gw[oc, 7] += a7
                    gw[oc, 8] += a8
                else:
                    for t in range(nt):
                        o = offs[t]
                        s = zero
                        for q in range(span):
                            s += grid[q] * ph[o + q]
                        gw[oc, t] += s


@jit.helper
def _channels_last(x, n, xp, pt, pl):
    """Image n of x (B, C, H, W) into the zero-padded channels-last ``xp`` (Hp, Wp, C), from
    row ``pt`` and column ``pl`` (its padding stays as it is)."""
    c, h, w = x.shape[1], x.shape[2], x.shape[3]
    for ic in range(c):
        for i in range(h):
            for j in range(w):
                xp[i + pt, j + pl, ic] = x[n, ic, i, j]


def _dw_forward_cl_loop(x, wt, b, has_bias, out, m, s0, s1, pt, pl, d0, d1, kh, kw, hp, wp):
    """``forward`` on small output planes (a few positions each, many channels: the late layers
    of a MobileNet), channels last: per image, the zero-padded image as (Hp, Wp, C), then per
    output position and tap one loop over every channel, wt (T, C*m) a tap's weights."""
    nb, c = x.shape[0], x.shape[1]
    oh, ow = out.shape[2], out.shape[3]
    co = c * m
    cu = np.uint64(co)
    xp = np.zeros((hp, wp, c), x.dtype)
    acc = np.empty(co, x.dtype)
    for n in range(nb):
        _channels_last(x, n, xp, pt, pl)
        for y in range(oh):
            for z in range(ow):
                for q in range(cu):
                    acc[q] = 0
                for i in range(kh):
                    r = y * s0 + i * d0
                    for j in range(kw):
                        t = i * kw + j
                        col = z * s1 + j * d1
                        if m == 1:
                            for q in range(cu):
                                acc[q] += wt[t, q] * xp[r, col, q]
                        else:
                            for q in range(co):
                                acc[q] += wt[t, q] * xp[r, col, q // m]
                for q in range(co):
                    out[n, q, y, z] = acc[q] + b[q] if has_bias else acc[q]


def _dw_backward_cl_loop(
    gy, x, wt, gx, gwt, need_x, need_w, m, s0, s1, pt, pl, d0, d1, kh, kw, hp, wp
):
    """The input gradient gx (when ``need_x``) and, added into gwt (T, C*m), the weight
    gradient (when ``need_w``) of ``_dw_forward_cl_loop`` at gy: per image the output gradient
    channels last, then per output position and tap one loop over the channels for each."""
    nb, c, h, w = x.shape
    oh, ow = gy.shape[2], gy.shape[3]
    co = c * m
    cu = np.uint64(co)
    xp = np.zeros((hp, wp, c), x.dtype)
    gxp = np.zeros((hp, wp, c), x.dtype)
    flat = gxp.reshape(-1)
    gt = np.empty((oh, ow, co), x.dtype)
    for n in range(nb):
        for q in range(co):
            for y in range(oh):
                for z in range(ow):
                    gt[y, z, q] = gy[n, q, y, z]
        if need_w:
            _channels_last(x, n, xp, pt, pl)
        if need_x:
            for k in range(flat.shape[0]):
                flat[k] = 0
        for y in range(oh):
            for z in range(ow):
                for i in range(kh):
                    r = y * s0 + i * d0
                    for j in range(kw):
                        t = i * kw + j
                        col = z * s1 + j * d1
                        if need_x and m == 1:
                            for q in range(cu):
                                gxp[r, col, q] += wt[t, q] * gt[y, z, q]
                        elif need_x:
                            for q in range(co):
                                gxp[r, col, q // m] += wt[t, q] * gt[y, z, q]
                        if need_w and m == 1:
                            for q in range(cu):
                                gwt[t, q] += gt[y, z, q] * xp[r, col, q]
                        elif need_w:
                            for q in range(co):
                                gwt[t, q] += gt[y, z, q] * xp[r, col, q // m]
        if need_x:
            for ic in range(c):
                for i in range(h):
                    for j in range(w):
                        gx[n, ic, i, j] = gxp[i + pt, j + pl, ic]


_FORWARD = jit.kernel(_dw_forward_loop)
_INPUT_GRAD = jit.kernel(_dw_input_grad_loop)
_WEIGHT_GRAD = jit.kernel(_dw_weight_grad_loop, reassoc=True)
_FORWARD_CL = jit.kernel(_dw_forward_cl_loop)
_BACKWARD_CL = jit.kernel(_dw_backward_cl_loop)
_JIT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))
# Output planes of at most this many positions run channels last: measured (2026-12-05, one
# thread, 32 images, float32, 3x3, forward, ms, channels last vs planes): 960 channels on 2x2
# 0.31 vs 1.59, 384 on 4x4 0.44 vs 0.86, 576 on 8x8 stride 2 0.38 vs 1.59, 192 on 5x5 0.32 vs
# 0.48, 192 on 6x6 0.47 vs 0.52, 320 on 7x7 1.17 vs 1.10, 960 on 7x7 5.45 vs 3.31, 192 on 8x8
# 0.88 vs 0.52 (per channel the plane loops pay a fixed cost that small planes do not cover)
_CL_POSITIONS = 36


def _kernel_args(g: _Geo) -> tuple:
    """The geometry arguments the loops share (m, strides, leading pads, phase grid and the
    phases' spacing), then each tap's flat offset in the phases, for the forward's reads."""
    offs = np.array([p * g.r + off for p, off in g.taps], np.uint64)
    return (g.m, g.s[0], g.s[1], g.pads[0][0], g.pads[1][0], g.hq, g.wq, g.r, offs)


def _adjoint_args(g: _Geo) -> tuple:
    """The input gradient's tap arguments: each tap's phase start, and the offset into the
    output gradient's grid (after ``front`` zeros) that its phase positions read; front."""
    front = max(off for _, off in g.taps)
    dst = np.array([p * g.r for p, _ in g.taps], np.uint64)
    src = np.array([front - off for _, off in g.taps], np.uint64)
    return dst, src, front


def _compiled(x, g: _Geo) -> bool:
    """Whether the compiled loops may serve: float32/float64, a non-empty batch and output,
    and Numba there (this loads it: ~110 MB once per process, see the module's notes)."""
    return x.dtype in _JIT_DTYPES and x.size > 0 and g.oh > 0 and g.ow > 0 and jit.available()


def _cl_args(g: _Geo) -> tuple:
    """The channels-last loops' geometry arguments."""
    return (g.m, g.s[0], g.s[1], g.pads[0][0], g.pads[1][0], g.d[0], g.d[1], g.kh, g.kw)


def _forward_jit(x, w, b, g: _Geo):
    """``forward`` by ``_dw_forward_loop`` (``_dw_forward_cl_loop`` for small output planes),
    the batch split over ember's threads; None where the loop cannot run."""
    x = np.ascontiguousarray(x)
    w2 = np.ascontiguousarray(w.reshape(g.c * g.m, -1))
    bb = np.zeros(1, x.dtype) if b is None else np.ascontiguousarray(b, x.dtype)
    out = np.empty((g.n, g.c * g.m, g.oh, g.ow), x.dtype)
    if g.oh * g.ow <= _CL_POSITIONS:
        wt = np.ascontiguousarray(w2.T)
        args = _cl_args(g) + (g.hp, g.wp)

        def part(lo, hi):
            return _FORWARD_CL.run(x[lo:hi], wt, bb, b is not None, out[lo:hi], *args)

    else:
        args = _kernel_args(g)

        def part(lo, hi):
            return _FORWARD.run(x[lo:hi], w2, bb, b is not None, out[lo:hi], *args)

    return None if jit.split(g.n, part, x.nbytes + out.nbytes) is None else out


def _backward_jit(gy, x, w, g: _Geo, nx: bool, nw: bool):
    """(grad_input, grad_weight) by the compiled loops (None where not needed), or None where
    they cannot run."""
    gy = np.ascontiguousarray(gy)
    x = np.ascontiguousarray(x)
    w2 = np.ascontiguousarray(w.reshape(g.c * g.m, -1))
    nbytes = x.nbytes + gy.nbytes
    if g.oh * g.ow <= _CL_POSITIONS:
        return _backward_cl(gy, x, w2, g, nx, nw, nbytes)
    args = _kernel_args(g)
    gx = gw = None
    if nx:
        gx = np.empty(x.shape, x.dtype)
        adj = args[:-1] + _adjoint_args(g)

        def part(lo, hi):
            return _INPUT_GRAD.run(gy[lo:hi], w2, gx[lo:hi], *adj)

        if jit.split(g.n, part, nbytes) is None:
            return None
    if nw:

        def wpart(lo, hi):
            acc = np.zeros(w2.shape, x.dtype)
            return acc if _WEIGHT_GRAD.run(gy[lo:hi], x[lo:hi], acc, *args) else False

        parts = jit.split(g.n, wpart, nbytes)
        if parts is None:
            return None
        gw = add_parts(parts).reshape(w.shape)
    return gx, gw


def _backward_cl(gy, x, w2, g: _Geo, nx: bool, nw: bool, nbytes: int):
    """``_backward_jit`` on small output planes: ``_dw_backward_cl_loop`` over parts of the
    batch, each with its own weight gradient, summed."""
    wt = np.ascontiguousarray(w2.T)
    gx = np.empty(x.shape, x.dtype) if nx else np.empty((0, 0, 0, 0), x.dtype)
    args = _cl_args(g) + (g.hp, g.wp)

    def part(lo, hi):
        gwt = np.zeros(wt.shape, x.dtype)
        ok = _BACKWARD_CL.run(gy[lo:hi], x[lo:hi], wt, gx[lo:hi], gwt, nx, nw, *args)
        return gwt if ok else False

    parts = jit.split(g.n, part, nbytes)
    if parts is None:
        return None
    gw = np.ascontiguousarray(add_parts(parts).T).reshape(g.c * g.m, 1, g.kh, g.kw) if nw else None
    return (gx if nx else None), gw


def forward(x, w, b, s, pads, d):
    """Output (N, C*m, OH, OW) of x (N, C, H, W) and w (C*m, 1, KH, KW).

    NumPy: per image, the KH*KW tap slabs copied into columns (C, T, OH*Wq) and one batched
    product (C, m, T) @ (C, T, OH*Wq). Measured (1 thread, 32x96x32x32, 3x3): 4.5 ms against
    13 ms for the tap-by-tap multiply-add passes, whose broadcast multiply runs ~3x slower than
    a copy; torch 4.1 ms."""
    if type(x) is not np.ndarray:
        return _forward_xp(x, w, b, s, pads, d)
    g = _Geo(x.shape, w.shape, s, pads, d)
    if _compiled(x, g):
        out = _forward_jit(x, w, b, g)
        if out is not None:
            return out
    w3 = w.reshape(g.c, g.m, -1)
    out = np.empty((g.n, g.c * g.m, g.oh, g.ow), x.dtype)
    bc = None if b is None else b.reshape(g.c * g.m, 1, 1)

    def run(lo, hi):
        o = workspace("dw_o", (g.c, g.m, g.span), x.dtype, np)
        o4 = o.reshape(g.c * g.m, g.oh, g.wq)[:, :, : g.ow]
        sl = _Slabs(g, x.dtype)
        for i in range(lo, hi):
            np.matmul(w3, sl.columns(x[i]), out=o)
            if bc is None:
                out[i] = o4
            else:
                np.add(o4, bc, out=out[i])

    pblocks(g.n, run)
    return out


def backward(gy, x, w, s, pads, d, needs):
    """(grad_input, grad_weight, grad_bias) of ``forward``; None where ``needs`` is False.

    NumPy, per image: the output gradient on the (OH, Wq) grid with zeros in the junk columns
    and around it; the weight gradient is (C, m, span) @ columns^T; each input phase's gradient
    is one product of its taps' weights with the output gradient's slabs read back from the
    taps' offsets. Measured (1 thread, 32x96x32x32, stride 2): input gradient 6.9 ms with
    col2im (a broadcast multiply and an add per tap) -> 4.9 ms; stride 1 the same work as the
    flipped correlation."""
    if type(x) is not np.ndarray:
        return _backward_xp(gy, x, w, s, pads, d, needs)
    g = _Geo(x.shape, w.shape, s, pads, d)
    nx, nw, nb = needs[0], needs[1], needs[2]
    if (nx or nw) and _compiled(x, g):
        grads = _backward_jit(gy, x, w, g, nx, nw)
        if grads is not None:
            return grads + ((gy.sum((0, 2, 3)) if nb else None),)
    dt = x.dtype
    nt = len(g.taps)
    g5 = gy.reshape(g.n, g.c, g.m, g.oh, g.ow)
    s0, s1 = g.s
    gx = np.empty(x.shape, dt) if nx else None
    rq = g.hq * g.wq  # one phase's grid
    front = max(off for _, off in g.taps)
    # per phase: its taps and their weights, (C, 1, m*taps)
    groups = []
    if nx:
        w4 = w.reshape(g.c, g.m, nt)
        for p in range(s0 * s1):
            ts = [(t, off) for t, (q, off) in enumerate(g.taps) if q == p]
            if ts:
                wp = np.ascontiguousarray(w4[:, :, [t for t, _ in ts]].reshape(g.c, 1, -1))
                groups.append((p, [off for _, off in ts], wp))
        if len(groups) < s0 * s1:  # a phase no tap reads (a stride past the kernel): zeros
            gx = np.zeros(x.shape, dt)

    def run(lo, hi):
        gw = np.zeros((g.c, g.m, nt), dt) if nw else None
        # the output gradient on the (OH, Wq) grid, zeros in the junk columns and around it
        gpad = workspace("dw_gy", (g.c, g.m, front + rq), dt, np)
        gpad.fill(0)
        g3 = gpad[:, :, front : front + g.span]
        gyw = g3.reshape(g.c, g.m, g.oh, g.wq)
        t = workspace("dw_tw", (g.c, g.m, nt), dt, np) if nw else None
        sl = _Slabs(g, dt) if nw else None
        gyv = gyw[:, :, :, : g.ow]
        plan = []  # per input phase: weights, columns, product, the copies in and out
        if nx:
            most = max(len(offs) for _, offs, _ in groups)
            gcb = workspace("dw_gc", (g.c * g.m * most * rq,), dt, np)
            ob = workspace("dw_go", (len(groups), g.c, 1, rq), dt, np)
            for k, (p, offs, wp) in enumerate(groups):
                gc = gcb[: g.c * g.m * len(offs) * rq].reshape(g.c, g.m, len(offs), rq)
                grid = None
                if len(groups) == 1:  # stride 1: the slabs back from front, in one copy
                    grid = tap_grid(gpad[:, :, front:], g.taps, g.kh, g.kw, rq, sign=-1)
                if grid is not None:
                    dst = gc.reshape(g.c, g.m, g.kh, g.kw, rq).transpose(2, 3, 0, 1, 4)
                    pairs = [(dst, grid)]
                else:
                    pairs = [
                        (gc[:, :, j], gpad[:, :, front - off : front - off + rq])
                        for j, off in enumerate(offs)
                    ]
                grid = ob[k].reshape(g.c, g.hq, g.wq)
                puts = []
                for q, r0, c0, q0, p0 in g.places():
                    if q == p:
                        nr, nc = len(range(r0, g.h, s0)), len(range(c0, g.w, s1))
                        sls = (slice(None), slice(r0, None, s0), slice(c0, None, s1))
                        puts.append((sls, grid[:, q0 : q0 + nr, p0 : p0 + nc]))
                plan.append((wp, gc.reshape(g.c, -1, rq), ob[k], pairs, puts))
        for i in range(lo, hi):
            gyv[...] = g5[i]
            if nw:
                np.matmul(g3, sl.columns(x[i]).transpose(0, 2, 1), out=t)
                gw += t
            if nx:
                # phase p's input gradient at grid position q: the sum over p's taps of
                # w[t] * gy[q - off_t] (the adjoint of the forward's slab reads), as columns
                # of the output gradient's slabs and one product (no scatter-adds)
                run_phase_plan(plan, gx[i])
        return gw

    parts = pblocks(g.n, run)
    gw = gb = None
    if nw:
        gw = add_parts(parts).reshape(w.shape)
    if nb:
        gb = gy.sum((0, 2, 3))
    return gx, gw, gb
