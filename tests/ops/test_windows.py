"""Window functions (hann/hamming/blackman/bartlett/kaiser_window) and torch.signal.windows
against torch: lengths 0, 1, 2 and more, periodic and symmetric, float32/float64, errors."""

from __future__ import annotations

import numpy as np
import pytest

import ember
from tests._support.torch_ref import assert_same, torch

TOP = ["hann_window", "hamming_window", "blackman_window", "bartlett_window", "kaiser_window"]


@pytest.mark.parametrize("name", TOP)
def test_window_functions_match_torch(name):
    for m in (0, 1, 2, 5, 8, 33):
        for periodic in (True, False):
            for dt in ("float32", "float64"):
                t = getattr(torch, name)(m, periodic, dtype=getattr(torch, dt))
                e = getattr(ember, name)(m, periodic, dtype=getattr(ember, dt))
                tol = 1e-6 if dt == "float32" else 1e-13
                assert_same(e, t, rtol=tol, atol=tol)
    assert getattr(ember, name)(4).dtype is ember.float32


def test_window_parameters_and_errors():
    assert_same(ember.hamming_window(9, False, 0.6, 0.3), torch.hamming_window(9, False, 0.6, 0.3))
    assert_same(ember.kaiser_window(9, True, 5.0), torch.kaiser_window(9, True, 5.0), rtol=1e-6)
    w = ember.hann_window(4, requires_grad=True)
    assert w.requires_grad and w.is_leaf
    with pytest.raises(RuntimeError, match="requires non-negative window_length"):
        ember.hann_window(-1)
    with pytest.raises(RuntimeError, match="expects floating point dtypes"):
        ember.hann_window(4, dtype=ember.int64)


SIGNAL = ["bartlett", "blackman", "cosine", "exponential", "gaussian", "general_cosine"]
SIGNAL += ["general_hamming", "hamming", "hann", "kaiser", "nuttall"]


@pytest.mark.parametrize("name", SIGNAL)
def test_signal_windows_match_torch(name):
    kw = {"a": [0.5, 0.3, 0.2]} if name == "general_cosine" else {}
    for m in (0, 1, 2, 5, 8):
        for sym in (True, False):
            for dt in ("float32", "float64"):
                t = getattr(torch.signal.windows, name)(m, sym=sym, dtype=getattr(torch, dt), **kw)
                e = getattr(ember.signal.windows, name)(m, sym=sym, dtype=getattr(ember, dt), **kw)
                tol = 1e-6 if dt == "float32" else 1e-13
                assert_same(e, t, rtol=tol, atol=tol)


def test_signal_window_options_and_errors():
    W, T = ember.signal.windows, torch.signal.windows
    assert_same(
        W.exponential(7, center=2.0, tau=3.0, sym=False),
        T.exponential(7, center=2.0, tau=3.0, sym=False),
    )
    assert_same(W.gaussian(9, std=2.5), T.gaussian(9, std=2.5))
    assert_same(W.kaiser(9, beta=4.0, sym=False), T.kaiser(9, beta=4.0, sym=False), rtol=1e-6)
    assert_same(W.general_hamming(6, alpha=0.6), T.general_hamming(6, alpha=0.6))
    for lib in (W, T):
        with pytest.raises(ValueError, match="requires non-negative window length"):
            lib.hann(-1)
        with pytest.raises(ValueError, match="Center must be None for symmetric windows"):
            lib.exponential(3, center=1.0)
        with pytest.raises(ValueError, match="Standard deviation must be positive"):
            lib.gaussian(3, std=0)
        with pytest.raises(ValueError, match="beta must be non-negative"):
            lib.kaiser(3, beta=-1)
    assert set(T.__all__) <= set(dir(W))
    np.testing.assert_allclose(W.hann(5).numpy(), np.hanning(5), atol=1e-7)
