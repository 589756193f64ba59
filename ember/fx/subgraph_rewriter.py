"""``replace_pattern``: find a traced pattern in a GraphModule and put a replacement there.

As torch.fx.subgraph_rewriter: the pattern and the replacement are functions (or modules) with
the same inputs, traced with symbolic_trace; a match maps the pattern's inputs to any nodes of
the graph, its other nodes to nodes with the same op and target, and none of its inner values
may be used outside the match. Matches do not overlap; the graph is recompiled."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

from ember import nn
from ember.fx._symbolic_trace import symbolic_trace
from ember.fx.graph import Graph
from ember.fx.graph_module import GraphModule
from ember.fx.node import Node

__all__ = ["Match", "replace_pattern"]


class Match(NamedTuple):
    """One replaced occurrence: the anchor (the node matching the pattern's output) and the
    pattern node -> graph node map."""

    anchor: Node
    nodes_map: dict[Node, Node]


def _graph_of(p: Callable[..., Any] | nn.Module | Graph) -> Graph:
    if isinstance(p, Graph):
        return p
    if isinstance(p, GraphModule):
        return p.graph
    return symbolic_trace(p).graph


def _match(pn: Node, gn: Node, mapping: dict[Node, Node]) -> bool:
    if pn in mapping:
        return mapping[pn] is gn
    if pn.op == "placeholder":
        mapping[pn] = gn
        return True
    if pn.op != gn.op or pn.target != gn.target:
        return False
    if len(pn.args) != len(gn.args) or set(pn.kwargs) != set(gn.kwargs):
        return False
    mapping[pn] = gn
    pairs = list(zip(pn.args, gn.args, strict=True))
    pairs += [(pn.kwargs[k], gn.kwargs[k]) for k in pn.kwargs]
    return all(_match_arg(a, b, mapping) for a, b in pairs)


def _match_arg(a: Any, b: Any, mapping: dict[Node, Node]) -> bool:
    if isinstance(a, Node):
        return isinstance(b, Node) and _match(a, b, mapping)
    if isinstance(a, (list, tuple)):
        return (
            isinstance(b, (list, tuple))
            and len(a) == len(b)
            and all(_match_arg(x, y, mapping) for x, y in zip(a, b, strict=True))
        )
    return not isinstance(b, Node) and a == b


def replace_pattern(
    gm: GraphModule,
    pattern: Callable[..., Any] | nn.Module | Graph,
    replacement: Callable[..., Any] | nn.Module | Graph,
) -> list[Match]:
    """Replace every non-overlapping occurrence of ``pattern`` in ``gm`` by ``replacement``."""
    pattern_graph = _graph_of(pattern)
    replacement_graph = _graph_of(replacement)
    p_out = next(n for n in pattern_graph.nodes if n.op == "output")
    anchor_p = p_out.args[0]
    if not isinstance(anchor_p, Node):
        raise NotImplementedError("replace_pattern supports patterns returning one value")
    p_inputs = [n for n in pattern_graph.nodes if n.op == "placeholder"]
    r_inputs = [n for n in replacement_graph.nodes if n.op == "placeholder"]
    graph = gm.graph
    matches: list[Match] = []
    taken: set[Node] = set()
    for gn in list(graph.nodes):
        mapping: dict[Node, Node] = {}
        if gn in taken or not _match(anchor_p, gn, mapping):
            continue
        inner = {p: g for p, g in mapping.items() if p.op != "placeholder"}
        if any(g in taken for g in inner.values()):
            continue
        inner_nodes = set(inner.values())
        leaks = any(
            u not in inner_nodes for p, g in inner.items() if p is not anchor_p for u in g.users
        )
        if leaks:
            continue
        matches.append(Match(gn, mapping))
        taken |= inner_nodes
    for m in matches:
        val_map = {r: m.nodes_map[p] for r, p in zip(r_inputs, p_inputs, strict=False)}
        with graph.inserting_before(m.anchor):
            new_value = graph.graph_copy(replacement_graph, val_map)
        if isinstance(new_value, Node):
            m.anchor.replace_all_uses_with(new_value)
        else:
            raise NotImplementedError("replace_pattern supports replacements returning one node")
        for p in reversed(list(pattern_graph.nodes)):
            g = m.nodes_map.get(p)
            if g is not None and p.op != "placeholder" and not g.users:
                graph.erase_node(g)
    gm.recompile()
    return matches
