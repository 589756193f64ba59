"""``torch.autograd.variable``: the legacy ``Variable`` wrapper."""

from __future__ import annotations

__all__ = ["Variable"]


def Variable(data, requires_grad: bool = False, volatile: bool = False):  # noqa: N802
    """The legacy wrapper: today's tensors are Variables; this returns ``data`` itself."""
    if requires_grad:
        data.requires_grad_(True)
    return data
