"""Tensor attributes, conversions, legacy constructors, factories and random sampling."""

from __future__ import annotations

import numpy as np
import pytest

import ember
from tests._support.torch_ref import assert_same, to_torch, torch


def test_size():
    s = ember.zeros(2, 3, 4).shape
    ts = torch.zeros(2, 3, 4).shape
    assert repr(s) == repr(ts) == "torch.Size([2, 3, 4])"
    assert s == (2, 3, 4) and isinstance(s, tuple)
    assert repr(s[1:]) == repr(ts[1:])
    assert s.numel() == ts.numel() == 24
    assert repr(ember.Size([1, 2])) == repr(torch.Size([1, 2]))
    assert repr(ember.zeros(()).shape) == repr(torch.zeros(()).shape)
    assert s[-1] == 4


def test_basic_attributes():
    e = ember.randn(2, 3, 4)
    t = torch.randn(2, 3, 4)
    assert e.size(1) == t.size(1) and e.size(-1) == t.size(-1)
    assert e.dim() == e.ndim == t.ndim
    assert e.numel() == t.numel() == e.nelement()
    assert len(e) == len(t)
    assert str(e.dtype) == str(t.dtype)
    assert str(e.device) == str(t.device) == "cpu"
    assert repr(e.device) == repr(t.device)
    assert e.is_leaf and not e.requires_grad
    assert e.T.shape == t.permute(2, 1, 0).shape
    assert e.mT.shape == t.mT.shape
    assert e.ndimension() == 3
    with pytest.raises(IndexError):
        e.size(3)
    with pytest.raises(TypeError):
        len(ember.tensor(1.0))
    with pytest.raises(TypeError):
        len(torch.tensor(1.0))


def test_T_2d_matches_torch():
    e = ember.arange(6.0).reshape(2, 3)
    assert_same(e.T, to_torch(e).T)
    assert_same(e.mT, to_torch(e).mT)


def test_data_item_tolist():
    e = ember.tensor([[1.5, 2.0], [3.0, 4.0]], requires_grad=True)
    t = torch.tensor([[1.5, 2.0], [3.0, 4.0]], requires_grad=True)
    assert not e.data.requires_grad
    assert e.data.tolist() == t.data.tolist()
    assert e[0, 0].item() == t[0, 0].item() == 1.5
    assert isinstance(ember.tensor(3).item(), int)
    assert isinstance(ember.tensor(True).item(), bool)
    assert ember.tensor([[1, 2]]).tolist() == [[1, 2]]
    assert ember.tensor(2.5).tolist() == 2.5
    with pytest.raises(RuntimeError):
        e.item()
    e.data.mul_(2)  # writes through .data show in the tensor
    assert e.tolist()[0][0] == 3.0


def test_data_setter():
    e = ember.zeros(2, requires_grad=True)
    e.data = ember.ones(3)
    assert e.tolist() == [1.0, 1.0, 1.0] and e.requires_grad


def test_numpy_shares_memory():
    e = ember.zeros(3)
    n = e.numpy()
    n[0] = 5
    assert e[0].item() == 5
    e.add_(1)
    assert n.tolist() == [6, 1, 1]
    with pytest.raises(RuntimeError):
        ember.zeros(2, requires_grad=True).numpy()
    assert ember.zeros(2, requires_grad=True).detach().numpy().tolist() == [0, 0]


def test_from_numpy_shares_memory():
    a = np.arange(4, dtype=np.float64)
    e = ember.from_numpy(a)
    t = torch.from_numpy(a.copy())
    assert str(e.dtype) == str(t.dtype)
    a[1] = 10
    assert e[1].item() == 10
    e[2] = 20
    assert a[2] == 20
    with pytest.raises(TypeError):
        ember.from_numpy([1, 2])
    assert ember.as_tensor(a).numpy() is a or np.shares_memory(ember.as_tensor(a).numpy(), a)


