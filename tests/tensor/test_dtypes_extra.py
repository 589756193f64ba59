"""The dtypes torch names beyond the computing ones (float8, float4, complex32, sub-byte, bits,
quantized), torch's build flags and version object, compared with torch."""

from __future__ import annotations

import io
import operator
import pkgutil
import warnings

import numpy as np
import pytest

import ember

torch = pytest.importorskip("torch")
ml_dtypes = pytest.importorskip("ml_dtypes")

FLOAT8 = ["float8_e4m3fn", "float8_e5m2", "float8_e4m3fnuz", "float8_e5m2fnuz", "float8_e8m0fnu"]
ONLY_NAMED = [
    "float4_e2m1fn_x2",
    *(f"uint{i}" for i in range(1, 8)),
    *(f"int{i}" for i in range(1, 8)),
    "bits1x8",
    "bits2x4",
    "bits4x2",
    "bits8",
    "bits16",
    "qint8",
    "quint8",
    "qint32",
    "quint4x2",
    "quint2x4",
]
NEW = [*FLOAT8, *ONLY_NAMED, "complex32", "chalf", "bit"]


def _has_ml(name: str) -> bool:
    return hasattr(ml_dtypes, name)


def _outcome(fn):
    """(type of the exception, its message) or ("ok", the value) of ``fn()``."""
    try:
        return "ok", fn()
    except Exception as e:  # noqa: BLE001 - the exception itself is compared
        return type(e).__name__, str(e)


def test_ember_has_every_torch_dtype_name():
    torch_names = {n for n in dir(torch) if isinstance(getattr(torch, n), torch.dtype)}
    assert sorted(torch_names - set(dir(ember))) == []
    for n in torch_names:
        assert isinstance(getattr(ember, n), ember.dtype), n


@pytest.mark.parametrize("name", NEW)
def test_dtype_attributes_as_torch(name):
    t, e = getattr(torch, name), getattr(ember, name)
    assert repr(e) == repr(t)
    assert e.itemsize == t.itemsize
    assert e.is_floating_point == t.is_floating_point
    assert e.is_complex == t.is_complex
    assert _outcome(lambda: e.is_signed) == _outcome(lambda: t.is_signed)
    tr, er = _outcome(t.to_real), _outcome(e.to_real)
    assert (er[0], repr(er[1])) == (tr[0], repr(tr[1])) if tr[0] == "ok" else er == tr
    tc, ec = _outcome(t.to_complex), _outcome(e.to_complex)
    assert (ec[0], repr(ec[1])) == (tc[0], repr(tc[1])) if tc[0] == "ok" else ec == tc


@pytest.mark.parametrize("name", ["float16", "bfloat16", "float32", "float64", "int32", "bool"])
def test_to_real_and_to_complex_of_the_computing_dtypes(name):
    t, e = getattr(torch, name), getattr(ember, name)
    assert repr(e.to_real()) == repr(t.to_real())
    tc, ec = _outcome(t.to_complex), _outcome(e.to_complex)
    assert (ec[0], repr(ec[1])) == (tc[0], repr(tc[1])) if tc[0] == "ok" else ec == tc


@pytest.mark.parametrize("name", FLOAT8)
def test_finfo_of_float8_as_torch(name):
    t, e = torch.finfo(getattr(torch, name)), ember.finfo(getattr(ember, name))
    for field in ("bits", "eps", "max", "min", "tiny", "smallest_normal", "resolution", "dtype"):
        assert getattr(e, field) == getattr(t, field), field


@pytest.mark.parametrize("name", ["uint4", "int3", "bits8", "qint8"])
def test_iinfo_of_the_named_only_types_raises_as_torch(name):
    t = _outcome(lambda: torch.iinfo(getattr(torch, name)).max)  # torch: raises on reading
    e = _outcome(lambda: ember.iinfo(getattr(ember, name)).max)
    assert e == t


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("float8_e4m3fn", "float32"),
        ("float8_e4m3fn", "float8_e5m2"),
        ("float8_e5m2", "int32"),
        ("qint8", "float32"),
        ("bits8", "int32"),
        ("uint4", "float32"),
        ("uint4", "int32"),
        ("qint8", "qint8"),
        ("float8_e4m3fn", "float8_e4m3fn"),
    ],
)
def test_promotion_of_the_new_dtypes_as_torch(a, b):
    t = _outcome(lambda: torch.promote_types(getattr(torch, a), getattr(torch, b)))
    e = _outcome(lambda: ember.promote_types(getattr(ember, a), getattr(ember, b)))
    assert e[0] == t[0]
    assert (repr(e[1]) == repr(t[1])) if t[0] == "ok" else e[1] == t[1]


