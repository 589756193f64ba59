"""torch.Stream and torch.Event: the CPU and meta behaviour against torch (values, reprs, errors
with torch's types and messages), and the CUDA path through the CuPy stand-in."""

from __future__ import annotations

import copy
import pickle
import sys
import weakref

import pytest

import ember
import ember._backend.kernels
import ember._backend.xp as edev
import ember.cuda
from tests._support import fake_cupy
from tests._support.cuda import _NO_GPU, _real_gpu
from tests._support.torch_ref import torch

# --- the CPU against torch: each case runs on both libraries and must give the same outcome -----

# cases on an explicit device; the same on every machine
CASES = {
    "Stream(cpu)": lambda m: m.Stream("cpu"),
    "Stream(cpu:0)": lambda m: m.Stream("cpu:0"),
    "Stream(device=cpu)": lambda m: m.Stream(device="cpu"),
    "Stream(device(cpu, 3))": lambda m: m.Stream(m.device("cpu", 3)),
    "Stream(cpu, priority=-1)": lambda m: m.Stream("cpu", priority=-1),
    "Stream(cpu, 1)": lambda m: m.Stream("cpu", 1),
    "Stream(meta)": lambda m: m.Stream("meta"),
    "Stream(meta:0)": lambda m: m.Stream("meta:0"),
    "Stream(mps)": lambda m: m.Stream("mps"),
    "Stream(xpu)": lambda m: m.Stream("xpu"),
    "Stream(foo)": lambda m: m.Stream("foo"),
    "Stream(1.5)": lambda m: m.Stream(1.5),
    "Stream(True)": lambda m: m.Stream(True),
    "priority str": lambda m: m.Stream("cpu", priority="a"),
    "priority bool": lambda m: m.Stream("cpu", priority=True),
    "priority None": lambda m: m.Stream("cpu", priority=None),
    "raw": lambda m: m.Stream(stream_id=3, device_index=2, device_type=0),
    "raw positional": lambda m: m.Stream(0, 0, 0),
    "raw 4 positional": lambda m: m.Stream(0, 0, 0, 0),
    "raw partial": lambda m: m.Stream(stream_id=0, device_type=0),
    "raw only type": lambda m: m.Stream(device_type=0),
    "raw with device": lambda m: m.Stream(device="cpu", stream_id=0, device_index=0, device_type=0),
    "raw bad type": lambda m: m.Stream(stream_id=0, device_index=0, device_type=21),
    "raw negative type": lambda m: m.Stream(stream_id=0, device_index=0, device_type=-1),
    "raw str id": lambda m: m.Stream(stream_id="a", device_index=0, device_type=0),
    "raw bool id": lambda m: m.Stream(stream_id=True, device_index=0, device_type=0),
    "raw mkldnn": lambda m: m.Stream(stream_id=0, device_index=0, device_type=2),
    "raw privateuseone": lambda m: m.Stream(stream_id=0, device_index=0, device_type=20),
    "raw mkldnn query": lambda m: m.Stream(stream_id=0, device_index=0, device_type=2).query(),
    "raw mkldnn handle": lambda m: (
        m.Stream(stream_id=0, device_index=0, device_type=2).native_handle
    ),
    "raw mkldnn capturing": lambda m: m.Stream(
        stream_id=0, device_index=0, device_type=2
    ).is_capturing(),
    "raw mkldnn record_event": lambda m: m.Stream(
        stream_id=0, device_index=0, device_type=2
    ).record_event(m.Event("cpu")),
    "raw meta": lambda m: m.Stream(stream_id=0, device_index=0, device_type=14),
    "raw fields": lambda m: (
        lambda s: (s.device_type, s.device_index, s.stream_id, s.device, s.query())
    )(m.Stream(stream_id=5, device_index=7, device_type=0)),
    "raw eq": lambda m: m.Stream(stream_id=0, device_index=-1, device_type=0) == m.Stream("cpu"),
    "raw ne id": lambda m: m.Stream(stream_id=1, device_index=-1, device_type=0) == m.Stream("cpu"),
    "raw ne index": lambda m: m.Stream(0, 0, 0) == m.Stream("cpu"),
    "raw hash": lambda m: hash(m.Stream(5, 2, 0)) == hash(m.Stream(5, 2, 0)),
    "device_type": lambda m: (m.Stream("cpu").device_type, m.Stream("meta").device_type),
    "fields": lambda m: (
        lambda s: (s.device_index, s.stream_id, s.device, type(s.device_type).__name__)
    )(m.Stream("cpu")),
    "meta device": lambda m: m.Stream("meta").device,
    "native_handle": lambda m: m.Stream("cpu").native_handle,
    "meta native_handle": lambda m: m.Stream("meta").native_handle,
    "is_capturing": lambda m: m.Stream("cpu").is_capturing(),
    "query": lambda m: (m.Stream("cpu").query(), m.Stream("meta").query()),
    "synchronize": lambda m: (m.Stream("cpu").synchronize(), m.Stream("meta").synchronize()),
    "record_event": lambda m: m.Stream("cpu").record_event(),
    "record_event None": lambda m: m.Stream("cpu").record_event(None),
    "record_event event": lambda m: m.Stream("cpu").record_event(m.Event("cpu")),
    "record_event 1": lambda m: m.Stream("cpu").record_event(1),
    "record_event meta event": lambda m: m.Stream("cpu").record_event(m.Event("meta")),
    "meta record_event cpu event": lambda m: m.Stream("meta").record_event(m.Event("cpu")),
    "meta record_event": lambda m: m.Stream("meta").record_event(),
    "wait_event": lambda m: m.Stream("cpu").wait_event(m.Event("cpu")),
    "wait_event None": lambda m: m.Stream("cpu").wait_event(None),
    "meta wait_event cpu event": lambda m: m.Stream("meta").wait_event(m.Event("cpu")),
    "wait_stream": lambda m: m.Stream("cpu").wait_stream(m.Stream("cpu")),
    "wait_stream self": lambda m: (lambda s: s.wait_stream(s))(m.Stream("cpu")),
    "meta wait_stream cpu": lambda m: m.Stream("meta").wait_stream(m.Stream("cpu")),
    "cpu wait_stream meta": lambda m: m.Stream("cpu").wait_stream(m.Stream("meta")),
    "eq": lambda m: (
        m.Stream("cpu") == m.Stream("cpu"),
        m.Stream("cpu") != m.Stream("cpu"),
        m.Stream("cpu") == m.Stream("meta"),
        m.Stream("cpu") == 1,
        m.Stream("cpu").__eq__(1),
        m.Stream("cpu").__ne__(1),
    ),
    "hash": lambda m: hash(m.Stream("cpu")) == hash(m.Stream("cpu")),
    "set of streams": lambda m: len({m.Stream("cpu"), m.Stream("cpu:1"), m.Stream("meta")}),
    "with": lambda m: (lambda s: (s.__enter__() is s, s.__exit__(None, None, None)))(
        m.Stream("cpu")
    ),
    "with raw cpu": lambda m: (lambda s: s.__enter__() is s)(m.Stream(1, 0, 0)),
    "pickle": lambda m: pickle.dumps(m.Stream("cpu")),
    "copy": lambda m: copy.copy(m.Stream("cpu")),
    "deepcopy": lambda m: copy.deepcopy(m.Stream("cpu")),
    "weakref": lambda m: weakref.ref(m.Stream("cpu"))() is not None,
    "bool": lambda m: bool(m.Stream("cpu")),
    "repr": lambda m: (repr(m.Stream("cpu")), str(m.Stream("cpu")), repr(m.Stream("meta:0"))),
    "subclass": lambda m: repr(type("Sub", (m.Stream,), {})("cpu")),
    "Event(cpu)": lambda m: m.Event("cpu"),
    "Event(device=cpu)": lambda m: m.Event(device="cpu"),
    "Event(cpu:1)": lambda m: m.Event("cpu:1"),
    "Event(device(cpu, 2))": lambda m: m.Event(m.device("cpu", 2)),
    "Event(meta:1)": lambda m: m.Event("meta:1"),
    "Event(foo)": lambda m: m.Event("foo"),
    "Event(mps)": lambda m: m.Event("mps"),
    "Event(1.5)": lambda m: m.Event(1.5),
    "Event(True)": lambda m: m.Event(True),
    "Event(cpu, True)": lambda m: m.Event("cpu", True),
    "Event timing": lambda m: m.Event("cpu", enable_timing=True),
    "Event blocking": lambda m: m.Event("cpu", blocking=True),
    "Event interprocess": lambda m: m.Event("cpu", interprocess=True),
    "Event all flags": lambda m: m.Event(
        "cpu", enable_timing=True, blocking=True, interprocess=True
    ),
    "Event timing int": lambda m: m.Event("cpu", enable_timing=1),
    "Event timing None": lambda m: m.Event("cpu", enable_timing=None),
    "Event blocking int": lambda m: m.Event("cpu", blocking=1),
    "Event interprocess str": lambda m: m.Event("cpu", interprocess="x"),
    "Event fields": lambda m: (
        m.Event("cpu").device,
        m.Event("meta").device,
        m.Event("cpu").event_id,
    ),
    "Event query": lambda m: m.Event("cpu").query(),
    "Event synchronize": lambda m: m.Event("cpu").synchronize(),
    "Event record": lambda m: m.Event("cpu").record(),
    "Event record None": lambda m: m.Event("cpu").record(None),
    "Event record stream": lambda m: m.Event("cpu").record(m.Stream("cpu")),
    "Event record kw": lambda m: m.Event("cpu").record(stream=m.Stream("cpu")),
    "Event record meta stream": lambda m: m.Event("cpu").record(m.Stream("meta")),
    "Event record raw cpu": lambda m: m.Event("cpu").record(m.Stream(0, 0, 0)),
    "meta Event record": lambda m: m.Event("meta").record(),
    "meta Event record stream": lambda m: m.Event("meta").record(m.Stream("meta")),
    "Event wait": lambda m: m.Event("cpu").wait(),
    "Event wait stream": lambda m: m.Event("cpu").wait(m.Stream("cpu")),
    "Event wait meta stream": lambda m: m.Event("cpu").wait(m.Stream("meta")),
    "Event elapsed self": lambda m: (lambda e: e.elapsed_time(e))(m.Event("cpu")),
    "Event elapsed": lambda m: m.Event("cpu").elapsed_time(m.Event("cpu")),
    "Event elapsed timing": lambda m: m.Event("cpu", enable_timing=True).elapsed_time(
        m.Event("cpu", enable_timing=True)
    ),
    "Event elapsed one timing": lambda m: m.Event("cpu", enable_timing=True).elapsed_time(
        m.Event("cpu")
    ),
    "Event elapsed 1": lambda m: m.Event("cpu").elapsed_time(1),
    "Event elapsed None": lambda m: m.Event("cpu").elapsed_time(None),
    "Event elapsed meta": lambda m: m.Event("cpu").elapsed_time(m.Event("meta")),
    "Event ipc_handle": lambda m: m.Event("cpu").ipc_handle(),
    "Event from_ipc_handle": lambda m: m.Event.from_ipc_handle("cpu", b""),
    "Event eq": lambda m: (lambda e: (e == e, e == m.Event("cpu"), e != m.Event("cpu"), e == 1))(
        m.Event("cpu")
    ),
    "Event hash": lambda m: (lambda e: hash(e) == hash(e))(m.Event("cpu")),
    "Event pickle": lambda m: pickle.dumps(m.Event("cpu")),
    "Event copy": lambda m: copy.copy(m.Event("cpu")),
    "Event deepcopy": lambda m: copy.deepcopy(m.Event("cpu")),
    "Event weakref": lambda m: weakref.ref(m.Event("cpu"))() is not None,
    "Event bool": lambda m: bool(m.Event("cpu")),
    "Event repr": lambda m: (
        repr(m.Event("cpu")),
        str(m.Event("cpu", enable_timing=True)),
        repr(m.Event("meta")),
    ),
    "Stream API": lambda m: sorted(n for n in dir(m.Stream) if not n.startswith("_")),
    "Event API": lambda m: sorted(n for n in dir(m.Event) if not n.startswith("_")),
}

