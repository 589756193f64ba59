"""nn.utils.rnn packing (PackedSequence, pack/pad) and RNN/LSTM/GRU over packed input, against
torch: values, lengths, gradients, errors."""

from __future__ import annotations

import numpy as np
import pytest

import ember
from ember.nn.utils import rnn as er
from tests._support.torch_ref import assert_same, torch

tr = torch.nn.utils.rnn


def _leaf(shape, seed=0, dtype=np.float32):
    a = np.random.default_rng(seed).standard_normal(shape).astype(dtype)
    return ember.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)


def _same_packed(pe, pt):
    assert isinstance(pe, er.PackedSequence)
    assert_same(pe.data, pt.data)
    assert_same(pe.batch_sizes, pt.batch_sizes)
    for a, b in (
        (pe.sorted_indices, pt.sorted_indices),
        (pe.unsorted_indices, pt.unsorted_indices),
    ):
        assert (a is None) == (b is None)
        if a is not None:
            assert_same(a, b)


CASES = [
    ([5, 3, 3, 1, 1], True),
    ([2, 5, 1, 4, 3], False),
    ([5, 5, 2, 2, 1], False),
]


@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("lengths,enforce_sorted", CASES)
def test_pack_pad_roundtrip_matches_torch(batch_first, lengths, enforce_sorted):
    xe, xt = _leaf((5, 5, 3))
    pe = er.pack_padded_sequence(xe, lengths, batch_first, enforce_sorted)
    pt = tr.pack_padded_sequence(xt, lengths, batch_first, enforce_sorted)
    _same_packed(pe, pt)
    oe, le = er.pad_packed_sequence(pe, batch_first, padding_value=-2.0, total_length=7)
    ot, lt = tr.pad_packed_sequence(pt, batch_first, padding_value=-2.0, total_length=7)
    assert_same(oe, ot)
    assert_same(le, lt)
    w = np.random.default_rng(1).standard_normal(tuple(ot.shape)).astype(np.float32)
    (oe * ember.tensor(w)).sum().backward()
    (ot * torch.tensor(w)).sum().backward()
    assert_same(xe.grad, xt.grad)


def test_lengths_as_tensor_and_pack_sequence():
    seqs = [
        np.random.default_rng(i).standard_normal((n, 2)).astype(np.float32)
        for i, n in enumerate([2, 4, 3])
    ]
    se = [ember.tensor(s) for s in seqs]
    st = [torch.tensor(s) for s in seqs]
    _same_packed(er.pack_sequence(se, enforce_sorted=False), tr.pack_sequence(st, False))
    pe = er.pack_padded_sequence(er.pad_sequence(se), ember.tensor([2, 4, 3]), False, False)
    _same_packed(
        pe, tr.pack_padded_sequence(tr.pad_sequence(st), torch.tensor([2, 4, 3]), False, False)
    )
    for a, b in zip(er.unpack_sequence(pe), tr.unpack_sequence(tr.pack_sequence(st, False))):
        assert_same(a, b)
    p = er.PackedSequence(pe.data, pe.batch_sizes, pe.sorted_indices)
    assert_same(p.unsorted_indices, torch.tensor([2, 0, 1]))
    assert p.double().data.dtype is ember.float64 and p.to("cpu") is p
    assert not p.is_cuda


def test_errors_match_torch():
    x = ember.zeros(4, 3, 2)
    t = torch.zeros(4, 3, 2)
    cases = [
        ([2, 3, 1], True),
        ([2, 1, 0], True),
        ([4, 3], True),
    ]
    for lengths, es in cases:
        with pytest.raises(RuntimeError) as te:
            tr.pack_padded_sequence(t, lengths, enforce_sorted=es)
        with pytest.raises(RuntimeError) as ee:
            er.pack_padded_sequence(x, lengths, enforce_sorted=es)
        assert str(ee.value) == str(te.value)
    with pytest.raises(RuntimeError, match="1D CPU int64 tensor, but got 2D cpu Long"):
        er.pack_padded_sequence(x, ember.tensor([[4, 3, 1]]))
    with pytest.raises(ValueError) as te:
        tr.pad_packed_sequence(tr.pack_padded_sequence(t, [4, 3, 1]), total_length=2)
    with pytest.raises(ValueError) as ee:
        er.pad_packed_sequence(er.pack_padded_sequence(x, [4, 3, 1]), total_length=2)
    assert str(ee.value) == str(te.value)


