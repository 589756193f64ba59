"""torch.nn.functional: the stateless layer functions with torch's argument checks and messages,
thin over the ops in ``ember.ops`` (activation, loss, normalization, linear, dropout, embedding,
padding, conv, pooling, resample)."""

from __future__ import annotations

import math
import warnings

import numpy as np

from .. import dtypes
from .._autocast_state import state as _acs
from .._backend.xp import is_cpu, move_like, xp_of
from .._tensor_errors import check_dim, device_error, not_implemented_for
from .._torch_alias import module_getattr as _module_getattr
from ..autograd.grad_mode import is_grad_enabled, no_grad
from ..dtypes import float64, get_default_dtype, scalar_type_name
from ..ops import _autocast
from ..ops.activation import (
    _Elu,
    _Gelu,
    _HardShrink,
    _Hsig,
    _Hswish,
    _Leaky,
    _LogSig,
    _LogSoftmax,
    _Mish,
    _PRelu,
    _Relu6,
    _Sigmoid,
    _Silu,
    _Softmax,
    _Softplus,
    _SoftShrink,
    _Softsign,
    _TanhShrink,
    _Thresh,
    prep_softmax,
)
from ..ops.attention import check_args as check_sdpa_args
from ..ops.attention import scaled_dot_product_attention as _sdpa
from ..ops.compare import clamp_min, minimum, where
from ..ops.conv import ntuple
from ..ops.conv_functional import (
    conv1d,
    conv2d,
    conv3d,
    conv_transpose1d,
    conv_transpose2d,
    conv_transpose3d,
)
from ..ops.creation import empty, empty_like, zeros, zeros_like
from ..ops.ctc import CTCLoss as CTCLossOp
from ..ops.dropout import alpha_masks, apply_mask, check_p, keep_mask
from ..ops.embedding import _Embedding, _EmbeddingBag, bag_of_positions, renorm_rows
from ..ops.inplace import inplace as run_inplace
from ..ops.join import cat
from ..ops.linear import _Bilinear, linear
from ..ops.loss import _BCE, _MSE, _NLL, _BCELogits, _CrossEntropy
from ..ops.normalization import BatchNormTrain, batch_norm_eval, normalize_over
from ..ops.normalization import eligible as batch_norm_eligible
from ..ops.padding import _Pad
from ..ops.pool_adaptive import (
    adaptive_avg_pool1d,
    adaptive_avg_pool2d,
    adaptive_avg_pool3d,
    adaptive_max_pool1d,
    adaptive_max_pool2d,
    adaptive_max_pool3d,
    max_unpool1d,
    max_unpool2d,
    max_unpool3d,
)
from ..ops.pool_fractional import FractionalMaxPool
from ..ops.pooling import (
    avg_pool1d,
    avg_pool2d,
    avg_pool3d,
    max_pool1d,
    max_pool2d,
    max_pool3d,
)
from ..ops.resample import (
    affine_grid,
    fold,
    grid_sample,
    interpolate,
    pixel_shuffle,
    pixel_unshuffle,
    unfold,
    upsample,
)
from ..ops.unary import relu as _unary_relu
from ..ops.unary import relu_ as _unary_relu_
from ..ops.unary import sigmoid as _unary_sigmoid
from ..ops.unary import tanh as _unary_tanh
from ..ops.view import broadcast_tensors
from ..random import rand
from ..tensor import Tensor, _wrap

__all__ = [
    "relu",
    "relu_",
    "relu6",
    "leaky_relu",
    "leaky_relu_",
    "prelu",
    "elu",
    "elu_",
    "selu",
    "selu_",
    "celu",
    "celu_",
    "gelu",
    "silu",
    "mish",
    "hardtanh",
    "hardtanh_",
    "hardsigmoid",
    "hardswish",
    "softplus",
    "softsign",
    "threshold",
    "threshold_",
    "sigmoid",
    "tanh",
    "logsigmoid",
    "tanhshrink",
    "softshrink",
    "hardshrink",
    "softmax",
    "log_softmax",
    "softmin",
    "glu",
    "rrelu",
    "linear",
    "bilinear",
    "dropout",
    "dropout1d",
    "dropout2d",
    "dropout3d",
    "alpha_dropout",
    "feature_alpha_dropout",
    "embedding",
    "one_hot",
    "pad",
    "normalize",
    "cosine_similarity",
    "pairwise_distance",
    "scaled_dot_product_attention",
    "identity",
    "embedding_bag",
    "mse_loss",
    "l1_loss",
    "cross_entropy",
    "nll_loss",
    "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
    "smooth_l1_loss",
    "huber_loss",
    "kl_div",
    "cosine_embedding_loss",
    "margin_ranking_loss",
    "triplet_margin_loss",
    "triplet_margin_with_distance_loss",
    "multi_margin_loss",
    "ctc_loss",
    "linear_cross_entropy",
    "multilabel_margin_loss",
    "pdist",
    "affine_grid",
    "multi_head_attention_forward",
    "adaptive_max_pool3d",
    "adaptive_max_pool3d_with_indices",
    "fractional_max_pool2d",
    "fractional_max_pool3d",
    "fractional_max_pool2d_with_indices",
    "fractional_max_pool3d_with_indices",
    "grid_sample",
    "channel_shuffle",
    "native_channel_shuffle",
    "hinge_embedding_loss",
    "soft_margin_loss",
    "poisson_nll_loss",
    "gaussian_nll_loss",
    "multilabel_soft_margin_loss",
    "batch_norm",
    "layer_norm",
    "group_norm",
    "rms_norm",
    "instance_norm",
    "local_response_norm",
    "conv1d",
    "conv2d",
    "conv3d",
    "conv_transpose1d",
    "conv_transpose2d",
    "conv_transpose3d",
    "max_pool1d",
    "max_pool2d",
    "max_pool3d",
    "avg_pool1d",
    "avg_pool2d",
    "avg_pool3d",
    "adaptive_avg_pool1d",
    "adaptive_avg_pool2d",
    "adaptive_avg_pool3d",
    "adaptive_max_pool1d",
    "adaptive_max_pool2d",
    "max_unpool1d",
    "max_unpool2d",
    "max_unpool3d",
    "max_pool1d_with_indices",
    "max_pool2d_with_indices",
    "max_pool3d_with_indices",
    "adaptive_max_pool1d_with_indices",
    "adaptive_max_pool2d_with_indices",
    "interpolate",
    "upsample",
    "upsample_nearest",
    "upsample_bilinear",
    "pixel_shuffle",
    "pixel_unshuffle",
    "unfold",
    "fold",
    "lp_pool1d",
    "lp_pool2d",
    "lp_pool3d",
    "rrelu_",
    "gumbel_softmax",
]


# --- convolution and pooling ----------------------------------------------------------------
def max_pool1d_with_indices(
    input: Tensor,
    kernel_size,
    stride=None,
    padding=0,
    dilation=1,
    ceil_mode: bool = False,
    return_indices: bool = True,
):
    """max_pool1d returning (values, indices)."""
    return max_pool1d(input, kernel_size, stride, padding, dilation, ceil_mode, True)


def max_pool2d_with_indices(
    input: Tensor,
    kernel_size,
    stride=None,
    padding=0,
    dilation=1,
    ceil_mode: bool = False,
    return_indices: bool = True,
):
    """max_pool2d returning (values, indices)."""
    return max_pool2d(input, kernel_size, stride, padding, dilation, ceil_mode, True)


def max_pool3d_with_indices(
    input: Tensor,
    kernel_size,
    stride=None,
    padding=0,
    dilation=1,
    ceil_mode: bool = False,
    return_indices: bool = True,
):
    """max_pool3d returning (values, indices)."""
    return max_pool3d(input, kernel_size, stride, padding, dilation, ceil_mode, True)


def adaptive_max_pool1d_with_indices(input: Tensor, output_size, return_indices: bool = True):
    """adaptive_max_pool1d returning (values, indices)."""
    return adaptive_max_pool1d(input, output_size, True)


def adaptive_max_pool3d_with_indices(input: Tensor, output_size, return_indices: bool = True):
    """adaptive_max_pool3d returning (values, indices)."""
    return adaptive_max_pool3d(input, output_size, True)


def _fractional_max_pool(
    nsp, input, kernel_size, output_size, output_ratio, return_indices, _random_samples
):
    name = f"fractional_max_pool{nsp}d"
    if output_size is None and output_ratio is None:
        raise ValueError(f"{name} requires specifying either an output_size or an output_ratio")
    nd = input._data.ndim
    if nd not in (nsp + 1, nsp + 2):
        raise RuntimeError(
            f"{name}(): Expected {nsp + 1}D or {nsp + 2}D tensor, but got: {list(input.shape)}"
        )
    kernel = ntuple(kernel_size, nsp)
    sp = tuple(input.shape[-nsp:])
    if output_size is None:
        ratio = (
            tuple(output_ratio)
            if isinstance(output_ratio, (tuple, list))
            else (output_ratio,) * nsp
        )
        osz = tuple(int(sp[d] * ratio[d]) for d in range(nsp))
    else:
        osz = ntuple(output_size, nsp)
    for d in range(nsp):
        if osz[d] + kernel[d] - 1 > sp[d]:
            raise RuntimeError(
                f"{name}(): pool size {kernel[d]} too large relative to input size {sp[d]} and "
                f"output size {osz[d]} (dimension {d})"
            )
    if _random_samples is None:
        n_batch = 1 if nd == nsp + 1 else input.shape[0]
        _random_samples = rand(
            n_batch, input.shape[-nsp - 1], nsp, dtype=input.dtype, device=input.device
        )
    box = [] if return_indices else None
    out = FractionalMaxPool.apply(input, kernel, osz, _random_samples._data, box)
    return (out, _wrap(box[0])) if return_indices else out


def fractional_max_pool2d(
    input: Tensor,
    kernel_size,
    output_size=None,
    output_ratio=None,
    return_indices: bool = False,
    _random_samples=None,
):
    """2-d fractional max pooling; the window offsets come from ``_random_samples`` (N, C, 2),
    drawn uniformly when not given."""
    return _fractional_max_pool(
        2, input, kernel_size, output_size, output_ratio, return_indices, _random_samples
    )


def fractional_max_pool3d(
    input: Tensor,
    kernel_size,
    output_size=None,
    output_ratio=None,
    return_indices: bool = False,
    _random_samples=None,
):
    """3-d fractional max pooling; ``_random_samples`` is (N, C, 3)."""
    return _fractional_max_pool(
        3, input, kernel_size, output_size, output_ratio, return_indices, _random_samples
    )


def fractional_max_pool2d_with_indices(
    input: Tensor,
    kernel_size,
    output_size=None,
    output_ratio=None,
    return_indices: bool = True,
    _random_samples=None,
):
    """fractional_max_pool2d returning (values, indices)."""
    return fractional_max_pool2d(
        input, kernel_size, output_size, output_ratio, True, _random_samples
    )


