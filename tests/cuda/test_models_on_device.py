"""Whole models on CUDA against the same models on the CPU: torchvision's architectures, the
recurrent layers and the Transformer, a forward and a backward each, with the same weights and
inputs. They reach ops that no single-op test combines (grouped and depthwise convolutions,
adaptive pooling, squeeze-excitation, stochastic depth in eval, attention, packed gates).

Unmarked tests run a few small ones on the CuPy stand-in (the dispatch, and no host arrays
mixed in); the ``gpu`` tests run every architecture on a real device.
"""

from __future__ import annotations

import copy

import numpy as np
import pytest

import ember
import ember.nn as nn
from ember.vision import models
from tests._support.cuda import _backend_fixture, _host, _on_cuda  # noqa: F401

# (builder, input shape): inputs small enough for a CPU reference in about a second (VGG and
# AlexNet are left out: their 100M-parameter classifiers take 5-15 s on a CPU and add no op)
VISION = {
    "resnet18": (lambda: models.resnet18(num_classes=10), (2, 3, 32, 32)),
    "resnext50_32x4d": (lambda: models.resnext50_32x4d(num_classes=10), (2, 3, 32, 32)),
    "squeezenet1_1": (lambda: models.squeezenet1_1(num_classes=10), (2, 3, 64, 64)),
    "densenet121": (lambda: models.densenet121(num_classes=10), (2, 3, 32, 32)),
    "mobilenet_v2": (lambda: models.mobilenet_v2(num_classes=10), (2, 3, 32, 32)),
    "mobilenet_v3_small": (lambda: models.mobilenet_v3_small(num_classes=10), (2, 3, 32, 32)),
    "efficientnet_b0": (lambda: models.efficientnet_b0(num_classes=10), (2, 3, 32, 32)),
    "shufflenet_v2_x1_0": (lambda: models.shufflenet_v2_x1_0(num_classes=10), (2, 3, 32, 32)),
    "googlenet": (
        lambda: models.googlenet(num_classes=10, aux_logits=False, init_weights=True),
        (2, 3, 64, 64),
    ),
    "convnext_tiny": (lambda: models.convnext_tiny(num_classes=10), (2, 3, 32, 32)),
    "vit_b_16": (lambda: models.vit_b_16(num_classes=10, image_size=32), (2, 3, 32, 32)),
}
LAYERS = {
    "lstm": (lambda: nn.LSTM(8, 16, num_layers=2, batch_first=True), (3, 5, 8)),
    "gru_bidirectional": (lambda: nn.GRU(8, 16, bidirectional=True), (5, 3, 8)),
    "transformer": (
        lambda: nn.TransformerEncoder(
            nn.TransformerEncoderLayer(16, 4, 32, dropout=0.0, batch_first=True), 2
        ),
        (2, 6, 16),
    ),
}
STAND_IN = ["resnet18", "mobilenet_v3_small", "lstm", "transformer"]


def _first(out):
    return out[0] if isinstance(out, tuple) else out


def _compare(make, shape, train: bool) -> None:
    """The model's output and every parameter's gradient, CPU against CUDA."""
    ember.manual_seed(0)
    cpu = make()
    dev = copy.deepcopy(cpu).to("cuda")
    cpu.train(train)
    dev.train(train)
    x = ember.randn(*shape)
    y_cpu = _first(cpu(x))
    y_dev = _first(dev(x.to("cuda")))
    assert _on_cuda(y_dev)
    np.testing.assert_allclose(_host(y_dev), _host(y_cpu), rtol=2e-3, atol=2e-4)
    w = ember.randn(*y_cpu.shape)
    (y_cpu * w).sum().backward()
    (y_dev * w.to("cuda")).sum().backward()
    for (name, p), q in zip(cpu.named_parameters(), dev.parameters()):
        if p.grad is None:
            assert q.grad is None, name
            continue
        assert _on_cuda(q.grad), name
        scale = float(np.abs(_host(p.grad)).max()) or 1.0
        np.testing.assert_allclose(
            _host(q.grad), _host(p.grad), rtol=2e-3, atol=2e-4 * scale, err_msg=name
        )


ALL = {**VISION, **LAYERS}


@pytest.mark.parametrize("name", STAND_IN)
def test_model_on_stand_in_matches_cpu(name):
    make, shape = ALL[name]
    _compare(make, shape, train=False)


@pytest.mark.gpu
@pytest.mark.parametrize("name", sorted(ALL))
def test_gpu_model_matches_cpu(name):
    make, shape = ALL[name]
    # eval: batch norm uses running statistics and dropout is off, so both sides compute the
    # same function; training mode's batch statistics are checked by the stand-in and OPS
    _compare(make, shape, train=False)
