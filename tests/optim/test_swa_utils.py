"""torch.optim.swa_utils against torch: AveragedModel (default SWA, avg_fn, multi_avg_fn,
use_buffers) values over steps and state_dict keys, the avg functions and their errors, update_bn,
SWALR's lrs over steps for both strategies, its errors and its state_dict."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import ember
from tests._support.torch_ref import assert_same, torch

ES, TS = ember.optim.swa_utils, torch.optim.swa_utils


def _net(lib):
    return lib.nn.Sequential(lib.nn.Linear(3, 4), lib.nn.BatchNorm1d(4), lib.nn.Linear(4, 2))


def _pair(seed=0):
    e, t = _net(ember), _net(torch)
    rng = np.random.default_rng(seed)
    for p_e, p_t in zip(e.parameters(), t.parameters()):
        v = rng.standard_normal(tuple(p_e.shape)).astype(np.float32)
        with ember.no_grad():
            p_e.copy_(ember.tensor(v))
        with torch.no_grad():
            p_t.copy_(torch.tensor(v))
    return e, t


def _perturb(e, t, step):
    """Move both models' weights the same way and run one training batch (changes buffers)."""
    rng = np.random.default_rng(100 + step)
    for p_e, p_t in zip(e.parameters(), t.parameters()):
        d = rng.standard_normal(tuple(p_e.shape)).astype(np.float32)
        with ember.no_grad():
            p_e.add_(ember.tensor(d))
        with torch.no_grad():
            p_t.add_(torch.tensor(d))
    x = rng.standard_normal((5, 3)).astype(np.float32)
    e.train()
    t.train()
    e(ember.tensor(x))
    t(torch.tensor(x))


def _assert_state_same(ae, at):
    se, st = ae.state_dict(), at.state_dict()
    assert list(se) == list(st)
    for k in st:
        assert_same(se[k], st[k], atol=1e-6, rtol=1e-5)


@pytest.mark.parametrize(
    "make",
    [
        lambda S: {},
        lambda S: {"use_buffers": True},
        lambda S: {"avg_fn": S.get_ema_avg_fn(0.8)},
        lambda S: {"avg_fn": S.get_swa_avg_fn()},
        lambda S: {"multi_avg_fn": S.get_ema_multi_avg_fn(0.9)},
        lambda S: {"multi_avg_fn": S.get_ema_multi_avg_fn(0.7), "use_buffers": True},
        lambda S: {"multi_avg_fn": S.get_swa_multi_avg_fn()},
        lambda S: {"avg_fn": S.get_ema_avg_fn(0.5), "use_buffers": True},
    ],
    ids=[
        "swa",
        "swa-buffers",
        "ema-fn",
        "swa-fn",
        "ema-multi",
        "ema-multi-buf",
        "swa-multi",
        "ema-fn-buf",
    ],
)
def test_averaged_model_over_steps(make):
    e, t = _pair()
    ae, at = ES.AveragedModel(e, **make(ES)), TS.AveragedModel(t, **make(TS))
    assert ae.n_averaged.dtype == ember.int64
    for step in range(4):
        _perturb(e, t, step)
        ae.update_parameters(e)
        at.update_parameters(t)
        _assert_state_same(ae, at)
    assert int(ae.n_averaged) == int(at.n_averaged) == 4
    assert "n_averaged" in ae.state_dict()
    x = np.random.default_rng(7).standard_normal((3, 3)).astype(np.float32)
    ae.eval()
    at.eval()
    assert_same(ae(ember.tensor(x)), at(torch.tensor(x)).detach(), atol=1e-5)


def test_averaged_model_state_dict_round_trip():
    e, t = _pair()
    ae = ES.AveragedModel(e)
    for step in range(2):
        _perturb(e, t, step)
        ae.update_parameters(e)
    fresh = ES.AveragedModel(_net(ember))
    fresh.load_state_dict(ae.state_dict())
    assert int(fresh.n_averaged) == 2
    for k, v in ae.state_dict().items():
        assert np.array_equal(fresh.state_dict()[k].numpy(), v.numpy())


def test_swa_multi_on_integer_buffers_raises_as_torch():
    msgs = []
    for lib, S in ((ember, ES), (torch, TS)):
        net = _net(lib)
        am = S.AveragedModel(net, multi_avg_fn=S.get_swa_multi_avg_fn(), use_buffers=True)
        am.update_parameters(net)
        with pytest.raises(RuntimeError) as err:
            am.update_parameters(net)
        msgs.append(str(err.value))
    assert msgs[0] == msgs[1]
    ints = [(lib.zeros(2, dtype=lib.int64),) for lib in (ember, torch)]
    msgs = []
    for (z,), S in zip(ints, (ES, TS)):
        with pytest.raises(RuntimeError) as err:
            S.get_swa_multi_avg_fn()([z], [z], 1)
        msgs.append(str(err.value))
    assert msgs[0] == msgs[1]


