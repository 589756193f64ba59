"""``torch.library``: custom operators, called through ``torch.ops.<namespace>.<name>``, eagerly.

An operator has a schema, kernels per device ("cpu", "cuda") or dispatch key, an optional fake
(meta) function, which eager ember stores but never needs, and an optional autograd formula,
which runs through :class:`ember.autograd.Function`. ``torch.ops`` is ``ember.ops``: names that
are not ember's own op modules are the namespaces registered here (see ``ember/ops/__init__.py``).
"""

from __future__ import annotations

import ast
import contextlib
import inspect
import types
import typing
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

from . import dtypes as _dtypes
from ._backend.xp import xp_of
from ._grad_state import state as _grad_state
from .autograd.function import Function
from .autograd.grad_mode import no_grad
from .autograd.gradcheck import gradcheck
from .device import device as _device
from .ops import _op_registry
from .tensor import Tensor

__all__ = [
    "Library",
    "impl",
    "define",
    "fallthrough_kernel",
    "impl_abstract",
    "register_fake",
    "register_autograd",
    "register_kernel",
    "get_ctx",
    "custom_op",
    "CustomOpDef",
    "triton_op",
    "wrap_triton",
    "infer_schema",
    "opcheck",
]

_KINDS = ("DEF", "IMPL", "FRAGMENT")
# dispatch keys whose kernels run eagerly; any other key's kernel is kept but never chosen
_DEVICE_KEYS = {"CPU": "cpu", "CUDA": "cuda", "cpu": "cpu", "cuda": "cuda"}
_AUTOGRAD_KEYS = ("Autograd", "AutogradCPU", "AutogradCUDA")
_COMPOSITE_KEYS = ("CompositeImplicitAutograd", "CompositeExplicitAutograd")
_KNOWN_KEYS = frozenset(
    {*_DEVICE_KEYS, *_AUTOGRAD_KEYS, *_COMPOSITE_KEYS, "", "Meta", "BackendSelect"}
    | {"CompositeExplicitAutogradNonFunctional", "Functionalize", "ADInplaceOrView", "Python"}
    | {"AutocastCPU", "AutocastCUDA", "FuncTorchBatched", "XLA", "MPS", "XPU", "PrivateUse1"}
)
_ALIAS_MSG = (
    "{op} (with implementation in {where}): The output of this custom operator (1) must not "
    "also be an input to this custom operator and (2) may not alias any inputs to this custom "
    "operator or other returns. Return a clone of the output (e.g. x.clone()) instead."
)


# --- schemas --------------------------------------------------------------------------------


class _Arg(typing.NamedTuple):
    type: str
    name: str
    default: Any  # _NO_DEFAULT when absent
    kwarg_only: bool
    mutable: bool


_NO_DEFAULT = object()


def _split_top(text: str) -> list[str]:
    """Split on commas outside brackets."""
    out, depth, cur = [], 0, []
    for ch in text:
        if ch in "([":
            depth += 1
        elif ch in ")]":
            depth -= 1
        if ch == "," and depth == 0:
            out.append("".join(cur).strip())
            cur = []
        else:
            cur.append(ch)
    if "".join(cur).strip():
        out.append("".join(cur).strip())
    return out


def _parse_default(text: str) -> Any:
    if text in ("None", "True", "False"):
        return {"None": None, "True": True, "False": False}[text]
    dt = getattr(_dtypes, text, None)
    if isinstance(dt, _dtypes.dtype):
        return dt
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


