"""Autocast and GradScaler on CUDA tensors (the CuPy stand-in of tests/_support, or a real GPU):
float16 for the lower-precision list and float32 for the fp32 list, CPU tensors left alone, and a
CUDA GradScaler that stays enabled and keeps its scale on the GPU."""

from __future__ import annotations

import numpy as np

import ember
import ember.nn.functional as F
from tests._support.cuda import _backend_fixture  # noqa: F401  (the CuPy stand-in, autouse)


def test_cuda_region_casts_cuda_tensors_to_float16():
    a = ember.randn(4, 4).cuda()
    c = ember.randn(4, 4)
    with ember.autocast("cuda"):
        assert ember.is_autocast_enabled() and ember.get_autocast_dtype("cuda") == ember.float16
        y = ember.mm(a, a)
        assert y.dtype == ember.float16 and y.device.type == "cuda"
        assert F.linear(a, a).dtype == ember.float16
        assert F.mse_loss(y, y).dtype == ember.float32  # the fp32 list takes float16 back up
        assert ember.mm(c, c).dtype == ember.float32  # CPU tensors: CPU autocast is off
    np.testing.assert_allclose(
        y.float().cpu().numpy(), (a.cpu() @ a.cpu()).numpy(), rtol=1e-2, atol=1e-2
    )


def test_cuda_grad_scaler_is_enabled_and_skips_inf_steps():
    w = ember.ones(3, device="cuda", requires_grad=True)
    opt = ember.optim.SGD([w], lr=0.1)
    scaler = ember.amp.GradScaler("cuda", init_scale=4.0)
    assert scaler.is_enabled()
    scaler.scale((w * 2).sum()).backward()
    assert float(w.grad[0].item()) == 8.0
    w.grad[1] = float("inf")
    scaler.step(opt)
    scaler.update()
    assert w.detach().cpu().tolist() == [1.0, 1.0, 1.0]
    assert scaler.get_scale() == 2.0 and scaler._scale.device.type == "cuda"
