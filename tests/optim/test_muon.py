"""Muon and swap_in_optimizer_params_and_state against torch."""

from __future__ import annotations

import numpy as np
import pytest

import ember
from tests._support.torch_ref import assert_same, torch

SHAPES = [(6, 4), (3, 7), (5, 5)]
CASES = [
    dict(),
    dict(lr=0.02, nesterov=False, weight_decay=0.0),
    dict(lr=0.01, momentum=0.9, adjust_lr_fn="match_rms_adamw"),
    dict(lr=0.05, weight_decay=0.05, ns_steps=3, adjust_lr_fn="original"),
]


def _pair(dtype, seed=0):
    rng = np.random.default_rng(seed)
    ws = [rng.standard_normal(s).astype(dtype) for s in SHAPES]
    pe = [ember.tensor(w, requires_grad=True) for w in ws]
    pt = [torch.tensor(w, requires_grad=True) for w in ws]
    return pe, pt


def _steps(pe, pt, oe, ot, n, seed=1):
    rng = np.random.default_rng(seed)
    dt = pe[0].numpy(force=True).dtype
    for _ in range(n):
        for a, b in zip(pe, pt):
            g = rng.standard_normal(tuple(a.shape)).astype(dt)
            a.grad = ember.tensor(g)
            b.grad = torch.tensor(g)
        oe.step()
        ot.step()


@pytest.mark.parametrize("kw", CASES, ids=[str(k) for k in CASES])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_muon_trajectory_matches_torch(kw, dtype):
    pe, pt = _pair(dtype)
    oe, ot = ember.optim.Muon(pe, **kw), torch.optim.Muon(pt, **kw)
    _steps(pe, pt, oe, ot, 10)
    tight = (1e-5, 1e-6) if dtype == np.float32 else (1e-12, 1e-14)
    for a, b in zip(pe, pt):
        _assert_trajectory(a, b, oe.defaults["lr"])
    se, st = oe.state_dict(), ot.state_dict()
    assert se["param_groups"] == st["param_groups"]
    for i in st["state"]:
        # the momentum never goes through bfloat16: torch's lerp, rounding for rounding
        assert list(se["state"][i]) == list(st["state"][i]) == ["momentum_buffer"]
        assert_same(se["state"][i]["momentum_buffer"], st["state"][i]["momentum_buffer"], *tight)


def _assert_trajectory(a, b, lr):
    """The update is bfloat16 in both (for float64 parameters too): a float32 sum of a product
    taken in another order than torch's BLAS can land one bfloat16 rounding on the other side,
    moving the elements its iterations reach by about lr * one bfloat16 ulp (2^-7 near 1);
    no element is further off than two such flips."""
    ea, tb = a.detach().numpy(), b.detach().numpy()
    assert ea.dtype == tb.dtype
    np.testing.assert_allclose(ea, tb, rtol=0, atol=2 * lr * 2**-7 * 1.6)


def test_muon_on_a_model_with_a_loss():
    rng = np.random.default_rng(3)
    w = rng.standard_normal((5, 4)).astype(np.float32)
    me, mt = ember.nn.Linear(4, 5, bias=False), torch.nn.Linear(4, 5, bias=False)
    me.weight.data = ember.tensor(w)
    with torch.no_grad():
        mt.weight.copy_(torch.tensor(w))
    oe, ot = ember.optim.Muon(me.parameters(), lr=0.02), torch.optim.Muon(mt.parameters(), lr=0.02)
    for _ in range(5):
        x = rng.standard_normal((8, 4)).astype(np.float32)
        oe.zero_grad()
        ot.zero_grad()
        (me(ember.tensor(x)) ** 2).mean().backward()
        (mt(torch.tensor(x)) ** 2).mean().backward()
        oe.step()
        ot.step()
    _assert_trajectory(me.weight, mt.weight, 0.02)


def test_muon_state_dict_both_ways():
    pe, pt = _pair(np.float32)
    oe, ot = ember.optim.Muon(pe, lr=0.02), torch.optim.Muon(pt, lr=0.02)
    _steps(pe, pt, oe, ot, 3)
    se = oe.state_dict()
    ot2 = torch.optim.Muon(pt, lr=0.02)
    ot2.load_state_dict(
        {
            "state": {
                i: {k: torch.tensor(v.numpy()) for k, v in s.items()}
                for i, s in se["state"].items()
            },
            "param_groups": se["param_groups"],
        }
    )
    oe2 = ember.optim.Muon(pe, lr=0.02)
    oe2.load_state_dict(ot.state_dict())
    _steps(pe, pt, oe2, ot2, 4, seed=7)
    for a, b in zip(pe, pt):
        _assert_trajectory(a, b, 0.02)


def test_muon_defaults_and_errors():
    p = ember.zeros(3, 2, requires_grad=True)
    pt = torch.zeros(3, 2, requires_grad=True)
    d, dt = ember.optim.Muon([p]).defaults, torch.optim.Muon([pt]).defaults
    assert d == dt
    bad = [
        dict(lr=-1.0),
        dict(momentum=-0.1),
        dict(weight_decay=-1.0),
        dict(adjust_lr_fn="other"),
    ]
    for kw in bad:
        with pytest.raises(ValueError) as te:
            torch.optim.Muon([pt], **kw)
        with pytest.raises(ValueError) as ee:
            ember.optim.Muon([p], **kw)
        assert str(ee.value) == str(te.value)
    for shape in [(3,), (2, 3, 4)]:
        with pytest.raises(ValueError) as te:
            torch.optim.Muon([torch.zeros(shape, requires_grad=True)])
        with pytest.raises(ValueError) as ee:
            ember.optim.Muon([ember.zeros(shape, requires_grad=True)])
        assert str(ee.value) == str(te.value)
    for n in (100,):
        o = ember.optim.Muon([p], ns_steps=n)
        p.grad = ember.ones(3, 2)
        with pytest.raises(ValueError, match="less than 100"):
            o.step()


