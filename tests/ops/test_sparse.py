"""Sparse COO/CSR tensors against torch: construction, coalescing, dense round trips, the
sparse @ dense product with both gradient forms, sums and arithmetic, a GCN layer, errors."""

from __future__ import annotations

import numpy as np
import pytest

import ember
from tests._support.torch_ref import assert_same, torch

pytestmark = pytest.mark.filterwarnings("ignore:Sparse")  # torch's beta/invariant notices

IDX = [[1, 0, 1, 2], [2, 0, 2, 1]]  # unsorted, with a duplicate (1, 2)
VALS = [3.0, 4.0, 5.0, -1.0]


_KEEP = []  # the values leaves (a graph node holds its leaf weakly in ember)


def _both(values=VALS, idx=IDX, size=(3, 3), rg=False, dtype=None):
    ev = ember.tensor(values, dtype=dtype, requires_grad=rg)
    tdt = getattr(torch, str(dtype)[6:]) if dtype else None
    tv = torch.tensor(values, dtype=tdt, requires_grad=rg)
    _KEEP[:] = [ev, tv]
    e = ember.sparse_coo_tensor(ember.tensor(idx), ev, size)
    t = torch.sparse_coo_tensor(torch.tensor(idx), tv, size)
    return e, t


def _same_sparse(e, t):
    assert e.layout is (ember.sparse_coo if t.layout == torch.sparse_coo else ember.sparse_csr)
    assert tuple(e.shape) == tuple(t.shape)
    assert e._nnz() == t._nnz()
    assert str(e.dtype) == str(t.dtype)
    assert_same(e.to_dense(), t.to_dense())
    if t.layout == torch.sparse_coo:
        assert e.is_coalesced() == t.is_coalesced()
        np.testing.assert_array_equal(e._indices().numpy(), t._indices().numpy())
        assert_same(e._values(), t._values())
    else:
        np.testing.assert_array_equal(e.crow_indices().numpy(), t.crow_indices().numpy())
        np.testing.assert_array_equal(e.col_indices().numpy(), t.col_indices().numpy())


def test_construction_and_attributes():
    e, t = _both()
    _same_sparse(e, t)
    assert e.is_sparse and not ember.ones(2).is_sparse
    assert (e.sparse_dim(), e.dense_dim(), e.ndim) == (t.sparse_dim(), t.dense_dim(), t.ndim)
    assert repr(e) == repr(t)
    assert repr(e.shape) == repr(t.shape) and str(e.device) == "cpu"
    # size inferred, float indices accepted as torch does
    e2 = ember.sparse_coo_tensor(ember.tensor(IDX).float(), ember.tensor(VALS))
    t2 = torch.sparse_coo_tensor(torch.tensor(IDX).float(), torch.tensor(VALS))
    _same_sparse(e2, t2)
    # hybrid (dense dims in values), list inputs, int values
    e3 = ember.sparse_coo_tensor([[0, 2]], [[1.0, 2.0], [3.0, 4.0]], (3, 2))
    t3 = torch.sparse_coo_tensor([[0, 2]], [[1.0, 2.0], [3.0, 4.0]], (3, 2))
    _same_sparse(e3, t3)
    assert repr(e3) == repr(t3)
    e4 = ember.sparse_coo_tensor([[0, 1], [1, 0]], [1, 2])
    assert e4.dtype == ember.int64 and repr(e4) == repr(
        torch.sparse_coo_tensor([[0, 1], [1, 0]], [1, 2])
    )
    e5 = ember.sparse_coo_tensor(ember.zeros(2, 0, dtype=ember.long), ember.zeros(0), (2, 2))
    t5 = torch.sparse_coo_tensor(torch.zeros(2, 0, dtype=torch.long), torch.zeros(0), (2, 2))
    assert repr(e5) == repr(t5)


def test_coalesce_and_values():
    e, t = _both(rg=True)
    assert repr(e) == repr(t)
    with pytest.raises(RuntimeError, match="uncoalesced"):
        e.values()
    ec, tc = e.coalesce(), t.coalesce()
    _same_sparse(ec, tc)
    assert repr(ec) == repr(tc)
    assert ec.coalesce() is ec
    assert_same(ec.indices(), tc.indices())
    w = [1.0, 2.0, 3.0]
    (ec.values() * ember.tensor(w)).sum().backward()
    (tc.values() * torch.tensor(w)).sum().backward()
    # values, through the coalesce, back to the original uncoalesced entries
    assert_same(
        e.grad_fn.next_functions[0][0].variable.grad, t.grad_fn.next_functions[0][0].variable.grad
    )


