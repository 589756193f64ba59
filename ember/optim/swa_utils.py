"""Stochastic weight averaging: AveragedModel (SWA or EMA), SWALR and update_bn, as
``torch.optim.swa_utils``."""

from __future__ import annotations

import copy
import itertools
import math
import warnings
from collections.abc import Callable, Iterable
from typing import Any

from ..autograd.grad_mode import no_grad
from ..dtypes import int64
from ..nn.modules.batchnorm import _BatchNorm
from ..nn.modules.module import Module
from ..ops.creation import tensor
from ..tensor import Tensor
from .lr_scheduler import LRScheduler
from .optimizer import Optimizer

__all__ = [
    "AveragedModel",
    "update_bn",
    "SWALR",
    "get_ema_multi_avg_fn",
    "get_swa_multi_avg_fn",
    "get_ema_avg_fn",
    "get_swa_avg_fn",
]

# torch's error for its integer foreach addcdiv (the SWA multi update of integer buffers)
_INT_ADDCDIV_ERROR = (
    "Integer division with addcdiv is no longer supported, and in a future  release addcdiv will "
    "perform a true division of tensor1 and tensor2. The historic addcdiv behavior can be "
    "implemented as (input + value * torch.trunc(tensor1 / tensor2)).to(input.dtype) for integer "
    "inputs and as (input + value * tensor1 / tensor2) for float inputs. The future addcdiv "
    "behavior is just the latter implementation: (input + value * tensor1 / tensor2), for all "
    "dtypes."
)


def _check_decay(decay: float) -> None:
    if decay < 0.0 or decay > 1.0:
        raise ValueError(
            f"Invalid decay value {decay} provided. Please provide a value in [0,1] range."
        )


def _is_float_or_complex(t: Tensor) -> bool:
    return t.dtype.is_floating_point or t.dtype.is_complex


def _lerp_(start: Tensor, end: Tensor, weight: float) -> None:
    """In-place lerp with torch's two-sided formula (exact at weight 0 and 1)."""
    diff = end - start
    if weight < 0.5:
        start.copy_(start + weight * diff)
    else:
        start.copy_(end - diff * (1 - weight))


def get_ema_avg_fn(decay: float = 0.999) -> Callable:
    """avg_fn for an exponential moving average: ``decay * ema + (1 - decay) * current``."""
    _check_decay(decay)

    def ema_update(ema_param: Tensor, current_param: Tensor, num_averaged: Any) -> Tensor:
        with no_grad():
            return decay * ema_param + (1 - decay) * current_param

    return ema_update


def get_swa_avg_fn() -> Callable:
    """avg_fn for the running (equal-weight) average."""

    def swa_update(averaged_param: Tensor, current_param: Tensor, num_averaged: Any) -> Tensor:
        with no_grad():
            return averaged_param + (current_param - averaged_param) / (num_averaged + 1)

    return swa_update


def get_ema_multi_avg_fn(decay: float = 0.999) -> Callable:
    """multi_avg_fn updating a list of tensors (one device and dtype) with an EMA, in place.

    As torch: float and complex tensors by lerp, integer ones through a float result truncated
    back into the integer tensor.
    """
    _check_decay(decay)

    def ema_update(ema_param_list: list, current_param_list: list, _: Any) -> None:
        with no_grad():
            if _is_float_or_complex(ema_param_list[0]):
                for e, c in zip(ema_param_list, current_param_list, strict=True):
                    _lerp_(e, c, 1 - decay)
            else:
                for e, c in zip(ema_param_list, current_param_list, strict=True):
                    e.copy_(e * decay + c * (1 - decay))

    return ema_update


def get_swa_multi_avg_fn() -> Callable:
    """multi_avg_fn updating a list of tensors (one device and dtype) with the running average.

    As torch: float and complex tensors by lerp with weight ``1 / (n + 1)``; integer tensors
    raise torch's RuntimeError (its integer addcdiv or add with a float alpha).
    """

    def swa_update(averaged_param_list: list, current_param_list: list, num_averaged: Any) -> None:
        with no_grad():
            if _is_float_or_complex(averaged_param_list[0]):
                weight = 1 / (num_averaged + 1)
                weight = weight.item() if isinstance(weight, Tensor) else float(weight)
                for a, c in zip(averaged_param_list, current_param_list, strict=True):
                    _lerp_(a, c, weight)
            elif isinstance(num_averaged, Tensor):
                raise RuntimeError(_INT_ADDCDIV_ERROR)
            else:
                raise RuntimeError(
                    "For integral input tensors, argument alpha must not be a floating point "
                    "number."
                )

    return swa_update


def _group_by_device_and_dtype(mine: list, theirs: list) -> dict:
    groups: dict = {}
    for a, c in zip(mine, theirs):
        pair = groups.setdefault((a.device, a.dtype), ([], []))
        pair[0].append(a)
        pair[1].append(c)
    return groups


