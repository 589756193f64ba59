"""Global names in checkpoints: torch's names for ember objects (writing), the weights_only
allowlist, and the mapping of torch's names to ember's objects (reading)."""

from __future__ import annotations

import codecs
import importlib
from collections import Counter, OrderedDict

from .. import dtypes
from ..device import device
from ..nn.parameter import Parameter
from ..storage import STORAGE_DTYPES
from ..tensor import Size, Tensor
from . import storage

_BLOCKED_MODULES = ("sys", "os", "posix", "nt")
# ember classes whose file differs from torch's: torch's module for them
_TORCH_HOME = {
    "BatchNorm1d": "torch.nn.modules.batchnorm",
    "BatchNorm2d": "torch.nn.modules.batchnorm",
    "BatchNorm3d": "torch.nn.modules.batchnorm",
    "SyncBatchNorm": "torch.nn.modules.batchnorm",
    "DistributedDataParallel": "torch.nn.parallel.distributed",
}
_user_globals: set = set()
_safe_cache: dict | None = None


def _encode(obj, encoding: str = "utf-8", errors: str = "strict"):
    """_codecs.encode, limited to text encodings (what pickles of bytes use)."""
    if not isinstance(encoding, str) or not codecs.lookup(encoding)._is_text_encoding:
        raise ValueError(f"refusing codec {encoding!r} in a checkpoint")
    return codecs.encode(obj, encoding, errors)


def _bytearray(*args):
    """builtins.bytearray, refusing bytearray(n) (an allocation the file chooses)."""
    if args and not isinstance(args[0], (bytes, bytearray, list, str)):
        raise ValueError("refusing bytearray(n) in a checkpoint")
    return bytearray(*args)


def safe_globals_table() -> dict:
    """Full path -> object for every global that weights_only=True accepts by default."""
    global _safe_cache
    if _safe_cache is not None:
        return _safe_cache
    rc: dict = {
        "collections.OrderedDict": OrderedDict,
        "collections.Counter": Counter,
        "torch.nn.parameter.Parameter": Parameter,
        "torch.Size": Size,
        "torch.Tensor": Tensor,
        "torch.device": device,
        "torch.serialization._get_layout": storage.get_layout,
        "_codecs.encode": _encode,
        "builtins.bytearray": _bytearray,
        "builtins.set": set,
        "builtins.complex": complex,
        "torch._tensor._rebuild_from_type_v2": storage.rebuild_from_type_v2,
    }
    for name in storage.TORCH_DTYPE_NAMES:
        rc[f"torch.{name}"] = storage.dtype_global(name)
    for prefix in ("torch", "torch.cuda"):
        for name, dt in STORAGE_DTYPES.items():
            rc[f"{prefix}.{name}"] = storage.StorageType(name, dt)
            if "Complex" not in name:  # the legacy tensor classes: names only, never called
                for mod in (prefix, f"{prefix}.sparse"):
                    tname = f"{mod}.{name.replace('Storage', 'Tensor')}"
                    rc[tname] = storage.Marker(tname)
    for name in storage.QUANTIZED_STORAGES:
        rc[f"torch.{name}"] = storage.StorageType(name, None)
    for name in ("TypedStorage", "UntypedStorage"):
        rc[f"torch.storage.{name}"] = storage.StorageType(name, None)
    for q in (
        "per_tensor_affine",
        "per_tensor_symmetric",
        "per_channel_affine",
        "per_channel_symmetric",
        "per_channel_affine_float_qparams",
    ):
        rc[f"torch.{q}"] = storage.Marker(f"torch.{q}")
    for name, fn in storage.REBUILD_FUNCTIONS.items():
        rc[f"torch._utils.{name}"] = fn
    _safe_cache = rc
    return rc


def is_blocked(module: str) -> bool:
    return module in _BLOCKED_MODULES


# --- user allowlist (add_safe_globals) -------------------------------------------------------


