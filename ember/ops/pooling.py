"""Pooling over 1-3 spatial dims: max (with indices, dilation, ceil_mode), average
(count_include_pad, divisor_override), adaptive average/max, and max-unpooling.

Windows are strided views of the padded input; a pool is one elementwise pass per kernel offset
over the output, so the common non-overlapping 2x2 pool costs a handful of array calls.
"""

from __future__ import annotations

import itertools
import math

import numpy as np

from ..autograd.node import Op
from ..device import xp_of
from ..tensor import Tensor, _wrap
from .conv import ntuple
from .conv_par import prange

__all__ = [
    "max_pool1d", "max_pool2d", "max_pool3d", "avg_pool1d", "avg_pool2d", "avg_pool3d",
    "adaptive_avg_pool1d", "adaptive_avg_pool2d", "adaptive_avg_pool3d", "adaptive_max_pool1d",
    "adaptive_max_pool2d", "max_unpool1d", "max_unpool2d", "max_unpool3d",
]


def _out_size(size, k, s, p, d, ceil):
    eff = d * (k - 1) + 1
    num = size + 2 * p - eff
    o = (num + (s - 1 if ceil else 0)) // s + 1
    if ceil and (o - 1) * s >= size + p:
        o -= 1
    return o


def _offsets(k):
    return list(itertools.product(*[range(e) for e in k]))


def _slices(off, s, d, osz):
    return (Ellipsis,) + tuple(slice(off[i] * d[i], off[i] * d[i] + s[i] * (osz[i] - 1) + 1, s[i])
                               for i in range(len(off)))


def _padded(x, p, need, fill):
    """x (..., *S) padded by p before and up to ``need`` total after, with ``fill``."""
    nsp = len(p)
    sp = x.shape[-nsp:]
    tot = tuple(max(sp[i] + 2 * p[i], need[i]) for i in range(nsp))
    if tot == tuple(sp):
        return x
    xp = xp_of(x)
    out = xp.full(x.shape[:-nsp] + tot, fill, x.dtype)
    out[(Ellipsis,) + tuple(slice(p[i], p[i] + sp[i]) for i in range(nsp))] = x
    return out


def _crop(a, p, sp):
    if not any(p) and tuple(a.shape[-len(sp):]) == tuple(sp):
        return a
    return a[(Ellipsis,) + tuple(slice(p[i], p[i] + sp[i]) for i in range(len(sp)))]


def _nonoverlap(k, s, d):
    return all(s[i] >= d[i] * (k[i] - 1) + 1 for i in range(len(k)))


