"""torch.func.functional_call and stack_module_state: run a module on given tensors, and stack
the states of several copies of a module for vmap."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..nn.modules.module import Module
from ..nn.utils.stateless import _functional_call
from ..ops.join import stack
from ..tensor import Tensor


def functional_call(
    module: Module,
    parameter_and_buffer_dicts: dict[str, Tensor] | Sequence[dict[str, Tensor]],
    args: Any = None,
    kwargs: dict[str, Any] | None = None,
    *,
    tie_weights: bool = True,
    strict: bool = False,
) -> Any:
    """``module(*args, **kwargs)`` with its parameters and buffers replaced by the given ones.

    ``parameter_and_buffer_dicts``: a dict, or a tuple of dicts whose keys must not repeat
    (ValueError). ``strict`` requires exactly the module's names; ``tie_weights`` lets a tensor
    given for one of several tied names stand for all of them. The module is left unchanged.
    """
    return _functional_call(
        module, parameter_and_buffer_dicts, args, kwargs, tie_weights=tie_weights, strict=strict
    )


def _stacked_leaf(tensors: tuple[Tensor, ...], name: str) -> Tensor:
    req = [t.requires_grad for t in tensors]
    if any(req) and not all(req):
        raise RuntimeError(f"Expected {name} from each model to have the same .requires_grad")
    out = stack(tensors)
    return out.detach().requires_grad_() if all(req) else out


def stack_module_state(models: Sequence[Module]) -> tuple[dict, dict]:
    """(params, buffers): each named tensor stacked over ``models`` along a new leading dim;
    stacked parameters are new leaves that require grad where the originals did."""
    models = list(models)
    if len(models) == 0:
        raise RuntimeError("stack_module_state: Expected at least one model, got 0.")
    if not (all(m.training for m in models) or not any(m.training for m in models)):
        raise RuntimeError(
            "stack_module_state: Expected all models to have the same training/eval mode."
        )
    if not all(type(m) is type(models[0]) for m in models):
        raise RuntimeError("stack_module_state: Expected all models to be of the same class.")
    all_p = [dict(m.named_parameters()) for m in models]
    all_b = [dict(m.named_buffers()) for m in models]
    params = {k: _stacked_leaf(tuple(p[k] for p in all_p), k) for k in all_p[0]}
    buffers = {k: _stacked_leaf(tuple(b[k] for b in all_b), k) for k in all_b[0]}
    return params, buffers
