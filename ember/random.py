"""Random numbers: the global generator, ``Generator`` objects and the sampling functions.

ember's streams come from NumPy's PCG64, so values differ from torch's for the same seed; the
guarantees are torch's: a seed fixes every draw, and a saved state restores the stream.
"""

from __future__ import annotations

import functools
import pickle

import numpy as np

from . import cuda, dtypes
from ._backend.casting import cast
from ._backend.xp import is_cpu, move_like, xp_for, xp_of
from ._torch_alias import module_getattr as _module_getattr
from .device import to_device
from .ops.creation import (
    _check_options,
    _dev,
    _shape,
    _size_of,
    check_requires_grad,
    like_options,
)
from .ops.inplace import _pretty, check_leaf, copy_into_out
from .tensor import Tensor, _wrap

__all__ = [
    "Generator",
    "manual_seed",
    "seed",
    "initial_seed",
    "get_rng_state",
    "set_rng_state",
    "rand",
    "randn",
    "randint",
    "randperm",
    "normal",
    "bernoulli",
    "multinomial",
    "rand_like",
    "randn_like",
    "randint_like",
    "poisson",
    "fork_rng",
]


class Generator:
    """A source of random numbers, as ``torch.Generator``; pass as ``generator=``."""

    def __init__(self, device="cpu"):
        self.device = to_device(device)
        self._seed = 67280421310721  # torch's default seed
        self._rng = np.random.Generator(np.random.PCG64(self._seed))

    def manual_seed(self, seed: int) -> Generator:
        seed = int(seed)
        self._seed = seed
        self._rng = np.random.Generator(np.random.PCG64(seed & 0xFFFFFFFFFFFFFFFF))
        return self

    def seed(self) -> int:
        """Seed from the OS's entropy (a non-deterministic 64-bit seed) and return it."""
        s = int(np.random.SeedSequence().entropy) & 0xFFFFFFFFFFFFFFFF
        self.manual_seed(s)
        return s

    def initial_seed(self) -> int:
        return self._seed

    def get_state(self) -> Tensor:
        """The state as a uint8 tensor (what ``set_state`` accepts back)."""
        blob = pickle.dumps((self._seed, self._rng.bit_generator.state))
        return _wrap(np.frombuffer(blob, dtype=np.uint8).copy())

    def set_state(self, state: Tensor) -> Generator:
        arr = state._data if isinstance(state, Tensor) else np.asarray(state)
        try:
            seed, st = pickle.loads(arr.astype(np.uint8).tobytes())
            self._rng.bit_generator.state = st
        except Exception:
            raise RuntimeError("Invalid RNG state: expected a state from get_rng_state()") from None
        self._seed = seed
        return self


# torch seeds its default generator from the OS at start, so unseeded runs differ; a new
# Generator() still starts from the fixed default seed
default_generator = Generator()
default_generator.seed()


def _gen(generator):
    return (generator or default_generator)._rng


def manual_seed(seed: int) -> Generator:
    """Seed the global generator (and CUDA's, when present)."""
    default_generator.manual_seed(seed)
    cuda._seed_all_if_loaded(seed)
    return default_generator


def seed() -> int:
    return default_generator.seed()


def initial_seed() -> int:
    return default_generator.initial_seed()


def get_rng_state() -> Tensor:
    return default_generator.get_state()


def set_rng_state(new_state: Tensor) -> None:
    default_generator.set_state(new_state)


def _float_dtype(dtype, kernel: str = "check_uniform_bounds"):
    dt = dtypes.to_dtype(dtype) if dtype is not None else dtypes._default
    if not (dt.is_floating_point or dt.is_complex):
        raise NotImplementedError(f"\"{kernel}\" not implemented for '{_pretty(dt.name)}'")
    return dt


def _place(arr, device, requires_grad):
    dev = _dev(device)
    if dev.type != "cpu":
        xp = xp_for(dev)
        arr = xp.asarray(arr)
    t = _wrap(arr)
    if requires_grad:
        check_requires_grad(t.dtype)
        t.requires_grad_(True)
    return t


def rand(
    *args,
    size=None,
    generator=None,
    out=None,
    dtype=None,
    layout=None,
    device=None,
    pin_memory=False,
    requires_grad=False,
) -> Tensor:
    """Uniform samples on [0, 1); the shape as varargs, one sequence or ``size=``."""
    shape = _size_of(args, size, "rand")
    _check_options(layout, pin_memory, "rand")
    dt = _float_dtype(dtype)
    arr = _gen(generator).random(shape, dtype=np.float64).astype(dt.np)
    return _out(_place(arr, device, requires_grad), out)


def randn(
    *args,
    size=None,
    generator=None,
    out=None,
    dtype=None,
    layout=None,
    device=None,
    pin_memory=False,
    requires_grad=False,
) -> Tensor:
    """Standard normal samples; the shape as varargs, one sequence or ``size=``."""
    shape = _size_of(args, size, "randn")
    _check_options(layout, pin_memory, "randn")
    dt = _float_dtype(dtype, "normal_kernel_cpu")
    g = _gen(generator)
    if dt.np == np.float32:
        arr = g.standard_normal(shape, dtype=np.float32)
    else:
        arr = g.standard_normal(shape).astype(dt.np)
    return _out(_place(arr, device, requires_grad), out)


