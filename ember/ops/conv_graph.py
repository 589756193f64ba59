"""Convolutions as differentiable Tensor ops: the windows by ``Tensor.unfold``, one product per
group. The convolution ops' backward runs on arrays; under create_graph=True they differentiate
this form instead, so a convolution's gradient can be differentiated again (torch's double
backward: gradient penalties, Hessian-vector products). Slower and hungrier for memory than the
ops themselves, it runs only there."""

from __future__ import annotations

import math

from ..autograd.engine import grad as _grad
from ..tensor import Tensor
from .join import cat


def _zero_pad(x: Tensor, pads) -> Tensor:
    """x (N, C, *S) with (lo, hi) zeros on each spatial dim, joined on."""
    for i, (lo, hi) in enumerate(pads):
        ax = 2 + i
        parts = [x]
        if lo:
            parts.insert(0, x.new_zeros(tuple(x.shape[:ax]) + (lo,) + tuple(x.shape[ax + 1 :])))
        if hi:
            parts.append(x.new_zeros(tuple(x.shape[:ax]) + (hi,) + tuple(x.shape[ax + 1 :])))
        if len(parts) > 1:
            x = cat(parts, ax)
    return x


def conv(x: Tensor, w: Tensor, b, s, pads, d, g: int) -> Tensor:
    """The convolution ``ConvNd`` computes (x (N, C, *S), w (O, C / g, *K), strides ``s``,
    ``pads`` ((lo, hi) per dim), dilations ``d``, ``g`` groups), in Tensor ops."""
    nsp = x.ndim - 2
    win = _zero_pad(x, pads)
    for i in range(nsp):
        win = win.unfold(2 + i, d[i] * (w.shape[2 + i] - 1) + 1, s[i])
    if any(e != 1 for e in d):  # (N, C, *O, *span): every d-th of each window
        win = win[(Ellipsis,) + tuple(slice(None, None, e) for e in d)]
    n, c, o = x.shape[0], x.shape[1], w.shape[0]
    osz = tuple(win.shape[2 : 2 + nsp])
    cg, og, k = c // g, o // g, math.prod(w.shape[2:])
    perm = (0,) + tuple(range(2, 2 + nsp)) + (1,) + tuple(range(2 + nsp, 2 + 2 * nsp))
    outs = []
    for j in range(g):
        cols = win[:, j * cg : (j + 1) * cg].permute(perm).reshape(n, -1, cg * k)
        outs.append(cols @ w[j * og : (j + 1) * og].reshape(og, cg * k).t())
    y = outs[0] if g == 1 else cat(outs, 2)
    y = y.transpose(1, 2).reshape((n, o) + osz)
    return y if b is None else y + b.reshape((1, o) + (1,) * nsp)


def conv_transpose(x: Tensor, w: Tensor, b, s, pads, d, g: int, osz) -> Tensor:
    """The transposed convolution ``ConvTransposeNd`` computes (x (N, Cin, *S), w (Cin,
    Cout / g, *K), output size ``osz``), in Tensor ops: the input gradient of ``conv`` with the
    same weight, at x, taken with create_graph=True."""
    z = x.new_zeros((x.shape[0], w.shape[1] * g) + tuple(osz)).requires_grad_()
    c = conv(z, w, None, s, pads, d, g)
    # an output padding of a stride or more gives the convolution more positions than x has:
    # those reach no output of the transposed one, so x is taken as zero there
    extra = [(0, c.shape[2 + i] - x.shape[2 + i]) for i in range(len(osz))]
    (y,) = _grad(c, [z], _zero_pad(x, extra), create_graph=True)
    return y if b is None else y + b.reshape((1, -1) + (1,) * len(osz))
