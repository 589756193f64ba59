"""Regenerate the README's benchmark table: ``python -m benchmarks.readme_table``.

Runs each benchmark script in a child process (``--json`` to a temporary file), in the order of
the table, and rewrites the README text between ``<!-- benchmarks:begin -->`` and
``<!-- benchmarks:end -->``: a paragraph on the machine and the table itself.

    python -m benchmarks.readme_table                      # every benchmark
    python -m benchmarks.readme_table --only core mlp      # rerun some, keep the other rows
    python -m benchmarks.readme_table --dry-run --quick    # print the block, write nothing

A benchmark that cannot run here (no mpiexec / mpi4py, no CUDA GPU with CuPy, a failing child)
keeps its rows from the README as they are, with a warning on stderr.
"""

from __future__ import annotations

import argparse
import datetime
import importlib.util
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import textwrap
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
BEGIN = "<!-- benchmarks:begin -->"
END = "<!-- benchmarks:end -->"
ORDER = (
    "core",
    "mlp",
    "cnn",
    "lm",
    "vision_models",
    "vision_data",
    "data",
    "random",
    "func",
    "linalg",
    "fft",
    "distributions",
    "sparse",
    "distributed",
    "gpu",
    "demo",
)
HEADER = ("Workload", "ember", "PyTorch", "Ratio", "Produced by")
COLUMNS = ("workload", "ember", "torch", "ratio", "command")
DEMO_LABEL = "`ember demo`, 20 epochs of the digits MLP (no progress bar)"
DEMO_COMMANDS = (
    ["demo", "--no-progress"],
    ["demo", "--backend", "torch", "--no-progress"],
)


@dataclass
class Job:
    """One child process: ``python <target> <args> --json PATH`` (``-m`` when ``module``)."""

    target: str
    args: list[str] = field(default_factory=list)
    quick: list[str] = field(default_factory=list)
    module: bool = False
    keys: frozenset[str] | None = None  # keep only the rows with these "key" values

    def argv(self, quick: bool, json_path: str) -> list[str]:
        head = ["-m", self.target] if self.module else [self.target]
        extra = self.quick if quick else []
        return [sys.executable, *head, *self.args, *extra, "--json", json_path]


JOBS: dict[str, list[Job]] = {
    "core": [Job("benchmarks.bench_core", module=True)],
    "mlp": [
        Job(
            "benchmarks/bench_mlp.py",
            ["--threads", "0"],
            ["--repeat", "2"],
            keys=frozenset({"seed", "mlp"}),
        ),
        Job("benchmarks/bench_mlp.py", [], ["--repeat", "2"], keys=frozenset({"pinned", "step"})),
    ],
    "cnn": [
        Job("benchmarks/bench_cnn.py", [], ["--repeats", "1", "--rounds", "4", "--steps", "3"]),
        Job("benchmarks/bench_depthwise.py", [], ["--rounds", "2", "--steps", "3"]),
    ],
    "lm": [Job("benchmarks/bench_lm.py", [], ["--steps", "5", "--rounds", "2"])],
    "data": [Job("benchmarks.bench_data", module=True)],
    "random": [Job("benchmarks.bench_random", module=True)],
    "func": [Job("benchmarks/bench_func.py")],
    "linalg": [Job("benchmarks/bench_linalg.py")],
    "fft": [Job("benchmarks/bench_fft.py")],
    "distributions": [Job("benchmarks.bench_distributions", module=True)],
    "sparse": [Job("benchmarks/bench_sparse.py")],
    "vision_models": [Job("benchmarks/bench_vision_models.py")],
    "vision_data": [
        Job("benchmarks.bench_vision_data", ["--rounds", "3"], ["--rounds", "1"], module=True)
    ],
    "distributed": [Job("benchmarks/bench_distributed.py")],
    "gpu": [Job("benchmarks.bench_gpu", [], ["--steps", "10", "--repeat", "2"], module=True)],
}


class BenchmarkFailed(Exception):
    """A benchmark could not run or gave no rows: its old rows stay."""


# --- the markdown table ---------------------------------------------------------------------


def benchmark_of(command: str) -> str | None:
    """The benchmark name (one of ORDER) that a "Produced by" cell belongs to, or None."""
    for name in ORDER:
        if name != "demo" and f"bench_{name}" in command:
            return name
    if "bench_depthwise" in command:  # the depthwise block's row sits with the CNN rows
        return "cnn"
    if "ember demo" in command or "-m ember demo" in command:
        return "demo"
    return None


