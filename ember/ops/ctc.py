"""The connectionist temporal classification loss: the forward (alpha) and backward (beta)
recursions in log space over the blank-extended targets, vectorised over the batch; the
gradient is torch's, which treats log_probs as the output of a log_softmax."""

from __future__ import annotations

import numpy as np

from .._backend.xp import xp_of
from ..autograd.node import Op

_NEG_INF = -np.inf


def _extended(targets, tlen, blank: int, lmax: int):
    """Blank-extended labels (N, lmax) and the mask of where the skip transition s-2 -> s is
    allowed (a label differing from the label two back)."""
    n = len(tlen)
    ext = np.full((n, lmax), blank, np.int64)
    for i in range(n):
        ext[i, 1 : 2 * tlen[i] : 2] = targets[i][: tlen[i]]
    skip = np.zeros((n, lmax), bool)
    skip[:, 2:] = (ext[:, 2:] != blank) & (ext[:, 2:] != ext[:, :-2])
    return ext, skip


class CTCLoss(Op):
    """Per-sample negative log-likelihoods (N,) of the targets under log_probs (T, N, C)."""

    @staticmethod
    def forward(ctx, lp, targets, ilen, tlen, blank, zero_infinity):
        xp = xp_of(lp)
        t_max, n, _ = lp.shape
        lmax = 2 * (max(tlen) if len(tlen) else 0) + 1
        ext, skip = _extended(targets, tlen, blank, lmax)
        ext_x, skip_x = xp.asarray(ext), xp.asarray(skip)
        width = xp.asarray(2 * np.asarray(tlen) + 1)
        valid = xp.arange(lmax)[None, :] < width[:, None]
        # emission log-probabilities of each extended label at each time: (T, N, lmax)
        emit = xp.take_along_axis(lp, xp.broadcast_to(ext_x[None], (t_max, n, lmax)), 2)
        emit = xp.where(valid[None], emit, _NEG_INF)
        alpha = xp.full((t_max, n, lmax), _NEG_INF, lp.dtype)
        alpha[0, :, 0] = emit[0, :, 0]
        if lmax > 1:
            alpha[0, :, 1] = emit[0, :, 1]
        ninf = xp.full((n, 1), _NEG_INF, lp.dtype)
        for t in range(1, t_max):
            prev = alpha[t - 1]
            s1 = xp.concatenate([ninf, prev[:, :-1]], 1)
            s2 = xp.concatenate([ninf, ninf, prev[:, :-2]], 1)[:, :lmax]
            s2 = xp.where(skip_x, s2, _NEG_INF)
            alpha[t] = xp.logaddexp(xp.logaddexp(prev, s1), s2) + emit[t]
        il = xp.asarray(np.asarray(ilen))
        last = alpha[il - 1, xp.arange(n)]  # (N, lmax) at each sample's last frame
        w = width
        end1 = xp.take_along_axis(last, (w - 1)[:, None], 1)[:, 0]
        end2 = xp.where(
            w > 1, xp.take_along_axis(last, xp.maximum(w - 2, 0)[:, None], 1)[:, 0], _NEG_INF
        )
        nll = -xp.logaddexp(end1, end2)
        ctx.saved = (lp, emit, alpha, ext_x, skip_x, valid, il, w, nll)
        ctx.zero_infinity = zero_infinity
        if zero_infinity:
            nll = xp.where(xp.isinf(nll), 0.0, nll)
        return nll.astype(lp.dtype, copy=False)

    @staticmethod
    def backward(ctx, g):
        lp, emit, alpha, ext, skip, valid, il, w, nll = ctx.saved
        xp = xp_of(lp)
        t_max, n, c = lp.shape
        lmax = emit.shape[2]
        beta = xp.full((t_max, n, lmax), _NEG_INF, lp.dtype)
        ninf = xp.full((n, 1), _NEG_INF, lp.dtype)
        skip_back = xp.concatenate([skip[:, 2:], xp.zeros((n, 2), bool)], 1)  # s -> s + 2
        s_idx = xp.arange(lmax)[None, :]
        at_end = (s_idx == (w - 1)[:, None]) | ((s_idx == (w - 2)[:, None]) & (w[:, None] > 1))
        for t in range(t_max - 1, -1, -1):
            start = (il - 1 == t)[:, None]
            nxt = beta[t + 1] if t + 1 < t_max else xp.full((n, lmax), _NEG_INF, lp.dtype)
            s1 = xp.concatenate([nxt[:, 1:], ninf], 1)
            s2 = xp.concatenate([nxt[:, 2:], ninf, ninf], 1)[:, :lmax]
            s2 = xp.where(skip_back, s2, _NEG_INF)
            rec = xp.logaddexp(xp.logaddexp(nxt, s1), s2) + emit[t]
            init = xp.where(at_end, emit[t], _NEG_INF)
            beta[t] = xp.where(start, init, xp.where((il - 1 > t)[:, None], rec, _NEG_INF))
        ab = alpha + beta  # (T, N, lmax), log of alpha*beta (each holds the emission at t)
        ab = xp.where(valid[None], ab, _NEG_INF)
        # log-sum over the extended positions of each class
        lcab = xp.full((t_max, n, c), _NEG_INF, lp.dtype)
        for s in range(lmax):
            cls = ext[:, s]
            cur = lcab[:, xp.arange(n), cls]
            lcab[:, xp.arange(n), cls] = xp.logaddexp(cur, ab[:, :, s])
        with np.errstate(over="ignore", invalid="ignore"):
            grad = xp.exp(lp) - xp.exp(lcab + nll[None, :, None] - lp)
        grad = xp.where((xp.arange(t_max)[:, None] < il[None, :])[:, :, None], grad, 0.0)
        if ctx.zero_infinity:
            grad = xp.where(xp.isinf(nll)[None, :, None], 0.0, grad)
        return (grad * g[None, :, None]).astype(lp.dtype, copy=False), None, None, None, None, None
