"""torch.cuda.graphs: CUDA graph capture and replay, which ember does not implement.

Without a GPU each entry point raises what torch's CPU build raises, made readable: torch fails
with "Tried to instantiate dummy base class ..." there, ember with RuntimeError("torch.cuda.X
requires CUDA support"), as torch's own ``Stream`` words it. With a GPU, capture and replay
raise ember's not-implemented error; ``is_current_stream_capturing`` answers from CuPy.
"""

from __future__ import annotations

from typing import Any

from .._backend.xp import cupy
from .._torch_alias import module_getattr as _module_getattr
from .._torch_alias import not_implemented
from ._runtime import is_available

__all__ = [
    "is_current_stream_capturing",
    "graph_pool_handle",
    "CUDAGraph",
    "graph",
    "make_graphed_callables",
]


def _needs_cuda(name: str) -> None:
    if not is_available():
        raise RuntimeError(f"torch.cuda.{name} requires CUDA support")


def is_current_stream_capturing() -> bool:
    """Whether the current stream is capturing a CUDA graph (through CuPy)."""
    _needs_cuda("is_current_stream_capturing")
    return bool(cupy().cuda.get_current_stream().is_capturing())


def graph_pool_handle() -> Any:
    """A memory pool id to share between graph captures (not implemented by ember)."""
    _needs_cuda("graph_pool_handle")
    raise not_implemented("torch.cuda.graph_pool_handle")


class CUDAGraph:
    """A captured CUDA graph (not implemented by ember)."""

    def __new__(cls, keep_graph: bool = False) -> CUDAGraph:
        _needs_cuda("CUDAGraph")
        raise not_implemented("torch.cuda.CUDAGraph")


class graph:  # noqa: N801  (torch's name)
    """Context manager that captures the block's CUDA work into a ``CUDAGraph`` (not
    implemented by ember; without a GPU, torch's error from its capture stream)."""

    def __init__(
        self,
        cuda_graph: CUDAGraph,
        pool: Any = None,
        stream: Any = None,
        capture_error_mode: str = "global",
        **kwargs: Any,
    ) -> None:
        _needs_cuda("Stream")
        raise not_implemented("torch.cuda.graph")


def make_graphed_callables(
    callables: Any,
    sample_args: tuple,
    num_warmup_iters: int = 3,
    allow_unused_input: bool = False,
    pool: Any = None,
) -> Any:
    """Graph-captured versions of callables (not implemented by ember; without a GPU, torch's
    error from the ``CUDAGraph`` it would make)."""
    _needs_cuda("CUDAGraph")
    raise not_implemented("torch.cuda.make_graphed_callables")


__getattr__ = _module_getattr(__name__)  # unknown names: a clear not-implemented error
