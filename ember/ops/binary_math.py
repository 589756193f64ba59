"""The binary math functions beyond + - * / ** %: atan2, hypot, copysign, logaddexp(2),
float_power, ldexp, heaviside, nextafter, gcd, lcm, and addcmul/addcdiv, with torch's dtypes,
errors and gradients (each forward beside its backward)."""

from __future__ import annotations

import math

import numpy as np

from .. import dtypes
from .._backend.cpu import select
from .._backend.xp import xp_of
from .._grad_state import state as _gs
from ..dtypes import scalar_type_name
from ..tensor import Tensor, _wrap
from . import _bw
from ._fma import fma
from ._promotion import result_np_dtype
from .arith import _Binary, _binary, _out, add, div, fma_operands, mul, with_fused_value
from .arith import pow as _pow
from .compare import _need_tensors
from .unary import simd_float

__all__ = [
    "atan2",
    "arctan2",
    "hypot",
    "copysign",
    "logaddexp",
    "logaddexp2",
    "float_power",
    "ldexp",
    "heaviside",
    "nextafter",
    "gcd",
    "lcm",
    "addcmul",
    "addcdiv",
]


def _float_kernel(name: str, input: Tensor, other, refused: str = "biuc") -> None:
    """torch's refusal of integer, bool (and complex, unless ``refused`` leaves it out)
    operands for a float-only kernel."""
    rt = result_np_dtype(input, other)
    if rt.kind in refused:
        kind = "Bool" if rt.kind == "b" else scalar_type_name(dtypes.from_numpy_dtype(rt).name)
        raise NotImplementedError(f"\"{name}_cpu\" not implemented for '{kind}'")


def _float_binary(op, ufunc, input, other, out):
    return _out(_binary(op, ufunc, input, other, true_div=True), out)


# --- atan2 -------------------------------------------------------------------------------
class Atan2(_Binary):
    save_in = (0, 1)

    @staticmethod
    def forward(ctx, a, b, rt):
        a2, b2 = Atan2.setup(ctx, a, b, rt)
        ctx.saved = (a2, b2)
        return xp_of(a2).arctan2(a2, b2)

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved
        n = ctx._needs
        # torch's order, (g * b) * recip and (g * -a) * recip, and its 0 where a^2 + b^2 is 0
        # (the origin, or squares that underflow)
        den = a * a + b * b
        with np.errstate(divide="ignore"):
            recip = _bw.where(den == 0, 0 * den, 1 / den)
        return Atan2.out(ctx, g * b * recip if n[0] else None, g * -a * recip if n[1] else None)


def atan2(input: Tensor, other: Tensor, *, out=None) -> Tensor:
    """The angle of the point (other, input), elementwise; integers give the default float."""
    _need_tensors("atan2", input, other)
    _float_kernel("atan2", input, other, "c")
    return _float_binary(Atan2, np.arctan2, input, other, out)


arctan2 = atan2


# --- hypot -------------------------------------------------------------------------------
def _simd_pair(a, b) -> bool:
    """Whether the SIMD-pass forms (hypot_np, logaddexp_np) take these operands: NumPy arrays
    of one dtype, one of them an array the activations' SIMD passes take (``simd_float``:
    float32 or float64, not 0-d; NumPy gives scalars for two 0-d ones)."""
    return (
        type(a) is np.ndarray
        and type(b) is np.ndarray
        and a.dtype == b.dtype
        and (simd_float(a) or simd_float(b))
    )


# |hypot| between these is sqrt(a*a + b*b) without overflow or subnormal squares
_SAFE = {4: (2.0**-60, 2.0**62), 8: (2.0**-500, 2.0**510)}


