"""Adamax (Adam with the infinity norm), as ``torch.optim.Adamax``."""

from __future__ import annotations

from .._backend.xp import xp_of
from ._arg_checks import check_hyperparameters
from .optimizer import Optimizer, direction

__all__ = ["Adamax"]


class Adamax(Optimizer):
    """Adam variant whose second moment is a running max of |g|."""

    _uses_step = True
    _state_names = ("exp_avg", "exp_inf")

    def __init__(
        self,
        params,
        lr: float = 2e-3,
        betas: tuple = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0,
        foreach=None,
        *,
        maximize: bool = False,
        differentiable: bool = False,
        capturable: bool = False,
    ) -> None:
        check_hyperparameters(lr=lr, eps=eps, weight_decay=weight_decay, betas=betas)
        defaults = dict(
            lr=lr,
            betas=betas,
            eps=eps,
            weight_decay=weight_decay,
            foreach=foreach,
            maximize=maximize,
            differentiable=differentiable,
            capturable=capturable,
        )
        super().__init__(params, defaults)

    def _kernel(self, group: dict, p, g, bufs: dict, step, s) -> dict:
        xp = xp_of(p)
        d = direction(group, p, g)
        b1, b2 = group["betas"]
        new = {}
        m = bufs.get("exp_avg")
        if m is None:
            m = new["exp_avg"] = xp.zeros_like(p)
            new["exp_inf"] = xp.zeros_like(p)
        u = bufs.get("exp_inf", new.get("exp_inf"))
        m += (d - m) * (1 - b1)
        u *= b2
        xp.maximum(u, xp.abs(d) + group["eps"], out=u)
        clr = float(group["lr"]) / (1 - b1**step)
        p -= clr * (m / u)
        return new
