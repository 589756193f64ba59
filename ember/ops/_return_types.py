"""torch.return_types: the named tuples that ops such as max(dim), sort, frexp and the linalg
decompositions return. One registry: each class is made once, by the first op (or the
``ember.return_types`` namespace) that asks for it."""

from __future__ import annotations

from collections import namedtuple

_RT: dict = {}


def struct(name: str, fields: tuple) -> type:
    """The torch.return_types-like named-tuple class ``name`` with ``fields``."""
    cls = _RT.get(name)
    if cls is None:
        cls = _RT[name] = namedtuple(name, fields)
        cls.__module__ = "torch.return_types"
        cls.__repr__ = _rt_repr
    return cls


def return_type(name: str, a, b, fields=("values", "indices")) -> tuple:
    """A torch.return_types-like named tuple ``name(values=a, indices=b)``."""
    return struct(name, fields)(a, b)


def _rt_repr(self) -> str:
    body = ",\n".join(f"{k}={v!r}" for k, v in zip(self._fields, self))
    return f"torch.return_types.{type(self).__name__}(\n{body})"