def _out(t, out):
    if out is not None:
        return copy_into_out(out, t)
    return t


def randint(
    low=0,
    high=None,
    size=None,
    *,
    generator=None,
    out=None,
    dtype=None,
    layout=None,
    device=None,
    pin_memory=False,
    requires_grad=False,
) -> Tensor:
    """Integers uniform on [low, high); ``randint(high, size)`` also works. int64 default."""
    _check_options(layout, pin_memory, "randint")
    if size is None:
        if high is None or not isinstance(high, (tuple, list)):
            raise TypeError("randint() missing required argument 'size'")
        low, high, size = 0, low, high
    if high is None:
        low, high = 0, low
    if low >= high:
        raise RuntimeError(
            f"random_ expects 'from' to be less than 'to', but got from={low} >= to={high}"
        )
    shape = _shape((size,), "randint")
    if dtype is None and out is not None:
        dtype = out.dtype
    dt = dtypes.to_dtype(dtype) if dtype is not None else dtypes.int64
    arr = _gen(generator).integers(low, high, size=shape, dtype=np.int64).astype(dt.np)
    return _out(_place(arr, device, requires_grad), out)


def randperm(
    n: int,
    *,
    generator=None,
    out=None,
    dtype=None,
    layout=None,
    device=None,
    pin_memory=False,
    requires_grad=False,
) -> Tensor:
    """A random permutation of 0..n-1 (int64)."""
    _check_options(layout, pin_memory, "randperm")
    if dtype is None and out is not None:
        dtype = out.dtype
    dt = dtypes.to_dtype(dtype) if dtype is not None else dtypes.int64
    return _out(_place(_gen(generator).permutation(n).astype(dt.np), device, requires_grad), out)


def normal(
    mean=0.0,
    std=1.0,
    size=None,
    *,
    generator=None,
    out=None,
    dtype=None,
    layout=None,
    device=None,
    pin_memory=False,
    requires_grad=False,
) -> Tensor:
    """Normal samples: tensor mean and/or std broadcast, or scalar ones with ``size``."""
    _check_options(layout, pin_memory, "normal")
    g = _gen(generator)
    if isinstance(mean, Tensor) or isinstance(std, Tensor):
        m = mean._data if isinstance(mean, Tensor) else mean
        s = std._data if isinstance(std, Tensor) else std
        if isinstance(std, Tensor) and (std._data < 0).any():
            raise RuntimeError("normal expects all elements of std >= 0.0")
        shape = np.broadcast_shapes(np.shape(m), np.shape(s))
        ref = mean if isinstance(mean, Tensor) else std
        z = move_like(g.standard_normal(shape).astype(ref._data.dtype), ref._data)
        arr = (m + s * z).astype(ref._data.dtype)
        return _out(_wrap(arr), out)
    if std < 0:
        raise RuntimeError(f"normal expects std >= 0.0, but found std {std}")
    dt = _float_dtype(dtype, "normal_kernel_cpu")
    arr = mean + std * g.standard_normal(_shape((size,) if size is not None else ((),)))
    return _out(_place(arr.astype(dt.np), device, requires_grad), out)


def bernoulli(input: Tensor, p=None, *, generator=None, out=None) -> Tensor:
    """0/1 samples with probabilities ``input`` (or ``p``), in input's dtype."""
    xp = xp_of(input._data)
    probs = input._data if p is None else xp.full(input._data.shape, p)
    if (probs < 0).any() or (probs > 1).any():
        raise RuntimeError("Expected p_in >= 0 && p_in <= 1 to be true, but got false.")
    if xp is np:
        arr = (_gen(generator).random(probs.shape) < probs).astype(input._data.dtype)
    else:  # on the device, from CuPy's generator (ember.cuda.manual_seed)
        arr = (xp.random.random_sample(probs.shape) < probs).astype(input._data.dtype)
    return _out(_wrap(arr), out)


def poisson(input: Tensor, generator=None) -> Tensor:
    lam = input._host()  # drawn on the host; the result follows the input's device
    return _wrap(move_like(_gen(generator).poisson(lam).astype(lam.dtype), input._data))


