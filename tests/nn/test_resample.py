"""interpolate/Upsample, pixel_shuffle, unfold/fold, padding modules, InstanceNorm vs torch."""

from __future__ import annotations

import numpy as np
import pytest

import ember
import ember.nn as enn
import ember.nn.functional as EF
from tests._support.torch_ref import assert_same, to_torch, torch

TF = torch.nn.functional


def _run(efn, tfn, shape, seed=0, rtol=1e-5, atol=1e-5):
    rs = np.random.RandomState(seed)
    x = ember.tensor(rs.randn(*shape).astype(np.float32), requires_grad=True)
    tx = to_torch(x)
    eo, to = efn(x), tfn(tx)
    assert_same(eo, to, rtol, atol)
    gy = rs.randn(*to.shape).astype(np.float32)
    eo.backward(ember.tensor(gy))
    to.backward(torch.from_numpy(gy))
    assert_same(x.grad, tx.grad, rtol, atol)


INTERP2D = [
    dict(scale_factor=2),
    dict(size=(5, 7)),
    dict(scale_factor=1.7),
    dict(size=(13, 3), mode="bilinear"),
    dict(scale_factor=2, mode="bilinear", align_corners=True),
    dict(scale_factor=(1.5, 0.5), mode="bilinear"),
    dict(size=(3, 2), mode="bilinear", align_corners=False),
    dict(size=(11, 9), mode="bicubic"),
    dict(size=(11, 9), mode="bicubic", align_corners=True),
    dict(size=(3, 5), mode="area"),
    dict(size=(7, 11), mode="nearest-exact"),
    dict(scale_factor=1.3, mode="bilinear", recompute_scale_factor=True),
    dict(size=1, mode="bilinear", align_corners=True),
]


@pytest.mark.parametrize("kw", INTERP2D)
def test_interpolate_2d(kw):
    _run(
        lambda x: EF.interpolate(x, **kw),
        lambda x: TF.interpolate(x, **kw),
        (2, 3, 6, 5),
        rtol=1e-5,
        atol=1e-5,
    )


def test_interpolate_1d_3d():
    _run(
        lambda x: EF.interpolate(x, scale_factor=2.5, mode="linear"),
        lambda x: TF.interpolate(x, scale_factor=2.5, mode="linear"),
        (2, 3, 6),
    )
    _run(lambda x: EF.interpolate(x, size=4), lambda x: TF.interpolate(x, size=4), (2, 3, 6))
    _run(
        lambda x: EF.interpolate(x, size=(4, 5, 6), mode="trilinear", align_corners=True),
        lambda x: TF.interpolate(x, size=(4, 5, 6), mode="trilinear", align_corners=True),
        (1, 2, 3, 4, 5),
    )
    _run(
        lambda x: EF.interpolate(x, scale_factor=2),
        lambda x: TF.interpolate(x, scale_factor=2),
        (1, 2, 3, 2, 2),
    )


def test_interpolate_errors():
    x = ember.randn(1, 2, 4, 4)
    tx = to_torch(x)
    for kw in [dict(size=3, scale_factor=2), dict(), dict(size=3, align_corners=True)]:
        with pytest.raises(ValueError) as te:
            TF.interpolate(tx, **kw)
        with pytest.raises(ValueError) as ee:
            EF.interpolate(x, **kw)
        assert str(ee.value) == str(te.value)
    with pytest.raises(NotImplementedError):
        EF.interpolate(x, size=3, mode="linear")


def test_upsample_modules():
    pairs = [
        (enn.Upsample(scale_factor=2), torch.nn.Upsample(scale_factor=2)),
        (enn.Upsample(scale_factor=(2, 3)), torch.nn.Upsample(scale_factor=(2, 3))),
        (
            enn.Upsample(size=(3, 4), mode="bilinear", align_corners=True),
            torch.nn.Upsample(size=(3, 4), mode="bilinear", align_corners=True),
        ),
        (enn.UpsamplingNearest2d(scale_factor=2), torch.nn.UpsamplingNearest2d(scale_factor=2)),
        (enn.UpsamplingBilinear2d(size=(7, 5)), torch.nn.UpsamplingBilinear2d(size=(7, 5))),
    ]
    x = np.random.RandomState(0).randn(2, 3, 4, 5).astype(np.float32)
    for e, t in pairs:
        assert repr(e) == repr(t)
        assert_same(e(ember.tensor(x)), t(torch.from_numpy(x)), 1e-5, 1e-5)


