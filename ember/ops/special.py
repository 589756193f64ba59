"""Special functions (torch.special and the top-level lgamma, digamma, polygamma, mvlgamma, i0,
igamma, igammac, xlogy): each op's forward and backward side by side, over the NumPy kernels of
``_gamma_math``, ``_bessel_math`` and ``_special_math`` (float64 inside; float32 and narrower
inputs are rounded once at the end; integer inputs compute in the default float dtype).
Gradients exist where torch has them; the Bessel, Airy and polynomial families have none in
torch either.
"""

from __future__ import annotations

import math

import numpy as np

from .. import dtypes
from .._backend.xp import CPU_ARRAY
from .._grad_state import state as _gs
from .._tensor_errors import not_implemented_for
from ..autograd.node import Op, record1
from ..tensor import Tensor, _wrap, result_type
from . import _bessel_math as _bm
from . import _bw
from . import _gamma_math as _gm
from . import _special_math as _sm
from ._elementwise import elementwise_op
from .inplace import copy_into_out

__all__ = [
    "lgamma",
    "digamma",
    "polygamma",
    "mvlgamma",
    "i0",
    "igamma",
    "igammac",
    "xlogy",
]

_SQRT_2PI = math.sqrt(2 * math.pi)
_TWO_OVER_SQRT_PI = 2 / math.sqrt(math.pi)


def _host(a):
    """A NumPy array for the NumPy-only kernels (CuPy arrays go through the host)."""
    if type(a) is CPU_ARRAY:
        return a, None
    if hasattr(a, "get"):
        import cupy  # optional dependency, only for CUDA tensors

        return a.get(), cupy
    return np.asarray(a), None


def _f64(kernel):
    """A kernel on float64 arrays as a function of any float array, in that array's dtype."""

    def f(a):
        h, back = _host(a)
        r = kernel(np.asarray(h, dtype=np.float64)).astype(h.dtype, copy=False)
        return back.asarray(r) if back is not None else r

    return f


def _as_tensor(x) -> Tensor:
    return x if isinstance(x, Tensor) else _wrap(np.asarray(x))


def _f64_or_f32(kernel, kernel_f32):
    """``_f64(kernel)``, except that float32 NumPy arrays go to their own ``kernel_f32``."""
    wide = _f64(kernel)

    def f(a):
        if type(a) is CPU_ARRAY and a.dtype == np.float32:
            return kernel_f32(a)
        return wide(a)

    return f


def _unary(
    name, kernel, grad=None, *, torch_name=None, kernel_f32=None, no_complex=None, graph=None
):
    """A differentiable elementwise op from a float64 kernel (and optionally a float32 one) and
    grad(g, a, y) on arrays; ``no_complex`` names torch's kernel in its refusal of complex
    input, ``<name>_cpu`` by default (these kernels are real: a complex input lost its
    imaginary part); ``graph(g, x)`` is the gradient in Tensor ops (create_graph=True: torch's
    double backward), from the functions below, each differentiable again."""
    no_complex = no_complex or f"{name}_cpu"
    fwd = _f64(kernel) if kernel_f32 is None else _f64_or_f32(kernel, kernel_f32)
    cls = elementwise_op(
        "".join(p.capitalize() for p in name.split("_")),
        fwd,
        grad,
        float_only=True,
        save="in" if grad is not None else None,
        opmath_grad=False,  # torch's gradients of these are formulas of half-type ops
        graph=graph,
    )

    def fn(input, *, out=None):
        input = _as_tensor(input)
        if no_complex is not None and input._data.dtype.kind == "c":
            raise not_implemented_for(no_complex, input._data.dtype)
        if grad is not None and input._rg and _gs.enabled:
            r = record1(cls, input)
        else:
            a = input._data
            if a.dtype.kind in "biu":
                a = a.astype(dtypes._default.np)
            r = _wrap(fwd(a.astype(np.float32)).astype(a.dtype) if a.dtype.kind == "V" else fwd(a))
        if out is not None:
            return copy_into_out(out, r)
        return r

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = f"Elementwise {name}, as torch.{torch_name or 'special.' + name}."
    fn.op = cls
    return fn


def _g(kernel):
    """A kernel evaluated for a backward formula, in the gradient's dtype."""

    def f(a):
        return _f64(kernel)(a)

    return f


def _digamma_grad(g, a, y):
    return g * _g(_gm.trigamma)(a)


