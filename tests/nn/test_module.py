"""nn.Module and containers against torch: registration, iteration, state_dict, repr, hooks."""

from __future__ import annotations

import copy
import pickle
from collections import OrderedDict

import numpy as np
import pytest

import ember
import ember.nn as nn
from tests._support.torch_ref import assert_same, torch

tnn = torch.nn


def _build(m):
    class Net(m.Module):
        def __init__(self):
            super().__init__()
            self.fc = m.Linear(4, 3)
            self.bn = m.BatchNorm1d(3)
            self.seq = m.Sequential(m.ReLU(), m.Linear(3, 2, bias=False), m.Dropout(0.2))
            self.register_buffer(
                "steps", m.Parameter(torch.zeros(1)).data if m is tnn else ember.zeros(1)
            )
            self.register_buffer("tmp", (torch if m is tnn else ember).ones(2), persistent=False)
            self.shared = self.fc

        def forward(self, x):
            return self.seq(self.bn(self.fc(x)))

    return Net()


def _copy_weights(src, dst):
    sd = {k: torch.tensor(v.numpy()) for k, v in src.state_dict().items()}
    dst.load_state_dict(sd)


def test_names_and_iteration_match_torch():
    e, t = _build(nn), _build(tnn)
    assert [k for k, _ in e.named_parameters()] == [k for k, _ in t.named_parameters()]
    assert [k for k, _ in e.named_buffers()] == [k for k, _ in t.named_buffers()]
    assert [k for k, _ in e.named_modules()] == [k for k, _ in t.named_modules()]
    assert [k for k, _ in e.named_children()] == [k for k, _ in t.named_children()]
    assert list(e.state_dict().keys()) == list(t.state_dict().keys())
    assert e.state_dict()._metadata == t.state_dict()._metadata
    assert [k for k, _ in e.named_parameters(prefix="p", recurse=False)] == []
    assert [k for k, _ in e.seq.named_parameters("seq")] == ["seq.1.weight"]
    assert len(list(e.parameters())) == 5  # shared fc counted once
    assert len(list(e.named_modules(remove_duplicate=False))) == len(
        list(t.named_modules(remove_duplicate=False))
    )
    assert repr(e) == repr(t)


def test_forward_backward_match_torch():
    e, t = _build(nn), _build(tnn)
    _copy_weights(e, t)
    x = np.random.default_rng(0).standard_normal((6, 4)).astype(np.float32)
    e.eval()
    t.eval()
    assert_same(e(ember.tensor(x)), t(torch.tensor(x)), 1e-5, 1e-6)
    e.train()
    t.train()
    e.seq[2].p = 0.0
    t.seq[2].p = 0.0
    ye, yt = e(ember.tensor(x)), t(torch.tensor(x))
    assert_same(ye, yt, 1e-4, 1e-5)
    ye.sum().backward()
    yt.sum().backward()
    for (_ke, pe), (_kt, pt) in zip(e.named_parameters(), t.named_parameters()):
        assert_same(pe.grad, pt.grad, 1e-4, 1e-5)
    assert_same(e.bn.running_mean, t.bn.running_mean)
    assert int(e.bn.num_batches_tracked.item()) == 1


def test_setattr_rules_and_errors():
    m = nn.Linear(2, 3)
    with pytest.raises(TypeError, match="cannot assign 'torch.FloatTensor' as parameter 'weight'"):
        m.weight = ember.zeros(3, 2)
    with pytest.raises(AttributeError, match="'Linear' object has no attribute 'foo'"):
        m.foo  # noqa: B018
    m.weight = None
    assert "weight" not in dict(m.named_parameters())
    s = nn.Sequential(nn.ReLU())
    with pytest.raises(TypeError, match="as child module '0'"):
        s[0] = 3  # noqa
    m = nn.Module()
    m.register_buffer("b", ember.ones(2))
    with pytest.raises(TypeError, match="as buffer 'b'"):
        m.b = 3
    m.b = ember.zeros(2)
    assert m._buffers["b"] is m.b
    with pytest.raises(KeyError, match="attribute 'b' already exists"):
        m.register_parameter("b", nn.Parameter(ember.ones(1)))
    m.p = nn.Parameter(ember.ones(1))
    m.c = nn.Linear(1, 1)
    del m.p, m.c
    assert not m._parameters and not m._modules
    assert "p" not in dir(m) and "b" in dir(m)