def test_pixel_shuffle():
    _run(lambda x: EF.pixel_shuffle(x, 2), lambda x: TF.pixel_shuffle(x, 2), (2, 8, 3, 4))
    _run(lambda x: EF.pixel_shuffle(x, 3), lambda x: TF.pixel_shuffle(x, 3), (9, 2, 3))
    _run(lambda x: EF.pixel_unshuffle(x, 2), lambda x: TF.pixel_unshuffle(x, 2), (2, 2, 4, 6))
    assert repr(enn.PixelShuffle(2)) == repr(torch.nn.PixelShuffle(2))
    assert repr(enn.PixelUnshuffle(2)) == repr(torch.nn.PixelUnshuffle(2))
    x = ember.randn(1, 8, 2, 2)
    assert_same(enn.PixelShuffle(2)(x), torch.nn.PixelShuffle(2)(to_torch(x)))
    for fn, tfn, shp in [
        (EF.pixel_shuffle, TF.pixel_shuffle, (1, 7, 2, 2)),
        (EF.pixel_unshuffle, TF.pixel_unshuffle, (1, 1, 3, 4)),
    ]:
        with pytest.raises(RuntimeError) as te:
            tfn(torch.zeros(shp), 2)
        with pytest.raises(RuntimeError) as ee:
            fn(ember.zeros(shp), 2)
        assert str(ee.value) == str(te.value)


@pytest.mark.parametrize(
    "kw", [dict(kernel_size=2), dict(kernel_size=(2, 3), dilation=(1, 2), padding=1, stride=(2, 1))]
)
def test_unfold_fold(kw):
    _run(lambda x: EF.unfold(x, **kw), lambda x: TF.unfold(x, **kw), (2, 3, 7, 8))
    cols = TF.unfold(torch.zeros(2, 3, 7, 8), **kw)
    _run(lambda x: EF.fold(x, (7, 8), **kw), lambda x: TF.fold(x, (7, 8), **kw), tuple(cols.shape))
    _run(
        lambda x: EF.fold(x, (7, 8), **kw),
        lambda x: TF.fold(x, (7, 8), **kw),
        tuple(cols.shape[1:]),
    )
    e, t = enn.Unfold(**kw), torch.nn.Unfold(**kw)
    assert repr(e) == repr(t)
    e, t = enn.Fold((7, 8), **kw), torch.nn.Fold((7, 8), **kw)
    assert repr(e) == repr(t)


PADS = [
    ("ZeroPad2d", (2,)),
    ("ZeroPad2d", ((1, 2, 0, 3),)),
    ("ConstantPad2d", (1, 3.5)),
    ("ConstantPad1d", ((2, 1), -1.0)),
    ("ReflectionPad2d", ((1, 2, 2, 1),)),
    ("ReflectionPad1d", (2,)),
    ("ReplicationPad2d", (2,)),
    ("ReplicationPad3d", (1,)),
    ("CircularPad2d", ((1, 2, 2, 0),)),
    ("ZeroPad1d", (2,)),
    ("ReflectionPad3d", (1,)),
]


@pytest.mark.parametrize("name,args", PADS)
def test_padding_modules(name, args):
    e, t = getattr(enn, name)(*args), getattr(torch.nn, name)(*args)
    assert repr(e) == repr(t)
    shape = {"1d": (2, 3, 6), "2d": (2, 3, 5, 6), "3d": (1, 2, 3, 4, 5)}[name[-2:]]
    _run(e, t, shape)


@pytest.mark.parametrize(
    "affine,track", [(False, False), (True, False), (True, True), (False, True)]
)
def test_instance_norm2d(affine, track):
    e = enn.InstanceNorm2d(3, affine=affine, track_running_stats=track)
    t = torch.nn.InstanceNorm2d(3, affine=affine, track_running_stats=track)
    assert repr(e) == repr(t)
    assert list(e.state_dict()) == list(t.state_dict())
    assert e.state_dict()._metadata == t.state_dict()._metadata  # version 2, as torch's
    if affine:
        w = np.random.RandomState(2).randn(3).astype(np.float32)
        e.weight.data = ember.tensor(w)
        t.weight.data = torch.from_numpy(w.copy())
    _run(e, t, (2, 3, 5, 4), rtol=1e-4, atol=1e-5)
    if track:
        assert_same(e.running_mean, t.running_mean, 1e-5, 1e-6)
        assert_same(e.running_var, t.running_var, 1e-5, 1e-6)
        e.eval()
        t.eval()
        _run(e, t, (2, 3, 5, 4), seed=3, rtol=1e-4, atol=1e-5)


def test_instance_norm_1d_3d_unbatched():
    _run(enn.InstanceNorm1d(3), torch.nn.InstanceNorm1d(3), (2, 3, 7), rtol=1e-4)
    _run(enn.InstanceNorm3d(2), torch.nn.InstanceNorm3d(2), (2, 2, 3, 4, 3), rtol=1e-4)
    _run(enn.InstanceNorm2d(3), torch.nn.InstanceNorm2d(3), (3, 4, 5), rtol=1e-4)
    assert repr(enn.InstanceNorm2d(3, affine=True, bias=False)) == repr(
        torch.nn.InstanceNorm2d(3, affine=True, bias=False)
    )


