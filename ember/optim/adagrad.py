"""Adagrad, as ``torch.optim.Adagrad`` (state created at construction, as torch)."""

from __future__ import annotations

import numpy as np

from .._backend.xp import xp_of
from ..autograd.engine import _coalesced
from ..tensor import Tensor, _wrap
from ._arg_checks import check_hyperparameters
from .optimizer import Optimizer, direction

__all__ = ["Adagrad"]


class Adagrad(Optimizer):
    """Per-coordinate learning rates from the sum of squared gradients.

    A sparse gradient moves only its rows (coalesced first), as torch's; weight decay then
    raises torch's error.
    """

    _uses_step = True
    _state_names = ("sum",)
    _sparse_error = None

    def __init__(
        self,
        params,
        lr: float = 1e-2,
        lr_decay: float = 0,
        weight_decay: float = 0,
        initial_accumulator_value: float = 0,
        eps: float = 1e-10,
        foreach=None,
        *,
        maximize: bool = False,
        differentiable: bool = False,
        fused=None,
    ) -> None:
        check_hyperparameters(
            lr=lr,
            eps=eps,
            weight_decay=weight_decay,
            lr_decay=lr_decay,
            initial_accumulator_value=initial_accumulator_value,
        )
        defaults = dict(
            lr=lr,
            lr_decay=lr_decay,
            eps=eps,
            weight_decay=weight_decay,
            initial_accumulator_value=initial_accumulator_value,
            foreach=foreach,
            maximize=maximize,
            differentiable=differentiable,
            fused=fused,
        )
        super().__init__(params, defaults)
        for group in self.param_groups:
            for p in group["params"]:
                st = self.state[p]
                st["step"] = _wrap(np.zeros((), np.float32))
                a = p._data
                st["sum"] = _wrap(
                    xp_of(a).full(a.shape, group["initial_accumulator_value"], a.dtype)
                )

    def _kernel(self, group: dict, p, g, bufs: dict, step, s) -> dict:
        xp = xp_of(p)
        d = direction(group, p, g)
        clr = float(group["lr"]) / (1 + (step - 1) * group["lr_decay"])
        acc = bufs["sum"]
        acc += d * d
        std = xp.sqrt(acc)
        std += group["eps"]
        p -= clr * (d / std)
        return {}

    def _sparse_kernel(self, group: dict, p: Tensor, g: Tensor, st: dict, step) -> None:
        if group["maximize"]:
            g = -g
        if group["weight_decay"] != 0:
            raise RuntimeError("weight_decay option is not compatible with sparse gradients")
        clr = float(group["lr"]) / (1 + (step - 1) * group["lr_decay"])
        # the update is not linear in the gradient: duplicates summed first
        ind, vals = _coalesced(g._indices()._data, g._data, tuple(g.shape))
        pa = p._data
        xp = xp_of(pa)
        rows = tuple(xp.asarray(k) for k in ind)
        acc = st["sum"]._data
        acc[rows] += vals * vals
        std = xp.sqrt(acc[rows])
        std += group["eps"]
        upd = vals / std
        upd *= -clr
        pa[rows] += upd
