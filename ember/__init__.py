"""ember: a deep learning framework with the PyTorch API, on NumPy (CPU) and CuPy (CUDA).

``import ember as torch`` runs code written for torch's top-level namespace.
"""

# ruff: noqa: I001  (the import order below is deliberate: Tensor gets its methods first)
from __future__ import annotations

import math as _math
import sys as _sys
import warnings as _warnings

from ._backend.cpu import runtime as _rt  # noqa: E402  (before anything imports NumPy)

_rt.configure()

__version__ = "2.13.0+ember.0.1.0"  # compares like torch's version for user checks
ember_version = "0.1.0"

from . import _device_ctx  # noqa: E402,F401
from .dtypes import (  # noqa: E402,F401
    bfloat16,
    bit,
    bits1x8,
    bits2x4,
    bits4x2,
    bits8,
    bits16,
    chalf,
    complex32,
    float4_e2m1fn_x2,
    float8_e4m3fn,
    float8_e4m3fnuz,
    float8_e5m2,
    float8_e5m2fnuz,
    float8_e8m0fnu,
    int1,
    int2,
    int3,
    int4,
    int5,
    int6,
    int7,
    qint8,
    qint32,
    quint2x4,
    quint4x2,
    quint8,
    uint1,
    uint2,
    uint3,
    uint4,
    uint5,
    uint6,
    uint7,
    bool_ as bool,
    cdouble,
    cfloat,
    complex64,
    complex128,
    double,
    dtype,
    finfo,
    float,
    float16,
    float32,
    float64,
    get_default_dtype,
    half,
    iinfo,
    int,
    int8,
    int16,
    int32,
    int64,
    long,
    promote_types,
    set_default_dtype,
    short,
    uint8,
    uint16,
    uint32,
    uint64,
)
from .device import device  # noqa: E402,F401
from .device import device as _device_type  # noqa: E402
from .tensor import Size, Tensor, result_type  # noqa: E402,F401
from . import _tensor_methods  # noqa: E402

_tensor_methods.install(Tensor)  # the one place that attaches methods and operators to Tensor
from .autograd.grad_mode import (  # noqa: E402,F401
    enable_grad,
    inference_mode,
    is_grad_enabled,
    is_inference_mode_enabled,
    no_grad,
    set_grad_enabled,
)
from .ops.arith import *  # noqa: E402,F401,F403
from .ops.binary_math import *  # noqa: E402,F401,F403
from .ops.compare import *  # noqa: E402,F401,F403
from .ops.creation import *  # noqa: E402,F401,F403
from .ops.gather import *  # noqa: E402,F401,F403
from .ops.indexing import *  # noqa: E402,F401,F403
from .ops.linalg import *  # noqa: E402,F401,F403
from .ops.linalg_decomp import *  # noqa: E402,F401,F403
from .ops.linalg_func import *  # noqa: E402,F401,F403
from .ops.linalg_lowrank import *  # noqa: E402,F401,F403
from .ops.einsum import einsum  # noqa: E402,F401
from .ops.reduction import *  # noqa: E402,F401,F403
from .ops.cumulative import (  # noqa: E402,F401
    cummax,
    cummin,
    cumprod,
    cumsum,
    cumulative_trapezoid,
    logcumsumexp,
    trapezoid,
    trapz,
)
from .ops.view import *  # noqa: E402,F401,F403
from .ops.join import *  # noqa: E402,F401,F403
from .ops.rearrange import *  # noqa: E402,F401,F403
from .ops.sorting import *  # noqa: E402,F401,F403
from .ops.unary import *  # noqa: E402,F401,F403
from .ops.complex import (  # noqa: E402,F401
    complex,
    imag,
    polar,
    real,
    view_as_complex,
    view_as_complex_copy,
    view_as_real,
    view_as_real_copy,
)
from .ops.special import *  # noqa: E402,F401,F403
from .ops.window import *  # noqa: E402,F401,F403
from .ops.spectral import istft, stft  # noqa: E402,F401
from .ops.activation import log_softmax, softmax  # noqa: E402,F401
from .ops.dropout import dropout  # noqa: E402,F401
from .ops.random_gamma import *  # noqa: E402,F401,F403
from .random import *  # noqa: E402,F401,F403
from .random import default_generator  # noqa: E402,F401
from .ops.copy import copy_, fill, zero_  # noqa: E402,F401
from .ops.padding import constant_pad_nd  # noqa: E402,F401
from .ops.resample import grid_sampler, grid_sampler_2d, grid_sampler_3d  # noqa: E402,F401
from .ops.sparse import sparse_coo_tensor, spmm  # noqa: E402,F401
from .ops.sparse_compressed import (  # noqa: E402,F401
    sparse_bsc_tensor,
    sparse_bsr_tensor,
    sparse_compressed_tensor,
    sparse_csc_tensor,
    sparse_csr_tensor,
)
from ._tensor_methods import clone, compile, detach, is_nonzero, typename  # noqa: E402,F401
from .storage import *  # noqa: E402,F401,F403
from .storage import TypedStorage, UntypedStorage, from_file  # noqa: E402,F401
from ._tensor_str import get_printoptions, set_printoptions  # noqa: E402,F401
from .dtypes import (  # noqa: E402,F401
    can_cast,
    channels_last,
    channels_last_3d,
    contiguous_format,
    layout,
    memory_format,
    preserve_format,
    sparse_bsc,
    sparse_bsr,
    sparse_coo,
    sparse_csc,
    sparse_csr,
    strided,
)
from ._backend.cpu.runtime import set_flush_denormal  # noqa: E402,F401
from ._backend.cpu.threads import get_num_threads, set_num_threads  # noqa: E402,F401
from ._backend.determinism import (  # noqa: E402,F401
    are_deterministic_algorithms_enabled,
    get_deterministic_debug_mode,
    is_deterministic_algorithms_warn_only_enabled,
    set_deterministic_debug_mode,
    use_deterministic_algorithms,
)
from ._settings import (  # noqa: E402,F401
    get_float32_matmul_precision,
    get_num_interop_threads,
    is_anomaly_check_nan_enabled,
    is_anomaly_enabled,
    is_warn_always_enabled,
    set_anomaly_enabled,
    set_float32_matmul_precision,
    set_num_interop_threads,
    set_warn_always,
)

