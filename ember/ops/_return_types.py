"""torch.return_types: the named tuples that ops such as max(dim), sort and frexp return."""

from __future__ import annotations

from collections import namedtuple

_RT: dict = {}


def return_type(name: str, a, b, fields=("values", "indices")) -> tuple:
    """A torch.return_types-like named tuple ``name(values=a, indices=b)``."""
    cls = _RT.get(name)
    if cls is None:
        cls = _RT[name] = namedtuple(name, fields)
        cls.__module__ = "torch.return_types"
        cls.__repr__ = _rt_repr
    return cls(a, b)


def _rt_repr(self) -> str:
    body = ",\n".join(f"{k}={v!r}" for k, v in zip(self._fields, self))
    return f"torch.return_types.{type(self).__name__}(\n{body})"
