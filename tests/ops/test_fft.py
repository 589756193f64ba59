"""torch.fft against torch: every transform over n/s, dim and norm for real, complex and integer
inputs (values, dtypes, shapes, errors), gradients against torch and float64 finite differences,
fftfreq/rfftfreq/fftshift/ifftshift."""

from __future__ import annotations

import numpy as np
import pytest

import ember
from tests._support.torch_ref import assert_same, torch

_RNG = np.random.default_rng(0)
_X = _RNG.standard_normal((4, 6, 5)) + 1j * _RNG.standard_normal((4, 6, 5))
_DTYPES = [np.float32, np.float64, np.complex64, np.complex128, np.int64]

ONE_D = ["fft", "ifft", "rfft", "irfft", "hfft", "ihfft"]
ONE_D_KW = [{}, {"n": 7}, {"n": 4, "dim": 0}, {"norm": "ortho"}, {"norm": "forward", "dim": 1}]
N_D = ["fft2", "ifft2", "rfft2", "irfft2", "hfft2", "ihfft2"]
N_D += ["fftn", "ifftn", "rfftn", "irfftn", "hfftn", "ihfftn"]
N_D_KW = [{}, {"s": (3, 8)}, {"dim": (0, 2)}, {"s": (5, 3), "dim": (0, 1), "norm": "ortho"}]
N_D_KW += [{"norm": "forward"}]


def _both(name, arr, kw):
    out = []
    for lib, wrap in ((torch, torch.from_numpy), (ember, ember.from_numpy)):
        try:
            out.append(getattr(lib.fft, name)(wrap(arr.copy()), **kw))
        except Exception as e:  # noqa: BLE001 - the errors are compared
            out.append(e)
    return out


def _check(name, kw):
    for dt in _DTYPES:
        arr = _X.astype(dt) if dt in (np.complex64, np.complex128) else (_X.real * 4).astype(dt)
        t, e = _both(name, arr, kw)
        if isinstance(t, Exception):
            assert type(e) is type(t) and str(e) == str(t), (name, kw, dt, e, t)
            continue
        assert not isinstance(e, Exception), (name, kw, dt, e)
        tol = 1e-4 if dt in (np.float32, np.complex64, np.int64) else 1e-10
        assert_same(e, t.resolve_conj(), rtol=tol, atol=tol)


@pytest.mark.parametrize("name", ONE_D)
def test_one_dim_transforms_match_torch(name):
    for kw in ONE_D_KW:
        _check(name, kw)


@pytest.mark.parametrize("name", N_D)
def test_n_dim_transforms_match_torch(name):
    for kw in N_D_KW:
        _check(name, kw)


def test_dtypes_of_results():
    x32 = ember.ones(8)
    assert ember.fft.fft(x32).dtype is ember.complex64
    assert ember.fft.rfft(x32.double()).dtype is ember.complex128
    assert ember.fft.irfft(ember.fft.rfft(x32)).dtype is ember.float32
    assert ember.fft.fft(ember.arange(8)).dtype is ember.complex64
    with pytest.raises(RuntimeError, match="Unsupported dtype Half"):
        ember.fft.fft(x32.half())
    with torch.no_grad():
        with pytest.raises(RuntimeError, match="Unsupported dtype Half"):
            torch.fft.fft(torch.ones(8).half())


def test_errors_match_torch():
    x = ember.ones(4, 5)
    for fn, args, kw in [
        ("fft", (), {"n": 0}),
        ("fft", (), {"dim": 2}),
        ("fft", (), {"norm": "bad"}),
        ("rfft", (), {"n": -3}),
        ("fftn", (), {"s": (2, 3), "dim": (0,)}),
        ("fftn", (), {"dim": (0, 0)}),
    ]:
        with pytest.raises(Exception) as ee:
            getattr(ember.fft, fn)(x, *args, **kw)
        with pytest.raises(Exception) as te:
            getattr(torch.fft, fn)(torch.ones(4, 5), *args, **kw)
        assert ee.type is te.type, (fn, kw, ee.value, te.value)


def test_out_argument():
    out = ember.empty(0, dtype=ember.complex64)
    r = ember.fft.fft(ember.arange(6.0), out=out)
    assert r is out and out.shape == (6,)
    np.testing.assert_allclose(out.numpy(), np.fft.fft(np.arange(6.0)), atol=1e-5)


