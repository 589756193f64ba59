"""torch.cuda.memory: GPU memory figures and the caching allocator, over CuPy's memory pool.

"Allocated" is what CuPy's default pool has handed out (``used_bytes``), "reserved" what the
pool holds from the driver (``total_bytes``); the peaks are sampled when the figures are read,
since CuPy keeps no high-water mark. ember allocates no pinned host memory through a cache, so
the host figures are empty.

Without a GPU the figures answer as torch's CPU build: the counters are 0, the stats empty;
``memory_summary`` raises its KeyError; the calls torch's CPU build cannot make (they fail there
with an AttributeError on ``torch._C``, or "Tried to instantiate dummy base class") raise
"Torch not compiled with CUDA enabled", or for ``MemPool`` a RuntimeError.
"""

from __future__ import annotations

import contextlib
import ctypes
import itertools
import warnings
from collections import OrderedDict
from collections.abc import Iterator
from typing import Any

from .._backend.xp import cupy
from .._torch_alias import module_getattr as _module_getattr
from .._torch_alias import not_implemented
from ._nvml import nvml_device
from ._runtime import (
    Device,
    cuda_device,
    get_device_properties,
    index_of,
    is_available,
    is_initialized,
    require,
)
from .streams import Stream, current_stream

__all__ = [
    "caching_allocator_alloc",
    "caching_allocator_delete",
    "caching_allocator_enable",
    "caching_allocator_disabled",
    "set_per_process_memory_fraction",
    "get_per_process_memory_fraction",
    "empty_cache",
    "memory_stats",
    "memory_stats_as_nested_dict",
    "reset_accumulated_memory_stats",
    "reset_peak_memory_stats",
    "reset_max_memory_allocated",
    "reset_max_memory_cached",
    "host_memory_stats",
    "host_memory_stats_as_nested_dict",
    "reset_accumulated_host_memory_stats",
    "reset_peak_host_memory_stats",
    "memory_allocated",
    "max_memory_allocated",
    "memory_reserved",
    "max_memory_reserved",
    "memory_cached",
    "max_memory_cached",
    "memory_snapshot",
    "memory_summary",
    "list_gpu_processes",
    "mem_get_info",
    "get_allocator_backend",
    "CUDAPluggableAllocator",
    "change_current_allocator",
    "MemPool",
    "use_mem_pool",
]

_peak: dict[int, int] = {}  # per GPU: the most memory_allocated() seen since the last reset
_raw_blocks: dict[int, Any] = {}  # caching_allocator_alloc's blocks by address, until deleted
_pool_enabled = [True]


def _pool():
    return cupy().get_default_memory_pool()


# --- the figures -----------------------------------------------------------------------------
def memory_allocated(device: Device = None) -> int:
    """Bytes held by live CUDA tensors (CuPy's pool: used bytes); 0 without a GPU."""
    if not is_available():
        return 0
    index = index_of(device)
    with cupy().cuda.Device(index):
        n = _pool().used_bytes()
    _peak[index] = max(_peak.get(index, 0), n)
    return n


def max_memory_allocated(device: Device = None) -> int:
    """The most bytes seen allocated since the last reset (sampled, at least the pool's use
    now: CuPy keeps no allocation peak)."""
    if not is_available():
        return 0
    now = memory_allocated(device)
    return max(_peak.get(index_of(device), 0), now)


def memory_reserved(device: Device = None) -> int:
    """Bytes the caching pool holds from the driver; 0 without a GPU."""
    if not is_available():
        return 0
    with cupy().cuda.Device(index_of(device)):
        return _pool().total_bytes()


def max_memory_reserved(device: Device = None) -> int:
    """The pool's reserve now: it only grows until ``empty_cache`` (CuPy keeps no peak)."""
    return memory_reserved(device)


def memory_cached(device: Device = None) -> int:
    """Deprecated name of ``memory_reserved`` (warns, as torch)."""
    warnings.warn(
        "`torch.cuda.memory_cached` has been renamed to `torch.cuda.memory_reserved`",
        FutureWarning,
        stacklevel=2,
    )
    return memory_reserved(device)