def hypot_np(a, b):
    """np.hypot's values within an ulp, as sqrt(a*a + b*b) in four SIMD passes: NumPy's hypot
    calls libm per element (1M float32: 3.7 ms, against about 0.7 here). Torch's CPU kernel
    gives the correctly rounded value here as np.hypot does (the naive formula is within one
    ulp of it, equal for about 83% of random float32 inputs). Results outside a safe range,
    where the squares overflow or lose bits as subnormals (hypot(1e30, 1e30) in float32), and
    NaN (inf and NaN together give inf) are recomputed by np.hypot; two reductions find them,
    and only then is a mask built. Other inputs (not float32/float64 NumPy arrays of one dtype,
    or two 0-d ones) go to np.hypot."""
    if not _simd_pair(a, b):
        return np.hypot(a, b)
    with np.errstate(over="ignore", under="ignore", invalid="ignore"):
        y = np.multiply(a, a)
        if y.shape != np.broadcast_shapes(a.shape, b.shape):
            y = np.broadcast_to(y, np.broadcast_shapes(a.shape, b.shape)).copy()
        y += b * b
        np.sqrt(y, out=y)
    if not y.size:
        return y
    lo, hi = _SAFE[y.itemsize]
    top, low = y.max(), y.min()
    if top <= hi and low >= lo:  # also False for NaN
        return y
    bad = ~((y >= lo) & (y <= hi))  # NaN compares False: recomputed
    af, bf = np.broadcast_to(a, y.shape), np.broadcast_to(b, y.shape)
    with np.errstate(over="ignore"):  # a true overflow is inf, as in torch
        if y.flags.c_contiguous:  # indices: a third of the boolean indexing's cost
            i = np.flatnonzero(bad)
            y.reshape(-1)[i] = np.hypot(af.reshape(-1)[i], bf.reshape(-1)[i])
        else:
            y[bad] = np.hypot(af[bad], bf[bad])
    return y


class Hypot(_Binary):
    save_in = (0, 1)

    @staticmethod
    def forward(ctx, a, b, rt):
        a2, b2 = Hypot.setup(ctx, a, b, rt)
        xp = xp_of(a2)
        y = hypot_np(a2, b2) if xp is np else xp.hypot(a2, b2)
        ctx.saved = (a2, b2, y)
        return y

    @staticmethod
    def backward(ctx, g):
        a, b, y = ctx.saved
        if isinstance(g, Tensor):  # create_graph=True: y from the inputs, not a constant
            y = (a * a + b * b).sqrt()
        n = ctx._needs
        with np.errstate(all="ignore"):  # 0 / 0 and inf / inf are NaN, as torch's (silent)
            return Hypot.out(ctx, g * a / y if n[0] else None, g * b / y if n[1] else None)


def hypot(input: Tensor, other: Tensor, *, out=None) -> Tensor:
    """sqrt(input**2 + other**2) without overflow; floating-point tensors only."""
    _need_tensors("hypot", input, other)
    _float_kernel("hypot", input, other)
    return _float_binary(Hypot, hypot_np, input, other, out)


# --- copysign ----------------------------------------------------------------------------
class Copysign(_Binary):
    grad_reads_input = (0,)  # torch's copysign_tensor_self_backward reads the input

    @staticmethod
    def forward(ctx, a, b, rt):
        a2, b2 = Copysign.setup(ctx, a, b, rt)
        y = xp_of(a2).copysign(a2, b2)
        ctx.saved = (a2, y)
        return y

    @staticmethod
    def backward(ctx, g):
        a, y = ctx.saved
        n = ctx._needs
        ga = None
        if n[0]:  # +-1 where the sign flipped or not; torch gives 0 where input is 0
            ga = g * _bw.where(a == 0, 0.0 * a, y / _bw.where(a == 0, 1.0 + 0.0 * a, a))
        return Copysign.out(ctx, ga, g * 0 if n[1] else None)


def copysign(input: Tensor, other, *, out=None) -> Tensor:
    """|input| with the sign of other (a tensor or a number); integers give the default float."""
    _float_kernel("copysign", input, other, "c")
    return _float_binary(Copysign, np.copysign, input, other, out)


# --- logaddexp, logaddexp2 -----------------------------------------------------------------


def logaddexp_np(a, b):
    """np.logaddexp's values by torch's vectorised formula, max(a, b) + log1p(exp(-|a - b|))
    (equal infinities give themselves), in SIMD passes: NumPy's own logaddexp calls libm per
    element (1M float32: 22 ms, against about 2 ms here). Other inputs (not float32/float64
    arrays of one dtype, 0-d) go to np.logaddexp."""
    if not _simd_pair(a, b):
        if a.dtype.kind == "c":
            return logaddexp_complex(a, b)
        return np.logaddexp(a, b)
    m = np.maximum(a, b)
    with np.errstate(invalid="ignore"):  # inf - inf: fixed below
        d = np.subtract(a, b)
        np.abs(d, out=d)
        np.negative(d, out=d)
        np.exp(d, out=d)
        np.log1p(d, out=d)
    d += m
    inf = np.isinf(m)
    if inf.any():  # both +inf or both -inf made NaN; one +inf made +inf already
        d = select.where(inf, m, d)
    return d


