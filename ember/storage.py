"""Storages: the memory that tensors view (torch.storage).

``Tensor.untyped_storage()`` gives an ``UntypedStorage``, the bytes of the allocation the tensor
lives in (its offset into them is ``Tensor.storage_offset()``), and ``Tensor.storage()`` the
same memory as a ``TypedStorage`` of the tensor's dtype, torch's deprecated form that older
programs and the legacy classes (``torch.FloatStorage`` ...) use. Both share memory with every
tensor over the same allocation: writing an element through a storage changes those tensors,
and ``Tensor.set_(storage, offset, size, stride)`` makes a tensor view a storage.

A storage here holds a flat uint8 array (NumPy, or CuPy for CUDA) over the allocation's bytes.
The allocation is the NumPy/CuPy array that owns the memory; for memory that no array owns (a
view made by NumPy's ``as_strided``), the storage is a copy, as ``Tensor.as_strided`` documents.
"""

from __future__ import annotations

import os
import warnings

import numpy as np

from . import dtypes
from ._backend.xp import CPU_ARRAY, move_like, xp_for, xp_of
from .device import device as _device
from .device import device_of
from .ops.inplace import check_leaf
from .ops.view import _as_strided_checked, _storage_root
from .tensor import Tensor, _wrap

__all__ = ["UntypedStorage", "TypedStorage"]


def _bytes_of(a) -> tuple:
    """(flat uint8 array over the allocation ``a`` lives in, ``a``'s byte offset into it)."""
    root, off = _storage_root(a)
    return root.view(xp_of(root).uint8), off * a.itemsize


class _Placement:
    """What both storage classes answer alike about where they live (``to`` is each one's)."""

    __slots__ = ()

    def cpu(self):
        return self.to(device="cpu")

    def cuda(self, device=None, non_blocking: bool = False):
        return self.to(device=_device("cuda", device) if isinstance(device, int) else "cuda")

    def is_shared(self) -> bool:
        return False  # ember's worker processes share batches through their own segments

    def share_memory_(self):
        return self

    def is_pinned(self, device="cuda") -> bool:
        return False

    def pin_memory(self, device="cuda"):
        return self