# cases on the default device: the current accelerator, the CPU without one
DEFAULT_CASES = {
    "Stream()": lambda m: m.Stream(),
    "Stream(None)": lambda m: m.Stream(None),
    "Stream(priority=2)": lambda m: m.Stream(priority=2),
    "Stream(0)": lambda m: m.Stream(0),
    "Stream() == Stream()": lambda m: m.Stream() == m.Stream(),
    "Event()": lambda m: m.Event(),
    "Event(None)": lambda m: m.Event(None),
    "Event(0)": lambda m: m.Event(0),
    "Event().record()": lambda m: m.Event().record(),
    "Stream().wait_stream(None)": lambda m: m.Stream().wait_stream(None),
}


def _outcome(lib, case):
    """What a case gives: a repr of its value, or its exception's type and message."""
    try:
        return "value", repr(case(lib))
    except Exception as e:  # noqa: BLE001  (any exception is an outcome to compare)
        return type(e).__name__, str(e)


@pytest.mark.parametrize("name", list(CASES))
def test_like_torch(name):
    assert _outcome(ember, CASES[name]) == _outcome(torch, CASES[name])


@pytest.mark.parametrize("name", list(DEFAULT_CASES))
def test_default_device_like_torch(name):
    if ember.cuda.is_available() != torch.cuda.is_available():
        pytest.skip("the default device differs: ember and torch see different accelerators")
    assert _outcome(ember, DEFAULT_CASES[name]) == _outcome(torch, DEFAULT_CASES[name])


