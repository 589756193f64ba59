"""The backward engine: an iterative walk over the graph (no recursion, so a chain of 100,000
ops backpropagates), gradients summed per node, accumulated into leaves, buffers freed after
use unless ``retain_graph``, and in-place modifications of saved values detected; with its
entry points ``backward`` and ``grad`` (``ember.autograd.backward``/``grad``)."""

from __future__ import annotations

import itertools
import math
import sys

import numpy as np

from .._backend import ufunc_methods
from .._backend.xp import xp_for, xp_of
from .._grad_state import state as _grad_state
from ..dtypes import from_numpy_dtype
from ..tensor import Size, Tensor, _wrap, _wrap_node
from .node import (
    AccumulateGrad,
    GradientEdge,
    LinearAdjoint,
    NotDifferentiableTwice,
    Op,
    link_to_inputs,
    repack,
    unpack_saved,
)

# set by ember.profiler while a profile records (with _prof, its recorder): each node processed
# then becomes an "autograd::engine::evaluate_function: <node name>" event
_profiling = False
_prof = None

_FREED_MSG = (
    "Trying to backward through the graph a second time (or directly access saved tensors "
    "after they have already been freed). Saved intermediate values of the graph are freed when "
    "you call .backward() or autograd.grad(). Specify retain_graph=True if you need to backward "
    "through the graph a second time or if you need to access saved tensors after calling "
    "backward."
)


def _check_versions(node) -> None:
    chk = node.__dict__.get("_vchk")
    if chk:
        for vc, v, t, _ in chk:
            if vc[0] != v:
                _raise_modified(t, node, vc[0], v)
    oc = node.__dict__.get("_outchk")
    if oc is not None and oc[0] != 0:
        _raise_modified(None, node, oc[0], 0)


def _raise_modified(t, node, now, expected):
    desc = ""
    if t is not None:
        shape = ", ".join(str(s) for s in t._data.shape)
        desc = f"[{_legacy_type_name(t)} [{shape}]]"
        desc += f", which is output 0 of {t.grad_fn.name()}," if t.grad_fn is not None else ","
    raise RuntimeError(
        "one of the variables needed for gradient computation has been modified by an inplace "
        f"operation: {desc} is at version {now}; expected version {expected} instead. Hint: the "
        "backtrace further above can point you at the operation that failed to compute its "
        "gradient. The variable in question was changed in there or anywhere later. Good luck!"
    )


def _legacy_type_name(t) -> str:
    names = {
        "float32": "FloatTensor",
        "float64": "DoubleTensor",
        "float16": "HalfTensor",
        "int64": "LongTensor",
        "int32": "IntTensor",
        "bool": "BoolTensor",
    }
    return "torch." + names.get(t.dtype.name, t.dtype.name + "Tensor")


def _call_node(node, grads, create_graph: bool):
    """Run one node's backward on the gathered output gradients; return input gradients."""
    if isinstance(node, Op):
        if node._freed:
            raise RuntimeError(_FREED_MSG)
        _check_versions(node)
        if node._packed is not None:
            node.saved = _unpack(node, create_graph and node.higher_order)
        if not create_graph:
            res = node.backward(node, *grads)
        elif node.higher_order:
            res = _call_with_graph(node, grads)
            res = res if type(res) is tuple else (res,)
            return link_to_inputs(node, res) if node.grad_reads_input else res
        elif node.adjoint is not None and isinstance(grads[0], Tensor):
            i = node.adjoint
            r = [None] * len(node._needs)
            r[i] = LinearAdjoint.apply(grads[0], node, i)
            return link_to_inputs(node, tuple(r)) if node.grad_reads_input else tuple(r)
        else:
            arrs = [g._data if isinstance(g, Tensor) else g for g in grads]
            with _no_grad():
                out = node.backward(node, *arrs)
            out = out if type(out) is tuple else (out,)
            stub = NotDifferentiableTwice(node.name(), node._next)
            stub._nout = len(out)
            res = []
            for i, o in enumerate(out):
                if o is None or isinstance(o, Tensor):  # (a Tensor: a sparse gradient)
                    res.append(o)
                else:
                    t = _wrap(o)
                    t._rg = True
                    t.grad_fn = stub
                    if i:  # each gradient its own output of the stub (their shapes differ)
                        t._out_nr = i
                    res.append(t)
            return tuple(res)
        return res if type(res) is tuple else (res,)
    if isinstance(node, NotDifferentiableTwice):
        raise RuntimeError(
            f"ember cannot differentiate twice through {node.what}: its backward has no "
            "graph-building form yet (create_graph=True covers arithmetic, pow, exp, log, tanh, "
            "sigmoid, matmul, reductions and shape ops)"
        )
    # a user autograd.Function node, or anything else with a Tensor-level backward
    return node._run_backward(grads, create_graph)


