"""Activation ops and the softmax family, each a fused op with a hand-written backward: the
elementwise activations (built by ``elementwise_op``), sigmoid, prelu, softmax and log_softmax.
The public functions with torch's argument checks are in ``ember.nn.functional``."""

from __future__ import annotations

import math
import warnings

import numpy as np

from .. import dtypes
from .._backend import kernels
from .._backend.cpu import extrema, jit, select
from .._backend.cpu import threads as _par
from .._backend.xp import CPU_ARRAY, xp_of
from .._tensor_errors import check_dim, not_implemented_for
from ..autograd.node import Op
from ..dtypes import scalar_type_name
from ..tensor import Tensor, _wrap
from . import _bw
from ._blas_sum import is_half, rsum
from ._elementwise import elementwise_op
from .unary import erf, one_plus_exp_neg, sigmoid_cpu, simd_float

__all__ = ["softmax", "log_softmax"]


def _c(x, v):
    """A Python constant as a 0-d array of x's dtype (keeps float32 math in float32)."""
    return (
        np.asarray(v, dtype=x.dtype) if type(x) is CPU_ARRAY else xp_of(x).asarray(v, dtype=x.dtype)
    )


def _sigm(x):
    if simd_float(x):
        return sigmoid_cpu(x)
    xp = xp_of(x)
    if x.dtype.kind == "c":  # torch's formula (logaddexp has no complex loop)
        return 1 / (1 + xp.exp(-x))
    return xp.exp(-xp.logaddexp(0, -x)).astype(x.dtype, copy=False)


@jit.kernel
def _silu_fw_loop(x, y):
    """SiLU over float32 1-d arrays in one loop: x / (1 + exp(-x)), torch's formula, with
    ``jit.exp_f32``. 393K values, one thread: 0.28 -> 0.17 ms, the backward 0.47 -> 0.21
    (2026-12-05; torch: 0.09 and 0.15 on two threads)."""
    for i in range(x.size):
        xi = x[i]
        y[i] = xi / (_F32_1 + jit.exp_f32(-xi))


@jit.kernel
def _silu_bw_loop(g, x, d):
    """SiLU's gradient over float32 1-d arrays in one loop: g * (s (1 + x (1 - s))) with s the
    sigmoid 1 / (1 + exp(-x)), the NumPy path's operations in its order."""
    for i in range(x.size):
        xi = x[i]
        s = _F32_1 / (_F32_1 + jit.exp_f32(-xi))
        d[i] = g[i] * (s * (_F32_1 + xi * (_F32_1 - s)))


def _silu_fwd(x):
    """x / (1 + exp(-x)), torch's CPU formula (one division, not x times a rounded sigmoid)."""
    if x.size >= _JIT_MIN:
        y = np.empty_like(x)
        if _run_loop(_silu_fw_loop, x, y):
            return y
    if simd_float(x):
        d = one_plus_exp_neg(x)
        # where exp overflowed: x / inf is -0.0, and -inf / inf NaN, as torch's (silently)
        with np.errstate(invalid="ignore"):
            return np.divide(x, d, out=d)
    if x.dtype.kind == "c":
        return x / (1 + xp_of(x).exp(-x))
    return x * _sigm(x)


def _softplus_np(x):
    """log(1 + exp(x)) without overflow: max(x, 0) + log1p(exp(-|x|)) (np.logaddexp(0, x)'s
    value in six SIMD passes; NumPy's logaddexp calls libm per element, 1M float32 22 -> 2 ms)."""
    if simd_float(x):
        t = np.abs(x)
        np.negative(t, out=t)
        np.exp(t, out=t)
        np.log1p(t, out=t)
        t += extrema.with_number(np.maximum, x, 0)
        return t
    return xp_of(x).logaddexp(0, x).astype(x.dtype, copy=False)


def _hardtanh_part(o, g, x, lo, hi) -> None:
    """``o`` = g where lo < x < hi, else 0 (a NaN x included), on g's bits (``select.keep``):
    0 outside even for a NaN or infinite g, as torch's vectorised hardtanh_backward (a blend;
    the product with the mask before gave NaN there; torch's scalar tail, its last few
    elements, keeps g for a NaN x). 32x96x16x16 float32: 309 -> 271 us."""
    inside = np.greater(x, lo)
    inside &= np.less(x, hi)
    select.keep(inside, g, o)


@jit.kernel
def _hardtanh_bw_loop(g, x, o, lo, hi):
    """``_hardtanh_part`` in one loop over 1-d float32/float64 arrays (one pass where the NumPy
    form makes five), ``lo`` and ``hi`` in their dtype: g where lo < x < hi, else 0."""
    zero = np.zeros(1, g.dtype)[0]
    for i in range(g.size):
        xi = x[i]
        o[i] = g[i] if xi > lo and xi < hi else zero


