"""``Tracer`` and ``symbolic_trace``: run a module's forward on Proxies to record its Graph.

As torch.fx: modules of ``ember.nn`` (torch.nn's counterparts) other than ``Sequential`` are
leaves (one call_module node); other modules are traced through. Parameters and buffers read in
forward become get_attr nodes, other tensor constants are stored on the root as
``_tensor_constantN``. ``wrap`` marks a module-level function to be recorded as one call."""

from __future__ import annotations

import inspect
import math
import types
from collections.abc import Callable
from typing import Any

import ember
from ember import nn
from ember.fx._patching import Patcher, inspect_unwrap, wrapped_names
from ember.fx.graph import Graph
from ember.fx.graph_module import GraphModule
from ember.fx.node import Argument
from ember.fx.proxy import Proxy, TracerBase

__all__ = ["PH", "Tracer", "symbolic_trace", "wrap"]


class _PH:
    """The value of a ``concrete_args`` entry that stays an input (torch.fx.PH)."""

    def __repr__(self) -> str:
        return "PH"


PH = _PH()

_orig_module_call = nn.Module.__call__
_orig_module_getattr = nn.Module.__getattr__


class Tracer(TracerBase):
    """Records a module or function as a Graph by running it on Proxies, as torch.fx.Tracer."""

    def __init__(
        self,
        autowrap_modules: tuple[types.ModuleType, ...] = (math,),
        autowrap_functions: tuple[Callable[..., Any], ...] = (),
        param_shapes_constant: bool = False,
    ) -> None:
        super().__init__()
        self._autowrap_functions = tuple(autowrap_functions)
        self.param_shapes_constant = param_shapes_constant
        self.submodule_paths: dict[nn.Module, str] | None = None
        self.root: nn.Module = nn.Module()
        self.module_stack: dict[str, tuple[str, Any]] = {}
        self.num_calls: dict[str, int] = {}
        self.tensor_attrs: dict[int, str] = {}
        self._patcher: Patcher | None = None

    # --- what becomes a node ---------------------------------------------------------------
    def create_arg(self, a: Any) -> Argument:
        """As TracerBase's, plus parameters, buffers and submodules of the root as get_attr
        nodes and other tensors stored on the root as ``_tensor_constantN``."""
        if isinstance(a, nn.Parameter):
            for n, p in self.root.named_parameters():
                if a is p:
                    return self.create_node("get_attr", n, (), {})
            raise NameError("parameter is not a member of this module")
        if isinstance(a, ember.Tensor):
            for n, b in self.root.named_buffers():
                if a is b:
                    return self.create_node("get_attr", n, (), {})
            qualname = self.tensor_attrs.get(id(a))
            if qualname is None:
                i = 0
                while hasattr(self.root, f"_tensor_constant{i}"):
                    i += 1
                qualname = f"_tensor_constant{i}"
                self.tensor_attrs[id(a)] = qualname
                setattr(self.root, qualname, a)
            return self.create_node("get_attr", qualname, (), {})
        if isinstance(a, nn.Module):
            for n, m in self.root.named_modules():
                if a is m:
                    return self.create_node("get_attr", n, (), {})
        if isinstance(a, tuple) and hasattr(a, "_fields"):
            return self.create_node(
                "call_function", type(a), tuple(self.create_arg(e) for e in a), {}
            )
        return super().create_arg(a)

    def is_leaf_module(self, m: nn.Module, module_qualified_name: str) -> bool:
        """Whether ``m`` is recorded as one call_module node: ember.nn's modules (torch.nn's
        counterparts) except Sequential."""
        mod = type(m).__module__
        return (mod.startswith(("ember.nn", "torch.nn"))) and not isinstance(m, nn.Sequential)

    def path_of_module(self, mod: nn.Module) -> str:
        """The qualified name of ``mod`` in the root ('layer1.0.conv1')."""
        if self.submodule_paths is not None:
            path = self.submodule_paths.get(mod)
            if path is not None:
                return path
        for n, p in self.root.named_modules():
            if mod is p:
                return n
        raise NameError("module is not installed as a submodule")

    def call_module(
        self,
        m: nn.Module,
        forward: Callable[..., Any],
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
    ) -> Any:
        """A module call: a call_module node for a leaf, else trace through its forward."""
        qualname = self.path_of_module(m)
        n = self.num_calls.get(qualname, 0)
        key = f"{qualname}@{n}" if n else qualname
        self.module_stack[key] = (qualname, type(m))
        self.num_calls[qualname] = n + 1
        try:
            if not self.is_leaf_module(m, qualname):
                if self._patcher is not None:
                    self._patcher.patch_globals_of(type(m).forward)
                return forward(*args, **kwargs)
            return self.create_proxy("call_module", qualname, args, kwargs)
        finally:
            self.module_stack.pop(key, None)

    def getattr(self, attr: str, attr_val: Any, parameter_proxy_cache: dict[str, Proxy]) -> Any:
        """A module attribute read during tracing: a parameter (or a buffer, when
        ``proxy_buffer_attributes``) becomes a get_attr Proxy, cached per name."""

        def proxy_for(collection: Any) -> Proxy | None:
            for n, p in collection:
                if attr_val is p:
                    if n not in parameter_proxy_cache:
                        parameter_proxy_cache[n] = self.create_proxy("get_attr", n, (), {})
                    return parameter_proxy_cache[n]
            return None

        if isinstance(attr_val, nn.Parameter):
            found = proxy_for(self.root.named_parameters())
            if found is not None:
                return found
        if self.proxy_buffer_attributes and isinstance(attr_val, ember.Tensor):
            found = proxy_for(self.root.named_buffers())
            if found is not None:
                return found
        return attr_val

    # --- tracing ---------------------------------------------------------------------------
    def create_args_for_root(
        self, root_fn: Callable[..., Any], is_module: bool, concrete_args: dict | None = None
    ) -> tuple[Callable[..., Any], list[Any], dict[str, Any]]:
        """Placeholders for the root's parameters: (function, positional, keyword values)."""
        fn = inspect_unwrap(root_fn)
        sig = inspect.signature(fn)
        concrete_args = concrete_args or {}
        params = list(sig.parameters.values())
        args: list[Any] = []
        kwargs: dict[str, Any] = {}
        if is_module:
            if not params:
                raise RuntimeError("``self`` argument cannot be part of *args expansion!")
            params = params[1:]
            args.append(self.root)
        for p in params:
            if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
                continue  # nothing is passed there: a traced forward has fixed inputs
            if p.name in concrete_args and concrete_args[p.name] is not PH:
                value = concrete_args[p.name]
                self.create_proxy("placeholder", p.name, (value,), {})
            else:
                default = () if p.default is p.empty else (p.default,)
                value = self.create_proxy(
                    "placeholder",
                    p.name,
                    default,
                    {},
                    type_expr=fn.__annotations__.get(p.name),
                )
            if p.kind == p.KEYWORD_ONLY:
                kwargs[p.name] = value
            else:
                args.append(value)
        return root_fn, args, kwargs

    def trace(
        self, root: nn.Module | Callable[..., Any], concrete_args: dict | None = None
    ) -> Graph:
        """Run ``root`` on Proxies and return the recorded Graph."""
        if isinstance(root, nn.Module):
            self.root = root
            fn = type(root).forward
        else:
            self.root = nn.Module()
            fn = root
        self.submodule_paths = {m: n for n, m in self.root.named_modules()}
        self.graph = Graph(tracer_cls=type(self))
        self.tensor_attrs = {}
        for prefix, m in self.root.named_modules():
            for k, v in vars(m).items():
                if isinstance(v, ember.Tensor):
                    self.tensor_attrs[id(v)] = f"{prefix}.{k}" if prefix else k
        self.module_stack = {}
        self.num_calls = {}
        fn, args, kwargs = self.create_args_for_root(fn, isinstance(root, nn.Module), concrete_args)
        cache: dict[str, Proxy] = {}
        tracer = self

        def module_getattr(mod: nn.Module, attr: str) -> Any:
            return tracer.getattr(attr, _orig_module_getattr(mod, attr), cache)

        def module_call(mod: nn.Module, *a: Any, **k: Any) -> Any:
            def forward(*a2: Any, **k2: Any) -> Any:
                return _orig_module_call(mod, *a2, **k2)

            return tracer.call_module(mod, forward, a, k)

        with Patcher() as patcher:
            self._patcher = patcher
            try:
                patcher.patch_attr(nn.Module, "__getattr__", module_getattr)
                patcher.patch_attr(nn.Module, "__call__", module_call)
                patcher.patch_namespaces()
                # ember mirrors parameters into each module's __dict__ so reads skip
                # __getattr__; hidden while tracing, they reach self.getattr as torch's do
                for m in self.submodule_paths:
                    for pname in list(m._parameters):
                        patcher.hide_key(m.__dict__, pname)
                for f in self._autowrap_functions:
                    patcher.wrapper_for(f)
                patcher.patch_globals_of(fn)
                result = fn(*args, **kwargs)
                self.create_node(
                    "output",
                    "output",
                    (self.create_arg(result),),
                    {},
                    type_expr=inspect_unwrap(fn).__annotations__.get("return"),
                )
            finally:
                self._patcher = None
        self.submodule_paths = None
        return self.graph


def symbolic_trace(
    root: nn.Module | Callable[..., Any], concrete_args: dict[str, Any] | None = None
) -> GraphModule:
    """Trace ``root`` into a GraphModule, as torch.fx.symbolic_trace."""
    tracer = Tracer()
    graph = tracer.trace(root, concrete_args)
    name = type(root).__name__ if isinstance(root, nn.Module) else root.__name__
    return GraphModule(tracer.root, graph, name)


def wrap(fn_or_name: str | Callable[..., Any]) -> str | Callable[..., Any]:
    """Record calls of a module-level function (or builtin name, e.g. 'len') as one
    call_function node instead of tracing into it; call at the top level of a module."""
    name = fn_or_name if isinstance(fn_or_name, str) else fn_or_name.__name__
    frame = inspect.currentframe()
    caller = frame.f_back if frame is not None else None
    if caller is None or caller.f_code.co_name != "<module>":
        raise NotImplementedError("wrap must be called at the top level of a module")
    entry = (caller.f_globals, name)
    if not any(g is entry[0] and n == name for g, n in wrapped_names):
        wrapped_names.append(entry)
    return fn_or_name
