"""einsum: numpy's einsum (through BLAS with cached contraction paths) as one graph node whose
backward is again einsums, so it supports higher-order gradients (tensordot is built on it)."""

from __future__ import annotations

import string

import numpy as np

from .. import dtypes
from .._autocast_state import state as _acs
from .._backend.xp import xp_of
from ..autograd.node import Op
from ..dtypes import scalar_type_name
from ..tensor import Tensor, _wrap
from . import _autocast
from .creation import eye


def _dt_name(d) -> str:
    return scalar_type_name(dtypes.from_numpy_dtype(d).name)


# --- einsum ---------------------------------------------------------------------------------
def _einsum_plan(equation: str, shapes: list) -> tuple:
    """Explicit per-operand subscripts (ellipses expanded, size-1 broadcast labels dropped from
    the operand that has them) and the output subscripts."""
    eq = equation.replace(" ", "")
    for k, c in enumerate(eq):
        if not (c.isascii() and c.isalpha()) and c not in ".,->":
            raise RuntimeError(
                f"einsum(): invalid subscript given at index {k} in the equation "
                "string, subscripts must be in [a-zA-Z]"
            )
    lhs, arrow, rhs = eq.partition("->")
    terms = lhs.split(",")
    if len(terms) > len(shapes):
        raise RuntimeError("einsum(): fewer operands were provided than specified in the equation")
    if len(terms) < len(shapes):
        raise RuntimeError("einsum(): more operands were provided than specified in the equation")
    free = [c for c in string.ascii_letters if c not in eq]
    n_ell = 0
    for i, (t, shp) in enumerate(zip(terms, shapes)):
        if "..." in t:
            n_ell = max(n_ell, len(shp) - (len(t) - 3))
        elif len(t) != len(shp):
            raise RuntimeError(
                f"einsum(): the number of subscripts in the equation ({len(t)}) does not match "
                f"the number of dimensions ({len(shp)}) for operand {i} and no ellipsis was "
                "given"
            )
    ell = "".join(free[:n_ell])
    terms = [
        t.replace("...", ell[n_ell - (len(s) - (len(t) - 3)) :] if len(s) - (len(t) - 3) else "")
        for t, s in zip(terms, shapes)
    ]
    if arrow:
        out = rhs.replace("...", ell)
    else:
        body = "".join(terms)
        out = ell + "".join(sorted(c for c in set(body) if body.count(c) == 1 and c not in ell))
    sizes: dict = {}
    for i, (t, shp) in enumerate(zip(terms, shapes)):
        seen: dict = {}
        for c, n in zip(t, shp):
            if c in seen and seen[c] != n:
                raise RuntimeError(
                    f"einsum(): subscript {c} is repeated for operand {i} but the "
                    f"sizes don't match, {n} != {seen[c]}"
                )
            seen[c] = n
            old = sizes.get(c)
            if old is None or old == 1:
                sizes[c] = n
            elif n != 1 and n != old:
                raise RuntimeError(
                    f"einsum(): subscript {c} has size {n} for operand {i} which "
                    f"does not broadcast with previously seen size {old}"
                )
    for c in out:
        if c not in sizes:
            raise RuntimeError(
                f"einsum(): output subscript {c} does not appear in the equation "
                "for any input operand"
            )
    # a label of size 1 in an operand that others have bigger: that operand ignores it
    keeps = tuple(
        tuple(k for k, (c, n) in enumerate(zip(t, shp)) if not (n == 1 and sizes[c] != 1))
        for t, shp in zip(terms, shapes)
    )
    terms = tuple("".join(t[k] for k in keep) for t, keep in zip(terms, keeps))
    return terms, out, sizes, keeps


_PAIR = ["einsum_path", (0, 1)]
_PATHS: dict = {}


def _ein(eq: str, *ops):
    """numpy's einsum with a contraction order (BLAS where it can), cached per equation."""
    xp = xp_of(ops[0])
    if len(ops) == 1:
        return xp.einsum(eq, ops[0])
    if len(ops) == 2:
        return xp.einsum(eq, *ops, optimize=_PAIR)
    key = (eq,) + tuple(o.shape for o in ops)
    path = _PATHS.get(key)
    if path is None:
        if len(_PATHS) > 512:
            _PATHS.clear()
        # the path depends on shapes only: plan it on zero-stride host stand-ins
        fakes = [np.broadcast_to(np.zeros((), np.float32), o.shape) for o in ops]
        path = _PATHS[key] = np.einsum_path(eq, *fakes, optimize="greedy")[0]
    return xp.einsum(eq, *ops, optimize=path)


