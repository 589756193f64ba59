"""SparseAdam (Adam on the rows a sparse gradient holds), as ``torch.optim.SparseAdam``."""

from __future__ import annotations

import math

from .._backend.xp import move_like, xp_of
from ..autograd.engine import _coalesced
from ..tensor import Tensor, _wrap
from .optimizer import Optimizer

__all__ = ["SparseAdam"]


class SparseAdam(Optimizer):
    """Adam masked to the entries of sparse COO gradients; dense parameters only.

    As torch's: a step coalesces each gradient and moves ``exp_avg``, ``exp_avg_sq`` (dense,
    the parameter's shape) and the parameter only at the gradient's indices; ``step`` is a
    Python int counting every step the parameter had a gradient, an empty one included. A dense
    gradient raises. Sparse gradients come from ``nn.Embedding(sparse=True)``,
    ``nn.EmbeddingBag(sparse=True)`` or an assigned ``p.grad``.
    """

    def __init__(
        self,
        params,
        lr: float | Tensor = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        maximize: bool = False,
    ) -> None:
        if isinstance(lr, Tensor) and lr.numel() != 1:
            raise ValueError("Tensor lr must be 1-element")
        if not 0.0 < lr:
            raise ValueError(f"Invalid learning rate: {lr}")
        if not 0.0 < eps:
            raise ValueError(f"Invalid epsilon value: {eps}")
        for i in (0, 1):
            if not 0.0 <= betas[i] < 1.0:
                raise ValueError(f"Invalid beta parameter at index {i}: {betas[i]}")
        defaults = dict(lr=lr, betas=betas, eps=eps, maximize=maximize)
        super().__init__(params, defaults)
        sparse, complex_ = [], []
        for gi, group in enumerate(self.param_groups):
            for pi, p in enumerate(group["params"]):
                if p.is_sparse:
                    sparse.append([gi, pi])
                if p.is_complex():
                    complex_.append([gi, pi])
        if sparse:
            raise ValueError(
                f"Sparse params at indices {sparse}: SparseAdam requires dense parameter tensors"
            )
        if complex_:
            raise ValueError(
                f"Complex params at indices {complex_}: SparseAdam does not support complex "
                "parameters"
            )

    def _step_group(self, group: dict) -> None:
        # the state of the parameters before a dense gradient is made and counted before that
        # raises, as in torch, and nothing is updated
        live = []
        state = self.state
        for p in group["params"]:
            g = p.grad
            if g is None:
                continue
            if not g.is_sparse:
                raise RuntimeError(
                    "SparseAdam does not support dense gradients, please consider Adam instead"
                )
            st = state[p]
            if not st:
                st["step"] = 0
                xp = xp_of(p._data)
                st["exp_avg"] = _wrap(xp.zeros_like(p._data))
                st["exp_avg_sq"] = _wrap(xp.zeros_like(p._data))
            st["step"] += 1
            live.append(p)
        for p in live:
            st = state[p]
            step = st["step"]
            if self._update(group, p, st, float(step) if isinstance(step, Tensor) else step):
                p._bump()

    @staticmethod
    def _update(group: dict, p: Tensor, st: dict, step) -> bool:
        g = p.grad
        if group.get("maximize", False):
            g = -g
        # duplicates summed first: the update is not linear in the gradient
        ind, vals = _coalesced(g._indices()._data, g._data, tuple(g.shape))
        pa = p._data
        vals = move_like(vals, pa)
        if vals.size == 0:
            return False
        rows = tuple(move_like(ind, pa))
        xp = xp_of(pa)
        b1, b2 = group["betas"]
        m, v = st["exp_avg"]._data, st["exp_avg_sq"]._data
        m_old = m[rows]
        dm = vals - m_old
        dm *= 1 - b1
        m[rows] += dm
        v_old = v[rows]
        dv = vals * vals
        dv -= v_old
        dv *= 1 - b2
        v[rows] += dv
        # the new moments of those rows, from the pieces at hand rather than gathered again
        dm += m_old
        dv += v_old
        denom = xp.sqrt(dv, out=dv)
        denom += group["eps"]
        step_size = float(group["lr"]) * math.sqrt(1 - b2**step) / (1 - b1**step)
        dm /= denom
        dm *= -step_size
        pa[rows] += dm
        return True
