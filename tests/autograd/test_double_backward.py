"""Second derivatives (create_graph=True, then a second backward) through the activations,
norms, losses and layers whose backward ember computes on arrays: against torch's double
backward, and by finite differences (gradgradcheck) in float64."""

from __future__ import annotations

import numpy as np
import pytest

import ember
from tests._support.torch_ref import torch


def _weights(shape, seed):
    return np.random.default_rng(seed).standard_normal(shape)


def _second(mod, f, arrays, grad_of):
    """First gradients (with a graph) of sum(f(*inputs) * W), then the gradients of
    sum(first * V) with respect to every input: both as NumPy arrays (zeros for None)."""
    xs = [mod.tensor(a, requires_grad=i in grad_of) for i, a in enumerate(arrays)]
    y = f(mod, *xs)
    ys = y if isinstance(y, tuple) else (y,)
    obj = sum((t * mod.tensor(_weights(tuple(t.shape), 11 + i))).sum() for i, t in enumerate(ys))
    wrt = [xs[i] for i in grad_of]
    first = mod.autograd.grad(obj, wrt, create_graph=True, allow_unused=True)
    s = sum(
        (g * mod.tensor(_weights(tuple(g.shape), 21 + i))).sum()
        for i, g in enumerate(first)
        if g is not None
    )
    second = mod.autograd.grad(s, wrt, allow_unused=True)

    def arr(g, x):
        return np.zeros(tuple(x.shape)) if g is None else g.detach().numpy()

    return [arr(g, x) for g, x in zip(first, wrt)], [arr(g, x) for g, x in zip(second, wrt)]


rng = np.random.default_rng(0)
X = rng.standard_normal((4, 6)) * 2
X[0, :3] = [0.3, -2.5, 4.0]  # across the breakpoints of the piecewise ones
IMG = rng.standard_normal((2, 3, 5, 5))
W3 = rng.standard_normal(6)
B3 = rng.standard_normal(6)
WC = rng.standard_normal(3)
BC = rng.standard_normal(3)
T4 = np.array([1, 0, 5, 2])

