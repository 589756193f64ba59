"""The PIL path of the transforms: the same operations through Pillow, as torchvision runs them.

Pillow is optional (``ember[vision]``); every function imports it on use.
"""

from __future__ import annotations

import numbers
import sys
from typing import Any

import numpy as np

from ember.vision._backend import require_pil

__all__ = [
    "is_pil_image",
    "get_dimensions",
    "get_image_size",
    "get_image_num_channels",
    "hflip",
    "vflip",
    "adjust_brightness",
    "adjust_contrast",
    "adjust_saturation",
    "adjust_hue",
    "adjust_gamma",
    "adjust_sharpness",
    "pad",
    "crop",
    "resize",
    "affine",
    "rotate",
    "perspective",
    "to_grayscale",
    "invert",
    "posterize",
    "solarize",
    "autocontrast",
    "equalize",
    "parse_fill",
]


def is_pil_image(img: Any) -> bool:
    """True for a PIL image (False, without importing Pillow, when Pillow is not loaded)."""
    pil = sys.modules.get("PIL.Image")
    return pil is not None and isinstance(img, pil.Image)


def _check(img: Any) -> None:
    if not is_pil_image(img):
        raise TypeError(f"img should be PIL Image. Got {type(img)}")


def _enhance():
    # Pillow is optional: imported only where an image is handled
    require_pil()
    from PIL import ImageEnhance

    return ImageEnhance


def _ops():
    # Pillow is optional: imported only where an image is handled
    require_pil()
    from PIL import ImageOps

    return ImageOps


def get_dimensions(img: Any) -> list[int]:
    """[channels, height, width] of a PIL image."""
    if is_pil_image(img):
        width, height = img.size
        return [len(img.getbands()), height, width]
    raise TypeError(f"Unexpected type {type(img)}")


def get_image_size(img: Any) -> list[int]:
    """[width, height] of a PIL image."""
    if is_pil_image(img):
        return list(img.size)
    raise TypeError(f"Unexpected type {type(img)}")


def get_image_num_channels(img: Any) -> int:
    """The number of bands of a PIL image."""
    if is_pil_image(img):
        return len(img.getbands())
    raise TypeError(f"Unexpected type {type(img)}")


def hflip(img: Any) -> Any:
    """Mirror left to right."""
    _check(img)
    return img.transpose(require_pil().Transpose.FLIP_LEFT_RIGHT)


def vflip(img: Any) -> Any:
    """Flip upside down."""
    _check(img)
    return img.transpose(require_pil().Transpose.FLIP_TOP_BOTTOM)


def adjust_brightness(img: Any, factor: float) -> Any:
    """ImageEnhance.Brightness."""
    _check(img)
    return _enhance().Brightness(img).enhance(factor)


def adjust_contrast(img: Any, factor: float) -> Any:
    """ImageEnhance.Contrast."""
    _check(img)
    return _enhance().Contrast(img).enhance(factor)


def adjust_saturation(img: Any, factor: float) -> Any:
    """ImageEnhance.Color."""
    _check(img)
    return _enhance().Color(img).enhance(factor)


def adjust_sharpness(img: Any, factor: float) -> Any:
    """ImageEnhance.Sharpness."""
    _check(img)
    return _enhance().Sharpness(img).enhance(factor)


def adjust_hue(img: Any, hue_factor: float) -> Any:
    """Shift the H band of the HSV image by hue_factor * 255 (uint8 wrap-around)."""
    if not (-0.5 <= hue_factor <= 0.5):
        raise ValueError(f"hue_factor ({hue_factor}) is not in [-0.5, 0.5].")
    _check(img)
    image = require_pil()
    mode = img.mode
    if mode in {"L", "1", "I", "F"}:
        return img
    h, s, v = img.convert("HSV").split()
    np_h = np.array(h, dtype=np.uint8)
    np_h += np.int32(hue_factor * 255).astype(np.uint8)
    h = image.fromarray(np_h)  # a 2-d uint8 array is an 'L' image
    return image.merge("HSV", (h, s, v)).convert(mode)


def adjust_gamma(img: Any, gamma: float, gain: float = 1.0) -> Any:
    """A 256-entry lookup table of gain * x ** gamma."""
    _check(img)
    if gamma < 0:
        raise ValueError("Gamma should be a non-negative real number")
    mode = img.mode
    img = img.convert("RGB")
    table = [int((255 + 1 - 1e-3) * gain * pow(v / 255.0, gamma)) for v in range(256)] * 3
    return img.point(table).convert(mode)


def parse_fill(fill: Any, img: Any, name: str = "fillcolor") -> dict[str, Any]:
    """The fill keyword for a PIL call: one value per band, ints unless the mode is 'F'."""
    bands = get_image_num_channels(img)
    if fill is None:
        fill = 0
    if isinstance(fill, (int, float)) and bands > 1:
        fill = tuple([fill] * bands)
    if isinstance(fill, (list, tuple)):
        if len(fill) == 1:
            fill = tuple(fill) * bands
        elif len(fill) != bands:
            raise ValueError(
                "The number of elements in 'fill' does not match the number of channels of the "
                f"image ({len(fill)} != {bands})"
            )
        fill = tuple(fill)
    if img.mode != "F":
        fill = tuple(int(x) for x in fill) if isinstance(fill, tuple) else int(fill)
    return {name: fill}


