"""Tensor construction: tensor, as_tensor, from_numpy, zeros/ones/full/empty/eye, ranges, the
``*_like`` family and the legacy typed constructors."""

from __future__ import annotations

import builtins
import math
import warnings

import numpy as np

from .. import _device_ctx as _ctx
from .. import dtypes
from .._backend.casting import cast
from .._backend.xp import cuda_device_count, is_cpu, xp_for
from ..device import CPU, _default_stack, to_device
from ..dtypes import scalar_type_name
from ..tensor import Size, Tensor, _wrap
from .inplace import copy_into_out

__all__ = [
    "tensor",
    "frombuffer",
    "as_tensor",
    "asarray",
    "from_numpy",
    "from_dlpack",
    "to_dlpack",
    "zeros",
    "ones",
    "full",
    "empty",
    "empty_permuted",
    "eye",
    "arange",
    "range",
    "linspace",
    "logspace",
    "zeros_like",
    "ones_like",
    "full_like",
    "empty_like",
    "scalar_tensor",
    "empty_strided",
    "tril_indices",
    "triu_indices",
]


def _shape(size, what: str = "") -> tuple:
    """Shapes may come as varargs, a tuple, a list, a Size or a 0-d int tensor."""
    if len(size) == 1 and isinstance(size[0], (tuple, list, Size)):
        size = size[0]
    for s in size:
        if type(s) is not int or s < 0:
            break
    else:
        return tuple(size)
    if what == "zeros" and any(type(s) is int and s < 0 for s in size):
        raise RuntimeError("zeros: Dimension size must be non-negative.")
    out = []
    for s in size:
        if isinstance(s, Tensor):
            s = s.__index__()
        elif not isinstance(s, (int, np.integer)) or isinstance(s, bool):
            raise TypeError(
                f"empty(): argument 'size' must be tuple of ints, but found element of type "
                f"{type(s).__name__} at pos {len(out)}"
            )
        if s < 0:
            raise RuntimeError(f"Trying to create tensor with negative dimension {s}: {list(size)}")
        out.append(int(s))
    return tuple(out)


def _dev(device):
    if device is None:
        return _default_stack[-1] if _default_stack else _ctx._default
    return to_device(device)


def _size_of(args: tuple, size, name: str) -> tuple:
    """The shape of a ``*size`` factory given as varargs, one sequence, or ``size=``; no size at
    all is a 0-d shape (torch raises there, but ember's own code calls ``randn(*a.shape)``)."""
    if size is None:
        for s in args:  # the common case first: sizes as plain non-negative ints
            if type(s) is not int or s < 0:
                break
        else:
            return args
        if len(args) > 1 and any(isinstance(a, (tuple, list)) for a in args):
            raise TypeError(f"{name}() takes 1 positional argument but {len(args)} were given")
        return _shape(args, name)
    if args:
        raise TypeError(f"{name}() got multiple values for argument 'size'")
    if not isinstance(size, (tuple, list)):
        raise TypeError(
            f"{name}(): argument 'size' must be tuple of ints, not {type(size).__name__}"
        )
    return _shape((size,), name)


def _tuple_size(size, name: str) -> tuple:
    """The shape of a factory whose ``size`` is one sequence (full, empty_strided)."""
    if not isinstance(size, (tuple, list)):
        raise TypeError(
            f"{name}(): argument 'size' (position 1) must be tuple of ints, "
            f"not {type(size).__name__}"
        )
    return _shape((size,), name)


def check_layout(layout, name: str) -> None:
    """``layout=``: torch.strided (or None) is ember's only layout."""
    if layout is None or layout is dtypes.strided:
        return
    if not isinstance(layout, dtypes.layout) or layout.name in _MEMORY_FORMATS:
        raise TypeError(
            f"{name}(): argument 'layout' must be torch.layout, not {_type_name(layout)}"
        )
    raise NotImplementedError(f"ember does not implement torch.{name}(layout={layout!r}) yet")


_RANK = {"channels_last": 4, "channels_last_3d": 5}