CASES = {
    "gelu": (lambda m, x: m.nn.functional.gelu(x), [X]),
    "gelu_tanh": (lambda m, x: m.nn.functional.gelu(x, approximate="tanh"), [X]),
    "silu": (lambda m, x: m.nn.functional.silu(x), [X]),
    "mish": (lambda m, x: m.nn.functional.mish(x), [X]),
    "elu": (lambda m, x: m.nn.functional.elu(x, 0.7), [X]),
    "selu": (lambda m, x: m.nn.functional.selu(x), [X]),
    "celu": (lambda m, x: m.nn.functional.celu(x, 1.3), [X]),
    "softplus": (lambda m, x: m.nn.functional.softplus(x, 2.0, 3.0), [X]),
    "hardswish": (lambda m, x: m.nn.functional.hardswish(x), [X]),
    "leaky_relu": (lambda m, x: m.nn.functional.leaky_relu(x, 0.2) ** 2, [X]),
    "hardtanh": (lambda m, x: m.nn.functional.hardtanh(x, -1.0, 1.5) ** 2, [X]),
    "relu6": (lambda m, x: m.nn.functional.relu6(x * 3) ** 2, [X]),
    "threshold": (lambda m, x: m.nn.functional.threshold(x, 0.1, -2.0) ** 2, [X]),
    "softshrink": (lambda m, x: m.nn.functional.softshrink(x, 0.5) ** 2, [X]),
    "hardshrink": (lambda m, x: m.nn.functional.hardshrink(x, 0.5) ** 2, [X]),
    "logsigmoid": (lambda m, x: m.nn.functional.logsigmoid(x), [X]),
    "softsign": (lambda m, x: m.nn.functional.softsign(x), [X]),
    "tanhshrink": (lambda m, x: m.nn.functional.tanhshrink(x), [X]),
    "layer_norm": (lambda m, x, w, b: m.nn.functional.layer_norm(x, (6,), w, b), [X, W3, B3]),
    "layer_norm_plain": (lambda m, x: m.nn.functional.layer_norm(x, (6,)), [X]),
    "rms_norm": (lambda m, x, w: m.nn.functional.rms_norm(x, (6,), w), [X, W3]),
    "group_norm": (lambda m, x, w, b: m.nn.functional.group_norm(x, 3, w, b), [IMG, WC, BC]),
    "batch_norm": (
        lambda m, x, w, b: m.nn.functional.batch_norm(x, None, None, w, b, training=True),
        [IMG, WC, BC],
    ),
    "mse": (lambda m, a, b: m.nn.functional.mse_loss(a, b), [X, X[::-1].copy()]),
    "mse_sum": (lambda m, a, b: m.nn.functional.mse_loss(a, b, reduction="sum"), [X, X * 0.5]),
    "mse_none": (lambda m, a, b: m.nn.functional.mse_loss(a, b, reduction="none"), [X, X.T.T]),
    "nll": (lambda m, x: m.nn.functional.nll_loss(m.log_softmax(x, 1), m.tensor(T4)), [X]),
    "nll_weight_ignore": (
        lambda m, x: m.nn.functional.nll_loss(
            m.log_softmax(x, 1), m.tensor(T4), m.tensor(np.abs(W3)), ignore_index=5
        ),
        [X],
    ),
    "cross_entropy": (lambda m, x: m.nn.functional.cross_entropy(x, m.tensor(T4)), [X]),
    "cross_entropy_weight_ignore_smooth": (
        lambda m, x: m.nn.functional.cross_entropy(
            x, m.tensor(T4), m.tensor(np.abs(W3)), ignore_index=0, label_smoothing=0.1
        ),
        [X],
    ),
    "cross_entropy_none_3d": (
        lambda m, x: m.nn.functional.cross_entropy(
            x, m.tensor(np.array([[0, 2, 1, 2, 0], [1, 1, 0, 2, 2]])), reduction="none"
        ),
        [IMG[:, :, 0]],
    ),
    "cross_entropy_probs": (
        lambda m, x, p: m.nn.functional.cross_entropy(x, p.softmax(1), label_smoothing=0.2),
        [X, X[::-1].copy()],
    ),
    "bce": (
        lambda m, x, t: m.nn.functional.binary_cross_entropy(x.sigmoid(), t.sigmoid()),
        [X, X.T.T * 0.3],
    ),
    "bce_logits": (
        lambda m, x, t: m.nn.functional.binary_cross_entropy_with_logits(
            x, t.sigmoid(), m.tensor(np.abs(X[0])), pos_weight=m.tensor(np.abs(W3) + 0.5)
        ),
        [X, X * 0.3],
    ),
    "conv2d": (
        lambda m, x, w, b: m.nn.functional.conv2d(x, w, b, stride=2, padding=1),
        [IMG, rng.standard_normal((4, 3, 3, 3)), rng.standard_normal(4)],
    ),
    "conv2d_groups_dilation": (
        lambda m, x, w: m.nn.functional.conv2d(x, w, padding=(2, 1), dilation=2, groups=3),
        [IMG, rng.standard_normal((6, 1, 2, 3))],
    ),
    "conv1d": (
        lambda m, x, w: m.nn.functional.conv1d(x, w, stride=2, padding=1),
        [IMG[:, :, 0], rng.standard_normal((2, 3, 3))],
    ),
    "conv3d": (
        lambda m, x, w: m.nn.functional.conv3d(x, w, padding=1),
        [IMG[:, :, :3, :3, None].repeat(2, 4), rng.standard_normal((2, 3, 2, 2, 2))],
    ),
    "conv_transpose2d": (
        lambda m, x, w, b: m.nn.functional.conv_transpose2d(
            x, w, b, stride=2, padding=1, output_padding=1
        ),
        [IMG, rng.standard_normal((3, 2, 3, 3)), rng.standard_normal(2)],
    ),
    "conv_transpose1d_groups": (
        lambda m, x, w: m.nn.functional.conv_transpose1d(x, w, stride=2, groups=3, dilation=2),
        [IMG[:, :, 0], rng.standard_normal((3, 2, 3))],
    ),
    "max_pool2d": (lambda m, x: m.nn.functional.max_pool2d(x * x, 3, 2, 1), [IMG]),
    "max_pool1d_dilated": (
        lambda m, x: m.nn.functional.max_pool1d(x, 2, 1, dilation=2) ** 2,
        [IMG[:, :, 0]],
    ),
    "avg_pool2d": (
        lambda m, x: m.nn.functional.avg_pool2d(x * x, 3, 2, 1, count_include_pad=False),
        [IMG],
    ),
    "adaptive_avg_pool2d": (
        lambda m, x: m.nn.functional.adaptive_avg_pool2d(x * x, (2, 3)),
        [IMG],
    ),
    "global_avg_pool": (lambda m, x: m.nn.functional.adaptive_avg_pool2d(x * x, 1), [IMG]),
    "pad_constant": (lambda m, x: m.nn.functional.pad(x * x, (1, 2, 0, 1), value=3.0), [IMG]),
    "pad_reflect": (lambda m, x: m.nn.functional.pad(x * x, (2, 1, 1, 2), "reflect"), [IMG]),
    "pad_replicate": (
        lambda m, x: m.nn.functional.pad(x * x, (2, 1), "replicate"),
        [IMG[:, :, 0]],
    ),
    "interpolate_bilinear": (
        lambda m, x: m.nn.functional.interpolate(x * x, scale_factor=2, mode="bilinear"),
        [IMG],
    ),
    "interpolate_nearest": (
        lambda m, x: m.nn.functional.interpolate(x * x, size=(7, 3), mode="nearest"),
        [IMG],
    ),
    "unfold_fold": (
        lambda m, x: m.nn.functional.fold(
            m.nn.functional.unfold(x * x, 2, padding=1), (5, 5), 2, padding=1
        ),
        [IMG],
    ),
    "embedding": (
        lambda m, w: m.nn.functional.embedding(m.tensor([[1, 0, 3], [3, 3, 2]]), w) ** 2,
        [X],
    ),
    "embedding_padding_scale": (
        lambda m, w: (
            m.nn.functional.embedding(
                m.tensor([[1, 0, 3], [3, 3, 2]]), w, padding_idx=3, scale_grad_by_freq=True
            )
            ** 2
        ),
        [X],
    ),
    "conv_transpose2d_output_padding_past_stride": (
        lambda m, x, w: m.nn.functional.conv_transpose2d(
            x, w, stride=1, dilation=2, output_padding=1
        ),
        [IMG, rng.standard_normal((3, 2, 2, 2))],
    ),
    "bilinear": (
        lambda m, a, b, w, bias: m.nn.functional.bilinear(a, b, w, bias),
        [X[:, :3], X[:, 2:], rng.standard_normal((5, 3, 4)), rng.standard_normal(5)],
    ),
    "prelu": (lambda m, x, w: m.nn.functional.prelu(x, w), [IMG, np.array([0.2, -0.5, 1.5])]),
    "adaptive_max_pool2d": (
        lambda m, x: m.nn.functional.adaptive_max_pool2d(x * x, (2, 3)),
        [IMG],
    ),
    "dropout_training": (
        lambda m, x: (m.manual_seed(3), m.nn.functional.dropout(x * x, 0.4))[1],
        [X],
    ),
    "cast": (lambda m, x: (x.float() ** 3).double(), [X]),
    "hypot_mixed_dtypes": (lambda m, a, b: m.hypot(a.float(), b), [X, X[::-1].copy()]),
    "atan2_mixed_dtypes": (lambda m, a, b: m.atan2(a, b.float()), [X, X[::-1].copy()]),
    "rfft_irfft": (lambda m, x: m.fft.irfft(m.fft.rfft(x * x) * 1.5, n=6), [X]),
    "fftn_abs": (lambda m, x: m.fft.fftn(x * x).abs(), [X + 3]),
    "stft": (
        lambda m, x: m.view_as_real(
            m.stft(x * x, 4, return_complex=True, window=m.hann_window(4, dtype=m.float64))
        ),
        [X.reshape(-1)],
    ),
    "lgamma": (lambda m, x: m.lgamma(x.abs() + 0.5), [X]),
    "digamma": (lambda m, x: m.digamma(x.abs() + 0.5), [X]),
    "polygamma": (lambda m, x: m.polygamma(2, x.abs() + 0.5), [X]),
    "mvlgamma": (lambda m, x: m.mvlgamma(x.abs() + 2, 3), [X]),
    "i0_i1": (lambda m, x: m.i0(x) + m.special.i1(x) + m.special.i1e(x) + m.special.i0e(x), [X]),
    "ndtr_family": (
        lambda m, x: m.special.ndtr(x) + m.special.log_ndtr(x) + m.special.erfcx(x * 0.5),
        [X],
    ),
    "ndtri": (lambda m, x: m.special.ndtri(x.sigmoid()), [X]),
    "entr": (lambda m, x: m.special.entr(x.abs() + 0.1), [X]),
    "xlogy": (lambda m, a, b: m.xlogy(a, b.abs() + 0.1), [X, X[::-1].copy()]),
    "xlog1py": (lambda m, a, b: m.special.xlog1py(a, b.abs()), [X, X[::-1].copy()]),
}


