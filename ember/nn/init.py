"""nn.init: in-place weight initialisers (no graph is recorded), as ``torch.nn.init``."""

from __future__ import annotations

import math
import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np

from .._backend.xp import is_cpu, xp_of
from .._torch_alias import module_getattr as _module_getattr
from ..autograd.grad_mode import no_grad
from ..ops.compare import where
from ..random import randperm
from ..tensor import Tensor, _wrap

__all__ = [
    "calculate_gain",
    "uniform_",
    "normal_",
    "trunc_normal_",
    "constant_",
    "ones_",
    "zeros_",
    "eye_",
    "dirac_",
    "xavier_uniform_",
    "xavier_normal_",
    "kaiming_uniform_",
    "kaiming_normal_",
    "orthogonal_",
    "sparse_",
]


# nn.utils.skip_init builds a module with every initialiser here a no-op (torch builds it on the
# meta device, where they do nothing); per thread, so other threads still initialise
_skip = threading.local()


@contextmanager
def _skipped() -> Iterator[None]:
    """Within: the initialisers leave their tensors as they are (nn.utils.skip_init)."""
    before = getattr(_skip, "on", False)
    _skip.on = True
    try:
        yield
    finally:
        _skip.on = before


def _fill(t: Tensor, arr) -> Tensor:
    """Write ``arr`` into t's memory (t keeps its identity, views see it)."""
    if getattr(_skip, "on", False):
        return t
    dst = t._data
    if not is_cpu(dst):
        arr = xp_of(dst).asarray(arr)
    dst[...] = arr
    t._bump()
    return t


