"""ember.distributed vs torch.distributed (gloo over loopback TCP) on 2 ranks, in one MPI job.

``python benchmarks/bench_distributed.py`` relaunches itself as ``mpiexec -n 2``. Each rank joins
an ember process group (MPI) and a torch gloo group (``tcp://127.0.0.1:<port>``), then times:
1. ``all_reduce`` of 10 million float32 (in place, SUM);
2. one DistributedDataParallel training step (forward, backward with gradient averaging,
   SGD step) of a 784-256-128-10 MLP, batch 128 per rank.
Rounds alternate ember and torch; the median round is reported as seconds and ember/torch ratio.
``--json PATH`` also writes the README table's rows (rank 0 writes them).
"""

from __future__ import annotations

import os
import shutil
import socket
import statistics
import subprocess
import sys
import time

import numpy as np

try:
    from .harness import command_line, num, row, write_json
except ImportError:  # run as a script, or loaded from its path: the checkout's ember
    _here = os.path.dirname(os.path.abspath(__file__))
    sys.path[:0] = [_here, os.path.dirname(_here)]
    from harness import command_line, num, row, write_json

N_ALLREDUCE = 10_000_000
BATCH = 128
SIZES = [784, 256, 128, 10]


def _launched_by_mpi() -> bool:
    return any(
        v in os.environ
        for v in ("PMI_RANK", "PMI_SIZE", "OMPI_COMM_WORLD_SIZE", "MPI_LOCALRANKID", "PMIX_RANK")
    )


def _relaunch() -> int:
    mpiexec = shutil.which("mpiexec")
    if mpiexec is None:
        print("bench_distributed: needs mpiexec (pip install mpi4py mpich)")
        return 1
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env["PYTHONPATH"] = root + os.pathsep + env.get("PYTHONPATH", "")
    cmd = [mpiexec, "-n", "2", sys.executable, os.path.abspath(__file__), *sys.argv[1:]]
    return subprocess.call(cmd, env=env, timeout=900)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _rounds(fns: dict, iters: int, rounds: int, barrier) -> dict:
    """Seconds per iteration of each callable: the median over alternating rounds."""
    times: dict = {k: [] for k in fns}
    for _ in range(rounds):
        for k, fn in fns.items():
            barrier()
            t0 = time.perf_counter()
            for _ in range(iters):
                fn()
            barrier()
            times[k].append((time.perf_counter() - t0) / iters)
    return {k: statistics.median(v) for k, v in times.items()}


def _report(name: str, t: dict, rank: int) -> None:
    if rank == 0:
        ratio = t["ember"] / t["torch"]
        print(
            f"{name}: ember {t['ember'] * 1e3:.2f} ms, torch {t['torch'] * 1e3:.2f} ms, "
            f"ratio ember/torch {ratio:.2f}",
            flush=True,
        )