def _hardtanh_bw(g, x, y, lo, hi):
    """g where lo < x < hi, else 0 (torch's hardtanh_backward, vectorised). Same-shape
    C-contiguous float NumPy arrays take ``_hardtanh_part``, big ones split over ember's threads
    (five whole-array passes on one thread before: ReLU6 forward plus backward on 32x96x32x32
    float32, 4.3 -> 3.7 ms; torch 1.5)."""
    if (
        type(g) is CPU_ARRAY
        and type(x) is CPU_ARRAY
        and g.dtype.kind == "f"
        and g.dtype == x.dtype
        and g.shape == x.shape
        and g.dtype.itemsize in (2, 4, 8)
    ):
        out = np.empty(g.shape, g.dtype)
        if jit.loaded() and g.size >= _JIT_MIN:
            # only where Numba is in the process already (a MobileNet's depthwise convolutions
            # load it): ReLU6's gradient over 32x96x32x32 float32, two threads, 1.7-2.2 ms ->
            # 0.7-1.0
            flat = jit.flat_views((g, x, out), (_F32, _F64))
            t = g.dtype.type
            if flat is not None and jit.run_split(_hardtanh_bw_loop, flat, (t(lo), t(hi))):
                return out
        if _par.elementwise_pays(g, x):
            _par.elementwise(lambda o, gg, xx: _hardtanh_part(o, gg, xx, lo, hi), out, g, x)
        else:
            # (np.ascontiguousarray would make a 0-d array 1-d)
            gc = g if g.flags.c_contiguous else np.ascontiguousarray(g)
            xc = x if x.flags.c_contiguous else np.ascontiguousarray(x)
            _hardtanh_part(out, gc, xc, lo, hi)
        return out
    xp = xp_of(g)
    return xp.where((x > lo) & (x < hi), g, xp.zeros((), g.dtype))


# --- gradients as graphs, for create_graph=True (torch's double backward) --------------------
# Each is the input's gradient as Tensor ops of the incoming gradient g and the input x, so
# that it can be differentiated again; the array formulas stay the plain-training path.


def _silu_graph(g, x):
    s = x.sigmoid()
    return g * (s * (1 + x * (1 - s)))


def _elu_graph(g, x, a, scale, isc):
    if isc != 1:  # celu, as _elu_bwd
        isc = 1.0 / float(np.float32(a))
    # exp of the clamped input: where x > 0 the branch is not taken, and its exp must not
    # overflow (0 * inf in the where's gradient would be NaN)
    neg = (x.clamp(max=0) * isc).exp() * (a * scale * isc)
    return g * _bw.where(_wrap(x._data > 0), scale, neg)


def _softplus_graph(g, x, beta, th):
    return g * _bw.where(_wrap(x._data * beta > th), 1.0, (x * beta).sigmoid())


def _mish_graph(g, x):
    t = _Softplus.apply(x, 1.0, 20.0).tanh()
    return g * (t + x * (1 - t * t) * x.sigmoid())


def _hswish_graph(g, x):
    a = x._data
    inside = _wrap(((a > -3) & (a < 3)).astype(a.dtype))
    above = _wrap((a >= 3).astype(a.dtype))
    return g * ((x / 3 + 0.5) * inside + above)


_Relu6 = elementwise_op(
    "Hardtanh",
    lambda x, lo, hi: x.clip(lo, hi),
    _hardtanh_bw,
    nparams=2,
    piecewise_linear=True,
)


def _leaky_fwd(x, s):
    """x where x > 0 else x * s. For 0 < s <= 1 that is max(x, x * s) (x * s lies between 0
    and x, and keeps x's zero sign and NaN), two SIMD passes instead of a compare and a select:
    64x64x32x32 float32 forward 7 -> 2 ms. s = 0 would turn inf * 0 into NaN, so it selects."""
    xs = x * _c(x, s)
    if 0.0 < s <= 1.0 and x.dtype.kind == "f" and x.ndim:  # (a 0-d product is a scalar)
        return xp_of(x).maximum(x, xs, out=xs)
    return select.where(x > 0, x, xs)


def _leaky_bwd(g, x, y, s):
    return select.where(x > 0, g, g * _c(x, s))


_Leaky = elementwise_op(
    "LeakyRelu",
    _leaky_fwd,
    _leaky_bwd,
    nparams=1,
    no_complex="leaky_relu_cpu",
    piecewise_linear=True,
)
_BITS = {4: np.dtype(np.int32), 8: np.dtype(np.int64)}


def _nonpositive(x):
    """x where x <= 0 (-0.0 and negative NaN kept), +0.0 elsewhere: the minimum of the bit
    patterns as signed integers and 0, exact on every CPU (a float minimum's zero tie is the
    loop's choice, and elu(-0.0) is -0.0 in torch)."""
    it = _BITS[x.itemsize]
    return extrema.with_number(np.minimum, np.ascontiguousarray(x).view(it), 0).view(x.dtype)


def _elu_fwd(x, a, scale, isc):
    """torch's x * scale where x > 0, else expm1(x * isc) * (a * scale), without a select: the
    negative side N from the bit-level minimum (+0 for x > 0, expm1(0) = 0) minus P, the
    minimum of -x * scale and 0 (+0 for x <= 0; NaN stays NaN), so exactly one term is not
    zero and -0.0 stays -0.0. Five SIMD passes, elu 1M float32 1.2 -> 0.75 ms (torch 0.5 on
    two threads); the select form computed both sides and a compare and the select."""
    if not simd_float(x):
        return select.where(
            x > 0, x * _c(x, scale), _c(x, a * scale) * xp_of(x).expm1(x * _c(x, isc))
        )
    n = _nonpositive(x)
    if isc != 1:
        n *= _c(x, isc)
    np.expm1(n, out=n)
    if a * scale != 1:
        n *= _c(x, a * scale)
    p = np.multiply(x, _c(x, -scale))
    extrema.with_number(np.minimum, p, 0, p)
    return np.subtract(n, p, out=n)


