"""The flat buffers of the optimizers' fused path: one group's parameters (one dtype, one
device) and their per-parameter state as views of a few flat arrays.

At the first step the parameters of a group are copied into one flat buffer and each
parameter's array becomes a view into it; the state buffers (``momentum_buffer``, ``exp_avg``,
...) are views into flat buffers too, so an update is a handful of array operations whatever
the number of parameters. ``Optimizer`` checks each step that every parameter still holds its
view (``p.data = ...`` or ``module.to`` replace it) and rebuilds when not.
"""

from __future__ import annotations

import numpy as np

from .._backend.xp import move_like, xp_of
from ..tensor import Tensor, _wrap


class FlatBuffer:
    """One group's parameters (one dtype, one device) as views of a flat buffer."""

    __slots__ = ("params", "views", "flat", "bufs", "gbuf", "steps", "xp", "shapes", "offs")

    def __init__(self, params: list, state, names: tuple, uses_step: bool):
        p0 = params[0]._data
        xp = xp_of(p0)
        self.xp = xp
        self.params = list(params)
        sizes = [p._data.size for p in params]
        offs = [0]
        for s in sizes:
            offs.append(offs[-1] + s)
        self.offs = offs
        self.shapes = [p._data.shape for p in params]
        n = offs[-1]
        flat = xp.empty(n, p0.dtype)
        views = []
        for p, a, b, shp in zip(params, offs, offs[1:], self.shapes):
            flat[a:b] = p._data.reshape(-1)
            v = flat[a:b].reshape(shp)
            p._data = v
            views.append(v)
        self.flat = flat
        self.views = views
        self.gbuf = None
        self.bufs = {}
        self.steps = None
        sts = [state.get(p) for p in params]
        if sts[0] and all(names[0] in s for s in sts) if names else False:
            for name in names:
                self.bufs[name] = self._gather_state(sts, name)
        if uses_step and sts[0] and "step" in sts[0]:
            self.steps = self._gather_steps(sts)

    def _gather_state(self, sts, name):
        xp = self.xp
        buf = xp.empty(self.flat.shape[0], self.flat.dtype)
        for st, a, b, shp in zip(sts, self.offs, self.offs[1:], self.shapes):
            t = st[name]
            buf[a:b] = move_like(t._data, buf).reshape(-1)
            t._data = buf[a:b].reshape(shp)
            t.__dict__.pop("_vc", None)
        return buf

    def _gather_steps(self, sts):
        steps = np.empty(len(sts), np.float32)  # host: reading the step never syncs a GPU
        for i, st in enumerate(sts):
            t = st["step"]
            steps[i] = float(t._data) if isinstance(t, Tensor) else float(t)
            v = steps[i : i + 1].reshape(())
            if isinstance(t, Tensor):
                t._data = v
            else:
                st["step"] = _wrap(v)
        return steps

    def adopt(self, state, new: dict) -> None:
        """Register freshly created flat state buffers as per-parameter views."""
        for name, buf in new.items():
            self.bufs[name] = buf
            for p, a, b, shp in zip(self.params, self.offs, self.offs[1:], self.shapes):
                state[p][name] = _wrap(buf[a:b].reshape(shp))

    def adopt_steps(self, state) -> None:
        steps = self.steps = np.zeros(len(self.params), np.float32)
        for i, p in enumerate(self.params):
            state[p]["step"] = _wrap(steps[i : i + 1].reshape(()))

    def valid(self, params: list) -> bool:
        if len(params) != len(self.views):
            return False
        for p, v in zip(params, self.views):
            if p._data is not v:
                return False
        return True

    def grad_list(self):
        """The gradient arrays, or None when one is missing, sparse or of another dtype."""
        gs = []
        dt = self.flat.dtype
        for p in self.params:
            g = p.grad
            if g is None or g._sparse:  # a sparse gradient: the per-parameter path
                return None
            a = g._data
            if a.dtype != dt:
                return None
            gs.append(a)
        return gs

    def scratch(self):
        gb = self.gbuf
        if gb is None:
            gb = self.gbuf = self.xp.empty_like(self.flat)
        return gb

    def gather(self, gs):
        """The gradients concatenated into the flat scratch buffer."""
        gb = self.scratch()
        self.xp.concatenate([g.ravel() for g in gs], out=gb)
        return gb

    def bump(self) -> None:
        for p in self.params:
            vc = p._vc
            if vc is not None:
                vc[0] += 1
