"""Tensor's operators and in-place arithmetic (installed from the table in _tensor_methods.py):
the dunders take a fast path for plain same-dtype arrays outside autograd, the hot path of
every model, and fall back to the ops otherwise."""

from __future__ import annotations

import numbers

import numpy as np

from . import dtypes
from ._autocast_state import state as _acs
from ._backend.xp import CPU_ARRAY
from ._grad_state import state as _gs
from ._tensor_errors import broadcast_error, not_implemented_for
from .autograd.node import _apply_recording
from .ops import arith, compare, inplace, linalg, unary
from .tensor import Tensor, _wrap

_new = object.__new__
_FLOAT8 = dtypes.FLOAT8_NP

# what a binary operator takes as its other operand, as torch's do; for anything else it returns
# NotImplemented, so Python tries the other operand's reflected method (an fx Proxy's __radd__,
# a user type's __rmul__) and otherwise raises its own "unsupported operand type(s)" TypeError,
# torch's message (lists and tuples are refused too, as torch refuses them)
_OPERANDS = (Tensor, float, int, numbers.Number, np.ndarray, np.generic)  # the common first


def operand_ok(other) -> bool:
    """Whether a Tensor operator computes with ``other`` (else it returns NotImplemented)."""
    return isinstance(other, _OPERANDS)


def deferring(fn, reflected: bool = False):
    """``fn(self, other)`` (``fn(other, self)`` if ``reflected``) as an operator method that
    returns NotImplemented for an operand torch's operators do not take."""
    if reflected:

        def method(self, other):
            if not isinstance(other, _OPERANDS):
                return NotImplemented
            return fn(other, self)
    else:

        def method(self, other):
            if not isinstance(other, _OPERANDS):
                return NotImplemented
            return fn(self, other)

    method.__name__ = getattr(fn, "__name__", "method")
    return method


def _scalar_op(self, other, ufunc):
    """``ufunc(self, other)`` for a Python int or float ``other`` where NumPy gives torch's
    dtype and values (a CPU float tensor, or an int64 tensor with an int that fits), outside
    autograd; None otherwise. Measured: ``i + 64`` on a 0-d int64 tensor, 7.6 us -> 1.5 us."""
    if self._rg:
        return None
    a = self._data
    if type(a) is not CPU_ARRAY:
        return None
    k = a.dtype.kind
    to = type(other)
    if not (
        # float32/float64: float16 computes in float32 with the number unrounded (arith._cast)
        (k == "f" and a.dtype.itemsize >= 4 and (to is float or to is int))
        or (to is int and k == "i" and a.dtype.itemsize == 8 and -_I64 <= other < _I64)
    ):
        return None
    r = ufunc(a, other)
    if type(r) is not CPU_ARRAY:  # a 0-d operand gives a NumPy scalar
        r = np.asarray(r)
    t = _new(Tensor)
    t._data = r
    t._rg = False
    t.grad_fn = None
    return t


_I64 = 2**63


def _add(self, other):
    # the hot path of every model: same-dtype arrays, no graph
    if type(other) is int or type(other) is float:
        r = _scalar_op(self, other, np.add)
        if r is not None:
            return r
    if type(other) is Tensor and not (self._rg or other._rg):
        a, b = self._data, other._data
        d = a.dtype
        # float8 raises torch's error from the op: one set lookup, the cheapest test measured
        if d is b.dtype and type(a) is CPU_ARRAY and type(b) is CPU_ARRAY and d not in _FLOAT8:
            try:
                r = a + b
            except ValueError:
                raise broadcast_error(a.shape, b.shape) from None
            if type(r) is not CPU_ARRAY:
                r = np.asarray(r)
            t = _new(Tensor)
            t._data = r
            t._rg = False
            t.grad_fn = None
            return t
    if not isinstance(other, _OPERANDS):
        return NotImplemented
    return arith._binary(arith.Add, np.add, self, other)


def _mul(self, other):
    if type(other) is int or type(other) is float:
        r = _scalar_op(self, other, np.multiply)
        if r is not None:
            return r
    if type(other) is Tensor and not (self._rg or other._rg):
        a, b = self._data, other._data
        if (
            a.dtype is b.dtype
            and type(a) is CPU_ARRAY
            and type(b) is CPU_ARRAY
            and a.dtype.kind != "b"
        ):
            try:
                return _wrap(a * b)
            except ValueError:
                raise broadcast_error(a.shape, b.shape) from None
    if not isinstance(other, _OPERANDS):
        return NotImplemented
    return arith._binary(arith.Mul, np.multiply, self, other)


