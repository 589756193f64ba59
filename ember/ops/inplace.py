"""In-place operations and ``out=``: torch's rules on leaves, views (those of split, chunk and
unbind refuse changes autograd would record), dtypes and version counters."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .. import dtypes
from .. import tensor as _tensor_module
from .._backend.casting import cast
from .._backend.xp import CPU_ARRAY, host_scalar_to, xp_of
from .._grad_state import state as _gs
from .._tensor_errors import broadcast_error, device_error
from ..autograd.node import Op
from ..tensor import Tensor, _wrap
from ._blas_sum import HALF
from ._promotion import result_np_dtype

_LEAF_MSG = "a leaf Variable that requires grad is being used in an in-place operation."
_LEAF_VIEW_MSG = (
    "a view of a leaf Variable that requires grad is being used in an in-place operation."
)


def _cat(npd) -> int:
    k = npd.kind
    return 0 if k == "b" else 1 if k in "iu" else 2 if k == "f" or npd == dtypes.bfloat16._np else 3


def check_cast(result_np, out_np) -> None:
    """torch refuses in-place results of a higher category than the destination."""
    if result_np != out_np and _cat(result_np) > _cat(out_np):
        rn = dtypes.scalar_type_name(dtypes.from_numpy_dtype(result_np).name)
        on = dtypes.scalar_type_name(dtypes.from_numpy_dtype(out_np).name)
        raise RuntimeError(f"result type {rn} can't be cast to the desired output type {on}")


_MULTI_VIEW_MSG = (
    " This view is the output of a function that returns multiple views. Such functions do not "
    "allow the output views to be modified inplace. You should replace the inplace operation by "
    "an out-of-place one."
)
_NO_GRAD_VIEW_MSG = (
    " Given that this use case is ambiguous and error-prone, it is forbidden. You can clarify "
    "your code by moving both the view and the inplace either both inside the no_grad block (if "
    "you don't want the inplace to be tracked) or both outside (if you want the inplace to be "
    "tracked)."
)


def check_leaf(t: Tensor, others: tuple = ()) -> None:
    """torch's refusals of an in-place change of ``t`` (``others``: its tensor operands) that
    autograd could not record: on a leaf that requires grad or a view of one, and on a marked
    view (see ``check_marked_view``). Every in-place op calls it, through ``inplace`` or itself,
    before writing; on a tensor that is none of these it costs an attribute read or two."""
    if _gs.enabled:
        if t._mv is not None:
            check_marked_view(t, others)
        if t._rg:
            if t.grad_fn is None:
                raise RuntimeError(_LEAF_MSG)
            b = t._base
            if b is not None and b._rg and b.grad_fn is None:
                raise RuntimeError(_LEAF_VIEW_MSG)


def check_marked_view(
    t: Tensor, others: tuple = (), view_name: Callable[[], str | None] | None = None
) -> None:
    """torch's error for an in-place change, with grad mode on, of an output of split, chunk,
    unbind or split_with_sizes (or of a view of one) that autograd would record: the view, as
    torch counts it, or an operand requires grad. One node makes all those outputs, so torch
    cannot rewrite the history of one alone (a CopySlices) and refuses instead; tensor_split
    and the unsafe_ forms make theirs otherwise and are not marked. Outputs made in no_grad
    mode get torch's error for views made there.

    The mark (``Tensor._mv``, set by ``mark_multi_views`` and passed on to views by
    ``inherit_view_mark``) is ``(multi, rg, has_fn, name, nr)``: made with grad mode on; torch's
    view requires grad; torch's view has a grad_fn, named ``name`` with output number ``nr``
    (None: ember's own grad_fn names it). ``view_name``: setitem's function that names the
    view op it applies before writing, or None where it writes ``t`` itself (torch names that
    view, e.g. Select for ``p[0][1] = 5``); called only when raising."""
    multi, rg, has_fn, name, nr = t._mv
    if not (rg or t._rg or any(isinstance(o, Tensor) and o._rg for o in others)):
        return
    vname = view_name() if view_name is not None else None
    if vname is not None:  # setitem's view of t is made with grad mode on
        has_fn, name, nr = rg or t._rg, vname, 0
    elif has_fn and name is None:
        fn = t.grad_fn
        if fn is None:  # a view ember made without a node: no op to name
            has_fn = False
        else:
            name, nr = _op_name(fn), t._out_nr
    if not has_fn:
        head = (
            "A view was created in no_grad mode and is being modified inplace with grad mode "
            "enabled."
        )
    elif multi:
        head = f"Output {nr} of {name} is a view and is being modified inplace."
    else:
        head = (
            f"Output {nr} of {name} is a view of a view which was created in no_grad mode and "
            "is being modified inplace with grad mode enabled."
        )
    raise RuntimeError(head + (_MULTI_VIEW_MSG if multi else _NO_GRAD_VIEW_MSG))


def _op_name(node) -> str:
    """torch's short name of a node in these messages: SliceBackward0 -> Slice."""
    name = node.name()
    k = name.rfind("Backward")
    return name[:k] if k > 0 else name


def mark_multi_views(views: tuple, name: str, base: Tensor) -> tuple:
    """Mark ``views``, the outputs of split/chunk/unbind of ``base`` (``name``: torch's node
    name less "Backward0"), for ``check_marked_view``; returns them."""
    m, root = base._mv, base._base
    # torch's views require grad where their input does, and its views made in no_grad mode
    # where their input's root does (ember's do not)
    rg = base._rg or (m is not None and m[1]) or (root is not None and root._rg)
    multi = _gs.enabled
    if multi and rg:
        for i, v in enumerate(views):
            v._mv = (True, True, True, name, i)
    else:  # torch's outputs have no grad_fn, so nothing to name: one mark for all
        mark = (multi, rg, False, None, 0)
        for v in views:
            v._mv = mark
    return views


def inplace(t: Tensor, compute, *others) -> Tensor:
    """Make ``t`` hold ``compute(t)``: written into its memory (views see it), version bumped;
    when a graph is recorded, ``t`` takes the new node as its grad_fn (and when ``t`` is a view,
    its base's history is rewritten too, as torch's CopySlices)."""
    check_leaf(t, others)
    recording = _gs.enabled and (t._rg or any(isinstance(o, Tensor) and o._rg for o in others))
    if not recording:
        r = compute(t)
        _write(t, r._data)
        return t
    base = t._base
    if base is not None:
        if base._rg and base.grad_fn is None:  # t does not require grad, an operand does
            raise RuntimeError(_LEAF_VIEW_MSG)
        geom = _view_geometry(t, base)
        if geom is not None:
            return _inplace_on_view(t, base, geom, compute)
    alias = _wrap(t._data.copy())
    alias._rg = t._rg
    alias.grad_fn = t.grad_fn
    if t._out_nr:
        alias._out_nr = t._out_nr
    r = compute(alias)
    _write(t, r._data)
    t.grad_fn = r.grad_fn
    t._rg = r._rg
    t.__dict__.pop("_out_nr", None)
    if r._out_nr:
        t._out_nr = r._out_nr
    if base is None:
        refresh_views(t)
    return t


def refresh_views(root: Tensor, skip: Tensor | None = None) -> None:
    """Give each live view of ``root`` recorded in the graph (``tensor.note_view``), ``skip``
    aside, a view of ``root``'s new history, after an in-place change rewrote it: torch
    regenerates a view's grad_fn once its base's version has moved. Before, a view kept the
    history it was made with: ``v = a[0:2]; a.mul_(2); v.sum().backward()`` gave a gradient of
    1 where torch's is 2. A view whose place in ``root`` has no (offset, strides) form (another
    dtype, a non-contiguous root) keeps its history."""
    views = root.__dict__.get("_views")
    if not views:
        return
    for ref in views:
        v = ref()
        if v is None or v is skip:
            continue
        m = v._mv
        if m is not None and m[0]:  # an output of split/chunk/unbind (or a view of one)
            if type(v.grad_fn) is _StaleView:  # refused already, under its own name
                continue
            name, nr = m[3], m[4]
            if name is None:
                name, nr = _op_name(v.grad_fn), v._out_nr
            v.grad_fn = _StaleView.apply(v, f"Output {nr} of {name}").grad_fn
            v.__dict__.pop("_out_nr", None)
            continue
        geom = _view_geometry(v, root)
        if geom is None:
            continue
        retained = v._retains_grad
        if retained:  # retain_grad moves to the new history, as torch moves its hook
            old = v.grad_fn.__dict__.get("_retain")
            if old is not None:
                old.pop(v._out_nr, None)
            v._retains_grad = False
        v.grad_fn = _ViewOf.apply(root, geom, True).grad_fn
        v._rg = True
        v.__dict__.pop("_out_nr", None)
        if retained:
            v.retain_grad()


_tensor_module.refresh_views_of = refresh_views


class _StaleView(Op):
    """The history of an output of split/chunk/unbind (or a view of one) whose base changed in
    place: torch refuses to use it, as no view function can rebuild it from the base's new
    history. ember refuses when a gradient reaches it, with torch's message."""

    @staticmethod
    def forward(ctx, a, which):
        ctx.which = which
        return a

    @staticmethod
    def backward(ctx, g):
        raise RuntimeError(
            f"{ctx.which} is a view and its base or another view of its base has been modified "
            "inplace." + _MULTI_VIEW_MSG
        )


def _view_geometry(t: Tensor, base: Tensor):
    """(element offset, shape, element strides) of view ``t`` inside a C-contiguous ``base``;
    None where that cannot describe it."""
    b, v = base._data, t._data
    if type(b) is not CPU_ARRAY or b.dtype != v.dtype or not b.flags.c_contiguous:
        return None
    isz = b.itemsize
    off = v.__array_interface__["data"][0] - b.__array_interface__["data"][0]
    if off % isz or any(st % isz for st in v.strides) or off < 0:
        return None
    return off // isz, v.shape, tuple(st // isz for st in v.strides)


def _strided(arr, geom):
    off, shape, strides = geom
    isz = arr.itemsize
    return np.lib.stride_tricks.as_strided(
        arr.reshape(-1)[off:], shape, tuple(s * isz for s in strides)
    )


class _ViewOf(Op):
    """A copy of the region ``geom`` of a base; backward scatters into zeros. With
    ``only_node``, the output is a read-only stand-in of the right shape and dtype: the caller
    keeps only the node (``refresh_views``: the view's values are already in place)."""

    _bname = "AsStridedBackward0"

    @staticmethod
    def forward(ctx, b, geom, only_node=False):
        ctx.shape = b.shape
        ctx.geom = geom
        if only_node:
            return np.broadcast_to(np.zeros((), b.dtype), geom[1])
        return _strided(np.ascontiguousarray(b), geom).copy()

    @staticmethod
    def backward(ctx, g):
        z = np.zeros(ctx.shape, g.dtype)
        _strided(z, ctx.geom)[...] = g
        return z, None, None


class _WriteView(Op):
    """The base with region ``geom`` replaced by ``v``."""

    _bname = "torch::autograd::CopySlices"

    @staticmethod
    def forward(ctx, b, v, geom):
        ctx.geom = geom
        out = np.array(b, order="C", copy=True)
        _strided(out, geom)[...] = v
        return out

    @staticmethod
    def backward(ctx, g):
        gb = np.array(g, order="C", copy=True)
        gv = _strided(gb, ctx.geom).copy()
        _strided(gb, ctx.geom)[...] = 0
        return gb, gv, None


def _inplace_on_view(t: Tensor, base: Tensor, geom, compute) -> Tensor:
    old = _ViewOf.apply(base, geom) if base._rg else _wrap(t._data.copy())
    r = compute(old)
    if r._data.dtype != t._data.dtype:
        r = r.to(t.dtype)
    new_base = _WriteView.apply(base, r, geom)
    _write(t, r._data)
    base.grad_fn = new_base.grad_fn
    base._rg = True
    base.__dict__.pop("_out_nr", None)
    hist = _ViewOf.apply(base, geom, True)
    t.grad_fn = hist.grad_fn
    t._rg = True
    t.__dict__.pop("_out_nr", None)
    refresh_views(base, t)
    return t


def _write(t: Tensor, arr) -> None:
    dst = t._data
    check_cast(arr.dtype, dst.dtype)
    if arr.shape != dst.shape:
        try:
            arr = np.broadcast_to(arr, dst.shape)
        except ValueError:
            raise RuntimeError(
                f"output with shape {list(dst.shape)} doesn't match the broadcast shape "
                f"{list(arr.shape)}"
            ) from None
    if dst.ndim == 0:
        dst[...] = arr
    else:
        dst[...] = arr
    t._bump()


_OPMATH_UFUNCS = (np.multiply, np.true_divide)


def ufunc_inplace(t: Tensor, ufunc, other, op_fn) -> Tensor:
    """Fast path of add_/mul_/...: one ufunc with out= when no graph is recorded."""
    if _gs.enabled:
        if t._rg or (isinstance(other, Tensor) and other._rg):
            return inplace(t, lambda s: op_fn(s, other), other)
        if t._mv is not None:  # an output of split made in no_grad mode (torch: requires grad)
            check_marked_view(t)
    dst = t._data
    o = other._data if isinstance(other, Tensor) else other
    if isinstance(o, np.generic):
        o = o.item()
    if hasattr(o, "dtype"):
        if o.dtype != dst.dtype:
            check_cast(result_np_dtype(t, other), dst.dtype)
    elif isinstance(o, float) and dst.dtype.kind in "biu":
        check_cast(dtypes._default.np, dst.dtype)
    elif type(o) is int and dst.dtype.kind == "b":
        check_cast(np.dtype(np.int64), dst.dtype)
    elif isinstance(o, (list, tuple)):
        o = np.asarray(o)
    elif type(o) in (float, int) and ufunc in _OPMATH_UFUNCS and dst.dtype in HALF:
        # as arith's products and quotients: the number unrounded, the result rounded once
        with np.errstate(over="ignore"):
            o = np.float32(o)
    try:
        ufunc(dst, o, out=dst, casting="unsafe")
    except ValueError:
        raise broadcast_error(dst.shape, getattr(o, "shape", ())) from None
    except TypeError:  # a CPU 0-d operand on a CUDA tensor joins it (as torch); else devices
        o2 = host_scalar_to(xp_of(dst), o) if type(dst) is not CPU_ARRAY else o
        if o2 is o:
            raise device_error(dst, o) from None
        ufunc(dst, o2, out=dst, casting="unsafe")
    t._bump()
    return t


def copy_into_out(out: Tensor, r: Tensor) -> Tensor:
    """Write a result into an ``out=`` tensor (resized when its shape differs, as torch)."""
    if not isinstance(out, Tensor):
        raise TypeError(f"out must be a Tensor, not {type(out).__name__}")
    if _gs.enabled and (r._rg or out._rg):
        raise RuntimeError(
            "functions with out=... arguments don't support automatic differentiation, but one "
            "of the arguments requires grad."
        )
    arr = r._data
    if out._data.shape != arr.shape:
        out._data = cast(arr, out._data.dtype)
    else:
        check_cast(arr.dtype, out._data.dtype)
        out._data[...] = arr
    out._bump()
    return out
