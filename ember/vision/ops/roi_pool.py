"""RoIPool (Fast R-CNN): max over each bin of each region, as torchvision.ops.roi_pool, with its
gradient (to the arg-max pixel of each bin)."""

from __future__ import annotations

import numpy as np

from ember import Tensor, nn
from ember._backend.xp import move_like, xp_of
from ember.autograd.node import Op

from ._utils import pair, rois_of


def _round(v: np.ndarray) -> np.ndarray:
    """C's round: halves away from zero."""
    return np.sign(v) * np.floor(np.abs(v) + 0.5)


def _bins(start, length, pooled: int, size: int):
    """Per bin [start, end) along one axis, clipped to the map (the roi's own float type)."""
    bin_size = length / np.asarray(pooled, dtype=length.dtype)
    p = np.arange(pooled, dtype=length.dtype)
    lo = np.floor(p * bin_size).astype(np.int64) + int(start)
    hi = np.ceil((p + 1) * bin_size).astype(np.int64) + int(start)
    return np.clip(lo, 0, size), np.clip(hi, 0, size)


class RoIPoolOp(Op):
    @staticmethod
    def forward(ctx, x, rois, output_size, scale):
        xp = xp_of(x)
        xh = x.get() if xp is not np else x
        r = rois.get() if xp is not np else rois
        n, c, h, w = xh.shape
        ph, pw = output_size
        k = r.shape[0]
        out = np.zeros((k, c, ph, pw), dtype=xh.dtype)
        arg = np.full((k, c, ph, pw), -1, dtype=np.int64)
        sc = np.asarray(scale, dtype=r.dtype)
        for i in range(k):
            b = int(r[i, 0])
            x1, y1, x2, y2 = (int(v) for v in _round(r[i, 1:5] * sc))
            rw = np.asarray(max(x2 - x1 + 1, 1), dtype=r.dtype)
            rh = np.asarray(max(y2 - y1 + 1, 1), dtype=r.dtype)
            hs, he = _bins(y1, rh, ph, h)
            ws, we = _bins(x1, rw, pw, w)
            r0, r1 = int(hs.min()), int(he.max())
            c0, c1 = int(ws.min()), int(we.max())
            if r1 <= r0 or c1 <= c0:
                continue
            rows = np.arange(r0, r1)
            cols = np.arange(c0, c1)
            rm = (rows[None, :] >= hs[:, None]) & (rows[None, :] < he[:, None])  # [PH, h]
            cm = (cols[None, :] >= ws[:, None]) & (cols[None, :] < we[:, None])  # [PW, w]
            mask = rm[:, None, :, None] & cm[None, :, None, :]  # [PH, PW, h, w]
            region = xh[b, :, r0:r1, c0:c1]  # [C, h, w]
            vals = np.where(mask[None], region[:, None, None], -np.inf)
            flat = vals.reshape(c, ph, pw, -1)
            am = flat.argmax(-1)
            mx = np.take_along_axis(flat, am[..., None], -1)[..., 0]
            empty = ~mask.reshape(ph, pw, -1).any(-1)
            hh = r0 + am // (c1 - c0)
            ww = c0 + am % (c1 - c0)
            out[i] = np.where(empty[None], 0, mx)
            arg[i] = np.where(empty[None], -1, hh * w + ww)
        ctx.saved = (r[:, 0].astype(np.int64), arg, x.shape)
        return move_like(out, x)

    @staticmethod
    def backward(ctx, g):
        idx, arg, shape = ctx.saved
        g = g._data if isinstance(g, Tensor) else g
        gh = g.get() if xp_of(g) is not np else g
        n, c, h, w = shape
        gx = np.zeros((n, c, h * w), dtype=gh.dtype)
        kk = np.broadcast_to(idx[:, None, None, None], arg.shape)
        cc = np.broadcast_to(np.arange(c)[None, :, None, None], arg.shape)
        ok = arg >= 0
        np.add.at(gx, (kk[ok], cc[ok], arg[ok]), gh[ok])
        return move_like(gx.reshape(shape), g), None, None, None


def roi_pool(input: Tensor, boxes, output_size, spatial_scale: float = 1.0) -> Tensor:
    """RoI max pooling: [K, C, PH, PW] from ``input`` [N, C, H, W] and regions ``boxes`` ([K, 5]
    tensor or a list of [L, 4] tensors); region corners are rounded to whole pixels."""
    rois = rois_of(boxes)
    return RoIPoolOp.apply(input, rois.detach(), pair(output_size), float(spatial_scale))


class RoIPool(nn.Module):
    """The module form of :func:`roi_pool`."""

    def __init__(self, output_size, spatial_scale: float):
        super().__init__()
        self.output_size = output_size
        self.spatial_scale = spatial_scale

    def forward(self, input: Tensor, rois) -> Tensor:
        return roi_pool(input, rois, self.output_size, self.spatial_scale)

    def __repr__(self) -> str:
        return (
            f"{self.__class__.__name__}(output_size={self.output_size}, "
            f"spatial_scale={self.spatial_scale})"
        )
