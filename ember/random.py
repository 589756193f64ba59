"""Random numbers: the global generator, ``Generator`` objects and the sampling functions.

The CPU generator is torch's (mt19937 seeded as torch seeds it) and every sampling function draws
what torch's CPU kernel draws, in the same order, with the same transform: the same seed gives
torch's numbers (the kernels are in ``ops/_random_kernels.py``).
"""

from __future__ import annotations

import functools
import math

import numpy as np

from . import cuda, dtypes
from ._backend.casting import cast
from ._backend.cpu.mt19937 import MT19937, pack_state, unpack_state
from ._backend.xp import is_cpu, move_like, xp_for, xp_of
from ._torch_alias import module_getattr as _module_getattr
from .device import to_device
from .dtypes import scalar_type_name
from .ops import _random_kernels as K
from .ops.creation import (
    _check_options,
    _dev,
    _shape,
    _size_of,
    check_requires_grad,
    like_options,
)
from .ops.inplace import check_leaf, copy_into_out
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
    """A source of random numbers, as ``torch.Generator``; pass as ``generator=``.

    torch's CPU generator: an mt19937 stream seeded from the seed's low 32 bits, plus the normal
    sample torch's scalar Box-Muller caches; ``get_state`` is torch's 5056-byte layout, so states
    move between ember and torch both ways.
    """

    def __init__(self, device="cpu"):
        self.device = to_device(device)
        self.engine = MT19937(_DEFAULT_SEED)
        self.next_double: float | None = None  # torch's cached Box-Muller samples
        self.next_float: float | None = None

    def manual_seed(self, seed: int) -> Generator:
        seed = int(seed)
        if not -(2**63) <= seed < 2**64:
            raise ValueError("Overflow when unpacking long long")
        self.engine.seed(seed & 0xFFFFFFFFFFFFFFFF)
        self.next_double = self.next_float = None
        return self

    def seed(self) -> int:
        """Seed from the OS's entropy (a non-deterministic 64-bit seed) and return it."""
        s = int(np.random.SeedSequence().entropy) & 0xFFFFFFFFFFFFFFFF
        self.manual_seed(s)
        return s

    def initial_seed(self) -> int:
        return self.engine.initial_seed

    def get_state(self) -> Tensor:
        """The state as torch's uint8 tensor (what ``set_state``, here or in torch, accepts)."""
        return _wrap(pack_state(self.engine, self.next_double, self.next_float))

    def set_state(self, new_state: Tensor) -> Generator:
        if isinstance(new_state, Tensor):
            arr = new_state._host()
        else:  # a torch ByteTensor or an array
            arr = np.asarray(new_state.numpy() if hasattr(new_state, "numpy") else new_state)
        if arr.dtype != np.uint8:
            raise TypeError("RNG state must be a torch.ByteTensor")
        eng = self.engine.copy()  # torch leaves the generator as it was on a bad state
        nd, nf = unpack_state(arr.reshape(-1), eng)
        self.engine, self.next_double, self.next_float = eng, nd, nf
        return self

    @property
    def _rng(self) -> _NumpyCompat:
        """NumPy-Generator-style methods on this stream, for callers not yet on the kernels."""
        return _NumpyCompat(self)


_DEFAULT_SEED = 67280421310721  # torch's seed of a new Generator()

# torch seeds its default generator from the OS at start, so unseeded runs differ; a new
# Generator() still starts from the fixed default seed
default_generator = Generator()
default_generator.seed()


def _cpu_gen(generator) -> Generator:
    return generator if generator is not None else default_generator


