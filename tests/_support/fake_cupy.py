"""A CuPy stand-in for tests on machines without a GPU. It is NOT CUDA: arrays live in host memory.

``ndarray`` is a NumPy subclass, so ``type(a) is np.ndarray`` is False (as for real CuPy arrays)
and ember's dispatch through ``xp_of`` / ``device_of`` takes its CUDA path. Like CuPy, mixing a
plain NumPy array into a ufunc or array function raises TypeError, and ``asnumpy``/``.get()``
are the only ways back to the host; both are counted in ``stats`` so tests can assert that a
training step makes no host copies. Only the slice of CuPy's API that ember uses is modelled.
"""

from __future__ import annotations

import sys
import types

import numpy as np

stats = {"get": 0, "asnumpy": 0, "put": 0, "kernels": 0}
_current = [0]
_N_DEVICES = 2


def _plain(x):
    """Strip the stand-in subclass (recursively through lists/tuples)."""
    if isinstance(x, ndarray):
        return x.view(np.ndarray)
    if isinstance(x, (list, tuple)):
        return type(x)(_plain(v) for v in x)
    return x


def _check_no_host(args) -> None:
    """Raise as CuPy does when a host (NumPy) array is mixed in."""
    for a in args:
        if type(a) is np.ndarray:
            raise TypeError(f"Unsupported type {type(a)}")
        if isinstance(a, (list, tuple)):
            _check_no_host(a)


def _wrap(r, dev: int | None = None):
    """Give results the stand-in type (on the current device unless ``dev`` is given); NumPy
    scalars become 0-d arrays, as CuPy's reductions return."""
    if isinstance(r, np.generic):
        r = np.asarray(r)
    if type(r) is np.ndarray:
        out = r.view(ndarray)
        out._dev = _current[0] if dev is None else dev
        return out
    if isinstance(r, tuple):
        return tuple(_wrap(v, dev) for v in r)
    if isinstance(r, list):
        return [_wrap(v, dev) for v in r]
    return r


class ndarray(np.ndarray):
    """Stand-in device array (host memory underneath; test-only)."""

    _dev = 0

    def __array_finalize__(self, obj):
        self._dev = getattr(obj, "_dev", _current[0])

    @property
    def device(self):  # noqa: D401
        """The stand-in ``cuda.Device`` holding this array."""
        return cuda.Device(self._dev)

    def get(self, stream=None, out=None):
        """Copy to host (counted)."""
        stats["get"] += 1
        return np.array(self.view(np.ndarray))

    def _sync(self):
        """A read of values on the host: counted as a copy (CuPy synchronises here)."""
        stats["get"] += 1
        return self.view(np.ndarray)

    def item(self, *a):
        return self._sync().item(*a)

    def tolist(self):
        return self._sync().tolist()

    def __float__(self):
        return float(self._sync())

    def __int__(self):
        return int(self._sync())

    def __bool__(self):
        return bool(self._sync())

    @property
    def flags(self):
        """CuPy's flags: the contiguity and ownership ones only (no ``writeable``)."""
        f = super().flags
        return types.SimpleNamespace(
            c_contiguous=f.c_contiguous, f_contiguous=f.f_contiguous, owndata=f.owndata
        )

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        _check_no_host(inputs)
        out = kwargs.get("out")
        if out is not None:
            _check_no_host(out)
            kwargs["out"] = _plain(out)
        r = getattr(ufunc, method)(*_plain(inputs), **kwargs)
        if out is not None:
            return out[0] if len(out) == 1 else out
        return _wrap(r)

    def __array_function__(self, func, types_, args, kwargs):
        _check_no_host(args)
        _check_no_host(tuple(kwargs.values()))
        out = kwargs.get("out")
        r = func(*_plain(args), **{k: _plain(v) for k, v in kwargs.items()})
        return out if out is not None else _wrap(r)

    # CuPy copies host (NumPy) index arrays to the device: keys may hold them
    def __getitem__(self, key):
        return super().__getitem__(_plain(key))

    def __setitem__(self, key, value):
        if type(value) is np.ndarray and value.ndim:
            raise TypeError(f"Unsupported type {type(value)}")
        super().__setitem__(_plain(key), value)


