"""CUDA tests, continued: fused kernels, layers and CNN training, more ops, checkpoints of
optimizer state, the GPU benchmark's plumbing (stand-in unless marked ``gpu``)."""

from __future__ import annotations

import copy
import io

import numpy as np
import pytest

import ember
import ember.nn as nn
import ember.nn.functional as F
from tests._support.cuda import _MIXED, _backend_fixture, _host, _mlp, _on_cuda, _run_both, edev  # noqa: F401


def test_fused_kernels_run_on_device(cuda_backend):
    """Activations, losses and optimizer updates take the fused-kernel path on CUDA arrays."""
    for fn in (
        lambda a: a.relu(),
        lambda a: a.sigmoid(),
        lambda a: a.tanh(),
        lambda a: F.gelu(a),
        lambda a: F.gelu(a, approximate="tanh"),
    ):
        cuda_backend.reset()
        _run_both(fn, (6, 7))
        assert cuda_backend.stats["kernels"] >= 1
    for make in (
        lambda p: ember.optim.SGD(p, lr=0.1),
        lambda p: ember.optim.SGD(p, lr=0.1, momentum=0.9, dampening=0.1, maximize=True),
        lambda p: ember.optim.Adam(p, lr=0.1, weight_decay=0.1),
        lambda p: ember.optim.AdamW(p, lr=0.1, maximize=True),
    ):
        ember.manual_seed(0)
        wc = ember.randn(5, 3, requires_grad=True)
        wd = wc.detach().cuda().requires_grad_()
        oc, od = make([wc]), make([wd])
        cuda_backend.reset()
        for _ in range(3):
            for w, o in ((wc, oc), (wd, od)):
                o.zero_grad()
                F.mse_loss(w.tanh(), ember.ones(5, 3, device=w.device)).backward()
                o.step()
        assert cuda_backend.stats["kernels"] >= 3
        np.testing.assert_allclose(_host(wd), _host(wc), rtol=1e-5, atol=1e-6)


def test_kernel_references_match_numpy_ops():
    """The NumPy references the stand-in runs agree with ember's CPU ops."""
    from ember import _cuda_kernels as K

    x = np.random.default_rng(0).standard_normal((4, 5)).astype(np.float32)
    y = ember.from_numpy(x)
    np.testing.assert_allclose(K.REFERENCE["sigmoid_fw"](x), y.sigmoid().numpy(), rtol=1e-6)
    np.testing.assert_allclose(K.REFERENCE["gelu_fw"](x), F.gelu(y).numpy(), rtol=1e-5)
    assert set(K.REFERENCE) == set(K._SPECS)


def _kernel_args(name, rng):
    f = lambda *s: rng.standard_normal(s).astype(np.float32)  # noqa: E731
    return {
        "relu_bw": lambda: (f(64), f(64)),
        "sigmoid_fw": lambda: (f(64),),
        "sigmoid_bw": lambda: (f(64), rng.random(64).astype(np.float32)),
        "tanh_bw": lambda: (f(64), np.tanh(f(64))),
        "gelu_fw": lambda: (f(64),),
        "gelu_grad": lambda: (f(64),),
        "gelu_tanh_grad": lambda: (f(64),),
        "mse_bw": lambda: (f(64), np.float32(0.7) * np.ones((), np.float32), 0.25),
        "shift_exp": lambda: (f(8, 5), f(8, 1)),
        "log_normalize": lambda: (np.abs(f(8, 1)) + 1, f(8, 5), np.abs(f(8, 5))),
        "sgd_step": lambda: (f(64), 0.1, 0.01, 0.9, 0.9, -1.0, 0, 1, f(64), f(64)),
        "adam_step": lambda: (
            (f(64), 0.01, 0.9, 0.999, 0.3, 1e-8, 1.0, 0.01, 1.0, f(64), f(64)) + (np.abs(f(64)),)
        ),
    }[name]()


@pytest.mark.gpu
def test_gpu_kernels_match_references():
    import cupy

    _check_kernels(cupy)


def test_kernel_calls_through_stand_in(cuda_backend):
    """The kernel call plumbing (argument order, outputs) on the stand-in."""
    _check_kernels(cuda_backend)


def _check_kernels(cupy):
    from ember import _cuda_kernels as K

    K._built.clear()
    rng = np.random.default_rng(0)
    for name, ref in K.REFERENCE.items():
        args = _kernel_args(name, rng)
        dev = [cupy.asarray(a) if isinstance(a, np.ndarray) else a for a in args]
        want = ref(*[a.copy() if isinstance(a, np.ndarray) else a for a in args])
        got = getattr(K, name)(*dev)
        want = want if isinstance(want, tuple) else (want,)
        got = got if isinstance(got, tuple) else (got,)
        for w, g in zip(want, got):
            np.testing.assert_allclose(cupy.asnumpy(g), w, rtol=2e-5, atol=1e-6, err_msg=name)


