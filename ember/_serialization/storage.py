"""Loaded storages, torch's storage/dtype names, device restore, and the tensor rebuild
functions that torch's pickles call (``torch._utils._rebuild_tensor_v2`` and friends)."""

from __future__ import annotations

import numpy as np

from .. import cuda, dtypes
from ..device import device as Device
from ..nn.parameter import Parameter
from ..ops import sparse, sparse_compressed
from ..tensor import Tensor, _wrap

QUANTIZED_STORAGES = (
    "QUInt8Storage",
    "QInt8Storage",
    "QInt32Storage",
    "QUInt4x2Storage",
    "QUInt2x4Storage",
)
# every dtype name torch can put in a pickle (torch.<name>); ember lacks some of them
TORCH_DTYPE_NAMES = (
    "bool",
    "uint8",
    "int8",
    "int16",
    "int32",
    "int64",
    "uint16",
    "uint32",
    "uint64",
    "float16",
    "bfloat16",
    "float32",
    "float64",
    "complex32",
    "complex64",
    "complex128",
    "float8_e4m3fn",
    "float8_e5m2",
    "float8_e4m3fnuz",
    "float8_e5m2fnuz",
    "float8_e8m0fnu",
    "float4_e2m1fn_x2",
    "bits8",
    "bits16",
    "bits1x8",
    "bits2x4",
    "bits4x2",
    "quint8",
    "qint8",
    "qint32",
    "quint4x2",
    "quint2x4",
    *(f"uint{i}" for i in range(1, 8)),
    *(f"int{i}" for i in range(1, 8)),
)


class StorageType:
    """What ``torch.FloatStorage`` / ``torch.storage.UntypedStorage`` unpickle to."""

    __slots__ = ("name", "dtype")

    def __init__(self, name: str, dtype: dtypes.dtype | None):
        self.name = name
        self.dtype = dtype  # None: untyped bytes

    def __repr__(self) -> str:
        return f"torch.{self.name}"


class UnsupportedDtype:
    """A torch dtype that ember cannot hold (float8, quantized, bits...)."""

    __slots__ = ("name",)

    def __init__(self, name: str):
        self.name = name

    def __repr__(self) -> str:
        return f"torch.{self.name}"


class Marker:
    """A torch global that loads but that ember has no use for (qschemes, legacy classes)."""

    __slots__ = ("name",)

    def __init__(self, name: str):
        self.name = name

    def __repr__(self) -> str:
        return self.name


def dtype_global(name: str):
    """The object a ``torch.<dtype name>`` global stands for."""
    d = getattr(dtypes, name, None) if name != "bool" else dtypes.bool_
    if isinstance(d, dtypes.dtype) and d.name == name and d._np is not None:
        return d
    return UnsupportedDtype(name)


class Storage:
    """One storage of a checkpoint: its raw bytes (a writable uint8 array), shared by every
    tensor that views it, plus where it is to be restored."""

    __slots__ = ("buf", "dtype", "key", "location", "target", "big_endian", "_swapped", "pending")

    def __init__(
        self,
        buf: np.ndarray,
        dtype: dtypes.dtype | None,
        key: str,
        location: str,
        big_endian: bool = False,
    ):
        self.buf = buf
        self.dtype = dtype
        self.key = key
        self.location = location
        self.target: Device | None = None
        self.big_endian = big_endian
        self._swapped = 0  # itemsize used to byteswap a big-endian storage, once
        self.pending: list | None = None  # fix-ups to run once the bytes are in (legacy)

    # the storage API that map_location callables use
    @property
    def device(self) -> Device:
        return self.target or Device("cpu")

    def cpu(self) -> Storage:
        self.target = Device("cpu")
        return self

    def cuda(self, device=None, non_blocking: bool = False) -> Storage:
        self.target = (
            Device("cuda", device) if isinstance(device, int) else Device(device or "cuda")
        )
        return self

    def to(self, device=None, non_blocking: bool = False) -> Storage:
        self.target = Device(device)
        return self

    def nbytes(self) -> int:
        return int(self.buf.size)

    def size(self) -> int:
        return int(self.buf.size) // (self.dtype.itemsize if self.dtype else 1)

    def __len__(self) -> int:
        return self.size()

    def typed(self, dt: dtypes.dtype) -> np.ndarray:
        """The storage's elements as a 1-d array of ``dt`` (shares memory)."""
        n = dt.itemsize
        buf = self.buf
        if buf.size % n:
            raise RuntimeError(
                f"storage '{self.key}' of {buf.size} bytes does not hold whole elements of {dt!r}"
            )
        unit = n // 2 if dt.is_complex else n  # complex numbers swap each half
        if self.big_endian and unit > 1:
            if self._swapped == 0:
                buf.view(np.dtype(f"u{unit}")).byteswap(inplace=True)
                self._swapped = unit
            elif self._swapped != unit:
                raise RuntimeError(
                    f"big-endian storage '{self.key}' is viewed with two different element sizes"
                )
        return buf.view(dt.np)


