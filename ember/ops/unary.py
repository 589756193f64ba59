"""Elementwise functions of one tensor (exp, log, trig, sigmoid, relu, ...), casts and device
moves; each op's forward and backward side by side."""

from __future__ import annotations

import builtins
import math

import numpy as np

from .. import dtypes
from .._backend import kernels
from .._backend.casting import cast
from .._backend.cpu import extrema, jit, layout, select
from .._backend.cpu import threads as _par
from .._backend.xp import CPU_ARRAY, xp_for, xp_of
from .._grad_state import state as _gs
from .._tensor_errors import not_implemented_for
from ..autograd import node as _node
from ..autograd.node import Op, record1, record_inplace
from ..device import device_of
from ..dtypes import scalar_type_name
from ..tensor import Tensor, _wrap
from . import _bw, _special_math
from ._blas_sum import HALF
from ._elementwise import elementwise_op
from ._ignore import IgnoreSecond
from ._return_types import return_type
from .inplace import copy_into_out, inplace, refresh_views

try:  # SciPy is optional: its ufuncs are exact and fast where present
    from scipy.special import erf as _sp_erf
    from scipy.special import erfc as _sp_erfc
    from scipy.special import erfinv as _sp_erfinv
    from scipy.special import expit as _sp_expit
except ImportError:  # pragma: no cover - exercised only without SciPy
    _sp_erf = _sp_erfc = _sp_erfinv = _sp_expit = None

__all__ = [
    "neg",
    "negative",
    "abs",
    "absolute",
    "exp",
    "exp2",
    "expm1",
    "log",
    "log2",
    "log10",
    "log1p",
    "sqrt",
    "rsqrt",
    "square",
    "sin",
    "cos",
    "tan",
    "asin",
    "acos",
    "atan",
    "sinh",
    "cosh",
    "tanh",
    "asinh",
    "acosh",
    "atanh",
    "arcsin",
    "arccos",
    "arctan",
    "arcsinh",
    "arccosh",
    "arctanh",
    "sigmoid",
    "relu",
    "relu_",
    "erf",
    "erfc",
    "erfinv",
    "sign",
    "sgn",
    "floor",
    "ceil",
    "round",
    "trunc",
    "fix",
    "frac",
    "reciprocal",
    "logit",
    "positive",
    "conj",
    "real",
    "imag",
    "angle",
    "signbit",
    "isnan",
    "isinf",
    "isfinite",
    "isposinf",
    "isneginf",
    "isreal",
    "nan_to_num",
    "bitwise_not",
    "logical_not",
    "deg2rad",
    "rad2deg",
    "conj_physical",
    "resolve_conj",
    "resolve_neg",
    "is_conj",
    "is_neg",
    "sinc",
    "frexp",
]


def _float_in(a):
    """Integer/bool inputs of float functions compute in the default float dtype (as torch)."""
    if a.dtype.kind in "biu":
        return a.astype(dtypes._default.np)
    return a


class Cast(Op):
    _bname = "ToCopyBackward0"
    higher_order = True  # backward is the cast back (_bw.cast works on Tensors)

    @staticmethod
    def forward(ctx, a, npdtype):
        ctx.src = a.dtype
        return cast(a, npdtype)

    @staticmethod
    def backward(ctx, g):
        if ctx.src.kind not in "fcV":  # V: bfloat16
            return None, None
        return _bw.cast(g, ctx.src), None


class Clone(Op):
    """A copy that stays in the graph (torch.clone)."""

    higher_order = True
    _bname = "CloneBackward0"

    @staticmethod
    def forward(ctx, a):
        return layout.c_copy(a)

    @staticmethod
    def backward(ctx, g):
        return (g,)


class ToDevice(Op):
    _bname = "ToCopyBackward0"
    higher_order = True  # create_graph=True: the gradient moved back as a Tensor op

    @staticmethod
    def forward(ctx, a, dev):
        ctx.src = device_of(a)
        if dev.type == "cpu":
            return a.get() if hasattr(a, "get") and type(a) is not CPU_ARRAY else a
        xp = xp_for(dev)
        with xp.cuda.Device(dev.index or 0):
            return xp.asarray(a)

    @staticmethod
    def backward(ctx, g):
        if isinstance(g, Tensor):
            return g.to(ctx.src), None
        return ToDevice.forward(ctx, g, ctx.src), None


