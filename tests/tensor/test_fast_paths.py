"""The graph-free fast paths of the small-tensor ops (view, transpose, t, unsqueeze, slicing
with tensor bounds, stack, cat, unbind/iteration, sum over one dim, tensor-scalar arithmetic):
the same values, dtypes, shapes, view semantics and errors as torch, with and without grad."""

import numpy as np
import pytest

import ember
from tests._support.ops_check import compare, compare_double_backward, gradcheck, randn
from tests._support.torch_ref import assert_same, to_torch, torch


def _pair(*shape, dtype=np.float32):
    a = np.random.default_rng(sum(shape)).standard_normal(shape).astype(dtype)
    return ember.from_numpy(a.copy()), torch.from_numpy(a.copy())


VIEWS = {
    "view": lambda x: x.view(4, 6),
    "view_list": lambda x: x.view([2, -1]),
    "view_size": lambda x: x.view(x.size()),
    "view_heads": lambda x: x.view(2, 3, 2, 2).transpose(1, 2),
    "transpose": lambda x: x.transpose(0, -1),
    "t": lambda x: x.view(6, 4).t(),
    "unsqueeze": lambda x: x.unsqueeze(-1),
    "slice": lambda x: x[:, :-1],
    "tensor_slice": lambda x: x.view(-1)[x.new_tensor(3).long() : x.new_tensor(9).long()],
    "select": lambda x: x[1],
}


@pytest.mark.parametrize("name", sorted(VIEWS))
@pytest.mark.parametrize("grad", [False, True])
def test_views_fast_and_recorded_agree_with_torch(name, grad):
    e, t = _pair(2, 3, 4)
    if grad:
        e.requires_grad_()
        t.requires_grad_()
    ve, vt = VIEWS[name](e), VIEWS[name](t)
    assert_same(ve, vt)
    assert ve.requires_grad == vt.requires_grad
    assert np.shares_memory(ve.detach().numpy(), e.detach().numpy())
    assert ve._base is e
    v0 = e._version
    with ember.no_grad():
        e.add_(1)
    assert ve._version == e._version == v0 + 1  # one version counter per storage
    if grad:
        compare(lambda m, x: VIEWS[name](x), randn(2, 3, 4))


def test_view_of_a_view_keeps_the_root_base_and_writes_through():
    e = ember.zeros(2, 6)
    v = e.view(3, 4).t()
    assert v._base is e
    v[0, 0] = 5.0
    assert e[0, 0].item() == 5.0


def test_view_under_no_grad_of_a_grad_tensor():
    e = randn(2, 3)
    with ember.no_grad():
        v = e.view(3, 2)
        w = e.transpose(0, 1)
    assert not v.requires_grad and not w.requires_grad and v.grad_fn is None


def test_view_errors_as_torch():
    e, t = _pair(2, 3, 4)
    # NumPy infers any negative size; torch only -1
    for shape in ((5, 5), (-1, -1), (-2, 12), (12, -2), [6, -4]):
        with pytest.raises(RuntimeError) as te:
            t.view(shape)
        with pytest.raises(RuntimeError) as ee:
            e.view(shape)
        assert str(ee.value) == str(te.value)
    assert_same(e.view([-1, 4]), t.view([-1, 4]))
    with pytest.raises(RuntimeError, match="view size is not compatible"):
        e.transpose(0, 1).view(-1)
    assert e.transpose(0, 2).view(4, 3, 2).shape == (4, 3, 2)  # splits no merged dim
    with pytest.raises(IndexError):
        e.transpose(0, 3)
    with pytest.raises(RuntimeError, match="t\\(\\) expects a tensor with <= 2 dimensions"):
        e.t()
    with pytest.raises(IndexError):
        e.unsqueeze(4)