class _Schema:
    """A parsed operator schema: 'name.overload(Type arg, *, Type kw=default) -> Ret'."""

    def __init__(self, text: str):
        self.text = text
        head, _, rest = text.partition("(")
        depth, end = 1, -1
        while depth and end + 1 < len(rest):
            end += 1
            depth += (rest[end] == "(") - (rest[end] == ")")
        if not rest or depth:
            raise RuntimeError(f"Could not parse schema: {text}")
        name, _, overload = head.strip().partition(".")
        self.name, self.overload = name, overload or "default"
        self.returns = rest[end + 1 :].partition("->")[2].strip()
        self.args: list[_Arg] = []
        kwarg_only = False
        for part in _split_top(rest[:end]):
            if part == "*":
                kwarg_only = True
                continue
            decl, eq, default = part.partition("=")
            typ, _, argname = decl.strip().rpartition(" ")
            value = _parse_default(default.strip()) if eq else _NO_DEFAULT
            self.args.append(_Arg(typ, argname, value, kwarg_only, "!" in typ))

    def bind(self, qualname: str, args: tuple, kwargs: dict) -> tuple[list, dict]:
        """(positional arguments in order with their defaults, keyword-only arguments)."""
        positional = [a for a in self.args if not a.kwarg_only]
        if len(args) > len(positional):
            if len(positional) < len(self.args):
                raise RuntimeError(
                    f"{qualname}() takes {len(positional)} positional argument(s) but "
                    f"{len(args)} was/were given.  Declaration: {qualname}{self._sig()}"
                )
            raise RuntimeError(
                f"{qualname}() expected at most {len(positional)} argument(s) but received "
                f"{len(args)} argument(s). Declaration: {qualname}{self._sig()}"
            )
        kwargs = dict(kwargs)
        pos, kw = list(args), {}
        for a in self.args[len(args) :]:
            if a.name in kwargs:
                value = kwargs.pop(a.name)
            elif a.default is not _NO_DEFAULT:
                value = a.default
            else:
                raise RuntimeError(
                    f"{qualname}() is missing value for argument '{a.name}'. Declaration: "
                    f"{qualname}{self._sig()}"
                )
            if a.kwarg_only:
                kw[a.name] = value
            else:
                pos.append(value)
        if kwargs:
            raise RuntimeError(
                f"Unknown keyword argument '{next(iter(kwargs))}' for operator '{qualname}'. "
                f"Schema: {qualname}{self._sig()}"
            )
        return pos, kw

    def _sig(self) -> str:
        return self.text[self.text.index("(") :]


# --- infer_schema ---------------------------------------------------------------------------

_SCALAR_TYPES = {
    int: "SymInt",
    float: "float",
    bool: "bool",
    str: "str",
    _dtypes.dtype: "ScalarType",
    _device: "Device",
}


def _union_args(tp: Any) -> tuple | None:
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        return typing.get_args(tp)
    return None


def _type_name(tp: Any) -> str | None:
    """The schema type of an annotation, or None when unsupported."""
    if tp is Tensor or (isinstance(tp, type) and issubclass(tp, Tensor)):
        return "Tensor"
    if tp in _SCALAR_TYPES:
        return _SCALAR_TYPES[tp]
    members = _union_args(tp)
    if members is not None:
        rest = [m for m in members if m is not type(None)]
        if set(rest) == {int, float} or set(rest) == {int, float, bool}:
            inner = "Scalar"
        elif len(rest) == 1:
            inner = _type_name(rest[0])
        else:
            return None
        if inner is None:
            return None
        return inner + "?" if len(rest) < len(members) else inner
    origin = typing.get_origin(tp)
    if origin in (list, Sequence, typing.Sequence):
        (item,) = typing.get_args(tp) or (None,)
        inner = _type_name(item)
        return None if inner is None else inner + "[]"
    return None


def _return_name(tp: Any, error: Callable[[str], None]) -> str:
    if tp is None or tp is type(None):
        return "()"
    if typing.get_origin(tp) is tuple:
        items = [_return_name(t, error) for t in typing.get_args(tp)]
        return "(" + ", ".join(items) + ")"
    name = _type_name(tp)
    if name is None or "?" in name:
        error(f"Return has unsupported type {tp}.")
    return name


def _default_text(value: Any, error: Callable[[str], None], pname: str) -> str:
    if value is None or isinstance(value, bool):
        return str(value)
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return '"' + value + '"'
    if isinstance(value, _dtypes.dtype):
        return str(value).rpartition(".")[2]
    error(f"Parameter {pname} has an unsupported default value type {type(value)}.")
    return ""


