"""2-D convolution (groups=1, NumPy, float32/float64) with few channels, on small blocks of
images in NCHW, by im2col over flat rows of the padded image.

Why: with 16-32 channels the blocked NHWC kernels spend more time moving data than in the
product: NCHW <-> NHWC transposes of rows of 16-32 numbers, and im2col copies of KW*C numbers.
Here each image stays NCHW. Zero-padded and flattened, an image (C, Hp*Wp) read from offset
``i*Wp + j`` gives every output row of tap (i, j) at once, with ``Wp - OW`` junk columns per row
(they read across the row's end; the output drops them). So the columns are KH*KW copies of
whole (C, OH*Wp) slabs, and one product (Cout, KH*KW*C) @ (KH*KW*C, B*OH*Wp) gives a block of
B images' output (B such that the columns stay near one L2). A stride is folded in first: the
padded image is split into its s0*s1 phases (rows a::s0, columns b::s1), and tap (i, j) reads
phase (i*d0 % s0, j*d1 % s1) from the offset (i*d0 // s0, j*d1 // s1), again a stride-1 slab.

Backward per block: the output gradient laid out on the same (OH, Wq) grid with zeros in the
junk columns and around it; the weight gradient is columns @ (Cout, OH*Wq)^T (columns re-formed
from the input, in cache); each input phase's gradient is one product of its taps' transposed
weights with the output gradient's slabs read back from the taps' offsets, then the phases are
put back in place. The batch is split over ember's threads, each with a one-thread BLAS.

Stride 1 with few output values per image (``_row_path``) takes the row path instead: the
padded images' KH row-shifted copies (KH*C, B*OH*Wq) are the only copy, and each kernel column
j reads them from offset j as a plain strided view, so a block is KW products with K = KH*C
(plus KW-1 additions) in place of one with K = KH*KW*C over a copy three times the size. The
input gradient of a stride-1 convolution is the convolution of the output gradient with the
flipped, transposed kernel (it runs the same path); the weight gradient is one product per
(kernel column, image) of the row copies with the output gradient, in one NumPy call.
Why: NumPy's BLAS ran (16, 48) @ (48, 1088) three times plus two additions in 29-33 us against
38-45 us for one (16, 144) @ (144, 1088), on a third of the copying. Measured (2026-12-03, 64
images, float32, two threads, one process, medians of 15, phase slabs -> rows): 16->16 3x3 on
32x32 forward 2.87 -> 2.36 ms, input gradient 3.25 -> 2.57, weight gradient 4.17 -> 2.67;
8->16 forward 1.91 -> 1.69, gradients 3.14 -> 2.29 and 2.70 -> 1.73; the small ResNet's
training step (alternating steps) 229 -> 206 ms in a slow phase of the machine. But 16->32 on
32x32 went 7.84 -> 8.48 ms forward, hence the limit on Cout*OH*Wq.
"""

from __future__ import annotations

import numpy as np

from .._backend.cpu.threads import add_parts, pblocks, workspace
from .._backend.xp import CPU_ARRAY

