"""``GraphModule``: a Module whose ``forward`` is Python generated from a Graph.

As torch.fx.GraphModule: it copies from the root module the submodules, parameters and buffers
the graph names (so its ``state_dict`` has the root's keys for them), each instance gets a class
of its own so ``recompile()`` can replace ``forward``, and it deep-copies and pickles (the graph
is pickled as a node table, the functions it calls by reference)."""

from __future__ import annotations

import copy
import itertools
import linecache
from typing import Any

import ember
from ember import nn
from ember.fx._codegen import PythonCode
from ember.fx.graph import Graph
from ember.fx.node import Node, map_arg

__all__ = ["GraphModule"]

_file_ids = itertools.count()


def _copy_attr(from_module: nn.Module, to_module: nn.Module, target: str) -> None:
    """Make ``to_module.<target>`` the same object as ``from_module.<target>``, creating empty
    Modules for the path in between."""
    *prefix, field = target.split(".")
    for item in prefix:
        f = getattr(from_module, item)
        t = getattr(to_module, item, None)
        if f is t:
            return  # already installed whole
        if t is None:
            t = nn.Module()
            setattr(to_module, item, t)
        from_module, to_module = f, t
    _assign(getattr(from_module, field), to_module, field)


def _assign(value: Any, to_module: nn.Module, field: str) -> None:
    if isinstance(value, ember.Tensor) and not isinstance(value, nn.Parameter):
        to_module.register_buffer(field, value)
    else:
        setattr(to_module, field, value)


def _assign_path(value: Any, to_module: nn.Module, target: str) -> None:
    *prefix, field = target.split(".")
    for item in prefix:
        t = getattr(to_module, item, None)
        if t is None:
            t = nn.Module()
            setattr(to_module, item, t)
        to_module = t
    _assign(value, to_module, field)


class GraphModule(nn.Module):
    """A Module generated from a Graph, as torch.fx.GraphModule."""

    def __new__(cls, *args: Any, **kwargs: Any) -> GraphModule:
        # a class per instance: recompile() sets forward on it without touching other instances
        base = next(c for c in cls.__mro__ if not c.__dict__.get("_fx_instance_class", False))
        impl = type(base.__name__, (base,), {"_fx_instance_class": True})
        return super().__new__(impl)

    def __init__(
        self,
        root: nn.Module | dict[str, Any],
        graph: Graph,
        class_name: str = "GraphModule",
    ) -> None:
        super().__init__()
        type(self).__name__ = type(self).__qualname__ = class_name
        if isinstance(root, nn.Module):
            self.training = root.training
            for node in graph.nodes:
                if node.op in ("get_attr", "call_module"):
                    assert isinstance(node.target, str)
                    _copy_attr(root, self, node.target)
        elif isinstance(root, dict):
            for node in graph.nodes:
                if node.op in ("get_attr", "call_module"):
                    assert isinstance(node.target, str)
                    if node.target not in root:
                        raise RuntimeError(
                            f"Node {node} referenced target {node.target} but that target was "
                            "not provided in ``root``!"
                        )
                    _assign_path(root[node.target], self, node.target)
        else:
            raise RuntimeError(f"Unsupported type {root} passed for root!")
        self.meta: dict[str, Any] = {}
        self.graph = graph

    @property
    def graph(self) -> Graph:
        """The graph; assigning one recompiles forward."""
        return self.__dict__["_graph"]

    @graph.setter
    def graph(self, g: Graph) -> None:
        self.__dict__["_graph"] = g
        g.owning_module = self
        self.recompile()

    @property
    def code(self) -> str:
        """The Python source of forward."""
        return self.__dict__["_code"]

    def recompile(self) -> PythonCode:
        """Regenerate forward from the graph (call after editing the graph)."""
        python_code = self._graph.python_code(root_module="self")
        self.__dict__["_code"] = python_code.src
        filename = f"<eval_with_key>.{next(_file_ids)}"
        # in linecache so tracebacks through forward show the generated line
        lines = python_code.src.splitlines(keepends=True)
        linecache.cache[filename] = (len(python_code.src), None, lines, filename)
        namespace = dict(python_code.globals)
        exec(compile(python_code.src, filename, "exec"), namespace)  # noqa: S102
        type(self).forward = namespace["forward"]
        return python_code

    def print_readable(self, print_output: bool = True) -> str:
        """The module as a class with its generated forward (printed unless told not to)."""
        body = "\n".join("    " + line for line in self.code.strip("\n").splitlines())
        text = f"class {type(self).__name__}(torch.nn.Module):\n{body.rstrip()}\n"
        if print_output:
            print(text)
        return text

    def __str__(self) -> str:
        return f"{super().__str__()}\n\n\n\n{self.code}"

    # --- submodule editing -----------------------------------------------------------------
    def add_submodule(self, target: str, m: nn.Module) -> bool:
        """Install ``m`` at the dotted path ``target``, creating empty Modules on the way."""
        *prefix, field = target.split(".")
        mod: nn.Module = self
        for item in prefix:
            sub = getattr(mod, item, None)
            if sub is None:
                sub = nn.Module()
                setattr(mod, item, sub)
            if not isinstance(sub, nn.Module):
                return False
            mod = sub
        setattr(mod, field, m)
        return True

    def delete_submodule(self, target: str) -> bool:
        """Remove the submodule at ``target``; False when there is none."""
        *prefix, field = target.split(".")
        mod: nn.Module = self
        for item in prefix:
            mod = getattr(mod, item, None)
            if not isinstance(mod, nn.Module):
                return False
        if not isinstance(getattr(mod, field, None), nn.Module):
            return False
        delattr(mod, field)
        return True

    def delete_all_unused_submodules(self) -> None:
        """Remove the submodules that no node of the graph names."""
        used: set[str] = set()
        for node in self.graph.nodes:
            if node.op in ("call_module", "get_attr"):
                atoms = str(node.target).split(".")
                used.update(".".join(atoms[: i + 1]) for i in range(len(atoms)))
                if node.op == "call_module":
                    sub = self.get_submodule(str(node.target))
                    used.update(f"{node.target}.{n}" for n, _ in sub.named_modules() if n)
        for name, _ in list(self.named_modules()):
            if name and name not in used:
                self.delete_submodule(name)

    # --- copies and pickles ----------------------------------------------------------------
    def _plain_state(self) -> dict[str, Any]:
        state = self.__getstate__()
        state.pop("_graph", None)
        state.pop("_code", None)
        return state

    def __deepcopy__(self, memo: dict) -> GraphModule:
        state = copy.deepcopy(self._plain_state(), memo)
        return _from_state(state, copy.deepcopy(self.graph, memo), type(self).__name__)

    def __copy__(self) -> GraphModule:
        gm = GraphModule(self, self.graph, type(self).__name__)
        gm.meta = copy.copy(self.meta)
        return gm

    def __reduce__(self) -> tuple:
        return (_rebuild, (self._plain_state(), _graph_table(self.graph), type(self).__name__))


