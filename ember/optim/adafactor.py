"""Adafactor (a factored second moment, relative step sizes), as ``torch.optim.Adafactor``."""

from __future__ import annotations

import numpy as np

from .._backend.xp import xp_of
from ..dtypes import finfo
from ..tensor import Tensor, _wrap
from .optimizer import Optimizer, direction

__all__ = ["Adafactor"]


class Adafactor(Optimizer):
    """Adafactor: per-row and per-column second moments for tensors of two or more dims.

    As torch's: ``lr`` caps the relative step ``min(lr, 1/sqrt(t))`` and scales the decoupled
    weight decay; a step is that relative step times ``max(eps[1], RMS(param))``, clipped by
    ``d``; ``eps[0]`` (``None``: the machine epsilon of the group's first parameter with a
    gradient) floors the variance estimate. A tensor of ``ndim >= 2`` keeps ``row_var`` and
    ``col_var`` over its last two dims (``variance`` below that), and ``step`` is a float32
    scalar tensor, so state dicts move between ember and torch.
    """

    def __init__(
        self,
        params,
        lr: float | Tensor = 1e-2,
        beta2_decay: float = -0.8,
        eps: tuple[float | None, float] = (None, 1e-3),
        d: float = 1.0,
        weight_decay: float = 0.0,
        *,
        foreach: bool | None = None,
        maximize: bool = False,
    ) -> None:
        if isinstance(lr, Tensor) and lr.numel() != 1:
            raise ValueError("Tensor lr must be 1-element")
        if not 0.0 <= lr:
            raise ValueError(f"Learning rate should be >= 0 but is: {lr}")
        if not 0.0 >= beta2_decay:
            raise ValueError(f"beta2_decay should be <= 0 but is: {beta2_decay}")
        if eps[0] is not None and not 0.0 <= eps[0]:
            raise ValueError(f"epsilon1 should be >= 0 but is: {eps[0]}")
        if not 0.0 <= eps[1]:
            raise ValueError(f"epsilon2 should be >= 0 but is: {eps[1]}")
        if not 1.0 <= d:
            raise ValueError(f"Clipping threshold d should be >= 1 but is: {d}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"weight_decay should be >= 0 but is: {weight_decay}")
        defaults = dict(
            lr=lr,
            beta2_decay=beta2_decay,
            eps=eps,
            d=d,
            weight_decay=weight_decay,
            foreach=foreach,
            maximize=maximize,
        )
        super().__init__(params, defaults)

    def _step_group(self, group: dict) -> None:
        # the state is shaped unlike the parameter and each update needs whole-tensor norms, so
        # the flat-buffer path does not apply: every parameter is updated on its own arrays
        live = []
        state = self.state
        for p in group["params"]:
            if p.grad is None:
                continue
            # as torch, every parameter is checked (and its state made) before any is updated
            if p.is_complex():
                raise RuntimeError("Adafactor does not support complex parameters")
            if p.grad.is_sparse:
                raise RuntimeError("Adafactor does not support sparse gradients")
            st = state[p]
            if not st:
                st["step"] = _wrap(np.zeros((), np.float32))
                a = p._data
                xp = xp_of(a)
                if a.ndim > 1:
                    st["row_var"] = _wrap(xp.zeros(a.shape[:-1] + (1,), a.dtype))
                    st["col_var"] = _wrap(xp.zeros(a.shape[:-2] + (1,) + a.shape[-1:], a.dtype))
                else:
                    st["variance"] = _wrap(xp.zeros_like(a))
            elif not isinstance(st.get("step"), Tensor):
                st["step"] = _wrap(np.asarray(float(st["step"]), np.float32))
            live.append(p)
        if not live:
            return
        eps1 = group["eps"][0]
        if eps1 is None:  # torch takes it from the first parameter, for the whole group
            eps1 = finfo(live[0].dtype).eps
        for p in live:
            st = state[p]
            st["step"]._data += 1
            g = p.grad._data
            if g.dtype != p._data.dtype:
                g = g.astype(p._data.dtype)
            self._update(group, p._data, g, st, float(st["step"]._data), eps1)
            p._bump()

    @staticmethod
    def _update(group: dict, p, g, st: dict, step: float, eps1: float) -> None:
        xp = xp_of(p)
        lr = float(group["lr"])
        w = step ** group["beta2_decay"]  # 1 - beta2 at this step
        rho = min(lr, 1 / step**0.5)
        n = p.size
        # the scale comes from the parameter before this step's weight decay
        alpha = max(group["eps"][1], _norm(p) / n**0.5) * rho
        gd = direction(group, p, g, decoupled=True)
        if gd.ndim > 1:
            sq = gd * gd
            row, col = st["row_var"]._data, st["col_var"]._data
            _lerp(row, sq.mean(axis=-1, keepdims=True), w)
            _lerp(col, sq.mean(axis=-2, keepdims=True), w)
            del sq
            v = row * col
            v /= xp.maximum(row.mean(axis=-2, keepdims=True), eps1)
        else:
            var = st["variance"]._data
            _lerp(var, gd * gd, w)
            v = var.copy()
        # eps1 squared: the square root below brings it back to eps1's magnitude
        xp.maximum(v, eps1 * eps1, out=v)
        xp.sqrt(v, out=v)
        xp.reciprocal(v, out=v)
        v *= gd
        clip = max(1.0, _norm(v) / (n**0.5 * group["d"]))
        v *= -alpha / clip
        p += v


def _norm(a) -> float:
    """The 2-norm of all of ``a``'s elements, as a Python float (torch reads it with .item())."""
    f = a.reshape(-1)
    return float(xp_of(a).sqrt(f.dot(f)))


def _lerp(a, b, w: float) -> None:
    """a <- a + w (b - a) in place, from the end nearer to the result as torch's lerp_: at
    w = 1 (the first step) the result is exactly b."""
    if abs(w) < 0.5:
        a += (b - a) * w
    else:
        d = b - a
        d *= 1 - w
        a[...] = b - d