lgamma = _unary(
    "lgamma",
    _gm.lgamma,
    lambda g, a, y: g * _g(_gm.digamma)(a),
    torch_name="lgamma",
    kernel_f32=_gm.lgamma_f32,
    no_complex="lgamma_vml_cpu",
    graph=lambda g, x: g * digamma(x),
)
gammaln = _unary(
    "gammaln",
    _gm.lgamma,
    lambda g, a, y: g * _g(_gm.digamma)(a),
    kernel_f32=_gm.lgamma_f32,
    no_complex="lgamma_vml_cpu",
    graph=lambda g, x: g * digamma(x),
)
digamma = _unary(
    "digamma",
    _gm.digamma,
    _digamma_grad,
    torch_name="digamma",
    kernel_f32=_gm.digamma_f32,
    no_complex="digamma",
    graph=lambda g, x: g * polygamma(1, x),
)
psi = _unary(
    "psi",
    _gm.digamma,
    _digamma_grad,
    kernel_f32=_gm.digamma_f32,
    no_complex="digamma",
    graph=lambda g, x: g * polygamma(1, x),
)
i0 = _unary(
    "i0",
    _bm.i0,
    lambda g, a, y: g * _g(_bm.i1)(a),
    torch_name="i0",
    no_complex="i0_vml_cpu",
    graph=lambda g, x: g * i1(x),
)
i0e = _unary(
    "i0e",
    _bm.i0e,
    lambda g, a, y: g * (_g(_bm.i1e)(a) - np.sign(a) * y),
    graph=lambda g, x: g * (i1e(x) - _const(np.sign(x._data)) * i0e(x)),
)


def _const(a) -> Tensor:
    """An array that a graph gradient takes as a constant (a sign, a mask)."""
    return _wrap(np.asarray(a))


def _at_zero(x, value: float, f) -> Tensor:
    """f(x) where x != 0, ``value`` where x == 0 (f evaluated at 1 there, so no 0 / 0)."""
    zero = x._data == 0
    safe = x + _const(zero.astype(x._data.dtype))
    return _bw.where(_const(zero), value, f(safe))


def _i1_grad(g, a, y):
    with np.errstate(divide="ignore", invalid="ignore"):
        d = np.where(a == 0, 0.5, _g(_bm.i0)(a) - y / a)
    return g * d.astype(y.dtype, copy=False)


def _i1e_grad(g, a, y):
    with np.errstate(divide="ignore", invalid="ignore"):
        d = np.where(a == 0, 0.5, _g(_bm.i0e)(a) - y * (np.sign(a) + 1 / a))
    return g * d.astype(y.dtype, copy=False)


i1 = _unary(
    "i1", _bm.i1, _i1_grad, graph=lambda g, x: g * _at_zero(x, 0.5, lambda t: i0(t) - i1(t) / t)
)
i1e = _unary(
    "i1e",
    _bm.i1e,
    _i1e_grad,
    graph=lambda g, x: (
        g * _at_zero(x, 0.5, lambda t: i0e(t) - i1e(t) * (_const(np.sign(t._data)) + 1 / t))
    ),
)
erfcx = _unary(
    "erfcx",
    _sm.erfcx,
    lambda g, a, y: g * (2 * a * y - _TWO_OVER_SQRT_PI).astype(y.dtype),
    no_complex="erfcx_cpu",
    graph=lambda g, x: g * (2 * x * erfcx(x) - _TWO_OVER_SQRT_PI),
)
ndtr = _unary(
    "ndtr",
    _sm.ndtr,
    lambda g, a, y: g * (np.exp(-0.5 * a * a) / _SQRT_2PI).astype(y.dtype),
    no_complex="erf_vml_cpu",  # torch's ndtr is made of erf
    graph=lambda g, x: g * ((-0.5 * x * x).exp() / _SQRT_2PI),
)
ndtri = _unary(
    "ndtri",
    _sm.ndtri,
    lambda g, a, y: g * (_SQRT_2PI * np.exp(0.5 * y * y)).astype(y.dtype),
    graph=lambda g, x: g * (_SQRT_2PI * (0.5 * ndtri(x) ** 2).exp()),
)
log_ndtr = _unary(
    "log_ndtr",
    _sm.log_ndtr,
    lambda g, a, y: g * (np.exp(-0.5 * a * a - y) / _SQRT_2PI).astype(y.dtype),
    graph=lambda g, x: g * ((-0.5 * x * x - log_ndtr(x)).exp() / _SQRT_2PI),
)


