"""Autograd: graph recording, backward/grad options, hooks, grad modes; compared with torch
(custom Functions and higher-order gradients in test_function.py, in-place checks in
test_inplace.py)."""

from __future__ import annotations

import threading

import numpy as np
import pytest

import ember
from tests._support.autograd import _leaf
from tests._support.torch_ref import assert_same, to_torch, torch


def test_requires_grad_flags():
    e = ember.ones(2)
    assert not e.requires_grad
    e.requires_grad_()
    assert e.requires_grad and e.is_leaf and e.grad_fn is None and e.grad is None
    y = e * 2
    assert y.requires_grad and not y.is_leaf and y.grad_fn is not None
    with pytest.raises(RuntimeError):
        y.requires_grad = False
    with pytest.raises(RuntimeError):
        ember.ones(2, dtype=ember.int64).requires_grad_()
    with pytest.raises(RuntimeError):
        torch.ones(2, dtype=torch.int64).requires_grad_()
    z = ember.ones(2) * 3
    assert not z.requires_grad and z.grad_fn is None


def test_next_functions():
    xe, xt = _leaf()
    ye, yt = (xe * 2 + 1).sum(), (xt * 2 + 1).sum()
    ne, nt = ye.grad_fn, yt.grad_fn
    assert ne.name() == nt.name() == "SumBackward0"
    add_e, add_t = ne.next_functions[0][0], nt.next_functions[0][0]
    assert add_e.name() == add_t.name() == "AddBackward0"
    mul_e = add_e.next_functions[0][0]
    assert mul_e.name() == "MulBackward0"
    acc = mul_e.next_functions[0][0]
    assert acc.variable is xe
    assert type(acc).__name__ == "AccumulateGrad"
    assert len(add_e.next_functions) == len(add_t.next_functions)
    assert add_t.next_functions[1][0] is None
    assert add_e.next_functions[1][0] is None


def test_backward_accumulates_into_leaves():
    xe, xt = _leaf()
    for _ in range(2):
        (xe * xe).sum().backward()
        (xt * xt).sum().backward()
    assert_same(xe.grad, xt.grad)
    g = xe.grad
    (xe * 3).sum().backward()
    assert xe.grad is g  # accumulated in place, as torch
    xe.grad = None
    (xe * 3).sum().backward()
    assert xe.grad.tolist() == [3, 3, 3]


def test_backward_with_gradient_and_retain_graph():
    xe, xt = _leaf((2, 3))
    ye, yt = xe.exp() * 2, xt.exp() * 2
    ge = ember.tensor([[1.0, 0.5, 2.0], [0.0, -1.0, 3.0]])
    ye.backward(ge, retain_graph=True)
    yt.backward(to_torch(ge), retain_graph=True)
    ye.backward(ge)
    yt.backward(to_torch(ge))
    assert_same(xe.grad, xt.grad)
    with pytest.raises(RuntimeError, match="second time"):
        ye.backward(ge)
    with pytest.raises(RuntimeError, match="second time"):
        yt.backward(to_torch(ge))


def test_backward_shape_mismatch_raises():
    xe, xt = _leaf()
    with pytest.raises(RuntimeError):
        (xt * 2).backward(torch.ones(2))
    with pytest.raises(RuntimeError):
        (xe * 2).backward(ember.ones(2))


def test_backward_inputs():
    xe, xt = _leaf(seed=0)
    we, wt = _leaf(seed=1)
    (xe * we).sum().backward(inputs=[we])
    (xt * wt).sum().backward(inputs=[wt])
    assert xe.grad is None and xt.grad is None
    assert_same(we.grad, wt.grad)
    he, ht = xe * 2, xt * 2
    he.retain_grad()
    ht.retain_grad()
    (he * we).sum().backward(inputs=[he])
    (ht * wt).sum().backward(inputs=[ht])
    assert_same(he.grad, ht.grad)
    assert xe.grad is None


def test_retain_grad():
    xe, xt = _leaf()
    he, ht = xe * 2, xt * 2
    he.retain_grad()
    ht.retain_grad()
    assert he.retains_grad and ht.retains_grad
    (he**2).sum().backward()
    (ht**2).sum().backward()
    assert_same(he.grad, ht.grad)
    assert_same(xe.grad, xt.grad)
    ke = xe * 3
    assert ke.grad is None


