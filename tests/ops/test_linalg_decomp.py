"""torch.linalg decompositions and solvers (ember/ops/linalg_decomp.py) against torch: values,
shapes, dtypes, batching, errors and float64 gradients (torch's and finite differences)."""

import numpy as np
import pytest

import ember
from tests._support.ops_check import compare
from tests._support.torch_ref import to_torch, torch

F64 = ember.float64


def mat(*shape, dtype=F64, seed=0, rg=True, kind="gen"):
    """A random well-conditioned matrix batch: 'gen' general, 'spd' positive-definite."""
    rng = np.random.default_rng(seed)
    a = rng.standard_normal(shape)
    n = shape[-1]
    if kind == "spd":
        a = a @ np.swapaxes(a, -1, -2) + n * np.eye(n)
    elif kind == "sym":
        a = a + np.swapaxes(a, -1, -2)
    elif kind == "gen" and len(shape) > 1 and shape[-1] == shape[-2]:
        a = a + 2 * np.eye(n)
    npdt = {ember.float64: np.float64, ember.float32: np.float32}[dtype]
    t = ember.from_numpy(np.ascontiguousarray(a.astype(npdt)))
    return t.requires_grad_() if rg else t


def gradcheck(fn, *xs, **kw):
    assert ember.autograd.gradcheck(fn, xs, **kw)


# --- solve / inv / det ---------------------------------------------------------------------
@pytest.mark.parametrize(
    "ashape,bshape",
    [
        ((3, 3), (3,)),
        ((3, 3), (3, 2)),
        ((2, 3, 3), (2, 3)),
        ((2, 3, 3), (3, 4)),
        ((4, 4), (2, 4, 1)),
        ((1, 3, 3), (2, 3, 2)),
    ],
)
def test_solve(ashape, bshape):
    compare(lambda m, a, b: m.linalg.solve(a, b), mat(*ashape), mat(*bshape, seed=1))
    if len(bshape) >= 2 and bshape != ashape[:-1]:
        compare(
            lambda m, a, b: m.linalg.solve(a, b.mT, left=False).mT,
            mat(*ashape),
            mat(*bshape, seed=1),
        )


def test_solve_float32_and_ex():
    A, B = mat(2, 4, 4, dtype=ember.float32, rg=False), mat(2, 4, 2, dtype=ember.float32, rg=False)
    compare(lambda m, a, b: m.linalg.solve_ex(a, b), A, B, grad=False, atol=1e-5)
    compare(lambda m, a: m.linalg.inv_ex(a), A, grad=False, atol=1e-5)


def test_inv_det_slogdet_grads():
    compare(lambda m, a: m.linalg.inv(a), mat(2, 4, 4))
    compare(lambda m, a: m.linalg.det(a), mat(2, 4, 4))
    compare(lambda m, a: m.linalg.slogdet(a), mat(2, 4, 4))
    compare(lambda m, a: m.det(a), mat(3, 3))
    compare(lambda m, a: m.inverse(a), mat(3, 3))
    compare(lambda m, a: m.logdet(a), mat(2, 3, 3, kind="spd"))
    gradcheck(lambda a: ember.linalg.inv(a), mat(3, 3))
    gradcheck(lambda a, b: ember.linalg.solve(a, b), mat(3, 3), mat(3, 2, seed=2))
    gradcheck(lambda a: ember.linalg.det(a), mat(2, 3, 3))
    gradcheck(lambda a: ember.linalg.slogdet(a)[1], mat(3, 3))


def test_det_singular_gradient():
    a = ember.tensor([[1.0, 2.0, 3.0], [2.0, 4.0, 6.0], [1.0, 0.0, 1.0]], dtype=F64)
    compare(lambda m, x: m.linalg.det(x), a.requires_grad_())


def test_logdet_negative_is_nan():
    a = ember.tensor([[0.0, 1.0], [1.0, 0.0]], dtype=F64)
    assert np.isnan(ember.logdet(a).item()) and np.isnan(torch.logdet(to_torch(a)).item())


