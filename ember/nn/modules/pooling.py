"""Pooling modules: max, average, adaptive, and max-unpooling, with torch's reprs."""

from __future__ import annotations

from ...ops import pool_adaptive, pooling
from ...ops.conv import ntuple
from ...tensor import Tensor
from ..functional import (
    fractional_max_pool2d,
    fractional_max_pool3d,
    lp_pool1d,
    lp_pool2d,
    lp_pool3d,
)
from .module import Module

__all__ = [
    "MaxPool1d",
    "MaxPool2d",
    "MaxPool3d",
    "AvgPool1d",
    "AvgPool2d",
    "AvgPool3d",
    "AdaptiveAvgPool1d",
    "AdaptiveAvgPool2d",
    "AdaptiveAvgPool3d",
    "AdaptiveMaxPool1d",
    "AdaptiveMaxPool2d",
    "MaxUnpool1d",
    "MaxUnpool2d",
    "MaxUnpool3d",
    "LPPool1d",
    "LPPool2d",
    "LPPool3d",
]


class _MaxPoolNd(Module):
    _fn = None

    def __init__(
        self,
        kernel_size,
        stride=None,
        padding=0,
        dilation=1,
        return_indices: bool = False,
        ceil_mode: bool = False,
    ) -> None:
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = stride if (stride is not None) else kernel_size
        self.padding = padding
        self.dilation = dilation
        self.return_indices = return_indices
        self.ceil_mode = ceil_mode

    def extra_repr(self) -> str:
        return (
            f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
            f"dilation={self.dilation}, ceil_mode={self.ceil_mode}"
        )

    def forward(self, input: Tensor):
        return type(self)._fn(
            input,
            self.kernel_size,
            self.stride,
            self.padding,
            self.dilation,
            ceil_mode=self.ceil_mode,
            return_indices=self.return_indices,
        )


class MaxPool1d(_MaxPoolNd):
    """1-d max pooling, as torch.nn.MaxPool1d."""

    _fn = staticmethod(pooling.max_pool1d)


class MaxPool2d(_MaxPoolNd):
    """2-d max pooling, as torch.nn.MaxPool2d."""

    _fn = staticmethod(pooling.max_pool2d)


class MaxPool3d(_MaxPoolNd):
    """3-d max pooling, as torch.nn.MaxPool3d."""

    _fn = staticmethod(pooling.max_pool3d)


class AvgPool1d(Module):
    """1-d average pooling, as torch.nn.AvgPool1d."""

    def __init__(
        self,
        kernel_size,
        stride=None,
        padding=0,
        ceil_mode: bool = False,
        count_include_pad: bool = True,
    ) -> None:
        super().__init__()
        self.kernel_size = ntuple(kernel_size, 1)
        self.stride = ntuple(stride if stride is not None else kernel_size, 1)
        self.padding = ntuple(padding, 1)
        self.ceil_mode = ceil_mode
        self.count_include_pad = count_include_pad

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"

    def forward(self, input: Tensor) -> Tensor:
        return pooling.avg_pool1d(
            input,
            self.kernel_size,
            self.stride,
            self.padding,
            self.ceil_mode,
            self.count_include_pad,
        )


class _AvgPoolNd(Module):
    _fn = None

    def __init__(
        self,
        kernel_size,
        stride=None,
        padding=0,
        ceil_mode: bool = False,
        count_include_pad: bool = True,
        divisor_override: int | None = None,
    ) -> None:
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = stride if (stride is not None) else kernel_size
        self.padding = padding
        self.ceil_mode = ceil_mode
        self.count_include_pad = count_include_pad
        self.divisor_override = divisor_override

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"

    def forward(self, input: Tensor) -> Tensor:
        return type(self)._fn(
            input,
            self.kernel_size,
            self.stride,
            self.padding,
            self.ceil_mode,
            self.count_include_pad,
            self.divisor_override,
        )


class AvgPool2d(_AvgPoolNd):
    """2-d average pooling, as torch.nn.AvgPool2d."""

    _fn = staticmethod(pooling.avg_pool2d)


class AvgPool3d(_AvgPoolNd):
    """3-d average pooling, as torch.nn.AvgPool3d."""

    _fn = staticmethod(pooling.avg_pool3d)


class _AdaptiveNd(Module):
    _fn = None

    def __init__(self, output_size) -> None:
        super().__init__()
        self.output_size = output_size

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"

    def forward(self, input: Tensor) -> Tensor:
        return type(self)._fn(input, self.output_size)


class AdaptiveAvgPool1d(_AdaptiveNd):
    """Adaptive 1-d average pooling, as torch.nn.AdaptiveAvgPool1d."""

    _fn = staticmethod(pool_adaptive.adaptive_avg_pool1d)


class AdaptiveAvgPool2d(_AdaptiveNd):
    """Adaptive 2-d average pooling, as torch.nn.AdaptiveAvgPool2d."""

    _fn = staticmethod(pool_adaptive.adaptive_avg_pool2d)


class AdaptiveAvgPool3d(_AdaptiveNd):
    """Adaptive 3-d average pooling, as torch.nn.AdaptiveAvgPool3d."""

    _fn = staticmethod(pool_adaptive.adaptive_avg_pool3d)


