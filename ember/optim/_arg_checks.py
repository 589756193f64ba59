"""The optimizers' argument checks: one rule per hyper-parameter name, torch's ValueError
messages, checked in the order the optimizer names them (which sets the error raised first)."""

from __future__ import annotations

from typing import Any

# name -> (the test a valid value passes, torch's message)
_RULES: dict = {
    "lr": (lambda v: 0.0 <= v, "Invalid learning rate: {}"),
    "eps": (lambda v: 0.0 <= v, "Invalid epsilon value: {}"),
    "weight_decay": (lambda v: 0.0 <= v, "Invalid weight_decay value: {}"),
    "momentum": (lambda v: 0.0 <= v, "Invalid momentum value: {}"),
    "alpha": (lambda v: 0.0 <= v, "Invalid alpha value: {}"),
    "rho": (lambda v: 0.0 <= v <= 1.0, "Invalid rho value: {}"),
    "lr_decay": (lambda v: 0.0 <= v, "Invalid lr_decay value: {}"),
    "initial_accumulator_value": (
        lambda v: 0.0 <= v,
        "Invalid initial_accumulator_value value: {}",
    ),
    "momentum_decay": (lambda v: 0.0 <= v, "Invalid momentum_decay value: {}"),
}


def check_hyperparameters(*, nan_ok: bool = False, **values: Any) -> None:
    """Raise torch's ValueError for the first out-of-range value, in keyword order.

    ``betas`` checks both coefficients (in [0, 1)), ``etas`` needs 0 < etas[0] < 1 < etas[1].
    With ``nan_ok`` the non-negative rules reject only ``value < 0`` (torch's SGD lets NaN by).
    """
    for name, v in values.items():
        if name == "betas":
            for i in (0, 1):
                if not 0.0 <= v[i] < 1.0:
                    raise ValueError(f"Invalid beta parameter at index {i}: {v[i]}")
        elif name == "etas":
            if not 0.0 < v[0] < 1.0 < v[1]:
                raise ValueError(f"Invalid eta values: {v[0]}, {v[1]}")
        else:
            valid, message = _RULES[name]
            if (v < 0.0) if nan_ok else not valid(v):
                raise ValueError(message.format(v))