def _split_cells(line: str) -> list[str]:
    """The cells of one markdown table line (``\\|`` is a literal bar inside a cell)."""
    body = line.strip()
    if body.startswith("|"):
        body = body[1:]
    if body.endswith("|") and not body.endswith("\\|"):
        body = body[:-1]
    cells = re.split(r"(?<!\\)\|", body)
    return [c.strip().replace("\\|", "|") for c in cells]


def _command_from_cell(cell: str) -> str:
    """`cmd` -> cmd; a cell with more markdown than one code span is kept as it is."""
    if len(cell) >= 2 and cell[0] == cell[-1] == "`" and cell.count("`") == 2:
        return cell[1:-1]
    return cell


def _command_to_cell(command: str) -> str:
    return command if "`" in command or not command else f"`{command}`"


def parse_table(text: str) -> list[dict]:
    """The rows of the first markdown table in ``text`` (the header and the rule skipped)."""
    rows: list[dict] = []
    started = False
    for line in text.splitlines():
        if not line.lstrip().startswith("|"):
            if started:
                break
            continue
        started = True
        cells = _split_cells(line)
        if cells and cells[0] == HEADER[0]:
            continue
        if all(re.fullmatch(r":?-+:?", c) for c in cells if c):
            continue
        cells = (cells + [""] * len(COLUMNS))[: len(COLUMNS)]
        r = dict(zip(COLUMNS, cells))
        r["command"] = _command_from_cell(r["command"])
        rows.append(r)
    return rows


def render_table(rows: list[dict]) -> str:
    """The markdown table of ``rows`` (dicts with the COLUMNS keys)."""

    def cell(text: str) -> str:
        return str(text).replace("|", "\\|")

    lines = ["| " + " | ".join(HEADER) + " |", "|" + "---|" * len(HEADER)]
    for r in rows:
        cells = [cell(r.get(c, "")) for c in COLUMNS[:-1]]
        cells.append(cell(_command_to_cell(r.get("command", ""))))
        line = "| " + " | ".join(cells) + " |"
        while "|  |" in line:  # an empty cell reads | |
            line = line.replace("|  |", "| |")
        lines.append(line)
    return "\n".join(lines)


def _markers(text: str) -> tuple[int, int]:
    begin, end = text.find(BEGIN), text.find(END)
    if begin < 0 or end < 0:
        missing = " and ".join(m for m, i in ((BEGIN, begin), (END, end)) if i < 0)
        raise ValueError(f"README has no {missing} marker: add both around the benchmark table")
    if text.count(BEGIN) > 1 or text.count(END) > 1 or end < begin:
        raise ValueError(f"README needs exactly one {BEGIN} followed by one {END}")
    return begin, end


def extract_block(text: str) -> str:
    """The text between the markers (a ValueError when they are missing)."""
    begin, end = _markers(text)
    return text[begin + len(BEGIN) : end]


def replace_block(text: str, block: str) -> str:
    """``text`` with the part between the markers replaced by ``block``."""
    begin, end = _markers(text)
    return text[: begin + len(BEGIN)] + "\n" + block.strip("\n") + "\n" + text[end:]


def merge_rows(
    old_rows: list[dict], new: dict[str, list[dict] | None]
) -> tuple[list[dict], list[str]]:
    """The table in ORDER: ``new[name]`` where that is a list, else the old rows of ``name``.
    Returns the rows and the names whose old rows were kept. Old rows that belong to no known
    benchmark are kept too, at the end."""
    groups: dict[str | None, list[dict]] = {}
    for r in old_rows:
        groups.setdefault(benchmark_of(r["command"]), []).append(r)
    rows, kept = [], []
    for name in ORDER:
        if new.get(name) is not None:
            rows.extend(new[name])
        elif groups.get(name):
            rows.extend(groups[name])
            kept.append(name)
    rows.extend(groups.get(None, []))
    return rows, kept


# --- before and after -------------------------------------------------------------------------

_NUM = re.compile(r"(\d+(?:\.\d+)?)")


_TIME_CELL = re.compile(r"\d\s*(ms|us|µs|s)\s*$")


def _is_time(row: dict) -> bool:
    """Whether a row's ratio is a time ratio (lower is better): marked "(time)", or the row
    measures times ("ms per call" in its workload, or a time in its ember cell)."""
    return (
        "(time)" in row["ratio"]
        or re.search(r"\b(ms|us|µs) per call\b", row["workload"]) is not None
        or _TIME_CELL.search(row.get("ember", "")) is not None
    )


