"""3x3 stride-1 2-D convolution (groups=1, NumPy) by Winograd's minimal filtering F(2x2, 3x3),
on blocks of images in a channels-last layout, one block per thread at a time.

Why: a 3x3 convolution by im2col takes 9 multiply-adds per (output pixel, input channel, output
channel); F(2x2, 3x3) takes 16 per 2x2 output tile, 2.25x fewer, as 16 independent products
(tiles x C) @ (C x Cout). The convolutions of a ResNet are bound by those products (measured on
ResNet-18's 3x3 layers, 64x64..512x512 channels: the 16 products take about half the time of the
im2col product of the same layer). Each 4x4 input tile d is transformed to V = B^T d B, each
kernel g to U = G g G^T, the products M = V U summed over input channels, and each 2x2 output
tile is Y = A^T M A (the transforms are additions only, except G's halves).

Backward is the adjoint of the same steps, exact as the forward is: the output gradient dY of a
tile becomes dM = A dY A^T; the weight gradient is G^T (sum over tiles of V^T dM) G, and the
input gradient adds B (dM U^T) B^T of each tile back into the overlapping 4x4 input windows.
Rounding: the transforms add at most a few terms of the input, so float32 results stay within
torch's convolution tolerance (the tests compare with torch); float64 agrees with im2col to
rounding.
"""

from __future__ import annotations

import numpy as np

from .._backend.cpu import blas
from .._backend.cpu.threads import _threads, add_parts, pblocks, workspace
from .._backend.xp import CPU_ARRAY

_BLOCK_BYTES = 1 << 20  # a block's transformed input (16 x tiles x C): near one L2's worth
_MIN_CHANNELS = 64  # doubled with 512-bit BLAS kernels: _min_channels
_G = np.array([[1.0, 0.0, 0.0], [0.5, 0.5, 0.5], [0.5, -0.5, 0.5], [0.0, 0.0, 1.0]])


def eligible(x, w, s, d, g) -> bool:
    """Whether the Winograd kernels serve this convolution: float32 NumPy, 3x3 kernel, stride
    and dilation 1, one group, at least 16 channels in and out."""
    if type(x) is not CPU_ARRAY or x.ndim != 4 or g != 1 or x.dtype != np.float32:
        return False
    if w.dtype != x.dtype or w.shape[2:] != (3, 3) or s != (1, 1) or d != (1, 1):
        return False
    return min(x.shape[1], w.shape[0]) >= _min_channels() and x.shape[0] >= min(2, _threads())


def _min_channels() -> int:
    """The fewest channels (in and out) Winograd serves. With the BLAS's 512-bit kernels the
    im2col products are fast enough that 64-channel layers go faster without it (measured in
    one process, forward+backward, 64x64x16x16 -> 64: Winograd 23.4 vs 19.9 ms; 16x64x32x32:
    28.1 vs 23.5 ms), while with AVX2 kernels Winograd wins there (24.7 vs 27.6 ms); at 128
    channels on 8x8 it wins with both (23.5 vs 26.8 ms; 19.5 vs 24.6 ms)."""
    return 2 * _MIN_CHANNELS if blas.wide_kernels() else _MIN_CHANNELS


def _geometry(xshape, pads):
    n, c, h, w_ = xshape
    oh = h + pads[0][0] + pads[0][1] - 2
    ow = w_ + pads[1][0] + pads[1][1] - 2
    return n, c, h, w_, oh, ow, (oh + 1) // 2, (ow + 1) // 2


def weight_transform(w):
    """U^T for each kernel g, U = G g G^T: (16, Cout, C) from w (Cout, C, 3, 3)."""
    cout, c = w.shape[:2]
    # one product K @ vec(g) over every (Cout, C) pair, with w read through a transposed view:
    # measured ~3x faster than transposing w to (C, 9, Cout) first (512x512: 2.2 vs 5.4 ms)
    ut = np.empty((16, cout * c), w.dtype)
    # a thin product (K = 9): on one BLAS thread, so that no OpenBLAS worker is left spinning
    # while the blocks that follow run on ember's threads
    with blas.single_threaded():
        np.matmul(_kron(w.dtype), w.reshape(cout * c, 9).T, out=ut)
    return ut.reshape(16, cout, c)


def _kron(dtype):
    """K (16, 9) with K[4a + b, 3i + j] = G[a, i] G[b, j]: U = G g G^T as K @ vec(g)."""
    return np.kron(_G, _G).astype(dtype)


