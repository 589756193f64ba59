"""torch.cuda's whole public API on ember.cuda: every name torch.cuda and its submodules have,
and, without a GPU, what each call gives against torch's CPU build (the same value, or the same
exception type and message; where torch's CPU build fails inside itself, ember's clearer
error). The GPU paths that the CuPy stand-in can carry are checked at the end.
"""

from __future__ import annotations

import contextlib
import ctypes.util
import importlib
import sys
import types
import typing
import warnings
from collections import OrderedDict

import numpy as np
import pytest

import ember
from tests._support.cuda import edev, stand_in
from tests._support.torch_ref import torch

NOT_COMPILED = "Torch not compiled with CUDA enabled"

# torch.cuda's own imports and internals, not API (the task's list)
IGNORED = {
    "Any", "Callable", "Optional", "cast", "os", "platform", "threading", "traceback",
    "warnings", "importlib", "lru_cache", "NewType", "TYPE_CHECKING", "torch",
    "classproperty", "PYTORCH_RELEASES_CODE_CC", "DEVICE_REQUIREMENT", "cudart", "cudaStatus",
    "check_error",
}  # fmt: skip

SUBMODULES = (
    "random", "memory", "streams", "graphs", "nvtx", "profiler", "jiterator", "sparse", "nccl",
    "tunable", "gds", "green_contexts", "amp",
)  # fmt: skip


@pytest.fixture
def no_cuda(monkeypatch):
    """A machine without CUDA for ember (CuPy not importable), compared with torch's CPU build."""
    if torch.cuda.is_available():
        pytest.skip("torch has CUDA here: its answers are not the CPU build's")
    monkeypatch.setitem(sys.modules, "cupy", None)
    monkeypatch.setattr(edev, "_cupy", None)
    monkeypatch.setattr(ember.cuda, "_available", None)
    yield


@pytest.fixture
def fake_gpu(monkeypatch):
    """Two stand-in GPUs (compute capability 9.0), ember.cuda's recorded state put back after."""
    monkeypatch.setattr(ember.cuda.random, "_generators", {})
    monkeypatch.setattr(ember.cuda.memory, "_peak", {})
    monkeypatch.setattr(ember.cuda.memory, "_raw_blocks", {})
    monkeypatch.setattr(ember.cuda._runtime, "_sync_debug_mode", [0])
    with stand_in() as fake:
        yield fake


# --- the names -------------------------------------------------------------------------------
def test_no_torch_cuda_name_is_missing():
    missing = {n for n in dir(torch.cuda) if not n.startswith("_")} - set(dir(ember.cuda))
    assert missing - IGNORED == set()
    assert "default_generators" in dir(ember.cuda)


@pytest.mark.parametrize("name", SUBMODULES)
def test_submodules_have_torchs_public_names(name):
    tmod = importlib.import_module(f"torch.cuda.{name}")
    emod = importlib.import_module(f"ember.cuda.{name}")
    assert getattr(ember.cuda, name) is emod
    public = set(getattr(tmod, "__all__", ()))
    # names defined in the module itself (not its imports), e.g. the legacy sparse types
    public |= {
        n
        for n, v in vars(tmod).items()
        if not n.startswith("_")
        and getattr(v, "__module__", None) == tmod.__name__
        and not isinstance(v, types.ModuleType)
    }
    assert public - set(dir(emod)) == set()
    assert sys.modules[f"ember.cuda.{name}"] is emod  # `import torch.cuda.X` finds it under ember


def test_random_submodule_is_the_one_behind_the_top_level_names():
    r = ember.cuda.random
    for name in r.__all__:
        assert getattr(ember.cuda, name) is getattr(r, name)
    assert ember.cuda.manual_seed_all is ember.cuda.random.manual_seed_all
    assert ember.cuda.memory_allocated is ember.cuda.memory.memory_allocated
    assert ember.cuda.Stream is ember.cuda.streams.Stream


# --- without CUDA: the same as torch's CPU build ---------------------------------------------
def _u8(m):
    return m.zeros(16, dtype=m.uint8)


