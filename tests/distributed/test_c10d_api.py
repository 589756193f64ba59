"""torch.distributed's stores, DeviceMesh, rendezvous, options, errors and helpers in ember,
compared with torch where one process can compare, and run as a 4-rank MPI job otherwise."""

from __future__ import annotations

import datetime
import json
import os
import socket
import subprocess
import sys
import types
import warnings

import pytest

import ember.distributed as dist
from tests.distributed.test_distributed import ROOT, SCRIPTS, mpirun, needs_mpi

torch_dist = pytest.importorskip("torch.distributed")

MS100 = datetime.timedelta(milliseconds=100)


def outcome(fn):
    """fn()'s value, or (error type name, message)."""
    try:
        return fn()
    except Exception as e:
        return (type(e).__name__, str(e))


def store_script(s, bad_add: bool = True) -> list:
    """A run of store operations; the results, errors included, for comparison."""
    out = [
        s.set("a", "x"),
        s.get("a"),
        s.add("c", 3),
        s.add("c", -1),
        s.get("c"),
        s.compare_set("a", "x", "y"),
        s.compare_set("a", "zz", "w"),
        s.compare_set("new", "", "v"),
        s.compare_set("absent", "q", "v"),
        s.check(["a", "c"]),
        s.check(["a", "absent"]),
        s.delete_key("a"),
        s.delete_key("a"),
        s.set("b", b"\x00\xffbytes"),
        s.get("b"),
        s.append("ap", "1"),
        s.append("ap", b"2"),
        s.get("ap"),
        s.multi_set(["m1", "m2"], ["1", b"2"]),
        s.multi_get(["m1", "m2", "c"]),
        outcome(lambda: s.queue_push("q", "first")),
        outcome(lambda: s.queue_push("q", b"second")),
        outcome(lambda: s.queue_len("q")),
        outcome(lambda: s.queue_pop("q")),
        outcome(lambda: s.queue_pop("q")),
        outcome(lambda: s.queue_pop("q", block=False)),
        outcome(lambda: s.add("b", 1))[0] if bad_add else None,
        s.has_extended_api(),
    ]
    s.set_timeout(MS100)
    out += [s.timeout, outcome(lambda: s.get("nope")), outcome(lambda: s.wait(["nope"]))]
    out.append(outcome(lambda: s.wait(["nope"], datetime.timedelta(milliseconds=50))))
    return out


def test_error_classes_have_torchs_hierarchy():
    for name in ("DistError", "DistBackendError", "DistNetworkError", "DistStoreError"):
        ours = [c.__name__ for c in getattr(dist, name).__mro__]
        assert ours == [c.__name__ for c in getattr(torch_dist, name).__mro__]
    assert [c.__name__ for c in dist.QueueEmptyError.__mro__] == [
        c.__name__ for c in torch_dist.QueueEmptyError.__mro__
    ]
    assert issubclass(dist.QueueEmptyError, RuntimeError)


def test_hash_store_matches_torch():
    got = store_script(dist.HashStore())
    want = store_script(torch_dist.HashStore())
    assert got == want
    assert got[-3][0] == "DistStoreError" and got[25] == ("QueueEmptyError", "queue is empty")
    ours, theirs = dist.HashStore(), torch_dist.HashStore()
    for s in (ours, theirs):
        s.set("k", "v")
        s.add("n", 1)
    assert ours.num_keys() == theirs.num_keys() == 2
    assert sorted(ours.list_keys()) == sorted(theirs.list_keys())
    with pytest.raises(TypeError):
        ours.set("k", 5)


def test_file_store_matches_torch(tmp_path):
    got = store_script(dist.FileStore(str(tmp_path / "ember"), 1))
    want = store_script(torch_dist.FileStore(str(tmp_path / "torch"), 1))
    assert got == want
    assert got[-3] == ("RuntimeError", "Timeout waiting for key: nope after 100 ms")


def test_file_store_is_shared_between_handles(tmp_path):
    path = str(tmp_path / "store")
    a, b = dist.FileStore(path, 2), dist.FileStore(path, 2)
    a.set("k", "v")
    assert b.get("k") == b"v" and b.add("n", 2) == 2 and a.add("n", 3) == 5
    assert a.path == path and a.clone().get("n") == b"5"
    code = f"import ember.distributed as d; s = d.FileStore({path!r}); s.set('child', 'hi')"
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60, cwd=ROOT)
    assert a.get("child") == b"hi"


