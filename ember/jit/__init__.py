"""torch.jit as a pass-through: ember runs everything eagerly, as torch does with PYTORCH_JIT=0.

``script`` and ``trace`` hand back the function or module they get, unchanged; the decorators
(``ignore``, ``unused``, ``export``, ``script_method``, ``interface``) return what they decorate;
``is_scripting()`` and ``is_tracing()`` are False. TorchScript archives cannot be written or read:
``save`` and ``load`` raise an error that says so.
"""

from __future__ import annotations

import builtins
import warnings
from collections.abc import Callable
from typing import Any, Final

from .._torch_alias import EmberNotImplementedError, module_getattr
from ..futures import Future
from ..nn import Module

__all__ = [
    "script",
    "trace",
    "trace_module",
    "ignore",
    "unused",
    "export",
    "script_method",
    "interface",
    "is_scripting",
    "is_tracing",
    "annotate",
    "isinstance",
    "Final",
    "Attribute",
    "ScriptModule",
    "ScriptFunction",
    "fork",
    "wait",
    "freeze",
    "optimize_for_inference",
    "save",
    "load",
]


def _deprecated(name: str) -> None:
    # torch 2.13 warns on every script/trace call; ember says the same (it runs eagerly anyway)
    warnings.warn(
        f"`torch.jit.{name}` is deprecated. Please switch to `torch.compile` or `torch.export`.",
        DeprecationWarning,
        stacklevel=3,
    )


def script(
    obj: Any,
    optimize: None = None,
    _frames_up: int = 0,
    _rcb: Any = None,
    example_inputs: Any = None,
) -> Any:
    """torch.jit.script: the function, module or class itself (it runs eagerly)."""
    _deprecated("script")
    if optimize is not None:
        warnings.warn(
            "`optimize` is deprecated and has no effect. "
            "Use `with torch.jit.optimized_execution()` instead",
            FutureWarning,
            stacklevel=2,
        )
    return obj


def trace(
    func: Any,
    example_inputs: Any = None,
    optimize: Any = None,
    check_trace: bool = True,
    check_inputs: Any = None,
    check_tolerance: float = 1e-5,
    strict: bool = True,
    _force_outplace: bool = False,
    _module_class: Any = None,
    _compilation_unit: Any = None,
    example_kwarg_inputs: Any = None,
    _store_inputs: bool = True,
) -> Any:
    """torch.jit.trace: the function or module itself, unrun (it runs eagerly when called)."""
    _deprecated("trace")
    return func


def trace_module(mod: Module, inputs: Any, *args: Any, **kwargs: Any) -> Module:
    """torch.jit.trace_module: the module itself."""
    _deprecated("trace_method")
    return mod


def ignore(drop: Any = False, **kwargs: Any) -> Any:
    """torch.jit.ignore, bare (``@ignore``) or called (``@ignore(drop=True)``): the function."""
    if callable(drop):
        return drop
    if not builtins.isinstance(drop, bool):
        raise RuntimeError(
            f"Argument to @torch.jit.ignore must be a bool or a function but got {drop}"
        )
    return lambda fn: fn


def unused(fn: Callable) -> Callable:
    """torch.jit.unused: the function or property itself."""
    return fn


def export(fn: Callable) -> Callable:
    """torch.jit.export: the method itself."""
    return fn


def script_method(fn: Callable) -> Callable:
    """torch.jit.script_method: the method itself."""
    _deprecated("script_method")
    return fn


def interface(obj: Any) -> Any:
    """torch.jit.interface: the class itself."""
    return obj


def is_scripting() -> bool:
    """False: ember never compiles, so code is never being scripted."""
    return False


def is_tracing() -> bool:
    """False: ember never traces."""
    return False


def annotate(the_type: Any, the_value: Any) -> Any:
    """torch.jit.annotate: the value (the type only guides TorchScript)."""
    return the_value


def isinstance(obj: Any, target_type: Any) -> bool:  # noqa: A001
    """torch.jit.isinstance: a plain isinstance on the container's type (no element check)."""
    origin = getattr(target_type, "__origin__", None)
    return builtins.isinstance(obj, origin if origin is not None else target_type)


def Attribute(value: Any, type: Any) -> Any:  # noqa: A002, N802
    """torch.jit.Attribute, as torch without the JIT: the value."""
    return value


class ScriptModule(Module):
    """torch.jit.ScriptModule: a plain Module (ember does not compile); old-style subclasses with
    ``@script_method`` methods run eagerly."""


class ScriptFunction:
    """torch.jit.ScriptFunction: ember never makes one (``script`` returns the function)."""


def fork(func: Callable, *args: Any, **kwargs: Any) -> Future:
    """torch.jit.fork (and torch.fork): runs func now and returns its completed Future."""
    fut = Future()
    fut.set_result(func(*args, **kwargs))
    return fut


def wait(future: Future) -> Any:
    """torch.jit.wait (and torch.wait): the forked call's result."""
    return future.wait()


def freeze(mod: Module, preserved_attrs: Any = None, optimize_numerics: bool = True) -> Module:
    """torch.jit.freeze: the module itself."""
    return mod


def optimize_for_inference(mod: Module, other_methods: Any = None) -> Module:
    """torch.jit.optimize_for_inference: the module itself."""
    return mod


def save(m: Any, f: Any, _extra_files: Any = None) -> None:
    """TorchScript archives are not supported: save the state_dict with torch.save instead."""
    raise EmberNotImplementedError(
        "ember does not implement torch.jit.save: it runs models eagerly and writes no "
        "TorchScript archive; save the model's state_dict with torch.save instead"
    )


def load(
    f: Any, map_location: Any = None, _extra_files: Any = None, _restore_shapes: bool = False
) -> Any:
    """TorchScript archives are not supported: load a state_dict saved by torch.save instead."""
    raise EmberNotImplementedError(
        "ember does not implement torch.jit.load: it cannot read TorchScript archives; load a "
        "state_dict saved by torch.save and call model.load_state_dict instead"
    )


__getattr__ = module_getattr(__name__)
