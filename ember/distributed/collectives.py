"""Collectives and point-to-point messages with torch.distributed's signatures, over mpi4py
(point-to-point in _point_to_point.py, object collectives in _object_collectives.py).

Every call hands NumPy arrays straight to mpi4py's buffer methods (``Allreduce``, ``Bcast``, ...),
in place when the tensor is contiguous and of a type MPI reduces natively; otherwise a contiguous
staging copy is used and copied back. CUDA tensors go through NCCL on an 'nccl' group, or are
staged through host memory on an 'mpi' group. ``async_op=True`` returns a :class:`Work`.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable

import numpy as np

from .._backend.xp import is_cpu, xp_of
from .process_group import (
    ProcessGroup,
    ReduceOp,
    Work,
    _mpi,
    _resolve,
    _timeout_seconds,
    _wait_requests,
)

__all__ = [
    "all_gather",
    "all_gather_into_tensor",
    "all_reduce",
    "all_to_all",
    "all_to_all_single",
    "barrier",
    "broadcast",
    "gather",
    "monitored_barrier",
    "reduce",
    "reduce_scatter",
    "reduce_scatter_tensor",
    "scatter",
    "all_gather_coalesced",
    "all_reduce_coalesced",
]

_NATIVE = {
    np.dtype(t)
    for t in (
        np.float32,
        np.float64,
        np.int8,
        np.int16,
        np.int32,
        np.int64,
        np.uint8,
        np.uint16,
        np.uint32,
        np.uint64,
        np.complex64,
        np.complex128,
    )
}


def _is_cuda(t) -> bool:
    return not is_cpu(t._data)


def _reduce_dtype(dt: np.dtype) -> np.dtype:
    """The dtype MPI reduces for a tensor dtype (float16/bfloat16 in float32, bool in uint8)."""
    if dt in _NATIVE:
        return dt
    if dt == np.bool_:
        return np.dtype(np.uint8)
    if dt.kind in "fV" or dt.itemsize == 2:
        return np.dtype(np.float32)
    raise TypeError(f"ember.distributed cannot reduce tensors of dtype {dt}")


def _move_dtype(dt: np.dtype) -> np.dtype | None:
    """A same-size dtype MPI moves bit-exactly (None: the dtype itself is fine)."""
    if dt in _NATIVE:
        return None
    return np.dtype(f"u{dt.itemsize}")


class _Buf:
    """A contiguous host array standing for a tensor's data during one MPI call."""

    __slots__ = ("t", "a", "staged", "view")

    def __init__(self, t, reduce: bool = False, read: bool = True):
        arr = t._data
        self.t = t
        self.view = False
        if is_cpu(arr) and arr.flags.c_contiguous and arr.dtype in _NATIVE:
            self.a = arr
            self.staged = False
            return
        if is_cpu(arr) and arr.flags.c_contiguous and not reduce:
            self.a = arr.view(_move_dtype(arr.dtype))
            self.staged = False
            self.view = True
            return
        host = arr if is_cpu(arr) else _to_host(arr)
        dt = _reduce_dtype(host.dtype) if reduce else (_move_dtype(host.dtype) or host.dtype)
        if not read:
            self.a = np.empty(host.shape, dt)
        elif reduce or dt == host.dtype:
            self.a = np.ascontiguousarray(host, dtype=dt)
            if self.a is host:
                self.a = host.copy()
        else:
            self.a = np.ascontiguousarray(host).view(dt)
        self.staged = True

    def back(self) -> None:
        """Write the MPI result into the tensor (when a staging copy was used)."""
        t = self.t
        if self.staged:
            _store(t, self.a)
        t._bump()


def _to_host(arr) -> np.ndarray:
    return xp_of(arr).asnumpy(arr)