def _elu_bwd(g, x, y, a, scale, isc):
    """g * scale where x > 0, else g * (a * scale * isc) * exp(x * isc) (torch's factors, in
    one constant). When that constant equals scale (elu and celu: 1), the factor is
    c * exp(min(x, 0) * isc) everywhere (exp(0) = 1 above 0): three passes and g's, no compare
    or select (1M float32 backward 1.4 -> 0.6 ms)."""
    if isc != 1:  # celu: torch's backward takes 1 / alpha.toFloat() (float64 inputs too)
        isc = 1.0 / float(np.float32(a))
    c = a * scale * isc
    if simd_float(x) and type(g) is CPU_ARRAY and g.dtype == x.dtype:
        f = _nonpositive(x)
        if isc != 1:
            f *= _c(x, isc)
        np.exp(f, out=f)
        if _c(x, c) == _c(x, scale):
            if c != 1:
                f *= _c(x, c)
            return np.multiply(g, f, out=f)
        f *= _c(x, c)
        return g * select.where(x > 0, _c(x, scale), f)
    return g * select.where(x > 0, _c(x, scale), _c(x, c) * xp_of(x).exp(x * _c(x, isc)))


_Elu = elementwise_op("Elu", _elu_fwd, _elu_bwd, nparams=3, no_complex="elu_cpu", graph=_elu_graph)


def _silu_bw(g, x, y):
    if x.size >= _JIT_MIN:
        d = np.empty_like(x)
        if _run_loop(_silu_bw_loop, g, x, d):
            return d
    return g * _silu_grad(x)


_Silu = elementwise_op("Silu", _silu_fwd, _silu_bw, graph=_silu_graph)


def _mish_fwd(x):
    """x * tanh(log1p(exp(x))), torch's formula (exp's overflow gives tanh(inf) = 1)."""
    xp = xp_of(x)
    t = xp.tanh(_log1p_exp(x))
    with np.errstate(invalid="ignore"):  # -inf * 0 is NaN, as in torch
        return xp.multiply(x, t, out=t) if x.ndim else x * t


_Mish = elementwise_op(
    "Mish",
    _mish_fwd,
    lambda g, x, y: g * _mish_grad(x),
    no_complex="mish_cpu",
    graph=_mish_graph,
)
_SIXTH_F32 = float(np.float32(1 / 6))
_Hsig = elementwise_op(
    "Hardsigmoid",
    lambda x: (x + _c(x, 3)).clip(0, 6) / _c(x, 6),  # torch's form (x / 6 + 1/2 cancels near -3)
    # torch's kernel multiplies by the float32 constant 1/6, in float64 too
    lambda g, x, y: g * (((x > -3) & (x < 3)).astype(x.dtype) * _c(x, _SIXTH_F32)),
    no_complex="hardsigmoid_cpu",  # no graph: torch has no double backward for it either
)


def _hswish_bwd(g, x, y):
    """g times hardswish's slope: x / 3 + 1/2 inside (-3, 3), 0 at and below -3, 1 at and above
    3 (torch's ends). For float32/float64 NumPy arrays without a compare or select: with u = x
    clipped to [-3, 3], u / 3 + 1/2 is the slope inside and 1.5 / -0.5 at the ends, and u minus
    u clipped one ulp further in is that ulp (+-) exactly at the ends and 0 inside, so times
    0.5 / ulp it is the +-0.5 to take off (1M float32 backward 1.4 -> 0.7 ms)."""
    if not (simd_float(x) and type(g) is CPU_ARRAY and g.dtype == x.dtype):
        return g * select.where(
            x <= -3, _c(x, 0), select.where(x < 3, x / _c(x, 3) + _c(x, 0.5), _c(x, 1))
        )
    three = x.dtype.type(3)
    ulp = three - np.nextafter(three, x.dtype.type(0))
    u = np.clip(x, -three, three)
    f = np.divide(u, three)
    f += x.dtype.type(0.5)
    u -= np.clip(u, ulp - three, three - ulp)  # +-ulp at the ends, 0 inside (NaN: NaN)
    u *= x.dtype.type(0.5) / ulp
    f -= u
    return np.multiply(g, f, out=f)


def _hswish_fwd(x):
    with np.errstate(invalid="ignore"):  # -inf * 0 is NaN, as torch computes it (silently)
        return x * (x + _c(x, 3)).clip(0, 6) / _c(x, 6)


_Hswish = elementwise_op(
    "Hardswish", _hswish_fwd, _hswish_bwd, no_complex="hardswish_cpu", graph=_hswish_graph
)
_Softsign = elementwise_op(
    "Softsign",
    lambda x: x / (1 + abs(x)),
    lambda g, x, y: g * (1 / (1 + abs(x)) ** 2),
    opmath=False,
    graph=lambda g, x: g / (1 + x.abs()) ** 2,
)
_Thresh = elementwise_op(
    "Threshold",
    lambda x, th, v: select.where(x > th, x, _c(x, v)),
    lambda g, x, y, th, v: g * (x > th).astype(x.dtype),
    nparams=2,
    no_complex="threshold_cpu",
    piecewise_linear=True,
)
_LogSig = elementwise_op(
    "LogSigmoid",
    lambda x: -_softplus_np(-x),
    lambda g, x, y: g * _sigm(-x),
    no_complex="log_sigmoid_cpu",
    graph=lambda g, x: g * (-x).sigmoid(),
)
_TanhShrink = elementwise_op(
    "Tanhshrink",
    lambda x: x - xp_of(x).tanh(x),
    lambda g, x, y: g * xp_of(x).tanh(x) ** 2,
    opmath=False,
    graph=lambda g, x: g * x.tanh() ** 2,
)
_SoftShrink = elementwise_op(
    "Softshrink",
    # torch's kernel: x * 0 inside (NaN stays NaN); the gradient g where |x| > lam, 0 for a
    # NaN x (torch's vectorised kernel; its scalar tail keeps g there) and an infinite g
    lambda x, lam: select.where(
        x > lam, x - _c(x, lam), select.where(x < -lam, x + _c(x, lam), x * _c(x, 0))
    ),
    lambda g, x, y, lam: select.where(abs(x) > lam, g, _c(g, 0)),
    nparams=1,
    no_complex="softshrink_check",
    piecewise_linear=True,
)
_HardShrink = elementwise_op(
    "Hardshrink",
    lambda x, lam: select.where(abs(x) <= lam, _c(x, 0), x),  # (NaN stays, as torch's)
    lambda g, x, y, lam: select.where(abs(x) > lam, g, _c(g, 0)),  # (as softshrink's)
    nparams=1,
    no_complex="hardshrink_cpu",
    piecewise_linear=True,
)


