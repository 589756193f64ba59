"""torch.cuda.jiterator: torch's run-time compiled elementwise CUDA kernels.

Its public namespace is empty in torch (the factories are private), so is ember's; ember's own
fused CUDA kernels are registered in ``ember/_backend/kernels.py``.
"""

from __future__ import annotations

from .._torch_alias import module_getattr as _module_getattr

__all__: list[str] = []


__getattr__ = _module_getattr(__name__)  # unknown names: a clear not-implemented error
