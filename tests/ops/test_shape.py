"""flip / roll / repeat / tile / tril / diag / diagonal / unfold / broadcasting against torch."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import ember
from tests._support.ops_check import compare, compare_double_backward, gradcheck, randn
from tests._support.torch_ref import assert_same, to_torch


# --- flip / roll / rot90 ----------------------------------------------------------------------
def test_flip_family():
    x = randn(2, 3, 4)
    for fn in (
        lambda m, x: m.flip(x, (0, 2)),
        lambda m, x: x.flip(1),
        lambda m, x: x.flip(-1, 0),
        lambda m, x: m.fliplr(x),
        lambda m, x: m.flipud(x),
        lambda m, x: m.flip(x.transpose(0, 2), [1]),
    ):
        x.grad = None
        compare(fn, x)
    with pytest.raises(RuntimeError, match="Input must be >= 2-d."):
        ember.fliplr(randn(3))
    with pytest.raises(RuntimeError, match="dim 0 appears multiple times"):
        ember.flip(x, (0, 0))


def test_flip_is_a_copy():
    a = ember.arange(4.0)
    f = a.flip(0)
    f[0] = 100.0
    assert a[3].item() == 3.0


def test_roll_and_rot90():
    x = randn(3, 4)
    compare(lambda m, x: m.roll(x, 1), x)
    x.grad = None
    compare(lambda m, x: m.roll(x, (1, -2), (0, 1)), x)
    x.grad = None
    compare(lambda m, x: x.t().roll(5, 0), x)
    for k in (1, 2, 3, -1):
        x.grad = None
        compare(lambda m, x, k=k: m.rot90(x, k), x)
    with pytest.raises(RuntimeError, match="shifts and dimensions must align. shifts: 2, dims:1"):
        ember.roll(x, (1, 2), (0,))
    compare(lambda m: m.roll(m.arange(6).reshape(2, 3), 1), grad=False)


# --- repeat / tile / repeat_interleave ------------------------------------------------------------
def test_repeat_tile():
    x = randn(2, 3)
    for fn in (
        lambda m, x: x.repeat(2, 3),
        lambda m, x: x.repeat(2, 1, 2),
        lambda m, x: x.repeat((1, 1)),
        lambda m, x: m.tile(x, (2,)),
        lambda m, x: x.tile(2, 1, 3),
        lambda m, x: x.t().repeat(1, 2),
    ):
        x.grad = None
        compare(fn, x)
    with pytest.raises(RuntimeError, match="Number of dimensions of repeat dims can not be"):
        x.repeat(2)
    gradcheck(lambda x: x.repeat(2, 3), (2, 2))
    compare_double_backward(lambda m, x: x.repeat(2, 1) ** 2, (2, 3))


def test_repeat_interleave():
    x = randn(3, 2)
    compare(lambda m, x: m.repeat_interleave(x, 2), x)
    x.grad = None
    compare(lambda m, x: x.repeat_interleave(2, dim=1), x)
    x.grad = None
    compare(lambda m, x: m.repeat_interleave(x, m.tensor([1, 0, 3]), dim=0), x)
    compare(lambda m: m.repeat_interleave(m.tensor([2, 1])), grad=False)
    with pytest.raises(RuntimeError, match="repeats must have the same size as input along dim"):
        ember.repeat_interleave(x, ember.tensor([1, 2]), dim=0)


# --- tril / triu / diag / diagonal / diag_embed ---------------------------------------------
@pytest.mark.parametrize("k", [-1, 0, 2])
def test_tril_triu(k):
    x = randn(2, 3, 4)
    compare(lambda m, x: m.tril(x, k), x)
    x.grad = None
    compare(lambda m, x: x.triu(k), x)
    x.grad = None
    compare(lambda m, x: x.transpose(1, 2).tril(diagonal=k), x)


def test_tril_inplace_and_errors():
    a = randn(3, 3, rg=False)
    t = to_torch(a).clone()
    assert a.tril_() is a
    t.tril_()
    assert_same(a, t)
    a.triu_(1)
    t.triu_(1)
    assert_same(a, t)
    x = randn(3, 3)
    compare(lambda m, x: (x * 1).triu_(), x)
    with pytest.raises(RuntimeError, match="tril: input tensor must have at least 2 dimensions"):
        ember.tril(randn(3))


def test_diag_and_diagonal():
    v = randn(3)
    for k in (0, 1, -2):
        v.grad = None
        compare(lambda m, v, k=k: m.diag(v, k), v)
    x = randn(3, 4)
    for k in (0, 1, -1, 5):
        x.grad = None
        compare(lambda m, x, k=k: m.diag(x, k), x)
        x.grad = None
        compare(lambda m, x, k=k: x.diagonal(k), x)
    y = randn(2, 3, 4)
    compare(lambda m, y: m.diagonal(y, 1, 0, 2), y)
    y.grad = None
    compare(lambda m, y: y.diagonal(dim1=-1, dim2=-2), y)
    with pytest.raises(RuntimeError, match="diag\\(\\): Supports 1D or 2D tensors. Got 3D"):
        ember.diag(y)
    with pytest.raises(RuntimeError, match="diagonal dimensions cannot be identical 1, 1"):
        ember.diagonal(x, 0, 1, 1)
    gradcheck(lambda x: ember.diagonal(x, 1), (3, 4))
    compare_double_backward(lambda m, x: m.diagonal(x) ** 3, (3, 3))


def test_diagonal_is_a_writable_view():
    a = ember.zeros(3, 3)
    d = a.diagonal()
    d.fill_(1.0)
    assert np.array_equal(a.numpy(), np.eye(3, dtype=np.float32))
    assert d._version == a._version


def test_diag_embed():
    x = randn(2, 3)
    compare(lambda m, x: m.diag_embed(x), x)
    x.grad = None
    compare(lambda m, x: x.diag_embed(1, 0, 2), x)
    x.grad = None
    compare(lambda m, x: m.diag_embed(x, -1), x)


# --- unfold / select ------------------------------------------------------------------------------
def test_unfold():
    x = randn(3, 7)
    for size, step in ((2, 1), (3, 2), (7, 1), (1, 3)):
        x.grad = None
        compare(lambda m, x, sz=size, st=step: x.unfold(1, sz, st), x)
    x.grad = None
    compare(lambda m, x: x.t().unfold(0, 3, 3), x)
    u = x.detach().unfold(1, 2, 1)
    assert u.stride() == to_torch(x).unfold(1, 2, 1).stride()
    with pytest.raises(RuntimeError, match="maximum size for tensor at dimension 1 is 7 but"):
        x.unfold(1, 8, 1)
    with pytest.raises(RuntimeError, match="step is 0 but must be > 0"):
        x.unfold(1, 2, 0)
    gradcheck(lambda x: x.unfold(1, 3, 2), (2, 7))


def test_select():
    x = randn(3, 4)
    compare(lambda m, x: m.select(x, 1, -1), x)
    x.grad = None
    compare(lambda m, x: x.select(0, 2), x)
    with pytest.raises(IndexError, match="select\\(\\): index 5 out of range"):
        x.select(1, 5)


# --- broadcasting / atleast ----------------------------------------------------------------------
def test_broadcast_to_and_tensors():
    x = randn(3, 1)
    y = randn(4, seed=2)
    compare(lambda m, x: m.broadcast_to(x, (2, 3, 4)), x)
    x.grad = None
    compare(lambda m, x, y: m.broadcast_tensors(x, y), x, y)
    x.grad = y.grad = None
    compare(lambda m, x: x.broadcast_to(3, -1), x)
    assert ember.broadcast_shapes((3, 1), (4,), 1) == (3, 4)
    with pytest.raises(RuntimeError, match="The size of tensor a \\(4\\) must match"):
        ember.broadcast_tensors(randn(3, 4), randn(5))
    with pytest.raises(RuntimeError, match="the number of sizes provided"):
        ember.broadcast_to(randn(3, 4), (4,))


def test_atleast():
    s = randn(1)[0]
    v = randn(3, seed=3)
    m2 = randn(2, 3, seed=4)
    for fn in ("atleast_1d", "atleast_2d", "atleast_3d"):
        compare(
            lambda m, s, v, m2, fn=fn: getattr(m, fn)(s, v, m2),
            s.detach(),
            v.detach(),
            m2.detach(),
            grad=False,
        )
        compare(lambda m, v, fn=fn: getattr(m, fn)(v), v.detach(), grad=False)


@settings(max_examples=20, deadline=None)
@given(shape=st.lists(st.integers(1, 4), min_size=2, max_size=3), data=st.data())
def test_shape_ops_hypothesis(shape, data):
    nd = len(shape)
    d = data.draw(st.integers(-nd, nd - 1))
    reps = data.draw(st.lists(st.integers(1, 3), min_size=nd, max_size=nd + 1))
    shift = data.draw(st.integers(-5, 5))
    k = data.draw(st.integers(-2, 2))
    x = randn(*shape, seed=nd + shift + 10)
    compare(
        lambda m, x: (
            m.flip(x, (d,)),
            m.roll(x, shift, d),
            x.repeat(*reps),
            m.tril(x, k),
            m.diagonal(x, k, 0, -1),
        ),
        x,
    )


def test_diff():
    x = randn(3, 4)
    compare(lambda m, x: (m.diff(x), m.diff(x, dim=0), m.diff(x, 2, 1), x.diff(append=x[:, :1])), x)
    compare(
        lambda m: (
            m.diff(m.tensor([[1, 3, 6], [0, 0, 1]]), dim=1, prepend=m.tensor([[0], [0]])),
            m.diff(m.tensor([True, False, False])),
        ),
        grad=False,
    )


_DOUBLE = {
    "flip": lambda m, x: m.flip(x, (0,)) ** 2,
    "roll": lambda m, x: m.roll(x, 1, 1) ** 2,
    "tril": lambda m, x: m.tril(x) ** 2,
    "diag_embed": lambda m, x: m.diag_embed(x) ** 2,
    "repeat_interleave": lambda m, x: m.repeat_interleave(x, 2, 0) ** 2,
}


@pytest.mark.parametrize("name", sorted(_DOUBLE))
def test_double_backward(name):
    compare_double_backward(_DOUBLE[name], (3, 4))


def test_method_keyword_forms():
    x = randn(2, 3)
    compare(
        lambda m, x: (
            x.flip(dims=[0]),
            x.flip(0, 1),
            x.tile(dims=(2,)),
            x.broadcast_to(size=(2, 2, 3)),
            x.roll(shifts=1, dims=1),
            x.diagonal(offset=1, dim1=0, dim2=1),
            x.unfold(dimension=1, size=2, step=1),
            x.tril(diagonal=-1),
            x.repeat_interleave(repeats=2, dim=0),
        ),
        x,
    )


def test_unfold_double_backward():
    compare_double_backward(lambda m, x: x.unfold(1, 3, 2) ** 2, (2, 7))


def test_splits_and_ravel():
    x = randn(2, 5)
    compare(
        lambda m, x: (
            m.tensor_split(x, 3, dim=1),
            m.tensor_split(x, [1, 4], dim=1),
            m.tensor_split(x, m.tensor([1, 9]), dim=1),
            x.tensor_split(2),
            m.hsplit(x, [2]),
            m.vsplit(x, 2),
            m.ravel(x.t()),
            x.ravel(),
        ),
        x,
    )
    y = randn(2, 2, 4, seed=3)
    compare(lambda m, y: m.dsplit(y, 2), y)
    with pytest.raises(RuntimeError, match="not divisible by the split_size 2"):
        ember.hsplit(x, 2)
    with pytest.raises(RuntimeError, match="torch.vsplit requires a tensor with at least 2"):
        ember.vsplit(randn(3), 1)


def test_split_is_one_node_with_torchs_gradients():
    """split/chunk of a tensor that records a graph: one node for all the pieces (torch's
    SplitBackward0 / SplitWithSizesBackward0), gradients with pieces unused or used twice,
    higher derivatives, float64 finite differences; in-place changes of a piece refused."""
    compare(lambda m, x: [p * (i + 1) for i, p in enumerate((x * 1).split(3, dim=1))], randn(4, 9))
    compare(lambda m, x: (x * 2).split([2, 3, 4], 1)[2].exp(), randn(4, 9))
    compare(lambda m, x: sum(p.sum() * p.mean() for p in (x + 0).chunk(4, 0)), randn(4, 9))
    x = randn(4, 9, seed=5)
    for m in (ember, __import__("torch")):
        y = m.tensor(x.detach().numpy(), requires_grad=True)
        a, b = (y * 1).split([4, 5], 1)
        assert a.grad_fn.name() == "SplitWithSizesBackward0" and a.grad_fn is b.grad_fn
        assert (y * 1).split(3, 1)[0].grad_fn.name() == "SplitBackward0"
    compare_double_backward(
        lambda m, x: m.cat([p.pow(3) * i for i, p in enumerate((x * 1).split(2, 1))], 1), (3, 5)
    )
    gradcheck(lambda x: (x * 1).split([1, 2], 0)[1].sin(), (3, 4))
    # in place on a piece: refused, as torch (tests/autograd/test_multi_output_views.py)
    for m in (ember, __import__("torch")):
        q, k, v = (m.tensor(x.detach().numpy(), requires_grad=True) * 1).split(3, 1)
        with pytest.raises(RuntimeError, match="Output 0 of Split is a view and is being"):
            q.mul_(2)


def test_block_diag_diagflat_row_stack():
    a, b = randn(1, 2), randn(2, seed=2)
    c = ember.tensor(0.5, requires_grad=True)
    compare(lambda m, a, b, c: m.block_diag(a, c, b), a, b, c)
    compare(
        lambda m: (
            m.block_diag(m.ones(1, 2, dtype=m.long), m.tensor([4.0, 5.0])),
            m.diagflat(m.tensor([[1, 2], [3, 4]]), 1),
            m.row_stack([m.ones(2), m.zeros(2)]),
        ),
        grad=False,
    )
    x = randn(2, 2)
    compare(lambda m, x: (m.diagflat(x), x.diagflat(-1)), x)


def test_scatter_into_slices():
    x, s = randn(3, 4), randn(4, seed=1)
    compare(lambda m, x, s: m.select_scatter(x, s, 0, -1), x, s)
    x.grad = s.grad = None
    s2 = randn(3, 2, seed=2)
    compare(lambda m, x, s: m.slice_scatter(x, s, 1, 0, 4, 2), x, s2)
    x.grad = None
    s3 = randn(3, seed=3)
    compare(lambda m, x, s: m.diagonal_scatter(x, s), x, s3)
    x.grad = s3.grad = None
    compare(lambda m, x, s: x.diagonal_scatter(s, 1), x, s3)
    x.grad = None
    compare(lambda m, x: x.narrow_copy(1, 1, 2), x)
    with pytest.raises(RuntimeError, match="expected src to have a size equal to the slice"):
        ember.select_scatter(x, randn(3), 0, 0)


def test_fill_diagonal_and_sum_to_size():
    for shape, wrap in (((3, 3), False), ((7, 3), True), ((7, 3), False), ((2, 2, 2), False)):
        a = ember.zeros(*shape)
        t = to_torch(a).clone()
        assert a.fill_diagonal_(5.0, wrap=wrap) is a
        t.fill_diagonal_(5.0, wrap=wrap)
        assert_same(a, t)
    x = randn(3, 3)
    compare(lambda m, x: (x * 1).fill_diagonal_(0.5), x)
    y = randn(2, 3)
    compare(lambda m, y: (y.sum_to_size(1, 3), y.sum_to_size(3), y.sum_to_size((2, 1))), y)
    with pytest.raises(RuntimeError, match="is not expandable to size"):
        y.sum_to_size(4)


def test_inplace_view_ops():
    x = randn(2, 1, 3)
    compare(lambda m, x: (x * 2).squeeze_().t_().unsqueeze_(0).transpose_(0, 2), x)
    z = ember.zeros(2, 3)
    assert z.unsqueeze_(0) is z and z.shape == (1, 2, 3)
    assert z.squeeze_(0).shape == (2, 3) and z.swapdims_(0, 1).shape == (3, 2)
    with pytest.raises(RuntimeError, match="a leaf Variable that requires grad"):
        x.squeeze_()


def test_diagonal_scatter_double_backward():
    compare_double_backward(lambda m, x, s: m.diagonal_scatter(x, s, 1) ** 2, (3, 4), (3,))


def test_diff_of_order_zero_is_a_copy_of_the_input_and_negative_order_raises():
    x = randn(3)
    e, t = compare(lambda m, x: m.diff(x, n=0, prepend=x[:1], append=x[:2]), x)
    assert e.shape == (3,) and e._data is not x._data
    with pytest.raises(RuntimeError, match="order must be non-negative but got -1"):
        ember.diff(x, n=-1)


# --- as_strided, the *_copy views, split_with_sizes, combinations, gradient ------------------
def test_as_strided_of_as_strided_view_reads_the_whole_storage():
    # the inner view starts at offset 2: an explicit offset of the outer one counts from the
    # storage's start (torch's partial_views samples); torch's gradient reaches only the inner
    # view's own elements (elements read from outside it get none, unlike finite differences)
    x = randn(12, dtype=ember.float64)
    compare(lambda m, x: m.as_strided(m.as_strided(x, (6,), (1,), 2), (2, 2), (1, 2), 0), x)
    x.grad = None
    compare(lambda m, x: m.as_strided(m.as_strided(x, (6,), (1,), 2), (2, 3), (3, 1)), x)
    x.grad = None
    compare(lambda m, x: m.as_strided(m.as_strided(x, (6,), (1,), 2), (2, 2), (1, 2), 7), x)
    gradcheck(
        lambda x: ember.as_strided(ember.as_strided(x, (6,), (1,), 2), (2, 2), (1, 2), 3), (12,)
    )


def test_as_strided_views_storage_with_torch_values_gradients_and_errors():
    from tests._support.torch_ref import torch

    x = randn(8)
    compare(lambda m, x: m.as_strided(x[1:], (3, 2), (1, 1)), x)  # overlapping windows
    x.grad = None
    compare(lambda m, x: m.as_strided(x, (2, 2), (1, 2), 3), x)
    x.grad = None
    compare(lambda m, x: x.t().as_strided((2, 3), (3, 1)), randn(2, 4))
    base = ember.arange(6.0)
    v = ember.as_strided(base, (2, 2), (2, 1), 1)
    v[0, 0] = 10.0
    assert base[1].item() == 10.0  # a view: writes reach the storage
    for bad, tbad in (
        (
            lambda: ember.as_strided(base, (3, 3), (3, 1)),
            lambda: torch.as_strided(torch.arange(6.0), (3, 3), (3, 1)),
        ),
        (
            lambda: ember.as_strided(base, (2,), (-1,)),
            lambda: torch.as_strided(torch.arange(6.0), (2,), (-1,)),
        ),
    ):
        with pytest.raises(RuntimeError) as e:
            bad()
        with pytest.raises(RuntimeError) as t:
            tbad()
        assert str(e.value) == str(t.value)


def test_as_strided_scatter_and_copy_forms():
    x, s = randn(6), randn(2, 2, seed=3)
    # torch 2.13's gradient for the input is inverted (non-zero exactly where src was written,
    # zero elsewhere): ember's is checked by finite differences; values and src's gradient
    # against torch
    compare(lambda m, x, s: m.as_strided_scatter(x.detach(), s, (2, 2), (1, 2), 1), x, s)
    gradcheck(lambda x, s: ember.as_strided_scatter(x, s, (2, 2), (1, 2), 1), (6,), (2, 2))
    y = randn(2, 3, 4, seed=4)
    for name, args in (
        ("view_copy", ((6, 4),)),
        ("permute_copy", ((2, 0, 1),)),
        ("transpose_copy", (0, 2)),
        ("squeeze_copy", ()),
        ("unsqueeze_copy", (1,)),
        ("select_copy", (1, 2)),
        ("diagonal_copy", (0, 1, 2)),
        ("unfold_copy", (2, 2, 1)),
        ("slice_copy", (2, 1, 4, 2)),
        ("alias_copy", ()),
        ("detach_copy", ()),
        ("as_strided_copy", ((3, 2), (1, 3))),
    ):
        y.grad = None
        e, _ = compare(
            lambda m, y, n=name, a=args: getattr(m, n)(y, *a), y, grad=name != "detach_copy"
        )
        assert e._base is None  # a copy, not a view
    y.grad = None
    compare(lambda m, y: m.t_copy(y[0]), y)
    for name, arg in (("split_copy", 3), ("split_with_sizes_copy", [1, 3])):
        y.grad = None
        compare(lambda m, y, n=name, a=arg: getattr(m, n)(y, a, 2), y)
    y.grad = None
    compare(lambda m, y: m.unbind_copy(y, 1), y)


def test_split_with_sizes_checks_as_torch():
    from tests._support.torch_ref import torch

    x = randn(5, 2)
    compare(lambda m, x: m.split_with_sizes(x, [2, 3]), x)
    x.grad = None
    compare(lambda m, x: x.split_with_sizes([1, 1], dim=1), x)
    for sizes in ([2, 2], [6, -1]):
        with pytest.raises(RuntimeError) as e:
            ember.split_with_sizes(ember.arange(5), sizes)
        with pytest.raises(RuntimeError) as t:
            torch.split_with_sizes(torch.arange(5), sizes)
        assert str(e.value) == str(t.value)


@pytest.mark.parametrize("r", [0, 1, 2, 3, 5])
@pytest.mark.parametrize("with_replacement", [False, True])
def test_combinations_against_torch(r, with_replacement):
    x = randn(4)
    if r in (0, 5) and not with_replacement:
        for m in (ember,):
            assert tuple(m.combinations(x.detach(), r).shape) == ((0,) if r == 0 else (0, 5))
        return
    compare(lambda m, x: m.combinations(x, r, with_replacement=with_replacement), x, grad=r > 0)


@pytest.mark.parametrize("edge_order", [1, 2])
def test_gradient_uniform_per_dim_and_coordinate_spacings(edge_order):
    f = randn(4, 5, dtype=ember.float64)
    compare(lambda m, f: m.gradient(f, edge_order=edge_order), f)
    f.grad = None
    compare(lambda m, f: m.gradient(f, spacing=[2.0, 0.5], edge_order=edge_order), f)
    f.grad = None
    compare(lambda m, f: m.gradient(f, spacing=3.0, dim=1, edge_order=edge_order), f)
    f.grad = None
    coords = [0.0, 0.4, 1.5, 1.7, 3.0]
    compare(
        lambda m, f: m.gradient(
            f, spacing=(m.tensor(coords, dtype=m.float64),), dim=1, edge_order=edge_order
        ),
        f,
    )
    with pytest.raises(RuntimeError, match="at least edge_order"):
        ember.gradient(ember.tensor([1.0, 2.0]), edge_order=2)
    gradcheck(lambda f: ember.gradient(f, edge_order=edge_order)[1], (3, 4))


def test_unsafe_chunk_and_split_are_chunk_and_split():
    x = randn(5, 2)
    compare(lambda m, x: m.unsafe_chunk(x, 2), x)
    x.grad = None
    compare(lambda m, x: m.unsafe_split(x, 2, 0), x)
    x.grad = None
    compare(lambda m, x: x.unsafe_split_with_sizes([3, 2]), x)


def test_empty_combinations_stay_in_the_graph():
    x = randn(3)
    for r in (0, 4):
        e = ember.combinations(x, r)
        assert e.requires_grad and e.numel() == 0


@pytest.mark.parametrize("fn", ["cat", "stack"])
@pytest.mark.parametrize("at", [0, 1])
def test_joins_reject_non_tensor_elements_as_torch(fn, at):
    from tests._support.torch_ref import torch

    def parts(m):
        items = [m.ones(2), m.ones(2)]
        items[at] = [1.0]
        return items

    with pytest.raises(TypeError) as want:
        getattr(torch, fn)(parts(torch))
    with pytest.raises(TypeError) as got:
        getattr(ember, fn)(parts(ember))
    assert str(got.value) == str(want.value)


@pytest.mark.parametrize("dim", [0, 1, -1, -2])
def test_cat_fast_path_matches_torch(dim):
    from tests._support.torch_ref import torch

    a, b = randn(3, 4), randn(3, 4)
    assert_same(ember.cat([a, b], dim), torch.cat([to_torch(a), to_torch(b)], dim))
    assert_same(ember.cat((a, b), dim=dim), torch.cat((to_torch(a), to_torch(b)), dim=dim))


_ROW_CATS = [
    lambda m: [m.zeros(0, 3), m.zeros(0, 3)],
    lambda m: [m.zeros(2, 0), m.zeros(2, 0)],
    lambda m: [m.tensor([1, 2]), m.tensor([3, 4])],
    lambda m: [m.tensor([True, False]), m.tensor([False, False])],
    lambda m: [m.tensor([1 + 2j]), m.tensor([3j])],
    lambda m: [m.ones(2, 3, dtype=m.float16), m.zeros(2, 3, dtype=m.float16)],
    lambda m: [m.arange(6.0).reshape(2, 3).t(), m.ones(3, 2)],  # not C-contiguous
    lambda m: [m.ones(1, 4)[:, ::2], m.ones(1, 2)],
    lambda m: [m.tensor(1.0), m.tensor(2.0)],  # 0-d: torch's error
    lambda m: [m.zeros(0), m.ones(2, 2)],  # a legacy empty 1-d tensor is skipped
    lambda m: [m.ones(2, 2), m.ones(2, 3)],  # sizes differ: torch's error
    lambda m: [m.ones(2, 2), m.ones(2, 2, dtype=m.float64)],  # promoted
    lambda m: (m.ones(3, 2, 2), m.zeros(3, 2, 2), m.ones(3, 2, 2)),
]


@pytest.mark.parametrize("case", range(len(_ROW_CATS)))
def test_cat_rows_path_matches_torch(case):
    """cat along dim 0 of same-shape tensors outside a graph joins their buffers at once:
    torch's values, dtypes and errors, and an ordinary writable result."""
    from tests._support.torch_ref import torch

    make = _ROW_CATS[case]
    try:
        want = torch.cat(make(torch))
    except Exception as e:  # noqa: BLE001  (the same exception type from ember)
        with pytest.raises(type(e)):
            ember.cat(make(ember))
        return
    parts = make(ember)
    got = ember.cat(parts)
    assert_same(got, want)
    if all(t.shape == parts[0].shape for t in parts):
        assert_same(ember.stack(list(parts)), torch.stack(list(make(torch))))
    before = [t.clone() for t in parts]
    got.zero_()  # writable, and its own memory: the inputs keep their values
    assert bool((got == 0).all())
    for t, b in zip(parts, before):
        assert np.array_equal(t.numpy(), b.numpy())
