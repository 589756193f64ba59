"""RAdam (rectified Adam), as ``torch.optim.RAdam``."""

from __future__ import annotations

import math

from .._backend.xp import xp_of
from ._arg_checks import check_hyperparameters
from .optimizer import Optimizer, direction

__all__ = ["RAdam"]


class RAdam(Optimizer):
    """Adam with a variance-rectification term (plain momentum SGD for early steps)."""

    _uses_step = True
    _state_names = ("exp_avg", "exp_avg_sq")

    def __init__(
        self,
        params,
        lr: float = 1e-3,
        betas: tuple = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0,
        decoupled_weight_decay: bool = False,
        *,
        foreach=None,
        maximize: bool = False,
        capturable: bool = False,
        differentiable: bool = False,
    ) -> None:
        check_hyperparameters(lr=lr, eps=eps, weight_decay=weight_decay, betas=betas)
        defaults = dict(
            lr=lr,
            betas=betas,
            eps=eps,
            weight_decay=weight_decay,
            maximize=maximize,
            foreach=foreach,
            capturable=capturable,
            decoupled_weight_decay=decoupled_weight_decay,
            differentiable=differentiable,
        )
        super().__init__(params, defaults)

    def _kernel(self, group: dict, p, g, bufs: dict, step, s) -> dict:
        xp = xp_of(p)
        lr = float(group["lr"])
        d = direction(group, p, g, group["decoupled_weight_decay"])
        b1, b2 = group["betas"]
        new = {}
        m = bufs.get("exp_avg")
        if m is None:
            m = new["exp_avg"] = xp.zeros_like(p)
            new["exp_avg_sq"] = xp.zeros_like(p)
        v = bufs.get("exp_avg_sq", new.get("exp_avg_sq"))
        m += (d - m) * (1 - b1)
        v *= b2
        v += (1 - b2) * d * d
        bc1 = 1 - b1**step
        bc2 = 1 - b2**step
        mhat = m / bc1
        rho_inf = 2 / (1 - b2) - 1
        rho_t = rho_inf - 2 * step * (b2**step) / bc2
        if rho_t > 5.0:
            rect = math.sqrt(
                (rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t)
            )
            sq = xp.sqrt(v)
            sq += group["eps"]
            p -= mhat * lr * (math.sqrt(bc2) / sq) * rect
        else:
            p -= mhat * lr
        return new
