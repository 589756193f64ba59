"""Linear maps, dropout, embedding, one_hot, pad, distances and attention (nn.functional)."""

from __future__ import annotations

import math

import numpy as np

from .._backend.cpu.gemm import mm
from .._backend.xp import CPU_ARRAY, xp_of
from ..autograd.node import Op
from ..ops import _bw
from ..tensor import Tensor, _wrap
from ._reduce import ones as _ones

__all__ = [
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
]


def _dtn(a) -> str:
    from ..dtypes import from_numpy_dtype

    return (
        from_numpy_dtype(a.dtype)
        .name.replace("float32", "float")
        .replace("float64", "double")
        .replace("float16", "half")
    )


class _Linear(Op):
    """y = x @ W^T + b in one node; the backward is two matrix products and a column sum."""

    save_in = (0, 1)
    higher_order = True

    @staticmethod
    def forward(ctx, x, w, b):
        ctx.saved = (x, w)
        nd = x.ndim
        x2 = x.reshape(-1, x.shape[-1]) if nd > 2 else x  # one GEMM, not a batch of them
        if nd >= 2 and x2.shape[0] * w.size >= 1 << 17:
            # BLAS's no-transpose kernel on W x^T is faster than x W^T; one small transposed
            # copy gives back the C-contiguous result torch users expect
            y = mm(w, x2.T).T.copy()
        else:
            y = mm(x2, w.T)
        if b is not None:
            y += b
        return y.reshape(x.shape[:-1] + (w.shape[0],)) if nd > 2 else y

    @staticmethod
    def backward(ctx, g):
        x, w = ctx.saved
        n = ctx._needs
        gx = gw = gb = None
        out_f = w.shape[0]
        g2 = g.reshape(-1, out_f) if g.ndim != 2 else g
        if n[0]:
            gx = mm(g2, w)
            if g.ndim != 2:
                gx = gx.reshape(tuple(g.shape[:-1]) + (w.shape[1],))
        arr = type(g2) is CPU_ARRAY
        if n[1]:
            x2 = x.reshape(-1, w.shape[1]) if x.ndim != 2 else x
            gw = mm(g2.T, x2) if arr else _bw.mT(g2) @ x2
        if n[2]:
            if arr and g2.dtype.kind == "f":
                gb = _ones(g2.shape[0], g2.dtype) @ g2  # BLAS column sum
            else:
                gb = g2.sum(0)
        return gx, gw, gb


