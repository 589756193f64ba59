"""nn.functional against torch: forward values, dtypes and input gradients."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import ember
import ember.nn.functional as F
from tests._support.torch_ref import assert_same, to_torch, torch

TF = torch.nn.functional


def _pair(shape, dtype=np.float32, lo=-3.0, hi=3.0, seed=0):
    rng = np.random.default_rng(seed)
    a = rng.uniform(lo, hi, shape).astype(dtype)
    e = ember.tensor(a, requires_grad=True)
    t = torch.tensor(a, requires_grad=True)
    return e, t


def _check(fe, ft, shape=(4, 5), dtype=np.float32, lo=-3.0, hi=3.0, rtol=1e-5, atol=1e-6):
    e, t = _pair(shape, dtype, lo, hi)
    ye, yt = fe(e), ft(t)
    assert_same(ye, yt, rtol, atol)
    rng = np.random.default_rng(1)
    g = rng.standard_normal(tuple(yt.shape)).astype(dtype)
    ye.backward(ember.tensor(g))
    yt.backward(torch.tensor(g))
    assert_same(e.grad, t.grad, rtol, atol)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("bounds", [(0.0, 6.0), (-0.5, 1.5)])
@pytest.mark.parametrize("shape", [(16, 100, 32, 32), (3, 96, 17)])  # threads past 6 MiB
def test_hardtanh_gradient_edges(dtype, bounds, shape):
    """hardtanh's gradient as torch's vectorised hardtanh_backward: 0 at the bounds, for a NaN
    input, and outside the bounds even where the incoming gradient is infinite or NaN; g
    (infinite or NaN too) inside. The last 32 elements are left out: torch's scalar tail keeps
    g for a NaN input."""
    lo, hi = bounds
    a = np.random.default_rng(3).uniform(-8, 8, shape).astype(dtype)
    a.reshape(-1)[::97] = lo
    a.reshape(-1)[1::97] = hi
    a.reshape(-1)[2::991] = np.nan
    e, t = ember.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    g = np.random.default_rng(4).standard_normal(a.shape).astype(dtype)
    g.reshape(-1)[::7] = np.inf
    g.reshape(-1)[1::11] = np.nan
    F.hardtanh(e, lo, hi).backward(ember.tensor(g))
    TF.hardtanh(t, lo, hi).backward(torch.tensor(g))
    got, want = e.grad.numpy().reshape(-1), t.grad.numpy().reshape(-1)
    np.testing.assert_array_equal(got[:-32], want[:-32])
    outside = ~((a > lo) & (a < hi)).reshape(-1)
    assert (got[outside] == 0).all()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("slope", [0.01, 0.2, 1.0, 0.0, 1.5, -0.3])
def test_leaky_relu_edges(dtype, slope):
    """leaky_relu's max(x, x * s) form (0 < s <= 1) and its select form (other slopes) keep
    torch's values on zeros of both signs, infinities and NaN, and its gradient."""
    a = np.random.default_rng(0).standard_normal(50_000).astype(dtype) * 3
    a[::7], a[::11], a[::13], a[::17], a[::19] = -0.0, 0.0, np.nan, np.inf, -np.inf
    e, t = ember.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    with np.errstate(invalid="ignore"):  # inf * 0 for slope 0, as torch computes it too
        ye = F.leaky_relu(e, slope)
    yt = TF.leaky_relu(t, slope)
    g = np.random.default_rng(1).standard_normal(a.size).astype(dtype)
    ye.backward(ember.tensor(g))
    yt.backward(torch.tensor(g))
    assert_same(ye, yt, 0, 0)
    assert_same(e.grad, t.grad, 0, 0)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_hardswish_slope_without_select_at_the_ends(dtype):
    """hardswish's backward from the clipped input (no compare or select): torch's gradient to
    the bit at -3, 3 and their neighbouring floats, at signed zeros and infinities, on strided
    input; the forward gives NaN for -inf as torch, without a warning."""
    rng = np.random.default_rng(0)
    a = (rng.standard_normal(40_000) * 4).astype(dtype)
    three = dtype(3)
    ends = [three, np.nextafter(three, 0), np.nextafter(three, 9), -three, -1.5, 1.5]
    ends += [np.nextafter(-three, 0), np.nextafter(-three, -9), -0.0, 0.0, np.inf, -np.inf]
    a[: 50 * len(ends)] = np.repeat(np.array(ends, dtype), 50)
    e, t = ember.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    g = rng.standard_normal(a.size).astype(dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ye = F.hardswish(e)
        ye.backward(ember.tensor(g))
        ys = F.hardswish(e.detach()[::3])
    yt = TF.hardswish(t)
    yt.backward(torch.tensor(g))
    assert_same(ye, yt, 0, 0)
    assert_same(ys, yt.detach()[::3], 0, 0)
    assert_same(e.grad, t.grad, 0, 0)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(
    "name,args", [("elu", ()), ("elu", (0.3,)), ("selu", ()), ("celu", (0.3,)), ("celu", (2.0,))]
)
def test_elu_family_without_select_on_edges(dtype, name, args):
    """elu, selu and celu as the difference of their two one-sided terms: torch's values within
    a few ulps, -0.0 and +0.0 kept (elu(-0.0) is -0.0), infinities and NaN as torch, strided,
    0-d and in-place inputs, no warnings, and the gradient (celu's with torch's float
    1 / alpha) except at NaN inputs, where torch's vector loop and its scalar tail differ."""
    a = (np.random.default_rng(0).standard_normal(30_000) * 5).astype(dtype)
    a[::7], a[::11], a[::13], a[::17], a[::19], a[::23] = -0.0, 0.0, np.nan, np.inf, -np.inf, -200
    e, t = ember.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    fe, ft = getattr(F, name), getattr(TF, name)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ye = fe(e, *args)
        others = [fe(e.detach()[::3], *args), fe(e.detach()[5], *args)]
        inplace = e.detach().clone()
        fe(inplace, *args, inplace=True)
    yt = ft(t, *args)
    tol = 4 * np.finfo(dtype).eps  # expm1 and exp are NumPy's, torch's are its own
    for got, want in [(ye, yt), (others[0], yt[::3]), (others[1], yt[5]), (inplace, yt)]:
        g, w = got.detach().numpy(), want.detach().numpy()
        assert g.dtype == w.dtype and g.shape == w.shape
        num = ~np.isnan(w)
        np.testing.assert_array_equal(np.isnan(g), ~num)
        np.testing.assert_array_equal(np.signbit(g[num]), np.signbit(w[num]))
        np.testing.assert_allclose(g, w, rtol=tol, atol=0)
    gr = np.random.default_rng(1).standard_normal(a.size).astype(dtype)
    ye.backward(ember.tensor(gr))
    yt.backward(torch.tensor(gr))
    ok = ~np.isnan(a)
    np.testing.assert_allclose(e.grad.numpy()[ok], t.grad.numpy()[ok], rtol=tol, atol=0)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(
    "name",
    ["sigmoid", "F.sigmoid", "silu", "softplus", "softplus_b2", "mish", "logsigmoid"],
)
def test_exp_based_activations_on_edges(dtype, name):
    """The exp-based activations written as torch's CPU formulas in SIMD passes: torch's values
    within a few float ulps (its exp and log1p are its own), NaN where torch has NaN, infinities
    and overflow to 0 as torch (sigmoid(-100) is 0 in float32), 0-d inputs, no warnings, and
    the gradient."""
    fns = {
        "sigmoid": lambda m: m.sigmoid,
        "F.sigmoid": lambda m: m.nn.functional.sigmoid,
        "silu": lambda m: m.nn.functional.silu,
        "softplus": lambda m: m.nn.functional.softplus,
        "softplus_b2": lambda m: lambda x: m.nn.functional.softplus(x, 2.0, 5.0),
        "mish": lambda m: m.nn.functional.mish,
        "logsigmoid": lambda m: m.nn.functional.logsigmoid,
    }
    a = (np.random.default_rng(0).standard_normal(20_000) * 30).astype(dtype)
    a[::101], a[::103], a[::107], a[::109], a[::113] = np.nan, np.inf, -np.inf, -0.0, -100.0
    e, t = ember.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ye = fns[name](ember)(e)
        y0 = fns[name](ember)(ember.tensor(a[1]))
    yt = fns[name](torch)(t)
    got, want = ye.detach().numpy(), yt.detach().numpy()
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
    rtol = 1e-6 if dtype == np.float32 else 1e-15  # a few ulps: exp and log1p are libraries'
    ok = np.isfinite(want)
    np.testing.assert_array_equal(got[~ok], want[~ok])
    np.testing.assert_allclose(got[ok], want[ok], rtol=rtol, atol=rtol * 1e-3)
    np.testing.assert_allclose(y0.numpy(), fns[name](torch)(torch.tensor(a[1])).numpy(), rtol=rtol)
    fin = np.isfinite(a)
    g = np.random.default_rng(1).standard_normal(a.size).astype(dtype) * fin
    ye.backward(ember.tensor(g))
    yt.backward(torch.tensor(g))
    # y (1 - y) and the like cancel where y is near 1: the few ulps between ember's y and
    # torch's show there as an absolute difference
    np.testing.assert_allclose(
        e.grad.numpy()[fin], t.grad.numpy()[fin], rtol=rtol * 8, atol=rtol * 4
    )


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(2, 1), (5, 3), (3072, 64), (700, 1000), (8, 4, 64, 128)])
def test_softmax_over_the_last_axis_in_blocks(dtype, shape):
    """softmax and log_softmax over the last axis run in cached blocks of rows on ember's
    threads (from 1 MiB): torch's values (rows with -inf, a fully masked row's NaN) and
    gradients."""
    rng = np.random.default_rng(0)
    x = (rng.standard_normal(shape) * 5).astype(dtype)
    x.reshape(-1)[::97] = -np.inf
    x.reshape(-1, shape[-1])[-1] = -np.inf  # a row with no finite score: NaN, as torch
    f32 = dtype == np.float32
    for name in ("softmax", "log_softmax"):
        e, t = ember.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
        with np.errstate(invalid="ignore"):
            ye = getattr(ember, name)(e, -1)
        yt = getattr(torch, name)(t, -1)
        a, b = ye.detach().numpy(), yt.detach().numpy()
        np.testing.assert_array_equal(np.isnan(a), np.isnan(b))
        np.testing.assert_allclose(a, b, rtol=2e-6 if f32 else 1e-14, atol=1e-5 if f32 else 1e-13)
        g = rng.standard_normal(shape).astype(dtype)
        with np.errstate(invalid="ignore"):
            ye.backward(ember.tensor(g))
        yt.backward(torch.tensor(g))
        tol = 1e-5 if f32 else 1e-12
        np.testing.assert_allclose(e.grad.numpy(), t.grad.numpy(), rtol=tol, atol=tol)


