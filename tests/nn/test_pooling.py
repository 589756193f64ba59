"""Pooling vs torch: max/avg (1-3d), adaptive, unpooling; outputs, indices, gradients, modules."""

from __future__ import annotations

import numpy as np
import pytest

import ember
import ember.nn as enn
import ember.nn.functional as EF
from ember.ops import pooling
from tests._support.torch_ref import assert_same, to_torch, torch

TF = torch.nn.functional


def _run(efn, tfn, shape, relu=False, nan=False, seed=0, dtype=np.float32):
    rs = np.random.RandomState(seed)
    a = rs.randn(*shape).astype(dtype)
    if relu:
        a = np.maximum(a, 0)  # many ties, as after a ReLU
    if nan:
        a.reshape(-1)[::7] = np.nan
    x = ember.tensor(a, requires_grad=True)
    tx = to_torch(x)
    eo, to = efn(x), tfn(tx)
    if isinstance(to, tuple):
        assert_same(eo[1], to[1])
        eo, to = eo[0], to[0]
    assert_same(eo, to)
    gy = rs.randn(*to.shape).astype(dtype)
    eo.backward(ember.tensor(gy))
    to.backward(torch.from_numpy(gy))
    assert_same(x.grad, tx.grad, 1e-5, 1e-5)


MAX2D = [
    dict(kernel_size=2),
    dict(kernel_size=2, return_indices=True),
    dict(kernel_size=3, stride=2, padding=1, ceil_mode=True, return_indices=True),
    dict(kernel_size=(2, 3), stride=1, dilation=2, padding=(1, 1), return_indices=True),
    dict(kernel_size=3, stride=2, ceil_mode=True),
    dict(kernel_size=3, stride=(1, 2), padding=1),
    dict(kernel_size=(1, 2), stride=(2, 3)),
]


@pytest.mark.parametrize("kw", MAX2D)
@pytest.mark.parametrize("relu", [False, True])
def test_max_pool2d(kw, relu):
    _run(lambda x: EF.max_pool2d(x, **kw), lambda x: TF.max_pool2d(x, **kw), (2, 3, 9, 8), relu)


@pytest.mark.parametrize("kw", MAX2D[:3])
@pytest.mark.parametrize("block", [1, None])
def test_max_pool2d_threaded_and_blocked(monkeypatch, kw, block):
    # past 2 MiB the forward splits the batch over threads; both directions walk blocks of
    # images (one image per block with block=1)
    if block is not None:
        monkeypatch.setattr(pooling, "_POOL_BLOCK_BYTES", block)
    shape = (5, 16, 90, 80)
    _run(lambda x: EF.max_pool2d(x, **kw), lambda x: TF.max_pool2d(x, **kw), shape, relu=True)


@pytest.mark.parametrize(
    "kw",
    [
        dict(kernel_size=2, return_indices=True),
        dict(kernel_size=3, stride=1, padding=1, return_indices=True),
    ],
)
def test_max_pool2d_nan(kw):
    x = np.random.RandomState(0).randn(2, 2, 6, 6).astype(np.float32)
    x[0, 0, 1, 1] = np.nan
    x[1, 1, 2:4, 2:4] = np.nan
    eo, ei = EF.max_pool2d(ember.tensor(x), **kw)
    to, ti = TF.max_pool2d(torch.from_numpy(x), **kw)
    assert_same(eo, to)
    assert_same(ei, ti)


@pytest.mark.parametrize("kw", [k for k in MAX2D if not k.get("return_indices")])
@pytest.mark.parametrize("shape", [(2, 3, 9, 8), (6, 16, 90, 80)])  # the second: on threads
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int32])
def test_max_pool2d_without_a_graph(kw, shape, dtype):
    """Under no_grad (and for inputs that need no gradient) only the maxima are computed; NaN
    propagates as in torch."""
    a = np.random.RandomState(1).randn(*shape)
    if dtype == np.int32:
        a = a * 100
    else:
        a.reshape(-1)[::11] = np.nan
    a = a.astype(dtype)
    with ember.no_grad():
        eo = EF.max_pool2d(ember.tensor(a, requires_grad=dtype != np.int32), **kw)
    assert_same(eo, TF.max_pool2d(torch.from_numpy(a), **kw))
    assert_same(EF.max_pool2d(ember.tensor(a), **kw), TF.max_pool2d(torch.from_numpy(a), **kw))


