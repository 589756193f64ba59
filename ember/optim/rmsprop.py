"""RMSprop, as ``torch.optim.RMSprop``."""

from __future__ import annotations

from .._backend.xp import xp_of
from ._arg_checks import check_hyperparameters
from .optimizer import Optimizer, direction

__all__ = ["RMSprop"]


class RMSprop(Optimizer):
    """Divide the gradient by a running root-mean-square (optionally centered, momentum)."""

    _uses_step = True

    def __init__(
        self,
        params,
        lr: float = 1e-2,
        alpha: float = 0.99,
        eps: float = 1e-8,
        weight_decay: float = 0,
        momentum: float = 0,
        centered: bool = False,
        capturable: bool = False,
        foreach=None,
        maximize: bool = False,
        differentiable: bool = False,
    ) -> None:
        check_hyperparameters(
            lr=lr, eps=eps, weight_decay=weight_decay, momentum=momentum, alpha=alpha
        )
        defaults = dict(
            lr=lr,
            momentum=momentum,
            alpha=alpha,
            eps=eps,
            centered=centered,
            weight_decay=weight_decay,
            capturable=capturable,
            foreach=foreach,
            maximize=maximize,
            differentiable=differentiable,
        )
        super().__init__(params, defaults)

    def _names(self, group: dict) -> tuple:
        names = ("square_avg",)
        if group["momentum"] > 0:
            names += ("momentum_buffer",)
        if group["centered"]:
            names += ("grad_avg",)
        return names

    def _kernel(self, group: dict, p, g, bufs: dict, step, s) -> dict:
        xp = xp_of(p)
        d = direction(group, p, g)
        alpha, eps, lr, mom = group["alpha"], group["eps"], float(group["lr"]), group["momentum"]
        new = {}
        sq = bufs.get("square_avg")
        if sq is None:
            sq = new["square_avg"] = xp.zeros_like(p)
            if mom > 0:
                new["momentum_buffer"] = xp.zeros_like(p)
            if group["centered"]:
                new["grad_avg"] = xp.zeros_like(p)
        get = {**bufs, **new}.get
        sq *= alpha
        sq += (1 - alpha) * d * d
        if group["centered"]:
            ga = get("grad_avg")
            ga += (d - ga) * (1 - alpha)
            avg = xp.sqrt(sq - ga * ga)
        else:
            avg = xp.sqrt(sq)
        avg += eps
        if mom > 0:
            buf = get("momentum_buffer")
            buf *= mom
            buf += d / avg
            p -= lr * buf
        else:
            p -= lr * (d / avg)
        return new