def test_state_dict_roundtrip_and_errors():
    e = _build(nn)
    sd = e.state_dict()
    assert "tmp" not in sd
    assert sd["fc.weight"].requires_grad is False
    assert e.state_dict(keep_vars=True)["fc.weight"] is e.fc.weight
    e2 = _build(nn)
    r = e2.load_state_dict(sd)
    assert repr(r) == "<All keys matched successfully>"
    assert np.array_equal(e2.fc.weight.detach().numpy(), e.fc.weight.detach().numpy())
    bad = OrderedDict(sd)
    del bad["fc.bias"]
    bad["extra.w"] = ember.zeros(1)
    bad["fc.weight"] = ember.zeros(5, 5)
    t = _build(tnn)
    tbad = OrderedDict((k, torch.tensor(v.numpy())) for k, v in bad.items())
    with pytest.raises(RuntimeError) as ee:
        e2.load_state_dict(bad)
    with pytest.raises(RuntimeError) as et:
        t.load_state_dict(tbad)
    assert str(ee.value) == str(et.value)
    res = e2.load_state_dict(
        OrderedDict((k, v) for k, v in sd.items() if k != "fc.bias"), strict=False
    )
    tres = t.load_state_dict(
        OrderedDict((k, torch.tensor(v.numpy())) for k, v in sd.items() if k != "fc.bias"),
        strict=False,
    )
    assert res.missing_keys == tres.missing_keys == ["fc.bias"]
    assert res.unexpected_keys == []


def test_load_torch_state_dict_into_ember():
    t = tnn.Linear(3, 2)
    e = nn.Linear(3, 2)
    e.load_state_dict(t.state_dict())
    assert_same(e.weight, t.weight)


def test_train_eval_requires_grad_zero_grad():
    e = _build(nn)
    e.eval()
    assert not any(m.training for m in e.modules())
    e.train()
    assert all(m.training for m in e.modules())
    e.requires_grad_(False)
    assert not any(p.requires_grad for p in e.parameters())
    e.requires_grad_(True)
    e(ember.randn(5, 4)).sum().backward()
    e.zero_grad(set_to_none=False)
    assert all((p.grad.numpy() == 0).all() for p in e.parameters())
    e.zero_grad()
    assert all(p.grad is None for p in e.parameters())


def test_to_double_float_keeps_identity():
    e = nn.Linear(3, 2)
    w = e.weight
    e.double()
    assert e.weight is w and w.dtype is ember.float64
    e.to(ember.float32)
    assert w.dtype is ember.float32
    e.half().float()
    assert e.to("cpu") is e
    with pytest.raises(TypeError):
        e.to(ember.int64)


def test_apply_get_submodule_children():
    e = _build(nn)
    seen = []
    e.apply(lambda m: seen.append(type(m).__name__))
    assert seen[-1] == "Net" and seen[0] == "Linear"
    assert e.get_submodule("seq.1") is e.seq[1]
    with pytest.raises(AttributeError):
        e.get_submodule("seq.9")
    assert e.get_parameter("seq.1.weight") is e.seq[1].weight
    assert len(list(e.children())) == 3


def test_hooks():
    m = nn.Linear(3, 2)
    calls = []
    h1 = m.register_forward_pre_hook(lambda mod, args: (args[0] * 2,))
    h2 = m.register_forward_hook(lambda mod, args, out: out + 1)
    x = ember.ones(1, 3)
    y = m(x)
    ref = (x * 2).matmul(m.weight.t()) + m.bias + 1
    assert np.allclose(y.detach().numpy(), ref.detach().numpy())
    h1.remove()
    h2.remove()
    assert np.allclose(m(x).detach().numpy(), (x.matmul(m.weight.t()) + m.bias).detach().numpy())

    tm = tnn.Linear(3, 2)
    tm.load_state_dict({k: torch.tensor(v.numpy()) for k, v in m.state_dict().items()})
    tcalls = []
    m.register_full_backward_hook(lambda mod, gi, go: calls.append((gi, go)))
    tm.register_full_backward_hook(lambda mod, gi, go: tcalls.append((gi, go)))
    xe = ember.ones(2, 3, requires_grad=True)
    xt = torch.ones(2, 3, requires_grad=True)
    (m(xe) * 3).sum().backward()
    (tm(xt) * 3).sum().backward()
    assert len(calls) == len(tcalls) == 1
    assert_same(calls[0][0][0], tcalls[0][0][0])
    assert_same(calls[0][1][0], tcalls[0][1][0])
    assert_same(xe.grad, xt.grad)


