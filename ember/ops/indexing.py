"""Indexing: ``t[idx]`` and ``t[idx] = v`` (ints, slices, ..., None, integer and boolean
tensors, combinations), both differentiable; nonzero and argwhere."""

from __future__ import annotations

import numpy as np

from .._backend.casting import cast, needs_cast
from .._backend.xp import CPU_ARRAY, move_like, xp_of
from .._grad_state import state
from .._grad_state import state as _gs
from ..autograd.node import Op
from ..dtypes import scalar_type_name
from ..tensor import Tensor, _wrap, as_view, view_of
from . import _bw
from .creation import zeros_like
from .inplace import check_leaf, check_marked_view, inplace

__all__ = ["nonzero", "nonzero_static", "argwhere", "index_put", "unravel_index"]


def _is_basic(key) -> bool:
    return all(
        k is None
        or k is Ellipsis
        or isinstance(k, (int, slice, np.integer))
        and not isinstance(k, bool)
        for k in key
    )


def convert_key(key, t: Tensor):
    """Turn an index into one NumPy understands; tensors become arrays, torch's errors kept."""
    if not isinstance(key, tuple):
        key = (key,)
    out = []
    for k in key:
        if isinstance(k, Tensor):
            a = k._data
            if a.dtype.kind == "f" or a.dtype.kind == "c":
                raise IndexError("tensors used as indices must be long, int, byte or bool tensors")
            if a.dtype == np.uint8:
                a = a.astype(bool)
            if a.ndim == 0 and a.dtype.kind in "iu":
                out.append(int(a))  # a 0-d integer tensor indexes like an int, as torch
                continue
            out.append(a)
        elif isinstance(k, list):
            a = (
                np.asarray([x.item() if isinstance(x, Tensor) else x for x in k])
                if any(isinstance(x, Tensor) for x in k)
                else np.asarray(k)
            )
            if a.dtype.kind == "f":
                raise IndexError("tensors used as indices must be long, int, byte or bool tensors")
            out.append(a)
        elif isinstance(k, float):
            raise IndexError(
                "only integers, slices (`:`), ellipsis (`...`), None and long or byte Variables "
                "are valid indices (got float)"
            )
        elif isinstance(k, slice) and any(isinstance(x, Tensor) for x in (k.start, k.stop, k.step)):
            out.append(
                slice(*(int(x) if isinstance(x, Tensor) else x for x in (k.start, k.stop, k.step)))
            )
        elif isinstance(k, slice) and k.step is not None and k.step <= 0:
            raise ValueError("step must be greater than zero")
        else:
            out.append(k)
    _check_bounds(out, t._data.shape)
    if type(t._data) is not CPU_ARRAY:  # CUDA tensor: CPU index arrays follow it (as torch)
        out = [move_like(k, t._data) if type(k) is CPU_ARRAY else k for k in out]
    if _needs_two_steps(out):
        return _two_steps(out, t._data.ndim)
    return tuple(out)


class _Two:
    """An index NumPy would read differently from torch (ints, None or ... mixed with arrays):
    torch applies the basic part first, then the arrays to what is left."""

    __slots__ = ("first", "second")

    def __init__(self, first: tuple, second: tuple):
        self.first = first
        self.second = second


def _needs_two_steps(key) -> bool:
    arrays = plain = False
    for k in key:
        if hasattr(k, "dtype"):
            arrays = True
        elif (
            k is None
            or k is Ellipsis
            or (isinstance(k, (int, np.integer)) and not isinstance(k, bool))
        ):
            plain = True
    return arrays and plain


def _two_steps(key, ndim: int) -> _Two:
    consumed = sum(
        k.ndim if (hasattr(k, "dtype") and k.dtype == np.bool_) else 1
        for k in key
        if k is not None and k is not Ellipsis
    )
    first, second = [], []
    for k in key:
        if k is Ellipsis:
            first.extend([slice(None)] * (ndim - consumed))
            second.extend([slice(None)] * (ndim - consumed))
        elif k is None:
            first.append(None)
            second.append(slice(None))
        elif isinstance(k, slice) or (isinstance(k, (int, np.integer)) and not isinstance(k, bool)):
            first.append(k)
            if isinstance(k, slice):
                second.append(slice(None))
        else:
            first.extend([slice(None)] * (k.ndim if k.dtype == bool else 1))
            second.append(k)
    return _Two(tuple(first), tuple(second))