def check_memory_format(memory_format, ndim: int, name: str) -> None:
    """``memory_format=``: accepted as torch does; ember's arrays stay row-major (contiguous)."""
    if memory_format is None:
        return
    fmt = getattr(memory_format, "name", None)
    if not isinstance(memory_format, dtypes.memory_format) or fmt not in _MEMORY_FORMATS:
        raise TypeError(
            f"{name}(): argument 'memory_format' must be torch.memory_format, "
            f"not {_type_name(memory_format)}"
        )
    rank = _RANK.get(fmt)
    if rank is not None and ndim != rank:
        raise RuntimeError(f"required rank {rank} tensor to use {fmt} format")


def check_pin_memory(pin_memory: bool) -> None:
    """``pin_memory=True`` needs an accelerator, as in torch (pinned host memory is for copies
    to a GPU); with one, ember's host arrays serve as they are."""
    if pin_memory and cuda_device_count() == 0:
        raise RuntimeError(
            "pin_memory=True requires a CUDA or other accelerator backend; no pinned memory "
            "allocator is available on this system."
        )


def _type_name(v) -> str:
    if isinstance(v, dtypes.layout):
        return "torch.memory_format" if v.name in _MEMORY_FORMATS else "torch.layout"
    return type(v).__name__


_MEMORY_FORMATS = ("contiguous_format", "channels_last", "channels_last_3d", "preserve_format")


def _finish(arr, requires_grad: bool) -> Tensor:
    t = _wrap(arr)
    if requires_grad:
        check_requires_grad(t.dtype)
        t.requires_grad_(True)
    return t


def check_requires_grad(dt: dtypes.dtype) -> None:
    """A factory's ``requires_grad=True`` needs a float or complex dtype (torch's message)."""
    if not (dt.is_floating_point or dt.is_complex):
        raise RuntimeError("Only Tensors of floating point and complex dtype can require gradients")


def _infer_dtype(data) -> dtypes.dtype:
    """torch.tensor's dtype inference for nested data: Python floats take the default dtype,
    ints int64, NumPy scalars and tensors their own dtype, all combined by promotion."""
    if isinstance(data, (list, tuple)) and not data:
        return dtypes._default  # an empty list is a float tensor, as torch
    d = _scan(data)
    return dtypes._default if d is None else d


def _leaf_dtype(x) -> dtypes.dtype:
    t = type(x)
    if t is float:
        return dtypes._default
    if t is int:
        return dtypes.int64
    if t is bool:
        return dtypes.bool_
    if t is builtins.complex:
        return dtypes.complex128 if dtypes._default is dtypes.float64 else dtypes.complex64
    if isinstance(x, Tensor):
        return x.dtype
    if isinstance(x, np.generic):
        return dtypes.from_numpy_dtype(x.dtype)
    if isinstance(x, np.ndarray):
        return dtypes.from_numpy_dtype(x.dtype)
    raise TypeError(f"Could not infer dtype of {type(x).__name__}")


def _scan(x):
    if isinstance(x, (list, tuple)):
        d = None
        for e in x:
            de = _scan(e)
            if de is not None:
                d = de if d is None else dtypes.promote_types(d, de)
        return d
    return _leaf_dtype(x)


def _to_nested(x):
    if isinstance(x, Tensor):
        return x._host()
    if isinstance(x, (list, tuple)):
        return [_to_nested(e) for e in x]
    return x


def tensor(
    data, *, dtype=None, device=None, requires_grad: bool = False, pin_memory: bool = False
) -> Tensor:
    """A new tensor copied from data (nested lists, numbers, arrays or tensors).

    >>> tensor([[1., 2.]])
    tensor([[1., 2.]])
    """
    if pin_memory:
        check_pin_memory(pin_memory)
    dt = dtypes.to_dtype(dtype) if dtype is not None else None
    if dt is not None and dt._np is None and dt._kind not in ("", "float8", "complex32"):
        # sub-byte, bits, packed float4 and quantized types: torch cannot write an element
        raise RuntimeError("store_scalar: invalid type")
    if isinstance(data, Tensor):
        arr = data._host().copy()
        if dt is None:
            dt = data.dtype
        if device is None and not data.is_cpu:
            device = data.device  # torch.tensor(t) copies t on its own device
    elif isinstance(data, np.ndarray):
        if dt is None:
            dt = dtypes.from_numpy_dtype(data.dtype)
        arr = np.array(data, copy=True)
    else:
        if hasattr(data, "__array__") and not isinstance(data, (list, tuple)):
            arr = np.array(data)
            if dt is None:
                dt = dtypes.from_numpy_dtype(arr.dtype)
        else:
            if dt is None:
                dt = _infer_dtype(data)
            nested = _to_nested(data)
            build = dt.np if not dt.is_complex else None
            if dt.is_floating_point and dt.itemsize == 2:
                build = np.float64  # Python floats are doubles: rounded as torch, through float
            try:
                arr = np.array(nested, dtype=build)
            except ValueError as e:
                raise ValueError(f"expected sequence of equal-length lists: {e}") from None
            except OverflowError:
                raise RuntimeError(
                    f"value cannot be converted to type {dt.name} without overflow"
                ) from None
            if arr.dtype == object:
                raise TypeError("tensor(): could not convert data to a numeric tensor")
    arr = cast(arr, dt.np, copy=False)
    dev = _dev(device)
    if dev.type != "cpu":
        arr = _to_dev(arr, dev)
    return _finish(arr, requires_grad)


