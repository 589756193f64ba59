"""The identity op that a module with full backward hooks puts on the tensors crossing its
boundary: its backward runs the module's backward (pre-)hooks (``nn.Module``'s
``register_full_backward_hook`` / ``register_full_backward_pre_hook``)."""

from __future__ import annotations

from collections.abc import Callable

from ..autograd.node import Op
from ..tensor import Tensor


class _BackwardHooks(Op):
    """Identity over the tensors that cross a module boundary; its backward hands the
    gradients to ``on_grad`` (set on the node) and passes on what that returns."""

    @staticmethod
    def forward(ctx, *arrays):
        return tuple(arrays)

    @staticmethod
    def backward(ctx, *grads):
        return ctx.on_grad(grads)


def apply_backward_hooks(on_grad: Callable[[tuple], tuple], tensors: list) -> tuple[Tensor, ...]:
    """The tensors passed through one ``_BackwardHooks`` node whose backward calls
    ``on_grad(grads) -> grads``."""
    out = _BackwardHooks.apply(*tensors)
    out[0].grad_fn.on_grad = on_grad
    return out
