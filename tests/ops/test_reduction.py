"""Reductions and scans against torch: values, dtypes, shapes, gradients, errors."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import ember
from tests._support.ops_check import compare, compare_double_backward, gradcheck, randn
from tests._support.torch_ref import assert_same, to_torch, torch


# --- prod -------------------------------------------------------------------------------------
@pytest.mark.parametrize("dim,keepdim", [(None, False), (0, False), (1, True), (-1, False)])
def test_prod(dim, keepdim):
    x = randn(3, 4)
    if dim is None:
        compare(lambda m, x: m.prod(x), x)
    else:
        compare(lambda m, x: m.prod(x, dim, keepdim), x)


def test_prod_with_zeros_gradient():
    x = ember.tensor([[2.0, 0.0, 3.0], [0.0, 0.0, 4.0], [1.0, 2.0, 3.0]], requires_grad=True)
    compare(lambda m, x: m.prod(x, 1), x)
    x.grad = None
    compare(lambda m, x: x.prod(), x)


def test_prod_int_dtype_and_noncontiguous():
    a = ember.tensor([[1, 2], [3, 4]])
    compare(lambda m, a: m.prod(a), a, grad=False)
    compare(lambda m, a: m.prod(a.bool()), a, grad=False)
    compare(lambda m, a: m.prod(a, 0, dtype=m.float64), a, grad=False)
    compare(lambda m, x: m.prod(x.t(), 1), randn(4, 3))


def test_prod_gradcheck():
    gradcheck(lambda x: ember.prod(x, 1), (3, 4))
    gradcheck(lambda x: ember.prod(x), (2, 3))


# --- max / min / amax / amin / argmax ----------------------------------------------------------
@pytest.mark.parametrize("op", ["max", "min"])
def test_max_min_forms(op):
    x = randn(3, 5)
    compare(lambda m, x: getattr(m, op)(x), x)
    x.grad = None
    compare(lambda m, x: getattr(m, op)(x, 1), x)
    x.grad = None
    compare(lambda m, x: getattr(m, op)(x, dim=0, keepdim=True), x)
    x.grad = None
    y = randn(5, rg=True, seed=3)
    compare(lambda m, x, y: getattr(m, op)(x, y), x, y)
    x.grad = None
    r = getattr(x, op)(1)
    assert isinstance(r, tuple) and r.values.shape == (3,) and r.indices.dtype is ember.int64


def test_max_ties_split_gradient_and_dim_picks_one():
    x = ember.tensor([[1.0, 3.0, 3.0], [2.0, 2.0, 0.0]], requires_grad=True)
    compare(lambda m, x: m.max(x), x)
    x.grad = None
    compare(lambda m, x: m.amax(x, 1), x)
    x.grad = None
    compare(lambda m, x: m.amin(x, (0, 1), keepdim=True), x)
    x.grad = None
    compare(lambda m, x: m.max(x, 1).values, x)


def test_max_int_bool_and_nan():
    a = ember.tensor([[4, 1, 7], [2, 9, 3]])
    compare(
        lambda m, a: (m.max(a), m.min(a, 0), m.amax(a, -1), m.argmax(a), m.argmin(a, 1)),
        a,
        grad=False,
    )
    b = ember.tensor([True, False])
    compare(lambda m, b: (m.max(b), m.amin(b)), b, grad=False)
    n = ember.tensor([1.0, float("nan"), 3.0])
    compare(lambda m, n: (m.max(n), m.max(n, 0), m.argmax(n)), n, grad=False)


def test_max_min_errors():
    e = ember.empty(0)
    with pytest.raises(RuntimeError, match="Expected reduction dim to be specified"):
        ember.max(e)
    with pytest.raises(IndexError, match="Expected reduction dim 0 to have non-zero size"):
        ember.max(ember.empty(0, 3), 0)
    with pytest.raises(IndexError, match="Dimension out of range"):
        ember.max(randn(2, 3), 2)
    with pytest.raises(RuntimeError, match="does not support bool input"):
        ember.argmax(ember.tensor([True]))
    with pytest.raises(IndexError, match="Expected reduction dim to be specified"):
        ember.argmax(e)


def test_argmax_keepdim_and_scalar():
    x = randn(3, 4, rg=False)
    compare(
        lambda m, x: (
            m.argmax(x, 1, keepdim=True),
            m.argmin(x, keepdim=True),
            m.argmax(x[0, 0]),
            m.max(x[0, 0], 0),
        ),
        x,
        grad=False,
    )


def test_aminmax_median():
    x = randn(4, 5)
    compare(lambda m, x: tuple(m.aminmax(x)), x)
    x.grad = None
    compare(lambda m, x: tuple(m.aminmax(x, dim=1, keepdim=True)), x)
    x.grad = None
    compare(lambda m, x: m.median(x), x)
    x.grad = None
    compare(lambda m, x: tuple(m.median(x, 1)), x)


def test_amax_gradcheck():
    gradcheck(lambda x: ember.amax(x, 1), (3, 4))
    gradcheck(lambda x: ember.max(x, 0).values, (3, 4))


# --- var / std -----------------------------------------------------------------------------------
@pytest.mark.parametrize("op", ["var", "std"])
def test_var_std(op):
    x = randn(4, 5)
    for call in (
        lambda m, x: getattr(m, op)(x),
        lambda m, x: getattr(m, op)(x, 0),
        lambda m, x: getattr(m, op)(x, 1, keepdim=True),
        lambda m, x: getattr(m, op)(x, (0, 1), unbiased=False),
        lambda m, x: getattr(m, op)(x, 1, correction=0),
        lambda m, x: getattr(m, op)(x, False),
        lambda m, x: getattr(x.t(), op)(1, True),
    ):
        x.grad = None
        compare(call, x)


def test_var_mean_std_mean_and_errors():
    x = randn(3, 4)
    compare(lambda m, x: m.var_mean(x, 1), x)
    x.grad = None
    compare(lambda m, x: m.std_mean(x, dim=0, keepdim=True, correction=0), x)
    with pytest.raises(RuntimeError, match="std and var only support floating point"):
        ember.var(ember.tensor([1, 2]))
    with pytest.warns(UserWarning):
        torch.var(torch.ones(1))
    assert np.isnan(ember.var(ember.ones(1)).item())


def test_var_std_gradcheck():
    gradcheck(lambda x: ember.var(x, 1), (3, 4))
    gradcheck(lambda x: ember.std(x, 0, correction=0), (3, 4))


# --- norm / logsumexp ----------------------------------------------------------------------------
@pytest.mark.parametrize("p", ["fro", 1, 2, 3, float("inf"), float("-inf"), 0])
def test_norm(p):
    x = randn(3, 4)
    compare(lambda m, x: m.norm(x, p), x)
    x.grad = None
    compare(lambda m, x: x.norm(p, dim=1, keepdim=True), x)


def test_norm_zero_and_errors():
    z = ember.zeros(3, requires_grad=True)
    compare(lambda m, z: m.norm(z), z)
    with pytest.raises(RuntimeError, match="Expected a floating point or complex tensor"):
        ember.norm(ember.tensor([1, 2]))
    gradcheck(lambda x: ember.norm(x, dim=1), (3, 4))
    gradcheck(lambda x: ember.norm(x, 3), (3, 4))


def test_logsumexp():
    x = randn(3, 4)
    compare(lambda m, x: m.logsumexp(x, 1), x)
    x.grad = None
    compare(lambda m, x: x.logsumexp((0, 1), keepdim=True), x)
    big = ember.tensor([[1000.0, 1000.0], [-float("inf"), -float("inf")]], requires_grad=True)
    compare(lambda m, b: m.logsumexp(b, 1), big, grad=False)
    compare(lambda m, a: m.logsumexp(a, 0), ember.tensor([1, 2, 3]), grad=False)
    gradcheck(lambda x: ember.logsumexp(x, 0), (3, 4))


def test_logsumexp_double_backward():
    compare_double_backward(lambda m, x: m.logsumexp(x, 1), (3, 4))


# --- any / all / count_nonzero ----------------------------------------------------------------
def test_any_all_count_nonzero():
    a = ember.tensor([[0, 1, 2], [0, 0, 3]])
    compare(
        lambda m, a: (
            m.any(a),
            m.all(a),
            m.any(a, 0),
            m.all(a, 1, keepdim=True),
            m.any(a, (0, 1)),
            m.count_nonzero(a),
            m.count_nonzero(a, 1),
            m.count_nonzero(a, (0, 1)),
            a.bool().all(),
            m.any(a.to(m.uint8)),
            m.all(a.float(), 0),
        ),
        a,
        grad=False,
    )


# --- cumulative --------------------------------------------------------------------------------
def test_cumsum_cumprod():
    x = randn(3, 4)
    compare(lambda m, x: m.cumsum(x, 1), x)
    x.grad = None
    compare(lambda m, x: x.t().cumsum(0), x)
    x.grad = None
    compare(lambda m, x: m.cumprod(x, 0), x)
    x.grad = None
    compare(lambda m, x: m.cumprod(x, 1, dtype=m.float64), x)
    a = ember.tensor([[1, 2], [3, 4]])
    compare(
        lambda m, a: (m.cumsum(a, 0), m.cumsum(a.bool(), 1), m.cumprod(a.int(), 0)), a, grad=False
    )
    compare(lambda m: m.cumsum(m.tensor(3.0), 0), grad=False)


def test_cumprod_with_zeros_gradient():
    x = ember.tensor([[2.0, 0.0, 3.0, 0.0, 4.0], [1.0, 2.0, 0.0, 5.0, 1.0]], requires_grad=True)
    compare(lambda m, x: m.cumprod(x, 1), x)


def test_cummax_cummin_logcumsumexp():
    x = ember.tensor([[1.0, 3.0, 2.0, 3.0, 5.0], [4.0, 1.0, 1.0, 0.0, 2.0]], requires_grad=True)
    compare(lambda m, x: tuple(m.cummax(x, 1)), x)
    x.grad = None
    compare(lambda m, x: tuple(m.cummin(x, 1)), x)
    x.grad = None
    compare(lambda m, x: m.logcumsumexp(x, 1), x)


def test_cumulative_gradcheck_and_double_backward():
    gradcheck(lambda x: ember.cumsum(x, 1), (3, 4))
    gradcheck(lambda x: ember.cumprod(x, 0), (3, 4))
    gradcheck(lambda x: ember.logcumsumexp(x, 1), (2, 4))
    compare_double_backward(lambda m, x: m.cumsum(x, 1) ** 2, (2, 3))


def test_errors_dim_out_of_range():
    x = randn(2, 3)
    for fn in (
        lambda: ember.prod(x, 2),
        lambda: ember.cumsum(x, -3),
        lambda: ember.var(x, 5),
        lambda: ember.amax(x, (0, 2)),
        lambda: ember.logsumexp(x, 3),
    ):
        with pytest.raises(IndexError, match="Dimension out of range"):
            fn()


@settings(max_examples=20, deadline=None)
@given(shape=st.lists(st.integers(1, 4), min_size=1, max_size=3), data=st.data())
def test_reductions_hypothesis(shape, data):
    dim = data.draw(st.integers(-len(shape), len(shape) - 1))
    keep = data.draw(st.booleans())
    x = randn(*shape, seed=len(shape) * 11 + dim)
    compare(
        lambda m, x: (
            m.amax(x, dim, keep),
            m.max(x, dim, keep).values,
            m.var(x, dim, keepdim=keep, correction=0),
            m.norm(x, 2, dim, keep),
            m.logsumexp(x, dim, keep),
            m.cumsum(x, dim),
            m.prod(x, dim, keep),
        ),
        x,
    )


def test_sum_of_transposed_matches():
    x = randn(3, 4, rg=False)
    e, t = x.t(), to_torch(x).t()
    assert_same(ember.amax(e, 0), torch.amax(t, 0))
    assert np.array_equal(ember.argmax(e, 1).numpy(), torch.argmax(t, 1).numpy())


def _t(v):
    return ember.tensor(v, requires_grad=True)


@pytest.mark.parametrize(
    "name",
    [
        "median_ties",
        "median_dim_ties",
        "norm_inf_ties",
        "std_zero",
        "prod_zeros",
        "lse_neg_inf",
        "amax_nan",
        "cummax_ties",
        "norm2_zero_row",
        "norm3_zero",
        "var_keep_1d",
    ],
)
def test_edge_gradients(name):
    fn, x = {
        "median_ties": (lambda m, x: m.median(x), [1.0, 2.0, 2.0, 2.0, 3.0]),
        "median_dim_ties": (
            lambda m, x: m.median(x, 1).values,
            [[1.0, 2.0, 2.0, 3.0], [5.0, 5.0, 5.0, 5.0]],
        ),
        "norm_inf_ties": (lambda m, x: m.norm(x, float("inf")), [1.0, -3.0, 3.0, 2.0]),
        "std_zero": (lambda m, x: m.std(x, 1), [[1.0, 1.0, 1.0], [1.0, 2.0, 3.0]]),
        "prod_zeros": (lambda m, x: m.prod(x, 0), [[2.0, 0.0], [0.0, 0.0], [3.0, 1.0]]),
        "lse_neg_inf": (lambda m, x: m.logsumexp(x, 1), [[-float("inf"), 0.0], [1.0, 2.0]]),
        "amax_nan": (lambda m, x: m.amax(x, 1), [[1.0, float("nan")], [3.0, 4.0]]),
        "cummax_ties": (lambda m, x: m.cummax(x, 0).values, [1.0, 1.0, 0.0, 1.0]),
        "norm2_zero_row": (lambda m, x: m.norm(x, 2, 1), [[0.0, 0.0], [3.0, 4.0]]),
        "norm3_zero": (lambda m, x: m.norm(x, 3), [0.0, -2.0, 3.0]),
        "var_keep_1d": (lambda m, x: m.var(x, 0, keepdim=True), [1.0, 2.0, 4.0]),
    }[name]
    compare(fn, _t(x))


def test_edge_values_and_errors():
    compare(
        lambda m: (
            m.median(m.tensor([4.0, 1.0, 3.0, 2.0])),
            m.norm(m.zeros(0)),
            m.logsumexp(m.tensor([float("inf"), 1.0]), 0),
            tuple(m.max(m.tensor(2.0), 0)),
            m.prod(m.tensor(2.0), 0, True),
            m.cumsum(m.tensor([1, 2], dtype=m.int8), 0),
            m.all(m.zeros(0)),
        ),
        grad=False,
    )
    with pytest.raises(RuntimeError, match="cannot compute aminmax over an empty dimension"):
        ember.aminmax(ember.zeros(0))


@pytest.mark.parametrize("dt", ["float16", "bfloat16"])
def test_low_precision_forward(dt):
    x = randn(3, 4, rg=False).to(getattr(ember, dt))
    compare(
        lambda m, x: (
            m.var(x, 1),
            m.std_mean(x, 0),
            m.norm(x),
            m.logsumexp(x, 1),
            m.max(x, 1),
            m.cumsum(x, 1),
            m.prod(x, 1),
            m.amax(x),
        ),
        x,
        grad=False,
        atol=5e-2,
        rtol=2e-2,
    )


_DOUBLE = {
    "max": lambda m, x: m.max(x) ** 2,
    "max_dim": lambda m, x: m.max(x, 1).values ** 2,
    "amin_keep": lambda m, x: m.amin(x, (0, 1), keepdim=True) ** 2,
    "var": lambda m, x: m.var(x, 1) ** 2,
    "std": lambda m, x: m.std(x, 0, keepdim=True, correction=0),
    "norm2": lambda m, x: m.norm(x, dim=1),
    "norm3": lambda m, x: m.norm(x, 3, 1),
    "norm_inf": lambda m, x: m.norm(x, float("inf"), 1) ** 2,
    "cummax": lambda m, x: m.cummax(x, 1).values ** 2,
}


@pytest.mark.parametrize("name", sorted(_DOUBLE))
def test_double_backward(name):
    compare_double_backward(_DOUBLE[name], (3, 4))


@pytest.mark.parametrize("op", ["prod", "norm", "var", "cumprod", "logsumexp", "amax"])
def test_inplace_change_of_saved_input_is_detected(op):
    fn = {
        "prod": lambda y: y.prod(),
        "norm": lambda y: y.norm(),
        "var": lambda y: y.var(),
        "cumprod": lambda y: y.cumprod(0).sum(),
        "logsumexp": lambda y: y.logsumexp(0),
        "amax": lambda y: y.amax(),
    }[op]
    x = ember.randn(3, requires_grad=True)
    y = x * 1
    z = fn(y)
    y.add_(1)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        z.backward()


def test_cov_corrcoef():
    compare(
        lambda m: (
            m.cov(m.tensor([[1, 2, 4], [3, 1, 2]])),
            m.cov(m.tensor([1.0, 2.0, 4.0])),
            m.corrcoef(m.tensor([1.0, 2.0, 4.0])),
        ),
        grad=False,
    )
    x = ember.tensor([[1.0, 2, 4, 3], [3, 1, 2, 5]], requires_grad=True)
    w = ember.tensor([1, 2, 1, 3])
    compare(
        lambda m, x, w: (
            m.cov(x, fweights=w),
            m.cov(x, aweights=w.float()),
            m.cov(x, fweights=w, aweights=m.tensor([0.5, 1, 2, 1]), correction=0),
            m.corrcoef(x),
            m.cov(x.t()),
        ),
        x,
        w,
    )
    gradcheck(lambda x: ember.corrcoef(x), (2, 5))


def test_trapezoid():
    y = ember.tensor([[1.0, 2, 4], [0, 1, 1]], requires_grad=True)
    compare(
        lambda m, y: (
            m.trapezoid(y, m.tensor([0.0, 1, 3])),
            m.trapezoid(y, dim=0),
            m.cumulative_trapezoid(y, dx=0.5),
            m.trapz(y, dx=2.0),
            m.cumulative_trapezoid(y, m.tensor([[0.0, 1, 3], [0, 2, 3]])),
        ),
        y,
    )
    compare(
        lambda m: (m.trapezoid(m.tensor([1, 2, 4])), m.cumulative_trapezoid(m.tensor([1, 2, 4]))),
        grad=False,
    )


def test_nanmedian_and_median_with_nan():
    nan = float("nan")
    n = ember.tensor(
        [[1.0, nan, 3.0, 0.0], [2.0, 1.0, nan, nan], [4.0, 2.0, 3.0, 1.0]], requires_grad=True
    )
    compare(
        lambda m, n: (m.nanmedian(n), m.nanmedian(n, 1).values, tuple(m.median(n, 1)), m.median(n)),
        n,
    )
    n.grad = None
    compare(lambda m, n: tuple(n[1:].nanmedian(1, keepdim=True)), n)


def test_median_double_backward():
    compare_double_backward(lambda m, x: m.median(x) ** 2, (3, 4))


def test_nuclear_norm():
    x = randn(3, 4)
    compare(lambda m, x: m.norm(x, "nuc"), x, atol=1e-5)
    y = randn(2, 3, 4)
    compare(
        lambda m, y: (m.norm(y, "nuc", dim=(1, 2)), m.norm(y, "nuc", dim=(0, 2), keepdim=True)),
        y,
        atol=1e-5,
    )
    gradcheck(lambda x: ember.norm(x, "nuc"), (3, 2))


def test_prod_double_backward():
    compare_double_backward(lambda m, x: m.prod(x, 1), (3, 4))
    compare_double_backward(lambda m, x: m.prod(x, 0, keepdim=True) ** 2, (3, 4))
    compare_double_backward(lambda m, x: m.prod(x), (2, 3))


def test_scan_double_backward():
    compare_double_backward(lambda m, x: m.cumprod(x, 1), (3, 4))
    compare_double_backward(lambda m, x: m.logcumsumexp(x, 1), (3, 4))


def test_cumprod_zeros_create_graph_first_order():
    x = ember.tensor([[2.0, 0.0, 3.0], [1.0, 2.0, 0.0]], requires_grad=True)
    t = to_torch(x)
    (g,) = ember.autograd.grad([ember.cumprod(x, 1).sum()], [x], create_graph=True)
    (tg,) = torch.autograd.grad([torch.cumprod(t, 1).sum()], [t], create_graph=True)
    assert_same(g, tg)
    (g,) = ember.autograd.grad([ember.prod(x, 1).sum()], [x], create_graph=True)
    (tg,) = torch.autograd.grad([torch.prod(t, 1).sum()], [t], create_graph=True)
    assert_same(g, tg)


# --- issue 14's wrong answers: dtypes and shapes of reductions on 0-d and integer inputs --------
def test_integer_and_zero_dim_reductions_keep_torch_dtypes_and_shapes():
    for fn in (
        lambda m: m.nansum(m.tensor(3)),
        lambda m: m.nansum(m.tensor([1, 2], dtype=m.int8), 0),
        lambda m: m.tensor(True).sum_to_size(()),
        lambda m: m.tensor([True, False]).sum_to_size(2),
        lambda m: m.tensor([[True]]).sum_to_size(1),
        lambda m: m.mean(m.tensor(2.0), dim=0),
        lambda m: m.mean(m.tensor(2.0), dim=-1, keepdim=True),
        lambda m: m.quantile(m.tensor(1.0), 0.5, dim=0, keepdim=True),
        lambda m: m.nanquantile(m.tensor(1.0), 0.5, keepdim=True),
        lambda m: m.quantile(m.tensor(1.0), m.tensor([0.5, 0.2]), dim=0, keepdim=True),
        lambda m: m.corrcoef(m.tensor([1.0, 2.0])),
        lambda m: m.cov(m.tensor([1.0, 2.0])),
    ):
        assert_same(fn(ember), fn(torch))


@pytest.mark.parametrize("p", [1, 2, 3.5])
@pytest.mark.parametrize("dim", [0, 1, -1])
def test_renorm_values_gradients_and_errors(p, dim):
    x = randn(3, 4, 2, dtype=ember.float64)
    compare(lambda m, x: m.renorm(x, p, dim, 1.5), x)
    gradcheck(lambda x: ember.renorm(x, p, dim, 1.0), (3, 4))
    with pytest.raises(RuntimeError, match="expected maxnorm to be >= 0"):
        ember.renorm(x, p, dim, -1)
    with pytest.raises(RuntimeError, match="input needs at least 2 dimensions"):
        ember.renorm(ember.ones(3), p, 0, 1)


def test_resize_keeps_storage_and_refuses_grad_tensors():
    e, t = ember.arange(6.0), torch.arange(6.0)
    for shape in ((2, 2), (3, 2), (1, 5)):
        e.resize_(*shape)
        t.resize_(*shape)
        assert_same(e, t)
    e.resize_as_(ember.zeros(2, 3))
    assert e.shape == (2, 3)
    with pytest.raises(RuntimeError, match="cannot resize variables that require grad"):
        ember.ones(2, requires_grad=True).resize_(3)


@pytest.mark.parametrize("dtype", [ember.float32, ember.float64, ember.float16])
@pytest.mark.parametrize("op", ["sum", "nansum", "mean", "nanmean"])
@pytest.mark.parametrize("dim,keepdim", [(0, True), (-1, False), ((0,), False)])
def test_reductions_of_a_0d_tensor_over_its_dim(op, dim, keepdim, dtype):
    """A 0-d tensor reduced over dim 0 or -1 is its value (the float sums' fast path indexed
    the missing dim: op_db's 0-d samples of sum, nansum, nanmean and masked.* raised)."""
    x = ember.tensor(2.5, dtype=dtype, requires_grad=dtype != ember.float16)
    compare(lambda m, x: getattr(m, op)(x, dim, keepdim), x, grad=dtype != ember.float16)


@pytest.mark.parametrize("name", ["silu", "mish", "sigmoid", "logsigmoid"])
def test_sigmoid_family_on_0d(name):
    """The in-place passes of the CPU logistic function on a 0-d input (NumPy hands back
    scalars there: silu and mish raised)."""
    for v in (-3.0, 0.5):
        x = ember.tensor(v, dtype=ember.float64, requires_grad=True)
        f = getattr(ember.nn.functional, name, None) or getattr(ember, name)
        compare(lambda m, x: (getattr(m.nn.functional, name, None) or getattr(m, name))(x), x)
        assert f(x).shape == ()


@pytest.mark.parametrize("fn", ["softmax", "log_softmax"])
def test_softmax_of_a_0d_tensor(fn):
    x = ember.tensor(0.3, dtype=ember.float64, requires_grad=True)
    compare(lambda m, x: getattr(m, fn)(x, 0), x)
    compare_double_backward(lambda m, x: getattr(m, fn)(x.sum(), 0), (1,))


def test_hash_tensor_matches_torch():
    # the xor of the elements' 64-bit forms (floats through float64, the rest through int64)
    rng = np.random.default_rng(4)
    arrays = [
        rng.standard_normal((3, 5, 4)).astype(np.float32),
        rng.standard_normal(7),
        rng.integers(-100, 100, (4, 6)).astype(np.int8),
        rng.integers(0, 255, 9).astype(np.uint8),
        rng.integers(0, 2, 5).astype(bool),
        rng.standard_normal(6).astype(np.float16),
    ]
    for a in arrays:
        e, t = ember.tensor(a), torch.tensor(a)
        assert ember.hash_tensor(e).item() == torch.hash_tensor(t).item()
        assert ember.hash_tensor(e).dtype == ember.uint64
        for dim, keep in ((0, False), (-1, True), ((0, -1), False)):
            if a.ndim > 1 or dim in (0, -1):
                r = e.hash_tensor(dim=dim, keepdim=keep)
                w = t.hash_tensor(dim=dim, keepdim=keep)
                assert r.shape == w.shape and r.tolist() == w.tolist()
    for m_dim in ({}, {"dim": 0, "keepdim": True}, {"dim": -1}):  # a 0-d tensor
        r, w = ember.tensor(2.5).hash_tensor(**m_dim), torch.tensor(2.5).hash_tensor(**m_dim)
        assert r.shape == w.shape and r.item() == w.item()
    x = torch.tensor([1.0, 2.0], dtype=torch.bfloat16)
    assert ember.hash_tensor(ember.tensor([1.0, 2.0], dtype=ember.bfloat16)).item() == (
        torch.hash_tensor(x).item()
    )
    _same_errors(
        lambda m: m.hash_tensor(m.zeros(0)),
        lambda m: m.hash_tensor(m.ones(2), mode=1),
        lambda m: m.hash_tensor(m.ones(2), dim=3),
        lambda m: m.hash_tensor(m.tensor([1 + 1j])),
    )


def _same_errors(*calls):
    """Each call(lib) raises on ember and torch, the same type and message."""
    for f in calls:
        errors = []
        for m in (ember, torch):
            with pytest.raises(Exception) as err:
                f(m)
            errors.append((type(err.value), str(err.value)))
        assert errors[0] == errors[1]


@pytest.mark.parametrize("reduce", ["sum", "mean", "max", "min", "prod"])
@pytest.mark.parametrize("initial", [None, 0.5])
def test_segment_reduce_matches_torch(reduce, initial):
    # lengths (with an empty segment and ties) and offsets, along axis 0 and along axis 1 with
    # per-row segments; values and float64 gradients as torch's
    rng = np.random.default_rng(6)
    data = np.round(rng.standard_normal((6, 3)), 1)  # rounded: ties for max/min
    wide = rng.standard_normal((2, 7))
    cases = [
        (data, {"lengths": np.array([2, 0, 3, 1])}, 0),
        (data, {"offsets": np.array([0, 1, 1, 6])}, 0),
        (wide, {"lengths": np.array([[3, 4], [0, 7]])}, 1),
    ]
    for arr, seg, axis in cases:
        res = []
        for m in (ember, torch):
            x = m.tensor(arr, requires_grad=True)
            kw = {k: m.tensor(v) for k, v in seg.items()}
            y = m.segment_reduce(x, reduce, axis=axis, initial=initial, **kw)
            w = m.tensor(np.linspace(0.5, 1.5, y.numel()).reshape(tuple(y.shape)))
            (y.nan_to_num(0.0, 0.0, 0.0) * w).sum().backward()
            res.append((y.detach().numpy(), x.grad.numpy()))
        for e, t in zip(*res):
            np.testing.assert_allclose(e, t, rtol=1e-12, atol=1e-12)


def test_segment_reduce_errors_match_torch():
    d = [1.0, 2.0, 3.0]
    _same_errors(
        lambda m: m.segment_reduce(m.tensor(d), "foo", lengths=m.tensor([3])),
        lambda m: m.segment_reduce(m.tensor(d), "sum", lengths=m.tensor([1, 1])),
        lambda m: m.segment_reduce(m.tensor(d), "sum", indices=m.tensor([0, 0, 1])),
        lambda m: m.segment_reduce(m.tensor(d), "sum"),
        lambda m: m.segment_reduce(m.tensor([1, 2]), "sum", lengths=m.tensor([2])),
    )