def _to_dev(arr, dev):
    xp = xp_for(dev)
    with xp.cuda.Device(dev.index or 0):
        return xp.asarray(arr)


def as_tensor(data, dtype=None, device=None) -> Tensor:
    """A tensor sharing memory with ``data`` when dtype and device allow (else a copy)."""
    dt = dtypes.to_dtype(dtype) if dtype is not None else None
    if isinstance(data, Tensor):
        return data._to(to_device(device) if device is not None else None, dt)
    if isinstance(data, np.ndarray):
        t = from_numpy(data)
        return t._to(to_device(device) if device is not None else None, dt)
    return tensor(data, dtype=dtype, device=device)


def asarray(obj, *, dtype=None, device=None, copy=None, requires_grad: bool = False) -> Tensor:
    t = as_tensor(obj, dtype=dtype, device=device)
    if copy:
        t = t.clone()
    if requires_grad:
        t.requires_grad_(True)
    return t


def frombuffer(
    buffer, *, dtype, count: int = -1, offset: int = 0, requires_grad: bool = False
) -> Tensor:
    """A 1-d tensor over the bytes of an object with the buffer protocol, sharing its memory,
    as torch.frombuffer (``count`` elements from byte ``offset``; -1: to the end)."""
    npdt = dtypes.to_dtype(dtype).np
    size = memoryview(buffer).nbytes
    if size == 0 and count == -1 or count == 0:
        raise ValueError(f"both buffer length ({size}) and count ({count}) must not be 0")
    if offset < 0 or offset >= size:
        raise ValueError(
            f"offset ({offset} bytes) must be non-negative and no greater than buffer length "
            f"({size} bytes) minus 1"
        )
    if count == -1 and (size - offset) % npdt.itemsize:
        raise ValueError(
            f"buffer length ({size - offset} bytes) after offset ({offset} bytes) must be a "
            f"multiple of element size ({npdt.itemsize})"
        )
    if count > 0 and size - offset < count * npdt.itemsize:
        raise ValueError(
            f"requested buffer length ({count} * {npdt.itemsize} bytes) after offset ({offset} "
            f"bytes) must not be greater than actual buffer length ({size} bytes)"
        )
    arr = np.frombuffer(buffer, dtype=npdt, count=count, offset=offset)
    if not arr.flags.writeable:
        warnings.warn(
            "The given buffer is not writable, and PyTorch does not support non-writable "
            "tensors. This means you can write to the underlying (supposedly non-writable) "
            "buffer using the tensor. You may want to copy the buffer to protect its data or "
            "make it writable before converting it to a tensor.",
            UserWarning,
            stacklevel=2,
        )
    t = _wrap(arr)
    if requires_grad:
        t.requires_grad_(True)
    return t


def from_numpy(ndarray: np.ndarray) -> Tensor:
    """A tensor sharing memory with a NumPy array (writes show in both)."""
    if not isinstance(ndarray, np.ndarray):
        raise TypeError(f"expected np.ndarray (got {type(ndarray).__name__})")
    dtypes.from_numpy_dtype(ndarray.dtype)
    if ndarray.dtype.byteorder == ">":
        raise ValueError(
            "given numpy array has byte order different from the native byte "
            "order. Conversion between byte orders is currently not supported."
        )
    return _wrap(ndarray)


