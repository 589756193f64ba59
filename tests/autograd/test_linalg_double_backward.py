"""Second and third derivatives through the decompositions whose backward reads their outputs
(eigh, eigvalsh, svd, svdvals, pinv, qr, lu, eig, and the norms built on them, the nuclear norm
included) and through matrix_exp: against torch's, real and complex, and by finite differences
(gradgradcheck) in float64."""

from __future__ import annotations

import gc
import warnings

import numpy as np
import pytest

import ember
from tests._support.torch_ref import torch


def _sym(m, x):
    return x + x.mT


def _herm(m, x):
    return x + x.mH


def _svd(m, x):
    return m.linalg.svd(x, full_matrices=False)


# gauge-invariant functions of the factors (a loss on a bare eigen- or singular vector's sign or
# phase is ill-defined, in torch as here)
REAL = {
    "eigh_values": (lambda m, x: m.linalg.eigh(_sym(m, x))[0], (4, 4)),
    "eigh_projector": (
        lambda m, x: (lambda v: v[..., :2] @ v[..., :2].mT)(m.linalg.eigh(_sym(m, x))[1]),
        (3, 5, 5),
    ),
    "eigh_both": (
        lambda m, x: (lambda w, v: (w, v.abs()))(*m.linalg.eigh(_sym(m, x), UPLO="U")),
        (4, 4),
    ),
    "eigvalsh": (lambda m, x: m.linalg.eigvalsh(_sym(m, x)), (2, 4, 4)),
    "svdvals": (lambda m, x: m.linalg.svdvals(x), (5, 3)),
    "svd_reconstruction": (
        lambda m, x: (lambda u, s, vh: (u * s.unsqueeze(-2)) @ vh)(*_svd(m, x)),
        (4, 6),
    ),
    "svd_left_projector_tall": (lambda m, x: (lambda u, s, vh: u @ u.mT)(*_svd(m, x)), (6, 4)),
    "svd_right_projector_wide": (
        lambda m, x: (lambda u, s, vh: (vh.mT @ vh, s))(*_svd(m, x)),
        (3, 5),
    ),
    "torch_svd": (
        lambda m, x: (lambda r: (r[0][..., :2] @ r[0][..., :2].mT, r[1]))(m.svd(x)),
        (5, 4),
    ),
    "pinv": (lambda m, x: m.linalg.pinv(x), (4, 3)),
    "pinv_wide_batch": (lambda m, x: m.linalg.pinv(x), (2, 3, 5)),
    "pinv_hermitian": (lambda m, x: m.linalg.pinv(_sym(m, x), hermitian=True), (4, 4)),
    "matrix_norm_2": (lambda m, x: m.linalg.matrix_norm(x, ord=2), (4, 4)),
    "cond": (lambda m, x: m.linalg.cond(x), (4, 4)),
    "qr": (lambda m, x: m.linalg.qr(x), (4, 4)),
    "qr_tall": (lambda m, x: m.linalg.qr(x), (5, 3)),
    "qr_wide": (lambda m, x: m.linalg.qr(x), (3, 5)),
    "qr_r_batch": (lambda m, x: m.linalg.qr(x)[1], (2, 4, 3)),
    "lu": (lambda m, x: m.linalg.lu(x)[1:], (4, 4)),
    "lu_tall": (lambda m, x: m.linalg.lu(x)[1:], (5, 3)),
    "lu_wide": (lambda m, x: m.linalg.lu(x)[1:], (3, 5)),
    "lu_factor": (lambda m, x: m.linalg.lu_factor(x)[0], (4, 4)),
    "eigvals": (lambda m, x: m.linalg.eigvals(x).real, (4, 4)),
    "matrix_exp": (lambda m, x: m.linalg.matrix_exp(x), (3, 3)),
    "matrix_exp_batch": (lambda m, x: m.linalg.matrix_exp(x * 0.5), (2, 3, 3)),
    "nuclear_norm": (lambda m, x: m.linalg.matrix_norm(x, ord="nuc"), (2, 4, 3)),
    "norm_nuc": (lambda m, x: m.norm(x, p="nuc"), (3, 5)),
}

