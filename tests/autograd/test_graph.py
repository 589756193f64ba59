"""ember.autograd.graph against torch.autograd.graph: saved-tensor hooks (what is packed, how often
unpack runs, hooks that offload or change the saved values, nesting, disabling, save_on_cpu,
custom Functions, retained and higher-order graphs), Node, GradientEdge, increment_version,
register_multi_grad_hook and allow_mutation_on_saved_tensors. Each program runs on both
libraries (``lib`` is ember or torch) and the results are compared."""

from __future__ import annotations

import gc
import threading
import weakref

import numpy as np
import pytest

import ember
from tests._support.cuda import stand_in
from tests._support.torch_ref import assert_same, torch

LIBS = (ember, torch)


def _leaves(lib, *shapes, seed=0, requires_grad=True):
    rng = np.random.default_rng(seed)
    return [lib.from_numpy(rng.standard_normal(s)).requires_grad_(requires_grad) for s in shapes]


def _same(a, b):
    """Two results of one library agree."""
    for u, v in zip(a, b):
        np.testing.assert_allclose(u.detach().numpy(), v.detach().numpy(), rtol=1e-12)


def _counting(lib, log, pack=None, unpack=None):
    """saved_tensors_hooks that record each call in ``log`` ("pack"/"unpack")."""

    def p(t):
        log.append("pack")
        return t if pack is None else pack(t)

    def u(x):
        log.append("unpack")
        return x if unpack is None else unpack(x)

    return lib.autograd.graph.saved_tensors_hooks(p, u)


# --- which tensors an op packs ---------------------------------------------------------------

# (name, program, input shapes): the programs whose saved tensors ember packs as torch does
PACKED = [
    ("mul", lambda lib, x, y: x * y, [(3,), (3,)]),
    ("mul_self", lambda lib, x: x * x, [(3,)]),
    ("exp", lambda lib, x: x.exp(), [(3,)]),
    ("sin", lambda lib, x: x.sin(), [(3,)]),
    ("tanh", lambda lib, x: x.tanh(), [(3,)]),
    ("sigmoid", lambda lib, x: x.sigmoid(), [(3,)]),
    ("relu", lambda lib, x: x.relu(), [(3,)]),
    ("add", lambda lib, x, y: x + y, [(3,), (3,)]),
    ("div", lambda lib, x, y: x / y, [(3,), (3,)]),
    ("pow", lambda lib, x: x**2, [(3,)]),
    ("matmul", lambda lib, x, y: x @ y, [(2, 3), (3, 4)]),
    ("linear", lambda lib, x, w, b: lib.nn.functional.linear(x, w, b), [(2, 3), (4, 3), (4,)]),
    ("sum", lambda lib, x: x.sum(), [(3,)]),
    ("mean", lambda lib, x: x.mean(), [(3,)]),
    ("view", lambda lib, x: x.view(6), [(2, 3)]),
    ("abs_log", lambda lib, x: x.abs().log(), [(3,)]),
    ("abs_sqrt", lambda lib, x: x.abs().sqrt(), [(3,)]),
    ("softmax", lambda lib, x: x.softmax(-1), [(2, 3)]),
    ("log_softmax", lambda lib, x: x.log_softmax(-1), [(2, 3)]),
    ("chain", lambda lib, x, y: ((x * y).exp() + x.sin()).sum(), [(3,), (3,)]),
]


def _packed_kinds(lib, program, shapes):
    """What the pack hook received (input i, the output, or another tensor), sorted, and how
    many times unpack ran in one backward."""
    xs = _leaves(lib, *shapes)
    got = []
    unpacks = []

    def pack(t):
        got.append(t)
        return t

    def unpack(t):
        unpacks.append(1)
        return t

    with lib.autograd.graph.saved_tensors_hooks(pack, unpack):
        y = program(lib, *xs)
    kinds = []
    for t in got:
        k = [f"in{i}" for i, x in enumerate(xs) if t is x]
        kinds.append(k[0] if k else ("out" if t is y else "other"))
    y.sum().backward()
    return sorted(kinds), len(unpacks), [x.grad for x in xs]