@pytest.mark.parametrize("sparse_dim", [None, 1])
def test_to_sparse_to_dense_round_trip(sparse_dim):
    a = np.array([[0, 1.5, 0], [2.0, 0, 0], [0, 0, 0], [0, -3.0, 4.0]], np.float32)
    x = ember.tensor(a, requires_grad=True)
    tx = torch.tensor(a, requires_grad=True)
    if sparse_dim is None:
        es, ts = x.to_sparse(), tx.to_sparse()
    else:
        es, ts = x.to_sparse(sparse_dim), tx.to_sparse(sparse_dim)
    _same_sparse(es, ts)
    assert repr(es) == repr(ts)
    w = np.arange(12, dtype=np.float32).reshape(4, 3)
    (es.to_dense() * ember.tensor(w)).sum().backward()
    (ts.to_dense() * torch.tensor(w)).sum().backward()
    assert_same(x.grad, tx.grad)  # masked to the pattern, as torch


def test_sparse_mm_grads_values_and_dense():
    rng = np.random.default_rng(0)
    d = rng.standard_normal((3, 4)).astype(np.float32)
    for fn in ("sparse.mm", "spmm", "mm", "matmul", "@"):
        e, t = _both(rg=True)
        ed, td = ember.tensor(d, requires_grad=True), torch.tensor(d, requires_grad=True)
        f = {
            "sparse.mm": lambda m, s, x: m.sparse.mm(s, x),
            "spmm": lambda m, s, x: m.spmm(s, x),
            "mm": lambda m, s, x: m.mm(s, x),
            "matmul": lambda m, s, x: m.matmul(s, x),
            "@": lambda m, s, x: s @ x,
        }[fn]
        ey, ty = f(ember, e, ed), f(torch, t, td)
        assert_same(ey, ty)
        g = rng.standard_normal((3, 4)).astype(np.float32)
        (ey * ember.tensor(g)).sum().backward()
        (ty * torch.tensor(g)).sum().backward()
        assert_same(ed.grad, td.grad)
        ev = e.grad_fn.next_functions[0][0].variable
        tv = t.grad_fn.next_functions[0][0].variable
        assert_same(ev.grad, tv.grad)  # per entry, duplicates each get the product's entry


@pytest.mark.parametrize("fn", ["sparse.mm", "mm", "@"])
def test_sparse_leaf_grad(fn):
    """A sparse leaf: torch.sparse.mm gives a sparse gradient on the pattern, mm/@ a dense one."""
    rng = np.random.default_rng(1)
    d = rng.standard_normal((3, 2)).astype(np.float32)
    x = np.array([[0, 1.0, 0], [2.0, 0, 3.0], [0, 0, 0]], np.float32)
    e = ember.tensor(x).to_sparse().requires_grad_()
    t = torch.tensor(x).to_sparse().requires_grad_()
    f = {
        "sparse.mm": lambda m, s, y: m.sparse.mm(s, y),
        "mm": lambda m, s, y: m.mm(s, y),
        "@": lambda m, s, y: s @ y,
    }[fn]
    f(ember, e, ember.tensor(d)).sum().backward()
    f(torch, t, torch.tensor(d)).sum().backward()
    assert e.grad.is_sparse == t.grad.is_sparse
    if t.grad.is_sparse:
        _same_sparse(e.grad, t.grad)
    else:
        assert_same(e.grad, t.grad)


def test_dense_through_to_sparse_gets_dense_grad():
    x = np.array([[0, 1.0], [2.0, 0]], np.float32)
    d = np.array([[1.0, 2.0], [3.0, -1.0]], np.float32)
    ex, tx = ember.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    (ex.to_sparse() @ ember.tensor(d)).sum().backward()
    (tx.to_sparse() @ torch.tensor(d)).sum().backward()
    assert_same(ex.grad, tx.grad)


def test_spmm_vector_and_gradcheck():
    e, t = _both(dtype=ember.float64)
    v = np.array([1.0, -2.0, 0.5])
    assert_same(ember.mv(e.to_dense(), ember.tensor(v)), torch.mv(t.to_dense(), torch.tensor(v)))
    assert_same(e @ ember.tensor(v), t @ torch.tensor(v))
    s = e.coalesce()
    xd = ember.randn(3, 4, dtype=ember.float64, requires_grad=True)
    assert ember.autograd.gradcheck(lambda x: ember.sparse.mm(s, x), (xd,))
    assert ember.autograd.gradcheck(lambda x: ember.spmm(s, x), (xd,))
    vals = ember.tensor(VALS, dtype=ember.float64, requires_grad=True)
    idx = ember.tensor(IDX)
    assert ember.autograd.gradcheck(
        lambda w: ember.sparse.mm(ember.sparse_coo_tensor(idx, w, (3, 3)), xd.detach()), (vals,)
    )