def multinomial(
    input: Tensor, num_samples: int, replacement: bool = False, *, generator=None, out=None
) -> Tensor:
    """Indices drawn from rows of non-negative weights (1-d or 2-d), as torch.multinomial."""
    w = input._host().astype(np.float64)  # drawn on the host; the indices follow the input
    if w.ndim not in (1, 2):
        raise RuntimeError("prob_dist must be 1 or 2 dim")
    if (w < 0).any() or not np.isfinite(w).all():
        raise RuntimeError("probability tensor contains either `inf`, `nan` or element < 0")
    rows = w.reshape(-1, w.shape[-1])
    if not replacement and num_samples > rows.shape[1]:
        raise RuntimeError(
            "cannot sample n_sample > prob_dist.size(-1) samples without replacement"
        )
    g = _gen(generator)
    res = np.empty((rows.shape[0], num_samples), np.int64)
    for i, r in enumerate(rows):
        tot = r.sum()
        if tot <= 0:
            raise RuntimeError("invalid multinomial distribution (sum of probabilities <= 0)")
        if replacement:
            res[i] = g.choice(len(r), size=num_samples, replace=True, p=r / tot)
        else:
            nz = np.count_nonzero(r)
            if num_samples > nz:
                raise RuntimeError(
                    "invalid multinomial distribution (with replacement=False, "
                    "not enough non-negative category to sample)"
                )
            # Gumbel top-k: sampling without replacement proportional to the weights
            keys = np.log(g.random(len(r))) / np.where(r > 0, r, 1e-300)
            keys[r == 0] = -np.inf
            res[i] = np.argsort(-keys, kind="stable")[:num_samples]
    out_arr = res.reshape(w.shape[:-1] + (num_samples,))
    return _out(_wrap(move_like(out_arr, input._data)), out)


def rand_like(
    input: Tensor,
    *,
    generator=None,
    dtype=None,
    layout=None,
    device=None,
    pin_memory=False,
    requires_grad=False,
    memory_format=None,
) -> Tensor:
    """Uniform samples on [0, 1) shaped like input (its dtype and device unless given)."""
    dt, dev = like_options(input, dtype, layout, device, pin_memory, memory_format, "rand_like")
    return rand(input.shape, generator=generator, dtype=dt, device=dev, requires_grad=requires_grad)


def randn_like(
    input: Tensor,
    *,
    generator=None,
    dtype=None,
    layout=None,
    device=None,
    pin_memory=False,
    requires_grad=False,
    memory_format=None,
) -> Tensor:
    """Standard normal samples shaped like input (its dtype and device unless given)."""
    dt, dev = like_options(input, dtype, layout, device, pin_memory, memory_format, "randn_like")
    return randn(
        input.shape, generator=generator, dtype=dt, device=dev, requires_grad=requires_grad
    )


def randint_like(
    input: Tensor,
    low=0,
    high=None,
    *,
    generator=None,
    dtype=None,
    layout=None,
    device=None,
    pin_memory=False,
    requires_grad=False,
    memory_format=None,
) -> Tensor:
    """Integers uniform on [low, high) shaped like input (its dtype and device unless given);
    ``randint_like(input, high)`` also works."""
    dt, dev = like_options(input, dtype, layout, device, pin_memory, memory_format, "randint_like")
    if high is None:
        low, high = 0, low
    return randint(
        low,
        high,
        input.shape,
        generator=generator,
        dtype=dt,
        device=dev,
        requires_grad=requires_grad,
    )


def uniform_(t: Tensor, a: float = 0.0, b: float = 1.0, *, generator=None) -> Tensor:
    check_leaf(t)
    arr = _gen(generator).uniform(a, b, t._data.shape)
    _fill(t, arr)
    return t


def normal_(t: Tensor, mean: float = 0.0, std: float = 1.0, *, generator=None) -> Tensor:
    check_leaf(t)
    _fill(t, mean + std * _gen(generator).standard_normal(t._data.shape))
    return t


def bernoulli_(t: Tensor, p: float = 0.5, *, generator=None) -> Tensor:
    _fill(t, _gen(generator).random(t._data.shape) < p)
    return t


def random_(t: Tensor, low: int = 0, high: int | None = None, *, generator=None) -> Tensor:
    if high is None:
        low, high = 0, (low if low else 2**31)
    _fill(t, _gen(generator).integers(low, high, t._data.shape))
    return t


def exponential_(t: Tensor, lambd: float = 1.0, *, generator=None) -> Tensor:
    _fill(t, _gen(generator).exponential(1.0 / lambd, t._data.shape))
    return t


def _fill(t: Tensor, arr) -> None:
    dst = t._data
    if not is_cpu(dst):
        arr = xp_for(t.device).asarray(arr)
    dst[...] = cast(arr, dst.dtype, copy=False) if hasattr(arr, "astype") else arr
    t._bump()


class fork_rng:
    """Save the global generator's state on entry and restore it on exit (torch.random.fork_rng);
    usable as a context manager or a decorator."""

    def __init__(
        self,
        devices=None,
        enabled: bool = True,
        _caller="fork_rng",
        _devices_kw="devices",
        device_type="cuda",
    ):
        self.enabled = enabled

    def __enter__(self):
        if self.enabled:
            self._state = default_generator.get_state()
        return self

    def __exit__(self, *exc):
        if self.enabled:
            default_generator.set_state(self._state)
        return False

    def __call__(self, fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with fork_rng(enabled=self.enabled):
                return fn(*args, **kwargs)

        return wrapper


__getattr__ = _module_getattr(__name__)  # unknown names: a clear not-implemented error