@pytest.mark.parametrize("name,program,shapes", PACKED, ids=[c[0] for c in PACKED])
def test_packs_what_torch_packs(name, program, shapes):
    ke, ne, ge = _packed_kinds(ember, program, shapes)
    kt, nt, gt = _packed_kinds(torch, program, shapes)
    if name == "linear":  # torch packs weight.t(), a view of the weight; ember the weight
        kt = ["in1" if k == "other" else k for k in kt]
    assert ke == kt
    assert ne == nt == len(kt)
    for a, b in zip(ge, gt):
        assert_same(a, b)


def test_no_pack_without_a_graph():
    for lib in LIBS:
        log = []
        (x,) = _leaves(lib, (3,))
        with _counting(lib, log):
            with lib.no_grad():
                x.exp()
            x.detach().exp()
        assert log == []


# --- hooks that offload or change the saved values --------------------------------------------


def _mlp_step(lib, hooks=None):
    """One float64 forward and backward of a two-layer MLP; returns the parameters' grads."""
    lib.manual_seed(0)
    rng = np.random.default_rng(1)
    net = lib.nn.Sequential(
        lib.nn.Linear(5, 8), lib.nn.Tanh(), lib.nn.Linear(8, 3), lib.nn.ReLU()
    ).double()
    with lib.no_grad():
        for p in net.parameters():
            p.copy_(lib.from_numpy(rng.standard_normal(tuple(p.shape))))
    x = lib.from_numpy(rng.standard_normal((4, 5)))
    target = lib.from_numpy(rng.standard_normal((4, 3)))
    if hooks is None:
        loss = ((net(x) - target) ** 2).mean()
    else:
        with hooks:
            loss = ((net(x) - target) ** 2).mean()
    loss.backward()
    return [p.grad for p in net.parameters()]


def test_offload_to_numpy_copies():
    counts = {}
    grads = {}
    for lib in LIBS:
        log = []
        hooks = _counting(
            lib,
            log,
            pack=lambda t: np.array(t.detach().numpy(), copy=True),
            unpack=lambda a, lib=lib: lib.from_numpy(a),
        )
        grads[lib] = _mlp_step(lib, hooks)
        _same(grads[lib], _mlp_step(lib))
        counts[lib] = (log.count("pack"), log.count("unpack"))
    assert_same(grads[ember], grads[torch])
    assert counts[ember][0] == counts[ember][1] > 0
    assert counts[torch][0] == counts[torch][1] > 0


def test_the_node_keeps_only_what_pack_returned():
    (x,) = _leaves(ember, (1000,))
    h = x + 1  # (add saves nothing)
    ref = weakref.ref(h._data)
    with ember.autograd.graph.saved_tensors_hooks(
        lambda t: t.detach().numpy().copy(), lambda a: ember.from_numpy(a)
    ):
        y = h.sin()  # sin reads its input: h's array is packed, the copy is what stays
    del h
    gc.collect()
    assert ref() is None
    y.sum().backward()
    assert_same(x.grad, torch.from_numpy(np.cos(x._data + 1)))


def test_hooks_that_change_the_saved_value_change_the_gradient():
    def program(lib):
        x, w = _leaves(lib, (4,), (4,))
        with lib.autograd.graph.saved_tensors_hooks(lambda t: t * 2, lambda t: t + 1):
            y = (x.exp() * w).sum() + x.sin().sum()
        y.backward()
        return x.grad, w.grad

    assert_same(program(ember), program(torch))


def test_unpack_hook_runs_with_grad_mode_off_and_may_move_dtype():
    def program(lib):
        (x,) = _leaves(lib, (3,))
        modes = []

        def unpack(t):
            modes.append(lib.is_grad_enabled())
            return t

        with lib.autograd.graph.saved_tensors_hooks(lambda t: t, unpack):
            y = x.sin()
        y.sum().backward()
        return modes, x.grad

    (me, ge), (mt, gt) = program(ember), program(torch)
    assert me == mt == [False]
    assert_same(ge, gt)


@pytest.mark.parametrize("lib", LIBS, ids=["ember", "torch"])
def test_pack_hook_sees_no_grad_mode_and_the_tensor_itself(lib):
    (x,) = _leaves(lib, (3,))
    seen = []

    def pack(t):
        seen.append((t, lib.is_grad_enabled(), t.requires_grad))
        return t

    with lib.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        y = x.exp()
    assert len(seen) == 1 and seen[0][0] is y and seen[0][1:] == (False, True)


