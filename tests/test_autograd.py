"""Autograd: graph recording, backward/grad options, hooks, grad modes, Function, in-place
checks, higher-order gradients; compared with torch."""

from __future__ import annotations

import threading

import numpy as np
import pytest
from conftest import assert_same, to_torch, torch

import ember


def _leaf(shape=(3,), seed=0, dtype=np.float32, lo=None):
    a = np.random.default_rng(seed).standard_normal(shape).astype(dtype)
    if lo is not None:
        a = np.abs(a) + lo
    return (
        ember.from_numpy(a.copy()).requires_grad_(),
        torch.from_numpy(a.copy()).requires_grad_(),
    )


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


class _ExpE(ember.autograd.Function):
    @staticmethod
    def forward(ctx, x, k):
        y = x.exp() * k
        ctx.save_for_backward(y)
        ctx.k = k
        return y

    @staticmethod
    def backward(ctx, g):
        (y,) = ctx.saved_tensors
        assert ctx.needs_input_grad == (True, False)
        return g * y, None


class _ExpT(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, k):
        y = x.exp() * k
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, g):
        (y,) = ctx.saved_tensors
        return g * y, None


def test_custom_function():
    xe, xt = _leaf()
    ye, yt = _ExpE.apply(xe, 2.0), _ExpT.apply(xt, 2.0)
    assert_same(ye, yt)
    assert ye.grad_fn is not None and "Backward" in ye.grad_fn.name()
    (ye * ye).sum().backward()
    (yt * yt).sum().backward()
    assert_same(xe.grad, xt.grad)
    with ember.no_grad():
        assert _ExpE.apply(xe, 1.0).grad_fn is None


