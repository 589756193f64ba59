"""ember.utils.dlpack: DLPack exchange, as ``torch.utils.dlpack``."""

from ..ops.creation import from_dlpack, to_dlpack

__all__ = ["from_dlpack", "to_dlpack"]