_MAX_CHANNELS = 32
# Measured (1 thread, 64 images, 3x3 pad 1, forward + both gradients, against conv_nhwc, each
# pair in one run): 32x32 outputs: 16->16 13.6 vs 21.1 ms, 16->32 22.9 vs 32.1, 8->16 9.8 vs
# 14.9, 32->32 37 vs 54; 16x16 outputs: 16->16 4.5 vs 5.1, stride 2 16->32 (32x32 -> 16x16) 8.7
# vs 9.6; 8x8 outputs: 16->16 1.8 vs 1.3. The products are too small below 16x16 outputs.
# 32->32 on 16x16 outputs went to conv_nhwc until 2026-12-05 (12.1 vs 11.5 ms then); since the
# row path it is faster here on every 24-32 channel layer tried, forward / forward + backward,
# ms, NHWC vs this path: one thread 32->32 on 16x16 4.9 / 15.3 vs 4.0 / 13.9, stride 2 from
# 32x32 9.3 / 24.5 vs 5.7 / 20.4, 24->32 on 16x16 3.9 / 12.4 vs 3.1 / 10.9, 32->32 on 24x24
# 11.1 / 33.5 vs 10.2 / 32.3; two threads 32->32 on 16x16 3.2 / 9.3 vs 2.5 / 9.0, on 24x24
# 7.0 / 18.9 vs 5.8 / 19.6; the small ResNet's training step (alternating, medians of 25-30)
# 102.6 -> 96.3 and 102.2 -> 99.0 ms.
_MIN_POSITIONS = 256
# First layers on 3-7 channels: their batch im2col product has K = 27 (3x3) or 147 (7x7) rows,
# and these blocks beat it. Measured (2026-12-03, 64 images, float32, two threads, forward +
# weight gradient, im2col -> this path): 3->16 3x3 on 32x32 4.9 -> 3.5 ms, 3->64 3x3 on 32x32
# 13.1 -> 9.7 and on 64x64 51.6 -> 32.4, ResNet-18's 3->64 7x7/2 on 64x64 32.1 -> 22.0 (its
# forward alone against the NHWC blocks: 10.0 vs 9.6); on 1-2 channels it was even (MNIST's
# 1->32 on 28x28: 3.9 vs 3.8 ms).
_FIRST_LAYER_MIN = 3
_FIRST_LAYER_OUT = 64
# A first layer's input gradient (needed where the image itself takes gradients: adversarial
# inputs, GAN discriminators, style transfer) copies each input phase's taps of the output
# gradient, Cout channels each: with many outputs and taps per input channel the batch product
# W^T gy and col2im (conv.conv_input_grad) move less. Measured (2026-12-04, 64 images, float32,
# two threads, input gradient alone, these blocks vs the product and col2im): 3->32 3x3 on 32x32
# 7.0 vs 3.3 ms, 4->64 3x3 15.2 vs 6.8, 3->64 5x5 51.5 vs 10.6, ResNet-18's 3->64 7x7/2 on 64x64
# 42.7 vs 18.1, 3->32 7x7/2 24.9 vs 15.5; the blocks stay for 3->16 3x3 (1.4 vs 1.8), 6->64
# 3x3/2 (7.9 vs 10.0) and every layer on 8 or more channels (16->16 3x3 2.4 vs 11.3).
_COLUMNS_IGRAD_RATIO = 96
_ROW_OUT = 1 << 15  # the row path's limit on Cout * OH * Wq (one image's output on its grid)
_ROW_BYTES = 1 << 19  # a block's row copies on the row path (a few images: fewer NumPy calls)


