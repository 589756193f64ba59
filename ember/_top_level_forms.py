"""Functions torch keeps at its top level whose work ember does elsewhere: the in-place forms of
tensor methods (``torch.exp_(x)`` is ``x.exp_()``, ``torch.clamp_(x, 0, 1)`` is
``x.clamp_(0, 1)``) and ``nn.functional`` ops under their ATen names (``torch.conv2d``,
``torch.batch_norm``, ``torch.layer_norm``, ``torch.embedding``, ``torch.max_pool2d``, the
losses, ``torch.celu``, ``torch.alpha_dropout``, ...), with the ATen signatures: ``train`` where
``nn.functional`` says ``training=``, batch norm's weight and bias before its running
statistics, ``embedding(weight, indices)``, ``stride=()`` for the kernel size, losses'
``reduction`` as ATen's integer (0 none, 1 mean, 2 sum; none when left out, as torch's), the
``*_with_indices`` and adaptive max pooling forms returning (values, indices); the recurrent
cells (``torch.lstm_cell``, ...) and whole stacked RNNs over ATen's flat parameter list
(``torch.lstm``, ``torch.gru``, ...) on ``nn.modules.rnn``'s machinery; ``torch.embedding_bag``
with its four outputs, ``torch.convolution`` and ``torch.conv_tbc``; the ``native_*`` norms
with their saved statistics, and the deprecated ``frobenius_norm`` / ``nuclear_norm``.
"""

from __future__ import annotations

import warnings

import numpy as np

from . import dtypes, linalg
from .autograd.grad_mode import no_grad
from .nn import functional as F
from .nn.modules.rnn import run_layers
from .ops import dropout as dropout_ops
from .ops.creation import tensor
from .ops.dropout import check_p
from .ops.embedding import bag_of_positions, renorm_rows
from .ops.rnn import rnn_step
from .tensor import Tensor

# torch.<name>(input, *args) is input.<name>(*args) for each of these (the in-place forms, and
# a few queries and views)
_METHOD_FORMS = (
    "abs_ acos_ acosh_ addmv_ arccos_ arccosh_ arcsin_ arcsinh_ arctan_ arctanh_ as_strided_ "
    "asin_ asinh_ atan_ atanh_ ceil_ clamp_ clamp_max_ clamp_min_ clip_ conj_physical_ cos_ "
    "cosh_ deg2rad_ detach_ erf_ erfc_ exp2_ exp_ expm1_ fill_ fix_ floor_ frac_ gcd_ i0_ "
    "index_put_ lcm_ ldexp_ log10_ log1p_ log2_ log_ logit_ nan_to_num_ neg_ negative_ "
    "rad2deg_ reciprocal_ resize_as_ round_ rsqrt_ sigmoid_ sin_ sinc_ sinh_ sqrt_ square_ "
    "tan_ tanh_ trunc_ xlogy_ is_signed get_device adjoint is_same_size is_inference"
).split()


def _method_form(name: str):
    def fn(input: Tensor, *args, **kwargs) -> Tensor:
        return getattr(input, name)(*args, **kwargs)

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = f"torch.{name}(input, ...): ``input.{name}(...)``."
    return fn


globals().update({name: _method_form(name) for name in _METHOD_FORMS})


def dropout_(input: Tensor, p: float, train: bool) -> Tensor:
    """In-place dropout, as torch.dropout_."""
    return F.dropout(input, p, train, inplace=True)


def alpha_dropout(input: Tensor, p: float, train: bool) -> Tensor:
    """As torch.alpha_dropout (``nn.functional.alpha_dropout``)."""
    return F.alpha_dropout(input, p, train)


def alpha_dropout_(input: Tensor, p: float, train: bool) -> Tensor:
    """In-place alpha dropout, as torch.alpha_dropout_."""
    return F.alpha_dropout(input, p, train, inplace=True)


def feature_alpha_dropout(input: Tensor, p: float, train: bool) -> Tensor:
    """Alpha dropout of whole channels (dim 1), as torch.feature_alpha_dropout."""
    return F.feature_alpha_dropout(input, p, train)


def feature_alpha_dropout_(input: Tensor, p: float, train: bool) -> Tensor:
    """In-place feature alpha dropout, as torch.feature_alpha_dropout_."""
    return F.feature_alpha_dropout(input, p, train, inplace=True)


def _feature_dropout(input: Tensor, p: float, train: bool, inplace: bool) -> Tensor:
    check_p(p)
    return F._channel_dropout(input, p, train, inplace)


def feature_dropout(input: Tensor, p: float, train: bool) -> Tensor:
    """Dropout of whole channels (dim 1) of an input of 2 or more dims, as torch.feature_dropout
    (``dropout1d``/``dropout2d``/``dropout3d`` without their rank checks)."""
    return _feature_dropout(input, p, train, False)


