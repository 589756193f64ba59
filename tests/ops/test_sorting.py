"""sort / argsort / topk / kthvalue / unique against torch."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import ember
from tests._support.ops_check import compare, compare_double_backward, gradcheck, randn
from tests._support.torch_ref import to_torch, torch


@pytest.mark.parametrize("dim", [0, 1, -1])
@pytest.mark.parametrize("descending", [False, True])
def test_sort_values_indices_grad(dim, descending):
    x = randn(4, 5)
    e, t = compare(lambda m, x: tuple(m.sort(x, dim, descending)), x)
    assert e[1].dtype is ember.int64 and ember.sort(x, dim).indices.dtype is ember.int64
    x.grad = None
    compare(lambda m, x: tuple(x.sort(dim=dim, descending=descending)), x)


def test_sort_stable_ties_nan_bool_int():
    a = ember.tensor([3, 1, 2, 1, 3, 2, 1])
    compare(lambda m, a: tuple(m.sort(a, stable=True)), a, grad=False)
    compare(lambda m, a: tuple(m.sort(a, stable=True, descending=True)), a, grad=False)
    compare(lambda m, a: m.argsort(a, stable=True, descending=True), a, grad=False)
    n = ember.tensor([1.0, float("nan"), 0.0, -2.0])
    compare(lambda m, n: tuple(m.sort(n)), n, grad=False)
    compare(lambda m, n: tuple(m.sort(n, descending=True)), n, grad=False)
    b = ember.tensor([True, False, True])
    compare(lambda m, b: tuple(m.sort(b, stable=True)), b, grad=False)
    s = ember.tensor(3.0)
    compare(lambda m, s: (tuple(m.sort(s)), m.argsort(s)), s, grad=False)


def test_sort_noncontiguous_and_msort():
    x = randn(3, 4)
    compare(lambda m, x: tuple(m.sort(x.t(), 1)), x)
    x.grad = None
    compare(lambda m, x: m.msort(x), x)


def test_argsort():
    x = randn(3, 6, rg=False)
    compare(
        lambda m, x: (m.argsort(x), m.argsort(x, 0, descending=True), x.argsort(dim=1)),
        x,
        grad=False,
    )


@pytest.mark.parametrize("largest", [True, False])
def test_topk(largest):
    x = randn(4, 6)
    compare(lambda m, x: tuple(m.topk(x, 3, largest=largest)), x)
    x.grad = None
    compare(lambda m, x: tuple(x.topk(2, dim=0, largest=largest)), x)
    x.grad = None
    compare(lambda m, x: tuple(m.topk(x, 0)), x, grad=False)


def test_topk_kthvalue_errors():
    x = randn(5)
    with pytest.raises(RuntimeError, match="selected index k out of range"):
        ember.topk(x, 6)
    with pytest.raises(RuntimeError, match="kthvalue\\(\\): selected number k out of range"):
        ember.kthvalue(x, 0)
    with pytest.raises(IndexError, match="Dimension out of range"):
        ember.sort(x, 1)


def test_kthvalue():
    x = randn(4, 5)
    compare(lambda m, x: tuple(m.kthvalue(x, 2)), x)
    x.grad = None
    compare(lambda m, x: tuple(x.kthvalue(3, 0, keepdim=True)), x)


def test_sort_topk_gradcheck():
    gradcheck(lambda x: ember.sort(x, 1).values, (3, 4))
    gradcheck(lambda x: ember.topk(x, 2).values, (3, 4))
    gradcheck(lambda x: ember.kthvalue(x, 2, 0).values, (3, 4))


def test_unique():
    a = ember.tensor([3, 1, 2, 1, 3, 5])
    compare(lambda m, a: m.unique(a), a, grad=False)
    compare(lambda m, a: m.unique(a, return_inverse=True, return_counts=True), a, grad=False)
    compare(lambda m, a: a.unique(return_counts=True), a, grad=False)
    a2 = ember.tensor([[1, 2], [1, 2], [0, 5]])
    compare(
        lambda m, a: m.unique(a, dim=0, return_inverse=True, return_counts=True), a2, grad=False
    )
    compare(lambda m, a: m.unique(a, return_inverse=True), a2, grad=False)
    f = ember.tensor([2.5, -1.0, 2.5])
    compare(lambda m, f: m.unique(f, return_counts=True), f, grad=False)
    compare(lambda m: m.unique(m.tensor([]), return_counts=True), grad=False)


def test_unique_consecutive():
    a = ember.tensor([1, 1, 2, 2, 3, 1, 1, 2])
    compare(
        lambda m, a: m.unique_consecutive(a, return_inverse=True, return_counts=True), a, grad=False
    )
    a2 = ember.tensor([[1, 1], [1, 1], [2, 3], [1, 1]])
    compare(lambda m, a: m.unique_consecutive(a, dim=0, return_counts=True), a2, grad=False)


@settings(max_examples=20, deadline=None)
@given(shape=st.lists(st.integers(1, 5), min_size=1, max_size=3), data=st.data())
def test_sort_topk_hypothesis(shape, data):
    dim = data.draw(st.integers(-len(shape), len(shape) - 1))
    k = data.draw(st.integers(0, shape[dim]))
    desc = data.draw(st.booleans())
    x = randn(*shape, seed=int(np.prod(shape)) + dim)
    compare(lambda m, x: (tuple(m.sort(x, dim, desc)), tuple(m.topk(x, k, dim))), x)


def test_binning():
    compare(
        lambda m: (
            m.searchsorted(m.tensor([1, 3, 5, 7]), m.tensor([3, 6, 9]), right=True),
            m.searchsorted(m.tensor([1, 3, 5, 7]), m.tensor([3, 6, 9]), side="left"),
            m.searchsorted(m.tensor([[1, 3], [2, 4]]), m.tensor([[3], [1]])),
            m.searchsorted(m.tensor([1.0, 2.0]), 1.5, out_int32=True),
            m.bucketize(m.tensor([3, 6, 9]), m.tensor([1, 3, 5, 7])),
            m.bucketize(m.tensor([3, 6, 9]), m.tensor([1, 3, 5, 7]), right=True),
            m.bincount(m.tensor([0, 1, 1, 3]), minlength=6),
            m.bincount(m.tensor([0, 1, 1]), weights=m.tensor([0.5, 1.0, 2.0])),
            m.histc(m.tensor([1.0, 2, 1]), bins=4, min=0, max=3),
            m.histc(m.tensor([1.0, 2, 1, 5]), bins=4),
            m.histc(m.tensor([2.0, 2.0]), bins=3),
        ),
        grad=False,
    )
    with pytest.raises(RuntimeError, match="bincount only supports 1-d non-negative integral"):
        ember.bincount(ember.tensor([-1]))


def test_double_backward():
    compare_double_backward(lambda m, x: m.sort(x, 1).values ** 2, (3, 4))
    compare_double_backward(lambda m, x: m.topk(x, 2, 0).values ** 3, (3, 4))


@pytest.mark.parametrize("interp", ["linear", "lower", "higher", "midpoint", "nearest"])
def test_quantile(interp):
    y = randn(3, 5)
    compare(
        lambda m, y: (
            m.quantile(y, 0.4, interpolation=interp),
            m.quantile(y, m.tensor([0.25, 0.5]), dim=1, keepdim=True, interpolation=interp),
            y.quantile(0.7, dim=0, interpolation=interp),
            m.quantile(y[0], m.tensor([0.1, 0.9]), keepdim=True),
        ),
        y,
    )


def test_quantile_nan_and_errors():
    x = ember.tensor([[1.0, 5.0, 2.0, 8.0], [3.0, float("nan"), 0.0, 1.0]])
    compare(
        lambda m, x: (
            m.quantile(x, 0.3, dim=1),
            m.nanquantile(x, 0.5, dim=1),
            m.nanquantile(x, m.tensor(0.2)),
            m.quantile(x, 0.5, keepdim=True),
        ),
        x,
        grad=False,
    )
    with pytest.raises(RuntimeError, match="q must be in the range \\[0, 1\\] but got 1.5"):
        ember.quantile(x, 1.5)
    with pytest.raises(RuntimeError, match="input tensor must be either float or double"):
        ember.quantile(x.long(), 0.5)
    gradcheck(lambda x: ember.quantile(x, 0.3, dim=1), (3, 5))


@pytest.mark.parametrize("k", [1, 5, 100])
@pytest.mark.parametrize("largest", [True, False])
def test_topk_partition_path(k, largest):
    x = randn(8, 1000)
    compare(lambda m, x: tuple(m.topk(x, k, 1, largest)), x)
    x.grad = None
    compare(lambda m, x: tuple(m.topk(x.t(), k, 0, largest)), x)


def test_topk_ties_and_nan_values():
    xi = ember.randint(0, 5, (4, 200))
    compare(lambda m, x: m.topk(x, 3, 1).values, xi, grad=False)
    n = ember.tensor([1.0, float("nan")] * 40)
    compare(lambda m, x: (m.topk(x, 3).values, m.topk(x, 3, largest=False).values), n, grad=False)


def test_return_types_repr_and_fields():
    x = ember.tensor([[1.0, 2.0], [4.0, 3.0]])
    t = to_torch(x)
    assert repr(x.max(1)) == repr(t.max(1))
    assert repr(ember.sort(x)) == repr(torch.sort(t))
    assert ember.aminmax(x)._fields == ("min", "max")
    v, i = x.topk(1)
    assert v.shape == (2, 1) and i.dtype is ember.int64


def test_mode():
    compare(
        lambda m: (
            tuple(m.mode(m.tensor([3, 1, 3, 1, 2]))),
            tuple(m.mode(m.tensor([[3, 1, 3, 1, 2], [5, 5, 4, 4, 4]]), 1)),
            tuple(m.mode(m.tensor([[3, 5], [1, 5], [3, 4]]), 0, keepdim=True)),
            tuple(m.mode(m.tensor([1.0, float("nan"), float("nan")]))),
        ),
        grad=False,
    )
    x = ember.tensor([2.0, 2.0, 1.0, 7.0, 2.0], requires_grad=True)
    compare(lambda m, x: tuple(x.mode()), x)


# --- histogram / histogramdd ---------------------------------------------------------------
@pytest.mark.parametrize(
    "kw",
    [
        {"bins": 4},
        {"bins": 3, "range": (0.0, 2.0)},
        {"bins": 5, "density": True},
        {"bins": [-1.0, 0.0, 0.5, 3.0]},
        {"bins": 4, "weight": True},
    ],
)
def test_histogram_against_torch(kw):
    from tests._support.torch_ref import assert_same

    x = np.random.default_rng(0).standard_normal(50).astype(np.float32)
    w = np.random.default_rng(1).random(50).astype(np.float32)

    def run(m):
        k = dict(kw)
        if isinstance(k["bins"], list):
            k["bins"] = m.tensor(k["bins"])
        if k.pop("weight", False):
            k["weight"] = m.tensor(w)
        return m.histogram(m.tensor(x), **k)

    e, t = run(ember), run(torch)
    assert_same(e.hist, t.hist)
    assert_same(e.bin_edges, t.bin_edges)
    for vals in ([2.0], []):
        assert_same(
            ember.histogram(ember.tensor(vals), 2).bin_edges,
            torch.histogram(torch.tensor(vals), 2).bin_edges,
        )
    with pytest.raises(NotImplementedError):
        ember.histogram(ember.tensor([1, 2]), 2)


def test_histogramdd_against_torch():
    from tests._support.torch_ref import assert_same

    x = np.random.default_rng(2).standard_normal((40, 2)).astype(np.float32)
    for kw in ({"bins": [2, 3]}, {"bins": 4, "range": [-1.0, 1.0, -2.0, 2.0], "density": True}):
        e, t = ember.histogramdd(ember.tensor(x), **kw), torch.histogramdd(torch.tensor(x), **kw)
        assert_same(e.hist, t.hist, rtol=1e-5)
        for a, b in zip(e.bin_edges, t.bin_edges):
            assert_same(a, b)
