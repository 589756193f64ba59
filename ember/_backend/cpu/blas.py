"""Control of the BLAS's own thread pool (OpenBLAS, as NumPy's wheels bundle it), through ctypes.

Convolution runs its matrix products on blocks of images in ember's own threads; each block's
product must then run on one BLAS thread, or the two pools fight over the cores. When the BLAS
in use is not an OpenBLAS whose controls can be found, ``available()`` is False and callers keep
to one Python thread.
"""

from __future__ import annotations

import ctypes
import os
import threading
from contextlib import contextmanager

import numpy  # noqa: F401  (loads the BLAS that _probe finds in the process's maps)

_lock = threading.Lock()
_ctl: list = []  # [] until probed; then [(set, get)] or [None]
_single = [0, 0]  # [threads inside single_threaded(), the BLAS's count before the first entered]
_hold = [False]  # hold_one_thread() in force: one of _single's regions, left open between calls
_others: list = []  # (set, get, path) of the other OpenBLAS copies adopt_loaded() found (SciPy's)


def _probe(skip: frozenset = frozenset()):
    """The (set_num_threads, get_num_threads) pair of the OpenBLAS loaded in this process (the
    first not in ``skip``), and its path."""
    try:
        with open("/proc/self/maps") as f:
            paths = sorted(
                {
                    line.split()[-1]
                    for line in f
                    if "openblas" in line.rsplit("/", 1)[-1].lower() and ".so" in line
                }
            )
    except OSError:  # not Linux: no way to find the library without threadpoolctl
        return None
    # NumPy's own copy first: SciPy and others may load another OpenBLAS beside it
    paths.sort(key=lambda p: "numpy" not in p)
    for path in paths:
        if path in skip:
            continue
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for prefix in ("scipy_openblas", "openblas"):
            for suffix in ("64_", ""):
                setter = getattr(lib, f"{prefix}_set_num_threads{suffix}", None)
                getter = getattr(lib, f"{prefix}_get_num_threads{suffix}", None)
                if setter is not None and getter is not None:
                    setter.argtypes = [ctypes.c_int]
                    setter.restype = None
                    getter.argtypes = []
                    getter.restype = ctypes.c_int
                    return setter, getter, path
    return None


def _controls():
    if not _ctl:
        with _lock:
            if not _ctl:
                _ctl.append(_probe())
    return _ctl[0]


def adopt_loaded() -> None:
    """Give the other OpenBLAS copies loaded since the first probe (SciPy bundles its own) this
    one's thread count, and let set_threads set theirs from now on."""
    c = _controls()
    if c is None:
        return
    with _lock:
        seen = {c[2]} | {o[2] for o in _others}
        while (o := _probe(frozenset(seen))) is not None:
            seen.add(o[2])
            o[0](int(c[1]()) if not _single[0] else _single[1])
            _others.append(o)


_core: list = []  # [] until asked; then [the corename, or ""]
# OpenBLAS kernel sets with 512-bit (AVX-512) matrix products
_WIDE_CORES = ("skylakex", "cooperlake", "sapphirerapids")


def corename() -> str:
    """The kernel set of the OpenBLAS in use (its corename: "Haswell", "SkylakeX", ...), or ""
    where it can't be asked. OPENBLAS_CORETYPE can force an older set than the CPU's."""
    if not _core:
        _core.append(_ask_corename())
    return _core[0]


def _ask_corename() -> str:
    c = _controls()
    if c is None:
        return ""
    try:
        lib = ctypes.CDLL(c[2])
    except OSError:
        return ""
    for fn in (
        "scipy_openblas_get_corename64_",
        "openblas_get_corename64_",
        "openblas_get_corename",
    ):
        f = getattr(lib, fn, None)
        if f is not None:
            f.restype = ctypes.c_char_p
            return (f() or b"").decode(errors="replace").strip()
    return ""


def wide_kernels() -> bool:
    """Whether the BLAS's matrix products run 512-bit kernels (about 1.6x the throughput of
    the AVX2 ones on the same CPU: some algorithm choices turn on it)."""
    return corename().lower() in _WIDE_CORES


def available() -> bool:
    """Whether ember can set the BLAS's thread count."""
    return _controls() is not None


def get_threads() -> int | None:
    """The BLAS's thread count: 1 inside ``single_threaded()``, else the count set (also while
    ``hold_one_thread()`` keeps it on one thread between calls)."""
    c = _controls()
    if c is None:
        return None
    with _lock:
        if _hold[0] and _single[0] == 1:
            return _single[1]
        return int(c[1]())


def set_threads(n: int) -> bool:
    """Set the BLAS's thread count; False when it cannot be controlled."""
    c = _controls()
    if c is None:
        return False
    with _lock:
        if _single[0]:
            _single[1] = int(n)  # applies when the last single-threaded region ends
        else:
            c[0](int(n))
        for o in _others:
            o[0](int(n))
    return True


def _after_fork_in_child() -> None:
    # the threads inside single_threaded() did not come along: give the BLAS its count back
    if _single[0] and _ctl and _ctl[0] is not None:
        _ctl[0][0](_single[1])
    _single[0] = 0
    _hold[0] = False


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


def hold_one_thread() -> None:
    """Keep the BLAS on one thread from now until ``release_hold()`` (``single_threaded()`` left
    open), for every product in between, ember's or NumPy's own (``blas_policy``: while ember's
    threads run a convolution's blocks). ``set_threads`` meanwhile takes effect at the release."""
    c = _controls()
    if c is None or _hold[0]:
        return
    with _lock:
        if _hold[0]:
            return
        if _single[0] == 0:
            _single[1] = int(c[1]())
            c[0](1)
        _single[0] += 1
        _hold[0] = True


def release_hold() -> None:
    """End ``hold_one_thread()``: the BLAS gets its count back (once no ``single_threaded()``
    region is open)."""
    if not _hold[0]:
        return
    with _lock:
        if not _hold[0]:
            return
        _hold[0] = False
        _single[0] -= 1
        if _single[0] == 0:
            _controls()[0](_single[1])


@contextmanager
def single_threaded():
    """Run the BLAS on one thread inside the block (nested and concurrent uses are counted: the
    count in force before the first one is restored when the last one leaves)."""
    c = _controls()
    if c is None:
        yield False
        return
    with _lock:
        if _single[0] == 0:
            _single[1] = int(c[1]())
            c[0](1)
        _single[0] += 1
    try:
        yield True
    finally:
        with _lock:
            _single[0] -= 1
            if _single[0] == 0:
                c[0](_single[1])
