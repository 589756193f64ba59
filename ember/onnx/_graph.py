"""The ONNX graph being built: nodes, initializers and the names of its values."""

from __future__ import annotations

import numpy as np


class Graph:
    """Nodes in execution order, initializers by name, and the shape-carrying constants (kept
    apart so a second trace can tell which of their entries follow a dynamic axis)."""

    def __init__(self, opset: int) -> None:
        self.opset = opset
        self.nodes: list[list] = []  # [op_type, inputs, outputs, attrs, name]
        self.initializers: dict[str, np.ndarray] = {}
        self.shape_consts: list[list] = []  # [kind, initializer name, values, info]
        self.anonymous: list[tuple[str, np.ndarray]] = []  # constants the model's code made
        self._counts: dict[str, int] = {}

    def _fresh(self, stem: str) -> str:
        k = self._counts.get(stem, 0)
        self._counts[stem] = k + 1
        return stem if k == 0 else f"{stem}_{k}"

    def add(self, op_type: str, inputs, attrs: dict | None = None, n_out: int = 1):
        """Append a node; returns its output name (a list of them when ``n_out`` > 1)."""
        name = self._fresh(f"/{op_type}")
        outs = [f"{name}_output_{i}" for i in range(n_out)]
        self.nodes.append([op_type, list(inputs), outs, dict(attrs or {}), name])
        return outs[0] if n_out == 1 else outs

    def initializer(self, name: str, array: np.ndarray) -> str:
        self.initializers[name] = np.asarray(array)
        return name

    def const(self, array, hint: str = "Constant") -> str:
        """A constant as a fresh initializer."""
        return self.initializer(self._fresh(f"onnx::{hint}"), np.asarray(array))

    def ints(self, values) -> str:
        """A 1-D int64 constant (axes, pads, starts ...)."""
        return self.const(np.asarray(list(values), dtype=np.int64), "Int64")

    def shape_const(self, kind: str, values, info=None) -> str:
        """An int64 constant that carries sizes (a Reshape target, Slice ends): remembered so
        entries that change with a dynamic axis can be rewritten after a second trace."""
        name = self.ints(values)
        self.shape_consts.append([kind, name, tuple(int(v) for v in values), info])
        return name

    def rename(self, old: str, new: str) -> None:
        """Give the value ``old`` the name ``new`` everywhere (graph outputs take user names)."""
        for n in self.nodes:
            n[1] = [new if i == old else i for i in n[1]]
            n[2] = [new if o == old else o for o in n[2]]

    def producer(self, value: str):
        for n in self.nodes:
            if value in n[2]:
                return n
        return None