def feature_dropout_(input: Tensor, p: float, train: bool) -> Tensor:
    """In-place feature dropout, as torch.feature_dropout_."""
    return _feature_dropout(input, p, train, True)


def celu(input: Tensor, alpha: float = 1.0) -> Tensor:
    """As torch.celu (``nn.functional.celu``)."""
    return F.celu(input, alpha)


def celu_(input: Tensor, alpha: float = 1.0) -> Tensor:
    """In-place celu, as torch.celu_."""
    return F.celu(input, alpha, inplace=True)


def selu(input: Tensor) -> Tensor:
    """As torch.selu (``nn.functional.selu``)."""
    return F.selu(input)


def selu_(input: Tensor) -> Tensor:
    """In-place selu, as torch.selu_."""
    return F.selu(input, inplace=True)


def _rrelu_args(
    lower: float = 1.0 / 8, upper: float = 1.0 / 3, training: bool = False, generator=None
):
    return lower, upper, training, generator


def rrelu(input: Tensor, *args, **kwargs) -> Tensor:
    """As torch.rrelu(input, lower=1/8, upper=1/3, training=False, generator=None)
    (``nn.functional.rrelu``, whose 5th argument is inplace, not a generator)."""
    lower, upper, training, generator = _rrelu_args(*args, **kwargs)
    return F._rrelu(input, lower, upper, training, False, generator)


def rrelu_(input: Tensor, *args, **kwargs) -> Tensor:
    """In-place rrelu, as torch.rrelu_ (``nn.functional.rrelu_``)."""
    return F.rrelu_(input, *args, **kwargs)


def threshold(input: Tensor, threshold: float, value: float) -> Tensor:
    """As torch.threshold (``nn.functional.threshold``)."""
    return F.threshold(input, threshold, value)


def threshold_(input: Tensor, threshold: float, value: float) -> Tensor:
    """In-place threshold, as torch.threshold_."""
    return F.threshold(input, threshold, value, inplace=True)


def embedding_renorm_(input: Tensor, indices: Tensor, max_norm: float, norm_type: float) -> Tensor:
    """Rescale the rows of ``input`` (an embedding weight) that ``indices`` name to at most
    ``max_norm`` in the ``norm_type`` norm, in place, as torch.embedding_renorm_."""
    renorm_rows(input, indices._data, max_norm, norm_type)
    return input


# ATen forms whose signature is nn.functional's
conv1d = F.conv1d
conv2d = F.conv2d
conv3d = F.conv3d
conv_transpose1d = F.conv_transpose1d
conv_transpose2d = F.conv_transpose2d
conv_transpose3d = F.conv_transpose3d
cosine_similarity = F.cosine_similarity
pairwise_distance = F.pairwise_distance
pdist = F.pdist
pixel_shuffle = F.pixel_shuffle
pixel_unshuffle = F.pixel_unshuffle
channel_shuffle = F.channel_shuffle
prelu = F.prelu
hardshrink = F.hardshrink
bilinear = F.bilinear
rms_norm = F.rms_norm
adaptive_avg_pool1d = F.adaptive_avg_pool1d


def _stride(stride):
    return None if stride is None or (not isinstance(stride, int) and len(stride) == 0) else stride


def max_pool1d(input: Tensor, kernel_size, stride=(), padding=0, dilation=1, ceil_mode=False):
    """As torch.max_pool1d (``stride=()``: the kernel size)."""
    return F.max_pool1d(input, kernel_size, _stride(stride), padding, dilation, ceil_mode)


def max_pool2d(input: Tensor, kernel_size, stride=(), padding=0, dilation=1, ceil_mode=False):
    """As torch.max_pool2d (``stride=()``: the kernel size)."""
    return F.max_pool2d(input, kernel_size, _stride(stride), padding, dilation, ceil_mode)


def max_pool3d(input: Tensor, kernel_size, stride=(), padding=0, dilation=1, ceil_mode=False):
    """As torch.max_pool3d (``stride=()``: the kernel size)."""
    return F.max_pool3d(input, kernel_size, _stride(stride), padding, dilation, ceil_mode)


def max_pool1d_with_indices(
    input: Tensor, kernel_size, stride=(), padding=0, dilation=1, ceil_mode=False
):
    """(values, indices), as torch.max_pool1d_with_indices."""
    s = _stride(stride)
    return F.max_pool1d(input, kernel_size, s, padding, dilation, ceil_mode, return_indices=True)


def avg_pool1d(
    input: Tensor, kernel_size, stride=(), padding=0, ceil_mode=False, count_include_pad=True
) -> Tensor:
    """As torch.avg_pool1d (``stride=()``: the kernel size)."""
    s = _stride(stride)
    return F.avg_pool1d(input, kernel_size, s, padding, ceil_mode, count_include_pad)