def max_memory_cached(device: Device = None) -> int:
    """Deprecated name of ``max_memory_reserved`` (warns, as torch)."""
    warnings.warn(
        "`torch.cuda.max_memory_cached` has been renamed to `torch.cuda.max_memory_reserved`",
        FutureWarning,
        stacklevel=2,
    )
    return max_memory_reserved(device)


def reset_peak_memory_stats(device: Device = None) -> None:
    """Start the allocation peak again from the current use.

    torch's CPU build fails here (an AttributeError on ``torch._C``); ember raises torch's
    "Torch not compiled with CUDA enabled" AssertionError without a GPU.
    """
    require()
    _peak[index_of(device)] = 0


def reset_max_memory_allocated(device: Device = None) -> None:
    """``reset_peak_memory_stats``, which resets every peak (warns, as torch)."""
    warnings.warn(
        "torch.cuda.reset_max_memory_allocated now calls torch.cuda.reset_peak_memory_stats, "
        "which resets /all/ peak memory stats.",
        FutureWarning,
        stacklevel=2,
    )
    reset_peak_memory_stats(device)


def reset_max_memory_cached(device: Device = None) -> None:
    """``reset_peak_memory_stats``, which resets every peak (warns, as torch)."""
    warnings.warn(
        "torch.cuda.reset_max_memory_cached now calls torch.cuda.reset_peak_memory_stats, "
        "which resets /all/ peak memory stats.",
        FutureWarning,
        stacklevel=2,
    )
    reset_peak_memory_stats(device)


def reset_accumulated_memory_stats(device: Device = None) -> None:
    """Zero the accumulated counters: CuPy's pool keeps none, so nothing changes (without a GPU
    torch's CPU build fails; ember raises "Torch not compiled with CUDA enabled")."""
    require()
    index_of(device)


def memory_stats(device: Device = None) -> OrderedDict[str, int]:
    """The allocator's figures under torch's flat key names, sorted (empty without a GPU).

    ember has the four that CuPy's pool gives: ``allocated_bytes.all.current``/``.peak`` and
    ``reserved_bytes.all.current``/``.peak``.
    """
    if not is_available():
        return OrderedDict()
    stats = {
        "allocated_bytes.all.current": memory_allocated(device),
        "allocated_bytes.all.peak": max_memory_allocated(device),
        "reserved_bytes.all.current": memory_reserved(device),
        "reserved_bytes.all.peak": max_memory_reserved(device),
    }
    return OrderedDict(sorted(stats.items()))


def _nested(flat: dict) -> dict:
    """{'a.b.c': v} -> {'a': {'b': {'c': v}}}."""
    out: dict = {}
    for key, value in flat.items():
        *path, last = key.split(".")
        node = out
        for part in path:
            node = node.setdefault(part, {})
        node[last] = value
    return out


def memory_stats_as_nested_dict(device: Device = None) -> dict[str, Any]:
    """``memory_stats`` as nested dicts ({} without a GPU)."""
    return _nested(memory_stats(device))


def _size(n: int) -> str:
    value, unit = float(n), "B"
    for larger in ("KiB", "MiB", "GiB"):
        if value < 1024:
            break
        value, unit = value / 1024, larger
    return f"{n} B" if unit == "B" else f"{value:.1f} {unit}"


def memory_summary(device: Device = None, abbreviated: bool = False) -> str:
    """A printable summary of ``memory_stats`` (one form: ``abbreviated`` changes nothing).

    As torch: a device that is not a CUDA one raises ValueError; without a GPU the stats are
    empty and reading them raises KeyError('allocated_bytes.all.current').
    """
    if device is not None and not isinstance(device, int):
        cuda_device(device)
    stats = memory_stats(device)
    allocated = stats["allocated_bytes.all.current"]
    index = index_of(device)
    lines = [
        f"ember CUDA memory summary, device {index} (CuPy's memory pool)",
        f"  allocated: {_size(allocated)} now, "
        f"{_size(stats['allocated_bytes.all.peak'])} at the peak sampled",
        f"  reserved:  {_size(stats['reserved_bytes.all.current'])} now, "
        f"{_size(stats['reserved_bytes.all.peak'])} at the peak",
    ]
    return "\n".join(lines)


