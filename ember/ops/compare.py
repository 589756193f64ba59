"""Comparisons, logical and bitwise ops, where, clamp, maximum/minimum, lerp, allclose."""

from __future__ import annotations

import numpy as np

from .. import dtypes
from .._backend.casting import cast
from .._backend.cpu import extrema, select
from .._backend.xp import host_scalar_to, xp_of
from .._tensor_errors import broadcast_error, not_implemented_for
from ..autograd.node import Op
from ..dtypes import cpp_type_name, scalar_type_name
from ..tensor import Tensor, _wrap, result_type
from . import _bw
from ._fma import fma
from ._promotion import result_np_dtype, result_type_name
from .arith import _Binary, _binary, _cast, fma_operands, operand, with_fused_value
from .indexing import nonzero
from .inplace import check_cast, copy_into_out

__all__ = [
    "eq",
    "ne",
    "lt",
    "le",
    "gt",
    "ge",
    "greater",
    "greater_equal",
    "less",
    "less_equal",
    "not_equal",
    "logical_and",
    "logical_or",
    "logical_xor",
    "bitwise_and",
    "bitwise_or",
    "bitwise_xor",
    "bitwise_left_shift",
    "bitwise_right_shift",
    "where",
    "clamp",
    "clip",
    "clamp_min",
    "clamp_max",
    "maximum",
    "minimum",
    "fmax",
    "fmin",
    "lerp",
    "allclose",
    "isclose",
    "equal",
    "isin",
]


def _cmp(ufunc, name, tensors_only=False, ordered=False, kernel=None):
    kernel = kernel or name  # torch's kernel name in its dtype errors (less: lt_cpu)

    def fn(input, other, *, out=None):
        if not isinstance(input, Tensor) and not tensors_only:
            # torch's functional forms take a Tensor first (``1 < t`` reaches gt(t, 1))
            raise TypeError(
                f"{name}() received an invalid combination of arguments - got "
                f"({type(input).__name__}, {type(other).__name__}), but expected one of:\n"
                " * (Tensor input, Tensor other, *, Tensor out = None)\n"
                " * (Tensor input, Number other, *, Tensor out = None)\n"
            )
        if tensors_only and not isinstance(other, Tensor):
            raise TypeError(
                f"{name}(): argument 'other' (position 2) must be Tensor, not "
                f"{type(other).__name__}"
            )
        a = operand(input)
        b = operand(other)
        da = getattr(a, "dtype", None)
        db = getattr(b, "dtype", None)
        if type(b) is int and da is not None and da.kind in "iu":
            b = _cast(b, da)  # torch wraps an out-of-range int into the tensor's type
        elif type(a) is int and db is not None and db.kind in "iu":
            a = _cast(a, db)
        elif da is not None and db is not None and da != db:
            rt = result_np_dtype(
                input if isinstance(input, Tensor) else _wrap(a),
                other if isinstance(other, Tensor) else _wrap(b),
            )
            a, b = a.astype(rt), b.astype(rt)
        try:
            r = ufunc(a, b)
        except ValueError:
            raise broadcast_error(getattr(a, "shape", ()), getattr(b, "shape", ())) from None
        # complex numbers have no order in torch (NumPy's is lexicographic); a complex operand
        # makes the promoted type complex. Checked after the ufunc: a broadcast error comes first
        if ordered and (
            (da.kind == "c" if da is not None else type(a) is complex)
            or (db.kind == "c" if db is not None else type(b) is complex)
        ):
            raise not_implemented_for(f"{kernel}_cpu", result_type_name(input, other))
        r = _wrap(np.asarray(r) if not hasattr(r, "shape") or isinstance(r, np.generic) else r)
        if out is not None:
            return copy_into_out(out, r)
        return r

    fn.__name__ = name
    fn.__doc__ = f"Elementwise {name}, giving a bool tensor."
    return fn


eq = _cmp(np.equal, "eq")
ne = _cmp(np.not_equal, "ne")
not_equal = _cmp(np.not_equal, "not_equal", kernel="ne")
lt = _cmp(np.less, "lt", ordered=True)
less = _cmp(np.less, "less", ordered=True, kernel="lt")
le = _cmp(np.less_equal, "le", ordered=True)
less_equal = _cmp(np.less_equal, "less_equal", ordered=True, kernel="le")
gt = _cmp(np.greater, "gt", ordered=True)
greater = _cmp(np.greater, "greater", ordered=True, kernel="gt")
ge = _cmp(np.greater_equal, "ge", ordered=True)
greater_equal = _cmp(np.greater_equal, "greater_equal", ordered=True, kernel="ge")
logical_and = _cmp(np.logical_and, "logical_and", True)
logical_or = _cmp(np.logical_or, "logical_or", True)
logical_xor = _cmp(np.logical_xor, "logical_xor", True)


