"""Flatten parameters into one vector and back."""

from __future__ import annotations

from collections.abc import Iterable

from ...ops.join import cat
from ...tensor import Tensor

__all__ = ["parameters_to_vector", "vector_to_parameters"]


def parameters_to_vector(parameters: Iterable[Tensor]) -> Tensor:
    """Concatenate the flattened parameters (differentiable)."""
    return cat([p.reshape(-1) for p in parameters])


def vector_to_parameters(vec: Tensor, parameters: Iterable[Tensor]) -> None:
    """Copy slices of vec into the parameters (in place)."""
    if not isinstance(vec, Tensor):
        raise TypeError(f"expected torch.Tensor, but got: {type(vec).__name__}")
    off = 0
    src = vec._data
    for p in parameters:
        n = p._data.size
        p._data[...] = src[off : off + n].reshape(p._data.shape)
        p._bump()
        off += n
