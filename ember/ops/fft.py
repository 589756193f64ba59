"""Discrete Fourier transforms (torch.fft): complex-to-complex, real-to-complex and
complex-to-real transforms over any set of dims with torch's ``s``/``n``, ``dim`` and ``norm``,
their gradients, the Hermitian forms built from them, and fftfreq/rfftfreq/fftshift/ifftshift.

The transforms run on ``xp.fft`` (NumPy's pocketfft, or cuFFT through CuPy: the two share names),
or on ``scipy.fft`` for CPU arrays when SciPy is installed (an optional speed-up, same results).
Gradients are the adjoint transforms: the adjoint of a transform with norm ``m`` is the inverse
transform with the dual norm (backward <-> forward, ortho stays), followed by the adjoint of the
zero-padding/cropping that ``s`` asked for.
"""

from __future__ import annotations

import numpy as np

from .. import dtypes
from .._backend.cpu import threads as _threads
from .._backend.xp import CPU_ARRAY, xp_of
from ..autograd.node import Op
from ..tensor import Tensor, _wrap
from .inplace import copy_into_out
from .rearrange import roll

__all__ = [
    "fft",
    "ifft",
    "fft2",
    "ifft2",
    "fftn",
    "ifftn",
    "rfft",
    "irfft",
    "rfft2",
    "irfft2",
    "rfftn",
    "irfftn",
    "hfft",
    "ihfft",
    "hfft2",
    "ihfft2",
    "hfftn",
    "ihfftn",
    "fftfreq",
    "rfftfreq",
    "fftshift",
    "ifftshift",
]

_SCIPY_FFT: list = []  # [module or None], filled on first use


# Arrays from which a transform runs on pocketfft's threads (``workers``). Below, one thread is
# faster (2-core EPYC, 2026-12-05: fft2 of 128 x 128 complex64 0.068 ms on one, 0.101 on two;
# 256 x 256 0.26 / 0.21; 512 x 512 1.21 / 0.70). It also keeps pocketfft's thread pool, which
# joins its threads in a fork handler, out of processes that never transform big arrays: a
# DataLoader's fork hung once in that join in this project's test suite.
_POOL_MIN = 1 << 17


def _scipy_fft():
    """scipy.fft when installed (its pocketfft is several times faster than numpy.fft's on 2-D
    and n-D transforms, and it runs on ember's threads), else None."""
    if not _SCIPY_FFT:
        try:  # SciPy is optional: imported on first use, it is only a speed-up
            import scipy.fft as sp_fft
        except ImportError:  # pragma: no cover - exercised only without SciPy
            sp_fft = None
        _SCIPY_FFT.append(sp_fft)
    return _SCIPY_FFT[0]


def _fft(a, name: str):
    """The transform ``name`` (fftn, ifftn, rfftn, irfftn) for the array ``a``."""
    if type(a) is CPU_ARRAY:
        sp = _scipy_fft()
        if sp is not None:
            f = getattr(sp, name)
            workers = _threads.get_num_threads() if a.size >= _POOL_MIN else 1
            return lambda x, s=None, axes=None, norm=None: f(
                x, s=s, axes=axes, norm=norm, workers=workers
            )
    return getattr(xp_of(a).fft, name)


_NORMS = ("backward", "ortho", "forward")
_DUAL = {"backward": "forward", "ortho": "ortho", "forward": "backward"}


def _norm(norm: str | None) -> str:
    if norm is None:
        return "backward"
    if norm not in _NORMS:
        raise RuntimeError(f'Invalid normalization mode: "{norm}"')
    return norm


def _resize(a, dims, sizes):
    """``a`` cropped or zero-padded (at the end) to ``sizes`` along ``dims``."""
    xp = xp_of(a)
    crop = [slice(None)] * a.ndim
    pad = [(0, 0)] * a.ndim
    for d, n in zip(dims, sizes):
        if a.shape[d] > n:
            crop[d] = slice(0, n)
        elif a.shape[d] < n:
            pad[d] = (0, n - a.shape[d])
    a = a[tuple(crop)]
    if any(p[1] for p in pad):
        a = xp.pad(a, pad)
    return a


