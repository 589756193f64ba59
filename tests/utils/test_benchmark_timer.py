"""ember.utils.benchmark against torch.utils.benchmark: Measurement statistics and repr text,
Compare's tables and the formatting helpers on the same fixed times; Timer on tiny statements
(every timing call here takes well under 0.5 s) and its errors."""

from __future__ import annotations

import os
import pickle
import re
import subprocess
import sys
from types import SimpleNamespace

import numpy as np
import pytest

import ember
from ember._torch_alias import EmberNotImplementedError
from ember.utils import benchmark as eb

tb = pytest.importorskip("torch.utils.benchmark")
timer_interface = pytest.importorskip(
    "torch.utils.benchmark.utils.valgrind_wrapper.timer_interface"
)

OBJECT_LINE = re.compile(
    r"<(torch|ember)\.utils\.benchmark\.utils\.common\.Measurement object at 0x[0-9a-f]+>$"
)


@pytest.fixture(autouse=True)
def _thread_settings_back(restore_thread_settings):
    """Every Timer sets ember's thread count and restores it as an explicit count: undo that."""
    yield


# --- fixed measurements, built the same way in both frameworks ---------------------------------


def both(number_per_run, raw_times, **spec):
    """(ember Measurement, torch Measurement) of the same times and task."""
    spec.setdefault("stmt", "x + y")
    spec.setdefault("setup", "pass")
    return (
        eb.Measurement(number_per_run, list(raw_times), eb.TaskSpec(**spec)),
        tb.Measurement(number_per_run, list(raw_times), tb.TaskSpec(**spec)),
    )


def fixed_times(seed: int, n: int, median: float, spread: float) -> list[float]:
    """n times around ``median`` seconds, relative spread ``spread`` (a few large outliers)."""
    rng = np.random.default_rng(seed)
    t = median * (1 + spread * rng.standard_normal(n))
    t[rng.random(n) < 0.05] *= 3
    return [float(v) for v in np.abs(t) + median * 1e-3]


SPECS = [
    {},
    {"label": "Batched add", "sub_label": "float32"},
    {"stmt": "y = x @ w\nz = y.relu()", "sub_label": "fused"},
    {"stmt": "y = x @ w\nz = y.relu()"},
    {"description": "n=128", "setup": "x = torch.ones(128)"},
    {"setup": "import math\nx = torch.ones(4)", "num_threads": 4, "env": "A"},
    {"label": None, "sub_label": "only a sub label", "num_threads": 2},
    {"stmt": "", "label": "empty stmt"},
]
# (n, per-run median in s, relative spread, runs per measurement): every unit, with and without
# the two IQR warnings, and the repr's one/two/three/four-measurement forms
TIMES = [
    (1, 3e-7, 0.0, 1000),
    (2, 4.2e-6, 0.05, 100),
    (3, 7.5e-5, 0.3, 10),
    (4, 1.5e-3, 0.02, 1),
    (5, 2.5, 0.15, 1),
    (17, 9.99e-7, 0.12, 1000),
    (100, 1.2e-8, 0.4, 100000),
    (250, 3.3e-2, 0.01, 3),
]


@pytest.mark.parametrize("spec", SPECS, ids=range(len(SPECS)))
@pytest.mark.parametrize("case", TIMES, ids=[str(c[:2]) for c in TIMES])
def test_measurement_repr_and_statistics_match_torch(spec, case):
    n, median, spread, number = case
    raw = [t * number for t in fixed_times(n, n, median, spread)]
    e, t = both(number, raw, **spec)
    e_lines, t_lines = repr(e).splitlines(), repr(t).splitlines()
    assert OBJECT_LINE.match(e_lines[0]) and e_lines[0].startswith("<ember.")
    assert OBJECT_LINE.match(t_lines[0])
    assert e_lines[1:] == t_lines[1:]
    # NumPy's default quantile is torch.quantile's linear interpolation, bit for bit
    assert (e.median, e.iqr) == (t.median, t.iqr)
    assert e.mean == pytest.approx(t.mean, rel=1e-14)  # summation order differs in the last bit
    assert e.times == t.times
    assert e.significant_figures == t.significant_figures
    assert e.has_warnings == t.has_warnings
    for threshold in (0.01, 0.1, 0.25, 1.0):
        assert e.meets_confidence(threshold) == t.meets_confidence(threshold)
    assert e.meets_confidence() == t.meets_confidence()
    assert (e.title, e.env, e.as_row_name) == (t.title, t.env, t.as_row_name)
    for field in ("stmt", "setup", "label", "sub_label", "description", "num_threads"):
        assert getattr(e, field) == getattr(t, field)
    assert e.task_spec.summarize() == t.task_spec.summarize()


