"""ASGD against torch: parameter trajectories, the state (step, eta, mu, ax) with torch's
dtypes and shapes, state dicts both ways, learning-rate changes, parameters that skip steps,
and the argument errors. (The shared trajectory cases are in test_optimizers.py.)"""

from __future__ import annotations

import numpy as np
import pytest

import ember
from tests._support.torch_ref import assert_same, torch
from tests.optim.test_optimizers import _models, _run


def _state_equal(oe, ot, rtol=1e-4, atol=1e-6):
    se, st = oe.state_dict(), ot.state_dict()
    assert se["param_groups"] == st["param_groups"]
    assert list(se["state"]) == list(st["state"])
    for i, s in st["state"].items():
        assert list(se["state"][i]) == list(s) == ["step", "eta", "mu", "ax"]
        for k, v in s.items():
            assert_same(se["state"][i][k], v, rtol, atol)  # dtype and shape too


CASES = [
    dict(),
    dict(lr=0.05, t0=0),  # averaging from the first step
    dict(lr=0.1, t0=5, lambd=0.05, alpha=0.9),
    dict(lr=0.05, t0=2, weight_decay=0.2, maximize=True),
    dict(lr=0.05, t0=2, foreach=False, differentiable=False, capturable=False),
]


@pytest.mark.parametrize("kw", CASES, ids=[str(k) for k in CASES])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_asgd_trajectory_and_state_match_torch(kw, dtype):
    e, t = _models(dtype=dtype)
    oe, ot = ember.optim.ASGD(e.parameters(), **kw), torch.optim.ASGD(t.parameters(), **kw)
    _run(e, t, oe, ot, steps=15)
    _state_equal(oe, ot)
    st = oe.state_dict()["state"][0]
    for k in ("step", "eta", "mu"):
        assert st[k].dtype is ember.float32 and st[k].ndim == 0
    assert st["ax"].dtype is e[0].weight.dtype and st["ax"].shape == e[0].weight.shape
    assert float(st["step"]) == 15.0


def test_foreach_true_matches_torch_to_rounding():
    """torch's foreach path computes the same update in another order: equal to rounding."""
    e, t = _models()
    kw = dict(lr=0.05, t0=3, foreach=True)
    oe, ot = ember.optim.ASGD(e.parameters(), **kw), torch.optim.ASGD(t.parameters(), **kw)
    _run(e, t, oe, ot, steps=10)
    _state_equal(oe, ot)


def test_state_dict_moves_between_ember_and_torch():
    kw = dict(lr=0.05, t0=2)
    e, t = _models()
    oe, ot = ember.optim.ASGD(e.parameters(), **kw), torch.optim.ASGD(t.parameters(), **kw)
    _run(e, t, oe, ot, steps=4)
    se = oe.state_dict()
    # ember -> torch: a fresh torch optimizer continues from ember's state
    ot2 = torch.optim.ASGD(t.parameters(), **kw)
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
    oe2 = ember.optim.ASGD(e.parameters(), **kw)
    oe2.load_state_dict(ot.state_dict())
    for k in ("step", "eta", "mu"):
        assert oe2.state[e[0].weight][k].dtype is ember.float32
    _run(e, t, oe2, ot2, steps=5)
    _state_equal(oe2, ot2)
    assert float(oe2.state_dict()["state"][0]["step"]) == 9.0


def test_plain_number_state_is_made_tensors_as_torch():
    """An old state dict with plain numbers for step/eta/mu: made float32 scalar tensors."""
    e, t = _models()
    oe, ot = ember.optim.ASGD(e.parameters(), t0=1), torch.optim.ASGD(t.parameters(), t0=1)
    _run(e, t, oe, ot, steps=2)
    sd = ot.state_dict()
    plain = {
        "state": {
            i: {k: (float(v) if v.ndim == 0 else v) for k, v in s.items()}
            for i, s in sd["state"].items()
        },
        "param_groups": sd["param_groups"],
    }
    oe.load_state_dict(plain)
    ot.load_state_dict(plain)
    _run(e, t, oe, ot, steps=3)
    _state_equal(oe, ot)


