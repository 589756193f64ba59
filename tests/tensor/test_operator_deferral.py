"""Tensor operators with an operand they do not take return NotImplemented, as torch's do: the
other operand's reflected method runs (a user type, an fx Proxy), and otherwise Python raises
its own TypeError with torch's message (lists, tuples, None, strings)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import ember

OPS = {
    "+": lambda a, b: a + b,
    "-": lambda a, b: a - b,
    "*": lambda a, b: a * b,
    "/": lambda a, b: a / b,
    "//": lambda a, b: a // b,
    "%": lambda a, b: a % b,
    "**": lambda a, b: a**b,
    "@": lambda a, b: a @ b,
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
    "&": lambda a, b: a & b,
    "|": lambda a, b: a | b,
    "^": lambda a, b: a ^ b,
    "<<": lambda a, b: a << b,
    ">>": lambda a, b: a >> b,
}


class Other:
    """Answers every reflected operator (and the comparisons Python reflects to) with its
    name."""


for _n in [
    "__radd__", "__rsub__", "__rmul__", "__rtruediv__", "__rfloordiv__", "__rmod__", "__rpow__",
    "__rmatmul__", "__rand__", "__ror__", "__rxor__", "__rlshift__", "__rrshift__",
    "__lt__", "__le__", "__gt__", "__ge__",
]:  # fmt: skip
    setattr(Other, _n, (lambda n: lambda self, o: n)(_n))


def _tensor(m, op):
    return m.ones(2, dtype=m.int64) if op in ("&", "|", "^", "<<", ">>") else m.ones(2)


@pytest.mark.parametrize("op", list(OPS))
def test_reflected_method_of_the_other_operand_runs(op):
    got = [OPS[op](_tensor(m, op), Other()) for m in (ember, torch)]
    assert got[0] == got[1]


@pytest.mark.parametrize("other", [[1, 2], (1, 2), None, "a", object()], ids=repr)
@pytest.mark.parametrize("op", ["+", "-", "*", "/", "**", "@", "<", "|", "//"])
def test_unsupported_operands_raise_torchs_type_error(op, other):
    msgs = []
    for m in (ember, torch):
        with pytest.raises(TypeError) as e:
            OPS[op](_tensor(m, op), other)
        msgs.append(str(e.value).replace("ember", "torch"))
    assert msgs[0] == msgs[1]


def test_numbers_arrays_and_matmul_with_an_array():
    for m in (ember, torch):
        t = m.ones(2, 2)
        assert (t + np.float32(2)).dtype == m.float32
        assert (t + np.ones(2)).dtype == m.float64
        r = t @ np.ones((2, 2))
        assert isinstance(r, m.Tensor) and r.dtype == m.float64
        with pytest.raises(TypeError, match="unsupported operand type"):
            np.ones((2, 2)) @ t
        with pytest.raises(TypeError, match="unsupported operand type"):
            t @ 2.0
