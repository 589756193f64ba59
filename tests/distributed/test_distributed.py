"""ember.distributed and DistributedDataParallel, run as real MPI jobs (`mpiexec -n 2`).

Each test launches a script from tests/distributed/scripts/ in its own process group with a
timeout, and kills the whole group if it overruns, so no MPI process outlives the test.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPTS = Path(__file__).resolve().parent / "scripts"
MPIEXEC = shutil.which("mpiexec")

needs_mpi = pytest.mark.skipif(
    importlib.util.find_spec("mpi4py") is None or MPIEXEC is None,
    reason="needs mpi4py and an mpiexec launcher (pip install mpi4py mpich)",
)


def _have_nn_and_optim() -> bool:
    try:
        from ember.nn import CrossEntropyLoss, Linear  # noqa: F401
        from ember.optim import SGD  # noqa: F401
        from ember.utils.data import DataLoader, DistributedSampler  # noqa: F401
    except ImportError:
        return False
    return True


def mpirun(
    script: str, *args: str, n: int = 2, timeout: float = 60, ember_run: bool = False
) -> tuple[int, str]:
    """Run ``mpiexec -n n python script args``; return (exit code, stdout+stderr)."""
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    env.setdefault("OMP_NUM_THREADS", "1")
    env.setdefault("OPENBLAS_NUM_THREADS", "1")
    launcher = [sys.executable, "-m", "ember", "run"] if ember_run else [sys.executable]
    cmd = [MPIEXEC, "-n", str(n), *launcher, str(SCRIPTS / script), *args]
    proc = subprocess.Popen(
        cmd,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env=env,
        cwd=ROOT,
        start_new_session=True,
        text=True,
    )
    try:
        out, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, _ = proc.communicate()
        pytest.fail(f"{script} {args} did not finish within {timeout} s:\n{out}")
    finally:
        try:  # leave nothing behind, even orphaned ranks
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    return proc.returncode, out


def test_import_is_lazy_and_works_without_mpi4py():
    code = (
        "import sys; sys.modules['mpi4py'] = None\n"
        "import ember, ember.distributed as dist\n"
        "assert 'mpi4py.MPI' not in sys.modules\n"
        "assert not dist.is_initialized() and not dist.is_available()\n"
        "try:\n    dist.get_rank()\n"
        "except ValueError as e:\n    assert 'init_process_group' in str(e)\n"
        "try:\n    dist.init_process_group('mpi')\nexcept RuntimeError as e:\n"
        "    assert 'mpi4py' in str(e)\nelse:\n    raise SystemExit('no error')\n"
        "print('ok')\n"
    )
    r = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=ROOT
    )
    assert r.returncode == 0 and "ok" in r.stdout, r.stdout + r.stderr


@needs_mpi
def test_single_process_without_launcher():
    code = (
        "import os, ember, ember.distributed as dist\n"
        "os.environ.pop('WORLD_SIZE', None)\n"
        "dist.init_process_group('gloo')\n"
        "assert (dist.get_rank(), dist.get_world_size(), dist.get_backend()) == (0, 1, 'mpi')\n"
        "x = ember.arange(4.0)\n"
        "dist.all_reduce(x, op=dist.ReduceOp.AVG)\n"
        "assert x.tolist() == [0.0, 1.0, 2.0, 3.0]\n"
        "dist.destroy_process_group()\n"
        "os.environ['WORLD_SIZE'] = '4'\n"
        "try:\n    dist.init_process_group('gloo')\n"
        "except RuntimeError as e:\n    assert 'mpiexec -n 4' in str(e)\n"
        "else:\n    raise SystemExit('no error for a torchrun-style launch')\n"
        "print('ok')\n"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("WORLD_SIZE", "RANK")}
    r = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=ROOT, env=env
    )
    assert r.returncode == 0 and "ok" in r.stdout, r.stdout + r.stderr


@needs_mpi
@pytest.mark.parametrize("timeout", [None, "30"], ids=["blocking", "polled"])
def test_collectives_match_numpy(timeout):
    rc, out = mpirun("collectives.py", *([timeout] if timeout else []))
    assert rc == 0, out
    assert "collectives OK on 2 ranks" in out, out


@needs_mpi
def test_collectives_three_ranks():
    rc, out = mpirun("collectives.py", n=3)
    assert rc == 0, out
    assert "collectives OK on 3 ranks" in out, out


@needs_mpi
@pytest.mark.parametrize(
    "args",
    [("0.002", "find_unused"), ("0.002",), ("25",)],
    ids=["buckets-find-unused", "buckets", "one-bucket"],
)
def test_ddp_matches_single_process(args):
    rc, out = mpirun("ddp_train.py", *args)
    assert rc == 0, out
    assert "DDP OK" in out, out


@needs_mpi
def test_ddp_parameter_unused_on_one_rank():
    rc, out = mpirun("ddp_unused.py")
    assert rc == 0, out
    assert "unused-parameter DDP OK on 2 ranks" in out, out


@needs_mpi
def test_nccl_path_logic_with_fake_cupy():
    # no GPU here: CuPy and NCCL are replaced by NumPy arrays and an MPI-backed stand-in
    rc, out = mpirun("fake_nccl.py")
    assert rc == 0, out
    assert "fake-NCCL OK on 2 ranks" in out, out


@needs_mpi
def test_torch_script_ddp_under_ember_run():
    if not _have_nn_and_optim():
        pytest.skip("ember.nn.Linear / ember.optim.SGD / DataLoader not available yet")
    rc, out = mpirun("torch_style_ddp.py", ember_run=True)
    assert rc == 0, out
    assert "torch-style DDP OK" in out, out


@needs_mpi
def test_exception_on_one_rank_ends_job():
    rc, out = mpirun("failure.py", "raise", timeout=30)
    assert rc != 0, out
    assert "boom on rank 1" in out and "ValueError" in out, out
    assert "unreachable" not in out


@needs_mpi
def test_stuck_collective_times_out():
    rc, out = mpirun("failure.py", "timeout", timeout=30)
    assert rc != 0, out
    assert "did not complete within 2 s" in out, out
    assert "unreachable" not in out
