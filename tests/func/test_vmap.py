"""ember.func.vmap against torch.func.vmap: the batched path, the per-sample path, in_dims and
out_dims forms, nesting, randomness and the errors."""

from __future__ import annotations

import numpy as np
import pytest

import ember
import ember.func._vmap as vm
from tests._support.torch_ref import torch
from tests.func._pairs import arr, assert_close, both


@pytest.fixture(params=["batched", "loop"])
def path(request):
    """Every case runs on the batched path (which must not fall back) and on the loop."""
    if request.param == "batched":
        vm._debug[0] = True
    else:
        vm._force_loop[0] = True
    yield request.param
    vm._debug[0] = False
    vm._force_loop[0] = False


# (name, function of (m, *tensors), shapes of the inputs, in_dims)
CASES = [
    ("add_broadcast", lambda m, x, y: x + y * 2.0, [(5, 3), (3,)], (0, None)),
    ("both_batched_ranks", lambda m, x, y: x * y - x / (1 + y * y), [(5, 3, 2), (5, 2)], 0),
    ("unary_chain", lambda m, x: m.tanh(x).exp().sin() + m.sigmoid(x), [(4, 3)], 0),
    ("mv", lambda m, x, w: w @ x, [(4, 3), (2, 3)], (0, None)),
    ("vm", lambda m, x, w: x @ w, [(4, 3), (3, 2)], (0, None)),
    ("vv", lambda m, x, y: x @ y, [(4, 3), (4, 3)], 0),
    ("vec_batched_right", lambda m, v, x: v @ x, [(3,), (4, 3, 2)], (None, 0)),
    ("mm_both", lambda m, a, b: m.matmul(a, b), [(4, 2, 3), (4, 3, 5)], 0),
    ("mm_left_fixed", lambda m, a, b: a @ b, [(2, 3), (4, 3, 5)], (None, 0)),
    ("bmm_inside", lambda m, a, b: a @ b, [(4, 6, 2, 3), (3, 5)], (0, None)),
    ("mat_vec_batched", lambda m, a, v: a @ v, [(4, 2, 3), (4, 3)], 0),
    ("sum_dims", lambda m, x: x.sum(0) + x.sum(-1, keepdim=True).sum(), [(4, 3, 2)], 0),
    ("mean_max", lambda m, x: x.mean(1) * x.amax(0).sum() + x.max(), [(4, 3, 5)], 0),
    ("softmax", lambda m, x: m.softmax(x, -1) + m.log_softmax(x, 0), [(4, 3, 5)], 0),
    ("reshape_view", lambda m, x: x.reshape(-1).view(2, 3).t().unsqueeze(0), [(4, 6)], 0),
    (
        "permute_flatten",
        lambda m, x: x.permute(2, 0, 1).flatten(1).transpose(0, 1),
        [(3, 2, 4, 5)],
        0,
    ),
    ("index_basic", lambda m, x: x[1:, None, ::2][..., 0] * x[0], [(4, 3, 5)], 0),
    ("index_adv", lambda m, x, i: x[:, i] + x[i, 1:2].sum(), [(4, 3, 5), (2,)], (0, None)),
    ("index_batched", lambda m, x, i: x[i] * 2, [(4, 6, 2), (4, 3)], 0),
    (
        "stack_cat",
        lambda m, x, y: m.cat([x, y, x * y], 0) * m.stack([x, y], 1).sum(),
        [(4, 3), (3,)],
        (0, None),
    ),
    (
        "linear",
        lambda m, x, w, b: m.nn.functional.linear(x, w, b).relu(),
        [(4, 2, 3), (5, 3), (5,)],
        (0, None, None),
    ),
    ("where_clamp", lambda m, x: m.where(x > 0, x, -x).clamp(0.1, 0.5), [(4, 3)], 0),
    ("cumsum_norm", lambda m, x: x.cumsum(0) / x.norm(), [(4, 3)], 0),
    ("in_dim_1", lambda m, x: x * 3, [(3, 4)], 1),
    ("in_dim_neg", lambda m, x, y: x + y, [(3, 4), (2, 3, 4)], (-1, -1)),
]


