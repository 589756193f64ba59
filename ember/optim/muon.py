"""Muon (momentum orthogonalised by Newton-Schulz iterations), as ``torch.optim.Muon``."""

from __future__ import annotations

import math

import numpy as np

from .._backend.xp import xp_of
from ..ops._fma import fma
from ..tensor import Tensor
from .optimizer import Optimizer

__all__ = ["Muon"]

_ADJUST_LR_FNS = ("original", "match_rms_adamw")


class Muon(Optimizer):
    """Muon for 2-D parameters: the Nesterov (or plain) momentum of the gradient, orthogonalised
    by ``ns_steps`` quintic Newton-Schulz iterations, with decoupled weight decay.

    As torch 2.13, the orthogonalisation runs in bfloat16 (each product rounded to bfloat16,
    accumulated in float32), so float32 and float64 parameters get the same bfloat16 update;
    ``adjust_lr_fn`` scales the step by sqrt(max(1, rows / cols)) ("original", the default) or
    0.2 * sqrt(max(rows, cols)) ("match_rms_adamw"). The state is ``momentum_buffer``.
    """

    _state_names = ("momentum_buffer",)
    _sparse_error = "Muon does not support sparse gradients"

    def __init__(
        self,
        params,
        lr: float = 1e-3,
        weight_decay: float = 0.1,
        momentum: float = 0.95,
        nesterov: bool = True,
        ns_coefficients: tuple[float, float, float] = (3.4445, -4.775, 2.0315),
        eps: float = 1e-07,
        ns_steps: int = 5,
        adjust_lr_fn: str | None = None,
    ) -> None:
        if isinstance(lr, Tensor) and lr.numel() != 1:
            raise ValueError("Tensor lr must be 1-element")
        if not 0.0 <= lr:
            raise ValueError(f"Learning rate should be >= 0 but is: {lr}")
        if not 0.0 <= momentum:
            raise ValueError(f"momentum should be >= 0 but is: {momentum}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"weight decay should be >= 0 but is: {weight_decay}")
        if adjust_lr_fn is not None and adjust_lr_fn not in _ADJUST_LR_FNS:
            raise ValueError(f"Adjust learning rate function {adjust_lr_fn} is not supported")
        defaults = dict(
            lr=lr,
            weight_decay=weight_decay,
            momentum=momentum,
            nesterov=nesterov,
            ns_coefficients=ns_coefficients,
            eps=eps,
            ns_steps=ns_steps,
            adjust_lr_fn=adjust_lr_fn,
        )
        super().__init__(params, defaults)
        for group in self.param_groups:
            for p in group["params"]:
                if p.ndim != 2:
                    raise ValueError(
                        "Muon only supports 2D parameters whereas we found a parameter with "
                        f"size: {p.size()}"
                    )

    def _step_group(self, group: dict) -> None:
        # the update is per matrix (not elementwise): never over a group's flat buffer
        for p in group["params"]:
            if p.grad is not None and p.is_complex():
                raise RuntimeError("Muon does not support complex parameters")
        return self._step_each(group, self._state_names)

    def _kernel(self, group: dict, p, g, bufs: dict, step, s) -> dict:
        if g.ndim != 2:
            raise ValueError("Param gradient must be a 2D matrix")
        xp = xp_of(p)
        new = {}
        m = bufs.get("momentum_buffer")
        if m is None:
            m = new["momentum_buffer"] = xp.zeros_like(p)
        mu = group["momentum"]
        m[...] = _lerp(xp, m, g, 1 - mu)
        u = _lerp(xp, g, m, mu) if group["nesterov"] else m
        o = _newton_schulz(xp, u, group["ns_coefficients"], group["ns_steps"], group["eps"])
        lr = float(group["lr"])
        p *= p.dtype.type(1 - lr * group["weight_decay"])
        alpha = -_adjusted_lr(lr, group["adjust_lr_fn"], p.shape)
        o = o.astype(p.dtype)
        # torch's add(alpha=) rounds once (an FMA) on the CPU
        p[...] = fma(alpha, o, p, p.dtype) if xp is np else p + alpha * o
        return new


def _lerp(xp, a, b, w: float):
    """torch's CPU lerp of arrays with a number weight, each branch rounded once."""
    dt = a.dtype
    w = dt.type(w)
    d = b - a
    if xp is not np:
        return a + w * d if abs(w) < 0.5 else b - (dt.type(1) - w) * d
    return fma(w, d, a, dt) if abs(w) < 0.5 else fma(-(dt.type(1) - w), d, b, dt)


def _newton_schulz(xp, g, coefficients, steps: int, eps: float):
    """The quintic Newton-Schulz orthogonalisation in bfloat16, as torch rounds it: every
    product is accumulated in float32 and rounded to bfloat16 once (addmm's scaled sum
    included)."""
    if steps >= 100:
        raise ValueError("Number of steps must be less than 100 for computational efficiency")
    if g.ndim != 2:
        raise ValueError("Input tensor gradient must be a 2D matrix")
    if len(coefficients) != 3:
        raise ValueError("Coefficients must be a tuple of exactly 3 values")
    f32 = np.float32
    a, b, c = (f32(v) for v in coefficients)

    def rnd(x):
        return _bf16_round(xp, x)

    # torch converts float64 to bfloat16 through float32 (two roundings)
    x = rnd(g.astype(f32))
    tall = g.shape[0] > g.shape[1]
    if tall:
        x = x.T
    norm = rnd(xp.sqrt(xp.sum(x * x, dtype=f32)))
    norm = xp.maximum(norm, rnd(xp.asarray(eps, dtype=f32)))
    x = rnd(x / norm)
    for _ in range(steps):
        gram = rnd(x @ x.T)
        upd = rnd(b * gram + c * (gram @ gram))
        x = rnd(a * x + upd @ x)
    return x.T if tall else x


def _bf16_round(xp, x):
    """float32 ``x`` rounded to bfloat16's precision (to nearest, ties to even) and kept as
    float32: a cast to bfloat16 and back, on the bits, so Muon needs no ml_dtypes."""
    u = xp.asarray(x, dtype=xp.float32).view(xp.uint32)
    r = (u + (xp.uint32(0x7FFF) + ((u >> 16) & xp.uint32(1)))) & xp.uint32(0xFFFF0000)
    nan = u & xp.uint32(0x7FFFFFFF) > xp.uint32(0x7F800000)
    if nan.any():  # a NaN stays a NaN (quiet), where the carry could turn it into an infinity
        r = xp.where(nan, (u | xp.uint32(0x00400000)) & xp.uint32(0xFFFF0000), r)
    return r.view(xp.float32)


def _adjusted_lr(lr: float, adjust_lr_fn: str | None, shape) -> float:
    rows, cols = shape[:2]
    if adjust_lr_fn is None or adjust_lr_fn == "original":
        return lr * math.sqrt(max(1, rows / cols))
    if adjust_lr_fn == "match_rms_adamw":
        return lr * 0.2 * math.sqrt(max(rows, cols))
    return lr
