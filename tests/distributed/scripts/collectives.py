"""Run under `mpiexec -n N`: every collective of ember.distributed against NumPy's answer."""

from __future__ import annotations

import sys

import numpy as np

import ember
import ember.distributed as dist


def data(r: int, shape=(3, 4), dtype=np.float32) -> np.ndarray:
    """Rank r's deterministic input."""
    n = int(np.prod(shape))
    return (np.arange(n, dtype=np.float64).reshape(shape) * (r + 1) + r - 2.5).astype(dtype)


def check(name: str, got, want, tol: float = 1e-6) -> None:
    got = got.numpy() if isinstance(got, ember.Tensor) else np.asarray(got)
    want = np.asarray(want)
    if got.shape != want.shape or not np.allclose(got, want, rtol=tol, atol=tol):
        raise AssertionError(f"{name}: got\n{got}\nwant\n{want}")


def t(a: np.ndarray) -> ember.Tensor:
    return ember.from_numpy(np.array(a, copy=True))


def main() -> None:
    """Check each collective, with async_op both ways."""
    timeout = float(sys.argv[1]) if len(sys.argv) > 1 else None
    dist.init_process_group("mpi", timeout=timeout)
    r, n = dist.get_rank(), dist.get_world_size()
    assert dist.is_initialized() and dist.get_backend() == "mpi"
    allx = [data(i) for i in range(n)]

    ops = {
        dist.ReduceOp.SUM: np.sum,
        dist.ReduceOp.AVG: np.mean,
        dist.ReduceOp.MAX: np.max,
        dist.ReduceOp.MIN: np.min,
        dist.ReduceOp.PRODUCT: np.prod,
    }
    for op, f in ops.items():
        for async_op in (False, True):
            x = t(data(r))
            w = dist.all_reduce(x, op=op, async_op=async_op)
            if async_op:
                assert w.wait()
            check(f"all_reduce {op}", x, f(np.stack(allx), axis=0), 1e-5)
    # dtypes: float64, int64, float16 (staged), bool, a non-contiguous view
    for dt in (np.float64, np.int64, np.int32, np.float16):
        x = t(data(r).astype(dt))
        dist.all_reduce(x)
        check(f"all_reduce {dt}", x, np.sum([a.astype(dt) for a in allx], axis=0), 1e-2)
        assert x.numpy().dtype == dt
    b = t(np.array([r == 0, False, True]))
    dist.all_reduce(b)
    check("all_reduce bool", b, np.array([True, False, True]))
    base = t(data(r, (4, 6)))
    view = base[:, ::2]
    dist.all_reduce(view)
    check("all_reduce view", base[:, ::2], np.sum([data(i, (4, 6))[:, ::2] for i in range(n)], 0))
    check("all_reduce view untouched", base[:, 1::2], data(r, (4, 6))[:, 1::2])
    s = t(np.float32(r + 1.0))
    dist.all_reduce(s, dist.ReduceOp.MAX)
    check("all_reduce 0-d", s, np.float32(n))

    for src in range(n):
        x = t(data(r))
        dist.broadcast(x, src=src)
        check(f"broadcast from {src}", x, allx[src])
    w = dist.broadcast(x := t(data(r)), src=n - 1, async_op=True)
    w.wait()
    check("broadcast async", x, allx[n - 1])

    outs = [ember.zeros(3, 4) for _ in range(n)]
    dist.all_gather(outs, t(data(r)))
    for i in range(n):
        check(f"all_gather[{i}]", outs[i], allx[i])
    out = ember.zeros(n * 3, 4)
    dist.all_gather_into_tensor(out, t(data(r)), async_op=True).wait()
    check("all_gather_into_tensor", out, np.concatenate(allx))
    out = ember.zeros(n, 3, 4)
    dist.all_gather_into_tensor(out, t(data(r)))
    check("all_gather_into_tensor stacked", out, np.stack(allx))

    ins = [t(data(r) + 10 * i) for i in range(n)]
    o = ember.zeros(3, 4)
    dist.reduce_scatter(o, ins, op=dist.ReduceOp.SUM)
    check("reduce_scatter", o, np.sum([data(i) + 10 * r for i in range(n)], 0), 1e-5)
    big = t(np.concatenate([data(r) + 10 * i for i in range(n)]))
    o = ember.zeros(3, 4)
    dist.reduce_scatter_tensor(o, big, op=dist.ReduceOp.AVG, async_op=True).wait()
    check("reduce_scatter_tensor avg", o, np.mean([data(i) + 10 * r for i in range(n)], 0), 1e-5)

    for dst in range(n):
        x = t(data(r))
        dist.reduce(x, dst=dst, op=dist.ReduceOp.SUM)
        check(f"reduce to {dst}", x, np.sum(allx, 0) if r == dst else allx[r], 1e-5)

    gl = [ember.zeros(3, 4) for _ in range(n)] if r == 0 else None
    dist.gather(t(data(r)), gather_list=gl, dst=0)
    if r == 0:
        for i in range(n):
            check(f"gather[{i}]", gl[i], allx[i])
    x = ember.zeros(3, 4)
    sl = [t(data(i) * 2) for i in range(n)] if r == n - 1 else None
    dist.scatter(x, scatter_list=sl, src=n - 1)
    check("scatter", x, data(r) * 2)

    # point to point: a ring, blocking and non-blocking
    nxt, prv = (r + 1) % n, (r - 1) % n
    x = ember.zeros(3, 4)
    if r % 2 == 0:
        dist.send(t(data(r)), dst=nxt)
        got = dist.recv(x, src=prv)
    else:
        got = dist.recv(x)
        dist.send(t(data(r)), dst=nxt)
    assert got == prv, (got, prv)
    check("send/recv", x, allx[prv])
    y = ember.zeros(3, 4, dtype=ember.float64)
    rw = dist.irecv(y, src=prv, tag=7)
    sw = dist.isend(t(data(r).astype(np.float64)), dst=nxt, tag=7)
    sw.wait()
    rw.wait()
    check("isend/irecv", y, allx[prv])
    z = ember.zeros(3, 4)
    ops = [dist.P2POp(dist.isend, t(data(r) * 3), nxt), dist.P2POp(dist.irecv, z, prv)]
    for w in dist.batch_isend_irecv(ops):
        w.wait()
    check("batch_isend_irecv", z, allx[prv] * 3)

    objs = [None] * n
    dist.all_gather_object(objs, {"rank": r})
    assert objs == [{"rank": i} for i in range(n)], objs
    lst = [r, "x"]
    dist.broadcast_object_list(lst, src=0)
    assert lst == [0, "x"], lst

    # sub-groups: src/dst are global ranks, as in torch
    g = dist.new_group(list(range(n)))
    x = t(data(r))
    dist.all_reduce(x, group=g)
    check("all_reduce new_group", x, np.sum(allx, 0), 1e-5)
    solo = dist.new_group([n - 1])
    if r == n - 1:
        assert dist.get_world_size(solo) == 1 and dist.get_rank(solo) == 0
        x = t(data(r))
        dist.broadcast(x, src=n - 1, group=solo)
        check("broadcast solo group", x, allx[r])
        assert dist.get_global_rank(solo, 0) == n - 1
    else:
        assert solo is dist.GroupMember.NON_GROUP_MEMBER

    dist.barrier()
    dist.barrier(async_op=True).wait()
    oks = [None] * n
    dist.all_gather_object(oks, "ok")
    dist.destroy_process_group()
    assert not dist.is_initialized()
    if r == 0 and oks == ["ok"] * n:  # one line from one rank: launchers interleave output
        print(f"collectives OK on {n} ranks", flush=True)


if __name__ == "__main__":
    main()