def take(a, key):
    """a[key] for arrays, with torch's reading of composite keys."""
    if type(key) is _Two:
        return a[key.first][key.second]
    return a[key]


def assign(a, key, v) -> None:
    """a[key] = v for arrays (composite keys write through the basic view)."""
    if type(key) is _Two:
        a[key.first][key.second] = v
    else:
        a[key] = v


def add_at(z, key, g) -> None:
    if type(key) is _Two:
        xp_of(z).add.at(z[key.first], key.second, g)
    else:
        xp_of(z).add.at(z, key, g)


def _check_bounds(key, shape) -> None:
    dim = 0
    n_ell = 0
    for k in key:
        if k is Ellipsis:
            n_ell += 1
            consumed = sum(
                x.ndim if (hasattr(x, "dtype") and x.dtype == bool) else 1
                for x in key
                if x is not None and x is not Ellipsis
            )
            dim += len(shape) - consumed
            continue
        if k is None:
            continue
        if isinstance(k, (int, np.integer)) and not isinstance(k, bool):
            if dim >= len(shape):
                raise IndexError(f"too many indices for tensor of dimension {len(shape)}")
            if not -shape[dim] <= k < shape[dim]:
                raise IndexError(
                    f"index {k} is out of bounds for dimension {dim} with size {shape[dim]}"
                )
        if hasattr(k, "dtype") and k.dtype == bool:
            dim += k.ndim
        else:
            dim += 1
    if dim > len(shape) and n_ell == 0:
        raise IndexError(f"too many indices for tensor of dimension {len(shape)}")


class GetItem(Op):
    higher_order = True

    def name(self) -> str:
        """torch names this node after the last indexing step: Select, Slice or Index."""
        if not self.basic:
            return "IndexBackward0"
        for k in reversed(self.key):
            if k is None or k is Ellipsis:
                continue
            return "SliceBackward0" if isinstance(k, slice) else "SelectBackward0"
        return "UnsqueezeBackward0" if any(k is None for k in self.key) else "AliasBackward0"

    @staticmethod
    def forward(ctx, a, key, basic):
        ctx.shape = a.shape
        ctx.key = key
        ctx.basic = basic
        r = take(a, key)
        if basic and (not hasattr(r, "shape") or isinstance(r, np.generic)):
            r = a[key + (Ellipsis,)]  # a 0-d view, not a copy
        return r

    @staticmethod
    def backward(ctx, g):
        if isinstance(g, Tensor):
            return index_put_zeros(g, ctx.shape, ctx.key, accumulate=not ctx.basic), None, None
        z = xp_of(g).zeros(ctx.shape, g.dtype)
        if ctx.basic:
            z[ctx.key] = g
        else:
            add_at(z, ctx.key, g)
        return z, None, None


class _IndexPutZeros(Op):
    """zeros(shape) with g put (or accumulated) at key: GetItem's backward, differentiable."""

    higher_order = True

    @staticmethod
    def forward(ctx, g, shape, key, accumulate):
        ctx.key = key
        z = xp_of(g).zeros(shape, g.dtype)
        if accumulate:
            add_at(z, key, g)
        else:
            assign(z, key, g)
        return z

    @staticmethod
    def backward(ctx, gg):
        return _take_any(gg, ctx.key), None, None, None


def _take_any(x, key):
    """x[key] for an array or a Tensor (a Tensor keeps its graph)."""
    if type(key) is _Two:
        return x[key.first][key.second]
    return x[key]


def index_put_zeros(g, shape, key, accumulate: bool = False):
    return _IndexPutZeros.apply(g, tuple(shape), key, accumulate)


