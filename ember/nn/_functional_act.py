"""Activation functions and the softmax family, each a fused op with a hand-written backward."""

from __future__ import annotations

import math

import numpy as np

from .._backend import kernels
from .._backend.xp import CPU_ARRAY, xp_of
from .._tensor_errors import check_dim
from ..autograd.node import Op
from ..tensor import Tensor
from ._reduce import rsum

__all__ = [
    "relu",
    "relu_",
    "relu6",
    "leaky_relu",
    "leaky_relu_",
    "prelu",
    "elu",
    "elu_",
    "selu",
    "selu_",
    "celu",
    "celu_",
    "gelu",
    "silu",
    "mish",
    "hardtanh",
    "hardtanh_",
    "hardsigmoid",
    "hardswish",
    "softplus",
    "softsign",
    "threshold",
    "threshold_",
    "sigmoid",
    "tanh",
    "logsigmoid",
    "tanhshrink",
    "softshrink",
    "hardshrink",
    "softmax",
    "log_softmax",
    "softmin",
    "glu",
    "rrelu",
]


def _inplace_apply(x: Tensor, fn, *params) -> Tensor:
    from ..ops.inplace import inplace

    return inplace(x, lambda t: fn(t, *params))


def _act(name: str, fwd, grad):
    """An elementwise op from fwd(x, *params) and grad(x, y, *params) = dy/dx (arrays)."""

    def forward(ctx, x, *params):
        y = fwd(x, *params)
        ctx.saved = (x, y)
        ctx.params = params
        return y

    def backward(ctx, g):
        x, y = ctx.saved
        return (g * grad(x, y, *ctx.params),) + (None,) * len(ctx.params)

    cls = type(
        name,
        (Op,),
        {"forward": staticmethod(forward), "backward": staticmethod(backward), "save_in": (0,)},
    )
    return cls


def _c(x, v):
    """A Python constant as a 0-d array of x's dtype (keeps float32 math in float32)."""
    return (
        np.asarray(v, dtype=x.dtype) if type(x) is CPU_ARRAY else xp_of(x).asarray(v, dtype=x.dtype)
    )


def _sigm(x):
    xp = xp_of(x)
    return xp.exp(-xp.logaddexp(0, -x)).astype(x.dtype, copy=False)


def _softplus_np(x):
    return xp_of(x).logaddexp(0, x).astype(x.dtype, copy=False)


_Relu6 = _act(
    "Hardtanh",
    lambda x, lo, hi: x.clip(lo, hi),
    lambda x, y, lo, hi: ((x > lo) & (x < hi)).astype(x.dtype),
)
_Leaky = _act(
    "LeakyRelu",
    lambda x, s: xp_of(x).where(x > 0, x, x * _c(x, s)),
    lambda x, y, s: xp_of(x).where(x > 0, _c(x, 1), _c(x, s)),
)
_Elu = _act(
    "Elu",
    lambda x, a, scale, isc: xp_of(x).where(
        x > 0, x * _c(x, scale), _c(x, a * scale) * xp_of(x).expm1(x * _c(x, isc))
    ),
    lambda x, y, a, scale, isc: xp_of(x).where(
        x > 0, _c(x, scale), _c(x, a * scale * isc) * xp_of(x).exp(x * _c(x, isc))
    ),
)
_Silu = _act("Silu", lambda x: x * _sigm(x), lambda x, y: _silu_grad(x))
_Mish = _act("Mish", lambda x: x * xp_of(x).tanh(_softplus_np(x)), lambda x, y: _mish_grad(x))
_Hsig = _act(
    "Hardsigmoid",
    lambda x: (x / _c(x, 6) + _c(x, 0.5)).clip(0, 1),
    lambda x, y: ((x > -3) & (x < 3)).astype(x.dtype) / _c(x, 6),
)
_Hswish = _act(
    "Hardswish",
    lambda x: x * (x + _c(x, 3)).clip(0, 6) / _c(x, 6),
    lambda x, y: xp_of(x).where(
        x < -3, _c(x, 0), xp_of(x).where(x <= 3, x / _c(x, 3) + _c(x, 0.5), _c(x, 1))
    ),
)
_Softsign = _act("Softsign", lambda x: x / (1 + abs(x)), lambda x, y: 1 / (1 + abs(x)) ** 2)
_Thresh = _act(
    "Threshold",
    lambda x, th, v: xp_of(x).where(x > th, x, _c(x, v)),
    lambda x, y, th, v: (x > th).astype(x.dtype),
)
_LogSig = _act("LogSigmoid", lambda x: -_softplus_np(-x), lambda x, y: _sigm(-x))
_TanhShrink = _act("Tanhshrink", lambda x: x - xp_of(x).tanh(x), lambda x, y: xp_of(x).tanh(x) ** 2)
_SoftShrink = _act(
    "Softshrink",
    lambda x, lam: xp_of(x).where(
        x > lam, x - _c(x, lam), xp_of(x).where(x < -lam, x + _c(x, lam), _c(x, 0))
    ),
    lambda x, y, lam: (abs(x) > lam).astype(x.dtype),
)
_HardShrink = _act(
    "Hardshrink",
    lambda x, lam: xp_of(x).where(abs(x) > lam, x, _c(x, 0)),
    lambda x, y, lam: (abs(x) > lam).astype(x.dtype),
)