def test_top_level_names():
    assert ember.Stream is ember.stream.Stream and ember.Event is ember.stream.Event
    s, e = ember.Stream("cpu"), ember.Event("cpu")
    with pytest.raises(AttributeError):
        s.stream_id = 1  # read-only, as torch's
    with pytest.raises(AttributeError):
        e.event_id = 1
    with pytest.raises(AttributeError):
        s.anything = 1  # no instance dict, as torch's
    assert isinstance(s.device, ember.device) and isinstance(e.device, ember.device)
    with s as inside:
        assert inside is s


def test_cuda_without_cupy_raises_embers_error():
    if ember.cuda.is_available():
        pytest.skip("CUDA is available here")
    # ember's "Torch not compiled with CUDA enabled" AssertionError, as for a CUDA tensor
    with pytest.raises(AssertionError, match="Torch not compiled with CUDA enabled"):
        ember.Stream("cuda")
    with pytest.raises(AssertionError, match="Torch not compiled with CUDA enabled"):
        ember.Event("cuda")


# torch.accelerator on a machine without one: every call that needs the device raises torch's
# RuntimeError; the queries answer
ACCELERATOR_CASES = {
    "current_device_index": lambda m: m.accelerator.current_device_index(),
    "set_device_index": lambda m: m.accelerator.set_device_index(0),
    "synchronize": lambda m: m.accelerator.synchronize(),
    "current_stream": lambda m: m.accelerator.current_stream(),
    "set_stream": lambda m: m.accelerator.set_stream(m.Stream("cpu")),
    "memory_allocated": lambda m: m.accelerator.memory_allocated(),
    "max_memory_reserved": lambda m: m.accelerator.max_memory_reserved(),
    "reset_peak_memory_stats": lambda m: m.accelerator.reset_peak_memory_stats(),
    "empty_cache": lambda m: m.accelerator.empty_cache(),
    "get_memory_info": lambda m: m.accelerator.get_memory_info(),
    "get_device_capability": lambda m: m.accelerator.get_device_capability(),
    "device_index(None)": lambda m: m.accelerator.device_index(None).__enter__(),
    "device_index(0)": lambda m: m.accelerator.device_index(0).__enter__(),
    "current_accelerator": lambda m: m.accelerator.current_accelerator(True),
    "is_available": lambda m: (m.accelerator.is_available(), m.accelerator.device_count()),
}


