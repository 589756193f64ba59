"""torch.utils.module_tracker: which modules are running, by path, during forward and backward."""

from __future__ import annotations

import weakref
from typing import Any

from ..autograd.engine import current_task
from ..autograd.graph import register_multi_grad_hook
from ..autograd.hooks import RemovableHandle
from ..nn.modules.module import register_module_forward_hook, register_module_forward_pre_hook
from ..tensor import Tensor
from ._pytree import tree_flatten

__all__ = ["ModuleTracker"]


class ModuleTracker:
    """A context manager keeping ``parents``, the set of paths of the modules now running
    ("Global", "Model", "Model.layer1", ...; a root is named by its class), and ``is_bw``.

    Forward entry and exit come from global module hooks; in backward a module is entered when
    the gradients of its outputs are ready and left when those of its inputs are. As torch,
    ``parents`` goes back to ``{"Global"}`` once a backward that entered modules ends (ember
    resets it on the next read, having no end-of-backward callback)."""

    def __init__(self) -> None:
        self._parents: set[str] = {"Global"}
        self._names: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
        self._named_children: weakref.WeakSet = weakref.WeakSet()
        self._bw_task: weakref.ref | None = None  # the backward that entered modules
        self._hooks: list[RemovableHandle] = []

    def _settle(self) -> None:
        """Drop what the last backward left once it is over."""
        if self._bw_task is not None and self._bw_task() is not current_task():
            self._bw_task = None
            self._parents = {"Global"}

    @property
    def parents(self) -> set[str]:
        """The paths of the modules now running, with "Global" always in it."""
        self._settle()
        return self._parents

    @parents.setter
    def parents(self, value: set[str]) -> None:
        self._parents = value

    @property
    def is_bw(self) -> bool:
        """True while a backward pass runs."""
        return current_task() is not None

    def _name(self, mod: Any) -> str:
        name = self._names.get(mod)
        if name is None:
            name = self._names[mod] = type(mod).__name__
        if mod not in self._named_children:  # children are named under their first parent
            self._named_children.add(mod)
            for child_name, child in mod.named_children():
                if child not in self._names:
                    self._names[child] = f"{name}.{child_name}"
                self._name(child)
        return name

    def _enter(self, name: str, in_backward: bool):
        def fn(*args: Any) -> None:
            self._settle()
            if in_backward and self._bw_task is None:
                task = current_task()
                self._bw_task = weakref.ref(task) if task is not None else None
            self._parents.add(name)

        return fn

    def _leave(self, name: str):
        def fn(*args: Any) -> None:
            self._settle()
            self._parents.discard(name)

        return fn

    def _grad_tensors(self, tree: Any) -> list[Tensor]:
        leaves, _ = tree_flatten(tree)
        return [t for t in leaves if isinstance(t, Tensor) and t.requires_grad]

    def _pre_hook(self, mod: Any, args: Any) -> None:
        name = self._name(mod)
        self._enter(name, False)()
        tensors = self._grad_tensors(args)
        if tensors:
            self._hooks.append(register_multi_grad_hook(tensors, self._leave(name)))

    def _post_hook(self, mod: Any, args: Any, output: Any) -> None:
        name = self._name(mod)
        self._leave(name)()
        tensors = self._grad_tensors(output)
        if tensors:
            self._hooks.append(register_multi_grad_hook(tensors, self._enter(name, True)))

    def __enter__(self) -> ModuleTracker:
        self._pre_handle = register_module_forward_pre_hook(self._pre_hook)
        self._post_handle = register_module_forward_hook(self._post_hook)
        return self

    def __exit__(self, *exc: object) -> None:
        self._pre_handle.remove()
        self._post_handle.remove()
        for h in self._hooks:
            h.remove()
        self._hooks.clear()