def _rnn_case(kind, bidirectional=False, cell=False):
    def f(m, x, h0):
        m.manual_seed(5)
        cls = getattr(m.nn, kind + ("Cell" if cell else ""))
        if cell:
            mod = cls(6, 4).double()
            m.manual_seed(5)
            for p, a in zip(mod.parameters(), _RNN_PARAMS[kind + "Cell"]):
                p.data.copy_(m.tensor(a))
            hx = (h0[0], h0[0] * 0.5) if kind == "LSTM" else h0[0]
            out = mod(x[0], hx)
            return out if isinstance(out, tuple) else (out,)
        mod = cls(6, 4, 2, bidirectional=bidirectional).double()
        for p, a in zip(mod.parameters(), _RNN_PARAMS[kind + str(bidirectional)]):
            p.data.copy_(m.tensor(a))
        d = 2 if bidirectional else 1
        hx = h0[: 2 * d]
        out, hn = mod(x, (hx, hx * 0.5) if kind == "LSTM" else hx)
        return (out,) + (hn if isinstance(hn, tuple) else (hn,))

    return f, [rng.standard_normal((5, 3, 6)), rng.standard_normal((4, 3, 4))]


def _params(shapes, seed):
    g = np.random.default_rng(seed)
    return [g.standard_normal(s) * 0.4 for s in shapes]


