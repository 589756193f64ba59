"""Temporary wrappers that make ember's functions record a node when called on a Proxy.

torch reaches ``torch.relu(proxy)`` through ``__torch_function__``; ember has no such protocol,
so while a tracer runs, the public functions of ember's namespaces (and of ``math``, and the
names given to ``fx.wrap``) are swapped for wrappers that emit a call_function node when an
argument holds a Proxy and otherwise call the original. Every swap is undone on exit, also on
error, so ember's functions cost nothing extra outside tracing."""

from __future__ import annotations

import builtins
import functools
import math
import types
from collections.abc import Callable
from typing import Any

import ember
import ember.fft
import ember.linalg
import ember.nn.functional as F
import ember.special
from ember.fx.proxy import Proxy

__all__ = ["Patcher", "find_proxy", "tracing_wrapper"]

# the namespaces whose functions a trace sees called on proxies (torch's __torch_function__ set)
PATCHED_SPACES: tuple[types.ModuleType, ...] = (
    ember,
    F,
    ember.linalg,
    ember.special,
    ember.fft,
    math,
)
# functions that answer about their argument's type, and must keep answering for a Proxy
_NEVER_WRAP = frozenset({"is_tensor", "is_storage", "typename", "is_grad_enabled"})

# fx.wrap registrations: (globals dict of the module that called wrap, name)
wrapped_names: list[tuple[dict[str, Any], str]] = []


def find_proxy(args: Any, depth: int = 0) -> Proxy | None:
    """The first Proxy inside ``args`` (nested lists, tuples and dict values), or None."""
    if isinstance(args, Proxy):
        return args
    if depth > 4:
        return None
    if isinstance(args, (list, tuple)):
        for a in args:
            p = find_proxy(a, depth + 1)
            if p is not None:
                return p
    elif isinstance(args, dict):
        return find_proxy(tuple(args.values()), depth + 1)
    return None


def tracing_wrapper(orig: Callable[..., Any]) -> Callable[..., Any]:
    """``orig``, recording a call_function node of it instead when a Proxy is passed."""

    @functools.wraps(orig)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        proxy = find_proxy(args)
        if proxy is None:
            proxy = find_proxy(kwargs)
        if proxy is None:
            return orig(*args, **kwargs)
        return proxy.tracer.create_proxy("call_function", orig, args, kwargs)

    wrapped.__fx_original__ = orig  # type: ignore[attr-defined]
    return wrapped


# private names torch.fx records all the same (torch._assert: torchvision's shape checks)
_PRIVATE_WRAPPED = frozenset({"_assert"})


def _wrappable(name: str, value: Any) -> bool:
    return (
        (not name.startswith("_") or name in _PRIVATE_WRAPPED)
        and name not in _NEVER_WRAP
        and callable(value)
        and not isinstance(value, (type, types.ModuleType))
        and getattr(value, "__fx_original__", None) is None
    )


class Patcher:
    """Swaps attributes and globals for the length of a ``with`` block."""

    def __init__(self) -> None:
        self._undo: list[tuple[Any, str, Any, bool]] = []  # (dict or object, name, old, had)
        self._wrappers: dict[int, Callable[..., Any]] = {}  # id(original) -> its wrapper
        self._patched_globals: set[int] = set()

    def __enter__(self) -> Patcher:
        return self

    def __exit__(self, *exc: object) -> None:
        while self._undo:
            where, name, old, had = self._undo.pop()
            if isinstance(where, dict):
                if had:
                    where[name] = old
                else:
                    where.pop(name, None)
            elif had:
                setattr(where, name, old)
            else:
                delattr(where, name)

    def patch_attr(self, obj: Any, name: str, new: Any) -> None:
        """Set ``obj.name = new`` until exit."""
        had = name in vars(obj)
        self._undo.append((obj, name, vars(obj).get(name), had))
        setattr(obj, name, new)

    def patch_global(self, g: dict[str, Any], name: str, new: Any) -> None:
        """Set ``g[name] = new`` until exit."""
        self._undo.append((g, name, g.get(name), name in g))
        g[name] = new

    def hide_key(self, d: dict[str, Any], name: str) -> None:
        """Remove ``d[name]`` until exit."""
        if name in d:
            self._undo.append((d, name, d.pop(name), True))

    def wrapper_for(self, orig: Callable[..., Any]) -> Callable[..., Any]:
        """The one wrapper of ``orig`` (shared by every place it is patched)."""
        w = self._wrappers.get(id(orig))
        if w is None:
            w = self._wrappers[id(orig)] = tracing_wrapper(orig)
        return w

    def patch_namespaces(self) -> None:
        """Wrap the public functions of ember's namespaces and math, and fx.wrap's names."""
        for space in PATCHED_SPACES:
            for name, value in list(vars(space).items()):
                if _wrappable(name, value):
                    self.patch_attr(space, name, self.wrapper_for(value))
        for g, name in wrapped_names:
            orig = g.get(name, getattr(builtins, name, None))
            if orig is not None and getattr(orig, "__fx_original__", None) is None:
                self.patch_global(g, name, self.wrapper_for(orig))

    def patch_globals_of(self, fn: Any) -> None:
        """Wrap the wrapped functions a module's code imported by name (``from ember import
        relu``), in that module's globals."""
        g = getattr(inspect_unwrap(fn), "__globals__", None)
        if g is None or id(g) in self._patched_globals:
            return
        self._patched_globals.add(id(g))
        for name, value in list(g.items()):
            w = self._wrappers.get(id(value))
            if w is not None and w is not value:
                self.patch_global(g, name, w)


def inspect_unwrap(fn: Any) -> Any:
    """The plain function behind a bound method or functools.wraps chain."""
    fn = getattr(fn, "__func__", fn)
    while hasattr(fn, "__wrapped__"):
        fn = fn.__wrapped__
    return fn
