"""``ember.fx``: symbolic tracing of modules into graphs, as torch.fx.

Tracing runs a module's forward on Proxies: calls of leaf modules, of ember's functions and of
Tensor methods and operators become Graph nodes; a GraphModule runs the graph as generated
Python. ``Interpreter``/``Transformer`` execute or rewrite graphs, and ``passes.shape_prop``
records shapes. Differences from torch are listed in docs/differences.md."""

from ember.fx import immutable_collections, passes, subgraph_rewriter
from ember.fx._codegen import PythonCode
from ember.fx._symbolic_trace import PH, Tracer, symbolic_trace, wrap
from ember.fx.graph import Graph
from ember.fx.graph_module import GraphModule
from ember.fx.interpreter import Interpreter, Transformer
from ember.fx.node import Node, map_arg
from ember.fx.proxy import Proxy
from ember.fx.subgraph_rewriter import replace_pattern

__all__ = [
    "PH",
    "Graph",
    "GraphModule",
    "Interpreter",
    "Node",
    "Proxy",
    "PythonCode",
    "Tracer",
    "Transformer",
    "immutable_collections",
    "map_arg",
    "passes",
    "replace_pattern",
    "subgraph_rewriter",
    "symbolic_trace",
    "wrap",
]
