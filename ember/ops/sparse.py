"""Sparse COO tensors and their ops: construction, coalesce, to_dense/to_sparse, the sparse @
dense product, sums and the arithmetic a graph network needs, as torch.sparse.

A sparse tensor is a :class:`SparseTensor`, a subclass of Tensor whose ``_data`` is the values
array (nnz, *dense_dims) and whose pattern (indices, full size, coalesced flag) and layout live in
its instance dict. Ops on the values therefore go through the ordinary ``Op`` machinery, and the
gradient flowing into a sparse tensor is either values-shaped (the pattern's entries, what
``torch.sparse.mm`` and ``to_dense`` give) or full-shaped dense (what ``torch.mm``/``@`` give, as
torch): the nodes below tell the two apart by ndim (values have ``1 + dense_dim`` dims, the full
shape ``sparse_dim + dense_dim``; every product here has ``sparse_dim == 2``). Dense ops never
look at this class: ``dense + sparse`` and ``dense @ sparse`` reach it through Python's rule that
a subclass's reflected operator runs first, and ``torch.mm``/``matmul`` test one class attribute
(``Tensor._sparse``) before anything else.

The compressed layouts (CSR, CSC, BSR, BSC) subclass SparseTensor in
``ops/sparse_compressed.py``; the functions here hand those to their own methods (``_mm_dense``,
``_rmm_dense``), so this module never imports that one.
"""

from __future__ import annotations

import re

import numpy as np

from .. import dtypes
from .._backend.xp import xp_of
from ..autograd.node import Op
from ..tensor import Size, Tensor, _wrap
from . import arith, reduction
from .creation import tensor as _tensor
from .inplace import check_leaf

_new = object.__new__

# torch's C++ layout names, as its error messages print them
LAYOUT_NAME = {
    dtypes.strided: "Strided",
    dtypes.sparse_coo: "Sparse",
    dtypes.sparse_csr: "SparseCsr",
    dtypes.sparse_csc: "SparseCsc",
    dtypes.sparse_bsr: "SparseBsr",
    dtypes.sparse_bsc: "SparseBsc",
}

# nnz rows gathered at once in the NumPy paths (bounds the (chunk, k) temporaries)
_CHUNK = 1 << 16


class _Pattern:
    """The index structure of a sparse tensor, shared by the tensors that have the same one."""

    __slots__ = ("ind", "size", "coalesced", "_csr")
    tensor_class: type  # the tensor type with this kind of pattern (set below the class)

    def __init__(self, ind, size: tuple, coalesced: bool):
        self.ind = ind  # int64 (sparse_dim, nnz)
        self.size = tuple(int(s) for s in size)
        self.coalesced = coalesced
        self._csr = None

    @property
    def nnz(self) -> int:
        return int(self.ind.shape[1])

    @property
    def sparse_dim(self) -> int:
        return int(self.ind.shape[0])

    def crow(self):
        """CSR row pointers (rows sorted: a coalesced 2-d pattern)."""
        if self._csr is None:
            n = self.size[0]
            counts = np.bincount(self.ind[0], minlength=n) if self.nnz else np.zeros(n, np.int64)
            crow = np.zeros(n + 1, np.int64)
            np.cumsum(counts, out=crow[1:])
            self._csr = crow
        return self._csr


def _make(values: Tensor, pat: _Pattern, layout=dtypes.sparse_coo) -> SparseTensor:
    """Turn ``values`` (a fresh Tensor, possibly with a graph) into a sparse tensor in place (the
    pattern's kind names the class: a compressed pattern makes a compressed tensor)."""
    values.__class__ = pat.tensor_class
    d = values.__dict__
    d["_pat"] = pat
    d["_layout"] = layout
    return values


def _leaf(arr, pat: _Pattern, layout=dtypes.sparse_coo) -> SparseTensor:
    return _make(_wrap(arr), pat, layout)


def _scipy():
    # SciPy is optional: it only speeds the product up
    try:
        import scipy.sparse as sps
    except ImportError:  # pragma: no cover - NumPy fallback below
        return None
    return sps


def _leaf_split(s: SparseTensor):
    """For an uncoalesced leaf: how many entries share each entry's index (else None).

    The leaf's sparse ``.grad`` keeps the leaf's entries; each duplicate then carries its share
    of the position's gradient, so the gradient's dense form and ``coalesce()`` are torch's.
    """
    pat = s._pat
    if pat.coalesced or s.grad_fn is not None or not s._rg:
        return None
    _, inv = _coalesce_pattern(pat.ind, pat.size)
    return np.bincount(inv)[inv]


def _gather(g, pat: _Pattern):
    """The entries of a dense full-shaped array at the pattern (values-shaped)."""
    return g[tuple(pat.ind)]