def _ratios(cell: str, time: bool = False) -> list[tuple[float, bool]]:
    """The ratios of a Ratio cell as (value, higher_is_better): "3.51x" and "0.99x (0.82-1.10x)"
    are throughputs (the first number of each " / " part) unless ``time``; "0.56 (time)" is a
    time."""
    out = []
    for part in cell.split(" / "):
        m = _NUM.search(part)
        if m:
            out.append((float(m.group(1)), not time and "(time)" not in cell))
    return out


def compare(old_rows: list[dict], new_rows: list[dict], tolerance: float = 0.10) -> list[str]:
    """Lines "workload: old -> new" for rows present before and after, marked REGRESSION where a
    ratio got worse by more than ``tolerance`` (a fraction): so speed never drops unnoticed."""
    before = {r["workload"]: r["ratio"] for r in old_rows}
    lines = []
    for r in new_rows:
        old = before.get(r["workload"])
        if old is None or not r["ratio"] or old == r["ratio"]:
            continue
        worse = False
        time = _is_time(r)
        for (a, up), (b, _) in zip(_ratios(old, time), _ratios(r["ratio"], time)):
            if a > 0 and ((b < a * (1 - tolerance)) if up else (b > a * (1 + tolerance))):
                worse = True
        mark = "  REGRESSION" if worse else ""
        lines.append(f"{r['workload']}: {old} -> {r['ratio']}{mark}")
    return lines


# --- the paragraph on the machine -----------------------------------------------------------


def _read(path: str) -> str:
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return f.read()
    except OSError:
        return ""


def _torch_version() -> str | None:
    try:
        from importlib.metadata import PackageNotFoundError, version

        return version("torch")
    except (ImportError, PackageNotFoundError):
        pass
    try:
        out = subprocess.run(
            [sys.executable, "-c", "import torch; print(torch.__version__)"],
            capture_output=True,
            text=True,
            timeout=120,
        )
        return out.stdout.strip() or None if out.returncode == 0 else None
    except (OSError, subprocess.SubprocessError):
        return None


def _blas() -> str:
    try:
        import numpy as np

        blas = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
        name, ver = str(blas.get("name", "")), str(blas.get("version", ""))
    except Exception:  # noqa: BLE001 - show_config's layout differs between NumPy versions
        return ""
    if "openblas" in name.lower():
        name = "OpenBLAS"
        ver = ".".join(ver.split(".")[:3])  # scipy-openblas 0.3.31.188.0 is OpenBLAS 0.3.31
        core = _openblas_core()
        if core:
            forced = os.environ.get("OPENBLAS_CORETYPE")
            ver += f" ({core} kernels{', forced by OPENBLAS_CORETYPE' if forced else ''})"
    return f"{name} {ver}".strip()


def _openblas_core() -> str:
    """The kernel set NumPy's OpenBLAS runs (its corename), or "" where it can't be asked: the
    matrix products' speed depends on it (Haswell's AVX2 kernels are ~1.6x slower than
    SkylakeX's on an AVX-512 CPU), and OPENBLAS_CORETYPE can force an older set."""
    from ember._backend.cpu import blas  # the benchmarks' own ember, as the children use

    return blas.corename()


def machine_info() -> dict:
    """Date (UTC), CPU, memory and library versions of this machine."""
    import numpy as np

    cpuinfo = _read("/proc/cpuinfo")
    m = re.search(r"^model name\s*:\s*(.+)$", cpuinfo, re.M)
    cpu = (m.group(1).strip() if m else "") or platform.processor() or platform.machine()
    flags = re.search(r"^flags\s*:(.*)$", cpuinfo, re.M)
    m = re.search(r"^MemTotal:\s*(\d+)\s*kB", _read("/proc/meminfo"), re.M)
    return {
        "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d"),
        "cpu": cpu,
        "cpus": os.cpu_count() or 1,
        "virtual": bool(flags and " hypervisor" in flags.group(1)),
        "mem_gib": round(int(m.group(1)) / 2**20) if m else None,
        "numpy": np.__version__,
        "blas": _blas(),
        "python": platform.python_version(),
        "torch": _torch_version(),
    }


