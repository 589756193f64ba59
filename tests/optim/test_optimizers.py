"""Optimizers against torch: parameters after 20 steps, param groups, state_dict layout."""

from __future__ import annotations

import numpy as np
import pytest

import ember
import ember.nn as nn
from tests._support.torch_ref import assert_same, torch

tnn = torch.nn


def _models(seed=0, dtype=np.float32):
    rng = np.random.default_rng(seed)
    shapes = [(5, 4), (5,), (3, 5), (3,)]
    arrs = [rng.standard_normal(s).astype(dtype) for s in shapes]
    e = nn.Sequential(nn.Linear(4, 5), nn.Tanh(), nn.Linear(5, 3))
    t = tnn.Sequential(tnn.Linear(4, 5), tnn.Tanh(), tnn.Linear(5, 3))
    if dtype == np.float64:
        e.double()
        t.double()
    for pe, pt, a in zip(e.parameters(), t.parameters(), arrs):
        pe.data = ember.tensor(a)
        with torch.no_grad():
            pt.copy_(torch.tensor(a))
    return e, t


def _run(e, t, oe, ot, steps=20, seed=1, closure=False):
    rng = np.random.default_rng(seed)
    dt = e[0].weight.numpy(force=True).dtype
    for _ in range(steps):
        x = rng.standard_normal((8, 4)).astype(dt)
        y = rng.standard_normal((8, 3)).astype(dt)
        xe, ye = ember.tensor(x), ember.tensor(y)
        xt, yt = torch.tensor(x), torch.tensor(y)
        if closure:

            def ce(xe=xe, ye=ye):
                oe.zero_grad()
                loss = ((e(xe) - ye) ** 2).mean()
                loss.backward()
                return loss

            def ct(xt=xt, yt=yt):
                ot.zero_grad()
                loss = ((t(xt) - yt) ** 2).mean()
                loss.backward()
                return loss

            le, lt = oe.step(ce), ot.step(ct)
            assert abs(le.item() - lt.item()) < 1e-4
            continue
        oe.zero_grad()
        ot.zero_grad()
        ((e(xe) - ye) ** 2).mean().backward()
        ((t(xt) - yt) ** 2).mean().backward()
        oe.step()
        ot.step()
    for pe, pt in zip(e.parameters(), t.parameters()):
        assert_same(pe, pt, 1e-4, 1e-5)


SGD_CASES = [
    dict(lr=0.1),
    dict(lr=0.1, momentum=0.9),
    dict(lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.01),
    dict(lr=0.05, momentum=0.5, dampening=0.3, maximize=True),
    dict(lr=0.05, weight_decay=0.1),
]


@pytest.mark.parametrize("kw", SGD_CASES, ids=[str(k) for k in SGD_CASES])
def test_sgd_matches_torch(kw):
    e, t = _models()
    _run(e, t, ember.optim.SGD(e.parameters(), **kw), torch.optim.SGD(t.parameters(), **kw))


@pytest.mark.parametrize("kw", SGD_CASES, ids=[str(k) for k in SGD_CASES])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sgd_one_pass_blas_update_matches_torch(monkeypatch, kw, dtype):
    """With the BLAS's axpy/axpby allowed on every size, every SGD form (weight decay,
    Nesterov, dampening, maximize) takes the one-pass updates after its first step, in float32
    and float64, over the whole flat buffer and over each tensor."""
    from ember._backend.cpu import blas_routines

    if not blas_routines.available():
        pytest.skip("no OpenBLAS axpy/axpby in this NumPy")
    import ember.optim.optimizer as O

    monkeypatch.setattr(blas_routines, "MIN_SIZE", 1)
    calls = []
    for name in ("axpy", "axpby"):
        real = getattr(blas_routines, name)
        monkeypatch.setattr(
            blas_routines, name, lambda *a, real=real, name=name: calls.append(name) or real(*a)
        )
    for gather in (16384, 0):
        monkeypatch.setattr(O, "_GATHER_BELOW", gather)
        e, t = _models(dtype=dtype)
        oe, ot = ember.optim.SGD(e.parameters(), **kw), torch.optim.SGD(t.parameters(), **kw)
        _run(e, t, oe, ot)
    assert calls


