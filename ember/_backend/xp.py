"""The array module of an array or a device: NumPy for the CPU, CuPy (imported on demand) for
CUDA. Everything outside the backend asks here where an array lives instead of naming a library.
"""

from __future__ import annotations

import numpy as np

CPU_ARRAY = np.ndarray
"""The type of a CPU tensor's array. Hot paths test ``type(a) is CPU_ARRAY`` (a global read, no
call); elsewhere ``is_cpu(a)`` says the same."""

_cupy = None  # imported on first use of a CUDA device, never at `import ember`


def cupy():
    """Import CuPy on demand; raise torch's error when CUDA is unavailable."""
    global _cupy
    if _cupy is None:
        try:
            import cupy as cp  # optional dependency: only CUDA tensors need it

            cp.cuda.runtime.getDeviceCount()
        except Exception as e:  # ImportError, or a driver/runtime error
            raise AssertionError(
                "Torch not compiled with CUDA enabled (ember needs CuPy and an NVIDIA GPU for "
                f"CUDA tensors: pip install 'ember[cuda12]'): {e}"
            ) from None
        _cupy = cp
    return _cupy


def cupy_loaded() -> bool:
    """True once a CUDA tensor (or call) has imported CuPy."""
    return _cupy is not None


def cupy_array_type():
    """CuPy's ndarray type once CuPy is loaded, else None."""
    return None if _cupy is None else _cupy.ndarray


def cuda_device_count() -> int:
    """The GPUs CuPy sees, 0 without CuPy or a driver (never raises; does not load CuPy for
    ember's arrays, so ``cupy_loaded()`` stays as it was)."""
    try:
        import cupy as cp  # optional dependency: only asked for by ember.cuda

        return cp.cuda.runtime.getDeviceCount()
    except Exception:
        return 0


def nccl():
    """CuPy's NCCL bindings (``cupy.cuda.nccl``); raises as that import does when CuPy or its
    NCCL support is missing."""
    from cupy.cuda import nccl as bindings  # optional dependency: only the nccl backend needs it

    return bindings


def is_cpu(arr) -> bool:
    """True for a CPU (NumPy) array."""
    return type(arr) is CPU_ARRAY


def xp_for(dev):
    """The array module for a device: numpy for 'cpu', cupy for 'cuda'."""
    if dev.type == "cpu":
        return np
    if dev.type == "cuda":
        return cupy()
    raise RuntimeError(f"ember has no backend for device type '{dev.type}'")


def xp_of(arr):
    """The array module an array belongs to."""
    if type(arr) is CPU_ARRAY or _cupy is None:
        return np
    return _cupy if isinstance(arr, _cupy.ndarray) else np


def cuda_index(arr) -> int | None:
    """The CUDA ordinal of a CuPy array; None for any other array (a CPU one)."""
    if type(arr) is CPU_ARRAY or _cupy is None or not isinstance(arr, _cupy.ndarray):
        return None
    return arr.device.id


def host_scalar_to(xp, a):
    """A host 0-d array as an ``xp`` array (torch lets CPU scalars join CUDA ops); anything
    else unchanged."""
    if type(a) is CPU_ARRAY and a.ndim == 0:
        return xp.asarray(a)
    return a


def move_like(arr, like):
    """``arr`` copied to the device of array ``like`` (returned as is when already there)."""
    if type(like) is CPU_ARRAY or cuda_index(like) is None:  # a NumPy array or vmap's
        return arr if type(arr) is CPU_ARRAY else arr.get()
    dev = like.device.id
    if type(arr) is not CPU_ARRAY and arr.device.id == dev:
        return arr
    with _cupy.cuda.Device(dev):
        return _cupy.asarray(arr)