def _fast_basic(key) -> bool:
    """A key made only of ints, positive-step slices, None and ... (NumPy indexes it as is)."""
    t = type(key)
    if t is int:
        return True
    if t is slice:
        return key.step is None or (type(key.step) is int and key.step > 0)
    if t is tuple:
        for k in key:
            tk = type(k)
            if tk is int or k is None or k is Ellipsis:
                continue
            if tk is slice and (k.step is None or (type(k.step) is int and k.step > 0)):
                continue
            return False
        return True
    return False


def _bound(t: Tensor) -> int:
    """A 0-d tensor slice bound as an int (its array's int: no Tensor.item round trip)."""
    a = t._data
    return int(a) if a.ndim == 0 and type(a) is CPU_ARRAY else int(t)


def getitem(self: Tensor, key) -> Tensor:
    """``t[key]``: basic indexing gives a view; advanced indexing a copy, as torch."""
    a = self._data
    if type(key) is Tensor and key._data.ndim == 0 and key._data.dtype.kind == "i":
        key = int(key._data)  # a 0-d integer tensor indexes as an int (as convert_key does)
    elif type(key) is slice and (type(key.start) is Tensor or type(key.stop) is Tensor):
        # t[i : i + n] with 0-d tensor bounds (a batch built in Python): plain ints, so the
        # fast path below takes it
        start, stop = key.start, key.stop
        key = slice(
            _bound(start) if type(start) is Tensor else start,
            _bound(stop) if type(stop) is Tensor else stop,
            key.step,
        )
    if a.ndim and _fast_basic(key):
        if _gs.enabled and self._rg:
            try:
                r = GetItem.apply(self, key if type(key) is tuple else (key,), True)
            except IndexError:
                pass  # torch's message comes from the slow path
            else:
                return as_view(r, self)
        else:
            try:
                r = a[key]
                if type(r) is not CPU_ARRAY:  # an element: take it as a 0-d view instead
                    r = a[(key if type(key) is tuple else (key,)) + (Ellipsis,)]
            except IndexError:
                pass  # torch's message comes from the slow path
            else:
                return view_of(r, self)
    if type(key) is int and a.ndim:
        n = a.shape[0]
        if not -n <= key < n:
            raise IndexError(f"index {key} is out of bounds for dimension 0 with size {n}")
        k = (key,)
        basic = True
    else:
        if (
            a.ndim == 0
            and not isinstance(key, (tuple, type(None), type(Ellipsis)))
            and not (isinstance(key, Tensor) and key._data.dtype == bool)
        ):
            raise IndexError(
                "invalid index of a 0-dim tensor. Use `tensor.item()` in Python "
                "or `tensor.item<T>()` in C++ to convert a 0-dim tensor to a number"
            )
        k = convert_key(key, self)
        basic = type(k) is not _Two and _is_basic(k)
    r = GetItem.apply(self, k, basic)
    if basic:
        as_view(r, self)
    return r


class SetItem(Op):
    higher_order = True
    _bname = "torch::autograd::CopySlices"

    @staticmethod
    def forward(ctx, a, v, key):
        ctx.key = key
        ctx.vshape = getattr(v, "shape", ())
        ctx.vdt = getattr(v, "dtype", None)
        out = a.copy()
        assign(out, key, v)
        return out

    @staticmethod
    def backward(ctx, g):
        n = ctx._needs
        ga = gv = None
        if n[0]:
            if isinstance(g, Tensor):
                mask = zeros_like(g)
                assign(mask._data, ctx.key, 1)
                ga = g * (1 - mask)
            else:
                ga = g.copy()
                assign(ga, ctx.key, 0)
        if n[1]:
            gv = _bw.grad_for(_take_any(g, ctx.key), ctx.vshape, ctx.vdt)
        return ga, gv, None


def _advanced_parts(key) -> list:
    """The parts of an index that make it advanced (integer or boolean arrays, lists, tensors
    other than 0-d integer ones, which index as integers)."""
    parts = key if isinstance(key, tuple) else (key,)
    out = []
    for p in parts:
        if isinstance(p, Tensor):
            if p.ndim or p._data.dtype == np.bool_:
                out.append(p)
        elif isinstance(p, (list, np.ndarray)):
            out.append(p)
    return out