CASES = {
    # devices
    "is_available()": lambda m: m.cuda.is_available(),
    "is_initialized()": lambda m: m.cuda.is_initialized(),
    "device_count()": lambda m: m.cuda.device_count(),
    "init()": lambda m: m.cuda.init(),
    "current_device()": lambda m: m.cuda.current_device(),
    "set_device(-1)": lambda m: m.cuda.set_device(-1),
    "with device(0)": lambda m: m.cuda.device(0).__enter__(),
    "with device_of(x)": lambda m: m.cuda.device_of(m.zeros(1)).__enter__(),
    "get_device_name(0)": lambda m: m.cuda.get_device_name(0),
    "get_device_capability()": lambda m: m.cuda.get_device_capability(),
    "get_device_properties(0)": lambda m: m.cuda.get_device_properties(0),
    "current_stream()": lambda m: m.cuda.current_stream(),
    "default_stream()": lambda m: m.cuda.default_stream(),
    # torch.cuda.random
    "get_rng_state()": lambda m: m.cuda.get_rng_state(),
    "get_rng_state('cuda')": lambda m: m.cuda.get_rng_state("cuda"),
    "get_rng_state(0)": lambda m: m.cuda.get_rng_state(0),
    "get_rng_state_all()": lambda m: m.cuda.get_rng_state_all(),
    "random.get_rng_state_all()": lambda m: m.cuda.random.get_rng_state_all(),
    "set_rng_state(t)": lambda m: m.cuda.set_rng_state(_u8(m)),
    "set_rng_state(t, 1)": lambda m: m.cuda.set_rng_state(_u8(m), 1),
    "set_rng_state_all([])": lambda m: m.cuda.set_rng_state_all([]),
    "set_rng_state_all([t, t])": lambda m: m.cuda.set_rng_state_all([_u8(m), _u8(m)]),
    "set_rng_state_all(5)": lambda m: m.cuda.set_rng_state_all(5),
    "initial_seed()": lambda m: m.cuda.initial_seed(),
    "random.initial_seed()": lambda m: m.cuda.random.initial_seed(),
    "default_generators": lambda m: m.cuda.default_generators,
    "manual_seed(1)": lambda m: m.cuda.manual_seed(1),
    "manual_seed('a')": lambda m: m.cuda.manual_seed("a"),
    "manual_seed_all(1)": lambda m: m.cuda.random.manual_seed_all(1),
    "manual_seed_all('a')": lambda m: m.cuda.manual_seed_all("a"),
    "seed()": lambda m: m.cuda.random.seed(),
    "seed_all()": lambda m: m.cuda.seed_all(),
    # what the device supports
    "is_bf16_supported()": lambda m: m.cuda.is_bf16_supported(),
    "is_bf16_supported(False)": lambda m: m.cuda.is_bf16_supported(False),
    "is_bf16_supported(including_emulation=False)": lambda m: m.cuda.is_bf16_supported(
        including_emulation=False
    ),
    "is_tf32_supported()": lambda m: m.cuda.is_tf32_supported(),
    "get_arch_list()": lambda m: m.cuda.get_arch_list(),
    "get_gencode_flags()": lambda m: m.cuda.get_gencode_flags(),
    "has_half": lambda m: m.cuda.has_half,
    "has_magma": lambda m: m.cuda.has_magma,
    "can_device_access_peer(0, 1)": lambda m: m.cuda.can_device_access_peer(0, 1),
    "current_blas_handle()": lambda m: m.cuda.current_blas_handle(),
    "current_solver_handle()": lambda m: m.cuda.current_solver_handle(),
    "ipc_collect()": lambda m: m.cuda.ipc_collect(),
    "get_sync_debug_mode()": lambda m: m.cuda.get_sync_debug_mode(),
    "set_sync_debug_mode(1)": lambda m: m.cuda.set_sync_debug_mode(1),
    "set_sync_debug_mode('warn')": lambda m: m.cuda.set_sync_debug_mode("warn"),
    "set_sync_debug_mode('bad')": lambda m: m.cuda.set_sync_debug_mode("bad"),
    # nvidia-smi's figures (nvidia-ml-py missing, or no driver)
    "utilization()": lambda m: m.cuda.utilization(),
    "memory_usage()": lambda m: m.cuda.memory_usage(),
    "temperature()": lambda m: m.cuda.temperature(),
    "clock_rate()": lambda m: m.cuda.clock_rate(),
    "power_draw()": lambda m: m.cuda.power_draw(),
    "device_memory_used()": lambda m: m.cuda.device_memory_used(),
    "list_gpu_processes()": lambda m: m.cuda.list_gpu_processes(),
    # torch.cuda.memory
    "memory_stats()": lambda m: m.cuda.memory_stats(),
    "memory_stats(0)": lambda m: m.cuda.memory_stats(0),
    "memory_stats('cpu')": lambda m: m.cuda.memory_stats("cpu"),
    "memory_stats_as_nested_dict()": lambda m: m.cuda.memory_stats_as_nested_dict(),
    "memory_summary()": lambda m: m.cuda.memory_summary(),
    "memory_summary(0)": lambda m: m.cuda.memory_summary(0),
    "memory_summary('cuda:1')": lambda m: m.cuda.memory_summary("cuda:1"),
    "memory_summary('cpu')": lambda m: m.cuda.memory_summary("cpu"),
    "memory_summary(abbreviated=True)": lambda m: m.cuda.memory_summary(abbreviated=True),
    "memory_allocated()": lambda m: m.cuda.memory_allocated(),
    "memory_allocated('cuda:1')": lambda m: m.cuda.memory_allocated("cuda:1"),
    "max_memory_allocated()": lambda m: m.cuda.max_memory_allocated(),
    "memory_reserved()": lambda m: m.cuda.memory_reserved(),
    "max_memory_reserved()": lambda m: m.cuda.max_memory_reserved(),
    "memory_cached()": lambda m: m.cuda.memory_cached(),
    "max_memory_cached()": lambda m: m.cuda.max_memory_cached(),
    "max_memory_cached('cpu')": lambda m: m.cuda.memory.max_memory_cached("cpu"),
    "host_memory_stats()": lambda m: m.cuda.host_memory_stats(),
    "host_memory_stats_as_nested_dict()": lambda m: m.cuda.host_memory_stats_as_nested_dict(),
    "empty_cache()": lambda m: m.cuda.empty_cache(),
    "mem_get_info()": lambda m: m.cuda.mem_get_info(),
    "get_per_process_memory_fraction()": lambda m: m.cuda.get_per_process_memory_fraction(),
    "set_per_process_memory_fraction(0.5)": lambda m: m.cuda.set_per_process_memory_fraction(0.5),
    "set_per_process_memory_fraction(2)": lambda m: m.cuda.set_per_process_memory_fraction(2),
    "caching_allocator_alloc(16)": lambda m: m.cuda.caching_allocator_alloc(16),
    "caching_allocator_alloc(16, stream='x')": lambda m: m.cuda.caching_allocator_alloc(
        16, stream="x"
    ),
    "caching_allocator_enable()": lambda m: m.cuda.caching_allocator_enable(),
    "caching_allocator_enable(False)": lambda m: m.cuda.caching_allocator_enable(False),
    "caching_allocator_disabled()": lambda m: m.cuda.caching_allocator_disabled(),
    "use_mem_pool(None)": lambda m: m.cuda.use_mem_pool(None),
    "with use_mem_pool(None)": lambda m: m.cuda.use_mem_pool(None).__enter__(),
    "CUDAPluggableAllocator(missing file)": lambda m: m.cuda.CUDAPluggableAllocator(
        "/nonexistent/alloc.so", "a", "f"
    ),
    # streams
    "StreamContext(None)": lambda m: m.cuda.StreamContext(None),
    "with StreamContext(None)": lambda m: m.cuda.StreamContext(None).__enter__(),
    "StreamContext(None) exit": lambda m: m.cuda.StreamContext(None).__exit__(None, None, None),
    "stream(None)": lambda m: m.cuda.stream(None),
    "with stream(None)": lambda m: m.cuda.stream(None).__enter__(),
    "set_stream(None)": lambda m: m.cuda.set_stream(None),
    "get_stream_from_external(0)": lambda m: m.cuda.get_stream_from_external(0),
    "ExternalStream(0, 0)": lambda m: m.cuda.ExternalStream(0, 0),
    "ExternalStream(0, 'cuda:0')": lambda m: m.cuda.streams.ExternalStream(0, "cuda:0"),
    # graphs
    "graph(None)": lambda m: m.cuda.graph(None),
    # nvtx, profiler
    "nvtx.range_push('a')": lambda m: m.cuda.nvtx.range_push("a"),
    "nvtx.range_pop()": lambda m: m.cuda.nvtx.range_pop(),
    "nvtx.mark('a')": lambda m: m.cuda.nvtx.mark("a"),
    "nvtx.range('a')": lambda m: m.cuda.nvtx.range("a"),
    "with nvtx.range('a')": lambda m: m.cuda.nvtx.range("a").__enter__(),
    "profiler.start()": lambda m: m.cuda.profiler.start(),
    "profiler.stop()": lambda m: m.cuda.profiler.stop(),
    "profiler.profile()": lambda m: m.cuda.profiler.profile(),
    "with profiler.profile()": lambda m: m.cuda.profiler.profile().__enter__(),
    # nccl, tunable, gds, green contexts
    "nccl.is_available([])": lambda m: m.cuda.nccl.is_available([]),
    "nccl.is_available([x])": lambda m: m.cuda.nccl.is_available([m.zeros(1)]),
    "nccl.SUM": lambda m: m.cuda.nccl.SUM,
    "tunable.mgpu_tune_gemm_in_file": lambda m: m.cuda.tunable.mgpu_tune_gemm_in_file("x", 1),
    "gds.GdsFile(missing file)": lambda m: m.cuda.gds.GdsFile("/nonexistent/ember.bin", 0),
    "gds.gds_register_buffer": lambda m: m.cuda.gds.gds_register_buffer(
        m.zeros(2).untyped_storage()
    ),
    "gds.gds_deregister_buffer": lambda m: m.cuda.gds.gds_deregister_buffer(
        m.zeros(2).untyped_storage()
    ),
    "green_contexts.SUPPORTED": lambda m: m.cuda.green_contexts.SUPPORTED,
    "GreenContext()": lambda m: m.cuda.GreenContext(),
    "GreenContext.create(num_sms=1)": lambda m: m.cuda.GreenContext.create(num_sms=1),
    "GreenContext.create(1)": lambda m: m.cuda.GreenContext.create(1),
    "GreenContext.max_workqueue_concurrency()": (
        lambda m: m.cuda.GreenContext.max_workqueue_concurrency()
    ),
    # exceptions
    "DeferredCudaCallError('x')": lambda m: str(m.cuda.DeferredCudaCallError("x")),
    "CudaError is a RuntimeError": lambda m: issubclass(m.cuda.CudaError, RuntimeError),
    "AcceleratorError": lambda m: issubclass(m.cuda.AcceleratorError, RuntimeError),
    "OutOfMemoryError": lambda m: issubclass(m.cuda.OutOfMemoryError, RuntimeError),
    # legacy types
    "FloatTensor(2)": lambda m: m.cuda.FloatTensor(2),
    "FloatTensor.dtype": lambda m: str(m.cuda.FloatTensor.dtype),
    "FloatTensor.is_cuda": lambda m: m.cuda.FloatTensor.is_cuda,
    "FloatTensor.is_sparse": lambda m: m.cuda.FloatTensor.is_sparse,
    "isinstance(x, FloatTensor)": lambda m: isinstance(m.zeros(2), m.cuda.FloatTensor),
    "isinstance(x, LongTensor)": lambda m: isinstance(m.zeros(2).long(), m.cuda.LongTensor),
    "FloatStorage(2)": lambda m: m.cuda.FloatStorage(2),
    "FloatStorage.dtype": lambda m: str(m.cuda.FloatStorage.dtype),
    "isinstance(storage, FloatStorage)": lambda m: isinstance(
        m.FloatStorage(2), m.cuda.FloatStorage
    ),
    "sparse.FloatTensor.is_sparse": lambda m: m.cuda.sparse.FloatTensor.is_sparse,
    "isinstance(x, sparse.FloatTensor)": lambda m: isinstance(
        m.zeros(2), m.cuda.sparse.FloatTensor
    ),
}

