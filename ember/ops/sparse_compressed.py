"""Sparse compressed tensors (CSR, CSC, BSR, BSC): construction with torch's invariant checks,
the conversions between every layout that torch converts between (and its errors where it
refuses), ``to_dense``, the product with a dense matrix, as torch's sparse compressed layouts.

A compressed tensor is a :class:`SparseCompressedTensor` (a ``SparseTensor``) whose ``_data``
is the values array (*batch, nnz, [*blocksize], *dense) and whose ``_pat`` is a
:class:`_CPattern`: the compressed and plain indices, (*batch, n + 1) and (*batch, nnz), kept in
the dtype they came in, with the size and the layout. Conversions and products work on
*elements*, the (batch, row, column) positions the values hold in the values' order (a block
holds all of its entries, zeros included): a conversion is one gather of value entries by
element (``_Regather``). As in ``ops/sparse.py``, the gradient reaching a sparse tensor is either
values-shaped or full-shaped dense; a conversion maps the first back through the same elements
and passes the second on unchanged, since the dense form means the same for every layout.
"""

from __future__ import annotations

import numpy as np

from .. import dtypes
from ..autograd.node import Op
from ..tensor import Tensor, _wrap
from . import arith, reduction
from .creation import tensor as _tensor
from .sparse import (
    LAYOUT_NAME,
    SparseTensor,
    _fmt,
    _make,
    _Pattern,
    _sampled_dot,
    _scipy,
    _SparseCoo,
    _spmm_fwd,
    _spmm_t,
    _values_view,
    coalesce,
    no_kernel,
)
from .sparse import to_sparse as _dense_to_coo

CSR, CSC, BSR, BSC = dtypes.sparse_csr, dtypes.sparse_csc, dtypes.sparse_bsr, dtypes.sparse_bsc
COO, STRIDED = dtypes.sparse_coo, dtypes.strided
COMPRESSED = (CSR, CSC, BSR, BSC)
_BLOCKED = (BSR, BSC)
_ROW_MAJOR = (CSR, BSR)  # the compressed dim is the rows
_SHORT = {CSR: "CSR", CSC: "CSC", BSR: "BSR", BSC: "BSC"}
_INDEX_NAMES = {
    CSR: ("crow_indices", "col_indices"),
    BSR: ("crow_indices", "col_indices"),
    CSC: ("ccol_indices", "row_indices"),
    BSC: ("ccol_indices", "row_indices"),
}
_COUNTED = {CSR: "rows", CSC: "columns", BSR: "row blocks", BSC: "column blocks"}
_METHOD = {CSR: "to_sparse_csr", CSC: "to_sparse_csc", BSR: "to_sparse_bsr", BSC: "to_sparse_bsc"}
_GRAD_NAME = {
    CSR: "ToSparseCsrBackward0",
    CSC: "ToSparseCscBackward0",
    BSR: "ToSparseBsrBackward0",
    BSC: "ToSparseBscBackward0",
}
_MM_DTYPES = (np.float32, np.float64, np.complex64, np.complex128)

# torch.sparse.check_sparse_tensor_invariants' switch (ember.sparse holds the public class)
_check = [False]


def invariants_checked() -> bool:
    """Whether constructors check their indices unless told otherwise (off by default)."""
    return _check[0]


def set_invariants_checked(enable: bool) -> None:
    """Turn the constructors' default index checks on or off."""
    _check[0] = bool(enable)


def _scalar(dt) -> str:
    name = dt.name if isinstance(dt, dtypes.dtype) else np.dtype(dt).name
    return dtypes.scalar_type_name(name)


def _layout_of(x: Tensor):
    return x._layout if isinstance(x, SparseTensor) else STRIDED


def _unsatisfied(what: str) -> RuntimeError:
    return RuntimeError(f"`{what}` is not satisfied.")


# --- the pattern ------------------------------------------------------------------------------


class _CPattern:
    """The index structure of a compressed tensor, shared by tensors with the same one."""

    __slots__ = ("layout", "cidx", "pidx", "size", "blocksize", "_lin", "_coo2d")
    tensor_class: type  # set below SparseCompressedTensor
    sparse_dim = 2

    def __init__(self, layout, cidx, pidx, size: tuple, blocksize):
        self.layout = layout
        self.cidx = cidx  # (*batch, ncompressed + 1), in the dtype given (int64 or int32)
        self.pidx = pidx  # (*batch, nnz)
        self.size = tuple(int(s) for s in size)
        self.blocksize = blocksize  # (r, c) for BSR/BSC, else None
        self._lin = None
        self._coo2d = None

    @property
    def nnz(self) -> int:
        return int(self.pidx.shape[-1]) if self.pidx.ndim else 0

    @property
    def bshape(self) -> tuple:
        return tuple(self.cidx.shape[:-1])

    @property
    def grid(self) -> tuple:
        """(batches, rows, columns): the element grid that ``lin`` numbers."""
        nb = len(self.bshape)
        return int(np.prod(self.bshape)), self.size[nb], self.size[nb + 1]

    @property
    def block(self) -> tuple:
        return self.blocksize or (1, 1)

    def blocks(self):
        """(batch, block row, block column) of each stored block, in values order."""
        bsz = int(np.prod(self.bshape))
        n = self.cidx.shape[-1] - 1
        nnz = self.nnz
        c = self.cidx.reshape(bsz, n + 1).astype(np.int64)
        counts = np.diff(c, axis=1)
        if (counts < 0).any() or (counts.sum(axis=1) != nnz).any():
            raise RuntimeError(
                "ember cannot read the indices of this sparse compressed tensor: they break "
                "its invariants (build it with check_invariants=True to see which)"
            )
        comp = np.repeat(np.tile(np.arange(n, dtype=np.int64), bsz), counts.ravel())
        plain = self.pidx.reshape(bsz * nnz).astype(np.int64)
        b = np.repeat(np.arange(bsz, dtype=np.int64), nnz)
        if self.layout in _ROW_MAJOR:
            return b, comp, plain
        return b, plain, comp

    def lin(self):
        """Each element's flat position in the (batch, row, column) grid, in values order."""
        if self._lin is None:
            b, brow, bcol = self.blocks()
            r, c = self.block
            _, m, n = self.grid
            rows = brow[:, None, None] * r + np.arange(r)[:, None]
            cols = bcol[:, None, None] * c + np.arange(c)[None, :]
            self._lin = ((b[:, None, None] * m + rows) * n + cols).reshape(-1)
        return self._lin

    def coo2d(self) -> _Pattern:
        """The elements of an unbatched matrix as a COO pattern, for the products."""
        if self._coo2d is None:
            _, m, n = self.grid
            rows, cols = np.divmod(self.lin(), n)
            r = self.block[0]
            sorted_rows = self.layout is CSR or (self.layout is BSR and r == 1)
            pat = _Pattern(np.stack([rows, cols]), (m, n), sorted_rows)
            if self.layout is CSR:
                pat._csr = self.cidx.astype(np.int64)
            self._coo2d = pat
        return self._coo2d


def _elements_of(cpat: _CPattern):
    """(batch, row, column) of each element of ``cpat``, in values order."""
    bsz, m, n = cpat.grid
    b, rest = np.divmod(cpat.lin(), m * n)
    rows, cols = np.divmod(rest, n)
    return b, rows, cols


