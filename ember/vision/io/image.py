"""torchvision.io's image functions over Pillow: read, decode, encode and write JPEG and PNG.

Encoded images are 1-d uint8 tensors of the file's bytes; decoded images are [C, H, W] uint8
tensors (uint16 for 16-bit PNGs). Pillow is the optional ``ember[vision]`` extra.
"""

from __future__ import annotations

import io
import os
from enum import Enum
from typing import Any

import numpy as np

import ember
from ember.vision._backend import require_pil

__all__ = [
    "ImageReadMode",
    "read_file",
    "write_file",
    "decode_image",
    "decode_jpeg",
    "decode_png",
    "decode_gif",
    "decode_webp",
    "encode_jpeg",
    "encode_png",
    "write_jpeg",
    "write_png",
    "read_image",
]


class ImageReadMode(Enum):
    """The channel layout to decode to: UNCHANGED, GRAY, GRAY_ALPHA, RGB, RGB_ALPHA (RGBA)."""

    UNCHANGED = 0
    GRAY = 1
    GRAY_ALPHA = 2
    RGB = 3
    RGB_ALPHA = 4
    RGBA = RGB_ALPHA


_PIL_MODE = {
    ImageReadMode.GRAY: "L",
    ImageReadMode.GRAY_ALPHA: "LA",
    ImageReadMode.RGB: "RGB",
    ImageReadMode.RGB_ALPHA: "RGBA",
}


def read_file(path: str | os.PathLike) -> ember.Tensor:
    """The bytes of a file as a 1-d uint8 tensor."""
    with open(path, "rb") as f:
        data = f.read()
    return ember.from_numpy(np.frombuffer(data, dtype=np.uint8).copy())


def write_file(filename: str | os.PathLike, data: ember.Tensor) -> None:
    """Write a 1-d uint8 tensor's bytes to a file."""
    with open(filename, "wb") as f:
        f.write(_bytes_of(data))


def _bytes_of(data: ember.Tensor) -> bytes:
    if not isinstance(data, ember.Tensor) or data.dtype != ember.uint8 or data.ndim != 1:
        raise RuntimeError("Expected a 1-d uint8 tensor of the encoded bytes")
    return data.detach().cpu().numpy().tobytes()


def _mode(mode: Any) -> ImageReadMode:
    if isinstance(mode, str):
        return ImageReadMode[mode.upper()]
    return mode


def _decode(
    data: bytes, mode: Any, apply_exif_orientation: bool, expect: str | None
) -> ember.Tensor:
    image = require_pil()
    img = image.open(io.BytesIO(data))
    if expect is not None and img.format != expect:
        raise RuntimeError(f"Expected a {expect.lower()} image, got {img.format}")
    if apply_exif_orientation:
        # Pillow is optional: imported only where an image is handled
        from PIL import ImageOps

        img = ImageOps.exif_transpose(img)
    mode = _mode(mode)
    if img.format == "JPEG" and mode in (ImageReadMode.GRAY, ImageReadMode.GRAY_ALPHA):
        # let libjpeg output the luma plane, as torchvision's decoder does (no RGB round trip)
        img.draft("L", img.size)
    if mode == ImageReadMode.UNCHANGED:
        if img.mode == "P":
            img = img.convert("RGBA" if "transparency" in img.info else "RGB")
        elif img.mode == "1":
            img = img.convert("L")
        elif img.mode == "PA":
            img = img.convert("RGBA")
        elif img.mode == "CMYK":
            img = img.convert("RGB")
    else:
        if img.mode.startswith("I;16") and mode == ImageReadMode.GRAY:
            pass
        else:
            img = img.convert(_PIL_MODE[mode])
    if img.mode.startswith("I;16"):
        arr = np.array(img, dtype=np.uint16)
    elif img.mode == "I":
        arr = np.array(img).astype(np.uint16)
    else:
        arr = np.array(img)
    if arr.ndim == 2:
        arr = arr[:, :, None]
    return ember.from_numpy(np.ascontiguousarray(arr.transpose(2, 0, 1)))


def decode_image(
    input: ember.Tensor | str | os.PathLike,
    mode: Any = ImageReadMode.UNCHANGED,
    apply_exif_orientation: bool = False,
) -> ember.Tensor:
    """Decode JPEG, PNG, GIF or WebP bytes (or a path) into a [C, H, W] tensor."""
    if not isinstance(input, ember.Tensor):
        input = read_file(str(input))
    return _decode(_bytes_of(input), mode, apply_exif_orientation, None)


