"""nn.init and every layer's initial parameters: after the same manual_seed, ember draws exactly
torch's values (bit for bit) and leaves the generator where torch leaves it."""

from __future__ import annotations

import math

import numpy as np
import pytest

import ember
from tests._support.same_stream import assert_bitwise, assert_streams_aligned, run_both
from tests._support.torch_ref import torch

SHAPES = [(1,), (7,), (15,), (16,), (17,), (33, 5), (8, 3, 3, 3), (64, 100)]
MATRIX_SHAPES = [(3, 5), (16, 16), (17, 9), (8, 3, 3, 3), (64, 100)]


def _init_both(name, shape, dtype="float32", *args, **kwargs):
    ef, tf = getattr(ember.nn.init, name), getattr(torch.nn.init, name)

    def e():
        return ef(ember.empty(shape, dtype=getattr(ember, dtype)), *args, **kwargs)

    def t():
        return tf(torch.empty(shape, dtype=getattr(torch, dtype)), *args, **kwargs)

    return e, t


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize(
    "name,args",
    [("uniform_", ()), ("uniform_", (-0.3, 2.5)), ("normal_", ()), ("normal_", (1.5, 0.2))],
)
def test_uniform_normal(name, args, shape):
    run_both(*_init_both(name, shape, "float32", *args), seed=len(shape) * 31 + shape[0])


@pytest.mark.parametrize("dtype", ["float64", "float16", "bfloat16"])
@pytest.mark.parametrize("name", ["uniform_", "normal_", "xavier_uniform_", "kaiming_normal_"])
def test_other_dtypes(name, dtype):
    run_both(*_init_both(name, (33, 5), dtype), seed=3)


@pytest.mark.parametrize("shape", MATRIX_SHAPES)
@pytest.mark.parametrize(
    "name,kwargs",
    [
        ("xavier_uniform_", {}),
        ("xavier_uniform_", {"gain": 1.7}),
        ("xavier_normal_", {}),
        ("kaiming_uniform_", {}),
        ("kaiming_uniform_", {"a": math.sqrt(5)}),
        ("kaiming_uniform_", {"mode": "fan_out", "nonlinearity": "relu"}),
        ("kaiming_normal_", {}),
        ("kaiming_normal_", {"a": 0.2, "mode": "fan_out", "nonlinearity": "leaky_relu"}),
    ],
)
def test_fan_based(name, kwargs, shape):
    run_both(*_init_both(name, shape, "float32", **kwargs), seed=11)


@pytest.mark.parametrize("shape", [(7,), (33, 5), (64, 100), (3, 4, 5)])
@pytest.mark.parametrize(
    "bounds",
    [
        (0.0, 1.0, -2.0, 2.0),  # default: the normal-and-redraw branch
        (0.0, 1.0, -0.5, 0.5),  # mass 0.38: still normal draws, many redrawn
        (0.0, 1.0, 0.5, 1.0),  # mass 0.15: uniform proposals with rejection
        (0.3, 0.02, -0.04, 0.04),  # far tail: rejection, peak at the bound
        (1.0, 2.0, -1.0, 0.2),
    ],
)
def test_trunc_normal(bounds, shape):
    mean, std, a, b = bounds
    e, t = run_both(*_init_both("trunc_normal_", shape, "float32", mean, std, a, b), seed=5)
    assert float(e.min()) >= np.float32(a) and float(e.max()) <= np.float32(b)


def test_trunc_normal_float64_and_generator():
    ge, gt = ember.Generator().manual_seed(9), torch.Generator().manual_seed(9)
    for a, b in ((-2.0, 2.0), (0.5, 1.0)):
        e = ember.nn.init.trunc_normal_(ember.empty(50, 3, dtype=ember.float64), 0, 1, a, b, ge)
        t = torch.nn.init.trunc_normal_(torch.empty(50, 3, dtype=torch.float64), 0, 1, a, b, gt)
        assert_bitwise(e, t)
    assert_streams_aligned((ge, gt))


@pytest.mark.parametrize("name", ["uniform_", "normal_", "xavier_uniform_", "kaiming_uniform_"])
def test_generator_argument(name):
    """``generator=`` draws from that generator only: the global stream is untouched."""
    ember.manual_seed(1)
    torch.manual_seed(1)
    ge, gt = ember.Generator().manual_seed(77), torch.Generator().manual_seed(77)
    e = getattr(ember.nn.init, name)(ember.empty(20, 6), generator=ge)
    t = getattr(torch.nn.init, name)(torch.empty(20, 6), generator=gt)
    assert_bitwise(e, t)
    assert_streams_aligned((ge, gt))
    assert_streams_aligned()


@pytest.mark.parametrize("name", ["uniform_", "normal_", "kaiming_uniform_", "trunc_normal_"])
def test_views(name):
    """Initialising a transposed or sliced view draws in torch's order for that view, and the
    base tensor sees it."""

    def run(lib):
        f = getattr(lib.nn.init, name)
        w = lib.zeros(24, 40)
        f(w.t())
        f(w[3:19, 5:37:2])
        f(w[5:7])
        f(w[::3, 1::7].t())
        return w

    for seed in range(6):
        run_both(lambda: run(ember), lambda: run(torch), seed=seed)


@pytest.mark.parametrize("shape", [(20, 30), (16, 100)])
def test_sparse(shape):
    run_both(*_init_both("sparse_", shape, "float32", 0.3), seed=2)
    run_both(*_init_both("sparse_", shape, "float32", 0.1, 0.5), seed=4)


