"""Attach the op functions to Tensor as methods and operators (one table; the operators' fast
paths are in _tensor_operators.py)."""

from __future__ import annotations

import numpy as np

from . import random as R
from ._backend.xp import CPU_ARRAY
from ._tensor_operators import (
    _add,
    _add_,
    _contains,
    _div,
    _div_,
    _eq,
    _inplace_of,
    _invert,
    _iop,
    _matmul,
    _mul,
    _ne,
    _neg,
    _pow,
    _rdiv,
    _rmatmul,
    _rpow,
    _rsub,
    _sub,
    _sub_,
)
from .autograd.grad_mode import state as _gs
from .autograd.node import record1
from .ops import arith as A
from .ops import compare as C
from .ops import creation as K
from .ops import indexing as I
from .ops import inplace as P
from .ops import linalg as L
from .ops import reduction as Rd
from .ops import shape as S
from .ops import unary as U
from .tensor import Tensor, _wrap


def _sum(self, dim=None, keepdim=False, *, dtype=None, **kw):
    # fast path: the full sum of a float tensor (a loss); reduction.sum has everything else
    if (
        dim is None
        and not keepdim
        and dtype is None
        and not kw
        and self._data.dtype.kind in "fc"
        and type(self._data) is CPU_ARRAY
    ):
        if self._rg and _gs.enabled:
            return record1(Rd.Sum, self, None, False, None)
        return _wrap(self._data.sum())
    return Rd.sum(self, dim, keepdim, dtype=dtype, **kw)


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
    ):
        if self._rg and _gs.enabled:
            return record1(Rd.Mean, self, None, False, None)
        a = self._data
        return _wrap(np.asarray(a.mean(), a.dtype))
    return Rd.mean(self, dim, keepdim, dtype=dtype, **kw)


def _new_factory(fn):
    def method(self, *size, dtype=None, device=None, requires_grad=False, **kw):
        return fn(
            *size,
            dtype=dtype or self.dtype,
            device=device or self.device,
            requires_grad=requires_grad,
        )

    return method


def _new_full(self, size, fill_value, *, dtype=None, device=None, requires_grad=False):
    return K.full(
        size,
        fill_value,
        dtype=dtype or self.dtype,
        device=device or self.device,
        requires_grad=requires_grad,
    )


def _new_tensor(self, data, *, dtype=None, device=None, requires_grad=False):
    return K.tensor(
        data, dtype=dtype or self.dtype, device=device or self.device, requires_grad=requires_grad
    )


def _clone(self, *, memory_format=None):
    return U.Clone.apply(self) if self._rg else _wrap(self._data.copy())


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
    if a.flags.c_contiguous:
        return self
    return _clone(self)


def _is_contiguous(self, memory_format=None):
    return bool(self._data.flags.c_contiguous)


def _view_as(self, other):
    return S.view(self, other._data.shape)


def _expand_as(self, other):
    return S.expand(self, other._data.shape)


def _reshape_as(self, other):
    return S.reshape(self, other._data.shape)


