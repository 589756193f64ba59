"""The one table that attaches methods and operators to Tensor (as Chainer's
``install_variable_arithmetics``): ``ember/__init__.py`` calls :func:`install` once, after
``tensor.py`` (which imports no op) and the ops are loaded; nothing else sets attributes on
Tensor. The operators' fast paths are in ``_tensor_operators.py``. The functions defined here
are the methods that are more than a name for an op function, and the ones that need ops or
autograd nodes (the legacy constructor, ``to``'s casts and moves, ``backward``, hooks, repr).
"""

from __future__ import annotations

import numpy as np

from . import dtypes, random, storage
from ._backend.casting import cast
from ._backend.cpu import layout
from ._backend.xp import CPU_ARRAY, xp_for
from ._grad_state import state as _gs
from ._tensor_operators import (
    _add,
    _add_,
    _contains,
    _div,
    _div_,
    _eq,
    _invert,
    _iop,
    _matmul,
    _mul,
    _ne,
    _neg,
    _rdiv,
    _rmatmul,
    _rpow,
    _sub,
    _sub_,
    deferring,
)
from ._tensor_str import tensor_repr
from ._torch_alias import not_implemented
from ._torch_tensor_names import TORCH_TENSOR_NAMES
from .autograd import engine
from .autograd.hooks import RemovableHandle
from .autograd.node import AccumulateGrad, record1
from .cuda import current_device
from .device import device as _device_cls
from .device import to_device
from .ops import (
    activation,
    arith,
    binary_math,
    compare,
    copy,
    creation,
    cumulative,
    gather,
    indexing,
    inplace,
    join,
    linalg,
    linalg_decomp,
    linalg_func,
    rearrange,
    reduction,
    sorting,
    sparse_compressed,
    special,
    spectral,
    unary,
    view,
)
from .ops import complex as complex_ops
from .tensor import Size, Tensor, _wrap


def _inplace_of(fn):
    """The in-place method ``fn_`` of an op: writes ``fn(self, ...)`` into this tensor (a graph
    is recorded when this tensor or a tensor argument, positional or keyword, requires grad)."""

    def method(self, *args, **kwargs):
        others = [a for a in args if isinstance(a, Tensor)]
        if kwargs:
            others += [v for v in kwargs.values() if isinstance(v, Tensor)]
        return inplace.inplace(self, lambda s: fn(s, *args, **kwargs), *others)

    method.__name__ = fn.__name__ + "_"
    return method


def _clamp_inplace(fn, numbers: bool):
    """clamp_ (``numbers``: it takes complex numbers as clamp does), clamp_min_, clamp_max_:
    where clamp refuses complex operands, torch's in-place form may first refuse the complex
    result as one this tensor cannot hold."""

    def method(self, *args, **kwargs):  # _inplace_of's, inlined: no extra call on this path
        others = [a for a in args if isinstance(a, Tensor)]
        if kwargs:
            others += [v for v in kwargs.values() if isinstance(v, Tensor)]
        try:
            return inplace.inplace(self, lambda s: fn(s, *args, **kwargs), *others)
        except NotImplementedError:
            compare.check_clamp_inplace(self, (*args, *kwargs.values()), numbers)
            raise

    method.__name__ = fn.__name__ + "_"
    return method


# --- the methods that need ops or autograd nodes --------------------------------------------
def _init(self, *args, device=None, dtype=None):
    """``ember.Tensor(data)`` / ``ember.Tensor(2, 3)``: the legacy constructors (default dtype)."""
    self._data = creation._legacy_new(
        args, dtypes.to_dtype(dtype) if dtype else dtypes._default, to_device(device)
    )
    self._rg = False
    self.grad_fn = None


def _repr(self) -> str:
    return tensor_repr(self)


def _transposed(self):
    """Tensor.T: all dimensions reversed."""
    return view.permute(self, tuple(range(self._data.ndim - 1, -1, -1)))


def _to(self, dev, dt, copy: bool = False) -> Tensor:
    if dev is None and not copy and dt is not None:
        npd = dt.np
        if npd == self._data.dtype:
            return self
        if not (self._rg and _gs.enabled):
            return _wrap(cast(self._data, npd))
    r = self
    if dt is not None and dt.np != self._data.dtype:
        r = unary.Cast.apply(r, dt.np)
    if dev is not None and dev.type == "cuda" and dev.index is None:
        dev = _device_cls("cuda", current_device())
    if dev is not None and dev != r.device:
        r = unary.ToDevice.apply(r, dev)
    if copy and r is self:
        r = self.clone()
    return r


