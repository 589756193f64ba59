"""benchmarks/readme_table.py: the README's benchmark table, parsed, merged and rendered (the
real benchmarks are never run here: stand-in scripts and rows take their place)."""

from __future__ import annotations

import os
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

from benchmarks import bench_cnn, bench_mlp, harness  # noqa: E402
from benchmarks import readme_table as rt  # noqa: E402

INFO = {
    "date": "2030-01-02",
    "cpu": "Test CPU",
    "cpus": 2,
    "virtual": True,
    "mem_gib": 24,
    "numpy": "9.9.9",
    "blas": "OpenBLAS 0.3.31",
    "python": "3.11.7",
    "torch": "2.13.0+cpu",
}

README = "\n".join(
    [
        "# Project",
        "",
        "## Benchmarks",
        "",
        "<!-- benchmarks:begin -->",
        "Old paragraph, measured long ago.",
        "",
        "| Workload | ember | PyTorch | Ratio | Produced by |",
        "|---|---|---|---|---|",
        "| `a + b`, 2x2 float32 | 0.70 us | 1.24 us | 0.56 (time) "
        "| `python -m benchmarks.bench_core` |",
        "| MNIST CNN | 859-873 samples/s | 1,232-1,288 samples/s | 0.67-0.71x "
        "| `python benchmarks/bench_cnn.py` |",
        "| the same, both in one process | | | 1.21-1.30x | `python benchmarks/bench_cnn.py` |",
        "| GPU seed model | 1,000 samples/s | 2,000 samples/s | 2.00 (time) "
        "| `python -m benchmarks.bench_gpu` |",
        "| `ember demo`, 20 epochs | 0.3 s | 0.4 s | "
        "| `ember demo --no-progress` and `ember demo --backend torch --no-progress` |",
        "<!-- benchmarks:end -->",
        "",
        "Text after the table stays.",
        "",
    ]
)
CORE = "python -m benchmarks.bench_core"


def _row(workload, ember, torch, ratio, command):
    return {
        "workload": workload,
        "ember": ember,
        "torch": torch,
        "ratio": ratio,
        "command": command,
    }


def test_render_table_markdown():
    rows = [
        _row("`a + b`, 2x2 float32", "0.70 us", "1.24 us", "0.56 (time)", "python -m x.y"),
        _row("the same, alternating", "", "", "1.25x", "python z.py"),
        _row("a | b", "1", "2", "", "`demo a` and `demo b`"),
    ]
    assert rt.render_table(rows).splitlines() == [
        "| Workload | ember | PyTorch | Ratio | Produced by |",
        "|---|---|---|---|---|",
        "| `a + b`, 2x2 float32 | 0.70 us | 1.24 us | 0.56 (time) | `python -m x.y` |",
        "| the same, alternating | | | 1.25x | `python z.py` |",
        "| a \\| b | 1 | 2 | | `demo a` and `demo b` |",
    ]


def test_parse_table_round_trip_and_owners():
    rows = rt.parse_table(rt.extract_block(README))
    assert [r["workload"] for r in rows][:2] == ["`a + b`, 2x2 float32", "MNIST CNN"]
    assert rows[0] == _row("`a + b`, 2x2 float32", "0.70 us", "1.24 us", "0.56 (time)", CORE)
    assert rows[2]["ember"] == "" and rows[2]["ratio"] == "1.21-1.30x"
    assert [rt.benchmark_of(r["command"]) for r in rows] == ["core", "cnn", "cnn", "gpu", "demo"]
    # rendering the parsed rows gives the table back, character for character
    table = README[README.index("| Workload") : README.index(rt.END)].strip()
    assert rt.render_table(rows) == table
    assert rt.parse_table(rt.render_table(rows + [_row("a | b", "", "", "", "x")]))[-1] == _row(
        "a | b", "", "", "", "x"
    )


def test_parse_the_real_readme_table():
    with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as f:
        text = f.read()
    rows = rt.parse_table(rt.extract_block(text))
    assert rows, "the README's benchmark block has a table"
    assert all(rt.benchmark_of(r["command"]) in rt.ORDER for r in rows)
    owners = [rt.benchmark_of(r["command"]) for r in rows]
    assert owners == sorted(owners, key=rt.ORDER.index), "rows are in the order of ORDER"


