"""CUDA tensors: real-GPU checks (marked ``gpu``) and CPU-only checks through a CuPy stand-in.

The stand-in (``tests/fake_cupy.py``) is not CUDA: it only proves that ember's dispatch sends
CUDA tensors down the CuPy path, keeps them there, and raises torch's errors. Tests marked
``gpu`` repeat the numerical checks on a real device and are skipped without one
("no CUDA device: CuPy missing or no GPU"). More in ``test_cuda_layers.py``.
"""

from __future__ import annotations

import io
import sys

import numpy as np
import pytest

import ember
import ember.nn as nn
import ember.nn.functional as F
from tests._support.cuda import _MIXED, _backend_fixture, _host, _mlp, _on_cuda, _run_both, edev  # noqa: F401

S = (4, 5)
OPS = {
    "add": (lambda a, b: a + b, [S, S]),
    "sub_bcast": (lambda a, b: a - b, [S, (5,)]),
    "mul_scalar": (lambda a: a * 3 + 1, [S]),
    "div": (lambda a, b: a / (b.abs() + 1), [S, S]),
    "pow": (lambda a: a.abs() ** 1.5, [S]),
    "matmul": (lambda a, b: a @ b, [(4, 5), (5, 3)]),
    "bmm": (lambda a, b: ember.bmm(a, b), [(2, 4, 5), (2, 5, 3)]),
    "linear": (lambda x, w, b: F.linear(x, w, b), [(4, 5), (3, 5), (3,)]),
    "relu": (lambda a: a.relu(), [S]),
    "sigmoid": (lambda a: a.sigmoid(), [S]),
    "tanh": (lambda a: a.tanh(), [S]),
    "gelu": (lambda a: F.gelu(a), [S]),
    "gelu_tanh": (lambda a: F.gelu(a, approximate="tanh"), [S]),
    "silu": (lambda a: F.silu(a), [S]),
    "leaky_relu": (lambda a: F.leaky_relu(a, 0.1), [S]),
    "elu": (lambda a: F.elu(a), [S]),
    "softplus": (lambda a: F.softplus(a), [S]),
    "exp_log": (lambda a: a.exp().log1p(), [S]),
    "sqrt": (lambda a: (a.abs() + 1).sqrt(), [S]),
    "clamp": (lambda a: a.clamp(-0.5, 0.5), [S]),
    "softmax": (lambda a: F.softmax(a, dim=1), [S]),
    "log_softmax": (lambda a: F.log_softmax(a, dim=1), [S]),
    "sum": (lambda a: a.sum(), [S]),
    "sum_dim": (lambda a: a.sum(1, keepdim=True), [S]),
    "mean": (lambda a: a.mean(0), [S]),
    "var_std": (lambda a: (a.var(1), a.std(0)), [S]),
    "max_dim": (lambda a: a.max(1), [S]),
    "amax": (lambda a: a.amax(0), [S]),
    "argmax": (lambda a: a.argmax(1), [S]),
    "norm": (lambda a: a.norm(), [S]),
    "logsumexp": (lambda a: a.logsumexp(1), [S]),
    "cumsum": (lambda a: a.cumsum(1), [S]),
    "cat": (lambda a, b: ember.cat([a, b], 0), [S, S]),
    "stack": (lambda a, b: ember.stack([a, b], 1), [S, S]),
    "view_t": (lambda a: a.t().reshape(-1).unsqueeze(0), [S]),
    "permute": (lambda a: a.permute(2, 0, 1).contiguous(), [(2, 3, 4)]),
    "split": (lambda a: a.split(2, 1), [S]),
    "index": (lambda a: a[1:3, ::2], [S]),
    "where": (lambda a, b: ember.where(a > 0, a, b), [S, S]),
    "masked_fill": (lambda a: a.masked_fill(a > 0, 0.0), [S]),
    "gather": (lambda a, i: a.gather(1, i), [S, (4, 2)], {1}),
    "index_select": (lambda a, i: a.index_select(0, i.reshape(-1)), [S, (3,)], {1}),
    "adv_index": (lambda a, i: a[i.reshape(-1)], [S, (3,)], {1}),
    "embedding": (lambda w, i: F.embedding(i, w), [(5, 3), (2, 4)], {1}),
    "sort": (lambda a: a.sort(1)[0], [S]),
    "topk": (lambda a: a.topk(2, 1)[0], [S]),
    "mse": (lambda a, b: F.mse_loss(a, b), [S, S]),
    "l1": (lambda a, b: F.l1_loss(a, b), [S, S]),
    "smooth_l1": (lambda a, b: F.smooth_l1_loss(a, b), [S, S]),
    "cross_entropy": (lambda a, t: F.cross_entropy(a, t.reshape(-1)), [(4, 3), (4,)], {1}),
    "cross_entropy_ls": (
        lambda a, t: F.cross_entropy(a, t.reshape(-1), label_smoothing=0.1),
        [(4, 3), (4,)],
        {1},
    ),
    "nll": (lambda a, t: F.nll_loss(F.log_softmax(a, 1), t), [(4, 3), (4,)], {1}),
    "bce_logits": (lambda a, b: F.binary_cross_entropy_with_logits(a, b.sigmoid()), [S, S]),
    "bce": (lambda a, b: F.binary_cross_entropy(a.sigmoid(), b.sigmoid()), [S, S]),
    "layer_norm": (lambda a, w, b: F.layer_norm(a, (5,), w, b), [S, (5,), (5,)]),
    "batch_norm": (lambda a: F.batch_norm(a, None, None, training=True), [S]),
    "einsum": (lambda a, b: ember.einsum("ij,kj->ik", a, b), [S, (3, 5)]),
    "tril": (lambda a: a.tril(), [S]),
    "flip_roll": (lambda a: a.flip(0).roll(1, 1), [S]),
    "pad": (lambda a: F.pad(a, (1, 2)), [S]),
    "normalize": (lambda a: F.normalize(a, dim=1), [S]),
    "cosine_sim": (lambda a, b: F.cosine_similarity(a, b), [S, S]),
    "scatter_add": (
        lambda a, i: ember.zeros(4, 5, device=a.device).scatter_add(1, i, a[:, :2]),
        [S, (4, 2)],
        {1},
    ),
}