def _layer_shapes(gates, bidirectional):
    one = [(gates * 4, 6), (gates * 4, 4), (gates * 4,), (gates * 4,)]
    two = [(gates * 4, 4 * (2 if bidirectional else 1)), (gates * 4, 4), (gates * 4,), (gates * 4,)]
    d = 2 if bidirectional else 1
    return one * d + two * d


_RNN_PARAMS = {
    **{
        k + str(b): _params(_layer_shapes(n, b), 3)
        for k, n in (("LSTM", 4), ("GRU", 3), ("RNN", 1))
        for b in (False, True)
    },
    "LSTMCell": _params([(16, 6), (16, 4), (16,), (16,)], 4),
    "GRUCell": _params([(12, 6), (12, 4), (12,), (12,)], 4),
}
for _k, _b, _c in (
    ("LSTM", False, False),
    ("LSTM", True, False),
    ("GRU", False, False),
    ("GRU", True, False),
    ("RNN", False, False),
    ("LSTM", False, True),
    ("GRU", False, True),
):
    CASES[f"{_k.lower()}{'_cell' if _c else ''}{'_bidirectional' if _b else ''}"] = _rnn_case(
        _k, _b, _c
    )


@pytest.mark.parametrize("name", list(CASES))
def test_second_derivatives_match_torch(name):
    f, arrays = CASES[name]
    grad_of = list(range(len(arrays)))
    e1, e2 = _second(ember, f, arrays, grad_of)
    t1, t2 = _second(torch, f, arrays, grad_of)
    f32 = "mixed" in name  # a float32 operand: float32 rounding
    for a, b in zip(e1 + e2, t1 + t2):
        np.testing.assert_allclose(a, b, rtol=1e-5 if f32 else 1e-9, atol=1e-6 if f32 else 1e-10)