def _cnn(sync_free: bool = False):
    """A small CNN; ``sync_free`` swaps in the pools that make no host round trip today."""
    return nn.Sequential(
        nn.Conv2d(1, 4, 3, padding=1),
        nn.BatchNorm2d(4),
        nn.ReLU(),
        nn.AvgPool2d(2) if sync_free else nn.MaxPool2d(2),
        nn.Conv2d(4, 6, 3),
        nn.AvgPool2d(1, 1) if sync_free else nn.AdaptiveAvgPool2d(2),
        nn.Flatten(),
        nn.Dropout(0.0),
        nn.Linear(24 if not sync_free else 54, 3),
    )


def _cnn_steps(backend, sync_free: bool):
    ember.manual_seed(0)
    mc = _cnn(sync_free)
    md = _cnn(sync_free).cuda()
    md.load_state_dict(mc.state_dict())
    oc = ember.optim.SGD(mc.parameters(), lr=0.1, momentum=0.9)
    od = ember.optim.SGD(md.parameters(), lr=0.1, momentum=0.9)
    x, y = ember.randn(4, 1, 10, 10), ember.randint(0, 3, (4,))
    xd, yd = x.cuda(), y.cuda()
    for i in range(3):
        if i == 2:
            backend.reset()
        for m, o, a, b in ((mc, oc, x, y), (md, od, xd, yd)):
            o.zero_grad()
            F.cross_entropy(m(a), b).backward()
            o.step()
    stats = dict(backend.stats)
    for pc, pd in zip(mc.state_dict().values(), md.state_dict().values()):
        assert pd.is_cuda
        np.testing.assert_allclose(_host(pd), _host(pc), rtol=1e-4, atol=1e-5)
    return stats


def test_cnn_step_with_max_and_adaptive_pool_is_sync_free(cuda_backend):
    """MaxPool scans with NaN propagation on the device (no host check for NaN), and the
    AvgPool divisors and adaptive-pool matrices are uploaded once and cached per device."""
    st = _cnn_steps(cuda_backend, sync_free=False)
    assert st["get"] == 0 and st["put"] == 0, st


def test_max_pool_nan_and_cached_constants_on_device(cuda_backend):
    x = np.random.default_rng(0).standard_normal((2, 3, 6, 6)).astype(np.float32)
    x[0, 1, 2, 3] = np.nan
    x[1, 2, 0, 0] = np.nan
    xc = ember.tensor(x, requires_grad=True)
    xd = ember.tensor(x).cuda().requires_grad_()
    for args in ((2,), (3, 2, 1)):
        (yc, ic), (yd, id_) = (F.max_pool2d(t, *args, return_indices=True) for t in (xc, xd))
        np.testing.assert_array_equal(_host(yd), _host(yc))  # NaN where torch puts NaN
        np.testing.assert_array_equal(_host(id_), _host(ic))
    for fn in (lambda t: F.avg_pool2d(t, 3, 2, 1), lambda t: F.adaptive_avg_pool2d(t, (4, 5))):
        cuda_backend.reset()
        fn(xd)  # the constants were uploaded once for this geometry ...
        first_puts = cuda_backend.stats["put"]
        fn(xd)  # ... and come from the cache after
        assert cuda_backend.stats["put"] == first_puts
        np.testing.assert_allclose(_host(fn(xd)), _host(fn(xc)), rtol=1e-6, atol=1e-6)


def test_cnn_and_layers_train_on_device(cuda_backend):
    """Convolution, pooling, norms and recurrent/attention layers run on CUDA tensors and match
    the CPU; a conv/avg-pool CNN training step makes no host copies."""
    _cnn_steps(cuda_backend, sync_free=False)  # values match with every pool
    st = _cnn_steps(cuda_backend, sync_free=True)
    assert st["get"] == 0 and st["asnumpy"] == 0 and st["put"] == 0, st
    for layer, shape in (
        (nn.LSTM(8, 4, batch_first=True), (2, 5, 8)),
        (nn.GRU(8, 4), (5, 2, 8)),
        (nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0, batch_first=True), (2, 5, 8)),
        (nn.ConvTranspose2d(1, 2, 3, stride=2), (2, 1, 5, 5)),
        (nn.Upsample(scale_factor=2, mode="bilinear"), (2, 1, 4, 4)),
        (nn.GroupNorm(2, 4), (2, 4, 3)),
    ):
        ember.manual_seed(0)
        ld = copy.deepcopy(layer).cuda()
        a = ember.randn(*shape, requires_grad=True)
        oc_, od_ = layer(a), ld(a.cuda())
        oc_ = oc_[0] if isinstance(oc_, tuple) else oc_
        od_ = od_[0] if isinstance(od_, tuple) else od_
        assert _on_cuda(od_)
        np.testing.assert_allclose(_host(od_), _host(oc_), rtol=1e-4, atol=1e-5)
        od_.sum().backward()
        assert all(p.grad is None or p.grad.is_cuda for p in ld.parameters())