def _store(t, src: np.ndarray) -> None:
    """Copy a host array (possibly a raw-bits view) into a tensor's data, in place."""
    dst = t._data
    if (
        src.dtype != dst.dtype
        and src.dtype.kind == "u"
        and src.itemsize == dst.dtype.itemsize
        and dst.dtype not in _NATIVE
    ):
        src = src.view(dst.dtype)
    if is_cpu(dst):
        if src.dtype == np.uint8 and dst.dtype == np.bool_:
            src = src.astype(np.bool_)
        np.copyto(dst, src.reshape(dst.shape), casting="unsafe")
    else:
        xp = xp_of(dst)
        dst[...] = xp.asarray(src.reshape(dst.shape)).astype(dst.dtype, copy=False)


def _mpi_op(op, dt: np.dtype, was_bool: bool):
    MPI = _mpi()
    if op is None:
        op = ReduceOp.SUM
    if isinstance(op, str):
        op = ReduceOp(op.lower())
    if was_bool:
        table = {
            ReduceOp.SUM: MPI.MAX,
            ReduceOp.AVG: MPI.MAX,
            ReduceOp.MAX: MPI.MAX,
            ReduceOp.BOR: MPI.BOR,
            ReduceOp.PRODUCT: MPI.MIN,
            ReduceOp.MIN: MPI.MIN,
            ReduceOp.BAND: MPI.BAND,
            ReduceOp.BXOR: MPI.BXOR,
        }
        return table[op], None
    table = {
        ReduceOp.SUM: MPI.SUM,
        ReduceOp.AVG: MPI.SUM,
        ReduceOp.PRODUCT: MPI.PROD,
        ReduceOp.MIN: MPI.MIN,
        ReduceOp.MAX: MPI.MAX,
        ReduceOp.BAND: MPI.BAND,
        ReduceOp.BOR: MPI.BOR,
        ReduceOp.BXOR: MPI.BXOR,
    }
    try:
        mop = table[op]
    except KeyError:
        raise ValueError(f"unsupported reduce op {op!r}") from None
    return mop, (op is ReduceOp.AVG)


def _average(a: np.ndarray, n: int) -> None:
    if a.dtype.kind in "fc":
        a /= n
    else:
        a //= n


def _run(
    pg: ProcessGroup,
    blocking: Callable,
    nonblocking: Callable,
    finish: Callable,
    async_op: bool,
    what: str,
):
    """Run an MPI call blocking (fast path) or non-blocking (async_op or a group timeout)."""
    if not async_op and pg.timeout is None:
        blocking()
        finish()
        return None
    req = nonblocking()
    w = Work(req if isinstance(req, list) else [req], pg.timeout, finish, what)
    if async_op:
        return w
    w.wait()
    return None


def _nccl_or_none(pg: ProcessGroup, *tensors):
    """The group's NCCL communicator when these are CUDA tensors on an 'nccl' group."""
    if pg.backend == "nccl" and any(_is_cuda(t) for t in tensors if t is not None):
        return pg.nccl()
    return None


def all_reduce(tensor, op=ReduceOp.SUM, group: ProcessGroup | None = None, async_op: bool = False):
    """Reduce ``tensor`` across all ranks, in place (SUM/AVG/PRODUCT/MIN/MAX/BAND/BOR/BXOR)."""
    pg = _resolve(group)
    nc = _nccl_or_none(pg, tensor)
    if nc is not None:
        return nc.all_reduce(tensor, op, async_op)
    MPI = _mpi()
    b = _Buf(tensor, reduce=True)
    mop, avg = _mpi_op(op, b.a.dtype, tensor._data.dtype == np.bool_)
    n = pg.size()

    def finish():
        if avg:
            _average(b.a, n)
        b.back()

    return _run(
        pg,
        lambda: pg.comm.Allreduce(MPI.IN_PLACE, b.a, mop),
        lambda: pg.comm.Iallreduce(MPI.IN_PLACE, b.a, mop),
        finish,
        async_op,
        "all_reduce",
    )


def broadcast(
    tensor,
    src: int = 0,
    group: ProcessGroup | None = None,
    async_op: bool = False,
    group_src: int | None = None,
):
    """Copy ``tensor`` from rank ``src`` to every rank, in place."""
    pg = _resolve(group)
    root = group_src if group_src is not None else pg.group_rank(src)
    nc = _nccl_or_none(pg, tensor)
    if nc is not None:
        return nc.broadcast(tensor, root, async_op)
    b = _Buf(tensor)
    return _run(
        pg,
        lambda: pg.comm.Bcast(b.a, root=root),
        lambda: pg.comm.Ibcast(b.a, root=root),
        b.back,
        async_op,
        "broadcast",
    )


