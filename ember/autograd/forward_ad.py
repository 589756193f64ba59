"""torch.autograd.forward_ad: dual tensors (a primal with a tangent) inside a dual level.

How it works: make_dual returns a tensor that ember's reverse-mode graph records from, and
registers its tangent with the level. unpack_dual(y) computes y's tangent on demand, as the sum
over the level's dual inputs x_i of J_i t_i, by the double-vjp identity: with g(u) = sum_i
J_i^T u (one reverse pass from a zero cotangent u that requires grad), J t = d<g(u), t>/du (a
second pass). The values are exact, and ops pay nothing when no level is active (no hook in the
op or engine code). Ops whose backward has no graph-building form raise ember's RuntimeError
("cannot differentiate twice through ...") in unpack_dual rather than give a wrong tangent.

Differences from torch: a dual tensor reports requires_grad=True (it is recorded by the reverse
graph), and operations run under no_grad inside a level are not seen by it, so their results
carry no tangent; only one level at a time, as torch.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from .._backend.xp import xp_of
from .._grad_state import state as _grad_state
from ..tensor import Tensor, _wrap
from .engine import grad as _grad

__all__ = [
    "UnpackedDualTensor",
    "dual_level",
    "enter_dual_level",
    "exit_dual_level",
    "make_dual",
    "unpack_dual",
]


class _Level:
    def __init__(self, index: int):
        self.index = index
        self.duals: list[tuple[Tensor, Tensor]] = []  # (dual tensor, tangent)
        self.by_id: dict[int, Tensor] = {}  # id(dual) -> tangent
        self.reverse = False  # a primal that required grad: keep its graph in unpack_dual


_current: list[_Level | None] = [None]


def enter_dual_level() -> int:
    """Open the (single) dual level and return its index."""
    if _current[0] is not None:
        raise RuntimeError("Nested forward mode AD is not supported at the moment")
    _current[0] = _Level(0)
    return 0


def exit_dual_level(*, level: int | None = None) -> None:
    """Close the current dual level; its dual tensors lose their tangents."""
    lv = _current[0]
    if lv is None:
        raise RuntimeError("Dual level must be a positive number.")
    if level is not None and level != lv.index:
        raise RuntimeError(
            "Trying to exit a forward AD level that was not the last one that was created. "
            "This is not supported."
        )
    _current[0] = None


class dual_level:
    """Context manager for a dual level: ``with dual_level(): ...``."""

    def __enter__(self) -> int:
        return enter_dual_level()

    def __exit__(self, *exc: Any) -> None:
        exit_dual_level()


def _level_of(level: int | None, what: str) -> _Level:
    lv = _current[0]
    if lv is None or (level is not None and level != lv.index):
        raise RuntimeError(
            f"Trying to {what} for forward AD but no level exists, make sure to "
            "enter_dual_level() first."
        )
    return lv


def make_dual(tensor: Tensor, tangent: Tensor, *, level: int | None = None) -> Tensor:
    """A tensor with ``tensor``'s value whose tangent (forward gradient) is ``tangent``."""
    lv = _level_of(level, "create a dual Tensor")
    if not (tensor.is_floating_point() or tensor.is_complex()):
        raise ValueError(
            f"Expected primal to be floating point or complex, but got: {tensor.dtype}"
        )
    if not (tangent.is_floating_point() or tangent.is_complex()):
        raise ValueError(
            f"Expected tangent to be floating point or complex, but got: {tangent.dtype}"
        )
    if tuple(tangent.shape) != tuple(tensor.shape):
        raise RuntimeError(
            "Trying to set a forward gradient that has a different size than that of the "
            f"original Tensor, this is not supported. Tensor is of size {list(tensor.shape)} "
            f"while the given forward gradient is of size {list(tangent.shape)}."
        )
    if tensor.requires_grad:
        lv.reverse = True
        dual = tensor.view_as(tensor)  # a node of its own on top of the caller's graph
    else:
        dual = tensor.detach().requires_grad_(True)
    lv.duals.append((dual, tangent))
    lv.by_id[id(dual)] = tangent
    return dual


class UnpackedDualTensor(NamedTuple):
    """What unpack_dual returns: the primal and its tangent (None when it has none)."""

    primal: Tensor
    tangent: Tensor | None


def unpack_dual(tensor: Tensor, *, level: int | None = None) -> UnpackedDualTensor:
    """(primal, tangent) of ``tensor`` at the current level; tangent None outside a level or
    for a tensor that does not depend on a dual tensor."""
    lv = _current[0]
    if lv is None or (level is not None and level != lv.index) or not tensor.requires_grad:
        return UnpackedDualTensor(tensor, None)
    primal = tensor if lv.reverse else tensor.detach()
    t = lv.by_id.get(id(tensor))
    if t is not None:
        return UnpackedDualTensor(primal, t)
    duals = [d for d, _ in lv.duals]
    tangents = [t for _, t in lv.duals]
    prev = _grad_state.enabled
    _grad_state.enabled = True
    try:
        u = _wrap(xp_of(tensor._data).zeros(tensor._data.shape, tensor._data.dtype))
        u.requires_grad_(True)
        gs = _grad(tensor, duals, u, retain_graph=True, create_graph=True, allow_unused=True)
        pairs = [(g, t) for g, t in zip(gs, tangents) if g is not None]
        if not pairs:
            return UnpackedDualTensor(primal, None)
        live = [(g, t) for g, t in pairs if g.requires_grad]
        if not live:
            jv = None
        else:
            (jv,) = _grad(
                [g for g, _ in live],
                [u],
                [t for _, t in live],
                retain_graph=True,
                create_graph=lv.reverse,  # the tangent is differentiable, as torch's
                allow_unused=True,
            )
        if jv is None:
            jv = u.detach()  # the dependence is through a constant: the tangent is zero
    finally:
        _grad_state.enabled = prev
    return UnpackedDualTensor(primal, jv if lv.reverse else jv.detach())
