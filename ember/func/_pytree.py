"""Flatten and rebuild the nested containers that torch.func's transforms accept (tuples,
lists, dicts, namedtuples); anything else is a leaf."""

from __future__ import annotations

from typing import Any

# a spec is ("leaf",) or (kind, meta, [child specs]); kind is tuple/list/dict/namedtuple
LEAF = ("leaf",)


def _children(x: Any):
    if isinstance(x, tuple) and hasattr(x, "_fields"):
        return "namedtuple", type(x), list(x)
    if isinstance(x, tuple):
        return "tuple", None, list(x)
    if isinstance(x, list):
        return "list", None, list(x)
    if isinstance(x, dict):
        keys = list(x)
        return "dict", keys, [x[k] for k in keys]
    return None


def tree_flatten(x: Any) -> tuple[list, tuple]:
    """(leaves in order, spec)."""
    leaves: list = []
    return leaves, _flatten(x, leaves)


def _flatten(x, leaves):
    c = _children(x)
    if c is None:
        leaves.append(x)
        return LEAF
    kind, meta, kids = c
    return (kind, meta, [_flatten(k, leaves) for k in kids])


def tree_unflatten(leaves: list, spec: tuple) -> Any:
    """Rebuild the container of ``spec`` from ``leaves`` (in flatten order)."""
    it = iter(leaves)
    return _build(spec, it)


def _build(spec, it):
    if spec is LEAF or spec[0] == "leaf":
        return next(it)
    kind, meta, kids = spec
    vals = [_build(k, it) for k in kids]
    if kind == "tuple":
        return tuple(vals)
    if kind == "list":
        return vals
    if kind == "dict":
        return dict(zip(meta, vals))
    return meta(*vals)


def tree_map(fn, x: Any) -> Any:
    leaves, spec = tree_flatten(x)
    return tree_unflatten([fn(v) for v in leaves], spec)


def spec_str(spec: tuple) -> str:
    """A short description of a structure for error messages (as torch's TreeSpec repr)."""
    if spec[0] == "leaf":
        return "*"
    kind, meta, kids = spec
    name = meta.__name__ if kind == "namedtuple" else kind
    inner = ", ".join(spec_str(k) for k in kids)
    if kind == "dict":
        return f"TreeSpec(dict, {meta}, [{inner}])"
    return f"TreeSpec({name}, None, [{inner}])"


def broadcast_prefix(prefix: Any, tree: Any, is_leaf_prefix) -> list | None:
    """Expand ``prefix`` (a tree whose leaves each stand for a whole subtree of ``tree``) to one
    value per leaf of ``tree``; None when the structures do not match."""
    out: list = []
    return out if _bcast(prefix, tree, is_leaf_prefix, out) else None


def _bcast(p, t, is_leaf_prefix, out) -> bool:
    if is_leaf_prefix(p):
        n = len(tree_flatten(t)[0])
        out.extend([p] * n)
        return True
    cp = _children(p)
    ct = _children(t)
    if cp is None or ct is None:
        return False
    kp, mp, kids_p = cp
    kt, mt, kids_t = ct
    if kp != kt or len(kids_p) != len(kids_t):
        return False
    if kp == "dict":
        if set(mp) != set(mt):
            return False
        kids_p = [p[k] for k in mt]
    return all(_bcast(a, b, is_leaf_prefix, out) for a, b in zip(kids_p, kids_t))
