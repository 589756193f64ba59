"""Loss functions (nn.functional): fused ops with hand-written backward for the common ones
(mse, cross_entropy, nll here; bce, bce_with_logits in _functional_loss_bce.py), compositions
of ember ops for the rest (_functional_loss_extra.py)."""

from __future__ import annotations

import warnings

import numpy as np

from .._backend import kernels
from .._backend.xp import CPU_ARRAY, xp_of
from ..autograd.node import Op
from ..ops import _bw
from ..tensor import Tensor
from ._reduce import rsum

__all__ = [
    "mse_loss",
    "l1_loss",
    "cross_entropy",
    "nll_loss",
    "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
    "smooth_l1_loss",
    "huber_loss",
    "kl_div",
    "cosine_embedding_loss",
    "margin_ranking_loss",
    "triplet_margin_loss",
    "hinge_embedding_loss",
    "soft_margin_loss",
    "poisson_nll_loss",
    "gaussian_nll_loss",
    "multilabel_soft_margin_loss",
]


def _legacy_reduction(size_average, reduce, reduction: str) -> str:
    if size_average is None and reduce is None:
        return reduction
    warnings.warn(
        "size_average and reduce args will be deprecated, please use reduction='mean' instead.",
        stacklevel=2,
    )
    size_average = True if size_average is None else size_average
    reduce = True if reduce is None else reduce
    if not reduce:
        return "none"
    return "mean" if size_average else "sum"


def _check_reduction(reduction: str) -> None:
    if reduction not in ("none", "mean", "sum"):
        raise ValueError(f"{reduction} is not a valid value for reduction")


def _reduce(loss: Tensor, reduction: str) -> Tensor:
    if reduction == "none":
        return loss
    if reduction == "sum":
        return loss.sum()
    if reduction == "mean":
        return loss.mean()
    raise ValueError(f"{reduction} is not a valid value for reduction")


def _size_warning(input: Tensor, target: Tensor) -> None:
    if target._data.shape != input._data.shape:
        warnings.warn(
            f"Using a target size ({target.shape}) that is different to the input size "
            f"({input.shape}). This will likely lead to incorrect results due to broadcasting. "
            "Please ensure they have the same size.",
            stacklevel=3,
        )


# --- mse -----------------------------------------------------------------------------------
class _MSE(Op):
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
        # vdot: one BLAS/cuBLAS dot (CuPy arrays reach cupy.vdot through __array_function__)
        if red == "sum":
            return np.vdot(d, d) if d.dtype.kind == "f" else (d * d).sum()
        return (np.vdot(d, d) if d.dtype.kind == "f" else (d * d).sum()) / d.dtype.type(d.size)

    @staticmethod
    def backward(ctx, g):
        (d,) = ctx.saved
        red = ctx.red
        if type(d) is not CPU_ARRAY and red != "none" and kernels.on_device(d):
            c = 2.0 / d.size if red == "mean" else 2.0
            gd = kernels.mse_bw(d, g.astype(d.dtype, copy=False), c)
        elif red == "mean":
            gd = d * (g * d.dtype.type(2.0 / d.size))
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


def mse_loss(
    input: Tensor,
    target: Tensor,
    size_average=None,
    reduce=None,
    reduction: str = "mean",
    weight=None,
) -> Tensor:
    """Mean squared error."""
    if size_average is not None or reduce is not None:
        reduction = _legacy_reduction(size_average, reduce, reduction)
    if reduction not in ("mean", "sum", "none"):
        _check_reduction(reduction)
    if isinstance(target, Tensor) and target._data.shape != input._data.shape:
        _size_warning(input, target)
    if weight is not None:
        return _reduce((input - target) ** 2 * weight, reduction)
    return _MSE.apply(input, target, reduction)


def l1_loss(
    input: Tensor,
    target: Tensor,
    size_average=None,
    reduce=None,
    reduction: str = "mean",
    weight=None,
) -> Tensor:
    """Mean absolute error."""
    reduction = _legacy_reduction(size_average, reduce, reduction)
    _check_reduction(reduction)
    _size_warning(input, target)
    loss = (input - target).abs()
    if weight is not None:
        loss = loss * weight
    return _reduce(loss, reduction)


# --- cross entropy / nll --------------------------------------------------------------------
def _to_rows(x, C: int):
    """(M, C) rows with the class dim last: (N, C, d...) -> (N*d..., C)."""
    if x.ndim == 1:
        return x.reshape(1, C)
    if x.ndim == 2:
        return x
    xp = xp_of(x)
    return xp.moveaxis(x, 1, -1).reshape(-1, C)


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


