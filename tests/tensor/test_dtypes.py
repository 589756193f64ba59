"""dtypes, aliases and torch's type promotion, compared with torch."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

import ember
from tests._support.torch_ref import torch

NAMES = [
    "float16",
    "bfloat16",
    "float32",
    "float64",
    "int8",
    "int16",
    "int32",
    "int64",
    "uint8",
    "bool",
    "complex64",
    "complex128",
]
ALIASES = {
    "float": "float32",
    "double": "float64",
    "half": "float16",
    "long": "int64",
    "int": "int32",
    "short": "int16",
    "cfloat": "complex64",
    "cdouble": "complex128",
}


def _e(name):
    return getattr(ember, name)


def _t(name):
    return getattr(torch, name)


@pytest.mark.parametrize("name", NAMES)
def test_dtype_attributes(name):
    e, t = _e(name), _t(name)
    assert repr(e) == repr(t) == str(e)
    assert e.is_floating_point == t.is_floating_point
    assert e.is_complex == t.is_complex
    assert e.is_signed == t.is_signed
    assert e.itemsize == t.itemsize


@pytest.mark.parametrize("alias,name", sorted(ALIASES.items()))
def test_aliases(alias, name):
    assert _e(alias) is _e(name)
    assert repr(_e(alias)) == repr(_t(alias))


@pytest.mark.parametrize("name", NAMES)
def test_tensor_of_dtype(name):
    e = ember.zeros(2, dtype=_e(name))
    t = torch.zeros(2, dtype=_t(name))
    assert str(e.dtype) == str(t.dtype)
    assert e.is_floating_point() == t.is_floating_point()
    assert e.is_complex() == t.is_complex()
    assert ember.is_floating_point(e) == torch.is_floating_point(t)
    assert e.element_size() == t.element_size()


def _make(lib, dt, zero_dim):
    shape = () if zero_dim else (3,)
    return lib.ones(shape, dtype=getattr(lib, dt)) * (2 if dt != "bool" else 1)


PAIR_NAMES = [
    "bool",
    "uint8",
    "int8",
    "int16",
    "int32",
    "int64",
    "float16",
    "bfloat16",
    "float32",
    "float64",
    "complex64",
]


@pytest.mark.parametrize("da,db", list(itertools.product(PAIR_NAMES, PAIR_NAMES)))
def test_promote_types_grid(da, db):
    assert repr(ember.promote_types(_e(da), _e(db))) == repr(torch.promote_types(_t(da), _t(db)))


@pytest.mark.parametrize("za,zb", [(False, False), (False, True), (True, False)])
@pytest.mark.parametrize(
    "da,db",
    list(
        itertools.product(
            ["bool", "uint8", "int8", "int32", "int64", "float16", "float32", "float64"], repeat=2
        )
    ),
)
def test_binary_result_dtype_tensors(da, db, za, zb):
    ea, eb = _make(ember, da, za), _make(ember, db, zb)
    ta, tb = _make(torch, da, za), _make(torch, db, zb)
    assert str((ea + eb).dtype) == str((ta + tb).dtype)
    assert str((ea * eb).dtype) == str((ta * tb).dtype)
    assert str(ember.result_type(ea, eb)) == str(torch.result_type(ta, tb))
    if not (da == "bool" and db == "bool"):
        assert str((ea / eb).dtype) == str((ta / tb).dtype)


SCALARS = [True, 3, 2.5, 1 + 2j]


@pytest.mark.parametrize("scalar", SCALARS, ids=["bool", "int", "float", "complex"])
@pytest.mark.parametrize(
    "dt", ["bool", "uint8", "int8", "int32", "int64", "float16", "bfloat16", "float32", "float64"]
)
@pytest.mark.parametrize("zero_dim", [False, True])
def test_tensor_scalar_result_dtype(dt, scalar, zero_dim):
    if dt == "float16" and isinstance(scalar, complex):
        pytest.skip("torch gives complex32, which has no NumPy type (ember: complex64)")
    e, t = _make(ember, dt, zero_dim), _make(torch, dt, zero_dim)
    assert str((e + scalar).dtype) == str((t + scalar).dtype)
    assert str((scalar * e).dtype) == str((scalar * t).dtype)
    assert str(ember.result_type(e, scalar)) == str(torch.result_type(t, scalar))


@pytest.mark.parametrize("default", ["float32", "float64"])
def test_default_dtype_governs_python_floats(default):
    ember.set_default_dtype(_e(default))
    prev = torch.get_default_dtype()
    torch.set_default_dtype(_t(default))
    try:
        assert repr(ember.get_default_dtype()) == repr(torch.get_default_dtype())
        cases = [
            (lambda L: L.tensor([1.0, 2.0])),
            (lambda L: L.tensor(1.5)),
            (lambda L: L.arange(3) * 1.5),
            (lambda L: L.arange(3) / 2),
            (lambda L: L.arange(3.0)),
            (lambda L: L.zeros(2)),
            (lambda L: L.full((2,), 1.5)),
            (lambda L: L.tensor([1, 2]) + 0.5),
            (lambda L: L.tensor([1 + 1j])),
            (lambda L: L.linspace(0, 1, 3)),
            (lambda L: L.rand(2)),
            (lambda L: L.tensor([True]) * 1.5),
            (lambda L: L.tensor([1.0], dtype=L.float32) + L.tensor(2.0, dtype=L.float64)),
            (lambda L: L.tensor([1.0], dtype=L.float32) * np.float64(2.0)),
            (lambda L: L.tensor(3).sqrt()),
        ]
        for f in cases:
            assert str(f(ember).dtype) == str(f(torch).dtype)
    finally:
        torch.set_default_dtype(prev)


def test_numpy_scalars_do_not_promote_float32():
    e = ember.ones(2) * np.float64(2.0)
    t = torch.ones(2) * np.float64(2.0)
    assert str(e.dtype) == str(t.dtype) == "torch.float32"


def test_specific_rules():
    assert ember.promote_types(ember.uint8, ember.int8) is ember.int16
    assert (ember.tensor([1, 2]) // 2).dtype is ember.int64
    assert (ember.tensor([5, 7]) % 3).dtype is ember.int64
    assert (ember.tensor([1]) / ember.tensor([2])).dtype is ember.float32
    assert (ember.tensor([1.0]) > 0).dtype is ember.bool
    assert (ember.tensor([True]) + ember.tensor([3])).dtype is ember.int64
    assert (ember.tensor([True]) + True).dtype is ember.bool


@pytest.mark.parametrize("op", ["floordiv", "mod", "lt", "eq", "ge"])
@pytest.mark.parametrize("dt", ["int32", "int64", "uint8", "float32", "float64"])
def test_int_ops_dtypes_and_values(op, dt):
    import operator

    f = {
        "floordiv": operator.floordiv,
        "mod": operator.mod,
        "lt": operator.lt,
        "eq": operator.eq,
        "ge": operator.ge,
    }[op]
    e = ember.tensor([7, 8, 9, 12], dtype=_e(dt))
    t = torch.tensor([7, 8, 9, 12], dtype=_t(dt))
    for o_e, o_t in [
        (3, 3),
        (ember.tensor([2, 3, 4, 5], dtype=_e(dt)), torch.tensor([2, 3, 4, 5], dtype=_t(dt))),
        (2.5, 2.5),
    ]:
        r, rt = f(e, o_e), f(t, o_t)
        assert str(r.dtype) == str(rt.dtype)
        np.testing.assert_allclose(r.numpy().astype(float), rt.numpy().astype(float))


def test_negative_floor_div_and_mod_match_torch():
    e = ember.tensor([-7, 7, -8, 5])
    t = torch.tensor([-7, 7, -8, 5])
    assert (e // 3).tolist() == (t // 3).tolist()
    assert (e % 3).tolist() == (t % 3).tolist()
    assert (e % -3).tolist() == (t % -3).tolist()
    ef = ember.tensor([-7.5, 7.5])
    tf = torch.tensor([-7.5, 7.5])
    assert (ef // 2).tolist() == (tf // 2).tolist()
    assert (ef % 2).tolist() == (tf % 2).tolist()


def test_set_default_dtype_rejects_ints():
    with pytest.raises(TypeError):
        ember.set_default_dtype(ember.int64)
    with pytest.raises(TypeError):
        torch.set_default_dtype(torch.int64)


@pytest.mark.parametrize("name", ["float16", "bfloat16", "float32", "float64"])
def test_finfo(name):
    e, t = ember.finfo(_e(name)), torch.finfo(_t(name))
    for attr in ["bits", "eps", "max", "min", "tiny", "smallest_normal", "resolution"]:
        assert getattr(e, attr) == getattr(t, attr), attr
    assert e.dtype == t.dtype


def test_finfo_default():
    assert ember.finfo().eps == torch.finfo().eps


@pytest.mark.parametrize("name", ["uint8", "int8", "int16", "int32", "int64", "bool"])
def test_iinfo(name):
    if name == "bool":
        with pytest.raises(TypeError):
            torch.iinfo(torch.bool)
        with pytest.raises(TypeError):
            ember.iinfo(ember.bool)
        return
    e, t = ember.iinfo(_e(name)), torch.iinfo(_t(name))
    assert (e.bits, e.max, e.min, e.dtype) == (t.bits, t.max, t.min, t.dtype)


def test_finfo_of_int_raises():
    with pytest.raises(TypeError):
        ember.finfo(ember.int32)


def test_dtype_pickles_to_same_object():
    import pickle

    assert pickle.loads(pickle.dumps(ember.float16)) is ember.float16
    assert pickle.loads(pickle.dumps(ember.bool)) is ember.bool


def test_dtype_kwarg_accepts_python_types():
    assert ember.zeros(2, dtype=float).dtype is ember.float64
    assert ember.zeros(2, dtype=int).dtype is ember.int64
    assert ember.zeros(2, dtype=bool).dtype is ember.bool
    assert ember.tensor([1, 2], dtype=ember.float16).dtype is ember.float16


def test_to_dtype_and_casts():
    e = ember.tensor([1.7, -2.2])
    t = torch.tensor([1.7, -2.2])
    for m in ["long", "int", "short", "half", "double", "bool", "float", "byte", "char"]:
        r, rt = getattr(e, m)(), getattr(t, m)()
        assert str(r.dtype) == str(rt.dtype)
        np.testing.assert_allclose(r.numpy().astype(float), rt.numpy().astype(float))
    assert e.to(ember.float64).dtype is ember.float64
    assert e.to(dtype=ember.int64).tolist() == t.to(dtype=torch.int64).tolist()
    assert e.bfloat16().dtype is ember.bfloat16
    assert e.type(ember.float64).dtype is ember.float64
    assert e.type() == t.type() == "torch.FloatTensor"


TYPE_ARGS = {
    "name": "torch.HalfTensor",
    "same name": "torch.FloatTensor",
    "class": lambda m: m.HalfTensor,
    "int class": lambda m: m.IntTensor,
    "dtype": lambda m: m.float64,
    "no module": "HalfTensor",
    "unknown": "torch.Foo",
    "other module": "numpy.float32",
    "python type": int,
    "python name": "float",
}


@pytest.mark.parametrize("case", list(TYPE_ARGS))
def test_tensor_type_conversions_as_torch(case):
    """Tensor.type(t): torch's legacy names and classes and dtypes convert; anything else is
    torch's ValueError with its message."""
    out = []
    for lib in (ember, torch):
        arg = TYPE_ARGS[case]
        arg = arg(lib) if callable(arg) and arg not in (int,) else arg
        x = lib.tensor([1.5, -2.25, 3.0])
        try:
            r = x.type(arg)
            out.append((str(r.dtype), r.tolist(), r is x))
        except ValueError as e:
            out.append(("ValueError", str(e)))
    assert out[0] == out[1]


def test_tensor_type_to_a_cuda_class_without_a_gpu():
    """The class form of a CUDA legacy type converts as its name does: without a GPU both
    raise a RuntimeError that begins as torch's CPU build's ("Cannot initialize CUDA")."""
    if ember.cuda.is_available():
        pytest.skip("a GPU is present")
    for lib in (ember, torch):
        x = lib.tensor([1.5, -2.25])
        for arg in (lib.cuda.FloatTensor, "torch.cuda.FloatTensor"):
            with pytest.raises(RuntimeError, match="^Cannot initialize CUDA"):
                x.type(arg)