@pytest.mark.parametrize(
    "name",
    [
        "gelu",
        "silu",
        "elu",
        "layer_norm",
        "batch_norm",
        "cross_entropy",
        "bce_logits",
        "conv2d_groups_dilation",
        "max_pool2d",
        "avg_pool2d",
        "pad_reflect",
        "embedding",
        "lstm_cell",
        "gru_cell",
    ],
)
def test_gradgradcheck_float64(name):
    f, arrays = CASES[name]
    xs = tuple(ember.tensor(a * 0.5, requires_grad=True) for a in arrays)
    assert ember.autograd.gradgradcheck(lambda *t: f(ember, *t), xs)


def test_float32_training_path_is_unchanged_by_the_graph_form():
    """Plain backward keeps the array formulas (the compiled GELU loop included)."""
    x = ember.tensor((X * 1.5).astype(np.float32), requires_grad=True)
    ember.nn.functional.gelu(x).sum().backward()
    tx = torch.tensor((X * 1.5).astype(np.float32), requires_grad=True)
    torch.nn.functional.gelu(tx).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-6, atol=1e-7)


def test_hardsigmoid_has_no_double_backward_as_in_torch():
    f = (lambda m, x: m.nn.functional.hardsigmoid(x) ** 2, [X])
    for mod in (ember, torch):
        with pytest.raises(RuntimeError):
            _second(mod, f[0], f[1], [0])


def test_gradient_penalty_training_step_matches_torch():
    """WGAN-GP's critic step, as its programs write it: a conv critic with LeakyReLU and layer
    norm, the gradient of its output at interpolates taken with create_graph=True, its norm's
    penalty in the loss; the parameters' gradients against torch's."""
    r = np.random.default_rng(9)
    real, fake = r.standard_normal((4, 3, 8, 8)), r.standard_normal((4, 3, 8, 8))
    alpha = r.random((4, 1, 1, 1))

    def step(m):
        m.manual_seed(0)
        nn = m.nn
        critic = nn.Sequential(
            nn.Conv2d(3, 8, 3, 2, 1),
            nn.LeakyReLU(0.2),
            nn.Conv2d(8, 8, 3, 2, 1),
            nn.LayerNorm([8, 2, 2]),
            nn.LeakyReLU(0.2),
            nn.Flatten(),
            nn.Linear(32, 1),
        ).double()
        for p, a in zip(critic.parameters(), _params([p.shape for p in critic.parameters()], 8)):
            p.data.copy_(m.tensor(a))
        xr, xf = m.tensor(real), m.tensor(fake)
        xi = (m.tensor(alpha) * xr + (1 - m.tensor(alpha)) * xf).requires_grad_(True)
        (g,) = m.autograd.grad(critic(xi).sum(), xi, create_graph=True)
        penalty = ((g.flatten(1).norm(2, dim=1) - 1) ** 2).mean()
        loss = critic(xf).mean() - critic(xr).mean() + 10 * penalty
        loss.backward()
        return [p.grad.numpy() for p in critic.parameters()]

    for a, b in zip(step(ember), step(torch)):
        np.testing.assert_allclose(a, b, rtol=1e-8, atol=1e-10)


def test_hessian_of_a_transformer_block_loss_matches_torch():
    """torch.func.hessian through GELU, layer norm and cross-entropy (double backward of each)."""
    r = np.random.default_rng(10)
    x, w1, w2 = r.standard_normal((3, 4)), r.standard_normal((5, 4)), r.standard_normal((3, 5))
    tgt = np.array([0, 2, 1])

    def hess(m):
        F = m.nn.functional

        def loss(v):
            h = F.layer_norm(F.gelu(m.tensor(x) @ v.reshape(5, 4).t()), (5,))
            return F.cross_entropy(h @ m.tensor(w2).t(), m.tensor(tgt))

        return m.func.hessian(loss)(m.tensor(w1.reshape(-1))).numpy()

    np.testing.assert_allclose(hess(ember), hess(torch), rtol=1e-8, atol=1e-10)


def test_an_op_without_double_backward_raises_torchs_error_type():
    """A multi-output op still without a graph form raises RuntimeError at the second
    backward (its gradients of different shapes once met in one buffer: a ValueError)."""
    x = ember.tensor(X, requires_grad=True)
    src = ember.tensor(X[::-1].copy(), requires_grad=True)
    idx = ember.tensor(np.array([[0, 1, 2, 3, 0, 1]] * 4))
    y = x.scatter_reduce(0, idx, src, "prod")
    gx, gs = ember.autograd.grad(y.sum(), (x, src), create_graph=True)
    with pytest.raises(RuntimeError, match="differentiate twice"):
        ember.autograd.grad((gx * gx).sum() + (gs * gs).sum(), (x, src))


