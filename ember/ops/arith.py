"""Binary arithmetic (+ - * / ** // %) with torch's type promotion, and its gradients."""

from __future__ import annotations

import math

import numpy as np

from .. import dtypes
from .._backend.xp import CPU_ARRAY, xp_of
from .._grad_state import state as _gs
from .._tensor_errors import broadcast_error, device_error, not_implemented_for
from ..autograd.node import Op, record2
from ..device import device_of
from ..tensor import Tensor, _wrap
from . import _bw
from ._blas_sum import HALF
from ._fma import fma
from ._promotion import result_np_dtype
from .inplace import copy_into_out
from .unary import trunc

__all__ = [
    "add",
    "sub",
    "subtract",
    "rsub",
    "mul",
    "multiply",
    "div",
    "divide",
    "true_divide",
    "pow",
    "remainder",
    "fmod",
    "floor_divide",
]

_SCALARS = (int, float, bool, complex)


def operand(x):
    """(array-or-scalar, dtype-or-None, is_scalar) of an operand; Tensors, scalars, arrays."""
    if isinstance(x, Tensor):
        return x._data
    if type(x) in _SCALARS:
        return x
    if isinstance(x, np.generic):
        return x.item()
    if isinstance(x, (np.ndarray, list, tuple)):
        return np.asarray(x)
    raise TypeError(f"unsupported operand type: '{type(x).__name__}'")


def _shape(x):
    return x.shape if hasattr(x, "shape") else ()


def _dtype(x):
    return x.dtype if hasattr(x, "dtype") else None


_IRANGE = {
    np.dtype(t): (np.iinfo(t).min, np.iinfo(t).max)
    for t in (np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint16, np.uint32, np.uint64)
}


def _cast(x, rt, opmath: bool = False):
    if hasattr(x, "dtype"):
        return x if x.dtype == rt else x.astype(rt)
    if opmath and rt in HALF and type(x) in (float, int, bool):
        # torch's products and quotients of a half tensor and a Python number run in float
        # (its opmath) with the number never rounded to the half type (its sums, remainders
        # and powers take the rounded number): in float32 here, and ``_half`` rounds once
        with np.errstate(over="ignore"):
            return np.float32(x)
    if rt.kind == "V":  # bfloat16 would take a Python scalar to float32: give it the dtype
        return np.asarray(x, rt)
    if type(x) is int and rt.kind in "iu":
        lo, hi = _IRANGE[rt]
        if not lo <= x <= hi:  # torch wraps an out-of-range int into the tensor's type
            return np.asarray(x & ((1 << (8 * rt.itemsize)) - 1)).astype(np.uint64).astype(rt)
    return x


def _half(r, rt):
    """A result computed in float32 for a half type (see ``_cast``), rounded to it once."""
    return r.astype(rt) if r.dtype != rt and rt in HALF else r


class _Binary(Op):
    higher_order = True
    _nin = 2  # torch lists both operands in next_functions, a Python scalar as None
    opmath_scalar = False  # a Python number with a half tensor stays unrounded (see _cast)

    @classmethod
    def setup(cls, ctx, a, b, rt):
        d = ctx.__dict__
        if type(a) is CPU_ARRAY:
            d["sa"] = a.shape
            d["da"] = da = a.dtype
            if da != rt:
                a = a.astype(rt)
                d["_cast_of"] = {id(a): 0}  # create_graph=True maps it to the input cast
        else:
            d["sa"] = _shape(a)
            d["da"] = _dtype(a)
            a = _cast(a, rt, cls.opmath_scalar)
        if type(b) is CPU_ARRAY:
            d["sb"] = b.shape
            d["db"] = db = b.dtype
            if db != rt:
                b = b.astype(rt)
                d.setdefault("_cast_of", {})[id(b)] = 1
        else:
            d["sb"] = _shape(b)
            d["db"] = _dtype(b)
            b = _cast(b, rt, cls.opmath_scalar)
        return a, b

    @staticmethod
    def out(ctx, ga, gb):
        return (
            None if ga is None else _bw.grad_for(ga, ctx.sa, ctx.da),
            None if gb is None else _bw.grad_for(gb, ctx.sb, ctx.db),
            None,
        )


class Add(_Binary):
    @staticmethod
    def forward(ctx, a, b, rt):
        a, b = Add.setup(ctx, a, b, rt)
        return _half(a + b, rt)

    @staticmethod
    def backward(ctx, g):
        n = ctx._needs
        return Add.out(ctx, g if n[0] else None, g if n[1] else None)


