"""The smaller names of torch.autograd: engine switches, anomaly_mode, variable, NestedIOFunction,
SavedTensor, as torch."""

from __future__ import annotations

import importlib

import numpy as np
import pytest

import ember
import ember.autograd as ea
from tests._support.torch_ref import assert_same, torch

ta = torch.autograd

# torch.autograd's own imports and its profiler internals, which ember does not mirror
_NOT_MIRRORED = {
    "DeviceType",
    "Mapping",
    "ProfilerActivity",
    "ProfilerConfig",
    "ProfilerEvent",
    "ProfilerState",
    "Sequence",
    "cast",
    "handle_torch_function",
    "has_torch_function",
    "is_tensor_like",
    "kineto_available",
    "overload",
    "profiler_legacy",
    "torch",
    "warnings",
}


def test_public_names_present():
    missing = {n for n in dir(ta) if not n.startswith("_")} - set(dir(ea)) - _NOT_MIRRORED
    assert missing == set()


@pytest.mark.parametrize("switch", ["set_multithreading_enabled", "enforce_grad_layout_policy"])
def test_switches_as_torch(switch):
    def state(mod):
        if switch == "set_multithreading_enabled":
            return mod.is_multithreading_enabled()
        if mod is ea:
            return ea.grad_mode._flags.grad_layout
        return torch._C._is_grad_layout_enforcement_enabled()

    for mod in (ea, ta):
        assert state(mod) is True
        with getattr(mod, switch)(False):
            assert state(mod) is False
        assert state(mod) is True
        getattr(mod, switch)(False)  # as a call it takes effect at once
        assert state(mod) is False
        getattr(mod, switch)(True)
        assert state(mod) is True


def test_set_multithreading_enabled_keeps_gradients():
    x = np.random.default_rng(0).standard_normal(5).astype(np.float32)
    xe, xt = ember.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    with ea.set_multithreading_enabled(False):
        (xe.exp() * xe).sum().backward()
    with ta.set_multithreading_enabled(False):
        (xt.exp() * xt).sum().backward()
    assert_same(xe.grad, xt.grad)
    assert ea.is_view_replay_enabled() is ta.is_view_replay_enabled() is False


def test_anomaly_mode_module_reuses_the_switches():
    assert ea.anomaly_mode.detect_anomaly is ea.detect_anomaly
    assert ea.anomaly_mode.set_detect_anomaly is ea.set_detect_anomaly
    with ea.anomaly_mode.detect_anomaly():
        assert ember.is_anomaly_enabled() is True
    assert ember.is_anomaly_enabled() is False
    assert sorted(ea.anomaly_mode.__all__) == sorted(ta.anomaly_mode.__all__)


def test_variable_module_and_function():
    ev = importlib.import_module("ember.autograd.variable")
    tv = importlib.import_module("torch.autograd.variable")
    assert hasattr(ev, "Variable") and hasattr(tv, "Variable")
    v = ev.Variable(ember.ones(2), requires_grad=True)
    assert v.requires_grad
    with pytest.raises(RuntimeError) as te:
        ta.variable(1)
    with pytest.raises(RuntimeError) as ee:
        ea.variable(1)
    assert str(ee.value) == str(te.value)


def test_nested_io_function_and_saved_tensor():
    assert issubclass(ea.NestedIOFunction, ea.Function)
    for name in ("forward_extended", "backward_extended"):
        with pytest.raises(NotImplementedError):
            getattr(ea.NestedIOFunction, name)(None)
        with pytest.raises(NotImplementedError):
            getattr(ta.NestedIOFunction, name)(None)
    with pytest.raises(RuntimeError) as te:
        ta.SavedTensor()
    with pytest.raises(RuntimeError) as ee:
        ea.SavedTensor()
    assert str(ee.value) == str(te.value)