class _C2C(Op):
    """fftn/ifftn of a complex array over ``dims`` to ``sizes``."""

    adjoint = 0  # linear: create_graph=True records its gradient as a LinearAdjoint

    @staticmethod
    def forward(ctx, a, dims, sizes, norm, inverse):
        ctx.args = (None, dims, sizes, norm, inverse)
        ctx.info = (a.shape, dims, norm, inverse, a.dtype)
        f = _fft(a, "ifftn" if inverse else "fftn")
        return f(a, s=sizes, axes=dims, norm=norm).astype(_cdtype(a.dtype), copy=False)

    @staticmethod
    def backward(ctx, g):
        shape, dims, norm, inverse, dt = ctx.info
        f = _fft(g, "fftn" if inverse else "ifftn")
        gi = f(g, axes=dims, norm=_DUAL[norm])
        gi = _resize(gi, dims, [shape[d] for d in dims])
        if dt.kind != "c":
            gi = gi.real
        return gi.astype(dt, copy=False), None, None, None, None


class _R2C(Op):
    """rfftn of a real array over ``dims`` to ``sizes`` (the last dim halved)."""

    adjoint = 0  # linear: create_graph=True records its gradient as a LinearAdjoint

    @staticmethod
    def forward(ctx, a, dims, sizes, norm):
        ctx.args = (None, dims, sizes, norm)
        ctx.info = (a.shape, dims, sizes, norm, a.dtype)
        out = _fft(a, "rfftn")(a, s=sizes, axes=dims, norm=norm)
        return out.astype(_cdtype(a.dtype), copy=False)

    @staticmethod
    def backward(ctx, g):
        shape, dims, sizes, norm, dt = ctx.info
        # the bins rfft leaves out get a zero gradient: pad to the full length, then the adjoint
        full = _resize(g, dims[-1:], sizes[-1:])
        gi = _fft(full, "ifftn")(full, axes=dims, norm=_DUAL[norm]).real
        gi = _resize(gi, dims, [shape[d] for d in dims])
        return gi.astype(dt, copy=False), None, None, None


class _C2R(Op):
    """irfftn of a Hermitian half-spectrum over ``dims`` to the real ``sizes``."""

    adjoint = 0  # linear: create_graph=True records its gradient as a LinearAdjoint

    @staticmethod
    def forward(ctx, a, dims, sizes, norm):
        ctx.args = (None, dims, sizes, norm)
        ctx.info = (a.shape, dims, sizes, norm, a.dtype)
        out = _fft(a, "irfftn")(a, s=sizes, axes=dims, norm=norm)
        return out.astype(_rdtype(a.dtype), copy=False)

    @staticmethod
    def backward(ctx, g):
        shape, dims, sizes, norm, dt = ctx.info
        gi = _fft(g, "rfftn")(g, axes=dims, norm=_DUAL[norm])
        # the bins that stand for two (k and n - k) of the full spectrum count twice
        last = dims[-1]
        n = sizes[-1]
        double = n - gi.shape[last]
        if double > 0:
            idx = [slice(None)] * gi.ndim
            idx[last] = slice(1, 1 + double)
            gi[tuple(idx)] *= 2
        gi = _resize(gi, dims, [shape[d] for d in dims])
        return gi.astype(dt, copy=False), None, None, None


def _cdtype(npdt) -> np.dtype:
    return np.dtype(np.complex64) if npdt in (np.float32, np.complex64) else np.dtype(np.complex128)


def _rdtype(npdt) -> np.dtype:
    return np.dtype(np.float32) if npdt in (np.float32, np.complex64) else np.dtype(np.float64)


