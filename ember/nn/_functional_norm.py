"""Normalisation (batch, layer, group, RMS, instance): one fused op with a hand-written
backward normalises over any set of axes, with an optional per-channel affine."""

from __future__ import annotations

import numpy as np

from .._backend.xp import xp_of
from ..autograd.grad_mode import no_grad
from ..autograd.node import Op
from ..tensor import Tensor, _wrap
from . import _batchnorm_train as _bn_train
from ._reduce import rsum

__all__ = [
    "batch_norm",
    "layer_norm",
    "group_norm",
    "rms_norm",
    "instance_norm",
    "local_response_norm",
]


class _Norm(Op):
    """y = (x - mean) / sqrt(var + eps) * w + b over ``axes``; w/b reshaped to ``bshape``."""

    @staticmethod
    def forward(ctx, x, w, b, axes, eps, bshape, stats):
        xp = xp_of(x)
        cnt = 1
        for a in axes:
            cnt *= x.shape[a]
        k = x.dtype.type(1.0 / max(cnt, 1))
        mean = rsum(x, axes) * k
        xc = x - mean
        var = rsum(xc * xc, axes) * k
        invstd = 1.0 / xp.sqrt(var + x.dtype.type(eps))
        xhat = xc
        xhat *= invstd
        if stats is not None:
            stats.append((mean, var))
        y = xhat
        if w is not None:
            y = y * w.reshape(bshape)
        if b is not None:
            y = y + b.reshape(bshape) if y is xhat else y.__iadd__(b.reshape(bshape))
        ctx.saved = (xhat, invstd, w)
        ctx.axes = axes
        ctx.bshape = bshape
        return y

    @staticmethod
    def backward(ctx, g):
        xhat, invstd, w = ctx.saved
        axes = ctx.axes
        n = ctx._needs
        bshape = ctx.bshape
        cnt = 1
        for a in axes:
            cnt *= xhat.shape[a]
        gw = gb = gx = None
        raxes = None
        if n[1] or n[2]:
            nd = xhat.ndim
            pad = nd - len(bshape)
            full = (1,) * pad + tuple(bshape)
            raxes = tuple(i for i in range(nd) if full[i] == 1 and xhat.shape[i] != 1)
        if n[1]:
            gw = rsum(g * xhat, raxes, False).reshape(w.shape)
        if n[2]:
            gb = rsum(g, raxes, False).reshape(ctx.bshape_b)
        if n[0]:
            gxh = g * w.reshape(bshape) if w is not None else g
            s1 = rsum(gxh, axes)
            s2 = rsum(gxh * xhat, axes)
            k = xhat.dtype.type(1.0 / cnt)
            gx = gxh - s1 * k
            gx -= xhat * (s2 * k)
            gx *= invstd
        return gx, gw, gb, None, None, None, None


def _norm(x: Tensor, w, b, axes, eps, bshape, stats=None) -> Tensor:
    out = _Norm.apply(x, w, b, tuple(axes), eps, tuple(bshape), stats)
    node = out.grad_fn
    if node is not None and b is not None:
        node.bshape_b = b.shape
    return out


def batch_norm(
    input: Tensor,
    running_mean: Tensor | None,
    running_var: Tensor | None,
    weight: Tensor | None = None,
    bias: Tensor | None = None,
    training: bool = False,
    momentum: float | None = 0.1,
    eps: float = 1e-5,
) -> Tensor:
    """Normalise each channel (dim 1) with batch statistics (training) or running ones."""
    x = input._data
    if x.ndim < 2:
        raise ValueError(f"expected 2D or 3D input (got {x.ndim}D input)")
    C = x.shape[1]
    bshape = (1, C) + (1,) * (x.ndim - 2)
    if training:
        size = x.size // C
        if size == 1:
            raise ValueError(
                "Expected more than 1 value per channel when training, got input "
                f"size {input.shape}"
            )
        stats: list = []
        axes = (0,) + tuple(range(2, x.ndim))
        wd = None if weight is None else weight._data
        bd = None if bias is None else bias._data
        if _bn_train.eligible(x, wd, bd):
            out = _bn_train.BatchNormTrain.apply(input, weight, bias, float(eps), stats)
        else:
            out = _norm(input, weight, bias, axes, eps, bshape, stats)
        if running_mean is not None or running_var is not None:
            mean, var = stats[0]
            m = 0.1 if momentum is None else momentum
            with no_grad():
                if running_mean is not None:
                    rm = running_mean._data
                    rm *= 1 - m
                    rm += (m * mean.reshape(C)).astype(rm.dtype, copy=False)
                    running_mean._bump()
                if running_var is not None:
                    rv = running_var._data
                    unbiased = var.reshape(C) * (size / (size - 1))
                    rv *= 1 - m
                    rv += (m * unbiased).astype(rv.dtype, copy=False)
                    running_var._bump()
        return out
    if running_mean is None or running_var is None:
        raise RuntimeError("running_mean and running_var must be defined in evaluation mode")
    xp = xp_of(x)
    inv = 1.0 / xp.sqrt(running_var._data.astype(x.dtype) + x.dtype.type(eps))
    mean = running_mean._data.astype(x.dtype)
    # y = x * scale + shift with per-channel scale = inv * w, shift = b - mean * scale: two
    # passes over the activations; the small per-channel tensors carry w's and b's gradients
    scale = _wrap(inv)
    if weight is not None:
        scale = scale * weight
    shift = -_wrap(mean) * scale
    if bias is not None:
        shift = shift + bias
    return input * scale.reshape(bshape) + shift.reshape(bshape)