class MaxPool(Op):
    def name(self) -> str:
        n = len(self.geo[2])
        return "SqueezeBackward1" if n == 1 else f"MaxPool{n}DWithIndicesBackward0"
    @staticmethod
    def forward(ctx, x, k, s, p, d, osz, box):
        xp = xp_of(x)
        nsp = len(k)
        need = tuple((osz[i] - 1) * s[i] + d[i] * (k[i] - 1) + 1 for i in range(nsp))
        fill = -np.inf if x.dtype.kind == "f" else np.iinfo(x.dtype).min
        xpad = _padded(x, p, need, fill)
        if xp is np and xpad.nbytes >= (1 << 21) and xpad.shape[0] > 1:
            # split the leading axis over threads (NumPy releases the GIL in these loops)
            lead = xpad.shape[0]
            best = np.empty((lead,) + xpad.shape[1:-nsp] + tuple(osz), x.dtype)
            arg = np.empty(best.shape, np.int8 if _prod(k) < 128 else np.int32)

            def run(lo, hi):
                b, a = _max_separable(np, xpad[lo:hi], k, s, d, osz)
                best[lo:hi] = b
                arg[lo:hi] = a

            prange(lead, run, xpad.nbytes)
        else:
            best, arg = _max_separable(xp, xpad, k, s, d, osz)
        if x.dtype.kind == "f" and xp.isnan(best).any():
            best, arg = _max_scan(xp, xpad, k, s, d, osz)
        ctx.arg = arg
        ctx.geo = (x.shape, xpad.shape, k, s, p, d, osz)
        if box is not None:
            box.append(_flat_indices(xp, arg, x.shape, k, s, p, d, osz))
        return best

    @staticmethod
    def backward(ctx, g):
        xp = xp_of(g)
        xshape, pshape, k, s, p, d, osz = ctx.geo
        arg = ctx.arg
        offs = _offsets(k)
        nonov = _nonoverlap(k, s, d)
        full = nonov and all(s[i] * osz[i] == pshape[-len(k) + i] for i in range(len(k))) and \
            all(s[i] == k[i] for i in range(len(k)))
        gx = (xp.empty if full else xp.zeros)(pshape, g.dtype)

        def run(lo, hi):
            gg, aa, gxx = g[lo:hi], arg[lo:hi], gx[lo:hi]
            for j, off in enumerate(offs):
                sl = _slices(off, s, d, osz)
                if nonov:
                    xp.multiply(gg, aa == j, out=gxx[sl])
                else:
                    gxx[sl] += xp.where(aa == j, gg, 0)

        if xp is np and g.ndim > len(k):
            prange(g.shape[0], run, gx.nbytes)
        else:
            run(0, g.shape[0])
        return _crop(gx, p, xshape[-len(k):]), None, None, None, None, None, None


def _max_separable(xp, xpad, k, s, d, osz):
    """Max over windows one spatial dim at a time (last first); the arg is the first maximum
    in scan order, as torch. NaNs are not propagated into the arg (the caller rescans)."""
    nsp = len(k)
    cur = xpad
    arg = None
    inner = 1  # product of the kernel sizes already reduced
    itype = np.int8 if _prod(k) < 128 else np.int32
    for ax in range(nsp - 1, -1, -1):
        axis = cur.ndim - nsp + ax

        def sl(i, ax=ax, axis=axis, nd=cur.ndim):
            idx = [slice(None)] * nd
            idx[axis] = slice(i * d[ax], i * d[ax] + s[ax] * (osz[ax] - 1) + 1, s[ax])
            return tuple(idx)

        best = cur[sl(0)]
        carry = None if arg is None else arg[sl(0)]
        for i in range(1, k[ax]):
            v = cur[sl(i)]
            m = v > best
            best = xp.maximum(best, v)
            if arg is None:
                if carry is None:
                    carry = m.view(itype) if itype is np.int8 and i == 1 else \
                        m.astype(itype) * itype(i)
                else:
                    carry = xp.where(m, itype(i), carry)
            else:
                carry = xp.where(m, arg[sl(i)] + itype(i * inner), carry)
        if k[ax] == 1:
            best = best.copy()
            carry = xp.zeros(best.shape, itype) if carry is None else carry.copy()
        cur, arg = best, carry
        inner *= k[ax]
    return cur, arg


def _max_scan(xp, xpad, k, s, d, osz):
    """Max over windows in torch's scan order with NaN propagation (one pass per offset)."""
    offs = _offsets(k)
    best = xpad[_slices(offs[0], s, d, osz)].copy()
    arg = xp.zeros(best.shape, np.int8 if len(offs) < 128 else np.int32)
    for j in range(1, len(offs)):
        v = xpad[_slices(offs[j], s, d, osz)]
        m = v > best
        m |= v != v
        xp.copyto(best, v, where=m)
        xp.copyto(arg, j, where=m)
    return best, arg


def _prod(t) -> int:
    p = 1
    for e in t:
        p *= e
    return p


