"""torch's top-level in-place functions and ATen-named functional ops (ember/_top_level_forms.py)
against torch: the same tensor back, written in place, with torch's values; the functional ones
with the same draws from the same seed."""

from __future__ import annotations

import numpy as np
import pytest

import ember
from tests._support.torch_ref import assert_same, torch

_UNIT = [
    "abs_", "acos_", "arccos_", "arcsin_", "arcsinh_", "arctan_", "arctanh_", "asin_", "asinh_",
    "atan_", "atanh_", "ceil_", "cos_", "cosh_", "deg2rad_", "erf_", "erfc_", "exp2_", "exp_",
    "expm1_", "fix_", "floor_", "frac_", "i0_", "log10_", "log1p_", "log2_", "log_", "logit_",
    "neg_", "negative_", "rad2deg_", "reciprocal_", "round_", "rsqrt_", "sigmoid_", "sin_",
    "sinc_", "sinh_", "sqrt_", "square_", "tan_", "tanh_", "trunc_", "nan_to_num_",
    "conj_physical_", "detach_",
]  # fmt: skip


def _x(lib, low=0.1, high=0.9):
    a = np.random.default_rng(0).uniform(low, high, (3, 4))
    return lib.tensor(a)


def _same_in_place(fn_e, fn_t, make):
    e, t = make(ember), make(torch)
    re_, rt = fn_e(e), fn_t(t)
    assert re_ is e and rt is t
    np.testing.assert_allclose(e.numpy(), t.numpy(), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("name", _UNIT)
def test_unary_in_place_forms(name):
    _same_in_place(getattr(ember, name), getattr(torch, name), _x)


def test_acosh_and_forms_with_arguments():
    _same_in_place(ember.acosh_, torch.acosh_, lambda L: _x(L, 1.5, 3.0))
    for name, args in [
        ("clamp_", (0.3, 0.6)),
        ("clip_", (0.3, 0.6)),
        ("clamp_min_", (0.5,)),
        ("clamp_max_", (0.5,)),
        ("fill_", (2.5,)),
        ("logit_", (0.2,)),
    ]:
        _same_in_place(
            lambda t, n=name, a=args: getattr(ember, n)(t, *a),
            lambda t, n=name, a=args: getattr(torch, n)(t, *a),
            _x,
        )
    for name in ("ldexp_", "xlogy_"):
        _same_in_place(
            lambda t, n=name: getattr(ember, n)(t, ember.tensor(np.full((3, 4), 2.0))),
            lambda t, n=name: getattr(torch, n)(t, torch.tensor(np.full((3, 4), 2.0))),
            _x,
        )
    m, v = np.ones((3, 2)), np.arange(2.0)
    for lib in (ember, torch):
        y = lib.tensor(np.arange(3.0))
        assert lib.addmv_(y, lib.tensor(m), lib.tensor(v), beta=0.5, alpha=2.0) is y
        np.testing.assert_allclose(y.numpy(), 0.5 * np.arange(3.0) + 2.0 * (m @ v))
    for name in ("gcd_", "lcm_"):
        e, t = ember.tensor([12, 18, 7]), torch.tensor([12, 18, 7])
        assert getattr(ember, name)(e, ember.tensor([8, 12, 3])) is e
        getattr(torch, name)(t, torch.tensor([8, 12, 3]))
        assert e.tolist() == t.tolist()
    idx = ([0, 2], [1, 3])
    _same_in_place(
        lambda t: ember.index_put_(
            t, tuple(ember.tensor(i) for i in idx), ember.tensor(5.0, dtype=ember.float64)
        ),
        lambda t: torch.index_put_(
            t, tuple(torch.tensor(i) for i in idx), torch.tensor(5.0, dtype=torch.float64)
        ),
        _x,
    )


@pytest.mark.parametrize(
    "name, args",
    [
        ("celu", (0.7,)),
        ("selu", ()),
        ("threshold", (0.5, -2.0)),
        ("rrelu", (0.1, 0.3, False)),
    ],
)
def test_functional_forms_and_their_in_place_twins(name, args):
    for suffix in ("", "_"):
        fe, ft = getattr(ember, name + suffix), getattr(torch, name + suffix)
        e, t = _x(ember, -1.0, 1.0), _x(torch, -1.0, 1.0)
        re_, rt = fe(e, *args), ft(t, *args)
        assert (re_ is e) == (rt is t) == (suffix == "_")
        np.testing.assert_allclose(re_.numpy(), rt.numpy(), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize(
    "name",
    ["dropout_", "alpha_dropout", "alpha_dropout_", "feature_dropout", "feature_dropout_"]
    + ["feature_alpha_dropout", "feature_alpha_dropout_", "rrelu_train"],
)
def test_random_forms_draw_torchs_numbers(name):
    outs = []
    for lib in (ember, torch):
        lib.manual_seed(7)
        x = lib.tensor(np.random.default_rng(1).standard_normal((4, 3, 5)).astype(np.float32))
        if name == "rrelu_train":
            r = lib.rrelu_(x, 0.1, 0.3, True)
        else:
            r = getattr(lib, name)(x, 0.4, True)
        assert (r is x) == (name.endswith("_") or name == "rrelu_train")
        outs.append(r.numpy())
    np.testing.assert_array_equal(outs[0], outs[1])


def test_errors_and_no_op_cases_as_torch():
    for lib in (ember, torch):
        x = lib.randn(4, 3)
        assert lib.feature_dropout(x, 0.5, False) is x
        with pytest.raises(RuntimeError, match="at least 2 dimensions"):
            lib.feature_dropout(lib.randn(3), 0.5, True)
    # torch.rrelu and rrelu_ draw their slopes from generator= when given (torch's draws)
    outs = []
    for lib in (ember, torch):
        gen = lib.Generator().manual_seed(5)
        x = lib.tensor(np.linspace(-2.0, 1.0, 13))
        y = lib.rrelu(x, 0.1, 0.3, True, gen)
        assert lib.rrelu_(x, 0.1, 0.3, True, generator=gen) is x
        outs.append((y.numpy(), x.numpy()))
    np.testing.assert_array_equal(outs[0][0], outs[1][0])
    np.testing.assert_array_equal(outs[0][1], outs[1][1])
    assert not np.array_equal(outs[0][0], outs[0][1])  # the second draw is not the first


def test_embedding_renorm_():
    w = np.random.default_rng(2).standard_normal((6, 3)) * 3
    outs = []
    for lib in (ember, torch):
        t = lib.tensor(w)
        assert lib.embedding_renorm_(t, lib.tensor([0, 2, 2, 5]), 1.5, 2.0) is t
        outs.append(t.numpy())
    np.testing.assert_allclose(outs[0], outs[1], rtol=1e-6)


def _r(*shape, seed=0, low=-1.0, high=1.0):
    return np.random.default_rng(seed).uniform(low, high, shape)


# (name, arrays builder, extra args builder (lib -> tuple)): torch.<name>(*tensors, *extras)
_ATEN_CASES = [
    ("conv1d", lambda: (_r(2, 3, 9), _r(4, 3, 3, seed=1)), lambda L: (None, 2, 1)),
    ("conv2d", lambda: (_r(2, 3, 7, 7), _r(4, 3, 3, 3, seed=1)), lambda L: (None, 1, 1)),
    ("conv3d", lambda: (_r(1, 2, 5, 5, 5), _r(3, 2, 3, 3, 3, seed=1)), lambda L: ()),
    ("conv_transpose1d", lambda: (_r(2, 3, 6), _r(3, 4, 3, seed=1)), lambda L: (None, 2)),
    ("conv_transpose2d", lambda: (_r(1, 3, 4, 4), _r(3, 2, 3, 3, seed=1)), lambda L: (None, 2)),
    ("conv_transpose3d", lambda: (_r(1, 2, 3, 3, 3), _r(2, 2, 2, 2, 2, seed=1)), lambda L: ()),
    ("cosine_similarity", lambda: (_r(4, 5), _r(4, 5, seed=1)), lambda L: (1, 1e-8)),
    ("pairwise_distance", lambda: (_r(4, 5), _r(4, 5, seed=1)), lambda L: (3.0,)),
    ("pdist", lambda: (_r(5, 3),), lambda L: (2.0,)),
    ("pixel_shuffle", lambda: (_r(1, 8, 3, 3),), lambda L: (2,)),
    ("pixel_unshuffle", lambda: (_r(1, 2, 4, 4),), lambda L: (2,)),
    ("channel_shuffle", lambda: (_r(1, 6, 2, 2),), lambda L: (3,)),
    ("prelu", lambda: (_r(2, 3, 4), np.array([0.1, 0.2, 0.3])), lambda L: ()),
    ("hardshrink", lambda: (_r(3, 4),), lambda L: (0.3,)),
    ("bilinear", lambda: (_r(2, 3), _r(2, 4, seed=1), _r(5, 3, 4, seed=2)), lambda L: ()),
    ("rms_norm", lambda: (_r(2, 3, 4),), lambda L: ([4],)),
    ("adaptive_avg_pool1d", lambda: (_r(2, 3, 10),), lambda L: (4,)),
    ("adaptive_max_pool1d", lambda: (_r(2, 3, 10),), lambda L: (4,)),
    ("max_pool1d", lambda: (_r(2, 3, 10),), lambda L: (3,)),
    ("max_pool2d", lambda: (_r(2, 3, 7, 7),), lambda L: (3, 2, 1)),
    ("max_pool3d", lambda: (_r(1, 2, 5, 5, 5),), lambda L: (2,)),
    ("max_pool1d_with_indices", lambda: (_r(2, 3, 10),), lambda L: (3, [], 1)),
    ("avg_pool1d", lambda: (_r(2, 3, 10),), lambda L: (3, 2, 1, False, False)),
    ("layer_norm", lambda: (_r(2, 3, 4), _r(4, seed=1), _r(4, seed=2)), None),
    ("group_norm", lambda: (_r(2, 6, 3),), lambda L: (3,)),
    ("kl_div", lambda: (_r(3, 4), _r(3, 4, seed=1, low=0.1)), lambda L: (0,)),
    ("binary_cross_entropy_with_logits", lambda: (_r(3, 4), _r(3, 4, seed=1, low=0.0)), None),
    (
        "hinge_embedding_loss",
        lambda: (
            _r(
                6,
            ),
            np.sign(_r(6, seed=1)),
        ),
        lambda L: (0.5, 2),
    ),
    (
        "margin_ranking_loss",
        lambda: (
            _r(
                6,
            ),
            _r(6, seed=1),
            np.sign(_r(6, seed=2)),
        ),
        None,
    ),
    ("cosine_embedding_loss", lambda: (_r(4, 3), _r(4, 3, seed=1), np.sign(_r(4, seed=2))), None),
    ("triplet_margin_loss", lambda: (_r(4, 3), _r(4, 3, seed=1), _r(4, 3, seed=2)), None),
    (
        "poisson_nll_loss",
        lambda: (_r(3, 4), _r(3, 4, seed=1, low=0)),
        lambda L: (True, False, 1e-8, 1),
    ),
]


@pytest.mark.parametrize("name, arrays, extras", _ATEN_CASES, ids=[c[0] for c in _ATEN_CASES])
def test_aten_named_functional_forms(name, arrays, extras):
    """Each with ATen's positional signature: values (and gradients) as torch's."""
    outs, grads = [], []
    for lib in (ember, torch):
        ts = [lib.tensor(a, requires_grad=True) for a in arrays()]
        if name == "layer_norm":
            r = lib.layer_norm(ts[0], [4], ts[1], ts[2], 1e-5, True)
        else:
            r = getattr(lib, name)(*ts, *(extras(lib) if extras else ()))
        vals = r if isinstance(r, tuple) else (r,)
        outs.append([v.detach().numpy() for v in vals])
        vals[0].sum().backward()
        grads.append(ts[0].grad.numpy())
    for e, t in zip(*outs):
        np.testing.assert_allclose(e, t, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(grads[0], grads[1], rtol=1e-10, atol=1e-12)


def test_aten_norms_embedding_and_ctc():
    """batch_norm/instance_norm with weight and bias before the running statistics (which they
    update as torch's), embedding(weight, indices) with ATen's padding_idx, ctc_loss's integer
    reduction."""
    x, w, b = _r(4, 3, 5), _r(3, seed=1), _r(3, seed=2)
    outs = []
    for lib in (ember, torch):
        rm, rv = lib.zeros(3, dtype=lib.float64), lib.ones(3, dtype=lib.float64)
        y = lib.batch_norm(
            lib.tensor(x), lib.tensor(w), lib.tensor(b), rm, rv, True, 0.1, 1e-5, True
        )
        z = lib.instance_norm(
            lib.tensor(x), lib.tensor(w), lib.tensor(b), None, None, True, 0.1, 1e-5, True
        )
        weight = lib.tensor(_r(6, 4, seed=3))
        e0 = lib.embedding(weight, lib.tensor([[0, 2], [5, 1]]))
        e1 = lib.embedding(weight, lib.tensor([0, 2]), 2)
        lp = lib.tensor(_r(6, 2, 4, seed=4)).log_softmax(2)
        c = lib.ctc_loss(lp, lib.tensor([[1, 2], [3, 1]]), [6, 6], [2, 2], 0, 2, False)
        outs.append([v.numpy() for v in (y, rm, rv, z, e0, e1, c)])
    for e, t in zip(*outs):
        np.testing.assert_allclose(e, t, rtol=1e-10, atol=1e-12)
    with pytest.raises(ValueError, match="not a valid value for reduction"):
        ember.kl_div(ember.randn(3), ember.rand(3), 5)


def test_aten_losses_reduce_only_when_asked():
    """Left out, ``reduction`` is none (torch's top-level losses, whatever ATen's schema says);
    1 and 2 are the mean and the sum."""
    x, y = _r(3, 4), _r(3, 4, seed=1, low=0.1)
    for red in ((), (0,), (1,), (2,)):
        e = ember.kl_div(ember.tensor(x), ember.tensor(y), *red)
        t = torch.kl_div(torch.tensor(x), torch.tensor(y), *red)
        np.testing.assert_allclose(e.numpy(), t.numpy(), rtol=1e-12)


def test_queries_views_vander_and_frombuffer_as_torch():
    """is_signed, get_device, adjoint and is_same_size (methods and top level), vander with
    torch's decreasing powers, frombuffer sharing the buffer's memory, with torch's errors."""
    for dt in ("float32", "int64", "uint8", "bool", "complex64"):
        e, t = ember.zeros(2, dtype=getattr(ember, dt)), torch.zeros(2, dtype=getattr(torch, dt))
        assert e.is_signed() == t.is_signed() == ember.is_signed(e)
    a = _r(2, 3)
    for lib in (ember, torch):
        x = lib.tensor(a)
        assert lib.get_device(x) == x.get_device() == -1
        assert lib.is_inference(x) is False
        assert lib.is_same_size(x, lib.zeros(2, 3)) and not x.is_same_size(lib.zeros(3, 2))
    np.testing.assert_array_equal(ember.adjoint(ember.tensor(a)).numpy(), a.T)
    for x in ([1.0, 2.0, 3.0], [1, 2, 3]):
        for n, inc in ((None, False), (4, True), (2, False)):
            e, t = ember.vander(ember.tensor(x), n, inc), torch.vander(torch.tensor(x), n, inc)
            assert e.tolist() == t.tolist() and str(e.dtype) == str(t.dtype)
    raw = bytearray(np.arange(4, dtype=np.int32).tobytes())
    e = ember.frombuffer(raw, dtype=ember.int32, count=2, offset=4)
    t = torch.frombuffer(bytearray(raw), dtype=torch.int32, count=2, offset=4)
    assert e.tolist() == t.tolist() == [1, 2]
    e[0] = 9
    assert np.frombuffer(raw, np.int32)[1] == 9  # the buffer's own memory
    for lib in (ember, torch):
        with pytest.raises(ValueError, match="must be a multiple of element size"):
            lib.frombuffer(bytearray(3), dtype=lib.int32)
        with pytest.raises(ValueError, match="must not be 0"):
            lib.frombuffer(bytearray(0), dtype=lib.int32)
        for off in (-1, 8):  # the offset must fall inside the buffer
            with pytest.raises(ValueError, match="must be non-negative and no greater"):
                lib.frombuffer(bytearray(8), dtype=lib.int32, offset=off, count=1)


_GATES = {"lstm": 4, "gru": 3, "rnn_tanh": 1, "rnn_relu": 1}


def _rnn_params(gates, layers, dirs, has_biases, F=4, H=3, seed=0):
    rng = np.random.default_rng(seed)
    ps = []
    for layer in range(layers):
        for _ in range(dirs):
            fan = F if layer == 0 else H * dirs
            ps += [rng.standard_normal((gates * H, fan)), rng.standard_normal((gates * H, H))]
            if has_biases:
                ps += [rng.standard_normal(gates * H), rng.standard_normal(gates * H)]
    return ps


def _run_both(fn, arrays):
    """fn(lib, tensors) on ember and torch with float64 leaves; compares the outputs and the
    gradients of the sum of their squares for every leaf."""
    res = []
    for lib in (ember, torch):
        ts = [lib.tensor(a, requires_grad=True) for a in arrays]
        out = fn(lib, ts)
        out = out if isinstance(out, tuple) else (out,)
        sum((o * o).sum() for o in out).backward()
        res.append([o.detach().numpy() for o in out] + [t.grad.numpy() for t in ts])
    assert len(res[0]) == len(res[1])
    for e, t in zip(*res):
        assert e.shape == t.shape
        np.testing.assert_allclose(e, t, rtol=1e-9, atol=1e-10)


@pytest.mark.parametrize("name", list(_GATES))
@pytest.mark.parametrize("has_biases", [True, False])
def test_rnn_cells(name, has_biases):
    """torch.lstm_cell / gru_cell / rnn_tanh_cell / rnn_relu_cell: values and gradients (of
    every input, weight and bias) as torch's; lstm_cell takes and returns (h, c)."""
    g, lstm = _GATES[name], name == "lstm"
    ps = _rnn_params(g, 1, 1, has_biases)
    rng = np.random.default_rng(3)
    x, h, c = rng.standard_normal((2, 4)), rng.standard_normal((2, 3)), rng.standard_normal((2, 3))

    def fn(lib, ts):
        hx = [ts[1], ts[2]] if lstm else ts[1]
        r = getattr(lib, name + "_cell")(ts[0], hx, *ts[3 if lstm else 2 :])
        assert isinstance(r, tuple) == lstm
        return r

    _run_both(fn, [x, h, c] + ps if lstm else [x, h] + ps)


def test_rnn_cell_with_one_bias():
    rng = np.random.default_rng(4)
    _run_both(
        lambda lib, ts: lib.gru_cell(ts[0], ts[1], ts[2], ts[3], None, ts[4]),
        [rng.standard_normal(s) for s in ((2, 4), (2, 3), (9, 4), (9, 3), (9,))],
    )


def _cell_w(L, g, x=(2, 4), h=(2, 3)):
    """(input, h, w_ih, w_hh) zeros of the given shapes, for g gates of hidden size 3."""
    return L.zeros(*x), L.zeros(*h), L.zeros(g * 3, 4), L.zeros(g * 3, 3)


def _lstm_cell(L, x=(2, 4), h=(2, 3), c=(2, 3), pair=True):
    i, hh, w_ih, w_hh = _cell_w(L, 4, x, h)
    return L.lstm_cell(i, (hh, L.zeros(*c)) if pair else hh, w_ih, w_hh)


_CELL_ERRORS = [
    (lambda L: _lstm_cell(L, x=(2, 5)), RuntimeError, "input_size: got 5 expected 4"),
    (
        lambda L: L.lstm_cell(*_cell_w(L, 4)[:1], (L.zeros(2, 3),), *_cell_w(L, 4)[2:]),
        RuntimeError,
        "lstm_cell expects two hidden states",
    ),
    (lambda L: _lstm_cell(L, pair=False), TypeError, "must be tuple of Tensors"),
    (lambda L: _lstm_cell(L, h=(1, 3)), RuntimeError, "size 2 doesn't match hidden0 batch size 1"),
    (lambda L: _lstm_cell(L, c=(2, 5)), RuntimeError, "hidden1 has inconsistent hidden_size: got"),
    (lambda L: L.rnn_tanh_cell(*_cell_w(L, 1, h=(2, 5))), RuntimeError, "hidden_size: got 5, exp"),
    (lambda L: L.gru_cell(*_cell_w(L, 3, x=(4,))), IndexError, "Dimension out of range"),
]


@pytest.mark.parametrize("case", range(len(_CELL_ERRORS)))
def test_rnn_cell_errors_as_torch(case):
    bad, err, msg = _CELL_ERRORS[case]
    for lib in (ember, torch):
        with pytest.raises(err, match=msg):
            bad(lib)


@pytest.mark.parametrize("name", list(_GATES))
@pytest.mark.parametrize(
    "bidirectional, batch_first, has_biases",
    [(False, False, True), (True, False, True), (False, True, False), (True, True, False)],
)
def test_aten_rnns(name, bidirectional, batch_first, has_biases):
    """torch.lstm / gru / rnn_tanh / rnn_relu (input, hx, params, has_biases, num_layers,
    dropout, train, bidirectional, batch_first), two layers: (output, h_n[, c_n]) and the
    gradients of input, state and every parameter as torch's."""
    lstm, dirs = name == "lstm", 2 if bidirectional else 1
    ps = _rnn_params(_GATES[name], 2, dirs, has_biases)
    rng = np.random.default_rng(5)
    x = rng.standard_normal((2, 5, 4) if batch_first else (5, 2, 4))
    h, c = rng.standard_normal((2 * dirs, 2, 3)), rng.standard_normal((2 * dirs, 2, 3))

    def fn(lib, ts):
        k = 3 if lstm else 2
        hx = (ts[1], ts[2]) if lstm else ts[1]
        args = (has_biases, 2, 0.0, False, bidirectional, batch_first)
        r = getattr(lib, name)(ts[0], hx, ts[k:], *args)
        assert isinstance(r, tuple) and len(r) == (3 if lstm else 2)
        return r

    _run_both(fn, [x, h, c] + ps if lstm else [x, h] + ps)


@pytest.mark.parametrize("name", ["lstm", "gru"])
def test_aten_rnns_packed_form(name):
    """The packed overload (data, batch_sizes, hx, params, has_biases, num_layers, dropout,
    train, bidirectional): each sequence stops at its own length."""
    lstm = name == "lstm"
    ps = _rnn_params(_GATES[name], 1, 2, True)
    rng = np.random.default_rng(6)
    data, h, c = (rng.standard_normal(s) for s in ((6, 4), (2, 3, 3), (2, 3, 3)))

    def fn(lib, ts):
        sizes = lib.tensor([3, 2, 1])
        hx = (ts[1], ts[2]) if lstm else ts[1]
        return getattr(lib, name)(
            ts[0], sizes, hx, ts[3 if lstm else 2 :], True, 1, 0.0, False, True
        )

    _run_both(fn, [data, h, c] + ps if lstm else [data, h] + ps)


def test_aten_rnn_dropout_draws_torchs_numbers():
    ps = _rnn_params(3, 3, 1, True)
    x, h = _r(5, 2, 4), _r(3, 2, 3, seed=1)
    outs = []
    for lib in (ember, torch):
        lib.manual_seed(11)
        r = lib.gru(
            lib.tensor(x),
            lib.tensor(h),
            [lib.tensor(p) for p in ps],
            True,
            3,
            0.4,
            True,
            False,
            False,
        )
        outs.append([o.numpy() for o in r])
    for e, t in zip(*outs):
        np.testing.assert_allclose(e, t, rtol=1e-10, atol=1e-12)


def _gru(L, layers=1, x=(5, 2, 4), h=(1, 2, 3), n_params=None, bidirectional=False):
    ps = [L.tensor(p) for p in _rnn_params(3, 2, 1, True)][:n_params]
    x, h = L.zeros(*x, dtype=L.float64), L.zeros(*h, dtype=L.float64)
    return L.gru(x, h, ps, True, layers, 0.0, False, bidirectional, False)


def _lstm(L, n_states=2, n_params=4):
    ps = [L.tensor(p) for p in _rnn_params(4, 1, 1, True)][:n_params]
    hx = (L.zeros(1, 2, 3, dtype=L.float64),) * n_states
    return L.lstm(L.zeros(5, 2, 4, dtype=L.float64), hx, ps, True, 1, 0.0, False, False, False)


_RNN_ERRORS = [
    (lambda L: _lstm(L, n_states=1), "lstm expects two hidden states"),
    (lambda L: _lstm(L, n_params=3), "got an incorrect number of RNN parameters"),
    (lambda L: _gru(L), "Expected more weights in stacked_rnn"),
    (lambda L: _gru(L, layers=2), "Expected more hidden states in stacked_rnn"),
    (lambda L: _gru(L, n_params=4, bidirectional=True), "Odd number of params or hiddens"),
    (lambda L: _gru(L, layers=2, h=(2, 2, 3), n_params=4), None),  # too few weights
]


@pytest.mark.parametrize("case", range(len(_RNN_ERRORS)))
def test_aten_rnn_errors_as_torch(case):
    bad, msg = _RNN_ERRORS[case]
    for lib in (ember, torch):
        with pytest.raises(RuntimeError, match=msg):
            bad(lib)


def test_aten_rnn_arguments_as_torch():
    """Keywords bind as torch's; a missing or extra argument is a TypeError; an unbatched
    input fails as torch's ATen form does."""
    ps = _rnn_params(3, 1, 1, True)
    x, h = _r(5, 2, 4), _r(1, 2, 3, seed=1)
    outs = []
    for lib in (ember, torch):
        t = [lib.tensor(p) for p in ps]
        kw = dict(has_biases=True, num_layers=1, dropout=0.0, train=False, bidirectional=False)
        r = lib.gru(input=lib.tensor(x), hx=lib.tensor(h), params=t, batch_first=False, **kw)
        outs.append([o.numpy() for o in r])
        with pytest.raises(TypeError, match="invalid combination of arguments"):
            lib.gru(lib.tensor(x), lib.tensor(h), t, True, 1, 0.0, False, False)
        with pytest.raises(TypeError, match="invalid combination of arguments"):
            lib.gru(lib.tensor(x), lib.tensor(h), t, True, 1, 0.0, False, False, False, 1)
        with pytest.raises(IndexError, match="Dimension out of range"):
            _gru(lib, x=(5, 4), h=(1, 3), n_params=4)
    for e, t in zip(*outs):
        np.testing.assert_allclose(e, t, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("mode", [0, 1, 2])
@pytest.mark.parametrize("padding_idx", [None, 3, -1])
def test_embedding_bag_aten_form(dtype, mode, padding_idx):
    """torch.embedding_bag(weight, indices, offsets, ...): the bags' values and the weight's
    gradient, and the (offset2bag, bag_size, max_indices) torch's CPU kernel returns beside
    them (empty offset2bag on float32's sum fast path, arg-max rows for max), in the indices'
    dtype; with empty bags, include_last_offset and int32 indices."""
    w = _r(10, 3, seed=8).astype(dtype)
    idx = [1, 3, 4, 5, 4, 3, 2, 9]
    cases = [
        ([0, 4, 4, 6], False, "int64"),
        ([0, 4, 4, 8], True, "int32"),
        ([0, 0, 5], False, "int64"),
    ]
    for offsets, last, idt in cases:
        res = []
        for lib in (ember, torch):
            W = lib.tensor(w, requires_grad=True)
            i = lib.tensor(idx, dtype=getattr(lib, idt))
            o = lib.tensor(offsets, dtype=getattr(lib, idt))
            pad = () if padding_idx is None else (padding_idx,)
            r = lib.embedding_bag(W, i, o, False, mode, False, None, last, *pad)
            assert isinstance(r, tuple) and len(r) == 4
            (r[0] * r[0]).sum().backward()
            res.append([x.detach().numpy() for x in r] + [W.grad.numpy()])
        for e, t in zip(*res):
            assert e.dtype == t.dtype and e.shape == t.shape
            np.testing.assert_allclose(e, t, rtol=1e-6, atol=1e-7)


def test_embedding_bag_aten_per_sample_weights():
    w, psw = _r(10, 3, seed=8), _r(8, seed=9)
    idx, off = [1, 3, 4, 5, 4, 3, 2, 9], [0, 4, 6]
    res = []
    for lib in (ember, torch):
        W, P = lib.tensor(w, requires_grad=True), lib.tensor(psw, requires_grad=True)
        r = lib.embedding_bag(W, lib.tensor(idx), lib.tensor(off), False, 0, False, P)
        (r[0] * r[0]).sum().backward()
        res.append([x.detach().numpy() for x in r] + [W.grad.numpy(), P.grad.numpy()])
    for e, t in zip(*res):
        np.testing.assert_allclose(e, t, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("mode", [0, 1, 2])
@pytest.mark.parametrize("requires_grad", [False, True])
def test_embedding_bag_aten_last_offset_and_zero_bags(dtype, mode, requires_grad):
    """The four outputs with include_last_offset and indices past the last offset (torch's
    float32 sum and mean end the last bag there, its other paths run to the end), and with no
    bags (one offset with include_last_offset, or none): a sum's bag_size and max_indices have
    one zero per offset, or one per bag when an input requires grad. torch crashes on no bags
    but for float32 sum and mean and for empty indices; those cases are left out."""
    w = np.arange(30.0).reshape(10, 3).astype(dtype)
    idx = [1, 3, 4, 5, 4, 3, 2, 9]
    cases = [(idx, [0, 4, 4, 8], True), (idx, [0, 4, 4, 6], True), (idx, [0, 4, 4, 6], False)]
    cases += [([], [0], True), ([], [], False)]
    if dtype == "float32" and mode != 2:
        cases += [(idx, [0], True), (idx, [], False)]
    for i, o, last in cases:
        res = []
        for lib in (ember, torch):
            W = lib.tensor(w, requires_grad=requires_grad)
            r = lib.embedding_bag(
                W, lib.tensor(i, dtype=lib.int64), lib.tensor(o, dtype=lib.int64), False, mode,
                False, None, last,
            )  # fmt: skip
            res.append([x.detach().numpy() for x in r])
        for e, t in zip(*res):
            assert e.dtype == t.dtype and e.shape == t.shape
            np.testing.assert_array_equal(e, t)


_BAG_ERRORS = [  # f(lib, weight, indices, offsets, per_sample_weights), torch's message
    (lambda L, W, i, o, P: L.embedding_bag(W, i, o, False, 3), "`mode` must be sum, mean, or"),
    (lambda L, W, i, o, P: L.embedding_bag(W, i.float(), o), "'indices' to have one of the"),
    (
        lambda L, W, i, o, P: L.embedding_bag(W, i, o, False, 1, False, P),
        "only supported with mode='sum'",
    ),
    (
        lambda L, W, i, o, P: L.embedding_bag(W, i, o, False, 0, False, None, False, 10),
        "-10 through 9",
    ),
    (lambda L, W, i, o, P: L.embedding_bag(W, i, o + 1), "offsets\\[0\\] has to be 0"),
    (lambda L, W, i, o, P: L.embedding_bag(W, i, o * 3), "greater than input's length 8"),
]


@pytest.mark.parametrize("case", range(len(_BAG_ERRORS)))
def test_embedding_bag_aten_errors_as_torch(case):
    bad, msg = _BAG_ERRORS[case]
    for lib in (ember, torch):
        W, P = lib.zeros(10, 3), lib.ones(8)
        with pytest.raises(RuntimeError, match=msg):
            bad(lib, W, lib.tensor([1, 3, 4, 5, 4, 3, 2, 9]), lib.tensor([0, 4]), P)


# (input, weight, bias?, stride, padding, dilation, transposed, output_padding, groups)
_CONVOLUTION_CASES = [
    ((2, 3, 9), (4, 3, 3), True, [2], [1], [1], False, [0], 1),
    ((1, 4, 6, 5), (4, 2, 3, 2), False, [1, 2], [1, 0], [2, 1], False, [0, 0], 2),
    ((1, 2, 5, 5), (2, 1, 3, 3), True, [1], [1], [1], False, [0], 2),  # one value for each dim
    ((1, 2, 4, 4, 3), (3, 2, 2, 2, 2), True, [1, 1, 1], [0, 1, 0], [1, 1, 1], False, [0, 0, 0], 1),
    ((2, 3, 6), (3, 4, 3), True, [2], [1], [1], True, [1], 1),
    ((1, 4, 4, 3), (4, 1, 3, 3), False, [2, 1], [1, 1], [1, 2], True, [1, 0], 2),
    ((1, 2, 3, 3, 2), (2, 2, 2, 2, 2), True, [2, 1, 1], [0, 0, 1], [1, 1, 1], True, [1, 0, 0], 1),
]


@pytest.mark.parametrize("case", _CONVOLUTION_CASES, ids=[str(i) for i in range(7)])
def test_convolution(case):
    """torch.convolution, the convolution and transposed convolution of 1, 2 and 3 spatial
    dims behind one signature: values and gradients of input, weight and bias."""
    xs, ws, has_b, *args = case
    arrays = [_r(*xs), _r(*ws, seed=1)] + (
        [_r(ws[1] if args[3] else ws[0], seed=2)] if has_b else []
    )
    res = []
    for lib in (ember, torch):
        ts = [lib.tensor(a, requires_grad=True) for a in arrays]
        y = lib.convolution(ts[0], ts[1], ts[2] if has_b else None, *args)
        (y * y).sum().backward()
        res.append([y.detach().numpy()] + [t.grad.numpy() for t in ts])
    for e, t in zip(*res):
        assert e.shape == t.shape
        np.testing.assert_allclose(e, t, rtol=1e-10, atol=1e-10)


def test_convolution_errors_as_torch():
    for lib in (ember, torch):
        x, w = lib.zeros(3, 8), lib.zeros(4, 3, 3)
        with pytest.raises(RuntimeError, match="Expected 3-dimensional input for 3-dimensional"):
            lib.convolution(x, w, None, [1], [0], [1], False, [0], 1)
        x, w = lib.zeros(1, 2, 3, 3, 3, 3), lib.zeros(1, 2, 1, 1, 1, 1)
        with pytest.raises(RuntimeError, match="unsupported ConvNd parameters"):
            lib.convolution(x, w, None, [1] * 4, [0] * 4, [1] * 4, False, [0] * 4, 1)


@pytest.mark.parametrize("T, pad", [(8, 0), (8, 2), (2, 0)])
def test_conv_tbc(T, pad):
    """torch.conv_tbc: a (time, batch, channels) input and a (width, in, out) weight, values
    and gradients (an input shorter than the kernel gives no steps)."""
    res = []
    for lib in (ember, torch):
        ts = [
            lib.tensor(a, requires_grad=True)
            for a in (_r(T, 2, 3), _r(3, 3, 4, seed=1), _r(4, seed=2))
        ]
        y = lib.conv_tbc(*ts, pad)
        (y * y).sum().backward()
        res.append([y.detach().numpy()] + [t.grad.numpy() for t in ts])
    for e, t in zip(*res):
        assert e.shape == t.shape
        np.testing.assert_allclose(e, t, rtol=1e-10, atol=1e-10)


_TBC_ERRORS = [
    (((8, 3), (3, 3, 4), (4,)), "Input must have 3 dims"),
    (((8, 2, 3), (3, 4), (4,)), "Weight tensor must have 3 dims"),
    (((8, 2, 3), (3, 3, 4), (4, 1)), "Bias must be 1-D"),
    (((8, 2, 3), (3, 5, 4), (4,)), "Input dim 2 \\(input channels\\) is not == dim 1"),
    (((8, 2, 3), (3, 3, 4), (5,)), "Bias size must equal dim 2 in the weight tensor"),
]


@pytest.mark.parametrize("shapes, msg", _TBC_ERRORS)
def test_conv_tbc_errors_as_torch(shapes, msg):
    for lib in (ember, torch):
        with pytest.raises(RuntimeError, match=msg):
            lib.conv_tbc(*(lib.zeros(*s) for s in shapes))


def _same_outputs(fn, arrays, grad=True):
    """fn(lib, leaves) on ember and torch (float64 leaves): every output the same dtype, shape
    and values, and (``grad``) the leaves' gradients of the first output's sum of squares."""
    res = []
    for lib in (ember, torch):
        ts = [lib.tensor(a, requires_grad=grad) for a in arrays]
        out = fn(lib, ts)
        out = out if isinstance(out, tuple) else (out,)
        if grad:
            (out[0] * out[0]).sum().backward()
        res.append([o.detach().numpy() for o in out] + [t.grad.numpy() for t in ts if grad])
    assert len(res[0]) == len(res[1])
    for e, t in zip(*res):
        assert e.dtype == t.dtype and e.shape == t.shape
        np.testing.assert_allclose(e, t, rtol=1e-9, atol=1e-10)


def _bn_with_stats(lib, ts, training):
    rm, rv = lib.zeros(6, dtype=lib.float64), lib.ones(6, dtype=lib.float64)
    return lib.native_batch_norm(ts[0], ts[1], ts[2], rm, rv, training, 0.1, 1e-5) + (rm, rv)


def _update_stats(lib, ts):
    rm, rv = lib.zeros(6, dtype=lib.float64), lib.ones(6, dtype=lib.float64)
    return lib.batch_norm_update_stats(ts[0], rm, rv, 0.3) + (rm, rv)


_X, _W6 = _r(4, 6, 5, seed=12), _r(6, seed=13)
_NATIVE_CASES = {  # name: (fn(lib, leaves), arrays)
    "layer_norm": (lambda L, t: L.native_layer_norm(t[0], [5], t[1], None, 1e-5), [_X, _r(5)]),
    "layer_norm_2d": (lambda L, t: L.native_layer_norm(t[0], [6, 5], None, None, 1e-5), [_X]),
    "batch_norm_train": (lambda L, t: _bn_with_stats(L, t, True), [_X, _W6, _W6]),
    "batch_norm_eval": (lambda L, t: _bn_with_stats(L, t, False), [_X, _W6, _W6]),
    "batch_norm_no_stats": (
        lambda L, t: L.native_batch_norm(t[0], None, None, None, None, True, 0.1, 1e-5),
        [_X],
    ),
    "group_norm": (
        lambda L, t: L.native_group_norm(t[0], t[1], t[2], 4, 6, 5, 3, 1e-5),
        [_X, _W6, _W6],
    ),
    "frobenius_norm": (lambda L, t: L.frobenius_norm(t[0], [1, 2]), [_X]),
    "frobenius_norm_keepdim": (lambda L, t: L.frobenius_norm(t[0], [1], True), [_X]),
    "frobenius_norm_all": (lambda L, t: L.frobenius_norm(t[0], []), [_X]),
    "nuclear_norm": (lambda L, t: L.nuclear_norm(t[0][0]), [_X]),
    "nuclear_norm_keepdim": (lambda L, t: L.nuclear_norm(t[0][0], True), [_X]),
    "nuclear_norm_dim": (lambda L, t: L.nuclear_norm(t[0], [0, 2]), [_X]),
    "nuclear_norm_keywords": (lambda L, t: L.nuclear_norm(t[0], dim=[1, 2], keepdim=True), [_X]),
    "affine_grid_generator": (
        lambda L, t: L.affine_grid_generator(t[0], [2, 1, 4, 5], False),
        [_r(2, 2, 3)],
    ),
}


@pytest.mark.parametrize("name", list(_NATIVE_CASES))
@pytest.mark.filterwarnings("ignore:.*is deprecated and it is just left for JIT")
def test_native_norms_and_deprecated_norms(name):
    """native_layer_norm / native_batch_norm / native_group_norm return (output, mean, rstd)
    with torch's shapes (the mean and rstd kept as 1 over the normalised dims; (N, group); the
    batch's, or empty in eval), running statistics updated as torch's; frobenius_norm,
    nuclear_norm and affine_grid_generator: values and gradients as torch's."""
    fn, arrays = _NATIVE_CASES[name]
    _same_outputs(fn, arrays)


def test_batch_norm_update_stats_and_channel_shuffle():
    _same_outputs(_update_stats, [_X], grad=False)
    # torch's native_channel_shuffle has no derivative; ember's has channel_shuffle's
    _same_outputs(lambda L, t: L.native_channel_shuffle(t[0].reshape(2, 6, 2, 5), 3), [_X], False)


@pytest.mark.parametrize("args", [(), (2, 0), (2, 1), (3, 2), (2, -1), (2, -2), (1, 1)])
def test_norm_except_dim(args):
    """Kept dim's size, the others 1; dim -1 the norm of everything."""
    _same_outputs(lambda L, t: L.norm_except_dim(t[0], *args), [_X])


@pytest.mark.filterwarnings("ignore:.*is deprecated and it is just left for JIT")
def test_deprecated_norms_warn_and_check_as_torch():
    """ember warns on every call (torch once a process, so only ember's is checked here)."""
    x = ember.zeros(2, 3, 4)
    with pytest.warns(UserWarning, match="frobenius_norm is deprecated"):
        ember.frobenius_norm(x, [1])
    with pytest.warns(UserWarning, match="nuclear_norm is deprecated"):
        ember.nuclear_norm(x[0])
    for lib in (ember, torch):
        with pytest.raises(RuntimeError, match="Expected at most 2 dimensions, but got 3"):
            lib.frobenius_norm(lib.zeros(2, 3, 4), [0, 1, 2])


@pytest.mark.parametrize("p", [0.0, 0.3, 1.0])
@pytest.mark.parametrize("train", [True, None, False])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_native_dropout(p, train, dtype):
    """(output, bool keep mask) with torch's draws (made even for p 0 and 1, the generator left
    where torch's is), and torch's gradients: train=None trains, but its derivative is the
    bare mask."""
    x = _r(40, 50, seed=14).astype(dtype)

    def fn(lib, ts):
        lib.manual_seed(5)
        out = lib.native_dropout(ts[0], p, train)
        return out + (lib.rand(3, dtype=lib.float64),)

    _same_outputs(fn, [x])
    for lib in (ember, torch):
        with pytest.raises(RuntimeError, match="bernoulli_ expects p to be in \\[0, 1\\]"):
            lib.native_dropout(lib.zeros(3), 1.5, True)


def test_sym_helpers_as_torch():
    """Eager torch.sym_*: plain numbers with torch's result types."""
    cases = [
        ("sym_int", (3.7,)), ("sym_int", (-3.7,)), ("sym_int", (4,)), ("sym_float", (3,)),
        ("sym_max", (2, 3.0)), ("sym_max", (2, 3)), ("sym_min", (2, 3.0)), ("sym_min", (5, 3)),
        ("sym_not", (True,)), ("sym_not", (0,)), ("sym_sqrt", (4,)), ("sym_sum", ([1, 2, 3],)),
        ("sym_sum", ([1.0, 2],)), ("sym_sum", ([],)), ("sym_ite", (True, 1, 2)),
        ("sym_ite", (False, 1, 2)),
    ]  # fmt: skip
    for name, args in cases:
        e, t = getattr(ember, name)(*args), getattr(torch, name)(*args)
        assert e == t and type(e) is type(t), (name, args, e, t)


def test_storage_distributed_and_device_module_queries():
    for lib in (ember, torch):
        x = lib.zeros(2)
        assert lib.is_storage(x) is False and lib.is_distributed(x) is False
        assert lib.get_device_module("cpu") is lib.cpu
        assert lib.get_device_module(lib.device("cpu")) is lib.cpu
        assert lib.get_device_module() is (lib.cuda if lib.cuda.is_available() else lib.cpu)
        with pytest.raises(RuntimeError, match="device type at start of device string: foo"):
            lib.get_device_module("foo")


@pytest.mark.filterwarnings("ignore:torch.set_default_tensor_type\\(\\) is deprecated")
def test_set_default_tensor_type():
    """A type or its 'torch.*Tensor' name sets the default dtype; a non-float type is a
    TypeError, an unknown module a ModuleNotFoundError, as torch's."""
    try:
        for lib in (ember, torch):
            lib.set_default_tensor_type("torch.DoubleTensor")
            assert lib.get_default_dtype() == lib.float64 and lib.tensor([1.0]).dtype == lib.float64
            lib.set_default_tensor_type(lib.FloatTensor)
            assert lib.get_default_dtype() == lib.float32
            with pytest.raises(TypeError, match="only floating-point types are supported"):
                lib.set_default_tensor_type("torch.IntTensor")
            with pytest.raises(ModuleNotFoundError, match="No module named 'foo'"):
                lib.set_default_tensor_type("foo")
        with pytest.warns(UserWarning, match="set_default_tensor_type\\(\\) is deprecated"):
            ember.set_default_tensor_type(ember.FloatTensor)
    finally:
        ember.set_default_dtype(ember.float32)
        torch.set_default_dtype(torch.float32)


def test_empty_permuted():
    """torch's strides for a physical layout, dtype and requires_grad, and its errors."""
    for lib in (ember, torch):
        t = lib.empty_permuted((2, 3, 5, 7), (0, 2, 3, 1))
        assert tuple(t.shape) == (2, 3, 5, 7) and t.stride() == (105, 1, 21, 3)
        t = lib.empty_permuted((2, 3), (1, 0), dtype=lib.float64, requires_grad=True)
        assert t.stride() == (1, 2) and t.requires_grad and t.is_leaf and t.dtype == lib.float64
        for size, order, msg in [
            ((2, 3), (0, 0), "Duplicate dim not allowed"),
            ((2, 3), (0,), "len\\(size\\) = 2 is not equal to len\\(physical_layout\\) = 1"),
            ((2, 3), (0, 2), "expected to be between 0 and 1, but got 2 at index 1"),
        ]:
            with pytest.raises(RuntimeError, match=msg):
                lib.empty_permuted(size, order)


def test_orgqr_and_process_queries_match_torch():
    a = np.random.default_rng(0).standard_normal((5, 3))
    q, tau = torch.geqrf(torch.tensor(a))
    got = ember.orgqr(ember.tensor(q.numpy()), ember.tensor(tau.numpy()))
    np.testing.assert_allclose(got.numpy(), torch.orgqr(q, tau).numpy(), rtol=1e-12, atol=1e-12)
    assert ember.is_vulkan_available() is torch.is_vulkan_available() is False
    assert ember.init_num_threads() is None and torch.init_num_threads() is None


@pytest.mark.parametrize("name", ["eig", "lstsq", "matrix_rank", "solve", "symeig"])
def test_removed_linalg_functions_raise_torchs_error(name):
    args = (ember.eye(2), ember.eye(2)) if name in ("lstsq", "solve") else (ember.eye(2),)
    targs = (torch.eye(2), torch.eye(2)) if name in ("lstsq", "solve") else (torch.eye(2),)
    start = "This function was deprecated since version 1.9 and is now removed."
    with pytest.raises(RuntimeError, match=start):
        getattr(torch, name)(*targs)
    with pytest.raises(RuntimeError, match=start):
        getattr(ember, name)(*args)


def test_native_group_norm_statistics_carry_gradients_as_torchs():
    # only group norm's (mean, rstd) are differentiable in torch; layer and batch norm's are not
    rng = np.random.default_rng(3)
    a = rng.standard_normal((2, 6, 5))
    res = []
    for lib in (ember, torch):
        x = lib.tensor(a, requires_grad=True)
        _, mean, rstd = lib.native_group_norm(x, None, None, 2, 6, 5, 3, 1e-5)
        flags = [
            t.requires_grad
            for t in lib.native_layer_norm(x, (5,), None, None, 1e-5)[1:] + (mean, rstd)
        ]
        (mean * 3 + rstd * rstd).sum().backward()
        res.append((flags, x.grad.numpy()))
    assert res[0][0] == res[1][0] == [False, False, True, True]
    np.testing.assert_allclose(res[0][1], res[1][1], rtol=1e-9, atol=1e-10)


def test_view_as_real_and_complex_copies_and_build_flags():
    c = np.array([1 + 2j, 3 - 1j], np.complex64)
    for name, arr in (("view_as_real_copy", c), ("view_as_complex_copy", np.ones((2, 2)))):
        e, t = getattr(ember, name)(ember.tensor(arr)), getattr(torch, name)(torch.tensor(arr))
        assert_same(e, t)
    x = ember.tensor(c)
    y = ember.view_as_real_copy(x)
    y[0, 0] = 100.0  # a copy: the complex tensor keeps its values
    assert x[0].item() == 1 + 2j
    assert ember.compiled_with_cxx11_abi() is torch.compiled_with_cxx11_abi()
    assert ember.cudnn_is_acceptable(ember.zeros(2)) is torch.cudnn_is_acceptable(torch.zeros(2))
