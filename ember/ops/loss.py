"""Loss ops with a hand-written backward: mean squared error, cross entropy (log_softmax and
nll or soft targets in one node), nll, binary cross entropy on probabilities and on logits.
The public loss functions (torch's checks, the reduction= argument) are in
``ember.nn.functional``."""

from __future__ import annotations

import numpy as np

from .._backend import kernels
from .._backend.cpu import jit, threads
from .._backend.xp import CPU_ARRAY, xp_of
from ..autograd.node import Op
from ..tensor import Tensor, _wrap
from . import _bw
from ._blas_sum import average, is_half, rsum
from ._blas_sum import total as _total
from .activation import log_softmax


# --- mse -----------------------------------------------------------------------------------
@kernels.fused("mse_bw", "T d, T g, T c", "T gx", "gx = d * g * c")
def _mse_bw_kernel(d, g, c):
    """Gradient of a squared error from the difference d, upstream g and constant c."""
    return (d * g * c).astype(d.dtype, copy=False)


def _reduced(loss, red: str, denom=None):
    """A loss Tensor summed, averaged (over its elements, or divided by ``denom``) or kept."""
    if red == "none":
        return loss
    if red == "sum":
        return loss.sum()
    return loss.mean() if denom is None else loss.sum() / denom


class _MSE(Op):
    save_in = (0, 1)  # as torch's; and for create_graph=True
    higher_order = True  # create_graph=True: the forward again in Tensor ops, differentiated

    @staticmethod
    def forward(ctx, a, b, red):
        d = a - b
        ctx.saved = (d,)
        ctx.red = red
        ctx.shapes = (
            a.shape,
            a.dtype,
            b.shape if hasattr(b, "shape") else (),
            getattr(b, "dtype", None),
        )
        if red == "none":
            return d * d
        if is_half(d):  # squares rounded, summed in float32
            return _total(d * d) if red == "sum" else average(d * d)
        # vdot: one BLAS/cuBLAS dot (CuPy arrays reach cupy.vdot through __array_function__)
        if red == "sum":
            return np.vdot(d, d) if d.dtype.kind == "f" else (d * d).sum()
        return (np.vdot(d, d) if d.dtype.kind == "f" else (d * d).sum()) / d.dtype.type(d.size)

    @staticmethod
    def backward(ctx, g):
        if isinstance(g, Tensor):  # create_graph=True
            return _bw.regrad(ctx, lambda a, b, red: _reduced((a - b) ** 2, red), g)
        (d,) = ctx.saved
        red = ctx.red
        if type(d) is not CPU_ARRAY and red != "none" and kernels.on_device(d):
            c = 2.0 / d.size if red == "mean" else 2.0
            gd = _mse_bw_kernel(d, g.astype(d.dtype, copy=False), c)
        elif red == "mean":  # torch's order, (2/n * d) * g: the product with g only when g != 1
            gd = d * d.dtype.type(2.0 / d.size)
            if not (g.ndim == 0 and g == 1):
                gd *= g
        elif red == "sum":
            gd = d * (g * d.dtype.type(2.0))
        else:
            gd = d * g
            gd *= 2
        ashape, adt, bshape, bdt = ctx.shapes
        n = ctx._needs
        ga = None
        if n[0]:
            ga = gd if (gd.shape == ashape and gd.dtype == adt) else _bw.grad_for(gd, ashape, adt)
        gb = None
        if n[1]:
            gb = -_bw.grad_for(gd, bshape, bdt)
        return ga, gb, None


# --- cross entropy / nll --------------------------------------------------------------------
def _to_rows(x, C: int):
    """(M, C) rows with the class dim last: (N, C, d...) -> (N*d..., C); an array or a Tensor."""
    if x.ndim == 1:
        return x.reshape(1, C)
    if x.ndim == 2:
        return x
    if isinstance(x, Tensor):
        return x.movedim(1, -1).reshape(-1, C)
    return xp_of(x).moveaxis(x, 1, -1).reshape(-1, C)


