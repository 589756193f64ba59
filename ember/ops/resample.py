"""Resampling: interpolate (nearest, nearest-exact, linear, bilinear, bicubic, trilinear, area),
pixel_shuffle/unshuffle, and unfold/fold (sliding blocks as columns and back).

Interpolation is separable: each spatial axis is mapped by a small (out, in) matrix, so forward
and backward are a few tensordots and the gradient is exact for every mode.
"""

from __future__ import annotations

import itertools
import math
import warnings

import numpy as np

from .._backend.casting import cast
from .._backend.xp import xp_of
from ..autograd.node import Op
from ..tensor import Tensor, _wrap
from ._ignore import IgnoreSecond
from .conv import _crop, _pad_zeros, _prod, col2im, im2col, ntuple

_I64 = np.dtype(np.int64)

__all__ = [
    "interpolate",
    "upsample",
    "pixel_shuffle",
    "pixel_unshuffle",
    "unfold",
    "fold",
    "affine_grid",
    "grid_sample",
    "grid_sampler",
    "grid_sampler_2d",
    "grid_sampler_3d",
]


class SeparableMap(Op):
    """y = x mapped along each of the last len(mats) axes by mats[i] of shape (out_i, in_i)."""

    adjoint = 0  # linear in x: create_graph=True records its gradient as a LinearAdjoint

    def name(self) -> str:
        return self.__dict__.get("label", "SeparableMapBackward0")

    @staticmethod
    def forward(ctx, x, mats, label=None):
        ctx.args = (None, mats, label)
        # area interpolation is torch's adaptive average pooling, whose backward takes the input
        ctx.grad_reads_input = label is not None and label.startswith("AdaptiveAvgPool")
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
    adjoint = 0  # linear in x: create_graph=True records its gradient as a LinearAdjoint

    def name(self) -> str:
        return "Im2ColBackward0"

    @staticmethod
    def forward(ctx, x, k, d, p, s):
        ctx.args = (None, k, d, p, s)
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
    adjoint = 0  # linear in x: create_graph=True records its gradient as a LinearAdjoint

    def name(self) -> str:
        return "Col2ImBackward0"

    @staticmethod
    def forward(ctx, x, osize, k, d, p, s):
        ctx.args = (None, osize, k, d, p, s)
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


# --- affine_grid / grid_sample ------------------------------------------------------------
# Both are written with tensor ops, so the gradients to the input, to theta and to the grid
# follow from the ops' own backwards (gathers, clamps and products).
_ALIGN_WARNING = (
    "Default grid_sample and affine_grid behavior has changed to align_corners=False since "
    "1.3.0. Please specify align_corners=True if the old behavior is desired. See the "
    "documentation of grid_sample for details."
)


def _align(align_corners):
    if align_corners is None:
        warnings.warn(_ALIGN_WARNING, stacklevel=3)
        return False
    return bool(align_corners)


def _base_coords(n: int, align: bool, dtype) -> np.ndarray:
    if n <= 1:
        return np.zeros(n, dtype)
    if align:
        return np.linspace(-1.0, 1.0, n).astype(dtype)
    return ((np.arange(n) * 2 + 1) / n - 1).astype(dtype)


def affine_grid(theta: Tensor, size, align_corners: bool | None = None) -> Tensor:
    """Sampling grids (N, H, W, 2) or (N, D, H, W, 3) of the affine maps theta (N, 2, 3) or
    (N, 3, 4), in grid_sample's normalised coordinates."""
    align = _align(align_corners)
    if not theta.is_floating_point():
        raise ValueError(f"Expected theta to have floating point type, but got {theta.dtype}")
    size = tuple(int(s) for s in size)
    tshape = tuple(theta._data.shape)
    if len(size) == 4:
        if tshape[1:] != (2, 3) or len(tshape) != 3:
            raise ValueError(
                f"Expected a batch of 2D affine matrices of shape Nx2x3 for size {size}. "
                f"Got {theta.shape}."
            )
        spatial = size[2:]
    elif len(size) == 5:
        if tshape[1:] != (3, 4) or len(tshape) != 3:
            raise ValueError(
                f"Expected a batch of 3D affine matrices of shape Nx3x4 for size {size}. "
                f"Got {theta.shape}."
            )
        spatial = size[2:]
    else:
        raise NotImplementedError(
            f"affine_grid only supports 4D and 5D sizes, for 2D and 3D affine transforms, "
            f"respectively. Got size {size}."
        )
    if min(size) <= 0:
        raise ValueError(f"Expected non-zero, positive output size. Got {size}")
    dt = theta._data.dtype
    axes = [_base_coords(n, align, dt) for n in spatial]  # depth/height/width order
    mesh = np.meshgrid(*axes, indexing="ij")
    # coordinates are (x, y[, z], 1): x runs along the last spatial dim
    cols = [m for m in reversed(mesh)] + [np.ones(spatial, dt)]
    base = np.stack(cols, -1).reshape(1, -1, len(cols))
    grid = _like(theta, base).matmul(theta.transpose(1, 2))
    return grid.reshape(size[0], *spatial, len(spatial))


