"""The Tensor: one backend array (NumPy or CuPy) plus the autograd fields.

Most methods are thin wrappers attached in ``ember/_tensor_methods.py``; this file holds the
object itself, its conversions and its autograd entry points.
"""

from __future__ import annotations

import numpy as np

from . import dtypes as D
from ._backend.casting import cast
from ._tensor_errors import broadcast_error, check_dim, device_error  # noqa: F401
from .autograd.grad_mode import state as _gs
from .device import CPU, device_of, to_device, xp_for
from .device import device as _device_cls

_ndarray = np.ndarray
_new = object.__new__


class Size(tuple):
    """A tensor's shape, as ``torch.Size``: a tuple of ints with torch's repr."""

    def __repr__(self) -> str:
        return f"torch.Size([{', '.join(str(s) for s in self)}])"

    def numel(self) -> int:
        n = 1
        for s in self:
            n *= s
        return n

    def __getitem__(self, k):
        r = tuple.__getitem__(self, k)
        return Size(r) if isinstance(k, slice) else r

    def __add__(self, other):
        return Size(tuple(self) + tuple(other))

    def __radd__(self, other):
        return Size(tuple(other) + tuple(self))

    def __reduce__(self):
        return (Size, (tuple(self),))


def _coerce(arr):
    if isinstance(arr, np.generic) or not hasattr(arr, "shape"):
        return np.asarray(arr)
    return arr


def _wrap(arr) -> Tensor:
    """A Tensor around an array (no copy, no graph)."""
    if type(arr) is not _ndarray:
        arr = _coerce(arr)
    t = _new(Tensor)
    t._data = arr
    t._rg = False
    t.grad_fn = None
    return t


def _wrap_node(arr, node, i: int) -> Tensor:
    if type(arr) is not _ndarray:
        arr = _coerce(arr)
    t = _new(Tensor)
    t._data = arr
    t._rg = True
    t.grad_fn = node
    if i:
        t._out_nr = i
    return t


