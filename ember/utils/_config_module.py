"""The settings modules of torch's compiler stack (``torch._dynamo.config``,
``torch._inductor.config``) as plain attribute stores, with their ``patch`` context manager.

torch refuses a key its config does not declare; ember's stores accept any assignment (a script
that runs on torch only sets keys torch has), and reading a key never set and without an ember
default raises the not-implemented error naming it."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from typing import Any

from .._torch_alias import _torch_name, not_implemented

__all__ = ["Namespace", "patcher"]


class Namespace:
    """A nested settings group (``config.triton``): any attribute may be set, defaults answer."""

    def __init__(self, torch_name: str, **defaults: Any) -> None:
        object.__setattr__(self, "_torch_name", torch_name)
        self.__dict__.update(defaults)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") and name.endswith("__"):
            raise AttributeError(name)
        raise not_implemented(f"{self._torch_name}.{name}")

    def __repr__(self) -> str:
        items = {k: v for k, v in self.__dict__.items() if k != "_torch_name"}
        return f"<config {self._torch_name} {items}>"


def _resolve(module: Any, key: str) -> tuple[Any, str]:
    """The object holding dotted ``key`` ('triton.cudagraphs') and its last part."""
    *parents, last = key.split(".")
    obj = module
    for part in parents:
        obj = getattr(obj, part)
    return obj, last


def patcher(module_name: str):
    """The ``patch`` function of the config module ``module_name``."""

    @contextlib.contextmanager
    def patch(arg1: str | dict | None = None, arg2: Any = None, **kwargs: Any) -> Iterator[None]:
        """Set config keys for a block or a decorated function, then restore them, as torch's
        ``config.patch("key", value)``, ``patch({"key": value})`` or ``patch(key=value)``."""
        changes: dict[str, Any] = {}
        if isinstance(arg1, str):
            changes[arg1] = arg2
        elif isinstance(arg1, dict):
            changes.update(arg1)
        elif arg1 is not None:
            raise TypeError(f"patch expects a key name or a dict, got {type(arg1).__name__}")
        changes.update(kwargs)
        module = sys.modules[module_name]
        missing = object()
        saved = []
        for key, value in changes.items():
            obj, last = _resolve(module, key)
            saved.append((obj, last, obj.__dict__.get(last, missing)))
            setattr(obj, last, value)
        try:
            yield
        finally:
            for obj, last, old in reversed(saved):
                if old is missing:
                    delattr(obj, last)
                else:
                    setattr(obj, last, old)

    patch.__qualname__ = f"{_torch_name(module_name)}.patch"
    return patch
