"""Learning-rate schedulers against torch: the lr sequence, momentum cycling, state_dict."""

from __future__ import annotations

import warnings

import pytest

import ember
import ember.nn as nn
from tests._support.torch_ref import torch

ES = ember.optim.lr_scheduler
TS = torch.optim.lr_scheduler


def _opts(name="SGD", **kw):
    kw = kw or dict(lr=0.1, momentum=0.9)
    pe = [nn.Parameter(ember.zeros(2)), nn.Parameter(ember.zeros(3))]
    pt = [torch.nn.Parameter(torch.zeros(2)), torch.nn.Parameter(torch.zeros(3))]
    oe = getattr(ember.optim, name)([{"params": [pe[0]]}, {"params": [pe[1]], "lr": 0.05}], **kw)
    ot = getattr(torch.optim, name)([{"params": [pt[0]]}, {"params": [pt[1]], "lr": 0.05}], **kw)
    return oe, ot


def _compare(make, steps=25, name="SGD", metric=None, **kw):
    oe, ot = _opts(name, **kw)
    se, st = make(ES, oe), make(TS, ot)
    assert se.get_last_lr() == pytest.approx(st.get_last_lr())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for i in range(steps):
            oe.step()
            ot.step()
            if metric is None:
                se.step()
                st.step()
            else:
                se.step(metric(i))
                st.step(metric(i))
            assert se.get_last_lr() == pytest.approx(st.get_last_lr(), rel=1e-9, abs=1e-12)
            for ge, gt in zip(oe.param_groups, ot.param_groups):
                assert ge["lr"] == pytest.approx(gt["lr"], rel=1e-9, abs=1e-12)
                for k in ("momentum", "betas"):
                    if k in gt:
                        assert ge[k] == pytest.approx(gt[k])
    return se, st


CASES = {
    "StepLR": lambda S, o: S.StepLR(o, 4, gamma=0.5),
    "MultiStepLR": lambda S, o: S.MultiStepLR(o, [3, 7, 7, 12], gamma=0.3),
    "ConstantLR": lambda S, o: S.ConstantLR(o, factor=0.25, total_iters=4),
    "LinearLR": lambda S, o: S.LinearLR(o, start_factor=0.2, end_factor=0.9, total_iters=6),
    "ExponentialLR": lambda S, o: S.ExponentialLR(o, 0.9),
    "PolynomialLR": lambda S, o: S.PolynomialLR(o, total_iters=10, power=2.0),
    "CosineAnnealingLR": lambda S, o: S.CosineAnnealingLR(o, T_max=7, eta_min=0.001),
    "CosineAnnealingWarmRestarts": lambda S, o: S.CosineAnnealingWarmRestarts(
        o, 3, T_mult=2, eta_min=0.01
    ),
    "LambdaLR": lambda S, o: S.LambdaLR(o, lambda e: 0.95**e),
    "LambdaLR2": lambda S, o: S.LambdaLR(o, [lambda e: 1 / (e + 1), lambda e: 0.9**e]),
    "MultiplicativeLR": lambda S, o: S.MultiplicativeLR(o, lambda e: 0.97),
    "OneCycleLR": lambda S, o: S.OneCycleLR(o, max_lr=[1.0, 0.5], total_steps=30),
    "OneCycleLR3": lambda S, o: S.OneCycleLR(
        o, max_lr=1.0, epochs=3, steps_per_epoch=10, three_phase=True, anneal_strategy="linear"
    ),
    "CyclicLR": lambda S, o: S.CyclicLR(o, 0.01, 0.1, step_size_up=4, step_size_down=3),
    "CyclicLR2": lambda S, o: S.CyclicLR(o, 0.01, 0.1, step_size_up=3, mode="triangular2"),
    "CyclicLRexp": lambda S, o: S.CyclicLR(
        o, 0.01, 0.1, step_size_up=3, mode="exp_range", gamma=0.9
    ),
    "SequentialLR": lambda S, o: S.SequentialLR(
        o, [S.LinearLR(o, 0.1, total_iters=3), S.ExponentialLR(o, 0.8)], [4]
    ),
    "ChainedScheduler": lambda S, o: S.ChainedScheduler(
        [S.ExponentialLR(o, 0.9), S.StepLR(o, 3, 0.5)]
    ),
}


@pytest.mark.parametrize("name", list(CASES))
def test_schedule_matches_torch(name):
    se, st = _compare(CASES[name], steps=29 if "OneCycle" in name else 25)
    if name in ("StepLR", "CosineAnnealingLR", "LinearLR", "LambdaLR"):
        assert list(se.state_dict()) == list(st.state_dict())


