"""NumPy kernels behind the tensor transforms: resize, grid sampling, padding, blur, HSV.

They take and return NumPy arrays shaped [N, C, H, W] in float32 or float64, and do the
arithmetic in that dtype and in torch's order (separable antialiased resize, grid_sample with
zeros padding and ``align_corners=False``), so the results match torch's CPU kernels to the last
bit or within a rounding step of float32.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "resize",
    "affine_grid",
    "perspective_grid",
    "grid_sample",
    "pad",
    "depthwise_conv2d",
    "rgb_to_hsv",
    "hsv_to_rgb",
]


# -- resize -------------------------------------------------------------------------------------


def _bilinear_filter(x: np.ndarray) -> np.ndarray:
    x = np.abs(x)
    return np.where(x < 1.0, 1.0 - x, 0.0)


def _bicubic_filter(x: np.ndarray, a: float) -> np.ndarray:
    x = np.abs(x)
    near = ((a + 2.0) * x - (a + 3.0)) * x * x + 1.0
    far = (((x - 5.0) * x + 8.0) * x - 4.0) * a
    return np.where(x < 1.0, near, np.where(x < 2.0, far, 0.0))


def _aa_weights(
    in_size: int, out_size: int, mode: str, dtype: np.dtype
) -> tuple[np.ndarray, np.ndarray]:
    """Indices [out, taps] and weights [out, taps] of the antialiased (PIL-style) filter."""
    interp_size = 2 if mode == "bilinear" else 4
    f = dtype.type
    scale = f(in_size) / f(out_size)
    support = f(interp_size * 0.5) * scale if scale >= 1.0 else f(interp_size * 0.5)
    invscale = f(1.0) / scale if scale >= 1.0 else f(1.0)
    i = np.arange(out_size)
    center = scale * (i + f(0.5)).astype(dtype)
    xmin = np.maximum((center - support + f(0.5)).astype(np.int64), 0)
    xmax = np.minimum((center + support + f(0.5)).astype(np.int64), in_size)
    xsize = xmax - xmin
    taps = int(xsize.max())
    j = np.arange(taps)
    pos = (j[None, :] + xmin[:, None]).astype(np.float64) - center[:, None].astype(np.float64)
    arg = ((pos + 0.5) * float(invscale)).astype(dtype)
    if mode == "bilinear":
        w = _bilinear_filter(arg).astype(dtype)
    else:
        # the antialiased bicubic uses Keys' a = -0.5, as PIL does
        w = _bicubic_filter(arg.astype(np.float64), -0.5).astype(dtype)
    w = np.where(j[None, :] < xsize[:, None], w, f(0))
    total = np.zeros(out_size, dtype=dtype)
    for k in range(taps):
        total = (total + w[:, k]).astype(dtype)
    w = np.where(total[:, None] != 0, w / np.where(total == 0, 1, total)[:, None], f(0)).astype(
        dtype
    )
    idx = np.minimum(xmin[:, None] + j[None, :], in_size - 1)
    return idx, w


def _apply_taps(x: np.ndarray, axis: int, idx: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Sum over taps of x[.., idx[:, k], ..] * w[:, k] along ``axis``, tap by tap as torch does."""
    shape = [1] * x.ndim
    shape[axis] = idx.shape[0]
    out = None
    for k in range(idx.shape[1]):
        term = np.take(x, idx[:, k], axis=axis) * w[:, k].reshape(shape)
        out = term if out is None else out + term
    return out


def _linear_weights(in_size: int, out_size: int, dtype: np.dtype) -> tuple[np.ndarray, np.ndarray]:
    """Two-tap indices and weights of plain bilinear resizing (align_corners=False)."""
    f = dtype.type
    scale = f(in_size) / f(out_size)
    # one rounding of scale * (i + 0.5) - 0.5, as torch's fused multiply-add gives
    src = (np.float64(scale) * (np.arange(out_size) + 0.5) - 0.5).astype(dtype)
    src = np.maximum(src, f(0))
    i0 = src.astype(np.int64)
    i1 = i0 + (i0 < in_size - 1)
    l1 = (src - i0.astype(dtype)).astype(dtype)
    l0 = (f(1) - l1).astype(dtype)
    return np.stack([i0, i1], 1), np.stack([l0, l1], 1)


