"""F.scaled_dot_product_attention (the one op of ember/ops/attention.py) against torch: values
and gradients of q, k, v and a float mask; causal, boolean masks, GQA, scale, dropout's exact
stream; float64 finite differences; torch's errors."""

from __future__ import annotations

import numpy as np
import pytest

import ember
from tests._support.ops_check import compare, gradcheck, randn
from tests._support.torch_ref import assert_same, to_torch, torch


def _sdpa(lib, q, k, v, *args, **kw):
    return lib.nn.functional.scaled_dot_product_attention(q, k, v, *args, **kw)


SHAPES = [
    ((2, 3, 4, 8), (2, 3, 5, 8), (2, 3, 5, 6)),  # L != S, Ev != E
    ((3, 6, 8), (3, 6, 8), (3, 6, 8)),  # 3-d
    ((5, 4), (7, 4), (7, 3)),  # 2-d
]


@pytest.mark.parametrize("causal", [False, True])
@pytest.mark.parametrize("shapes", SHAPES, ids=["4d", "3d", "2d"])
def test_values_and_grads(shapes, causal):
    q, k, v = (randn(*s, seed=i) for i, s in enumerate(shapes))
    compare(lambda m, *a: _sdpa(m, *a, is_causal=causal), q, k, v, atol=1e-5, rtol=1e-4)


def test_scale():
    q, k, v = (randn(2, 2, 6, 4, seed=i) for i in range(3))
    compare(lambda m, *a: _sdpa(m, *a, scale=0.37), q, k, v, atol=1e-5, rtol=1e-4)


@pytest.mark.parametrize("mshape", [(4, 5), (3, 1, 5), (2, 3, 4, 5), (5,)])
def test_float_mask_grads(mshape):
    q, k, v = randn(2, 3, 4, 8, seed=1), randn(2, 3, 5, 8, seed=2), randn(2, 3, 5, 6, seed=3)
    m = randn(*mshape, seed=4)
    compare(_sdpa, q, k, v, m, atol=1e-5, rtol=1e-4)


def test_bool_mask_and_fully_masked_row():
    """True takes part; a row with nothing to attend to gives zeros (torch's safe softmax)."""
    q, k, v = randn(2, 3, 4, 8, seed=1), randn(2, 3, 5, 8, seed=2), randn(2, 3, 5, 6, seed=3)
    mask = np.ones((4, 5), bool)
    mask[1:, :2] = False
    mask[0] = False
    e, _ = compare(_sdpa, q, k, v, ember.tensor(mask), atol=1e-5, rtol=1e-4)
    assert not np.any(e.detach().numpy()[..., 0, :])


def test_softmax_shift_and_its_fallback_rows():
    """The CPU softmax shifts each row by the largest of four of its scores, in base 2 for
    float32: rows whose range overflows that shift, left padding that masks the sampled
    columns (-inf and -1e4), a NaN off the sampled columns, fully masked rows, and a float
    mask as big as the scores (base e) all keep torch's values and gradients."""

    def qkv(wide=False):
        q = randn(2, 3, 16, 8, seed=1)
        if wide:
            with ember.no_grad():
                q[0, 0, 3] *= 60.0  # that row's scores span far more than exp's range
        return q, randn(2, 3, 24, 8, seed=2), randn(2, 3, 24, 6, seed=3)

    compare(_sdpa, *qkv(wide=True), atol=1e-5, rtol=1e-4)
    left = np.zeros((2, 1, 1, 24), np.float32)
    left[0, ..., :20] = -np.inf
    left[1, ..., :9] = -1e4
    compare(_sdpa, *qkv(), ember.tensor(left), atol=1e-5, rtol=1e-4)
    keep = np.ones((16, 24), bool)
    keep[2] = False
    keep[5, ::2] = False
    e, _ = compare(_sdpa, *qkv(), ember.tensor(keep), atol=1e-5, rtol=1e-4)
    assert not np.any(e.detach().numpy()[..., 2, :])
    compare(_sdpa, *qkv(), randn(2, 3, 16, 24, seed=5), atol=1e-5, rtol=1e-4)
    q, k, v = (a.detach().numpy() for a in qkv())
    k[1, 2, 5, 0] = np.nan
    rows = [
        np.isnan(_sdpa(m, m.tensor(q), m.tensor(k), m.tensor(v)).numpy()).any(-1)
        for m in (ember, torch)
    ]
    assert np.array_equal(*rows) and rows[0][1, 2].all() and not rows[0][0].any()