def test_max_pool_1d_3d_without_a_graph():
    a = np.random.RandomState(2).randn(2, 3, 7, 6, 9).astype(np.float32)
    kw = dict(kernel_size=(2, 3, 2), stride=(1, 2, 2), padding=1, dilation=(1, 1, 2))
    assert_same(EF.max_pool3d(ember.tensor(a), **kw), TF.max_pool3d(torch.from_numpy(a), **kw))
    b = a[0, :, 0]  # unbatched 1-d: (C, L)
    tb = torch.from_numpy(b)
    assert_same(EF.max_pool1d(ember.tensor(b), 3, 2, 1), TF.max_pool1d(tb, 3, 2, 1))


def test_max_pool_1d_3d_unbatched():
    _run(
        lambda x: EF.max_pool1d(x, 3, 2, 1, return_indices=True),
        lambda x: TF.max_pool1d(x, 3, 2, 1, return_indices=True),
        (2, 3, 10),
        relu=True,
    )
    _run(
        lambda x: EF.max_pool3d(x, 2, return_indices=True),
        lambda x: TF.max_pool3d(x, 2, return_indices=True),
        (2, 2, 5, 4, 4),
    )
    _run(
        lambda x: EF.max_pool3d(x, (2, 3, 2), stride=1, padding=1, dilation=(1, 1, 2)),
        lambda x: TF.max_pool3d(x, (2, 3, 2), stride=1, padding=1, dilation=(1, 1, 2)),
        (1, 2, 4, 5, 6),
    )
    _run(lambda x: EF.max_pool2d(x, 2), lambda x: TF.max_pool2d(x, 2), (3, 8, 6))


AVG2D = [
    dict(kernel_size=2),
    dict(kernel_size=3, stride=2, padding=1, ceil_mode=True),
    dict(kernel_size=3, stride=2, padding=1, ceil_mode=True, count_include_pad=False),
    dict(kernel_size=(2, 3), stride=1, padding=(1, 1), divisor_override=3),
    dict(kernel_size=(3, 2), stride=(2, 1), padding=(1, 0), count_include_pad=False),
    dict(kernel_size=3, stride=3, ceil_mode=True, count_include_pad=True),
]


@pytest.mark.parametrize("kw", AVG2D)
def test_avg_pool2d(kw):
    _run(lambda x: EF.avg_pool2d(x, **kw), lambda x: TF.avg_pool2d(x, **kw), (2, 3, 9, 8))


def test_avg_pool_1d_3d():
    _run(
        lambda x: EF.avg_pool1d(x, 3, 2, 1, True, False),
        lambda x: TF.avg_pool1d(x, 3, 2, 1, True, False),
        (2, 3, 10),
    )
    _run(
        lambda x: EF.avg_pool3d(x, 2, 1, 1, divisor_override=5),
        lambda x: TF.avg_pool3d(x, 2, 1, 1, divisor_override=5),
        (1, 2, 3, 4, 5),
    )


@pytest.mark.parametrize("osz", [1, (3, 4), (5, None), 4, (9, 8), (2, 7)])
def test_adaptive_pool2d(osz):
    _run(
        lambda x: EF.adaptive_avg_pool2d(x, osz),
        lambda x: TF.adaptive_avg_pool2d(x, osz),
        (2, 3, 9, 8),
    )
    _run(
        lambda x: EF.adaptive_max_pool2d(x, osz, True),
        lambda x: TF.adaptive_max_pool2d(x, osz, True),
        (2, 3, 9, 8),
        relu=True,
    )