@pytest.mark.parametrize("name", list(ACCELERATOR_CASES))
def test_accelerator_without_one_like_torch(name):
    if ember.cuda.is_available() or torch.cuda.is_available():
        pytest.skip("an accelerator is present here")
    case = ACCELERATOR_CASES[name]
    assert _outcome(ember, case) == _outcome(torch, case)


# --- CUDA through the CuPy stand-in ------------------------------------------------------------


@pytest.fixture
def fake_cuda(monkeypatch):
    """The CuPy stand-in as ``cupy``: two fake GPUs, streams and events that finish at once."""
    monkeypatch.setitem(sys.modules, "cupy", fake_cupy)
    monkeypatch.setattr(edev, "_cupy", fake_cupy)
    monkeypatch.setattr(ember.cuda, "_available", None)
    fake_cupy.reset()
    yield fake_cupy
    ember._backend.kernels._built.clear()  # stand-in kernels must not reach a real GPU
    ember.set_default_device(None)


def test_cuda_stream(fake_cuda):
    s = ember.Stream()  # the current accelerator: CUDA
    assert s == ember.Stream(s.stream_id, 0, 1) and s != ember.Stream("cuda")
    assert (s.device_type, s.device_index, s.device) == (1, 0, ember.device("cuda", 0))
    assert s.stream_id == s.native_handle != 0
    assert repr(s) == f"torch.Stream device_type=cuda, device_index=0, stream_id={s.stream_id}"
    assert s.query() is True and s.synchronize() is None and s.is_capturing() is False
    s1 = ember.Stream("cuda:1", priority=-1)
    assert s1.device_index == 1 and s1.device == ember.device("cuda", 1)
    assert ember.Stream(0).device_index == 0
    assert len({s, s1, ember.Stream(s.stream_id, 0, 1)}) == 2


