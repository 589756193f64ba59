"""``torch.distributed.algorithms``: the Join context manager for uneven inputs."""

from __future__ import annotations

from .join import Join, Joinable, JoinHook

__all__ = ["Join", "JoinHook", "Joinable"]
