"""A per-machine disk cache for tables ember derives from this machine's NumPy (built once, read
by every later process), keyed by what the table depends on: NumPy's version, the CPU features
its kernels dispatch on, and the machine type.

The folder is ``$EMBER_CACHE_DIR``, else ``$XDG_CACHE_HOME/ember``, else ``~/.cache/ember``;
``EMBER_CACHE_DIR=""`` (empty) turns the cache off. A file is written to a temporary name and
renamed into place, so concurrent processes never read half a table, and starts with a CRC-32 of
its contents (3 ms for 16 MiB; a cryptographic digest took 10-20), so a damaged file is ignored
(and rebuilt by its owner). Any error reading or
writing (a read-only home, a full disk) leaves ember running without the cache.
"""

from __future__ import annotations

import hashlib
import os
import platform
import tempfile
import zlib

import numpy as np

_HEAD = 4  # bytes of CRC-32 (little-endian) ahead of the table


def cache_dir() -> str | None:
    """The cache folder, or None when ``EMBER_CACHE_DIR`` is set empty."""
    env = os.environ.get("EMBER_CACHE_DIR")
    if env is not None:
        return env or None
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "ember")


def _key() -> str:
    core = getattr(np, "_core", None)
    umath = getattr(core, "_multiarray_umath", None)
    features = getattr(umath, "__cpu_features__", {})
    enabled = sorted(k for k, v in features.items() if v)
    text = f"{np.__version__}|{platform.machine()}|{','.join(enabled)}"
    return hashlib.blake2b(text.encode(), digest_size=8).hexdigest()


def path(name: str) -> str | None:
    """Where the table ``name`` lives for this NumPy on this CPU (None: cache off)."""
    folder = cache_dir()
    return None if folder is None else os.path.join(folder, f"{name}-{_key()}.bin")


def load(name: str, dtype, size: int) -> np.ndarray | None:
    """The cached table ``name`` (``size`` elements of ``dtype``), or None when it is absent,
    damaged or unreadable."""
    p = path(name)
    if p is None:
        return None
    nbytes = size * np.dtype(dtype).itemsize
    try:
        with open(p, "rb") as f:
            blob = f.read(_HEAD + nbytes + 1)
    except OSError:
        return None
    if len(blob) != _HEAD + nbytes:
        return None
    if zlib.crc32(memoryview(blob)[_HEAD:]) != int.from_bytes(blob[:_HEAD], "little"):
        return None
    return np.frombuffer(blob, dtype, size, offset=_HEAD)  # read-only: a table is never written


def save(name: str, table: np.ndarray) -> None:
    """Write ``table`` under ``name`` (atomically; silently skipped on any error)."""
    p = path(name)
    if p is None:
        return
    body = np.ascontiguousarray(table).tobytes()
    head = zlib.crc32(body).to_bytes(_HEAD, "little")
    tmp = None
    try:
        os.makedirs(os.path.dirname(p), exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=os.path.dirname(p), prefix=".tmp-")
        with os.fdopen(fd, "wb") as f:
            f.write(head)
            f.write(body)
        os.replace(tmp, p)
        tmp = None
    except OSError:
        pass
    finally:
        if tmp is not None:
            try:
                os.unlink(tmp)
            except OSError:
                pass
