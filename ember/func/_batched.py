"""vmap's fast path: a batched array that ember's ops compute on as if it were one sample.

A ``BatchedArray`` holds a physical array whose leading dimension is the vmap batch and shows
ember the logical, per-sample array: its ``shape``, ``ndim``, methods, operators, ufuncs
(``__array_ufunc__``) and the NumPy functions ember's ops call (``__array_function__``) each map
the per-sample operation to one operation on the whole batch. ember's ops and their backward
passes are written against the array API, so a Tensor whose array is batched runs forward and
backward once for the whole batch, with ember's own op code: grad inside vmap gives per-sample
gradients, and nested vmap nests batched arrays (an outer level's array is the inner one's
physical array).

Anything it cannot map exactly (a NumPy function or attribute it does not know, converting to a
plain array, data-dependent control flow whose outcome differs between samples, writing a
batched value into a plain array) raises ``Unbatchable``; vmap then reruns the function one
sample at a time. ``Unbatchable`` derives from BaseException so that no ``except Exception`` in
op code can mistake it for an ordinary failure and take another path.
"""

from __future__ import annotations

import numpy as np

from .._backend.cpu import blas
from .._backend.cpu import threads as _threads


class Unbatchable(BaseException):
    """The batched path cannot run this exactly; vmap falls back to one sample at a time."""


# the innermost batched vmap level now running (0: none); vmap sets it
ACTIVE = [0]


def _check_live(a: BatchedArray) -> None:
    """A batched array used after its vmap ended (kept by a side effect, such as .grad from a
    .backward() inside vmap, which torch does not support either) must not compute."""
    if a.level > ACTIVE[0]:
        raise RuntimeError(
            "a value batched by vmap was used after its vmap ended (a side effect inside the "
            "vmapped function kept it, for example .backward() inside vmap, which torch does "
            "not support)"
        )


def _level(x) -> int:
    return x.level if type(x) is BatchedArray else 0


def _max_level(items) -> int:
    m = 0
    for x in items:
        if type(x) is BatchedArray and x.level > m:
            m = x.level
    return m


def _logical_ndim(x) -> int:
    return np.ndim(x) if not isinstance(x, (int, float, complex, bool)) else 0


def _ax(axis: int, nd: int) -> int:
    if not -nd <= axis < max(nd, 1):
        raise np.exceptions.AxisError(axis, nd)
    return axis % nd + 1 if nd else 1


def _axes(axis, nd: int):
    if axis is None:
        return tuple(range(1, nd + 1))
    if isinstance(axis, tuple):
        return tuple(_ax(a, nd) for a in axis)
    return _ax(int(axis), nd)


def _all_same(p) -> bool:
    flat = np.asarray(p).reshape(p.shape[0], -1)
    return bool((flat == flat[:1]).all())


