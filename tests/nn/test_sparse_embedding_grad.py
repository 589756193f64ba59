"""Sparse COO weight gradients of Embedding(sparse=True) and EmbeddingBag(sparse=True) against
torch: their entries, accumulation over backwards and between branches, hooks, zero_grad,
gradient clipping, and the optimizers that take them (SGD, Adagrad, SparseAdam, LBFGS) or
refuse them with torch's errors."""

from __future__ import annotations

import sys
import warnings

import numpy as np
import pytest

import ember
import ember._backend.kernels
import ember.cuda
from tests._support import fake_cupy
from tests._support.torch_ref import torch

V, D = 7, 3
W = np.random.default_rng(0).standard_normal((V, D)).astype(np.float32)
LIBS = (ember, torch)


def _emb(lib, weight=W, **kw):
    dt = getattr(lib, str(weight.dtype))
    e = lib.nn.Embedding(*weight.shape, sparse=kw.pop("sparse", True), dtype=dt, **kw)
    with lib.no_grad():
        e.weight.copy_(lib.tensor(weight))
    return e


def _bag(lib, mode, dtype=np.float32, **kw):
    e = lib.nn.EmbeddingBag(V, D, mode=mode, sparse=kw.pop("sparse", True), **kw)
    with lib.no_grad():
        e.weight.copy_(lib.tensor(W.astype(dtype)))
    return e


def _entries(g) -> tuple:
    """A sparse gradient as plain data: nnz, coalesced flag, indices, values."""
    assert g.is_sparse and str(g.layout) == "torch.sparse_coo"
    vals = g._values()
    vals = vals._host() if isinstance(vals, ember.Tensor) else vals.numpy()
    return g._nnz(), g.is_coalesced(), g._indices().tolist(), vals


def assert_sparse_same(ge, gt, rtol=1e-5, atol=1e-6) -> None:
    """The same entries, in the same order, with the same coalesced flag."""
    ne, ce, ie, ve = _entries(ge)
    nt, ct, it, vt = _entries(gt)
    assert (ne, ce, ie) == (nt, ct, it)
    assert ve.dtype == vt.dtype
    np.testing.assert_allclose(ve, vt, rtol=rtol, atol=atol)


def _dense(t) -> np.ndarray:
    t = t.to_dense() if t.is_sparse else t
    return t.detach()._host() if isinstance(t, ember.Tensor) else t.detach().numpy()


def _raises_like_torch(fe, ft):
    """ember raises the exception type and message torch raises."""
    with pytest.raises(Exception) as te:
        ft()
    with pytest.raises(type(te.value)) as ee:
        fe()
    # the whole message, or (torch's dispatcher errors) its opening sentences
    assert len(str(ee.value)) > 20 and str(te.value).startswith(str(ee.value)), (
        str(ee.value),
        str(te.value)[:300],
    )


# --- the gradients ---------------------------------------------------------------------------


@pytest.mark.parametrize("padding_idx", [None, 1, -2])
@pytest.mark.parametrize("max_norm", [None, 1.0])
@pytest.mark.parametrize("idx", [[[0, 1, 2, 0], [3, 1, 0, 5]], [4, 4, 1], [6]])
def test_embedding_gradient_as_torch(padding_idx, max_norm, idx):
    grads = []
    for lib in LIBS:
        e = _emb(lib, padding_idx=padding_idx, max_norm=max_norm)
        out = e(lib.tensor(idx))
        (out * lib.arange(out.numel(), dtype=lib.float32).view(out.shape)).sum().backward()
        grads.append(e.weight.grad)
        d = _emb(lib, padding_idx=padding_idx, max_norm=max_norm, sparse=False)
        out = d(lib.tensor(idx))
        (out * lib.arange(out.numel(), dtype=lib.float32).view(out.shape)).sum().backward()
        # the sparse gradient means what the dense one does, and the renorm is the same
        np.testing.assert_allclose(_dense(e.weight.grad), _dense(d.weight.grad), rtol=1e-6)
        np.testing.assert_allclose(_dense(e.weight), _dense(d.weight))
    assert_sparse_same(*grads)
    assert grads[0].requires_grad is False and grads[0].grad_fn is None


