"""Scaled dot product attention as one op with a hand-written backward.

Forward: ``p = softmax(q k^T * scale + bias)``, optionally dropped (torch's math path: the keep
noise is a ``bernoulli_(1 - p)`` over a tensor laid out as the weights, drawn after the softmax,
so the generator stream matches torch's), then ``p v``. The causal and boolean masks become one
additive 0/-inf bias of the mask's own shape (a causal bias is one cached (L, S) array, never a
T x T mask per head), added in place to the scores; max, exp and the normalisation run in place
on the one score buffer. Grouped-query attention never repeats k/v: the query heads that share a
key head are folded into that head's rows, so every product is one batched GEMM.

Backward, with ``P`` the (dropped) weights and ``g`` the output's gradient:
``gv = P^T g``, ``gP = g v^T`` (times the keep mask), ``gs = p * (gP - rowsum(gP * p))``,
``gq = gs k * scale``, ``gk = gs^T q * scale``, and the float mask's gradient is ``gs``. A row
whose every score is masked gives zero output and zero gradients (torch's safe softmax).

The public function with torch's argument checks is ``ember.nn.functional
.scaled_dot_product_attention``.
"""

from __future__ import annotations

import math

import numpy as np

from .._backend.cpu import jit
from .._backend.cpu.gemm import mm
from .._backend.xp import CPU_ARRAY, xp_of
from ..autograd.engine import grad as _grad
from ..autograd.node import Op
from ..dtypes import cpp_type_name
from ..tensor import Tensor, _wrap
from . import _bw
from ._blas_sum import rsum
from .activation import softmax
from .dropout import keep_mask
from .gather import masked_fill
from .linalg import matmul

__all__: list[str] = []

_CAUSAL: dict = {}  # (L, S, dtype) -> the read-only causal bias on the CPU


def causal_bias(L: int, S: int, dtype, xp=np):
    """The (L, S) additive causal bias: 0 on and below the diagonal, -inf above (top-left
    aligned, as torch's ``tril(ones(L, S))``)."""
    key = (L, S, np.dtype(dtype))
    if xp is np:
        b = _CAUSAL.get(key)
        if b is not None:
            return b
    b = xp.triu(xp.full((L, S), -np.inf, dtype), 1)
    if xp is np:
        if len(_CAUSAL) > 64:
            _CAUSAL.clear()
        b.flags.writeable = False
        _CAUSAL[key] = b
    return b


def _bool_bias(mask, dtype):
    """A boolean mask (True = attend) as an additive 0/-inf bias of the mask's shape."""
    xp = xp_of(mask)
    return xp.where(mask, dtype.type(0), dtype.type(-np.inf))


def _upcast(dt):
    """The dtype the op computes in: float32 for the half types (torch's CPU opmath)."""
    return np.dtype(np.float32) if dt.itemsize < 4 or dt.kind == "V" else dt