_LEGACY = (
    "FloatTensor", "DoubleTensor", "HalfTensor", "BFloat16Tensor", "LongTensor", "IntTensor",
    "ShortTensor", "CharTensor", "ByteTensor", "BoolTensor",
)  # fmt: skip
_STORAGES = (
    "DoubleStorage", "FloatStorage", "HalfStorage", "BFloat16Storage", "LongStorage",
    "IntStorage", "ShortStorage", "CharStorage", "ByteStorage", "BoolStorage",
    "ComplexFloatStorage", "ComplexDoubleStorage",
)  # fmt: skip
for _n in _LEGACY:
    CASES[f"{_n}([1])"] = lambda m, n=_n: getattr(m.cuda, n)([1])
for _n in _STORAGES:
    CASES[f"{_n}()"] = lambda m, n=_n: getattr(m.cuda, n)()
for _n in ember.cuda.sparse.__all__:
    CASES[f"sparse.{_n}()"] = lambda m, n=_n: getattr(m.cuda.sparse, n)()


def _plain(value):
    """A value in a form to compare across the libraries: containers by type and contents,
    other objects by their type's name."""
    if isinstance(value, (bool, int, float, str, type(None))):
        return value
    if isinstance(value, (list, tuple)):
        return type(value).__name__, [_plain(v) for v in value]
    if isinstance(value, dict):
        return type(value).__name__, [(k, _plain(v)) for k, v in value.items()]
    return "object", type(value).__name__


