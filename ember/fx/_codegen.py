"""Python source of a Graph's ``forward``: the code ``GraphModule`` compiles and ``.code`` shows.

The layout follows torch.fx's: one assignment per node, operators written infix, module calls
as ``self.path(...)``, and after each statement ``;  a = b = None`` for the values whose last
use it was, so the generated forward frees intermediates as early as torch's does."""

from __future__ import annotations

import builtins
import keyword
import math
import operator
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import ember
from ember.fx.node import Node, qualified_name

if TYPE_CHECKING:
    from ember.fx.graph import Graph

# the infix and prefix forms of the operator module's functions
MAGIC = {
    operator.add: "{} + {}",
    operator.sub: "{} - {}",
    operator.mul: "{} * {}",
    operator.floordiv: "{} // {}",
    operator.truediv: "{} / {}",
    operator.mod: "{} % {}",
    operator.pow: "{} ** {}",
    operator.lshift: "{} << {}",
    operator.rshift: "{} >> {}",
    operator.and_: "{} & {}",
    operator.or_: "{} | {}",
    operator.xor: "{} ^ {}",
    operator.matmul: "{} @ {}",
    operator.eq: "{} == {}",
    operator.ne: "{} != {}",
    operator.lt: "{} < {}",
    operator.gt: "{} > {}",
    operator.le: "{} <= {}",
    operator.ge: "{} >= {}",
    operator.pos: "+{}",
    operator.neg: "-{}",
    operator.invert: "~{}",
    operator.getitem: "{}[{}]",
}

# names the generated code's globals define; no node may take them
BASE_GLOBALS: dict[str, Any] = {
    "ember": ember,
    "torch": ember,  # dtypes and formats print as torch.float32: their repr must evaluate
    "operator": operator,
    "inf": math.inf,
    "nan": math.nan,
    "NoneType": type(None),
    "device": ember.device,
}
_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_PLAIN = (int, float, bool, str, complex, type(None), type(...))


@dataclass
class PythonCode:
    """The generated source and the globals it runs with, as torch.fx.graph.PythonCode."""

    src: str
    globals: dict[str, Any] = field(default_factory=dict)


def attr_path(root: str, target: str) -> str:
    """'self.layer1', or 'getattr(self.body, "0")' where a part is not an identifier."""
    out = root
    for atom in target.split("."):
        out = (
            f"{out}.{atom}"
            if _IDENT.match(atom) and not keyword.iskeyword(atom)
            else (f'getattr({out}, "{atom}")')
        )
    return out


class _Emitter:
    def __init__(self, graph: Graph) -> None:
        self.globals = dict(BASE_GLOBALS)
        self.taken = {n.name for n in graph.nodes} | set(self.globals)

    def add_global(self, hint: str, obj: Any) -> str:
        for name, value in self.globals.items():
            if value is obj:
                return name
        base = re.sub(r"[^0-9A-Za-z_]", "_", hint) or "_obj"
        if base[0].isdigit() or base in vars(builtins):
            base = "_" + base
        name, i = base, 0
        while name in self.taken:
            i += 1
            name = f"{base}_{i}"
        self.taken.add(name)
        self.globals[name] = obj
        return name

    def function(self, fn: Any) -> str:
        qual = qualified_name(fn)
        if qual.startswith(("ember.", "operator.")) or (
            "." not in qual and getattr(builtins, qual, None) is fn
        ):
            root, _, rest = qual.partition(".")
            if _resolve(self.globals.get(root, builtins), rest or qual) is fn:
                return qual
        return self.add_global(qual.replace(".", "_"), fn)

    def arg(self, a: Any) -> str:
        if isinstance(a, Node):
            return a.name
        if isinstance(a, tuple) and hasattr(a, "_fields"):
            cls = self.add_global(type(a).__name__, type(a))
            return f"{cls}({', '.join(self.arg(x) for x in a)})"
        if isinstance(a, tuple):
            inner = ", ".join(self.arg(x) for x in a)
            return f"({inner},)" if len(a) == 1 else f"({inner})"
        if isinstance(a, list):
            return "[" + ", ".join(self.arg(x) for x in a) + "]"
        if isinstance(a, dict):
            return "{" + ", ".join(f"{k!r}: {self.arg(v)}" for k, v in a.items()) + "}"
        if isinstance(a, slice):
            return f"slice({self.arg(a.start)}, {self.arg(a.stop)}, {self.arg(a.step)})"
        if isinstance(a, float) and not math.isfinite(a):
            return repr(a)  # inf / nan / -inf: globals above
        if isinstance(a, _PLAIN):
            return repr(a)
        if isinstance(a, ember.dtype):
            return f"ember.{str(a).rpartition('.')[2]}"
        if isinstance(a, ember.device):
            return repr(a)
        if callable(a) and not isinstance(a, type) and _public_or_none(a):
            return self.function(a)
        return self.add_global(f"_{type(a).__name__}_constant", a)

    def call_args(self, args: tuple, kwargs: dict) -> str:
        parts = [self.arg(a) for a in args] + [f"{k} = {self.arg(v)}" for k, v in kwargs.items()]
        return ", ".join(parts)


