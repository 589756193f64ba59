"""Resampling: interpolate (nearest, nearest-exact, linear, bilinear, bicubic, trilinear, area),
pixel_shuffle/unshuffle, and unfold/fold (sliding blocks as columns and back).

Interpolation is separable: each spatial axis is mapped by a small (out, in) matrix, so forward
and backward are a few tensordots and the gradient is exact for every mode.
"""

from __future__ import annotations

import math

import numpy as np

from .._backend.casting import cast
from .._backend.xp import xp_of
from ..autograd.node import Op
from ..tensor import Tensor
from .conv import _crop, _pad_zeros, _prod, col2im, im2col, ntuple

_I64 = np.dtype(np.int64)

__all__ = ["interpolate", "upsample", "pixel_shuffle", "pixel_unshuffle", "unfold", "fold"]


class SeparableMap(Op):
    """y = x mapped along each of the last len(mats) axes by mats[i] of shape (out_i, in_i)."""

    def name(self) -> str:
        return self.__dict__.get("label", "SeparableMapBackward0")

    @staticmethod
    def forward(ctx, x, mats, label=None):
        xp = xp_of(x)
        nsp = len(mats)
        y = x
        for i, m in enumerate(mats):
            if m is None:
                continue
            ax = x.ndim - nsp + i
            y = xp.moveaxis(
                xp.tensordot(y, xp.asarray(m.astype(x.dtype)), axes=([ax], [1])), -1, ax
            )
        ctx.mats = mats
        if label is not None:
            ctx.label = label
        return xp.ascontiguousarray(y) if y is not x else y.copy()

    @staticmethod
    def backward(ctx, g):
        xp = xp_of(g)
        mats = ctx.mats
        nsp = len(mats)
        y = g
        for i, m in enumerate(mats):
            if m is None:
                continue
            ax = g.ndim - nsp + i
            y = xp.moveaxis(
                xp.tensordot(y, xp.asarray(m.astype(g.dtype)), axes=([ax], [0])), -1, ax
            )
        return xp.ascontiguousarray(y), None, None


_LABEL = {
    "nearest": "Nearest",
    "nearest-exact": "NearestExact",
    "linear": "Linear",
    "bilinear": "Bilinear",
    "bicubic": "Bicubic",
    "trilinear": "Trilinear",
}


def _scale(insz, outsz, align, sf):
    if align:
        return (insz - 1) / (outsz - 1) if outsz > 1 else 0.0
    if sf is not None and sf > 0:
        return 1.0 / sf
    return insz / outsz


def _nearest_matrix(insz, outsz, sf, exact):
    m = np.zeros((outsz, insz))
    sc = np.float32(_scale(insz, outsz, False, sf))
    o = np.arange(outsz, dtype=np.float32)
    if exact:
        src = cast(np.floor((o + np.float32(0.5)) * sc), _I64)
    elif outsz == insz:
        src = np.arange(outsz)
    elif outsz == 2 * insz:
        src = np.arange(outsz) >> 1
    else:
        src = cast(np.floor(o * sc), _I64)
    src = np.minimum(src, insz - 1)
    m[np.arange(outsz), src] = 1.0
    return m


def _linear_matrix(insz, outsz, sf, align, ft=np.float32):
    # torch computes source positions in the input's opmath type: float64 for double inputs
    m = np.zeros((outsz, insz))
    sc = ft(_scale(insz, outsz, align, sf))
    o = np.arange(outsz, dtype=ft)
    if align:
        src = sc * o
    else:
        src = np.maximum(sc * (o + ft(0.5)) - ft(0.5), ft(0))
    i0 = cast(src, _I64)
    i1 = np.where(i0 < insz - 1, i0 + 1, i0)
    l1 = src - i0.astype(ft)
    l0 = ft(1) - l1
    r = np.arange(outsz)
    np.add.at(m, (r, i0), l0)
    np.add.at(m, (r, i1), l1)
    return m


