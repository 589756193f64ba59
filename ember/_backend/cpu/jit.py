"""Fused CPU loops compiled by Numba, where it is installed (``pip install 'ember[jit]'``).

Why: NumPy runs an expression as one pass over memory per ufunc call, and a pass costs about the
same whatever it computes (nanoGPT's 393K float32 activations, 2-core EPYC, 2026-12-05: 18-35 us
a pass). The exact GELU's normal CDF takes some 30 of them (0.91 ms; torch's whole GELU: 0.11
on two threads), a layer norm's rows ten. One compiled loop computes the same formula element
by element in registers, vectorised by LLVM: the GELU in 0.36 ms on one thread. Numba is not a
dependency: without it (or with ``EMBER_JIT=0`` in the environment) every op keeps its NumPy
path, which the kernels' results match to float rounding.

A kernel is a plain Python function of NumPy arrays, written next to the op that calls it and
wrapped in ``Kernel``. It stays runnable as Python (the tests run it so on small arrays where
Numba is missing), and the first ``run`` compiles it: nopython, ``nogil`` (ember's threads can
split it), NumPy's error model (1/0 is inf, not an exception), cached on disk by Numba. A kernel
that fails to compile, or any Numba import error, turns into ``run`` answering False: the caller
then runs its NumPy path. Kernels compute in IEEE arithmetic, as NumPy does, except that one
may let LLVM reorder its additions (``kernel(reassoc=True)``) so that a sum is vectorised.
"""

from __future__ import annotations

import os
import threading

import numpy as np

from . import threads

_lock = threading.Lock()
_numba: list = []  # [] until tried; then [module] or [None]
_helpers: list = []  # functions kernels call (``helper``), registered with Numba when it loads


def pow2_f32(n):
    """2.0**n as float32 for an integer n in [-126, 127] (a normal number): in compiled kernels
    the exponent's bits put in place, one integer shift."""
    return np.float32(2.0 ** int(n))


# 2**f - 1 = f * Q(f) for f in [-1/2, 1/2]: a least-squares fit reweighted towards minimax,
# relative error 1.1e-8 (a tenth of a float32 ulp); the leading 1 added last keeps the rounding
# of the small term from mattering
_Q = tuple(
    np.float32(c)
    for c in (
        0.6931471824645996,
        0.24022649228572845,
        0.05550357326865196,
        0.009618237614631653,
        0.0013390736421570182,
        0.00015403558791149408,
    )
)
_Q0, _Q1, _Q2, _Q3, _Q4, _Q5 = _Q
_HALF = np.float32(0.5)
_ONE = np.float32(1.0)
_LOWEST = np.float32(-126.0)
_ZERO = np.float32(0.0)


def exp2_f32(u):
    """2**u for a float32 u <= 0 (a NaN or u <= -126 gives 0): u = n + f with |f| <= 1/2, the
    polynomial for 2**f, then the exponent n put in its bits. Within an ulp of the exact value;
    the same arithmetic in Python and compiled."""
    v = u if u > _LOWEST else _LOWEST
    n = np.floor(v + _HALF)
    f = v - n
    r = _Q5 * f + _Q4
    r = r * f + _Q3
    r = r * f + _Q2
    r = r * f + _Q1
    r = r * f + _Q0
    r = _ONE + f * r
    r = r * pow2_f32(n)
    return r if v > _LOWEST else _ZERO


# e**r = 1 + r + r^2 P(r) for |r| <= ln(2) / 2: a least-squares fit reweighted towards minimax,
# relative error 3.1e-9; ln 2 in two parts, the first with 14 significant bits so that n times it
# is exact for the |n| <= 128 used
_P0, _P1, _P2, _P3, _P4 = (
    np.float32(c)
    for c in (
        0.4999999403953552,
        0.1666652113199234,
        0.041668377816677094,
        0.008368716575205326,
        0.0013815098209306598,
    )
)
_LN2_HI = np.float32(0.693145751953125)
_LN2_LO = np.float32(1.428606765330187e-06)
_LOG2E = np.float32(1.4426950408889634)
_EXP_HI = np.float32(88.72283)  # the largest float32 whose exp is finite
_EXP_LO = np.float32(-87.33654)  # below: exp is under float32's smallest normal, given as 0
_TWO = np.float32(2.0)
_INF = np.float32(np.inf)