def test_prefix_store_matches_torch():
    results = []
    for mod in (dist, torch_dist):
        base = mod.HashStore()
        p = mod.PrefixStore("pre", base)
        p.set("k", "v")
        p.add("n", 4)
        results.append(
            (
                base.get("pre/k"),
                p.get("k"),
                p.check(["n"]),
                p.num_keys(),
                p.underlying_store is base,
                p.timeout,
                store_script(mod.PrefixStore("other", mod.HashStore())),
            )
        )
    assert results[0] == results[1]


def test_tcp_store_single_process_matches_torch():
    kw = {"timeout": datetime.timedelta(seconds=10)}
    ours = dist.TCPStore("127.0.0.1", 0, 1, True, **kw)
    theirs = torch_dist.TCPStore("127.0.0.1", 0, 1, True, **kw)
    assert ours.port > 0 and ours.host == "127.0.0.1" and ours.libuvBackend is True
    assert ours.num_keys() == theirs.num_keys() == 1  # the "init/" key of the join count
    # torch's server drops the connection on add() to a non-number: ember raises ValueError
    got, want = store_script(ours, bad_add=False), store_script(theirs, bad_add=False)
    assert got == want
    with pytest.raises(ValueError, match="not an integer"):
        ours.add("b", 1)
    assert got[-3] == ("DistStoreError", "wait timeout after 100ms, keys: /nope")
    other = ours.clone()
    other.set("from_clone", "1")
    assert ours.get("from_clone") == b"1"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_tcp_store_client_without_server_raises_network_error():
    port = _free_port()
    t = datetime.timedelta(milliseconds=300)
    with pytest.raises(dist.DistNetworkError) as e:
        dist.TCPStore("127.0.0.1", port, None, False, t)
    # torch's text, seen from its own client
    msg = "The client socket has timed out after 300ms while trying to connect to"
    assert str(e.value) == f"{msg} (127.0.0.1, {port})."
    assert isinstance(e.value, dist.DistError)


def test_tcp_store_master_times_out_waiting_for_workers():
    with pytest.raises(dist.DistStoreError, match="1/2 clients joined"):
        dist.TCPStore("127.0.0.1", 0, 2, True, datetime.timedelta(milliseconds=200))


_MASTER = """
import datetime, sys
import ember.distributed as d
s = d.TCPStore("127.0.0.1", int(sys.argv[1]), 2, True, datetime.timedelta(seconds=30))
s.set("from_master", "m")
print(s.get("from_client").decode(), s.add("count", 1) >= 1, flush=True)
s.wait(["done"])
"""

_CLIENT = """
import datetime, sys
import ember.distributed as d
s = d.TCPStore("127.0.0.1", int(sys.argv[1]), 2, False, datetime.timedelta(seconds=30))
s.set("from_client", "c")
print(s.get("from_master").decode(), s.add("count", 1) >= 1, s.get("init/").decode(), flush=True)
s.wait(["count"])
s.set("done", "1")
"""


def test_tcp_store_between_two_processes():
    port = _free_port()
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", code, str(port)],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=env,
        )
        for code in (_MASTER, _CLIENT)
    ]
    try:
        outs = [p.communicate(timeout=60)[0] for p in procs]
    finally:
        for p in procs:
            p.kill()
    assert [p.returncode for p in procs] == [0, 0], outs
    assert outs[0].split() == ["c", "True"], outs
    assert outs[1].split() == ["m", "True", "2"], outs


def test_options_match_torch():
    for name in (
        "AllToAllOptions",
        "AllreduceCoalescedOptions",
        "AllreduceOptions",
        "BarrierOptions",
        "BroadcastOptions",
        "GatherOptions",
        "ReduceOptions",
        "ReduceScatterOptions",
        "ScatterOptions",
    ):
        ours, theirs = getattr(dist, name)(), getattr(torch_dist, name)()
        fields = sorted(a for a in dir(theirs) if not a.startswith("_"))
        assert sorted(vars(ours)) == fields, name
        for f in fields:
            if f == "reduceOp":
                assert ours.reduceOp is dist.ReduceOp.SUM
            else:
                assert getattr(ours, f) == getattr(theirs, f), (name, f)
        ours.rootRank = 3  # plain attribute holders, writable as torch's
        assert ours.rootRank == 3


@pytest.mark.parametrize("name", ["gloo", "nccl", "mpi", "cpu:gloo,cuda:nccl"])
def test_backend_config_matches_torch(name):
    ours = dist.BackendConfig(dist.Backend(name))
    theirs = torch_dist.BackendConfig(torch_dist.Backend(name))
    assert str(ours) == str(theirs)
    assert ours.get_device_backend_map() == theirs.get_device_backend_map()