def fractional_max_pool3d_with_indices(
    input: Tensor,
    kernel_size,
    output_size=None,
    output_ratio=None,
    return_indices: bool = True,
    _random_samples=None,
):
    """fractional_max_pool3d returning (values, indices)."""
    return fractional_max_pool3d(
        input, kernel_size, output_size, output_ratio, True, _random_samples
    )


def adaptive_max_pool2d_with_indices(input: Tensor, output_size, return_indices: bool = True):
    """adaptive_max_pool2d returning (values, indices)."""
    return adaptive_max_pool2d(input, output_size, True)


def _lp_pool(input: Tensor, norm_type, kernel_size, stride, ceil_mode, nsp) -> Tensor:
    if nsp == 1:
        k = ntuple(kernel_size, 1, "kernel_size")
    else:
        # torch unpacks the kernel size into nsp names first: a wrong length is Python's
        # ValueError, before any pooling argument check
        k = tuple(kernel_size) if isinstance(kernel_size, (list, tuple)) else (kernel_size,) * nsp
        if nsp == 2:
            _, _ = k
        else:
            _, _, _ = k
    if isinstance(norm_type, (int, float)) and math.isinf(norm_type):
        # p = +-inf: the max (min) of |x| over each window, as torch
        pool = (max_pool1d, max_pool2d, max_pool3d)[nsp - 1]
        if norm_type > 0:
            return pool(input.abs(), kernel_size, stride, 0, 1, ceil_mode)
        return -pool(-input.abs(), kernel_size, stride, 0, 1, ceil_mode)
    pool = (avg_pool1d, avg_pool2d, avg_pool3d)[nsp - 1]
    out = pool(input.pow(norm_type), kernel_size, stride, 0, ceil_mode)
    return (out.sign() * out.abs().relu()).mul(math.prod(k)).pow(1.0 / norm_type)


def lp_pool1d(
    input: Tensor, norm_type, kernel_size, stride=None, ceil_mode: bool = False
) -> Tensor:
    """Power-average pooling over 1 dim, as F.lp_pool1d (p = inf: max of |x|)."""
    return _lp_pool(input, norm_type, kernel_size, stride, ceil_mode, 1)


def lp_pool2d(
    input: Tensor, norm_type, kernel_size, stride=None, ceil_mode: bool = False
) -> Tensor:
    """Power-average pooling over 2 dims, as F.lp_pool2d (p = inf: max of |x|)."""
    return _lp_pool(input, norm_type, kernel_size, stride, ceil_mode, 2)


def lp_pool3d(
    input: Tensor, norm_type, kernel_size, stride=None, ceil_mode: bool = False
) -> Tensor:
    """Power-average pooling over 3 dims, as F.lp_pool3d: (sum of x**p over each window)**(1/p),
    computed as torch does (an average pool of x**p times the window size), so an all-zero
    window has a zero gradient and p = inf is the max of |x|."""
    return _lp_pool(input, norm_type, kernel_size, stride, ceil_mode, 3)


# --- activations ----------------------------------------------------------------------------
def _inplace_apply(x: Tensor, fn, *params) -> Tensor:
    return run_inplace(x, lambda t: fn(t, *params))


def relu(input: Tensor, inplace: bool = False) -> Tensor:
    """max(x, 0)."""
    if inplace:
        return _unary_relu_(input)
    return _unary_relu(input)


def relu_(input: Tensor) -> Tensor:
    """In-place ReLU."""
    return _unary_relu_(input)


def hardtanh(
    input: Tensor, min_val: float = -1.0, max_val: float = 1.0, inplace: bool = False
) -> Tensor:
    """Clamp to [min_val, max_val]."""
    if min_val > max_val:
        raise ValueError("min_val cannot be greater than max_val")
    kind = input._data.dtype.kind
    if kind in "biuc":  # torch clamps integers to the limits truncated to the integer type
        if kind == "c":
            raise NotImplementedError("clamp is not supported for complex types")
        if kind == "b":
            raise RuntimeError("Bool inputs not supported for hardtanh")
        if kind == "u" and (min_val < 0 or max_val < 0):
            raise RuntimeError("cannot do hardtanh on an unsigned type with negative limits")
        min_val, max_val = int(min_val), int(max_val)
    if inplace:
        return _inplace_apply(input, _Relu6.apply, min_val, max_val)
    return _Relu6.apply(input, min_val, max_val)


def hardtanh_(input: Tensor, min_val: float = -1.0, max_val: float = 1.0) -> Tensor:
    """In-place hardtanh."""
    return hardtanh(input, min_val, max_val, True)


def relu6(input: Tensor, inplace: bool = False) -> Tensor:
    """min(max(x, 0), 6)."""
    return hardtanh(input, 0.0, 6.0, inplace)


def leaky_relu(input: Tensor, negative_slope: float = 0.01, inplace: bool = False) -> Tensor:
    """x where x > 0, else negative_slope * x."""
    if inplace:
        return _inplace_apply(input, _Leaky.apply, negative_slope)
    return _Leaky.apply(input, negative_slope)


def leaky_relu_(input: Tensor, negative_slope: float = 0.01) -> Tensor:
    """In-place leaky ReLU."""
    return leaky_relu(input, negative_slope, True)


def elu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """x where x > 0, else alpha * (exp(x) - 1)."""
    if inplace:
        return _inplace_apply(input, _Elu.apply, alpha, 1.0, 1.0)
    return _Elu.apply(input, alpha, 1.0, 1.0)


def elu_(input: Tensor, alpha: float = 1.0) -> Tensor:
    """In-place ELU."""
    return elu(input, alpha, True)


_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


def selu(input: Tensor, inplace: bool = False) -> Tensor:
    """Scaled ELU with the self-normalising constants."""
    if inplace:
        return _inplace_apply(input, _Elu.apply, _SELU_ALPHA, _SELU_SCALE, 1.0)
    return _Elu.apply(input, _SELU_ALPHA, _SELU_SCALE, 1.0)


def selu_(input: Tensor) -> Tensor:
    """In-place SELU."""
    return selu(input, True)


def celu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """x where x > 0, else alpha * (exp(x / alpha) - 1)."""
    if alpha == 0:
        raise RuntimeError("ZeroDivisionError: alpha cannot be 0 for CELU")
    if inplace:
        return _inplace_apply(input, _Elu.apply, alpha, 1.0, 1.0 / alpha)
    return _Elu.apply(input, alpha, 1.0, 1.0 / alpha)


def celu_(input: Tensor, alpha: float = 1.0) -> Tensor:
    """In-place CELU."""
    return celu(input, alpha, True)


def gelu(input: Tensor, approximate: str = "none") -> Tensor:
    """Gaussian error linear unit (exact erf form, or the tanh approximation)."""
    if approximate not in ("none", "tanh"):
        raise RuntimeError("approximate argument must be either none or tanh.")
    return _Gelu.apply(input, approximate)


def silu(input: Tensor, inplace: bool = False) -> Tensor:
    """x * sigmoid(x)."""
    if input.is_complex() and input.requires_grad and is_grad_enabled():
        raise RuntimeError(  # torch has no complex derivative for silu
            "silu does not support automatic differentiation for outputs with complex dtype."
        )
    if inplace:
        return _inplace_apply(input, _Silu.apply)
    return _Silu.apply(input)


def mish(input: Tensor, inplace: bool = False) -> Tensor:
    """x * tanh(softplus(x))."""
    if inplace:
        return _inplace_apply(input, _Mish.apply)
    return _Mish.apply(input)


def hardsigmoid(input: Tensor, inplace: bool = False) -> Tensor:
    """Piecewise-linear sigmoid: clamp(x / 6 + 1/2, 0, 1)."""
    if inplace:
        return _inplace_apply(input, _Hsig.apply)
    return _Hsig.apply(input)


def hardswish(input: Tensor, inplace: bool = False) -> Tensor:
    """x * hardsigmoid(x)."""
    if inplace:
        return _inplace_apply(input, _Hswish.apply)
    return _Hswish.apply(input)