def test_hooks_leaf_and_nonleaf():
    xe, xt = _leaf()
    seen = {}
    for lib, x in (("e", xe), ("t", xt)):
        h = x * 2

        def record(g, lib=lib):
            seen[lib + "h"] = g.clone()

        h.register_hook(record)
        h.register_hook(lambda g: g * 10)
        x.register_hook(lambda g: g + 1)
        (h * h).sum().backward()
    assert_same(xe.grad, xt.grad)
    assert_same(seen["eh"], seen["th"])


def test_hook_handle_remove_and_retain_grad_sees_hooked_value():
    xe, xt = _leaf()
    res = []
    for x in (xe, xt):
        h = x * 1
        h.retain_grad()
        handle = h.register_hook(lambda g: g * 0)
        h2 = x * 1
        handle2 = h2.register_hook(lambda g: g * 100)
        handle2.remove()
        (h + h2).sum().backward()
        res.append((h.grad, x.grad))
        del handle
    assert_same(res[0][0], res[1][0])
    assert_same(res[0][1], res[1][1])


def test_detach():
    xe, xt = _leaf()
    de = (xe * 2).detach()
    assert not de.requires_grad and de.grad_fn is None and de.is_leaf
    ye = xe * 2
    ye.detach_()
    assert not ye.requires_grad and ye.grad_fn is None
    d = xe.detach()
    d.zero_()
    assert xe.tolist() == [0, 0, 0]  # shares memory


def test_autograd_grad():
    xe, xt = _leaf(seed=0)
    we, wt = _leaf(seed=1)
    ue, ut = _leaf(seed=2)
    ge = ember.autograd.grad((xe * we).sum(), [xe, we])
    gt = torch.autograd.grad((xt * wt).sum(), [xt, wt])
    assert_same(ge, gt)
    assert xe.grad is None
    with pytest.raises(RuntimeError):
        ember.autograd.grad((xe * 2).sum(), [xe, ue])
    with pytest.raises(RuntimeError):
        torch.autograd.grad((xt * 2).sum(), [xt, ut])
    r = ember.autograd.grad((xe * 2).sum(), [xe, ue], allow_unused=True)
    assert r[1] is None
    r = ember.autograd.grad((xe * 2).sum(), [xe, ue], materialize_grads=True)
    assert r[1].tolist() == [0, 0, 0]
    go = ember.tensor([1.0, 2.0, 3.0])
    assert_same(
        ember.autograd.grad(xe * we, xe, grad_outputs=go)[0],
        torch.autograd.grad(xt * wt, xt, grad_outputs=to_torch(go))[0],
    )
    he, ht = xe * 2, xt * 2
    assert_same(
        ember.autograd.grad((he**2).sum(), he)[0], torch.autograd.grad((ht**2).sum(), ht)[0]
    )
    ye, yt = xe * we, xt * wt
    assert_same(
        ember.autograd.grad([ye.sum(), (ye * 2).sum()], [we])[0],
        torch.autograd.grad([yt.sum(), (yt * 2).sum()], [wt])[0],
    )


def test_grad_modes_context_and_decorator():
    xe = ember.ones(2, requires_grad=True)
    with ember.no_grad():
        assert not ember.is_grad_enabled()
        assert not (xe * 2).requires_grad
        with ember.enable_grad():
            assert (xe * 2).requires_grad
    assert ember.is_grad_enabled()

    @ember.no_grad()
    def f(x):
        return x * 2

    @ember.no_grad
    def f2(x):
        return x * 2

    @ember.enable_grad()
    def g(x):
        return x * 2

    assert not f(xe).requires_grad and not f2(xe).requires_grad
    with ember.no_grad():
        assert g(xe).requires_grad
    with ember.set_grad_enabled(False):
        assert not (xe * 2).requires_grad
    assert ember.is_grad_enabled()
    ember.set_grad_enabled(False)
    assert not ember.is_grad_enabled()
    ember.set_grad_enabled(True)
    with ember.inference_mode():
        assert not (xe * 2).requires_grad and ember.is_inference_mode_enabled()

    @ember.inference_mode()
    def h(x):
        return x * 2

    assert not h(xe).requires_grad
    with ember.inference_mode(False):
        assert (xe * 2).requires_grad
    with ember.autograd.set_grad_enabled(False):
        assert not ember.autograd.grad_mode.is_grad_enabled()


def test_grad_mode_generator_decorator():
    @ember.no_grad()
    def gen():
        yield ember.is_grad_enabled()
        yield ember.is_grad_enabled()

    assert list(gen()) == [False, False]
    assert ember.is_grad_enabled()