# CuPy's ufuncs are named "cupy_<name>" and have reduce/accumulate for add and multiply only,
# and ``at`` for the scatter operations alone; anything else raises NotImplementedError.
_REDUCING = {"add", "multiply"}
_SCATTERING = {"add", "subtract", "maximum", "minimum", "bitwise_and", "bitwise_or", "bitwise_xor"}
# CuPy's max/min take no ``initial`` (NumPy's do)
_NO_INITIAL = {"max", "min", "amax", "amin", "nanmax", "nanmin"}


class _Ufunc:
    """A NumPy ufunc with CuPy's name and CuPy's subset of the ufunc methods."""

    def __init__(self, f: np.ufunc):
        self._f = f
        self.__name__ = "cupy_" + f.__name__
        self.nin, self.nout, self.nargs = f.nin, f.nout, f.nargs

    def __call__(self, *a, **k):
        return self._f(*a, **k)

    def _method(self, method: str, allowed: set):
        if self._f.__name__ not in allowed:
            raise NotImplementedError(f"`{self.__name__}.{method}` is not supported yet")
        return getattr(self._f, method)

    def reduce(self, *a, **k):
        return _wrap(self._method("reduce", _REDUCING)(*_plain(a), **k))

    def accumulate(self, *a, **k):
        return _wrap(self._method("accumulate", _REDUCING)(*_plain(a), **k))

    def at(self, a, indices, b=None):
        f = self._method("at", _SCATTERING)
        _check_no_host((a, b))
        b = _plain(b)
        if self._f in (np.maximum, np.minimum) and a.dtype == np.float64:
            # as seen on an H200: CuPy's maximum.at / minimum.at round float64 to float32
            b = np.asarray(b, np.float64).astype(np.float32).astype(np.float64)
        f(_plain(a), _plain(indices), b)

    def outer(self, *a, **k):
        return self._f.outer(*a, **k)


_UFUNCS: dict = {}


class _Proxy(types.ModuleType):
    """A module whose functions are NumPy's (from ``src``) returning stand-in arrays."""

    def __init__(self, name: str, src):
        super().__init__(name)
        self._src = src

    def __getattr__(self, name):
        f = getattr(self._src, name)
        if isinstance(f, np.ufunc):
            if f not in _UFUNCS:
                _UFUNCS[f] = _Ufunc(f)
            return _UFUNCS[f]
        if isinstance(f, type) or not callable(f):
            return f

        def call(*a, **k):
            _check_no_host(a)
            if name in _NO_INITIAL and "initial" in k:
                raise TypeError(f"{name}() got an unexpected keyword argument 'initial'")
            return _wrap(f(*_plain(a), **{kk: _plain(v) for kk, v in k.items()}))

        call.__name__ = name
        return call


class _Device:
    """Stand-in ``cupy.cuda.Device``: a context manager that sets the current ordinal."""

    def __init__(self, i: int | None = None):
        self.id = _current[0] if i is None else int(i)
        self._prev: list = []

    def use(self) -> None:
        _current[0] = self.id

    def synchronize(self) -> None:
        pass

    @property
    def compute_capability(self) -> str:
        return "90"

    def __enter__(self):
        self._prev.append(_current[0])
        _current[0] = self.id
        return self

    def __exit__(self, *exc):
        _current[0] = self._prev.pop()

    def __eq__(self, other):
        return isinstance(other, _Device) and other.id == self.id

    def __hash__(self):
        return self.id


class _Stream:
    """Stand-in ``cupy.cuda.Stream`` (work is synchronous)."""

    null = None

    def __init__(self, non_blocking: bool = False, priority: int = 0):
        self.ptr = id(self)
        self._prev = None

    def synchronize(self) -> None:
        pass

    def use(self):
        _Stream._current = self
        return self

    def wait_event(self, event) -> None:
        pass

    def record(self, event=None):
        e = event or _Event()
        e.record(self)
        return e

    def __enter__(self):
        self._prev = _Stream._current
        _Stream._current = self
        return self

    def __exit__(self, *exc):
        _Stream._current = self._prev

    @property
    def done(self) -> bool:
        return True


class _Event:
    """Stand-in ``cupy.cuda.Event`` recording the host clock."""

    def __init__(self, block: bool = False, disable_timing: bool = False, interprocess=False):
        self.t = None

    def record(self, stream=None) -> None:
        import time

        self.t = time.perf_counter()

    def synchronize(self) -> None:
        pass

    @property
    def done(self) -> bool:
        return True


def _get_elapsed_time(start: _Event, end: _Event) -> float:
    return (end.t - start.t) * 1000.0