# --- construction ---------------------------------------------------------------------------


class _SparseCoo(Op):
    """Values into a sparse tensor: the gradient to the values is the sparse gradient's entries
    (``entries``: a full gradient read at the pattern; the compressed layouts' constructor is a
    subclass that reads its own pattern)."""

    _bname = "SparseCooTensorWithDimsAndTensorsBackward0"

    @staticmethod
    def entries(g, pat, vshape):
        return _gather(g, pat)

    @staticmethod
    def forward(ctx, v, pat):
        ctx.pat = pat
        ctx.vshape = v.shape
        return v.view()

    @staticmethod
    def backward(ctx, g):
        if g.ndim != len(ctx.vshape):
            return type(ctx).entries(g, ctx.pat, ctx.vshape), None
        return g, None


def _as_index(indices):
    """Indices as int64 on the host (torch converts any real index dtype, as here)."""
    arr = indices._host() if isinstance(indices, Tensor) else np.asarray(indices)
    if arr.dtype.kind not in "fiub":
        raise RuntimeError(f"indices must be an int64 tensor, got {arr.dtype}")
    return arr.astype(np.int64, copy=False)


def sparse_coo_tensor(
    indices,
    values,
    size=None,
    *,
    dtype=None,
    device=None,
    pin_memory: bool = False,
    requires_grad: bool = False,
    check_invariants=None,
    is_coalesced=None,
) -> SparseTensor:
    """A sparse COO tensor from ``indices`` (sparse_dim, nnz) and ``values`` (nnz, ...).

    As torch, duplicates are kept (uncoalesced) until ``coalesce()``; unlike torch, indices
    outside ``size`` always raise (torch checks them only with ``check_invariants``).
    """
    ind = _as_index(indices)
    if isinstance(values, Tensor):
        v = values if dtype is None else values.to(dtype)
    else:
        v = _tensor(values, dtype=dtype)
    if ind.ndim != 2:
        sd = ind.shape[0] if ind.ndim else 0
        if size is not None:
            raise RuntimeError(
                f"'len(size) == sparse_dim + dense_dim' is not satisfied: len(size) = "
                f"{len(size)}, sparse_dim = {sd}, dense_dim = {v.dim() - 1}"
            )
        raise RuntimeError(f"indices must be sparse_dim x nnz, but got: {list(ind.shape)}")
    if v.dim() == 0:
        raise RuntimeError("values must be at least 1-dimensional")
    sd, nnz = ind.shape
    if v.shape[0] != nnz:
        raise RuntimeError(
            f"indices and values must have same nnz, but got nnz from indices: {nnz}, nnz from "
            f"values: {v.shape[0]}"
        )
    dense = tuple(v.shape[1:])
    if size is None:
        size = tuple(int(m) + 1 for m in ind.max(axis=1)) if nnz else (0,) * sd
        size = size + dense
    else:
        size = tuple(int(s) for s in size)
        if len(size) != sd + len(dense):
            raise RuntimeError(
                f"'len(size) == sparse_dim + dense_dim' is not satisfied: len(size) = "
                f"{len(size)}, sparse_dim = {sd}, dense_dim = {len(dense)}"
            )
        if nnz:
            if ind.min() < 0:
                raise RuntimeError("found negative index in indices")
            mx = ind.max(axis=1)
            for k in range(sd):
                if mx[k] >= size[k]:
                    raise RuntimeError(
                        f"size is inconsistent with indices: for dim {k}, size is {size[k]} but "
                        f"found index {int(mx[k])}"
                    )
    pat = _Pattern(ind.copy(), size, bool(is_coalesced) or nnz <= 1)
    if v._rg:
        out = _make(_SparseCoo.apply(v, pat), pat)
    else:
        out = _leaf(v._data, pat)
        if requires_grad:
            out.requires_grad_(True)
    return out


def _coalesce_pattern(ind, size):
    """(sorted unique indices, inverse map of each entry to its unique slot)."""
    if ind.shape[1] == 0:
        return ind, np.zeros(0, np.int64)
    lin = np.ravel_multi_index(tuple(ind), size[: ind.shape[0]]) if ind.shape[0] else ind[0]
    uniq, inv = np.unique(lin, return_inverse=True)
    new = np.stack(np.unravel_index(uniq, size[: ind.shape[0]])).astype(np.int64)
    return new.reshape(ind.shape[0], -1), inv


class _Coalesce(Op):
    _bname = "CoalesceBackward0"

    @staticmethod
    def forward(ctx, v, inv, n):
        ctx.inv = inv
        ctx.vnd = v.ndim
        out = np.zeros((n,) + v.shape[1:], v.dtype)
        np.add.at(out, inv, v)
        return out

    @staticmethod
    def backward(ctx, g, *_):
        if g.ndim != ctx.vnd:
            return g, None, None  # a full-shaped gradient means the same for both patterns
        return g[ctx.inv], None, None