def _like(t: Tensor, arr) -> Tensor:
    """A constant array as a tensor on t's device."""
    return _wrap(xp_of(t._data).asarray(arr))


def _unnormalize(c: Tensor, n: int, align: bool) -> Tensor:
    return (c + 1) * ((n - 1) / 2) if align else ((c + 1) * n - 1) / 2


def _reflect(x: Tensor, lo2: int, hi2: int) -> Tensor:
    """Reflect coordinates into [lo2/2, hi2/2] (bounds given doubled), as torch's
    reflect_coordinates: the gradient flips sign on odd reflections."""
    if lo2 == hi2:
        return x * 0
    lo, span = lo2 / 2, (hi2 - lo2) / 2
    d = (x - lo).abs()
    extra = d.fmod(span)
    flips = (d / span).floor()
    even = flips.remainder(2) == 0
    return (extra + lo).where(even, span - extra + lo)


def _source_coords(c: Tensor, n: int, padding: str, align: bool) -> Tensor:
    """Unnormalised source coordinate with the padding mode's folding (bilinear, nearest)."""
    x = _unnormalize(c, n, align)
    if padding == "border":
        x = x.clamp(0, n - 1)
    elif padding == "reflection":
        x = _reflect(x, 0, 2 * (n - 1)) if align else _reflect(x, -1, 2 * n - 1)
        x = x.clamp(0, n - 1)
    return x


def _tap_index(i, n: int, padding: str, align: bool):
    """(index clipped into range, in-range mask) of integer tap positions ``i`` (an array)."""
    xp = xp_of(i)
    if padding == "border":
        i = xp.clip(i, 0, n - 1)
    elif padding == "reflection":
        f = i.astype(np.float64)
        lo2, hi2 = (0, 2 * (n - 1)) if align else (-1, 2 * n - 1)
        if lo2 != hi2:
            lo, span = lo2 / 2, (hi2 - lo2) / 2
            d = np.abs(f - lo)
            extra = np.fmod(d, span)
            flips = np.floor(d / span)
            f = np.where(flips % 2 == 0, extra + lo, span - extra + lo)
        i = xp.clip(cast(f, np.dtype(np.int64)), 0, n - 1)
    ok = (i >= 0) & (i < n)
    return xp.clip(i, 0, n - 1), ok


def _gather_taps(flat: Tensor, idx_list, sizes, weight: Tensor | None, mask) -> Tensor:
    """The values of ``flat`` (N, C, prod(sizes)) at one tap (an index array per spatial dim,
    each (N, *out)), zero where ``mask`` is False, times ``weight``: (N, C, *out)."""
    lin = idx_list[0]
    for i, n in zip(idx_list[1:], sizes[1:]):
        lin = lin * n + i
    nb, c = flat.shape[0], flat.shape[1]
    out_shape = lin.shape[1:]
    ix = xp_of(lin).broadcast_to(lin.reshape(nb, 1, -1), (nb, c, lin[0].size))
    v = flat.gather(2, _wrap(xp_of(lin).ascontiguousarray(ix))).reshape(nb, c, *out_shape)
    m = _like(flat, mask.reshape(nb, 1, *out_shape).astype(flat._data.dtype))
    v = v * m
    return v if weight is None else v * weight.unsqueeze(1)