def test_cuda_stream_context(fake_cuda):
    s = ember.Stream("cuda")
    before = ember.cuda.current_stream()
    with s as inside:
        assert inside is s
        # the block's work goes to s: ember.cuda sees its stream as current
        assert ember.cuda.current_stream().cuda_stream == s.native_handle
        assert (ember.ones(3, device="cuda") * 2).sum().item() == 6.0
    assert ember.cuda.current_stream() == before
    s1 = ember.Stream("cuda:1")
    with s1:
        assert ember.cuda.current_device() == 1
        with s:  # nested: device and stream of the inner one, then back
            assert ember.cuda.current_device() == 0
        assert ember.cuda.current_device() == 1
    assert ember.cuda.current_device() == 0
    # torch.cuda's stream functions take a device-generic stream on CUDA too
    with ember.cuda.stream(s):
        assert ember.cuda.current_stream().cuda_stream == s.native_handle
    ember.cuda.set_stream(s)
    assert ember.cuda.current_stream().cuda_stream == s.native_handle
    ember.cuda.set_stream(ember.cuda.default_stream())


def test_cuda_events(fake_cuda):
    s = ember.Stream("cuda")
    start, end = ember.Event(enable_timing=True), ember.Event("cuda:0", enable_timing=True)
    assert repr(start) == "torch.Event device_type=cuda, device_index=-1, event_flag=1, event_id=0"
    assert start.device == ember.device("cuda")
    # never recorded: done, and waits return at once
    assert start.query() and start.synchronize() is None and start.wait() is None
    with pytest.raises(ValueError, match="Both events must be recorded"):
        start.elapsed_time(end)
    with s:
        start.record()
        ember.ones(4, device="cuda").sum()
        end.record(s)
    end.synchronize()
    assert start.query() and end.query() and start.elapsed_time(end) >= 0.0
    assert start.device == ember.device("cuda", 0)
    assert start.event_id != 0 and f"event_id={start.event_id}" in repr(start)
    s1 = ember.Stream("cuda:1")
    with pytest.raises(RuntimeError) as err:
        start.record(s1)
    assert str(err.value) == (
        "Event device index 0 does not match recording stream's device index 1."
    )
    plain = ember.Event("cuda")
    plain.record()
    assert "event_flag=0" in repr(plain)
    with pytest.raises(ValueError, match="enable_timing=True"):
        plain.elapsed_time(end)
    ev = s1.record_event()
    assert isinstance(ev, ember.Event) and ev.device == ember.device("cuda", 1) and ev.query()
    s.wait_event(ev)
    s.wait_event(None)
    ev.wait()
    ev.wait(s)
    s.wait_stream(s1)
    s.wait_stream(None)  # the current stream