def _put_dtype_error(dst: Tensor, src: Tensor) -> RuntimeError:
    return RuntimeError(
        f"Index put requires the source and destination dtypes match, got "
        f"{scalar_type_name(dst.dtype.name)} for the destination and "
        f"{scalar_type_name(src.dtype.name)} for the source."
    )


def _check_put_dtype(self: Tensor, key, value: Tensor) -> None:
    """torch's index_put_ takes a value of another dtype only as a masked fill (one boolean
    mask of at least one dim, one value): other advanced assignments raise its error."""
    adv = _advanced_parts(key)
    if not adv:
        return
    if (
        len(adv) == 1
        and isinstance(adv[0], Tensor)
        and adv[0]._data.dtype == np.bool_
        and adv[0].ndim
        and value.numel() == 1
    ):
        return
    raise _put_dtype_error(self, value)


def setitem(self: Tensor, key, value) -> None:
    """``t[key] = value`` with broadcasting; recorded in the graph when grads flow."""
    k = convert_key(key, self)
    if self._mv is not None and state.enabled:
        check_marked_view(self, (value,), lambda: _setitem_view_name(key, self._data.shape))
    check_leaf(self)
    vt = isinstance(value, Tensor)
    if vt and value._data.dtype != self._data.dtype:
        _check_put_dtype(self, key, value)
    if state.enabled and (self._rg or (vt and value._rg)):
        if vt and value._data.dtype != self._data.dtype:
            value = value.to(self.dtype)
        inplace(self, lambda s: SetItem.apply(s, value, k), value)
        return
    v = value._data if vt else value
    if vt and type(v) is not type(self._data):
        v = v.get() if hasattr(v, "get") else xp_of(self._data).asarray(v)
    if vt and needs_cast(v.dtype, self._data.dtype):
        v = cast(v, self._data.dtype)
    try:
        assign(self._data, k, v)
    except ValueError as e:
        raise RuntimeError(
            f"shape mismatch: value tensor of shape "
            f"{list(getattr(v, 'shape', ()))} cannot be broadcast to indexing "
            f"result ({e})"
        ) from None
    self._bump()


def _setitem_view_name(key, shape) -> str | None:
    """The view op whose output torch's ``t[key] = value`` writes into, as its errors name it:
    the last of the basic indexing steps it applies first (Select for an int, Slice for a slice
    that is not the whole dim, Unsqueeze for None or a bool); None where it writes ``t``."""
    ks = key if type(key) is tuple else (key,)

    def dims(k) -> int:
        if k is None or k is Ellipsis or isinstance(k, bool):
            return 0
        if isinstance(k, Tensor) and k._data.dtype == np.bool_:
            return k._data.ndim
        return 1

    rest = len(shape) - sum(dims(k) for k in ks)
    name, d = None, 0
    for k in ks:
        if k is Ellipsis:
            d += max(rest, 0)
            rest = 0
        elif k is None or isinstance(k, bool):
            name = "Unsqueeze"
        elif isinstance(k, (int, np.integer)) or (
            isinstance(k, Tensor) and k._data.ndim == 0 and k._data.dtype.kind in "iu"
        ):
            name = "Select"
            d += 1
        elif isinstance(k, slice):
            n = shape[d] if d < len(shape) else 0
            start = 0 if k.start is None else int(k.start)
            step = 1 if k.step is None else int(k.step)
            if not (start == 0 and step == 1 and (k.stop is None or int(k.stop) >= n)):
                name = "Slice"
            d += 1
        else:
            d += dims(k)
    return name


