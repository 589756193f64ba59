"""nn.Parameter: a Tensor that a Module registers as a learnable weight."""

from __future__ import annotations

import numpy as np

from .._tensor_str import tensor_repr
from ..tensor import Tensor, _rebuild, _wrap


class Parameter(Tensor):
    """A leaf tensor (requires_grad=True by default) that Modules collect in ``parameters()``.

    >>> Parameter(ember.zeros(2))
    Parameter containing:
    tensor([0., 0.], requires_grad=True)
    """

    _is_param = True

    def __new__(cls, data: Tensor | None = None, requires_grad: bool = True):
        t = object.__new__(cls)
        if data is None:
            arr = np.empty((0,), np.float32)
        else:
            arr = data._data if isinstance(data, Tensor) else np.asarray(data)
        t._data = arr
        t._rg = False
        t.grad_fn = None
        if isinstance(data, Tensor) and data._vc is not None:
            t._vc = data._vc
        if requires_grad:
            t.requires_grad_(True)
        return t

    def __init__(self, data=None, requires_grad: bool = True):
        pass

    def __repr__(self) -> str:
        return tensor_repr(self)

    def __reduce_ex__(self, proto):
        return (_rebuild, (self._host(), self._rg, True))


class Buffer(Tensor):
    """nn.Buffer: marks a tensor to be registered as a module buffer."""

    def __new__(cls, data: Tensor, *, persistent: bool = True):
        t = _wrap(data._data)
        t.persistent = persistent
        return t


def is_lazy(param) -> bool:
    return False