def _silu_grad(x):
    s = _sigm(x)
    return s * (1 + x * (1 - s))


def _mish_grad(x):
    xp = xp_of(x)
    tsp = xp.tanh(_softplus_np(x))
    return tsp + x * (1 - tsp * tsp) * _sigm(x)


def _log1p_exp(x):
    """log1p(exp(x)) as torch's softplus and mish kernels compute it: no guard, so exp
    overflows to inf (and the result is inf) past about 88.7 in float32."""
    xp = xp_of(x)
    with np.errstate(over="ignore"):
        y = xp.exp(x)
    return xp.log1p(y, out=y) if x.ndim else xp.log1p(y)  # 0-d: NumPy gives a scalar


def _softplus_fwd(x, beta, th):
    """x where beta * x > threshold, else log1p(exp(beta * x)) / beta: torch's formula."""
    bx = x * _c(x, beta)
    return select.where(bx > th, x, _log1p_exp(bx) / _c(x, beta))


_Softplus = elementwise_op(
    "Softplus",
    _softplus_fwd,
    lambda g, x, y, beta, th: g * select.where(x * beta > th, _c(x, 1), _sigm(x * _c(x, beta))),
    nparams=2,
    no_complex="softplus_cpu",
    graph=_softplus_graph,
)


def _erf_np(x):
    return erf(_wrap(x))._data


_INV_SQRT2 = 1.0 / math.sqrt(2.0)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)


@kernels.fused("gelu_fw", "T x", "T y", f"y = (T)0.5 * x * ((T)1 + erf(x * (T){_INV_SQRT2!r}))")
def _gelu_fw_kernel(x):
    """Exact (erf) GELU."""
    return (0.5 * x * (1 + np.vectorize(math.erf)(x * _INV_SQRT2))).astype(x.dtype)


@kernels.fused(
    "gelu_grad",
    "T x",
    "T d",
    f"d = (T)0.5 * ((T)1 + erf(x * (T){_INV_SQRT2!r})) "
    f"+ x * exp((T)-0.5 * x * x) * (T){_INV_SQRT_2PI!r}",
)
def _gelu_grad_kernel(x):
    """d gelu(x) / dx for the exact GELU."""
    cdf = 0.5 * (1 + np.vectorize(math.erf)(x * _INV_SQRT2))
    return (cdf + x * np.exp(-0.5 * x * x) * _INV_SQRT_2PI).astype(x.dtype)


@kernels.fused(
    "gelu_tanh_grad",
    "T x",
    "T d",
    f"T t = tanh((T){_SQRT_2_OVER_PI!r} * (x + (T)0.044715 * x * x * x));"
    f"d = (T)0.5 * ((T)1 + t) + (T)0.5 * x * ((T)1 - t * t) * (T){_SQRT_2_OVER_PI!r} "
    "* ((T)1 + (T)0.134145 * x * x)",
)
def _gelu_tanh_grad_kernel(x):
    """d gelu(x) / dx for the tanh approximation."""
    t = np.tanh(_SQRT_2_OVER_PI * (x + 0.044715 * x * x * x))
    d = 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * _SQRT_2_OVER_PI * (1 + 0.134145 * x * x)
    return d.astype(x.dtype)


_F32 = np.dtype(np.float32)
_F64 = np.dtype(np.float64)
# log(erfc(z) / t) + z^2 as a polynomial in t = 1 / (1 + 0.38 z), z >= 0, made for ember: a
# least-squares fit, reweighted towards minimax, on 3000 Chebyshev nodes of t for z in [0, 9]
# (|x| up to 12.7, where Phi is 1e-37) against math.erfc. Its error is 3.8e-8, so erfc keeps its
# relative precision in the tail (the form of the classic Chebyshev-fitted erfc: one exp, one
# polynomial). With t = 1 / (1 + z / 2), as before 2026-12-05, degree 9 reached 5e-8; this
# scale of z reaches 3.8e-8 at degree 8, one multiply-add pass fewer
_ERFC_K = 0.38
_ERFC_T = (
    -1.54039063,
    1.00881797,
    0.3523794,
    0.55020105,
    -1.01378685,
    1.91054724,
    -2.22995623,
    1.21012133,
    -0.247933267,
)

# The polynomial is evaluated in base 2: NumPy's float32 exp2 takes 85 us on 393K values where
# its exp takes 178 (this machine, 2026-12-05; both vectorised, exp2 within 1 ulp, exp 2.4), so
# every coefficient is divided by ln 2, and z is scaled by 1 / sqrt(ln 2) so that its square is
# z^2 / ln 2. The constant term also takes log2(1/2) = -1: exp2 of the polynomial is then
# erfc(z) / 2 / t, Phi(-|x|) without a halving pass
_LN2 = math.log(2.0)
_ERFC_T2 = tuple(np.float32(c / _LN2) for c in _ERFC_T)
_HALF_C0 = np.float32(_ERFC_T[0] / _LN2 - 1.0)
# s = |x| / sqrt(2 ln 2) = z / sqrt(ln 2); t = 1 / (1 + k z) = _T_A / (_T_A + s)
_S_SCALE = np.float32(1.0 / math.sqrt(2.0 * _LN2))
_T_A = np.float32(1.0 / (_ERFC_K * math.sqrt(_LN2)))
_SIGN = np.uint32(0x80000000)
_NEG_HALF_LOG2E = np.float32(-0.5 / _LN2)


