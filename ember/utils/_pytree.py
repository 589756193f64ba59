"""torch.utils._pytree: flatten nested containers to a list of leaves and a TreeSpec, and back.

A node is a value whose type is registered: tuple, list, dict, OrderedDict, defaultdict, deque
and every namedtuple (all namedtuple classes share the one ``namedtuple`` node, the class being
the context), plus what ``register_pytree_node`` adds; ``torch.return_types`` registers its
named tuples as nodes of their own, as torch does for its structseqs. Anything else is a leaf,
``None`` included (torch's Python pytree; its C++ one makes ``None`` an empty node). Dicts keep
their insertion order. ``treespec_dumps`` writes torch's JSON, so either library loads the
other's strings.
"""

from __future__ import annotations

import dataclasses
import functools
import importlib
import json
import threading
import types
import warnings
from collections import OrderedDict, defaultdict, deque, namedtuple
from collections.abc import Callable, Hashable, Iterable, Iterator, Mapping, Sequence
from enum import Enum
from typing import Any, Generic, NamedTuple, Protocol, TypeAlias, TypeVar

from .._torch_alias import module_getattr as _module_getattr

__all__ = [
    "PyTree",
    "Context",
    "FlattenFn",
    "UnflattenFn",
    "DumpableContext",
    "ToDumpableContextFn",
    "FromDumpableContextFn",
    "PyTreeSpec",
    "TreeSpec",
    "LeafSpec",
    "keystr",
    "key_get",
    "register_pytree_node",
    "tree_is_leaf",
    "tree_flatten",
    "tree_flatten_with_path",
    "tree_unflatten",
    "tree_iter",
    "tree_leaves",
    "tree_leaves_with_path",
    "tree_structure",
    "tree_map",
    "tree_map_with_path",
    "tree_map_",
    "tree_map_only",
    "tree_map_only_",
    "tree_all",
    "tree_any",
    "tree_all_only",
    "tree_any_only",
    "treespec_dumps",
    "treespec_loads",
    "treespec_pprint",
    "is_namedtuple",
    "is_namedtuple_class",
    "is_namedtuple_instance",
    "is_structseq",
    "is_structseq_class",
    "is_structseq_instance",
]

T = TypeVar("T")
K = TypeVar("K", bound=Hashable)

Context = Any
PyTree = Any
FlattenFn = Callable[[PyTree], tuple[list[Any], Context]]
UnflattenFn = Callable[[Iterable[Any], Context], PyTree]
DumpableContext = Any  # anything json.dumps accepts
ToDumpableContextFn = Callable[[Context], DumpableContext]
FromDumpableContextFn = Callable[[DumpableContext], Context]
FlattenWithKeysFn = Callable[[PyTree], tuple[list[tuple[Any, Any]], Any]]
# torch's older names for the same
FlattenFunc = FlattenFn
UnflattenFunc = UnflattenFn
FlattenWithKeysFunc = FlattenWithKeysFn

DEFAULT_TREESPEC_SERIALIZATION_PROTOCOL = 1
NO_SERIALIZED_TYPE_NAME_FOUND = "NO_SERIALIZED_TYPE_NAME_FOUND"


class KeyEntry(Protocol):
    """One step of a key path: hashable, printable, and able to fetch the child from a parent."""

    def __hash__(self) -> int: ...

    def __eq__(self, other: object) -> bool: ...

    def __str__(self) -> str: ...

    def get(self, parent: Any) -> Any: ...


KeyPath: TypeAlias = tuple[KeyEntry, ...]


class NodeDef(NamedTuple):
    """How a node type comes apart (``flatten_fn``) and goes back together (``unflatten_fn``)."""

    type: Any
    flatten_fn: FlattenFn
    unflatten_fn: UnflattenFn
    flatten_with_keys_fn: FlattenWithKeysFn | None


class _SerializeNodeDef(NamedTuple):
    typ: Any
    serialized_type_name: str
    to_dumpable_context: ToDumpableContextFn | None
    from_dumpable_context: FromDumpableContextFn | None


_NODE_REGISTRY_LOCK = threading.RLock()
SUPPORTED_NODES: dict[Any, NodeDef] = {}
SUPPORTED_SERIALIZED_TYPES: dict[Any, _SerializeNodeDef] = {}
SERIALIZED_TYPE_TO_PYTHON_TYPE: dict[str, Any] = {}
CONSTANT_NODES: set[type] = set()


# --- registration ----------------------------------------------------------------------------


def register_pytree_node(
    cls: type[Any],
    flatten_fn: FlattenFn,
    unflatten_fn: UnflattenFn,
    *,
    serialized_type_name: str | None = None,
    to_dumpable_context: ToDumpableContextFn | None = None,
    from_dumpable_context: FromDumpableContextFn | None = None,
    flatten_with_keys_fn: FlattenWithKeysFn | None = None,
) -> None:
    """Make ``cls`` a pytree node type.

    ``flatten_fn(x)`` gives ``(children, context)`` and ``unflatten_fn(children, context)`` the
    value back; ``flatten_with_keys_fn(x)`` gives ``([(key, child), ...], context)`` for the
    ``*_with_path`` functions; ``serialized_type_name`` and the two context converters are what
    ``treespec_dumps``/``treespec_loads`` use. A type registered twice raises ValueError."""
    with _NODE_REGISTRY_LOCK:
        if cls in SUPPORTED_NODES:
            raise ValueError(f"{cls} is already registered as pytree node.")
        _private_register_pytree_node(
            cls,
            flatten_fn,
            unflatten_fn,
            serialized_type_name=serialized_type_name,
            to_dumpable_context=to_dumpable_context,
            from_dumpable_context=from_dumpable_context,
            flatten_with_keys_fn=flatten_with_keys_fn,
        )


