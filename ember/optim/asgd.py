"""ASGD (averaged stochastic gradient descent), as ``torch.optim.ASGD``."""

from __future__ import annotations

import numpy as np

from .._backend.xp import xp_of
from ..dtypes import get_default_dtype
from ..tensor import Tensor, _wrap
from ._arg_checks import check_hyperparameters
from .optimizer import Optimizer, direction

__all__ = ["ASGD"]


class ASGD(Optimizer):
    """SGD with a decaying step size ``eta`` and a running average ``ax`` of the iterates.

    As torch's (its per-tensor path, the CPU default): each step decays the parameter by
    ``1 - lambd * eta``, steps by ``-eta * grad``, then moves ``ax`` towards the parameter by
    ``mu`` (copies it while ``mu`` is 1); ``eta = lr / (1 + lambd * lr * step) ** alpha`` and
    ``mu = 1 / max(1, step - t0)`` are then set for the next step. The state per parameter is
    torch's: ``step``, ``eta`` and ``mu`` float32 scalar tensors and ``ax`` shaped like the
    parameter, so state dicts move between ember and torch. ``foreach``, ``differentiable`` and
    ``capturable`` are kept in the groups and do not change the update.
    """

    _uses_step = True
    _state_names = ("ax",)
    _elementwise = True

    def __init__(
        self,
        params,
        lr: float | Tensor = 1e-2,
        lambd: float = 1e-4,
        alpha: float = 0.75,
        t0: float = 1e6,
        weight_decay: float = 0,
        foreach: bool | None = None,
        maximize: bool = False,
        differentiable: bool = False,
        capturable: bool = False,
    ) -> None:
        if isinstance(lr, Tensor) and lr.numel() != 1:
            raise ValueError("Tensor lr must be 1-element")
        check_hyperparameters(lr=lr, weight_decay=weight_decay)
        defaults = dict(
            lr=lr,
            lambd=lambd,
            alpha=alpha,
            t0=t0,
            weight_decay=weight_decay,
            foreach=foreach,
            maximize=maximize,
            differentiable=differentiable,
            capturable=capturable,
        )
        super().__init__(params, defaults)

    def _step_group(self, group: dict) -> None:
        live = [p for p in group["params"] if p.grad is not None]
        if not live:
            return
        self._refuse_sparse(group)
        state = self.state
        for p in live:
            _init_state(state[p], p, group)
        # eta and mu are scalars per parameter; the flat path runs when the group's agree (as
        # they do whenever its parameters have taken the same steps), else each parameter
        # runs with its own
        scalars = {(float(state[p]["eta"]._data), float(state[p]["mu"]._data)) for p in live}
        if len(scalars) == 1:
            self._scalars = scalars.pop()
            super()._step_group(group)
        else:
            self._step_each(group, self._state_names)
        lr = float(group["lr"])
        lambd, alpha, t0 = group["lambd"], group["alpha"], group["t0"]
        # computed in double from the step, made a tensor of the default dtype, then copied
        # into eta and mu (float32 unless a loaded state made them the parameter's dtype)
        rnd = get_default_dtype()._np.type
        for p in live:
            st = state[p]
            step = float(st["step"]._data)
            st["eta"]._data[...] = rnd(lr / ((1 + lambd * lr * step) ** alpha))
            st["mu"]._data[...] = rnd(1 / max(1, step - t0))

    def _step_each(self, group: dict, names: tuple) -> None:
        # one parameter at a time, each with its own eta and mu
        state = self.state
        for p in group["params"]:
            if p.grad is None:
                continue
            st = state[p]
            self._scalars = (float(st["eta"]._data), float(st["mu"]._data))
            super()._step_each(dict(group, params=[p]), names)

    def _kernel(self, group: dict, p, g, bufs: dict, step, s) -> dict:
        xp = xp_of(p)
        eta, mu = self._scalars
        d = direction(group, p, g)
        p *= 1 - group["lambd"] * eta
        p -= eta * d
        ax = bufs["ax"]
        if mu != 1:
            xp.subtract(p, ax, out=s)
            s *= mu
            ax += s
        else:
            ax[...] = p
        return {}


def _init_state(st: dict, p: Tensor, group: dict) -> None:
    """torch's initial state (step 0, eta = lr, mu = 1, ax = 0), or a loaded state's plain
    numbers made float32 scalar tensors (as torch's ``__setstate__``)."""
    if not st:
        st["step"] = _wrap(np.zeros((), np.float32))
        st["eta"] = _wrap(np.asarray(float(group["lr"]), np.float32))
        st["mu"] = _wrap(np.ones((), np.float32))
        st["ax"] = _wrap(xp_of(p._data).zeros_like(p._data))
        return
    for k in ("step", "eta", "mu"):
        if not isinstance(st[k], Tensor):
            st[k] = _wrap(np.asarray(float(st[k]), np.float32))