_CAPSULE_ERROR = (
    "from_dlpack received an invalid capsule. Note that DLTensor capsules can be consumed only "
    "once, so you might have already constructed a tensor from it once."
)


class _Capsule:
    """A bare DLPack capsule (``to_dlpack``'s legacy form) as an object with ``__dlpack__``,
    which ``numpy.from_dlpack`` asks for; the capsule names a CPU tensor."""

    def __init__(self, capsule):
        self.capsule = capsule

    def __dlpack__(self, **kwargs):
        return self.capsule

    def __dlpack_device__(self) -> tuple[int, int]:
        return (1, 0)  # kDLCPU


def from_dlpack(ext_tensor, *, device=None, copy: bool | None = None) -> Tensor:
    """A tensor over the memory of an object with ``__dlpack__`` (a NumPy array, a tensor of
    ember or torch, ...) or of a DLPack capsule, as torch.from_dlpack; ``copy=True`` copies."""
    if hasattr(ext_tensor, "__dlpack__"):
        source = ext_tensor
    elif type(ext_tensor).__name__ == "PyCapsule":
        source = _Capsule(ext_tensor)
    else:
        raise RuntimeError(_CAPSULE_ERROR)
    if source.__dlpack_device__()[0] == 2:  # kDLCUDA: CuPy takes it
        arr = xp_for("cuda").from_dlpack(source)
        out = _wrap(arr.copy() if copy else arr)
    else:
        try:
            arr = np.from_dlpack(source, copy=copy)
        except ValueError as e:  # a capsule already consumed
            raise RuntimeError(_CAPSULE_ERROR) from e
        if isinstance(source, _Capsule) and not arr.flags.writeable:
            arr = _writeable_view(arr)
        out = from_numpy(arr)
    return out if device is None else out.to(device)


class _Writeable:
    """The memory of a read-only array offered writeable through ``__array_interface__``
    (keeping the array alive)."""

    def __init__(self, arr: np.ndarray):
        self.arr = arr
        iface = dict(arr.__array_interface__)
        iface["data"] = (iface["data"][0], False)
        self.__array_interface__ = iface


def _writeable_view(arr: np.ndarray) -> np.ndarray:
    """NumPy marks an array from an unversioned capsule read-only (the capsule carries no flag
    to say otherwise); torch's tensor from one is writeable, so ember's is too."""
    return np.asarray(_Writeable(arr))


def to_dlpack(tensor: Tensor):
    """A DLPack capsule (the legacy, unversioned form) over the tensor's memory, as
    torch.to_dlpack; consumed once by a ``from_dlpack``."""
    if not isinstance(tensor, Tensor):
        raise TypeError(
            f"_to_dlpack(): argument 'data' (position 1) must be Tensor, not "
            f"{type(tensor).__module__}.{type(tensor).__name__}"
        )
    return tensor._data.__dlpack__()


def dlpack_export(self: Tensor, *, stream=-1, max_version=None, dl_device=None, copy=None):
    """Tensor.__dlpack__: a DLPack capsule over the tensor's memory (versioned when the
    consumer gives ``max_version``); refused for a tensor that requires grad, as torch."""
    if self.requires_grad:
        raise BufferError("Can't export tensors that require gradient, use tensor.detach()")
    kwargs = dict(max_version=max_version, dl_device=dl_device, copy=copy)
    if not is_cpu(self._data):
        kwargs["stream"] = None if stream == -1 else stream
    return self._data.__dlpack__(**{k: v for k, v in kwargs.items() if v is not None})


def dlpack_device(self: Tensor) -> tuple[int, int]:
    """Tensor.__dlpack_device__: (DLPack device type, index): (1, 0) on the CPU."""
    return tuple(int(v) for v in self._data.__dlpack_device__())


def _make(fill, shape, dtype, device, requires_grad, out=None):
    dt = dtypes.to_dtype(dtype) if dtype is not None else dtypes._default
    dev = _dev(device)
    xp = np if dev is CPU else xp_for(dev)
    arr = fill(xp, shape, dt.np)
    if out is not None:
        return copy_into_out(out, _wrap(arr))
    return _finish(arr, requires_grad)