def test_singular_errors():
    s = ember.tensor([[1.0, 2.0], [2.0, 4.0]])
    batch = ember.stack([ember.eye(2), s])
    ts, tb = to_torch(s), to_torch(batch)
    for fn in (
        lambda m, x: m.linalg.inv(x),
        lambda m, x: m.linalg.solve(x, m.ones(x.shape[:-1])),
        lambda m, x: m.linalg.cholesky(x),
        lambda m, x: m.linalg.lu_factor(x),
    ):
        for e_in, t_in in ((s, ts), (batch, tb)):
            with pytest.raises(RuntimeError) as te:
                fn(torch, t_in)
            with pytest.raises(RuntimeError) as ee:
                fn(ember, e_in)
            assert str(ee.value) == str(te.value)
            lin = isinstance(te.value, torch.linalg.LinAlgError)
            assert isinstance(ee.value, ember.linalg.LinAlgError) == lin
    assert issubclass(ember.linalg.LinAlgError, RuntimeError)


def test_ex_info_and_values_on_failure():
    s = ember.tensor([[[1.0, 0.0], [0.0, 1.0]], [[1.0, 2.0], [2.0, 4.0]]])
    compare(lambda m, x: m.linalg.inv_ex(x), s, grad=False)
    compare(lambda m, x: m.linalg.solve_ex(x, m.ones(2, 2)), s, grad=False)
    compare(lambda m, x: m.linalg.cholesky_ex(x), s, grad=False)
    compare(lambda m, x: m.linalg.lu_factor_ex(x), s, grad=False)


@pytest.mark.parametrize(
    "fn,msg_arg",
    [
        (lambda m: m.linalg.inv(m.ones(2, 3)), None),
        (lambda m: m.linalg.inv(m.ones(2, 2, dtype=m.int64)), None),
        (lambda m: m.linalg.inv(m.ones(2)), None),
        (lambda m: m.linalg.solve(m.eye(2), m.ones(3)), None),
        (lambda m: m.linalg.eigh(m.ones(2, 3)), None),
        (lambda m: m.linalg.svd(m.ones(2)), None),
        (lambda m: m.linalg.solve(m.eye(2), m.ones(2, dtype=m.float64)), None),
        (lambda m: m.linalg.qr(m.ones(2, 2), mode="x"), None),
    ],
)
def test_argument_errors(fn, msg_arg):
    with pytest.raises(RuntimeError) as te:
        fn(torch)
    with pytest.raises(RuntimeError) as ee:
        fn(ember)
    assert str(ee.value) == str(te.value)


# --- cholesky, triangular ------------------------------------------------------------------
def test_cholesky_family():
    A = mat(2, 4, 4, kind="spd")
    compare(lambda m, a: m.linalg.cholesky(a), A)
    compare(lambda m, a: m.linalg.cholesky(a, upper=True), mat(4, 4, kind="spd"))
    compare(lambda m, a: m.cholesky(a), mat(3, 3, kind="spd"))
    L = ember.linalg.cholesky(mat(3, 3, kind="spd", rg=False)).requires_grad_()
    compare(lambda m, b, l: m.cholesky_solve(b, l), mat(3, 2, seed=3), L)
    compare(lambda m, l: m.cholesky_inverse(l), L.detach().requires_grad_())
    U = L.detach().mT.contiguous().requires_grad_()
    compare(lambda m, l: m.cholesky_inverse(l, upper=True), U)
    gradcheck(lambda a: ember.linalg.cholesky((a + a.mT) / 2), mat(3, 3, kind="spd"))


@pytest.mark.parametrize("upper", [True, False])
@pytest.mark.parametrize("left", [True, False])
@pytest.mark.parametrize("unit", [True, False])
def test_solve_triangular(upper, left, unit):
    A = mat(2, 3, 3)
    B = mat(2, 3, 4, seed=5) if left else mat(2, 4, 3, seed=5)
    compare(
        lambda m, a, b: m.linalg.solve_triangular(a, b, upper=upper, left=left, unitriangular=unit),
        A,
        B,
    )


def test_triangular_solve_legacy():
    for up in (True, False):
        for tr in (True, False):
            compare(
                lambda m, b, a, up=up, tr=tr: m.triangular_solve(b, a, upper=up, transpose=tr),
                mat(3, 2, seed=4),
                mat(3, 3),
            )


# --- QR ------------------------------------------------------------------------------------
@pytest.mark.parametrize("shape", [(4, 3), (3, 3), (3, 5), (2, 4, 3)])
def test_qr(shape):
    compare(lambda m, a: m.linalg.qr(a), mat(*shape))
    compare(lambda m, a: m.linalg.qr(a, mode="r")[1], mat(*shape), grad=False)
    compare(lambda m, a: m.qr(a, some=False), mat(*shape), grad=shape[-2] <= shape[-1])
    gradcheck(lambda a: ember.linalg.qr(a), mat(*shape))