@pytest.mark.parametrize("name", sorted(OPS))
def test_op_on_device_matches_cpu(name):
    fn, shapes, *ints = OPS[name]
    _run_both(fn, *shapes, ints=ints[0] if ints else ())


@pytest.mark.parametrize(
    "fn",
    [
        lambda a, b: a + b,
        lambda a, b: b * a,
        lambda a, b: a @ b.t(),
        lambda a, b: ember.cat([a, b]),
        lambda a, b: ember.where(a > 0, a, b),
        lambda a, b: F.mse_loss(a, b),
        lambda a, b: F.cross_entropy(a, b.argmax(1)),
        lambda a, b: F.linear(a, b),
    ],
)
def test_mixed_devices_raise_torch_error(fn):
    a = ember.randn(3, 3, device="cuda")
    b = ember.randn(3, 3)
    with pytest.raises(RuntimeError, match=_MIXED):
        fn(a, b)
    with pytest.raises(RuntimeError, match="found at least two devices"):
        fn(a.requires_grad_(), b)


def test_cpu_scalar_tensor_joins_cuda_op():
    a = ember.ones(3, device="cuda")
    r = a + ember.tensor(2.0)
    assert r.device == ember.device("cuda:0") and r.tolist() == [3.0, 3.0, 3.0]


def test_moves_and_conversions():
    x = ember.arange(6.0).reshape(2, 3)
    for d in (x.cuda(), x.to("cuda"), x.to("cuda:0"), x.to(ember.device("cuda", 0)), x.cuda(0)):
        assert d.device == ember.device("cuda:0") and d.is_cuda and not d.is_cpu
        assert str(d.device) == "cuda:0"
    d = x.cuda()
    assert d.cuda() is d and d.to("cuda") is d
    assert x.to("cuda:1").device.index == 1
    with pytest.raises(TypeError, match="can't convert cuda:0 device type tensor to numpy"):
        d.numpy()
    assert d.cpu().numpy().tolist() == x.numpy().tolist()
    assert d.sum().item() == 15.0 and d.tolist() == x.tolist()
    assert float(d[1, 2]) == 5.0 and int(d[0, 1]) == 1
    assert "device='cuda:0'" in repr(d)
    assert d.pin_memory() is d and x.pin_memory().device.type == "cpu"
    y = d.to("cuda", ember.float64)
    assert y.dtype is ember.float64 and y.is_cuda
    assert d.double().is_cuda and d.half().is_cuda and d.long().is_cuda


