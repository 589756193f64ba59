"""grad, grad_and_value, vjp, jvp, jacrev, jacfwd and hessian against torch.func, alone and
nested (with each other and with vmap), and their errors."""

from __future__ import annotations

import pytest

import ember
import ember.func as ef
from tests._support.torch_ref import torch
from tests.func._pairs import arr, assert_close, both

tf = torch.func


def _f(m, x, y):
    return (m.sin(x) * y.exp()).sum() + (x @ y.unsqueeze(-1)).tanh().sum() ** 2


def _vec(m, x, y):
    return m.stack([(x * y).sum(-1), (x.exp() / (1 + y * y)).sum(-1)], -1).reshape(-1)


@pytest.fixture
def xy():
    x, tx = both(arr(3, 4))
    y, ty = both(arr(4, seed=1))
    return (x, y), (tx, ty)


@pytest.mark.parametrize("argnums", [0, 1, (0, 1), (1, 0), -1])
def test_grad_and_value(xy, argnums):
    (x, y), (tx, ty) = xy
    got = ef.grad_and_value(lambda a, b: _f(ember, a, b), argnums=argnums)(x, y)
    want = tf.grad_and_value(lambda a, b: _f(torch, a, b), argnums=argnums)(tx, ty)
    assert_close(got, want)
    got = ef.grad(lambda a, b: _f(ember, a, b), argnums=argnums)(x, y)
    assert_close(got, want[0])
    assert got[0].grad_fn is None if isinstance(got, tuple) else got.grad_fn is None


def test_grad_has_aux_and_pytrees(xy):
    (x, y), (tx, ty) = xy

    def f(m, p, z):
        loss = (p["w"] * z).sum() + (p["b"][0] ** 2).sum()
        return loss, {"out": z * 2, "n": [z.sum()]}

    got = ef.grad(lambda p, z: f(ember, p, z), has_aux=True)({"w": x, "b": [y]}, x)
    want = tf.grad(lambda p, z: f(torch, p, z), has_aux=True)({"w": tx, "b": [ty]}, tx)
    assert_close(got, want)
    for f_ in (ef, tf):  # aux holds tensors only
        with pytest.raises(RuntimeError, match="Expected tensors, got unsupported type"):
            f_.grad(lambda a: (a.sum(), 3), has_aux=True)(x if f_ is ef else tx)
        with pytest.raises(RuntimeError, match="Expected tensors, got unsupported type"):
            f_.vjp(lambda a: (a, 3), x if f_ is ef else tx, has_aux=True)


def test_grad_unused_input_is_zero(xy):
    (x, y), (tx, ty) = xy
    got = ef.grad(lambda a, b: (a * 2).sum(), argnums=(0, 1))(x, y)
    want = tf.grad(lambda a, b: (a * 2).sum(), argnums=(0, 1))(tx, ty)
    assert_close(got, want)


def test_vjp(xy):
    (x, y), (tx, ty) = xy
    out, fn = ef.vjp(lambda a, b: (a * b, a.sum(1)), x, y)
    tout, tfn = tf.vjp(lambda a, b: (a * b, a.sum(1)), tx, ty)
    assert_close(out, tout)
    c1, tc1 = both(arr(3, 4, seed=2))
    c2, tc2 = both(arr(3, seed=3))
    assert_close(fn((c1, c2)), tfn((tc1, tc2)))
    assert_close(fn((c2.new_ones(3, 4), c2)), tfn((tc2.new_ones(3, 4), tc2)))  # called twice
    out, fn, aux = ef.vjp(lambda a: (a.exp(), a.sum()), x, has_aux=True)
    tout, tfn, taux = tf.vjp(lambda a: (a.exp(), a.sum()), tx, has_aux=True)
    assert_close((out, aux, fn(c1)), (tout, taux, tfn(tc1)))
    with pytest.raises(RuntimeError, match="Expected pytree structure of cotangents"):
        ef.vjp(lambda a: a * 2, x)[1]((c1, c1))
    with pytest.raises(RuntimeError):
        tf.vjp(lambda a: a * 2, tx)[1]((tc1, tc1))


def test_jvp(xy):
    (x, y), (tx, ty) = xy
    u, tu = both(arr(3, 4, seed=5))
    v, tv = both(arr(4, seed=6))
    got = ef.jvp(lambda a, b: (_vec(ember, a, b), a * b), (x, y), (u, v))
    want = tf.jvp(lambda a, b: (_vec(torch, a, b), a * b), (tx, ty), (tu, tv))
    assert_close(got, want)
    got = ef.jvp(lambda a: (a.sin().sum(), {"x": a}), (x,), (u,), has_aux=True)
    want = tf.jvp(lambda a: (a.sin().sum(), {"x": a}), (tx,), (tu,), has_aux=True)
    assert_close(got, want)
    got = ef.jvp(lambda a, b: a * 3, (x, y), (u, v))  # an output that ignores b
    want = tf.jvp(lambda a, b: a * 3, (tx, ty), (tu, tv))
    assert_close(got, want)


@pytest.mark.parametrize(
    "call,match",
    [
        (lambda f, x: f.jvp(lambda a: a.sum(), x, x), "Expected primals to be a tuple"),
        (lambda f, x: f.jvp(lambda a: a, (x,), (x[:2],)), "different size"),
        (lambda f, x: f.jvp(lambda a: a, (x,), (x, x)), "same python structure"),
    ],
)
def test_jvp_errors(call, match):
    x, tx = both(arr(3))
    with pytest.raises(RuntimeError, match=match):
        call(tf, tx)
    with pytest.raises(RuntimeError, match=match):
        call(ef, x)


