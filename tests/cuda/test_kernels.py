"""The fused CUDA kernels (declared beside their ops, registered in ember/_backend/kernels.py):
taken on CUDA arrays, equal to their NumPy references, called correctly (through the CuPy
stand-in unless marked ``gpu``)."""

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
    assert set(K.REFERENCE) == set(K._SPECS) == set(K.KERNELS)


def test_every_kernel_is_registered_at_import():
    """``import ember`` registers every kernel (their ops' modules declare them) and builds none."""
    from ember._backend import kernels as K

    assert set(K.KERNELS) == set(_KERNEL_ARGS)
    assert K.KERNELS["relu_bw"].__module__ == "ember.ops.unary"
    assert K.KERNELS["gelu_fw"].__module__ == "ember.ops.activation"
    assert K.KERNELS["mse_bw"].__module__ == "ember.ops.loss"
    assert K.KERNELS["sgd_step"].__module__ == "ember.optim.sgd"
    assert K.KERNELS["adam_step"].__module__ == "ember.optim.adam"


def _f(rng, *shape):
    return rng.standard_normal(shape).astype(np.float32)


_KERNEL_ARGS = {  # name -> arguments for one call, from a random generator
    "relu_bw": lambda r: (_f(r, 64), _f(r, 64)),
    "sigmoid_fw": lambda r: (_f(r, 64),),
    "sigmoid_bw": lambda r: (_f(r, 64), r.random(64).astype(np.float32)),
    "tanh_bw": lambda r: (_f(r, 64), np.tanh(_f(r, 64))),
    "gelu_fw": lambda r: (_f(r, 64),),
    "gelu_grad": lambda r: (_f(r, 64),),
    "gelu_tanh_grad": lambda r: (_f(r, 64),),
    "mse_bw": lambda r: (_f(r, 64), np.float32(0.7) * np.ones((), np.float32), 0.25),
    "shift_exp": lambda r: (_f(r, 8, 5), _f(r, 8, 1)),
    "log_normalize": lambda r: (np.abs(_f(r, 8, 1)) + 1, _f(r, 8, 5), np.abs(_f(r, 8, 5))),
    "sgd_step": lambda r: (_f(r, 64), 0.1, 0.01, 0.9, 0.9, -1.0, 0, 1, _f(r, 64), _f(r, 64)),
    "adam_step": lambda r: (
        (_f(r, 64), 0.01, 0.9, 0.999, 0.3, 1e-8, 1.0, 0.01, 1.0, _f(r, 64), _f(r, 64))
        + (np.abs(_f(r, 64)),)
    ),
}


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
    assert set(K.KERNELS) == set(_KERNEL_ARGS)
    for name, ref in K.REFERENCE.items():
        args = _KERNEL_ARGS[name](rng)
        dev = [cupy.asarray(a) if isinstance(a, np.ndarray) else a for a in args]
        want = ref(*[a.copy() if isinstance(a, np.ndarray) else a for a in args])
        got = K.KERNELS[name](*dev)
        want = want if isinstance(want, tuple) else (want,)
        got = got if isinstance(got, tuple) else (got,)
        for w, g in zip(want, got):
            np.testing.assert_allclose(cupy.asnumpy(g), w, rtol=2e-5, atol=1e-6, err_msg=name)