def adaptive_max_pool1d(input: Tensor, output_size):
    """(values, indices), as torch.adaptive_max_pool1d."""
    return F.adaptive_max_pool1d(input, output_size, return_indices=True)


def batch_norm(
    input, weight, bias, running_mean, running_var, training, momentum, eps, cudnn_enabled
) -> Tensor:
    """As torch.batch_norm: ``nn.functional.batch_norm`` with weight and bias first."""
    return F.batch_norm(input, running_mean, running_var, weight, bias, training, momentum, eps)


def instance_norm(
    input, weight, bias, running_mean, running_var, use_input_stats, momentum, eps, cudnn_enabled
) -> Tensor:
    """As torch.instance_norm: ``nn.functional.instance_norm`` with weight and bias first."""
    return F.instance_norm(
        input, running_mean, running_var, weight, bias, use_input_stats, momentum, eps
    )


def layer_norm(
    input: Tensor, normalized_shape, weight=None, bias=None, eps=1e-5, cudnn_enable=True
) -> Tensor:
    """As torch.layer_norm."""
    return F.layer_norm(input, normalized_shape, weight, bias, eps)


def group_norm(
    input: Tensor, num_groups: int, weight=None, bias=None, eps=1e-5, cudnn_enabled=True
) -> Tensor:
    """As torch.group_norm."""
    return F.group_norm(input, num_groups, weight, bias, eps)


def embedding(
    weight: Tensor, indices: Tensor, padding_idx=-1, scale_grad_by_freq=False, sparse=False
):
    """As torch.embedding(weight, indices, ...): ATen's padding_idx -1 is none."""
    pad = None if padding_idx is None or padding_idx < 0 else padding_idx
    return F.embedding(indices, weight, pad, None, 2.0, scale_grad_by_freq, sparse)


# ATen's reduction integers. torch's top-level losses default to 0 (none) when it is left out,
# though ATen's schemas say Mean: torch.kl_div(x, y) is elementwise (measured, torch 2.13)
_REDUCTIONS = {0: "none", 1: "mean", 2: "sum"}


def _reduction(r) -> str:
    if r not in _REDUCTIONS:
        raise ValueError(f"{r} is not a valid value for reduction")
    return _REDUCTIONS[r]


