"""Selective activation checkpointing and the torch.utils.checkpoint helpers: gradients as torch's,
saved ops not run again in backward, recomputed ops run again, torch's errors."""

from __future__ import annotations

import functools
import warnings

import numpy as np
import pytest

import ember
import ember.utils.checkpoint as ec
from ember.ops.linalg import MatMul
from tests._support.torch_ref import assert_same, torch

tc = torch.utils.checkpoint


def _fn(lib, x, y):
    return lib.sigmoid(lib.matmul(lib.matmul(x, y), y)) * x


def _inputs():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((4, 5)).astype(np.float32)
    y = rng.standard_normal((5, 5)).astype(np.float32)
    return x, y


@pytest.fixture
def matmul_calls(monkeypatch):
    """Counts the forwards of ember's matmul op."""
    calls = []
    forward = MatMul.forward

    def counting(ctx, *arrays):
        calls.append(1)
        return forward(ctx, *arrays)

    monkeypatch.setattr(MatMul, "forward", staticmethod(counting))
    return calls


def _run(policy_e, policy_t):
    x, y = _inputs()
    xe, ye = (ember.tensor(a, requires_grad=True) for a in (x, y))
    xt, yt = (torch.tensor(a, requires_grad=True) for a in (x, y))
    oe = ember.utils.checkpoint.checkpoint(
        functools.partial(_fn, ember),
        xe,
        ye,
        use_reentrant=False,
        context_fn=functools.partial(ec.create_selective_checkpoint_contexts, policy_e),
    )
    ot = tc.checkpoint(
        functools.partial(_fn, torch),
        xt,
        yt,
        use_reentrant=False,
        context_fn=functools.partial(tc.create_selective_checkpoint_contexts, policy_t),
    )
    assert_same(oe, ot)
    return oe, ot, (xe, ye), (xt, yt)


def _backward_and_compare(oe, ot, ins_e, ins_t):
    (oe * oe).sum().backward()
    (ot * ot).sum().backward()
    for a, b in zip(ins_e, ins_t):
        assert_same(a.grad, b.grad, 1e-5, 1e-6)


def test_saved_matmuls_are_not_run_again(matmul_calls):
    oe, ot, ie, it = _run([MatMul], [torch.ops.aten.mm.default])
    assert len(matmul_calls) == 2  # the forward
    _backward_and_compare(oe, ot, ie, it)
    assert len(matmul_calls) == 2  # backward took both from the forward


def test_recomputed_matmuls_run_again(matmul_calls):
    oe, ot, ie, it = _run([], [])
    _backward_and_compare(oe, ot, ie, it)
    assert len(matmul_calls) == 4


def test_policy_function_sees_each_op_with_its_output(matmul_calls):
    seen = []

    def policy_e(ctx, op, *args, **kwargs):
        assert isinstance(ctx, ec.SelectiveCheckpointContext) and ctx.is_recompute is False
        seen.append((op.__name__, tuple(ctx.op_output.shape)))
        first = op is MatMul and sum(1 for s in seen if s[0] == "MatMul") == 1
        return ec.CheckpointPolicy.MUST_SAVE if first else ec.CheckpointPolicy.PREFER_RECOMPUTE

    n = []

    def policy_t(ctx, op, *args, **kwargs):
        if op is torch.ops.aten.mm.default:
            n.append(op)
            if len(n) == 1:
                return tc.CheckpointPolicy.MUST_SAVE
        return tc.CheckpointPolicy.PREFER_RECOMPUTE

    oe, ot, ie, it = _run(policy_e, policy_t)
    assert [s[0] for s in seen] == ["MatMul", "MatMul", "Sigmoid", "Mul"]
    assert seen[0][1] == (4, 5)
    _backward_and_compare(oe, ot, ie, it)
    assert len(matmul_calls) == 3  # the second matmul was recomputed, the first was not
    assert len(seen) == 4  # the policy is asked in the forward only


def test_bool_policy_and_module_parameters(matmul_calls):
    torch.manual_seed(0)
    t = torch.nn.Linear(5, 5)
    e = ember.nn.Linear(5, 5)
    e.load_state_dict({k: ember.tensor(v.detach().numpy()) for k, v in t.state_dict().items()})
    x, _ = _inputs()
    xe, xt = ember.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)

    def run(lib, mod, inp, policy):
        ctx_fn = functools.partial(
            lib.utils.checkpoint.create_selective_checkpoint_contexts, policy
        )
        out = lib.utils.checkpoint.checkpoint(
            lambda a: lib.tanh(mod(a)), inp, use_reentrant=False, context_fn=ctx_fn
        )
        out.sum().backward()
        return out

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        oe = run(ember, e, xe, lambda ctx, op, *a, **k: True)
        ot = run(torch, t, xt, lambda ctx, op, *a, **k: True)
    assert_same(oe, ot, 1e-5, 1e-6)
    assert_same(xe.grad, xt.grad, 1e-5, 1e-6)
    assert_same(e.weight.grad, t.weight.grad, 1e-5, 1e-6)
    assert_same(e.bias.grad, t.bias.grad, 1e-5, 1e-6)