def _unpack(node, graph: bool) -> tuple:
    """The node's saved values through its unpack hook, called as torch does: with grad mode on
    only for a create_graph backward."""
    prev = _grad_state.enabled
    _grad_state.enabled = graph
    try:
        return unpack_saved(node, graph)
    finally:
        _grad_state.enabled = prev


class _no_grad:
    def __enter__(self):
        self.prev = _grad_state.enabled
        _grad_state.enabled = False

    def __exit__(self, *exc):
        _grad_state.enabled = self.prev


def _call_with_graph(node, grads):
    """Call an op's duck-typed backward with Tensors so that the result carries a graph."""
    saved = node.saved
    if saved:
        inputs = node.__dict__.get("_inputs", ())
        outref = node.__dict__.get("_outref")
        outarr = node.__dict__.get("_outarr")
        if type(outref) is tuple:  # several outputs: each saved one maps to its own Tensor
            outs = [r() for r in outref]
            out = None
        else:
            out = outref() if outref is not None else None
        mapped = []
        for s in saved:
            if s is None or isinstance(s, Tensor):  # (None is no output array either)
                mapped.append(s)
                continue
            m = None
            for a in inputs:
                if isinstance(a, Tensor) and a._data is s:
                    m = a
                    break
            casts = node.__dict__.get("_cast_of")
            if m is None and casts is not None and id(s) in casts:
                src = inputs[casts[id(s)]]  # a copy of an input in another dtype: cast again
                if isinstance(src, Tensor):
                    m = src.to(from_numpy_dtype(s.dtype))
            if m is None and type(outarr) is tuple:
                for i, o in enumerate(outarr):
                    if s is o:
                        if outs[i] is None:  # gone: a stand-in, output i of the same node
                            outs[i] = _wrap_node(s, node, i)
                        m = outs[i]
                        break
            elif m is None and s is outarr:
                if out is None:  # the output tensor is gone: a stand-in with the same node
                    out = _wrap_node(s, node, 0)
                    out._vc = node._outchk
                m = out
            mapped.append(m if m is not None else (_wrap(s) if hasattr(s, "shape") else s))
        node.saved = tuple(mapped)
    try:
        with _enable_grad():
            res = node.backward(node, *grads)
    finally:
        node.saved = saved
    res = res if type(res) is tuple else (res,)
    return tuple(r if (r is None or isinstance(r, Tensor)) else _wrap(r) for r in res)


class _enable_grad:
    def __enter__(self):
        self.prev = _grad_state.enabled
        _grad_state.enabled = True

    def __exit__(self, *exc):
        _grad_state.enabled = self.prev


def _add(a, b):
    if a is None:
        return b
    if b is None:
        return a
    if isinstance(a, Tensor) or isinstance(b, Tensor):
        return _sum_leaf_grads(a, b)
    return a + b