def _promote(x: Tensor, name: str, *, real_only: bool = False, to_complex: bool = False) -> Tensor:
    """Integer and bool inputs compute in the default float dtype (complex for c2c, as torch)."""
    if not isinstance(x, Tensor):
        raise TypeError(f"{name}(): argument 'input' must be Tensor, not {type(x).__name__}")
    k = x._data.dtype.kind
    if k in "biu":
        x = x.to(dtypes.get_default_dtype())
    elif k == "V" or x._data.dtype == np.float16:
        raise RuntimeError(f"Unsupported dtype {_pretty(x)}")
    if real_only and x._data.dtype.kind == "c":
        if name in ("rfft2", "rfftn"):
            raise RuntimeError(f"rfftn expects a real-valued input tensor, but got {_pretty(x)}")
        raise RuntimeError(f"{name} expects a real input tensor, but got {_pretty(x)}")
    if to_complex and x._data.dtype.kind != "c":
        x = x.to(x.dtype.to_complex())
    return x


def _pretty(x: Tensor) -> str:
    if x._data.dtype.kind == "V":
        return "BFloat16"
    return dtypes.scalar_type_name(x._data.dtype.name)


def _dims_sizes(x: Tensor, s, dim, name: str, default_all: bool) -> tuple[tuple, list | None]:
    """Normalised dims and sizes (None: the input's) of an n-d transform, with torch's checks."""
    nd = x._data.ndim
    if isinstance(s, int):
        s = (s,)
    if isinstance(dim, int):
        dim = (dim,)
    if dim is None:
        if s is not None:
            dim = tuple(range(nd - len(s), nd))
        elif default_all:
            dim = tuple(range(nd))
        else:
            dim = (nd - 2, nd - 1)
    dims = []
    for d in dim:
        if not -max(nd, 1) <= d < max(nd, 1):
            raise IndexError(
                f"Dimension out of range (expected to be in range of [{-max(nd, 1)}, "
                f"{max(nd, 1) - 1}], but got {d})"
            )
        dims.append(d % nd if nd else 0)
    if len(set(dims)) != len(dims):
        raise RuntimeError(f"{name} dims must be unique")
    if s is not None:
        s = list(s)
        if len(s) != len(dims):
            raise RuntimeError(
                f"When given, dim and shape arguments must have the same length. Got "
                f"dim={len(dims)} and shape={len(s)}"
            )
        for i, n in enumerate(s):
            if n == -1:
                s[i] = x._data.shape[dims[i]]
            elif n < 1:
                raise RuntimeError(f"Invalid number of data points ({n}) specified")
    return tuple(dims), s


def _finish(r: Tensor, out) -> Tensor:
    if out is not None:
        return copy_into_out(out, r)
    return r


def _c2c(x, s, dim, norm, out, name, inverse, default_all=True):
    x = _promote(x, name)
    dims, s = _dims_sizes(x, s, dim, name, default_all)
    sizes = s if s is not None else [x._data.shape[d] for d in dims]
    for n in sizes:
        if n < 1:
            raise RuntimeError(f"Invalid number of data points ({n}) specified")
    return _finish(_C2C.apply(x, dims, sizes, _norm(norm), inverse), out)


def _r2c(x, s, dim, norm, out, name, default_all=True):
    x = _promote(x, name, real_only=True)
    dims, s = _dims_sizes(x, s, dim, name, default_all)
    sizes = s if s is not None else [x._data.shape[d] for d in dims]
    for n in sizes:
        if n < 1:
            raise RuntimeError(f"Invalid number of data points ({n}) specified")
    return _finish(_R2C.apply(x, dims, sizes, _norm(norm)), out)


def _c2r(x, s, dim, norm, out, name, default_all=True):
    x = _promote(x, name, to_complex=True)
    dims, s = _dims_sizes(x, s, dim, name, default_all)
    if s is None:
        sizes = [x._data.shape[d] for d in dims]
        sizes[-1] = 2 * (sizes[-1] - 1)
    else:
        sizes = list(s)
    if sizes[-1] < 1:
        raise RuntimeError(f"Invalid number of data points ({sizes[-1]}) specified")
    return _finish(_C2R.apply(x, dims, sizes, _norm(norm)), out)


