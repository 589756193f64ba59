"""Convolutions (1-3 spatial dims, groups, dilation, stride, padding) and transposed convolutions.

Each direction is one op: im2col through a strided view copied into one buffer, then one batched
GEMM; the input gradient is a GEMM followed by col2im (one strided add per kernel offset).
"""

from __future__ import annotations

import itertools
import weakref

import numpy as np

from .._backend.cpu import gemm as _gemm
from .._backend.cpu.threads import prange, workspace
from .._backend.xp import xp_of
from ..autograd.node import Op
from ..tensor import Tensor
from . import (
    conv_depthwise,
    conv_flat,
    conv_graph,
    conv_nhwc,
    conv_pointwise,
    conv_taps,
    conv_winograd,
)


def ntuple(v, n: int, name: str = "") -> tuple:
    """``v`` as an n-tuple of ints (an int is repeated)."""
    if isinstance(v, Tensor):
        v = v.tolist()
    if isinstance(v, (list, tuple)):
        if len(v) == 1 and n > 1:
            return tuple(int(v[0]) for _ in range(n))
        if len(v) != n:
            raise RuntimeError(
                f"expected {name or 'argument'} to be a single integer value or a "
                f"list of {n} values to match the convolution dimensions, but got "
                f"{name or 'argument'}={list(v)}"
            )
        return tuple(int(x) for x in v)
    return (int(v),) * n


# ---------------------------------------------------------------------------------------------
# array-level kernels (NumPy or CuPy)


def _pad_zeros(x, pads, slot=None):
    """x (N, C, *S) with zeros added: pads = ((lo, hi), ...) per spatial dim (in the scratch
    ``slot`` when given)."""
    if not any(lo or hi for lo, hi in pads):
        return x
    xp = xp_of(x)
    shape = x.shape[:2] + tuple(s + lo + hi for s, (lo, hi) in zip(x.shape[2:], pads))
    if slot:
        out = workspace(slot, shape, x.dtype, xp)
        out.fill(0)
    else:
        out = xp.zeros(shape, x.dtype)
    out[
        (slice(None), slice(None))
        + tuple(slice(lo, lo + s) for s, (lo, _) in zip(x.shape[2:], pads))
    ] = x
    return out


def _windows(xpad, k, s, d, osz):
    """A (N, C, *k, *O) strided view: element [n, c, *i, *o] = xpad[n, c, *(o*s + i*d)]."""
    xp = xp_of(xpad)
    st = xpad.strides
    nd = len(k)
    shape = tuple(xpad.shape[:2]) + tuple(k) + tuple(osz)
    strides = (
        tuple(st[:2])
        + tuple(st[2 + i] * d[i] for i in range(nd))
        + tuple(st[2 + i] * s[i] for i in range(nd))
    )
    return xp.lib.stride_tricks.as_strided(xpad, shape, strides)


def im2col(xpad, k, s, d, osz):
    """Columns (N, C*prod(k), prod(O)) of a padded input."""
    xp = xp_of(xpad)
    n, c = xpad.shape[:2]
    buf = xp.empty((n, c) + tuple(k) + tuple(osz), xpad.dtype)
    v = _windows(xpad, k, s, d, osz)
    if len(k) == 2 and k[0] * k[1] <= 49:
        # one 4-d strided copy per kernel offset beats one 6-d copy with short inner rows
        for i in range(k[0]):
            for j in range(k[1]):
                buf[:, :, i, j] = v[:, :, i, j]
    else:
        buf[...] = v
    kk = 1
    for e in k:
        kk *= e
    pp = 1
    for e in osz:
        pp *= e
    return buf.reshape(n, c * kk, pp)


def col2im(cols, padded_shape, k, s, d, osz):
    """Sum columns (N, C, *k, *O) back into a zero array of ``padded_shape`` (N, C, *Sp)."""
    xp = xp_of(cols)
    out = xp.zeros(padded_shape, cols.dtype)
    nd = len(k)
    cols = cols.reshape(tuple(padded_shape[:2]) + tuple(k) + tuple(osz))
    for off in itertools.product(*[range(e) for e in k]):
        sl = tuple(
            slice(off[i] * d[i], off[i] * d[i] + s[i] * (osz[i] - 1) + 1, s[i]) for i in range(nd)
        )
        out[(slice(None), slice(None)) + sl] += cols[(slice(None), slice(None)) + off]
    return out