def reduce(
    tensor,
    dst: int = 0,
    op=ReduceOp.SUM,
    group: ProcessGroup | None = None,
    async_op: bool = False,
    group_dst: int | None = None,
):
    """Reduce ``tensor`` across ranks into rank ``dst``'s tensor (others keep theirs)."""
    pg = _resolve(group)
    root = group_dst if group_dst is not None else pg.group_rank(dst)
    nc = _nccl_or_none(pg, tensor)
    if nc is not None:
        return nc.reduce(tensor, root, op, async_op)
    MPI = _mpi()
    b = _Buf(tensor, reduce=True)
    mop, avg = _mpi_op(op, b.a.dtype, tensor._data.dtype == np.bool_)
    me = pg.rank() == root
    send = MPI.IN_PLACE if me else b.a
    recv = b.a if me else None
    n = pg.size()

    def finish():
        if me:
            if avg:
                _average(b.a, n)
            b.back()

    return _run(
        pg,
        lambda: pg.comm.Reduce(send, recv, mop, root=root),
        lambda: pg.comm.Ireduce(send, recv, mop, root=root),
        finish,
        async_op,
        "reduce",
    )


def _check_list(lst, n: int, name: str) -> None:
    if lst is None or len(lst) != n:
        got = "None" if lst is None else len(lst)
        raise ValueError(f"{name} must hold one tensor per rank ({n}), got {got}")


def all_gather(
    tensor_list: list, tensor, group: ProcessGroup | None = None, async_op: bool = False
):
    """Gather ``tensor`` from every rank into ``tensor_list`` (one tensor per rank)."""
    pg = _resolve(group)
    n = pg.size()
    _check_list(tensor_list, n, "tensor_list")
    nc = _nccl_or_none(pg, tensor)
    if nc is not None:
        return nc.all_gather(tensor_list, tensor, async_op)
    b = _Buf(tensor)
    recv = np.empty((n,) + b.a.shape, b.a.dtype)

    def finish():
        for i, out in enumerate(tensor_list):
            _store(out, recv[i])
            out._bump()

    return _run(
        pg,
        lambda: pg.comm.Allgather(b.a, recv),
        lambda: pg.comm.Iallgather(b.a, recv),
        finish,
        async_op,
        "all_gather",
    )


def all_gather_into_tensor(
    output_tensor, input_tensor, group: ProcessGroup | None = None, async_op: bool = False
):
    """Gather every rank's ``input_tensor`` concatenated (or stacked) into ``output_tensor``."""
    pg = _resolve(group)
    n = pg.size()
    if output_tensor.numel() != n * input_tensor.numel():
        raise ValueError(
            f"output tensor must have world_size ({n}) times the input's {input_tensor.numel()} "
            f"elements, got {output_tensor.numel()}"
        )
    nc = _nccl_or_none(pg, output_tensor, input_tensor)
    if nc is not None:
        return nc.all_gather_flat(output_tensor, input_tensor, async_op)
    b = _Buf(input_tensor)
    out = _Buf(output_tensor, read=False)
    return _run(
        pg,
        lambda: pg.comm.Allgather(b.a, out.a),
        lambda: pg.comm.Iallgather(b.a, out.a),
        out.back,
        async_op,
        "all_gather_into_tensor",
    )


def _reduce_scatter_flat(pg, out_t, send: np.ndarray, op, async_op: bool, what: str):
    b = _Buf(out_t, reduce=True, read=False)
    mop, avg = _mpi_op(op, b.a.dtype, out_t._data.dtype == np.bool_)
    if send.dtype != b.a.dtype:
        send = send.astype(b.a.dtype)
    n = pg.size()

    def finish():
        if avg:
            _average(b.a, n)
        b.back()

    return _run(
        pg,
        lambda: pg.comm.Reduce_scatter_block(send, b.a, mop),
        lambda: pg.comm.Ireduce_scatter_block(send, b.a, mop),
        finish,
        async_op,
        what,
    )


