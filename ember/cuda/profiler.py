"""torch.cuda.profiler: start and stop the CUDA profiler (Nsight's capture range), through
CuPy; torch's "Torch not compiled with CUDA enabled" without a GPU."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from .._torch_alias import module_getattr as _module_getattr
from ._runtime import require

__all__ = ["start", "stop", "profile"]


def start() -> None:
    """Start the CUDA profiler's capture."""
    require().cuda.profiler.start()


def stop() -> None:
    """Stop the CUDA profiler's capture."""
    require().cuda.profiler.stop()


@contextlib.contextmanager
def profile() -> Iterator[None]:
    """Profile the block (``start`` before it, ``stop`` after)."""
    start()
    try:
        yield
    finally:
        stop()


__getattr__ = _module_getattr(__name__)  # unknown names: a clear not-implemented error
