"""2-D convolution (groups=1, NumPy, float32/float64) computed on small blocks of images in a
channels-last layout, one block per thread at a time.

Why: with an NCHW input, the im2col matrix of a whole batch is tens of MB (9x the input for a 3x3
kernel) and every pass over it (write, GEMM, col2im) goes to memory. A block of 1-4 images in
NHWC keeps its columns in cache, and channels-last puts each kernel row's (KW, C) values next to
each other, so im2col copies rows of KW*C numbers. The products are taken with the rows as
output positions, the shape (M large, K = C*KH*KW, N = Cout) OpenBLAS runs fastest, and each of
ember's threads runs its own blocks with a one-thread BLAS (``threads.pblocks``).

Backward re-forms each block's columns (cheap in cache) instead of keeping the batch's columns
from the forward, so a training step also holds far less memory. The input gradient sums the
column gradient back (col2im) in "phases": output columns ow = r + P*q, for one r, have
disjoint input windows, so each (kernel row, phase) is one add over long contiguous rows instead
of KH*KW adds over rows of C numbers.
"""

from __future__ import annotations

import numpy as np

from .._backend.cpu.threads import _threads, add_parts, pblocks, workspace
from .._backend.xp import CPU_ARRAY
from .conv_flat import flipped_pads

_BLOCK_BYTES = 2 << 20  # a block's im2col columns: about two L2s' worth (fewer, larger calls)


def eligible(x, w, g: int, needs=None) -> bool:
    """Whether the blocked NHWC kernels serve this convolution (``needs``: which gradients the
    graph will ask for, when the caller knows)."""
    if type(x) is not CPU_ARRAY or x.ndim != 4 or g != 1:
        return False
    if x.dtype not in (np.float32, np.float64) or w.dtype != x.dtype:
        return False
    c, kh, kw = w.shape[1:]
    # tiny C*K (a first layer on 1-3 channels) gains nothing from blocking: rows of a few numbers;
    # but a wide kernel on few channels copies rows of KW*C >= 16 numbers, and there the blocks
    # split the batch over the threads where the batch im2col path scaled badly (ResNet's 7x7/2
    # stem on 3 channels, 64x3x64x64, measured forward: 12.9 vs 13.5 ms on one thread, 7.1 vs
    # 9.8 ms with two). Not when the weight gradient is wanted: its per-block products (K = 147
    # rows of a few images) lost to the batch path's one long product (stem forward + weight
    # gradient, one thread: 37.6 vs 25.7 ms; two threads: 16.5 vs 16.9 ms)
    wide = c * kw >= 16 and not (needs is not None and needs[1])
    return (c >= 8 or wide) and c * kh * kw >= 64 and x.shape[0] >= min(2, _threads())


def _geometry(xshape, wshape, s, pads, d):
    n, c, h, w_ = xshape
    cout, _, kh, kw = wshape
    hp = h + pads[0][0] + pads[0][1]
    wp = w_ + pads[1][0] + pads[1][1]
    oh = (hp - d[0] * (kh - 1) - 1) // s[0] + 1
    ow = (wp - d[1] * (kw - 1) - 1) // s[1] + 1
    return n, c, h, w_, cout, kh, kw, hp, wp, oh, ow