def test_nested_hooks_innermost_wins():
    def program(lib):
        log = []
        x, w = _leaves(lib, (3,), (3,))
        with _counting(lib, log, pack=lambda t: ("outer", t), unpack=lambda p: p[1]):
            a = x * w
            with _counting(lib, log, pack=lambda t: ("inner", t * 3), unpack=lambda p: p[1]):
                b = a.sin()
            c = b.exp()
        (c.sum() + a.sum()).backward()
        return log, x.grad, w.grad

    (le, *ge), (lt, *gt) = program(ember), program(torch)
    assert le.count("pack") == lt.count("pack") == 4
    assert le.count("unpack") == lt.count("unpack") == 4
    assert_same(ge, gt)


@pytest.mark.parametrize("lib", LIBS, ids=["ember", "torch"])
def test_hooks_are_per_thread(lib):
    log = []
    (x,) = _leaves(lib, (3,))
    ys = []
    with _counting(lib, log):
        th = threading.Thread(target=lambda: ys.append(x.exp()))
        th.start()
        th.join()
    ys[0].sum().backward()
    assert log == []


def test_unpack_must_return_a_tensor_and_pack_must_not_mutate():
    for lib in LIBS:
        (x,) = _leaves(lib, (3,))
        with lib.autograd.graph.saved_tensors_hooks(lambda t: t, lambda t: 3):
            y = x.sin()
        with pytest.raises(TypeError, match="unpack_hook expected to be a Tensor"):
            y.sum().backward()
        a = x.detach().clone().requires_grad_()
        with lib.autograd.graph.saved_tensors_hooks(lambda t: t.add_(1), lambda t: t):
            with pytest.raises(RuntimeError, match="pack hook is modifying its input in place"):
                a.sin()


def test_no_version_check_on_hooked_values():
    # torch checks no versions of what a hook packed: an in-place change after saving is
    # seen by identity hooks and not by copying ones
    def program(lib, copy):
        (x,) = _leaves(lib, (3,))
        a = x * 1
        pack = (lambda t: t.clone()) if copy else (lambda t: t)
        with lib.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
            y = a.sin()
        with lib.no_grad():
            a.add_(1)
        y.sum().backward()
        return x.grad

    for copy in (False, True):
        assert_same(program(ember, copy), program(torch, copy))


# --- disable_saved_tensors_hooks ---------------------------------------------------------------


@pytest.mark.parametrize("lib", LIBS, ids=["ember", "torch"])
def test_disable_saved_tensors_hooks(lib):
    g = lib.autograd.graph
    with g.disable_saved_tensors_hooks("no hooks here"):
        with pytest.raises(RuntimeError, match="^no hooks here$"):
            with g.saved_tensors_hooks(lambda t: t, lambda t: t):
                pass
        with g.disable_saved_tensors_hooks("inner"):
            with pytest.raises(RuntimeError, match="^inner$"):
                g.saved_tensors_hooks(lambda t: t, lambda t: t).__enter__()
        with pytest.raises(RuntimeError, match="^no hooks here$"):
            g.saved_tensors_hooks(lambda t: t, lambda t: t).__enter__()
    with g.saved_tensors_hooks(lambda t: t, lambda t: t):  # allowed again
        with pytest.raises(RuntimeError, match="^not now$"):  # refused under hooks
            with g.disable_saved_tensors_hooks("not now"):
                pass
        with g.saved_tensors_hooks(lambda t: t, lambda t: t):  # and nothing left disabled
            pass

    @g.disable_saved_tensors_hooks("decorated")
    def f():
        with g.saved_tensors_hooks(lambda t: t, lambda t: t):
            pass

    with pytest.raises(RuntimeError, match="^decorated$"):
        f()


# --- save_on_cpu --------------------------------------------------------------------------------


def test_save_on_cpu_mlp_step():
    ge = _mlp_step(ember, ember.autograd.graph.save_on_cpu())
    _same(ge, _mlp_step(ember))
    assert_same(ge, _mlp_step(torch, torch.autograd.graph.save_on_cpu()))
    _same(
        _mlp_step(ember, ember.autograd.graph.save_on_cpu(pin_memory=False, device_type="cuda")),
        ge,
    )


