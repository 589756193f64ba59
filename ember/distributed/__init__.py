"""ember.distributed: torch.distributed's API over MPI (mpi4py), and NCCL for CUDA tensors.

Launch a job with ``mpiexec -n 4 python -m mpi4py train.py``; ``init_process_group()`` takes the
rank and world size from the launcher. mpi4py is imported on first use only.
"""

from __future__ import annotations

import os

from .._torch_alias import module_getattr as _module_getattr
from . import algorithms, constants, device_mesh, distributed_c10d  # noqa: F401 (torch submodules)
from ._debug import (  # noqa: F401
    DebugLevel,
    breakpoint,
    get_debug_level,
    set_debug_level,
    set_debug_level_from_env,
)
from ._errors import (  # noqa: F401
    DistBackendError,
    DistError,
    DistNetworkError,
    DistStoreError,
    QueueEmptyError,
)
from ._object_collectives import (  # noqa: F401
    all_gather_object,
    broadcast_object_list,
    gather_object,
    recv_object_list,
    scatter_object_list,
    send_object_list,
)
from ._options import (  # noqa: F401
    AllreduceCoalescedOptions,
    AllreduceOptions,
    AllToAllOptions,
    BackendConfig,
    BarrierOptions,
    BroadcastOptions,
    GatherOptions,
    ReduceOptions,
    ReduceScatterOptions,
    ScatterOptions,
)
from ._point_to_point import P2POp, batch_isend_irecv, irecv, isend, recv, send  # noqa: F401
from ._store import FileStore, HashStore, PrefixStore, Store, TCPStore  # noqa: F401
from ._subgroups import new_subgroups, new_subgroups_by_enumeration  # noqa: F401
from .collectives import (  # noqa: F401
    all_gather,
    all_gather_coalesced,
    all_gather_into_tensor,
    all_reduce,
    all_reduce_coalesced,
    all_to_all,
    all_to_all_single,
    barrier,
    broadcast,
    gather,
    monitored_barrier,
    reduce,
    reduce_scatter,
    reduce_scatter_tensor,
    scatter,
)
from .constants import default_pg_timeout  # noqa: F401
from .device_mesh import DeviceMesh, init_device_mesh  # noqa: F401
from .process_group import (  # noqa: F401
    Backend,
    GroupMember,
    GroupName,
    ProcessGroup,
    RankType,
    ReduceOp,
    Work,
    abort,
    destroy_process_group,
    get_backend,
    get_backend_config,
    get_default_backend_for_device,
    get_global_rank,
    get_group_rank,
    get_pg_count,
    get_process_group_ranks,
    get_rank,
    get_world_size,
    group,
    init_process_group,
    is_available,
    is_backend_available,
    is_gloo_available,
    is_initialized,
    is_mpi_available,
    is_nccl_available,
    is_torchelastic_launched,
    local_rank,
    new_group,
    reduce_op,
    supports_complex,
)
from .rendezvous import register_rendezvous_handler, rendezvous  # noqa: F401

_LAUNCHER_VARS = (  # (torchrun's name, what MPI launchers set): MPICH/Hydra, Open MPI
    ("RANK", ("PMI_RANK", "OMPI_COMM_WORLD_RANK")),
    ("WORLD_SIZE", ("PMI_SIZE", "OMPI_COMM_WORLD_SIZE")),
    ("LOCAL_RANK", ("MPI_LOCALRANKID", "OMPI_COMM_WORLD_LOCAL_RANK")),
    ("LOCAL_WORLD_SIZE", ("MPI_LOCALNRANKS", "OMPI_COMM_WORLD_LOCAL_SIZE")),
)


def _env_from_launcher() -> None:
    """Under mpiexec, set torchrun's RANK/WORLD_SIZE/LOCAL_RANK so scripts that read them work."""
    env = os.environ
    for name, sources in _LAUNCHER_VARS:
        if name not in env:
            for src in sources:
                if src in env:
                    env[name] = env[src]
                    break


_env_from_launcher()

# torch spells the all-gather of a flat tensor this way too (older name)
_all_gather_base = all_gather_into_tensor
_reduce_scatter_base = reduce_scatter_tensor
all_gather_single = all_gather_into_tensor  # torch 2.13's newer names for the same collectives
reduce_scatter_single = reduce_scatter_tensor


def is_ucc_available() -> bool:
    """False: ember has no UCC backend."""
    return False


def is_xccl_available() -> bool:
    """False: ember has no XCCL (Intel GPU) backend."""
    return False


def get_node_local_rank(fallback_rank: int | None = None) -> int:
    """This process's rank among the ranks on its machine (for picking a GPU)."""
    for var in (
        "LOCAL_RANK",
        "MPI_LOCALRANKID",
        "OMPI_COMM_WORLD_LOCAL_RANK",
        "MV2_COMM_WORLD_LOCAL_RANK",
    ):
        if var in os.environ:
            return int(os.environ[var])
    if is_initialized():
        return local_rank(group.WORLD.comm)
    if fallback_rank is not None:
        return int(fallback_rank)
    raise RuntimeError("LOCAL_RANK is not set and no process group is initialized")


__getattr__ = _module_getattr(__name__)  # unknown names: a clear not-implemented error
