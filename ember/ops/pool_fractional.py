"""Fractional max pooling (Graham, 2014): windows of a fixed size at pseudo-random, increasing
offsets, one sequence of offsets per (batch, channel) plane drawn from a uniform sample, as
torch's generate_intervals builds them; the backward routes the gradient to each maximum."""

from __future__ import annotations

import numpy as np

from .._backend.xp import xp_of
from ..autograd.node import Op
from .pool_adaptive import _scatter_add


def _intervals(sample, in_size: int, out_size: int, pool: int):
    """Window starts for every plane: (P, out_size) from samples (P,), computed in the samples'
    float type as torch does (the truncations depend on it)."""
    xp = xp_of(sample)
    p = sample.shape[0]
    seq = xp.empty((p, out_size), np.int64)
    if out_size > 1:
        ft = sample.dtype.type
        alpha = ft(in_size - pool) / ft(out_size - 1)
        i = xp.arange(out_size - 1, dtype=sample.dtype)
        seq[:, :-1] = ((i[None, :] + sample[:, None]) * alpha).astype(np.int64) - (
            sample[:, None] * alpha
        ).astype(np.int64)
    if out_size > 0:
        seq[:, -1] = in_size - pool
    return seq


class FractionalMaxPool(Op):
    def name(self) -> str:
        return f"FractionalMaxPool{len(self.geo[2])}DBackward0"

    @staticmethod
    def forward(ctx, x, kernel, osz, samples, box):
        xp = xp_of(x)
        nsp = len(kernel)
        sp = x.shape[-nsp:]
        lead = x.shape[:-nsp]
        planes = int(np.prod(lead, dtype=np.int64))
        flat = x.reshape(planes, -1)
        smp = samples.reshape(planes, nsp)
        # torch's sample order: 2-d takes (width, height), 3-d (time, height, width)
        order = [1, 0] if nsp == 2 else list(range(nsp))
        starts = [_intervals(smp[:, order[d]], sp[d], osz[d], kernel[d]) for d in range(nsp)]
        pos = xp.zeros((planes,) + tuple(osz) + tuple(kernel), np.int64)
        mult = 1
        for d in range(nsp - 1, -1, -1):
            shape = [planes] + [1] * (2 * nsp)
            shape[1 + d] = osz[d]
            off = [1] * (1 + 2 * nsp)
            off[1 + nsp + d] = kernel[d]
            coord = starts[d].reshape(shape) + xp.arange(kernel[d]).reshape(off)
            pos = pos + coord * mult
            mult *= sp[d]
        pos = pos.reshape(planes, -1, int(np.prod(kernel)))
        vals = xp.take_along_axis(flat, pos.reshape(planes, -1), 1).reshape(pos.shape)
        arg = xp.argmax(vals, axis=-1)
        out = xp.take_along_axis(vals, arg[..., None], -1)[..., 0]
        idx = xp.take_along_axis(pos, arg[..., None], -1)[..., 0]
        oshape = lead + tuple(osz)
        idx = idx.reshape(oshape)
        ctx.geo = (idx, x.shape, kernel)
        if box is not None:
            box.append(idx)
        return out.reshape(oshape)

    @staticmethod
    def backward(ctx, g):
        idx, xshape, kernel = ctx.geo
        return _scatter_add(g, idx, xshape, len(kernel)), None, None, None, None