def _bitwise(ufunc, name):
    def fn(input, other, *, out=None):
        for x in (input, other):
            if isinstance(x, Tensor) and x._data.dtype.kind in "fcV" or isinstance(x, float):
                dn = scalar_type_name(x.dtype.name) if isinstance(x, Tensor) else "Float"
                raise NotImplementedError(f"\"{name}_cpu\" not implemented for '{dn}'")
        r = _binary(None, ufunc, input, other)
        if out is not None:
            return copy_into_out(out, r)
        return r

    fn.__name__ = name
    return fn


bitwise_and = _bitwise(np.bitwise_and, "bitwise_and")
bitwise_or = _bitwise(np.bitwise_or, "bitwise_or")
bitwise_xor = _bitwise(np.bitwise_xor, "bitwise_xor")
bitwise_left_shift = _bitwise(np.left_shift, "bitwise_left_shift")
bitwise_right_shift = _bitwise(np.right_shift, "bitwise_right_shift")


class Where(Op):
    higher_order = True

    @staticmethod
    def forward(ctx, cond, a, b, rt):
        ctx.cond = cond
        ctx.sa = getattr(a, "shape", ())
        ctx.sb = getattr(b, "shape", ())
        ctx.da = getattr(a, "dtype", None)
        ctx.db = getattr(b, "dtype", None)
        a = a.astype(rt, copy=False) if hasattr(a, "astype") else a
        b = b.astype(rt, copy=False) if hasattr(b, "astype") else b
        xp = xp_of(cond)
        if xp is not np:  # CPU 0-d values (masked_fill's fill) join a CUDA where, as torch
            a, b = host_scalar_to(xp, a), host_scalar_to(xp, b)
        return select.where(cond, a, b).astype(rt, copy=False)

    @staticmethod
    def backward(ctx, g):
        c = ctx.cond
        n = ctx._needs
        z = _bw.zeros_like(g)  # not g * 0: a NaN gradient must not reach the unselected side
        ga = _bw.grad_for(_bw.where(c, g, z), ctx.sa, ctx.da) if n[1] else None
        gb = _bw.grad_for(_bw.where(c, z, g), ctx.sb, ctx.db) if n[2] else None
        return None, ga, gb, None


def where(condition, input=None, other=None, *, out=None):
    """Elements of input where condition holds, else of other; ``where(c)`` is nonzero's
    tuple form."""
    if input is None and other is None:
        return nonzero(condition, as_tuple=True)
    c = operand(condition)
    if c.dtype != np.bool_:
        if c.dtype == np.uint8:
            c = c.astype(bool)
        else:
            raise RuntimeError(
                f"where expected condition to be a boolean tensor, but got a tensor with dtype "
                f"{condition.dtype.name.capitalize() if isinstance(condition, Tensor) else ''}"
            )
    ta = input if isinstance(input, Tensor) else input
    tb = other if isinstance(other, Tensor) else other
    rt = result_np_dtype(
        ta if not isinstance(ta, np.ndarray) else _wrap(ta),
        tb if not isinstance(tb, np.ndarray) else _wrap(tb),
    )
    try:
        r = Where.apply(c, input, other, rt)
    except ValueError:
        raise _where_error(
            c.shape, getattr(operand(input), "shape", ()), getattr(operand(other), "shape", ())
        ) from None
    if out is not None:
        return copy_into_out(out, r)
    return r


def _where_error(sc, sa, sb) -> Exception:
    try:
        s = np.broadcast_shapes(sc, sa)
    except ValueError:
        return broadcast_error(sc, sa)
    return broadcast_error(s, sb)


