"""ember.utils.flop_counter against torch.utils.flop_counter: the same totals and per-module,
per-op counts for the same models and inputs (weights may differ)."""

from __future__ import annotations

import pytest

import ember
import ember.nn as enn
import ember.nn.functional as EF
from ember.utils.flop_counter import FlopCounterMode as EmberFCM

torch = pytest.importorskip("torch")
from torch.utils.flop_counter import FlopCounterMode as TorchFCM  # noqa: E402


def _counts(lib, fcm, fn):
    with fcm(display=False) as fc:
        fn(lib)
    counts = {m: {str(op): f for op, f in d.items()} for m, d in fc.get_flop_counts().items()}
    return fc.get_total_flops(), counts


def _same(fn):
    t = _counts(torch, TorchFCM, fn)
    e = _counts(ember, EmberFCM, fn)
    assert e == t
    return e


def _nested(lib):
    nn = lib.nn

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc1 = nn.Linear(16, 32)
            self.fc2 = nn.Linear(32, 8, bias=False)

        def forward(self, x):
            return self.fc2(lib.relu(self.fc1(x)))

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.block = Block()
            self.head = nn.Linear(8, 4)

        def forward(self, x):
            return self.head(self.block(x))

    return Net()


def test_linear_forward_backward():
    def run(lib):
        m = lib.nn.Sequential(lib.nn.Linear(12, 24), lib.nn.ReLU(), lib.nn.Linear(24, 6))
        m(lib.randn(5, 12)).sum().backward()

    total, counts = _same(run)
    assert total == 2 * 5 * 12 * 24 * 2 + 2 * 5 * 24 * 6 * 3


def test_linear_3d_input_and_no_bias():
    def run(lib):
        lib.nn.Linear(7, 9)(lib.randn(2, 3, 7)).sum().backward()
        lib.nn.Linear(7, 9)(lib.randn(3, 2, 7).transpose(0, 1)).sum().backward()
        lib.nn.Linear(7, 9, bias=False)(lib.randn(4, 7, requires_grad=True)).sum().backward()

    assert _same(run)[0] > 0


def test_conv2d_forward_backward():
    def run(lib):
        nn = lib.nn
        m = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.Conv2d(8, 4, 3, stride=2))
        m(lib.randn(2, 3, 12, 12)).sum().backward()

    total, counts = _same(run)
    assert set(counts["Global"]) == {"aten.convolution", "aten.convolution_backward"}


def test_conv_groups_transposed_1d():
    def run(lib):
        nn = lib.nn
        nn.Conv2d(4, 8, 3, stride=2, groups=2)(
            lib.randn(2, 4, 11, 11, requires_grad=True)
        ).sum().backward()
        nn.ConvTranspose2d(4, 6, 3, stride=2, groups=2)(
            lib.randn(2, 4, 5, 5, requires_grad=True)
        ).sum().backward()
        nn.Conv1d(4, 6, 3)(lib.randn(2, 4, 9)).sum().backward()

    assert _same(run)[0] > 0


@pytest.mark.parametrize("need_weights", [True])
def test_multihead_attention(need_weights):
    def run(lib):
        mha = lib.nn.MultiheadAttention(32, 4, batch_first=True)
        x = lib.randn(2, 8, 32)
        mha(x, x, x, need_weights=need_weights)[0].sum().backward()

    total, counts = _same(run)
    assert total > 0 and "MultiheadAttention" in counts


@pytest.mark.parametrize("shape", [(2, 4, 8, 16), (8, 8, 16)])
def test_sdpa_forward_backward(shape):
    def run(lib):
        q, k, v = (lib.randn(*shape, requires_grad=True) for _ in range(3))
        lib.nn.functional.scaled_dot_product_attention(q, k, v).sum().backward()

    total, _ = _same(run)
    # torch's fused CPU kernel has no formula (0); the math path (3-d inputs) counts its bmm
    assert total == (0 if len(shape) == 4 else 6 * 8 * 2 * 8 * 8 * 16)


def test_matmul_decompositions():
    def run(lib):
        a = lib.randn(3, 4, 5, requires_grad=True)
        (a @ lib.randn(3, 5, 6, requires_grad=True)).sum().backward()
        (a @ lib.randn(5, 6, requires_grad=True)).sum().backward()
        _ = a.detach() @ lib.randn(5, 6)
        (
            lib.randn(2, 1, 4, 5, requires_grad=True) @ lib.randn(3, 5, 6, requires_grad=True)
        ).sum().backward()
        (lib.randn(4, requires_grad=True) @ lib.randn(4, 5, requires_grad=True)).sum().backward()
        (a @ lib.randn(5, requires_grad=True)).sum().backward()
        _ = lib.mm(lib.randn(3, 4), lib.randn(4, 2))
        _ = lib.addmm(lib.randn(4, 6), lib.randn(4, 5), lib.randn(5, 6))

    assert _same(run)[0] > 0


def test_nested_modules_depth_two_and_table(capsys):
    def run(lib):
        lib.manual_seed(0)
        _nested(lib)(lib.randn(4, 16)).sum().backward()

    total, counts = _same(run)
    assert {"Global", "Net", "Net.block", "Net.block.fc1", "Net.head"} <= set(counts)
    with EmberFCM(depth=2) as fc:
        _nested(ember)(ember.randn(4, 16)).sum().backward()
    printed = capsys.readouterr().out
    assert fc.get_total_flops() == total
    lines = printed.splitlines()
    assert lines[0].split() == ["Module", "FLOP", "%", "Total"]
    assert lines[2].split() == ["Net", f"{total / 1000:.3f}K", "100.00%"]
    names = [ln.split()[0] for ln in lines[2:] if not ln.strip().startswith("-")]
    assert names == ["Net", "Net.block", "Net.head"]  # depth 2: fc1/fc2 left out
    assert [ln.split()[0] for ln in fc.get_table(1).splitlines()[2:]] == ["Net", "-", "-"]


def test_backward_outside_is_not_counted_and_custom_mapping():
    x = ember.randn(4, 8, requires_grad=True)
    w = ember.randn(8, 3, requires_grad=True)
    with EmberFCM(display=False) as fc:
        y = (x @ w).sum()
    y.backward()
    assert fc.get_total_flops() == 2 * 4 * 8 * 3
    from ember.ops.linalg import MatMul

    with EmberFCM(display=False, custom_mapping={MatMul: lambda a, b, out_shape: 7}) as fc2:
        x @ w
    assert fc2.get_total_flops() == 7
    assert EF is not None and enn is not None