def _private_register_pytree_node(
    cls: type[Any],
    flatten_fn: FlattenFn,
    unflatten_fn: UnflattenFn,
    *,
    serialized_type_name: str | None = None,
    to_dumpable_context: ToDumpableContextFn | None = None,
    from_dumpable_context: FromDumpableContextFn | None = None,
    flatten_with_keys_fn: FlattenWithKeysFn | None = None,
) -> None:
    """Register ``cls``, replacing (with a warning) an earlier registration."""
    if (to_dumpable_context is None) != (from_dumpable_context is None):
        raise ValueError(
            f"Both to_dumpable_context and from_dumpable_context for {cls} must "
            "be None or registered."
        )
    if serialized_type_name is None:
        serialized_type_name = NO_SERIALIZED_TYPE_NAME_FOUND
    with _NODE_REGISTRY_LOCK:
        if cls in SUPPORTED_NODES:
            warnings.warn(
                f"{cls} is already registered as pytree node. "
                "Overwriting the previous registration.",
                stacklevel=2,
            )
        SUPPORTED_NODES[cls] = NodeDef(cls, flatten_fn, unflatten_fn, flatten_with_keys_fn)
        SUPPORTED_SERIALIZED_TYPES[cls] = _SerializeNodeDef(
            cls, serialized_type_name, to_dumpable_context, from_dumpable_context
        )
        SERIALIZED_TYPE_TO_PYTHON_TYPE[serialized_type_name] = cls


def _register_pytree_node(
    cls: type[Any],
    flatten_fn: FlattenFn,
    unflatten_fn: UnflattenFn,
    to_str_fn: Callable | None = None,
    maybe_from_str_fn: Callable | None = None,
    *,
    serialized_type_name: str | None = None,
    to_dumpable_context: ToDumpableContextFn | None = None,
    from_dumpable_context: FromDumpableContextFn | None = None,
    flatten_with_keys_fn: FlattenWithKeysFn | None = None,
) -> None:
    """torch's deprecated spelling of ``register_pytree_node`` (older transformers and
    accelerate call it); it warns, and replaces an earlier registration instead of raising."""
    warnings.warn(
        "`torch.utils._pytree._register_pytree_node` is deprecated. "
        "Please use `torch.utils._pytree.register_pytree_node` instead.",
        FutureWarning,
        stacklevel=2,
    )
    if to_str_fn is not None or maybe_from_str_fn is not None:
        warnings.warn(
            "`to_str_fn` and `maybe_from_str_fn` is deprecated. "
            "Please use `to_dumpable_context` and `from_dumpable_context` instead.",
            FutureWarning,
            stacklevel=2,
        )
    _private_register_pytree_node(
        cls,
        flatten_fn,
        unflatten_fn,
        serialized_type_name=serialized_type_name,
        to_dumpable_context=to_dumpable_context,
        from_dumpable_context=from_dumpable_context,
        flatten_with_keys_fn=flatten_with_keys_fn,
    )


def _deregister_pytree_node(cls: type[Any]) -> None:
    """Undo a registration (torch keeps this private; tests use it to clean up)."""
    with _NODE_REGISTRY_LOCK:
        del SUPPORTED_NODES[cls]
        ser = SUPPORTED_SERIALIZED_TYPES.pop(cls)
        SERIALIZED_TYPE_TO_PYTHON_TYPE.pop(ser.serialized_type_name, None)
        CONSTANT_NODES.discard(cls)


def register_dataclass(
    cls: type[Any],
    *,
    field_names: list[str] | None = None,
    drop_field_names: list[str] | None = None,
    serialized_type_name: str | None = None,
) -> None:
    """Register a dataclass (or a class built from keyword fields) as a node.

    The children are the fields of ``field_names`` (default: the dataclass's ``init`` fields)
    whose value is not None; the None ones are kept in the context and passed back as None."""
    drop = set(drop_field_names or ())
    if not dataclasses.is_dataclass(cls):
        if field_names is None:
            raise ValueError(
                "field_names must be specified with a list of all fields used to "
                f"initialize {cls}, as it is not a dataclass."
            )
    elif field_names is None:
        field_names = [f.name for f in dataclasses.fields(cls) if f.init]
    else:
        wanted = {f.name for f in dataclasses.fields(cls) if f.init} - drop
        given = set(field_names)
        if wanted != given:
            msg = "field_names does not include all dataclass fields.\n"
            if wanted - given:
                msg += (
                    f"Missing fields in `field_names`: {wanted - given}. If you want to include "
                    "these fields in the pytree, please add them to `field_names`, otherwise "
                    "please add them to `drop_field_names`.\n"
                )
            if given - wanted:
                msg += (
                    f"Unexpected fields in `field_names`: {given - wanted}. Please remove "
                    "these fields, or add them to `drop_field_names`.\n"
                )
            raise ValueError(msg)
    names = list(field_names)

    def flatten(obj: Any) -> tuple[list[Any], Context]:
        present = [n for n in names if getattr(obj, n) is not None]
        absent = [n for n in names if getattr(obj, n) is None]
        return [getattr(obj, n) for n in present], [present, absent]

    def unflatten(values: Iterable[Any], context: Context) -> Any:
        present, absent = context
        kwargs = dict(zip(present, values, strict=True))
        kwargs.update(dict.fromkeys(absent))
        return cls(**kwargs)

    def flatten_with_keys(obj: Any) -> tuple[list[tuple[Any, Any]], Context]:
        values, (present, _) = flatten(obj)
        return [(GetAttrKey(n), v) for n, v in zip(present, values, strict=True)], present

    _private_register_pytree_node(
        cls,
        flatten,
        unflatten,
        serialized_type_name=serialized_type_name,
        flatten_with_keys_fn=flatten_with_keys,
    )


@dataclasses.dataclass(frozen=True, slots=True)
class ConstantNode(Generic[T]):
    """The context of a ``register_constant`` type: the value itself, with no children."""

    value: T


