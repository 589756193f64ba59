"""Factory signatures against torch's: every keyword form torch accepts (size=, out=, dtype=,
layout=, device=, pin_memory=, requires_grad=, memory_format=, generator=) works in ember with the
same shape, dtype and values, and every form torch rejects raises torch's exception type."""

from __future__ import annotations

import numpy as np
import pytest

import ember
from tests._support.torch_ref import assert_same, torch

X = np.arange(6.0).reshape(2, 3)


def _x(lib):
    return lib.tensor(X, dtype=lib.float32)


# name: (positional arguments, the same arguments by keyword, deterministic values)
FACTORIES = {
    "empty": (lambda L: ((2, 3),), lambda L: {"size": (2, 3)}, False),
    "zeros": (lambda L: (2, 3), lambda L: {"size": (2, 3)}, True),
    "ones": (lambda L: ([2, 3],), lambda L: {"size": [2, 3]}, True),
    "full": (lambda L: ((2, 3), 1.5), lambda L: {"size": (2, 3), "fill_value": 1.5}, True),
    "rand": (lambda L: (2, 3), lambda L: {"size": (2, 3)}, False),
    "randn": (lambda L: ((2, 3),), lambda L: {"size": (2, 3)}, False),
    "randint": (lambda L: (1, 5, (2, 3)), lambda L: {"low": 1, "high": 5, "size": (2, 3)}, False),
    "randperm": (lambda L: (5,), lambda L: {"n": 5}, False),
    "arange": (lambda L: (1, 7, 2), lambda L: {"start": 1, "end": 7, "step": 2}, True),
    "linspace": (lambda L: (0.0, 1.0, 5), lambda L: {"start": 0.0, "end": 1.0, "steps": 5}, True),
    "logspace": (
        lambda L: (0.0, 2.0, 3, 2.0),
        lambda L: {"start": 0.0, "end": 2.0, "steps": 3, "base": 2.0},
        True,
    ),
    "eye": (lambda L: (2, 3), lambda L: {"n": 2, "m": 3}, True),
    "empty_like": (lambda L: (_x(L),), lambda L: {"input": _x(L)}, False),
    "zeros_like": (lambda L: (_x(L),), lambda L: {"input": _x(L)}, True),
    "ones_like": (lambda L: (_x(L),), lambda L: {"input": _x(L)}, True),
    "full_like": (lambda L: (_x(L), 7), lambda L: {"input": _x(L), "fill_value": 7}, True),
    "rand_like": (lambda L: (_x(L),), lambda L: {"input": _x(L)}, False),
    "randn_like": (lambda L: (_x(L),), lambda L: {"input": _x(L)}, False),
    "randint_like": (
        lambda L: (_x(L), 2, 9),
        lambda L: {"input": _x(L), "low": 2, "high": 9},
        False,
    ),
    "tensor": (lambda L: ([[1.0, 2.0]],), lambda L: {"data": [[1.0, 2.0]]}, True),
    "as_tensor": (lambda L: ([[1.0, 2.0]],), lambda L: {"data": [[1.0, 2.0]]}, True),
    "asarray": (lambda L: ([[1.0, 2.0]],), lambda L: {"obj": [[1.0, 2.0]]}, True),
    "empty_strided": (
        lambda L: ((2, 3), (3, 1)),
        lambda L: {"size": (2, 3), "stride": (3, 1)},
        False,
    ),
    "scalar_tensor": (lambda L: (2.5,), lambda L: {"s": 2.5}, True),
    "tril_indices": (lambda L: (3, 4, 1), lambda L: {"row": 3, "col": 4, "offset": 1}, True),
    "triu_indices": (lambda L: (3, 4), lambda L: {"row": 3, "col": 4}, True),
    "normal": (
        lambda L: (1.0, 2.0, (2, 3)),
        lambda L: {"mean": 1.0, "std": 2.0, "size": (2, 3)},
        False,
    ),
}