def _as_dims(v, what: str) -> tuple:
    if not isinstance(v, (tuple, list)) or not all(type(x) is int for x in v):
        raise RuntimeError(
            f"corrupted checkpoint: tensor {what} must be a tuple of ints, got {type(v).__name__}"
        )
    return tuple(v)


def make_array(storage, offset, size, stride, dt: dtypes.dtype) -> np.ndarray:
    """Bounds-check a (storage, offset, size, stride) view and build it without copying."""
    if not isinstance(storage, Storage):
        raise RuntimeError(f"corrupted checkpoint: expected a storage, got {type(storage)}")
    size = _as_dims(size, "size")
    stride = _as_dims(stride, "stride")
    if type(offset) is not int or offset < 0:
        raise RuntimeError("corrupted checkpoint: bad storage offset")
    if len(size) != len(stride) or len(size) > 64:
        raise RuntimeError(
            f"corrupted checkpoint: tensor size ({len(size)} dims) and stride "
            f"({len(stride)} dims) do not match"
        )
    if any(s < 0 for s in size):
        raise RuntimeError("corrupted checkpoint: negative tensor size")
    if any(s < 0 for s in stride):
        raise RuntimeError("ember cannot load a tensor with negative strides")
    elems = storage.typed(dt)
    numel = 1
    for s in size:
        numel *= s
    if numel == 0:
        try:
            return np.empty(size, dt.np)
        except (ValueError, OverflowError):
            raise RuntimeError("corrupted checkpoint: impossible tensor size") from None
    last = offset + sum((s - 1) * st for s, st in zip(size, stride))
    if last >= elems.size:
        raise RuntimeError(
            f"corrupted checkpoint: a tensor of {len(size)} dims at offset {offset} reaches "
            f"element {last} but storage '{storage.key}' holds {elems.size} elements"[:300]
        )
    try:  # an ndarray over the storage's buffer: its .base chain leads back to the storage
        return np.ndarray(
            size,
            dt.np,
            buffer=elems,
            offset=offset * dt.itemsize,
            strides=tuple(st * dt.itemsize for st in stride),
        )
    except (ValueError, OverflowError, TypeError) as e:
        raise RuntimeError(f"corrupted checkpoint: cannot view the storage: {e}") from None


def _finish(arr: np.ndarray, storage: Storage, requires_grad, metadata=None) -> Tensor:
    conj = neg = False
    if metadata:
        if not isinstance(metadata, dict):
            raise RuntimeError("corrupted checkpoint: tensor metadata must be a dict")
        conj, neg = bool(metadata.get("conj")), bool(metadata.get("neg"))
    t = _wrap(arr)
    if requires_grad:
        if not (arr.dtype.kind in "fc" or t.dtype is dtypes.bfloat16):
            raise RuntimeError(
                "only Tensors of floating point and complex dtype can require gradients"
            )
        t._rg = True
    target = storage.target

    def fix() -> None:  # materialise conj/neg bits and move to the target device
        a = t._data
        if conj:
            a = np.conj(a)
        if neg:
            a = np.negative(a)
        if target is not None and target.type != "cpu":
            a = _wrap(a)._to(target, None)._data
        t._data = a

    if conj or neg or (target is not None and target.type != "cpu"):
        if storage.pending is not None:  # legacy files: the bytes arrive after the pickle
            storage.pending.append(fix)
        else:
            fix()
    return t