# --- sparse gradients ------------------------------------------------------------------------
# A sparse COO gradient (ember.ops.sparse.SparseTensor, what Embedding(sparse=True) gives its
# weight) flows only into AccumulateGrad nodes: the ops that make one give it only there. The
# sparse module sits above the engine, so a sparse tensor is handled here through its own
# fields, as that module's docstring lays them out: ``_data`` (the values), ``_indices()``,
# ``_pat`` (indices, size, coalesced flag), whose type makes the pattern of a new one.


def _is_sparse(g) -> bool:
    return isinstance(g, Tensor) and g._sparse


def _set_entries(s, ind, vals, coalesced: bool) -> None:
    """Give the sparse tensor ``s`` the entries (``ind``, ``vals``), keeping its size."""
    pat = s._pat
    s.__dict__["_pat"] = type(pat)(ind, pat.size, coalesced)
    s._data = vals


def _sparse_add_(t, src, alpha=1) -> None:
    """``t += alpha * src`` for sparse ``t`` and ``src``, in place, as torch's CPU sparse add
    when it concatenates (and torch's CUDA one always): the entries of ``t`` then those of
    ``src``, uncoalesced, coalesced only once they outnumber the elements of the tensor.

    torch's CPU add instead merges the two entry lists when both value arrays are contiguous
    (as a sorted merge would, so equal heads meet in one entry): ember's arrays do not follow
    torch's memory layouts, so that choice cannot be made as torch's; the sum is the same.
    """
    if src._nnz() == 0:
        return
    vs = src._data * alpha if alpha != 1 else src._data
    if t._nnz() == 0:
        _set_entries(
            t, src._indices()._data, vs.copy() if vs is src._data else vs, src.is_coalesced()
        )
        return
    ti = t._indices()._data
    ind = xp_of(ti).concatenate([ti, src._indices()._data], axis=1)
    vals = xp_of(t._data).concatenate([t._data, vs.astype(t._data.dtype, copy=False)])
    if ind.shape[1] > math.prod(t.shape):
        ind, vals = _coalesced(ind, vals, tuple(t.shape))
    _set_entries(t, ind, vals, False)


def _coalesced(ind, vals, size: tuple) -> tuple:
    """Sparse entries with duplicate indices summed (in entry order) and the indices sorted, as
    ``coalesce()``; the values stay on their device, the indices on the host."""
    sd = ind.shape[0]
    lin = np.ravel_multi_index(tuple(ind), size[:sd])
    uniq, inv = np.unique(lin, return_inverse=True)
    xp = xp_of(vals)
    out = xp.zeros((len(uniq),) + vals.shape[1:], vals.dtype)
    ufunc_methods.at(xp.add, out, xp.asarray(inv.reshape(-1)), vals)
    return np.stack(np.unravel_index(uniq, size[:sd])).reshape(sd, -1).astype(np.int64), out


def _sparse_sum(a, b, alpha=1):
    """A new sparse tensor ``a + alpha * b`` (entries of ``a`` first), as torch's sparse add."""
    out = a.detach()
    _sparse_add_(out, b, alpha)
    return out


def _sparse_copy(s):
    """A new leaf sparse tensor with the entries of ``s``, its values copied."""
    out = s.detach()
    _set_entries(out, s._indices()._data, s._data.copy(), s.is_coalesced())
    return out


def _scatter_sparse(arr, s, alpha=1) -> None:
    """``arr += alpha * s`` in place for a dense array and a sparse tensor, entry by entry in
    order (torch's dense += sparse)."""
    xp = xp_of(arr)
    key = tuple(xp.asarray(k) for k in s._indices()._data)
    vals = s._data * alpha if alpha != 1 else s._data
    ufunc_methods.at(xp.add, arr, key, vals.astype(arr.dtype, copy=False))


def _dense_plus_sparse(d, s):
    """A new dense gradient ``d + s`` (``d``: an array, or a Tensor under create_graph)."""
    if isinstance(d, Tensor):
        return d + s
    out = d.copy()
    _scatter_sparse(out, s)
    return out


