"""Module hook machinery: removable handles, global forward hooks, and the identity node
whose backward runs a module's full backward (pre-)hooks."""

from __future__ import annotations

import itertools
from collections import OrderedDict
from collections.abc import Callable

from ...autograd.node import Op
from ...tensor import Tensor

_global_pre_hooks: OrderedDict = OrderedDict()
_global_hooks: OrderedDict = OrderedDict()
_hook_ids = itertools.count()


class RemovableHandle:
    """Handle returned by the register_*_hook methods; ``remove()`` unregisters the hook."""

    def __init__(self, *dicts, owner=None):
        self.id = next(_hook_ids)
        self._dicts = dicts
        self._owner = owner

    def remove(self) -> None:
        """Unregister."""
        for d in self._dicts:
            d.pop(self.id, None)
        if self._owner is not None:
            self._owner._refresh_hooks()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.remove()


def register_module_forward_pre_hook(hook: Callable) -> RemovableHandle:
    """A forward pre-hook run for every module."""
    h = RemovableHandle(_global_pre_hooks)
    _global_pre_hooks[h.id] = hook
    return h


def register_module_forward_hook(hook: Callable) -> RemovableHandle:
    """A forward hook run for every module."""
    h = RemovableHandle(_global_hooks)
    _global_hooks[h.id] = hook
    return h


class _BackwardHooks(Op):
    """Identity over the tensors that cross a module boundary; its backward runs the module's
    full backward (pre-)hooks."""

    @staticmethod
    def forward(ctx, *arrays):
        return tuple(arrays)

    @staticmethod
    def backward(ctx, *grads):
        return ctx.on_grad(grads)


class _BackwardHookState:
    def __init__(self, module):
        self.module = module
        self.n_in = 0
        self.in_pos: list = []
        self.grad_out = None

    def wrap_inputs(self, args):
        from ..._grad_state import state

        if not state.enabled:
            return args
        pos = [i for i, a in enumerate(args) if isinstance(a, Tensor) and a._rg]
        self.in_pos = pos
        self.n_in = len(args)
        if not pos:
            return args
        outs = _apply_hook_op(self._on_input_grad, [args[i] for i in pos])
        args = list(args)
        for i, t in zip(pos, outs):
            args[i] = t
        return tuple(args)

    def _on_input_grad(self, grads):
        gin = [None] * self.n_in
        for i, g in zip(self.in_pos, grads):
            gin[i] = _wrap_g(g)
        gin = tuple(gin)
        for hook in self.module._backward_hooks.values():
            r = hook(self.module, gin, self.grad_out)
            if r is not None:
                gin = tuple(r)
        return tuple(None if gin[i] is None else gin[i]._data for i in self.in_pos)

    def wrap_outputs(self, out):
        from ..._grad_state import state

        if not state.enabled:
            return out
        single = isinstance(out, Tensor)
        seq = [out] if single else list(out) if isinstance(out, (tuple, list)) else None
        if seq is None:
            return out
        pos = [i for i, a in enumerate(seq) if isinstance(a, Tensor) and a._rg]
        if not pos:
            return out
        self.out_pos = pos
        self.n_out = len(seq)
        wrapped = _apply_hook_op(self._on_output_grad, [seq[i] for i in pos])
        for i, t in zip(pos, wrapped):
            seq[i] = t
        return seq[0] if single else type(out)(seq)

    def _on_output_grad(self, grads):
        gout = [None] * self.n_out
        for i, g in zip(self.out_pos, grads):
            gout[i] = _wrap_g(g)
        gout = tuple(gout)
        for hook in self.module._backward_pre_hooks.values():
            r = hook(self.module, gout)
            if r is not None:
                gout = tuple(r) if isinstance(r, (tuple, list)) else (r,)
        self.grad_out = gout
        if not self.in_pos and self.module._backward_hooks:
            gin = (None,) * max(self.n_in, 1)
            for hook in self.module._backward_hooks.values():
                hook(self.module, gin, gout)
        return tuple(None if gout[i] is None else gout[i]._data for i in self.out_pos)


def _wrap_g(g):
    from ...tensor import _wrap

    return g if g is None or isinstance(g, Tensor) else _wrap(g)


def _apply_hook_op(cb, tensors):
    node_cls = _BackwardHooks
    out = node_cls.apply(*tensors)
    node = out[0].grad_fn
    node.on_grad = cb
    return out