def exp_f32(u):
    """e**u for a float32 u: u = n ln 2 + r with |r| <= ln(2) / 2 (r exact to float32 through
    the split ln 2), the polynomial for e**r, then 2**n in the exponent's bits. inf past
    88.72, 0 below -87.34 (a subnormal result flushed), NaN for NaN; within about an ulp, and
    the same arithmetic in Python and compiled. Written with selects, not branches, so that a
    loop calling it is vectorised."""
    ok = (u >= _EXP_LO) & (u <= _EXP_HI)  # False for NaN
    v = u if ok else _ZERO
    n = np.floor(v * _LOG2E + _HALF)
    r = (v - n * _LN2_HI) - n * _LN2_LO
    p = _P4 * r + _P3
    p = p * r + _P2
    p = p * r + _P1
    p = p * r + _P0
    e = _ONE + r + r * r * p
    top = n > 127  # 2**128 is past float32's range: 2**127 twice
    e = e * pow2_f32(np.float32(127.0) if top else n) * (_TWO if top else _ONE)
    if ok:
        return e
    return _INF if u > _EXP_HI else (_ZERO if u < _EXP_LO else u)


def _load():
    """The numba module with ember's helpers registered, or None."""
    if _numba:
        return _numba[0]
    with _lock:
        if _numba:
            return _numba[0]
        mod = None
        if os.environ.get("EMBER_JIT", "1") != "0":
            try:  # optional dependency (the jit extra); any failure leaves the NumPy paths
                import numba
                from numba import types
                from numba.extending import intrinsic, overload, register_jitable

                @intrinsic
                def _i32_as_f32(typingctx, v):
                    def codegen(context, builder, signature, args):
                        return builder.bitcast(args[0], context.get_value_type(types.float32))

                    return types.float32(types.int32), codegen

                @overload(pow2_f32)
                def _pow2_f32(n):
                    def impl(n):
                        return _i32_as_f32((np.int32(n) + np.int32(127)) << np.int32(23))

                    return impl

                register_jitable(exp2_f32)
                register_jitable(exp_f32)
                for fn in _helpers:
                    register_jitable(fn)
                # NUMBA_DISABLE_JIT=1 makes njit return the Python function: ember's loops would
                # then run element by element in the interpreter, far slower than the NumPy paths
                mod = None if numba.config.DISABLE_JIT else numba
            except Exception:  # noqa: BLE001  (an incompatible Numba: as if absent)
                mod = None
        _numba.append(mod)
        return mod


def helper(fn):
    """Decorator: ``fn`` as a function that kernels call, compiled into them (Numba's
    ``register_jitable``) once Numba loads; in Python it stays the plain function. For a step
    that several kernels of one op share (the depthwise convolution's phase copies)."""
    with _lock:
        _helpers.append(fn)
        mod = _numba[0] if _numba else None
    if mod is not None:  # Numba loaded before this module: register it now
        mod.extending.register_jitable(fn)
    return fn


def loaded() -> bool:
    """Whether Numba is loaded in this process already (a kernel has run). Loops that gain too
    little to pay for loading it (about 110 MB of Numba and LLVM) run compiled only then."""
    return bool(_numba) and _numba[0] is not None


def available() -> bool:
    """Whether kernels compile here: Numba imports, and ``EMBER_JIT`` is not ``0``."""
    return _load() is not None