inf = _math.inf
nan = _math.nan
pi = _math.pi
e = _math.e
newaxis = None
from . import autograd, cuda  # noqa: E402,F401
from .autograd import functional as _autograd_functional  # noqa: E402  (above the ops)
from .autograd import profiler as _autograd_profiler  # noqa: E402  (above ember.profiler)

del _autograd_functional, _autograd_profiler  # ember.autograd's, not top-level names


from . import accelerator, backends, torch_version, version  # noqa: E402,F401
from .stream import Event, Stream  # noqa: E402,F401  (torch.Stream, torch.Event)
from ._torch_alias import top_level_getattr as _top_level_getattr  # noqa: E402
from .torch_version import __version__  # noqa: E402,F401,F811


from . import distributed  # noqa: E402,F401
from . import utils  # noqa: E402,F401
from . import return_types, types  # noqa: E402,F401  (attributes after import, as torch's)
from .serialization import load, save  # noqa: E402,F401
from . import serialization, safetensors  # noqa: E402,F401
from . import nn, optim  # noqa: E402,F401
from . import futures, jit  # noqa: E402,F401
from .futures import Future  # noqa: E402,F401
from .jit import fork, wait  # noqa: E402,F401
from ._tensor_errors import AcceleratorError, OutOfMemoryError  # noqa: E402,F401
from . import amp, cpu  # noqa: E402,F401
from .amp import GradScaler, autocast  # noqa: E402,F401
from .amp.autocast_mode import (  # noqa: E402,F401
    autocast_decrement_nesting,
    autocast_increment_nesting,
    clear_autocast_cache,
    get_autocast_cpu_dtype,
    get_autocast_dtype,
    get_autocast_gpu_dtype,
    is_autocast_cache_enabled,
    is_autocast_cpu_enabled,
    is_autocast_enabled,
    set_autocast_cache_enabled,
    set_autocast_cpu_dtype,
    set_autocast_cpu_enabled,
    set_autocast_dtype,
    set_autocast_enabled,
    set_autocast_gpu_dtype,
)
from . import sparse  # noqa: E402,F401
from . import library  # noqa: E402,F401  (torch.library; torch.ops is ember.ops)
from .func import vmap  # noqa: E402,F401  (torch.vmap is torch.func.vmap)
from ._top_level_forms import *  # noqa: E402,F401,F403
from ._sym import *  # noqa: E402,F401,F403
from ._control_flow import *  # noqa: E402,F401,F403


