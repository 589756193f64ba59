"""Storages (torch.storage): ``untyped_storage()``, ``storage()``, the legacy typed classes,
``Tensor.set_`` and ``from_file``, against torch: sizes, elements, reprs, errors, and memory
shared with the tensors that view it."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import ember
from tests._support.torch_ref import torch


def _pair(make):
    """The same tensor on both libraries (make takes the library)."""
    return make(ember), make(torch)


def _quiet():
    """torch's TypedStorage deprecation warning off, so both are called the same way."""
    return warnings.catch_warnings()


@pytest.mark.parametrize(
    "make",
    [
        lambda m: m.arange(6.0).reshape(2, 3),
        lambda m: m.arange(12, dtype=m.int64).reshape(3, 4)[1],
        lambda m: m.arange(12.0).reshape(3, 4).t(),
        lambda m: m.tensor([True, False, True]),
        lambda m: m.zeros(0),
    ],
)
def test_untyped_storage_sizes_and_bytes(make):
    e, t = _pair(make)
    es, ts = e.untyped_storage(), t.untyped_storage()
    assert (es.nbytes(), es.size(), len(es), es.element_size()) == (
        ts.nbytes(),
        ts.size(),
        len(ts),
        ts.element_size(),
    )
    assert es.tolist() == ts.tolist()
    assert es.type() == ts.type()
    assert str(es.device) == str(ts.device)
    assert repr(es) == repr(ts)
    assert e.storage_offset() == t.storage_offset()


@pytest.mark.parametrize(
    "make",
    [
        lambda m: m.arange(6.0).reshape(2, 3),
        lambda m: m.arange(5, dtype=m.int64),
        lambda m: m.tensor([1.5, -2.0], dtype=m.float64),
        lambda m: m.tensor([True, False]),
    ],
)
def test_typed_storage_matches_torch(make):
    e, t = _pair(make)
    with _quiet():
        warnings.simplefilter("ignore")
        es, ts = e.storage(), t.storage()
    assert (es.size(), len(es), es.nbytes(), es.element_size()) == (
        ts.size(),
        len(ts),
        ts.nbytes(),
        ts.element_size(),
    )
    assert str(es.dtype) == str(ts.dtype)
    assert es.type() == ts.type()
    assert es.pickle_storage_type() == ts.pickle_storage_type()
    assert es.tolist() == ts.tolist()
    assert es[1] == ts[1] and type(es[1]) is type(ts[1])
    assert repr(es) == repr(ts)


def test_storage_warns_as_torch():
    import ember.storage as st

    st._warned[0] = False
    with pytest.warns(UserWarning, match="TypedStorage is deprecated"):
        ember.ones(2).storage()


def test_views_share_one_storage_and_writes_reach_tensors():
    t = ember.arange(12.0).reshape(3, 4)
    v = t[1:, ::2]
    assert v.untyped_storage().data_ptr() == t.untyped_storage().data_ptr()
    assert v.untyped_storage().nbytes() == t.untyped_storage().nbytes()
    assert ember.ones(3).untyped_storage().data_ptr() != t.untyped_storage().data_ptr()
    with _quiet():
        warnings.simplefilter("ignore")
        t.storage()[4] = -1.0  # t[1, 0], v's first element
    assert v[0, 0].item() == -1.0
    s = t.untyped_storage()
    s[0:4] = np.frombuffer(np.float32(2.5).tobytes(), np.uint8)
    assert t[0, 0].item() == 2.5
    s.fill_(0)
    assert not t.any()


def test_element_access_errors_as_torch():
    for m in (ember, torch):
        with _quiet():
            warnings.simplefilter("ignore")
            s, ts = m.arange(6.0).untyped_storage(), m.arange(6.0).storage()
        with pytest.raises(IndexError, match="index 100 out of range for storage of size 24"):
            s[100]
        with pytest.raises(IndexError, match="index 100 out of range for storage of size 6"):
            ts[100]
        with pytest.raises(RuntimeError, match="only a step of 1 is supported"):
            s[0:4:2]
        with pytest.raises(RuntimeError, match="slices are only supported in UntypedStorage"):
            ts[0:2]
        part = s[4:8]
        assert part.nbytes() == 4 and part.data_ptr() == s.data_ptr() + 4
        assert s.clone().data_ptr() != s.data_ptr() and s.clone().tolist() == s.tolist()


@pytest.mark.parametrize(
    "name,values",
    [
        ("FloatStorage", [1, 2.5]),
        ("DoubleStorage", [1, 2]),
        ("LongStorage", [3, -4]),
        ("IntStorage", [7]),
        ("BoolStorage", [True, False]),
        ("ByteStorage", [1, 255]),
        ("HalfStorage", [0.5]),
    ],
)
def test_legacy_storage_classes(name, values):
    with _quiet():
        warnings.simplefilter("ignore")
        e, t = getattr(ember, name)(values), getattr(torch, name)(values)
        e0, t0 = getattr(ember, name)(3), getattr(torch, name)(3)
    assert e.tolist() == t.tolist() and str(e.dtype) == str(t.dtype)
    assert e.type() == t.type() and repr(e) == repr(t)
    assert e0.size() == t0.size() == 3
    assert isinstance(e, ember.TypedStorage) and ember.is_storage(e)
    assert ember.is_storage(ember.UntypedStorage(4)) and not ember.is_storage(ember.ones(1))
    assert ember.UntypedStorage([1, 2, 3]).tolist() == torch.UntypedStorage([1, 2, 3]).tolist()