def test_array_protocol():
    e = ember.tensor([1.0, 2.0])
    assert np.asarray(e).tolist() == [1.0, 2.0]
    assert np.array(e, dtype=np.float64).dtype == np.float64
    assert float(np.sum(e)) == 3.0


def test_index_protocol():
    lst = ["a", "b", "c"]
    assert lst[ember.tensor(1)] == lst[torch.tensor(1)] == "b"
    assert list(range(10))[ember.tensor(2) : ember.tensor(5)] == [2, 3, 4]
    with pytest.raises(TypeError):
        lst[ember.tensor(1.0)]
    with pytest.raises(TypeError):
        lst[torch.tensor(1.0)]


def test_bool_float_int_format():
    assert bool(ember.tensor([1])) and not bool(ember.tensor(0.0))
    with pytest.raises(RuntimeError):
        bool(ember.tensor([1, 2]))
    with pytest.raises(RuntimeError):
        bool(torch.tensor([1, 2]))
    assert float(ember.tensor(2.5)) == 2.5
    assert int(ember.tensor(3.9)) == int(torch.tensor(3.9)) == 3
    e, t = ember.tensor(3.14159), torch.tensor(3.14159)
    assert f"{e:.4f}" == f"{t:.4f}" == "3.1416"
    assert f"{ember.tensor(7):5d}" == f"{torch.tensor(7):5d}"
    assert f"{ember.tensor([1.0, 2.0])}" == f"{torch.tensor([1.0, 2.0])}"
    assert complex(ember.tensor(2.0)) == 2 + 0j


def test_iter():
    e = ember.tensor([[1, 2], [3, 4]])
    rows = list(e)
    assert [r.tolist() for r in rows] == [[1, 2], [3, 4]]
    assert [x.item() for x in ember.tensor([5, 6])] == [5, 6]
    with pytest.raises(TypeError):
        iter(ember.tensor(1))
    with pytest.raises(TypeError):
        iter(torch.tensor(1))


def test_legacy_constructors():
    a = np.array([1, 2], dtype=np.float64)
    assert_same(ember.FloatTensor(a), torch.FloatTensor(a))
    assert_same(ember.LongTensor([1, 2]), torch.LongTensor([1, 2]))
    assert_same(ember.DoubleTensor([1, 2]), torch.DoubleTensor([1, 2]))
    assert ember.Tensor(2, 3).shape == torch.Tensor(2, 3).shape
    assert str(ember.Tensor(2, 3).dtype) == str(torch.Tensor(2, 3).dtype)
    assert_same(ember.Tensor([1, 2]), torch.Tensor([1, 2]))
    assert_same(ember.Tensor([[1.5]]), torch.Tensor([[1.5]]))
    assert ember.Tensor().shape == torch.Tensor().shape
    assert ember.FloatTensor(3).shape == (3,)
    assert ember.LongTensor(2, 2).dtype is ember.int64
    assert isinstance(ember.zeros(2), ember.FloatTensor)
    assert not isinstance(ember.zeros(2, dtype=ember.int64), ember.FloatTensor)
    assert isinstance(ember.zeros(2), ember.Tensor)


SHAPES = [(2, 3), ((2, 3),), ([2, 3],), (ember.Size([2, 3]),)]


@pytest.mark.parametrize("shape", SHAPES, ids=["varargs", "tuple", "list", "Size"])
@pytest.mark.parametrize("fn", ["zeros", "ones", "empty", "rand", "randn"])
def test_factory_shape_forms(fn, shape):
    e = getattr(ember, fn)(*shape)
    t = getattr(torch, fn)(2, 3)
    assert e.shape == t.shape and str(e.dtype) == str(t.dtype)


@pytest.mark.parametrize(
    "data",
    [
        [1, 2, 3],
        [1.5, 2],
        [[True, False]],
        3,
        2.5,
        True,
        [],
        [[1, 2], [3, 4]],
        (1, 2.0),
        [1 + 2j, 3],
        np.array([1, 2], dtype=np.int32),
        np.float32(2.5),
        [np.float32(1.0), np.float32(2.0)],
    ],
)
def test_tensor_inference(data):
    assert_same(ember.tensor(data), torch.tensor(data))