def _flat_indices(xp, arg, xshape, k, s, p, d, osz):
    """torch's indices: the flat position of each maximum within its input plane."""
    nsp = len(k)
    sp = xshape[-nsp:]
    a = arg.astype(np.int64)
    flat = xp.zeros(arg.shape, np.int64)
    rem = a
    for i in range(nsp - 1, -1, -1):
        oi = rem % k[i]
        rem = rem // k[i]
        shp = [1] * arg.ndim
        shp[arg.ndim - nsp + i] = osz[i]
        base = xp.arange(osz[i], dtype=np.int64).reshape(shp) * s[i] - p[i]
        coord = base + oi * d[i]
        mult = 1
        for e in sp[i + 1:]:
            mult *= e
        flat += coord * mult
    return flat


def _pool_args(nsp, name, input, kernel_size, stride, padding, dilation):
    nd = input._data.ndim
    if nd not in (nsp + 1, nsp + 2):
        if nsp == 1:
            raise RuntimeError(f"{name}() Expected 2D or 3D input tensor, but got "
                               f"{list(input.shape)}")
        raise RuntimeError(f"non-empty {nsp + 1}D or {nsp + 2}D (batch mode) tensor expected "
                           "for input")
    k = ntuple(kernel_size, nsp, "kernel_size")
    s = k if stride is None or (isinstance(stride, (list, tuple)) and len(stride) == 0) else \
        ntuple(stride, nsp, "stride")
    p = ntuple(padding, nsp, "padding")
    d = ntuple(dilation, nsp, "dilation")
    if any(e <= 0 for e in k):
        raise RuntimeError(f"kernel_size must be greater than zero, but got {list(k)}")
    if any(e <= 0 for e in s):
        raise RuntimeError(f"stride must be greater than zero, but got {list(s)}")
    if any(e <= 0 for e in d):
        raise RuntimeError(f"dilation must be greater than zero, but got {list(d)}")
    for i in range(nsp):
        if p[i] < 0 or p[i] > (d[i] * (k[i] - 1) + 1) // 2:
            raise RuntimeError(f"pad should be at most half of effective kernel size, but got "
                               f"pad={p[i]}, kernel_size={k[i]} and dilation={d[i]}")
    return k, s, p, d


def _osz(x, name, k, s, p, d, ceil):
    nsp = len(k)
    sp = x.shape[-nsp:]
    osz = tuple(_out_size(sp[i], k[i], s[i], p[i], d[i], ceil) for i in range(nsp))
    if any(e <= 0 for e in osz):
        c = x.shape[-nsp - 1]
        raise RuntimeError(f"Given input size: ({'x'.join(str(e) for e in (c,) + tuple(sp))}). "
                           f"Calculated output size: ({'x'.join(str(e) for e in (c,) + osz)}). "
                           "Output size is too small")
    return osz


def _max_pool(nsp, name, input, kernel_size, stride, padding, dilation, ceil_mode,
              return_indices):
    k, s, p, d = _pool_args(nsp, name, input, kernel_size, stride, padding, dilation)
    osz = _osz(input, name, k, s, p, d, ceil_mode)
    box = [] if return_indices else None
    out = MaxPool.apply(input, k, s, p, d, osz, box)
    if return_indices:
        return out, _wrap(box[0])
    return out


def max_pool1d(input: Tensor, kernel_size, stride=None, padding=0, dilation=1,
               ceil_mode: bool = False, return_indices: bool = False):
    """1-d max pooling, as torch.nn.functional.max_pool1d."""
    return _max_pool(1, "max_pool1d", input, kernel_size, stride, padding, dilation, ceil_mode,
                     return_indices)


def max_pool2d(input: Tensor, kernel_size, stride=None, padding=0, dilation=1,
               ceil_mode: bool = False, return_indices: bool = False):
    """2-d max pooling, as torch.nn.functional.max_pool2d."""
    return _max_pool(2, "max_pool2d", input, kernel_size, stride, padding, dilation, ceil_mode,
                     return_indices)