def test_adaptive_pool_1d_3d_unbatched():
    _run(lambda x: EF.adaptive_avg_pool1d(x, 4), lambda x: TF.adaptive_avg_pool1d(x, 4), (2, 3, 9))
    _run(
        lambda x: EF.adaptive_max_pool1d(x, 4, True),
        lambda x: TF.adaptive_max_pool1d(x, 4, True),
        (2, 3, 9),
    )
    _run(
        lambda x: EF.adaptive_avg_pool3d(x, (2, 3, 1)),
        lambda x: TF.adaptive_avg_pool3d(x, (2, 3, 1)),
        (1, 2, 5, 6, 4),
    )
    _run(lambda x: EF.adaptive_avg_pool2d(x, 3), lambda x: TF.adaptive_avg_pool2d(x, 3), (3, 7, 7))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_global_adaptive_avg_pool(dtype):
    # output size 1: the sums run as one matrix-vector product (a ResNet's head)
    _run(
        lambda x: EF.adaptive_avg_pool2d(x, 1),
        lambda x: TF.adaptive_avg_pool2d(x, 1),
        (3, 5, 3, 7),
        dtype=dtype,
    )
    _run(lambda x: EF.adaptive_avg_pool1d(x, 1), lambda x: TF.adaptive_avg_pool1d(x, 1), (4, 9))
    _run(
        lambda x: EF.adaptive_avg_pool3d(x, 1),
        lambda x: TF.adaptive_avg_pool3d(x, 1),
        (2, 3, 2, 3, 5),
    )
    # a non-contiguous input, and the torch name of the gradient node
    a = np.random.RandomState(1).randn(2, 6, 5, 4).astype(dtype)
    x = ember.tensor(a, requires_grad=True)
    y = EF.adaptive_avg_pool2d(x.transpose(2, 3), (1, 1))
    ty = TF.adaptive_avg_pool2d(torch.from_numpy(a).transpose(2, 3), (1, 1))
    assert_same(y, ty)
    assert y.grad_fn.name() == "MeanBackward1"
    d = ember.tensor(np.random.RandomState(2).randn(2, 3, 4, 5), requires_grad=True)
    assert ember.autograd.gradcheck(lambda t: EF.adaptive_avg_pool2d(t, 1), (d,))


@pytest.mark.parametrize("kw", [dict(kernel_size=2), dict(kernel_size=3, stride=2, padding=1)])
def test_max_unpool2d(kw):
    x = np.random.RandomState(0).randn(2, 3, 8, 7).astype(np.float32)
    to, ti = TF.max_pool2d(torch.from_numpy(x), return_indices=True, **kw)
    eo, ei = EF.max_pool2d(ember.tensor(x), return_indices=True, **kw)
    v = ember.tensor(eo.numpy(), requires_grad=True)
    tv = to_torch(v)
    for osz in [(8, 7), (2, 3, 8, 7)]:
        eu = EF.max_unpool2d(v, ei, output_size=osz, **kw)
        tu = TF.max_unpool2d(tv, ti, output_size=osz, **kw)
        assert_same(eu, tu)
    with pytest.raises(RuntimeError, match="Found an invalid max index"):
        EF.max_unpool2d(v, ei, **kw)
    eu.sum().backward()
    tu.sum().backward()
    assert_same(v.grad, tv.grad)
    m = enn.MaxUnpool2d(**kw)
    assert repr(m) == repr(torch.nn.MaxUnpool2d(**kw))


def test_gradcheck_pools():
    rs = np.random.RandomState(0)
    x = ember.tensor(rs.randn(1, 2, 5, 4), requires_grad=True)
    gc = ember.autograd.gradcheck
    assert gc(lambda a: EF.max_pool2d(a, 3, 2, 1, ceil_mode=True), (x,))
    assert gc(lambda a: EF.avg_pool2d(a, 3, 2, 1, ceil_mode=True, count_include_pad=False), (x,))
    assert gc(lambda a: EF.adaptive_avg_pool2d(a, (3, 3)), (x,))
    assert gc(lambda a: EF.adaptive_max_pool2d(a, (2, 3)), (x,))


def _same_error(efn, tfn):
    with pytest.raises(Exception) as te:
        tfn()
    with pytest.raises(type(te.value)) as ee:
        efn()
    assert str(ee.value) == str(te.value)


def test_pool_errors():
    x = np.random.RandomState(0).randn(2, 3, 8, 8).astype(np.float32)
    ex, tx = ember.tensor(x), torch.from_numpy(x)
    _same_error(lambda: EF.max_pool2d(ex, 3, padding=2), lambda: TF.max_pool2d(tx, 3, padding=2))
    _same_error(lambda: EF.max_pool2d(ex, 20), lambda: TF.max_pool2d(tx, 20))
    _same_error(lambda: EF.avg_pool2d(ex, 3, padding=2), lambda: TF.avg_pool2d(tx, 3, padding=2))


