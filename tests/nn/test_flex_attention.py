"""ember.nn.attention.flex_attention against torch's: forward values against the public
flex_attention, gradients against torch's eager math implementation (torch refuses a backward of
flex_attention on the CPU), BlockMask fields and printing, and a float64 gradcheck."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

import ember
import ember.nn.attention.flex_attention as efa

torch = pytest.importorskip("torch")
tfa = pytest.importorskip("torch.nn.attention.flex_attention")
_hop = pytest.importorskip("torch._higher_order_ops.flex_attention")

pytestmark = pytest.mark.filterwarnings(
    "ignore:flex_attention called without:UserWarning",
    "ignore:return_lse is deprecated:FutureWarning",
)


def _arr(*shape, seed, dtype=np.float32):
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


def _pair(a: np.ndarray, rg: bool = True):
    e = ember.from_numpy(a.copy()).requires_grad_(rg)
    t = torch.from_numpy(a.copy()).requires_grad_(rg)
    return e, t


def causal(b, h, q_idx, kv_idx):
    return q_idx >= kv_idx


def _check(lib_mods, shapes, *, tol=1e-5, dtype=np.float32, block=None, **kw):
    """Run flex_attention on ember and torch with ``lib_mods(lib) -> (score_mod, extra)``;
    compare out and lse with torch's flex_attention, and gradients with torch's math path.
    ``block``: (B, H, mask_mod) or (B, H, ember's mask_mod, torch's mask_mod)."""
    qs, ks, vs = shapes
    arrs = [_arr(*s, seed=i, dtype=dtype) for i, s in enumerate((qs, ks, vs))]
    (eq, tq), (ek, tk), (ev, tv) = (_pair(a) for a in arrs)
    e_sm, e_extra = lib_mods(ember)
    t_sm, t_extra = lib_mods(torch)
    e_bm = t_bm = None
    if block is not None:
        B, H = block[0], block[1]
        e_bm = efa.create_block_mask(block[2], B, H, qs[2], ks[2], device="cpu", BLOCK_SIZE=4)
        t_bm = tfa.create_block_mask(block[-1], B, H, qs[2], ks[2], device="cpu", BLOCK_SIZE=4)
    e_out, e_lse = efa.flex_attention(
        eq, ek, ev, score_mod=e_sm, block_mask=e_bm, return_lse=True, **kw
    )
    with torch.no_grad():
        t_out, t_lse = tfa.flex_attention(
            tq.detach(), tk.detach(), tv.detach(), t_sm, t_bm, return_lse=True, **kw
        )
    np.testing.assert_allclose(e_out.detach().numpy(), t_out.numpy(), rtol=tol, atol=tol)
    np.testing.assert_allclose(e_lse.detach().numpy(), t_lse.numpy(), rtol=tol, atol=tol)
    assert e_out.dtype == ember.float32 if dtype == np.float32 else ember.float64
    assert e_lse.dtype == e_out.dtype and tuple(e_lse.shape) == tuple(t_lse.shape)

    # gradients: torch's own eager math (what its flex_attention runs when it can)
    G = qs[1] // ks[1]
    scale = kw.get("scale") or 1 / math.sqrt(qs[-1])
    bm = t_bm if t_bm is not None else tfa._create_empty_block_mask(tq, tk)
    r_out, r_lse, _ = _hop.math_attention(
        tq, tk, tv, t_sm or tfa._identity, bm.as_tuple(), scale, {}
    )
    np.testing.assert_allclose(r_out.detach().numpy(), t_out.numpy(), rtol=tol, atol=tol)
    assert G >= 1
    w = _arr(*t_out.shape, seed=9, dtype=dtype)
    (e_out * ember.from_numpy(w)).sum().backward()
    (r_out * torch.from_numpy(w)).sum().backward()
    for e, t in [(eq, tq), (ek, tk), (ev, tv)] + list(zip(e_extra, t_extra)):
        assert e.grad is not None and t.grad is not None
        np.testing.assert_allclose(e.grad.numpy(), t.grad.numpy(), rtol=tol, atol=tol)
    return e_out, t_out


def _no_mod(lib):
    return None, []


def test_no_mods():
    _check(_no_mod, [(2, 3, 6, 8)] * 3)


def test_causal_block_mask_and_scale():
    _check(_no_mod, [(1, 2, 9, 4), (1, 2, 9, 4), (1, 2, 9, 5)], block=(1, 1, causal), scale=0.3)


def test_sliding_window_and_masks_combinators():
    def window(b, h, q, kv):
        return (q - kv).abs() <= 2

    masks = (efa.and_masks(causal, window), tfa.and_masks(causal, window))
    _check(_no_mod, [(2, 2, 10, 4)] * 3, block=(2, 2, *masks))
    e = efa.create_mask(efa.or_masks(causal, window), 1, 1, 6, 7, device="cpu")
    t = tfa.create_mask(tfa.or_masks(causal, window), 1, 1, 6, 7, device="cpu")
    assert e.dtype == ember.bool and np.array_equal(e.numpy(), t.numpy())
    e = efa.create_mask(efa.noop_mask, 2, 1, 3, 4, device="cpu")
    assert tuple(e.shape) == (2, 1, 3, 4) and e.numpy().all()


def test_alibi_score_mod():
    def mods(lib):
        slopes = lib.tensor([0.5, 0.25, 0.125])

        def alibi(score, b, h, q, kv):
            return score + slopes[h] * (kv - q)

        return alibi, []

    _check(mods, [(2, 3, 7, 4)] * 3, block=(None, None, causal))


def test_tanh_soft_cap():
    def mods(lib):
        return (lambda s, b, h, q, kv: 2.0 * lib.tanh(s / 2.0)), []

    _check(mods, [(1, 2, 5, 8)] * 3)


def test_learnable_bias_gradient_broadcast_and_vmap(monkeypatch):
    vmapped = []

    def spy_vmap(fn, *a, **k):
        vmapped.append(fn)
        return real_vmap(fn, *a, **k)

    real_vmap = ember.vmap
    monkeypatch.setattr(ember, "vmap", spy_vmap)
    bias = _arr(6, 6, seed=5)
    eb, tb = _pair(bias)

    def mods(lib):
        table = eb if lib is ember else tb
        return (lambda s, b, h, q, kv: s + table[q, kv]), [table]

    _check(mods, [(1, 2, 6, 4)] * 3)
    assert not vmapped  # the broadcast call did it
    eb.grad, tb.grad = None, None

    def mods_0d(lib):  # stack needs 0-d indices: the broadcast call fails, vmap runs it
        table = eb if lib is ember else tb

        def rel(s, b, h, q, kv):
            pair = lib.stack([q, kv])
            return s + table[pair[0], pair[1]]

        return rel, [table]

    _check(mods_0d, [(1, 2, 6, 4)] * 3)
    assert len(vmapped) == 1


def test_gqa():
    _check(_no_mod, [(2, 4, 5, 4), (2, 2, 7, 4), (2, 2, 7, 3)], enable_gqa=True)
    q, k = ember.zeros(1, 4, 3, 2), ember.zeros(1, 2, 3, 2)
    with pytest.raises(ValueError, match="enable_gqa=True"):
        efa.flex_attention(q, k, k)


def test_fully_masked_rows_zero_out_and_minus_inf_lse():
    def mask(b, h, q, kv):
        return (q >= kv) & (q != 2)

    e_out, _ = _check(_no_mod, [(1, 1, 6, 4)] * 3, block=(1, 1, mask))
    assert not e_out.detach().numpy()[0, 0, 2].any()
    q = ember.randn(1, 1, 6, 4)
    _, lse = efa.flex_attention(
        q, q, q, block_mask=efa.create_block_mask(mask, 1, 1, 6, 6), return_lse=True
    )
    assert np.isneginf(lse.numpy()[0, 0, 2]) and np.isfinite(lse.numpy()[0, 0, 3])


def test_float64_and_aux_request():
    _check(_no_mod, [(1, 2, 4, 3)] * 3, dtype=np.float64, tol=1e-12, block=(1, 1, causal))
    q = _arr(1, 1, 4, 3, seed=1)
    e_out, aux = efa.flex_attention(
        *(ember.from_numpy(q),) * 3, return_aux=efa.AuxRequest(lse=True)
    )
    t_out, t_aux = tfa.flex_attention(
        *(torch.from_numpy(q),) * 3, return_aux=tfa.AuxRequest(lse=True)
    )
    assert aux.max_scores is None and t_aux.max_scores is None
    np.testing.assert_allclose(aux.lse.numpy(), t_aux.lse.numpy(), rtol=1e-5, atol=1e-6)
    with pytest.raises(NotImplementedError):
        efa.flex_attention(*(ember.from_numpy(q),) * 3, return_aux=efa.AuxRequest(max_scores=True))


def test_block_mask_fields_dense_sparsity_and_text():
    def mask(b, h, q, kv):
        return (q + 3 >= kv) & (kv != h)

    e = efa.create_block_mask(mask, 2, 3, 10, 13, device="cpu", BLOCK_SIZE=(4, 3))
    t = tfa.create_block_mask(mask, 2, 3, 10, 13, device="cpu", BLOCK_SIZE=(4, 3))
    assert e.shape == t.shape == (2, 3, 10, 13) and e.BLOCK_SIZE == t.BLOCK_SIZE
    assert e.mask_mod is mask and e.numel() == t.numel()
    for name in ("kv_num_blocks", "kv_indices", "full_kv_num_blocks", "q_indices"):
        ea, ta = getattr(e, name), getattr(t, name)
        assert ea.dtype == ember.int32 and np.array_equal(ea.numpy(), ta.numpy()), name
    dense = e.to_dense()
    assert dense.dtype == ember.int32 and np.array_equal(dense.numpy(), t.to_dense().numpy())
    assert e.sparsity() == pytest.approx(t.sparsity())
    assert str(e) == str(t) and repr(e) == repr(t)
    assert str(e[1, 2]) == str(t[1, 2]) and e[0].shape == t[0].shape
    big = efa.create_block_mask(causal, None, None, 256, 256)
    tbig = tfa.create_block_mask(causal, None, None, 256, 256, device="cpu")
    assert big.sparsity() == pytest.approx(tbig.sparsity()) == 25.0
    assert str(big) == str(tbig)


def test_warns_once_unfused_like_torch():
    q = torch.randn(1, 1, 2, 2)
    eq = ember.randn(1, 1, 2, 2)
    tfa._WARNINGS_SHOWN.discard("flex_attention_performance")
    efa._WARNINGS_SHOWN.discard("flex_attention_performance")
    for mod, x in ((tfa, q), (efa, eq)):
        with warnings.catch_warnings(record=True) as rec:
            warnings.simplefilter("always")
            mod.flex_attention(x, x, x)
            mod.flex_attention(x, x, x)
        hits = [w for w in rec if "without torch.compile()" in str(w.message)]
        assert len(hits) == 1 and hits[0].category is UserWarning


def test_gradcheck_float64():
    bias = ember.from_numpy(_arr(4, seed=3, dtype=np.float64)).requires_grad_()
    bm = efa.create_block_mask(causal, 1, 1, 4, 4, BLOCK_SIZE=2)

    def fn(q, k, v, b):
        return efa.flex_attention(q, k, v, lambda s, bi, h, qi, kv: s + b[kv], block_mask=bm)

    args = [
        ember.from_numpy(_arr(1, 2, 4, 3, seed=i, dtype=np.float64)).requires_grad_()
        for i in range(3)
    ]
    assert ember.autograd.gradcheck(fn, (*args, bias))
