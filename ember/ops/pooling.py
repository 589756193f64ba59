"""Pooling over 1-3 spatial dims: max (with indices, dilation, ceil_mode) and average
(count_include_pad, divisor_override); adaptive pooling and max-unpooling are in pool_adaptive.py.

Windows are strided views of the padded input; max pooling reduces one spatial dim at a time,
so the common non-overlapping 2x2 pool costs a handful of array calls.
"""

from __future__ import annotations

import itertools

import numpy as np

from .._autocast_state import state as _acs
from .._backend.cpu import select
from .._backend.cpu.threads import prange
from .._backend.xp import xp_of
from ..autograd.node import Op
from ..tensor import Tensor, _wrap
from . import _autocast, _bw
from ._blas_sum import is_half
from ._consts import device_const
from .conv import ntuple

__all__ = [
    "max_pool1d",
    "max_pool2d",
    "max_pool3d",
    "avg_pool1d",
    "avg_pool2d",
    "avg_pool3d",
]


_POOL_BLOCK_BYTES = 256 << 10  # a block of images' padded input (gradient): inside L2


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
    return (Ellipsis,) + tuple(
        slice(off[i] * d[i], off[i] * d[i] + s[i] * (osz[i] - 1) + 1, s[i]) for i in range(len(off))
    )


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
    if not any(p) and tuple(a.shape[-len(sp) :]) == tuple(sp):
        return a
    return a[(Ellipsis,) + tuple(slice(p[i], p[i] + sp[i]) for i in range(len(sp)))]


def _nonoverlap(k, s, d):
    return all(s[i] >= d[i] * (k[i] - 1) + 1 for i in range(len(k)))


