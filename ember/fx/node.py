"""``Node``: one operation of an fx ``Graph``, and ``map_arg``/``map_aggregate`` over arguments.

As torch.fx.node: ``op`` is one of placeholder, get_attr, call_function, call_method,
call_module, output; ``users`` and ``all_input_nodes`` are kept in step with ``args``/``kwargs``;
nodes form a doubly linked list owned by their graph."""

from __future__ import annotations

import builtins
import operator
import types
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import ember
import ember.nn.functional as F
from ember.fx.immutable_collections import immutable_dict, immutable_list

if TYPE_CHECKING:
    from ember.fx.graph import Graph

__all__ = ["Argument", "Node", "Target", "map_aggregate", "map_arg"]

Target = Callable[..., Any] | str
Argument = Any  # a nested tuple/list/dict/slice of Nodes and constants

_OPS = ("placeholder", "call_method", "call_module", "call_function", "get_attr", "output", "root")

# the public namespaces a function's printed name is looked up in, in torch's order of preference
_PUBLIC_SPACES = (("ember", ember), ("ember.nn.functional", F))
_public_names: dict[int, str] = {}


def _public_name(fn: object) -> str | None:
    """'ember.relu' for ember.relu: the public path of a function of ember's namespaces."""
    if not _public_names:
        for prefix, space in reversed(_PUBLIC_SPACES):
            for k, v in vars(space).items():
                if not k.startswith("_") and callable(v) and not isinstance(v, type):
                    v = getattr(v, "__fx_original__", v)  # built during a trace: unwrap
                    # an alias (concatenate for cat) yields to the function's own name
                    if id(v) not in _public_names or k == getattr(v, "__name__", None):
                        _public_names[id(v)] = f"{prefix}.{k}"
    name = _public_names.get(id(fn))
    if name is None:
        return None
    space, _, attr = name.rpartition(".")
    current = getattr(ember if space == "ember" else F, attr, None)
    return name if getattr(current, "__fx_original__", current) is fn else None


def qualified_name(fn: Callable[..., Any]) -> str:
    """The dotted name a call_function target prints as: 'ember.relu', 'operator.add', 'len'."""
    if getattr(fn, "__fx_original__", None) is not None:  # a tracing wrapper: name the original
        fn = fn.__fx_original__  # type: ignore[union-attr]
    public = _public_name(fn)
    if public is not None:
        return public
    module = getattr(fn, "__module__", None) or ""
    name = getattr(fn, "__qualname__", None) or getattr(fn, "__name__", repr(fn))
    if module == "_operator":
        module = "operator"
    if module == "builtins" and getattr(builtins, name, None) is fn:
        return name
    return f"{module}.{name}" if module else name


def map_aggregate(a: Argument, fn: Callable[[Argument], Argument]) -> Argument:
    """Apply ``fn`` to every leaf of a nested tuple/list/dict/slice (lists and dicts come back
    immutable, as torch's)."""
    if isinstance(a, tuple):
        t = tuple(map_aggregate(elem, fn) for elem in a)
        return t if not hasattr(a, "_fields") else type(a)(*t)
    if isinstance(a, list):
        return immutable_list(map_aggregate(elem, fn) for elem in a)
    if isinstance(a, dict):
        return immutable_dict((k, map_aggregate(v, fn)) for k, v in a.items())
    if isinstance(a, slice):
        return slice(
            map_aggregate(a.start, fn), map_aggregate(a.stop, fn), map_aggregate(a.step, fn)
        )
    return fn(a)


def map_arg(a: Argument, fn: Callable[[Node], Argument]) -> Argument:
    """Apply ``fn`` to every Node inside a nested argument, keeping everything else."""
    return map_aggregate(a, lambda x: fn(x) if isinstance(x, Node) else x)


def _format_arg(arg: Any) -> str:
    """An argument as Graph's printout shows it: nodes as %name."""
    if isinstance(arg, Node):
        return "%" + arg.name
    if isinstance(arg, tuple) and not hasattr(arg, "_fields"):
        inner = ", ".join(_format_arg(a) for a in arg)
        return f"({inner},)" if len(arg) == 1 else f"({inner})"
    if isinstance(arg, list):
        return "[" + ", ".join(_format_arg(a) for a in arg) + "]"
    if isinstance(arg, dict):
        return "{" + ", ".join(f"{k}: {_format_arg(v)}" for k, v in arg.items()) + "}"
    return str(arg)