def _unary(
    name,
    fwd,
    bwd=None,
    *,
    float_only=True,
    save="in",
    higher=False,
    int_ok=False,
    no_bool=None,
    no_complex=None,
    holomorphic=True,
    opmath_grad: bool | tuple = False,
):
    """Build an Op class (``elementwise_op``) and its function from forward fwd(a) and backward
    bwd(g, a, y); ``no_bool`` and ``no_complex`` are (exception type, message) raised for bool
    and complex inputs, as torch, or a kernel name for torch's "<kernel>" not implemented for
    '<dtype>'."""
    refuse = {"b": no_bool, "c": no_complex}
    checked = "".join(k for k, v in refuse.items() if v is not None)
    cls = elementwise_op(
        name.capitalize(),
        fwd,
        bwd,
        float_only=float_only,
        save=save,
        higher=higher,
        holomorphic=holomorphic,
        # torch's gradients are formulas of half-type ops, except where it has a backward
        # kernel (sigmoid, tanh), which computes in float
        opmath_grad=opmath_grad,
    )

    def compute(a):
        if float_only and a.dtype.kind in "biu":
            a = a.astype(dtypes._default.np)
        if a.dtype in HALF:  # in float32, rounded once (as the op's forward)
            return fwd(a.astype(np.float32)).astype(a.dtype)
        return fwd(a)

    def fn(input, *, out=None):
        if not isinstance(input, Tensor):
            input = _wrap(np.asarray(input))
        if input._sparse:  # its array holds only the non-zero values
            raise NotImplementedError(
                f"ember does not implement torch.{name} for sparse tensors yet"
            )
        if checked and input._data.dtype.kind in checked:
            why = refuse[input._data.dtype.kind]
            if isinstance(why, str):
                raise not_implemented_for(why, input._data.dtype)
            raise why[0](why[1])
        if input._rg and _gs.enabled:
            r = record1(cls, input)
        else:
            r = _wrap(compute(input._data))
        if out is not None:
            return copy_into_out(out, r)
        return r

    fn.__name__ = name
    fn.__qualname__ = name
    fn.__doc__ = f"Elementwise {name}, as torch.{name}."
    fn.op = cls
    return fn


def _erf(a):
    if simd_float(a) and a.dtype == np.float32:  # faster than SciPy's (see erf_f32)
        return _special_math.erf_f32(a)
    if _sp_erf is not None:
        return _sp_erf(a).astype(a.dtype, copy=False)
    return _erf_np(a)


def _erf_np(a):
    return _special_math.erf(a)


def _erfc(a):
    # erfc in its own right, not 1 - erf: the right tail keeps its relative precision
    if _sp_erfc is not None:
        return _sp_erfc(a).astype(a.dtype, copy=False)
    return _special_math.erfc(a)


def _erfinv(a):
    if _sp_erfinv is not None:
        return _sp_erfinv(a).astype(a.dtype, copy=False)
    return _special_math.erfinv(a)


@kernels.fused("tanh_bw", "T g, T y", "T gx", "gx = g * ((T)1 - y * y)")
def _tanh_bw_kernel(g, y):
    """Gradient of tanh from its output."""
    return g * (1 - y * y)


def _tanh_bw(g, a, y):
    if type(g) is not CPU_ARRAY and kernels.on_device(g):
        return _tanh_bw_kernel(g, y)
    return g * (1 - y * y)


_SQRT_PI = math.sqrt(math.pi)