def test_embedding_gradient_dtype_and_index_dtype():
    grads = []
    for lib in LIBS:
        e = _emb(lib, W.astype(np.float64))
        e(lib.tensor([1, 2, 1], dtype=lib.int32)).sum().backward()
        grads.append(e.weight.grad)
    assert str(grads[0].dtype) == str(grads[1].dtype) == "torch.float64"
    assert_sparse_same(*grads)


def test_embedding_empty_and_all_padding_give_no_entries():
    for idx, pad in (([], None), ([2, 2], 2)):
        grads = []
        for lib in LIBS:
            e = _emb(lib, padding_idx=pad)
            e(lib.tensor(idx, dtype=lib.int64)).sum().backward()
            grads.append(e.weight.grad)
        assert_sparse_same(*grads)
        assert grads[0]._nnz() == 0 and tuple(grads[0]._indices().shape) == (1, 0)


def test_embedding_scale_grad_by_freq_raises_in_backward():
    def run(lib):
        e = _emb(lib, scale_grad_by_freq=True)
        out = e(lib.tensor([1, 2, 1]))  # the forward runs
        out.sum().backward()

    _raises_like_torch(lambda: run(ember), lambda: run(torch))


X = [1, 2, 4, 5, 4, 3, 2, 6]
OFF = [0, 3, 3, 6]


@pytest.mark.parametrize("mode", ["sum", "mean"])
@pytest.mark.parametrize(
    "kw", [{}, {"padding_idx": 4}, {"include_last_offset": True}, {"max_norm": 1.0}]
)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_embedding_bag_gradient_as_torch(mode, kw, dtype):
    off = OFF + [len(X)] if kw.get("include_last_offset") else OFF
    grads = []
    for lib in LIBS:
        e = _bag(lib, mode, dtype, **kw)
        out = e(lib.tensor(X), lib.tensor(off))
        (out * lib.arange(out.numel()).view(out.shape)).sum().backward()
        grads.append(e.weight.grad)
        d = _bag(lib, mode, dtype, sparse=False, **kw)
        out = d(lib.tensor(X), lib.tensor(off))
        (out * lib.arange(out.numel()).view(out.shape)).sum().backward()
        np.testing.assert_allclose(_dense(e.weight.grad), _dense(d.weight.grad), rtol=1e-6)
    assert_sparse_same(*grads)


def test_embedding_bag_2d_input_and_per_sample_weights():
    res = []
    for lib in LIBS:
        e = _bag(lib, "mean")
        e(lib.tensor(X).view(2, 4)).sum().backward()
        e2 = _bag(lib, "sum")
        psw = lib.arange(8.0, requires_grad=True)
        (e2(lib.tensor(X), lib.tensor(OFF), per_sample_weights=psw) ** 2).sum().backward()
        res.append((e.weight.grad, e2.weight.grad, _dense(psw.grad)))
    assert_sparse_same(res[0][0], res[1][0])
    assert_sparse_same(res[0][1], res[1][1], rtol=1e-5, atol=1e-4)
    np.testing.assert_allclose(res[0][2], res[1][2], rtol=1e-5)


@pytest.mark.parametrize("mode", ["sum", "mean"])
def test_embedding_bag_mean_past_the_last_offset(mode):
    # torch's float32 fast path with include_last_offset: the mean reaches the indices past
    # the last offset (its bag's row), the sum's sparse backward indexes out of range
    def run(lib):
        e = _bag(lib, mode, include_last_offset=True)
        out = e(lib.tensor(X), lib.tensor(OFF))
        (out * lib.arange(out.numel()).view(out.shape)).sum().backward()
        return e.weight.grad

    if mode == "sum":
        _raises_like_torch(lambda: run(ember), lambda: run(torch))
    else:
        assert_sparse_same(run(ember), run(torch))


@pytest.mark.parametrize("kw", [{"sparse": True}, {"scale_grad_by_freq": True}])
def test_embedding_bag_max_refuses_sparse(kw):
    def run(lib):
        lib.nn.functional.embedding_bag(lib.tensor([[1, 2]]), lib.tensor(W), mode="max", **kw)

    _raises_like_torch(lambda: run(ember), lambda: run(torch))