def _storage_dtype(storage) -> dtypes.dtype:
    if not isinstance(storage, Storage):
        raise RuntimeError(f"corrupted checkpoint: expected a storage, got {type(storage)}")
    if storage.dtype is None:
        raise RuntimeError("corrupted checkpoint: an untyped storage needs _rebuild_tensor_v3")
    return storage.dtype


def rebuild_tensor(storage, storage_offset, size, stride) -> Tensor:
    """torch._utils._rebuild_tensor (old files)."""
    return _finish(
        make_array(storage, storage_offset, size, stride, _storage_dtype(storage)), storage, False
    )


def rebuild_tensor_v2(
    storage, storage_offset, size, stride, requires_grad=False, backward_hooks=None, metadata=None
) -> Tensor:
    """torch._utils._rebuild_tensor_v2: a view of a typed storage."""
    arr = make_array(storage, storage_offset, size, stride, _storage_dtype(storage))
    return _finish(arr, storage, requires_grad, metadata)


def rebuild_tensor_v3(
    storage, storage_offset, size, stride, requires_grad, backward_hooks, dtype, metadata=None
) -> Tensor:
    """torch._utils._rebuild_tensor_v3: a view of an untyped storage with an explicit dtype."""
    if isinstance(dtype, UnsupportedDtype):
        raise RuntimeError(
            f"ember cannot hold tensors of dtype {dtype!r}, so it cannot load this one"
        )
    if not isinstance(dtype, dtypes.dtype):
        raise RuntimeError(f"corrupted checkpoint: expected a dtype, got {type(dtype)}")
    arr = make_array(storage, storage_offset, size, stride, dtype)
    return _finish(arr, storage, requires_grad, metadata)


def rebuild_parameter(data, requires_grad, backward_hooks=None):
    """torch._utils._rebuild_parameter."""
    if not isinstance(data, Tensor):
        raise RuntimeError("corrupted checkpoint: a Parameter needs a tensor")
    return Parameter(data, bool(requires_grad))


_TENSOR_FIELDS = frozenset(("_data", "_rg", "grad_fn", "_vc", "_base", "_out_nr", "_accum"))


def _set_state(obj, state) -> None:
    if not state:
        return
    slots = None
    if isinstance(state, tuple) and len(state) == 2:
        state, slots = state
    for part in (state, slots):
        if part:
            if not isinstance(part, dict):
                raise RuntimeError("corrupted checkpoint: object state must be a dict")
            for k, v in part.items():
                if not isinstance(k, str) or k.startswith("__") or k in _TENSOR_FIELDS:
                    raise RuntimeError("corrupted checkpoint: bad attribute name")
                setattr(obj, k, v)


def rebuild_parameter_with_state(data, requires_grad, backward_hooks, state):
    """torch._utils._rebuild_parameter_with_state: a Parameter with Python attributes."""
    p = rebuild_parameter(data, requires_grad, backward_hooks)
    _set_state(p, state)
    return p


def rebuild_from_type_v2(func, new_type, args, state):
    """torch._tensor._rebuild_from_type_v2: rebuild, then retype (subclass) and set state."""
    if not callable(func) or not isinstance(args, tuple):
        raise RuntimeError("corrupted checkpoint: bad _rebuild_from_type_v2 arguments")
    r = func(*args)
    if isinstance(new_type, type) and issubclass(new_type, Tensor) and type(r) is not new_type:
        if not isinstance(r, Tensor):
            raise RuntimeError("corrupted checkpoint: _rebuild_from_type_v2 made no tensor")
        if new_type.__name__ == "Parameter":
            r = rebuild_parameter(r, r.requires_grad)
        else:
            r.__class__ = new_type
    _set_state(r, state)
    return r


def rebuild_device_tensor_from_cpu_tensor(data, dtype, device, requires_grad):
    """torch._utils._rebuild_device_tensor_from_cpu_tensor."""
    t = data.to(device=device, dtype=dtype)
    t._rg = bool(requires_grad)
    return t


def rebuild_device_tensor_from_numpy(data, dtype, device, requires_grad):
    """torch._utils._rebuild_device_tensor_from_numpy."""
    t = _wrap(np.array(data, dtype=dtype.np)).to(device=device)
    t._rg = bool(requires_grad)
    return t