def _pair(name, **kw):
    e = getattr(ember.nn, name)(3, 4, **kw)
    t = getattr(torch.nn, name)(3, 4, **kw)
    t.load_state_dict({k: torch.tensor(v.numpy()) for k, v in e.state_dict().items()})
    return e, t


@pytest.mark.parametrize("name", ["LSTM", "GRU", "RNN"])
@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("lengths,enforce_sorted", CASES[:2])
@pytest.mark.parametrize("with_hx", [False, True])
def test_rnn_on_packed_matches_torch(name, batch_first, lengths, enforce_sorted, with_hx):
    e, t = _pair(name, num_layers=2, bidirectional=True, batch_first=batch_first)
    xe, xt = _leaf((5, 5, 3))
    pe = er.pack_padded_sequence(xe, lengths, batch_first, enforce_sorted)
    pt = tr.pack_padded_sequence(xt, lengths, batch_first, enforce_sorted)
    args_e, args_t, leaves = (), (), []
    if with_hx:
        he, ht = _leaf((4, 5, 4), seed=2)
        leaves.append((he, ht))
        if name == "LSTM":
            ce, ct = _leaf((4, 5, 4), seed=3)
            leaves.append((ce, ct))
            args_e, args_t = ((he, ce),), ((ht, ct),)
        else:
            args_e, args_t = (he,), (ht,)
    oe, se = e(pe, *args_e)
    ot, st = t(pt, *args_t)
    _same_packed(oe, ot)
    se = se if isinstance(se, tuple) else (se,)
    st = st if isinstance(st, tuple) else (st,)
    assert_same(se, st)
    # the padded outputs as a user reads them, and the final states, both feed the loss
    pe_out, _ = er.pad_packed_sequence(oe, batch_first)
    pt_out, _ = tr.pad_packed_sequence(ot, batch_first)
    assert_same(pe_out, pt_out)
    loss_e = (pe_out * pe_out).sum() + sum((s * (k + 1.5)).sum() for k, s in enumerate(se))
    loss_t = (pt_out * pt_out).sum() + sum((s * (k + 1.5)).sum() for k, s in enumerate(st))
    loss_e.backward()
    loss_t.backward()
    assert_same(xe.grad, xt.grad, 1e-4, 1e-5)
    for le, lt in leaves:
        assert_same(le.grad, lt.grad, 1e-4, 1e-5)
    for (_k, p), (_, q) in zip(e.named_parameters(), t.named_parameters()):
        assert_same(p.grad, q.grad, 1e-4, 1e-5)


def test_packed_final_state_is_state_at_true_length():
    e, _ = _pair("GRU", batch_first=True)
    xe, _ = _leaf((3, 6, 3))
    lengths = [6, 2, 4]
    _, h = e(er.pack_padded_sequence(xe, lengths, True, False))
    for b, n in enumerate(lengths):
        _, hb = e(xe[b : b + 1, :n])
        assert_same(h[:, b], torch.tensor(hb[:, 0].detach().numpy()), 1e-5, 1e-6)


def test_packed_float64_gradcheck():
    e = ember.nn.LSTM(2, 3, bidirectional=True).double()
    x = ember.randn(4, 3, 2, dtype=ember.float64, requires_grad=True)

    def f(x):
        out, (h, c) = e(er.pack_padded_sequence(x, [2, 4, 3], enforce_sorted=False))
        return out.data, h, c

    assert ember.autograd.gradcheck(f, (x,))