@pytest.mark.parametrize("dt", ["float16", "float64", "int32", "uint8", "bool", "int8"])
def test_tensor_with_dtype(dt):
    assert_same(
        ember.tensor([1, 0, 2], dtype=getattr(ember, dt)),
        torch.tensor([1, 0, 2], dtype=getattr(torch, dt)),
    )


def test_tensor_copies_and_as_tensor_shares():
    a = np.zeros(3, dtype=np.float32)
    e = ember.tensor(a)
    a[0] = 1
    assert e[0].item() == 0
    s = ember.as_tensor(a)
    a[1] = 2
    assert s[1].item() == 2
    assert ember.as_tensor(a, dtype=ember.float64).dtype is ember.float64
    x = ember.ones(2)
    assert ember.as_tensor(x) is x
    y = ember.tensor(x)
    assert y is not x and y.tolist() == x.tolist()
    assert ember.tensor([ember.tensor(1.0), ember.tensor(2.0)]).tolist() == [1.0, 2.0]


def test_tensor_requires_grad():
    e = ember.tensor([1.0], requires_grad=True)
    assert e.requires_grad and e.is_leaf
    with pytest.raises(RuntimeError):
        ember.tensor([1], requires_grad=True)
    with pytest.raises(RuntimeError):
        torch.tensor([1], requires_grad=True)


@pytest.mark.parametrize(
    "call",
    [
        lambda L: L.zeros(2, 3, dtype=L.int32),
        lambda L: L.ones(2, dtype=L.bool),
        lambda L: L.full((2, 2), 7),
        lambda L: L.full((2,), 1.5),
        lambda L: L.full((2,), True),
        lambda L: L.full((2,), 3, dtype=L.float64),
        lambda L: L.eye(3),
        lambda L: L.eye(2, 3, dtype=L.int64),
        lambda L: L.arange(5),
        lambda L: L.arange(1, 4),
        lambda L: L.arange(0, 1, 0.25),
        lambda L: L.arange(5.0),
        lambda L: L.arange(10, 0, -3),
        lambda L: L.arange(0, 5, 2, dtype=L.float64),
        lambda L: L.arange(L.tensor(4)),
        lambda L: L.linspace(0, 1, 5),
        lambda L: L.linspace(-2, 2, 1),
        lambda L: L.linspace(0, 10, 4, dtype=L.int64),
        lambda L: L.logspace(0, 2, 3),
        lambda L: L.logspace(0, 3, 4, base=2),
        lambda L: L.zeros_like(L.ones(2, 3, dtype=L.int32)),
        lambda L: L.ones_like(L.ones(2)),
        lambda L: L.full_like(L.ones(2), 4),
        lambda L: L.full_like(L.ones(2, dtype=L.int64), 4.7),
        lambda L: L.zeros_like(L.ones(2), dtype=L.float64),
        lambda L: L.ones(3).new_zeros(2),
        lambda L: L.ones(3, dtype=L.int32).new_ones((2, 2)),
        lambda L: L.ones(3).new_full((2,), 3.0),
        lambda L: L.ones(3, dtype=L.float64).new_tensor([1, 2]),
        lambda L: L.ones(3).new_empty(2).zero_(),
        lambda L: L.zeros(0),
        lambda L: L.zeros(2, 0),
        lambda L: L.scalar_tensor(3),
        lambda L: L.tril_indices(3, 3),
        lambda L: L.triu_indices(3, 4, 1),
    ],
)
def test_factories_match_torch(call):
    assert_same(call(ember), call(torch))


def test_empty_like_and_new_empty_shapes():
    assert ember.empty_like(ember.ones(2, 3)).shape == (2, 3)
    assert ember.empty(2, 3, dtype=ember.int64).dtype is ember.int64
    with pytest.raises(RuntimeError):
        ember.zeros(-1)
    with pytest.raises(RuntimeError):
        torch.zeros(-1)