def _phi_f32(x, p):
    """Write the normal CDF Phi(x) of a float32 NumPy array into ``p``, in float32 arithmetic:
    0.5 erfc(|x| / sqrt 2), reflected for x > 0. GELU from it is within 8 float32 ulps for
    |x| <= 2 and within a relative 3e-5 down to 1e-30 (the rounding of x^2 / 2 grows in the
    tail). Each pass over nanoGPT's 393K activations costs 18-43 us, exp2 85, so the passes are
    few (28) and cheap: the 1/2 is in the polynomial's constant, t = A / (A + s) needs no scaling,
    and the reflection's copy of x's sign is two integer passes (NumPy's float32 copysign is not
    vectorised: 216 us). 2026-12-05: 1.16 -> 0.97 ms on 393K values (torch's whole GELU 0.10)."""
    s = np.abs(x)
    s *= _S_SCALE
    t = s + _T_A
    np.divide(_T_A, t, out=t)  # twice as fast as np.reciprocal and a multiply
    c = _ERFC_T2
    np.multiply(t, c[-1], out=p)
    p += c[-2]
    for k in c[-3:0:-1]:
        p *= t
        p += k
    p *= t
    p += _HALF_C0
    s *= s
    p -= s
    np.exp2(p, out=p)
    p *= t  # q = Phi(-|x|)
    # Phi(x) = max(q, copysign(1 - q, x)): 1 - q where x > 0 (it is >= 1/2 >= q there), q where
    # x < 0 (the other is negative) and at +-0 (both 1/2 or -1/2); a NaN stays NaN. 1 - q is
    # never negative, so the copysign is an OR of x's sign bit
    np.subtract(1.0, p, out=t)
    sb = s.view(np.uint32)
    np.bitwise_and(x.view(np.uint32), _SIGN, out=sb)
    tb = t.view(np.uint32)
    tb |= sb
    np.maximum(p, t, out=p)


# Phi's polynomial coefficients as float32 scalars, for the compiled kernels
_E1, _E2, _E3, _E4, _E5, _E6, _E7, _E8 = _ERFC_T2[1:]
_F32_0 = np.float32(0.0)
_F32_HALF = np.float32(0.5)
_F32_1 = np.float32(1.0)
_F32_INV_SQRT_2PI = np.float32(_INV_SQRT_2PI)


@jit.kernel
def _gelu_fw_loop(x, y, phi):
    """``_phi_f32`` and the GELU x * Phi(x) in one loop over float32 1-d arrays: the same
    formula (its exp2 from ``jit.exp2_f32``), each value's ~40 operations in registers where
    NumPy makes 30 passes. nanoGPT's 393K values, one thread: 0.91 -> 0.36 ms (2026-12-05)."""
    for i in range(x.size):
        xi = x[i]
        s = abs(xi) * _S_SCALE
        t = _T_A / (_T_A + s)
        p = _E8 * t + _E7
        p = p * t + _E6
        p = p * t + _E5
        p = p * t + _E4
        p = p * t + _E3
        p = p * t + _E2
        p = p * t + _E1
        p = p * t + _HALF_C0
        q = jit.exp2_f32(p - s * s) * t  # Phi(-|x|)
        if xi < _F32_0:
            ph = q
        elif xi > _F32_0:
            ph = _F32_1 - q
        elif xi == _F32_0:
            ph = _F32_HALF
        else:  # NaN
            ph = xi
        phi[i] = ph
        y[i] = xi * ph


@jit.kernel
def _gelu_bw_loop(g, x, phi, d):
    """``_gelu_erf_grad`` in one loop over float32 1-d arrays: g * (Phi(x) + x phi(x)), in the
    NumPy path's order of operations."""
    for i in range(x.size):
        xi = x[i]
        e = jit.exp2_f32(xi * xi * _NEG_HALF_LOG2E)
        d[i] = (e * xi * _F32_INV_SQRT_2PI + phi[i]) * g[i]


_JIT_MIN = 1 << 14  # values from which GELU and SiLU run their compiled loops (else no compile)


def _run_loop(k, *arrays) -> bool:
    """The compiled elementwise loop ``k`` over float32 arrays (inputs, then outputs), split
    across ember's threads where they are big; False (nothing run) where they are not
    C-contiguous float32 of one size, or the loop cannot run."""
    flat = jit.flat_views(arrays, (_F32,))
    return flat is not None and jit.run_split(k, flat)


# GELU's forward (some 30 passes) and backward (7) split across ember's threads from this size
# on. Float32, one thread vs two, ms (2026-12-04): forward 512K values 1.53 vs 1.07, 1M (the BERT
# benchmark's FFN) 3.31 vs 1.83, and inside BERT's training step 4.3-5.0 vs 3.1-3.6; backward
# 1M 1.06 vs 0.73. Below it, at nanoGPT's 393K, two threads win alone (1.11-1.21 vs 0.67-0.74)
# but not inside its step (1.56-1.61 vs 1.51-1.88): OpenBLAS's workers still spin on the cores
# after the product before GELU. With OPENBLAS_THREAD_TIMEOUT=14-18 instead of ember's 22 they
# would not (1.03-1.20 ms), but the MLP benchmark's back-to-back products then lose 7%.
_GELU_THREADS_BYTES = 2 << 20


