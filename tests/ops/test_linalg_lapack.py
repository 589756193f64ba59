"""The LAPACK drivers behind solve / svd / eigh (ember/ops/linalg_lapack.py): SciPy's path and
the NumPy-only path give torch's values, gauge-invariant results, errors and float64 gradients,
for single matrices, batches through the Python loop (n >= 32; solve n >= 48) and batches left
to NumPy."""

import numpy as np
import pytest

import ember
from ember._backend.cpu import blas
from ember.ops import linalg_lapack
from tests._support.ops_check import compare
from tests._support.torch_ref import assert_same, torch

PATHS = [False]
try:
    import scipy.linalg  # noqa: F401  (optional: the faster path is tested where installed)

    PATHS.append(True)
except ImportError:  # pragma: no cover
    pass


@pytest.fixture(params=PATHS, ids=lambda p: "scipy" if p else "numpy")
def path(request, monkeypatch):
    monkeypatch.setattr(linalg_lapack, "USE_SCIPY", request.param)
    assert linalg_lapack.path() == ("scipy" if request.param else "numpy")
    return request.param


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


SHAPES = [(5, 5), (34, 34), (2, 32, 32), (2, 48, 48), (4, 6, 6)]  # loop (n >= 32; solve 48)


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("dtype", [np.float64, np.complex128])
def test_solve_matches_torch(path, shape, dtype):
    a = _mat(shape, dtype)
    b = _mat(shape[:-1] + (3,), dtype, seed=1)
    compare(lambda m, a, b: _real(m.linalg.solve(a, b)), a, b, rtol=1e-9, atol=1e-10)
    a.grad = None
    v = _mat(shape[-1:], dtype, seed=2)  # vector rhs, broadcast over the batch
    compare(lambda m, a, v: _real(m.linalg.solve(a, v)), a, v, rtol=1e-9, atol=1e-10)


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
@pytest.mark.parametrize("dtype", [np.float64, np.complex128])
def test_svd_matches_torch(path, shape, dtype):
    a = _mat(shape, dtype)

    def f(m, a):  # gauge-invariant: the singular values and the projector U U^H
        u, s, vh = m.linalg.svd(a, full_matrices=False)
        return _real(s, u @ u.mH, vh.mH @ vh, (u * s.unsqueeze(-2).to(u.dtype)) @ vh)

    compare(f, a, rtol=1e-8, atol=1e-9)
    compare(lambda m, a: m.linalg.svdvals(a), a.detach(), grad=False, rtol=1e-9, atol=1e-10)
    full = ember.linalg.svd(a.detach(), full_matrices=True)
    k = min(shape[-2:])
    assert full.U.shape == shape[:-1] + (shape[-2],) and full.Vh.shape[-2:] == (shape[-1],) * 2
    back = (full.U[..., :k] * full.S.unsqueeze(-2).to(full.U.dtype)) @ full.Vh[..., :k, :]
    np.testing.assert_allclose(back.numpy(), a.detach().numpy(), atol=1e-10)


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("dtype", [np.float64, np.complex128])
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

    compare(f, a, rtol=1e-8, atol=1e-8)
    compare(lambda m, a: m.linalg.eigvalsh(a, UPLO=uplo), a.detach(), grad=False, rtol=1e-9)


def test_pinv_rank_lstsq_through_the_drivers(path):
    a = _mat((36, 34))
    compare(lambda m, a: m.linalg.pinv(a), a, rtol=1e-8, atol=1e-9)
    compare(lambda m, a: m.linalg.matrix_rank(a), a.detach(), grad=False)
    h = _mat((33, 33), kind="herm")
    compare(lambda m, h: m.linalg.pinv(h, hermitian=True), h, rtol=1e-8, atol=1e-9)


def test_scipy_blas_follows_set_num_threads():
    if True not in PATHS or not blas.available():
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