@pytest.mark.parametrize("shape", [(5, 3), (3, 5), (16, 16), (8, 3, 2, 2), (40, 7)])
def test_orthogonal(shape):
    """The normal sample and the stream are torch's; Q comes from NumPy's LAPACK, so it is
    compared to float32 rounding (a few ulps), not bit for bit."""
    ember.manual_seed(6)
    torch.manual_seed(6)
    e = ember.nn.init.orthogonal_(ember.empty(shape), gain=1.5)
    t = torch.nn.init.orthogonal_(torch.empty(shape), gain=1.5)
    np.testing.assert_allclose(e.numpy(), t.numpy(), rtol=0, atol=2e-6)
    assert_streams_aligned()


def test_no_draw_initialisers():
    """eye_, dirac_, constant_ and zero-element tensors draw nothing."""

    def e():
        with pytest.warns(UserWarning):
            ember.nn.init.kaiming_uniform_(ember.empty(0, 3))
        return [
            ember.nn.init.eye_(ember.empty(3, 4)),
            ember.nn.init.dirac_(ember.empty(4, 2, 3, 3), groups=2),
            ember.nn.init.constant_(ember.empty(2, 2), 0.5),
            ember.nn.init.orthogonal_(ember.empty(0, 3)),
        ]

    def t():
        with pytest.warns(UserWarning):
            torch.nn.init.kaiming_uniform_(torch.empty(0, 3))
        return [
            torch.nn.init.eye_(torch.empty(3, 4)),
            torch.nn.init.dirac_(torch.empty(4, 2, 3, 3), groups=2),
            torch.nn.init.constant_(torch.empty(2, 2), 0.5),
            torch.nn.init.orthogonal_(torch.empty(0, 3)),
        ]

    run_both(e, t, seed=0)


def test_parameter_stays_a_leaf():
    """On a Parameter the initialisers record no graph, as torch's."""
    p = ember.nn.Parameter(ember.empty(6, 4))
    for f in (ember.nn.init.trunc_normal_, ember.nn.init.xavier_normal_, ember.nn.init.orthogonal_):
        assert f(p) is p
        assert p.grad_fn is None and p.requires_grad


# every layer with parameters: built in both libraries from one seed, the state dicts equal
LAYERS = [
    ("Linear", (7, 5), {}),
    ("Linear", (16, 3), {"bias": False}),
    ("Linear", (1, 1), {}),
    ("Bilinear", (4, 5, 3), {}),
    ("Conv1d", (3, 8, 5), {}),
    ("Conv2d", (3, 16, 3), {"padding": 1}),
    ("Conv2d", (4, 8, (2, 3)), {"groups": 2, "bias": False}),
    ("Conv3d", (2, 4, 3), {}),
    ("ConvTranspose1d", (3, 5, 4), {}),
    ("ConvTranspose2d", (4, 6, 3), {"groups": 2}),
    ("ConvTranspose3d", (2, 3, 2), {}),
    ("Embedding", (10, 4), {}),
    ("Embedding", (10, 4), {"padding_idx": 3}),
    ("EmbeddingBag", (12, 5), {"mode": "sum"}),
    ("EmbeddingBag", (12, 5), {"padding_idx": 0}),
    ("RNN", (4, 6), {"num_layers": 2}),
    ("RNN", (4, 6), {"nonlinearity": "relu", "bias": False}),
    ("LSTM", (5, 7), {"num_layers": 2, "bidirectional": True}),
    ("GRU", (3, 8), {"batch_first": True}),
    ("RNNCell", (4, 6), {}),
    ("LSTMCell", (4, 6), {}),
    ("GRUCell", (4, 6), {"bias": False}),
    ("MultiheadAttention", (8, 2), {}),
    ("MultiheadAttention", (8, 2), {"kdim": 5, "vdim": 3}),
    ("MultiheadAttention", (8, 4), {"bias": False}),
    ("TransformerEncoderLayer", (8, 2), {"dim_feedforward": 16}),
    ("TransformerDecoderLayer", (8, 2), {"dim_feedforward": 16}),
    (
        "Transformer",
        (),
        {
            "d_model": 8,
            "nhead": 2,
            "num_encoder_layers": 2,
            "num_decoder_layers": 1,
            "dim_feedforward": 12,
        },
    ),
    ("LayerNorm", (6,), {}),
    ("GroupNorm", (2, 6), {}),
    ("BatchNorm1d", (5,), {}),
    ("BatchNorm2d", (5,), {"affine": False}),
    ("InstanceNorm2d", (3,), {"affine": True}),
    ("RMSNorm", (6,), {}),
    ("PReLU", (3,), {}),
]


def _state(m):
    return {k: v for k, v in m.state_dict().items()}


@pytest.mark.parametrize(
    "name,args,kwargs", LAYERS, ids=[f"{n}-{i}" for i, (n, _, _) in enumerate(LAYERS)]
)
def test_layer_initial_state_dict(name, args, kwargs):
    for seed in (0, 1234, 2**40 + 3):

        def e():
            return _state(getattr(ember.nn, name)(*args, **kwargs))

        def t():
            return _state(getattr(torch.nn, name)(*args, **kwargs))

        run_both(e, t, seed=seed)


def test_transformer_encoder_stack_and_reset_parameters():
    """Stacks deep-copy their layer (no new draws); reset_parameters draws again in order."""

    def build(lib):
        layer = lib.nn.TransformerEncoderLayer(8, 2, dim_feedforward=16, batch_first=True)
        enc = lib.nn.TransformerEncoder(layer, 3)
        net = lib.nn.Sequential(lib.nn.Linear(4, 8), enc, lib.nn.Linear(8, 2))
        net[0].reset_parameters()
        net[2].reset_parameters()
        return _state(net)

    run_both(lambda: build(ember), lambda: build(torch), seed=42)
