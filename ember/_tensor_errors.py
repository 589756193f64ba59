"""torch's messages for broadcasting, device, dim and missing-kernel mistakes (the ops, the
Tensor and the autograd nodes raise them)."""

from __future__ import annotations

from .device import device_of
from .dtypes import scalar_type_name


class OutOfMemoryError(RuntimeError):
    """torch.OutOfMemoryError (also ``torch.cuda.OutOfMemoryError``): a device ran out of
    memory. CuPy's own out-of-memory error is a MemoryError, which ember lets through."""


class AcceleratorError(RuntimeError):
    """torch.AcceleratorError: an accelerator (GPU) reported an error."""


def broadcast_error(sa, sb) -> RuntimeError:
    """torch's message for shapes that do not broadcast."""
    sa, sb = tuple(sa), tuple(sb)
    n = max(len(sa), len(sb))
    pa = (1,) * (n - len(sa)) + sa
    pb = (1,) * (n - len(sb)) + sb
    for i in range(n - 1, -1, -1):
        if pa[i] != pb[i] and pa[i] != 1 and pb[i] != 1:
            return RuntimeError(
                f"The size of tensor a ({pa[i]}) must match the size of tensor b ({pb[i]}) at "
                f"non-singleton dimension {i}"
            )
    return RuntimeError(f"operation failed for shapes {list(sa)} and {list(sb)}")


def device_error(a, b) -> Exception:
    da, db = device_of(a), device_of(b)
    if da != db:
        if da.type == "cpu":  # torch names the accelerator first: "cuda:0 and cpu"
            da, db = db, da
        return RuntimeError(
            f"Expected all tensors to be on the same device, but found at least two devices, "
            f"{da} and {db}!"
        )
    return TypeError(f"unsupported operand types: {type(a).__name__} and {type(b).__name__}")


def check_dim(dim: int, ndim: int) -> int:
    """Normalise a (possibly negative) dim; IndexError with torch's message when out of range."""
    lo, hi = (-1, 0) if ndim == 0 else (-ndim, ndim - 1)
    if dim < lo or dim > hi:
        raise IndexError(
            f"Dimension out of range (expected to be in range of [{lo}, {hi}], but got {dim})"
        )
    return dim + ndim if dim < 0 else (0 if ndim == 0 else dim)


def not_implemented_for(kernel: str, np_dtype) -> NotImplementedError:
    """torch's error for a kernel that has no loop for a dtype (float8 arithmetic):
    ``"add_stub" not implemented for 'Float8_e4m3fn'``. ``np_dtype`` may also be torch's
    ScalarType name itself ('ComplexHalf', which has no NumPy dtype)."""
    name = np_dtype if isinstance(np_dtype, str) else scalar_type_name(np_dtype.name)
    return NotImplementedError(f"\"{kernel}\" not implemented for '{name}'")
