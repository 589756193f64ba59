"""The inference transforms that model weights carry (``weights.transforms()``), as torchvision's.

torchvision keeps these private: they are reached through a weights enum's ``transforms``.
"""

from __future__ import annotations

from typing import Any

import ember
from ember import nn
from ember.vision.transforms import functional as F
from ember.vision.transforms.functional import InterpolationMode

__all__ = ["ObjectDetection", "ImageClassification", "SemanticSegmentation"]


def _as_float_tensor(img: Any) -> ember.Tensor:
    if not isinstance(img, ember.Tensor):
        img = F.pil_to_tensor(img)
    return F.convert_image_dtype(img, ember.float32)


class ObjectDetection(nn.Module):
    """PIL image or tensor -> float tensor in [0, 1]."""

    def forward(self, img: Any) -> ember.Tensor:
        return _as_float_tensor(img)

    def __repr__(self) -> str:
        return self.__class__.__name__ + "()"

    def describe(self) -> str:
        return (
            "Accepts ``PIL.Image``, batched ``(B, C, H, W)`` and single ``(C, H, W)`` image "
            "``torch.Tensor`` objects. The images are rescaled to ``[0.0, 1.0]``."
        )


class ImageClassification(nn.Module):
    """Resize the shorter edge, centre-crop, rescale to [0, 1] and normalise."""

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

    def forward(self, img: Any) -> ember.Tensor:
        img = F.resize(
            img, self.resize_size, interpolation=self.interpolation, antialias=self.antialias
        )
        img = F.center_crop(img, self.crop_size)
        img = _as_float_tensor(img)
        return F.normalize(img, mean=self.mean, std=self.std)

    def __repr__(self) -> str:
        return (
            f"{self.__class__.__name__}(\n    crop_size={self.crop_size}\n    "
            f"resize_size={self.resize_size}\n    mean={self.mean}\n    std={self.std}\n    "
            f"interpolation={self.interpolation}\n)"
        )

    def describe(self) -> str:
        return (
            "Accepts ``PIL.Image``, batched ``(B, C, H, W)`` and single ``(C, H, W)`` image "
            "``torch.Tensor`` objects. The images are resized to "
            f"``resize_size={self.resize_size}`` "
            f"using ``interpolation={self.interpolation}``, followed by a central crop of "
            f"``crop_size={self.crop_size}``. Finally the values are first rescaled to "
            f"``[0.0, 1.0]`` and then normalized using ``mean={self.mean}`` and ``std={self.std}``."
        )


class SemanticSegmentation(nn.Module):
    """Optionally resize, then rescale to [0, 1] and normalise."""

    def __init__(
        self,
        *,
        resize_size: int | None,
        mean: tuple[float, ...] = (0.485, 0.456, 0.406),
        std: tuple[float, ...] = (0.229, 0.224, 0.225),
        interpolation: InterpolationMode = InterpolationMode.BILINEAR,
        antialias: bool | None = True,
    ) -> None:
        super().__init__()
        self.resize_size = [resize_size] if resize_size is not None else None
        self.mean = list(mean)
        self.std = list(std)
        self.interpolation = interpolation
        self.antialias = antialias

    def forward(self, img: Any) -> ember.Tensor:
        if isinstance(self.resize_size, list):
            img = F.resize(
                img, self.resize_size, interpolation=self.interpolation, antialias=self.antialias
            )
        return F.normalize(_as_float_tensor(img), mean=self.mean, std=self.std)

    def __repr__(self) -> str:
        return (
            f"{self.__class__.__name__}(\n    resize_size={self.resize_size}\n"
            f"    mean={self.mean}\n    std={self.std}\n    interpolation={self.interpolation}\n)"
        )
