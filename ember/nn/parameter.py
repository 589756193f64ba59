"""nn.Parameter and nn.Buffer, and their uninitialised forms (UninitializedParameter,
UninitializedBuffer: the weights of a lazy module until its first forward)."""

from __future__ import annotations

import sys

import numpy as np

from .._tensor_str import tensor_repr
from ..ops.creation import empty
from ..tensor import Size, Tensor, _rebuild, _wrap


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


# the array slot of every Tensor: an uninitialised tensor hides it behind a raising property
_DATA_SLOT = Tensor.__dict__["_data"]


def _caller_name() -> str:
    """The ember function the user called that reached the array of an uninitialised tensor: the
    outermost ember frame above the read (torch names the function its dispatcher refused)."""
    f = sys._getframe(2)  # 0: here, 1: the _data getter, 2: the function that read the array
    name = f.f_code.co_qualname
    while f is not None and f.f_globals.get("__name__", "").partition(".")[0] == "ember":
        name = f.f_code.co_qualname
        f = f.f_back
    return f"<function {name}>"


class UninitializedTensorMixin:
    """The behaviour shared by UninitializedParameter and UninitializedBuffer (as torch's).

    Until ``materialize`` the tensor has no shape: an op on it raises torch's ValueError
    ("Attempted to use an uninitialized parameter in ..."), ``.shape`` torch's RuntimeError.
    dtype, device, ``size()``, ``ndim``, requires_grad and the dtype/device conversions
    (``to``, ``float``, ``cpu``, ``cuda``, ...) work, so a lazy module can be moved or cast
    before its first forward.
    """

    __slots__ = ()
    cls_to_become: type

    @classmethod
    def _blank(cls, requires_grad: bool, device, dtype):
        """A new instance holding an empty array of the dtype and device it will materialise
        as (``_data``'s slot is set directly: the property below refuses reads)."""
        t = object.__new__(cls)
        _DATA_SLOT.__set__(t, empty(0, device=device, dtype=dtype)._data)
        t._rg = False
        t.grad_fn = None
        if requires_grad:
            t.requires_grad_(True)
        return t

    # Every op reads the backend array through ``_data``: refusing it here is what makes any
    # op on an uninitialised tensor raise (torch refuses them in __torch_function__).
    @property
    def _data(self):
        raise ValueError(
            f"Attempted to use an uninitialized parameter in {_caller_name()}. "
            "This error happens when you are using a `LazyModule` or explicitly manipulating "
            f"`torch.nn.parameter.{type(self).__name__}` objects. When using LazyModules Call "
            "`forward` with a dummy batch to initialize the parameters before calling torch "
            "functions"
        )

    @_data.setter
    def _data(self, arr) -> None:
        _DATA_SLOT.__set__(self, arr)

    def _raw(self):
        """The placeholder array (empty, of the dtype and device the tensor will have)."""
        return _DATA_SLOT.__get__(self)

    def materialize(self, shape, device=None, dtype=None) -> None:
        """Give the tensor ``shape`` (uninitialised values) on its device and dtype, or the ones
        given, and turn it into ``cls_to_become`` in place (the same object, so optimizers and
        modules holding it see the change)."""
        dev = self.device if device is None else device
        dt = self.dtype if dtype is None else dtype
        new = empty(tuple(shape), device=dev, dtype=dt)
        if self._rg and not (new.is_floating_point() or new.is_complex()):
            raise RuntimeError(
                "data set to a tensor that requires gradients must be floating point or "
                "complex dtype"
            )
        _DATA_SLOT.__set__(self, new._data)
        self.__class__ = self.cls_to_become

    @property
    def shape(self):
        raise RuntimeError(
            "Can't access the shape of an uninitialized parameter or buffer. This error usually "
            "happens in `load_state_dict` when trying to load an uninitialized parameter into an "
            "initialized one. Call `forward` to initialize the parameters before accessing their "
            "attributes."
        )

    def share_memory_(self):
        raise RuntimeError(
            "Can't share memory on an uninitialized parameter or buffer. Call `forward` to "
            "initialize the parameters before calling `module.share_memory()`."
        )

    # what torch still answers for an uninitialised tensor: its placeholder's properties
    def size(self, dim: int | None = None):
        shape = Size(self._raw().shape)
        return shape if dim is None else shape[dim]

    @property
    def ndim(self) -> int:
        return self._raw().ndim

    @property
    def dtype(self):
        return _wrap(self._raw()).dtype

    @property
    def device(self):
        return _wrap(self._raw()).device

    @property
    def is_cpu(self) -> bool:
        return _wrap(self._raw()).is_cpu

    def is_floating_point(self) -> bool:
        return _wrap(self._raw()).is_floating_point()

    def is_complex(self) -> bool:
        return _wrap(self._raw()).is_complex()

    @property
    def data(self) -> Tensor:
        return _wrap(self._raw())

    @data.setter
    def data(self, value: Tensor) -> None:
        _DATA_SLOT.__set__(self, value._data if isinstance(value, Tensor) else np.asarray(value))

    def _to(self, dev, dt, copy: bool = False):
        """to/cpu/cuda/float/double/...: self when nothing changes, else an uninitialised
        tensor of the same class on the new device/dtype (what Module.to needs)."""
        moved = _wrap(self._raw())._to(dev, dt, copy)
        if moved._data is self._raw():
            return self
        out = self._like()
        _DATA_SLOT.__set__(out, moved._data)
        return out

    def _like(self):
        """A new uninitialised tensor of this class with the same placeholder and attributes."""
        out = object.__new__(type(self))
        _DATA_SLOT.__set__(out, self._raw())
        out._rg = self._rg
        out.grad_fn = None
        out.__dict__.update(self.__dict__)
        for k in ("_vc", "_accum", "grad"):
            out.__dict__.pop(k, None)
        return out

    def __repr__(self) -> str:
        return f"<{type(self).__name__}>"

    __str__ = __repr__

    def __reduce_ex__(self, proto):
        # as torch: the class and requires_grad (dtype and device are not kept)
        return (type(self), (self._rg,))

    def __deepcopy__(self, memo):
        r = memo.get(id(self))
        if r is None:
            r = memo[id(self)] = self._like()
        return r


def is_lazy(param) -> bool:
    """Whether ``param`` is an UninitializedParameter or UninitializedBuffer."""
    return isinstance(param, UninitializedTensorMixin)


class UninitializedParameter(UninitializedTensorMixin, Parameter):
    """A Parameter whose shape is not known yet (a lazy module's weight before its first
    forward); ``materialize(shape)`` turns it into a Parameter in place.

    As torch's: ``device=``/``dtype=`` choose what it will materialise as; until then only
    dtype/device queries and conversions work.
    """

    cls_to_become = Parameter

    def __new__(cls, requires_grad: bool = True, device=None, dtype=None):
        return cls._blank(requires_grad, device, dtype)

    def __init__(self, requires_grad: bool = True, device=None, dtype=None) -> None:
        pass


class UninitializedBuffer(UninitializedTensorMixin, Buffer):
    """A buffer whose shape is not known yet (a lazy BatchNorm's running statistics before its
    first forward); ``materialize(shape)`` turns it into a plain Tensor in place.

    Assigned to a module attribute it registers as a buffer (``persistent`` as given), as
    torch's.
    """

    cls_to_become = Tensor

    def __new__(cls, requires_grad: bool = False, device=None, dtype=None, persistent: bool = True):
        t = cls._blank(requires_grad, device, dtype)
        t.persistent = persistent
        return t

    def __init__(
        self, requires_grad: bool = False, device=None, dtype=None, persistent: bool = True
    ) -> None:
        pass
