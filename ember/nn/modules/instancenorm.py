"""InstanceNorm1d/2d/3d: per-sample, per-channel normalization over the spatial dims."""

from __future__ import annotations

from ...ops.creation import ones, tensor, zeros
from ...tensor import Tensor
from .._functional_conv import instance_norm
from ..parameter import Parameter
from .module import Module

__all__ = ["InstanceNorm1d", "InstanceNorm2d", "InstanceNorm3d"]


class _InstanceNorm(Module):
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
        super().__init__()
        self.num_features = num_features
        self.eps = eps
        self.momentum = momentum
        self.affine = affine
        self.track_running_stats = track_running_stats
        self._bias_on = affine and bias
        if affine:
            self.weight = Parameter(ones(num_features, device=device, dtype=dtype))
            if bias:
                self.bias = Parameter(zeros(num_features, device=device, dtype=dtype))
            else:
                self.register_parameter("bias", None)
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        if track_running_stats:
            self.register_buffer("running_mean", zeros(num_features, device=device, dtype=dtype))
            self.register_buffer("running_var", ones(num_features, device=device, dtype=dtype))
            self.register_buffer("num_batches_tracked", tensor(0, device=device))
        else:
            self.register_buffer("running_mean", None)
            self.register_buffer("running_var", None)
            self.register_buffer("num_batches_tracked", None)

    def reset_running_stats(self) -> None:
        """Running mean 0, running variance 1, batch count 0."""
        if self.track_running_stats:
            self.running_mean.zero_()
            self.running_var.fill_(1)
            self.num_batches_tracked.zero_()

    def reset_parameters(self) -> None:
        """Running stats reset; weight 1, bias 0."""
        self.reset_running_stats()
        if self.weight is not None:
            self.weight.data.fill_(1)
        if self.bias is not None:
            self.bias.data.zero_()

    def extra_repr(self) -> str:
        return (
            f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, "
            f"affine={self.affine}, bias={self._bias_on}, "
            f"track_running_stats={self.track_running_stats}"
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