neg = _unary(
    "neg",
    np.negative,
    lambda g, a, y: -g,
    float_only=False,
    save=None,
    higher=True,
    no_bool=(
        RuntimeError,
        (
            "Negation, the `-` operator, on a bool tensor is not supported. If you are "
            "trying to invert a mask, use the `~` or `logical_not()` operator instead."
        ),
    ),
)
negative = neg
abs = _unary(
    "abs",
    np.abs,
    # a Tensor's sign refuses complex values (torch's rule): sgn, z / |z|, is NumPy's sign there;
    # a real array's is torch's sign (0 at NaN, where NumPy's keeps NaN)
    lambda g, a, y: (
        g
        * (
            a.sgn()
            if isinstance(a, Tensor)
            else _bw.sign(a)
            if a.dtype.kind == "c"
            else _sign_np(a)
        )
    ),
    float_only=False,  # noqa: A001
    higher=True,
    holomorphic=False,  # |z|: g * z / |z|
    no_bool=(NotImplementedError, "\"abs_cpu\" not implemented for 'Bool'"),
)
absolute = abs
exp = _unary("exp", np.exp, lambda g, a, y: g * y, save="out", higher=True)
exp2 = _unary("exp2", np.exp2, lambda g, a, y: g * y * math.log(2), save="out", higher=True)
expm1 = _unary("expm1", np.expm1, lambda g, a, y: g * (y + 1), save="out", higher=True)
log = _unary("log", np.log, lambda g, a, y: g / a, higher=True)
log2 = _unary("log2", np.log2, lambda g, a, y: g / (a * math.log(2)), higher=True)
log10 = _unary("log10", np.log10, lambda g, a, y: g / (a * math.log(10)), higher=True)
log1p = _unary("log1p", np.log1p, lambda g, a, y: g / (a + 1), higher=True)
sqrt = _unary("sqrt", np.sqrt, lambda g, a, y: g / (2 * y), save="out", higher=True)
rsqrt = _unary(
    "rsqrt",
    lambda a: 1 / np.sqrt(a),
    lambda g, a, y: (-0.5 * g) * (y * y * y),  # torch's order
    save="out",
    higher=True,
)
square = _unary(
    "square",
    lambda a: np.square(a if a.dtype != np.bool_ else a.astype(np.int64)),
    lambda g, a, y: 2 * g * a,
    float_only=False,
    higher=True,
)
sin = _unary("sin", np.sin, lambda g, a, y: g * _bw.cos(a), higher=True)
cos = _unary("cos", np.cos, lambda g, a, y: -g * _bw.sin(a), higher=True)
deg2rad = _unary(
    "deg2rad",
    lambda a: a * a.dtype.type(math.pi / 180),
    lambda g, a, y: g * (math.pi / 180),
    no_complex=(RuntimeError, "deg2rad is not supported for complex tensors."),
)
rad2deg = _unary(
    "rad2deg",
    lambda a: a * a.dtype.type(180 / math.pi),
    lambda g, a, y: g * (180 / math.pi),
    no_complex=(RuntimeError, "rad2deg is not supported for complex tensors."),
)


def _sinc_grad(g, a, y):
    """torch's (cos(pi a) - sin(pi a) / (pi a)) / a, 0 at a = 0 (this order keeps tiny a from
    underflowing to 0 / 0)."""
    pa = a * math.pi
    one = 1 + 0 * a
    d = (_bw.cos(pa) - _bw.sin(pa) / _bw.where(a == 0, one, pa)) / _bw.where(a == 0, one, a)
    return g * _bw.where(a == 0, 0 * a, d)


sinc = _unary("sinc", lambda a: np.sinc(a).astype(a.dtype, copy=False), _sinc_grad, higher=True)


def frexp(input: Tensor, *, out=None) -> tuple:
    """(mantissa, exponent) with input = mantissa * 2**exponent; exponent is int32."""
    a = input._data
    if a.dtype.kind not in "fV":
        raise RuntimeError("torch.frexp() only supports floating-point dtypes")
    m, e = np.frexp(a.astype(np.float32) if a.dtype.kind == "V" else a)
    mant = _wrap(m.astype(a.dtype, copy=False))
    if input._rg and _gs.enabled:  # mantissa = input * 2**-e: its gradient is g * 2**-e
        scale = np.ldexp(np.ones_like(m), -e).astype(a.dtype, copy=False)
        mant = input * _wrap(scale)
    r = return_type("frexp", mant, _wrap(e.astype(np.int32)), _FREXP)
    if out is not None:
        copy_into_out(out[0], r[0])
        copy_into_out(out[1], r[1])
        return return_type("frexp", out[0], out[1], _FREXP)
    return r


_FREXP = ("mantissa", "exponent")


tan = _unary("tan", np.tan, lambda g, a, y: g * (1 + y * y), save="out", higher=True)
asin = _unary("asin", np.arcsin, lambda g, a, y: g / _bw.sqrt(1 - a * a), higher=True)
acos = _unary("acos", np.arccos, lambda g, a, y: -g / _bw.sqrt(1 - a * a), higher=True)
atan = _unary("atan", np.arctan, lambda g, a, y: g / (1 + a * a), higher=True)
sinh = _unary("sinh", np.sinh, lambda g, a, y: g * _bw.cosh(a), higher=True)
cosh = _unary("cosh", np.cosh, lambda g, a, y: g * _bw.sinh(a), higher=True)
tanh = _unary("tanh", np.tanh, _tanh_bw, save="out", higher=True, opmath_grad=True)
asinh = _unary("asinh", np.arcsinh, lambda g, a, y: g / _bw.sqrt(a * a + 1), higher=True)
acosh = _unary("acosh", np.arccosh, lambda g, a, y: g / _bw.sqrt(a * a - 1), higher=True)
atanh = _unary("atanh", np.arctanh, lambda g, a, y: g / (1 - a * a), higher=True)
arcsin, arccos, arctan = asin, acos, atan
arcsinh, arccosh, arctanh = asinh, acosh, atanh