def _float8_params():
    return [
        pytest.param(n, marks=pytest.mark.skipif(not _has_ml(n), reason=f"ml_dtypes lacks {n}"))
        for n in FLOAT8
    ]


_GRID = np.array(
    [0.0, -0.0, 1e-9, 1e-3, 0.0019, 0.1, 0.3, 1, 1.0625, 1.1, 3.3, 240, 250, 447, 448, 449]
    + [460, 464, 465, 500, 57344, 60000, 61440, 61441, 70000, 1e6, 1e30, 1e39]
    + [np.inf, -np.inf, np.nan, -1.1, -448, -500, 2.0**-7, 2.0**-10, 2.0**-16, 2.0**-17]
    + [2.0**-127, 2.0**-128, 2.0**127, 2.0**128, 1e-45],
    dtype=np.float64,
)


@pytest.mark.parametrize("name", _float8_params())
@pytest.mark.parametrize("src", ["float64", "float32", "float16", "int64", "int32", "uint8"])
def test_conversion_to_float8_matches_torch_bit_for_bit(name, src):
    """Out-of-range values, infinities and NaN follow torch (e4m3fn saturates to +-448)."""
    if src.startswith(("int", "uint")):
        data = np.array([0, 1, -1, 3, 17, 300, -500, 2**40, 127, 255]).astype(src)
    else:
        data = _GRID.astype(src)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        want = torch.from_numpy(data).to(getattr(torch, name)).view(torch.uint8).numpy()
        got = ember.from_numpy(data).to(getattr(ember, name)).view(ember.uint8).numpy()
    np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("name", _float8_params())
@pytest.mark.parametrize(
    "dst", ["float32", "float64", "float16", "int64", "int32", "int16", "int8", "uint8", "bool"]
)
def test_conversion_from_every_float8_value_matches_torch(name, dst):
    bits = np.arange(256, dtype=np.uint8)
    want = torch.from_numpy(bits).view(getattr(torch, name)).to(getattr(torch, dst)).numpy()
    got = ember.from_numpy(bits).view(getattr(ember, name)).to(getattr(ember, dst)).numpy()
    assert got.dtype == want.dtype
    if want.dtype.kind == "f":  # NaN payloads aside
        np.testing.assert_array_equal(got, want)
    else:
        assert (got == want).all()


@pytest.mark.parametrize("name", _float8_params())
def test_float8_tensors_make_print_and_convert_as_torch(name):
    t, e = getattr(torch, name), getattr(ember, name)
    values = [1.0, 2.5, 0.125, 3.3]
    want, got = torch.tensor(values, dtype=t), ember.tensor(values, dtype=e)
    assert got.dtype is e
    assert repr(got) == repr(want)
    assert got.float().tolist() == want.float().tolist()
    assert got.tolist() == want.tolist()
    assert got[1:].float().tolist() == want[1:].float().tolist()
    for make in ("zeros", "ones"):  # compared by bits: torch prints e8m0's 2**-127 as 0.
        want_made = getattr(torch, make)(2, 3, dtype=t).view(torch.uint8)
        got_made = getattr(ember, make)(2, 3, dtype=e)
        assert got_made.dtype is e
        assert got_made.view(ember.uint8).tolist() == want_made.tolist()
    assert ember.empty(4, dtype=e).dtype is e
    assert repr(ember.cat([got, got])) == repr(torch.cat([want, want]))
    back = ember.tensor(values).to(e).to(ember.float32)
    assert back.tolist() == torch.tensor(values).to(t).to(torch.float32).tolist()


@pytest.mark.parametrize(
    "op",
    [
        lambda m, a: a + a,
        lambda m, a: a - a,
        lambda m, a: a + 1,
        lambda m, a: a * 2,
        lambda m, a: a / a,
        lambda m, a: a.sum(),
        lambda m, a: a.mean(),
        lambda m, a: -a,
        lambda m, a: m.add(a, a),
        lambda m, a: a + a.float(),
    ],
)
@pytest.mark.parametrize("name", _float8_params())
def test_float8_arithmetic_raises_as_torch(op, name):
    def run(m):
        return op(m, m.tensor([1.0, 2.0]).to(getattr(m, name)))

    t, e = _outcome(lambda: run(torch)), _outcome(lambda: run(ember))
    assert t[0] != "ok"
    assert e == t


