"""ember.version: the version strings that ``torch.version`` offers, for version checks in scripts.

``__version__`` claims the torch release whose API ember follows, with ember's own version as the
local part (``2.13.0+ember.0.1.0``): a plain ``str`` here, as torch's; ``ember.__version__`` is
``torch_version.TorchVersion`` of it, which compares with version strings and tuples of ints.
"""

from __future__ import annotations

__all__ = ["__version__", "cuda", "hip", "rocm", "xpu", "git_version", "debug", "ember"]

ember = "0.1.0"
__version__ = f"2.13.0+ember.{ember}"
cuda: str | None = None
hip: str | None = None
rocm: str | None = None
xpu: str | None = None
debug = False
git_version = "unknown"