def test_sgd_with_zero_lr_or_full_dampening_keeps_numpy_and_torch_values(monkeypatch):
    """A zero lr (BLAS's axpy would skip the update, dropping NaN) and a dampening of 1 (a zero
    coefficient) take NumPy's passes, with torch's results."""
    from ember._backend.cpu import blas_routines

    monkeypatch.setattr(blas_routines, "MIN_SIZE", 1)
    for kw in (dict(lr=0.0), dict(lr=0.0, momentum=0.9), dict(lr=0.1, momentum=0.9, dampening=1.0)):
        e, t = _models()
        oe, ot = ember.optim.SGD(e.parameters(), **kw), torch.optim.SGD(t.parameters(), **kw)
        _run(e, t, oe, ot, steps=4)


def test_sgd_one_pass_on_a_big_parameter_matches_torch():
    """A 300,000-value parameter (past blas_routines.MIN_SIZE, so the BLAS path runs as it does
    in real models) and NaN in its gradient, which the update carries into the parameter."""
    rng = np.random.default_rng(3)
    w = rng.standard_normal((600, 500)).astype(np.float32)
    for kw in (
        dict(lr=0.3),
        dict(lr=0.3, momentum=0.9, dampening=0.2),
        dict(lr=0.3, momentum=0.9, weight_decay=0.01, nesterov=True),
        dict(lr=0.3, weight_decay=0.01, maximize=True),
    ):
        pe, pt = ember.nn.Parameter(ember.tensor(w)), torch.nn.Parameter(torch.tensor(w))
        oe, ot = ember.optim.SGD([pe], **kw), torch.optim.SGD([pt], **kw)
        for k in range(4):
            g = rng.standard_normal(w.shape).astype(np.float32)
            if k == 3:
                g[7, 9] = np.nan
            pe.grad, pt.grad = ember.tensor(g), torch.tensor(g)
            oe.step()
            ot.step()
            assert_same(pe, pt, 1e-6, 1e-6)
        assert np.isnan(pe.detach().numpy()[7, 9])


ADAM_CASES = [
    ("Adam", dict(lr=0.01)),
    ("Adam", dict(lr=0.01, amsgrad=True, weight_decay=0.05)),
    ("Adam", dict(lr=0.01, betas=(0.8, 0.9), maximize=True, eps=1e-6)),
    ("AdamW", dict(lr=0.01)),
    ("AdamW", dict(lr=0.01, amsgrad=True, weight_decay=0.1)),
]


@pytest.mark.parametrize("name,kw", ADAM_CASES, ids=[f"{n}{k}" for n, k in ADAM_CASES])
def test_adam_matches_torch(name, kw):
    e, t = _models()
    oe = getattr(ember.optim, name)(e.parameters(), **kw)
    ot = getattr(torch.optim, name)(t.parameters(), **kw)
    _run(e, t, oe, ot)
    se, st = oe.state_dict(), ot.state_dict()
    assert se["param_groups"] == st["param_groups"]
    assert list(se["state"]) == list(st["state"])
    for i in st["state"]:
        assert list(se["state"][i]) == list(st["state"][i])
        for k in st["state"][i]:
            assert_same(se["state"][i][k], st["state"][i][k], 1e-4, 1e-6)


def test_float64_and_closure():
    e, t = _models(dtype=np.float64)
    _run(
        e,
        t,
        ember.optim.SGD(e.parameters(), lr=0.1, momentum=0.9),
        torch.optim.SGD(t.parameters(), lr=0.1, momentum=0.9),
        closure=True,
    )