def test_grad_mode_thread_local():
    out = []
    with ember.no_grad():
        th = threading.Thread(target=lambda: out.append(ember.is_grad_enabled()))
        th.start()
        th.join()
        assert not ember.is_grad_enabled()
    assert out == [True]


def test_leaf_grad_dtype_and_broadcast_reduce():
    xe, xt = _leaf((3, 1))
    ye = ember.ones(2, 3, 4, dtype=ember.float64)
    yt = torch.ones(2, 3, 4, dtype=torch.float64)
    (xe * ye).sum().backward()
    (xt * yt).sum().backward()
    assert_same(xe.grad, xt.grad)


def test_backward_through_shared_subgraph():
    xe, xt = _leaf()
    for x in (xe, xt):
        a = x * 2
        b = a * a
        c = a + b
        d = (c * a).sum() + a.sum()
        d.backward()
    assert_same(xe.grad, xt.grad)


def test_node_hooks():
    xe, _ = _leaf()
    y = xe * 2
    calls = []
    y.grad_fn.register_hook(lambda gi, go: calls.append((len(gi), len(go))))
    y.grad_fn.register_prehook(lambda go: (go[0] * 2,))
    y.sum().backward()
    assert calls == [(2, 1)]
    assert xe.grad.tolist() == [4, 4, 4]


def test_second_backward_without_saved_tensors_is_allowed():
    xe, xt = _leaf()
    for x in (xe, xt):
        y = (x + 1).sum()
        y.backward()
        y.backward()
    assert_same(xe.grad, xt.grad)


def test_set_grad_enabled_as_decorator():
    @ember.set_grad_enabled(False)
    def f(x):
        return x * 2

    assert ember.is_grad_enabled()
    x = ember.ones(1, requires_grad=True)
    assert not f(x).requires_grad
    assert ember.is_grad_enabled()


def test_post_accumulate_grad_hook():
    for lib, x in zip(("e", "t"), _leaf()):
        seen = []
        x.register_post_accumulate_grad_hook(lambda p, seen=seen: seen.append(p.grad.clone()))
        (x * 3).sum().backward()
        assert len(seen) == 1 and seen[0].tolist() == [3.0, 3.0, 3.0], lib


def test_a_sole_gradient_becomes_grad_uncopied_and_shared_ones_are_copied(monkeypatch):
    """A leaf's gradient that nothing else refers to is taken as .grad without a copy (as torch's
    AccumulateGrad with a use count of 1); one that another input, a retained .grad, the
    caller's gradient or a saved tensor also holds is copied, so no two .grads share memory and
    an in-place change to one leaves the other alone."""
    from ember.autograd import engine

    taken = []
    store = engine._store_grad
    monkeypatch.setattr(
        engine,
        "_store_grad",
        lambda t, g, cg, sole=False: taken.append(sole) or store(t, g, cg, sole),
    )
    lin = ember.nn.Linear(6, 4)
    lin(ember.randn(3, 6)).sum().backward()
    assert taken == [True, True]  # the weight's and bias's fresh products
    taken.clear()

    a, b = ember.randn(5, requires_grad=True), ember.randn(5, requires_grad=True)
    (a + b).sum().backward()  # one array handed to both
    assert taken.count(True) <= 1
    assert not np.shares_memory(a.grad.numpy(), b.grad.numpy())
    a.grad.add_(1.0)
    np.testing.assert_array_equal(b.grad.numpy(), np.ones(5, np.float32))

    x = ember.randn(4, requires_grad=True)
    g = ember.arange(4.0)
    x.clone().backward(g)  # clone's backward hands the caller's gradient through
    assert not np.shares_memory(x.grad.numpy(), g.numpy())

    x = ember.randn(4, requires_grad=True)
    y = x * 1.0
    y.retain_grad()
    y.backward(ember.arange(4.0))
    assert not np.shares_memory(x.grad.numpy(), y.grad.numpy())

    # a second backward through the same graph: the first .grad was taken as it came, the
    # second adds into it, and the retained graph's arrays are untouched
    w = ember.randn(3, 3, requires_grad=True)
    out = (w @ ember.ones(3, 2)).sum()
    out.backward(retain_graph=True)
    first = w.grad.numpy().copy()
    out.backward()
    np.testing.assert_allclose(w.grad.numpy(), 2 * first)
