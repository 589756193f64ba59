"""Process groups over MPI (mpi4py): setup, ranks, Work handles, timeouts and job-wide abort.

mpi4py is imported only when a process group is created, so ``import ember`` stays fast and works
without it. Ranks and the world size come from the MPI launcher (``mpiexec -n N python ...``).
"""

from __future__ import annotations

import datetime
import enum
import importlib.util
import os
import sys
import time
import traceback
import typing
import warnings
from collections.abc import Callable, Sequence

from .._backend.xp import nccl as cupy_nccl

__all__ = [
    "Backend",
    "GroupMember",
    "ProcessGroup",
    "ReduceOp",
    "Work",
    "destroy_process_group",
    "get_backend",
    "get_global_rank",
    "get_group_rank",
    "get_process_group_ranks",
    "get_rank",
    "get_world_size",
    "group",
    "init_process_group",
    "is_available",
    "is_gloo_available",
    "is_initialized",
    "is_mpi_available",
    "is_nccl_available",
    "is_torchelastic_launched",
    "new_group",
    "GroupName",
    "RankType",
    "get_backend_config",
    "get_default_backend_for_device",
    "get_pg_count",
    "is_backend_available",
    "reduce_op",
    "supports_complex",
]


class ReduceOp(enum.Enum):
    """Reduction operations of the collectives, as ``torch.distributed.ReduceOp``."""

    SUM = "sum"
    AVG = "avg"
    PRODUCT = "product"
    MIN = "min"
    MAX = "max"
    BAND = "band"
    BOR = "bor"
    BXOR = "bxor"

    def __repr__(self) -> str:
        return f"<RedOpType.{self.name}: {list(ReduceOp).index(self)}>"


ReduceOp.RedOpType = ReduceOp  # torch exposes the enum under this name too


class _DeprecatedReduceOp:
    """``torch.distributed.reduce_op``: ReduceOp's members, warning on every attribute read."""

    def __init__(self) -> None:
        for op in ReduceOp:
            object.__setattr__(self, op.name, op)
        object.__setattr__(self, "__members__", dict(ReduceOp.__members__))

    def __getattribute__(self, name: str):
        warnings.warn(
            "`torch.distributed.reduce_op` is deprecated, please use "
            "`torch.distributed.ReduceOp` instead",
            FutureWarning,
            stacklevel=2,
        )
        return object.__getattribute__(self, name)


reduce_op = _DeprecatedReduceOp()

GroupName = typing.NewType("GroupName", str)  # the name torch gives a process group
RankType = int  # torch: int or SymInt; ember has no symbolic ints


def supports_complex(reduceOp: ReduceOp) -> bool:  # noqa: N803 (torch's argument name)
    """Whether a reduction works on complex tensors: SUM and AVG do, ordering/bitwise ops not."""
    return reduceOp not in (
        ReduceOp.MAX,
        ReduceOp.MIN,
        ReduceOp.PRODUCT,
        ReduceOp.BAND,
        ReduceOp.BOR,
        ReduceOp.BXOR,
    )


class Backend(str):
    """Backend names, as ``torch.distributed.Backend`` ('mpi', 'nccl'; 'gloo' runs on MPI)."""

    UNDEFINED = "undefined"
    GLOO = "gloo"
    NCCL = "nccl"
    MPI = "mpi"

    def __new__(cls, name: str) -> Backend:
        """Normalise a backend name to lower case and check it is known."""
        low = str(name).lower()
        if low not in ("gloo", "nccl", "mpi", "cpu:gloo,cuda:nccl"):
            raise ValueError(f"Invalid backend: '{name}' (ember supports 'mpi', 'nccl', 'gloo')")
        return str.__new__(cls, low)


def is_available() -> bool:
    """True when mpi4py is installed (ember's transport for torch.distributed)."""
    return importlib.util.find_spec("mpi4py") is not None


def is_mpi_available() -> bool:
    """True when mpi4py is installed."""
    return is_available()


def is_gloo_available() -> bool:
    """'gloo' is accepted as a name and runs over MPI."""
    return is_available()


def is_nccl_available() -> bool:
    """True when CuPy with its NCCL bindings can be imported."""
    try:
        cupy_nccl()
    except Exception:
        return False
    return True


def is_backend_available(backend: str) -> bool:
    """Whether a backend name (or a ``"cpu:gloo,cuda:nccl"`` map) can run here.

    Unlike torch's CPU build, 'mpi' is available wherever mpi4py is, since it is ember's
    transport; 'gloo' runs over it too. Unknown names give False.
    """
    name = str(backend).lower()
    if ":" in name:
        return all(is_backend_available(p.split(":", 1)[1]) for p in name.split(",") if p)
    if name in ("gloo", "mpi"):
        return is_available()
    if name == "nccl":
        return is_nccl_available()
    return False