def coalesce(s: SparseTensor) -> SparseTensor:
    """Sorted indices with duplicates summed (returns ``s`` itself when already coalesced)."""
    pat = s._pat
    if pat.coalesced:
        return s
    new, inv = _coalesce_pattern(pat.ind, pat.size)
    npat = _Pattern(new, pat.size, True)
    return _make(_Coalesce.apply(s, inv, new.shape[1]), npat)


# --- dense <-> sparse ----------------------------------------------------------------------


class _ToDense(Op):
    _bname = "ToDenseBackward0"

    @staticmethod
    def forward(ctx, v, pat, split):
        ctx.pat = pat
        ctx.split = split
        xp = xp_of(v)
        out = xp.zeros(pat.size, v.dtype)
        if pat.coalesced:
            out[tuple(pat.ind)] = v
        else:
            np.add.at(out, tuple(pat.ind), v)
        return out

    @staticmethod
    def backward(ctx, g):
        gv = _gather(g, ctx.pat)
        return (gv if ctx.split is None else gv / ctx.split), None, None


def to_dense(s: SparseTensor, dtype=None, *, masked_grad=None) -> Tensor:
    """The dense tensor (duplicates summed); its gradient reaches the values at the pattern."""
    out = _ToDense.apply(s, s._pat, _leaf_split(s))
    return out if dtype is None else out.to(dtype)


class _ToSparse(Op):
    _bname = "ToSparseBackward1"

    @staticmethod
    def forward(ctx, x, pat, named_dim):
        ctx.pat = pat
        ctx.shape = x.shape
        if named_dim:
            ctx._bname = "ToSparseBackward0"  # torch's overload with sparse_dim
        return x[tuple(pat.ind)]

    @staticmethod
    def backward(ctx, g):
        vnd = 1 + len(ctx.shape) - ctx.pat.sparse_dim
        if g.ndim != vnd or (ctx.pat.sparse_dim == 1 and g.shape[0] != ctx.pat.nnz):
            return g, None, None  # a full-shaped (dense) gradient
        out = xp_of(g).zeros(ctx.shape, g.dtype)
        out[tuple(ctx.pat.ind)] = g
        return out, None, None


def to_sparse(x: Tensor, sparse_dim: int | None = None, *, dense_dim=None) -> SparseTensor:
    """The COO form of a dense tensor (coalesced; rows with any non-zero are kept); a COO tensor
    is returned as it is. Other layouts: ``ops/sparse_compressed.to_sparse``."""
    if isinstance(x, SparseTensor):
        return x
    a = x._host()
    sd = a.ndim if sparse_dim is None else int(sparse_dim)
    if dense_dim is not None:
        dd = int(dense_dim)
        if not 0 <= dd <= a.ndim:
            raise RuntimeError(
                f"dense_to_sparse: dense_dim argument must be in [0,{a.ndim}] range, but {dd} "
                "is given"
            )
        if dd == a.ndim and a.ndim:
            raise RuntimeError(
                "dense_to_sparse: dense_dim argument must be !=self.dim() when self.dim()>0"
            )
        sd = a.ndim - dd
    if sd < 1 or sd > a.ndim:
        raise RuntimeError(
            f"sparse_dim argument must be in [1, {a.ndim}] range, but {sd} is given"
            if a.ndim
            else "sparse_dim argument must be in [0, 0] range"
        )
    nz = a != 0
    if sd < a.ndim:
        nz = nz.reshape(a.shape[:sd] + (-1,)).any(axis=-1)
    ind = np.stack(np.nonzero(nz)).astype(np.int64).reshape(sd, -1)
    pat = _Pattern(ind, a.shape, True)
    return _make(_ToSparse.apply(x, pat, sparse_dim is not None), pat)


# --- the product ------------------------------------------------------------------------------


def _spmm_fwd(v, pat: _Pattern, d):
    m = pat.size[0]
    sps = _scipy()
    rows, cols = pat.ind
    if sps is not None:
        if pat.coalesced:
            a = sps.csr_matrix((v, cols, pat.crow()), shape=pat.size[:2])
        else:
            a = sps.csr_matrix((v, (rows, cols)), shape=pat.size[:2])
        return np.asarray(a @ d, dtype=d.dtype)
    out = np.zeros((m,) + d.shape[1:], d.dtype)
    if not pat.coalesced:
        order = np.argsort(rows, kind="stable")
        rows, cols, v = rows[order], cols[order], v[order]
    for s in range(0, len(rows), _CHUNK):
        r, c = rows[s : s + _CHUNK], cols[s : s + _CHUNK]
        part = v[s : s + _CHUNK, None] * d[c]
        starts = np.flatnonzero(np.r_[True, r[1:] != r[:-1]])
        out[r[starts]] += np.add.reduceat(part, starts, axis=0)
    return out


