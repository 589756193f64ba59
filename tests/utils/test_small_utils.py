"""torch.utils.deterministic, collect_env, weak and module_tracker, torch.nn.common_types and the
torch._utils helpers, against torch."""

from __future__ import annotations

import gc
import math

import pytest

import ember
import ember._utils
import ember.utils.collect_env
import ember.utils.deterministic
import ember.utils.weak
from ember.nn import common_types
from ember.utils.module_tracker import ModuleTracker
from tests._support.torch_ref import torch

pytest.importorskip("torch._utils")
pytest.importorskip("torch.utils.deterministic")
pytest.importorskip("torch.utils.module_tracker")
pytest.importorskip("torch.utils.weak")


def test_fill_uninitialized_memory_default_and_checks():
    det = ember.utils.deterministic
    assert det.fill_uninitialized_memory is torch.utils.deterministic.fill_uninitialized_memory
    det.fill_uninitialized_memory = False
    try:
        assert det.fill_uninitialized_memory is False
    finally:
        det.fill_uninitialized_memory = True
    for m in (det, torch.utils.deterministic):
        with pytest.raises(RuntimeError, match="expected a bool"):
            m.fill_uninitialized_memory = 1


def test_collect_env_is_embers_info():
    env = ember.utils.collect_env.get_env_info()
    assert env.ember_version == ember.version.ember
    assert env.is_cuda_available is ember.cuda.is_available()
    pretty = ember.utils.collect_env.get_pretty_env_info()
    assert pretty.startswith(f"ember {ember.version.ember} (torch API")
    assert f"numpy {env.numpy_version}" in pretty


def test_collect_env_main_and_ember_info_print_the_report(capsys):
    from ember.__main__ import main

    ember.utils.collect_env.main()
    assert main(["info"]) == 0
    out = capsys.readouterr().out
    report = ember.utils.collect_env.get_pretty_env_info()
    assert out.count(report) == 2


@pytest.mark.parametrize("cls", ["WeakIdKeyDictionary", "WeakTensorKeyDictionary"])
def test_weak_id_key_dictionary_as_torch(cls):
    seen = []
    for lib, weak in ((torch, torch.utils.weak), (ember, ember.utils.weak)):
        d = getattr(weak, cls)()
        a, b = lib.zeros(3), lib.zeros(3)  # equal values, different tensors
        d[a] = "a"
        d[b] = "b"
        row = [len(d), d[a], d[b], a in d, lib.zeros(3) in d, 5 in d, sorted(d.values())]
        d[a] = "a2"
        row += [len(d), d.get(a), d.get(lib.zeros(1), "none")]
        del a
        gc.collect()
        row += [len(d), sorted(d.values())]
        ref = weak.TensorWeakRef(b)
        row.append(ref() is b)
        del b
        gc.collect()
        row += [ref() is None, len(d), list(d)]
        seen.append(row)
    assert seen[0] == seen[1]
    assert seen[1][:7] == [2, "a", "b", True, False, False, ["a", "b"]]


def test_weak_id_ref_equality_is_identity():
    x, y = ember.ones(2), ember.ones(2)
    rx = ember.utils.weak.WeakIdRef(x)
    assert rx == ember.utils.weak.WeakIdRef(x) and rx != ember.utils.weak.WeakIdRef(y)
    assert hash(rx) == id(x)


def _tracked_run(lib, tracker_cls):
    nn = lib.nn

    class Inner(nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = nn.Linear(2, 2)

        def forward(self, x):
            return self.lin(x).relu()

    model = nn.Sequential(Inner(), nn.Linear(2, 1))
    tracker = tracker_cls()
    rec = []

    def note(tag):
        return lambda *args: rec.append((tag, sorted(tracker.parents), tracker.is_bw))

    for mod in model.modules():
        mod.register_forward_pre_hook(note("pre " + type(mod).__name__))
        mod.register_forward_hook(note("post " + type(mod).__name__))
    x = lib.randn(3, 2, requires_grad=True)
    with tracker:
        note("enter")()
        y = model(x)
        y.register_hook(note("grad y"))
        x.register_hook(note("grad x"))
        y.sum().backward()
        note("after backward")()
    note("after exit")()
    return rec


def test_module_tracker_parents_as_torch():
    got = _tracked_run(ember, ModuleTracker)
    want = _tracked_run(torch, torch.utils.module_tracker.ModuleTracker)
    assert got == want
    assert ("grad y", ["Global", "Sequential", "Sequential.1"], True) in got
    assert (
        "pre Linear",
        ["Global", "Sequential", "Sequential.0", "Sequential.0.lin"],
        False,
    ) in got


def test_common_types_aliases():
    assert common_types._size_2_t == (int | tuple[int, int])
    assert common_types._size_any_t == (int | tuple[int, ...])
    assert common_types._ratio_3_t == (float | tuple[float, float, float])


def test_private_utils_helpers_as_torch():
    for args in [(0,), ("cuda:1",), ("cpu", False, True), ("cpu:0", True, True)]:
        assert ember._utils._get_device_index(*args) == torch._utils._get_device_index(*args)
    for args in [("cpu",), ("cuda",)]:
        with pytest.raises(ValueError) as e_ember:
            ember._utils._get_device_index(*args)
        with pytest.raises(ValueError) as e_torch:
            torch._utils._get_device_index(*args)
        assert str(e_ember.value) == str(e_torch.value)
    shapes = [(2, 3), (4,), (1, 1, 2)]
    et = [ember.arange(float(math.prod(s))).reshape(s) for s in shapes]
    tt = [torch.arange(float(math.prod(s))).reshape(s) for s in shapes]
    ef, tf = ember._utils._flatten_dense_tensors(et), torch._utils._flatten_dense_tensors(tt)
    assert ef.tolist() == tf.tolist()
    eu = ember._utils._unflatten_dense_tensors(ef * 2, et)
    tu = torch._utils._unflatten_dense_tensors(tf * 2, tt)
    assert [t.tolist() for t in eu] == [t.tolist() for t in tu]
    assert ember._utils._rebuild_parameter is ember._serialization.storage.rebuild_parameter
