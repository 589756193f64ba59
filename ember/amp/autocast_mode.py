"""autocast: the region in which the ops of torch's autocast lists run in a lower precision.

As torch's: a context manager and a decorator over a thread-local per-device state
(``ember/_autocast_state.py``); ``torch.autocast`` is this class. The casting itself happens where
the listed ops are entered (``ember/ops/_autocast.py``). The functions torch keeps at its top
level (``is_autocast_enabled``, ``get_autocast_dtype``, ...) are here and named on ``ember``.
"""

from __future__ import annotations

import collections.abc
import functools
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

from .. import _autocast_state as _st
from .._backend.xp import cuda_device_count
from ..dtypes import bfloat16, dtype, float16, float64
from ..tensor import Tensor

__all__ = [
    "autocast",
    "custom_bwd",
    "custom_fwd",
    "is_autocast_available",
]

# the device types ember runs on; torch also lists xpu, mps, hpu, ... (their builds only)
_AVAILABLE = ("cpu", "cuda")


def _cuda_absent() -> bool:
    return cuda_device_count() == 0


def is_autocast_available(device_type: str) -> bool:
    """Whether autocast runs on ``device_type`` ('cpu' and 'cuda' in ember)."""
    return _st.check_device_type(device_type) in _AVAILABLE


# --- torch's top-level autocast functions -------------------------------------------------------


def _deprecated(old: str, new: str) -> None:
    warnings.warn(
        f"{old} is deprecated. Please use {new} instead.", DeprecationWarning, stacklevel=3
    )


def is_autocast_enabled(device_type: str | None = None) -> bool:
    """Whether autocast is on for ``device_type`` in this thread (CUDA when not given)."""
    return _st.is_enabled("cuda" if device_type is None else device_type)


def set_autocast_enabled(*args: Any) -> None:
    """``set_autocast_enabled(device_type, enabled)``, or ``(enabled)`` for CUDA."""
    device_type, enabled = ("cuda", args[0]) if len(args) == 1 else args
    _st.set_enabled(device_type, enabled)


def get_autocast_dtype(device_type: str) -> dtype:
    """The dtype autocast casts to on ``device_type`` (bfloat16 on the CPU, float16 on CUDA)."""
    return _st.get_dtype(device_type)


def set_autocast_dtype(device_type: str, dtype: dtype) -> None:
    _st.set_dtype(device_type, dtype)


def is_autocast_cpu_enabled() -> bool:
    _deprecated("torch.is_autocast_cpu_enabled()", "torch.is_autocast_enabled('cpu')")
    return _st.is_enabled("cpu")


def set_autocast_cpu_enabled(enabled: bool) -> None:
    _deprecated(
        "torch.set_autocast_cpu_enabled(enabled)", "torch.set_autocast_enabled('cpu', enabled)"
    )
    _st.set_enabled("cpu", enabled)


def get_autocast_cpu_dtype() -> dtype:
    _deprecated("torch.get_autocast_cpu_dtype()", "torch.get_autocast_dtype('cpu')")
    return _st.get_dtype("cpu")


def set_autocast_cpu_dtype(dtype: dtype) -> None:
    _deprecated("torch.set_autocast_cpu_dtype(dtype)", "torch.set_autocast_dtype('cpu', dtype)")
    _st.set_dtype("cpu", dtype)


def get_autocast_gpu_dtype() -> dtype:
    _deprecated("torch.get_autocast_gpu_dtype()", "torch.get_autocast_dtype('cuda')")
    return _st.get_dtype("cuda")


def set_autocast_gpu_dtype(dtype: dtype) -> None:
    _deprecated("torch.set_autocast_gpu_dtype(dtype)", "torch.set_autocast_dtype('cuda', dtype)")
    _st.set_dtype("cuda", dtype)


def is_autocast_cache_enabled() -> bool:
    return _st.state.cache_enabled


def set_autocast_cache_enabled(enabled: bool) -> None:
    _st.state.cache_enabled = bool(enabled)


def clear_autocast_cache() -> None:
    """ember keeps no cast cache (each listed op casts its inputs anew): nothing to clear."""


def autocast_increment_nesting() -> int:
    _st.state.nesting += 1
    return _st.state.nesting


def autocast_decrement_nesting() -> int:
    _st.state.nesting -= 1
    return _st.state.nesting


# --- the context manager -------------------------------------------------------------------------