def _padded_block(x, a, e, pads, th, tw):
    """Images a:e of x (N, C, H, W) as a zero-padded (m, 2*th + 2, 2*tw + 2, C) scratch block
    (an odd output size gets one more zero row or column below / right)."""
    m, c, h, w_ = (e - a,) + x.shape[1:]
    hp, wp = 2 * th + 2, 2 * tw + 2
    xb = workspace("wino_x", (m, hp, wp, c), x.dtype, np)
    t, lft = pads[0][0], pads[1][0]
    if t or lft or hp != h or wp != w_:
        xb.fill(0)
    xb[:, t : t + h, lft : lft + w_] = x[a:e].transpose(0, 2, 3, 1)
    return xb


def _input_transform(xb, th, tw):
    """V = B^T d B of every 4x4 tile d (tiles at stride 2): (16, m*th*tw, C), scratch."""
    m, c = xb.shape[0], xb.shape[3]
    st = xb.strides
    # d[n, ty, tx, i, j, c] = xb[n, 2*ty + i, 2*tx + j, c]
    d = np.lib.stride_tricks.as_strided(
        xb, (m, th, tw, 4, 4, c), (st[0], 2 * st[1], 2 * st[2], st[1], st[2], st[3])
    )
    r = workspace("wino_r", (4, m, th, tw, 4, c), xb.dtype, np)  # B^T over the tile's rows
    np.subtract(d[:, :, :, 0], d[:, :, :, 2], out=r[0])
    np.add(d[:, :, :, 1], d[:, :, :, 2], out=r[1])
    np.subtract(d[:, :, :, 2], d[:, :, :, 1], out=r[2])
    np.subtract(d[:, :, :, 1], d[:, :, :, 3], out=r[3])
    v = workspace("wino_v", (4, 4, m, th, tw, c), xb.dtype, np)  # then over its columns
    np.subtract(r[..., 0, :], r[..., 2, :], out=v[:, 0])
    np.add(r[..., 1, :], r[..., 2, :], out=v[:, 1])
    np.subtract(r[..., 2, :], r[..., 1, :], out=v[:, 2])
    np.subtract(r[..., 1, :], r[..., 3, :], out=v[:, 3])
    return v.reshape(16, m * th * tw, c)


def _products(v, u, slot, transpose_u=False):
    """The 16 products v[k] @ u[k] (or u[k]^T) into a scratch (16, rows, cols) array, as one
    batched call (measured ~7-10% faster than 16 calls: 256x64 @ 64x64, 64x128 @ 128x128)."""
    cols = u.shape[1] if transpose_u else u.shape[2]
    out = workspace(slot, (16, v.shape[1], cols), v.dtype, np)
    np.matmul(v, u.transpose(0, 2, 1) if transpose_u else u, out=out)
    return out