class _NumpyCompat:
    """The NumPy ``Generator`` methods ember's older callers use, drawn from a torch-stream
    generator (double uniforms and scalar Box-Muller normals), until they call the kernels."""

    def __init__(self, gen: Generator):
        self._g = gen

    def random(self, size=None, dtype=np.float64):
        n = int(np.prod(size)) if size is not None else 1
        out = K.u01_double(self._g, n).astype(dtype)
        return out.reshape(size) if size is not None else out[0]

    def uniform(self, low=0.0, high=1.0, size=None):
        return low + (high - low) * self.random(size)

    def standard_normal(self, size=None, dtype=np.float64):
        n = int(np.prod(size)) if size is not None else 1
        out = K.standard_normal_scalar(self._g, n).astype(dtype)
        return out.reshape(size) if size is not None else out[0]

    def permutation(self, n):
        return K.randperm(self._g, int(n))

    def integers(self, low, high=None, size=None, dtype=np.int64, endpoint=False):
        if high is None:
            low, high = 0, low
        high = int(high) + (1 if endpoint else 0)
        n = int(np.prod(size)) if size is not None else 1
        out = K.random_from_to(self._g, n, int(high) - int(low), int(low)).astype(dtype)
        return out.reshape(size) if size is not None else out[0]


def _gen(generator):
    """A NumPy-Generator-like view of ``generator`` (or the default one) on torch's stream."""
    return _cpu_gen(generator)._rng


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
    """The global generator's state: torch's 5056-byte layout (torch.set_rng_state takes it)."""
    return default_generator.get_state()


def set_rng_state(new_state: Tensor) -> None:
    default_generator.set_state(new_state)


def _float_dtype(dtype, kernel: str = "check_uniform_bounds"):
    dt = dtypes.to_dtype(dtype) if dtype is not None else dtypes._default
    if not (dt.is_floating_point or dt.is_complex):
        raise NotImplementedError(f"\"{kernel}\" not implemented for '{scalar_type_name(dt.name)}'")
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


def _out(t, out):
    if out is not None:
        return copy_into_out(out, t)
    return t


def _numel(shape) -> int:
    return math.prod(shape)


def _is_half(npdt) -> bool:
    return np.dtype(npdt).itemsize == 2 and np.dtype(npdt).kind not in "iub"


def _from_double(vals: np.ndarray, npdt) -> np.ndarray:
    """torch's ``static_cast<scalar_t>(double)``: half and bfloat16 convert through float."""
    if _is_half(npdt):
        return vals.astype(np.float32).astype(npdt)
    return vals.astype(npdt, copy=False)


def _from_int64(vals: np.ndarray, npdt) -> np.ndarray:
    """torch's ``static_cast<scalar_t>(int64)``: wrap for narrower integers, nonzero for bool."""
    if np.dtype(npdt) == np.bool_:
        return vals != 0
    if _is_half(npdt):
        return vals.astype(np.float32).astype(npdt)
    return vals.astype(npdt, copy=False)


def _real_of(npdt):
    return np.empty(0, npdt).real.dtype


def _uniform_values(g: Generator, n: int, npdt, a: float, b: float) -> np.ndarray:
    if np.dtype(npdt).kind == "c":  # torch fills the real view: 2n reals
        return K.uniform(g, 2 * n, _real_of(npdt), a, b).view(npdt)
    return K.uniform(g, n, npdt, a, b)


def _normal_values(g: Generator, n: int, npdt, mean, std, contiguous: bool) -> np.ndarray:
    """normal_ values in draw order: torch's vectorised kernel for contiguous tensors of 16 or
    more elements, its scalar one (with the cached sample) otherwise."""
    if np.dtype(npdt).kind == "c":  # the real view, std / sqrt(2) per part
        return _normal_values(g, 2 * n, _real_of(npdt), mean, std / math.sqrt(2), contiguous).view(
            npdt
        )
    if contiguous and n >= 16:
        return K.normal_vectorised(g, n, npdt, mean, std)
    return _from_double(K.normal_scalar(g, n, mean, std), npdt)


def _order(arr) -> tuple | None:
    """The axis order in which torch's TensorIterator walks ``arr`` (largest stride outermost),
    or None for C order; torch's draws land in that order."""
    if arr.ndim <= 1 or arr.flags.c_contiguous:
        return None
    return tuple(sorted(range(arr.ndim), key=lambda d: -abs(arr.strides[d])))