@pytest.mark.parametrize("name,fn,shapes,in_dims", CASES, ids=[c[0] for c in CASES])
def test_vmap_matches_torch(path, name, fn, shapes, in_dims):
    es, ts = [], []
    for k, s in enumerate(shapes):
        if name.startswith("index") and k == 1:
            a = np.random.default_rng(k).integers(0, 3, s)
        else:
            a = arr(*s, seed=k)
        e, t = both(a)
        es.append(e)
        ts.append(t)
    got = ember.func.vmap(lambda *a: fn(ember, *a), in_dims=in_dims)(*es)
    want = torch.func.vmap(lambda *a: fn(torch, *a), in_dims=in_dims)(*ts)
    assert_close(got, want)


def test_cross_entropy_and_loss_per_sample(path):
    x, tx = both(arr(6, 2, 5))
    y, ty = both(np.random.default_rng(1).integers(0, 5, (6, 2)))

    def f(m, F, xi, yi):
        return (
            F.cross_entropy(xi, yi)
            + F.cross_entropy(xi, yi, reduction="sum", label_smoothing=0.1)
            + F.nll_loss(F.log_softmax(xi, -1), yi)
            + F.mse_loss(xi, xi.flip(0))
        )

    got = ember.func.vmap(lambda a, b: f(ember, ember.nn.functional, a, b))(x, y)
    want = torch.func.vmap(lambda a, b: f(torch, torch.nn.functional, a, b))(tx, ty)
    assert_close(got, want)


def test_class_weights_take_the_per_sample_path():
    # a plain weight array indexed by batched targets cannot be mapped: the loop answers
    x, tx = both(arr(6, 2, 5))
    y, ty = both(np.random.default_rng(1).integers(0, 5, (6, 2)))
    w, tw = both(np.abs(arr(5)) + 0.1)
    F, TF = ember.nn.functional, torch.nn.functional
    got = ember.func.vmap(lambda a, b: F.cross_entropy(a, b, weight=w))(x, y)
    want = torch.func.vmap(lambda a, b: TF.cross_entropy(a, b, weight=tw))(tx, ty)
    assert_close(got, want)


@pytest.mark.parametrize("out_dims", [0, 1, -1, (1, 0)])
def test_out_dims(path, out_dims):
    x, tx = both(arr(4, 3, 2))

    def f(m, a):
        return a * 2, a.sum(0)

    od = out_dims if isinstance(out_dims, tuple) else (out_dims, 0)
    got = ember.func.vmap(lambda a: f(ember, a), out_dims=od)(x)
    want = torch.func.vmap(lambda a: f(torch, a), out_dims=od)(tx)
    assert_close(got, want)


def test_out_dims_none_and_unbatched_outputs(path):
    x, tx = both(arr(4, 3))
    c, tc = both(arr(3))
    got = ember.func.vmap(lambda a: (a + 1, c * 2, 7), out_dims=(0, 0, None))(x)
    want = torch.func.vmap(lambda a: (a + 1, tc * 2, 7), out_dims=(0, 0, None))(tx)
    assert_close(got, want)
    got = ember.func.vmap(lambda a: (a, c), out_dims=(0, None))(x)
    assert got[1] is c or np.array_equal(got[1].numpy(), c.numpy())


def test_pytree_inputs_and_outputs(path):
    x, tx = both(arr(4, 3))
    y, ty = both(arr(3, 4, seed=3))
    z, tz = both(arr(4, seed=5))

    def f(m, d, pair):
        a, b = pair
        return {"s": d["x"] * b[0], "t": [a + d["z"]]}

    ins = ({"x": 0, "z": None}, (None, 1))
    got = ember.func.vmap(lambda d, p: f(ember, d, p), in_dims=ins)({"x": x, "z": z}, (z, y))
    want = torch.func.vmap(lambda d, p: f(torch, d, p), in_dims=ins)({"x": tx, "z": tz}, (tz, ty))
    assert_close(got, want)


