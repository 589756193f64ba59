"""The tensor path of the transforms: images as ember tensors shaped [..., C, H, W].

Every function does torchvision's arithmetic in the tensor's dtype (float32 for integer images,
rounded back as torchvision rounds), through the NumPy kernels of ``_image_kernels``.
"""

from __future__ import annotations

import numpy as np

import ember
from ember.vision.transforms import _image_kernels as K

__all__ = [
    "get_dimensions",
    "get_image_size",
    "get_image_num_channels",
    "convert_image_dtype",
    "vflip",
    "hflip",
    "crop",
    "pad",
    "resize",
    "affine",
    "rotate",
    "perspective",
    "compute_affine_output_size",
    "rgb_to_grayscale",
    "adjust_brightness",
    "adjust_contrast",
    "adjust_saturation",
    "adjust_hue",
    "adjust_gamma",
    "adjust_sharpness",
    "gaussian_blur",
    "invert",
    "posterize",
    "solarize",
    "autocontrast",
    "equalize",
    "normalize",
    "erase",
    "elastic_transform",
    "max_value",
]

_FLOATS = (np.float32, np.float64)


def _assert_image_tensor(img: ember.Tensor) -> None:
    if img.ndim < 2:
        raise TypeError("Tensor is not a torch image.")


def _assert_channels(img: ember.Tensor, permitted: list[int]) -> None:
    c = get_dimensions(img)[0]
    if c not in permitted:
        raise TypeError(
            f"Input image tensor permitted channel values are {permitted}, but found {c}"
        )


def _arr(img: ember.Tensor) -> np.ndarray:
    """The image's values as a NumPy array (read-only use: it may share the tensor's memory)."""
    return img.detach().cpu().numpy()


def _tensor(arr: np.ndarray, like: ember.Tensor) -> ember.Tensor:
    out = ember.from_numpy(np.ascontiguousarray(arr))
    return out if like.device.type == "cpu" else out.to(like.device)


def max_value(dtype: ember.dtype) -> int:
    """The value of full intensity: 255 for uint8, the type's maximum for integers, 1 for floats."""
    if dtype.is_floating_point:
        return 1
    return int(ember.iinfo(dtype).max)


def _np_max(dtype: np.dtype) -> float:
    return 1.0 if np.issubdtype(dtype, np.floating) else float(np.iinfo(dtype).max)


def _cast_in(arr: np.ndarray, req: tuple = _FLOATS) -> tuple[np.ndarray, bool, np.dtype]:
    """Batch to 4-d and cast to a float dtype of ``req``; remember what to undo."""
    squeeze = arr.ndim < 4
    if squeeze:
        arr = arr[None]
    out_dtype = arr.dtype
    if arr.dtype.type not in req:
        arr = arr.astype(req[0])
    return arr, squeeze, out_dtype


def _cast_out(arr: np.ndarray, squeeze: bool, out_dtype: np.dtype) -> np.ndarray:
    if squeeze:
        arr = arr[0]
    if arr.dtype != out_dtype:
        if np.issubdtype(out_dtype, np.integer):
            arr = np.rint(arr)  # round before the cast, as torchvision does
        arr = arr.astype(out_dtype)
    return arr


