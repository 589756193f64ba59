"""ember.autograd.graph: the graph's nodes and edges, saved-tensor hooks and multi-gradient
hooks, as ``torch.autograd.graph``.

Saved-tensor hooks apply to what an op keeps for backward: inside ``saved_tensors_hooks``, each
value an op's backward reads (ember's ops declare it: ``save_in``, ``save_out``) goes through
``pack_hook`` when the op records, and the hook's result is all the node keeps; backward calls
``unpack_hook`` each time it needs the value (again on a second backward of a retained graph).
A value an op saved but its backward does not read stays with the node as it was (torch saves
nothing there), and custom Functions' ``ctx.save_for_backward`` goes through the hooks as torch's.
"""

from __future__ import annotations

import contextlib
import weakref
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, Literal

from .._backend.xp import is_cpu, xp_for
from ..device import device_of
from ..tensor import Tensor, _wrap
from .engine import current_task
from .hooks import RemovableHandle
from .node import (
    GradientEdge,
    Node,
    pop_hooks_disabled,
    pop_saved_tensors_hooks,
    push_hooks_disabled,
    push_saved_tensors_hooks,
)

__all__ = [
    "Node",
    "GradientEdge",
    "get_gradient_edge",
    "increment_version",
    "saved_tensors_hooks",
    "save_on_cpu",
    "disable_saved_tensors_hooks",
    "register_multi_grad_hook",
    "allow_mutation_on_saved_tensors",
]


def get_gradient_edge(tensor: Tensor) -> GradientEdge:
    """The edge a gradient for ``tensor`` flows into: its ``grad_fn`` (a leaf's gradient
    accumulator) and output number; ``autograd.grad`` takes it in place of the tensor."""
    if not tensor.requires_grad:
        raise RuntimeError(
            "It is not possible to get the gradient edge for a Tensor that does not require "
            "gradients"
        )
    node = tensor.grad_fn
    if node is None:
        node = tensor._accumulator()
    return GradientEdge(node, tensor._out_nr)


def increment_version(tensor: Tensor | Iterable[Tensor]) -> None:
    """Bump the version counter of ``tensor`` (or of each tensor of an iterable), as an in-place
    change would: for data changed behind autograd's back, so backward's check catches it."""
    for t in (tensor,) if isinstance(tensor, Tensor) else tensor:
        t._bump()


class saved_tensors_hooks:  # noqa: N801 (torch's name)
    """Within the block, ops pass the tensors they save for backward through ``pack_hook`` and
    backward gets them back through ``unpack_hook`` (which must return a Tensor).

    Blocks nest, the innermost pair applies; hooks are per thread, as torch's. The pack hook
    runs without grad mode and must not change its argument in place."""

    def __init__(
        self, pack_hook: Callable[[Tensor], Any], unpack_hook: Callable[[Any], Tensor]
    ) -> None:
        self.pack_hook = pack_hook
        self.unpack_hook = unpack_hook

    def __enter__(self) -> None:
        push_saved_tensors_hooks(self.pack_hook, self.unpack_hook)

    def __exit__(self, *exc: object) -> None:
        pop_saved_tensors_hooks()


class save_on_cpu(saved_tensors_hooks):  # noqa: N801 (torch's name)
    """Keep the tensors saved for backward in host memory, moving them back to their device
    when backward needs them.

    As torch's: a CPU tensor is kept as it is, or copied with ``pin_memory=True``; ember's host
    copies are ordinary (pageable) memory, and ``device_type`` is accepted for the signature."""

    def __init__(self, pin_memory: bool = False, device_type: str = "cuda") -> None:
        def pack(t: Tensor) -> tuple:
            a = t._data
            if is_cpu(a):
                return device_of(a), (_wrap(a.copy()) if pin_memory else t)
            return device_of(a), _wrap(a.get())

        def unpack(packed: tuple) -> Tensor:
            dev, t = packed
            if dev.type == "cpu":
                return t
            xp = xp_for(dev)
            with xp.cuda.Device(dev.index or 0):
                return _wrap(xp.asarray(t._data))

        super().__init__(pack, unpack)


