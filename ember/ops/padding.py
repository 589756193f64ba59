"""The pad op (constant, reflect, replicate, circular; negative widths crop); torch's
argument checks are in ``ember.nn.functional.pad``."""

from __future__ import annotations

import numpy as np

from .._backend.xp import xp_of
from ..autograd.node import Op

_NP_MODE = {"reflect": "reflect", "replicate": "edge", "circular": "wrap"}


def _pad_array(x, widths, mode, value):
    """The padded array; negative widths crop. Circular crops first and then wraps what is left,
    as torch does; the other modes pad first and then crop."""
    xp = xp_of(x)
    neg = any(lo < 0 or hi < 0 for lo, hi in widths)
    if neg and mode == "circular":
        x = x[
            tuple(slice(-min(lo, 0), x.shape[i] + min(hi, 0)) for i, (lo, hi) in enumerate(widths))
        ]
        widths = [(max(lo, 0), max(hi, 0)) for lo, hi in widths]
        neg = False
    pos = [(max(lo, 0), max(hi, 0)) for lo, hi in widths]
    if mode == "constant":
        y = xp.pad(x, pos, mode="constant", constant_values=value)
    else:
        y = xp.pad(x, pos, mode=_NP_MODE[mode])
    if neg:
        sl = tuple(slice(-min(lo, 0), y.shape[i] + min(hi, 0)) for i, (lo, hi) in enumerate(widths))
        y = y[sl].copy()
    return y


class _Pad(Op):
    adjoint = 0  # linear in x (the constant's part aside): a LinearAdjoint under create_graph

    @staticmethod
    def forward(ctx, x, widths, mode, value):
        ctx.args = (None, widths, mode, 0)  # the linear part: the constant as 0
        # torch's reflection/replication backward kernels take the input; the constant pad's
        # backward is a slice of the gradient
        ctx.grad_reads_input = mode in ("reflect", "replicate")
        ctx.widths = widths
        ctx.shape = x.shape
        ctx.mode = mode
        return _pad_array(x, widths, mode, value)

    @staticmethod
    def backward(ctx, g):
        xp = xp_of(g)
        widths = ctx.widths
        if ctx.mode == "constant":
            full = g
            pre = []
            for _i, (lo, hi) in enumerate(widths):
                pre.append((max(-lo, 0), max(-hi, 0)))
            if any(a or b for a, b in pre):
                full = xp.pad(g, pre)
            sl = tuple(
                slice(max(lo, 0), full.shape[i] - max(hi, 0)) for i, (lo, hi) in enumerate(widths)
            )
            return full[sl], None, None, None
        # non-constant modes: route through the index map of the padded (and cropped) positions
        n = int(np.prod(ctx.shape))
        pidx = _pad_array(np.arange(n).reshape(ctx.shape), widths, ctx.mode, 0)
        gx = xp.zeros(n, g.dtype)
        xp.add.at(gx, xp.asarray(pidx.reshape(-1)), g.reshape(-1))  # repeats accumulate
        return gx.reshape(ctx.shape), None, None, None


def constant_pad_nd(input, pad, value=0):
    """Pad the last len(pad) // 2 dims with ``value`` (negative widths crop): torch's
    constant_pad_nd, the op behind F.pad's constant mode."""
    nd = input._data.ndim
    if len(pad) % 2:
        raise RuntimeError("Length of pad must be even but instead it equals " + str(len(pad)))
    if len(pad) // 2 > nd:
        raise RuntimeError(
            "Length of pad should be no more than twice the number of dimensions of the input. "
            f"Pad length is {len(pad)} while the input has {nd} dimensions."
        )
    widths = [(0, 0)] * nd
    for k in range(len(pad) // 2):
        widths[nd - 1 - k] = (int(pad[2 * k]), int(pad[2 * k + 1]))
    return _Pad.apply(input, widths, "constant", value)