def _entr(x):
    with np.errstate(divide="ignore", invalid="ignore"):
        r = np.where(x > 0, -x * np.log(np.where(x > 0, x, 1.0)), np.where(x == 0, 0.0, -np.inf))
    return np.where(np.isnan(x), np.nan, r)


def _entr_grad(g, a, y):
    with np.errstate(divide="ignore", invalid="ignore"):
        d = -(1 + np.log(a))
    return g * d.astype(y.dtype, copy=False)


entr = _unary("entr", _entr, _entr_grad, graph=lambda g, x: g * -(1 + x.log()))


airy_ai = _unary("airy_ai", _bm.airy_ai)
bessel_j0 = _unary("bessel_j0", _bm.j0)
bessel_j1 = _unary("bessel_j1", _bm.j1)
bessel_y0 = _unary("bessel_y0", _bm.y0)
bessel_y1 = _unary("bessel_y1", _bm.y1)
modified_bessel_i0 = _unary("modified_bessel_i0", _bm.i0)
modified_bessel_i1 = _unary("modified_bessel_i1", _bm.i1)
modified_bessel_k0 = _unary("modified_bessel_k0", _bm.k0)
modified_bessel_k1 = _unary("modified_bessel_k1", _bm.k1)
scaled_modified_bessel_k0 = _unary("scaled_modified_bessel_k0", _bm.k0e)
scaled_modified_bessel_k1 = _unary("scaled_modified_bessel_k1", _bm.k1e)
spherical_bessel_j0 = _unary("spherical_bessel_j0", _bm.spherical_j0)


# -- polygamma ---------------------------------------------------------------------------------


class _Polygamma(Op):
    save_in = (0,)
    higher_order = True  # create_graph=True: polygamma(n + 1) as an op, differentiable again

    @staticmethod
    def forward(ctx, a, n):
        ctx.saved = (a,)
        ctx.n = n
        return _f64(lambda x: _gm.polygamma(n, x))(a)

    @staticmethod
    def backward(ctx, g):
        (a,) = ctx.saved
        n = ctx.n
        if isinstance(g, Tensor):
            return g * polygamma(n + 1, a), None
        return g * _f64(lambda x: _gm.polygamma(n + 1, x))(a), None


def polygamma(n: int, input: Tensor, *, out=None) -> Tensor:
    """The n-th derivative of digamma, as torch.polygamma (n >= 0)."""
    if n < 0:
        raise RuntimeError("polygamma(n, x) does not support negative n.")
    if isinstance(input, Tensor) and input._data.dtype.kind == "c":
        kernel = ("digamma", "trigamma")[n] if n < 2 else "polygamma"
        raise not_implemented_for(kernel, input._data.dtype)
    input = _float_tensor(input)
    return _finish(_Polygamma.apply(input, int(n)), out)


def _float_tensor(x) -> Tensor:
    x = _as_tensor(x)
    if x._data.dtype.kind in "biu":
        return x.to(dtypes.get_default_dtype())
    return x


def _finish(r: Tensor, out) -> Tensor:
    if out is not None:
        return copy_into_out(out, r)
    return r


def multigammaln(input: Tensor, p: int, *, out=None) -> Tensor:
    """The multivariate log-gamma of dimension p, as torch.special.multigammaln / mvlgamma."""
    if p < 1:
        raise RuntimeError("p has to be greater than or equal to 1")
    if isinstance(input, Tensor) and input._data.dtype.kind == "c":
        raise not_implemented_for("arange_cpu", input._data.dtype)  # torch's own refusal
    input = _float_tensor(input)
    if not input.is_floating_point():
        raise RuntimeError("mvlgamma is not implemented for " + str(input.dtype))
    if bool((input._data <= (p - 1) / 2).any()):
        raise RuntimeError(f"All elements must be greater than (p-1)/2 = {(p - 1) / 2}")
    r = lgamma(input)
    for j in range(1, p):
        r = r + lgamma(input - j / 2)
    r = r + p * (p - 1) / 4 * math.log(math.pi)
    return _finish(r, out)


def mvlgamma(input: Tensor, p: int, *, out=None) -> Tensor:
    """The multivariate log-gamma, as torch.mvlgamma."""
    return multigammaln(input, p, out=out)


# -- functions of two tensors ------------------------------------------------------------------


_KERNEL = {"gammainc": "igamma", "gammaincc": "igammac"}  # torch's kernels behind the aliases


