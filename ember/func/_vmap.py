"""torch.func.vmap: map a function over a dimension of its inputs.

First ember runs the function once on batched arrays (``_batched.py``): each op computes on the
whole batch while seeing one sample. When that cannot be exact (an op outside what batched
arrays map, data-dependent control flow that differs between samples, inputs or outputs that
carry an outer autograd graph, randomness='different'), it runs the function once per sample
and stacks the results, which is correct by construction for any function.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import numpy as np

from ..ops.join import stack
from ..random import default_generator
from ..tensor import Tensor, _wrap
from ._batched import ACTIVE, BatchedArray, Unbatchable
from ._pytree import broadcast_prefix, spec_str, tree_flatten, tree_unflatten

_RANDOMNESS = ("error", "different", "same")


def _fname(func) -> str:
    return getattr(func, "__name__", repr(func))


def _is_dim(p) -> bool:
    return p is None or (isinstance(p, int) and not isinstance(p, bool))


def vmap(
    func: Callable,
    in_dims: Any = 0,
    out_dims: Any = 0,
    randomness: str = "error",
    *,
    chunk_size: int | None = None,
) -> Callable:
    """Vectorise ``func`` over dimension ``in_dims`` of its inputs, as torch.func.vmap.

    ``in_dims``/``out_dims``: an int, None (not mapped), or a nested tuple matching the inputs
    (outputs). ``randomness``: 'error' raises when ``func`` draws random numbers, 'different'
    gives each sample its own draws, 'same' the same draws for all. ``chunk_size`` is accepted.
    """
    if randomness not in _RANDOMNESS:
        raise RuntimeError(
            "Only allowed values for randomness are 'error', 'different', or 'same'. "
            f"Got {randomness}"
        )
    if chunk_size is not None and (not isinstance(chunk_size, int) or chunk_size <= 0):
        raise ValueError(f"vmap: chunk_size should be None or greater than 0. (got {chunk_size})")

    @functools.wraps(func)
    def wrapped(*args, **kwargs):
        return _vmap_call(func, in_dims, out_dims, randomness, args, kwargs, batchable)

    # cleared once the batched run of this function falls back: later calls go per sample
    # directly (no double run of its side effects, no wasted batched attempt)
    batchable = [True]

    return wrapped


def _flat_in_dims(func, in_dims, args) -> list:
    name = _fname(func)
    if not isinstance(in_dims, (int, tuple)) or isinstance(in_dims, bool):
        raise ValueError(
            f"vmap({name}, in_dims={in_dims}, ...)(<inputs>): expected `in_dims` to be int or a "
            "(potentially nested) tuple matching the structure of inputs, got: "
            f"{type(in_dims)}."
        )
    if isinstance(in_dims, int):
        in_dims = (in_dims,) * len(args)
    flat = broadcast_prefix(in_dims, args, _is_dim)
    if flat is None:
        raise ValueError(
            f"vmap({name}, in_dims={in_dims}, ...)(<inputs>): in_dims is not compatible with "
            f"the structure of `inputs`. in_dims has structure {spec_str(tree_flatten(in_dims)[1])}"
            f" but inputs has structure {spec_str(tree_flatten(args)[1])}."
        )
    return flat


def _batch_size(func, in_dims, leaves, dims) -> int:
    name = _fname(func)
    sizes = []
    for x, d in zip(leaves, dims):
        if d is None:
            continue
        if not isinstance(x, Tensor):
            raise ValueError(
                f"vmap({name}, in_dims={in_dims}, ...)(<inputs>): Got in_dim={d} for an input "
                f"but the input is of type {type(x)}. We cannot vmap over non-Tensor arguments, "
                "please use None as the respective in_dim"
            )
        r = x.dim()
        if not -r <= d < r:
            raise ValueError(
                f"vmap({name}, in_dims={in_dims}, ...)(<inputs>): Got in_dim={d} for some "
                f"input, but that input is a Tensor of dimensionality {r} so expected in_dim to "
                f"satisfy -{r} <= in_dim < {r}."
            )
        sizes.append(x.shape[d])
    if not sizes:
        raise ValueError("vmap: Expected at least one Tensor to vmap over")
    if any(s != sizes[0] for s in sizes):
        raise ValueError(
            "vmap: Expected all tensors to have the same size in the mapped dimension, got "
            f"sizes {sizes} for the mapped dimension"
        )
    if sizes[0] == 0:
        raise RuntimeError("ember's vmap does not map over a dimension of size 0 yet")
    return sizes[0]


_level = ACTIVE  # the innermost active batched vmap (0: none), shared with _batched.py


def _rng_state() -> bytes:
    """The default generator's state (torch's byte layout), to restore or compare."""
    return default_generator.get_state().numpy().tobytes()


def _set_rng_state(state: bytes) -> None:
    default_generator.set_state(_wrap(np.frombuffer(state, np.uint8).copy()))


def _vmap_call(func, in_dims, out_dims, randomness, args, kwargs, batchable=None):
    dims = _flat_in_dims(func, in_dims, args)
    leaves, spec = tree_flatten(args)
    n = _batch_size(func, in_dims, leaves, dims)
    start = _rng_state()
    graph = any(isinstance(v, Tensor) and v.requires_grad for v in leaves + tree_flatten(kwargs)[0])
    if not graph and not _force_loop[0] and (batchable is None or batchable[0]):
        res = _batched_call(func, dims, leaves, spec, kwargs, out_dims, randomness, start, n)
        if res is not _FALLBACK:
            return res
        if batchable is not None and randomness != "different":
            batchable[0] = False
        _set_rng_state(start)  # the per-sample run draws what it would have drawn alone
    results = []
    for i in range(n):
        if randomness == "same":
            _set_rng_state(start)
        sample = [x if d is None else x.select(d, i) for x, d in zip(leaves, dims)]
        results.append(func(*tree_unflatten(sample, spec), **kwargs))
        if i == 0 and randomness == "error" and _rng_state() != start:
            raise RuntimeError(
                "vmap: called random operation while in randomness error mode. Please either "
                "use the 'same' or 'different' randomness flags on vmap or perform the "
                "randomness operation out of vmap"
            )
    return _stack_outputs(func, out_dims, results)


def _stack_outputs(func, out_dims, results):
    name = _fname(func)
    flats = [tree_flatten(r) for r in results]
    out_leaves, out_spec = flats[0]
    if not isinstance(out_dims, (int, tuple)) or isinstance(out_dims, bool):
        if out_dims is not None:
            raise ValueError(
                f"vmap({name}, ..., out_dims={out_dims}): expected `out_dims` to be int or a "
                f"(potentially nested) tuple matching the structure of outputs, got: "
                f"{type(out_dims)}."
            )
    dims = broadcast_prefix(out_dims, results[0], _is_dim)
    if dims is None:
        raise ValueError(
            f"vmap({name}, ..., out_dims={out_dims})(<inputs>): out_dims is not compatible with "
            f"the structure of `outputs`. out_dims has structure "
            f"{spec_str(tree_flatten(out_dims)[1])} but outputs has structure "
            f"{spec_str(out_spec)}."
        )
    stacked = []
    for k, d in enumerate(dims):
        col = [f[0][k] for f in flats]
        first = col[0]
        if d is None:
            if isinstance(first, Tensor) and any(
                c is not first and not _same_tensor(c, first) for c in col[1:]
            ):
                raise ValueError(
                    f"vmap({name}, ...): `{name}` can not return a BatchedTensor when out_dim "
                    "is None"
                )
            stacked.append(first)
            continue
        if not isinstance(first, Tensor) or not all(isinstance(c, Tensor) for c in col):
            bad = next(type(c) for c in col if not isinstance(c, Tensor))
            raise ValueError(
                f"vmap({name}, ...): `{name}` must only return Tensors, got type {bad}. Did you "
                "mean to set out_dims= to None for output?"
            )
        r = first.dim() + 1
        if not -r <= d < r:
            raise IndexError(
                f"Dimension out of range (expected to be in range of [{-r}, {r - 1}], but got {d})"
            )
        stacked.append(stack(col, d))
    return tree_unflatten(stacked, out_spec)


def _same_tensor(a, b) -> bool:
    if not isinstance(b, Tensor) or a.shape != b.shape or a.dtype != b.dtype:
        return False
    return bool((a.detach() == b.detach()).all())


_FALLBACK = object()
_debug = [False]  # tests set it to see why a batched run fell back
_force_loop = [False]  # tests set it to check the per-sample path on its own


def _batched_call(func, dims, leaves, spec, kwargs, out_dims, randomness, start, n):
    """The function run once on batched arrays; ``_FALLBACK`` when that cannot be exact."""
    level = _level[0] + 1
    prev = _level[0]
    _level[0] = level
    try:
        sample = []
        for x, d in zip(leaves, dims):
            if d is None:
                sample.append(x)
                continue
            a = x._data
            sample.append(_wrap(BatchedArray(np.moveaxis(a, d, 0) if d else a, level)))
        out = func(*tree_unflatten(sample, spec), **kwargs)
        if _rng_state() != start:
            if randomness == "error":
                raise RuntimeError(
                    "vmap: called random operation while in randomness error mode. Please "
                    "either use the 'same' or 'different' randomness flags on vmap or perform "
                    "the randomness operation out of vmap"
                )
            if randomness == "different":
                return _FALLBACK
        return _unbatch_outputs(out, out_dims, level, n)
    except (Unbatchable, _Unfit):
        if _debug[0]:
            raise
        return _FALLBACK
    except RuntimeError as e:
        if str(e).startswith("vmap: called random operation"):
            raise
        return _FALLBACK
    except Exception:  # the per-sample run gives the genuine error, or the right answer
        if _debug[0]:
            raise
        return _FALLBACK
    finally:
        _level[0] = prev


class _Unfit(Exception):
    """An output the batched run cannot return as torch would: let the per-sample run decide."""


def _unbatch_outputs(out, out_dims, level, n):
    leaves, spec = tree_flatten(out)
    if not isinstance(out_dims, (int, tuple)) or isinstance(out_dims, bool):
        if out_dims is not None:
            raise _Unfit
    dims = broadcast_prefix(out_dims, out, _is_dim)
    if dims is None:
        raise _Unfit
    res = []
    for v, d in zip(leaves, dims):
        batched = isinstance(v, Tensor) and _level_of(v._data) == level
        if isinstance(v, Tensor) and v.requires_grad:
            raise _Unfit  # its graph runs through batched arrays: the per-sample run keeps it
        if d is None:
            if batched:
                raise _Unfit
            res.append(v)
            continue
        if not isinstance(v, Tensor):
            raise _Unfit
        r = v.dim() + 1
        if not -r <= d < r:
            raise _Unfit
        d %= r
        a = v._data
        if batched:
            p = a.p
            res.append(_wrap(np.moveaxis(p, 0, d) if d else p))
        else:
            e = np.expand_dims(a, d)
            shape = list(e.shape)
            shape[d] = n
            res.append(_wrap(np.broadcast_to(e, tuple(shape)).copy()))
    return tree_unflatten(res, spec)


def _level_of(a) -> int:
    return a.level if type(a) is BatchedArray else 0