def test_param_groups_and_add_param_group():
    e, t = _models()
    ge = [{"params": e[0].parameters(), "lr": 0.2}, {"params": e[2].parameters(), "momentum": 0.5}]
    gt = [{"params": t[0].parameters(), "lr": 0.2}, {"params": t[2].parameters(), "momentum": 0.5}]
    oe = ember.optim.SGD(ge, lr=0.05, momentum=0.9)
    ot = torch.optim.SGD(gt, lr=0.05, momentum=0.9)
    assert [{k: v for k, v in g.items() if k != "params"} for g in oe.param_groups] == [
        {k: v for k, v in g.items() if k != "params"} for g in ot.param_groups
    ]
    _run(e, t, oe, ot, steps=5)
    oe.param_groups[1]["lr"] = 0.01
    ot.param_groups[1]["lr"] = 0.01
    _run(e, t, oe, ot, steps=5)
    assert oe.state_dict()["param_groups"] == ot.state_dict()["param_groups"]
    with pytest.raises(ValueError, match="some parameters appear in more than one"):
        oe.add_param_group({"params": e[0].weight})
    extra = nn.Parameter(ember.zeros(2))
    oe.add_param_group({"params": [extra], "lr": 1.0})
    assert oe.param_groups[2]["momentum"] == 0.9
    with pytest.raises(ValueError, match="empty parameter list"):
        ember.optim.SGD([], lr=0.1)
    with pytest.raises(TypeError):
        ember.optim.SGD(extra, lr=0.1)
    with pytest.raises(ValueError, match="Invalid learning rate"):
        ember.optim.Adam(e.parameters(), lr=-1)


def test_state_dict_moves_between_ember_and_torch():
    e, t = _models()
    oe = ember.optim.Adam(e.parameters(), lr=0.01)
    ot = torch.optim.Adam(t.parameters(), lr=0.01)
    _run(e, t, oe, ot, steps=3)
    se = oe.state_dict()
    assert se["state"][0]["step"].dtype is ember.float32 and se["state"][0]["step"].ndim == 0
    assert se["param_groups"][0]["params"] == [0, 1, 2, 3]
    # ember -> torch: a fresh torch optimizer continues identically
    ot2 = torch.optim.Adam(t.parameters(), lr=0.01)
    ot2.load_state_dict(
        {
            "state": {
                i: {k: torch.tensor(v.numpy()) for k, v in s.items()}
                for i, s in se["state"].items()
            },
            "param_groups": se["param_groups"],
        }
    )
    # torch -> ember
    oe2 = ember.optim.Adam(e.parameters(), lr=0.01)
    oe2.load_state_dict(ot.state_dict())
    _run(e, t, oe2, ot2, steps=5)


def test_load_state_dict_errors_and_sgd_layout():
    e, t = _models()
    oe = ember.optim.SGD(e.parameters(), lr=0.1, momentum=0.9)
    ot = torch.optim.SGD(t.parameters(), lr=0.1, momentum=0.9)
    _run(e, t, oe, ot, steps=2)
    se, st = oe.state_dict(), ot.state_dict()
    assert list(se["state"][0]) == list(st["state"][0]) == ["momentum_buffer"]
    assert se["param_groups"] == st["param_groups"]
    plain = ember.optim.SGD(e.parameters(), lr=0.1)
    plain_t = torch.optim.SGD(t.parameters(), lr=0.1)
    _run(e, t, plain, plain_t, steps=1)
    assert plain.state_dict()["state"] == plain_t.state_dict()["state"] == {}
    with pytest.raises(ValueError, match="different number of parameter groups"):
        oe.load_state_dict({"state": {}, "param_groups": []})
    bad = {"state": {}, "param_groups": [dict(se["param_groups"][0], params=[0])]}
    with pytest.raises(ValueError, match="doesn't match the size"):
        oe.load_state_dict(bad)


def test_flat_views_survive_data_replacement_and_missing_grads():
    e, t = _models()
    oe = ember.optim.SGD(e.parameters(), lr=0.1, momentum=0.9)
    ot = torch.optim.SGD(t.parameters(), lr=0.1, momentum=0.9)
    _run(e, t, oe, ot, steps=2)
    e[0].weight.data = ember.tensor(e[0].weight.numpy(force=True).copy())
    _run(e, t, oe, ot, steps=2)
    # a frozen parameter (no grad) is skipped, the rest still update as torch
    e[2].bias.requires_grad_(False)
    t[2].bias.requires_grad_(False)
    _run(e, t, oe, ot, steps=3)
    e[2].bias.requires_grad_(True)
    t[2].bias.requires_grad_(True)
    _run(e, t, oe, ot, steps=3)


