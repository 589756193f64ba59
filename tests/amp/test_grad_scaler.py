"""GradScaler against torch's GradScaler("cpu"): the scale, the growth tracker and the skipped
steps over a run with injected infs and NaNs, unscale_ before clipping, state_dict round trips,
the errors of a misused scaler, and the disabled scaler of programs written for CUDA (nanoGPT's
``torch.cuda.amp.GradScaler(enabled=False)``) running on the CPU."""

from __future__ import annotations

import pickle
import warnings

import numpy as np
import pytest

import ember
from tests._support.torch_ref import torch

W0 = np.random.default_rng(1).standard_normal((3, 4)).astype(np.float32)
X = np.random.default_rng(2).standard_normal((5, 4)).astype(np.float32)
BAD = {2: float("inf"), 3: float("nan"), 7: float("-inf"), 12: float("inf")}


def _train(m, steps, bad, **kw):
    w = m.tensor(W0, requires_grad=True)
    b = m.zeros(3, requires_grad=True)
    opt = m.optim.SGD([w, b], lr=0.1)
    scaler = m.amp.GradScaler("cpu", **kw)
    x = m.tensor(X)
    trace = []
    for i in range(steps):
        opt.zero_grad()
        loss = ((x @ w.T + b) ** 2).mean()
        scaler.scale(loss).backward()
        if i in bad:
            with m.no_grad():
                w.grad[0, 1] = bad[i]
        before = w.detach().clone()
        scaler.step(opt)
        stepped = not bool((w.detach() == before).all())
        scaler.update()
        trace.append((scaler.get_scale(), scaler._get_growth_tracker(), stepped))
    return trace, w.detach().numpy(), scaler


def test_scale_tracker_and_skips_over_steps_match_torch():
    kw = dict(init_scale=2.0**10, growth_factor=4.0, backoff_factor=0.25, growth_interval=3)
    e_trace, e_w, e_s = _train(ember, 16, BAD, **kw)
    t_trace, t_w, t_s = _train(torch, 16, BAD, **kw)
    assert e_trace == t_trace
    assert [s for _, _, s in e_trace].count(False) == len(BAD)  # every bad step was skipped
    np.testing.assert_allclose(e_w, t_w, rtol=1e-5, atol=1e-6)
    assert e_s.state_dict() == t_s.state_dict()


def test_growth_stops_where_the_scale_would_overflow_float32():
    kw = dict(init_scale=2.0**126, growth_factor=4.0, growth_interval=1)
    e_trace, _, _ = _train(ember, 3, {}, **kw)
    t_trace, _, _ = _train(torch, 3, {}, **kw)
    assert e_trace == t_trace


@pytest.mark.parametrize("m", [ember, torch], ids=["ember", "torch"])
def test_unscale_then_clip_then_step(m):
    """The documented pattern: unscale_ before clip_grad_norm_, then step and update."""
    w = m.tensor(W0, requires_grad=True)
    opt = m.optim.SGD([w], lr=0.1)
    scaler = m.amp.GradScaler("cpu", init_scale=256.0)
    loss = (m.tensor(X) @ w.T).pow(2).sum()
    scaler.scale(loss).backward()
    assert float(w.grad.abs().max()) > 1000
    scaler.unscale_(opt)
    m.nn.utils.clip_grad_norm_([w], 1.0)
    assert float(w.grad.norm()) <= 1.0 + 1e-5
    with pytest.raises(RuntimeError, match="unscale_\\(\\) has already been called"):
        scaler.unscale_(opt)
    scaler.step(opt)
    with pytest.raises(RuntimeError, match="step\\(\\) has already been called"):
        scaler.step(opt)
    with pytest.raises(RuntimeError, match="unscale_\\(\\) is being called after step"):
        scaler.unscale_(opt)
    scaler.update()
    assert scaler._get_growth_tracker() == 1


def test_unscaled_gradients_match_torch():
    grads = []
    for m in (ember, torch):
        w = m.tensor(W0, requires_grad=True)
        opt = m.optim.SGD([w], lr=0.1)
        scaler = m.amp.GradScaler("cpu", init_scale=3.0)
        scaler.scale((m.tensor(X) @ w.T).pow(2).sum()).backward()
        scaler.unscale_(opt)
        grads.append(w.grad.detach().numpy().copy())
        assert scaler._found_inf_per_device(opt) if m is torch else True
    np.testing.assert_allclose(grads[0], grads[1], rtol=1e-6, atol=1e-6)


