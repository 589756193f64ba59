"""Complex numbers in the graph: complex, polar, real, imag, view_as_real, view_as_complex.

Gradients follow torch's convention for a real loss L of a complex z: the gradient is
dL/dRe(z) + i dL/dIm(z). So real(z) sends g back as g + 0i, imag(z) as i g, and a real input of
a complex-valued function f gets Re(conj(f'(x)) g).
"""

from __future__ import annotations

import numpy as np

from .._backend.xp import xp_of
from ..autograd.node import Op
from ..dtypes import from_numpy_dtype, scalar_type_name
from ..tensor import Tensor
from .inplace import copy_into_out
from .view import _copy_of

__all__ = [
    "complex",
    "polar",
    "real",
    "imag",
    "view_as_real",
    "view_as_complex",
    "view_as_real_copy",
    "view_as_complex_copy",
]


def _pretty(npdt) -> str:
    if npdt.kind == "V":
        return "BFloat16"
    return scalar_type_name(npdt.name)


def _complex_of(npdt) -> np.dtype:
    return np.dtype(np.complex64) if npdt == np.float32 else np.dtype(np.complex128)


class _Real(Op):
    higher_order = True  # the gradient, g as complex, is a cast: Tensors take it too

    @staticmethod
    def forward(ctx, a):
        return a.real

    @staticmethod
    def backward(ctx, g):
        return (_as_complex(g),)


class _Imag(Op):
    higher_order = True

    @staticmethod
    def forward(ctx, a):
        return a.imag

    @staticmethod
    def backward(ctx, g):
        return (1j * _as_complex(g),)


def _as_complex(g):
    """A real gradient as the complex dtype of its precision (an array, or a Tensor recorded
    as a cast under create_graph=True)."""
    if isinstance(g, Tensor):
        return g.to(from_numpy_dtype(_complex_of(g._data.dtype)))
    return g.astype(_complex_of(g.dtype))


class _ViewAsReal(Op):
    adjoint = 0  # linear: create_graph=True records its gradient as a LinearAdjoint

    @staticmethod
    def forward(ctx, a):
        ctx.args = (None,)
        if a.ndim == 0:
            a = a.reshape(1)
            return a.view(a.real.dtype).reshape(2)
        a = xp_of(a).ascontiguousarray(a) if not a.flags.c_contiguous else a
        return a.view(a.real.dtype).reshape(a.shape + (2,))

    @staticmethod
    def backward(ctx, g):
        g = xp_of(g).ascontiguousarray(g)
        return (g.view(_complex_of(g.dtype))[..., 0],)


class _ViewAsComplex(Op):
    adjoint = 0  # linear: create_graph=True records its gradient as a LinearAdjoint

    @staticmethod
    def forward(ctx, a):
        ctx.args = (None,)
        if not a.flags.c_contiguous:
            a = xp_of(a).ascontiguousarray(a)
        return a.view(_complex_of(a.dtype))[..., 0]

    @staticmethod
    def backward(ctx, g):
        return (_ViewAsReal.forward(ctx, g),)


class _Complex(Op):
    @staticmethod
    def forward(ctx, re, im):
        ctx.shapes = (re.shape, im.shape)
        out = xp_of(re).empty(np.broadcast_shapes(re.shape, im.shape), _complex_of(re.dtype))
        out.real = re
        out.imag = im
        return out

    @staticmethod
    def backward(ctx, g):
        s_re, s_im = ctx.shapes
        return _sum_to(g.real, s_re), _sum_to(g.imag, s_im)


class _Polar(Op):
    save_in = (0, 1)

    @staticmethod
    def forward(ctx, r, theta):
        xp = xp_of(r)
        ctx.saved = (r, theta)
        out = xp.empty(np.broadcast_shapes(r.shape, theta.shape), _complex_of(r.dtype))
        out.real = r * xp.cos(theta)
        out.imag = r * xp.sin(theta)
        return out

    @staticmethod
    def backward(ctx, g):
        r, theta = ctx.saved
        xp = xp_of(g)
        c, s = xp.cos(theta), xp.sin(theta)
        # d/dr = e^{i theta}, d/dtheta = i r e^{i theta}; the gradient is Re(conj(f') g)
        # torch divides by sgn(result), so a negative abs flips (and 0 zeroes) its gradient
        g_r = (g.real * c + g.imag * s) * xp.sign(r)
        g_t = r * (g.imag * c - g.real * s)
        return _sum_to(g_r, r.shape), _sum_to(g_t, theta.shape)


def _sum_to(g, shape):
    if g.shape == tuple(shape):
        return g
    nd = g.ndim - len(shape)
    axes = tuple(range(nd)) + tuple(
        i + nd for i, n in enumerate(shape) if n == 1 and g.shape[i + nd] != 1
    )
    return g.sum(axis=axes, keepdims=True).reshape(shape)


def _finish(r: Tensor, out) -> Tensor:
    if out is not None:
        return copy_into_out(out, r)
    return r


def real(input: Tensor) -> Tensor:
    """The real part (a real tensor is returned as is), as torch.real; differentiable."""
    if input._data.dtype.kind != "c":
        return input
    return _Real.apply(input)


def imag(input: Tensor) -> Tensor:
    """The imaginary part of a complex tensor, as torch.imag; differentiable."""
    if input._data.dtype.kind != "c":
        raise RuntimeError("imag is not implemented for tensors with non-complex dtypes.")
    return _Imag.apply(input)


def view_as_real(input: Tensor) -> Tensor:
    """A complex tensor as a real one with a trailing dim of 2 (re, im), as torch.view_as_real."""
    if input._data.dtype.kind != "c":
        raise RuntimeError("view_as_real is only supported for complex tensors")
    return _ViewAsReal.apply(input)


def view_as_complex(input: Tensor) -> Tensor:
    """A real tensor with a trailing dim of 2 read as complex, as torch.view_as_complex."""
    dt = input._data.dtype
    if dt not in (np.float32, np.float64):
        raise RuntimeError(
            "view_as_complex is only supported for float and double tensors, but got a tensor "
            f"of scalar type: {_pretty(dt)}"
        )
    if input._data.ndim == 0 or input._data.shape[-1] != 2:
        raise RuntimeError("Tensor must have a last dimension of size 2")
    return _ViewAsComplex.apply(input)


def _check_pair(a: Tensor, b: Tensor) -> None:
    da, db = a._data.dtype, b._data.dtype
    if da.kind != "f" or db.kind != "f":
        raise RuntimeError(
            "Expected both inputs to be Half, Float or Double tensors but got "
            f"{_pretty(da)} and {_pretty(db)}"
        )
    if da != db:
        raise RuntimeError(
            f"Expected object of scalar type {_pretty(da)} but got scalar type {_pretty(db)} "
            "for second argument"
        )


def complex(real: Tensor, imag: Tensor, *, out=None) -> Tensor:  # noqa: A001
    """real + i imag from two float tensors of one dtype (broadcast), as torch.complex."""
    _check_pair(real, imag)
    return _finish(_Complex.apply(real, imag), out)


def polar(abs: Tensor, angle: Tensor, *, out=None) -> Tensor:  # noqa: A002
    """abs * (cos(angle) + i sin(angle)), as torch.polar."""
    _check_pair(abs, angle)
    return _finish(_Polar.apply(abs, angle), out)


view_as_real_copy = _copy_of(view_as_real, "view_as_real_copy")
view_as_complex_copy = _copy_of(view_as_complex, "view_as_complex_copy")