def logaddexp_complex(a, b):
    """Complex log(exp(a) + exp(b)) (NumPy's logaddexp has no complex loop) shifted by the
    operand of larger real part, as torch computes it: exp of the other's difference cannot
    overflow, and the imaginary part stays that operand's, not the principal log's."""
    xp = xp_of(a)
    first = a.real >= b.real
    m, n = xp.where(first, a, b), xp.where(first, b, a)
    return m + xp.log1p(xp.exp(n - m))


class LogAddExp(_Binary):
    save_in = (0, 1)
    base2 = False

    @classmethod
    def forward(cls, ctx, a, b, rt):
        a2, b2 = cls.setup(ctx, a, b, rt)
        ctx.saved = (a2, b2)
        xp = xp_of(a2)
        if cls.base2:
            return xp.logaddexp2(a2, b2)
        return logaddexp_np(a2, b2) if xp is np else xp.logaddexp(a2, b2)

    @classmethod
    def backward(cls, ctx, g):
        a, b = ctx.saved
        n = ctx._needs
        # d/da log(e^a + e^b) = 1 / (1 + e^(b - a)); base 2 has the same form in powers of 2
        if cls.base2:
            wa = 1 / (1 + _bw.exp((b - a) * math.log(2)))
            wb = 1 / (1 + _bw.exp((a - b) * math.log(2)))
        else:
            wa = 1 / (1 + _bw.exp(b - a))
            wb = 1 / (1 + _bw.exp(a - b))
        return cls.out(ctx, g * wa if n[0] else None, g * wb if n[1] else None)


class LogAddExp2(LogAddExp):
    base2 = True


def logaddexp(input: Tensor, other: Tensor, *, out=None) -> Tensor:
    """log(exp(input) + exp(other)), computed stably."""
    _need_tensors("logaddexp", input, other)
    _float_kernel("logaddexp", input, other, "biu")
    return _float_binary(LogAddExp, logaddexp_np, input, other, out)


def logaddexp2(input: Tensor, other: Tensor, *, out=None) -> Tensor:
    """log2(2**input + 2**other), computed stably."""
    _need_tensors("logaddexp2", input, other)
    _float_kernel("logaddexp2", input, other)
    return _float_binary(LogAddExp2, np.logaddexp2, input, other, out)


# --- float_power, ldexp (compositions, so their gradients are pow's and mul's) ---------------
def float_power(input, exponent, *, out=None) -> Tensor:
    """input ** exponent in double precision (complex128 when either side is complex)."""
    cplx = any(
        (isinstance(x, Tensor) and x.is_complex()) or isinstance(x, complex)
        for x in (input, exponent)
    )
    dt = dtypes.complex128 if cplx else dtypes.float64
    if out is not None and out.dtype is not dt:
        raise RuntimeError(
            f"the output given to float_power has dtype {scalar_type_name(out.dtype.name)} but the "
            f"operation's result requires dtype {scalar_type_name(dt.name)}"
        )
    a = input.to(dt) if isinstance(input, Tensor) else input
    b = exponent.to(dt) if isinstance(exponent, Tensor) else exponent
    if not isinstance(a, Tensor):
        a = _wrap(np.asarray(a, dt.np))
    return _out(_pow(a, b), out)


def ldexp(input: Tensor, other: Tensor, *, out=None) -> Tensor:
    """input * 2**other (the result is floating point)."""
    _need_tensors("ldexp", input, other)
    return _out(mul(input, _pow(2.0, other)), out)


# --- heaviside, nextafter, gcd, lcm (no gradient in torch) -------------------------------------
def _xp_ufunc(name: str):
    def f(a, b):
        return getattr(xp_of(a), name)(a, b)

    return f


def _nograd_binary(fn, input: Tensor, other: Tensor, rt, out):
    a, b = input._data.astype(rt, copy=False), other._data.astype(rt, copy=False)
    r = _wrap(xp_of(a).asarray(fn(a, b)))
    return _out(r, out)


def heaviside(input: Tensor, values: Tensor, *, out=None) -> Tensor:
    """0 where input < 0, 1 where input > 0, ``values`` where input == 0."""
    _need_tensors("heaviside", input, values, "values")
    if input.is_complex() or values.is_complex():
        raise RuntimeError("heaviside is not yet implemented for complex tensors.")
    if input._data.dtype != values._data.dtype:
        raise RuntimeError("heaviside is not yet implemented for tensors with different dtypes")
    rt = input._data.dtype

    def f(x, y):
        xp = xp_of(x)
        return xp.where(x == 0, y, (x > 0).astype(rt)).astype(rt)

    return _nograd_binary(f, input, values, rt, out)