def _silu_grad(x):
    s = _sigm(x)
    return s * (1 + x * (1 - s))


def _mish_grad(x):
    xp = xp_of(x)
    tsp = xp.tanh(_softplus_np(x))
    return tsp + x * (1 - tsp * tsp) * _sigm(x)


def _softplus_fwd(x, beta, th):
    xp = xp_of(x)
    bx = x * _c(x, beta)
    return xp.where(bx > th, x, _softplus_np(bx) / _c(x, beta))


_Softplus = _act(
    "Softplus",
    _softplus_fwd,
    lambda x, y, beta, th: xp_of(x).where(x * beta > th, _c(x, 1), _sigm(x * _c(x, beta))),
)


def _erf_np(x):
    from ..ops.unary import erf
    from ..tensor import _wrap

    return erf(_wrap(x))._data


def _gelu_fwd(x, approx):
    xp = xp_of(x)
    if xp is not np and approx != "tanh" and kernels.on_device(x):
        return kernels.gelu_fw(x)
    if approx == "tanh":
        k = math.sqrt(2.0 / math.pi)
        inner = _c(x, k) * (x + _c(x, 0.044715) * x * x * x)
        return _c(x, 0.5) * x * (1 + xp.tanh(inner))
    return x * _c(x, 0.5) * (1 + _erf_np(x * _c(x, 1 / math.sqrt(2.0))))


def _gelu_grad(x, y, approx):
    xp = xp_of(x)
    if xp is not np and kernels.on_device(x):
        return kernels.gelu_tanh_grad(x) if approx == "tanh" else kernels.gelu_grad(x)
    if approx == "tanh":
        k = math.sqrt(2.0 / math.pi)
        x2 = x * x
        inner = _c(x, k) * (x + _c(x, 0.044715) * x2 * x)
        t = xp.tanh(inner)
        dinner = _c(x, k) * (1 + _c(x, 3 * 0.044715) * x2)
        return _c(x, 0.5) * (1 + t) + _c(x, 0.5) * x * (1 - t * t) * dinner
    cdf = _c(x, 0.5) * (1 + _erf_np(x * _c(x, 1 / math.sqrt(2.0))))
    pdf = xp.exp(x * x * _c(x, -0.5)) * _c(x, 1 / math.sqrt(2 * math.pi))
    return cdf + x * pdf


_Gelu = _act("Gelu", _gelu_fwd, _gelu_grad)


def _float_check(x: Tensor, name: str) -> None:
    if x._data.dtype.kind not in "fc":
        raise RuntimeError(f"\"{name}\" not implemented for '{_dtname(x)}'")


def _dtname(x: Tensor) -> str:
    from ..ops.inplace import _pretty

    return _pretty(x.dtype.name)