def test_lr_change_and_parameters_that_skip_steps():
    """eta is state: a new lr shows from the step after; a parameter without a gradient keeps
    its state, so the group's steps and etas differ (each parameter then runs alone)."""
    kw = dict(lr=0.05, t0=3, lambd=0.02)
    e, t = _models()
    oe, ot = ember.optim.ASGD(e.parameters(), **kw), torch.optim.ASGD(t.parameters(), **kw)
    _run(e, t, oe, ot, steps=3)
    for o in (oe, ot):
        o.param_groups[0]["lr"] = 0.2
    _run(e, t, oe, ot, steps=2)
    _state_equal(oe, ot)
    for m in (e, t):
        m[2].bias.requires_grad_(False)
    _run(e, t, oe, ot, steps=3)
    for m in (e, t):
        m[2].bias.requires_grad_(True)
    _run(e, t, oe, ot, steps=4)
    _state_equal(oe, ot)
    steps = {float(s["step"]) for s in oe.state_dict()["state"].values()}
    assert steps == {12.0, 9.0}


def test_per_parameter_and_piecewise_paths(monkeypatch):
    import ember.optim.optimizer as O

    monkeypatch.setattr(O, "_GATHER_BELOW", 0)
    monkeypatch.setattr(O, "_PIECE", 3)
    e, t = _models()
    kw = dict(lr=0.05, t0=2, weight_decay=0.05)
    oe, ot = ember.optim.ASGD(e.parameters(), **kw), torch.optim.ASGD(t.parameters(), **kw)
    _run(e, t, oe, ot, steps=8)
    _state_equal(oe, ot)


def test_param_groups_repr_and_errors_as_torch():
    e, t = _models()
    groups_e = [{"params": e[0].parameters(), "lr": 0.2}, {"params": e[2].parameters()}]
    groups_t = [{"params": t[0].parameters(), "lr": 0.2}, {"params": t[2].parameters()}]
    oe = ember.optim.ASGD(groups_e, lr=0.05, t0=2)
    ot = torch.optim.ASGD(groups_t, lr=0.05, t0=2)
    assert repr(oe) == repr(ot)
    _run(e, t, oe, ot, steps=6)
    _state_equal(oe, ot)
    p = ember.nn.Parameter(ember.zeros(2))
    tp = torch.nn.Parameter(torch.zeros(2))
    for kw in (dict(lr=-0.1), dict(weight_decay=-1.0)):
        with pytest.raises(ValueError) as te:
            torch.optim.ASGD([tp], **kw)
        with pytest.raises(ValueError) as ee:
            ember.optim.ASGD([p], **kw)
        assert str(ee.value) == str(te.value)
    with pytest.raises(ValueError, match="Tensor lr must be 1-element"):
        ember.optim.ASGD([p], lr=ember.tensor([0.1, 0.2]))
    with pytest.raises(ValueError, match="Tensor lr must be 1-element"):
        torch.optim.ASGD([tp], lr=torch.tensor([0.1, 0.2]))


def test_float64_parameters_after_loading_torchs_state():
    """Loading casts eta and mu to the parameter's dtype (as torch); the next values are still
    rounded through the default dtype first, as torch's as_tensor makes them."""
    kw = dict(lr=0.3, lambd=0.1, t0=1)
    e, t = _models(dtype=np.float64)
    oe, ot = ember.optim.ASGD(e.parameters(), **kw), torch.optim.ASGD(t.parameters(), **kw)
    _run(e, t, oe, ot, steps=2)
    oe2, ot2 = ember.optim.ASGD(e.parameters(), **kw), torch.optim.ASGD(t.parameters(), **kw)
    oe2.load_state_dict(ot.state_dict())
    ot2.load_state_dict(ot.state_dict())
    _run(e, t, oe2, ot2, steps=3)
    _state_equal(oe2, ot2, 1e-10, 1e-12)
    se, st = oe2.state_dict()["state"][0], ot2.state_dict()["state"][0]
    for k in ("eta", "mu"):
        assert se[k].dtype is ember.float64 and se[k].item() == st[k].item()
