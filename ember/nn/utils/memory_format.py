"""Convolution weights to a memory format, as ``torch.nn.utils.memory_format``."""

from __future__ import annotations

from typing import TypeVar

from ...dtypes import memory_format as _MemoryFormat
from ...ops.creation import check_memory_format
from ..modules.conv import Conv2d, Conv3d, ConvTranspose2d, ConvTranspose3d
from ..modules.module import Module

__all__ = ["convert_conv2d_weight_memory_format", "convert_conv3d_weight_memory_format"]

M = TypeVar("M", bound=Module)


def _convert(module: M, memory_format: _MemoryFormat, kinds: tuple) -> M:
    if isinstance(module, kinds):
        w = module.weight.detach()
        check_memory_format(memory_format, w.ndim, "clone")
        # a copy, as torch's clone into the format: ember's arrays stay row-major, so the
        # layout (strides) does not change
        module.weight.data = w.clone()
    for child in module.children():
        _convert(child, memory_format, kinds)
    return module


def convert_conv2d_weight_memory_format(module: M, memory_format: _MemoryFormat) -> M:
    """Give the weight of every Conv2d/ConvTranspose2d in ``module`` the memory format; returns
    ``module``. As torch, the rank is checked (channels_last needs 4-D weights); ember's
    weights keep row-major strides, so only a copy is made."""
    return _convert(module, memory_format, (Conv2d, ConvTranspose2d))


def convert_conv3d_weight_memory_format(module: M, memory_format: _MemoryFormat) -> M:
    """As ``convert_conv2d_weight_memory_format``, for Conv3d/ConvTranspose3d weights
    (channels_last_3d needs 5-D weights)."""
    return _convert(module, memory_format, (Conv3d, ConvTranspose3d))