def relu(input: Tensor, inplace: bool = False) -> Tensor:
    """max(x, 0)."""
    from ..ops.unary import relu as _relu

    if inplace:
        return _inplace_apply(input, _relu)
    return _relu(input)


def relu_(input: Tensor) -> Tensor:
    """In-place ReLU."""
    return relu(input, inplace=True)


def hardtanh(
    input: Tensor, min_val: float = -1.0, max_val: float = 1.0, inplace: bool = False
) -> Tensor:
    """Clamp to [min_val, max_val]."""
    if min_val > max_val:
        raise ValueError("min_val cannot be greater than max_val")
    if inplace:
        return _inplace_apply(input, _Relu6.apply, min_val, max_val)
    return _Relu6.apply(input, min_val, max_val)


def hardtanh_(input: Tensor, min_val: float = -1.0, max_val: float = 1.0) -> Tensor:
    """In-place hardtanh."""
    return hardtanh(input, min_val, max_val, True)


def relu6(input: Tensor, inplace: bool = False) -> Tensor:
    """min(max(x, 0), 6)."""
    return hardtanh(input, 0.0, 6.0, inplace)


def leaky_relu(input: Tensor, negative_slope: float = 0.01, inplace: bool = False) -> Tensor:
    """x where x > 0, else negative_slope * x."""
    if inplace:
        return _inplace_apply(input, _Leaky.apply, negative_slope)
    return _Leaky.apply(input, negative_slope)


def leaky_relu_(input: Tensor, negative_slope: float = 0.01) -> Tensor:
    """In-place leaky ReLU."""
    return leaky_relu(input, negative_slope, True)


def elu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """x where x > 0, else alpha * (exp(x) - 1)."""
    if inplace:
        return _inplace_apply(input, _Elu.apply, alpha, 1.0, 1.0)
    return _Elu.apply(input, alpha, 1.0, 1.0)


def elu_(input: Tensor, alpha: float = 1.0) -> Tensor:
    """In-place ELU."""
    return elu(input, alpha, True)


_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


def selu(input: Tensor, inplace: bool = False) -> Tensor:
    """Scaled ELU with the self-normalising constants."""
    if inplace:
        return _inplace_apply(input, _Elu.apply, _SELU_ALPHA, _SELU_SCALE, 1.0)
    return _Elu.apply(input, _SELU_ALPHA, _SELU_SCALE, 1.0)


def selu_(input: Tensor) -> Tensor:
    """In-place SELU."""
    return selu(input, True)


def celu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """x where x > 0, else alpha * (exp(x / alpha) - 1)."""
    if alpha == 0:
        raise RuntimeError("ZeroDivisionError")
    if inplace:
        return _inplace_apply(input, _Elu.apply, alpha, 1.0, 1.0 / alpha)
    return _Elu.apply(input, alpha, 1.0, 1.0 / alpha)


def celu_(input: Tensor, alpha: float = 1.0) -> Tensor:
    """In-place CELU."""
    return celu(input, alpha, True)


def gelu(input: Tensor, approximate: str = "none") -> Tensor:
    """Gaussian error linear unit (exact erf form, or the tanh approximation)."""
    if approximate not in ("none", "tanh"):
        raise RuntimeError("approximate argument must be either none or tanh.")
    return _Gelu.apply(input, approximate)


def silu(input: Tensor, inplace: bool = False) -> Tensor:
    """x * sigmoid(x)."""
    if inplace:
        return _inplace_apply(input, _Silu.apply)
    return _Silu.apply(input)


def mish(input: Tensor, inplace: bool = False) -> Tensor:
    """x * tanh(softplus(x))."""
    if inplace:
        return _inplace_apply(input, _Mish.apply)
    return _Mish.apply(input)


def hardsigmoid(input: Tensor, inplace: bool = False) -> Tensor:
    """Piecewise-linear sigmoid: clamp(x / 6 + 1/2, 0, 1)."""
    if inplace:
        return _inplace_apply(input, _Hsig.apply)
    return _Hsig.apply(input)