def nextafter(input: Tensor, other: Tensor, *, out=None) -> Tensor:
    """The next floating-point value after input towards other."""
    _need_tensors("nextafter", input, other)
    _float_kernel("nextafter", input, other)
    if out is None and _gs.enabled and (input._rg or other._rg):
        return _binary(NextAfter, _xp_ufunc("nextafter"), input, other)
    return _nograd_binary(_xp_ufunc("nextafter"), input, other, result_np_dtype(input, other), out)


class NextAfter(_Binary):
    """nextafter, whose gradient torch defines as g for input (and nothing for other)."""

    @staticmethod
    def forward(ctx, a, b, rt):
        a2, b2 = NextAfter.setup(ctx, a, b, rt)
        ctx.saved = (a2, b2)
        return xp_of(a2).nextafter(a2, b2)

    @staticmethod
    def backward(ctx, g):
        n = ctx._needs
        ga = None
        if n[0]:  # torch's: none where input equals other (where the result is other)
            a, b = ctx.saved
            ga = _bw.where(a == b, 0 * g, g)
        return NextAfter.out(ctx, ga, g * 0 if n[1] else None)


def _int_kernel(name: str, input: Tensor, other: Tensor):
    rt = result_np_dtype(input, other)
    if rt.kind not in "iu":
        kind = "Bool" if rt.kind == "b" else scalar_type_name(dtypes.from_numpy_dtype(rt).name)
        raise NotImplementedError(f"\"{name}_cpu\" not implemented for '{kind}'")
    return rt


def gcd(input: Tensor, other: Tensor, *, out=None) -> Tensor:
    """Greatest common divisor of integer tensors (non-negative; gcd(0, 0) = 0)."""
    _need_tensors("gcd", input, other)
    return _nograd_binary(_xp_ufunc("gcd"), input, other, _int_kernel("gcd", input, other), out)


def lcm(input: Tensor, other: Tensor, *, out=None) -> Tensor:
    """Least common multiple of integer tensors (non-negative)."""
    _need_tensors("lcm", input, other)
    return _nograd_binary(_xp_ufunc("lcm"), input, other, _int_kernel("lcm", input, other), out)


# --- addcmul, addcdiv --------------------------------------------------------------------
def _value_for(input: Tensor, value):
    """torch truncates a float ``value`` for integer inputs."""
    if isinstance(input, Tensor) and input._data.dtype.kind in "iu" and isinstance(value, float):
        return int(value)
    return value


def _fused_addcmul(input, tensor1, tensor2, value):
    """fma(value * tensor1, tensor2, input), torch's addcmul kernel (one rounding after the
    scaling), for CPU float tensors of one dtype; None where that does not apply."""
    arrays = fma_operands(input, tensor1, tensor2) if type(value) in (int, float) else None
    if arrays is None:
        return None
    a, t1, t2 = arrays
    return fma(t1 if value == 1 else t1 * a.dtype.type(value), t2, a, a.dtype)


def addcmul(input: Tensor, tensor1: Tensor, tensor2: Tensor, *, value=1, out=None) -> Tensor:
    """input + value * tensor1 * tensor2 (on CPU float tensors rounded as torch's kernel,
    fma(value * tensor1, tensor2, input), in a recorded graph too)."""
    value = _value_for(input, value)

    def composite():
        prod = mul(tensor1, tensor2)
        return add(input, prod if value == 1 else mul(prod, value))

    fused = _fused_addcmul(input, tensor1, tensor2, value)
    return _out(with_fused_value(fused, (input, tensor1, tensor2), composite), out)


def addcdiv(input: Tensor, tensor1: Tensor, tensor2: Tensor, *, value=1, out=None) -> Tensor:
    """input + value * tensor1 / tensor2 (integer tensor1 and tensor2 raise, as torch)."""
    if tensor1._data.dtype.kind in "biu" and tensor2._data.dtype.kind in "biu":
        raise RuntimeError(
            "Integer division with addcdiv is no longer supported, and in a future  release "
            "addcdiv will perform a true division of tensor1 and tensor2. The historic addcdiv "
            "behavior can be implemented as (input + value * torch.trunc(tensor1 / tensor2))."
            "to(input.dtype) for integer inputs and as (input + value * tensor1 / tensor2) for "
            "float inputs. The future addcdiv behavior is just the latter implementation: "
            "(input + value * tensor1 / tensor2), for all dtypes."
        )
    # torch's order: input + (value * tensor1) / tensor2
    value = _value_for(input, value)
    return _out(add(input, div(tensor1 if value == 1 else mul(tensor1, value), tensor2)), out)