def test_pool_module_reprs_and_forward():
    pairs = [
        (enn.MaxPool2d(2), torch.nn.MaxPool2d(2)),
        (enn.MaxPool2d(2, 1, 1, 2, True, True), torch.nn.MaxPool2d(2, 1, 1, 2, True, True)),
        (enn.MaxPool1d(3), torch.nn.MaxPool1d(3)),
        (enn.AvgPool2d(2), torch.nn.AvgPool2d(2)),
        (
            enn.AvgPool2d((2, 3), 1, 1, True, False, 2),
            torch.nn.AvgPool2d((2, 3), 1, 1, True, False, 2),
        ),
        (enn.AvgPool1d(2), torch.nn.AvgPool1d(2)),
        (enn.AdaptiveAvgPool2d((1, 1)), torch.nn.AdaptiveAvgPool2d((1, 1))),
        (enn.AdaptiveAvgPool2d(1), torch.nn.AdaptiveAvgPool2d(1)),
        (enn.AdaptiveMaxPool2d(3, True), torch.nn.AdaptiveMaxPool2d(3, True)),
        (enn.AdaptiveAvgPool1d(2), torch.nn.AdaptiveAvgPool1d(2)),
    ]
    x = np.random.RandomState(0).randn(2, 3, 8, 8).astype(np.float32)
    for e, t in pairs:
        assert repr(e) == repr(t)
        if "1d" in repr(e):
            continue
        eo, to = e(ember.tensor(x)), t(torch.from_numpy(x))
        assert_same(eo, to)


@pytest.mark.parametrize(
    "p,kw", [(2, dict(kernel_size=2)), (1.5, dict(kernel_size=3, stride=2, ceil_mode=True))]
)
def test_lp_pool(p, kw):
    _run(
        lambda x: EF.lp_pool2d(x.abs(), p, **kw),
        lambda x: TF.lp_pool2d(x.abs(), p, **kw),
        (2, 3, 9, 8),
    )
    _run(
        lambda x: EF.lp_pool1d(x.abs(), p, **kw),
        lambda x: TF.lp_pool1d(x.abs(), p, **kw),
        (2, 3, 9),
    )
    assert repr(enn.LPPool2d(p, **kw)) == repr(torch.nn.LPPool2d(p, **kw))
    assert repr(enn.LPPool1d(p, **kw)) == repr(torch.nn.LPPool1d(p, **kw))


# --- adaptive_max_pool3d, fractional max pooling --------------------------------------------
def test_adaptive_max_pool3d_and_module_against_torch():
    for out in ((2, 3, 2), (1, 1, 1), (3, None, 2)):
        _run(
            lambda x, out=out: EF.adaptive_max_pool3d(x, out),
            lambda x, out=out: TF.adaptive_max_pool3d(x, out),
            (2, 3, 5, 6, 4),
        )
    e, ei = enn.AdaptiveMaxPool3d(2, return_indices=True)(ember.ones(1, 2, 4, 4, 4))
    t, ti = torch.nn.AdaptiveMaxPool3d(2, return_indices=True)(torch.ones(1, 2, 4, 4, 4))
    assert_same(e, t)
    assert_same(ei, ti)


@pytest.mark.parametrize(
    "nsp,shape,kernel,kw",
    [
        (2, (2, 3, 9, 11), (2, 3), {"output_size": (5, 4)}),
        (2, (3, 7, 8), 2, {"output_size": (4, 5)}),
        (2, (2, 3, 9, 11), 3, {"output_ratio": (0.5, 0.5)}),
        (3, (1, 2, 6, 7, 8), (2, 2, 3), {"output_size": (3, 3, 4)}),
        (3, (2, 6, 7, 8), 2, {"output_ratio": 0.5}),
    ],
)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_fractional_max_pool_with_given_samples_matches_torch(nsp, shape, kernel, kw, dtype):
    rng = np.random.default_rng(5)
    x = rng.standard_normal(shape).astype(dtype)
    nb = 1 if len(shape) == nsp + 1 else shape[0]
    smp = rng.random((nb, shape[-nsp - 1], nsp)).astype(dtype)
    outs = []
    for m in (ember, torch):
        a = m.tensor(x, requires_grad=True)
        k = dict(kw)
        if "output_ratio" in k and not isinstance(k["output_ratio"], tuple):
            k["output_ratio"] = (k["output_ratio"],) * nsp  # torch's functional wants a tuple
        f = getattr(m.nn.functional, f"fractional_max_pool{nsp}d")
        y, i = f(a, kernel, return_indices=True, _random_samples=m.tensor(smp), **k)
        (y * y).sum().backward()
        outs.append((y, i, a.grad))
    for e, t in zip(*outs):
        assert_same(e, t)


