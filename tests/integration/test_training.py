"""End-to-end: the same networks, weights and data in ember and torch train to the same
parameters (forward, fused backward ops and optimizers together)."""

from __future__ import annotations

import numpy as np
import pytest

import ember
from tests._support.torch_ref import assert_same, torch


def _net(lib):
    nn = lib.nn

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.emb = nn.Embedding(11, 6, padding_idx=0)
            self.body = nn.Sequential(
                nn.Linear(6 * 4, 16),
                nn.LayerNorm(16),
                nn.GELU(),
                nn.Dropout(0.0),
                nn.Linear(16, 16, bias=False),
                nn.BatchNorm1d(16),
                nn.SiLU(),
                nn.Linear(16, 5),
            )
            self.scale = nn.Parameter(lib.ones(5))

        def forward(self, idx):
            h = self.emb(idx).flatten(1)
            return self.body(h) * self.scale

    return Net()


@pytest.mark.parametrize(
    "opt,kw",
    [
        ("SGD", dict(lr=0.05, momentum=0.9, nesterov=True)),
        ("AdamW", dict(lr=0.01)),
        ("RMSprop", dict(lr=0.001)),
    ],
)
def test_classifier_trains_like_torch(opt, kw):
    e, t = _net(ember), _net(torch)
    t.load_state_dict({k: torch.tensor(v.numpy()) for k, v in e.state_dict().items()})
    oe = getattr(ember.optim, opt)(e.parameters(), **kw)
    ot = getattr(torch.optim, opt)(t.parameters(), **kw)
    ce = ember.nn.CrossEntropyLoss(label_smoothing=0.05)
    ct = torch.nn.CrossEntropyLoss(label_smoothing=0.05)
    rng = np.random.default_rng(0)
    for _ in range(20):
        idx = rng.integers(0, 11, (8, 4))
        y = rng.integers(0, 5, 8)
        oe.zero_grad()
        ot.zero_grad()
        le = ce(e(ember.tensor(idx)), ember.tensor(y))
        lt = ct(t(torch.tensor(idx)), torch.tensor(y))
        assert abs(le.item() - lt.item()) < 1e-4
        le.backward()
        lt.backward()
        oe.step()
        ot.step()
    for pe, pt in zip(e.state_dict().values(), t.state_dict().values()):
        assert_same(pe, pt, 2e-4, 2e-5)
    e.eval()
    t.eval()
    idx = rng.integers(0, 11, (3, 4))
    with ember.no_grad():
        out = e(ember.tensor(idx))
    assert_same(out, t(torch.tensor(idx)).detach(), 2e-4, 2e-5)
    assert not out.requires_grad


def test_bce_regression_trains_like_torch():
    def make(lib):
        nn = lib.nn
        return nn.Sequential(nn.Linear(3, 8), nn.Tanh(), nn.Linear(8, 1))

    e, t = make(ember), make(torch)
    t.load_state_dict({k: torch.tensor(v.numpy()) for k, v in e.state_dict().items()})
    oe = ember.optim.Adam(e.parameters(), lr=0.01, amsgrad=True)
    ot = torch.optim.Adam(t.parameters(), lr=0.01, amsgrad=True)
    rng = np.random.default_rng(1)
    pw = np.array([2.0], np.float32)
    for _ in range(20):
        x = rng.standard_normal((16, 3)).astype(np.float32)
        y = (x.sum(1, keepdims=True) > 0).astype(np.float32)
        for o in (oe, ot):
            o.zero_grad()
        ember.nn.functional.binary_cross_entropy_with_logits(
            e(ember.tensor(x)), ember.tensor(y), pos_weight=ember.tensor(pw)
        ).backward()
        torch.nn.functional.binary_cross_entropy_with_logits(
            t(torch.tensor(x)), torch.tensor(y), pos_weight=torch.tensor(pw)
        ).backward()
        oe.step()
        ot.step()
    for pe, pt in zip(e.parameters(), t.parameters()):
        assert_same(pe, pt, 1e-4, 1e-5)
