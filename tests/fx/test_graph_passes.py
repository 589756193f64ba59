"""Graph editing, Interpreter, Transformer, ShapeProp and replace_pattern against torch.fx."""

from __future__ import annotations

import operator

import pytest

import ember
import ember.fx
from ember.fx.passes.shape_prop import ShapeProp
from tests._support.torch_ref import assert_same, torch
from tests.fx._models import INPUT_SHAPES, pair


def _names(gm):
    return [(n.op, n.name) for n in gm.graph.nodes]


def _edit(fx, lib, gm):
    """Insert a sigmoid after the first relu, add a dead node, then clean up: the same edits
    on both frameworks."""
    g = gm.graph
    relu = next(n for n in g.nodes if n.name == "relu")
    with g.inserting_after(relu):
        sig = g.call_function(lib.sigmoid, (relu,))
    relu.replace_all_uses_with(sig, delete_user_cb=lambda u: u is not sig)
    with g.inserting_before(sig):
        g.call_method("neg", (relu,))  # unused: dead code
    g.lint()
    changed = g.eliminate_dead_code()
    gm.recompile()
    return changed


def test_graph_editing_matches_torch():
    em, tm, ex, tx = pair("Residual", torch)
    em.eval(), tm.eval()
    egm, tgm = ember.fx.symbolic_trace(em), torch.fx.symbolic_trace(tm)
    assert _edit(ember.fx, ember, egm) is _edit(torch.fx, torch, tgm) is True
    assert _names(egm) == _names(tgm)
    sig = next(n for n in egm.graph.nodes if n.name == "sigmoid")
    assert [n.name for n in sig.all_input_nodes] == ["relu"] and list(sig.users)[0].name == "c2"
    assert_same(egm(ex), tgm(tx), rtol=1e-4, atol=1e-5)


def test_erase_node_with_users_raises_and_prepend_moves():
    em, _, _, _ = pair("MLP", torch)
    g = ember.fx.symbolic_trace(em).graph
    x, fc1, relu, fc2, out = list(g.nodes)
    with pytest.raises(RuntimeError, match="still had 1 users"):
        g.erase_node(fc1)
    fc1.replace_input_with(x, x)  # no-op
    out.prepend(fc2)
    assert [n.name for n in g.nodes] == ["x", "fc1", "relu", "fc2", "output"]
    new_g = ember.fx.Graph()
    val_map = {}
    value = new_g.graph_copy(g, val_map)
    new_g.output(value)
    assert [n.name for n in new_g.nodes] == [n.name for n in g.nodes]
    assert val_map[fc1].args[0] is val_map[x]


class _CountCalls:
    """Mixin: count the call_module/call_function nodes the interpreter runs."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.seen = []

    def call_function(self, target, args, kwargs):
        self.seen.append(target.__name__)
        return super().call_function(target, args, kwargs)

    def call_module(self, target, args, kwargs):
        self.seen.append(target)
        return super().call_module(target, args, kwargs)


@pytest.mark.parametrize("name", sorted(INPUT_SHAPES))
def test_interpreter_matches_torch(name):
    em, tm, ex, tx = pair(name, torch)
    em.eval(), tm.eval()
    ei = type("EI", (_CountCalls, ember.fx.Interpreter), {})(ember.fx.symbolic_trace(em))
    ti = type("TI", (_CountCalls, torch.fx.Interpreter), {})(torch.fx.symbolic_trace(tm))
    assert_same(ei.run(ex), ti.run(tx), rtol=1e-4, atol=1e-5)
    assert ei.seen == ti.seen
    # values freed after their last use, as torch's: only the output is left
    assert [n.name for n in ei.env] == [n.name for n in ti.env] == ["output"]


def _swap_transformer(base, lib):
    class AddToMul(base):
        def call_function(self, target, args, kwargs):
            if target is operator.add:
                target = operator.mul
            return super().call_function(target, args, kwargs)

        def call_module(self, target, args, kwargs):
            out = super().call_module(target, args, kwargs)
            return lib.tanh(out) if target == "c2" else out

    return AddToMul


def test_transformer_matches_torch():
    em, tm, ex, tx = pair("Residual", torch)
    em.eval(), tm.eval()
    egm = _swap_transformer(ember.fx.Transformer, ember)(ember.fx.symbolic_trace(em)).transform()
    tgm = _swap_transformer(torch.fx.Transformer, torch)(torch.fx.symbolic_trace(tm)).transform()
    assert _names(egm) == _names(tgm)
    assert [n.target.__name__ for n in egm.graph.nodes if n.op == "call_function"] == [
        n.target.__name__ for n in tgm.graph.nodes if n.op == "call_function"
    ]
    assert_same(egm(ex), tgm(tx), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("name", ["CNN", "Cat", "Buffered"])
def test_shape_prop_matches_torch(name):
    em, tm, ex, tx = pair(name, torch)
    egm, tgm = ember.fx.symbolic_trace(em), torch.fx.symbolic_trace(tm)
    ShapeProp(egm).propagate(ex)
    torch.fx.passes.shape_prop.ShapeProp(tgm).propagate(tx)

    def facts(meta):
        if isinstance(meta, (tuple, list)) and not hasattr(meta, "shape"):
            return [facts(m) for m in meta]
        if hasattr(meta, "shape"):
            return (tuple(meta.shape), str(meta.dtype), meta.requires_grad, tuple(meta.stride))
        return meta

    for en, tn in zip(egm.graph.nodes, tgm.graph.nodes, strict=True):
        assert ("tensor_meta" in en.meta) == ("tensor_meta" in tn.meta), en.name
        if "tensor_meta" in tn.meta:
            assert facts(en.meta["tensor_meta"]) == facts(tn.meta["tensor_meta"]), en.name
        assert en.meta["type"].__name__ == tn.meta["type"].__name__


def _rewrite(lib):
    def f(x, y):
        return lib.relu(x + y) * 2 + lib.relu(y + x)

    def pattern(a, b):
        return lib.relu(a + b)

    def replacement(a, b):
        return lib.sigmoid(a - b)

    return f, pattern, replacement


def test_replace_pattern_matches_torch():
    ef, ep, er = _rewrite(ember)
    tf, tp, tr = _rewrite(torch)
    egm, tgm = ember.fx.symbolic_trace(ef), torch.fx.symbolic_trace(tf)
    em = ember.fx.replace_pattern(egm, ep, er)
    tm = torch.fx.replace_pattern(tgm, tp, tr)
    assert len(em) == len(tm) == 2
    assert _names(egm) == _names(tgm)
    assert egm.code == tgm.code.replace("torch.", "ember.")
    a, b = ember.randn(3), ember.randn(3)
    assert_same(egm(a, b), tgm(torch.tensor(a.numpy()), torch.tensor(b.numpy())))
