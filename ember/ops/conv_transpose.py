"""Transposed convolution as one op: the input gradient of a convolution.

With groups=1 and 8 or more output channels it runs on the blocked channels-last kernels of
``conv_nhwc`` (its forward is their input gradient, its input gradient their forward); else on the
NCHW im2col/col2im kernels of ``conv``.
"""

from __future__ import annotations

import numpy as np

from .._backend.xp import xp_of
from ..autograd.node import Op
from ..tensor import Tensor
from . import conv_graph, conv_nhwc
from .conv import (
    ConvNd,
    _gemm_groups,
    _pad_zeros,
    _to_cn,
    _to_nc,
    col2im_knp,
    conv_out_size,
    im2col_knp,
)


class ConvTransposeNd(Op):
    save_in = (0, 1)
    higher_order = True  # create_graph=True: conv_graph.transpose_grads

    def name(self) -> str:
        return "ConvolutionBackward0"

    @staticmethod
    def forward(ctx, x, w, b, s, pads, d, g, osz):
        # the input gradient of a convolution: out (N, Cout, *O) from x (N, Cin, *S)
        nhwc = ConvTransposeNd._nhwc_geometry(x, w, s, pads, d, g, osz)
        if nhwc is not None:
            x4, w4, s4, pads4, d4, osz4, lift = nhwc
            yshape = (x.shape[0], w.shape[1]) + osz4
            # blocked channels-last kernels: this op's output is their input gradient
            out = conv_nhwc.backward(
                x4, np.empty(yshape, x.dtype), w4, s4, pads4, d4, (True, False, False)
            )[0]
            if b is not None:
                out += b.reshape(-1, 1, 1)
            ctx.saved = (x4, w4)
            ctx.geo = ("nhwc", s4, pads4, d4, lift)
            return out[:, :, 0] if lift else out
        xp = xp_of(x)
        k = w.shape[2:]
        cin = w.shape[0]
        cout = w.shape[1] * g
        n = x.shape[0]
        nsp = len(k)
        psz = tuple(osz[i] + pads[i][0] + pads[i][1] for i in range(nsp))
        x2 = _to_cn(x, n, cin)
        wm = w.reshape(cin, -1)  # (Cin, Coutg*K)
        if g == 1:
            gcols = wm.T @ x2
        else:
            wg = wm.reshape(g, cin // g, -1).transpose(0, 2, 1)
            gcols = xp.matmul(wg, x2.reshape(g, cin // g, -1)).reshape(-1, x2.shape[1])
        out = col2im_knp(gcols, cout, n, psz, k, s, d, x.shape[2:])
        out = out[
            (slice(None), slice(None)) + tuple(slice(lo, lo + e) for (lo, _), e in zip(pads, osz))
        ]
        out = xp.ascontiguousarray(out.transpose((1, 0) + tuple(range(2, 2 + nsp))))
        if b is not None:
            out += b.reshape((cout,) + (1,) * nsp)
        ctx.saved = (x2, w)
        ctx.geo = (x.shape, s, pads, d, g)
        return out

    @staticmethod
    def _nhwc_geometry(x, w, s, pads, d, g, osz):
        """The 2-d (1-d lifted) geometry when the blocked NHWC kernels can serve, else None."""
        if g != 1 or x.ndim not in (3, 4):
            return None
        lift = x.ndim == 3
        x4, w4, s, pads, d = conv_nhwc.lift_1d(x, w, s, pads, d) if lift else (x, w, s, pads, d)
        osz = ((1,) if lift else ()) + tuple(osz)
        yshape = (x.shape[0], w.shape[1]) + osz
        # the convolution this op transposes must map the output size back to the input's
        # (not so when output_padding reaches past the stride, which dilation allows)
        if conv_out_size(yshape, w4.shape[2:], s, pads, d) != x4.shape[2:]:
            return None
        if not conv_nhwc.eligible(x4, w4, 1):
            return None
        return x4, w4, s, pads, d, osz, lift

    @staticmethod
    def backward(ctx, gy):
        if isinstance(gy, Tensor):  # create_graph=True: the gradients as convolution ops
            x, w, b, s, pads, d, g, osz = ctx._inputs
            r = conv_graph.transpose_grads(ConvNd, x, w, b, s, pads, d, g, gy, ctx._needs)
            return r + (None,) * 5
        if ctx.geo[0] == "nhwc":
            x4, w4 = ctx.saved
            _, s, pads, d, lift = ctx.geo
            nd = ctx._needs
            gy4 = gy[:, :, None] if lift else gy
            gx = gw = gb = None
            if nd[0]:  # the gradient of a transposed convolution is the convolution
                gx = conv_nhwc.forward(gy4, w4, None, s, pads, d)
                gx = gx[:, :, 0] if lift else gx
            if nd[1]:  # the convolution's weight gradient, input and output roles swapped
                gw = conv_nhwc.backward(x4, gy4, w4, s, pads, d, (False, True, False))[1]
                gw = gw[:, :, 0] if lift else gw
            if nd[2]:
                gb = gy.sum(axis=(0,) + tuple(range(2, gy.ndim)))
            return gx, gw, gb, None, None, None, None, None
        x2, w = ctx.saved
        xshape, s, pads, d, g = ctx.geo
        nd = ctx._needs
        k = w.shape[2:]
        cin = w.shape[0]
        n = xshape[0]
        gpad = _pad_zeros(gy, pads)
        cols = im2col_knp(gpad, k, s, d, xshape[2:])  # (Cout*K, N*P)
        gx = gw = gb = None
        wm = w.reshape(cin, -1)
        if nd[0]:
            gx = _to_nc(_gemm_groups(wm, cols, g), n, cin, xshape[2:])
        if nd[1]:
            if g == 1:
                gw = x2 @ cols.T
            else:
                xp = xp_of(gy)
                gw = xp.matmul(
                    x2.reshape(g, cin // g, -1),
                    cols.reshape(g, cols.shape[0] // g, -1).transpose(0, 2, 1),
                )
            gw = gw.reshape(w.shape)
        if nd[2]:
            gb = gy.sum(axis=(0,) + tuple(range(2, gy.ndim)))
        return gx, gw, gb, None, None, None, None, None


ConvNd.transpose_op = ConvTransposeNd  # the input gradient of a convolution, for conv_graph