def _pair(a, b, name: str):
    """Two operands as tensors of their float result type (Python numbers allowed)."""
    if not isinstance(a, Tensor) and not isinstance(b, Tensor):
        raise TypeError(f"{name}(): expected at least one Tensor argument")
    dt = result_type(a, b)
    if dt.is_complex:  # real kernels: a complex operand lost its imaginary part
        raise not_implemented_for(f"{_KERNEL.get(name, name)}_cpu", dt.np)
    if not dt.is_floating_point:
        dt = dtypes.get_default_dtype()
    ta = a.to(dt) if isinstance(a, Tensor) else _wrap(np.asarray(a, dtype=_np_of(dt)))
    tb = b.to(dt) if isinstance(b, Tensor) else _wrap(np.asarray(b, dtype=_np_of(dt)))
    if dt.np.kind == "V":
        ta, tb = ta.to(dt), tb.to(dt)
    return ta, tb


def _np_of(dt) -> np.dtype:
    return dt.np if dt.np.kind != "V" else np.dtype(np.float32)


def _binary_op(name, kernel, grad_a=None, grad_b=None, graph=None, missing=None):
    """An Op class of two broadcast float arrays: kernel(a, b) on float64; grad_a/grad_b give
    d/da and d/db as arrays (None: torch has no such derivative, and ``missing`` is the name its
    NotImplementedError gives); ``graph(a, b)`` is the function in Tensor ops, which
    create_graph=True differentiates (torch's double backward)."""
    what = missing or name

    def forward(ctx, a, b):
        ctx.saved = (a, b)
        dt = np.result_type(a.dtype, b.dtype)
        if dt.kind == "V":
            dt = a.dtype
        ha, back = _host(a)
        hb, _ = _host(b)
        r = kernel(ha.astype(np.float64), hb.astype(np.float64))
        r = np.asarray(r).astype(dt if dt.kind != "V" else np.float32, copy=False)
        if dt.kind == "V":
            r = r.astype(dt)
        return back.asarray(r) if back is not None else r

    def backward(ctx, g):
        if graph is not None and isinstance(g, Tensor):
            return _bw.regrad(ctx, graph, g)
        a, b = ctx.saved
        n = ctx._needs
        ga = gb = None
        a64, b64 = a.astype(np.float64), b.astype(np.float64)
        if n[0]:
            if grad_a is None:
                raise NotImplementedError(f"the derivative for '{what}' is not implemented.")
            ga = _bw.sum_to(g * grad_a(a64, b64).astype(g.dtype), a.shape)
        if n[1]:
            if grad_b is None:
                raise NotImplementedError(f"the derivative for '{what}' is not implemented.")
            gb = _bw.sum_to(g * grad_b(a64, b64).astype(g.dtype), b.shape)
        return ga, gb

    return type(
        name,
        (Op,),
        {
            "forward": staticmethod(forward),
            "backward": staticmethod(backward),
            "save_in": (0, 1),
            "higher_order": graph is not None,
        },
    )


def _xlogy(x, y):
    with np.errstate(divide="ignore", invalid="ignore"):
        r = x * np.log(y)
    r = np.where(x == 0, 0.0, r)
    return np.where(np.isnan(y), np.nan, r)


def _xlog1py(x, y):
    with np.errstate(divide="ignore", invalid="ignore"):
        r = x * np.log1p(y)
    r = np.where(x == 0, 0.0, r)
    return np.where(np.isnan(y), np.nan, r)