def _type(self, dtype=None, non_blocking: bool = False):
    """With no argument, the legacy type name ('torch.FloatTensor'); else a cast, as torch's:
    to a dtype on the tensor's device, or to a legacy type (a name such as 'torch.HalfTensor'
    or 'torch.cuda.FloatTensor', or a class such as ``torch.HalfTensor``) on its device."""
    if dtype is None:
        return engine._legacy_type_name(self)
    if isinstance(dtype, dtypes.dtype):
        return self._to(None, dtype)
    legacy = creation._LEGACY_NAMES
    if isinstance(dtype, str):
        module, _, name = dtype.rpartition(".")
        if module not in ("torch", "torch.cuda") or name not in legacy:
            raise ValueError(f"invalid type: '{dtype}'")
        dev = "cuda" if module == "torch.cuda" else "cpu"
    elif isinstance(dtype, type) and getattr(creation, dtype.__name__, None) is dtype:
        name, dev = dtype.__name__, "cpu"  # ember.HalfTensor and the other legacy classes
    elif (
        isinstance(dtype, type)
        and getattr(dtype, "is_cuda", False) is True
        and not getattr(dtype, "is_sparse", True)
        and getattr(dtype, "dtype", None) is legacy.get(dtype.__name__)
    ):
        name, dev = dtype.__name__, "cuda"  # ember.cuda.FloatTensor and the other CUDA classes
    else:
        raise ValueError(f"invalid type: '{getattr(dtype, '__name__', dtype)}'")
    if name not in legacy:
        raise ValueError(f"invalid type: '{name}'")
    try:
        return self._to(to_device(dev), legacy[name])
    except AssertionError as e:  # no CUDA: torch's CPU build raises a RuntimeError here
        if dev != "cuda":
            raise
        raise RuntimeError(f"Cannot initialize CUDA: {e}") from None


def _accumulator(self):
    acc = self._accum
    if acc is None:
        acc = self._accum = AccumulateGrad(self)
    return acc


