"""torch.autograd.functional: jacobian, hessian, vjp, jvp, hvp and vhp built on ``grad``.

It sits above the ops it uses (zeros_like, stack), so the autograd package does not import it:
``ember/__init__.py`` does, once the ops are loaded."""

from __future__ import annotations

from ..ops.creation import zeros_like
from ..ops.join import stack
from ..tensor import Tensor
from .engine import grad
from .grad_mode import enable_grad


def _tuple(x):
    return (x,) if isinstance(x, Tensor) else tuple(x)


def _prep(inputs, create_graph: bool):
    ins = _tuple(inputs)
    out = []
    for t in ins:
        d = t if create_graph and t.requires_grad else t.detach()
        out.append(d.requires_grad_(True) if not d.requires_grad else d)
    return tuple(out)


def _grad(outputs, inputs, grad_outputs=None, *, create_graph: bool, retain_graph=None):
    """``grad`` over those of ``outputs`` that require grad (with their ``grad_outputs``), as
    torch's functional API takes them: None for every input where none does, so a function
    independent of its input, or a gradient without a graph, gives zeros rather than an
    error."""
    outs = _tuple(outputs)
    gos = (None,) * len(outs) if grad_outputs is None else _tuple(grad_outputs)
    keep = [(o, g) for o, g in zip(outs, gos) if o.requires_grad]
    if not keep:
        return (None,) * len(inputs)
    return grad(
        [o for o, _ in keep],
        inputs,
        None if grad_outputs is None else [g for _, g in keep],
        retain_graph=retain_graph,
        create_graph=create_graph,
        allow_unused=True,
    )


def _zeros_for(g, like):
    return zeros_like(like) if g is None else g


def _maybe_detach(ts, create_graph: bool):
    return tuple(t if create_graph else t.detach() for t in ts)


def vjp(func, inputs, v=None, create_graph: bool = False, strict: bool = False):
    """(func(inputs), v^T J): a vector-Jacobian product."""
    single = not isinstance(inputs, (tuple, list))
    with enable_grad():
        ins = _prep(inputs, create_graph)
        outs = func(*ins)
        outs_t = _tuple(outs)
        vs = None if v is None else _tuple(v)
        gs = _grad(outs_t, ins, vs, create_graph=True)
    gs = tuple(_zeros_for(g, i) for g, i in zip(gs, ins))
    res = _maybe_detach(gs, create_graph)
    outs_r = _maybe_detach(outs_t, create_graph)
    return (outs_r[0] if not isinstance(outs, (tuple, list)) else outs_r, res[0] if single else res)


def jvp(func, inputs, v=None, create_graph: bool = False, strict: bool = False):
    """(func(inputs), J v): a Jacobian-vector product (by the double-vjp trick)."""
    single = not isinstance(inputs, (tuple, list))
    with enable_grad():
        ins = _prep(inputs, create_graph)
        outs = func(*ins)
        outs_t = _tuple(outs)
        us = tuple(zeros_like(o).requires_grad_(True) for o in outs_t)
        gs = _grad(outs_t, ins, us, create_graph=True)
        vs = ins if v is None else _tuple(v)
        pairs = [(g, x) for g, x in zip(gs, vs) if g is not None]
        jv = _grad([g for g, _ in pairs], us, [x for _, x in pairs], create_graph=create_graph)
    jv = tuple(_zeros_for(j, o) for j, o in zip(jv, outs_t))
    res = _maybe_detach(jv, create_graph)
    outs_r = _maybe_detach(outs_t, create_graph)
    del single
    if not isinstance(outs, (tuple, list)):
        return outs_r[0], res[0]
    return outs_r, res


def jacobian(
    func,
    inputs,
    create_graph: bool = False,
    strict: bool = False,
    vectorize: bool = False,
    strategy: str = "reverse-mode",
):
    """The Jacobian of func at inputs, shaped output.shape + input.shape (tuples for several)."""
    single_in = not isinstance(inputs, (tuple, list))
    with enable_grad():
        ins = _prep(inputs, create_graph)
        outs = func(*ins)
        single_out = not isinstance(outs, (tuple, list))
        outs_t = _tuple(outs)
        result = []
        for o in outs_t:
            flat = o.reshape(-1)
            rows = [[] for _ in ins]
            for k in range(flat.shape[0]):
                gs = _grad(flat[k], ins, retain_graph=True, create_graph=create_graph)
                for j, (g, x) in enumerate(zip(gs, ins)):
                    rows[j].append(zeros_like(x) if g is None else g)
            per_in = []
            for j, x in enumerate(ins):
                if rows[j]:
                    jac = stack(rows[j]).reshape(tuple(o.shape) + tuple(x.shape))
                else:
                    jac = zeros_like(x).reshape(tuple(o.shape) + tuple(x.shape))
                per_in.append(jac if create_graph else jac.detach())
            result.append(per_in[0] if single_in else tuple(per_in))
    return result[0] if single_out else tuple(result)


def hessian(
    func,
    inputs,
    create_graph: bool = False,
    strict: bool = False,
    vectorize: bool = False,
    outer_jacobian_strategy: str = "reverse-mode",
):
    """The Hessian of a scalar func at inputs."""
    single_in = not isinstance(inputs, (tuple, list))

    def grads(*xs):
        out = func(*xs)
        gs = _grad(out, xs, create_graph=True)
        gs = tuple(_zeros_for(g, x) for g, x in zip(gs, xs))
        return gs[0] if single_in else gs

    return jacobian(grads, inputs, create_graph=create_graph)


def vhp(func, inputs, v=None, create_graph: bool = False, strict: bool = False):
    """(func(inputs), v^T H)."""
    single = not isinstance(inputs, (tuple, list))
    with enable_grad():
        ins = _prep(inputs, create_graph)
        out = func(*ins)
        gs = _grad(out, ins, create_graph=True)
        pairs = [(g, w) for g, w in zip(gs, _tuple(v)) if g is not None]
        hv = _grad([g for g, _ in pairs], ins, [w for _, w in pairs], create_graph=create_graph)
    hv = tuple(_zeros_for(h, x) for h, x in zip(hv, ins))
    res = _maybe_detach(hv, create_graph)
    o = out if create_graph else out.detach()
    return o, (res[0] if single else res)


hvp = vhp  # the Hessian is symmetric for the twice-differentiable functions this serves