def _cubic_weights(in_size: int, out_size: int, dtype: np.dtype) -> tuple[np.ndarray, np.ndarray]:
    """Four-tap indices and weights of plain bicubic resizing (a = -0.75, clamped borders)."""
    f = dtype.type
    scale = f(in_size) / f(out_size)
    # one rounding of scale * (i + 0.5) - 0.5, as torch's fused multiply-add gives
    src = (np.float64(scale) * (np.arange(out_size) + 0.5) - 0.5).astype(dtype)
    i0 = np.floor(src).astype(np.int64)
    t = (src - i0.astype(dtype)).astype(dtype)
    a = f(-0.75)
    x1 = t
    w0 = ((a * (x1 + 1) - 5 * a) * (x1 + 1) + 8 * a) * (x1 + 1) - 4 * a
    w1 = ((a + 2) * x1 - (a + 3)) * x1 * x1 + 1
    x2 = f(1) - t
    w2 = ((a + 2) * x2 - (a + 3)) * x2 * x2 + 1
    w3 = ((a * (x2 + 1) - 5 * a) * (x2 + 1) + 8 * a) * (x2 + 1) - 4 * a
    idx = np.clip(np.stack([i0 - 1, i0, i0 + 1, i0 + 2], 1), 0, in_size - 1)
    return idx, np.stack([w0, w1, w2, w3], 1).astype(dtype)


def _nearest_index(in_size: int, out_size: int, exact: bool) -> np.ndarray:
    scale = np.float32(in_size) / np.float32(out_size)
    i = np.arange(out_size, dtype=np.float32)
    if exact:
        src = np.floor((i + np.float32(0.5)) * scale)
    else:
        src = np.floor(i * scale)
    return np.minimum(src.astype(np.int64), in_size - 1)


def resize(x: np.ndarray, size: tuple[int, int], mode: str, antialias: bool) -> np.ndarray:
    """torch.nn.functional.interpolate(x, size, mode, align_corners=False, antialias) on NCHW."""
    oh, ow = size
    ih, iw = x.shape[-2:]
    if mode in ("nearest", "nearest-exact"):
        exact = mode == "nearest-exact"
        rows = _nearest_index(ih, oh, exact)
        cols = _nearest_index(iw, ow, exact)
        return x[..., rows[:, None], cols[None, :]]
    if mode not in ("bilinear", "bicubic"):
        raise ValueError(f"Interpolation mode '{mode}' is unsupported with Tensor input")
    dtype = x.dtype
    if antialias:
        # separable: the width pass first, then the height pass, as torch's CPU kernel
        out = x
        if ow != iw:
            idx, w = _aa_weights(iw, ow, mode, dtype)
            out = _apply_taps(out, -1, idx, w)
        if oh != ih:
            idx, w = _aa_weights(ih, oh, mode, dtype)
            out = _apply_taps(out, -2, idx, w)
        return np.ascontiguousarray(out, dtype=dtype)
    if mode == "bilinear":
        hidx, hw = _linear_weights(ih, oh, dtype)
        widx, ww = _linear_weights(iw, ow, dtype)
    else:
        hidx, hw = _cubic_weights(ih, oh, dtype)
        widx, ww = _cubic_weights(iw, ow, dtype)
    # torch evaluates the height taps outermost: sum_h w_h * (sum_w w_w * x)
    out = None
    for a in range(hidx.shape[1]):
        rows = x[..., hidx[:, a], :]
        inner = _apply_taps(rows, -1, widx, ww)
        term = inner * hw[:, a][:, None]
        out = term if out is None else out + term
    return np.ascontiguousarray(out, dtype=dtype)


# -- grids and sampling -------------------------------------------------------------------------


def affine_grid(theta: np.ndarray, w: int, h: int, ow: int, oh: int) -> np.ndarray:
    """The sampling grid [1, oh, ow, 2] of an inverse affine matrix (2x3), normalised by w, h."""
    dtype = theta.dtype
    xs = np.linspace(-ow * 0.5 + 0.5, ow * 0.5 - 0.5, ow, dtype=np.float32).astype(dtype)
    ys = np.linspace(-oh * 0.5 + 0.5, oh * 0.5 - 0.5, oh, dtype=np.float32).astype(dtype)
    base = np.empty((oh, ow, 3), dtype=dtype)
    base[..., 0] = xs[None, :]
    base[..., 1] = ys[:, None]
    base[..., 2] = 1
    scaled = (theta.reshape(2, 3).T / np.array([0.5 * w, 0.5 * h], dtype=dtype)).astype(dtype)
    grid = base.reshape(-1, 3) @ scaled
    return grid.reshape(1, oh, ow, 2).astype(dtype)