@pytest.mark.parametrize(
    "fn,args,kw",
    [
        ("rand", (2, 3), {}),
        ("randn", (4,), {}),
        ("rand", (2,), {"dtype": "float64"}),
        ("randint", (0, 10, (3, 2)), {}),
        ("randint", (5, (4,)), {}),
        ("randint", (0, 3, (2,)), {"dtype": "int32"}),
        ("randperm", (6,), {}),
        ("normal", (0.0, 1.0, (3,)), {}),
    ],
)
def test_random_shapes_dtypes(fn, args, kw):
    kw_e = {k: getattr(ember, v) for k, v in kw.items()}
    kw_t = {k: getattr(torch, v) for k, v in kw.items()}
    e = getattr(ember, fn)(*args, **kw_e)
    t = getattr(torch, fn)(*args, **kw_t)
    assert e.shape == t.shape and str(e.dtype) == str(t.dtype)


def test_random_ranges():
    x = ember.rand(1000)
    assert 0 <= x.numpy().min() and x.numpy().max() < 1
    r = ember.randint(3, 7, (1000,))
    assert set(r.tolist()) == {3, 4, 5, 6}
    p = ember.randperm(10)
    assert sorted(p.tolist()) == list(range(10))
    n = ember.randn(20000)
    assert abs(n.numpy().mean()) < 0.05 and abs(n.numpy().std() - 1) < 0.05
    m = ember.normal(ember.tensor([0.0, 100.0]), ember.tensor([1.0, 0.001]))
    assert abs(m[1].item() - 100) < 0.1
    b = ember.bernoulli(ember.full((2000,), 0.3))
    assert b.dtype is ember.float32 and set(b.tolist()) <= {0.0, 1.0}
    assert 0.2 < b.mean().item() < 0.4
    w = ember.tensor([0.0, 1.0, 0.0, 3.0])
    s = ember.multinomial(w, 2)
    assert s.dtype is ember.int64 and sorted(s.tolist()) == [1, 3]
    s2 = ember.multinomial(ember.tensor([[1.0, 0.0], [0.0, 1.0]]), 5, replacement=True)
    assert s2.shape == (2, 5) and s2[0].tolist() == [0] * 5 and s2[1].tolist() == [1] * 5


def test_manual_seed_reproducible():
    ember.manual_seed(123)
    a = (ember.rand(3), ember.randn(2), ember.randint(0, 100, (4,)), ember.randperm(5))
    ember.manual_seed(123)
    b = (ember.rand(3), ember.randn(2), ember.randint(0, 100, (4,)), ember.randperm(5))
    for x, y in zip(a, b):
        assert x.tolist() == y.tolist()


def test_generator_and_rng_state():
    g = ember.Generator().manual_seed(7)
    a = ember.rand(4, generator=g)
    g.manual_seed(7)
    assert ember.rand(4, generator=g).tolist() == a.tolist()
    assert g.initial_seed() == 7
    st = ember.get_rng_state()
    assert st.dtype is ember.uint8
    x = ember.randn(5)
    ember.set_rng_state(st)
    assert ember.randn(5).tolist() == x.tolist()
    gs = g.get_state()
    y = ember.randn(3, generator=g)
    g.set_state(gs)
    assert ember.randn(3, generator=g).tolist() == y.tolist()
    assert ember.initial_seed() == 0  # conftest seeds 0


def test_inplace_random_fill():
    t = ember.empty(1000)
    t.uniform_(2, 3)
    assert 2 <= t.numpy().min() and t.numpy().max() < 3
    t.normal_(5, 0.01)
    assert abs(t.mean().item() - 5) < 0.01
    assert t.dtype is ember.float32


def test_rand_like_family():
    x = ember.ones(2, 3, dtype=ember.float64)
    assert ember.rand_like(x).dtype is ember.float64
    assert ember.randn_like(x).shape == (2, 3)
    r = ember.randint_like(x, 0, 5)
    assert r.dtype is ember.float64 and r.shape == (2, 3)