class _AdaptiveMaxNd(Module):
    _fn = None

    def __init__(self, output_size, return_indices: bool = False) -> None:
        super().__init__()
        self.output_size = output_size
        self.return_indices = return_indices

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"

    def forward(self, input: Tensor):
        return type(self)._fn(input, self.output_size, self.return_indices)


class AdaptiveMaxPool1d(_AdaptiveMaxNd):
    """Adaptive 1-d max pooling, as torch.nn.AdaptiveMaxPool1d."""

    _fn = staticmethod(pool_adaptive.adaptive_max_pool1d)


class AdaptiveMaxPool2d(_AdaptiveMaxNd):
    """Adaptive 2-d max pooling, as torch.nn.AdaptiveMaxPool2d."""

    _fn = staticmethod(pool_adaptive.adaptive_max_pool2d)


class _MaxUnpoolNd(Module):
    _nsp = 2
    _fn = None

    def __init__(self, kernel_size, stride=None, padding=0) -> None:
        super().__init__()
        n = self._nsp
        self.kernel_size = ntuple(kernel_size, n)
        self.stride = ntuple(stride if stride is not None else kernel_size, n)
        self.padding = ntuple(padding, n)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"

    def forward(self, input: Tensor, indices: Tensor, output_size=None) -> Tensor:
        return type(self)._fn(
            input, indices, self.kernel_size, self.stride, self.padding, output_size
        )


class MaxUnpool1d(_MaxUnpoolNd):
    """Partial inverse of MaxPool1d, as torch.nn.MaxUnpool1d."""

    _nsp = 1
    _fn = staticmethod(pool_adaptive.max_unpool1d)


class MaxUnpool2d(_MaxUnpoolNd):
    """Partial inverse of MaxPool2d, as torch.nn.MaxUnpool2d."""

    _nsp = 2
    _fn = staticmethod(pool_adaptive.max_unpool2d)


class MaxUnpool3d(_MaxUnpoolNd):
    """Partial inverse of MaxPool3d, as torch.nn.MaxUnpool3d."""

    _nsp = 3
    _fn = staticmethod(pool_adaptive.max_unpool3d)


class _LPPoolNd(Module):
    _nsp = 2

    def __init__(self, norm_type: float, kernel_size, stride=None, ceil_mode: bool = False) -> None:
        super().__init__()
        self.norm_type = norm_type
        self.kernel_size = kernel_size
        self.stride = stride
        self.ceil_mode = ceil_mode

    def extra_repr(self) -> str:
        return (
            f"norm_type={self.norm_type}, kernel_size={self.kernel_size}, "
            f"stride={self.stride}, ceil_mode={self.ceil_mode}"
        )

    def forward(self, input: Tensor) -> Tensor:
        fn = (lp_pool1d, lp_pool2d, lp_pool3d)[self._nsp - 1]
        return fn(input, self.norm_type, self.kernel_size, self.stride, self.ceil_mode)


class LPPool1d(_LPPoolNd):
    """Power-average pooling over 1 dim, as torch.nn.LPPool1d."""

    _nsp = 1


class LPPool2d(_LPPoolNd):
    """Power-average pooling over 2 dims, as torch.nn.LPPool2d."""

    _nsp = 2


class LPPool3d(_LPPoolNd):
    """Power-average pooling over 3 dims, as torch.nn.LPPool3d."""

    _nsp = 3


class AdaptiveMaxPool3d(_AdaptiveMaxNd):
    """Adaptive 3-d max pooling, as torch.nn.AdaptiveMaxPool3d."""

    _fn = staticmethod(pool_adaptive.adaptive_max_pool3d)


class _FractionalMaxPoolNd(Module):
    _nsp = 2

    def __init__(
        self, kernel_size, output_size=None, output_ratio=None, return_indices: bool = False,
        _random_samples=None,
    ) -> None:  # fmt: skip
        super().__init__()
        n = self._nsp
        name = type(self).__name__
        self.kernel_size = ntuple(kernel_size, n)
        self.return_indices = return_indices
        self.register_buffer("_random_samples", _random_samples)
        self.output_size = ntuple(output_size, n) if output_size is not None else None
        self.output_ratio = (
            (
                tuple(output_ratio)
                if isinstance(output_ratio, (tuple, list))
                else (output_ratio,) * n
            )
            if output_ratio is not None
            else None
        )
        if output_size is None and output_ratio is None:
            raise ValueError(
                f"{name} requires specifying either an output size, or a pooling ratio"
            )
        if output_size is not None and output_ratio is not None:
            raise ValueError("only one of output_size and output_ratio may be specified")
        if self.output_ratio is not None and not all(0 < r < 1 for r in self.output_ratio):
            raise ValueError(f"output_ratio must be between 0 and 1 (got {output_ratio})")

    def forward(self, input: Tensor):
        fn = fractional_max_pool2d if self._nsp == 2 else fractional_max_pool3d
        return fn(
            input, self.kernel_size, self.output_size, self.output_ratio, self.return_indices,
            _random_samples=self._random_samples,
        )  # fmt: skip


class FractionalMaxPool2d(_FractionalMaxPoolNd):
    """2-d fractional max pooling, as torch.nn.FractionalMaxPool2d."""

    _nsp = 2


class FractionalMaxPool3d(_FractionalMaxPoolNd):
    """3-d fractional max pooling, as torch.nn.FractionalMaxPool3d."""

    _nsp = 3
