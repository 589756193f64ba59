"""The pad op (constant, reflect, replicate, circular; negative widths crop); torch's
argument checks are in ``ember.nn.functional.pad``."""

from __future__ import annotations

import numpy as np

from .._backend.xp import xp_of
from ..autograd.node import Op


class _Pad(Op):
    @staticmethod
    def forward(ctx, x, widths, mode, value):
        xp = xp_of(x)
        ctx.widths = widths
        ctx.shape = x.shape
        neg = any(lo < 0 or hi < 0 for lo, hi in widths)
        pos = [(max(lo, 0), max(hi, 0)) for lo, hi in widths]
        if mode == "constant":
            y = xp.pad(x, pos, mode="constant", constant_values=value)
        else:
            y = xp.pad(
                x, pos, mode={"reflect": "reflect", "replicate": "edge", "circular": "wrap"}[mode]
            )
        ctx.mode = mode
        if neg:
            sl = tuple(
                slice(-min(lo, 0), y.shape[i] + min(hi, 0)) for i, (lo, hi) in enumerate(widths)
            )
            y = y[sl]
        return y.copy() if neg else y

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
        # non-constant modes: route through the index map of the padded positions
        idx = np.arange(int(np.prod(ctx.shape))).reshape(ctx.shape)
        m = {"reflect": "reflect", "replicate": "edge", "circular": "wrap"}[ctx.mode]
        pidx = np.pad(idx, [(max(lo, 0), max(hi, 0)) for lo, hi in widths], mode=m)
        gx = xp.zeros(int(np.prod(ctx.shape)), g.dtype)
        xp.add.at(gx, xp.asarray(pidx.reshape(-1)), g.reshape(-1))  # repeats accumulate
        return gx.reshape(ctx.shape), None, None, None