class Clamp(Op):
    save_in = (0,)
    higher_order = True
    _bname = "ClampBackward1"

    @staticmethod
    def forward(ctx, a, lo, hi):
        ctx.saved = (a,)
        ctx.lo, ctx.hi = lo, hi
        # NumPy's clip with two numbers is one SIMD pass (and keeps -0.0 at 0, as torch); one
        # bound alone is its slow scalar loop, hence extrema's rows
        if lo is not None and hi is not None:
            r = np.clip(a, lo, hi)
        elif lo is not None:
            r = extrema.with_number(np.maximum, a, lo)
        elif hi is not None:
            r = extrema.with_number(np.minimum, a, hi)
        else:
            r = a
        if r is a:
            r = a.copy()
        return cast(r, a.dtype, copy=False)

    @staticmethod
    def backward(ctx, g):
        (a,) = ctx.saved
        lo, hi = ctx.lo, ctx.hi
        m = None
        if lo is not None:
            m = a >= lo
        if hi is not None:
            m2 = a <= hi
            m = m2 if m is None else (m & m2 if not isinstance(m, Tensor) else m.logical_and(m2))
        if m is None:
            return g, None, None
        return _bw.grad_for(g * m, a.shape, None), None, None


def clamp(input: Tensor, min=None, max=None, *, out=None) -> Tensor:  # noqa: A002
    """Limit values to [min, max] (either bound may be a number, a tensor or None)."""
    if min is None and max is None:
        raise RuntimeError("torch.clamp: At least one of 'min' or 'max' must not be None")
    k = input._data.dtype.kind
    if k == "c":
        raise NotImplementedError(_CLAMP_COMPLEX)
    if type(min) is complex:
        min = _real_bound(input, min)
    if type(max) is complex:
        max = _real_bound(input, max)
    if isinstance(min, Tensor) or isinstance(max, Tensor):
        if (isinstance(min, Tensor) and min._data.dtype.kind == "c") or (
            isinstance(max, Tensor) and max._data.dtype.kind == "c"
        ):
            kernel = "minimum_cpu" if min is None else "maximum_cpu" if max is None else "clamp_cpu"
            raise _complex_bound_error(kernel, input, (min, max), out)
        r = input
        if min is not None:
            r = where(r < min, min, r)
        if max is not None:
            r = where(r > max, max, r)
        return _finish(r, out)
    if k == "b":
        if (min is None or type(min) is bool) and (max is None or type(max) is bool):
            kernel = "clamp_max" if min is None else "clamp_min" if max is None else "clamp"
            raise NotImplementedError(f"\"{kernel}_scalar_cpu\" not implemented for 'Bool'")
        input = input.long() if not (isinstance(min, float) or isinstance(max, float)) else input
    if input._data.dtype.kind in "biu" and (isinstance(min, float) or isinstance(max, float)):
        input = input.to(dtypes.get_default_dtype())
    return _finish(Clamp.apply(input, min, max), out)


clip = clamp

_CLAMP_COMPLEX = "clamp is not supported for complex types"


def _real_bound(input: Tensor, x: complex) -> float:
    """A complex number as clamp's bound: torch reads it as a double for a floating tensor
    (refusing a nonzero imaginary part); for an integer or bool tensor it makes the result
    complex, which clamp refuses."""
    if not input.dtype.is_floating_point:
        raise NotImplementedError(_CLAMP_COMPLEX)
    if x.imag:
        raise RuntimeError("value cannot be converted to type double without overflow")
    return x.real


def _complex_bound_error(kernel: str, input: Tensor, bounds, out=None) -> Exception:
    """torch's error for clamp with a complex tensor among its operands: a broadcast error
    first, then an ``out=`` that cannot hold the complex result, then the kernel's refusal."""
    shape = input._data.shape
    for b in bounds:
        if isinstance(b, Tensor):
            try:
                shape = np.broadcast_shapes(shape, b._data.shape)
            except ValueError:
                return broadcast_error(shape, b._data.shape)
    operands = (input, *(b for b in bounds if b is not None))
    if out is not None:
        check_cast(result_type(*operands).np, out._data.dtype)
    return not_implemented_for(kernel, result_type_name(*operands))


def clamp_min(input: Tensor, min) -> Tensor:  # noqa: A002
    # torch's clamp_min promotes a complex number with the tensor (even one with no imaginary
    # part), where clamp reads it as a double
    if type(min) is complex:
        raise NotImplementedError(_CLAMP_COMPLEX)
    if isinstance(min, Tensor) and (input._data.dtype.kind == "c" or min._data.dtype.kind == "c"):
        raise _complex_bound_error("maximum_cpu", input, (min,))
    return clamp(input, min=min)