class MaxPool(Op):
    higher_order = True  # create_graph=True: the scatter to the maxima as Tensor ops
    grad_reads_input = True  # as torch's max_pool*_with_indices_backward

    def name(self) -> str:
        n = len(self.geo[2])
        return "SqueezeBackward1" if n == 1 else f"MaxPool{n}DWithIndicesBackward0"

    @staticmethod
    def forward(ctx, x, k, s, p, d, osz, box):
        xp = xp_of(x)
        nsp = len(k)
        need = tuple((osz[i] - 1) * s[i] + d[i] * (k[i] - 1) + 1 for i in range(nsp))
        fill = -np.inf if x.dtype.kind in "fV" else np.iinfo(x.dtype).min  # V: bfloat16
        xpad = _padded(x, p, need, fill)
        if box is None and "_needs" not in ctx.__dict__:  # no graph: the maxima alone
            return _max_values(xp, xpad, k, s, d, osz)
        if xp is not np and x.dtype.kind == "f":
            # NaN-propagating scan: on a device, checking for NaN first would read it on the host
            best, arg = _max_scan(xp, xpad, k, s, d, osz)
        elif _split_worth(xp, xpad):
            best = np.empty(xpad.shape[:-nsp] + tuple(osz), x.dtype)
            arg = np.empty(best.shape, np.int8 if _prod(k) < 128 else np.int32)
            _on_blocks(xpad, (best, arg), lambda b: _max_separable(np, b, k, s, d, osz))
        else:
            best, arg = _max_separable(xp, xpad, k, s, d, osz)
        if xp is np and x.dtype.kind == "f" and np.isnan(best).any():
            best, arg = _max_scan(xp, xpad, k, s, d, osz)
        ctx.arg = arg
        ctx.geo = (x.shape, xpad.shape, k, s, p, d, osz)
        if box is not None:
            box.append(_flat_indices(xp, arg, x.shape, k, s, p, d, osz))
        return best

    @staticmethod
    def backward(ctx, g):
        xshape, pshape, k, s, p, d, osz = ctx.geo
        if isinstance(g, Tensor):  # create_graph=True
            idx = _flat_indices(xp_of(ctx.arg), ctx.arg, xshape, k, s, p, d, osz)
            return (_bw.scatter_to_planes(g, idx, xshape, len(k)),) + (None,) * 6
        xp = xp_of(g)
        arg = ctx.arg
        offs = _offsets(k)
        nonov = _nonoverlap(k, s, d)
        full = (
            nonov
            and all(s[i] * osz[i] == pshape[-len(k) + i] for i in range(len(k)))
            and all(s[i] == k[i] for i in range(len(k)))
        )
        if xp is np and not nonov:
            gx = _scatter_to_maxima(g, arg, pshape, k, s, d, osz, offs)
            return _crop(gx, p, xshape[-len(k) :]), None, None, None, None, None, None
        gx = (xp.empty if full else xp.zeros)(pshape, g.dtype)

        # blocks of images whose input gradient stays in L2 across the kernel offsets' passes:
        # measured on 3x3/2 pooling of 64x64x32x32 (ResNet-18's), one thread: 31 -> 13 ms
        # (a GPU takes the whole batch at once: each block costs kernel launches, and the MNIST
        # CNN's backward was 30 ms in 1024 blocks against 0.3 ms for its forward)
        per = max(1, gx[:1].nbytes)
        step = max(1, _POOL_BLOCK_BYTES // per) if xp is np else max(1, g.shape[0])

        def run(lo, hi):
            for a in range(lo, hi, step):
                e = min(a + step, hi)
                gg, aa, gxx = g[a:e], arg[a:e], gx[a:e]
                mask = xp.empty(gg.shape, bool)
                tmp = None if nonov else xp.empty(gg.shape, gg.dtype)
                for j, off in enumerate(offs):
                    sl = _slices(off, s, d, osz)
                    xp.equal(aa, j, out=mask)
                    if nonov:
                        xp.multiply(gg, mask, out=gxx[sl])
                    else:
                        xp.multiply(gg, mask, out=tmp)
                        gxx[sl] += tmp

        if xp is np and g.ndim > len(k):
            prange(g.shape[0], run, gx.nbytes)
        else:
            run(0, g.shape[0])
        return _crop(gx, p, xshape[-len(k) :]), None, None, None, None, None, None


def _scatter_to_maxima(g, arg, pshape, k, s, d, osz, offs):
    """Max pooling's input gradient for overlapping windows (NumPy): each output's gradient
    added at its maximum's flat position, one ``np.add.at`` per block of planes, as torch's
    kernel scatters. A masked pass per kernel offset (27 passes for 3x3 windows) took 15.7 ms
    on ResNet-18's 3x3/2 pooling of 64x64x32x32, against torch's 2.2 ms; this takes about 2.5."""
    nsp = len(k)
    psp = pshape[-nsp:]
    plane = _prod(psp)
    strides = [_prod(psp[i + 1 :]) for i in range(nsp)]
    at_offset = np.array([sum(o[i] * d[i] * strides[i] for i in range(nsp)) for o in offs], np.intp)
    base = np.zeros(osz, np.intp)
    for i in range(nsp):
        shape = [1] * nsp
        shape[i] = osz[i]
        base = base + (np.arange(osz[i], dtype=np.intp) * (s[i] * strides[i])).reshape(shape)
    planes = _prod(g.shape[:-nsp])
    n_out = _prod(osz)
    gx = np.zeros(planes * plane, g.dtype)
    gg = np.ascontiguousarray(g).reshape(planes, n_out)
    aa = np.ascontiguousarray(arg).reshape(planes, n_out)
    step = max(1, _POOL_BLOCK_BYTES // (plane * g.itemsize))  # planes per block: inside L2
    first = base.reshape(1, n_out) + (np.arange(min(step, planes), dtype=np.intp) * plane)[:, None]

    def run(lo, hi):
        for a in range(lo, hi, step):
            e = min(a + step, hi)
            where = at_offset.take(aa[a:e])
            where += first[: e - a]
            np.add.at(gx[a * plane : e * plane], where.reshape(-1), gg[a:e].reshape(-1))

    prange(planes, run, gx.nbytes)
    return gx.reshape(pshape)


def _split_worth(xp, xpad) -> bool:
    """Whether a pooling pass over ``xpad`` is split over ember's threads by its leading axis
    (NumPy releases the GIL in these loops)."""
    return xp is np and xpad.nbytes >= (1 << 21) and xpad.shape[0] > 1


def _on_blocks(xpad, outs, fn) -> None:
    """``outs[i][a:e] = fn(xpad[a:e])[i]`` over cache-sized blocks of the leading axis, on
    ember's threads."""
    step = max(1, _POOL_BLOCK_BYTES // max(1, xpad[:1].nbytes))

    def run(lo, hi):
        for a in range(lo, hi, step):
            e = min(a + step, hi)
            for out, part in zip(outs, fn(xpad[a:e])):
                out[a:e] = part

    prange(xpad.shape[0], run, xpad.nbytes)


def _window(nd: int, axis: int, i: int, k_d: int, k_s: int, o: int) -> tuple:
    """The index of kernel offset ``i`` along ``axis`` of an ``nd``-d array: the ``o`` window
    positions at stride ``k_s``, dilation ``k_d``."""
    idx = [slice(None)] * nd
    idx[axis] = slice(i * k_d, i * k_d + k_s * (o - 1) + 1, k_s)
    return tuple(idx)


def _max_values(xp, xpad, k, s, d, osz):
    """The window maxima without their positions (no graph to record): one ``maximum`` pass
    per kernel offset along each spatial dim, last dim first, over blocks of the leading axis
    on ember's threads. ``maximum`` propagates NaN as torch does. ResNet-18's 3x3/2 pooling of
    64x64x32x32 under no_grad: 22 -> 6 ms (torch 15.5-17)."""
    nsp = len(k)

    def reduce(cur):
        for ax in range(nsp - 1, -1, -1):
            nd, axis = cur.ndim, cur.ndim - nsp + ax

            def sl(i, ax=ax, nd=nd, axis=axis):
                return _window(nd, axis, i, d[ax], s[ax], osz[ax])

            best = cur[sl(0)].copy() if k[ax] == 1 else xp.maximum(cur[sl(0)], cur[sl(1)])
            for i in range(2, k[ax]):
                xp.maximum(best, cur[sl(i)], out=best)
            cur = best
        return cur

    if not _split_worth(xp, xpad):
        return reduce(xpad)
    out = np.empty(xpad.shape[:-nsp] + tuple(osz), xpad.dtype)
    _on_blocks(xpad, (out,), lambda b: (reduce(b),))
    return out


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
            return _window(nd, axis, i, d[ax], s[ax], osz[ax])

        best = cur[sl(0)]
        carry = None if arg is None else arg[sl(0)]
        for i in range(1, k[ax]):
            v = cur[sl(i)]
            m = v > best
            best = xp.maximum(best, v)
            if arg is None:
                if carry is None:
                    carry = (
                        m.view(itype) if itype is np.int8 and i == 1 else m.astype(itype) * itype(i)
                    )
                else:
                    carry = select.where(m, itype(i), carry)
            else:
                carry = select.where(m, arg[sl(i)] + itype(i * inner), carry)
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
        for e in sp[i + 1 :]:
            mult *= e
        flat += coord * mult
    return flat


def _pool_args(nsp, name, input, kernel_size, stride, padding, dilation):
    nd = input._data.ndim
    if nd not in (nsp + 1, nsp + 2):
        if nsp == 1:
            raise RuntimeError(
                f"{name}() Expected 2D or 3D input tensor, but got {list(input.shape)}"
            )
        raise RuntimeError(
            f"non-empty {nsp + 1}D or {nsp + 2}D (batch mode) tensor expected for input"
        )
    k = ntuple(kernel_size, nsp, "kernel_size")
    s = (
        k
        if stride is None or (isinstance(stride, (list, tuple)) and len(stride) == 0)
        else ntuple(stride, nsp, "stride")
    )
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
            raise RuntimeError(
                f"pad should be at most half of effective kernel size, but got "
                f"pad={p[i]}, kernel_size={k[i]} and dilation={d[i]}"
            )
    return k, s, p, d


def _osz(x, name, k, s, p, d, ceil):
    nsp = len(k)
    sp = x.shape[-nsp:]
    osz = tuple(_out_size(sp[i], k[i], s[i], p[i], d[i], ceil) for i in range(nsp))
    if any(e <= 0 for e in osz):
        c = x.shape[-nsp - 1]
        raise RuntimeError(
            f"Given input size: ({'x'.join(str(e) for e in (c,) + tuple(sp))}). "
            f"Calculated output size: ({'x'.join(str(e) for e in (c,) + osz)}). "
            "Output size is too small"
        )
    return osz


def _max_pool(nsp, name, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices):
    k, s, p, d = _pool_args(nsp, name, input, kernel_size, stride, padding, dilation)
    osz = _osz(input, name, k, s, p, d, ceil_mode)
    box = [] if return_indices else None
    out = MaxPool.apply(input, k, s, p, d, osz, box)
    if return_indices:
        return out, _wrap(box[0])
    return out


def max_pool1d(
    input: Tensor,
    kernel_size,
    stride=None,
    padding=0,
    dilation=1,
    ceil_mode: bool = False,
    return_indices: bool = False,
):
    """1-d max pooling, as torch.nn.functional.max_pool1d."""
    return _max_pool(
        1, "max_pool1d", input, kernel_size, stride, padding, dilation, ceil_mode, return_indices
    )


def max_pool2d(
    input: Tensor,
    kernel_size,
    stride=None,
    padding=0,
    dilation=1,
    ceil_mode: bool = False,
    return_indices: bool = False,
):
    """2-d max pooling, as torch.nn.functional.max_pool2d."""
    return _max_pool(
        2, "max_pool2d", input, kernel_size, stride, padding, dilation, ceil_mode, return_indices
    )


def max_pool3d(
    input: Tensor,
    kernel_size,
    stride=None,
    padding=0,
    dilation=1,
    ceil_mode: bool = False,
    return_indices: bool = False,
):
    """3-d max pooling, as torch.nn.functional.max_pool3d."""
    if _acs.active:  # autocast: an fp32 op
        (input,) = _autocast.fp32(input)
    return _max_pool(
        3, "max_pool3d", input, kernel_size, stride, padding, dilation, ceil_mode, return_indices
    )


# ---------------------------------------------------------------------------------------------
# average pooling


def _divisor(like, sp, k, s, p, osz, include_pad, dtype):
    """The per-output divisor (broadcast over the spatial dims), on ``like``'s device."""
    key = ("avgpool_div", tuple(sp), k, s, p, tuple(osz), include_pad, np.dtype(dtype).str)
    return device_const(like, key, lambda: _divisor_np(sp, k, s, p, osz, include_pad, dtype))


def _divisor_np(sp, k, s, p, osz, include_pad, dtype):
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
    return div.astype(dtype)


class AvgPool(Op):
    adjoint = 0  # linear in x: create_graph=True records its gradient as a LinearAdjoint
    grad_reads_input = True  # as torch's avg_pool*_backward

    def name(self) -> str:
        n = len(self.geo[2])
        return "SqueezeBackward1" if n == 1 else f"AvgPool{n}DBackward0"

    @staticmethod
    def forward(ctx, x, k, s, p, osz, include_pad, override):
        ctx.args = (None, k, s, p, osz, include_pad, override)
        if is_half(x):  # summed in float32, rounded once (torch)
            y = AvgPool.forward(ctx, x.astype(np.float32), k, s, p, osz, include_pad, override)
            return y.astype(x.dtype)
        nsp = len(k)
        d = (1,) * nsp
        need = tuple((osz[i] - 1) * s[i] + k[i] for i in range(nsp))
        xpad = _padded(x, p, need, 0)
        offs = _offsets(k)
        integer = x.dtype.kind in "iu"
        acc = xpad[_slices(offs[0], s, d, osz)].astype(np.int64 if integer else x.dtype)
        for off in offs[1:]:
            acc += xpad[_slices(off, s, d, osz)]
        if integer:  # torch sums in int64 and divides truncating towards zero
            div = override or _divisor(x, x.shape[-nsp:], k, s, p, osz, include_pad, np.int64)
            q = xp_of(acc).where(acc < 0, -((-acc) // div), acc // div)
            ctx.geo = None
            return q.astype(x.dtype)
        if override:
            acc /= x.dtype.type(override)
            div = None
        else:
            div = _divisor(x, x.shape[-nsp:], k, s, p, osz, include_pad, x.dtype)
            acc /= div
        ctx.geo = (x.shape, xpad.shape, k, s, p, osz, div, override)
        return acc

    @staticmethod
    def backward(ctx, g):
        if is_half(g):
            return (AvgPool.backward(ctx, g.astype(np.float32))[0].astype(g.dtype),) + (None,) * 6
        xp = xp_of(g)
        xshape, pshape, k, s, p, osz, div, override = ctx.geo
        nsp = len(k)
        d = (1,) * nsp
        gd = g / (g.dtype.type(override) if override else div)
        nonov = _nonoverlap(k, s, d)
        full = nonov and all(s[i] == k[i] and k[i] * osz[i] == pshape[-nsp + i] for i in range(nsp))
        gx = (xp.empty if full else xp.zeros)(pshape, g.dtype)
        for off in _offsets(k):
            sl = _slices(off, s, d, osz)
            if nonov:
                gx[sl] = gd
            else:
                gx[sl] += gd
        return _crop(gx, p, xshape[-nsp:]), None, None, None, None, None, None


def _avg_pool(
    nsp, name, input, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override
):
    k, s, p, _ = _pool_args(nsp, name, input, kernel_size, stride, padding, 1)
    if divisor_override is not None and divisor_override == 0:
        raise RuntimeError("divisor must be not zero")
    osz = _osz(input, name, k, s, p, (1,) * nsp, ceil_mode)
    return AvgPool.apply(input, k, s, p, osz, bool(count_include_pad), divisor_override)


def avg_pool1d(
    input: Tensor,
    kernel_size,
    stride=None,
    padding=0,
    ceil_mode: bool = False,
    count_include_pad: bool = True,
) -> Tensor:
    """1-d average pooling, as torch.nn.functional.avg_pool1d."""
    return _avg_pool(
        1, "avg_pool1d", input, kernel_size, stride, padding, ceil_mode, count_include_pad, None
    )


def avg_pool2d(
    input: Tensor,
    kernel_size,
    stride=None,
    padding=0,
    ceil_mode: bool = False,
    count_include_pad: bool = True,
    divisor_override: int | None = None,
) -> Tensor:
    """2-d average pooling, as torch.nn.functional.avg_pool2d."""
    return _avg_pool(
        2,
        "avg_pool2d",
        input,
        kernel_size,
        stride,
        padding,
        ceil_mode,
        count_include_pad,
        divisor_override,
    )


def _int_list(v, name: str) -> list:
    """An int-or-ints argument as a list, with torch's TypeErrors for other types."""
    if isinstance(v, Tensor):
        v = v.tolist()
    items = list(v) if isinstance(v, (list, tuple)) else None
    for i, e in enumerate([v] if items is None else items):
        if isinstance(e, bool) or not hasattr(e, "__index__"):
            if items is None:
                raise TypeError(
                    f"avg_pool3d(): argument '{name}' must be tuple of ints, not {type(e).__name__}"
                )
            raise TypeError(
                f"avg_pool3d(): argument '{name}' failed to unpack the object at pos {i + 1} "
                f'with error "type must be tuple of ints,but got {type(e).__name__}"'
            )
    return [int(e) for e in ([v] if items is None else items)]


def _check_avg_pool3d(input: Tensor, kernel_size, stride, padding, divisor_override) -> None:
    """torch's argument errors of avg_pool3d, in its order: the argument lengths, the input's
    rank, the divisor, each dim's stride and padding, then the kernel and stride signs, empty
    non-batch dims and an input smaller than the kernel."""
    k = _int_list(kernel_size, "kernel_size")
    s = [] if stride is None else _int_list(stride, "stride")
    p = _int_list(padding, "padding")
    if len(k) not in (1, 3):
        raise RuntimeError("avg_pool3d: kernel_size must be a single int, or a tuple of three ints")
    if len(s) not in (0, 1, 3):
        raise RuntimeError(
            "avg_pool3d: stride must be omitted, a single int, or a tuple of three ints"
        )
    if len(p) not in (1, 3):
        raise RuntimeError("avg_pool3d: padding must be a single int, or a tuple of three ints")
    k = k * 3 if len(k) == 1 else k
    s = k if not s else (s * 3 if len(s) == 1 else s)
    p = p * 3 if len(p) == 1 else p
    shape = tuple(input.shape)
    if len(shape) not in (4, 5):
        raise RuntimeError("non-empty 4D or 5D (batch mode) tensor expected for input")
    if divisor_override is not None and divisor_override == 0:
        raise RuntimeError("divisor must be not zero")
    for ki, si, pi in zip(k, s, p):
        if si == 0:
            raise RuntimeError("stride should not be zero")
        if pi < 0:
            raise RuntimeError(f"pad must be non-negative, but got pad: {pi}")
        if pi > int(ki / 2):  # C++'s division, toward zero, as torch's check
            raise RuntimeError(
                f"pad should be at most half of effective kernel size, but got pad={pi}, "
                f"kernel_size={ki} and dilation=1"
            )
    if min(k) <= 0:
        raise RuntimeError(
            f"kernel size should be greater than zero, but got kT: {k[0]} kH: {k[1]} kW: {k[2]}"
        )
    if min(s) <= 0:
        raise RuntimeError(
            f"stride should be greater than zero, but got dT: {s[0]} dH: {s[1]} dW: {s[2]}"
        )
    if 0 in shape[-4:]:
        # torch prints the zero length where it means the dim's index
        raise RuntimeError(
            "avg_pool3d(): Expected input's non-batch dimensions to have positive length, but "
            f"input has a shape of {list(shape)} and non-batch dimension 0 has length zero!"
        )
    t, h, w = shape[-3:]
    if t < k[0] or h < k[1] or w < k[2]:
        raise RuntimeError(
            f"input image (T: {t} H: {h} W: {w}) smaller than kernel size "
            f"(kT: {k[0]} kH: {k[1]} kW: {k[2]})"
        )


def avg_pool3d(
    input: Tensor,
    kernel_size,
    stride=None,
    padding=0,
    ceil_mode: bool = False,
    count_include_pad: bool = True,
    divisor_override: int | None = None,
) -> Tensor:
    """3-d average pooling, as torch.nn.functional.avg_pool3d (with its argument errors)."""
    _check_avg_pool3d(input, kernel_size, stride, padding, divisor_override)
    if _acs.active:  # autocast: an fp32 op
        (input,) = _autocast.fp32(input)
    return _avg_pool(
        3,
        "avg_pool3d",
        input,
        kernel_size,
        stride,
        padding,
        ceil_mode,
        count_include_pad,
        divisor_override,
    )