def _per_sample(loss, xshape):
    """The rows' losses (M,) in the shape of reduction "none": () for an unbatched input,
    (N, d...) for an (N, C, d...) one."""
    if len(xshape) == 1:
        return loss.reshape(())
    if len(xshape) >= 3:
        return loss.reshape((xshape[0],) + tuple(xshape[2:]))
    return loss


def _shifted_rows(xb, eb, tcb):
    """Rows' exps shifted by each row's maximum, into ``eb``: (each row's shifted target logit,
    each row's sum as a column)."""
    np.subtract(xb, xb.max(1, keepdims=True), out=eb)
    picked = eb[np.arange(xb.shape[0]), tcb]
    np.exp(eb, out=eb)
    return picked, rsum(eb, (1,))


def _from_rows(g2, shape):
    if len(shape) == 1:
        return g2.reshape(shape)
    if len(shape) == 2:
        return g2
    xp = xp_of(g2)
    moved = (shape[0],) + tuple(shape[2:]) + (shape[1],)
    return xp.ascontiguousarray(xp.moveaxis(g2.reshape(moved), -1, 1))


def _check_targets(t1, C: int, ignore: int):
    """(clean targets, valid mask or None); IndexError for out-of-range classes."""
    xp = xp_of(t1)
    if xp is not np:  # CUDA: no host round trip; out-of-range classes count as ignored
        valid = (t1 >= 0) & (t1 < C)
        if 0 <= ignore < C:
            valid &= t1 != ignore
        return xp.where(valid, t1, 0), valid
    valid = None
    tc = t1
    if t1.size:
        if 0 <= ignore < C:
            valid = t1 != ignore
            if valid.all():
                valid = None
        bad = (t1 < 0) | (t1 >= C)
        if bad.any():
            if valid is None:
                valid = t1 != ignore
            real_bad = bad & valid
            if real_bad.any():
                raise IndexError(f"Target {int(t1[real_bad][0])} is out of bounds.")
        if valid is not None:
            tc = xp.where(valid, t1, 0)
    return tc, valid


@kernels.fused("shift_exp", "T x, T mx", "T sh, T e", "sh = x - mx; e = exp(sh)")
def _shift_exp_kernel(x, mx):
    """(x - max, exp(x - max)) for a stable softmax."""
    sh = x - mx
    return sh, np.exp(sh)


@kernels.fused("log_normalize", "T s", "T logp, T e", "logp -= log(s); e /= s")
def _log_normalize_kernel(s, logp, e):
    """In place: logp -= log(s) and e /= s (log-softmax and softmax from the shifted exps)."""
    logp -= np.log(s)
    e /= s
    return logp, e


def _sum_or_mean(loss, denom, red: str):
    """The summed loss, or divided by ``denom`` (the weight sum or the count); float16/bfloat16
    summed and divided in float32 and rounded once, as torch does."""
    half = is_half(loss)
    total = loss.astype(np.float32).sum() if half else loss.sum()
    if red != "sum":
        with np.errstate(invalid="ignore", divide="ignore"):
            total = total / (np.float32(denom) if half else denom)
    return np.asarray(total).astype(loss.dtype) if half else total


_CE_BLOCK = 1 << 19  # bytes of logits per block: half of a core's L2
_LOG2E32 = np.float32(1.4426950408889634)
# row sums of unshifted float32 exps trusted from here (a row's largest logit above about -41:
# its terms keep float32's precision) up to overflow
_SUM_FLOOR32 = np.float32(2.0**-60)
_CE_JIT_MIN = 1 << 14  # logits from which the hard-target loss runs its compiled loops


_F32 = np.dtype(np.float32)
_F32_INF = np.float32(np.inf)
_F32_NAN = np.float32(np.nan)