def _recording_pack(hooks, seen):
    """``hooks`` with its pack hook's results also appended to ``seen``."""
    pack = hooks.pack_hook
    hooks.pack_hook = lambda t: seen.append(pack(t)) or seen[-1]
    return hooks


@pytest.mark.parametrize("lib", LIBS, ids=["ember", "torch"])
@pytest.mark.parametrize("pin", [False, True])
def test_save_on_cpu_keeps_a_cpu_tensor_or_copies_it_when_pinning(lib, pin):
    (x,) = _leaves(lib, (3,))
    a = x * 1
    seen = []
    with _recording_pack(lib.autograd.graph.save_on_cpu(pin_memory=pin), seen):
        y = a.sin()
    with lib.no_grad():
        a.add_(1)  # a copy keeps the saved value; without one backward sees the change
    y.sum().backward()
    assert (seen[0][1] is a) is not pin
    want = np.cos(x.detach().numpy() + (0 if pin else 1))
    np.testing.assert_allclose(x.grad.numpy(), want, rtol=1e-12)


@pytest.fixture
def fake_cuda():
    """The CuPy stand-in of tests/_support as ``cupy`` (CUDA tensors without a GPU)."""
    with stand_in() as fake:
        yield fake


def test_save_on_cpu_moves_cuda_tensors_to_the_host_and_back(fake_cuda):
    x = ember.from_numpy(np.linspace(-1, 1, 6)).to("cuda").requires_grad_()
    packed = []
    with _recording_pack(ember.autograd.graph.save_on_cpu(), packed):
        y = (x.sin() * x).sum()
    assert packed and all(dev == x.device and t.is_cpu for dev, t in packed)
    gets, puts = fake_cuda.stats["get"], fake_cuda.stats["put"]
    y.backward()
    assert fake_cuda.stats["get"] == gets  # no reads back to the host
    assert fake_cuda.stats["put"] == puts + len(packed)  # each unpack copies to the device
    assert x.grad.device == x.device
    want = np.cos(x._data.get()) * x._data.get() + np.sin(x._data.get())
    np.testing.assert_allclose(x.grad._data.get(), want, rtol=1e-12)


# --- custom Functions --------------------------------------------------------------------------


def _function(lib):
    class Scale(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x, y):
            out = x * y
            ctx.save_for_backward(x, None, out)
            return out

        @staticmethod
        def backward(ctx, g):
            x, none, out = ctx.saved_tensors
            x2, _, _ = ctx.saved_tensors  # a second access unpacks again, as torch
            assert none is None
            return g * out / x2, g * x

    return Scale


def test_custom_function_through_hooks():
    def program(lib):
        x, y = _leaves(lib, (3,), (3,))
        seen = []
        log = []

        def pack(t):
            seen.append("x" if t is x else ("y" if t is y else "other"))
            return t.detach().clone() * 2

        with _counting(lib, log, pack=pack, unpack=lambda t: t / 2):
            out = _function(lib).apply(x, y)
        out.sum().backward()
        return seen, log, x.grad, y.grad

    (se, le, *ge), (st, lt, *gt) = program(ember), program(torch)
    assert se == st == ["x", "other"]
    assert le == lt == ["pack", "pack"] + ["unpack"] * 4
    assert_same(ge, gt)


def test_custom_function_without_a_graph_packs_nothing():
    for lib in LIBS:
        log = []
        x, y = _leaves(lib, (3,), (3,), requires_grad=False)
        with _counting(lib, log):
            _function(lib).apply(x, y)
        assert log == []


# --- retained and higher-order graphs ------------------------------------------------------------


def test_retain_graph_unpacks_on_every_backward():
    def program(lib):
        log = []
        x, w = _leaves(lib, (3,), (3,))
        with _counting(lib, log, pack=lambda t: t.detach().clone(), unpack=lambda t: t):
            y = (x.exp() * w).sin().sum()
        y.backward(retain_graph=True)
        y.backward()
        with pytest.raises(RuntimeError, match="second time"):
            y.backward()
        return log, x.grad, w.grad

    (le, *ge), (lt, *gt) = program(ember), program(torch)
    assert le.count("pack") == lt.count("pack") == 4
    assert le.count("unpack") == lt.count("unpack") == 8
    assert_same(ge, gt)


