"""torchvision.models.feature_extraction on ember: intermediate activations of a model by name.

The model is traced with ``ember.fx`` twice (train and eval mode). Each node gets a name that
walks the module path down to it (``layer1.0.relu``, ``layer1.0.add``, ``fc``), repeats counted
per parent module (``relu_1``); ``create_feature_extractor`` rewrites the graphs to return the
chosen nodes as a dict, and ``get_graph_node_names`` lists the names."""

from __future__ import annotations

import copy
import inspect
import math
import re
import types
import warnings
from collections.abc import Callable
from itertools import chain
from typing import Any

from ember import nn
from ember.fx import Graph, GraphModule, Node, Proxy, Tracer
from ember.fx.graph_module import _copy_attr
from ember.vision import ops

__all__ = ["create_feature_extractor", "get_graph_node_names"]


def _loose(name: str) -> str:
    """A regex for ``name`` in which '.' matches any character, as torchvision's unescaped
    patterns do (so names compare exactly as there)."""
    return re.escape(name).replace(r"\.", ".")


class LeafModuleAwareTracer(Tracer):
    """An fx Tracer that also keeps calls of the classes in ``leaf_modules`` as single nodes.

    As torchvision's: ``leaf_modules`` is taken from the keyword arguments; ``autowrap_modules``
    records calls of those modules' public functions as single nodes where a traced module's
    code imported them by name."""

    def __init__(
        self,
        *args: Any,
        leaf_modules: list[type] | tuple[type, ...] | None = None,
        **kwargs: Any,
    ) -> None:
        modules = kwargs.pop("autowrap_modules", (math,))
        functions = tuple(kwargs.pop("autowrap_functions", ()))
        # ember's Tracer wraps ember's namespaces and math itself; the functions of any other
        # module (torchvision.ops by default) join autowrap_functions, which it patches into
        # the globals of each forward it traces, as torch does for autowrap_modules
        for mod in modules:
            if mod is math:
                continue
            functions += tuple(
                v
                for k, v in vars(mod).items()
                if not k.startswith("_")
                and callable(v)
                and not isinstance(v, (type, types.ModuleType))
                and v not in functions
            )
        super().__init__(*args, autowrap_modules=modules, autowrap_functions=functions, **kwargs)
        self.leaf_modules = list(leaf_modules or [])

    def is_leaf_module(self, m: nn.Module, module_qualified_name: str) -> bool:
        """A leaf: an instance of a ``leaf_modules`` class, or a leaf for fx's Tracer."""
        if self.leaf_modules and isinstance(m, tuple(self.leaf_modules)):
            return True
        return super().is_leaf_module(m, module_qualified_name)


class NodePathTracer(LeafModuleAwareTracer):
    """A LeafModuleAwareTracer that names every node it records by its module path.

    ``node_to_qualname`` maps each node made through ``create_proxy`` (in tracing order) to its
    name: the qualified name of the module whose forward made it, then the fx node name for
    anything but a module call (``layer1.0.add``); a name seen before under the same parent
    gets ``_1``, ``_2``, ... instead of fx's graph-wide counter."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.current_module_qualname = ""
        self.node_to_qualname: dict[Node, str] = {}

    def call_module(
        self,
        m: nn.Module,
        forward: Callable[..., Any],
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
    ) -> Any:
        """As Tracer.call_module, with the module's path current while it runs."""
        outer = self.current_module_qualname
        try:
            self.current_module_qualname = self.path_of_module(m)
            return super().call_module(m, forward, args, kwargs)
        finally:
            self.current_module_qualname = outer

    def create_proxy(
        self,
        kind: str,
        target: Any,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        name: str | None = None,
        type_expr: Any | None = None,
        proxy_factory_fn: Callable[[Node], Proxy] | None = None,
    ) -> Proxy:
        """As Tracer.create_proxy, recording the new node's path name."""
        proxy = super().create_proxy(kind, target, args, kwargs, name, type_expr, proxy_factory_fn)
        self.node_to_qualname[proxy.node] = self._get_node_qualname(
            self.current_module_qualname, proxy.node
        )
        return proxy

    def _get_node_qualname(self, module_qualname: str, node: Node) -> str:
        if node.op == "call_module":
            qualname = module_qualname
        else:
            qualname = f"{module_qualname}.{node.name}" if module_qualname else node.name
        # fx counts repeated names over the whole graph; the count here is per parent module,
        # so fx's suffix goes and the last earlier name of the same stem decides the new one
        # (torchvision strips any trailing _<digits>, also one that was part of the name)
        stem = re.fullmatch(r"(.+)_[0-9]+", qualname)
        if stem is not None:
            qualname = stem.group(1)
        pattern = re.compile(_loose(qualname) + r"(_[0-9]+)?")
        for earlier in reversed(self.node_to_qualname.values()):
            found = pattern.fullmatch(earlier)
            if found is not None:
                suffix = found.group(1)
                qualname += f"_{int(suffix[1:]) + 1}" if suffix else "_1"
                break
        return qualname