class BatchedArray(np.lib.mixins.NDArrayOperatorsMixin):
    """The per-sample view of a physical array whose dim 0 is the batch of vmap ``level``."""

    __slots__ = ("p", "level")

    def __init__(self, p, level: int):
        self.p = p
        self.level = level

    # --- what ember reads -------------------------------------------------------------------
    @property
    def shape(self) -> tuple:
        return self.p.shape[1:]

    @property
    def ndim(self) -> int:
        return self.p.ndim - 1

    @property
    def dtype(self):
        return self.p.dtype

    @property
    def size(self) -> int:
        n = 1
        for s in self.p.shape[1:]:
            n *= s
        return n

    @property
    def itemsize(self) -> int:
        return self.p.itemsize

    @property
    def nbytes(self) -> int:
        return self.size * self.p.itemsize

    @property
    def T(self):  # noqa: N802
        return self.transpose()

    def view(self, dtype=None, type=None):  # noqa: A002
        if type is not None or (dtype is not None and np.dtype(dtype).itemsize != self.itemsize):
            raise Unbatchable("view changing the item size")
        return self._wrap(self.p.view() if dtype is None else self.p.view(dtype))

    @property
    def real(self):
        return BatchedArray(self.p.real, self.level)

    @property
    def imag(self):
        return BatchedArray(self.p.imag, self.level)

    def __getattr__(self, name: str):
        if name.startswith("__"):
            raise AttributeError(name)
        raise Unbatchable(f"array attribute {name}")

    def __repr__(self) -> str:
        return f"BatchedArray(level={self.level}, shape={self.shape}, p={self.p!r})"

    def __len__(self) -> int:
        if self.p.ndim < 2:
            raise TypeError("len() of unsized object")
        return self.p.shape[1]

    def __iter__(self):
        raise Unbatchable("iteration")

    def __array__(self, dtype=None, copy=None):
        _check_live(self)
        raise Unbatchable("conversion to a plain array")

    # a value every sample agrees on is the per-sample value: control flow stays exact
    def _common(self):
        _check_live(self)
        if not _all_same(self.p):
            raise Unbatchable("data-dependent value that differs between samples")
        return np.asarray(self.p)[0]

    def __bool__(self) -> bool:
        return bool(self._common())

    def __float__(self) -> float:
        return float(self._common())

    def __int__(self) -> int:
        return int(self._common())

    def __index__(self) -> int:
        return int(self._common())

    def __complex__(self) -> complex:
        return complex(self._common())

    def item(self, *args):
        return self._common().item(*args)

    def tolist(self):
        raise Unbatchable("tolist")

    # --- methods ----------------------------------------------------------------------------
    def _wrap(self, p):
        _check_live(self)
        return BatchedArray(p, self.level)

    def reshape(self, *shape, order: str = "C"):
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = tuple(shape[0])
        if order != "C":
            raise Unbatchable("reshape order")
        return self._wrap(self.p.reshape((self.p.shape[0],) + tuple(shape)))

    def ravel(self, order: str = "C"):
        return self.reshape(-1, order=order)

    flatten = ravel

    def transpose(self, *axes):
        nd = self.ndim
        if len(axes) == 1 and isinstance(axes[0], (tuple, list)):
            axes = tuple(axes[0])
        if not axes or axes == (None,):
            axes = tuple(range(nd - 1, -1, -1))
        return self._wrap(self.p.transpose((0,) + tuple(_ax(a, nd) for a in axes)))

    def swapaxes(self, a1: int, a2: int):
        nd = self.ndim
        return self._wrap(self.p.swapaxes(_ax(a1, nd), _ax(a2, nd)))

    def squeeze(self, axis=None):
        nd = self.ndim
        if axis is None:
            axis = tuple(i for i, s in enumerate(self.shape) if s == 1)
        return self._wrap(self.p.squeeze(_axes(axis, nd)))

    def astype(self, dtype, order="K", casting="unsafe", subok=True, copy=True):
        return self._wrap(self.p.astype(dtype, casting=casting, copy=copy))

    def copy(self, order="C"):
        return self._wrap(self.p.copy())

    def conj(self):
        return self._wrap(self.p.conj())

    conjugate = conj

    def fill(self, value) -> None:
        if type(value) is BatchedArray:
            raise Unbatchable("fill with a batched value")
        self.p.fill(value)

    def _reduce(self, name, axis=None, dtype=None, out=None, keepdims=False, **kw):
        if out is not None:
            raise Unbatchable("reduction with out=")
        args = {"axis": _axes(axis, self.ndim), "keepdims": keepdims, **kw}
        if dtype is not None:
            args["dtype"] = dtype
        return self._wrap(getattr(self.p, name)(**args))

    def sum(self, axis=None, dtype=None, out=None, keepdims=False, **kw):
        return self._reduce("sum", axis, dtype, out, keepdims, **kw)

    def prod(self, axis=None, dtype=None, out=None, keepdims=False, **kw):
        return self._reduce("prod", axis, dtype, out, keepdims, **kw)

    def mean(self, axis=None, dtype=None, out=None, keepdims=False, **kw):
        return self._reduce("mean", axis, dtype, out, keepdims, **kw)

    def max(self, axis=None, out=None, keepdims=False, **kw):
        return self._reduce("max", axis, None, out, keepdims, **kw)

    def min(self, axis=None, out=None, keepdims=False, **kw):
        return self._reduce("min", axis, None, out, keepdims, **kw)

    def all(self, axis=None, out=None, keepdims=False, **kw):
        return self._reduce("all", axis, None, out, keepdims, **kw)

    def any(self, axis=None, out=None, keepdims=False, **kw):
        return self._reduce("any", axis, None, out, keepdims, **kw)

    def std(self, axis=None, dtype=None, out=None, ddof=0, keepdims=False):
        return self._reduce("std", axis, dtype, out, keepdims, ddof=ddof)

    def var(self, axis=None, dtype=None, out=None, ddof=0, keepdims=False):
        return self._reduce("var", axis, dtype, out, keepdims, ddof=ddof)

    def _arg(self, name, axis=None, out=None, keepdims=False):
        if out is not None:
            raise Unbatchable("arg reduction with out=")
        if axis is None:
            r = getattr(self.p.reshape(self.p.shape[0], -1), name)(axis=1)
            if keepdims:
                r = r.reshape((r.shape[0],) + (1,) * self.ndim)
            return self._wrap(r)
        return self._wrap(getattr(self.p, name)(axis=_ax(axis, self.ndim), keepdims=keepdims))

    def argmax(self, axis=None, out=None, keepdims=False):
        return self._arg("argmax", axis, out, keepdims)

    def argmin(self, axis=None, out=None, keepdims=False):
        return self._arg("argmin", axis, out, keepdims)

    def cumsum(self, axis=None, dtype=None, out=None):
        if axis is None:
            return self.ravel().cumsum(0, dtype, out)
        if out is not None:
            raise Unbatchable("cumsum with out=")
        return self._wrap(self.p.cumsum(_ax(axis, self.ndim), dtype))

    def clip(self, min=None, max=None, **kw):  # noqa: A002
        return np.clip(self, min, max, **kw)

    def dot(self, b):
        return np.dot(self, b)

    # --- indexing ---------------------------------------------------------------------------
    def __getitem__(self, idx):
        _check_live(self)
        phys, fix = _index(self, idx)
        r = self.p[phys]
        return self._wrap(np.moveaxis(r, *fix) if fix else r)

    def __setitem__(self, idx, value) -> None:
        _check_live(self)
        if _max_level([value]) > self.level:
            raise Unbatchable("writing a more batched value")
        phys, fix = _index(self, idx)
        if fix is None and not any(isinstance(i, np.ndarray) for i in phys):
            if type(value) is BatchedArray and value.level == self.level:
                value = _phys(value, self.level, self.p[phys].ndim - 1)
            self.p[phys] = value
            return
        # advanced indices: the value laid out as the physical selection is
        sel = self.p[phys]
        shape = np.moveaxis(sel, *fix).shape if fix else sel.shape
        v = _phys(value, self.level, len(shape) - 1) if type(value) is BatchedArray else value
        v = np.broadcast_to(v, shape)
        self.p[phys] = np.moveaxis(v, fix[1], fix[0]) if fix else v

    # --- NumPy's protocols --------------------------------------------------------------------
    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        out = kwargs.pop("out", None)
        if _max_level(inputs + (out or ())) > ACTIVE[0]:
            _check_live(next(x for x in inputs + (out or ()) if _level(x) > ACTIVE[0]))
        if kwargs.get("where", True) is not True:
            raise Unbatchable("ufunc with where=")
        lv = _max_level(inputs + (out or ()))
        if method == "__call__":
            if ufunc is np.matmul:
                r = _matmul(inputs[0], inputs[1], lv, kwargs)
            else:
                r = ufunc(*_align(inputs, lv), **kwargs)
            return _store(r, out, lv)
        if method in ("reduce", "accumulate") and len(inputs) == 1 and _level(inputs[0]) == lv:
            a = inputs[0]
            axis = kwargs.pop("axis", 0)
            if method == "reduce":
                kwargs["axis"] = _axes(axis, a.ndim)
            elif axis is None:
                raise Unbatchable("accumulate over all axes")
            else:
                kwargs["axis"] = _ax(axis, a.ndim)
            if kwargs.get("initial", None) is not None and type(kwargs["initial"]) is BatchedArray:
                raise Unbatchable("batched initial")
            r = getattr(ufunc, method)(a.p, **kwargs)
            return _store(BatchedArray(r, lv), out, lv)
        raise Unbatchable(f"ufunc method {ufunc.__name__}.{method}")

    def __array_function__(self, func, types, args, kwargs):
        _check_live(self)
        rule = _FUNCS.get(func)
        if rule is None:
            raise Unbatchable(f"numpy.{func.__name__}")
        return rule(*args, **kwargs)


