"""The registry behind ``torch.ops.<namespace>.<name>``: namespaces of user-registered operators.

``ember.ops`` is ember's own package of op modules; its module ``__getattr__`` hands every name
that is not one of those modules to :func:`namespace`, so ``torch.ops.mylib.foo`` reaches the
operators that ``ember.library`` registers. This module only keeps the names and the callables;
the dispatch (kernels per device, autograd) lives in ``ember.library``.
"""

from __future__ import annotations

import pkgutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .._torch_alias import not_implemented

__all__ = ["OpNamespace", "OpOverloadPacket", "OpOverload", "namespace", "register", "remove"]

# namespaces whose operators are torch's own (ATen, prims): ember runs none of them by name
_TORCH_NAMESPACES = frozenset({"aten", "prims", "prim", "quantized", "_c10d_functional"})


def internal_module_names() -> frozenset[str]:
    """The module names of ``ember.ops`` itself, which a registered namespace cannot reuse."""
    return frozenset(m.name for m in pkgutil.iter_modules([str(Path(__file__).parent)]))


class OpOverload:
    """One overload of an operator (``torch.ops.ns.name.default``); calling it runs the op."""

    def __init__(self, namespace: str, name: str, overload: str, schema: str, call: Callable):
        self._namespace = namespace
        self._opname = name
        self._overloadname = overload
        self._schema = schema
        self._call = call
        self.__name__ = f"{name}.{overload}"
        self.__qualname__ = self.__name__
        self.__module__ = f"torch.ops.{namespace}"

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._call(*args, **kwargs)

    def name(self) -> str:
        """'ns::name' or 'ns::name.overload', as torch's OpOverload.name()."""
        base = f"{self._namespace}::{self._opname}"
        return base if self._overloadname == "default" else f"{base}.{self._overloadname}"

    @property
    def namespace(self) -> str:
        return self._namespace

    @property
    def overloadpacket(self) -> OpOverloadPacket:
        return namespace(self._namespace)._packets[self._opname]

    def __repr__(self) -> str:
        return (
            f"<OpOverload(op='{self._namespace}.{self._opname}', overload='{self._overloadname}')>"
        )

    def __str__(self) -> str:
        return f"{self._namespace}.{self._opname}.{self._overloadname}"


class OpOverloadPacket:
    """An operator with its overloads (``torch.ops.ns.name``); calling it runs ``.default``."""

    def __init__(self, namespace: str, name: str):
        self._namespace = namespace
        self._opname = name
        self._overloads: dict[str, OpOverload] = {}
        self.__name__ = name
        self.__qualname__ = name
        self._qualified_op_name = f"{namespace}::{name}"

    def __getattr__(self, name: str) -> OpOverload:
        if name.startswith("__") and name.endswith("__"):
            raise AttributeError(name)
        try:
            return self.__dict__["_overloads"][name]
        except KeyError:
            raise AttributeError(
                f"The underlying op of '{self._namespace}.{self._opname}' has no overload name "
                f"'{name}'"
            ) from None

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        first = self._overloads.get("default") or next(iter(self._overloads.values()))
        return first(*args, **kwargs)

    def overloads(self) -> list[str]:
        """The overload names, as torch's OpOverloadPacket.overloads()."""
        return list(self._overloads)

    def __repr__(self) -> str:
        return f"<OpOverloadPacket(op='{self._namespace}.{self._opname}')>"

    def __str__(self) -> str:
        return f"{self._namespace}.{self._opname}"


class OpNamespace:
    """``torch.ops.<namespace>``: made on first access, as torch's; unknown ops raise
    AttributeError."""

    def __init__(self, name: str):
        self.name = name
        self._packets: dict[str, OpOverloadPacket] = {}

    def __getattr__(self, op: str) -> OpOverloadPacket:
        if op.startswith("__") and op.endswith("__"):
            raise AttributeError(op)
        packets = self.__dict__["_packets"]
        if op in packets:
            return packets[op]
        if self.name in _TORCH_NAMESPACES:
            raise not_implemented(f"torch.ops.{self.name}.{op}")
        raise AttributeError(f"'_OpNamespace' '{self.name}' object has no attribute '{op}'")

    def __dir__(self) -> list[str]:
        return sorted(self._packets)

    def __iter__(self):
        return iter(self._packets)

    def __repr__(self) -> str:
        return f"<module 'torch.ops.{self.name}' from 'torch.ops'>"


_NAMESPACES: dict[str, OpNamespace] = {}


def namespace(name: str) -> OpNamespace:
    """The namespace object for ``name``, made on first access."""
    ns = _NAMESPACES.get(name)
    if ns is None:
        ns = _NAMESPACES[name] = OpNamespace(name)
    return ns


def register(
    namespace_name: str, name: str, overload: str, schema: str, call: Callable
) -> OpOverload:
    """Make ``torch.ops.<namespace_name>.<name>.<overload>`` call ``call``; returns the overload."""
    ns = namespace(namespace_name)
    packet = ns._packets.get(name)
    if packet is None:
        packet = ns._packets[name] = OpOverloadPacket(namespace_name, name)
    op = packet._overloads[overload] = OpOverload(namespace_name, name, overload, schema, call)
    return op


def remove(namespace_name: str, name: str, overload: str) -> None:
    """Forget one overload (and its packet when it was the last), as a Library's destruction."""
    ns = _NAMESPACES.get(namespace_name)
    packet = None if ns is None else ns._packets.get(name)
    if packet is None:
        return
    packet._overloads.pop(overload, None)
    if not packet._overloads:
        del ns._packets[name]


def lookup(namespace_name: str, name: str, overload: str = "default") -> OpOverload | None:
    """The registered overload, or None."""
    ns = _NAMESPACES.get(namespace_name)
    packet = None if ns is None else ns._packets.get(name)
    return None if packet is None else packet._overloads.get(overload)