def register_constant(cls: type[Any]) -> None:
    """Register a hashable, comparable type whose values are nodes without leaves."""
    if cls.__eq__ is object.__eq__:
        raise TypeError(
            "register_constant(cls) expects `cls` to have a non-default `__eq__` implementation."
        )
    if cls.__hash__ is None:
        raise TypeError(
            "register_constant(cls) expects `cls` to have a non-default `__hash__` implementation."
        )

    def flatten(x: Any) -> tuple[list[Any], Context]:
        return [], ConstantNode(x)

    def unflatten(_: Iterable[Any], context: Context) -> Any:
        return context.value

    with _NODE_REGISTRY_LOCK:
        _private_register_pytree_node(cls, flatten, unflatten, flatten_with_keys_fn=flatten)
        CONSTANT_NODES.add(cls)


def is_constant_class(cls: type[Any]) -> bool:
    """Whether ``cls`` was registered with ``register_constant``."""
    return isinstance(cls, type) and cls in CONSTANT_NODES


# --- key paths -------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True, slots=True)
class SequenceKey(Generic[T]):
    """A child of a sequence, by position; prints as ``[0]``."""

    idx: int

    def __str__(self) -> str:
        return f"[{self.idx!r}]"

    def get(self, sequence: Sequence[T]) -> T:
        return sequence[self.idx]


@dataclasses.dataclass(frozen=True, slots=True)
class MappingKey(Generic[K, T]):
    """A child of a mapping, by key; prints as ``['name']``."""

    key: K

    def __str__(self) -> str:
        return f"[{self.key!r}]"

    def get(self, mapping: Mapping[K, T]) -> T:
        return mapping[self.key]


@dataclasses.dataclass(frozen=True, slots=True)
class GetAttrKey:
    """A child held in an attribute; prints as ``.name``."""

    name: str

    def __str__(self) -> str:
        return f".{self.name}"

    def get(self, obj: Any) -> Any:
        return getattr(obj, self.name)


def keystr(kp: KeyPath) -> str:
    """The key path written out, e.g. ``[0]['w'].bias``."""
    return "".join(str(k) for k in kp)


def key_get(obj: Any, kp: KeyPath) -> Any:
    """The value at key path ``kp`` inside ``obj``."""
    for k in kp:
        obj = k.get(obj)
    return obj


# --- namedtuples and structseqs --------------------------------------------------------------

_PY_TPFLAGS_BASETYPE = 1 << 10  # CPython: the type may be subclassed (structseqs may not)
_STRUCTSEQ_COUNTS = ("n_fields", "n_sequence_fields", "n_unnamed_fields")


def _is_return_type_class(cls: type) -> bool:
    """ember's torch.return_types classes: namedtuples standing in for torch's structseqs.

    They are told apart by the module name ember gives them (``ops/_return_types.py``), so that
    pytree treats them as torch treats structseqs: nodes of their own type, not namedtuples."""
    return cls.__module__ == "torch.return_types" and cls.__bases__ == (tuple,)


def _namedtuple_shaped(cls: type) -> bool:
    fields = getattr(cls, "_fields", None)
    return (
        isinstance(fields, tuple)
        and all(type(f) is str for f in fields)
        and callable(getattr(cls, "_make", None))
        and callable(getattr(cls, "_asdict", None))
    )


def is_namedtuple_class(cls: type) -> bool:
    """Whether ``cls`` is a namedtuple class (``collections.namedtuple`` or ``NamedTuple``)."""
    return (
        isinstance(cls, type)
        and issubclass(cls, tuple)
        and _namedtuple_shaped(cls)
        and not _is_return_type_class(cls)
    )


def is_namedtuple(obj: object | type) -> bool:
    """Whether ``obj`` is a namedtuple class or an instance of one."""
    return is_namedtuple_class(obj if isinstance(obj, type) else type(obj))


def is_namedtuple_instance(obj: object) -> bool:
    """Whether ``obj`` is an instance of a namedtuple class."""
    return is_namedtuple_class(type(obj))


def is_structseq_class(cls: type) -> bool:
    """Whether ``cls`` is a C structseq class (``os.stat_result``, torch.return_types' classes);
    ember's torch.return_types classes count as such."""
    if not isinstance(cls, type) or cls.__bases__ != (tuple,):
        return False
    if _is_return_type_class(cls) and _namedtuple_shaped(cls):
        return True
    return (
        all(isinstance(getattr(cls, a, None), int) for a in _STRUCTSEQ_COUNTS)
        and not cls.__flags__ & _PY_TPFLAGS_BASETYPE
    )


def is_structseq(obj: object | type) -> bool:
    """Whether ``obj`` is a structseq class or an instance of one."""
    return is_structseq_class(obj if isinstance(obj, type) else type(obj))


def is_structseq_instance(obj: object) -> bool:
    """Whether ``obj`` is an instance of a structseq class."""
    return is_structseq_class(type(obj))


# --- the built-in node types -----------------------------------------------------------------


def _seq_keys(values: list[Any]) -> list[tuple[Any, Any]]:
    return [(SequenceKey(i), v) for i, v in enumerate(values)]


def _tuple_flatten(d: tuple) -> tuple[list[Any], Context]:
    return list(d), None


def _tuple_unflatten(values: Iterable[Any], context: Context) -> tuple:
    return tuple(values)


def _tuple_flatten_with_keys(d: tuple) -> tuple[list[tuple[Any, Any]], Context]:
    return _seq_keys(list(d)), None


def _list_flatten(d: list) -> tuple[list[Any], Context]:
    return d, None


def _list_unflatten(values: Iterable[Any], context: Context) -> list:
    return list(values)


def _list_flatten_with_keys(d: list) -> tuple[list[tuple[Any, Any]], Context]:
    return _seq_keys(d), None


def _dict_flatten(d: dict) -> tuple[list[Any], Context]:
    return list(d.values()), list(d)


def _dict_unflatten(values: Iterable[Any], context: Context) -> dict:
    return dict(zip(context, values, strict=True))


def _dict_flatten_with_keys(d: dict) -> tuple[list[tuple[Any, Any]], Context]:
    return [(MappingKey(k), v) for k, v in d.items()], list(d)


def _ordereddict_unflatten(values: Iterable[Any], context: Context) -> OrderedDict:
    return OrderedDict(zip(context, values, strict=True))


def _defaultdict_flatten(d: defaultdict) -> tuple[list[Any], Context]:
    return list(d.values()), [d.default_factory, list(d)]