def test_nested_vmap(path):
    x, tx = both(arr(3, 4, 5))
    w, tw = both(arr(5, 2, seed=1))

    def inner(m, ww):
        return lambda row: (row @ ww).tanh().sum()

    got = ember.func.vmap(ember.func.vmap(inner(ember, w)))(x)
    want = torch.func.vmap(torch.func.vmap(inner(torch, tw)))(tx)
    assert_close(got, want)
    # inner over a different dim of the outer sample, with an unmapped argument
    b, tb = both(arr(3, 4, seed=4))
    got = ember.func.vmap(ember.func.vmap(lambda a, c: a * c, in_dims=(1, None)), in_dims=(0, 0))(
        x, b
    )
    want = torch.func.vmap(torch.func.vmap(lambda a, c: a * c, in_dims=(1, None)), in_dims=(0, 0))(
        tx, tb
    )
    assert_close(got, want)


def test_kwargs_are_not_mapped(path):
    x, tx = both(arr(4, 3))
    got = ember.func.vmap(lambda a, scale=1.0: a * scale)(x, scale=3.0)
    want = torch.func.vmap(lambda a, scale=1.0: a * scale)(tx, scale=3.0)
    assert_close(got, want)


def test_chunk_size_is_accepted():
    x, tx = both(arr(6, 3))
    assert_close(ember.func.vmap(ember.sin, chunk_size=2)(x), torch.func.vmap(torch.sin)(tx))
    assert_close(ember.vmap(ember.sin)(x), torch.vmap(torch.sin)(tx))


def test_batched_path_is_taken_for_per_sample_grads():
    """The benchmark's pattern runs batched (the fast path), with torch's numbers."""
    vm._debug[0] = True
    try:
        m = ember.nn.Sequential(ember.nn.Linear(6, 5), ember.nn.ReLU(), ember.nn.Linear(5, 3))
        tm = torch.nn.Sequential(torch.nn.Linear(6, 5), torch.nn.ReLU(), torch.nn.Linear(5, 3))
        params = {k: v.detach().double() for k, v in m.named_parameters()}
        tparams = {k: torch.tensor(v.numpy()) for k, v in params.items()}
        x, tx = both(arr(8, 6))
        y, ty = both(np.random.default_rng(2).integers(0, 3, 8))

        def loss(fc, F, model):
            def f(p, xi, yi):
                out = fc(model, p, (xi.unsqueeze(0),))
                return F.cross_entropy(out, yi.unsqueeze(0))

            return f

        got = ember.func.vmap(
            ember.func.grad(loss(ember.func.functional_call, ember.nn.functional, m.double())),
            in_dims=(None, 0, 0),
        )(params, x, y)
        want = torch.func.vmap(
            torch.func.grad(loss(torch.func.functional_call, torch.nn.functional, tm.double())),
            in_dims=(None, 0, 0),
        )(tparams, tx, ty)
        assert_close(got, want)
    finally:
        vm._debug[0] = False


def test_batched_path_is_taken_for_grad_of_sums_and_means():
    vm._debug[0] = True
    try:
        x, tx = both(arr(6, 5))
        w, tw = both(arr(5, seed=1))

        def f(m, ww):
            return lambda a: (a * ww).sin().sum() + (a * a).mean() + a.norm()

        got = ember.func.vmap(ember.func.grad(f(ember, w)))(x)
        want = torch.func.vmap(torch.func.grad(f(torch, tw)))(tx)
        assert_close(got, want)
    finally:
        vm._debug[0] = False


def test_fallback_on_data_dependent_control_flow():
    x, tx = both(np.array([[1.0, 2.0], [-1.0, 3.0], [2.0, 2.0]]))

    def f(a):
        return a * 2 if a.sum() > 2 else a - 1  # differs between samples: the loop decides

    got = ember.func.vmap(f)(x)
    want = np.stack([r * 2 if r.sum() > 2 else r - 1 for r in x.numpy()])
    np.testing.assert_array_equal(got.numpy(), want)
    with pytest.raises(RuntimeError):  # torch refuses data-dependent control flow
        torch.func.vmap(f)(tx)


