"""Convolutions and transposed convolutions vs torch: outputs, gradients, errors, modules."""

from __future__ import annotations

import math

import numpy as np
import pytest

import ember
import ember.nn as enn
import ember.nn.functional as EF
from tests._support.torch_ref import assert_same, to_torch, torch

TF = torch.nn.functional
pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


def _pair(shape_x, shape_w, bias, dtype=np.float32, seed=0):
    rs = np.random.RandomState(seed)
    x = ember.tensor(rs.randn(*shape_x).astype(dtype), requires_grad=True)
    w = ember.tensor(rs.randn(*shape_w).astype(dtype), requires_grad=True)
    b = ember.tensor(rs.randn(bias).astype(dtype), requires_grad=True) if bias else None
    return x, w, b


def _check(efn, tfn, x, w, b, rtol=1e-4, atol=1e-4, **kw):
    tx, tw = to_torch(x), to_torch(w)
    tb = to_torch(b) if b is not None else None
    eo = efn(x, w, b, **kw)
    to = tfn(tx, tw, tb, **kw)
    assert_same(eo, to, rtol, atol)
    gy = np.random.RandomState(1).randn(*to.shape).astype(x.detach().numpy().dtype)
    eo.backward(ember.tensor(gy))
    to.backward(torch.from_numpy(gy))
    assert_same(x.grad, tx.grad, rtol, atol)
    assert_same(w.grad, tw.grad, rtol, atol)
    if b is not None:
        assert_same(b.grad, tb.grad, rtol, atol)


CONV2D = [
    dict(),
    dict(stride=2),
    dict(stride=(2, 1), padding=(1, 2)),
    dict(padding=1, dilation=2),
    dict(dilation=(1, 2), stride=(1, 3)),
    dict(padding="same"),
    dict(padding="same", dilation=2),
    dict(padding="valid"),
    dict(padding=3, stride=2),
    dict(padding=(2, 3), stride=(3, 2), dilation=(2, 1)),
    dict(groups=2),
    dict(groups=4, padding=1),
    dict(groups=2, stride=2, padding=1, dilation=2),
]


