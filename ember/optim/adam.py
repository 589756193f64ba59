"""Adam (optionally AMSGrad, decoupled weight decay), as ``torch.optim.Adam``."""

from __future__ import annotations

import math

from ..device import xp_of
from .optimizer import Optimizer

__all__ = ["Adam"]


class Adam(Optimizer):
    """Adaptive moment estimation (fused flat update)."""

    _uses_step = True

    def __init__(self, params, lr: float = 1e-3, betas: tuple = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0, amsgrad: bool = False, *, foreach=None,
                 maximize: bool = False, capturable: bool = False, differentiable: bool = False,
                 fused=None, decoupled_weight_decay: bool = False) -> None:
        if not 0.0 <= lr:
            raise ValueError(f"Invalid learning rate: {lr}")
        if not 0.0 <= eps:
            raise ValueError(f"Invalid epsilon value: {eps}")
        if not 0.0 <= betas[0] < 1.0:
            raise ValueError(f"Invalid beta parameter at index 0: {betas[0]}")
        if not 0.0 <= betas[1] < 1.0:
            raise ValueError(f"Invalid beta parameter at index 1: {betas[1]}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                        amsgrad=amsgrad, maximize=maximize, foreach=foreach,
                        capturable=capturable, differentiable=differentiable, fused=fused,
                        decoupled_weight_decay=decoupled_weight_decay)
        super().__init__(params, defaults)

    def __setstate__(self, state: dict) -> None:
        super().__setstate__(state)
        for group in self.param_groups:
            group.setdefault("amsgrad", False)
            group.setdefault("maximize", False)
            group.setdefault("foreach", None)
            group.setdefault("capturable", False)
            group.setdefault("differentiable", False)
            group.setdefault("fused", None)
            group.setdefault("decoupled_weight_decay", False)

    def _names(self, group: dict) -> tuple:
        if group["amsgrad"]:
            return ("exp_avg", "exp_avg_sq", "max_exp_avg_sq")
        return ("exp_avg", "exp_avg_sq")

    def _kernel(self, group: dict, p, g, bufs: dict, step) -> dict:
        xp = xp_of(p)
        lr = float(group["lr"])
        b1, b2 = group["betas"]
        b1, b2 = float(b1), float(b2)
        eps = group["eps"]
        wd = group["weight_decay"]
        if group["maximize"]:
            g *= -1
        if wd != 0:
            if group["decoupled_weight_decay"]:
                p *= 1 - lr * wd
            else:
                g += wd * p
        new = {}
        m = bufs.get("exp_avg")
        v = bufs.get("exp_avg_sq")
        if m is None:
            m = new["exp_avg"] = xp.zeros_like(p)
            v = new["exp_avg_sq"] = xp.zeros_like(p)
            if group["amsgrad"]:
                new["max_exp_avg_sq"] = xp.zeros_like(p)
        # m = m + (g - m) * (1 - b1); v = b2 v + (1 - b2) g^2
        m += (g - m) * (1 - b1)
        v *= b2
        g *= g
        g *= 1 - b2
        v += g
        bc1 = 1 - b1 ** step
        bc2s = math.sqrt(1 - b2 ** step)
        if group["amsgrad"]:
            vmax = bufs.get("max_exp_avg_sq")
            if vmax is None:
                vmax = new["max_exp_avg_sq"]
            xp.maximum(vmax, v, out=vmax)
            den = xp.sqrt(vmax)
        else:
            den = xp.sqrt(v)
        den /= bc2s
        den += eps
        # reuse g's memory for the update: m / den * (lr / bc1)
        xp.divide(m, den, out=g)
        g *= lr / bc1
        p -= g
        return new