def rebuild_sparse_tensor(layout, data):
    """torch._utils._rebuild_sparse_tensor: a COO (indices, values, size[, coalesced]) or a
    CSR/CSC/BSR/BSC (compressed_indices, plain_indices, values, size) tensor; as torch, the
    compressed ones are checked only under ``torch.sparse.check_sparse_tensor_invariants``."""
    if layout is dtypes.sparse_coo:
        indices, values, size = data[:3]
        coalesced = data[3] if len(data) > 3 else None
        return sparse.sparse_coo_tensor(indices, values, size, is_coalesced=coalesced)
    if layout in sparse_compressed.COMPRESSED:
        compressed, plain, values, size = data
        return sparse_compressed.sparse_compressed_tensor(
            compressed, plain, values, size, layout=layout
        )
    raise RuntimeError(f"ember cannot load sparse tensors of layout {layout}")


def _unsupported(what: str):
    def rebuild(*args, **kwargs):
        raise RuntimeError(f"ember cannot load {what}")

    rebuild.__name__ = f"unsupported_{what.replace(' ', '_')}"
    return rebuild


REBUILD_FUNCTIONS = {
    "_rebuild_tensor": rebuild_tensor,
    "_rebuild_tensor_v2": rebuild_tensor_v2,
    "_rebuild_tensor_v3": rebuild_tensor_v3,
    "_rebuild_parameter": rebuild_parameter,
    "_rebuild_parameter_with_state": rebuild_parameter_with_state,
    "_rebuild_device_tensor_from_cpu_tensor": rebuild_device_tensor_from_cpu_tensor,
    "_rebuild_device_tensor_from_numpy": rebuild_device_tensor_from_numpy,
    "_rebuild_qtensor": _unsupported("quantized tensors"),
    "_rebuild_sparse_tensor": rebuild_sparse_tensor,
    "_rebuild_nested_tensor": _unsupported("nested tensors"),
    "_rebuild_wrapper_subclass": _unsupported("tensor wrapper subclasses"),
    "_rebuild_meta_tensor_no_storage": _unsupported("meta tensors"),
}


def get_layout(name):
    """torch.serialization._get_layout: ember's layout object (a marker for those it lacks)."""
    found = getattr(dtypes, str(name).removeprefix("torch."), None)
    return found if isinstance(found, dtypes.layout) else Marker(str(name))


# --- restoring storages to devices (map_location) -------------------------------------------


def _cuda_check(dev: Device) -> Device:
    if not cuda.is_available():
        raise RuntimeError(
            "Attempting to deserialize object on a CUDA device but torch.cuda.is_available() is "
            "False. If you are running on a CPU-only machine, please use torch.load with "
            "map_location=torch.device('cpu') to map your storages to the CPU."
        )
    return dev


def default_restore(location) -> Device:
    """Where a storage saved at ``location`` goes when nothing else is said."""
    dev = location if isinstance(location, Device) else Device(str(location))
    if dev.type == "cpu":
        return dev
    if dev.type == "cuda":
        return _cuda_check(dev)
    raise RuntimeError(f"ember cannot restore storages to device type '{dev.type}'")


def restore(storage: Storage, map_location) -> None:
    """Set ``storage.target`` from the saved location and torch.load's ``map_location``."""
    loc = storage.location
    if map_location is None:
        storage.target = default_restore(loc)
    elif isinstance(map_location, (str, bytes, Device)):
        ml = map_location.decode() if isinstance(map_location, bytes) else map_location
        storage.target = default_restore(ml)
    elif isinstance(map_location, dict):
        storage.target = default_restore(map_location.get(loc, loc))
    elif callable(map_location):
        r = map_location(storage, loc)
        if r is None:
            storage.target = default_restore(loc)
        elif r is not storage:
            if not isinstance(r, Storage):
                raise RuntimeError("map_location must return a storage loaded by ember")
            storage.target = r.target
        elif storage.target is None:
            storage.target = Device("cpu")
        if storage.target.type == "cuda":
            _cuda_check(storage.target)
    else:
        storage.target = default_restore(map_location)
