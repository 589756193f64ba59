"""Tensor methods for the ops in reduction.py, gather.py, linalg.py and shape.py beyond the core
table in _tensor_methods.py (kept apart so both tables can grow independently)."""

from __future__ import annotations

from ._tensor_methods import attach

_EXTRA: dict = {}

attach(_EXTRA)
