"""gather / scatter / index_* / masked_select / take against torch."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import ember
from tests._support.ops_check import compare, compare_double_backward, gradcheck, randn
from tests._support.torch_ref import assert_same, to_torch, torch


def idx(rows, dtype=None):
    return ember.tensor(rows, dtype=dtype or ember.int64)


# --- gather ----------------------------------------------------------------------------------
def test_gather_values_grad_and_repeats():
    x = randn(3, 4)
    i = idx([[0, 0, 3], [1, 2, 2], [3, 3, 3]])
    compare(lambda m, x, i: m.gather(x, 1, i), x, i)
    x.grad = None
    compare(lambda m, x, i: x.gather(0, i[:2, :2] % 3), x, i)
    x.grad = None
    compare(lambda m, x, i: m.gather(x.t(), 0, i.t()), x, i)
    compare(lambda m, x, i: m.gather(x, 1, i.int()), x, i, grad=False)


def test_gather_errors():
    x = randn(3, 4)
    with pytest.raises(RuntimeError, match="index 5 is out of bounds for dimension 1 with size 4"):
        ember.gather(x, 1, idx([[5]]))
    with pytest.raises(RuntimeError, match="index -1 is out of bounds"):
        ember.gather(x, 1, idx([[-1]]))
    with pytest.raises(RuntimeError, match="Index tensor must have the same number of dim"):
        ember.gather(x, 1, idx([1]))
    with pytest.raises(RuntimeError, match="Size does not match at dimension 0 expected index"):
        ember.gather(x, 1, ember.zeros(4, 2, dtype=ember.int64))
    with pytest.raises(IndexError, match="Dimension out of range"):
        ember.gather(x, 2, ember.zeros(3, 2, dtype=ember.int64))


def test_gather_scatter_add_gradcheck_and_double_backward():
    i = idx([[0, 2], [1, 1], [2, 0]])
    gradcheck(lambda x: ember.gather(x, 1, i), (3, 4))
    gradcheck(lambda x, s: ember.scatter_add(x, 1, i, s), (3, 4), (3, 2))
    compare_double_backward(lambda m, x: m.gather(x, 1, to(m, i)) ** 2, (3, 4))


def to(m, t):
    return to_torch(t) if m is torch else t


# --- scatter ------------------------------------------------------------------------------------
def test_scatter_src_and_value():
    x = randn(3, 5)
    src = randn(2, 4, seed=9)
    i = idx([[0, 1, 2, 3], [4, 3, 2, 1]])
    compare(lambda m, x, s, i: m.scatter(x, 1, i, s), x, src, i)
    x.grad = src.grad = None
    compare(lambda m, x, s, i: x.scatter(1, i, 2.5), x, src, i)
    x.grad = None
    compare(lambda m, x, i: m.scatter(x, 0, i[:, :3] % 3, value=-1.0), x, i)
    compare(lambda m: m.scatter(m.zeros(3, dtype=m.long), 0, m.tensor([1]), 2.7), grad=False)


def test_scatter_reduce_forms():
    x = randn(3, 4, rg=False)
    s = randn(3, 2, rg=False, seed=4)
    i = idx([[0, 0], [1, 3], [2, 2]])
    compare(
        lambda m, x, s, i: (
            m.scatter(x, 1, i, s, reduce="add"),
            m.scatter(x, 1, i, s, reduce="multiply"),
            m.scatter_reduce(x, 1, i, s, "sum"),
            m.scatter_reduce(x, 1, i, s, "amax"),
            m.scatter_reduce(x, 1, i, s, "amin", include_self=False),
            m.scatter_reduce(x, 1, i, s, "mean"),
            m.scatter_reduce(x, 1, i, s, "prod", include_self=False),
        ),
        x,
        s,
        i,
        grad=False,
    )
    with pytest.raises(RuntimeError, match="reduce argument must be either add or multiply"):
        ember.scatter(x, 1, i, s, reduce="mean")


def test_scatter_add_accumulates_and_grad():
    x = randn(2, 5)
    s = randn(2, 3, seed=8)
    i = idx([[0, 0, 4], [1, 1, 1]])
    compare(lambda m, x, s, i: m.scatter_add(x, 1, i, s), x, s, i)


def test_scatter_errors():
    x = randn(3, 4, rg=False)
    with pytest.raises(RuntimeError, match="Expected index \\[4, 2\\] to be no larger than self"):
        ember.scatter(x, 1, ember.zeros(4, 2, dtype=ember.int64), 1.0)
    with pytest.raises(RuntimeError, match="and to be no larger size than src"):
        ember.scatter(x, 1, ember.zeros(3, 2, dtype=ember.int64), ember.zeros(2, 2))
    with pytest.raises(RuntimeError, match="index 7 is out of bounds for dimension 1"):
        ember.scatter(x, 1, idx([[7]]), 1.0)
    with pytest.raises(RuntimeError, match="Expected self.dtype to be equal to src.dtype"):
        ember.scatter_add(x, 1, idx([[1]]), ember.ones(1, 1, dtype=ember.float64))


def test_scatter_inplace_methods():
    a = randn(3, 4, rg=False)
    t = to_torch(a).clone()
    i = idx([[0, 1], [2, 3], [1, 0]])
    s = randn(3, 2, rg=False, seed=2)
    r = a.scatter_(1, i, s)
    assert r is a
    t.scatter_(1, to_torch(i), to_torch(s))
    assert_same(a, t)
    a.scatter_add_(1, i, s)
    t.scatter_add_(1, to_torch(i), to_torch(s))
    assert_same(a, t)
    a.index_add_(0, idx([2, 0]), ember.ones(2, 4), alpha=2)
    t.index_add_(0, torch.tensor([2, 0]), torch.ones(2, 4), alpha=2)
    assert_same(a, t)
    assert a._version >= 3


def test_scatter_inplace_on_nonleaf_records_graph():
    x = randn(3, 4)
    s = randn(3, 1, seed=3)
    i = idx([[1], [2], [0]])
    compare(lambda m, x, s, i: (x * 2).scatter_(1, i, s), x, s, i)
    x.grad = s.grad = None
    compare(lambda m, x, s, i: (x * 1).scatter_add_(1, i, s), x, s, i)
    with pytest.raises(RuntimeError, match="a leaf Variable that requires grad"):
        x.scatter_(1, i, s)


# --- index_select / index_add / index_copy / index_fill --------------------------------------
def test_index_select():
    x = randn(4, 5)
    i = idx([3, 0, 3])
    compare(lambda m, x, i: m.index_select(x, 1, i), x, i)
    x.grad = None
    compare(lambda m, x, i: x.t().index_select(0, i), x, i)
    x.grad = None
    compare(lambda m, x, i: m.index_select(x, 0, i.int()), x, i)
    compare(lambda m, x: m.index_select(x, 0, m.tensor(2)), x, grad=False)
    gradcheck(lambda x: ember.index_select(x, 0, i), (4, 2))


def test_index_select_errors():
    x = randn(3, 4, rg=False)
    with pytest.raises(IndexError, match="Index is supposed to be a vector"):
        ember.index_select(x, 1, idx([[1]]))
    with pytest.raises(RuntimeError, match="INDICES element is out of DATA bounds, id=5"):
        ember.index_select(x, 1, idx([5]))
    with pytest.raises(RuntimeError, match="Expected dtype int32 or int64 for index"):
        ember.index_select(x, 1, ember.tensor([1.0]))


def test_index_add_copy_fill():
    x = randn(4, 3)
    s = randn(2, 3, seed=5)
    i = idx([3, 1])
    compare(lambda m, x, s, i: m.index_add(x, 0, i, s), x, s, i)
    x.grad = s.grad = None
    compare(lambda m, x, s, i: x.index_add(0, i, s, alpha=-0.5), x, s, i)
    x.grad = s.grad = None
    compare(lambda m, x, s, i: m.index_copy(x, 0, i, s), x, s, i)
    x.grad = None
    compare(lambda m, x, i: m.index_fill(x, 1, i % 3, 7.0), x, i)
    compare(lambda m, x, i: m.index_add(x, 0, m.tensor([1, 1]), x[:2]), x, i, grad=False)
    gradcheck(lambda x, s: ember.index_add(x, 0, i, s), (4, 3), (2, 3))


def test_index_add_errors():
    x = randn(3, 4, rg=False)
    with pytest.raises(RuntimeError, match="index 5 is out of bounds for dimension 1"):
        ember.index_add(x, 1, idx([5]), ember.ones(3, 1))
    with pytest.raises(RuntimeError, match="Number of indices \\(2\\) should be equal"):
        ember.index_add(x, 1, idx([1, 2]), ember.ones(3, 1))
    with pytest.raises(RuntimeError, match="self \\(Float\\) and source \\(Double\\)"):
        ember.index_add(x, 1, idx([1]), ember.ones(3, 1, dtype=ember.float64))


# --- masked_select / take / masked_scatter / take_along_dim ----------------------------------
def test_masked_select_broadcast():
    x = randn(3, 4)
    mask = ember.tensor([True, False, True, True])
    compare(lambda m, x, k: m.masked_select(x, k), x, mask)
    x.grad = None
    compare(lambda m, x, k: x.t().masked_select(k.reshape(4, 1)), x, mask)
    y = randn(4, seed=1)
    mask2 = randn(3, 4, rg=False, seed=2) > 0
    compare(lambda m, y, k: m.masked_select(y, k), y, mask2)
    with pytest.raises(RuntimeError, match="expected BoolTensor for mask"):
        ember.masked_select(x, ember.ones(3, 4))
    with pytest.raises(RuntimeError, match="The size of tensor a \\(4\\) must match"):
        ember.masked_select(x, ember.ones(3, 5, dtype=ember.bool))


def test_take_and_masked_scatter_and_take_along_dim():
    x = randn(3, 4)
    i = idx([[0, 11], [-1, 5], [5, 5]])
    compare(lambda m, x, i: m.take(x, i), x, i)
    x.grad = None
    compare(lambda m, x, i: x.t().take(i), x, i)
    with pytest.raises(IndexError, match="out of range: tried to access index 12 on a tensor"):
        ember.take(x, idx([12]))
    mask = ember.tensor([[True, False, True, False]] * 3)
    src = randn(8, seed=3)
    x.grad = None
    compare(lambda m, x, k, s: m.masked_scatter(x, k, s), x, mask, src)
    x.grad = None
    j = idx([[1], [3], [0]])
    compare(lambda m, x, j: m.take_along_dim(x, j, 1), x, j)
    x.grad = None
    compare(lambda m, x, j: m.take_along_dim(x, j.reshape(-1)), x, j)


@settings(max_examples=20, deadline=None)
@given(shape=st.lists(st.integers(1, 4), min_size=1, max_size=3), data=st.data())
def test_gather_hypothesis(shape, data):
    d = data.draw(st.integers(0, len(shape) - 1))
    ishape = [
        data.draw(st.integers(1, n)) if k != d else data.draw(st.integers(1, 5))
        for k, n in enumerate(shape)
    ]
    seed = data.draw(st.integers(0, 1000))
    gen = torch.Generator().manual_seed(seed)
    i = ember.from_numpy(torch.randint(0, shape[d], ishape, generator=gen).numpy())
    x = randn(*shape, seed=seed)
    compare(lambda m, x, i: m.gather(x, d, i), x, i)


_DOUBLE = {
    "scatter": lambda m, x, s: m.scatter(x, 1, m.tensor([[0], [2], [1]]), s) ** 2,
    "scatter_add": lambda m, x, s: m.scatter_add(x, 1, m.tensor([[0], [2], [0]]), s) ** 2,
    "index_add": lambda m, x, s: m.index_add(x, 1, m.tensor([3]), s) ** 2,
    "index_copy": lambda m, x, s: m.index_copy(x, 1, m.tensor([1]), s) ** 2,
    "take": lambda m, x, s: m.take(x, m.tensor([0, 0, 5])) ** 2 * s.sum(),
    "masked_select": lambda m, x, s: (
        m.masked_select(x, m.tensor([True, False, True, True])) ** 2 * s.sum()
    ),
}


@pytest.mark.parametrize("name", sorted(_DOUBLE))
def test_double_backward(name):
    compare_double_backward(_DOUBLE[name], (3, 4), (3, 1))


def test_scatter_src_larger_than_index():
    x, s = randn(3, 5, rg=False), randn(3, 6, seed=2, rg=False)
    i = idx([[0, 1], [2, 3], [4, 4]])
    compare(
        lambda m, x, s, i: (
            m.scatter(x, 1, i, s),
            m.scatter_add(x, 1, i, s),
            m.scatter(x, 0, i[:2] % 3, s),
            m.scatter_reduce(x, 1, i, s, "amax"),
            m.scatter_add(x, 0, i[:2] % 3, s),
            m.scatter_reduce(x, 0, i[:2] % 3, s, "mean"),
        ),
        x,
        s,
        i,
        grad=False,
    )
    # torch cannot differentiate this case; ember pads the src gradient with zeros
    x.requires_grad_()
    s.requires_grad_()
    ember.scatter_add(x, 1, i, s).sum().backward()
    assert (
        s.grad.shape == (3, 6)
        and s.grad[:, :2].sum().item() == 6
        and s.grad[:, 2:].abs().sum().item() == 0
    )


def test_index_shape_errors():
    z = ember.zeros(3, 4)
    with pytest.raises(RuntimeError, match="source tensor shape must match self tensor shape"):
        ember.index_add(z, 0, idx([0]), ember.ones(1, 3))
    with pytest.raises(RuntimeError, match="Source/destination tensor must have same slice"):
        ember.index_copy(z, 0, idx([0]), ember.ones(1, 3))
    with pytest.raises(IndexError, match="index 5 is out of bounds for dimension 0 with size 3"):
        ember.index_fill(z, 0, idx([5]), 1.0)


def test_put():
    x = randn(2, 3)
    s = randn(3, seed=4)
    compare(lambda m, x, s: m.put(x, m.tensor([0, 4, -1]), s), x, s)
    x.grad = s.grad = None
    compare(lambda m, x, s: x.put(m.tensor([1, 1, 2]), s, accumulate=True), x, s)
    a = randn(2, 3, rg=False)
    t = to_torch(a).clone()
    a.put_(idx([0, 5]), ember.tensor([1.0, 2.0]))
    t.put_(torch.tensor([0, 5]), torch.tensor([1.0, 2.0]))
    assert_same(a, t)
    with pytest.raises(IndexError, match="out of range: tried to access index 6"):
        ember.put(a, idx([6]), ember.tensor([1.0]))
    with pytest.raises(IndexError, match="Expected source and index to have the same number"):
        ember.put(a, idx([1, 2]), ember.tensor([1.0]))
    compare_double_backward(lambda m, x, s: m.put(x, m.tensor([0, 4, 5]), s) ** 2, (2, 3), (3,))


def test_large_scatter_add_paths_match_torch():
    # big float updates accumulate through one bincount; repeats must still add up
    x = randn(64, 100)
    i = ember.from_numpy(
        torch.randint(0, 100, (64, 80), generator=torch.Generator().manual_seed(0)).numpy()
    )
    compare(lambda m, x, i: m.gather(x, 1, i), x, i, atol=1e-5)
    x.grad = None
    s = randn(64, 80, seed=5)
    compare(lambda m, x, s, i: m.scatter_add(x, 1, i, s), x, s, i, atol=1e-5)
    j = ember.from_numpy(
        torch.randint(-6400, 6400, (5000,), generator=torch.Generator().manual_seed(1)).numpy()
    )
    x.grad = None
    compare(lambda m, x, j: m.take(x, j), x, j, atol=1e-5)


# --- issue 14's wrong answers: scatter_reduce gradients, 0-d shapes, negative indices -------
@pytest.mark.parametrize("reduce", ["sum", "prod", "mean", "amax", "amin"])
@pytest.mark.parametrize("include_self", [True, False])
def test_scatter_reduce_gradients_against_torch(reduce, include_self):
    x = ember.tensor([[1.0, 0.0, 2.0, 3.0], [4.0, 5.0, 0.0, 2.0], [2.0, 2.0, 7.0, 1.0]])
    x.requires_grad_()
    # ties (2.0 twice in a slot) and zeros for prod
    s = ember.tensor([[2.0, 0.0, 7.0, 3.0], [2.0, 5.0, 0.0, 0.5]])
    s.requires_grad_()
    i = idx([[0, 1, 2, 0], [0, 1, 2, 0]])
    compare(
        lambda m, x, s, i: x.scatter_reduce(0, i, s, reduce=reduce, include_self=include_self),
        x,
        s,
        i,
    )


@pytest.mark.parametrize("reduce", ["prod", "mean", "amax"])
def test_scatter_reduce_gradcheck(reduce):
    i = idx([[0, 2, 1], [2, 2, 0]])
    gradcheck(lambda x, s: x.scatter_reduce(0, i, s, reduce=reduce), (3, 3), (2, 3))


def test_zero_dim_index_select_and_source_gradients_have_torch_shapes():
    compare(lambda m, x: m.index_select(x, 0, m.tensor([0])), ember.tensor(2.0, requires_grad=True))
    for op in ("index_copy", "index_add"):
        x = ember.tensor(2.0, requires_grad=True)
        s = ember.tensor(5.0, requires_grad=True)
        compare(lambda m, x, s, op=op: getattr(x, op)(0, m.tensor([0]), s), x, s)
        assert s.grad.shape == ()
    # the overwritten 0-d input gets a zero gradient (a scaled upstream gradient is a NumPy
    # scalar, which the ops once copied into a detached array)
    x = ember.tensor(2.0, requires_grad=True)
    s = ember.tensor(5.0, requires_grad=True)
    compare(lambda m, x, s: x.index_fill(0, m.tensor([0]), 3.0) * 0.7, x, s)
    x.grad = None
    compare(lambda m, x, s: x.put(m.tensor([0]), s.reshape(1)) * 0.7, x, s)
    x.grad = s.grad = None
    compare(lambda m, x, s: x.scatter(0, m.tensor(0), s) * 0.7, x, s)


def test_take_along_dim_negative_indices_wrap_along_a_dim_and_raise_flattened():
    x = randn(2, 3)
    i = idx([[-1], [0]])
    compare(lambda m, x, i: m.take_along_dim(x, i, dim=0), x, i)
    x.grad = None
    compare(lambda m, x, i: m.take_along_dim(x, i, dim=1), x, i)
    with pytest.raises(RuntimeError, match="out of bounds"):
        ember.take_along_dim(x, i)


@pytest.mark.parametrize("reduce", ["prod", "mean", "amax", "amin"])
@pytest.mark.parametrize("include_self", [True, False])
def test_index_reduce_values_and_gradients(reduce, include_self):
    x = ember.tensor([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]], requires_grad=True)
    s = ember.tensor([[2.0, 3.0], [4.0, 5.0], [6.0, 2.0]], requires_grad=True)
    i = idx([0, 2, 0])
    compare(lambda m, x, s, i: x.index_reduce(0, i, s, reduce, include_self=include_self), x, s, i)
    with pytest.raises(RuntimeError, match="Expected reduce to be one of prod, mean, amax or amin"):
        x.index_reduce(0, i, s, "sum")


def test_unravel_index_wraps_and_checks_as_torch():
    for ind, shape in (
        ([4, 1], (2, 3)),
        (5, (2, 3)),
        (5, 6),
        ([6, -7], (2, 3)),
        ([[0, 5]], (3, 2)),
    ):
        e = ember.unravel_index(ember.tensor(ind), shape)
        t = torch.unravel_index(torch.tensor(ind), shape)
        assert len(e) == len(t)
        for a, b in zip(e, t):
            assert_same(a, b)
    with pytest.raises(TypeError, match="expected 'indices' to be integer dtype"):
        ember.unravel_index(ember.tensor([1.0]), (2, 3))
    with pytest.raises(ValueError, match="'shape' cannot have negative values"):
        ember.unravel_index(ember.tensor([1]), (2, -3))