def reduce_scatter(
    output,
    input_list: list,
    op=ReduceOp.SUM,
    group: ProcessGroup | None = None,
    async_op: bool = False,
):
    """Reduce ``input_list[i]`` across ranks and leave the result on rank i, in ``output``."""
    pg = _resolve(group)
    _check_list(input_list, pg.size(), "input_list")
    nc = _nccl_or_none(pg, output, *input_list)
    if nc is not None:
        return nc.reduce_scatter(output, input_list, op, async_op)
    send = np.concatenate([_Buf(x, reduce=True).a.reshape(-1) for x in input_list])
    return _reduce_scatter_flat(pg, output, send, op, async_op, "reduce_scatter")


def reduce_scatter_tensor(
    output, input, op=ReduceOp.SUM, group: ProcessGroup | None = None, async_op: bool = False
):
    """Reduce ``input`` across ranks and leave chunk i (along dim 0) on rank i, in ``output``."""
    pg = _resolve(group)
    if input.numel() != pg.size() * output.numel():
        raise ValueError(
            f"input tensor must have world_size ({pg.size()}) times the output's "
            f"{output.numel()} elements, got {input.numel()}"
        )
    nc = _nccl_or_none(pg, output, input)
    if nc is not None:
        return nc.reduce_scatter_flat(output, input, op, async_op)
    send = _Buf(input, reduce=True).a
    return _reduce_scatter_flat(pg, output, send, op, async_op, "reduce_scatter_tensor")


def gather(
    tensor,
    gather_list: list | None = None,
    dst: int = 0,
    group: ProcessGroup | None = None,
    async_op: bool = False,
    group_dst: int | None = None,
):
    """Collect ``tensor`` from every rank into ``gather_list`` on rank ``dst``."""
    pg = _resolve(group)
    root = group_dst if group_dst is not None else pg.group_rank(dst)
    n = pg.size()
    me = pg.rank() == root
    if me:
        _check_list(gather_list, n, "gather_list")
    nc = _nccl_or_none(pg, tensor)
    if nc is not None:
        return nc.gather(tensor, gather_list if me else None, root, async_op)
    b = _Buf(tensor)
    recv = np.empty((n,) + b.a.shape, b.a.dtype) if me else None

    def finish():
        if me:
            for i, out in enumerate(gather_list):
                _store(out, recv[i])
                out._bump()

    return _run(
        pg,
        lambda: pg.comm.Gather(b.a, recv, root=root),
        lambda: pg.comm.Igather(b.a, recv, root=root),
        finish,
        async_op,
        "gather",
    )


def scatter(
    tensor,
    scatter_list: list | None = None,
    src: int = 0,
    group: ProcessGroup | None = None,
    async_op: bool = False,
    group_src: int | None = None,
):
    """Send ``scatter_list[i]`` from rank ``src`` to rank i, into its ``tensor``."""
    pg = _resolve(group)
    root = group_src if group_src is not None else pg.group_rank(src)
    n = pg.size()
    me = pg.rank() == root
    if me:
        _check_list(scatter_list, n, "scatter_list")
    nc = _nccl_or_none(pg, tensor)
    if nc is not None:
        return nc.scatter(tensor, scatter_list if me else None, root, async_op)
    out = _Buf(tensor, read=False)
    send = None
    if me:
        send = np.stack([_Buf(x).a.reshape(out.a.shape) for x in scatter_list])
        send = send.astype(out.a.dtype, copy=False)
    return _run(
        pg,
        lambda: pg.comm.Scatter(send, out.a, root=root),
        lambda: pg.comm.Iscatter(send, out.a, root=root),
        out.back,
        async_op,
        "scatter",
    )


