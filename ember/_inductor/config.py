"""torch._inductor.config: TorchInductor's settings, kept only to be set and read back (ember has
no code generator). The common keys answer torch's defaults; any key may be assigned."""

from __future__ import annotations

from .._torch_alias import module_getattr as _module_getattr
from ..utils._config_module import Namespace as _Namespace
from ..utils._config_module import patcher as _patcher

coordinate_descent_tuning = False
fx_graph_cache = True
freezing = False
max_autotune = False
max_autotune_gemm = False
epilogue_fusion = True

triton = _Namespace("torch._inductor.config.triton", unique_kernel_names=True, cudagraphs=False)

patch = _patcher(__name__)

__getattr__ = _module_getattr(__name__)  # a key never set: a clear not-implemented error
