"""DLPack exchange (ember.from_dlpack / to_dlpack, Tensor.__dlpack__ / __dlpack_device__)
against torch's: round trips between ember, NumPy and torch that share memory (a write on one
side shows on the other), strides and dtypes kept, and torch's errors."""

from __future__ import annotations

import numpy as np
import pytest

import ember
from tests._support.torch_ref import torch

_DTYPES = ["float32", "float64", "int64", "int32", "uint8", "bool", "complex64", "float16"]


def _arr(dtype):
    return (np.arange(12) % 5).reshape(3, 4).astype(dtype)


def _shares(a, b) -> bool:
    """Whether writes through ``a`` show in ``b`` (both NumPy views)."""
    before = b.copy()
    a.reshape(-1)[5] = not a.reshape(-1)[5] if a.dtype == bool else a.reshape(-1)[5] + 1
    return not np.array_equal(before, b)


@pytest.mark.parametrize("dtype", _DTYPES)
def test_from_dlpack_shares_memory_as_torch(dtype):
    """From a NumPy array, a torch tensor, its legacy capsule and an ember tensor: the same
    values, dtype, shape and strides as torch's result, over the same memory."""
    for make in (
        lambda: _arr(dtype),
        lambda: torch.from_numpy(_arr(dtype)),
        lambda: torch.to_dlpack(torch.from_numpy(_arr(dtype))),
        lambda: ember.from_numpy(_arr(dtype)),
    ):
        src_e, src_t = make(), make()
        e = ember.from_dlpack(src_e)
        t = torch.from_dlpack(src_t if not isinstance(src_t, ember.Tensor) else src_t.numpy())
        assert str(e.dtype) == str(t.dtype) and e.shape == t.shape and e.stride() == t.stride()
        np.testing.assert_array_equal(e.numpy(), t.numpy())
        if not type(src_e).__name__ == "PyCapsule":
            src = src_e if isinstance(src_e, np.ndarray) else src_e.numpy()
            assert _shares(e.numpy(), src)


def test_to_dlpack_capsule_taken_by_ember_numpy_and_torch():
    """ember.to_dlpack's capsule, read by ember.from_dlpack and torch.from_dlpack, aliases the
    tensor (writes both ways, a transposed view's strides kept); Tensor.__dlpack__ serves
    np.from_dlpack and torch.from_dlpack alike."""
    x = ember.tensor(np.arange(12.0).reshape(3, 4)).t()
    for back in (ember.from_dlpack, torch.from_dlpack):
        y = back(ember.to_dlpack(x))
        assert tuple(y.shape) == (4, 3) and tuple(y.stride()) == (1, 4)
        y[1, 2] = -7.0
        assert float(x[1, 2]) == -7.0
    for back in (np.from_dlpack, torch.from_dlpack):
        z = back(x)
        z[0, 1] = 99.0
        assert float(x[0, 1]) == 99.0
    assert (
        ember.to_dlpack(x).__class__.__name__ == torch.to_dlpack(torch.ones(1)).__class__.__name__
    )
    assert x.__dlpack_device__() == tuple(torch.ones(1).__dlpack_device__()) == (1, 0)
    assert "dltensor" in repr(ember.to_dlpack(x)) and "dltensor" in repr(x.__dlpack__())
    assert "dltensor_versioned" in repr(x.__dlpack__(max_version=(1, 0)))


def test_from_dlpack_copy_and_device():
    a = np.arange(4.0)
    for lib in (ember, torch):
        c = lib.from_dlpack(a.copy(), copy=True)
        c[0] = 5.0
        shared = lib.from_dlpack(a, device="cpu", copy=False)
        assert str(shared.device) == "cpu"
    b = a.copy()
    ember.from_dlpack(b, copy=True)[0] = 5.0
    assert b[0] == 0.0
    ember.from_dlpack(b, copy=False)[0] = 5.0
    assert b[0] == 5.0


_ERRORS = [  # f(lib), exception type, torch's message
    (lambda L: L.from_dlpack(3), RuntimeError, "from_dlpack received an invalid capsule"),
    (lambda L: L.from_dlpack([1, 2]), RuntimeError, "from_dlpack received an invalid capsule"),
    (lambda L: L.ones(2, requires_grad=True).__dlpack__(), BufferError,
     "Can't export tensors that require gradient, use tensor.detach()"),
    (lambda L: L.from_dlpack(L.ones(2, requires_grad=True)), BufferError,
     "Can't export tensors that require gradient, use tensor.detach()"),
    (lambda L: L.to_dlpack(np.ones(2)), TypeError,
     "_to_dlpack(): argument 'data' (position 1) must be Tensor, not numpy.ndarray"),
]  # fmt: skip


@pytest.mark.parametrize("case", range(len(_ERRORS)))
def test_dlpack_errors_as_torch(case):
    bad, kind, msg = _ERRORS[case]
    for lib in (ember, torch):
        with pytest.raises(kind) as info:
            bad(lib)
        assert str(info.value).startswith(msg)


def test_capsule_consumed_once_and_requires_grad_export_through_to_dlpack():
    """A capsule is read once (torch's error the second time); to_dlpack, unlike __dlpack__,
    exports a tensor that requires grad, in both."""
    for lib in (ember, torch):
        c = lib.to_dlpack(lib.ones(3, requires_grad=True))
        assert lib.from_dlpack(c).tolist() == [1.0, 1.0, 1.0]
        with pytest.raises(RuntimeError, match="DLTensor capsules can be consumed only once"):
            lib.from_dlpack(c)
    assert ember.utils.dlpack.to_dlpack is ember.to_dlpack
    assert ember.utils.dlpack.from_dlpack is ember.from_dlpack
