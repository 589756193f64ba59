"""The Tensor: one backend array (NumPy or CuPy) plus the autograd fields.

This module sits at the bottom of ember: it imports no op and no autograd node. The methods that
call ops (arithmetic, reductions, ``to``, ``backward``, the legacy constructor, ...) are attached
from one table, ``ember/_tensor_methods.py``, when the package is imported; this file holds the
object itself, its attributes, conversions and the graph fields.

The short private fields of a Tensor (the first three are slots, the rest live in the instance
dict, with the class-level defaults below, so a plain tensor never allocates them):

=================  ===========================================================================
``_data``          the backend array: a ``numpy.ndarray`` (CPU) or a ``cupy.ndarray`` (CUDA)
``_rg``            ``requires_grad`` (a bool read on every op, hence the short name)
``grad_fn``        the graph node that made this tensor (public, as torch); None for a leaf
``grad``           the accumulated gradient (public, as torch)
``_vc``            version counter: a one-item list ``[n]`` shared by a tensor and its views,
                   bumped by every in-place change; None until first needed
``_base``          the tensor this one is a view of (None when it owns its memory)
``_out_nr``        which output of ``grad_fn`` this tensor is (0: the first or only one)
``_accum``         the ``AccumulateGrad`` node of a leaf that requires grad (made on first use)
``_retains_grad``  ``retain_grad()`` was called on this non-leaf
``_is_param``      class-level marker, True on ``nn.Parameter`` (pickling, repr)
``_mv``            on an output of split/chunk/unbind (and on views of one): which of torch's
                   refusals of an in-place change applies, a tuple read by
                   ``ember.ops.inplace.check_marked_view``; None on every other tensor
``_views``         on a non-leaf with views in the graph: weak references to them
                   (``note_view``), given its new history by an in-place change
=================  ===========================================================================
"""

from __future__ import annotations

import warnings
import weakref

import numpy as np

from . import dtypes
from ._backend.xp import CPU_ARRAY
from ._grad_state import state as _gs
from ._tensor_errors import check_dim
from .device import CPU, device_of, to_device

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
    if type(arr) is not CPU_ARRAY:
        arr = _coerce(arr)
    t = _new(Tensor)
    t._data = arr
    t._rg = False
    t.grad_fn = None
    return t


def view_of(arr, base: Tensor) -> Tensor:
    """A graph-free Tensor around ``arr``, a view of ``base``'s array: it shares ``base``'s
    version counter and names its root as ``_base`` (the views' fast paths, in one call)."""
    r = _new(Tensor)
    r._data = arr
    r._rg = False
    r.grad_fn = None
    vc = base._vc
    if vc is None:
        vc = base._vc = [0]
    r._vc = vc
    b = base._base
    if b is None:
        r._base = base
    else:
        r._base = b
        if base._mv is not None:  # read only for views of views: plain views pay nothing
            inherit_view_mark(r, base)
    return r


def inherit_view_mark(r: Tensor, base: Tensor) -> None:
    """Mark ``r``, a view of the marked view ``base``, as torch passes a view's creation kind
    to views of it: an in-place change of ``p[0][1:]`` is refused as one of ``p[0]`` is. A view
    made with grad mode off counts as made in no_grad mode; it requires grad, as torch's, where
    ``base`` does, and has a grad_fn where it was made with grad mode on (ember's names it)."""
    multi, rg = base._mv[:2]
    rg = rg or base._rg
    on = _gs.enabled
    r._mv = (multi and on, rg, rg and on, None, 0)


# ember.ops.inplace's refresh_views, set when it is imported: a custom Function's mark_dirty
# (the autograd layer, below ops) rewrites a tensor's history too, and its views need the new one
refresh_views_of = None


def note_view(r: Tensor, root: Tensor) -> None:
    """Remember ``r``, a view of the non-leaf ``root`` recorded in the graph, on ``root``: an
    in-place change that rewrites ``root``'s history gives ``r`` a view of the new history
    (``ember.ops.inplace.refresh_views``), as torch regenerates a view's grad_fn once its
    base's version has moved. Dead references are dropped as the list grows."""
    views = root.__dict__.get("_views")
    if views is None:
        root._views = views = []
    elif len(views) >= 32 and not len(views) & 31:
        views[:] = [w for w in views if w() is not None]
    views.append(weakref.ref(r))


def as_view(r: Tensor, base: Tensor) -> Tensor:
    """Mark ``r``, an op's result over ``base``'s memory, as a view of ``base``: they share a
    version counter and a root, as torch's views do; a view recorded in the graph is
    remembered on a non-leaf root (``note_view``)."""
    r._vc = base._version_counter()
    b = base._base
    if b is None:
        r._base = b = base
    else:
        r._base = b
        if base._mv is not None:
            inherit_view_mark(r, base)
    if r._rg and b.grad_fn is not None:
        note_view(r, b)
    return r