def _pattern_from_elements(b, rows, cols, layout, size, blocksize, bshape, idx_dtype):
    """The compressed pattern that holds the given elements: every block with one of them, in
    the layout's order, the same number in every batch (torch's rule)."""
    nb = len(bshape)
    bsz = int(np.prod(bshape))
    m, n = size[nb], size[nb + 1]
    r, c = blocksize or (1, 1)
    if layout in _ROW_MAJOR:
        comp, plain, ncomp, nplain = rows // r, cols // c, m // r, n // c
    else:
        comp, plain, ncomp, nplain = cols // c, rows // r, n // c, m // r
    keys = np.unique((b * ncomp + comp) * nplain + plain)
    if len(keys):
        per = np.bincount(keys // (ncomp * nplain), minlength=bsz)
        if (per != per[0]).any():
            raise RuntimeError("Expect the same number of specified elements per batch.")
        counts = np.bincount(keys // nplain, minlength=bsz * ncomp).reshape(bsz, ncomp)
    else:
        counts = np.zeros((bsz, ncomp), np.int64)
    nnz = len(keys) // bsz if bsz else 0
    cidx = np.zeros((bsz, ncomp + 1), np.int64)
    np.cumsum(counts, axis=1, out=cidx[:, 1:])
    pidx = (keys % nplain if len(keys) else keys).reshape(bsz, nnz)
    return _CPattern(
        layout,
        cidx.reshape(bshape + (ncomp + 1,)).astype(idx_dtype),
        pidx.reshape(bshape + (nnz,)).astype(idx_dtype),
        size,
        tuple(blocksize) if layout in _BLOCKED else None,
    )


def _locate(src_lin, dst_lin):
    """For each of ``dst_lin``, its position in ``src_lin`` (unique), or -1 where absent."""
    if len(src_lin) == 0:
        return np.full(len(dst_lin), -1, np.int64)
    order = np.argsort(src_lin, kind="stable")
    ranked = src_lin[order]
    pos = np.minimum(np.searchsorted(ranked, dst_lin), len(ranked) - 1)
    return np.where(ranked[pos] == dst_lin, order[pos], -1)


def _values_shape(cpat: _CPattern, dense: tuple) -> tuple:
    return cpat.bshape + (cpat.nnz,) + (cpat.blocksize or ()) + tuple(dense)


def _dense_shape(cpat: _CPattern) -> tuple:
    return cpat.size[len(cpat.bshape) + 2 :]


def _scatter(v, cpat: _CPattern):
    dense = _dense_shape(cpat)
    bsz, m, n = cpat.grid
    out = np.zeros((bsz * m * n,) + dense, v.dtype)
    # added, not assigned: torch's dense form of a stored -0.0 is 0.0
    out[cpat.lin()] += v.reshape((-1,) + dense)
    return out.reshape(cpat.size)


def _gather(x, cpat: _CPattern, vshape: tuple):
    dense = _dense_shape(cpat)
    return x.reshape((-1,) + dense)[cpat.lin()].reshape(vshape)


# --- the ops ----------------------------------------------------------------------------------


class _FromValues(_SparseCoo):
    """Values into a compressed tensor (the constructors, with a given size)."""

    _bname = "SparseCompressedTensorBackward0"

    @staticmethod
    def entries(g, cpat, vshape):
        return _gather(g, cpat, vshape)


class _NoDerivative(Op):
    """Values into a compressed tensor of inferred size: torch has no derivative for that."""

    _bname = "NotImplemented"

    @staticmethod
    def forward(ctx, v):
        return v.view()

    @staticmethod
    def backward(ctx, g):
        raise RuntimeError("derivative for aten::sparse_compressed_tensor is not implemented")


class _ToDense(Op):
    _bname = "ToDenseBackward0"

    @staticmethod
    def forward(ctx, v, cpat):
        ctx.cpat = cpat
        ctx.vshape = v.shape
        return _scatter(v, cpat)

    @staticmethod
    def backward(ctx, g):
        return _gather(g, ctx.cpat, ctx.vshape), None


class _FromDense(Op):
    """A dense tensor's entries at a compressed pattern: a values-shaped gradient is scattered
    back (masked), a dense one passes as it is."""

    @staticmethod
    def forward(ctx, x, cpat, vshape, name):
        ctx.cpat = cpat
        ctx.vshape = vshape
        ctx._bname = name
        return _gather(x, cpat, vshape)

    @staticmethod
    def backward(ctx, g):
        if g.ndim != len(ctx.vshape):
            return g, None, None, None
        return _scatter(g, ctx.cpat), None, None, None


class _Regather(Op):
    """One sparse tensor's values laid out as another's over the same elements: output element
    ``k`` is input element ``take[k]``, or zero where ``take[k] < 0`` (a block's filler)."""

    @staticmethod
    def forward(ctx, v, take, vshape, ndense, name, refuse, dense_back):
        dense = v.shape[v.ndim - ndense :] if ndense else ()
        ctx._bname = name
        ctx.take, ctx.vshape, ctx.inshape, ctx.dense = take, vshape, v.shape, dense
        ctx.refuse, ctx.dense_back = refuse, dense_back
        src = v.reshape((-1,) + dense)
        ok = take >= 0
        out = np.zeros((len(take),) + dense, v.dtype)
        out[ok] = src[take[ok]]
        return out.reshape(vshape)

    @staticmethod
    def backward(ctx, g):
        if g.ndim != len(ctx.vshape):
            return g, None, None, None, None, None, None
        if ctx.refuse:  # torch converts this gradient back to a layout it cannot make
            raise RuntimeError(ctx.refuse)
        if ctx.dense_back is not None:  # every block entry's gradient, as torch's (dense)
            return _scatter(g, ctx.dense_back), None, None, None, None, None, None
        take = ctx.take
        ok = take >= 0
        count = int(np.prod(ctx.inshape[: len(ctx.inshape) - len(ctx.dense)]))
        out = np.zeros((count,) + ctx.dense, g.dtype)
        out[take[ok]] = g.reshape((-1,) + ctx.dense)[ok]
        return out.reshape(ctx.inshape), None, None, None, None, None, None


class _UnionAdd(Op):
    """a + alpha * b for two compressed tensors of different patterns, over the union of their
    elements. As torch, each operand's gradient is the sum's gradient over that union (so
    dense), not only at its own entries."""

    _bname = "AddBackward0"

    @staticmethod
    def forward(ctx, va, vb, at_a, at_b, cpat, alpha):
        ctx.cpat, ctx.alpha, ctx.vnd = cpat, alpha, va.ndim
        dense = _dense_shape(cpat)
        out = np.zeros((cpat.nnz,) + dense, np.result_type(va, vb))
        out[at_a] += va.reshape((-1,) + dense)
        out[at_b] += alpha * vb.reshape((-1,) + dense)
        return out

    @staticmethod
    def backward(ctx, g):
        if g.ndim == ctx.vnd:
            g = _scatter(g, ctx.cpat)
        return g, g * ctx.alpha, None, None, None, None


class _Transpose(Op):
    """The matrices' transpose as the other orientation of the same indices (each block
    transposed); a dense gradient is transposed back."""

    _bname = "TBackward0"

    @staticmethod
    def forward(ctx, v, nb, blocked):
        ctx.nb, ctx.blocked, ctx.vnd = nb, blocked, v.ndim
        return v.swapaxes(nb + 1, nb + 2) if blocked else v.view()

    @staticmethod
    def backward(ctx, g):
        nb = ctx.nb
        if g.ndim != ctx.vnd:
            return g.swapaxes(nb, nb + 1), None, None
        return (g.swapaxes(nb + 1, nb + 2) if ctx.blocked else g), None, None


def _times(v, cpat: _CPattern, x, transposed: bool = False):
    """S @ x (or S^T @ x) for an unbatched compressed matrix S with values ``v`` and a 2-d
    ``x``: SciPy's kernel for the layout when SciPy is there (it is optional), else the COO
    product of ops/sparse.py over S's elements."""
    sps = _scipy() if v.dtype.type in _MM_DTYPES else None  # (an empty product may be int)
    if sps is None:
        product = _spmm_t if transposed else _spmm_fwd
        return product(v.reshape(-1), cpat.coo2d(), x)
    shape, ci, pi = cpat.size, cpat.cidx, cpat.pidx
    if cpat.layout is CSR:
        a = sps.csr_matrix((v, pi, ci), shape=shape)
    elif cpat.layout is CSC:
        a = sps.csc_matrix((v, pi, ci), shape=shape)
    elif cpat.layout is BSR:
        a = sps.bsr_matrix((v, pi, ci), shape=shape)
    else:  # a BSC matrix is the transpose of a BSR one with the blocks transposed
        a = sps.bsr_matrix((v.swapaxes(1, 2), pi, ci), shape=shape[::-1]).T
    return np.asarray((a.T if transposed else a) @ x, dtype=x.dtype)


class _Mm(Op):
    """sparse (m, k) @ dense (k, ...) or, with ``right``, dense (..., k) @ sparse (k, n). The
    sparse operand's gradient is dense (``torch.mm``/``@``) or values-shaped (mode "sparse",
    ``torch.sparse.mm``); where torch's backward needs a product it has no CPU kernel for, it
    raises torch's error."""

    @staticmethod
    def forward(ctx, v, d, cpat, mode, right):
        ctx.saved = (v, d)
        ctx.cpat, ctx.mode, ctx.right = cpat, mode, right
        ctx._bname = {"mm": "MmBackward0", "mv": "MvBackward0"}.get(mode, "SparseAddmmBackward0")
        if right and d.ndim > 2:  # torch folds the batch dims in and views them out
            ctx._bname = "UnsafeViewBackward0"
        if right:
            k, n = cpat.size
            out = _times(v, cpat, d.reshape(-1, k).T, transposed=True).T
            return np.ascontiguousarray(out).reshape(d.shape[:-1] + (n,))
        out = _times(v, cpat, d if d.ndim == 2 else d.reshape(-1, 1))
        out = out.astype(v.dtype, copy=False)  # an empty product may mix dtypes: torch's first
        return out if d.ndim == 2 else out.reshape(-1)

    @staticmethod
    def backward(ctx, g):
        v, d = ctx.saved
        cpat, need, layout = ctx.cpat, ctx._needs, ctx.cpat.layout
        if np.iscomplexobj(v):
            v, d = v.conj(), d.conj()
        gv = gd = None
        if ctx.right:
            k, n = cpat.size
            d2, g2 = d.reshape(-1, k), g.reshape(-1, n)
            if need[0]:
                gv = d2.T @ g2
            if need[1]:
                if layout is BSC:
                    raise RuntimeError(
                        "addmm: computation on CPU is not implemented for Strided + Strided @ "
                        "SparseBsr"
                    )
                gd = np.ascontiguousarray(_times(v, cpat, g2.T).T).reshape(d.shape)
            return gv, gd, None, None, None
        vec = d.ndim == 1
        g2 = g.reshape(-1, 1) if vec else g
        d2 = d.reshape(-1, 1) if vec else d
        if need[0]:
            if ctx.mode == "sparse":
                if layout is not CSR:
                    raise RuntimeError(
                        "sparse_addmm_sparse_backward: unsupported combination of layouts, grad: "
                        f"Strided, mat1: {LAYOUT_NAME[layout]}, mat2: Strided"
                    )
                gv = _sampled_dot(g2, d2, cpat.coo2d()).reshape(v.shape)
            else:
                gv = g2 @ d2.T
        if need[1]:
            if layout is BSR:  # torch's backward multiplies by the BSC transpose
                raise RuntimeError(
                    "torch.addmv: operation not supported for mat with SparseBsc layout"
                    if vec
                    else "addmm: computation on CPU is not implemented for Strided + SparseBsc @ "
                    "Strided"
                )
            gd = _times(v, cpat, g2, transposed=True)
            if vec:
                gd = gd.reshape(-1)
        return gv, gd, None, None, None


# --- construction -----------------------------------------------------------------------------


def _index_array(x):
    """Indices as given: a tensor keeps its dtype, a list becomes what ``torch.tensor`` makes."""
    if isinstance(x, Tensor):
        return x._host()
    return _tensor(x)._host()


def _infer_size(cidx, pidx, vshape, layout) -> tuple:
    cn, pn = _INDEX_NAMES[layout]
    if cidx.ndim < 1:
        raise RuntimeError(f"{cn} must have dimensionality >= 1 but got {cidx.ndim}")
    if cidx.ndim != pidx.ndim:
        raise RuntimeError(
            f"{cn} and {pn} dimensionalities must be equal but got {cidx.ndim} and {pidx.ndim}, "
            "respectively"
        )
    nb = cidx.ndim - 1
    nblk = 2 if layout in _BLOCKED else 0
    if len(vshape) <= nb + nblk:
        raise RuntimeError(
            "values must have dimensionality > sum of batch and block dimensionalities "
            f"(={nb} + {nblk}) but got {len(vshape)}"
        )
    if pidx.dtype.kind not in "iu":
        raise NotImplementedError(
            '"estimate_sparse_compressed_tensor_size" not implemented for '
            f"'{_scalar(pidx.dtype)}'"
        )
    r, c = vshape[nb + 1 : nb + 3] if nblk else (1, 1)
    ncomp = cidx.shape[-1] - 1
    nplain = int(pidx.max()) + 1 if pidx.size else 0
    if layout in _ROW_MAJOR:
        base = (ncomp * r, nplain * c)
    else:
        base = (nplain * r, ncomp * c)
    return tuple(cidx.shape[:-1]) + base + tuple(vshape[nb + 1 + nblk :])


def _validate(cidx, pidx, vshape, size, layout) -> None:
    """torch's checks of ``check_invariants=True``, in its order, with its messages."""
    cn, pn = _INDEX_NAMES[layout]
    if cidx.ndim < 1:
        raise RuntimeError(f"{cn} must have dimensionality >= 1 but got {cidx.ndim}")
    if cidx.ndim != pidx.ndim:
        raise RuntimeError(
            f"{cn} and {pn} dimensionalities must be equal but got {cidx.ndim} and {pidx.ndim}, "
            "respectively"
        )
    nb = cidx.ndim - 1
    blocked = layout in _BLOCKED
    nblk = 2 if blocked else 0
    if len(vshape) <= nb + nblk:
        raise RuntimeError(
            "values must have dimensionality > sum of batch and block dimensionalities "
            f"(={nb} + {nblk}) but got {len(vshape)}"
        )
    dd = len(vshape) - nb - 1 - nblk
    if len(size) != nb + 2 + dd:
        raise RuntimeError(
            "tensor dimensionality must be sum of batch, base, and dense dimensionalities "
            f"(={nb} + 2 + {dd}) but got {len(size)}"
        )
    block = tuple(vshape[nb + 1 : nb + 3]) if blocked else (1, 1)
    for i in (0, 1):
        if block[i] and size[nb + i] % block[i]:
            raise RuntimeError(
                f"tensor shape[{nb + i}] (={size[nb + i]}) must be divisible with blocksize[{i}] "
                f"(={block[i]}) as defined by values shape"
            )
    batch = list(size[:nb])
    cb, pb, vb = list(cidx.shape[:-1]), list(pidx.shape[:-1]), list(vshape[:nb])
    if not cb == pb == vb == batch:
        raise RuntimeError(
            f"all batch dimensions of {cn} (={cb}), {pn} (={pb}), and values (={vb}) must be "
            f"equal to tensor batch dimensions (={batch})"
        )
    rowwise = layout in _ROW_MAJOR
    m = size[nb] // block[0] if block[0] else 0
    n = size[nb + 1] // block[1] if block[1] else 0
    ncomp, nplain = (m, n) if rowwise else (n, m)
    if cidx.shape[-1] != ncomp + 1:
        raise RuntimeError(
            f"{cn}.shape[-1] must be equal to the number of {_COUNTED[layout]} + 1 "
            f"(={ncomp + 1}), but got {cidx.shape[-1]}"
        )
    nnz = vshape[nb]
    if pidx.shape[-1] != nnz:
        raise RuntimeError(
            f"{pn}.shape[-1] must be equal to nnz (={nnz}) as defined by values.shape[{nb}], "
            f"but got {pidx.shape[-1]}"
        )
    if cidx.dtype != pidx.dtype:
        raise RuntimeError(
            f"{cn} and {pn} must have the same dtype, bot got {_scalar(cidx.dtype)} and "
            f"{_scalar(pidx.dtype)}, respectively"
        )
    if cidx.dtype not in (np.int32, np.int64):
        raise RuntimeError(
            f"{cn} and {pn} dtype must be Int or Long, but got {_scalar(cidx.dtype)}"
        )
    pdim, cdims = ("ncols", "nrows") if rowwise else ("nrows", "ncols")
    if pidx.size and (pidx.min() < 0 or pidx.max() >= nplain):
        raise _unsatisfied(f"0 <= {pn} < {pdim}")
    unsorted = _unsatisfied(
        f"{pn}[..., {cn}[..., i - 1]:{cn}[..., i]] for all i = 1, ..., {cdims} are sorted and "
        "distinct along the last dimension values"
    )
    c2 = cidx.reshape(-1, ncomp + 1).astype(np.int64)
    p2 = pidx.reshape(len(c2), nnz).astype(np.int64)
    for b in range(len(c2)):  # torch checks one batch after the other
        c = c2[b]
        if c[0] != 0:
            raise _unsatisfied(f"{cn}[..., 0] == 0")
        if c[-1] != nnz:
            raise _unsatisfied(f"{cn}[..., -1] == nnz")
        # row by row: the row's length, then the order of its plain indices
        steps = np.diff(c)
        bad = np.flatnonzero((steps < 0) | (steps > nplain))
        rows = int(bad[0]) if len(bad) else ncomp
        # a row that runs past nnz reads beyond the plain indices: torch finds it unsorted
        if ((c[1 : rows + 1] > nnz) & (steps[:rows] > 1)).any():
            raise unsorted
        end = int(c[rows])
        if end > 1:
            row_of = np.searchsorted(c[: rows + 1], np.arange(end), side="right") - 1
            if ((row_of[1:] == row_of[:-1]) & (p2[b, 1:end] <= p2[b, : end - 1])).any():
                raise unsorted
        if len(bad):
            raise _unsatisfied(f"0 <= {cn}[..., 1:] - {cn}[..., :-1] <= {pdim}")


def sparse_compressed_tensor(
    compressed_indices,
    plain_indices,
    values,
    size=None,
    *,
    dtype=None,
    layout=None,
    device=None,
    pin_memory: bool = False,
    requires_grad: bool = False,
    check_invariants=None,
) -> SparseCompressedTensor:
    """A sparse CSR, CSC, BSR or BSC tensor (``layout``) from its indices and values.

    As torch: the index dtype is kept (int64 or int32), the size is inferred when not given,
    the indices are checked only with ``check_invariants=True`` (or under
    ``torch.sparse.check_sparse_tensor_invariants``), and values that require grad get a
    gradient only when ``size`` is given.
    """
    if layout not in COMPRESSED:
        name = "none" if layout is None else LAYOUT_NAME.get(layout, str(layout))
        raise RuntimeError(
            f"sparse_compressed_tensor expected sparse compressed tensor layout but got {name}"
        )
    cidx, pidx = _index_array(compressed_indices), _index_array(plain_indices)
    if isinstance(values, Tensor):
        v = values if dtype is None else values.to(dtype)
    else:
        v = _tensor(values, dtype=dtype)
    vshape = tuple(v.shape)
    given = size is not None
    size = tuple(int(s) for s in size) if given else _infer_size(cidx, pidx, vshape, layout)
    if invariants_checked() if check_invariants is None else check_invariants:
        _validate(cidx, pidx, vshape, size, layout)
    nb = max(cidx.ndim - 1, 0)
    blocksize = tuple(vshape[nb + 1 : nb + 3]) if layout in _BLOCKED else None
    cpat = _CPattern(layout, cidx, pidx, size, blocksize)
    if v._rg:
        out = _FromValues.apply(v, cpat) if given else _NoDerivative.apply(v)
        return _make(out, cpat, layout)
    out = _make(_wrap(v._data), cpat, layout)
    if requires_grad:
        if not (out.dtype.is_floating_point or out.dtype.is_complex):
            raise RuntimeError(
                "Only Tensors of floating point and complex dtype can require gradients"
            )
        out.requires_grad_(True)
    return out


def sparse_csr_tensor(
    crow_indices,
    col_indices,
    values,
    size=None,
    *,
    dtype=None,
    device=None,
    pin_memory: bool = False,
    requires_grad: bool = False,
    check_invariants=None,
) -> SparseCompressedTensor:
    """A sparse CSR tensor (rows compressed), as torch.sparse_csr_tensor."""
    return sparse_compressed_tensor(
        crow_indices,
        col_indices,
        values,
        size,
        dtype=dtype,
        layout=CSR,
        requires_grad=requires_grad,
        check_invariants=check_invariants,
    )


def sparse_csc_tensor(
    ccol_indices,
    row_indices,
    values,
    size=None,
    *,
    dtype=None,
    device=None,
    pin_memory: bool = False,
    requires_grad: bool = False,
    check_invariants=None,
) -> SparseCompressedTensor:
    """A sparse CSC tensor (columns compressed), as torch.sparse_csc_tensor."""
    return sparse_compressed_tensor(
        ccol_indices,
        row_indices,
        values,
        size,
        dtype=dtype,
        layout=CSC,
        requires_grad=requires_grad,
        check_invariants=check_invariants,
    )


def sparse_bsr_tensor(
    crow_indices,
    col_indices,
    values,
    size=None,
    *,
    dtype=None,
    device=None,
    pin_memory: bool = False,
    requires_grad: bool = False,
    check_invariants=None,
) -> SparseCompressedTensor:
    """A sparse BSR tensor (rows of blocks compressed; values (nnz, r, c, ...)), as
    torch.sparse_bsr_tensor."""
    return sparse_compressed_tensor(
        crow_indices,
        col_indices,
        values,
        size,
        dtype=dtype,
        layout=BSR,
        requires_grad=requires_grad,
        check_invariants=check_invariants,
    )


def sparse_bsc_tensor(
    ccol_indices,
    row_indices,
    values,
    size=None,
    *,
    dtype=None,
    device=None,
    pin_memory: bool = False,
    requires_grad: bool = False,
    check_invariants=None,
) -> SparseCompressedTensor:
    """A sparse BSC tensor (columns of blocks compressed; values (nnz, r, c, ...)), as
    torch.sparse_bsc_tensor."""
    return sparse_compressed_tensor(
        ccol_indices,
        row_indices,
        values,
        size,
        dtype=dtype,
        layout=BSC,
        requires_grad=requires_grad,
        check_invariants=check_invariants,
    )


# --- conversions ------------------------------------------------------------------------------


def _blocksize(blocksize, fname: str) -> tuple:
    bs = (blocksize, blocksize) if isinstance(blocksize, int) else tuple(int(b) for b in blocksize)
    if len(bs) != 2:
        raise RuntimeError(f"{fname}: blocksize needs to be a tuple of size 2, but got {len(bs)}")
    if bs[0] <= 0 or bs[1] <= 0:
        raise RuntimeError(f"{fname}: blocksize needs to be positive, but got {list(bs)}")
    return bs


def _check_divisible(size2: tuple, bs: tuple, fname: str) -> None:
    if size2[0] % bs[0] or size2[1] % bs[1]:
        raise RuntimeError(
            f"{fname}: tensor sparse size ({size2[0]},{size2[1]}) must be divisible by given "
            f"blocksize ({bs[0]},{bs[1]})"
        )


def _not_supported(fname: str, src, dst, what: str) -> RuntimeError:
    return RuntimeError(
        f"{fname}: conversion from {LAYOUT_NAME[src]} to {LAYOUT_NAME[dst]} {what} is not supported"
    )


def _changed(fname: str, src, dst, old: tuple, new: tuple) -> RuntimeError:
    return _not_supported(
        fname, src, dst, f"with blocksize changed from {list(old)} to {list(new)}"
    )


def _from_dense(x: Tensor, layout, blocksize, dense_dim, fname: str, name: str):
    """The compressed form of a dense tensor (batch dims: those before the last two and the
    dense ones); an element is specified where any of its dense entries is non-zero."""
    nd = x.dim()
    dd = 0 if dense_dim is None else int(dense_dim)
    if layout in _BLOCKED:
        if dd < 0:
            raise RuntimeError(
                f"{fname}: dense_dim argument must be in [0,{nd - 2}] range, but {dd} is given"
            )
        if nd < 2 + dd:  # torch looks up dim -(2 + dense_dim)
            if nd == 0:
                raise IndexError("Dimension specified as -2 but tensor has no dimensions")
            raise IndexError(
                f"Dimension out of range (expected to be in range of [{-nd}, {nd - 1}], but got "
                f"{-2 - dd})"
            )
    else:
        if dense_dim is not None and not 0 <= dd <= nd - 2:
            raise RuntimeError(
                f"{fname}: dense_dim argument must be in [0,{nd - 2}] range, but {dd} is given"
            )
        if nd < 2:  # torch's own lookups fail first
            if layout is CSC:
                raise IndexError(
                    "Dimension out of range (expected to be in range of [-1, 0], but got 1)"
                )
            nz = int(np.count_nonzero(x._host()))
            raise IndexError(
                f"select(): index 1 out of range for tensor of size [{nz}, {nd}] at dimension 1"
            )
    a = x._host()
    nb = nd - 2 - dd
    if layout in _BLOCKED:
        _check_divisible(a.shape[nb : nb + 2], blocksize, fname)
    bshape = a.shape[:nb]
    bsz = int(np.prod(bshape))
    m, n = a.shape[nb : nb + 2]
    dense = a.shape[nb + 2 :]
    nz = (a != 0).reshape((bsz, m, n, int(np.prod(dense))))
    b, rows, cols = np.nonzero(nz.any(axis=3) if dense else nz[..., 0])
    cpat = _pattern_from_elements(b, rows, cols, layout, a.shape, blocksize, bshape, np.int64)
    out = _FromDense.apply(x, cpat, _values_shape(cpat, dense), name)
    return _make(out, cpat, layout)


def _from_coo(x: SparseTensor, layout, blocksize, name: str):
    x = coalesce(x)
    pat = x._pat
    rows, cols = pat.ind
    n = pat.size[1]
    zero = np.zeros(len(rows), np.int64)
    cpat = _pattern_from_elements(zero, rows, cols, layout, pat.size, blocksize, (), np.int64)
    dense = _dense_shape(cpat)
    take = _locate(rows * n + cols, cpat.lin())
    # torch hands a COO input the gradient of every block entry, not only of its own entries
    back = cpat if layout in _BLOCKED else None
    out = _Regather.apply(x, take, _values_shape(cpat, dense), len(dense), name, None, back)
    return _make(out, cpat, layout)


def _to_coo(x: SparseCompressedTensor, name: str) -> SparseTensor:
    cpat = x._pat
    bsz, m, n = cpat.grid
    lin = cpat.lin()
    ind = np.stack(np.unravel_index(lin, cpat.bshape + (m, n))).astype(np.int64)
    ind = ind.reshape(len(cpat.bshape) + 2, len(lin))
    # torch's flag: set for row-major elements, or at most one block per batch
    ordered = cpat.layout is CSR or (cpat.layout is BSR and cpat.block[0] == 1) or cpat.nnz <= 1
    dense = _dense_shape(cpat)
    take = np.arange(len(lin))
    out = _Regather.apply(x, take, (len(lin),) + dense, len(dense), name, None, None)
    return _make(out, _Pattern(ind, cpat.size, ordered))


def _recompress(x: SparseCompressedTensor, layout, blocksize, name: str, refuse=None):
    src = x._pat
    b, rows, cols = _elements_of(src)
    cpat = _pattern_from_elements(
        b, rows, cols, layout, src.size, blocksize, src.bshape, src.cidx.dtype
    )
    dense = _dense_shape(cpat)
    take = _locate(src.lin(), cpat.lin())
    out = _Regather.apply(x, take, _values_shape(cpat, dense), len(dense), name, refuse, None)
    return _make(out, cpat, layout)


def _compressed_to(x: SparseCompressedTensor, dst, blocksize, dense_dim, fname: str, name: str):
    """A compressed tensor in another compressed layout (the checks of torch's
    ``sparse_compressed_to_sparse_<layout>``)."""
    src = x._layout
    if dense_dim is not None:
        raise _not_supported(fname, src, dst, "with dense_dim argument given")
    if dst not in _BLOCKED:
        if src in _BLOCKED:
            raise RuntimeError(
                f"{fname}: expected SparseCsr or SparseCsc layout but got {LAYOUT_NAME[src]}"
            )
        return _recompress(x, dst, None, name)
    if src in _BLOCKED:
        if tuple(blocksize) != x._pat.blocksize:
            raise _changed(fname, src, dst, x._pat.blocksize, blocksize)
    elif x._pat.bshape:
        raise _not_supported(fname, src, dst, "for batched inputs")
    nb = len(x._pat.bshape)
    _check_divisible(x._pat.size[nb : nb + 2], blocksize, fname)
    # torch's backward turns a blocked gradient back into CSR/CSC, which it refuses
    refuse = (
        None
        if src in _BLOCKED
        else f"sparse_compressed_{_METHOD[src]}: expected SparseCsr or SparseCsc layout but got "
        f"{LAYOUT_NAME[dst]}"
    )
    return _recompress(x, dst, blocksize, name, refuse)


def _to_layout_method(x: Tensor, dst, blocksize, dense_dim):
    """``x.to_sparse_csr()`` and its siblings."""
    method = _METHOD[dst]
    src = _layout_of(x)
    name = _GRAD_NAME[dst]
    if src is dst:
        if dense_dim is not None:
            raise _not_supported(method, src, dst, "with dense_dim argument given")
        if dst in _BLOCKED and _blocksize(blocksize, method) != x._pat.blocksize:
            raise _changed(method, src, dst, x._pat.blocksize, _blocksize(blocksize, method))
        return x
    if src is STRIDED:
        fname = "dense_" + method
        bs = _blocksize(blocksize, fname) if dst in _BLOCKED else None
        return _from_dense(x, dst, bs, dense_dim, fname, name)
    if src is COO:
        fname = "coo_" + method
        if dense_dim is not None:
            raise _not_supported(fname, src, dst, "with dense_dim argument given")
        bs = _blocksize(blocksize, fname) if dst in _BLOCKED else None
        if x._pat.sparse_dim != 2:
            raise _not_supported(fname, src, dst, "for input tensors with sparse_dim()!=2")
        if bs is not None:
            _check_divisible(x._pat.size[:2], bs, fname)
        return _from_coo(x, dst, bs, name)
    fname = "sparse_compressed_" + method
    bs = _blocksize(blocksize, fname) if dst in _BLOCKED else None
    return _compressed_to(x, dst, bs, dense_dim, fname, name)


def to_sparse_csr(self: Tensor, dense_dim: int | None = None) -> SparseCompressedTensor:
    """``Tensor.to_sparse_csr``: the CSR form of a dense, COO or CSC tensor."""
    return _to_layout_method(self, CSR, None, dense_dim)


def to_sparse_csc(self: Tensor, dense_dim: int | None = None) -> SparseCompressedTensor:
    """``Tensor.to_sparse_csc``: the CSC form of a dense, COO or CSR tensor."""
    return _to_layout_method(self, CSC, None, dense_dim)


def to_sparse_bsr(self: Tensor, blocksize, dense_dim: int | None = None) -> SparseCompressedTensor:
    """``Tensor.to_sparse_bsr``: the BSR form (blocks with any specified element kept)."""
    return _to_layout_method(self, BSR, blocksize, dense_dim)


def to_sparse_bsc(self: Tensor, blocksize, dense_dim: int | None = None) -> SparseCompressedTensor:
    """``Tensor.to_sparse_bsc``: the BSC form (blocks with any specified element kept)."""
    return _to_layout_method(self, BSC, blocksize, dense_dim)


def to_sparse_coo(self: Tensor) -> SparseTensor:
    """``Tensor.to_sparse_coo``: the COO form of a tensor of any layout."""
    return to_sparse(self)


class _Unset:
    """A keyword not passed: torch's parser tells it from one passed as None."""

    def __repr__(self) -> str:
        return "None"


_UNSET = _Unset()


def to_sparse(
    self: Tensor,
    sparse_dim: int | None = None,
    *,
    layout=_UNSET,
    blocksize=_UNSET,
    dense_dim=_UNSET,
) -> Tensor:
    """``Tensor.to_sparse``: the tensor in ``layout`` (COO by default; strided: dense), with
    torch's checks of ``blocksize`` and ``dense_dim`` for each pair of layouts.

    As torch's two overloads: ``to_sparse(sparse_dim)`` alone, or the keywords alone.
    """
    src = _layout_of(self)
    if sparse_dim is not None:
        if any(k is not _UNSET for k in (layout, blocksize, dense_dim)):
            raise TypeError("to_sparse() takes 0 positional arguments but 1 was given")
        if src is STRIDED:
            return _dense_to_coo(self, sparse_dim)
        if src is COO:
            if int(sparse_dim) != self._pat.sparse_dim:
                raise _not_supported(
                    "to_sparse", src, src, "with sparse_dim argument !=self.sparse_dim()"
                )
            return self
        if int(sparse_dim) != 2:
            raise _not_supported(
                "sparse_compressed_to_sparse", src, COO, "with sparse_dim argument !=2"
            )
        return _to_coo(self, "ToSparseBackward0")
    layout, blocksize, dense_dim = (
        None if k is _UNSET else k for k in (layout, blocksize, dense_dim)
    )
    dst = COO if layout is None else layout
    bs = None
    if blocksize is not None:
        bs = (blocksize, blocksize) if isinstance(blocksize, int) else tuple(blocksize)
    if src is dst:
        if dst in _BLOCKED:
            if bs is None:
                raise _not_supported("to_sparse", src, dst, "without blocksize argument given")
            if bs != self._pat.blocksize:
                raise _changed("to_sparse", src, dst, self._pat.blocksize, bs)
        elif bs is not None:
            raise _not_supported("to_sparse", src, dst, "with blocksize argument given")
        if dense_dim is not None:
            if src is STRIDED:
                if not 0 <= int(dense_dim) <= self.dim() - 2:
                    raise RuntimeError(
                        f"to_sparse: dense_dim argument must be in [0,{self.dim() - 2}] range, "
                        f"but {dense_dim} is given"
                    )
            else:
                raise _not_supported("to_sparse", src, dst, "with dense_dim argument given")
        return self
    fname = {STRIDED: "dense_to_sparse", COO: "sparse_coo_to_sparse"}.get(
        src, "sparse_compressed_to_sparse"
    )
    name = "ToSparseBackward1"
    if dst in _BLOCKED:
        if bs is None:
            raise _not_supported(fname, src, dst, "without blocksize argument given")
        if src in _BLOCKED and bs != self._pat.blocksize:
            raise _changed(fname, src, dst, self._pat.blocksize, bs)
        bs = _blocksize(bs, fname)
        if src is STRIDED:
            return _from_dense(self, dst, bs, dense_dim, fname, name)
        nb = len(self._pat.bshape) if src in COMPRESSED else 0
        _check_divisible(self._pat.size[nb : nb + 2], bs, fname)
        if dense_dim is not None:
            raise _not_supported(fname, src, dst, "with dense_dim argument given")
    else:
        if bs is not None:
            raise _not_supported(fname, src, dst, "with blocksize argument given")
        if dense_dim is not None and src is not STRIDED:
            raise _not_supported(fname, src, dst, "with dense_dim argument given")
    if dst is STRIDED:
        return self.to_dense()
    if dst is COO:
        if src is STRIDED:
            return _dense_to_coo(self, dense_dim=dense_dim)
        return _to_coo(self, name)
    if src is STRIDED:
        return _from_dense(self, dst, bs, dense_dim, fname, name)
    if src is COO:
        method = "coo_" + _METHOD[dst]
        if self._pat.sparse_dim != 2:
            raise _not_supported(method, src, dst, "for input tensors with sparse_dim()!=2")
        return _from_coo(self, dst, bs, name)
    return _compressed_to(self, dst, bs, None, "sparse_compressed_" + _METHOD[dst], name)


# --- the Tensor methods for any layout ----------------------------------------------------------


def _index_getter(name: str, layouts: tuple, which: int, kind: str):
    def get(self: Tensor) -> Tensor:
        lay = _layout_of(self)
        if lay not in layouts:
            raise RuntimeError(
                f"{name} expected sparse {kind} compressed tensor layout but got "
                + LAYOUT_NAME[lay]
            )
        return _wrap(self._pat.cidx if which == 0 else self._pat.pidx)

    get.__name__ = name
    get.__doc__ = f"``Tensor.{name}``: the {kind}-compressed layouts' index tensor, as torch."
    return get


crow_indices = _index_getter("crow_indices", _ROW_MAJOR, 0, "row")
col_indices = _index_getter("col_indices", _ROW_MAJOR, 1, "row")
ccol_indices = _index_getter("ccol_indices", (CSC, BSC), 0, "column")
row_indices = _index_getter("row_indices", (CSC, BSC), 1, "column")


def dense_values(self: Tensor) -> Tensor:
    """``Tensor.values`` on a dense tensor: torch's error."""
    raise RuntimeError("values expected sparse tensor layout but got Strided")


# --- the tensor type --------------------------------------------------------------------------


def _check_mm(s: SparseCompressedTensor, d, mode: str) -> None:
    """torch's checks of sparse compressed @ dense, in its order."""
    lay = s._layout
    if not isinstance(d, Tensor):
        raise TypeError(f"mm(): argument 'mat2' must be Tensor, not {type(d).__name__}")
    if isinstance(d, SparseTensor):
        if lay in _BLOCKED:
            raise RuntimeError(
                "zeros_sparse_compressed expected sparse compressed (non-block) tensor layout "
                f"but got {LAYOUT_NAME[lay]}"
            )
        if d._layout is COO:
            raise RuntimeError(
                f"addmm: computation on CPU is not implemented for {LAYOUT_NAME[lay]} + "
                f"{LAYOUT_NAME[lay]} @ Sparse"
            )
        raise NotImplementedError("ember does not implement sparse @ sparse yet")
    if mode == "sparse" and d.dim() != 2:
        raise RuntimeError(f"mat2 must be a matrix, got {d.dim()}-D tensor")
    if d.dim() == 0:
        raise RuntimeError(
            f"both arguments to matmul need to be at least 1D, but they are {s.dim()}D and 0D"
        )
    if d.dim() > 2:
        raise RuntimeError(f"expand is unsupported for {LAYOUT_NAME[lay]} tensors")
    if s.dim() != 2:
        raise RuntimeError(f"Sparse {_SHORT[lay]} tensors do not have strides")
    m, k = s.shape
    if d.shape[0] != k:
        if d.dim() == 1:
            raise RuntimeError(f"size mismatch, got input ({m}), mat ({m}x{k}), vec ({d.shape[0]})")
        raise RuntimeError(
            f"mat1 and mat2 shapes cannot be multiplied ({m}x{k} and {d.shape[0]}x{d.shape[1]})"
        )
    if lay is BSC and d.dim() == 1:
        raise RuntimeError("torch.addmv: operation not supported for mat with SparseBsc layout")
    if s._pat.nnz == 0 or m == 0 or (d.dim() == 2 and d.shape[1] == 0):
        # torch returns the zero product before looking at layouts and dtypes
        if d.dim() == 1 and d.dtype != s.dtype:
            raise RuntimeError(
                "addmv input tensors must have the same dtype, but got "
                f"{_scalar(d.dtype)}, {_scalar(s.dtype)}, and {_scalar(d.dtype)}"
            )
        return
    if lay is BSC:
        raise RuntimeError(
            "addmm: computation on CPU is not implemented for Strided + SparseBsc @ Strided"
        )
    _check_mm_dtypes(s, s, d)


def _check_mm_dtypes(s: SparseCompressedTensor, first: Tensor, second: Tensor) -> None:
    if first._data.dtype.type not in _MM_DTYPES:
        raise NotImplementedError(
            f"\"addmm_out_sparse_csr_impl_mkl\" not implemented for '{_scalar(first.dtype)}'"
        )
    if s._layout in _BLOCKED and s._pat.blocksize[0] != s._pat.blocksize[1]:
        raise RuntimeError("MKL Sparse doesn't support matrices with non-square blocks.")
    if first.dtype != second.dtype:
        raise RuntimeError(
            f"expected scalar type {_scalar(first.dtype)} but found {_scalar(second.dtype)}"
        )


def _check_rmm(s: SparseCompressedTensor, d) -> None:
    """torch's checks of dense @ sparse compressed, in its order."""
    lay = s._layout
    if isinstance(d, SparseTensor):  # only COO @ compressed reaches here
        raise RuntimeError(
            f"addmm: computation on CPU is not implemented for {LAYOUT_NAME[d._layout]} + "
            f"{LAYOUT_NAME[d._layout]} @ {LAYOUT_NAME[lay]}"
        )
    if d.dim() == 0:
        raise RuntimeError(
            f"both arguments to matmul need to be at least 1D, but they are 0D and {s.dim()}D"
        )
    if s.dim() != 2:
        raise RuntimeError(f"expand is unsupported for {LAYOUT_NAME[lay]} tensors")
    k, n = s.shape
    if d.shape[-1] != k:
        rows = int(np.prod(d.shape[:-1]))
        raise RuntimeError(
            f"mat1 and mat2 shapes cannot be multiplied ({rows}x{d.shape[-1]} and {k}x{n})"
        )
    if s._pat.nnz == 0 or int(np.prod(d.shape[:-1])) == 0 or n == 0:
        return  # torch returns the zero product before looking at layouts and dtypes
    if lay is BSR:
        raise RuntimeError(
            "addmm: computation on CPU is not implemented for Strided + Strided @ SparseBsr"
        )
    _check_mm_dtypes(s, d, s)


def _unsupported_layout(s: SparseCompressedTensor) -> RuntimeError:
    return RuntimeError(f"unsupported tensor layout: {LAYOUT_NAME[s._layout]}")


def _same_indices(a: _CPattern, b: _CPattern) -> bool:
    return a is b or (
        a.cidx.dtype == b.cidx.dtype
        and a.cidx.shape == b.cidx.shape
        and a.pidx.shape == b.pidx.shape
        and bool((a.cidx == b.cidx).all() and (a.pidx == b.pidx).all())
    )


class SparseCompressedTensor(SparseTensor):
    """A sparse CSR, CSC, BSR or BSC tensor (``layout`` tells which), as torch's.

    ``_data`` holds the values (*batch, nnz, [*blocksize], *dense); ``_pat`` the indices.
    """

    def dense_dim(self) -> int:
        nblk = 2 if self._layout in _BLOCKED else 0
        return self._data.ndim - len(self._pat.bshape) - 1 - nblk

    def values(self) -> Tensor:
        return _values_view(self)

    def _values(self) -> Tensor:
        raise NotImplementedError(no_kernel("_values"))

    def _indices(self) -> Tensor:
        raise NotImplementedError(no_kernel("_indices"))

    def indices(self) -> Tensor:
        self._coo_only("indices")

    def to_dense(self, dtype=None, *, masked_grad=None) -> Tensor:
        out = _ToDense.apply(self, self._pat)
        return out if dtype is None else out.to(dtype)

    # --- graph fields --------------------------------------------------------------------
    @property
    def grad(self):
        return self.__dict__.get("_sgrad")

    @grad.setter
    def grad(self, g) -> None:
        if g is not None and not isinstance(g, SparseTensor) and g.ndim == self._data.ndim:
            # the pattern's entries: torch keeps them only for CSR, with int64 indices
            if self._layout is not CSR:
                raise RuntimeError(
                    f"Sparse {_SHORT[self._layout]} tensors do not have is_contiguous"
                )
            p = self._pat
            cpat = _CPattern(CSR, p.cidx.astype(np.int64), p.pidx.astype(np.int64), p.size, None)
            g = _make(_wrap(g._data), cpat, CSR)
        self.__dict__["_sgrad"] = g

    # --- what torch refuses --------------------------------------------------------------
    def is_contiguous(self, memory_format=None) -> bool:
        raise RuntimeError(f"Sparse {_SHORT[self._layout]} tensors do not have is_contiguous")

    def stride(self, dim=None):
        raise RuntimeError(f"Sparse {_SHORT[self._layout]} tensors do not have strides")

    def numpy(self, *, force: bool = False):
        raise TypeError(
            f"can't convert {LAYOUT_NAME[self._layout]} layout tensor to numpy. Use "
            "Tensor.to_dense() first."
        )

    def tolist(self):
        raise RuntimeError("Cannot access data pointer of Tensor that doesn't have storage")

    def _compare(self, other):
        raise _unsupported_layout(self)

    __eq__ = __ne__ = __lt__ = __le__ = __gt__ = __ge__ = _compare
    __hash__ = Tensor.__hash__  # defining __eq__ would drop it

    def item(self):
        if self.numel() != 1:
            raise RuntimeError(
                f"a Tensor with {self.numel()} elements cannot be converted to Scalar"
            )
        return self.to_dense().item()

    # --- shape ---------------------------------------------------------------------------
    def t(self) -> SparseCompressedTensor:
        if self.dim() > 2:
            raise RuntimeError(
                f"t() expects a tensor with <= 2 dimensions, but self is {self.dim()}D"
            )
        return self._swap_sparse_dims()

    def transpose(self, dim0: int, dim1: int) -> SparseCompressedTensor:
        nb = len(self._pat.bshape)
        dims = {d % self.dim() for d in (dim0, dim1)}
        if dims != {nb, nb + 1}:
            raise NotImplementedError(
                "ember does not implement transposing a sparse compressed tensor's batch or "
                "dense dims yet"
            )
        return self._swap_sparse_dims()

    def _swap_sparse_dims(self) -> SparseCompressedTensor:
        """The transpose of each matrix: the other orientation of the same indices."""
        p = self._pat
        nb = len(p.bshape)
        layout = {CSR: CSC, CSC: CSR, BSR: BSC, BSC: BSR}[self._layout]
        blocked = layout in _BLOCKED
        size = list(p.size)
        size[nb], size[nb + 1] = size[nb + 1], size[nb]
        cpat = _CPattern(layout, p.cidx, p.pidx, size, p.blocksize[::-1] if blocked else None)
        return _make(_Transpose.apply(self, nb, blocked), cpat, layout)

    # --- products ------------------------------------------------------------------------
    def _mm_dense(self, other, mode: str) -> Tensor:
        """self @ other for ``torch.mm``/``@`` (mode "mm") or ``torch.sparse.mm`` ("sparse")."""
        _check_mm(self, other, mode)
        if mode != "sparse" and other.dim() == 1:
            mode = "mv"
        return _Mm.apply(self, other, self._pat, mode, False)

    def _rmm_dense(self, other: Tensor, mode: str = "mm") -> Tensor:
        """other @ self (``dense @ sparse``); ``torch.sparse.mm(dense, sparse)`` (mode "sparse")
        is torch's ``(sparse.t() @ dense.t()).t()``, with that product's checks and gradient."""
        if mode == "sparse":
            if other.dim() < 2:
                raise IndexError(
                    "Dimension out of range (expected to be in range of [-1, 0], but got -2)"
                )
            flipped = self._swap_sparse_dims()._mm_dense(other.transpose(-2, -1), "sparse")
            return flipped.transpose(-2, -1)
        _check_rmm(self, other)
        return _Mm.apply(self, other, self._pat, "mm", True)

    def __matmul__(self, other):
        if not isinstance(other, Tensor):
            return NotImplemented
        return self._mm_dense(other, "mm")

    def mm(self, other):
        return self._mm_dense(other, "mm")

    def matmul(self, other):
        return self._mm_dense(other, "mm")

    def __rmatmul__(self, other):
        if not isinstance(other, Tensor):
            return NotImplemented
        return self._rmm_dense(other)

    # --- arithmetic ----------------------------------------------------------------------
    def sum(self, dim=None, keepdim=False, dtype=None):
        if dim is None:
            r = reduction.sum(_values_view(self))
            return r if dtype is None else r.to(dtype)
        if self._layout is not CSR:
            raise RuntimeError(
                "Currently the only compressed sparse format supported for sum.dim_IntList is "
                f"CSR, but got layout {LAYOUT_NAME[self._layout]}"
            )
        if not keepdim:
            raise RuntimeError(
                "reduction operations on CSR tensors with keepdim=False is unsupported"
            )
        raise NotImplementedError("ember does not implement sum over a dim of a CSR tensor yet")

    def _scaled(self, other) -> SparseCompressedTensor:
        return _make(arith.mul(_values_view(self), other), self._pat, self._layout)

    def __mul__(self, other):
        if not isinstance(other, Tensor) or (other.dim() == 0 and not other._sparse):
            return self._scaled(other)
        lay = self._layout
        if lay in _BLOCKED:
            raise RuntimeError(
                "empty_sparse_compressed expected sparse compressed (non-block) tensor layout "
                f"but got {LAYOUT_NAME[lay]}"
            )
        if lay is CSC:
            raise RuntimeError("Expected result Tensor to be of format CSR")
        if isinstance(other, SparseCompressedTensor) and _same_indices(self._pat, other._pat):
            return self._scaled(_values_view(other))
        if isinstance(other, SparseTensor):
            raise NotImplementedError(
                "ember does not implement the product of sparse tensors of different patterns"
            )
        if tuple(other.shape) != tuple(self.shape):
            raise NotImplementedError("ember does not implement broadcasting sparse * dense yet")
        entries = _FromDense.apply(other, self._pat, self._data.shape, "SparseMaskBackward0")
        return self._scaled(entries)

    __rmul__ = __mul__
    mul = __mul__

    def __neg__(self):
        return self._scaled(-1)

    def _add(self, other, alpha=1):
        lay = self._layout
        if not isinstance(other, Tensor) or other.dim() == 0:
            raise RuntimeError(
                "add: expected 'self' and 'other' to have same size, but self has size [] while "
                f"other has size {list(self.shape)} (FYI: op2-sparse addition does not "
                "currently support broadcasting)"
            )
        if not isinstance(other, SparseTensor):
            if lay in _BLOCKED:
                raise RuntimeError(
                    f"add: torch has no CPU kernel for {LAYOUT_NAME[lay]} + dense (only CSR/CSC)"
                )
            # torch's kernel scales the sparse operand whichever side alpha was meant for
            d = self.to_dense()
            return arith.add(other, d) if alpha == 1 else arith.add(other, d, alpha=alpha)
        if other._layout is not lay:
            raise NotImplementedError(
                f"ember does not implement adding {LAYOUT_NAME[lay]} and "
                f"{LAYOUT_NAME[other._layout]} tensors"
            )
        if tuple(other.shape) != tuple(self.shape):
            raise RuntimeError(
                "torch.add: Expected input tensors to have the same shape, but got tensor `self` "
                f"with shape {list(self.shape)} and tensor `other` with shape {list(other.shape)}"
            )
        ov = _values_view(other)
        if _same_indices(self._pat, other._pat):
            return _make(arith.add(_values_view(self), ov, alpha=alpha), self._pat, lay)
        if lay is not CSR:
            if lay is BSR:  # torch's MKL call fails
                raise RuntimeError(
                    "add: torch cannot add sparse BSR tensors of different patterns on the CPU"
                )
            raise RuntimeError(
                f"crow_indices expected sparse row compressed tensor layout but got "
                f"{LAYOUT_NAME[lay]}"
            )
        if self._pat.bshape:
            raise NotImplementedError("ember does not implement adding batched CSR tensors yet")
        pa, pb = self._pat, other._pat
        ea, eb = _elements_of(pa), _elements_of(pb)
        coords = (np.concatenate([x, y]) for x, y in zip(ea, eb, strict=True))
        cpat = _pattern_from_elements(*coords, CSR, pa.size, None, (), np.int64)
        lin = cpat.lin()
        out = _UnionAdd.apply(
            self, other, _locate(lin, pa.lin()), _locate(lin, pb.lin()), cpat, alpha
        )
        return _make(out, cpat, CSR)

    def __add__(self, other):
        return self._add(other)

    def __radd__(self, other):
        return self._add(other)

    def add(self, other, *, alpha=1):
        return self._add(other, alpha)

    def __sub__(self, other):
        raise _unsupported_layout(self)

    def __rsub__(self, other):
        raise _unsupported_layout(self)

    def __truediv__(self, other):
        raise _unsupported_layout(self)

    def __rtruediv__(self, other):
        raise _unsupported_layout(self)

    # --- printing ------------------------------------------------------------------------
    def _repr_indices(self) -> str:
        c, p = _INDEX_NAMES[self._layout]
        sep = ",\n       "
        return (
            f"{c}={_fmt(_wrap(self._pat.cidx), len(c) + 8)}{sep}"
            f"{p}={_fmt(_wrap(self._pat.pidx), len(p) + 8)}{sep}"
        )


_CPattern.tensor_class = SparseCompressedTensor

__all__ = [
    "sparse_compressed_tensor",
    "sparse_csr_tensor",
    "sparse_csc_tensor",
    "sparse_bsr_tensor",
    "sparse_bsc_tensor",
]
