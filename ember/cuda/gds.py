"""torch.cuda.gds: GPUDirect Storage (file <-> GPU memory without the host), which neither
torch's CPU build nor ember supports: each entry point raises torch's RuntimeError "... is not
supported on this platform", a file that cannot be opened first raising as ``os.open`` does."""

from __future__ import annotations

import os

from .._torch_alias import module_getattr as _module_getattr
from ..storage import TypedStorage, UntypedStorage

__all__ = ["gds_register_buffer", "gds_deregister_buffer", "GdsFile"]


def _unsupported(name: str) -> RuntimeError:
    return RuntimeError(f"torch._C.{name} is not supported on this platform")


def gds_register_buffer(s: UntypedStorage | TypedStorage) -> None:
    """Register a CUDA storage for GDS transfers (unsupported)."""
    raise _unsupported("_gds_register_buffer")


def gds_deregister_buffer(s: UntypedStorage | TypedStorage) -> None:
    """Deregister a storage registered by ``gds_register_buffer`` (unsupported)."""
    raise _unsupported("_gds_deregister_buffer")


class GdsFile:
    """A file opened for GDS reads and writes of CUDA storages (unsupported)."""

    def __init__(self, filename: str, flags: int) -> None:
        self.filename, self.flags = filename, flags
        os.close(os.open(filename, flags))  # a missing file raises as torch's (FileNotFoundError)
        raise _unsupported("_gds_register_handle")


__getattr__ = _module_getattr(__name__)  # unknown names: a clear not-implemented error