def test_helpers_match_torch(monkeypatch):
    assert list(dist.DebugLevel.__members__) == list(torch_dist.DebugLevel.__members__)
    assert [int(v) for v in dist.DebugLevel] == [0, 1, 2]
    assert dist.get_debug_level() == dist.DebugLevel.OFF
    dist.set_debug_level(dist.DebugLevel.DETAIL)
    assert dist.get_debug_level() == dist.DebugLevel.DETAIL
    monkeypatch.setenv("TORCH_DISTRIBUTED_DEBUG", "info")
    dist.set_debug_level_from_env()
    assert dist.get_debug_level() == dist.DebugLevel.INFO
    monkeypatch.delenv("TORCH_DISTRIBUTED_DEBUG")
    dist.set_debug_level_from_env()
    assert dist.get_debug_level() == dist.DebugLevel.OFF
    for op in ("SUM", "AVG", "PRODUCT", "MIN", "MAX", "BAND", "BOR", "BXOR"):
        want = torch_dist.supports_complex(getattr(torch_dist.ReduceOp, op))
        assert dist.supports_complex(getattr(dist.ReduceOp, op)) == want, op
    for dev in ("cpu", "cuda", "cuda:1"):
        want = torch_dist.get_default_backend_for_device(dev)
        assert dist.get_default_backend_for_device(dev) == want
    f = dist.get_default_backend_for_device
    assert outcome(lambda: f("meta")) == outcome(
        lambda: torch_dist.get_default_backend_for_device("meta")
    )
    assert dist.default_pg_timeout == torch_dist.default_pg_timeout
    assert dist.constants.default_pg_timeout == datetime.timedelta(minutes=30)
    assert dist.GroupName("g") == "g" and dist.RankType is int
    with pytest.warns(FutureWarning, match="reduce_op` is deprecated"):
        assert dist.reduce_op.SUM is dist.ReduceOp.SUM
    assert dist.is_backend_available("foo") is torch_dist.is_backend_available("foo") is False
    assert dist.is_backend_available("gloo") == dist.is_available()
    assert dist.is_ucc_available() is False and dist.is_xccl_available() is False
    assert dist.all_gather_single is dist.all_gather_into_tensor


def test_calls_before_init_raise_like_torch():
    assert dist.get_pg_count() == torch_dist.get_pg_count() == 0
    for fn in (
        lambda d: d.get_backend_config(),
        lambda d: d.send_object_list([1], dst=1),
        lambda d: d.recv_object_list([None], src=0),
        lambda d: d.new_subgroups(group_size=1),
        lambda d: d.new_subgroups_by_enumeration([]),
        lambda d: d.all_reduce_coalesced([]),
        lambda d: d.distributed_c10d._get_default_group(),
    ):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)
            assert outcome(lambda fn=fn: fn(dist)) == outcome(lambda fn=fn: fn(torch_dist))


def test_distributed_c10d_and_submodules_import():
    from ember.distributed.distributed_c10d import ProcessGroup, _rank_not_in_group, new_group

    assert new_group is dist.new_group and ProcessGroup is dist.ProcessGroup
    assert _rank_not_in_group(dist.GroupMember.NON_GROUP_MEMBER) and not _rank_not_in_group(None)
    from ember.distributed.algorithms.join import Join, Joinable  # noqa: F401
    from ember.distributed.device_mesh import DeviceMesh, init_device_mesh

    assert DeviceMesh is dist.DeviceMesh and init_device_mesh is dist.init_device_mesh
    assert callable(dist.rendezvous) and callable(dist.breakpoint)
    with pytest.raises(ValueError, match="at least one joinable"):
        Join([])


def test_public_names_cover_torchs():
    skipped = {"rpc", "Reducer", "ProcessGroupGloo", "GradBucket", "autograd", "record_comm"}
    skipped |= {"shrink_group", "split_group", "BuiltinCommHookType", "Logger", "config"}
    skipped |= {"remote_device"}
    imports = {"sys", "torch", "traceback", "typing", "timedelta", "logging", "log"}
    imports |= {"c10d_logger", "logging_handlers", "constants", "utils"}
    # submodules appear in torch's namespace only once something imported them (fsdp, nn and
    # tensor do when other tests ran first): the names of a fresh import count
    fresh = {"algorithms", "device_mesh", "distributed_c10d", "rendezvous"}
    torch_names = {
        n
        for n in dir(torch_dist)
        if not n.startswith("_")
        and (n in fresh or not isinstance(getattr(torch_dist, n), types.ModuleType))
    }
    assert torch_names - set(dir(dist)) - skipped - imports == set()