@kernels.fused("sigmoid_fw", "T x", "T y", "y = (T)1 / ((T)1 + exp(-x))")
def _sigmoid_fw_kernel(x):
    """Logistic function."""
    with np.errstate(over="ignore"):
        return (1 / (1 + np.exp(-x))).astype(x.dtype, copy=False)


@kernels.fused("sigmoid_bw", "T g, T y", "T gx", "gx = g * y * ((T)1 - y)")
def _sigmoid_bw_kernel(g, y):
    """Gradient of the logistic function from its output."""
    return g * y * (1 - y)


_F32_F64 = (np.dtype(np.float32), np.dtype(np.float64))


def simd_float(a) -> bool:
    """Whether ``a`` is an array the SIMD-pass forms of the activations take: a float32 or
    float64 NumPy array, not 0-d (NumPy gives scalars for those, and the passes write in
    place)."""
    return type(a) is CPU_ARRAY and a.dtype in _F32_F64 and a.ndim > 0


def one_plus_exp_neg(a: np.ndarray) -> np.ndarray:
    """1 + exp(-a) in a new array (``simd_float`` arrays): the denominator of torch's CPU
    sigmoid and silu. exp(-a) overflows to inf below about -88.7 (float32), silently, as in
    torch."""
    y = np.negative(a)
    with np.errstate(over="ignore"):
        np.exp(y, out=y)
    y += 1
    return y


def sigmoid_cpu(a: np.ndarray) -> np.ndarray:
    """1 / (1 + exp(-a)) for a ``simd_float`` array, torch's CPU formula in four passes (0 where
    exp(-a) overflows, as in torch). 1M float32: 0.69 ms, against 2.8 for SciPy's expit and 3
    for the exp(-|a|) form with a branch per element. The last pass divides 1 by y: NumPy's
    ``reciprocal`` has no SIMD loop and takes twice as long as ``divide`` (2.4, x86-64: 393K
    float32 82 vs 42 us, float64 259 vs 128)."""
    y = one_plus_exp_neg(a)
    return np.divide(1.0, y, out=y)


def _sigmoid_np(a):
    if type(a) is CPU_ARRAY:
        if simd_float(a):
            return sigmoid_cpu(a)
        if _sp_expit is not None and a.dtype.kind == "f":
            return _sp_expit(a).astype(a.dtype, copy=False)
    elif kernels.on_device(a):
        return _sigmoid_fw_kernel(a)
    if a.dtype.kind == "c":  # the |a| trick below is for real a only
        return 1 / (1 + np.exp(-a))
    # exp of -|a| never overflows; the two branches agree at 0
    e = np.exp(-np.abs(a))
    return np.where(a >= 0, 1 / (1 + e), e / (1 + e)).astype(a.dtype, copy=False)


def _sigmoid_bw(g, a, y):
    if type(g) is not CPU_ARRAY and kernels.on_device(g):
        return _sigmoid_bw_kernel(g, y)
    return g * (1 - y) * y  # torch's order (its sigmoid_backward)


def _relu_part(o, x):
    extrema.with_number(np.maximum, x, 0, o)


def _relu_np(a):
    if _par.elementwise_pays(a):
        out = np.empty_like(a)
        _par.elementwise(_relu_part, out, a)
        return out
    return extrema.with_number(np.maximum, a, 0)


@kernels.fused("relu_bw", "T g, T y", "T gx", "gx = y <= (T)0 ? (T)0 : g")
def _relu_bw_kernel(g, y):
    """Gradient of relu from the output, as torch's threshold_backward: 0 where y <= 0, else g
    (so g where y is NaN, and 0 where y <= 0 even if g is NaN or infinite)."""
    return np.where(y <= 0, np.zeros((), g.dtype), g)


def _relu_grad_part(o, g, y) -> None:
    """``o`` = 0 where the relu output y is +-0, else g (NaN and infinite g included, and g
    where y is NaN: torch's threshold_backward). y is never below 0, so the mask is y != 0
    (False for both zeros, True for NaN), applied to g's bits (``select.keep``). 4 MB float32:
    352 -> 300 us, against the four integer passes before (and, negate, shift, and;
    2026-12-05)."""
    select.keep(np.not_equal(y, 0), g, o)


@jit.kernel
def _relu_bw_loop(g, y, o):
    """``_relu_grad_part`` in one loop over 1-d float32/float64 arrays (one pass where the
    NumPy form makes three): g where y != 0, else 0."""
    zero = np.zeros(1, g.dtype)[0]
    for i in range(g.size):
        o[i] = g[i] if y[i] != 0 else zero


