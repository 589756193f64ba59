"""The ufunc methods ``accumulate``, ``reduce`` and ``at`` for any ufunc on any array module.

NumPy has all three for every binary ufunc. CuPy has ``reduce`` and ``accumulate`` for ``add``
and ``multiply`` only, and ``at`` only for the scatter operations (add, subtract, maximum,
minimum and the bitwise ones); the rest raise NotImplementedError. CuPy's ``maximum.at`` and
``minimum.at`` also round float64 values to float32 (an H200 run gave -5.126999855041504 for
-5.127), so only float32 and 32-bit integers take them. Ops call these helpers
instead, and they take the array module's own method where it has one. Otherwise they build the
result from whole-array calls of the ufunc itself:

- ``accumulate`` as a doubling scan: log2(n) steps, each combining every element with the one
  ``step`` places before it. The result is the same for the exact operations (maximum, minimum,
  the bitwise ones); for ``logaddexp`` the sums are grouped differently, so the last bits can
  differ from a left-to-right scan.
- ``reduce`` by folding the reduced axes in halves: log2(n) steps.
- ``at`` in rounds: each round applies the first not yet applied occurrence of every target
  position, so no round writes one position twice and a plain indexed read, combine and write
  is exact. The rounds are as many as the most often repeated position.
"""

from __future__ import annotations

import numpy as np

from .xp import CPU_ARRAY, xp_of

_EXACT_EXTREMA = (np.dtype(np.float32), np.dtype(np.int32), np.dtype(np.uint32))


def _name(ufunc) -> str:
    return ufunc.__name__.removeprefix("cupy_")


def _native(ufunc, method: str, a):
    """The ufunc's own method when the array module runs it, else None."""
    if type(a) is CPU_ARRAY or xp_of(a) is np:
        return getattr(ufunc, method)
    if method in ("reduce", "accumulate") and _name(ufunc) in ("add", "multiply"):
        return getattr(ufunc, method)
    if method == "at" and _name(ufunc) in (
        "add", "subtract", "bitwise_and", "bitwise_or", "bitwise_xor",
    ):  # fmt: skip
        return ufunc.at
    if method == "at" and _name(ufunc) in ("maximum", "minimum") and a.dtype in _EXACT_EXTREMA:
        return ufunc.at
    return None


def accumulate(ufunc, a, axis: int = 0):
    """``ufunc.accumulate(a, axis=axis)`` for a binary ufunc, in ``a``'s dtype."""
    own = _native(ufunc, "accumulate", a)
    return own(a, axis=axis) if own is not None else scan(ufunc, a, axis)


def scan(ufunc, a, axis: int = 0):
    """``accumulate`` by the doubling scan (any array module)."""
    n = a.shape[axis]
    r = a.copy()
    head = (slice(None),) * (axis % a.ndim)
    step = 1
    while step < n:
        # the right side is computed in full before the write: every element combines with
        # the value ``step`` places back from the previous step
        r[head + (slice(step, None),)] = ufunc(
            r[head + (slice(step, None),)], r[head + (slice(0, n - step),)]
        )
        step *= 2
    return r


def reduce(ufunc, a, axis=None, keepdims: bool = False):
    """``ufunc.reduce(a, axis=axis, keepdims=keepdims)`` for a binary ufunc with an identity
    (``axis``: an int, a tuple or None for all)."""
    own = _native(ufunc, "reduce", a)
    return (
        own(a, axis=axis, keepdims=keepdims) if own is not None else fold(ufunc, a, axis, keepdims)
    )


def fold(ufunc, a, axis=None, keepdims: bool = False):
    """``reduce`` by folding in halves (any array module)."""
    xp = xp_of(a)
    nd = a.ndim
    axes = tuple(range(nd)) if axis is None else (axis,) if isinstance(axis, int) else axis
    axes = tuple(sorted(d % nd for d in axes)) if nd else ()
    keep = [d for d in range(nd) if d not in axes]
    kept_shape = tuple(a.shape[d] for d in keep)
    r = xp.transpose(a, keep + list(axes)).reshape(kept_shape + (-1,))
    if r.shape[-1] == 0:
        r = xp.full(kept_shape + (1,), ufunc.identity, a.dtype)
    while r.shape[-1] > 1:
        m = r.shape[-1]
        half = m // 2
        folded = ufunc(r[..., :half], r[..., half : 2 * half])
        r = folded if m % 2 == 0 else xp.concatenate([folded, r[..., 2 * half :]], axis=-1)
    r = r[..., 0]
    if keepdims:
        r = r.reshape(tuple(1 if d in axes else a.shape[d] for d in range(nd)))
    return r


def at(ufunc, a, key, b) -> None:
    """``ufunc.at(a, key, b)``: ``a[key] = ufunc(a[key], b)`` with repeated positions applied
    once each (``key``: an integer array or a tuple of them, as advanced indexing takes)."""
    own = _native(ufunc, "at", a)
    if own is not None:
        own(a, key, b)
    else:
        in_rounds(ufunc, a, key, b)


def in_rounds(ufunc, a, key, b) -> None:
    """``at`` in rounds of distinct positions (any array module)."""
    xp = xp_of(a)
    parts = key if isinstance(key, tuple) else (key,)
    parts = xp.broadcast_arrays(*(xp.asarray(k) for k in parts))
    flat = xp.ravel_multi_index(tuple(p.reshape(-1) for p in parts), a.shape, mode="wrap")
    vals = xp.broadcast_to(xp.asarray(b, dtype=a.dtype), parts[0].shape).reshape(-1)
    target = a.reshape(-1) if a.flags.c_contiguous else None
    order = xp.argsort(flat, kind="stable")
    flat, vals = flat[order], vals[order]
    # rank of each occurrence among those of its position: 0 for the first, 1 for the next...
    pos = xp.arange(flat.size)
    new = xp.ones(flat.size, bool)
    new[1:] = flat[1:] != flat[:-1]
    start = scan(xp.maximum, xp.where(new, pos, 0))
    rank = pos - start
    for k in range(int(rank.max()) + 1 if rank.size else 0):
        sel = rank == k
        idx, v = flat[sel], vals[sel]
        if target is not None:
            target[idx] = ufunc(target[idx], v)
        else:
            where = xp.unravel_index(idx, a.shape)
            a[where] = ufunc(a[where], v)