@pytest.mark.parametrize("name", ["jacrev", "jacfwd"])
@pytest.mark.parametrize("argnums", [0, (0, 1)])
def test_jacobians(xy, name, argnums):
    (x, y), (tx, ty) = xy
    got = getattr(ef, name)(lambda a, b: _vec(ember, a, b), argnums=argnums)(x, y)
    want = getattr(tf, name)(lambda a, b: _vec(torch, a, b), argnums=argnums)(tx, ty)
    assert_close(got, want)
    # several outputs, a pytree input and aux
    got = getattr(ef, name)(lambda p: ((p["a"] * p["b"], p["a"].sum()), p["b"]), has_aux=True)(
        {"a": x, "b": x * 2}
    )
    want = getattr(tf, name)(lambda p: ((p["a"] * p["b"], p["a"].sum()), p["b"]), has_aux=True)(
        {"a": tx, "b": tx * 2}
    )
    assert_close(got, want)


def test_hessian_and_nesting(xy):
    (x, y), (tx, ty) = xy
    assert_close(
        ef.hessian(lambda a, b: _f(ember, a, b), argnums=(0, 1))(x, y),
        tf.hessian(lambda a, b: _f(torch, a, b), argnums=(0, 1))(tx, ty),
    )
    assert_close(  # grad of grad: the third-derivative-free second derivative of a cubic
        ef.grad(lambda a: ef.grad(lambda b: (b**3).sum())(a).sum())(y),
        tf.grad(lambda a: tf.grad(lambda b: (b**3).sum())(a).sum())(ty),
    )
    assert_close(
        ef.jacrev(ef.jacrev(lambda a: a.sin() * a.sum()))(y),
        tf.jacrev(tf.jacrev(lambda a: a.sin() * a.sum()))(ty),
    )
    assert_close(
        ef.jacfwd(ef.jacfwd(lambda a: a.exp() * a.sum()))(y),
        tf.jacfwd(tf.jacfwd(lambda a: a.exp() * a.sum()))(ty),
    )
    # an inner transform treats the outer one's tensors as constants (levels)
    assert_close(
        ef.grad(lambda a: ef.grad(lambda b: (a * b).sum())(a).sum())(y),
        tf.grad(lambda a: tf.grad(lambda b: (a * b).sum())(a).sum())(ty),
    )


def test_vmap_of_transforms(xy):
    (x, y), (tx, ty) = xy
    assert_close(
        ef.vmap(ef.grad(lambda a, b: (a.sin() * b).sum()), in_dims=(0, None))(x, y),
        tf.vmap(tf.grad(lambda a, b: (a.sin() * b).sum()), in_dims=(0, None))(tx, ty),
    )
    assert_close(
        ef.vmap(ef.jacrev(lambda a: a.exp() * a.sum()))(x),
        tf.vmap(tf.jacrev(lambda a: a.exp() * a.sum()))(tx),
    )
    assert_close(
        ef.vmap(ef.hessian(lambda a: (a**3).sum() * a[0]))(x),
        tf.vmap(tf.hessian(lambda a: (a**3).sum() * a[0]))(tx),
    )
    assert_close(  # a transform of vmap
        ef.jacrev(ef.vmap(lambda a: (a * a).sum()))(x),
        tf.jacrev(tf.vmap(lambda a: (a * a).sum()))(tx),
    )


def test_results_leave_without_a_graph_unless_an_input_has_one(xy):
    (x, y), (tx, ty) = xy
    g = ef.grad(lambda a: (a**2).sum())(x)
    assert not g.requires_grad
    xr = x.detach().requires_grad_(True)
    txr = tx.detach().requires_grad_(True)
    ef.grad(lambda a: (a**3).sum())(xr).sum().backward()
    tf.grad(lambda a: (a**3).sum())(txr).sum().backward()
    assert_close(xr.grad, txr.grad)


@pytest.mark.parametrize(
    "call,exc,match",
    [
        (lambda f, x: f.grad(lambda a: a)(x), RuntimeError, "to return a scalar Tensor"),
        (lambda f, x: f.grad(lambda a: 1.0)(x), RuntimeError, "to return a Tensor, got"),
        (lambda f, x: f.grad(lambda a: a.sum(), has_aux=True)(x), RuntimeError, "(output, aux)"),
        (lambda f, x: f.grad(lambda a: a.sum(), argnums=2)(x), RuntimeError, "Got argnum=2"),
        (lambda f, x: f.grad(lambda a: a.sum(), argnums=())(x), RuntimeError, "non-empty"),
        (lambda f, x: f.grad(lambda a: a.sum(), argnums=1.0)(x), RuntimeError, "argnums must be"),
        (lambda f, x: f.grad(lambda a: a.sum())(1.0), ValueError, "must be Tensor"),
    ],
)
def test_errors_match_torch(call, exc, match):
    x, tx = both(arr(3))
    with pytest.raises(exc, match=match):
        call(tf, tx)
    with pytest.raises(exc, match=match):
        call(ef, x)


def test_op_without_double_backward_raises_instead_of_a_wrong_jvp():
    # ember's cumulative max has no graph-building backward: forward mode must say so
    x = ember.tensor(arr(5))
    try:
        ef.jvp(lambda a: ember.cummax(a, 0)[0], (x,), (x,))
    except RuntimeError as e:
        assert "differentiate twice" in str(e)
    else:  # supported: then it must be right
        got = ef.jvp(lambda a: ember.cummax(a, 0)[0], (x,), (x,))[1]
        tx = torch.tensor(arr(5))
        want = tf.jvp(lambda a: torch.cummax(a, 0)[0], (tx,), (tx,))[1]
        assert_close(got, want)