def test_bench_gpu_runs_on_stand_in(capsys):
    """The GPU benchmark's plumbing (numbers from the stand-in mean nothing)."""
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_gpu.py"
    spec = importlib.util.spec_from_file_location("bench_gpu", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    assert mod.main(["--steps", "1", "--repeat", "1", "--batch", "8", "--workload", "seed"]) == 0
    assert "samples/s" in capsys.readouterr().out


@pytest.mark.parametrize(
    "fn",
    [
        lambda d, p: d[[0, 2]],
        lambda d, p: d[ember.tensor([0, 1])],  # a CPU index tensor on a CUDA tensor, as torch
        lambda d, p: d[d > 0],
        lambda d, p: ember.bernoulli(p),
        lambda d, p: p.clone().bernoulli_(0.3),
        lambda d, p: ember.multinomial(p, 2),
        lambda d, p: ember.poisson(p),
        lambda d, p: ember.normal(d, p),
        lambda d, p: d.clone().normal_(),
        lambda d, p: d.clone().uniform_(),
        lambda d, p: F.rrelu(d, training=True),
        lambda d, p: F.alpha_dropout(d, 0.2, True),
        lambda d, p: F.dropout2d(d[None, :, :, None], 0.5),
        lambda d, p: ember.isclose(d, d),
        lambda d, p: ember.isin(d, d),
        lambda d, p: ember.tensor(d),
        lambda d, p: ember.tensor([2, 3], device="cuda") ** ember.tensor([-1, 2], device="cuda"),
        lambda d, p: ember.where(d > 0, d, 0.0),
        lambda d, p: d.masked_fill(d > 0, ember.tensor(1.0)),
        lambda d, p: d.clone().add_(ember.tensor(1.0)),
        lambda d, p: F.embedding_bag(
            ember.tensor([0, 1, 2], device="cuda"), d, ember.tensor([0, 1], device="cuda")
        ),
        lambda d, p: nn.utils.parameters_to_vector(nn.Linear(5, 2).cuda().parameters()),
    ],
)
def test_more_ops_stay_on_device(fn):
    d = ember.randn(4, 5, device="cuda")
    p = ember.rand(4, 5, device="cuda")
    r = fn(d, p)
    assert _on_cuda(r), r.device


def test_cpu_checkpoint_maps_to_cuda():
    m = _mlp()
    buf = io.BytesIO()
    ember.save(m.state_dict(), buf)
    for loc in ("cuda", "cuda:0", ember.device("cuda:0"), {"cpu": "cuda:0"}):
        buf.seek(0)
        sd = ember.load(buf, map_location=loc)
        assert all(v.is_cuda for v in sd.values()), loc
    buf = io.BytesIO()
    ember.save({"t": ember.ones(2, device="cuda")}, buf)
    buf.seek(0)
    assert not ember.load(buf, map_location={"cuda:0": "cpu"})["t"].is_cuda


def test_optimizer_state_dict_across_devices():
    ember.manual_seed(0)
    m = _mlp().cuda()
    opt = ember.optim.Adam(m.parameters(), lr=0.1)
    F.mse_loss(m(ember.randn(4, 8, device="cuda")), ember.zeros(4, 4, device="cuda")).backward()
    opt.step()
    buf = io.BytesIO()
    ember.save(opt.state_dict(), buf)
    buf.seek(0)
    sd = ember.load(buf, map_location="cpu")
    mc = _mlp()
    oc = ember.optim.Adam(mc.parameters(), lr=0.1)
    oc.load_state_dict(sd)
    assert not any(v.is_cuda for st in oc.state.values() for v in st.values())
    od = ember.optim.Adam(_mlp().cuda().parameters(), lr=0.1)
    od.load_state_dict(sd)  # CPU state into a CUDA model: moved to the parameters' device
    assert all(st["exp_avg"].is_cuda and not st["step"].is_cuda for st in od.state.values())