def _write(t: Tensor, vals: np.ndarray) -> Tensor:
    """Store values drawn in torch's order into ``t`` (version bumped)."""
    dst = t._data
    if is_cpu(dst):
        perm = _order(dst)
        view = dst if perm is None else dst.transpose(perm)
        view[...] = vals.reshape(view.shape)
    else:  # a device tensor: drawn on the host, copied over once
        dst[...] = xp_for(t.device).asarray(vals.reshape(dst.shape))
    t._bump()
    return t


def _in_order(t: Tensor, other: np.ndarray) -> np.ndarray:
    """``other`` (broadcast to t's shape) flattened in t's draw order."""
    other = np.broadcast_to(other, t._data.shape)
    perm = _order(t._data) if is_cpu(t._data) else None
    return (other if perm is None else other.transpose(perm)).ravel()


def _as_float_int(v: int, npdt) -> int:
    """``static_cast<int64_t>(static_cast<scalar_t>(v))`` for a floating dtype."""
    return int(_from_int64(np.array([v], np.int64), npdt).astype(np.float64)[0])


def _float_from(v: int, dt) -> int:
    """torch's update_from: move ``from`` right until every draw stays >= it after rounding."""
    if not dt.is_floating_point:
        return v
    up = _as_float_int(v + 1, dt.np)
    if up < v:
        n = abs(v + 1).bit_length() - 1
        v = up + (1 << (n - K._DIGITS[dt.name] + 1))
    return v


def _float_to(v: int, dt) -> int:
    """torch's update_to: move ``to`` left until every draw stays below it after rounding."""
    if not dt.is_floating_point:
        return v
    down = _as_float_int(v - 1, dt.np)
    if down >= v:
        n = abs(v - 1).bit_length() - 1
        v = down - (1 << (n - K._DIGITS[dt.name] + 1))
    return v


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
    if dtype is None and out is not None:
        dtype = out.dtype
    dt = _float_dtype(dtype)
    arr = _uniform_values(_cpu_gen(generator), _numel(shape), dt.np, 0.0, 1.0).reshape(shape)
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
    if dtype is None and out is not None:
        dtype = out.dtype
    dt = _float_dtype(dtype, "normal_kernel_cpu")
    arr = _normal_values(_cpu_gen(generator), _numel(shape), dt.np, 0.0, 1.0, True)
    return _out(_place(arr.reshape(shape), device, requires_grad), out)


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
    low, high = int(low), int(high)
    if low >= high:
        raise RuntimeError(
            f"random_ expects 'from' to be less than 'to', but got from={low} >= to={high}"
        )
    shape = _shape((size,), "randint")
    if dtype is None and out is not None:
        dtype = out.dtype
    dt = dtypes.to_dtype(dtype) if dtype is not None else dtypes.int64
    low, high = _float_from(low, dt), _float_to(high, dt)
    vals = K.random_from_to(_cpu_gen(generator), _numel(shape), high - low, low)
    arr = _from_int64(vals, dt.np).reshape(shape)
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
    """A random permutation of 0..n-1 (int64), torch's Fisher-Yates on its stream."""
    _check_options(layout, pin_memory, "randperm")
    n = int(n)
    if n < 0:
        raise RuntimeError(f"Trying to create tensor with negative dimension {n}: [{n}]")
    if dtype is None and out is not None:
        dtype = out.dtype
    dt = dtypes.to_dtype(dtype) if dtype is not None else dtypes.int64
    arr = _from_int64(K.randperm(_cpu_gen(generator), n), dt.np)
    return _out(_place(arr, device, requires_grad), out)


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
    """Normal samples: tensor mean and/or std broadcast, or scalar ones with ``size``.

    As torch: standard normals in the result's shape, then ``* std`` and ``+ mean`` as separate
    operations for a tensor std; ``normal_(0, std)`` then ``+ mean`` for a tensor mean alone."""
    _check_options(layout, pin_memory, "normal")
    g = _cpu_gen(generator)
    if isinstance(mean, Tensor) or isinstance(std, Tensor):
        if isinstance(std, Tensor):
            if std.numel() and (std._host() < 0).any():
                raise RuntimeError("normal expects all elements of std >= 0.0")
        elif std < 0:
            raise RuntimeError(f"normal expects std >= 0.0, but found std {std}")
        ref = mean if isinstance(mean, Tensor) else std
        m = mean._host() if isinstance(mean, Tensor) else mean
        s = std._host() if isinstance(std, Tensor) else std
        shape = np.broadcast_shapes(np.shape(m), np.shape(s))
        npdt = ref._data.dtype
        n = _numel(shape)
        if isinstance(std, Tensor):
            z = _normal_values(g, n, npdt, 0.0, 1.0, True).reshape(shape)
            arr = (z * np.asarray(s, npdt)).astype(npdt) + np.asarray(m, npdt)
        else:
            arr = _normal_values(g, n, npdt, 0.0, float(s), True).reshape(shape) + m
        arr = move_like(np.asarray(arr, npdt), ref._data)
        return _out(_wrap(arr), out)
    if std < 0:
        raise RuntimeError(f"normal expects std >= 0.0, but found std {std}")
    if dtype is None and out is not None:
        dtype = out.dtype
    dt = _float_dtype(dtype, "normal_kernel_cpu")
    shape = _shape((size,) if size is not None else ((),))
    arr = _normal_values(g, _numel(shape), dt.np, float(mean), float(std), True).reshape(shape)
    return _out(_place(arr, device, requires_grad), out)