ACTS = [
    ("relu", lambda m: m.relu),
    ("relu6", lambda m: m.relu6),
    ("leaky_relu", lambda m: lambda x: m.leaky_relu(x, 0.2)),
    ("elu", lambda m: lambda x: m.elu(x, 0.7)),
    ("selu", lambda m: m.selu),
    ("celu", lambda m: lambda x: m.celu(x, 1.3)),
    ("gelu", lambda m: m.gelu),
    ("gelu_tanh", lambda m: lambda x: m.gelu(x, approximate="tanh")),
    ("silu", lambda m: m.silu),
    ("mish", lambda m: m.mish),
    ("hardtanh", lambda m: lambda x: m.hardtanh(x, -0.5, 1.5)),
    ("hardsigmoid", lambda m: m.hardsigmoid),
    ("hardswish", lambda m: m.hardswish),
    ("softplus", lambda m: lambda x: m.softplus(x, 2.0, 3.0)),
    ("softsign", lambda m: m.softsign),
    ("threshold", lambda m: lambda x: m.threshold(x, 0.3, -2.0)),
    ("sigmoid", lambda m: m.sigmoid),
    ("tanh", lambda m: m.tanh),
    ("logsigmoid", lambda m: m.logsigmoid),
    ("tanhshrink", lambda m: m.tanhshrink),
    ("softshrink", lambda m: m.softshrink),
    ("hardshrink", lambda m: m.hardshrink),
    ("softmax0", lambda m: lambda x: m.softmax(x, 0)),
    ("softmax1", lambda m: lambda x: m.softmax(x, dim=-1)),
    ("log_softmax", lambda m: lambda x: m.log_softmax(x, 1)),
    ("softmin", lambda m: lambda x: m.softmin(x, 1)),
    ("glu", lambda m: lambda x: m.glu(x, 0)),
    ("normalize", lambda m: lambda x: m.normalize(x, dim=1)),
    ("normalize_p1", lambda m: lambda x: m.normalize(x, p=1, dim=0)),
]