def _xlogy_ga(x, y):
    """torch's: log y, 0 where x is 0 and y is not positive (its log -inf or NaN)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where((x == 0) & (y <= 0), 0.0, np.log(y))


def _xlog1py_ga(x, y):
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where((x == 0) & (y <= -1), 0.0, np.log1p(y))


def _div(x, y):
    """x / y (torch's gradient of y in xlogy: NaN at 0 / 0)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return x / y


def _x_times(f):
    """x * f(y), 0 where x is 0, in Tensor ops (xlogy's and xlog1py's graph form)."""
    return lambda x, y: _bw.where(_const(x._data == 0), 0.0, x * f(y))


_Xlogy = _binary_op("XlogyBackward0", _xlogy, _xlogy_ga, _div, _x_times(lambda y: y.log()))
_Xlog1py = _binary_op(
    "SpecialXlog1pyBackward0",
    _xlog1py,
    _xlog1py_ga,
    lambda x, y: _div(x, 1 + y),
    _x_times(lambda y: y.log1p()),
)
_Zeta = _binary_op(
    "SpecialZetaBackward0", _gm.zeta, None, lambda s, q: -s * _gm.zeta(s + 1, q), missing="zeta"
)


def _igamma_dx(a, x):
    with np.errstate(divide="ignore", invalid="ignore", over="ignore", under="ignore"):
        return np.exp((a - 1) * np.log(x) - x - _gm.lgamma(a))


_Igamma = _binary_op("IgammaBackward0", _gm.gammainc, None, _igamma_dx, missing="igamma: input")
_Igammac = _binary_op(
    "IgammacBackward0",
    _gm.gammaincc,
    None,
    lambda a, x: -_igamma_dx(a, x),
    missing="igammac: input",
)


def _binary(cls, name):
    def fn(input, other, *, out=None):
        a, b = _pair(input, other, name)
        return _finish(cls.apply(a, b), out)

    fn.__name__ = fn.__qualname__ = name
    return fn


xlogy = _binary(_Xlogy, "xlogy")
xlogy.__doc__ = "input * log(other), 0 where input is 0 (NaN other stays NaN), as torch.xlogy."
xlog1py = _binary(_Xlog1py, "xlog1py")
xlog1py.__doc__ = "input * log1p(other), 0 where input is 0, as torch.special.xlog1py."
zeta = _binary(_Zeta, "zeta")
zeta.__doc__ = "The Hurwitz zeta function zeta(input, other), as torch.special.zeta."
igamma = _binary(_Igamma, "igamma")
igamma.__doc__ = "The regularised lower incomplete gamma function P(input, other), torch.igamma."
igammac = _binary(_Igammac, "igammac")
igammac.__doc__ = "The regularised upper incomplete gamma function Q(input, other)."
gammainc = _binary(_Igamma, "gammainc")
gammainc.__doc__ = igamma.__doc__
gammaincc = _binary(_Igammac, "gammaincc")
gammaincc.__doc__ = igammac.__doc__


# -- orthogonal polynomials (no gradient in torch) ---------------------------------------------


def _recurrence(x, n, p0, p1, step):
    """Evaluate a three-term recurrence up to degree n (an integer array) for every element."""
    nmax = int(n.max()) if n.size else 0
    p, q = p0, p1
    r = np.where(n == 0, p0, p1)
    for k in range(2, nmax + 1):
        nxt = step(k, p, q)
        r = np.where(n == k, nxt, r)
        p, q = q, nxt
    return r


def _acos_where(x, mask):
    with np.errstate(invalid="ignore"):
        return np.arccos(np.where(mask, x, 0.0))


def _cheb(kind: str, shifted: bool):
    """Chebyshev T/U/V/W (or shifted) of degree n, with torch's special cases."""
    limits = {"t": 6, "u": 8, "v": 8, "w": 8}
    if shifted:
        limits = {"t": 6, "u": 6, "v": 6, "w": 4}

    def kernel(x, n):
        x, n = np.broadcast_arrays(x, n)
        n = np.trunc(n).astype(np.int64)
        y = x + x - 1.0 if shifted else x
        one = np.ones_like(y)
        start = {"t": y, "u": y + y, "v": y + y - 1.0, "w": y + y + 1.0}[kind]
        out = _recurrence(y, np.maximum(n, 0), one, start, lambda k, p, q: (y + y) * q - p)
        trig = (n > limits[kind]) & (np.abs(y) < 1)
        if trig.any():
            th = _acos_where(y, trig)
            with np.errstate(divide="ignore", invalid="ignore"):
                if kind == "t":
                    val = np.cos(n * th)
                elif kind == "u":
                    s = np.sin(th)
                    val = np.where(
                        s != 0, np.sin((n + 1) * th) / s, (n + 1) * np.cos((n + 1) * th) / y
                    )
                elif kind == "v":
                    half = np.cos(0.5 * th) if not shifted else np.cos(0.5 * th)
                    val = np.cos((n + 0.5) * th) / half
                    ok = (np.sin(0.5 * th) != 1) if not shifted else (np.sin(0.5 * th) != 1)
                    val = np.where(ok, val, np.where(n % 2 == 0, n + n + 1, -(n + n + 1)))
                else:
                    val = np.sin((n + 0.5) * th) / np.sin(0.5 * th)
                    ok = np.cos(0.5 * th) != 1
                    alt = np.where(y > 0, n + n + 1, np.where(n % 2 == 0, 1.0, -1.0))
                    val = np.where(ok, val, alt)
            out = np.where(trig, val, out)
        # the end points (x = +-1, or 0 and 1 for the shifted forms)
        top = (x == 1.0) if shifted else (y == 1.0)
        bot = (x == 0.0) if shifted else (y == -1.0)
        even = n % 2 == 0
        at_top = {"t": 1.0, "u": n + 1.0, "v": 1.0, "w": n + n + 1.0}[kind]
        at_bot = {
            "t": np.where(even, 1.0, -1.0),
            "u": np.where(even, n + 1.0, -(n + 1.0)),
            "v": np.where(even, n + n + 1.0, -(n + n + 1.0)),
            "w": np.where(even, 1.0, -1.0),
        }[kind]
        out = np.where(top, at_top, np.where(bot, at_bot, out))
        return np.where(n < 0, 0.0, out)

    return kernel


def _hermite_h(x, n):
    x, n = np.broadcast_arrays(x, n)
    n = np.trunc(n).astype(np.int64)
    out = _recurrence(
        x, np.clip(n, 0, 512), np.ones_like(x), x + x, lambda k, p, q: (x + x) * q - 2 * (k - 1) * p
    )
    out = np.where(n > 512, np.nan, out)
    return np.where(n < 0, 0.0, out)


def _hermite_he(x, n):
    x, n = np.broadcast_arrays(x, n)
    n = np.trunc(n).astype(np.int64)
    out = _recurrence(
        x, np.clip(n, 0, 512), np.ones_like(x), x.copy(), lambda k, p, q: x * q - (k - 1) * p
    )
    out = np.where(n > 512, np.nan, out)
    return np.where(n < 0, 0.0, out)


def _laguerre(x, n):
    x, n = np.broadcast_arrays(x, n)
    n = np.trunc(n).astype(np.int64)
    out = _recurrence(
        x,
        np.maximum(n, 0),
        np.ones_like(x),
        1.0 - x,
        lambda k, p, q: (((k - 1) * 2 + (1.0 - x)) * q - (k - 1) * p) / k,
    )
    out = np.where(np.abs(x) == 0, 1.0, out)
    return np.where(n < 0, 0.0, out)


def _legendre(x, n):
    x, n = np.broadcast_arrays(x, n)
    n = np.trunc(n).astype(np.int64)
    out = _recurrence(
        x,
        np.maximum(n, 0),
        np.ones_like(x),
        x.copy(),
        lambda k, p, q: ((2 * (k - 1) + 1) * x * q - (k - 1) * p) / k,
    )
    edge = np.abs(x) == 1
    out = np.where(edge, np.where((x > 0) | (n % 2 == 0), 1.0, -1.0), out)
    return np.where(n < 0, 0.0, out)


def _poly_fn(name, kernel):
    cls = _binary_op(name, kernel)

    def fn(input, n, *, out=None):
        a, b = _pair(input, n, name)
        with _NoGrad():
            r = cls.apply(a.detach(), b.detach())
        return _finish(r, out)

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = f"The {name.replace('_', ' ')} of degree n, as torch.special.{name}."
    return fn


class _NoGrad:
    """Record no graph (torch gives these polynomials no derivative)."""

    def __enter__(self):
        self.prev = _gs.enabled
        _gs.enabled = False

    def __exit__(self, *exc):
        _gs.enabled = self.prev


chebyshev_polynomial_t = _poly_fn("chebyshev_polynomial_t", _cheb("t", False))
chebyshev_polynomial_u = _poly_fn("chebyshev_polynomial_u", _cheb("u", False))
chebyshev_polynomial_v = _poly_fn("chebyshev_polynomial_v", _cheb("v", False))
chebyshev_polynomial_w = _poly_fn("chebyshev_polynomial_w", _cheb("w", False))
shifted_chebyshev_polynomial_t = _poly_fn("shifted_chebyshev_polynomial_t", _cheb("t", True))
shifted_chebyshev_polynomial_u = _poly_fn("shifted_chebyshev_polynomial_u", _cheb("u", True))
shifted_chebyshev_polynomial_v = _poly_fn("shifted_chebyshev_polynomial_v", _cheb("v", True))
shifted_chebyshev_polynomial_w = _poly_fn("shifted_chebyshev_polynomial_w", _cheb("w", True))
hermite_polynomial_h = _poly_fn("hermite_polynomial_h", _hermite_h)
hermite_polynomial_he = _poly_fn("hermite_polynomial_he", _hermite_he)
laguerre_polynomial_l = _poly_fn("laguerre_polynomial_l", _laguerre)
legendre_polynomial_p = _poly_fn("legendre_polynomial_p", _legendre)
