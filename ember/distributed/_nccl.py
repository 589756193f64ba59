"""NCCL collectives for CUDA (CuPy) tensors through ``cupy.cuda.nccl``, bootstrapped over MPI.

Rank 0 creates the NCCL unique id and MPI broadcasts it; every rank then builds its
``NcclCommunicator`` on its current CUDA device (chosen from the node-local rank at
init_process_group). Operations are enqueued on CuPy's current stream; a blocking call
synchronizes that stream, ``async_op=True`` returns a Work whose wait() does.

Untested here (no GPU on the development machine): written against CuPy's documented API.
"""

from __future__ import annotations

from .._backend.xp import cupy
from .._backend.xp import nccl as cupy_nccl
from .process_group import ReduceOp, Work, local_rank


def _cp():
    return cupy()


class NcclComm:
    """One process's NCCL communicator plus the tensor-level collectives ember needs."""

    def __init__(self, mpi_comm):
        cp = _cp()
        nccl = cupy_nccl()
        self._nccl = nccl
        ndev = cp.cuda.runtime.getDeviceCount()
        if ndev == 0:
            raise RuntimeError("the nccl backend needs a CUDA GPU on every rank")
        if cp.cuda.runtime.getDevice() == 0 and ndev > 1:
            cp.cuda.Device(local_rank(mpi_comm) % ndev).use()
        self.rank = mpi_comm.Get_rank()
        self.size = mpi_comm.Get_size()
        uid = nccl.get_unique_id() if self.rank == 0 else None
        uid = mpi_comm.bcast(uid, root=0)
        self.comm = nccl.NcclCommunicator(self.size, uid, self.rank)
        n = nccl
        self._types = {
            "float32": n.NCCL_FLOAT32,
            "float64": n.NCCL_FLOAT64,
            "float16": n.NCCL_FLOAT16,
            "int8": n.NCCL_INT8,
            "uint8": n.NCCL_UINT8,
            "int32": n.NCCL_INT32,
            "uint32": n.NCCL_UINT32,
            "int64": n.NCCL_INT64,
            "uint64": n.NCCL_UINT64,
            "bool": n.NCCL_UINT8,
        }
        bf16 = getattr(n, "NCCL_BFLOAT16", None)
        if bf16 is not None:
            self._types["bfloat16"] = bf16
        self._avg = getattr(n, "NCCL_AVG", None)

    def destroy(self) -> None:
        """Release the NCCL communicator."""
        if self.comm is not None:
            self.comm.destroy()
            self.comm = None

    # --- helpers --------------------------------------------------------------------------
    def _dtype(self, arr) -> int:
        try:
            return self._types[arr.dtype.name]
        except KeyError:
            raise TypeError(f"the nccl backend cannot move tensors of dtype {arr.dtype}") from None

    def _op(self, op, is_bool: bool):
        n = self._nccl
        if isinstance(op, str):
            op = ReduceOp(op.lower())
        if is_bool:
            return {
                ReduceOp.SUM: n.NCCL_MAX,
                ReduceOp.MAX: n.NCCL_MAX,
                ReduceOp.BOR: n.NCCL_MAX,
                ReduceOp.PRODUCT: n.NCCL_MIN,
                ReduceOp.MIN: n.NCCL_MIN,
                ReduceOp.BAND: n.NCCL_MIN,
            }[op], False
        if op is ReduceOp.AVG:
            return (self._avg, False) if self._avg is not None else (n.NCCL_SUM, True)
        table = {
            ReduceOp.SUM: n.NCCL_SUM,
            ReduceOp.PRODUCT: n.NCCL_PROD,
            ReduceOp.MIN: n.NCCL_MIN,
            ReduceOp.MAX: n.NCCL_MAX,
        }
        if op not in table:
            raise ValueError(f"the nccl backend does not support {op!r}")
        return table[op], False

    @staticmethod
    def _contig(t):
        """(contiguous array, needs copy-back) for a CUDA tensor's data."""
        a = t._data
        if a.flags.c_contiguous:
            return a, False
        return _cp().ascontiguousarray(a), True

    @staticmethod
    def _finish(stream, finish, async_op: bool):
        w = Work([], None, finish, "nccl", stream=stream)
        if async_op:
            return w
        w.wait()
        return None

    def _stream(self):
        return _cp().cuda.get_current_stream()

    # --- collectives ----------------------------------------------------------------------
    def all_reduce(self, t, op, async_op: bool):
        """In-place all-reduce of a CUDA tensor."""
        a, copy = self._contig(t)
        op_id, divide = self._op(op, a.dtype.name == "bool")
        s = self._stream()
        if a.dtype.name == "bool":
            a = a.view("uint8")
        self.comm.allReduce(a.data.ptr, a.data.ptr, a.size, self._dtype(a), op_id, s.ptr)
        if divide:
            if a.dtype.kind == "f":
                a /= self.size
            else:
                a //= self.size

        def finish():
            if copy:
                t._data[...] = a.view(t._data.dtype)
            t._bump()

        return self._finish(s, finish, async_op)

    def broadcast(self, t, root: int, async_op: bool):
        """In-place broadcast from group rank ``root``."""
        a, copy = self._contig(t)
        s = self._stream()
        self.comm.broadcast(a.data.ptr, a.data.ptr, a.size, self._dtype(a), root, s.ptr)

        def finish():
            if copy:
                t._data[...] = a
            t._bump()

        return self._finish(s, finish, async_op)

    def reduce(self, t, root: int, op, async_op: bool):
        """Reduce into group rank ``root``'s tensor."""
        a, copy = self._contig(t)
        op_id, divide = self._op(op, a.dtype.name == "bool")
        s = self._stream()
        self.comm.reduce(a.data.ptr, a.data.ptr, a.size, self._dtype(a), op_id, root, s.ptr)
        me = self.rank == root
        if divide and me:
            a /= self.size

        def finish():
            if me:
                if copy:
                    t._data[...] = a
                t._bump()

        return self._finish(s, finish, async_op)

    def all_gather(self, tensor_list, t, async_op: bool):
        """Gather every rank's tensor into tensor_list."""
        cp = _cp()
        a, _ = self._contig(t)
        recv = cp.empty((self.size,) + a.shape, a.dtype)
        s = self._stream()
        self.comm.allGather(a.data.ptr, recv.data.ptr, a.size, self._dtype(a), s.ptr)
        for i, out in enumerate(tensor_list):
            out._data[...] = recv[i]

        def finish():
            for out in tensor_list:
                out._bump()

        return self._finish(s, finish, async_op)

    def all_gather_flat(self, out_t, in_t, async_op: bool):
        """Gather every rank's input into one output tensor."""
        a, _ = self._contig(in_t)
        o, copy = self._contig(out_t)
        s = self._stream()
        self.comm.allGather(a.data.ptr, o.data.ptr, a.size, self._dtype(a), s.ptr)

        def finish():
            if copy:
                out_t._data[...] = o
            out_t._bump()

        return self._finish(s, finish, async_op)

    def _reduce_scatter(self, out_t, send, op, async_op: bool):
        o, copy = self._contig(out_t)
        op_id, divide = self._op(op, o.dtype.name == "bool")
        s = self._stream()
        self.comm.reduceScatter(send.data.ptr, o.data.ptr, o.size, self._dtype(o), op_id, s.ptr)
        if divide:
            o /= self.size

        def finish():
            if copy:
                out_t._data[...] = o
            out_t._bump()
            _keep = send  # noqa: F841 (the send buffer must live until completion)

        return self._finish(s, finish, async_op)

    def reduce_scatter(self, out_t, input_list, op, async_op: bool):
        """Reduce input_list[i] across ranks into rank i's output."""
        cp = _cp()
        send = cp.concatenate([x._data.reshape(-1) for x in input_list])
        return self._reduce_scatter(out_t, send, op, async_op)

    def reduce_scatter_flat(self, out_t, in_t, op, async_op: bool):
        """Reduce one flat input across ranks and scatter equal chunks."""
        send, _ = self._contig(in_t)
        return self._reduce_scatter(out_t, send, op, async_op)

    def gather(self, t, gather_list, root: int, async_op: bool):
        """Collect every rank's tensor into gather_list on ``root`` (grouped send/recv)."""
        nccl = self._nccl
        a, _ = self._contig(t)
        s = self._stream()
        dt = self._dtype(a)
        nccl.groupStart()
        try:
            if self.rank == root:
                for i, out in enumerate(gather_list):
                    if i == root:
                        out._data[...] = a
                        continue
                    o, _ = self._contig(out)
                    self.comm.recv(o.data.ptr, o.size, dt, i, s.ptr)
            else:
                self.comm.send(a.data.ptr, a.size, dt, root, s.ptr)
        finally:
            nccl.groupEnd()

        def finish():
            if gather_list is not None:
                for out in gather_list:
                    out._bump()

        return self._finish(s, finish, async_op)

    def scatter(self, t, scatter_list, root: int, async_op: bool):
        """Send scatter_list[i] from ``root`` to rank i (grouped send/recv)."""
        nccl = self._nccl
        o, copy = self._contig(t)
        s = self._stream()
        dt = self._dtype(o)
        keep = []
        nccl.groupStart()
        try:
            if self.rank == root:
                for i, x in enumerate(scatter_list):
                    xa, _ = self._contig(x)
                    keep.append(xa)
                    if i == root:
                        o[...] = xa.reshape(o.shape)
                    else:
                        self.comm.send(xa.data.ptr, xa.size, dt, i, s.ptr)
            else:
                self.comm.recv(o.data.ptr, o.size, dt, root, s.ptr)
        finally:
            nccl.groupEnd()

        def finish():
            if copy:
                t._data[...] = o
            t._bump()
            keep.clear()

        return self._finish(s, finish, async_op)

    def send(self, t, peer: int) -> Work:
        """Point-to-point send to group rank ``peer``."""
        a, _ = self._contig(t)
        s = self._stream()
        self.comm.send(a.data.ptr, a.size, self._dtype(a), peer, s.ptr)
        w = Work([], None, None, "nccl send", stream=s)
        w._keep = a  # the buffer must live until the stream ran the send
        return w

    def recv(self, t, peer: int, global_src: int) -> Work:
        """Point-to-point receive from group rank ``peer``."""
        o, copy = self._contig(t)
        s = self._stream()
        self.comm.recv(o.data.ptr, o.size, self._dtype(o), peer, s.ptr)

        def finish():
            if copy:
                t._data[...] = o
            t._bump()
            return global_src

        return Work([], None, finish, "nccl recv", stream=s)