def is_tensor(obj) -> bool:
    """True for ember tensors (and Parameters)."""
    return isinstance(obj, Tensor)


def is_floating_point(input: Tensor) -> bool:
    return input.is_floating_point()


def is_complex(input: Tensor) -> bool:
    return input.is_complex()


def numel(input: Tensor):
    return input.numel()


def set_default_device(device) -> None:  # noqa: F811
    """Only 'cpu' and 'cuda' devices; constructors without device= use it."""
    _device_ctx.set_default(device)


def get_default_device():
    return _device_ctx.current()


def is_storage(obj) -> bool:
    """Whether ``obj`` is a storage (UntypedStorage, TypedStorage or a legacy typed one)."""
    return isinstance(obj, (UntypedStorage, TypedStorage))


def is_distributed(input: Tensor) -> bool:
    """False: no ember tensor is distributed, as torch.is_distributed for dense tensors."""
    return False


def get_device_module(device=None):  # noqa: F811  (torch's parameter name)
    """The module of a device type (``ember.cpu``, ``ember.cuda``), or of the current
    accelerator (the CPU's without one), as torch.get_device_module."""
    if device is None:
        return cuda if cuda.is_available() else cpu
    kind = device.type if isinstance(device, _device_type) else str(device)
    return getattr(_this_module, _device_type(kind).type)


def set_default_tensor_type(t) -> None:
    """Make a legacy tensor type's dtype (``ember.DoubleTensor`` or ``'torch.DoubleTensor'``) the
    default, as the deprecated torch.set_default_tensor_type (which warns); a
    ``torch.cuda.*Tensor`` also makes CUDA the default device."""
    _warnings.warn(
        "torch.set_default_tensor_type() is deprecated as of PyTorch 2.1, please use "
        "torch.set_default_dtype() and torch.set_default_device() as alternatives.",
        UserWarning,
        stacklevel=2,
    )
    on_cuda = False
    if isinstance(t, str):
        module, _, name = t.rpartition(".")
        if module not in ("torch", "torch.cuda"):
            raise ModuleNotFoundError(f"No module named '{module or t}'")
        t, on_cuda = getattr(_this_module, name), module == "torch.cuda"
    set_default_dtype(t.dtype)
    if on_cuda:
        set_default_device("cuda")


_this_module = _sys.modules[__name__]


# torch's build flags: NumPy's linalg is LAPACK and ember has FFTs; NumPy's BLAS is not MKL, and
# ember starts no OpenMP threads (as ``backends.openmp.is_available()``)
has_lapack: bool = True
has_spectral: bool = True
has_mkl: bool = False
has_openmp: bool = backends.openmp.is_available()

# the build flags torch deprecated: read through ``__getattr__``, with torch's warning
_DEPRECATED_FLAGS = {
    "has_mps": ("backends.mps.is_built", backends.mps.is_built),
    "has_cuda": ("backends.cuda.is_built", backends.cuda.is_built),
    "has_cudnn": ("backends.cudnn.is_available", backends.cudnn.is_available),
    "has_mkldnn": ("backends.mkldnn.is_available", backends.mkldnn.is_available),
}


def __getattr__(name: str):
    """Unknown names raise an error naming the torch API that ember lacks (or import lazily);
    torch's deprecated ``has_cuda``-style flags warn as torch's do."""
    flag = _DEPRECATED_FLAGS.get(name)
    if flag is not None:
        _warnings.warn(
            f"'{name}' is deprecated, please use 'torch.{flag[0]}()'", UserWarning, stacklevel=2
        )
        return flag[1]()
    return _top_level_getattr(name)


# `from ember import *` gives what torch's gives: the functions, classes, dtypes and constants,
# not the submodules (``random`` and ``types`` would shadow the standard library's modules in
# the importing program, as torch's ``__all__`` avoids) nor this file's ``annotations``
__all__ = sorted(
    n
    for n, v in list(globals().items())
    if n[0] != "_" and not isinstance(v, type(_sys)) and n != "annotations"
)
