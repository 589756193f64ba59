"""Point-to-point messages: send/recv, their non-blocking forms
and batch_isend_irecv, over MPI or NCCL as the collectives are."""

from __future__ import annotations

from .collectives import _Buf, _nccl_or_none
from .process_group import ProcessGroup, Work, _mpi, _resolve

__all__ = ["send", "recv", "isend", "irecv", "P2POp", "batch_isend_irecv"]


def send(
    tensor,
    dst: int | None = None,
    group: ProcessGroup | None = None,
    tag: int = 0,
    group_dst: int | None = None,
) -> None:
    """Send ``tensor`` to rank ``dst`` (blocks until the message is handed over)."""
    w = isend(tensor, dst, group, tag, group_dst=group_dst)
    w.wait()


def recv(
    tensor,
    src: int | None = None,
    group: ProcessGroup | None = None,
    tag: int = 0,
    group_src: int | None = None,
) -> int:
    """Receive into ``tensor`` from rank ``src`` (any rank when None); return the sender."""
    w = irecv(tensor, src, group, tag, group_src=group_src)
    w.wait()
    return w.source_rank()


def isend(
    tensor,
    dst: int | None = None,
    group: ProcessGroup | None = None,
    tag: int = 0,
    group_dst: int | None = None,
) -> Work:
    """Start sending ``tensor`` to rank ``dst``; returns a Work to wait on."""
    pg = _resolve(group)
    peer = group_dst if group_dst is not None else pg.group_rank(dst)
    nc = _nccl_or_none(pg, tensor)
    if nc is not None:
        return nc.send(tensor, peer)
    b = _Buf(tensor)
    req = pg.comm.Isend(b.a, dest=peer, tag=tag)
    w = Work([req], pg.timeout, None, "send")
    w._keep = b  # the buffer must outlive the request
    return w


def irecv(
    tensor,
    src: int | None = None,
    group: ProcessGroup | None = None,
    tag: int = 0,
    group_src: int | None = None,
) -> Work:
    """Start receiving into ``tensor`` from ``src`` (any rank when None); returns a Work."""
    MPI = _mpi()
    pg = _resolve(group)
    if group_src is not None:
        peer = group_src
    else:
        peer = MPI.ANY_SOURCE if src is None else pg.group_rank(src)
    nc = _nccl_or_none(pg, tensor)
    if nc is not None:
        if src is None and group_src is None:
            raise RuntimeError("recv from any source is not supported on the nccl backend")
        return nc.recv(tensor, peer, pg.ranks[peer])
    b = _Buf(tensor, read=False)
    statuses = [MPI.Status()]
    req = pg.comm.Irecv(b.a, source=peer, tag=tag)

    def finish():
        b.back()
        return pg.ranks[statuses[0].Get_source()]

    return Work([req], pg.timeout, finish, "recv", statuses=statuses)


class P2POp:
    """One point-to-point operation for batch_isend_irecv: P2POp(dist.isend, tensor, peer)."""

    def __init__(
        self,
        op,
        tensor,
        peer: int | None = None,
        group: ProcessGroup | None = None,
        tag: int = 0,
        group_peer: int | None = None,
    ):
        if op not in (isend, irecv):
            raise ValueError(
                "Invalid ``op``. Expected ``op`` to be of type ``torch.distributed."
                "isend`` or ``torch.distributed.irecv``."
            )
        self.op, self.tensor, self.peer, self.group, self.tag = op, tensor, peer, group, tag
        self.group_peer = group_peer


def batch_isend_irecv(p2p_op_list: list) -> list[Work]:
    """Start every send/receive of the list at once; returns their Work handles."""
    works = []
    for p in p2p_op_list:
        if p.op is isend:
            works.append(isend(p.tensor, p.peer, p.group, p.tag, group_dst=p.group_peer))
        else:
            works.append(irecv(p.tensor, p.peer, p.group, p.tag, group_src=p.group_peer))
    return works


P2POp.__module__ = "ember.distributed.collectives"  # where it pickles from, as before the split