class _CrossEntropy(Op):
    """log_softmax + nll (or soft targets) in one node, with label smoothing and weights."""

    @staticmethod
    def forward(ctx, x, t, w, ignore, eps, red, probs):
        xp = xp_of(x)
        C = x.shape[1] if x.ndim >= 2 else x.shape[0]
        x2 = _to_rows(x, C)
        M = x2.shape[0]
        if xp is not np and kernels.on_device(x2):  # CUDA: two fused kernels, two reductions
            logp, e = kernels.shift_exp(x2, x2.max(1, keepdims=True))
            kernels.log_normalize(e.sum(1, keepdims=True), logp, e)
        else:
            sh = x2 - x2.max(1, keepdims=True)
            e = xp.exp(sh)
            s = rsum(e, (1,))
            logp = sh
            logp -= xp.log(s)
            e /= s  # softmax, kept for backward
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
            denom = dt(M) if c is None else c.sum()
            ctx.saved = (e, tc, c, valid, w)
            ctx.eps = eps
        ctx.denom = denom
        if red == "none":
            if len(ctx.xshape) == 1:
                return loss.reshape(())
            if len(ctx.xshape) >= 3:
                return loss.reshape((ctx.xshape[0],) + tuple(ctx.xshape[2:]))
            return loss
        total = loss.sum()
        if red == "sum":
            return total
        with np.errstate(invalid="ignore", divide="ignore"):
            return total / denom

    @staticmethod
    def backward(ctx, g):
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


def _check_index_target(input: Tensor, target: Tensor, fn: str = "cross_entropy") -> None:
    td = target._data.dtype
    if td != np.int64 and td != np.uint8:
        from ..ops.inplace import _pretty

        raise RuntimeError(
            f"expected target dtype to be Long or Byte, but got {_pretty(target.dtype.name)}"
        )
    xs, ts = tuple(input.shape), tuple(target.shape)
    if len(xs) == 1:
        if len(ts) != 0:
            raise RuntimeError("0D or 1D target tensor expected, multi-target not supported")
        return
    if len(xs) == 2:
        if len(ts) != 1:
            raise RuntimeError("0D or 1D target tensor expected, multi-target not supported")
        if xs[0] != ts[0]:
            raise ValueError(
                f"Expected input batch_size ({xs[0]}) to match target batch_size ({ts[0]})."
            )
        return
    want = (xs[0],) + xs[2:]
    if ts != want:
        raise RuntimeError(f"Expected target size {list(want)}, got {list(ts)}")


def cross_entropy(
    input: Tensor,
    target: Tensor,
    weight: Tensor | None = None,
    size_average=None,
    ignore_index: int = -100,
    reduce=None,
    reduction: str = "mean",
    label_smoothing: float = 0.0,
) -> Tensor:
    """Cross entropy of logits against class indices or class probabilities."""
    reduction = _legacy_reduction(size_average, reduce, reduction)
    _check_reduction(reduction)
    if input.ndim == 0:
        raise RuntimeError("cross_entropy: input must be at least 1-D")
    if not 0.0 <= label_smoothing <= 1.0:
        raise RuntimeError(f"label_smoothing must be between 0.0 and 1.0. Got: {label_smoothing}")
    probs = target._data.dtype.kind == "f"
    if probs:
        if tuple(target.shape) != tuple(input.shape):
            if input.ndim == 2 and target.ndim == 2:
                raise RuntimeError("0D or 1D target tensor expected, multi-target not supported")
            raise RuntimeError(
                f"Expected target size {list(input.shape)}, got {list(target.shape)}"
            )
        if target._data.dtype != input._data.dtype:
            raise RuntimeError("expected scalar type Float but found Double")
    else:
        _check_index_target(input, target)
    w = weight._data if weight is not None else None
    if w is not None:
        C = input.shape[1] if input.ndim >= 2 else input.shape[0]
        if w.shape != (C,):
            raise RuntimeError(
                f"weight tensor should be defined either for all {C} classes "
                f"or no classes but got weight tensor of shape: "
                f"{list(w.shape)}"
            )
    return _CrossEntropy.apply(
        input,
        target,
        w,
        ignore_index,
        float(label_smoothing),
        reduction,
        probs,
    )


class _NLL(Op):
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
        ctx.denom = dt(M) if c is None else c.sum()
        if red == "none":
            if x.ndim == 1:
                return loss.reshape(())
            return loss.reshape((x.shape[0],) + tuple(x.shape[2:]))
        total = loss.sum()
        if red == "sum":
            return total
        with np.errstate(invalid="ignore", divide="ignore"):
            return total / ctx.denom

    @staticmethod
    def backward(ctx, g):
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


def nll_loss(
    input: Tensor,
    target: Tensor,
    weight: Tensor | None = None,
    size_average=None,
    ignore_index: int = -100,
    reduce=None,
    reduction: str = "mean",
) -> Tensor:
    """Negative log likelihood of log-probabilities at the target classes."""
    reduction = _legacy_reduction(size_average, reduce, reduction)
    _check_reduction(reduction)
    _check_index_target(input, target, "nll_loss")
    w = weight._data if weight is not None else None
    return _NLL.apply(input, target, w, ignore_index, reduction)


from ._functional_loss_bce import (  # noqa: E402,F401  (the Ops were defined here)
    _BCE,
    _BCELogits,
    binary_cross_entropy,
    binary_cross_entropy_with_logits,
)
from ._functional_loss_extra import (  # noqa: E402
    cosine_embedding_loss,
    gaussian_nll_loss,
    hinge_embedding_loss,
    huber_loss,
    kl_div,
    margin_ranking_loss,
    multilabel_soft_margin_loss,
    poisson_nll_loss,
    smooth_l1_loss,
    soft_margin_loss,
    triplet_margin_loss,
)