def all_to_all_single(
    output,
    input,
    output_split_sizes=None,
    input_split_sizes=None,
    group: ProcessGroup | None = None,
    async_op: bool = False,
):
    """Split ``input`` along dim 0 into equal chunks, send chunk i to rank i, gather the rest."""
    if output_split_sizes is not None or input_split_sizes is not None:
        raise NotImplementedError("ember's all_to_all_single supports equal splits only")
    pg = _resolve(group)
    b = _Buf(input)
    out = _Buf(output, read=False)
    return _run(
        pg,
        lambda: pg.comm.Alltoall(b.a, out.a),
        lambda: pg.comm.Ialltoall(b.a, out.a),
        out.back,
        async_op,
        "all_to_all",
    )


def all_to_all(
    output_tensor_list: list,
    input_tensor_list: list,
    group: ProcessGroup | None = None,
    async_op: bool = False,
):
    """Send ``input_tensor_list[i]`` to rank i; receive rank j's into ``output_tensor_list[j]``."""
    pg = _resolve(group)
    n = pg.size()
    _check_list(input_tensor_list, n, "input_tensor_list")
    _check_list(output_tensor_list, n, "output_tensor_list")
    send = np.stack([_Buf(x).a for x in input_tensor_list])
    recv = np.empty_like(send)

    def finish():
        for i, o in enumerate(output_tensor_list):
            _store(o, recv[i])
            o._bump()

    return _run(
        pg,
        lambda: pg.comm.Alltoall(send, recv),
        lambda: pg.comm.Ialltoall(send, recv),
        finish,
        async_op,
        "all_to_all",
    )


def barrier(group: ProcessGroup | None = None, async_op: bool = False, device_ids=None):
    """Wait until every rank of the group reached the barrier."""
    pg = _resolve(group)
    return _run(pg, pg.comm.Barrier, pg.comm.Ibarrier, lambda: None, async_op, "barrier")


def monitored_barrier(
    group: ProcessGroup | None = None, timeout=None, wait_all_ranks: bool = False
) -> None:
    """A barrier bounded by ``timeout`` (default: the group's), aborting the job past it."""
    pg = _resolve(group)
    t = _timeout_seconds(timeout) if timeout is not None else pg.timeout
    _wait_requests([pg.comm.Ibarrier()], t, "monitored_barrier")


_COALESCED_NOTE = (
    "`torch.distributed.{}` will be deprecated. If you must use it, please revisit our "
    "documentation later at https://pytorch.org/docs/main/distributed.html#collective-functions"
)


def _all_of(works: list) -> Work | None:
    """One Work that completes when every one of ``works`` has (None when none is pending)."""
    works = [w for w in works if w is not None]
    if not works:
        return None
    return Work([], None, lambda: [w.wait() for w in works], "coalesced collective")


def all_reduce_coalesced(
    tensors: list, op=ReduceOp.SUM, group: ProcessGroup | None = None, async_op: bool = False
):
    """All-reduce each tensor of a list, in place (deprecated in torch: warns FutureWarning).

    ember runs one all-reduce per tensor; the results are the same as torch's single fused call.
    """
    warnings.warn(_COALESCED_NOTE.format("all_reduce_coalesced"), FutureWarning, stacklevel=2)
    _resolve(group)  # before init_process_group: torch's ValueError, even for no tensors
    if not isinstance(tensors, (list, tuple)):
        tensors = [tensors]
    works = [all_reduce(t, op, group, async_op) for t in tensors]
    return _all_of(works) if async_op else None


def all_gather_coalesced(
    output_tensor_lists: list,
    input_tensor_list: list,
    group: ProcessGroup | None = None,
    async_op: bool = False,
):
    """All-gather each input tensor into its list of outputs (deprecated in torch: warns).

    ``output_tensor_lists[r][i]`` receives rank r's ``input_tensor_list[i]``, as torch.
    """
    warnings.warn(_COALESCED_NOTE.format("all_gather_coalesced"), FutureWarning, stacklevel=2)
    pg = _resolve(group)
    _check_list(output_tensor_lists, pg.size(), "output_tensor_lists")
    works = []
    for i, t in enumerate(input_tensor_list):
        outs = [per_rank[i] for per_rank in output_tensor_lists]
        works.append(all_gather(outs, t, group, async_op))
    return _all_of(works) if async_op else None
