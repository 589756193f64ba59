"""copy_, fill_ and zero_: write values into an existing tensor (cast, broadcast, moved across
devices), recorded in the graph as torch does when grads flow."""

from __future__ import annotations

import numpy as np

from .._backend.casting import cast
from .._backend.xp import CPU_ARRAY, xp_of
from .._grad_state import state as _gs
from ..tensor import Tensor, _wrap
from ._ignore import IgnoreSecond
from .creation import zeros_like
from .inplace import check_leaf, inplace
from .unary import Cast, ToDevice
from .view import _storage_root, expand


def copy_(self: Tensor, src, non_blocking: bool = False) -> Tensor:
    """Copy src's values into self (broadcast, cast, across devices)."""
    if not isinstance(src, Tensor):
        src = _wrap(np.asarray(src))

    def compute(s):
        r = src
        if r.device != s.device:
            r = ToDevice.apply(r, s.device)
        if r._data.dtype != s._data.dtype:
            r = Cast.apply(r, s._data.dtype)
        if tuple(r._data.shape) != tuple(s._data.shape):
            r = expand(r, s._data.shape)
        if s._rg:
            # the old values of self no longer matter: route the gradient to src only
            return r + s * 0
        return r

    check_leaf(self, (src,))
    if not (_gs.enabled and (self._rg or src._rg)):
        arr = src._data
        if type(arr) is not type(self._data):
            arr = arr.get() if hasattr(arr, "get") else xp_of(self._data).asarray(arr)
        try:
            self._data[...] = (
                cast(arr, self._data.dtype, copy=False) if hasattr(arr, "astype") else arr
            )
        except ValueError:
            raise RuntimeError(
                f"The size of tensor a ({self._data.shape[-1] if self._data.ndim else 1}) must "
                f"match the size of tensor b ({arr.shape[-1] if arr.ndim else 1}) at "
                f"non-singleton dimension {self._data.ndim - 1}"
            ) from None
        self._bump()
        return self
    return inplace(self, compute, src)


def fill_(self: Tensor, value) -> Tensor:
    if isinstance(value, Tensor):
        if value._data.ndim:
            raise RuntimeError(
                f"fill_ only supports 0-dimension value tensor but got tensor with "
                f"{value._data.ndim} dimensions."
            )
        if _gs.enabled and value._rg:
            return copy_(self, value.expand(self.shape) + zeros_like(self))
        value = value._data
        if self._data.dtype.kind in "iu" and value.dtype.kind in "iub":
            value = value.astype(np.int64)  # wraps into a narrower type, as torch
        value = cast(value, self._data.dtype)
        if type(value) is not CPU_ARRAY:  # a CuPy 0-d array: fill takes a Python number
            value = value.item()
    check_leaf(self)
    if _gs.enabled and self._rg:
        return inplace(self, lambda s: s * 0 + value)
    if type(value) is int and self._data.dtype.kind in "iu":
        value = np.asarray(value).astype(np.int64).astype(self._data.dtype)
    self._data.fill(value)
    self._bump()
    return self


def zero_(self: Tensor) -> Tensor:
    """Set every element to zero, in place."""
    return fill_(self, 0)


def fill(input: Tensor, value) -> Tensor:
    """A tensor like input filled with ``value`` (a number or a 0-d tensor), out of place; the
    gradient reaches ``value`` when it is a tensor, and input gets a zero gradient, as torch."""
    if isinstance(value, Tensor):
        r = value.reshape(()).to(input.dtype).expand(*input._data.shape).clone()
    else:
        r = fill_(input.detach().clone(), value)
    return IgnoreSecond.apply(r, input) if input._rg else r


def resize_(self: Tensor, *sizes, memory_format=None) -> Tensor:
    """Give self the shape ``sizes`` in place: the first elements of its (contiguous) storage
    are kept, new ones are zero (torch leaves them uninitialised)."""
    if len(sizes) == 1 and not isinstance(sizes[0], int):
        sizes = tuple(sizes[0])
    sizes = tuple(int(s) for s in sizes)
    if any(s < 0 for s in sizes):
        raise RuntimeError(
            f"Trying to create tensor with negative dimension {min(sizes)}: {list(sizes)}"
        )
    if self._rg:
        raise RuntimeError("cannot resize variables that require grad")
    a = self._data
    n = int(np.prod(sizes, dtype=np.int64))
    flat, off = _storage_root(a)  # as torch, a shrink keeps the storage for a later grow
    flat = flat[off:]
    if n <= flat.size:
        self._data = flat[:n].reshape(sizes)
    else:
        grown = xp_of(a).zeros(n, a.dtype)
        grown[: flat.size] = flat
        self._data = grown.reshape(sizes)
    self._bump()
    return self


def resize_as_(self: Tensor, the_template: Tensor, memory_format=None) -> Tensor:
    """resize_ to the shape of ``the_template``."""
    return resize_(self, tuple(the_template._data.shape))
