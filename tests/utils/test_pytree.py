"""ember.utils._pytree against torch.utils._pytree: the same trees flattened by both give the same
leaves, spec reprs, JSON and key paths; mismatches raise the same errors with the same messages;
registered node types, torch.return_types' named tuples and the deprecation warnings as torch."""

from __future__ import annotations

import copy
import dataclasses
import pickle
import warnings
from collections import OrderedDict, defaultdict, deque, namedtuple
from enum import Enum
from typing import NamedTuple

import numpy as np
import pytest

import ember
import ember.utils._pytree as ep
from tests._support.torch_ref import assert_same, torch

tp = pytest.importorskip("torch.utils._pytree")

Point = namedtuple("Point", ["x", "y"])


class Pair(NamedTuple):
    first: object
    second: object


class Color(Enum):
    RED = 1
    BLUE = 2


TREES = {
    "int": lambda: 1,
    "none": lambda: None,
    "string": lambda: "abc",
    "set": lambda: {1, 2},
    "empty list": lambda: [],
    "empty tuple": lambda: (),
    "empty dict": lambda: {},
    "none in list": lambda: [None, 1, None],
    "dict order": lambda: {"b": 1, "a": 2, "c": None},
    "int keys": lambda: {3: "x", 1: "y"},
    "nested": lambda: [1, (2, [3, {"k": (4, 5)}]), {"z": [], "a": ()}],
    "namedtuple": lambda: Point(1, [2, 3]),
    "typing NamedTuple": lambda: Pair((1, 2), None),
    "OrderedDict": lambda: OrderedDict([("b", 1), ("a", [2, 3])]),
    "defaultdict": lambda: defaultdict(list, {"q": 1, "p": (2,)}),
    "deque": lambda: deque([1, [2, 3]], maxlen=4),
    "deque unbounded": lambda: deque([1, 2]),
    "everything": lambda: {
        "p": Point(OrderedDict(a=1), deque([2])),
        "d": defaultdict(int, {"k": [None, Pair(3, 4)]}),
    },
}


def both(name):
    """The tree ``name`` built twice (one for each library, so in-place maps cannot mix)."""
    return TREES[name](), TREES[name]()


def error_of(fn, *args, **kwargs):
    """(exception type, message) that ``fn`` raises."""
    with pytest.raises(Exception) as info:
        fn(*args, **kwargs)
    return type(info.value), str(info.value)


@pytest.mark.parametrize("name", list(TREES))
def test_flatten_matches_torch(name):
    e_tree, t_tree = both(name)
    e_leaves, e_spec = ep.tree_flatten(e_tree)
    t_leaves, t_spec = tp.tree_flatten(t_tree)
    assert e_leaves == t_leaves
    assert repr(e_spec) == repr(t_spec)
    assert str(e_spec) == str(t_spec)
    for attr in ("num_leaves", "num_nodes", "num_children", "context"):
        assert getattr(e_spec, attr) == getattr(t_spec, attr), attr
    assert str(e_spec.type) == str(t_spec.type)
    assert e_spec.is_leaf() == t_spec.is_leaf()
    assert [repr(c) for c in e_spec.children()] == [repr(c) for c in t_spec.children()]
    assert ep.tree_leaves(e_tree) == tp.tree_leaves(t_tree)
    assert list(ep.tree_iter(e_tree)) == list(tp.tree_iter(t_tree))
    assert repr(ep.tree_structure(e_tree)) == repr(tp.tree_structure(t_tree))
    assert ep.tree_is_leaf(e_tree) == tp.tree_is_leaf(t_tree)
    assert ep.treespec_pprint(e_spec) == tp.treespec_pprint(t_spec)


@pytest.mark.parametrize("name", list(TREES))
def test_unflatten_rebuilds_the_tree(name):
    tree = TREES[name]()
    leaves, spec = ep.tree_flatten(tree)
    back = ep.tree_unflatten(leaves, spec)
    expected = tp.tree_unflatten(*tp.tree_flatten(TREES[name]()))
    assert type(back) is type(expected)
    assert repr(back) == repr(expected)
    assert ep.tree_unflatten(spec, leaves) == back  # either argument order, as torch
    assert spec.unflatten(iter(leaves)) == back  # any iterable of leaves