def _sum_leaf_grads(old, new):
    """Two gradients for one leaf summed as torch's input buffer does: sparse only when both
    are (the later one's entries first); a sparse one meeting a dense one gives a dense sum."""
    so, sn = _is_sparse(old), _is_sparse(new)
    if so and sn:
        return _sparse_sum(new, old)
    if so:
        return _dense_plus_sparse(new, old)
    if sn:
        return _dense_plus_sparse(old, new)
    return old + new


def _root_node(t):
    if type(t) is GradientEdge:
        return t.node
    n = t.grad_fn
    if n is None:
        if not t._rg:
            raise RuntimeError(
                "element 0 of tensors does not require grad and does not have a grad_fn"
            )
        n = t._accumulator()
    return n


def _count_deps(root_nodes) -> dict:
    """How many graph edges lead into each node reachable from the roots."""
    deps: dict = {}
    stack = list(root_nodes)
    while stack:
        for c in stack.pop()._next:
            if c is not None:
                d = deps.get(c)
                if d is None:
                    deps[c] = 1
                    stack.append(c)
                else:
                    deps[c] = d + 1
    return deps


class _Task:
    """One running backward (torch's graph task): which nodes it will execute."""

    __slots__ = ("id", "deps", "roots", "needed", "captured", "__weakref__")

    def __init__(self, deps, roots, needed, captured):
        self.id = next(_task_ids)
        self.deps = deps
        self.roots = roots
        self.needed = needed
        self.captured = captured

    def will_execute(self, node) -> bool:
        if self.needed is None:
            return node in self.deps or node in self.roots
        return node in self.needed or node in self.captured


_task_ids = itertools.count()
_tasks: list = []  # the running backward calls, the innermost (a backward inside a hook) last


def current_task() -> _Task | None:
    """The innermost running backward, None outside backward."""
    return _tasks[-1] if _tasks else None


def _edge_of_input(t):
    if type(t) is GradientEdge:
        return t.node, t.output_nr
    n = t.grad_fn if t.grad_fn is not None else (t._accumulator() if t._rg else None)
    if n is None:
        raise RuntimeError("One of the differentiated Tensors does not require grad")
    return n, t._out_nr


def run_backward(
    roots,
    root_grads,
    retain_graph: bool,
    create_graph: bool,
    inputs=None,
    accumulate: bool = True,
    allow_unused: bool = True,
):
    """Propagate ``root_grads`` from the ``roots`` tensors (or GradientEdges) through the graph.

    With ``accumulate`` the leaves' ``.grad`` receive the gradient (``backward``); without it the
    gradients for ``inputs`` are returned (``autograd.grad``). Gradients are arrays, or Tensors
    when ``create_graph``.
    """
    root_nodes = [_root_node(t) for t in roots]
    capture = needed = cap_nodes = None
    if inputs is None:
        deps = _count_deps(root_nodes)
    else:
        capture = {}  # (node, out_nr) -> index in inputs
        for i, t in enumerate(inputs):
            capture[_edge_of_input(t)] = i
        children: dict = {}
        stack = list(dict.fromkeys(root_nodes))
        while stack:
            n = stack.pop()
            nx = n._next
            children[n] = nx
            for c in nx:
                if c is not None and c not in children:
                    stack.append(c)
        cap_nodes = {n for n, _ in capture}
        needed = _ancestors(children, cap_nodes)
        deps = {}
        for n in needed:
            for c in children.get(n, ()):
                if c is not None:
                    deps[c] = deps.get(c, 0) + 1

    results = [None] * (len(inputs) if inputs is not None else 0)
    buffers: dict = {}
    for n, g, t in zip(root_nodes, root_grads, roots):
        if n._nout == 1:
            buffers[n] = _add(buffers.get(n), g)
        else:
            buf = buffers.get(n)
            if buf is None:
                buf = buffers[n] = [None] * n._nout
            k = t.output_nr if type(t) is GradientEdge else t._out_nr
            buf[k] = _add(buf[k], g)
    ready = [n for n in dict.fromkeys(root_nodes) if n not in deps]
    _tasks.append(_Task(deps, set(root_nodes), needed, cap_nodes))
    try:
        _walk(
            ready, buffers, deps, capture, needed, results, retain_graph, create_graph, accumulate
        )
    finally:
        _tasks.pop()

    if inputs is not None and not accumulate:
        for i, r in enumerate(results):
            if r is None and not allow_unused:
                raise RuntimeError(
                    f"The differentiated Tensor at index {i} appears to not have been used in "
                    "the graph. Set allow_unused=True if this is the desired behavior."
                )
        return [None if r is None else (r if isinstance(r, Tensor) else _wrap(r)) for r in results]
    if inputs is not None:
        for t, r in zip(inputs, results):
            if (
                r is not None
                and type(t) is not GradientEdge
                and t.grad_fn is not None
                and not t._retains_grad
            ):
                _store_grad(t, r, create_graph)
    return None