def test_causal_with_float_mask_in_float64():
    """The causal bias and a float mask together, rectangular (top-left aligned), float64."""
    q, k, v = (randn(2, 2, s, 5, dtype=ember.float64, seed=i) for i, s in enumerate((6, 4, 4)))
    q2, k2, v2 = (randn(2, 2, s, 5, dtype=ember.float64, seed=i) for i, s in enumerate((3, 7, 7)))
    for a in ((q, k, v), (q2, k2, v2)):
        compare(lambda m, *x: _sdpa(m, *x, is_causal=True), *a, atol=1e-12, rtol=1e-10)


@pytest.mark.parametrize("causal", [False, True])
def test_gqa(causal):
    q, k, v = randn(2, 6, 4, 8, seed=1), randn(2, 2, 5, 8, seed=2), randn(2, 2, 5, 3, seed=3)
    compare(
        lambda m, *a: _sdpa(m, *a, is_causal=causal, enable_gqa=True),
        q,
        k,
        v,
        atol=1e-5,
        rtol=1e-4,
    )


def test_gqa_with_mask():
    q, k, v = randn(2, 4, 4, 8, seed=1), randn(2, 1, 5, 8, seed=2), randn(2, 1, 5, 8, seed=3)
    m = randn(2, 4, 4, 5, seed=4)
    compare(lambda mod, *a: _sdpa(mod, *a, enable_gqa=True), q, k, v, m, atol=1e-5, rtol=1e-4)


@pytest.mark.parametrize("gqa", [False, True])
def test_dropout_exact_stream(gqa):
    """Dropout draws torch's CPU noise in torch's order: same dropped weights, same values and
    gradients, and the generator left in the same state."""
    hk = 2 if gqa else 4
    q, k, v = randn(2, 4, 6, 8, seed=1), randn(2, hk, 6, 8, seed=2), randn(2, hk, 6, 8, seed=3)

    def fn(m, *a):
        m.manual_seed(11)
        return _sdpa(m, *a, dropout_p=0.4, is_causal=True, enable_gqa=gqa), m.rand(3)

    (ye, ne), (yt, nt) = compare(fn, q, k, v, atol=1e-5, rtol=1e-4)
    assert_same(ne, nt)


def test_dropout_statistics():
    """Each weight survives with probability 1 - p and is scaled by 1 / (1 - p)."""
    ember.manual_seed(0)
    q = ember.zeros(4, 8, 64, 16)  # uniform weights 1/64: the output is mean(kept v) * scale
    v = ember.ones(4, 8, 64, 1)
    y = ember.nn.functional.scaled_dot_product_attention(q, q, v, dropout_p=0.25).numpy()
    kept = y * 0.75 * 64  # how many of the 64 weights each row kept
    assert np.allclose(kept, np.round(kept), atol=1e-3)
    assert abs(kept.mean() / 64 - 0.75) < 0.01


def test_gradcheck_float64():
    mask = randn(4, 5, dtype=ember.float64, seed=9)
    gradcheck(
        lambda q, k, v: _sdpa(ember, q, k, v, mask, scale=0.5),
        (1, 2, 4, 3),
        (1, 2, 5, 3),
        (1, 2, 5, 2),
    )
    gradcheck(
        lambda q, k, v, m: _sdpa(ember, q, k, v, m, is_causal=True),
        (2, 4, 3),
        (2, 4, 3),
        (2, 4, 2),
        (4, 4),
    )
    gradcheck(
        lambda q, k, v: _sdpa(ember, q, k, v, enable_gqa=True),
        (1, 4, 3, 2),
        (1, 2, 3, 2),
        (1, 2, 3, 2),
    )


def _torch_math_sdpa(q, k, v, mask, causal, gqa):
    """torch's math path as plain ops (torch's CPU SDPA kernel has no double backward)."""
    if gqa:
        r = q.shape[-3] // k.shape[-3]
        k, v = k.repeat_interleave(r, -3), v.repeat_interleave(r, -3)
    s = q @ k.transpose(-2, -1) / q.shape[-1] ** 0.5
    L, S = s.shape[-2:]
    if causal:
        s = s.masked_fill(~torch.ones(L, S, dtype=torch.bool).tril(), float("-inf"))
    if mask is not None:
        s = s.masked_fill(~mask, float("-inf")) if mask.dtype == torch.bool else s + mask
    dead = ~torch.isfinite(s.detach().amax(-1, keepdim=True))
    p = torch.softmax(s.masked_fill(dead, 0.0), -1).masked_fill(dead, 0.0)
    return p @ v


