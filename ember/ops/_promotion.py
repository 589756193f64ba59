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


def result_type_name(*operands) -> str:
    """torch's ScalarType name ('ComplexFloat', ...) of the result dtype of ``operands``
    (Tensors or numbers), for error messages. Where a half tensor meets a complex operand of a
    lower category (a number, or a 0-d tensor beside a dimensioned one) torch's result is
    ComplexHalf, which ember computes in complex64 and so never names elsewhere."""
    parts: list = [None, None, None]  # numbers, 0-d tensors, dimensioned tensors
    for x in operands:
        if isinstance(x, Tensor):
            k, d = (2 if x._data.ndim else 1), x.dtype
        else:
            k, d = 0, dtypes.scalar_dtype(x)
        parts[k] = d if parts[k] is None else dtypes.promote_types(parts[k], d)
    top = next(p for p in reversed(parts) if p is not None)
    if top is dtypes.float16 and any(p is not None and p.is_complex for p in parts):
        return "ComplexHalf"
    return dtypes.scalar_type_name(dtypes.result_type_parts(parts[2], parts[1], parts[0]).name)