def _walk(ready, buffers, deps, capture, needed, results, retain_graph, create_graph, accumulate):
    """Run the nodes in dependency order from ``ready``, the nodes no other node feeds."""
    is_op = Op.__instancecheck__
    pev = None  # the profiler's open event for the node in progress

    while ready:
        node = ready.pop()
        if _profiling:
            pev = _prof.engine_node(pev, node)
        nout = node._nout
        if nout == 1:
            grads = [buffers.pop(node, None)]
        else:
            grads = buffers.pop(node, None) or [None] * nout

        if capture is not None and node not in needed:
            # a node reached only for its captured gradients does not run; the tensor hooks of
            # the captured tensors run before the capture, as torch's
            if any((node, k) in capture for k in range(nout)):
                grads = _tensor_hooks(node, grads, create_graph)
                for k, g in enumerate(grads):
                    i = capture.get((node, k))
                    if i is not None:
                        results[i] = _add(results[i], g)
                if accumulate and type(node) is AccumulateGrad and grads[0] is not None:
                    _store_leaf(node, grads[0], create_graph)
            continue
        if capture is not None:
            for k, g in enumerate(grads):
                i = capture.get((node, k))
                if i is not None:
                    results[i] = _add(results[i], g)

        if type(node) is AccumulateGrad:
            g = grads[0]
            if g is not None:
                grads = None  # drop the list's reference before counting the array's
                sole = (
                    type(g) is np.ndarray
                    and g.base is None
                    and sys.getrefcount(g) <= _SOLE_REFS
                    and not node.leaf_hooks
                )
                _accumulate_leaf(node, g, create_graph, sole)
            continue

        if node._pre_hooks:
            grads = _run_pre_hooks(node, grads)
        if node._retain:
            _retain_grads(node, grads)

        if not create_graph and is_op(node):
            if node._freed:
                raise RuntimeError(_FREED_MSG)
            if node._vchk is not None or node._outchk is not None:
                _check_versions(node)
            if node._packed is not None:
                node.saved = _unpack(node, False)
            if nout == 1:
                res = node.backward(node, grads[0])
            else:
                if any(g is None for g in grads):
                    grads = _fill_zeros(node, grads, False)
                res = node.backward(node, *grads)
            if type(res) is not tuple:
                res = (res,)
        else:
            if nout > 1 and any(g is None for g in grads):
                grads = _fill_zeros(node, grads, create_graph)
            res = _call_node(node, grads, create_graph)
        if node._hooks:
            n_in = node._n_inputs()
            for h in node._hooks:
                h(_as_tensors(res[:n_in]), _as_tensors(grads))
        if not retain_graph:
            d = node.__dict__
            if is_op(node):
                if node.saved:  # torch raises on a second backward only where it saved tensors
                    node._freed = True
                    node.saved = ()
                for k in ("_inputs", "_vchk", "_outarr", "_packed"):
                    if k in d:
                        del d[k]
            elif d.get("_saved"):
                node._freed = True
                d.pop("_packed", None)
        elif node._packed is not None and is_op(node):
            repack(node)
        nrs = node._next_nr
        j = 0
        for child in node._next:
            if child is not None:
                g = res[j]
                if g is not None:
                    if child._nout == 1:
                        old = buffers.get(child)
                        if old is None:
                            buffers[child] = g
                        elif type(child) is AccumulateGrad:  # where sparse gradients go
                            buffers[child] = _sum_leaf_grads(old, g)
                        else:
                            buffers[child] = old + g
                    else:
                        buf = buffers.get(child)
                        if buf is None:
                            buf = buffers[child] = [None] * child._nout
                        k = nrs[j] if nrs else 0
                        buf[k] = _add(buf[k], g)
                d = deps[child] - 1
                if d:
                    deps[child] = d
                else:
                    ready.append(child)
            j += 1
        res = g = None  # the buffers alone hold the gradients now (see _SOLE_REFS)
    if pev is not None:
        _prof.engine_node(pev, None)


