"""torch.svd_lowrank and torch.pca_lowrank (ember/ops/linalg_lowrank.py) against torch with the
same seed: the same sketch drawn (the generator left in torch's state), singular values to
rounding, U and V equal up to the sign of each column (ember's linalg.svd picks the sign of a
singular pair as LAPACK's NumPy path does, which can differ from torch's), U diag(S) V^H and
gradients (sign-free) as torch's; torch's argument errors."""

from __future__ import annotations

import numpy as np
import pytest

import ember
from tests._support.torch_ref import torch


def _run(lib, fn, A, seed=3, **kw):
    lib.manual_seed(seed)
    X = lib.tensor(A, requires_grad=True)
    kw = {k: lib.tensor(v) if isinstance(v, np.ndarray) else v for k, v in kw.items()}
    U, S, V = getattr(lib, fn)(X, **kw)
    rec = U @ (S.unsqueeze(-1) * V.mH)
    (S.sum() + (rec * rec).sum()).backward()
    after = lib.randn(3, dtype=lib.float64)  # the generator's state after the call
    return [t.detach().numpy() for t in (U, S, V, rec, X.grad, after)]


def _close(e, t, dtype):
    tol = dict(rtol=1e-9, atol=1e-10) if dtype == np.float64 else dict(rtol=2e-4, atol=2e-4)
    U, S, V, rec, grad, after = e
    Ut, St, Vt, rect, gradt, aftert = t
    for a, b in zip(e[:5], t[:5]):
        assert a.dtype == b.dtype and a.shape == b.shape
    np.testing.assert_allclose(S, St, **tol)
    sign = np.sign((U * Ut).sum(-2, keepdims=True))  # a column of U and of V flip together
    np.testing.assert_allclose(U * sign, Ut, **tol)
    np.testing.assert_allclose(V * sign, Vt, **tol)
    np.testing.assert_allclose(rec, rect, **tol)
    np.testing.assert_allclose(grad, gradt, **tol)
    np.testing.assert_array_equal(after, aftert)


_CASES = [
    ((20, 12), {}),
    ((12, 20), dict(q=4)),
    ((3, 20, 12), dict(q=5, niter=0)),
    ((15, 9), dict(q=3, niter=4)),
]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("case", range(len(_CASES)))
def test_svd_lowrank_as_torch(case, dtype):
    shape, kw = _CASES[case]
    A = np.random.default_rng(case).standard_normal(shape).astype(dtype)
    _close(_run(ember, "svd_lowrank", A, **kw), _run(torch, "svd_lowrank", A, **kw), dtype)


@pytest.mark.parametrize("shape", [(20, 12), (12, 20)])
def test_svd_lowrank_with_mean(shape):
    """M (here one row, broadcast to A): the factors of A - M, never formed."""
    rng = np.random.default_rng(7)
    A, M = rng.standard_normal(shape), rng.standard_normal((1, shape[1]))
    e = _run(ember, "svd_lowrank", A, q=5, M=M)
    _close(e, _run(torch, "svd_lowrank", A, q=5, M=M), np.float64)
    full = np.linalg.svd(A - M, compute_uv=False)
    np.testing.assert_allclose(e[1][0], full[0], rtol=1e-3)  # a projection: lower bounds
    assert np.all(e[1] <= full[:5] + 1e-9)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("kw", [{}, dict(q=3), dict(center=False, niter=1), dict(q=0)])
def test_pca_lowrank_as_torch(kw, dtype):
    A = np.random.default_rng(2).standard_normal((2, 16, 10)).astype(dtype) + 3.0
    _close(_run(ember, "pca_lowrank", A, **kw), _run(torch, "pca_lowrank", A, **kw), dtype)


@pytest.mark.parametrize(
    "kw,msg",
    [
        (dict(q=11), "q(=11) must be non-negative integer and not greater than min(m, n)=10"),
        (dict(q=-1), "q(=-1) must be non-negative integer and not greater than min(m, n)=10"),
        (dict(niter=-1), "niter(=-1) must be non-negative integer"),
    ],
)
def test_pca_lowrank_errors_as_torch(kw, msg):
    for lib in (ember, torch):
        with pytest.raises(ValueError) as info:
            lib.pca_lowrank(lib.ones(12, 10), **kw)
        assert str(info.value) == msg