def phase_taps(kh: int, kw: int, s, d, wq: int) -> list:
    """(phase, flat offset) of each tap of a kh x kw kernel with strides ``s`` and dilations
    ``d``, in (i, j) order, on phase grids ``wq`` wide (shared with conv_depthwise)."""
    return [
        ((i * d[0] % s[0]) * s[1] + j * d[1] % s[1], (i * d[0] // s[0]) * wq + j * d[1] // s[1])
        for i in range(kh)
        for j in range(kw)
    ]


def flipped_pads(kh: int, kw: int, s, pads, d):
    """((top, bottom), (left, right)) padding of the output gradient whose convolution with
    the flipped kernel is the input gradient: for stride 1 with padding within the kernel's
    reach; None otherwise (shared with conv_nhwc and conv_depthwise)."""
    if s != (1, 1):
        return None
    gp = tuple(
        ((kk - 1) * d[a] - pads[a][0], (kk - 1) * d[a] - pads[a][1]) for a, kk in ((0, kh), (1, kw))
    )
    return gp if all(v >= 0 for side in gp for v in side) else None


def tap_grid(a, taps: list, kh: int, kw: int, span: int, sign: int = 1):
    """The slabs of every tap as one strided view (KH, KW, *a.shape[:-1], span) of ``a`` when
    the taps sit on one phase at offsets ``i * r + j * q`` (a stride-1 convolution), read from
    offset ``sign * off``; else None. One copy of the view replaces KH*KW copies (their
    Python calls were a sixth of a 16-channel 32x32 layer's forward)."""
    if any(p for p, _ in taps):
        return None
    r = taps[kw][1] if kh > 1 else 0
    q = taps[1][1] if kw > 1 else 0
    if any(off != i * r + j * q for (_, off), (i, j) in zip(taps, np.ndindex(kh, kw))):
        return None
    st = a.strides
    return np.lib.stride_tricks.as_strided(
        a[..., :span],
        (kh, kw) + a.shape[:-1] + (span,),
        (sign * r * st[-1], sign * q * st[-1]) + st,
        writeable=False,
    )


def run_phase_plan(plan, target) -> None:
    """The input gradient's phases, each as one product: for every (taps' weights, columns,
    product buffer, slab copies into the columns, result copies into ``target``) of ``plan``,
    fill the columns, multiply, and place the result (shared with conv_depthwise)."""
    for wp, cols, o, pairs, puts in plan:
        for dst, src in pairs:
            np.copyto(dst, src)
        np.matmul(wp, cols, out=o)
        for sls, src in puts:
            np.copyto(target[sls], src)


def eligible(x, w, s, pads, d, g: int) -> bool:
    """Whether this path serves the convolution: NumPy float32/float64 2-d, one group, 8 to 32
    input channels and at most 32 output channels, or 3 to 7 input channels (a first layer on
    an image) and at most 64 output channels; at least 16x16 output positions."""
    if type(x) is not CPU_ARRAY or x.ndim != 4 or g != 1 or w.dtype != x.dtype:
        return False
    if x.dtype not in (np.float32, np.float64):
        return False
    c, cout = x.shape[1], w.shape[0]
    most = _MAX_CHANNELS if c >= 8 else _FIRST_LAYER_OUT
    if not (_FIRST_LAYER_MIN <= c <= _MAX_CHANNELS and cout <= most):
        return False
    geo = _Geo(x.shape, w.shape, s, pads, d)
    return geo.oh * geo.ow >= _MIN_POSITIONS


def input_grad_by_columns(xshape, wshape, s) -> bool:
    """Whether a first layer's input gradient is better computed as the batch product and
    col2im than by these blocks: Cout * KH * KW >= 96 * C * stride (see above)."""
    c = xshape[1]
    cout, _, kh, kw = wshape
    return c < 8 and cout * kh * kw >= _COLUMNS_IGRAD_RATIO * c * s[0]


class _Geo:
    """Shapes of one convolution on the phase grid."""

    def __init__(self, xshape, wshape, s, pads, d):
        self.n, self.c, self.h, self.w = xshape
        self.cout, _, self.kh, self.kw = wshape
        self.s, self.pads, self.d = s, pads, d
        self.hp = self.h + pads[0][0] + pads[0][1]
        self.wp = self.w + pads[1][0] + pads[1][1]
        self.oh = (self.hp - d[0] * (self.kh - 1) - 1) // s[0] + 1
        self.ow = (self.wp - d[1] * (self.kw - 1) - 1) // s[1] + 1
        self.hq = -(-self.hp // s[0])  # rows and columns of a phase
        self.wq = -(-self.wp // s[1])
        self.span = self.oh * self.wq  # one tap's slab: OH rows of the phase grid
        # (phase, flat offset) of each tap, in (i, j) order
        self.taps = phase_taps(self.kh, self.kw, s, d, self.wq)
        # phase buffer length: every slab fits (the last one overruns the grid by its junk)
        self.flat = max(self.hq * self.wq, max(off for _, off in self.taps) + self.span)
        self.k = self.kh * self.kw * self.c


def _places(g: _Geo) -> list:
    """[(phase, first input row, first input column, phase row, phase column)] of the phases
    that hold input."""
    (pt, _), (pl, _) = g.pads
    s0, s1 = g.s
    out = []
    for a in range(s0):
        for b in range(s1):
            r0, c0 = (a - pt) % s0, (b - pl) % s1  # the first input row/column of this phase
            if r0 < g.h and c0 < g.w:
                out.append((a * s1 + b, r0, c0, (r0 + pt) // s0, (c0 + pl) // s1))
    return out


class _Slabs:
    """One thread's phase buffer (s0*s1, C, B, flat) and columns (KH*KW*C, B*OH*Wq) for a block
    of B images, with the views each block's copies use, made once per call: the padding stays
    zero across blocks (per block ~15 copies and no fill; the Python work per image was a third
    of the forward's time at 32x32 when each image re-made them)."""

    def __init__(self, g: _Geo, dtype, nb: int, pslot: str, cslot: str):
        s0, s1 = g.s
        self.nb = nb
        self.buf = workspace(pslot, (s0 * s1, g.c, nb, g.flat), dtype, np)
        self.buf.fill(0)
        grid = self.buf[..., : g.hq * g.wq].reshape(s0 * s1, g.c, nb, g.hq, g.wq)
        self.places = []
        for p, r0, c0, q0, p0 in _places(g):
            nr, nc = len(range(r0, g.h, s0)), len(range(c0, g.w, s1))
            dst = grid[p, :, :, q0 : q0 + nr, p0 : p0 + nc]
            self.places.append((dst, (slice(None), slice(r0, None, s0), slice(c0, None, s1))))
        self.cols = workspace(cslot, (len(g.taps), g.c, nb, g.span), dtype, np)
        grid = tap_grid(self.buf[0], g.taps, g.kh, g.kw, g.span)
        if grid is not None:
            self.pairs = [(self.cols.reshape(grid.shape), grid)]
        else:
            self.pairs = [
                (self.cols[t], self.buf[p, :, :, off : off + g.span])
                for t, (p, off) in enumerate(g.taps)
            ]
        self.cols2 = self.cols.reshape(g.k, nb * g.span)

    def columns(self, xb):
        """The columns of the images ``xb`` (B, C, H, W)."""
        for dst, sl in self.places:
            np.copyto(dst, xb[(slice(None),) + sl].transpose(1, 0, 2, 3))
        for dst, src in self.pairs:
            np.copyto(dst, src)
        return self.cols2


_COLS_BYTES = 1 << 20  # a block's columns: about one L2


def _blocks(g: _Geo, lo: int, hi: int, itemsize: int) -> list:
    """[(first, last)] image blocks of lo:hi whose columns fit ``_COLS_BYTES`` (at least one
    image): full blocks first, then the remainder."""
    nb = max(1, min(hi - lo, _COLS_BYTES // max(1, g.k * g.span * itemsize)))
    return [(a, min(a + nb, hi)) for a in range(lo, hi, nb)]


def _weight_rows(w):
    """(Cout, KH*KW*C): rows in (tap, channel) order, the columns' order."""
    cout, c, kh, kw = w.shape
    return np.ascontiguousarray(w.transpose(0, 2, 3, 1).reshape(cout, kh * kw * c))


def _row_path(g: _Geo) -> bool:
    """Whether the row path serves this geometry: stride 1, a kernel wider than one column, and
    at most ``_ROW_OUT`` output values per image on the (OH, Wq) grid."""
    return g.s == (1, 1) and g.kw > 1 and g.cout * g.span <= _ROW_OUT


class _Rows:
    """One thread's buffers for blocks of B images on the row path: the zero-padded images
    (C, B, flat), their KH row-shifted copies ``rows`` (KH*C, B*span + tail), where row
    (i, c) of image b holds its padded image's flat values from ``i*d0*Wq`` on, and per kernel
    column j the view of ``rows`` from offset ``j*d1`` as one (KH*C, span) matrix per image."""

    def __init__(self, g: _Geo, dtype, nb: int):
        c, kh, kw = g.c, g.kh, g.kw
        item = np.dtype(dtype).itemsize
        self.nb = nb
        buf = workspace("rows_x", (c, nb, g.flat), dtype, np)
        buf.fill(0)  # the padding stays zero across blocks
        ((_, _, _, q0, p0),) = _places(g)  # stride 1: one phase, the whole input
        grid = buf[..., : g.hq * g.wq].reshape(c, nb, g.hq, g.wq)
        self.place = grid[:, :, q0 : q0 + g.h, p0 : p0 + g.w]
        k, n = kh * c, nb * g.span
        rows = workspace("rows_rows", (k, n + (kw - 1) * g.d[1]), dtype, np)
        rows[:, n:] = 0  # read only by junk outputs of the last image: kept finite
        st = buf.strides
        self.src = np.lib.stride_tricks.as_strided(
            buf, (kh, c, nb, g.span), (g.d[0] * g.wq * item, st[0], st[1], item), writeable=False
        )
        self.dst = rows[:, :n].reshape(kh, c, nb, g.span)
        # per kernel column j, each image's (KH*C, span) matrix: all of them as one
        # (KW, B, KH*C, span) view, and per j a (B, KH*C, span) one
        self.stack = np.lib.stride_tricks.as_strided(
            rows, (kw, nb, k, g.span), (g.d[1] * item, g.span * item, rows.strides[0], item)
        )
        self.image_views = list(self.stack)

    def fill(self, xb) -> None:
        """Take in the images ``xb`` (B, C, H, W)."""
        np.copyto(self.place, xb.transpose(1, 0, 2, 3))
        np.copyto(self.dst, self.src)


def _row_step(g: _Geo, itemsize: int) -> int:
    """Images per block on the row path: their row copies within ``_ROW_BYTES``."""
    return max(1, _ROW_BYTES // (g.kh * g.c * g.span * itemsize))


def _column_weights(w) -> list:
    """Per kernel column j, (Cout, KH*C) with rows in the row copies' (i, c) order."""
    cout, c, kh, kw = w.shape
    return [
        np.ascontiguousarray(w[:, :, :, j].transpose(0, 2, 1).reshape(cout, kh * c))
        for j in range(kw)
    ]


def _forward_rows(x, w, b, g: _Geo):
    """``forward`` on the row path."""
    wj = _column_weights(w)
    out = np.empty((g.n, g.cout, g.oh, g.ow), x.dtype)
    bias = None if b is None else b.reshape(1, g.cout, 1, 1)
    step = _row_step(g, x.itemsize)

    def run(lo, hi):
        st = None
        for a in range(lo, hi, step):
            e = min(a + step, hi)
            if st is None or st[0].nb != e - a:
                o = workspace("rows_o", (e - a, g.cout, g.span), x.dtype, np)
                t = workspace("rows_t", (e - a, g.cout, g.span), x.dtype, np)
                st = (_Rows(g, x.dtype, e - a), o, t, o.reshape(e - a, g.cout, g.oh, g.wq))
            rows, o, t, grid = st
            rows.fill(x[a:e])
            v = rows.image_views
            np.matmul(wj[0], v[0], out=o)
            for j in range(1, g.kw):
                np.matmul(wj[j], v[j], out=t)
                o += t
            if bias is None:
                out[a:e] = grid[..., : g.ow]
            else:
                np.add(grid[..., : g.ow], bias, out=out[a:e])

    pblocks(g.n, run)
    return out


def _backward_rows(gy, x, w, g: _Geo, needs, gp):
    """``backward`` on the row path: the input gradient as the stride-1 convolution of ``gy``,
    padded by ``gp`` (``flipped_pads``), with the flipped, transposed kernel; the weight
    gradient as KW products per block."""
    nx, nw, nb = needs[0], needs[1], needs[2]
    gx = gw = gb = None
    if nx:
        wf = w.transpose(1, 0, 2, 3)[:, :, ::-1, ::-1]
        gx = forward(gy, wf, None, (1, 1), gp, g.d)
    if nw:
        dt = x.dtype
        step = _row_step(g, x.itemsize)
        k = g.kh * g.c

        def run(lo, hi):
            acc = np.zeros((g.kw, k, g.cout), dt)
            st = None
            for a in range(lo, hi, step):
                e = min(a + step, hi)
                if st is None or st[0].nb != e - a:
                    # each image's output gradient on the (OH, Wq) grid, zeros in the junk
                    # columns; one product per (kernel column, image), K = span: NumPy's BLAS
                    # ran these (8 channels, 4 images) in 83 us against 178 for one product
                    # per kernel column over the block (K = 4 * span)
                    gg = workspace("rows_g", (e - a, g.cout, g.span), dt, np)
                    gg.fill(0)
                    t = workspace("rows_gw", (g.kw, e - a, k, g.cout), dt, np)
                    gv = gg.reshape(e - a, g.cout, g.oh, g.wq)[..., : g.ow]
                    st = (_Rows(g, dt, e - a), gg.transpose(0, 2, 1), gv, t)
                rows, g2t, gv, t = st
                rows.fill(x[a:e])
                np.copyto(gv, gy[a:e])
                np.matmul(rows.stack, g2t, out=t)
                acc += t[:, 0] if e - a == 1 else t.sum(1)
            return acc

        acc = add_parts(pblocks(g.n, run))
        gw = np.ascontiguousarray(acc.reshape(g.kw, g.kh, g.c, g.cout).transpose(3, 2, 1, 0))
    if nb:
        gb = gy.sum((0, 2, 3))
    return gx, gw, gb


def forward(x, w, b, s, pads, d):
    """Output (N, Cout, OH, OW) of x (N, C, H, W) and w (Cout, C, KH, KW)."""
    g = _Geo(x.shape, w.shape, s, pads, d)
    if _row_path(g):
        return _forward_rows(x, w, b, g)
    wm = _weight_rows(w)
    out = np.empty((g.n, g.cout, g.oh, g.ow), x.dtype)
    bc = None if b is None else b.reshape(g.cout, 1, 1)

    def run(lo, hi):
        sl = None
        for a, e in _blocks(g, lo, hi, x.itemsize):
            if sl is None or sl.nb != e - a:
                sl = _Slabs(g, x.dtype, e - a, "flat_x", "flat_cols")
                o = workspace("flat_o", (g.cout, e - a, g.oh, g.wq), x.dtype, np)
                o2 = o.reshape(g.cout, -1)
                oc = o[..., : g.ow].transpose(1, 0, 2, 3)
            np.matmul(wm, sl.columns(x[a:e]), out=o2)
            if bc is None:
                out[a:e] = oc
            else:
                np.add(oc, bc, out=out[a:e])

    pblocks(g.n, run)
    return out


def backward(gy, x, w, s, pads, d, needs):
    """(grad_input, grad_weight, grad_bias) of ``forward``; None where ``needs`` is False."""
    g = _Geo(x.shape, w.shape, s, pads, d)
    gp = flipped_pads(g.kh, g.kw, s, pads, d) if _row_path(g) else None
    if gp is not None:
        return _backward_rows(gy, x, w, g, needs, gp)
    nx, nw, nb = needs[0], needs[1], needs[2]
    dt = x.dtype
    s0, s1 = g.s
    rq = g.hq * g.wq
    front = max(off for _, off in g.taps)
    gx = np.empty(x.shape, dt) if nx else None
    groups = []  # per input phase: its taps' offsets and weights (C, taps*Cout)
    if nx:
        w4 = w.reshape(g.cout, g.c, g.kh * g.kw)
        for p in range(s0 * s1):
            ts = [(t, off) for t, (q, off) in enumerate(g.taps) if q == p]
            if ts:
                wp = w4[:, :, [t for t, _ in ts]].transpose(1, 2, 0).reshape(g.c, -1)
                groups.append((p, [off for _, off in ts], np.ascontiguousarray(wp)))
        if len(groups) < s0 * s1:  # a phase no tap reads (a stride past the kernel): zeros
            gx = np.zeros(x.shape, dt)
    places = _places(g)

    def state(nb):
        """One thread's buffers and views for blocks of ``nb`` images."""
        # the output gradient on the (OH, Wq) grid, zeros in the junk columns and around it
        gpad = workspace("flat_gy", (g.cout, nb, front + rq), dt, np)
        gpad.fill(0)
        g2 = gpad[:, :, front : front + g.span]
        gyv = g2.reshape(g.cout, nb, g.oh, g.wq)[..., : g.ow].transpose(1, 0, 2, 3)
        sl = t = None
        if nw:
            sl = _Slabs(g, dt, nb, "flat_x", "flat_cols")
            t = workspace("flat_tw", (nb, g.k, g.cout), dt, np)
        plan = []  # per input phase: weights, columns, product, the copies in and out
        if nx:
            most = max(len(offs) for _, offs, _ in groups)
            gcb = workspace("flat_gc", (most * g.cout * nb * rq,), dt, np)
            ob = workspace("flat_go", (len(groups), g.c, nb * rq), dt, np)
            for k, (p, offs, wp) in enumerate(groups):
                gc = gcb[: len(offs) * g.cout * nb * rq].reshape(len(offs), g.cout, nb, rq)
                # the slabs start at front - off: a tap grid read backwards from front
                grid = None
                if len(groups) == 1:
                    grid = tap_grid(gpad[:, :, front:], g.taps, g.kh, g.kw, rq, sign=-1)
                if grid is not None:
                    pairs = [(gc.reshape(grid.shape), grid)]
                else:
                    pairs = [
                        (gc[j], gpad[:, :, front - off : front - off + rq])
                        for j, off in enumerate(offs)
                    ]
                grid = ob[k].reshape(g.c, nb, g.hq, g.wq)
                puts = []
                for q, r0, c0, q0, p0 in places:
                    if q == p:
                        nr, nc = len(range(r0, g.h, s0)), len(range(c0, g.w, s1))
                        sls = (slice(None), slice(None), slice(r0, None, s0), slice(c0, None, s1))
                        src = grid[:, :, q0 : q0 + nr, p0 : p0 + nc].transpose(1, 0, 2, 3)
                        puts.append((sls, src))
                plan.append((wp, gc.reshape(-1, nb * rq), ob[k], pairs, puts))
        return nb, g2, gyv, sl, t, plan

    def run(lo, hi):
        gw = np.zeros((g.k, g.cout), dt) if nw else None
        st = None
        for a, e in _blocks(g, lo, hi, x.itemsize):
            if st is None or st[0] != e - a:
                st = state(e - a)
            nb_, g2, gyv, sl, t, plan = st
            gyv[...] = gy[a:e]
            if nw:
                cols = sl.columns(x[a:e]).reshape(g.k, nb_, g.span).transpose(1, 0, 2)
                # per image columns @ g^T: OpenBLAS runs it ~2x faster than g @ columns^T
                np.matmul(cols, g2.transpose(1, 2, 0), out=t)
                gw += t[0] if nb_ == 1 else t.sum(0)
            if nx:
                # input phase p at grid position q: the sum over p's taps of W_t^T gy[q - off_t]
                # (the adjoint of the forward's slab reads): columns of the output gradient's
                # slabs and one product with K = taps*Cout, no scatter-adds
                run_phase_plan(plan, gx[a:e])
        return gw

    parts = pblocks(g.n, run)
    gw = gb = None
    if nw:
        acc = add_parts(parts)
        gw = np.ascontiguousarray(acc.reshape(g.kh, g.kw, g.c, g.cout).transpose(3, 2, 0, 1))
    if nb:
        gb = gy.sum((0, 2, 3))
    return gx, gw, gb