@pytest.mark.skipif(not _has_ml("float8_e4m3fn"), reason="ml_dtypes lacks float8_e4m3fn")
def test_float8_times_float8_computes_as_torch():
    values = [1.0, 2.5, -3.0, 7.0]
    want = torch.tensor(values, dtype=torch.float8_e4m3fn)
    got = ember.tensor(values, dtype=ember.float8_e4m3fn)
    assert repr(got * got) == repr(want * want)
    assert (got == got).tolist() == (want == want).tolist()


@pytest.mark.parametrize("name", _float8_params())
def test_float8_checkpoints_load_and_save_both_ways(name):
    values = torch.tensor([1.0, 2.5, 448.0, 0.125, -0.5]).abs().to(getattr(torch, name))
    buf = io.BytesIO()
    torch.save({"w": values, "v": values[1:3]}, buf)
    buf.seek(0)
    loaded = ember.load(buf)
    assert loaded["w"].dtype is getattr(ember, name)
    np.testing.assert_array_equal(
        loaded["w"].view(ember.uint8).numpy(), values.view(torch.uint8).numpy()
    )
    out = io.BytesIO()
    ember.save(loaded, out)
    out.seek(0)
    back = torch.load(out)
    assert back["w"].dtype == values.dtype
    assert torch.equal(back["w"].view(torch.uint8), values.view(torch.uint8))
    assert torch.equal(back["v"].view(torch.uint8), values[1:3].view(torch.uint8))


@pytest.mark.parametrize("name", ONLY_NAMED)
def test_making_a_tensor_of_a_named_only_dtype_raises_as_torch(name):
    t = _outcome(lambda: torch.tensor([1, 2], dtype=getattr(torch, name)))
    e = _outcome(lambda: ember.tensor([1, 2], dtype=getattr(ember, name)))
    assert e == t


def test_complex32_tensors_raise_a_clear_error():
    """torch makes complex32 tensors on the CPU; NumPy has no complex32, so ember refuses."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert torch.tensor([1 + 2j], dtype=torch.chalf).dtype == torch.complex32
    with pytest.raises(TypeError, match="torch.complex32"):
        ember.tensor([1 + 2j], dtype=ember.chalf)
    assert ember.chalf is ember.complex32


def test_dtypes_pickle_to_themselves():
    import pickle

    for name in NEW:
        d = getattr(ember, name)
        assert pickle.loads(pickle.dumps(d)) is d


def test_build_flags_are_bools_and_the_deprecated_ones_warn_as_torch():
    for name in ("has_lapack", "has_mkl", "has_openmp", "has_spectral"):
        assert isinstance(getattr(ember, name), bool), name
    assert ember.has_lapack and ember.has_spectral
    for name in ("has_mps", "has_cuda", "has_cudnn", "has_mkldnn"):
        with pytest.warns(UserWarning) as want:
            getattr(torch, name)
        with pytest.warns(UserWarning) as got:
            value = getattr(ember, name)
        assert isinstance(value, bool)
        assert str(got[0].message) == str(want[0].message)


@pytest.mark.parametrize(
    "other",
    ["2.0", "2.13", "2.13.0", "2.13.1", "2.14", "3", "2.13.0rc1", (2, 0), (2, 13), (2, 13, 0)],
)
def test_version_compares_as_torch(other):
    e = ember.torch_version.TorchVersion("2.13.0+ember.0.1.0")
    t = torch.torch_version.TorchVersion("2.13.0+cpu")
    assert type(ember.__version__) is ember.torch_version.TorchVersion
    assert isinstance(ember.__version__, str)
    for cmp in (operator.lt, operator.le, operator.gt, operator.ge, operator.eq, operator.ne):
        assert cmp(e, other) == cmp(t, other), cmp
    assert ember.__version__ >= "2.0" and ember.__version__ >= (2, 0)


def test_distributions_submodules_as_torch():
    names = {m.name for m in pkgutil.iter_modules(torch.distributions.__path__)}
    mine = {m.name for m in pkgutil.iter_modules(ember.distributions.__path__)}
    assert names - mine == set()
    from ember.distributions.studentT import StudentT

    assert StudentT is ember.distributions.StudentT