def _defaultdict_unflatten(values: Iterable[Any], context: Context) -> defaultdict:
    factory, keys = context
    return defaultdict(factory, zip(keys, values, strict=True))


def _defaultdict_flatten_with_keys(d: defaultdict) -> tuple[list[tuple[Any, Any]], Context]:
    return [(MappingKey(k), v) for k, v in d.items()], [d.default_factory, list(d)]


def _defaultdict_serialize(context: Context) -> DumpableContext:
    factory, keys = context
    return {
        "default_factory_module": factory.__module__,
        "default_factory_name": factory.__qualname__,
        "dict_context": keys,
    }


def _defaultdict_deserialize(dumpable_context: DumpableContext) -> Context:
    expected = {"default_factory_module", "default_factory_name", "dict_context"}
    if not isinstance(dumpable_context, dict):
        raise AssertionError("dumpable_context must be a dict")
    if set(dumpable_context) != expected:
        raise AssertionError(
            f"dumpable_context keys must be {expected}, got {set(dumpable_context)}"
        )
    module = dumpable_context["default_factory_module"]
    name = dumpable_context["default_factory_name"]
    if not isinstance(module, str):
        raise AssertionError("default_factory_module must be a string")
    if not isinstance(name, str):
        raise AssertionError("default_factory_name must be a string")
    factory = getattr(importlib.import_module(module), name)
    return [factory, dumpable_context["dict_context"]]


def _deque_flatten(d: deque) -> tuple[list[Any], Context]:
    return list(d), d.maxlen


def _deque_unflatten(values: Iterable[Any], context: Context) -> deque:
    return deque(values, maxlen=context)


def _deque_flatten_with_keys(d: deque) -> tuple[list[tuple[Any, Any]], Context]:
    return _seq_keys(list(d)), d.maxlen


def _namedtuple_flatten(d: tuple) -> tuple[list[Any], Context]:
    return list(d), type(d)


def _namedtuple_unflatten(values: Iterable[Any], context: Context) -> tuple:
    return context(*values)


def _namedtuple_flatten_with_keys(d: tuple) -> tuple[list[tuple[Any, Any]], Context]:
    cls = type(d)
    return [(GetAttrKey(f), v) for f, v in zip(cls._fields, d, strict=True)], cls


def _namedtuple_serialize(context: Context) -> DumpableContext:
    # a namedtuple class serializes by a name given to _register_namedtuple, never by its path
    ser = SUPPORTED_SERIALIZED_TYPES.get(context)
    if ser is None:
        raise NotImplementedError(
            f"Can't serialize TreeSpec of namedtuple class {context} because we "
            "didn't register a serializated_type_name. Please register using "
            "`_register_namedtuple`."
        )
    if ser.serialized_type_name == NO_SERIALIZED_TYPE_NAME_FOUND:
        raise NotImplementedError(
            f"Can't serialize TreeSpec of namedtuple class {context} because we "
            "couldn't find a serializated_type_name. Please register using "
            "`_register_namedtuple`."
        )
    return ser.serialized_type_name


def _namedtuple_deserialize(dumpable_context: DumpableContext) -> Context:
    cls = SERIALIZED_TYPE_TO_PYTHON_TYPE.get(dumpable_context)
    if cls is None:
        raise NotImplementedError(
            f"Can't deserialize TreeSpec of namedtuple class {dumpable_context} "
            "because we couldn't find a serializated name."
        )
    return cls


def _register_namedtuple(cls: type[Any], *, serialized_type_name: str) -> None:
    """Give namedtuple class ``cls`` a name, so that specs holding it can be serialized."""
    _private_register_pytree_node(
        cls,
        _namedtuple_flatten,
        _namedtuple_unflatten,
        serialized_type_name=serialized_type_name,
        to_dumpable_context=_namedtuple_serialize,
        from_dumpable_context=_namedtuple_deserialize,
        flatten_with_keys_fn=_namedtuple_flatten_with_keys,
    )


_private_register_pytree_node(
    tuple,
    _tuple_flatten,
    _tuple_unflatten,
    serialized_type_name="builtins.tuple",
    flatten_with_keys_fn=_tuple_flatten_with_keys,
)
_private_register_pytree_node(
    list,
    _list_flatten,
    _list_unflatten,
    serialized_type_name="builtins.list",
    flatten_with_keys_fn=_list_flatten_with_keys,
)
_private_register_pytree_node(
    dict,
    _dict_flatten,
    _dict_unflatten,
    serialized_type_name="builtins.dict",
    flatten_with_keys_fn=_dict_flatten_with_keys,
)
_private_register_pytree_node(
    namedtuple,  # the one node of every namedtuple class; the class is the context
    _namedtuple_flatten,
    _namedtuple_unflatten,
    serialized_type_name="collections.namedtuple",
    to_dumpable_context=_namedtuple_serialize,
    from_dumpable_context=_namedtuple_deserialize,
    flatten_with_keys_fn=_namedtuple_flatten_with_keys,
)
_private_register_pytree_node(
    OrderedDict,
    _dict_flatten,
    _ordereddict_unflatten,
    serialized_type_name="collections.OrderedDict",
    flatten_with_keys_fn=_dict_flatten_with_keys,
)
_private_register_pytree_node(
    defaultdict,
    _defaultdict_flatten,
    _defaultdict_unflatten,
    serialized_type_name="collections.defaultdict",
    to_dumpable_context=_defaultdict_serialize,
    from_dumpable_context=_defaultdict_deserialize,
    flatten_with_keys_fn=_defaultdict_flatten_with_keys,
)
_private_register_pytree_node(
    deque,
    _deque_flatten,
    _deque_unflatten,
    serialized_type_name="collections.deque",
    flatten_with_keys_fn=_deque_flatten_with_keys,
)

STANDARD_DICT_TYPES: frozenset[type] = frozenset({dict, OrderedDict, defaultdict})
BUILTIN_TYPES: frozenset[Any] = frozenset(
    {tuple, list, dict, namedtuple, OrderedDict, defaultdict, deque}
)