def memory_snapshot(mempool_id: tuple[int, int] | None = None, include_traces: bool = True) -> list:
    """The allocator's segments: [] (CuPy's pool does not list them); without a GPU, "Torch
    not compiled with CUDA enabled" (torch's CPU build fails on ``torch._C``)."""
    require()
    return []


def host_memory_stats() -> OrderedDict[str, int]:
    """The pinned host memory cache's figures: empty (ember caches no pinned memory)."""
    return OrderedDict()


def host_memory_stats_as_nested_dict() -> dict[str, Any]:
    """``host_memory_stats`` as nested dicts: {}."""
    return _nested(host_memory_stats())


def reset_accumulated_host_memory_stats() -> None:
    """Nothing to reset (no pinned cache); without a GPU "Torch not compiled with CUDA
    enabled" (torch's CPU build fails on ``torch._C``)."""
    require()


def reset_peak_host_memory_stats() -> None:
    """Nothing to reset (no pinned cache); without a GPU "Torch not compiled with CUDA
    enabled" (torch's CPU build fails on ``torch._C``)."""
    require()


def empty_cache() -> None:
    """Give the pool's cached, unused blocks back to the driver."""
    if is_available():
        _pool().free_all_blocks()
        cupy().get_default_pinned_memory_pool().free_all_blocks()


def mem_get_info(device: Device = None) -> tuple[int, int]:
    """(free, total) bytes on the GPU."""
    cp = require()
    with cp.cuda.Device(index_of(device)):
        return tuple(cp.cuda.runtime.memGetInfo())


def list_gpu_processes(device: Device = None) -> str:
    """The processes using a GPU and their memory, as nvidia-smi reports them (NVML, from the
    nvidia-ml-py package); torch's one-line answers when NVML is missing or has no driver."""
    try:
        pynvml, handle = nvml_device(device)
    except ModuleNotFoundError:
        return "pynvml module not found, please install nvidia-ml-py"
    except RuntimeError:
        return "cuda driver can't be loaded, is cuda enabled?"
    lines = [f"GPU:{index_of(device)}"]
    procs = pynvml.nvmlDeviceGetComputeRunningProcesses(handle)
    if not procs:
        lines.append("no processes are running")
    for p in procs:
        lines.append(f"process {p.pid:>10d} uses {p.usedGpuMemory / 2**20:>12.3f} MB GPU memory")
    return "\n".join(lines)


# --- the allocator ---------------------------------------------------------------------------
def set_per_process_memory_fraction(fraction: float, device: Device = None) -> None:
    """Cap the pool on a GPU at ``fraction`` of its memory (CuPy's pool limit); allocations
    past it raise out of memory. CuPy reads a limit of 0 as "no limit", so 0.0 lifts the cap."""
    cp = require()
    index = index_of(device)
    if not isinstance(fraction, float):
        raise TypeError("Invalid type for fraction argument, must be `float`")
    if not 0 <= fraction <= 1:
        raise ValueError(f"Invalid fraction value: {fraction}. Allowed range: 0~1")
    with cp.cuda.Device(index):
        _pool().set_limit(fraction=fraction)


def get_per_process_memory_fraction(device: Device = None) -> float:
    """The pool's cap on a GPU as a fraction of its memory (1.0: no cap)."""
    cp = require()
    index = index_of(device)
    with cp.cuda.Device(index):
        limit = _pool().get_limit()
    return 1.0 if limit == 0 else limit / get_device_properties(index).total_memory


def caching_allocator_alloc(
    size: int, device: Device = None, stream: Stream | int | None = None
) -> int:
    """``size`` bytes from the allocator on a GPU, as an address; free with
    ``caching_allocator_delete``. ``stream`` (a Stream or a stream address) is checked as torch
    checks it; CuPy's pool does not tie blocks to streams."""
    cp = require()
    index = index_of(device)
    if stream is None:
        stream = current_stream(index)
    if isinstance(stream, Stream):
        stream = stream.cuda_stream
    if not isinstance(stream, int):
        raise TypeError(
            "Invalid type for stream argument, must be `torch.cuda.Stream` or `int` "
            "representing a pointer to an existing stream"
        )
    with cp.cuda.Device(index):
        block = cp.cuda.alloc(size)
    _raw_blocks[block.ptr] = block
    return block.ptr