def _sub(self, other):
    if type(other) is int or type(other) is float:
        r = _scalar_op(self, other, np.subtract)
        if r is not None:
            return r
    if type(other) is Tensor and not (self._rg or other._rg):
        a, b = self._data, other._data
        if (
            a.dtype is b.dtype
            and type(a) is CPU_ARRAY
            and type(b) is CPU_ARRAY
            and a.dtype.kind != "b"
            and a.dtype not in _FLOAT8  # bool and float8 raise torch's errors from the op
        ):
            try:
                return _wrap(a - b)
            except ValueError:
                raise broadcast_error(a.shape, b.shape) from None
    if not isinstance(other, _OPERANDS):
        return NotImplemented
    return arith.sub(self, other)


def _div(self, other):
    if not isinstance(other, _OPERANDS):
        return NotImplemented
    return arith._binary(arith.Div, np.true_divide, self, other, true_div=True)


def _rdiv(self, other):
    if not isinstance(other, _OPERANDS):
        return NotImplemented
    if type(other) in (int, float) and self.dtype.is_floating_point:
        # torch's number / tensor is reciprocal(tensor) * number (its bits and gradients)
        return unary.reciprocal(self) * other
    return arith._binary(arith.Div, np.true_divide, other, self, true_div=True)


def _rpow(self, other):
    if not isinstance(other, _OPERANDS):
        return NotImplemented
    return arith._binary(arith.Pow, arith.int_pow, other, self)


def _matmul(self, other):
    # fast path: two same-dtype CPU matrices (linalg.matmul has every other case and error)
    if isinstance(other, Tensor):
        a, b = self._data, other._data
        if (
            type(a) is CPU_ARRAY
            and type(b) is CPU_ARRAY
            and a.ndim == 2
            and b.ndim == 2
            and a.shape[1] == b.shape[0]
            and a.dtype is b.dtype
            and a.dtype.kind in "fc"
            and not _acs.active  # autocast casts in linalg.matmul
        ):
            if _gs.enabled and (self._rg or other._rg):
                return _apply_recording(linalg.MatMul, (self, other))
            return _wrap(a @ b)
    elif type(other) is CPU_ARRAY and type(self._data) is CPU_ARRAY:
        # torch's @ takes tensors only and leaves a NumPy array to NumPy, whose product (in
        # NumPy's dtype, outside autograd) comes back as a tensor
        return _wrap(np.asarray(self._data @ other))
    else:
        return NotImplemented
    return linalg.matmul(self, other)


def _rmatmul(self, other):
    if isinstance(other, Tensor):  # a direct call keeps the other operand in the graph
        return linalg.matmul(other, self)
    return NotImplemented


def _neg(self):
    if self._data.dtype == np.bool_:
        raise RuntimeError(
            "Negation, the `-` operator, on a bool tensor is not supported. If "
            "you are trying to invert a mask, use the `~` or `logical_not()` "
            "operator instead."
        )
    if self._data.dtype in _FLOAT8:
        raise not_implemented_for("neg_cpu", self._data.dtype)
    return unary.neg(self)


_CMP_OK = (Tensor, int, float, bool, complex, np.ndarray, np.generic, list, tuple)


def _eq(self, other):
    if not isinstance(other, _CMP_OK):
        return NotImplemented  # t == None is False, as torch
    return compare.eq(self, other)


def _ne(self, other):
    if not isinstance(other, _CMP_OK):
        return NotImplemented
    return compare.ne(self, other)


def _contains(self, element):
    if isinstance(element, (Tensor, int, float, bool, complex)):
        return bool((self == element)._data.any())
    raise RuntimeError(
        f"Tensor.__contains__ only supports Tensor or scalar, but you passed in a {type(element)}."
    )


def _invert(self):
    if self._data.dtype == np.bool_:
        return unary.logical_not(self)
    return unary.bitwise_not(self)


def _iop(fn, ufunc):
    def method(self, other):
        return inplace.ufunc_inplace(self, ufunc, other, fn)

    return method


def _add_(self, other, *, alpha=1):
    if alpha != 1:
        if arith.fma_operands(self, other) is not None:
            # float tensors round once, as torch's FMA (a hand-written SGD step's p.add_(g,
            # alpha=-lr))
            return inplace.inplace(self, lambda s: arith.add(s, other, alpha=alpha), other)
        other = other * alpha
    return inplace.ufunc_inplace(self, np.add, other, arith.add)


def _sub_(self, other, *, alpha=1):
    if arith._is_bool(self) or arith._is_bool(other):
        arith.sub(self, other)  # raises torch's error about bool subtraction
    if alpha != 1:
        if arith.fma_operands(self, other) is not None:  # as add_
            return inplace.inplace(self, lambda s: arith.sub(s, other, alpha=alpha), other)
        other = other * alpha
    return inplace.ufunc_inplace(self, np.subtract, other, arith.sub)


def _div_(self, other, *, rounding_mode=None):
    if rounding_mode is not None or self._data.dtype.kind in "biu":
        return inplace.inplace(
            self, lambda s: arith.div(s, other, rounding_mode=rounding_mode), other
        )
    return inplace.ufunc_inplace(self, np.true_divide, other, arith.div)