def _get_node_type(tree: Any) -> Any:
    """The registry key of ``tree``: ``namedtuple`` for any namedtuple, else its type."""
    cls = type(tree)
    return namedtuple if is_namedtuple_class(cls) else cls


def tree_is_leaf(tree: PyTree, is_leaf: Callable[[PyTree], bool] | None = None) -> bool:
    """Whether ``tree`` is a leaf: ``is_leaf(tree)`` says so, or its type is no node type."""
    if is_leaf is not None and is_leaf(tree):
        return True
    return _get_node_type(tree) not in SUPPORTED_NODES


# --- TreeSpec ---------------------------------------------------------------------------------

_LEAFSPEC_DEPRECATION = (
    "`isinstance(treespec, LeafSpec)` is deprecated, "
    "use `isinstance(treespec, TreeSpec) and treespec.is_leaf()` instead."
)


class TreeSpec:
    """The structure of a pytree: the root's node type and context, and one spec per child.

    ``type`` is None for a leaf. Specs are immutable and hashable; two are equal when their
    types print the same and their contexts and children are equal. The repr is torch's:
    ``TreeSpec(list, None, [*, *])`` with each further child on a line of its own."""

    __slots__ = ("type", "_context", "_children", "num_nodes", "num_leaves", "num_children")

    def __init__(self, type: Any, context: Context, children_specs: list[TreeSpec]) -> None:
        if type is None:
            if context is not None:
                raise AssertionError("leaf node should not have a context")
            if len(children_specs) != 0:
                raise AssertionError("leaf node should not have children")
        init = object.__setattr__  # the spec is frozen once built
        init(self, "type", type)
        init(self, "_context", context)
        init(self, "_children", children_specs)
        init(self, "num_children", len(children_specs))
        init(self, "num_nodes", 1 + sum(c.num_nodes for c in children_specs))
        leaves = 1 if type is None else sum(c.num_leaves for c in children_specs)
        init(self, "num_leaves", leaves)

    def __setattr__(self, name: str, value: Any) -> None:
        raise dataclasses.FrozenInstanceError(f"cannot assign to field {name!r}")

    def __delattr__(self, name: str) -> None:
        raise dataclasses.FrozenInstanceError(f"cannot delete field {name!r}")

    def __reduce__(self) -> tuple:
        return (type(self), (self.type, self._context, self._children))

    def __repr__(self, indent: int = 0) -> str:
        if self.type is None:
            return "*"
        inner = indent + 2
        kids = (",\n" + " " * inner).join(c.__repr__(inner) for c in self._children)
        return f"TreeSpec({self.type.__name__}, {self._context}, [{kids}])"

    def __eq__(self, other: object) -> bool:
        if self is other:
            return True
        if other.__class__ is not self.__class__:
            return NotImplemented
        return (
            str(self.type) == str(other.type)
            and self._context == other._context
            and self._children == other._children
        )

    def __hash__(self) -> int:
        node, ctx = self.type, self._context
        if node is defaultdict:
            key = (ctx[0], tuple(ctx[1]))
        elif node is dict or node is OrderedDict:
            key = tuple(ctx)
        elif node is None or node in BUILTIN_TYPES:
            key = ctx
        elif isinstance(ctx, ConstantNode):
            key = ctx.value
        else:
            key = None  # a custom node's context need not be hashable; equal specs still agree
        return hash((node, key, tuple(self._children)))

    @property
    def context(self) -> Context:
        """What the root's ``unflatten_fn`` gets besides the children (dict keys, a class)."""
        return self._context

    @property
    def children_specs(self) -> list[TreeSpec]:
        """The children's specs (deprecated in torch: use ``children()`` or ``child(i)``)."""
        warnings.warn(
            "`treespec.children_specs` is deprecated. "
            "Use `treespec.child(index)` to access a single child, "
            "or `treespec.children()` to get all children.",
            FutureWarning,
            stacklevel=2,
        )
        return self._children

    def is_leaf(self) -> bool:
        """Whether this spec is a single leaf."""
        return self.num_nodes == 1 and self.num_leaves == 1

    def children(self) -> list[TreeSpec]:
        """A new list of the children's specs."""
        return list(self._children)

    def child(self, index: int) -> TreeSpec:
        """The spec of child ``index``."""
        return self._children[index]

    def flatten_up_to(self, tree: PyTree) -> list[PyTree]:
        """The subtrees of ``tree`` at this spec's leaves (``tree`` must have this spec as a
        prefix: the same node types, arities and contexts down to those leaves; dict, OrderedDict
        and defaultdict stand for each other, matched by keys)."""
        out: list[PyTree] = []
        self._split(tree, out)
        return out

    def _split(self, node: PyTree, out: list[PyTree]) -> None:
        if self.is_leaf():
            out.append(node)
            return
        kind = _get_node_type(node)
        if self.type not in BUILTIN_TYPES:
            if kind != self.type:
                raise ValueError(f"Type mismatch; expected {self.type!r}, but got {kind!r}.")
            children, context = SUPPORTED_NODES[kind].flatten_fn(node)
            if len(children) != self.num_children:
                raise ValueError(
                    f"Node arity mismatch; expected {self.num_children}, but got {len(children)}."
                )
            if context != self._context:
                raise ValueError(f"Node context mismatch for custom node type {self.type!r}.")
        else:
            dicts = self.type in STANDARD_DICT_TYPES and kind in STANDARD_DICT_TYPES
            if not dicts and kind != self.type:
                raise ValueError(f"Node type mismatch; expected {self.type!r}, but got {kind!r}.")
            if len(node) != self.num_children:
                raise ValueError(
                    f"Node arity mismatch; expected {self.num_children}, but got {len(node)}."
                )
            if dicts:
                # a defaultdict's factory is not part of the match, only its keys
                keys = self._context[1] if self.type is defaultdict else self._context
                got, want = set(node), set(keys)
                if got != want:
                    missing, extra = want.difference(got), got.difference(want)
                    detail = f"; missing key(s): {missing}" if missing else ""
                    detail += f"; extra key(s): {extra}" if extra else ""
                    raise ValueError(f"Node keys mismatch{detail}.")
                children = [node[k] for k in keys]
            else:
                children, context = SUPPORTED_NODES[kind].flatten_fn(node)
                # a deque's maxlen is not part of the match
                if kind is not deque and context != self._context:
                    raise ValueError(
                        f"Node context mismatch for node type {self.type!r}; "
                        f"expected {self._context!r}, but got {context!r}."
                    )
        for child, spec in zip(children, self._children, strict=True):
            spec._split(child, out)

    def unflatten(self, leaves: Iterable[Any]) -> PyTree:
        """The pytree of this structure holding ``leaves`` (in flatten order)."""
        if not isinstance(leaves, (list, tuple)):
            leaves = list(leaves)
        if len(leaves) != self.num_leaves:
            raise ValueError(
                f"treespec.unflatten(leaves): `leaves` has length {len(leaves)} "
                f"but the spec refers to a pytree that holds {self.num_leaves} "
                f"items ({self})."
            )
        return self._build(leaves, 0)

    def _build(self, leaves: Sequence[Any], start: int) -> PyTree:
        if self.is_leaf():
            return leaves[start]
        kids = []
        for spec in self._children:
            kids.append(spec._build(leaves, start))
            start += spec.num_leaves
        return SUPPORTED_NODES[self.type].unflatten_fn(kids, self._context)