@contextlib.contextmanager
def disable_saved_tensors_hooks(error_message: str) -> Iterator[None]:
    """Within the block, entering ``saved_tensors_hooks`` raises RuntimeError(error_message);
    entering the block while hooks are in effect raises it at once, as torch. Usable as a
    decorator."""
    push_hooks_disabled(error_message)
    try:
        yield
    finally:
        pop_hooks_disabled()


def register_multi_grad_hook(
    tensors: Sequence[Tensor],
    fn: Callable[..., None],
    *,
    mode: Literal["all", "any"] = "all",
) -> RemovableHandle:
    """Call ``fn`` once per backward over several tensors' gradients.

    ``"all"``: after the gradients of every tensor that this backward reaches (or needs for its
    ``inputs``) are computed, ``fn(grads)`` with None for the tensors it does not reach.
    ``"any"``: ``fn(grad)`` with the first of those gradients. Returns one handle that removes
    the hooks of all the tensors."""
    if mode not in ("all", "any"):
        raise ValueError(f"Expects mode to be one of ('all', 'any') but got {mode}")
    tensors = tuple(tensors)
    if mode == "all":
        nodes = [
            (t.grad_fn if t.grad_fn is not None else t._accumulator()) if t._rg else None
            for t in tensors
        ]
        pending: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # backward -> state

        def all_hook(idx: int) -> Callable[[Tensor], None]:
            def hook(grad: Tensor) -> None:
                task = current_task()
                if task is None:
                    raise AssertionError("expected this hook to be called inside a backward call")
                state = pending.get(task)
                if state is None:  # the first of this backward: how many will come
                    n = sum(nd is not None and task.will_execute(nd) for nd in nodes)
                    state = pending[task] = [n, [None] * len(tensors)]
                state[1][idx] = grad
                state[0] -= 1
                if state[0] == 0:
                    del pending[task]
                    fn(state[1])

            return hook

        handles = [t.register_hook(all_hook(i)) for i, t in enumerate(tensors)]
    else:
        fired: weakref.WeakSet = weakref.WeakSet()  # the backward calls that called fn

        def any_hook(grad: Tensor) -> None:
            task = current_task()
            if task is None:
                raise AssertionError("expected this hook to be called inside a backward call")
            if task not in fired:
                fired.add(task)
                fn(grad)

        handles = [t.register_hook(any_hook) for t in tensors if t.requires_grad]

    def remove_all() -> None:
        for h in handles:
            h.remove()

    return RemovableHandle({}, on_remove=remove_all)


class _MutationContext:
    """What ``allow_mutation_on_saved_tensors`` yields; closed when its block ends."""

    def __init__(self) -> None:
        self.open = True


_mutation_ctx: list = []  # the open allow_mutation_on_saved_tensors block (at most one)


@contextlib.contextmanager
def allow_mutation_on_saved_tensors() -> Iterator[_MutationContext]:
    """Within the block, tensors saved for backward may be changed in place afterwards:
    backward uses their values from when they were saved, and must run inside the block.

    torch copies a saved tensor only when something changes it in place; ember copies each
    saved tensor when it is saved (the same gradients, more memory). Hooks entered inside the
    block apply instead, as torch's."""
    if _mutation_ctx:
        raise RuntimeError("allow_mutation_on_saved_tensors contexts cannot be nested")
    ctx = _MutationContext()

    def pack(t: Tensor) -> tuple:
        return ctx, _wrap(t._data.copy())

    def unpack(packed: tuple) -> Tensor:
        owner, t = packed
        if not owner.open:
            # torch's message, its missing space included
            raise AssertionError(
                "Trying to backward outside of the 'allow_mutation_on_saved_tensors' context"
                "in which the graph was originally recorded."
            )
        return t

    _mutation_ctx.append(ctx)
    try:
        with saved_tensors_hooks(pack, unpack):
            yield ctx
    finally:
        ctx.open = False
        _mutation_ctx.pop()


class SavedTensor:
    """A value saved for backward, as ``torch.autograd.SavedTensor``. torch hands these out only
    through a node's ``_raw_saved_*`` attributes, which ember's nodes do not have, so the type
    exists for annotations and isinstance checks and, as torch's, cannot be made from Python."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        raise RuntimeError("Trying to create a SavedTensor object from Python is forbidden.")

    def register_hooks(self, pack_hook: Callable, unpack_hook: Callable) -> None:
        """Pack and unpack this one saved value with the given hooks."""
        raise NotImplementedError