def _fold(a, hk: int):
    """(..., Hq, L, E) -> (..., Hk, (Hq // Hk) * L, E): the query heads sharing one key head
    as the rows of one matrix (a view when ``a`` is C-contiguous)."""
    s = a.shape
    return a.reshape(s[:-3] + (hk, (s[-3] // hk) * s[-2], s[-1]))


def _mT(a):
    return a.swapaxes(-1, -2)


_F32 = np.dtype(np.float32)
_LOG2E = 1.0 / math.log(2.0)


def _softmax_exact(s, masked: bool, exp):
    """Softmax over the last axis of ``s`` in place, each row shifted by its maximum; with
    ``masked``, a row whose every score is -inf comes out zero (torch's safe softmax)."""
    m = s.max(axis=-1, keepdims=True)
    if masked:  # keep exp finite: the row sums to 0 and is divided by 1
        m[~xp_of(s).isfinite(m)] = 0
    s -= m
    exp(s, out=s)
    tot = rsum(s, (-1,))
    if masked:
        tot[tot == 0] = 1
    s /= tot
    return s


def _row_shift(s):
    """Each row's shift for ``_softmax_rows``: the largest of four of its scores (its first,
    its thirds and its last), shape s.shape[:-1]."""
    n = s.shape[-1]
    c = s[..., 0].copy()
    for j in {n // 3, (2 * n) // 3, n - 1} - {0}:
        np.maximum(c, s[..., j], out=c)
    return c


def _softmax_rows(s, masked: bool, exp):
    """The softmax over the last axis of a C-contiguous NumPy score array, ``exp`` being np.exp
    or np.exp2 (scores in base 2). Each row is shifted by the largest of four of its scores
    instead of its maximum: softmax does not depend on the shift, and NumPy's per-row max runs
    one reduction loop per row (280 us for BERT's 8 x 4 x 128 x 128 scores, against 17 for the
    four columns' elementwise maximum). A shift at most the row's maximum cannot make every
    term underflow; where it lies so far below that a term overflows, or a row is masked,
    infinite or NaN, the row's total is not finite and that row is done again by
    ``_softmax_exact``."""
    c = _row_shift(s)
    e = np.subtract(s, c[..., None])
    exp(e, out=e)
    tot = rsum(e, (-1,))
    bad = ~np.isfinite(tot[..., 0])
    e /= tot
    if bad.any():
        e[bad] = _softmax_exact(s[bad], masked, exp)
    return e


_F32_127 = np.float32(127.0)
_F32_INF = np.float32(np.inf)
_F32_NAN = np.float32(np.nan)


@jit.kernel(reassoc=True)
def _softmax_rows_loop(s, c, n, e, tot):
    """``_softmax_rows`` in base 2 over the rows of n values of the flat float32 array ``s``,
    each shifted by its ``c``: e = exp2(s - c) / sum, one loop per row (the row in cache) where
    NumPy makes four passes over all the scores. ``tot`` gets each row's sum, NaN where the row
    must be done again exactly (a NaN, a term past float32's range, or every term underflowing:
    a row masked to -inf). BERT's 8 x 4 x 128 x 128 scores: 0.41 -> 0.26 ms on one thread (0.91
    on two: the NumPy rows' BLAS sums), nanoGPT's 12 x 4 x 64 x 64: 0.18 -> 0.12 (2026-12-05)."""
    rows = s.size // n
    for i in range(rows):
        o = i * n
        ci = c[i]
        acc = np.float32(0.0)
        for j in range(n):
            d = s[o + j] - ci
            if d > _F32_127:
                v = _F32_INF
            elif d != d:
                v = _F32_NAN
            else:
                v = jit.exp2_f32(d)
            e[o + j] = v
            acc += v
        if acc > 0 and acc < _F32_INF:
            tot[i] = acc
            for j in range(n):
                e[o + j] = e[o + j] / acc
        else:
            tot[i] = _F32_NAN


@jit.kernel(reassoc=True)
def _softmax_grad_loop(gp, p, keep, dropped, n):
    """The softmax's backward in place on ``gp`` over rows of n float32 values: t = gp * keep
    (with ``dropped``) * p, then gp = t - p * sum(t), one loop per row, in the NumPy path's
    order of operations."""
    rows = gp.size // n
    for i in range(rows):
        o = i * n
        acc = np.float32(0.0)
        for j in range(n):
            t = gp[o + j]
            if dropped:
                t = t * keep[o + j]
            t = t * p[o + j]
            gp[o + j] = t
            acc += t
        for j in range(n):
            gp[o + j] = gp[o + j] - p[o + j] * acc


_JIT_MIN = 1 << 14  # scores from which the softmax runs its compiled loops


def _softmax_rows_jit(s, masked: bool):
    """``_softmax_rows`` of C-contiguous float32 scores in base 2 by ``_softmax_rows_loop``
    (the same shift); None where the loop cannot run."""
    n = s.shape[-1]
    rows = s.size // n
    c = _row_shift(s)
    e = np.empty_like(s)
    tot = np.empty(rows, s.dtype)
    sf, cf, ef = s.reshape(-1), c.reshape(-1), e.reshape(-1)

    def part(lo, hi):
        sl = slice(lo * n, hi * n)
        return _softmax_rows_loop.run(sf[sl], cf[lo:hi], n, ef[sl], tot[lo:hi])

    if jit.split(rows, part, s.nbytes, jit.ROWS_SPLIT_BYTES) is None:
        return None
    bad = np.isnan(tot)
    if bad.any():
        e2, s2 = e.reshape(rows, n), s.reshape(rows, n)
        e2[bad] = _softmax_exact(s2[bad], masked, np.exp2)
    return e


def _softmax_grad_jit(gp, p, keep) -> bool:
    """``gp = p * (gp * keep) - p * rowsum(...)`` in place by ``_softmax_grad_loop`` for
    C-contiguous float32 arrays of one shape (``gp`` writeable); False (nothing done) where it
    cannot run."""
    arrays = (gp, p) if keep is None else (gp, p, keep)
    flat = jit.flat_views(arrays, (_F32,))
    if flat is None or not gp.flags.writeable or any(a.shape != p.shape for a in arrays):
        return False
    n = p.shape[-1]
    gf, pf = flat[0], flat[1]
    kf = pf if keep is None else flat[2]
    dropped = keep is not None

    def part(lo, hi):
        sl = slice(lo * n, hi * n)
        return _softmax_grad_loop.run(gf[sl], pf[sl], kf[sl], dropped, n)

    return jit.split(p.size // n, part, p.nbytes, jit.ROWS_SPLIT_BYTES) is not None


class ScaledDotProductAttention(Op):
    """softmax(q k^T * scale + mask) v with dropout; inputs q, k, v, a float mask or None."""

    save_in = (0, 1, 2)  # k and v are saved as they are: an in-place change is an error
    higher_order = True  # create_graph=True: _backward_with_graph

    def name(self) -> str:
        return "ScaledDotProductAttentionBackward0"

    @staticmethod
    def forward(ctx, q, k, v, mask, bool_mask, dropout_p, is_causal, scale, gqa, generator):
        dt = q.dtype
        ct = _upcast(dt)
        if ct != dt:
            q, k, v = (a.astype(ct) for a in (q, k, v))
            if mask is not None and not bool_mask:
                mask = mask.astype(ct)
        xp = xp_of(q)
        L, S = q.shape[-2], k.shape[-2]
        hk = k.shape[-3] if gqa else 0
        # float32 on the CPU: the scores in base 2 (q scaled by log2 e as well), so the softmax
        # runs exp2, which NumPy computes in half exp's time (ops/activation.py's _phi_f32); a
        # float mask near the size of all the scores stays in base e rather than pay a pass to
        # rescale it. With the shift of _softmax_rows, BERT's 8 x 4 x 128 x 128 softmax takes
        # 0.62 ms instead of 0.98, nanoGPT's 12 x 4 x 64 x 64 0.20 instead of 0.41 (2026-12-05)
        fold = (
            type(q) is CPU_ARRAY
            and ct == _F32
            and (mask is None or bool_mask or 4 * mask.size <= q.size // q.shape[-1] * S)
        )
        qs = q * ct.type(scale * _LOG2E if fold else scale)
        if hk:  # one GEMM per key head over all the query heads it serves
            qf = _fold(xp.ascontiguousarray(qs), hk)
            s = mm(qf, _mT(k)).reshape(q.shape[:-1] + (S,))
        else:
            s = mm(qs, _mT(k))
        if not s.flags.c_contiguous or (type(s) is CPU_ARRAY and not s.flags.writeable):
            s = xp.ascontiguousarray(s)
        masked = False
        if is_causal:
            s += causal_bias(L, S, ct, xp)
        if mask is not None:
            if bool_mask:
                s += _bool_bias(mask, ct)
            else:
                s += mask * ct.type(_LOG2E) if fold else mask
            masked = True
        if type(s) is CPU_ARRAY:
            e = _softmax_rows_jit(s, masked) if fold and s.size >= _JIT_MIN else None
            s = e if e is not None else _softmax_rows(s, masked, np.exp2 if fold else np.exp)
        else:
            s = _softmax_exact(s, masked, xp.exp)
        p = s
        keep = None
        if dropout_p > 0.0:
            keep = keep_mask(p.shape, dropout_p, ct, xp, generator, like=p)
            pd = p * keep
        else:
            pd = p
        if hk:
            out = mm(_fold(pd, hk), v)
            out = out.reshape(q.shape[:-1] + (v.shape[-1],))
        else:
            out = mm(pd, v)
        ctx.saved = (qs, k, v, p, pd, keep)
        ctx.info = (dt, scale, hk, mask.shape if mask is not None and not bool_mask else None)
        ctx.fold = fold
        ctx.shapes = (q.shape, k.shape, v.shape)
        return out.astype(dt) if ct != dt else out

    @staticmethod
    def backward(ctx, g):
        if isinstance(g, Tensor):  # create_graph=True
            return _backward_with_graph(ctx, g)
        qs, k, v, p, pd, keep = ctx.saved
        dt, scale, hk, mshape = ctx.info
        qshape, kshape, vshape = ctx.shapes
        n = ctx._needs
        ct = p.dtype
        if g.dtype != ct:
            g = g.astype(ct)
        xp = xp_of(p)
        gq = gk = gv = gm = None
        if hk:
            gf = _fold(xp.ascontiguousarray(g), hk)
            if n[2]:
                gv = _bw.sum_to(mm(_mT(_fold(pd, hk)), gf), vshape)
            gp = mm(gf, _mT(v)).reshape(p.shape)
        else:
            if n[2]:
                gv = _bw.sum_to(mm(_mT(pd), g), vshape)
            gp = mm(g, _mT(v))
        if n[0] or n[1] or n[3]:
            if p.size < _JIT_MIN or not _softmax_grad_jit(gp, p, keep):
                if keep is not None:
                    gp *= keep
                gp *= p
                gp -= p * rsum(gp, (-1,))
            gs = gp  # the scores' gradient (before the scale)
            if n[3]:
                gm = _bw.sum_to(gs, mshape)
                if gm is gs:
                    gm = gm.copy()
            if n[0]:
                if hk:
                    gq = mm(_fold(gs, hk), k).reshape(qshape)
                else:
                    gq = _bw.sum_to(mm(gs, k), qshape)
                gq *= ct.type(scale)
            if n[1]:
                if hk:
                    qf = _fold(xp.ascontiguousarray(qs), hk)
                    gk = _bw.sum_to(mm(_mT(_fold(gs, hk)), qf), kshape)
                else:
                    gk = _bw.sum_to(mm(_mT(gs), qs), kshape)
                if ctx.fold:  # qs was scaled by log2 e too
                    gk *= ct.type(1.0 / _LOG2E)
        out = []
        for a in (gq, gk, gv, gm):
            if a is not None and a.dtype != dt:
                a = a.astype(dt)
            out.append(a)
        return (*out, None, None, None, None, None, None)


def _backward_with_graph(ctx, g: Tensor) -> tuple:
    """The input gradients as a graph, for higher derivatives: the forward recomputed from the
    inputs in differentiable ops (the dropout's keep mask reused as a constant) and
    differentiated with create_graph=True. The first-order backward above stays the fast path."""
    q, k, v, mask, bool_mask, _, is_causal, scale, gqa, _ = ctx._inputs
    keep = ctx.saved[5]
    needs = ctx._needs[:4]
    kk, vv = k, v
    if gqa:
        r = q.shape[-3] // k.shape[-3]
        kk, vv = k.repeat_interleave(r, dim=-3), v.repeat_interleave(r, dim=-3)
    s = matmul(q * scale, kk.transpose(-2, -1))
    dt = s._data.dtype
    if is_causal:
        s = s + _wrap(causal_bias(s.shape[-2], s.shape[-1], dt, xp_of(s._data)))
    if mask is not None:
        s = s + (_wrap(_bool_bias(mask._data, dt)) if bool_mask else mask)
    dead = None
    if mask is not None or is_causal:  # a fully masked row: zero weights, as the forward
        dead = _wrap(~xp_of(s._data).isfinite(s._data.max(axis=-1, keepdims=True)))
        s = masked_fill(s, dead, 0.0)
    p = softmax(s, -1)
    if dead is not None:
        p = masked_fill(p, dead, 0.0)
    if keep is not None:
        p = p * keep
    out = matmul(p, vv)
    wrt = [t for t, n in zip((q, k, v, mask), needs) if n]
    got = iter(_grad(out, wrt, g, create_graph=True, allow_unused=True))
    return (*(next(got) if n else None for n in needs), None, None, None, None, None, None)


def _cpp(d) -> str:
    return cpp_type_name(d.name)


def check_args(query: Tensor, key: Tensor, value: Tensor, attn_mask, enable_gqa: bool) -> None:
    """torch's checks of dtypes, the mask's dtype and the head counts, with its messages."""
    qd, kd, vd = query.dtype, key.dtype, value.dtype
    if not (qd == kd == vd):
        raise RuntimeError(
            f"Expected query, key, and value to have the same dtype, but got query.dtype: "
            f"{_cpp(qd)} key.dtype: {_cpp(kd)} and value.dtype: {_cpp(vd)} instead."
        )
    if attn_mask is not None:
        md = attn_mask.dtype
        if not (md.name == "bool" or md == qd or (md.is_floating_point and md.itemsize >= 4)):
            raise RuntimeError(
                "Expected attn_mask dtype to be bool or float or to match query dtype, but got "
                f"attn_mask.dtype: {_cpp(md)} and  query.dtype: {_cpp(qd)} instead."
            )
    if query.ndim >= 3 and key.ndim >= 3 and key.shape[-3] != query.shape[-3]:
        hq, hk, hv = query.shape[-3], key.shape[-3], value.shape[-3]
        if enable_gqa and (hk != hv or hq % hk):
            # torch's message, cut short as it is
            raise RuntimeError(
                "Number of heads in key and value must divide the number of heads in "
            )
        if not enable_gqa and hk != 1:  # one key head broadcasts, as torch's math kernel
            raise RuntimeError(
                f"The size of tensor a ({hq}) must match the size of tensor b ({hk}) at "
                f"non-singleton dimension {query.ndim - 3}"
            )


def scaled_dot_product_attention(
    query: Tensor,
    key: Tensor,
    value: Tensor,
    attn_mask: Tensor | None = None,
    dropout_p: float = 0.0,
    is_causal: bool = False,
    scale: float | None = None,
    enable_gqa: bool = False,
    generator=None,
) -> Tensor:
    """The attention op on checked arguments (``scale`` already resolved when not None)."""
    if scale is None:
        scale = 1.0 / float(np.sqrt(query.shape[-1]))
    gqa = enable_gqa and query.ndim >= 3 and key.shape[-3] != query.shape[-3]
    bool_mask = attn_mask is not None and attn_mask.dtype.name == "bool"
    return ScaledDotProductAttention.apply(
        query,
        key,
        value,
        attn_mask,
        bool_mask,
        float(dropout_p),
        bool(is_causal),
        float(scale),
        gqa,
        generator,
    )
