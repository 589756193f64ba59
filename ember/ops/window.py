"""Window functions: torch's hann/hamming/blackman/bartlett/kaiser_window and the
torch.signal.windows family (bartlett, blackman, cosine, exponential, gaussian, general_cosine,
general_hamming, hamming, hann, kaiser, nuttall). Each is computed in float64 and rounded once to
the requested dtype; a periodic window of length M is the symmetric one of length M + 1 without
its last point, as in torch.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from .. import dtypes
from ..tensor import Tensor, _wrap
from . import _bessel_math

__all__ = [
    "hann_window",
    "hamming_window",
    "blackman_window",
    "bartlett_window",
    "kaiser_window",
]


def _make(arr: np.ndarray, dtype, device, requires_grad: bool, name: str) -> Tensor:
    dt = dtypes.get_default_dtype() if dtype is None else dtypes.to_dtype(dtype)
    if not dt.is_floating_point:
        pretty = dtypes.scalar_type_name(dt.np.name)
        raise RuntimeError(f"{name} expects floating point dtypes, got: {pretty}")
    t = _wrap(arr.astype(np.float64)).to(dt)
    if device is not None:
        t = t.to(device)
    if requires_grad:
        t.requires_grad_(True)
    return t


def _check_length(m: int, name: str) -> None:
    if m < 0:
        raise RuntimeError(f"{name} requires non-negative window_length, got window_length={m}")


def _cosine_sum(m: int, periodic: bool, coefs: Sequence[float]) -> np.ndarray:
    """sum_k (-1)^k a_k cos(2 pi k n / N), N = m (periodic) or m - 1 (symmetric)."""
    if m == 0:
        return np.zeros(0)
    if m == 1:
        return np.ones(1)
    n_den = m if periodic else m - 1
    k = np.arange(m, dtype=np.float64)
    out = np.zeros(m)
    for j, a in enumerate(coefs):
        out += (-1) ** j * a * np.cos(2 * math.pi * j * k / n_den)
    return out


def hann_window(
    window_length: int,
    periodic: bool = True,
    *,
    dtype=None,
    layout=None,
    device=None,
    pin_memory: bool = False,
    requires_grad: bool = False,
) -> Tensor:
    """The Hann window, as torch.hann_window."""
    _check_length(window_length, "hann_window")
    arr = _cosine_sum(window_length, periodic, (0.5, 0.5))
    return _make(arr, dtype, device, requires_grad, "hann_window")


def hamming_window(
    window_length: int,
    periodic: bool = True,
    alpha: float = 0.54,
    beta: float = 0.46,
    *,
    dtype=None,
    layout=None,
    device=None,
    pin_memory: bool = False,
    requires_grad: bool = False,
) -> Tensor:
    """The Hamming window alpha - beta cos(2 pi n / N), as torch.hamming_window."""
    _check_length(window_length, "hamming_window")
    arr = _cosine_sum(window_length, periodic, (alpha, beta))
    return _make(arr, dtype, device, requires_grad, "hamming_window")


def blackman_window(
    window_length: int,
    periodic: bool = True,
    *,
    dtype=None,
    layout=None,
    device=None,
    pin_memory: bool = False,
    requires_grad: bool = False,
) -> Tensor:
    """The Blackman window, as torch.blackman_window."""
    _check_length(window_length, "blackman_window")
    arr = _cosine_sum(window_length, periodic, (0.42, 0.5, 0.08))
    return _make(arr, dtype, device, requires_grad, "blackman_window")


def bartlett_window(
    window_length: int,
    periodic: bool = True,
    *,
    dtype=None,
    layout=None,
    device=None,
    pin_memory: bool = False,
    requires_grad: bool = False,
) -> Tensor:
    """The triangular Bartlett window, as torch.bartlett_window."""
    _check_length(window_length, "bartlett_window")
    m = window_length
    if m <= 1:
        arr = np.ones(m)
    else:
        n_den = m if periodic else m - 1
        k = np.arange(m, dtype=np.float64)
        arr = 1.0 - np.abs(2.0 * k / n_den - 1.0)
    return _make(arr, dtype, device, requires_grad, "bartlett_window")


def kaiser_window(
    window_length: int,
    periodic: bool = True,
    beta: float = 12.0,
    *,
    dtype=None,
    layout=None,
    device=None,
    pin_memory: bool = False,
    requires_grad: bool = False,
) -> Tensor:
    """The Kaiser window I0(beta sqrt(1 - (2n/N - 1)^2)) / I0(beta), as torch.kaiser_window."""
    _check_length(window_length, "kaiser_window")
    m = window_length
    if m <= 1:
        arr = np.ones(m)
    else:
        n_den = m if periodic else m - 1
        k = np.arange(m, dtype=np.float64)
        r = 2.0 * k / n_den - 1.0
        arg = beta * np.sqrt(np.maximum(1.0 - r * r, 0.0))
        arr = _bessel_math.i0(arg) / _bessel_math.i0(np.array([float(beta)]))[0]
    return _make(arr, dtype, device, requires_grad, "kaiser_window")


# -- torch.signal.windows ----------------------------------------------------------------------


def _signal_make(arr, dtype, device, requires_grad, name) -> Tensor:
    dt = dtypes.get_default_dtype() if dtype is None else dtypes.to_dtype(dtype)
    if dt.np not in (np.float32, np.float64):
        raise ValueError(f"{name} expects float32 or float64 dtypes, got: torch.{dt.np.name}")
    return _make(arr, dt, device, requires_grad, name)


def _signal_check(m: int, name: str) -> None:
    if m < 0:
        raise ValueError(f"{name} requires non-negative window length, got M={m}")


def _sym_or_periodic(m: int, sym: bool, build) -> np.ndarray:
    """build(length) gives the symmetric window; a periodic one drops the last of m + 1."""
    if m == 0:
        return np.zeros(0)
    if m == 1:
        return np.ones(1)
    return build(m) if sym else build(m + 1)[:-1]


def signal_general_cosine(
    M: int, *, a, sym: bool = True, dtype=None, layout=None, device=None, requires_grad=False
) -> Tensor:
    """sum_k (-1)^k a_k cos(2 pi k n / (M - 1)), as torch.signal.windows.general_cosine."""
    _signal_check(M, "general_cosine")
    coefs = [float(c) for c in a]
    arr = _sym_or_periodic(M, sym, lambda n: _cosine_sum(n, False, coefs))
    return _signal_make(arr, dtype, device, requires_grad, "general_cosine")


def signal_general_hamming(
    M: int,
    *,
    alpha: float = 0.54,
    sym: bool = True,
    dtype=None,
    layout=None,
    device=None,
    requires_grad=False,
) -> Tensor:
    """The generalised Hamming window alpha - (1 - alpha) cos(...)."""
    return signal_general_cosine(
        M,
        a=[alpha, 1.0 - alpha],
        sym=sym,
        dtype=dtype,
        device=device,
        requires_grad=requires_grad,
    )


def signal_hann(
    M: int, *, sym: bool = True, dtype=None, layout=None, device=None, requires_grad=False
) -> Tensor:
    """The Hann window, as torch.signal.windows.hann."""
    return signal_general_hamming(
        M, alpha=0.5, sym=sym, dtype=dtype, device=device, requires_grad=requires_grad
    )


def signal_hamming(
    M: int, *, sym: bool = True, dtype=None, layout=None, device=None, requires_grad=False
) -> Tensor:
    """The Hamming window, as torch.signal.windows.hamming."""
    return signal_general_hamming(
        M, sym=sym, dtype=dtype, device=device, requires_grad=requires_grad
    )


def signal_blackman(
    M: int, *, sym: bool = True, dtype=None, layout=None, device=None, requires_grad=False
) -> Tensor:
    """The Blackman window, as torch.signal.windows.blackman."""
    return signal_general_cosine(
        M, a=[0.42, 0.5, 0.08], sym=sym, dtype=dtype, device=device, requires_grad=requires_grad
    )


def signal_nuttall(
    M: int, *, sym: bool = True, dtype=None, layout=None, device=None, requires_grad=False
) -> Tensor:
    """The minimum 4-term Blackman-Harris (Nuttall) window, as torch.signal.windows.nuttall."""
    return signal_general_cosine(
        M,
        a=[0.3635819, 0.4891775, 0.1365995, 0.0106411],
        sym=sym,
        dtype=dtype,
        device=device,
        requires_grad=requires_grad,
    )


def signal_bartlett(
    M: int, *, sym: bool = True, dtype=None, layout=None, device=None, requires_grad=False
) -> Tensor:
    """The triangular window reaching 0 at both ends, as torch.signal.windows.bartlett."""
    _signal_check(M, "bartlett")

    def build(n):
        k = np.arange(n, dtype=np.float64)
        return 1.0 - np.abs(2.0 * k / (n - 1) - 1.0)

    return _signal_make(_sym_or_periodic(M, sym, build), dtype, device, requires_grad, "bartlett")


def signal_cosine(
    M: int, *, sym: bool = True, dtype=None, layout=None, device=None, requires_grad=False
) -> Tensor:
    """sin(pi (n + 1/2) / M), as torch.signal.windows.cosine."""
    _signal_check(M, "cosine")

    def build(n):
        return np.sin(math.pi * (np.arange(n, dtype=np.float64) + 0.5) / n)

    return _signal_make(_sym_or_periodic(M, sym, build), dtype, device, requires_grad, "cosine")


def signal_exponential(
    M: int,
    *,
    center: float | None = None,
    tau: float = 1.0,
    sym: bool = True,
    dtype=None,
    layout=None,
    device=None,
    requires_grad=False,
) -> Tensor:
    """exp(-|n - center| / tau), as torch.signal.windows.exponential."""
    _signal_check(M, "exponential")
    if sym and center is not None:
        raise ValueError("Center must be None for symmetric windows")
    if tau <= 0:
        raise ValueError(f"Tau must be positive, got: {tau} instead.")
    if M <= 1:
        arr = np.ones(M)
    else:
        c = (M - 1) / 2 if sym else (M / 2 if center is None else center)
        arr = np.exp(-np.abs(np.arange(M, dtype=np.float64) - c) / tau)
    return _signal_make(arr, dtype, device, requires_grad, "exponential")


def signal_gaussian(
    M: int,
    *,
    std: float = 1.0,
    sym: bool = True,
    dtype=None,
    layout=None,
    device=None,
    requires_grad=False,
) -> Tensor:
    """exp(-(n - (M - 1)/2)^2 / (2 std^2)), as torch.signal.windows.gaussian."""
    _signal_check(M, "gaussian")
    if std <= 0:
        raise ValueError(f"Standard deviation must be positive, got: {std} instead.")

    def build(n):
        k = np.arange(n, dtype=np.float64) - (n - 1) / 2
        return np.exp(-(k * k) / (2.0 * std * std))

    return _signal_make(_sym_or_periodic(M, sym, build), dtype, device, requires_grad, "gaussian")


def signal_kaiser(
    M: int,
    *,
    beta: float = 12.0,
    sym: bool = True,
    dtype=None,
    layout=None,
    device=None,
    requires_grad=False,
) -> Tensor:
    """The Kaiser window, as torch.signal.windows.kaiser."""
    _signal_check(M, "kaiser")
    if beta < 0:
        raise ValueError(f"beta must be non-negative, got: {beta} instead.")

    def build(n):
        k = np.arange(n, dtype=np.float64)
        r = 2.0 * k / (n - 1) - 1.0
        arg = beta * np.sqrt(np.maximum(1.0 - r * r, 0.0))
        return _bessel_math.i0(arg) / _bessel_math.i0(np.array([float(beta)]))[0]

    return _signal_make(_sym_or_periodic(M, sym, build), dtype, device, requires_grad, "kaiser")