def test_qr_backward_errors():
    for mode, shape in (("r", (3, 3)), ("complete", (4, 3))):
        a = mat(*shape)
        ta = to_torch(a)
        with pytest.raises(RuntimeError) as te:
            torch.linalg.qr(ta, mode=mode)[1].sum().backward()
        with pytest.raises(RuntimeError) as ee:
            ember.linalg.qr(a, mode=mode)[1].sum().backward()
        assert str(ee.value) == str(te.value)


def test_geqrf_householder_ormqr():
    A = mat(5, 3, rg=False)
    (ea, et), (ta, tt) = compare(lambda m, a: m.geqrf(a), A, grad=False)

    def fresh():
        return ea.detach().requires_grad_(), et.detach().requires_grad_()

    compare(lambda m, a, t: m.linalg.householder_product(a, t), *fresh())
    for left, tr in ((True, False), (True, True)):
        compare(
            lambda m, a, t, c, lf=left, tr=tr: m.ormqr(a, t, c, lf, tr), *fresh(), mat(5, 2, seed=8)
        )
    compare(lambda m, a, t, c: m.ormqr(a, t, c, False, False), *fresh(), mat(2, 5, seed=8))
    compare(lambda m, a: m.geqrf(a), mat(2, 3, 4, rg=False), grad=False)


# --- eigh / eig / svd ----------------------------------------------------------------------
def _eigh_loss(m, a):
    w, v = m.linalg.eigh(a)
    return w, v * v  # |v|^2 does not depend on the eigenvectors' signs


def test_eigh():
    compare(_eigh_loss, mat(2, 4, 4, kind="sym"))
    compare(lambda m, a: m.linalg.eigh(a, UPLO="U")[0], mat(4, 4))
    compare(lambda m, a: m.linalg.eigvalsh(a), mat(2, 3, 3, kind="sym"))
    compare(
        lambda m, a: m.linalg.eigvalsh(a), mat(3, 3, kind="sym", dtype=ember.float32), atol=1e-5
    )
    gradcheck(lambda a: _eigh_loss(ember, a + a.mT), mat(3, 3))


def test_eig_values():
    A = mat(2, 4, 4, rg=False)
    w = ember.linalg.eigvals(A)
    tw = torch.linalg.eigvals(to_torch(A))
    assert str(w.dtype) == str(tw.dtype)
    key = lambda z: np.sort_complex(np.round(z, 8))  # noqa: E731
    np.testing.assert_allclose(key(w.numpy()), key(tw.numpy()), atol=1e-8)
    ew, ev = ember.linalg.eig(A)
    recon = ev.numpy() @ (ew.numpy()[..., None] * np.linalg.inv(ev.numpy()))
    np.testing.assert_allclose(recon, A.numpy(), atol=1e-10)


def test_eig_gradient_of_values():
    # a symmetric matrix has real eigenvalues: sum of w (complex) through its real part
    A = mat(3, 3, kind="sym")
    ta = to_torch(A)
    w, v = ember.linalg.eig(A)
    node = w.grad_fn
    gw = np.array([1.0, 1.0, 1.0], dtype=np.complex128)
    g = type(node).backward(node, gw, None)
    tg = torch.autograd.grad(torch.linalg.eigvals(ta).real.sum(), ta)[0]
    np.testing.assert_allclose(g, tg.numpy(), atol=1e-8)


def _svd_loss(m, a):
    u, s, vh = m.linalg.svd(a, full_matrices=False)
    return s, u @ vh, (u * u).sum(-1), (vh * vh).sum(-2)


@pytest.mark.parametrize("shape", [(4, 3), (3, 5), (3, 3), (2, 4, 3)])
def test_svd(shape):
    compare(_svd_loss, mat(*shape))
    compare(lambda m, a: m.linalg.svdvals(a), mat(*shape))
    compare(lambda m, a: m.linalg.svd(a)[1], mat(*shape))
    gradcheck(lambda a: _svd_loss(ember, a), mat(*shape))


