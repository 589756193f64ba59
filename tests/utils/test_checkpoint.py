"""torch.utils.checkpoint: same values and gradients as without it (and as torch), intermediates
not kept, torch's warnings and errors."""

from __future__ import annotations

import gc
import warnings
import weakref

import numpy as np
import pytest

import ember
from ember.utils.checkpoint import checkpoint, checkpoint_sequential
from tests._support.torch_ref import assert_same, torch


def _mlp(lib):
    lib.manual_seed(0)
    return lib.nn.Sequential(
        lib.nn.Linear(4, 8), lib.nn.Tanh(), lib.nn.Linear(8, 8), lib.nn.ReLU(), lib.nn.Linear(8, 3)
    )


def _pair():
    e, t = _mlp(ember), _mlp(torch)
    t.load_state_dict({k: torch.tensor(v.numpy()) for k, v in e.state_dict().items()})
    a = np.random.default_rng(1).standard_normal((5, 4)).astype(np.float32)
    return e, t, ember.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)


def _grads(m):
    return [p.grad for p in m.parameters()]


@pytest.mark.parametrize("reentrant", [True, False])
def test_checkpoint_matches_torch(reentrant):
    e, t, xe, xt = _pair()
    ye = checkpoint(e, xe, use_reentrant=reentrant)
    yt = torch.utils.checkpoint.checkpoint(t, xt, use_reentrant=reentrant)
    assert_same(ye, yt)
    (ye * ye).sum().backward()
    (yt * yt).sum().backward()
    assert_same(xe.grad, xt.grad, 1e-5, 1e-6)
    assert_same(_grads(e), _grads(t), 1e-5, 1e-6)


@pytest.mark.parametrize("reentrant", [True, False])
def test_checkpoint_sequential_matches_torch(reentrant):
    e, t, xe, xt = _pair()
    ye = checkpoint_sequential(e, 3, xe, use_reentrant=reentrant)
    yt = torch.utils.checkpoint.checkpoint_sequential(t, 3, xt, use_reentrant=reentrant)
    assert_same(ye, yt)
    ye.pow(2).sum().backward()
    yt.pow(2).sum().backward()
    assert_same(xe.grad, xt.grad, 1e-5, 1e-6)
    assert_same(_grads(e), _grads(t), 1e-5, 1e-6)


def test_intermediates_not_saved():
    lin = ember.nn.Linear(3, 3)
    x = ember.randn(2, 3, requires_grad=True)
    refs = []

    def f(x):
        m = lin(x).sin()
        refs.append(weakref.ref(m))
        return m.cos()

    y_plain = f(x)
    gc.collect()
    assert refs[0]() is not None  # without checkpointing cos keeps its input
    y = checkpoint(f, x, use_reentrant=False)
    gc.collect()
    assert refs[1]() is None  # with it the intermediate is gone until backward
    y.sum().backward()
    g, gw = x.grad.clone(), lin.weight.grad.clone()
    x.grad = None
    lin.weight.grad = None
    y_plain.sum().backward()
    assert_same(x.grad, torch.tensor(g.numpy()), 0, 0)
    assert_same(lin.weight.grad, torch.tensor(gw.numpy()), 0, 0)


@pytest.mark.parametrize("reentrant", [True, False])
def test_rng_state_replayed(reentrant):
    x = ember.randn(50, requires_grad=True)

    def f(x):
        return ember.nn.functional.dropout(x.exp(), 0.5, True)

    ember.manual_seed(3)
    y = checkpoint(f, x, use_reentrant=reentrant)
    y.sum().backward()
    ember.manual_seed(3)
    x2 = x.detach().requires_grad_()
    f(x2).sum().backward()
    assert_same(x.grad, torch.tensor(x2.grad.numpy()), 0, 0)


def test_unset_use_reentrant_warns_like_torch():
    x = ember.randn(3, requires_grad=True)
    with pytest.warns(UserWarning, match="use_reentrant parameter should be passed explicitly"):
        y = checkpoint(ember.sin, x)
    assert y.requires_grad
    with pytest.warns(UserWarning, match="checkpoint_sequential: the use_reentrant"):
        checkpoint_sequential([ember.nn.Linear(3, 3)], 1, x)


def test_errors_and_no_grad_inputs_like_torch():
    x = ember.randn(3)
    with pytest.warns(UserWarning, match="None of the inputs have requires_grad=True"):
        y = checkpoint(ember.sin, x, use_reentrant=True)
    assert not y.requires_grad
    with pytest.raises(ValueError, match="Unexpected keyword arguments: foo"):
        checkpoint(ember.sin, x, use_reentrant=True, foo=1)
    with pytest.raises(ValueError, match="only supported when use_reentrant=False"):
        checkpoint(ember.sin, x, use_reentrant=True, debug=True)
    # non-reentrant: a module's parameters make the output differentiable
    lin = ember.nn.Linear(3, 2)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        y = checkpoint(lin, x, use_reentrant=False)
    assert y.requires_grad
    y.sum().backward()
    assert lin.weight.grad is not None


def test_kwargs_and_tuple_outputs_non_reentrant():
    a = ember.randn(4, requires_grad=True)
    b = ember.randn(4, requires_grad=True)

    def f(a, b, scale=1.0):
        return a * b * scale, (a + b).exp()

    p, q = checkpoint(f, a, b, use_reentrant=False, scale=2.0)
    (p.sum() + q.sum()).backward()
    assert_same(a.grad, torch.tensor((b * 2 + (a + b).exp()).detach().numpy()), 1e-6, 1e-6)
    assert_same(b.grad, torch.tensor((a * 2 + (a + b).exp()).detach().numpy()), 1e-6, 1e-6)


def test_autograd_grad_reaches_module_parameters_non_reentrant():
    e, t, xe, xt = _pair()
    ge = ember.autograd.grad(
        checkpoint(e, xe, use_reentrant=False).pow(2).sum(), [xe, *e.parameters()]
    )
    gt = torch.autograd.grad(
        torch.utils.checkpoint.checkpoint(t, xt, use_reentrant=False).pow(2).sum(),
        [xt, *t.parameters()],
    )
    assert_same(list(ge), list(gt), 1e-5, 1e-6)
    assert all(p.grad is None for p in e.parameters())  # grad() leaves .grad alone
    # checkpoint_sequential too
    e.zero_grad()
    ye = checkpoint_sequential(e, 2, xe, use_reentrant=False)
    yt = torch.utils.checkpoint.checkpoint_sequential(t, 2, xt, use_reentrant=False)
    ge = ember.autograd.grad(ye.sum(), list(e.parameters()))
    gt = torch.autograd.grad(yt.sum(), list(t.parameters()))
    assert_same(list(ge), list(gt), 1e-5, 1e-6)


@pytest.mark.parametrize("reentrant", [True, False])
def test_non_tensor_outputs_pass_through(reentrant):
    x = ember.randn(3, requires_grad=True)
    a, n, b = checkpoint(lambda x: (x * 2, 3, None), x, use_reentrant=reentrant)
    assert n == 3 and b is None
    a.sum().backward()
    assert_same(x.grad, torch.full((3,), 2.0))