class Tensor:
    """An n-dimensional array with autograd, as ``torch.Tensor``.

    ``ember.Tensor(data)`` / ``ember.Tensor(2, 3)`` are the legacy constructors (default dtype).
    """

    __slots__ = ("_data", "_rg", "grad_fn", "__dict__", "__weakref__")
    __array_priority__ = 1000  # make ndarray <op> Tensor defer to the Tensor's reflected op

    # rarely-set fields live in the instance dict, with these class-level defaults
    grad = None
    _vc = None  # version counter: a one-item list shared by a tensor and its views
    _base = None
    _out_nr = 0
    _accum = None
    _retains_grad = False
    _is_param = False

    def __init__(self, *args, device=None, dtype=None):
        from .ops.creation import _legacy_new

        self._data = _legacy_new(
            args, D.to_dtype(dtype) if dtype else D._default, to_device(device)
        )
        self._rg = False
        self.grad_fn = None

    # --- basic attributes ------------------------------------------------------------------
    @property
    def shape(self) -> Size:
        return Size(self._data.shape)

    def size(self, dim: int | None = None):
        """The shape as a Size, or the length of one dimension."""
        if dim is None:
            return Size(self._data.shape)
        return self._data.shape[check_dim(dim, self._data.ndim)]

    @property
    def dtype(self) -> D.dtype:
        return D._FROM_NP[self._data.dtype]

    @property
    def device(self):
        return CPU if type(self._data) is _ndarray else device_of(self._data)

    @property
    def is_cuda(self) -> bool:
        return self.device.type == "cuda"

    @property
    def is_cpu(self) -> bool:
        return type(self._data) is _ndarray

    @property
    def ndim(self) -> int:
        return self._data.ndim

    def dim(self) -> int:
        return self._data.ndim

    ndimension = dim

    def numel(self) -> int:
        return int(self._data.size)

    nelement = numel

    def element_size(self) -> int:
        return self._data.dtype.itemsize

    @property
    def itemsize(self) -> int:
        return self._data.dtype.itemsize

    @property
    def nbytes(self) -> int:
        return int(self._data.nbytes)

    def is_floating_point(self) -> bool:
        return self._data.dtype.kind == "f" or self.dtype is D.bfloat16

    def is_complex(self) -> bool:
        return self._data.dtype.kind == "c"

    @property
    def is_leaf(self) -> bool:
        return self.grad_fn is None

    @property
    def requires_grad(self) -> bool:
        return self._rg

    @requires_grad.setter
    def requires_grad(self, value: bool) -> None:
        if self.grad_fn is not None and not value:
            raise RuntimeError(
                "you can only change requires_grad flags of leaf variables. If you want to use a "
                "computed variable in a subgraph that doesn't require differentiation use "
                "var_no_grad = var.detach()."
            )
        if value and not (self.is_floating_point() or self.is_complex()):
            raise RuntimeError("only Tensors of floating point dtype can require gradients")
        self._rg = bool(value)

    def requires_grad_(self, requires_grad: bool = True) -> Tensor:
        self.requires_grad = requires_grad
        return self

    @property
    def data(self) -> Tensor:
        t = _wrap(self._data)
        t._vc = self._version_counter()
        return t

    @data.setter
    def data(self, value: Tensor) -> None:
        self._data = value._data if isinstance(value, Tensor) else np.asarray(value)

    @property
    def _version(self) -> int:
        return 0 if self._vc is None else self._vc[0]

    def _version_counter(self) -> list:
        vc = self._vc
        if vc is None:
            vc = self._vc = [0]
        return vc

    def _bump(self) -> None:
        vc = self._vc
        if vc is None:
            self._vc = [1]
        else:
            vc[0] += 1

    @property
    def T(self) -> Tensor:
        from .ops.shape import permute

        return permute(self, tuple(range(self._data.ndim - 1, -1, -1)))

    @property
    def mT(self) -> Tensor:
        return self.transpose(-2, -1)

    @property
    def H(self) -> Tensor:
        return self.T.conj()

    @property
    def mH(self) -> Tensor:
        return self.mT.conj()

    # --- conversions -----------------------------------------------------------------------
    def item(self):
        """The single value as a Python number."""
        if self._data.size != 1:
            raise RuntimeError(
                f"a Tensor with {self._data.size} elements cannot be converted to Scalar"
            )
        return self._data.reshape(()).item()

    def tolist(self):
        return self._host().tolist()

    def numpy(self, *, force: bool = False) -> np.ndarray:
        """The NumPy array behind this tensor (shared memory, as torch)."""
        if self._rg and not force:
            raise RuntimeError(
                "Can't call numpy() on Tensor that requires grad. Use tensor.detach().numpy() "
                "instead."
            )
        if type(self._data) is not _ndarray:
            if force:
                return self._host()
            raise TypeError(
                f"can't convert {self.device.type}:{self.device.index or 0} device type tensor "
                "to numpy. Use Tensor.cpu() to copy the tensor to host memory first."
            )
        return self._data

    def _host(self) -> np.ndarray:
        a = self._data
        return a if type(a) is _ndarray else a.get()

    def __array__(self, dtype=None, copy=None):
        a = self._host()
        return a if dtype is None else a.astype(dtype, copy=False)

    def __len__(self) -> int:
        if self._data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self._data.shape[0]

    def __bool__(self) -> bool:
        if self._data.size != 1:
            raise RuntimeError(
                "Boolean value of Tensor with no values is ambiguous"
                if self._data.size == 0
                else "Boolean value of Tensor with more than one value is ambiguous"
            )
        return bool(self._data.reshape(()))

    def __float__(self) -> float:
        return float(self.item())

    def __int__(self) -> int:
        return int(self.item())

    def __complex__(self) -> complex:
        return complex(self.item())

    def __index__(self) -> int:
        if self._data.dtype.kind not in "iub" or self._data.size != 1:
            raise TypeError("only integer tensors of a single element can be converted to an index")
        return int(self._data.reshape(()).item())

    def __format__(self, spec: str) -> str:
        if self._data.ndim == 0:
            return self.item().__format__(spec)
        return object.__format__(self, spec) if spec else repr(self)

    def __iter__(self):
        if self._data.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return iter(self.unbind(0))

    def __hash__(self) -> int:
        return id(self)

    def __repr__(self) -> str:
        from ._tensor_str import tensor_repr

        return tensor_repr(self)

    __str__ = __repr__

    def __reduce_ex__(self, proto):
        # plain pickling (DataLoader workers, copy.deepcopy) keeps data, dtype and requires_grad
        return (_rebuild, (self._host(), self._rg, type(self) is not Tensor and self._is_param))

    def __deepcopy__(self, memo):
        if not self.is_leaf:
            raise RuntimeError(
                "Only Tensors created explicitly by the user (graph leaves) support the "
                "deepcopy protocol at the moment."
            )
        r = memo.get(id(self))
        if r is not None:
            return r
        new = _wrap(self._data.copy())
        new._rg = self._rg
        if type(self) is not Tensor:
            new.__class__ = type(self)
            new.__dict__.update(
                {k: v for k, v in self.__dict__.items() if k not in ("_vc", "_accum", "grad")}
            )
        if self.grad is not None:
            new.grad = _wrap(self.grad._data.copy())
        memo[id(self)] = new
        return new

    # --- device and dtype movement ---------------------------------------------------------
    def to(self, *args, **kwargs) -> Tensor:
        """Move and/or cast: ``to(device)``, ``to(dtype)``, ``to(device, dtype)``,
        ``to(other)``; returns ``self`` when nothing changes (as torch)."""
        dev, dt, copy = _parse_to(args, kwargs)
        return self._to(dev, dt, copy)

    def _to(self, dev, dt, copy: bool = False) -> Tensor:
        if dev is None and not copy and dt is not None:
            npd = dt.np
            if npd == self._data.dtype:
                return self
            if not (self._rg and _gs.enabled):
                return _wrap(cast(self._data, npd))
        from .ops.unary import Cast, ToDevice

        r = self
        if dt is not None and dt.np != self._data.dtype:
            r = Cast.apply(r, dt.np)
        if dev is not None and dev.type == "cuda" and dev.index is None:
            from .cuda import current_device

            dev = _device_cls("cuda", current_device())
        if dev is not None and dev != r.device:
            r = ToDevice.apply(r, dev)
        if copy and r is self:
            r = self.clone()
        return r

    def cpu(self) -> Tensor:
        return self._to(CPU, None)

    def cuda(self, device=None, non_blocking: bool = False) -> Tensor:
        d = to_device("cuda" if device is None else device)
        if isinstance(device, int):
            d = to_device(f"cuda:{device}")
        return self._to(d, None)

    def pin_memory(self) -> Tensor:
        return self

    def is_pinned(self) -> bool:
        return False

    def type(self, dtype=None, non_blocking: bool = False):
        """With no argument, the legacy type name ('torch.FloatTensor'); else a cast."""
        if dtype is None:
            from .autograd.engine import _legacy_type_name

            return _legacy_type_name(self)
        if isinstance(dtype, str):
            from .ops.creation import _LEGACY_NAMES

            dtype = _LEGACY_NAMES[dtype.rsplit(".", 1)[-1]]
        return self._to(None, D.to_dtype(dtype))

    def type_as(self, other: Tensor) -> Tensor:
        return self._to(None, other.dtype)

    # --- autograd --------------------------------------------------------------------------
    def _accumulator(self):
        acc = self._accum
        if acc is None:
            from .autograd.node import AccumulateGrad

            acc = self._accum = AccumulateGrad(self)
        return acc

    def backward(
        self, gradient=None, retain_graph=None, create_graph: bool = False, inputs=None
    ) -> None:
        """Compute the gradient of this tensor w.r.t. graph leaves, accumulating into ``.grad``."""
        if gradient is None:
            d = self._data
            if d.size != 1:
                raise RuntimeError("grad can be implicitly created only for scalar outputs")
            if not self._rg:
                raise RuntimeError(
                    "element 0 of tensors does not require grad and does not have a grad_fn"
                )
            if type(d) is _ndarray:
                g = np.array(1, d.dtype) if d.ndim == 0 else np.ones(d.shape, d.dtype)
            else:
                g = xp_for(self.device).ones(d.shape, d.dtype)
        else:
            g = gradient._data if isinstance(gradient, Tensor) else np.asarray(gradient)
            if tuple(g.shape) != tuple(self._data.shape):
                raise RuntimeError(
                    f"Mismatch in shape: grad_output[0] has a shape of {Size(g.shape)} and "
                    f"output[0] has a shape of {self.shape}."
                )
        if create_graph:
            g = gradient if isinstance(gradient, Tensor) else _wrap(g)
        if retain_graph is None:
            retain_graph = create_graph
        if inputs is not None:
            inputs = [inputs] if isinstance(inputs, Tensor) else list(inputs)
            if not inputs:
                raise RuntimeError("'inputs' argument to backward() cannot be empty.")
        _engine().run_backward(
            [self], [g], retain_graph, create_graph, inputs=inputs, accumulate=True
        )

    def register_hook(self, hook):
        """hook(grad) -> Tensor or None, called when this tensor's gradient is computed."""
        if not self._rg:
            raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
        from .autograd.node import _RemovableHandle

        if self.grad_fn is None:
            acc = self._accumulator()
            acc.leaf_hooks.append(hook)
            return _RemovableHandle(acc.leaf_hooks, hook)
        node = self.grad_fn
        if node._pre_hooks is None:
            node._pre_hooks = {}
        lst = node._pre_hooks.setdefault(self._out_nr, [])
        lst.append(hook)
        return _RemovableHandle(lst, hook)

    def retain_grad(self) -> None:
        """Keep ``.grad`` for this non-leaf tensor after backward (set after its other hooks,
        as torch)."""
        if self.grad_fn is None:
            if not self._rg:
                raise RuntimeError("can't retain_grad on Tensor that has requires_grad=False")
            return
        if self._retains_grad:
            return
        import weakref

        node = self.grad_fn
        d = node.__dict__.get("_retain")
        if d is None:
            d = node._retain = {}
        d[self._out_nr] = weakref.ref(self)
        self._retains_grad = True

    @property
    def retains_grad(self) -> bool:
        return self._retains_grad

    def detach(self) -> Tensor:
        """A tensor sharing this one's memory, outside the graph."""
        t = _wrap(self._data)
        t._vc = self._version_counter()
        return t

    def detach_(self) -> Tensor:
        self.grad_fn = None
        self._rg = False
        return self