def test_svd_full_and_legacy():
    A = mat(4, 3)
    u, s, vh = ember.linalg.svd(A)
    assert tuple(u.shape) == (4, 4) and tuple(vh.shape) == (3, 3)
    compare(lambda m, a: (lambda r: (r[0] @ m.diag_embed(r[1]) @ r[2].mT, r[1]))(m.svd(a)), A)
    compare(lambda m, a: m.svd(a, compute_uv=False), mat(4, 3, rg=False), grad=False)
    e_u, e_s, e_v = ember.svd(mat(2, 5, 3, rg=False), some=False)
    assert tuple(e_u.shape) == (2, 5, 5) and tuple(e_v.shape) == (2, 3, 3)


# --- pinv, lstsq, rank ---------------------------------------------------------------------
@pytest.mark.parametrize("shape", [(4, 3), (3, 5), (2, 3, 3)])
def test_pinv(shape):
    compare(lambda m, a: m.linalg.pinv(a), mat(*shape))
    compare(lambda m, a: m.pinverse(a), mat(*shape))
    gradcheck(lambda a: ember.linalg.pinv(a), mat(*shape))
    S = mat(3, 3, kind="spd")
    compare(lambda m, a: m.linalg.pinv(a, hermitian=True), S)


def test_matrix_rank():
    a = ember.tensor([[1.0, 2.0, 3.0], [2.0, 4.0, 6.0], [1.0, 0.0, 1.0]], dtype=F64)
    compare(lambda m, x: m.linalg.matrix_rank(x), a, grad=False)
    compare(lambda m, x: m.linalg.matrix_rank(x, hermitian=True), a @ a.mT, grad=False)
    compare(lambda m, x: m.linalg.matrix_rank(x, atol=1.0, rtol=0.0), mat(2, 3, 4), grad=False)


@pytest.mark.parametrize("driver", [None, "gels", "gelsd", "gelss", "gelsy"])
def test_lstsq(driver):
    A, B = mat(2, 5, 3), mat(2, 5, 2, seed=3)
    compare(lambda m, a, b: m.linalg.lstsq(a, b, driver=driver), A, B)
    compare(lambda m, a, b: m.linalg.lstsq(a, b, driver=driver), mat(5, 3), mat(5, seed=2))
    compare(lambda m, a, b: m.linalg.lstsq(a, b, driver=driver).solution, mat(3, 3), mat(3, 2))


# --- LU ------------------------------------------------------------------------------------
@pytest.mark.parametrize("shape", [(4, 4), (2, 3, 3), (5, 3), (3, 5)])
def test_lu(shape):
    compare(lambda m, a: m.linalg.lu(a), mat(*shape))
    compare(lambda m, a: m.linalg.lu_factor(a), mat(*shape))
    gradcheck(lambda a: ember.linalg.lu(a)[1:], mat(*shape))


def test_lu_solve_unpack_legacy():
    A = mat(2, 4, 4, rg=False)
    LU0, piv = ember.linalg.lu_factor(A)

    def LU():
        return LU0.detach().requires_grad_()

    for left in (True, False):
        for adj in (True, False):
            b = mat(2, 4, 3, seed=2) if left else mat(2, 3, 4, seed=2)
            compare(
                lambda m, lu, p, b, lf=left, ad=adj: m.linalg.lu_solve(
                    lu, p, b, left=lf, adjoint=ad
                ),
                LU(),
                piv,
                b,
            )
    compare(lambda m, lu, p: m.lu_unpack(lu, p), LU(), piv)
    compare(lambda m, b, lu, p: m.lu_solve(b, lu, p), mat(2, 4, 3, seed=2), LU(), piv)
    compare(lambda m, a: m.lu(a, get_infos=True), A, grad=False)


# --- op_db samples -------------------------------------------------------------------------
def test_lu_pivots_complex_and_float32():
    A = mat(3, 6, 6, dtype=ember.float32, rg=False)
    compare(lambda m, a: m.linalg.lu_factor(a), A, grad=False, atol=1e-5)


# --- LDL -----------------------------------------------------------------------------------
LDL_CASES = [
    [[4.0, 1.0, 2.0], [1.0, 3.0, 0.0], [2.0, 0.0, 5.0]],  # no pivoting
    [[0.0, 1.0, 2.0], [1.0, 0.0, 3.0], [2.0, 3.0, 0.0]],  # 2x2 pivots
    [[1.0, 5.0, 2.0], [5.0, 1.0, 3.0], [2.0, 3.0, 1.0]],
    [[1.0, 0.0, 9.0, 0.0], [0.0, 2.0, 0.0, 1.0], [9.0, 0.0, 8.0, 0.5], [0.0, 1.0, 0.5, 0.1]],
]