def test_significant_figures_match_torch_on_many_spreads():
    rng = np.random.default_rng(7)
    for i in range(300):
        n = int(rng.integers(1, 40))
        raw = fixed_times(i, n, float(10.0 ** rng.uniform(-8, 0)), float(rng.uniform(0, 0.5)))
        e, t = both(10, raw)
        assert (e.significant_figures, e.median, e.iqr) == (
            t.significant_figures,
            t.median,
            t.iqr,
        ), raw


def test_env_is_the_task_field_and_merge_pools_replicates():
    e, t = both(10, [1e-5, 2e-5])
    assert e.env is None and t.env is None  # torch's "Unspecified env" branch is unreachable
    e2, t2 = both(100, [3e-4, 1e-4, 2e-4])
    e3, t3 = both(1, [5e-6], stmt="other")
    em, tm = eb.Measurement.merge([e, e3, e2]), tb.Measurement.merge([t, t3, t2])
    assert [(m.number_per_run, m.raw_times, m.stmt) for m in em] == [
        (m.number_per_run, m.raw_times, m.stmt) for m in tm
    ]
    assert em[0].metadata is None and em[0].number_per_run == 1
    assert em[0].raw_times == pytest.approx([1e-6, 2e-6, 3e-6, 1e-6, 2e-6])


def test_measurement_pickles_under_torchs_module_path():
    e, _ = both(10, [1e-5, 2e-5, 3e-5], label="p")
    e.metadata = {"k": 1}
    back = pickle.loads(pickle.dumps(e))
    assert back == e and repr(back).splitlines()[1:] == repr(e).splitlines()[1:]
    assert type(e).__module__ == "ember.utils.benchmark.utils.common"


# --- the formatting helpers ------------------------------------------------------------------


def boundary_values() -> list[float]:
    vals = [float(v) for v in 10.0 ** np.random.default_rng(3).uniform(-10, 3, 400)]
    for k in range(-10, 4):
        p = 10.0**k
        vals += [p, float(np.nextafter(p, 0)), float(np.nextafter(p, 1e9)), p * (1 + 3e-8)]
        vals += [p * (1 - 3e-8), p * 0.9995, p * 1.0005]
    return vals


def test_select_unit_and_unit_to_english_match_torch():
    for v in boundary_values():
        assert eb.select_unit(v) == tb.select_unit(v), v
    for u in ("ns", "us", "ms", "s"):
        assert eb.unit_to_english(u) == tb.unit_to_english(u)
    assert eb.select_unit(1) == tb.select_unit(1)
    with pytest.raises(KeyError):
        eb.unit_to_english("ks")


def test_trim_sigfig_matches_torch():
    for v in boundary_values()[:600]:
        for n in (1, 2, 3, 4):
            assert eb.trim_sigfig(v, n) == tb.trim_sigfig(v, n), (v, n)
            assert eb.trim_sigfig(-v, n) == tb.trim_sigfig(-v, n), (v, n)
    assert eb.trim_sigfig(3.14159, 2) == tb.trim_sigfig(3.14159, 2) == 3.1000001430511475
    assert eb.trim_sigfig(np.float64(3.14159), 2) == tb.trim_sigfig(np.float64(3.14159), 2)
    with pytest.raises(AssertionError, match="must be an integer"):
        eb.trim_sigfig(1.0, 1.5)