def _check_p(probs) -> None:
    if probs.size and ((probs < 0).any() or (probs > 1).any()):
        raise RuntimeError("Expected p_in >= 0 && p_in <= 1 to be true, but got false.")


def bernoulli(input: Tensor, p=None, *, generator=None, out=None) -> Tensor:
    """0/1 samples with probabilities ``input`` (or ``p``), in input's dtype."""
    xp = xp_of(input._data)
    if xp is not np:  # on the device, from CuPy's generator (ember.cuda.manual_seed)
        probs = input._data if p is None else xp.full(input._data.shape, p)
        _check_p(probs)
        arr = (xp.random.random_sample(probs.shape) < probs).astype(input._data.dtype)
        return _out(_wrap(arr), out)
    g = _cpu_gen(generator)
    npdt = input._data.dtype
    if p is None:
        probs = input._data
        _check_p(probs)
        vals = K.bernoulli_tensor(g, np.ascontiguousarray(probs))
    else:
        _check_p(np.asarray(p))
        vals = K.bernoulli_scalar(g, input._data.size, float(p))
    return _out(_wrap(vals.astype(npdt).reshape(input._data.shape)), out)


def poisson(input: Tensor, generator=None) -> Tensor:
    """Poisson samples with rates ``input``: torch's CPU sampler on its stream (one Python step
    per element), in input's dtype and on its device."""
    lam = input._host()  # drawn on the host; the result follows the input's device
    if lam.size and (lam < 0).any():
        raise RuntimeError("invalid Poisson rate, expected rate to be non-negative")
    vals = K.poisson(_cpu_gen(generator), np.ascontiguousarray(lam).astype(np.float64).ravel())
    return _wrap(move_like(_from_double(vals, lam.dtype).reshape(lam.shape), input._data))