def _rebuild(arr, requires_grad, is_param):
    if is_param:
        from .nn.parameter import Parameter

        return Parameter(_wrap(arr), requires_grad)
    t = _wrap(arr)
    t._rg = requires_grad
    return t


def _parse_to(args, kwargs):
    dev = kwargs.pop("device", None)
    dt = kwargs.pop("dtype", None)
    copy = kwargs.pop("copy", False)
    kwargs.pop("non_blocking", None)
    kwargs.pop("memory_format", None)
    if kwargs:
        raise TypeError(f"to() got unexpected keyword arguments {sorted(kwargs)}")
    for a in args:
        if isinstance(a, Tensor):
            dev, dt = a.device, a.dtype
        elif (
            isinstance(a, D.dtype)
            or a in (float, int, bool, complex)
            or (type(a).__name__ == "dtype" and not isinstance(a, str))
        ):
            dt = a
        elif isinstance(a, bool):  # to(dtype, non_blocking, copy) given positionally
            pass
        elif isinstance(a, (str, int)) or type(a).__name__ == "device":
            dev = a
        elif a is not None:
            raise TypeError(f"to() received an invalid combination of arguments: {a!r}")
    return (
        to_device(dev) if dev is not None else None,
        D.to_dtype(dt) if dt is not None else None,
        copy,
    )


def as_tensor_arg(x, like: Tensor | None = None) -> Tensor:
    """A Tensor from a Tensor, array or Python value (no copy where possible)."""
    if isinstance(x, Tensor):
        return x
    from .ops.creation import tensor

    if isinstance(x, _ndarray):
        return _wrap(x)
    return tensor(x) if like is None else tensor(x, dtype=like.dtype, device=like.device)


def is_grad_recording(*ts) -> bool:
    if not _gs.enabled:
        return False
    for t in ts:
        if isinstance(t, Tensor) and t._rg:
            return True
    return False


_engine_mod = None


def _engine():
    global _engine_mod
    if _engine_mod is None:
        from .autograd import engine

        _engine_mod = engine
    return _engine_mod


def _bind_autograd() -> None:
    from .autograd import node

    node._bind(Tensor, _wrap, _wrap_node)


_bind_autograd()
