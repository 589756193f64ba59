"""torch.jit as a pass-through: decorated and scripted code runs eagerly with torch's results."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from typing import Final

import numpy as np
import pytest

import ember
from tests._support.torch_ref import torch

# ember mirrors torch 2.13, which warns that script/trace are deprecated
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def _script_model(lib):
    """A module written for TorchScript, built on ``lib`` (torch or ember)."""

    class Block(lib.nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = lib.nn.Linear(4, 3)
            self.scale = 2.0

        @lib.jit.ignore
        def debug(self, x):
            return x.shape

        @lib.jit.unused
        def unused_path(self, x):
            raise RuntimeError("never called")

        @lib.jit.export
        def double(self, x):
            return self.forward(x) * 2

        def forward(self, x):
            h = lib.jit.annotate(list[int], [])
            h.append(x.shape[0])
            return self.fc(x).relu() * self.scale

    return Block


def test_script_runs_eagerly_like_torch():
    tm = _script_model(torch)()
    em = _script_model(ember)()
    em.load_state_dict({k: ember.tensor(v.detach().numpy()) for k, v in tm.state_dict().items()})
    x = np.random.default_rng(0).standard_normal((5, 4)).astype(np.float32)
    scripted_t = torch.jit.script(tm)
    scripted_e = ember.jit.script(em)
    assert scripted_e is em  # the module itself, not a compiled copy
    want = scripted_t(torch.tensor(x)).detach().numpy()
    got = scripted_e(ember.tensor(x))
    np.testing.assert_allclose(got.detach().numpy(), want, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(
        scripted_e.double(ember.tensor(x)).detach().numpy(),
        scripted_t.double(torch.tensor(x)).detach().numpy(),
        rtol=1e-6,
        atol=1e-6,
    )
    # gradients flow through the scripted module as through the eager one
    xe = ember.tensor(x, requires_grad=True)
    xt = torch.tensor(x, requires_grad=True)
    scripted_e(xe).sum().backward()
    scripted_t(xt).sum().backward()
    np.testing.assert_allclose(xe.grad.numpy(), xt.grad.numpy(), rtol=1e-5, atol=1e-6)


def test_script_and_trace_functions():
    def f(x, y):
        return x * y + 1

    assert ember.jit.script(f) is f
    assert ember.jit.trace(f, (ember.ones(2), ember.ones(2))) is f
    assert ember.jit.trace(f, example_inputs=(ember.ones(2), ember.ones(2))) is f
    lin = ember.nn.Linear(2, 2)
    assert ember.jit.trace(lin, ember.ones(1, 2)) is lin
    assert ember.jit.trace_module(lin, {"forward": ember.ones(1, 2)}) is lin
    assert ember.jit.freeze(lin) is lin and ember.jit.optimize_for_inference(lin) is lin
    # a scripted function is called as the original
    a = np.arange(3.0)
    got = ember.jit.script(f)(ember.tensor(a), ember.tensor(a))
    np.testing.assert_array_equal(got.numpy(), f(torch.tensor(a), torch.tensor(a)).numpy())


@pytest.mark.parametrize("name", ["script", "trace"])
def test_deprecation_warning_like_torch(name):
    def f(x):
        return x

    with pytest.warns(DeprecationWarning) as tw:
        getattr(torch.jit, name)(f, torch.ones(1)) if name == "trace" else torch.jit.script(f)
    with pytest.warns(DeprecationWarning) as ew:
        getattr(ember.jit, name)(f, ember.ones(1)) if name == "trace" else ember.jit.script(f)
    want = {str(w.message) for w in tw if w.category is DeprecationWarning}
    assert {str(w.message) for w in ew} == want


def test_decorator_forms():
    def g():
        return 7

    for lib in (torch, ember):
        assert lib.jit.ignore(g) is g
        assert lib.jit.unused(g) is g
        assert lib.jit.export(g) is g
        assert lib.jit.ignore()(g) is g
        assert lib.jit.is_scripting() is False
        assert lib.jit.is_tracing() is False
        assert lib.jit.annotate(int, 3) == 3
        assert lib.jit.isinstance([1, 2], list[int])
        assert not lib.jit.isinstance((1,), list[int])
        assert lib.jit.Final is Final
    with pytest.warns(FutureWarning):
        deco = torch.jit.ignore(drop=True)
    assert ember.jit.ignore(drop=True)(g) is g and deco(g) is g
    for lib in (torch, ember):
        with pytest.raises(RuntimeError, match="must be a bool or a function"):
            lib.jit.ignore(3)


def test_fork_wait():
    fut = ember.jit.fork(lambda a, b: a + b, ember.tensor(1.0), b=ember.tensor(2.0))
    tfut = torch.jit.fork(lambda a, b: a + b, torch.tensor(1.0), b=torch.tensor(2.0))
    assert ember.jit.wait(fut).item() == torch.jit.wait(tfut).item() == 3.0


def test_script_module_subclass():
    class Old(ember.jit.ScriptModule):
        def __init__(self):
            super().__init__()
            self.w = ember.nn.Parameter(ember.ones(2))

        @ember.jit.script_method
        def forward(self, x):
            return x * self.w

    m = Old()
    assert isinstance(m, ember.nn.Module)
    assert m(ember.tensor([1.0, 2.0])).tolist() == [1.0, 2.0]
    assert [n for n, _ in m.named_parameters()] == ["w"]


def test_save_load_raise_clear_error(tmp_path):
    lin = ember.nn.Linear(2, 2)
    with pytest.raises(NotImplementedError, match="ember does not implement torch.jit.save"):
        ember.jit.save(ember.jit.script(lin), tmp_path / "m.pt")
    with pytest.raises(NotImplementedError, match="ember does not implement torch.jit.load"):
        ember.jit.load(tmp_path / "m.pt")
    with pytest.raises(AttributeError, match="ember does not implement torch.jit.no_such_api yet"):
        ember.jit.no_such_api  # noqa: B018
    assert not hasattr(ember.jit, "no_such_api")


def test_ember_run_script_with_jit(tmp_path):
    """A program written for TorchScript runs unchanged under `ember run`."""
    script = tmp_path / "prog.py"
    script.write_text(
        textwrap.dedent(
            """
            import torch

            @torch.jit.script
            def gelu_ish(x):
                return x * torch.sigmoid(1.702 * x)

            class Net(torch.nn.Module):
                def __init__(self):
                    super().__init__()
                    self.fc = torch.nn.Linear(3, 1)

                @torch.jit.ignore
                def helper(self):
                    return 1

                def forward(self, x):
                    return gelu_ish(self.fc(x))

            net = torch.jit.trace(Net(), torch.zeros(2, 3))
            out = torch.jit.script(net)(torch.ones(2, 3))
            print("OK", tuple(out.shape), torch.jit.is_scripting())
            """
        )
    )
    env = dict(os.environ)
    root = os.path.dirname(os.path.dirname(ember.__file__))
    env["PYTHONPATH"] = root + os.pathsep + env.get("PYTHONPATH", "")
    res = subprocess.run(
        [sys.executable, "-m", "ember", "run", str(script)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip().splitlines()[-1] == "OK (2, 1) False"
