"""float16/bfloat16 reductions accumulate in float32, as torch's CPU kernels do: sums, means,
running sums and products, softmax, variance, norms and matrix products come out as torch's
(within one unit in the last place of the half type, where float32 summation order can flip a
rounding), and long sums do not stall (bfloat16 accumulated in bfloat16 stops growing at 256)."""

from __future__ import annotations

import numpy as np
import pytest

import ember
from tests._support.torch_ref import torch

ULP = {"float16": 2.0**-10, "bfloat16": 2.0**-7}
OPS = {
    "sum": lambda m, a: a.sum(),
    "sum_dim1": lambda m, a: a.sum(1),
    "sum_dim0": lambda m, a: a.sum(0),
    "mean": lambda m, a: a.mean(),
    "mean_dim1": lambda m, a: a.mean(1, keepdim=True),
    "nansum": lambda m, a: m.nansum(a, 1),
    "cumsum": lambda m, a: a.cumsum(1),
    "cumprod": lambda m, a: (a[:, :24] + 0.6).cumprod(1),
    "softmax": lambda m, a: m.softmax(a, 1),
    "log_softmax": lambda m, a: m.log_softmax(a, 0),
    "var": lambda m, a: a.var(1),
    "std_mean": lambda m, a: m.std_mean(a, 0)[0],
    "norm": lambda m, a: a.norm(dim=1),
    "matmul": lambda m, a: a @ a.T,
    "mse_mean": lambda m, a: m.nn.functional.mse_loss(a, a.flip(1)),
    "mse_sum": lambda m, a: m.nn.functional.mse_loss(a[:2], a[:2].flip(1), reduction="sum"),
    "l1": lambda m, a: m.nn.functional.l1_loss(a, a.flip(0)),
    "nll_sum": lambda m, a: m.nn.functional.nll_loss(-a, m.arange(48) * 7, reduction="sum"),
    "cross_entropy": lambda m, a: m.nn.functional.cross_entropy(a * 4, m.arange(48) * 3),
    "avg_pool": lambda m, a: m.nn.functional.avg_pool1d(a[None], 50),
    "avg_pool_pad": lambda m, a: m.nn.functional.avg_pool2d(a[None], 5, 3, 2),
    "adaptive_avg": lambda m, a: m.nn.functional.adaptive_avg_pool1d(a, 3),
    "adaptive_avg_global": lambda m, a: m.nn.functional.adaptive_avg_pool2d(a[None], 1),
}


def _pair(dt: str, shape=(48, 700), seed=0):
    x = np.random.default_rng(seed).random(shape).astype(np.float32)
    e = ember.from_numpy(x).to(getattr(ember, dt))
    t = torch.from_numpy(x).to(getattr(torch, dt))
    return e, t


def _close(got, want, dt: str) -> None:
    g = got.detach().float().numpy().astype(np.float64)
    w = want.detach().float().numpy().astype(np.float64)
    # one half-precision ulp of the value (float32 order of summation may flip a rounding)
    np.testing.assert_allclose(g, w, rtol=ULP[dt], atol=ULP[dt] * 1e-3)


@pytest.mark.parametrize("dt", ["float16", "bfloat16"])
@pytest.mark.parametrize("name", sorted(OPS))
def test_half_reduction_matches_torch(dt, name):
    e, t = _pair(dt)
    got, want = OPS[name](ember, e), OPS[name](torch, t)
    assert got.dtype == getattr(ember, dt) and tuple(got.shape) == tuple(want.shape)
    _close(got, want, dt)


@pytest.mark.parametrize("dt", ["float16", "bfloat16"])
def test_long_half_sums_do_not_stall(dt):
    e, t = _pair(dt, (4, 20000), seed=1)
    for f in (lambda m, a: a.sum(), lambda m, a: a.mean(), lambda m, a: a.cumsum(1)[:, -1]):
        got, want = f(ember, e), f(torch, t)
        _close(got, want, dt)
    assert float(e.sum()) > 30000  # half of 80,000 uniforms, far past 256 and 2048