@pytest.mark.parametrize("name", list(TREES))
def test_treespec_json_is_torchs(name):
    e_spec, t_spec = ep.tree_structure(TREES[name]()), tp.tree_structure(TREES[name]())
    try:
        t_json = tp.treespec_dumps(t_spec)
    except Exception:
        assert error_of(ep.treespec_dumps, e_spec) == error_of(tp.treespec_dumps, t_spec)
        return
    e_json = ep.treespec_dumps(e_spec)
    assert e_json == t_json
    assert ep.treespec_loads(e_json) == e_spec
    assert repr(tp.treespec_loads(e_json)) == repr(t_spec)  # each loads the other's strings


@pytest.mark.parametrize("name", list(TREES))
def test_paths_match_torch(name):
    e_pairs, e_spec = ep.tree_flatten_with_path(TREES[name]())
    t_pairs, t_spec = tp.tree_flatten_with_path(TREES[name]())
    assert repr(e_spec) == repr(t_spec)
    assert [(repr(p), v) for p, v in e_pairs] == [(repr(p), v) for p, v in t_pairs]
    assert [ep.keystr(p) for p, _ in e_pairs] == [tp.keystr(p) for p, _ in t_pairs]
    tree = TREES[name]()
    assert all(ep.key_get(tree, p) == v for p, v in e_pairs)
    assert repr(ep.tree_leaves_with_path(tree)) == repr(tp.tree_leaves_with_path(TREES[name]()))
    add_path = lambda p, x: (tp.keystr(p), x)  # noqa: E731
    assert ep.tree_map_with_path(add_path, TREES[name]()) == tp.tree_map_with_path(
        add_path, TREES[name]()
    )


def test_key_entries_print_and_get_as_torch():
    for name, arg, parent in (
        ("SequenceKey", 1, [5, 6]),
        ("MappingKey", "w", {"w": 7}),
        ("GetAttrKey", "y", Point(1, 2)),
    ):
        e_key, t_key = getattr(ep, name)(arg), getattr(tp, name)(arg)
        assert (str(e_key), repr(e_key)) == (str(t_key), repr(t_key))
        assert e_key.get(parent) == t_key.get(parent)
        assert e_key == getattr(ep, name)(arg) and hash(e_key) == hash(getattr(ep, name)(arg))
        assert error_of(setattr, e_key, "x", 1)[0] is error_of(setattr, t_key, "x", 1)[0]


def test_is_leaf_stops_the_descent():
    tree = {"a": (1, 2), "b": [(3,), 4]}
    stop = lambda x: isinstance(x, tuple)  # noqa: E731
    e_leaves, e_spec = ep.tree_flatten(tree, is_leaf=stop)
    t_leaves, t_spec = tp.tree_flatten(tree, is_leaf=stop)
    assert e_leaves == t_leaves == [(1, 2), (3,), 4]
    assert repr(e_spec) == repr(t_spec)
    assert ep.tree_leaves(tree, stop) == tp.tree_leaves(tree, stop)
    assert ep.tree_is_leaf((1,), stop) and not ep.tree_is_leaf([1], stop)
    size = lambda x: len(x) if isinstance(x, tuple) else x  # noqa: E731
    assert ep.tree_map(size, tree, is_leaf=stop) == tp.tree_map(size, tree, is_leaf=stop)


def test_tree_map_over_several_trees():
    cases = [
        (lambda x, y: [x] + y, [5, 6], [[7, 9], [1, 2]]),  # the rest deeper than the first
        (
            lambda x, y, z: x + y + z,
            {"a": 1, "b": (2,)},
            {"b": (20,), "a": 10},
            {"a": 0, "b": (0,)},
        ),
        (lambda x, y: (x, y), OrderedDict(a=1, b=2), {"b": 3, "a": 4}),  # dict kinds mix
        (lambda x, y: (x, y), {"a": 1}, defaultdict(list, a=2)),
        (lambda x, y: x * y, deque([1, 2], maxlen=2), deque([3, 4])),  # maxlen is ignored
        (lambda x, y: x - y, Point(5, 6), Point(1, 2)),
    ]
    for fn, *trees in cases:
        assert repr(ep.tree_map(fn, *trees)) == repr(tp.tree_map(fn, *trees))