def _piecewise(m):
    F = m.nn.functional
    return {
        "relu": lambda x: F.relu(x),
        "relu_inplace": lambda x: F.relu(x * 1.0, inplace=True),
        "leaky_relu": lambda x: F.leaky_relu(x, 0.1),
        "hardtanh": lambda x: F.hardtanh(x),
        "relu6": lambda x: F.relu6(x),
        "threshold": lambda x: F.threshold(x, 0.1, 2.0),
        "softshrink": lambda x: F.softshrink(x),
        "hardshrink": lambda x: F.hardshrink(x),
        "max_pool2d": lambda x: F.max_pool2d(x, 2),
        "max_pool1d": lambda x: F.max_pool1d(x.flatten(1, 2), 2),
        "avg_pool2d": lambda x: F.avg_pool2d(x, 2),
        "adaptive_avg_pool2d": lambda x: F.adaptive_avg_pool2d(x, 3),
        "adaptive_max_pool2d": lambda x: F.adaptive_max_pool2d(x, 3),
        "pad_reflect": lambda x: F.pad(x, (1, 1, 1, 1), mode="reflect"),
        "pad_replicate": lambda x: F.pad(x, (1, 1, 1, 1), mode="replicate"),
        "pad_constant": lambda x: F.pad(x, (1, 1, 1, 1)),
        "interpolate_area": lambda x: F.interpolate(x, size=3, mode="area"),
        "interpolate_nearest": lambda x: F.interpolate(x, scale_factor=2, mode="nearest"),
        "nll_loss": lambda x: F.nll_loss(x.flatten(2).mean(2), m.tensor([0])),
        "prelu": lambda x: F.prelu(x, m.tensor([0.25, 0.5], dtype=m.float64)),
        "mul_constant": lambda x: x * 2.0,
    }


@pytest.mark.parametrize("name", list(_piecewise(torch)))
def test_graphless_first_gradients_require_grad_where_torchs_do(name):
    """A gradient that is a constant slope times a constant upstream gradient carries a graph to
    the input where torch's backward kernel takes the input (ReLU, the pools, reflect padding,
    nll_loss, ...): it requires grad, and differentiating it gives zeros; elsewhere (a constant
    pad, nearest upsampling, a product with a constant) neither does."""
    x0 = np.random.default_rng(31).standard_normal((1, 2, 6, 6))
    got = []
    for mod in (ember, torch):
        x = mod.tensor(x0, requires_grad=True)
        (g,) = mod.autograd.grad(_piecewise(mod)[name](x).sum(), x, create_graph=True)
        second = None
        if g.requires_grad:
            (h,) = mod.autograd.grad((g * g).sum(), x)
            second = h.numpy()
        got.append((g.requires_grad, g.detach().numpy(), second))
    (erg, eg, eh), (trg, tg, th) = got
    assert erg == trg
    np.testing.assert_array_equal(eg, tg)
    if th is not None:
        np.testing.assert_array_equal(eh, th)


@pytest.mark.parametrize("name", ["fmod", "remainder", "copysign"])
@pytest.mark.parametrize("which", [(True, True), (True, False), (False, True)])
def test_graphless_gradients_of_binary_ops_require_grad_where_torchs_do(name, which):
    """fmod's and remainder's divisor gradient reads the dividend, copysign's input gradient
    the input: those carry a graph under create_graph, the others not, as torch's."""
    a0, b0 = np.array([2.5, -3.7, 4.1]), np.array([1.5, 2.0, -1.3])
    flags = []
    for mod in (ember, torch):
        a = mod.tensor(a0, requires_grad=which[0])
        b = mod.tensor(b0, requires_grad=which[1])
        ins = [t for t in (a, b) if t.requires_grad]
        gs = mod.autograd.grad(getattr(mod, name)(a, b).sum(), ins, create_graph=True)
        flags.append([g.requires_grad for g in gs])
    assert flags[0] == flags[1]