def zeros(
    *args,
    size=None,
    out=None,
    dtype=None,
    layout=None,
    device=None,
    pin_memory=False,
    requires_grad=False,
) -> Tensor:
    """A tensor of zeros; the shape as varargs, one sequence or ``size=``."""
    shape = _size_of(args, size, "zeros")
    if layout is not None or pin_memory:
        _check_options(layout, pin_memory, "zeros")
    return _make(_zeros, shape, dtype, device, requires_grad, out)


def _check_options(layout, pin_memory, name: str) -> None:
    """layout= and pin_memory= of a factory (both usually left at their defaults)."""
    if layout is not None:
        check_layout(layout, name)
    if pin_memory:
        check_pin_memory(pin_memory)


def _zeros(xp, s, d):
    return xp.zeros(s, d)


def _ones(xp, s, d):
    return xp.ones(s, d)


def _empty(xp, s, d):
    return xp.empty(s, d)


def ones(
    *args,
    size=None,
    out=None,
    dtype=None,
    layout=None,
    device=None,
    pin_memory=False,
    requires_grad=False,
) -> Tensor:
    """A tensor of ones; the shape as varargs, one sequence or ``size=``."""
    shape = _size_of(args, size, "ones")
    if layout is not None or pin_memory:
        _check_options(layout, pin_memory, "ones")
    return _make(_ones, shape, dtype, device, requires_grad, out)


def empty(
    *args,
    size=None,
    out=None,
    dtype=None,
    layout=None,
    device=None,
    pin_memory=False,
    requires_grad=False,
    memory_format=None,
) -> Tensor:
    """An uninitialised tensor; the shape as varargs, one sequence or ``size=``."""
    shape = _size_of(args, size, "empty")
    if layout is not None or pin_memory:
        _check_options(layout, pin_memory, "empty")
    if memory_format is not None:
        check_memory_format(memory_format, len(shape), "empty")
        if memory_format is dtypes.preserve_format:
            raise RuntimeError("unsupported memory format Preserve")
    return _make(_empty, shape, dtype, device, requires_grad, out)


def empty_permuted(
    size,
    physical_layout,
    *,
    dtype=None,
    layout=None,
    device=None,
    requires_grad: bool = False,
    pin_memory: bool = False,
) -> Tensor:
    """An uninitialised dense tensor of shape ``size`` whose dims lie in memory in the order
    ``physical_layout`` (outermost first), as torch.empty_permuted."""
    size, order = list(size), list(physical_layout)
    if len(size) != len(order):
        raise RuntimeError(
            "Number of dimensions in size does not match the length of the physical_layout; "
            f"i.e. len(size) = {len(size)} is not equal to len(physical_layout) = {len(order)}"
        )
    for i, d in enumerate(order):
        if not 0 <= d < len(order):
            raise RuntimeError(
                f"Dimension out of range (expected to be between 0 and {len(order) - 1}, but got "
                f"{d} at index {i}).  NB: negative dims not currently supported; file an issue "
                "if you want it."
            )
    if len(set(order)) != len(order):
        raise RuntimeError("Duplicate dim not allowed")
    phys = empty(
        [size[d] for d in order], dtype=dtype, layout=layout, device=device, pin_memory=pin_memory
    )
    inverse = sorted(builtins.range(len(order)), key=order.__getitem__)
    return phys.permute(inverse).detach().requires_grad_(requires_grad)


def empty_strided(
    size,
    stride,
    *,
    dtype=None,
    layout=None,
    device=None,
    pin_memory=False,
    requires_grad=False,
) -> Tensor:
    """An uninitialised tensor of ``size`` (ember's arrays are row-major: stride is checked for
    length only)."""
    shape = _tuple_size(size, "empty_strided")
    if not isinstance(stride, (tuple, list)):
        raise TypeError(
            "empty_strided(): argument 'stride' (position 2) must be tuple of ints, "
            f"not {type(stride).__name__}"
        )
    if len(stride) != len(shape):
        raise RuntimeError(
            f"dimensionality of sizes ({len(shape)}) must match dimensionality of strides "
            f"({len(stride)})"
        )
    _check_options(layout, pin_memory, "empty_strided")
    return _make(_empty, shape, dtype, device, requires_grad)