class AveragedModel(Module):
    """A copy of a model whose parameters are averaged over update_parameters() calls.

    As torch: the first update copies the model; later ones use ``avg_fn`` (per tensor),
    ``multi_avg_fn`` (per device-and-dtype group) or the equal-weight average; with
    ``use_buffers`` the buffers are averaged too, otherwise copied. ``n_averaged`` is an int64
    buffer (so it is in the state_dict).
    """

    def __init__(
        self,
        model: Module,
        device: Any = None,
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
        self.register_buffer("n_averaged", tensor(0, dtype=int64, device=device))
        self.avg_fn = avg_fn
        self.multi_avg_fn = multi_avg_fn
        self.use_buffers = use_buffers

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        return self.module(*args, **kwargs)

    def update_parameters(self, model: Module) -> None:
        """Fold the current parameters (and, with use_buffers, buffers) of ``model`` in."""
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
        first = int(self.n_averaged.item()) == 0
        with no_grad():
            for a, c in zip(mine, theirs):
                c = c.detach().to(a.device)
                mine_d.append(a.detach())
                theirs_d.append(c)
                if first:
                    a.detach().copy_(c)
            if not first:
                self._average(mine_d, theirs_d)
            if not self.use_buffers:  # buffers follow the source model
                for b_swa, b_model in zip(self.module.buffers(), model.buffers(), strict=True):
                    b_swa.detach().copy_(b_model.detach().to(b_swa.device))
            self.n_averaged.add_(1)

    def _average(self, mine: list, theirs: list) -> None:
        if self.multi_avg_fn is None and self.avg_fn is not None:
            for a, c in zip(mine, theirs, strict=True):
                a.copy_(self.avg_fn(a, c, self.n_averaged.to(a.device)))
            return
        for (device, _), (group_mine, group_theirs) in _group_by_device_and_dtype(
            mine, theirs
        ).items():
            n = self.n_averaged.to(device)
            if self.multi_avg_fn is not None:
                self.multi_avg_fn(group_mine, group_theirs, n)
            elif device.type == "cuda":  # torch's foreach path: lerp
                get_swa_multi_avg_fn()(group_mine, group_theirs, n)
            else:  # torch's CPU path: the per-tensor formula (integers truncate back)
                avg_fn = get_swa_avg_fn()
                for a, c in zip(group_mine, group_theirs, strict=True):
                    a.copy_(avg_fn(a, c, n))


def update_bn(loader: Iterable[Any], model: Module, device: Any = None) -> None:
    """Recompute BatchNorm running statistics with one pass over ``loader``.

    As torch: every batch-norm layer's statistics are reset and then accumulated as a plain
    average (momentum None); a batch that is a list or tuple gives its first element.
    """
    with no_grad():
        momenta = {}
        for m in model.modules():
            if isinstance(m, _BatchNorm):
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
    """Anneal each group's lr to a fixed swa_lr over anneal_epochs ('cos' or 'linear').

    As torch: ``swa_lr`` is one value or one per group; the state_dict holds everything but the
    optimizer and the annealing function, which load_state_dict rebuilds from the strategy.
    """

    def __init__(
        self,
        optimizer: Optimizer,
        swa_lr: float | list,
        anneal_epochs: int = 10,
        anneal_strategy: str = "cos",
        last_epoch: int = -1,
    ) -> None:
        groups = optimizer.param_groups
        if isinstance(swa_lr, (list, tuple)):
            if len(swa_lr) != len(groups):
                raise ValueError(
                    "swa_lr must have the same length as optimizer.param_groups. "
                    f"swa_lr has {len(swa_lr)} values, param_groups has {len(groups)}."
                )
            swa_lrs = list(swa_lr)
        else:
            swa_lrs = [swa_lr] * len(groups)
        for lr, g in zip(swa_lrs, groups, strict=True):
            g["swa_lr"] = lr.clone() if isinstance(lr, Tensor) else lr
        if anneal_strategy not in ("cos", "linear"):
            raise ValueError(
                f"anneal_strategy must be one of 'cos' or 'linear', instead got {anneal_strategy}"
            )
        self._set_anneal_func(anneal_strategy)
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

    def _set_anneal_func(self, anneal_strategy: str) -> None:
        self._anneal_strategy = anneal_strategy
        self.anneal_func = self._cosine_anneal if anneal_strategy == "cos" else self._linear_anneal

    def get_lr(self) -> list:
        """The next lr of each group: from the previous lr towards swa_lr along anneal_func."""
        if not getattr(self, "_get_lr_called_within_step", False):
            warnings.warn(
                "To get the last learning rate computed by the scheduler, please use "
                "`get_last_lr()`.",
                UserWarning,
                stacklevel=2,
            )
        step = self._step_count - 1
        if self.anneal_epochs == 0:
            step = max(1, step)
        groups = self.optimizer.param_groups
        prev_t = max(0, min(1, (step - 1) / max(1, self.anneal_epochs)))
        prev_alpha = self.anneal_func(prev_t)
        prev = [self._get_initial_lr(g["lr"], g["swa_lr"], prev_alpha) for g in groups]
        t = max(0, min(1, step / max(1, self.anneal_epochs)))
        alpha = self.anneal_func(t)
        return [g["swa_lr"] * alpha + lr * (1 - alpha) for g, lr in zip(groups, prev, strict=True)]

    def state_dict(self) -> dict[str, Any]:
        """Everything but the optimizer and the annealing function."""
        return {k: v for k, v in self.__dict__.items() if k not in ("optimizer", "anneal_func")}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore from state_dict(), rebuilding the annealing function."""
        self.__dict__.update(state_dict)
        self._set_anneal_func(self._anneal_strategy)
