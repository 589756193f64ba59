"""Fused CUDA elementwise kernels (CuPy ``ElementwiseKernel``), built on first use.

Each kernel replaces a chain of CuPy calls (one launch and one pass over memory each) with one
launch. Ops call these only with CuPy arrays; the NumPy path never reaches this module.
``REFERENCE`` holds, for each kernel, a NumPy function computing the same thing with the same
arguments: it documents the kernel, lets GPU tests check the CUDA source, and lets the CPU-only
CuPy stand-in in the tests run the kernels.
"""

from __future__ import annotations

import math

import numpy as np

from .xp import cupy, cupy_array_type

_SPECS: dict = {}  # name -> (in_params, out_params, CUDA body)
REFERENCE: dict = {}  # name -> NumPy function with the kernel's call signature
_built: dict = {}


def _kernel(name: str, in_params: str, out_params: str, body: str):
    """Register a kernel; the decorated NumPy function is its reference."""

    def deco(ref):
        _SPECS[name] = (in_params, out_params, body)
        REFERENCE[name] = ref

        def call(*args):
            k = _built.get(name)
            if k is None:
                k = _built[name] = cupy().ElementwiseKernel(
                    in_params, out_params, body, "ember_" + name
                )
            return k(*args)

        call.__name__ = name
        call.__doc__ = ref.__doc__
        return call

    return deco


def on_device(a) -> bool:
    """True for a float32/float64 CuPy array (the only arrays these kernels take)."""
    t = cupy_array_type()
    return t is not None and isinstance(a, t) and a.dtype.char in "fd"


# --- activations ------------------------------------------------------------------------------
@_kernel("relu_bw", "T g, T y", "T gx", "gx = y > (T)0 ? g : (T)0")
def relu_bw(g, y):
    """Gradient of relu from the output: g where y > 0."""
    return np.where(y > 0, g, np.zeros((), g.dtype))


@_kernel("sigmoid_fw", "T x", "T y", "y = (T)1 / ((T)1 + exp(-x))")
def sigmoid_fw(x):
    """Logistic function."""
    with np.errstate(over="ignore"):
        return (1 / (1 + np.exp(-x))).astype(x.dtype, copy=False)


@_kernel("sigmoid_bw", "T g, T y", "T gx", "gx = g * y * ((T)1 - y)")
def sigmoid_bw(g, y):
    """Gradient of the logistic function from its output."""
    return g * y * (1 - y)


@_kernel("tanh_bw", "T g, T y", "T gx", "gx = g * ((T)1 - y * y)")
def tanh_bw(g, y):
    """Gradient of tanh from its output."""
    return g * (1 - y * y)


_S2 = 1.0 / math.sqrt(2.0)
_ISQ2PI = 1.0 / math.sqrt(2.0 * math.pi)
_K = math.sqrt(2.0 / math.pi)


@_kernel("gelu_fw", "T x", "T y", f"y = (T)0.5 * x * ((T)1 + erf(x * (T){_S2!r}))")
def gelu_fw(x):
    """Exact (erf) GELU."""
    from math import erf

    return (0.5 * x * (1 + np.vectorize(erf)(x * _S2))).astype(x.dtype)


@_kernel(
    "gelu_grad",
    "T x",
    "T d",
    f"d = (T)0.5 * ((T)1 + erf(x * (T){_S2!r})) + x * exp((T)-0.5 * x * x) * (T){_ISQ2PI!r}",
)
def gelu_grad(x):
    """d gelu(x) / dx for the exact GELU."""
    from math import erf

    cdf = 0.5 * (1 + np.vectorize(erf)(x * _S2))
    return (cdf + x * np.exp(-0.5 * x * x) * _ISQ2PI).astype(x.dtype)


@_kernel(
    "gelu_tanh_grad",
    "T x",
    "T d",
    f"T t = tanh((T){_K!r} * (x + (T)0.044715 * x * x * x));"
    f"d = (T)0.5 * ((T)1 + t) + (T)0.5 * x * ((T)1 - t * t) * (T){_K!r} "
    "* ((T)1 + (T)0.134145 * x * x)",
)
def gelu_tanh_grad(x):
    """d gelu(x) / dx for the tanh approximation."""
    t = np.tanh(_K * (x + 0.044715 * x * x * x))
    return (0.5 * (1 + t) + 0.5 * x * (1 - t * t) * _K * (1 + 0.134145 * x * x)).astype(x.dtype)


# --- losses -----------------------------------------------------------------------------------
@_kernel("mse_bw", "T d, T g, T c", "T gx", "gx = d * g * c")
def mse_bw(d, g, c):
    """Gradient of a squared error from the difference d, upstream g and constant c."""
    return (d * g * c).astype(d.dtype, copy=False)


@_kernel("shift_exp", "T x, T mx", "T sh, T e", "sh = x - mx; e = exp(sh)")
def shift_exp(x, mx):
    """(x - max, exp(x - max)) for a stable softmax."""
    sh = x - mx
    return sh, np.exp(sh)


@_kernel("log_normalize", "T s", "T logp, T e", "logp -= log(s); e /= s")
def log_normalize(s, logp, e):
    """In place: logp -= log(s) and e /= s (log-softmax and softmax from the shifted exps)."""
    logp -= np.log(s)
    e /= s
    return logp, e


# --- optimizers (in place on the flat parameter and state buffers) ----------------------------
@_kernel(
    "sgd_step",
    "T g, T lr, T wd, T mom, T damp, T sgn, int32 first, int32 nesterov",
    "T p, T buf",
    "T d = sgn * g + wd * p;"
    "buf = first ? d : mom * buf + damp * d;"
    "p -= lr * (nesterov ? d + mom * buf : buf);",
)
def sgd_step(g, lr, wd, mom, damp, sgn, first, nesterov, p, buf):
    """SGD with momentum, dampening, nesterov, weight decay and maximize, in one pass."""
    dt = p.dtype.type
    d = dt(sgn) * g + dt(wd) * p
    if first:
        buf[...] = d
    else:
        buf[...] = dt(mom) * buf + dt(damp) * d
    p -= dt(lr) * (d + dt(mom) * buf if nesterov else buf)
    return p, buf


@_kernel(
    "adam_step",
    "T g, T lr_bc1, T b1, T b2, T bc2s, T eps, T sgn, T l2, T pscale",
    "T p, T m, T v",
    "T d = sgn * g + l2 * p;"
    "m += ((T)1 - b1) * (d - m);"
    "v = b2 * v + ((T)1 - b2) * d * d;"
    "p = p * pscale - lr_bc1 * m / (sqrt(v) / bc2s + eps);",
)
def adam_step(g, lr_bc1, b1, b2, bc2s, eps, sgn, l2, pscale, p, m, v):
    """Adam/AdamW (L2 or decoupled weight decay, maximize), in one pass."""
    dt = p.dtype.type
    d = dt(sgn) * g + dt(l2) * p
    m += dt(1 - b1) * (d - m)
    v[...] = dt(b2) * v + dt(1 - b2) * d * d
    p[...] = p * dt(pscale) - dt(lr_bc1) * m / (np.sqrt(v) / dt(bc2s) + dt(eps))
    return p, m, v