def fft(input: Tensor, n: int | None = None, dim: int = -1, norm: str | None = None, *, out=None):
    """1-D discrete Fourier transform, as torch.fft.fft (real inputs give a complex result)."""
    return _c2c(input, None if n is None else (n,), (dim,), norm, out, "fft", False)


def ifft(input: Tensor, n: int | None = None, dim: int = -1, norm: str | None = None, *, out=None):
    """1-D inverse discrete Fourier transform, as torch.fft.ifft."""
    return _c2c(input, None if n is None else (n,), (dim,), norm, out, "ifft", True)


def fft2(input: Tensor, s=None, dim=(-2, -1), norm: str | None = None, *, out=None):
    """2-D discrete Fourier transform over ``dim``, as torch.fft.fft2."""
    return _c2c(input, s, dim, norm, out, "fft2", False, default_all=False)


def ifft2(input: Tensor, s=None, dim=(-2, -1), norm: str | None = None, *, out=None):
    """2-D inverse discrete Fourier transform, as torch.fft.ifft2."""
    return _c2c(input, s, dim, norm, out, "ifft2", True, default_all=False)


def fftn(input: Tensor, s=None, dim=None, norm: str | None = None, *, out=None):
    """N-D discrete Fourier transform (every dim by default), as torch.fft.fftn."""
    return _c2c(input, s, dim, norm, out, "fftn", False)


def ifftn(input: Tensor, s=None, dim=None, norm: str | None = None, *, out=None):
    """N-D inverse discrete Fourier transform, as torch.fft.ifftn."""
    return _c2c(input, s, dim, norm, out, "ifftn", True)


def rfft(input: Tensor, n: int | None = None, dim: int = -1, norm: str | None = None, *, out=None):
    """1-D transform of a real signal, the n // 2 + 1 non-negative frequencies (torch.fft.rfft)."""
    return _r2c(input, None if n is None else (n,), (dim,), norm, out, "rfft")


def irfft(input: Tensor, n: int | None = None, dim: int = -1, norm: str | None = None, *, out=None):
    """Inverse of rfft: a real signal of length n (2 * (m - 1) by default), torch.fft.irfft."""
    return _c2r(input, None if n is None else (n,), (dim,), norm, out, "irfft")


def rfft2(input: Tensor, s=None, dim=(-2, -1), norm: str | None = None, *, out=None):
    """2-D transform of a real signal, as torch.fft.rfft2."""
    return _r2c(input, s, dim, norm, out, "rfft2", default_all=False)


def irfft2(input: Tensor, s=None, dim=(-2, -1), norm: str | None = None, *, out=None):
    """Inverse of rfft2, as torch.fft.irfft2."""
    return _c2r(input, s, dim, norm, out, "irfft2", default_all=False)


def rfftn(input: Tensor, s=None, dim=None, norm: str | None = None, *, out=None):
    """N-D transform of a real signal (the last dim halved), as torch.fft.rfftn."""
    return _r2c(input, s, dim, norm, out, "rfftn")


def irfftn(input: Tensor, s=None, dim=None, norm: str | None = None, *, out=None):
    """Inverse of rfftn, as torch.fft.irfftn."""
    return _c2r(input, s, dim, norm, out, "irfftn")


def _conj(x: Tensor) -> Tensor:
    return x.conj() if x.is_complex() else x


def hfft(input: Tensor, n: int | None = None, dim: int = -1, norm: str | None = None, *, out=None):
    """Transform of a Hermitian-symmetric signal given by its first half: a real result of
    length n, as torch.fft.hfft (irfft of the conjugate, norm swapped)."""
    x = _promote(input, "hfft", to_complex=True)
    r = irfft(_conj(x), n, dim, _DUAL[_norm(norm)])
    return _finish(r, out)