def test_ordered_unique_and_set_torch_threads():
    assert eb.ordered_unique([3, 1, 3, 2, 1]) == tb.ordered_unique([3, 1, 3, 2, 1]) == [3, 1, 2]
    ember.set_num_threads(3)
    with pytest.raises(ZeroDivisionError), eb.set_torch_threads(1):
        assert ember.get_num_threads() == 1
        raise ZeroDivisionError
    assert ember.get_num_threads() == 3


# --- Compare ---------------------------------------------------------------------------------


def compare_cases():
    """(kwargs, times) for a set of measurements exercising every part of the table."""
    cases = []
    k = 0
    for label in ("Matmul", "Add"):
        for threads in (1, 4):
            for sub in ("float32", "float64", None):
                for j, desc in enumerate(("n=1", "n=16", "n=1024")):
                    if label == "Add" and sub is None and desc == "n=16":
                        continue  # a missing cell
                    k += 1
                    spread = (0.01, 0.15, 0.4)[k % 3]
                    median = 2e-6 * 40**j * (1.5 if sub == "float64" else 1) / threads
                    spec = {"label": label, "sub_label": sub, "description": desc}
                    spec["stmt"] = "torch.mm(a, b)" if label == "Matmul" else "a + b"
                    spec["num_threads"] = threads
                    cases.append((spec, fixed_times(k, 5 + k % 20, median, spread), 10 ** (k % 4)))
    return cases


def build_compare(cases):
    es, ts = [], []
    for spec, times, number in cases:
        e, t = both(number, [x * number for x in times], **spec)
        es.append(e)
        ts.append(t)
    return eb.Compare(es), tb.Compare(ts), es, ts


@pytest.mark.parametrize(
    "options",
    [(), ("trim",), ("colorize",), ("rowwise",), ("warnings",), ("trim", "colorize", "warnings")],
)
def test_compare_text_matches_torch(options, capsys):
    ec, tc, _, _ = build_compare(compare_cases())
    for c in (ec, tc):
        if "trim" in options:
            c.trim_significant_figures()
        if "colorize" in options:
            c.colorize()
        if "rowwise" in options:
            c.colorize(rowwise=True)
        if "warnings" in options:
            c.highlight_warnings()
    text = str(ec)
    assert text == str(tc)
    assert "[" in text and "threads: " in text and "Times are in" in text
    ec.print()
    assert capsys.readouterr().out == text + "\n"


def test_compare_merges_replicates_and_extends_like_torch():
    cases = compare_cases()[:6]
    replicas = [(spec, times[::-1][:3], 7) for spec, times, _ in cases[:3]]
    ec, tc, _, _ = build_compare(cases)
    ec2, tc2, es2, ts2 = build_compare(replicas)
    ec.extend_results(es2)
    tc.extend_results(ts2)
    ec.trim_significant_figures()
    tc.trim_significant_figures()
    assert str(ec) == str(tc)
    with pytest.raises(ValueError, match="Expected an instance of `Measurement`"):
        ec.extend_results([1.0])
    with pytest.raises(ValueError, match="Expected an instance of `Measurement`"):
        tc.extend_results([1.0])


def test_compare_with_envs_and_one_row_matches_torch():
    cases = [
        ({"stmt": "f(x)", "description": "d1", "env": "main"}, [1e-3, 1.1e-3, 1.2e-3], 1),
        ({"stmt": "f(x)", "description": "d1", "env": "branch-2"}, [2e-3, 2.1e-3], 1),
        ({"stmt": "g(x)", "description": "d2", "env": "main"}, [5e-9, 6e-9, 4e-9, 5e-9], 1000),
    ]
    for options in ((), ("colorize",)):
        ec, tc, _, _ = build_compare(cases)
        if options:
            ec.colorize()
            tc.colorize()
        assert str(ec) == str(tc)
    single = [({"stmt": "pass", "description": "only"}, [2.5e-8], 1000000)]
    ec, tc, _, _ = build_compare(single)
    assert str(ec) == str(tc)