_JIT_MIN = 1 << 14  # values from which relu's gradient runs its loop (where Numba is loaded)
_JIT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


def _relu_bw(g, a, y):
    if isinstance(g, Tensor):  # create_graph=True: differentiable ops
        return g * (y > 0)
    if type(g) is not CPU_ARRAY and kernels.on_device(g):
        return _relu_bw_kernel(g, y)
    if (
        type(g) is not CPU_ARRAY
        or g.dtype.kind not in "fV"
        or g.dtype != y.dtype
        or g.dtype.itemsize not in (2, 4, 8)
        or g.shape != y.shape
    ):  # e.g. a broadcast gradient or another array type: the comparison, as torch's
        return np.where(y <= 0, np.zeros((), g.dtype), g)
    if jit.loaded() and g.size >= _JIT_MIN:
        # only where Numba is in the process already (a transformer's loops or a MobileNet's
        # depthwise convolutions load it): 64x16x32x32 float32, two threads, 0.30-0.33 -> 0.15 ms
        out = np.empty_like(g)
        flat = jit.flat_views((g, y, out), _JIT_DTYPES)
        if flat is not None and jit.run_split(_relu_bw_loop, flat):
            return out
    if _par.elementwise_pays(g, y):
        out = np.empty_like(g)
        _par.elementwise(_relu_grad_part, out, g, y)
        return out
    # (np.ascontiguousarray makes a 0-d array 1-d: the gradient then had shape (1,))
    gc = g if g.flags.c_contiguous else np.ascontiguousarray(g)
    yc = y if y.flags.c_contiguous else np.ascontiguousarray(y)
    out = np.empty_like(gc)
    _relu_grad_part(out, gc, yc)
    return out


# torch's sigmoid_backward computes bfloat16 in float, float16 in float16 (g * (1 - y) * y)
sigmoid = _unary(
    "sigmoid",
    _sigmoid_np,
    _sigmoid_bw,
    save="out",
    higher=True,
    opmath_grad=(dtypes.bfloat16._np,),
)
relu = _unary(
    "relu",
    _relu_np,
    _relu_bw,
    float_only=False,
    save="out",
    higher=True,
    no_bool=(RuntimeError, "Boolean inputs not supported for relu"),
    no_complex=(NotImplementedError, "clamp is not supported for complex types"),
)
relu.op.grad_reads_input = True  # torch's threshold_backward takes the output


def relu_(input: Tensor) -> Tensor:
    """In-place relu, as torch.relu_ (and ``Tensor.relu_``, ``F.relu(x, inplace=True)``).

    A float CPU tensor that is not a view is written in one pass in its own memory; with a
    graph, the node saves that memory as its output and checks at backward that it is unchanged
    (torch's error otherwise). Why: the general in-place path first copied the tensor aside (its
    old value for the graph), computed into a new array and copied that back: three passes and
    two temporaries over ResNet-18's largest activations (16 MB at 64x64x32x32), where torch's
    relu_ makes one."""
    a = input._data
    if type(a) is not CPU_ARRAY or a.dtype.kind != "f" or input._base is not None:
        return inplace(input, relu)
    graph = _gs.enabled and input._rg
    if graph and (input.grad_fn is None or _node._profiling):
        return inplace(input, relu)  # a leaf (torch's error), or the profiler's own path
    if _par.elementwise_pays(a):
        _par.elementwise(_relu_part, a, a)
    else:
        extrema.with_number(np.maximum, a, 0, a)
    input._bump()
    if graph:
        record_inplace(relu.op, input, (a, a)).cplx = False
        refresh_views(input)
    return input


erf = _unary(
    "erf",
    _erf,
    lambda g, a, y: g * (2 / _SQRT_PI) * _bw.exp(-a * a),
    higher=True,
    no_complex="erf_vml_cpu",
)
erfc = _unary(
    "erfc",
    _erfc,
    lambda g, a, y: -g * (2 / _SQRT_PI) * _bw.exp(-a * a),
    higher=True,
    no_complex="erfc_vml_cpu",
)
erfinv = _unary(
    "erfinv",
    _erfinv,
    lambda g, a, y: g * (_SQRT_PI / 2) * _bw.exp(y * y),
    save="out",
    higher=True,
    no_complex="erfinv_vml_cpu",
)
reciprocal = _unary(
    "reciprocal", lambda a: 1 / a, lambda g, a, y: -g * (y * y), save="out", higher=True
)
_logit = _unary(
    "logit",
    lambda a: np.log(a / (1 - a)),
    # NaN outside [0, 1], where the output is NaN, as torch's logit_backward without eps
    lambda g, a, y: _bw.where(y != y, y, g / (a * (1 - a))),
    higher=True,
    no_complex="logit_cpu",
)