@pytest.mark.parametrize("kw", CONV2D)
@pytest.mark.parametrize("bias", [True, False])
def test_conv2d(kw, bias):
    g = kw.get("groups", 1)
    x, w, b = _pair((2, 4, 9, 8), (4, 4 // g, 3, 2), 4 if bias else 0)
    _check(EF.conv2d, TF.conv2d, x, w, b, **kw)


@pytest.mark.parametrize(
    "kw", [dict(), dict(groups=2, padding="same"), dict(groups=3, stride=2, padding=2)]
)
def test_conv2d_depthwise_and_even_kernel(kw):
    g = kw.get("groups", 1)
    c = 6 if g == 3 else 4
    x, w, b = _pair((2, c, 7, 7), (c * 2 if g > 1 else c, c // g, 4, 4), c * 2 if g > 1 else c)
    _check(EF.conv2d, TF.conv2d, x, w, b, **kw)


def test_conv2d_unbatched_and_batch1():
    x, w, b = _pair((3, 6, 5), (2, 3, 3, 3), 2)
    _check(EF.conv2d, TF.conv2d, x, w, b, padding=1)
    x, w, b = _pair((1, 3, 6, 5), (2, 3, 3, 3), 2)
    _check(EF.conv2d, TF.conv2d, x, w, b, stride=2)


@pytest.mark.parametrize(
    "kw", [dict(), dict(stride=2, padding=1), dict(dilation=2, groups=2), dict(padding="same")]
)
def test_conv1d(kw):
    g = kw.get("groups", 1)
    x, w, b = _pair((2, 4, 11), (6, 4 // g, 3), 6)
    _check(EF.conv1d, TF.conv1d, x, w, b, **kw)


@pytest.mark.parametrize("kw", [dict(), dict(stride=(1, 2, 1), padding=1, dilation=(2, 1, 1))])
def test_conv3d(kw):
    x, w, b = _pair((2, 2, 5, 6, 5), (3, 2, 2, 3, 2), 3)
    _check(EF.conv3d, TF.conv3d, x, w, b, **kw)


CONVT = [
    dict(),
    dict(stride=2),
    dict(stride=2, output_padding=1, padding=1),
    dict(stride=(2, 3), output_padding=(1, 2), padding=(0, 1)),
    dict(dilation=2, padding=1),
    dict(groups=2, stride=2, dilation=2, output_padding=1),
]


@pytest.mark.parametrize("kw", CONVT)
@pytest.mark.parametrize("bias", [True, False])
def test_conv_transpose2d(kw, bias):
    g = kw.get("groups", 1)
    x, w, b = _pair((2, 4, 5, 4), (4, 6 // g, 3, 2), 6 if bias else 0)
    _check(EF.conv_transpose2d, TF.conv_transpose2d, x, w, b, **kw)


@pytest.mark.parametrize(
    "kw", [dict(), dict(stride=3, output_padding=2, padding=1), dict(groups=2, dilation=3)]
)
def test_conv_transpose1d(kw):
    g = kw.get("groups", 1)
    x, w, b = _pair((2, 4, 7), (4, 6 // g, 3), 6)
    _check(EF.conv_transpose1d, TF.conv_transpose1d, x, w, b, **kw)


def test_conv_transpose3d():
    x, w, b = _pair((1, 2, 3, 4, 3), (2, 3, 2, 2, 3), 3)
    _check(EF.conv_transpose3d, TF.conv_transpose3d, x, w, b, stride=2, padding=1)


def test_gradcheck_float64():
    rs = np.random.RandomState(0)
    x = ember.tensor(rs.randn(1, 2, 4, 5), requires_grad=True)
    w = ember.tensor(rs.randn(2, 1, 2, 3), requires_grad=True)
    b = ember.tensor(rs.randn(2), requires_grad=True)
    assert ember.autograd.gradcheck(
        lambda a, c, d: EF.conv2d(a, c, d, stride=(1, 2), padding=1, dilation=(2, 1), groups=2),
        (x, w, b),
    )
    wt = ember.tensor(rs.randn(2, 2, 3, 2), requires_grad=True)
    assert ember.autograd.gradcheck(
        lambda a, c, d: EF.conv_transpose2d(a, c, d, stride=2, padding=1, output_padding=1),
        (x, wt, b),
    )


def test_conv_float64_dtype():
    x, w, b = _pair((1, 2, 5, 5), (3, 2, 3, 3), 3, dtype=np.float64)
    _check(EF.conv2d, TF.conv2d, x, w, b, rtol=1e-10, atol=1e-10)


def _same_error(efn, tfn):
    with pytest.raises(Exception) as te:
        tfn()
    with pytest.raises(type(te.value)) as ee:
        efn()
    assert str(ee.value) == str(te.value)


@pytest.mark.parametrize(
    "case",
    [
        ("x64", (2, 3, 8, 8), (4, 3, 3, 3), {}),
        ("w64", (2, 3, 8, 8), (4, 3, 3, 3), {}),
        ("b64", (2, 3, 8, 8), (4, 3, 3, 3), {}),
        ("x64b64", (2, 3, 8, 8), (4, 3, 3, 3), {}),
        ("x64nob", (2, 3, 8, 8), (4, 3, 3, 3), {}),
        ("", (2, 3), (4, 3, 3, 3), {}),
        ("", (2, 3, 8, 8), (4, 2, 3, 3), {}),
        ("", (2, 3, 8, 8), (4, 3, 9, 9), {}),
        ("", (2, 3, 8, 8), (4, 3, 3, 3), dict(stride=2, padding="same")),
        ("", (2, 3, 8, 8), (4, 3, 3, 3), dict(padding="foo")),
        ("", (2, 3, 8, 8), (4, 3, 3, 3), dict(groups=2)),
        ("", (2, 3, 8, 8), (4, 1, 3, 3), dict(groups=3)),
        ("", (2, 3, 8, 8), (4, 3, 3, 3), dict(stride=0)),
        ("", (2, 3, 8, 8), (4, 3, 3, 3), dict(padding=-1)),
    ],
)
def test_conv2d_errors(case):
    kind, xs, ws, kw = case
    x, w, b = _pair(xs, ws, ws[0])
    x, w, b = x.detach(), w.detach(), b.detach()
    if kind.startswith("x64"):
        x = x.double()
    if kind == "x64b64":
        b = b.double()
    if kind == "x64nob":
        b = None
    if kind == "w64":
        w = w.double()
    if kind == "b64":
        b = b.double()
    _same_error(
        lambda: EF.conv2d(x, w, b, **kw),
        lambda: TF.conv2d(to_torch(x), to_torch(w), b if b is None else to_torch(b), **kw),
    )


# --- modules ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "args,kw",
    [
        ((1, 32, 3, 1), {}),
        ((1, 32, 3, 2), dict(padding=1, dilation=2, bias=False, padding_mode="reflect")),
        ((2, 32, (3, 5)), dict(padding="same", groups=2)),
        ((4, 4, 3), dict(padding_mode="circular", padding=(1, 2))),
    ],
)
def test_conv2d_module_repr_and_shapes(args, kw):
    e = enn.Conv2d(*args, **kw)
    t = torch.nn.Conv2d(*args, **kw)
    assert repr(e) == repr(t)
    assert [k for k, _ in e.named_parameters()] == [k for k, _ in t.named_parameters()]
    assert tuple(e.weight.shape) == tuple(t.weight.shape)


def test_conv_module_reprs():
    pairs = [
        (enn.Conv1d(1, 32, 3, 1), torch.nn.Conv1d(1, 32, 3, 1)),
        (enn.Conv3d(1, 32, 3, 1), torch.nn.Conv3d(1, 32, 3, 1)),
        (enn.ConvTranspose2d(2, 32, 3, stride=2), torch.nn.ConvTranspose2d(2, 32, 3, stride=2)),
        (
            enn.ConvTranspose2d(2, 32, 3, output_padding=1, stride=2, groups=2, bias=False),
            torch.nn.ConvTranspose2d(2, 32, 3, output_padding=1, stride=2, groups=2, bias=False),
        ),
        (enn.ConvTranspose1d(2, 4, 3, dilation=2), torch.nn.ConvTranspose1d(2, 4, 3, dilation=2)),
    ]
    for e, t in pairs:
        assert repr(e) == repr(t)
        assert tuple(e.weight.shape) == tuple(t.weight.shape)


def test_conv_default_init_bounds():
    m = enn.Conv2d(8, 16, 3)
    fan_in = 8 * 9
    bound = 1 / math.sqrt(fan_in)  # kaiming_uniform(a=sqrt(5)) gives the same bound
    w = m.weight.detach().numpy()
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.8 * bound
    bb = m.bias.detach().numpy()
    assert np.abs(bb).max() <= bound
    assert m.weight.requires_grad and m.bias.requires_grad


@pytest.mark.parametrize("mode", ["zeros", "reflect", "replicate", "circular"])
@pytest.mark.parametrize("padding", [1, (2, 1), "same"])
def test_conv2d_padding_modes(mode, padding):
    t = torch.nn.Conv2d(3, 4, (3, 4), padding=padding, padding_mode=mode)
    e = enn.Conv2d(3, 4, (3, 4), padding=padding, padding_mode=mode)
    e.weight.data = ember.tensor(t.weight.detach().numpy().copy())
    e.bias.data = ember.tensor(t.bias.detach().numpy().copy())
    x = ember.randn(2, 3, 6, 7, requires_grad=True)
    tx = to_torch(x)
    eo, to = e(x), t(tx)
    assert_same(eo, to, 1e-4, 1e-4)
    eo.sum().backward()
    to.sum().backward()
    assert_same(x.grad, tx.grad, 1e-4, 1e-4)
    assert_same(e.weight.grad, t.weight.grad, 1e-4, 1e-3)


def test_conv_transpose_module_output_size():
    t = torch.nn.ConvTranspose2d(3, 4, 3, stride=2, padding=1)
    e = enn.ConvTranspose2d(3, 4, 3, stride=2, padding=1)
    e.load_state_dict(
        {k: ember.tensor(v.detach().numpy().copy()) for k, v in t.state_dict().items()}
    )
    x = ember.randn(2, 3, 5, 5)
    for osz in [None, (10, 10), (9, 10), [2, 4, 10, 9]]:
        assert_same(e(x, output_size=osz), t(to_torch(x), output_size=osz), 1e-4, 1e-4)
    with pytest.raises(ValueError):
        e(x, output_size=(12, 12))


def test_conv_module_errors():
    for kw in [
        dict(groups=2),
        dict(padding="foo"),
        dict(padding_mode="foo"),
        dict(stride=2, padding="same"),
    ]:
        with pytest.raises(ValueError) as te:
            torch.nn.Conv2d(3, 4, 3, **kw)
        with pytest.raises(ValueError) as ee:
            enn.Conv2d(3, 4, 3, **kw)
        if "padding_mode" in kw:  # torch prints a set: its order changes between processes
            assert sorted(str(ee.value)) == sorted(str(te.value))
        else:
            assert str(ee.value) == str(te.value)
    with pytest.raises(ValueError):
        enn.ConvTranspose2d(3, 4, 3, padding_mode="reflect")


def test_conv_no_grad_and_frozen_input():
    m = enn.Conv2d(2, 3, 3)
    x = ember.randn(1, 2, 5, 5)
    with ember.no_grad():
        y = m(x)
    assert y.grad_fn is None and not y.requires_grad
    y = m(x)
    y.sum().backward()
    assert x.grad is None and m.weight.grad is not None


def test_gradcheck_1d_3d_float64():
    rs = np.random.RandomState(0)
    gc = ember.autograd.gradcheck
    x = ember.tensor(rs.randn(2, 2, 5), requires_grad=True)
    w = ember.tensor(rs.randn(2, 2, 3), requires_grad=True)
    assert gc(lambda a, c: EF.conv1d(a, c, stride=2, padding=2, dilation=2), (x, w))
    assert gc(lambda a, c: EF.conv_transpose1d(a, c, stride=2, output_padding=1), (x, w))
    x3 = ember.tensor(rs.randn(1, 1, 3, 3, 3), requires_grad=True)
    w3 = ember.tensor(rs.randn(2, 1, 2, 2, 2), requires_grad=True)
    assert gc(lambda a, c: EF.conv3d(a, c, padding=1), (x3, w3))


@pytest.mark.parametrize(
    "kw,ks",
    [
        (dict(padding=1), (3, 3)),
        (dict(padding=(2, 0), dilation=(2, 1)), (3, 2)),
        (dict(), (1, 1)),
        (dict(padding="same"), (4, 3)),
        (dict(padding=1, groups=3), (3, 3)),
        (dict(), (3, 3)),
    ],
)
def test_conv2d_stride1_input_grad_paths(kw, ks):
    # fewer output than input channels: the input gradient runs as a direct convolution
    g = kw.get("groups", 1)
    x, w, b = _pair((2, 6, 7, 8), (3, 6 // g, *ks), 3)
    _check(EF.conv2d, TF.conv2d, x, w, b, **kw)
    x, w, b = _pair((2, 6, 7, 8), (12, 6 // g, *ks), 12)
    _check(EF.conv2d, TF.conv2d, x, w, b, **kw)


def test_gradcheck_direct_input_grad():
    rs = np.random.RandomState(0)
    x = ember.tensor(rs.randn(2, 4, 4, 5), requires_grad=True)
    w = ember.tensor(rs.randn(2, 2, 3, 2), requires_grad=True)
    assert ember.autograd.gradcheck(
        lambda a, c: EF.conv2d(a, c, padding=(2, 1), dilation=(1, 2), groups=2), (x, w)
    )


def test_cnn_training_matches_torch():
    # conv -> relu -> conv -> relu -> maxpool -> linear, SGD with momentum, 3 steps
    def build(T):
        T.manual_seed(0)
        return T.nn.Sequential(
            T.nn.Conv2d(1, 4, 3),
            T.nn.ReLU(),
            T.nn.Conv2d(4, 6, 3, padding=1),
            T.nn.ReLU(),
            T.nn.MaxPool2d(2),
            T.nn.Flatten(),
            T.nn.Linear(6 * 5 * 5, 10),
        )

    tm, em = build(torch), build(ember)
    em.load_state_dict(
        {k: ember.tensor(v.detach().numpy().copy()) for k, v in tm.state_dict().items()}
    )
    topt = torch.optim.SGD(tm.parameters(), lr=0.1, momentum=0.9)
    eopt = ember.optim.SGD(em.parameters(), lr=0.1, momentum=0.9)
    rs = np.random.RandomState(0)
    x = rs.randn(8, 1, 12, 12).astype(np.float32)
    y = rs.randint(0, 10, 8)
    for _ in range(3):
        topt.zero_grad()
        lt = TF.cross_entropy(tm(torch.from_numpy(x)), torch.from_numpy(y))
        lt.backward()
        topt.step()
        eopt.zero_grad()
        le = EF.cross_entropy(em(ember.tensor(x)), ember.tensor(y))
        le.backward()
        eopt.step()
        assert abs(float(le.detach()) - float(lt.detach())) < 1e-5
    for tp, ep in zip(tm.parameters(), em.parameters()):
        assert_same(ep, tp, 1e-4, 1e-5)
