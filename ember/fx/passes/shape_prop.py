"""``ShapeProp``: run a GraphModule and record each node's tensor shape and dtype.

As torch.fx.passes.shape_prop: ``node.meta['tensor_meta']`` is a ``TensorMetadata`` (or a
structure of them for a node returning several tensors) and ``node.meta['type']`` the type of
the value."""

from __future__ import annotations

from typing import Any, NamedTuple

import ember
from ember.fx.interpreter import Interpreter
from ember.fx.node import Node, map_aggregate

__all__ = ["ShapeProp", "TensorMetadata"]


class TensorMetadata(NamedTuple):
    """Shape, dtype and layout facts of a tensor, as torch's TensorMetadata."""

    shape: ember.Size
    dtype: ember.dtype
    requires_grad: bool
    stride: tuple[int, ...]
    memory_format: Any
    is_quantized: bool
    qparams: dict[str, Any]


def _extract_tensor_metadata(result: ember.Tensor) -> TensorMetadata:
    memory_format = None
    for fmt in (ember.contiguous_format, ember.channels_last, ember.channels_last_3d):
        try:
            if result.is_contiguous(memory_format=fmt):
                memory_format = fmt
                break
        except (RuntimeError, ValueError):
            continue  # channels_last asks for a 4-d tensor
    return TensorMetadata(
        result.shape,
        result.dtype,
        result.requires_grad,
        tuple(result.stride()),
        memory_format,
        False,
        {},
    )


class ShapeProp(Interpreter):
    """Runs the graph on example inputs and stores each node's tensor metadata."""

    def __init__(self, gm: Any, fake_mode: Any = None) -> None:
        super().__init__(gm)
        self.fake_mode = fake_mode

    def run_node(self, n: Node) -> Any:
        """Run ``n`` and record ``tensor_meta`` and ``type`` in ``n.meta``."""
        result = super().run_node(n)
        found = False

        def extract(obj: Any) -> Any:
            nonlocal found
            if isinstance(obj, ember.Tensor):
                found = True
                return _extract_tensor_metadata(obj)
            return obj

        meta = map_aggregate(result, extract)
        if found:
            n.meta["tensor_meta"] = meta
        n.meta["type"] = type(result)
        return result

    def propagate(self, *args: Any) -> Any:
        """Run the graph on ``args``, recording metadata; returns its output."""
        return super().run(*args)