class Node:
    """One operation of a Graph, as torch.fx.Node."""

    def __init__(
        self,
        graph: Graph,
        name: str,
        op: str,
        target: Target,
        args: tuple[Argument, ...],
        kwargs: dict[str, Argument],
        return_type: Any | None = None,
    ) -> None:
        if op not in _OPS:
            raise ValueError(f"Unexpected op {op!r}; expected one of {_OPS[:-1]}")
        if op in ("call_method", "call_module", "get_attr", "placeholder", "output"):
            if not isinstance(target, str):
                raise ValueError(
                    f"Node [graph = {graph}, name = '{name}'] target {target} has "
                    f"type {type(target)} but a str is expected for {op}"
                )
        elif op == "call_function" and not callable(target):
            raise ValueError(
                f"Node [graph = {graph}, name = '{name}'] target {target} has "
                f"type {type(target)} but a Callable is expected"
            )
        self.graph = graph
        self.name = name
        self.op = op
        self.target = target
        self._input_nodes: dict[Node, None] = {}
        self.users: dict[Node, None] = {}
        self.type = return_type
        self._prev = self
        self._next = self
        self._erased = False
        self.meta: dict[str, Any] = {}
        self._args: tuple[Argument, ...] = ()
        self._kwargs: dict[str, Argument] = immutable_dict()
        self._update_args_kwargs(args, kwargs)

    # --- the linked list -------------------------------------------------------------------
    @property
    def next(self) -> Node:
        """The node after this one in its graph."""
        return self._next

    @property
    def prev(self) -> Node:
        """The node before this one in its graph."""
        return self._prev

    def _remove_from_list(self) -> None:
        p, n = self._prev, self._next
        p._next, n._prev = n, p
        self._prev = self._next = self

    def prepend(self, x: Node) -> None:
        """Move (or insert) ``x`` right before this node."""
        if self.graph is not x.graph:
            raise AssertionError("Attempting to move a Node into a different Graph")
        if self is x:
            return
        x._remove_from_list()
        p = self._prev
        p._next, x._prev = x, p
        x._next, self._prev = self, x

    def append(self, x: Node) -> None:
        """Move (or insert) ``x`` right after this node."""
        self._next.prepend(x)

    # --- arguments and users ---------------------------------------------------------------
    @property
    def args(self) -> tuple[Argument, ...]:
        """The positional arguments; assigning them updates the users of the input nodes."""
        return self._args

    @args.setter
    def args(self, a: tuple[Argument, ...]) -> None:
        self._update_args_kwargs(a, self._kwargs)

    @property
    def kwargs(self) -> dict[str, Argument]:
        """The keyword arguments; assigning them updates the users of the input nodes."""
        return self._kwargs

    @kwargs.setter
    def kwargs(self, k: dict[str, Argument]) -> None:
        self._update_args_kwargs(self._args, k)

    @property
    def all_input_nodes(self) -> list[Node]:
        """Every node this one reads, in the order its arguments name them."""
        return list(self._input_nodes)

    def update_arg(self, idx: int, arg: Argument) -> None:
        """Set positional argument ``idx``."""
        args = list(self.args)
        args[idx] = arg
        self.args = tuple(args)

    def update_kwarg(self, key: str, arg: Argument) -> None:
        """Set keyword argument ``key``."""
        self.kwargs = {**self.kwargs, key: arg}

    def _update_args_kwargs(self, new_args: tuple[Argument, ...], new_kwargs: dict) -> None:
        self._args = map_aggregate(tuple(new_args), lambda x: x)
        self._kwargs = map_aggregate(dict(new_kwargs), lambda x: x)
        for old in self._input_nodes:
            old.users.pop(self, None)
        self._input_nodes = {}
        map_arg(self._args, self._input_nodes.setdefault)
        map_arg(self._kwargs, self._input_nodes.setdefault)
        for new in self._input_nodes:
            new.users.setdefault(self)

    def replace_all_uses_with(
        self,
        replace_with: Node,
        delete_user_cb: Callable[[Node], bool] = lambda user: True,
        *,
        propagate_meta: bool = False,
    ) -> list[Node]:
        """Make every user of this node (that ``delete_user_cb`` accepts) read ``replace_with``;
        returns the users changed."""
        if propagate_meta:
            for k, v in self.meta.items():
                replace_with.meta.setdefault(k, v)
        to_process = [u for u in self.users if delete_user_cb(u)]
        for use_node in to_process:
            use_node.replace_input_with(self, replace_with)
        return to_process

    def replace_input_with(self, old_input: Node, new_input: Node) -> None:
        """Read ``new_input`` wherever this node's arguments name ``old_input``."""

        def swap(n: Node) -> Node:
            return new_input if n is old_input else n

        self._update_args_kwargs(map_arg(self._args, swap), map_arg(self._kwargs, swap))

    def is_impure(self) -> bool:
        """Whether dead-code elimination must keep this node (placeholders, outputs, in-place
        methods and calls of modules that are not known to be pure)."""
        if self.op in ("placeholder", "output"):
            return True
        if self.op == "call_method" and isinstance(self.target, str):
            return self.target.endswith("_") and not self.target.endswith("__")
        if self.op == "call_function":
            name = getattr(self.target, "__name__", "")
            return name.endswith("_") and not name.endswith("__")
        return False

    @property
    def stack_trace(self) -> str | None:
        """The user code that made this node, when the tracer recorded it."""
        return self.meta.get("stack_trace")

    @stack_trace.setter
    def stack_trace(self, trace: str | None) -> None:
        self.meta["stack_trace"] = trace

    # --- printing --------------------------------------------------------------------------
    def _pretty_print_target(self) -> str:
        if isinstance(self.target, str):
            return self.target
        if (
            isinstance(self.target, types.BuiltinFunctionType)
            and self.target in vars(operator).values()
        ):
            return f"operator.{self.target.__name__}"
        name = qualified_name(self.target)
        return f"builtins.{name}" if "." not in name else name

    def format_node(self) -> str:
        """This node as one line of Graph's printout."""
        if self.op == "output":
            return f"return {self.args[0]}"
        head = f"%{self.name} : [num_users={len(self.users)}] = {self.op}"
        head += f"[target={self._pretty_print_target()}]"
        if self.op == "placeholder":
            return head + (f"(default={self.args[0]})" if self.args else "")
        if self.op == "get_attr":
            return head
        return head + f"(args = {_format_arg(self.args)}, kwargs = {_format_arg(self.kwargs)})"

    def __repr__(self) -> str:
        return self.name