def caching_allocator_delete(mem_ptr: int) -> None:
    """Free a block from ``caching_allocator_alloc`` (it goes back to the pool)."""
    require()
    if _raw_blocks.pop(mem_ptr, None) is None:
        raise RuntimeError(f"invalid device pointer: {hex(mem_ptr)}")


def caching_allocator_enable(value: bool = True) -> None:
    """Turn CuPy's memory pool on or off for new allocations (a no-op before CUDA is in use,
    as torch)."""
    if is_initialized():
        cupy().cuda.set_allocator(_pool().malloc if value else None)
        _pool_enabled[0] = bool(value)


@contextlib.contextmanager
def caching_allocator_disabled() -> Iterator[None]:
    """Allocate straight from the driver inside the block.

    torch's CPU build fails on entry (an AttributeError on ``torch._C``); ember raises "Torch
    not compiled with CUDA enabled" there.
    """
    require()
    before = _pool_enabled[0]
    caching_allocator_enable(False)
    try:
        yield
    finally:
        caching_allocator_enable(before)


def get_allocator_backend() -> str:
    """'native': a caching pool (CuPy's) serves the allocations, not cudaMallocAsync."""
    require()
    return "native"


class _CUDAAllocator:
    """An allocator that ``change_current_allocator`` can install."""


class CUDAPluggableAllocator(_CUDAAllocator):
    """An allocator from a shared library's alloc and free functions (torch's signatures).

    The library and its functions are looked up as torch does (OSError, AttributeError); then
    ember raises: CuPy's pluggable allocators take other signatures (without a GPU: "Torch not
    compiled with CUDA enabled").
    """

    def __init__(self, path_to_so_file: str, alloc_fn_name: str, free_fn_name: str) -> None:
        lib = ctypes.CDLL(path_to_so_file)
        for name in (alloc_fn_name, free_fn_name):
            getattr(lib, name)  # AttributeError for a function the library lacks, as torch
        require()
        raise not_implemented("torch.cuda.memory.CUDAPluggableAllocator")


def change_current_allocator(allocator: _CUDAAllocator) -> None:
    """Install another allocator: ember has none to install (see CUDAPluggableAllocator)."""
    require()
    raise not_implemented("torch.cuda.memory.change_current_allocator")


class MemPool:
    """A memory pool of its own (a CuPy ``MemoryPool``): allocations inside a
    ``use_mem_pool(pool)`` block come from it.

    torch's CPU build cannot make one ("Tried to instantiate dummy base class MemPool"); ember
    raises RuntimeError("torch.cuda.MemPool requires CUDA support") without a GPU.
    """

    _ids = itertools.count(1)

    def __init__(self, allocator=None, use_on_oom: bool = False, no_split: bool = False) -> None:
        if not is_available():
            raise RuntimeError("torch.cuda.MemPool requires CUDA support")
        if allocator is not None:
            raise not_implemented("torch.cuda.MemPool(allocator=...)")
        self._pool = cupy().cuda.MemoryPool()
        self._id = (0, next(MemPool._ids))
        self._uses = 0

    @property
    def id(self) -> tuple[int, int]:
        return self._id

    def use_count(self) -> int:
        """1 for the pool itself, plus the ``use_mem_pool`` blocks active now."""
        return 1 + self._uses

    def snapshot(self, include_traces: bool = True) -> list:
        return memory_snapshot(self.id, include_traces)


@contextlib.contextmanager
def use_mem_pool(pool: MemPool, device: Device = None) -> Iterator[None]:
    """Allocate from ``pool`` inside the block (this thread's allocations, as torch)."""
    require()
    index_of(device)
    pool._uses += 1
    try:
        with cupy().cuda.using_allocator(pool._pool.malloc):
            yield
    finally:
        pool._uses -= 1


__getattr__ = _module_getattr(__name__)  # unknown names: a clear not-implemented error