def infer_schema(
    prototype_function: Callable,
    /,
    *,
    mutates_args: str | Iterable[str],
    op_name: str | None = None,
) -> str:
    """The operator schema of a type-annotated function, as torch.library.infer_schema: ``int``
    is ``SymInt``, a mutated Tensor argument ``Tensor(a<i>!)`` with ``i`` its position, and
    ``mutates_args="unknown"`` marks every Tensor argument mutable."""
    sig = inspect.signature(prototype_function)

    def error(what: str) -> None:
        raise ValueError(f"infer_schema(func): {what} Got func with signature {sig})")

    try:
        hints = typing.get_type_hints(prototype_function)
    except Exception:  # an annotation that does not resolve: read them as written
        hints = {k: p.annotation for k, p in sig.parameters.items()}
        hints["return"] = sig.return_annotation
    unknown = mutates_args == "unknown"
    wanted = set() if unknown else set(mutates_args)
    parts, seen_kwarg_only = [], False
    for idx, (pname, p) in enumerate(sig.parameters.items()):
        if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            error("We do not support *args or **kwargs.")
        if p.annotation is p.empty:
            error(f"Parameter {pname} must have a type annotation.")
        typ = _type_name(hints.get(pname, p.annotation))
        if typ is None:
            error(f"Parameter {pname} has unsupported type {p.annotation}.")
        if unknown and typ.startswith("Tensor") or pname in wanted:
            if not typ.startswith("Tensor"):
                error(f"Parameter {pname} is in mutable_args but only Tensors can be mutated.")
            typ = f"Tensor(a{idx}!)" + typ[len("Tensor") :]
        if p.kind is p.KEYWORD_ONLY and not seen_kwarg_only:
            parts.append("*")
            seen_kwarg_only = True
        text = f"{typ} {pname}"
        if p.default is not p.empty:
            text += "=" + _default_text(p.default, error, pname)
        parts.append(text)
    missing = wanted - set(sig.parameters)
    if missing:
        error(
            f"{missing} in mutates_args were not found in the custom op's signature. "
            "mutates_args should contain the names of all args that the custom op mutates, or "
            "just the string 'unknown' if you don't know."
        )
    if sig.return_annotation is sig.empty:
        error("No return type annotation was provided. Please add one.")
    ret = _return_name(hints.get("return", sig.return_annotation), error)
    return f"{op_name or ''}({', '.join(parts)}) -> {ret}"


# --- operators and their dispatch -----------------------------------------------------------


def _parse_qualname(qualname: str) -> tuple[str, str]:
    ns, sep, name = qualname.partition("::")
    if not sep or not ns or not name or "::" in name:
        raise ValueError(
            f"Expected the operator name to be 'namespace::name' (e.g. 'mylib::foo'), got "
            f"{qualname!r}"
        )
    return ns, name


def _tensors(values: Iterable) -> Iterator[Tensor]:
    for v in values:
        if isinstance(v, Tensor):
            yield v
        elif isinstance(v, (list, tuple)):
            yield from _tensors(v)


def _device_type(values: Iterable) -> str:
    for t in _tensors(values):
        return t.device.type
    return "cpu"


class _Meta:
    """The last argument of the autograd Function: the keyword-only arguments and the device."""

    def __init__(self, kwonly: dict, device: str):
        self.kwonly, self.device = kwonly, device


