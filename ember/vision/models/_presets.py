"""ImageClassification, the preprocessing preset of the classification weights
(``weights.transforms()``): resize the short side (antialiased), centre crop, scale to [0, 1],
normalize, as torchvision's preset on PIL images and on [..., C, H, W] tensors."""

from __future__ import annotations

import enum

import numpy as np

import ember
from ember import Tensor, nn


class InterpolationMode(enum.Enum):
    """Interpolation modes, valued as torchvision's (``InterpolationMode.BILINEAR.value``)."""

    NEAREST = "nearest"
    NEAREST_EXACT = "nearest-exact"
    BILINEAR = "bilinear"
    BICUBIC = "bicubic"
    BOX = "box"
    HAMMING = "hamming"
    LANCZOS = "lanczos"


_PIL_FILTERS = {"nearest": 0, "bilinear": 2, "bicubic": 3, "box": 4, "hamming": 5, "lanczos": 1}


def _filter(mode: str, x: np.ndarray) -> np.ndarray:
    x = np.abs(x)
    if mode == "bilinear":
        return np.maximum(1.0 - x, 0.0)
    a = -0.5  # the bicubic of torch's antialiased kernels (and PIL's)
    near = ((a + 2) * x - (a + 3)) * x * x + 1
    far = ((a * x - 5 * a) * x + 8 * a) * x - 4 * a
    return np.where(x < 1, near, np.where(x < 2, far, 0.0))


def _aa_matrix(in_size: int, out_size: int, mode: str) -> np.ndarray:
    """[out, in] weights of torch's antialiased resampling along one axis (align_corners=False):
    the filter is stretched by the downscale factor and each row normalized to sum 1."""
    scale = in_size / out_size
    half = 1.0 if mode == "bilinear" else 2.0
    support = half * scale if scale >= 1.0 else half
    inv = 1.0 / scale if scale >= 1.0 else 1.0
    w = np.zeros((out_size, in_size), dtype=np.float64)
    for i in range(out_size):
        center = scale * (i + 0.5)
        lo = max(int(center - support + 0.5), 0)
        hi = min(int(center + support + 0.5), in_size)
        j = np.arange(lo, hi)
        k = _filter(mode, (j - center + 0.5) * inv)
        total = k.sum()
        w[i, lo:hi] = k / total if total != 0 else k
    return w


def _output_size(h: int, w: int, size: int) -> tuple[int, int]:
    if w <= h:
        return int(size * h / w), size
    return size, int(size * w / h)


def _resize_tensor(img: Tensor, size: int, mode: str, antialias: bool) -> Tensor:
    h, w = img.shape[-2:]
    oh, ow = _output_size(h, w, size)
    if (oh, ow) == (h, w):
        return img
    if mode not in ("bilinear", "bicubic") or not antialias:
        x = img.float() if not img.is_floating_point() else img
        lead = x.shape[:-3]
        x = x.reshape(-1, *x.shape[-3:])
        kw = {} if mode == "nearest" else {"align_corners": False}
        y = nn.functional.interpolate(x, size=(oh, ow), mode=mode, **kw).reshape(*lead, -1, oh, ow)
        arr = y.numpy()
    else:
        arr = img.detach().cpu().numpy().astype(np.float64)
        arr = _aa_matrix(h, oh, mode) @ arr @ _aa_matrix(w, ow, mode).T
    if img.dtype == ember.uint8:
        arr = np.clip(np.round(arr), 0, 255).astype(np.uint8)
    else:
        arr = arr.astype(img.numpy().dtype)
    return ember.from_numpy(np.ascontiguousarray(arr)).to(img.device)


def _center_crop_tensor(img: Tensor, size: int) -> Tensor:
    h, w = img.shape[-2:]
    if size > h or size > w:  # torchvision pads with zeros first
        ph, pw = max(size - h, 0), max(size - w, 0)
        pad = [pw // 2, (pw + 1) // 2, ph // 2, (ph + 1) // 2]
        img = nn.functional.pad(img, pad)
        h, w = img.shape[-2:]
    top = int(round((h - size) / 2.0))
    left = int(round((w - size) / 2.0))
    return img[..., top : top + size, left : left + size]


def _pil_to_tensor(img) -> Tensor:
    arr = np.asarray(img)
    arr = arr[:, :, None] if arr.ndim == 2 else arr
    return ember.from_numpy(np.ascontiguousarray(arr.transpose(2, 0, 1)))


class ImageClassification(nn.Module):
    """Resize to ``resize_size`` (short side), centre-crop ``crop_size``, rescale, normalize."""

    def __init__(
        self,
        *,
        crop_size: int,
        resize_size: int = 256,
        mean: tuple[float, ...] = (0.485, 0.456, 0.406),
        std: tuple[float, ...] = (0.229, 0.224, 0.225),
        interpolation: InterpolationMode = InterpolationMode.BILINEAR,
        antialias: bool | None = True,
    ) -> None:
        super().__init__()
        self.crop_size = [crop_size]
        self.resize_size = [resize_size]
        self.mean = list(mean)
        self.std = list(std)
        self.interpolation = interpolation
        self.antialias = antialias

    def forward(self, img) -> Tensor:
        mode = InterpolationMode(self.interpolation).value
        if isinstance(img, Tensor):
            img = _resize_tensor(img, self.resize_size[0], mode, bool(self.antialias))
            img = _center_crop_tensor(img, self.crop_size[0])
        else:  # a PIL image: PIL resamples, as torchvision's PIL path
            w, h = img.size
            oh, ow = _output_size(h, w, self.resize_size[0])
            if (oh, ow) != (h, w):
                img = img.resize((ow, oh), _PIL_FILTERS[mode])
            img = _center_crop_tensor(_pil_to_tensor(img), self.crop_size[0])
        if img.dtype == ember.uint8:
            img = img.float() / 255.0
        elif not img.is_floating_point():
            img = img.float() / float(ember.iinfo(img.dtype).max)
        else:
            img = img.float()
        mean = ember.tensor(self.mean, dtype=img.dtype).reshape(-1, 1, 1)
        std = ember.tensor(self.std, dtype=img.dtype).reshape(-1, 1, 1)
        return (img - mean) / std

    def __repr__(self) -> str:
        return (
            f"{self.__class__.__name__}(\n    crop_size={self.crop_size}\n"
            f"    resize_size={self.resize_size}\n    mean={self.mean}\n    std={self.std}\n"
            f"    interpolation={self.interpolation}\n)"
        )

    def describe(self) -> str:
        """What the preset does, in words (torchvision's docs print it)."""
        return (
            "Takes a PIL image or a (C, H, W) / (B, C, H, W) tensor; resizes it to "
            f"resize_size={self.resize_size} with interpolation={self.interpolation}, crops the "
            f"centre to crop_size={self.crop_size}, rescales the values to [0.0, 1.0] and "
            f"normalizes them with mean={self.mean} and std={self.std}."
        )
