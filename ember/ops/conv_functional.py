"""The public convolution functions (conv1d/2d/3d, conv_transpose1d/2d/3d): torch's argument
checks and error messages in front of the ops of ``conv.py`` and ``conv_transpose.py``."""

from __future__ import annotations

import numpy as np

from .._autocast_state import state as _acs
from ..dtypes import cpp_type_name, scalar_type_name
from ..tensor import Tensor
from . import _autocast
from .conv import ConvNd, ntuple
from .conv_transpose import ConvTransposeNd
from .unary import Cast

__all__ = [
    "conv1d",
    "conv2d",
    "conv3d",
    "conv_transpose1d",
    "conv_transpose2d",
    "conv_transpose3d",
]


def _tn(arr) -> str:
    return f"torch.{scalar_type_name(arr.dtype.name)}Tensor"


def _check_types(x, w, b) -> None:
    xd, wd = x._data, w._data
    if b is not None and b._data.dtype != xd.dtype:
        raise RuntimeError(
            f"Input type ({cpp_type_name(xd.dtype.name)}) and bias "
            f"type ({cpp_type_name(b._data.dtype.name)}) should "
            "be the same"
        )
    if xd.dtype != wd.dtype:
        if xd.dtype.itemsize > wd.dtype.itemsize:
            raise RuntimeError(
                f"expected scalar type {scalar_type_name(xd.dtype.name)} but found "
                f"{scalar_type_name(wd.dtype.name)}"
            )
        raise RuntimeError(
            f"Input type ({_tn(xd)}) and weight type ({_tn(wd)}) should be the same or input "
            "should be a MKLDNN tensor and weight is a dense tensor"
        )


def _bf16(fn, input, weight, bias, *args) -> Tensor | None:
    """For bfloat16 input and weight (and bias): ``fn`` run in float32 and its result rounded
    once to bfloat16, as torch's bfloat16 convolutions accumulate in float32 (NumPy's products
    of bfloat16 give float32); None for any other dtypes."""
    if weight._data.dtype != input._data.dtype or (
        bias is not None and bias._data.dtype != input._data.dtype
    ):
        return None
    f32 = np.dtype(np.float32)
    up = [None if t is None else Cast.apply(t, f32) for t in (input, weight, bias)]
    if _acs.active:  # already cast: autocast must not take the float32 copies back down
        with _autocast.suspended():
            return Cast.apply(fn(*up, *args), input._data.dtype)
    return Cast.apply(fn(*up, *args), input._data.dtype)


def _batchify(input: Tensor, nsp: int, name: str):
    nd = input._data.ndim
    if nd == nsp + 1:
        return input.unsqueeze(0), True
    if nd != nsp + 2:
        raise RuntimeError(
            f"Expected {nsp + 1}D (unbatched) or {nsp + 2}D (batched) input to "
            f"{name}, but got input of size: {list(input.shape)}"
        )
    return input, False