# one value per keyword torch's factories take (out= is built from the plain call's result)
KEYWORDS = {
    "dtype": lambda L: L.float64,
    "layout": lambda L: L.strided,
    "device": lambda L: "cpu",
    "device_obj": lambda L: L.device("cpu"),
    "pin_memory": lambda L: False,
    "requires_grad": lambda L: True,
    "memory_format": lambda L: L.contiguous_format,
    "preserve_format": lambda L: L.preserve_format,
    "generator": lambda L: L.Generator().manual_seed(3),
    "out": None,
    "names": lambda L: None,
    "copy": lambda L: True,
    "non_blocking": lambda L: False,
}
KEYNAME = {"device_obj": "device", "preserve_format": "memory_format"}


def _call(lib, name, args, kw):
    try:
        return getattr(lib, name)(*args, **kw), None
    except Exception as e:  # noqa: BLE001  (the exception type is compared with torch's)
        return None, e


def _kwargs(lib, key, plain):
    k = KEYNAME.get(key, key)
    if key == "out":
        return {k: lib.empty(0, dtype=getattr(lib, str(plain.dtype).split(".")[1]))}
    return {k: KEYWORDS[key](lib)}


def _same_outcome(name, t, te, e, ee, deterministic, kw_t=None, kw_e=None):
    if te is not None:
        assert ee is not None, f"{name}: torch raised {type(te).__name__}: {te}, ember returned"
        assert isinstance(ee, type(te)), f"{name}: {type(ee).__name__} ({ee}) vs {te!r}"
        return
    assert ee is None, f"{name}: ember raised {ee!r}, torch returned"
    assert tuple(e.shape) == tuple(t.shape)
    assert str(e.dtype) == str(t.dtype)
    assert e.requires_grad == t.requires_grad
    if deterministic:
        assert_same(e, t)
    if kw_t and "out" in kw_t:
        assert (t is kw_t["out"]) == (e is kw_e["out"])


@pytest.mark.parametrize("name", sorted(FACTORIES))
@pytest.mark.parametrize("form", ["positional", "keyword"])
@pytest.mark.parametrize("key", [None, *KEYWORDS])
def test_keyword_forms_like_torch(name, form, key):
    """Each factory, its arguments positional or by keyword, with each of torch's keywords."""
    pos, by_kw, deterministic = FACTORIES[name]

    def call(lib, extra):
        if form == "positional":
            return _call(lib, name, pos(lib), extra)
        return _call(lib, name, (), {**by_kw(lib), **extra})

    t, te = call(torch, {})
    e, ee = call(ember, {})
    _same_outcome(name, t, te, e, ee, deterministic)
    if key is None or te is not None:
        return
    kw_t, kw_e = _kwargs(torch, key, t), _kwargs(ember, key, t)
    t, te = call(torch, kw_t)
    e, ee = call(ember, kw_e)
    _same_outcome(name, t, te, e, ee, deterministic, kw_t, kw_e)
    if key == "generator" and ee is None and not deterministic:
        again, _ = call(ember, _kwargs(ember, key, t))
        np.testing.assert_array_equal(again.numpy(), e.detach().numpy())


def test_size_keyword_forms():
    """The forms the graph examples use, as in the issue."""
    for lib in (torch, ember):
        assert lib.empty(size=(2, 3)).shape == (2, 3)
        assert lib.zeros(size=[2]).shape == (2,)
        assert lib.rand(size=(4,), generator=lib.Generator().manual_seed(0)).shape == (4,)
        assert lib.randint(3, size=(2,)).shape == (2,)
        assert lib.randint(high=3, size=(2,)).shape == (2,)
        assert lib.zeros(size=lib.Size([2, 1])).shape == (2, 1)
    assert_same(ember.full(size=(2,), fill_value=3), torch.full(size=(2,), fill_value=3))
    assert_same(
        ember.ones(size=(1, 2), dtype=ember.int32), torch.ones(size=(1, 2), dtype=torch.int32)
    )