MISMATCHES = {
    "list for tuple": ((1, 2), [1, 2]),
    "arity": ([1, 2], [1, 2, 3]),
    "dict keys": ({"a": 1, "b": 2}, {"a": 1, "c": 2}),
    "dict arity": ({"a": 1, "b": 2}, {"a": 1, "x": 2, "y": 3}),
    "dict extra key": ({"a": 1}, {"b": 2}),
    "namedtuple class": (Point(1, 2), Pair(1, 2)),
    "namedtuple for tuple": ((1, 2), Point(1, 2)),
    "leaf for node": ([1, 2], 3),
    "nested": ([1, {"k": (2, 3)}], [1, {"k": (2, 3, 4)}]),
}


@pytest.mark.parametrize("name", list(MISMATCHES))
def test_structure_mismatch_errors_are_torchs(name):
    tree, other = MISMATCHES[name]
    e_err = error_of(ep.tree_map, lambda *a: a, tree, other)
    t_err = error_of(tp.tree_map, lambda *a: a, tree, other)
    assert e_err == t_err
    e_err = error_of(ep.tree_structure(tree).flatten_up_to, other)
    assert e_err == error_of(tp.tree_structure(tree).flatten_up_to, other)


def test_unflatten_errors_are_torchs():
    for leaves, tree in (([1, 2, 3], [0, (0,)]), ([], 0), ([1], {})):
        e_spec, t_spec = ep.tree_structure(tree), tp.tree_structure(tree)
        assert error_of(ep.tree_unflatten, leaves, e_spec) == error_of(
            tp.tree_unflatten, leaves, t_spec
        )
    for not_a_spec in ([1], None, "spec"):
        assert error_of(ep.tree_unflatten, [1], not_a_spec) == error_of(
            tp.tree_unflatten, [1], not_a_spec
        )


def test_map_only_all_any():
    tree = {"a": 1, "b": [2.5, "s", (3, None)], "c": True}
    double = lambda x: x * 2  # noqa: E731
    is_str = lambda x: isinstance(x, str)  # noqa: E731
    for kinds, fn in (
        (int, double),
        ((int, float), double),
        (int | float, double),
        (is_str, str.upper),
    ):
        assert ep.tree_map_only(kinds, fn, tree) == tp.tree_map_only(kinds, fn, tree)
    assert ep.tree_map_only(int, double, tree)["b"][2] == (6, None)
    assert error_of(ep.tree_map_only, 3, double, tree) == error_of(
        tp.tree_map_only, 3, double, tree
    )
    positive = lambda x: x > 0  # noqa: E731
    for t in ([1, 2, (3,)], [1, -2], [], [-1, {"k": -2}]):
        assert ep.tree_all(positive, t) == tp.tree_all(positive, t)
        assert ep.tree_any(positive, t) == tp.tree_any(positive, t)
    for t in ([1, None, "s"], [-1, 2.0, None], [None], [1.5, -1.0]):
        for kinds in (int, (int, float)):
            assert ep.tree_all_only(kinds, positive, t) == tp.tree_all_only(kinds, positive, t)
            assert ep.tree_any_only(kinds, positive, t) == tp.tree_any_only(kinds, positive, t)


def test_in_place_maps_return_the_tree_itself():
    seen_e, seen_t = [], []
    e_tree, t_tree = both("nested")
    assert ep.tree_map_(seen_e.append, e_tree) is e_tree
    assert tp.tree_map_(seen_t.append, t_tree) is t_tree
    assert seen_e == seen_t
    e_tree, t_tree = {"w": ember.zeros(2), "n": 3}, {"w": torch.zeros(2), "n": 3}
    assert ep.tree_map_only_(ember.Tensor, lambda t: t.add_(1), e_tree) is e_tree
    tp.tree_map_only_(torch.Tensor, lambda t: t.add_(1), t_tree)
    assert_same(e_tree["w"], t_tree["w"])
    assert e_tree["n"] == t_tree["n"] == 3