def _is_subseq(seq: list[str], sub: list[str]) -> bool:
    """Whether ``sub`` is a subsequence of ``seq``."""
    it = iter(seq)
    return all(any(s == x for x in it) for s in sub)


def _warn_graph_differences(train_tracer: NodePathTracer, eval_tracer: NodePathTracer) -> None:
    train_nodes = list(train_tracer.node_to_qualname.values())
    eval_nodes = list(eval_tracer.node_to_qualname.values())
    if train_nodes == eval_nodes:
        return
    suggestion = (
        "When choosing nodes for feature extraction, you may need to specify "
        "output nodes for train and eval mode separately."
    )
    if _is_subseq(train_nodes, eval_nodes):
        msg = (
            "NOTE: The nodes obtained by tracing the model in eval mode "
            "are a subsequence of those obtained in train mode. "
        )
    elif _is_subseq(eval_nodes, train_nodes):
        msg = (
            "NOTE: The nodes obtained by tracing the model in train mode "
            "are a subsequence of those obtained in eval mode. "
        )
    else:
        msg = (
            "The nodes obtained by tracing the model in train mode are different to those "
            "obtained in eval mode. "
        )
    warnings.warn(msg + suggestion, stacklevel=3)


def _get_leaf_modules_for_ops() -> list[type]:
    """The Module classes of ember.vision.ops (torchvision.ops): leaves by default."""
    return [
        obj
        for _, obj in inspect.getmembers(ops)
        if inspect.isclass(obj) and issubclass(obj, nn.Module)
    ]


def _set_default_tracer_kwargs(tracer_kwargs: dict[str, Any] | None) -> dict[str, Any]:
    """``tracer_kwargs`` with math and ember.vision.ops added to ``autowrap_modules`` and the
    ops' Module classes to ``leaf_modules`` (a copy: the caller's dict is left alone)."""
    result = dict(tracer_kwargs or {})
    autowrap = (math, ops)
    leaves = _get_leaf_modules_for_ops()
    if "autowrap_modules" in result:
        given = tuple(result["autowrap_modules"])
        autowrap = given + tuple(m for m in autowrap if m not in given)
    result["autowrap_modules"] = autowrap
    if "leaf_modules" in result:
        given_leaves = list(result["leaf_modules"])
        leaves = given_leaves + [c for c in leaves if c not in given_leaves]
    result["leaf_modules"] = leaves
    return result


def get_graph_node_names(
    model: nn.Module,
    tracer_kwargs: dict[str, Any] | None = None,
    suppress_diff_warning: bool = False,
    concrete_args: dict[str, Any] | None = None,
) -> tuple[list[str], list[str]]:
    """The node names of ``model`` in execution order: (train mode's, eval mode's).

    As torchvision's: the model is traced in both modes (its mode is restored after); a warning
    tells when the two lists differ unless ``suppress_diff_warning``. ``tracer_kwargs`` go to
    the tracer, with ember.vision.ops' functions autowrapped and its Module classes leaves."""
    kwargs = _set_default_tracer_kwargs(tracer_kwargs)
    was_training = model.training
    train_tracer = NodePathTracer(**kwargs)
    train_tracer.trace(model.train(), concrete_args=concrete_args)
    eval_tracer = NodePathTracer(**kwargs)
    eval_tracer.trace(model.eval(), concrete_args=concrete_args)
    if not suppress_diff_warning:
        _warn_graph_differences(train_tracer, eval_tracer)
    model.train(was_training)
    return list(train_tracer.node_to_qualname.values()), list(eval_tracer.node_to_qualname.values())


class DualGraphModule(GraphModule):
    """A GraphModule holding a train graph and an eval graph; ``train(mode)`` switches between
    them. Submodules and attributes named by either graph are copied from ``root``."""

    def __init__(
        self,
        root: nn.Module,
        train_graph: Graph,
        eval_graph: Graph,
        class_name: str = "GraphModule",
    ) -> None:
        if eval_graph._tracer_cls != train_graph._tracer_cls:
            raise TypeError(
                "Train mode and eval mode should use the same tracer class. Instead got "
                f"{eval_graph._tracer_cls} for eval vs {train_graph._tracer_cls} for train"
            )
        super().__init__(root, train_graph, class_name)
        for node in chain(train_graph.nodes, eval_graph.nodes):
            if node.op in ("get_attr", "call_module"):
                if not isinstance(node.target, str):
                    raise TypeError(
                        f"node.target should be of type str instead of {type(node.target)}"
                    )
                _copy_attr(root, self, node.target)
        self.train_graph = train_graph
        self.eval_graph = eval_graph
        eval_graph.owning_module = self
        nn.Module.train(self, True)  # train mode at first, whatever the root's mode
        tracer_cls = train_graph._tracer_cls
        # as torch: a tracer class defined in a function is not kept (it would not pickle)
        self._tracer_cls = (
            tracer_cls if tracer_cls and "<locals>" not in tracer_cls.__qualname__ else None
        )

    def train(self, mode: bool = True) -> DualGraphModule:
        """Set the mode, switching to the train or eval graph (recompiled only on a change)."""
        if mode and not self.training:
            self.graph = self.train_graph
        elif not mode and self.training:
            self.graph = self.eval_graph
        return super().train(mode)

    def __deepcopy__(self, memo: dict) -> DualGraphModule:
        state = copy.deepcopy(self._plain_state(), memo)
        holder = nn.Module.__new__(nn.Module)
        holder.__setstate__(state)
        res = DualGraphModule(
            holder, state["train_graph"], state["eval_graph"], type(self).__name__
        )
        res.meta = state.get("meta", {})
        res.train(self.training)
        return res


