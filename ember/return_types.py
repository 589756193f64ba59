"""torch.return_types: the named-tuple classes of ops that return several tensors.

Each name is the class the op itself builds, so ``isinstance(torch.max(x, 0),
torch.return_types.max)`` holds. They are namedtuples standing in for torch's structseqs, with
the same names, fields, order and repr, and, as in torch, each is a pytree node of its own
(children in order, no context). torch's ``*_out`` classes (what its ``out=`` calls return) and
its private ``_linalg_*`` ones are not made by ember's ops, so they are not here.
"""

from __future__ import annotations

from typing import Any

from ._torch_alias import module_getattr as _module_getattr
from .ops._return_types import struct
from .utils._pytree import SequenceKey, register_pytree_node

__all__ = [
    "pytree_register_structseq",
    "all_return_types",
    "aminmax",
    "cummax",
    "cummin",
    "frexp",
    "geqrf",
    "histogram",
    "histogramdd",
    "kthvalue",
    "linalg_cholesky_ex",
    "linalg_eig",
    "linalg_eigh",
    "linalg_inv_ex",
    "linalg_ldl_factor",
    "linalg_ldl_factor_ex",
    "linalg_lstsq",
    "linalg_lu",
    "linalg_lu_factor",
    "linalg_lu_factor_ex",
    "linalg_qr",
    "linalg_slogdet",
    "linalg_solve_ex",
    "linalg_svd",
    "lu_unpack",
    "max",
    "median",
    "min",
    "mode",
    "nanmedian",
    "qr",
    "slogdet",
    "sort",
    "svd",
    "topk",
    "triangular_solve",
]


def _pair(name: str, fields: tuple[str, str] = ("values", "indices")) -> type:
    """The class the ops build for ``name`` (made now if no op has yet)."""
    return struct(name, fields)


def _linalg(name: str, *fields: str) -> type:
    return struct(name, fields)


# the reductions' and sorts' classes
max = _pair("max")
min = _pair("min")
median = _pair("median")
nanmedian = _pair("nanmedian")
mode = _pair("mode")
sort = _pair("sort")
topk = _pair("topk")
kthvalue = _pair("kthvalue")
cummax = _pair("cummax")
cummin = _pair("cummin")
aminmax = _pair("aminmax", ("min", "max"))
frexp = _pair("frexp", ("mantissa", "exponent"))
histogram = _pair("histogram", ("hist", "bin_edges"))
histogramdd = _pair("histogramdd", ("hist", "bin_edges"))

# the linalg decompositions' classes
linalg_solve_ex = _linalg("linalg_solve_ex", "result", "info")
linalg_inv_ex = _linalg("linalg_inv_ex", "inverse", "info")
linalg_slogdet = _linalg("linalg_slogdet", "sign", "logabsdet")
slogdet = _linalg("slogdet", "sign", "logabsdet")
linalg_cholesky_ex = _linalg("linalg_cholesky_ex", "L", "info")
triangular_solve = _linalg("triangular_solve", "solution", "cloned_coefficient")
linalg_qr = _linalg("linalg_qr", "Q", "R")
qr = _linalg("qr", "Q", "R")
geqrf = _linalg("geqrf", "a", "tau")
linalg_eigh = _linalg("linalg_eigh", "eigenvalues", "eigenvectors")
linalg_eig = _linalg("linalg_eig", "eigenvalues", "eigenvectors")
linalg_svd = _linalg("linalg_svd", "U", "S", "Vh")
svd = _linalg("svd", "U", "S", "V")
linalg_lstsq = _linalg("linalg_lstsq", "solution", "residuals", "rank", "singular_values")
linalg_lu = _linalg("linalg_lu", "P", "L", "U")
linalg_lu_factor_ex = _linalg("linalg_lu_factor_ex", "LU", "pivots", "info")
linalg_lu_factor = _linalg("linalg_lu_factor", "LU", "pivots")
lu_unpack = _linalg("lu_unpack", "P", "L", "U")
linalg_ldl_factor_ex = _linalg("linalg_ldl_factor_ex", "LD", "pivots", "info")
linalg_ldl_factor = _linalg("linalg_ldl_factor", "LD", "pivots")

all_return_types: list[type] = [globals()[n] for n in __all__[2:]]


def pytree_register_structseq(cls: type) -> None:
    """Register return-type class ``cls`` as a pytree node: its fields in order, no context."""

    def flatten(value: tuple) -> tuple[list[Any], None]:
        return list(value), None

    def unflatten(values: Any, context: None) -> tuple:
        return cls._make(values)

    def flatten_with_keys(value: tuple) -> tuple[list[tuple[SequenceKey, Any]], None]:
        return [(SequenceKey(i), v) for i, v in enumerate(value)], None

    register_pytree_node(cls, flatten, unflatten, flatten_with_keys_fn=flatten_with_keys)


for _cls in all_return_types:
    pytree_register_structseq(_cls)
del _cls

__getattr__ = _module_getattr(__name__)  # unknown names: a clear not-implemented error
