"""torch's symbolic-shape helpers (``torch.sym_int``, ``sym_max``, ...) for eager code: ember has
no symbolic ints or floats, so each is the plain Python operation on numbers, with torch's
result types (a float in ``sym_max``/``sym_min`` makes the result a float)."""

from __future__ import annotations

import math

__all__ = [
    "SymInt",
    "SymFloat",
    "SymBool",
    "sym_int",
    "sym_float",
    "sym_max",
    "sym_min",
    "sym_not",
    "sym_sqrt",
    "sym_sum",
    "sym_ite",
]


class SymInt:
    """torch.SymInt: a symbolic int of traced shapes. ember traces nothing, so no value is one;
    the class is there for annotations and ``isinstance`` checks."""


class SymFloat:
    """torch.SymFloat: a symbolic float (never made by ember; see SymInt)."""


class SymBool:
    """torch.SymBool: a symbolic bool (never made by ember; see SymInt)."""


def sym_int(a) -> int:
    """``int(a)``, truncating towards zero, as torch.sym_int."""
    return math.trunc(a) if isinstance(a, float) else int(a)


def sym_float(a) -> float:
    """``float(a)``, as torch.sym_float."""
    return float(a)


def _promote(r, a, b):
    return float(r) if isinstance(a, float) or isinstance(b, float) else r


def sym_max(a, b):
    """The larger of ``a`` and ``b`` (a float if either is), as torch.sym_max."""
    return _promote(max(a, b), a, b)


def sym_min(a, b):
    """The smaller of ``a`` and ``b`` (a float if either is), as torch.sym_min."""
    return _promote(min(a, b), a, b)


def sym_not(a) -> bool:
    """``not a``, as torch.sym_not."""
    return not a


def sym_sqrt(a) -> float:
    """``math.sqrt(a)``, as torch.sym_sqrt."""
    return math.sqrt(a)


def sym_sum(args):
    """The sum of ``args`` (0 when empty), as torch.sym_sum."""
    return sum(args)


def sym_ite(b, t, f):
    """``t if b else f``, as torch.sym_ite."""
    return t if b else f
