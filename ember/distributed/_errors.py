"""The error classes of torch.distributed, with torch's hierarchy (all are RuntimeErrors)."""

from __future__ import annotations

__all__ = ["DistBackendError", "DistError", "DistNetworkError", "DistStoreError", "QueueEmptyError"]


class DistError(RuntimeError):
    """Base of the errors raised by the distributed package, as ``torch.distributed.DistError``."""


class DistBackendError(DistError):
    """A communication backend failed (a collective or a communicator)."""


class DistNetworkError(DistError):
    """A socket could not connect or the peer went away (TCPStore's client, rendezvous)."""


class DistStoreError(DistError):
    """A store operation failed, typically a wait or get past the store's timeout."""


class QueueEmptyError(DistStoreError):
    """``Store.queue_pop(key, block=False)`` found the queue empty."""