class UntypedStorage(_Placement):
    """Bytes (torch.UntypedStorage): ``UntypedStorage(n)`` (n zero bytes), ``UntypedStorage(
    [ints])``, ``device=``; ``Tensor.untyped_storage()`` gives a tensor's."""

    __slots__ = ("_bytes",)
    is_sparse = False

    def __init__(self, *args, device=None):
        dev = _device(device) if device is not None else _device("cpu")
        xp = xp_for(dev)
        if not args:
            b = xp.zeros(0, np.uint8)
        elif len(args) == 1 and isinstance(args[0], int):
            if args[0] < 0:
                raise RuntimeError(f"Storage size must be non-negative, got {args[0]}")
            b = xp.zeros(args[0], np.uint8)
        elif len(args) == 1 and isinstance(args[0], (list, tuple, range)):
            b = xp.asarray(np.asarray(args[0], dtype=np.int64).astype(np.uint8))
        else:
            raise TypeError(f"UntypedStorage(): invalid arguments {args!r}")
        self._bytes = b

    @classmethod
    def _over(cls, b) -> UntypedStorage:
        s = cls.__new__(cls)
        s._bytes = b
        return s

    # sizes and identity
    def nbytes(self) -> int:
        return int(self._bytes.size)

    def size(self) -> int:
        return self.nbytes()

    def __len__(self) -> int:
        return self.nbytes()

    def element_size(self) -> int:
        return 1

    def data_ptr(self) -> int:
        b = self._bytes
        return b.__array_interface__["data"][0] if type(b) is CPU_ARRAY else b.data.ptr

    @property
    def device(self) -> _device:
        return device_of(self._bytes)

    @property
    def is_cuda(self) -> bool:
        return self.device.type == "cuda"

    def type(self, dtype=None, non_blocking: bool = False):
        if dtype is None:
            return "torch.storage.UntypedStorage"
        raise NotImplementedError("ember converts storages through tensors: use Tensor.to")

    def untyped(self) -> UntypedStorage:
        return self

    # elements
    def _index(self, i: int) -> int:
        n = self.nbytes()
        if not -n <= i < n:
            raise IndexError(f"index {i} out of range for storage of size {n}")
        return i % n if n else i

    def __getitem__(self, idx):
        if isinstance(idx, slice):
            start, stop, step = idx.indices(self.nbytes())
            if step != 1:
                raise RuntimeError(
                    f"Trying to slice with a step of {step}, but only a step of 1 is supported"
                )
            return UntypedStorage._over(self._bytes[start : max(start, stop)])
        return int(self._bytes[self._index(int(idx))])

    def __setitem__(self, idx, value) -> None:
        if isinstance(idx, slice):
            self._bytes[idx] = value
        else:
            self._bytes[self._index(int(idx))] = value

    def __iter__(self):
        return iter(self.tolist())

    def tolist(self) -> list:
        b = self._bytes
        return (b if type(b) is CPU_ARRAY else b.get()).tolist()

    def fill_(self, value) -> UntypedStorage:
        self._bytes.fill(value)
        return self

    def copy_(self, source, non_blocking: bool = False) -> UntypedStorage:
        if not isinstance(source, (UntypedStorage, TypedStorage)):
            raise TypeError(f"copy_(): expected a storage, got {type(source).__name__}")
        src = source.untyped()._bytes
        if src.size != self._bytes.size:
            raise RuntimeError(f"size mismatch, {self._bytes.size} vs {src.size}")
        self._bytes[...] = move_like(src, self._bytes)
        return self

    def clone(self) -> UntypedStorage:
        return UntypedStorage._over(self._bytes.copy())

    # devices and sharing
    def to(self, *, device=None, non_blocking: bool = False) -> UntypedStorage:
        dev = _device(device)
        if dev == self.device:
            return self
        xp = xp_for(dev)
        b = self._bytes
        return UntypedStorage._over(xp.asarray(b if type(b) is CPU_ARRAY else b.get()))

    def resize_(self, size: int):
        raise RuntimeError(
            "Trying to resize storage that is not resizable (ember's storages are the memory of "
            "arrays: resize the tensor instead)"
        )

    # constructors from outside memory
    @classmethod
    def from_buffer(cls, buffer, byte_order: str = "native", count: int = -1, offset: int = 0,
                    dtype=None) -> UntypedStorage:  # fmt: skip
        """A storage over a copy of the bytes of ``buffer`` (``dtype`` sets the element size
        for ``count`` and ``offset``; uint8 by default)."""
        dt = dtypes.to_dtype(dtype) if dtype is not None else dtypes.uint8
        a = np.frombuffer(buffer, dtype=dt.np, count=count, offset=offset * dt.itemsize)
        if byte_order not in ("native", "little", "big"):
            raise ValueError(f"byte_order must be 'native', 'little' or 'big', got {byte_order}")
        if byte_order != "native" and (byte_order == "little") != np.little_endian:
            a = a.byteswap()  # the bytes are in the other order than this machine's
        return cls._over(np.array(a).view(np.uint8))

    @classmethod
    def from_file(cls, filename: str, shared: bool = False, nbytes: int = 0) -> UntypedStorage:
        """The first ``nbytes`` of a file; ``shared=True`` maps it (writes reach the file, and a
        shorter file is first extended with zeros, as torch's mapping does)."""
        size = os.path.getsize(filename)
        if shared:
            if size < nbytes:
                with open(filename, "r+b") as f:
                    f.truncate(nbytes)
            if nbytes == 0:
                return cls._over(np.zeros(0, np.uint8))
            b = np.memmap(filename, dtype=np.uint8, mode="r+", shape=(nbytes,))
            return cls._over(b.view(np.ndarray))  # a plain array over the mapping
        if size < nbytes:
            raise RuntimeError(
                f"file <{filename}> size <{size}> is smaller than the required mapping size "
                f"<{nbytes}>"
            )
        with open(filename, "rb") as f:
            data = f.read(nbytes)
        return cls._over(np.frombuffer(bytearray(data), dtype=np.uint8))

    def __repr__(self) -> str:
        body = " " + "\n ".join(str(v) for v in self.tolist())
        return (
            f"{body}\n[torch.storage.UntypedStorage(device={self.device}) of size {self.nbytes()}]"
        )