@pytest.mark.parametrize("case", range(len(LDL_CASES)))
@pytest.mark.parametrize("hermitian", [False, True])
def test_ldl(case, hermitian):
    A = ember.tensor(LDL_CASES[case], dtype=F64)
    compare(lambda m, a: m.linalg.ldl_factor(a, hermitian=hermitian), A, grad=False)
    compare(lambda m, a: m.linalg.ldl_factor_ex(a, hermitian=hermitian), A, grad=False)
    B = mat(A.shape[0], 2, seed=3, rg=False)
    compare(
        lambda m, a, b: m.linalg.ldl_solve(
            *m.linalg.ldl_factor(a, hermitian=hermitian), b, hermitian=hermitian
        ),
        A,
        B,
        grad=False,
    )


def test_ldl_batched_random():
    A = mat(3, 6, 6, kind="sym", rg=False)
    compare(lambda m, a: m.linalg.ldl_factor(a), A, grad=False)
    compare(
        lambda m, a, b: m.linalg.ldl_solve(*m.linalg.ldl_factor(a), b),
        A,
        mat(3, 6, 2, rg=False),
        grad=False,
    )


# --- complex inputs (forward) --------------------------------------------------------------
def cmat(*shape, seed=0, herm=False):
    rng = np.random.default_rng(seed)
    a = rng.standard_normal(shape) + 1j * rng.standard_normal(shape)
    n = shape[-1]
    if herm:
        a = a @ np.conj(np.swapaxes(a, -1, -2)) + n * np.eye(n)
    return ember.from_numpy(a.astype(np.complex128))


def test_complex_forward():
    A, B, H = cmat(2, 3, 3), cmat(2, 3, 2, seed=1), cmat(3, 3, herm=True)
    for fn, args in (
        (lambda m, a, b: m.linalg.solve(a, b), (A, B)),
        (lambda m, a: m.linalg.inv(a), (A,)),
        (lambda m, a: m.linalg.det(a), (A,)),
        (lambda m, a: m.linalg.slogdet(a), (A,)),
        (lambda m, a: m.linalg.cholesky(a), (H,)),
        (lambda m, a: m.linalg.eigvalsh(a), (H,)),
        (lambda m, a: m.linalg.svdvals(a), (A,)),
        (lambda m, a: m.linalg.qr(a), (A,)),
        (lambda m, a: m.linalg.lu_factor(a), (A,)),
        (lambda m, a: m.linalg.pinv(a), (A,)),
        (lambda m, a: m.linalg.matrix_exp(a), (A,)),
        (lambda m, a: m.linalg.ldl_factor(a), (A + A.mT,)),
        (lambda m, a: m.linalg.ldl_factor(a, hermitian=True), (H,)),
        (lambda m, a: m.linalg.matrix_norm(a, "nuc"), (A,)),
    ):
        compare(fn, *args, grad=False, atol=1e-8)


@pytest.mark.parametrize("use_scipy", [True, False])
def test_lu_and_ldl_with_and_without_scipy(use_scipy, monkeypatch):
    """The NumPy paths (blocked LU, sytf2/hetf2) and SciPy's LAPACK give torch's factors."""
    from ember.ops import linalg_decomp, linalg_ldl

    monkeypatch.setattr(linalg_decomp, "USE_SCIPY", use_scipy)
    monkeypatch.setattr(linalg_ldl, "USE_SCIPY", use_scipy)
    rng = np.random.default_rng(4)
    a = ember.from_numpy(rng.standard_normal((2, 40, 40)))  # wider than one LU panel
    compare(lambda m, x: m.linalg.lu_factor(x), a, grad=False, atol=1e-10)
    compare(lambda m, x: m.linalg.lu_factor(x), a[0, :35, :10], grad=False, atol=1e-10)
    compare(lambda m, x: m.linalg.lu_factor(x), a[0, :10, :35], grad=False, atol=1e-10)
    c = rng.standard_normal((2, 7, 7)) + 1j * rng.standard_normal((2, 7, 7))
    for herm, x in (
        (True, c + np.conj(np.swapaxes(c, -1, -2))),
        (False, c + np.swapaxes(c, -1, -2)),
        (False, (c + np.swapaxes(c, -1, -2)).real.copy()),
    ):
        X, B = ember.from_numpy(x), ember.from_numpy(rng.standard_normal((2, 7, 2)).astype(x.dtype))
        compare(lambda m, x, h=herm: m.linalg.ldl_factor(x, hermitian=h), X, grad=False, atol=1e-10)
        compare(
            lambda m, x, b, h=herm: m.linalg.ldl_solve(
                *m.linalg.ldl_factor(x, hermitian=h), b, hermitian=h
            ),
            X,
            B,
            grad=False,
            atol=1e-10,
        )


