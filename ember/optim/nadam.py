"""NAdam (Adam with Nesterov momentum), as ``torch.optim.NAdam``."""

from __future__ import annotations

import numpy as np

from .._backend.xp import xp_of
from ..tensor import Tensor, _wrap
from ._arg_checks import check_hyperparameters
from .optimizer import Optimizer, direction

__all__ = ["NAdam"]


class NAdam(Optimizer):
    """Adam with a Nesterov-style momentum schedule (per-parameter ``mu_product``)."""

    _uses_step = True

    def __init__(
        self,
        params,
        lr: float = 2e-3,
        betas: tuple = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0,
        momentum_decay: float = 4e-3,
        decoupled_weight_decay: bool = False,
        *,
        foreach=None,
        maximize: bool = False,
        capturable: bool = False,
        differentiable: bool = False,
    ) -> None:
        check_hyperparameters(
            lr=lr, eps=eps, weight_decay=weight_decay, betas=betas, momentum_decay=momentum_decay
        )
        defaults = dict(
            lr=lr,
            betas=betas,
            eps=eps,
            weight_decay=weight_decay,
            momentum_decay=momentum_decay,
            decoupled_weight_decay=decoupled_weight_decay,
            maximize=maximize,
            foreach=foreach,
            capturable=capturable,
            differentiable=differentiable,
        )
        super().__init__(params, defaults)

    def _step_group(self, group: dict) -> None:
        # mu_product is a per-parameter scalar: the per-parameter path keeps it exact
        self._step_each(group, ("exp_avg", "exp_avg_sq"))

    def _step_each(self, group: dict, names: tuple) -> None:
        state = self.state
        self._refuse_sparse(group)
        for p in group["params"]:
            if p.grad is None:
                continue
            st = state[p]
            if "step" not in st:
                st["step"] = _wrap(np.zeros((), np.float32))
                st["mu_product"] = _wrap(np.ones((), np.float32))
                st["exp_avg"] = _wrap(xp_of(p._data).zeros_like(p._data))
                st["exp_avg_sq"] = _wrap(xp_of(p._data).zeros_like(p._data))
            for k in ("step", "mu_product"):
                if not isinstance(st[k], Tensor):
                    st[k] = _wrap(np.asarray(float(st[k]), np.float32))
            st["step"]._data += 1
            self._update(group, p._data, p.grad._data, st)
            p._bump()

    def _update(self, group: dict, p, g, st: dict) -> None:
        xp = xp_of(p)
        step = float(st["step"]._data)
        b1, b2 = group["betas"]
        lr, eps, md = float(group["lr"]), group["eps"], group["momentum_decay"]
        d = direction(group, p, g, group["decoupled_weight_decay"])
        bc2 = 1 - b2**step
        mu = b1 * (1.0 - 0.5 * (0.96 ** (step * md)))
        mu_next = b1 * (1.0 - 0.5 * (0.96 ** ((step + 1) * md)))
        mp = st["mu_product"]._data
        mp *= np.float32(mu)
        mu_prod = float(mp)
        m, v = st["exp_avg"]._data, st["exp_avg_sq"]._data
        m += (d - m) * (1 - b1)
        v *= b2
        v += (1 - b2) * d * d
        den = xp.sqrt(v / bc2)
        den += eps
        mu_prod_next = float(mp * np.float32(mu_next))
        p -= (lr * (1.0 - mu) / (1.0 - mu_prod)) * (d / den)
        p -= (lr * mu_next / (1.0 - mu_prod_next)) * (m / den)