def test_zero_grad_and_version_bump():
    e, _ = _models()
    o = ember.optim.SGD(e.parameters(), lr=0.1)
    out = e(ember.randn(2, 4)).sum()
    out.backward()
    o.zero_grad(set_to_none=False)
    assert all((p.grad.numpy() == 0).all() for p in e.parameters())
    o.zero_grad()
    assert all(p.grad is None for p in e.parameters())
    x = ember.randn(2, 4)
    loss = e(x).sum()
    e(x).sum().backward()
    o.step()
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        loss.backward()


def test_repr():
    e, t = _models()
    assert repr(ember.optim.SGD(e.parameters(), lr=0.1)) == repr(
        torch.optim.SGD(t.parameters(), lr=0.1)
    )


PER_TENSOR_CASES = [
    ("SGD", dict(lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.1)),
    ("SGD", dict(lr=0.05, momentum=0.5, dampening=0.3, maximize=True)),
    ("Adam", dict(lr=0.01, amsgrad=True, weight_decay=0.1)),
    ("AdamW", dict(lr=0.01, maximize=True)),
    ("ASGD", dict(lr=0.05, t0=4, lambd=0.01, weight_decay=0.1, maximize=True)),
]


@pytest.mark.parametrize("name,kw", PER_TENSOR_CASES)
def test_per_tensor_path_matches_torch(monkeypatch, name, kw):
    import ember.optim.optimizer as O

    monkeypatch.setattr(O, "_GATHER_BELOW", 0)
    e, t = _models()
    _run(
        e,
        t,
        getattr(ember.optim, name)(e.parameters(), **kw),
        getattr(torch.optim, name)(t.parameters(), **kw),
    )


@pytest.mark.parametrize("name,kw", PER_TENSOR_CASES)
def test_big_tensors_updated_in_pieces_match_torch(monkeypatch, name, kw):
    """Elementwise optimizers update big tensors piece by piece (here pieces of 3 elements, the
    last one shorter; the first step creates the state piece by piece too)."""
    import ember.optim.optimizer as O

    monkeypatch.setattr(O, "_GATHER_BELOW", 0)
    monkeypatch.setattr(O, "_PIECE", 3)
    e, t = _models()
    oe = getattr(ember.optim, name)(e.parameters(), **kw)
    ot = getattr(torch.optim, name)(t.parameters(), **kw)
    _run(e, t, oe, ot)
    for i, st in ot.state_dict()["state"].items():
        for k, v in st.items():
            assert_same(oe.state_dict()["state"][i][k], v, 1e-4, 1e-6)


OTHER_CASES = [
    ("RMSprop", dict(lr=0.01)),
    ("RMSprop", dict(lr=0.01, momentum=0.9, centered=True, weight_decay=0.1)),
    ("RMSprop", dict(lr=0.01, alpha=0.9, maximize=True)),
    ("Adagrad", dict(lr=0.1)),
    ("Adagrad", dict(lr=0.1, lr_decay=0.01, initial_accumulator_value=0.1, weight_decay=0.1)),
    ("Adadelta", dict()),
    ("Adadelta", dict(lr=0.5, rho=0.8, weight_decay=0.1, maximize=True)),
    ("Adamax", dict(lr=0.01)),
    ("Adamax", dict(lr=0.01, weight_decay=0.1, betas=(0.8, 0.9))),
    ("NAdam", dict(lr=0.01)),
    ("NAdam", dict(lr=0.01, weight_decay=0.1, decoupled_weight_decay=True)),
    ("NAdam", dict(lr=0.01, weight_decay=0.1, momentum_decay=0.01)),
    ("RAdam", dict(lr=0.01)),
    ("RAdam", dict(lr=0.01, weight_decay=0.1, decoupled_weight_decay=True)),
    ("Rprop", dict(lr=0.01)),
    ("Rprop", dict(lr=0.05, etas=(0.3, 1.5), step_sizes=(1e-4, 0.1), maximize=True)),
    ("ASGD", dict(lr=0.05)),
    ("ASGD", dict(lr=0.05, t0=3, lambd=0.01, alpha=0.5, weight_decay=0.1)),
]