class autocast:
    """A region (or a decorated function) where listed ops run in ``dtype``, as torch.autocast.

    ``dtype`` defaults to ``get_autocast_dtype(device_type)``: bfloat16 on the CPU, float16 on
    CUDA. Without a GPU, a CUDA autocast warns and disables itself; a CPU autocast with a dtype
    other than bfloat16/float16 warns and disables itself. The state is thread-local.
    """

    def __init__(
        self,
        device_type: str,
        dtype: dtype | None = None,
        enabled: bool = True,
        cache_enabled: bool | None = None,
    ) -> None:
        if not isinstance(device_type, str):
            raise ValueError(f"Expected `device_type` of type `str`, got: `{type(device_type)}`")
        self.fast_dtype = get_autocast_dtype(device_type) if dtype is None else dtype
        self.device = device_type
        if not is_autocast_available(device_type):
            raise RuntimeError(
                f"User specified an unsupported autocast device_type '{self.device}'"
            )
        self._cache_enabled = (
            is_autocast_cache_enabled() if cache_enabled is None else cache_enabled
        )
        if enabled:
            if device_type == "cuda":
                if _cuda_absent():
                    warnings.warn(
                        "CUDA is not available or torch_xla is imported. Disabling autocast.",
                        stacklevel=2,
                    )
                    enabled = False
            elif self.fast_dtype not in (bfloat16, float16):
                name = device_type.upper()
                warnings.warn(
                    f"In {name} autocast, but the target dtype is not supported. Disabling "
                    f"autocast.\n{name} Autocast only supports dtypes of torch.bfloat16, "
                    f"torch.float16 currently.",
                    stacklevel=2,
                )
                enabled = False
        self._enabled = enabled

    def __enter__(self) -> autocast:
        self.prev_cache_enabled = is_autocast_cache_enabled()
        self.prev = is_autocast_enabled(self.device)
        self.prev_fastdtype = get_autocast_dtype(self.device)
        set_autocast_enabled(self.device, self._enabled)
        set_autocast_dtype(self.device, self.fast_dtype)
        autocast_increment_nesting()
        set_autocast_cache_enabled(self._cache_enabled)
        return self

    def __exit__(self, exc_type: Any, exc_val: Any, exc_tb: Any) -> bool:
        if autocast_decrement_nesting() == 0:
            clear_autocast_cache()
        set_autocast_enabled(self.device, self.prev)
        set_autocast_dtype(self.device, self.prev_fastdtype)
        set_autocast_cache_enabled(self.prev_cache_enabled)
        return False

    def __call__(self, func: Callable) -> Callable:
        if not callable(func):
            raise TypeError(
                f"autocast()(func) requires a callable, but got {type(func).__name__}. "
                f"Did you mean to use autocast as a context manager? For example:\n"
                f"    with torch.autocast(device_type=...):\n"
                f"        output = model(input)"
            )

        @functools.wraps(func)
        def decorate_autocast(*args: Any, **kwargs: Any) -> Any:
            with self:
                return func(*args, **kwargs)

        return decorate_autocast


# --- custom autograd functions -------------------------------------------------------------------


def _cast(value: Any, device_type: str, dtype: dtype) -> Any:
    """``value`` with its floating tensors of ``device_type`` (float64 aside) cast to ``dtype``."""
    if isinstance(value, Tensor):
        ok = value.is_floating_point() and value.device.type == device_type
        return value.to(dtype) if ok and value.dtype is not float64 else value
    if isinstance(value, (str, bytes, np.ndarray)):
        return value
    if isinstance(value, collections.abc.Mapping):
        return {
            _cast(k, device_type, dtype): _cast(v, device_type, dtype) for k, v in value.items()
        }
    if isinstance(value, collections.abc.Iterable):
        it = (_cast(v, device_type, dtype) for v in value)
        return type(value)(it) if isinstance(value, (list, tuple)) else it
    return value


def custom_fwd(
    fwd: Callable | None = None, *, device_type: str, cast_inputs: dtype | None = None
) -> Callable:
    """Decorator for a custom Function's ``forward``: with ``cast_inputs``, inside an autocast
    region the floating inputs are cast to it and ``forward`` runs with autocast off."""
    if not isinstance(device_type, str):
        raise ValueError(f"Expected `device_type` of type `str`, got: `{type(device_type)}`")
    if fwd is None:
        return functools.partial(custom_fwd, device_type=device_type, cast_inputs=cast_inputs)

    @functools.wraps(fwd)
    def decorate_fwd(*args: Any, **kwargs: Any) -> Any:
        args[0]._dtype = get_autocast_dtype(device_type)
        if cast_inputs is None:
            args[0]._fwd_used_autocast = is_autocast_enabled(device_type)
            return fwd(*args, **kwargs)
        args[0]._fwd_used_autocast = False
        if is_autocast_enabled(device_type):
            with autocast(device_type=device_type, enabled=False):
                return fwd(
                    *_cast(args, device_type, cast_inputs),
                    **_cast(kwargs, device_type, cast_inputs),
                )
        return fwd(*args, **kwargs)

    return decorate_fwd


def custom_bwd(bwd: Callable | None = None, *, device_type: str) -> Callable:
    """Decorator for a custom Function's ``backward``: it runs in the autocast state of forward."""
    if not isinstance(device_type, str):
        raise ValueError(f"Expected `device_type` of type `str`, got: `{type(device_type)}`")
    if bwd is None:
        return functools.partial(custom_bwd, device_type=device_type)

    @functools.wraps(bwd)
    def decorate_bwd(*args: Any, **kwargs: Any) -> Any:
        with autocast(device_type, enabled=args[0]._fwd_used_autocast, dtype=args[0]._dtype):
            return bwd(*args, **kwargs)

    return decorate_bwd
