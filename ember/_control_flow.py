"""torch's control-flow operators, ``torch.cond`` and ``torch.while_loop``, run eagerly: the
branch or loop body is plain Python over ember tensors, so autograd records it as it runs.

torch traces both branches of ``cond`` (and the loop's functions) with torch.compile before it
runs them, and refuses branches whose outputs differ in structure, dtype or shape, or that alias
or mutate an input. ember runs only the branch taken and checks what it can see from it: torch's
argument checks and messages, outputs that are tensors or ints, no output that is an input or a
view of one (``cond``), and for ``while_loop`` the condition's type and the body's outputs
against the carried values, at each step. A loop that never steps returns copies of the carried
values as a tuple (torch: in the structure of the body's output, from its trace), and their
gradient is the identity's (torch's backward runs one body step's all the same)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from . import dtypes
from .tensor import Tensor

__all__ = ["cond", "while_loop"]


def _leaves(tree, none_is_leaf: bool = False) -> list:
    """The leaves of nested tuples, lists and dicts (dict values in key order), as torch's
    pytree: None is an empty node (unless ``none_is_leaf``)."""
    if isinstance(tree, (tuple, list)):
        return [leaf for item in tree for leaf in _leaves(item, none_is_leaf)]
    if isinstance(tree, dict):
        return [leaf for key in tree for leaf in _leaves(tree[key], none_is_leaf)]
    return [] if tree is None and not none_is_leaf else [tree]


def _aliases(out: Tensor, inp: Tensor) -> bool:
    """Whether ``out`` is ``inp`` or a view sharing its base."""

    def root(t: Tensor) -> Tensor:
        return t if t._base is None else t._base

    return out is inp or root(out) is root(inp)


def cond(
    pred: bool | int | float | Tensor,
    true_fn: Callable,
    false_fn: Callable,
    operands: tuple | list = (),
) -> Any:
    """``true_fn(*operands)`` if ``pred`` else ``false_fn(*operands)``, as torch.cond."""
    if isinstance(pred, (bool, int, float)):  # a constant: torch calls the branch as it is
        return true_fn(*operands) if pred else false_fn(*operands)
    if not isinstance(pred, Tensor):
        raise RuntimeError(f"Expected pred to be bool or tensor, but got {pred}.")
    if pred.numel() != 1:
        raise RuntimeError(f"Expected pred to be bool or single-element tensor, but got {pred}.")
    if not callable(true_fn) or not callable(false_fn):
        raise RuntimeError("Expect both branches to be callable.")
    inputs = _leaves(operands)
    if not isinstance(operands, (tuple, list)) or not all(isinstance(t, Tensor) for t in inputs):
        raise RuntimeError(
            "Expect operands to be a tuple of possibly nested dict/list/tuple that only "
            f"consists of tensor leaves, but got {operands}."
        )
    out = (true_fn if bool(pred.item()) else false_fn)(*operands)
    for leaf in _leaves(out, none_is_leaf=True):
        if isinstance(leaf, Tensor):
            if any(_aliases(leaf, t) for t in inputs):
                raise RuntimeError(
                    "torch.cond: Higher order ops do not support aliasing: a branch returned an "
                    "input or a view of one. Replace `return input` with `return input.clone()`."
                )
        elif not isinstance(leaf, int):
            raise RuntimeError(
                "torch.cond: unsupported branch return type (constant non-int): constants "
                "returned from branches must be ints."
            )
    return out


def _check_step(out, carried: list) -> None:
    """torch's checks of a while_loop body's outputs against the carried values."""
    flat = _leaves(out)
    if len(flat) != len(carried):
        raise RuntimeError(
            "Expected body_fn_output and carried_inputs to have same number of outputs but got "
            f"lhs:{flat} and rhs:{carried}"
        )
    for i, (a, b) in enumerate(zip(flat, carried)):
        if isinstance(a, Tensor) != isinstance(b, Tensor):
            diff = f"type: {type(a).__name__} vs {type(b).__name__}"
        elif not isinstance(a, Tensor):
            continue
        elif a.dtype != b.dtype:
            diff = f"dtype: {a.dtype} vs {b.dtype}"
        elif a.shape != b.shape:
            diff = f"shape: {a.shape} vs {b.shape}"
        else:
            continue
        raise RuntimeError(
            "Expected body_fn_output and carried_inputs to have same metadata but found:\n"
            f"pair[{i}] differ in '{diff}'"
        )


def _go_on(cond_fn: Callable, carried) -> bool:
    p = cond_fn(*carried)
    if isinstance(p, bool):
        return p
    if isinstance(p, Tensor) and p.dim() == 0 and p.dtype == dtypes.bool:
        return bool(p.item())
    got = p.shape if isinstance(p, Tensor) else type(p).__name__
    raise RuntimeError(
        "torch.while_loop: unsupported cond_fn return type: Expected cond_fn to return a scalar "
        f"tensor or a bool but got {got}."
    )


def _rebuild(tree, leaves):
    """``tree``'s structure with its leaves taken in order from the iterator ``leaves``."""
    if isinstance(tree, (tuple, list)):
        return type(tree)(_rebuild(item, leaves) for item in tree)
    if isinstance(tree, dict):
        return {key: _rebuild(value, leaves) for key, value in tree.items()}
    return None if tree is None else next(leaves)


def while_loop(cond_fn: Callable, body_fn: Callable, carried_inputs: tuple | list) -> Any:
    """``while cond_fn(*carried): carried = body_fn(*carried)``, as torch.while_loop: the last
    body's outputs (as it returned them), or a copy of ``tuple(carried_inputs)`` if it never
    ran."""
    if not callable(cond_fn) or not callable(body_fn):
        raise RuntimeError("Expect cond_fn and body_fn to be callable.")
    flat = _leaves(carried_inputs)
    bad = [x for x in flat if not isinstance(x, (Tensor, int))]
    if bad:
        raise AssertionError(
            f"{flat} can only be of (<class 'torch.Tensor'>, <class 'int'>, <class "
            f"'torch.SymInt'>) but got {tuple(type(x) for x in bad)}"
        )
    # each step sees the carried values in carried_inputs' structure, whatever the body's;
    # without a step, torch gives back the carried inputs as a tuple of new tensors
    out = _rebuild(tuple(carried_inputs), (x.clone() if isinstance(x, Tensor) else x for x in flat))
    carried = _rebuild(carried_inputs, iter(flat))
    while _go_on(cond_fn, carried):
        out = body_fn(*carried)
        _check_step(out, flat)
        flat = _leaves(out)
        carried = _rebuild(carried_inputs, iter(flat))
    return out
