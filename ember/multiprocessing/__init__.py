"""torch.multiprocessing: Python's multiprocessing, plus ``spawn``/``start_processes`` and the
sharing-strategy settings.

As in torch, every name of the standard ``multiprocessing`` module is here. Tensors sent through
its queues and pipes are pickled: the receiver gets a copy (torch moves CPU tensors into shared
memory instead; ember's DataLoader workers share their batches through segments of their own).
The sharing strategies are kept as torch reports them and change nothing here.
"""

from __future__ import annotations

import multiprocessing
from multiprocessing import *  # noqa: F403  (torch.multiprocessing is the standard module too)

from . import spawn as _spawn
from .spawn import *  # noqa: F403  (torch.multiprocessing has spawn's names at the top)

__all__ = [  # noqa: PLE0604 - the standard module's names, then torch's own
    *multiprocessing.__all__,
    *_spawn.__all__,
    "get_sharing_strategy",
    "set_sharing_strategy",
    "get_all_sharing_strategies",
]

_STRATEGIES = {"file_descriptor", "file_system"}
_strategy = ["file_descriptor"]


def get_all_sharing_strategies() -> set:
    """The strategies torch offers on Linux: {'file_descriptor', 'file_system'}."""
    return set(_STRATEGIES)


def get_sharing_strategy() -> str:
    """The current strategy (torch's default on Linux: 'file_descriptor')."""
    return _strategy[0]


def set_sharing_strategy(new_strategy: str) -> None:
    """Choose a strategy (kept and reported; ember's shared batches do not depend on it)."""
    if new_strategy not in _STRATEGIES:
        raise AssertionError()
    _strategy[0] = new_strategy