def full(
    size,
    fill_value,
    *,
    out=None,
    dtype=None,
    layout=None,
    device=None,
    pin_memory=False,
    requires_grad=False,
) -> Tensor:
    """A tensor filled with fill_value; its dtype follows the value (bool, int64 or float)."""
    shape = _tuple_size(size, "full")
    _check_options(layout, pin_memory, "full")
    if isinstance(fill_value, Tensor):
        fill_value = fill_value.item()
    if dtype is None:
        dtype = out.dtype if out is not None else dtypes.scalar_dtype(fill_value)
    v = _fill_scalar(fill_value, dtypes.to_dtype(dtype))
    return _make(lambda xp, s, d: xp.full(s, v, d), shape, dtype, device, requires_grad, out)


_C_NAMES = {
    "int8": "int8_t",
    "int16": "int16_t",
    "int32": "int",
    "int64": "int64_t",
    "uint8": "uint8_t",
    "float16": "c10::Half",
    "bfloat16": "c10::BFloat16",
    "float32": "float",
    "float64": "double",
    "bool": "bool",
}


def _fill_scalar(v, dt: dtypes.dtype):
    """A fill value as torch casts it: integers wrap, a complex into a real type raises."""
    if isinstance(v, builtins.complex) and not dt.is_complex and dt is not dtypes.bool_:
        raise RuntimeError(
            f"value cannot be converted to type {_C_NAMES.get(dt.name, dt.name)} without overflow"
        )
    if type(v) is int and dt.np.kind in "iu":
        return np.asarray(v).astype(np.int64).astype(dt.np)
    return v


def scalar_tensor(
    s, *, dtype=None, layout=None, device=None, pin_memory=False, requires_grad=False
) -> Tensor:
    """A 0-d tensor holding the number s (default dtype unless given)."""
    _check_options(layout, pin_memory, "scalar_tensor")
    return full((), s, dtype=dtype or dtypes._default, device=device, requires_grad=requires_grad)


def eye(
    n: int,
    m: int | None = None,
    *,
    out=None,
    dtype=None,
    layout=None,
    device=None,
    pin_memory=False,
    requires_grad=False,
) -> Tensor:
    """The n x m identity matrix (square when m is omitted)."""
    _check_options(layout, pin_memory, "eye")
    m = n if m is None else m
    return _make(lambda xp, s, d: xp.eye(n, m, dtype=d), (), dtype, device, requires_grad, out)


def _no_bool_complex(dt: dtypes.dtype, name: str) -> None:
    if dt is dtypes.bool_ or dt.is_complex:
        n = scalar_type_name(dt.name)
        raise NotImplementedError(f"\"{name}_cpu\" not implemented for '{n}'")


def _wrap_int(v, dt: dtypes.dtype):
    """A Python number as torch casts it into an integer dtype (truncate, then wrap)."""
    return int(np.asarray(int(v)).astype(np.int64).astype(dt.np))


def arange(
    start=0,
    end=None,
    step=1,
    *,
    out=None,
    dtype=None,
    layout=None,
    device=None,
    pin_memory=False,
    requires_grad=False,
) -> Tensor:
    """Values from start to end (exclusive) by step; int64 when all of them are ints."""
    _check_options(layout, pin_memory, "arange")
    if end is None:
        start, end = 0, start
    vals = [v.item() if isinstance(v, Tensor) else v for v in (start, end, step)]
    start, end, step = vals
    if dtype is None:
        dtype = dtypes.int64 if all(isinstance(v, int) for v in vals) else dtypes._default
    dt = dtypes.to_dtype(dtype)
    _no_bool_complex(dt, "arange")
    if dt is dtypes.int64 and step != 0:  # torch takes the bounds and step as int64 first
        start, end, step = int(start), int(end), int(step)
        if step == 0:
            raise ValueError("step must be nonzero")
    if step == 0:
        raise RuntimeError("step must be nonzero")
    if (end - start) * step < 0:
        raise RuntimeError("upper bound and larger bound inconsistent with step sign")
    n = builtins.max(0, math.ceil((end - start) / step))
    xp = xp_for(_dev(device))
    if dt.np.kind in "iu":
        arr = (int(start) + int(step) * xp.arange(n, dtype=np.int64)).astype(dt.np)
    else:
        arr = (start + step * xp.arange(n, dtype=np.float64)).astype(dt.np)
    return _result(arr, requires_grad, out)


