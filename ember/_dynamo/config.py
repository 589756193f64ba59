"""torch._dynamo.config: TorchDynamo's settings, kept only to be set and read back (ember runs
every program eagerly). The common keys answer torch's defaults; any key may be assigned."""

from __future__ import annotations

from .._torch_alias import module_getattr as _module_getattr
from ..utils._config_module import patcher as _patcher

suppress_errors = False
cache_size_limit = 8
recompile_limit = 8
accumulated_cache_size_limit = 256
optimize_ddp = True
verbose = False
capture_scalar_outputs = False
capture_dynamic_output_shape_ops = False
automatic_dynamic_shapes = True
assume_static_by_default = True

patch = _patcher(__name__)

__getattr__ = _module_getattr(__name__)  # a key never set: a clear not-implemented error