class _OpDef:
    """One operator: schema, kernels, fake function and autograd formula."""

    _custom = False

    def __init__(self, namespace: str, name: str, schema: _Schema):
        self._namespace, self._name = namespace, name
        self._qualname = f"{namespace}::{name}"
        self._schema = schema
        self._init_fn: Callable | None = None
        self._init_devices: frozenset[str] | None = None
        self._backend_fns: dict[str, Callable] = {}  # device type -> kernel
        self._key_fns: dict[str, Callable] = {}  # other dispatch keys -> kernel
        self._disabled_kernel: set[str] = set()
        self._abstract_fn: Callable | None = None
        self._backward_fn: Callable | None = None
        self._setup_context_fn: Callable | None = None
        self._autograd_cls: type | None = None
        overload = schema.overload
        self._opoverload = _op_registry.register(
            namespace, name, overload, f"{namespace}::{schema.text}", self._dispatch
        )

    # the kernel for a device --------------------------------------------------------------
    def _kernel(self, device: str) -> Callable:
        fn = self._backend_fns.get(device)
        if fn is not None and device not in self._disabled_kernel:
            return fn
        init = self._init_fn
        if init is not None and (
            self._init_devices is None
            or device in self._init_devices
            or device in self._disabled_kernel
        ):
            return init
        fn = self._key_fns.get("CompositeExplicitAutograd")
        if fn is not None:
            return fn
        raise NotImplementedError(
            f"Could not run '{self._qualname}' with arguments from the '{device.upper()}' "
            "backend. This could be because the operator doesn't exist for this backend."
        )

    def _run_backend(self, pos: Sequence, meta: _Meta) -> Any:
        fn = self._kernel(meta.device)
        out = fn(*pos, **meta.kwonly)
        if self._custom:
            self._check_aliasing(fn, pos, meta.kwonly, out)
        return out

    def _check_aliasing(self, fn: Callable, pos: Sequence, kwonly: dict, out: Any) -> None:
        outs = list(_tensors(out if isinstance(out, (tuple, list)) else (out,)))
        ins = list(_tensors([*pos, *kwonly.values()]))
        for i, o in enumerate(outs):
            for other in ins + outs[:i]:
                if o is other or (
                    o._data.size
                    and other._data.size
                    and xp_of(o._data).may_share_memory(o._data, other._data)
                ):
                    where = repr(inspect.getmodule(fn))
                    raise RuntimeError(_ALIAS_MSG.format(op=self._name, where=where))

    # a call ---------------------------------------------------------------------------------
    def _dispatch(self, *args: Any, **kwargs: Any) -> Any:
        pos, kwonly = self._schema.bind(self._qualname, args, kwargs)
        meta = _Meta(kwonly, _device_type([*pos, *kwonly.values()]))
        needs_grad = _grad_state.enabled and any(
            t.requires_grad for t in _tensors([*pos, *kwonly.values()])
        )
        if self._autograd_cls is not None:
            return self._autograd_cls.apply(*pos, meta)
        for key in (*_AUTOGRAD_KEYS, "CompositeImplicitAutograd"):
            fn = self._key_fns.get(key)
            if fn is not None and (key != "AutogradCUDA" or meta.device == "cuda"):
                return fn(*pos, **kwonly)
        if needs_grad and self._custom:
            return self._no_formula_cls().apply(*pos, meta)
        with no_grad():
            return self._run_backend(pos, meta)

    def _function_cls(self, backward: Callable) -> type:
        op = self

        def forward(*args: Any) -> Any:
            return op._run_backend(args[:-1], args[-1])

        def setup_context(ctx: Any, inputs: tuple, output: Any) -> None:
            fn = op._setup_context_fn
            if fn is None:
                return
            if "keyword_only_inputs" in inspect.signature(fn).parameters:
                fn(ctx, inputs[:-1], output, keyword_only_inputs=inputs[-1].kwonly)
            else:
                fn(ctx, inputs[:-1], output)

        def run_backward(ctx: Any, *grads: Any) -> tuple:
            res = backward(ctx, *grads)
            res = res if isinstance(res, (tuple, list)) else (res,)
            n = len(ctx._next) - 1
            if len(res) != n:
                raise RuntimeError(
                    f"Expected the backward of {op._qualname} to return {n} gradient(s) (one "
                    f"per positional input), got {len(res)}"
                )
            return (*res, None)

        name = f"GeneratedBackwardFor_{self._namespace}_{self._name}_{self._schema.overload}"
        cls = type(
            name,
            (Function,),
            {
                "forward": staticmethod(forward),
                "setup_context": staticmethod(setup_context),
                "backward": staticmethod(run_backward),
            },
        )
        # ctx.needs_input_grad names only the op's inputs, not the trailing _Meta
        cls._node_cls = type(
            cls._node_cls.__name__,
            (cls._node_cls,),
            {"needs_input_grad": property(lambda ctx: tuple(ctx._needs[:-1]))},
        )
        return cls

    def _no_formula_cls(self) -> type:
        cls = self.__dict__.get("_no_formula")
        if cls is None:
            op = self

            def missing(ctx: Any, *grads: Any) -> tuple:
                raise RuntimeError(
                    f"Trying to backward through {op._namespace}.{op._name}."
                    f"{op._schema.overload} but no autograd formula was registered. Please use "
                    "register_autograd to add one."
                )

            cls = self._no_formula = self._function_cls(missing)
        return cls

    def _set_autograd(self, backward: Callable, setup_context: Callable | None) -> None:
        self._backward_fn, self._setup_context_fn = backward, setup_context
        self._autograd_cls = self._function_cls(backward)

    def _set_kernel(self, key: str, fn: Callable) -> None:
        if key in _DEVICE_KEYS:
            self._backend_fns[_DEVICE_KEYS[key]] = fn
        else:
            self._key_fns[key] = fn


_OPS: dict[str, _OpDef] = {}  # "ns::name" or "ns::name.overload" -> its definition


