"""torch.testing (assert_close, make_tensor, assert_allclose) against torch: the same verdicts,
the same messages, the same random tensors for the same seed."""

from __future__ import annotations

import math
import warnings

import pytest

import ember
from tests._support.torch_ref import torch

CASES = [
    lambda m: ((m.tensor([1.0, 2.0, 3.0]), m.tensor([1.0, 2.1, 3.0])), {}),
    lambda m: ((m.tensor([1.0, 2.0, 3.0]), m.tensor([1.0, 2.1, 3.5])), {}),
    lambda m: ((m.tensor([1.0, 2.0]), m.tensor([1.0, 2.0], dtype=m.float64)), {}),
    lambda m: ((m.tensor([1.0, 2.0]), m.tensor([1.0, 2.0, 3.0])), {}),
    lambda m: ((m.tensor([1, 2]), m.tensor([1, 3])), {}),
    lambda m: ((m.tensor(1.0), m.tensor(1.5)), {}),
    lambda m: ((1.0, 1.5), {}),
    lambda m: ((1, 2), {}),
    lambda m: (([1.0, m.tensor(2.0)], [1.0, m.tensor(2.0)]), {}),
    lambda m: (({"a": m.tensor(1.0)}, {"a": m.tensor(2.0)}), {}),
    lambda m: (([m.tensor([1.0]), m.tensor([2.0])], [m.tensor([1.0]), m.tensor([2.5])]), {}),
    lambda m: ((m.tensor([math.nan]), m.tensor([math.nan])), {}),
    lambda m: ((m.tensor([math.nan]), m.tensor([math.nan])), {"equal_nan": True}),
    lambda m: ((m.tensor([1.0, math.inf]), m.tensor([1.0, math.inf])), {}),
    lambda m: ((m.tensor([1.0]), m.tensor([1.0])), {"rtol": 1e-3}),
    lambda m: ((m.tensor([1.0, 2.0]), m.tensor([1.0, 2.0001])), {"msg": "custom"}),
    lambda m: ((m.tensor([True, False]), m.tensor([True, True])), {}),
    lambda m: ((m.tensor([[1.0, 2.0], [3.0, 4.0]]), m.tensor([[1.0, 2.0], [3.0, 4.1]])), {}),
    lambda m: ((m.tensor([1.0, 2.0]), m.tensor([1, 2])), {"check_dtype": False}),
    lambda m: ((m.tensor([1 + 1j]), m.tensor([1 + 2j])), {}),
    lambda m: ((m.tensor([0.0, 0.0]), m.tensor([0.0, 1e-3])), {}),
    lambda m: ((m.tensor([0.0, 0.0]), m.tensor([0.0, 1e-3])), {"rtol": 0.0, "atol": 1e-2}),
    lambda m: (((1, 2), (1, 2, 3)), {}),
    lambda m: ((m.tensor([1.0], dtype=m.float16), m.tensor([1.0009765625], dtype=m.float16)), {}),
    lambda m: ((m.ones(2, 3).t(), m.ones(3, 2)), {"check_stride": True}),
    lambda m: ((m.ones(2, 3).t(), m.ones(3, 2)), {}),
]


def _outcome(m, case):
    args, kw = case(m)
    try:
        m.testing.assert_close(*args, **kw)
    except Exception as e:  # noqa: BLE001 - the outcome compared is the error itself
        return type(e).__name__, str(e)
    return "ok", ""


@pytest.mark.parametrize("case", CASES)
def test_assert_close_as_torch(case):
    assert _outcome(ember, case) == _outcome(torch, case)


def test_assert_close_argument_errors_and_callable_msg():
    for m in (ember, torch):
        with pytest.raises(ValueError, match="but got no atol"):
            m.testing.assert_close(m.ones(1), m.ones(1), rtol=1e-3)
        with pytest.raises(ValueError, match="but got no rtol"):
            m.testing.assert_close(m.ones(1), m.ones(1), atol=1e-3)
        with pytest.raises(AssertionError, match="^XTensor-lik"):
            m.testing.assert_close(m.tensor([1, 2]), m.tensor([1, 3]), msg=lambda s: "X" + s[:10])
        with pytest.raises(TypeError, match="No comparison pair was able to handle"):
            m.testing.assert_close(m.ones(1), "a")


def test_assert_close_takes_numpy_arrays_and_devices():
    import numpy as np

    ember.testing.assert_close(np.arange(3.0), np.arange(3.0))
    ember.testing.assert_close(ember.arange(3.0), ember.arange(3.0).numpy(), check_dtype=False)
    with pytest.raises(AssertionError, match="Greatest absolute difference: 1.0"):
        ember.testing.assert_close(np.arange(3.0), np.arange(3.0) + [0, 0, 1])


def test_assert_allclose_is_deprecated_and_lenient_about_dtypes():
    for m in (ember, torch):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            m.testing.assert_allclose(m.tensor([1.0, math.nan]), [1.0, math.nan])
            with pytest.raises(AssertionError):
                m.testing.assert_allclose(m.tensor([1.0]), [1.1])


@pytest.mark.parametrize(
    "kw",
    [
        {"dtype": "float32", "low": -1, "high": 1},
        {"dtype": "float64"},
        {"dtype": "int64"},
        {"dtype": "int8"},
        {"dtype": "uint8"},
        {"dtype": "bool"},
        {"dtype": "complex64"},
        {"dtype": "float16", "low": 0, "high": 4},
        {"dtype": "float32", "noncontiguous": True, "exclude_zero": True},
        {"dtype": "int32", "low": -3, "high": 3, "exclude_zero": True},
    ],
)
def test_make_tensor_draws_torchs_numbers(kw):
    out = []
    for m in (ember, torch):
        m.manual_seed(7)
        args = dict(kw, dtype=getattr(m, kw["dtype"]))
        t = m.testing.make_tensor((3, 4), device="cpu", **args)
        out.append((t.tolist(), tuple(t.shape), t.stride(), str(t.dtype)))
    assert out[0] == out[1]


def test_make_tensor_errors_and_grad():
    for m in (ember, torch):
        with pytest.raises(ValueError, match="requires_grad=True. is not supported"):
            m.testing.make_tensor(3, dtype=m.int64, device="cpu", requires_grad=True)
        with pytest.raises(ValueError, match="`low` must be less than `high`"):
            m.testing.make_tensor(3, dtype=m.float32, device="cpu", low=3, high=1)
        with pytest.raises(ValueError, match="cannot be NaN"):
            m.testing.make_tensor(3, dtype=m.float32, device="cpu", low=math.nan)
        t = m.testing.make_tensor(2, 2, dtype=m.float64, device="cpu", requires_grad=True)
        assert t.requires_grad and t.is_leaf