def test_scale_of_lists_and_dtypes_match_torch():
    outs = []
    for m in (ember, torch):
        s = m.amp.GradScaler("cpu", init_scale=8.0)
        a, b = m.ones(2), m.ones(3).to(m.bfloat16)
        r = s.scale([a, (b, a)])
        outs.append((type(r).__name__, type(r[1]).__name__, str(r[1][0].dtype), r[0].tolist()))
        with pytest.raises(ValueError, match="outputs must be a Tensor or an iterable of Tensors"):
            m.amp.GradScaler("cpu").scale([1.0])
    assert outs[0] == outs[1]


@pytest.mark.parametrize(
    "call",
    [
        lambda m, s, o: s.unscale_(o),
        lambda m, s, o: s.step(o),
        lambda m, s, o: s.update(),
        lambda m, s, o: s.load_state_dict({}),
        lambda m, s, o: m.amp.GradScaler("cpu", growth_factor=1.0),
        lambda m, s, o: m.amp.GradScaler("cpu", backoff_factor=1.0),
        lambda m, s, o: (s.scale(m.ones(())), s.step(o, closure=lambda: 0)),
    ],
)
def test_misuse_errors_match_torch(call):
    errs = []
    for m in (torch, ember):
        s = m.amp.GradScaler("cpu")
        o = m.optim.SGD([m.zeros(1, requires_grad=True)], lr=0.1)
        with pytest.raises(Exception) as ei:
            call(m, s, o)
        errs.append((type(ei.value).__name__, str(ei.value)))
    assert errs[0] == errs[1]


def test_state_dict_round_trip_and_pickle():
    e, _, es = _train(ember, 5, {1: float("inf")}, init_scale=64.0, growth_interval=2)
    sd = es.state_dict()
    fresh = ember.amp.GradScaler("cpu")
    fresh.load_state_dict(sd)
    assert fresh.state_dict() == sd
    assert fresh.get_scale() == e[-1][0]
    again = pickle.loads(pickle.dumps(es))
    assert again.state_dict() == sd
    t = torch.amp.GradScaler("cpu")
    t.load_state_dict(sd)  # the same keys and types as torch's
    assert t.state_dict() == sd


def _warnings(fn):
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        r = fn()
    return r, [(x.category, str(x.message)) for x in w]


@pytest.mark.parametrize(
    "make",
    [
        lambda m: m.cuda.amp.GradScaler(enabled=False),
        lambda m: m.cuda.amp.GradScaler(),
        lambda m: m.amp.GradScaler(),
        lambda m: m.amp.GradScaler("cuda", enabled=False),
        lambda m: m.cpu.amp.GradScaler(),
        lambda m: m.amp.GradScaler("cpu"),
    ],
)
def test_construction_warnings_and_enabled_match_torch(make):
    if torch.cuda.is_available():
        pytest.skip("torch sees a GPU: its CUDA scaler stays enabled")
    es, ew = _warnings(lambda: make(ember))
    ts, tw = _warnings(lambda: make(torch))
    assert ew == tw
    assert es.is_enabled() == ts.is_enabled()
    assert es.state_dict() == ts.state_dict()
    assert es.get_scale() == ts.get_scale()


def test_nanogpt_disabled_scaler_pattern_runs_on_cpu():
    """nanoGPT: `scaler = torch.cuda.amp.GradScaler(enabled=(dtype == 'float16'))`, then
    scale(loss).backward(), unscale_, clip, step, update: a disabled scaler passes through."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        scaler = ember.cuda.amp.GradScaler(enabled=False)
    assert not scaler.is_enabled() and scaler.get_scale() == 1.0 and scaler.state_dict() == {}
    ember.manual_seed(0)
    model = ember.nn.Linear(4, 2)
    opt = ember.optim.AdamW(model.parameters(), lr=1e-2)
    x, y = ember.randn(16, 4), ember.randn(16, 2)
    losses = []
    for _ in range(30):
        with ember.amp.autocast(device_type="cpu", dtype=ember.bfloat16):
            loss = ember.nn.functional.mse_loss(model(x), y)
        scaler.scale(loss).backward()
        scaler.unscale_(opt)
        ember.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        scaler.step(opt)
        scaler.update()
        opt.zero_grad(set_to_none=True)
        losses.append(loss.item())
    assert losses[-1] < losses[0]
    scaler.load_state_dict({})  # a disabled scaler ignores it, as torch's


def test_top_level_name_as_torch():
    """torch.GradScaler is torch.amp.GradScaler (the top-level name since torch 2.3)."""
    assert torch.GradScaler is torch.amp.GradScaler
    assert ember.GradScaler is ember.amp.GradScaler
    s = ember.GradScaler("cpu", init_scale=4.0)
    assert s.get_scale() == torch.GradScaler("cpu", init_scale=4.0).get_scale()