def _cubic_matrix(insz, outsz, sf, align, ft=np.float32):
    a = -0.75
    m = np.zeros((outsz, insz))
    sc = ft(_scale(insz, outsz, align, sf))
    o = np.arange(outsz, dtype=ft)
    src = sc * o if align else sc * (o + ft(0.5)) - ft(0.5)
    i0 = cast(np.floor(src), _I64)
    t = (src - np.floor(src)).astype(np.float64)

    def c1(x):
        return ((a + 2) * x - (a + 3)) * x * x + 1

    def c2(x):
        return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a

    ws = [c2(t + 1), c1(t), c1(1 - t), c2(2 - t)]
    r = np.arange(outsz)
    for j, w in enumerate(ws):
        idx = np.clip(i0 - 1 + j, 0, insz - 1)
        np.add.at(m, (r, idx), w)
    return m


def _area_matrix(insz, outsz):
    m = np.zeros((outsz, insz))
    for i in range(outsz):
        a = (i * insz) // outsz
        b = -(-((i + 1) * insz) // outsz)
        m[i, a:b] = 1.0 / (b - a)
    return m


_MODES = ("nearest", "linear", "bilinear", "bicubic", "trilinear", "area", "nearest-exact")
_DIMS = {"linear": 1, "bilinear": 2, "bicubic": 2, "trilinear": 3}


def interpolate(
    input: Tensor,
    size=None,
    scale_factor=None,
    mode: str = "nearest",
    align_corners: bool | None = None,
    recompute_scale_factor: bool | None = None,
    antialias: bool = False,
) -> Tensor:
    """Resize the spatial dims, as torch.nn.functional.interpolate."""
    if mode not in _MODES:
        raise NotImplementedError(
            f"Input Error: Only 3D, 4D and 5D input Tensors supported (got {input.ndim}D) for the "
            f"modes: nearest | linear | bilinear | bicubic | trilinear | area | nearest-exact "
            f"(got {mode})"
        )
    if mode in ("nearest", "area", "nearest-exact"):
        if align_corners is not None:
            raise ValueError(
                "align_corners option can only be set with the interpolating modes: "
                "linear | bilinear | bicubic | trilinear"
            )
    elif align_corners is None:
        align_corners = False
    if antialias:
        raise NotImplementedError("ember: interpolate(antialias=True) is not supported")
    nsp = input.ndim - 2
    if nsp < 1 or nsp > 3:
        raise NotImplementedError(
            f"Input Error: Only 3D, 4D and 5D input Tensors supported (got {input.ndim}D) for the "
            f"modes: nearest | linear | bilinear | bicubic | trilinear | area | nearest-exact "
            f"(got {mode})"
        )
    need = _DIMS.get(mode)
    if need is not None and need != nsp:
        raise NotImplementedError(
            f"Got {input.ndim}D input, but {mode} mode needs {need + 2}D input"
        )
    sp = tuple(input.shape[2:])
    if size is not None and scale_factor is not None:
        raise ValueError("only one of size or scale_factor should be defined")
    if size is not None:
        if isinstance(size, (list, tuple)):
            if len(size) != nsp:
                raise ValueError(
                    f"Input and output must have the same number of spatial "
                    f"dimensions, but got input with spatial dimensions of "
                    f"{list(sp)} and output size of {list(size)}. Please provide "
                    f"input tensor in (N, C, d1, d2, ...,dK) format and output size "
                    f"in (o1, o2, ...,oK) format."
                )
            osz = tuple(int(e) for e in size)
        else:
            osz = (int(size),) * nsp
        sfs = (None,) * nsp
    elif scale_factor is not None:
        if isinstance(scale_factor, (list, tuple)):
            if len(scale_factor) != nsp:
                raise ValueError(
                    f"Input and scale_factor must have the same number of spatial "
                    f"dimensions, but got input with spatial dimensions of "
                    f"{list(sp)} and scale_factor of shape {list(scale_factor)}. "
                    f"Please provide input tensor in (N, C, d1, d2, ...,dK) format "
                    f"and scale_factor in (s1, s2, ...,sK) format."
                )
            sfs = tuple(float(e) for e in scale_factor)
        else:
            sfs = (float(scale_factor),) * nsp
        osz = tuple(int(math.floor(sp[i] * sfs[i])) for i in range(nsp))
        if recompute_scale_factor:
            sfs = (None,) * nsp
    else:
        raise ValueError("either size or scale_factor should be defined")
    if any(e <= 0 for e in osz):
        raise RuntimeError(
            f"Input and output sizes should be greater than 0, but got input "
            f"({', '.join(map(str, sp))}) output ({', '.join(map(str, osz))})"
        )
    ft = np.float64 if input._data.dtype == np.float64 else np.float32
    mats = []
    for i in range(nsp):
        if mode == "nearest":
            m = _nearest_matrix(sp[i], osz[i], sfs[i], False)
        elif mode == "nearest-exact":
            m = _nearest_matrix(sp[i], osz[i], sfs[i], True)
        elif mode == "area":
            m = _area_matrix(sp[i], osz[i])
        elif mode == "bicubic":
            m = _cubic_matrix(sp[i], osz[i], sfs[i], align_corners, ft)
        else:
            m = _linear_matrix(sp[i], osz[i], sfs[i], align_corners, ft)
        mats.append(
            None
            if osz[i] == sp[i] and mode != "bicubic" and np.array_equal(m, np.eye(sp[i]))
            else m
        )
    if mode == "area":
        label = "MeanBackward1" if all(e == 1 for e in osz) else f"AdaptiveAvgPool{nsp}DBackward0"
    else:
        label = f"Upsample{_LABEL[mode]}{nsp}DBackward0"
    return SeparableMap.apply(input, tuple(mats), label)


def upsample(
    input: Tensor,
    size=None,
    scale_factor=None,
    mode: str = "nearest",
    align_corners: bool | None = None,
) -> Tensor:
    """Deprecated alias of interpolate."""
    return interpolate(input, size, scale_factor, mode, align_corners)


# ---------------------------------------------------------------------------------------------
# pixel shuffle


def pixel_shuffle(input: Tensor, upscale_factor: int) -> Tensor:
    """(*, C*r*r, H, W) -> (*, C, H*r, W*r), as torch.nn.functional.pixel_shuffle."""
    r = int(upscale_factor)
    if input.ndim < 3:
        raise RuntimeError(
            f"pixel_shuffle expects input to have at least 3 dimensions, but got "
            f"input with {input.ndim} dimension(s)"
        )
    if r <= 0:
        raise RuntimeError(f"pixel_shuffle expects a positive upscale_factor, but got {r}")
    *lead, c, h, w = input.shape
    if c % (r * r):
        raise RuntimeError(
            f"pixel_shuffle expects its input's 'channel' dimension to be "
            f"divisible by the square of upscale_factor, but input.size(-3)={c} "
            f"is not divisible by {r * r}"
        )
    nl = len(lead)
    y = input.reshape(*lead, c // (r * r), r, r, h, w)
    y = y.permute(*range(nl), nl, nl + 3, nl + 1, nl + 4, nl + 2)
    return y.reshape(*lead, c // (r * r), h * r, w * r)


def pixel_unshuffle(input: Tensor, downscale_factor: int) -> Tensor:
    """(*, C, H*r, W*r) -> (*, C*r*r, H, W), as torch.nn.functional.pixel_unshuffle."""
    r = int(downscale_factor)
    if input.ndim < 3:
        raise RuntimeError(
            f"pixel_unshuffle expects input to have at least 3 dimensions, but "
            f"got input with {input.ndim} dimension(s)"
        )
    if r <= 0:
        raise RuntimeError(f"pixel_unshuffle expects a positive downscale_factor, but got {r}")
    *lead, c, h, w = input.shape
    if h % r:
        raise RuntimeError(
            f"pixel_unshuffle expects height to be divisible by downscale_factor, "
            f"but input.size(-2)={h} is not divisible by {r}"
        )
    if w % r:
        raise RuntimeError(
            f"pixel_unshuffle expects width to be divisible by downscale_factor, "
            f"but input.size(-1)={w} is not divisible by {r}"
        )
    nl = len(lead)
    y = input.reshape(*lead, c, h // r, r, w // r, r)
    y = y.permute(*range(nl), nl, nl + 2, nl + 4, nl + 1, nl + 3)
    return y.reshape(*lead, c * r * r, h // r, w // r)


# ---------------------------------------------------------------------------------------------
# unfold / fold


class Unfold(Op):
    def name(self) -> str:
        return "Im2ColBackward0"

    @staticmethod
    def forward(ctx, x, k, d, p, s):
        pads = tuple((e, e) for e in p)
        xpad = _pad_zeros(x, pads)
        osz = tuple((xpad.shape[2 + i] - d[i] * (k[i] - 1) - 1) // s[i] + 1 for i in range(2))
        ctx.geo = (x.shape, xpad.shape, k, d, pads, s, osz)
        return im2col(xpad, k, s, d, osz)

    @staticmethod
    def backward(ctx, g):
        xshape, pshape, k, d, pads, s, osz = ctx.geo
        return _crop(col2im(g, pshape, k, s, d, osz), pads, xshape), None, None, None, None


class Fold(Op):
    def name(self) -> str:
        return "Col2ImBackward0"

    @staticmethod
    def forward(ctx, x, osize, k, d, p, s):
        xp = xp_of(x)
        pads = tuple((e, e) for e in p)
        n = x.shape[0]
        c = x.shape[1] // _prod(k)
        pshape = (n, c) + tuple(osize[i] + 2 * p[i] for i in range(2))
        bsz = tuple((pshape[2 + i] - d[i] * (k[i] - 1) - 1) // s[i] + 1 for i in range(2))
        ctx.geo = (pshape, k, d, pads, s, bsz)
        out = _crop(col2im(x, pshape, k, s, d, bsz), pads, (n, c) + tuple(osize))
        return xp.ascontiguousarray(out)

    @staticmethod
    def backward(ctx, g):
        pshape, k, d, pads, s, bsz = ctx.geo
        gp = _pad_zeros(g, pads)
        return im2col(gp, k, s, d, bsz), None, None, None, None, None


def unfold(input: Tensor, kernel_size, dilation=1, padding=0, stride=1) -> Tensor:
    """Sliding local blocks of (N, C, H, W) as columns (N, C*kh*kw, L), as F.unfold."""
    if input.ndim not in (3, 4):
        raise NotImplementedError(
            f"Input Error: Only 3D or 4D input Tensors are supported (got {input.ndim}D)"
        )
    k = ntuple(kernel_size, 2, "kernel_size")
    d = ntuple(dilation, 2, "dilation")
    p = ntuple(padding, 2, "padding")
    s = ntuple(stride, 2, "stride")
    x = input.unsqueeze(0) if input.ndim == 3 else input
    out = Unfold.apply(x, k, d, p, s)
    return out.squeeze(0) if input.ndim == 3 else out


def fold(input: Tensor, output_size, kernel_size, dilation=1, padding=0, stride=1) -> Tensor:
    """Sum columns (N, C*kh*kw, L) back into (N, C, H, W), as F.fold."""
    if input.ndim not in (2, 3):
        raise NotImplementedError(
            f"Input Error: Only unbatched (2D) or batched (3D) input "
            f"Tensors are supported (got {input.ndim}D)"
        )
    osize = ntuple(output_size, 2, "output_size")
    k = ntuple(kernel_size, 2, "kernel_size")
    d = ntuple(dilation, 2, "dilation")
    p = ntuple(padding, 2, "padding")
    s = ntuple(stride, 2, "stride")
    x = input.unsqueeze(0) if input.ndim == 2 else input
    kk = _prod(k)
    if x.shape[1] % kk:
        raise RuntimeError(
            f"Expected size of input's dimension 1 to be divisible by the product "
            f"of kernel_size, but got input.size(1)={x.shape[1]} and "
            f"kernel_size={k}"
        )
    nb = _prod((osize[i] + 2 * p[i] - d[i] * (k[i] - 1) - 1) // s[i] + 1 for i in range(2))
    if x.shape[2] != nb:
        raise RuntimeError(
            f"Given output_size={osize}, kernel_size={k}, dilation={d}, "
            f"padding={p}, stride={s}, expected size of input's dimension 2 to "
            f"match the calculated number of sliding blocks, but got "
            f"input.size(2)={x.shape[2]}."
        )
    out = Fold.apply(x, osize, k, d, p, s)
    return out.squeeze(0) if input.ndim == 2 else out
