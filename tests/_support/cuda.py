"""Shared pieces of the CUDA tests: the backend fixture (the CuPy stand-in for unmarked tests,
the real GPU or a skip for tests marked ``gpu``) and CPU-vs-device comparison helpers."""

from __future__ import annotations

import contextlib
import sys

import numpy as np
import pytest

import ember
import ember._backend.kernels
import ember._backend.xp
import ember.cuda
import ember.nn as nn
from tests._support import fake_cupy

_NO_GPU = "no CUDA device: CuPy missing or no GPU"
edev = sys.modules["ember._backend.xp"]  # holds the loaded CuPy module


def _real_gpu() -> bool:
    try:
        import cupy

        return cupy.cuda.runtime.getDeviceCount() > 0
    except Exception:
        return False


@contextlib.contextmanager
def stand_in():
    """The CuPy stand-in installed as ``cupy`` for the block (CUDA tensors without a GPU), the
    previous module and ember's CUDA state restored afterwards."""
    saved = sys.modules.get("cupy"), edev._cupy, ember.cuda._available
    sys.modules["cupy"] = fake_cupy
    edev._cupy = fake_cupy
    ember.cuda._available = None
    fake_cupy.reset()
    try:
        yield fake_cupy
    finally:
        if saved[0] is None:
            sys.modules.pop("cupy", None)
        else:
            sys.modules["cupy"] = saved[0]
        edev._cupy, ember.cuda._available = saved[1], saved[2]


@pytest.fixture(autouse=True, name="cuda_backend")
def _backend_fixture(request):
    """Install the stand-in as ``cupy`` for unmarked tests; gpu tests need the real thing."""
    if request.node.get_closest_marker("gpu"):
        if not _real_gpu():
            pytest.skip(_NO_GPU)
        yield None
        return
    try:
        with stand_in() as fake:
            yield fake
    finally:
        ember._backend.kernels._built.clear()  # stand-in kernels must not reach a real GPU
        ember.set_default_device(None)


def _on_cuda(x) -> bool:
    return type(x._data) is not np.ndarray and x.device.type == "cuda"


def _host(x):
    return x.detach().cpu().numpy()


def _run_both(fn, *shapes, grad=True, ints=()):
    """fn on CPU inputs and on CUDA copies: same values, same grads, outputs on CUDA."""
    ember.manual_seed(0)
    cpu = []
    for i, s in enumerate(shapes):
        if i in ints:
            cpu.append(ember.randint(0, 3, s))
        else:
            cpu.append(ember.randn(*s, requires_grad=grad))
    dev = [x.detach().cuda().requires_grad_(x.requires_grad) for x in cpu]
    yc, yd = fn(*cpu), fn(*dev)
    yc = yc if isinstance(yc, (tuple, list)) else (yc,)
    yd = yd if isinstance(yd, (tuple, list)) else (yd,)
    for a, b in zip(yc, yd):
        if isinstance(a, ember.Tensor):
            assert _on_cuda(b), "result left the device"
            assert a.dtype == b.dtype and a.shape == b.shape
            np.testing.assert_allclose(_host(b), _host(a), rtol=1e-4, atol=1e-5)
    if grad and isinstance(yc[0], ember.Tensor) and yc[0].requires_grad:
        w = ember.randn(*yc[0].shape)
        (yc[0] * w).sum().backward()
        (yd[0] * w.cuda()).sum().backward()
        for a, b in zip(cpu, dev):
            if a.grad is not None:
                assert _on_cuda(b.grad)
                np.testing.assert_allclose(_host(b.grad), _host(a.grad), rtol=1e-4, atol=1e-5)


_MIXED = (
    "Expected all tensors to be on the same device, but found at least two devices, cuda:0 and cpu!"
)


def _mlp():
    return nn.Sequential(
        nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 16), nn.Tanh(), nn.Linear(16, 4)
    )