def test_create_graph_through_copying_hooks():
    # the unpacked copies stand for the original tensors in the graph, as torch
    def program(lib):
        x, w = _leaves(lib, (3,), (3,))
        with lib.autograd.graph.saved_tensors_hooks(
            lambda t: t.detach().clone(), lambda t: t.clone()
        ):
            y = (x.sin() * w * x).sum()
        gx, gw = lib.autograd.grad(y, (x, w), create_graph=True)
        (gx.sum() + (gw * gw).sum()).backward()
        return gx, gw, x.grad, w.grad

    assert_same(program(ember), program(torch))


def test_create_graph_through_custom_function_hooks():
    def program(lib):
        x, y = _leaves(lib, (3,), (3,))
        with lib.autograd.graph.saved_tensors_hooks(
            lambda t: t.detach().clone(), lambda t: t.clone()
        ):
            out = _function(lib).apply(x, y)
        (gx,) = lib.autograd.grad(out.sum(), (x,), create_graph=True)
        gx.sum().backward()
        return gx, y.grad

    assert_same(program(ember), program(torch))


# --- allow_mutation_on_saved_tensors -------------------------------------------------------------


def test_allow_mutation_on_saved_tensors():
    def program(lib):
        (x,) = _leaves(lib, (3,))
        g = lib.autograd.graph
        with g.allow_mutation_on_saved_tensors():
            a = x.clone()
            y = (a.sin() * a).sum()
            with lib.no_grad():
                a.mul_(3)  # would fail backward's version check without the block
            y.backward()
            b = x.clone()
            z = b.exp()
        with pytest.raises(AssertionError, match="outside of the 'allow_mutation_on_saved"):
            z.sum().backward()
        with pytest.raises(RuntimeError, match="cannot be nested"):
            with g.allow_mutation_on_saved_tensors():
                with g.allow_mutation_on_saved_tensors():
                    pass
        return x.grad

    assert_same(program(ember), program(torch))


# --- Node, GradientEdge, increment_version --------------------------------------------------------


def test_node_is_the_base_of_every_grad_fn():
    x, y = _leaves(ember, (3,), (3,))
    z = _function(ember).apply(x, y).exp()
    node = ember.autograd.graph.Node
    assert isinstance(z.grad_fn, node)
    fn = z.grad_fn.next_functions[0][0]
    assert isinstance(fn, node) and fn.name() == "ScaleBackward"
    assert isinstance(fn.next_functions[0][0], node)
    assert z.grad_fn.name() == "ExpBackward0"
    assert z.grad_fn.metadata == {}


def test_gradient_edge():
    def program(lib):
        g = lib.autograd.graph
        (x,) = _leaves(lib, (3,))
        y = x * 2
        z = y.sin()
        e = g.get_gradient_edge(y)
        assert e.node is y.grad_fn and e.output_nr == 0 and e.ownership_token is None
        assert g.get_gradient_edge(x).node.name().endswith("AccumulateGrad")
        (gy,) = lib.autograd.grad(z.sum(), e, retain_graph=True)
        gy2, gx = lib.autograd.grad(z.sum(), [e, x], retain_graph=True)
        (gx2,) = lib.autograd.grad(g.get_gradient_edge(z), x, grad_outputs=lib.ones(3))
        _, s, _ = lib.linalg.svd(x.reshape(3, 1) * x)  # the second output of its node
        es = g.get_gradient_edge(s)
        assert es.node is s.grad_fn and es.output_nr == 1
        (gs,) = lib.autograd.grad((s * s).sum(), es)
        with pytest.raises(RuntimeError, match="not possible to get the gradient edge"):
            g.get_gradient_edge(lib.ones(2))
        return gy, gy2, gx, gx2, gs

    assert_same(program(ember), program(torch))


def test_increment_version():
    for lib in LIBS:
        g = lib.autograd.graph
        (x,) = _leaves(lib, (3,))
        a = x * 1
        y = a.sin()
        v = a._version
        g.increment_version(a)
        assert a._version == v + 1
        g.increment_version([a, a])
        assert a._version == v + 3
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            y.sum().backward()


