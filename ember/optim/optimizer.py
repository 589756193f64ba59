"""Optimizer base: param groups, per-parameter state, torch's state_dict layout, step hooks,
and the stepping paths.

A step runs the optimizer's ``_kernel`` on a group's flat buffers (``_flat_buffer``) when it
can; a step where some parameter has a gradient of another dtype, or a state that is not
uniform across the group, runs the same kernel parameter by parameter instead. So does one with
a sparse gradient (``Embedding(sparse=True)``): an optimizer that takes those (SGD, Adagrad)
updates that parameter in ``_sparse_kernel``; the others raise torch's error before any
parameter of the group moves.
"""

from __future__ import annotations

import copy
import warnings
from collections import OrderedDict, defaultdict
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from .._backend.xp import move_like, xp_of
from ..autograd._profiler_recorder import profiled_method as _profiled
from ..autograd.engine import _legacy_type_name
from ..autograd.grad_mode import enable_grad, no_grad
from ..autograd.hooks import RemovableHandle
from ..tensor import Tensor, _wrap
from ._flat_buffer import FlatBuffer

__all__ = ["Optimizer", "required"]

_GATHER_BELOW = 16384  # mean elements per tensor under which a group's grads are gathered
# elements per piece of a big tensor's elementwise update (``Optimizer._elementwise``): the
# pieces of the parameter, gradient, state and scratch stay in L2 across the update's passes
_PIECE = 1 << 16


class _RequiredParameter:
    def __repr__(self) -> str:
        return "<required parameter>"


required = _RequiredParameter()

_global_pre_hooks: OrderedDict = OrderedDict()
_global_post_hooks: OrderedDict = OrderedDict()


def register_optimizer_step_pre_hook(hook: Callable) -> RemovableHandle:
    """A hook run before every optimizer step."""
    h = RemovableHandle(_global_pre_hooks)
    _global_pre_hooks[h.id] = hook
    return h


def register_optimizer_step_post_hook(hook: Callable) -> RemovableHandle:
    """A hook run after every optimizer step."""
    h = RemovableHandle(_global_post_hooks)
    _global_post_hooks[h.id] = hook
    return h


