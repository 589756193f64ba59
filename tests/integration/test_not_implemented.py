"""A torch API ember lacks, reached anywhere (the top level, a namespace such as torch.cuda.amp, a
tensor's attribute), raises "ember does not implement torch.X yet", an AttributeError subclass,
so hasattr stays False as it would for a missing name."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

import ember
from ember._torch_alias import EmberNotImplementedError
from tests._support.torch_ref import torch

NAMESPACES = [
    "",
    "cuda",
    "nn",
    "nn.functional",
    "nn.init",
    "nn.utils",
    "nn.modules",
    "nn.parallel",
    "optim",
    "optim.lr_scheduler",
    "utils",
    "utils.data",
    "distributed",
    "autograd",
    "profiler",
    "backends",
    "jit",
    "random",
    "serialization",
]


def _module(path: str):
    mod = ember
    for part in filter(None, path.split(".")):
        mod = getattr(mod, part)
    return mod


@pytest.mark.parametrize("path", NAMESPACES)
def test_namespace_miss_names_the_torch_api(path):
    mod = _module(path)
    torch_name = "torch" + (f".{path}" if path else "") + ".no_such_api"
    with pytest.raises(EmberNotImplementedError) as exc:
        mod.no_such_api  # noqa: B018
    assert str(exc.value) == f"ember does not implement {torch_name} yet"
    assert isinstance(exc.value, AttributeError) and isinstance(exc.value, NotImplementedError)
    assert not hasattr(mod, "no_such_api")
    assert getattr(mod, "no_such_api", 42) == 42
    with pytest.raises(AttributeError):  # dunder probes fail plainly (pickle, inspect, copy)
        mod.__no_such_dunder__  # noqa: B018


def test_tensor_attribute_miss():
    """A torch Tensor API ember lacks raises ember's error; a name torch's Tensor lacks too
    gives torch's plain AttributeError (as torch does)."""
    from ember._torch_tensor_names import TORCH_TENSOR_NAMES

    t = ember.ones(2)
    m = ember.ones(2, 2)  # mT and mH need a matrix

    def present(name: str) -> bool:
        try:
            getattr(m, name)
        except AttributeError:
            return False
        except RuntimeError:  # e.g. .imag of a real tensor raises, as in torch
            return True
        return True

    lacking = sorted(n for n in TORCH_TENSOR_NAMES if not present(n))
    assert lacking, "every torch.Tensor name is implemented: pick another check"
    name = lacking[0]
    with pytest.raises(EmberNotImplementedError, match=r"^ember does not implement "):
        getattr(t, name)()
    with pytest.raises(AttributeError, match=rf"ember does not implement torch.Tensor.{name}"):
        getattr(t, name)
    assert not hasattr(ember.nn.Parameter(ember.ones(1)), name)
    # names torch's Tensor lacks too, private and dunder names: a plain AttributeError
    for missing in ("no_such_attr", "_no_such_private"):
        with pytest.raises(AttributeError) as exc:
            getattr(t, missing)
        assert not isinstance(exc.value, NotImplementedError)
        assert f"'Tensor' object has no attribute '{missing}'" in str(exc.value)
        with pytest.raises(AttributeError) as texc:
            getattr(torch.ones(2), missing)
        assert str(texc.value) == str(exc.value)
    assert not hasattr(t, "no_such_attr")
    # existing attributes are untouched, and every torch name ember has is a real attribute
    assert t.shape == (2,) and t.sum().item() == 2.0
    assert all(present(n) for n in TORCH_TENSOR_NAMES if n not in lacking)


def test_cuda_amp_miss_under_ember_run(tmp_path):
    """`torch.cuda.<missing>` in a program run unchanged: the error names the torch API."""
    prog = tmp_path / "prog.py"
    prog.write_text(
        textwrap.dedent(
            """
            import torch
            assert not hasattr(torch.cuda, "no_such_api")
            assert not hasattr(torch.ones(1), "no_such_method")
            torch.nn.functional.no_such_function(torch.ones(1))
            """
        )
    )
    env = dict(os.environ)
    root = os.path.dirname(os.path.dirname(ember.__file__))
    env["PYTHONPATH"] = root + os.pathsep + env.get("PYTHONPATH", "")
    proc = subprocess.run(
        [sys.executable, "-m", "ember", "run", str(prog)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert proc.returncode == 1
    last = proc.stderr.strip().splitlines()[-1]
    assert last == (
        "NotImplementedError: ember does not implement torch.nn.functional.no_such_function yet"
    )