COMPLEX = {
    "eigh_values": (lambda m, x: m.linalg.eigh(_herm(m, x))[0], (3, 3)),
    "eigh_vector_moduli": (lambda m, x: m.linalg.eigh(_herm(m, x))[1].abs(), (3, 3)),
    "svd_values_and_moduli": (lambda m, x: (lambda u, s, vh: (s, u.abs()))(*_svd(m, x)), (4, 3)),
    "pinv_moduli": (lambda m, x: m.linalg.pinv(x).abs(), (3, 4)),
    "qr_invariants": (
        lambda m, x: (lambda q, r: ((r * r.conj()).real, q @ q.mH))(*m.linalg.qr(x)),
        (4, 3),
    ),
    "lu": (lambda m, x: m.linalg.lu(x)[1:], (4, 4)),
    "lu_wide": (lambda m, x: m.linalg.lu(x)[1:], (3, 5)),
    "eigvals": (lambda m, x: m.linalg.eigvals(x), (3, 3)),
    "matrix_exp": (lambda m, x: m.linalg.matrix_exp(x * 0.5), (2, 3, 3)),
    "nuclear_norm": (lambda m, x: m.linalg.matrix_norm(x, ord="nuc"), (3, 4)),
}


def _loss(t, w):
    s = (t * w).sum()
    return s.real if s.is_complex() else s


def _derivatives(mod, fn, x0, v0, weights, third: bool = False):
    """The first gradient of sum(fn(x) * W) (with its graph), then the gradient of the real
    part of sum(first * V); with ``third``, the gradient of |that|^2 once more."""
    x = mod.tensor(x0, requires_grad=True)
    out = fn(mod, x)
    outs = out if isinstance(out, tuple) else (out,)
    obj = sum(_loss(o, mod.tensor(w)) for o, w in zip(outs, weights))
    (g,) = mod.autograd.grad(obj, x, create_graph=True)
    s = (g * mod.tensor(v0)).sum()
    (h,) = mod.autograd.grad(s.real if s.is_complex() else s, x, create_graph=third)
    if not third:
        return g.detach().numpy(), h.numpy()
    hh = (h * h.conj()).real.sum() if h.is_complex() else (h * h).sum()
    (h3,) = mod.autograd.grad(hh, x)
    return h.detach().numpy(), h3.numpy()


def _inputs(shape, complex_: bool, seed: int):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape)
    v = rng.standard_normal(shape)
    if complex_:
        x = x + 1j * rng.standard_normal(shape)
        v = v + 1j * rng.standard_normal(shape)
    return x, v


def _check(fn, shape, complex_: bool, third: bool = False, seed: int = 0):
    x0, v0 = _inputs(shape, complex_, seed)
    out = fn(torch, torch.tensor(x0))
    outs = out if isinstance(out, tuple) else (out,)
    rng = np.random.default_rng(seed + 1)
    weights = [rng.standard_normal(tuple(o.shape)) for o in outs]
    want = _derivatives(torch, fn, x0, v0, weights, third)
    got = _derivatives(ember, fn, x0, v0, weights, third)
    for a, b in zip(got, want):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("name", list(REAL))
def test_second_derivatives_match_torch(name):
    _check(*REAL[name], complex_=False)


@pytest.mark.parametrize("name", list(COMPLEX))
def test_complex_second_derivatives_match_torch(name):
    _check(*COMPLEX[name], complex_=True, seed=3)


@pytest.mark.parametrize("name", ["eigh_values", "svdvals", "pinv", "qr", "lu", "matrix_exp"])
def test_third_derivatives_match_torch(name):
    _check(*REAL[name], complex_=False, third=True, seed=5)


@pytest.mark.parametrize(
    "name", ["eigh_projector", "svd_reconstruction", "pinv_wide_batch", "qr_tall", "lu_wide"]
)
def test_gradgradcheck_float64(name):
    fn, shape = REAL[name]
    x = ember.tensor(np.random.default_rng(7).standard_normal(shape), requires_grad=True)
    assert ember.autograd.gradgradcheck(lambda t: fn(ember, t), (x,))