def test_sums_and_arithmetic():
    e, t = _both(rg=True)
    assert_same(ember.sparse.sum(e), torch.sparse.sum(t))
    for dim in (0, 1, (0, 1)):
        er, tr = ember.sparse.sum(e, dim=dim), torch.sparse.sum(t, dim=dim)
        if tr.is_sparse:
            _same_sparse(er, tr)
        else:
            assert_same(er, tr)
    _same_sparse(e * 2, t * 2)
    _same_sparse(2.5 * e, 2.5 * t)
    _same_sparse(e / 2, t / 2)
    assert repr((e * 2).detach()) == repr((t * 2).detach())
    dense = np.arange(9, dtype=np.float32).reshape(3, 3)
    assert_same(ember.tensor(dense) + e, torch.tensor(dense) + t)
    with pytest.raises(RuntimeError, match=r"add\(sparse, dense\) is not supported"):
        e + ember.tensor(dense)
    assert_same(ember.eye(3) + e, torch.eye(3) + t)
    _same_sparse(e.coalesce() + e.coalesce() * 2, t.coalesce() + t.coalesce() * 2)
    ec, tc = e.coalesce(), t.coalesce()
    _same_sparse(ec - ec * 0.5, tc - tc * 0.5)
    ((ember.eye(3) + e) * ember.tensor(dense)).sum().backward()
    ((torch.eye(3) + t) * torch.tensor(dense)).sum().backward()
    ev = e.grad_fn.next_functions[0][0].variable
    assert_same(ev.grad, t.grad_fn.next_functions[0][0].variable.grad)


def test_csr():
    a = np.array([[0, 1.0, 0], [2.0, 0, 3.0], [0, 0, 0], [4.0, 0, 0]], np.float32)
    ec, tc = ember.tensor(a).to_sparse_csr(), torch.tensor(a).to_sparse_csr()
    _same_sparse(ec, tc)
    assert repr(ec) == repr(tc)
    crow, col, vals = [0, 1, 3, 3, 4], [1, 0, 2, 0], [1.0, 2.0, 3.0, 4.0]
    e = ember.sparse_csr_tensor(ember.tensor(crow), ember.tensor(col), ember.tensor(vals), (4, 3))
    t = torch.sparse_csr_tensor(torch.tensor(crow), torch.tensor(col), torch.tensor(vals), (4, 3))
    _same_sparse(e, t)
    _same_sparse(
        ember.tensor(a).to_sparse().to_sparse_csr(), torch.tensor(a).to_sparse().to_sparse_csr()
    )
    d = np.arange(6, dtype=np.float32).reshape(3, 2)
    ed, td = ember.tensor(d, requires_grad=True), torch.tensor(d, requires_grad=True)
    ey, ty = e @ ed, t @ td
    assert_same(ey, ty)
    ey.sum().backward()
    ty.sum().backward()
    assert_same(ed.grad, td.grad)


def test_gcn_layer_matches_torch():
    """pyGCN's pattern: D^-1/2 (A + I) D^-1/2 as a sparse tensor, then adj @ (X @ W)."""
    rng = np.random.default_rng(3)
    n, f, h = 12, 5, 4
    a = (rng.random((n, n)) < 0.2).astype(np.float32)
    a = np.maximum(a, a.T) + np.eye(n, dtype=np.float32)
    dinv = 1 / np.sqrt(a.sum(1))
    norm = dinv[:, None] * a * dinv[None, :]
    r, c = np.nonzero(norm)
    x = rng.standard_normal((n, f)).astype(np.float32)
    w = rng.standard_normal((f, h)).astype(np.float32)
    outs = []
    for m in (ember, torch):
        adj = m.sparse_coo_tensor(
            m.from_numpy(np.vstack([r, c]).astype(np.int64)), m.from_numpy(norm[r, c]), (n, n)
        )
        wt = m.tensor(w, requires_grad=True)
        out = m.spmm(adj, m.tensor(x) @ wt)
        out = m.relu(out)
        (out * out).sum().backward()
        outs.append((out, wt.grad))
    assert_same(outs[0][0], outs[1][0], atol=1e-5)
    assert_same(outs[0][1], outs[1][1], atol=1e-4)