def test_tensors_are_leaves():
    x = np.arange(6.0).reshape(2, 3)
    e_tree = {"x": ember.tensor(x), "rest": [ember.tensor(1), 2.0]}
    t_tree = {"x": torch.tensor(x), "rest": [torch.tensor(1), 2.0]}
    e_leaves, e_spec = ep.tree_flatten(e_tree)
    t_leaves, t_spec = tp.tree_flatten(t_tree)
    assert repr(e_spec) == repr(t_spec)
    assert_same(e_leaves[:2], t_leaves[:2])
    doubled = ep.tree_map_only(ember.Tensor, lambda t: t * 2, e_tree)
    assert_same(doubled["x"], tp.tree_map_only(torch.Tensor, lambda t: t * 2, t_tree)["x"])
    assert doubled["rest"][1] == 2.0


def test_return_types_are_nodes_of_their_own():
    x = np.array([[3.0, 1.0, 2.0], [0.5, 4.0, -1.0]])
    e_out, t_out = ember.max(ember.tensor(x), 1), torch.max(torch.tensor(x), 1)
    e_leaves, e_spec = ep.tree_flatten(e_out)
    t_leaves, t_spec = tp.tree_flatten(t_out)
    assert repr(e_spec) == repr(t_spec) == "TreeSpec(max, None, [*,\n  *])"
    assert e_spec.type is ember.return_types.max
    assert_same(e_leaves, t_leaves)
    back = ep.tree_unflatten(e_leaves, e_spec)
    assert type(back) is ember.return_types.max
    assert_same(back.indices, t_out.indices)
    e_paths, t_paths = ep.tree_leaves_with_path(e_out), tp.tree_leaves_with_path(t_out)
    assert [repr(p) for p, _ in e_paths] == [repr(p) for p, _ in t_paths]
    for fn in (ep.is_namedtuple, ep.is_structseq, ep.is_namedtuple_class, ep.is_structseq_class):
        assert fn(e_out) == getattr(tp, fn.__name__)(t_out), fn.__name__
        assert fn(type(e_out)) == getattr(tp, fn.__name__)(type(t_out)), fn.__name__
    assert error_of(ep.treespec_dumps, e_spec) == error_of(tp.treespec_dumps, t_spec)
    e_svd = ep.tree_structure(ember.linalg.svd(ember.tensor(x)))
    assert repr(e_svd) == repr(tp.tree_structure(torch.linalg.svd(torch.tensor(x))))


def test_namedtuple_and_structseq_predicates():
    import os

    stat = os.stat(".")
    for value in (Point(1, 2), Point, Pair(1, 2), Pair, (1, 2), tuple, stat, type(stat), 3):
        for name in ("is_namedtuple", "is_structseq"):
            assert getattr(ep, name)(value) == getattr(tp, name)(value), (name, value)
        if not isinstance(value, type):
            for name in ("is_namedtuple_instance", "is_structseq_instance"):
                assert getattr(ep, name)(value) == getattr(tp, name)(value), (name, value)


def test_treespec_equality_hash_and_immutability():
    specs = [ep.tree_structure(TREES[n]()) for n in TREES]
    t_specs = [tp.tree_structure(TREES[n]()) for n in TREES]
    for i, a in enumerate(specs):
        for j, b in enumerate(specs):
            assert (a == b) == (t_specs[i] == t_specs[j]), (list(TREES)[i], list(TREES)[j])
            if a == b:
                assert hash(a) == hash(b)
    assert ep.tree_structure({"a": 1, "b": 2}) != ep.tree_structure({"b": 1, "a": 2})
    assert ep.tree_structure([1, (2,)]) == ep.tree_structure(["x", ("y",)])
    assert len({ep.tree_structure([i, i]) for i in range(3)}) == 1
    spec = ep.tree_structure([1, 2])
    assert error_of(setattr, spec, "type", tuple) == error_of(
        setattr, tp.tree_structure([1, 2]), "type", tuple
    )
    assert (spec == 3) is False and spec != "x"


@pytest.mark.parametrize("name", ["nested", "namedtuple", "defaultdict", "everything", "int"])
def test_treespec_pickles_and_copies(name):
    spec = ep.tree_structure(TREES[name]())
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # ember's leaf specs unpickle without LeafSpec's warning
        for copied in (pickle.loads(pickle.dumps(spec)), copy.deepcopy(spec), copy.copy(spec)):
            assert copied == spec and repr(copied) == repr(spec)