def _ancestors(children: dict, targets: set) -> set:
    """Nodes with a path of at least one edge to a target (the ones backward must run)."""
    parents: dict = {}
    for n, nx in children.items():
        for c in nx:
            if c is not None:
                parents.setdefault(c, []).append(n)
    out = set()
    stack = list(targets)
    while stack:
        n = stack.pop()
        for p in parents.get(n, ()):
            if p not in out:
                out.add(p)
                stack.append(p)
    return out


def _as_tensors(seq):
    return tuple(None if g is None else (g if isinstance(g, Tensor) else _wrap(g)) for g in seq)


def _run_pre_hooks(node, grads, tensor_only: bool = False):
    grads = list(grads)
    for k, hooks in list(node._pre_hooks.items()):
        if k == "all":
            if tensor_only:
                continue
            for h in list(hooks):
                r = h(_as_tensors(grads))
                if r is not None:
                    grads = [
                        None
                        if g is None
                        else (g._data if isinstance(g, Tensor) and not _grad_state.enabled else g)
                        for g in r
                    ]
            continue
        if grads[k] is None:
            continue
        for h in list(hooks):
            g = grads[k]
            gt = g if isinstance(g, Tensor) else _wrap(g)
            r = h(gt)
            if r is not None:
                grads[k] = r if isinstance(g, Tensor) else r._data
    return grads


def _retain_grads(node, grads) -> None:
    for k, ref in list(node._retain.items()):
        t = ref()
        g = grads[k]
        if t is None or g is None:
            continue
        garr = g._data if isinstance(g, Tensor) else g
        if t.grad is None:
            t.grad = _wrap(garr.copy())
        else:
            t.grad = _wrap(t.grad._data + garr)


def _fill_zeros(node, grads, create_graph):
    metas = node.__dict__.get("_out_meta")
    out = list(grads)
    for k, g in enumerate(out):
        if g is None and metas is not None:
            xp, shape, dt = metas[k]
            z = xp.zeros(shape, dt)
            out[k] = _wrap(z) if create_graph else z
    return out


def _sole_reference_count() -> int:
    """What ``sys.getrefcount`` says of an array that one local variable alone holds (the
    interpreter's own count for that, rather than a number that its version could change)."""
    g = np.empty(0)
    return sys.getrefcount(g)


# A leaf's incoming gradient that nothing but the engine's local refers to (no other input's
# pending gradient, saved tensor, view, hook or the caller's gradient argument), and that owns
# its memory, becomes .grad without a copy, as torch's AccumulateGrad takes a gradient whose use
# count is 1. Copying cost the word-language-model LSTM 1.5 ms a step (its 2M-value embedding
# and decoder gradients).
_SOLE_REFS = _sole_reference_count()


def _accumulate_leaf(acc: AccumulateGrad, g, create_graph: bool, sole: bool = False) -> None:
    if acc._ref() is not None:
        _store_leaf(acc, _leaf_hooks(acc, g, create_graph), create_graph, sole)


