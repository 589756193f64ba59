"""The LAPACK drivers behind solve / inv / cholesky / svd / eigh (ember/ops/linalg_lapack.py):
float32 and complex64 in LAPACK's single-precision loops, and with SINGLE_PRECISION off in
numpy.linalg's double-precision path, give torch's values, gauge-invariant results, errors and
gradients, for single matrices and batches."""

import numpy as np
import pytest

import ember
from ember._backend.cpu import blas
from ember.ops import linalg_lapack
from tests._support.ops_check import compare
from tests._support.torch_ref import assert_same, torch


@pytest.fixture(params=[True, False], ids=["single", "double"])
def path(request, monkeypatch):
    monkeypatch.setattr(linalg_lapack, "SINGLE_PRECISION", request.param)
    assert linalg_lapack.path() == ("single" if request.param else "double")
    return request.param


DTYPES = [np.float64, np.complex128, np.float32, np.complex64]


def _tol(dtype, rtol64: float, atol64: float) -> dict:
    """The float64 tolerances, or float32's where the dtype is single precision."""
    single = np.dtype(dtype) in (np.float32, np.complex64)
    return {"rtol": 1e-3, "atol": 2e-3} if single else {"rtol": rtol64, "atol": atol64}


def _mat(shape, dtype=np.float64, seed=0, kind="gen"):
    rng = np.random.default_rng(seed)
    a = rng.standard_normal(shape)
    if np.dtype(dtype).kind == "c":
        a = a + 1j * rng.standard_normal(shape)
    n = shape[-1]
    if kind == "herm":
        a = a @ np.conj(np.swapaxes(a, -1, -2)) + n * np.eye(n)
    elif len(shape) > 1 and shape[-1] == shape[-2]:
        a = a + n**0.5 * np.eye(n)
    return ember.from_numpy(np.ascontiguousarray(a.astype(dtype))).requires_grad_()


def _real(*xs):
    """Complex outputs as (real, imag) pairs: compare's random weighting needs real outputs."""
    return tuple(p for x in xs for p in ((x.real, x.imag) if x.is_complex() else (x,)))


SHAPES = [(5, 5), (34, 34), (2, 32, 32), (2, 48, 48), (4, 6, 6)]


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("dtype", DTYPES)
def test_solve_matches_torch(path, shape, dtype):
    a = _mat(shape, dtype)
    b = _mat(shape[:-1] + (3,), dtype, seed=1)
    tol = _tol(dtype, 1e-9, 1e-10)
    compare(lambda m, a, b: _real(m.linalg.solve(a, b)), a, b, **tol)
    a.grad = None
    v = _mat(shape[-1:], dtype, seed=2)  # vector rhs, broadcast over the batch
    compare(lambda m, a, v: _real(m.linalg.solve(a, v)), a, v, **tol)


@pytest.mark.parametrize("shape", [(5, 5), (34, 34), (3, 8, 8)])
@pytest.mark.parametrize("dtype", DTYPES)
def test_inv_and_cholesky_match_torch(path, shape, dtype):
    tol = _tol(dtype, 1e-9, 1e-10)
    compare(lambda m, a: _real(m.linalg.inv(a)), _mat(shape, dtype), **tol)
    h = _mat(shape, dtype, kind="herm")
    compare(lambda m, h: _real(m.linalg.cholesky(h)), h, **tol)


def test_single_precision_errors(path):
    s = np.ones((2, 4, 4), np.float32)
    s[0] = np.eye(4)
    for name in ("inv", "solve"):
        args = (s,) if name == "inv" else (s, np.ones((2, 4, 1), np.float32))
        with pytest.raises(ember.linalg.LinAlgError) as e:
            getattr(ember.linalg, name)(*map(ember.from_numpy, args))
        with pytest.raises(torch.linalg.LinAlgError) as t:
            getattr(torch.linalg, name)(*map(torch.from_numpy, args))
        assert str(e.value) == str(t.value)
    npd = -np.eye(3, dtype=np.float32)
    with pytest.raises(ember.linalg.LinAlgError) as e:
        ember.linalg.cholesky(ember.from_numpy(npd))
    with pytest.raises(torch.linalg.LinAlgError) as t:
        torch.linalg.cholesky(torch.from_numpy(npd))
    assert str(e.value) == str(t.value)


