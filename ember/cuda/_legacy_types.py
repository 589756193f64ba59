"""torch.cuda's legacy tensor and storage types (``torch.cuda.FloatTensor``, ...,
``torch.cuda.FloatStorage``, ...; ``tensor_type`` also makes ``torch.cuda.sparse``'s):
constructors of CUDA tensors and storages of one dtype, and ``isinstance`` checks for them.

Without a GPU, as torch's CPU build: the tensor types raise TypeError("type torch.cuda.X not
available. Torch not compiled with CUDA enabled."), the storage types "Torch not compiled with
CUDA enabled", and ``isinstance`` is False.
"""

from __future__ import annotations

from .. import dtypes
from .._torch_alias import not_implemented
from ..device import to_device
from ..ops.creation import _LEGACY_NAMES, _legacy_new
from ..ops.sparse import SparseTensor
from ..storage import STORAGE_DTYPES, TypedStorage
from ..tensor import Tensor, _wrap
from ._runtime import NOT_COMPILED, is_available


def tensor_type(name: str, dt: dtypes.dtype, module: str, sparse: bool = False) -> type:
    """The legacy type ``module.name``: calling it makes a CUDA tensor of ``dt``, as
    ``ember.FloatTensor`` does on the CPU; ``isinstance`` accepts CUDA tensors of ``dt`` of
    that layout. The ``sparse`` types raise ember's not-implemented error with a GPU: ember's
    sparse tensors live on the CPU."""
    torch_name = "torch." + module.removeprefix("ember.") + "." + name

    def new(cls, *args, device=None):
        if not is_available():
            raise TypeError(f"type {torch_name} not available. {NOT_COMPILED}.")
        if sparse:
            raise not_implemented(torch_name)
        return _wrap(_legacy_new(args, dt, to_device("cuda" if device is None else device)))

    def instancecheck(cls, obj) -> bool:
        return (
            isinstance(obj, Tensor)
            and obj.dtype is dt
            and obj.is_cuda
            and isinstance(obj, SparseTensor) == sparse
        )

    meta = type(name + "Meta", (type,), {"__instancecheck__": instancecheck})
    body = {
        "__new__": new,
        "__module__": module,
        "__doc__": f"Legacy {torch_name}: {'sparse ' if sparse else ''}CUDA tensors of {dt!r}.",
        "dtype": dt,
        "is_cuda": True,
        "is_sparse": sparse,
    }
    return meta(name, (), body)


def storage_type(name: str, dt: dtypes.dtype) -> type:
    """The legacy storage type ``torch.cuda.name``: a TypedStorage of ``dt`` on a GPU."""

    def __init__(self, *args, device=None, wrap_storage=None):  # noqa: N807
        if not is_available():
            raise AssertionError(NOT_COMPILED)
        dev = "cuda" if device is None else device
        TypedStorage.__init__(self, *args, dtype=dt, device=dev, wrap_storage=wrap_storage)

    def instancecheck(cls, obj) -> bool:
        return isinstance(obj, TypedStorage) and obj.dtype is dt and obj.device.type == "cuda"

    # ``dtype`` on the metaclass: the class answers FloatStorage.dtype while instances keep
    # TypedStorage's own ``dtype`` slot
    meta = type(
        name + "Meta",
        (type,),
        {"__instancecheck__": instancecheck, "dtype": property(lambda cls: dt)},
    )
    body = {
        "__slots__": (),
        "__init__": __init__,
        "__module__": "ember.cuda",
        "__doc__": f"Legacy torch.cuda.{name}: a TypedStorage of {dt!r} on a GPU.",
    }
    return meta(name, (TypedStorage,), body)


DENSE = {n: tensor_type(n, dt, "ember.cuda") for n, dt in _LEGACY_NAMES.items()}
STORAGES = {n: storage_type(n, dt) for n, dt in STORAGE_DTYPES.items()}

FloatTensor = DENSE["FloatTensor"]
DoubleTensor = DENSE["DoubleTensor"]
HalfTensor = DENSE["HalfTensor"]
BFloat16Tensor = DENSE["BFloat16Tensor"]
LongTensor = DENSE["LongTensor"]
IntTensor = DENSE["IntTensor"]
ShortTensor = DENSE["ShortTensor"]
CharTensor = DENSE["CharTensor"]
ByteTensor = DENSE["ByteTensor"]
BoolTensor = DENSE["BoolTensor"]

DoubleStorage = STORAGES["DoubleStorage"]
FloatStorage = STORAGES["FloatStorage"]
HalfStorage = STORAGES["HalfStorage"]
BFloat16Storage = STORAGES["BFloat16Storage"]
LongStorage = STORAGES["LongStorage"]
IntStorage = STORAGES["IntStorage"]
ShortStorage = STORAGES["ShortStorage"]
CharStorage = STORAGES["CharStorage"]
ByteStorage = STORAGES["ByteStorage"]
BoolStorage = STORAGES["BoolStorage"]
ComplexFloatStorage = STORAGES["ComplexFloatStorage"]
ComplexDoubleStorage = STORAGES["ComplexDoubleStorage"]