def max_pool3d(input: Tensor, kernel_size, stride=None, padding=0, dilation=1,
               ceil_mode: bool = False, return_indices: bool = False):
    """3-d max pooling, as torch.nn.functional.max_pool3d."""
    return _max_pool(3, "max_pool3d", input, kernel_size, stride, padding, dilation, ceil_mode,
                     return_indices)


# ---------------------------------------------------------------------------------------------
# average pooling


def _divisor(xp, sp, k, s, p, osz, include_pad, dtype):
    """The per-output divisor (broadcast over the spatial dims)."""
    div = None
    for i in range(len(k)):
        o = np.arange(osz[i])
        start = o * s[i] - p[i]
        end = np.minimum(start + k[i], sp[i] + p[i])
        if include_pad:
            cnt = end - start
        else:
            cnt = np.minimum(end, sp[i]) - np.maximum(start, 0)
        shp = [1] * len(k)
        shp[i] = osz[i]
        cnt = cnt.reshape(shp)
        div = cnt if div is None else div * cnt
    return xp.asarray(div.astype(dtype))


class AvgPool(Op):
    def name(self) -> str:
        n = len(self.geo[2])
        return "SqueezeBackward1" if n == 1 else f"AvgPool{n}DBackward0"
    @staticmethod
    def forward(ctx, x, k, s, p, osz, include_pad, override):
        xp = xp_of(x)
        nsp = len(k)
        d = (1,) * nsp
        need = tuple((osz[i] - 1) * s[i] + k[i] for i in range(nsp))
        xpad = _padded(x, p, need, 0)
        offs = _offsets(k)
        acc = xpad[_slices(offs[0], s, d, osz)].copy()
        for off in offs[1:]:
            acc += xpad[_slices(off, s, d, osz)]
        if override:
            acc /= x.dtype.type(override)
            div = None
        else:
            div = _divisor(xp, x.shape[-nsp:], k, s, p, osz, include_pad, x.dtype)
            acc /= div
        ctx.geo = (x.shape, xpad.shape, k, s, p, osz, div, override)
        return acc

    @staticmethod
    def backward(ctx, g):
        xp = xp_of(g)
        xshape, pshape, k, s, p, osz, div, override = ctx.geo
        nsp = len(k)
        d = (1,) * nsp
        gd = g / (g.dtype.type(override) if override else div)
        nonov = _nonoverlap(k, s, d)
        full = nonov and all(s[i] == k[i] and k[i] * osz[i] == pshape[-nsp + i]
                             for i in range(nsp))
        gx = (xp.empty if full else xp.zeros)(pshape, g.dtype)
        for off in _offsets(k):
            sl = _slices(off, s, d, osz)
            if nonov:
                gx[sl] = gd
            else:
                gx[sl] += gd
        return _crop(gx, p, xshape[-nsp:]), None, None, None, None, None, None


def _avg_pool(nsp, name, input, kernel_size, stride, padding, ceil_mode, count_include_pad,
              divisor_override):
    k, s, p, _ = _pool_args(nsp, name, input, kernel_size, stride, padding, 1)
    if divisor_override is not None and divisor_override == 0:
        raise RuntimeError("divisor must be not zero")
    osz = _osz(input, name, k, s, p, (1,) * nsp, ceil_mode)
    return AvgPool.apply(input, k, s, p, osz, bool(count_include_pad), divisor_override)


def avg_pool1d(input: Tensor, kernel_size, stride=None, padding=0, ceil_mode: bool = False,
               count_include_pad: bool = True) -> Tensor:
    """1-d average pooling, as torch.nn.functional.avg_pool1d."""
    return _avg_pool(1, "avg_pool1d", input, kernel_size, stride, padding, ceil_mode,
                     count_include_pad, None)


def avg_pool2d(input: Tensor, kernel_size, stride=None, padding=0, ceil_mode: bool = False,
               count_include_pad: bool = True, divisor_override: int | None = None) -> Tensor:
    """2-d average pooling, as torch.nn.functional.avg_pool2d."""
    return _avg_pool(2, "avg_pool2d", input, kernel_size, stride, padding, ceil_mode,
                     count_include_pad, divisor_override)


