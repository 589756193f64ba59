"""torch._utils: the tensor rebuild functions that checkpoints name (the loader's own, from
``ember._serialization.storage``) and the small helpers that training code imports from it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from . import cuda
from ._serialization.storage import rebuild_parameter as _rebuild_parameter
from ._serialization.storage import rebuild_parameter_with_state as _rebuild_parameter_with_state
from ._serialization.storage import rebuild_tensor as _rebuild_tensor
from ._serialization.storage import rebuild_tensor_v2 as _rebuild_tensor_v2
from ._serialization.storage import rebuild_tensor_v3 as _rebuild_tensor_v3
from ._torch_alias import module_getattr as _module_getattr
from .device import device as _device
from .nn.utils.convert_parameters import parameters_to_vector
from .tensor import Tensor

__all__ = [
    "_flatten_dense_tensors",
    "_get_device_index",
    "_rebuild_parameter",
    "_rebuild_parameter_with_state",
    "_rebuild_tensor",
    "_rebuild_tensor_v2",
    "_rebuild_tensor_v3",
    "_unflatten_dense_tensors",
]


def _get_device_index(device: Any, optional: bool = False, allow_cpu: bool = False) -> int:
    """The device index of an int, a device string or a ``device``, as torch: a CPU device is
    -1 when ``allow_cpu`` (else ValueError); no index is the current CUDA device when
    ``optional`` (else ValueError)."""
    if isinstance(device, str):
        device = _device(device)
    if isinstance(device, _device):
        if device.type == "cpu":
            if not allow_cpu:
                raise ValueError(f"Expected a non cpu device, but got: {device}")
            return -1
        index = device.index
    elif isinstance(device, int) and not isinstance(device, bool):
        index = device
    else:
        index = None
    if index is None:
        if not optional:
            raise ValueError(
                f"Expected a torch.device with a specified index or an integer, but got:{device}"
            )
        return cuda.current_device()
    return index


def _flatten_dense_tensors(tensors: Sequence[Tensor]) -> Tensor:
    """The tensors flattened and concatenated into one 1-D tensor (always a copy; torch returns
    a view for a single contiguous tensor)."""
    return parameters_to_vector(tensors)


def _unflatten_dense_tensors(flat: Tensor, tensors: Sequence[Tensor]) -> tuple[Tensor, ...]:
    """Views of ``flat`` shaped as ``tensors``, in order: the inverse of
    ``_flatten_dense_tensors``."""
    out = []
    offset = 0
    for t in tensors:
        n = t.numel()
        out.append(flat.narrow(0, offset, n).view_as(t))
        offset += n
    return tuple(out)


__getattr__ = _module_getattr(__name__)  # unknown names: a clear not-implemented error