def bench_allreduce(rank: int, edist, tdist, ember, torch, n: int = N_ALLREDUCE) -> dict:
    """An all_reduce of ``n`` float32 through each library."""
    a = ember.from_numpy(np.ones(n, np.float32))
    b = torch.ones(n, dtype=torch.float32)

    def e():
        edist.all_reduce(a)

    def t():
        tdist.all_reduce(b)

    for _ in range(2):
        e()
        t()
    iters = max(5, min(200, 50_000_000 // n))
    res = _rounds({"ember": e, "torch": t}, iters=iters, rounds=5, barrier=edist.barrier)
    _report(f"all_reduce {n / 1e6:g}M float32 ({n * 4 / 1e6:g} MB), 2 ranks", res, rank)
    return res


def _ember_model(ember):
    """The MLP, its loss and optimizer from ember.nn/ember.optim (None when not there yet)."""
    try:
        from ember import optim
        from ember.nn import CrossEntropyLoss, Linear, ReLU, Sequential

        sgd = optim.SGD
    except (ImportError, AttributeError):
        return None
    layers = []
    for i in range(len(SIZES) - 1):
        layers.append(Linear(SIZES[i], SIZES[i + 1]))
        if i < len(SIZES) - 2:
            layers.append(ReLU())
    model = Sequential(*layers)
    return model, CrossEntropyLoss(), lambda params: sgd(params, lr=0.01, momentum=0.9)


def bench_ddp(rank: int, edist, tdist, ember, torch) -> dict | None:
    """One DDP training step of the MLP in each library."""
    from ember.nn.parallel import DistributedDataParallel as EDDP

    built = _ember_model(ember)
    if built is None:
        if rank == 0:
            print("DDP step: skipped (ember.nn.Linear / ember.optim.SGD not available yet)")
        return None
    emodel, eloss, eopt_fn = built
    tl = []
    for i in range(len(SIZES) - 1):
        tl.append(torch.nn.Linear(SIZES[i], SIZES[i + 1]))
        if i < len(SIZES) - 2:
            tl.append(torch.nn.ReLU())
    tmodel = torch.nn.Sequential(*tl)
    eddp = EDDP(emodel)
    tddp = torch.nn.parallel.DistributedDataParallel(tmodel)
    eopt = eopt_fn(eddp.parameters())
    topt = torch.optim.SGD(tddp.parameters(), lr=0.01, momentum=0.9)
    rng = np.random.default_rng(rank)
    x = rng.standard_normal((BATCH, SIZES[0])).astype(np.float32)
    y = rng.integers(0, SIZES[-1], BATCH)
    ex, ey = ember.from_numpy(x), ember.from_numpy(y)
    tx, ty = torch.from_numpy(x), torch.from_numpy(y)

    def step(model, opt, loss_fn, x, y):
        opt.zero_grad()
        loss_fn(model(x), y).backward()
        opt.step()

    tloss = torch.nn.CrossEntropyLoss()
    fns = {
        "ember": lambda: step(eddp, eopt, eloss, ex, ey),
        "torch": lambda: step(tddp, topt, tloss, tx, ty),
    }
    local = {
        "ember": lambda: step(emodel, eopt, eloss, ex, ey),
        "torch": lambda: step(tmodel, topt, tloss, tx, ty),
    }
    for _ in range(5):
        for f in (*fns.values(), *local.values()):
            f()
    ddp = _rounds(fns, iters=30, rounds=5, barrier=edist.barrier)
    _report(f"DDP step 784-256-128-10 MLP, batch {BATCH}/rank, 2 ranks", ddp, rank)
    res = _rounds(local, iters=30, rounds=5, barrier=edist.barrier)
    _report("  same step without DDP (no communication), for reference", res, rank)
    return ddp


def readme_rows(allreduce: dict | None, ddp: dict | None, command: str) -> list[dict]:
    """The README table's rows: the 10M-float all_reduce and the DDP step (when measured)."""
    rows = []
    for t, label in (
        (allreduce, f"`all_reduce` of {N_ALLREDUCE / 1e6:g}M float32, 2 ranks (MPI vs gloo)"),
        (ddp, f"DDP step, 784-256-128-10 MLP, batch {BATCH} per rank, 2 ranks"),
    ):
        if t is not None:
            rows.append(
                row(
                    label,
                    f"{num(t['ember'] * 1e3)} ms",
                    f"{num(t['torch'] * 1e3)} ms",
                    f"{t['ember'] / t['torch']:.2f} (time)",
                    command,
                )
            )
    return rows


def _split_json(argv: list[str]) -> tuple[str | None, list[str]]:
    """``--json PATH`` (or ``--json=PATH``) taken out of ``argv``: (PATH or None, the rest)."""
    path, rest, i = None, [], 0
    while i < len(argv):
        if argv[i] == "--json" and i + 1 < len(argv):
            path = argv[i + 1]
            i += 2
            continue
        if argv[i].startswith("--json="):
            path = argv[i].split("=", 1)[1]
        else:
            rest.append(argv[i])
        i += 1
    return path, rest


def main() -> int:
    """Entry point: relaunch under mpiexec, or run the benchmarks as one rank."""
    if not _launched_by_mpi():
        return _relaunch()
    import torch
    import torch.distributed as tdist

    import ember
    import ember.distributed as edist

    torch.set_num_threads(1)
    edist.init_process_group("mpi")
    rank, world = edist.get_rank(), edist.get_world_size()
    port = [_free_port() if rank == 0 else None]
    edist.broadcast_object_list(port, src=0)
    tdist.init_process_group(
        "gloo", init_method=f"tcp://127.0.0.1:{port[0]}", rank=rank, world_size=world
    )
    if rank == 0:
        print(
            f"ember.distributed (MPI, {world} ranks) vs torch.distributed (gloo, loopback); "
            f"torch {torch.__version__}",
            flush=True,
        )
    json_path, which = _split_json(sys.argv[1:])
    which = which or ["allreduce", "ddp"]
    allreduce = ddp = None
    if "allreduce" in which:
        allreduce = bench_allreduce(rank, edist, tdist, ember, torch)
        bench_allreduce(rank, edist, tdist, ember, torch, 235_146)  # the MLP's gradients
    if "ddp" in which:
        ddp = bench_ddp(rank, edist, tdist, ember, torch)
    if rank == 0:
        cmd = command_line("python benchmarks/bench_distributed.py", sys.argv[1:])
        write_json(json_path, readme_rows(allreduce, ddp, cmd))
    tdist.barrier()
    tdist.destroy_process_group()
    edist.destroy_process_group()
    return 0


if __name__ == "__main__":
    sys.exit(main())
