"""ember.cuda: CUDA availability and device management through CuPy (optional).

Everything here answers sensibly without CuPy or a GPU: ``is_available()`` is False and never
raises.
"""

from __future__ import annotations

_available = None


def _cp():
    from ..device import cupy

    return cupy()


def is_available() -> bool:
    """True when CuPy imports and sees at least one GPU."""
    global _available
    if _available is None:
        try:
            import cupy

            _available = cupy.cuda.runtime.getDeviceCount() > 0
        except Exception:
            _available = False
    return _available


def device_count() -> int:
    return _cp().cuda.runtime.getDeviceCount() if is_available() else 0


def current_device() -> int:
    return _cp().cuda.Device().id


def set_device(device) -> None:
    from ..device import to_device

    d = to_device(device) if not isinstance(device, int) else to_device(f"cuda:{device}")
    _cp().cuda.Device(d.index or 0).use()


def synchronize(device=None) -> None:
    if is_available():
        _cp().cuda.Device().synchronize()


def manual_seed(seed: int) -> None:
    """Seed the GPU generator (a no-op without CUDA, as torch)."""
    if is_available():
        _cp().random.seed(seed)


manual_seed_all = manual_seed


def _seed_all_if_loaded(seed: int) -> None:
    if _available:
        _cp().random.seed(seed)


def get_device_name(device=None) -> str:
    p = _cp().cuda.runtime.getDeviceProperties(
        0 if device is None else int(getattr(device, "index", device) or 0)
    )
    return p["name"].decode() if isinstance(p["name"], bytes) else p["name"]


def memory_allocated(device=None) -> int:
    return _cp().get_default_memory_pool().used_bytes() if is_available() else 0


def max_memory_allocated(device=None) -> int:
    return _cp().get_default_memory_pool().total_bytes() if is_available() else 0


def reset_peak_memory_stats(device=None) -> None:
    pass


def empty_cache() -> None:
    if is_available():
        _cp().get_default_memory_pool().free_all_blocks()