class Optimizer:
    """Base class of all optimizers, as ``torch.optim.Optimizer``."""

    _state_names: tuple = ()
    _uses_step = False
    # torch's error for a sparse gradient ("{}": the class name); None where the optimizer
    # takes sparse gradients, updating from them in ``_sparse_kernel``
    _sparse_error: str | None = "{} does not support sparse gradients"
    # True where ``_kernel`` is elementwise (no per-tensor reduction): big tensors are then
    # updated in cache-sized pieces
    _elementwise = False

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        for what in ("step", "zero_grad"):
            fn = cls.__dict__.get(what)
            if callable(fn) and not getattr(fn, "_ember_profiled", False):
                setattr(cls, what, _profiled(fn, what))

    def __init__(self, params, defaults: dict) -> None:
        self.defaults = defaults
        self._optimizer_step_pre_hooks: OrderedDict = OrderedDict()
        self._optimizer_step_post_hooks: OrderedDict = OrderedDict()
        self._optimizer_state_dict_pre_hooks: OrderedDict = OrderedDict()
        self._optimizer_state_dict_post_hooks: OrderedDict = OrderedDict()
        self._optimizer_load_state_dict_pre_hooks: OrderedDict = OrderedDict()
        self._optimizer_load_state_dict_post_hooks: OrderedDict = OrderedDict()
        if isinstance(params, Tensor):
            raise TypeError(
                "params argument given to the optimizer should be an iterable of "
                "Tensors or dicts, but got " + _typename(params)
            )
        self.state: defaultdict = defaultdict(dict)
        self.param_groups: list = []
        self._flats: dict = {}
        param_groups = list(params)
        if len(param_groups) == 0:
            raise ValueError("optimizer got an empty parameter list")
        if not isinstance(param_groups[0], dict):
            param_groups = [{"params": param_groups}]
        for g in param_groups:
            self.add_param_group(g)

    def __getstate__(self) -> dict:
        d = dict(self.__dict__)
        d["_flats"] = {}
        return d

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self.__dict__.setdefault("_flats", {})

    def __repr__(self) -> str:
        s = self.__class__.__name__ + " ("
        for i, group in enumerate(self.param_groups):
            s += "\n"
            s += f"Parameter Group {i}\n"
            for key in sorted(group.keys()):
                if key != "params":
                    s += f"    {key}: {group[key]}\n"
        s += ")"
        return s

    def add_param_group(self, param_group: dict) -> None:
        """Add a group of parameters with its own options (missing ones from defaults)."""
        if not isinstance(param_group, dict):
            raise TypeError(f"param_group must be a dict, but got {type(param_group).__name__}")
        params = param_group["params"]
        if isinstance(params, Tensor):
            param_group["params"] = [params]
        elif isinstance(params, set):
            raise TypeError(
                "optimizer parameters need to be organized in ordered collections, "
                "but the ordering of tensors in sets will change between runs. "
                "Please use a list instead."
            )
        else:
            param_group["params"] = list(params)
        plist = param_group["params"]
        for p in plist:
            if not isinstance(p, Tensor):
                raise TypeError(
                    "optimizer can only optimize Tensors, but one of the params is " + _typename(p)
                )
            if not self.defaults.get("differentiable", None) and not (p.is_leaf or p.retains_grad):
                raise ValueError("can't optimize a non-leaf Tensor")
        for name, default in self.defaults.items():
            if default is required and name not in param_group:
                raise ValueError(
                    "parameter group didn't specify a value of required "
                    f"optimization parameter {name}"
                )
            param_group.setdefault(name, default)
        if len({id(p) for p in plist}) != len(plist):
            warnings.warn(
                "optimizer contains a parameter group with duplicate parameters; in "
                "future, this will cause an error; see github.com/pytorch/pytorch/"
                "issues/40967 for more information",
                stacklevel=3,
            )
        seen = set()
        for g in self.param_groups:
            seen.update(id(p) for p in g["params"])
        if any(id(p) in seen for p in plist):
            raise ValueError("some parameters appear in more than one parameter group")
        self.param_groups.append(param_group)

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Reset the gradients of all optimized parameters (to None by default)."""
        for group in self.param_groups:
            for p in group["params"]:
                g = p.grad
                if g is None:
                    continue
                if set_to_none:
                    p.grad = None
                else:
                    if g.grad_fn is not None:
                        g.detach_()
                    else:
                        g._rg = False
                    if g._sparse:
                        g.zero_()
                    else:
                        g._data[...] = 0
                        g._bump()

    zero_grad = _profiled(zero_grad, "zero_grad")

    # --- hooks -----------------------------------------------------------------------------
    def register_step_pre_hook(self, hook: Callable) -> RemovableHandle:
        """A hook run before this optimizer steps."""
        h = RemovableHandle(self._optimizer_step_pre_hooks)
        self._optimizer_step_pre_hooks[h.id] = hook
        return h

    def register_step_post_hook(self, hook: Callable) -> RemovableHandle:
        """A hook run after this optimizer steps."""
        h = RemovableHandle(self._optimizer_step_post_hooks)
        self._optimizer_step_post_hooks[h.id] = hook
        return h

    def register_state_dict_pre_hook(self, hook, prepend: bool = False) -> RemovableHandle:
        """A hook run before state_dict() collects entries."""
        h = RemovableHandle(self._optimizer_state_dict_pre_hooks)
        self._optimizer_state_dict_pre_hooks[h.id] = hook
        return h

    def register_state_dict_post_hook(self, hook, prepend: bool = False) -> RemovableHandle:
        """A hook run after state_dict() collected entries."""
        h = RemovableHandle(self._optimizer_state_dict_post_hooks)
        self._optimizer_state_dict_post_hooks[h.id] = hook
        return h

    def register_load_state_dict_pre_hook(self, hook, prepend: bool = False) -> RemovableHandle:
        """A hook run before load_state_dict() copies entries."""
        h = RemovableHandle(self._optimizer_load_state_dict_pre_hooks)
        self._optimizer_load_state_dict_pre_hooks[h.id] = hook
        return h

    def register_load_state_dict_post_hook(self, hook, prepend: bool = False) -> RemovableHandle:
        """A hook run after load_state_dict()."""
        h = RemovableHandle(self._optimizer_load_state_dict_post_hooks)
        self._optimizer_load_state_dict_post_hooks[h.id] = hook
        return h

    # --- state dict ------------------------------------------------------------------------
    def state_dict(self) -> dict:
        """{'state': {index: {...}}, 'param_groups': [{options..., 'params': [indices]}]}."""
        for hook in self._optimizer_state_dict_pre_hooks.values():
            hook(self)
        mapping: dict = {}
        start = 0
        groups = []
        for g in self.param_groups:
            packed = {k: v for k, v in g.items() if k != "params"}
            for i, p in enumerate(g["params"], start):
                if id(p) not in mapping:
                    mapping[id(p)] = i
            packed["params"] = [mapping[id(p)] for p in g["params"]]
            start += len(packed["params"])
            groups.append(packed)
        state = {(mapping[id(k)] if isinstance(k, Tensor) else k): v for k, v in self.state.items()}
        sd = {"state": state, "param_groups": groups}
        for hook in self._optimizer_state_dict_post_hooks.values():
            r = hook(self, sd)
            if r is not None:
                sd = r
        return sd

    def load_state_dict(self, state_dict: dict) -> None:
        """Load a state_dict from ``state_dict()`` (ember's or torch's)."""
        for hook in self._optimizer_load_state_dict_pre_hooks.values():
            r = hook(self, state_dict)
            if r is not None:
                state_dict = r
        state_dict = {
            "state": state_dict["state"],
            "param_groups": copy.deepcopy(state_dict["param_groups"]),
        }
        groups = self.param_groups
        saved = state_dict["param_groups"]
        if len(groups) != len(saved):
            raise ValueError("loaded state dict has a different number of parameter groups")
        if any(len(g["params"]) != len(s["params"]) for g, s in zip(groups, saved)):
            raise ValueError(
                "loaded state dict contains a parameter group that doesn't match "
                "the size of optimizer's group"
            )
        id_map = {}
        for g, s in zip(groups, saved):
            for old, p in zip(s["params"], g["params"]):
                id_map[old] = p
        state: defaultdict = defaultdict(dict)
        for k, v in state_dict["state"].items():
            if k in id_map:
                p = id_map[k]
                state[p] = {key: _cast_state(p, key, val) for key, val in v.items()}
            else:
                state[k] = v
        new_groups = []
        for g, s in zip(groups, saved):
            s = {k: (_from_torch(v) if k != "params" else v) for k, v in s.items()}
            s["params"] = g["params"]
            new_groups.append(s)
        self.__setstate__({"state": state, "param_groups": new_groups})
        self._flats = {}
        for hook in self._optimizer_load_state_dict_post_hooks.values():
            hook(self)

    # --- stepping --------------------------------------------------------------------------
    def _kernel(self, group: dict, p, g, bufs: dict, step, s) -> dict:
        """Update the array p in place from gradient g and the state arrays ``bufs``, using
        ``s`` (same shape) as scratch; g is read-only unless it is ``s``. Return the state
        arrays created on this (first) step."""
        raise NotImplementedError

    def _names(self, group: dict) -> tuple:
        return self._state_names

    def _in_pieces(self, group: dict) -> bool:
        """Whether an elementwise update runs over L2-sized pieces of a big tensor (a kernel
        of several passes) rather than the whole tensor at once (one pass)."""
        return True

    @no_grad()
    def step(self, closure: Callable[[], Any] | None = None):
        """One optimization step; ``closure`` re-evaluates the model and returns the loss."""
        loss = None
        self._opt_called = True  # lr schedulers check the call order
        if closure is not None:
            with enable_grad():
                loss = closure()
        hooks = self._optimizer_step_pre_hooks or _global_pre_hooks
        if hooks:
            for h in list(_global_pre_hooks.values()) + list(
                self._optimizer_step_pre_hooks.values()
            ):
                h(self, (), {})
        for group in self.param_groups:
            self._step_group(group)
        if self._optimizer_step_post_hooks or _global_post_hooks:
            for h in list(_global_post_hooks.values()) + list(
                self._optimizer_step_post_hooks.values()
            ):
                h(self, (), {})
        return loss

    step = _profiled(step, "step")

    def _step_group(self, group: dict) -> None:
        params = group["params"]
        if not params:
            return None
        # parameters without a gradient are skipped (as torch); the flat buffer covers the
        # ones that have one, and is rebuilt only when that set changes
        live = [p for p in params if p.grad is not None]
        if not live:
            return None
        names = self._names(group)
        key = id(group)
        fl = self._flats.get(key)
        if fl is None or not fl.valid(live):
            fl = self._build_flat(live, names)
            self._flats[key] = fl
        if fl is not None:
            gs = fl.grad_list()
            if gs is not None:
                state = self.state
                fresh = not fl.bufs and (not names or names[0] not in state.get(live[0], {}))
                if len(fl.bufs) == len(names) or fresh:
                    step = None
                    if self._uses_step:
                        if fl.steps is None:
                            if live[0] in state and "step" in state[live[0]]:
                                self._flats[key] = None
                                return self._step_each(group, names)
                            fl.adopt_steps(state)
                        fl.steps += 1
                        step = float(fl.steps[0])
                    if fl.flat.size <= _GATHER_BELOW * len(live):
                        # small tensors: one pass over everything beats per-tensor calls
                        g = fl.gather(gs)
                        new = self._kernel(group, fl.flat, g, dict(fl.bufs), step, g)
                    else:
                        new = self._per_view(group, fl, gs, step)
                    if new:
                        fl.adopt(state, new)
                    fl.bump()
                    return None
        return self._step_each(group, names)

    def _per_view(self, group: dict, fl: FlatBuffer, gs: list, step) -> dict:
        """Large tensors: the kernel on each parameter's views (no gradient gather)."""
        scratch = fl.scratch()
        created: dict = {}
        xp = fl.xp

        def keep(new, a, b):
            for n, arr in (new or {}).items():
                dst = created.get(n)
                if dst is None:
                    dst = created[n] = xp.empty_like(fl.flat)
                dst[a:b] = arr.reshape(-1)

        pieces = self._elementwise and xp is np and self._in_pieces(group)
        for v, g, a, b, shp in zip(fl.views, gs, fl.offs, fl.offs[1:], fl.shapes):
            if pieces and b - a >= 4 * _PIECE and g.flags.c_contiguous:
                # each pass of the update over a piece in L2, not over the whole tensor in
                # memory: on ResNet-18's parameters SGD with momentum 8.0 -> 7.4 ms a step,
                # Adam 22.3 -> 19.0 ms
                gf = g.reshape(-1)
                for lo in range(a, b, _PIECE):
                    hi = min(lo + _PIECE, b)
                    bufs = {n: buf[lo:hi] for n, buf in fl.bufs.items()}
                    piece = fl.flat[lo:hi]
                    keep(
                        self._kernel(group, piece, gf[lo - a : hi - a], bufs, step, scratch[lo:hi]),
                        lo,
                        hi,
                    )
                continue
            bufs = {n: buf[a:b].reshape(shp) for n, buf in fl.bufs.items()}
            keep(self._kernel(group, v, g, bufs, step, scratch[a:b].reshape(shp)), a, b)
        return created

    def _build_flat(self, params: list, names: tuple):
        p0 = params[0]._data
        dt, kind = p0.dtype, type(p0)
        if dt.kind not in "f":
            return None
        for p in params:
            a = p._data
            if a.dtype != dt or type(a) is not kind:
                return None
        state = self.state
        sts = [state.get(p) for p in params]
        present = [bool(s) and all(n in s for n in names) for s in sts]
        if any(present) and not all(present):
            return None
        if self._uses_step and any(sts):
            vals = {
                float(s["step"]._data) if isinstance(s.get("step"), Tensor) else s.get("step")
                for s in sts
                if s
            }
            if len(vals) > 1 or None in vals or not all(sts):
                return None
        for s in sts:
            if s:
                for n in names:
                    t = s.get(n)
                    if not isinstance(t, Tensor) or t._sparse:
                        return None
        try:
            return FlatBuffer(params, state, names, self._uses_step)
        except Exception:  # pragma: no cover - odd shapes or memory layouts
            return None

    def _sparse_kernel(self, group: dict, p: Tensor, g: Tensor, st: dict, step) -> None:
        """Update ``p`` in place from a sparse gradient ``g`` (or a dense one meeting sparse
        state) and its state dict ``st``; ``step`` as for ``_kernel``. Only optimizers with
        ``_sparse_error = None`` get here."""
        raise NotImplementedError

    def _refuse_sparse(self, group: dict) -> None:
        """torch's error when a gradient of the group is sparse and this optimizer takes none
        (before any parameter moves, as torch checks them all first)."""
        msg = self._sparse_error
        if msg is None:
            return
        for p in group["params"]:
            g = p.grad
            if g is not None and g._sparse:
                raise RuntimeError(msg.format(type(self).__name__))

    def _step_each(self, group: dict, names: tuple) -> None:
        """The per-parameter path: the same kernel on each parameter's own arrays."""
        state = self.state
        self._refuse_sparse(group)
        for p in group["params"]:
            if p.grad is None:
                continue
            st = state[p]
            pa = p._data
            for n in names:  # state made on another device (model moved after a step)
                t = st.get(n)
                if isinstance(t, Tensor) and type(t._data) is not type(pa):
                    st[n] = _wrap(move_like(t._data, pa))
            step = None
            if self._uses_step:
                t = st.get("step")
                if not isinstance(t, Tensor):
                    t = st["step"] = _wrap(np.asarray(0.0 if t is None else float(t), np.float32))
                t._data += 1
                step = float(t._data)
            g = p.grad
            if g._sparse or (
                self._sparse_error is None
                and any(isinstance(st.get(n), Tensor) and st[n]._sparse for n in names)
            ):
                self._sparse_kernel(group, p, g, st, step)
                p._bump()
                continue
            bufs = {n: st[n]._data for n in names if n in st and st[n] is not None}
            g = g._data
            if g.dtype != p._data.dtype:
                g = g.astype(p._data.dtype)
            new = self._kernel(group, p._data, g, bufs, step, xp_of(g).empty_like(p._data))
            for n, arr in (new or {}).items():
                st[n] = _wrap(arr)
            p._bump()


