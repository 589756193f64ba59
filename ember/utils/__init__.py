"""ember.utils: helpers outside the tensor core, as ``torch.utils``."""

from . import checkpoint, data  # noqa: F401