def range(start=0, end=None, step=1, *, dtype=None, device=None, requires_grad=False) -> Tensor:  # noqa: A001
    """Deprecated torch.range: like arange but including end, default float dtype."""
    if end is None:
        start, end = 0, start
    dt = dtypes.to_dtype(dtype) if dtype is not None else dtypes._default
    _no_bool_complex(dt, "range")
    if dt.np.kind in "iu":
        start, end, step = int(start), int(end), int(step)
    n = int(math.floor((end - start) / step)) + 1
    arr = cast(start + step * np.arange(n, dtype=np.float64), dt.np)
    return _finish(arr, requires_grad)


def _result(arr, requires_grad, out):
    if out is not None:
        return copy_into_out(out, _wrap(arr))
    return _finish(arr, requires_grad)


def linspace(
    start,
    end,
    steps: int,
    *,
    out=None,
    dtype=None,
    layout=None,
    device=None,
    pin_memory=False,
    requires_grad=False,
) -> Tensor:
    """``steps`` evenly spaced values from start to end inclusive."""
    _check_options(layout, pin_memory, "linspace")
    start = start.item() if isinstance(start, Tensor) else start
    end = end.item() if isinstance(end, Tensor) else end
    if steps < 0:
        raise RuntimeError("number of steps must be non-negative")
    dt = dtypes.to_dtype(dtype) if dtype is not None else dtypes._default
    if dt is dtypes.bool_ and steps > 1:
        _no_bool_complex(dt, "linspace")
    if dt.np.kind in "iu":  # torch casts the bounds into the integer type first
        start, end = _wrap_int(start, dt), _wrap_int(end, dt)
    xp = xp_for(_dev(device))
    arr = xp.linspace(start, end, steps, dtype=np.float64)
    if dt.np.kind in "iu":
        arr = np.trunc(arr)
    return _result(cast(arr, dt.np), requires_grad, out)


def logspace(
    start,
    end,
    steps: int,
    base: float = 10.0,
    *,
    out=None,
    dtype=None,
    layout=None,
    device=None,
    pin_memory=False,
    requires_grad=False,
) -> Tensor:
    """``steps`` values base**e for e evenly spaced from start to end."""
    _check_options(layout, pin_memory, "logspace")
    dt = dtypes.to_dtype(dtype) if dtype is not None else dtypes._default
    if dt is dtypes.bool_ and steps > 1:
        _no_bool_complex(dt, "logspace")
    if dt.np.kind in "iu":
        start, end = _wrap_int(start, dt), _wrap_int(end, dt)
    xp = xp_for(_dev(device))
    with np.errstate(over="ignore", invalid="ignore"):
        arr = xp.power(float(base), xp.linspace(start, end, steps, dtype=np.float64))
        if dt.np.kind in "iu":
            arr = np.where(np.isfinite(arr), arr, 0)
        arr = cast(arr, dt.np)
    return _result(arr, requires_grad, out)


def like_options(input: Tensor, dtype, layout, device, pin_memory, memory_format, name: str):
    """The dtype and device of a ``*_like`` factory (input's unless given), its options checked."""
    _check_options(layout, pin_memory, name)
    if memory_format is not None:
        check_memory_format(memory_format, input.ndim, name)
    dt = dtypes.to_dtype(dtype) if dtype is not None else input.dtype
    dev = to_device(device) if device is not None else input.device
    return dt, dev


def _like(fill, name: str):
    def f(
        input: Tensor,
        *,
        dtype=None,
        layout=None,
        device=None,
        pin_memory=False,
        requires_grad=False,
        memory_format=None,
    ) -> Tensor:
        dt, dev = like_options(input, dtype, layout, device, pin_memory, memory_format, name)
        return _finish(fill(xp_for(dev), input._data.shape, dt.np), requires_grad)

    f.__name__ = f.__qualname__ = name
    f.__doc__ = (
        f"A tensor shaped like input, as torch.{name} (input's dtype and device unless given)."
    )
    return f


zeros_like = _like(lambda xp, s, d: xp.zeros(s, d), "zeros_like")
ones_like = _like(lambda xp, s, d: xp.ones(s, d), "ones_like")
empty_like = _like(lambda xp, s, d: xp.empty(s, d), "empty_like")