def test_treespec_constructors():
    for mod in (ep, tp):
        leaf = mod.treespec_leaf()
        assert leaf.is_leaf() and repr(leaf) == "*"
    assert repr(ep.treespec_tuple([ep.treespec_leaf()] * 2)) == repr(
        tp.treespec_tuple([tp.treespec_leaf()] * 2)
    )
    e_dict = ep.treespec_dict({"a": ep.treespec_leaf()}, b=ep.treespec_tuple())
    t_dict = tp.treespec_dict({"a": tp.treespec_leaf()}, b=tp.treespec_tuple())
    assert repr(e_dict) == repr(t_dict)
    assert e_dict == ep.tree_structure({"a": 0, "b": ()})
    assert error_of(ep.treespec_tuple, [1]) == error_of(tp.treespec_tuple, [1])
    assert error_of(ep.treespec_dict, {"a": 1}) == error_of(tp.treespec_dict, {"a": 1})
    e_spec = ep.TreeSpec(list, None, [ep.treespec_leaf(), ep.treespec_leaf()])
    assert e_spec == ep.tree_structure([0, 0])
    assert repr(e_spec) == repr(tp.TreeSpec(list, None, [tp.treespec_leaf()] * 2))
    for args in ((None, "ctx", []), (None, None, [ep.treespec_leaf()])):
        t_args = (args[0], args[1], [tp.treespec_leaf()] * len(args[2]))
        assert error_of(ep.TreeSpec, *args) == error_of(tp.TreeSpec, *t_args)


def test_deprecations_warn_as_torch():
    e_spec, t_spec = ep.tree_structure([1, 2]), tp.tree_structure([1, 2])
    with pytest.warns(FutureWarning) as e_rec:
        e_kids = e_spec.children_specs
    with pytest.warns(FutureWarning) as t_rec:
        t_kids = t_spec.children_specs
    assert [str(w.message) for w in e_rec] == [str(w.message) for w in t_rec]
    assert [repr(k) for k in e_kids] == [repr(k) for k in t_kids]
    with pytest.warns(FutureWarning) as e_rec:
        e_leaf = ep.LeafSpec()
    with pytest.warns(FutureWarning) as t_rec:
        t_leaf = tp.LeafSpec()
    assert [str(w.message) for w in e_rec] == [str(w.message) for w in t_rec]
    assert e_leaf == ep.treespec_leaf() and t_leaf == tp.treespec_leaf()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        assert isinstance(ep.tree_structure(1), ep.LeafSpec)
        assert isinstance(tp.tree_structure(1), tp.LeafSpec)
        assert not isinstance(ep.tree_structure([1]), ep.LeafSpec)


def test_serialization_errors_are_torchs():
    e_spec, t_spec = ep.tree_structure([1]), tp.tree_structure([1])
    assert error_of(ep.treespec_dumps, e_spec, protocol=7) == error_of(
        tp.treespec_dumps, t_spec, protocol=7
    )
    assert error_of(ep.treespec_dumps, "x") == error_of(tp.treespec_dumps, "x")
    for text in (
        '[9, {"type": null, "context": null, "children_spec": []}]',
        '[1, {"type": "no.such.Type", "context": "null", "children_spec": []}]',
    ):
        assert error_of(ep.treespec_loads, text) == error_of(tp.treespec_loads, text)
    e_bad = ep.tree_structure({object(): 1})  # a key json cannot write
    t_bad = tp.tree_structure({object(): 1})
    assert error_of(ep.treespec_dumps, e_bad) == error_of(tp.treespec_dumps, t_bad)


def _pair_flatten(p):
    return [p.left, p.right], p.tag


def _pair_unflatten(values, tag):
    return Box(*values, tag)


def _pair_flatten_with_keys(p):
    return [(ep.GetAttrKey("left"), p.left), (ep.GetAttrKey("right"), p.right)], p.tag


class Box:
    """A user container, registered as a node in both libraries by the fixture."""

    def __init__(self, left, right, tag):
        self.left, self.right, self.tag = left, right, tag

    def __eq__(self, other):
        return isinstance(other, Box) and vars(self) == vars(other)

    def __repr__(self):
        return f"Box({self.left!r}, {self.right!r}, {self.tag!r})"


