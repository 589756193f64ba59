"""functional_call and stack_module_state against torch.func: ensembles under vmap."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

import ember
import ember.func as ef
import ember.func._vmap as vm
from tests._support.torch_ref import torch
from tests.func._pairs import arr, assert_close, both

tf = torch.func


def _pair(seed: int = 0):
    """The same two-layer model in both frameworks (float64)."""
    e = ember.nn.Sequential(ember.nn.Linear(4, 3), ember.nn.Tanh(), ember.nn.Linear(3, 2)).double()
    t = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.Tanh(), torch.nn.Linear(3, 2)).double()
    for k, (pe, pt) in enumerate(zip(e.parameters(), t.parameters())):
        a = arr(*pe.shape, seed=seed + k)
        with ember.no_grad():
            pe.copy_(ember.tensor(a))
        with torch.no_grad():
            pt.copy_(torch.tensor(a))
    return e, t


def test_functional_call_dicts_and_module_unchanged():
    e, t = _pair()
    x, tx = both(arr(5, 4))
    p = {k: v * 2 for k, v in e.named_parameters()}
    tp = {k: v * 2 for k, v in t.named_parameters()}
    assert_close(ef.functional_call(e, p, (x,)), tf.functional_call(t, tp, (tx,)))
    assert_close(ef.functional_call(e, p, x), tf.functional_call(t, tp, tx))
    w = {k: v for k, v in p.items() if k.endswith("weight")}
    b = {k: v for k, v in p.items() if k.endswith("bias")}
    tw = {k: v for k, v in tp.items() if k.endswith("weight")}
    tb = {k: v for k, v in tp.items() if k.endswith("bias")}
    assert_close(ef.functional_call(e, (w, b), (x,)), tf.functional_call(t, (tw, tb), (tx,)))
    assert_close(e(x), t(tx))  # the module's own parameters are back
    with pytest.raises(ValueError, match="appeared in multiple dictionaries"):
        ef.functional_call(e, (w, w), (x,))
    with pytest.raises(RuntimeError, match="Missing key"):
        ef.functional_call(e, w, (x,), strict=True)
    with pytest.raises(RuntimeError, match="Missing key"):
        tf.functional_call(t, tw, (tx,), strict=True)


def test_functional_call_gradients_through_grad():
    e, t = _pair(3)
    x, tx = both(arr(5, 4))
    p = {k: v.detach() for k, v in e.named_parameters()}
    tp = {k: v.detach() for k, v in t.named_parameters()}
    got = ef.grad(lambda q: ef.functional_call(e, q, (x,)).pow(2).sum())(p)
    want = tf.grad(lambda q: tf.functional_call(t, q, (tx,)).pow(2).sum())(tp)
    assert_close(got, want)


def test_stack_module_state_ensemble_under_vmap():
    pairs = [_pair(10 * i) for i in range(3)]
    params, buffers = ef.stack_module_state([p[0] for p in pairs])
    tparams, tbuffers = tf.stack_module_state([p[1] for p in pairs])
    assert_close(params, tparams)
    assert all(v.requires_grad and v.is_leaf for v in params.values())
    x, tx = both(arr(5, 4))
    base, tbase = pairs[0]

    def run(f, model, xx):
        return lambda p, b: f.functional_call(model, (p, b), (xx,))

    got = ef.vmap(run(ef, base, x), in_dims=(0, 0))(params, buffers)
    want = tf.vmap(run(tf, tbase, tx), in_dims=(0, 0))(tparams, tbuffers)
    assert_close(got, want)
    got.sum().backward()  # the stacked leaves receive gradients, as torch's do
    want.sum().backward()
    assert_close({k: v.grad for k, v in params.items()}, {k: v.grad for k, v in tparams.items()})


def test_ensemble_with_detached_stacked_weights_runs_batched():
    pairs = [_pair(10 * i) for i in range(4)]
    params, buffers = ef.stack_module_state([p[0] for p in pairs])
    tparams, tbuffers = tf.stack_module_state([p[1] for p in pairs])
    params = {k: v.detach() for k, v in params.items()}
    tparams = {k: v.detach() for k, v in tparams.items()}
    x, tx = both(arr(6, 4))
    vm._debug[0] = True  # batched weights through Linear: no per-sample fallback
    try:
        run = ef.vmap(lambda p, b, xx: ef.functional_call(pairs[0][0], (p, b), (xx,)), (0, 0, None))
        got = run(params, buffers, x)
    finally:
        vm._debug[0] = False
    want = tf.vmap(lambda p, b, xx: tf.functional_call(pairs[0][1], (p, b), (xx,)), (0, 0, None))(
        tparams, tbuffers, tx
    )
    assert_close(got, want)


def test_stack_module_state_errors():
    with pytest.raises(RuntimeError, match="Expected at least one model"):
        ef.stack_module_state([])
    a, b = ember.nn.Linear(2, 2), ember.nn.Linear(2, 2)
    b.eval()
    with pytest.raises(RuntimeError, match="same training/eval mode"):
        ef.stack_module_state([a, b])
    with pytest.raises(RuntimeError, match="same class"):
        ef.stack_module_state([a, ember.nn.Sequential(ember.nn.Linear(2, 2))])
    c = ember.nn.Linear(2, 2)
    c.weight.requires_grad_(False)
    with pytest.raises(RuntimeError, match="same .requires_grad"):
        ef.stack_module_state([a, c])


def test_torch_func_resolves_to_ember_func_under_ember_run(tmp_path):
    prog = tmp_path / "prog.py"
    prog.write_text(
        textwrap.dedent(
            """
            import torch
            import torch.func
            from torch.func import grad, vmap
            from torch.autograd.forward_ad import dual_level, make_dual, unpack_dual
            import ember
            assert torch.func is ember.func and torch.vmap is vmap
            g = vmap(grad(lambda a: (a * a).sum()))(torch.ones(3, 2))
            with dual_level():
                t = unpack_dual(make_dual(torch.ones(2), torch.ones(2)).exp()).tangent
            print(g.tolist(), round(float(t.sum()), 4))
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
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[[2.0, 2.0], [2.0, 2.0], [2.0, 2.0]] 5.4366"
