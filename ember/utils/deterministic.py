"""torch.utils.deterministic: the ``fill_uninitialized_memory`` switch (True by default, as
torch's), read and set as a module attribute.

torch fills the memory of ``empty`` and friends with NaN (or the integer maximum) while it is on
and deterministic algorithms are enabled; ember keeps the setting but does not fill."""

from __future__ import annotations

import sys
import types

from .._backend import determinism as _determinism

__all__ = ["fill_uninitialized_memory"]  # noqa: F822 - a property of the module class below


class _DeterministicModule(types.ModuleType):
    """This module, with ``fill_uninitialized_memory`` stored in the backend's settings."""

    @property
    def fill_uninitialized_memory(self) -> bool:
        """Whether uninitialised memory is to be filled under deterministic algorithms."""
        return _determinism.fill_uninitialized_memory()

    @fill_uninitialized_memory.setter
    def fill_uninitialized_memory(self, mode: bool) -> None:
        _determinism.set_fill_uninitialized_memory(mode)


sys.modules[__name__].__class__ = _DeterministicModule
