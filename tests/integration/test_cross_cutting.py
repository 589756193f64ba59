"""Cross-cutting checks: pieces written apart working together as a torch user expects."""

import io
import pickle

import numpy as np

import ember
from tests._support.torch_ref import assert_same, to_torch, torch


def test_bfloat16_autograd_matches_torch():
    a = ember.randn(5, dtype=ember.bfloat16, requires_grad=True)
    (a * a).sum().backward()
    ta = to_torch(a.detach()).requires_grad_(True)
    (ta * ta).sum().backward()
    assert_same(a.grad, ta.grad, rtol=1e-2, atol=1e-2)


def test_gradgradcheck_on_composite_functions():
    x = ember.randn(4, dtype=ember.float64, requires_grad=True)
    assert ember.autograd.gradgradcheck(lambda t: (t.exp() * t.tanh()).sum(), (x,))
    assert ember.autograd.gradgradcheck(lambda t: (t**3).sum(), (x,))


def test_torch_pickled_batchnorm_module_loads_and_prints():
    bn = torch.nn.BatchNorm2d(3)
    buf = io.BytesIO()
    torch.save(bn, buf)
    buf.seek(0)
    m = ember.load(buf, weights_only=False)
    assert repr(m) == repr(bn)
    x = ember.randn(2, 3, 4, 4)
    m.eval()
    bn.eval()
    assert_same(m(x), bn(to_torch(x)), atol=1e-5)


def test_top_level_softmax_family_and_data_parallel():
    x = ember.randn(3, 4)
    assert_same(ember.softmax(x, 1), torch.softmax(to_torch(x), 1))
    assert_same(x.log_softmax(-1), to_torch(x).log_softmax(-1))
    lin = ember.nn.Linear(4, 2)
    dp = ember.nn.DataParallel(lin)
    np.testing.assert_array_equal(dp(x).detach().numpy(), lin(x).detach().numpy())


def test_training_state_survives_pickle_roundtrip():
    model = ember.nn.Sequential(ember.nn.Linear(4, 3), ember.nn.ReLU(), ember.nn.Linear(3, 1))
    opt = ember.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    x, y = ember.randn(8, 4), ember.randn(8, 1)
    for _ in range(3):
        opt.zero_grad()
        ember.nn.functional.mse_loss(model(x), y).backward()
        opt.step()
    clone = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(clone(x).detach().numpy(), model(x).detach().numpy())


def test_special_functions_without_scipy_match_torch(monkeypatch):
    """SciPy is optional: the NumPy fallbacks of erf, erfinv and sigmoid give torch's values."""
    from ember.ops import unary

    for name in ("_sp_erf", "_sp_erfinv", "_sp_expit"):
        monkeypatch.setattr(unary, name, None)
    vals = [-1.5, -1.0, -0.999, -0.3, 0.0, 0.25, 0.9, 1.0, 2.0, float("nan")]
    for dt in ("float32", "float64"):
        e = ember.tensor(vals, dtype=getattr(ember, dt))
        t = torch.tensor(vals, dtype=getattr(torch, dt))
        for fn in ("erf", "erfinv", "sigmoid"):
            with np.errstate(all="ignore"):
                assert_same(getattr(ember, fn)(e), getattr(torch, fn)(t), rtol=1e-5, atol=1e-6)
    b = ember.tensor([True, False])
    assert_same(ember.erfinv(b), torch.erfinv(torch.tensor([True, False])))
