"""RNN/LSTM/GRU (and cells), MultiheadAttention and Transformer layers against torch."""

from __future__ import annotations

import numpy as np
import pytest

import ember
from tests._support.torch_ref import assert_same, torch


def _pair(name, *args, **kw):
    e = getattr(ember.nn, name)(*args, **kw)
    t = getattr(torch.nn, name)(*args, **kw)
    assert repr(e) == repr(t)
    assert list(e.state_dict()) == list(t.state_dict())
    t.load_state_dict({k: torch.tensor(v.numpy()) for k, v in e.state_dict().items()})
    return e, t


def _leaf(shape, seed=0):
    a = np.random.default_rng(seed).standard_normal(shape).astype(np.float32)
    return ember.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)


def _check_grads(e, t, xe, xt, tol=1e-5):
    assert_same(xe.grad, xt.grad, tol, tol)
    for (_k, pe), (_, pt) in zip(e.named_parameters(), t.named_parameters()):
        assert_same(pe.grad, pt.grad, 1e-4, 1e-5)


RNN_CASES = [
    ("LSTM", dict(num_layers=2, bidirectional=True, batch_first=True)),
    ("LSTM", dict(bias=False)),
    ("GRU", dict(num_layers=2)),
    ("GRU", dict(bidirectional=True, batch_first=True)),
    ("RNN", dict(nonlinearity="relu", bidirectional=True)),
    ("RNN", dict(num_layers=3, dropout=0.0)),
    ("RNN", dict(nonlinearity="relu", num_layers=2, bias=False, batch_first=True)),
]


@pytest.mark.parametrize("name,kw", RNN_CASES, ids=[f"{n}{k}" for n, k in RNN_CASES])
def test_rnn_matches_torch(name, kw):
    e, t = _pair(name, 5, 7, **kw)
    xe, xt = _leaf((3, 4, 5))
    oe, ot = e(xe), t(xt)
    assert_same(oe[0], ot[0], 1e-5, 1e-6)
    assert_same(oe[1], ot[1], 1e-5, 1e-6)
    (oe[0].sum() + (oe[1][0] if name == "LSTM" else oe[1]).sum()).backward()
    (ot[0].sum() + (ot[1][0] if name == "LSTM" else ot[1]).sum()).backward()
    _check_grads(e, t, xe, xt)


@pytest.mark.parametrize("nonlinearity", ["tanh", "relu"])
def test_plain_rnn_initial_state_and_final_state_gradients(nonlinearity):
    """The fused plain-RNN layer: a given h0, both directions, and gradients through the
    final state alone (the outputs unused) as well as through the outputs."""
    e, t = _pair("RNN", 3, 4, num_layers=2, bidirectional=True, nonlinearity=nonlinearity)
    xe, xt = _leaf((6, 2, 3))
    he, ht = _leaf((4, 2, 4), 1)
    oe, hne = e(xe, he)
    ot, hnt = t(xt, ht)
    assert_same(oe, ot, 1e-5, 1e-6)
    assert_same(hne, hnt, 1e-5, 1e-6)
    (hne * 2).sum().backward()
    (hnt * 2).sum().backward()
    assert_same(he.grad, ht.grad, 1e-5, 1e-6)
    _check_grads(e, t, xe, xt)


def test_rnn_initial_state_and_unbatched():
    e, t = _pair("LSTM", 3, 4, num_layers=2)
    xe, xt = _leaf((6, 3))
    he, ht = _leaf((2, 4), 1)
    ce, ct = _leaf((2, 4), 2)
    oe, (hne, cne) = e(xe, (he, ce))
    ot, (hnt, cnt) = t(xt, (ht, ct))
    assert_same(oe, ot, 1e-5, 1e-6)
    assert_same(cne, cnt, 1e-5, 1e-6)
    oe.sum().backward()
    ot.sum().backward()
    assert_same(he.grad, ht.grad, 1e-5, 1e-6)


@pytest.mark.parametrize("name", ["RNNCell", "LSTMCell", "GRUCell"])
def test_cells(name):
    e, t = _pair(name, 4, 6)
    xe, xt = _leaf((3, 4))
    oe, ot = e(xe), t(xt)
    if name == "LSTMCell":
        oe, ot = oe[0] + oe[1], ot[0] + ot[1]
    assert_same(oe, ot, 1e-5, 1e-6)
    oe.sum().backward()
    ot.sum().backward()
    _check_grads(e, t, xe, xt)


