"""ember.fx.symbolic_trace against torch.fx.symbolic_trace: the same nodes (op, name, target),
the same generated code, the same outputs; and the tracing patches leave nothing behind."""

from __future__ import annotations

import copy
import operator
import pickle

import numpy as np
import pytest

import ember
import ember.fx
import ember.nn.functional as F
from ember.nn.functional import relu as relu_imported_by_name
from tests._support.torch_ref import assert_same, torch
from tests.fx._models import INPUT_SHAPES, pair

MODELS = sorted(INPUT_SHAPES)


def _target_name(n) -> str:
    return n.target if isinstance(n.target, str) else n.target.__name__


def _summary(gm):
    return [(n.op, n.name, _target_name(n)) for n in gm.graph.nodes]


def _as_torch(out):
    if isinstance(out, (tuple, list)):
        return [_as_torch(o) for o in out]
    return torch.from_numpy(out.detach().numpy().copy())


def _torch_code_as_ember(code: str) -> str:
    return code.replace("torch.", "ember.")


@pytest.mark.parametrize("name", MODELS)
def test_nodes_match_torch(name):
    em, tm, _, _ = pair(name, torch)
    egm, tgm = ember.fx.symbolic_trace(em), torch.fx.symbolic_trace(tm)
    assert _summary(egm) == _summary(tgm)
    # the same argument structure, node for node (constants included)
    for en, tn in zip(egm.graph.nodes, tgm.graph.nodes, strict=True):
        assert str(en.args) == str(tn.args), en.name
        assert [u.name for u in en.users] == [u.name for u in tn.users]


@pytest.mark.parametrize("name", MODELS)
def test_outputs_match_module_and_torch(name):
    em, tm, ex, tx = pair(name, torch)
    em.eval(), tm.eval()
    egm, tgm = ember.fx.symbolic_trace(em), torch.fx.symbolic_trace(tm)
    assert_same(egm(ex), tgm(tx), rtol=1e-4, atol=1e-5)
    assert_same(egm(ex), _as_torch(em(ex)), rtol=0, atol=0)
    assert list(egm.state_dict()) == list(tgm.state_dict())


# (not Residual/MLP: torch records F.relu's default ``inplace = False``, ember the call as made)
@pytest.mark.parametrize("name", ["CNN", "Cat", "Buffered"])
def test_generated_code_matches_torch(name):
    em, tm, _, _ = pair(name, torch)
    egm, tgm = ember.fx.symbolic_trace(em), torch.fx.symbolic_trace(tm)
    assert egm.code == _torch_code_as_ember(tgm.code)


def test_graph_printout_matches_torch():
    em, tm, _, _ = pair("Cat", torch)
    egm, tgm = ember.fx.symbolic_trace(em), torch.fx.symbolic_trace(tm)
    assert str(egm.graph) == _torch_code_as_ember(str(tgm.graph))


def test_functions_operators_and_defaults():
    def f(lib):
        def fn(x, y=3):
            return lib.relu(x).neg() - y, -x, abs(x), x.float(), 2 * x, x @ x.t(), x.shape

        return fn

    egm, tgm = ember.fx.symbolic_trace(f(ember)), torch.fx.symbolic_trace(f(torch))
    assert _summary(egm) == _summary(tgm)
    assert type(egm).__name__ == "fn"
    x = np.arange(6.0, dtype=np.float32).reshape(2, 3)
    eo, to = egm(ember.tensor(x)), tgm(torch.tensor(x))
    assert_same(list(eo[:-1]), list(to[:-1]))
    assert tuple(eo[-1]) == tuple(to[-1])


def test_function_imported_by_name_is_traced():
    def fn(x):
        return relu_imported_by_name(x) + 1

    gm = ember.fx.symbolic_trace(fn)
    assert [n.target for n in gm.graph.nodes][1:3] == [F.relu, operator.add]


def test_concrete_args_specialise():
    def fn(x, flag=False):
        return x * 2 if flag else x + 1

    gm = ember.fx.symbolic_trace(fn, concrete_args={"flag": True})
    assert [n.name for n in gm.graph.nodes if n.op == "call_function"] == ["mul"]
    assert_same(gm(ember.ones(2)), torch.full((2,), 2.0))


