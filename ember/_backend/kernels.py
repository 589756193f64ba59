"""The registry of fused CUDA elementwise kernels (CuPy ``ElementwiseKernel``), built on first use.

Each kernel replaces a chain of CuPy calls (one launch and one pass over memory each) with one
launch. A kernel is declared beside the op that calls it, with ``@kernels.fused(...)`` on its
NumPy reference; ops call it only with CuPy arrays, so the NumPy path never launches one.
``REFERENCE`` holds, for each kernel, the NumPy function computing the same thing with the same
arguments: it documents the kernel, lets GPU tests check the CUDA source, and lets the CPU-only
CuPy stand-in in the tests run the kernels.
"""

from __future__ import annotations

from collections.abc import Callable

from .xp import cupy, cupy_array_type

_SPECS: dict = {}  # name -> (in_params, out_params, CUDA body)
REFERENCE: dict = {}  # name -> NumPy function with the kernel's call signature
KERNELS: dict = {}  # name -> the function that launches the kernel on CuPy arrays
_built: dict = {}  # name -> the compiled ElementwiseKernel (CuPy compiles on first launch)


def fused(name: str, in_params: str, out_params: str, body: str) -> Callable:
    """Declare a kernel: the decorated NumPy function is its reference; the decorator returns
    the function that launches the kernel (built at its first call, never at import)."""
    spec = (in_params, out_params, body)
    if _SPECS.get(name, spec) != spec:
        raise ValueError(f"two fused kernels are named {name!r}")

    def deco(ref: Callable) -> Callable:
        _SPECS[name] = spec
        REFERENCE[name] = ref

        def call(*args):
            k = _built.get(name)
            if k is None:
                k = _built[name] = cupy().ElementwiseKernel(
                    in_params, out_params, body, "ember_" + name
                )
            return k(*args)

        call.__name__ = call.__qualname__ = ref.__name__
        call.__module__ = ref.__module__
        call.__doc__ = ref.__doc__
        KERNELS[name] = call
        return call

    return deco


def on_device(a) -> bool:
    """True for a float32/float64 CuPy array (the only arrays these kernels take)."""
    t = cupy_array_type()
    return t is not None and isinstance(a, t) and a.dtype.char in "fd"
