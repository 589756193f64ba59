"""Padding modules: constant/zero, reflection, replication and circular, 1-3 dims."""

from __future__ import annotations

from ...tensor import Tensor
from ..functional import pad
from .module import Module
from .utils import _ntuple

__all__ = [
    "ConstantPad1d",
    "ConstantPad2d",
    "ConstantPad3d",
    "ZeroPad1d",
    "ZeroPad2d",
    "ZeroPad3d",
    "ReflectionPad1d",
    "ReflectionPad2d",
    "ReflectionPad3d",
    "ReplicationPad1d",
    "ReplicationPad2d",
    "ReplicationPad3d",
    "CircularPad1d",
    "CircularPad2d",
    "CircularPad3d",
]


def _widths(padding, n: int) -> tuple:
    if isinstance(padding, (list, tuple)):
        if len(padding) != 2 * n:
            raise ValueError(f"expected padding of length {2 * n}, got {len(padding)}")
        return tuple(int(e) for e in padding)
    return _ntuple(2 * n)(int(padding))


class _PadNd(Module):
    _nsp = 2
    _mode = "constant"

    def __init__(self, padding) -> None:
        super().__init__()
        self.padding = _widths(padding, self._nsp)

    def extra_repr(self) -> str:
        return f"{self.padding}"

    def forward(self, input: Tensor) -> Tensor:
        return pad(input, self.padding, self._mode)


class _ConstantPadNd(_PadNd):
    def __init__(self, padding, value: float) -> None:
        super().__init__(padding)
        self.value = value

    def extra_repr(self) -> str:
        return f"padding={self.padding}, value={self.value}"

    def forward(self, input: Tensor) -> Tensor:
        return pad(input, self.padding, "constant", self.value)


class ConstantPad1d(_ConstantPadNd):
    """Pad the last dim with a constant, as torch.nn.ConstantPad1d."""

    _nsp = 1


class ConstantPad2d(_ConstantPadNd):
    """Pad the last 2 dims with a constant, as torch.nn.ConstantPad2d."""

    _nsp = 2


class ConstantPad3d(_ConstantPadNd):
    """Pad the last 3 dims with a constant, as torch.nn.ConstantPad3d."""

    _nsp = 3


class _ZeroPadNd(_ConstantPadNd):
    def __init__(self, padding) -> None:
        super().__init__(padding, 0.0)

    def extra_repr(self) -> str:
        return f"{self.padding}"


class ZeroPad1d(_ZeroPadNd):
    """Pad the last dim with zeros, as torch.nn.ZeroPad1d."""

    _nsp = 1


class ZeroPad2d(_ZeroPadNd):
    """Pad the last 2 dims with zeros, as torch.nn.ZeroPad2d."""

    _nsp = 2


class ZeroPad3d(_ZeroPadNd):
    """Pad the last 3 dims with zeros, as torch.nn.ZeroPad3d."""

    _nsp = 3


class ReflectionPad1d(_PadNd):
    """Reflect-pad the last dim, as torch.nn.ReflectionPad1d."""

    _nsp = 1
    _mode = "reflect"


class ReflectionPad2d(_PadNd):
    """Reflect-pad the last 2 dims, as torch.nn.ReflectionPad2d."""

    _nsp = 2
    _mode = "reflect"


class ReflectionPad3d(_PadNd):
    """Reflect-pad the last 3 dims, as torch.nn.ReflectionPad3d."""

    _nsp = 3
    _mode = "reflect"


class ReplicationPad1d(_PadNd):
    """Edge-pad the last dim, as torch.nn.ReplicationPad1d."""

    _nsp = 1
    _mode = "replicate"


class ReplicationPad2d(_PadNd):
    """Edge-pad the last 2 dims, as torch.nn.ReplicationPad2d."""

    _nsp = 2
    _mode = "replicate"


class ReplicationPad3d(_PadNd):
    """Edge-pad the last 3 dims, as torch.nn.ReplicationPad3d."""

    _nsp = 3
    _mode = "replicate"


class CircularPad1d(_PadNd):
    """Wrap-pad the last dim, as torch.nn.CircularPad1d."""

    _nsp = 1
    _mode = "circular"


class CircularPad2d(_PadNd):
    """Wrap-pad the last 2 dims, as torch.nn.CircularPad2d."""

    _nsp = 2
    _mode = "circular"


class CircularPad3d(_PadNd):
    """Wrap-pad the last 3 dims, as torch.nn.CircularPad3d."""

    _nsp = 3
    _mode = "circular"