def test_compare_fails_as_torch_without_a_description():
    e, t = both(10, [1e-5, 2e-5])
    with pytest.raises(TypeError):
        str(tb.Compare([t]))
    with pytest.raises(TypeError):
        str(eb.Compare([e]))


# --- Timer -----------------------------------------------------------------------------------


def test_timeit_runs_stmt_with_globals_and_setup():
    seen = []
    x = ember.ones(3)
    t = eb.Timer(
        stmt="y = x + offset; seen.append(torch.get_num_threads())",
        setup="offset = 2",
        globals={"x": x, "seen": seen},
        num_threads=1,
    )
    ember.set_num_threads(2)
    m = t.timeit(50)
    assert m.number_per_run == 50 and len(m.raw_times) == 1 and m.raw_times[0] > 0
    assert len(seen) == 2 + 50 and set(seen) == {1}  # the warmup, then the measured runs
    assert ember.get_num_threads() == 2
    assert m.stmt == "y = x + offset; seen.append(torch.get_num_threads())"
    assert m.setup == "offset = 2" and m.num_threads == 1
    assert t._globals["torch"] is ember and "torch" not in {"x": x, "seen": seen}


def test_blocked_autorange_and_adaptive_autorange():
    ember.set_num_threads(2)
    calls = []
    t = eb.Timer(
        "y = x + 1",
        globals={"x": ember.ones(4)},
        label="add",
        description="4",
        num_threads=1,
    )
    m = t.blocked_autorange(callback=lambda n, s: calls.append((n, s)), min_run_time=0.02)
    assert sum(m.raw_times) >= 0.02 and all(r > 0 for r in m.raw_times)
    assert m.number_per_run >= 1 and str(m.number_per_run).strip("0") == "1"  # a power of ten
    assert [c[0] for c in calls] == [m.number_per_run] * len(m.raw_times)
    assert [c[1] for c in calls] == m.raw_times
    assert 0 < m.median < 0.01 and ember.get_num_threads() == 2

    a = t.adaptive_autorange(threshold=0.5, min_run_time=0.005, max_run_time=0.05)
    assert len(a.raw_times) >= 4 or sum(a.raw_times) > 0.05
    assert a.median > 0 and ember.get_num_threads() == 2
    assert str(eb.Compare([m, a])).startswith("[")


def test_multiline_code_is_dedented_as_torch():
    stmt = """
        y = x * 2
        z = y + 1
    """
    e = eb.Timer(stmt, setup="\n    x = 3\n", timer=lambda: 0.0)
    t = tb.Timer(stmt, setup="\n    x = 3\n", timer=lambda: 0.0)
    assert e._task_spec.stmt == t._task_spec.stmt == "y = x * 2\nz = y + 1"
    assert e._task_spec.setup == t._task_spec.setup
    # a clock that never moves: every time is floored at 1 ns, as torch's
    assert e.timeit(3).raw_times == t.timeit(3).raw_times == [1e-9]


def test_default_timer_waits_for_the_gpu_once_cupy_is_loaded(monkeypatch):
    from ember.utils.benchmark.utils import timer as timer_module

    synced = []

    class Device:
        def synchronize(self):
            synced.append(True)

    fake_cupy = SimpleNamespace(cuda=SimpleNamespace(Device=Device))

    assert isinstance(eb.timer(), float) and not synced  # no CuPy loaded: a plain clock read
    monkeypatch.setattr(timer_module, "cupy_loaded", lambda: True)
    monkeypatch.setattr(timer_module, "cupy", lambda: fake_cupy)
    assert isinstance(eb.timer(), float) and synced == [True]


