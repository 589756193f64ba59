"""Shared argument checks and gradient preprocessing for the optimizers."""

from __future__ import annotations


def check(
    lr: float, eps: float | None = None, weight_decay: float = 0.0, betas: tuple | None = None
) -> None:
    """torch's ValueError messages for out-of-range hyper-parameters."""
    if not 0.0 <= lr:
        raise ValueError(f"Invalid learning rate: {lr}")
    if eps is not None and not 0.0 <= eps:
        raise ValueError(f"Invalid epsilon value: {eps}")
    if not 0.0 <= weight_decay:
        raise ValueError(f"Invalid weight_decay value: {weight_decay}")
    if betas is not None:
        if not 0.0 <= betas[0] < 1.0:
            raise ValueError(f"Invalid beta parameter at index 0: {betas[0]}")
        if not 0.0 <= betas[1] < 1.0:
            raise ValueError(f"Invalid beta parameter at index 1: {betas[1]}")


def direction(group: dict, p, g, decoupled: bool = False):
    """The gradient after maximize and (coupled) weight decay; never writes into g."""
    d = -g if group.get("maximize", False) else g
    wd = group.get("weight_decay", 0)
    if wd != 0:
        if decoupled:
            p *= 1 - float(group["lr"]) * wd
        else:
            d = d + wd * p
    return d
