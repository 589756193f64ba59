"""Stochastic weight averaging: AveragedModel (SWA or EMA), SWALR and update_bn, as
``torch.optim.swa_utils``."""

from __future__ import annotations

import copy
import itertools
import math
from collections.abc import Callable

from ..autograd.grad_mode import no_grad
from ..nn.modules.batchnorm import _BatchNorm
from ..nn.modules.module import Module
from ..ops.creation import tensor
from .lr_scheduler import LRScheduler
from .optimizer import Optimizer

__all__ = [
    "AveragedModel",
    "SWALR",
    "update_bn",
    "get_ema_avg_fn",
    "get_ema_multi_avg_fn",
    "get_swa_avg_fn",
    "get_swa_multi_avg_fn",
]


def get_ema_avg_fn(decay: float = 0.999) -> Callable:
    """avg_fn for an exponential moving average."""

    def ema_update(ema_param, current_param, num_averaged):
        return decay * ema_param + (1 - decay) * current_param

    return ema_update


def get_swa_avg_fn() -> Callable:
    """avg_fn for the running (equal-weight) average."""

    def swa_update(averaged_param, current_param, num_averaged):
        return averaged_param + (current_param - averaged_param) / (num_averaged + 1)

    return swa_update


def get_ema_multi_avg_fn(decay: float = 0.999) -> Callable:
    """multi_avg_fn updating lists of tensors with an exponential moving average."""

    def ema_update(ema_list, current_list, num_averaged):
        for e, c in zip(ema_list, current_list):
            e._data *= decay
            e._data += (1 - decay) * c._data
            e._bump()

    return ema_update


def get_swa_multi_avg_fn() -> Callable:
    """multi_avg_fn updating lists of tensors with the running average."""

    def swa_update(avg_list, current_list, num_averaged):
        n = float(num_averaged)
        for a, c in zip(avg_list, current_list):
            if a._data.dtype.kind in "fc":
                a._data += (c._data - a._data) / (n + 1)
            else:  # integer buffers (num_batches_tracked): integer steps, as torch
                a._data += (c._data - a._data) // int(n + 1)
            a._bump()

    return swa_update


class AveragedModel(Module):
    """A copy of a model whose parameters are averaged over update_parameters() calls."""

    def __init__(
        self,
        model: Module,
        device=None,
        avg_fn: Callable | None = None,
        multi_avg_fn: Callable | None = None,
        use_buffers: bool = False,
    ) -> None:
        super().__init__()
        if avg_fn is not None and multi_avg_fn is not None:
            raise AssertionError("Only one of avg_fn and multi_avg_fn should be provided")
        self.module = copy.deepcopy(model)
        if device is not None:
            self.module = self.module.to(device)
        self.register_buffer("n_averaged", tensor(0, dtype=None, device=device))
        self.avg_fn = avg_fn
        self.multi_avg_fn = multi_avg_fn
        self.use_buffers = use_buffers

    def forward(self, *args, **kwargs):
        return self.module(*args, **kwargs)

    def update_parameters(self, model: Module) -> None:
        """Fold the current parameters of ``model`` into the average."""
        mine = (
            itertools.chain(self.module.parameters(), self.module.buffers())
            if self.use_buffers
            else self.parameters()
        )
        theirs = (
            itertools.chain(model.parameters(), model.buffers())
            if self.use_buffers
            else model.parameters()
        )
        mine_d, theirs_d = [], []
        n = int(self.n_averaged.item())
        with no_grad():
            for a, c in zip(mine, theirs):
                c = c.detach().to(a.device)
                if n == 0:
                    a.copy_(c)
                else:
                    mine_d.append(a)
                    theirs_d.append(c)
            if n > 0:
                if self.multi_avg_fn is not None:
                    self.multi_avg_fn(mine_d, theirs_d, self.n_averaged.to(mine_d[0].device))
                elif self.avg_fn is not None:
                    for a, c in zip(mine_d, theirs_d):
                        a.copy_(self.avg_fn(a.detach(), c, self.n_averaged.to(a.device)))
                else:
                    get_swa_multi_avg_fn()(mine_d, theirs_d, self.n_averaged)
        if not self.use_buffers:
            for b_swa, b_model in zip(self.module.buffers(), model.buffers()):
                with no_grad():
                    b_swa.copy_(b_model.detach().to(b_swa.device))
        self.n_averaged._data += 1
        self.n_averaged._bump()


@no_grad()
def update_bn(loader, model: Module, device=None) -> None:
    """Recompute BatchNorm running statistics with one pass over ``loader``."""
    momenta = {}
    for m in model.modules():
        if isinstance(m, _BatchNorm) and m.running_mean is not None:
            m.reset_running_stats()
            momenta[m] = m.momentum
    if not momenta:
        return
    was_training = model.training
    model.train()
    for m in momenta:
        m.momentum = None
    for batch in loader:
        if isinstance(batch, (list, tuple)):
            batch = batch[0]
        if device is not None:
            batch = batch.to(device)
        model(batch)
    for m, mom in momenta.items():
        m.momentum = mom
    model.train(was_training)


class SWALR(LRScheduler):
    """Anneal each group's lr to a fixed swa_lr over anneal_epochs (cos or linear)."""

    def __init__(
        self,
        optimizer: Optimizer,
        swa_lr,
        anneal_epochs: int = 10,
        anneal_strategy: str = "cos",
        last_epoch: int = -1,
    ) -> None:
        swa_lrs = (
            swa_lr if isinstance(swa_lr, (list, tuple)) else [swa_lr] * len(optimizer.param_groups)
        )
        for lr, g in zip(swa_lrs, optimizer.param_groups):
            g["swa_lr"] = lr
        if anneal_strategy not in ("cos", "linear"):
            raise ValueError(
                f"anneal_strategy must by one of 'cos' or 'linear', instead got {anneal_strategy}"
            )
        self.anneal_func = self._cosine_anneal if anneal_strategy == "cos" else self._linear_anneal
        if not isinstance(anneal_epochs, int) or anneal_epochs < 0:
            raise ValueError(f"anneal_epochs must be equal or greater than 0, got {anneal_epochs}")
        self.anneal_epochs = anneal_epochs
        super().__init__(optimizer, last_epoch)

    @staticmethod
    def _linear_anneal(t: float) -> float:
        return t

    @staticmethod
    def _cosine_anneal(t: float) -> float:
        return (1 - math.cos(math.pi * t)) / 2

    @staticmethod
    def _get_initial_lr(lr: float, swa_lr: float, alpha: float) -> float:
        if alpha == 1:
            return swa_lr
        return (lr - alpha * swa_lr) / (1 - alpha)

    def get_lr(self) -> list:
        step = self._step_count - 1
        if self.anneal_epochs == 0:
            step = max(1, step)
        groups = self.optimizer.param_groups
        prev_t = max(0, min(1, (step - 1) / max(1, self.anneal_epochs)))
        prev_alpha = self.anneal_func(prev_t)
        prev = [self._get_initial_lr(g["lr"], g["swa_lr"], prev_alpha) for g in groups]
        t = max(0, min(1, step / max(1, self.anneal_epochs)))
        alpha = self.anneal_func(t)
        return [g["swa_lr"] * alpha + lr * (1 - alpha) for g, lr in zip(groups, prev)]
