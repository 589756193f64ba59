"""torch's type promotion for a binary op: the result dtype of two operands (Tensors or scalars),
from their categories (dimensioned tensors, zero-dim tensors, Python scalars)."""

from __future__ import annotations

import numpy as np

from .. import dtypes
from ..tensor import Tensor


def _dt_state(x):
    """Classify one operand for result_type: (dim dtype, zero-dim dtype, wrapped dtype)."""
    if isinstance(x, Tensor):
        d = (
            dtypes._FROM_NP[x._data.dtype]
            if x._data.dtype in dtypes._FROM_NP
            else dtypes.from_numpy_dtype(x._data.dtype)
        )
        return (d, None, None) if x._data.ndim else (None, d, None)
    return (None, None, dtypes.scalar_dtype(x))


_RT_CACHE: dict = {}


def result_np_dtype(a, b):
    """torch's result dtype of a binary op between ``a`` and ``b`` (Tensors or scalars)."""
    ka = _key(a)
    kb = _key(b)
    key = (ka, kb, dtypes._default)
    r = _RT_CACHE.get(key)
    if r is None:
        sa, sb = _dt_state(a), _dt_state(b)
        parts = []
        for x, y in zip(sa, sb):
            parts.append(x if y is None else (y if x is None else dtypes.promote_types(x, y)))
        r = dtypes.result_type_parts(*parts).np
        _RT_CACHE[key] = r
    return r


def _key(x):
    if isinstance(x, Tensor):
        return (x._data.dtype, x._data.ndim == 0)
    if isinstance(x, np.generic):
        return (x.dtype, None)
    return type(x)