def avg_pool3d(input: Tensor, kernel_size, stride=None, padding=0, ceil_mode: bool = False,
               count_include_pad: bool = True, divisor_override: int | None = None) -> Tensor:
    """3-d average pooling, as torch.nn.functional.avg_pool3d."""
    return _avg_pool(3, "avg_pool3d", input, kernel_size, stride, padding, ceil_mode,
                     count_include_pad, divisor_override)


# ---------------------------------------------------------------------------------------------
# adaptive pooling


def _bounds(size, out):
    return [((i * size) // out, -(-((i + 1) * size) // out)) for i in range(out)]


def _avg_matrix(xp, size, out, dtype):
    m = np.zeros((out, size), np.float64)
    for i, (a, b) in enumerate(_bounds(size, out)):
        m[i, a:b] = 1.0 / (b - a)
    return xp.asarray(m.astype(dtype))


class AdaptiveAvgPool(Op):
    def name(self) -> str:
        osz = self.geo[1]
        if len(osz) == 1:
            return "SqueezeBackward1"
        if all(e == 1 for e in osz):
            return "MeanBackward1"
        return f"AdaptiveAvgPool{len(osz)}DBackward0"
    @staticmethod
    def forward(ctx, x, osz):
        xp = xp_of(x)
        nsp = len(osz)
        sp = x.shape[-nsp:]
        mats = []
        y = x
        for i in range(nsp):
            ax = x.ndim - nsp + i
            if sp[i] % osz[i] == 0:
                mats.append(None)
                f = sp[i] // osz[i]
                if f > 1:
                    y = y.reshape(y.shape[:ax] + (osz[i], f) + y.shape[ax + 1:]).mean(ax + 1)
                continue
            m = _avg_matrix(xp, sp[i], osz[i], x.dtype)
            mats.append(m)
            y = xp.moveaxis(xp.tensordot(y, m, axes=([ax], [1])), -1, ax)
        ctx.geo = (x.shape, osz, mats)
        return xp.ascontiguousarray(y) if y is not x else y.copy()

    @staticmethod
    def backward(ctx, g):
        xp = xp_of(g)
        xshape, osz, mats = ctx.geo
        nsp = len(osz)
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
        raise RuntimeError(f"adaptive_avg_pool{nsp}d(): Expected {nsp + 1}D or {nsp + 2}D "
                           f"tensor, but got {list(input.shape)}")
    sp = input.shape[-nsp:]
    if isinstance(output_size, (list, tuple)):
        osz = tuple(sp[i] if output_size[i] is None else int(output_size[i])
                    for i in range(nsp)) if len(output_size) == nsp else \
            ntuple(output_size, nsp, "output_size")
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
        raise RuntimeError(f"Found an invalid max index: {bad} (output volumes are of size "
                           f"{'x'.join(map(str, osz))})")
    return MaxUnpool.apply(input, indices, osz)


def max_unpool1d(input: Tensor, indices: Tensor, kernel_size, stride=None, padding=0,
                 output_size=None) -> Tensor:
    """Inverse of max_pool1d, as torch.nn.functional.max_unpool1d."""
    return _max_unpool(1, input, indices, kernel_size, stride, padding, output_size)


def max_unpool2d(input: Tensor, indices: Tensor, kernel_size, stride=None, padding=0,
                 output_size=None) -> Tensor:
    """Inverse of max_pool2d, as torch.nn.functional.max_unpool2d."""
    return _max_unpool(2, input, indices, kernel_size, stride, padding, output_size)


def max_unpool3d(input: Tensor, indices: Tensor, kernel_size, stride=None, padding=0,
                 output_size=None) -> Tensor:
    """Inverse of max_pool3d, as torch.nn.functional.max_unpool3d."""
    return _max_unpool(3, input, indices, kernel_size, stride, padding, output_size)
