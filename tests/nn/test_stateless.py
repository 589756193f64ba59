"""nn.utils.stateless.functional_call against torch: values, gradients to the given tensors,
tied weights, strict errors, the module restored afterwards."""

from __future__ import annotations

import numpy as np
import pytest

import ember
from ember.nn.utils.stateless import _functional_call, functional_call
from tests._support.torch_ref import assert_same, torch


def _net(lib):
    return lib.nn.Sequential(lib.nn.Linear(3, 4), lib.nn.BatchNorm1d(4), lib.nn.Tanh())


def _pair():
    e, t = _net(ember), _net(torch)
    t.load_state_dict({k: torch.tensor(v.numpy()) for k, v in e.state_dict().items()})
    return e, t


def _arr(shape, seed):
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


def test_functional_call_matches_torch():
    e, t = _pair()
    w = _arr((4, 3), 1)
    we = ember.tensor(w, requires_grad=True)
    wt = torch.tensor(w, requires_grad=True)
    x = _arr((5, 3), 2)
    with pytest.warns(FutureWarning, match="stateless.functional_call` is deprecated"):
        ye = functional_call(e, {"0.weight": we}, ember.tensor(x))
    yt = torch.func.functional_call(t, {"0.weight": wt}, torch.tensor(x))
    assert_same(ye, yt, 1e-5, 1e-5)
    ye.pow(2).sum().backward()
    yt.pow(2).sum().backward()
    assert_same(we.grad, wt.grad, 1e-4, 1e-5)
    assert_same(e[0].bias.grad, t[0].bias.grad, 1e-4, 1e-5)
    assert e[0].weight.grad is None  # the module's own weight was not used
    assert isinstance(e[0].weight, ember.nn.Parameter)  # and is back in place
    assert_same(e[1].running_mean, t[1].running_mean)


def test_tied_weights_and_dicts():
    e = ember.nn.Sequential(ember.nn.Linear(2, 2, bias=False), ember.nn.Linear(2, 2, bias=False))
    e[1].weight = e[0].weight
    w = ember.ones(2, 2)
    x = ember.tensor([[1.0, 2.0]])
    tied = _functional_call(e, {"0.weight": w}, (x,))
    untied = _functional_call(e, {"0.weight": w}, (x,), tie_weights=False)
    assert_same(tied, torch.tensor([[6.0, 6.0]]))
    assert_same(untied, torch.tensor((x @ w.T @ e[1].weight.T).detach().numpy()))
    with pytest.raises(ValueError, match=r"\['0.weight'\] appeared in multiple dictionaries"):
        _functional_call(e, ({"0.weight": w}, {"0.weight": w}), (x,))


def test_strict_error_like_torch():
    e = ember.nn.Linear(2, 2)
    t = torch.nn.Linear(2, 2)
    with pytest.raises(RuntimeError) as te:
        torch.func.functional_call(
            t, {"weight": torch.zeros(2, 2), "foo": torch.zeros(1)}, (torch.ones(2),), strict=True
        )
    with pytest.raises(RuntimeError) as ee:
        _functional_call(
            e, {"weight": ember.zeros(2, 2), "foo": ember.zeros(1)}, (ember.ones(2),), strict=True
        )
    assert str(ee.value) == str(te.value)
    out = _functional_call(e, {"weight": ember.zeros(2, 2)}, ember.ones(2))
    assert_same(out, torch.tensor(e.bias.detach().numpy()))
