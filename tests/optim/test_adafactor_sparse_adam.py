"""Adafactor and SparseAdam against torch: parameters and state after several steps, state_dict
both ways, schedulers, argument errors, and SparseAdam's sparse gradients."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import ember
import ember.nn as nn
from tests._support.torch_ref import assert_same, torch

SHAPES = [(), (5,), (4, 3), (2, 3, 4)]


def _params(shapes=SHAPES, seed=0, dtypes=None):
    rng = np.random.default_rng(seed)
    dtypes = dtypes or [np.float32] * len(shapes)
    arrs = [rng.standard_normal(s).astype(dt) for s, dt in zip(shapes, dtypes)]
    pe = [nn.Parameter(ember.tensor(a)) for a in arrs]
    pt = [torch.nn.Parameter(torch.tensor(a)) for a in arrs]
    return pe, pt


def _dense_steps(pe, pt, oe, ot, steps=8, seed=1, skip=()):
    """The same random gradients into both, ``steps`` times; indices in ``skip`` get none."""
    rng = np.random.default_rng(seed)
    for _ in range(steps):
        for i, (a, b) in enumerate(zip(pe, pt)):
            if i in skip:
                a.grad = b.grad = None
                continue
            g = rng.standard_normal(tuple(a.shape)).astype(a.numpy(force=True).dtype)
            a.grad = ember.tensor(g)
            b.grad = torch.tensor(g)
        oe.step()
        ot.step()


def _same_state(oe, ot, pe, pt, rtol=1e-5, atol=1e-6):
    for a, b in zip(pe, pt):
        assert_same(a, b, rtol, atol)
        se, st = oe.state.get(a, {}), ot.state.get(b, {})
        assert list(se) == list(st)
        for k, v in st.items():
            if isinstance(v, torch.Tensor):
                assert_same(se[k], v, rtol, atol)
            else:
                assert se[k] == v
    de, dt = oe.state_dict(), ot.state_dict()
    assert de["param_groups"] == dt["param_groups"]
    assert list(de["state"]) == list(dt["state"])


def _to_torch_sd(sd):
    """An ember state_dict with torch tensors in place of ember ones (what ``torch.save`` of it
    then ``torch.load`` would give)."""
    return {
        "state": {
            i: {
                k: torch.tensor(v.numpy()) if isinstance(v, ember.Tensor) else v
                for k, v in s.items()
            }
            for i, s in sd["state"].items()
        },
        "param_groups": sd["param_groups"],
    }


def _raises_like_torch(make_e, make_t):
    with pytest.raises(Exception) as te:
        make_t()
    with pytest.raises(type(te.value)) as ee:
        make_e()
    assert str(ee.value) == str(te.value)


# --- Adafactor ----------------------------------------------------------------------------------

ADAFACTOR_CASES = [
    dict(),
    dict(lr=0.05, weight_decay=0.1),
    dict(maximize=True),
    dict(eps=(1e-3, 1e-2), d=2.0, beta2_decay=-0.5),
    dict(lr=0.3, eps=(0.0, 0.0), weight_decay=0.01, maximize=True, foreach=True),
]


@pytest.mark.parametrize("kw", ADAFACTOR_CASES, ids=[str(k) for k in ADAFACTOR_CASES])
def test_adafactor_0d_to_3d_params_match_torch(kw):
    pe, pt = _params()
    oe, ot = ember.optim.Adafactor(pe, **kw), torch.optim.Adafactor(pt, **kw)
    _dense_steps(pe, pt, oe, ot, steps=12)
    _same_state(oe, ot, pe, pt)
    # the layout torch keeps: a float32 0-d step, row/col factors over the last two dims
    for a, b in zip(pe, pt):
        for k, v in ot.state[b].items():
            assert tuple(oe.state[a][k].shape) == tuple(v.shape)
            assert str(oe.state[a][k].dtype) == str(v.dtype)
    assert list(oe.state[pe[2]]) == ["step", "row_var", "col_var"]
    assert list(oe.state[pe[1]]) == ["step", "variance"]


def test_adafactor_float64_and_mixed_dtype_group():
    # eps1=None comes from the first parameter with a gradient, for the whole group (as torch)
    pe, pt = _params(dtypes=[np.float64, np.float32, np.float64, np.float32])
    oe, ot = ember.optim.Adafactor(pe, lr=0.1), torch.optim.Adafactor(pt, lr=0.1)
    _dense_steps(pe, pt, oe, ot, steps=6)
    _same_state(oe, ot, pe, pt)
    pe, pt = _params(dtypes=[np.float64] * 4)
    oe, ot = ember.optim.Adafactor(pe), torch.optim.Adafactor(pt)
    _dense_steps(pe, pt, oe, ot, steps=6)
    _same_state(oe, ot, pe, pt, 1e-12, 1e-14)


def test_adafactor_tiny_gradients_hit_the_eps_floors():
    pe, pt = _params(shapes=[(6,), (3, 4)])
    oe, ot = ember.optim.Adafactor(pe), torch.optim.Adafactor(pt)
    for _ in range(4):
        for a, b in zip(pe, pt):
            g = np.full(tuple(a.shape), 1e-9, np.float32)
            g.flat[0] = 0.0
            a.grad, b.grad = ember.tensor(g), torch.tensor(g)
        oe.step()
        ot.step()
    _same_state(oe, ot, pe, pt)


def test_adafactor_training_a_model_with_groups_and_frozen_params():
    rng = np.random.default_rng(0)
    e = nn.Sequential(nn.Linear(4, 6), nn.Tanh(), nn.Linear(6, 3))
    t = torch.nn.Sequential(torch.nn.Linear(4, 6), torch.nn.Tanh(), torch.nn.Linear(6, 3))
    for a, b in zip(e.parameters(), t.parameters()):
        arr = rng.standard_normal(tuple(a.shape)).astype(np.float32)
        a.data = ember.tensor(arr)
        with torch.no_grad():
            b.copy_(torch.tensor(arr))
    ge = [{"params": e[0].parameters(), "lr": 0.05}, {"params": e[2].parameters()}]
    gt = [{"params": t[0].parameters(), "lr": 0.05}, {"params": t[2].parameters()}]
    oe = ember.optim.Adafactor(ge, weight_decay=0.1)
    ot = torch.optim.Adafactor(gt, weight_decay=0.1)
    e[2].bias.requires_grad_(False)
    t[2].bias.requires_grad_(False)
    for _ in range(10):
        x = rng.standard_normal((8, 4)).astype(np.float32)
        y = rng.standard_normal((8, 3)).astype(np.float32)
        oe.zero_grad()
        ot.zero_grad()
        ((e(ember.tensor(x)) - ember.tensor(y)) ** 2).mean().backward()
        ((t(torch.tensor(x)) - torch.tensor(y)) ** 2).mean().backward()
        oe.step()
        ot.step()
    _same_state(oe, ot, list(e.parameters()), list(t.parameters()))
    assert e[2].bias not in oe.state
    assert repr(oe) == repr(ot)


def test_adafactor_lr_schedulers():
    pe, pt = _params()
    oe, ot = ember.optim.Adafactor(pe, lr=0.5), torch.optim.Adafactor(pt, lr=0.5)
    se = ember.optim.lr_scheduler.StepLR(oe, step_size=2, gamma=0.3)
    st = torch.optim.lr_scheduler.StepLR(ot, step_size=2, gamma=0.3)
    ce = ember.optim.lr_scheduler.CosineAnnealingLR(oe, T_max=5)
    ct = torch.optim.lr_scheduler.CosineAnnealingLR(ot, T_max=5)
    for _ in range(7):
        _dense_steps(pe, pt, oe, ot, steps=1)
        for s in (se, st, ce, ct):
            s.step()
        assert oe.param_groups[0]["lr"] == pytest.approx(ot.param_groups[0]["lr"], rel=1e-12)
    _same_state(oe, ot, pe, pt)


def test_adafactor_tensor_lr():
    pe, pt = _params()
    oe = ember.optim.Adafactor(pe, lr=ember.tensor(0.02))
    ot = torch.optim.Adafactor(pt, lr=torch.tensor(0.02))
    _dense_steps(pe, pt, oe, ot, steps=4)
    for a, b in zip(pe, pt):
        assert_same(a, b)


def test_adafactor_state_dict_both_ways():
    pe, pt = _params()
    oe = ember.optim.Adafactor(pe, weight_decay=0.05)
    ot = torch.optim.Adafactor(pt, weight_decay=0.05)
    _dense_steps(pe, pt, oe, ot, steps=3)
    sd = oe.state_dict()
    assert sd["state"][0]["step"].dtype is ember.float32 and sd["state"][0]["step"].ndim == 0
    # torch -> ember and ember -> torch, each continuing as the optimizer it came from
    oe2 = ember.optim.Adafactor(pe, weight_decay=0.05)
    oe2.load_state_dict(ot.state_dict())
    ot2 = torch.optim.Adafactor(pt, weight_decay=0.05)
    ot2.load_state_dict(_to_torch_sd(sd))
    _dense_steps(pe, pt, oe2, ot2, steps=4, seed=5)
    _same_state(oe2, ot2, pe, pt)
    # a float step (an older torch's state) is taken as torch's __setstate__ takes it
    sd = oe2.state_dict()
    for s in sd["state"].values():
        s["step"] = float(s["step"])
    oe3 = ember.optim.Adafactor(pe, weight_decay=0.05)
    oe3.load_state_dict(sd)
    ot3 = torch.optim.Adafactor(pt, weight_decay=0.05)
    ot3.load_state_dict(ot2.state_dict())
    _dense_steps(pe, pt, oe3, ot3, steps=2, seed=6)
    _same_state(oe3, ot3, pe, pt)


ADAFACTOR_BAD = [
    dict(lr=-0.1),
    dict(beta2_decay=0.1),
    dict(eps=(-1e-3, 1e-3)),
    dict(eps=(None, -1.0)),
    dict(d=0.5),
    dict(weight_decay=-0.1),
]


@pytest.mark.parametrize("kw", ADAFACTOR_BAD, ids=[str(k) for k in ADAFACTOR_BAD])
def test_adafactor_argument_errors(kw):
    pe, pt = _params()
    _raises_like_torch(
        lambda: ember.optim.Adafactor(pe, **kw), lambda: torch.optim.Adafactor(pt, **kw)
    )


def test_adafactor_step_errors():
    pe, pt = _params()
    _raises_like_torch(
        lambda: ember.optim.Adafactor(pe, lr=ember.tensor([0.1, 0.2])),
        lambda: torch.optim.Adafactor(pt, lr=torch.tensor([0.1, 0.2])),
    )
    _raises_like_torch(
        lambda: ember.optim.Adafactor(pe, 0.01, -0.8, (None, 1e-3), 1.0, 0.0, None),
        lambda: torch.optim.Adafactor(pt, 0.01, -0.8, (None, 1e-3), 1.0, 0.0, None),
    )
    c = np.ones(3, np.complex64)
    ce, ct = nn.Parameter(ember.tensor(c)), torch.nn.Parameter(torch.tensor(c))
    ce.grad, ct.grad = ember.tensor(c), torch.tensor(c)
    _raises_like_torch(
        lambda: ember.optim.Adafactor([ce]).step(), lambda: torch.optim.Adafactor([ct]).step()
    )
    a = np.array([0.0, 2.0, 0.0], np.float32)
    se, st = nn.Parameter(ember.zeros(3)), torch.nn.Parameter(torch.zeros(3))
    se.grad, st.grad = ember.tensor(a).to_sparse(), torch.tensor(a).to_sparse()
    _raises_like_torch(
        lambda: ember.optim.Adafactor([se]).step(), lambda: torch.optim.Adafactor([st]).step()
    )


# --- SparseAdam ---------------------------------------------------------------------------------


def _sparse_grads(rng, shape, nnz, sparse_dim):
    """A random uncoalesced COO gradient (duplicate indices likely) as an ember and a torch
    tensor."""
    ind = np.stack([rng.integers(0, shape[k], nnz) for k in range(sparse_dim)]).astype(np.int64)
    vals = rng.standard_normal((nnz,) + tuple(shape[sparse_dim:])).astype(np.float32)
    ge = ember.sparse_coo_tensor(ember.tensor(ind), ember.tensor(vals), shape)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch's note that invariant checks are off
        gt = torch.sparse_coo_tensor(torch.tensor(ind), torch.tensor(vals), shape)
    return ge, gt


SPARSE_ADAM_CASES = [
    dict(),
    dict(lr=0.01, betas=(0.8, 0.9)),
    dict(lr=0.05, eps=1e-3, maximize=True),
]


@pytest.mark.parametrize("kw", SPARSE_ADAM_CASES, ids=[str(k) for k in SPARSE_ADAM_CASES])
def test_sparse_adam_matches_torch(kw):
    # an embedding-like table (sparse rows, dense columns), a fully sparse matrix, a 1-d vector
    shapes, sparse_dims = [(10, 3), (4, 5), (7,)], [1, 2, 1]
    pe, pt = _params(shapes=shapes)
    oe, ot = ember.optim.SparseAdam(pe, **kw), torch.optim.SparseAdam(pt, **kw)
    rng = np.random.default_rng(2)
    for _ in range(10):
        for a, b, shp, sd in zip(pe, pt, shapes, sparse_dims):
            a.grad, b.grad = _sparse_grads(rng, shp, 6, sd)
        oe.step()
        ot.step()
    _same_state(oe, ot, pe, pt)
    assert type(oe.state[pe[0]]["step"]) is int and oe.state[pe[0]]["step"] == 10
    assert repr(oe) == repr(ot)


def test_sparse_adam_empty_and_zeroed_gradients_move_nothing():
    pe, pt = _params(shapes=[(6, 2), (5,)])
    oe, ot = ember.optim.SparseAdam(pe, lr=0.1), torch.optim.SparseAdam(pt, lr=0.1)
    rng = np.random.default_rng(3)
    for a, b in zip(pe, pt):
        a.grad, b.grad = _sparse_grads(rng, tuple(a.shape), 3, 1)
    oe.step()
    ot.step()
    # zero_grad(set_to_none=False) empties a sparse gradient: the step counts, nothing moves
    oe.zero_grad(set_to_none=False)
    ot.zero_grad(set_to_none=False)
    assert pe[0].grad.is_sparse and pe[0].grad._nnz() == pt[0].grad._nnz() == 0
    before = [a.detach().numpy().copy() for a in pe]
    oe.step()
    ot.step()
    assert all(np.array_equal(a.detach().numpy(), b) for a, b in zip(pe, before))
    pe[1].grad, pt[1].grad = _sparse_grads(rng, (5,), 0, 1)
    pe[0].grad, pt[0].grad = _sparse_grads(rng, (6, 2), 4, 1)
    oe.step()
    ot.step()
    _same_state(oe, ot, pe, pt)
    assert oe.state[pe[1]]["step"] == ot.state[pt[1]]["step"] == 3


def test_sparse_adam_gradient_from_to_sparse_and_schedulers():
    pe, pt = _params(shapes=[(5, 4)])
    oe, ot = ember.optim.SparseAdam(pe, lr=0.1), torch.optim.SparseAdam(pt, lr=0.1)
    se = ember.optim.lr_scheduler.ExponentialLR(oe, gamma=0.7)
    st = torch.optim.lr_scheduler.ExponentialLR(ot, gamma=0.7)
    rng = np.random.default_rng(4)
    for _ in range(5):
        g = rng.standard_normal((5, 4)).astype(np.float32)
        g[rng.random(5) < 0.5] = 0
        pe[0].grad = ember.tensor(g).to_sparse(1)
        pt[0].grad = torch.tensor(g).to_sparse(1)
        oe.step()
        ot.step()
        se.step()
        st.step()
        assert oe.param_groups[0]["lr"] == pytest.approx(ot.param_groups[0]["lr"], rel=1e-12)
    _same_state(oe, ot, pe, pt)


def test_sparse_adam_state_dict_both_ways():
    shapes = [(8, 3), (6,)]
    pe, pt = _params(shapes=shapes)
    oe, ot = ember.optim.SparseAdam(pe, lr=0.02), torch.optim.SparseAdam(pt, lr=0.02)
    rng = np.random.default_rng(5)

    def steps(oe, ot, n):
        for _ in range(n):
            for a, b, shp in zip(pe, pt, shapes):
                a.grad, b.grad = _sparse_grads(rng, shp, 4, 1)
            oe.step()
            ot.step()

    steps(oe, ot, 3)
    oe2 = ember.optim.SparseAdam(pe, lr=0.02)
    oe2.load_state_dict(ot.state_dict())
    ot2 = torch.optim.SparseAdam(pt, lr=0.02)
    ot2.load_state_dict(_to_torch_sd(oe.state_dict()))
    steps(oe2, ot2, 4)
    _same_state(oe2, ot2, pe, pt)
    assert type(oe2.state[pe[0]]["step"]) is int


def test_sparse_adam_dense_gradient_raises_after_counting_earlier_params():
    pe, pt = _params(shapes=[(6, 2), (3,)])
    oe, ot = ember.optim.SparseAdam(pe), torch.optim.SparseAdam(pt)
    rng = np.random.default_rng(6)
    pe[0].grad, pt[0].grad = _sparse_grads(rng, (6, 2), 3, 1)
    g = rng.standard_normal(3).astype(np.float32)
    pe[1].grad, pt[1].grad = ember.tensor(g), torch.tensor(g)
    _raises_like_torch(oe.step, ot.step)
    _same_state(oe, ot, pe, pt)
    assert oe.state[pe[0]]["step"] == 1 and pe[1] not in oe.state


SPARSE_ADAM_BAD = [
    dict(lr=0.0),
    dict(lr=-1.0),
    dict(eps=0.0),
    dict(betas=(1.0, 0.9)),
    dict(betas=(0.9, -0.1)),
]


@pytest.mark.parametrize("kw", SPARSE_ADAM_BAD, ids=[str(k) for k in SPARSE_ADAM_BAD])
def test_sparse_adam_argument_errors(kw):
    pe, pt = _params(shapes=[(3,)])
    _raises_like_torch(
        lambda: ember.optim.SparseAdam(pe, **kw), lambda: torch.optim.SparseAdam(pt, **kw)
    )


def test_sparse_adam_parameter_errors():
    pe, pt = _params(shapes=[(3,), (2, 2)])
    _raises_like_torch(
        lambda: ember.optim.SparseAdam(pe, lr=ember.tensor([0.1, 0.2])),
        lambda: torch.optim.SparseAdam(pt, lr=torch.tensor([0.1, 0.2])),
    )
    c = np.ones(2, np.complex64)
    ce, ct = nn.Parameter(ember.tensor(c)), torch.nn.Parameter(torch.tensor(c))
    _raises_like_torch(
        lambda: ember.optim.SparseAdam([{"params": pe}, {"params": [ce]}]),
        lambda: torch.optim.SparseAdam([{"params": pt}, {"params": [ct]}]),
    )
    m = np.eye(3, dtype=np.float32)
    se = ember.tensor(m).to_sparse().requires_grad_()
    st = torch.tensor(m).to_sparse().requires_grad_()
    _raises_like_torch(
        lambda: ember.optim.SparseAdam(pe + [se]), lambda: torch.optim.SparseAdam(pt + [st])
    )


def test_sparse_adam_on_sparse_embedding():
    rng = np.random.default_rng(7)
    w = rng.standard_normal((10, 4)).astype(np.float32)
    ee, et = nn.Embedding(10, 4, sparse=True), torch.nn.Embedding(10, 4, sparse=True)
    ee.weight.data = ember.tensor(w)
    with torch.no_grad():
        et.weight.copy_(torch.tensor(w))
    oe = ember.optim.SparseAdam(ee.parameters(), lr=0.1)
    ot = torch.optim.SparseAdam(et.parameters(), lr=0.1)
    for _ in range(3):
        idx = rng.integers(0, 10, (2, 5))
        oe.zero_grad()
        ot.zero_grad()
        (ee(ember.tensor(idx)) ** 2).sum().backward()
        (et(torch.tensor(idx)) ** 2).sum().backward()
        ot.step()
        oe.step()
    _same_state(oe, ot, [ee.weight], [et.weight])