@pytest.mark.parametrize(
    "kwargs, exc",
    [
        ({"stmt": "x = = 1"}, SyntaxError),
        ({"stmt": "pass", "setup": "for"}, SyntaxError),
        ({"stmt": "  return 3"}, SyntaxError),
        ({"stmt": lambda: None}, ValueError),
        ({"stmt": "pass", "global_setup": "#include <x>"}, ValueError),
        ({"stmt": "pass", "language": "fortran"}, ValueError),
    ],
)
def test_construction_errors_match_torch(kwargs, exc):
    with pytest.raises(exc) as te:
        tb.Timer(**kwargs)
    with pytest.raises(exc) as ee:
        eb.Timer(**kwargs)
    if exc is ValueError:
        assert str(ee.value) == str(te.value)


def test_errors_at_run_time_match_torch():
    for mod in (eb, tb):
        with pytest.raises(NameError):
            mod.Timer("undefined_name + 1").timeit(1)
        t = mod.Timer("pass")
        for call in (t.repeat, t.autorange):
            with pytest.raises(NotImplementedError, match="See `Timer.blocked_autorange.`"):
                call()
        with pytest.raises(ValueError, match="`repeats` must be >= 1"):
            t.collect_callgrind(repeats=0)


def test_cpp_statements_are_not_implemented():
    for language in (eb.Language.CPP, "cpp", "c++"):
        with pytest.raises(EmberNotImplementedError, match="C\\+\\+"):
            eb.Timer("auto x = 1;", language=language)
    assert [lang.value for lang in eb.Language] == [lang.value for lang in tb.Language]


def test_collect_callgrind_without_valgrind_raises_torchs_error(tmp_path, monkeypatch):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    os.symlink("/usr/bin/which", bin_dir / "which")  # torch asks `which` for each tool
    monkeypatch.setenv("PATH", str(bin_dir))
    monkeypatch.setattr(timer_interface, "CALLGRIND_SINGLETON", None)
    with pytest.raises(OSError) as te:
        tb.Timer("pass").collect_callgrind()
    with pytest.raises(OSError) as ee:
        eb.Timer("pass").collect_callgrind()
    assert (
        str(ee.value)
        == str(te.value)
        == ("Missing: valgrind, callgrind_control, callgrind_annotate")
    )


def test_collect_callgrind_with_valgrind_is_not_implemented(tmp_path, monkeypatch):
    for tool in ("valgrind", "callgrind_control", "callgrind_annotate"):
        (tmp_path / tool).write_text("#!/bin/sh\nexit 1\n")
        (tmp_path / tool).chmod(0o755)
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(EmberNotImplementedError, match="collect_callgrind"):
        eb.Timer("pass").collect_callgrind(number=10)


# --- the namespace -----------------------------------------------------------------------------


def test_namespace_names_and_missing_ones():
    import ember.utils.benchmark as imported

    assert imported is eb and ember.utils.benchmark is eb
    assert set(eb.__all__) <= set(dir(tb))
    for name in ("Fuzzer", "FuzzedParameter", "FuzzedTensor", "CallgrindStats", "CopyIfCallgrind"):
        assert not hasattr(eb, name)
        with pytest.raises(EmberNotImplementedError, match=f"torch.utils.benchmark.{name}"):
            getattr(eb, name)
    assert eb.Colorize.ROWWISE.value == tb.Colorize.ROWWISE.value


def test_torch_import_forms_under_the_alias():
    code = (
        "from ember import _torch_alias\n"
        "_torch_alias.install()\n"
        "from torch.utils import benchmark\n"
        "import torch.utils.benchmark as b2\n"
        "from torch.utils.benchmark.utils.common import Measurement\n"
        "import torch\n"
        "assert benchmark is b2 and b2.__name__ == 'ember.utils.benchmark'\n"
        "assert Measurement is benchmark.Measurement\n"
        "m = benchmark.Timer('x @ x', globals={'x': torch.ones(2, 2)}).timeit(10)\n"
        "print(m.number_per_run)\n"
    )
    root = os.path.dirname(os.path.dirname(ember.__file__))
    env = dict(os.environ, PYTHONPATH=root + os.pathsep + os.environ.get("PYTHONPATH", ""))
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=env
    )
    assert proc.stdout.strip() == "10", proc.stderr