def test_move_is_differentiable():
    x = ember.randn(3, requires_grad=True)
    (x.cuda() * 2).sum().backward()
    assert x.grad.device.type == "cpu" and x.grad.tolist() == [2.0, 2.0, 2.0]
    y = ember.randn(3, device="cuda", requires_grad=True)
    (y.cpu() * 3).sum().backward()
    assert y.grad.is_cuda


def test_constructors_take_device():
    cases = [
        ember.zeros(2, 3, device="cuda"),
        ember.ones(2, device="cuda"),
        ember.empty(2, device="cuda"),
        ember.full((2,), 3.0, device="cuda"),
        ember.eye(3, device="cuda"),
        ember.arange(5, device="cuda"),
        ember.linspace(0, 1, 5, device="cuda"),
        ember.tensor([1.0, 2.0], device="cuda"),
        ember.as_tensor([1, 2], device="cuda"),
        ember.randn(2, device="cuda"),
        ember.rand(2, device="cuda"),
        ember.randint(0, 5, (3,), device="cuda"),
        ember.randperm(4, device="cuda"),
        ember.zeros_like(ember.ones(2), device="cuda"),
        ember.ones_like(ember.ones(2, device="cuda")),
        ember.randn_like(ember.ones(2, device="cuda")),
        ember.empty(2, device="cuda").normal_(),
        ember.ones(2, device="cuda").new_zeros(3),
        ember.ones(2, device="cuda").new_tensor([1.0]),
    ]
    for t in cases:
        assert _on_cuda(t), t


def test_default_device_and_context():
    with ember.device("cuda"):
        assert ember.zeros(2).is_cuda and ember.randn(2).is_cuda
        assert nn.Linear(2, 3).weight.is_cuda
    assert not ember.zeros(2).is_cuda
    ember.set_default_device("cuda")
    try:
        assert ember.tensor([1.0]).is_cuda and ember.arange(3).is_cuda
    finally:
        ember.set_default_device("cpu")
    assert not ember.ones(1).is_cuda


def test_module_to_moves_params_buffers_grads():
    ember.manual_seed(0)
    m = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4))
    m(ember.randn(5, 3)).sum().backward()
    w = m[0].weight
    assert m.cuda() is m
    assert m[0].weight is w and w.is_cuda and w.grad.is_cuda
    assert m[1].running_mean.is_cuda and m[1].num_batches_tracked.is_cuda
    assert all(p.is_cuda for p in m.parameters())
    m.to("cpu")
    assert not w.is_cuda and not w.grad.is_cuda and not m[1].running_var.is_cuda
    m.to(ember.device("cuda:0"))
    assert m(ember.randn(5, 3, device="cuda")).is_cuda
    m.cpu()
    assert not m[0].bias.is_cuda


@pytest.mark.parametrize(
    "make",
    [
        lambda p: ember.optim.SGD(p, lr=0.1, momentum=0.9),
        lambda p: ember.optim.SGD(p, lr=0.1, momentum=0.9, nesterov=True, weight_decay=1e-3),
        lambda p: ember.optim.Adam(p, lr=1e-2),
        lambda p: ember.optim.AdamW(p, lr=1e-2, weight_decay=0.1),
        lambda p: ember.optim.RMSprop(p, lr=1e-2),
        lambda p: ember.optim.Adagrad(p, lr=1e-2),
    ],
)
def test_training_on_device_matches_cpu(make):
    ember.manual_seed(0)
    mc = _mlp()
    md = _mlp().cuda()
    md.load_state_dict(mc.state_dict())
    oc, od = make(mc.parameters()), make(md.parameters())
    x, y = ember.randn(32, 8), ember.randint(0, 4, (32,))
    xd, yd = x.cuda(), y.cuda()
    for _ in range(3):
        for m, o, a, b in ((mc, oc, x, y), (md, od, xd, yd)):
            o.zero_grad()
            loss = F.cross_entropy(m(a), b)
            loss.backward()
            o.step()
    for pc, pd in zip(mc.parameters(), md.parameters()):
        assert pd.is_cuda and pd.grad.is_cuda
        np.testing.assert_allclose(_host(pd), _host(pc), rtol=1e-4, atol=1e-5)
    for st in od.state.values():
        for v in st.values():
            if isinstance(v, ember.Tensor) and v.ndim:
                assert v.is_cuda


