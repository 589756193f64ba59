"""ember.utils: helpers outside the tensor core, as ``torch.utils``."""

from . import data  # noqa: F401