def paragraph(info: dict, kept: list[str], load: tuple[float, float] | None = None) -> str:
    """The paragraph above the table, wrapped at 99 columns."""
    torch = info.get("torch")
    if torch is None:
        who = "PyTorch (not installed here)"
    elif torch.endswith("+cpu"):
        who = f"PyTorch {torch[:-4]} (CPU build)"
    else:
        who = f"PyTorch {torch}"
    machine = "virtual machine" if info.get("virtual") else "machine"
    mem = f" with {info['mem_gib']} GiB" if info.get("mem_gib") else ""
    blas = f" with {info['blas']}" if info.get("blas") else ""
    text = (
        f"ember against {who} on the same machine, each workload run on both by one command. "
        "Where both use several threads (the default-threads MLP rows and the CNN rows), each "
        "framework runs in a process of its own, alternating, best of the runs: in one "
        "process, each library's idle worker threads spin while the other computes. Measured "
        f"{info['date']} on a {info['cpus']}-core {info['cpu']} {machine}{mem}, "
        f"NumPy {info['numpy']}{blas}, Python {info['python']}"
    )
    if load is not None:
        lo, hi = sorted(load)
        text += f" (load average {lo:.1f}-{hi:.1f} during the runs)"
    text += "."
    if kept:
        names = ", ".join(kept[:-1]) + " and " + kept[-1] if len(kept) > 1 else kept[0]
        text += f" The {names} rows were not measured in that run and keep earlier numbers."
    text += (
        " NumPy's OpenBLAS picks its kernels for the CPU; where OPENBLAS_CORETYPE forces an "
        "older set (some CI images do, for old OpenBLAS builds), ember's matrix products run up "
        "to 1.6x slower than here."
        " On a machine shared with other jobs, ratios move by about 10% between runs. "
        "Throughput ratios are ember/PyTorch (above 1: ember is faster); time ratios are "
        "ember time / PyTorch time (below 1: ember is faster). The table is produced by "
        "`python -m benchmarks.readme_table` (`--only NAME ...` reruns some benchmarks and "
        "keeps the other rows)."
    )
    # no line break inside a code span: its spaces are protected while wrapping
    text = re.sub(r"`[^`]*`", lambda m: m.group(0).replace(" ", "\0"), text)
    text = textwrap.fill(text, width=99, break_long_words=False, break_on_hyphens=False)
    return text.replace("\0", " ")


def render_block(rows: list[dict], info: dict, kept: list[str], load=None) -> str:
    """What goes between the markers: the paragraph, a blank line, the table."""
    return paragraph(info, kept, load) + "\n\n" + render_table(rows)


# --- running the benchmarks -----------------------------------------------------------------


def _env() -> dict:
    """This checkout's ember first on the children's path: the scripts measure this tree."""
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + (
        os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else ""
    )
    return env


def _load_rows(path: str) -> list[dict]:
    try:
        with open(path, encoding="utf-8") as f:
            rows = json.load(f)
    except (OSError, ValueError) as e:
        raise BenchmarkFailed(f"no JSON rows ({e})") from None
    if not isinstance(rows, list) or not all(
        isinstance(r, dict) and all(isinstance(r.get(c), str) for c in COLUMNS) for r in rows
    ):
        raise BenchmarkFailed(f"malformed JSON rows in {path}")
    return rows


def _check_runnable(name: str) -> None:
    if name == "distributed":
        if shutil.which("mpiexec") is None:
            raise BenchmarkFailed("mpiexec not found")
        if importlib.util.find_spec("mpi4py") is None:
            raise BenchmarkFailed("mpi4py not installed")
    if name == "gpu" and importlib.util.find_spec("cupy") is None:
        raise BenchmarkFailed("CuPy not installed (no CUDA GPU to measure)")


def run_benchmark(name: str, quick: bool = False, timeout: float = 3600) -> list[dict]:
    """The rows of one benchmark, from its script's ``--json`` output (BenchmarkFailed when it
    cannot run or gives no rows). The scripts' own output goes to stderr."""
    if name == "demo":
        return run_demo(timeout)
    _check_runnable(name)
    rows: list[dict] = []
    with tempfile.TemporaryDirectory(prefix="ember-bench-") as tmp:
        for i, job in enumerate(JOBS[name]):
            path = os.path.join(tmp, f"{name}-{i}.json")
            argv = job.argv(quick, path)
            print(f"== {name}: {' '.join(argv[1:])}", file=sys.stderr, flush=True)
            try:
                done = subprocess.run(
                    argv, cwd=ROOT, env=_env(), stdout=sys.stderr, timeout=timeout
                )
            except (OSError, subprocess.SubprocessError) as e:
                raise BenchmarkFailed(str(e)) from None
            if done.returncode != 0:
                raise BenchmarkFailed(f"exit status {done.returncode}")
            got = _load_rows(path)
            if job.keys is not None:
                got = [r for r in got if r.get("key") in job.keys]
            rows.extend(got)
    if not rows:
        raise BenchmarkFailed("it wrote no rows (nothing it could measure here)")
    return [{c: r[c] for c in COLUMNS} for r in rows]