def test_random_int_dtype_errors():
    with pytest.raises(RuntimeError):
        torch.rand(2, dtype=torch.int64)
    with pytest.raises(RuntimeError):
        ember.rand(2, dtype=ember.int64)


def test_namespace_helpers():
    assert ember.pi == torch.pi and ember.inf == torch.inf and ember.e == torch.e
    assert ember.newaxis is None
    assert repr(ember.strided) == repr(torch.strided)
    assert repr(ember.channels_last) == repr(torch.channels_last)
    assert ember.typename(ember.ones(2)) == torch.typename(torch.ones(2))
    x = ember.tensor([1.0, 2.0], requires_grad=True)
    c = ember.clone(x)
    assert c.requires_grad and c.grad_fn is not None
    assert not ember.detach(x).requires_grad
    assert ember.is_nonzero(ember.tensor([1])) == torch.is_nonzero(torch.tensor([1]))
    for a, b in [
        ("float32", "int32"),
        ("int32", "float32"),
        ("bool", "int64"),
        ("int64", "bool"),
        ("float64", "float16"),
    ]:
        assert ember.can_cast(getattr(ember, a), getattr(ember, b)) == torch.can_cast(
            getattr(torch, a), getattr(torch, b)
        )
    ember.set_num_threads(1)
    assert ember.get_num_threads() == 1
    f = ember.compile(lambda v: v * 2)
    assert f(ember.ones(1)).tolist() == [2.0]


def test_set_printoptions():
    try:
        ember.set_printoptions(precision=2)
        torch.set_printoptions(precision=2)
        assert repr(ember.tensor([1.23456, 2.0])) == repr(torch.tensor([1.23456, 2.0]))
        ember.set_printoptions(sci_mode=True)
        torch.set_printoptions(sci_mode=True)
        assert repr(ember.tensor([1.5, 2.0])) == repr(torch.tensor([1.5, 2.0]))
    finally:
        ember.set_printoptions(profile="default")
        torch.set_printoptions(profile="default")
    assert repr(ember.tensor([1.23456])) == repr(torch.tensor([1.23456]))


def test_eq_none_and_contains():
    t = ember.tensor([1, 2, 3])
    assert (t == None) is False  # noqa: E711
    assert (t != None) is True  # noqa: E711
    assert 2 in t and 5 not in t
    assert t in [None, t]


_CDT = [
    None,
    "bool",
    "uint8",
    "int8",
    "int32",
    "int64",
    "float16",
    "bfloat16",
    "float32",
    "float64",
    "complex64",
]


def _same_or_same_error(name, *args, dt=None):
    ke = {} if dt is None else {"dtype": getattr(ember, dt)}
    kt = {} if dt is None else {"dtype": getattr(torch, dt)}
    try:
        rt = getattr(torch, name)(*args, **kt)
    except Exception as ex:  # noqa: BLE001
        with pytest.raises(type(ex)):
            getattr(ember, name)(*args, **ke)
        return
    re_ = getattr(ember, name)(*args, **ke)
    assert str(re_.dtype) == str(rt.dtype) and tuple(re_.shape) == tuple(rt.shape), (name, args)
    tv = rt.float().numpy() if rt.dtype == torch.bfloat16 else rt.numpy()
    ev = re_.float().numpy() if re_.dtype is ember.bfloat16 else re_.numpy()
    np.testing.assert_allclose(ev, tv, rtol=1e-2, atol=1e-2, err_msg=f"{name} {args}")