REJECTED = [
    ("zeros", (2,), {"size": (3,)}),
    ("zeros", (), {"size": 2}),
    ("zeros", ((2,), (3,)), {}),
    ("zeros", (-1,), {}),
    ("ones", (2.0,), {}),
    ("ones", (2,), {"memory_format": "contiguous"}),
    ("empty", (2,), {"generator": None}),
    ("empty", (2,), {"stride": (1,)}),
    ("full", (2, 1.0), {}),
    ("tensor", ([1.0],), {"layout": "strided"}),
    ("zeros_like", ("X",), {"foo": 1}),
    ("full_like", ("X", 1.0), {"generator": None}),
    ("empty_strided", ((2, 3), (1,)), {}),
    ("rand", (2,), {"dtype": "int64"}),
    ("rand", (2,), {"dtype": "bool"}),
    ("randn", (2,), {"dtype": "int64"}),
    ("rand_like", ("Xi",), {}),
    ("randn_like", ("Xi",), {}),
    ("zeros", (2,), {"requires_grad": True, "dtype": "int64"}),
    ("zeros", (2,), {"layout": "channels_last"}),
    ("empty", (2,), {"memory_format": "channels_last"}),
    ("empty_like", ("X",), {"memory_format": "channels_last"}),
    ("arange", (5,), {"memory_format": "contiguous_format"}),
    ("randperm", (3,), {"size": (3,)}),
    ("linspace", (0, 1), {}),
]


def _resolve(lib, v):
    if v == "X":
        return _x(lib)
    if v == "Xi":
        return lib.ones(2, dtype=lib.int64)
    if v in ("int64", "bool"):
        return getattr(lib, v)
    if v in ("channels_last", "contiguous_format", "strided"):
        return getattr(lib, v)
    return v


@pytest.mark.parametrize(
    "name,args,kw", REJECTED, ids=[f"{r[0]}-{i}" for i, r in enumerate(REJECTED)]
)
def test_rejected_forms_raise_torch_error(name, args, kw):
    def call(lib):
        a = tuple(_resolve(lib, v) for v in args)
        k = {key: _resolve(lib, v) for key, v in kw.items()}
        return _call(lib, name, a, k)

    _, te = call(torch)
    _, ee = call(ember)
    assert te is not None, "torch accepts this form: not a rejection case"
    assert ee is not None, f"ember accepted what torch rejects: {te!r}"
    assert isinstance(ee, type(te)), (ee, te)
    if not isinstance(te, TypeError):  # TypeErrors come from Python's or torch's own parser
        assert str(ee) == str(te)


@pytest.mark.skipif(ember.cuda.is_available(), reason="pinned memory needs no accelerator here")
@pytest.mark.parametrize("name", ["zeros", "empty", "rand", "tensor", "zeros_like", "arange"])
def test_pin_memory_needs_an_accelerator(name):
    pos, _, _ = FACTORIES[name]
    _, te = _call(torch, name, pos(torch), {"pin_memory": True})
    _, ee = _call(ember, name, pos(ember), {"pin_memory": True})
    assert type(ee) is type(te) is RuntimeError
    assert str(ee) == str(te)


def test_out_and_requires_grad():
    for lib in (torch, ember):
        out = lib.empty(0)
        r = lib.zeros(2, 3, out=out)
        assert r is out and tuple(out.shape) == (2, 3)
        o = lib.empty(0, dtype=lib.int64)
        assert lib.randperm(4, out=o) is o and sorted(o.tolist()) == [0, 1, 2, 3]
        o = lib.empty(0, dtype=lib.int64)
        assert lib.full((2,), 3, out=o) is o and o.tolist() == [3, 3]
    assert ember.zeros(2, requires_grad=True).requires_grad


def test_like_functions_keep_input_dtype_and_take_generator():
    for name in ("rand_like", "randn_like"):
        for lib in (torch, ember):
            x = lib.ones(3, dtype=lib.float64)
            a = getattr(lib, name)(x, generator=lib.Generator().manual_seed(5))
            b = getattr(lib, name)(x, generator=lib.Generator().manual_seed(5))
            assert a.dtype == lib.float64 and a.tolist() == b.tolist()
    e = ember.randint_like(ember.ones(4), 3)
    t = torch.randint_like(torch.ones(4), 3)
    assert str(e.dtype) == str(t.dtype) and all(0 <= v < 3 for v in e.tolist())
    e = ember.randint_like(ember.ones(4), high=3)
    assert all(0 <= v < 3 for v in e.tolist())