def _spmm_t(v, pat: _Pattern, g):
    """S^T @ g."""
    sps = _scipy()
    rows, cols = pat.ind
    if sps is not None:
        if pat.coalesced:
            a = sps.csr_matrix((v, cols, pat.crow()), shape=pat.size[:2])
        else:
            a = sps.csr_matrix((v, (rows, cols)), shape=pat.size[:2])
        return np.asarray(a.T @ g, dtype=g.dtype)
    tpat = _Pattern(np.stack([cols, rows]), (pat.size[1], pat.size[0]), False)
    return _spmm_fwd(v, tpat, g)


def _sampled_dot(g, d, pat: _Pattern):
    """(g @ d.T) at the pattern's entries, without forming the dense product."""
    rows, cols = pat.ind
    out = np.empty(len(rows), g.dtype)
    for s in range(0, len(rows), _CHUNK):
        out[s : s + _CHUNK] = np.einsum(
            "ij,ij->i", g[rows[s : s + _CHUNK]], d[cols[s : s + _CHUNK]]
        )
    return out


class _SpMM(Op):
    """sparse (m, n) @ dense (n, k); the sparse operand's gradient is values-shaped
    (``torch.sparse.mm``) or dense (``torch.mm``/``@``, ``dense_grad``)."""

    _bname = "SparseAddmmBackward0"

    @staticmethod
    def forward(ctx, v, d, pat, dense_grad, split):
        ctx.split = split
        ctx.saved = (v, d)
        ctx.pat = pat
        ctx.dense_grad = dense_grad
        d2 = d if d.ndim == 2 else d.reshape(-1, 1)
        out = _spmm_fwd(v, pat, d2)
        return out if d.ndim == 2 else out.reshape(-1)

    @staticmethod
    def backward(ctx, g):
        v, d = ctx.saved
        n = ctx._needs
        gv = gd = None
        vec = d.ndim == 1
        g2 = g.reshape(-1, 1) if vec else g
        d2 = d.reshape(-1, 1) if vec else d
        if n[0]:
            if ctx.dense_grad:
                gv = g2 @ d2.T
            else:
                gv = _sampled_dot(g2, d2, ctx.pat)
                if ctx.split is not None:
                    gv = gv / ctx.split
        if n[1]:
            gd = _spmm_t(v, ctx.pat, g2)
            if vec:
                gd = gd.reshape(-1)
        return gv, gd, None, None, None


def _check_mm(s: SparseTensor, d: Tensor) -> None:
    if not isinstance(d, Tensor):
        raise TypeError(f"mm(): argument 'mat2' must be Tensor, not {type(d).__name__}")
    if isinstance(d, SparseTensor):
        raise NotImplementedError("ember does not implement sparse @ sparse yet")
    if s._pat.sparse_dim != 2 or len(s._pat.size) != 2:
        raise RuntimeError(f"addmm: matrices expected, got {len(s._pat.size)}D tensor")
    if d.dim() not in (1, 2):
        raise RuntimeError(f"addmm: matrices expected, got {d.dim()}D tensor")
    if d.shape[0] != s._pat.size[1]:
        raise RuntimeError(
            f"addmm: Argument #3 (dense): Expected dim 0 size {s._pat.size[1]}, got {d.shape[0]}"
        )
    if d.dtype != s.dtype:
        raise RuntimeError(
            f"expected scalar type {dtypes.scalar_type_name(s.dtype.name)} but found "
            f"{dtypes.scalar_type_name(d.dtype.name)}"
        )


def mm(mat1: SparseTensor, mat2: Tensor) -> Tensor:
    """``torch.sparse.mm``: sparse @ dense; the sparse operand's gradient keeps its pattern."""
    if not isinstance(mat1, SparseTensor):
        if isinstance(mat2, SparseTensor) and mat2._layout is not dtypes.sparse_coo:
            return mat2._rmm_dense(mat1, "sparse")
        raise NotImplementedError("ember does not implement torch.sparse.mm of a dense mat1 yet")
    if mat1._layout is not dtypes.sparse_coo:
        return mat1._mm_dense(mat2, "sparse")
    _check_mm(mat1, mat2)
    return _SpMM.apply(mat1, mat2, mat1._pat, False, _leaf_split(mat1))


def spmm(input: SparseTensor, mat2: Tensor) -> Tensor:
    """``torch.spmm`` / ``torch.mm(sparse, dense)`` / ``sparse @ dense``: a dense gradient."""
    if not isinstance(input, SparseTensor):
        raise RuntimeError("spmm: expected a sparse first argument")
    if input._layout is not dtypes.sparse_coo:
        return input._mm_dense(mat2, "mm")
    _check_mm(input, mat2)
    return _SpMM.apply(input, mat2, input._pat, True, None)


