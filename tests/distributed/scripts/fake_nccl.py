"""Run under `mpiexec -n 2`: the NCCL code path with a CPU stand-in for CuPy and its NCCL module.

There is no GPU on the development machine, so this checks the logic of ember's NCCL backend
(dtype/op mapping, in-place results, copies, grouped send/recv, DDP's NCCL bucket path) with
"device arrays" that are NumPy arrays and an "NCCL communicator" that runs on MPI. It does not
check CuPy or NCCL themselves.
"""

from __future__ import annotations

import sys
import types

import numpy as np
from mpi4py import MPI

_REG: dict = {}


class FakeArr(np.ndarray):
    """A NumPy array that looks like a CuPy array (``.data.ptr``, ``get``, ``set``)."""

    @property
    def data(self):
        addr = self.__array_interface__["data"][0]
        _REG[addr] = self
        return types.SimpleNamespace(ptr=addr)

    @property
    def device(self):
        return types.SimpleNamespace(id=0)

    def get(self):
        return np.array(self, copy=True).view(np.ndarray)

    def set(self, host):
        np.copyto(self.view(np.ndarray), host)


def _fake(x):
    return np.asarray(x).view(FakeArr)


class _Stream:
    ptr = 0
    done = True

    def synchronize(self):
        _group_end()  # ungrouped sends/receives complete when the stream is synchronized


class FakeComm:
    """NcclCommunicator's methods, carried out with MPI on the registered arrays."""

    def __init__(self, n, uid, rank):
        self.c = MPI.COMM_WORLD.Dup()
        assert self.c.Get_size() == n and self.c.Get_rank() == rank and len(uid) == 128

    @staticmethod
    def _arr(ptr, count):
        return _REG[ptr].view(np.ndarray).reshape(-1)[:count]

    @staticmethod
    def _op(op):
        return {0: MPI.SUM, 1: MPI.PROD, 2: MPI.MAX, 3: MPI.MIN}[op]

    def allReduce(self, s, r, count, dt, op, stream):  # noqa: N802
        out = self._arr(r, count)
        if op == 4:  # NCCL_AVG
            self.c.Allreduce(MPI.IN_PLACE, out, MPI.SUM)
            out /= self.c.Get_size()
            return
        self.c.Allreduce(MPI.IN_PLACE, out, self._op(op))

    def broadcast(self, s, r, count, dt, root, stream):
        self.c.Bcast(self._arr(r, count), root=root)

    def reduce(self, s, r, count, dt, op, root, stream):
        a = self._arr(s, count)
        if self.c.Get_rank() == root:
            self.c.Reduce(MPI.IN_PLACE, a, self._op(op), root=root)
        else:
            self.c.Reduce(a, None, self._op(op), root=root)

    def allGather(self, s, r, count, dt, stream):  # noqa: N802
        self.c.Allgather(self._arr(s, count).copy(), self._arr(r, count * self.c.Get_size()))

    def reduceScatter(self, s, r, count, dt, op, stream):  # noqa: N802
        send = self._arr(s, count * self.c.Get_size()).copy()
        self.c.Reduce_scatter_block(send, self._arr(r, count), self._op(op))

    def send(self, s, count, dt, peer, stream):
        _PENDING.append(self.c.Isend(self._arr(s, count).copy(), dest=peer))

    def recv(self, r, count, dt, peer, stream):
        _PENDING.append(self.c.Irecv(self._arr(r, count), source=peer))

    def destroy(self):
        self.c.Free()


_PENDING: list = []


def _group_end():
    MPI.Request.Waitall(_PENDING)
    _PENDING.clear()


def install() -> types.ModuleType:
    """Put the fake cupy / cupy.cuda / cupy.cuda.nccl modules in place; return fake cupy."""
    nccl = types.ModuleType("cupy.cuda.nccl")
    for i, name in enumerate(
        [
            "INT8",
            "UINT8",
            "INT32",
            "UINT32",
            "INT64",
            "UINT64",
            "FLOAT16",
            "FLOAT32",
            "FLOAT64",
            "BFLOAT16",
        ]
    ):
        setattr(nccl, "NCCL_" + name, i)
    nccl.NCCL_SUM, nccl.NCCL_PROD, nccl.NCCL_MAX, nccl.NCCL_MIN, nccl.NCCL_AVG = range(5)
    nccl.get_unique_id = lambda: tuple(range(128))
    nccl.NcclCommunicator = FakeComm
    nccl.groupStart = lambda: None
    nccl.groupEnd = _group_end
    cuda = types.ModuleType("cupy.cuda")
    cuda.nccl = nccl
    cuda.runtime = types.SimpleNamespace(getDeviceCount=lambda: 1, getDevice=lambda: 0)
    cuda.Device = lambda i: types.SimpleNamespace(use=lambda: None)
    cuda.get_current_stream = _Stream
    cp = types.ModuleType("cupy")
    cp.cuda = cuda
    cp.ndarray = FakeArr
    cp.empty = lambda shape, dtype=np.float32: _fake(np.empty(shape, dtype))
    cp.zeros = lambda shape, dtype=np.float32: _fake(np.zeros(shape, dtype))
    cp.ascontiguousarray = lambda a: _fake(np.ascontiguousarray(a))
    cp.concatenate = lambda xs: _fake(np.concatenate([np.asarray(x) for x in xs]))
    cp.asnumpy = lambda a: np.array(a, copy=True).view(np.ndarray)
    cp.asarray = _fake

    def fallback(name):  # any other cupy function: NumPy's, returning fake device arrays
        f = getattr(np, name)
        if not callable(f):
            return f
        return lambda *a, **k: (lambda r: _fake(r) if isinstance(r, np.ndarray) else r)(f(*a, **k))

    cp.__getattr__ = fallback
    sys.modules.update({"cupy": cp, "cupy.cuda": cuda, "cupy.cuda.nccl": nccl})
    import ember._backend.xp

    ember._backend.xp._cupy = cp
    return cp


