"""Run under `mpiexec -n 4`: DeviceMesh group layouts, object point-to-point, sub-groups, the
coalesced collectives, Join with uneven inputs and a TCPStore shared by every rank."""

from __future__ import annotations

import datetime
import warnings

import ember
import ember.distributed as dist
from ember.distributed.algorithms import Join, Joinable, JoinHook
from ember.distributed.device_mesh import init_device_mesh


def expect_value_error(fn, text: str) -> None:
    try:
        fn()
    except ValueError as e:
        assert text in str(e), str(e)
    else:
        raise AssertionError(f"no ValueError ({text})")


def check_mesh(r: int) -> None:
    mesh = init_device_mesh("cpu", (2, 2), mesh_dim_names=("dp", "tp"))
    assert dist.get_pg_count() == 5, dist.get_pg_count()  # world + 2 per dimension
    assert mesh.mesh.tolist() == [[0, 1], [2, 3]]
    assert mesh.shape == (2, 2) and mesh.ndim == 2 and mesh.size() == 4 and mesh.size("tp") == 2
    # torch's documented layout: dim 0 groups [0, 2], [1, 3]; dim 1 groups [0, 1], [2, 3]
    assert dist.get_process_group_ranks(mesh.get_group("dp")) == [r % 2, r % 2 + 2]
    assert dist.get_process_group_ranks(mesh.get_group(1)) == [r // 2 * 2, r // 2 * 2 + 1]
    assert mesh.get_coordinate() == (r // 2, r % 2)
    assert (mesh.get_local_rank("dp"), mesh.get_local_rank("tp")) == (r // 2, r % 2)
    assert mesh.get_rank() == r
    tp = mesh["tp"]
    assert tp.mesh.tolist() == [r // 2 * 2, r // 2 * 2 + 1] and tp.mesh_dim_names == ("tp",)
    assert tp.get_group() is mesh.get_group("tp") and tp.get_local_rank() == r % 2
    assert mesh["dp", "tp"] is mesh
    try:
        mesh["tp", "dp"]
    except KeyError as e:
        assert "ascending order" in str(e), e
    else:
        raise AssertionError("no KeyError for a transposed slice")
    assert dist.get_pg_count() == 5  # slicing reuses the parent's groups
    x = ember.tensor([float(r)])
    dist.all_reduce(x, group=mesh.get_group("dp"))
    assert x.item() == (r % 2) * 2 + 2, x
    # torch 2.13's text for these meshes
    assert repr(mesh) == "DeviceMesh((dp=2, tp=2), 'cpu', stride=(2, 1))", repr(mesh)
    assert repr(tp) == "DeviceMesh((tp=2), 'cpu', stride=(1,))", repr(tp)
    assert repr(init_device_mesh("cpu", (4,))) == "DeviceMesh((4,), 'cpu', stride=(1,))"
    assert dist.get_pg_count() == 5  # a 1-D mesh over the world reuses the default group


def check_objects(r: int) -> None:
    if r % 2 == 0:
        dist.send_object_list([{"from": r}, "x", [r] * 3], dst=r + 1)
        expect_value_error(
            lambda: dist.send_object_list([1], dst=r), "should not be the same as the rank"
        )
    else:
        got = [None, None, None]
        src = dist.recv_object_list(got, src=None if r == 1 else r - 1)
        assert src == r - 1 and got == [{"from": r - 1}, "x", [r - 1] * 3], (src, got)


def check_subgroups(r: int) -> None:
    cur, subs = dist.new_subgroups(group_size=2)
    assert len(subs) == 2 and dist.get_process_group_ranks(cur) == [r // 2 * 2, r // 2 * 2 + 1]
    cur, subs = dist.new_subgroups_by_enumeration([[0, 1, 3], [2]])
    assert dist.get_process_group_ranks(cur) == ([2] if r == 2 else [0, 1, 3])
    x = ember.tensor([1.0 + r])
    dist.all_reduce(x, group=cur)
    assert x.item() == (3.0 if r == 2 else 7.0), x
    expect_value_error(lambda: dist.new_subgroups(group_size=3), "must be divisible by")
    expect_value_error(lambda: dist.new_subgroups(group_size=0), "must be positive")
    expect_value_error(lambda: dist.new_subgroups(group_size=8), "must not exceed")
    expect_value_error(
        lambda: dist.new_subgroups_by_enumeration([[0, 1], [1, 2]]),
        "Rank 1 has appeared in both subgroup [0, 1] and [1, 2]",
    )
    expect_value_error(lambda: dist.new_subgroups_by_enumeration([]), "cannot be empty")


def check_coalesced(r: int, n: int) -> None:
    ts = [ember.ones(2) * r, ember.ones(3) * (r + 1)]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        dist.all_reduce_coalesced(ts)
    assert any(issubclass(w.category, FutureWarning) for w in caught)
    assert ts[0].tolist() == [6.0, 6.0] and ts[1].tolist() == [10.0] * 3
    outs = [[ember.zeros(1), ember.zeros(2)] for _ in range(n)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        w = dist.all_gather_coalesced(outs, [ember.tensor([r]), ember.full((2,), r)], async_op=True)
    w.wait()
    assert [o[0].item() for o in outs] == list(range(n))
    assert [o[1].tolist() for o in outs] == [[float(i)] * 2 for i in range(n)]


class _Counter(Joinable):
    """Sums a 1 over all ranks per step; joined ranks shadow it with 0."""

    def __init__(self) -> None:
        super().__init__()
        self.total = 0.0

    def join_hook(self, **kwargs) -> JoinHook:
        me = self

        class Hook(JoinHook):
            def main_hook(self) -> None:
                dist.all_reduce(ember.zeros(1))

            def post_hook(self, is_last_joiner: bool) -> None:
                me.last = is_last_joiner

        return Hook()

    @property
    def join_device(self):
        return ember.device("cpu")

    @property
    def join_process_group(self):
        return dist.group.WORLD

    def step(self) -> None:
        Join.notify_join_context(self)
        x = ember.ones(1)
        dist.all_reduce(x)
        self.total += x.item()


def check_join(r: int, n: int) -> None:
    c = _Counter()
    with Join([c]):
        for _ in range(r + 1):  # rank r has r + 1 inputs
            c.step()
    # step i (0-based) is run by the ranks with r >= i: n - i of them
    assert c.total == sum(n - i for i in range(r + 1)), c.total
    assert c.last == (r == n - 1)


def check_tcp_store(r: int, n: int) -> None:
    timeout = datetime.timedelta(seconds=20)
    if r == 0:
        store = dist.TCPStore("127.0.0.1", 0, n, True, timeout, wait_for_workers=False)
        port = [store.port]
    else:
        port = [None]
    dist.broadcast_object_list(port, src=0)
    if r != 0:
        store = dist.TCPStore("127.0.0.1", port[0], n, False, timeout)
    store.set(f"rank{r}", str(r * r))
    assert [store.get(f"rank{i}") for i in range(n)] == [str(i * i).encode() for i in range(n)]
    assert store.add("counter", r + 1) >= r + 1
    store.wait(["counter"])
    dist.barrier()
    assert int(store.get("counter")) == sum(range(1, n + 1))
    assert int(store.get("init/")) == n
    dist.barrier()  # the master keeps serving until everyone is done


def main() -> None:
    """Run every check; print the marker the test looks for."""
    dist.init_process_group("gloo")
    r, n = dist.get_rank(), dist.get_world_size()
    assert n == 4, "launch with mpiexec -n 4"
    assert dist.get_backend_config() == "cpu:mpi,cuda:mpi"
    check_mesh(r)
    check_objects(r)
    check_subgroups(r)
    check_coalesced(r, n)
    check_join(r, n)
    check_tcp_store(r, n)
    dist.destroy_process_group()
    assert dist.get_pg_count() == 0
    print(f"rank {r}: mesh and objects OK on {n} ranks", flush=True)


if __name__ == "__main__":
    main()
