"""Errors: the same exception types (and key message text) as torch."""

from __future__ import annotations

import numpy as np
import pytest

import ember
from tests._support.elementwise import small_tensor
from tests._support.torch_ref import assert_same, torch


def _leaf(shape=(3,), seed=0, dtype=np.float32, lo=None):
    a = np.random.default_rng(seed).standard_normal(shape).astype(dtype)
    if lo is not None:
        a = np.abs(a) + lo
    return (
        ember.from_numpy(a.copy()).requires_grad_(),
        torch.from_numpy(a.copy()).requires_grad_(),
    )


def _raises_like(fe, ft, match=None):
    """Both callables raise; ember's exception is of torch's type (and matches)."""
    with pytest.raises(Exception) as ti:
        ft(torch)
    with pytest.raises(type(ti.value)) as ei:
        fe(ember)
    if match is not None:
        assert match in str(ti.value), str(ti.value)
        assert match in str(ei.value), str(ei.value)
    return ei.value, ti.value


def _same(f, match=None):
    return _raises_like(f, f, match)


CASES = {
    "broadcast": (
        lambda L: L.ones(2, 3) + L.ones(2, 4),
        "The size of tensor a (3) must match the size of tensor b (4) at non-singleton dimension 1",
    ),
    "broadcast_mul": (
        lambda L: L.ones(5, 3) * L.ones(4, 1),
        "The size of tensor a (5) must match the size of tensor b (4) at non-singleton dimension 0",
    ),
    "broadcast_sub_3d": (
        lambda L: L.ones(2, 3, 4) - L.ones(3, 3, 4),
        "The size of tensor a (2) must match the size of tensor b (3) at non-singleton dimension 0",
    ),
    "broadcast_grad": (
        lambda L: L.ones(2, 3, requires_grad=True) * L.ones(2, 4),
        "must match the size of tensor b (4)",
    ),
    "matmul": (
        lambda L: L.ones(2, 3) @ L.ones(4, 5),
        "mat1 and mat2 shapes cannot be multiplied (2x3 and 4x5)",
    ),
    "dim_range": (
        lambda L: L.ones(2, 3).sum(2),
        "Dimension out of range (expected to be in range of [-2, 1], but got 2)",
    ),
    "dim_range_size": (lambda L: L.ones(2, 3).size(-3), "Dimension out of range"),
    "dim_range_transpose": (lambda L: L.ones(2, 3).transpose(0, 5), "Dimension out of range"),
    "dim_range_unsqueeze": (lambda L: L.ones(2).unsqueeze(3), "Dimension out of range"),
    "float_index": (lambda L: L.ones(3)[1.0], None),
    "float_tensor_index": (
        lambda L: L.ones(3)[L.tensor([1.0])],
        "tensors used as indices must be long, int, byte or bool tensors",
    ),
    "index_oob": (lambda L: L.ones(3)[3], "index 3 is out of bounds for dimension 0 with size 3"),
    "index_oob_2d": (
        lambda L: L.ones(2, 3)[:, 5],
        "index 5 is out of bounds for dimension 1 with size 3",
    ),
    "too_many_indices": (lambda L: L.ones(3)[0, 0], None),
    "item": (lambda L: L.ones(3).item(), "a Tensor with 3 elements cannot be converted to Scalar"),
    "bool_ambiguous": (
        lambda L: bool(L.ones(3)),
        "Boolean value of Tensor with more than one value is ambiguous",
    ),
    "backward_nonscalar": (
        lambda L: (L.ones(3, requires_grad=True) * 2).backward(),
        "grad can be implicitly created only for scalar outputs",
    ),
    "backward_no_grad": (
        lambda L: L.ones(3).sum().backward(),
        "element 0 of tensors does not require grad and does not have a grad_fn",
    ),
    "numpy_requires_grad": (
        lambda L: L.ones(3, requires_grad=True).numpy(),
        "Can't call numpy() on Tensor that requires grad. Use tensor.detach().numpy() instead.",
    ),
    "view_bad_size": (
        lambda L: L.ones(2, 3).view(4, 2),
        "shape '[4, 2]' is invalid for input of size 6",
    ),
    "reshape_bad_size": (lambda L: L.ones(2, 3).reshape(5), "shape '[5]' is invalid"),
    "int_requires_grad": (
        lambda L: L.ones(2, dtype=L.int64).requires_grad_(),
        "only Tensors of floating point dtype can require gradients",
    ),
    "leaf_inplace": (
        lambda L: L.ones(2, requires_grad=True).mul_(2),
        "a leaf Variable that requires grad is being used in an in-place operation.",
    ),
    "inplace_cast": (
        lambda L: L.ones(2, dtype=L.int64).add_(0.5),
        "result type Float can't be cast to the desired output type Long",
    ),
    "inplace_broadcast": (lambda L: L.ones(3).add_(L.ones(2, 3)), None),
    "bool_sub": (
        lambda L: L.ones(2, dtype=L.bool) - L.ones(2, dtype=L.bool),
        "Subtraction, the `-` operator, with two bool tensors is not supported",
    ),
    "bool_neg": (
        lambda L: -L.ones(2, dtype=L.bool),
        "Negation, the `-` operator, on a bool tensor is not supported",
    ),
    "int_neg_pow": (
        lambda L: L.tensor([2]) ** -1,
        "Integers to negative integer powers are not allowed.",
    ),
    "mean_int": (lambda L: L.tensor([1, 2]).mean(), "mean(): could not infer output dtype"),
    "bitwise_float": (lambda L: L.ones(2) & L.ones(2), None),
    "tensor_ragged": (lambda L: L.tensor([[1, 2], [3]]), None),
    "tensor_str": (lambda L: L.tensor("abc"), None),
    "len_0d": (lambda L: len(L.tensor(1.0)), "len() of a 0-d tensor"),
    "iter_0d": (lambda L: iter(L.tensor(1.0)), "iteration over a 0-d tensor"),
    "negative_dim": (lambda L: L.ones(2, -1), "negative dimension -1"),
    "negative_dim_zeros": (lambda L: L.zeros(2, -1), "Dimension size must be non-negative"),
    "randint_range": (lambda L: L.randint(5, 2, (3,)), None),
    "arange_step": (lambda L: L.arange(0, 5, 0), None),
    "masked_fill_mask": (lambda L: L.ones(2).masked_fill(L.ones(2), 0.0), None),
    "where_cond": (
        lambda L: L.where(L.ones(2), L.ones(2), L.zeros(2)),
        "where expected condition to be a boolean tensor",
    ),
    "clamp_none": (lambda L: L.ones(2).clamp(), "At least one of 'min' or 'max' must not be None"),
    "matmul_0d": (
        lambda L: L.tensor(1.0) @ L.ones(2),
        "both arguments to matmul need to be at least 1D",
    ),
    "matmul_dtype": (lambda L: L.ones(2, 2) @ L.ones(2, 2, dtype=L.float64), None),
    "index_0d": (lambda L: L.tensor(1.0)[0], "invalid index of a 0-dim tensor"),
    "setitem_shape": (lambda L: L.ones(2, 3).__setitem__(0, L.ones(4)), None),
    "set_default_int": (lambda L: L.set_default_dtype(L.int32), None),
    "finfo_int": (lambda L: L.finfo(L.int32), None),
    "device_str": (lambda L: L.device("tpu"), None),
    "unknown_method": (lambda L: L.ones(2).definitely_not_a_method(), None),
    "requires_grad_nonleaf": (
        lambda L: setattr(L.ones(1, requires_grad=True) * 2, "requires_grad", False),
        None,
    ),
    "grad_unused": (
        lambda L: L.autograd.grad(
            (L.ones(1, requires_grad=True) * 2).sum(), [L.ones(1, requires_grad=True)]
        ),
        "The differentiated Tensor at index 0 appears to not have been used in the graph",
    ),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_error_matches_torch(name):
    f, match = CASES[name]
    _same(f, match)


def test_backward_twice():
    def f(L):
        x = L.ones(2, requires_grad=True)
        y = (x.exp() * x).sum()
        y.backward()
        y.backward()

    _same(f, "Trying to backward through the graph a second time")


def test_modified_by_inplace():
    def f(L):
        x = L.ones(2, requires_grad=True)
        y = x * 2
        z = y * y
        y.mul_(3)
        z.sum().backward()

    e, t = _same(f, "modified by an inplace operation")
    assert "is at version 1; expected version 0 instead" in str(e)
    assert "is at version 1; expected version 0 instead" in str(t)


def test_out_with_grad():
    def f(L):
        x = L.ones(2, requires_grad=True)
        L.mul(x, 2, out=L.empty(2))

    _same(f, "don't support automatic differentiation")


def test_zero_dim_len_type():
    with pytest.raises(TypeError):
        len(ember.tensor(2))


def test_cuda_unavailable():
    if torch.cuda.is_available():
        pytest.skip("a GPU is present")
    with pytest.raises(Exception) as ti:
        torch.ones(2).cuda()
    try:
        ember.ones(2).cuda()
    except Exception as e:  # noqa: BLE001
        assert isinstance(e, (type(ti.value), AssertionError, RuntimeError))


INPLACE_DT = [
    "bool",
    "uint8",
    "int8",
    "int32",
    "int64",
    "float16",
    "bfloat16",
    "float32",
    "float64",
]


@pytest.mark.parametrize(
    "op",
    [
        "add_",
        "sub_",
        "mul_",
        "div_",
        "pow_",
        "remainder_",
        "clamp_",
        "fill_",
        "copy_",
        "masked_fill_",
        "__iadd__",
        "__imul__",
        "__itruediv__",
        "__ifloordiv__",
    ],
)
def test_inplace_dtype_grid_vs_torch(op):
    """In-place ops over dtype pairs: the destination's dtype and torch's values, or the same
    error type (e.g. a float result into an int tensor)."""
    import itertools

    def call(lib, x, o):
        if op == "clamp_":
            return x.clamp_(min=o)
        if op == "masked_fill_":
            return x.masked_fill_(lib.tensor([True, False, True, False]), o)
        return getattr(x, op)(o)

    for da, db in itertools.product(INPLACE_DT, INPLACE_DT + ["scalar"]):
        for kb in ("t", "0d") if db != "scalar" else (2, 2.5, True):
            ta, ea = small_tensor(torch, da, "t"), small_tensor(ember, da, "t")
            tb = small_tensor(torch, db, kb) if db != "scalar" else kb
            eb = small_tensor(ember, db, kb) if db != "scalar" else kb
            try:
                rt = call(torch, ta, tb)
            except Exception as ex:  # noqa: BLE001
                with pytest.raises(type(ex)):
                    call(ember, ea, eb)
                continue
            with np.errstate(all="ignore"):
                re_ = call(ember, ea, eb)
            assert str(re_.dtype) == str(rt.dtype), (op, da, db, kb)
            tv = rt.float().numpy() if rt.dtype == torch.bfloat16 else rt.numpy()
            ev = re_.float().numpy() if re_.dtype is ember.bfloat16 else re_.numpy()
            np.testing.assert_allclose(
                ev.astype(float),
                tv.astype(float),
                rtol=1e-2,
                atol=1e-2,
                err_msg=str((op, da, db, kb)),
            )


def test_hook_on_tensor_without_grad_raises():
    with pytest.raises(RuntimeError):
        torch.ones(2).register_hook(lambda g: g)
    with pytest.raises(RuntimeError):
        ember.ones(2).register_hook(lambda g: g)


def test_backward_non_scalar_requires_gradient():
    xe, xt = _leaf()
    with pytest.raises(RuntimeError):
        (xt * 2).backward()
    with pytest.raises(RuntimeError, match="scalar outputs"):
        (xe * 2).backward()


def test_backward_without_grad_raises():
    with pytest.raises(RuntimeError):
        torch.ones(2).sum().backward()
    with pytest.raises(RuntimeError, match="does not require grad"):
        ember.ones(2).sum().backward()


def test_inplace_on_leaf_raises():
    xe, xt = _leaf()
    for x in (xe, xt):
        with pytest.raises(RuntimeError, match="leaf Variable"):
            x.add_(1)
        with pytest.raises(RuntimeError, match="leaf Variable"):
            x += 1
    with ember.no_grad():
        xe.add_(1)
    with torch.no_grad():
        xt.add_(1)
    assert_same(xe, xt)


@pytest.mark.parametrize(
    "op,modify",
    [
        (lambda y: y.exp(), "out"),
        (lambda y: y * y, "in"),
        (lambda y: y.sigmoid(), "out"),
        (lambda y: y.tanh(), "out"),
        (lambda y: y**2, "in"),
        (lambda y: y / 3 + y.log(), "in"),
        (lambda y: y.sin(), "in"),
        (lambda y: y @ y, "in"),
    ],
)
def test_modified_saved_tensor_raises(op, modify):
    for x in _leaf(lo=0.5):
        y = x * 1
        z = op(y)
        (z if modify == "out" else y).add_(1)
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            z.sum().backward()


def test_grad_of_int_output_raises():
    xe, xt = _leaf()
    with pytest.raises(RuntimeError):
        (xt > 0).float().sum().backward()
    with pytest.raises(RuntimeError):
        (xe > 0).float().sum().backward()


def test_inplace_dtype_rules():
    e = ember.zeros(3, dtype=ember.int64)
    t = torch.zeros(3, dtype=torch.int64)
    with pytest.raises(RuntimeError):
        t.add_(1.5)
    with pytest.raises(RuntimeError):
        e.add_(1.5)
    ef = ember.zeros(3)
    ef.add_(ember.ones(3, dtype=ember.float64))
    assert ef.dtype is ember.float32
    with pytest.raises(RuntimeError):
        ef.add_(ember.ones(4))
    with pytest.raises(RuntimeError):
        torch.zeros(3).add_(torch.ones(4))


def test_to_with_positional_flags():
    e = ember.ones(2)
    assert e.to(ember.float64, False, True).dtype is ember.float64
    assert e.to("cpu", ember.float64).dtype is ember.float64
    assert e.to(ember.ones(1, dtype=ember.int32)).dtype is ember.int32
    assert e.to("cpu") is e and e.to(ember.float32) is e


@pytest.mark.parametrize("fmt", ["channels_last", "channels_last_3d", "contiguous_format", "x"])
@pytest.mark.parametrize("shape", [(2, 3), (2, 3, 4, 5), (2, 3, 4, 5, 6)])
def test_contiguous_memory_format_checks_as_torch(shape, fmt):
    """contiguous(memory_format=) checks the format's rank and type as torch does (ember's
    layout stays row-major either way)."""
    got = []
    for m in (ember, torch):
        f = getattr(m, fmt, fmt)
        try:
            r = m.ones(*shape).contiguous(memory_format=f)
            got.append(("ok", tuple(r.shape)))
        except (RuntimeError, TypeError) as e:
            got.append((type(e).__name__, str(e)))
    assert got[0] == got[1]
