"""``Proxy``: the stand-in value a traced program computes with, recording each use as a node.

As torch.fx.Proxy: operators become call_function nodes of the ``operator`` module's functions,
attribute reads a lazy ``getattr`` node (a method call when called instead), ``a, b = proxy``
unpacks through ``getitem``; control flow on a proxy, ``len`` and iteration raise TraceError.
``TracerBase`` is the part of a tracer that turns values into node arguments."""

from __future__ import annotations

import bisect
import dis
import inspect
import operator
from collections.abc import Callable, Iterator
from typing import Any

import ember
from ember.fx.graph import Graph
from ember.fx.node import Argument, Node, Target

__all__ = ["Attribute", "GraphAppendingTracer", "Proxy", "TraceError", "TracerBase"]

# values a node argument may hold as they are
_BASE_TYPES = (str, int, float, bool, complex, type(None), type(...), ember.dtype, ember.device)


class TraceError(ValueError):
    """A traced program did something a Proxy cannot stand for."""


class TracerBase:
    """Node creation and argument conversion shared by every tracer."""

    graph: Graph
    record_stack_traces: bool = False
    trace_asserts: bool = False
    proxy_buffer_attributes: bool = False
    module_stack: dict[str, tuple[str, Any]]

    def create_node(
        self,
        kind: str,
        target: Target,
        args: tuple[Argument, ...],
        kwargs: dict[str, Argument],
        name: str | None = None,
        type_expr: Any | None = None,
    ) -> Node:
        """Insert a node into the graph being built."""
        node = self.graph.create_node(kind, target, args, kwargs, name, type_expr)
        stack = getattr(self, "module_stack", None)
        if stack:
            node.meta["nn_module_stack"] = dict(stack)
        return node

    def proxy(self, node: Node) -> Proxy:
        """Wrap a node in a Proxy (a tracer may return a subclass)."""
        return Proxy(node, self)

    def create_proxy(
        self,
        kind: str,
        target: Target,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        name: str | None = None,
        type_expr: Any | None = None,
        proxy_factory_fn: Callable[[Node], Proxy] | None = None,
    ) -> Proxy:
        """Create a node from values (Proxies become their nodes) and return its Proxy."""
        args_ = self.create_arg(args)
        kwargs_ = self.create_arg(kwargs)
        node = self.create_node(kind, target, args_, kwargs_, name, type_expr)
        return proxy_factory_fn(node) if proxy_factory_fn is not None else self.proxy(node)

    def create_arg(self, a: Any) -> Argument:
        """A value as a node argument: Proxies to nodes, containers element by element."""
        if isinstance(a, Proxy):
            return a.node
        if isinstance(a, Node):
            return a
        if isinstance(a, tuple) and hasattr(a, "_fields"):
            return type(a)(*(self.create_arg(e) for e in a))
        if isinstance(a, (tuple, list)):
            return type(a)(self.create_arg(e) for e in a)
        if isinstance(a, dict):
            out = {}
            for k, v in a.items():
                k = self.create_arg(k)
                if isinstance(k, Node):
                    raise RuntimeError(
                        f"Keys for dictionaries used as an argument cannot "
                        f"contain a Node. Got key: {k}"
                    )
                out[k] = self.create_arg(v)
            return out
        if isinstance(a, slice):
            return slice(self.create_arg(a.start), self.create_arg(a.stop), self.create_arg(a.step))
        if isinstance(a, range):
            return range(self.create_arg(a.start), self.create_arg(a.stop), self.create_arg(a.step))
        if isinstance(a, _BASE_TYPES) or callable(a) or a is ember.contiguous_format:
            return a
        if type(a).__module__.startswith("ember"):  # memory formats, layouts, enums
            return a
        raise NotImplementedError(f"argument of type: {type(a)}")

    def to_bool(self, obj: Proxy) -> bool:
        """``bool(proxy)``: the value is unknown while tracing."""
        raise TraceError("symbolically traced variables cannot be used as inputs to control flow")

    def iter(self, obj: Proxy) -> Iterator:
        """``iter(proxy)`` outside ``a, b = proxy`` unpacking."""
        raise TraceError(
            "Proxy object cannot be iterated. This can be attempted when the Proxy is used in "
            "a loop or as a *args or **kwargs function argument."
        )

    def keys(self, obj: Proxy) -> Any:
        """``proxy.keys()``, as ``**proxy`` calls it."""
        return Attribute(obj, "keys")()