def _block_size(per_image: int) -> int:
    return max(1, _BLOCK_BYTES // max(1, per_image))


def _padded_nhwc(x, a, e, pads, hp, wp, slot="nhwc_x", into=None):
    """Images a:e of x (N, C, H, W) as a zero-padded (m, Hp, Wp, C) block: scratch, or
    ``into[a:e]`` when given."""
    m, c, h, w_ = (e - a,) + x.shape[1:]
    xb = into[a:e] if into is not None else workspace(slot, (m, hp, wp, c), x.dtype, np)
    if hp != h or wp != w_:
        xb.fill(0)
    xb[:, pads[0][0] : pads[0][0] + h, pads[1][0] : pads[1][0] + w_] = x[a:e].transpose(0, 2, 3, 1)
    return xb


def _windows(xb, kh, kw, oh, ow, s, d):
    """(m, OH, OW, KH, KW, C) view: [n, y, x, i, j, c] = xb[n, y*s0 + i*d0, x*s1 + j*d1, c]."""
    st = xb.strides
    return np.lib.stride_tricks.as_strided(
        xb,
        (xb.shape[0], oh, ow, kh, kw, xb.shape[3]),
        (st[0], st[1] * s[0], st[2] * s[1], st[1] * d[0], st[2] * d[1], st[3]),
    )


def lift_1d(x, w, s, pads, d) -> tuple:
    """A 1-d convolution's input, weight and geometry as a 2-d one's of height 1 (views)."""
    return x[:, :, None], w[:, :, None], (1,) + tuple(s), ((0, 0),) + tuple(pads), (1,) + tuple(d)


def _im2col(v, slot: str, phases=None, p: int = 1):
    """The windows ``v`` (m, OH, OW, KH, KW, C) copied into a scratch block, a kernel row at a
    time (rows of KW*C numbers); with ``phases``, each image row's output columns in phase
    order (see ``_phases``)."""
    cols = workspace(slot, v.shape, v.dtype, np)
    for r, off, cnt in phases or [(0, 0, v.shape[2])]:
        for i in range(v.shape[3]):
            cols[:, :, off : off + cnt, i] = v[:, :, r::p, i]
    return cols


def _phases(ow: int, kw: int, s: int, d: int) -> list:
    """[(r, first row, count)]: output columns r, r+P, r+2P, ... have disjoint input windows."""
    p = max(1, -(-(d * (kw - 1) + 1) // s))
    out, off = [], 0
    for r in range(min(p, ow)):
        cnt = len(range(r, ow, p))
        out.append((r, off, cnt))
        off += cnt
    return out, p


def forward(x, w, b, s, pads, d, keep=False):
    """Convolution output (N, Cout, OH, OW) of x (N, C, H, W) and w (Cout, C, KH, KW); with
    ``keep``, also the padded NHWC input (N, Hp, Wp, C) that ``backward`` can reuse."""
    n, c, h, w_, cout, kh, kw, hp, wp, oh, ow = _geometry(x.shape, w.shape, s, pads, d)
    k = kh * kw * c
    wm = np.ascontiguousarray(w.transpose(2, 3, 1, 0).reshape(k, cout))
    bc = None if b is None else b.reshape(cout, 1)
    out = np.empty((n, cout, oh, ow), x.dtype)
    kept = np.empty((n, hp, wp, c), x.dtype) if keep else None
    step = _block_size(oh * ow * k * x.itemsize)

    def run(lo, hi):
        for a in range(lo, hi, step):
            e = min(a + step, hi)
            m = e - a
            v = _windows(_padded_nhwc(x, a, e, pads, hp, wp, into=kept), kh, kw, oh, ow, s, d)
            cols = _im2col(v, "nhwc_cols")
            o = workspace("nhwc_o", (m * oh * ow, cout), x.dtype, np)
            np.matmul(cols.reshape(m * oh * ow, k), wm, out=o)
            src = o.reshape(m, oh * ow, cout).transpose(0, 2, 1)
            dst = out[a:e].reshape(m, cout, oh * ow)
            if bc is None:
                dst[...] = src
            else:
                np.add(src, bc, out=dst)

    pblocks(n, run)
    return (out, kept) if keep else out


def backward(gy, x, w, s, pads, d, needs, xpad=None):
    """(grad_input, grad_weight, grad_bias) of ``forward``; None where ``needs`` is False.
    ``xpad``: the padded NHWC input kept by the forward (else re-formed from x per block)."""
    n, c, h, w_, cout, kh, kw, hp, wp, oh, ow = _geometry(x.shape, w.shape, s, pads, d)
    k = kh * kw * c
    kg = kh * kw * cout
    nx, nw, nb = needs[0], needs[1], needs[2]
    # stride 1, padding within the kernel's reach: the input gradient is then a plain
    # convolution of the padded output gradient with the flipped kernel (no col2im)
    gp = flipped_pads(kh, kw, s, pads, d) if nx else None
    direct = gp is not None
    phases, p = _phases(ow, kw, s[1], d[1]) if nx and not direct else ([(0, 0, ow)], 1)
    wk = None
    if direct:  # rows (i, j, co) of the flipped kernel
        wk = np.ascontiguousarray(w[:, :, ::-1, ::-1].transpose(2, 3, 0, 1).reshape(kg, c))
        ghp, gwp = oh + gp[0][0] + gp[0][1], ow + gp[1][0] + gp[1][1]
    elif nx:
        wk = np.ascontiguousarray(w.transpose(0, 2, 3, 1).reshape(cout, k))
    gx = np.empty(x.shape, x.dtype) if nx else None
    dt = x.dtype
    step = _block_size(max(oh * ow * k, h * w_ * kg if direct else 0) * x.itemsize)

    def run(lo, hi):
        gw = np.zeros((k, cout), dt) if nw else None
        gb = np.zeros(cout, dt) if nb else None
        for a in range(lo, hi, step):
            e = min(a + step, hi)
            m = e - a
            rows = m * oh * ow
            if nw or nb or not direct:
                # output gradient as (rows, Cout); for col2im, each image row in phase order
                g = workspace("nhwc_g", (m, oh, ow, cout), dt, np)
                for r, off, cnt in phases:
                    g[:, :, off : off + cnt] = gy[a:e, :, :, r::p].transpose(0, 2, 3, 1)
                g2 = g.reshape(rows, cout)
            if nb:
                gb += np.matmul(np.ones(rows, dt), g2)
            if nw:
                xb = xpad[a:e] if xpad is not None else _padded_nhwc(x, a, e, pads, hp, wp)
                cols = _im2col(_windows(xb, kh, kw, oh, ow, s, d), "nhwc_cols", phases, p)
                t = workspace("nhwc_tw", (k, cout), dt, np)
                np.matmul(cols.reshape(rows, k).T, g2, out=t)
                gw += t
            if direct:
                if nw or nb:  # pad the NHWC copy made above: cheaper than transposing again
                    gyb = workspace("nhwc_gy", (m, ghp, gwp, cout), dt, np)
                    gyb.fill(0)
                    gyb[:, gp[0][0] : gp[0][0] + oh, gp[1][0] : gp[1][0] + ow] = g
                else:
                    gyb = _padded_nhwc(gy, a, e, gp, ghp, gwp, "nhwc_gy")
                gcols = _im2col(_windows(gyb, kh, kw, h, w_, (1, 1), d), "nhwc_gcols")
                o = workspace("nhwc_gxo", (m * h * w_, c), dt, np)
                np.matmul(gcols.reshape(m * h * w_, kg), wk, out=o)
                gx[a:e] = o.reshape(m, h, w_, c).transpose(0, 3, 1, 2)
            elif nx:
                gc = workspace("nhwc_gc", (rows, k), dt, np)
                np.matmul(g2, wk, out=gc)
                gc6 = gc.reshape(m, oh, ow, kh, kw, c)
                gxb = workspace("nhwc_gx", (m, hp, wp, c), dt, np)
                gxb.fill(0)
                st = gxb.strides
                for r, off, cnt in phases:
                    for i in range(kh):
                        # [n, y, q, j, c] -> gxb[n, y*s0 + i*d0, (r + q*P)*s1 + j*d1, c]
                        dst = np.lib.stride_tricks.as_strided(
                            gxb[:, i * d[0] :, r * s[1] :],
                            (m, oh, cnt, kw, c),
                            (st[0], st[1] * s[0], st[2] * s[1] * p, st[2] * d[1], st[3]),
                        )
                        dst += gc6[:, :, off : off + cnt, i]
                inner = gxb[:, pads[0][0] : pads[0][0] + h, pads[1][0] : pads[1][0] + w_]
                gx[a:e] = inner.transpose(0, 3, 1, 2)
        return gw, gb

    parts = pblocks(n, run)
    gw = gb = None
    if nw:
        acc = add_parts([part[0] for part in parts])
        gw = np.ascontiguousarray(acc.reshape(kh, kw, c, cout).transpose(3, 2, 0, 1))
    if nb:
        gb = add_parts([part[1] for part in parts])
    return gx, gw, gb