def pad(img: Any, padding: Any, fill: Any = 0, padding_mode: str = "constant") -> Any:
    """ImageOps.expand for constant padding, NumPy's pad for the other modes."""
    _check(img)
    image = require_pil()
    if not isinstance(padding, (numbers.Number, tuple, list)):
        raise TypeError("Got inappropriate padding arg")
    if fill is not None and not isinstance(fill, (numbers.Number, tuple, list)):
        raise TypeError("Got inappropriate fill arg")
    if not isinstance(padding_mode, str):
        raise TypeError("Got inappropriate padding_mode arg")
    if isinstance(padding, list):
        padding = tuple(padding)
    if isinstance(padding, tuple) and len(padding) not in (1, 2, 4):
        raise ValueError(
            "Padding must be an int or a 1, 2, or 4 element tuple, not a "
            f"{len(padding)} element tuple"
        )
    if isinstance(padding, tuple) and len(padding) == 1:
        padding = padding[0]
    if padding_mode not in ("constant", "edge", "reflect", "symmetric"):
        raise ValueError("Padding mode should be either constant, edge, reflect or symmetric")
    if padding_mode == "constant":
        opts = parse_fill(fill, img, name="fill")
        if img.mode == "P":
            palette = img.getpalette()
            out = _ops().expand(img, border=padding, **opts)
            out.putpalette(palette)
            return out
        return _ops().expand(img, border=padding, **opts)
    if isinstance(padding, int):
        p = [padding] * 4
    elif len(padding) == 2:
        p = [padding[0], padding[1], padding[0], padding[1]]
    else:
        p = list(padding)
    left, top, right, bottom = p
    crop_l, crop_t, crop_r, crop_b = (max(-v, 0) for v in p)
    if crop_l or crop_t or crop_r or crop_b:
        img = img.crop((crop_l, crop_t, img.width - crop_r, img.height - crop_b))
    left, top, right, bottom = (max(v, 0) for v in p)
    palette = img.getpalette() if img.mode == "P" else None
    arr = np.asarray(img)
    widths = [(top, bottom), (left, right)] + ([(0, 0)] if arr.ndim == 3 else [])
    out = image.fromarray(np.pad(arr, widths, mode=padding_mode))
    if palette is not None:
        out.putpalette(palette)
    return out


def crop(img: Any, top: int, left: int, height: int, width: int) -> Any:
    """Image.crop of the box (outside parts are black)."""
    _check(img)
    return img.crop((left, top, left + width, top + height))


def resize(img: Any, size: list[int], interpolation: int) -> Any:
    """Image.resize to [h, w] (Pillow always antialiases)."""
    _check(img)
    if not (isinstance(size, list) and len(size) == 2):
        raise TypeError(f"Got inappropriate size arg: {size}")
    return img.resize(tuple(size[::-1]), interpolation)


def affine(img: Any, matrix: list[float], interpolation: int, fill: Any = None) -> Any:
    """Image.transform with an inverse affine matrix."""
    _check(img)
    opts = parse_fill(fill, img)
    return img.transform(img.size, require_pil().Transform.AFFINE, matrix, interpolation, **opts)


def rotate(
    img: Any, angle: float, interpolation: int, expand: bool = False, center=None, fill=None
):
    """Image.rotate counter-clockwise by ``angle`` degrees."""
    _check(img)
    opts = parse_fill(fill, img)
    return img.rotate(angle, interpolation, expand, center, **opts)


def perspective(img: Any, coeffs: list[float], interpolation: int, fill: Any = None) -> Any:
    """Image.transform with 8 perspective coefficients."""
    _check(img)
    opts = parse_fill(fill, img)
    return img.transform(
        img.size, require_pil().Transform.PERSPECTIVE, coeffs, interpolation, **opts
    )


def to_grayscale(img: Any, num_output_channels: int) -> Any:
    """Convert to 'L', then to three equal bands when asked."""
    _check(img)
    image = require_pil()
    if num_output_channels == 1:
        return img.convert("L")
    if num_output_channels == 3:
        gray = np.array(img.convert("L"), dtype=np.uint8)
        return image.fromarray(np.dstack([gray, gray, gray]))
    raise ValueError("num_output_channels should be either 1 or 3")


def invert(img: Any) -> Any:
    """ImageOps.invert."""
    _check(img)
    return _ops().invert(img)


def posterize(img: Any, bits: int) -> Any:
    """ImageOps.posterize."""
    _check(img)
    return _ops().posterize(img, bits)


def solarize(img: Any, threshold: float) -> Any:
    """ImageOps.solarize."""
    _check(img)
    return _ops().solarize(img, threshold)


def autocontrast(img: Any) -> Any:
    """ImageOps.autocontrast."""
    _check(img)
    return _ops().autocontrast(img)


def equalize(img: Any) -> Any:
    """ImageOps.equalize."""
    _check(img)
    return _ops().equalize(img)