# --- helpers for the rules ---------------------------------------------------------------------
def _phys(x, lv: int, nd: int | None = None):
    """``x``'s physical array at level ``lv`` with its logical dims padded on the left to
    ``nd``; an unbatched ``x`` is returned as it is (it broadcasts from the right)."""
    if type(x) is not BatchedArray or x.level != lv:
        return x
    p = x.p
    if nd is None or nd == p.ndim - 1:
        return p
    return p.reshape((p.shape[0],) + (1,) * (nd - (p.ndim - 1)) + p.shape[1:])


def _align(items, lv: int) -> list:
    nd = max((_logical_ndim(x) for x in items if x is not None), default=0)
    return [_phys(x, lv, nd) for x in items]


def _store(r, out, lv: int):
    """Wrap a physical result; honour ``out=`` when it is batched at this level."""
    if isinstance(r, tuple):
        return tuple(_store(x, None, lv) for x in r)
    if type(r) is not BatchedArray or r.level != lv:
        r = BatchedArray(r, lv) if lv else r
    if out is None:
        return r
    (o,) = out
    if type(o) is not BatchedArray or o.level != lv:
        raise Unbatchable("a batched result into a plain out=")
    nd = o.ndim
    o.p[...] = _phys(r, lv, nd)
    return o


def _matmul(a, b, lv: int, kwargs):
    if kwargs:
        raise Unbatchable("matmul keywords")
    ba = _level(a) == lv
    bb = _level(b) == lv
    ra, rb = np.ndim(a), np.ndim(b)
    squeeze = []
    pa, pb = _phys(a, lv), _phys(b, lv)
    if ba and ra == 1:
        pa = pa[:, None, :]
        squeeze.append(-2)
        ra = 2
    if bb and rb == 1:
        pb = pb[..., None]
        squeeze.append(-1)
        rb = 2
    nd = max(ra, rb)
    if ba:
        pa = pa.reshape((pa.shape[0],) + (1,) * (nd - ra) + pa.shape[1:])
    if bb:
        pb = pb.reshape((pb.shape[0],) + (1,) * (nd - rb) + pb.shape[1:])
    r = _bmm(pa, pb, ba, bb)
    if len(squeeze) == 2:
        return r[..., 0, 0]
    if squeeze == [-2]:  # a was a promoted vector: its row dim sits before b's columns
        return r[..., 0] if np.ndim(b) == 1 else r[..., 0, :]
    if squeeze == [-1]:
        return r[..., 0]
    return r