def main() -> None:
    """Each NCCL-backed collective against NumPy's answer, then a DDP step on 'CUDA' params."""
    install()
    import ember
    import ember.distributed as dist
    from ember.tensor import _wrap

    dist.init_process_group("nccl")
    r, n = dist.get_rank(), dist.get_world_size()

    def dev(a):
        return _wrap(_fake(np.array(a, dtype=np.float32)))

    def host(t):
        return np.asarray(t._data).view(np.ndarray)

    base = [np.arange(6, dtype=np.float32).reshape(2, 3) * (i + 1) - i for i in range(n)]
    for op, f in [
        (dist.ReduceOp.SUM, np.sum),
        (dist.ReduceOp.AVG, np.mean),
        (dist.ReduceOp.MAX, np.max),
        (dist.ReduceOp.PRODUCT, np.prod),
    ]:
        x = dev(base[r])
        dist.all_reduce(x, op=op)
        assert np.allclose(host(x), f(base, axis=0)), (op, host(x))
    x = dev(base[r])
    dist.broadcast(x, src=n - 1)
    assert np.array_equal(host(x), base[n - 1])
    x = dev(base[r])
    dist.reduce(x, dst=0)
    assert np.allclose(host(x), np.sum(base, 0) if r == 0 else base[r])
    outs = [dev(np.zeros((2, 3))) for _ in range(n)]
    dist.all_gather(outs, dev(base[r]))
    assert all(np.array_equal(host(o), base[i]) for i, o in enumerate(outs))
    out = dev(np.zeros((2 * n, 3)))
    dist.all_gather_into_tensor(out, dev(base[r]))
    assert np.array_equal(host(out), np.concatenate(base))
    o = dev(np.zeros((2, 3)))
    dist.reduce_scatter(o, [dev(base[r] + 10 * i) for i in range(n)])
    assert np.allclose(host(o), np.sum([b + 10 * r for b in base], 0))
    o = dev(np.zeros(3))
    dist.reduce_scatter_tensor(o, dev(np.arange(3 * n) + r))
    assert np.allclose(
        host(o), np.sum([np.arange(3 * n)[3 * r : 3 * r + 3] + i for i in range(n)], 0)
    )
    gl = [dev(np.zeros((2, 3))) for _ in range(n)] if r == 0 else None
    dist.gather(dev(base[r]), gl, dst=0)
    if r == 0:
        assert all(np.array_equal(host(g), base[i]) for i, g in enumerate(gl))
    x = dev(np.zeros((2, 3)))
    dist.scatter(x, [dev(b * 2) for b in base] if r == 0 else None, src=0)
    assert np.array_equal(host(x), base[r] * 2)
    if n == 2:
        x = dev(np.zeros((2, 3)))
        if r == 0:
            dist.send(dev(base[0]), dst=1)
        else:
            assert dist.recv(x, src=0) == 0
            assert np.array_equal(host(x), base[0])
    # CPU tensors on an nccl group go through MPI
    c = ember.from_numpy(base[r].copy())
    dist.all_reduce(c)
    assert np.allclose(c.numpy(), np.sum(base, 0))

    # DDP with parameters on the "device": buckets live on the device, reduced by NCCL
    from ember.nn.modules.module import Module
    from ember.nn.parallel import DistributedDataParallel as DDP
    from ember.nn.parameter import Parameter

    class Lin(Module):
        def __init__(self):
            super().__init__()
            self.w = Parameter(dev(np.full((2, 3), float(r))))  # DDP broadcasts rank 0's

        def forward(self, x):
            return (self.w * x).sum()

    ddp = DDP(Lin())
    assert isinstance(ddp._buckets[0].buffer, FakeArr)
    assert np.array_equal(host(ddp.module.w), np.zeros((2, 3)))
    xs = [np.full((2, 3), i + 1.0, np.float32) for i in range(n)]
    ddp(dev(xs[r])).backward()
    assert np.allclose(host(ddp.module.w.grad), np.mean(xs, 0)), host(ddp.module.w.grad)
    oks = [None] * n
    dist.all_gather_object(oks, "ok")
    dist.destroy_process_group()
    if r == 0 and oks == ["ok"] * n:
        print(f"fake-NCCL OK on {n} ranks", flush=True)


if __name__ == "__main__":
    main()