def full_like(
    input: Tensor,
    fill_value,
    *,
    dtype=None,
    layout=None,
    device=None,
    pin_memory=False,
    requires_grad=False,
    memory_format=None,
) -> Tensor:
    """A tensor shaped like input filled with fill_value (input's dtype unless given)."""
    dt, dev = like_options(input, dtype, layout, device, pin_memory, memory_format, "full_like")
    v = _fill_scalar(fill_value, dt)
    return _finish(xp_for(dev).full(input._data.shape, v, dt.np), requires_grad)


def tril_indices(
    row: int,
    col: int,
    offset: int = 0,
    *,
    dtype=None,
    device=None,
    layout=None,
    pin_memory=False,
    requires_grad=False,
) -> Tensor:
    """The (2, N) row and column indices of the lower triangle of a row x col matrix."""
    _check_options(layout, pin_memory, "tril_indices")
    r, c = np.tril_indices(row, offset, col)
    return _indices(r, c, dtype, device, requires_grad, "tril_indices")


def triu_indices(
    row: int,
    col: int,
    offset: int = 0,
    *,
    dtype=None,
    device=None,
    layout=None,
    pin_memory=False,
    requires_grad=False,
) -> Tensor:
    """The (2, N) row and column indices of the upper triangle of a row x col matrix."""
    _check_options(layout, pin_memory, "triu_indices")
    r, c = np.triu_indices(row, offset, col)
    return _indices(r, c, dtype, device, requires_grad, "triu_indices")


def _indices(r, c, dtype, device, requires_grad: bool, name: str) -> Tensor:
    dt = dtypes.to_dtype(dtype) if dtype is not None else dtypes.int64
    if dt not in (dtypes.int32, dtypes.int64):
        raise NotImplementedError(f"\"{name}\" not implemented for '{scalar_type_name(dt.name)}'")
    arr = np.stack([r, c]).astype(dt.np)
    dev = _dev(device)
    if dev.type != "cpu":
        arr = _to_dev(arr, dev)
    return _finish(arr, requires_grad)


_LEGACY_NAMES = {
    "FloatTensor": dtypes.float32,
    "DoubleTensor": dtypes.float64,
    "HalfTensor": dtypes.float16,
    "BFloat16Tensor": dtypes.bfloat16,
    "LongTensor": dtypes.int64,
    "IntTensor": dtypes.int32,
    "ShortTensor": dtypes.int16,
    "CharTensor": dtypes.int8,
    "ByteTensor": dtypes.uint8,
    "BoolTensor": dtypes.bool_,
}


def _legacy_new(args, dt: dtypes.dtype, dev):
    """The array behind ``Tensor(...)``/``FloatTensor(...)``: sizes give uninitialised memory,
    a sequence, array or tensor gives a copy in ``dt``."""
    if not args:
        arr = np.empty((0,), dt.np)
    elif (
        len(args) == 1
        and not isinstance(args[0], (int, np.integer, Size))
        and not (isinstance(args[0], tuple) and all(isinstance(a, int) for a in args[0]) and False)
    ):
        data = args[0]
        if isinstance(data, Tensor):
            arr = data._host()
            if arr.dtype != dt.np:
                raise TypeError(f"expected {dt!r} (got {data.dtype!r})")
        elif isinstance(data, (list, tuple)):
            arr = np.array(_to_nested(data), dtype=dt.np)
        else:
            arr = cast(np.array(data), dt.np)
    else:
        arr = np.zeros(_shape(args), dt.np)
    if dev.type != "cpu":
        arr = _to_dev(arr, dev)
    return arr


def _legacy_class(name: str, dt: dtypes.dtype):
    def new(cls, *args, device=None):
        return _wrap(_legacy_new(args, dt, to_device(device)))

    def instancecheck(cls, obj):
        return isinstance(obj, Tensor) and obj.dtype is dt

    meta = type(name + "Meta", (type,), {"__instancecheck__": instancecheck})
    return meta(name, (), {"__new__": new, "dtype": dt, "__doc__": f"Legacy {name}({dt!r})."})


for _n, _d in _LEGACY_NAMES.items():
    globals()[_n] = _legacy_class(_n, _d)
    __all__.append(_n)