@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("norm_first", [False, True])
def test_encoder_layer(batch_first, norm_first):
    e, t = _pair(
        "TransformerEncoderLayer",
        8,
        2,
        16,
        dropout=0.0,
        batch_first=batch_first,
        norm_first=norm_first,
        activation="gelu",
    )
    N, L = 3, 5
    xe, xt = _leaf((N, L, 8) if batch_first else (L, N, 8))
    kpm = np.zeros((N, L), bool)
    kpm[:, -1] = True
    mask = ember.nn.Transformer.generate_square_subsequent_mask(L)
    tmask = torch.nn.Transformer.generate_square_subsequent_mask(L)
    assert_same(mask, tmask)
    oe = e(xe, src_mask=mask, src_key_padding_mask=ember.tensor(kpm).float() * -1e9)
    ot = t(xt, src_mask=tmask, src_key_padding_mask=torch.tensor(kpm).float() * -1e9)
    assert_same(oe, ot, 1e-4, 1e-5)
    oe.sum().backward()
    ot.sum().backward()
    _check_grads(e, t, xe, xt, 1e-4)


def test_full_transformer_and_mha():
    e, t = _pair("Transformer", 16, 2, 2, 2, 32, dropout=0.0)
    se, st = _leaf((6, 2, 16))
    te, tt = _leaf((4, 2, 16), 1)
    m = ember.nn.Transformer.generate_square_subsequent_mask(4)
    tm = torch.nn.Transformer.generate_square_subsequent_mask(4)
    assert_same(e(se, te, tgt_mask=m), t(st, tt, tgt_mask=tm), 1e-4, 1e-5)
    me, mt = _pair("MultiheadAttention", 8, 2, kdim=4, vdim=6, batch_first=True)
    qe, qt = _leaf((2, 3, 8))
    ke, kt = _leaf((2, 5, 4), 1)
    ve, vt = _leaf((2, 5, 6), 2)
    oe, we = me(qe, ke, ve)
    ot, wt = mt(qt, kt, vt)
    assert_same(oe, ot, 1e-5, 1e-6)
    assert_same(we, wt, 1e-5, 1e-6)
    enc_e = ember.nn.TransformerEncoder(ember.nn.TransformerEncoderLayer(8, 2, 16), 2)
    enc_t = torch.nn.TransformerEncoder(
        torch.nn.TransformerEncoderLayer(8, 2, 16), 2, enable_nested_tensor=False
    )
    assert list(enc_e.state_dict()) == list(enc_t.state_dict())
    assert repr(enc_e) == repr(enc_t)


@pytest.mark.parametrize("reverse", [False, True])
def test_fused_recurrent_layers_gradcheck(reverse):
    from ember.ops.rnn import _GRULayer, _LSTMCell, _LSTMLayer, _RNNLayer

    d = ember.float64
    h, c = (
        ember.randn(3, 2, dtype=d, requires_grad=True),
        ember.randn(3, 2, dtype=d, requires_grad=True),
    )
    p, w, b = (ember.randn(*s, dtype=d, requires_grad=True) for s in [(4, 3, 8), (8, 2), (8,)])
    assert ember.autograd.gradcheck(lambda *a: _LSTMLayer.apply(*a, reverse), (p, h, c, w, b))
    assert ember.autograd.gradcheck(lambda *a: _LSTMCell.apply(*a), (p[0], h, c, w, b))
    p, w, b = (ember.randn(*s, dtype=d, requires_grad=True) for s in [(4, 3, 6), (6, 2), (6,)])
    assert ember.autograd.gradcheck(lambda *a: _GRULayer.apply(*a, reverse), (p, h, w, b))
    p, w, b = (ember.randn(*s, dtype=d, requires_grad=True) for s in [(4, 3, 2), (2, 2), (2,)])
    for use_relu in (False, True):
        assert ember.autograd.gradcheck(
            lambda *a, r=use_relu: _RNNLayer.apply(*a, reverse, r), (p, h, w, b)
        )


def test_rnn_dropout_between_layers_trains():
    m = ember.nn.GRU(3, 4, num_layers=2, dropout=0.5)
    out, h = m(ember.randn(5, 2, 3))
    out.sum().backward()
    assert all(p.grad is not None for p in m.parameters())
    m.eval()
    a, _ = m(ember.ones(5, 2, 3))
    b, _ = m(ember.ones(5, 2, 3))
    assert np.array_equal(a.detach().numpy(), b.detach().numpy())
