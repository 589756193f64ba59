"""The dropout family and RReLU in training: after the same manual_seed, ember drops exactly the
elements torch drops, with torch's scaled values (bit for bit), its gradients, and the generator
left where torch leaves it."""

from __future__ import annotations

import numpy as np
import pytest

import ember
from tests._support.same_stream import run_both
from tests._support.torch_ref import torch

SHAPES = [(1,), (7,), (16,), (33, 5), (4, 3, 5, 5)]


def _input(shape, dtype="float32", seed=0):
    x = np.random.default_rng(seed).standard_normal(shape).astype(np.float32)
    return (
        ember.tensor(x).to(getattr(ember, dtype)).requires_grad_(True),
        torch.tensor(x).to(getattr(torch, dtype)).requires_grad_(True),
    )


def _fwd_bwd(fn, x):
    y = fn(x)
    (y * y.detach()).sum().backward()  # a non-uniform upstream gradient
    return [y, x.grad]


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("p", [0.1, 0.3, 0.5, 0.9])
def test_dropout(p, shape):
    xe, xt = _input(shape)
    run_both(
        lambda: _fwd_bwd(lambda x: ember.nn.functional.dropout(x, p), xe),
        lambda: _fwd_bwd(lambda x: torch.nn.functional.dropout(x, p), xt),
        seed=int(p * 10),
    )


@pytest.mark.parametrize("dtype", ["float64", "float16", "bfloat16"])
@pytest.mark.parametrize("p", [0.3, 0.77])
def test_dropout_dtypes(p, dtype):
    xe, xt = _input((9, 13), dtype)
    run_both(
        lambda: ember.nn.functional.dropout(xe.detach(), p),
        lambda: torch.nn.functional.dropout(xt.detach(), p),
        seed=1,
    )


def test_dropout_module_inplace_and_no_draws():
    """Dropout(p).train(), the in-place form, and the cases that draw nothing (eval, p=0, p=1,
    an empty input) leave the stream as torch does."""

    xe, xt = _input((5, 8), seed=9)

    def run(lib):
        x = (xe if lib is ember else xt).detach()
        d = lib.nn.Dropout(0.4)
        out = [d(x)]
        out.append(lib.nn.functional.dropout(x.clone(), 0.25, inplace=True))
        out.append(lib.nn.functional.dropout(x, 0.0))
        out.append(lib.nn.functional.dropout(x, 1.0))
        out.append(lib.nn.functional.dropout(lib.empty(0, 3), 0.5))
        d.eval()
        out.append(d(x))
        return out

    run_both(lambda: run(ember), lambda: run(torch), seed=3)


@pytest.mark.parametrize(
    "name,shape",
    [
        ("dropout1d", (4, 6, 9)),
        ("dropout1d", (6, 9)),
        ("dropout2d", (3, 5, 4, 4)),
        ("dropout2d", (5, 4, 4)),
        ("dropout3d", (2, 3, 2, 3, 4)),
        ("dropout3d", (3, 2, 3, 4)),
        ("feature_alpha_dropout", (4, 6, 3, 3)),
        ("alpha_dropout", (33, 5)),
        ("alpha_dropout", (7,)),
    ],
)
@pytest.mark.parametrize("p", [0.2, 0.6])
def test_feature_and_alpha_dropout(name, shape, p):
    xe, xt = _input(shape, seed=2)
    run_both(
        lambda: _fwd_bwd(lambda x: getattr(ember.nn.functional, name)(x, p, True), xe),
        lambda: _fwd_bwd(lambda x: getattr(torch.nn.functional, name)(x, p, True), xt),
        seed=7,
    )


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("bounds", [(1 / 8, 1 / 3), (0.01, 0.9)])
def test_rrelu_training(bounds, dtype):
    xe, xt = _input((50, 7), dtype, seed=4)
    with ember.no_grad():
        xe[::3] = 0.0  # zeros draw a slope too (x <= 0)
    with torch.no_grad():
        xt[::3] = 0.0
    lo, hi = bounds
    run_both(
        lambda: _fwd_bwd(lambda x: ember.nn.functional.rrelu(x, lo, hi, True), xe),
        lambda: _fwd_bwd(lambda x: torch.nn.functional.rrelu(x, lo, hi, True), xt),
        seed=8,
    )


@pytest.mark.parametrize(
    "dtype,training",
    [("float32", True), ("float64", True), ("float32", False), ("bfloat16", False)],
)
def test_rrelu_in_place(dtype, training):
    """F.rrelu_ writes into its input and returns it: torch's draws in training (one per
    x <= 0), the fixed slope (lower + upper) / 2 in eval (no draw); the gradient flows through
    the rewritten intermediate as torch's."""
    xe, xt = _input((6, 11), dtype, seed=5)

    def run(lib, x):
        y = x * 1.0  # a non-leaf to write into
        r = lib.nn.functional.rrelu_(y, 0.05, 0.4, training)
        assert r is y
        (r * r.detach()).sum().backward()
        return [r, x.grad]

    run_both(lambda: run(ember, xe), lambda: run(torch, xt), seed=11)