def multinomial(
    input: Tensor, num_samples: int, replacement: bool = False, *, generator=None, out=None
) -> Tensor:
    """Indices drawn from rows of non-negative weights (1-d or 2-d), as torch.multinomial: with
    replacement an inverse-CDF search per sample; without (or for one sample) torch's
    exponential trick, the top-k of ``weights / Exp(1)``."""
    w = input._host()  # drawn on the host; the indices follow the input
    if w.ndim not in (1, 2):
        raise RuntimeError("prob_dist must be 1 or 2 dim")
    if w.dtype.kind not in "fc" and not _is_half(w.dtype):
        raise RuntimeError("multinomial only supports floating-point dtypes for input")
    wf = w.astype(np.float64)
    if (wf < 0).any() or not np.isfinite(wf).all():
        raise RuntimeError("probability tensor contains either `inf`, `nan` or element < 0")
    rows = w.reshape(-1, w.shape[-1])
    if not replacement and num_samples > rows.shape[1]:
        raise RuntimeError(
            "cannot sample n_sample > prob_dist.size(-1) samples without replacement"
        )
    if (wf.reshape(rows.shape).sum(1) <= 0).any():
        raise RuntimeError("invalid multinomial distribution (sum of probabilities <= 0)")
    g = _cpu_gen(generator)
    if not replacement or num_samples == 1:
        if not replacement and (np.count_nonzero(rows, axis=1) < num_samples).any():
            raise RuntimeError(
                "invalid multinomial distribution (with replacement=False, "
                "not enough non-negative category to sample)"
            )
        q = _from_double(K.exponential(g, rows.size, 1.0), rows.dtype).reshape(rows.shape)
        with np.errstate(divide="ignore", invalid="ignore"):
            keys = (rows / q).astype(rows.dtype)
        if num_samples == 1:
            res = np.argmax(keys, axis=1)[:, None]
        else:  # topk: largest first
            res = np.argsort(-keys.astype(np.float64), axis=1, kind="stable")[:, :num_samples]
    else:
        res = K.multinomial_with_replacement(g, rows, num_samples)
    out_arr = res.astype(np.int64).reshape(w.shape[:-1] + (num_samples,))
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


def _check_float(t: Tensor, kernel: str):
    if not (t.dtype.is_floating_point or t.dtype.is_complex):
        raise NotImplementedError(
            f"\"{kernel}\" not implemented for '{scalar_type_name(t.dtype.name)}'"
        )


def uniform_(t: Tensor, a: float = 0.0, b: float = 1.0, *, generator=None) -> Tensor:
    """Fill with uniform samples on [a, b), torch's values and order."""
    check_leaf(t)
    _check_float(t, "check_uniform_bounds")
    a, b = float(a), float(b)
    if a > b:
        raise RuntimeError(
            f"uniform_ expects to return a [from, to) range, but found from={a:g} > to={b:g}"
        )
    return _write(t, _uniform_values(_cpu_gen(generator), t._data.size, t._data.dtype, a, b))


def normal_(t: Tensor, mean: float = 0.0, std: float = 1.0, *, generator=None) -> Tensor:
    """Fill with normal samples, through torch's vectorised or scalar path as torch picks."""
    check_leaf(t)
    if std < 0:
        raise RuntimeError(f"normal expects std >= 0.0, but found std {std:g}")
    _check_float(t, "normal_kernel_cpu")
    n = t._data.size
    if n == 0:
        return t
    vals = _normal_values(
        _cpu_gen(generator), n, t._data.dtype, float(mean), float(std), t._data.flags.c_contiguous
    )
    return _write(t, vals)


def bernoulli_(t: Tensor, p=0.5, *, generator=None) -> Tensor:
    """Fill with 0/1 samples: a float ``p`` (a double uniform each) or a tensor of
    probabilities broadcast to ``t`` (a float uniform each, double for float64 ``p``)."""
    check_leaf(t)
    g = _cpu_gen(generator)
    if isinstance(p, Tensor):
        probs = p._host()
        _check_p(probs)
        vals = K.bernoulli_tensor(g, _in_order(t, probs))
    else:
        _check_p(np.asarray(p))
        vals = K.bernoulli_scalar(g, t._data.size, float(p))
    return _write(t, vals.astype(t._data.dtype))


_NO = object()
_BOUNDS = {
    "bool": (0, 1),
    "uint8": (0, 255),
    "int8": (-128, 127),
    "int16": (-(2**15), 2**15 - 1),
    "int32": (-(2**31), 2**31 - 1),
    "int64": (-(2**63), 2**63 - 1),
}
_C_NAME = {
    "uint8": "unsigned char",
    "int8": "signed char",
    "int16": "short int",
    "int32": "int",
    "int64": "long int",
    "bool": "bool",
}


def _check_bound(dt, name: str, value: int) -> None:
    lim = _BOUNDS.get(dt.name)
    if lim is not None and not lim[0] <= value <= lim[1]:
        raise RuntimeError(f"{name} is out of bounds for {_C_NAME[dt.name]}")