def _gelu_f32(x):
    """(GELU(x), Phi(x)) of a float32 NumPy array; big contiguous ones on ember's threads."""
    t = np.empty_like(x)
    if x.size >= _JIT_MIN:
        y = np.empty_like(x)
        if _run_loop(_gelu_fw_loop, x, y, t):
            return y, t
    if _par.elementwise_pays(x, min_bytes=_GELU_THREADS_BYTES):
        y = np.empty_like(x)

        def part(yy, tt, xx):
            _phi_f32(xx, tt)
            np.multiply(xx, tt, out=yy)

        _par.elementwise(part, y, t, x)
        return y, t
    _phi_f32(x, t)
    return x * t, t


def _gelu_erf_grad(g, x, t, out=None):
    """g * (Phi(x) + x phi(x)) for NumPy arrays, with ``t`` = Phi(x); big contiguous float
    ones on ember's threads."""
    if out is None and g.size >= _JIT_MIN:
        d = np.empty_like(g)
        if _run_loop(_gelu_bw_loop, g, x, t, d):
            return d
    if out is None and _par.elementwise_pays(g, x, t, min_bytes=_GELU_THREADS_BYTES):
        d = np.empty_like(g)
        _par.elementwise(lambda dd, gg, xx, tt: _gelu_erf_grad(gg, xx, tt, dd), d, g, x, t)
        return d
    d = np.multiply(x, x, out=out)
    if d.dtype == _F32:  # exp2 of x^2 (-1/2 log2 e): twice as fast as exp here (_phi_f32)
        d *= _NEG_HALF_LOG2E
        np.exp2(d, out=d)
    else:
        d *= _c(x, -0.5)
        np.exp(d, out=d)
    d *= x
    d *= _c(x, _INV_SQRT_2PI)
    d += t
    d *= g
    return d


class _Gelu(Op):
    """GELU, exact (x * Phi(x)) or tanh form. On the CPU the forward keeps Phi(x) (or the tanh)
    for the backward, so erf runs once per step, not twice; the rest is done in place."""

    save_in = (0,)
    higher_order = True  # create_graph=True: _gelu_graph

    @staticmethod
    def forward(ctx, x, approx):
        if x.dtype.kind == "c":
            raise not_implemented_for("GeluKernelImpl", x.dtype)
        ctx.approx = approx
        ctx.half = None
        if is_half(x) and x.ndim:  # in float32, rounded once, as torch's kernels
            y = _Gelu.forward(ctx, x.astype(np.float32), approx)
            ctx.half = x.dtype
            return y.astype(x.dtype)
        if type(x) is not CPU_ARRAY or x.ndim == 0:  # 0-d: no in-place passes on scalars
            ctx.saved = (x, None)
            if approx != "tanh" and kernels.on_device(x):
                return _gelu_fw_kernel(x)
            xp = xp_of(x)
            if approx == "tanh":
                inner = _c(x, _SQRT_2_OVER_PI) * (x + _c(x, 0.044715) * x * x * x)
                return _c(x, 0.5) * x * (1 + xp.tanh(inner))
            return x * _c(x, 0.5) * (1 + _erf_np(x * _c(x, _INV_SQRT2)))
        if approx == "tanh":
            t = x * x
            t *= _c(x, 0.044715)
            t += 1
            t *= x
            t *= _c(x, _SQRT_2_OVER_PI)
            np.tanh(t, out=t)
            y = t + 1
            y *= x
            y *= _c(x, 0.5)
        elif x.dtype == _F32:
            y, t = _gelu_f32(x)
        else:
            t = _erf_np(x * _c(x, _INV_SQRT2))  # becomes Phi(x) = (1 + erf(x / sqrt 2)) / 2
            t += 1
            t *= _c(x, 0.5)
            y = x * t
        ctx.saved = (x, t)
        return y

    @staticmethod
    def backward(ctx, g):
        if isinstance(g, Tensor):  # create_graph=True
            return _gelu_graph(g, ctx.saved[0], ctx.approx), None
        if ctx.half is not None:  # torch's backward kernel's way
            half, ctx.half = ctx.half, None
            try:
                return _Gelu.backward(ctx, g.astype(np.float32))[0].astype(half), None
            finally:
                ctx.half = half
        x, t = ctx.saved
        if t is None:  # not a NumPy array: the generic formulas (or the device kernels)
            return _gelu_bw(g, x, None, ctx.approx), None
        if ctx.approx == "tanh":
            # d/dx = 0.5 (1 + t) + 0.5 x (1 - t^2) k (1 + 3 * 0.044715 x^2)
            d = x * x
            d *= _c(x, 3 * 0.044715 * _SQRT_2_OVER_PI)
            d += _c(x, _SQRT_2_OVER_PI)
            d *= x
            d *= 1 - t * t
            d += 1 + t
            d *= _c(x, 0.5)
            d *= g
            return d, None
        # d/dx = Phi(x) + x * phi(x)
        return _gelu_erf_grad(g, x, t), None


def _gelu_graph(g: Tensor, x: Tensor, approx: str) -> Tensor:
    """GELU's input gradient as Tensor ops of g and x (create_graph=True)."""
    if approx == "tanh":
        k = math.sqrt(2.0 / math.pi)
        t = ((x + x * x * x * 0.044715) * k).tanh()
        return g * (0.5 * (1 + t) + 0.5 * x * (1 - t * t) * (k * (1 + 3 * 0.044715 * x * x)))
    cdf = 0.5 * (1 + (x * (1 / math.sqrt(2.0))).erf())
    pdf = (x * x * -0.5).exp() * (1 / math.sqrt(2 * math.pi))
    return g * (cdf + x * pdf)