# --- reductions and arithmetic ----------------------------------------------------------------


class _SparseSum(Op):
    _bname = "SparseSumBackward0"

    @staticmethod
    def forward(ctx, v, inv, n):
        ctx.inv = inv
        out = np.zeros((n,) + v.shape[1:], v.dtype)
        np.add.at(out, inv, v)
        return out

    @staticmethod
    def backward(ctx, g, *_):
        return g[ctx.inv], None, None


def sum(input: SparseTensor, dim=None, dtype=None) -> Tensor:  # noqa: A001
    """``torch.sparse.sum``: all entries (a dense scalar), or over sparse dims (sparse, or dense
    when every sparse dim is reduced)."""
    if not isinstance(input, SparseTensor):
        return reduction.sum(input, dim, dtype=dtype) if dim is not None else input.sum()
    if input._layout is not dtypes.sparse_coo:
        if dim is None:  # torch's sparse.sum coalesces first
            raise RuntimeError(
                "coalesce expected sparse coordinate tensor layout but got "
                + LAYOUT_NAME[input._layout]
            )
        raise NotImplementedError(no_kernel("_indices"))
    if dim is None:
        r = reduction.sum(
            _values_view(input)
        )  # the values' sum: every entry once, duplicates included
        return r if dtype is None else r.to(dtype)
    dims = [dim] if isinstance(dim, int) else list(dim)
    pat = input._pat
    nd = len(pat.size)
    dims = sorted({d % nd for d in dims})
    sd = pat.sparse_dim
    sp = [d for d in dims if d < sd]
    dn = [d - sd + 1 for d in dims if d >= sd]
    v = _values_view(input)
    if dn:
        v = reduction.sum(v, dn)
    keep = [k for k in range(sd) if k not in sp]
    if not keep:  # every sparse dim reduced: a dense result
        r = reduction.sum(v, 0)
        return r if dtype is None else r.to(dtype)
    size = tuple(pat.size[k] for k in keep) + tuple(
        s for j, s in enumerate(pat.size[sd:]) if j + sd not in dims
    )
    ind, inv = _coalesce_pattern(pat.ind[keep], size)
    out = _SparseSum.apply(v, inv, ind.shape[1])
    res = _make(out, _Pattern(ind, size, True))
    return res if dtype is None else res.to(dtype)


class _SparseSoftmax(Op):
    """Softmax over the specified entries of each slice along one sparse dim (implicit zeros
    count as -inf, as torch); ``log`` gives log_softmax."""

    _bname = "SparseSoftmaxBackward0"

    @staticmethod
    def forward(ctx, v, inv, n, log):
        ctx.inv, ctx.n, ctx.log = inv, n, log
        mx = np.full((n,) + v.shape[1:], -np.inf, v.dtype)
        np.maximum.at(mx, inv, v)
        z = v - mx[inv]
        e = np.exp(z)
        tot = np.zeros((n,) + v.shape[1:], v.dtype)
        np.add.at(tot, inv, e)
        out = z - np.log(tot)[inv] if log else e / tot[inv]
        ctx.saved = (out,)
        return out

    @staticmethod
    def backward(ctx, g, *_):
        (y,) = ctx.saved
        tot = np.zeros((ctx.n,) + g.shape[1:], g.dtype)
        if ctx.log:
            np.add.at(tot, ctx.inv, g)
            return g - np.exp(y) * tot[ctx.inv], None, None, None
        np.add.at(tot, ctx.inv, g * y)
        return y * (g - tot[ctx.inv]), None, None, None


def _softmax(input: SparseTensor, dim: int, dtype, log: bool) -> SparseTensor:
    if input._layout is not dtypes.sparse_coo:
        raise NotImplementedError(no_kernel("_sparse_log_softmax" if log else "_sparse_softmax"))
    s = coalesce(input)
    if dtype is not None:
        s = s.to(dtype)
    pat = s._pat
    d = dim % len(pat.size)
    if d >= pat.sparse_dim:
        raise NotImplementedError("ember does not implement sparse softmax over a dense dim yet")
    keep = [k for k in range(pat.sparse_dim) if k != d]
    if keep:
        _, inv = _coalesce_pattern(pat.ind[keep], tuple(pat.size[k] for k in keep))
    else:
        inv = np.zeros(pat.nnz, np.int64)
    n = int(inv.max()) + 1 if len(inv) else 0
    return _make(_SparseSoftmax.apply(s, inv, n, log), pat)


