"""Module's register_*_hook methods (bound in module.py, as the state-dict functions are):
forward (pre-)hooks, full backward (pre-)hooks and state-dict hooks, each returning a
RemovableHandle."""

from __future__ import annotations

from collections.abc import Callable

from ._hooks import RemovableHandle


def register_forward_pre_hook(
    self, hook: Callable, *, prepend: bool = False, with_kwargs: bool = False
) -> RemovableHandle:
    """hook(module, args) -> None or new args, run before forward."""
    h = RemovableHandle(self._forward_pre_hooks, self._forward_pre_hooks_with_kwargs, owner=self)
    self._forward_pre_hooks[h.id] = hook
    if with_kwargs:
        self._forward_pre_hooks_with_kwargs[h.id] = True
    if prepend:
        self._forward_pre_hooks.move_to_end(h.id, last=False)
    self._refresh_hooks()
    return h


def register_forward_hook(
    self,
    hook: Callable,
    *,
    prepend: bool = False,
    with_kwargs: bool = False,
    always_call: bool = False,
) -> RemovableHandle:
    """hook(module, args, output) -> None or new output, run after forward."""
    h = RemovableHandle(
        self._forward_hooks,
        self._forward_hooks_with_kwargs,
        self._forward_hooks_always_called,
        owner=self,
    )
    self._forward_hooks[h.id] = hook
    if with_kwargs:
        self._forward_hooks_with_kwargs[h.id] = True
    if always_call:
        self._forward_hooks_always_called[h.id] = True
    if prepend:
        self._forward_hooks.move_to_end(h.id, last=False)
    self._refresh_hooks()
    return h


def register_full_backward_hook(self, hook: Callable, prepend: bool = False) -> RemovableHandle:
    """hook(module, grad_input, grad_output) -> None or new grad_input."""
    if self._is_full_backward_hook is False:
        raise RuntimeError(
            "Cannot use both regular backward hooks and full backward hooks "
            "on a single Module. Please use only one of them."
        )
    self.__dict__["_is_full_backward_hook"] = True
    h = RemovableHandle(self._backward_hooks, owner=self)
    self._backward_hooks[h.id] = hook
    if prepend:
        self._backward_hooks.move_to_end(h.id, last=False)
    self._refresh_hooks()
    return h


def register_full_backward_pre_hook(self, hook: Callable, prepend: bool = False) -> RemovableHandle:
    """hook(module, grad_output) -> None or new grad_output."""
    h = RemovableHandle(self._backward_pre_hooks, owner=self)
    self._backward_pre_hooks[h.id] = hook
    if prepend:
        self._backward_pre_hooks.move_to_end(h.id, last=False)
    self._refresh_hooks()
    return h


def register_backward_hook(self, hook: Callable) -> RemovableHandle:
    """Deprecated in torch; behaves as the full backward hook here."""
    return self.register_full_backward_hook(hook)


def register_state_dict_pre_hook(self, hook: Callable) -> RemovableHandle:
    """A hook run before state_dict() collects entries."""
    h = RemovableHandle(self._state_dict_pre_hooks)
    self._state_dict_pre_hooks[h.id] = hook
    return h


def register_state_dict_post_hook(self, hook: Callable) -> RemovableHandle:
    """A hook run after state_dict() collected entries."""
    h = RemovableHandle(self._state_dict_hooks)
    self._state_dict_hooks[h.id] = hook
    return h


def register_load_state_dict_pre_hook(self, hook: Callable) -> RemovableHandle:
    """A hook run before load_state_dict() copies entries."""
    h = RemovableHandle(self._load_state_dict_pre_hooks)
    self._load_state_dict_pre_hooks[h.id] = hook
    return h


def register_load_state_dict_post_hook(self, hook: Callable) -> RemovableHandle:
    """A hook run after load_state_dict()."""
    h = RemovableHandle(self._load_state_dict_post_hooks)
    self._load_state_dict_post_hooks[h.id] = hook
    return h
