"""Argument parsers of the layer constructors, as ``torch.nn.modules.utils``: ``_pair(3)`` is
``(3, 3)`` and an iterable becomes a tuple as it is (torch code imports them from here).

The convolution and pooling layers parse with ``ember.ops.conv.ntuple`` instead, as their
functional forms do: it also checks the length, converts to int and reads tensors, and raises
torch's convolution error, which these parsers (torch's, unchecked) would not.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from itertools import repeat
from typing import Any


def _ntuple(n: int, name: str = "parse") -> Callable[[Any], tuple]:
    """A parser that repeats a scalar ``n`` times and turns an iterable into a tuple."""

    def parse(x: Any) -> tuple:
        if isinstance(x, Iterable):
            return tuple(x)
        return tuple(repeat(x, n))

    parse.__name__ = name
    return parse


_single = _ntuple(1, "_single")
_pair = _ntuple(2, "_pair")
_triple = _ntuple(3, "_triple")
_quadruple = _ntuple(4, "_quadruple")