# -- rendezvous -------------------------------------------------------------------------------


def test_rendezvous_file_and_tcp(tmp_path):
    path = tmp_path / "rdzv"
    store, rank, size = next(dist.rendezvous(f"file://{path}", rank=0, world_size=1))
    assert isinstance(store, dist.FileStore) and (rank, size) == (0, 1)
    store.set("k", "v")
    assert dist.FileStore(str(path)).get("k") == b"v"
    port = _free_port()
    it = dist.rendezvous(f"tcp://127.0.0.1:{port}?rank=0&world_size=1")
    store, rank, size = next(it)
    assert isinstance(store, dist.TCPStore) and store.port == port and (rank, size) == (0, 1)
    with pytest.raises(RuntimeError, match="Unable to perform re-rendezvous using tcp://"):
        next(it)


def test_rendezvous_env(monkeypatch):
    port = _free_port()
    for k, v in (("MASTER_ADDR", "127.0.0.1"), ("MASTER_PORT", str(port)), ("RANK", "0")):
        monkeypatch.setenv(k, v)
    monkeypatch.setenv("WORLD_SIZE", "1")
    store, rank, size = next(dist.rendezvous("env://"))
    assert isinstance(store, dist.TCPStore) and (rank, size, store.port) == (0, 1, port)


@pytest.mark.parametrize(
    "call",
    [
        lambda d: next(d.rendezvous("tcp://127.0.0.1?rank=0&world_size=1")),
        lambda d: next(d.rendezvous("tcp://127.0.0.1:1234?world_size=1")),
        lambda d: next(d.rendezvous("tcp://127.0.0.1:1234?rank=0")),
        lambda d: next(d.rendezvous("file:///tmp/x?rank=0")),
        lambda d: next(d.rendezvous("file://?rank=0&world_size=1")),
        lambda d: next(d.rendezvous("nope://x")),
        lambda d: d.rendezvous(5),
        lambda d: d.rendezvous("tcp://h:1?rank=0", rank=1),
        lambda d: d.register_rendezvous_handler("tcp", lambda url: iter(())),
    ],
    ids=["no-port", "no-rank", "no-size", "file-no-size", "no-path", "scheme", "url", "dup", "reg"],
)
def test_rendezvous_errors_match_torch(call, monkeypatch):
    for var in ("RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT"):
        monkeypatch.delenv(var, raising=False)
    got, want = outcome(lambda: call(dist)), outcome(lambda: call(torch_dist))
    assert isinstance(want, tuple) and got == want


def test_rendezvous_env_errors_match_torch(monkeypatch):
    for var in ("MASTER_ADDR", "MASTER_PORT"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("RANK", "0")
    monkeypatch.setenv("WORLD_SIZE", "1")
    got = outcome(lambda: next(dist.rendezvous("env://")))
    assert got == outcome(lambda: next(torch_dist.rendezvous("env://")))
    assert "MASTER_ADDR expected, but not set" in got[1]


# -- process groups: one process against torch, and four MPI ranks ---------------------------


@needs_mpi
def test_device_mesh_single_process_matches_torch():
    env = {k: v for k, v in os.environ.items() if k not in ("WORLD_SIZE", "RANK")}
    env["PYTHONPATH"] = str(ROOT)
    script = str(SCRIPTS / "mesh_single.py")
    ours = subprocess.run(
        [sys.executable, script, "ember"], capture_output=True, text=True, timeout=60, env=env
    )
    assert ours.returncode == 0, ours.stdout + ours.stderr
    tenv = dict(env, MASTER_ADDR="127.0.0.1", MASTER_PORT=str(_free_port()), RANK="0")
    tenv["WORLD_SIZE"] = "1"
    theirs = subprocess.run(
        [sys.executable, script, "torch"], capture_output=True, text=True, timeout=120, env=tenv
    )
    assert theirs.returncode == 0, theirs.stderr
    got, want = json.loads(ours.stdout), json.loads(theirs.stdout.strip().splitlines()[-1])
    assert got == want
    assert got["repr"] == "DeviceMesh((dp=1, tp=1), 'cpu', stride=((), ()))"


@needs_mpi
def test_mesh_groups_objects_subgroups_join_and_store_on_4_ranks():
    rc, out = mpirun("mesh_and_objects.py", n=4, timeout=120)
    assert rc == 0, out
    assert out.count("mesh and objects OK on 4 ranks") == 4, out