def _cgrad_case(name):
    return {
        "svdvals": lambda m, a: m.linalg.svdvals(a).sum(),
        "det": lambda m, a: m.linalg.det(a).abs(),
        "inv": lambda m, a: m.linalg.inv(a).abs().sum(),
        "svd_U": lambda m, a: m.linalg.svd(a)[0].abs().sum(),
        "eigh_V": lambda m, a: m.linalg.eigh(a)[1].abs().sum() + m.linalg.eigh(a)[0].sum(),
        "eig": lambda m, a: m.linalg.eig(a)[1].abs().sum() + m.linalg.eigvals(a).abs().sum(),
        "qr": lambda m, a: m.linalg.qr(a)[1].abs().sum() + m.linalg.qr(a)[0].abs().sum(),
        "cholesky": lambda m, a: m.linalg.cholesky(a).abs().sum(),
        "solve": lambda m, a: m.linalg.solve(a, a[..., :1] * 2).abs().sum(),
    }[name]


@pytest.mark.parametrize(
    "name", ["svdvals", "det", "inv", "svd_U", "eigh_V", "eig", "qr", "cholesky", "solve"]
)
def test_complex_gradients(name):
    herm = name in ("eigh_V", "cholesky")
    A = cmat(3, 3, seed=2, herm=herm).requires_grad_()
    compare(_cgrad_case(name), A, grad=False)  # values
    ta = to_torch(A)
    _cgrad_case(name)(torch, ta).backward()
    _cgrad_case(name)(ember, A).backward()
    np.testing.assert_allclose(A.grad.numpy(), ta.grad.numpy(), atol=1e-10)


@pytest.mark.parametrize("which", ["svd", "eig"])
def test_complex_gauge_errors(which):
    A = cmat(3, 3, seed=1).requires_grad_()
    ta = to_torch(A)

    def loss(m, a):
        v = m.linalg.svd(a)[0] if which == "svd" else m.linalg.eig(a)[1]
        return (v[0, 0] + v[0, 1]).abs()  # depends on each column's phase

    with pytest.raises(RuntimeError) as te:
        loss(torch, ta).backward()
    with pytest.raises(RuntimeError) as ee:
        loss(ember, A).backward()
    assert str(ee.value) == str(te.value)


@pytest.mark.parametrize(
    "fn",
    [
        lambda m, a: m.linalg.inv(a),
        lambda m, a: m.linalg.det(a),
        lambda m, a: m.linalg.slogdet(a)[1],
        lambda m, a: m.logdet(a @ a.mT + m.eye(3, dtype=a.dtype)),
        lambda m, a: m.linalg.solve(a, a.sum(-1, keepdim=True)),
        lambda m, a: m.linalg.solve(a + 3 * m.eye(3, dtype=a.dtype), a[..., :2], left=True),
        lambda m, a: m.linalg.cholesky(a @ a.mT + m.eye(3, dtype=a.dtype)),
    ],
)
def test_double_backward(fn):
    from tests._support.ops_check import compare_double_backward

    compare_double_backward(fn, (2, 3, 3))


@pytest.mark.parametrize("fn", ["eigh", "eig"])
@pytest.mark.parametrize("c", [1e-1, 3e-2, 1e-5])
def test_eigenvector_phase_check_has_torchs_tolerance(fn, c):
    # a loss that depends on the eigenvectors' phase: torch raises only once the imaginary part
    # of diag(V^H gV) is past 1e-2 (c = 1e-1 and, for eig's unnormalised phase, 3e-2)
    rng = np.random.default_rng(0)
    a = rng.standard_normal((4, 4)) + 1j * rng.standard_normal((4, 4))
    h = a @ a.conj().T + 4 * np.eye(4)
    outcomes = []
    for m in (ember, torch):
        x = m.from_numpy(h.copy()).requires_grad_()
        v = getattr(m.linalg, fn)(x)[1]
        try:
            (c * v[0, 0].imag).backward()
            outcomes.append(None)
        except RuntimeError as e:
            outcomes.append(str(e))
    assert outcomes[0] == outcomes[1]