def kl_div(input: Tensor, target: Tensor, reduction: int = 0, *, log_target: bool = False):
    """As torch.kl_div (``reduction`` as ATen's integer; ATen's mean, without the warning
    ``nn.functional.kl_div`` gives for 'mean')."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "reduction: 'mean' divides", UserWarning)
        return F.kl_div(input, target, reduction=_reduction(reduction), log_target=log_target)


def binary_cross_entropy_with_logits(input, target, weight=None, pos_weight=None, reduction=0):
    """As torch.binary_cross_entropy_with_logits (``reduction`` as ATen's integer)."""
    return F.binary_cross_entropy_with_logits(
        input, target, weight, reduction=_reduction(reduction), pos_weight=pos_weight
    )


def hinge_embedding_loss(input, target, margin=1.0, reduction=0) -> Tensor:
    """As torch.hinge_embedding_loss (``reduction`` as ATen's integer)."""
    return F.hinge_embedding_loss(input, target, margin, reduction=_reduction(reduction))


def margin_ranking_loss(input1, input2, target, margin=0.0, reduction=0) -> Tensor:
    """As torch.margin_ranking_loss (``reduction`` as ATen's integer)."""
    return F.margin_ranking_loss(input1, input2, target, margin, reduction=_reduction(reduction))


def cosine_embedding_loss(input1, input2, target, margin=0.0, reduction=0) -> Tensor:
    """As torch.cosine_embedding_loss (``reduction`` as ATen's integer)."""
    return F.cosine_embedding_loss(input1, input2, target, margin, reduction=_reduction(reduction))


def triplet_margin_loss(
    anchor, positive, negative, margin=1.0, p=2.0, eps=1e-6, swap=False, reduction=0
) -> Tensor:
    """As torch.triplet_margin_loss (``reduction`` as ATen's integer)."""
    return F.triplet_margin_loss(
        anchor, positive, negative, margin, p, eps, swap, reduction=_reduction(reduction)
    )


def poisson_nll_loss(input, target, log_input, full, eps, reduction) -> Tensor:
    """As torch.poisson_nll_loss (every argument given; ``reduction`` as ATen's integer)."""
    return F.poisson_nll_loss(
        input, target, log_input, full, eps=eps, reduction=_reduction(reduction)
    )


def ctc_loss(
    log_probs, targets, input_lengths, target_lengths, blank=0, reduction=0, zero_infinity=False
) -> Tensor:
    """As torch.ctc_loss (``reduction`` as ATen's integer)."""
    return F.ctc_loss(
        log_probs,
        targets,
        input_lengths,
        target_lengths,
        blank,
        _reduction(reduction),
        zero_infinity,
    )


def vander(x: Tensor, N: int | None = None, increasing: bool = False) -> Tensor:
    """The Vandermonde matrix of a 1-d ``x``, powers decreasing left to right unless
    ``increasing``, as torch.vander (``linalg.vander``'s columns, reversed)."""
    v = linalg.vander(x, N=N)
    return v if increasing else v.flip(-1)


def _check_cell(input: Tensor, hx: tuple, w_ih: Tensor, w_hh: Tensor) -> None:
    if input.size(1) != w_ih.size(1):
        raise RuntimeError(
            f"input has inconsistent input_size: got {input.size(1)} expected {w_ih.size(1)}"
        )
    for i, h in enumerate(hx):
        if input.size(0) != h.size(0):
            raise RuntimeError(
                f"Input batch size {input.size(0)} doesn't match hidden{i} batch size {h.size(0)}"
            )
        if h.size(1) != w_hh.size(1):
            raise RuntimeError(
                f"hidden{i} has inconsistent hidden_size: got {h.size(1)}, expected {w_hh.size(1)}"
            )


def _cell(mode: str, input: Tensor, hx, w_ih: Tensor, w_hh: Tensor, b_ih, b_hh):
    _check_cell(input, hx if mode == "LSTM" else (hx,), w_ih, w_hh)
    return rnn_step(mode, F.linear(input, w_ih, b_ih), hx, w_hh, b_hh)


def lstm_cell(
    input: Tensor, hx, w_ih: Tensor, w_hh: Tensor, b_ih=None, b_hh=None
) -> tuple[Tensor, Tensor]:
    """One LSTM step of a (batch, input_size) input from the state ``hx`` = (h, c); returns the
    new (h, c), as torch.lstm_cell."""
    if not isinstance(hx, (tuple, list)):
        raise TypeError(
            "lstm_cell(): argument 'hx' (position 2) must be tuple of Tensors, not "
            f"{type(hx).__name__}"
        )
    if len(hx) != 2:
        raise RuntimeError("lstm_cell expects two hidden states")
    return tuple(_cell("LSTM", input, tuple(hx), w_ih, w_hh, b_ih, b_hh))


def gru_cell(input: Tensor, hx: Tensor, w_ih: Tensor, w_hh: Tensor, b_ih=None, b_hh=None):
    """One GRU step of a (batch, input_size) input, as torch.gru_cell."""
    return _cell("GRU", input, hx, w_ih, w_hh, b_ih, b_hh)


def rnn_tanh_cell(input: Tensor, hx: Tensor, w_ih: Tensor, w_hh: Tensor, b_ih=None, b_hh=None):
    """One Elman step with tanh, as torch.rnn_tanh_cell."""
    return _cell("RNN_TANH", input, hx, w_ih, w_hh, b_ih, b_hh)


def rnn_relu_cell(input: Tensor, hx: Tensor, w_ih: Tensor, w_hh: Tensor, b_ih=None, b_hh=None):
    """One Elman step with relu, as torch.rnn_relu_cell."""
    return _cell("RNN_RELU", input, hx, w_ih, w_hh, b_ih, b_hh)


_RNN_TAIL = ["params", "has_biases", "num_layers", "dropout", "train", "bidirectional"]
# ATen's two overloads of each: padded (batch_first last) and packed (batch_sizes second)
_RNN_OVERLOADS = {
    False: ["input", "hx", *_RNN_TAIL, "batch_first"],
    True: ["data", "batch_sizes", "hx", *_RNN_TAIL],
}


def _bind(name: str, names: list, args: tuple, kwargs: dict) -> dict:
    bound = dict(zip(names, args))
    if len(args) > len(names) or set(kwargs) - set(names) or set(bound) & set(kwargs):
        raise TypeError(f"{name}() received an invalid combination of arguments")
    bound.update(kwargs)
    if len(bound) != len(names):
        raise TypeError(f"{name}() received an invalid combination of arguments")
    return bound


def _aten_rnn(mode: str, name: str, args: tuple, kwargs: dict) -> tuple:
    """torch.lstm / gru / rnn_tanh / rnn_relu: ATen's two overloads, (input, hx, params,
    has_biases, num_layers, dropout, train, bidirectional, batch_first) and the packed
    (data, batch_sizes, hx, params, has_biases, num_layers, dropout, train, bidirectional),
    told apart as torch's parser does, by the fourth argument (has_biases or params)."""
    packed = "batch_sizes" in kwargs or (len(args) > 3 and not isinstance(args[3], bool))
    a = _bind(name, _RNN_OVERLOADS[packed], args, kwargs)
    x, hx, params, has_b = a["data" if packed else "input"], a["hx"], a["params"], a["has_biases"]
    num_layers, bidir, batch_first = a["num_layers"], a["bidirectional"], a.get("batch_first")
    sizes = a.get("batch_sizes")
    lstm = mode == "LSTM"
    if lstm and len(hx) != 2:
        raise RuntimeError(f"{name} expects two hidden states")
    stride = 4 if has_b else 2
    if len(params) % stride:
        raise RuntimeError("got an incorrect number of RNN parameters")
    groups = [tuple(params[i : i + stride]) for i in range(0, len(params), stride)]
    weights = [g if has_b else g + (None, None) for g in groups]
    dirs = 2 if bidir else 1
    layers = hx[0].size(0) if lstm else hx.size(0)
    if bidir and (len(weights) % 2 or layers % 2):
        raise RuntimeError("Odd number of params or hiddens given to a bidirectional RNN")
    if len(weights) > num_layers * dirs:
        raise RuntimeError("Expected more weights in stacked_rnn")
    if len(weights) < num_layers * dirs:
        raise RuntimeError(
            f"{name}: {num_layers * dirs} sets of weights needed, {len(weights)} given"
        )
    if layers != num_layers * dirs:
        raise RuntimeError("Expected more hidden states in stacked_rnn")
    if packed:
        sizes = [int(b) for b in sizes.tolist()]
    else:
        x.size(2)  # torch's IndexError for an unbatched input
        x = x.transpose(0, 1) if batch_first else x
    out, h_n, c_n = run_layers(mode, x, hx, weights, a["dropout"], a["train"], dirs, sizes)
    if batch_first:
        out = out.transpose(0, 1)
    return (out, h_n, c_n) if lstm else (out, h_n)


def lstm(*args, **kwargs) -> tuple[Tensor, Tensor, Tensor]:
    """A stacked LSTM with ATen's flat parameter list, returning (output, h_n, c_n), as
    torch.lstm (padded or packed form)."""
    return _aten_rnn("LSTM", "lstm", args, kwargs)


def gru(*args, **kwargs) -> tuple[Tensor, Tensor]:
    """A stacked GRU with ATen's flat parameter list, returning (output, h_n), as torch.gru."""
    return _aten_rnn("GRU", "gru", args, kwargs)


def rnn_tanh(*args, **kwargs) -> tuple[Tensor, Tensor]:
    """A stacked tanh RNN with ATen's flat parameter list, returning (output, h_n), as
    torch.rnn_tanh."""
    return _aten_rnn("RNN_TANH", "rnn_tanh", args, kwargs)


def rnn_relu(*args, **kwargs) -> tuple[Tensor, Tensor]:
    """A stacked relu RNN with ATen's flat parameter list, returning (output, h_n), as
    torch.rnn_relu."""
    return _aten_rnn("RNN_RELU", "rnn_relu", args, kwargs)


_BAG_MODES = ("sum", "mean", "max")


def _bag_aux(weight: Tensor, idx, off, mode: int, padding_idx, last: bool, grad: bool) -> tuple:
    """embedding_bag's offset2bag, bag_size and max_indices as torch's CPU kernel gives them:
    for a sum the last two zero (one per bag when an input requires grad, ``grad``, else one
    per offset), and offset2bag left empty on its fast path (no padding_idx, a weight other
    than float64); else bag_size the non-padding count per bag, max_indices the bag size
    (mean) or each column's arg-max row (max)."""
    n = len(idx)
    o2b, B = bag_of_positions(off, n, last)
    if mode == 0:
        fast = padding_idx is None and weight.dtype != dtypes.float64
        zeros = np.zeros(B if grad else len(off), int)
        return o2b[: 0 if fast else n], zeros, zeros.copy()
    keep = o2b >= 0  # with include_last_offset and one offset: no bag
    if padding_idx is not None:
        keep &= idx != padding_idx
    size = np.bincount(o2b[keep], minlength=B)
    if mode == 1:
        return o2b, size, size.copy()
    w = weight.detach().cpu().numpy()
    rows, bags = idx[keep], o2b[keep]
    best = np.full((B, w.shape[1]), -np.inf)
    np.maximum.at(best, bags, w[rows])
    # the first position of each bag that reaches its column maximum
    pos = np.where(w[rows] == best[bags], np.arange(len(rows))[:, None], len(rows))
    first = np.full(best.shape, len(rows))
    np.minimum.at(first, bags, pos)
    found = first < len(rows)
    maxi = np.where(found, np.append(rows, 0)[np.where(found, first, len(rows))], 0)
    return o2b, size, maxi


def embedding_bag(
    weight: Tensor,
    indices: Tensor,
    offsets: Tensor,
    scale_grad_by_freq: bool = False,
    mode: int = 0,
    sparse: bool = False,
    per_sample_weights: Tensor | None = None,
    include_last_offset: bool = False,
    padding_idx: int | None = None,
) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """As torch.embedding_bag(weight, indices, offsets, ...): ``mode`` 0 sum, 1 mean, 2 max;
    returns (output, offset2bag, bag_size, max_indices), the last three as torch's CPU kernel
    (integer tensors of the indices' dtype)."""
    if mode not in (0, 1, 2):
        raise RuntimeError("`mode` must be sum, mean, or max.")
    if indices.dtype not in (dtypes.int64, dtypes.int32):
        raise RuntimeError(
            "Expected tensor for argument #1 'indices' to have one of the following scalar "
            f"types: Long, Int; but got {indices.type()} instead (while checking arguments "
            "for embedding_bag)"
        )
    if per_sample_weights is not None and mode != 0:
        raise RuntimeError("embedding_bag: per_sample_weights only supported with mode='sum'")
    n = weight.size(0)
    if padding_idx is not None and not -n <= padding_idx < n:
        raise RuntimeError(
            f"padding_idx must be within the number of embeddings, {-n} through {n - 1}, but "
            f"got {padding_idx}"
        )
    pad = None if padding_idx is None else padding_idx % n
    idx = indices.detach().cpu().numpy().astype(np.int64).reshape(-1)
    off = offsets.detach().cpu().numpy().astype(np.int64).reshape(-1)
    out = F.embedding_bag(
        indices.reshape(-1),
        weight,
        offsets,
        scale_grad_by_freq=scale_grad_by_freq,
        mode=_BAG_MODES[mode],
        sparse=sparse,
        per_sample_weights=per_sample_weights,
        include_last_offset=include_last_offset,
        padding_idx=pad,
    )
    grad = weight.requires_grad or (
        per_sample_weights is not None and per_sample_weights.requires_grad
    )
    aux = _bag_aux(weight, idx, off, mode, pad, include_last_offset, grad)
    return (out, *(tensor(a, dtype=indices.dtype, device=indices.device) for a in aux))


def _one(v):
    """ATen's int lists: one value stands for every spatial dimension."""
    return v[0] if isinstance(v, (list, tuple)) and len(v) == 1 else tuple(v)


_CONVS = {
    False: (conv1d, conv2d, conv3d),
    True: (conv_transpose1d, conv_transpose2d, conv_transpose3d),
}


def convolution(
    input: Tensor,
    weight: Tensor,
    bias: Tensor | None,
    stride,
    padding,
    dilation,
    transposed: bool,
    output_padding,
    groups: int,
) -> Tensor:
    """The 1-, 2- or 3-d convolution (or transposed convolution) that the weight's rank names,
    of a batched input, as torch.convolution (every argument given, the int ones as lists)."""
    k = weight.dim()
    if input.dim() != k:
        raise RuntimeError(
            f"Expected {k}-dimensional input for {k}-dimensional weight {list(weight.shape)}, "
            f"but got {input.dim()}-dimensional input of size {list(input.shape)} instead"
        )
    if not 3 <= k <= 5:
        raise RuntimeError("unsupported ConvNd parameters")
    fn = _CONVS[bool(transposed)][k - 3]
    s, p, d = _one(stride), _one(padding), _one(dilation)
    if transposed:
        return fn(input, weight, bias, s, p, _one(output_padding), groups, d)
    return fn(input, weight, bias, s, p, d, groups)


def conv_tbc(input: Tensor, weight: Tensor, bias: Tensor, pad: int = 0) -> Tensor:
    """A 1-d convolution of a (time, batch, channels) input with a (kernel width, in, out)
    weight, padded by ``pad`` steps at both ends, as torch.conv_tbc."""
    if input.dim() != 3:
        raise RuntimeError("Input must have 3 dims: time, batch, in_channel")
    if weight.dim() != 3:
        raise RuntimeError(
            "Weight tensor must have 3 dims: kernel_width, in_channels, out_channels."
        )
    if bias.dim() != 1:
        raise RuntimeError("Bias must be 1-D")
    if input.size(2) != weight.size(1):
        raise RuntimeError("Input dim 2 (input channels) is not == dim 1 in the weight tensor")
    if bias.size(0) != weight.size(2):
        raise RuntimeError("Bias size must equal dim 2 in the weight tensor (output channels).")
    x = input.permute(1, 2, 0)
    if input.size(0) + 2 * pad < weight.size(0):  # no output step: an empty (0, B, C) result
        x = F.pad(x, (pad, weight.size(0) - input.size(0) - pad))
        return conv1d(x, weight.permute(2, 1, 0), bias)[:, :, :0].permute(2, 0, 1)
    return conv1d(x, weight.permute(2, 1, 0), bias, 1, pad).permute(2, 0, 1)


def _stats(x: Tensor, dims, eps: float, keepdim: bool) -> tuple[Tensor, Tensor]:
    """The mean and 1 / sqrt(biased variance + eps) over ``dims``, outside the graph (torch's
    saved statistics)."""
    with no_grad():
        return x.mean(dims, keepdim=keepdim), (
            x.var(dims, correction=0, keepdim=keepdim) + eps
        ).rsqrt()


def native_layer_norm(
    input: Tensor, normalized_shape, weight: Tensor | None, bias: Tensor | None, eps: float
) -> tuple[Tensor, Tensor, Tensor]:
    """(output, mean, rstd) of layer norm over the trailing ``normalized_shape`` dims, the
    statistics with those dims kept as 1, as torch.native_layer_norm."""
    out = F.layer_norm(input, normalized_shape, weight, bias, eps)
    dims = tuple(range(input.dim() - len(normalized_shape), input.dim()))
    return (out, *_stats(input, dims, eps, True))


def native_batch_norm(
    input: Tensor,
    weight: Tensor | None,
    bias: Tensor | None,
    running_mean: Tensor | None,
    running_var: Tensor | None,
    training: bool,
    momentum: float,
    eps: float,
) -> tuple[Tensor, Tensor, Tensor]:
    """(output, save_mean, save_invstd) of batch norm, as torch.native_batch_norm: the batch's
    per-channel mean and 1 / sqrt(biased variance + eps) when training (the running statistics
    updated), empty tensors otherwise."""
    out = F.batch_norm(input, running_mean, running_var, weight, bias, training, momentum, eps)
    if not training:
        empty = input.new_empty((0,))
        return out, empty, empty.clone()
    dims = (0,) + tuple(range(2, input.dim()))
    return (out, *_stats(input, dims, eps, False))


def native_group_norm(
    input: Tensor,
    weight: Tensor | None,
    bias: Tensor | None,
    N: int,
    C: int,
    HxW: int,
    group: int,
    eps: float,
) -> tuple[Tensor, Tensor, Tensor]:
    """(output, mean, rstd) of group norm, the statistics (N, group), as
    torch.native_group_norm: unlike layer and batch norm's, these statistics carry gradients."""
    out = F.group_norm(input, group, weight, bias, eps)
    xs = input.reshape(N, group, -1)
    return out, xs.mean(2), (xs.var(2, correction=0) + eps).rsqrt()


def batch_norm_update_stats(
    input: Tensor, running_mean: Tensor | None, running_var: Tensor | None, momentum: float
) -> tuple[Tensor, Tensor]:
    """The per-channel mean and biased variance of a batch, the running statistics moved
    towards them (the variance unbiased) in place, as torch.batch_norm_update_stats."""
    dims = (0,) + tuple(range(2, input.dim()))
    with no_grad():
        mean, var = input.mean(dims), input.var(dims, correction=0)
        n = input.numel() // input.size(1)
        if running_mean is not None:
            running_mean.mul_(1 - momentum).add_(mean * momentum)
        if running_var is not None:
            running_var.mul_(1 - momentum).add_(var * (momentum * n / max(n - 1, 1)))
    return mean, var


def frobenius_norm(input: Tensor, dim, keepdim: bool = False) -> Tensor:
    """The 2-norm over ``dim`` (at most two dims; none: all), as torch.frobenius_norm
    (deprecated in torch, which warns)."""
    warnings.warn(
        "at::frobenius_norm is deprecated and it is just left for JIT compatibility. It will "
        "be removed in a future PyTorch release. Please use `linalg.vector_norm(A, 2., dim, "
        "keepdim)` instead",
        UserWarning,
        stacklevel=2,
    )
    dim = [dim] if isinstance(dim, int) else list(dim)
    if len(dim) > 2:
        raise RuntimeError(f"Expected at most 2 dimensions, but got {len(dim)} dimensions instead.")
    return linalg.vector_norm(input, 2, dim or None, keepdim)


def nuclear_norm(input: Tensor, *args, **kwargs) -> Tensor:
    """The sum of the singular values over two dims (the last two by default), as
    torch.nuclear_norm(input, keepdim=False) and torch.nuclear_norm(input, dim, keepdim=False)
    (deprecated in torch, which warns)."""
    warnings.warn(
        "at::nuclear_norm is deprecated and it is just left for JIT compatibility. It will be "
        "removed in a future PyTorch release. Please use `linalg.matrix_norm(A, 'nuc', dim, "
        "keepdim)` instead",
        UserWarning,
        stacklevel=2,
    )
    if args and not isinstance(args[0], bool) or "dim" in kwargs:
        dim, keepdim = _nuclear_args(*args, **kwargs)
    else:
        dim, keepdim = (-2, -1), *_keepdim_arg(*args, **kwargs)
    return linalg.matrix_norm(input, "nuc", dim, keepdim)


def _nuclear_args(dim, keepdim: bool = False):
    return dim, keepdim


def _keepdim_arg(keepdim: bool = False):
    return (keepdim,)


def norm_except_dim(v: Tensor, pow: float = 2, dim: int = 0) -> Tensor:
    """The ``pow``-norm over every dim but ``dim`` (kept, the others as 1; dim -1: the norm of
    everything, a scalar), as torch.norm_except_dim (weight norm's g)."""
    if dim == -1:
        return linalg.vector_norm(v, pow)
    d = dim % v.dim()
    others = [i for i in range(v.dim()) if i != d]
    return linalg.vector_norm(v, pow, others, True)


native_dropout = dropout_ops.native_dropout
native_channel_shuffle = F.channel_shuffle
affine_grid_generator = F.affine_grid
orgqr = linalg.householder_product  # torch.orgqr is the same product of Householder reflectors


def init_num_threads() -> None:
    """Nothing to do: ember's threads start on first use (torch's call sets up OpenMP)."""


def is_vulkan_available() -> bool:
    """False: ember has no Vulkan backend."""
    return False


def compiled_with_cxx11_abi() -> bool:
    """True, as torch's current wheels (ember has no C++ build: nothing to link against)."""
    return True


def cudnn_is_acceptable(tensor: Tensor) -> bool:
    """False: ember calls no cuDNN (its CUDA path is CuPy's)."""
    return False


def _removed(name: str, use: str):
    """One of the functions torch 1.9 deprecated and later removed: calling it raises torch's
    RuntimeError, naming its replacement."""

    def fn(*args, **kwargs):
        raise RuntimeError(
            "This function was deprecated since version 1.9 and is now removed. "
            f"Use {use} instead (torch.{name} no longer exists in PyTorch)."
        )

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = f"Removed from torch: raises, naming {use}."
    return fn


eig = _removed("eig", "`torch.linalg.eig` or `torch.linalg.eigvals`")
lstsq = _removed("lstsq", "`torch.linalg.lstsq` (its arguments are reversed)")
matrix_rank = _removed("matrix_rank", "`torch.linalg.matrix_rank` ('symmetric' is 'hermitian')")
solve = _removed("solve", "`torch.linalg.solve` (its arguments are reversed)")
symeig = _removed("symeig", "`torch.linalg.eigh` or `torch.linalg.eigvalsh`")


_ATEN_FORMS = [
    "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d", "conv_transpose3d",
    "cosine_similarity", "pairwise_distance", "pdist", "pixel_shuffle", "pixel_unshuffle",
    "channel_shuffle", "prelu", "hardshrink", "bilinear", "rms_norm", "adaptive_avg_pool1d",
    "max_pool1d", "max_pool2d", "max_pool3d", "max_pool1d_with_indices", "avg_pool1d",
    "adaptive_max_pool1d", "batch_norm", "instance_norm", "layer_norm", "group_norm",
    "embedding", "kl_div", "binary_cross_entropy_with_logits", "hinge_embedding_loss",
    "margin_ranking_loss", "cosine_embedding_loss", "triplet_margin_loss", "poisson_nll_loss",
    "ctc_loss", "vander", "lstm_cell", "gru_cell", "rnn_tanh_cell", "rnn_relu_cell", "lstm",
    "gru", "rnn_tanh", "rnn_relu", "embedding_bag", "convolution", "conv_tbc", "native_dropout",
    "native_layer_norm", "native_batch_norm", "native_group_norm", "batch_norm_update_stats",
    "frobenius_norm", "nuclear_norm", "norm_except_dim", "native_channel_shuffle",
    "affine_grid_generator", "orgqr", "init_num_threads", "is_vulkan_available", "eig", "lstsq",
    "matrix_rank", "solve", "symeig", "compiled_with_cxx11_abi", "cudnn_is_acceptable",
]  # fmt: skip


def _assert(condition, message) -> None:
    """``torch._assert``: ``assert condition, message`` as a function, which ``torch.fx``
    records as a node (torchvision's models check shapes with it, so they stay traceable)."""
    assert condition, message


__all__ = (
    list(_METHOD_FORMS)
    + _ATEN_FORMS
    + [
        "dropout_",
        "alpha_dropout",
        "alpha_dropout_",
        "feature_alpha_dropout",
        "feature_alpha_dropout_",
        "feature_dropout",
        "feature_dropout_",
        "celu",
        "celu_",
        "selu",
        "selu_",
        "rrelu",
        "rrelu_",
        "threshold",
        "threshold_",
        "embedding_renorm_",
        "_assert",
    ]
)