def test_view_dtype_and_zero_d_forms():
    e, t = _pair(2, 4)
    assert_same(e.view(ember.int32), t.view(torch.int32))
    s = ember.tensor(3.0)
    assert s.t().shape == () and s.view(1).shape == (1,) and s.view(-1).shape == (1,)
    assert ember.arange(3).t().tolist() == [0, 1, 2]


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int64])
def test_stack_of_slices_as_the_nanogpt_batch(dtype):
    data_e, data_t = _pair(500, dtype=np.float64)
    data_e, data_t = (
        ember.from_numpy((data_e.numpy() * 100).astype(dtype)),
        torch.from_numpy((data_t.numpy() * 100).astype(dtype)),
    )
    ix = [3, 100, 7, 400]
    ie, it = ember.tensor(ix), torch.tensor(ix)
    xe = ember.stack([data_e[i : i + 64] for i in ie])
    xt = torch.stack([data_t[i : i + 64] for i in it])
    assert_same(xe, xt)
    xe[0, 0] = 0  # a copy, not a view
    assert data_e[3].item() != 0 or data_t[3].item() == 0


@pytest.mark.parametrize("dim", [0, 1, -1, 2])
def test_stack_values_gradients_and_double_backward(dim):
    compare(lambda m, a, b, c: m.stack([a, b, c], dim), randn(2, 3), randn(2, 3), randn(2, 3))
    gradcheck(lambda a, b: ember.stack((a, b), dim), (2, 3), (2, 3))
    compare_double_backward(lambda m, a, b: m.stack([a * a, b], dim) ** 2, (2, 3), (2, 3))


def test_stack_mixed_cases_as_torch():
    # 0-d tensors, promoted dtypes, one tensor requiring grad among plain ones
    compare(lambda m, a, b: m.stack([a, b, a * 2]), randn(), randn())
    a = ember.tensor([1, 2], dtype=ember.int32)
    b = ember.tensor([0.5, 1.5])
    r = ember.stack([a, b])
    rt = torch.stack([torch.tensor([1, 2], dtype=torch.int32), torch.tensor([0.5, 1.5])])
    assert_same(r, rt)
    x = randn(3)
    y = randn(3, rg=False)
    compare(lambda m, p, q: m.stack([q, p], 1), x, y)
    with pytest.raises(RuntimeError, match="stack expects each tensor to be equal size"):
        ember.stack([ember.zeros(2), ember.zeros(3)])
    with pytest.raises(RuntimeError, match="stack expects a non-empty TensorList"):
        ember.stack([])
    with pytest.raises(TypeError, match="must be tuple of Tensors, not Tensor"):
        ember.stack(ember.zeros(2, 2))
    with pytest.raises(IndexError):
        ember.stack([ember.zeros(2)], 2)
    out = ember.empty(0)
    ember.stack([ember.ones(2), ember.zeros(2)], out=out)
    assert out.tolist() == [[1.0, 1.0], [0.0, 0.0]]


def test_stack_records_one_node():
    a, b = randn(2), randn(2)
    r = ember.stack([a, b])
    assert r.grad_fn.name() == "StackBackward0"
    assert [n is not None for n, _ in r.grad_fn.next_functions] == [True, True]


def test_cat_fast_path_and_errors_as_torch():
    e1, t1 = _pair(2, 3)
    e2, t2 = _pair(4, 3)
    assert_same(ember.cat([e1, e2]), torch.cat([t1, t2]))
    assert_same(ember.cat([e1, e1], -1), torch.cat([t1, t1], -1))
    assert_same(ember.cat([e1, ember.zeros(0)]), torch.cat([t1, torch.zeros(0)]))
    with pytest.raises(RuntimeError) as te:
        torch.cat([t1, t2], 1)
    with pytest.raises(RuntimeError) as ee:
        ember.cat([e1, e2], 1)
    assert str(ee.value) == str(te.value)
    r = ember.cat([e1, e1.double()])
    assert r.dtype == ember.float64
    p = ember.nn.Parameter(e1.clone())
    with ember.no_grad():
        assert_same(ember.cat([e1, p]), torch.cat([t1, t1]))
    with pytest.raises(TypeError) as te:
        torch.cat([t1, 1.0])
    with pytest.raises(TypeError) as ee:
        ember.cat([e1, 1.0])
    assert str(ee.value) == str(te.value)