def test_global_forward_hook():
    seen = []
    h = nn.modules.module.register_module_forward_hook(lambda m, a, o: seen.append(m))
    try:
        nn.Sequential(nn.ReLU())(ember.ones(1))
    finally:
        h.remove()
    assert len(seen) == 2


class _Shared(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 3)
        self.shared = self.fc
        self.register_buffer("b", ember.ones(2))


def test_deepcopy_and_pickle():
    e = _Shared()
    for c in (copy.deepcopy(e), pickle.loads(pickle.dumps(e))):
        assert c.fc is not e.fc and c.fc is c.shared
        assert c.fc.weight is c._modules["fc"]._parameters["weight"]
        assert np.array_equal(c.fc.weight.detach().numpy(), e.fc.weight.detach().numpy())
        c.fc.weight = nn.Parameter(ember.zeros(3, 4))
        assert c.fc._parameters["weight"] is c.fc.weight
        assert list(c.state_dict().keys()) == list(e.state_dict().keys())


def test_sequential_ops():
    s = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1))
    assert len(s) == 3 and isinstance(s[-1], nn.Linear)
    assert isinstance(s[:2], nn.Sequential) and len(s[:2]) == 2
    s.append(nn.Sigmoid())
    assert [type(m).__name__ for m in s] == ["Linear", "ReLU", "Linear", "Sigmoid"]
    del s[1]
    assert list(s._modules) == ["0", "1", "2"]
    s.insert(1, nn.Tanh())
    assert type(s[1]).__name__ == "Tanh"
    o = nn.Sequential(OrderedDict([("a", nn.ReLU()), ("b", nn.Linear(2, 2))]))
    assert list(o.state_dict()) == ["b.weight", "b.bias"]
    assert o.a is o[0]
    t = tnn.Sequential(OrderedDict([("a", tnn.ReLU()), ("b", tnn.Linear(2, 2))]))
    assert repr(o) == repr(t)
    with pytest.raises(IndexError):
        s[10]  # noqa: B018


def test_modulelist_moduledict_repr_and_api():
    ml = nn.ModuleList([nn.Linear(2, 3) for _ in range(3)] + [nn.ReLU()])
    tl = tnn.ModuleList([tnn.Linear(2, 3) for _ in range(3)] + [tnn.ReLU()])
    assert repr(ml) == repr(tl)
    ml.append(nn.Tanh())
    ml.extend([nn.Sigmoid()])
    assert len(ml) == 6 and isinstance(ml[-1], nn.Sigmoid)
    assert len(list(ml.parameters())) == 6
    md = nn.ModuleDict({"b": nn.ReLU(), "a": nn.Linear(1, 1)})
    td = tnn.ModuleDict({"b": tnn.ReLU(), "a": tnn.Linear(1, 1)})
    assert repr(md) == repr(td)
    assert list(md.keys()) == ["b", "a"] and "a" in md
    md["c"] = nn.Tanh()
    assert md.pop("c").__class__.__name__ == "Tanh"


def test_parameter_list_dict():
    pl = nn.ParameterList([nn.Parameter(ember.zeros(2, 3)), ember.zeros(2, dtype=ember.float64)])
    tl = tnn.ParameterList([tnn.Parameter(torch.zeros(2, 3)), torch.zeros(2, dtype=torch.float64)])
    assert repr(pl) == repr(tl)
    assert isinstance(pl[1], nn.Parameter) and len(pl) == 2
    assert [k for k, _ in pl.named_parameters()] == ["0", "1"]
    pd = nn.ParameterDict({"a": nn.Parameter(ember.zeros(2, 3))})
    td = tnn.ParameterDict({"a": tnn.Parameter(torch.zeros(2, 3))})
    assert repr(pd) == repr(td)
    pd["b"] = ember.ones(1)
    assert list(pd.keys()) == ["a", "b"] and isinstance(pd["b"], nn.Parameter)
    assert list(dict(pd.named_parameters())) == ["a", "b"]