@pytest.mark.parametrize("name,mk", ACTS, ids=[a[0] for a in ACTS])
def test_activation(name, mk):
    _check(mk(F), mk(TF), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", ["hardsigmoid", "hardswish", "relu6", "hardtanh"])
def test_piecewise_linear_activations_bit_for_bit(name, dtype):
    """No transcendental functions: torch's formulas give its bits. hardsigmoid is
    clamp(x + 3, 0, 6) / 6 (x / 6 + 1/2 lost up to 0.2% next to -3 to cancellation) and its
    gradient multiplies by the float32 constant 1/6, in float64 too."""
    x = np.random.default_rng(0).uniform(-4, 4, 20_000).astype(dtype)
    x[:4] = [-3.0, 3.0, -2.9999, 2.9999]
    g = np.random.default_rng(1).standard_normal(x.size).astype(dtype)
    e, t = ember.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    ye, yt = getattr(F, name)(e), getattr(TF, name)(t)
    np.testing.assert_array_equal(ye.detach().numpy(), yt.detach().numpy())
    ye.backward(ember.tensor(g))
    yt.backward(torch.tensor(g))
    np.testing.assert_array_equal(e.grad.numpy(), t.grad.numpy())


def test_softmax_float64_and_stability():
    _check(
        lambda x: F.log_softmax(x * 1e4, 1),
        lambda x: TF.log_softmax(x * 1e4, 1),
        dtype=np.float64,
        rtol=1e-6,
        atol=1e-6,
    )
    e = ember.tensor([[1e4, 0.0, -1e4]])
    assert np.isfinite(F.softmax(e, 1).numpy()).all()


def test_prelu():
    e, t = _pair((3, 4, 2))
    we = ember.tensor(np.array([0.1, 0.2, 0.3, 0.4], np.float32), requires_grad=True)
    wt = to_torch(we)
    ye, yt = F.prelu(e, we), TF.prelu(t, wt)
    assert_same(ye, yt)
    ye.sum().backward()
    yt.sum().backward()
    assert_same(e.grad, t.grad)
    assert_same(we.grad, wt.grad, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("shape", [(5, 3), (2, 4, 3), (3,)])
def test_linear(shape, bias):
    e, t = _pair(shape)
    we, wt = _pair((6, 3), seed=2)
    be, bt = _pair((6,), seed=3) if bias else (None, None)
    ye, yt = F.linear(e, we, be), TF.linear(t, wt, bt)
    assert_same(ye, yt, 1e-5, 1e-5)
    ye.sum().backward()
    yt.sum().backward()
    assert_same(e.grad, t.grad, 1e-5, 1e-5)
    assert_same(we.grad, wt.grad, 1e-5, 1e-5)
    if bias:
        assert_same(be.grad, bt.grad, 1e-5, 1e-5)


def test_linear_errors():
    with pytest.raises(RuntimeError, match="mat1 and mat2 shapes cannot be multiplied"):
        F.linear(ember.zeros(2, 5), ember.zeros(4, 3))
    with pytest.raises(RuntimeError, match="same dtype"):
        F.linear(ember.zeros(2, 3, dtype=ember.float64), ember.zeros(4, 3))


def test_linear_gradcheck():
    x = ember.randn(3, 4, dtype=ember.float64, requires_grad=True)
    w = ember.randn(2, 4, dtype=ember.float64, requires_grad=True)
    b = ember.randn(2, dtype=ember.float64, requires_grad=True)
    assert ember.autograd.gradcheck(F.linear, (x, w, b))


def test_bilinear():
    e1, t1 = _pair((4, 3))
    e2, t2 = _pair((4, 2), seed=5)
    we, wt = _pair((5, 3, 2), seed=6)
    be, bt = _pair((5,), seed=7)
    ye, yt = F.bilinear(e1, e2, we, be), TF.bilinear(t1, t2, wt, bt)
    assert_same(ye, yt, 1e-5, 1e-5)
    ye.sum().backward()
    yt.sum().backward()
    for a, b in ((e1, t1), (e2, t2), (we, wt), (be, bt)):
        assert_same(a.grad, b.grad, 1e-4, 1e-5)


def test_one_hot_and_errors():
    idx = ember.tensor([0, 2, 1])
    assert_same(F.one_hot(idx), TF.one_hot(torch.tensor([0, 2, 1])))
    assert_same(F.one_hot(idx, 5), TF.one_hot(torch.tensor([0, 2, 1]), 5))
    with pytest.raises(RuntimeError, match="smaller than num_classes"):
        F.one_hot(ember.tensor([1, 5]), 3)


def test_embedding_padding_idx():
    we, wt = _pair((6, 3))
    idx = np.array([[0, 2, 2], [5, 0, 1]])
    ye = F.embedding(ember.tensor(idx), we, padding_idx=2)
    yt = TF.embedding(torch.tensor(idx), wt, padding_idx=2)
    assert_same(ye, yt)
    (ye * ye).sum().backward()
    (yt * yt).sum().backward()
    assert_same(we.grad, wt.grad)
    with pytest.raises(IndexError, match="index out of range in self"):
        F.embedding(ember.tensor([7]), we)


@pytest.mark.parametrize("pad", [(1, 2), (1, 0, 2, 1), (-1, 1)])
def test_pad_constant(pad):
    _check(lambda x: F.pad(x, pad, value=0.5), lambda x: TF.pad(x, pad, value=0.5), shape=(2, 3, 4))


@pytest.mark.parametrize("mode", ["reflect", "replicate", "circular"])
def test_pad_modes(mode):
    _check(
        lambda x: F.pad(x, (1, 2), mode=mode),
        lambda x: TF.pad(x, (1, 2), mode=mode),
        shape=(2, 3, 4),
    )


def test_dropout_train_eval():
    x = ember.ones(1000, 10)
    y = F.dropout(x, 0.3, training=True)
    kept = (y.numpy() != 0).mean()
    assert 0.6 < kept < 0.8
    assert np.allclose(y.numpy()[y.numpy() != 0], 1 / 0.7)
    assert F.dropout(x, 0.3, training=False) is x
    x = ember.ones(8, 6, 5, 5, requires_grad=True)
    y = F.dropout2d(x, 0.5)
    ch = y.detach().numpy().reshape(8, 6, 25)
    assert ((ch == 0).all(-1) | (ch == 2).all(-1)).all()
    y.sum().backward()
    assert np.array_equal(x.grad.numpy(), y.detach().numpy())
    with pytest.raises(ValueError, match="dropout probability"):
        F.dropout(x, 1.5)


def test_cosine_and_distance():
    a1, t1 = _pair((4, 5))
    a2, t2 = _pair((4, 5), seed=3)
    assert_same(F.cosine_similarity(a1, a2), TF.cosine_similarity(t1, t2), 1e-5, 1e-6)
    assert_same(F.pairwise_distance(a1, a2), TF.pairwise_distance(t1, t2), 1e-5, 1e-5)


@pytest.mark.parametrize("causal", [False, True])
def test_sdpa(causal):
    q, tq = _pair((2, 3, 4, 8))
    k, tk = _pair((2, 3, 4, 8), seed=1)
    v, tv = _pair((2, 3, 4, 8), seed=2)
    ye = F.scaled_dot_product_attention(q, k, v, is_causal=causal)
    yt = TF.scaled_dot_product_attention(tq, tk, tv, is_causal=causal)
    assert_same(ye, yt, 1e-4, 1e-5)
    ye.sum().backward()
    yt.sum().backward()
    assert_same(q.grad, tq.grad, 1e-4, 1e-4)
    assert_same(v.grad, tv.grad, 1e-4, 1e-4)


@pytest.mark.parametrize("shape,ns", [((4, 6), (6,)), ((2, 3, 4), (3, 4))])
def test_layer_norm(shape, ns):
    e, t = _pair(shape)
    we, wt = _pair(ns, seed=3)
    be, bt = _pair(ns, seed=4)
    ye, yt = F.layer_norm(e, ns, we, be), TF.layer_norm(t, ns, wt, bt)
    assert_same(ye, yt, 1e-4, 1e-5)
    g = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
    ye.backward(ember.tensor(g))
    yt.backward(torch.tensor(g))
    for a, b in ((e, t), (we, wt), (be, bt)):
        assert_same(a.grad, b.grad, 1e-4, 1e-4)


def test_norm_gradcheck():
    x = ember.randn(4, 3, 2, dtype=ember.float64, requires_grad=True)
    w = ember.randn(3, dtype=ember.float64, requires_grad=True)
    b = ember.randn(3, dtype=ember.float64, requires_grad=True)
    assert ember.autograd.gradcheck(
        lambda x, w, b: F.batch_norm(x, None, None, w, b, training=True), (x, w, b)
    )
    w2 = ember.randn(2, dtype=ember.float64, requires_grad=True)
    assert ember.autograd.gradcheck(lambda x, w: F.layer_norm(x, (2,), w), (x, w2))


def test_group_norm_and_rms_norm():
    e, t = _pair((2, 6, 3))
    we, wt = _pair((6,), seed=2)
    be, bt = _pair((6,), seed=3)
    ye, yt = F.group_norm(e, 3, we, be), TF.group_norm(t, 3, wt, bt)
    assert_same(ye, yt, 1e-4, 1e-5)
    ye.sum().backward()
    yt.sum().backward()
    assert_same(e.grad, t.grad, 1e-4, 1e-4)
    assert_same(we.grad, wt.grad, 1e-4, 1e-4)
    e, t = _pair((2, 5))
    w3, t3 = _pair((5,), seed=4)
    ye, yt = F.rms_norm(e, (5,), w3), TF.rms_norm(t, (5,), t3)
    assert_same(ye, yt, 1e-5, 1e-6)
    ye.sum().backward()
    yt.sum().backward()
    assert_same(e.grad, t.grad, 1e-4, 1e-5)


def test_batch_norm_one_dimensional_input_as_torch():
    # torch: an empty 1-d input with empty stats comes back as a copy (op_db's sample), in the
    # graph; a non-empty one has no channel dim
    for training in (True, False):
        x = ember.zeros(0, dtype=ember.float64).requires_grad_()
        tx = torch.zeros(0, dtype=torch.float64).requires_grad_()
        e = F.batch_norm(x, ember.zeros(0), ember.ones(0), training=training)
        t = TF.batch_norm(tx, torch.zeros(0), torch.ones(0), training=training)
        assert_same(e, t)
        assert e.requires_grad == t.requires_grad
        e.sum().backward()
        t.sum().backward()
        assert_same(x.grad, tx.grad)
    with pytest.raises(IndexError) as ee:
        F.batch_norm(ember.ones(3), ember.zeros(0), ember.ones(0), training=True)
    with pytest.raises(IndexError) as te:
        TF.batch_norm(torch.ones(3), torch.zeros(0), torch.ones(0), training=True)
    assert str(ee.value) == str(te.value)


def test_batch_norm_running_stats():
    e, t = _pair((8, 3, 2))
    rme, rve = ember.zeros(3), ember.ones(3)
    rmt, rvt = torch.zeros(3), torch.ones(3)
    ye = F.batch_norm(e, rme, rve, training=True, momentum=0.2)
    yt = TF.batch_norm(t, rmt, rvt, training=True, momentum=0.2)
    assert_same(ye, yt, 1e-4, 1e-5)
    assert_same(rme, rmt)
    assert_same(rve, rvt, 1e-5, 1e-6)
    assert_same(F.batch_norm(e, rme, rve), TF.batch_norm(t, rmt, rvt), 1e-5, 1e-5)
    with pytest.raises(ValueError, match="Expected more than 1 value per channel"):
        F.batch_norm(ember.zeros(1, 3), rme, rve, training=True)


def _r(*shape, lo=-2.0, hi=2.0, seed=0):
    a = np.random.default_rng(seed).uniform(lo, hi, shape)
    return ember.tensor(a, requires_grad=True)


GRADCHECKS = [
    ("mse", lambda x, t: F.mse_loss(x, t), lambda: (_r(3, 4), _r(3, 4, seed=1))),
    (
        "mse_none",
        lambda x, t: F.mse_loss(x, t, reduction="none"),
        lambda: (_r(3, 4), _r(3, 4, seed=1)),
    ),
    (
        "nll",
        lambda x: F.nll_loss(
            x, ember.tensor([0, 2, 1]), ember.tensor([1.0, 2.0, 0.5], dtype=ember.float64)
        ),
        lambda: (_r(3, 3),),
    ),
    (
        "bce",
        lambda x, t: F.binary_cross_entropy(x, t),
        lambda: (_r(5, lo=0.1, hi=0.9), _r(5, lo=0, hi=1, seed=1)),
    ),
    (
        "bce_logits",
        lambda x, t: F.binary_cross_entropy_with_logits(
            x, t, pos_weight=ember.tensor([2.0, 0.5, 1.0], dtype=ember.float64)
        ),
        lambda: (_r(2, 3), _r(2, 3, lo=0, hi=1, seed=1)),
    ),
    ("softmax", lambda x: F.softmax(x, 1), lambda: (_r(3, 4),)),
    ("log_softmax", lambda x: F.log_softmax(x, 0), lambda: (_r(3, 4),)),
    ("gelu", F.gelu, lambda: (_r(3, 4),)),
    ("gelu_tanh", lambda x: F.gelu(x, approximate="tanh"), lambda: (_r(3, 4),)),
    ("silu", F.silu, lambda: (_r(3, 4),)),
    ("mish", F.mish, lambda: (_r(3, 4),)),
    ("elu", F.elu, lambda: (_r(3, 4),)),
    ("softplus", F.softplus, lambda: (_r(3, 4),)),
    ("sigmoid", F.sigmoid, lambda: (_r(3, 4),)),
    ("logsigmoid", F.logsigmoid, lambda: (_r(3, 4),)),
    ("embedding", lambda w: F.embedding(ember.tensor([[0, 2], [2, 1]]), w), lambda: (_r(3, 2),)),
    (
        "layer_norm",
        lambda x, w, b: F.layer_norm(x, (4,), w, b),
        lambda: (_r(3, 4), _r(4, seed=1), _r(4, seed=2)),
    ),
    (
        "group_norm",
        lambda x, w, b: F.group_norm(x, 2, w, b),
        lambda: (_r(2, 4, 3), _r(4, seed=1), _r(4, seed=2)),
    ),
    (
        "bilinear",
        F.bilinear,
        lambda: (_r(2, 3), _r(2, 2, seed=1), _r(4, 3, 2, seed=2), _r(4, seed=3)),
    ),
    ("pad_reflect", lambda x: F.pad(x, (2, 1), mode="reflect"), lambda: (_r(2, 4),)),
    ("prelu", F.prelu, lambda: (_r(2, 3, 2), _r(3, seed=1))),
]


@pytest.mark.parametrize("name,fn,mk", GRADCHECKS, ids=[g[0] for g in GRADCHECKS])
def test_gradcheck_float64(name, fn, mk):
    assert ember.autograd.gradcheck(fn, mk())


@pytest.mark.parametrize("mode", ["sum", "mean", "max"])
@pytest.mark.parametrize("pad", [None, 2])
def test_embedding_bag(mode, pad):
    w = np.random.default_rng(0).standard_normal((10, 3)).astype(np.float32)
    we, wt = ember.tensor(w, requires_grad=True), torch.tensor(w, requires_grad=True)
    idx, off = np.array([1, 2, 4, 5, 4, 3, 2, 9]), np.array([0, 2, 2, 5])
    ye = F.embedding_bag(ember.tensor(idx), we, ember.tensor(off), mode=mode, padding_idx=pad)
    yt = TF.embedding_bag(torch.tensor(idx), wt, torch.tensor(off), mode=mode, padding_idx=pad)
    assert_same(ye, yt)
    g = np.random.default_rng(1).standard_normal(tuple(yt.shape)).astype(np.float32)
    ye.backward(ember.tensor(g))
    yt.backward(torch.tensor(g))
    assert_same(we.grad, wt.grad)
    e = ember.nn.EmbeddingBag(10, 3, mode=mode, padding_idx=pad)
    t = torch.nn.EmbeddingBag(10, 3, mode=mode, padding_idx=pad)
    assert repr(e) == repr(t)
    t.load_state_dict({"weight": torch.tensor(e.weight.detach().numpy())})
    i2 = np.array([[1, 2, 3], [4, 4, 9]])
    assert_same(e(ember.tensor(i2)), t(torch.tensor(i2)).detach())


def test_embedding_bag_per_sample_weights():
    w = np.random.default_rng(0).standard_normal((10, 3)).astype(np.float32)
    ps = np.random.default_rng(1).random((2, 3)).astype(np.float32)
    we, wt = ember.tensor(w, requires_grad=True), torch.tensor(w, requires_grad=True)
    pe, pt = ember.tensor(ps, requires_grad=True), torch.tensor(ps, requires_grad=True)
    i2 = np.array([[1, 2, 3], [4, 4, 9]])
    ye = F.embedding_bag(ember.tensor(i2), we, mode="sum", per_sample_weights=pe)
    yt = TF.embedding_bag(torch.tensor(i2), wt, mode="sum", per_sample_weights=pt)
    assert_same(ye, yt, 1e-6, 1e-6)
    ye.sum().backward()
    yt.sum().backward()
    assert_same(pe.grad, pt.grad)
    assert_same(we.grad, wt.grad)


def _bag_run(lib, w, idx, off, mode, psw=None, pad=None, transposed=False, g=None):
    """embedding_bag of a weight (given transposed: a unit row stride, torch's slow path) with
    include_last_offset=True; the output and the weight's and per-sample weights' gradients."""
    W = lib.tensor(w.T.copy() if transposed else w)
    W = (W.t() if transposed else W).requires_grad_()
    P = None if psw is None else lib.tensor(psw, requires_grad=True)
    y = lib.nn.functional.embedding_bag(
        lib.tensor(idx), W, lib.tensor(off), mode=mode, per_sample_weights=P,
        include_last_offset=True, padding_idx=pad,
    )  # fmt: skip
    y.backward(lib.tensor(g if g is not None else np.ones(tuple(y.shape), w.dtype)))
    return y.detach().numpy(), W.grad.numpy(), None if P is None else P.grad.numpy()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(
    "mode,psw", [("sum", False), ("sum", True), ("mean", False), ("max", False)]
)
@pytest.mark.parametrize("pad", [None, 2])
@pytest.mark.parametrize("transposed", [False, True])
def test_embedding_bag_last_offset_before_the_end(dtype, mode, psw, pad, transposed):
    """include_last_offset=True with indices past the last offset: torch's CPU fast path (sum
    and mean of a float32 weight with unit column stride, no padding_idx) ends the last bag at
    the last offset, its mean still dividing by the count to the end and back-propagating to
    every index; its other paths run the last bag to the end. Values and gradients as torch's,
    but for the fast-path sum's gradient of the indices past the last offset: torch's reads
    past its buffer (garbage), ember's is zero."""
    rng = np.random.default_rng(3)
    w = rng.standard_normal((10, 3)).astype(dtype)
    idx, off = np.array([1, 2, 4, 5, 4, 3, 2, 9, 0, 7]), np.array([0, 2, 2, 5, 7])
    p = rng.random(len(idx)).astype(dtype) if psw else None
    g = rng.standard_normal((4, 3)).astype(dtype)
    e = _bag_run(ember, w, idx, off, mode, p, pad, transposed, g)
    t = _bag_run(torch, w, idx, off, mode, p, pad, transposed, g)
    tol = dict(rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(e[0], t[0], **tol)
    fast = dtype == np.float32 and pad is None and not transposed and mode != "max"
    ends_early = np.allclose(
        t[0][-1], _bag_run(torch, w, idx[:7], off, mode, p if p is None else p[:7], pad)[0][-1]
    )
    assert ends_early == (fast and mode == "sum"), "the case reaches torch's path under test"
    if fast and mode == "sum":
        tail_rows = [0, 7, 9]  # the rows that only indices past the last offset name
        np.testing.assert_array_equal(e[1][tail_rows], 0)
        keep = np.setdiff1d(np.arange(10), tail_rows)
        np.testing.assert_allclose(e[1][keep], t[1][keep], **tol)
        if psw:
            np.testing.assert_array_equal(e[2][7:], 0)
            np.testing.assert_allclose(e[2][:7], t[2][:7], **tol)
        return
    for a, b in zip(e[1:], t[1:]):
        assert (a is None) == (b is None)
        if a is not None:
            np.testing.assert_allclose(a, b, **tol)


@pytest.mark.parametrize("mode", ["sum", "mean", "max"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_embedding_bag_zero_bags(mode, dtype):
    """include_last_offset=True with one offset is zero bags: a (0, D) output, and no gradient
    to the weight. torch gives the same output for float32 sum and mean (with garbage
    gradients) and for empty indices, and crashes (segfault) on the rest, which is run on
    ember alone."""
    w = np.random.default_rng(0).standard_normal((5, 3)).astype(dtype)
    for idx in ([1, 2, 3], []):
        torch_runs = not idx or (dtype == np.float32 and mode != "max")
        libs = (ember, torch) if torch_runs else (ember,)
        outs = []
        for lib in libs:
            W = lib.tensor(w, requires_grad=True)
            y = lib.nn.functional.embedding_bag(
                lib.tensor(idx, dtype=lib.int64), W, lib.tensor([0]), mode=mode,
                include_last_offset=True,
            )  # fmt: skip
            outs.append(y)
            if lib is ember:
                y.sum().backward()
                np.testing.assert_array_equal(W.grad.numpy(), 0)
        for y in outs:
            assert tuple(y.shape) == (0, 3) and str(y.dtype) == str(outs[0].dtype)
        assert str(outs[-1].dtype).split(".")[-1] == np.dtype(dtype).name


@pytest.mark.parametrize(
    "off,last,msg",
    [
        ([], True, "include_last_offset: number of offset should be at least 1"),
        ([1, 2], False, "offsets\\[0\\] has to be 0, i.e., the first sequence"),
        ([0, 3], False, "offsets\\[-1\\] can not be greater than input's length 2 but got"),
    ],
)
def test_embedding_bag_offsets_errors_as_torch(off, last, msg):
    for lib in (ember, torch):
        with pytest.raises(RuntimeError, match=msg):
            lib.nn.functional.embedding_bag(
                lib.tensor([1, 2]), lib.ones(5, 3), lib.tensor(off, dtype=lib.int64),
                include_last_offset=last,
            )  # fmt: skip


def test_embedding_bag_empty_offsets_without_last_offset():
    """No offsets (and include_last_offset=False) is zero bags, as torch's forward (torch's
    backward then crashes, so only ember's zero gradient is checked)."""
    for lib in (ember, torch):
        W = lib.ones(5, 3, requires_grad=True)
        y = lib.nn.functional.embedding_bag(lib.tensor([1, 2]), W, lib.tensor([], dtype=lib.int64))
        assert tuple(y.shape) == (0, 3)
    We = ember.ones(5, 3, requires_grad=True)
    F.embedding_bag(ember.tensor([1, 2]), We, ember.tensor([], dtype=ember.int64)).sum().backward()
    np.testing.assert_array_equal(We.grad.numpy(), 0)


@pytest.mark.parametrize("shape", [(70, 300), (3, 40, 300)])
def test_linear_large_inputs(shape):
    e, t = _pair(shape)
    we, wt = _pair((200, 300), seed=2)
    be, bt = _pair((200,), seed=3)
    ye, yt = F.linear(e, we, be), TF.linear(t, wt, bt)
    assert ye.is_contiguous()
    assert_same(ye, yt, 1e-4, 1e-4)
    ye.sum().backward()
    yt.sum().backward()
    for a, b in ((e, t), (we, wt), (be, bt)):
        assert_same(a.grad, b.grad, 1e-4, 1e-3)


def test_top_level_softmax_family_and_methods():
    e, t = _pair((3, 4))
    assert_same(ember.softmax(e, 1), torch.softmax(t, 1), 1e-6, 1e-7)
    assert_same(ember.log_softmax(e, dim=0), torch.log_softmax(t, dim=0), 1e-6, 1e-6)
    assert_same(e.softmax(-1), t.softmax(-1), 1e-6, 1e-7)
    assert_same(e.log_softmax(1, dtype=ember.float64), t.log_softmax(1, dtype=torch.float64))
    assert ember.dropout(e, 0.5, False) is e


def test_instance_norm_is_one_function_and_checks_its_input_as_torch():
    """F.instance_norm once had a twin that accepted what torch refuses (one spatial element,
    2-d input); the one kept raises, and matches torch with running statistics."""
    for shape in ((2, 3, 1), (2, 3)):
        x = np.ones(shape, np.float32)
        with pytest.raises(ValueError):
            TF.instance_norm(torch.tensor(x))
        with pytest.raises(ValueError):
            F.instance_norm(ember.tensor(x))
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 3, 4, 5)).astype(np.float32)
    rm, rv = rng.standard_normal(3).astype(np.float32), rng.random(3).astype(np.float32) + 0.5
    e_rm, e_rv, t_rm, t_rv = ember.tensor(rm), ember.tensor(rv), torch.tensor(rm), torch.tensor(rv)
    e, t = ember.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    ye, yt = F.instance_norm(e, e_rm, e_rv), TF.instance_norm(t, t_rm, t_rv)
    assert_same(ye, yt, 1e-5, 1e-5)
    assert_same(e_rm, t_rm, 1e-5, 1e-6)
    assert_same(e_rv, t_rv, 1e-5, 1e-6)
    (ye * ye).sum().backward()
    (yt * yt).sum().backward()
    assert_same(e.grad, t.grad, 1e-4, 1e-5)


# --- issue 14's wrong answers, each against torch ----------------------------------------
def test_cosine_similarity_broadcasts_before_taking_norms():
    rng = np.random.default_rng(3)
    a, b = rng.standard_normal((1, 2, 3)), rng.standard_normal((2, 1, 3))
    ea, eb = ember.tensor(a, requires_grad=True), ember.tensor(b, requires_grad=True)
    ta, tb = torch.tensor(a, requires_grad=True), torch.tensor(b, requires_grad=True)
    ye, yt = F.cosine_similarity(ea, eb, dim=-2), TF.cosine_similarity(ta, tb, dim=-2)
    assert_same(ye, yt)
    assert float(ye.abs().max()) <= 1.0
    (ye * ye.detach().cos()).sum().backward()
    (yt * yt.detach().cos()).sum().backward()
    assert_same(ea.grad, ta.grad)
    assert_same(eb.grad, tb.grad)


@pytest.mark.parametrize("mode", ["circular", "reflect", "replicate", "constant"])
@pytest.mark.parametrize("pads", [(-1, 1, -2, 1), (1, -1, 2, -1), (-1, -1, 0, 0)])
def test_pad_with_negative_widths_values_and_gradients(mode, pads):
    _check(lambda x: F.pad(x, pads, mode=mode), lambda x: TF.pad(x, pads, mode=mode), (1, 3, 4, 4))


def test_poisson_nll_loss_full_has_stirling_term_and_target_gradient():
    rng = np.random.default_rng(4)
    inp, tgt = rng.random(6), np.array([0.0, 0.5, 1.0, 1.5, 3.0, 7.0])
    for log_input in (True, False):
        ei, et = ember.tensor(inp, requires_grad=True), ember.tensor(tgt, requires_grad=True)
        ti, tt = torch.tensor(inp, requires_grad=True), torch.tensor(tgt, requires_grad=True)
        le = F.poisson_nll_loss(ei, et, log_input=log_input, full=True)
        lt = TF.poisson_nll_loss(ti, tt, log_input=log_input, full=True)
        assert_same(le, lt)
        le.backward()
        lt.backward()
        assert_same(ei.grad, ti.grad)
        assert_same(et.grad, tt.grad)  # NaN at target 0, as torch (0 * log 0)


def test_activation_dtypes_on_integer_inputs():
    x = [1, -2, 3]
    for name in ("hardtanh", "relu6", "softsign", "tanhshrink"):
        assert_same(getattr(F, name)(ember.tensor(x)), getattr(TF, name)(torch.tensor(x)))
    assert_same(
        F.hardtanh(ember.tensor([-3, 0, 3]), -2.7, 2.7),
        TF.hardtanh(torch.tensor([-3, 0, 3]), -2.7, 2.7),
    )
    with pytest.raises(RuntimeError, match="Bool inputs not supported for hardtanh"):
        F.relu6(ember.tensor([True]))
    with pytest.raises(RuntimeError, match="unsigned type with negative limits"):
        F.hardtanh(ember.tensor([1], dtype=ember.uint8))


@pytest.mark.parametrize("p", [0, 1, 3, float("inf"), 0.5])
def test_normalize_other_p(p):
    _check(lambda x: F.normalize(x, p=p), lambda x: TF.normalize(x, p=p), (3, 4), np.float64)


def test_avg_pool_of_integers_truncates_as_torch():
    x = np.arange(-20, 16).reshape(1, 1, 6, 6)
    for kw in (
        {"kernel_size": 2},
        {"kernel_size": 3, "stride": 1, "padding": 1},
        {"kernel_size": 3, "padding": 1, "count_include_pad": False},
        {"kernel_size": 3, "padding": 1, "divisor_override": 2},
    ):
        assert_same(F.avg_pool2d(ember.tensor(x), **kw), TF.avg_pool2d(torch.tensor(x), **kw))
    assert_same(F.avg_pool1d(ember.tensor(x[0]), 2), TF.avg_pool1d(torch.tensor(x[0]), 2))


def test_empty_and_degenerate_inputs_compute_as_torch():
    assert_same(F.group_norm(ember.zeros(0, 4), 2), TF.group_norm(torch.zeros(0, 4), 2))
    assert_same(F.group_norm(ember.zeros(0, 4, 3), 2), TF.group_norm(torch.zeros(0, 4, 3), 2))
    assert_same(
        F.alpha_dropout(ember.ones(3), p=1.0, training=True),
        TF.alpha_dropout(torch.ones(3), p=1.0, training=True),
    )
    for fn in ("softmax", "log_softmax"):
        assert_same(
            getattr(F, fn)(ember.zeros(2, 0), dim=1), getattr(TF, fn)(torch.zeros(2, 0), dim=1)
        )
    e, t = (
        ember.tensor([0.0, 0.05, 0.5, 1.0], requires_grad=True),
        torch.tensor([0.0, 0.05, 0.5, 1.0], requires_grad=True),
    )
    ye, yt = ember.logit(e, eps=0.1), torch.logit(t, eps=0.1)
    assert_same(ye, yt)
    assert_same(e.logit(1e-6), t.logit(1e-6))
    ye.sum().backward()
    yt.sum().backward()
    assert_same(e.grad, t.grad)


@pytest.mark.parametrize("mode", ["bilinear", "bicubic"])
@pytest.mark.parametrize("align_corners", [True, False])
def test_interpolate_float64_is_float64_accurate(mode, align_corners):
    x = np.random.default_rng(5).random((2, 3, 5, 7))
    for size in ((9, 4), (13, 15)):
        ye = F.interpolate(ember.tensor(x), size=size, mode=mode, align_corners=align_corners)
        yt = TF.interpolate(torch.tensor(x), size=size, mode=mode, align_corners=align_corners)
        np.testing.assert_allclose(ye.numpy(), yt.numpy(), rtol=0, atol=1e-14)


def test_pdist_and_channel_shuffle_against_torch():
    _check(lambda x: F.pdist(x), lambda x: TF.pdist(x), (5, 3), np.float64)
    _check(lambda x: F.pdist(x, p=1), lambda x: TF.pdist(x, p=1), (4, 3), np.float64)
    _check(lambda x: F.pdist(x, p=3.5), lambda x: TF.pdist(x, p=3.5), (4, 3), np.float64)
    _check(lambda x: F.channel_shuffle(x, 3), lambda x: TF.channel_shuffle(x, 3), (2, 6, 2, 2))
    assert repr(ember.nn.ChannelShuffle(2)) == repr(torch.nn.ChannelShuffle(2))
    with pytest.raises(RuntimeError, match="Number of channels must be divisible by groups"):
        F.channel_shuffle(ember.zeros(1, 5, 1), 2)


@pytest.mark.parametrize("bias_kv", [False, True])
@pytest.mark.parametrize("zero_attn", [False, True])
@pytest.mark.parametrize("separate", [False, True])
def test_multi_head_attention_forward_against_torch(bias_kv, zero_attn, separate):
    rng = np.random.default_rng(8)
    E, H, L, S, N = 8, 2, 3, 4, 2
    arrs = {
        "q": rng.standard_normal((L, N, E)), "k": rng.standard_normal((S, N, E)),
        "v": rng.standard_normal((S, N, E)), "w": rng.standard_normal((3 * E, E)) * 0.3,
        "b": rng.standard_normal(3 * E) * 0.1, "ow": rng.standard_normal((E, E)) * 0.3,
        "ob": rng.standard_normal(E) * 0.1, "bk": rng.standard_normal((1, 1, E)),
        "bv": rng.standard_normal((1, 1, E)),
    }  # fmt: skip
    mask = np.triu(np.ones((L, S), bool), 2)
    kpm = np.zeros((N, S), bool)
    kpm[1, -1] = True
    outs = []
    for m in (ember, torch):
        t = {k: m.tensor(v, requires_grad=True) for k, v in arrs.items()}
        sep = (
            dict(
                use_separate_proj_weight=True,
                q_proj_weight=t["w"][:E],
                k_proj_weight=t["w"][E : 2 * E],
                v_proj_weight=t["w"][2 * E :],
            )
            if separate
            else {}
        )
        out, w = m.nn.functional.multi_head_attention_forward(
            t["q"], t["k"], t["v"], E, H, None if separate else t["w"], t["b"],
            t["bk"] if bias_kv else None, t["bv"] if bias_kv else None, zero_attn, 0.0,
            t["ow"], t["ob"], key_padding_mask=m.tensor(kpm), attn_mask=m.tensor(mask),
            average_attn_weights=False, **sep,
        )  # fmt: skip
        (out.sum() + (w * w).sum()).backward()
        outs.append((out, w, *(t[k].grad for k in ("q", "k", "v", "w", "b", "ow"))))
    for e, t in zip(*outs):
        assert_same(e, t, 1e-10, 1e-10)


def test_multihead_attention_module_with_bias_kv_and_zero_attn_against_torch():
    ember.manual_seed(0)
    em = ember.nn.MultiheadAttention(8, 2, add_bias_kv=True, add_zero_attn=True, batch_first=True)
    tm = torch.nn.MultiheadAttention(8, 2, add_bias_kv=True, add_zero_attn=True, batch_first=True)
    assert sorted(em.state_dict()) == sorted(tm.state_dict())
    tm.load_state_dict({k: torch.tensor(v.numpy()) for k, v in em.state_dict().items()})
    x = np.random.default_rng(9).standard_normal((2, 3, 8)).astype(np.float32)
    e, ew = em(ember.tensor(x), ember.tensor(x), ember.tensor(x))
    t, tw = tm(torch.tensor(x), torch.tensor(x), torch.tensor(x))
    assert_same(e, t, 1e-5, 1e-6)
    assert_same(ew, tw, 1e-5, 1e-6)


@pytest.mark.parametrize(
    "name, kwargs",
    [
        ("alpha_dropout", {"p": 0.3, "training": True}),
        ("feature_alpha_dropout", {"p": 0.3, "training": True}),
        ("rrelu", {"training": True}),
    ],
)
def test_random_activations_inplace_write_in_place_as_torch(name, kwargs):
    """inplace=True returns the input itself, written with torch's draws; the gradient flows
    through the rewritten intermediate as torch's."""
    res = []
    for lib in (ember, torch):
        lib.manual_seed(0)
        x = lib.tensor(np.linspace(-1, 1, 24).reshape(2, 3, 4), requires_grad=True)
        y = x * 1.5
        r = getattr(lib.nn.functional, name)(y, inplace=True, **kwargs)
        assert r is y
        (r * r).sum().backward()
        res.append((r.detach().numpy().copy(), x.grad.numpy()))
    np.testing.assert_array_equal(res[0][0], res[1][0])
    np.testing.assert_allclose(res[0][1], res[1][1], rtol=1e-12)


_HALF_VALUES = (np.random.default_rng(0).standard_normal(20000) * 4).astype(np.float32)


def _half_value_and_grad(fn, dtype, values=_HALF_VALUES):
    """fn on ``values`` in the half type ``dtype``, for ember then torch: each library's output
    and input gradient (for an upstream gradient of 0.37) as float32 arrays."""
    if dtype == "bfloat16" and ember.bfloat16._np is None:
        pytest.skip("bfloat16 needs ml_dtypes")
    out = []
    for lib in (ember, torch):
        x = lib.tensor(values, dtype=getattr(lib, dtype), requires_grad=True)
        y = fn(lib, x)
        (g,) = lib.autograd.grad(y, x, lib.ones_like(y) * 0.37)
        out.append((y.detach().float().numpy(), g.float().numpy()))
    return out


HALF_ACTIVATIONS = [
    "silu",
    "softplus",
    "elu",
    "selu",
    "celu",
    "hardswish",
    "hardsigmoid",
    "leaky_relu",
    "relu6",
    "hardtanh",
    "softsign",
    "tanhshrink",
]


@pytest.mark.parametrize("name", HALF_ACTIVATIONS)
@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_half_activations_round_once_as_torch(name, dtype):
    """float16/bfloat16 activations computed in float32 and rounded once, forward and backward,
    as torch's kernels (softsign and tanhshrink, torch's compositions of ops, in the half
    type): torch's bits."""
    out = _half_value_and_grad(lambda m, x: getattr(m.nn.functional, name)(x), dtype)
    _same_bits_but_few(out[0][0], out[1][0])
    if name not in ("softsign", "tanhshrink"):  # their gradients: not yet torch's roundings
        _same_bits_but_few(out[0][1], out[1][1])


def _same_bits_but_few(e, t, few=20):
    """torch's bits, except for at most ``few`` values one half-type step away (float32 exp and
    the like differ in their last bit between NumPy and torch, which rarely moves a rounding);
    step by step in the half type, thousands differed."""
    differ = e != t
    assert differ.sum() <= few
    np.testing.assert_allclose(e[differ], t[differ], rtol=8e-3)


@pytest.mark.parametrize("approximate", ["none", "tanh"])
@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_half_gelu_is_the_float32_gelu_rounded_once(approximate, dtype):
    """float16/bfloat16 GELU and its gradient: ember's float32 GELU of the same values, rounded
    once (torch's kernels' way; torch's float32 erf is less exact in the left tail, so a share of
    its rounded values differ by a step, which the tolerance allows)."""
    (y, g), (ty, tg) = _half_value_and_grad(
        lambda m, x: m.nn.functional.gelu(x, approximate=approximate), dtype
    )
    half = getattr(ember, dtype)
    x32 = ember.tensor(_HALF_VALUES, dtype=half).float().requires_grad_()
    y32 = F.gelu(x32, approximate=approximate)
    (g32,) = ember.autograd.grad(y32, x32, ember.full_like(y32, 0.37).to(half).float())
    np.testing.assert_array_equal(y, y32.detach().to(half).float().numpy())
    np.testing.assert_array_equal(g, g32.to(half).float().numpy())
    tol = 8e-3 if dtype == "float16" else 6e-2
    np.testing.assert_allclose(y, ty, rtol=tol, atol=1e-4)
    np.testing.assert_allclose(g, tg, rtol=tol, atol=1e-4)


@pytest.mark.parametrize(
    "fn",
    [
        lambda m, x: m.sigmoid(x),
        lambda m, x: m.nn.functional.sigmoid(x),
        lambda m, x: m.tanh(x),
        lambda m, x: m.nn.functional.tanh(x),
    ],
    ids=["torch.sigmoid", "F.sigmoid", "torch.tanh", "F.tanh"],
)
@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_half_sigmoid_and_tanh_bits_as_torch(fn, dtype):
    """Forward in float, rounded once; backward as torch's kernels: tanh's and bfloat16
    sigmoid's in float, float16 sigmoid's as g * (1 - y) * y in float16. torch's bits."""
    out = _half_value_and_grad(fn, dtype)
    np.testing.assert_array_equal(out[0][0], out[1][0])
    np.testing.assert_array_equal(out[0][1], out[1][1])


@pytest.mark.parametrize("name", ["relu", "relu6", "hardtanh", "leaky_relu", "rrelu", "hardshrink"])
@pytest.mark.parametrize("v", [0.7, -0.7, 0.0])
def test_piecewise_activations_on_a_0d_tensor(name, v):
    """A 0-d input keeps its shape through the activations' forward and backward (the
    gradients' contiguous copies made it 1-d, and leaky_relu's forward raised)."""
    got = []
    for m in (ember, torch):
        x = m.tensor(v, requires_grad=True)
        f = getattr(m.nn.functional, name)
        y = f(x, training=False) if name == "rrelu" else f(x)
        y.backward()
        got.append((tuple(y.shape), float(y.detach()), tuple(x.grad.shape), float(x.grad)))
    assert got[0] == got[1]


def test_norms_of_zero_vectors_have_torchs_gradients():
    """normalize and cosine_similarity of a zero vector, and pdist of equal rows: the norm's
    zero gradient at zero, as torch's (a square root of the sum of squares gave NaN)."""
    for fn in (
        lambda m, x, y: m.nn.functional.normalize(x, dim=1),
        lambda m, x, y: m.nn.functional.cosine_similarity(x, y),
        lambda m, x, y: m.pdist(m.cat([x, y])),
    ):
        grads = []
        for m in (ember, torch):
            x = m.zeros(2, 3, requires_grad=True)
            y = m.tensor([[1.0, 2.0, 2.0], [0.0, 0.0, 0.0]], requires_grad=True)
            fn(m, x, y).sum().backward()
            grads.append([None if t.grad is None else t.grad.numpy() for t in (x, y)])
        for a, b in zip(grads[0], grads[1]):
            assert (a is None) == (b is None)
            if a is not None:
                np.testing.assert_allclose(a, b, rtol=1e-6)


@pytest.mark.parametrize(
    "fn",
    [
        lambda m, x: m.nn.functional.softshrink(x),
        lambda m, x: m.nn.functional.hardshrink(x, 0.4),
        lambda m, x: m.sinc(x),
        lambda m, x: m.special.ndtr(x),
        lambda m, x: m.logit(x),
        lambda m, x: m.abs(x),
    ],
)
def test_special_values_through_elementwise_ops_match_torch(fn):
    """NaN, infinities, a subnormal-small value and values outside logit's domain, placed first
    (in torch's vectorised part): shrinks keep a NaN input (they gave 0), sinc's slope at 1e-300
    is 0 (it was 0 / 0), ndtr(-inf) is 0 (it was NaN), logit's gradient is NaN outside [0, 1]
    (it was finite), abs's gradient at NaN is 0 (torch's sign of NaN; it was NaN)."""
    v = np.full(40, 0.3)
    v[:7] = [np.nan, np.inf, -np.inf, 1e-300, -0.25, 1.5, 0.7]
    w = np.linspace(0.5, 1.5, 40)
    got = []
    for m in (ember, torch):
        x = m.tensor(v, dtype=m.float64, requires_grad=True)
        y = fn(m, x)
        (y * m.tensor(w, dtype=m.float64)).sum().backward()
        got.append((y.detach().numpy(), x.grad.numpy()))
    for a, b in zip(got[0], got[1]):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=0, equal_nan=True)


@pytest.mark.parametrize(
    "name", ["atan2", "xlogy", "special.xlog1py", "remainder", "maximum", "minimum", "nextafter"]
)
def test_binary_gradients_at_special_values_match_torch(name):
    """Every pair of 0, -0, +-1, 0.5, -2, +-inf, NaN and 1e-300: atan2's gradient is 0 where
    a^2 + b^2 is 0 (it was NaN or inf), xlogy's and xlog1py's as torch's formulas (log y unless
    x is 0 and y is out of the domain; x / y), remainder's divisor gradient with Python's floor
    division (1 // -inf is -1), maximum/minimum give a NaN's gradient to both sides, and
    nextafter's input gradient is 0 where input equals other."""
    import itertools

    sv = [0.0, -0.0, 1.0, -1.0, 0.5, -2.0, np.inf, -np.inf, np.nan, 1e-300]
    pairs = np.array(list(itertools.product(sv, sv)))
    a0 = np.concatenate([pairs[:, 0], np.full(8, 0.3)])
    b0 = np.concatenate([pairs[:, 1], np.full(8, 0.7)])
    w = np.linspace(0.5, 1.5, len(a0))
    got = []
    for m in (ember, torch):
        f = m
        for part in name.split("."):
            f = getattr(f, part)
        a = m.tensor(a0, dtype=m.float64, requires_grad=True)
        b = m.tensor(b0, dtype=m.float64, requires_grad=True)
        y = f(a, b)
        (y * m.tensor(w, dtype=m.float64)).sum().backward()
        got.append([y.detach().numpy(), a.grad.numpy(), b.grad.numpy()])
    for e, t in zip(*got):
        np.testing.assert_allclose(e, t, rtol=1e-12, atol=1e-300, equal_nan=True)