@pytest.mark.parametrize("dim", [0, 1])
def test_unbind_and_iteration_share_storage(dim):
    e, t = _pair(3, 4)
    pe, pt = ember.unbind(e, dim), torch.unbind(t, dim)
    assert len(pe) == len(pt)
    for a, b in zip(pe, pt):
        assert_same(a, b)
        assert a._base is e
    items = list(ember.arange(4))
    assert [x.shape for x in items] == [()] * 4 and [int(x) for x in items] == [0, 1, 2, 3]
    items[2].fill_(9)
    v0 = e._version
    pe[0].mul_(2)
    assert e._version == v0 + 1
    compare(lambda m, x: m.unbind(x, dim), randn(3, 4))


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.float16, np.int64, np.int32])
@pytest.mark.parametrize("dim", [0, 1, -1, 2])
def test_sum_over_one_dim_as_torch(dtype, dim):
    a = (np.random.default_rng(0).standard_normal((3, 5, 4)) * 10).astype(dtype)
    e, t = ember.from_numpy(a.copy()), torch.from_numpy(a.copy())
    tol = 1e-2 if dtype == np.float16 else 1e-5  # NumPy accumulates float16 in float16
    for keep in (False, True):
        assert_same(e.sum(dim, keepdim=keep), t.sum(dim, keepdim=keep), rtol=tol, atol=tol)
    assert_same(e.sum((0, 2)), t.sum((0, 2)), rtol=tol, atol=tol)
    assert_same(ember.zeros(0, 3).sum(1), torch.zeros(0, 3).sum(1))
    assert_same(ember.zeros(2, 0).sum(1), torch.zeros(2, 0).sum(1))
    assert_same(e[:, ::2].sum(-1), t[:, ::2].sum(-1), rtol=tol, atol=tol)


def test_sum_over_one_dim_gradients():
    compare(lambda m, x: x.sum(1), randn(3, 4))
    compare(lambda m, x: x.transpose(0, 1).sum(-1, keepdim=True), randn(3, 4, 2))
    gradcheck(lambda x: x.sum(0), (3, 4))


@pytest.mark.parametrize(
    "dtype", [torch.float32, torch.float64, torch.float16, torch.int64, torch.int32, torch.uint8]
)
@pytest.mark.parametrize("scalar", [64, -3, 2.5, 0])
@pytest.mark.parametrize("op", ["add", "radd", "sub", "mul", "rmul"])
def test_scalar_arithmetic_dtypes_as_torch(dtype, scalar, op):
    fns = {
        "add": lambda x: x + scalar,
        "radd": lambda x: scalar + x,
        "sub": lambda x: x - scalar,
        "mul": lambda x: x * scalar,
        "rmul": lambda x: scalar * x,
    }
    for shape in ((), (3,)):
        t = (torch.arange(3) + 1).to(dtype)[: 3 if shape else 1].reshape(shape)
        e = ember.from_numpy(t.numpy().copy())
        assert_same(fns[op](e), fns[op](t))


def test_scalar_arithmetic_keeps_graph_and_int64_edges():
    compare(lambda m, x: (x + 1) * 2.5 - 3, randn(3))
    big = ember.tensor([2**62], dtype=ember.int64)
    assert_same(big + 2**62, torch.tensor([2**62]) + 2**62)  # wraps as torch
    assert (big * 1.5).dtype == ember.float32
    assert (ember.tensor([True]) + 1).dtype == ember.int64


def test_profiler_still_sees_the_view_ops():
    x = to_torch(randn(2, 3, rg=False))  # noqa: F841  (torch loaded as the reference)
    e = randn(4, 6, rg=False)
    with ember.profiler.profile() as prof:
        e.view(6, 4)
        ember.stack([e, e])
    names = [ev.name for ev in prof.events()]
    assert any("Reshape" in n for n in names) and any("Stack" in n for n in names)