GRAD_CASES = [
    ("fft", {}, True),
    ("fft", {"n": 9, "norm": "ortho"}, True),
    ("ifft", {"n": 4}, True),
    ("fft", {}, False),
    ("rfft", {}, False),
    ("rfft", {"n": 11, "norm": "forward"}, False),
    ("irfft", {}, True),
    ("irfft", {"n": 9}, True),
    ("irfft", {"n": 12, "norm": "ortho"}, True),
    ("hfft", {"n": 7}, True),
    ("ihfft", {}, False),
    ("fft2", {"s": (3, 7)}, True),
    ("rfftn", {"s": (5, 6)}, False),
    ("irfftn", {"s": (5, 6)}, True),
    ("irfft2", {}, True),
    ("hfftn", {}, True),
    ("ihfftn", {"norm": "ortho"}, False),
]


@pytest.mark.parametrize("name,kw,cplx", GRAD_CASES)
def test_gradients_match_torch(name, kw, cplx):
    rng = np.random.default_rng(3)
    a = rng.standard_normal((4, 8))
    if cplx:
        a = a + 1j * rng.standard_normal((4, 8))
    tx = torch.from_numpy(a.copy()).requires_grad_()
    ex = ember.from_numpy(a.copy()).requires_grad_()
    ty = getattr(torch.fft, name)(tx, **kw)
    ey = getattr(ember.fft, name)(ex, **kw)
    w = rng.standard_normal(tuple(ty.shape))
    if ty.is_complex():
        w = w + 1j * rng.standard_normal(tuple(ty.shape))
        tl = torch.view_as_real(ty * torch.from_numpy(w)).sum()
        el = ember.view_as_real(ey * ember.from_numpy(w)).sum()
    else:
        tl = (ty * torch.from_numpy(w)).sum()
        el = (ey * ember.from_numpy(w)).sum()
    tl.backward()
    el.backward()
    assert_same(ex.grad, tx.grad, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize(
    "fn",
    [
        lambda x: ember.view_as_real(ember.fft.rfft(x, n=10, norm="ortho")),
        lambda x: ember.fft.irfft(ember.fft.rfft(x) * ember.fft.rfft(x), n=7),
        lambda x: ember.view_as_real(ember.fft.fft2(x, s=(4, 9))),
        lambda x: ember.fft.hfft(ember.fft.ihfft(x), n=8),
    ],
)
def test_float64_finite_differences(fn):
    x = ember.from_numpy(np.random.default_rng(4).standard_normal((3, 8))).requires_grad_()
    assert ember.autograd.gradcheck(fn, (x,))


def test_frequencies_and_shifts():
    for n, d in [(1, 1.0), (5, 1.0), (8, 0.25)]:
        assert_same(ember.fft.fftfreq(n, d), torch.fft.fftfreq(n, d))
        assert_same(ember.fft.rfftfreq(n, d), torch.fft.rfftfreq(n, d))
    assert_same(
        ember.fft.fftfreq(6, dtype=ember.float64), torch.fft.fftfreq(6, dtype=torch.float64)
    )
    x = np.arange(30).reshape(5, 6)
    for dim in [None, 0, 1, (0, 1), -1]:
        assert_same(
            ember.fft.fftshift(ember.from_numpy(x), dim=dim),
            torch.fft.fftshift(torch.from_numpy(x), dim=dim),
        )
        assert_same(
            ember.fft.ifftshift(ember.from_numpy(x), dim=dim),
            torch.fft.ifftshift(torch.from_numpy(x), dim=dim),
        )


def test_namespace_is_complete():
    names = set(torch.fft.__all__) | {"hfft2", "ihfft2", "hfftn", "ihfftn"}
    assert names <= set(dir(ember.fft))


def test_numpy_path_without_scipy(monkeypatch):
    """The transforms and their gradients are the same on numpy.fft (SciPy is optional)."""
    from ember.ops import fft as fft_ops

    a = np.random.default_rng(6).standard_normal((4, 8))
    with_sp = [ember.fft.rfft2(ember.from_numpy(a)), ember.fft.irfft(ember.from_numpy(a), n=9)]
    monkeypatch.setattr(fft_ops, "_SCIPY_FFT", [None])
    x = ember.from_numpy(a.copy()).requires_grad_()
    without = [ember.fft.rfft2(x), ember.fft.irfft(x, n=9)]
    for p, q in zip(with_sp, without):
        np.testing.assert_allclose(q.detach().numpy(), p.numpy(), rtol=1e-12, atol=1e-12)
    _check("fft2", {"s": (3, 8)})
    _check("ihfftn", {})
    assert ember.autograd.gradcheck(lambda v: ember.view_as_real(ember.fft.rfftn(v)), (x,))


STFT_CASES = [
    dict(n_fft=16),
    dict(n_fft=16, hop_length=5, win_length=12, window=True),
    dict(n_fft=15, center=False, normalized=True),
    dict(n_fft=16, pad_mode="constant", onesided=False),
]


@pytest.mark.parametrize("kw", STFT_CASES)
@pytest.mark.parametrize("shape", [(100,), (2, 64)])
def test_stft_istft_match_torch(kw, shape):
    kw = dict(kw)
    tw = ew = None
    if kw.pop("window", None):
        tw = torch.hann_window(kw["win_length"], dtype=torch.float64)
        ew = ember.hann_window(kw["win_length"], dtype=ember.float64)
    a = np.random.default_rng(0).standard_normal(shape)
    tx = torch.from_numpy(a.copy()).requires_grad_()
    ex = ember.from_numpy(a.copy()).requires_grad_()
    t = torch.stft(
        tx,
        window=tw if tw is not None else torch.ones(kw["n_fft"], dtype=torch.float64),
        return_complex=True,
        **kw,
    )
    e = ex.stft(window=ew, return_complex=True, **kw)
    assert_same(e, t, rtol=1e-10, atol=1e-10)
    torch.view_as_real(t).pow(2).sum().backward()
    ember.view_as_real(e).pow(2).sum().backward()
    assert_same(ex.grad, tx.grad, rtol=1e-10, atol=1e-10)
    ikw = {k: v for k, v in kw.items() if k != "pad_mode"}
    ti = torch.istft(
        t.detach(),
        window=tw if tw is not None else torch.ones(kw["n_fft"], dtype=torch.float64),
        length=shape[-1],
        **ikw,
    )
    ei = ember.istft(e.detach(), window=ew, length=shape[-1], **ikw)
    assert_same(ei, ti, rtol=1e-10, atol=1e-10)
    if kw.get("center", True):
        np.testing.assert_allclose(ei.numpy(), a, atol=1e-10)  # the round trip is lossless


def test_stft_requires_return_complex():
    with pytest.raises(RuntimeError, match="requires the return_complex parameter"):
        ember.stft(ember.ones(32), 8)


def test_istft_of_spectra_no_stft_made_matches_torch():
    # two-sided spectra that are not conjugate-symmetric: with a real result torch reads only
    # the first n_fft // 2 + 1 bins (irfft); with return_complex the whole ifft, complex windows
    # allowed; torch's errors otherwise
    rng = np.random.default_rng(7)
    x = (rng.standard_normal((3, 10, 6)) + 1j * rng.standard_normal((3, 10, 6))).astype(
        np.complex64
    )
    wc = (rng.uniform(0.5, 1.5, 10) + 1j * rng.uniform(-0.3, 0.3, 10)).astype(np.complex64)
    cases = [
        dict(n_fft=10, window=np.hanning(12)[1:-1].astype(np.float32)),
        dict(n_fft=10, center=False, window=np.ones(10, np.float32)),
        dict(n_fft=10, window=np.ones(10, np.float32), onesided=False, length=20),
        dict(n_fft=10, window=wc, return_complex=True),
        dict(n_fft=10, window=np.ones(10, np.float32), return_complex=True, normalized=True),
    ]
    for kw in cases:
        res = []
        for m in (ember, torch):
            args = {k: (m.tensor(v) if isinstance(v, np.ndarray) else v) for k, v in kw.items()}
            res.append(m.istft(m.tensor(x), **args))
        assert res[0].dtype.is_complex == res[1].is_complex()
        np.testing.assert_allclose(res[0].numpy(), res[1].numpy(), rtol=1e-5, atol=1e-5)
    ones = np.ones(10, np.float32)
    for spec, kw in (
        (x, dict(n_fft=10, window=wc)),  # a complex window needs return_complex
        (x[:, :6], dict(n_fft=10, window=ones, return_complex=True)),  # a one-sided spectrum
    ):
        errors = []
        for m in (ember, torch):
            args = {k: (m.tensor(v) if isinstance(v, np.ndarray) else v) for k, v in kw.items()}
            with pytest.raises(RuntimeError) as e:
                m.istft(m.tensor(spec), **args)
            errors.append(str(e.value))
        assert errors[0] == errors[1]
    for m in (ember, torch):  # the frequency bins must fit n_fft (torch's message is longer)
        with pytest.raises(RuntimeError, match="frequency dimension"):
            m.istft(m.tensor(x[:, :7]), n_fft=10, window=m.tensor(ones), onesided=True)