def test_outputs_with_an_outer_graph_keep_it():
    w = ember.tensor(arr(3), requires_grad=True)
    tw = torch.tensor(arr(3), requires_grad=True)
    x, tx = both(arr(4, 3))
    ember.func.vmap(lambda a: (a * w).sum())(x).sum().backward()
    torch.func.vmap(lambda a: (a * tw).sum())(tx).sum().backward()
    assert_close(w.grad, tw.grad)
    xg = ember.tensor(arr(4, 3), requires_grad=True)
    txg = torch.tensor(arr(4, 3), requires_grad=True)
    ember.func.vmap(lambda a: (a * a).sum())(xg).sum().backward()
    torch.func.vmap(lambda a: (a * a).sum())(txg).sum().backward()
    assert_close(xg.grad, txg.grad)


def test_randomness_modes():
    x = ember.zeros(5, 3)
    with pytest.raises(RuntimeError, match="randomness error mode"):
        ember.func.vmap(lambda a: a + ember.rand(3))(x)
    same = ember.func.vmap(lambda a: a + ember.rand(3), randomness="same")(x)
    assert np.allclose(same.numpy(), same.numpy()[:1])
    diff = ember.func.vmap(lambda a: a + ember.rand(3), randomness="different")(x)
    assert not np.allclose(diff.numpy(), diff.numpy()[:1])
    with pytest.raises(RuntimeError, match="Only allowed values for randomness"):
        ember.func.vmap(lambda a: a, randomness="foo")


@pytest.mark.parametrize(
    "call,exc,match",
    [
        (lambda v, x: v(lambda a: a, in_dims=(0, 0))(x), ValueError, "in_dims is not compatible"),
        (lambda v, x: v(lambda a, b: a + b)(x, x[:2]), ValueError, "same size in the mapped"),
        (lambda v, x: v(lambda a: a, in_dims=None)(x), ValueError, "expected `in_dims` to be int"),
        (lambda v, x: v(lambda a: a, in_dims=2)(x), ValueError, "so expected in_dim to satisfy"),
        (lambda v, x: v(lambda a: 1)(x), ValueError, "must only return Tensors"),
        (lambda v, x: v(lambda a: a, in_dims=0)(1.0), ValueError, "cannot vmap over non-Tensor"),
        (lambda v, x: v(lambda a: a, out_dims=(0, 0))(x), ValueError, "out_dims is not compatible"),
        (lambda v, x: v(lambda a: a, in_dims=(None,))(x), ValueError, "at least one Tensor"),
        (lambda v, x: v(lambda a: a, chunk_size=0)(x), ValueError, "chunk_size should be None"),
        (lambda v, x: v(lambda a: a, out_dims=3)(x), IndexError, "Dimension out of range"),
        (lambda v, x: v(lambda a: x * 1, out_dims=None)(x), None, None),
    ],
)
def test_errors_match_torch(call, exc, match):
    x, tx = both(arr(3))
    if exc is None:  # torch accepts these too
        call(ember.func.vmap, x)
        call(torch.func.vmap, tx)
        return
    with pytest.raises(exc, match=match):
        call(torch.func.vmap, tx)
    with pytest.raises(exc, match=match):
        call(ember.func.vmap, x)


def test_batched_out_dims_none_is_an_error():
    x, tx = both(arr(3))
    with pytest.raises(ValueError, match="can not return a BatchedTensor"):
        torch.func.vmap(lambda a: a, out_dims=None)(tx)
    with pytest.raises(ValueError, match="can not return a BatchedTensor"):
        ember.func.vmap(lambda a: a, out_dims=None)(x)


def test_a_batched_value_kept_past_its_vmap_raises_instead_of_computing():
    w = ember.ones(3, requires_grad=True)
    x = ember.tensor(arr(4, 3))

    def f(a):
        (a * w).sum().backward()  # torch rejects backward inside vmap
        return a * 2

    ember.func.vmap(f)(x)
    if w.grad is not None and not isinstance(w.grad._data, np.ndarray):
        with pytest.raises(RuntimeError, match="used after its vmap ended"):
            w.grad + 1