def logit(input: Tensor, eps: float | None = None, *, out=None) -> Tensor:
    """log(x / (1 - x)); with ``eps``, x is first clamped to [eps, 1 - eps] (as torch, a
    negative eps clamps nothing)."""
    if eps is not None and eps >= 0 and isinstance(input, Tensor):
        input = input.clamp(eps, 1 - eps)
    return _logit(input, out=out)


def _nb(name):
    return (NotImplementedError, f"\"{name}_vml_cpu\" not implemented for 'Bool'")


def _nc(name):
    # torch names the rounding functions' refusal of complex input in words, not by kernel
    return (NotImplementedError, f"{name} is not supported for complex inputs")


def _zero_grad(g, a, y):
    # zeros, not g * 0: torch's derivative of sign/floor/ceil/round/trunc is zeros_like(grad),
    # so an inf or NaN arriving from above stops here (lp_pool's gradient at an all-zero window)
    return _bw.zeros_like(g)


def _sign_np(a):
    """torch's sign, (0 < a) - (a < 0): NaN gives 0 and -0.0 gives 0.0. For float NumPy arrays
    as two compares into bytes, their difference and one conversion (1M float32: 0.38 -> 0.21
    ms, float64 0.58 -> 0.41): np.sign has no SIMD loop for floats (and keeps NaN)."""
    if a.dtype.kind == "b":
        return a.copy()
    if type(a) is not CPU_ARRAY or a.dtype.kind != "f":
        return xp_of(a).sign(a)
    if a.ndim == 0:  # NumPy's compares give scalars for 0-d arrays
        return _sign_np(a.reshape(1)).reshape(())
    gt = np.greater(a, 0).view(np.int8)
    d = np.subtract(gt, np.less(a, 0).view(np.int8), out=gt)
    out = np.empty_like(a)
    np.copyto(out, d, casting="unsafe")
    return out


sign = _unary(
    "sign",
    _sign_np,
    _zero_grad,
    float_only=False,
    save=None,
    higher=True,
    no_complex=(
        NotImplementedError,
        "Unlike NumPy, torch.sign is not intended to support complex numbers. Please use "
        "torch.sgn instead.",
    ),
)


def _sgn_grad(g, a, y):
    """sgn's gradient: zeros for real input (as sign's); for complex z, torch's
    (g - Re(conj(sgn z) g) sgn z) / |z|, 0 where z is 0 (it was zeros there too)."""
    if _bw.np_dtype(a).kind != "c":
        return _zero_grad(g, a, y)
    r = builtins.abs(a)  # (this module's abs is the op, which wraps arrays in Tensors)
    zero = r == 0
    d = (g - (y.conj() * g).real * y) / _bw.where(zero, 1.0, r)
    return _bw.where(zero, _bw.zeros_like(d), d)


# sgn is sign extended to complex numbers (z / |z|), which torch.sign refuses
sgn = _unary(
    "sgn", _sign_np, _sgn_grad, float_only=False, save=None, higher=True, holomorphic=False
)
floor = _unary(
    "floor",
    lambda a: np.floor(a) if a.dtype.kind in "fc" else a.copy(),
    _zero_grad,
    float_only=False,
    save=None,
    higher=True,
    no_bool=_nb("floor"),
    no_complex=_nc("floor"),
)
ceil = _unary(
    "ceil",
    lambda a: np.ceil(a) if a.dtype.kind in "fc" else a.copy(),
    _zero_grad,
    float_only=False,
    save=None,
    no_bool=_nb("ceil"),
    no_complex=_nc("ceil"),
)
trunc = _unary(
    "trunc",
    lambda a: np.trunc(a) if a.dtype.kind in "fc" else a.copy(),
    _zero_grad,
    float_only=False,
    save=None,
    higher=True,
    no_bool=_nb("trunc"),
    no_complex=_nc("trunc"),
)
fix = trunc
_frac = _unary(
    "frac",
    lambda a: a - np.trunc(a),
    lambda g, a, y: g,
    float_only=False,
    save=None,
    higher=True,
)


def frac(input, *, out=None):
    """The fractional part, input - trunc(input) (float tensors only, as torch)."""
    if input._data.dtype.kind in "biuc":
        raise NotImplementedError(
            f"\"frac_cpu\" not implemented for '{scalar_type_name(input.dtype.name)}'"
        )
    return _frac(input, out=out)