def _bmm(pa, pb, ba: bool, bb: bool):
    """np.matmul of the physical operands, in the shape BLAS runs fastest."""
    plain = type(pa) is np.ndarray and type(pb) is np.ndarray
    if plain and ba and not bb and pb.ndim == 2:
        # an unbatched matrix on the right: the batch joins the rows of one product
        with blas.single_threaded():
            r = pa.reshape(-1, pa.shape[-1]) @ pb
        return r.reshape(pa.shape[:-1] + (pb.shape[-1],))
    if plain and ba and bb and pa.shape[-1] == 1 and pb.shape[-2] == 1:
        # outer products (per-sample weight gradients): no BLAS call per sample, and the big
        # write split over ember's threads by sample (a single-threaded multiply measured
        # 0.61x torch.func on 2 cores)
        out = np.empty(np.broadcast_shapes(pa.shape, pb.shape), np.result_type(pa, pb))

        def run(lo, hi):
            np.multiply(pa[lo:hi], pb[lo:hi], out=out[lo:hi])

        _threads.prange(out.shape[0], run, out.nbytes)
        return out
    with blas.single_threaded():
        return np.matmul(pa, pb)


def _index(a: BatchedArray, idx):
    """(physical index, None or (source, destination) axes that np.moveaxis takes the
    physical selection to the batched logical one) for ``a[idx]``."""
    if not isinstance(idx, tuple):
        idx = (idx,)
    items = []
    for i in idx:
        if isinstance(i, list):
            i = np.asarray(i)
        if type(i) is BatchedArray and i.level > a.level:
            raise Unbatchable("indexing with a more batched index")
        if type(i) is BatchedArray and i.level < a.level:
            raise Unbatchable("indexing with an outer level's index")
        if (
            isinstance(i, np.ndarray)
            and i.dtype == bool
            or (type(i) is BatchedArray and i.dtype == bool)
        ):
            raise Unbatchable("boolean mask indexing")
        items.append(i)
    # expand the Ellipsis so that positions are explicit
    used = sum(0 if (i is None or i is Ellipsis) else 1 for i in items)
    if any(i is Ellipsis for i in items):
        k = next(j for j, i in enumerate(items) if i is Ellipsis)
        items[k : k + 1] = [slice(None)] * (a.ndim - used)
    adv = [
        j
        for j, i in enumerate(items)
        if isinstance(i, (np.ndarray, BatchedArray)) or (isinstance(i, (int, np.integer)))
    ]
    arrays = [j for j in adv if isinstance(items[j], (np.ndarray, BatchedArray))]
    if not arrays:
        return (slice(None),) + tuple(items), None
    adjacent = adv == list(range(adv[0], adv[-1] + 1))
    batched_idx = any(type(items[j]) is BatchedArray for j in arrays)
    if not batched_idx:
        phys = (slice(None),) + tuple(items)
        if adjacent:
            return phys, None
        adv_nd = max(np.ndim(items[j]) for j in arrays)
        return phys, (adv_nd, 0)
    adv_nd = max(np.ndim(items[j]) for j in arrays)
    n = a.p.shape[0]
    phys_items = [_phys(i, a.level, adv_nd) if type(i) is BatchedArray else i for i in items]
    bidx = np.arange(n).reshape((n,) + (1,) * adv_nd)
    phys = (bidx,) + tuple(phys_items)
    # numpy: the batch index is advanced, so all advanced dims come first, then the rest
    if adjacent and adv[0] != 0:
        # logically the advanced dims sit where the group was: after the dims before it
        before = sum(1 for i in items[: adv[0]] if i is None or isinstance(i, slice))
        src = list(range(1, 1 + adv_nd))
        dst = list(range(1 + before, 1 + before + adv_nd))
        return phys, (src, dst)
    return phys, None


