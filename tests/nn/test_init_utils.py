"""nn.init distributions and helpers, nn.utils (clip_grad, parameter/vector conversion)."""

from __future__ import annotations

import math

import numpy as np
import pytest

import ember
import ember.nn as nn
from ember.nn import init
from tests._support.torch_ref import assert_same, torch


def test_calculate_gain_and_fans():
    for nl in ["linear", "conv2d", "sigmoid", "tanh", "relu", "leaky_relu", "selu"]:
        assert init.calculate_gain(nl) == torch.nn.init.calculate_gain(nl)
    assert init.calculate_gain("leaky_relu", 0.2) == torch.nn.init.calculate_gain("leaky_relu", 0.2)
    with pytest.raises(ValueError, match="Unsupported nonlinearity"):
        init.calculate_gain("foo")
    for shape in [(3, 4), (8, 3, 5, 5), (2, 6, 7)]:
        assert init._calculate_fan_in_and_fan_out(
            ember.empty(shape)
        ) == torch.nn.init._calculate_fan_in_and_fan_out(torch.empty(shape))
    with pytest.raises(ValueError, match="fewer than 2 dimensions"):
        init._calculate_fan_in_and_fan_out(ember.empty(3))


def _stats(t):
    a = t.detach().numpy()
    return a.mean(), a.std(), a.min(), a.max()


def test_distributions():
    w = ember.empty(300, 400)
    m, s, lo, hi = _stats(init.uniform_(w, -2, 3))
    assert lo >= -2 and hi <= 3 and abs(m - 0.5) < 0.05
    m, s, *_ = _stats(init.normal_(w, 1.0, 2.0))
    assert abs(m - 1) < 0.05 and abs(s - 2) < 0.05
    m, s, lo, hi = _stats(init.trunc_normal_(w, 0.5, 1.0, -1.0, 1.5))
    assert lo >= -1.0 and hi <= 1.5
    ref = torch.nn.init.trunc_normal_(torch.empty(300, 400), 0.5, 1.0, -1.0, 1.5)
    assert abs(m - ref.mean().item()) < 0.02 and abs(s - ref.std().item()) < 0.02
    bound = math.sqrt(6 / 700)
    m, s, lo, hi = _stats(init.xavier_uniform_(w))
    assert -bound <= lo and hi <= bound and abs(s - bound / math.sqrt(3)) < 2e-3
    m, s, *_ = _stats(init.xavier_normal_(w, gain=2.0))
    assert abs(s - 2 * math.sqrt(2 / 700)) < 2e-3
    m, s, *_ = _stats(init.kaiming_normal_(w, mode="fan_out", nonlinearity="relu"))
    assert abs(s - math.sqrt(2 / 300)) < 2e-3
    m, s, lo, hi = _stats(init.kaiming_uniform_(w, a=math.sqrt(5)))
    assert hi <= 1 / math.sqrt(400) + 1e-7
    assert (init.constant_(w, 0.3).numpy() == np.float32(0.3)).all()
    assert (init.zeros_(w).numpy() == 0).all() and (init.ones_(w).numpy() == 1).all()
    assert w.dtype is ember.float32


def test_eye_orthogonal_dirac_identity_kept():
    w = ember.empty(3, 5)
    assert np.array_equal(init.eye_(w).numpy(), np.eye(3, 5, dtype=np.float32))
    q = init.orthogonal_(ember.empty(4, 6), gain=2.0).numpy()
    assert np.allclose(q @ q.T, 4 * np.eye(4), atol=1e-5)
    q = init.orthogonal_(ember.empty(6, 2, 2)).numpy().reshape(6, 4)
    assert np.allclose(q.T @ q, np.eye(4), atol=1e-5)
    d = ember.empty(4, 4, 3, 3)
    assert_same(init.dirac_(d), torch.nn.init.dirac_(torch.empty(4, 4, 3, 3)))
    p = nn.Parameter(ember.empty(3, 3))
    r = init.normal_(p)
    assert r is p and p.requires_grad and p.grad_fn is None