def _gelu_bw(g, x, y, approx):
    xp = xp_of(x)
    if xp is not np and kernels.on_device(x):
        return g * (_gelu_tanh_grad_kernel(x) if approx == "tanh" else _gelu_grad_kernel(x))
    if approx == "tanh":
        k = math.sqrt(2.0 / math.pi)
        x2 = x * x
        inner = _c(x, k) * (x + _c(x, 0.044715) * x2 * x)
        t = xp.tanh(inner)
        dinner = _c(x, k) * (1 + _c(x, 3 * 0.044715) * x2)
        return g * (_c(x, 0.5) * (1 + t) + _c(x, 0.5) * x * (1 - t * t) * dinner)
    cdf = _c(x, 0.5) * (1 + _erf_np(x * _c(x, 1 / math.sqrt(2.0))))
    pdf = xp.exp(x * x * _c(x, -0.5)) * _c(x, 1 / math.sqrt(2 * math.pi))
    return g * (cdf + x * pdf)


_EXP_MAX = {2: 11.0, 4: 88.0, 8: 709.0}  # largest safe exp argument by float size


_BF16 = dtypes.bfloat16._np  # None without ml_dtypes: no array has it then


class _Sigmoid(Op):
    """1 / (1 + exp(-x)) in four in-place passes (the argument of exp is capped, so no
    overflow warning); backward g * y * (1 - y)."""

    save_out = True
    higher_order = True

    @staticmethod
    def forward(ctx, x):
        if is_half(x) and x.ndim:  # in float32, rounded once, as torch's kernel
            y = sigmoid_cpu(x.astype(np.float32)).astype(x.dtype)
            ctx.saved = (y,)
            return y
        if simd_float(x):
            y = sigmoid_cpu(x)  # torch's formula, 0 where exp(-x) overflows
        else:
            xp = xp_of(x)
            y = xp.negative(x, out=xp.empty_like(x))  # an array for a 0-d x (NumPy: a scalar)
            extrema.with_number(xp.minimum, y, _EXP_MAX.get(x.dtype.itemsize, 88.0), y)
            xp.exp(y, out=y)
            y += 1
            xp.divide(1.0, y, out=y)
        ctx.saved = (y,)
        return y

    @staticmethod
    def backward(ctx, g):
        (y,) = ctx.saved
        if y.dtype == _BF16 and not isinstance(g, Tensor):
            # torch's sigmoid_backward: bfloat16 in float, float16 in float16 (below)
            y32 = y.astype(np.float32)
            return (g.astype(np.float32) * (1 - y32) * y32).astype(y.dtype)
        return g * (1 - y) * y  # torch's order


def _prelu_graph(x, w):
    """PReLU in Tensor ops (create_graph=True), w broadcast as the forward does."""
    if x.ndim >= 2 and w.numel() > 1:
        w = w.reshape((1, -1) + (1,) * (x.ndim - 2))
    else:
        w = w.reshape(())
    return _bw.where(_wrap(x._data > 0), x, w * x)


class _PRelu(Op):
    save_in = (0, 1)
    higher_order = True  # create_graph=True: _prelu_graph, differentiated
    grad_reads_input = True  # as torch's _prelu_kernel_backward

    @staticmethod
    def forward(ctx, x, w):
        shape = [1] * x.ndim
        if x.ndim >= 2 and w.size > 1:
            shape[1] = w.size
        wb = w.reshape(shape) if x.ndim else w.reshape(())
        ctx.saved = (x, wb)
        ctx.wshape = w.shape
        return select.where(x > 0, x, wb * x)

    @staticmethod
    def backward(ctx, g):
        if isinstance(g, Tensor):
            return _bw.regrad(ctx, _prelu_graph, g)
        x, wb = ctx.saved
        pos = x > 0
        gx = select.where(pos, g, wb * g)
        gw = _bw.sum_to(select.where(pos, 0, g * x), wb.shape).reshape(ctx.wshape)
        return gx, gw


# --- softmax family -------------------------------------------------------------------------
def _half_backward(backward, ctx, g):
    """``backward`` for a float16/bfloat16 output made in float32 and rounded once (torch's):
    run in float32 on the saved output, the gradient rounded once."""
    (y,) = ctx.saved
    ctx.saved = (y.astype(np.float32),)
    try:
        gx = backward(ctx, g.astype(np.float32))[0]
    finally:
        ctx.saved = (y,)
    return gx.astype(y.dtype), None


# rows per block of the last-axis softmaxes: the max, shift, exp and sum passes of a block stay
# in the L2 cache, and ember's threads take blocks
_SM_BLOCK_BYTES = 256 << 10
_SM_THREADS_BYTES = 1 << 20