class GraphAppendingTracer(TracerBase):
    """A tracer that only appends to an existing graph (what a bare Proxy(node) uses)."""

    def __init__(self, graph: Graph) -> None:
        super().__init__()
        self.graph = graph
        self.module_stack = {}


class Proxy:
    """A value of a traced program: operations on it record nodes, as torch.fx.Proxy."""

    def __init__(self, node: Node, tracer: TracerBase | None = None) -> None:
        self.tracer = tracer if tracer is not None else GraphAppendingTracer(node.graph)
        self.node = node

    def __repr__(self) -> str:
        return f"Proxy({self.node.name})"

    __hash__ = object.__hash__

    def __getattr__(self, k: str) -> Attribute:
        if k.startswith("__") and k.endswith("__"):
            raise AttributeError(k)  # copy, pickle and friends probe dunders
        return Attribute(self, k)

    def __getstate__(self) -> dict:
        return self.__dict__

    def __setstate__(self, d: dict) -> None:
        self.__dict__ = d

    def __deepcopy__(self, memo: dict) -> Proxy:
        return self  # a proxy names a node of the graph being built: copies must too

    def __call__(self, *args: Any, **kwargs: Any) -> Proxy:
        return self.tracer.create_proxy("call_method", "__call__", (self, *args), kwargs)

    def __iter__(self) -> Iterator[Proxy]:
        frame = inspect.currentframe()
        caller = frame.f_back if frame is not None else None
        if caller is not None:
            insts = list(dis.get_instructions(caller.f_code))
            i = bisect.bisect_left(insts, caller.f_lasti, key=lambda x: x.offset)
            if i < len(insts) and insts[i].opname == "UNPACK_SEQUENCE":
                return (self[j] for j in range(insts[i].argval))
        return self.tracer.iter(self)

    def __bool__(self) -> bool:
        return self.tracer.to_bool(self)

    def keys(self) -> Any:
        """``proxy.keys()``."""
        return self.tracer.keys(self)

    def __len__(self) -> int:
        raise RuntimeError(
            "'len' is not supported in symbolic tracing by default. If you want this call to "
            "be recorded, please call ember.fx.wrap('len') at module scope"
        )

    def __abs__(self) -> Proxy:
        return self.tracer.create_proxy("call_function", operator.abs, (self,), {})


class Attribute(Proxy):
    """``proxy.name``: a getattr node made only when used as a value; a call makes a
    call_method node instead."""

    def __init__(self, root: Proxy, attr: str) -> None:
        self.root = root
        self.attr = attr
        self.tracer = root.tracer
        self._node: Node | None = None

    @property
    def node(self) -> Node:  # type: ignore[override]
        if self._node is None:
            self._node = self.tracer.create_proxy(
                "call_function", getattr, (self.root, self.attr), {}
            ).node
        return self._node

    def __call__(self, *args: Any, **kwargs: Any) -> Proxy:
        return self.tracer.create_proxy("call_method", self.attr, (self.root, *args), kwargs)


_BINARY = (
    "add",
    "sub",
    "mul",
    "floordiv",
    "truediv",
    "mod",
    "pow",
    "lshift",
    "rshift",
    "and_",
    "or_",
    "xor",
    "matmul",
)
_COMPARE = ("eq", "ne", "lt", "gt", "le", "ge", "getitem")
_UNARY = ("pos", "neg", "invert")


def _install_magic() -> None:
    def forward(target: Callable[..., Any]) -> Callable[..., Proxy]:
        def impl(*args: Any) -> Proxy:
            return args[0].tracer.create_proxy("call_function", target, args, {})

        return impl

    def reflected(target: Callable[..., Any]) -> Callable[..., Proxy]:
        def impl(self: Proxy, rhs: Any) -> Proxy:
            return self.tracer.create_proxy("call_function", target, (rhs, self), {})

        return impl

    for name in _BINARY + _COMPARE + _UNARY:
        dunder = name.rstrip("_")
        target = getattr(operator, name)
        impl = forward(target)
        impl.__name__ = f"__{dunder}__"
        setattr(Proxy, impl.__name__, impl)
        if name in _BINARY:
            rimpl = reflected(target)
            rimpl.__name__ = f"__r{dunder}__"
            setattr(Proxy, rimpl.__name__, rimpl)


_install_magic()