def _leaf_hooks(acc: AccumulateGrad, g, create_graph: bool):
    """The leaf's tensor hooks run on its incoming gradient; returns the gradient they leave."""
    for h in acc.leaf_hooks:
        gt = g if isinstance(g, Tensor) else _wrap(g)
        r = h(gt)
        if r is not None:
            if r._sparse or gt._sparse:
                _check_hook_layout(h, gt, r)
                g = r
            else:
                g = r if create_graph else r._data
    return g


def _check_hook_layout(hook, g, r) -> None:
    """torch's error for a hook that turns a sparse gradient dense, or a dense one sparse."""
    if r._sparse != g._sparse or r.dtype != g.dtype:

        def name(t):
            n = _legacy_type_name(t)
            return n.replace("torch.", "torch.sparse.", 1) if t._sparse else n

        raise RuntimeError(
            f"hook '{getattr(hook, '__name__', type(hook).__name__)}' has changed the type of "
            f"value (was {name(g)} got {name(r)})"
        )


def _store_leaf(acc: AccumulateGrad, g, create_graph: bool, sole: bool = False) -> None:
    t = acc._ref()
    if t is None:
        return
    _store_grad(t, g, create_graph, sole)
    if acc.post_hooks:
        for h in list(acc.post_hooks):
            h(t)


def _tensor_hooks(node, grads, create_graph: bool):
    """The hooks registered on the tensors whose gradients arrive at ``node`` (tensor hooks and
    retain_grad, not the node's own pre-hooks), for a node that will not run."""
    if type(node) is AccumulateGrad:
        g = grads[0]
        if g is None or not node.leaf_hooks or node._ref() is None:
            return grads
        return [_leaf_hooks(node, g, create_graph)]
    if node._pre_hooks:
        grads = _run_pre_hooks(node, grads, tensor_only=True)
    if node._retain:
        _retain_grads(node, grads)
    return grads


def _store_grad(t, g, create_graph: bool, sole: bool = False) -> None:
    """Put gradient ``g`` into ``t.grad`` or add it there; ``sole``: nothing else refers to the
    array g, which may then become .grad as it is."""
    if isinstance(g, Tensor):
        if g._sparse:
            _store_sparse(t, g, create_graph)
            return
        garr = g._data
    else:
        garr = g
    if garr.dtype != t._data.dtype:
        garr = garr.astype(t._data.dtype)
        g = _wrap(garr) if isinstance(g, Tensor) else garr
    old = t.grad
    if old is None:
        if create_graph:
            t.grad = g if isinstance(g, Tensor) else _wrap(g)
        elif (
            sole
            and garr is g
            and garr.flags.c_contiguous
            and garr.flags.writeable
            and garr.shape == t._data.shape
        ):
            t.grad = _wrap(garr)
        else:
            # own the memory: backward may hand the same array to several inputs
            t.grad = _wrap(garr.copy())
    elif old._sparse and not t._sparse:
        # a dense leaf whose .grad is sparse (Embedding(sparse=True)) meets a dense gradient:
        # torch gives the sum as a new dense .grad. (A sparse leaf's gradient arrives as its
        # values and adds to its .grad's values below.)
        d = _dense_plus_sparse(g, old)
        t.grad = d if isinstance(d, Tensor) else _wrap(d)
    elif create_graph or old._rg:
        t.grad = old + (g if isinstance(g, Tensor) else _wrap(g))
    else:
        arr = old._data
        arr += garr
        if old._vc is not None:
            old._vc[0] += 1


def _store_sparse(t, g, create_graph: bool) -> None:
    """A sparse gradient into ``t.grad``, as torch's AccumulateGrad: kept sparse (its values
    copied) when there is none, its entries appended to a sparse one in place, added into a
    dense one in place."""
    old = t.grad
    if old is None:
        # own the values: backward may hand the same array to several inputs
        t.grad = _sparse_copy(g)
    elif old._sparse:
        _sparse_add_(old, g)
        if old._vc is not None:
            old._vc[0] += 1
    elif create_graph or old._rg:
        t.grad = old + g
    else:
        _scatter_sparse(old._data, g)
        if old._vc is not None:
            old._vc[0] += 1


