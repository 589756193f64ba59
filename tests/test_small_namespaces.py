"""torch's small namespaces against ember's: torch.utils.model_zoo (load_url from a file:// URL),
torch.types (each alias made of the matching ember classes), torch.return_types (the classes the
ops return, torch's fields), and how all of them and torch.utils._pytree are reached: attributes
after ``import``, and ``ember run``'s ``import torch.X``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import types
import typing

import numpy as np
import pytest

import ember
import ember.hub
from ember.utils import model_zoo
from tests._support.torch_ref import assert_same, torch

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run_python(*args: str) -> subprocess.CompletedProcess:
    """``python ARGS`` in a fresh interpreter that finds this checkout's ember."""
    env = dict(os.environ)
    env["PYTHONPATH"] = ROOT + os.pathsep + env.get("PYTHONPATH", "")
    return subprocess.run(
        [sys.executable, *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=120,
    )


def last_json(proc: subprocess.CompletedProcess):
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


# --- torch.utils.model_zoo -------------------------------------------------------------------


def test_model_zoo_load_url_is_the_hub_function():
    assert model_zoo.load_url is ember.hub.load_state_dict_from_url
    assert ember.utils.model_zoo is model_zoo  # reached lazily, as an attribute of ember.utils


def test_model_zoo_load_url_reads_a_file_url_as_torch(tmp_path):
    src = tmp_path / "weights.pth"
    torch.save({"w": torch.arange(6.0).reshape(2, 3), "step": 7}, src)
    import torch.utils.model_zoo as t_model_zoo

    t_sd = t_model_zoo.load_url(src.as_uri(), model_dir=str(tmp_path / "t"), progress=False)
    e_sd = model_zoo.load_url(src.as_uri(), model_dir=str(tmp_path / "e"), progress=False)
    assert sorted(e_sd) == sorted(t_sd)
    assert_same(e_sd["w"], t_sd["w"])
    assert e_sd["step"] == t_sd["step"]
    assert (tmp_path / "e" / "weights.pth").read_bytes() == src.read_bytes()  # cached there


def test_model_zoo_names():
    import torch.utils.model_zoo as t_model_zoo

    assert model_zoo.__all__ == ["load_url"]
    assert "load_url" in dir(t_model_zoo)
    with pytest.raises(NotImplementedError, match="torch.utils.model_zoo.tqdm"):
        model_zoo.tqdm  # noqa: B018  torch's is an incidental import of torch.hub's


# --- torch.types -----------------------------------------------------------------------------

_CLASSES = ("Tensor", "Size", "device", "dtype", "layout", "SymInt", "SymFloat", "SymBool")
_TYPING_HELPERS = {"Any", "IO", "Self", "Sequence", "TypeAlias", "Union", "TYPE_CHECKING", "os"}
_EMBER_LACKS = {"DispatchKey", "_dispatchkey", "_qscheme"}  # ember has no dispatch keys/qschemes


def normal_form(obj, lib):
    """An alias written out with each library's class as its top-level name (``Tensor``,
    ``device``, ...), so torch's and ember's versions of one alias compare equal."""
    for name in _CLASSES:
        if obj is getattr(lib, name):
            return name
    if isinstance(obj, tuple):
        return ("tuple", tuple(normal_form(o, lib) for o in obj))
    if isinstance(obj, typing.ForwardRef):
        return ("ref", obj.__forward_arg__)
    origin, args = typing.get_origin(obj), typing.get_args(obj)
    if origin in (typing.Union, types.UnionType):
        return ("union", frozenset(normal_form(a, lib) for a in args))
    if origin is not None:
        return (repr(origin), tuple(normal_form(a, lib) for a in args))
    return repr(obj)


def _alias_names():
    return sorted(
        n
        for n in dir(torch.types)
        if not n.startswith("__") and n not in _TYPING_HELPERS and n not in _EMBER_LACKS
    )


@pytest.mark.parametrize("name", _alias_names())
def test_types_alias_matches_torchs(name):
    t_obj, e_obj = getattr(torch.types, name), getattr(ember.types, name)
    if name == "Storage":

        def members(cls):
            return {n for n in vars(cls) if not n.startswith("__")} | set(cls.__annotations__)

        assert members(e_obj) == members(t_obj)
        assert callable(e_obj.__deepcopy__)
        return
    assert normal_form(e_obj, ember) == normal_form(t_obj, torch)


def test_types_all_and_what_ember_lacks():
    assert ember.types.__all__ == torch.types.__all__
    for name in sorted(_EMBER_LACKS):
        assert hasattr(torch.types, name)
        with pytest.raises(NotImplementedError, match=f"torch.types.{name} yet"):
            getattr(ember.types, name)


def test_types_work_in_isinstance_checks():
    assert isinstance(3.5, ember.types._Number) and not isinstance("3", ember.types._Number)
    assert isinstance(ember.device("cpu"), ember.types.Device)
    assert isinstance(ember.Size([2]), ember.types._size)
    assert not isinstance(ember.tensor(1), ember.types.py_sym_types)


# --- torch.return_types ----------------------------------------------------------------------


def _data(m):
    """The inputs of the return-type cases, as tensors of library ``m``."""
    rng = np.random.default_rng(0)
    a = rng.standard_normal((4, 4))
    spd = a @ a.T + 4 * np.eye(4)
    return {
        "a": m.tensor(a),
        "spd": m.tensor(spd),
        "b": m.tensor(rng.standard_normal((4, 2))),
        "v": m.tensor(rng.standard_normal(10)),
        "pts": m.tensor(rng.standard_normal((10, 2))),
    }


CASES = {
    "max": lambda m, d: m.max(d["a"], 0),
    "min": lambda m, d: m.min(d["a"], 1),
    "median": lambda m, d: m.median(d["a"], 0),
    "nanmedian": lambda m, d: m.nanmedian(d["a"], 0),
    "mode": lambda m, d: m.mode(d["a"], 0),
    "sort": lambda m, d: m.sort(d["a"]),
    "topk": lambda m, d: m.topk(d["a"], 2),
    "kthvalue": lambda m, d: m.kthvalue(d["a"], 2),
    "cummax": lambda m, d: m.cummax(d["a"], 0),
    "cummin": lambda m, d: m.cummin(d["a"], 0),
    "aminmax": lambda m, d: m.aminmax(d["a"]),
    "frexp": lambda m, d: m.frexp(d["a"]),
    "histogram": lambda m, d: m.histogram(d["v"], bins=3),
    "histogramdd": lambda m, d: m.histogramdd(d["pts"], bins=[2, 3]),
    "linalg_solve_ex": lambda m, d: m.linalg.solve_ex(d["a"], d["b"]),
    "linalg_inv_ex": lambda m, d: m.linalg.inv_ex(d["spd"]),
    "linalg_slogdet": lambda m, d: m.linalg.slogdet(d["a"]),
    "slogdet": lambda m, d: m.slogdet(d["a"]),
    "linalg_cholesky_ex": lambda m, d: m.linalg.cholesky_ex(d["spd"]),
    "triangular_solve": lambda m, d: m.triangular_solve(d["b"], d["spd"].triu()),
    "linalg_qr": lambda m, d: m.linalg.qr(d["a"]),
    "qr": lambda m, d: m.qr(d["a"]),
    "geqrf": lambda m, d: m.geqrf(d["a"]),
    "linalg_eigh": lambda m, d: m.linalg.eigh(d["spd"]),
    "linalg_eig": lambda m, d: m.linalg.eig(d["a"]),
    "linalg_svd": lambda m, d: m.linalg.svd(d["a"]),
    "svd": lambda m, d: m.svd(d["a"]),
    "linalg_lstsq": lambda m, d: m.linalg.lstsq(d["a"], d["b"]),
    "linalg_lu": lambda m, d: m.linalg.lu(d["a"]),
    "linalg_lu_factor_ex": lambda m, d: m.linalg.lu_factor_ex(d["a"]),
    "linalg_lu_factor": lambda m, d: m.linalg.lu_factor(d["a"]),
    "lu_unpack": lambda m, d: m.lu_unpack(*m.linalg.lu_factor(d["a"])),
    "linalg_ldl_factor_ex": lambda m, d: m.linalg.ldl_factor_ex(d["spd"]),
    "linalg_ldl_factor": lambda m, d: m.linalg.ldl_factor(d["spd"]),
}


def test_return_types_cover_torchs_except_out_classes():
    torch_names = {n for n in torch.return_types.__all__}
    ember_names = set(ember.return_types.__all__)
    assert ember_names <= torch_names
    assert {n for n in torch_names - ember_names if not n.endswith("_out")} == set()
    assert set(CASES) == ember_names - {"pytree_register_structseq", "all_return_types"}
    assert set(ember.return_types.all_return_types) == {
        getattr(ember.return_types, n) for n in CASES
    }
    with pytest.raises(NotImplementedError, match="torch.return_types.max_out yet"):
        ember.return_types.max_out  # noqa: B018


@pytest.mark.filterwarnings("ignore:torch.*is deprecated:UserWarning")  # torch.qr, ...
@pytest.mark.parametrize("name", list(CASES))
def test_ops_return_the_namespace_class(name):
    cls, t_cls = getattr(ember.return_types, name), getattr(torch.return_types, name)
    assert (cls.__name__, cls.__module__) == (t_cls.__name__, t_cls.__module__)
    assert cls.__match_args__ == t_cls.__match_args__
    e_out, t_out = CASES[name](ember, _data(ember)), CASES[name](torch, _data(torch))
    assert type(t_out) is t_cls
    assert type(e_out) is cls and isinstance(e_out, cls)
    assert len(e_out) == len(t_out)
    assert repr(e_out).split("\n")[0] == repr(t_out).split("\n")[0]
    rebuilt = cls(*e_out)
    assert type(rebuilt) is cls and all(a is b for a, b in zip(rebuilt, e_out))


def test_return_type_values_and_fields():
    d_e, d_t = _data(ember), _data(torch)
    e_out, t_out = ember.sort(d_e["a"], 1), torch.sort(d_t["a"], 1)
    assert_same(e_out.values, t_out.values)
    assert_same(e_out.indices, t_out.indices)
    values, indices = ember.max(d_e["a"], 0)  # unpacks as a tuple
    assert_same(indices, torch.max(d_t["a"], 0).indices)


# --- how the namespaces are reached ----------------------------------------------------------

_ATTRS = (
    "import {lib}, json; "
    "print(json.dumps(['return_types' in vars({lib}), 'types' in vars({lib}), "
    "'_pytree' in vars({lib}.utils), 'model_zoo' in vars({lib}.utils)]))"
)


def test_attributes_after_import_as_torch():
    """In a fresh interpreter, the same submodules are attributes right after ``import``."""
    t_attrs = last_json(run_python("-c", _ATTRS.format(lib="torch")))
    e_attrs = last_json(run_python("-c", _ATTRS.format(lib="ember")))
    assert e_attrs == t_attrs


_SCRIPT = """\
import json
import torch
import torch.utils._pytree as pytree
import torch.utils.model_zoo
from torch.types import Number
from torch.return_types import max as max_type

out = torch.max(torch.ones(2, 3), 0)
print(json.dumps({
    "pytree": pytree.__name__,
    "model_zoo": torch.utils.model_zoo.__name__,
    "types": torch.types.__name__,
    "return_types": torch.return_types.__name__,
    "isinstance": isinstance(out, torch.return_types.max) and max_type is torch.return_types.max,
    "spec": repr(pytree.tree_structure(out)),
    "number": repr(Number),
}))
"""


def test_ember_run_maps_the_torch_names(tmp_path):
    script = tmp_path / "uses_small_namespaces.py"
    script.write_text(_SCRIPT)
    got = last_json(run_python("-m", "ember", "run", str(script)))
    assert got["pytree"] == "ember.utils._pytree"
    assert got["model_zoo"] == "ember.utils.model_zoo"
    assert got["types"] == "ember.types"
    assert got["return_types"] == "ember.return_types"
    assert got["isinstance"] is True
    out = torch.max(torch.ones(2, 3), 0)
    import torch.utils._pytree as tp

    assert got["spec"] == repr(tp.tree_structure(out))
    assert got["number"] == repr(torch.types.Number)


def test_star_import_gives_torch_names_not_submodules():
    """`from ember import *` as `from torch import *`: the functions, classes and dtypes that
    torch's ``__all__`` lists and ember has, and no submodule shadowing the importing module's
    own ``random`` or ``types``."""
    import random

    got: dict = {"random": random, "types": types}
    exec("from ember import *", got)
    assert got["random"] is random and got["types"] is types
    assert not any(
        isinstance(v, types.ModuleType) for k, v in got.items() if k not in ("random", "types")
    )
    assert "annotations" not in got
    wanted = {
        n
        for n in torch.__all__
        if hasattr(ember, n) and not isinstance(getattr(torch, n), types.ModuleType)
    }
    assert wanted <= set(got)
    assert {"tensor", "float32", "Tensor", "no_grad", "manual_seed"} <= set(got)