def clamp_max(input: Tensor, max) -> Tensor:  # noqa: A002
    if type(max) is complex:
        raise NotImplementedError(_CLAMP_COMPLEX)
    if isinstance(max, Tensor) and (input._data.dtype.kind == "c" or max._data.dtype.kind == "c"):
        raise _complex_bound_error("minimum_cpu", input, (max,))
    return clamp(input, max=max)


def check_clamp_inplace(self: Tensor, bounds, numbers: bool) -> None:
    """Called when clamp refuses complex operands for ``self.clamp_(...)`` (and clamp_min_,
    clamp_max_): torch first refuses, as a cast error, a complex result that a real ``self``
    cannot hold (from a complex tensor bound, or for clamp_ a complex number with an integer
    or bool ``self``)."""
    if self._data.dtype.kind == "c":
        return
    ts = [b for b in bounds if isinstance(b, Tensor)]
    if any(t._data.dtype.kind == "c" for t in ts):
        check_cast(result_type(self, *ts).np, self._data.dtype)
    elif numbers and any(type(b) is complex for b in bounds):
        # torch names the destination by its C++ type on this path ('long int')
        raise RuntimeError(
            f"result type {result_type_name(self, 1j)} can't be cast to the desired output "
            f"type {cpp_type_name(self._data.dtype.name)}"
        )


def _finish(r, out):
    if out is not None:
        return copy_into_out(out, r)
    return r


class _MaxMin(_Binary):
    save_in = (0, 1)
    ufunc = None

    @classmethod
    def forward(cls, ctx, a, b, rt):
        a2, b2 = cls.setup(ctx, a, b, rt)
        r = cls.ufunc(a2, b2)
        ctx.saved = (a2, b2)
        return r

    @classmethod
    def backward(cls, ctx, g):
        a, b = ctx.saved
        # ties split the gradient evenly, and only the side that lost gets none, as torch's:
        # where either is NaN (the result), both take the whole gradient
        a_lost, b_lost = (a < b, b < a) if cls.ufunc is np.maximum else (a > b, b > a)
        tie = a == b
        z = g * 0
        half = g * 0.5
        n = ctx._needs
        ga = _bw.where(a_lost, z, _bw.where(tie, half, g)) if n[0] else None
        gb = _bw.where(b_lost, z, _bw.where(tie, half, g)) if n[1] else None
        return cls.out(ctx, ga, gb)


class Maximum(_MaxMin):
    ufunc = np.maximum


class Minimum(_MaxMin):
    ufunc = np.minimum


def _need_tensors(name, input, other, second: str = "other") -> None:
    for pos, (arg, x) in enumerate((("input", input), (second, other)), 1):
        if not isinstance(x, Tensor):
            raise TypeError(
                f"{name}(): argument '{arg}' (position {pos}) must be Tensor, not "
                f"{type(x).__name__}"
            )


def maximum(input: Tensor, other: Tensor, *, out=None) -> Tensor:
    """Elementwise maximum (NaN propagates); ties split the gradient, as torch."""
    _need_tensors("maximum", input, other)
    if input._data.dtype.kind == "c" or other._data.dtype.kind == "c":
        raise RuntimeError("maximum not implemented for complex tensors.")
    return _finish(_binary(Maximum, np.maximum, input, other), out)


def minimum(input: Tensor, other: Tensor, *, out=None) -> Tensor:
    """Elementwise minimum (NaN propagates); ties split the gradient, as torch."""
    _need_tensors("minimum", input, other)
    if input._data.dtype.kind == "c" or other._data.dtype.kind == "c":
        raise RuntimeError("minimum not implemented for complex tensors.")
    return _finish(_binary(Minimum, np.minimum, input, other), out)


class _FMaxMin(_Binary):
    """fmax/fmin: like maximum/minimum but a NaN loses; a tie's gradient goes to input."""

    save_in = (0, 1)
    ufunc = None

    @classmethod
    def forward(cls, ctx, a, b, rt):
        a2, b2 = cls.setup(ctx, a, b, rt)
        ctx.saved = (a2, b2)
        return cls.ufunc(a2, b2)

    @classmethod
    def backward(cls, ctx, g):
        a, b = ctx.saved
        xp = xp_of(a)
        pick_a = ((a >= b) if cls.ufunc is np.fmax else (a <= b)) | xp.isnan(b)
        n = ctx._needs
        return cls.out(ctx, g * pick_a if n[0] else None, g * ~pick_a if n[1] else None)


class FMax(_FMaxMin):
    ufunc = np.fmax


class FMin(_FMaxMin):
    ufunc = np.fmin