@pytest.mark.parametrize("name", ["SGD", "Adam"])
def test_optimizer_survives_module_move(name):
    """An optimizer built before ``model.cuda()`` (torch allows it) keeps working, even with
    state made on the CPU (moved to the parameters' device)."""
    ember.manual_seed(0)
    m = _mlp()
    if name == "SGD":
        opt = ember.optim.SGD(m.parameters(), lr=0.1, momentum=0.9)
    else:
        opt = ember.optim.Adam(m.parameters(), lr=0.1)
    x, y = ember.randn(16, 8), ember.randn(16, 4)
    F.mse_loss(m(x), y).backward()
    opt.step()
    m.cuda()
    for _ in range(2):
        opt.zero_grad()
        F.mse_loss(m(x.cuda()), y.cuda()).backward()
        opt.step()
    assert all(p.is_cuda for p in m.parameters())
    for st in opt.state.values():
        assert st["momentum_buffer" if name == "SGD" else "exp_avg"].is_cuda
    m.cpu()
    opt.zero_grad()
    F.mse_loss(m(x), y).backward()
    opt.step()
    assert not any(p.is_cuda for p in m.parameters())


def test_training_step_makes_no_host_copies(cuda_backend):
    ember.manual_seed(0)
    m = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Dropout(0.2), nn.Linear(16, 4)).cuda()
    opts = [
        ember.optim.SGD(m.parameters(), lr=0.1, momentum=0.9),
        ember.optim.Adam(m.parameters(), lr=1e-3),
    ]
    x, y = ember.randn(32, 8, device="cuda"), ember.randint(0, 4, (32,), device="cuda")
    yr = ember.randn(32, 4, device="cuda")
    for opt in opts:
        for loss_fn, target in ((F.cross_entropy, y), (F.mse_loss, yr)):
            opt.zero_grad()  # warm-up step builds the flat buffers
            loss_fn(m(x), target).backward()
            opt.step()
            cuda_backend.reset()
            for _ in range(2):
                opt.zero_grad()
                loss = loss_fn(m(x), target)
                loss.backward()
                nn.utils.clip_grad_norm_(m.parameters(), 1.0)
                opt.step()
            st = cuda_backend.stats
            assert st["get"] == 0 and st["asnumpy"] == 0 and st["put"] == 0, st
            loss.item()
            assert cuda_backend.stats["get"] + cuda_backend.stats["asnumpy"] >= 1


def test_checkpoint_from_cuda_loads_on_cpu():
    ember.manual_seed(0)
    m = _mlp().cuda()
    buf = io.BytesIO()
    ember.save({"model": m.state_dict(), "t": ember.ones(2, device="cuda")}, buf)
    assert b"cuda:0" in buf.getvalue()
    buf.seek(0)
    sd = ember.load(buf, map_location="cpu")
    assert not sd["t"].is_cuda and not sd["model"]["0.weight"].is_cuda
    m2 = _mlp()
    m2.load_state_dict(sd["model"])
    np.testing.assert_allclose(_host(m2[0].weight), _host(m[0].weight))
    buf.seek(0)
    sd = ember.load(buf)  # CUDA present: stays on the device, as torch
    assert sd["t"].is_cuda
    buf.seek(0)
    sd = ember.load(buf, map_location=lambda s, loc: s)
    assert not sd["t"].is_cuda
    md = _mlp().cuda()
    md.load_state_dict(_mlp().state_dict())  # CPU state into a CUDA model stays on CUDA
    assert md[0].weight.is_cuda


def test_checkpoint_from_cuda_without_cuda_needs_map_location(cuda_backend):
    m = _mlp().cuda()
    buf = io.BytesIO()
    ember.save(m.state_dict(), buf)
    edev._cupy, ember.cuda._available = None, False
    sys.modules["cupy"] = None  # CuPy not importable: a CPU-only machine
    buf.seek(0)
    with pytest.raises(RuntimeError, match="map_location"):
        ember.load(buf)
    buf.seek(0)
    sd = ember.load(buf, map_location="cpu")
    assert not sd["0.weight"].is_cuda