# --- the entry points: ember.autograd.backward and ember.autograd.grad ----------------------
def _seq(x):
    if x is None:
        return None
    return [x] if isinstance(x, (Tensor, GradientEdge)) else list(x)


def _edge_meta(e: GradientEdge):
    """(array module, shape, dtype) of the output a GradientEdge names, where its node keeps it."""
    metas = e.node.__dict__.get("_out_meta")
    if metas is None and type(e.node) is AccumulateGrad and e.node._ref() is not None:
        d = e.node._ref()._data
        return xp_of(d), d.shape, d.dtype
    if metas is None or metas[e.output_nr] is None:
        raise RuntimeError(
            "ember needs grad_outputs for a GradientEdge output of this node: the node does not "
            "keep its output's shape"
        )
    return metas[e.output_nr]


def _root_grads(outputs, grad_outputs, create_graph):
    grads = []
    for i, o in enumerate(outputs):
        g = None if grad_outputs is None else grad_outputs[i]
        if type(o) is GradientEdge:
            if g is None:
                xp, shape, dt = _edge_meta(o)
                if math.prod(shape) != 1:
                    raise RuntimeError("grad can be implicitly created only for scalar outputs")
                g = _wrap(xp.ones(shape, dt))
            grads.append(g if create_graph else (g._data if isinstance(g, Tensor) else g))
            continue
        if g is None:
            if o._data.size != 1:
                raise RuntimeError("grad can be implicitly created only for scalar outputs")
            arr = xp_of(o._data).ones(o._data.shape, o._data.dtype)
            grads.append(_wrap(arr) if create_graph else arr)
        else:
            if tuple(g.shape) != tuple(o._data.shape):
                raise RuntimeError(
                    f"Mismatch in shape: grad_output[{i}] has a shape of {Size(g.shape)} and "
                    f"output[{i}] has a shape of {o.shape}."
                )
            grads.append(g if create_graph else (g._data if isinstance(g, Tensor) else g))
    return grads


def backward(
    tensors, grad_tensors=None, retain_graph=None, create_graph: bool = False, inputs=None
) -> None:
    """Accumulate gradients of ``tensors`` into the leaves (as ``torch.autograd.backward``)."""
    outs = _seq(tensors)
    gos = _seq(grad_tensors)
    if retain_graph is None:
        retain_graph = create_graph
    run_backward(
        outs,
        _root_grads(outs, gos, create_graph),
        retain_graph,
        create_graph,
        inputs=_seq(inputs),
        accumulate=True,
    )


def grad(
    outputs,
    inputs,
    grad_outputs=None,
    retain_graph=None,
    create_graph: bool = False,
    only_inputs: bool = True,
    allow_unused=None,
    is_grads_batched: bool = False,
    materialize_grads: bool = False,
):
    """Gradients of ``outputs`` w.r.t. ``inputs`` (a tuple), without touching ``.grad``."""
    outs = _seq(outputs)
    ins = _seq(inputs)
    gos = _seq(grad_outputs)
    if retain_graph is None:
        retain_graph = create_graph
    for t in outs:
        if type(t) is not GradientEdge and not t._rg:
            raise RuntimeError(
                "element 0 of tensors does not require grad and does not have a grad_fn"
            )
    res = run_backward(
        outs,
        _root_grads(outs, gos, create_graph),
        retain_graph,
        create_graph,
        inputs=ins,
        accumulate=False,
        allow_unused=bool(allow_unused or materialize_grads),
    )
    if materialize_grads:  # zeros as ops.creation.zeros_like makes them (ops sit above autograd)
        res = [
            _wrap(xp_for(i.device).zeros(i._data.shape, i._data.dtype)) if r is None else r
            for r, i in zip(res, ins)
        ]
    return tuple(res)