PyTreeSpec: TypeAlias = TreeSpec


class LeafSpec(TreeSpec):
    """The spec of a leaf (deprecated in torch: test ``spec.is_leaf()``); flattening gives every
    leaf the same LeafSpec object, so ``isinstance(spec, LeafSpec)`` still finds leaves."""

    __slots__ = ()

    def __new__(cls, *args: Any, **kwargs: Any) -> LeafSpec:
        if cls is LeafSpec:
            warnings.warn(_LEAFSPEC_DEPRECATION, FutureWarning, stacklevel=2)
        return super().__new__(cls)

    def __init__(self) -> None:
        super().__init__(None, None, [])

    def __reduce__(self) -> tuple:
        return (treespec_leaf, ())

    def __repr__(self, indent: int = 0) -> str:
        return "*"


_LEAF_SPEC = object.__new__(LeafSpec)  # built without LeafSpec's deprecation warning
TreeSpec.__init__(_LEAF_SPEC, None, None, [])


def treespec_leaf() -> LeafSpec:
    """The spec of a leaf."""
    return _LEAF_SPEC


def treespec_tuple(iterable: Iterable[TreeSpec] = (), /) -> TreeSpec:
    """The spec of a tuple whose children have the given specs."""
    children = list(iterable)
    if not all(isinstance(c, TreeSpec) for c in children):
        raise ValueError(f"Expected a tuple of TreeSpec values, got: {children!r}.")
    return TreeSpec(tuple, None, children)


def treespec_dict(
    mapping: Mapping[Any, TreeSpec] | Iterable[tuple[Any, TreeSpec]] = (),
    /,
    **kwargs: TreeSpec,
) -> TreeSpec:
    """The spec of a dict whose values have the given specs."""
    dct = dict(mapping, **kwargs)
    if not all(isinstance(c, TreeSpec) for c in dct.values()):
        raise ValueError(f"Expected a dictionary of TreeSpec values, got: {dct!r}.")
    return TreeSpec(dict, list(dct), list(dct.values()))


# --- flatten, unflatten, map -----------------------------------------------------------------


def tree_flatten(
    tree: PyTree, is_leaf: Callable[[PyTree], bool] | None = None
) -> tuple[list[Any], TreeSpec]:
    """The leaves of ``tree`` in order, and the spec that ``tree_unflatten`` rebuilds it from.

    ``is_leaf(node)`` returning True stops the descent at that node."""
    leaves: list[Any] = []
    return leaves, _flatten_into(tree, is_leaf, leaves)


def _flatten_into(node: PyTree, is_leaf: Callable | None, leaves: list[Any]) -> TreeSpec:
    if is_leaf is not None and is_leaf(node):
        leaves.append(node)
        return _LEAF_SPEC
    kind = _get_node_type(node)
    handler = SUPPORTED_NODES.get(kind)
    if handler is None:
        leaves.append(node)
        return _LEAF_SPEC
    children, context = handler.flatten_fn(node)
    return TreeSpec(kind, context, [_flatten_into(c, is_leaf, leaves) for c in children])


def tree_unflatten(leaves: Iterable[Any], treespec: TreeSpec) -> PyTree:
    """The pytree of structure ``treespec`` holding ``leaves`` (the arguments may come in
    either order)."""
    if not isinstance(treespec, TreeSpec):
        if not isinstance(leaves, TreeSpec):
            raise TypeError(
                "Expected `treespec` to be an instance of "
                f"PyTreeSpec but got item of type {type(treespec)}."
            )
        leaves, treespec = treespec, leaves
    return treespec.unflatten(leaves)


def tree_iter(tree: PyTree, is_leaf: Callable[[PyTree], bool] | None = None) -> Iterator[Any]:
    """The leaves of ``tree``, lazily, in flatten order."""
    if tree_is_leaf(tree, is_leaf):
        yield tree
        return
    children, _ = SUPPORTED_NODES[_get_node_type(tree)].flatten_fn(tree)
    for child in children:
        yield from tree_iter(child, is_leaf)


def tree_leaves(tree: PyTree, is_leaf: Callable[[PyTree], bool] | None = None) -> list[Any]:
    """The leaves of ``tree`` in flatten order."""
    return list(tree_iter(tree, is_leaf))


def tree_structure(tree: PyTree, is_leaf: Callable[[PyTree], bool] | None = None) -> TreeSpec:
    """The spec of ``tree``."""
    return tree_flatten(tree, is_leaf)[1]


def arg_tree_leaves(*args: PyTree, **kwargs: PyTree) -> list[Any]:
    """The leaves of ``(args, kwargs)``: those of each argument in turn."""
    out: list[Any] = []
    for a in (*args, *kwargs.values()):
        out.extend(tree_iter(a))
    return out


