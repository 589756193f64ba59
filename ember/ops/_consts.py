"""Small constant arrays (pooling divisors, averaging matrices) cached per device, so a CUDA
step does not build them on the host and upload them on every call."""

from __future__ import annotations

import threading

from .._backend.xp import CPU_ARRAY, cupy

_cache: dict = {}
_lock = threading.Lock()
_MAX = 256  # entries; a long-running process with ever-new shapes starts over past this


def device_const(like, key: tuple, build):
    """``build()`` (a NumPy array) on ``like``'s device, made once per (device, key)."""
    if type(like) is CPU_ARRAY:
        return build()
    dev = getattr(like, "device", None)
    full = (type(like).__module__, getattr(dev, "id", dev)) + key
    arr = _cache.get(full)
    if arr is None:
        cp = cupy()  # loaded already: only device arrays reach here
        with cp.cuda.Device(getattr(dev, "id", 0)):
            arr = cp.asarray(build())
        with _lock:
            if len(_cache) >= _MAX:
                _cache.clear()
            _cache[full] = arr
    return arr