class Kernel:
    """A Python loop over NumPy arrays, compiled by Numba at its first ``run``."""

    __slots__ = ("py", "_compiled", "_failed", "_flags")

    def __init__(self, fn, reassoc: bool = False) -> None:
        self.py = fn
        self._compiled = None
        self._failed = False
        self._flags = {"fastmath": {"reassoc"}} if reassoc else {}

    def run(self, *args) -> bool:
        """Call the compiled kernel on ``args``; False (nothing run) where it cannot be: no
        Numba, or the kernel failed to compile (Numba compiles once per kind of argument, at
        its first call)."""
        f = self._compiled
        if f is None:
            if self._failed:
                return False
            numba = _load()
            if numba is None:
                self._failed = True
                return False
            with _lock:
                if self._compiled is None:
                    opts = dict(nogil=True, error_model="numpy", **self._flags)
                    try:
                        self._compiled = numba.njit(cache=True, **opts)(self.py)
                    except Exception:  # noqa: BLE001  (no writable cache directory)
                        self._compiled = numba.njit(**opts)(self.py)
            f = self._compiled
        try:
            f(*args)
        except Exception as e:
            if not isinstance(e, _numba[0].core.errors.NumbaError):
                raise
            self._failed = True  # a typing or lowering error: the callers' NumPy paths run
            self._compiled = None
            return False
        return True


def kernel(fn=None, *, reassoc: bool = False):
    """Decorator: ``fn`` as a ``Kernel``. ``reassoc=True`` lets LLVM reorder additions, which a
    sum needs to be vectorised (IEEE order is one add at a time): the kernel's sums then follow
    the vector width, so their last bits may differ between instruction sets, as NumPy's SIMD
    reductions and the BLAS's do."""
    if fn is None:
        return lambda f: Kernel(f, reassoc)
    return Kernel(fn, reassoc)


def flat_views(arrays, dtypes: tuple):
    """1-d views of C-contiguous NumPy arrays of one size and one of ``dtypes`` (all the same),
    the way a loop over flat indices takes them; None where any is not one."""
    a0 = arrays[0]
    dt, n = a0.dtype, a0.size
    if dt not in dtypes:
        return None
    out = []
    for a in arrays:
        if type(a) is not np.ndarray or a.dtype != dt or a.size != n or not a.flags.c_contiguous:
            return None
        out.append(a.reshape(-1))
    return out


# Row loops that move little per value (layer norm's rows, attention's softmax) split only from
# this size: measured (2026-12-05, one thread vs two), layer norm over BERT's 1 MiB of rows
# forward 128 vs 154 us and forward + backward 319 vs 424, the softmax over its 2 MiB of scores
# 0.26 vs 0.26 ms; where the elementwise GELU and SiLU loops gain from 1 MiB (SiLU on 4 MiB:
# 0.43 vs 0.29 ms)
ROWS_SPLIT_BYTES = 8 << 20


def split(n: int, part, nbytes: int, min_bytes: int = threads.MIN_SPLIT_BYTES):
    """``part(lo, hi)`` over ``range(n)``: ``part(0, 1)`` alone first, then ``[1, n)`` split
    across ember's threads when the data (``nbytes``) is ``min_bytes`` or more. The parts'
    results in order, or None where the first answers None or False (its kernel cannot run).
    The first part compiles the kernel (or finds it refused) before any thread starts, and each
    index is done once, which in-place kernels need."""
    first = part(0, 1)
    if first is None or first is False:
        return None
    if n == 1:
        return [first]
    nbytes = nbytes if nbytes >= min_bytes else 0  # 0: one part, in this thread
    return [first] + threads.prange(n - 1, lambda lo, hi: part(lo + 1, hi + 1), nbytes)


def run_split(k: Kernel, arrays: list, scalars: tuple = ()) -> bool:
    """``k(*arrays, *scalars)`` for an elementwise kernel over 1-d arrays of one size, split as
    ``split`` does; False where the kernel cannot run."""
    a0 = arrays[0]

    def part(lo, hi):
        return k.run(*(a[lo:hi] for a in arrays), *scalars)

    return a0.size > 0 and split(a0.size, part, a0.nbytes) is not None