def test_replace_block_keeps_the_rest():
    out = rt.replace_block(README, "NEW BLOCK\n\n| a |")
    assert out.startswith("# Project\n\n## Benchmarks\n\n<!-- benchmarks:begin -->\nNEW BLOCK\n")
    assert "| a |\n<!-- benchmarks:end -->\n\nText after the table stays.\n" in out
    assert "Old paragraph" not in out
    assert rt.replace_block(out, "NEW BLOCK\n\n| a |") == out  # idempotent


@pytest.mark.parametrize(
    "text",
    [
        "# no markers at all\n",
        "<!-- benchmarks:begin -->\nonly the first\n",
        "<!-- benchmarks:end -->\n<!-- benchmarks:begin -->\n",
    ],
)
def test_missing_markers_are_an_error(text):
    with pytest.raises(ValueError, match="benchmarks:"):
        rt.replace_block(text, "x")


def test_main_without_markers_exits_with_a_message(tmp_path, monkeypatch):
    readme = tmp_path / "README.md"
    readme.write_text("# no markers\n")
    monkeypatch.setattr(rt, "run_benchmark", lambda *a, **k: pytest.fail("ran a benchmark"))
    with pytest.raises(SystemExit, match="marker"):
        rt.main(["--readme", str(readme), "--only", "core"])
    assert readme.read_text() == "# no markers\n"


def test_merge_keeps_rows_of_failed_and_unselected_benchmarks():
    old = rt.parse_table(rt.extract_block(README))
    new_core = [_row("`a + b`, 2x2 float32", "0.50 us", "1.00 us", "0.50 (time)", CORE)]
    rows, kept = rt.merge_rows(old, {"core": new_core, "gpu": None, "cnn": None})
    assert rows[0] == new_core[0]
    assert rows[1:] == old[1:]  # cnn and gpu failed, demo was not rerun: rows as they were
    assert kept == ["cnn", "gpu", "demo"]
    # a row owned by no known benchmark is not dropped
    stray = _row("hand-written", "1", "2", "", "make bench")
    rows, _ = rt.merge_rows(old + [stray], {"core": new_core})
    assert rows[-1] == stray and len(rows) == len(old) + 1


