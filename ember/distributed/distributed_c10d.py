"""``torch.distributed.distributed_c10d``: the module path where torch defines its process-group
API, for programs that import from it. It names the functions of ember.distributed's modules
(nothing is defined twice) and adds the private helpers programs reach for there.
"""

from __future__ import annotations

from ._debug import DebugLevel, get_debug_level
from ._object_collectives import (
    all_gather_object,
    broadcast_object_list,
    gather_object,
    recv_object_list,
    scatter_object_list,
    send_object_list,
)
from ._options import (
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
from ._point_to_point import P2POp, batch_isend_irecv, irecv, isend, recv, send
from ._store import PrefixStore, Store
from ._subgroups import new_subgroups, new_subgroups_by_enumeration
from .collectives import (
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
from .constants import default_pg_timeout
from .process_group import (
    Backend,
    GroupMember,
    GroupName,
    ProcessGroup,
    ReduceOp,
    Work,
    _default_pg,
    _state,
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
    is_backend_available,
    is_gloo_available,
    is_initialized,
    is_mpi_available,
    is_nccl_available,
    is_torchelastic_launched,
    new_group,
    reduce_op,
    supports_complex,
)

__all__ = [
    "AllToAllOptions",
    "AllreduceCoalescedOptions",
    "AllreduceOptions",
    "Backend",
    "BackendConfig",
    "BarrierOptions",
    "BroadcastOptions",
    "DebugLevel",
    "GatherOptions",
    "GroupMember",
    "GroupName",
    "P2POp",
    "PrefixStore",
    "ProcessGroup",
    "ReduceOp",
    "ReduceOptions",
    "ReduceScatterOptions",
    "ScatterOptions",
    "Store",
    "Work",
    "all_gather",
    "all_gather_coalesced",
    "all_gather_into_tensor",
    "all_gather_object",
    "all_reduce",
    "all_reduce_coalesced",
    "all_to_all",
    "all_to_all_single",
    "barrier",
    "batch_isend_irecv",
    "broadcast",
    "broadcast_object_list",
    "default_pg_timeout",
    "destroy_process_group",
    "gather",
    "gather_object",
    "get_backend",
    "get_backend_config",
    "get_debug_level",
    "get_default_backend_for_device",
    "get_global_rank",
    "get_group_rank",
    "get_pg_count",
    "get_process_group_ranks",
    "get_rank",
    "get_world_size",
    "group",
    "init_process_group",
    "irecv",
    "is_backend_available",
    "is_gloo_available",
    "is_initialized",
    "is_mpi_available",
    "is_nccl_available",
    "is_torchelastic_launched",
    "isend",
    "monitored_barrier",
    "new_group",
    "new_subgroups",
    "new_subgroups_by_enumeration",
    "recv",
    "recv_object_list",
    "reduce",
    "reduce_op",
    "reduce_scatter",
    "reduce_scatter_tensor",
    "scatter",
    "scatter_object_list",
    "send",
    "send_object_list",
    "supports_complex",
]


def _get_default_group() -> ProcessGroup:
    """The default (world) process group; ValueError before init_process_group."""
    return _default_pg()


def _get_default_store() -> Store:
    """The store given to init_process_group.

    ember's groups rendezvous through MPI, so there is a store only when the program passed one
    (``init_process_group(store=...)``); otherwise this raises RuntimeError.
    """
    _default_pg()
    if _state["store"] is None:
        raise RuntimeError(
            "ember's default process group was set up by MPI and has no store; pass "
            "init_process_group(store=...) to have one"
        )
    return _state["store"]


def _rank_not_in_group(group: ProcessGroup | None) -> bool:
    """True when this rank is not a member of ``group`` (new_group's NON_GROUP_MEMBER)."""
    if group is None:
        return False
    return group is GroupMember.NON_GROUP_MEMBER