def softplus(input: Tensor, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    """log(1 + exp(beta x)) / beta, linear above the threshold."""
    return _Softplus.apply(input, beta, threshold)


def _int_to_float(input: Tensor, kernel: str) -> Tensor:
    """Integer inputs in the default float dtype, as torch's formulas give them."""
    kind = input._data.dtype.kind
    if kind == "b":
        raise NotImplementedError(f"\"{kernel}\" not implemented for 'Bool'")
    return input.to(get_default_dtype()) if kind in "iu" else input


def softsign(input: Tensor) -> Tensor:
    """x / (1 + |x|)."""
    return _Softsign.apply(_int_to_float(input, "abs_cpu"))


def threshold(input: Tensor, threshold: float, value: float, inplace: bool = False) -> Tensor:
    """x where x > threshold, else value."""
    if inplace:
        return _inplace_apply(input, _Thresh.apply, threshold, value)
    return _Thresh.apply(input, threshold, value)


def threshold_(input: Tensor, threshold: float, value: float) -> Tensor:
    """In-place threshold."""
    return _inplace_apply(input, _Thresh.apply, threshold, value)


def sigmoid(input: Tensor) -> Tensor:
    """Logistic function."""
    if input._data.dtype.kind != "f":
        return _unary_sigmoid(input)
    return _Sigmoid.apply(input)


def tanh(input: Tensor) -> Tensor:
    """Hyperbolic tangent."""
    return _unary_tanh(input)


def logsigmoid(input: Tensor) -> Tensor:
    """log(sigmoid(x)), computed stably."""
    return _LogSig.apply(input)


def tanhshrink(input: Tensor) -> Tensor:
    """x - tanh(x)."""
    if input._data.dtype.kind == "b":
        raise RuntimeError(
            "Subtraction, the `-` operator, with a bool tensor is not supported. If you are "
            "trying to invert a mask, use the `~` or `logical_not()` operator instead."
        )
    return _TanhShrink.apply(_int_to_float(input, "tanh_cpu"))


def softshrink(input: Tensor, lambd: float = 0.5) -> Tensor:
    """Shrink towards zero by lambd, zero inside [-lambd, lambd]."""
    return _SoftShrink.apply(input, lambd)


def hardshrink(input: Tensor, lambd: float = 0.5) -> Tensor:
    """x where |x| > lambd, else 0."""
    return _HardShrink.apply(input, lambd)


def prelu(input: Tensor, weight: Tensor) -> Tensor:
    """max(0, x) + weight * min(0, x), weight per channel (dim 1) or shared."""
    if _acs.active:  # autocast: a lower-precision op
        input, weight = _autocast.lower(input, weight)
    if input._data.dtype != weight._data.dtype:
        raise RuntimeError(
            f"prelu: Type promoting not supported. Got {scalar_type_name(input.dtype.name)} "
            f"and {scalar_type_name(weight.dtype.name)}"
        )
    if input._data.dtype.kind == "c":
        raise not_implemented_for("prelu_cpu", input._data.dtype)
    n = weight.numel()
    if n != 1 and (input.ndim < 2 or input.shape[1] != n):
        ch = input.shape[1] if input.ndim >= 2 else 1
        raise RuntimeError(
            f"Mismatch of parameter numbers and input channel size. Found parameter numbers = "
            f"{n} and channel size = {ch}."
        )
    return _PRelu.apply(input, weight)


def rrelu(
    input: Tensor,
    lower: float = 1.0 / 8,
    upper: float = 1.0 / 3,
    training: bool = False,
    inplace: bool = False,
) -> Tensor:
    """Leaky ReLU with a random slope in training, the mean slope in eval."""
    return _rrelu(input, lower, upper, training, inplace, None)


def rrelu_(
    input: Tensor,
    lower: float = 1.0 / 8,
    upper: float = 1.0 / 3,
    training: bool = False,
    generator=None,
) -> Tensor:
    """In-place rrelu, as F.rrelu_ (which is torch.rrelu_): in training each x <= 0 is scaled by
    a slope drawn from ``generator`` (the default one when None), torch's draws; in eval by
    (lower + upper) / 2."""
    return _rrelu(input, lower, upper, training, True, generator)


def _rrelu(input: Tensor, lower, upper, training, inplace, generator) -> Tensor:
    """rrelu, rrelu_ and torch.rrelu(..., generator=) in one place."""
    if not training:
        return leaky_relu(input, (lower + upper) / 2, inplace)
    if input._data.dtype.kind == "c":
        raise not_implemented_for("rrelu_with_noise_out_cpu", input._data.dtype)
    if inplace:
        return _inplace_apply(input, lambda t: _rrelu(t, lower, upper, True, False, generator))
    slopes = _rrelu_slopes(input._host(), lower, upper, generator)
    return input * _wrap(move_like(slopes, input._data))


def _rrelu_slopes(x: np.ndarray, lower: float, upper: float, generator=None) -> np.ndarray:
    """Training RReLU's per-element slopes, torch's CPU draws: 1 where x > 0; for each x <= 0,
    in order, one float64 uniform u of the generator and the slope
    u * (upper - lower) + lower in double with lower and upper first rounded to x's dtype (to
    float32 for the half types), then rounded to x's dtype."""
    dt = x.dtype
    op = np.float32 if dt.itemsize < 4 else dt.type
    lo, hi = float(op(lower)), float(op(upper))
    nonpos = x <= 0
    u = empty(int(nonpos.sum()), dtype=float64).uniform_(0.0, 1.0, generator=generator)._data
    slopes = np.ones(x.shape, dt)
    slopes[nonpos] = (u * (hi - lo) + lo).astype(op).astype(dt)
    return slopes


# --- softmax family -------------------------------------------------------------------------
def softmax(input: Tensor, dim: int | None = None, _stacklevel: int = 3, dtype=None) -> Tensor:
    """exp(x) / sum(exp(x)) along dim (max-shifted, stable)."""
    input, d = prep_softmax(input, dim, dtype)
    return _Softmax.apply(input, d)


def log_softmax(input: Tensor, dim: int | None = None, _stacklevel: int = 3, dtype=None) -> Tensor:
    """x - logsumexp(x) along dim (stable)."""
    input, d = prep_softmax(input, dim, dtype, log=True)
    return _LogSoftmax.apply(input, d)


def softmin(input: Tensor, dim: int | None = None, _stacklevel: int = 3, dtype=None) -> Tensor:
    """softmax(-x) along dim."""
    return softmax(-input, dim, dtype=dtype)


def gumbel_softmax(
    logits: Tensor, tau: float = 1, hard: bool = False, eps: float = 1e-10, dim: int = -1
) -> Tensor:
    """A sample of the Gumbel-softmax distribution along dim, as F.gumbel_softmax.

    The noise is -log(e) for e drawn by one ``exponential_`` over a contiguous tensor shaped
    like ``logits`` (torch's draws from the same seed), then softmax((logits + noise) / tau).
    ``hard=True``: the one-hot of the argmax, differentiated as the soft sample
    (straight-through, with torch's values: one_hot - soft + soft). ``eps`` is deprecated and
    ignored, with torch's warning.
    """
    if eps != 1e-10:
        warnings.warn("`eps` parameter is deprecated and has no effect.", stacklevel=2)
    noise = -empty_like(logits).exponential_().log()
    y_soft = ((logits + noise) / tau).softmax(dim)
    if not hard:
        return y_soft
    index = y_soft.max(dim, keepdim=True)[1]
    y_hard = zeros_like(logits).scatter_(dim, index, 1.0)
    return y_hard - y_soft.detach() + y_soft


def glu(input: Tensor, dim: int = -1) -> Tensor:
    """First half times sigmoid of the second half along dim."""
    if input.ndim == 0:
        raise RuntimeError("glu does not support scalars because halving size must be even")
    n = input.shape[dim]
    if n % 2:
        raise RuntimeError(
            f"Halving dimension must be even, but dimension "
            f"{check_dim(dim, input.ndim)} is size {n}"
        )
    if input._data.dtype.kind == "c":  # torch has no complex glu kernel (sigmoid has one)
        raise not_implemented_for("glu_cpu", input._data.dtype)
    a, b = input.split(n // 2, dim)
    return a * sigmoid(b)


# --- normalization --------------------------------------------------------------------------
def batch_norm(
    input: Tensor,
    running_mean: Tensor | None,
    running_var: Tensor | None,
    weight: Tensor | None = None,
    bias: Tensor | None = None,
    training: bool = False,
    momentum: float | None = 0.1,
    eps: float = 1e-5,
) -> Tensor:
    """Normalise each channel (dim 1) with batch statistics (training) or running ones."""
    x = input._data
    if x.ndim == 1:  # as torch: no channel dim; an empty input with empty stats is copied
        stats = (running_mean, running_var, weight, bias)
        if x.size == 0 and all(t is None or t.numel() == 0 for t in stats):
            return input.clone()
        raise IndexError("Dimension out of range (expected to be in range of [-1, 0], but got 1)")
    if x.ndim < 2:
        raise ValueError(f"expected 2D or 3D input (got {x.ndim}D input)")
    C = x.shape[1]
    bshape = (1, C) + (1,) * (x.ndim - 2)
    if training:
        size = x.size // C
        if size == 1:
            raise ValueError(
                "Expected more than 1 value per channel when training, got input "
                f"size {input.shape}"
            )
        stats: list = []
        axes = (0,) + tuple(range(2, x.ndim))
        wd = None if weight is None else weight._data
        bd = None if bias is None else bias._data
        if batch_norm_eligible(x, wd, bd):
            out = BatchNormTrain.apply(input, weight, bias, float(eps), stats)
        else:
            out = normalize_over(input, weight, bias, axes, eps, bshape, stats)
        if running_mean is not None or running_var is not None:
            mean, var = stats[0]
            m = 0.1 if momentum is None else momentum
            with no_grad():
                if running_mean is not None:
                    rm = running_mean._data
                    rm *= 1 - m
                    rm += (m * mean.reshape(C)).astype(rm.dtype, copy=False)
                    running_mean._bump()
                if running_var is not None:
                    rv = running_var._data
                    unbiased = var.reshape(C) * (size / (size - 1))
                    rv *= 1 - m
                    rv += (m * unbiased).astype(rv.dtype, copy=False)
                    running_var._bump()
        return out
    if running_mean is None or running_var is None:
        raise RuntimeError("running_mean and running_var must be defined in evaluation mode")
    xp = xp_of(x)
    inv = 1.0 / xp.sqrt(running_var._data.astype(x.dtype) + x.dtype.type(eps))
    mean = running_mean._data.astype(x.dtype)
    if x.ndim >= 3 and not (
        is_grad_enabled() and any(t is not None and t.requires_grad for t in (input, weight, bias))
    ):
        wd = None if weight is None else weight._data
        bd = None if bias is None else bias._data
        if batch_norm_eligible(x, wd, bd):  # no graph: the one-pass threaded kernel
            sc = inv if wd is None else inv * wd
            sh = -mean * sc if bd is None else bd - mean * sc
            return _wrap(batch_norm_eval(x, sc, sh))
    # y = x * scale + shift with per-channel scale = inv * w, shift = b - mean * scale: two
    # passes over the activations; the small per-channel tensors carry w's and b's gradients
    scale = _wrap(inv)
    if weight is not None:
        scale = scale * weight
    shift = -_wrap(mean) * scale
    if bias is not None:
        shift = shift + bias
    return input * scale.reshape(bshape) + shift.reshape(bshape)


def layer_norm(
    input: Tensor,
    normalized_shape,
    weight: Tensor | None = None,
    bias: Tensor | None = None,
    eps: float = 1e-5,
) -> Tensor:
    """Normalise over the trailing ``normalized_shape`` dims."""
    ns = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
    shp = tuple(input.shape)
    if len(ns) > len(shp) or shp[len(shp) - len(ns) :] != ns:
        raise RuntimeError(
            f"Given normalized_shape={list(ns)}, expected input with shape "
            f"[*, {', '.join(str(s) for s in ns)}], but got input of size"
            f"{input.shape}"
        )
    axes = tuple(range(len(shp) - len(ns), len(shp)))
    x, back = _mixed_norm(input, weight, bias)
    y = normalize_over(x, weight, bias, axes, eps, ns)
    return y if back is None else y.to(back)


def _mixed_norm(input: Tensor, *params, strict: bool = True) -> tuple:
    """(input to normalise, dtype to return in or None): torch's CPU layer and group norms take
    float16/bfloat16 input with float32 parameters, computing in float32 and returning the
    input's dtype; other mixes raise (``strict``) or promote as arithmetic does."""
    dts = {p.dtype for p in params if p is not None}
    if not dts or dts == {input.dtype} or input.device.type != "cpu":
        return input, None
    if input.dtype in (dtypes.float16, dtypes.bfloat16) and dts == {dtypes.float32}:
        return input.float(), input.dtype
    if strict:
        raise RuntimeError("mixed dtype (CPU): expect parameter to have scalar type of Float")
    return input, None


def group_norm(
    input: Tensor,
    num_groups: int,
    weight: Tensor | None = None,
    bias: Tensor | None = None,
    eps: float = 1e-5,
) -> Tensor:
    """Normalise over channel groups (and spatial dims), then a per-channel affine."""
    shp = tuple(input.shape)
    if len(shp) < 2 or shp[1] % num_groups:
        raise RuntimeError(
            "Expected number of channels in input to be divisible by num_groups, but got input "
            f"of shape {list(shp)} and num_groups={num_groups}"
        )
    N, C = shp[0], shp[1]
    x, back = _mixed_norm(input, weight, bias)
    xg = x.reshape(N, num_groups, (C // num_groups) * math.prod(shp[2:]))
    y = normalize_over(xg, None, None, (2,), eps, ()).reshape(shp)
    bshape = (1, C) + (1,) * (len(shp) - 2)
    if weight is not None:
        y = y * weight.reshape(bshape)
    if bias is not None:
        y = y + bias.reshape(bshape)
    return y if back is None else y.to(back)


def instance_norm(
    input: Tensor,
    running_mean: Tensor | None = None,
    running_var: Tensor | None = None,
    weight: Tensor | None = None,
    bias: Tensor | None = None,
    use_input_stats: bool = True,
    momentum: float = 0.1,
    eps: float = 1e-5,
) -> Tensor:
    """Normalize each (sample, channel) plane over its spatial dims, as F.instance_norm."""
    if input.ndim < 3:
        raise ValueError(f"Expected 3D or higher input (got {input.ndim}D input)")
    dims = tuple(range(2, input.ndim))
    bshape = (1, input.shape[1]) + (1,) * (input.ndim - 2)
    if use_input_stats:
        size = 1
        for e in input.shape[2:]:
            size *= e
        if size == 1:
            raise ValueError(
                f"Expected more than 1 spatial element when training, got input "
                f"size {list(input.shape)}"
            )
        mean = input.mean(dims, keepdim=True)
        var = input.var(dims, unbiased=False, keepdim=True)
        if running_mean is not None or running_var is not None:
            with no_grad():
                if running_mean is not None:
                    m = mean.detach().reshape(input.shape[0], input.shape[1]).mean(0)
                    running_mean.mul_(1 - momentum).add_(m * momentum)
                if running_var is not None:
                    v = var.detach().reshape(input.shape[0], input.shape[1]).mean(0)
                    v = v * (size / (size - 1))
                    running_var.mul_(1 - momentum).add_(v * momentum)
    else:
        mean = running_mean.reshape(bshape)
        var = running_var.reshape(bshape)
    y = (input - mean) / (var + eps).sqrt()
    if weight is not None:
        y = y * weight.reshape(bshape)
    if bias is not None:
        y = y + bias.reshape(bshape)
    return y


def rms_norm(
    input: Tensor, normalized_shape, weight: Tensor | None = None, eps: float | None = None
) -> Tensor:
    """x / sqrt(mean(x^2) + eps) over the trailing dims, times weight."""
    ns = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
    shp = tuple(input.shape)
    if len(ns) > len(shp) or shp[len(shp) - len(ns) :] != ns:
        raise RuntimeError(
            f"Given normalized_shape={list(ns)}, expected input with shape "
            f"[*, {', '.join(str(s) for s in ns)}], but got input of size"
            f"{input.shape}"
        )
    if eps is None:
        eps = float(np.finfo(input._data.dtype).eps)
    dims = tuple(range(len(shp) - len(ns), len(shp)))
    x, back = _mixed_norm(input, weight, strict=False)
    y = normalize_over(x, weight, None, dims, eps, ns, centre=False)
    return y if back is None else y.to(back)


def local_response_norm(
    input: Tensor, size: int, alpha: float = 1e-4, beta: float = 0.75, k: float = 1.0
) -> Tensor:
    """Normalise each channel by the squared activity of ``size`` neighbouring channels."""
    sq = input * input
    C = input.shape[1]
    padded = pad(sq, (0, 0) * (input.ndim - 2) + (size // 2, (size - 1) // 2))
    acc = None
    for i in range(size):
        sl = padded.narrow(1, i, C)
        acc = sl if acc is None else acc + sl
    div = (acc * (alpha / size) + k) ** beta
    return input / div


# --- linear ---------------------------------------------------------------------------------
def bilinear(input1: Tensor, input2: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """y = x1^T A x2 + b."""
    return _Bilinear.apply(input1, input2, weight, bias)


def identity(input: Tensor) -> Tensor:
    """Return the input unchanged."""
    return input


# --- dropout --------------------------------------------------------------------------------
def dropout(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """Zero elements with probability p and scale the rest by 1/(1-p) (training only)."""
    check_p(p)
    if not training or p == 0.0 or input._data.size == 0:  # torch draws nothing
        return input
    a = input._data
    return apply_mask(input, keep_mask(a.shape, p, a.dtype, xp_of(a), like=a), inplace)


def _feature_dropout(
    input: Tensor, p: float, training: bool, inplace: bool, nfeat: int, name: str
) -> Tensor:
    check_p(p)
    nd = input.ndim
    if nd not in (nfeat + 1, nfeat + 2):
        raise RuntimeError(
            f"{name}: Expected {nfeat + 1}D or {nfeat + 2}D input, but received a {nd}D input. "
            f"Note that {name} exists to provide channel-wise dropout on inputs with {nfeat} "
            "spatial dimensions, a channel dimension, and an optional batch dimension (i.e. "
            f"{nfeat + 1}D or {nfeat + 2}D inputs)."
        )
    if not training or p == 0.0 or input._data.size == 0:  # torch draws nothing
        return input
    shape = input._data.shape[: nd - nfeat] + (1,) * nfeat
    xp = xp_of(input._data)
    mask = keep_mask(shape, p, input._data.dtype, xp)
    if input._data.size >= 1 << 16:
        # a full-size mask multiplies far faster than a stride-0 broadcast
        per = input._data.size // mask.size
        mask = xp.repeat(mask.reshape(-1), per).reshape(input._data.shape)
    return apply_mask(input, mask, inplace)


def dropout1d(
    input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False
) -> Tensor:
    """Zero whole channels of (N, C, L) or (C, L) inputs."""
    return _feature_dropout(input, p, training, inplace, 1, "dropout1d")


def dropout2d(
    input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False
) -> Tensor:
    """Zero whole channels of (N, C, H, W) inputs.

    As torch, a 3-d input is read as (N, C, L) (channel-wise 1-d dropout, with a warning), not as
    an unbatched image; other ranks warn and drop dims 0 and 1's channels.
    """
    check_p(p)
    nd = input.ndim
    if nd not in (3, 4):
        warnings.warn(
            f"dropout2d: Received a {nd}-D input to dropout2d, which is deprecated "
            "and will result in an error in a future release. To retain the behavior "
            "and silence this warning, please use dropout instead. Note that dropout2d "
            "exists to provide channel-wise dropout on inputs with 2 spatial dimensions, "
            "a channel dimension, and an optional batch dimension (i.e. 3D or 4D inputs).",
            stacklevel=2,
        )
    if nd == 3:
        warnings.warn(
            "dropout2d: Received a 3D input to dropout2d and assuming that channel-wise "
            "1D dropout behavior is desired - input is interpreted as shape (N, C, L), where C "
            "is the channel dim. This behavior will change in a future release to interpret the "
            "input as one without a batch dimension, i.e. shape (C, H, W). To maintain the 1D "
            "channel-wise dropout behavior, please switch to using dropout1d instead.",
            stacklevel=2,
        )
    return _channel_dropout(input, p, training, inplace)


def _channel_dropout(input: Tensor, p: float, training: bool, inplace: bool) -> Tensor:
    """Zero whole channels (dim 1) of an input of 2 or more dims, ``p`` already checked:
    dropout2d's work after its rank warnings, and torch.feature_dropout's."""
    if not training or p == 0.0 or input._data.size == 0:  # torch draws nothing
        return input
    nd = input.ndim
    if nd < 2:
        raise RuntimeError("Feature dropout requires at least 2 dimensions in the input")
    shape = input._data.shape[:2] + (1,) * (nd - 2)
    return apply_mask(input, keep_mask(shape, p, input._data.dtype, xp_of(input._data)), inplace)


def dropout3d(
    input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False
) -> Tensor:
    """Zero whole channels of 5-d (or 4-d unbatched) inputs."""
    return _feature_dropout(input, p, training, inplace, 3, "dropout3d")


def alpha_dropout(
    input: Tensor, p: float = 0.5, training: bool = False, inplace: bool = False
) -> Tensor:
    """Dropout that keeps SELU's self-normalising mean and variance."""
    check_p(p)
    if not training or p == 0.0 or input._data.size == 0:  # torch draws nothing
        return input
    if p == 1.0:  # everything dropped: torch returns zeros (the affine correction is undefined)
        return input.mul_(0) if inplace else input * 0
    if inplace:
        return _inplace_apply(input, lambda t: _alpha(t, p, t._data.shape, t._data))
    return _alpha(input, p, input._data.shape, input._data)


def _alpha(input: Tensor, p: float, shape, like=None) -> Tensor:
    # like: the input when the noise is per element (torch's empty_like keeps its layout)
    a = input._data
    mul, add = alpha_masks(shape, p, a.dtype, xp_of(a), like=like)
    return input * _wrap(mul) + _wrap(add)


def feature_alpha_dropout(
    input: Tensor, p: float = 0.5, training: bool = False, inplace: bool = False
) -> Tensor:
    """Alpha dropout of whole channels."""
    check_p(p)
    if not training or p == 0.0 or input._data.size == 0:  # torch draws nothing
        return input
    if p == 1.0:  # everything dropped: torch returns zeros
        return input.mul_(0) if inplace else input * 0
    shape = input._data.shape[:2] + (1,) * (input.ndim - 2)
    if inplace:
        return _inplace_apply(input, lambda t: _alpha(t, p, shape))
    return _alpha(input, p, shape)


# --- embedding ------------------------------------------------------------------------------
def embedding(
    input: Tensor,
    weight: Tensor,
    padding_idx: int | None = None,
    max_norm: float | None = None,
    norm_type: float = 2.0,
    scale_grad_by_freq: bool = False,
    sparse: bool = False,
) -> Tensor:
    """Rows of ``weight`` picked by the integer ``input``.

    With ``sparse=True`` the weight's gradient is a sparse COO tensor, as torch's (one entry per
    index, padding_idx's left out; scale_grad_by_freq then raises in backward, as torch).
    """
    idx = input._data
    if idx.dtype.kind not in "iu":
        raise RuntimeError(
            "Expected tensor for argument #1 'indices' to have one of the following scalar "
            f"types: Long, Int; but got {input.type()} instead (while checking arguments for "
            "embedding)"
        )
    n = weight._data.shape[0]
    if idx.size and (idx.max() >= n or idx.min() < -n):
        raise IndexError("index out of range in self")
    if padding_idx is not None:
        if padding_idx > 0:
            assert padding_idx < n, "Padding_idx must be within num_embeddings"
        elif padding_idx < 0:
            assert padding_idx >= -n, "Padding_idx must be within num_embeddings"
            padding_idx = n + padding_idx
    if max_norm is not None:
        renorm_rows(weight, idx, max_norm, norm_type)
    return _Embedding.apply(input, weight, padding_idx, scale_grad_by_freq, bool(sparse))


def embedding_bag(
    input: Tensor,
    weight: Tensor,
    offsets: Tensor | None = None,
    max_norm: float | None = None,
    norm_type: float = 2,
    scale_grad_by_freq: bool = False,
    mode: str = "mean",
    sparse: bool = False,
    per_sample_weights: Tensor | None = None,
    include_last_offset: bool = False,
    padding_idx: int | None = None,
) -> Tensor:
    """Reduce (sum, mean or max) the embedding rows of each bag of indices.

    With ``sparse=True`` (sum and mean; max refuses it, as torch) the weight's gradient is a
    sparse COO tensor, as torch's: one entry per index, holding its bag's gradient row.
    """
    if mode not in ("sum", "mean", "max"):
        raise ValueError(f"mode has to be one of sum, mean or max, but got {mode}")
    if mode == "max":
        if scale_grad_by_freq:
            raise ValueError("max mode does not support scaling the gradient by the frequency")
        if sparse:
            raise ValueError("max mode does not support sparse weights")
    if per_sample_weights is not None and mode != "sum":
        raise NotImplementedError(
            "embedding_bag: per_sample_weights was not None. "
            "per_sample_weights is only supported for mode='sum' (got "
            f"mode='{mode}'). Please open a feature request on GitHub."
        )
    a = input._data
    xp = xp_of(a)
    psw = per_sample_weights
    if a.ndim == 2:
        if offsets is not None:
            raise ValueError(
                "if input is 2D, then offsets has to be None, as input is treated "
                "is a mini-batch of fixed length sequences. However, found "
                f"offsets of type {type(offsets).__name__}"
            )
        nbags, L = a.shape
        idx = a.reshape(-1)
        bag = xp.repeat(xp.arange(nbags), L)
        if psw is not None:
            psw = psw.reshape(-1)
    else:
        if offsets is None:
            raise ValueError("offsets has to be a 1D Tensor but got None")
        idx = a
        bag, nbags = bag_of_positions(offsets._data.astype(np.int64), len(idx), include_last_offset)
    n = weight._data.shape[0]
    if idx.size and (idx.max() >= n or idx.min() < 0):
        raise IndexError("index out of range in self")
    if padding_idx is not None and padding_idx < 0:
        padding_idx += n
    if max_norm is not None:
        renorm_rows(weight, idx, max_norm, norm_type)
    keep = bag >= 0  # before the first offset, or past the last with include_last_offset=True
    stop = None
    cut = False
    if (
        a.ndim == 1
        and include_last_offset
        and nbags
        and mode != "max"
        and _bag_fast_path(weight, psw, padding_idx)
    ):
        # torch's CPU fast path (fbgemm-style, float32/16/bfloat16, unit column stride, no
        # padding_idx) sums the last bag only up to the last offset, where its other paths
        # (float64, padding_idx, max) run it to the end of the indices. Its mean still divides
        # by the count to the end and back-propagates to every index up to the end; ember does
        # the same. Its sum's backward reads past the gradient for the indices after the last
        # offset (garbage values); ember gives them the zero gradient of the forward it ran.
        stop = int(offsets._data[-1])
        if mode == "sum":
            keep = keep & (xp.arange(len(idx)) < stop)
            cut = stop < len(idx)
            stop = None
    if padding_idx is not None:
        keep = keep & (idx != padding_idx)
    if not bool(keep.all()):
        idx, bag = idx[keep], bag[keep]
        if psw is not None:
            psw = psw[_wrap(keep)]
    return _EmbeddingBag.apply(
        weight, psw, idx, bag, nbags, mode, stop, bool(sparse), cut, bool(scale_grad_by_freq)
    )


def _bag_fast_path(weight: Tensor, psw: Tensor | None, padding_idx: int | None) -> bool:
    """Whether torch's CPU embedding_bag takes its fast sum/mean kernel for these arguments."""
    w = weight._data
    return (
        is_cpu(w)
        and padding_idx is None
        and weight.dtype in (dtypes.float32, dtypes.float16, dtypes.bfloat16)
        and w.strides[1] == w.itemsize
        and (psw is None or psw._data.strides[0] == psw._data.itemsize)
    )


def one_hot(tensor: Tensor, num_classes: int = -1) -> Tensor:
    """int64 one-hot encoding with a new last dim of num_classes."""
    a = tensor._data
    if a.dtype != np.int64:
        raise RuntimeError("one_hot is only applicable to index tensor of type LongTensor.")
    xp = xp_of(a)
    if a.size and a.min() < 0:
        raise RuntimeError("Class values must be non-negative.")
    if num_classes == -1:
        if a.size == 0:
            raise RuntimeError("Can not infer total number of classes from empty tensor.")
        num_classes = int(a.max()) + 1
    elif a.size and a.max() >= num_classes:
        raise RuntimeError("Class values must be smaller than num_classes.")
    out = (a[..., None] == xp.arange(num_classes)).astype(np.int64)
    return _wrap(out)


# --- losses ---------------------------------------------------------------------------------
def _legacy_reduction(size_average, reduce, reduction: str) -> str:
    if size_average is None and reduce is None:
        return reduction
    warnings.warn(
        "size_average and reduce args will be deprecated, please use reduction='mean' instead.",
        stacklevel=2,
    )
    size_average = True if size_average is None else size_average
    reduce = True if reduce is None else reduce
    if not reduce:
        return "none"
    return "mean" if size_average else "sum"


def _check_reduction(reduction: str) -> None:
    if reduction not in ("none", "mean", "sum"):
        raise ValueError(f"{reduction} is not a valid value for reduction")


def _reduce(loss: Tensor, reduction: str) -> Tensor:
    if reduction == "none":
        return loss
    if reduction == "sum":
        return loss.sum()
    if reduction == "mean":
        return loss.mean()
    raise ValueError(f"{reduction} is not a valid value for reduction")


def _size_warning(input: Tensor, target: Tensor) -> None:
    if target._data.shape != input._data.shape:
        warnings.warn(
            f"Using a target size ({target.shape}) that is different to the input size "
            f"({input.shape}). This will likely lead to incorrect results due to broadcasting. "
            "Please ensure they have the same size.",
            stacklevel=3,
        )


def mse_loss(
    input: Tensor,
    target: Tensor,
    size_average=None,
    reduce=None,
    reduction: str = "mean",
    weight=None,
) -> Tensor:
    """Mean squared error."""
    if _acs.active:  # autocast: an fp32 op
        input, target = _autocast.fp32(input, target)
    if size_average is not None or reduce is not None:
        reduction = _legacy_reduction(size_average, reduce, reduction)
    if reduction not in ("mean", "sum", "none"):
        _check_reduction(reduction)
    if isinstance(target, Tensor) and target._data.shape != input._data.shape:
        _size_warning(input, target)
    if weight is not None:
        return _reduce((input - target) ** 2 * weight, reduction)
    return _MSE.apply(input, target, reduction)


def l1_loss(
    input: Tensor,
    target: Tensor,
    size_average=None,
    reduce=None,
    reduction: str = "mean",
    weight=None,
) -> Tensor:
    """Mean absolute error."""
    if _acs.active:  # autocast: an fp32 op
        input, target = _autocast.fp32(input, target)
    reduction = _legacy_reduction(size_average, reduce, reduction)
    _check_reduction(reduction)
    _size_warning(input, target)
    loss = (input - target).abs()
    if weight is not None:
        loss = loss * weight
    return _reduce(loss, reduction)


def _check_index_target(input: Tensor, target: Tensor, fn: str = "cross_entropy") -> None:
    if input.device != target.device:  # CuPy would take a host index array silently
        raise device_error(input._data, target._data)
    td = target._data.dtype
    if td != np.int64 and td != np.uint8:
        got = scalar_type_name(target.dtype.name)
        raise RuntimeError(f"expected target dtype to be Long or Byte, but got {got}")
    xs, ts = tuple(input.shape), tuple(target.shape)
    if len(xs) == 1:
        if len(ts) != 0:
            raise RuntimeError("0D or 1D target tensor expected, multi-target not supported")
        return
    if len(xs) == 2:
        if len(ts) != 1:
            raise RuntimeError("0D or 1D target tensor expected, multi-target not supported")
        if xs[0] != ts[0]:
            raise ValueError(
                f"Expected input batch_size ({xs[0]}) to match target batch_size ({ts[0]})."
            )
        return
    want = (xs[0],) + xs[2:]
    if ts != want:
        raise RuntimeError(f"Expected target size {list(want)}, got {list(ts)}")


def cross_entropy(
    input: Tensor,
    target: Tensor,
    weight: Tensor | None = None,
    size_average=None,
    ignore_index: int = -100,
    reduce=None,
    reduction: str = "mean",
    label_smoothing: float = 0.0,
) -> Tensor:
    """Cross entropy of logits against class indices or class probabilities."""
    if _acs.active:  # autocast: an fp32 op
        input, target, weight = _autocast.fp32(input, target, weight)
    reduction = _legacy_reduction(size_average, reduce, reduction)
    _check_reduction(reduction)
    if input.ndim == 0:
        raise RuntimeError("cross_entropy: input must be at least 1-D")
    if not 0.0 <= label_smoothing <= 1.0:
        raise RuntimeError(f"label_smoothing must be between 0.0 and 1.0. Got: {label_smoothing}")
    probs = target._data.dtype.kind == "f"
    if probs:
        if tuple(target.shape) != tuple(input.shape):
            if input.ndim == 2 and target.ndim == 2:
                raise RuntimeError("0D or 1D target tensor expected, multi-target not supported")
            raise RuntimeError(
                f"Expected target size {list(input.shape)}, got {list(target.shape)}"
            )
        if target._data.dtype != input._data.dtype:
            raise RuntimeError("expected scalar type Float but found Double")
    else:
        _check_index_target(input, target)
    w = weight._data if weight is not None else None
    if w is not None:
        C = input.shape[1] if input.ndim >= 2 else input.shape[0]
        if w.shape != (C,):
            raise RuntimeError(
                f"weight tensor should be defined either for all {C} classes "
                f"or no classes but got weight tensor of shape: "
                f"{list(w.shape)}"
            )
    return _CrossEntropy.apply(
        input,
        target,
        w,
        ignore_index,
        float(label_smoothing),
        reduction,
        probs,
    )


def nll_loss(
    input: Tensor,
    target: Tensor,
    weight: Tensor | None = None,
    size_average=None,
    ignore_index: int = -100,
    reduce=None,
    reduction: str = "mean",
) -> Tensor:
    """Negative log likelihood of log-probabilities at the target classes."""
    if _acs.active:  # autocast: an fp32 op
        input, target, weight = _autocast.fp32(input, target, weight)
    reduction = _legacy_reduction(size_average, reduce, reduction)
    _check_reduction(reduction)
    _check_index_target(input, target, "nll_loss")
    w = weight._data if weight is not None else None
    return _NLL.apply(input, target, w, ignore_index, reduction)


def binary_cross_entropy(
    input: Tensor,
    target: Tensor,
    weight: Tensor | None = None,
    size_average=None,
    reduce=None,
    reduction: str = "mean",
) -> Tensor:
    """-(t log x + (1 - t) log(1 - x)), logs clamped at -100."""
    if _acs.active:  # autocast: an fp32 op
        input, target, weight = _autocast.fp32(input, target, weight)
    reduction = _legacy_reduction(size_average, reduce, reduction)
    _check_reduction(reduction)
    if tuple(target.shape) != tuple(input.shape):
        raise ValueError(
            f"Using a target size ({target.shape}) that is different to the input "
            f"size ({input.shape}) is deprecated. Please ensure they have the same "
            "size."
        )
    w = weight._data if weight is not None else None
    return _BCE.apply(input, target, w, reduction)


def binary_cross_entropy_with_logits(
    input: Tensor,
    target: Tensor,
    weight: Tensor | None = None,
    size_average=None,
    reduce=None,
    reduction: str = "mean",
    pos_weight: Tensor | None = None,
) -> Tensor:
    """Sigmoid + binary cross entropy in one stable op (log-sum-exp form)."""
    if _acs.active:  # autocast: an fp32 op
        input, target, weight, pos_weight = _autocast.fp32(input, target, weight, pos_weight)
    reduction = _legacy_reduction(size_average, reduce, reduction)
    _check_reduction(reduction)
    if tuple(target.shape) != tuple(input.shape):
        raise ValueError(
            f"Target size ({target.shape}) must be the same as input size ({input.shape})"
        )
    w = weight._data if weight is not None else None
    pw = pos_weight._data if pos_weight is not None else None
    return _BCELogits.apply(input, target, w, pw, reduction)


def smooth_l1_loss(
    input: Tensor,
    target: Tensor,
    size_average=None,
    reduce=None,
    reduction: str = "mean",
    beta: float = 1.0,
) -> Tensor:
    """0.5 d^2 / beta where |d| < beta, else |d| - 0.5 beta."""
    if _acs.active:  # autocast: an fp32 op
        input, target = _autocast.fp32(input, target)
    reduction = _legacy_reduction(size_average, reduce, reduction)
    _size_warning(input, target)
    if beta < 0:
        raise RuntimeError("smooth_l1_loss does not support negative values for beta.")
    d = (input - target).abs()
    if beta == 0:
        return _reduce(d, reduction)
    loss = where(d < beta, d * d * (0.5 / beta), d - 0.5 * beta)
    return _reduce(loss, reduction)


def huber_loss(
    input: Tensor, target: Tensor, reduction: str = "mean", delta: float = 1.0, weight=None
) -> Tensor:
    """0.5 d^2 where |d| <= delta, else delta (|d| - 0.5 delta)."""
    if _acs.active:  # autocast: an fp32 op
        input, target = _autocast.fp32(input, target)
    _size_warning(input, target)
    d = (input - target).abs()
    loss = where(d <= delta, d * d * 0.5, (d - 0.5 * delta) * delta)
    if weight is not None:
        loss = loss * weight
    return _reduce(loss, reduction)


def kl_div(
    input: Tensor,
    target: Tensor,
    size_average=None,
    reduce=None,
    reduction: str = "mean",
    log_target: bool = False,
) -> Tensor:
    """KL(target || exp(input)) pointwise: target * (log target - input)."""
    if _acs.active:  # autocast: an fp32 op
        input, target = _autocast.fp32(input, target)
    reduction = _legacy_reduction(size_average, reduce, reduction)
    if reduction == "mean":
        warnings.warn(
            "reduction: 'mean' divides the total loss by both the batch size and the "
            "support size.'batchmean' divides only by the batch size, and aligns with "
            "the KL div math definition.'mean' will be changed to behave the same as "
            "'batchmean' in the next major release.",
            stacklevel=2,
        )
    if log_target:
        loss = target.exp() * (target - input)
    else:
        safe = where(target > 0, target, 1.0)
        loss = where(target > 0, target * (safe.log() - input), -target * input * 0)
    if reduction == "batchmean":
        n = input.shape[0] if input.ndim else 1
        return loss.sum() / n
    return _reduce(loss, reduction)


def cosine_embedding_loss(
    input1: Tensor,
    input2: Tensor,
    target: Tensor,
    margin: float = 0.0,
    size_average=None,
    reduce=None,
    reduction: str = "mean",
) -> Tensor:
    """1 - cos for y = 1, max(0, cos - margin) for y = -1."""
    if _acs.active:  # autocast: an fp32 op
        input1, input2, target = _autocast.fp32(input1, input2, target)
    reduction = _legacy_reduction(size_average, reduce, reduction)
    eps = 1e-12
    dim = input1.ndim - 1
    prod = (input1 * input2).sum(dim)
    m1 = (input1 * input1).sum(dim) + eps
    m2 = (input2 * input2).sum(dim) + eps
    cos = prod / (m1 * m2).sqrt()
    zeros = cos * 0
    pos = where(target == 1, 1 - cos, zeros)
    neg = where(target == -1, clamp_min(cos - margin, 0), zeros)
    return _reduce(pos + neg, reduction)


def margin_ranking_loss(
    input1: Tensor,
    input2: Tensor,
    target: Tensor,
    margin: float = 0.0,
    size_average=None,
    reduce=None,
    reduction: str = "mean",
) -> Tensor:
    """max(0, -y (x1 - x2) + margin)."""
    if _acs.active:  # autocast: an fp32 op
        input1, input2, target = _autocast.fp32(input1, input2, target)
    reduction = _legacy_reduction(size_average, reduce, reduction)
    return _reduce(clamp_min(-target * (input1 - input2) + margin, 0), reduction)


def triplet_margin_loss(
    anchor: Tensor,
    positive: Tensor,
    negative: Tensor,
    margin: float = 1.0,
    p: float = 2,
    eps: float = 1e-6,
    swap: bool = False,
    size_average=None,
    reduce=None,
    reduction: str = "mean",
) -> Tensor:
    """max(d(a, p) - d(a, n) + margin, 0) with p-norm distances."""
    if _acs.active:  # autocast: an fp32 op
        anchor, positive, negative = _autocast.fp32(anchor, positive, negative)
    reduction = _legacy_reduction(size_average, reduce, reduction)
    d_ap = pairwise_distance(anchor, positive, p, eps)
    d_an = pairwise_distance(anchor, negative, p, eps)
    if swap:
        d_an = minimum(d_an, pairwise_distance(positive, negative, p, eps))
    return _reduce(clamp_min(margin + d_ap - d_an, 0), reduction)


def hinge_embedding_loss(
    input: Tensor,
    target: Tensor,
    margin: float = 1.0,
    size_average=None,
    reduce=None,
    reduction: str = "mean",
) -> Tensor:
    """x where y = 1, max(0, margin - x) where y = -1."""
    if _acs.active:  # autocast: an fp32 op
        input, target = _autocast.fp32(input, target)
    reduction = _legacy_reduction(size_average, reduce, reduction)
    zeros = input * 0
    m = where(target != 1, clamp_min(margin - input, 0), zeros)
    s = where(target != -1, input, zeros)
    return _reduce(m + s, reduction)


def soft_margin_loss(
    input: Tensor, target: Tensor, size_average=None, reduce=None, reduction: str = "mean"
) -> Tensor:
    """log(1 + exp(-y x))."""
    if _acs.active:  # autocast: an fp32 op
        input, target = _autocast.fp32(input, target)
    reduction = _legacy_reduction(size_average, reduce, reduction)
    return _reduce(softplus(-target * input, 1.0, 1e30), reduction)


def triplet_margin_with_distance_loss(
    anchor: Tensor,
    positive: Tensor,
    negative: Tensor,
    *,
    distance_function=None,
    margin: float = 1.0,
    swap: bool = False,
    reduction: str = "mean",
) -> Tensor:
    """max(d(a, p) - d(a, n) + margin, 0) with any distance (pairwise_distance by default)."""
    if margin <= 0:
        raise ValueError(
            f"TripletMarginWithDistanceLoss: expected margin to be greater than 0, got {margin} "
            "instead"
        )
    dist = pairwise_distance if distance_function is None else distance_function
    d_ap = dist(anchor, positive)
    d_an = dist(anchor, negative)
    if swap:
        d_an = minimum(d_an, dist(positive, negative))
    return _reduce(clamp_min(margin + d_ap - d_an, 0), reduction)


def _margin_target(input: Tensor, target: Tensor, name: str):
    nd = input._data.ndim
    if nd not in (0, 1, 2) or input._data.size == 0 and nd == 1:
        raise RuntimeError(
            f"Expected non-empty vector or matrix with optional 0-dim batch size, but got: "
            f"{list(input.shape)}"
        )
    return nd < 2


def multi_margin_loss(
    input: Tensor,
    target: Tensor,
    p: int = 1,
    margin: float = 1.0,
    weight: Tensor | None = None,
    size_average=None,
    reduce=None,
    reduction: str = "mean",
) -> Tensor:
    """Multi-class hinge loss: mean over classes i != y of max(0, margin - x[y] + x[i])**p."""
    reduction = _legacy_reduction(size_average, reduce, reduction)
    if p not in (1, 2):
        raise ValueError("only p == 1 and p == 2 supported")
    if weight is not None and weight._data.ndim != 1:
        raise ValueError("weight must be one-dimensional")
    single = _margin_target(input, target, "multi_margin_loss")
    x = input.reshape(1, -1) if single else input
    t = target.reshape(-1).long()
    c = x.shape[1]
    if t._data.size and (t._data.min() < 0 or t._data.max() >= c):
        raise IndexError("target out of range")
    xy = x.gather(1, t.reshape(-1, 1))
    h = clamp_min(margin - xy + x, 0)
    if p == 2:
        h = h * h
    if weight is not None:
        h = h * weight[t].reshape(-1, 1)
    others = _wrap(xp_of(t._data).arange(c)[None, :] != t._data.reshape(-1, 1))
    loss = (h * others).sum(1) / c
    if single:
        loss = loss.reshape(())
    return _reduce(loss, reduction)


def multilabel_margin_loss(
    input: Tensor, target: Tensor, size_average=None, reduce=None, reduction: str = "mean"
) -> Tensor:
    """Multi-label hinge loss: for the target classes j (the entries of target before the first
    -1) and the other classes i, the mean over classes of max(0, 1 - (x[j] - x[i]))."""
    reduction = _legacy_reduction(size_average, reduce, reduction)
    single = _margin_target(input, target, "multilabel_margin_loss")
    if tuple(target._data.shape) != tuple(input._data.shape):
        raise RuntimeError(
            f"inconsistent target size: {list(target.shape)} for input of size: {list(input.shape)}"
        )
    x = input.reshape(1, -1) if single else input
    t = target._host().reshape(x.shape)  # a few host passes over the (small) target
    n, c = x.shape
    count = np.zeros((n, c), np.int64)  # how often each class is named before the first -1
    live = np.ones(n, bool)
    for k in range(c):
        col = t[:, k]
        live &= col >= 0
        rows = np.nonzero(live)[0]
        np.add.at(count, (rows, col[rows]), 1)
    # pair (j, i): j a target (counted as often as named, as torch), i not; hinge on x[j] - x[i]
    pair = _wrap(
        move_like((count[:, :, None] * (count == 0)[:, None, :]).astype(x._data.dtype), x._data)
    )
    h = clamp_min(1 - (x.unsqueeze(2) - x.unsqueeze(1)), 0)
    loss = (h * pair).sum((1, 2)) / c
    if single:
        loss = loss.reshape(())
    return _reduce(loss, reduction)


def linear_cross_entropy(
    input: Tensor,
    linear_weight: Tensor,
    target: Tensor,
    *,
    linear_bias: Tensor | None = None,
    weight: Tensor | None = None,
    reduction: str = "mean",
    ignore_index: int | None = None,
    label_smoothing: float = 0.0,
    options=None,
) -> Tensor:
    """cross_entropy(linear(input, linear_weight, linear_bias), target, ...): torch's reference
    semantics (its chunking ``options`` only change how torch schedules the work). A weight
    of shape (C, d_1, ..., d_K, in_features) gives logits (N, C, d_1, ..., d_K): the
    K-dimensional loss."""
    *classes, in_features = linear_weight.shape
    out_features = tuple(classes[1:])
    if out_features:  # one linear over C * d_1 * ... * d_K outputs, then the K-dim shape
        k = math.prod(classes)
        linear_weight = linear_weight.reshape(k, in_features)
        if linear_bias is not None:
            linear_bias = linear_bias.reshape(k)
    logits = linear(input, linear_weight, linear_bias)
    if out_features:
        logits = logits.reshape(*input.shape[:-1], *classes)
    return cross_entropy(
        logits,
        target,
        weight=weight,
        reduction=reduction,
        ignore_index=-100 if ignore_index is None else ignore_index,
        label_smoothing=label_smoothing,
    )


def _lengths(x, name: str) -> list:
    if isinstance(x, Tensor):
        if x._data.dtype.kind not in "iu":
            raise RuntimeError(f"{name} must be integral")
        return [int(v) for v in np.asarray(x.tolist()).reshape(-1)]
    if isinstance(x, int):
        return [x]
    return [int(v) for v in x]


def ctc_loss(
    log_probs: Tensor,
    targets: Tensor,
    input_lengths,
    target_lengths,
    blank: int = 0,
    reduction: str = "mean",
    zero_infinity: bool = False,
) -> Tensor:
    """Connectionist temporal classification loss of log_probs (T, N, C) (or (T, C)) against
    targets, padded (N, S) or concatenated (sum(target_lengths),). 'mean' divides each loss by
    its target length, then averages over the batch."""
    unbatched = log_probs._data.ndim == 2
    lp = log_probs.unsqueeze(1) if unbatched else log_probs
    if lp._data.ndim != 3:
        raise RuntimeError(
            f"ctc_loss: expected log_probs to be 2-D or 3-D, got {list(log_probs.shape)}"
        )
    t_max, n, c = lp.shape
    ilen = _lengths(input_lengths, "input_lengths")
    tlen = _lengths(target_lengths, "target_lengths")
    if len(ilen) != n:
        raise RuntimeError(f"input_lengths must be of size batch_size, but got {len(ilen)}")
    if len(tlen) != n:
        raise RuntimeError(f"target_lengths must be of size batch_size, but got {len(tlen)}")
    if not 0 <= blank < c:
        raise RuntimeError("blank must be in label range")
    tg = np.asarray(targets.tolist(), dtype=np.int64)
    if unbatched:
        tg = tg.reshape(1, -1)
    if tg.ndim == 1:  # concatenated targets
        offs = np.concatenate([[0], np.cumsum(tlen)])
        rows = [tg[offs[i] : offs[i + 1]] for i in range(n)]
    else:
        rows = [tg[i] for i in range(n)]
    for i in range(n):
        if ilen[i] > t_max or ilen[i] < 0:
            raise RuntimeError(
                f"Expected input_lengths to have value at most {t_max}, but got value {ilen[i]} "
                f"(while checking arguments for ctc_loss_cpu)"
            )
        if tlen[i] > len(rows[i]):
            raise RuntimeError(
                f"Expected tensor to have size at least {tlen[i]} at dimension 1, but got size "
                f"{len(rows[i])} for argument #2 'targets' (while checking arguments for "
                "ctc_loss_cpu)"
            )
    nll = CTCLossOp.apply(lp, rows, ilen, tlen, blank, zero_infinity)
    if unbatched:
        nll = nll.reshape(())
    if reduction == "mean":
        denom = np.maximum(np.asarray(tlen, np.int64), 1).astype(nll._data.dtype)
        denom = _wrap(move_like(denom, nll._data))
        return (nll / (denom.reshape(()) if unbatched else denom)).mean()
    if reduction == "sum":
        return nll.sum()
    if reduction == "none":
        return nll
    raise ValueError(f"{reduction} is not a valid value for reduction")


def multilabel_soft_margin_loss(
    input: Tensor,
    target: Tensor,
    weight=None,
    size_average=None,
    reduce=None,
    reduction: str = "mean",
) -> Tensor:
    """Mean over classes of the binary cross entropy with logits."""
    if _acs.active:  # autocast: an fp32 op
        input, target = _autocast.fp32(input, target)
    reduction = _legacy_reduction(size_average, reduce, reduction)
    loss = -(target * logsigmoid(input) + (1 - target) * logsigmoid(-input))
    if weight is not None:
        loss = loss * weight
    loss = loss.sum(input.ndim - 1) / input.shape[-1]
    return _reduce(loss, reduction)


def poisson_nll_loss(
    input: Tensor,
    target: Tensor,
    log_input: bool = True,
    full: bool = False,
    size_average=None,
    eps: float = 1e-8,
    reduce=None,
    reduction: str = "mean",
) -> Tensor:
    """Negative log likelihood of a Poisson target (log-rate or rate input)."""
    if _acs.active:  # autocast: an fp32 op
        input, target = _autocast.fp32(input, target)
    reduction = _legacy_reduction(size_average, reduce, reduction)
    if log_input:
        loss = input.exp() - target * input
    else:
        loss = input - target * (input + eps).log()
    if full:  # Stirling's term for targets above 1, with its gradient to the target
        st = target * target.log() - target + 0.5 * (2 * math.pi * target).log()
        loss = loss + st.masked_fill(target <= 1, 0)
    return _reduce(loss, reduction)


def gaussian_nll_loss(
    input: Tensor,
    target: Tensor,
    var,
    full: bool = False,
    eps: float = 1e-6,
    reduction: str = "mean",
) -> Tensor:
    """Negative log likelihood of a Gaussian with predicted variance."""
    if _acs.active:  # autocast: an fp32 op
        input, target, var = _autocast.fp32(input, target, var)
    if not isinstance(var, Tensor):
        var = _wrap(np.full(input._data.shape, var, input._data.dtype))
    if var.ndim == input.ndim - 1 and tuple(var.shape) == tuple(input.shape[:-1]):
        var = var.unsqueeze(-1)
    if (var._data < 0).any():
        raise ValueError("var has negative entry/entries")
    v = clamp_min(var.detach(), eps) + (var - var.detach())
    loss = 0.5 * (v.log() + (input - target) ** 2 / v)
    if full:
        loss = loss + 0.5 * math.log(2 * math.pi)
    return _reduce(loss, reduction)


# --- distances ------------------------------------------------------------------------------
def normalize(
    input: Tensor, p: float = 2.0, dim: int = 1, eps: float = 1e-12, out: Tensor | None = None
) -> Tensor:
    """x / max(||x||_p, eps) along dim."""
    # the norm's gradient at a zero vector is 0, as torch's (that of a square root of the sum
    # of squares is infinite there, and the clamp's zero slope times it gave NaN); p = 0 counts
    # non-zeros, p = inf takes the max
    norm = input.norm(p, dim, keepdim=True)
    r = input / clamp_min(norm, eps).expand_as(input)
    if out is not None:
        out.copy_(r)
        return out
    return r


def cosine_similarity(x1: Tensor, x2: Tensor, dim: int = 1, eps: float = 1e-8) -> Tensor:
    """Cosine of the angle between x1 and x2 along dim (inputs broadcast first, as torch's)."""
    if x1.shape != x2.shape:
        x1, x2 = broadcast_tensors(x1, x2)
    n1 = x1.norm(2, dim, keepdim=True)  # a zero gradient at a zero vector (see normalize)
    n2 = x2.norm(2, dim, keepdim=True)
    a = x1 / clamp_min(n1, eps)
    b = x2 / clamp_min(n2, eps)
    return (a * b).sum(dim)


def pdist(input: Tensor, p: float = 2.0) -> Tensor:
    """The p-norm distances between every pair of rows i < j of a 2-d input, in row order."""
    if input._data.ndim != 2:
        raise RuntimeError(f"pdist only supports 2D tensors, got: {input._data.ndim}D")
    if p < 0:
        raise RuntimeError("pdist only supports non-negative p values")
    n = input._data.shape[0]
    i, j = np.triu_indices(n, 1)
    d = input[i] - input[j]
    return d.norm(p, -1)  # a zero gradient for equal rows, as torch's (a square root's was NaN)


def channel_shuffle(input: Tensor, groups: int) -> Tensor:
    """Interleave the channels of ``groups`` groups (ShuffleNet): (N, g, C/g, ...) -> (N, C/g, g,
    ...)."""
    shp = tuple(input._data.shape)
    if len(shp) < 3:
        raise RuntimeError(
            f"channel_shuffle expects input to have at least 3 dimensions, but got input with "
            f"sizes {list(shp)}"
        )
    if groups <= 0:
        raise RuntimeError(
            f"Number of groups to divide channels in must be positive. Value of groups:{groups}"
        )
    c = shp[1]
    if c % groups:
        raise RuntimeError(
            f"Number of channels must be divisible by groups. Got {c} channels and {groups} groups."
        )
    n = shp[0]
    return input.reshape(n, groups, c // groups, *shp[2:]).transpose(1, 2).reshape(shp).contiguous()


native_channel_shuffle = channel_shuffle


def pairwise_distance(
    x1: Tensor, x2: Tensor, p: float = 2.0, eps: float = 1e-6, keepdim: bool = False
) -> Tensor:
    """||x1 - x2 + eps||_p along the last dim."""
    d = (x1 - x2 + eps).abs()
    if p == 2:
        return (d * d).sum(-1, keepdim=keepdim).sqrt()
    return d.pow(p).sum(-1, keepdim=keepdim).pow(1.0 / p)


# --- padding, resampling and attention ------------------------------------------------------
def pad(input: Tensor, pad: tuple, mode: str = "constant", value: float | None = None) -> Tensor:
    """Pad the last len(pad)/2 dims; pad = (left, right, top, bottom, ...)."""
    if _acs.active and mode in ("reflect", "replicate"):  # autocast: fp32 ops
        (input,) = _autocast.fp32(input)
    if len(pad) % 2:
        raise RuntimeError("Padding length must be divisible by 2")
    nd = input.ndim
    if len(pad) // 2 > nd:
        raise RuntimeError(
            "Padding length should be less than or equal to two times the input "
            "dimension but got padding length "
            + str(len(pad))
            + " and input of dimension "
            + str(nd)
        )
    if mode not in ("constant", "reflect", "replicate", "circular"):
        raise NotImplementedError(f"Unrecognised padding mode {mode}")
    widths = [(0, 0)] * nd
    for k in range(len(pad) // 2):
        widths[nd - 1 - k] = (int(pad[2 * k]), int(pad[2 * k + 1]))
    return _Pad.apply(input, widths, mode, 0 if value is None else value)


def upsample_nearest(input: Tensor, size=None, scale_factor=None) -> Tensor:
    """Deprecated: interpolate(mode='nearest')."""
    return interpolate(input, size, scale_factor, mode="nearest")


def upsample_bilinear(input: Tensor, size=None, scale_factor=None) -> Tensor:
    """Deprecated: interpolate(mode='bilinear', align_corners=True)."""
    return interpolate(input, size, scale_factor, mode="bilinear", align_corners=True)


def scaled_dot_product_attention(
    query: Tensor,
    key: Tensor,
    value: Tensor,
    attn_mask: Tensor | None = None,
    dropout_p: float = 0.0,
    is_causal: bool = False,
    scale: float | None = None,
    enable_gqa: bool = False,
) -> Tensor:
    """softmax(q k^T * scale + mask) v, with optional causal mask and dropout: one op with a
    hand-written backward (``ember/ops/attention.py``).

    As torch: a boolean ``attn_mask`` marks the positions that take part, a float one is added
    to the scores; ``is_causal`` is top-left aligned; dropout draws torch's CPU stream; a row
    with every position masked gives zeros. ``is_causal`` together with ``attn_mask`` applies
    both (torch's CPU flash kernel does; its math kernel, used for gradients, raises)."""
    if _acs.active:  # autocast: a lower-precision op
        query, key, value, attn_mask = _autocast.lower(query, key, value, attn_mask)
    check_sdpa_args(query, key, value, attn_mask, enable_gqa)
    check_p(dropout_p)
    return _sdpa(query, key, value, attn_mask, dropout_p, is_causal, scale, enable_gqa)


__getattr__ = _module_getattr(__name__)  # unknown names: a clear not-implemented error


def _float_mask(mask, like: Tensor, name: str):
    """A boolean mask as an additive float mask (-inf where True), as torch canonicalises it."""
    if mask is None:
        return None
    if mask.dtype.name == "bool":
        return zeros(mask.shape, dtype=like.dtype, device=like.device).masked_fill(
            mask, float("-inf")
        )
    if not mask.is_floating_point():
        raise AssertionError(f"only bool and floating types of {name} are supported")
    return mask


def multi_head_attention_forward(
    query: Tensor,
    key: Tensor,
    value: Tensor,
    embed_dim_to_check: int,
    num_heads: int,
    in_proj_weight,
    in_proj_bias,
    bias_k,
    bias_v,
    add_zero_attn: bool,
    dropout_p: float,
    out_proj_weight: Tensor,
    out_proj_bias,
    training: bool = True,
    key_padding_mask=None,
    need_weights: bool = True,
    attn_mask=None,
    use_separate_proj_weight: bool = False,
    q_proj_weight=None,
    k_proj_weight=None,
    v_proj_weight=None,
    static_k=None,
    static_v=None,
    average_attn_weights: bool = True,
    is_causal: bool = False,
):
    """Multi-head attention on (L, N, E) query and (S, N, E) key/value (or unbatched (L, E)):
    the in-projections, optional bias_k/bias_v and zero-attention slots, masks, softmax,
    dropout and the out-projection, as torch.nn.functional.multi_head_attention_forward.
    Returns (output, weights averaged over heads or not, or None)."""
    unbatched = query.dim() == 2
    if unbatched:
        shared = query is key, key is value
        query, key, value = (t.unsqueeze(1) for t in (query, key, value))
        if shared[1]:  # keep shared inputs one object: the packed projection below
            value = key
            if shared[0]:
                query = key
        if key_padding_mask is not None:
            key_padding_mask = key_padding_mask.unsqueeze(0)
    tgt_len, bsz, embed_dim = query.shape
    if embed_dim != embed_dim_to_check:
        raise AssertionError(
            f"was expecting embedding dimension of {embed_dim_to_check}, but got {embed_dim}"
        )
    if is_causal and attn_mask is None:
        raise RuntimeError(
            "Need attn_mask if specifying the is_causal hint. You may use the Transformer module "
            "method `generate_square_subsequent_mask` to create this mask."
        )
    head_dim = embed_dim // num_heads
    if head_dim * num_heads != embed_dim:
        raise AssertionError(f"embed_dim {embed_dim} not divisible by num_heads {num_heads}")
    e = embed_dim
    bq = bk = bv = None
    if in_proj_bias is not None:
        bq, bk, bv = in_proj_bias[:e], in_proj_bias[e : 2 * e], in_proj_bias[2 * e :]
    if use_separate_proj_weight:
        wq, wk, wv = q_proj_weight, k_proj_weight, v_proj_weight
    else:
        wq, wk, wv = in_proj_weight[:e], in_proj_weight[e : 2 * e], in_proj_weight[2 * e :]
    if not use_separate_proj_weight and query is key and key is value:
        # self-attention: one product with the packed weight, as torch's packed projection
        q, k, v = linear(query, in_proj_weight, in_proj_bias).split(e, -1)
    elif not use_separate_proj_weight and key is value:
        q = linear(query, wq, bq)
        k, v = linear(key, in_proj_weight[e:], None if bq is None else in_proj_bias[e:]).split(
            e, -1
        )
    else:
        q = linear(query, wq, bq)
        k = linear(key, wk, bk)
        v = linear(value, wv, bv)
    attn_mask = _float_mask(attn_mask, q, "attn_mask")
    key_padding_mask = _float_mask(key_padding_mask, q, "key_padding_mask")
    if attn_mask is not None:
        src = key.shape[0]
        if attn_mask.dim() == 2:
            if tuple(attn_mask.shape) != (tgt_len, src):
                raise RuntimeError(
                    f"The shape of the 2D attn_mask is {attn_mask.shape}, but should be "
                    f"{(tgt_len, src)}."
                )
            attn_mask = attn_mask.unsqueeze(0)
        elif attn_mask.dim() == 3:
            if tuple(attn_mask.shape) != (bsz * num_heads, tgt_len, src):
                raise RuntimeError(
                    f"The shape of the 3D attn_mask is {attn_mask.shape}, but should be "
                    f"{(bsz * num_heads, tgt_len, src)}."
                )
        else:
            raise RuntimeError(f"attn_mask's dimension {attn_mask.dim()} is not supported")
    if bias_k is not None and bias_v is not None:
        if static_k is not None or static_v is not None:
            raise AssertionError("bias cannot be added to static key/value.")
        k = cat([k, bias_k.repeat(1, bsz, 1)])
        v = cat([v, bias_v.repeat(1, bsz, 1)])
        if attn_mask is not None:
            attn_mask = pad(attn_mask, (0, 1))
        if key_padding_mask is not None:
            key_padding_mask = pad(key_padding_mask, (0, 1))
    q = q.reshape(tgt_len, bsz * num_heads, head_dim).transpose(0, 1)
    k = (
        k.reshape(k.shape[0], bsz * num_heads, head_dim).transpose(0, 1)
        if static_k is None
        else static_k
    )
    v = (
        v.reshape(v.shape[0], bsz * num_heads, head_dim).transpose(0, 1)
        if static_v is None
        else static_v
    )
    if add_zero_attn:
        z = _wrap(xp_of(q._data).zeros((bsz * num_heads, 1, head_dim), q._data.dtype))
        k = cat([k, z], 1)
        v = cat([v, z], 1)
        if attn_mask is not None:
            attn_mask = pad(attn_mask, (0, 1))
        if key_padding_mask is not None:
            key_padding_mask = pad(key_padding_mask, (0, 1))
    src_len = k.shape[1]
    if key_padding_mask is not None:
        if tuple(key_padding_mask.shape) != (bsz, src_len):
            raise AssertionError(
                f"expecting key_padding_mask shape of {(bsz, src_len)}, but got "
                f"{key_padding_mask.shape}"
            )
        kpm = (
            key_padding_mask.reshape(bsz, 1, 1, src_len)
            .expand(bsz, num_heads, 1, src_len)
            .reshape(bsz * num_heads, 1, src_len)
        )
        attn_mask = kpm if attn_mask is None else attn_mask + kpm
    if not training:
        dropout_p = 0.0
    if not need_weights:  # the attention op: no weights to return, no score tensors recorded
        out = _sdpa(q, k, v, attn_mask, dropout_p)
        out = out.transpose(0, 1).reshape(tgt_len * bsz, embed_dim)
        out = linear(out, out_proj_weight, out_proj_bias).reshape(tgt_len, bsz, embed_dim)
        return (out.squeeze(1) if unbatched else out), None
    scores = (q * math.sqrt(1.0 / head_dim)).matmul(k.transpose(1, 2))
    if attn_mask is not None:
        scores = scores + attn_mask
    attn = softmax(scores, -1)
    if dropout_p > 0.0:
        attn = dropout(attn, dropout_p)
    out = attn.matmul(v).transpose(0, 1).reshape(tgt_len * bsz, embed_dim)
    out = linear(out, out_proj_weight, out_proj_bias).reshape(tgt_len, bsz, embed_dim)
    if unbatched:
        out = out.squeeze(1)
    if not need_weights:
        return out, None
    aw = attn.reshape(bsz, num_heads, tgt_len, src_len)
    if average_attn_weights:
        aw = aw.mean(1)
    if unbatched:
        aw = aw.squeeze(0)
    return out, aw