def _to_dtype(arr: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """Tensor.to(dtype): integer targets truncate toward zero."""
    if np.issubdtype(dtype, np.integer) and np.issubdtype(arr.dtype, np.floating):
        return np.trunc(arr).astype(dtype)
    return arr.astype(dtype)


def _work_dtype(arr: np.ndarray) -> type:
    return arr.dtype.type if np.issubdtype(arr.dtype, np.floating) else np.float32


def get_dimensions(img: ember.Tensor) -> list[int]:
    """[channels, height, width] of an image tensor."""
    _assert_image_tensor(img)
    channels = 1 if img.ndim == 2 else img.shape[-3]
    return [channels, img.shape[-2], img.shape[-1]]


def get_image_size(img: ember.Tensor) -> list[int]:
    """[width, height] of an image tensor."""
    _assert_image_tensor(img)
    return [img.shape[-1], img.shape[-2]]


def get_image_num_channels(img: ember.Tensor) -> int:
    """The number of channels of an image tensor."""
    _assert_image_tensor(img)
    return 1 if img.ndim == 2 else img.shape[-3]


def convert_image_dtype(image: ember.Tensor, dtype: ember.dtype = ember.float32) -> ember.Tensor:
    """Change the dtype and rescale values between integer ranges and [0, 1]."""
    if image.dtype == dtype:
        return image
    if image.is_floating_point():
        if dtype.is_floating_point:
            return image.to(dtype)
        if (image.dtype == ember.float32 and dtype in (ember.int32, ember.int64)) or (
            image.dtype == ember.float64 and dtype == ember.int64
        ):
            raise RuntimeError(
                f"The cast from {image.dtype} to {dtype} cannot be performed safely."
            )
        eps = 1e-3
        max_val = float(max_value(dtype))
        return image.mul(max_val + 1.0 - eps).to(dtype)
    input_max = float(max_value(image.dtype))
    if dtype.is_floating_point:
        return image.to(dtype) / input_max
    output_max = float(max_value(dtype))
    if input_max > output_max:
        factor = int((input_max + 1) // (output_max + 1))
        return ember.div(image, factor, rounding_mode="floor").to(dtype)
    factor = int((output_max + 1) // (input_max + 1))
    return image.to(dtype) * factor


def vflip(img: ember.Tensor) -> ember.Tensor:
    """Flip upside down."""
    _assert_image_tensor(img)
    return img.flip(-2)


def hflip(img: ember.Tensor) -> ember.Tensor:
    """Flip left to right."""
    _assert_image_tensor(img)
    return img.flip(-1)


def crop(img: ember.Tensor, top: int, left: int, height: int, width: int) -> ember.Tensor:
    """Crop a box; the parts outside the image are zero padding."""
    _assert_image_tensor(img)
    _, h, w = get_dimensions(img)
    right = left + width
    bottom = top + height
    if left < 0 or top < 0 or right > w or bottom > h:
        padding_ltrb = [
            max(-left + min(0, right), 0),
            max(-top + min(0, bottom), 0),
            max(right - max(w, left), 0),
            max(bottom - max(h, top), 0),
        ]
        return pad(img[..., max(top, 0) : bottom, max(left, 0) : right], padding_ltrb, fill=0)
    return img[..., top:bottom, left:right]


def _parse_pad_padding(padding: int | list[int]) -> list[int]:
    """[left, right, top, bottom] from 1, 2 or 4 values."""
    if isinstance(padding, int):
        return [padding] * 4
    if len(padding) == 1:
        return [padding[0]] * 4
    if len(padding) == 2:
        return [padding[0], padding[0], padding[1], padding[1]]
    return [padding[0], padding[2], padding[1], padding[3]]


def pad(
    img: ember.Tensor,
    padding: int | list[int],
    fill: float | None = 0,
    padding_mode: str = "constant",
) -> ember.Tensor:
    """Pad the borders: constant (fill), edge, reflect or symmetric."""
    _assert_image_tensor(img)
    if fill is None:
        fill = 0
    if not isinstance(padding, (int, tuple, list)):
        raise TypeError("Got inappropriate padding arg")
    if not isinstance(fill, (int, float)):
        raise TypeError("Got inappropriate fill arg")
    if not isinstance(padding_mode, str):
        raise TypeError("Got inappropriate padding_mode arg")
    if isinstance(padding, (list, tuple)) and len(padding) not in (1, 2, 4):
        raise ValueError(
            "Padding must be an int or a 1, 2, or 4 element tuple, not a "
            f"{len(padding)} element tuple"
        )
    if padding_mode not in ("constant", "edge", "reflect", "symmetric"):
        raise ValueError("Padding mode should be either constant, edge, reflect or symmetric")
    left, right, top, bottom = _parse_pad_padding(
        list(padding) if isinstance(padding, tuple) else padding
    )
    arr = _arr(img)
    if padding_mode == "constant":
        value = fill
        if np.issubdtype(arr.dtype, np.integer):
            value = int(fill)
        out = K.pad(arr, [left, right, top, bottom], "constant", value)
    else:
        out = K.pad(arr, [left, right, top, bottom], padding_mode)
    return _tensor(out.astype(arr.dtype, copy=False), img)


def resize(
    img: ember.Tensor,
    size: list[int],
    interpolation: str = "bilinear",
    antialias: bool | None = True,
) -> ember.Tensor:
    """Resize to exactly ``size`` ([h, w]) with torch's interpolate."""
    _assert_image_tensor(img)
    if antialias is None:
        antialias = False
    if antialias and interpolation not in ("bilinear", "bicubic"):
        antialias = False
    arr, squeeze, out_dtype = _cast_in(_arr(img))
    lead = arr.shape[:-3]
    flat = arr.reshape((-1,) + arr.shape[-3:])
    out = K.resize(flat, (int(size[0]), int(size[1])), interpolation, bool(antialias))
    out = out.reshape(lead + out.shape[-3:])
    if interpolation == "bicubic" and out_dtype == np.uint8:
        out = np.clip(out, 0, 255)
    return _tensor(_cast_out(out, squeeze, out_dtype), img)


def _check_fill(img: ember.Tensor, fill, interpolation: str, supported: list[str]) -> None:
    num_channels = get_dimensions(img)[0]
    if isinstance(fill, (tuple, list)) and len(fill) > 1 and len(fill) != num_channels:
        raise ValueError(
            "The number of elements in 'fill' cannot broadcast to match the number of "
            f"channels of the image ({len(fill)} != {num_channels})"
        )
    if interpolation not in supported:
        raise ValueError(f"Interpolation mode '{interpolation}' is unsupported with Tensor input")


def _apply_grid(img: ember.Tensor, grid: np.ndarray, mode: str, fill) -> ember.Tensor:
    """Sample the image at the grid; points outside take ``fill`` (blended for bilinear)."""
    arr, squeeze, out_dtype = _cast_in(_arr(img), (grid.dtype.type,))
    lead = arr.shape[:-3]
    x = arr.reshape((-1,) + arr.shape[-3:])
    if fill is not None:
        ones = np.ones((x.shape[0], 1) + x.shape[2:], dtype=x.dtype)
        x = np.concatenate([x, ones], axis=1)
    out = K.grid_sample(x, grid, mode)
    if fill is not None:
        mask = out[:, -1:]
        out = out[:, :-1]
        fills = list(fill) if isinstance(fill, (tuple, list)) else [float(fill)]
        fill_img = np.broadcast_to(np.array(fills, dtype=out.dtype).reshape(1, -1, 1, 1), out.shape)
        mask = np.broadcast_to(mask, out.shape)
        if mode == "nearest":
            out = np.where(mask < 0.5, fill_img, out)
        else:
            out = out * mask + (out.dtype.type(1.0) - mask) * fill_img
    out = out.reshape(lead + out.shape[1:])
    return _tensor(_cast_out(out, squeeze, out_dtype), img)


def _theta_dtype(img: ember.Tensor) -> type:
    return np.float64 if img.dtype == ember.float64 else np.float32


def affine(img: ember.Tensor, matrix: list[float], interpolation: str = "nearest", fill=None):
    """Apply an inverse affine matrix (about the image centre) by grid sampling."""
    _check_fill(img, fill, interpolation, ["nearest", "bilinear"])
    theta = np.array(matrix, dtype=_theta_dtype(img)).reshape(2, 3)
    h, w = img.shape[-2:]
    grid = K.affine_grid(theta, w, h, w, h)
    return _apply_grid(img, grid, interpolation, fill)


def compute_affine_output_size(matrix: list[float], w: int, h: int) -> tuple[int, int]:
    """The (w, h) that holds the whole rotated image (rotate with expand=True)."""
    pts = np.array(
        [
            [-0.5 * w, -0.5 * h, 1.0],
            [-0.5 * w, 0.5 * h, 1.0],
            [0.5 * w, 0.5 * h, 1.0],
            [0.5 * w, -0.5 * h, 1.0],
        ],
        dtype=np.float32,
    )
    theta = np.array(matrix, dtype=np.float32).reshape(2, 3)
    new_pts = pts @ theta.T
    min_vals = new_pts.min(axis=0) + np.array([w * 0.5, h * 0.5], dtype=np.float32)
    max_vals = new_pts.max(axis=0) + np.array([w * 0.5, h * 0.5], dtype=np.float32)
    tol = np.float32(1e-4)
    cmax = np.ceil(np.trunc(max_vals / tol) * tol)
    cmin = np.floor(np.trunc(min_vals / tol) * tol)
    size = cmax - cmin
    return int(size[0]), int(size[1])


def rotate(
    img: ember.Tensor,
    matrix: list[float],
    interpolation: str = "nearest",
    expand: bool = False,
    fill=None,
) -> ember.Tensor:
    """Rotate by an inverse matrix, optionally growing the canvas to hold the whole image."""
    _check_fill(img, fill, interpolation, ["nearest", "bilinear"])
    w, h = img.shape[-1], img.shape[-2]
    ow, oh = compute_affine_output_size(matrix, w, h) if expand else (w, h)
    theta = np.array(matrix, dtype=_theta_dtype(img)).reshape(2, 3)
    grid = K.affine_grid(theta, w, h, ow, oh)
    return _apply_grid(img, grid, interpolation, fill)


def perspective(img: ember.Tensor, coeffs: list[float], interpolation: str = "bilinear", fill=None):
    """Warp with PIL's 8 perspective coefficients by grid sampling."""
    _assert_image_tensor(img)
    _check_fill(img, fill, interpolation, ["nearest", "bilinear"])
    if len(coeffs) != 8:
        raise ValueError("Argument coeffs should have 8 float values")
    ow, oh = img.shape[-1], img.shape[-2]
    grid = K.perspective_grid(coeffs, ow, oh, np.dtype(_theta_dtype(img)))
    return _apply_grid(img, grid, interpolation, fill)


def _gray(arr: np.ndarray) -> np.ndarray:
    """Luma (ITU-R 601-2) of RGB channels at axis -3, in the image's dtype (truncated for ints)."""
    wd = _work_dtype(arr)
    r, g, b = (arr[..., i, :, :].astype(wd) for i in range(3))
    luma = wd(0.2989) * r + wd(0.587) * g + wd(0.114) * b
    return _to_dtype(luma, arr.dtype)[..., None, :, :]


def rgb_to_grayscale(img: ember.Tensor, num_output_channels: int = 1) -> ember.Tensor:
    """Grayscale of an RGB (or 1-channel) image, with 1 or 3 output channels."""
    if img.ndim < 3:
        raise TypeError(
            f"Input image tensor should have at least 3 dimensions, but found {img.ndim}"
        )
    _assert_channels(img, [1, 3])
    if num_output_channels not in (1, 3):
        raise ValueError("num_output_channels should be either 1 or 3")
    arr = _arr(img)
    gray = _gray(arr) if arr.shape[-3] == 3 else arr.copy()
    if num_output_channels == 3:
        gray = np.broadcast_to(gray, arr.shape)
    return _tensor(gray, img)


def _blend(img1: np.ndarray, img2: np.ndarray, ratio: float) -> np.ndarray:
    wd = _work_dtype(img1)
    ratio = float(ratio)
    bound = _np_max(img1.dtype)
    out = wd(ratio) * img1.astype(wd) + wd(1.0 - ratio) * img2.astype(wd)
    return _to_dtype(np.clip(out, 0, bound), img1.dtype)


def adjust_brightness(img: ember.Tensor, brightness_factor: float) -> ember.Tensor:
    """Blend with black by ``brightness_factor``."""
    if brightness_factor < 0:
        raise ValueError(f"brightness_factor ({brightness_factor}) is not non-negative.")
    _assert_image_tensor(img)
    _assert_channels(img, [1, 3])
    arr = _arr(img)
    return _tensor(_blend(arr, np.zeros_like(arr), brightness_factor), img)


def adjust_contrast(img: ember.Tensor, contrast_factor: float) -> ember.Tensor:
    """Blend with the mean grey level by ``contrast_factor``."""
    if contrast_factor < 0:
        raise ValueError(f"contrast_factor ({contrast_factor}) is not non-negative.")
    _assert_image_tensor(img)
    _assert_channels(img, [3, 1])
    arr = _arr(img)
    wd = _work_dtype(arr)
    src = _gray(arr) if arr.shape[-3] == 3 else arr
    mean = src.astype(wd).mean(axis=(-3, -2, -1), keepdims=True, dtype=wd)
    return _tensor(_blend(arr, mean, contrast_factor), img)


def adjust_saturation(img: ember.Tensor, saturation_factor: float) -> ember.Tensor:
    """Blend with the grayscale image by ``saturation_factor``."""
    if saturation_factor < 0:
        raise ValueError(f"saturation_factor ({saturation_factor}) is not non-negative.")
    _assert_image_tensor(img)
    _assert_channels(img, [1, 3])
    if get_dimensions(img)[0] == 1:
        return img
    arr = _arr(img)
    return _tensor(_blend(arr, _gray(arr), saturation_factor), img)


def adjust_hue(img: ember.Tensor, hue_factor: float) -> ember.Tensor:
    """Shift the hue channel (in HSV) by ``hue_factor`` of a turn."""
    if not (-0.5 <= hue_factor <= 0.5):
        raise ValueError(f"hue_factor ({hue_factor}) is not in [-0.5, 0.5].")
    if not isinstance(img, ember.Tensor):
        raise TypeError("Input img should be Tensor image")
    _assert_image_tensor(img)
    _assert_channels(img, [1, 3])
    if get_dimensions(img)[0] == 1:
        return img
    orig_dtype = img.dtype
    x = convert_image_dtype(img, ember.float32)
    hsv = K.rgb_to_hsv(_arr(x))
    f = hsv.dtype.type
    h = np.fmod(hsv[..., 0, :, :] + f(hue_factor), f(1.0))
    h = np.where(h < 0, h + f(1.0), h)  # Python's modulo: the sign of the divisor
    hsv = np.stack((h, hsv[..., 1, :, :], hsv[..., 2, :, :]), axis=-3)
    rgb = _tensor(K.hsv_to_rgb(hsv), img)
    return convert_image_dtype(rgb, orig_dtype)


def adjust_gamma(img: ember.Tensor, gamma: float, gain: float = 1) -> ember.Tensor:
    """gain * img ** gamma on [0, 1] values, clamped."""
    if not isinstance(img, ember.Tensor):
        raise TypeError("Input img should be a Tensor.")
    _assert_channels(img, [1, 3])
    if gamma < 0:
        raise ValueError("Gamma should be a non-negative real number")
    dtype = img.dtype
    result = img if img.is_floating_point() else convert_image_dtype(img, ember.float32)
    result = (gain * result.pow(gamma)).clamp(0, 1)
    return convert_image_dtype(result, dtype)


def _blurred_degenerate(arr: np.ndarray) -> np.ndarray:
    wd = _work_dtype(arr)
    kernel = np.ones((3, 3), dtype=wd)
    kernel[1, 1] = 5.0
    kernel /= kernel.sum(dtype=wd)
    x, squeeze, out_dtype = _cast_in(arr, (wd,))
    blurred = _cast_out(K.depthwise_conv2d(x, kernel), squeeze, out_dtype)
    out = arr.copy()
    out[..., 1:-1, 1:-1] = blurred
    return out


def adjust_sharpness(img: ember.Tensor, sharpness_factor: float) -> ember.Tensor:
    """Blend with a smoothed copy by ``sharpness_factor`` (borders unchanged), as PIL."""
    if sharpness_factor < 0:
        raise ValueError(f"sharpness_factor ({sharpness_factor}) is not non-negative.")
    _assert_image_tensor(img)
    _assert_channels(img, [1, 3])
    if img.shape[-1] <= 2 or img.shape[-2] <= 2:
        return img
    arr = _arr(img)
    return _tensor(_blend(arr, _blurred_degenerate(arr), sharpness_factor), img)


def gaussian_blur(img: ember.Tensor, kernel_size: list[int], sigma: list[float]) -> ember.Tensor:
    """Separable Gaussian blur with reflect padding."""
    _assert_image_tensor(img)
    arr = _arr(img)
    wd = np.dtype(_work_dtype(arr))
    kx = K.gaussian_kernel1d(kernel_size[0], sigma[0], wd)
    ky = K.gaussian_kernel1d(kernel_size[1], sigma[1], wd)
    kernel = (ky[:, None] * kx[None, :]).astype(wd)
    x, squeeze, out_dtype = _cast_in(arr, (wd.type,))
    px, py = kernel_size[0] // 2, kernel_size[1] // 2
    x = K.pad(x, [px, px, py, py], "reflect")
    out = K.depthwise_conv2d(x, kernel)
    return _tensor(_cast_out(out, squeeze, out_dtype), img)


def invert(img: ember.Tensor) -> ember.Tensor:
    """max - img."""
    _assert_image_tensor(img)
    if img.ndim < 3:
        raise TypeError(
            f"Input image tensor should have at least 3 dimensions, but found {img.ndim}"
        )
    _assert_channels(img, [1, 3])
    arr = _arr(img)
    bound = _np_max(arr.dtype)
    out = (
        (arr.dtype.type(bound) - arr)
        if np.issubdtype(arr.dtype, np.floating)
        else (int(bound) - arr)
    )
    return _tensor(out.astype(arr.dtype), img)


def posterize(img: ember.Tensor, bits: int) -> ember.Tensor:
    """Keep the top ``bits`` bits of each uint8 channel."""
    _assert_image_tensor(img)
    if img.ndim < 3:
        raise TypeError(
            f"Input image tensor should have at least 3 dimensions, but found {img.ndim}"
        )
    if img.dtype != ember.uint8:
        raise TypeError(f"Only torch.uint8 image tensors are supported, but found {img.dtype}")
    _assert_channels(img, [1, 3])
    mask = np.uint8((0xFF << (8 - bits)) & 0xFF)
    return _tensor(_arr(img) & mask, img)


def solarize(img: ember.Tensor, threshold: float) -> ember.Tensor:
    """Invert the values at or above ``threshold``."""
    _assert_image_tensor(img)
    if img.ndim < 3:
        raise TypeError(
            f"Input image tensor should have at least 3 dimensions, but found {img.ndim}"
        )
    _assert_channels(img, [1, 3])
    if threshold > max_value(img.dtype):
        raise TypeError("Threshold should be less than bound of img.")
    arr = _arr(img)
    inv = _arr(invert(img))
    return _tensor(np.where(arr >= threshold, inv, arr), img)


def autocontrast(img: ember.Tensor) -> ember.Tensor:
    """Stretch each channel to the full range."""
    _assert_image_tensor(img)
    if img.ndim < 3:
        raise TypeError(
            f"Input image tensor should have at least 3 dimensions, but found {img.ndim}"
        )
    _assert_channels(img, [1, 3])
    arr = _arr(img)
    wd = _work_dtype(arr)
    bound = wd(_np_max(arr.dtype))
    minimum = arr.min(axis=(-2, -1), keepdims=True).astype(wd)
    maximum = arr.max(axis=(-2, -1), keepdims=True).astype(wd)
    with np.errstate(divide="ignore", invalid="ignore"):
        # torch evaluates `bound / t` as t.reciprocal() * bound
        scale = (wd(1) / (maximum - minimum)) * bound
    eq = ~np.isfinite(scale)
    minimum = np.where(eq, wd(0), minimum)
    scale = np.where(eq, wd(1), scale)
    out = (arr.astype(wd) - minimum) * scale
    return _tensor(_to_dtype(np.clip(out, 0, bound), arr.dtype), img)


def _scale_channel(chan: np.ndarray) -> np.ndarray:
    hist = np.bincount(chan.reshape(-1), minlength=256).astype(np.int64)
    nonzero = hist[hist != 0]
    step = int(nonzero[:-1].sum()) // 255
    if step == 0:
        return chan
    lut = (np.cumsum(hist) + step // 2) // step
    lut = np.clip(np.concatenate([[0], lut[:-1]]), 0, 255)
    return lut[chan.astype(np.int64)].astype(np.uint8)


def equalize(img: ember.Tensor) -> ember.Tensor:
    """Histogram equalisation of each channel of a uint8 image."""
    _assert_image_tensor(img)
    if not (3 <= img.ndim <= 4):
        raise TypeError(f"Input image tensor should have 3 or 4 dimensions, but found {img.ndim}")
    if img.dtype != ember.uint8:
        raise TypeError(f"Only torch.uint8 image tensors are supported, but found {img.dtype}")
    _assert_channels(img, [1, 3])
    arr = _arr(img)
    batch = arr if arr.ndim == 4 else arr[None]
    out = np.stack([np.stack([_scale_channel(im[c]) for c in range(im.shape[0])]) for im in batch])
    return _tensor(out if arr.ndim == 4 else out[0], img)


def normalize(tensor: ember.Tensor, mean: list[float], std: list[float], inplace: bool = False):
    """(tensor - mean) / std per channel."""
    _assert_image_tensor(tensor)
    if not tensor.is_floating_point():
        raise TypeError(f"Input tensor should be a float tensor. Got {tensor.dtype}.")
    if tensor.ndim < 3:
        raise ValueError(
            "Expected tensor to be a tensor image of size (..., C, H, W). Got "
            f"tensor.size() = {tensor.size()}"
        )
    dtype = tensor.dtype
    if not inplace and not tensor.requires_grad and tensor.device.type == "cpu":
        # the data-loading path: two NumPy passes in the tensor's dtype, no graph to record
        arr = tensor.numpy()
        np_mean = np.asarray(mean, dtype=arr.dtype)
        np_std = np.asarray(std, dtype=arr.dtype)
        if (np_std == 0).any():
            raise ValueError(
                f"std evaluated to zero after conversion to {dtype}, leading to division by zero."
            )
        if np_mean.ndim == 1:
            np_mean = np_mean.reshape(-1, 1, 1)
        if np_std.ndim == 1:
            np_std = np_std.reshape(-1, 1, 1)
        out = np.subtract(arr, np_mean)
        np.divide(out, np_std, out=out)
        return ember.from_numpy(out)
    if not inplace:
        tensor = tensor.clone()
    mean_t = ember.as_tensor(mean, dtype=dtype, device=tensor.device)
    std_t = ember.as_tensor(std, dtype=dtype, device=tensor.device)
    if bool((std_t == 0).any()):
        raise ValueError(
            f"std evaluated to zero after conversion to {dtype}, leading to division by zero."
        )
    if mean_t.ndim == 1:
        mean_t = mean_t.view(-1, 1, 1)
    if std_t.ndim == 1:
        std_t = std_t.view(-1, 1, 1)
    return tensor.sub_(mean_t).div_(std_t)


def erase(img: ember.Tensor, i: int, j: int, h: int, w: int, v, inplace: bool = False):
    """Set the box [i:i+h, j:j+w] to v."""
    _assert_image_tensor(img)
    if not inplace:
        img = img.clone()
    img[..., i : i + h, j : j + w] = v
    return img


def elastic_transform(
    img: ember.Tensor, displacement: ember.Tensor, interpolation: str = "bilinear", fill=None
):
    """Sample at the identity grid plus ``displacement`` [1, H, W, 2]."""
    h, w = img.shape[-2:]
    dtype = np.float64 if img.dtype == ember.float64 else np.float32
    ys = np.linspace((-h + 1) / h, (h - 1) / h, h, dtype=np.float32).astype(dtype)
    xs = np.linspace((-w + 1) / w, (w - 1) / w, w, dtype=np.float32).astype(dtype)
    gy, gx = np.meshgrid(ys, xs, indexing="ij")
    grid = np.stack([gx, gy], -1)[None] + _arr(displacement).astype(dtype)
    return _apply_grid(img, grid.astype(dtype), interpolation, fill)
