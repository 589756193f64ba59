"""InstanceNorm1d/2d/3d: per-sample, per-channel normalization over the spatial dims, and
LazyInstanceNorm1d/2d/3d (num_features from the first input)."""

from __future__ import annotations

from ...tensor import Tensor
from ..functional import instance_norm
from .batchnorm import _LazyNormBase, _NormBase

__all__ = [
    "InstanceNorm1d",
    "InstanceNorm2d",
    "InstanceNorm3d",
    "LazyInstanceNorm1d",
    "LazyInstanceNorm2d",
    "LazyInstanceNorm3d",
]


class _InstanceNorm(_NormBase):
    """InstanceNorm's module: _NormBase's parameters, buffers, repr and state-dict versioning
    (as in torch), with affine and running statistics off by default."""

    _nsp = 2

    def __init__(
        self,
        num_features: int,
        eps: float = 1e-5,
        momentum: float | None = 0.1,
        affine: bool = False,
        track_running_stats: bool = False,
        device=None,
        dtype=None,
        *,
        bias: bool = True,
    ) -> None:
        super().__init__(
            num_features, eps, momentum, affine, track_running_stats, device, dtype, bias
        )

    def forward(self, input: Tensor) -> Tensor:
        n = self._nsp
        if input.ndim not in (n + 1, n + 2):
            raise ValueError(f"expected {n + 1}D or {n + 2}D input (got {input.ndim}D input)")
        unb = input.ndim == n + 1
        x = input.unsqueeze(0) if unb else input
        use_stats = self.training or not self.track_running_stats
        mom = self.momentum if self.momentum is not None else 0.0
        out = instance_norm(
            x, self.running_mean, self.running_var, self.weight, self.bias, use_stats, mom, self.eps
        )
        return out.squeeze(0) if unb else out


class InstanceNorm1d(_InstanceNorm):
    """Instance normalization over (N, C, L), as torch.nn.InstanceNorm1d."""

    _nsp = 1


class InstanceNorm2d(_InstanceNorm):
    """Instance normalization over (N, C, H, W), as torch.nn.InstanceNorm2d."""

    _nsp = 2


class InstanceNorm3d(_InstanceNorm):
    """Instance normalization over (N, C, D, H, W), as torch.nn.InstanceNorm3d."""

    _nsp = 3


# As torch's: affine and running statistics on by default (the non-lazy ones default to off),
# num_features from the input's dim 1 (also for an unbatched input).
class LazyInstanceNorm1d(_LazyNormBase, _InstanceNorm):
    """InstanceNorm1d with num_features from the first input, as torch's; becomes an
    InstanceNorm1d."""

    cls_to_become = InstanceNorm1d
    _nsp = 1


class LazyInstanceNorm2d(_LazyNormBase, _InstanceNorm):
    """InstanceNorm2d with num_features from the first input, as torch's; becomes an
    InstanceNorm2d."""

    cls_to_become = InstanceNorm2d
    _nsp = 2


class LazyInstanceNorm3d(_LazyNormBase, _InstanceNorm):
    """InstanceNorm3d with num_features from the first input, as torch's; becomes an
    InstanceNorm3d."""

    cls_to_become = InstanceNorm3d
    _nsp = 3