@pytest.mark.parametrize("dt", _CDT, ids=str)
def test_creation_dtype_grid_vs_torch(dt):
    """tensor/full/arange/linspace/logspace/range over dtypes: torch's dtype, shape and values
    (integer casts of float bounds included), or torch's error type."""
    for d in [
        [1, 2],
        [1.5, -2.0],
        [True, False],
        3,
        -2.5,
        [[1, 2], [3, 4]],
        [],
        [1, 2.5, True],
        np.array([1, 2], np.int16),
        np.float64(2.5),
        [np.int32(3), 5],
        [1 + 2j],
    ]:
        _same_or_same_error("tensor", d, dt=dt)
    if dt is None:
        _same_or_same_error("tensor", [np.float16(1), 2])
    for v in [2, 2.5, True, -1, 1 + 1j]:
        _same_or_same_error("full", (2,), v, dt=dt)
    for args in [(5,), (2.5,), (1, 4), (0, 1, 0.1), (-3, 3, 1.5), (10, 0, -2), (1, 2.5, 0.5)]:
        _same_or_same_error("arange", *args, dt=dt)
    for args in [(0, 1, 5), (-1, 1, 4), (2, -3, 6), (1, 1, 1), (0, 1, 0)]:
        _same_or_same_error("linspace", *args, dt=dt)
        _same_or_same_error("logspace", *args, dt=dt)
    _same_or_same_error("range", 0, 4, 1.5, dt=dt)


def test_fork_rng_restores_state():
    ember.manual_seed(1)
    with ember.random.fork_rng():
        a = ember.rand(3)
    assert ember.rand(3).tolist() == a.tolist()


def test_matrix_transpose_attributes_check_the_rank_as_torch():
    for lib in (ember, torch):
        m = lib.arange(6.0).reshape(2, 3)
        assert tuple(m.mT.shape) == (3, 2) and tuple(m.mH.shape) == (3, 2)
        for attr in ("mT", "mH"):
            with pytest.raises(RuntimeError, match=rf"tensor.{attr} is only supported on matrices"):
                getattr(lib.ones(2), attr)
            with pytest.warns(UserWarning, match=rf"Tensor.{attr} is deprecated on 0-D tensors"):
                assert getattr(lib.tensor(2.0), attr).item() == 2.0


def test_small_methods_answer_as_torchs():
    """dim_order, is_nonzero (and its errors), nonzero_static, the shifts, true_divide_,
    orgqr, new_empty_strided, const_data_ptr and the other back-ends' flags, against torch."""
    rng = np.random.default_rng(0)
    a = rng.standard_normal((4, 3))
    for m in (ember, torch):
        assert m.zeros(2, 3).dim_order() == (0, 1)
        assert m.zeros(2, 3).t().dim_order() == (1, 0)
        assert m.zeros(2, 3, 4).permute(2, 0, 1).dim_order() == (1, 2, 0)
        x = m.zeros(2, 3)
        assert x.const_data_ptr() == x.data_ptr()
        flags = (x.is_xpu, x.is_ipu, x.is_maia, x.is_mtia, x.is_mkldnn, x.is_vulkan, x.is_xla)
        assert not any(flags) and x.is_distributed() is False
        assert m.tensor([3]).is_nonzero() and not m.tensor([0.0]).is_nonzero()
        e = m.zeros(2, 3, dtype=m.float64).new_empty_strided((2, 3), (3, 1))
        assert tuple(e.shape) == (2, 3) and e.dtype == m.float64
    calls = [
        lambda m: m.tensor([0, 1, 0, 2]).nonzero_static(size=3),
        lambda m: m.tensor([[0, 1], [1, 0]]).nonzero_static(size=4, fill_value=9),
        lambda m: m.tensor([0, 1, 0, 2]).nonzero_static(size=1),
        lambda m: m.tensor([1, 2]).bitwise_left_shift(2),
        lambda m: m.tensor([8, 16]).bitwise_right_shift(m.tensor([1, 2])),
        lambda m: m.tensor([1.0, 2.0]).true_divide_(2),
        lambda m: m.geqrf(m.tensor(a))[0].orgqr(m.geqrf(m.tensor(a))[1]),
    ]
    for f in calls:
        assert_same(f(ember), f(torch), rtol=1e-12, atol=1e-12)
    for n in (2, 0):
        msgs = []
        for m in (ember, torch):
            with pytest.raises(RuntimeError) as err:
                m.zeros(n).is_nonzero()
            msgs.append(str(err.value))
        assert msgs[0] == msgs[1]