@pytest.mark.parametrize(
    "causal,mask,gqa",
    [(True, None, False), (False, "float", False), (False, "bool", True), (True, "dead", False)],
)
def test_double_backward_matches_torch_math(causal, mask, gqa):
    """create_graph=True through the op: the gradient is a graph (a gradient penalty on
    attention), equal to torch's math path differentiated twice."""
    rng = np.random.default_rng(0)
    arrays = [rng.standard_normal(s) for s in ((2, 4, 5, 8), (2, 2 if gqa else 4, 6, 8))]
    arrays.append(rng.standard_normal(arrays[1].shape))
    m_arr = rng.standard_normal((5, 6)) if mask == "float" else rng.random((5, 6)) > 0.3
    if mask == "dead":
        m_arr[1] = False  # a row with nothing to attend to
    grads = []
    for m in (ember, torch):
        q, k, v = (m.from_numpy(a.copy()).requires_grad_() for a in arrays)
        am = None if mask is None else m.from_numpy(m_arr.copy())
        if mask == "float":
            am.requires_grad_()
        if m is ember:
            out = m.nn.functional.scaled_dot_product_attention(
                q, k, v, attn_mask=am, is_causal=causal, enable_gqa=gqa
            )
        else:
            out = _torch_math_sdpa(q, k, v, am, causal, gqa)
        gq, gk = m.autograd.grad((out**2).sum(), (q, k), create_graph=True)
        (gq.pow(2).sum() + (gk * gk.detach()).sum()).backward()
        grads.append([t.grad.numpy() for t in (q, k, v) + ((am,) if mask == "float" else ())])
    for a, b in zip(*grads):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


def test_gradgradcheck_float64():
    f = ember.nn.functional.scaled_dot_product_attention
    q, k, v = (randn(*s, dtype=ember.float64, seed=i) for i, s in enumerate(((1, 2, 3, 2),) * 3))
    for t in (q, k, v):
        t.requires_grad_()
    assert ember.autograd.gradgradcheck(lambda a, b, c: f(a, b, c, is_causal=True), (q, k, v))


def test_in_place_change_of_a_saved_input_is_an_error():
    q, k, v = (randn(1, 2, 3, 4, seed=i).requires_grad_() for i in range(3))
    kk = k * 1.0
    out = ember.nn.functional.scaled_dot_product_attention(q, kk, v)
    kk.add_(1.0)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        out.sum().backward()


def test_one_key_head_broadcasts():
    q, k, v = randn(2, 3, 4, 8, seed=1), randn(2, 1, 5, 8, seed=2), randn(2, 1, 5, 6, seed=3)
    compare(_sdpa, q, k, v, atol=1e-5, rtol=1e-4)


def test_non_contiguous_heads():
    """q, k, v as nanoGPT makes them: a split of one projection, viewed and transposed."""
    x = randn(2, 5, 3 * 8, seed=4)

    def fn(m, x):
        q, k, v = x.split(8, dim=2)
        q, k, v = (t.view(2, 5, 2, 4).transpose(1, 2) for t in (q, k, v))
        return _sdpa(m, q, k, v, is_causal=True).transpose(1, 2).reshape(2, 5, 8)

    compare(fn, x, atol=1e-5, rtol=1e-4)


def test_float16_output_dtype():
    q = ember.tensor(np.random.default_rng(0).standard_normal((2, 3, 4)).astype(np.float16))
    t = to_torch(q)
    assert_same(_sdpa(ember, q, q, q), _sdpa(torch, t, t, t), rtol=2e-3, atol=2e-3)


def _error(lib, *args, **kw):
    with pytest.raises(RuntimeError) as info:
        _sdpa(lib, *args, **kw)
    return str(info.value)