def forward(x, w, b, pads, u=None):
    """Output (N, Cout, OH, OW) of x (N, C, H, W) and w (Cout, C, 3, 3), stride 1; ``u``: the
    weight's transform when the caller has it."""
    n, c, h, w_, oh, ow, th, tw = _geometry(x.shape, pads)
    cout = w.shape[0]
    if u is None:
        u = weight_transform(w)
    out = np.empty((n, cout, oh, ow), x.dtype)
    bc = None if b is None else b.reshape(cout, 1, 1)
    step = max(1, _BLOCK_BYTES // (16 * th * tw * max(c, cout) * x.itemsize))

    def run(lo, hi):
        for a in range(lo, hi, step):
            e = min(a + step, hi)
            m = e - a
            v = _input_transform(_padded_block(x, a, e, pads, th, tw), th, tw)
            mm = _products(v, u, "wino_m", transpose_u=True).reshape(4, 4, m, th, tw, cout)
            # A^T over the tile's rows, then its columns, into the NHWC output block
            q = workspace("wino_q", (2, 4, m, th, tw, cout), x.dtype, np)
            np.add(mm[0], mm[1], out=q[0])
            q[0] += mm[2]
            np.subtract(mm[1], mm[2], out=q[1])
            q[1] -= mm[3]
            yb = workspace("wino_y", (m, th, 2, tw, 2, cout), x.dtype, np)
            yv = yb.transpose(2, 4, 0, 1, 3, 5)  # [alpha, beta, n, ty, tx, co]
            np.add(q[:, 0], q[:, 1], out=yv[:, 0])
            yv[:, 0] += q[:, 2]
            np.subtract(q[:, 1], q[:, 2], out=yv[:, 1])
            yv[:, 1] -= q[:, 3]
            src = yb.reshape(m, 2 * th, 2 * tw, cout)[:, :oh, :ow].transpose(0, 3, 1, 2)
            if bc is None:
                out[a:e] = src
            else:
                np.add(src, bc, out=out[a:e])

    pblocks(n, run)
    return out


def backward(gy, x, w, pads, needs, u=None):
    """(grad_input, grad_weight, grad_bias) of ``forward``; None where ``needs`` is False.
    ``u``: the weight's transform (``weight_transform``), kept from the forward (else formed
    again)."""
    n, c, h, w_, oh, ow, th, tw = _geometry(x.shape, pads)
    cout = w.shape[0]
    nx, nw, nb = needs[0], needs[1], needs[2]
    if nx and u is None:
        u = weight_transform(w)
    gx = np.empty(x.shape, x.dtype) if nx else None
    dt = x.dtype
    step = max(1, _BLOCK_BYTES // (16 * th * tw * max(c, cout) * x.itemsize))
    t, lft = pads[0][0], pads[1][0]

    def run(lo, hi):
        du = np.zeros((16, cout, c), dt) if nw else None  # dU^T
        gb = np.zeros(cout, dt) if nb else None
        for a in range(lo, hi, step):
            e = min(a + step, hi)
            m = e - a
            rows = m * th * tw
            # the output gradient as NHWC 2x2 tiles (zero where an odd size leaves no output)
            yb = workspace("wino_y", (m, th, 2, tw, 2, cout), dt, np)
            y4 = yb.reshape(m, 2 * th, 2 * tw, cout)
            if 2 * th != oh or 2 * tw != ow:
                yb.fill(0)
            y4[:, :oh, :ow] = gy[a:e].transpose(0, 2, 3, 1)
            if nb:
                gb += np.matmul(np.ones(m * 4 * th * tw, dt), y4.reshape(-1, cout))
            if not (nx or nw):
                continue
            yv = yb.transpose(2, 4, 0, 1, 3, 5)  # [alpha, beta, n, ty, tx, co]
            # dM = A dY A^T: A over the tile's rows (p), then its columns
            p = workspace("wino_q", (4, 2, m, th, tw, cout), dt, np)
            p[0] = yv[0]
            np.add(yv[0], yv[1], out=p[1])
            np.subtract(yv[0], yv[1], out=p[2])
            np.negative(yv[1], out=p[3])
            dm = workspace("wino_m", (4, 4, m, th, tw, cout), dt, np)
            dm[:, 0] = p[:, 0]
            np.add(p[:, 0], p[:, 1], out=dm[:, 1])
            np.subtract(p[:, 0], p[:, 1], out=dm[:, 2])
            np.negative(p[:, 1], out=dm[:, 3])
            dm16 = dm.reshape(16, rows, cout)
            if nw:
                v = _input_transform(_padded_block(x, a, e, pads, th, tw), th, tw)
                tk = workspace("wino_tw", (16, cout, c), dt, np)
                np.matmul(dm16.transpose(0, 2, 1), v, out=tk)  # one batched call, as above
                du += tk
            if nx:
                dv = _products(dm16, u, "wino_v").reshape(4, 4, m, th, tw, c)
                # B over the tile's rows: [i, b] <- sum_a B^T[a, i] dV[a, b]
                r = workspace("wino_r", (4, 4, m, th, tw, c), dt, np)
                r[0] = dv[0]
                np.subtract(dv[1], dv[2], out=r[1])
                r[1] += dv[3]
                np.add(dv[1], dv[2], out=r[2])
                r[2] -= dv[0]
                np.negative(dv[3], out=r[3])
                # then over its columns, each tap added into its (overlapping) input window
                gxb = workspace("wino_x", (m, 2 * th + 2, 2 * tw + 2, c), dt, np)
                gxb.fill(0)
                tmp = workspace("wino_t", (m, th, tw, c), dt, np)
                span = 2 * tw - 1
                for i in range(4):
                    ri = r[i]
                    dst = gxb[:, i : i + 2 * th - 1 : 2]  # the rows tap row i lands on
                    dst[:, :, 0:span:2] += ri[0]
                    np.subtract(ri[1], ri[2], out=tmp)
                    tmp += ri[3]
                    dst[:, :, 1 : 1 + span : 2] += tmp
                    np.add(ri[1], ri[2], out=tmp)
                    tmp -= ri[0]
                    dst[:, :, 2 : 2 + span : 2] += tmp
                    dst[:, :, 3 : 3 + span : 2] -= ri[3]
                gx[a:e] = gxb[:, t : t + h, lft : lft + w_].transpose(0, 3, 1, 2)
        return du, gb

    parts = pblocks(n, run)
    gw = gb = None
    if nw:
        du = add_parts([part[0] for part in parts])
        # dg = G^T dU G for each (Cout, C) pair: vec(dg) = K^T vec(dU), one product that
        # writes the (Cout, C, 3, 3) layout directly
        with blas.single_threaded():  # as in weight_transform
            gw = np.matmul(du.reshape(16, cout * c).T, _kron(dt)).reshape(cout, c, 3, 3)
    if nb:
        gb = add_parts([part[1] for part in parts])
    return gx, gw, gb
