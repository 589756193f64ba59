"""ember's ops, one module per family; each op's forward and backward side by side.

The package is also ``torch.ops``: a name that is not one of its modules is a namespace of
operators registered with ``torch.library`` (``torch.ops.mylib.foo``), as torch's.
"""

import importlib as _importlib
from typing import Any as _Any

from . import _op_registry

_MODULES = _op_registry.internal_module_names()


def __getattr__(name: str) -> _Any:
    """A module of ember's ops, imported on first use, or else a torch.ops namespace."""
    if name.startswith("__") and name.endswith("__"):
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    if name in _MODULES:
        return _importlib.import_module(f"{__name__}.{name}")
    if name == "load_library":
        raise _op_registry.not_implemented("torch.ops.load_library")
    return _op_registry.namespace(name)