def ihfft(input: Tensor, n: int | None = None, dim: int = -1, norm: str | None = None, *, out=None):
    """Inverse of hfft: the half spectrum of a real signal, as torch.fft.ihfft."""
    x = _promote(input, "ihfft", real_only=True)
    return _finish(rfft(x, n, dim, _DUAL[_norm(norm)]).conj(), out)


def hfft2(input: Tensor, s=None, dim=(-2, -1), norm: str | None = None, *, out=None):
    """2-D hfft, as torch.fft.hfft2."""
    return hfftn(input, s, dim, norm, out=out)


def ihfft2(input: Tensor, s=None, dim=(-2, -1), norm: str | None = None, *, out=None):
    """2-D ihfft, as torch.fft.ihfft2."""
    if dim is None:
        dim = (-2, -1)
    return ihfftn(input, s, dim, norm, out=out)


def hfftn(input: Tensor, s=None, dim=None, norm: str | None = None, *, out=None):
    """N-D hfft: the real signal whose N-D transform is Hermitian with the given half (the last
    dim), as torch.fft.hfftn (irfftn of the conjugate, norm swapped)."""
    x = _promote(input, "hfftn", to_complex=True)
    return _finish(_c2r(_conj(x), s, dim, _DUAL[_norm(norm)], None, "hfftn"), out)


def ihfftn(input: Tensor, s=None, dim=None, norm: str | None = None, *, out=None):
    """N-D ihfft: the half spectrum of a real signal's inverse N-D transform, torch.fft.ihfftn."""
    if isinstance(input, Tensor) and input._data.dtype.kind == "c":
        raise RuntimeError(f"Only supports floating-point dtypes, but found: {_pretty(input)}")
    r = _r2c(input, s, dim, _DUAL[_norm(norm)], None, "ihfftn")
    return _finish(r.conj(), out)


def _freq_dtype(dtype):
    return dtypes.get_default_dtype() if dtype is None else dtypes.to_dtype(dtype)


def fftfreq(
    n: int,
    d: float = 1.0,
    *,
    out=None,
    dtype=None,
    layout=None,
    device=None,
    requires_grad: bool = False,
):
    """The sample frequencies of an n-point fft: [0, 1, ..., -1] / (d n), as torch.fft.fftfreq."""
    k = np.arange(n, dtype=np.float64)
    k[(n + 1) // 2 :] -= n
    r = _freq(k / (d * n), dtype, device, requires_grad)
    return _finish(r, out)


def rfftfreq(
    n: int,
    d: float = 1.0,
    *,
    out=None,
    dtype=None,
    layout=None,
    device=None,
    requires_grad: bool = False,
):
    """The sample frequencies of an n-point rfft: [0, ..., n // 2] / (d n)."""
    k = np.arange(n // 2 + 1, dtype=np.float64)
    return _finish(_freq(k / (d * n), dtype, device, requires_grad), out)


def _freq(arr, dtype, device, requires_grad):
    dt = _freq_dtype(dtype)
    r = _wrap(arr.astype(dt.np) if dt.np.kind != "V" else arr.astype(np.float32))
    if dt.np.kind == "V":
        r = r.to(dt)
    if device is not None:
        r = r.to(device)
    if requires_grad:
        r.requires_grad_(True)
    return r


def _shift_dims(x: Tensor, dim):
    nd = x._data.ndim
    if dim is None:
        return tuple(range(nd))
    if isinstance(dim, int):
        return (dim,)
    return tuple(dim)


def fftshift(input: Tensor, dim=None) -> Tensor:
    """Move the zero frequency to the centre (roll by n // 2), as torch.fft.fftshift."""
    dims = _shift_dims(input, dim)
    if not dims:
        return input.clone()
    return roll(input, [input.shape[d] // 2 for d in dims], dims)


def ifftshift(input: Tensor, dim=None) -> Tensor:
    """Inverse of fftshift (roll by -(n // 2)), as torch.fft.ifftshift."""
    dims = _shift_dims(input, dim)
    if not dims:
        return input.clone()
    return roll(input, [(input.shape[d] + 1) // 2 for d in dims], dims)