def test_fractional_max_pool_modules_draw_samples_and_check_arguments():
    m = enn.FractionalMaxPool2d(2, output_ratio=0.5)
    assert repr(m) == "FractionalMaxPool2d()" and list(m.state_dict()) == []
    y = m(ember.randn(2, 3, 8, 10))
    assert y.shape == (2, 3, 4, 5)
    assert enn.FractionalMaxPool3d(2, output_size=3)(ember.randn(1, 2, 6, 6, 6)).shape == (
        1,
        2,
        3,
        3,
        3,
    )
    with pytest.raises(ValueError, match="requires specifying either an output size"):
        enn.FractionalMaxPool2d(2)
    with pytest.raises(ValueError, match="output_ratio must be between 0 and 1"):
        enn.FractionalMaxPool2d(2, output_ratio=1.5)


LP3D = [
    (2, dict(kernel_size=2)),
    (3, dict(kernel_size=(2, 3, 2), stride=(1, 2, 1))),
    (1.5, dict(kernel_size=3, stride=2, ceil_mode=True)),
    (2, dict(kernel_size=[1, 2, 2], stride=1)),
]


@pytest.mark.parametrize("p,kw", LP3D)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_lp_pool3d(p, kw, dtype):
    # |x| keeps x**p real for fractional p, as torch's documented use
    _run(
        lambda x: EF.lp_pool3d(x.abs(), p, **kw),
        lambda x: TF.lp_pool3d(x.abs(), p, **kw),
        (2, 3, 6, 7, 5),
        dtype=dtype,
    )
    _run(  # unbatched (C, D, H, W)
        lambda x: EF.lp_pool3d(x.abs(), p, **kw),
        lambda x: TF.lp_pool3d(x.abs(), p, **kw),
        (3, 6, 7, 5),
        dtype=dtype,
    )
    e, t = enn.LPPool3d(p, **kw), torch.nn.LPPool3d(p, **kw)
    assert repr(e) == repr(t)
    _run(lambda x: e(x.abs()), lambda x: t(x.abs()), (1, 2, 5, 6, 7), dtype=dtype)


@pytest.mark.parametrize("nsp", [1, 2, 3])
@pytest.mark.parametrize("p", [float("inf"), -float("inf"), 2])
def test_lp_pool_signed_input_and_infinite_norms(nsp, p):
    """p = +-inf is max (min) of |x| over the window (a max pool), on signed inputs too; an
    even p takes signed inputs as they are."""
    shape = (2, 3, 6, 7, 5)[: 2 + nsp]
    kw = dict(kernel_size=2, stride=1) if nsp == 3 else dict(kernel_size=3, stride=2)
    name = f"lp_pool{nsp}d"
    _run(
        lambda x: getattr(EF, name)(x, p, **kw),
        lambda x: getattr(TF, name)(x, p, **kw),
        shape,
        seed=3,
    )


@pytest.mark.parametrize("nsp", [1, 2, 3])
def test_lp_pool_zero_windows_have_zero_gradient(nsp):
    """An all-zero window: torch's gradient is 0 there (sign's derivative is zero, so the
    infinite derivative of the root stops at it), not NaN."""
    shape = (1, 2, 4, 4, 4)[: 2 + nsp]
    a = np.random.RandomState(1).randn(*shape).astype(np.float32)
    a[(0, 0) + (slice(0, 2),) * nsp] = 0.0  # the first window of channel 0
    outs = []
    for lib in (ember, torch):
        x = lib.tensor(a, requires_grad=True)
        y = getattr(lib.nn.functional, f"lp_pool{nsp}d")(x, 2, 2)
        y.sum().backward()
        outs.append((y, x.grad))
    assert_same(outs[0][0], outs[1][0])
    assert_same(outs[0][1], outs[1][1])
    assert not np.isnan(outs[0][1].numpy()).any()
    assert (outs[0][1].numpy()[(0, 0) + (slice(0, 2),) * nsp] == 0).all()