@pytest.mark.parametrize("dt", ["float16", "bfloat16"])
@pytest.mark.parametrize("fn", ["softmax", "log_softmax", "sum", "cumsum", "avg_pool1d"])
def test_half_backward_matches_torch(dt, fn):
    e, t = _pair(dt, (16, 300), seed=2)
    e.requires_grad_()
    t.requires_grad_()
    w = np.random.default_rng(3).standard_normal((16, 300)).astype(np.float32)
    outs = []
    for m, a in ((ember, e), (torch, t)):
        if fn == "avg_pool1d":
            y = m.nn.functional.avg_pool1d(a, 30)
        else:
            y = getattr(m, fn)(a, 1) if fn != "sum" else a.sum(1)
        wt = m.from_numpy(w).to(a.dtype)
        wt = wt[:, 0] if fn == "sum" else wt[:, : y.shape[1]]
        (y * wt).sum().backward()
        outs.append(a.grad)
    assert outs[0].dtype == getattr(ember, dt)
    g = outs[0].float().numpy().astype(np.float64)
    want = outs[1].float().numpy().astype(np.float64)
    np.testing.assert_allclose(g, want, rtol=4 * ULP[dt], atol=4 * ULP[dt] * np.abs(want).max())


@pytest.mark.parametrize("dt", ["float16", "bfloat16"])
@pytest.mark.parametrize("norm", ["layer_norm", "group_norm", "LayerNorm"])
def test_half_input_with_float32_parameters(dt, norm):
    """torch's CPU norms take half input with float32 parameters: computed in float32, returned
    in the input's dtype (gradients in each tensor's own dtype)."""
    e, t = _pair(dt, (6, 8, 10), seed=4)
    e.requires_grad_()
    t.requires_grad_()
    outs = []
    for m, a in ((ember, e), (torch, t)):
        w = m.linspace(0.5, 1.5, 8 if norm == "group_norm" else 10).requires_grad_()
        b = m.linspace(-0.2, 0.3, w.shape[0])
        f = m.nn.functional
        if norm == "layer_norm":
            y = f.layer_norm(a, (10,), w, b)
        elif norm == "group_norm":
            y = f.group_norm(a, 2, w, b)
        else:
            mod = m.nn.LayerNorm(10)
            with m.no_grad():
                mod.weight.copy_(w)
            y = mod(a)
        y.float().square().sum().backward()
        outs.append((y, a.grad))
    (ye, ge), (yt, gt) = outs
    assert ye.dtype == getattr(ember, dt) == getattr(ember, str(yt.dtype).split(".")[-1])
    assert ge.dtype == e.dtype
    _close(ye, yt, dt)
    np.testing.assert_allclose(
        ge.float().numpy(), gt.float().numpy(), rtol=4 * ULP[dt], atol=8 * ULP[dt]
    )


def test_float32_input_with_half_parameters_raises_as_torch():
    x = ember.randn(4, 8)
    w = ember.ones(8, dtype=ember.bfloat16)
    with pytest.raises(RuntimeError, match="mixed dtype"):
        ember.nn.functional.layer_norm(x, (8,), w, None)
    with pytest.raises(RuntimeError, match="mixed dtype"):
        ember.nn.functional.group_norm(x, 2, w, w)
    # rms_norm has no fused mixed kernel: float32 input promotes; half input keeps its dtype
    assert ember.nn.functional.rms_norm(x, (8,), w).dtype == ember.float32
    assert ember.nn.functional.rms_norm(w, (8,), x[0]).dtype == ember.bfloat16


@pytest.mark.parametrize("dt", ["float16", "bfloat16"])
def test_half_linear_and_addmm_round_once(dt):
    """The bias joins the float32 product before the one rounding (torch's), so Linear under
    bfloat16 autocast gives torch's bits."""
    rng = np.random.default_rng(5)
    x, w, b = (rng.standard_normal(s).astype(np.float32) for s in ((8, 64), (32, 64), (32,)))
    got, want = [], []
    for m, out in ((ember, got), (torch, want)):
        X, W, B = (m.from_numpy(a).to(getattr(m, dt)) for a in (x, w, b))
        out.append(m.nn.functional.linear(X, W, B))
        out.append(m.addmm(B, X, W.T, beta=0.5, alpha=2.0))
        out.append(m.nn.functional.linear(X[None], W, B)[0])
    for g, t in zip(got, want):
        assert np.array_equal(g.float().numpy(), t.float().numpy())