def round(input, *, decimals: int = 0, out=None):  # noqa: A001
    """Round half to even, as torch.round; ``decimals`` rounds to that many places."""
    if decimals == 0:
        return _round0(input, out=out)
    if input._data.dtype.kind == "c":
        raise not_implemented_for("round_cpu", input._data.dtype)
    s = 10.0**decimals
    return _round0(input * s, out=None) / s


_round0 = _unary(
    "round",
    lambda a: np.round(a) if a.dtype.kind in "fc" else a.copy(),
    _zero_grad,
    float_only=False,
    save=None,
    higher=True,
    no_bool=_nb("round"),
    no_complex="round_vml_cpu",
)


def positive(input):
    """input itself (``+t``); bool tensors are refused, as torch."""
    if input._data.dtype == np.bool_:
        raise RuntimeError("The `+` operator, on a bool tensor is not supported.")
    return input


def conj(input):
    if not input.is_complex():
        return input
    return _conj(input)


# its gradient, g.conj(), works on Tensors too (create_graph=True)
_conj = _unary("conj", np.conj, lambda g, a, y: g.conj(), float_only=False, save=None, higher=True)


def conj_physical(input, *, out=None):
    """The conjugate, materialised (ember has no lazy conjugate bit, so as conj for complex
    input, and a copy for real input)."""
    r = _conj(input) if input.is_complex() else input.clone()
    return copy_into_out(out, r) if out is not None else r


def resolve_conj(input):
    """input itself: ember never sets torch's lazy conjugate bit."""
    return input


def resolve_neg(input):
    """input itself: ember never sets torch's lazy negative bit."""
    return input


def is_conj(input) -> bool:
    """False: ember materialises conjugates (no lazy conjugate bit)."""
    return False


def is_neg(input) -> bool:
    """False: ember has no lazy negative bit."""
    return False


def _nograd(name, f):
    def fn(input, *, out=None):
        a = input._data if isinstance(input, Tensor) else np.asarray(input)
        r = _wrap(xp_of(a).asarray(f(a)))  # NumPy's function runs CuPy's for a CuPy array
        if out is not None:
            return copy_into_out(out, r)
        return r

    fn.__name__ = name
    fn.__doc__ = f"Elementwise {name} (not differentiable), as torch.{name}."
    return fn


real = _nograd("real", np.real)
_imag = _nograd("imag", np.imag)
_angle = _nograd(
    "angle",
    lambda a: np.angle(_float_in(a)).astype(
        _float_in(a).dtype if a.dtype.kind != "c" else a.real.dtype, copy=False
    ),
)


def angle(input, *, out=None):
    """The argument of each element (0 or pi for real input). The gradient is torch's: zero for
    real input, g * i z / |z|^2 (zero at 0) for complex."""
    if out is None and isinstance(input, Tensor) and input._rg and _gs.enabled:
        if input.is_complex():
            return _Angle.apply(input)
        return IgnoreSecond.apply(_angle(input), input)
    return _angle(input, out=out)


class _Angle(Op):
    @staticmethod
    def forward(ctx, z):
        ctx.saved = (z,)
        return np.angle(z).astype(z.real.dtype)

    @staticmethod
    def backward(ctx, g):
        (z,) = ctx.saved
        xp = xp_of(z)
        a2 = (z * z.conj()).real
        return xp.where(a2 == 0, 0, g * 1j * z / xp.where(a2 == 0, 1, a2)).astype(z.dtype)


def imag(input, *, out=None):
    """The imaginary part of a complex tensor."""
    if not input.is_complex():
        raise RuntimeError("imag is not implemented for tensors with non-complex dtypes.")
    return _imag(input, out=out)


_signbit = _nograd("signbit", np.signbit)


def signbit(input, *, out=None):
    """Whether the sign bit is set (-0.0 and negative NaN included); real tensors only."""
    if isinstance(input, Tensor) and input._data.dtype.kind == "c":
        raise NotImplementedError("signbit is not implemented for complex tensors.")
    return _signbit(input, out=out)


isnan = _nograd("isnan", np.isnan)
isinf = _nograd("isinf", np.isinf)
isfinite = _nograd("isfinite", np.isfinite)
isposinf = _nograd("isposinf", np.isposinf)
isneginf = _nograd("isneginf", np.isneginf)
isreal = _nograd("isreal", np.isreal)
logical_not = _nograd("logical_not", np.logical_not)


