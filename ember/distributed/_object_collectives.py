"""Collectives on picklable Python objects: mpi4py's lowercase
methods pickle each object, so any size and type travels."""

from __future__ import annotations

from .process_group import ProcessGroup, _mpi, _resolve

__all__ = [
    "all_gather_object",
    "broadcast_object_list",
    "gather_object",
    "recv_object_list",
    "scatter_object_list",
    "send_object_list",
]

_OBJECT_TAG = 0x3E0B  # apart from tensor send/recv tags, so objects and tensors never cross


def all_gather_object(object_list: list, obj, group: ProcessGroup | None = None) -> None:
    """Gather a picklable object from every rank into ``object_list``."""
    pg = _resolve(group)
    got = pg.comm.allgather(obj)
    object_list[: len(got)] = got


def broadcast_object_list(
    object_list: list,
    src: int = 0,
    group: ProcessGroup | None = None,
    device=None,
    group_src: int | None = None,
) -> None:
    """Replace ``object_list``'s items by rank ``src``'s, on every rank."""
    pg = _resolve(group)
    root = group_src if group_src is not None else pg.group_rank(src)
    got = pg.comm.bcast(list(object_list) if pg.rank() == root else None, root=root)
    object_list[:] = got


def gather_object(
    obj,
    object_gather_list: list | None = None,
    dst: int = 0,
    group: ProcessGroup | None = None,
    group_dst: int | None = None,
) -> None:
    """Collect a picklable object from every rank into ``object_gather_list`` on ``dst``."""
    pg = _resolve(group)
    root = group_dst if group_dst is not None else pg.group_rank(dst)
    got = pg.comm.gather(obj, root=root)
    if pg.rank() == root:
        object_gather_list[: len(got)] = got


def scatter_object_list(
    scatter_object_output_list: list,
    scatter_object_input_list=None,
    src: int = 0,
    group: ProcessGroup | None = None,
    group_src: int | None = None,
) -> None:
    """Send item i of rank ``src``'s input list to rank i (into the output list's first slot)."""
    pg = _resolve(group)
    root = group_src if group_src is not None else pg.group_rank(src)
    items = list(scatter_object_input_list) if pg.rank() == root else None
    scatter_object_output_list[0] = pg.comm.scatter(items, root=root)


def send_object_list(
    object_list: list,
    dst: int | None = None,
    group: ProcessGroup | None = None,
    device=None,
    group_dst: int | None = None,
    use_batch: bool = False,
) -> None:
    """Send a list of picklable objects to rank ``dst`` (global rank; ``group_dst`` in group).

    The receiver's ``recv_object_list`` fills a list of the same length, as torch.
    """
    pg = _resolve(group)
    peer = group_dst if group_dst is not None else pg.group_rank(dst)
    if peer == pg.rank():
        raise ValueError(
            "Invalid destination rank: destination rank should not be the same as "
            "the rank of the current process."
        )
    pg.comm.send(list(object_list), dest=peer, tag=_OBJECT_TAG)


def recv_object_list(
    object_list: list,
    src: int | None = None,
    group: ProcessGroup | None = None,
    device=None,
    group_src: int | None = None,
    use_batch: bool = False,
) -> int:
    """Receive objects sent by ``send_object_list`` into ``object_list``; return the sender.

    ``src=None`` takes the message from any rank. The sender's global rank is returned.
    """
    pg = _resolve(group)
    MPI = _mpi()
    if group_src is not None:
        peer = group_src
    elif src is not None:
        peer = pg.group_rank(src)
    else:
        peer = MPI.ANY_SOURCE
    status = MPI.Status()
    got = pg.comm.recv(source=peer, tag=_OBJECT_TAG, status=status)
    object_list[: len(got)] = got
    return pg.ranks[status.Get_source()]
