"""ember.backends.cudnn: cuDNN flags as in ``torch.backends.cudnn`` (settable; stored, not used).

ember's GPU path runs through CuPy without cuDNN, so ``is_available()`` is False; ``enabled``,
``benchmark``, ``deterministic`` and ``allow_tf32`` keep what a script sets.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator

from .._torch_alias import module_getattr as _module_getattr

enabled: bool = True
benchmark: bool = False
deterministic: bool = False
allow_tf32: bool = True
benchmark_limit: int = 10


def is_available() -> bool:
    """False: ember does not call cuDNN."""
    return False


def version() -> int | None:
    """None: no cuDNN library is loaded."""
    return None


def is_acceptable(tensor: object) -> bool:
    """False: no tensor goes through cuDNN in ember."""
    return False


@contextlib.contextmanager
def flags(
    enabled: bool = False,
    benchmark: bool = False,
    deterministic: bool = False,
    allow_tf32: bool = True,
) -> Iterator[None]:
    """Set the four flags inside a ``with`` block and restore them afterwards."""
    mod = sys.modules[__name__]
    names = ("enabled", "benchmark", "deterministic", "allow_tf32")
    old = {n: getattr(mod, n) for n in names}
    for n, v in zip(names, (enabled, benchmark, deterministic, allow_tf32)):
        setattr(mod, n, v)
    try:
        yield
    finally:
        for n, v in old.items():
            setattr(mod, n, v)


__getattr__ = _module_getattr(__name__)  # unknown names: a clear not-implemented error
