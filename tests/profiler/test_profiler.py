"""ember.profiler and ember.autograd.profiler: events, nesting, tables, traces and schedules."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import warnings

import numpy as np
import pytest

import ember
import ember.nn as nn
from ember.autograd import _profiler_recorder as _recorder
from ember.autograd import engine as _engine
from ember.autograd import node as _node
from ember.autograd.profiler_util import format_time
from ember.profiler import ProfilerAction, ProfilerActivity, profile, record_function

torch = pytest.importorskip("torch")

CONV = "ember::ConvNd"
EVAL = "autograd::engine::evaluate_function: "


def _model(lib):
    lib.manual_seed(0)
    return lib.nn.Sequential(
        lib.nn.Conv2d(3, 4, 3),
        lib.nn.ReLU(),
        lib.nn.Flatten(),
        lib.nn.Linear(4 * 6 * 6, 5),
    )


def _batch(lib):
    rng = np.random.default_rng(0)
    x = lib.from_numpy(rng.standard_normal((2, 3, 8, 8)).astype(np.float32))
    y = lib.from_numpy(np.array([0, 3], np.int64))
    return x, y


def _train(lib, model, opt, x, y, steps: int) -> None:
    lf = lib.nn.CrossEntropyLoss()
    for _ in range(steps):
        opt.zero_grad()
        loss = lf(model(x), y)
        loss.backward()
        opt.step()


def _counts(prof) -> dict:
    return {e.key: e.count for e in prof.key_averages()}


def test_training_step_events_and_counts_match_torch():
    steps = 3
    m = _model(ember)
    opt = ember.optim.SGD(m.parameters(), lr=0.1)
    x, y = _batch(ember)
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        _train(ember, m, opt, x, y, steps)
    c = _counts(prof)
    assert c[CONV] == steps
    assert c[EVAL + "ConvolutionBackward0"] == steps
    assert c["Optimizer.step#SGD.step"] == steps
    assert c["Optimizer.zero_grad#SGD.zero_grad"] == steps

    tm = _model(torch)
    topt = torch.optim.SGD(tm.parameters(), lr=0.1)
    tx, ty = _batch(torch)
    with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU]) as tprof:
        _train(torch, tm, topt, tx, ty, steps)
    tc = _counts(tprof)
    for name in (
        EVAL + "ConvolutionBackward0",
        EVAL + "ReluBackward0",
        EVAL + "torch::autograd::AccumulateGrad",
        "Optimizer.step#SGD.step",
        "Optimizer.zero_grad#SGD.zero_grad",
    ):
        assert c[name] == tc[name], name


def test_nesting_and_self_time():
    m = _model(ember)
    opt = ember.optim.SGD(m.parameters(), lr=0.1)
    x, y = _batch(ember)
    with profile() as prof:
        with record_function("model_inference"):
            _train(ember, m, opt, x, y, 2)
    evs = prof.events()
    for e in evs:
        assert e.self_cpu_time_total <= e.cpu_time_total + 1e-9
        assert e.self_cpu_time_total >= -1e-6
    root = [e for e in evs if e.name == "model_inference"]
    assert len(root) == 1 and root[0].cpu_parent is None
    root = root[0]
    inside = [e for e in evs if e.thread == root.thread]
    assert all(e is root or _within(e, root) for e in inside)
    assert sum(e.self_cpu_time_total for e in inside) == pytest.approx(root.cpu_time_total)
    conv = next(e for e in evs if e.name == CONV)
    assert _ancestor(conv, root)
    # the legacy API's totals agree with the events
    assert prof.profiler.self_cpu_time_total == pytest.approx(root.cpu_time_total)
    assert prof.key_averages().self_cpu_time_total == pytest.approx(root.cpu_time_total)


def _within(e, root) -> bool:
    return root.time_range.start <= e.time_range.start <= e.time_range.end <= root.time_range.end


def _ancestor(e, root) -> bool:
    while e is not None:
        if e is root:
            return True
        e = e.cpu_parent
    return False


def test_record_function_context_manager_and_decorator():
    @record_function("my_fn")
    def work(t):
        return (t * 2).sum()

    t = ember.ones(3, requires_grad=True)
    with ember.autograd.profiler.profile() as prof:
        with ember.autograd.profiler.record_function("outer") as rf:
            for _ in range(3):
                work(t)
        assert rf.name == "outer"
    c = _counts(prof)
    assert c["my_fn"] == 3 and c["outer"] == 1
    evs = prof.function_events
    outer = next(e for e in evs if e.name == "outer")
    fns = [e for e in evs if e.name == "my_fn"]
    assert all(e.cpu_parent is outer for e in fns)
    assert all(any(ch.name == "ember::Mul" for ch in e.cpu_children) for e in fns)
    assert work(t).item() == 6.0  # outside a profile the decorated function still runs


@pytest.mark.parametrize(
    "kw",
    [
        dict(wait=1, warmup=1, active=2),
        dict(wait=1, warmup=1, active=2, repeat=2),
        dict(wait=2, warmup=0, active=1, skip_first=3),
        dict(wait=3, warmup=1, active=2, skip_first=2, skip_first_wait=1),
        dict(wait=0, warmup=2, active=3, repeat=1),
    ],
)
def test_schedule_actions_match_torch(kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ours = ember.profiler.schedule(**kw)
        theirs = torch.profiler.schedule(**kw)
    for step in range(13):
        assert ours(step).name == theirs(step).name, (kw, step)


@pytest.mark.parametrize(
    "kw,steps",
    [
        (dict(wait=1, warmup=1, active=2), 5),
        (dict(wait=1, warmup=1, active=2), 8),
        (dict(wait=0, warmup=1, active=1, repeat=2), 7),
        (dict(wait=1, warmup=0, active=3), 6),
    ],
)
def test_on_trace_ready_calls_match_torch(kw, steps):
    def run(lib, prof_mod):
        calls = []
        x = lib.ones(4, requires_grad=True)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            sch = prof_mod.schedule(**kw)
            with prof_mod.profile(
                schedule=sch, on_trace_ready=lambda p: calls.append(p.step_num)
            ) as p:
                for _ in range(steps):
                    (x * 3).sum().backward()
                    p.step()
        return calls

    assert run(ember, ember.profiler) == run(torch, torch.profiler)


def test_schedule_cycle_holds_its_steps():
    seen = []

    def handler(p):
        seen.append(sorted(k for k in _counts(p) if k.startswith("ProfilerStep#")))

    x = ember.ones(4, requires_grad=True)
    sch = ember.profiler.schedule(wait=1, warmup=1, active=2, repeat=1)
    with profile(schedule=sch, on_trace_ready=handler) as p:
        for _ in range(6):
            (x * 3).sum().backward()
            p.step()
    assert seen == [["ProfilerStep#2", "ProfilerStep#3"]]


def test_chrome_trace_and_tensorboard_handler(tmp_path):
    m = _model(ember)
    opt = ember.optim.SGD(m.parameters(), lr=0.1)
    x, y = _batch(ember)
    with profile(record_shapes=True) as prof:
        _train(ember, m, opt, x, y, 1)
    path = tmp_path / "trace.json"
    prof.export_chrome_trace(str(path))
    doc = json.loads(path.read_text())
    evs = [e for e in doc["traceEvents"] if e["ph"] == "X"]
    assert {"ph", "ts", "dur", "pid", "tid", "name", "cat"} <= set(evs[0])
    names = {e["name"] for e in evs}
    assert CONV in names and EVAL + "ConvolutionBackward0" in names
    assert len(evs) == len(prof.events())
    conv = next(e for e in evs if e["name"] == CONV)
    assert conv["args"]["Input Dims"][0] == [2, 3, 8, 8]
    assert all(e["dur"] >= 0 for e in evs)

    out = tmp_path / "tb"
    sch = ember.profiler.schedule(wait=0, warmup=1, active=1, repeat=2)
    with profile(
        schedule=sch, on_trace_ready=ember.profiler.tensorboard_trace_handler(str(out))
    ) as p:
        for _ in range(5):
            _train(ember, m, opt, x, y, 1)
            p.step()
    files = sorted(os.listdir(out))
    assert len(files) == 2 and all(f.endswith(".pt.trace.json") for f in files)
    for f in files:
        assert json.loads((out / f).read_text())["traceEvents"]


def test_table_layout_sorting_and_row_limit():
    m = _model(ember)
    opt = ember.optim.SGD(m.parameters(), lr=0.1)
    x, y = _batch(ember)
    with profile() as prof:
        with record_function("model_inference"):
            _train(ember, m, opt, x, y, 2)
    ka = prof.key_averages()
    for key in ("self_cpu_time_total", "cpu_time_total", "count", "cpu_time"):
        text = ka.table(sort_by=key, row_limit=5)
        lines = text.splitlines()
        for h in ("Name", "Self CPU %", "Self CPU", "CPU total %", "CPU total", "CPU time avg"):
            assert h in lines[1]
        assert "# of Calls" in lines[1] and "Input Shapes" not in lines[1]
        assert lines[-1].startswith("Self CPU time total: ")
        rows = lines[3:-2]
        assert len(rows) == 5
        best = sorted(ka, key=lambda e: getattr(e, key), reverse=True)
        assert rows[0].split()[-1] == str(best[0].count)
        vals = [getattr(e, key) for e in best[:5]]
        assert vals == sorted(vals, reverse=True)
    top = ka.table(sort_by="cpu_time_total", row_limit=1).splitlines()[3]
    assert top.strip().startswith("model_inference") and "100.00%" in top
    assert format_time(12.5) == "12.500us"
    assert format_time(1234.5) == "1.234ms"
    assert format_time(2.5e6) == "2.500s"


def test_group_by_input_shape():
    conv = nn.Conv2d(3, 2, 3)
    with profile(record_shapes=True) as prof:
        conv(ember.randn(1, 3, 8, 8))
        conv(ember.randn(2, 3, 6, 6))
        conv(ember.randn(2, 3, 6, 6))
    assert _counts(prof)[CONV] == 3
    grouped = [e for e in prof.key_averages(group_by_input_shape=True) if e.key == CONV]
    assert sorted(e.count for e in grouped) == [1, 2]
    assert sorted(e.input_shapes[0] for e in grouped) == [[1, 3, 8, 8], [2, 3, 6, 6]]
    text = prof.key_averages(group_by_input_shape=True).table(sort_by="cpu_time_total")
    assert "Input Shapes" in text.splitlines()[1]
    assert "[[2, 3, 6, 6], [2, 3, 3, 3], [2]" in text


def test_disabled_and_idle_profilers_record_nothing():
    t = ember.ones(3, requires_grad=True)
    with ember.autograd.profiler.profile(enabled=False) as prof:
        assert _recorder.active() is None and not _node._profiling
        (t * 2).sum().backward()
    assert prof.function_events is None
    with profile() as p:
        (t * 2).sum().backward()
    session = p.profiler._session
    n = len(session.events)
    assert n > 0
    assert not _node._profiling and not _engine._profiling and _recorder.active() is None
    with record_function("idle"):
        (t * 2).sum().backward()
    ember.optim.SGD([t], lr=0.1).step()
    assert len(session.events) == n


def test_events_from_threads_get_their_tid():
    def work():
        a = ember.ones(8, 8, requires_grad=True)
        for _ in range(20):
            (a @ a).sum().backward()

    with profile() as prof:
        threads = [threading.Thread(target=work) for _ in range(3)]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        work()
    tids = {e.thread for e in prof.events() if e.name == "ember::MatMul"}
    assert len(tids) == 4
    assert _counts(prof)["ember::MatMul"] == 80


def test_legacy_api_and_errors():
    t = ember.ones(3, requires_grad=True)
    with ember.autograd.profiler.profile(use_cuda=False, record_shapes=False) as prof:
        with pytest.raises(RuntimeError):
            prof.key_averages()
        with pytest.raises(RuntimeError):
            with profile():
                pass
        (t * 2).sum().backward()
    tot = prof.total_average()
    assert tot.key == "Total" and tot.count == len(prof.function_events)
    assert prof.self_cpu_time_total == pytest.approx(tot.self_cpu_time_total)
    assert "Self CPU time total" in prof.key_averages().table(sort_by="self_cpu_time_total")
    assert "ember::Mul" in prof.key_averages().table(sort_by="cuda_time_total")  # device: 0
    with ember.autograd.profiler.emit_nvtx():
        pass
    with profile(activities=[ProfilerActivity.CPU, ProfilerActivity.CUDA]) as p:
        (t * 2).sum()
    assert "ember::Mul" in _counts(p)


def test_api_surface_matches_torch():
    for name in (
        "profile",
        "record_function",
        "schedule",
        "ProfilerActivity",
        "ProfilerAction",
        "tensorboard_trace_handler",
        "supported_activities",
    ):
        assert hasattr(torch.profiler, name) and hasattr(ember.profiler, name)
    for name in ("profile", "record_function", "emit_nvtx", "EventList", "FunctionEvent"):
        assert hasattr(torch.autograd.profiler, name) and hasattr(ember.autograd.profiler, name)
    assert set(ProfilerAction.__members__) <= set(torch.profiler.ProfilerAction.__members__)
    assert {"CPU", "CUDA"} <= set(ProfilerActivity.__members__)
    assert ember.profiler.supported_activities() >= {ProfilerActivity.CPU}
    t = ember.ones(2, requires_grad=True)
    with profile() as p:
        (t + 1).sum()
    avg, ev = next(iter(p.key_averages())), p.events()[0]
    tavg_attrs = ("key", "count", "cpu_time_total", "self_cpu_time_total", "cpu_time")
    for a in tavg_attrs + ("input_shapes", "cpu_time_total_str", "self_cpu_time_total_str"):
        assert hasattr(avg, a), a
    for a in tavg_attrs + ("name", "id", "thread", "time_range", "cpu_parent", "cpu_children"):
        assert hasattr(ev, a), a
    assert isinstance(avg.cpu_time_total, float) and isinstance(ev.self_cpu_time_total, float)
    legacy = p.profiler
    for a in ("function_events", "key_averages", "table", "total_average", "export_chrome_trace"):
        assert hasattr(legacy, a)
    for a in ("step", "events", "key_averages", "export_chrome_trace", "step_num", "profiler"):
        assert hasattr(p, a)


def test_torch_alias_and_ember_run(tmp_path):
    import ember as etorch

    assert etorch.profiler is ember.profiler
    assert etorch.autograd.profiler.profile is ember.autograd.profiler.profile
    script = tmp_path / "prof_script.py"
    script.write_text(
        "import json\n"
        "import torch\n"
        "import torch.profiler\n"
        "from torch.profiler import profile, record_function, ProfilerActivity\n"
        "x = torch.ones(3, requires_grad=True)\n"
        "with profile(activities=[ProfilerActivity.CPU], record_shapes=True) as prof:\n"
        "    with record_function('step'):\n"
        "        (x * 2).sum().backward()\n"
        "with torch.autograd.profiler.profile() as old:\n"
        "    (x * 2).sum()\n"
        "keys = sorted(e.key for e in prof.key_averages())\n"
        "print('RESULT ' + json.dumps({'mod': profile.__module__, 'keys': keys,\n"
        "    'same': torch.profiler is __import__('ember').profiler,\n"
        "    'old': old.total_average().count}))\n"
    )
    env = dict(os.environ)
    root = os.path.dirname(os.path.dirname(ember.__file__))
    env["PYTHONPATH"] = root + os.pathsep + env.get("PYTHONPATH", "")
    proc = subprocess.run(
        [sys.executable, "-m", "ember", "run", str(script)],
        cwd=str(tmp_path),
        env=env,
        capture_output=True,
        text=True,
        timeout=90,
    )
    assert proc.returncode == 0, proc.stderr
    line = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")][-1]
    info = json.loads(line[len("RESULT ") :])
    assert info["mod"] == "ember.profiler" and info["same"]
    assert "step" in info["keys"] and EVAL + "MulBackward0" in info["keys"]
    assert info["old"] >= 1