def index_put_(
    input: Tensor, indices, values: Tensor, accumulate: bool = False, _arg: int = 0
) -> Tensor:
    """``input[indices] = values`` in place, as ``torch.Tensor.index_put_``; with ``accumulate``,
    ``+=`` where repeated indices add up. ``indices`` is a tuple (or list) of index tensors (long
    or bool), one per leading dim; ``values`` broadcasts and has input's dtype.
    """
    if not isinstance(indices, (tuple, list)):
        raise TypeError(
            f"index_put_(): argument 'indices' (position 1) must be tuple of Tensors, not "
            f"{type(indices).__name__}"
        )
    if not isinstance(values, Tensor):
        raise TypeError(
            f"index_put_(): argument 'values' (position 2) must be Tensor, not "
            f"{type(values).__name__}"
        )
    if values._data.dtype != input._data.dtype:
        raise _put_dtype_error(input, values)
    for n, i in enumerate(indices):
        if not isinstance(i, Tensor):
            raise TypeError(
                f"expected Tensor as element {n} in argument {_arg}, but got {type(i).__name__}"
            )
    key = tuple(indices)
    if not accumulate:
        setitem(input, key, values)
        return input
    k = convert_key(key, input)
    check_leaf(input, (values,))
    shape = _take_any(input._data, k).shape
    if state.enabled and (input._rg or values._rg):
        vals = values.expand(shape)
        return inplace(input, lambda s: s + index_put_zeros(vals, s._data.shape, k, True), values)
    v = values._data
    if type(v) is not type(input._data):
        v = v.get() if hasattr(v, "get") else xp_of(input._data).asarray(v)
    try:
        add_at(input._data, k, xp_of(v).broadcast_to(v, shape))
    except ValueError as e:
        raise RuntimeError(
            f"shape mismatch: value tensor of shape {list(v.shape)} cannot be broadcast to "
            f"indexing result of shape {list(shape)} ({e})"
        ) from None
    input._bump()
    return input


def index_put(input: Tensor, indices, values: Tensor, accumulate: bool = False) -> Tensor:
    """A copy of ``input`` with ``index_put_`` applied, as ``torch.index_put``."""
    if not isinstance(indices, (tuple, list)):
        raise TypeError(
            f"index_put(): argument 'indices' (position 2) must be tuple of Tensors, not "
            f"{type(indices).__name__}"
        )
    return index_put_(input.clone(), indices, values, accumulate, _arg=1)


def nonzero(input: Tensor, *, as_tuple: bool = False, out=None):
    """Indices of nonzero elements: an (n, ndim) int64 tensor, or a tuple of 1-d tensors."""
    a = input._data
    if as_tuple:
        if a.ndim == 0:
            return (_wrap(xp_of(a).nonzero(a.reshape(1))[0].astype(np.int64)),)
        return tuple(_wrap(i.astype(np.int64)) for i in xp_of(a).nonzero(a))
    return _wrap(xp_of(a).argwhere(a).astype(np.int64))


argwhere = nonzero


def unravel_index(indices: Tensor, shape) -> tuple:
    """The coordinates in ``shape`` of flat indices, one int64 tensor per dim. As torch's, the
    indices are not bounds-checked: they are taken modulo the number of elements."""
    if not isinstance(indices, Tensor):
        raise TypeError(f"expected 'indices' to be a tensor, but got {type(indices)}")
    a = indices._data
    if a.dtype.kind not in "iu":
        got = scalar_type_name(indices.dtype.name)
        raise TypeError(f"expected 'indices' to be integer dtype, but got {got}")
    shape = (int(shape),) if isinstance(shape, (int, np.integer)) else tuple(int(s) for s in shape)
    if any(s < 0 for s in shape):
        raise ValueError(f"'shape' cannot have negative values, but got {shape}")
    xp = xp_of(a)
    rem = a.astype(np.int64)
    n = int(np.prod(shape, dtype=np.int64)) if shape else 1
    if n:
        rem = rem % n
    out = []
    for s in reversed(shape):
        out.append(rem % s if s else xp.zeros_like(rem))
        rem = rem // s if s else rem
    return tuple(_wrap(c) for c in reversed(out))


def nonzero_static(input: Tensor, *, size: int, fill_value: int = -1) -> Tensor:
    """nonzero's (n, ndim) indices cut or padded with ``fill_value`` to exactly ``size`` rows."""
    if size < 0:
        raise RuntimeError(f"nonzero_static: 'size' must be an non-negative integer, got {size}")
    idx = nonzero(input)._data
    xp = xp_of(idx)
    nd = max(input._data.ndim, 1) if input._data.ndim else 0
    out = xp.full((size, idx.shape[1] if idx.ndim == 2 else nd), fill_value, np.int64)
    k = min(size, idx.shape[0])
    out[:k] = idx[:k]
    return _wrap(out)