@pytest.fixture
def box_registered():
    """Box as a node in ember and torch (removed again afterwards)."""
    for mod in (ep, tp):
        mod.register_pytree_node(
            Box,
            _pair_flatten,
            _pair_unflatten,
            serialized_type_name="tests.Box",
            flatten_with_keys_fn=_pair_flatten_with_keys,
        )
    yield
    for mod in (ep, tp):
        mod._deregister_pytree_node(Box)


def test_registered_node(box_registered):
    tree = [Box(1, (2, 3), "t"), {"b": Box(None, 4, Color.RED)}]
    e_leaves, e_spec = ep.tree_flatten(tree)
    t_leaves, t_spec = tp.tree_flatten(tree)
    assert e_leaves == t_leaves
    assert repr(e_spec) == repr(t_spec)
    assert ep.tree_unflatten(e_leaves, e_spec) == tree
    assert ep.treespec_dumps(e_spec) == tp.treespec_dumps(t_spec)  # an Enum in a context too
    assert ep.treespec_loads(tp.treespec_dumps(t_spec)) == e_spec
    e_paths = [ep.keystr(p) for p, _ in ep.tree_flatten_with_path(tree)[0]]
    assert e_paths == [tp.keystr(p) for p, _ in tp.tree_flatten_with_path(tree)[0]]
    other = [Box(1, (2, 3), "other tag"), {"b": Box(None, 4, Color.RED)}]
    assert error_of(ep.tree_map, max, tree, other) == error_of(tp.tree_map, max, tree, other)
    assert error_of(ep.tree_map, max, tree, [(1, 2), {"b": 0}]) == error_of(
        tp.tree_map, max, tree, [(1, 2), {"b": 0}]
    )
    assert hash(e_spec) == hash(ep.tree_structure(tree))
    for mod in (ep, tp):  # a second registration is an error
        with pytest.raises(ValueError, match="is already registered as pytree node"):
            mod.register_pytree_node(Box, _pair_flatten, _pair_unflatten)
    assert error_of(ep.register_pytree_node, Box, _pair_flatten, _pair_unflatten) == error_of(
        tp.register_pytree_node, Box, _pair_flatten, _pair_unflatten
    )


def test_half_a_context_converter_is_refused():
    class Odd:
        pass

    args = (Odd, lambda o: ([], None), lambda vs, c: Odd())
    e_err = error_of(ep.register_pytree_node, *args, to_dumpable_context=str)
    t_err = error_of(tp.register_pytree_node, *args, to_dumpable_context=str)
    tp.SUPPORTED_NODES.pop(Odd, None)  # torch registers the node before it raises
    assert e_err == t_err
    assert Odd not in ep.SUPPORTED_NODES  # ember checks first


def test_node_without_key_function():
    class Bag:
        def __init__(self, items):
            self.items = items

    def flat(b):
        return list(b.items), None

    def unflat(values, _):
        return Bag(list(values))

    for mod in (ep, tp):
        mod.register_pytree_node(Bag, flat, unflat)
    try:
        assert error_of(ep.tree_flatten_with_path, [Bag([1])]) == error_of(
            tp.tree_flatten_with_path, [Bag([1])]
        )
        assert error_of(ep.treespec_dumps, ep.tree_structure(Bag([1]))) == error_of(
            tp.treespec_dumps, tp.tree_structure(Bag([1]))
        )
        assert ep.tree_leaves(Bag([1, (2,)])) == tp.tree_leaves(Bag([1, (2,)])) == [1, 2]
    finally:
        for mod in (ep, tp):
            mod._deregister_pytree_node(Bag)
    bag = Bag([1])
    assert ep.tree_leaves(bag) == tp.tree_leaves(bag) == [bag]  # a leaf again


def test_old_registration_spelling_warns_and_overwrites():
    class Cell:
        def __init__(self, v):
            self.v = v

    flat, unflat = (lambda c: ([c.v], None)), (lambda vs, _: Cell(*vs))
    seen = {}
    for mod in (ep, tp):
        with warnings.catch_warnings(record=True) as rec:
            warnings.simplefilter("always")
            mod._register_pytree_node(Cell, flat, unflat)
            mod._register_pytree_node(Cell, flat, unflat)  # a second time: replaced, not refused
        seen[mod] = [(w.category, str(w.message).replace(repr(Cell), "CLS")) for w in rec]
        assert mod.tree_leaves([Cell(5)]) == [5]
        mod._deregister_pytree_node(Cell)
    assert seen[ep] == seen[tp]
    assert {c for c, _ in seen[ep]} == {FutureWarning, UserWarning}