class TypedStorage(_Placement):
    """The elements of a storage as one dtype (torch.TypedStorage, deprecated there):
    ``Tensor.storage()``, or ``TypedStorage(n, dtype=)`` / ``TypedStorage([values], dtype=)``."""

    __slots__ = ("_untyped_storage", "dtype")
    is_sparse = False

    def __init__(self, *args, dtype=None, device=None, wrap_storage=None):
        dt = dtypes.to_dtype(dtype) if dtype is not None else dtypes.get_default_dtype()
        if wrap_storage is not None:
            if args:
                raise RuntimeError("TypedStorage(): no positional arguments with wrap_storage")
            if not isinstance(wrap_storage, UntypedStorage):
                raise TypeError("expected wrap_storage to be an UntypedStorage")
            self._untyped_storage, self.dtype = wrap_storage, dt
            return
        dev = _device(device) if device is not None else _device("cpu")
        xp = xp_for(dev)
        if not args:
            a = xp.zeros(0, dt.np)
        elif len(args) == 1 and isinstance(args[0], int):
            a = xp.zeros(args[0], dt.np)
        elif len(args) == 1 and isinstance(args[0], (list, tuple, range)):
            a = xp.asarray(np.asarray(args[0]).astype(dt.np))
        else:
            raise TypeError(f"TypedStorage(): invalid arguments {args!r}")
        self._untyped_storage = UntypedStorage._over(a.reshape(-1).view(xp.uint8))
        self.dtype = dt

    def _elements(self):
        b = self._untyped_storage._bytes
        n = b.size // self.dtype.itemsize * self.dtype.itemsize
        return b[:n].view(self.dtype.np)

    def untyped(self) -> UntypedStorage:
        return self._untyped_storage

    def size(self) -> int:
        return self._untyped_storage.nbytes() // self.dtype.itemsize

    def __len__(self) -> int:
        return self.size()

    def nbytes(self) -> int:
        return self._untyped_storage.nbytes()

    def element_size(self) -> int:
        return self.dtype.itemsize

    def data_ptr(self) -> int:
        return self._untyped_storage.data_ptr()

    @property
    def device(self) -> _device:
        return self._untyped_storage.device

    @property
    def is_cuda(self) -> bool:
        return self._untyped_storage.is_cuda

    def _legacy_name(self) -> str:
        return STORAGE_OF_DTYPE.get(self.dtype, "TypedStorage")

    def type(self, dtype=None, non_blocking: bool = False):
        if dtype is None:
            prefix = "torch.cuda." if self.is_cuda else "torch."
            return prefix + self._legacy_name()
        raise NotImplementedError("ember converts storages through tensors: use Tensor.to")

    def pickle_storage_type(self) -> str:
        return self._legacy_name()

    def __getitem__(self, idx):
        if isinstance(idx, slice):
            raise RuntimeError("slices are only supported in UntypedStorage.__getitem__")
        n = self.size()
        i = int(idx)
        if not -n <= i < n:
            raise IndexError(f"index {i} out of range for storage of size {n}")
        return self._elements()[i].item()

    def __setitem__(self, idx, value) -> None:
        if isinstance(idx, slice):
            self._elements()[idx] = value
            return
        n = self.size()
        i = int(idx)
        if not -n <= i < n:
            raise IndexError(f"index {i} out of range for storage of size {n}")
        self._elements()[i] = value

    def __iter__(self):
        return iter(self.tolist())

    def tolist(self) -> list:
        e = self._elements()
        return (e if type(e) is CPU_ARRAY else e.get()).tolist()

    def fill_(self, value) -> TypedStorage:
        self._elements().fill(value)
        return self

    def copy_(self, source, non_blocking: bool = False) -> TypedStorage:
        self._untyped_storage.copy_(source, non_blocking)
        return self

    def clone(self) -> TypedStorage:
        return TypedStorage(wrap_storage=self._untyped_storage.clone(), dtype=self.dtype)

    def to(self, *, device=None, non_blocking: bool = False) -> TypedStorage:
        u = self._untyped_storage.to(device=device)
        if u is self._untyped_storage:
            return self
        return TypedStorage(wrap_storage=u, dtype=self.dtype)

    def __repr__(self) -> str:
        body = " " + "\n ".join(str(v) for v in self.tolist())
        return (
            f"{body}\n[torch.storage.TypedStorage(dtype={self.dtype}, device={self.device}) of "
            f"size {self.size()}]"
        )