def _outcome(lib, case):
    """What a case gives, (value or exception type and message), and its FutureWarnings."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            got = ("value", _plain(case(lib)))
        except Exception as e:  # noqa: BLE001  (any exception is an outcome to compare)
            got = (type(e).__name__, str(e))
    # torch's TypedStorage deprecation (a UserWarning) is left out: ember warns it elsewhere
    return got, [str(w.message) for w in caught if issubclass(w.category, FutureWarning)]


@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")  # torch's GdsFile
@pytest.mark.parametrize("name", list(CASES))
def test_without_cuda_like_torch(name, no_cuda):
    assert _outcome(ember, CASES[name]) == _outcome(torch, CASES[name])


def test_deprecated_memory_names_warn_like_torch(no_cuda):
    (_, warned) = _outcome(ember, lambda m: m.cuda.max_memory_cached())
    assert warned == [
        "`torch.cuda.max_memory_cached` has been renamed to `torch.cuda.max_memory_reserved`"
    ]


def _libc() -> str:
    return ctypes.util.find_library("c") or "libc.so.6"


# torch's CPU build fails inside itself here: an AttributeError on torch._C (or a module stub),
# "Tried to instantiate dummy base class ...", or a TypeError from its dummy Stream base. ember
# raises the error a user can act on: (torch's failure, ember's exception type and message).
_DUMMY = "Tried to instantiate dummy base class"
_NVTX = "NVTX functions not installed. Are you sure you have a CUDA build?"
_GREEN = "PyTorch was not built with Green Context support!"
DEVIATIONS = {
    "memory_snapshot()": (
        lambda m: m.cuda.memory_snapshot(),
        ("AttributeError", ""),
        ("AssertionError", NOT_COMPILED),
    ),
    "reset_peak_memory_stats()": (
        lambda m: m.cuda.reset_peak_memory_stats(),
        ("AttributeError", ""),
        ("AssertionError", NOT_COMPILED),
    ),
    "reset_max_memory_allocated()": (
        lambda m: m.cuda.reset_max_memory_allocated(),
        ("AttributeError", ""),
        ("AssertionError", NOT_COMPILED),
    ),
    "reset_max_memory_cached()": (
        lambda m: m.cuda.reset_max_memory_cached(),
        ("AttributeError", ""),
        ("AssertionError", NOT_COMPILED),
    ),
    "reset_accumulated_memory_stats()": (
        lambda m: m.cuda.reset_accumulated_memory_stats(),
        ("AttributeError", ""),
        ("AssertionError", NOT_COMPILED),
    ),
    "reset_accumulated_host_memory_stats()": (
        lambda m: m.cuda.reset_accumulated_host_memory_stats(),
        ("AttributeError", ""),
        ("AssertionError", NOT_COMPILED),
    ),
    "reset_peak_host_memory_stats()": (
        lambda m: m.cuda.reset_peak_host_memory_stats(),
        ("AttributeError", ""),
        ("AssertionError", NOT_COMPILED),
    ),
    "caching_allocator_delete(0)": (
        lambda m: m.cuda.caching_allocator_delete(0),
        ("AttributeError", ""),
        ("AssertionError", NOT_COMPILED),
    ),
    "with caching_allocator_disabled()": (
        lambda m: m.cuda.caching_allocator_disabled().__enter__(),
        ("AttributeError", ""),
        ("AssertionError", NOT_COMPILED),
    ),
    "get_allocator_backend()": (
        lambda m: m.cuda.get_allocator_backend(),
        ("AttributeError", ""),
        ("AssertionError", NOT_COMPILED),
    ),
    "change_current_allocator(None)": (
        lambda m: m.cuda.change_current_allocator(None),
        ("AttributeError", ""),
        ("AssertionError", NOT_COMPILED),
    ),
    "CUDAPluggableAllocator(libc)": (
        lambda m: m.cuda.CUDAPluggableAllocator(_libc(), "malloc", "free"),
        ("AttributeError", ""),
        ("AssertionError", NOT_COMPILED),
    ),
    "MemPool()": (
        lambda m: m.cuda.MemPool(),
        ("RuntimeError", _DUMMY),
        ("RuntimeError", "torch.cuda.MemPool requires CUDA support"),
    ),
    "is_current_stream_capturing()": (
        lambda m: m.cuda.is_current_stream_capturing(),
        ("RuntimeError", _DUMMY),
        ("RuntimeError", "torch.cuda.is_current_stream_capturing requires CUDA support"),
    ),
    "CUDAGraph()": (
        lambda m: m.cuda.CUDAGraph(),
        ("RuntimeError", _DUMMY),
        ("RuntimeError", "torch.cuda.CUDAGraph requires CUDA support"),
    ),
    "graph_pool_handle()": (
        lambda m: m.cuda.graph_pool_handle(),
        ("RuntimeError", _DUMMY),
        ("RuntimeError", "torch.cuda.graph_pool_handle requires CUDA support"),
    ),
    "make_graphed_callables(f, (x,))": (
        lambda m: m.cuda.make_graphed_callables(lambda x: x, (m.zeros(1),)),
        ("RuntimeError", _DUMMY),
        ("RuntimeError", "torch.cuda.CUDAGraph requires CUDA support"),
    ),
    "ExternalStream(0)": (
        lambda m: m.cuda.ExternalStream(0),
        ("TypeError", ""),
        ("RuntimeError", "PyTorch was compiled without CUDA support"),
    ),
    "CudaError(2)": (
        lambda m: m.cuda.CudaError(2),
        ("AttributeError", ""),
        ("AssertionError", NOT_COMPILED),
    ),
    "nvtx.range_start('a')": (
        lambda m: m.cuda.nvtx.range_start("a"),
        ("AttributeError", ""),
        ("RuntimeError", _NVTX),
    ),
    "nvtx.range_end(0)": (
        lambda m: m.cuda.nvtx.range_end(0),
        ("AttributeError", ""),
        ("RuntimeError", _NVTX),
    ),
    "GreenContext().set_context()": (
        lambda m: m.cuda.GreenContext().set_context(),
        ("AttributeError", ""),
        ("RuntimeError", _GREEN),
    ),
    "GreenContext().pop_context()": (
        lambda m: m.cuda.GreenContext().pop_context(),
        ("AttributeError", ""),
        ("RuntimeError", _GREEN),
    ),
    "nccl.version()": (
        lambda m: m.cuda.nccl.version(),
        ("AttributeError", ""),
        ("AssertionError", NOT_COMPILED),
    ),
    "nccl.unique_id()": (
        lambda m: m.cuda.nccl.unique_id(),
        ("AttributeError", ""),
        ("AssertionError", NOT_COMPILED),
    ),
}
DEVIATIONS["set_device(0)"] = (
    lambda m: m.cuda.set_device(0),
    ("AttributeError", ""),
    ("AssertionError", NOT_COMPILED),
)
for _n in ("all_reduce", "reduce", "broadcast"):
    DEVIATIONS[f"nccl.{_n}([x])"] = (
        lambda m, n=_n: getattr(m.cuda.nccl, n)([m.zeros(1)]),
        ("AttributeError", ""),
        ("AssertionError", NOT_COMPILED),
    )
for _n in ("all_gather", "reduce_scatter"):
    DEVIATIONS[f"nccl.{_n}([x], [y])"] = (
        lambda m, n=_n: getattr(m.cuda.nccl, n)([m.zeros(1)], [m.zeros(1)]),
        ("AttributeError", ""),
        ("AssertionError", NOT_COMPILED),
    )
_TUNABLE_CALLS = {
    "enable": (True,), "is_enabled": (), "tuning_enable": (True,), "tuning_is_enabled": (),
    "record_untuned_enable": (True,), "record_untuned_is_enabled": (),
    "set_max_tuning_duration": (10,), "get_max_tuning_duration": (),
    "set_max_tuning_iterations": (10,), "get_max_tuning_iterations": (),
    "set_filename": ("r.csv",), "get_filename": (), "get_results": (), "get_validators": (),
    "read_file": (), "tune_gemm_in_file": ("x",), "set_rotating_buffer_size": (1,),
    "get_rotating_buffer_size": (), "set_numerical_check_tolerances": (True,),
}  # fmt: skip
for _n, _args in _TUNABLE_CALLS.items():
    DEVIATIONS[f"tunable.{_n}"] = (
        lambda m, n=_n, a=_args: getattr(m.cuda.tunable, n)(*a),
        ("AttributeError", ""),
        ("AssertionError", NOT_COMPILED),
    )


@pytest.mark.parametrize("name", list(DEVIATIONS))
def test_without_cuda_clear_where_torchs_cpu_build_fails_inside(name, no_cuda):
    case, (torch_type, torch_start), ember_expected = DEVIATIONS[name]
    (t_kind, t_message), _ = _outcome(torch, case)
    assert t_kind == torch_type and t_message.startswith(torch_start), (t_kind, t_message)
    (kind, message), _ = _outcome(ember, case)
    assert (kind, message) == ember_expected


def test_synchronize_stays_a_no_op_without_cuda(no_cuda):
    # a deliberate difference: torch's CPU build raises here; ember's documented no-op stays
    assert _outcome(torch, lambda m: m.cuda.synchronize())[0] == ("AssertionError", NOT_COMPILED)
    assert _outcome(ember, lambda m: m.cuda.synchronize())[0] == ("value", None)


def test_tunable_covered_whole():
    assert set(_TUNABLE_CALLS) | {"mgpu_tune_gemm_in_file"} == set(torch.cuda.tunable.__all__)


def test_device_alias_accepts_what_torchs_does():
    args = typing.get_args(ember.cuda.Device)
    assert ember.device in args and str in args and int in args and type(None) in args
    assert len(args) == len(typing.get_args(torch.cuda.Device))


def test_state_round_trip_is_a_no_op_without_cuda(no_cuda):
    # Hugging Face's Trainer: save the CUDA states in a checkpoint, restore them on resume
    states = ember.cuda.random.get_rng_state_all()
    ember.cuda.random.set_rng_state_all(states)
    assert states == [] and ember.cuda.default_generators == ()
    assert ember.cuda.memory_allocated() == 0 and ember.cuda.max_memory_allocated() == 0
    assert ember.cuda.memory_stats() == OrderedDict() and type(ember.cuda.memory_stats()) is (
        OrderedDict
    )


# --- with a GPU: the paths the CuPy stand-in carries -----------------------------------------
def test_rng_state_replays_the_numbers_drawn_after_it(fake_gpu):
    c = ember.cuda
    assert len(c.default_generators) == 2 and len(c.get_rng_state_all()) == 2
    c.manual_seed(3)
    assert c.initial_seed() == 3
    state = c.get_rng_state()
    assert state.dtype == ember.uint8 and tuple(state.shape) == (16,) and not state.is_cuda
    assert np.frombuffer(state.numpy().tobytes(), "<u8").tolist() == [3, 1]
    x = ember.ones(64, device="cuda")
    first = ember.nn.functional.dropout(x, 0.5).cpu().numpy()
    c.set_rng_state(state)
    again = ember.nn.functional.dropout(x, 0.5).cpu().numpy()
    np.testing.assert_array_equal(first, again)
    c.set_rng_state_all(c.get_rng_state_all())  # every GPU, in order
    c.random.manual_seed_all(5)
    assert [g.initial_seed() for g in c.default_generators] == [5, 5]
    with pytest.raises(TypeError, match="RNG state must be a torch.ByteTensor"):
        c.set_rng_state(ember.zeros(16))
    with pytest.raises(RuntimeError, match="16 bytes"):
        c.set_rng_state(ember.zeros(8, dtype=ember.uint8))


def test_a_seed_reaches_every_gpu(fake_gpu):
    ember.manual_seed(7)  # ember.manual_seed seeds the GPUs once CUDA is in use, as torch
    assert [ember.cuda.default_generators[i].initial_seed() for i in (0, 1)] == [7, 7]
    ember.cuda.seed_all()
    seeds = {g.initial_seed() for g in ember.cuda.default_generators}
    assert len(seeds) == 1 and seeds != {7}


def test_memory_figures_from_the_pool(fake_gpu):
    c = ember.cuda  # the stand-in's pool: 1024 bytes used of 4096 held
    stats = c.memory_stats()
    assert list(stats) == sorted(stats) and isinstance(stats, OrderedDict)
    assert stats["allocated_bytes.all.current"] == c.memory_allocated() == 1024
    assert stats["reserved_bytes.all.current"] == c.memory_reserved() == 4096
    assert stats["allocated_bytes.all.peak"] == c.max_memory_allocated() == 1024
    assert c.memory_stats_as_nested_dict()["allocated_bytes"]["all"]["current"] == 1024
    summary = c.memory_summary()
    assert "device 0" in summary and "1.0 KiB" in summary and "4.0 KiB" in summary
    with pytest.warns(FutureWarning, match="renamed to `torch.cuda.max_memory_reserved`"):
        assert c.max_memory_cached() == 4096
    with pytest.warns(FutureWarning, match="resets /all/ peak memory stats"):
        c.reset_max_memory_cached()
    c.reset_accumulated_memory_stats()
    c.reset_peak_host_memory_stats()
    assert c.host_memory_stats() == OrderedDict() and c.memory_snapshot() == []
    assert c.get_allocator_backend() == "native"
    with pytest.raises(ValueError, match="Expected a cuda device, but got: cpu"):
        c.memory_stats("cpu")


def test_raw_allocations_and_pool_switch(fake_gpu, monkeypatch):
    class Block:
        ptr = 0x7F00

    monkeypatch.setattr(fake_gpu.cuda, "alloc", lambda size: Block(), raising=False)
    chosen = []
    monkeypatch.setattr(fake_gpu.cuda, "set_allocator", chosen.append, raising=False)
    pool_malloc = object()
    monkeypatch.setattr(fake_gpu.get_default_memory_pool(), "malloc", pool_malloc, False)
    c = ember.cuda
    ptr = c.caching_allocator_alloc(256)
    assert ptr == 0x7F00
    c.caching_allocator_delete(ptr)
    with pytest.raises(RuntimeError, match="invalid device pointer: 0x7f00"):
        c.caching_allocator_delete(ptr)
    with pytest.raises(TypeError, match="Invalid type for stream argument"):
        c.caching_allocator_alloc(16, stream="x")
    with c.caching_allocator_disabled():
        assert chosen == [None]  # straight from the driver inside
    assert chosen == [None, pool_malloc]  # the pool again after


def test_memory_fraction_is_the_pools_limit(fake_gpu, monkeypatch):
    limit = {}
    pool = fake_gpu.get_default_memory_pool()
    monkeypatch.setattr(
        pool, "set_limit", lambda fraction: limit.update(n=int(fraction * 80 * 2**30)), False
    )
    monkeypatch.setattr(pool, "get_limit", lambda: limit.get("n", 0), False)
    c = ember.cuda
    assert c.get_per_process_memory_fraction() == 1.0
    c.set_per_process_memory_fraction(0.25)
    assert c.get_per_process_memory_fraction() == 0.25
    with pytest.raises(TypeError, match="must be `float`"):
        c.set_per_process_memory_fraction(1)
    with pytest.raises(ValueError, match="Allowed range: 0~1"):
        c.set_per_process_memory_fraction(1.5)


def test_capabilities_of_a_compute_9_gpu(fake_gpu):
    c = ember.cuda
    assert c.is_bf16_supported() and c.is_bf16_supported(including_emulation=False)
    assert c.is_tf32_supported()
    assert c.get_arch_list() == ["sm_90"]
    assert c.get_gencode_flags() == "-gencode compute=compute_90,code=sm_90"
    c.ipc_collect()
    assert c.get_sync_debug_mode() == 0
    c.set_sync_debug_mode("error")
    assert c.get_sync_debug_mode() == 2
    with pytest.raises(RuntimeError, match="invalid value of debug_mode"):
        c.set_sync_debug_mode("loud")
    with pytest.raises(AssertionError, match="Invalid peer device id"):
        c.can_device_access_peer(0, 5)


def test_legacy_types_on_the_gpu(fake_gpu):
    c = ember.cuda
    t = c.FloatTensor(2, 3)
    assert t.is_cuda and t.dtype == ember.float32 and tuple(t.shape) == (2, 3)
    assert isinstance(t, c.FloatTensor) and not isinstance(t, c.DoubleTensor)
    assert not isinstance(t.cpu(), c.FloatTensor) and isinstance(t.cpu(), ember.FloatTensor)
    assert c.LongTensor([1, 2]).tolist() == [1, 2]
    moved = ember.tensor([1.5, 2.5]).type(c.HalfTensor)  # the class form, as the name form
    assert moved.is_cuda and moved.dtype == ember.float16 and moved.cpu().tolist() == [1.5, 2.5]
    s = c.FloatStorage(3)
    assert s.device.type == "cuda" and s.size() == 3 and isinstance(s, c.FloatStorage)
    assert not isinstance(ember.FloatStorage(3), c.FloatStorage)
    with pytest.raises(NotImplementedError, match="torch.cuda.sparse.FloatTensor"):
        c.sparse.FloatTensor(ember.tensor([[0, 1]]), ember.tensor([1.0, 2.0]), (3,))


def test_stream_context_and_graphs(fake_gpu, monkeypatch):
    c = ember.cuda
    s = c.Stream()
    with c.StreamContext(s):
        assert c.current_stream() is s
    assert c.current_stream() is not s
    with c.stream(s):
        assert c.current_stream() is s
    for make in (c.CUDAGraph, c.graph_pool_handle, lambda: c.graph(None)):
        with pytest.raises(NotImplementedError, match="ember does not implement torch.cuda"):
            make()


def test_mem_pool_routes_allocations(fake_gpu, monkeypatch):
    class Pool:  # CuPy's MemoryPool
        def malloc(self, size):
            return size

    routed = []

    @contextlib.contextmanager
    def using_allocator(allocator):
        routed.append(allocator)
        yield

    monkeypatch.setattr(fake_gpu.cuda, "MemoryPool", Pool, raising=False)
    monkeypatch.setattr(fake_gpu.cuda, "using_allocator", using_allocator, raising=False)
    c = ember.cuda
    pool = c.MemPool()
    assert pool.id[0] == 0 and pool.id != c.MemPool().id
    assert pool.use_count() == 1 and pool.snapshot() == []
    with c.use_mem_pool(pool):
        assert pool.use_count() == 2 and routed == [pool._pool.malloc]
    assert pool.use_count() == 1