def test_tril_triu_indices_dtype():
    for fn in ("tril_indices", "triu_indices"):
        e = getattr(ember, fn)(3, 3, dtype=ember.int32)
        t = getattr(torch, fn)(3, 3, dtype=torch.int32)
        assert_same(e, t)


NEW_FORMS = [
    ("new_zeros", ((2, 3),), {}),
    ("new_zeros", (), {"size": (2, 3)}),
    ("new_ones", (2, 3), {"dtype": "float64", "requires_grad": True}),
    ("new_empty", (), {"size": [2]}),
    ("new_empty", ((2,),), {"memory_format": "contiguous_format"}),
    ("new_full", (), {"size": (2,), "fill_value": 3}),
    ("new_full", ((2,), 3), {"layout": "strided", "pin_memory": False, "device": "cpu"}),
    ("new_zeros", (2, 3), {"pin_memory": False, "layout": "strided"}),
    ("new_tensor", ([1, 2],), {"requires_grad": False}),
    ("new_tensor", ([1, 2],), {"pin_memory": False}),
    ("new_zeros", (2,), {"size": (2,)}),
]


@pytest.mark.parametrize(
    "method,args,kw", NEW_FORMS, ids=[f"{m[0]}-{i}" for i, m in enumerate(NEW_FORMS)]
)
def test_tensor_new_methods_like_torch(method, args, kw):
    def call(lib):
        k = {
            key: getattr(lib, v) if v in ("float64", "strided", "contiguous_format") else v
            for key, v in kw.items()
        }
        try:
            return getattr(lib.ones(2, dtype=lib.int32), method)(*args, **k), None
        except Exception as e:  # noqa: BLE001
            return None, e

    t, te = call(torch)
    e, ee = call(ember)
    _same_outcome(method, t, te, e, ee, method != "new_empty")


OUT_DTYPE = [
    ("full", ((2,), 3), "float32"),
    ("full", ((2,), 1.5), "int64"),
    ("zeros", (2,), "int64"),
    ("arange", (3,), "float32"),
    ("randint", (0, 5, (2,)), "float32"),
    ("randperm", (3,), "float32"),
]


@pytest.mark.parametrize("name,args,dtype", OUT_DTYPE)
def test_out_dtype_decides_the_result(name, args, dtype):
    """With out= and no dtype, the result takes out's dtype (torch's rule)."""
    outs = {lib: lib.empty(0, dtype=getattr(lib, dtype)) for lib in (torch, ember)}
    t = getattr(torch, name)(*args, out=outs[torch])
    e = getattr(ember, name)(*args, out=outs[ember])
    assert e is outs[ember] and t is outs[torch]
    assert str(e.dtype) == str(t.dtype) and tuple(e.shape) == tuple(t.shape)
    if not name.startswith("rand"):
        assert_same(e, t)


def test_fill_zero_constant_pad_nd_conj_physical_resolve():
    from tests._support.ops_check import compare, randn

    x = randn(2, 3)
    compare(lambda m, x: m.fill(x, 2.5), x)
    compare(lambda m, x: m.zero_(x.detach().clone()), x, grad=False)
    x.grad = None
    compare(lambda m, x: m.constant_pad_nd(x, (1, -1, 2, 0), 0.5), x)
    x.grad = None
    compare(lambda m, x: m.conj_physical(x), x)
    c = ember.tensor([1 + 2j, 3 - 1j])
    assert ember.conj_physical(c).tolist() == [1 - 2j, 3 + 1j]
    assert ember.resolve_conj(c) is c and ember.resolve_neg(c) is c
    assert not ember.is_conj(c) and not ember.is_neg(c)