# torch's legacy typed storage classes and the dtype of their elements (the checkpoint reader
# and writer name storages by these too)
STORAGE_DTYPES: dict[str, dtypes.dtype] = {
    "DoubleStorage": dtypes.float64,
    "FloatStorage": dtypes.float32,
    "HalfStorage": dtypes.float16,
    "BFloat16Storage": dtypes.bfloat16,
    "LongStorage": dtypes.int64,
    "IntStorage": dtypes.int32,
    "ShortStorage": dtypes.int16,
    "CharStorage": dtypes.int8,
    "ByteStorage": dtypes.uint8,
    "BoolStorage": dtypes.bool_,
    "ComplexFloatStorage": dtypes.complex64,
    "ComplexDoubleStorage": dtypes.complex128,
}
STORAGE_OF_DTYPE = {d: name for name, d in STORAGE_DTYPES.items()}
# the C++ names torch's set_ error gives a tensor's element type
_C_TYPES = {
    "float32": "float", "float64": "double", "int64": "long int", "int32": "int",
    "int16": "short int", "int8": "signed char", "uint8": "unsigned char", "bool": "bool",
    "float16": "c10::Half", "bfloat16": "c10::BFloat16",
}  # fmt: skip


def _legacy_class(name: str, dt: dtypes.dtype) -> type:
    def __init__(self, *args, device=None, wrap_storage=None):  # noqa: N807
        TypedStorage.__init__(self, *args, dtype=dt, device=device, wrap_storage=wrap_storage)

    cls = type(name, (TypedStorage,), {"__slots__": (), "__init__": __init__})
    cls.__doc__ = f"torch.{name}: a TypedStorage of {dt} (legacy)."
    cls.__module__ = __name__
    return cls


for _name, _dt in STORAGE_DTYPES.items():
    globals()[_name] = _legacy_class(_name, _dt)
    __all__.append(_name)

_warned = [False]


def _untyped_storage(self: Tensor) -> UntypedStorage:
    """The bytes of the allocation this tensor views (shared)."""
    return UntypedStorage._over(_bytes_of(self._data)[0])


def _storage(self: Tensor) -> TypedStorage:
    """The allocation as elements of this tensor's dtype (torch's deprecated TypedStorage)."""
    if not _warned[0]:
        _warned[0] = True
        warnings.warn(
            "TypedStorage is deprecated. It will be removed in the future and UntypedStorage "
            "will be the only storage class. This should only matter to you if you are using "
            "storages directly.  To access UntypedStorage directly, use tensor.untyped_storage() "
            "instead of tensor.storage()",
            UserWarning,
            stacklevel=2,
        )
    return TypedStorage(wrap_storage=_untyped_storage(self), dtype=self.dtype)


def set_(self: Tensor, source=None, storage_offset: int = 0, size=None, stride=None) -> Tensor:
    """Make this tensor view ``source`` in place: a storage (at ``storage_offset`` elements, with
    ``size`` and ``stride``, the whole storage as 1-d by default), a tensor (its view), or
    nothing (an empty tensor)."""
    check_leaf(self, (source,))
    dt = self._data.dtype
    if source is None:
        self._data = xp_of(self._data).empty(0, dt)
    elif isinstance(source, Tensor):
        if source._data.dtype != dt:
            raise RuntimeError(
                f"Could not set tensor of type {source.dtype} to a tensor of type {self.dtype}"
            )
        if size is None:
            self._data = source._data
        else:
            flat, _ = _bytes_of(source._data)
            self._data = _as_strided_checked(flat, dt, storage_offset, size, stride)
    elif isinstance(source, (UntypedStorage, TypedStorage)):
        if isinstance(source, TypedStorage) and source.dtype.np != dt:
            want = _C_TYPES.get(self.dtype.name, self.dtype.name)
            got = STORAGE_OF_DTYPE.get(source.dtype, source.dtype.name).removesuffix("Storage")
            raise RuntimeError(
                f"Expected a Storage of type {want} or an UntypedStorage, but got type {got} for "
                "argument 1 'storage'"
            )
        b = source.untyped()._bytes
        if size is None:
            size, stride = (b.size // dt.itemsize - storage_offset,), (1,)
        self._data = _as_strided_checked(b, dt, storage_offset, size, stride)
    else:
        raise TypeError(f"set_(): expected a Tensor or a Storage, got {type(source).__name__}")
    self._bump()
    return self


def from_file(filename: str, shared: bool | None = None, size: int = 0, *, dtype=None,
              layout=None, device=None, pin_memory: bool = False) -> Tensor:  # fmt: skip
    """A 1-d tensor of ``size`` elements read from a file (``shared=True``: mapped, so writes
    reach the file), as torch.from_file (``layout`` strided; ``pin_memory`` changes nothing on
    ember's CPU tensors)."""
    dt = dtypes.to_dtype(dtype) if dtype is not None else dtypes.get_default_dtype()
    st = UntypedStorage.from_file(filename, bool(shared), size * dt.itemsize)
    t = _wrap(st._bytes.view(dt.np))
    return t.to(device) if device is not None else t
