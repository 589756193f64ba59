"""One process, run with `python mesh_single.py torch|ember`: DeviceMesh and process-group facts
printed as one JSON line, so the test can compare ember's with torch's."""

from __future__ import annotations

import importlib
import json
import sys
import warnings


def outcome(fn):
    """fn()'s value, or [error type name, message] (torch gives some errors several args)."""
    try:
        return fn()
    except Exception as e:
        return [type(e).__name__, str(e)]


def main() -> None:
    """Print the facts."""
    torch = importlib.import_module(sys.argv[1])
    dist = importlib.import_module(f"{sys.argv[1]}.distributed")
    mesh_mod = importlib.import_module(f"{sys.argv[1]}.distributed.device_mesh")
    warnings.simplefilter("ignore")
    facts = {}
    m = mesh_mod.init_device_mesh("cpu", (1, 1), mesh_dim_names=("dp", "tp"))
    facts["initialized"] = dist.is_initialized()
    facts["pg_count"] = dist.get_pg_count()
    facts["repr"] = repr(m)
    facts["mesh"] = m.mesh.tolist()
    facts["mesh_dtype"] = str(m.mesh.dtype).split(".")[-1]
    facts["shape"] = list(m.shape)
    facts["ndim"] = m.ndim
    facts["names"] = list(m.mesh_dim_names)
    facts["sizes"] = [m.size(), m.size(0), m.size(1)]
    facts["ranks"] = [m.get_rank(), m.get_local_rank("tp"), m.get_local_rank(0)]
    facts["coordinate"] = list(m.get_coordinate())
    facts["coordinate_type"] = type(m.get_coordinate()).__name__
    facts["slice_repr"] = repr(m["dp"])
    facts["slice_group_is_world"] = m["dp"].get_group() is dist.group.WORLD
    facts["group_world"] = [m.get_group(d) is dist.group.WORLD for d in ("dp", "tp")]
    facts["all_groups"] = len(m.get_all_groups())
    facts["get_group_err"] = outcome(lambda: m.get_group())
    facts["local_rank_err"] = outcome(lambda: m.get_local_rank())
    facts["slice_err"] = outcome(lambda: m["xx"])
    facts["big_err"] = outcome(lambda: mesh_mod.init_device_mesh("cpu", (2,)))
    facts["names_len_err"] = outcome(
        lambda: mesh_mod.init_device_mesh("cpu", (1,), mesh_dim_names=("a", "b"))
    )
    facts["names_dup_err"] = outcome(
        lambda: mesh_mod.init_device_mesh("cpu", (1, 1), mesh_dim_names=("a", "a"))
    )
    facts["index_err"] = outcome(lambda: mesh_mod.init_device_mesh("cuda:0", (1,)))
    m1 = mesh_mod.init_device_mesh("cpu", (1,))
    facts["m1"] = [repr(m1), m1.get_local_rank(), m1.mesh_dim_names, list(m1.get_coordinate())]
    facts["eq"] = m == mesh_mod.init_device_mesh("cpu", (1, 1), mesh_dim_names=("dp", "tp"))
    facts["from_list"] = repr(mesh_mod.DeviceMesh("cpu", [[0]]))
    facts["pg_count_after"] = dist.get_pg_count()
    dist.breakpoint(rank=1)  # another rank's breakpoint: this one only passes the barrier
    facts["send_self"] = outcome(lambda: dist.send_object_list([1], dst=0))
    x = torch.ones(2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        dist.all_reduce_coalesced([x])
    facts["coalesced"] = x.tolist()
    dist.destroy_process_group()
    facts["pg_count_destroyed"] = dist.get_pg_count()
    print(json.dumps(facts))


if __name__ == "__main__":
    main()