def _stride(self, dim=None):
    st = tuple(s // self._data.itemsize for s in self._data.strides)
    return st if dim is None else st[dim]


def _storage_offset(self):
    base = self._data
    while getattr(base, "base", None) is not None and isinstance(base.base, CPU_ARRAY):
        base = base.base
    if base is self._data:
        return 0
    return (
        self._data.__array_interface__["data"][0] - base.__array_interface__["data"][0]
    ) // self._data.itemsize


def _data_ptr(self):
    a = self._data
    return a.__array_interface__["data"][0] if type(a) is CPU_ARRAY else a.data.ptr


def _legacy_new_method(self, *args, device=None, dtype=None):
    """x.new(...): the legacy constructor with x's dtype and device."""
    from .ops.creation import _legacy_new
    from .tensor import to_device

    dt = dtype or self.dtype
    from .dtypes import to_dtype

    return _wrap(_legacy_new(args, to_dtype(dt), to_device(device) if device else self.device))


def _post_accumulate_hook(self, hook):
    """hook(tensor) after a leaf's .grad was accumulated, as torch."""
    if not self._rg or self.grad_fn is not None:
        raise RuntimeError(
            "post accumulate grad hooks cannot be registered on non-leaf tensors"
            if self.grad_fn is not None
            else "cannot register a hook on a tensor that doesn't require gradient"
        )
    from .autograd.node import _RemovableHandle

    acc = self._accumulator()
    if acc.post_hooks is None:
        acc.post_hooks = []
    acc.post_hooks.append(hook)
    return _RemovableHandle(acc.post_hooks, hook)


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


_METHODS = {
    "__add__": _add,
    "__radd__": _add,
    "__iadd__": _iop(A.add, np.add),
    "__sub__": _sub,
    "__rsub__": _rsub,
    "__isub__": _iop(A.sub, np.subtract),
    "__mul__": _mul,
    "__rmul__": _mul,
    "__imul__": _iop(A.mul, np.multiply),
    "__truediv__": _div,
    "__rtruediv__": _rdiv,
    "__itruediv__": lambda self, o: _div_(self, o),
    "__floordiv__": A.floor_divide,
    "__rfloordiv__": lambda s, o: A.floor_divide(o, s),
    "__mod__": A.remainder,
    "__rmod__": lambda s, o: A.remainder(o, s),
    "__ifloordiv__": _inplace_of(A.floor_divide),
    "__imod__": _inplace_of(A.remainder),
    "__ilshift__": _inplace_of(C.bitwise_left_shift),
    "__irshift__": _inplace_of(C.bitwise_right_shift),
    "__rlshift__": lambda s, o: C.bitwise_left_shift(o, s),
    "__rrshift__": lambda s, o: C.bitwise_right_shift(o, s),
    "floor_divide_": _inplace_of(A.floor_divide),
    "fmod_": _inplace_of(A.fmod),
    "__pow__": _pow,
    "__rpow__": _rpow,
    "__ipow__": _inplace_of(A.pow),
    "__matmul__": _matmul,
    "__rmatmul__": _rmatmul,
    "__neg__": _neg,
    "__pos__": lambda s: s,
    "__abs__": U.abs,
    "__invert__": _invert,
    "__eq__": _eq,
    "__ne__": _ne,
    "__contains__": _contains,
    "__lt__": C.lt,
    "__le__": C.le,
    "__gt__": C.gt,
    "__ge__": C.ge,
    "__and__": C.bitwise_and,
    "__or__": C.bitwise_or,
    "__xor__": C.bitwise_xor,
    "__rand__": C.bitwise_and,
    "__ror__": C.bitwise_or,
    "__rxor__": C.bitwise_xor,
    "__lshift__": C.bitwise_left_shift,
    "__rshift__": C.bitwise_right_shift,
    "__iand__": _inplace_of(C.bitwise_and),
    "__ior__": _inplace_of(C.bitwise_or),
    "__ixor__": _inplace_of(C.bitwise_xor),
    "__getitem__": I.getitem,
    "__setitem__": I.setitem,
    "add": A.add,
    "sub": A.sub,
    "subtract": A.sub,
    "mul": A.mul,
    "multiply": A.mul,
    "div": A.div,
    "divide": A.div,
    "true_divide": A.true_divide,
    "pow": A.pow,
    "remainder": A.remainder,
    "fmod": A.fmod,
    "floor_divide": A.floor_divide,
    "add_": _add_,
    "sub_": _sub_,
    "mul_": _iop(A.mul, np.multiply),
    "div_": _div_,
    "subtract_": _sub_,
    "multiply_": _iop(A.mul, np.multiply),
    "divide_": _div_,
    "pow_": _inplace_of(A.pow),
    "remainder_": _inplace_of(A.remainder),
    "matmul": L.matmul,
    "mm": L.mm,
    "bmm": L.bmm,
    "mv": L.mv,
    "dot": L.dot,
    "addmm": L.addmm,
    "inner": L.inner,
    "sum": _sum,
    "mean": _mean,
    "nansum": Rd.nansum,
    "nanmean": Rd.nanmean,
    "view": S.view,
    "view_as": _view_as,
    "reshape": S.reshape,
    "reshape_as": _reshape_as,
    "transpose": S.transpose,
    "swapaxes": S.transpose,
    "swapdims": S.transpose,
    "permute": S.permute,
    "t": S.t,
    "squeeze": S.squeeze,
    "unsqueeze": S.unsqueeze,
    "flatten": S.flatten,
    "unflatten": S.unflatten,
    "expand": S.expand,
    "expand_as": _expand_as,
    "narrow": S.narrow,
    "split": S.split,
    "chunk": S.chunk,
    "unbind": S.unbind,
    "movedim": S.movedim,
    "moveaxis": S.movedim,
    "clone": _clone,
    "contiguous": _contiguous,
    "is_contiguous": _is_contiguous,
    "stride": _stride,
    "storage_offset": _storage_offset,
    "data_ptr": _data_ptr,
    "copy_": P.copy_,
    "fill_": P.fill_,
    "zero_": P.zero_,
    "masked_fill": I.masked_fill,
    "masked_fill_": _inplace_of(I.masked_fill),
    "nonzero": I.nonzero,
    "argwhere": I.argwhere,
    "where": lambda self, condition, other: C.where(condition, self, other),
    "clamp": C.clamp,
    "clip": C.clamp,
    "clamp_": _inplace_of(C.clamp),
    "clip_": _inplace_of(C.clamp),
    "clamp_min": C.clamp_min,
    "clamp_max": C.clamp_max,
    "clamp_min_": _inplace_of(C.clamp_min),
    "clamp_max_": _inplace_of(C.clamp_max),
    "maximum": C.maximum,
    "minimum": C.minimum,
    "fmax": C.fmax,
    "fmin": C.fmin,
    "lerp": C.lerp,
    "lerp_": _inplace_of(C.lerp),
    "allclose": C.allclose,
    "isclose": C.isclose,
    "equal": C.equal,
    "new_zeros": _new_factory(K.zeros),
    "new_ones": _new_factory(K.ones),
    "new_empty": _new_factory(K.empty),
    "new_full": _new_full,
    "new_tensor": _new_tensor,
    "float": _cast(__import__("ember.dtypes").dtypes.float32),
    "double": _cast(__import__("ember.dtypes").dtypes.float64),
    "half": _cast(__import__("ember.dtypes").dtypes.float16),
    "bfloat16": _cast(__import__("ember.dtypes").dtypes.bfloat16),
    "long": _cast(__import__("ember.dtypes").dtypes.int64),
    "int": _cast(__import__("ember.dtypes").dtypes.int32),
    "short": _cast(__import__("ember.dtypes").dtypes.int16),
    "char": _cast(__import__("ember.dtypes").dtypes.int8),
    "byte": _cast(__import__("ember.dtypes").dtypes.uint8),
    "bool": _cast(__import__("ember.dtypes").dtypes.bool_),
    "cfloat": _cast(__import__("ember.dtypes").dtypes.complex64),
    "uniform_": R.uniform_,
    "normal_": R.normal_,
    "bernoulli_": R.bernoulli_,
    "random_": R.random_,
    "exponential_": R.exponential_,
    "bernoulli": R.bernoulli,
    "eq": C.eq,
    "ne": C.ne,
    "lt": C.lt,
    "le": C.le,
    "gt": C.gt,
    "ge": C.ge,
    "greater": C.gt,
    "greater_equal": C.ge,
    "less": C.lt,
    "less_equal": C.le,
    "not_equal": C.ne,
    "logical_and": C.logical_and,
    "logical_or": C.logical_or,
    "logical_xor": C.logical_xor,
    "bitwise_and": C.bitwise_and,
    "bitwise_or": C.bitwise_or,
    "bitwise_xor": C.bitwise_xor,
    "isin": C.isin,
    "eq_": _inplace_of(C.eq),
    "ne_": _inplace_of(C.ne),
    "new": _legacy_new_method,
    "register_post_accumulate_grad_hook": _post_accumulate_hook,
    "is_sparse": property(lambda s: False),
    "is_quantized": property(lambda s: False),
    "is_meta": property(lambda s: False),
    "is_mps": property(lambda s: False),
    "is_nested": property(lambda s: False),
    "layout": property(lambda s: __import__("ember.dtypes").dtypes.strided),
    "share_memory_": lambda s: s,
    "is_shared": lambda s: False,
    "is_inference": lambda s: False,
    "apply_": lambda s, fn: _apply_py(s, fn),
    "map_": lambda s, other, fn: _map_py(s, other, fn),
}

for _name in U.__all__:
    _fn = getattr(U, _name)
    _METHODS.setdefault(_name, _fn)
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
    ):
        _METHODS.setdefault(_name + "_", _inplace_of(_fn))

_METHODS["round"] = U.round


def attach(methods: dict) -> None:
    """Install functions as Tensor methods (modules that add ops call this for theirs)."""
    for k, v in methods.items():
        setattr(Tensor, k, v)


attach(_METHODS)


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
