"""ember.sparse: sparse tensor functions, as ``torch.sparse``."""

from __future__ import annotations

import functools

from .. import dtypes
from ..ops.sparse import (  # noqa: A004
    SparseTensor,
    log_softmax,
    mm,
    softmax,
    sparse_coo_tensor,
    sum,
)
from ..ops.sparse_compressed import invariants_checked, set_invariants_checked
from ..tensor import Tensor

__all__ = [
    "FloatTensor",
    "DoubleTensor",
    "LongTensor",
    "mm",
    "sum",
    "addmm",
    "softmax",
    "log_softmax",
    "check_sparse_tensor_invariants",
]


def addmm(mat: Tensor, mat1: SparseTensor, mat2: Tensor, *, beta=1, alpha=1) -> Tensor:
    """``beta * mat + alpha * (mat1 @ mat2)`` with mat1 sparse, as torch.sparse.addmm."""
    return mat * beta + mm(mat1, mat2) * alpha


def _legacy(dtype):
    def ctor(indices, values, size=None):
        # torch.sparse.FloatTensor(indices, values, size): the legacy constructor
        return sparse_coo_tensor(indices, values, size, dtype=dtype)

    return ctor


FloatTensor = _legacy(dtypes.float32)
DoubleTensor = _legacy(dtypes.float64)
LongTensor = _legacy(dtypes.int64)


class check_sparse_tensor_invariants:  # noqa: N801  (torch's name)
    """Whether sparse constructors check their indices by default (``check_invariants=None``):
    a context manager, a decorator, or ``enable()``/``disable()``/``is_enabled()``, as torch."""

    @staticmethod
    def is_enabled() -> bool:
        return invariants_checked()

    @staticmethod
    def enable() -> None:
        set_invariants_checked(True)

    @staticmethod
    def disable() -> None:
        set_invariants_checked(False)

    def __init__(self, enable: bool = True):
        self.state = enable
        self.saved_state: bool | None = None

    def __enter__(self):
        if self.saved_state is not None:
            raise RuntimeError(
                "This context manager instance is already activated. Use a different context "
                "manager instance for context nesting."
            )
        self.saved_state = self.is_enabled()
        set_invariants_checked(self.state)

    def __exit__(self, exc_type, exc_value, traceback):
        set_invariants_checked(self.saved_state)
        self.saved_state = None

    def __call__(self, func):
        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            with type(self)(self.state):  # a fresh one: the function may recurse
                return func(*args, **kwargs)

        return wrapper