def _wrap_node(arr, node, i: int) -> Tensor:
    if type(arr) is not CPU_ARRAY:
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

    # rarely-set fields (see the table above) live in the instance dict, with these defaults
    grad = None
    _vc = None
    _base = None
    _out_nr = 0
    _accum = None
    _retains_grad = False
    _is_param = False
    _mv = None
    _sparse = False  # True on ember.ops.sparse.SparseTensor (torch.mm/matmul test it first)

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
    def dtype(self) -> dtypes.dtype:
        return dtypes._FROM_NP[self._data.dtype]

    @property
    def device(self):
        return CPU if type(self._data) is CPU_ARRAY else device_of(self._data)

    @property
    def is_cuda(self) -> bool:
        return self.device.type == "cuda"

    @property
    def is_cpu(self) -> bool:
        return type(self._data) is CPU_ARRAY

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
        return self._data.dtype.kind == "f" or self.dtype is dtypes.bfloat16

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
    def mT(self) -> Tensor:
        if _check_matrix(self, "mT", "This function is the identity in these cases."):
            return self
        return self.transpose(-2, -1)

    @property
    def H(self) -> Tensor:
        return self.T.conj()

    @property
    def mH(self) -> Tensor:
        if _check_matrix(self, "mH", "Consider using x.conj()."):
            return self.conj()
        return self.transpose(-2, -1).conj()

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
        if type(self._data) is not CPU_ARRAY:
            if force:
                return self._host()
            raise TypeError(
                f"can't convert {self.device.type}:{self.device.index or 0} device type tensor "
                "to numpy. Use Tensor.cpu() to copy the tensor to host memory first."
            )
        return self._data

    def _host(self) -> np.ndarray:
        a = self._data
        return a if type(a) is CPU_ARRAY else a.get()

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

    def type_as(self, other: Tensor) -> Tensor:
        return self._to(None, other.dtype)

    # --- autograd --------------------------------------------------------------------------
    def retain_grad(self) -> None:
        """Keep ``.grad`` for this non-leaf tensor after backward (set after its other hooks,
        as torch)."""
        if self.grad_fn is None:
            if not self._rg:
                raise RuntimeError("can't retain_grad on Tensor that has requires_grad=False")
            return
        if self._retains_grad:
            return
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
        if self._base is not None:  # torch refuses views, with or without a graph
            raise RuntimeError(
                "Can't detach views in-place. Use detach() instead. If you are using "
                "DistributedDataParallel (DDP) for training, and gradient_as_bucket_view is set "
                "as True, gradients are views of DDP buckets, and hence detach_() cannot be "
                "called on these gradients. To fix this error, please refer to the "
                "Optimizer.zero_grad() function in torch/optim/optimizer.py as the solution."
            )
        self.grad_fn = None
        self._rg = False
        return self


def _prime_instance_dicts() -> None:
    """Set the order of the keys that Tensors keep in their instance dict: views' ``_vc`` and
    ``_base`` first, as every view sets them. CPython shares one key table among a class's
    instance dicts while they fill in the order its first instances used; which keys a program
    happened to set first decided it before. Measured (2026-12-04, bench_core): a process whose
    first keys were a gradient's (grad, _accum, _vc) gave every later view a 184-byte dict
    instead of 88, and made views 15-25% slower: m.view 0.91 -> 0.74 us, x[:, :-1] 0.95 ->
    0.82, m.t() 0.51 -> 0.38."""
    t = _new(Tensor)
    t._vc = None
    t._base = None


_prime_instance_dicts()


def _check_matrix(t: Tensor, attr: str, scalar_hint: str) -> bool:
    """torch's checks for ``mT``/``mH``: True (after torch's warning) for a 0-d tensor, an
    error for a 1-d one."""
    if t._data.ndim == 0:
        warnings.warn(f"Tensor.{attr} is deprecated on 0-D tensors. {scalar_hint}", stacklevel=3)
        return True
    if t._data.ndim == 1:
        raise RuntimeError(
            f"tensor.{attr} is only supported on matrices or batches of matrices. "
            f"Got {t._data.ndim}-D tensor."
        )
    return False


def _rebuild(arr, requires_grad, is_param):
    # the function that pickles of tensors and parameters name (keep its path and arguments)
    if is_param:
        return _parameter_class()(_wrap(arr), requires_grad)
    t = _wrap(arr)
    t._rg = requires_grad
    return t


def _parameter_class() -> type:
    """nn.Parameter, found as the Tensor subclass that marks itself ``_is_param``: it is defined
    above this layer (in nn), which tensor.py does not import."""
    for cls in Tensor.__subclasses__():
        if cls.__dict__.get("_is_param"):
            return cls
    raise RuntimeError("ember.nn.parameter is not loaded")  # unreachable after `import ember`


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
            isinstance(a, dtypes.dtype)
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
        dtypes.to_dtype(dt) if dt is not None else None,
        copy,
    )


def is_grad_recording(*ts) -> bool:
    if not _gs.enabled:
        return False
    for t in ts:
        if isinstance(t, Tensor) and t._rg:
            return True
    return False


def result_type(*operands) -> dtypes.dtype:
    """torch.result_type over tensors and Python scalars."""
    dim_dt = zero_dt = wrapped_dt = None
    for o in operands:
        if isinstance(o, Tensor):
            if o._data.ndim:
                dim_dt = dtypes._accumulate(dim_dt, o.dtype)
            else:
                zero_dt = dtypes._accumulate(zero_dt, o.dtype)
        else:
            wrapped_dt = dtypes._accumulate(wrapped_dt, dtypes.scalar_dtype(o))
    return dtypes.result_type_parts(dim_dt, zero_dt, wrapped_dt)