@pytest.mark.parametrize("mode", ["sum", "mean"])
def test_embedding_bag_scale_grad_by_freq_raises_in_backward(mode):
    def run(lib):
        _bag(lib, mode, scale_grad_by_freq=True)(lib.tensor(X), lib.tensor(OFF)).sum().backward()

    _raises_like_torch(lambda: run(ember), lambda: run(torch))


# --- accumulation ----------------------------------------------------------------------------


def test_backwards_accumulate_by_appending_entries():
    # torch appends the new entries (uncoalesced) and coalesces once they outnumber the
    # weight's elements (V * D = 21 here: after the sixth backward)
    es = [_emb(lib) for lib in LIBS]
    for _ in range(7):
        for lib, e in zip(LIBS, es):
            e(lib.tensor([[1, 2], [4, 1]])).sum().backward()
        assert_sparse_same(es[0].weight.grad, es[1].weight.grad)
    g = es[0].weight.grad
    for lib, e in zip(LIBS, es):  # another index set, into the coalesced-then-grown gradient
        e(lib.tensor([6, 0])).sum().backward()
    assert es[0].weight.grad is g  # accumulated in place, as torch's
    assert_sparse_same(es[0].weight.grad, es[1].weight.grad)


def test_accumulated_gradient_of_another_loss_coalesces_as_torch():
    # where the incoming values are contiguous (not an expanded `.sum()` gradient) torch's CPU
    # add merges the two entry lists instead of appending them; ember appends: the same sum
    grads = []
    for lib in LIBS:
        e = _emb(lib)
        for idx in ([1, 2, 1], [2, 4], [1], [6, 2, 2]):
            (e(lib.tensor(idx)) ** 2).sum().backward()
        grads.append(e.weight.grad.coalesce())
    assert_sparse_same(*grads)


def test_embedding_twice_in_one_graph():
    # the two branches' sparse gradients summed: the first lookup's entries first, as torch's
    grads = []
    for lib in LIBS:
        e = _emb(lib)
        (e(lib.tensor([4, 1, 2])) + e(lib.tensor([3, 2, 0]))).sum().backward()
        grads.append(e.weight.grad)
    assert_sparse_same(*grads)
    grads = []
    for lib in LIBS:
        e = _emb(lib)
        (e(lib.tensor([4, 1, 2])) * e(lib.tensor([3, 2, 0]))).sum().backward()
        grads.append(e.weight.grad)
    assert grads[0].is_sparse
    np.testing.assert_allclose(_dense(grads[0]), _dense(grads[1]), rtol=1e-6)


def test_sparse_and_dense_gradients_meet_as_dense():
    def tied(lib):  # one graph: the lookup's sparse gradient and the product's dense one
        e = _emb(lib)
        (e(lib.tensor([1, 2])) @ e.weight.t()).sum().backward()
        return e.weight.grad

    def sparse_then_dense(lib):
        e = _emb(lib)
        e(lib.tensor([1, 2])).sum().backward()
        e.sparse = False
        (e(lib.tensor([1, 3])) ** 2).sum().backward()
        return e.weight.grad

    def dense_then_sparse(lib):
        e = _emb(lib, sparse=False)
        e(lib.tensor([1, 2])).sum().backward()
        g = e.weight.grad
        e.sparse = True
        (e(lib.tensor([1, 3])) ** 2).sum().backward()
        assert e.weight.grad is g  # added in place
        return e.weight.grad

    for f in (tied, sparse_then_dense, dense_then_sparse):
        ge, gt = f(ember), f(torch)
        assert not ge.is_sparse and not gt.is_sparse
        np.testing.assert_allclose(_dense(ge), _dense(gt), rtol=1e-6)


def test_autograd_grad_and_create_graph():
    res = []
    for lib in LIBS:
        e = _emb(lib)
        (g,) = lib.autograd.grad(e(lib.tensor([1, 2, 1])).sum(), e.weight)
        assert e.weight.grad is None
        e2 = _emb(lib)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # torch's note on create_graph's reference cycle
            (e2(lib.tensor([1, 2])) ** 2).sum().backward(create_graph=True)
        res.append((g, e2.weight.grad))
    assert_sparse_same(res[0][0], res[1][0])
    assert_sparse_same(res[0][1], res[1][1])