def hardswish(input: Tensor, inplace: bool = False) -> Tensor:
    """x * hardsigmoid(x)."""
    if inplace:
        return _inplace_apply(input, _Hswish.apply)
    return _Hswish.apply(input)


def softplus(input: Tensor, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    """log(1 + exp(beta x)) / beta, linear above the threshold."""
    return _Softplus.apply(input, beta, threshold)


def softsign(input: Tensor) -> Tensor:
    """x / (1 + |x|)."""
    return _Softsign.apply(input)


def threshold(input: Tensor, threshold: float, value: float, inplace: bool = False) -> Tensor:
    """x where x > threshold, else value."""
    if inplace:
        return _inplace_apply(input, _Thresh.apply, threshold, value)
    return _Thresh.apply(input, threshold, value)


def threshold_(input: Tensor, threshold: float, value: float) -> Tensor:
    """In-place threshold."""
    return _inplace_apply(input, _Thresh.apply, threshold, value)


_EXP_MAX = {2: 11.0, 4: 88.0, 8: 709.0}  # largest safe exp argument by float size


class _Sigmoid(Op):
    """1 / (1 + exp(-x)) in four in-place passes (the argument of exp is capped, so no
    overflow warning); backward g * y * (1 - y)."""

    save_out = True
    higher_order = True

    @staticmethod
    def forward(ctx, x):
        xp = xp_of(x)
        y = xp.negative(x)
        xp.minimum(y, _EXP_MAX.get(x.dtype.itemsize, 88.0), out=y)
        xp.exp(y, out=y)
        y += 1
        xp.reciprocal(y, out=y)
        ctx.saved = (y,)
        return y

    @staticmethod
    def backward(ctx, g):
        (y,) = ctx.saved
        return g * y * (1 - y)


def sigmoid(input: Tensor) -> Tensor:
    """Logistic function."""
    if input._data.dtype.kind != "f":
        from ..ops.unary import sigmoid as _s

        return _s(input)
    return _Sigmoid.apply(input)


def tanh(input: Tensor) -> Tensor:
    """Hyperbolic tangent."""
    from ..ops.unary import tanh as _t

    return _t(input)


def logsigmoid(input: Tensor) -> Tensor:
    """log(sigmoid(x)), computed stably."""
    return _LogSig.apply(input)


def tanhshrink(input: Tensor) -> Tensor:
    """x - tanh(x)."""
    return _TanhShrink.apply(input)


def softshrink(input: Tensor, lambd: float = 0.5) -> Tensor:
    """Shrink towards zero by lambd, zero inside [-lambd, lambd]."""
    return _SoftShrink.apply(input, lambd)


def hardshrink(input: Tensor, lambd: float = 0.5) -> Tensor:
    """x where |x| > lambd, else 0."""
    return _HardShrink.apply(input, lambd)


class _PRelu(Op):
    save_in = (0, 1)

    @staticmethod
    def forward(ctx, x, w):
        xp = xp_of(x)
        shape = [1] * x.ndim
        if x.ndim >= 2 and w.size > 1:
            shape[1] = w.size
        wb = w.reshape(shape) if x.ndim else w.reshape(())
        ctx.saved = (x, wb)
        ctx.wshape = w.shape
        return xp.where(x > 0, x, wb * x)

    @staticmethod
    def backward(ctx, g):
        from ..ops._bw import sum_to

        x, wb = ctx.saved
        xp = xp_of(x)
        pos = x > 0
        gx = xp.where(pos, g, wb * g)
        gw = sum_to(xp.where(pos, 0, g * x), wb.shape).reshape(ctx.wshape)
        return gx, gw


def prelu(input: Tensor, weight: Tensor) -> Tensor:
    """max(0, x) + weight * min(0, x), weight per channel (dim 1) or shared."""
    n = weight.numel()
    if n != 1 and (input.ndim < 2 or input.shape[1] != n):
        ch = input.shape[1] if input.ndim >= 2 else 1
        raise RuntimeError(
            f"Mismatch of parameter numbers and input channel size. Found parameter numbers = "
            f"{n} and channel size = {ch}."
        )
    return _PRelu.apply(input, weight)


def rrelu(
    input: Tensor,
    lower: float = 1.0 / 8,
    upper: float = 1.0 / 3,
    training: bool = False,
    inplace: bool = False,
) -> Tensor:
    """Leaky ReLU with a random slope in training, the mean slope in eval."""
    if not training:
        return leaky_relu(input, (lower + upper) / 2, inplace)
    from .._backend.xp import move_like
    from ..random import _gen
    from ..tensor import _wrap

    slopes = _gen(None).uniform(lower, upper, input._data.shape).astype(input._data.dtype)
    slopes = move_like(slopes, input._data)
    slopes = xp_of(slopes).where(input._data >= 0, 1, slopes).astype(input._data.dtype)
    return input * _wrap(slopes)


# --- softmax family ------------------------------------------------------------------------
class _Softmax(Op):
    save_out = True
    higher_order = True

    @staticmethod
    def forward(ctx, x, dim):
        xp = xp_of(x)
        e = x - x.max(axis=dim, keepdims=True)
        xp.exp(e, out=e)
        e /= rsum(e, (dim,) if dim is not None else tuple(range(x.ndim)))
        ctx.saved = (e,)
        ctx.dim = dim
        return e

    @staticmethod
    def backward(ctx, g):
        (y,) = ctx.saved
        if isinstance(g, Tensor):
            return y * (g - (g * y).sum(ctx.dim, keepdim=True)), None
        gy = g * y
        d = ctx.dim
        gy -= y * rsum(gy, (d,) if d is not None else tuple(range(y.ndim)))
        return gy, None


class _LogSoftmax(Op):
    save_out = True
    higher_order = True

    @staticmethod
    def forward(ctx, x, dim):
        xp = xp_of(x)
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
        xp = xp_of(y)
        d = ctx.dim
        return g - xp.exp(y) * rsum(g, (d,) if d is not None else tuple(range(y.ndim))), None


def _softmax_dim(ndim: int) -> int:
    return 0 if ndim in (0, 1, 3) else 1


def _prep_softmax(input: Tensor, dim, dtype):
    if dtype is not None:
        input = input.to(dtype)
    elif input._data.dtype.kind not in "fc":
        raise RuntimeError(
            f"\"softmax_lastdim_kernel_impl\" not implemented for '{_dtname(input)}'"
        )
    nd = input._data.ndim
    if dim is None:
        import warnings

        warnings.warn(
            "Implicit dimension choice for softmax has been deprecated. Change the call "
            "to include dim=X as an argument.",
            stacklevel=3,
        )
        dim = _softmax_dim(nd)
    return input, check_dim(dim, nd) if nd else None


def softmax(input: Tensor, dim: int | None = None, _stacklevel: int = 3, dtype=None) -> Tensor:
    """exp(x) / sum(exp(x)) along dim (max-shifted, stable)."""
    input, d = _prep_softmax(input, dim, dtype)
    return _Softmax.apply(input, d)


def log_softmax(input: Tensor, dim: int | None = None, _stacklevel: int = 3, dtype=None) -> Tensor:
    """x - logsumexp(x) along dim (stable)."""
    input, d = _prep_softmax(input, dim, dtype)
    return _LogSoftmax.apply(input, d)


def softmin(input: Tensor, dim: int | None = None, _stacklevel: int = 3, dtype=None) -> Tensor:
    """softmax(-x) along dim."""
    return softmax(-input, dim, dtype=dtype)


def glu(input: Tensor, dim: int = -1) -> Tensor:
    """First half times sigmoid of the second half along dim."""
    if input.ndim == 0:
        raise RuntimeError("glu does not support scalars because halving size must be even")
    n = input.shape[dim]
    if n % 2:
        raise RuntimeError(
            f"Halving dimension must be even, but dimension "
            f"{check_dim(dim, input.ndim)} is size {n}"
        )
    a, b = input.split(n // 2, dim)
    return a * sigmoid(b)
