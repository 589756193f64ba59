"""The fused CUDA kernels (ember/_backend/kernels.py): taken on CUDA arrays, equal to their NumPy
references, called correctly (through the CuPy stand-in unless marked ``gpu``)."""

from __future__ import annotations

import numpy as np
import pytest

import ember
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
    from ember._backend import kernels as K

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
    from ember._backend import kernels as K

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
