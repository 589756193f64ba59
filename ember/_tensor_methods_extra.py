"""Tensor methods for the ops in reduction.py, gather.py, linalg.py and shape.py beyond the core
table in _tensor_methods.py (kept apart so both tables can grow independently)."""

from __future__ import annotations

from ._tensor_methods import attach
from .ops import cumulative, join, rearrange, view
from .ops import gather as G
from .ops import inplace as P
from .ops import linalg as L
from .ops import reduction as Rd
from .ops import sorting as So
from .tensor import Tensor


def _inplace_of(fn):
    def method(self, *args, **kwargs):
        others = [a for a in list(args) + list(kwargs.values()) if isinstance(a, Tensor)]
        return P.inplace(self, lambda s: fn(s, *args, **kwargs), *others)

    method.__name__ = fn.__name__ + "_"
    return method


def _meta_inplace(fn):
    """squeeze_/unsqueeze_/t_/transpose_: this tensor takes the new shape (and grad_fn)."""

    def method(self, *args, **kwargs):
        P.check_leaf(self)
        r = fn(self, *args, **kwargs)
        self._data = r._data
        if r.grad_fn is not None:
            self.grad_fn = r.grad_fn
            self._rg = True
        self._bump()
        return self

    method.__name__ = fn.__name__ + "_"
    return method


def _repeat(self, *sizes, **kw):
    return rearrange.repeat(self, *(sizes or (kw["repeats"],)))


def _seq_arg(args: tuple, kw: dict, name: str):
    """``f(1, 2)``, ``f((1, 2))`` and ``f(name=(1, 2))`` all mean (1, 2)."""
    if name in kw:
        return kw[name]
    if len(args) == 1 and not isinstance(args[0], int):
        return args[0]
    return args


def _tile(self, *dims, **kw):
    return rearrange.tile(self, _seq_arg(dims, kw, "dims"))


def _flip(self, *dims, **kw):
    return rearrange.flip(self, _seq_arg(dims, kw, "dims"))


def _broadcast_to(self, *size, **kw):
    return view.broadcast_to(self, _seq_arg(size, kw, "size"))


def _norm(self, p="fro", dim=None, keepdim=False, dtype=None):
    return Rd.norm(self, p, dim, keepdim, dtype=dtype)


def _unique(self, sorted=True, return_inverse=False, return_counts=False, dim=None):  # noqa: A002
    return So.unique(self, sorted, return_inverse, return_counts, dim)


_EXTRA: dict = {
    # reductions
    "prod": Rd.prod,
    "max": Rd.max,
    "min": Rd.min,
    "amax": Rd.amax,
    "amin": Rd.amin,
    "argmax": Rd.argmax,
    "argmin": Rd.argmin,
    "aminmax": Rd.aminmax,
    "var": Rd.var,
    "std": Rd.std,
    "norm": _norm,
    "logsumexp": Rd.logsumexp,
    "any": Rd.any,
    "all": Rd.all,
    "count_nonzero": Rd.count_nonzero,
    "median": Rd.median,
    "cumsum": cumulative.cumsum,
    "cumprod": cumulative.cumprod,
    "cummax": cumulative.cummax,
    "cummin": cumulative.cummin,
    "logcumsumexp": cumulative.logcumsumexp,
    "nanmedian": Rd.nanmedian,
    "cumsum_": _inplace_of(cumulative.cumsum),
    "cumprod_": _inplace_of(cumulative.cumprod),
    # sorting
    "sort": So.sort,
    "argsort": So.argsort,
    "msort": So.msort,
    "topk": So.topk,
    "kthvalue": So.kthvalue,
    "mode": So.mode,
    "unique": _unique,
    "unique_consecutive": So.unique_consecutive,
    # gather / scatter
    "gather": G.gather,
    "scatter": G.scatter,
    "scatter_add": G.scatter_add,
    "scatter_reduce": G.scatter_reduce,
    "index_select": G.index_select,
    "masked_select": G.masked_select,
    "take": G.take,
    "take_along_dim": G.take_along_dim,
    "index_add": G.index_add,
    "index_copy": G.index_copy,
    "index_fill": G.index_fill,
    "masked_scatter": G.masked_scatter,
    "scatter_": G.scatter_,
    "scatter_add_": G.scatter_add_,
    "scatter_reduce_": G.scatter_reduce_,
    "index_add_": G.index_add_,
    "index_copy_": G.index_copy_,
    "index_fill_": G.index_fill_,
    "masked_scatter_": G.masked_scatter_,
    "put": G.put,
    "put_": G.put_,
    # shape
    "flip": _flip,
    "fliplr": rearrange.fliplr,
    "flipud": rearrange.flipud,
    "roll": rearrange.roll,
    "rot90": rearrange.rot90,
    "repeat": _repeat,
    "tile": _tile,
    "repeat_interleave": rearrange.repeat_interleave,
    "tril": rearrange.tril,
    "triu": rearrange.triu,
    "tril_": _inplace_of(rearrange.tril),
    "triu_": _inplace_of(rearrange.triu),
    "diag": rearrange.diag,
    "diagonal": view.diagonal,
    "diag_embed": rearrange.diag_embed,
    "unfold": view.unfold,
    "select": view.select,
    "broadcast_to": _broadcast_to,
    "diff": rearrange.diff,
    "ravel": view.ravel,
    "tensor_split": join.tensor_split,
    "hsplit": join.hsplit,
    "vsplit": join.vsplit,
    "dsplit": join.dsplit,
    "diagflat": rearrange.diagflat,
    "narrow_copy": view.narrow_copy,
    "select_scatter": rearrange.select_scatter,
    "slice_scatter": rearrange.slice_scatter,
    "diagonal_scatter": rearrange.diagonal_scatter,
    "fill_diagonal_": rearrange.fill_diagonal_,
    "sum_to_size": Rd.sum_to_size,
    "squeeze_": _meta_inplace(view.squeeze),
    "unsqueeze_": _meta_inplace(view.unsqueeze),
    "t_": _meta_inplace(view.t),
    "transpose_": _meta_inplace(view.transpose),
    "swapaxes_": _meta_inplace(view.transpose),
    "swapdims_": _meta_inplace(view.transpose),
    "bincount": So.bincount,
    "histc": So.histc,
    "quantile": So.quantile,
    "nanquantile": So.nanquantile,
    # linalg
    "einsum": None,
    "outer": L.outer,
    "ger": L.outer,
    "baddbmm": L.baddbmm,
    "addmv": L.addmv,
    "addbmm": L.addbmm,
    "addr": L.addr,
    "cross": L.cross,
    "baddbmm_": _inplace_of(L.baddbmm),
    "addmm_": _inplace_of(L.addmm),
    "addmv_": _inplace_of(L.addmv),
    "addbmm_": _inplace_of(L.addbmm),
    "addr_": _inplace_of(L.addr),
    "trace": L.trace,
    "kron": L.kron,
    "dist": L.dist,
}
del _EXTRA["einsum"]

attach(_EXTRA)
