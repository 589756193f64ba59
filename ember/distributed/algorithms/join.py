"""``Join``: let ranks with fewer inputs finish a loop while the others still run collectives.

Each iteration, every rank still in the loop calls ``Join.notify_join_context(joinable)``,
which all-reduces a 1 (this rank is active). A rank that ran out of inputs waits in ``Join``'s
exit: it all-reduces 0 and runs each joinable's ``main_hook`` (which shadows the collectives of
one iteration) until the sum is 0, that is every rank has joined; then every ``post_hook`` runs.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from types import TracebackType
from typing import Any

import numpy as np

from ...ops.creation import from_numpy
from ..collectives import all_reduce
from ..process_group import ProcessGroup, ReduceOp, _default_pg

__all__ = ["Join", "JoinHook", "Joinable"]


class JoinHook:
    """What a joined rank does for one joinable: ``main_hook`` per shadowed iteration, then
    ``post_hook(is_last_joiner)`` once all ranks have joined."""

    def main_hook(self) -> None:
        """Shadow one iteration's collectives of the still-active ranks."""

    def post_hook(self, is_last_joiner: bool) -> None:
        """Run once every rank has joined."""


class Joinable(ABC):
    """A class whose collectives can be shadowed by joined ranks (as DDP or ZeRO in torch)."""

    def __init__(self) -> None:
        super().__init__()
        self._join_config = _JoinConfig(enable=False, throw_on_early_termination=False, join=None)

    @abstractmethod
    def join_hook(self, **kwargs: Any) -> JoinHook:
        """The hook that shadows this joinable's collectives."""

    @property
    @abstractmethod
    def join_device(self):
        """The device the join all-reduces run on."""

    @property
    @abstractmethod
    def join_process_group(self) -> ProcessGroup | None:
        """The group the join all-reduces run over."""


class _JoinConfig:
    def __init__(self, enable: bool, throw_on_early_termination: bool, join: Join | None):
        self.enable = enable
        self.throw_on_early_termination = throw_on_early_termination
        self.join = join


class Join:
    """Context manager over ``Joinable`` objects for loops with uneven inputs across ranks.

    ``Join(joinables, enable=True, throw_on_early_termination=False, **kwargs)``; kwargs go to
    each ``join_hook``. With ``throw_on_early_termination`` the active ranks raise RuntimeError
    as soon as one rank has joined, instead of being shadowed.
    """

    def __init__(
        self,
        joinables: list[Joinable],
        enable: bool = True,
        throw_on_early_termination: bool = False,
        **kwargs: Any,
    ) -> None:
        if len(joinables) == 0:
            raise ValueError("The join context manager requires at least one joinable")
        self._joinables = joinables
        self._hooks = [j.join_hook(**kwargs) for j in joinables]
        self._enable = enable
        self._throw = throw_on_early_termination
        for j in joinables:
            j._join_config = _JoinConfig(enable, throw_on_early_termination, self)
        groups = {id(j.join_process_group): j.join_process_group for j in joinables}
        if len(groups) > 1:
            raise ValueError("Using join context manager with multiple process groups")
        self._group = next(iter(groups.values()))

    def __enter__(self) -> Join:
        return self

    def _count_active(self, mine: int) -> int:
        flag = from_numpy(np.array([mine], dtype=np.int64))
        all_reduce(flag, ReduceOp.SUM, self._group)
        return int(flag.item())

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if not self._enable or exc_type is not None:
            return
        if self._throw:
            self._count_active(0)  # matches the active ranks' check, which then raises
            return
        active = self._count_active(0)
        last = active == 0  # nobody was still active when this rank joined
        while active > 0:
            for hook in self._hooks:
                hook.main_hook()
            active = self._count_active(0)
        for hook in self._hooks:
            hook.post_hook(last)
        for j in self._joinables:
            j._join_config = _JoinConfig(False, False, None)

    @staticmethod
    def notify_join_context(joinable: Joinable):
        """Call once per iteration before the joinable's collectives: all-reduces 1 (active).

        With ``throw_on_early_termination`` raises RuntimeError when some rank has joined.
        Returns None (torch returns the async work handle of the all-reduce).
        """
        cfg = joinable._join_config
        if cfg.join is None or not cfg.enable:
            return None
        join = cfg.join
        active = join._count_active(1)
        size = (join._group if join._group is not None else _default_pg()).size()
        if cfg.throw_on_early_termination and active < size:
            raise RuntimeError(
                "Detected at least one rank that exhausted inputs. Throwing across all ranks."
            )
        return None