def test_errors_as_torch():
    rng = np.random.default_rng(0)
    f32 = rng.standard_normal((2, 3, 4, 8)).astype(np.float32)
    cases = [
        ((f32, f32, f32.astype(np.float64)), {}),
        ((f32, f32, f32, np.zeros((4, 4), np.int64)), {}),
        ((f32, f32[:, :2], f32[:, :2]), {}),
        ((f32, f32[:, :2], f32[:, :2]), {"enable_gqa": True}),
    ]
    for args, kw in cases:
        e = _error(ember, *(ember.tensor(a) for a in args), **kw)
        t = _error(torch, *(torch.tensor(a) for a in args), **kw)
        assert e == t
    with pytest.raises(ValueError, match="dropout probability"):
        _sdpa(ember, *(ember.tensor(f32),) * 3, dropout_p=1.5)


# --- MultiheadAttention over the op: packed self-attention, shared key/value, masks ----------


def _mha_pair(**kw):
    e = ember.nn.MultiheadAttention(8, 2, **kw)
    t = torch.nn.MultiheadAttention(8, 2, **kw)
    t.load_state_dict({k: torch.tensor(v.numpy()) for k, v in e.state_dict().items()})
    return e, t


def _leaf(shape, seed=0):
    a = np.random.default_rng(seed).standard_normal(shape).astype(np.float32)
    return ember.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)


@pytest.mark.parametrize("need_weights", [False, True])
@pytest.mark.parametrize("kind", ["self", "kv", "cross", "unbatched"])
@pytest.mark.parametrize("batch_first", [False, True])
def test_mha_against_torch(kind, need_weights, batch_first):
    """Self-attention (one packed projection), a shared key/value, three inputs, unbatched:
    outputs, weights and every parameter's gradient, with a bool attn_mask and padding mask."""
    e, t = _mha_pair(batch_first=batch_first)
    L, S, N = 4, (4 if kind in ("self", "unbatched") else 5), 3
    shape = (lambda n: (n,)) if kind == "unbatched" else lambda n: (N, n) if batch_first else (n, N)
    qe, qt = _leaf((*shape(L), 8))
    ke, kt = (qe, qt) if kind in ("self", "unbatched") else _leaf((*shape(S), 8), 1)
    ve, vt = (ke, kt) if kind != "cross" else _leaf((*shape(S), 8), 2)
    mask = np.zeros((L, S), bool)
    mask[:, -1] = True
    mask[0, 0] = True
    kw_e = dict(attn_mask=ember.tensor(mask), need_weights=need_weights)
    kw_t = dict(attn_mask=torch.tensor(mask), need_weights=need_weights)
    if kind != "unbatched":
        kpm = np.zeros((N, S), bool)
        kpm[1, 1] = True
        kw_e["key_padding_mask"] = ember.tensor(kpm)
        kw_t["key_padding_mask"] = torch.tensor(kpm)
    oe, we = e(qe, ke, ve, **kw_e)
    ot, wt = t(qt, kt, vt, **kw_t)
    assert_same(oe, ot, 1e-5, 1e-5)
    if need_weights:
        assert_same(we, wt, 1e-5, 1e-6)
    else:
        assert we is None and wt is None
    oe.square().sum().backward()
    ot.square().sum().backward()
    for a, b in ((qe, qt), (ke, kt), (ve, vt)):
        assert_same(a.grad, b.grad, 1e-4, 1e-5)
    for (_, pe), (_, pt) in zip(e.named_parameters(), t.named_parameters()):
        assert_same(pe.grad, pt.grad, 1e-4, 1e-5)


def test_transformer_encoder_layer_dropout_stream():
    """An encoder layer in training mode: dropout inside attention and around it draws torch's
    stream in torch's order (values and input gradients agree)."""
    e = ember.nn.TransformerEncoderLayer(8, 2, 16, dropout=0.3, batch_first=True)
    t = torch.nn.TransformerEncoderLayer(8, 2, 16, dropout=0.3, batch_first=True)
    t.load_state_dict({k: torch.tensor(v.numpy()) for k, v in e.state_dict().items()})
    xe, xt = _leaf((3, 5, 8))
    ember.manual_seed(3)
    torch.manual_seed(3)
    oe, ot = e(xe), t(xt)
    assert_same(oe, ot, 1e-5, 1e-5)
    oe.sum().backward()
    ot.sum().backward()
    assert_same(xe.grad, xt.grad, 1e-4, 1e-5)