def direction(group: dict, p, g, decoupled: bool = False):
    """The gradient after maximize and weight decay (into ``p`` when ``decoupled``), as the
    kernels use it; never writes into g."""
    d = -g if group.get("maximize", False) else g
    wd = group.get("weight_decay", 0)
    if wd != 0:
        if decoupled:
            p *= 1 - float(group["lr"]) * wd
        else:
            d = d + wd * p
    return d


def _typename(x) -> str:
    if isinstance(x, Tensor):
        return _legacy_type_name(x)
    return (
        type(x).__module__ + "." + type(x).__qualname__
        if type(x).__module__ != "builtins"
        else type(x).__name__
    )


def _from_torch(v):
    """torch tensors from a torch-made state dict become ember tensors; others pass through."""
    if isinstance(v, Tensor) or not (hasattr(v, "detach") and hasattr(v, "numpy")):
        return v
    return _wrap(np.array(v.detach().cpu().numpy()))


def _cast_state(p: Tensor, key: str, value):
    value = _from_torch(value)
    if isinstance(value, Tensor):
        if key == "step":  # kept on the host: reading it never syncs a GPU
            return _wrap(np.array(value._host()))
        arr = value._data
        if p.is_floating_point():
            arr = arr.astype(p._data.dtype)
        else:
            arr = arr.copy()
        return _wrap(move_like(arr, p._data))
    if isinstance(value, dict):
        return {k: _cast_state(p, k, v) for k, v in value.items()}
    if isinstance(value, Iterable) and not isinstance(value, str):
        return type(value)(_cast_state(p, key, v) for v in value)
    return value
