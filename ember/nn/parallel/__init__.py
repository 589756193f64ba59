"""ember.nn.parallel: DistributedDataParallel over ember.distributed, and DataParallel."""

from __future__ import annotations

from ..._torch_alias import module_getattr as _module_getattr
from ..modules.module import Module
from .distributed import DistributedDataParallel

DDP = DistributedDataParallel

__all__ = ["DataParallel", "DistributedDataParallel"]


class DataParallel(Module):
    """torch.nn.DataParallel on one device: ember runs the wrapped module as is."""

    def __init__(self, module: Module, device_ids=None, output_device=None, dim: int = 0):
        super().__init__()
        self.module = module
        self.device_ids = device_ids
        self.output_device = output_device
        self.dim = dim

    def forward(self, *inputs, **kwargs):
        """Call the wrapped module."""
        return self.module(*inputs, **kwargs)


__getattr__ = _module_getattr(__name__)  # unknown names: a clear not-implemented error