LAYER_REPRS = [
    "Linear(3, 4)",
    "Linear(3, 4, bias=False)",
    "Bilinear(2, 3, 4)",
    "Identity()",
    "Flatten()",
    "Unflatten(1, (2, 5))",
    "Softmax(dim=1)",
    "Softmax()",
    "LogSoftmax(1)",
    "ReLU(inplace=True)",
    "ReLU()",
    "Dropout(0.3)",
    "Dropout2d()",
    "LeakyReLU()",
    "PReLU()",
    "ELU()",
    "SELU()",
    "CELU()",
    "GELU()",
    "GELU('tanh')",
    "SiLU()",
    "Mish()",
    "Hardtanh()",
    "ReLU6()",
    "Hardsigmoid()",
    "Hardswish()",
    "Softplus()",
    "Softsign()",
    "Threshold(0.1, 20)",
    "Embedding(10, 3)",
    "Embedding(10, 3, padding_idx=0, max_norm=1.0)",
    "LayerNorm(4)",
    "BatchNorm1d(4)",
    "BatchNorm2d(4, affine=False, track_running_stats=False)",
    "GroupNorm(2, 4)",
    "RMSNorm(4)",
    "RMSNorm([4], eps=1e-5)",
    "Tanh()",
    "Sigmoid()",
    "Softshrink()",
    "GLU()",
    "Dropout1d()",
    "AlphaDropout()",
    "MSELoss()",
    "L1Loss()",
    "NLLLoss()",
    "BCELoss()",
    "BCEWithLogitsLoss()",
    "HuberLoss()",
    "SmoothL1Loss()",
    "LPPool3d(2, 3)",
    "LPPool3d(1.5, (2, 3, 2), stride=1, ceil_mode=True)",
    "AdaptiveLogSoftmaxWithLoss(8, 10, [3, 6])",
    "AdaptiveLogSoftmaxWithLoss(8, 10, [3], div_value=2.0, head_bias=True)",
]


@pytest.mark.parametrize("expr", LAYER_REPRS)
def test_layer_repr_and_state_keys(expr):
    e = eval("nn." + expr)
    t = eval("tnn." + expr)
    assert repr(e) == repr(t)
    assert list(e.state_dict()) == list(t.state_dict())
    assert e.state_dict()._metadata == t.state_dict()._metadata
    for (ke, pe), (_kt, pt) in zip(e.state_dict().items(), t.state_dict().items()):
        assert tuple(pe.shape) == tuple(pt.shape) and str(pe.dtype) == str(pt.dtype), ke


def test_linear_init_distribution():
    ember.manual_seed(1)
    m = nn.Linear(400, 300)
    w = m.weight.detach().numpy()
    bound = 1 / np.sqrt(400)
    assert w.min() >= -bound and w.max() <= bound and abs(w.std() - bound / np.sqrt(3)) < 1e-3
    assert m.weight.dtype is ember.float32
    assert nn.Linear(2, 2, dtype=ember.float64).weight.dtype is ember.float64


@pytest.mark.parametrize("cls", ["BatchNorm1d", "BatchNorm2d"])
def test_batchnorm_module_train_eval(cls):
    shape = (6, 3) if cls == "BatchNorm1d" else (4, 3, 2, 2)
    e = getattr(nn, cls)(3, momentum=0.3)
    t = getattr(tnn, cls)(3, momentum=0.3)
    x = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
    for _ in range(3):
        assert_same(e(ember.tensor(x)), t(torch.tensor(x)), 1e-4, 1e-5)
    for k in ("running_mean", "running_var", "num_batches_tracked"):
        assert_same(getattr(e, k), getattr(t, k), 1e-5, 1e-6)
    e.eval()
    t.eval()
    assert_same(e(ember.tensor(x)), t(torch.tensor(x)), 1e-4, 1e-5)
    e2 = getattr(nn, cls)(3, momentum=None)
    t2 = getattr(tnn, cls)(3, momentum=None)
    for _ in range(2):
        e2(ember.tensor(x))
        t2(torch.tensor(x))
    assert_same(e2.running_var, t2.running_var, 1e-5, 1e-6)