def calculate_gain(nonlinearity: str, param: float | None = None) -> float:
    """The recommended gain for a nonlinearity (torch's table)."""
    linear = [
        "linear",
        "conv1d",
        "conv2d",
        "conv3d",
        "conv_transpose1d",
        "conv_transpose2d",
        "conv_transpose3d",
    ]
    if nonlinearity in linear or nonlinearity == "sigmoid":
        return 1
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        if param is None:
            slope = 0.01
        elif not isinstance(param, bool) and isinstance(param, (int, float)):
            slope = param
        else:
            raise ValueError(f"negative_slope {param} not a valid number")
        return math.sqrt(2.0 / (1 + slope**2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(f"Unsupported nonlinearity {nonlinearity}")


def _calculate_fan_in_and_fan_out(tensor: Tensor) -> tuple[int, int]:
    """(fan_in, fan_out) of a weight: dims 1 and 0 times the receptive field size."""
    shape = tensor.shape
    if len(shape) < 2:
        raise ValueError(
            "Fan in and fan out can not be computed for tensor with fewer than 2 dimensions"
        )
    rf = 1
    for s in shape[2:]:
        rf *= s
    return shape[1] * rf, shape[0] * rf


def _calculate_correct_fan(tensor: Tensor, mode: str) -> int:
    mode = mode.lower()
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"Mode {mode} not supported, please use one of ['fan_in', 'fan_out']")
    fi, fo = _calculate_fan_in_and_fan_out(tensor)
    return fi if mode == "fan_in" else fo


def uniform_(tensor: Tensor, a: float = 0.0, b: float = 1.0, generator=None) -> Tensor:
    """Fill with U(a, b), drawn as torch draws it (``tensor.uniform_``: the same stream)."""
    if getattr(_skip, "on", False):
        return tensor
    with no_grad():
        return tensor.uniform_(a, b, generator=generator)


def normal_(tensor: Tensor, mean: float = 0.0, std: float = 1.0, generator=None) -> Tensor:
    """Fill with N(mean, std^2), drawn as torch draws it (``tensor.normal_``)."""
    if getattr(_skip, "on", False):
        return tensor
    with no_grad():
        return tensor.normal_(mean, std, generator=generator)


def _buffer_like(t: Tensor) -> Tensor:
    """An uninitialised tensor laid out as torch's ``empty_like`` lays it out (dense, in t's axis
    order, as NumPy's ``empty_like``), so a sampler writes its draws in torch's order."""
    return _wrap(xp_of(t._data).empty_like(t._data))


def _log_density_excess(x: Tensor, mean: float, std: float, log_peak: float) -> Tensor:
    """In place: -0.5 * ((x - mean) / std)^2 - log_peak, one rounding per step in x's dtype
    (torch's order of operations, so accept/reject decisions agree)."""
    return x.sub_(mean).div_(std).pow_(2).mul_(-0.5).sub_(log_peak)


def trunc_normal_(
    tensor: Tensor,
    mean: float = 0.0,
    std: float = 1.0,
    a: float = -2.0,
    b: float = 2.0,
    generator=None,
) -> Tensor:
    """Fill with N(mean, std^2) truncated to [a, b], as torch 2.13 samples it.

    When [a, b] holds more than 30% of the mass: normal draws, out-of-range ones redrawn (a
    full-size ``normal_`` per round) until all fit; otherwise rejection sampling from U(a, b)
    against the density's peak. The same draws in the same order as torch, so the values
    agree for the same seed.
    """
    if getattr(_skip, "on", False):
        return tensor

    def cdf(x: float) -> float:
        return (1.0 + math.erf(x / math.sqrt(2.0))) / 2.0

    if (mean < a - 2 * std) or (mean > b + 2 * std):
        warnings.warn(
            "mean is more than 2 std from [a, b] in nn.init.trunc_normal_. "
            "The distribution of values may be incorrect.",
            stacklevel=2,
        )
    with no_grad():
        if cdf((b - mean) / std) - cdf((a - mean) / std) > 0.3:
            # the bounds as the tensor's dtype holds them: the test is on stored values
            lo = tensor.new_tensor(a, device="cpu").item()
            hi = tensor.new_tensor(b, device="cpu").item()
            result = tensor.normal_(mean, std, generator=generator)
            while True:
                out = (result < lo) | (result > hi)
                if not out.any():
                    break
                redraw = _buffer_like(tensor).normal_(mean, std, generator=generator)
                result = where(out, redraw, result)
            if result is not tensor:
                tensor.copy_(result)
            return tensor
        log_peak = -0.5 * ((max(a, min(mean, b)) - mean) / std) ** 2
        cand = _buffer_like(tensor)
        accept = _buffer_like(tensor)
        tensor.uniform_(a, b, generator=generator)
        cand.copy_(tensor)
        _log_density_excess(cand, mean, std, log_peak)
        pending = accept.uniform_(generator=generator).log_().gt(cand)
        if not pending.any():
            return tensor
        result = tensor
        while True:
            cand.uniform_(a, b, generator=generator)
            result = where(pending, cand, result)
            _log_density_excess(cand, mean, std, log_peak)
            retry = accept.uniform_(generator=generator).log_().gt(cand)
            pending = where(pending, retry, pending)
            if not pending.any():
                break
        tensor.copy_(result)
        return tensor


def constant_(tensor: Tensor, val: float) -> Tensor:
    """Fill with a constant."""
    return _fill(tensor, val)


def ones_(tensor: Tensor) -> Tensor:
    """Fill with ones."""
    return _fill(tensor, 1)


def zeros_(tensor: Tensor) -> Tensor:
    """Fill with zeros."""
    return _fill(tensor, 0)


def eye_(tensor: Tensor) -> Tensor:
    """Fill a 2-d tensor with the identity."""
    if tensor.ndim != 2:
        raise ValueError("Only tensors with 2 dimensions are supported")
    return _fill(tensor, np.eye(*tensor._data.shape))


def dirac_(tensor: Tensor, groups: int = 1) -> Tensor:
    """Fill a {3,4,5}-d conv weight with the Dirac delta (identity convolution)."""
    d = tensor.ndim
    if d not in (3, 4, 5):
        raise ValueError("Only tensors with 3, 4, or 5 dimensions are supported")
    sizes = tensor._data.shape
    if sizes[0] % groups != 0:
        raise ValueError("dim 0 must be divisible by groups")
    out_per = sizes[0] // groups
    n = min(out_per, sizes[1])
    arr = np.zeros(sizes)
    for g in range(groups):
        for k in range(n):
            idx = (g * out_per + k, k) + tuple(s // 2 for s in sizes[2:])
            arr[idx] = 1
    return _fill(tensor, arr)


def xavier_uniform_(tensor: Tensor, gain: float = 1.0, generator=None) -> Tensor:
    """Glorot uniform: U(-a, a), a = gain * sqrt(6 / (fan_in + fan_out))."""
    fi, fo = _calculate_fan_in_and_fan_out(tensor)
    std = gain * math.sqrt(2.0 / float(fi + fo))
    a = math.sqrt(3.0) * std
    return uniform_(tensor, -a, a, generator)


def xavier_normal_(tensor: Tensor, gain: float = 1.0, generator=None) -> Tensor:
    """Glorot normal: N(0, gain^2 * 2 / (fan_in + fan_out))."""
    fi, fo = _calculate_fan_in_and_fan_out(tensor)
    return normal_(tensor, 0.0, gain * math.sqrt(2.0 / float(fi + fo)), generator)


def kaiming_uniform_(
    tensor: Tensor,
    a: float = 0,
    mode: str = "fan_in",
    nonlinearity: str = "leaky_relu",
    generator=None,
) -> Tensor:
    """He uniform: U(-b, b), b = gain * sqrt(3 / fan)."""
    if 0 in tensor.shape:
        warnings.warn("Initializing zero-element tensors is a no-op", stacklevel=2)
        return tensor
    fan = _calculate_correct_fan(tensor, mode)
    # torch's order of float operations: the bound must round to the same double
    std = calculate_gain(nonlinearity, a) / math.sqrt(fan)
    bound = math.sqrt(3.0) * std
    return uniform_(tensor, -bound, bound, generator)


def kaiming_normal_(
    tensor: Tensor,
    a: float = 0,
    mode: str = "fan_in",
    nonlinearity: str = "leaky_relu",
    generator=None,
) -> Tensor:
    """He normal: N(0, gain^2 / fan)."""
    if 0 in tensor.shape:
        warnings.warn("Initializing zero-element tensors is a no-op", stacklevel=2)
        return tensor
    fan = _calculate_correct_fan(tensor, mode)
    return normal_(tensor, 0, calculate_gain(nonlinearity, a) / math.sqrt(fan), generator)


def orthogonal_(tensor: Tensor, gain: float = 1, generator=None) -> Tensor:
    """A (semi-)orthogonal matrix: the Q of the QR decomposition of a (rows, cols) normal
    sample (transposed when wide), its columns' signs fixed by R's diagonal, times gain.

    The sample is torch's (the same ``normal_`` draws); the QR runs in NumPy's LAPACK, so Q
    can differ from torch's in the last bits.
    """
    if tensor.ndim < 2:
        raise ValueError("Only tensors with 2 or more dimensions are supported")
    if tensor.numel() == 0 or getattr(_skip, "on", False):
        return tensor
    rows = tensor.shape[0]
    cols = tensor.numel() // rows
    with no_grad():
        flat = tensor.new_empty((rows, cols)).normal_(0, 1, generator=generator)
    sample = np.asarray(flat._host())
    if rows < cols:
        sample = sample.T
    q, r = np.linalg.qr(sample)
    q = q * np.sign(np.diag(r)).astype(q.dtype)
    if rows < cols:
        q = q.T
    _fill(tensor, q.reshape(tensor._data.shape))
    with no_grad():
        tensor.mul_(gain)
    return tensor


def sparse_(tensor: Tensor, sparsity: float, std: float = 0.01, generator=None) -> Tensor:
    """N(0, std^2) values, then ``ceil(sparsity * rows)`` zeros in each column.

    As torch: the values come from ``generator``, the zero rows of each column from a
    ``randperm`` of the global generator.
    """
    if tensor.ndim != 2:
        raise ValueError("Only tensors with 2 dimensions are supported")
    if getattr(_skip, "on", False):
        return tensor
    rows, cols = tensor.shape
    nz = int(math.ceil(sparsity * rows))
    with no_grad():
        tensor.normal_(0, std, generator=generator)
        for c in range(cols):
            tensor[randperm(rows)[:nz], c] = 0
    return tensor


# torch's deprecated aliases without the trailing underscore
uniform = uniform_
normal = normal_
constant = constant_
xavier_uniform = xavier_uniform_
xavier_normal = xavier_normal_
kaiming_uniform = kaiming_uniform_
kaiming_normal = kaiming_normal_
orthogonal = orthogonal_
eye = eye_
dirac = dirac_
sparse = sparse_

__getattr__ = _module_getattr(__name__)  # unknown names: a clear not-implemented error