class Sub(_Binary):
    @staticmethod
    def forward(ctx, a, b, rt):
        a, b = Sub.setup(ctx, a, b, rt)
        return _half(a - b, rt)

    @staticmethod
    def backward(ctx, g):
        n = ctx._needs
        return Sub.out(ctx, g if n[0] else None, -g if n[1] else None)


def _complex_operand(x) -> bool:
    """Whether a number, an array or a Tensor (create_graph=True; its dtype has no ``kind``) is
    complex."""
    if isinstance(x, Tensor):
        return x.is_complex()
    return type(x) is complex or getattr(getattr(x, "dtype", None), "kind", "") == "c"


def _conj(x):
    """The conjugate of a complex operand (torch's gradients of a*b and a/b use conj(b))."""
    if not _complex_operand(x):
        return x
    return x.conj() if isinstance(x, Tensor) else x.conjugate()


class Mul(_Binary):
    save_in = (0, 1)
    cross_save = (0, 1)  # a * 2.0 then a.add_(1) is fine: a's gradient reads only the 2.0
    opmath_scalar = True

    @staticmethod
    def forward(ctx, a, b, rt):
        a2, b2 = Mul.setup(ctx, a, b, rt)
        ctx.saved = (a, b)
        ctx.cplx = rt.kind == "c"  # the backward conjugates
        return _half(a2 * b2, rt)

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved
        n = ctx._needs
        if ctx.cplx:
            a, b = _conj(a), _conj(b)
        return Mul.out(ctx, g * b if n[0] else None, g * a if n[1] else None)


class Div(_Binary):
    save_in = (0, 1)
    cross_save = (0,)  # a is read only for b's gradient
    opmath_scalar = True

    @staticmethod
    def forward(ctx, a, b, rt):
        a2, b2 = Div.setup(ctx, a, b, rt)
        ctx.saved = (a, b)
        ctx.cplx = rt.kind == "c"  # the backward conjugates
        return _half(a2 / b2, rt)

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved
        n = ctx._needs
        if ctx.cplx:
            a, b = _conj(a), _conj(b)
        gb = None
        if n[1]:
            gb = -g * ((a / b) / b)  # torch's order (-g * a / (b * b) differed for half the values)
        return Div.out(ctx, g / b if n[0] else None, gb)


# torch computes a floating tensor to these Python-scalar powers with products and quotients
# (its scalar-exponent kernel), not with pow: the same operations give its bits (NumPy's pow
# differs in the last bit for a third of float32 values at 3, -2 and -0.5), and a square is one
# multiply (np.power(x, 2) on 1M float32: 0.53 ms, x * x: 0.1 ms; x ** 1 is a copy, as the
# gradient of a square asks for it)
_SCALAR_POWERS = {
    0: lambda x: xp_of(x).ones_like(x),
    1: lambda x: x.copy(),
    2: lambda x: x * x,
    3: lambda x: x * x * x,
    -1: lambda x: 1 / x,
    -2: lambda x: 1 / (x * x),
    -0.5: lambda x: 1 / xp_of(x).sqrt(x),
    # torch's square root (NumPy's power gives sqrt's values for x >= 0, 4x slower: 1M float32
    # 1.28 -> 0.33 ms; at -0.0 and -inf sqrt gives torch's -0.0 and NaN, power +0.0 and inf)
    0.5: lambda x: xp_of(x).sqrt(x),
}
# the float dtypes ember computes torch's elementwise roundings for (the special-cased powers
# here, the FMA-rounded ops below)
_FLOAT_TYPES = (np.dtype(np.float32), np.dtype(np.float64))


def int_pow(a, b):
    """a ** b with torch's answers: a floating array to a special-cased scalar power through the
    products torch uses, integers to a negative exponent 0 unless |a| == 1."""
    if type(b) in (int, float) and getattr(a, "dtype", None) in _FLOAT_TYPES:
        f = _SCALAR_POWERS.get(b)
        if f is not None:
            return f(a)
    try:
        return np.power(a, b)
    except ValueError:  # NumPy refuses negative integer powers
        xp = xp_of(a) if hasattr(a, "shape") else xp_of(b)
        b = xp.asarray(b)
        neg = b < 0
        r = xp.power(a, xp.where(neg, 0, b))
        av = xp.asarray(a)
        one = xp.where(av == -1, xp.where(b % 2 == 0, 1, -1), av == 1)
        return xp.where(neg, one, r).astype(r.dtype)