_TOOK = re.compile(r"training took ([0-9.]+)\s*s")


def run_demo(timeout: float = 3600) -> list[dict]:
    """The ``ember demo`` row: each backend's training time as the demo reports it, and the
    wall time of the whole command (start-up and imports included)."""
    cells, commands = [], []
    with tempfile.TemporaryDirectory(prefix="ember-demo-") as tmp:  # its ember-demo/ folder
        for args in DEMO_COMMANDS:
            argv = [sys.executable, "-m", "ember", *args]
            commands.append("python -m ember " + " ".join(args))
            print(f"== demo: {' '.join(argv[1:])}", file=sys.stderr, flush=True)
            try:
                t0 = time.perf_counter()
                done = subprocess.run(
                    argv, cwd=tmp, env=_env(), capture_output=True, text=True, timeout=timeout
                )
                wall = time.perf_counter() - t0
            except (OSError, subprocess.SubprocessError) as e:
                raise BenchmarkFailed(str(e)) from None
            sys.stderr.write(done.stdout[-2000:] + done.stderr[-2000:])
            if done.returncode != 0:
                raise BenchmarkFailed(f"exit status {done.returncode}")
            m = _TOOK.search(done.stdout)
            cells.append(f"{float(m.group(1)):.1f} s ({wall:.1f} s wall)" if m else f"{wall:.1f} s")
    return [
        {
            "workload": DEMO_LABEL,
            "ember": cells[0],
            "torch": cells[1],
            "ratio": "",
            "command": " and ".join(f"`{c}`" for c in commands),
        }
    ]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--only", nargs="+", choices=ORDER, metavar="NAME", help="rerun these: " + ", ".join(ORDER)
    )
    ap.add_argument("--dry-run", action="store_true", help="print the new block, write nothing")
    ap.add_argument("--quick", action="store_true", help="smaller repeat counts (a fast check)")
    ap.add_argument(
        "--fail-on-regression",
        action="store_true",
        help="exit 1 when a ratio got worse than the README's by more than 10%%",
    )
    ap.add_argument("--readme", type=Path, default=README, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)

    try:
        extract_block(args.readme.read_text(encoding="utf-8"))  # fail before minutes of runs
    except ValueError as e:
        raise SystemExit(f"readme_table: {args.readme}: {e}") from None

    selected = [n for n in ORDER if args.only is None or n in args.only]
    new: dict[str, list[dict] | None] = {}
    failed: dict[str, str] = {}
    load0 = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    for name in selected:
        try:
            new[name] = run_benchmark(name, args.quick)
        except BenchmarkFailed as e:
            new[name] = None
            failed[name] = str(e)
            print(f"{name}: did not run: {e}", file=sys.stderr, flush=True)
    load = None
    if load0 is not None:
        load = (load0, os.getloadavg()[0])

    # read the README again: it may have changed while the benchmarks ran
    text = args.readme.read_text(encoding="utf-8")
    try:
        old_rows = parse_table(extract_block(text))
    except ValueError as e:
        raise SystemExit(f"readme_table: {args.readme}: {e}") from None
    rows, kept = merge_rows(old_rows, new)
    old_names = {benchmark_of(r["command"]) for r in old_rows}
    for name, why in failed.items():
        if name in old_names:
            what = "its previous README rows are kept unchanged"
        else:
            what = "it had no rows in the README, so none are added"
        print(f"warning: {name} did not run ({why}): {what}", file=sys.stderr)
    block = render_block(rows, machine_info(), kept, load)
    fresh = [r for name in selected if new.get(name) for r in new[name]]
    changes = compare(old_rows, fresh)
    if changes:
        print("ratios before -> after:\n  " + "\n  ".join(changes))
    status = 1 if args.fail_on_regression and any("REGRESSION" in c for c in changes) else 0
    if args.dry_run:
        print(block)
        return status
    updated = replace_block(text, block)
    if updated != text:
        tmp = args.readme.with_name(args.readme.name + ".tmp")
        tmp.write_text(updated, encoding="utf-8")
        os.replace(tmp, args.readme)
    rerun = [n for n in selected if new.get(n) is not None]
    print(f"{args.readme}: rows of {', '.join(rerun) or 'no benchmark'} regenerated", end="")
    print(f"; kept: {', '.join(kept)}" if kept else "")
    print(render_table([r for r in rows if benchmark_of(r["command"]) in rerun]))
    return status


if __name__ == "__main__":
    sys.exit(main())