def _backward(
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
        if type(d) is CPU_ARRAY:
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
    engine.run_backward([self], [g], retain_graph, create_graph, inputs=inputs, accumulate=True)


def _register_hook(self, hook):
    """hook(grad) -> Tensor or None, called when this tensor's gradient is computed."""
    if not self._rg:
        raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
    if self.grad_fn is None:
        acc = self._accumulator()
        acc.leaf_hooks.append(hook)
        return RemovableHandle(acc.leaf_hooks, hook)
    node = self.grad_fn
    if node._pre_hooks is None:
        node._pre_hooks = {}
    lst = node._pre_hooks.setdefault(self._out_nr, [])
    lst.append(hook)
    return RemovableHandle(lst, hook)


def _sum(self, dim=None, keepdim=False, *, dtype=None, **kw):
    # fast path: the full sum of a float tensor (a loss); reduction.sum has everything else
    if (
        dim is None
        and not keepdim
        and dtype is None
        and not kw
        and self._data.dtype.kind in "fc"
        and type(self._data) is CPU_ARRAY
        and self._data.itemsize > 1  # float8 (ml_dtypes' "f" kind) raises torch's error
    ):
        if self._rg and _gs.enabled:
            return record1(reduction.Sum, self, None, False, None)
        return _wrap(self._data.sum())
    a = self._data
    if (
        type(dim) is int
        and dtype is None
        and not kw
        and type(a) is CPU_ARRAY
        and a.dtype.kind == "f"
        and -a.ndim <= dim < a.ndim
        and not (self._rg and _gs.enabled)
        and a.itemsize > 1
    ):  # the sum over one dim outside autograd (the no-graph path of reduction.sum)
        return _wrap(reduction.sum_dim(a, dim % a.ndim, bool(keepdim)))
    return reduction.sum(self, dim, keepdim, dtype=dtype, **kw)


def _mean(self, dim=None, keepdim=False, *, dtype=None, **kw):
    # fast path: the full mean of a float tensor (a loss); reduction.mean has everything else
    if (
        dim is None
        and not keepdim
        and dtype is None
        and not kw
        and self._data.dtype.kind in "fc"
        and type(self._data) is CPU_ARRAY
        and self._data.size
        and self._data.itemsize > 1  # float8 (ml_dtypes' "f" kind) raises torch's error
    ):
        if self._rg and _gs.enabled:
            return record1(reduction.Mean, self, None, False, None)
        a = self._data
        return _wrap(np.asarray(a.mean(), a.dtype))
    return reduction.mean(self, dim, keepdim, dtype=dtype, **kw)


def _new_factory(fn):
    def method(
        self,
        *args,
        size=None,
        dtype=None,
        layout=None,
        device=None,
        pin_memory=False,
        requires_grad=False,
    ):
        return fn(
            *args,
            size=size,
            dtype=dtype or self.dtype,
            layout=layout,
            device=device or self.device,
            pin_memory=pin_memory,
            requires_grad=requires_grad,
        )

    return method


def _new_full(
    self,
    size,
    fill_value,
    *,
    dtype=None,
    layout=None,
    device=None,
    pin_memory=False,
    requires_grad=False,
):
    return creation.full(
        size,
        fill_value,
        dtype=dtype or self.dtype,
        layout=layout,
        device=device or self.device,
        pin_memory=pin_memory,
        requires_grad=requires_grad,
    )


def _new_tensor(self, data, *, dtype=None, device=None, requires_grad=False):
    return creation.tensor(
        data, dtype=dtype or self.dtype, device=device or self.device, requires_grad=requires_grad
    )


def _clone(self, *, memory_format=None):
    return unary.Clone.apply(self) if self._rg else _wrap(layout.c_copy(self._data))


def clone(input: Tensor, *, memory_format=None) -> Tensor:
    """A copy of input that stays in the graph, as torch.clone."""
    return _clone(input)


def detach(input: Tensor) -> Tensor:
    """input outside the graph, sharing its memory, as torch.detach."""
    return input.detach()


def is_nonzero(input: Tensor) -> bool:
    """The truth value of a one-element tensor, as torch.is_nonzero."""
    if input._data.size != 1:
        if input._data.size == 0:
            raise RuntimeError("Boolean value of Tensor with no values is ambiguous")
        raise RuntimeError("Boolean value of Tensor with more than one value is ambiguous")
    return bool(input._data.reshape(()))


def _contiguous(self, memory_format=None):
    a = self._data
    if memory_format is not None:  # torch's rank and type errors; the layout stays row-major
        creation.check_memory_format(memory_format, a.ndim, "contiguous")
    if a.flags.c_contiguous:
        return self
    return _clone(self)


def _is_contiguous(self, memory_format=None):
    return bool(self._data.flags.c_contiguous)


def _view_as(self, other):
    return view.view(self, other._data.shape)


def _expand_as(self, other):
    return view.expand(self, other._data.shape)


def _reshape_as(self, other):
    return view.reshape(self, other._data.shape)


def _stride(self, dim=None):
    st = tuple(s // self._data.itemsize for s in self._data.strides)
    return st if dim is None else st[dim]


def _storage_offset(self):
    """Where this tensor starts in its storage, in elements."""
    return storage._bytes_of(self._data)[1] // self._data.itemsize


def _data_ptr(self):
    a = self._data
    return a.__array_interface__["data"][0] if type(a) is CPU_ARRAY else a.data.ptr


def _new_empty_strided(self, size, stride, **options):
    """x.new_empty_strided(size, stride): empty_strided, x's dtype and device by default."""
    for key, mine in (("dtype", self.dtype), ("device", self.device)):
        if options.get(key) is None:
            options[key] = mine
    return creation.empty_strided(size, stride, **options)


def _dim_order(self, *, ambiguity_check=False):
    """The dims from outermost to innermost in memory: by decreasing stride, ties in dim order
    (torch's answer for sizes of 1 and other ambiguous layouts)."""
    st = self.stride()
    return tuple(sorted(range(self.dim()), key=lambda d: -st[d]))


def _nonzero_static(self, *, size: int, fill_value: int = -1):
    """The first ``size`` rows of x.nonzero(), padded with ``fill_value`` rows to ``size``."""
    idx = indexing.nonzero(self)
    if idx.shape[0] >= size:
        return idx[:size].clone()
    pad = creation.full((size - idx.shape[0], idx.shape[1]), fill_value, dtype=idx.dtype)
    return join.cat([idx, pad], 0)


def _legacy_new_method(self, *args, device=None, dtype=None):
    """x.new(...): the legacy constructor with x's dtype and device."""
    dt = dtype or self.dtype
    return _wrap(
        creation._legacy_new(
            args, dtypes.to_dtype(dt), to_device(device) if device else self.device
        )
    )


def _post_accumulate_hook(self, hook):
    """hook(tensor) after a leaf's .grad was accumulated, as torch."""
    if not self._rg or self.grad_fn is not None:
        raise RuntimeError(
            "post accumulate grad hooks cannot be registered on non-leaf tensors"
            if self.grad_fn is not None
            else "cannot register a hook on a tensor that doesn't require gradient"
        )
    acc = self._accumulator()
    if acc.post_hooks is None:
        acc.post_hooks = []
    acc.post_hooks.append(hook)
    return RemovableHandle(acc.post_hooks, hook)


def _apply_py(self, fn):
    """Tensor.apply_: a Python function over every element, in place (CPU, as torch)."""
    a = self._data
    flat = a.reshape(-1) if a.flags.c_contiguous else None
    vals = [fn(v) for v in a.reshape(-1).tolist()]
    if flat is not None:
        flat[...] = vals
    else:
        a[...] = np.asarray(vals, a.dtype).reshape(a.shape)
    self._bump()
    return self


def _map_py(self, other, fn):
    """Tensor.map_: fn(self_elem, other_elem) over broadcast elements, in place."""
    a = self._data
    b = np.broadcast_to(other._data, a.shape)
    vals = [fn(x, y) for x, y in zip(a.reshape(-1).tolist(), b.reshape(-1).tolist())]
    a[...] = np.asarray(vals, a.dtype).reshape(a.shape)
    self._bump()
    return self


def _cast(dt):
    def method(self, memory_format=None):
        return self._to(None, dt)

    return method


def _meta_inplace(fn):
    """squeeze_/unsqueeze_/t_/transpose_: this tensor takes the new shape (and grad_fn)."""

    def method(self, *args, **kwargs):
        inplace.check_leaf(self)
        r = fn(self, *args, **kwargs)
        self._data = r._data
        if r.grad_fn is not None:
            self.grad_fn = r.grad_fn
            self._rg = True
        self._bump()
        return self

    method.__name__ = fn.__name__ + "_"
    return method


def _repeat(self, *sizes, **kw):
    return rearrange.repeat(self, *(sizes or (kw["repeats"],)))


def _seq_arg(args: tuple, kw: dict, name: str):
    """``f(1, 2)``, ``f((1, 2))`` and ``f(name=(1, 2))`` all mean (1, 2)."""
    if name in kw:
        return kw[name]
    if len(args) == 1 and not isinstance(args[0], int):
        return args[0]
    return args


def _tile(self, *dims, **kw):
    return rearrange.tile(self, _seq_arg(dims, kw, "dims"))


def _flip(self, *dims, **kw):
    return rearrange.flip(self, _seq_arg(dims, kw, "dims"))


def _broadcast_to(self, *size, **kw):
    return view.broadcast_to(self, _seq_arg(size, kw, "size"))


def _norm(self, p="fro", dim=None, keepdim=False, dtype=None):
    return reduction.norm(self, p, dim, keepdim, dtype=dtype)


def _unique(self, sorted=True, return_inverse=False, return_counts=False, dim=None):  # noqa: A002
    return sorting.unique(self, sorted, return_inverse, return_counts, dim)


def _not_implemented_attribute(name: str) -> property:
    """A class-level stand-in for a torch Tensor API ember lacks: reading it raises "ember does
    not implement torch.Tensor.<name> yet" (an AttributeError subclass, so hasattr is False).
    A ``__getattr__`` on Tensor would give the same errors, but it slows every attribute read
    of every tensor (``a + b`` by about 13%)."""

    def missing(self):
        raise not_implemented(f"torch.Tensor.{name}")

    return property(missing, doc=f"Not implemented in ember: torch.Tensor.{name}.")


METHODS: dict = {
    # the legacy constructor, attributes and conversions that need ops
    "__init__": _init,
    "__repr__": _repr,
    "__str__": _repr,
    "T": property(_transposed),
    "_to": _to,
    "type": _type,
    # autograd
    "_accumulator": _accumulator,
    "__dlpack__": creation.dlpack_export,
    "__dlpack_device__": creation.dlpack_device,
    "backward": _backward,
    "register_hook": _register_hook,
    # operators (fast paths in _tensor_operators.py)
    "__add__": _add,
    "__radd__": _add,
    "__iadd__": _iop(arith.add, np.add),
    "__sub__": _sub,
    "__rsub__": deferring(arith.sub, reflected=True),
    "__isub__": _iop(arith.sub, np.subtract),
    "__mul__": _mul,
    "__rmul__": _mul,
    "__imul__": _iop(arith.mul, np.multiply),
    "__truediv__": _div,
    "__rtruediv__": _rdiv,
    "__itruediv__": lambda self, o: _div_(self, o),
    "__floordiv__": deferring(arith.floor_divide),
    "__rfloordiv__": deferring(arith.floor_divide, reflected=True),
    "__mod__": deferring(arith.remainder),
    "__rmod__": deferring(arith.remainder, reflected=True),
    "__ifloordiv__": _inplace_of(arith.floor_divide),
    "__imod__": _inplace_of(arith.remainder),
    "__ilshift__": _inplace_of(compare.bitwise_left_shift),
    "__irshift__": _inplace_of(compare.bitwise_right_shift),
    "__rlshift__": deferring(compare.bitwise_left_shift, reflected=True),
    "__rrshift__": deferring(compare.bitwise_right_shift, reflected=True),
    "floor_divide_": _inplace_of(arith.floor_divide),
    "fmod_": _inplace_of(arith.fmod),
    "__pow__": deferring(arith.pow),
    "__rpow__": _rpow,
    "__ipow__": _inplace_of(arith.pow),
    "__matmul__": _matmul,
    "__rmatmul__": _rmatmul,
    "__neg__": _neg,
    "__pos__": lambda s: s,
    "__abs__": unary.abs,
    "__invert__": _invert,
    "__eq__": _eq,
    "__ne__": _ne,
    "__contains__": _contains,
    "__lt__": deferring(compare.lt),
    "__le__": deferring(compare.le),
    "__gt__": deferring(compare.gt),
    "__ge__": deferring(compare.ge),
    "__and__": deferring(compare.bitwise_and),
    "__or__": deferring(compare.bitwise_or),
    "__xor__": deferring(compare.bitwise_xor),
    "__rand__": deferring(compare.bitwise_and),
    "__ror__": deferring(compare.bitwise_or),
    "__rxor__": deferring(compare.bitwise_xor),
    "__lshift__": deferring(compare.bitwise_left_shift),
    "__rshift__": deferring(compare.bitwise_right_shift),
    "__iand__": _inplace_of(compare.bitwise_and),
    "__ior__": _inplace_of(compare.bitwise_or),
    "__ixor__": _inplace_of(compare.bitwise_xor),
    "__getitem__": indexing.getitem,
    "__setitem__": indexing.setitem,
    "add": arith.add,
    "sub": arith.sub,
    "subtract": arith.sub,
    "mul": arith.mul,
    "multiply": arith.mul,
    "div": arith.div,
    "divide": arith.div,
    "true_divide": arith.true_divide,
    "pow": arith.pow,
    "remainder": arith.remainder,
    "fmod": arith.fmod,
    "floor_divide": arith.floor_divide,
    "add_": _add_,
    "sub_": _sub_,
    "mul_": _iop(arith.mul, np.multiply),
    "div_": _div_,
    "subtract_": _sub_,
    "multiply_": _iop(arith.mul, np.multiply),
    "divide_": _div_,
    "pow_": _inplace_of(arith.pow),
    "remainder_": _inplace_of(arith.remainder),
    "matmul": linalg.matmul,
    "mm": linalg.mm,
    "bmm": linalg.bmm,
    "mv": linalg.mv,
    "dot": linalg.dot,
    "addmm": linalg.addmm,
    "inner": linalg.inner,
    "sum": _sum,
    "mean": _mean,
    "nansum": reduction.nansum,
    "nanmean": reduction.nanmean,
    "view": view.view,
    "view_as": _view_as,
    "reshape": view.reshape,
    "reshape_as": _reshape_as,
    "transpose": view.transpose,
    "swapaxes": view.transpose,
    "swapdims": view.transpose,
    "permute": view.permute,
    "t": view.t,
    "squeeze": view.squeeze,
    "unsqueeze": view.unsqueeze,
    "flatten": view.flatten,
    "unflatten": view.unflatten,
    "expand": view.expand,
    "expand_as": _expand_as,
    "narrow": view.narrow,
    "split": join.split,
    "chunk": join.chunk,
    "unbind": join.unbind,
    "movedim": view.movedim,
    "moveaxis": view.movedim,
    "clone": _clone,
    "contiguous": _contiguous,
    "is_contiguous": _is_contiguous,
    "stride": _stride,
    "storage_offset": _storage_offset,
    "data_ptr": _data_ptr,
    "copy_": copy.copy_,
    "fill_": copy.fill_,
    "zero_": copy.zero_,
    "masked_fill": gather.masked_fill,
    "masked_fill_": _inplace_of(gather.masked_fill),
    "nonzero": indexing.nonzero,
    "argwhere": indexing.argwhere,
    "where": lambda self, condition, other: compare.where(condition, self, other),
    "clamp": compare.clamp,
    "clip": compare.clamp,
    "clamp_": _clamp_inplace(compare.clamp, True),
    "clip_": _clamp_inplace(compare.clamp, True),
    "clamp_min": compare.clamp_min,
    "clamp_max": compare.clamp_max,
    "clamp_min_": _clamp_inplace(compare.clamp_min, False),
    "clamp_max_": _clamp_inplace(compare.clamp_max, False),
    "maximum": compare.maximum,
    "minimum": compare.minimum,
    "fmax": compare.fmax,
    "fmin": compare.fmin,
    "lerp": compare.lerp,
    "lerp_": _inplace_of(compare.lerp),
    "allclose": compare.allclose,
    "isclose": compare.isclose,
    "equal": compare.equal,
    "new_zeros": _new_factory(creation.zeros),
    "new_ones": _new_factory(creation.ones),
    "new_empty": _new_factory(creation.empty),
    "new_full": _new_full,
    "new_tensor": _new_tensor,
    "float": _cast(dtypes.float32),
    "double": _cast(dtypes.float64),
    "half": _cast(dtypes.float16),
    "bfloat16": _cast(dtypes.bfloat16),
    "long": _cast(dtypes.int64),
    "int": _cast(dtypes.int32),
    "short": _cast(dtypes.int16),
    "char": _cast(dtypes.int8),
    "byte": _cast(dtypes.uint8),
    "bool": _cast(dtypes.bool_),
    "cfloat": _cast(dtypes.complex64),
    "uniform_": random.uniform_,
    "normal_": random.normal_,
    "bernoulli_": random.bernoulli_,
    "random_": random.random_,
    "exponential_": random.exponential_,
    "cauchy_": random.cauchy_,
    "log_normal_": random.log_normal_,
    "geometric_": random.geometric_,
    "multinomial": random.multinomial,
    "bernoulli": random.bernoulli,
    "eq": compare.eq,
    "ne": compare.ne,
    "lt": compare.lt,
    "le": compare.le,
    "gt": compare.gt,
    "ge": compare.ge,
    "greater": compare.gt,
    "greater_equal": compare.ge,
    "less": compare.lt,
    "less_equal": compare.le,
    "not_equal": compare.ne,
    "logical_and": compare.logical_and,
    "logical_or": compare.logical_or,
    "logical_xor": compare.logical_xor,
    "bitwise_and": compare.bitwise_and,
    "bitwise_or": compare.bitwise_or,
    "bitwise_xor": compare.bitwise_xor,
    "isin": compare.isin,
    "eq_": _inplace_of(compare.eq),
    "ne_": _inplace_of(compare.ne),
    "new": _legacy_new_method,
    "register_post_accumulate_grad_hook": _post_accumulate_hook,
    "is_sparse": property(lambda s: False),
    "is_sparse_csr": property(lambda s: False),
    "to_sparse": sparse_compressed.to_sparse,
    "to_sparse_coo": sparse_compressed.to_sparse_coo,
    "to_sparse_csr": sparse_compressed.to_sparse_csr,
    "to_sparse_csc": sparse_compressed.to_sparse_csc,
    "to_sparse_bsr": sparse_compressed.to_sparse_bsr,
    "to_sparse_bsc": sparse_compressed.to_sparse_bsc,
    "crow_indices": sparse_compressed.crow_indices,
    "col_indices": sparse_compressed.col_indices,
    "ccol_indices": sparse_compressed.ccol_indices,
    "row_indices": sparse_compressed.row_indices,
    "values": sparse_compressed.dense_values,
    "dense_dim": lambda s: s.dim(),
    "sparse_dim": lambda s: 0,
    "to_dense": lambda s, dtype=None, *, masked_grad=None: s if dtype is None else s.to(dtype),
    "is_quantized": property(lambda s: False),
    "is_xpu": property(lambda s: False),
    "is_ipu": property(lambda s: False),
    "is_maia": property(lambda s: False),
    "is_mtia": property(lambda s: False),
    "is_mkldnn": property(lambda s: False),
    "is_vulkan": property(lambda s: False),
    "is_xla": property(lambda s: False),
    "is_distributed": lambda s: False,
    "new_empty_strided": _new_empty_strided,
    "dim_order": _dim_order,
    "const_data_ptr": _data_ptr,
    "is_nonzero": lambda self: bool(self),  # __bool__: one element, torch's errors otherwise
    "nonzero_static": _nonzero_static,
    "bitwise_left_shift": compare.bitwise_left_shift,
    "bitwise_right_shift": compare.bitwise_right_shift,
    "true_divide_": lambda self, other: _div_(self, other),
    "orgqr": linalg_decomp.householder_product,
    "hash_tensor": reduction.hash_tensor,
    "is_meta": property(lambda s: False),
    "is_mps": property(lambda s: False),
    "is_nested": property(lambda s: False),
    "layout": property(lambda s: dtypes.strided),
    "share_memory_": lambda s: s,
    "is_shared": lambda s: False,
    "is_inference": lambda s: False,
    "apply_": lambda s, fn: _apply_py(s, fn),
    "map_": lambda s, other, fn: _map_py(s, other, fn),
    # reductions, sorting, gather/scatter, shape and linalg beyond the operators
    "prod": reduction.prod,
    "max": reduction.max,
    "min": reduction.min,
    "amax": reduction.amax,
    "amin": reduction.amin,
    "argmax": reduction.argmax,
    "argmin": reduction.argmin,
    "aminmax": reduction.aminmax,
    "var": reduction.var,
    "std": reduction.std,
    "norm": _norm,
    "logsumexp": reduction.logsumexp,
    "any": reduction.any,
    "all": reduction.all,
    "count_nonzero": reduction.count_nonzero,
    "median": reduction.median,
    "cumsum": cumulative.cumsum,
    "cumprod": cumulative.cumprod,
    "cummax": cumulative.cummax,
    "cummin": cumulative.cummin,
    "logcumsumexp": cumulative.logcumsumexp,
    "nanmedian": reduction.nanmedian,
    "cumsum_": _inplace_of(cumulative.cumsum),
    "cumprod_": _inplace_of(cumulative.cumprod),
    # sorting
    "sort": sorting.sort,
    "argsort": sorting.argsort,
    "msort": sorting.msort,
    "topk": sorting.topk,
    "kthvalue": sorting.kthvalue,
    "mode": sorting.mode,
    "unique": _unique,
    "unique_consecutive": sorting.unique_consecutive,
    # gather / scatter
    "gather": gather.gather,
    "scatter": gather.scatter,
    "scatter_add": gather.scatter_add,
    "scatter_reduce": gather.scatter_reduce,
    "index_select": gather.index_select,
    "masked_select": gather.masked_select,
    "take": gather.take,
    "take_along_dim": gather.take_along_dim,
    "index_add": gather.index_add,
    "index_copy": gather.index_copy,
    "index_fill": gather.index_fill,
    "masked_scatter": gather.masked_scatter,
    "scatter_": gather.scatter_,
    "scatter_add_": gather.scatter_add_,
    "scatter_reduce_": gather.scatter_reduce_,
    "index_add_": gather.index_add_,
    "index_copy_": gather.index_copy_,
    "index_fill_": gather.index_fill_,
    "index_put_": indexing.index_put_,
    "index_put": indexing.index_put,
    "masked_scatter_": gather.masked_scatter_,
    "put": gather.put,
    "put_": gather.put_,
    # shape
    "flip": _flip,
    "fliplr": rearrange.fliplr,
    "flipud": rearrange.flipud,
    "roll": rearrange.roll,
    "rot90": rearrange.rot90,
    "repeat": _repeat,
    "tile": _tile,
    "repeat_interleave": rearrange.repeat_interleave,
    "tril": rearrange.tril,
    "triu": rearrange.triu,
    "tril_": _inplace_of(rearrange.tril),
    "triu_": _inplace_of(rearrange.triu),
    "diag": rearrange.diag,
    "diagonal": view.diagonal,
    "diag_embed": rearrange.diag_embed,
    "unfold": view.unfold,
    "select": view.select,
    "broadcast_to": _broadcast_to,
    "diff": rearrange.diff,
    "ravel": view.ravel,
    "tensor_split": join.tensor_split,
    "hsplit": join.hsplit,
    "vsplit": join.vsplit,
    "dsplit": join.dsplit,
    "diagflat": rearrange.diagflat,
    "narrow_copy": view.narrow_copy,
    "select_scatter": rearrange.select_scatter,
    "slice_scatter": rearrange.slice_scatter,
    "diagonal_scatter": rearrange.diagonal_scatter,
    "fill_diagonal_": rearrange.fill_diagonal_,
    "sum_to_size": reduction.sum_to_size,
    "squeeze_": _meta_inplace(view.squeeze),
    "unsqueeze_": _meta_inplace(view.unsqueeze),
    "t_": _meta_inplace(view.t),
    "transpose_": _meta_inplace(view.transpose),
    "swapaxes_": _meta_inplace(view.transpose),
    "swapdims_": _meta_inplace(view.transpose),
    "bincount": sorting.bincount,
    "histc": sorting.histc,
    "quantile": sorting.quantile,
    "nanquantile": sorting.nanquantile,
    # linalg
    "outer": linalg.outer,
    "ger": linalg.outer,
    "baddbmm": linalg.baddbmm,
    "addmv": linalg.addmv,
    "addbmm": linalg.addbmm,
    "addr": linalg.addr,
    "cross": linalg.cross,
    "baddbmm_": _inplace_of(linalg.baddbmm),
    "addmm_": _inplace_of(linalg.addmm),
    "addmv_": _inplace_of(linalg.addmv),
    "addbmm_": _inplace_of(linalg.addbmm),
    "addr_": _inplace_of(linalg.addr),
    "trace": linalg.trace,
    "kron": linalg.kron,
    "dist": linalg.dist,
    "det": linalg_decomp.det,
    "logdet": linalg_decomp.logdet,
    "slogdet": linalg_decomp.slogdet,
    "inverse": linalg_decomp.inverse,
    "svd": linalg_decomp.svd,
    "qr": linalg_decomp.qr,
    "cholesky": linalg_decomp.cholesky,
    "cholesky_solve": linalg_decomp.cholesky_solve,
    "cholesky_inverse": linalg_decomp.cholesky_inverse,
    "pinverse": linalg_decomp.pinverse,
    "lu": linalg_decomp.lu,
    "lu_solve": linalg_decomp.lu_solve,
    "triangular_solve": linalg_decomp.triangular_solve,
    "geqrf": linalg_decomp.geqrf,
    "ormqr": linalg_decomp.ormqr,
    "matrix_power": linalg_func.matrix_power,
    "matrix_exp": linalg_func.matrix_exp,
}

for _name in unary.__all__:
    if _name == "frexp":
        METHODS["frexp"] = unary.frexp
        continue
    _fn = getattr(unary, _name)
    METHODS.setdefault(_name, _fn)
    if _name not in (
        "isnan",
        "isinf",
        "isfinite",
        "isposinf",
        "isneginf",
        "isreal",
        "real",
        "imag",
        "angle",
        "signbit",
        "conj",
        "positive",
        "resolve_conj",
        "resolve_neg",
        "is_conj",
        "is_neg",
    ):
        METHODS.setdefault(_name + "_", _inplace_of(_fn))

for _name in binary_math.__all__:
    _fn = getattr(binary_math, _name)
    METHODS.setdefault(_name, _fn)
    METHODS.setdefault(_name + "_", _inplace_of(_fn))

# in-place comparisons, logical and bitwise ops write their result in this tensor's dtype
for _name in (
    "lt", "le", "gt", "ge", "less", "less_equal", "greater", "greater_equal", "not_equal",
    "logical_and", "logical_or", "logical_xor", "bitwise_and", "bitwise_or", "bitwise_xor",
    "bitwise_left_shift", "bitwise_right_shift",
):  # fmt: skip
    METHODS.setdefault(_name + "_", _inplace_of(METHODS.get(_name) or getattr(compare, _name)))
METHODS.setdefault("cov", reduction.cov)
METHODS.setdefault("__rdiv__", METHODS["__rtruediv__"])  # torch keeps the Python 2 name
METHODS.setdefault("cdouble", lambda self, memory_format=None: self.to(dtypes.complex128))
METHODS.setdefault("index_reduce", gather.index_reduce)
METHODS.setdefault("index_reduce_", _inplace_of(gather.index_reduce))
METHODS.setdefault("untyped_storage", storage._untyped_storage)
METHODS.setdefault("storage", storage._storage)
METHODS.setdefault("set_", storage.set_)
METHODS.setdefault("resize_", copy.resize_)
METHODS.setdefault("resize_as_", copy.resize_as_)
METHODS.setdefault("renorm", reduction.renorm)
METHODS.setdefault("renorm_", _inplace_of(reduction.renorm))
METHODS.setdefault("histogram", sorting.histogram)
METHODS.setdefault("split_with_sizes", join.split_with_sizes)
METHODS.setdefault("unsafe_chunk", join.unsafe_chunk)
METHODS.setdefault("unsafe_split", join.unsafe_split)
METHODS.setdefault("unsafe_split_with_sizes", join.unsafe_split_with_sizes)
METHODS.setdefault("as_strided", view.as_strided)
METHODS.setdefault("as_strided_scatter", view.as_strided_scatter)
METHODS.setdefault("corrcoef", reduction.corrcoef)
METHODS.setdefault("vdot", linalg.vdot)
METHODS.setdefault("multinomial", random.multinomial)

METHODS["round"] = unary.round
METHODS["is_signed"] = lambda self: self._data.dtype.kind in "ifcV"  # V: bfloat16
METHODS["get_device"] = lambda self: self.device.index if self.device.type == "cuda" else -1
METHODS["adjoint"] = lambda self: self.mH
METHODS["is_same_size"] = lambda self, other: tuple(self.shape) == tuple(other.shape)
METHODS["relu_"] = unary.relu_
METHODS["nan_to_num_"] = unary.nan_to_num_
for _name in ("lgamma", "digamma", "i0", "igamma", "igammac", "xlogy", "mvlgamma"):
    METHODS[_name] = getattr(special, _name)
    METHODS[_name + "_"] = _inplace_of(getattr(special, _name))
METHODS["stft"] = spectral.stft
METHODS["istft"] = spectral.istft
METHODS["polygamma"] = lambda self, n: special.polygamma(n, self)
METHODS["polygamma_"] = lambda self, n: inplace.inplace(self, lambda s: special.polygamma(n, s))
METHODS["real"] = property(complex_ops.real, lambda s, v: complex_ops.real(s).copy_(v))
METHODS["imag"] = property(complex_ops.imag, lambda s, v: complex_ops.imag(s).copy_(v))
METHODS["softmax"] = activation.softmax
METHODS["log_softmax"] = activation.log_softmax


def install(cls: type) -> None:
    """Attach every method and operator in METHODS to ``cls`` (Tensor), as plain functions in
    the class dict (no wrapper on the per-call path)."""
    for name, fn in METHODS.items():
        setattr(cls, name, fn)
    for name in TORCH_TENSOR_NAMES:
        if not hasattr(cls, name):
            setattr(cls, name, _not_implemented_attribute(name))


def typename(obj) -> str:
    """The legacy type name of a tensor ('torch.FloatTensor'), else the object's type name."""
    if isinstance(obj, Tensor):
        return obj.type()
    t = type(obj)
    return t.__name__ if t.__module__ == "builtins" else f"{t.__module__}.{t.__qualname__}"


def compile(model=None, **kwargs):  # noqa: A001
    """torch.compile stand-in: ember runs eagerly, so the model or function comes back as is."""
    if model is None:
        return lambda m: m
    return model