class Pow(_Binary):
    save_in = (0, 1)
    _nin = None  # pow(tensor, scalar) lists only the tensor, as torch

    @staticmethod
    def forward(ctx, a, b, rt):
        a2, b2 = Pow.setup(ctx, a, b, rt)
        r = int_pow(a2, b2)
        ctx.saved = (a, b)
        ctx.cplx = rt.kind == "c"  # the backward conjugates
        return r

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved
        n = ctx._needs
        ga = gb = None
        if n[0]:
            ca, cb = (_conj(a), _conj(b)) if ctx.cplx else (a, b)  # conj(b a^(b-1))
            if isinstance(b, (int, float)) and not isinstance(b, bool):
                # torch's order, grad * (b * a ** (b - 1)), and its products for the power
                # (a Tensor's ** records the graph and takes them too)
                if isinstance(ca, Tensor):
                    ga = g * (cb * ca ** (cb - 1)) if b != 0 else g * 0
                elif b == 0:
                    ga = g * 0
                else:
                    # a square's a ** 1 is a itself (int_pow copies it); the product's own
                    # array then takes g (1M float32: x ** 2 forward and backward 0.38 ms, its
                    # backward alone 0.75 ms before)
                    t = cb * (ca if cb == 2 else int_pow(ca, cb - 1))
                    if (
                        type(t) is type(g)
                        and getattr(t, "shape", None) == getattr(g, "shape", 0)
                        and t.dtype == g.dtype
                    ):
                        t *= g
                        ga = t
                    else:
                        ga = g * t
            else:
                ga = _bw.where(b == 0, 0.0 * g, g * cb * ca ** (cb - 1))
        if n[1]:
            if type(a) is CPU_ARRAY and a.ndim == 0 and type(b) is not CPU_ARRAY:
                a = a.item()  # a host 0-d base joins a GPU exponent as a number
            gb = _pow_exponent_grad(g, a, b, ctx.cplx)
        return Pow.out(ctx, ga, gb)


def _pow_exponent_grad(g, a, b, cplx: bool):
    """The exponent's gradient of a ** b, torch's pow_backward_exponent: g * conj(a^b log a),
    0 where a is 0 and b is real and not negative (so NaN for a negative real base, -inf for
    0 to a negative power); arrays, numbers or Tensors (create_graph=True)."""
    with np.errstate(all="ignore"):  # log of a negative base is NaN, of 0 -inf: torch's values
        if isinstance(a, (int, float, complex)):
            if a == 0:
                lg = -math.inf
            elif isinstance(a, complex) or a > 0:
                lg = np.log(complex(a)) if isinstance(a, complex) else math.log(a)
            else:
                lg = math.nan
        else:
            lg = _bw.log(a)
        t = a**b * lg
        if cplx:
            t = _conj(t)
        b_ok = (b.imag == 0) & (b.real >= 0) if _complex_operand(b) else b >= 0
        return g * _bw.where((a == 0) & b_ok, _bw.zeros_like(t), t)