@jit.kernel(reassoc=True)
def _ce_rows_loop(x, tc, n, e, store, s, picked):
    """The hard-target cross-entropy's forward over rows of n float32 logits of the flat ``x``:
    each row's sum of unshifted exps into ``s`` (the exps into ``e`` where ``store``) and its
    target's logit into ``picked``, one loop per row. ``s`` is NaN where the row must be done
    again with the shift by its maximum (the sum overflows, all but vanishes, or is NaN): the
    NumPy blocks' rule. 700 x 10,000 logits (the LSTM benchmark's word model), 2026-12-05:
    forward 4.2 ms on the NumPy blocks (two threads) against 1.5 (two threads; 2.6 on one;
    torch 2.6). The backward's one NumPy pass (exps times scale / sum) stays: as a loop it took
    1.5 ms longer."""
    rows = x.size // n
    for i in range(rows):
        xr = x[i * n : (i + 1) * n]  # rows as views: 3.3 -> 2.6 ms against x[i * n + j]
        er = e[i * n : (i + 1) * n]
        acc = np.float32(0.0)
        for j in range(n):
            v = jit.exp_f32(xr[j])
            if store:
                er[j] = v
            acc += v
        picked[i] = xr[tc[i]]
        if acc >= _SUM_FLOOR32 and acc < _F32_INF:
            s[i] = acc
        else:
            s[i] = _F32_NAN


def _ce_rows_jit(x2, tc, e, picked, s) -> bool:
    """``_ce_rows_loop`` over the rows of C-contiguous float32 logits ``x2`` (M, C), split
    across ember's threads from ``jit.ROWS_SPLIT_BYTES``; False where it cannot run."""
    if x2.dtype != _F32 or not x2.flags.c_contiguous or x2.size == 0:
        return False
    n = x2.shape[1]
    xf = x2.reshape(-1)
    store = e is not None
    ef = e.reshape(-1) if store else xf
    sf = s.reshape(-1)

    def part(lo, hi):
        sl = slice(lo * n, hi * n)
        ok = _ce_rows_loop.run(xf[sl], tc[lo:hi], n, ef[sl], store, sf[lo:hi], picked[lo:hi])
        return ok

    return jit.split(x2.shape[0], part, x2.nbytes, jit.ROWS_SPLIT_BYTES) is not None


def _ce_graph(x, t, w, ignore, eps, red, probs):
    """The cross-entropy forward in Tensor ops (create_graph=True), in the forward's order."""
    logp = log_softmax(x, 0 if x.ndim == 1 else 1)
    if not probs:
        return _nll_graph(x, t, w, ignore, red, logp, eps)
    C = x.shape[1] if x.ndim >= 2 else x.shape[0]
    T = _to_rows(t, C)
    if eps:
        T = T * (1 - eps) + eps / C
    A = T * w if w is not None else T
    loss = -(A * _to_rows(logp, C)).sum(1)
    if red == "none":
        return _per_sample(loss, x.shape)
    return _reduced(loss, red, T.shape[0])