def _crop(xpad, pads, shape):
    if not any(lo or hi for lo, hi in pads):
        return xpad
    return xpad[
        (slice(None), slice(None)) + tuple(slice(lo, lo + e) for (lo, _), e in zip(pads, shape[2:]))
    ]


def _prod(t) -> int:
    p = 1
    for e in t:
        p *= e
    return p


def im2col_knp(xpad, k, s, d, osz, slot=None, raw=None):
    """Columns (C*prod(k), N*prod(O)) of a padded input: one big GEMM operand (in the scratch
    ``slot`` when given: the caller drops it before the next call; else in the bytes ``raw``)."""
    xp = xp_of(xpad)
    n, c = xpad.shape[:2]
    nsp = len(k)
    shape = (c,) + tuple(k) + (n,) + tuple(osz)
    if slot:
        buf = workspace(slot, shape, xpad.dtype, xp)
    elif raw is not None:
        buf = raw[: _prod(shape) * xpad.dtype.itemsize].view(xpad.dtype).reshape(shape)
    else:
        buf = xp.empty(shape, xpad.dtype)
    v = _windows(xpad, k, s, d, osz).transpose(
        (1,) + tuple(range(2, 2 + nsp)) + (0,) + tuple(range(2 + nsp, 2 + 2 * nsp))
    )

    taps = list(itertools.product(*[range(e) for e in k])) if _prod(k) <= 49 else [()]

    def run(lo, hi):
        # one copy per kernel offset: ~20% faster than one copy with more, shorter dims
        for off in taps:
            buf[(slice(lo, hi),) + off] = v[(slice(lo, hi),) + off]

    if xp is np:
        prange(c, run, buf.nbytes)
    else:
        run(0, c)
    return buf.reshape(c * _prod(k), n * _prod(osz))


def col2im_knp(cols, c, n, psz, k, s, d, osz):
    """Sum columns (C*prod(k), N*prod(O)) into a zero (C, N, *psz) array."""
    xp = xp_of(cols)
    out = xp.zeros((c, n) + tuple(psz), cols.dtype)
    nsp = len(k)
    cols = cols.reshape((c,) + tuple(k) + (n,) + tuple(osz))
    for off in itertools.product(*[range(e) for e in k]):
        sl = tuple(
            slice(off[i] * d[i], off[i] * d[i] + s[i] * (osz[i] - 1) + 1, s[i]) for i in range(nsp)
        )
        out[(slice(None), slice(None)) + sl] += cols[(slice(None),) + off]
    return out


def _to_nc(a2, n, c, sp, b=None):
    """(C, N*P) -> contiguous (N, C, *sp), adding a per-channel bias on the way."""
    xp = xp_of(a2)
    p = _prod(sp)
    if n == 1:
        out = a2.reshape((1, c) + tuple(sp))
        if b is not None:
            out += b.reshape((c,) + (1,) * len(sp))
        return out
    out = xp.empty((n, c) + tuple(sp), a2.dtype)
    src = a2.reshape(c, n, p).transpose(1, 0, 2)
    dst = out.reshape(n, c, p)
    bb = None if b is None else b.reshape(c, 1)

    def run(lo, hi):
        if bb is not None:
            xp.add(src[lo:hi], bb, out=dst[lo:hi])
        else:
            dst[lo:hi] = src[lo:hi]

    if xp is np:
        prange(n, run, out.nbytes)
    else:
        run(0, n)
    return out


def _to_cn(a, n, c, slot=None):
    """(N, C, *sp) -> contiguous (C, N*P)."""
    xp = xp_of(a)
    if n == 1:
        return a.reshape(c, -1)
    src = a.reshape(n, c, -1).transpose(1, 0, 2)
    out = workspace(slot, src.shape, a.dtype, xp) if slot else xp.empty(src.shape, a.dtype)

    def run(lo, hi):
        out[lo:hi] = src[lo:hi]

    if xp is np:
        prange(c, run, out.nbytes)
    else:
        run(0, c)
    return out.reshape(c, -1)