def softmax(input: SparseTensor, dim: int, *, dtype=None) -> SparseTensor:
    """``torch.sparse.softmax``: softmax along ``dim`` over the specified entries only."""
    return _softmax(input, dim, dtype, False)


def log_softmax(input: SparseTensor, dim: int, *, dtype=None) -> SparseTensor:
    """``torch.sparse.log_softmax``: log of :func:`softmax`, computed stably."""
    return _softmax(input, dim, dtype, True)


def _same_pattern(s: SparseTensor, values: Tensor, layout=None) -> SparseTensor:
    return _make(values, s._pat, layout or s._layout)


def _mul(s: SparseTensor, other):
    if isinstance(other, Tensor) and other.dim() > 0:
        if isinstance(other, SparseTensor):
            return to_sparse(to_dense(s) * to_dense(other))
        return to_sparse(to_dense(s) * other)  # pattern of the product, as torch's mask
    return _same_pattern(s, arith.mul(_values_view(s), other))


def _add(s: SparseTensor, other, alpha=1):
    if isinstance(other, SparseTensor):
        if alpha != 1:
            other = _mul(other, alpha)
        if s._pat.size != other._pat.size:
            raise RuntimeError(
                f"add: expected 'self' and 'other' to have same size, but self has size "
                f"{list(s._pat.size)} while other has size {list(other._pat.size)}"
            )
        ind = np.concatenate([s._pat.ind, other._pat.ind], axis=1)
        vals = _cat_values(s, other)
        return coalesce(_make(vals, _Pattern(ind, s._pat.size, False)))
    if isinstance(other, Tensor):
        d = to_dense(s)
        return arith.add(other, d) if alpha == 1 else arith.add(other, d, alpha=alpha)
    raise RuntimeError("add(sparse, scalar) is not supported: torch raises here too")


class _Transpose(Op):
    """A 2-d sparse matrix's transpose: the values unchanged, a dense gradient transposed."""

    _bname = "TBackward0"

    @staticmethod
    def forward(ctx, v):
        ctx.vnd = v.ndim
        return v.view()

    @staticmethod
    def backward(ctx, g):
        return g.T if g.ndim != ctx.vnd else g


def dense_mm(dense: Tensor, s: SparseTensor) -> Tensor:
    """dense @ sparse, as ``(s.t() @ dense.t()).t()`` (a dense gradient to the sparse one)."""
    if s._layout is not dtypes.sparse_coo:
        return s._rmm_dense(dense)
    if dense.dim() != 2:
        raise RuntimeError(f"addmm: matrices expected, got {dense.dim()}D tensor")
    return spmm(s.t(), dense.t()).t()


class _CatValues(Op):
    @staticmethod
    def forward(ctx, a, b):
        ctx.n = a.shape[0]
        return xp_of(a).concatenate([a, b])

    @staticmethod
    def backward(ctx, g):
        return g[: ctx.n], g[ctx.n :]


def _cat_values(s, o):
    return _CatValues.apply(_values_view(s), _values_view(o))


class _Values(Op):
    _bname = "ValuesBackward0"

    @staticmethod
    def forward(ctx, v):
        return v.view()

    @staticmethod
    def backward(ctx, g):
        return g


def _values_view(s: SparseTensor) -> Tensor:
    """The values as a dense Tensor in the graph (torch's ``_values()``)."""
    return _Values.apply(s)


def no_kernel(op: str) -> str:
    """torch's message for an op that has no kernel for a sparse compressed tensor (its first
    sentences: the rest lists torch's dispatch keys)."""
    return (
        f"Could not run 'aten::{op}' with arguments from the 'SparseCsrCPU' backend. This could "
        "be because the operator doesn't exist for this backend, or was omitted during the "
        "selective/custom build process (if using custom build)."
    )