def _find(op: Any) -> _OpDef:
    """The definition behind a qualified name, a CustomOpDef or an OpOverload(Packet)."""
    if isinstance(op, _OpDef):
        return op
    if isinstance(op, _op_registry.OpOverloadPacket):
        op = op._qualified_op_name
    elif isinstance(op, _op_registry.OpOverload):
        op = op.name()
    if not isinstance(op, str):
        raise TypeError(f"Expected an operator name, a CustomOpDef or an OpOverload, got {op!r}")
    found = _OPS.get(op)
    if found is None:
        raise RuntimeError(f"operator {op} does not exist")
    return found


def _devices(device_types: str | Sequence[str] | None) -> frozenset[str] | None:
    if device_types is None:
        return None
    names = [device_types] if isinstance(device_types, str) else list(device_types)
    for d in names:
        if d not in ("cpu", "cuda"):
            raise ValueError(f"ember runs kernels for 'cpu' and 'cuda' only, got {d!r}")
    return frozenset(names)


# --- Library ----------------------------------------------------------------------------------

_DEF_NAMESPACES: set[str] = set()


class Library:
    """A set of operators in one namespace, as torch.library.Library(ns, kind) with kind "DEF"
    (the one place that defines the namespace), "FRAGMENT" (defines more) or "IMPL"."""

    def __init__(self, ns: str, kind: str, dispatch_key: str = ""):
        if kind not in _KINDS:
            raise ValueError(f"Unsupported kind: {kind}")
        if ns in ("prim", "prims", "aten") and kind in ("DEF", "FRAGMENT"):
            raise ValueError(f"{ns} is a reserved namespace; create a library with another name")
        if ns in _op_registry.internal_module_names():
            raise RuntimeError(
                f"ember cannot host the operator namespace {ns!r}: torch.ops is ember.ops, and "
                f"ember.ops.{ns} is one of ember's own modules; choose another namespace"
            )
        if kind == "DEF":
            if ns in _DEF_NAMESPACES:
                raise RuntimeError(
                    f"Only a single TORCH_LIBRARY can be used to register the namespace {ns}; "
                    "use kind 'FRAGMENT' to define more operators in it"
                )
            _DEF_NAMESPACES.add(ns)
        self.ns, self.kind, self.dispatch_key = ns, kind, dispatch_key
        self._defined: list[str] = []

    def define(self, schema: str, alias_analysis: str = "", *, tags: Any = ()) -> str:
        """Define an operator from its schema ("foo(Tensor x) -> Tensor"); returns its name."""
        if self.kind == "IMPL":
            raise RuntimeError("define() is not allowed in a Library of kind 'IMPL'")
        parsed = _Schema(schema)
        key = f"{self.ns}::{parsed.name}"
        if parsed.overload != "default":
            key += "." + parsed.overload
        if key in _OPS and not _OPS[key]._custom:
            raise RuntimeError(
                f"Tried to register an operator ({self.ns}::{schema}) with the same name and "
                "overload name multiple times."
            )
        _OPS[key] = _OpDef(self.ns, parsed.name, parsed)
        self._defined.append(key)
        return parsed.name

    def impl(
        self,
        op_name: str | Any,
        fn: Callable,
        dispatch_key: str = "",
        *,
        with_keyset: bool = False,
        allow_override: bool = False,
    ) -> None:
        """Register ``fn`` as the kernel of ``op_name`` for ``dispatch_key`` ("CPU", "CUDA",
        "CompositeImplicitAutograd", "Autograd", ...; other keys are stored, never run)."""
        key = dispatch_key or self.dispatch_key or "CompositeImplicitAutograd"
        if key not in _KNOWN_KEYS:
            raise RuntimeError(f"could not parse dispatch key: {key}")
        if isinstance(op_name, str):
            name = op_name if "::" in op_name else f"{self.ns}::{op_name}"
        else:
            name = op_name
        _find(name)._set_kernel(key, fn)

    def fallback(self, fn: Callable, dispatch_key: str = "", *, with_keyset: bool = False) -> None:
        """Not eager: ember has no dispatcher fallbacks."""
        raise NotImplementedError("ember does not implement torch.library.Library.fallback yet")

    def _destroy(self) -> None:
        """Forget the operators this library defined, as torch's Library on deletion."""
        for key in self._defined:
            op = _OPS.pop(key, None)
            if op is not None:
                _op_registry.remove(op._namespace, op._name, op._schema.overload)
        self._defined = []
        if self.kind == "DEF":
            _DEF_NAMESPACES.discard(self.ns)

    def __repr__(self) -> str:
        return f"Library(kind={self.kind}, ns={self.ns}, dispatch_key={self.dispatch_key})>"