def test_cuda_accepts_embers_cuda_classes(fake_cuda):
    s = ember.Stream("cuda")
    s.wait_stream(ember.cuda.Stream())
    s.wait_event(ember.cuda.Event())
    e = ember.Event("cuda")
    e.record(ember.cuda.current_stream())
    assert e.device == ember.device("cuda", 0)
    e.wait(ember.cuda.default_stream())


def test_cuda_and_cpu_do_not_mix(fake_cuda):
    cuda_event, cpu_event = ember.Event("cuda"), ember.Event("cpu")
    cases = [
        (lambda: cuda_event.record(ember.Stream("cpu")), "recording stream's device type CPU"),
        (lambda: cpu_event.record(ember.Stream("cuda")), "recording stream's device type CUDA"),
        (lambda: cuda_event.elapsed_time(cpu_event), "match other's device type CPU"),
        (lambda: ember.Stream("cpu").record_event(), "cpu backend doesn't support events."),
        (lambda: ember.Stream("cpu").wait_stream(ember.Stream("cuda")), "blocking stream's"),
        (lambda: ember.Stream("cpu").wait_event(ember.cuda.Event()), "blocking stream's"),
    ]
    for call, message in cases:
        with pytest.raises(RuntimeError, match=message):
            call()
    cpu_event.wait(ember.Stream("cuda"))  # never recorded: nothing to wait for, as torch


def test_accelerator_streams_are_torch_streams(fake_cuda):
    a = ember.accelerator
    cur = a.current_stream()
    assert isinstance(cur, ember.Stream) and cur.device == ember.device("cuda", 0)
    assert cur.stream_id == ember.cuda.current_stream().cuda_stream
    s = ember.Stream("cuda")
    a.set_stream(s)
    assert a.current_stream() == s and ember.cuda.current_stream().cuda_stream == s.stream_id
    a.set_stream(ember.Stream(s.stream_id, 0, 1))  # one named by its ids
    assert a.current_stream() == s
    a.set_stream(ember.cuda.default_stream())
    assert a.current_stream().stream_id == ember.cuda.default_stream().cuda_stream
    assert a.current_stream("cuda:1").device_index == 1


def test_cuda_stream_from_ids(fake_cuda):
    s = ember.Stream("cuda:1")
    again = ember.Stream(stream_id=s.stream_id, device_index=1, device_type=1)
    assert again == s and again.native_handle == s.native_handle and again.query()
    default = ember.cuda.default_stream(0)
    assert ember.Stream(default.cuda_stream, 0, 1).query()
    unknown = ember.Stream(stream_id=12345, device_index=0, device_type=1)
    assert repr(unknown) == "torch.Stream device_type=cuda, device_index=0, stream_id=12345"
    with pytest.raises(RuntimeError, match="ember cannot find CUDA stream 12345 on device 0"):
        unknown.synchronize()


@pytest.mark.gpu
def test_gpu_stream_and_events():
    if not _real_gpu():
        pytest.skip(_NO_GPU)
    s, other = ember.Stream("cuda"), ember.Stream("cuda")
    start, end = ember.Event(enable_timing=True), ember.Event(enable_timing=True)
    x = ember.ones(1 << 20, device="cuda")
    with s:
        start.record()
        y = (x * 2).sum()
        end.record()
    other.wait_stream(s)
    other.wait_event(end)
    end.synchronize()
    assert start.elapsed_time(end) >= 0.0 and y.item() == 2.0 * (1 << 20)
    s.synchronize()
    assert s.query() and end.query() and s.native_handle == s.stream_id != 0
    assert ember.Stream(0, 0, 1).query()  # the default stream, named by its id