def test_solve_float32_and_singular_errors(path):
    compare(
        lambda m, a, b: m.linalg.solve(a, b),
        _mat((40, 40), np.float32),
        _mat((40, 2), np.float32, seed=1),
        rtol=1e-4,
        atol=1e-5,
    )
    s = np.ones((2, 33, 33))
    s[0] = np.eye(33)
    with pytest.raises(ember.linalg.LinAlgError) as e:
        ember.linalg.solve(ember.from_numpy(s), ember.ones(2, 33, 1, dtype=ember.float64))
    with pytest.raises(torch.linalg.LinAlgError) as t:
        torch.linalg.solve(torch.from_numpy(s), torch.ones(2, 33, 1, dtype=torch.float64))
    assert str(e.value) == str(t.value)
    r, info = ember.linalg.solve_ex(ember.from_numpy(s), ember.ones(2, 33, 1, dtype=ember.float64))
    tr, tinfo = torch.linalg.solve_ex(
        torch.from_numpy(s), torch.ones(2, 33, 1, dtype=torch.float64)
    )
    assert_same(info, tinfo)


@pytest.mark.parametrize("shape", SHAPES + [(40, 7), (2, 5, 36)])
@pytest.mark.parametrize("dtype", DTYPES)
def test_svd_matches_torch(path, shape, dtype):
    a = _mat(shape, dtype)
    tol = _tol(dtype, 1e-8, 1e-9)

    def f(m, a):  # gauge-invariant: the singular values and the projector U U^H
        u, s, vh = m.linalg.svd(a, full_matrices=False)
        return _real(s, u @ u.mH, vh.mH @ vh, (u * s.unsqueeze(-2).to(u.dtype)) @ vh)

    compare(f, a, **tol)
    compare(lambda m, a: m.linalg.svdvals(a), a.detach(), grad=False, **tol)
    full = ember.linalg.svd(a.detach(), full_matrices=True)
    k = min(shape[-2:])
    assert full.U.shape == shape[:-1] + (shape[-2],) and full.Vh.shape[-2:] == (shape[-1],) * 2
    back = (full.U[..., :k] * full.S.unsqueeze(-2).to(full.U.dtype)) @ full.Vh[..., :k, :]
    np.testing.assert_allclose(back.numpy(), a.detach().numpy(), atol=tol["atol"] * 10)


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("uplo", ["L", "U"])
def test_eigh_matches_torch(path, shape, dtype, uplo):
    a = _mat(shape, dtype, kind="herm")
    # only the UPLO triangle is read: spoil the other one (torch ignores it too)
    n = shape[-1]
    junk = np.triu(np.full((n, n), 7.0), 1)
    junk = junk if uplo == "L" else junk.T
    a = (a.detach() + ember.from_numpy(junk.astype(dtype))).requires_grad_()

    def f(m, a):  # gauge-invariant: eigenvalues and the reconstruction V diag(w) V^H
        w, v = m.linalg.eigh(a, UPLO=uplo)
        return _real(w, (v * w.unsqueeze(-2).to(v.dtype)) @ v.mH)

    tol = _tol(dtype, 1e-8, 1e-8)
    compare(f, a, **tol)
    compare(lambda m, a: m.linalg.eigvalsh(a, UPLO=uplo), a.detach(), grad=False, **tol)


def test_pinv_rank_lstsq_through_the_drivers(path):
    a = _mat((36, 34))
    compare(lambda m, a: m.linalg.pinv(a), a, rtol=1e-8, atol=1e-9)
    compare(lambda m, a: m.linalg.matrix_rank(a), a.detach(), grad=False)
    h = _mat((33, 33), kind="herm")
    compare(lambda m, h: m.linalg.pinv(h, hermitian=True), h, rtol=1e-8, atol=1e-9)


def test_scipy_blas_follows_set_num_threads():
    pytest.importorskip("scipy.linalg")  # optional: lu and ldl call its LAPACK
    if not blas.available():
        pytest.skip("needs SciPy and a controllable OpenBLAS")
    linalg_lapack.scipy_lapack()  # loads SciPy's own OpenBLAS, which blas adopts
    before = ember.get_num_threads()
    try:
        for n in (1, 2):
            ember.set_num_threads(n)
            assert blas.get_threads() == n
            assert all(get() == n for _, get, _ in blas._others)
    finally:
        ember.set_num_threads(before)
