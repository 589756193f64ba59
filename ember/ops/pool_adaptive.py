"""Adaptive average/max pooling and max-unpooling over 1-3 spatial dims."""

from __future__ import annotations

import itertools
import math

import numpy as np

from .._autocast_state import state as _acs
from .._backend.xp import xp_of
from ..autograd.node import Op
from ..tensor import Tensor, _wrap
from . import _autocast, _bw
from ._blas_sum import is_half
from ._consts import device_const
from .conv import ntuple

__all__ = [
    "adaptive_avg_pool1d",
    "adaptive_avg_pool2d",
    "adaptive_avg_pool3d",
    "adaptive_max_pool1d",
    "adaptive_max_pool2d",
    "adaptive_max_pool3d",
    "max_unpool1d",
    "max_unpool2d",
    "max_unpool3d",
]


# ---------------------------------------------------------------------------------------------
# adaptive pooling


def _bounds(size, out):
    return [((i * size) // out, -(-((i + 1) * size) // out)) for i in range(out)]


def _avg_matrix(like, size, out, dtype):
    """(out, size) averaging weights of adaptive pooling, on ``like``'s device."""

    def build():
        m = np.zeros((out, size), np.float64)
        for i, (a, b) in enumerate(_bounds(size, out)):
            m[i, a:b] = 1.0 / (b - a)
        return m.astype(dtype)

    return device_const(like, ("adaptive_avg", size, out, np.dtype(dtype).str), build)


class AdaptiveAvgPool(Op):
    adjoint = 0  # linear in x: create_graph=True records its gradient as a LinearAdjoint
    grad_reads_input = True  # as torch's _adaptive_avg_pool*_backward

    def name(self) -> str:
        osz = self.geo[1]
        if len(osz) == 1:
            return "SqueezeBackward1"
        if all(e == 1 for e in osz):
            return "MeanBackward1"
        return f"AdaptiveAvgPool{len(osz)}DBackward0"

    @staticmethod
    def forward(ctx, x, osz):
        ctx.args = (None, osz)
        if is_half(x):  # summed in float32, rounded once (torch)
            return AdaptiveAvgPool.forward(ctx, x.astype(np.float32), osz).astype(x.dtype)
        xp = xp_of(x)
        nsp = len(osz)
        sp = x.shape[-nsp:]
        if xp is np and x.dtype in (np.float32, np.float64) and all(e == 1 for e in osz):
            # global average (a ResNet's head): the sums as one matrix-vector product over
            # rows of the spatial size, then / size; NumPy's mean over short axes loops per
            # row (64x512x2x2, one thread: 2.3 ms that way, 0.08 ms this way)
            p = math.prod(sp)
            ctx.geo = (x.shape, osz, "global")
            rows = np.ascontiguousarray(x).reshape(-1, p)
            y = rows @ np.ones(p, x.dtype) / x.dtype.type(p)
            return y.reshape(x.shape[: x.ndim - nsp] + (1,) * nsp)
        mats = []
        y = x
        for i in range(nsp):
            ax = x.ndim - nsp + i
            if sp[i] % osz[i] == 0:
                mats.append(None)
                f = sp[i] // osz[i]
                if f > 1:
                    y = y.reshape(y.shape[:ax] + (osz[i], f) + y.shape[ax + 1 :]).mean(ax + 1)
                continue
            m = _avg_matrix(x, sp[i], osz[i], x.dtype)
            mats.append(m)
            y = xp.moveaxis(xp.tensordot(y, m, axes=([ax], [1])), -1, ax)
        ctx.geo = (x.shape, osz, mats)
        return xp.ascontiguousarray(y) if y is not x else y.copy()

    @staticmethod
    def backward(ctx, g):
        if is_half(g):
            return AdaptiveAvgPool.backward(ctx, g.astype(np.float32))[0].astype(g.dtype), None
        xp = xp_of(g)
        xshape, osz, mats = ctx.geo
        nsp = len(osz)
        if mats == "global":  # the gradient of a mean: g / size at every position
            p = math.prod(xshape[-nsp:])
            return np.ascontiguousarray(np.broadcast_to(g / g.dtype.type(p), xshape)), None
        sp = xshape[-nsp:]
        y = g
        for i in range(nsp):
            ax = g.ndim - nsp + i
            m = mats[i]
            if m is None:
                f = sp[i] // osz[i]
                if f > 1:
                    y = xp.repeat(y, f, axis=ax) / g.dtype.type(f)
                continue
            y = xp.moveaxis(xp.tensordot(y, m, axes=([ax], [0])), -1, ax)
        return xp.ascontiguousarray(y), None


class AdaptiveMaxPool(Op):
    higher_order = True  # create_graph=True: the scatter to the maxima as Tensor ops
    grad_reads_input = True  # as torch's adaptive_max_pool*_backward

    def name(self) -> str:
        return "SqueezeBackward1" if self.nsp == 1 else f"AdaptiveMaxPool{self.nsp}DBackward0"

    @staticmethod
    def forward(ctx, x, osz, box):
        xp = xp_of(x)
        nsp = len(osz)
        sp = x.shape[-nsp:]
        lead = x.shape[:-nsp]
        bnds = [_bounds(sp[i], osz[i]) for i in range(nsp)]
        out = xp.empty(lead + tuple(osz), x.dtype)
        idx = xp.empty(lead + tuple(osz), np.int64)
        for pos in itertools.product(*[range(e) for e in osz]):
            win = tuple(bnds[i][pos[i]] for i in range(nsp))
            sub = x[(Ellipsis,) + tuple(slice(a, b) for a, b in win)]
            wsz = tuple(b - a for a, b in win)
            flat = sub.reshape(lead + (-1,))
            a = xp.argmax(flat, axis=-1)
            out[(Ellipsis,) + pos] = xp.take_along_axis(flat, a[..., None], -1)[..., 0]
            # local window index -> flat index in the input plane
            gidx = xp.zeros(a.shape, np.int64)
            rem = a
            mult = 1
            for i in range(nsp - 1, -1, -1):
                gidx += (rem % wsz[i] + win[i][0]) * mult
                rem = rem // wsz[i]
                mult *= sp[i]
            idx[(Ellipsis,) + pos] = gidx
        ctx.idx = idx
        ctx.xshape = x.shape
        ctx.nsp = nsp
        if box is not None:
            box.append(idx)
        return out

    @staticmethod
    def backward(ctx, g):
        if isinstance(g, Tensor):  # create_graph=True
            return _bw.scatter_to_planes(g, ctx.idx, ctx.xshape, ctx.nsp), None, None
        return _scatter_add(g, ctx.idx, ctx.xshape, ctx.nsp), None, None


def _scatter_add(g, idx, xshape, nsp):
    """Sum g into zeros of xshape at flat spatial positions ``idx`` (windows may overlap)."""
    xp = xp_of(g)
    plane = math.prod(xshape[-nsp:])
    lead = math.prod(xshape[:-nsp])
    out = xp.zeros((lead, plane), g.dtype)
    gi = idx.reshape(lead, -1)
    gg = g.reshape(lead, -1)
    rows = xp.arange(lead)
    for j in range(gi.shape[1]):
        out[rows, gi[:, j]] += gg[:, j]
    return out.reshape(xshape)


def _adaptive_args(nsp, input, output_size):
    nd = input._data.ndim
    if nd not in (nsp + 1, nsp + 2):
        raise RuntimeError(
            f"adaptive_avg_pool{nsp}d(): Expected {nsp + 1}D or {nsp + 2}D "
            f"tensor, but got {list(input.shape)}"
        )
    sp = input.shape[-nsp:]
    if isinstance(output_size, (list, tuple)):
        osz = (
            tuple(sp[i] if output_size[i] is None else int(output_size[i]) for i in range(nsp))
            if len(output_size) == nsp
            else ntuple(output_size, nsp, "output_size")
        )
    else:
        osz = ntuple(output_size, nsp, "output_size")
    return osz


def adaptive_avg_pool1d(input: Tensor, output_size) -> Tensor:
    """Adaptive 1-d average pooling, as torch.nn.functional.adaptive_avg_pool1d."""
    return AdaptiveAvgPool.apply(input, _adaptive_args(1, input, output_size))


def adaptive_avg_pool2d(input: Tensor, output_size) -> Tensor:
    """Adaptive 2-d average pooling, as torch.nn.functional.adaptive_avg_pool2d."""
    return AdaptiveAvgPool.apply(input, _adaptive_args(2, input, output_size))


def adaptive_avg_pool3d(input: Tensor, output_size) -> Tensor:
    """Adaptive 3-d average pooling, as torch.nn.functional.adaptive_avg_pool3d."""
    if _acs.active:  # autocast: an fp32 op
        (input,) = _autocast.fp32(input)
    return AdaptiveAvgPool.apply(input, _adaptive_args(3, input, output_size))


def _adaptive_max(nsp, input, output_size, return_indices):
    osz = _adaptive_args(nsp, input, output_size)
    box = [] if return_indices else None
    out = AdaptiveMaxPool.apply(input, osz, box)
    if return_indices:
        return out, _wrap(box[0])
    return out


def adaptive_max_pool1d(input: Tensor, output_size, return_indices: bool = False):
    """Adaptive 1-d max pooling, as torch.nn.functional.adaptive_max_pool1d."""
    return _adaptive_max(1, input, output_size, return_indices)


def adaptive_max_pool2d(input: Tensor, output_size, return_indices: bool = False):
    """Adaptive 2-d max pooling, as torch.nn.functional.adaptive_max_pool2d."""
    return _adaptive_max(2, input, output_size, return_indices)


def adaptive_max_pool3d(input: Tensor, output_size, return_indices: bool = False):
    """Adaptive 3-d max pooling, as torch.nn.functional.adaptive_max_pool3d."""
    return _adaptive_max(3, input, output_size, return_indices)


# ---------------------------------------------------------------------------------------------
# max-unpooling


class MaxUnpool(Op):
    def name(self) -> str:
        return f"MaxUnpool{len(self.osz)}DBackward0"

    @staticmethod
    def forward(ctx, x, idx, osz):
        xp = xp_of(x)
        nsp = len(osz)
        lead = x.shape[:-nsp]
        plane = math.prod(osz)
        out = xp.zeros(lead + (plane,), x.dtype)
        fi = idx.reshape(lead + (-1,))
        xp.put_along_axis(out, fi, x.reshape(lead + (-1,)), axis=-1)
        ctx.fi = fi
        ctx.osz = osz
        ctx.xshape = x.shape
        return out.reshape(lead + tuple(osz))

    @staticmethod
    def backward(ctx, g):
        xp = xp_of(g)
        flat = g.reshape(ctx.fi.shape[:-1] + (-1,))
        return xp.take_along_axis(flat, ctx.fi, -1).reshape(ctx.xshape), None, None


def _max_unpool(nsp, input, indices, kernel_size, stride, padding, output_size):
    k = ntuple(kernel_size, nsp, "kernel_size")
    s = k if stride is None else ntuple(stride, nsp, "stride")
    p = ntuple(padding, nsp, "padding")
    sp = input.shape[-nsp:]
    default = tuple((sp[i] - 1) * s[i] - 2 * p[i] + k[i] for i in range(nsp))
    if output_size is None:
        osz = default
    else:
        osz = tuple(int(e) for e in output_size)[-nsp:]
    plane = math.prod(osz)
    idx = indices._data
    if idx.size and (int(idx.min()) < 0 or int(idx.max()) >= plane):
        flat = idx.reshape(-1)
        bad = int(flat[int(((flat < 0) | (flat >= plane)).argmax())])
        raise RuntimeError(
            f"Found an invalid max index: {bad} (output volumes are of size "
            f"{'x'.join(map(str, osz))})"
        )
    return MaxUnpool.apply(input, indices, osz)


def max_unpool1d(
    input: Tensor, indices: Tensor, kernel_size, stride=None, padding=0, output_size=None
) -> Tensor:
    """Inverse of max_pool1d, as torch.nn.functional.max_unpool1d."""
    return _max_unpool(1, input, indices, kernel_size, stride, padding, output_size)


def max_unpool2d(
    input: Tensor, indices: Tensor, kernel_size, stride=None, padding=0, output_size=None
) -> Tensor:
    """Inverse of max_pool2d, as torch.nn.functional.max_unpool2d."""
    return _max_unpool(2, input, indices, kernel_size, stride, padding, output_size)


def max_unpool3d(
    input: Tensor, indices: Tensor, kernel_size, stride=None, padding=0, output_size=None
) -> Tensor:
    """Inverse of max_pool3d, as torch.nn.functional.max_unpool3d."""
    return _max_unpool(3, input, indices, kernel_size, stride, padding, output_size)
