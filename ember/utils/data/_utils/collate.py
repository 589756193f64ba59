"""Collation: turning a list of samples into a batch (``default_collate``), and converting a
sample's NumPy parts to tensors (``default_convert``), with torch's rules and output structure.
"""

from __future__ import annotations

import collections.abc
import copy
import re
from collections.abc import Callable
from typing import Any

import numpy as np

from ...._backend.xp import is_cpu
from ....ops.creation import as_tensor, tensor
from ....ops.join import stack
from ....tensor import Tensor, _wrap
from ..dataset import GatheredBatch

__all__ = ["default_collate", "default_convert", "collate", "default_collate_fn_map"]

np_str_obj_array_pattern = re.compile(r"[SaUO]")

default_collate_err_msg_format = (
    "default_collate: batch must contain tensors, numpy arrays, numbers, dicts or lists; found {}"
)


def _as_tensor(x) -> Tensor:
    return as_tensor(x)


def default_convert(data: Any) -> Any:
    """NumPy arrays and scalars inside ``data`` become tensors; containers keep their shape."""
    t = type(data)
    if isinstance(data, Tensor):
        return data
    if t.__module__ == "numpy" and t.__name__ not in ("str_", "string_", "bytes_"):
        if t is np.ndarray and np_str_obj_array_pattern.search(data.dtype.str) is not None:
            return data
        return _as_tensor(data)
    if isinstance(data, collections.abc.Mapping):
        try:
            if isinstance(data, collections.abc.MutableMapping):
                clone = copy.copy(data)
                clone.update({k: default_convert(data[k]) for k in data})
                return clone
            return t({k: default_convert(data[k]) for k in data})
        except TypeError:
            return {k: default_convert(data[k]) for k in data}
    if isinstance(data, tuple) and hasattr(data, "_fields"):
        return t(*(default_convert(d) for d in data))
    if isinstance(data, tuple):
        return [default_convert(d) for d in data]
    if isinstance(data, collections.abc.Sequence) and not isinstance(data, (str, bytes)):
        try:
            if isinstance(data, collections.abc.MutableSequence):
                clone = copy.copy(data)
                for i, d in enumerate(data):
                    clone[i] = default_convert(d)
                return clone
            return t([default_convert(d) for d in data])
        except TypeError:
            return [default_convert(d) for d in data]
    return data


def collate_tensor_fn(batch, *, collate_fn_map=None) -> Tensor:
    """Stack along a new first dim; one ``np.stack`` when no autograd or promotion is involved."""
    first = batch[0]
    arr0 = first._data
    if is_cpu(arr0):
        dt = arr0.dtype
        shp = arr0.shape
        plain = True
        for b in batch:
            a = b._data
            if b._rg or not is_cpu(a) or a.dtype != dt or a.shape != shp:
                plain = False
                break
        if plain:
            return _wrap(np.stack([b._data for b in batch]))
    return stack(list(batch), 0)


def collate_numpy_array_fn(batch, *, collate_fn_map=None) -> Tensor:
    elem = batch[0]
    if np_str_obj_array_pattern.search(elem.dtype.str) is not None:
        raise TypeError(default_collate_err_msg_format.format(elem.dtype))
    return collate([_as_tensor(b) for b in batch], collate_fn_map=collate_fn_map)


def collate_numpy_scalar_fn(batch, *, collate_fn_map=None) -> Tensor:
    return _as_tensor(np.array(batch))


def collate_float_fn(batch, *, collate_fn_map=None) -> Tensor:
    return _wrap(np.array(batch, dtype=np.float64))


def collate_int_fn(batch, *, collate_fn_map=None) -> Tensor:
    if all(type(b) is int for b in batch):
        try:
            return _wrap(np.array(batch, dtype=np.int64))
        except OverflowError:
            pass
    return tensor(list(batch))


def collate_str_fn(batch, *, collate_fn_map=None):
    return batch


default_collate_fn_map: dict[type | tuple[type, ...], Callable] = {
    Tensor: collate_tensor_fn,
    np.ndarray: collate_numpy_array_fn,
    (np.bool_, np.number, np.object_): collate_numpy_scalar_fn,
    float: collate_float_fn,
    int: collate_int_fn,
    str: collate_str_fn,
    bytes: collate_str_fn,
}


def collate(batch, *, collate_fn_map: dict | None = None) -> Any:
    """Collate a list of samples, dispatching on the first sample's type through
    ``collate_fn_map`` and recursing into mappings, namedtuples and sequences (as torch)."""
    elem = batch[0]
    et = type(elem)
    if collate_fn_map is not None:
        fn = collate_fn_map.get(et)
        if fn is not None:
            return fn(batch, collate_fn_map=collate_fn_map)
        for key, fn in collate_fn_map.items():
            if isinstance(elem, key):
                return fn(batch, collate_fn_map=collate_fn_map)
    if isinstance(elem, collections.abc.Mapping):

        def merged():
            return {k: collate([d[k] for d in batch], collate_fn_map=collate_fn_map) for k in elem}

        try:
            if isinstance(elem, collections.abc.MutableMapping):
                clone = copy.copy(elem)
                clone.update(merged())
                return clone
            return et(merged())
        except TypeError:
            return merged()
    if isinstance(elem, tuple) and hasattr(elem, "_fields"):
        return et(*(collate(s, collate_fn_map=collate_fn_map) for s in zip(*batch)))
    if isinstance(elem, collections.abc.Sequence):
        n = len(elem)
        if any(len(e) != n for e in batch):
            raise RuntimeError("each element in list of batch should be of equal size")
        transposed = list(zip(*batch))
        if isinstance(elem, tuple):
            return [collate(s, collate_fn_map=collate_fn_map) for s in transposed]
        try:
            if isinstance(elem, collections.abc.MutableSequence):
                clone = copy.copy(elem)
                for i, s in enumerate(transposed):
                    clone[i] = collate(s, collate_fn_map=collate_fn_map)
                return clone
            return et([collate(s, collate_fn_map=collate_fn_map) for s in transposed])
        except TypeError:
            return [collate(s, collate_fn_map=collate_fn_map) for s in transposed]
    raise TypeError(default_collate_err_msg_format.format(et))


def default_collate(batch) -> Any:
    """Stack a list of samples into a batch, as ``torch.utils.data.default_collate``.

    Tensors are stacked, NumPy arrays/scalars become tensors, Python ints int64, floats float64
    (as torch), bools bool, strings stay a list; tuples become lists of collated fields and
    dicts, namedtuples and lists keep their type. A ``GatheredBatch`` (from a dataset's batched
    ``__getitems__``) is already stacked per field and is returned as that list of fields.
    """
    if type(batch) is GatheredBatch:
        return list(batch.fields)
    return collate(batch, collate_fn_map=default_collate_fn_map)
