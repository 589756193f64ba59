"""Graph capture: run the model once under an op mode that turns each op call into ONNX nodes.

Every ``Op.apply`` of the thread passes through :class:`Tracer.run_op` while it is pushed (the
view fast paths that skip ``Op.apply`` stand aside while any op mode is pushed). Values are
found by their autograd node (``grad_fn`` and output index) rather than by the Tensor object,
so an in-place op, which hands its node to the tensor it overwrites, is followed; the capture
therefore runs with grad mode on and the example inputs requiring grad.
"""

from __future__ import annotations

import numpy as np

import ember
from ember import nn
from ember.autograd import node as _node

from ._graph import Graph
from .errors import UnsupportedOperatorError


def op_key(cls) -> str:
    """'conv.ConvNd' for ember.ops.conv.ConvNd: the table key of an op class."""
    return f"{cls.__module__.rpartition('.')[2]}.{cls.__name__}"


def to_numpy(t) -> np.ndarray:
    return t.detach().cpu().numpy() if isinstance(t, ember.Tensor) else np.asarray(t)


class Tracer:
    """The op mode of one capture: maps each op call to nodes of ``graph``."""

    def __init__(self, graph: Graph, state_names: dict[int, str], table: dict) -> None:
        self.g = graph
        self.opset = graph.opset
        self.state_names = state_names  # id(parameter or buffer) -> its state_dict key
        self.table = table
        self.values: dict = {}  # value key -> name
        self.by_array: dict[int, str] = {}  # id(array) -> name: finds detach()'s of traced values
        self.keep: list = []  # traced tensors, alive so that the ids above stay unique
        self.suppress = 0  # > 0 inside a module exported as one node (BatchNorm)

    @staticmethod
    def _key(t):
        fn = t.grad_fn
        return (id(fn), t._out_nr) if fn is not None else id(t)

    def bind(self, t, name: str) -> None:
        self.values[self._key(t)] = name
        self.by_array[id(t._data)] = name
        self.keep.append(t)

    def known(self, t) -> bool:
        return self._key(t) in self.values

    def name(self, x, dtype=None, hint: str = "Constant") -> str:
        """The graph value of an op argument: a traced tensor, a parameter or buffer (an
        initializer under its state_dict key), or a constant."""
        if x is None:
            return ""
        if isinstance(x, ember.Tensor):
            n = self.values.get(self._key(x))
            if n is not None:
                return n
            if x.grad_fn is None:
                sname = self.state_names.get(id(x))
                if sname is not None:
                    if sname not in self.g.initializers:
                        self.g.initializer(sname, to_numpy(x))
                    return sname
            n = self.by_array.get(id(x._data))
            if n is not None:
                return n
            arr = to_numpy(x)
        elif hasattr(x, "shape") and hasattr(x, "dtype") and not np.isscalar(x):
            arr = to_numpy(x) if not hasattr(x, "get") else x.get()  # a CuPy array
        else:
            arr = np.asarray(x, dtype=dtype)
        if dtype is not None and arr.dtype != dtype and arr.ndim == 0:
            arr = arr.astype(dtype)
        name = self.g.const(arr, hint)
        self.g.anonymous.append((name, arr))
        return name

    def run_op(self, cls, inputs, proceed):
        out = proceed()
        if self.suppress:
            return out
        fn = self.table.get(op_key(cls))
        if fn is None:
            raise UnsupportedOperatorError(f"ember::{op_key(cls)}", self.opset, None)
        outs = out if isinstance(out, tuple) else (out,)
        names = fn(self, inputs, outs)
        if isinstance(names, str):
            names = [names]
        for t, n in zip(outs, names):
            if isinstance(t, ember.Tensor):
                self.bind(t, n)
        return out


def _batchnorm_hooks(tracer: Tracer, model) -> list:
    """Export an eval-mode BatchNorm layer as one BatchNormalization node (its weights keep their
    state_dict names), as torch does, instead of the ops its eval path computes with."""
    handles = []
    pending: list = []

    def pre(mod, args):
        pending.append(tracer.name(args[0]))
        tracer.suppress += 1

    def post(mod, args, out):
        tracer.suppress -= 1
        x = pending.pop()
        if tracer.suppress:
            return
        c = out.shape[1]
        dt = to_numpy(out).dtype
        w = tracer.name(mod.weight) if mod.weight is not None else tracer.g.const(np.ones(c, dt))
        b = tracer.name(mod.bias) if mod.bias is not None else tracer.g.const(np.zeros(c, dt))
        m = 0.1 if mod.momentum is None else mod.momentum
        y = tracer.g.add(
            "BatchNormalization",
            [x, w, b, tracer.name(mod.running_mean), tracer.name(mod.running_var)],
            {"epsilon": float(mod.eps), "momentum": 1.0 - float(m)},
        )
        tracer.bind(out, y)

    for mod in model.modules():
        if (
            isinstance(mod, nn.modules.batchnorm._BatchNorm)
            and not mod.training
            and mod.running_mean is not None
        ):
            handles.append(mod.register_forward_pre_hook(pre))
            handles.append(mod.register_forward_hook(post))
    return handles


def _leaf(a):
    # a fresh leaf that requires grad (when it can): every op downstream then records a node,
    # and the capture can follow values through in-place ops
    a = a.detach().clone()
    if a.is_floating_point() or a.is_complex():
        a.requires_grad_(True)
    return a


def capture(model, args: tuple, kwargs: dict, opset: int, table: dict, state_names: dict):
    """Run ``model(*args, **kwargs)`` once, recording ONNX nodes; the tensors among ``args``
    and then ``kwargs`` are the graph inputs ``__input_<k>``. Returns (graph, tracer, those
    input tensors as traced, the model's output)."""
    g = Graph(opset)
    tracer = Tracer(g, state_names, table)
    inputs = []

    def lift(a):
        if not isinstance(a, ember.Tensor):
            return a
        a = _leaf(a)
        tracer.bind(a, f"__input_{len(inputs)}")
        inputs.append(a)
        return a

    traced_args = [lift(a) for a in args]
    kwargs = {k: lift(v) for k, v in kwargs.items()}
    handles = _batchnorm_hooks(tracer, model) if isinstance(model, nn.Module) else []
    _node.push_op_mode(tracer)
    try:
        with ember.enable_grad():
            out = model(*traced_args, **kwargs)
    finally:
        _node.pop_op_mode()
        for h in handles:
            h.remove()
    return g, tracer, inputs, out