def _leaf_columns(tree: PyTree, rests: tuple, is_leaf: Callable | None) -> tuple:
    leaves, spec = tree_flatten(tree, is_leaf)
    return spec, [leaves] + [spec.flatten_up_to(r) for r in rests]


def tree_map(
    func: Callable[..., Any],
    tree: PyTree,
    *rests: PyTree,
    is_leaf: Callable[[PyTree], bool] | None = None,
) -> PyTree:
    """A pytree of ``tree``'s structure with ``func(x, *xs)`` at each leaf ``x``.

    Each of ``rests`` must have ``tree``'s structure as a prefix; ``xs`` are its subtrees at
    the places of ``tree``'s leaves."""
    spec, columns = _leaf_columns(tree, rests, is_leaf)
    return spec.unflatten(map(func, *columns))


def tree_map_(
    func: Callable[..., Any],
    tree: PyTree,
    *rests: PyTree,
    is_leaf: Callable[[PyTree], bool] | None = None,
) -> PyTree:
    """Call ``func(x, *xs)`` for each leaf (for its side effects, e.g. in-place updates) and
    return ``tree`` itself."""
    _, columns = _leaf_columns(tree, rests, is_leaf)
    for args in zip(*columns):
        func(*args)
    return tree


TypeAny = type[Any] | tuple[type[Any], ...] | types.UnionType


def map_only(type_or_types_or_pred: TypeAny | Callable[[Any], bool], /) -> Callable:
    """A decorator: the wrapped function applies to values of the given types (or for which
    the predicate holds) and passes every other value through unchanged."""
    if isinstance(type_or_types_or_pred, (type, tuple, types.UnionType)):
        kinds = type_or_types_or_pred

        def pred(x: Any) -> bool:
            return isinstance(x, kinds)

    elif callable(type_or_types_or_pred):
        pred = type_or_types_or_pred
    else:
        raise TypeError("Argument must be a type, a tuple of types, or a callable.")

    def wrapper(func: Callable[[Any], Any]) -> Callable[[Any], Any]:
        @functools.wraps(func)
        def wrapped(x: Any) -> Any:
            return func(x) if pred(x) else x

        return wrapped

    return wrapper


def tree_map_only(
    type_or_types_or_pred: TypeAny | Callable[[Any], bool],
    /,
    func: Callable[[Any], Any],
    tree: PyTree,
    is_leaf: Callable[[PyTree], bool] | None = None,
) -> PyTree:
    """``tree_map`` of ``func`` over the leaves of the given types (or passing the predicate);
    other leaves are kept."""
    return tree_map(map_only(type_or_types_or_pred)(func), tree, is_leaf=is_leaf)


def tree_map_only_(
    type_or_types_or_pred: TypeAny | Callable[[Any], bool],
    /,
    func: Callable[[Any], Any],
    tree: PyTree,
    is_leaf: Callable[[PyTree], bool] | None = None,
) -> PyTree:
    """``tree_map_`` of ``func`` over the leaves of the given types (or passing the
    predicate)."""
    return tree_map_(map_only(type_or_types_or_pred)(func), tree, is_leaf=is_leaf)


def tree_all(
    pred: Callable[[Any], bool], tree: PyTree, is_leaf: Callable[[PyTree], bool] | None = None
) -> bool:
    """Whether ``pred`` holds for every leaf."""
    return all(map(pred, tree_iter(tree, is_leaf)))


def tree_any(
    pred: Callable[[Any], bool], tree: PyTree, is_leaf: Callable[[PyTree], bool] | None = None
) -> bool:
    """Whether ``pred`` holds for some leaf."""
    return any(map(pred, tree_iter(tree, is_leaf)))


def tree_all_only(
    type_or_types: TypeAny,
    /,
    pred: Callable[[Any], bool],
    tree: PyTree,
    is_leaf: Callable[[PyTree], bool] | None = None,
) -> bool:
    """Whether ``pred`` holds for every leaf of the given types."""
    return all(pred(x) for x in tree_iter(tree, is_leaf) if isinstance(x, type_or_types))


def tree_any_only(
    type_or_types: TypeAny,
    /,
    pred: Callable[[Any], bool],
    tree: PyTree,
    is_leaf: Callable[[PyTree], bool] | None = None,
) -> bool:
    """Whether ``pred`` holds for some leaf of the given types."""
    return any(pred(x) for x in tree_iter(tree, is_leaf) if isinstance(x, type_or_types))


def _broadcast_to_and_flatten(
    tree: PyTree, treespec: TreeSpec, is_leaf: Callable[[PyTree], bool] | None = None
) -> list[Any] | None:
    """``tree``'s leaves repeated over the leaves of ``treespec`` that each stands for (vmap's
    in_dims against its inputs); None when ``tree`` is not a prefix of that structure."""
    full = treespec.unflatten([0] * treespec.num_leaves)
    out: list[Any] = []

    def expand(x: Any, subtree: PyTree) -> None:
        out.extend([x] * tree_structure(subtree, is_leaf).num_leaves)

    try:
        tree_map_(expand, tree, full, is_leaf=is_leaf)
    except ValueError:
        return None
    return out


# --- key paths over trees --------------------------------------------------------------------


def _keyed_leaves(path: KeyPath, tree: PyTree, is_leaf: Callable | None) -> Iterator[tuple]:
    if is_leaf is not None and is_leaf(tree):
        yield path, tree
        return
    kind = _get_node_type(tree)
    handler = SUPPORTED_NODES.get(kind)
    if handler is None:
        yield path, tree
        return
    if handler.flatten_with_keys_fn is None:
        raise ValueError(
            f"Did not find a flatten_with_keys_fn for type: {kind}. "
            "Please pass a flatten_with_keys_fn argument to register_pytree_node."
        )
    keyed, _ = handler.flatten_with_keys_fn(tree)
    for key, child in keyed:
        yield from _keyed_leaves((*path, key), child, is_leaf)