class _CrossEntropy(Op):
    """log_softmax + nll (or soft targets) in one node, with label smoothing and weights."""

    save_in = (0,)  # for create_graph=True (torch keeps the log-probabilities instead)
    higher_order = True  # create_graph=True: _ce_graph

    @staticmethod
    def forward(ctx, x, t, w, ignore, eps, red, probs):
        xp = xp_of(x)
        C = x.shape[1] if x.ndim >= 2 else x.shape[0]
        x2 = _to_rows(x, C)
        M = x2.shape[0]
        if xp is not np and kernels.on_device(x2):  # CUDA: two fused kernels, two reductions
            logp, e = _shift_exp_kernel(x2, x2.max(1, keepdims=True))
            _log_normalize_kernel(e.sum(1, keepdims=True), logp, e)
        elif xp is np and not probs and not eps:
            # hard targets: only the picked log-probabilities are needed, so the full
            # log-softmax and the normalised softmax are never written; backward scales the
            # exps by 1 / rowsum in the pass that it makes anyway
            return _CrossEntropy._hard_forward(ctx, x, x2, t, w, ignore, red, C)
        else:
            sh = x2 - x2.max(1, keepdims=True)
            e = xp.exp(sh)
            s = rsum(e, (1,))
            logp = sh
            logp -= xp.log(s)
            e /= s  # softmax, kept for backward
        ctx.rowsum = None
        dt = x.dtype.type
        ctx.xshape = x.shape
        ctx.red = red
        ctx.probs = probs
        ctx.C = C
        if probs:
            T = _to_rows(t, C)
            if eps:
                T = T * dt(1 - eps) + dt(eps / C)
            A = T * w if w is not None else T
            loss = -(A * logp).sum(1)
            ctx.saved = (e, A, logp if getattr(ctx, "_needs", (0, 0))[1] else None, w)
            ctx.eps = eps
            denom = dt(M)
        else:
            t1 = t.reshape(-1)
            tc, valid = _check_targets(t1, C, ignore)
            rows = xp.arange(M)
            picked = logp[rows, tc]
            if w is not None:
                c = w[tc]
                if valid is not None:
                    c = c * valid
            elif valid is not None:
                c = valid.astype(x.dtype)
            else:
                c = None
            loss = -picked if c is None else -(picked * c)
            if eps:
                sm = -(logp * w).sum(1) if w is not None else -logp.sum(1)
                if valid is not None:
                    sm = sm * valid
                loss = loss * dt(1 - eps) + sm * dt(eps / C)
            denom = dt(M) if c is None else _total(c)
            ctx.saved = (e, tc, c, valid, w)
            ctx.eps = eps
        return _CrossEntropy._reduce(ctx, loss, denom, red)

    @staticmethod
    def _hard_forward(ctx, x, x2, t, w, ignore, red, C):
        """The CPU forward for class-index targets without label smoothing, in blocks of rows
        that stay in the cache (max, shift, pick, exp, row sums), on ember's threads: one read
        of the logits, and one write of the exps when backward needs them. Pass by pass over the
        whole array it read and wrote the logits' size five times (measured on 700 x 10,000
        float32: 10.6 ms, torch 3.1 ms)."""
        M = x2.shape[0]
        tc, valid = _check_targets(t.reshape(-1), C, ignore)
        if type(x2) is not CPU_ARRAY:  # e.g. vmap's batched arrays: whole-array passes
            e = x2 - x2.max(1, keepdims=True)
            picked = e[np.arange(M), tc]
            np.exp(e, out=e)
            s = rsum(e, (1,))
            picked -= np.log(s).reshape(-1)
            return _CrossEntropy._hard_finish(ctx, x, e, s, picked, tc, valid, w, red, C)
        keep = getattr(ctx, "_needs", (True,))[0]
        e = np.empty(x2.shape, x2.dtype) if keep else None  # the exps, kept for backward
        picked = np.empty(M, x2.dtype)
        s = np.empty((M, 1), x2.dtype)
        step = max(1, _CE_BLOCK // max(1, C * x2.itemsize))
        base2 = x2.dtype == np.float32
        if base2 and x2.size >= _CE_JIT_MIN and _ce_rows_jit(x2, tc, e, picked, s):
            for i in np.flatnonzero(np.isnan(s[:, 0])):  # left to the shift by the maximum
                with np.errstate(over="ignore", invalid="ignore"):  # NaN, as the blocks give
                    xb = x2[i : i + 1]
                    eb = e[i : i + 1] if keep else np.empty(xb.shape, xb.dtype)
                    picked[i : i + 1], s[i : i + 1] = _shifted_rows(xb, eb, tc[i : i + 1])
            picked -= np.log(s).reshape(-1)
            return _CrossEntropy._hard_finish(ctx, x, e, s, picked, tc, valid, w, red, C)

        def part(lo: int, hi: int) -> None:
            with np.errstate(over="ignore", invalid="ignore"):  # those rows are redone
                _blocks(lo, hi)

        def _blocks(lo: int, hi: int) -> None:
            for i in range(lo, hi, step):
                j = min(i + step, hi)
                xb = x2[i:j]
                eb = e[i:j] if keep else np.empty(xb.shape, xb.dtype)
                rows = np.arange(j - i)
                if base2:
                    # float32 logits' exps without the shift by the row's maximum, as 2^(x
                    # log2 e): NumPy's exp2 takes half exp's time, and the maximum and the
                    # subtraction go (a block of 13 x 10,000: 90 -> 54 us). Rows whose sum
                    # overflows, all but vanishes or is NaN are done again with the shift.
                    np.multiply(xb, _LOG2E32, out=eb)
                    np.exp2(eb, out=eb)
                    sb = rsum(eb, (1,))
                    if np.all((sb >= _SUM_FLOOR32) & (sb < np.inf)):
                        picked[i:j] = xb[rows, tc[i:j]]
                        s[i:j] = sb
                        continue
                picked[i:j], s[i:j] = _shifted_rows(xb, eb, tc[i:j])

        threads.prange(M, part, x2.nbytes * 2)
        picked -= np.log(s).reshape(-1)
        return _CrossEntropy._hard_finish(ctx, x, e, s, picked, tc, valid, w, red, C)

    @staticmethod
    def _hard_finish(ctx, x, e, s, picked, tc, valid, w, red, C):
        """The loss from the picked log-probabilities; saves the exps and row sums."""
        M = picked.shape[0]
        if w is not None:
            c = w[tc]
            if valid is not None:
                c = c * valid
        elif valid is not None:
            c = valid.astype(x.dtype)
        else:
            c = None
        loss = -picked if c is None else -(picked * c)
        dt = x.dtype.type
        denom = dt(M) if c is None else _total(c)
        ctx.xshape, ctx.red, ctx.probs, ctx.C, ctx.eps = x.shape, red, False, C, 0.0
        ctx.rowsum = s  # the saved exps are not yet divided by their row sums
        ctx.saved = (e, tc, c, valid, w)
        return _CrossEntropy._reduce(ctx, loss, denom, red)

    @staticmethod
    def _reduce(ctx, loss, denom, red):
        ctx.denom = denom
        if red == "none":
            return _per_sample(loss, ctx.xshape)
        return _sum_or_mean(loss, denom, red)

    @staticmethod
    def backward(ctx, g):
        if isinstance(g, Tensor):  # create_graph=True
            return _bw.regrad(ctx, _ce_graph, g)
        red = ctx.red
        C = ctx.C
        eps = ctx.eps
        if red == "none":
            scale = g.reshape(-1)
        elif red == "sum":
            scale = g
        else:
            with np.errstate(invalid="ignore", divide="ignore"):
                scale = g / ctx.denom
        vec = red == "none"
        if ctx.probs:
            p, A, logp, w = ctx.saved
            rs = A.sum(1)
            gx = p * (rs * scale if vec else rs * scale)[:, None] - A * (
                scale[:, None] if vec else scale
            )
            gt = None
            if ctx._needs[1]:
                gt = -logp * (scale[:, None] if vec else scale)
                if w is not None:
                    gt = gt * w
                if eps:
                    gt = gt * (1 - eps)
                gt = _from_rows(gt.astype(p.dtype, copy=False), ctx.xshape)
            return _from_rows(gx, ctx.xshape), gt, None, None, None, None, None
        p, tc, c, valid, w = ctx.saved
        M = p.shape[0]
        xp = xp_of(p)
        rows = xp.arange(M)
        dt = p.dtype.type
        s = ctx.rowsum
        if s is not None and c is None:  # one pass: exps * (scale / rowsum)
            f = (scale.reshape(-1, 1) if vec else scale) / s
            gx = p * f.astype(p.dtype, copy=False)
            gx[rows, tc] -= scale
            return _from_rows(gx, ctx.xshape), None, None, None, None, None, None
        if s is not None:
            p = p / s
        if c is None and not eps:
            gx = p * scale[:, None] if vec else p * scale
            if vec:
                gx[rows, tc] -= scale
            else:
                gx[rows, tc] -= scale
            return _from_rows(gx, ctx.xshape), None, None, None, None, None, None
        ci = c if c is not None else xp.ones(M, p.dtype)
        vi = valid.astype(p.dtype) if valid is not None else None
        wsum = w.sum() if w is not None else dt(C)
        rowsum = ci * dt(1 - eps)
        if eps:
            rowsum = rowsum + (vi if vi is not None else dt(1)) * (wsum * dt(eps / C))
        sc = scale if vec else xp.full(M, scale, p.dtype)
        gx = p * (rowsum * sc)[:, None]
        gx[rows, tc] -= ci * dt(1 - eps) * sc
        if eps:
            wrow = w[None, :] if w is not None else dt(1)
            vs = sc * vi if vi is not None else sc
            gx -= wrow * (vs * dt(eps / C))[:, None]
        return (
            _from_rows(gx.astype(p.dtype, copy=False), ctx.xshape),
            None,
            None,
            None,
            None,
            None,
            None,
        )


def _nll_graph(x, t, w, ignore, red, logp=None, eps=0.0):
    """nll_loss (label smoothing ``eps`` with ``logp`` the log-probabilities) in Tensor ops
    of the input, the class weights and the ignored targets as constants: the nll and
    cross-entropy forwards for create_graph=True, in the order of the forwards above."""
    logp = x if logp is None else logp
    C = x.shape[1] if x.ndim >= 2 else x.shape[0]
    x2 = _to_rows(logp, C)
    M = x2.shape[0]
    tc, valid = _check_targets(_bw.as_array(t).reshape(-1), C, ignore)
    picked = x2.gather(1, _wrap(np.asarray(tc).reshape(-1, 1).astype(np.int64))).reshape(-1)
    wa = None if w is None else _bw.as_array(w)
    c = wa[tc] if wa is not None else None
    if valid is not None:
        c = c * valid if c is not None else valid.astype(x.dtype.np)
    loss = -picked if c is None else -(picked * _wrap(c))
    if eps:
        sm = -(x2 * _wrap(wa)).sum(1) if wa is not None else -x2.sum(1)
        if valid is not None:
            sm = sm * _wrap(valid.astype(x.dtype.np))
        loss = loss * (1 - eps) + sm * (eps / C)
    if red == "none":
        return _per_sample(loss, x.shape)
    denom = M if c is None else _wrap(np.asarray(c.sum()))
    return _reduced(loss, red, denom)


class _NLL(Op):
    save_in = (0,)
    higher_order = True  # create_graph=True: _nll_graph
    grad_reads_input = True  # as torch's nll_loss_backward

    @staticmethod
    def forward(ctx, x, t, w, ignore, red):
        xp = xp_of(x)
        C = x.shape[1] if x.ndim >= 2 else x.shape[0]
        x2 = _to_rows(x, C)
        M = x2.shape[0]
        t1 = t.reshape(-1)
        tc, valid = _check_targets(t1, C, ignore)
        picked = x2[xp.arange(M), tc]
        c = w[tc] if w is not None else None
        if valid is not None:
            c = c * valid if c is not None else valid.astype(x.dtype)
        loss = -picked if c is None else -(picked * c)
        dt = x.dtype.type
        ctx.saved = (tc, c)
        ctx.meta = (x.shape, x.dtype, M, C, red)
        ctx.denom = dt(M) if c is None else _total(c)
        if red == "none":
            return _per_sample(loss, x.shape)
        return _sum_or_mean(loss, ctx.denom, red)

    @staticmethod
    def backward(ctx, g):
        if isinstance(g, Tensor):  # create_graph=True
            return _bw.regrad(ctx, _nll_graph, g)
        tc, c = ctx.saved
        shape, dtype, M, C, red = ctx.meta
        xp = xp_of(tc)
        if red == "none":
            sc = g.reshape(-1)
        elif red == "sum":
            sc = xp.full(M, g, dtype)
        else:
            with np.errstate(invalid="ignore", divide="ignore"):
                sc = xp.full(M, g / ctx.denom, dtype)
        if c is not None:
            sc = sc * c
        g2 = xp.zeros((M, C), dtype)
        g2[xp.arange(M), tc] = -sc
        return _from_rows(g2, shape), None, None, None, None


# --- binary cross entropy -------------------------------------------------------------------
class _BCE(Op):
    save_in = (0, 1)
    higher_order = True  # create_graph=True: the forward again in Tensor ops, differentiated

    @staticmethod
    def forward(ctx, x, t, w, red):
        xp = xp_of(x)
        if x.size and ((x < 0).any() or (x > 1).any()):
            raise RuntimeError("all elements of input should be between 0 and 1")
        lx = xp.maximum(xp.log(x), -100)
        l1x = xp.maximum(xp.log1p(-x), -100)
        loss = -(t * lx + (1 - t) * l1x)
        if w is not None:
            loss = loss * w
        ctx.saved = (x, t, w, lx, l1x)
        ctx.red = red
        loss = loss.astype(x.dtype, copy=False)
        if red == "none":
            return loss
        return _total(loss) if red == "sum" else average(loss)

    @staticmethod
    def backward(ctx, g):
        if isinstance(g, Tensor):  # create_graph=True
            return _bw.regrad(ctx, _bce_graph, g)
        x, t, w, lx, l1x = ctx.saved
        xp = xp_of(x)
        if ctx.red == "mean":
            g = g / x.dtype.type(max(x.size, 1))
        gx = g * (x - t) / xp.maximum((1 - x) * x, x.dtype.type(1e-12))
        if w is not None:
            gx = gx * w
        gt = None
        if ctx._needs[1]:
            gt = g * (l1x - lx)
            if w is not None:
                gt = gt * w
            gt = _bw.sum_to(gt, t.shape)
        return _bw.sum_to(gx, x.shape).astype(x.dtype, copy=False), gt, None, None


def _bce_graph(x, t, w, red):
    loss = -(t * x.log().clamp(min=-100) + (1 - t) * (-x).log1p().clamp(min=-100))
    return _reduced(loss if w is None else loss * w, red)


def _bce_logits_graph(x, t, w, pw, red):
    sp = (-x).clamp(min=0) + (-x.abs()).exp().log1p()  # softplus(-x), stable
    loss = (1 - t) * x + (sp if pw is None else ((pw - 1) * t + 1) * sp)
    return _reduced(loss if w is None else loss * w, red)


class _BCELogits(Op):
    save_in = (0, 1)
    higher_order = True  # create_graph=True: the forward again in Tensor ops, differentiated

    @staticmethod
    def forward(ctx, x, t, w, pw, red):
        xp = xp_of(x)
        sp = xp.logaddexp(0, -x).astype(x.dtype, copy=False)  # softplus(-x), stable
        if pw is not None:
            lw = (pw - 1) * t + 1
            loss = (1 - t) * x + lw * sp
        else:
            lw = None
            loss = (1 - t) * x + sp
        if w is not None:
            loss = loss * w
        ctx.saved = (x, t, w, pw, lw, sp)
        ctx.red = red
        loss = loss.astype(x.dtype, copy=False)
        if red == "none":
            return loss
        return _total(loss) if red == "sum" else average(loss)

    @staticmethod
    def backward(ctx, g):
        if isinstance(g, Tensor):  # create_graph=True
            return _bw.regrad(ctx, _bce_logits_graph, g)
        x, t, w, pw, lw, sp = ctx.saved
        xp = xp_of(x)
        if ctx.red == "mean":
            g = g / x.dtype.type(max(x.size, 1))
        with np.errstate(over="ignore"):
            sig_neg = (1 / (1 + xp.exp(x))).astype(x.dtype, copy=False)  # sigmoid(-x)
        d = (1 - t) - (lw if lw is not None else 1) * sig_neg
        if w is not None:
            d = d * w
        gx = _bw.sum_to(g * d, x.shape).astype(x.dtype, copy=False)
        gt = None
        if ctx._needs[1]:
            dt_ = -x + ((pw - 1) * sp if pw is not None else 0)
            if w is not None:
                dt_ = dt_ * w
            gt = _bw.sum_to(g * dt_, t.shape)
        return gx, gt, None, None, None
