"""ember.cuda: CUDA availability, devices, streams, seeds and memory figures through CuPy.

Everything here answers as torch's CPU build does without CuPy or a GPU: ``is_available()`` is
False and never raises, ``device_count()`` is 0, seeding and ``synchronize`` are no-ops, the
memory counters are 0; the calls that need a device raise torch's "Torch not compiled with CUDA
enabled" AssertionError. The torch submodules are here under their names (``ember.cuda.random``,
``.memory``, ``.streams``, ``.graphs``, ``.nvtx``, ``.profiler``, ``.nccl``, ``.tunable``, ...),
and this namespace imports their public names as torch.cuda's does.

Random numbers: factory functions (``randn(..., device='cuda')``, ``nn.init``) draw on the host
with ember's generator and copy once, so a seed gives the same values on CPU and GPU; random
numbers inside a training step (dropout masks) come from CuPy's generator on the device, seeded
by ``manual_seed`` here (and by ``ember.manual_seed``), so a step never uploads from the host.
"""

from __future__ import annotations

import sys
import types

from .._tensor_errors import AcceleratorError, OutOfMemoryError  # noqa: F401  (torch.cuda's too)
from .._torch_alias import module_getattr as _module_getattr
from . import (  # noqa: F401  (torch.cuda's submodules)
    _runtime,
    amp,
    gds,
    graphs,
    green_contexts,
    jiterator,
    memory,
    nccl,
    nvtx,
    profiler,
    random,
    sparse,
    streams,
    tunable,
)
from ._legacy_types import (  # noqa: F401
    BFloat16Storage,
    BFloat16Tensor,
    BoolStorage,
    BoolTensor,
    ByteStorage,
    ByteTensor,
    CharStorage,
    CharTensor,
    ComplexDoubleStorage,
    ComplexFloatStorage,
    DoubleStorage,
    DoubleTensor,
    FloatStorage,
    FloatTensor,
    HalfStorage,
    HalfTensor,
    IntStorage,
    IntTensor,
    LongStorage,
    LongTensor,
    ShortStorage,
    ShortTensor,
)
from ._nvml import (  # noqa: F401
    clock_rate,
    device_memory_used,
    memory_usage,
    power_draw,
    temperature,
    utilization,
)
from ._runtime import (  # noqa: F401
    CudaError,
    DeferredCudaCallError,
    Device,
    can_device_access_peer,
    current_blas_handle,
    current_device,
    current_solver_handle,
    device,
    device_count,
    device_of,
    get_arch_list,
    get_device_capability,
    get_device_name,
    get_device_properties,
    get_gencode_flags,
    get_sync_debug_mode,
    has_half,
    has_magma,
    init,
    ipc_collect,
    is_available,
    is_bf16_supported,
    is_initialized,
    is_tf32_supported,
    set_device,
    set_sync_debug_mode,
    synchronize,
)
from ._runtime import index_of as _index  # noqa: F401  (ember.accelerator's)
from .graphs import (  # noqa: F401
    CUDAGraph,
    graph,
    graph_pool_handle,
    is_current_stream_capturing,
    make_graphed_callables,
)
from .green_contexts import GreenContext  # noqa: F401
from .memory import (  # noqa: F401
    CUDAPluggableAllocator,
    MemPool,
    caching_allocator_alloc,
    caching_allocator_delete,
    caching_allocator_disabled,
    caching_allocator_enable,
    change_current_allocator,
    empty_cache,
    get_allocator_backend,
    get_per_process_memory_fraction,
    host_memory_stats,
    host_memory_stats_as_nested_dict,
    list_gpu_processes,
    max_memory_allocated,
    max_memory_cached,
    max_memory_reserved,
    mem_get_info,
    memory_allocated,
    memory_cached,
    memory_reserved,
    memory_snapshot,
    memory_stats,
    memory_stats_as_nested_dict,
    memory_summary,
    reset_accumulated_host_memory_stats,
    reset_accumulated_memory_stats,
    reset_max_memory_allocated,
    reset_max_memory_cached,
    reset_peak_host_memory_stats,
    reset_peak_memory_stats,
    set_per_process_memory_fraction,
    use_mem_pool,
)
from .random import (  # noqa: F401
    get_rng_state,
    get_rng_state_all,
    initial_seed,
    manual_seed,
    manual_seed_all,
    seed,
    seed_all,
    set_rng_state,
    set_rng_state_all,
)
from .random import seed_all_if_loaded as _seed_all_if_loaded  # noqa: F401  (ember.manual_seed's)
from .streams import (  # noqa: F401
    Event,
    ExternalStream,
    Stream,
    StreamContext,
    current_stream,
    default_stream,
    get_stream_from_external,
    set_stream,
    stream,
)


class _CudaModule(types.ModuleType):
    """The type of this module: two attributes are computed when read.

    ``default_generators`` lists one generator per visible GPU, which takes CuPy, and ember
    never imports CuPy at ``import ember``; ``_available`` is ``is_available``'s cached answer,
    kept in ``_runtime`` (the tests reset it when they swap in a CuPy stand-in).
    """

    @property
    def default_generators(self) -> tuple:
        return random.default_generators()

    @property
    def _available(self) -> bool | None:
        return _runtime._available

    @_available.setter
    def _available(self, value: bool | None) -> None:
        _runtime._available = value


sys.modules[__name__].__class__ = _CudaModule


def __dir__() -> list[str]:
    return sorted([*globals(), "default_generators"])


__getattr__ = _module_getattr(__name__)  # unknown names: a clear not-implemented error