def read_image(
    path: str | os.PathLike,
    mode: Any = ImageReadMode.UNCHANGED,
    apply_exif_orientation: bool = False,
) -> ember.Tensor:
    """Read and decode an image file into a [C, H, W] uint8 tensor."""
    return decode_image(read_file(path), mode, apply_exif_orientation)


def decode_jpeg(
    input: ember.Tensor | list[ember.Tensor],
    mode: Any = ImageReadMode.UNCHANGED,
    device: Any = "cpu",
    apply_exif_orientation: bool = False,
) -> ember.Tensor | list[ember.Tensor]:
    """Decode JPEG bytes (or a list of them) into [C, H, W] uint8 tensors."""
    if isinstance(input, list):
        return [decode_jpeg(x, mode, device, apply_exif_orientation) for x in input]
    out = _decode(_bytes_of(input), mode, apply_exif_orientation, "JPEG")
    return out if str(device) == "cpu" else out.to(device)


def decode_png(
    input: ember.Tensor, mode: Any = ImageReadMode.UNCHANGED, apply_exif_orientation: bool = False
) -> ember.Tensor:
    """Decode PNG bytes into a [C, H, W] uint8 (or uint16) tensor."""
    return _decode(_bytes_of(input), mode, apply_exif_orientation, "PNG")


def decode_webp(input: ember.Tensor, mode: Any = ImageReadMode.UNCHANGED) -> ember.Tensor:
    """Decode WebP bytes into a [C, H, W] uint8 tensor."""
    return _decode(_bytes_of(input), mode, False, "WEBP")


def decode_gif(input: ember.Tensor) -> ember.Tensor:
    """Decode GIF bytes: [C, H, W] for one frame, [N, C, H, W] for an animation (RGB, uint8)."""
    image = require_pil()
    img = image.open(io.BytesIO(_bytes_of(input)))
    if img.format != "GIF":
        raise RuntimeError(f"Expected a gif image, got {img.format}")
    frames = []
    for k in range(getattr(img, "n_frames", 1)):
        img.seek(k)
        frames.append(np.array(img.convert("RGB")).transpose(2, 0, 1))
    arr = frames[0] if len(frames) == 1 else np.stack(frames)
    return ember.from_numpy(np.ascontiguousarray(arr))


def _to_pil(input: ember.Tensor) -> Any:
    image = require_pil()
    if not isinstance(input, ember.Tensor) or input.dtype != ember.uint8:
        raise RuntimeError("Input tensor dtype should be uint8")
    if input.ndim != 3:
        raise RuntimeError(f"Input data should be a 3-dimensional tensor, got {input.ndim} dims")
    channels = input.shape[0]
    if channels not in (1, 3):
        raise RuntimeError(f"The number of channels should be 1 or 3, got: {channels}")
    arr = np.ascontiguousarray(input.detach().cpu().numpy().transpose(1, 2, 0))
    return image.fromarray(arr[:, :, 0] if channels == 1 else arr)


def _encoded(img: Any, fmt: str, **options: Any) -> ember.Tensor:
    buf = io.BytesIO()
    img.save(buf, format=fmt, **options)
    return ember.from_numpy(np.frombuffer(buf.getvalue(), dtype=np.uint8).copy())


def encode_png(input: ember.Tensor, compression_level: int = 6) -> ember.Tensor:
    """Encode a [C, H, W] uint8 tensor as PNG bytes."""
    if compression_level < 0 or compression_level > 9:
        raise ValueError("Compression level should be between 0 and 9")
    return _encoded(_to_pil(input), "PNG", compress_level=compression_level)


def encode_jpeg(
    input: ember.Tensor | list[ember.Tensor], quality: int = 75
) -> ember.Tensor | list[ember.Tensor]:
    """Encode [C, H, W] uint8 tensor(s) as JPEG bytes."""
    if quality < 1 or quality > 100:
        raise ValueError("Image quality should be a positive number between 1 and 100")
    if isinstance(input, list):
        if not input:
            raise ValueError("encode_jpeg requires at least one input tensor when a list is passed")
        return [encode_jpeg(x, quality) for x in input]
    return _encoded(_to_pil(input), "JPEG", quality=quality)


def write_png(input: ember.Tensor, filename: str | os.PathLike, compression_level: int = 6) -> None:
    """Encode as PNG and write to ``filename``."""
    write_file(filename, encode_png(input, compression_level))


def write_jpeg(input: ember.Tensor, filename: str | os.PathLike, quality: int = 75) -> None:
    """Encode as JPEG and write to ``filename``."""
    write_file(filename, encode_jpeg(input, quality))