_Stream._current = _Stream()
_Stream.null = _Stream._current


def _get_current_stream(device_id: int | None = None):
    return _Stream._current


class _Runtime:
    """Stand-in ``cupy.cuda.runtime``."""

    CUDARuntimeError = RuntimeError

    @staticmethod
    def getDeviceCount() -> int:  # noqa: N802
        return _N_DEVICES

    @staticmethod
    def getDeviceProperties(i: int) -> dict:  # noqa: N802
        return {
            "name": b"Fake CuPy Device (test stand-in)",
            "totalGlobalMem": 80 * 2**30,
            "major": 9,
            "minor": 0,
            "multiProcessorCount": 132,
        }

    @staticmethod
    def runtimeGetVersion() -> int:  # noqa: N802
        return 12040

    @staticmethod
    def getDevice() -> int:  # noqa: N802
        return _current[0]


class _MemoryPool:
    """Stand-in memory pool with a fixed figure."""

    def used_bytes(self) -> int:
        return 1024

    def total_bytes(self) -> int:
        return 4096

    def free_all_blocks(self) -> None:
        pass


_pool = _MemoryPool()


def get_default_memory_pool():
    return _pool


def get_default_pinned_memory_pool():
    return _pool


def asarray(a, dtype=None, order=None):
    """To the (stand-in) device: a copy when the array is on another device or on the host."""
    if isinstance(a, ndarray):
        if a._dev == _current[0] and (dtype is None or np.dtype(dtype) == a.dtype):
            return a
        return _wrap(np.array(a.view(np.ndarray), dtype=dtype))
    stats["put"] += 1
    return _wrap(np.array(a, dtype=dtype))


def array(a, dtype=None, copy=True, order="K", ndmin=0):
    if not isinstance(a, ndarray):
        stats["put"] += 1
    return _wrap(np.array(_plain(a), dtype=dtype, copy=copy, order=order, ndmin=ndmin))


def asnumpy(a, stream=None, order="C", out=None):
    """To host (counted)."""
    stats["asnumpy"] += 1
    if isinstance(a, ndarray):
        return np.array(a.view(np.ndarray))
    return np.asarray(a)


def get_array_module(*args):
    return sys.modules[__name__] if any(isinstance(a, ndarray) for a in args) else np


class ElementwiseKernel:
    """Stand-in ``cupy.ElementwiseKernel``: runs a Python function given as ``_py`` via NumPy."""

    def __init__(self, in_params, out_params, operation, name="kernel", _py=None, **kw):
        if _py is None:  # ember's kernels: run the registered NumPy reference
            from ember._backend.kernels import REFERENCE

            _py = REFERENCE[name.removeprefix("ember_")]
        self.in_params, self.out_params, self.operation, self.name = (
            in_params,
            out_params,
            operation,
            name,
        )
        self._py = _py

    def __call__(self, *args, **kw):
        stats["kernels"] += 1
        _check_no_host(args)
        return _wrap(self._py(*_plain(args)))


def fuse(*a, **k):
    """Stand-in ``cupy.fuse``: the plain function."""

    def deco(f):
        return f

    return deco(a[0]) if a and callable(a[0]) else deco


class _Random(_Proxy):
    """Stand-in ``cupy.random`` over a NumPy generator."""

    def __init__(self):
        super().__init__("cupy.random", np.random.RandomState(0))

    def seed(self, s=None) -> None:
        self._src.seed(None if s is None else int(s) % 2**32)

    def random_sample(self, size=None, dtype=float):
        return _wrap(self._src.random_sample(size).astype(dtype))


cuda = types.ModuleType("cupy.cuda")
cuda.Device = _Device
cuda.Stream = _Stream
cuda.Event = _Event
cuda.runtime = _Runtime
cuda.get_elapsed_time = _get_elapsed_time
cuda.get_current_stream = _get_current_stream
cuda.is_available = lambda: True
random = _Random()
linalg = _Proxy("cupy.linalg", np.linalg)
fft = _Proxy("cupy.fft", np.fft)
lib = types.ModuleType("cupy.lib")
lib.stride_tricks = _Proxy("cupy.lib.stride_tricks", np.lib.stride_tricks)
_base = _Proxy("cupy._base", np)


def __getattr__(name):
    return getattr(_base, name)


def reset() -> None:
    """Zero the counters and return to device 0."""
    for k in stats:
        stats[k] = 0
    _current[0] = 0
