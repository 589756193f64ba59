"""Device objects, and the one place that picks NumPy or CuPy for an array."""

from __future__ import annotations

import numpy as np

_cupy = None  # imported on first use of a CUDA device, never at `import ember`


class device:
    """A place where a tensor lives, as ``torch.device``: ``device('cpu')``, ``device('cuda:0')``.

    >>> device('cuda', 1)
    device(type='cuda', index=1)
    """

    __slots__ = ("type", "index")

    def __init__(self, type: str | device, index: int | None = None):  # noqa: A002
        if isinstance(type, device):
            self.type, self.index = type.type, type.index
            return
        if isinstance(type, int) and not isinstance(type, bool):
            type, index = "cuda", type
        if not isinstance(type, str):
            raise TypeError(f"device() received an invalid combination of arguments: {type!r}")
        if ":" in type:
            if index is not None:
                raise RuntimeError(
                    f"type (string) must not include an index because index was "
                    f"passed explicitly: {type}"
                )
            type, _, idx = type.partition(":")
            try:
                index = int(idx)
            except ValueError:
                raise RuntimeError(f"Invalid device string: '{type}:{idx}'") from None
            if index < 0:
                raise RuntimeError(f"Device index must not be negative: '{type}:{idx}'")
        if type not in ("cpu", "cuda", "meta", "mps", "xpu"):
            raise RuntimeError(
                "Expected one of cpu, cuda, ipu, xpu, mkldnn, opengl, opencl, ideep, hip, ve, "
                f"fpga, maia, xla, lazy, vulkan, mps, meta, hpu, mtia, privateuseone device type "
                f"at start of device string: {type}"
            )
        self.type = type
        self.index = index

    def __repr__(self) -> str:
        if self.index is None:
            return f"device(type='{self.type}')"
        return f"device(type='{self.type}', index={self.index})"

    def __str__(self) -> str:
        return self.type if self.index is None else f"{self.type}:{self.index}"

    def __eq__(self, other) -> bool:
        if isinstance(other, str):
            other = device(other)
        if not isinstance(other, device):
            return NotImplemented
        return self.type == other.type and self.index == other.index

    def __hash__(self) -> int:
        return hash((self.type, self.index))

    def __reduce__(self):
        return (device, (self.type, self.index))

    def __enter__(self):
        from . import _device_ctx

        _device_ctx.push(self)
        return self

    def __exit__(self, *exc):
        from . import _device_ctx

        _device_ctx.pop()


CPU = device("cpu")


def to_device(d) -> device:
    """Accept a device, a string like 'cuda:0', or an int (a CUDA ordinal)."""
    if d is None:
        return CPU
    if type(d) is device:
        return d
    if d == "cpu":
        return CPU
    return device(d)


def cupy():
    """Import CuPy on demand; raise torch's error when CUDA is unavailable."""
    global _cupy
    if _cupy is None:
        try:
            import cupy as cp

            cp.cuda.runtime.getDeviceCount()
        except Exception as e:  # ImportError, or a driver/runtime error
            raise AssertionError(
                "Torch not compiled with CUDA enabled (ember needs CuPy and an NVIDIA GPU for "
                f"CUDA tensors: pip install 'ember[cuda12]'): {e}"
            ) from None
        _cupy = cp
    return _cupy


def _cupy_type():
    """CuPy's ndarray type once CuPy is loaded, else None."""
    return None if _cupy is None else _cupy.ndarray


def cupy_loaded() -> bool:
    """True once a CUDA tensor (or call) has imported CuPy."""
    return _cupy is not None


def xp_for(dev: device):
    """The array module for a device: numpy for 'cpu', cupy for 'cuda'."""
    if dev.type == "cpu":
        return np
    if dev.type == "cuda":
        return cupy()
    raise RuntimeError(f"ember has no backend for device type '{dev.type}'")


def xp_of(arr):
    """The array module an array belongs to."""
    if type(arr) is np.ndarray or _cupy is None:
        return np
    return _cupy if isinstance(arr, _cupy.ndarray) else np


def host_scalar_to(xp, a):
    """A host 0-d array as an ``xp`` array (torch lets CPU scalars join CUDA ops); anything
    else unchanged."""
    if type(a) is np.ndarray and a.ndim == 0:
        return xp.asarray(a)
    return a


def move_like(arr, like):
    """``arr`` copied to the device of array ``like`` (returned as is when already there)."""
    if type(like) is np.ndarray:
        return arr if type(arr) is np.ndarray else arr.get()
    dev = like.device.id
    if type(arr) is not np.ndarray and arr.device.id == dev:
        return arr
    with _cupy.cuda.Device(dev):
        return _cupy.asarray(arr)


def device_of(arr) -> device:
    if type(arr) is np.ndarray or _cupy is None or not isinstance(arr, _cupy.ndarray):
        return CPU
    return device("cuda", arr.device.id)


# --- CPU runtime settings (torch.set_num_threads and friends) ---------------------------------

_settings = {"threads": None, "deterministic": False, "warn_only": False}


def get_num_threads() -> int:
    """Threads used for CPU work (the BLAS's own pool; ember records what was asked)."""
    if _settings["threads"] is None:
        import os

        if hasattr(os, "sched_getaffinity"):
            return max(1, len(os.sched_getaffinity(0)))
        return os.cpu_count() or 1
    return _settings["threads"]


def set_num_threads(n: int) -> None:
    """Use ``n`` CPU threads: ember's own pool (convolution, pooling) and the BLAS's."""
    if int(n) < 1:
        raise RuntimeError("set_num_threads expects a positive integer")
    _settings["threads"] = int(n)
    from . import _blas

    if _blas.set_threads(int(n)):
        return
    try:  # another BLAS: threadpoolctl, when installed, knows how to limit it
        from threadpoolctl import threadpool_limits

        threadpool_limits(int(n))
    except ImportError:
        pass


def set_flush_denormal(mode: bool) -> bool:
    """Not supported by NumPy: returns False, as torch does on CPUs without the feature."""
    return False


def use_deterministic_algorithms(mode: bool, *, warn_only: bool = False) -> None:
    """Record the flag (ember's CPU ops are deterministic already)."""
    _settings["deterministic"] = bool(mode)
    _settings["warn_only"] = bool(warn_only)


def are_deterministic_algorithms_enabled() -> bool:
    return _settings["deterministic"]