def fallthrough_kernel() -> None:
    """A dummy kernel for ``Library.impl`` that passes the call on, as torch's."""
    raise NotImplementedError("fallthrough_kernel() should never be called.")


_LIBS: dict[str, Library] = {}  # the FRAGMENT library behind module-level define/custom_op


def _fragment(ns: str) -> Library:
    lib = _LIBS.get(ns)
    if lib is None:
        lib = _LIBS[ns] = Library(ns, "FRAGMENT")
    return lib


def define(qualname: str, schema: str, *, lib: Library | None = None, tags: Any = ()) -> None:
    """Define ``"ns::name"`` with ``schema`` ("(Tensor x) -> Tensor"), as torch.library.define."""
    ns, name = _parse_qualname(qualname)
    (lib or _fragment(ns)).define(name + schema, tags=tags)


def impl(
    qualname: str | Library,
    types: str | Sequence[str],
    func: Callable | None = None,
    *,
    lib: Library | None = None,
) -> Any:
    """Register a kernel for device types ("cpu", "cuda") or dispatch keys, as
    torch.library.impl; also ``impl(lib, name, dispatch_key)`` as a decorator."""
    if isinstance(qualname, Library):
        library, name, key = qualname, types, func or ""

        def register_on(fn: Callable) -> Callable:
            library.impl(name, fn, key)
            return fn

        return register_on
    keys = [types] if isinstance(types, str) else list(types)

    def register(fn: Callable) -> Callable:
        op = _find(qualname)
        for k in keys:
            if k not in _DEVICE_KEYS and k not in _KNOWN_KEYS:
                raise RuntimeError(f"could not parse dispatch key: {k}")
            op._set_kernel(k, fn)
        return fn

    return register if func is None else register(func)


def register_fake(
    op: Any,
    func: Callable | None = None,
    /,
    *,
    lib: Library | None = None,
    _stacklevel: int = 1,
    allow_override: bool = False,
) -> Any:
    """Store the fake (meta) function of ``op``; eager ember never calls it (opcheck does)."""

    def register(fn: Callable) -> Callable:
        _find(op)._abstract_fn = fn
        return fn

    return register if func is None else register(func)


impl_abstract = register_fake


def _resolve_by_ops(op: Any) -> _OpDef:
    """As torch: a string name is looked up through torch.ops (its AttributeError for unknowns)."""
    if isinstance(op, str):
        ns, name = _parse_qualname(op)
        name, _, overload = name.partition(".")
        getattr(getattr(_op_registry.namespace(ns), name), overload or "default")
    return _find(op)


def register_autograd(
    op: Any,
    backward: Callable,
    /,
    *,
    setup_context: Callable | None = None,
    lib: Library | None = None,
) -> None:
    """Give ``op`` a gradient: ``backward(ctx, *grads)`` after ``setup_context(ctx, inputs,
    output)``, run through ember.autograd.Function, as torch.library.register_autograd."""
    _resolve_by_ops(op)._set_autograd(backward, setup_context)


def register_kernel(
    op: Any,
    device_types: str | Sequence[str] | None,
    func: Callable | None = None,
    /,
    *,
    lib: Library | None = None,
) -> Any:
    """Register ``func`` as ``op``'s kernel for the device types ("cpu", "cuda"); ``None``
    makes it the kernel of every device."""

    def register(fn: Callable) -> Callable:
        target = _resolve_by_ops(op)
        devices = _devices(device_types)
        for d in devices if devices is not None else ("cpu", "cuda"):
            target._backend_fns[d] = fn
        return fn

    return register if func is None else register(func)


class FakeImplCtx:
    """What ``get_ctx()`` gives inside a fake function; eager ember has no symbolic sizes."""

    def new_dynamic_size(self, *, min: int = 0, max: int | None = None) -> int:
        raise NotImplementedError(
            "ember does not implement torch.library.get_ctx().new_dynamic_size yet (eager ember "
            "has no symbolic sizes)"
        )


def get_ctx() -> FakeImplCtx:
    """The context of a fake function, as torch.library.get_ctx."""
    return FakeImplCtx()


# --- custom_op ------------------------------------------------------------------------------