def _softmax_last(x, log: bool):
    """softmax (or log_softmax) over the last axis of a C-contiguous float32/float64 NumPy
    array, in blocks of rows on ember's threads: pass by pass over the whole array each of the
    four passes read and wrote it from memory on one thread (1024 x 1024 float32: 1.36 ms,
    700 x 10,000: 8.6 ms; torch 0.36 and 2.4 on two threads)."""
    c = x.shape[-1]
    x2 = x.reshape(-1, c)
    out = np.empty_like(x2)
    step = max(1, _SM_BLOCK_BYTES // (c * x2.itemsize))

    def part(lo: int, hi: int) -> None:
        for i in range(lo, hi, step):
            j = min(i + step, hi)
            ob = out[i:j]
            xb = x2[i:j]
            with np.errstate(invalid="ignore"):  # a row of -inf: NaN, as torch (no warning)
                np.subtract(xb, xb.max(1, keepdims=True), out=ob)
            if log:
                ob -= np.log(rsum(np.exp(ob), (1,)))
            else:
                np.exp(ob, out=ob)
                ob /= rsum(ob, (1,))

    if x2.nbytes >= _SM_THREADS_BYTES:
        _par.prange(x2.shape[0], part, x2.nbytes * 4)
    else:
        part(0, x2.shape[0])
    return out.reshape(x.shape)


def _last_axis_rows(x, dim) -> bool:
    """Whether ``_softmax_last`` serves a softmax of ``x`` over ``dim``."""
    return (
        simd_float(x)
        and x.ndim >= 2
        and dim is not None
        and dim % x.ndim == x.ndim - 1
        and x.flags.c_contiguous
    )


class _Softmax(Op):
    save_out = True
    higher_order = True

    @staticmethod
    def forward(ctx, x, dim):
        xp = xp_of(x)
        if x.size == 0:  # nothing to normalise (a zero-size dim has no max)
            ctx.saved, ctx.dim = (x,), dim
            return x.copy()
        if is_half(x):  # in float32, rounded once, as torch
            y = _Softmax.forward(ctx, x.astype(np.float32), dim).astype(x.dtype)
            ctx.saved = (y,)
            return y
        if x.ndim == 0:  # one value over its one "dim": 1 (NaN stays NaN), as torch
            y = _Softmax.forward(ctx, x.reshape(1), 0).reshape(())
            ctx.saved, ctx.scalar = (y,), True  # the output itself (a graph maps it back)
            return y
        if _last_axis_rows(x, dim):
            e = _softmax_last(x, log=False)
        else:
            e = x - x.max(axis=dim, keepdims=True)
            xp.exp(e, out=e)
            e /= rsum(e, (dim,) if dim is not None else tuple(range(x.ndim)))
        ctx.saved = (e,)
        ctx.dim = dim
        return e

    @staticmethod
    def backward(ctx, g):
        (y,) = ctx.saved
        if ctx.__dict__.get("scalar"):  # a 0-d input, computed as one of shape (1,)
            return _Softmax._backward(y.reshape(1), g.reshape(1), 0).reshape(()), None
        return _Softmax._backward(y, g, ctx.dim), None

    @staticmethod
    def _backward(y, g, d):
        if isinstance(g, Tensor):
            return y * (g - (g * y).sum(d, keepdim=True))
        if is_half(y):
            y32 = y.astype(np.float32)
            return _Softmax._backward(y32, g.astype(np.float32), d).astype(y.dtype)
        gy = g * y
        gy -= y * rsum(gy, (d,) if d is not None else tuple(range(y.ndim)))
        return gy


class _LogSoftmax(Op):
    save_out = True
    higher_order = True

    @staticmethod
    def forward(ctx, x, dim):
        xp = xp_of(x)
        if x.size == 0:  # nothing to normalise (a zero-size dim has no max)
            ctx.saved, ctx.dim = (x,), dim
            return x.copy()
        if is_half(x):  # in float32, rounded once, as torch
            y = _LogSoftmax.forward(ctx, x.astype(np.float32), dim).astype(x.dtype)
            ctx.saved = (y,)
            return y
        if _last_axis_rows(x, dim):
            y = _softmax_last(x, log=True)
        else:
            y = x - x.max(axis=dim, keepdims=True)
            y -= xp.log(rsum(xp.exp(y), (dim,) if dim is not None else tuple(range(x.ndim))))
        ctx.saved = (y,)
        ctx.dim = dim
        return y

    @staticmethod
    def backward(ctx, g):
        (y,) = ctx.saved
        if isinstance(g, Tensor):
            return g - y.exp() * g.sum(ctx.dim, keepdim=True), None
        if is_half(y):
            return _half_backward(_LogSoftmax.backward, ctx, g)
        xp = xp_of(y)
        d = ctx.dim
        return g - xp.exp(y) * rsum(g, (d,) if d is not None else tuple(range(y.ndim))), None


def _softmax_dim(ndim: int) -> int:
    return 0 if ndim in (0, 1, 3) else 1


def _dtname(x: Tensor) -> str:
    return scalar_type_name(x.dtype.name)


def prep_softmax(input: Tensor, dim, dtype, log: bool = False) -> tuple:
    """(input in ``dtype``, dim checked): torch's error for non-empty integer, bool or complex
    input (after the cast to ``dtype``), and its deprecation warning (pointing at the caller's
    caller) when dim is None."""
    if dtype is not None:
        input = input.to(dtype)
    nd = input._data.ndim
    if dim is None:
        warnings.warn(
            "Implicit dimension choice for softmax has been deprecated. Change the call "
            "to include dim=X as an argument.",
            stacklevel=3,
        )
        dim = _softmax_dim(nd)
    d = check_dim(dim, nd) if nd else None
    if input._data.dtype.kind not in "fV" and input._data.size:  # V: bfloat16
        # torch's kernel for the last dim and for any other differ in name
        last = d is None or d == nd - 1
        kernel = ("log_" if log else "") + ("softmax_lastdim" if last else "softmax")
        raise not_implemented_for(f"{kernel}_kernel_impl", input._data.dtype)
    return input, d


def softmax(input: Tensor, dim: int, dtype=None) -> Tensor:
    """exp(x) / sum(exp(x)) along dim (max-shifted, stable), as torch.softmax."""
    input, d = prep_softmax(input, dim, dtype)
    return _Softmax.apply(input, d)


def log_softmax(input: Tensor, dim: int, dtype=None) -> Tensor:
    """x - logsumexp(x) along dim (stable), as torch.log_softmax."""
    input, d = prep_softmax(input, dim, dtype, log=True)
    return _LogSoftmax.apply(input, d)