def test_onecycle_with_adam_betas():
    _compare(
        lambda S, o: S.OneCycleLR(o, max_lr=0.01, total_steps=20), steps=19, name="Adam", lr=0.001
    )


def test_reduce_on_plateau():
    vals = [1.0, 0.9, 0.95, 0.96, 0.97, 0.98, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.1, 0.4, 0.5]
    _compare(
        lambda S, o: S.ReduceLROnPlateau(
            o, patience=2, factor=0.5, cooldown=1, min_lr=[0.01, 0.001]
        ),
        steps=len(vals),
        metric=lambda i: vals[i],
    )
    se, st = _compare(
        lambda S, o: S.ReduceLROnPlateau(
            o, mode="max", patience=1, threshold_mode="abs", threshold=0.1
        ),
        steps=len(vals),
        metric=lambda i: vals[i],
    )
    assert se.state_dict() == st.state_dict()


def test_state_dict_roundtrip_and_closed_form():
    oe, _ = _opts()
    s = ES.StepLR(oe, 3, 0.5)
    for _ in range(5):
        oe.step()
        s.step()
    sd = s.state_dict()
    oe2, _ = _opts()
    s2 = ES.StepLR(oe2, 3, 0.5)
    s2.load_state_dict(sd)
    assert s2.last_epoch == 5 and s2.get_last_lr() == s.get_last_lr()
    with pytest.warns(UserWarning, match="epoch parameter"):
        s2.step(9)
    assert s2.get_last_lr() == pytest.approx([0.1 * 0.5**3, 0.05 * 0.5**3])
    assert oe.param_groups[0]["initial_lr"] == 0.1


def test_warns_when_stepped_before_optimizer():
    oe, _ = _opts()
    s = ES.StepLR(oe, 2)
    with pytest.warns(UserWarning, match="before `optimizer.step\\(\\)`"):
        s.step()


def test_errors():
    oe, _ = _opts()
    with pytest.raises(KeyError, match="initial_lr"):
        ES.StepLR(oe, 3, last_epoch=4)
    with pytest.raises(ValueError, match="Factor should be < 1.0"):
        ES.ReduceLROnPlateau(oe, factor=2.0)
    with pytest.raises(TypeError):
        ES.StepLR(object(), 3)


def test_swalr_matches_torch():
    for strat in ("cos", "linear"):
        _compare(
            lambda S, o, s=strat: (
                ember.optim.swa_utils if S is ES else torch.optim.swa_utils
            ).SWALR(o, swa_lr=0.02, anneal_epochs=4, anneal_strategy=s),
            steps=8,
        )


def test_averaged_model_and_update_bn():
    import numpy as np

    def make(lib):
        return lib.nn.Sequential(lib.nn.Linear(3, 4), lib.nn.BatchNorm1d(4), lib.nn.Linear(4, 1))

    e, t = make(ember), make(torch)
    t.load_state_dict({k: torch.tensor(v.numpy()) for k, v in e.state_dict().items()})
    for kw in (dict(), dict(multi_avg_fn=None, avg_fn=None, use_buffers=True)):
        ae = ember.optim.swa_utils.AveragedModel(e, **kw)
        at = torch.optim.swa_utils.AveragedModel(t, **kw)
        assert list(ae.state_dict()) == list(at.state_dict())
        rng = np.random.default_rng(0)
        for _ in range(3):
            for pe, pt in zip(e.parameters(), t.parameters()):
                a = rng.standard_normal(tuple(pe.shape)).astype(np.float32)
                pe.data = ember.tensor(a)
                pt.data = torch.tensor(a)
            ae.update_parameters(e)
            at.update_parameters(t)
        for (k, ve), vt in zip(ae.state_dict().items(), at.state_dict().values()):
            assert np.allclose(ve.numpy(), vt.numpy(), atol=1e-6), k
    ema = ember.optim.swa_utils.AveragedModel(
        e, multi_avg_fn=ember.optim.swa_utils.get_ema_multi_avg_fn(0.9)
    )
    ema.update_parameters(e)
    ema.update_parameters(e)
    data = [ember.randn(8, 3) for _ in range(3)]
    ember.optim.swa_utils.update_bn(data, e)
    t.load_state_dict({k: torch.tensor(v.numpy()) for k, v in e.state_dict().items()})
    torch.optim.swa_utils.update_bn([torch.tensor(d.numpy()) for d in data], t)
    assert np.allclose(e[1].running_var.numpy(), t[1].running_var.numpy(), atol=1e-5)
