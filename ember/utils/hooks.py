"""ember.utils.hooks: torch's public path of the hook handle (``torch.utils.hooks``)."""

from __future__ import annotations

from ..autograd.hooks import RemovableHandle

__all__ = ["RemovableHandle"]