class _SortE(ember.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        idx = ember.from_numpy(np.argsort(x.detach().numpy()))
        ctx.mark_non_differentiable(idx)
        ctx.save_for_backward(idx)
        return x[idx], idx

    @staticmethod
    def backward(ctx, g, gi):
        (idx,) = ctx.saved_tensors
        out = ember.zeros_like(g)
        out[idx] = g
        return out


def test_custom_function_multiple_outputs_non_differentiable():
    xe, xt = _leaf()
    ve, ie = _SortE.apply(xe)
    assert not ie.requires_grad and ve.requires_grad
    (ve * ember.tensor([1.0, 2.0, 3.0])).sum().backward()
    vt, it = torch.sort(xt)
    (vt * torch.tensor([1.0, 2.0, 3.0])).sum().backward()
    assert_same(xe.grad, xt.grad)


def test_gradcheck():
    x = ember.randn(3, dtype=ember.float64, requires_grad=True)
    w = ember.randn(3, 3, dtype=ember.float64, requires_grad=True)
    assert ember.autograd.gradcheck(lambda a, b: (a @ b).tanh(), (x, w))
    assert ember.autograd.gradcheck(_ExpE.apply, (x, 1.5))

    class Bad(ember.autograd.Function):
        @staticmethod
        def forward(ctx, a):
            return a * 2

        @staticmethod
        def backward(ctx, g):
            return g * 3

    with pytest.raises(RuntimeError):
        ember.autograd.gradcheck(Bad.apply, (x,))
    assert not ember.autograd.gradcheck(Bad.apply, (x,), raise_exception=False)


def _hvp_case(lib, x, v):
    y = (x**3).sum() + (x.sin() * x).sum()
    (g,) = lib.autograd.grad(y, x, create_graph=True)
    (hv,) = lib.autograd.grad((g * v).sum(), x)
    return g, hv


def test_hessian_vector_product():
    xe, xt = _leaf(dtype=np.float64)
    ve = ember.tensor([1.0, -2.0, 0.5], dtype=ember.float64)
    ge, hve = _hvp_case(ember, xe, ve)
    gt, hvt = _hvp_case(torch, xt, to_torch(ve))
    assert_same(ge, gt)
    assert_same(hve, hvt)


def _penalty(lib, x, w, b):
    out = (x @ w + b).tanh().sigmoid()
    loss = (out.exp() + out.log() + out**2 / 3 - out).mean()
    (g,) = lib.autograd.grad(loss, x, create_graph=True)
    pen = ((g * g).sum(1) - 1) ** 2
    return pen.mean()


def test_gradient_penalty():
    xe, xt = _leaf((4, 3), seed=0, dtype=np.float64)
    we, wt = _leaf((3, 2), seed=1, dtype=np.float64)
    be, bt = _leaf((2,), seed=2, dtype=np.float64)
    _penalty(ember, xe, we, be).backward()
    _penalty(torch, xt, wt, bt).backward()
    for a, b in ((xe, xt), (we, wt), (be, bt)):
        assert_same(a.grad, b.grad, rtol=1e-7, atol=1e-9)


@pytest.mark.parametrize(
    "f",
    [
        lambda x: (x * x * x).sum(),
        lambda x: (x / (x * x + 1)).sum(),
        lambda x: (x - 2 * x**2).sum(),
        lambda x: (x.abs() ** 2.5).sum(),
        lambda x: (2**x).sum(),
        lambda x: x.exp().mean(),
        lambda x: (x * x + 1).log().sum(),
        lambda x: x.tanh().sum(),
        lambda x: x.sigmoid().sum(),
        lambda x: (x.reshape(3, 1) @ x.reshape(1, 3)).sum(),
        lambda x: (x.view(1, 3).t().expand(3, 3) * x).sum(),
        lambda x: (x.unsqueeze(0).permute(1, 0).squeeze(1) ** 2).mean(),
        lambda x: (x[1:] * x[:2]).sum(),
    ],
)
def test_second_derivatives(f):
    xe, xt = _leaf(dtype=np.float64)
    (ge,) = ember.autograd.grad(f(xe), xe, create_graph=True)
    (gt,) = torch.autograd.grad(f(xt), xt, create_graph=True)
    assert_same(ge, gt)
    ge.sum().backward()
    gt.sum().backward()
    assert_same(xe.grad, xt.grad)


def test_create_graph_backward_grads_have_graph():
    xe, xt = _leaf(dtype=np.float64)
    (xe**3).sum().backward(create_graph=True)
    (xt**3).sum().backward(create_graph=True)
    assert xe.grad.requires_grad
    ge, gt = xe.grad, xt.grad
    xe.grad = None
    xt.grad = None
    ge.sum().backward()
    gt.sum().backward()
    assert_same(xe.grad, xt.grad)


def test_long_chain_no_recursion():
    x = ember.tensor([1.0], requires_grad=True)
    y = x
    for _ in range(100_000):
        y = y * 1.0
    y.sum().backward()
    assert x.grad.tolist() == [1.0]


def test_inplace_not_saved_is_fine():
    xe, xt = _leaf()
    for x in (xe, xt):
        y = x * 2
        z = y + 1  # add does not save its inputs
        y.add_(5)
        z.sum().backward()
    assert_same(xe.grad, xt.grad)


INPLACE = [
    ("add_", (2.0,)),
    ("sub_", (1.5,)),
    ("mul_", (3.0,)),
    ("div_", (4.0,)),
    ("zero_", ()),
    ("fill_", (7.0,)),
    ("clamp_", (-0.5, 0.5)),
    ("masked_fill_", "mask"),
    ("copy_", "src"),
    ("add_", "other"),
    ("mul_", "other"),
    ("pow_", (2,)),
    ("exp_", ()),
    ("neg_", ()),
    ("sigmoid_", ()),
    ("relu_", ()),
    ("clamp_min_", (0.0,)),
    ("abs_", ()),
]


@pytest.mark.parametrize("name,args", INPLACE, ids=[f"{n}-{a}" for n, a in INPLACE])
def test_inplace_ops_values_grads_versions(name, args):
    xe, xt = _leaf((2, 3))
    oe, ot = _leaf((2, 3), seed=5)
    if args == "mask":
        args_e, args_t = (xe.detach() > 0, 9.0), (xt.detach() > 0, 9.0)
    elif args == "src":
        args_e, args_t = (oe,), (ot,)
    elif args == "other":
        args_e, args_t = (oe,), (ot,)
    else:
        args_e = args_t = args
    ye, yt = xe * 1, xt * 1
    v0 = ye._version
    re_ = getattr(ye, name)(*args_e)
    rt = getattr(yt, name)(*args_t)
    assert re_ is ye and rt is yt
    assert ye._version > v0
    assert_same(ye, yt)
    (ye * ye).sum().backward()
    (yt * yt).sum().backward()
    assert_same(xe.grad, xt.grad)
    if args in ("src", "other"):
        assert_same(oe.grad, ot.grad)


def test_inplace_no_grad_versions_and_iadd():
    e = ember.zeros(3)
    t = torch.zeros(3)
    for x in (e, t):
        v = x._version
        x += 1
        x *= 3
        x -= 1
        x /= 4
        assert x._version == v + 4
    assert_same(e, t)
    x = ember.zeros(3)
    alias = x
    x += 1
    assert alias is x


def test_uniform_normal_inplace_bump_version():
    e = ember.zeros(100)
    v = e._version
    e.uniform_()
    e.normal_()
    assert e._version == v + 2


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


class _SplitE(ember.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        return x * 2, x * 3

    @staticmethod
    def backward(ctx, ga, gb):
        return ga * 2 + gb * 3


class _Scale(ember.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        return x * 5

    @staticmethod
    def backward(ctx, g):
        return g * 5


def test_function_consumes_second_output_of_function():
    xe, xt = _leaf()
    a, b = _SplitE.apply(xe)
    (_Scale.apply(b) + a).sum().backward()
    (((xt * 3) * 5) + xt * 2).sum().backward()
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


def test_functional_jacobian_hessian_vjp_jvp():
    import torch.autograd.functional as TF

    import ember.autograd.functional as EF

    xe, xt = _leaf(dtype=np.float64)
    ve = ember.tensor([1.0, -1.0, 0.5], dtype=ember.float64)

    def fe(x):
        return x.exp() * x.sum()

    def ft(x):
        return x.exp() * x.sum()

    assert_same(EF.jacobian(fe, xe), TF.jacobian(ft, xt))
    assert_same(EF.hessian(lambda x: (x**3).sum(), xe), TF.hessian(lambda x: (x**3).sum(), xt))
    assert_same(EF.vjp(fe, xe, ve)[1], TF.vjp(ft, xt, to_torch(ve))[1])
    assert_same(EF.jvp(fe, xe, ve)[1], TF.jvp(ft, xt, to_torch(ve))[1])
    assert_same(
        EF.hvp(lambda x: (x**3).sum(), xe, ve)[1],
        TF.hvp(lambda x: (x**3).sum(), xt, to_torch(ve))[1],
    )
    v = ember.autograd.Variable(ember.ones(2), requires_grad=True)
    assert v.requires_grad
    with ember.autograd.detect_anomaly():
        pass


def test_function_with_setup_context():
    class Cube(ember.autograd.Function):
        @staticmethod
        def forward(x):
            return x**3

        @staticmethod
        def setup_context(ctx, inputs, output):
            ctx.save_for_backward(inputs[0])

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return g * 3 * x**2

    xe, xt = _leaf()
    Cube.apply(xe).sum().backward()
    (xt**3).sum().backward()
    assert_same(xe.grad, xt.grad)