def test_embedding_module():
    e = nn.Embedding(5, 3, padding_idx=1)
    assert (e.weight.detach().numpy()[1] == 0).all()
    out = e(ember.tensor([[1, 2], [4, 1]]))
    assert out.shape == (2, 2, 3)
    out.sum().backward()
    assert (e.weight.grad.numpy()[1] == 0).all()
    pre = nn.Embedding.from_pretrained(ember.ones(4, 2))
    assert not pre.weight.requires_grad


def test_activation_modules_forward():
    x = np.linspace(-3, 3, 12, dtype=np.float32).reshape(3, 4)
    for expr in [
        "ReLU()",
        "ReLU6()",
        "LeakyReLU(0.2)",
        "ELU()",
        "SELU()",
        "CELU(0.5)",
        "GELU()",
        "SiLU()",
        "Mish()",
        "Hardtanh(-2, 2)",
        "Hardsigmoid()",
        "Hardswish()",
        "Softplus()",
        "Softsign()",
        "Threshold(0.5, -1)",
        "Sigmoid()",
        "Tanh()",
        "Softmax(1)",
        "LogSoftmax(dim=1)",
        "PReLU()",
        "Flatten(0)",
        "Unflatten(1, (2, 2))",
        "Identity(3, k=2)",
    ]:
        e, t = eval("nn." + expr), eval("tnn." + expr)
        assert_same(e(ember.tensor(x)), t(torch.tensor(x)), 1e-5, 1e-6)


def test_inplace_relu_module():
    x = ember.randn(3, 4)
    y = nn.ReLU(inplace=True)(x)
    assert y is x and (x.numpy() >= 0).all()


def _noop_hook(*args):
    return None


def test_pickle_state_is_torch_layout():
    m = nn.Sequential(nn.Linear(2, 3), nn.BatchNorm1d(3))
    m.register_forward_hook(_noop_hook)
    st = m.__getstate__()
    assert type(st["_modules"]) is dict and "0" not in st and "_hooks_on" not in st
    sub = m[0].__getstate__()
    assert type(sub["_parameters"]) is dict and "weight" not in sub
    c = pickle.loads(pickle.dumps(m))
    assert c[0].weight is c[0]._parameters["weight"] and c._hooks_on
    x = ember.randn(4, 2)
    m.eval()
    c.eval()
    assert np.allclose(c(x).detach().numpy(), m(x).detach().numpy())
    # a state as torch pickles it (plain dicts, some hook dicts absent) loads
    t = nn.Linear.__new__(nn.Linear)
    st = nn.Linear(2, 2).__getstate__()
    del st["_forward_hooks_always_called"]
    t.__setstate__(st)
    assert t.weight is t._parameters["weight"] and t(ember.ones(1, 2)).shape == (1, 2)


def test_backward_pre_hook_kwargs_hooks_and_assign():
    m = nn.Linear(3, 2)
    seen = []
    m.register_full_backward_pre_hook(lambda mod, go: (go[0] * 2,))
    m.register_full_backward_hook(lambda mod, gi, go: seen.append(go[0].numpy().copy()))
    x = ember.ones(1, 3, requires_grad=True)
    m(x).sum().backward()
    assert np.allclose(seen[0], 2.0)
    assert np.allclose(x.grad.numpy(), 2 * m.weight.detach().numpy().sum(0))
    k = nn.Linear(3, 2)
    k.register_forward_pre_hook(lambda mod, a, kw: ((a[0] * 0,), kw), with_kwargs=True)
    k.register_forward_hook(lambda mod, a, kw, out: out * 3, with_kwargs=True)
    assert np.allclose(k(ember.ones(1, 3)).detach().numpy(), 3 * k.bias.detach().numpy())
    src = nn.Linear(3, 2).state_dict()
    dst = nn.Linear(3, 2)
    dst.load_state_dict(src, assign=True)
    assert dst.weight.data_ptr() == src["weight"].data_ptr() and dst.weight.requires_grad
    assert isinstance(dst.weight, nn.Parameter)