def _rewrap(text: str, first_col: int) -> str:
    """Break the innermost rows of a printed tensor again for the columns they now start at:
    torch fits each row into 80 columns counted from its own opening bracket (the repr this
    comes from counted from column 7)."""
    rows = list(re.finditer(r"\[([^\[\]]*)\]", text))
    if not rows or any("..." in m.group(1) for m in rows):
        return text  # summarised: left as printed
    items = [[x.strip() for x in re.split(r",\s+", m.group(1).strip())] for m in rows]
    # one formatter pads every entry to the widest finite one (non-finite ones are not counted)
    finite = [len(x) for row in items for x in row if x not in ("nan", "inf", "-inf")]
    width = max(finite, default=1)
    out, pos = [], 0
    for m, row in zip(rows, items, strict=True):
        line_start = text.rfind("\n", 0, m.start()) + 1
        col = m.start() - line_start + (first_col if line_start == 0 else 0)
        per_line = max(1, (80 - col) // (width + 2))
        cells = [x.rjust(width) for x in row]
        lines = [", ".join(cells[i : i + per_line]) for i in range(0, len(cells), per_line)]
        out.append(text[pos : m.start()] + "[" + (",\n" + " " * (col + 1)).join(lines) + "]")
        pos = m.end()
    return "".join(out) + text[pos:]


def _fmt(t: Tensor, indent: int) -> str:
    # torch prints the dtype once, in the sparse tensor's own tail
    r = re.sub(r",\s*dtype=torch\.\w+\)$", ")", repr(t))
    if t.numel() == 0 and "size=" not in r:
        r = r[:-1] + f", size={tuple(t.shape)})"
    # the blank lines between slices stay empty, as torch prints them
    return _rewrap(re.sub(r"\n(?!\n)", "\n" + " " * indent, r), indent)


class SparseTensor(Tensor):
    """A sparse COO tensor, as torch's ``torch.sparse_coo`` layout (the compressed layouts are
    ``ops/sparse_compressed.SparseCompressedTensor``, a subclass).

    ``_data`` holds the values (nnz, *dense_dims); ``_pat`` the indices, size and coalesced flag.
    """

    _sparse = True
    _layout = dtypes.sparse_coo

    # --- shape and layout ----------------------------------------------------------------
    @property
    def shape(self) -> Size:
        return Size(self._pat.size)

    def size(self, dim: int | None = None):
        if dim is None:
            return Size(self._pat.size)
        return self._pat.size[dim]

    @property
    def ndim(self) -> int:
        return len(self._pat.size)

    def dim(self) -> int:
        return len(self._pat.size)

    def numel(self) -> int:
        return int(np.prod(self._pat.size))

    nelement = numel

    @property
    def is_sparse(self) -> bool:
        return self._layout is dtypes.sparse_coo

    @property
    def is_sparse_csr(self) -> bool:
        return self._layout is dtypes.sparse_csr

    @property
    def layout(self):
        return self._layout

    def _nnz(self) -> int:
        return self._pat.nnz

    def sparse_dim(self) -> int:
        return self._pat.sparse_dim

    def dense_dim(self) -> int:
        return self._data.ndim - 1

    def _coo_only(self, name: str) -> None:
        if self._layout is not dtypes.sparse_coo:
            raise RuntimeError(
                f"{name} expected sparse coordinate tensor layout but got "
                + LAYOUT_NAME[self._layout]
            )

    def is_coalesced(self) -> bool:
        self._coo_only("is_coalesced")
        return self._pat.coalesced

    def coalesce(self) -> SparseTensor:
        self._coo_only("coalesce")
        return coalesce(self)

    def indices(self) -> Tensor:
        self._coo_only("indices")
        if not self._pat.coalesced:
            raise RuntimeError(
                "Cannot get indices on an uncoalesced tensor, please call .coalesce() first"
            )
        return _wrap(self._pat.ind)

    def _indices(self) -> Tensor:
        return _wrap(self._pat.ind)

    def values(self) -> Tensor:
        if not self._pat.coalesced:
            raise RuntimeError(
                "Cannot get values on an uncoalesced tensor, please call .coalesce() first"
            )
        return _values_view(self)

    def _values(self) -> Tensor:
        return _wrap(self._data)  # as torch: an alias outside the graph

    def to_dense(self, dtype=None, *, masked_grad=None) -> Tensor:
        return to_dense(self, dtype)

    # to_sparse, to_sparse_csr, ... and crow_indices, ...: Tensor's methods (one dispatcher for
    # every layout, in ops/sparse_compressed.py)

    # --- graph fields --------------------------------------------------------------------
    @property
    def grad(self):
        return self.__dict__.get("_sgrad")

    @grad.setter
    def grad(self, g) -> None:
        if g is not None and not isinstance(g, SparseTensor) and g.ndim == self._data.ndim:
            # the pattern's entries; torch leaves the gradient's coalesced flag unset
            pat = self._pat
            g = _leaf(g._data, _Pattern(pat.ind, pat.size, False), self._layout)
        self.__dict__["_sgrad"] = g

    def detach(self) -> SparseTensor:
        return _leaf(self._data, self._pat, self._layout)

    def clone(self, *, memory_format=None) -> SparseTensor:
        return _same_pattern(self, arith.mul(_values_view(self), 1))

    def to(self, *args, **kwargs) -> SparseTensor:
        v = _values_view(self).to(*args, **kwargs)
        if v._data is self._data:
            return self
        if not v._rg:
            return _leaf(v._data, self._pat, self._layout)
        return _same_pattern(self, v)

    def double(self) -> SparseTensor:
        return self.to(dtypes.float64)

    def float(self) -> SparseTensor:
        return self.to(dtypes.float32)

    def cpu(self) -> SparseTensor:
        return self

    def t(self) -> SparseTensor:
        if self._pat.sparse_dim != 2 or len(self._pat.size) != 2:
            raise RuntimeError("t() expects a 2-d sparse matrix")
        pat = self._pat
        # as torch: the same entries with the index rows swapped, left uncoalesced
        npat = _Pattern(pat.ind[::-1].copy(), pat.size[::-1], False)
        return _make(_Transpose.apply(self), npat)

    # --- operators -----------------------------------------------------------------------
    def __matmul__(self, other):
        return spmm(self, other)

    def mm(self, other):
        return spmm(self, other)

    def matmul(self, other):
        return spmm(self, other)

    def __rmatmul__(self, other):
        return dense_mm(other, self)

    def __add__(self, other):
        if isinstance(other, Tensor) and not isinstance(other, SparseTensor):
            raise RuntimeError(
                "add(sparse, dense) is not supported. Use add(dense, sparse) instead."
            )
        return _add(self, other)

    def __radd__(self, other):
        return _add(self, other)

    def add(self, other, *, alpha=1):
        return _add(self, other, alpha)

    def __sub__(self, other):
        return _add(self, other, -1)

    def __rsub__(self, other):
        return _add(_mul(self, -1), other)

    def __mul__(self, other):
        return _mul(self, other)

    __rmul__ = __mul__
    mul = __mul__

    def __truediv__(self, other):
        if isinstance(other, Tensor) and other.dim() > 0:
            raise NotImplementedError("ember does not implement sparse / tensor yet")
        return _same_pattern(self, arith.div(_values_view(self), other))

    def __neg__(self):
        return _mul(self, -1)

    def sum(self, dim=None, keepdim=False, dtype=None):
        return sum(self, dim, dtype)

    def zero_(self) -> SparseTensor:
        """Remove every entry in place (torch's sparse ``zero_``): size, sparse and dense dims,
        dtype and device stay; the tensor is coalesced, with nnz 0."""
        if self._layout is not dtypes.sparse_coo:
            raise NotImplementedError(
                "ember does not implement torch.Tensor.zero_ for sparse compressed tensors yet"
            )
        check_leaf(self)
        vals = self._data
        xp = xp_of(vals)
        self._data = xp.zeros((0,) + vals.shape[1:], vals.dtype)
        self.__dict__["_pat"] = _Pattern(
            np.zeros((self._pat.sparse_dim, 0), np.int64), self._pat.size, True
        )
        self._bump()
        return self

    def __len__(self) -> int:
        return self._pat.size[0]

    # dense-only methods would see only the values: refuse them, naming the torch API
    def _dense_only(name: str):  # noqa: N805  (a factory run in the class body)
        def method(self, *args, **kwargs):
            raise NotImplementedError(
                f"ember does not implement torch.Tensor.{name} for sparse tensors yet"
            )

        method.__name__ = name
        return method

    for _name in (
        "__getitem__", "__setitem__", "numpy", "tolist", "item", "view", "reshape",
        "flatten", "squeeze", "unsqueeze", "permute", "transpose", "expand", "contiguous",
        "__iter__", "mean", "add_", "mul_", "sub_", "div_", "fill_", "copy_",
    ):  # fmt: skip
        locals()[_name] = _dense_only(_name)
    del _name, _dense_only

    def _repr_indices(self) -> str:
        """The index part of the repr, up to ``values=``."""
        return f"indices={_fmt(_wrap(self._pat.ind), 15)},\n       "

    def __repr__(self) -> str:
        pat = self._pat
        text = "tensor(" + self._repr_indices() + "values=" + _fmt(_wrap(self._data), 14)
        suffixes = [f"size={pat.size}", f"nnz={pat.nnz}"]
        default = dtypes.get_default_dtype()
        cdefault = dtypes.complex128 if default is dtypes.float64 else dtypes.complex64
        if self.dtype not in (default, cdefault, dtypes.int64, dtypes.bool_):
            suffixes.append(f"dtype={self.dtype}")
        suffixes.append(f"layout={self._layout}")
        if self.grad_fn is not None:
            suffixes.append(f"grad_fn=<{self.grad_fn.name()}>")
        elif self._rg:
            suffixes.append("requires_grad=True")
        # torch's rule: a suffix goes on a new line past 80 columns; COO starts one anyway
        force = self._layout is dtypes.sparse_coo
        last = len(text) - text.rfind("\n") + 1
        for suf in suffixes:
            if force or last + len(suf) + 2 > 80:
                text += ",\n       " + suf
                last = 7 + len(suf)
                force = False
            else:
                text += ", " + suf
                last += len(suf) + 2
        return text + ")"

    __str__ = __repr__


_Pattern.tensor_class = SparseTensor

__all__ = ["sparse_coo_tensor", "spmm"]