def tree_flatten_with_path(
    tree: PyTree, is_leaf: Callable[[PyTree], bool] | None = None
) -> tuple[list[tuple[KeyPath, Any]], TreeSpec]:
    """``tree_flatten``, with each leaf paired with its key path (a tuple of SequenceKey,
    MappingKey and GetAttrKey entries)."""
    spec = tree_structure(tree, is_leaf)
    return list(_keyed_leaves((), tree, is_leaf)), spec


def tree_leaves_with_path(
    tree: PyTree, is_leaf: Callable[[PyTree], bool] | None = None
) -> list[tuple[KeyPath, Any]]:
    """The ``(key path, leaf)`` pairs of ``tree`` in flatten order."""
    return list(_keyed_leaves((), tree, is_leaf))


def tree_map_with_path(
    func: Callable[..., Any],
    tree: PyTree,
    *rests: PyTree,
    is_leaf: Callable[[PyTree], bool] | None = None,
) -> PyTree:
    """``tree_map`` whose function also gets each leaf's key path first: ``func(path, x,
    *xs)``."""
    pairs, spec = tree_flatten_with_path(tree, is_leaf)
    columns = [[p for p, _ in pairs], [x for _, x in pairs]]
    columns += [spec.flatten_up_to(r) for r in rests]
    return spec.unflatten(func(*args) for args in zip(*columns, strict=True))


# --- serialization ----------------------------------------------------------------------------


class EnumEncoder(json.JSONEncoder):
    """JSON for contexts holding Enum members: ``{"__enum__": true, "fqn": ..., "name": ...}``."""

    def default(self, obj: object) -> Any:
        if isinstance(obj, Enum):
            cls = type(obj)
            return {
                "__enum__": True,
                "fqn": f"{cls.__module__}:{cls.__qualname__}",
                "name": obj.name,
            }
        return super().default(obj)


def enum_object_hook(obj: dict[str, Any]) -> Any:
    """``json.loads`` hook turning EnumEncoder's dicts back into Enum members."""
    if "__enum__" not in obj:
        return obj
    module, _, qualname = obj["fqn"].partition(":")
    cls: Any = importlib.import_module(module)
    for part in qualname.split("."):
        cls = getattr(cls, part)
    return cls[obj["name"]]


def _spec_to_json(spec: TreeSpec) -> dict[str, Any]:
    if spec.is_leaf():
        return {"type": None, "context": None, "children_spec": []}
    ser = SUPPORTED_SERIALIZED_TYPES.get(spec.type)
    if ser is None:
        raise NotImplementedError(f"Serializing {spec.type} in pytree is not registered.")
    if ser.serialized_type_name == NO_SERIALIZED_TYPE_NAME_FOUND:
        raise NotImplementedError(
            f"No registered serialization name for {spec.type} found. "
            "Please update your _register_pytree_node call with a `serialized_type_name` kwarg."
        )
    if ser.to_dumpable_context is None:
        try:
            context = json.dumps(spec._context, cls=EnumEncoder)
        except TypeError as e:
            raise TypeError(
                "Unable to serialize context. Please make the context json dump-able, or "
                "register a custom serializer using _register_pytree_node."
            ) from e
    else:
        context = ser.to_dumpable_context(spec._context)
    children = [_spec_to_json(c) for c in spec._children]
    return {"type": ser.serialized_type_name, "context": context, "children_spec": children}


def _json_to_spec(schema: dict[str, Any]) -> TreeSpec:
    name, children = schema["type"], schema["children_spec"]
    if name is None and schema["context"] is None and not children:
        return _LEAF_SPEC
    if name not in SERIALIZED_TYPE_TO_PYTHON_TYPE:
        raise NotImplementedError(f"Deserializing {name} in pytree is not registered.")
    cls = SERIALIZED_TYPE_TO_PYTHON_TYPE[name]
    ser = SUPPORTED_SERIALIZED_TYPES[cls]
    if ser.from_dumpable_context is None:
        try:
            context = json.loads(schema["context"], object_hook=enum_object_hook)
        except TypeError as e:
            raise TypeError(
                "Unable to deserialize context. Please make the context json load-able, or "
                "register a custom serializer using _register_pytree_node."
            ) from e
    else:
        context = ser.from_dumpable_context(schema["context"])
    return TreeSpec(cls, context, [_json_to_spec(c) for c in children])


_PROTOCOLS = {1: (_spec_to_json, _json_to_spec)}


def _unknown_protocol(protocol: Any) -> ValueError:
    return ValueError(f"Unknown protocol {protocol}. Available protocols: {list(_PROTOCOLS)}")


def treespec_dumps(treespec: TreeSpec, protocol: int | None = None) -> str:
    """``treespec`` as torch's JSON string (node types by their registered
    ``serialized_type_name``)."""
    if not isinstance(treespec, TreeSpec):
        raise TypeError(
            "Expected `treespec` to be an instance of "
            f"PyTreeSpec but got item of type {type(treespec)}."
        )
    if protocol is None:
        protocol = DEFAULT_TREESPEC_SERIALIZATION_PROTOCOL
    if protocol not in _PROTOCOLS:
        raise _unknown_protocol(protocol)
    return json.dumps([protocol, _PROTOCOLS[protocol][0](treespec)], cls=EnumEncoder)


@functools.lru_cache
def treespec_loads(serialized: str) -> TreeSpec:
    """The spec that ``treespec_dumps`` wrote as ``serialized``."""
    protocol, schema = json.loads(serialized)
    if protocol not in _PROTOCOLS:
        raise _unknown_protocol(protocol)
    return _PROTOCOLS[protocol][1](schema)


class _Star(str):
    """A leaf placeholder that prints as a bare ``*``."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "*"


def treespec_pprint(treespec: TreeSpec) -> str:
    """The structure written as the pytree with ``*`` at each leaf, e.g. ``[*, {'a': *}]``."""
    return repr(treespec.unflatten([_Star("*")] * treespec.num_leaves))


__getattr__ = _module_getattr(__name__)  # unknown names: a clear not-implemented error