def test_control_flow_and_len_raise_as_torch():
    def branch(x):
        return x if x.sum() > 0 else -x

    def length(x):
        return x * len(x)

    with pytest.raises(ember.fx.proxy.TraceError, match="control flow"):
        ember.fx.symbolic_trace(branch)
    with pytest.raises(RuntimeError, match="'len' is not supported"):
        ember.fx.symbolic_trace(length)


def test_patches_are_undone_after_trace_and_after_error():
    relu, call, getattr_ = ember.relu, ember.nn.Module.__call__, ember.nn.Module.__getattr__
    em, _, _, _ = pair("MLP", torch)
    ember.fx.symbolic_trace(em)

    def bad(x):
        return ember.relu(x) if x.sum() else x

    with pytest.raises(ember.fx.proxy.TraceError):
        ember.fx.symbolic_trace(bad)
    assert ember.relu is relu and F.relu.__module__ == "ember.nn.functional"
    assert ember.nn.Module.__call__ is call and ember.nn.Module.__getattr__ is getattr_
    assert not hasattr(ember.relu, "__fx_original__")
    assert "weight" in vars(em.fc1)  # the mirrored parameter is back


def scaled_by(x, k):
    """Traced as one call when wrapped: its control flow never sees a Proxy."""
    return x * k if k > 0 else x


ember.fx.wrap("scaled_by")
torch.fx.wrap("scaled_by")


def test_wrap_records_one_call_function():
    def f(x):
        return scaled_by(x, 3) + 1

    egm, tgm = ember.fx.symbolic_trace(f), torch.fx.symbolic_trace(f)
    assert _summary(egm) == _summary(tgm)
    assert egm.graph.find_nodes(op="call_function", target=scaled_by)
    assert_same(egm(ember.ones(2)), tgm(torch.ones(2)))


class _Leafy(ember.nn.Module):
    def __init__(self):
        super().__init__()
        self.inner = ember.nn.Sequential(ember.nn.Linear(2, 2), ember.nn.Tanh())

    def forward(self, x):
        return self.inner(x)


def test_custom_leaf_modules():
    class KeepSequential(ember.fx.Tracer):
        def is_leaf_module(self, m, qualname):
            return isinstance(m, ember.nn.Sequential) or super().is_leaf_module(m, qualname)

    graph = KeepSequential().trace(_Leafy())
    assert [(n.op, n.target) for n in graph.nodes] == [
        ("placeholder", "x"),
        ("call_module", "inner"),
        ("output", "output"),
    ]
    default = ember.fx.symbolic_trace(_Leafy())
    assert [n.name for n in default.graph.nodes] == ["x", "inner_0", "inner_1", "output"]


def test_deepcopy_and_pickle_keep_behaviour():
    em, _, ex, _ = pair("Cat", torch)
    gm = ember.fx.symbolic_trace(em)
    for clone in (copy.deepcopy(gm), pickle.loads(pickle.dumps(gm))):
        assert clone.code == gm.code
        assert_same(list(clone(ex)), _as_torch(gm(ex)), rtol=0, atol=0)
        assert clone.w is not gm.w
        assert [n.name for n in clone.graph.nodes] == [n.name for n in gm.graph.nodes]


def test_print_readable_and_attribute():
    em, _, _, _ = pair("MLP", torch)
    text = ember.fx.symbolic_trace(em).print_readable(print_output=False)
    assert text.startswith("class MLP(torch.nn.Module):\n    def forward(self, x):")
    assert ember.fx is ember.__dict__["fx"]


def test_sequential_root_names_match_torch():
    def names(lib):
        m = lib.nn.Sequential(lib.nn.Linear(2, 2), lib.nn.ReLU())
        gm = (ember.fx if lib is ember else torch.fx).symbolic_trace(m)
        return [n.name for n in gm.graph.nodes], gm.code.replace("torch.", "ember.")

    assert names(ember) == names(torch)  # 'input' shadows a builtin: input_1, as torch
