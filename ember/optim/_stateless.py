"""``swap_in_optimizer_params_and_state``: step an optimizer on other parameters and state for a
while, as ``torch.optim.swap_in_optimizer_params_and_state``."""

from __future__ import annotations

import contextlib
from collections import defaultdict
from collections.abc import Iterator
from typing import Any

from ..tensor import Tensor
from .optimizer import Optimizer

__all__ = ["swap_in_optimizer_params_and_state"]

_WHO = "swap_in_optimizer_params_and_state"


def _checked_state(state: Any) -> dict:
    if not isinstance(state, dict):
        raise RuntimeError(
            f"{_WHO} requires swapin_optim_state['state'] to be a dict mapping packed parameter "
            f"ids to per-param state dicts, got {type(state).__name__}."
        )
    if any(isinstance(k, Tensor) for k in state):
        raise RuntimeError(
            f"{_WHO} requires optimizer.state_dict()-style state keyed by packed parameter ids."
        )
    if any(isinstance(k, int) and not isinstance(v, dict) for k, v in state.items()):
        raise RuntimeError(
            f"{_WHO} requires per-parameter optimizer state entries to be dictionaries."
        )
    return state


def _checked_group(idx: int, live: dict, group: Any) -> list:
    if not isinstance(group, dict):
        raise RuntimeError(f"{_WHO} requires each optimizer param group to be a dictionary.")
    ids = group.get("params")
    if not isinstance(ids, list) or not all(isinstance(i, int) for i in ids):
        raise RuntimeError(
            f"{_WHO} requires optimizer.state_dict()-style param_groups[*]['params'] entries "
            "keyed by packed parameter ids."
        )
    if len(live["params"]) != len(ids):
        raise RuntimeError(
            f"swapin_optim_state param group {idx} has a different number of params than the "
            "live optimizer param group."
        )
    only_in = [k for k in group if k not in live]
    only_live = [k for k in live if k not in group]
    if only_in or only_live:
        raise RuntimeError(
            f"{_WHO} requires optimizer.state_dict()-style param group keys to exactly match the "
            f"live optimizer group keys for group {idx}. Keys only in swap-in: {only_in}. Keys "
            f"only in live: {only_live}."
        )
    return ids


@contextlib.contextmanager
def swap_in_optimizer_params_and_state(
    optimizer: Optimizer, swapin_parameters: dict[str, Tensor], swapin_optim_state: dict[str, Any]
) -> Iterator[None]:
    """Give ``optimizer`` the parameters ``swapin_parameters`` (in ``param_groups`` order) and
    the state and group options of the state_dict ``swapin_optim_state`` for the block, then
    restore its own.

    As torch: the optimizer must have state already; the per-parameter state dicts are shallow
    copies, so in-place updates of their tensors reach ``swapin_optim_state`` and new entries
    do not.
    """
    if not optimizer.state:
        raise RuntimeError(f"{_WHO} requires initialized optimizer state.")
    if not isinstance(swapin_optim_state, dict):
        raise RuntimeError(f"{_WHO} requires a DCP-style optimizer state_dict.")
    state = _checked_state(swapin_optim_state.get("state"))
    groups = swapin_optim_state.get("param_groups")
    if not isinstance(groups, list):
        raise RuntimeError(
            f"{_WHO} requires swapin_optim_state['param_groups'] to be a list of param-group "
            f"dicts, got {type(groups).__name__}."
        )
    if len(groups) != len(optimizer.param_groups):
        raise RuntimeError(
            "swapin_optim_state has a different number of parameter groups than the live optimizer."
        )
    flat = list(swapin_parameters.values())
    plan, used, at = [], set(), 0
    for idx, (live, group) in enumerate(zip(optimizer.param_groups, groups)):
        ids = _checked_group(idx, live, group)
        used.update(ids)
        if at + len(ids) > len(flat):
            raise RuntimeError(
                f"{_WHO} requires the explicit parameter state to match optimizer.param_groups "
                "ordering."
            )
        plan.append((live, group, flat[at : at + len(ids)]))
        at += len(ids)
    extra = [k for k in state if k not in used]
    if extra:
        raise RuntimeError(
            f"{_WHO} requires swapin_optim_state['state'] to be keyed only by packed parameter "
            f"ids from param_groups[*]['params']; got extra keys {extra!r}."
        )
    own_state = optimizer.state
    snapshots = [dict(g) for g in optimizer.param_groups]
    try:
        swapped: defaultdict = defaultdict(dict)
        for live, group, params in plan:
            live["params"] = params
            live.update({k: v for k, v in group.items() if k != "params"})
            for p, i in zip(params, group["params"]):
                swapped[p] = dict(state.get(i, {}))
        optimizer.state = swapped
        optimizer._flats = {}  # the flat buffers belong to the live parameters
        yield
    finally:
        for live, snap in zip(optimizer.param_groups, snapshots):
            live.clear()
            live.update(snap)
        optimizer.state = own_state
        optimizer._flats = {}