def test_factors_dropped_before_the_second_backward():
    """U's and Vh's Tensors gone before create_graph's backward reads them: it rebuilds them as
    outputs of the SVD's node, and the derivatives are still torch's."""
    x0, v0 = _inputs((4, 3), False, 9)

    def first(mod):
        x = mod.tensor(x0, requires_grad=True)
        s = mod.linalg.svd(x, full_matrices=False)[1]  # U and Vh: not kept by anything
        gc.collect()
        (g,) = mod.autograd.grad((s * s * s).sum(), x, create_graph=True)
        return x, g

    got, want = [], []
    for mod, into in ((ember, got), (torch, want)):
        x, g = first(mod)
        (h,) = mod.autograd.grad((g * mod.tensor(v0)).sum(), x)
        into.append(h.numpy())
    np.testing.assert_allclose(got[0], want[0], rtol=1e-6, atol=1e-8)


def test_sgn_of_complex_gradient_matches_torch():
    """sgn's gradient for complex input (through abs, too) is torch's, as arrays."""
    z0, _ = _inputs((3, 4), True, 11)
    w = np.random.default_rng(12).standard_normal((3, 4))
    grads = []
    for mod in (ember, torch):
        z = mod.tensor(z0, requires_grad=True)
        ((z.sgn() * mod.tensor(w)).real.sum() + (z.abs() * mod.tensor(w)).sum()).backward()
        grads.append(z.grad.numpy())
    np.testing.assert_allclose(grads[0], grads[1], rtol=1e-12, atol=1e-14)


def test_complex_gradient_of_a_real_input_is_its_real_part_without_a_warning():
    grads = []
    for mod in (ember, torch):
        x = mod.tensor([1.0, -2.0, 0.5], requires_grad=True)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            (x * (1 + 2j)).abs().sum().backward()
        grads.append(x.grad.numpy())
    np.testing.assert_array_equal(grads[0], grads[1])


def test_forward_mode_through_eigvalsh_and_svdvals_matches_torch():
    """Forward mode (double backward underneath) through the decompositions: torch's tangents."""
    rng = np.random.default_rng(13)
    x0, v0 = rng.standard_normal((2, 4, 4)), rng.standard_normal((2, 4, 4))
    x0, v0 = x0 + x0.swapaxes(-1, -2), v0 + v0.swapaxes(-1, -2)
    for f in (
        lambda m: m.linalg.eigvalsh,
        lambda m: m.linalg.svdvals,
        lambda m: m.linalg.pinv,
    ):
        got = ember.func.jvp(f(ember), (ember.tensor(x0),), (ember.tensor(v0),))[1]
        want = torch.func.jvp(f(torch), (torch.tensor(x0),), (torch.tensor(v0),))[1]
        np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-7, atol=1e-9)


@pytest.mark.parametrize(
    "f",
    [lambda a, b: a * b, lambda a, b: a / b, lambda a, b: a**b, lambda a, b: (a * b).real],
)
def test_complex_products_under_create_graph_conjugate_as_torch(f):
    """With create_graph=True the product's and quotient's gradients conjugate their Tensor
    operands (they were conjugated only as arrays: the gradient came out conjugated)."""
    a0, b0 = _inputs((3,), True, 15)
    w0 = np.random.default_rng(16).standard_normal(3) + 0.5j
    got = []
    for mod in (ember, torch):
        a, b = mod.tensor(a0, requires_grad=True), mod.tensor(b0, requires_grad=True)
        y = f(a, b)
        w = mod.tensor(w0 if y.is_complex() else w0.real)
        ga, gb = mod.autograd.grad(y, (a, b), w, create_graph=True)
        (h,) = mod.autograd.grad(((ga * ga.conj()).real + (gb * gb.conj()).real).sum(), a)
        got.append([t.detach().resolve_conj().numpy() for t in (ga, gb, h)])
    for x, y in zip(*got):
        np.testing.assert_allclose(x, y, rtol=1e-10, atol=1e-12)