class CustomOpDef(_OpDef):
    """The operator ``custom_op`` makes: call it as the function, or as torch.ops.ns.name."""

    _custom = True

    def __init__(
        self,
        namespace: str,
        name: str,
        schema: str,
        fn: Callable,
        device_types: frozenset[str] | None,
    ):
        super().__init__(namespace, name, _Schema(name + schema))
        self._init_fn, self._init_devices = fn, device_types
        self.__name__ = name
        self.__doc__ = fn.__doc__
        self.__wrapped__ = fn

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._opoverload(*args, **kwargs)

    def register_fake(self, fn: Callable, /) -> Callable:
        """Store the fake function (eager ember never needs it); returns it."""
        self._abstract_fn = fn
        return fn

    def register_kernel(self, device_types: str | Sequence[str], fn: Callable | None = None, /):
        """Register the kernel for "cpu" or "cuda" inputs; usable as a decorator."""
        return register_kernel(self, device_types, fn)

    def register_autograd(
        self, backward: Callable, /, *, setup_context: Callable | None = None
    ) -> None:
        """Give the op a gradient, as torch's CustomOpDef.register_autograd."""
        self._set_autograd(backward, setup_context)

    @contextlib.contextmanager
    def set_kernel_enabled(self, device_type: str, enabled: bool = True) -> Iterator[None]:
        """Within the block, disable (or re-enable) the kernel registered for ``device_type``;
        the op's own function runs in its place."""
        was_disabled = device_type in self._disabled_kernel
        if enabled:
            self._disabled_kernel.discard(device_type)
        else:
            self._disabled_kernel.add(device_type)
        try:
            yield
        finally:
            if was_disabled:
                self._disabled_kernel.add(device_type)
            else:
                self._disabled_kernel.discard(device_type)

    def __repr__(self) -> str:
        return f"<CustomOpDef({self._qualname})>"


def custom_op(
    name: str,
    fn: Callable | None = None,
    /,
    *,
    mutates_args: str | Iterable[str],
    device_types: str | Sequence[str] | None = None,
    schema: str | None = None,
    tags: Any = None,
) -> Any:
    """Make ``fn`` the operator ``name`` ("ns::name"), reachable as torch.ops.ns.name, as
    torch.library.custom_op (a decorator without ``fn``). Redefining a name replaces it."""
    if not isinstance(mutates_args, str) and not isinstance(mutates_args, Iterable):
        raise TypeError("mutates_args must be a str or an iterable of str")
    if isinstance(mutates_args, str) and mutates_args != "unknown":
        raise ValueError("mutates_args must be 'unknown' or an iterable of argument names")

    def wrap(func: Callable) -> CustomOpDef:
        ns, opname = _parse_qualname(name)
        if ns in _op_registry.internal_module_names():
            raise RuntimeError(
                f"ember cannot host the operator namespace {ns!r}: torch.ops is ember.ops, and "
                f"ember.ops.{ns} is one of ember's own modules; choose another namespace"
            )
        text = schema if schema is not None else infer_schema(func, mutates_args=mutates_args)
        op = CustomOpDef(ns, opname, text, func, _devices(device_types))
        _OPS[op._qualname] = op
        return op

    return wrap if fn is None else wrap(fn)


def triton_op(name: str, fn: Callable | None = None, /, *, mutates_args: Any, schema: Any = None):
    """Not available: ember has no Triton."""
    raise NotImplementedError(
        "ember does not implement torch.library.triton_op (ember has no Triton); use custom_op"
    )


def wrap_triton(triton_kernel: Any, /) -> Any:
    """Not available: ember has no Triton."""
    raise NotImplementedError("ember does not implement torch.library.wrap_triton (no Triton)")


# --- opcheck --------------------------------------------------------------------------------

DEFAULT_TEST_UTILS = (
    "test_schema",
    "test_autograd_registration",
    "test_faketensor",
    "test_aot_dispatch_dynamic",
)


class OpCheckError(Exception):
    """An opcheck test failed."""


def _clone_args(args: Any) -> Any:
    if isinstance(args, Tensor):
        return args.detach().clone().requires_grad_(args.requires_grad)
    if isinstance(args, (list, tuple)):
        return type(args)(_clone_args(a) for a in args)
    if isinstance(args, dict):
        return {k: _clone_args(v) for k, v in args.items()}
    return args