# --- register_multi_grad_hook --------------------------------------------------------------------


def test_multi_grad_hook_all():
    def program(lib):
        a, b = _leaves(lib, (2, 3), (2, 3))
        c = a * b
        d = a * b
        calls = []
        handle = lib.autograd.graph.register_multi_grad_hook(
            (a, b, c, d), lambda grads: calls.append([None if g is None else g for g in grads])
        )
        c.sum().backward(retain_graph=True)
        c.sum().backward(inputs=(a,), retain_graph=True)
        (c.sum() + d.sum()).backward(retain_graph=True)
        handle.remove()
        c.sum().backward()
        return calls

    ce, ct = program(ember), program(torch)
    assert [[g is not None for g in c] for c in ce] == [[g is not None for g in c] for c in ct]
    assert [[g is not None for g in c] for c in ce] == [
        [True, True, True, False],
        [True, False, True, False],
        [True, True, True, True],
    ]
    for e, t in zip(ce, ct):
        assert_same([g for g in e if g is not None], [g for g in t if g is not None])


def test_multi_grad_hook_all_with_autograd_grad():
    # (torch refuses leaves here: "A leaf node was passed to _will_engine_execute_node but we
    # are currently running autograd.grad()"; ember counts them as for backward)
    def program(lib):
        (x,) = _leaves(lib, (3,))
        y = x * 2
        u = y.sin()
        v = y.exp()
        calls = []
        lib.autograd.graph.register_multi_grad_hook((y, u, v), calls.append)
        lib.autograd.grad(u.sum(), y, retain_graph=True)
        lib.autograd.grad(u.sum() + v.sum(), (x,))
        return calls

    ce, ct = program(ember), program(torch)
    assert [[g is not None for g in c] for c in ce] == [[g is not None for g in c] for c in ct]
    assert [[g is not None for g in c] for c in ce] == [[True, True, False], [True, True, True]]
    for e, t in zip(ce, ct):
        assert_same([g for g in e if g is not None], [g for g in t if g is not None])
    (x,) = _leaves(ember, (3,))
    calls = []
    ember.autograd.graph.register_multi_grad_hook((x, x * 2), calls.append)
    ember.autograd.grad((x * 3).sum(), x)
    assert len(calls) == 1 and calls[0][1] is None


def test_multi_grad_hook_any():
    def program(lib):
        (x,) = _leaves(lib, (3,))
        y = x * 2
        z = (y * 3).sin()
        calls = []
        lib.autograd.graph.register_multi_grad_hook((x, y), calls.append, mode="any")
        z.sum().backward(retain_graph=True)
        (gx,) = lib.autograd.grad(z.sum(), x)
        return calls, gx

    (ce, ge), (ct, gt) = program(ember), program(torch)
    assert len(ce) == len(ct) == 2
    assert_same(ce, ct)
    assert_same(ge, gt)
    with pytest.raises(ValueError, match="Expects mode to be one of"):
        ember.autograd.graph.register_multi_grad_hook(_leaves(ember, (3,)), print, mode="some")


def test_tensor_hooks_run_before_capture():
    # autograd.grad captures a gradient after the hooks of the tensor when its node does not
    # run, before them when it does (torch's order)
    def program(lib):
        x = lib.ones(3, requires_grad=True)
        y = x * 2
        z = (y * 3).sum()
        log = []
        x.register_hook(lambda g: log.append("x") or g * 10)
        y.register_hook(lambda g: log.append("y") or g * 100)
        out = [
            lib.autograd.grad(z, [x], retain_graph=True),
            lib.autograd.grad(z, [y], retain_graph=True),
            lib.autograd.grad(z, [x, y], retain_graph=True),
        ]
        z.backward(inputs=[x], retain_graph=True)
        z.backward(inputs=[y])
        return out, y.grad, x.grad, log

    oe, *re_ = program(ember)
    ot, *rt = program(torch)
    assert_same(oe, ot)
    assert_same(re_[:2], rt[:2])
    assert re_[2] == rt[2]


def test_torch_alias_module():
    import ember.autograd.graph as graph

    assert ember.autograd.graph is graph
    assert set(graph.__all__) <= set(dir(torch.autograd.graph))
