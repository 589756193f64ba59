"""ember's backend: NumPy or CuPy for an array, and all CPU tuning (Chainer's ``backends``).

- ``xp``: the one place that picks the array module (``xp_of``, ``xp_for``), imports CuPy on
  demand, moves arrays between devices and tests where an array lives (``CPU_ARRAY``,
  ``is_cpu``).
- ``kernels``: the registry of fused CUDA kernels (CuPy ``ElementwiseKernel``); each kernel is
  declared beside the op that calls it, with its NumPy reference, by ``@kernels.fused``.
- ``casting``: float to integer/bool conversions with torch's results on every CPU and on CUDA.
- ``determinism``: the ``use_deterministic_algorithms`` flag.
- ``cpu/``: ``runtime`` (process settings made at import, before NumPy loads), ``blas`` (the
  BLAS's own thread count), ``threads`` (ember's thread pool and ``set_num_threads``),
  ``blas_policy`` (when products keep off the BLAS's threads) and ``gemm`` (the products of the
  hot paths under that policy).

Private: the public settings are re-exported by ``ember`` (``set_num_threads``, ...). This file
and ``cpu/__init__.py`` import nothing, so ``ember`` can run ``cpu.runtime.configure()`` before
anything imports NumPy.
"""