def _gemm_groups(a, b, g, ta=False):
    """a @ b with both split into g groups along the channel dims (a transposed if ta)."""
    xp = xp_of(b)
    if g == 1:
        return (a.T if ta else a) @ b
    ag = a.reshape(g, a.shape[0] // g, a.shape[1])
    if ta:
        ag = a.reshape(a.shape[0], g, a.shape[1] // g).transpose(1, 2, 0)
    bg = b.reshape(g, b.shape[0] // g, b.shape[1])
    r = xp.matmul(ag, bg)
    return r.reshape(-1, r.shape[-1])


def _gemm_into(a, b, slot):
    """a @ b written into a scratch slot (NumPy) or a fresh array."""
    xp = xp_of(b)
    if xp is np and slot:
        out = workspace(slot, (a.shape[0], b.shape[1]), np.result_type(a, b), xp)
        return np.matmul(a, b, out=out)
    return a @ b


def conv_out_size(xshape, k, s, pads, d) -> tuple:
    return tuple(
        (xshape[2 + i] + pads[i][0] + pads[i][1] - d[i] * (k[i] - 1) - 1) // s[i] + 1
        for i in range(len(k))
    )


def conv_forward(x, w, b, s, pads, d, g, keep_cols=False, raw=None):
    """Output (N, Cout, *O), and the columns (C*K, N*P) when ``keep_cols`` (else None; kept
    columns go into the bytes ``raw`` when given)."""
    k = w.shape[2:]
    xpad = _pad_zeros(x, pads, "xpad")
    osz = conv_out_size(x.shape, k, s, pads, d)
    n = x.shape[0]
    cout = w.shape[0]
    cols = im2col_knp(xpad, k, s, d, osz, slot=None if keep_cols else "cols", raw=raw)
    p = _prod(osz)
    if g == 1 and n > 1 and xp_of(x) is np and p >= 64:
        # one GEMM per image straight into the (N, Cout, P) output: no layout pass, and each
        # (Cout, P) block stays in cache (~10% less time than one GEMM and a transpose)
        out = np.matmul(w.reshape(cout, -1), cols.reshape(-1, n, p).transpose(1, 0, 2))
        if b is not None:
            out += b.reshape(cout, 1)
        return out.reshape((n, cout) + tuple(osz)), (cols if keep_cols else None), xpad.shape
    if g == 1:
        o2 = _gemm_into(w.reshape(cout, -1), cols, "out" if n > 1 else None)
    else:
        o2 = _gemm_groups(w.reshape(cout, -1), cols, g)
    return _to_nc(o2, n, cout, osz, b), (cols if keep_cols else None), xpad.shape


def col2im_nc(gcols, xshape, pads, k, s, d, osz):
    """Sum columns (C*prod(k), N*prod(O)) straight into a zero (N, C, *S) input gradient,
    dropping what lands in the padding."""
    xp = xp_of(gcols)
    n, c = xshape[:2]
    nsp = len(k)
    sp = xshape[2:]
    out = xp.zeros(tuple(xshape), gcols.dtype)
    cols = gcols.reshape((c,) + tuple(k) + (n,) + tuple(osz))
    perm = (1, 0) + tuple(range(2, 2 + nsp))
    taps = []
    for off in itertools.product(*[range(e) for e in k]):
        dst = []
        src = []
        for i in range(nsp):
            # output positions o whose tap lands inside the unpadded input
            first = off[i] * d[i] - pads[i][0]
            o0 = -(first // s[i]) if first < 0 else 0
            o1 = min(osz[i], (sp[i] - 1 - first) // s[i] + 1) if sp[i] - 1 - first >= 0 else 0
            if o1 <= o0:
                break
            a = first + o0 * s[i]
            dst.append(slice(a, a + (o1 - o0 - 1) * s[i] + 1, s[i]))
            src.append(slice(o0, o1))
        else:
            taps.append((off, tuple(dst), tuple(src)))

    def run(lo, hi):
        for off, dst, src in taps:
            v = cols[(slice(lo, hi),) + off + (slice(None),) + src]
            out[(slice(None), slice(lo, hi)) + dst] += v.transpose(perm)

    if xp is np:
        prange(c, run, gcols.nbytes)
    else:
        run(0, c)
    return out


def conv_input_grad(g2, w, padded_shape, x_shape, s, pads, d, g, osz):
    """Input gradient from the (Cout, N*P) output gradient: W^T @ g, then col2im."""
    xp = xp_of(g2)
    k = w.shape[2:]
    cout = w.shape[0]
    wm = w.reshape(cout, -1)
    if g == 1:
        gcols = _gemm_into(wm.T, g2, "gcols")
    else:
        wg = wm.reshape(g, cout // g, -1).transpose(0, 2, 1)
        gcols = xp.matmul(wg, g2.reshape(g, cout // g, -1)).reshape(-1, g2.shape[1])
    return col2im_nc(gcols, x_shape, pads, k, s, d, osz)


def _direct_igrad_ok(xshape, wshape, s, pads, d, osz) -> bool:
    """Stride 1, padding within the kernel's reach, and the output-gradient columns no larger
    than the input-gradient columns: then the input gradient is a plain convolution."""
    k = wshape[2:]
    if any(e != 1 for e in s):
        return False
    if any(pads[i][j] > (k[i] - 1) * d[i] for i in range(len(k)) for j in (0, 1)):
        return False
    return wshape[0] * _prod(xshape[2:]) * 4 <= xshape[1] * _prod(osz) * 5


def conv_input_grad_direct(gy, w, x_shape, pads, d, g):
    """Input gradient of a stride-1 convolution as a convolution of the output gradient (padded
    by (k-1)*d - p) with the flipped, transposed kernel: im2col + one compute-bound GEMM instead
    of a memory-bound GEMM and col2im."""
    xp = xp_of(gy)
    k = w.shape[2:]
    nsp = len(k)
    n, c = x_shape[:2]
    cout = w.shape[0]
    gpads = tuple(
        ((k[i] - 1) * d[i] - pads[i][0], (k[i] - 1) * d[i] - pads[i][1]) for i in range(nsp)
    )
    cols = im2col_knp(_pad_zeros(gy, gpads, "xpad"), k, (1,) * nsp, d, x_shape[2:], "gcols")
    wf = w[(slice(None), slice(None)) + (slice(None, None, -1),) * nsp]
    wf = wf.reshape((g, cout // g, c // g) + tuple(k)).transpose(
        (0, 2, 1) + tuple(range(3, 3 + nsp))
    )
    if g == 1:
        o2 = _gemm_into(xp.ascontiguousarray(wf.reshape(c, -1)), cols, "gx" if n > 1 else None)
    else:
        wg = wf.reshape(g, c // g, -1)
        o2 = xp.matmul(wg, cols.reshape(g, cols.shape[0] // g, -1)).reshape(c, -1)
    return _to_nc(o2, n, c, x_shape[2:])


def conv_weight_grad(g2, cols, w_shape, g):
    """Weight gradient: one GEMM (Cout, N*P) @ (N*P, C*K) per group."""
    xp = xp_of(g2)
    if g == 1:
        # (cols @ g^T)^T: OpenBLAS runs this shape (long K, small M/N) markedly faster
        return xp.ascontiguousarray((cols @ g2.T).T).reshape(w_shape)
    cout = w_shape[0]
    a = g2.reshape(g, cout // g, -1)
    bt = cols.reshape(g, cols.shape[0] // g, -1).transpose(0, 2, 1)
    return xp.matmul(a, bt).reshape(w_shape)


_COLS_BUDGET = 128 << 20  # bytes of im2col columns kept alive for backward, all convs together
_cols_live = [0]
_POOL_MAX = 4  # spare column buffers kept for the next forward (a fresh 40 MB array costs the
# kernel ~10K page faults and zeroing on every training step)
_cols_pool: list = []


def _take_raw(nbytes: int):
    """Bytes for kept columns: a spare buffer from an earlier step when one is big enough."""
    for i, raw in enumerate(_cols_pool):
        if nbytes <= raw.nbytes <= 2 * nbytes:
            return _cols_pool.pop(i)
    return np.empty(nbytes, np.uint8)


def _release(nbytes: int, raw=None) -> None:
    _cols_live[0] -= nbytes
    if raw is not None and len(_cols_pool) < _POOL_MAX:
        _cols_pool.append(raw)


class ConvNd(Op):
    """Convolution. Backward needs the im2col columns; they are kept from the forward while the
    columns of all live graphs fit a budget, and re-formed from the saved input past it (for a
    3x3 kernel they are 9x the input: keeping them for every layer would cost more memory than
    torch, re-forming them is one strided copy)."""

    save_in = (0, 1)
    higher_order = True  # create_graph=True: conv_graph.grads
    transpose_op = None  # ConvTransposeNd, which conv_transpose (importing this module) sets

    def name(self) -> str:
        return "ConvolutionBackward0"

    @staticmethod
    def forward(ctx, x, w, b, s, pads, d, g):
        lift = x.ndim == 3  # a 1-d convolution runs as a 2-d one of height 1
        x4, w4, s4, p4, d4 = conv_nhwc.lift_1d(x, w, s, pads, d) if lift else (x, w, s, pads, d)
        if conv_depthwise.eligible(x4, w4, g):
            ctx.geo = ("dw", s4, p4, d4, lift)
            ctx.saved = (x4, w4, None)
            out = conv_depthwise.forward(x4, w4, b, s4, p4, d4)
            return out[:, :, 0] if lift else out
        if conv_pointwise.eligible(x, w, s, pads, g):
            ctx.geo = ("pw", s, pads, d, lift)
            ctx.saved = (x, w, None)
            return conv_pointwise.forward(x, w, b, s)
        if not lift and conv_taps.eligible(x, w, s, pads, d, g):
            ctx.geo = ("taps", s, pads, d, lift)
            needs = ctx.__dict__.get("_needs")
            wt = conv_taps.tap_weights(w)  # the input gradient reuses the (C, KH, KW, Cout) copy
            ctx.saved = (x, w, wt if needs is not None and needs[0] else None)
            return conv_taps.forward(x, w, b, s, pads, d, wt)
        if not lift and conv_winograd.eligible(x, w, s, d, g):
            ctx.geo = ("wino", s, pads, d, lift)
            needs = ctx.__dict__.get("_needs")
            # the input gradient reuses the weight's transform (16/9 of the weight's size)
            u = conv_winograd.weight_transform(w)
            ctx.saved = (x, w, u if needs is not None and needs[0] else None)
            return conv_winograd.forward(x, w, b, pads, u)
        if not lift and conv_flat.eligible(x, w, s, pads, d, g):
            ctx.geo = ("flat", s, pads, d, lift)
            ctx.saved = (x, w, None)
            return conv_flat.forward(x, w, b, s, pads, d)
        if conv_nhwc.eligible(x4, w4, g, ctx.__dict__.get("_needs")):
            s, pads, d = s4, p4, d4
            needs = ctx.__dict__.get("_needs")
            ctx.geo = ("nhwc", s, pads, d, lift)
            xpad = None
            if needs is not None and needs[1]:
                # the weight gradient reads the padded NHWC input again: keep it (input-sized)
                out, xpad = conv_nhwc.forward(x4, w4, b, s, pads, d, keep=True)
            else:
                out = conv_nhwc.forward(x4, w4, b, s, pads, d)
            ctx.saved = (x4, w4, xpad)
            return out[:, :, 0] if lift else out
        needs = ctx.__dict__.get("_needs")  # set only when this call records a graph node
        keep = False
        if needs is not None and needs[1]:
            nbytes = (
                _prod(w.shape[1:])
                * g
                * x.shape[0]
                * x.dtype.itemsize
                * _prod(conv_out_size(x.shape, w.shape[2:], s, pads, d))
            )
            keep = _cols_live[0] + nbytes <= _COLS_BUDGET
        raw = _take_raw(nbytes) if keep and xp_of(x) is np and nbytes >= (1 << 20) else None
        with _gemm.guard():
            out, cols, pshape = conv_forward(x, w, b, s, pads, d, g, keep, raw)
        if cols is not None:
            _cols_live[0] += cols.nbytes
            # the raw bytes return to the pool once the graph drops the columns (nothing keeps
            # a view of them past backward)
            weakref.finalize(cols, _release, cols.nbytes, raw)
        ctx.saved = (x, w, cols)
        ctx.geo = (pshape, s, pads, d, g)
        return out

    @staticmethod
    def backward(ctx, gy):
        if isinstance(gy, Tensor):  # create_graph=True: the gradients as convolution ops
            x, w, b, s, pads, d, g = ctx._inputs
            return conv_graph.grads(ConvNd, x, w, b, s, pads, d, g, gy, ctx._needs) + (None,) * 4
        x, w, cols = ctx.saved
        nd = ctx._needs
        if ctx.geo[0] == "taps":
            return conv_taps.backward(gy, x, w, *ctx.geo[1:4], nd, cols) + (None,) * 4
        if ctx.geo[0] == "pw":
            return conv_pointwise.backward(gy, x, w, ctx.geo[1], nd) + (None,) * 4
        if ctx.geo[0] == "flat":
            s, pads, d = ctx.geo[1:4]
            if nd[0] and conv_flat.input_grad_by_columns(x.shape, w.shape, s):
                _, gw, gb = conv_flat.backward(gy, x, w, s, pads, d, (False,) + tuple(nd[1:3]))
                n, cout = gy.shape[:2]
                with _gemm.guard():
                    g2 = _to_cn(gy, n, cout, "gy")
                    gx = conv_input_grad(g2, w, None, x.shape, s, pads, d, 1, gy.shape[2:])
                return (gx, gw, gb) + (None,) * 4
            return conv_flat.backward(gy, x, w, s, pads, d, nd) + (None,) * 4
        if ctx.geo[0] == "wino":
            return conv_winograd.backward(gy, x, w, ctx.geo[2], nd, cols) + (None,) * 4
        if ctx.geo[0] in ("nhwc", "dw"):
            kind, s, pads, d, lift = ctx.geo
            gy4 = gy[:, :, None] if lift else gy
            if kind == "dw":
                gx, gw, gb = conv_depthwise.backward(gy4, x, w, s, pads, d, nd)
            else:
                gx, gw, gb = conv_nhwc.backward(gy4, x, w, s, pads, d, nd, xpad=cols)
            if lift:
                gx = None if gx is None else gx[:, :, 0]
                gw = None if gw is None else gw[:, :, 0]
            return gx, gw, gb, None, None, None, None
        pshape, s, pads, d, g = ctx.geo
        with _gemm.guard():
            return ConvNd._backward(ctx, gy, x, w, cols, nd, pshape, s, pads, d, g)

    @staticmethod
    def _backward(ctx, gy, x, w, cols, nd, pshape, s, pads, d, g):
        gx = gw = gb = None
        n, cout = gy.shape[:2]
        osz = gy.shape[2:]
        g2 = _to_cn(gy, n, cout, "gy")
        if nd[2]:
            gb = g2.sum(1)
        if nd[1]:
            if cols is None:
                cols = im2col_knp(_pad_zeros(x, pads, "xpad"), w.shape[2:], s, d, osz, "cols")
            gw = conv_weight_grad(g2, cols, w.shape, g)
            del cols
        if nd[0]:
            if _direct_igrad_ok(x.shape, w.shape, s, pads, d, osz):
                gx = conv_input_grad_direct(gy, w, x.shape, pads, d, g)
            else:
                gx = conv_input_grad(g2, w, pshape, x.shape, s, pads, d, g, osz)
        return gx, gw, gb, None, None, None, None
