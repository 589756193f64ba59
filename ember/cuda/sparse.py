"""torch.cuda.sparse: the legacy sparse CUDA tensor types (``torch.cuda.sparse.FloatTensor(
indices, values, size)``: a sparse COO tensor on the GPU).

ember's sparse tensors live on the CPU, so with a GPU calling one raises ember's
not-implemented error; without one, as torch's CPU build, TypeError("type
torch.cuda.sparse.X not available. Torch not compiled with CUDA enabled."). ``isinstance`` is
False for every tensor ember makes.
"""

from __future__ import annotations

from .. import dtypes
from .._torch_alias import module_getattr as _module_getattr
from ._legacy_types import tensor_type

__all__ = [
    "DoubleTensor",
    "FloatTensor",
    "HalfTensor",
    "BFloat16Tensor",
    "LongTensor",
    "IntTensor",
    "ShortTensor",
    "CharTensor",
    "ByteTensor",
]

DoubleTensor = tensor_type("DoubleTensor", dtypes.float64, __name__, sparse=True)
FloatTensor = tensor_type("FloatTensor", dtypes.float32, __name__, sparse=True)
HalfTensor = tensor_type("HalfTensor", dtypes.float16, __name__, sparse=True)
BFloat16Tensor = tensor_type("BFloat16Tensor", dtypes.bfloat16, __name__, sparse=True)
LongTensor = tensor_type("LongTensor", dtypes.int64, __name__, sparse=True)
IntTensor = tensor_type("IntTensor", dtypes.int32, __name__, sparse=True)
ShortTensor = tensor_type("ShortTensor", dtypes.int16, __name__, sparse=True)
CharTensor = tensor_type("CharTensor", dtypes.int8, __name__, sparse=True)
ByteTensor = tensor_type("ByteTensor", dtypes.uint8, __name__, sparse=True)

__getattr__ = _module_getattr(__name__)  # unknown names: a clear not-implemented error