@pytest.mark.parametrize(
    "args",
    [(), (2, (2,), (2,)), (1, (2, 2), (1, 2)), (0, (3,), None), (5, (0,), (1,))],
)
def test_set_to_a_storage(args):
    out = []
    for m in (ember, torch):
        with _quiet():
            warnings.simplefilter("ignore")
            st = m.FloatStorage([1.0, 2.0, 3.0, 4.0, 5.0, 6.0])
        x = m.empty(0)
        r = x.set_(st, *args) if args else x.set_(st)
        assert r is x
        out.append((x.tolist(), tuple(x.shape), x.stride(), x.storage_offset()))
    assert out[0] == out[1]


def test_set_to_untyped_storage_reinterprets_bytes():
    t = torch.arange(3.0)
    e = ember.arange(3.0)
    a = ember.empty(0, dtype=ember.float64).set_(e.untyped_storage())
    b = torch.empty(0, dtype=torch.float64).set_(t.untyped_storage())
    np.testing.assert_array_equal(a.numpy(), b.numpy())


def test_set_to_a_tensor_and_to_nothing():
    for m in (ember, torch):
        src = m.arange(6.0).reshape(2, 3)
        x = m.empty(0).set_(src)
        assert x.shape == (2, 3) and x.untyped_storage().data_ptr() == src.data_ptr()
        x[0, 0] = 9.0
        assert src[0, 0].item() == 9.0
        y = m.empty(0).set_(src, 1, (2,), (3,))
        assert y.tolist() == [1.0, 4.0]
        assert m.ones(3).set_().shape == (0,)


def test_set_errors_as_torch():
    for m in (ember, torch):
        with _quiet():
            warnings.simplefilter("ignore")
            st = m.FloatStorage([1.0, 2.0, 3.0])
        for dtype, want in ((m.float64, "double"), (m.int64, "long int"), (m.bool, "bool")):
            with pytest.raises(RuntimeError, match=f"Expected a Storage of type {want} or an Unt"):
                m.empty(0, dtype=dtype).set_(st)
        with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
            m.ones(3, requires_grad=True).set_(st)


def test_set_past_the_storage_raises():
    # torch grows a storage it allocated itself; ember's are arrays' memory, fixed in size, so
    # it raises torch's error for a storage that cannot grow (docs/differences.md)
    with pytest.raises(RuntimeError, match="setStorage: sizes \\[5\\], strides \\[1\\]"):
        ember.empty(0).set_(ember.FloatStorage([1.0, 2.0, 3.0]), 0, (5,), (1,))


def test_set_bumps_the_version():
    x = ember.ones(3)
    v = x._version
    x.set_(ember.zeros(2))
    assert x._version > v and x.tolist() == [0.0, 0.0]


@pytest.mark.parametrize("shared", [False, True])
def test_from_file(tmp_path, shared):
    path = tmp_path / "data.bin"
    np.arange(8, dtype=np.float32).tofile(path)
    e = ember.from_file(str(path), shared=shared, size=6)
    t = torch.from_file(str(path), shared=shared, size=6)
    assert e.tolist() == t.tolist() and e.dtype == ember.float32
    e64 = ember.from_file(str(path), size=2, dtype=ember.float64)
    t64 = torch.from_file(str(path), size=2, dtype=torch.float64)
    np.testing.assert_array_equal(e64.numpy(), t64.numpy())
    if shared:  # a shared mapping writes through to the file
        e[0] = 42.0
        del e
        assert np.fromfile(path, np.float32)[0] == 42.0
    if not shared:
        for m in (ember, torch):
            with pytest.raises(RuntimeError, match="size <32> is smaller than the required"):
                m.UntypedStorage.from_file(str(path), False, 1000)


def test_shared_from_file_extends_a_short_file(tmp_path):
    for m, name in ((ember, "e.bin"), (torch, "t.bin")):
        path = tmp_path / name
        np.arange(2, dtype=np.float32).tofile(path)
        x = m.from_file(str(path), shared=True, size=4)
        assert x.tolist() == [0.0, 1.0, 0.0, 0.0]
        del x
        assert path.stat().st_size == 16


def test_storage_round_trips_through_save(tmp_path):
    x = ember.empty(0).set_(ember.arange(6.0).untyped_storage(), 1, (2, 2), (2, 1))
    ember.save({"x": x}, tmp_path / "x.pt")
    y = torch.load(tmp_path / "x.pt")["x"]
    assert y.tolist() == x.tolist()


def test_fortran_ordered_owner_keeps_offsets():
    x = np.asfortranarray(np.arange(12.0).reshape(3, 4))
    e, t = ember.from_numpy(x)[1:], torch.from_numpy(x)[1:]
    assert e.storage_offset() == t.storage_offset()
    assert e.untyped_storage().nbytes() == t.untyped_storage().nbytes()
    assert e.untyped_storage().data_ptr() == t.untyped_storage().data_ptr()


@pytest.mark.parametrize("order", ["big", "little", "native"])
def test_from_buffer_as_torch(order):
    raw = np.arange(4, dtype=">i4" if order == "big" else "<i4").tobytes()
    e = ember.UntypedStorage.from_buffer(raw, byte_order=order, dtype=ember.int32)
    t = torch.UntypedStorage.from_buffer(raw, byte_order=order, dtype=torch.int32)
    assert e.tolist() == t.tolist() and e.nbytes() == t.nbytes()