def test_errors_match_torch():
    i, v = ember.tensor(IDX), ember.tensor(VALS)
    ti, tv = torch.tensor(IDX), torch.tensor(VALS)
    cases = [
        (lambda m, ii, vv: m.sparse_coo_tensor(ii, vv[:2], (3, 3))),
        (lambda m, ii, vv: m.sparse_coo_tensor(ii[0], vv, (3, 3))),
        (lambda m, ii, vv: m.sparse.mm(m.sparse_coo_tensor(ii, vv, (3, 3)), m.ones(4, 2))),
        (lambda m, ii, vv: m.sparse_coo_tensor(ii, vv, (3, 3, 3))),
    ]
    for case in cases:
        with pytest.raises(RuntimeError) as te:
            case(torch, ti, tv)
        with pytest.raises(RuntimeError) as ee:
            case(ember, i, v)
        assert str(ee.value) == str(te.value)
    with pytest.raises(RuntimeError, match="inconsistent with indices"):
        ember.sparse_coo_tensor(i, v, (2, 3))


def test_legacy_float_tensor_and_dtype_conversion():
    e = ember.sparse.FloatTensor(ember.tensor(IDX), ember.tensor(VALS), ember.Size([3, 3]))
    t = torch.sparse_coo_tensor(torch.tensor(IDX), torch.tensor(VALS), (3, 3))
    _same_sparse(e, t)
    _same_sparse(e.double(), t.double())
    assert e.to_dense().to_dense() is not None and ember.ones(2).to_dense().shape == (2,)