_DEVICE_BACKEND = {"cpu": "gloo", "cuda": "nccl"}


def get_default_backend_for_device(device) -> str:
    """The backend torch picks for a device type: 'gloo' for cpu, 'nccl' for cuda."""
    kind = getattr(device, "type", None) or str(device).split(":", 1)[0]
    try:
        return _DEVICE_BACKEND[kind]
    except KeyError:
        raise ValueError(f"Default backend not registered for device : {device}") from None


def is_torchelastic_launched() -> bool:
    """ember jobs are launched by mpiexec, never by torchelastic."""
    return False


def _mpi():
    """Import mpi4py's MPI module on demand, with a clear error when it is missing."""
    try:
        from mpi4py import MPI  # optional dependency: only distributed runs need it
    except ImportError as e:
        raise RuntimeError(
            "ember.distributed needs mpi4py and an MPI library: pip install 'ember[distributed]' "
            f"(mpi4py + mpich), then launch with `mpiexec -n 2 python script.py`: {e}"
        ) from None
    return MPI


def local_rank(mpi_comm) -> int:
    """This process's rank among the processes on the same node."""
    MPI = _mpi()
    node = mpi_comm.Split_type(MPI.COMM_TYPE_SHARED)
    try:
        return node.Get_rank()
    finally:
        node.Free()


class ProcessGroup:
    """A set of ranks with an MPI communicator (and an NCCL communicator for CUDA tensors)."""

    def __init__(self, comm, backend: str, timeout: float | None, ranks: Sequence[int]):
        self.comm = comm
        self.backend = backend
        self.timeout = timeout
        self.ranks = list(ranks)  # global rank of each group rank
        self._global_to_group = {g: i for i, g in enumerate(self.ranks)}
        self._nccl = None

    def rank(self) -> int:
        """This process's rank within the group."""
        return self.comm.Get_rank()

    def size(self) -> int:
        """Number of ranks in the group."""
        return self.comm.Get_size()

    def group_rank(self, global_rank: int) -> int:
        """Translate a global rank (as torch's src/dst arguments) into this group's rank."""
        try:
            return self._global_to_group[global_rank]
        except KeyError:
            raise ValueError(
                f"Global rank {global_rank} is not part of group {self.ranks}"
            ) from None

    def nccl(self):
        """The NCCL communicator for CUDA tensors, created on first use (bootstrapped over MPI)."""
        if self._nccl is None:
            # the NCCL backend (CuPy's bindings) loads on the first CUDA collective only
            from ._nccl import NcclComm

            self._nccl = NcclComm(self.comm)
        return self._nccl

    def __repr__(self) -> str:
        return f"<ember ProcessGroup backend={self.backend} ranks={self.ranks}>"


class _GroupMember:
    WORLD: ProcessGroup | None = None
    NON_GROUP_MEMBER = object()


GroupMember = _GroupMember
group = _GroupMember  # torch.distributed.group.WORLD

_state: dict = {"pg": None, "hook": None, "store": None, "pg_count": 0}


def _default_pg() -> ProcessGroup:
    pg = _state["pg"]
    if pg is None:
        raise ValueError(
            "Default process group has not been initialized, please make sure to call "
            "init_process_group."
        )
    return pg


def _resolve(grp) -> ProcessGroup:
    """The process group a collective runs on (the default one for None / group.WORLD)."""
    if grp is None:
        return _default_pg()
    if grp is _GroupMember.NON_GROUP_MEMBER:
        raise RuntimeError("this rank is not a member of the group it was asked to use")
    return grp


def _timeout_seconds(timeout) -> float | None:
    if timeout is None:
        return None
    if isinstance(timeout, datetime.timedelta):
        return timeout.total_seconds()
    return float(timeout)


def _abort_on_uncaught(exc_type, exc, tb) -> None:
    """sys.excepthook while a group is live: show the error, then end every rank of the job."""
    if os.getpid() != _state.get("pid") or _state["pg"] is None:
        # a forked child (e.g. a DataLoader worker) or after destroy: the ordinary hook
        (_state["hook"] or sys.__excepthook__)(exc_type, exc, tb)
        return
    try:
        rank = _mpi().COMM_WORLD.Get_rank()
        text = "".join(traceback.format_exception(exc_type, exc, tb))
        sys.stderr.write(
            f"[ember.distributed rank {rank}] uncaught exception, aborting the job:\n{text}"
        )
        sys.stderr.flush()
        sys.stdout.flush()
        time.sleep(0.3)  # let the launcher forward the message before it tears the job down
    finally:
        _mpi().COMM_WORLD.Abort(1)