def test_avg_fn_values_and_errors():
    rng = np.random.default_rng(3)
    a, c = rng.standard_normal((2, 5)).astype(np.float32)
    for ne, nt in ((ember.tensor(2), torch.tensor(2)), (2, 2)):
        assert_same(
            ES.get_swa_avg_fn()(ember.tensor(a), ember.tensor(c), ne),
            TS.get_swa_avg_fn()(torch.tensor(a), torch.tensor(c), nt),
        )
        assert_same(
            ES.get_ema_avg_fn(0.3)(ember.tensor(a), ember.tensor(c), ne),
            TS.get_ema_avg_fn(0.3)(torch.tensor(a), torch.tensor(c), nt),
        )
        le, lt = [ember.tensor(a)], [torch.tensor(a)]
        ES.get_swa_multi_avg_fn()(le, [ember.tensor(c)], ne)
        TS.get_swa_multi_avg_fn()(lt, [torch.tensor(c)], nt)
        assert_same(le[0], lt[0])
        ES.get_ema_multi_avg_fn(0.6)(le, [ember.tensor(c)], ne)
        TS.get_ema_multi_avg_fn(0.6)(lt, [torch.tensor(c)], nt)
        assert_same(le[0], lt[0])
    for name in ("get_ema_avg_fn", "get_ema_multi_avg_fn"):
        for bad in (-0.1, 1.5):
            with pytest.raises(ValueError) as t_err:
                getattr(TS, name)(bad)
            with pytest.raises(ValueError) as e_err:
                getattr(ES, name)(bad)
            assert str(e_err.value) == str(t_err.value)
    with pytest.raises(AssertionError, match="Only one of avg_fn and multi_avg_fn"):
        ES.AveragedModel(
            _net(ember), avg_fn=ES.get_swa_avg_fn(), multi_avg_fn=ES.get_swa_multi_avg_fn()
        )


@pytest.mark.parametrize("as_tuples", [False, True])
def test_update_bn_matches_torch(as_tuples):
    e, t = _pair(1)
    rng = np.random.default_rng(5)
    data = [rng.standard_normal((6, 3)).astype(np.float32) * (i + 1) for i in range(4)]
    wrap_e = [(ember.tensor(d), 0) if as_tuples else ember.tensor(d) for d in data]
    wrap_t = [(torch.tensor(d), 0) if as_tuples else torch.tensor(d) for d in data]
    e.eval()
    t.eval()
    ES.update_bn(wrap_e, e)
    TS.update_bn(wrap_t, t)
    assert e.training is t.training is False
    assert e[1].momentum == t[1].momentum == 0.1
    _assert_state_same(e, t)


def _sgd_pair(groups=1):
    def params(lib):
        return [
            {"params": [lib.nn.Parameter(lib.zeros(2))], "lr": 0.5 * (i + 1)} for i in range(groups)
        ]

    return ember.optim.SGD(params(ember), lr=0.5), torch.optim.SGD(params(torch), lr=0.5)


@pytest.mark.parametrize("strategy", ["cos", "linear"])
@pytest.mark.parametrize("anneal_epochs", [0, 1, 3])
@pytest.mark.parametrize("swa_lr", [0.05, [0.05, 0.2]])
def test_swalr_values_over_steps(strategy, anneal_epochs, swa_lr):
    oe, ot = _sgd_pair(2)
    se = ES.SWALR(oe, swa_lr=swa_lr, anneal_epochs=anneal_epochs, anneal_strategy=strategy)
    st = TS.SWALR(ot, swa_lr=swa_lr, anneal_epochs=anneal_epochs, anneal_strategy=strategy)
    for _ in range(6):
        oe.step()
        ot.step()
        se.step()
        st.step()
        np.testing.assert_allclose(se.get_last_lr(), st.get_last_lr(), rtol=1e-12)
        assert [g["swa_lr"] for g in oe.param_groups] == [g["swa_lr"] for g in ot.param_groups]


def test_swalr_state_dict_and_errors():
    oe, ot = _sgd_pair()
    se = ES.SWALR(oe, swa_lr=0.1, anneal_epochs=3, anneal_strategy="linear")
    st = TS.SWALR(ot, swa_lr=0.1, anneal_epochs=3, anneal_strategy="linear")
    oe.step()
    ot.step()
    se.step()
    st.step()
    assert se.state_dict() == st.state_dict()
    other = ES.SWALR(ember.optim.SGD([ember.nn.Parameter(ember.zeros(1))], lr=0.5), 0.1)
    other.load_state_dict(se.state_dict())
    assert other.anneal_func(0.5) == 0.5  # linear again, rebuilt from _anneal_strategy
    with warnings.catch_warnings(record=True) as caught_e:
        warnings.simplefilter("always")
        se.get_lr()
    with warnings.catch_warnings(record=True) as caught_t:
        warnings.simplefilter("always")
        st.get_lr()
    assert [(w.category, str(w.message)) for w in caught_e] == [
        (w.category, str(w.message)) for w in caught_t
    ]
    for kw in (
        {"swa_lr": [0.1, 0.2]},
        {"swa_lr": 0.1, "anneal_strategy": "exp"},
        {"swa_lr": 0.1, "anneal_epochs": -1},
        {"swa_lr": 0.1, "anneal_epochs": 2.0},
    ):
        with pytest.raises(ValueError) as t_err:
            TS.SWALR(ot, **kw)
        with pytest.raises(ValueError) as e_err:
            ES.SWALR(oe, **kw)
        assert str(e_err.value) == str(t_err.value)


def test_public_names_match_torch():
    assert sorted(ES.__all__) == sorted(TS.__all__)