def test_numpy_fallback_product_matches(monkeypatch):
    """Without SciPy the product runs as a NumPy segment sum: same values and gradients."""
    from ember.ops import sparse as sp

    rng = np.random.default_rng(4)
    a = (rng.random((30, 20)) < 0.2) * rng.standard_normal((30, 20))
    d = rng.standard_normal((20, 3))
    ref = []
    for scipy_on in (True, False):
        if not scipy_on:
            monkeypatch.setattr(sp, "_scipy", lambda: None)
        for s in (ember.tensor(a).to_sparse(), _shuffled(a)):
            s.requires_grad_()
            x = ember.tensor(d, requires_grad=True)
            y = ember.sparse.mm(s, x)
            (y * y).sum().backward()
            ref.append((y.detach().numpy(), x.grad.numpy(), s.grad.to_dense().numpy()))
    for got in ref[1:]:  # SciPy/NumPy, coalesced/uncoalesced leaf: all the same
        for g, w in zip(got, ref[0]):
            np.testing.assert_allclose(g, w, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(ref[0][0], a @ d, rtol=1e-10)


def _shuffled(a):
    """The same matrix as an uncoalesced COO tensor: entries shuffled, one split in two."""
    r, c = np.nonzero(a)
    order = np.random.default_rng(0).permutation(len(r))
    r, c, v = r[order], c[order], a[r[order], c[order]]
    r, c = np.r_[r, r[:1]], np.r_[c, c[:1]]
    v = np.r_[v[:1] / 2, v[1:], v[:1] / 2]
    return ember.sparse_coo_tensor(ember.tensor(np.vstack([r, c])), ember.tensor(v), a.shape)


@pytest.mark.parametrize("fn", ["softmax", "log_softmax"])
@pytest.mark.parametrize("dim", [0, 1, -1])
def test_sparse_softmax(fn, dim):
    e, t = _both(rg=True)
    ey = getattr(ember.sparse, fn)(e, dim)
    ty = getattr(torch.sparse, fn)(t, dim)
    _same_sparse(ey, ty)
    assert repr(ey.detach()) == repr(ty.detach())
    w = np.arange(9, dtype=np.float32).reshape(3, 3)
    (ey.to_dense() * ember.tensor(w)).sum().backward()
    (ty.to_dense() * torch.tensor(w)).sum().backward()
    assert_same(_KEEP[0].grad, _KEEP[1].grad)


def test_gat_custom_function_pattern():
    """pyGAT's SpecialSpmmFunction: a sparse tensor saved for backward, matmul, _indices()."""

    def run(m):
        class Spmm(m.autograd.Function):
            @staticmethod
            def forward(ctx, indices, values, shape, b):
                a = m.sparse_coo_tensor(indices, values, shape)
                ctx.save_for_backward(a, b)
                ctx.N = shape[0]
                return m.matmul(a, b)

            @staticmethod
            def backward(ctx, grad_output):
                a, b = ctx.saved_tensors
                grad_a_dense = grad_output.matmul(b.t())
                edge_idx = a._indices()[0, :] * ctx.N + a._indices()[1, :]
                return None, grad_a_dense.view(-1)[edge_idx], None, a.t().matmul(grad_output)

        rng = np.random.default_rng(2)
        n = 7
        adj = (rng.random((n, n)) < 0.3).astype(np.float32) + np.eye(n, dtype=np.float32)
        edge = m.from_numpy(np.vstack(np.nonzero(adj)).astype(np.int64))
        vals = m.tensor(rng.random(edge.shape[1]).astype(np.float32), requires_grad=True)
        h = m.tensor(rng.standard_normal((n, 3)).astype(np.float32), requires_grad=True)
        out = Spmm.apply(edge, vals, m.Size([n, n]), h)
        (out * out).sum().backward()
        return out, vals.grad, h.grad

    for a, b in zip(run(ember), run(torch)):
        assert_same(a, b, atol=1e-5)


def test_values_gradchecks_float64():
    """Finite differences through the values: to_dense, coalesce, softmax, sum, scalar mul."""
    idx = ember.tensor(IDX)
    vals = ember.tensor([0.3, -1.2, 0.7, 2.0], dtype=ember.float64, requires_grad=True)

    def build(w):
        return ember.sparse_coo_tensor(idx, w, (3, 3))

    fns = [
        lambda w: build(w).to_dense(),
        lambda w: build(w).coalesce().values(),
        lambda w: ember.sparse.softmax(build(w), 1).to_dense(),
        lambda w: ember.sparse.log_softmax(build(w), 0).to_dense(),
        lambda w: ember.sparse.sum(build(w), 0).to_dense(),
        lambda w: (build(w) * 3.0).to_dense(),
        lambda w: ember.eye(3, dtype=ember.float64) + build(w),
    ]
    for fn in fns:
        assert ember.autograd.gradcheck(fn, (vals,))
    with pytest.raises(NotImplementedError, match="torch.Tensor.__getitem__ for sparse"):
        build(vals)[0]


@pytest.mark.parametrize("fn", ["mm", "@"])
def test_dense_at_sparse_and_transpose(fn):
    rng = np.random.default_rng(6)
    x = np.array([[0, 1.0, 0], [2.0, 0, 3.0]], np.float32)
    d = rng.standard_normal((4, 2)).astype(np.float32)
    outs = []
    for m in (ember, torch):
        s = m.tensor(x).to_sparse().requires_grad_()
        dd = m.tensor(d, requires_grad=True)
        y = m.mm(dd, s) if fn == "mm" else dd @ s
        (y * y).sum().backward()
        outs.append((y, dd.grad, s.grad, s.t()))
    for a, b in zip(outs[0][:3], outs[1][:3]):
        assert_same(a, b, atol=1e-5)
    assert repr(outs[0][3].detach()) == repr(outs[1][3].detach())
    e, t = _both()
    with pytest.raises(RuntimeError) as te:
        torch.sparse.mm(t, torch.ones(3, 2, dtype=torch.float64))
    with pytest.raises(RuntimeError, match=str(te.value)):
        ember.sparse.mm(e, ember.ones(3, 2, dtype=ember.float64))


def test_sparse_addmm():
    e, t = _both()
    d = np.arange(6, dtype=np.float32).reshape(3, 2)
    m = np.ones((3, 2), np.float32)
    got = ember.sparse.addmm(ember.tensor(m), e, ember.tensor(d), beta=0.5, alpha=2.0)
    want = torch.sparse.addmm(torch.tensor(m), t, torch.tensor(d), beta=0.5, alpha=2.0)
    assert_same(got, want)


def test_function_forms_of_arithmetic_match_torch_and_unary_ops_refuse():
    """torch.add/sub/mul/div with a sparse operand give the operators' results (not arithmetic
    on the stored values); an elementwise op without a sparse form raises, as torch's exp."""
    i, v = [[0, 1, 1], [2, 0, 2]], [3.0, 4.0, 5.0]
    es = ember.sparse_coo_tensor(ember.tensor(i), ember.tensor(v), (2, 3))
    ts = torch.sparse_coo_tensor(torch.tensor(i), torch.tensor(v), (2, 3))
    for name in ("add", "sub"):
        got = getattr(ember, name)(ember.ones(2, 3), es)
        want = getattr(torch, name)(torch.ones(2, 3), ts)
        np.testing.assert_allclose(got.numpy(), want.numpy())
    for name in ("mul", "div"):
        got = getattr(ember, name)(es, 2.0).to_dense()
        want = getattr(torch, name)(ts, 2.0).to_dense()
        np.testing.assert_allclose(got.numpy(), want.numpy())
    for lib, s in ((ember, es), (torch, ts)):
        with pytest.raises(NotImplementedError):
            lib.exp(s)