def test_register_dataclass_as_torch():
    @dataclasses.dataclass
    class Batch:
        x: object
        y: object = None
        note: str = "n"

    for mod in (ep, tp):
        mod.register_dataclass(Batch, field_names=["x", "y"], drop_field_names=["note"])
    try:
        b = Batch([1, 2], None)
        e_leaves, e_spec = ep.tree_flatten(b)
        t_leaves, t_spec = tp.tree_flatten(b)
        assert e_leaves == t_leaves and repr(e_spec) == repr(t_spec)
        assert ep.tree_unflatten(e_leaves, e_spec) == b
        assert repr(ep.tree_leaves_with_path(b)) == repr(tp.tree_leaves_with_path(b))
    finally:
        for mod in (ep, tp):
            mod._deregister_pytree_node(Batch)
    for fields in (["x", "y"], ["x", "note", "y", "z"]):  # one field missing; one unexpected
        assert error_of(ep.register_dataclass, Batch, field_names=fields) == error_of(
            tp.register_dataclass, Batch, field_names=fields
        )
    assert error_of(ep.register_dataclass, Box) == error_of(tp.register_dataclass, Box)


def test_namedtuple_serialization_by_registered_name():
    Named = namedtuple("Named", "a b")
    e_spec, t_spec = ep.tree_structure(Named(1, 2)), tp.tree_structure(Named(1, 2))
    assert error_of(ep.treespec_dumps, e_spec) == error_of(tp.treespec_dumps, t_spec)
    for mod in (ep, tp):
        mod._register_namedtuple(Named, serialized_type_name="tests.Named")
    try:
        assert ep.tree_structure(Named(1, 2)).type is namedtuple  # still the namedtuple node
        assert ep.treespec_dumps(e_spec) == tp.treespec_dumps(t_spec)
        assert ep.treespec_loads(ep.treespec_dumps(e_spec)) == e_spec
    finally:
        for mod in (ep, tp):
            mod._deregister_pytree_node(Named)


def test_broadcast_to_and_flatten():
    spec_tree = ([0, 0], {"a": 0, "b": (0, 0)})
    e_spec, t_spec = ep.tree_structure(spec_tree), tp.tree_structure(spec_tree)
    for prefix in (1, (2, 3), ([4, 5], 6), ([1], 2), "x", (1, 2, 3), ([1, 2], {"a": 1})):
        assert ep._broadcast_to_and_flatten(prefix, e_spec) == tp._broadcast_to_and_flatten(
            prefix, t_spec
        )


def test_arg_tree_leaves_and_constants():
    assert ep.arg_tree_leaves(1, [2, (3,)], k={"v": 4}) == tp.arg_tree_leaves(
        1, [2, (3,)], k={"v": 4}
    )

    @dataclasses.dataclass(frozen=True)
    class Config:
        name: str

    for mod in (ep, tp):
        mod.register_constant(Config)
    try:
        tree = [Config("a"), 1]
        e_leaves, e_spec = ep.tree_flatten(tree)
        t_leaves, t_spec = tp.tree_flatten(tree)
        assert e_leaves == t_leaves == [1]
        assert ep.tree_unflatten(e_leaves, e_spec) == tree
        assert hash(e_spec) == hash(ep.tree_structure([Config("a"), 2]))
        assert ep.is_constant_class(Config) and tp.is_constant_class(Config)
    finally:
        for mod in (ep, tp):
            mod._deregister_pytree_node(Config)

    class Plain:
        pass

    assert error_of(ep.register_constant, Plain) == error_of(tp.register_constant, Plain)


def test_missing_names_say_what_ember_lacks():
    with pytest.raises(NotImplementedError, match="torch.utils._pytree.no_such_function"):
        ep.no_such_function  # noqa: B018
    assert ember.utils._pytree is ep
