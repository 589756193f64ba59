"""The v2-only transforms: ToImage, ToDtype (with ``scale``), ToPureTensor."""

from __future__ import annotations

from typing import Any

import numpy as np

import ember
from ember import nn
from ember.vision.transforms import functional as F

__all__ = ["ToImage", "ToDtype", "ToPureTensor", "to_image", "to_dtype"]


def to_image(inpt: Any) -> ember.Tensor:
    """A PIL image, HWC ndarray or tensor as a CHW tensor of the same dtype (no scaling)."""
    if isinstance(inpt, np.ndarray):
        arr = inpt[:, :, None] if inpt.ndim == 2 else inpt
        return ember.from_numpy(np.ascontiguousarray(arr.transpose(2, 0, 1)))
    if isinstance(inpt, ember.Tensor):
        return inpt if inpt.ndim >= 3 else inpt.unsqueeze(0)
    return F.pil_to_tensor(inpt)


def to_dtype(inpt: ember.Tensor, dtype: ember.dtype = ember.float32, scale: bool = False):
    """Change the dtype; with ``scale`` rescale values as ConvertImageDtype does."""
    if scale:
        return F.convert_image_dtype(inpt, dtype)
    return inpt.to(dtype)


class ToImage(nn.Module):
    """Convert to a CHW image tensor (v2)."""

    def forward(self, inpt: Any) -> ember.Tensor:
        return to_image(inpt)


class ToDtype(nn.Module):
    """Convert the dtype, scaling values when ``scale=True`` (v2)."""

    def __init__(self, dtype: ember.dtype | dict, scale: bool = False) -> None:
        super().__init__()
        self.dtype = dtype
        self.scale = scale

    def forward(self, inpt: Any) -> Any:
        dtype = self.dtype
        if isinstance(dtype, dict):
            dtype = next(iter(dtype.values()))
        if not isinstance(inpt, ember.Tensor):
            return inpt
        return to_dtype(inpt, dtype, self.scale)

    def extra_repr(self) -> str:
        return f"dtype={self.dtype}, scale={self.scale}"


class ToPureTensor(nn.Module):
    """Return the input tensor unchanged (ember has no tensor subclasses to unwrap)."""

    def forward(self, inpt: Any) -> Any:
        return inpt
