"""Schedulers that drive other schedulers: SequentialLR and ChainedScheduler (re-exported by
``ember.optim.lr_scheduler``, where they pickle from)."""

from __future__ import annotations

from bisect import bisect_right

from .lr_scheduler import LRScheduler, ReduceLROnPlateau, _lrs
from .optimizer import Optimizer

__all__ = ["SequentialLR", "ChainedScheduler"]


def _check_member(owner, i: int, s, optimizer) -> None:
    """torch's checks on the i-th scheduler handed to a SequentialLR or ChainedScheduler."""
    if isinstance(s, ReduceLROnPlateau):
        raise ValueError(
            f"{type(owner).__name__} does not support `ReduceLROnPlateau` "
            "scheduler as it requires additional kwargs to be specified "
            "when calling `step`, but got one at index "
            f"{i} in the given schedulers sequence."
        )
    if s.optimizer is not optimizer:
        raise ValueError(
            f"{type(owner).__name__} expects all schedulers to belong to "
            f"the same optimizer, but got scheduler "
            f"{type(s).__name__} at index {i} has {s.optimizer}, which "
            f"is different from {type(optimizer).__name__}."
        )


def _nested_state_dict(sched) -> dict:
    # the wrapped schedulers are saved as their own state dicts, as torch does
    sd = {k: v for k, v in sched.__dict__.items() if k not in ("optimizer", "_schedulers")}
    sd["_schedulers"] = [s.state_dict() for s in sched._schedulers]
    return sd


def _load_nested_state_dict(sched, state_dict: dict) -> None:
    subs = state_dict.pop("_schedulers")
    sched.__dict__.update(state_dict)
    state_dict["_schedulers"] = subs  # the caller's dict is left as it was given
    for s, sd in zip(sched._schedulers, subs):
        s.load_state_dict(sd)


class SequentialLR(LRScheduler):
    """Run schedulers one after another, switching at the milestones."""

    def __init__(
        self, optimizer: Optimizer, schedulers: list, milestones: list, last_epoch: int = -1
    ) -> None:
        if len(schedulers) < 1:
            raise ValueError(
                f"{type(self).__name__} expects at least one scheduler, but got no scheduler."
            )
        for i, s in enumerate(schedulers):
            if not hasattr(s, "optimizer"):
                raise TypeError(
                    f"{type(self).__name__} at index {i} should have `optimizer` as its attribute."
                )
            _check_member(self, i, s, optimizer)
        if len(milestones) != len(schedulers) - 1:
            raise ValueError(
                "Sequential Schedulers expects number of schedulers provided to be "
                "one more than the number of milestone points, but got number of "
                f"schedulers {len(schedulers)} and the number of milestones to be "
                f"equal to {len(milestones)}"
            )
        self._schedulers = schedulers
        self._milestones = milestones
        self.last_epoch = last_epoch + 1
        self.optimizer = optimizer
        for g in optimizer.param_groups:
            g["lr"] = g["initial_lr"]
        self._undo(self)
        idx = bisect_right(self._milestones, 0)
        self._schedulers[idx]._initial_step()
        self._last_lr = schedulers[idx].get_last_lr()

    def _undo(self, sched) -> None:
        if hasattr(sched, "_schedulers"):
            for s in sched._schedulers:
                self._undo(s)
        elif hasattr(sched, "last_epoch"):
            sched.last_epoch -= 1

    def step(self) -> None:
        self.last_epoch += 1
        idx = bisect_right(self._milestones, self.last_epoch)
        s = self._schedulers[idx]
        if idx > 0 and self._milestones[idx - 1] == self.last_epoch:
            s._update_lr(0)
        else:
            s.step()
        self._last_lr = s.get_last_lr()

    def state_dict(self) -> dict:
        """The scheduler state (without the optimizer)."""
        return _nested_state_dict(self)

    def load_state_dict(self, state_dict: dict) -> None:
        """Restore from state_dict()."""
        _load_nested_state_dict(self, state_dict)


class ChainedScheduler(LRScheduler):
    """Step several schedulers together each epoch."""

    def __init__(self, schedulers: list, optimizer: Optimizer | None = None) -> None:
        if len(schedulers) < 1:
            raise ValueError(
                f"{type(self).__name__} expects at least one scheduler to be "
                "chained, but got no scheduler."
            )
        optimizer = optimizer or schedulers[0].optimizer
        for i, s in enumerate(schedulers):
            _check_member(self, i, s, optimizer)
        self._schedulers = schedulers
        self.optimizer = optimizer
        self._last_lr = _lrs(schedulers[-1].optimizer)

    def step(self) -> None:
        for s in self._schedulers:
            s.step()
        self._last_lr = _lrs(self._schedulers[-1].optimizer)

    def state_dict(self) -> dict:
        """The scheduler state (without the optimizer)."""
        return _nested_state_dict(self)

    def load_state_dict(self, state_dict: dict) -> None:
        """Restore from state_dict()."""
        _load_nested_state_dict(self, state_dict)


for _c in (SequentialLR, ChainedScheduler):
    _c.__module__ = "ember.optim.lr_scheduler"