def _check_schema(op: _OpDef, args: tuple, kwargs: dict) -> None:
    pos, kw = op._schema.bind(op._qualname, args, kwargs)
    before = [t.detach().clone() for t in _tensors([*pos, *kw.values()])]
    with no_grad():
        op._opoverload(*args, **kwargs)
    flat = [a for a in op._schema.args]
    values = [*pos, *kw.values()]
    i = 0
    for a, v in zip(flat, values):
        for t in _tensors([v]):
            if not a.mutable and not bool((t.detach() == before[i]).all()):
                raise OpCheckError(
                    f"{op._qualname}: argument {a.name} is not defined as mutable but was mutated"
                )
            i += 1


def _check_autograd_registration(op: _OpDef, args: tuple, kwargs: dict) -> None:
    if not any(t.requires_grad for t in _tensors([*args, *kwargs.values()])):
        return
    out = op._opoverload(*args, **kwargs)
    outs = list(_tensors(out if isinstance(out, (tuple, list)) else (out,)))
    float_outs = [o for o in outs if o.is_floating_point() or o.is_complex()]
    if float_outs and not any(o.requires_grad for o in float_outs):
        raise OpCheckError(
            f"{op._qualname}: inputs require grad but no output does: register an autograd "
            "formula (register_autograd) or a CompositeImplicitAutograd kernel"
        )


def _check_fake(op: _OpDef, args: tuple, kwargs: dict) -> None:
    if op._abstract_fn is None:
        if op._custom:
            raise OpCheckError(f"There was no fake impl registered for {op!r}.")
        return
    with no_grad():
        real = op._opoverload(*args, **kwargs)
        fake = op._abstract_fn(*args, **kwargs)
    reals = list(_tensors(real if isinstance(real, (tuple, list)) else (real,)))
    fakes = list(_tensors(fake if isinstance(fake, (tuple, list)) else (fake,)))
    if len(reals) != len(fakes) or any(
        r.shape != f.shape or r.dtype != f.dtype for r, f in zip(reals, fakes)
    ):
        raise OpCheckError(
            f"{op._qualname}: the fake function's outputs (shapes and dtypes) differ from the "
            "real kernel's"
        )


def _check_gradients(op: _OpDef, args: tuple, kwargs: dict) -> None:
    wrt = [i for i, a in enumerate(args) if isinstance(a, Tensor) and a.requires_grad]
    if not wrt or op._autograd_cls is None:
        return

    def as_double(a: Any) -> Any:
        if isinstance(a, Tensor) and a.is_floating_point():
            return a.detach().double().requires_grad_(a.requires_grad)
        return a

    dargs = [as_double(a) for a in args]

    def run(*inputs: Tensor) -> Any:
        full = list(dargs)
        for i, t in zip(wrt, inputs):
            full[i] = t
        return op._opoverload(*full, **kwargs)

    if not gradcheck(run, tuple(dargs[i] for i in wrt), raise_exception=False):
        raise OpCheckError(
            f"{op._qualname}: the registered backward disagrees with numerical gradients"
        )


_TESTS = {
    "test_schema": _check_schema,
    "test_autograd_registration": _check_autograd_registration,
    "test_faketensor": _check_fake,
    "test_aot_dispatch_dynamic": _check_gradients,
}


def opcheck(
    op: Any,
    args: tuple[Any, ...],
    kwargs: dict[str, Any] | None = None,
    *,
    test_utils: str | Sequence[str] = DEFAULT_TEST_UTILS,
    raise_exception: bool = True,
    atol: float | None = None,
    rtol: float | None = None,
) -> dict[str, str]:
    """Check an operator eagerly, as torch.library.opcheck: the schema (no undeclared
    mutation), the autograd registration, the fake function against the kernel, and the
    gradients against numerical ones (ember's stand-in for torch's aot_dispatch test);
    returns ``{test: "SUCCESS"}`` or raises OpCheckError (the exception as value when
    ``raise_exception=False``)."""
    target = _find(op)
    names = [test_utils] if isinstance(test_utils, str) else list(test_utils)
    kwargs = kwargs or {}
    results: dict[str, Any] = {}
    for name in names:
        if name not in _TESTS:
            raise ValueError(f"opcheck(op, ...): test_utils={name!r} is not a valid test")
        try:
            _TESTS[name](target, _clone_args(tuple(args)), _clone_args(kwargs))
        except Exception as exc:
            err = exc if isinstance(exc, OpCheckError) else OpCheckError(str(exc))
            if raise_exception:
                raise OpCheckError(f"opcheck(op, ...): {name} failed with {exc}") from exc
            results[name] = err
            continue
        results[name] = "SUCCESS"
    return results