def _unary_axis(name):
    def rule(a, axis=None, *args, **kw):
        if type(a) is not BatchedArray:
            raise Unbatchable(f"numpy.{name} on a nested level")
        return getattr(a, name)(axis, *args, **kw)

    return rule


def _to_batched(x, lv: int, n: int):
    """``x`` as a physical array of level ``lv`` (an unbatched ``x`` broadcast over ``n``)."""
    if type(x) is BatchedArray and x.level == lv:
        return x.p
    x = np.asarray(x) if not hasattr(x, "shape") else x
    return np.broadcast_to(x, (n,) + tuple(x.shape))


def _join(func):
    def rule(arrays, axis=0, out=None, **kw):
        if out is not None:
            raise Unbatchable(f"{func.__name__} with out=")
        arrays = list(arrays)
        lv = _max_level(arrays)
        first = next(x for x in arrays if _level(x) == lv)
        n = first.p.shape[0]
        nd = first.ndim + (1 if func is np.stack else 0)
        ps = [_to_batched(x, lv, n) for x in arrays]
        return BatchedArray(func(ps, axis=_ax(axis, nd), **kw), lv)

    return rule


def _elementwise(func, nargs: int):
    def rule(*args, **kw):
        if len(args) < nargs:  # np.where(cond) alone: indices, whose count depends on the data
            raise Unbatchable(f"numpy.{func.__name__} with {len(args)} arguments")
        lv = _max_level(args[:nargs])
        out = kw.pop("out", None)
        ps = _align(list(args[:nargs]), lv)
        r = func(*ps, *args[nargs:], **kw)
        return _store(r, (out,) if out is not None else None, lv)

    return rule


def _like(func):
    def rule(a, *args, shape=None, **kw):
        if shape is not None:
            return func(np.empty(shape, a.dtype), *args, **kw)  # a plain, unbatched result
        return BatchedArray(func(a.p, *args, **kw), a.level)

    return rule


def _reshape(a, shape, order="C", **kw):
    return a.reshape(shape, order=order)


def _moveaxis(a, source, destination):
    nd = a.ndim
    src = _axes(tuple(source) if isinstance(source, (list, tuple)) else source, nd)
    dst = _axes(tuple(destination) if isinstance(destination, (list, tuple)) else destination, nd)
    return BatchedArray(np.moveaxis(a.p, src, dst), a.level)


def _expand_dims(a, axis):
    nd = a.ndim + (len(axis) if isinstance(axis, tuple) else 1)
    return BatchedArray(np.expand_dims(a.p, _axes(axis, nd)), a.level)


def _broadcast_to(a, shape, subok=False):
    if type(a) is not BatchedArray:
        raise Unbatchable("broadcast_to on a nested level")
    shape = tuple(shape)
    p = _phys(a, a.level, len(shape))
    return BatchedArray(np.broadcast_to(p, (p.shape[0],) + shape), a.level)