def linear(input: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """x @ weight^T + bias."""
    x, w = input._data, weight._data
    if x.dtype != w.dtype:
        raise RuntimeError(
            f"expected m1 and m2 to have the same dtype, but got: {_dtn(x)} != {_dtn(w)}"
        )
    if x.shape[-1:] != w.shape[-1:] or w.ndim != 2:
        if w.ndim == 1:
            return input.matmul(weight) + bias if bias is not None else input.matmul(weight)
        rows = x.size // x.shape[-1] if x.ndim and x.shape[-1] else 1
        raise RuntimeError(
            f"mat1 and mat2 shapes cannot be multiplied ({rows}x{x.shape[-1] if x.ndim else 1} "
            f"and {w.shape[1]}x{w.shape[0]})"
        )
    return _Linear.apply(input, weight, bias)


class _Bilinear(Op):
    save_in = (0, 1, 2)

    @staticmethod
    def forward(ctx, x1, x2, w, b):
        xp = xp_of(x1)
        ctx.saved = (x1, x2, w)
        y = xp.einsum("...i,oij,...j->...o", x1, w, x2, optimize=True)
        if b is not None:
            y += b
        return y

    @staticmethod
    def backward(ctx, g):
        x1, x2, w = ctx.saved
        xp = xp_of(x1)
        n = ctx._needs
        g1 = xp.einsum("...o,oij,...j->...i", g, w, x2, optimize=True) if n[0] else None
        g2 = xp.einsum("...o,oij,...i->...j", g, w, x1, optimize=True) if n[1] else None
        gw = xp.einsum("...o,...i,...j->oij", g, x1, x2, optimize=True) if n[2] else None
        gb = g.reshape(-1, g.shape[-1]).sum(0) if n[3] else None
        return g1, g2, gw, gb


def bilinear(input1: Tensor, input2: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """y = x1^T A x2 + b."""
    return _Bilinear.apply(input1, input2, weight, bias)


def identity(input: Tensor) -> Tensor:
    """Return the input unchanged."""
    return input


# --- dropout -------------------------------------------------------------------------------
class _MulMask(Op):
    """x * mask (mask a constant array already scaled); backward g * mask."""

    @staticmethod
    def forward(ctx, x, mask):
        ctx.mask = mask
        return x * mask

    @staticmethod
    def backward(ctx, g):
        return g * ctx.mask, None


def _check_p(p: float) -> None:
    if p < 0.0 or p > 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")


def _keep_mask(shape, p: float, dtype, xp=np):
    """The scaled keep mask; on CUDA drawn by CuPy's generator on the device (seeded by
    ``ember.cuda.manual_seed``), so a training step uploads nothing."""
    if p == 1.0:
        return xp.zeros(shape, dtype)
    if xp is np:
        from ..random import _gen

        keep = _gen(None).random(shape, dtype=np.float32) >= p
        return keep.astype(dtype) * np.asarray(1.0 / (1.0 - p), dtype)
    keep = xp.random.random_sample(shape, dtype=np.float32) >= p
    return keep.astype(dtype) * np.dtype(dtype).type(1.0 / (1.0 - p))  # a scalar: no upload


def _apply_mask(input: Tensor, mask, inplace: bool) -> Tensor:
    if type(input._data) is not CPU_ARRAY:
        mask = xp_of(input._data).asarray(mask)
    if inplace:
        from ..ops.inplace import inplace as _inp

        return _inp(input, lambda t: _MulMask.apply(t, mask))
    return _MulMask.apply(input, mask)


def dropout(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """Zero elements with probability p and scale the rest by 1/(1-p) (training only)."""
    _check_p(p)
    if not training or p == 0.0:
        return input
    a = input._data
    return _apply_mask(input, _keep_mask(a.shape, p, a.dtype, xp_of(a)), inplace)


def _feature_dropout(
    input: Tensor, p: float, training: bool, inplace: bool, nfeat: int, name: str
) -> Tensor:
    _check_p(p)
    nd = input.ndim
    if nd not in (nfeat + 1, nfeat + 2):
        raise RuntimeError(
            f"{name}: Expected {nfeat + 1}D or {nfeat + 2}D input, but received a {nd}D input. "
            f"Note that {name} exists to provide channel-wise dropout on inputs with {nfeat} "
            "spatial dimensions, a channel dimension, and an optional batch dimension (i.e. "
            f"{nfeat + 1}D or {nfeat + 2}D inputs)."
        )
    if not training or p == 0.0:
        return input
    shape = input._data.shape[: nd - nfeat] + (1,) * nfeat
    xp = xp_of(input._data)
    mask = _keep_mask(shape, p, input._data.dtype, xp)
    if input._data.size >= 1 << 16:
        # a full-size mask multiplies far faster than a stride-0 broadcast
        per = input._data.size // mask.size
        mask = xp.repeat(mask.reshape(-1), per).reshape(input._data.shape)
    return _apply_mask(input, mask, inplace)


def dropout1d(
    input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False
) -> Tensor:
    """Zero whole channels of (N, C, L) or (C, L) inputs."""
    return _feature_dropout(input, p, training, inplace, 1, "dropout1d")


def dropout2d(
    input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False
) -> Tensor:
    """Zero whole channels of (N, C, H, W) or (C, H, W) inputs."""
    if input.ndim not in (3, 4):
        import warnings

        warnings.warn(
            f"dropout2d: Received a {input.ndim}-D input to dropout2d, which is "
            "deprecated and will result in an error in a future release.",
            stacklevel=2,
        )
        if not training or p == 0.0:
            return input
        nd = input.ndim
        shape = input._data.shape[:2] + (1,) * max(nd - 2, 0)
        return _apply_mask(input, _keep_mask(shape, p, input._data.dtype), inplace)
    return _feature_dropout(input, p, training, inplace, 2, "dropout2d")


def dropout3d(
    input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False
) -> Tensor:
    """Zero whole channels of 5-d (or 4-d unbatched) inputs."""
    return _feature_dropout(input, p, training, inplace, 3, "dropout3d")


def alpha_dropout(
    input: Tensor, p: float = 0.5, training: bool = False, inplace: bool = False
) -> Tensor:
    """Dropout that keeps SELU's self-normalising mean and variance."""
    _check_p(p)
    if not training or p == 0.0:
        return input
    return _alpha(input, p, input._data.shape)


def _alpha(input: Tensor, p: float, shape) -> Tensor:
    from ..random import _gen

    alpha_p = -1.7580993408473766
    xp = xp_of(input._data)
    if xp is np:
        keep = (_gen(None).random(shape) >= p).astype(input._data.dtype)
    else:
        keep = (xp.random.random_sample(shape) >= p).astype(input._data.dtype)
    a = (1 - p) * (1 + p * alpha_p**2)
    a = a**-0.5
    b = -a * alpha_p * p
    mul = _wrap((keep * a).astype(input._data.dtype))
    add = _wrap(((1 - keep) * alpha_p * a + b).astype(input._data.dtype))
    return input * mul + add


def feature_alpha_dropout(
    input: Tensor, p: float = 0.5, training: bool = False, inplace: bool = False
) -> Tensor:
    """Alpha dropout of whole channels."""
    _check_p(p)
    if not training or p == 0.0:
        return input
    shape = input._data.shape[:2] + (1,) * (input.ndim - 2)
    return _alpha(input, p, shape)


# --- embedding, one_hot ----------------------------------------------------------------------
def _scatter_add(xp, dst, idx, src) -> None:
    """dst[idx] += src with repeated indices accumulating (``add.at``: NumPy, CuPy >= 13)."""
    xp.add.at(dst, idx, src)


class _Embedding(Op):
    @staticmethod
    def forward(ctx, idx, w, padding_idx, scale_grad):
        ctx.idx = idx
        ctx.wshape = w.shape
        ctx.pad = padding_idx
        ctx.scale = scale_grad
        return w[idx]

    @staticmethod
    def backward(ctx, g):
        xp = xp_of(g)
        idx = ctx.idx.reshape(-1)
        g2 = g.reshape(-1, ctx.wshape[1])
        gw = xp.zeros(ctx.wshape, g.dtype)
        if ctx.scale:
            counts = xp.bincount(idx, minlength=ctx.wshape[0]).astype(g.dtype)
            g2 = g2 / counts[idx][:, None]
        _scatter_add(xp, gw, idx, g2)
        if ctx.pad is not None:
            gw[ctx.pad] = 0
        return None, gw, None, None


def embedding(
    input: Tensor,
    weight: Tensor,
    padding_idx: int | None = None,
    max_norm: float | None = None,
    norm_type: float = 2.0,
    scale_grad_by_freq: bool = False,
    sparse: bool = False,
) -> Tensor:
    """Rows of ``weight`` picked by the integer ``input``."""
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
        _renorm_rows(weight, idx, max_norm, norm_type)
    return _Embedding.apply(input, weight, padding_idx, scale_grad_by_freq)


def _renorm_rows(weight: Tensor, idx, max_norm: float, norm_type: float) -> None:
    w = weight._data
    xp = xp_of(w)
    rows = xp.unique(idx.reshape(-1))
    norms = (xp.abs(w[rows]) ** norm_type).sum(1) ** (1.0 / norm_type)
    scale = xp.where(norms > max_norm, max_norm / (norms + 1e-7), 1.0).astype(w.dtype)
    w[rows] *= scale[:, None]
    weight._bump()


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


# --- pad -----------------------------------------------------------------------------------
class _Pad(Op):
    @staticmethod
    def forward(ctx, x, widths, mode, value):
        xp = xp_of(x)
        ctx.widths = widths
        ctx.shape = x.shape
        neg = any(lo < 0 or hi < 0 for lo, hi in widths)
        pos = [(max(lo, 0), max(hi, 0)) for lo, hi in widths]
        if mode == "constant":
            y = xp.pad(x, pos, mode="constant", constant_values=value)
        else:
            y = xp.pad(
                x, pos, mode={"reflect": "reflect", "replicate": "edge", "circular": "wrap"}[mode]
            )
        ctx.mode = mode
        if neg:
            sl = tuple(
                slice(-min(lo, 0), y.shape[i] + min(hi, 0)) for i, (lo, hi) in enumerate(widths)
            )
            y = y[sl]
        return y.copy() if neg else y

    @staticmethod
    def backward(ctx, g):
        xp = xp_of(g)
        widths = ctx.widths
        if ctx.mode == "constant":
            full = g
            pre = []
            for _i, (lo, hi) in enumerate(widths):
                pre.append((max(-lo, 0), max(-hi, 0)))
            if any(a or b for a, b in pre):
                full = xp.pad(g, pre)
            sl = tuple(
                slice(max(lo, 0), full.shape[i] - max(hi, 0)) for i, (lo, hi) in enumerate(widths)
            )
            return full[sl], None, None, None
        # non-constant modes: route through the index map of the padded positions
        idx = np.arange(int(np.prod(ctx.shape))).reshape(ctx.shape)
        m = {"reflect": "reflect", "replicate": "edge", "circular": "wrap"}[ctx.mode]
        pidx = np.pad(idx, [(max(lo, 0), max(hi, 0)) for lo, hi in widths], mode=m)
        gx = xp.zeros(int(np.prod(ctx.shape)), g.dtype)
        _scatter_add(xp, gx, xp.asarray(pidx.reshape(-1)), g.reshape(-1))
        return gx.reshape(ctx.shape), None, None, None


def pad(input: Tensor, pad: tuple, mode: str = "constant", value: float | None = None) -> Tensor:
    """Pad the last len(pad)/2 dims; pad = (left, right, top, bottom, ...)."""
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


# --- distances -----------------------------------------------------------------------------
def normalize(
    input: Tensor, p: float = 2.0, dim: int = 1, eps: float = 1e-12, out: Tensor | None = None
) -> Tensor:
    """x / max(||x||_p, eps) along dim."""
    norm = (
        input.abs().pow(p).sum(dim, keepdim=True).pow(1.0 / p)
        if p != 2
        else (input * input).sum(dim, keepdim=True).sqrt()
    )
    from ..ops.compare import clamp_min

    r = input / clamp_min(norm, eps).expand_as(input)
    if out is not None:
        out.copy_(r)
        return out
    return r


def cosine_similarity(x1: Tensor, x2: Tensor, dim: int = 1, eps: float = 1e-8) -> Tensor:
    """Cosine of the angle between x1 and x2 along dim."""
    from ..ops.compare import clamp_min

    n1 = (x1 * x1).sum(dim, keepdim=True).sqrt()
    n2 = (x2 * x2).sum(dim, keepdim=True).sqrt()
    a = x1 / clamp_min(n1, eps)
    b = x2 / clamp_min(n2, eps)
    return (a * b).sum(dim)


def pairwise_distance(
    x1: Tensor, x2: Tensor, p: float = 2.0, eps: float = 1e-6, keepdim: bool = False
) -> Tensor:
    """||x1 - x2 + eps||_p along the last dim."""
    d = (x1 - x2 + eps).abs()
    if p == 2:
        return (d * d).sum(-1, keepdim=keepdim).sqrt()
    return d.pow(p).sum(-1, keepdim=keepdim).pow(1.0 / p)


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
    """softmax(q k^T * scale + mask) v, with optional causal mask and dropout."""
    from ._functional_act import softmax

    L, S = query.shape[-2], key.shape[-2]
    sc = 1.0 / math.sqrt(query.shape[-1]) if scale is None else scale
    if enable_gqa and query.ndim >= 3 and key.shape[-3] != query.shape[-3]:
        rep = query.shape[-3] // key.shape[-3]
        key = key.repeat_interleave(rep, -3)
        value = value.repeat_interleave(rep, -3)
    scores = query.matmul(key.transpose(-2, -1)) * sc
    if is_causal:
        xp = xp_of(scores._data)
        mask = xp.tril(xp.ones((L, S), dtype=bool))
        scores = scores.masked_fill(_wrap(~mask), float("-inf"))
    if attn_mask is not None:
        if attn_mask.dtype.name == "bool":
            scores = scores.masked_fill(attn_mask.logical_not(), float("-inf"))
        else:
            scores = scores + attn_mask
    attn = softmax(scores, -1)
    if dropout_p > 0.0:
        attn = dropout(attn, dropout_p, True)
    return attn.matmul(value)