def bitwise_not(input, *, out=None):
    """~input on bool and integer tensors."""
    if input.is_floating_point() or input.is_complex():
        raise NotImplementedError(
            f"\"bitwise_not_cpu\" not implemented for '{scalar_type_name(input.dtype.name)}'"
        )
    return _nograd("bitwise_not", np.invert)(input, out=out)


def _nan_to_num_np(a, nan, posinf, neginf, out=None):
    """torch.nan_to_num's values for a NumPy float array, into ``out`` (a new array if None).

    np.nan_to_num makes a copy and then three masks, isnan, isposinf and isneginf, each written
    out and selected through (1M float32: 0.8 ms, torch 0.05). Here one clip to the finite
    range maps the infinities to the dtype's max and min and keeps NaN (0.15 ms); one max
    reduction (0.05 ms) then tells whether any NaN, or any element at the max, is there, and
    only then is a mask built: NaN and infinities are rare, so that branch is predictable.
    ``out`` may be ``a`` itself (the in-place form).
    The replacement values are torch's: cast to the dtype (1e40 is inf in float32, no
    warning), NaN -> 0 and the infinities -> max and min where not given."""
    dt = a.dtype
    if dt == dtypes.bfloat16._np:  # ml_dtypes has no clip: float32 holds bfloat16 exactly
        m = dtypes.finfo(dtypes.bfloat16).max
        r = _nan_to_num_np(
            a.astype(np.float32),
            nan,
            m if posinf is None else posinf,
            -m if neginf is None else neginf,
        )
        r = r.astype(dt)
        if out is None:
            return r
        out[...] = r
        return out
    fi = np.finfo(dt)
    with np.errstate(over="ignore"):  # torch's static_cast: out of range is inf
        nan_v = dt.type(0.0 if nan is None else nan)
        pos_v = fi.max if posinf is None else dt.type(posinf)
        neg_v = fi.min if neginf is None else dt.type(neginf)
    if not a.size:
        return a.copy() if out is None else out
    top = a.max()  # NaN when any element is NaN, inf when any is +inf
    pos = np.isposinf(a) if pos_v != fi.max and (top != top or top == np.inf) else None
    neg = None
    if neg_v != fi.min:
        low = a.min()
        if low != low or low == -np.inf:
            neg = np.isneginf(a)
    if out is None:
        out = np.empty_like(a)  # an array for a 0-d input too (clip alone gives a scalar)
    np.clip(a, fi.min, fi.max, out=out)  # out may be a itself: the masks are taken already
    if top != top:
        np.copyto(out, nan_v, where=np.isnan(out))
    if pos is not None:
        np.copyto(out, pos_v, where=pos)
    if neg is not None:
        np.copyto(out, neg_v, where=neg)
    return out


class _NanToNum(Op):
    save_in = (0,)

    @staticmethod
    def forward(ctx, a, nan, posinf, neginf):
        ctx.saved = (a,)
        if type(a) is CPU_ARRAY and (a.dtype.kind == "f" or a.dtype == dtypes.bfloat16._np):
            return _nan_to_num_np(a, nan, posinf, neginf)
        if a.dtype.kind in "biu":
            return a.copy()  # torch returns integers and bools unchanged
        return np.nan_to_num(a, nan=0.0 if nan is None else nan, posinf=posinf, neginf=neginf)

    @staticmethod
    def backward(ctx, g):
        (a,) = ctx.saved
        return g * np.isfinite(a), None, None, None


def nan_to_num(input, nan: float = 0.0, posinf=None, neginf=None, *, out=None):
    """Replace NaN and infinities with finite numbers (dtype's max/min by default)."""
    r = _NanToNum.apply(input, nan, posinf, neginf)
    if out is not None:
        return copy_into_out(out, r)
    return r


def nan_to_num_(input, nan: float = 0.0, posinf=None, neginf=None):
    """In-place nan_to_num (``Tensor.nan_to_num_``, ``torch.nan_to_num_``). A float CPU tensor
    that is not a view and records no graph is written in its own memory in one clip pass;
    the general in-place path first computed aside and copied back (1M float32: 0.25 -> 0.15
    ms). With a graph the backward needs the old values, so it takes the general path."""
    a = input._data
    if (
        type(a) is not CPU_ARRAY
        or a.dtype.kind != "f"
        or input._base is not None
        or (_gs.enabled and input._rg)
    ):
        return inplace(input, lambda s: nan_to_num(s, nan, posinf, neginf))
    _nan_to_num_np(a, nan, posinf, neginf, out=a)
    input._bump()
    return input
