"""Adadelta, as ``torch.optim.Adadelta``."""

from __future__ import annotations

from .._backend.xp import xp_of
from ._arg_checks import check_hyperparameters
from .optimizer import Optimizer, direction

__all__ = ["Adadelta"]


class Adadelta(Optimizer):
    """Step sizes from running averages of squared gradients and squared updates."""

    _uses_step = True
    _state_names = ("square_avg", "acc_delta")

    def __init__(
        self,
        params,
        lr: float = 1.0,
        rho: float = 0.9,
        eps: float = 1e-6,
        weight_decay: float = 0,
        foreach=None,
        *,
        capturable: bool = False,
        maximize: bool = False,
        differentiable: bool = False,
    ) -> None:
        check_hyperparameters(lr=lr, eps=eps, weight_decay=weight_decay, rho=rho)
        defaults = dict(
            lr=lr,
            rho=rho,
            eps=eps,
            weight_decay=weight_decay,
            maximize=maximize,
            capturable=capturable,
            foreach=foreach,
            differentiable=differentiable,
        )
        super().__init__(params, defaults)

    def _kernel(self, group: dict, p, g, bufs: dict, step, s) -> dict:
        xp = xp_of(p)
        d = direction(group, p, g)
        rho, eps = group["rho"], group["eps"]
        new = {}
        sq = bufs.get("square_avg")
        if sq is None:
            sq = new["square_avg"] = xp.zeros_like(p)
            new["acc_delta"] = xp.zeros_like(p)
        acc = bufs.get("acc_delta", new.get("acc_delta"))
        sq *= rho
        sq += (1 - rho) * d * d
        std = xp.sqrt(sq + eps)
        delta = xp.sqrt(acc + eps)
        delta /= std
        delta *= d
        acc *= rho
        acc += (1 - rho) * delta * delta
        p -= float(group["lr"]) * delta
        return new
