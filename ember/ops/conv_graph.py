"""The convolutions' gradients as graph-recording ops, for create_graph=True (torch's double
backward: gradient penalties, Hessian-vector products): the convolution ops' backward runs on
arrays, so there their backward gives its gradients as convolutions instead (``grads``,
``transpose_grads``: the input's a transposed convolution, the weight's a convolution of the
input with the output's gradient, the bias's a sum), each an op with its own fast backward.
The caller passes the convolution op (``ConvNd``), which this module cannot import: ``conv``
imports it. A WGAN-GP critic step (three 4x4 stride-2 convolutions, 64 x 3 x 32 x 32, two
threads, 2026-12-05): 710 ms with the convolutions written out in unfold and matmul, 320 ms
this way (torch 174).
"""

from __future__ import annotations

from ..tensor import Tensor
from .join import cat


def _weight_grad(op, x: Tensor, gy: Tensor, k, s, pads, d, g: int) -> Tensor:
    """d/dw of the convolution (strides s, dilations d) of x at output gradient gy, as a
    convolution ``op`` of x's channels over the batch with gy's: stride and dilation swap roles,
    and the result is cropped to the kernel's size."""
    cg, og = x.shape[1] // g, gy.shape[1] // g
    crop = (slice(None), slice(None)) + tuple(slice(0, e) for e in k)
    parts = []
    for j in range(g):
        xj = x[:, j * cg : (j + 1) * cg].transpose(0, 1).contiguous()  # (cg, N, *S)
        gj = gy[:, j * og : (j + 1) * og].transpose(0, 1).contiguous()  # (og, N, *O)
        r = op.apply(xj, gj, None, tuple(d), tuple(pads), tuple(s), 1)
        parts.append(r[crop].transpose(0, 1))  # (og, cg, *K)
    return parts[0] if g == 1 else cat(parts, 0)


def _bias_grad(gy: Tensor) -> Tensor:
    return gy.sum((0,) + tuple(range(2, gy.ndim)))


def grads(op, x: Tensor, w: Tensor, b, s, pads, d, g: int, gy: Tensor, needs) -> tuple:
    """The convolution ``op``'s (``ConvNd``'s) input, weight and bias gradients at gy, as ops
    that record a graph: the input's by the transposed convolution, ``op.transpose_op``."""
    gx = gw = gb = None
    if needs[0]:
        gx = op.transpose_op.apply(gy, w, None, s, pads, d, g, tuple(x.shape[2:]))
    if needs[1]:
        gw = _weight_grad(op, x, gy, w.shape[2:], s, pads, d, g)
    if needs[2] and b is not None:
        gb = _bias_grad(gy)
    return gx, gw, gb


def transpose_grads(op, x: Tensor, w: Tensor, b, s, pads, d, g: int, gy: Tensor, needs):
    """The transposed convolution's input, weight and bias gradients at gy (the output's
    gradient), as ops that record a graph, ``op`` being ``ConvNd``: the input's is the
    convolution of gy with w (cropped to x where an output padding of a stride or more gave gy
    more positions), the weight's the convolution's weight gradient with gy and x in each
    other's place."""
    gx = gw = gb = None
    if needs[0]:
        y = op.apply(gy, w, None, tuple(s), tuple(pads), tuple(d), g)
        gx = y[(slice(None), slice(None)) + tuple(slice(0, e) for e in x.shape[2:])]
    if needs[1]:
        gw = _weight_grad(op, gy, x, w.shape[2:], s, pads, d, g)
    if needs[2] and b is not None:
        gb = _bias_grad(gy)
    return gx, gw, gb
