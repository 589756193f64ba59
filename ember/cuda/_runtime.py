"""The CUDA runtime as ember sees it through CuPy: availability, devices, what they support.

Every query answers without CuPy or a GPU as torch's CPU build does: ``is_available()`` is False
and never raises, ``device_count()`` is 0, the capability queries are False or empty. A call
that needs a device raises torch's "Torch not compiled with CUDA enabled" AssertionError.
"""

from __future__ import annotations

import types
from dataclasses import dataclass

from .._backend.xp import cuda_device_count, cupy, cupy_loaded
from ..device import device as _torch_device
from ..device import to_device
from ..dtypes import bfloat16

NOT_COMPILED = "Torch not compiled with CUDA enabled"

Device = _torch_device | str | int | None
"""What a ``device`` argument accepts (``torch.cuda.Device``)."""

has_half = True  # float16 tensors work on every CUDA device ember runs on
has_magma = False  # CuPy's linear algebra is cuSOLVER's, not MAGMA's

# is_available()'s answer, found once; ``ember.cuda._available`` reads and writes it (the tests
# reset it when they swap in a CuPy stand-in)
_available: bool | None = None
_sync_debug_mode = [0]


def is_available() -> bool:
    """True when CuPy imports and sees at least one GPU (never raises)."""
    global _available
    if _available is None:
        _available = cuda_device_count() > 0
    return _available


def require() -> types.ModuleType:
    """CuPy, after raising torch's AssertionError when no GPU is usable."""
    if not is_available():
        raise AssertionError(NOT_COMPILED)
    return cupy()


def is_initialized() -> bool:
    """True once CUDA has been used (ember initialises lazily, on the first CUDA tensor)."""
    return cupy_loaded() and is_available()


def init() -> None:
    """Initialise CUDA now (import CuPy and check the driver)."""
    require()


def device_count() -> int:
    """Number of visible GPUs (0 without CuPy or a driver)."""
    return cupy().cuda.runtime.getDeviceCount() if is_available() else 0


def cuda_device(device: Device) -> _torch_device:
    """``device`` as a device object, after checking that it is a CUDA one (torch's
    ValueError otherwise)."""
    d = to_device(device)
    if d.type != "cuda":
        raise ValueError(f"Expected a cuda device, but got: {d}")
    return d


def index_of(device: Device) -> int:
    """A CUDA ordinal from None (current), an int, a string or an ember device."""
    if device is None:
        return current_device()
    if isinstance(device, int):
        return device
    d = cuda_device(device)
    return current_device() if d.index is None else d.index


def current_device() -> int:
    """The ordinal of the current GPU."""
    return require().cuda.Device().id


def set_device(device: Device) -> None:
    """Make ``device`` (an int, 'cuda:N' or a device) the current GPU."""
    if isinstance(device, int) and device < 0:
        return  # torch: a negative ordinal is a no-op
    require().cuda.Device(index_of(device)).use()


class device:
    """Context manager that makes a GPU current for its block, as ``torch.cuda.device``."""

    def __init__(self, device: Device) -> None:
        self.idx = -1 if device is None else index_of(device)
        self._ctx = None

    def __enter__(self) -> None:
        if self.idx >= 0:
            if not is_available():
                raise RuntimeError("PyTorch was compiled without CUDA support")
            self._ctx = cupy().cuda.Device(self.idx)
            self._ctx.__enter__()

    def __exit__(self, *exc) -> None:
        if self._ctx is not None:
            self._ctx.__exit__(*exc)
            self._ctx = None


class device_of(device):
    """``device`` for the GPU a tensor lives on (a no-op for CPU tensors)."""

    def __init__(self, obj) -> None:
        super().__init__(obj.device.index if obj.is_cuda else None)


def synchronize(device: Device = None) -> None:
    """Wait for all queued work on a GPU (a no-op without CUDA, where torch's CPU build raises
    "Torch not compiled with CUDA enabled")."""
    if is_available():
        with cupy().cuda.Device(index_of(device)) as d:
            d.synchronize()


def _props(device: Device) -> dict:
    return require().cuda.runtime.getDeviceProperties(index_of(device))


def get_device_name(device: Device = None) -> str:
    """The GPU's marketing name."""
    n = _props(device)["name"]
    return n.decode() if isinstance(n, bytes) else n


def get_device_capability(device: Device = None) -> tuple[int, int]:
    """The compute capability as (major, minor)."""
    p = _props(device)
    return int(p["major"]), int(p["minor"])


@dataclass(frozen=True)
class _CudaDeviceProperties:
    """What ``torch.cuda.get_device_properties`` reports (the commonly read fields)."""

    name: str
    major: int
    minor: int
    total_memory: int
    multi_processor_count: int

    def __repr__(self) -> str:
        return (
            f"_CudaDeviceProperties(name='{self.name}', major={self.major}, minor={self.minor}, "
            f"total_memory={self.total_memory // 2**20}MB, "
            f"multi_processor_count={self.multi_processor_count})"
        )


