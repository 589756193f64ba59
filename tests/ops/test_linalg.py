"""einsum / outer / baddbmm / addmv / addbmm / addr / cross (and matmul errors) against torch."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import ember
from tests._support.ops_check import compare, compare_double_backward, gradcheck, randn


# --- einsum --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "eq,shapes",
    [
        ("ij,jk->ik", [(2, 3), (3, 4)]),
        ("ij,jk", [(2, 3), (3, 4)]),
        ("bij,bjk->bik", [(2, 3, 4), (2, 4, 5)]),
        ("i,j->ij", [(3,), (4,)]),
        ("i,i->", [(5,), (5,)]),
        ("ij->ji", [(2, 3)]),
        ("ij->", [(2, 3)]),
        ("ii->i", [(3, 3)]),
        ("ii", [(3, 3)]),
        ("iji->j", [(2, 4, 2)]),
        ("ij,ij->i", [(3, 4), (3, 4)]),
        ("ij,k->ik", [(2, 3), (4,)]),
        ("...ij,...jk->...ik", [(2, 3, 4), (4, 5)]),
        ("b...,b...->b", [(2, 3, 4), (2, 3, 4)]),
        ("ba,A", [(2, 3), (4,)]),
        ("bhqd,bhkd->bhqk", [(2, 2, 3, 4), (2, 2, 5, 4)]),
        ("ij,jk,kl->il", [(2, 3), (3, 4), (4, 2)]),
        ("bij,bjk->bik", [(1, 2, 3), (4, 3, 5)]),
    ],
)
def test_einsum(eq, shapes):
    xs = [randn(*s, seed=i) for i, s in enumerate(shapes)]
    compare(lambda m, *xs: m.einsum(eq, *xs), *xs, atol=1e-5)


def test_einsum_list_operands_and_noncontiguous():
    a, b = randn(3, 2), randn(4, 2, seed=2)
    compare(lambda m, a, b: m.einsum("ji,kj->ik", [a.t(), b]), a, b)
    a.grad = b.grad = None
    compare(lambda m, a, b: m.einsum("ij,jk->ik", a, b.t()), a, b)


def test_einsum_errors():
    a, b = randn(2, 3), randn(4, 5)
    with pytest.raises(RuntimeError, match="subscript j has size 4 for operand 1 which does not"):
        ember.einsum("ij,jk->ik", a, b)
    with pytest.raises(RuntimeError, match="fewer operands were provided than specified"):
        ember.einsum("ij,jk", a)
    with pytest.raises(RuntimeError, match="subscript i is repeated for operand 0 but the sizes"):
        ember.einsum("ii->i", a)
    with pytest.raises(RuntimeError, match="expected scalar type Long but found Float"):
        ember.einsum("i,i->", ember.arange(3), randn(3))


def test_einsum_gradcheck():
    gradcheck(lambda a, b: ember.einsum("bij,bjk->bik", a, b), (2, 2, 3), (2, 3, 2))
    gradcheck(lambda a: ember.einsum("ii->i", a), (3, 3))
    gradcheck(lambda a, b: ember.einsum("ij,k->i", a, b), (2, 3), (2,))


# --- outer / addmv / baddbmm / addbmm / addr ---------------------------------------------
def test_outer_ger():
    a, b = randn(3), randn(4, seed=1)
    compare(lambda m, a, b: m.outer(a, b), a, b)
    a.grad = b.grad = None
    compare(lambda m, a, b: a.ger(b), a, b)
    compare(lambda m, b: m.outer(m.arange(3), b), b, grad=False)
    with pytest.raises(RuntimeError, match="outer: Expected 1-D argument self, but got 2-D"):
        ember.outer(randn(3, 1), b)


@pytest.mark.parametrize("beta,alpha", [(1, 1), (0.5, 2.0), (0, 1)])
def test_baddbmm_addbmm(beta, alpha):
    inp, b1, b2 = randn(2, 3, 5), randn(2, 3, 4, seed=1), randn(2, 4, 5, seed=2)
    compare(lambda m, i, x, y: m.baddbmm(i, x, y, beta=beta, alpha=alpha), inp, b1, b2, atol=1e-5)
    inp.grad = b1.grad = b2.grad = None
    bias = randn(5, seed=3)
    compare(lambda m, i, x, y: i.baddbmm(x, y, beta=beta, alpha=alpha), bias, b1, b2, atol=1e-5)
    b1.grad = b2.grad = None
    compare(
        lambda m, i, x, y: m.addbmm(i, x, y, beta=beta, alpha=alpha),
        randn(3, 5, seed=4),
        b1,
        b2,
        atol=1e-5,
    )


def test_baddbmm_errors():
    with pytest.raises(RuntimeError, match="Expected size for first two dimensions of batch2"):
        ember.baddbmm(randn(2, 3, 5), randn(2, 3, 4), randn(2, 5, 5))
    with pytest.raises(RuntimeError, match="The expanded size of the tensor \\(5\\) must match"):
        ember.baddbmm(randn(2, 3, 6), randn(2, 3, 4), randn(2, 4, 5))
    with pytest.raises(RuntimeError, match="batch1 must be a 3D tensor"):
        ember.baddbmm(randn(2, 3, 5), randn(3, 4), randn(2, 4, 5))


@pytest.mark.parametrize("beta,alpha", [(1, 1), (2.0, -1.0), (0, 0.5)])
def test_addmv_addr(beta, alpha):
    inp, mat, vec = randn(3), randn(3, 4, seed=1), randn(4, seed=2)
    compare(lambda m, i, a, v: m.addmv(i, a, v, beta=beta, alpha=alpha), inp, mat, vec)
    inp.grad = mat.grad = vec.grad = None
    compare(lambda m, i, a, v: i.addmv(a.t().t(), v, beta=beta, alpha=alpha), inp, mat, vec)
    v1, v2 = randn(3, seed=5), randn(4, seed=6)
    compare(lambda m, i, x, y: m.addr(i, x, y, beta=beta, alpha=alpha), randn(3, 4, seed=7), v1, v2)


def test_addmv_errors_and_addmm_message():
    with pytest.raises(RuntimeError, match="size mismatch, got input \\(3\\), mat \\(3x4\\), vec"):
        ember.addmv(randn(3), randn(3, 4), randn(5))
    with pytest.raises(RuntimeError, match="size mismatch, got input \\(4\\), mat \\(3x4\\)"):
        ember.addmv(randn(4), randn(3, 4), randn(4))
    with pytest.raises(
        RuntimeError, match="mat1 and mat2 shapes cannot be multiplied \\(2x3 and 4x5\\)"
    ):
        ember.addmm(randn(2, 5), randn(2, 3), randn(4, 5))
    with pytest.raises(
        RuntimeError, match="mat1 and mat2 shapes cannot be multiplied \\(2x3 and 4x5\\)"
    ):
        randn(2, 3) @ randn(4, 5)


def test_inplace_addmm_family():
    a = randn(2, 5, rg=False)
    r = a.addmm_(randn(2, 3, rg=False), randn(3, 5, rg=False))
    assert r is a
    compare(
        lambda m, i, x, y: (i * 1).baddbmm_(x, y),
        randn(2, 3, 5),
        randn(2, 3, 4, seed=1),
        randn(2, 4, 5, seed=2),
        atol=1e-5,
    )


# --- cross ------------------------------------------------------------------------------------
def test_cross():
    a, b = randn(4, 3), randn(4, 3, seed=1)
    compare(lambda m, a, b: m.cross(a, b, dim=1), a, b)
    a.grad = b.grad = None
    compare(lambda m, a, b: m.cross(a.t(), b.t(), dim=0), a, b)
    a.grad = b.grad = None
    c = randn(1, 3, seed=2)
    compare(lambda m, a, c: a.cross(c, dim=-1), a, c)
    with pytest.raises(RuntimeError, match="inputs must have the same number of dimensions"):
        ember.cross(a, randn(3), dim=-1)
    with pytest.raises(RuntimeError, match="no dimension of size 3 in input"):
        ember.cross(randn(2, 2), randn(2, 2))
    gradcheck(lambda a, b: ember.cross(a, b, dim=1), (2, 3), (2, 3))


@settings(max_examples=20, deadline=None)
@given(b=st.integers(1, 3), n=st.integers(1, 4), k=st.integers(1, 4), p=st.integers(1, 4))
def test_batched_products_hypothesis(b, n, k, p):
    x, y = randn(b, n, k, seed=b + n), randn(b, k, p, seed=k + p)
    compare(
        lambda m, x, y: (
            m.einsum("bnk,bkp->bnp", x, y),
            m.baddbmm(m.zeros(1), x, y),
            m.einsum("bnk->kn", x),
        ),
        x,
        y,
        atol=1e-5,
    )


def test_tensordot_trace_kron():
    a, b = randn(2, 3, 4), randn(3, 4, 5, seed=3)
    compare(
        lambda m, a, b: (
            m.tensordot(a, b, 2),
            m.tensordot(a, b, ([1], [0])),
            m.tensordot(a, b, dims=([1, 2], [0, 1])),
        ),
        a,
        b,
        atol=1e-5,
    )
    x = randn(3, 4)
    compare(lambda m, x: (m.trace(x), m.kron(x, x[:2, :2]), m.kron(x[0], x[1])), x)
    compare(
        lambda m: (
            m.trace(m.arange(9).reshape(3, 3)),
            m.kron(m.tensor([[1, 2]]), m.tensor([[1], [1]])),
        ),
        grad=False,
    )
    with pytest.raises(RuntimeError, match="contracted dimensions need to match"):
        ember.tensordot(a, b, ([0], [0]))


def test_cdist_dist():
    x1, x2 = randn(5, 3), randn(4, 3, seed=2)
    compare(
        lambda m, x, y: (m.cdist(x, y), m.cdist(x, y, p=1), m.dist(x[:4], y), m.dist(x[:4], y, 3)),
        x1,
        x2,
        atol=1e-5,
    )
    b1, b2 = randn(2, 3, 4), randn(2, 5, 4, seed=1)
    compare(lambda m, x, y: m.cdist(x, y), b1, b2, atol=1e-5)
    gradcheck(lambda x, y: ember.cdist(x, y), (3, 2), (2, 2))


@pytest.mark.parametrize(
    "eq,shapes",
    [
        ("ij,jk->ik", [(2, 3), (3, 4)]),
        ("ii->i", [(3, 3)]),
        ("ij,k->i", [(2, 3), (2,)]),
        ("bij,bjk->bik", [(1, 2, 3), (4, 3, 5)]),
        ("iji,j->", [(2, 3, 2), (3,)]),
    ],
)
def test_einsum_double_backward(eq, shapes):
    compare_double_backward(lambda m, *xs: m.einsum(eq, *xs) ** 2, *shapes)


def test_cross_double_backward():
    compare_double_backward(lambda m, a, b: m.cross(a, b, dim=1) ** 2, (2, 3), (2, 3))


def test_chain_matmul():
    a, b, c = randn(2, 3), randn(3, 4, seed=2), randn(4, 2, seed=3)
    compare(lambda m, a, b, c: (m.chain_matmul(a, b, c), m.chain_matmul(a)), a, b, c, atol=1e-5)


def test_baddbmm_beta0_double_backward():
    compare_double_backward(
        lambda m, i, a, b: m.baddbmm(i, a, b, beta=0) ** 2, (2, 2, 2), (2, 2, 3), (2, 3, 2)
    )


_ERRORS = {
    "prod_dim_tuple": lambda m: m.prod(m.ones(2, 3), (0, 1)),
    "norm_bad_order": lambda m: m.norm(m.ones(3), "abc"),
    "gather_float_index": lambda m: m.gather(m.ones(2, 2), 1, m.ones(2, 2)),
    "repeat_negative": lambda m: m.ones(3).repeat(-1),
    "unfold_negative": lambda m: m.ones(3).unfold(0, -1, 1),
    "einsum_bad_char": lambda m: m.einsum("i1->i", m.ones(3)),
    "einsum_unknown_out": lambda m: m.einsum("i->j", m.ones(3)),
    "histc_int": lambda m: m.histc(m.ones(3, dtype=m.long)),
    "quantile_empty": lambda m: m.quantile(m.ones(0), 0.5),
    "cov_3d": lambda m: m.cov(m.ones(2, 2, 2)),
    "sum_to_size": lambda m: m.ones(2, 3).sum_to_size(2, 2),
    "tensordot_negative": lambda m: m.tensordot(m.ones(2), m.ones(2), -1),
    "trace_1d": lambda m: m.trace(m.ones(3)),
    "cdist_cols": lambda m: m.cdist(m.ones(3, 2), m.ones(3, 4)),
    "addbmm_2d": lambda m: m.addbmm(m.ones(2, 2), m.ones(2, 2), m.ones(2, 2, 2)),
    "searchsorted_dims": lambda m: m.searchsorted(m.ones(2, 3), m.ones(3, 1)),
    "mode_empty": lambda m: m.mode(m.ones(0)),
    "block_diag_3d": lambda m: m.block_diag(m.ones(1, 1, 1)),
}


@pytest.mark.parametrize("name", sorted(_ERRORS))
def test_error_parity_with_torch(name):
    import torch

    fn = _ERRORS[name]
    with pytest.raises(Exception) as te:
        fn(torch)
    with pytest.raises(type(te.value)) as ee:
        fn(ember)
    assert str(ee.value)[:50] == str(te.value)[:50]


# --- issue 14's wrong answers: integer factors, one-GEMM addbmm ---------------------------
def test_integer_products_truncate_float_alpha_beta_as_torch():
    import numpy as np

    from tests._support.torch_ref import assert_same, torch

    i = np.arange(6).reshape(2, 3)
    for fn in (
        lambda m: m.addmv(m.tensor([1, 2]), m.tensor(i), m.tensor([1, 1, 1]), beta=1.5, alpha=2.7),
        lambda m: m.baddbmm(
            m.tensor(i[None, :, :2]),
            m.tensor(i[None]),
            m.tensor(i.T[None, :, :2].copy()),
            beta=1.5,
            alpha=2.7,
        ),
        lambda m: m.addbmm(
            m.tensor(i[:, :2]), m.tensor(i[None]), m.tensor(i.T[None].copy()), beta=1.5, alpha=2.7
        ),
        lambda m: m.addr(m.tensor([[True, False]]), m.tensor([True]), m.tensor([True, False])),
    ):
        assert_same(fn(ember), fn(torch))


def test_addbmm_float32_accumulates_as_accurately_as_torch():
    import numpy as np

    from tests._support.torch_ref import torch

    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((10, 5, 300)), rng.standard_normal((10, 300, 4))
    i = rng.standard_normal((5, 4))
    ref = torch.addbmm(*(torch.tensor(v) for v in (i, a, b))).numpy()
    f32 = [v.astype(np.float32) for v in (i, a, b)]
    err_e = abs(ember.addbmm(*(ember.tensor(v) for v in f32)).numpy() - ref).max()
    err_t = abs(torch.addbmm(*(torch.tensor(v) for v in f32)).numpy() - ref).max()
    assert err_e <= 2 * err_t
    compare(lambda m, i, a, b: m.addbmm(i, a, b), randn(5, 4), randn(3, 5, 6), randn(3, 6, 4))


def test_rmatmul_keeps_both_operands_in_the_graph():
    a, b = randn(2, 3), randn(3, 2)
    compare(lambda m, a, b: a.__rmatmul__(b), a, b)


def test_complex_matmul_gradients_use_the_conjugate_as_torch():
    import numpy as np

    from tests._support.torch_ref import assert_same, torch

    rng = np.random.default_rng(0)
    c = lambda *s: rng.standard_normal(s) + 1j * rng.standard_normal(s)  # noqa: E731
    for sa, sb in (((2, 3), (3, 2)), ((3,), (3,)), ((2, 3, 4), (4,)), ((3,), (3, 2))):
        a, b = c(*sa), c(*sb)
        outs = []
        for m in (ember, torch):
            x, y = m.tensor(a, requires_grad=True), m.tensor(b, requires_grad=True)
            (x @ y).abs().sum().backward()
            outs.append((x.grad, y.grad))
        assert_same(outs[0][0], outs[1][0])
        assert_same(outs[0][1], outs[1][1])
