"""torch.func's autodiff transforms: grad, grad_and_value, vjp, jvp, jacrev, jacfwd, hessian.

They are built on ember's reverse-mode engine. Each transform differentiates with respect to
fresh aliases of its inputs, so an outer transform's tensors are constants to an inner one
(torch.func's levels); while a transform runs inside another, its backward builds a graph
(create_graph) so that the outer one can differentiate through it. Forward mode (jvp, jacfwd)
uses the double-vjp identity: with g(u) = J^T u (a reverse pass from a zero cotangent u that
requires grad), J t = d<g(u), t>/du, a second reverse pass; it is exact, not a difference
quotient.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from .._backend.xp import xp_of
from ..autograd.engine import grad as _autograd_grad
from ..autograd.grad_mode import enable_grad
from ..ops.join import stack
from ..tensor import Tensor, _wrap
from ._pytree import spec_str, tree_flatten, tree_map, tree_unflatten

# how many transforms are running (an inner one keeps its graph for the outer ones)
_depth = [0]


class _level:
    def __enter__(self):
        self.outer = _depth[0] > 0
        _depth[0] += 1
        self.grad = enable_grad()
        self.grad.__enter__()
        return self

    def __exit__(self, *exc):
        self.grad.__exit__(*exc)
        _depth[0] -= 1
        return False


def _zeros(t: Tensor, shape: tuple | None = None) -> Tensor:
    a = t._data
    return _wrap(xp_of(a).zeros(a.shape if shape is None else shape, a.dtype))


def _alias(x: Any) -> Tensor:
    """A tensor equal to ``x`` that this level differentiates with respect to."""
    if not isinstance(x, Tensor):
        raise ValueError(f"Thing passed to transform API must be Tensor, got {type(x)}")
    if x.requires_grad:
        return x.view_as(x)  # a new node: an outer level's graph stays connected
    return x.detach().requires_grad_(True)


def _any_requires_grad(tree: Any) -> bool:
    return any(isinstance(v, Tensor) and v.requires_grad for v in tree_flatten(tree)[0])


def _finish(tree: Any, keep: bool) -> Any:
    """Results leave the outermost transform without the graph ember used to compute them."""
    if keep:
        return tree
    return tree_map(lambda v: v.detach() if isinstance(v, Tensor) else v, tree)


def _check_argnums(argnums, nargs: int) -> tuple[int, ...]:
    if isinstance(argnums, int) and not isinstance(argnums, bool):
        nums = (argnums,)
    elif isinstance(argnums, tuple):
        if len(argnums) == 0:
            raise RuntimeError("argnums must be non-empty")
        for a in argnums:
            if not isinstance(a, int) or isinstance(a, bool):
                raise RuntimeError(
                    f"argnums must be int or Tuple[int, ...], got: Tuple[{type(a).__name__}]"
                )
        if len(set(argnums)) != len(argnums):
            raise RuntimeError(f"argnums elements must be unique, got {argnums}")
        nums = argnums
    else:
        raise RuntimeError(f"argnums must be int or Tuple[int, ...], got: {type(argnums)}")
    out = []
    for a in nums:
        if not -nargs <= a < nargs:
            raise RuntimeError(f"Got argnum={a}, but only {nargs} positional inputs")
        out.append(a % nargs)
    return tuple(out)


def _diff_args(args: tuple, argnums) -> tuple[tuple, Any, list]:
    """(args with the differentiated ones aliased, their tree as argnums shapes it, leaves)."""
    nums = _check_argnums(argnums, len(args))
    args = list(args)
    for a in nums:
        args[a] = tree_map(_alias, args[a])
    picked = args[nums[0]] if isinstance(argnums, int) else tuple(args[a] for a in nums)
    return tuple(args), picked, tree_flatten(picked)[0]


def _grads(outputs: list, inputs: list, cotangents: list | None, create_graph: bool) -> list:
    """d(outputs)/d(inputs) weighted by cotangents; zeros where an input is unused."""
    cts = cotangents if cotangents is not None else [None] * len(outputs)
    pairs = [(o, c) for o, c in zip(outputs, cts) if o.requires_grad]
    if not pairs or not inputs:
        return [_zeros(x) for x in inputs]
    gos = None if cotangents is None else [c for _, c in pairs]
    gs = _autograd_grad(
        [o for o, _ in pairs],
        inputs,
        gos,
        retain_graph=True,
        create_graph=create_graph,
        allow_unused=True,
    )
    return [_zeros(x) if g is None else g for g, x in zip(gs, inputs)]


def grad_and_value(func: Callable, argnums: int | tuple = 0, has_aux: bool = False) -> Callable:
    """A function returning (gradient of ``func`` w.r.t. ``argnums``, ``func``'s value)."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        keep = _any_requires_grad((args, kwargs)) or _depth[0] > 0
        with _level() as lv:
            args, picked, leaves = _diff_args(args, argnums)
            out = func(*args, **kwargs)
            aux = None
            if has_aux:
                if not (isinstance(out, tuple) and len(out) == 2):
                    raise RuntimeError(
                        "grad_and_value(f)(*args): output of function f should be a tuple: "
                        "(output, aux) if has_aux is True"
                    )
                out, aux = out
                _check_aux(aux)
            if not isinstance(out, Tensor):
                raise RuntimeError(
                    "grad_and_value(f)(*args): Expected f(*args) to return a Tensor, got "
                    f"{type(out)}"
                )
            if out.dim() != 0:
                raise RuntimeError(
                    "grad_and_value(f)(*args): Expected f(*args) to return a scalar Tensor, got "
                    f"tensor with {out.dim()} dims. Maybe you wanted to use the vjp or jacrev "
                    "APIs instead?"
                )
            gs = _grads([out], leaves, None, lv.outer or keep)
        g = tree_unflatten(gs, tree_flatten(picked)[1])
        if has_aux:
            return _finish(g, keep), (_finish(out, keep), _finish(aux, keep))
        return _finish(g, keep), _finish(out, keep)

    return wrapper


def grad(func: Callable, argnums: int | tuple = 0, has_aux: bool = False) -> Callable:
    """A function returning the gradient of a scalar ``func`` w.r.t. ``argnums``."""
    gv = grad_and_value(func, argnums, has_aux)

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        g, rest = gv(*args, **kwargs)
        return (g, rest[1]) if has_aux else g

    return wrapper


def _check_aux(aux: Any) -> None:
    for v in tree_flatten(aux)[0]:
        if not isinstance(v, Tensor):
            raise RuntimeError(f"Expected tensors, got unsupported type {type(v)}")


def _split_aux(out, has_aux: bool, api: str):
    if not has_aux:
        return out, None
    if not (isinstance(out, tuple) and len(out) == 2):
        raise RuntimeError(
            f"{api}(f, *primals): output of function f should be a tuple: (output, aux) if "
            "has_aux is True"
        )
    _check_aux(out[1])
    return out


def _check_outputs(out, api: str) -> tuple[list, tuple]:
    leaves, spec = tree_flatten(out)
    for v in leaves:
        if not isinstance(v, Tensor):
            raise RuntimeError(
                f"{api}(f, *primals): Expected f(*primals) to return only tensors, got "
                f"unsupported type {type(v)}"
            )
    return leaves, spec


def vjp(func: Callable, *primals, has_aux: bool = False):
    """(func(*primals), vjp_fn[, aux]); ``vjp_fn(cotangents)`` gives one gradient per primal."""
    keep = _any_requires_grad(primals) or _depth[0] > 0
    with _level():
        aliased = tree_map(_alias, primals)
        out, aux = _split_aux(func(*aliased), has_aux, "vjp")
        outs, out_spec = _check_outputs(out, "vjp")
    in_leaves, in_spec = tree_flatten(aliased)

    def vjp_fn(cotangents, *, retain_graph: bool = True, create_graph: bool | None = None):
        ct, ct_spec = tree_flatten(cotangents)
        if ct_spec != out_spec:
            raise RuntimeError(
                "Expected pytree structure of cotangents to be the same as pytree structure of "
                f"outputs to the function. cotangents: {spec_str(ct_spec)}, primal output: "
                f"{spec_str(out_spec)}"
            )
        for i, (c, o) in enumerate(zip(ct, outs)):
            if tuple(c.shape) != tuple(o.shape):
                raise RuntimeError(
                    f"Mismatch in shape: grad_output[{i}] has a shape of {c.shape} and "
                    f"output[{i}] has a shape of {o.shape}."
                )
        inner = keep or _depth[0] > 0 or _any_requires_grad(ct)
        with _level():
            gs = _grads(outs, in_leaves, ct, inner if create_graph is None else create_graph)
        return _finish(tree_unflatten(gs, in_spec), inner)

    result = (_finish(out, keep), vjp_fn)
    return result + (_finish(aux, keep),) if has_aux else result


class _Linearized:
    """The first pass of the double-vjp identity: g(u) = J^T u for zero cotangents u that
    require grad; ``apply(t)`` is then J t, one more reverse pass per tangent."""

    def __init__(self, outs: list, ins: list):
        self.outs = outs
        self.live = [o for o in outs if o.requires_grad]
        self.us = [_zeros(o).requires_grad_(True) for o in self.live]
        self.gs = []
        if self.live:
            self.gs = _autograd_grad(
                self.live, ins, self.us, retain_graph=True, create_graph=True, allow_unused=True
            )

    def apply(self, tangents: list, create_graph: bool) -> list:
        pairs = [(g, t) for g, t in zip(self.gs, tangents) if g is not None and g.requires_grad]
        jv = [None] * len(self.live)
        if pairs:
            jv = _autograd_grad(
                [g for g, _ in pairs],
                self.us,
                [t for _, t in pairs],
                retain_graph=True,
                create_graph=create_graph,
                allow_unused=True,
            )
        by_out = dict(zip((id(o) for o in self.live), jv))
        res = []
        for o in self.outs:
            j = by_out.get(id(o))
            res.append(_zeros(o) if j is None else j)
        return res


def jvp(
    func: Callable, primals: Any, tangents: Any, *, strict: bool = False, has_aux: bool = False
):
    """(func(*primals), J(primals) @ tangents[, aux]): a Jacobian-vector product."""
    if not isinstance(primals, tuple):
        raise RuntimeError(
            "jvp(f, primals, tangents): Expected primals to be a tuple. E.g. it should be valid "
            "to call f(*primals)."
        )
    if not isinstance(tangents, tuple):
        raise RuntimeError(
            "jvp(f, primals, tangents): Expected tangents to be a tuple. E.g. it should be "
            "valid to call f(*primals)."
        )
    p_leaves, p_spec = tree_flatten(primals)
    t_leaves, t_spec = tree_flatten(tangents)
    if p_spec != t_spec:
        raise RuntimeError(
            "jvp(f, primals, tangents): Expected primals and tangents to have the same python "
            f"structure. For example, if primals is a tuple of 3 tensors, tangents also must be. "
            f"Got primals with structure {spec_str(p_spec)} and tangents with structure "
            f"{spec_str(t_spec)}"
        )
    for p, t in zip(p_leaves, t_leaves):
        if not isinstance(p, Tensor) or not isinstance(t, Tensor):
            raise RuntimeError(
                "jvp(f, primals, tangents): Expected primals and tangents to be tensors"
            )
        if tuple(p.shape) != tuple(t.shape):
            raise RuntimeError(
                "Trying to set a forward gradient that has a different size than that of the "
                f"original Tensor, this is not supported. Tensor is of size {list(p.shape)} "
                f"while the given forward gradient is of size {list(t.shape)}."
            )
    keep = _any_requires_grad((primals, tangents)) or _depth[0] > 0
    with _level() as lv:
        aliased = [_alias(p) for p in p_leaves]
        out, aux = _split_aux(func(*tree_unflatten(aliased, p_spec)), has_aux, "jvp")
        outs, out_spec = _check_outputs(out, "jvp")
        jv = _Linearized(outs, aliased).apply(t_leaves, lv.outer or keep)
    res = (_finish(out, keep), _finish(tree_unflatten(jv, out_spec), keep))
    return res + (_finish(aux, keep),) if has_aux else res


def _jacobian(func, argnums, has_aux, forward: bool, api: str):
    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        keep = _any_requires_grad((args, kwargs)) or _depth[0] > 0
        with _level() as lv:
            args, picked, ins = _diff_args(args, argnums)
            out, aux = _split_aux(func(*args, **kwargs), has_aux, api)
            outs, out_spec = _check_outputs(out, api)
            cg = lv.outer or keep
            # blocks[i][j]: d outs[i] / d ins[j], shaped outs[i].shape + ins[j].shape
            blocks = _forward_blocks(outs, ins, cg) if forward else _reverse_blocks(outs, ins, cg)
        in_spec = tree_flatten(picked)[1]
        jac = tree_unflatten([tree_unflatten(row, in_spec) for row in blocks], out_spec)
        jac = _finish(jac, keep)
        return (jac, _finish(aux, keep)) if has_aux else jac

    return wrapper


def _reverse_blocks(outs, ins, create_graph):
    blocks = []
    for o in outs:
        flat = o.reshape(-1)
        rows = []
        for k in range(flat.shape[0]):
            rows.append(_grads([flat[k]], ins, None, create_graph))
        row = []
        for j, x in enumerate(ins):
            shape = tuple(o.shape) + tuple(x.shape)
            if rows:
                row.append(stack([r[j] for r in rows]).reshape(shape))
            else:
                row.append(_zeros(x, shape))
        blocks.append(row)
    return blocks


def _forward_blocks(outs, ins, create_graph):
    lin = _Linearized(outs, ins)
    cols: list[list[list]] = [[[] for _ in ins] for _ in outs]  # cols[i][j]: J t per t
    for j, x in enumerate(ins):
        for k in range(x.numel()):
            t = [_zeros(v) for v in ins]
            t[j]._data.reshape(-1)[k] = 1  # a fresh contiguous array: the view writes into it
            jv = lin.apply(t, create_graph)
            for i in range(len(outs)):
                cols[i][j].append(jv[i])
    blocks = []
    for i, o in enumerate(outs):
        row = []
        for j, x in enumerate(ins):
            shape = tuple(o.shape) + tuple(x.shape)
            if cols[i][j]:
                row.append(stack(cols[i][j], dim=-1).reshape(shape))
            else:
                row.append(_zeros(o, shape))
        blocks.append(row)
    return blocks


def jacrev(
    func: Callable,
    argnums: int | tuple = 0,
    *,
    has_aux: bool = False,
    chunk_size: int | None = None,
    _preallocate_and_copy: bool = False,
) -> Callable:
    """The Jacobian of ``func`` w.r.t. ``argnums``, by reverse mode (one pass per output
    element); shaped output.shape + input.shape per pair."""
    return _jacobian(func, argnums, has_aux, False, "jacrev")


def jacfwd(
    func: Callable, argnums: int | tuple = 0, has_aux: bool = False, *, randomness: str = "error"
) -> Callable:
    """The Jacobian of ``func`` w.r.t. ``argnums``, by forward mode (one Jacobian-vector
    product per input element)."""
    return _jacobian(func, argnums, has_aux, True, "jacfwd")


def hessian(func: Callable, argnums: int | tuple = 0) -> Callable:
    """The Hessian of a scalar ``func``: jacfwd(jacrev(func)), as torch.func.hessian."""
    return jacfwd(jacrev(func, argnums), argnums)