def _public_or_none(fn: Any) -> bool:
    return qualified_name(fn).startswith("ember.")


def _resolve(root: Any, path: str) -> Any:
    obj = root
    for atom in path.split("."):
        obj = getattr(obj, atom, None)
    return obj


def python_code(graph: Graph, root_module: str = "self") -> PythonCode:
    """The ``forward(self, ...)`` source of ``graph`` and the globals to exec it with."""
    em = _Emitter(graph)
    nodes = list(graph.nodes)
    last_uses: dict[Node, list[Node]] = {}
    seen: set[Node] = set()
    for user in reversed(nodes):
        for n in user.all_input_nodes:
            if n not in seen:
                seen.add(n)
                last_uses.setdefault(user, []).append(n)
    signature = [root_module]
    body: list[str] = []
    for node in nodes:
        line = _statement(node, em, root_module, signature)
        if line is None:
            continue
        if node.op != "output":
            dead = list(last_uses.get(node, []))
            if not node.users:
                dead.append(node)
            if dead:
                line += ";  " + " = ".join(n.name for n in dead) + " = None"
        body.append(line)
    if not body or not body[-1].startswith("return"):
        body.append("return None")
    src = f"\n\n\ndef forward({', '.join(signature)}):\n"
    src += "".join(f"    {b}\n" for b in body) + "    "
    return PythonCode(src, em.globals)


def _statement(node: Node, em: _Emitter, root: str, signature: list[str]) -> str | None:
    t = node.target
    if node.op == "placeholder":
        assert isinstance(t, str)
        sig = t if not node.args else f"{t} = {em.arg(node.args[0])}"
        signature.append(sig)
        bare = t.lstrip("*")
        return None if bare == node.name else f"{node.name} = {bare}"
    if node.op == "get_attr":
        assert isinstance(t, str)
        return f"{node.name} = {attr_path(root, t)}"
    if node.op == "call_module":
        assert isinstance(t, str)
        return f"{node.name} = {attr_path(root, t)}({em.call_args(node.args, node.kwargs)})"
    if node.op == "call_method":
        obj, *rest = node.args
        return f"{node.name} = {em.arg(obj)}.{t}({em.call_args(tuple(rest), node.kwargs)})"
    if node.op == "output":
        return f"return {em.arg(node.args[0])}"
    # call_function
    if t in MAGIC and not node.kwargs and MAGIC[t].count("{}") == len(node.args):
        return f"{node.name} = " + MAGIC[t].format(*(em.arg(a) for a in node.args))
    if (
        t is builtins.getattr
        and len(node.args) == 2
        and isinstance(node.args[1], str)
        and _IDENT.match(node.args[1])
    ):
        return f"{node.name} = {em.arg(node.args[0])}.{node.args[1]}"
    return f"{node.name} = {em.function(t)}({em.call_args(node.args, node.kwargs)})"
