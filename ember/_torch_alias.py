"""The import hook behind ``ember run``: ``import torch.X.Y`` gives the module ``ember.X.Y``.

``import torchvision.X`` likewise gives ``ember.vision.X`` (torchvision is ``ember.vision``).

A finder on ``sys.meta_path`` answers for ``torch`` and every ``torch.*`` name. When ember has the
matching module, that same module object is registered under both names in ``sys.modules``, so
``torch.nn is ember.nn``. When ember lacks it, the name gets a placeholder module whose attributes
(and calls) raise :class:`EmberNotImplementedError` naming the torch API, for example
``ember does not implement torch.fft.rfft yet``.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import sys
import types
from collections.abc import Callable
from typing import Any

__all__ = [
    "EmberNotImplementedError",
    "TorchAliasFinder",
    "install",
    "uninstall",
    "is_installed",
    "not_implemented",
    "placeholder_module",
    "module_getattr",
]

ALIAS = "torch"
TARGET = "ember"
VISION_ALIAS = "torchvision"
VISION_TARGET = "ember.vision"
# (alias, target) pairs, the more specific target first so ember.vision names map to torchvision
_ALIASES = ((VISION_ALIAS, VISION_TARGET), (ALIAS, TARGET))

# torch namespaces a script may reach as ``torch.<name>`` without importing them first; when ember
# lacks one, ``ember.<name>`` gives a placeholder so the error names the full API (torch.fft.rfft).
KNOWN_TORCH_NAMESPACES = frozenset(
    {
        "amp",
        "ao",
        "compiler",
        "distributed",
        "distributions",
        "export",
        "fft",
        "func",
        "futures",
        "fx",
        "hub",
        "jit",
        "library",
        "linalg",
        "masked",
        "mps",
        "mtia",
        "multiprocessing",
        "nested",
        "onnx",
        "overrides",
        "package",
        "quantization",
        "signal",
        "sparse",
        "special",
        "testing",
        "xpu",
    }
)


# torch's private submodules that scripts reach as ``torch.<name>`` after a plain ``import torch``
# (torch imports them at start-up or on first use); other private names stay private.
PRIVATE_SUBMODULES = frozenset({"_dynamo", "_inductor", "_utils"})


class EmberNotImplementedError(NotImplementedError, AttributeError):
    """A torch API that ember does not provide yet (also an AttributeError, so hasattr is False)."""


# Tracebacks print it as the builtin name users expect: "NotImplementedError: ember does not ...".
EmberNotImplementedError.__module__ = "builtins"
EmberNotImplementedError.__name__ = EmberNotImplementedError.__qualname__ = "NotImplementedError"


def not_implemented(torch_name: str) -> EmberNotImplementedError:
    """The error for a missing torch API, ready to raise."""
    return EmberNotImplementedError(f"ember does not implement {torch_name} yet")


def _torch_name(ember_name: str) -> str:
    """'ember.nn.functional' -> 'torch.nn.functional' (and 'ember.vision.X' -> 'torchvision.X')."""
    if ember_name == VISION_TARGET or ember_name.startswith(VISION_TARGET + "."):
        return VISION_ALIAS + ember_name[len(VISION_TARGET) :]
    if ember_name == TARGET or ember_name.startswith(TARGET + "."):
        return ALIAS + ember_name[len(TARGET) :]
    return ember_name


class _Placeholder(types.ModuleType):
    """A module standing in for a torch namespace ember lacks; every use names the torch API."""

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") and name.endswith("__"):
            raise AttributeError(name)
        raise not_implemented(f"{self.__name__}.{name}")

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        raise not_implemented(self.__name__)

    def __repr__(self) -> str:
        return f"<placeholder module {self.__name__!r}: not implemented by ember>"


def placeholder_module(torch_name: str) -> types.ModuleType:
    """A placeholder module for a torch namespace that ember does not implement."""
    mod = _Placeholder(torch_name, f"ember does not implement {torch_name} yet")
    mod.__path__ = []  # a package, so torch.X.Y imports below it get placeholders too
    return mod


def module_getattr(module_name: str) -> Callable[[str], Any]:
    """A module-level ``__getattr__`` for ``module_name`` that names the torch API when missing."""
    torch_base = _torch_name(module_name)

    def __getattr__(name: str) -> Any:
        if name.startswith("__") and name.endswith("__"):
            raise AttributeError(f"module {module_name!r} has no attribute {name!r}")
        mod = sys.modules.get(module_name)
        public = not name.startswith("_") or (module_name == TARGET and name in PRIVATE_SUBMODULES)
        if mod is not None and hasattr(mod, "__path__") and public:
            sub = _import_ember(f"{module_name}.{name}")
            if sub is not None:
                return sub
            if module_name == TARGET and name in KNOWN_TORCH_NAMESPACES:
                ph = placeholder_module(f"{torch_base}.{name}")
                setattr(mod, name, ph)
                return ph
        raise not_implemented(f"{torch_base}.{name}")

    __getattr__.__doc__ = "Unknown names raise an error naming the torch API ember lacks."
    return __getattr__


_top_getattr = module_getattr(TARGET)


def top_level_getattr(name: str) -> Any:
    """``ember.__getattr__``: import a submodule lazily, else raise a not-implemented error."""
    return _top_getattr(name)


def _import_ember(name: str) -> types.ModuleType | None:
    """Import ``name`` (an ember module); None when no such module exists."""
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        missing = exc.name or ""
        # Only "this module (or a parent) does not exist" means absent; other errors surface.
        if missing == name or name.startswith(missing + "."):
            return None
        raise


class _AliasLoader(importlib.abc.Loader):
    """Hands back an existing module (ember's, or a placeholder) under a torch name."""

    def __init__(self, module: types.ModuleType) -> None:
        self.module = module
        self.saved_spec = getattr(module, "__spec__", None)

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> types.ModuleType:
        return self.module

    def exec_module(self, module: types.ModuleType) -> None:
        # The import system stamps the torch spec onto the module; ember's own spec must stay.
        if self.saved_spec is not None:
            module.__spec__ = self.saved_spec
        if not isinstance(module, _Placeholder) and "__getattr__" not in module.__dict__:
            module.__getattr__ = module_getattr(module.__name__)


def _ember_name(fullname: str) -> str | None:
    """'torch.nn' -> 'ember.nn', 'torchvision.io' -> 'ember.vision.io'; None for other names."""
    for alias, target in _ALIASES:
        if fullname == alias or fullname.startswith(alias + "."):
            return target + fullname[len(alias) :]
    return None


class TorchAliasFinder(importlib.abc.MetaPathFinder):
    """Resolves ``torch``, ``torchvision`` and their submodules to ember modules or placeholders."""

    def find_spec(self, fullname: str, path: Any = None, target: Any = None):
        ember_name = _ember_name(fullname)
        if ember_name is None:
            return None
        parent = sys.modules.get(fullname.rpartition(".")[0]) if "." in fullname else None
        if isinstance(parent, _Placeholder):
            module: types.ModuleType | None = None
        else:
            module = _import_ember(ember_name)
        if module is None:
            module = placeholder_module(fullname)
        is_pkg = hasattr(module, "__path__")
        spec = importlib.machinery.ModuleSpec(fullname, _AliasLoader(module), is_package=is_pkg)
        if is_pkg:
            spec.submodule_search_locations = list(getattr(module, "__path__", []))
        return spec


_FINDER: TorchAliasFinder | None = None


def install() -> None:
    """Make ``import torch``/``import torchvision`` (and submodules) resolve to ember here."""
    global _FINDER
    loaded = sys.modules.get(ALIAS)
    if loaded is not None and not getattr(loaded, "__name__", "").startswith(TARGET):
        raise RuntimeError(
            "PyTorch itself is already imported in this process, so `torch` cannot be "
            "redirected to ember; install the alias before anything imports torch"
        )
    loaded = sys.modules.get(VISION_ALIAS)
    if loaded is not None and not getattr(loaded, "__name__", "").startswith(VISION_TARGET):
        raise RuntimeError(
            "torchvision itself is already imported in this process, so `torchvision` cannot be "
            "redirected to ember.vision; install the alias before anything imports torchvision"
        )
    if _FINDER is None:
        _FINDER = TorchAliasFinder()
    if _FINDER not in sys.meta_path:
        sys.meta_path.insert(0, _FINDER)


def uninstall() -> None:
    """Remove the hook and every ``torch``/``torchvision`` entry it put in ``sys.modules``."""
    if _FINDER is not None and _FINDER in sys.meta_path:
        sys.meta_path.remove(_FINDER)
    for key in [k for k in sys.modules if _ember_name(k) is not None]:
        mod = sys.modules[key]
        if isinstance(mod, _Placeholder) or getattr(mod, "__name__", "").startswith(TARGET):
            del sys.modules[key]


def is_installed() -> bool:
    """True while the torch -> ember hook is active."""
    return _FINDER is not None and _FINDER in sys.meta_path
