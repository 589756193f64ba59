"""IgnoreSecond: an op that returns its first input and gives its second a zero gradient, for
the outputs torch keeps in the graph with a zero derivative (addmm's input at beta=0, angle of a
real tensor, fill, grid_sample's grid in nearest mode)."""

from __future__ import annotations

from .._backend.xp import xp_of
from ..autograd.node import Op
from ..tensor import Tensor
from .creation import zeros


class IgnoreSecond(Op):
    """Returns its first input; the second only receives a zero gradient."""

    higher_order = True

    @staticmethod
    def forward(ctx, a, b):
        ctx.shape = b.shape
        return a

    @staticmethod
    def backward(ctx, g):
        if isinstance(g, Tensor):
            return g, zeros(ctx.shape, dtype=g.dtype, device=g.device)
        return g, xp_of(g).zeros(ctx.shape, g.dtype)