def _to_strdict(nodes: list[str] | dict[str, str]) -> dict[str, str]:
    if isinstance(nodes, list):
        return {str(n): str(n) for n in nodes}
    return {str(k): str(v) for k, v in nodes.items()}


def create_feature_extractor(
    model: nn.Module,
    return_nodes: list[str] | dict[str, str] | None = None,
    train_return_nodes: list[str] | dict[str, str] | None = None,
    eval_return_nodes: list[str] | dict[str, str] | None = None,
    tracer_kwargs: dict[str, Any] | None = None,
    suppress_diff_warning: bool = False,
    concrete_args: dict[str, Any] | None = None,
) -> GraphModule:
    """A GraphModule of ``model`` that returns the activations of the named nodes as a dict.

    As torchvision's: ``return_nodes`` (or ``train_return_nodes`` with ``eval_return_nodes``)
    is a list of node names or a dict of node name -> output key; a name may stop at a module
    (``layer1``: the last node under it). The nodes no output needs, and their parameters, are
    dropped; the module switches graphs with ``train()``/``eval()``. See
    ``get_graph_node_names`` for the names."""
    kwargs = _set_default_tracer_kwargs(tracer_kwargs)
    was_training = model.training
    if return_nodes is None and train_return_nodes is None and eval_return_nodes is None:
        raise ValueError(
            "Either `return_nodes` or `train_return_nodes` and `eval_return_nodes` together, "
            "should be specified"
        )
    if (train_return_nodes is None) != (eval_return_nodes is None):
        raise ValueError(
            "If any of `train_return_nodes` and `eval_return_nodes` are specified, then both "
            "should be specified"
        )
    if (return_nodes is None) == (train_return_nodes is None):
        raise ValueError(
            "If `train_return_nodes` and `eval_return_nodes` are specified, then both should "
            "be specified"
        )
    if train_return_nodes is None:
        assert return_nodes is not None
        wanted = {"train": _to_strdict(return_nodes), "eval": _to_strdict(return_nodes)}
    else:
        assert eval_return_nodes is not None
        wanted = {"train": _to_strdict(train_return_nodes), "eval": _to_strdict(eval_return_nodes)}

    tracers: dict[str, NodePathTracer] = {}
    graphs: dict[str, Graph] = {}
    name = type(model).__name__
    for mode in ("train", "eval"):
        model.train(mode == "train")
        tracer = NodePathTracer(**kwargs)
        graph = tracer.trace(model, concrete_args=concrete_args)
        graph_module = GraphModule(tracer.root, graph, name)
        available = list(tracer.node_to_qualname.values())
        if len(set(available)) != len(available):
            raise ValueError(
                "There are duplicate nodes! Please raise an issue "
                "https://github.com/pytorch/vision/issues"
            )
        queries = wanted[mode]
        for query in queries:
            # a query names a node or a module path above nodes
            pattern = re.compile(_loose(query) + r"(\.|$)")
            if not any(pattern.match(n) for n in available):
                raise ValueError(
                    f"node: '{query}' is not present in model. Hint: use "
                    "`get_graph_node_names` to make sure the "
                    "`return_nodes` you specified are present. It may even "
                    "be that you need to specify `train_return_nodes` and "
                    "`eval_return_nodes` separately."
                )
        outputs = [n for n in graph.nodes if n.op == "output"]
        if not outputs:
            raise ValueError("No output nodes found in graph_module.graph.nodes")
        for n in reversed(outputs):
            graph.erase_node(n)
        nodes = list(graph.nodes)
        # walking back from the end, each query takes the last node under its path; as in
        # torchvision, a node serves one query only (the first in return_nodes' order)
        pending = dict(queries)
        found: dict[str, Node] = {}
        for n in reversed(nodes):
            qualname = tracer.node_to_qualname.get(n)
            if qualname is None:  # constants and named-tuple packing have no name
                continue
            parts = qualname.split(".")
            for query in pending:
                if ".".join(parts[: query.count(".") + 1]) == query:
                    found[pending.pop(query)] = n
                    break
        # keys in graph order (the order the nodes were found in, reversed)
        output = dict(reversed(list(found.items())))
        with graph.inserting_after(nodes[-1]):
            graph.output(output)
        graph.eliminate_dead_code()
        graph_module.recompile()
        tracers[mode] = tracer
        graphs[mode] = graph

    if not suppress_diff_warning:
        _warn_graph_differences(tracers["train"], tracers["eval"])
    result = DualGraphModule(model, graphs["train"], graphs["eval"], class_name=name)
    model.train(was_training)
    result.train(was_training)
    return result