def get_device_properties(device: Device = None) -> _CudaDeviceProperties:
    """Name, capability, memory and SM count of a GPU."""
    p = _props(device)
    return _CudaDeviceProperties(
        get_device_name(device),
        int(p["major"]),
        int(p["minor"]),
        int(p["totalGlobalMem"]),
        int(p["multiProcessorCount"]),
    )


def can_device_access_peer(device: Device, peer_device: Device) -> bool:
    """Whether ``device`` can read and write ``peer_device``'s memory directly (CUDA peer
    access), as torch: AssertionError for an ordinal out of range."""
    cp = require()
    d, peer = index_of(device), index_of(peer_device)
    n = device_count()
    if not 0 <= d < n:
        raise AssertionError("Invalid device id")
    if not 0 <= peer < n:
        raise AssertionError("Invalid peer device id")
    return bool(cp.cuda.runtime.deviceCanAccessPeer(d, peer))


def current_blas_handle() -> int:
    """The address of the cuBLAS handle CuPy uses on the current GPU."""
    return int(require().cuda.device.get_cublas_handle())


def current_solver_handle() -> int:
    """The address of the cuSOLVER (dense) handle CuPy uses on the current GPU."""
    return int(require().cuda.device.get_cusolver_handle())


def ipc_collect() -> None:
    """Release GPU memory held for tensors shared with other processes: a no-op with a GPU,
    since ember shares no CUDA memory between processes (torch's error without one)."""
    require()


def set_sync_debug_mode(debug_mode: int | str) -> None:
    """Set the debug mode for synchronizing calls ("default"/0, "warn"/1, "error"/2).

    ember records the mode and reads it back but does not act on it: no call warns or raises
    for synchronizing. Without a GPU, torch's AssertionError.
    """
    require()
    if isinstance(debug_mode, str):
        modes = {"default": 0, "warn": 1, "error": 2}
        if debug_mode not in modes:
            raise RuntimeError(
                "invalid value of debug_mode, expected one of `default`, `warn`, `error`"
            )
        debug_mode = modes[debug_mode]
    _sync_debug_mode[0] = int(debug_mode)


def get_sync_debug_mode() -> int:
    """The mode set by ``set_sync_debug_mode`` (0 at start)."""
    require()
    return _sync_debug_mode[0]


def _cupy_holds_bfloat16() -> bool:
    """Whether CuPy can allocate bfloat16 arrays (CuPy with ml_dtypes support)."""
    try:
        cupy().empty(0, dtype=bfloat16.np)
    except Exception:  # no ml_dtypes (TypeError), or a CuPy that rejects the dtype (its error)
        return False
    return True


def is_bf16_supported(including_emulation: bool = True) -> bool:
    """Whether the current GPU can hold bfloat16 tensors: natively from compute capability 8.0
    (Ampere), emulated below it when ``including_emulation``; False without a GPU, as torch.

    ember also needs a CuPy that stores bfloat16 (through ml_dtypes); without one it is False.
    """
    if not is_available() or not _cupy_holds_bfloat16():
        return False
    return including_emulation or get_device_capability() >= (8, 0)


def is_tf32_supported() -> bool:
    """Whether the current GPU has TF32 matmul units (compute capability 8.0 and up); False
    without a GPU, as torch."""
    return is_available() and get_device_capability() >= (8, 0)


def get_arch_list() -> list[str]:
    """The GPU architectures ember's CUDA code is built for, as 'sm_XY' names; [] without a
    GPU, as torch's CPU build.

    CuPy compiles ember's kernels at run time for the GPU at hand, so these are the visible
    GPUs' architectures (torch's list is fixed when torch is built).
    """
    if not is_available():
        return []
    caps = {get_device_capability(i) for i in range(device_count())}
    return [f"sm_{major}{minor}" for major, minor in sorted(caps)]


def get_gencode_flags() -> str:
    """The nvcc ``-gencode`` flags for ``get_arch_list()`` ('' when it is empty)."""
    archs = [a.removeprefix("sm_") for a in get_arch_list()]
    return " ".join(f"-gencode compute=compute_{a},code=sm_{a}" for a in archs)


class CudaError(RuntimeError):
    """A CUDA runtime error code as an exception, with CUDA's description of it.

    torch's CPU build fails inside the constructor; ember raises torch's AssertionError there.
    """

    def __init__(self, code: int) -> None:
        description = str(require().cuda.runtime.CUDARuntimeError(code))
        super().__init__(f"{description} ({code})")


class DeferredCudaCallError(Exception):
    """An error from a CUDA call that was queued until CUDA initialised (torch's lazy calls)."""