class Einsum(Op):
    """One einsum node; the gradient of each operand is another einsum (graph-building with
    create_graph=True)."""

    higher_order = True

    @staticmethod
    def forward(ctx, plan, *arrays):
        terms, out, sizes, keeps = plan
        ops = [_drop_ones(a, k) for a, k in zip(arrays, keeps)]
        ctx.saved = arrays
        ctx.plan = plan
        ctx.shapes = [a.shape for a in arrays]
        r = _ein(",".join(terms) + "->" + out, *ops)
        return xp_of(arrays[0]).asarray(r)

    @staticmethod
    def backward(ctx, g):
        terms, out, sizes, keeps = ctx.plan
        ops = [_drop_ones(a, k) for a, k in zip(ctx.saved, keeps)]
        grad = _einsum_grad_t if isinstance(g, Tensor) else _einsum_grad
        res = [None]
        for i in range(len(terms)):
            if not ctx._needs[i + 1]:
                res.append(None)
                continue
            res.append(grad(g, i, ops, terms, out, sizes).reshape(ctx.shapes[i]))
        return tuple(res)


_EINSUM_N: dict = {}


def _einsum_cls(n: int):
    """Einsum with ``save_in`` naming all n operands (version checks, create_graph)."""
    cls = _EINSUM_N.get(n)
    if cls is None:
        cls = _EINSUM_N[n] = type("Einsum", (Einsum,), {"save_in": tuple(range(1, n + 1))})
    return cls


def _drop_ones(a, keep: tuple):
    """Remove the size-1 dims that the plan dropped from this operand's subscripts."""
    if len(keep) == a.ndim:
        return a
    return a.reshape(tuple(a.shape[k] for k in keep))


def _einsum_grad(g, i: int, ops, terms, out: str, sizes: dict):
    """d(einsum)/d(operand i) contracted with g: another einsum, then diagonals and broadcasts."""
    t = terms[i]
    others = [(terms[k], ops[k]) for k in range(len(ops)) if k != i]
    avail = set(out).union(*[set(tt) for tt, _ in others])
    uniq = "".join(dict.fromkeys(t))
    kept = "".join(c for c in uniq if c in avail)
    eq = ",".join([out] + [tt for tt, _ in others]) + "->" + kept
    r = xp_of(g).asarray(_ein(eq, g, *[o for _, o in others]))
    if kept != uniq:
        xp = xp_of(r)
        for k, c in enumerate(uniq):
            if c not in kept:
                r = xp.expand_dims(r, k)
        r = xp.broadcast_to(r, tuple(sizes[c] for c in uniq))
    if uniq == t:
        return r.astype(ops[i].dtype, copy=False)
    # repeated subscripts (a diagonal): write into the diagonal of a zero tensor
    z = xp_of(r).zeros(tuple(sizes[c] for c in t), ops[i].dtype)
    strides = tuple(sum(z.strides[k] for k, c2 in enumerate(t) if c2 == c) for c in uniq)
    view = xp_of(z).lib.stride_tricks.as_strided(z, r.shape, strides)
    view[...] = r
    return z


def _einsum_grad_t(g, i: int, ops, terms, out: str, sizes: dict):
    """_einsum_grad on Tensors (create_graph=True): einsums and expands only."""
    ops = [o if isinstance(o, Tensor) else _wrap(o) for o in ops]
    t = terms[i]
    others = [(terms[k], ops[k]) for k in range(len(ops)) if k != i]
    avail = set(out).union(*[set(tt) for tt, _ in others])
    uniq = "".join(dict.fromkeys(t))
    kept = "".join(c for c in uniq if c in avail)
    r = einsum(",".join([out] + [tt for tt, _ in others]) + "->" + kept, g, *[o for _, o in others])
    if kept != uniq:
        for k, c in enumerate(uniq):
            if c not in kept:
                r = r.unsqueeze(k)
        r = r.expand(*[sizes[c] for c in uniq])
    if uniq == t:
        return r
    # repeated subscripts: give each repeat a fresh letter tied to the first by an identity
    fresh = iter(c for c in string.ascii_letters if c not in t)
    seen: set = set()
    t2, deltas, eyes = [], [], []
    for c in t:
        if c in seen:
            n = next(fresh)
            t2.append(n)
            deltas.append(c + n)
            eyes.append(eye(sizes[c], dtype=g.dtype, device=g.device))
        else:
            seen.add(c)
            t2.append(c)
    return einsum(",".join([uniq] + deltas) + "->" + "".join(t2), r, *eyes)


def einsum(equation: str, *operands) -> Tensor:
    """Einstein summation over the operands as ``equation`` says (numpy's einsum)."""
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    if not operands:
        raise RuntimeError("einsum(): must provide at least one operand")
    if _acs.active and len(operands) > 1:  # autocast: torch contracts with bmm, lower precision
        operands = _autocast.lower(*operands)
    dt0 = operands[0]._data.dtype
    for o in operands[1:]:
        if o._data.dtype != dt0:
            raise RuntimeError(
                f"expected scalar type {_dt_name(dt0)} but found {_dt_name(o._data.dtype)}"
            )
    plan = _einsum_plan(equation, [o._data.shape for o in operands])
    op = _einsum_cls(len(operands))
    if dt0.kind == "V":  # bfloat16 (comparing with its dtype needs ml_dtypes)
        return op.apply(plan, *[o.float() for o in operands]).to(dtypes.bfloat16)
    return op.apply(plan, *operands)
