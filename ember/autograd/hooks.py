"""RemovableHandle: what every register_*_hook returns (tensors, graph nodes, modules,
optimizers); torch's public path for it is ``ember.utils.hooks.RemovableHandle``."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

# One counter for every handle: an id is unique among all hooks of a process, as torch's.
_ids = itertools.count()


class _ById:
    """The default ``hook``: the hook sits in ``hooks`` under this handle's id. One object, also
    after pickling or deep-copying a handle (a module keeps one, e.g. a lazy module's)."""

    def __reduce__(self) -> str:
        return "_BY_ID"


_BY_ID = _ById()


class RemovableHandle:
    """A handle that unregisters its hook on ``remove()`` or at the end of a ``with`` block.

    ``hooks`` is either a dict that holds the hook under ``handle.id`` (torch's form; the same
    key is also dropped from each ``extra_dict``), or, when ``hook`` is given, a list that
    holds ``hook`` itself. ``on_remove`` runs after every ``remove()``.
    """

    id: int

    def __init__(
        self,
        hooks: dict | list,
        hook: Any = _BY_ID,
        *,
        extra_dict: dict | list | tuple | None = None,
        on_remove: Callable[[], None] | None = None,
    ) -> None:
        self.id = next(_ids)
        self._hooks = hooks
        self._hook = hook
        if extra_dict is None:
            self._extra: tuple = ()
        elif isinstance(extra_dict, (list, tuple)):
            self._extra = tuple(extra_dict)
        else:
            self._extra = (extra_dict,)
        self._on_remove = on_remove

    def remove(self) -> None:
        """Unregister the hook (a second call does nothing more)."""
        if self._hook is _BY_ID:
            self._hooks.pop(self.id, None)
            for d in self._extra:
                d.pop(self.id, None)
        else:
            try:
                self._hooks.remove(self._hook)
            except ValueError:
                pass
        if self._on_remove is not None:
            self._on_remove()

    def __enter__(self) -> RemovableHandle:
        return self

    def __exit__(self, *exc: object) -> None:
        self.remove()