def fmax(input: Tensor, other: Tensor, *, out=None) -> Tensor:
    """Elementwise maximum where a NaN is ignored (the other value wins)."""
    _need_tensors("fmax", input, other)
    if input._data.dtype.kind == "c" or other._data.dtype.kind == "c":
        raise RuntimeError("fmax not implemented for complex tensors.")
    return _finish(_binary(FMax, np.fmax, input, other), out)


def fmin(input: Tensor, other: Tensor, *, out=None) -> Tensor:
    """Elementwise minimum where a NaN is ignored (the other value wins)."""
    _need_tensors("fmin", input, other)
    if input._data.dtype.kind == "c" or other._data.dtype.kind == "c":
        raise RuntimeError("fmin not implemented for complex tensors.")
    return _finish(_binary(FMin, np.fmin, input, other), out)


def _fused_lerp(input, end, weight):
    """torch's lerp kernel on CPU float tensors of one dtype: input + w * (end - input) where
    |w| < 0.5, else end - (end - input) * (1 - w), each with one rounding after the difference
    (an FMA); None where that does not apply."""
    ws = isinstance(weight, Tensor)
    if not ws and type(weight) not in (int, float):
        return None
    arrays = fma_operands(input, end, weight) if ws else fma_operands(input, end)
    if arrays is None:
        return None
    a, b = arrays[:2]
    dt = a.dtype
    d = b - a
    w = arrays[2] if ws else dt.type(weight)  # a number in the tensors' type, as torch
    one = dt.type(1)
    if not ws:
        return fma(w, d, a, dt) if abs(w) < 0.5 else fma(-(one - w), d, b, dt)
    return np.where(np.abs(w) < 0.5, fma(w, d, a, dt), fma(-(one - w), d, b, dt))


def lerp(input: Tensor, end: Tensor, weight, *, out=None) -> Tensor:
    """input + weight * (end - input), rounded as torch's kernel on CPU float tensors (also in
    a recorded graph, whose gradients are torch's for a number weight)."""

    def composite():
        if isinstance(weight, Tensor):
            return input + weight * (end - input)
        return input * (1 - weight) + end * weight  # torch's grad * (1 - w) and grad * w

    fused = _fused_lerp(input, end, weight)
    return _finish(with_fused_value(fused, (input, end, weight), composite), out)


def _same_dtype(name: str, input: Tensor, other: Tensor) -> None:
    """torch's isclose/allclose take two tensors of one dtype (no promotion)."""
    _need_tensors(name, input, other)
    if input._data.dtype != other._data.dtype:
        raise RuntimeError(
            f"{scalar_type_name(input.dtype.name)} did not match "
            f"{scalar_type_name(other.dtype.name)}"
        )


def isclose(
    input: Tensor, other: Tensor, rtol: float = 1e-05, atol: float = 1e-08, equal_nan: bool = False
) -> Tensor:
    """|input - other| <= atol + rtol * |other| elementwise (NaNs equal with ``equal_nan``)."""
    _same_dtype("isclose", input, other)
    r = np.isclose(input._data, operand(other), rtol=rtol, atol=atol, equal_nan=equal_nan)
    return _wrap(r if hasattr(r, "shape") else np.asarray(r))


def allclose(
    input: Tensor, other: Tensor, rtol: float = 1e-05, atol: float = 1e-08, equal_nan: bool = False
) -> bool:
    """Whether isclose holds everywhere."""
    _same_dtype("allclose", input, other)
    return bool(np.allclose(input._data, operand(other), rtol=rtol, atol=atol, equal_nan=equal_nan))


def equal(input: Tensor, other: Tensor) -> bool:
    """True when both have the same shape and elements."""
    _need_tensors("equal", input, other)
    return input._data.shape == other._data.shape and bool((input._data == other._data).all())


def isin(elements, test_elements, *, assume_unique: bool = False, invert: bool = False):
    e, t = operand(elements), operand(test_elements)
    for x in (e, t):
        if x.dtype.kind == "c" if hasattr(x, "dtype") else type(x) is complex:
            # torch names the first complex operand's type; a number counts as ComplexDouble
            n = scalar_type_name(x.dtype.name) if hasattr(x, "dtype") else "ComplexDouble"
            raise RuntimeError(f"Unsupported input type encountered for isin(): {n}")
    r = np.isin(e, t, invert=invert)
    return _wrap(r if hasattr(r, "shape") else np.asarray(r))
