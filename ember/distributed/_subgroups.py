"""Splitting the world into equal or enumerated sub-groups: new_subgroups and
new_subgroups_by_enumeration."""

from __future__ import annotations

from collections.abc import Sequence

from .. import cuda
from .process_group import (
    ProcessGroup,
    _default_pg,
    get_process_group_ranks,
    get_rank,
    get_world_size,
    new_group,
)

__all__ = ["new_subgroups", "new_subgroups_by_enumeration"]


def _cuda_device_count() -> int | None:
    """The CUDA device count, or None without CUDA."""
    return cuda.device_count() if cuda.is_available() else None


def new_subgroups(
    group_size: int | None = None,
    group: ProcessGroup | None = None,
    timeout=None,
    backend: str | None = None,
    pg_options=None,
    group_desc: str | None = None,
) -> tuple[ProcessGroup, list[ProcessGroup]]:
    """Split ``group`` (default: the world) into consecutive sub-groups of ``group_size`` ranks.

    Returns (this rank's sub-group, all sub-groups). Without ``group_size`` the size is the
    CUDA device count (one sub-group per machine), and without CUDA that is a ValueError, as
    torch. Every rank must call it.
    """
    if group_size is None:
        count = _cuda_device_count()
        if count is None:
            raise ValueError(
                "Default group size only takes effect when CUDA is available."
                "If your subgroup using a backend that does not depend on CUDA,"
                "please pass in 'group_size' correctly."
            )
        group_size = count
    if group_size <= 0:
        raise ValueError(f"The arg 'group_size' ({group_size}) must be positive")
    world_size = get_world_size(group=group)
    if world_size < group_size:
        raise ValueError(
            f"The arg 'group_size' ({group_size}) must not exceed the world size ({world_size})"
        )
    if world_size % group_size != 0:
        raise ValueError(f"The world size ({world_size}) must be divisible by '{group_size=}'")
    ranks = get_process_group_ranks(group if group is not None else _default_pg())
    chunks = [ranks[i : i + group_size] for i in range(0, len(ranks), group_size)]
    return new_subgroups_by_enumeration(chunks, timeout, backend, pg_options, group_desc)


def new_subgroups_by_enumeration(
    ranks_per_subgroup_list: Sequence[Sequence[int]],
    timeout=None,
    backend: str | None = None,
    pg_options=None,
    group_desc: str | None = None,
) -> tuple[ProcessGroup | None, list[ProcessGroup]]:
    """Create one sub-group per list of global ranks; return (this rank's, all of them).

    A rank may belong to one sub-group at most (ValueError otherwise, as torch); a rank in
    none gets None as its sub-group. Every rank must call it.
    """
    if not ranks_per_subgroup_list:
        raise ValueError("The arg 'ranks_per_subgroup_list' cannot be empty")
    me = get_rank()
    owner: dict[int, Sequence[int]] = {}
    subgroups = []
    current = None
    for ranks in ranks_per_subgroup_list:
        sub = new_group(ranks=ranks, timeout=timeout, backend=backend, pg_options=pg_options)
        subgroups.append(sub)
        for r in ranks:
            if r in owner:
                raise ValueError(f"Rank {r} has appeared in both subgroup {owner[r]} and {ranks}")
            owner[r] = ranks
            if r == me:
                current = sub
    return current, subgroups
