"""torch.nn.utils.fusion: fold an eval-mode BatchNorm into the conv or linear layer before it.

In eval mode a BatchNorm is the affine map ``x -> (x - mean) * w / sqrt(var + eps) + b`` per
channel, so it can be absorbed into the weight and bias of the layer that feeds it: the fused
layer gives the pair's outputs with one layer's work.
"""

from __future__ import annotations

import copy
from typing import TypeVar

from ...autograd.grad_mode import no_grad
from ...ops.creation import ones_like, zeros_like
from ...ops.unary import rsqrt
from ...tensor import Tensor
from ..modules.batchnorm import _BatchNorm
from ..modules.conv import _ConvNd
from ..modules.linear import Linear
from ..parameter import Parameter

__all__ = [
    "fuse_conv_bn_eval",
    "fuse_conv_bn_weights",
    "fuse_linear_bn_eval",
    "fuse_linear_bn_weights",
]

ConvT = TypeVar("ConvT", bound=_ConvNd)
LinearT = TypeVar("LinearT", bound=Linear)


def _check_eval(layer, bn: _BatchNorm) -> None:
    if layer.training or bn.training:
        raise AssertionError("Fusion only for eval!")


def _check_running_stats(bn: _BatchNorm) -> None:
    if bn.running_mean is None or bn.running_var is None:
        raise AssertionError("bn.running_mean and bn.running_var must not be None")


def fuse_conv_bn_eval(conv: ConvT, bn: _BatchNorm, transpose: bool = False) -> ConvT:
    """A new convolution equal to ``conv`` followed by the eval-mode ``bn``.

    As torch: both modules must be in eval mode (AssertionError "Fusion only for eval!") and
    ``bn`` must track running statistics; ``conv`` is deep-copied, not changed. Pass
    ``transpose=True`` for a transposed convolution, whose output channels are the weight's
    second dimension.
    """
    _check_eval(conv, bn)
    fused = copy.deepcopy(conv)
    _check_running_stats(bn)
    fused.weight, fused.bias = fuse_conv_bn_weights(
        fused.weight,
        fused.bias,
        bn.running_mean,
        bn.running_var,
        bn.eps,
        bn.weight,
        bn.bias,
        transpose,
    )
    return fused


def fuse_conv_bn_weights(
    conv_w: Tensor,
    conv_b: Tensor | None,
    bn_rm: Tensor,
    bn_rv: Tensor,
    bn_eps: float,
    bn_w: Tensor | None,
    bn_b: Tensor | None,
    transpose: bool = False,
) -> tuple[Parameter, Parameter]:
    """The weight and bias of a convolution fused with BatchNorm statistics, as Parameters.

    As torch: a missing conv bias counts as zeros (the fused bias then has the weight's dtype
    and does not require grad), a BatchNorm without affine as weight 1 and bias 0; the scaling
    is computed in the promoted dtype of the inputs and the results are cast back to the
    convolution's dtypes; each result requires grad as its convolution input does.
    """
    w_dtype = conv_w.dtype
    b_dtype = conv_b.dtype if conv_b is not None else w_dtype
    if conv_b is None:
        conv_b = zeros_like(bn_rm)
    if bn_w is None:
        bn_w = ones_like(bn_rm)
    if bn_b is None:
        bn_b = zeros_like(bn_rm)
    # a transposed convolution keeps its output channels in the weight's second dimension
    shape = [1, -1] if transpose else [-1, 1]
    shape += [1] * (conv_w.dim() - 2)
    with no_grad():  # the results become leaf Parameters: a graph would be dropped anyway
        inv_std = rsqrt(bn_rv + bn_eps)
        w = (conv_w * (bn_w * inv_std).reshape(shape)).to(dtype=w_dtype)
        b = ((conv_b - bn_rm) * inv_std * bn_w + bn_b).to(dtype=b_dtype)
    return Parameter(w, conv_w.requires_grad), Parameter(b, conv_b.requires_grad)


def fuse_linear_bn_eval(linear: LinearT, bn: _BatchNorm) -> LinearT:
    """A new linear layer equal to ``linear`` followed by the eval-mode ``bn``.

    As torch: both modules must be in eval mode, ``bn.num_features`` must equal
    ``linear.out_features`` or be 1 (the BatchNorm's channel dimension broadcasts against the
    linear's last one), and ``bn`` must track running statistics; ``linear`` is deep-copied.
    """
    _check_eval(linear, bn)
    fused = copy.deepcopy(linear)
    if linear.out_features != bn.num_features and bn.num_features != 1:
        raise AssertionError(
            "To fuse, linear.out_features == bn.num_features or bn.num_features == 1, "
            f"got linear.out_features={linear.out_features} and "
            f"bn.num_features={bn.num_features}"
        )
    _check_running_stats(bn)
    fused.weight, fused.bias = fuse_linear_bn_weights(
        fused.weight,
        fused.bias,
        bn.running_mean,
        bn.running_var,
        bn.eps,
        bn.weight,
        bn.bias,
    )
    return fused


def fuse_linear_bn_weights(
    linear_w: Tensor,
    linear_b: Tensor | None,
    bn_rm: Tensor,
    bn_rv: Tensor,
    bn_eps: float,
    bn_w: Tensor,
    bn_b: Tensor,
) -> tuple[Parameter, Parameter]:
    """The weight and bias of a linear layer fused with BatchNorm statistics, as Parameters.

    As torch: a missing linear bias counts as zeros; the BatchNorm's weight and bias are
    required (None fails in the arithmetic, as in torch). The per-feature scale is cast to the
    weight's dtype before it multiplies the weight, and the bias is cast to the linear bias's
    dtype (the weight's when there is none).
    """
    w_dtype = linear_w.dtype
    b_dtype = linear_b.dtype if linear_b is not None else w_dtype
    if linear_b is None:
        linear_b = zeros_like(bn_rm)
    with no_grad():  # the results become leaf Parameters: a graph would be dropped anyway
        scale = bn_w * rsqrt(bn_rv + bn_eps)
        w = linear_w * scale.unsqueeze(-1).to(dtype=w_dtype)
        b = ((linear_b - bn_rm) * scale + bn_b).to(dtype=b_dtype)
    return Parameter(w, linear_w.requires_grad), Parameter(b, linear_b.requires_grad)