def test_a_non_leaf_weight_gets_the_same_values():
    # torch keeps the gradient sparse through the product; ember's turns dense there (its other
    # backwards take dense gradients), with the same values
    grads = []
    for lib in LIBS:
        w = lib.tensor(W, requires_grad=True)
        lib.nn.functional.embedding(lib.tensor([1, 2, 1]), w * 2, sparse=True).sum().backward()
        grads.append(w.grad)
    np.testing.assert_allclose(_dense(grads[0]), _dense(grads[1]))


# --- hooks -----------------------------------------------------------------------------------


def test_hooks_see_the_sparse_gradient():
    res = []
    for lib in LIBS:
        e = _emb(lib)
        seen = []
        e.weight.register_hook(lambda g, seen=seen: seen.append(_entries(g)[:3]) or g * 2)
        e.weight.register_post_accumulate_grad_hook(
            lambda p, seen=seen: seen.append(p.grad.is_sparse)
        )
        e(lib.tensor([1, 2])).sum().backward()
        res.append((seen, e.weight.grad))
    assert res[0][0] == res[1][0]
    assert_sparse_same(res[0][1], res[1][1])


def test_a_hook_that_changes_the_layout_raises_as_torch():
    def run(lib, sparse):
        e = _emb(lib, sparse=sparse)
        e.weight.register_hook(lambda g: g.to_dense() if sparse else g.to_sparse())
        e(lib.tensor([1, 2])).sum().backward()

    _raises_like_torch(lambda: run(ember, True), lambda: run(torch, True))
    _raises_like_torch(lambda: run(ember, False), lambda: run(torch, False))


# --- zero_grad and clipping ------------------------------------------------------------------


def test_zero_grad():
    res = []
    for lib in LIBS:
        e = _emb(lib)
        opt = lib.optim.SGD(e.parameters(), lr=0.1)
        e(lib.tensor([1, 2])).sum().backward()
        opt.zero_grad(set_to_none=False)
        empty = e.weight.grad
        assert empty.is_sparse and empty._nnz() == 0
        e(lib.tensor([3, 3])).sum().backward()
        after = e.weight.grad
        opt.zero_grad()
        assert e.weight.grad is None
        res.append((empty, after))
    assert_sparse_same(res[0][0], res[1][0])
    assert_sparse_same(res[0][1], res[1][1])


@pytest.mark.parametrize("owner", ["module", "optimizer"])
def test_zero_grad_keeping_the_tensor_empties_it_in_place(owner):
    # torch's zero_ of a sparse gradient: the same tensor, with no entries, coalesced
    res = []
    for lib in LIBS:
        e = _emb(lib)
        e(lib.tensor([1, 2, 2])).sum().backward()
        g = e.weight.grad
        zero = e if owner == "module" else lib.optim.SGD(e.parameters(), lr=0.1)
        zero.zero_grad(set_to_none=False)
        assert e.weight.grad is g and g._nnz() == 0 and g.is_coalesced()
        e(lib.tensor([4])).sum().backward()
        res.append((g, e.weight.grad))
    assert_sparse_same(res[0][0], res[1][0])
    assert_sparse_same(res[0][1], res[1][1])


def test_sparse_zero_in_place_as_torch():
    got = []
    for lib in LIBS:
        s = lib.sparse_coo_tensor(lib.tensor([[0, 2, 0]]), lib.ones(3, 4), (3, 4))
        assert s.zero_() is s
        got.append(s)
        with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
            lib.sparse_coo_tensor(lib.tensor([[0]]), lib.ones(1), (2,), requires_grad=True).zero_()
    assert_sparse_same(*got)
    assert got[0]._values().shape == (0, 4) and got[0]._indices().shape == (1, 0)