def _grads_pair():
    rng = np.random.default_rng(0)
    arrs = [rng.standard_normal(s).astype(np.float32) * 3 for s in [(3, 4), (5,)]]
    pe = [nn.Parameter(ember.zeros(a.shape)) for a in arrs]
    pt = [torch.nn.Parameter(torch.zeros(a.shape)) for a in arrs]
    for e, t, a in zip(pe, pt, arrs):
        e.grad = ember.tensor(a)
        t.grad = torch.tensor(a)
    return pe, pt


@pytest.mark.parametrize("norm_type", [2.0, 1.0, 3.0, math.inf])
def test_clip_grad_norm(norm_type):
    pe, pt = _grads_pair()
    ne = nn.utils.clip_grad_norm_(pe, 1.5, norm_type)
    nt = torch.nn.utils.clip_grad_norm_(pt, 1.5, norm_type)
    assert_same(ne, nt, 1e-5, 1e-5)
    for e, t in zip(pe, pt):
        assert_same(e.grad, t.grad, 1e-5, 1e-6)
    pe, pt = _grads_pair()
    nn.utils.clip_grad_norm_(pe, 1e6)
    torch.nn.utils.clip_grad_norm_(pt, 1e6)
    for e, t in zip(pe, pt):
        assert_same(e.grad, t.grad)


def test_clip_grad_value_and_vectors():
    pe, pt = _grads_pair()
    nn.utils.clip_grad_value_(pe, 0.7)
    torch.nn.utils.clip_grad_value_(pt, 0.7)
    for e, t in zip(pe, pt):
        assert_same(e.grad, t.grad)
    v = nn.utils.parameters_to_vector(pe)
    assert v.shape == (17,)
    nn.utils.vector_to_parameters(ember.arange(17, dtype=ember.float32), pe)
    assert pe[1].detach().numpy().tolist() == [12.0, 13.0, 14.0, 15.0, 16.0]
    m = nn.Linear(2, 2)
    nn.utils.clip_grad_norm_(m.parameters(), 1.0)  # no grads: no error


def test_pad_sequence():
    from ember.nn.utils.rnn import pad_sequence

    a = [ember.ones(2, 3), ember.ones(4, 3) * 2, ember.ones(1, 3) * 3]
    t = [torch.ones(2, 3), torch.ones(4, 3) * 2, torch.ones(1, 3) * 3]
    for kw in (dict(), dict(batch_first=True, padding_value=-1.0), dict(padding_side="left")):
        assert_same(pad_sequence(a, **kw), torch.nn.utils.rnn.pad_sequence(t, **kw))


def test_weight_norm_and_spectral_norm():
    import warnings

    warnings.simplefilter("ignore", FutureWarning)
    e = nn.utils.weight_norm(nn.Linear(3, 4))
    t = torch.nn.utils.weight_norm(torch.nn.Linear(3, 4))
    assert list(e.state_dict()) == list(t.state_dict())
    t.load_state_dict({k: torch.tensor(v.numpy()) for k, v in e.state_dict().items()})
    x = np.random.default_rng(0).standard_normal((2, 3)).astype(np.float32)
    ye, yt = e(ember.tensor(x)), t(torch.tensor(x))
    assert_same(ye, yt.detach(), 1e-5, 1e-6)
    ye.sum().backward()
    yt.sum().backward()
    assert_same(e.weight_g.grad, t.weight_g.grad, 1e-5, 1e-6)
    assert_same(e.weight_v.grad, t.weight_v.grad, 1e-5, 1e-6)
    nn.utils.remove_weight_norm(e)
    assert list(e.state_dict()) == ["bias", "weight"]
    s = nn.utils.spectral_norm(nn.Linear(5, 4))
    ts = torch.nn.utils.spectral_norm(torch.nn.Linear(5, 4))
    assert list(s.state_dict()) == list(ts.state_dict())
    for _ in range(60):
        s(ember.randn(2, 5))
    s.eval()
    ts.eval()
    ts.load_state_dict({k: torch.tensor(v.numpy()) for k, v in s.state_dict().items()})
    xx = np.random.default_rng(1).standard_normal((2, 5)).astype(np.float32)
    assert_same(s(ember.tensor(xx)), ts(torch.tensor(xx)).detach(), 1e-5, 1e-6)
    w = s.weight.detach().numpy()
    assert abs(np.linalg.svd(w, compute_uv=False)[0] - 1) < 0.1