def _from_state(state: dict[str, Any], graph: Graph, class_name: str) -> GraphModule:
    """A GraphModule over ``graph`` taking its attributes from a Module ``__getstate__``."""
    holder = nn.Module.__new__(nn.Module)
    holder.__setstate__(state)
    gm = GraphModule(holder, graph, class_name)
    for k, v in state.items():
        if k in ("meta", "training") or (
            k not in gm.__dict__ and k not in ("_parameters", "_buffers", "_modules")
        ):
            gm.__dict__[k] = v
    return gm


class _Ref:
    """A node named inside the pickled node table."""

    def __init__(self, name: str) -> None:
        self.name = name


def _graph_table(graph: Graph) -> list[tuple]:
    return [
        (
            n.op,
            n.name,
            n.target,
            map_arg(n.args, lambda a: _Ref(a.name)),
            map_arg(n.kwargs, lambda a: _Ref(a.name)),
            n.type,
            dict(n.meta),
        )
        for n in graph.nodes
    ]


def _rebuild(state: dict[str, Any], table: list[tuple], class_name: str) -> GraphModule:
    """Unpickle a GraphModule: the node table back into a Graph, then a fresh class."""
    graph = Graph()
    by_name: dict[str, Node] = {}

    def resolve(a: Any) -> Any:
        if isinstance(a, _Ref):
            return by_name[a.name]
        if isinstance(a, (tuple, list)):
            return (
                type(a)(resolve(x) for x in a)
                if not hasattr(a, "_fields")
                else (type(a)(*(resolve(x) for x in a)))
            )
        if isinstance(a, dict):
            return {k: resolve(v) for k, v in a.items()}
        if isinstance(a, slice):
            return slice(resolve(a.start), resolve(a.stop), resolve(a.step))
        return a

    for op, name, target, args, kwargs, type_expr, meta in table:
        node = graph.create_node(op, target, resolve(args), resolve(kwargs), name, type_expr)
        node.meta = meta
        by_name[name] = node
    return _from_state(state, graph, class_name)