def _write_readme(tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text(README)
    return readme


def test_main_replaces_rerun_rows_and_warns_about_failures(tmp_path, monkeypatch, capsys):
    readme = _write_readme(tmp_path)
    new_core = [_row("`a + b`, 2x2 float32", "0.50 us", "1.00 us", "0.50 (time)", CORE)]

    def fake(name, quick=False, timeout=0):
        if name == "core":
            return new_core
        raise rt.BenchmarkFailed("CuPy not installed")

    monkeypatch.setattr(rt, "run_benchmark", fake)
    monkeypatch.setattr(rt, "machine_info", lambda: dict(INFO))
    assert rt.main(["--readme", str(readme), "--only", "core", "gpu"]) == 0
    text = readme.read_text()
    rows = rt.parse_table(rt.extract_block(text))
    old = rt.parse_table(rt.extract_block(README))
    assert rows == new_core + old[1:]
    flat = " ".join(text.split())  # the paragraph is wrapped
    assert "Measured 2030-01-02 on a 2-core Test CPU virtual machine with 24 GiB" in flat
    assert "NumPy 9.9.9 with OpenBLAS 0.3.31, Python 3.11.7" in flat
    assert "PyTorch 2.13.0 (CPU build)" in flat
    assert "The cnn, gpu and demo rows were not measured" in flat
    assert "`python -m benchmarks.readme_table`" in flat
    assert "above 1: ember is faster" in flat and "below 1: ember is faster" in flat
    paragraph = rt.extract_block(text).strip().split("\n\n")[0]
    assert all(len(line) <= 99 for line in paragraph.splitlines())
    assert "Old paragraph" not in text
    assert text.startswith("# Project\n") and text.endswith("\nText after the table stays.\n")
    err = capsys.readouterr().err
    assert "warning: gpu did not run (CuPy not installed)" in err
    assert "previous README rows are kept unchanged" in err


def test_dry_run_writes_nothing(tmp_path, monkeypatch, capsys):
    readme = _write_readme(tmp_path)
    monkeypatch.setattr(rt, "machine_info", lambda: dict(INFO))

    def fail(name, quick=False, timeout=0):
        raise rt.BenchmarkFailed("no mpiexec")

    monkeypatch.setattr(rt, "run_benchmark", fail)
    assert rt.main(["--readme", str(readme), "--only", "distributed", "--dry-run"]) == 0
    assert readme.read_text() == README
    out = capsys.readouterr()
    assert out.out.startswith("ember against PyTorch 2.13.0 (CPU build)")
    assert "| `ember demo`, 20 epochs | 0.3 s | 0.4 s | |" in out.out
    assert "warning: distributed did not run (no mpiexec)" in out.err
    assert "had no rows in the README" in out.err


def test_run_benchmark_reads_the_json_rows_and_filters_keys(tmp_path, monkeypatch):
    script = tmp_path / "fake_bench.py"
    rows = [
        dict(_row("kept", "1 us", "2 us", "0.50 (time)", "python fake.py"), key="a"),
        dict(_row("dropped", "1 us", "2 us", "0.50 (time)", "python fake.py"), key="b"),
    ]
    script.write_text(
        "import json, sys\n"
        f"rows = {rows!r}\n"
        "print('human-readable line')\n"
        "json.dump(rows, open(sys.argv[sys.argv.index('--json') + 1], 'w'))\n"
    )
    monkeypatch.setitem(rt.JOBS, "core", [rt.Job(str(script), keys=frozenset({"a"}))])
    assert rt.run_benchmark("core") == [
        _row("kept", "1 us", "2 us", "0.50 (time)", "python fake.py")
    ]


def test_run_benchmark_failures(tmp_path, monkeypatch):
    crash = tmp_path / "crash.py"
    crash.write_text("raise SystemExit(3)\n")
    silent = tmp_path / "silent.py"
    silent.write_text("print('nothing to measure here')\n")
    monkeypatch.setitem(rt.JOBS, "core", [rt.Job(str(crash))])
    with pytest.raises(rt.BenchmarkFailed, match="exit status 3"):
        rt.run_benchmark("core")
    monkeypatch.setitem(rt.JOBS, "core", [rt.Job(str(silent))])
    with pytest.raises(rt.BenchmarkFailed, match="no JSON rows"):
        rt.run_benchmark("core")


def test_quick_and_json_arguments():
    job = rt.JOBS["mlp"][0]
    argv = job.argv(True, "/tmp/x.json")
    assert argv[1:] == [
        "benchmarks/bench_mlp.py",
        "--threads",
        "0",
        "--repeat",
        "2",
        "--json",
        "/tmp/x.json",
    ]
    assert rt.JOBS["core"][0].argv(False, "o.json")[1:] == [
        "-m",
        "benchmarks.bench_core",
        "--json",
        "o.json",
    ]
    cmd = harness.command_line("python benchmarks/bench_mlp.py", ["--threads", "0", "--json", "x"])
    assert cmd == "python benchmarks/bench_mlp.py --threads 0"
    assert harness.command_line("python -m b", ["--json=x.json"]) == "python -m b"


def test_number_formats():
    assert [harness.num(x) for x in (0.7, 1.244, 16.13, 146.2, 1261.4)] == [
        "0.70",
        "1.24",
        "16.1",
        "146",
        "1,261",
    ]
    assert harness.rate(449312.4) == "449,312"
    assert [harness.times_x(x) for x in (3.514, 14.2)] == ["3.51x", "14x"]


def test_bench_rows_in_the_readme_style():
    results = {
        "mnist_train": {
            "ember": [859.2, 873.0, 866.0],
            "torch": [1232.0, 1288.4, 1250.0],
            "ember_mb": 242.0,
            "torch_mb": 400.0,
            "interleaved": 1.254,
        },
        "resnet_train": {
            "ember": [265.0],
            "torch": [731.0],
            "ember_mb": 374.0,
            "torch_mb": 452.0,
            "interleaved": 0.4,
        },
    }
    rows = bench_cnn.readme_rows(results, 64, 3, "python benchmarks/bench_cnn.py")
    cells = [[r[c] for c in rt.COLUMNS[:4]] for r in rows]
    assert cells == [
        [
            "MNIST example CNN training, batch 64, SGD (each framework alone; best of 3 runs, "
            "the runs' range in brackets)",
            "873 (859-873) samples/s",
            "1,288 (1,232-1,288) samples/s",
            # best against best; in brackets each ember run against the torch run beside it
            "0.68x (0.68-0.70x)",
        ],
        ["the same, both in one process, alternating steps", "", "", "1.25x"],
        ["Small ResNet-style stack, 3x32x32, training", "265 samples/s", "731 samples/s", "0.36x"],
        [
            "Peak memory of the CNN runs (MNIST train, ResNet train)",
            "242, 374 MB",
            "400, 452 MB",
            "0.60, 0.83",
        ],
    ]
    seed = {"ember": 445481.0, "torch": 132745.0, "ratio": 445481 / 132745}
    mlp = {"ember": 59568.0, "torch": 56437.0, "ratio": 59568 / 56437}
    step = {
        "n_params": 200,
        "SGD": {"ember": 90e-6, "torch": 1261e-6},
        "Adam": {"ember": 146e-6, "torch": 4270e-6},
    }
    pinned = bench_mlp.readme_rows(seed, mlp, step, 1, "python benchmarks/bench_mlp.py")
    assert [r["key"] for r in pinned] == ["pinned", "step"]
    assert pinned[0]["ember"] == "445,481 / 59,568 samples/s"
    assert pinned[0]["ratio"] == "3.36x / 1.06x"
    assert pinned[1]["torch"] == "1,261 / 4,270 us" and pinned[1]["ratio"] == "14x / 29x"
    free = bench_mlp.readme_rows(seed, mlp, step, 0, "python benchmarks/bench_mlp.py --threads 0")
    assert [r["key"] for r in free] == ["seed", "mlp", "step"]
    assert free[0]["workload"].endswith(", default threads")


def test_before_and_after_marks_regressions_in_either_direction():
    old = [
        {"workload": "mlp", "ratio": "1.64x"},
        {"workload": "cnn", "ratio": "0.99x (0.82-1.10x)"},
        {"workload": "add", "ratio": "0.56 (time)"},
        {"workload": "infer", "ratio": "1.11x / 0.83x"},
        {"workload": "same", "ratio": "2.00x"},
    ]
    new = [
        {"workload": "mlp", "ratio": "1.40x"},  # throughput down 15%: a regression
        {"workload": "cnn", "ratio": "0.95x (0.90-1.00x)"},  # down 4%: within tolerance
        {"workload": "add", "ratio": "0.70 (time)"},  # time up 25%: a regression
        {"workload": "infer", "ratio": "1.12x / 0.60x"},  # the second part fell
        {"workload": "same", "ratio": "2.00x"},  # unchanged: not listed
        {"workload": "new row", "ratio": "1.00x"},  # nothing to compare with
    ]
    lines = rt.compare(old, new)
    assert lines == [
        "mlp: 1.64x -> 1.40x  REGRESSION",
        "cnn: 0.99x (0.82-1.10x) -> 0.95x (0.90-1.00x)",
        "add: 0.56 (time) -> 0.70 (time)  REGRESSION",
        "infer: 1.11x / 0.83x -> 1.12x / 0.60x  REGRESSION",
    ]
    assert rt.compare(old, [{"workload": "add", "ratio": "0.40 (time)"}]) == [
        "add: 0.56 (time) -> 0.40 (time)"  # faster: no mark
    ]


def test_time_rows_written_with_an_x_are_times():
    """Rows that measure times ("ms per call", or a time in the ember cell) have time ratios
    even when the cell reads "2.16x": lower is better there."""
    old = [
        {"workload": "`randn(1e+07)`, ms per call", "ember": "82.3", "ratio": "2.16x"},
        {"workload": "Normal rsample", "ember": "11.3 ms", "ratio": "1.84x"},
    ]
    faster = [
        {"workload": "`randn(1e+07)`, ms per call", "ember": "74.0", "ratio": "1.68x"},
        {"workload": "Normal rsample", "ember": "9.58 ms", "ratio": "1.50x"},
    ]
    assert rt.compare(old, faster) == [
        "`randn(1e+07)`, ms per call: 2.16x -> 1.68x",
        "Normal rsample: 1.84x -> 1.50x",
    ]
    slower = [{"workload": "Normal rsample", "ember": "15 ms", "ratio": "2.50x"}]
    assert rt.compare(old, slower) == ["Normal rsample: 1.84x -> 2.50x  REGRESSION"]