def test_grad_fn_names_match_torch():
    def names(F, T):
        x = T.randn(1, 2, 6, 6, requires_grad=True)
        w = T.randn(2, 2, 3, 3)
        x1 = x[:, :, 0]
        o, i = F.max_pool2d(x, 2, return_indices=True)
        outs = [
            F.conv2d(x, w),
            F.conv_transpose2d(x, w),
            F.conv1d(x1, w[:, :, 0]),
            F.max_pool2d(x, 2),
            F.max_pool1d(x1, 2),
            F.avg_pool2d(x, 2),
            F.adaptive_avg_pool2d(x, 3),
            F.adaptive_avg_pool2d(x, 1),
            F.adaptive_max_pool2d(x, 3),
            F.interpolate(x, scale_factor=2),
            F.interpolate(x, scale_factor=2, mode="bilinear"),
            F.interpolate(x1, scale_factor=2, mode="linear"),
            F.unfold(x, 2),
            F.fold(F.unfold(x, 2), (6, 6), 2),
            F.max_unpool2d(o, i, 2),
        ]
        return [y.grad_fn.name() for y in outs]

    assert names(EF, ember) == names(TF, torch)


def test_gradcheck_resample_float64():
    rs = np.random.RandomState(0)
    x = ember.tensor(rs.randn(1, 2, 3, 4), requires_grad=True)
    gc = ember.autograd.gradcheck
    assert gc(lambda a: EF.interpolate(a, size=(5, 3), mode="bilinear"), (x,))
    assert gc(
        lambda a: EF.interpolate(a, scale_factor=1.5, mode="bicubic", align_corners=True), (x,)
    )
    assert gc(lambda a: EF.fold(EF.unfold(a, 2, padding=1), (3, 4), 2, padding=1), (x,))
    assert gc(lambda a: EF.instance_norm(a), (x,))


# --- affine_grid / grid_sample ------------------------------------------------------------
@pytest.mark.parametrize("align", [True, False])
def test_affine_grid_values_and_theta_gradients(align):
    rng = np.random.default_rng(6)
    for theta_shape, size in (((2, 2, 3), (2, 1, 3, 4)), ((2, 3, 4), (2, 1, 2, 3, 4))):
        th = rng.standard_normal(theta_shape)
        e, t = ember.tensor(th, requires_grad=True), torch.tensor(th, requires_grad=True)
        ye, yt = (
            EF.affine_grid(e, size, align_corners=align),
            TF.affine_grid(t, size, align_corners=align),
        )
        assert_same(ye, yt, 1e-12, 1e-12)
        (ye * ye).sum().backward()
        (yt * yt).sum().backward()
        assert_same(e.grad, t.grad, 1e-12, 1e-12)
    with pytest.raises(ValueError, match="Expected a batch of 3D affine matrices"):
        EF.affine_grid(ember.zeros(1, 2, 3), (1, 1, 2, 3, 4), align_corners=False)
    with pytest.warns(UserWarning, match="align_corners=False since 1.3.0"):
        EF.affine_grid(ember.zeros(1, 2, 3), (1, 1, 2, 3))


@pytest.mark.parametrize(
    "mode,nd", [("bilinear", 4), ("nearest", 4), ("bicubic", 4), ("bilinear", 5), ("nearest", 5)]
)
@pytest.mark.parametrize("padding_mode", ["zeros", "border", "reflection"])
@pytest.mark.parametrize("align", [True, False])
def test_grid_sample_values_and_gradients_to_input_and_grid(mode, nd, padding_mode, align):
    rng = np.random.default_rng(7)
    shape = (2, 3, 4, 5) if nd == 4 else (2, 3, 3, 4, 5)
    gshape = (2, 3, 4, 2) if nd == 4 else (2, 2, 3, 4, 3)
    x = rng.standard_normal(shape)
    g = rng.random(gshape) * 2.6 - 1.3  # in and out of range
    outs = []
    for m in (ember, torch):
        a, b = m.tensor(x, requires_grad=True), m.tensor(g, requires_grad=True)
        y = m.nn.functional.grid_sample(
            a, b, mode=mode, padding_mode=padding_mode, align_corners=align
        )
        w = m.tensor(np.linspace(-1, 1, y.numel()).reshape(tuple(y.shape)))
        (y * w).sum().backward()
        outs.append((y, a.grad, b.grad))
    for e, t in zip(*outs):
        assert_same(e, t, 1e-10, 1e-10)


def test_grid_sample_errors_as_torch():
    x, g = ember.zeros(1, 1, 3, 3), ember.zeros(1, 2, 2, 2)
    with pytest.raises(ValueError, match="expected mode to be 'bilinear', 'nearest' or 'bicubic'"):
        EF.grid_sample(x, g, mode="area", align_corners=False)
    with pytest.raises(ValueError, match="expected padding_mode to be 'zeros', 'border'"):
        EF.grid_sample(x, g, padding_mode="wrap", align_corners=False)
    with pytest.raises(RuntimeError, match="bicubic interpolation only supports 4D input"):
        EF.grid_sample(
            ember.zeros(1, 1, 2, 2, 2),
            ember.zeros(1, 1, 1, 1, 3),
            mode="bicubic",
            align_corners=False,
        )