def abort(code: int = 1, message: str | None = None) -> None:
    """End the whole MPI job (every rank) with an exit code, printing a message first."""
    if message:
        sys.stderr.write(message + "\n")
        sys.stderr.flush()
        time.sleep(0.3)
    _mpi().COMM_WORLD.Abort(code)


def init_process_group(
    backend: str | None = None,
    init_method: str | None = None,
    timeout=None,
    world_size: int = -1,
    rank: int = -1,
    store=None,
    group_name: str = "",
    pg_options=None,
    device_id=None,
) -> None:
    """Join the job's default process group; rank and world size come from the MPI launcher."""
    if _state["pg"] is not None:
        raise ValueError("trying to initialize the default process group twice!")
    MPI = _mpi()
    comm = MPI.COMM_WORLD
    n, r = comm.Get_size(), comm.Get_rank()
    if world_size not in (-1, None) and int(world_size) != n:
        raise ValueError(
            f"world_size={world_size} does not match the MPI launcher's {n} processes; launch "
            f"with `mpiexec -n {world_size} python script.py`"
        )
    if rank not in (-1, None) and int(rank) != r:
        raise ValueError(f"rank={rank} does not match this process's MPI rank {r}")
    env_ws = os.environ.get("WORLD_SIZE", "")
    if env_ws.isdigit() and int(env_ws) != n:
        raise RuntimeError(
            f"WORLD_SIZE={env_ws} but MPI sees {n} process(es): ember.distributed runs over MPI, "
            f"so launch with `mpiexec -n {env_ws} python script.py` (not torchrun)"
        )
    name = Backend(backend or "mpi")
    name = "nccl" if name in ("nccl", "cpu:gloo,cuda:nccl") else "mpi"
    pg = ProcessGroup(comm.Dup(), name, _timeout_seconds(timeout), range(n))
    _state["pg"] = pg
    _state["store"] = store  # MPI needs no rendezvous store; kept for code that reads it back
    _state["pg_count"] += 1
    _GroupMember.WORLD = pg
    for var, val in (("RANK", r), ("WORLD_SIZE", n), ("LOCAL_RANK", local_rank(comm))):
        os.environ.setdefault(var, str(val))  # what torchrun-style scripts read
    if _state["hook"] is None and os.environ.get("EMBER_DIST_NO_ABORT_HOOK") != "1":
        _state["pid"] = os.getpid()
        _state["hook"] = sys.excepthook
        sys.excepthook = _abort_on_uncaught
    if name == "nccl":
        pg.nccl()


def is_initialized() -> bool:
    """True once init_process_group has run (and destroy_process_group has not)."""
    return _state["pg"] is not None


def get_rank(group: ProcessGroup | None = None) -> int:
    """This process's rank in the group (default: the world)."""
    pg = _resolve(group)
    return pg.rank()


def get_world_size(group: ProcessGroup | None = None) -> int:
    """Number of processes in the group (default: the world)."""
    return _resolve(group).size()


def get_backend(group: ProcessGroup | None = None) -> str:
    """The group's backend name: 'mpi' or 'nccl'."""
    return _resolve(group).backend


def get_backend_config(group: ProcessGroup | None = None) -> str:
    """The group's device -> backend map as text, e.g. ``"cpu:mpi,cuda:nccl"``.

    ember's own names: CPU tensors always travel over MPI, CUDA ones over NCCL on an NCCL group.
    """
    pg = _resolve(group)
    return f"cpu:mpi,cuda:{'nccl' if pg.backend == 'nccl' else 'mpi'}"


def get_pg_count() -> int:
    """Number of process groups created since init_process_group (the default one included)."""
    return _state["pg_count"]


def get_global_rank(group: ProcessGroup, group_rank: int) -> int:
    """The global rank of a group's member ``group_rank``."""
    return _resolve(group).ranks[group_rank]


def get_group_rank(group: ProcessGroup, global_rank: int) -> int:
    """The rank within ``group`` of global rank ``global_rank``."""
    return _resolve(group).group_rank(global_rank)


def get_process_group_ranks(group: ProcessGroup) -> list[int]:
    """Global ranks of a group's members, in group-rank order."""
    return list(_resolve(group).ranks)


