"""Immutable list and dict for node arguments, as torch.fx.immutable_collections.

A node's ``args``/``kwargs`` hold these so that an edit has to go through ``Node.args = ...``,
which keeps the users of every input node up to date."""

from __future__ import annotations

from typing import Any, NoReturn

__all__ = ["immutable_dict", "immutable_list"]


def _no_mutation(self: Any, *args: Any, **kwargs: Any) -> NoReturn:
    raise TypeError(f"'{type(self).__name__}' object does not support mutation. ")


class immutable_list(list):  # noqa: N801 (torch's name)
    """A list that refuses in-place changes; hashable, as torch's."""

    __delitem__ = __iadd__ = __imul__ = __setitem__ = _no_mutation
    append = clear = extend = insert = pop = remove = reverse = sort = _no_mutation

    def __hash__(self) -> int:  # type: ignore[override]
        return hash(tuple(self))

    def __reduce__(self) -> tuple:
        return (immutable_list, (tuple(self),))


class immutable_dict(dict):  # noqa: N801 (torch's name)
    """A dict that refuses in-place changes; hashable, as torch's."""

    __delitem__ = __ior__ = __setitem__ = _no_mutation
    clear = pop = popitem = setdefault = update = _no_mutation

    def __hash__(self) -> int:  # type: ignore[override]
        return hash(tuple(self.items()))

    def __reduce__(self) -> tuple:
        return (immutable_dict, (tuple(self.items()),))