def _conv(nsp, name, input, weight, bias, stride, padding, dilation, groups) -> Tensor:
    if _acs.active:  # autocast: a lower-precision op
        input, weight, bias = _autocast.lower(input, weight, bias)
    if input._data.dtype.kind == "V":
        r = _bf16(
            lambda x, w, b: _conv(nsp, name, x, w, b, stride, padding, dilation, groups),
            input,
            weight,
            bias,
        )
        if r is not None:
            return r
    x, unb = _batchify(input, nsp, name)
    _check_types(x, weight, bias)
    s = ntuple(stride, nsp, "stride")
    d = ntuple(dilation, nsp, "dilation")
    k = tuple(weight.shape[2:])
    if weight._data.ndim != nsp + 2:
        raise RuntimeError(
            "weight should have at least three dimensions"
            if nsp == 1
            else f"Expected {nsp + 2}-dimensional input for {nsp + 2}-dimensional "
            f"weight {list(weight.shape)}, but got {weight._data.ndim}-dimensional "
            f"input of size {list(x.shape)} instead"
        )
    if any(e <= 0 for e in s):
        raise RuntimeError("non-positive stride is not supported")
    if any(e <= 0 for e in d):
        raise RuntimeError("dilation should be greater than zero")
    if isinstance(padding, str):
        if padding == "valid":
            pads = ((0, 0),) * nsp
        elif padding == "same":
            if any(e != 1 for e in s):
                raise RuntimeError("padding='same' is not supported for strided convolutions")
            pads = []
            for i in range(nsp):
                tot = d[i] * (k[i] - 1)
                pads.append((tot // 2, tot - tot // 2))
            pads = tuple(pads)
        else:
            raise RuntimeError(f"Invalid padding string: '{padding}'")
    else:
        p = ntuple(padding, nsp, "padding")
        if any(e < 0 for e in p):
            raise RuntimeError("negative padding is not supported")
        pads = tuple((e, e) for e in p)
    if groups <= 0:
        raise RuntimeError("non-positive groups is not supported")
    cout = weight.shape[0]
    if cout % groups:
        raise RuntimeError(
            f"Given groups={groups}, expected weight to be divisible by {groups} "
            f"at dimension 0, but got weight of size [{list(weight.shape)}] "
            "instead"
        )
    cin = x.shape[1]
    if weight.shape[1] * groups != cin:
        raise RuntimeError(
            f"Given groups={groups}, weight of size {list(weight.shape)}, expected "
            f"input{list(x.shape)} to have {weight.shape[1] * groups} channels, "
            f"but got {cin} channels instead"
        )
    if bias is not None and (bias._data.ndim != 1 or bias.shape[0] != cout):
        raise RuntimeError(
            f"Given weight of size {list(weight.shape)}, expected bias to be "
            f"1-dimensional with {cout} elements, but got bias of size "
            f"{list(bias.shape)} instead"
        )
    psz = tuple(x.shape[2 + i] + pads[i][0] + pads[i][1] for i in range(nsp))
    if any(d[i] * (k[i] - 1) + 1 > psz[i] for i in range(nsp)):
        ps = " x ".join(str(e) for e in psz)
        ks = " x ".join(str(e) for e in k)
        raise RuntimeError(
            f"Calculated padded input size per channel: ({ps}). Kernel size: "
            f"({ks}). Kernel size can't be greater than actual input size"
        )
    out = ConvNd.apply(x, weight, bias, s, pads, d, int(groups))
    return out.squeeze(0) if unb else out


def conv1d(
    input: Tensor,
    weight: Tensor,
    bias: Tensor | None = None,
    stride=1,
    padding=0,
    dilation=1,
    groups: int = 1,
) -> Tensor:
    """1-d convolution over (N, C, L) inputs, as torch.nn.functional.conv1d."""
    return _conv(1, "conv1d", input, weight, bias, stride, padding, dilation, groups)


def conv2d(
    input: Tensor,
    weight: Tensor,
    bias: Tensor | None = None,
    stride=1,
    padding=0,
    dilation=1,
    groups: int = 1,
) -> Tensor:
    """2-d convolution over (N, C, H, W) inputs, as torch.nn.functional.conv2d."""
    return _conv(2, "conv2d", input, weight, bias, stride, padding, dilation, groups)


def conv3d(
    input: Tensor,
    weight: Tensor,
    bias: Tensor | None = None,
    stride=1,
    padding=0,
    dilation=1,
    groups: int = 1,
) -> Tensor:
    """3-d convolution over (N, C, D, H, W) inputs, as torch.nn.functional.conv3d."""
    return _conv(3, "conv3d", input, weight, bias, stride, padding, dilation, groups)


def _conv_t(
    nsp,
    name,
    input,
    weight,
    bias,
    stride,
    padding,
    output_padding,
    groups,
    dilation,
    output_size=None,
) -> Tensor:
    if _acs.active:  # autocast: a lower-precision op
        input, weight, bias = _autocast.lower(input, weight, bias)
    if input._data.dtype.kind == "V":
        r = _bf16(
            lambda x, w, b: _conv_t(
                nsp, name, x, w, b, stride, padding, output_padding, groups, dilation, output_size
            ),
            input,
            weight,
            bias,
        )
        if r is not None:
            return r
    x, unb = _batchify(input, nsp, name)
    _check_types(x, weight, bias)
    s = ntuple(stride, nsp, "stride")
    d = ntuple(dilation, nsp, "dilation")
    p = ntuple(padding, nsp, "padding")
    op = ntuple(output_padding, nsp, "output_padding")
    k = tuple(weight.shape[2:])
    if any(e <= 0 for e in s):
        raise RuntimeError("non-positive stride is not supported")
    if any(e < 0 for e in p):
        raise RuntimeError("negative padding is not supported")
    if any(op[i] >= s[i] and op[i] >= d[i] for i in range(nsp)):
        raise RuntimeError(
            "output padding must be smaller than either stride or dilation, but "
            f"got output_padding_height: {op[0]} output_padding_width: {op[-1]} "
            f"stride_height: {s[0]} stride_width: {s[-1]} dilation_height: "
            f"{d[0]} dilation_width: {d[-1]}"
        )
    cin = x.shape[1]
    if weight.shape[0] != cin:
        raise RuntimeError(
            f"Given transposed=1, weight of size {list(weight.shape)}, expected "
            f"input{list(x.shape)} to have {weight.shape[0]} channels, but got "
            f"{cin} channels instead"
        )
    if cin % groups:
        raise RuntimeError(
            f"Given groups={groups}, expected weight to be divisible by {groups} "
            f"at dimension 0, but got weight of size [{list(weight.shape)}] "
            "instead"
        )
    osz = tuple(
        (x.shape[2 + i] - 1) * s[i] - 2 * p[i] + d[i] * (k[i] - 1) + op[i] + 1 for i in range(nsp)
    )
    if any(e <= 0 for e in osz):
        raise RuntimeError(
            f"Given input size per channel: ({' x '.join(map(str, x.shape[2:]))})"
            f". Calculated output size per channel: "
            f"({' x '.join(map(str, osz))}). Output size is too small"
        )
    pads = tuple((p[i], p[i]) for i in range(nsp))
    out = ConvTransposeNd.apply(x, weight, bias, s, pads, d, int(groups), osz)
    return out.squeeze(0) if unb else out


def conv_transpose1d(
    input: Tensor,
    weight: Tensor,
    bias: Tensor | None = None,
    stride=1,
    padding=0,
    output_padding=0,
    groups: int = 1,
    dilation=1,
) -> Tensor:
    """1-d transposed convolution, as torch.nn.functional.conv_transpose1d."""
    return _conv_t(
        1,
        "conv_transpose1d",
        input,
        weight,
        bias,
        stride,
        padding,
        output_padding,
        groups,
        dilation,
    )


def conv_transpose2d(
    input: Tensor,
    weight: Tensor,
    bias: Tensor | None = None,
    stride=1,
    padding=0,
    output_padding=0,
    groups: int = 1,
    dilation=1,
) -> Tensor:
    """2-d transposed convolution, as torch.nn.functional.conv_transpose2d."""
    return _conv_t(
        2,
        "conv_transpose2d",
        input,
        weight,
        bias,
        stride,
        padding,
        output_padding,
        groups,
        dilation,
    )


def conv_transpose3d(
    input: Tensor,
    weight: Tensor,
    bias: Tensor | None = None,
    stride=1,
    padding=0,
    output_padding=0,
    groups: int = 1,
    dilation=1,
) -> Tensor:
    """3-d transposed convolution, as torch.nn.functional.conv_transpose3d."""
    return _conv_t(
        3,
        "conv_transpose3d",
        input,
        weight,
        bias,
        stride,
        padding,
        output_padding,
        groups,
        dilation,
    )