def new_group(
    ranks: Sequence[int] | None = None,
    timeout=None,
    backend: str | None = None,
    pg_options=None,
    use_local_synchronization: bool = False,
):
    """A sub-group of the given global ranks; every rank of the world must call it."""
    world = _default_pg()
    ranks = sorted(int(r) for r in (ranks if ranks is not None else range(world.size())))
    MPI = _mpi()
    sub = world.comm.Get_group().Incl(ranks)
    comm = world.comm.Create(sub)
    sub.Free()
    _state["pg_count"] += 1  # counted on every rank, member or not, as torch
    if comm == MPI.COMM_NULL:
        return _GroupMember.NON_GROUP_MEMBER
    name = world.backend if backend is None else Backend(backend)
    name = "nccl" if name in ("nccl", "cpu:gloo,cuda:nccl") else "mpi"
    t = world.timeout if timeout is None else _timeout_seconds(timeout)
    return ProcessGroup(comm, name, t, ranks)


def destroy_process_group(group: ProcessGroup | None = None) -> None:
    """Release a group (default: the world, which also restores sys.excepthook)."""
    pg = _resolve(group) if group is not None else _state["pg"]
    if pg is None:
        return
    if pg._nccl is not None:
        pg._nccl.destroy()
        pg._nccl = None
    try:
        pg.comm.Free()
    except Exception:
        pass
    if group is None or pg is _state["pg"]:
        _state["pg"] = None
        _state["store"] = None
        _state["pg_count"] = 0
        _GroupMember.WORLD = None
        if _state["hook"] is not None:
            sys.excepthook = _state["hook"]
            _state["hook"] = None


def _wait_requests(
    reqs: list, timeout: float | None, what: str = "collective", statuses: list | None = None
) -> None:
    """Wait for MPI requests; with a timeout poll them and raise past the deadline."""
    if not reqs:
        return
    MPI = _mpi()
    if timeout is None:
        MPI.Request.Waitall(reqs, statuses)
        return
    deadline = time.monotonic() + timeout
    spins = 0
    while not MPI.Request.Testall(reqs, statuses):
        spins += 1
        if spins > 2000:
            time.sleep(0.0005 if spins < 20000 else 0.005)
        if time.monotonic() > deadline:
            rank = MPI.COMM_WORLD.Get_rank()
            msg = (
                f"[ember.distributed rank {rank}] {what} did not complete within "
                f"{timeout:g} s (timeout= of init_process_group); aborting the job"
            )
            sys.stderr.write(msg + "\n")
            sys.stderr.flush()
            raise RuntimeError(msg)


class Work:
    """Handle of an asynchronous operation (``async_op=True``), as torch's ``Work``."""

    def __init__(
        self,
        reqs: list,
        timeout: float | None = None,
        finish: Callable[[], object] | None = None,
        what: str = "collective",
        stream=None,
        statuses: list | None = None,
    ):
        self._reqs = reqs
        self._timeout = timeout
        self._finish = finish
        self._what = what
        self._stream = stream
        self._statuses = statuses
        self._done = False
        self._result = None

    def wait(self, timeout=None) -> bool:
        """Block until the operation finished (its output tensors then hold the result)."""
        if not self._done:
            t = _timeout_seconds(timeout) if timeout is not None else self._timeout
            if self._stream is not None:
                self._stream.synchronize()
            _wait_requests(self._reqs, t, self._what, self._statuses)
            self._complete()
        return True

    def _complete(self) -> None:
        if self._finish is not None:
            self._result = self._finish()
        self._done = True

    def is_completed(self) -> bool:
        """True once the operation finished (testing it makes MPI progress)."""
        if self._done:
            return True
        if self._stream is not None and not self._stream.done:
            return False
        if not self._reqs or _mpi().Request.Testall(self._reqs, self._statuses):
            self._complete()
        return self._done

    def is_success(self) -> bool:
        """True when the operation completed without error."""
        return self.is_completed()

    def synchronize(self) -> None:
        """Same as wait()."""
        self.wait()

    def result(self) -> list:
        """The output (empty list for collectives that write their tensors in place)."""
        self.wait()
        return [] if self._result is None else self._result

    def source_rank(self) -> int:
        """For irecv: the rank the message came from."""
        self.wait()
        return int(self._result)

    def get_future(self):
        """A completed-on-wait future-like object whose value() waits."""
        return _Future(self)


class _Future:
    def __init__(self, work: Work):
        self._work = work

    def wait(self):
        self._work.wait()
        return self._work.result()

    def value(self):
        return self.wait()

    def done(self) -> bool:
        return self._work.is_completed()