def _take_along_axis(arr, indices, axis):
    lv = _max_level((arr, indices))
    n = (arr if _level(arr) == lv else indices).p.shape[0]
    nd = np.ndim(arr)
    pa = _to_batched(arr, lv, n)
    pi = _to_batched(indices, lv, n)
    return BatchedArray(np.take_along_axis(pa, pi, axis=_ax(axis, nd)), lv)


def _result_type(*args):
    return np.result_type(*[x.dtype if type(x) is BatchedArray else x for x in args])


def _shape(a):
    return a.shape


def _ndim(a):
    return a.ndim


def _size(a, axis=None):
    return a.size if axis is None else a.shape[axis]


def _transpose(a, axes=None):
    return a.transpose() if axes is None else a.transpose(axes)


def _swapaxes(a, a1, a2):
    return a.swapaxes(a1, a2)


def _squeeze(a, axis=None):
    return a.squeeze(axis)


def _copy(a, order="K", subok=False):
    return a.copy()


def _ascontiguous(a, dtype=None, **kw):
    p = np.ascontiguousarray(a.p, dtype=dtype)
    return BatchedArray(p, a.level)


def _dot(a, b, out=None):
    if out is not None or np.ndim(a) > 2 or np.ndim(b) > 2:
        raise Unbatchable("dot beyond matrices")
    if np.ndim(a) == 0 or np.ndim(b) == 0:
        return np.multiply(a, b)
    return np.matmul(a, b)


def _vdot(a, b):
    a = np.reshape(a, -1)
    b = np.reshape(b, -1)
    if np.result_type(a, b).kind == "c":
        a = np.conjugate(a)
    return np.sum(np.multiply(a, b))


def _flip(a, axis=None):
    return BatchedArray(np.flip(a.p, _axes(axis, a.ndim)), a.level)


def _tri(func):
    def rule(m, k=0):
        if np.ndim(m) < 2:
            raise Unbatchable(f"{func.__name__} of a vector")
        return BatchedArray(func(m.p, k), m.level)

    return rule


def _raw(x):
    while type(x) is BatchedArray:
        x = x.p
    return x


def _shares(a, b, max_work=None):
    return np.shares_memory(_raw(a), _raw(b))


def _may_share(a, b, max_work=None):
    return np.may_share_memory(_raw(a), _raw(b))


_FUNCS = {
    np.shares_memory: _shares,
    np.may_share_memory: _may_share,
    np.sum: _unary_axis("sum"),
    np.mean: _unary_axis("mean"),
    np.prod: _unary_axis("prod"),
    np.max: _unary_axis("max"),
    np.amax: _unary_axis("max"),
    np.min: _unary_axis("min"),
    np.amin: _unary_axis("min"),
    np.any: _unary_axis("any"),
    np.all: _unary_axis("all"),
    np.std: _unary_axis("std"),
    np.var: _unary_axis("var"),
    np.argmax: _unary_axis("argmax"),
    np.argmin: _unary_axis("argmin"),
    np.cumsum: _unary_axis("cumsum"),
    np.reshape: _reshape,
    np.ravel: lambda a, order="C": a.ravel(order),
    np.transpose: _transpose,
    np.swapaxes: _swapaxes,
    np.moveaxis: _moveaxis,
    np.expand_dims: _expand_dims,
    np.squeeze: _squeeze,
    np.broadcast_to: _broadcast_to,
    np.copy: _copy,
    np.ascontiguousarray: _ascontiguous,
    np.concatenate: _join(np.concatenate),
    np.stack: _join(np.stack),
    np.where: _elementwise(np.where, 3),
    np.clip: _elementwise(np.clip, 3),
    np.zeros_like: _like(np.zeros_like),
    np.ones_like: _like(np.ones_like),
    np.empty_like: _like(np.empty_like),
    np.full_like: _like(np.full_like),
    np.take_along_axis: _take_along_axis,
    np.result_type: _result_type,
    np.shape: _shape,
    np.ndim: _ndim,
    np.size: _size,
    np.dot: _dot,
    np.vdot: _vdot,
    np.flip: _flip,
    np.tril: _tri(np.tril),
    np.triu: _tri(np.triu),
}


def batch(p, level: int) -> BatchedArray:
    """The per-sample view of physical array ``p`` (batch at dim 0) at vmap ``level``."""
    return BatchedArray(p, level)
