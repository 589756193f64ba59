"""DataLoader internals: collate, fetch, worker, pin_memory and shared-memory transport."""

from . import collate, fetch, pin_memory, shared_memory, worker  # noqa: F401
from .worker import MP_STATUS_CHECK_INTERVAL  # noqa: F401