def _model_grads(lib):
    e = _emb(lib)
    lin = lib.nn.Linear(D, 2)
    with lib.no_grad():
        lin.weight.copy_(lib.tensor(W[:2]))
        lin.bias.fill_(0.5)
    lin(e(lib.tensor([[1, 2], [4, 1]]))).pow(2).sum().backward()
    return list(lin.parameters()) + [e.weight]


@pytest.mark.parametrize("foreach", [None, False, True])
@pytest.mark.parametrize("fn, arg", [("clip_grad_norm_", 0.5), ("clip_grad_value_", 0.01)])
def test_clipping_sparse_gradients_raises_as_torch(foreach, fn, arg):
    # torch has no sparse kernel for the norm nor the clamp: nothing is clipped
    pe, pt = _model_grads(ember), _model_grads(torch)
    _raises_like_torch(
        lambda: getattr(ember.nn.utils, fn)(pe, arg, foreach=foreach),
        lambda: getattr(torch.nn.utils, fn)(pt, arg, foreach=foreach),
    )
    for a, b in zip(pe, pt):
        np.testing.assert_allclose(_dense(a.grad), _dense(b.grad), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("foreach", [None, False])
@pytest.mark.parametrize("order", ["16s8", "8s16", "s86"])
def test_clip_grad_value_clips_what_torch_clips_before_it_raises(foreach, order):
    # per group of one dtype, the last group first; in the sparse one's group, those before it
    dts = {"1": "float16", "8": "float64", "6": "float32", "s": "float32"}

    def grads(lib):
        ps = []
        for c in order.replace("16", "1"):
            dt = getattr(lib, dts[c])
            p = lib.nn.Parameter(lib.zeros(3, 2, dtype=dt))
            g = lib.tensor([[5.0, -5.0], [0.1, -0.1], [-3.0, 2.0]], dtype=dt)
            p.grad = g.to_sparse() if c == "s" else g
            ps.append(p)
        return ps

    pe, pt = grads(ember), grads(torch)
    _raises_like_torch(
        lambda: ember.nn.utils.clip_grad_value_(pe, 0.5, foreach=foreach),
        lambda: torch.nn.utils.clip_grad_value_(pt, 0.5, foreach=foreach),
    )
    for a, b in zip(pe, pt):
        np.testing.assert_array_equal(_dense(a.grad).astype(float), _dense(b.grad).astype(float))


def test_total_norm_of_sparse_gradients_raises_as_torch():
    pe, pt = _model_grads(ember), _model_grads(torch)
    _raises_like_torch(
        lambda: ember.nn.utils.get_total_norm([p.grad for p in pe]),
        lambda: torch.nn.utils.get_total_norm([p.grad for p in pt]),
    )


def test_clip_grads_with_norm_scales_sparse_values():
    pe, pt = _model_grads(ember), _model_grads(torch)
    ember.nn.utils.clip_grads_with_norm_(pe, 1.0, ember.tensor(8.0))
    torch.nn.utils.clip_grads_with_norm_(pt, 1.0, torch.tensor(8.0))
    assert_sparse_same(pe[-1].grad, pt[-1].grad)
    for a, b in zip(pe[:-1], pt[:-1]):
        np.testing.assert_allclose(_dense(a.grad), _dense(b.grad), rtol=1e-5, atol=1e-6)


# --- optimizers ------------------------------------------------------------------------------

RNG_W = np.random.default_rng(3)
LW = RNG_W.standard_normal((2, 4)).astype(np.float32)
EW = RNG_W.standard_normal((10, 4)).astype(np.float32)


def _train(lib, make_opt, bag: bool, steps: int = 4, zero: bool = True, dense_too: bool = True):
    """A few steps of an embedding (or bag) + linear model; returns the parameters and the
    optimizer."""
    if bag:
        e = lib.nn.EmbeddingBag(10, 4, mode="mean", sparse=True)
    else:
        e = lib.nn.Embedding(10, 4, sparse=True)
    lin = lib.nn.Linear(4, 2)
    with lib.no_grad():
        e.weight.copy_(lib.tensor(EW))
        lin.weight.copy_(lib.tensor(LW))
        lin.bias.zero_()
    params = [e.weight] + (list(lin.parameters()) if dense_too else [])
    opt = make_opt(lib, params)
    rng = np.random.default_rng(1)
    for _ in range(steps):
        idx = lib.tensor(rng.integers(0, 10, (3, 5)))
        y = lib.tensor(rng.standard_normal((3, 2)).astype(np.float32))
        if zero:
            opt.zero_grad()
        h = e(idx) if bag else e(idx).mean(1)
        ((lin(h) - y) ** 2).mean().backward()
        opt.step()
    return [e.weight, lin.weight, lin.bias], opt


TAKERS = {
    "SGD": lambda lib, ps: lib.optim.SGD(ps, lr=0.1),
    "SGD-momentum": lambda lib, ps: lib.optim.SGD(ps, lr=0.1, momentum=0.9),
    "SGD-dampening": lambda lib, ps: lib.optim.SGD(ps, lr=0.1, momentum=0.9, dampening=0.3),
    "SGD-nesterov": lambda lib, ps: lib.optim.SGD(ps, lr=0.1, momentum=0.9, nesterov=True),
    "SGD-maximize": lambda lib, ps: lib.optim.SGD(ps, lr=0.1, momentum=0.5, maximize=True),
    "Adagrad": lambda lib, ps: lib.optim.Adagrad(ps, lr=0.1),
    "Adagrad-options": lambda lib, ps: lib.optim.Adagrad(
        ps, lr=0.1, lr_decay=0.1, initial_accumulator_value=0.2, eps=1e-6, maximize=True
    ),
    "SparseAdam": lambda lib, ps: lib.optim.SparseAdam(ps, lr=0.1),
}


@pytest.mark.parametrize("name", list(TAKERS))
@pytest.mark.parametrize("bag", [False, True])
@pytest.mark.parametrize("zero", [True, False])
def test_optimizers_take_sparse_gradients_as_torch(name, bag, zero):
    kw = dict(bag=bag, zero=zero, dense_too=name != "SparseAdam")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch's Adagrad warns about sparse invariant checks
        pe, oe = _train(ember, TAKERS[name], **kw)
        pt, ot = _train(torch, TAKERS[name], **kw)
    for a, b in zip(pe, pt):
        np.testing.assert_allclose(_dense(a), _dense(b), rtol=1e-5, atol=1e-6)
    for k, v in ot.state[pt[0]].items():
        ve = oe.state[pe[0]][k]
        if isinstance(v, torch.Tensor):
            assert ve.is_sparse == v.is_sparse, k  # SGD's momentum buffer: sparse, as torch's
            np.testing.assert_allclose(_dense(ve), _dense(v), rtol=1e-5, atol=1e-6)
        else:
            assert ve == v


REFUSERS = ["Adam", "AdamW", "Adamax", "NAdam", "RAdam", "RMSprop", "Rprop", "Adadelta"]


@pytest.mark.parametrize("name", REFUSERS + ["Adafactor"])
@pytest.mark.parametrize("first", [True, False])
def test_other_optimizers_refuse_sparse_gradients(name, first):
    res = []
    for lib in LIBS:
        ps = _model_grads(lib)
        if first:
            ps = ps[::-1]
        before = [_dense(p).copy() for p in ps]
        opt = getattr(lib.optim, name)(ps)
        with pytest.raises(RuntimeError) as err:
            opt.step()
        # nothing moved: the gradients are all checked before any update
        for p, b in zip(ps, before):
            np.testing.assert_array_equal(_dense(p), b)
        res.append(str(err.value))
    assert res[0] == res[1]


@pytest.mark.parametrize(
    "make",
    [
        lambda lib, ps: lib.optim.SGD(ps, lr=0.1, weight_decay=0.1),
        lambda lib, ps: lib.optim.Adagrad(ps, lr=0.1, weight_decay=0.1),
    ],
    ids=["SGD", "Adagrad"],
)
def test_weight_decay_with_sparse_gradients_raises_as_torch(make):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _raises_like_torch(
            lambda: _train(ember, make, bag=False), lambda: _train(torch, make, bag=False)
        )


def _momentum_steps(lib, first_sparse: bool, nesterov: bool):
    e = _emb(lib)
    opt = lib.optim.SGD(e.parameters(), lr=0.1, momentum=0.9, nesterov=nesterov)
    out = []
    for sparse in (first_sparse, not first_sparse):
        e.sparse = sparse
        opt.zero_grad()
        (e(lib.tensor([1, 2, 1])) ** 2).sum().backward()
        opt.step()
        out.append(_dense(e.weight).copy())
    buf = opt.state[e.weight]["momentum_buffer"]
    return out, buf.is_sparse, _dense(buf)


@pytest.mark.parametrize("first_sparse", [True, False])
@pytest.mark.parametrize("nesterov", [False, True])
def test_sgd_momentum_buffer_meets_gradients_of_the_other_layout(first_sparse, nesterov):
    if first_sparse or nesterov:  # torch's add(sparse, dense) error (a sparse buffer, ...)
        _raises_like_torch(
            lambda: _momentum_steps(ember, first_sparse, nesterov),
            lambda: _momentum_steps(torch, first_sparse, nesterov),
        )
        return
    (we, se, be), (wt, st, bt) = (_momentum_steps(lib, first_sparse, nesterov) for lib in LIBS)
    assert se == st
    np.testing.assert_allclose(be, bt, rtol=1e-5, atol=1e-6)
    for a, b in zip(we, wt):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def _lbfgs(lib):
    e = _emb(lib)
    opt = lib.optim.LBFGS(e.parameters(), lr=0.5, max_iter=5)
    idx = lib.tensor([1, 2, 1, 5])

    def closure():
        opt.zero_grad()
        loss = ((e(idx) - 1.0) ** 2).sum()
        loss.backward()
        return loss

    opt.step(closure)
    return _dense(e.weight)


def test_lbfgs_takes_sparse_gradients():
    np.testing.assert_allclose(_lbfgs(ember), _lbfgs(torch), rtol=1e-5, atol=1e-6)


def test_dense_gradients_still_take_the_flat_path():
    # one group: the dense Linear's parameters, then the same with a sparse embedding joining
    lin = ember.nn.Linear(4, 2)
    opt = ember.optim.SGD(lin.parameters(), lr=0.1, momentum=0.9)
    lin(ember.ones(3, 4)).sum().backward()
    opt.step()
    fl = next(iter(opt._flats.values()))
    assert fl is not None and all(p._data.base is fl.flat for p in lin.parameters())


@pytest.fixture
def fake_cuda(monkeypatch):
    """The CuPy stand-in as the CUDA backend (host memory, CuPy's refusals of NumPy arrays)."""
    monkeypatch.setitem(sys.modules, "cupy", fake_cupy)
    monkeypatch.setattr(sys.modules["ember._backend.xp"], "_cupy", fake_cupy)
    monkeypatch.setattr(ember.cuda, "_available", None)
    fake_cupy.reset()
    yield
    ember._backend.kernels._built.clear()
    ember.set_default_device(None)


@pytest.mark.parametrize("name", ["SGD-nesterov", "Adagrad", "SparseAdam"])
@pytest.mark.parametrize("bag", [False, True])
def test_on_a_cuda_device_as_on_the_cpu(fake_cuda, name, bag):
    def run(dev):
        e = ember.nn.EmbeddingBag(10, 4, mode="mean", sparse=True) if bag else _emb(ember, EW)
        with ember.no_grad():
            e.weight.copy_(ember.tensor(EW))
        e = e.to(dev)
        opt = TAKERS[name](ember, [e.weight])
        rng = np.random.default_rng(1)
        for i in range(12):  # SGD's momentum buffer grows past the weight's size: coalesced
            if i % 3:
                opt.zero_grad(set_to_none=i % 2 == 0)
            idx = ember.tensor(rng.integers(0, 10, (3, 5))).to(dev)
            h = e(idx) if bag else e(idx).mean(1)
            (h**2).sum().backward()
            opt.step()
        return e.weight.detach().cpu().numpy(), e.weight.grad

    (we, _), (wd, gd) = run("cpu"), run("cuda")
    assert gd._data.__class__ is fake_cupy.ndarray
    np.testing.assert_allclose(wd, we, rtol=1e-5, atol=1e-6)