def perspective_grid(coeffs: list[float], ow: int, oh: int, dtype: np.dtype) -> np.ndarray:
    """The sampling grid [1, oh, ow, 2] of PIL's 8 perspective coefficients."""
    t1 = np.array([coeffs[0:3], coeffs[3:6]], dtype=dtype)
    t2 = np.array([[coeffs[6], coeffs[7], 1.0], [coeffs[6], coeffs[7], 1.0]], dtype=dtype)
    xs = np.linspace(0.5, ow - 0.5, ow, dtype=np.float32).astype(dtype)
    ys = np.linspace(0.5, oh - 0.5, oh, dtype=np.float32).astype(dtype)
    base = np.empty((oh, ow, 3), dtype=dtype)
    base[..., 0] = xs[None, :]
    base[..., 1] = ys[:, None]
    base[..., 2] = 1
    flat = base.reshape(-1, 3)
    g1 = flat @ (t1.T / np.array([0.5 * ow, 0.5 * oh], dtype=dtype)).astype(dtype)
    g2 = flat @ t2.T
    return (g1 / g2 - dtype.type(1.0)).reshape(1, oh, ow, 2).astype(dtype)


def grid_sample(x: np.ndarray, grid: np.ndarray, mode: str) -> np.ndarray:
    """grid_sample(x, grid, mode, padding_mode='zeros', align_corners=False), grid [1|N,H,W,2]."""
    n, c, ih, iw = x.shape
    dtype = x.dtype
    f = dtype.type
    gx = grid[..., 0].astype(dtype)
    gy = grid[..., 1].astype(dtype)
    ix = (gx + f(1)) * f(iw) * f(0.5) - f(0.5)
    iy = (gy + f(1)) * f(ih) * f(0.5) - f(0.5)
    oh, ow = grid.shape[1:3]
    nidx = np.arange(n)[:, None, None]

    def gather(xi: np.ndarray, yi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Values [n, oh, ow, c] at integer points (clamped), and where the points are inside."""
        xi = np.broadcast_to(xi, (n, oh, ow))
        yi = np.broadcast_to(yi, (n, oh, ow))
        valid = (xi >= 0) & (xi < iw) & (yi >= 0) & (yi < ih)
        vals = x[nidx, :, np.clip(yi, 0, ih - 1), np.clip(xi, 0, iw - 1)]
        return vals, valid

    if mode == "nearest":
        xn = np.rint(ix).astype(np.int64)
        yn = np.rint(iy).astype(np.int64)
        vals, valid = gather(xn, yn)
        vals = np.where(valid[..., None], vals, f(0))
        return np.ascontiguousarray(np.moveaxis(vals, -1, 1), dtype=dtype)
    if mode != "bilinear":
        raise ValueError(f"grid_sample mode '{mode}' is not supported")
    x0 = np.floor(ix)
    y0 = np.floor(iy)
    x1 = x0 + f(1)
    y1 = y0 + f(1)
    w_nw = (x1 - ix) * (y1 - iy)
    w_ne = (ix - x0) * (y1 - iy)
    w_sw = (x1 - ix) * (iy - y0)
    w_se = (ix - x0) * (iy - y0)
    x0i, y0i, x1i, y1i = (a.astype(np.int64) for a in (x0, y0, x1, y1))
    total = None
    for xi, yi, wt in ((x0i, y0i, w_nw), (x1i, y0i, w_ne), (x0i, y1i, w_sw), (x1i, y1i, w_se)):
        vals, valid = gather(xi, yi)
        wb = np.broadcast_to(wt, valid.shape)
        term = np.where(valid[..., None], vals * wb[..., None], f(0))
        total = term if total is None else total + term
    out = np.moveaxis(total, -1, 1)
    return np.ascontiguousarray(out, dtype=dtype)


# -- padding, convolution -----------------------------------------------------------------------


def pad(x: np.ndarray, ltrb: list[int], mode: str, value: float = 0.0) -> np.ndarray:
    """Pad the last two dims by [left, right, top, bottom]: constant, edge, reflect, symmetric."""
    left, right, top, bottom = ltrb
    # negative padding crops, as torch.nn.functional.pad does
    h, w = x.shape[-2:]
    x = x[..., max(-top, 0) : h - max(-bottom, 0), max(-left, 0) : w - max(-right, 0)]
    widths = [(0, 0)] * (x.ndim - 2) + [
        (max(top, 0), max(bottom, 0)),
        (max(left, 0), max(right, 0)),
    ]
    if mode == "constant":
        return np.pad(x, widths, mode="constant", constant_values=value)
    np_mode = {"edge": "edge", "replicate": "edge", "reflect": "reflect", "symmetric": "symmetric"}
    return np.pad(x, widths, mode=np_mode[mode])


def depthwise_conv2d(x: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """Valid cross-correlation of every channel of x [N, C, H, W] with one 2-D kernel [kh, kw]."""
    kh, kw = kernel.shape
    oh = x.shape[-2] - kh + 1
    ow = x.shape[-1] - kw + 1
    out = np.zeros(x.shape[:-2] + (oh, ow), dtype=x.dtype)
    for a in range(kh):
        for b in range(kw):
            out += x[..., a : a + oh, b : b + ow] * kernel[a, b]
    return out


def gaussian_kernel1d(size: int, sigma: float, dtype: np.dtype) -> np.ndarray:
    """The normalised 1-D Gaussian of ``size`` taps, computed as torchvision does."""
    half = (size - 1) * 0.5
    xs = np.linspace(-half, half, size, dtype=np.float32).astype(dtype)
    pdf = np.exp(dtype.type(-0.5) * (xs / dtype.type(sigma)) ** 2).astype(dtype)
    return (pdf / pdf.sum(dtype=dtype)).astype(dtype)


# -- colour spaces ------------------------------------------------------------------------------


def rgb_to_hsv(img: np.ndarray) -> np.ndarray:
    """RGB in [0, 1] (channels at axis -3) to HSV, torchvision's formula."""
    r, g, b = img[..., 0, :, :], img[..., 1, :, :], img[..., 2, :, :]
    f = img.dtype.type
    maxc = img.max(axis=-3)
    minc = img.min(axis=-3)
    eqc = maxc == minc
    cr = maxc - minc
    s = cr / np.where(eqc, f(1), maxc)
    cr_div = np.where(eqc, f(1), cr)
    rc = (maxc - r) / cr_div
    gc = (maxc - g) / cr_div
    bc = (maxc - b) / cr_div
    hr = (maxc == r) * (bc - gc)
    hg = ((maxc == g) & (maxc != r)) * (f(2.0) + rc - bc)
    hb = ((maxc != g) & (maxc != r)) * (f(4.0) + gc - rc)
    h = (hr + hg + hb).astype(img.dtype)
    h = np.fmod(h / f(6.0) + f(1.0), f(1.0))
    return np.stack((h, s, maxc), axis=-3).astype(img.dtype)


def hsv_to_rgb(img: np.ndarray) -> np.ndarray:
    """HSV to RGB, torchvision's formula (the sector picks the channel order)."""
    f = img.dtype.type
    h, s, v = img[..., 0, :, :], img[..., 1, :, :], img[..., 2, :, :]
    i = np.floor(h * f(6.0))
    frac = h * f(6.0) - i
    i = i.astype(np.int32) % 6
    p = np.clip(v * (f(1.0) - s), 0.0, 1.0).astype(img.dtype)
    q = np.clip(v * (f(1.0) - s * frac), 0.0, 1.0).astype(img.dtype)
    t = np.clip(v * (f(1.0) - s * (f(1.0) - frac)), 0.0, 1.0).astype(img.dtype)
    table = (
        (v, q, p, p, t, v),
        (t, v, v, q, p, p),
        (p, p, t, v, v, q),
    )
    out = []
    for row in table:
        out.append(np.choose(i, row))
    return np.stack(out, axis=-3).astype(img.dtype)


def round_half_even(x: np.ndarray) -> np.ndarray:
    """torch.round: halves to even."""
    return np.rint(x)