@pytest.mark.parametrize("name,kw", OTHER_CASES, ids=[f"{n}{k}" for n, k in OTHER_CASES])
def test_other_optimizers_match_torch(name, kw):
    e, t = _models()
    oe = getattr(ember.optim, name)(e.parameters(), **kw)
    ot = getattr(torch.optim, name)(t.parameters(), **kw)
    _run(e, t, oe, ot, steps=12)
    se, st = oe.state_dict(), ot.state_dict()
    assert se["param_groups"] == st["param_groups"]
    for i in st["state"]:
        assert list(se["state"][i]) == list(st["state"][i])
        for k in st["state"][i]:
            assert_same(se["state"][i][k], st["state"][i][k], 1e-4, 1e-6)


def test_frozen_parameters_keep_the_fused_path():
    e, t = _models()
    for m in (e, t):
        m[0].weight.requires_grad_(False)
    oe = ember.optim.Adam(e.parameters(), lr=0.01)
    ot = torch.optim.Adam(t.parameters(), lr=0.01)
    before = e[0].weight.detach().numpy().copy()
    _run(e, t, oe, ot, steps=5)
    assert np.array_equal(e[0].weight.detach().numpy(), before)
    assert oe._flats and all(f is not None for f in oe._flats.values())
    assert list(oe.state_dict()["state"]) == list(ot.state_dict()["state"]) == [1, 2, 3]


def test_lbfgs_matches_torch():
    e, t = _models(dtype=np.float64)
    oe = ember.optim.LBFGS(e.parameters(), lr=0.5, max_iter=10, history_size=5)
    ot = torch.optim.LBFGS(t.parameters(), lr=0.5, max_iter=10, history_size=5)
    rng = np.random.default_rng(3)
    x = rng.standard_normal((16, 4))
    y = rng.standard_normal((16, 3))

    def ce():
        oe.zero_grad()
        loss = ((e(ember.tensor(x)) - ember.tensor(y)) ** 2).mean()
        loss.backward()
        return loss

    def ct():
        ot.zero_grad()
        loss = ((t(torch.tensor(x)) - torch.tensor(y)) ** 2).mean()
        loss.backward()
        return loss

    for _ in range(3):
        le, lt = oe.step(ce), ot.step(ct)
        assert abs(le.item() - lt.item()) < 1e-8
    for pe, pt in zip(e.parameters(), t.parameters()):
        assert_same(pe, pt, 1e-6, 1e-8)
    assert oe.state[e[0].weight]["n_iter"] == ot.state[t[0].weight]["n_iter"]


def test_lbfgs_strong_wolfe_matches_torch():
    e, t = _models(dtype=np.float64)
    oe = ember.optim.LBFGS(e.parameters(), lr=1, max_iter=15, line_search_fn="strong_wolfe")
    ot = torch.optim.LBFGS(t.parameters(), lr=1, max_iter=15, line_search_fn="strong_wolfe")
    rng = np.random.default_rng(4)
    x = rng.standard_normal((16, 4))
    y = rng.standard_normal((16, 3))

    def ce():
        oe.zero_grad()
        loss = ((e(ember.tensor(x)) - ember.tensor(y)) ** 2).mean()
        loss.backward()
        return loss

    def ct():
        ot.zero_grad()
        loss = ((t(torch.tensor(x)) - torch.tensor(y)) ** 2).mean()
        loss.backward()
        return loss

    for _ in range(3):
        oe.step(ce)
        ot.step(ct)
    for pe, pt in zip(e.parameters(), t.parameters()):
        assert_same(pe, pt, 1e-6, 1e-8)
    assert oe.state[e[0].weight]["func_evals"] == ot.state[t[0].weight]["func_evals"]