def test_second_backward_raises_as_torch():
    oe, ot, _, _ = _run([MatMul], [torch.ops.aten.mm.default])
    oe.sum().backward(retain_graph=True)
    ot.sum().backward(retain_graph=True)
    with pytest.raises(RuntimeError) as te:
        ot.sum().backward()
    with pytest.raises(RuntimeError) as ee:
        oe.sum().backward()
    assert str(ee.value) == str(te.value)


def test_mutated_cache_entry_raises_unless_allowed():
    x, _ = _inputs()
    x = x[:4, :4].copy()
    for allow in (False, True):
        res = []
        for lib, op in ((torch, torch.ops.aten.mm.default), (ember, MatMul)):
            a = lib.tensor(x, requires_grad=True)

            def fn(p, lib=lib):
                m = lib.matmul(p, p)
                m.sin_()  # changes the saved matmul output in place
                return m * p

            ctx_fn = functools.partial(
                lib.utils.checkpoint.create_selective_checkpoint_contexts,
                [op],
                allow_cache_entry_mutation=allow,
            )
            out = lib.utils.checkpoint.checkpoint(fn, a, use_reentrant=False, context_fn=ctx_fn)
            if allow:
                out.sum().backward()
                res.append(a.grad)
            else:
                with pytest.raises(RuntimeError) as err:
                    out.sum().backward()
                res.append(str(err.value))
        if allow:
            assert_same(res[1], res[0], 1e-5, 1e-6)
        else:
            assert res[1] == res[0]


def test_policy_argument_errors():
    with pytest.raises(TypeError) as te:
        tc.create_selective_checkpoint_contexts(3)
    with pytest.raises(TypeError) as ee:
        ec.create_selective_checkpoint_contexts(3)
    assert str(ee.value) == str(te.value)
    with pytest.raises(ValueError, match="Expected op in `op_list`"):
        ec.create_selective_checkpoint_contexts([ember.matmul])
    fwd, rec = ec.create_selective_checkpoint_contexts([MatMul])
    assert hasattr(fwd, "__enter__") and hasattr(rec, "__exit__")


def test_checkpoint_policy_enum_as_torch():
    assert [(p.name, p.value) for p in ec.CheckpointPolicy] == [
        (p.name, p.value) for p in tc.CheckpointPolicy
    ]
    c = ec.SelectiveCheckpointContext(is_recompute=False, op_output=1)
    assert c.is_recompute is False and c.op_output == 1


def test_helpers_match_torch():
    a = ember.ones(2, requires_grad=True)
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        ec.check_backward_validity([a, 3])
        assert not w
        ec.check_backward_validity([ember.ones(2), 3])
        tc.check_backward_validity([torch.ones(2), 3])
    assert [str(x.message) for x in w][0] == [str(x.message) for x in w][1]
    assert ec.get_device_states(a, ember.ones(3)) == tc.get_device_states(
        torch.ones(2), torch.ones(3)
    )
    ec.set_device_states([], [])
    assert ec.DefaultDeviceType.get_device_type() == tc.DefaultDeviceType.get_device_type()
    ec.DefaultDeviceType.set_device_type("cuda")
    try:
        assert ec.DefaultDeviceType.get_device_type() == "cuda"
    finally:
        ec.DefaultDeviceType.set_device_type("cpu")
    with ec.set_checkpoint_early_stop(False):
        assert ec._early_stop is False
        x, y = _inputs()
        xe = ember.tensor(x, requires_grad=True)
        out = ec.checkpoint(lambda p: p.sin().sum(), xe, use_reentrant=False)
        out.backward()
        assert_same(xe.grad, torch.tensor(x).cos())
    assert ec._early_stop is True
    with ec.set_checkpoint_debug_enabled(True):
        assert ec._debug_enabled is True
    assert ec._debug_enabled is None


def test_selective_checkpoint_under_the_profiler():
    with ember.profiler.profile() as prof:
        oe, ot, ie, it = _run([MatMul], [torch.ops.aten.mm.default])
        _backward_and_compare(oe, ot, ie, it)
    names = {e.key: e.count for e in prof.key_averages()}
    assert names.get("ember::MatMul") == 2