def test_rrelu_in_place_defaults_generator_and_leaf_error():
    # the defaults (1/8, 1/3, eval); generator= draws from that generator, the global one
    # untouched
    for lib in (ember, torch):
        with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
            lib.nn.functional.rrelu_(lib.ones(3, requires_grad=True), training=True)

    def run(lib):
        x = lib.tensor(np.linspace(-3.0, 2.0, 20, dtype=np.float32))
        out = [lib.nn.functional.rrelu_(x.clone())]
        gen = lib.Generator().manual_seed(2)
        out.append(lib.nn.functional.rrelu_(x.clone(), 0.2, 0.6, True, generator=gen))
        out.append(lib.nn.functional.rrelu_(x.clone(), 0.2, 0.6, True, gen))
        return out

    run_both(lambda: run(ember), lambda: run(torch), seed=4)


def test_modules_in_a_network():
    """Dropout layers interleaved with others: masks drawn in forward order across steps. The
    matmuls may round differently (BLAS), so values are compared to float32 rounding and the
    dropped elements exactly."""

    def run(lib):
        lib.manual_seed(21)
        net = lib.nn.Sequential(
            lib.nn.Linear(6, 12),
            lib.nn.RReLU(),
            lib.nn.Dropout(0.3),
            lib.nn.Linear(12, 12),
            lib.nn.AlphaDropout(0.2),
            lib.nn.Linear(12, 3),
            lib.nn.Dropout(0.5),
        )
        x = lib.tensor(np.random.default_rng(5).standard_normal((4, 6)).astype(np.float32))
        return [net(x).detach().numpy() for _ in range(3)], lib.rand(4).numpy()

    (e, e_next), (t, t_next) = run(ember), run(torch)
    for a, b in zip(e, t):
        np.testing.assert_array_equal(a == 0, b == 0)
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(e_next, t_next)


@pytest.mark.parametrize("name", ["dropout", "alpha_dropout", "dropout2d"])
def test_non_contiguous_input(name):
    """The noise is a fresh C-ordered tensor: a transposed input is dropped in logical order."""
    xe, xt = _input((6, 5, 4, 3), seed=6)
    run_both(
        lambda: getattr(ember.nn.functional, name)(xe.detach().permute(3, 1, 2, 0), 0.4, True),
        lambda: getattr(torch.nn.functional, name)(xt.detach().permute(3, 1, 2, 0), 0.4, True),
        seed=9,
    )


def _sdpa(lib, x):
    return lib.nn.functional.scaled_dot_product_attention(x, x * 0.5, x, dropout_p=0.3)


LAYERS_WITH_DROPOUT = [
    ("LSTM", lambda lib: lib.nn.LSTM(4, 6, num_layers=3, dropout=0.4)),
    ("GRU", lambda lib: lib.nn.GRU(4, 6, num_layers=2, dropout=0.5, bidirectional=True)),
    ("RNN", lambda lib: lib.nn.RNN(4, 6, num_layers=2, dropout=0.3, batch_first=True)),
    ("MultiheadAttention", lambda lib: lib.nn.MultiheadAttention(4, 2, dropout=0.3)),
    ("TransformerEncoderLayer", lambda lib: lib.nn.TransformerEncoderLayer(4, 2, 8)),
    ("TransformerDecoderLayer", lambda lib: lib.nn.TransformerDecoderLayer(4, 2, 8)),
    ("sdpa", None),
]


@pytest.mark.parametrize("name,make", LAYERS_WITH_DROPOUT, ids=[n for n, _ in LAYERS_WITH_DROPOUT])
def test_dropout_inside_layers(name, make):
    """Layers that drop internally (between RNN layers, on attention weights, in transformer
    blocks) draw torch's masks in torch's order; values agree to float32 rounding (matmuls),
    the dropped positions and the stream exactly."""
    x = np.random.default_rng(0).standard_normal((5, 3, 4)).astype(np.float32)

    def run(lib):
        lib.manual_seed(0)
        t = lib.tensor(x)
        if make is None:
            out = _sdpa(lib, t)
        else:
            m = make(lib)
            if name == "MultiheadAttention":
                out = m(t, t, t)[1]  # the attention weights, after dropout
            elif name == "TransformerDecoderLayer":
                out = m(t, t * 0.5)
            else:
                out = m(t)
            out = out[0] if isinstance(out, tuple) else out
        return out.detach().numpy(), lib.rand(3).numpy()

    (e, e_next), (t, t_next) = run(ember), run(torch)
    np.testing.assert_allclose(e, t, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(e_next, t_next)