def grid_sample(
    input: Tensor,
    grid: Tensor,
    mode: str = "bilinear",
    padding_mode: str = "zeros",
    align_corners: bool | None = None,
) -> Tensor:
    """Sample input (N, C, H, W) or (N, C, D, H, W) at the normalised grid locations
    (N, H', W', 2) or (N, D', H', W', 3), ``(x, y[, z])`` in [-1, 1]."""
    if mode not in ("bilinear", "nearest", "bicubic"):
        raise ValueError(
            f"nn.functional.grid_sample(): expected mode to be 'bilinear', 'nearest' or "
            f"'bicubic', but got: '{mode}'"
        )
    if padding_mode not in ("zeros", "border", "reflection"):
        raise ValueError(
            "nn.functional.grid_sample(): expected padding_mode to be 'zeros', 'border', or "
            f"'reflection', but got: '{padding_mode}'"
        )
    align = _align(align_corners)
    nd = input._data.ndim
    if nd not in (4, 5):
        raise RuntimeError(
            f"grid_sampler(): expected 4D or 5D input and grid with same number of dimensions, "
            f"but got input with sizes {list(input.shape)} and grid with sizes {list(grid.shape)}"
        )
    nsp = nd - 2
    if grid._data.ndim != nd or grid._data.shape[-1] != nsp or grid.shape[0] != input.shape[0]:
        raise RuntimeError(
            f"grid_sampler(): expected grid to have size {nsp} in last dimension and the same "
            f"batch size as input, but got input with sizes {list(input.shape)} and grid with "
            f"sizes {list(grid.shape)}"
        )
    if mode == "bicubic" and nsp != 2:
        raise RuntimeError("grid_sampler(): bicubic interpolation only supports 4D input")
    if grid.dtype != input.dtype:
        raise RuntimeError(
            f"grid_sampler(): expected input and grid to have same dtype, but input has "
            f"{input.dtype} and grid has {grid.dtype}"
        )
    sizes = tuple(input.shape[2:])  # (D,) H, W
    nb, c = input.shape[0], input.shape[1]
    flat = input.reshape(nb, c, -1)
    # grid's last dim lists x (width) first: coordinate k belongs to spatial dim nsp - 1 - k
    coords = [grid[..., nsp - 1 - d] for d in range(nsp)]  # in (D,) H, W order
    if mode == "bicubic":
        return _bicubic(flat, coords, sizes, padding_mode, align)
    src = [_source_coords(coords[d], sizes[d], padding_mode, align) for d in range(nsp)]
    pad = "zeros"  # after the folding above, taps only need the in-range mask
    if mode == "nearest":
        xp = xp_of(input._data)
        idx, ok = [], None
        for d in range(nsp):
            i, m = _tap_index(cast(xp.rint(src[d]._data), np.dtype(np.int64)), sizes[d], pad, align)
            idx.append(i)
            ok = m if ok is None else ok & m
        out = _gather_taps(flat, idx, sizes, None, ok)
        # torch's nearest gives the grid a zero gradient (not none)
        return IgnoreSecond.apply(out, grid) if grid._rg else out
    lows = [s.detach().floor() for s in src]
    fr = [src[d] - lows[d] for d in range(nsp)]  # the weights carry the grid's gradient
    out = None
    for corner in itertools.product((0, 1), repeat=nsp):
        idx, ok, w = [], None, None
        for d, k in enumerate(corner):
            i, m = _tap_index(cast(lows[d]._data, np.dtype(np.int64)) + k, sizes[d], pad, align)
            idx.append(i)
            ok = m if ok is None else ok & m
            wd = fr[d] if k else 1 - fr[d]
            w = wd if w is None else w * wd
        v = _gather_taps(flat, idx, sizes, w, ok)
        out = v if out is None else out + v
    return out


def _cubic_weights(t: Tensor) -> list:
    a = -0.75

    def near(x):  # |x| <= 1
        return ((a + 2) * x - (a + 3)) * x * x + 1

    def far(x):  # 1 < |x| < 2
        return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a

    return [far(t + 1), near(t), near(1 - t), far(2 - t)]


def _bicubic(flat: Tensor, coords, sizes, padding: str, align: bool) -> Tensor:
    ys = _unnormalize(coords[0], sizes[0], align)
    xs = _unnormalize(coords[1], sizes[1], align)
    y0, x0 = ys.detach().floor(), xs.detach().floor()
    wy, wx = _cubic_weights(ys - y0), _cubic_weights(xs - x0)
    yi, xi = cast(y0._data, np.dtype(np.int64)), cast(x0._data, np.dtype(np.int64))
    out = None
    for a in range(4):
        iy, my = _tap_index(yi - 1 + a, sizes[0], padding, align)
        for b in range(4):
            ix, mx = _tap_index(xi - 1 + b, sizes[1], padding, align)
            v = _gather_taps(flat, [iy, ix], sizes, wy[a] * wx[b], my & mx)
            out = v if out is None else out + v
    return out


_GS_MODES = ("bilinear", "nearest", "bicubic")
_GS_PADDING = ("zeros", "border", "reflection")


def grid_sampler(
    input: Tensor, grid: Tensor, interpolation_mode: int, padding_mode: int, align_corners: bool
) -> Tensor:
    """torch.grid_sampler: grid_sample with the modes as torch's integer codes."""
    return grid_sample(
        input, grid, _GS_MODES[interpolation_mode], _GS_PADDING[padding_mode], align_corners
    )


grid_sampler_2d = grid_sampler
grid_sampler_3d = grid_sampler
