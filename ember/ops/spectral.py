"""Short-time Fourier transforms: torch.stft and torch.istft, composed from differentiable ops
(framing by unfold, the window product, rfft/fft, overlap-add by index_add), so gradients flow
through them as in torch."""

from __future__ import annotations

import numpy as np

from .._backend.xp import move_like, xp_of
from ..tensor import Tensor, _wrap
from . import fft as _fft
from .complex import view_as_complex, view_as_real
from .join import cat
from .rearrange import flip

__all__ = ["stft", "istft"]


def _window(window, win_length: int, n_fft: int, like: Tensor) -> Tensor:
    """The window zero-padded (centred) to n_fft, as torch does for win_length < n_fft."""
    if window is None:
        window = _wrap(xp_of(like._data).ones(win_length, dtype=like._data.real.dtype))
    if window._data.shape != (win_length,):
        raise RuntimeError(
            f"stft: expected a 1D window tensor of size equal to win_length={win_length}, but "
            f"got window with size {list(window._data.shape)}"
        )
    if win_length < n_fft:
        left = (n_fft - win_length) // 2
        xp = xp_of(window._data)
        z = _wrap(xp.zeros(left, dtype=window._data.dtype))
        z2 = _wrap(xp.zeros(n_fft - win_length - left, dtype=window._data.dtype))
        window = cat([z, window, z2])
    return window


def _reflect(x: Tensor, p: int) -> Tensor:
    if p == 0:
        return x
    left = flip(x[..., 1 : p + 1], (-1,))
    right = flip(x[..., -p - 1 : -1], (-1,))
    return cat([left, x, right], -1)


def stft(
    input: Tensor,
    n_fft: int,
    hop_length: int | None = None,
    win_length: int | None = None,
    window: Tensor | None = None,
    center: bool = True,
    pad_mode: str = "reflect",
    normalized: bool = False,
    onesided: bool | None = None,
    return_complex: bool | None = None,
    align_to_window: bool | None = None,
) -> Tensor:
    """Short-time Fourier transform of a 1-D or batched 2-D signal, as torch.stft: shape
    (batch, n_fft // 2 + 1 or n_fft, frames)."""
    if (
        return_complex is None
        and not input.is_complex()
        and (window is None or not window.is_complex())
    ):
        raise RuntimeError(
            "stft requires the return_complex parameter be given for real inputs, and will "
            "further require that return_complex=True in a future PyTorch release."
        )
    hop = n_fft // 4 if hop_length is None else hop_length
    win_length = n_fft if win_length is None else win_length
    if not 0 < win_length <= n_fft:
        raise RuntimeError(
            f"stft: expected 0 < win_length <= n_fft, but got win_length={win_length}"
        )
    if hop <= 0:
        raise RuntimeError(f"stft: expected hop_length > 0, but got hop_length={hop}")
    batched = input._data.ndim == 2
    x = input if batched else input.unsqueeze(0)
    if center:
        p = n_fft // 2
        if pad_mode == "reflect":
            x = _reflect(x, p)
        elif pad_mode == "constant":
            z = _wrap(xp_of(x._data).zeros(x._data.shape[:-1] + (p,), dtype=x._data.dtype))
            x = cat([z, x, z], -1)
        else:
            raise NotImplementedError("ember's stft supports pad_mode 'reflect' or 'constant'")
    length = x._data.shape[-1]
    if not 0 < n_fft <= length:
        raise RuntimeError(f"stft: expected 0 < n_fft < {length}, but got n_fft={n_fft}")
    frames = x.unfold(-1, n_fft, hop) * _window(window, win_length, n_fft, x)
    if onesided is None:
        onesided = not (input.is_complex() or (window is not None and window.is_complex()))
    norm = "ortho" if normalized else "backward"
    spec = _fft.rfft(frames, dim=-1, norm=norm) if onesided else _fft.fft(frames, dim=-1, norm=norm)
    spec = spec.transpose(-1, -2)
    if not batched:
        spec = spec.squeeze(0)
    return spec if return_complex else view_as_real(spec)


def istft(
    input: Tensor,
    n_fft: int,
    hop_length: int | None = None,
    win_length: int | None = None,
    window: Tensor | None = None,
    center: bool = True,
    normalized: bool = False,
    onesided: bool | None = None,
    length: int | None = None,
    return_complex: bool = False,
) -> Tensor:
    """Inverse short-time Fourier transform (windowed overlap-add), as torch.istft."""
    if not input.is_complex():
        input = view_as_complex(input)
    hop = n_fft // 4 if hop_length is None else hop_length
    win_length = n_fft if win_length is None else win_length
    batched = input._data.ndim == 3
    spec = input if batched else input.unsqueeze(0)
    n_frames = spec._data.shape[-1]
    if onesided is None:
        onesided = spec._data.shape[-2] != n_fft
    bins = spec._data.shape[-2]
    if bins != (n_fft // 2 + 1 if onesided else n_fft):
        want = "n_fft / 2 + 1 when onesided=True" if onesided else "n_fft when onesided=False"
        raise RuntimeError(
            "istft: expected the frequency dimension (3rd to the last) of the input tensor to "
            f"match {want}, but got {bins}"
        )
    norm = "ortho" if normalized else "backward"
    cols = spec.transpose(-1, -2)
    if return_complex:
        if onesided:
            raise RuntimeError("Cannot have onesided output if window or input is complex")
        frames = _fft.ifft(cols, n=n_fft, dim=-1, norm=norm)
    else:
        if window is not None and window.is_complex():
            raise RuntimeError("Complex windows are incompatible with return_complex=False")
        if not onesided:  # as torch: a real signal's half of the spectrum, the rest ignored
            cols = cols[..., : n_fft // 2 + 1]
        frames = _fft.irfft(cols, n=n_fft, dim=-1, norm=norm)
    w = _window(window, win_length, n_fft, frames)
    frames = frames * w
    out_len = n_fft + hop * (n_frames - 1)
    idx = (np.arange(n_frames)[:, None] * hop + np.arange(n_fft)[None, :]).reshape(-1)
    b = frames._data.shape[0]
    xp = xp_of(frames._data)
    zeros = _wrap(xp.zeros((b, out_len), dtype=frames._data.dtype))
    y = zeros.index_add(1, _wrap(move_like(idx, frames._data)), frames.reshape(b, -1))
    # the window's overlap-add envelope, on the host (its minimum is checked here anyway)
    wh = w.detach()._host()
    wsq = wh * wh  # complex for a complex window, as torch's window.pow(2)
    env = np.zeros(out_len, np.complex128 if wsq.dtype.kind == "c" else np.float64)
    np.add.at(env, idx, np.tile(wsq, n_frames))
    start = n_fft // 2 if center else 0
    if length is not None:
        end = start + length
    else:
        end = out_len - (n_fft // 2 if center else 0)
    env_part = env[start : min(end, out_len)]
    low = np.abs(env_part).min() if env_part.size else np.inf
    if low < 1e-11:
        raise RuntimeError(f"istft(...): window overlap add min: {low:g}")
    env_dt = frames._data.dtype if env.dtype.kind == "c" else frames._data.real.dtype
    y = y[:, start : min(end, out_len)] / _wrap(move_like(env_part.astype(env_dt), frames._data))
    if length is not None and end > out_len:
        pad = _wrap(xp.zeros((b, end - out_len), dtype=y._data.dtype))
        y = cat([y, pad], -1)
    return y if batched else y.squeeze(0)