def test_cuda_api():
    c = ember.cuda
    assert c.is_available() and c.device_count() == 2 and c.current_device() == 0
    assert c.is_initialized()
    assert "stand-in" in c.get_device_name() and "stand-in" in c.get_device_name(0)
    assert c.get_device_capability() == (9, 0)
    p = c.get_device_properties(0)
    assert p.total_memory > 0 and p.major == 9 and "stand-in" in p.name
    with c.device(1):
        assert c.current_device() == 1
        assert ember.zeros(2, device="cuda").device.index == 1
    assert c.current_device() == 0
    c.set_device(1)
    assert c.current_device() == 1
    c.set_device("cuda:0")
    c.synchronize()
    c.manual_seed(3)
    c.manual_seed_all(3)
    c.seed_all()
    assert c.memory_allocated() >= 0 and c.max_memory_allocated() >= c.memory_allocated()
    assert c.memory_reserved() >= c.memory_allocated()
    c.reset_peak_memory_stats()
    c.empty_cache()
    s = c.Stream()
    e0, e1 = c.Event(enable_timing=True), c.Event(enable_timing=True)
    with c.stream(s):
        assert c.current_stream() is s
        e0.record()
        ember.ones(3, device="cuda").sum()
        e1.record()
    e1.synchronize()
    s.synchronize()
    assert e0.elapsed_time(e1) >= 0.0 and e1.query()
    assert c.current_stream() is not s
    a = ember.accelerator
    assert a.is_available() and a.device_count() == 2
    assert a.current_accelerator() == ember.device("cuda")
    assert a.current_device_index() == 0
    with a.device_index(1):
        assert a.current_device_index() == 1
    assert a.memory_allocated() >= 0 and a.memory_reserved() >= 0
    a.reset_peak_memory_stats()
    a.empty_cache()
    a.synchronize()


def test_cuda_api_without_cupy(monkeypatch):
    monkeypatch.setitem(sys.modules, "cupy", None)
    edev._cupy, ember.cuda._available = None, None
    assert ember.cuda.is_available() is False
    assert ember.cuda.device_count() == 0
    assert ember.accelerator.current_accelerator() is None
    ember.cuda.manual_seed_all(1)
    ember.cuda.synchronize()
    assert ember.cuda.memory_allocated() == 0
    with pytest.raises(AssertionError, match="CUDA"):
        ember.zeros(1, device="cuda")
    with pytest.raises(AssertionError, match="CUDA"):
        ember.ones(1).cuda()


# --- real GPU (skipped with the reason above where there is none) ----------------------------
@pytest.mark.gpu
@pytest.mark.parametrize("name", sorted(OPS))
def test_gpu_op_matches_cpu(name):
    fn, shapes, *ints = OPS[name]
    _run_both(fn, *shapes, ints=ints[0] if ints else ())


@pytest.mark.gpu
def test_gpu_training_matches_cpu():
    for make in (
        lambda p: ember.optim.SGD(p, lr=0.1, momentum=0.9),
        lambda p: ember.optim.Adam(p, lr=1e-2),
    ):
        test_training_on_device_matches_cpu(make)


@pytest.mark.gpu
def test_gpu_module_moves_and_checkpoint():
    test_module_to_moves_params_buffers_grads()
    test_moves_and_conversions_real()
    test_checkpoint_from_cuda_loads_on_cpu()


def test_moves_and_conversions_real():
    """Moves and conversions on device 0 (shared by the stand-in and the GPU test)."""
    x = ember.arange(6.0).reshape(2, 3)
    d = x.cuda()
    assert d.device == ember.device("cuda:0") and d.cuda() is d
    with pytest.raises(TypeError, match="can't convert cuda:0 device type tensor to numpy"):
        d.numpy()
    assert d.tolist() == x.tolist() and d.sum().item() == 15.0
    assert "device='cuda:0'" in repr(d)
    with pytest.raises(RuntimeError, match=_MIXED):
        d + x


@pytest.mark.gpu
def test_gpu_cuda_api():
    c = ember.cuda
    assert c.is_available() and c.device_count() >= 1
    assert isinstance(c.get_device_name(), str) and c.get_device_capability()[0] >= 3
    assert c.get_device_properties(0).total_memory > 0
    c.reset_peak_memory_stats()
    x = ember.ones(1 << 20, device="cuda")
    assert c.memory_allocated() >= 4 << 20 and c.max_memory_allocated() >= c.memory_allocated()
    assert c.memory_reserved() >= c.memory_allocated()
    s = c.Stream()
    e0, e1 = c.Event(enable_timing=True), c.Event(enable_timing=True)
    with c.stream(s):
        e0.record()
        y = (x * 2).sum()
        e1.record()
    e1.synchronize()
    assert e0.elapsed_time(e1) >= 0.0 and y.item() == 2.0 * (1 << 20)
    c.synchronize()
    del x, y
    c.empty_cache()
    c.manual_seed(1)
    a = F.dropout(ember.ones(1000, device="cuda"), 0.5)
    c.manual_seed(1)
    b = F.dropout(ember.ones(1000, device="cuda"), 0.5)
    assert a.tolist() == b.tolist()