class Remainder(_Binary):
    save_in = (0, 1)
    grad_reads_input = (1,)  # torch's gradient of the divisor reads the dividend

    @staticmethod
    def forward(ctx, a, b, rt):
        a2, b2 = Remainder.setup(ctx, a, b, rt)
        ctx.saved = (a2, b2)
        return np.remainder(a2, b2)

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved
        n = ctx._needs
        # torch's a.div(b, rounding_mode="floor"): Python's floor division (1 // -inf is -1)
        with np.errstate(divide="ignore", invalid="ignore"):
            gb = -g * (a // b) if n[1] else None
        return Remainder.out(ctx, g if n[0] else None, gb)


class Fmod(_Binary):
    save_in = (0, 1)
    grad_reads_input = (1,)  # torch's gradient of the divisor reads the dividend

    @staticmethod
    def forward(ctx, a, b, rt):
        a2, b2 = Fmod.setup(ctx, a, b, rt)
        ctx.saved = (a2, b2)
        return np.fmod(a2, b2)

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved
        n = ctx._needs
        gb = -g * np.trunc(a / b) if n[1] else None
        return Fmod.out(ctx, g if n[0] else None, gb)


class FloorDiv(_Binary):
    opmath_scalar = True

    @staticmethod
    def forward(ctx, a, b, rt):
        a2, b2 = FloorDiv.setup(ctx, a, b, rt)
        return _half(np.floor_divide(a2, b2), rt)

    @staticmethod
    def backward(ctx, g):
        raise RuntimeError("derivative for aten::floor_divide is not implemented")

    def name(self) -> str:
        return "NotImplemented"


class DivFloor(FloorDiv):
    """div(rounding_mode='floor'): floor division whose gradient is zero (torch's DivBackward2),
    where floor_divide itself has none."""

    @staticmethod
    def backward(ctx, g):
        n = ctx._needs
        z = g * 0
        return DivFloor.out(ctx, z if n[0] else None, z if n[1] else None)

    def name(self) -> str:
        return "DivBackward2"


_OPS = {
    "add": (Add, np.add),
    "sub": (Sub, np.subtract),
    "mul": (Mul, np.multiply),
    "div": (Div, np.true_divide),
    "pow": (Pow, int_pow),
    "remainder": (Remainder, np.remainder),
    "floor_divide": (FloorDiv, np.floor_divide),
}


# torch's kernels that have no float8 loop: adding, subtracting, dividing, and multiplying by a
# number (a float8 tensor times a float8 tensor works)
_FLOAT8_KERNELS = {"Add": "add_stub", "Sub": "add_stub", "Div": "div_cpu"}


def _float8_check(op, rt, other_is_tensor: bool) -> None:
    """Raise torch's NotImplementedError for a float8 op torch cannot compute."""
    kernel = _FLOAT8_KERNELS.get(op.__name__)
    if kernel is None and op.__name__ == "Mul" and not other_is_tensor:
        kernel = "mul_cpu_reduced_float"
    if kernel is not None:
        raise not_implemented_for(kernel, rt)


def _binary(op, ufunc, a, b, true_div=False):
    """Apply a binary op with torch's promotion; ``a`` or ``b`` may be a scalar."""
    ta = isinstance(a, Tensor)
    tb = isinstance(b, Tensor)
    ad = a._data if ta else operand(a)
    bd = b._data if tb else operand(b)
    if type(ad) is CPU_ARRAY and type(bd) is CPU_ARRAY and ad.dtype is bd.dtype and not true_div:
        rt = ad.dtype
    else:
        if not ta and type(ad) is CPU_ARRAY:
            a = _wrap(ad)
        if not tb and type(bd) is CPU_ARRAY:
            b = _wrap(bd)
        rt = result_np_dtype(a, b)
        if true_div and rt.kind in "biu":
            rt = dtypes._default.np
    if rt.kind in "biu" and op in _INT_CHECKED:
        _int_checks(op, rt, bd, b)
    elif rt.itemsize == 1 and rt in dtypes.FLOAT8_NP:
        _float8_check(op, rt, tb)
    elif rt.kind == "c" and op in _NO_COMPLEX:
        raise not_implemented_for(_NO_COMPLEX[op], rt)  # no complex remainder or floor division
    if _gs.enabled and ((ta and a._rg) or (tb and b._rg)):
        if rt.kind not in "fc" and rt != dtypes.bfloat16._np:
            raise RuntimeError(f"{op.__name__}: only floating point results are differentiable")
        try:
            return record2(op, a, b, rt)
        except ValueError:
            raise broadcast_error(_shape(ad), _shape(bd)) from None
        except TypeError:
            a2, b2 = _scalar_join(a, b, ad, bd)
            if a2 is None:
                raise device_error(ad, bd) from None
            return _binary(op, ufunc, a2, b2, true_div)
    try:
        om = getattr(op, "opmath_scalar", False)  # None for the ops without a gradient
        r = _half(ufunc(_cast(ad, rt, om), _cast(bd, rt, om)), rt)
    except ValueError:
        raise broadcast_error(_shape(ad), _shape(bd)) from None
    except TypeError:
        a2, b2 = _scalar_join(a, b, ad, bd)
        if a2 is None:
            raise device_error(ad, bd) from None
        return _binary(op, ufunc, a2, b2, true_div)
    if type(r) is not CPU_ARRAY:
        r = _coerce_result(r, rt)
    return _wrap(r)


def _scalar_join(a, b, ad, bd):
    """A CPU 0-d operand moved to the other operand's device (torch lets CPU scalars join CUDA
    ops); (None, None) when neither is such a scalar (a real device mix)."""
    if type(ad) is type(bd):
        return None, None
    if type(bd) is CPU_ARRAY and bd.ndim == 0 and type(ad) is not CPU_ARRAY:
        other, a_side = ad, False
    elif type(ad) is CPU_ARRAY and ad.ndim == 0 and type(bd) is not CPU_ARRAY:
        other, a_side = bd, True
    else:
        return None, None
    dev = device_of(other)
    if dev.type == "cpu":
        return None, None
    if a_side:
        return (a.to(dev) if isinstance(a, Tensor) else _wrap(ad).to(dev)), b
    return a, (b.to(dev) if isinstance(b, Tensor) else _wrap(bd).to(dev))


_INT_CHECKED = set()  # filled below: ops with torch's integer/bool restrictions
_BOOL_NAMES = {}


def _int_checks(op, rt, bd, b) -> None:
    """torch refuses these ops on bool results and integer division by zero."""
    if rt.kind == "b":
        name = _BOOL_NAMES[op]
        if op is not Pow or type(b) is not bool:
            raise NotImplementedError(f"\"{name}\" not implemented for 'Bool'")
        return
    if op is not Pow:
        if (bd == 0).any() if hasattr(bd, "shape") else bd == 0:
            raise RuntimeError("ZeroDivisionError")


def _coerce_result(r, rt):
    if isinstance(r, np.generic) or not hasattr(r, "shape"):
        return np.asarray(r, dtype=rt)
    return r


_INT_CHECKED.update((Remainder, FloorDiv, Fmod, Pow))
_NO_COMPLEX = {
    Remainder: "remainder_cpu",
    FloorDiv: "div_floor_cpu",
    DivFloor: "div_floor_cpu",
    Fmod: "fmod_cpu",
}
_BOOL_NAMES.update(
    {Remainder: "remainder_cpu", FloorDiv: "div_floor_cpu", Fmod: "fmod_cpu", Pow: "pow"}
)


def _sparse_arith(out, result):
    """The result of a sparse tensor's operator (which supports torch's cases or raises): the
    array of a sparse tensor holds only its non-zero values, so the dense paths must not see it.
    The test is written out in each function: it runs on every call of the function forms."""
    if out is not None:
        raise NotImplementedError("ember does not implement out= with sparse tensors yet")
    return result


def fma_operands(*tensors):
    """The NumPy arrays of ``tensors`` when they are CPU float32/float64 tensors of one dtype
    whose shapes broadcast (where ember rounds as torch's FMA kernels do), else None (the
    two-op forms serve, and raise torch's errors)."""
    if not all(isinstance(t, Tensor) for t in tensors):
        return None
    arrays = [t._data for t in tensors]
    dt = arrays[0].dtype
    if dt not in _FLOAT_TYPES or any(type(a) is not CPU_ARRAY or a.dtype != dt for a in arrays):
        return None
    try:
        np.broadcast_shapes(*(a.shape for a in arrays))
    except ValueError:
        return None
    return arrays


def scaled_add(input, other, alpha):
    """input + alpha * other rounded once, as torch's kernels compute it (an FMA), for CPU float
    tensors of one dtype and a number ``alpha``; None where that does not apply."""
    arrays = fma_operands(input, other) if type(alpha) in (int, float) else None
    if arrays is None:
        return None
    a, b = arrays
    return fma(b, alpha, a, a.dtype)


def with_fused_value(fused, inputs, composite):
    """The result of an op torch rounds once (``fused``, or None where ember can't): the fused
    array itself when no graph is recorded; else ``composite()``, the op's two-op form, whose
    nodes give the gradients (none of them reads its output), holding the fused values."""
    recording = _gs.enabled and any(isinstance(t, Tensor) and t._rg for t in inputs)
    if fused is not None and not recording:
        return _wrap(fused)
    r = composite()
    if fused is not None:
        r._data[...] = fused
    return r


def _alpha_op(op, ufunc, input, other, alpha, out):
    """input + alpha * other (``op`` Add or Sub, the sign in ``alpha``): one rounding where
    ``scaled_add`` serves."""
    fused = scaled_add(input, other, alpha if op is Add else -alpha)
    return _out(
        with_fused_value(
            fused,
            (input, other),
            lambda: _binary(op, ufunc, input, _binary(Mul, np.multiply, other, alpha)),
        ),
        out,
    )


def add(input, other, *, alpha=1, out=None):
    """input + alpha * other, with torch's promotion."""
    if (isinstance(input, Tensor) and input._sparse) or (
        isinstance(other, Tensor) and other._sparse
    ):
        return _sparse_arith(out, input + (other if alpha == 1 else other * alpha))
    if alpha != 1:
        return _alpha_op(Add, np.add, input, other, alpha, out)
    return _out(_binary(Add, np.add, input, other), out)


def _is_bool(x) -> bool:
    return x.dtype is dtypes.bool_ if isinstance(x, Tensor) else type(x) is bool


def sub(input, other, *, alpha=1, out=None):
    """input - alpha * other."""
    if (isinstance(input, Tensor) and input._sparse) or (
        isinstance(other, Tensor) and other._sparse
    ):
        return _sparse_arith(out, input - (other if alpha == 1 else other * alpha))
    if _is_bool(input) or _is_bool(other):
        if _is_bool(input) and _is_bool(other):
            raise RuntimeError(
                "Subtraction, the `-` operator, with two bool tensors is not "
                "supported. Use the `^` or `logical_xor()` operator instead."
            )
        raise RuntimeError(
            "Subtraction, the `-` operator, with a bool tensor is not supported. "
            "If you are trying to invert a mask, use the `~` or `logical_not()` "
            "operator instead."
        )
    if alpha != 1:
        return _alpha_op(Sub, np.subtract, input, other, alpha, out)
    return _out(_binary(Sub, np.subtract, input, other), out)


def rsub(input, other, *, alpha=1):
    return sub(other, input, alpha=alpha)


def mul(input, other, *, out=None):
    if (isinstance(input, Tensor) and input._sparse) or (
        isinstance(other, Tensor) and other._sparse
    ):
        return _sparse_arith(out, input * other)
    return _out(_binary(Mul, np.multiply, input, other), out)


def div(input, other, *, rounding_mode=None, out=None):
    """True division (int / int gives the default float dtype); ``rounding_mode`` 'trunc' or
    'floor' rounds the quotient."""
    if (isinstance(input, Tensor) and input._sparse) or (
        isinstance(other, Tensor) and other._sparse
    ):
        if rounding_mode is not None:
            raise NotImplementedError(
                "ember does not implement rounded division of sparse tensors yet"
            )
        return _sparse_arith(out, input / other)
    if rounding_mode is None:
        r = _binary(Div, np.true_divide, input, other, true_div=True)
    elif rounding_mode == "floor":
        r = _binary(DivFloor, np.floor_divide, input, other)
    elif rounding_mode == "trunc":
        if result_np_dtype(input, other).kind == "c":
            raise not_implemented_for("div_trunc_cpu", result_np_dtype(input, other))
        q = _binary(Div, np.true_divide, input, other, true_div=True)
        r = trunc(q)
        rt = result_np_dtype(*(x if isinstance(x, Tensor) else x for x in (input, other)))
        if rt.kind in "iub":
            r = r.to(dtypes.from_numpy_dtype(rt))
    else:
        raise RuntimeError(
            f"div expected rounding_mode to be one of None, 'trunc', or 'floor' "
            f"but found '{rounding_mode}'"
        )
    return _out(r, out)


def true_divide(input, other, *, out=None):
    return div(input, other, out=out)


def pow(input, exponent, *, out=None):  # noqa: A001
    """input ** exponent; an int tensor to a negative int power raises, as torch."""
    if (
        isinstance(input, Tensor)
        and input._data.dtype.kind in "iub"
        and isinstance(exponent, int)
        and exponent < 0
    ):
        raise RuntimeError("Integers to negative integer powers are not allowed.")
    if isinstance(input, Tensor) and input._data.dtype.kind == "b" and type(exponent) is bool:
        r = input.clone() if exponent else _wrap(np.ones(input._data.shape, np.bool_))
        return _out(r, out)
    return _out(_binary(Pow, int_pow, input, exponent), out)


def remainder(input, other, *, out=None):
    return _out(_binary(Remainder, np.remainder, input, other), out)


def fmod(input, other, *, out=None):
    """C-style remainder: the sign follows the dividend."""
    return _out(_binary(Fmod, np.fmod, input, other), out)


def trunc_div(a, b):
    return div(a, b, rounding_mode="trunc")


def floor_divide(input, other, *, out=None):
    return _out(_binary(FloorDiv, np.floor_divide, input, other), out)


def _out(r, out):
    if out is None:
        return r
    return copy_into_out(out, r)


subtract = sub
multiply = mul
divide = div