def random_(t: Tensor, from_=_NO, to=_NO, *, generator=None) -> Tensor:
    """Fill with integers: ``random_()`` over the dtype's range, ``random_(to)`` on [0, to),
    ``random_(from, to)`` on [from, to) (``to=None``: up to the dtype's maximum)."""
    check_leaf(t)
    g = _cpu_gen(generator)
    dt = t.dtype
    n = t._data.size
    if from_ is _NO:
        return _write(t, _from_int64(K.random_default(g, n, dt.name), t._data.dtype))
    if to is _NO:
        from_, to = 0, from_
    from_ = int(from_)
    if to is None:
        if from_ == -(2**63):
            return _write(t, _from_int64(K.random_full64(g, n), t._data.dtype))
        if dt.is_floating_point:
            to_inc = 1 << K._DIGITS.get(dt.name, 53)
            from_ = _float_from(from_, dt)
        else:
            to_inc = _BOUNDS.get(dt.name, (0, 2**63 - 1))[1]
        _check_bound(dt, "from", from_)
        rng = to_inc - from_ + 1
    else:
        to = int(to)
        if from_ >= to:
            raise RuntimeError(
                f"random_ expects 'from' to be less than 'to', but got from={from_} >= to={to}"
            )
        from_, to = _float_from(from_, dt), _float_to(to, dt)
        _check_bound(dt, "from", from_)
        _check_bound(dt, "to - 1", to - 1)
        rng = to - from_
    return _write(t, _from_int64(K.random_from_to(g, n, rng, from_), t._data.dtype))


def exponential_(t: Tensor, lambd: float = 1.0, *, generator=None) -> Tensor:
    """Fill with Exp(lambd) samples, ``-log1p(-u) / lambd`` on double uniforms."""
    check_leaf(t)
    if not t.dtype.is_floating_point:
        raise RuntimeError(
            "Exponential distribution is a continuous probability distribution. dtype must be a "
            f"floating point but you specified {scalar_type_name(t.dtype.name)}"
        )
    if not lambd > 0:
        raise RuntimeError(f"exponential_ expects lambda > 0.0, but found lambda={lambd:g}")
    vals = K.exponential(_cpu_gen(generator), t._data.size, float(lambd))
    return _write(t, _from_double(vals, t._data.dtype))


def cauchy_(t: Tensor, median: float = 0.0, sigma: float = 1.0, *, generator=None) -> Tensor:
    """Fill with Cauchy(median, sigma) samples."""
    check_leaf(t)
    if not t.dtype.is_floating_point:
        raise RuntimeError(
            "Cauchy distribution is a continuous probability distribution. dtype must be a "
            f"floating point but you specified {t.dtype.name}"
        )
    if not sigma > 0:
        raise RuntimeError(f"cauchy_ expects sigma > 0.0, but found sigma={sigma:g}")
    vals = K.cauchy(_cpu_gen(generator), t._data.size, float(median), float(sigma))
    return _write(t, _from_double(vals, t._data.dtype))


def log_normal_(t: Tensor, mean: float = 1.0, std: float = 2.0, *, generator=None) -> Tensor:
    """Fill with exp(N(mean, std^2)) samples (torch's scalar normal, cached sample included)."""
    check_leaf(t)
    _check_float(t, "log_normal_cpu")
    if not std > 0:
        raise RuntimeError(f"log_normal_ expects std > 0.0, but found std={std:g}")
    vals = K.log_normal(_cpu_gen(generator), t._data.size, float(mean), float(std))
    return _write(t, _from_double(vals, t._data.dtype))


def geometric_(t: Tensor, p: float, *, generator=None) -> Tensor:
    """Fill with Geometric(p) samples (trials to the first success, from 1)."""
    check_leaf(t)
    if not 0 < p < 1:
        raise RuntimeError(f"geometric_ expects p to be in (0, 1), but got p={p:g}")
    vals = K.geometric(_cpu_gen(generator), t._data.size, float(p))
    return _write(t, _from_double(vals, t._data.dtype))


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
