"""torch.cuda.nvtx: NVTX ranges and marks for profilers (Nsight Systems), through CuPy.

Without a GPU each call raises torch's RuntimeError "NVTX functions not installed. Are you sure
you have a CUDA build?" (torch's ``range_start``/``range_end`` fail there with an internal
AttributeError; ember raises the same RuntimeError for them).
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from typing import Any

from .._backend.xp import cupy
from .._torch_alias import module_getattr as _module_getattr
from ._runtime import is_available

__all__ = ["range_push", "range_pop", "range_start", "range_end", "mark", "range"]

_depth = threading.local()  # NVTX's push/pop ranges nest per thread


def _nvtx():
    if not is_available():
        raise RuntimeError("NVTX functions not installed. Are you sure you have a CUDA build?")
    return cupy().cuda.nvtx


def range_push(msg: str) -> int:
    """Open a nested range; returns its zero-based depth."""
    _nvtx().RangePush(msg)
    depth = getattr(_depth, "n", 0)
    _depth.n = depth + 1
    return depth


def range_pop() -> int:
    """Close the innermost range; returns the depth of the range closed."""
    _nvtx().RangePop()
    _depth.n = max(getattr(_depth, "n", 0) - 1, 0)
    return _depth.n


def range_start(msg: str) -> int:
    """Open a range that may end on another thread; returns its id for ``range_end``."""
    return int(_nvtx().RangeStart(msg, None))


def range_end(range_id: int) -> None:
    """Close a range opened by ``range_start``."""
    _nvtx().RangeEnd(range_id)


def mark(msg: str) -> None:
    """An instant event."""
    _nvtx().Mark(msg)


@contextlib.contextmanager
def range(msg: str, *args: Any, **kwargs: Any) -> Iterator[None]:  # noqa: A001  (torch's name)
    """A range around the block, named ``msg.format(*args, **kwargs)``."""
    range_push(msg.format(*args, **kwargs))
    try:
        yield
    finally:
        range_pop()


__getattr__ = _module_getattr(__name__)  # unknown names: a clear not-implemented error