def test_gradcheck_lp_pool3d():
    rs = np.random.RandomState(2)
    x = ember.tensor(np.abs(rs.randn(1, 2, 4, 5, 4)) + 0.1, requires_grad=True)
    gc = ember.autograd.gradcheck
    assert gc(lambda a: EF.lp_pool3d(a, 2, 2), (x,))
    assert gc(lambda a: EF.lp_pool3d(a, 3, (2, 3, 2), stride=(1, 2, 1), ceil_mode=True), (x,))
    assert gc(lambda a: EF.lp_pool3d(a, 1.5, 3, stride=2), (x,))


def test_lp_pool3d_errors_as_torch():
    x = np.random.RandomState(0).rand(2, 3, 6, 7, 5).astype(np.float32)
    ex, tx = ember.tensor(x), torch.from_numpy(x)
    for args in [
        (2, (2, 2)),  # torch unpacks three sizes: Python's ValueError
        (2, (2, 2, 2, 2)),
        (2, (2,)),
        (2, 0),  # the stride defaults to the kernel: "stride should not be zero"
        (2, 2, 0),
        (2, 2, -1),
        (2, -1),
        (2, (2, -1, 2)),
        (2, 10),  # larger than the input
        (2, 2, (1, 1)),
        (0, 2),  # 1 / p
    ]:
        _same_error(lambda a=args: EF.lp_pool3d(ex, *a), lambda a=args: TF.lp_pool3d(tx, *a))
    _same_error(lambda: EF.lp_pool3d(ex[0, 0], 2, 2), lambda: TF.lp_pool3d(tx[0, 0], 2, 2))
    x2, t2 = ex[..., 0], tx[..., 0]
    for args in [(2, (2, 2, 2)), (2, (3,))]:
        _same_error(lambda a=args: EF.lp_pool2d(x2, *a), lambda a=args: TF.lp_pool2d(t2, *a))


AVG3D_BAD = [
    dict(kernel_size=(2, 2)),
    dict(kernel_size=2, stride=(1, 1)),
    dict(kernel_size=2, padding=(1, 1)),
    dict(kernel_size=0),
    dict(kernel_size=2, stride=0),
    dict(kernel_size=2, stride=-1),
    dict(kernel_size=-1),
    dict(kernel_size=(2, -1, 2)),
    dict(kernel_size=-3, padding=1),
    dict(kernel_size=2, padding=-1),
    dict(kernel_size=2, padding=2),
    dict(kernel_size=(2, 8, 2), padding=(0, 1, 0)),
    dict(kernel_size=(7, 1, 1), ceil_mode=True),
    dict(kernel_size=2, divisor_override=0),
    dict(kernel_size=(2, 2, 2), stride=(0, -1, 1)),
    dict(kernel_size=1.5),
    dict(kernel_size=(2, 2.0, 2)),
    dict(kernel_size=2, padding=1.0),
    dict(kernel_size=True),
]


@pytest.mark.parametrize("kw", AVG3D_BAD, ids=[str(k) for k in AVG3D_BAD])
def test_avg_pool3d_argument_errors_as_torch(kw):
    x = np.random.RandomState(0).rand(2, 3, 6, 7, 5).astype(np.float32)
    _same_error(
        lambda: EF.avg_pool3d(ember.tensor(x), **kw),
        lambda: TF.avg_pool3d(torch.from_numpy(x), **kw),
    )


@pytest.mark.parametrize("shape", [(2, 0, 6, 7, 5), (3, 6, 0, 5), (6, 7, 5), (1, 2, 3, 4, 5, 6)])
def test_avg_pool3d_input_errors_as_torch(shape):
    _same_error(
        lambda: EF.avg_pool3d(ember.rand(*shape), 2),
        lambda: TF.avg_pool3d(torch.rand(*shape), 2),
    )


def test_avg_pool3d_accepted_edge_arguments():
    x = np.random.RandomState(0).rand(2, 3, 6, 7, 5).astype(np.float32)
    for kw in [
        dict(kernel_size=2, stride=()),
        dict(kernel_size=(6, 1, 1), stride=5, ceil_mode=True),
        dict(kernel_size=(4, 4, 4), padding=(2, 2, 2)),
        dict(kernel_size=np.int64(2), stride=[np.int64(1)]),
    ]:
        assert_same(EF.avg_pool3d(ember.tensor(x), **kw), TF.avg_pool3d(torch.from_numpy(x), **kw))
    empty = np.zeros((0, 3, 6, 7, 5), np.float32)
    assert_same(EF.avg_pool3d(ember.tensor(empty), 2), TF.avg_pool3d(torch.from_numpy(empty), 2))
