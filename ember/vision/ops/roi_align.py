"""RoIAlign (Mask R-CNN): average of bilinear samples in each bin of each region, as
torchvision.ops.roi_align, with its gradient for the input.

Bilinear sampling on a regular grid is separable: the weight of a sample on pixel (h, w) is a
row weight times a column weight, and a sample outside the map (y < -1 or y > H, likewise x) has
a zero row or column weight. So each region's output is Wy @ x @ Wx^T with Wy [PH, H] and
Wx [PW, W] summing the weights of the bin's samples: two matrix products instead of a loop over
samples, and the gradient is the transposed products."""

from __future__ import annotations

import numpy as np

from ember import Tensor, nn
from ember._backend.xp import move_like, xp_of
from ember.autograd.node import Op

from ._utils import pair, rois_of

_CHUNK = 64  # regions per einsum: bounds the [K, C, PH, W] intermediate


def _axis_weights(start, bin_size, grid, pooled: int, size: int) -> np.ndarray:
    """[K, pooled, size]: summed bilinear weights of each bin's samples along one axis."""
    k = start.shape[0]
    gmax = int(grid.max()) if k else 0
    out = np.zeros((k, pooled, size), dtype=np.float64)
    if gmax == 0:
        return out
    g = np.maximum(grid, 1).astype(np.float64)
    p = np.arange(pooled, dtype=np.float64)[None, :, None]
    i = np.arange(gmax, dtype=np.float64)[None, None, :]
    pos = (
        start[:, None, None]
        + p * bin_size[:, None, None]
        + (i + 0.5) * (bin_size / g)[:, None, None]
    )
    used = (i < grid[:, None, None]) & (pos >= -1.0) & (pos <= size)
    pos = np.maximum(pos, 0.0)
    low = np.floor(pos).astype(np.int64)
    edge = low >= size - 1
    low = np.where(edge, size - 1, low)
    high = np.where(edge, size - 1, low + 1)
    pos = np.where(edge, low.astype(np.float64), pos)
    frac = pos - low
    kk = np.broadcast_to(np.arange(k)[:, None, None], pos.shape)
    pp = np.broadcast_to(np.arange(pooled)[None, :, None], pos.shape)
    np.add.at(out, (kk, pp, low), np.where(used, 1.0 - frac, 0.0))
    np.add.at(out, (kk, pp, high), np.where(used, frac, 0.0))
    return out


def _weights(rois: np.ndarray, ph: int, pw: int, h: int, w: int, scale, ratio, aligned):
    offset = 0.5 if aligned else 0.0
    r = rois.astype(np.float64)
    x1, y1 = r[:, 1] * scale - offset, r[:, 2] * scale - offset
    rw, rh = r[:, 3] * scale - offset - x1, r[:, 4] * scale - offset - y1
    if not aligned:  # torchvision forces malformed regions to 1x1
        rw, rh = np.maximum(rw, 1.0), np.maximum(rh, 1.0)
    bh, bw = rh / ph, rw / pw
    if ratio > 0:
        gh = np.full(r.shape[0], ratio, dtype=np.int64)
        gw = gh.copy()
    else:
        gh = np.maximum(np.ceil(rh / ph), 0).astype(np.int64)
        gw = np.maximum(np.ceil(rw / pw), 0).astype(np.int64)
    count = np.maximum(gh * gw, 1).astype(np.float64)
    wy = _axis_weights(y1, bh, gh, ph, h)
    wx = _axis_weights(x1, bw, gw, pw, w) / count[:, None, None]
    return r[:, 0].astype(np.int64), wy, wx


class RoIAlignOp(Op):
    @staticmethod
    def forward(ctx, x, rois, output_size, scale, ratio, aligned):
        xp = xp_of(x)
        n, c, h, w = x.shape
        ph, pw = output_size
        host = rois.get() if xp is not np else rois
        idx, wy, wx = _weights(host, ph, pw, h, w, scale, ratio, aligned)
        wy, wx = move_like(wy.astype(x.dtype), x), move_like(wx.astype(x.dtype), x)
        out = xp.zeros((idx.shape[0], c, ph, pw), dtype=x.dtype)
        for s in range(0, idx.shape[0], _CHUNK):
            sl = slice(s, s + _CHUNK)
            t = xp.einsum("kph,kchw->kcpw", wy[sl], x[idx[sl]])
            out[sl] = xp.einsum("kcpw,kqw->kcpq", t, wx[sl])
        ctx.saved = (idx, wy, wx, x.shape)
        return out

    @staticmethod
    def backward(ctx, g):
        idx, wy, wx, shape = ctx.saved
        g = g._data if isinstance(g, Tensor) else g
        xp = xp_of(g)
        gx = xp.zeros(shape, dtype=g.dtype)
        for s in range(0, idx.shape[0], _CHUNK):
            sl = slice(s, s + _CHUNK)
            t = xp.einsum("kcpq,kqw->kcpw", g[sl], wx[sl])
            part = xp.einsum("kph,kcpw->kchw", wy[sl], t)
            if xp is np:
                np.add.at(gx, idx[sl], part)
            else:
                for j, b in enumerate(idx[sl].tolist()):
                    gx[b] += part[j]
        return gx, None, None, None, None, None


def roi_align(
    input: Tensor,
    boxes,
    output_size,
    spatial_scale: float = 1.0,
    sampling_ratio: int = -1,
    aligned: bool = False,
) -> Tensor:
    """RoI Align: [K, C, PH, PW] pooled features of the regions ``boxes`` of ``input`` [N, C, H, W].

    ``boxes`` is a [K, 5] tensor (image index, x1, y1, x2, y2) or a list of [L, 4] tensors, one
    per image; ``sampling_ratio <= 0`` picks ceil(roi size / output size) samples per bin;
    ``aligned=True`` shifts the box by -0.5 pixel. The gradient flows to ``input``."""
    rois = rois_of(boxes)
    ph, pw = pair(output_size)
    return RoIAlignOp.apply(
        input, rois.detach(), (ph, pw), float(spatial_scale), int(sampling_ratio), bool(aligned)
    )


class RoIAlign(nn.Module):
    """The module form of :func:`roi_align`."""

    def __init__(self, output_size, spatial_scale: float, sampling_ratio: int, aligned=False):
        super().__init__()
        self.output_size = output_size
        self.spatial_scale = spatial_scale
        self.sampling_ratio = sampling_ratio
        self.aligned = aligned

    def forward(self, input: Tensor, rois) -> Tensor:
        return roi_align(
            input, rois, self.output_size, self.spatial_scale, self.sampling_ratio, self.aligned
        )

    def __repr__(self) -> str:
        return (
            f"{self.__class__.__name__}(output_size={self.output_size}, "
            f"spatial_scale={self.spatial_scale}, sampling_ratio={self.sampling_ratio}, "
            f"aligned={self.aligned})"
        )