def layer_norm(
    input: Tensor,
    normalized_shape,
    weight: Tensor | None = None,
    bias: Tensor | None = None,
    eps: float = 1e-5,
) -> Tensor:
    """Normalise over the trailing ``normalized_shape`` dims."""
    ns = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
    shp = tuple(input.shape)
    if len(ns) > len(shp) or shp[len(shp) - len(ns) :] != ns:
        raise RuntimeError(
            f"Given normalized_shape={list(ns)}, expected input with shape "
            f"[*, {', '.join(str(s) for s in ns)}], but got input of size"
            f"{input.shape}"
        )
    axes = tuple(range(len(shp) - len(ns), len(shp)))
    return _norm(input, weight, bias, axes, eps, ns)


def group_norm(
    input: Tensor,
    num_groups: int,
    weight: Tensor | None = None,
    bias: Tensor | None = None,
    eps: float = 1e-5,
) -> Tensor:
    """Normalise over channel groups (and spatial dims), then a per-channel affine."""
    shp = tuple(input.shape)
    if len(shp) < 2 or shp[1] % num_groups:
        raise RuntimeError(
            "Expected number of channels in input to be divisible by num_groups, but got input "
            f"of shape {list(shp)} and num_groups={num_groups}"
        )
    N, C = shp[0], shp[1]
    xg = input.reshape(N, num_groups, -1)
    y = _norm(xg, None, None, (2,), eps, ()).reshape(shp)
    bshape = (1, C) + (1,) * (len(shp) - 2)
    if weight is not None:
        y = y * weight.reshape(bshape)
    if bias is not None:
        y = y + bias.reshape(bshape)
    return y


def instance_norm(
    input: Tensor,
    running_mean: Tensor | None = None,
    running_var: Tensor | None = None,
    weight: Tensor | None = None,
    bias: Tensor | None = None,
    use_input_stats: bool = True,
    momentum: float = 0.1,
    eps: float = 1e-5,
) -> Tensor:
    """Normalise each (sample, channel) over its spatial dims."""
    shp = tuple(input.shape)
    C = shp[1]
    bshape = (1, C) + (1,) * (len(shp) - 2)
    if not use_input_stats:
        return batch_norm(input, running_mean, running_var, weight, bias, False, momentum, eps)
    axes = tuple(range(2, len(shp)))
    stats: list = []
    y = _norm(input, None, None, axes, eps, (), stats)
    if running_mean is not None and running_var is not None:
        mean, var = stats[0]
        n = int(np.prod(shp[2:]))
        with no_grad():
            rm, rv = running_mean._data, running_var._data
            rm *= 1 - momentum
            rm += momentum * mean.reshape(shp[0], C).mean(0).astype(rm.dtype)
            rv *= 1 - momentum
            rv += momentum * (var.reshape(shp[0], C) * n / max(n - 1, 1)).mean(0).astype(rv.dtype)
    if weight is not None:
        y = y * weight.reshape(bshape)
    if bias is not None:
        y = y + bias.reshape(bshape)
    return y


def rms_norm(
    input: Tensor, normalized_shape, weight: Tensor | None = None, eps: float | None = None
) -> Tensor:
    """x / sqrt(mean(x^2) + eps) over the trailing dims, times weight."""
    ns = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
    shp = tuple(input.shape)
    if len(ns) > len(shp) or shp[len(shp) - len(ns) :] != ns:
        raise RuntimeError(
            f"Given normalized_shape={list(ns)}, expected input with shape "
            f"[*, {', '.join(str(s) for s in ns)}], but got input of size"
            f"{input.shape}"
        )
    if eps is None:
        eps = float(np.finfo(input._data.dtype).eps)
    dims = tuple(range(len(shp) - len(ns), len(shp)))
    r = ((input * input).mean(dims, keepdim=True) + eps).rsqrt()
    y = input * r
    if weight is not None:
        y = y * weight
    return y


def local_response_norm(
    input: Tensor, size: int, alpha: float = 1e-4, beta: float = 0.75, k: float = 1.0
) -> Tensor:
    """Normalise each channel by the squared activity of ``size`` neighbouring channels."""
    from ._functional_basic import pad

    sq = input * input
    C = input.shape[1]
    padded = pad(sq, (0, 0) * (input.ndim - 2) + (size // 2, (size - 1) // 2))
    acc = None
    for i in range(size):
        sl = padded.narrow(1, i, C)
        acc = sl if acc is None else acc + sl
    div = (acc * (alpha / size) + k) ** beta
    return input / div