def test_muon_skips_params_without_grad():
    pe, pt = _pair(np.float32)
    oe, ot = ember.optim.Muon(pe, lr=0.1), torch.optim.Muon(pt, lr=0.1)
    pe[0].grad = ember.ones(*SHAPES[0])
    pt[0].grad = torch.ones(*SHAPES[0])
    oe.step()
    ot.step()
    for a, b in zip(pe, pt):
        assert_same(a, b, 1e-5, 1e-6)
    assert len(oe.state) == len(ot.state) == 1


def _swap_pair(cls, kw):
    pe, pt = _pair(np.float32)
    oe, ot = getattr(ember.optim, cls)(pe, **kw), getattr(torch.optim, cls)(pt, **kw)
    _steps(pe, pt, oe, ot, 2)
    return pe, pt, oe, ot


@pytest.mark.parametrize("cls,kw", [("Adam", dict(lr=0.01)), ("Muon", dict(lr=0.02))])
def test_swap_in_params_and_state_matches_torch(cls, kw):
    pe, pt, oe, ot = _swap_pair(cls, kw)
    rng = np.random.default_rng(5)
    arrs = [rng.standard_normal(s).astype(np.float32) for s in SHAPES]
    se = {f"p{i}": ember.tensor(a) for i, a in enumerate(arrs)}
    st = {f"p{i}": torch.tensor(a) for i, a in enumerate(arrs)}
    sde = oe.state_dict()
    sdt = ot.state_dict()
    sde = {
        "state": {i: {k: v.clone() for k, v in s.items()} for i, s in sde["state"].items()},
        "param_groups": sde["param_groups"],
    }
    sdt = {
        "state": {i: {k: v.clone() for k, v in s.items()} for i, s in sdt["state"].items()},
        "param_groups": sdt["param_groups"],
    }
    live_e = [p.detach().clone() for p in pe]
    for t in se.values():
        t.grad = ember.ones(*t.shape)
    for t in st.values():
        t.grad = torch.ones(*t.shape)
    with ember.optim.swap_in_optimizer_params_and_state(oe, se, sde):
        assert oe.param_groups[0]["params"] == list(se.values())
        oe.step()
    with torch.optim.swap_in_optimizer_params_and_state(ot, st, sdt):
        ot.step()
    for k in se:
        assert_same(se[k], st[k], 1e-4, 1e-5)
    for i in sdt["state"]:  # in-place updates reach the given state dict
        for k in sdt["state"][i]:
            assert_same(sde["state"][i][k], sdt["state"][i][k], 1e-4, 1e-5)
    # the live optimizer is back: its parameters did not move and it keeps stepping as torch
    for a, b in zip(pe, live_e):
        assert_same(a, to_torch_like(b), 0, 0)
    assert oe.param_groups[0]["params"] == pe
    _steps(pe, pt, oe, ot, 2, seed=9)
    for a, b in zip(pe, pt):
        assert_same(a, b, 1e-4, 1e-5)


def to_torch_like(t):
    return torch.tensor(t.numpy())


def test_swap_in_errors_match_torch():
    pe, pt = _pair(np.float32)
    oe, ot = ember.optim.Adam(pe), torch.optim.Adam(pt)
    with pytest.raises(RuntimeError) as te:
        with torch.optim.swap_in_optimizer_params_and_state(ot, {}, ot.state_dict()):
            pass
    with pytest.raises(RuntimeError) as ee:
        with ember.optim.swap_in_optimizer_params_and_state(oe, {}, oe.state_dict()):
            pass
    assert str(ee.value) == str(te.value)
    _steps(pe, pt, oe, ot, 1)
    for bad in (
        lambda o: {"state": {}, "param_groups": []},
        lambda o: {"state": [], "param_groups": o.state_dict()["param_groups"]},
        lambda o: {"state": {}, "param_groups": [{"params": [0, 1, 2]}]},
        lambda o: {"state": {7: {}}, "param_groups": o.state_dict()["param_groups"]},
    ):
        with pytest.raises(RuntimeError) as te:
            with torch.optim.swap_in_optimizer_params_and_state(ot, {}, bad(ot)):
                pass
        with pytest.raises(RuntimeError) as ee:
            with ember.optim.swap_in_optimizer_params_and_state(oe, {}, bad(oe)):
                pass
        assert str(ee.value) == str(te.value)


def test_bfloat16_rounding_on_the_bits_equals_a_cast():
    """Muon rounds to bfloat16 on float32 bits (no ml_dtypes needed): the same bits as a cast to
    bfloat16 and back, over normal, subnormal, special and random bit patterns."""
    ml_dtypes = pytest.importorskip("ml_dtypes")
    from ember.optim.muon import _bf16_round

    rng = np.random.default_rng(0)
    scaled = rng.standard_normal(20000) * 10.0 ** rng.integers(-40, 38, 20000)
    special = [0.0, -0.0, np.inf, -np.inf, np.nan, 3.4028235e38, -3.4028235e38, 1e-45]
    bits = rng.integers(0, 2**32, 20000, dtype=np.uint64).astype(np.uint32).view(np.float32)
    x = np.concatenate([scaled.astype(np.float32), np.array(special, np.float32), bits])
    with np.errstate(all="ignore"):
        ref = x.astype(ml_dtypes.bfloat16).astype(np.float32)
    got = _bf16_round(np, x)
    same = (ref.view(np.uint32) == got.view(np.uint32)) | (np.isnan(ref) & np.isnan(got))
    assert same.all()
