"""ember.sparse: sparse tensor functions, as ``torch.sparse``."""

from __future__ import annotations

from .. import dtypes
from ..ops.sparse import (  # noqa: A004
    SparseTensor,
    log_softmax,
    mm,
    softmax,
    sparse_coo_tensor,
    sum,
)
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
