"""Rprop (resilient backpropagation), as ``torch.optim.Rprop``."""

from __future__ import annotations

from .._backend.xp import xp_of
from ._arg_checks import check_hyperparameters
from .optimizer import Optimizer

__all__ = ["Rprop"]


class Rprop(Optimizer):
    """Per-weight step sizes grown while the gradient sign holds, shrunk when it flips."""

    _uses_step = True
    _state_names = ("prev", "step_size")

    def __init__(
        self,
        params,
        lr: float = 1e-2,
        etas: tuple = (0.5, 1.2),
        step_sizes: tuple = (1e-6, 50),
        *,
        capturable: bool = False,
        foreach=None,
        maximize: bool = False,
        differentiable: bool = False,
    ) -> None:
        check_hyperparameters(lr=lr, etas=etas)
        defaults = dict(
            lr=lr,
            etas=etas,
            step_sizes=step_sizes,
            foreach=foreach,
            maximize=maximize,
            differentiable=differentiable,
            capturable=capturable,
        )
        super().__init__(params, defaults)

    def _kernel(self, group: dict, p, g, bufs: dict, step, s) -> dict:
        xp = xp_of(p)
        d = -g if group["maximize"] else g
        etaminus, etaplus = group["etas"]
        lo, hi = group["step_sizes"]
        new = {}
        prev = bufs.get("prev")
        size = bufs.get("step_size")
        if prev is None:
            prev = new["prev"] = xp.zeros_like(p)
            size = new["step_size"] = xp.full_like(p, group["lr"])
        sgn = xp.sign(d * prev)
        factor = xp.where(sgn > 0, etaplus, xp.where(sgn < 0, etaminus, 1.0)).astype(p.dtype)
        size *= factor
        xp.clip(size, lo, hi, out=size)
        d = xp.where(sgn < 0, 0, d).astype(p.dtype)
        p -= xp.sign(d) * size
        prev[...] = d
        return new
