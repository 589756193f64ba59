"""nn.utils.skip_init: build a module without initialising its parameters and buffers."""

from __future__ import annotations

import inspect
from typing import Any

from ...random import fork_rng
from .. import init
from ..modules.module import Module

__all__ = ["skip_init"]


def skip_init(module_cls: type, *args: Any, **kwargs: Any) -> Module:
    """``module_cls(*args, **kwargs)`` with uninitialised parameters and buffers (as
    ``torch.empty``), on ``device`` (default cpu) and ``dtype`` as given.

    As torch's: the class must take a ``device`` argument (RuntimeError otherwise), the global
    random stream is not advanced, and a lazy module class raises (its parameters have no
    memory to leave uninitialised). torch builds the module on the meta device; ember has none,
    so it builds it on the target device with the ``nn.init`` initialisers turned into no-ops,
    then gives every tensor fresh uninitialised memory (``to_empty``).
    """
    if not (isinstance(module_cls, type) and issubclass(module_cls, Module)):
        raise RuntimeError(f"Expected a Module; got {module_cls}")
    if "device" not in inspect.signature(module_cls).parameters:
        raise RuntimeError("Module must support a 'device' arg to skip initialization")
    device = kwargs.pop("device", "cpu")
    kwargs["device"] = device
    # fork_rng: draws made outside nn.init (a Tensor.normal_ in a constructor) leave no trace
    with fork_rng(), init._skipped():
        module = module_cls(*args, **kwargs)
    return module.to_empty(device=device)