def add_user_globals(items) -> None:
    for f in items:
        _check_user_global(f)
        _user_globals.add(f)


def _check_user_global(f) -> None:
    if isinstance(f, tuple):
        if len(f) != 2:
            raise ValueError(
                f"Expected tuple of length 2 (global, str of callable full path), "
                f"but got tuple of length: {len(f)}"
            )
        if type(f[1]) is not str:
            raise TypeError(
                f"Expected second item in tuple to be str of callable full path, "
                f"but got: {type(f[1])}"
            )


def user_globals_table() -> dict:
    """Full path -> object for the user's allowlist; ember objects also under torch's path."""
    rc: dict = {}
    for f in _user_globals:
        if isinstance(f, tuple):
            rc[f[1]] = f[0]
            continue
        mod, name = getattr(f, "__module__", None), getattr(f, "__qualname__", None)
        if mod is None or name is None:
            continue
        rc[f"{mod}.{name}"] = f
        tmod, tname = torch_name_of(f)
        rc[f"{tmod}.{tname}"] = f
    return rc


def user_allowed(module: str, name: str):
    """The user-allowlisted object for a global, or None."""
    if not _user_globals:
        return None
    table = user_globals_table()
    full = f"{module}.{name}"
    if full in table:
        return table[full]
    if module == "torch" or module.startswith("torch."):
        try:
            obj = resolve_torch(module, name)
        except Exception:
            return None
        for v in table.values():
            if v is obj:
                return obj
    return None


# --- torch name -> ember object ---------------------------------------------------------------


def _getattr_path(obj, qualname: str):
    for part in qualname.split("."):
        if part.startswith("__"):
            raise AttributeError(part)
        obj = getattr(obj, part)
    return obj


def resolve_torch(module: str, name: str):
    """ember's object for the torch global ``module.name`` (classes, functions, dtypes...)."""
    full = f"{module}.{name}"
    table = safe_globals_table()
    if full in table:
        return table[full]
    candidates = ["ember" + module[len("torch") :]]
    if module.startswith("torch.nn"):
        candidates += ["ember.nn", "ember.nn.functional"]
    if module.startswith("torch.optim"):
        candidates += ["ember.optim", "ember.optim.lr_scheduler"]
    candidates.append("ember")
    for modname in candidates:
        try:
            # by name at call time, as pickle's find_class (ember itself imports this module)
            return _getattr_path(importlib.import_module(modname), name)
        except (ImportError, AttributeError, ValueError):
            continue
    raise AttributeError(f"ember has no equivalent of {full}")


# --- ember object -> torch name ----------------------------------------------------------------


def torch_name_of(obj) -> tuple[str, str]:
    """(module, qualname) that a pickle should carry for a class or function, in torch's terms."""
    special = {
        Tensor: ("torch", "Tensor"),
        Parameter: ("torch.nn.parameter", "Parameter"),
        Size: ("torch", "Size"),
        device: ("torch", "device"),
        OrderedDict: ("collections", "OrderedDict"),
    }
    try:
        if obj in special:
            return special[obj]
    except TypeError:
        pass
    if isinstance(obj, dtypes.dtype):
        return "torch", obj.name
    mod = getattr(obj, "__module__", None)
    name = getattr(obj, "__qualname__", None) or getattr(obj, "__name__", None)
    if mod is None or name is None:
        raise TypeError(f"cannot pickle {obj!r}: it has no module and name")
    if "<locals>" in name or "<lambda>" in name:
        raise AttributeError(f"Can't pickle local object {mod}.{name}")
    if mod == "ember" or mod.startswith("ember."):
        # the package, by name at call time (it imports this module for save/load)
        package = importlib.import_module("ember")
        if "." not in name and getattr(package, name, None) is obj:
            return "torch", name
        if name in _TORCH_HOME and mod.startswith("ember.nn"):
            return _TORCH_HOME[name], name
        return "torch" + mod[len("ember") :], name
    return mod, name
