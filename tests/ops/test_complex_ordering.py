"""Complex numbers have no order in torch: comparisons, max/min, clamp, sorting and selection
refuse complex operands (NumPy would order them lexicographically). Each case runs on torch and
ember and expects the same exception type and message; the complex forms torch takes (equality,
0-d and empty inputs of some ops, a clamp bound with no imaginary part) keep torch's values."""

import pytest

import ember
from tests._support.torch_ref import assert_same, torch

# torch warns when it makes a complex32 result (a half tensor meeting a complex number)
pytestmark = pytest.mark.filterwarnings("ignore:ComplexHalf support is experimental")


def C(m, dtype=None):  # noqa: N802
    return m.tensor([1 + 2j, 3 - 1j, 0.5 + 0j], dtype=dtype)


def F(m, dtype=None):  # noqa: N802
    return m.tensor([1.0, 2.0, 3.0], dtype=dtype)


def I(m):  # noqa: E743, N802
    return m.tensor([1, 2, 3])


def T(m):  # noqa: N802
    return m.tensor(0.0)


def C0(m):  # noqa: N802
    return m.tensor(1j)


def E(m, *shape):  # noqa: N802
    return m.zeros(*(shape or (0,)), dtype=m.complex64)


def C2(m):  # noqa: N802
    return m.ones(2, 3, dtype=m.complex64)


def _pairs(m):
    return m.empty(0, dtype=m.complex64), m.empty(0, dtype=m.long)


REFUSED = {
    # comparisons: the promoted type is named, and the reflected operator's name
    "lt": lambda m: m.lt(C(m), F(m)),
    "le_number": lambda m: m.le(F(m), 1j),
    "gt_int_tensor": lambda m: m.gt(I(m), C(m)),
    "ge_double": lambda m: m.ge(F(m, m.float64), 1j),
    "ge_complex128": lambda m: m.ge(C(m, m.complex128), 0),
    "ge_half_number": lambda m: m.ge(F(m, m.float16), 1j),
    "ge_half_0d": lambda m: m.ge(F(m, m.float16), C0(m)),
    "ge_bfloat16": lambda m: m.ge(F(m, m.bfloat16), 1j),
    "lt_0d": lambda m: C0(m) < m.tensor(2j),
    "lt_empty": lambda m: E(m) < 1,
    "less": lambda m: m.less(C(m), 0),
    "less_equal": lambda m: m.less_equal(C(m), 0),
    "greater": lambda m: m.greater(C(m), 0),
    "greater_equal": lambda m: m.greater_equal(C(m), 0),
    "op_lt": lambda m: F(m) < 1j,
    "op_gt": lambda m: C(m) > C(m),
    "op_reflected_le": lambda m: 1j <= F(m),
    "op_reflected_gt": lambda m: 1 > C(m),
    "method_less_equal": lambda m: F(m).less_equal(1j),
    "lt_inplace": lambda m: C(m).lt_(1),
    "ge_inplace_real": lambda m: F(m).ge_(C(m)),
    "greater_inplace": lambda m: F(m).greater_(1j),
    "lt_out": lambda m: m.lt(C(m), 1, out=m.empty(3, dtype=m.bool)),
    "lt_broadcast_first": lambda m: m.lt(m.ones(2, dtype=m.complex64), m.ones(3)),
    # maximum / minimum / fmax / fmin
    "maximum": lambda m: m.maximum(C(m), F(m)),
    "maximum_real_first": lambda m: m.maximum(F(m), C(m)),
    "minimum": lambda m: m.minimum(C(m), C(m)),
    "fmax": lambda m: m.fmax(C(m), F(m)),
    "fmin_out": lambda m: m.fmin(C(m), C(m), out=E(m)),
    "maximum_before_broadcast": lambda m: m.maximum(m.ones(2, dtype=m.complex64), m.ones(3)),
    "max_binary": lambda m: m.max(C(m), T(m)),
    "method_min_binary": lambda m: C(m).min(F(m)),
    "method_fmax": lambda m: C(m).fmax(F(m)),
    # clamp and its forms
    "clamp": lambda m: m.clamp(C(m), min=0),
    "clamp_both": lambda m: m.clamp(C(m), 0, 1),
    "clamp_tensor_bound": lambda m: m.clamp(C(m), T(m)),
    "clamp_complex_tensors": lambda m: m.clamp(C(m), None, C(m)),
    "clamp_empty": lambda m: m.clamp(E(m), 0),
    "clamp_out": lambda m: m.clamp(C(m), 0, out=m.empty(3)),
    "clip": lambda m: m.clip(C(m), 0, 1),
    "clamp_min": lambda m: m.clamp_min(C(m), 0),
    "clamp_max": lambda m: m.clamp_max(C(m), 0),
    "method_clamp": lambda m: C(m).clamp(max=T(m)),
    "clamp_real_min_complex_tensor": lambda m: m.clamp(F(m), min=C(m)),
    "clamp_real_max_complex_tensor": lambda m: m.clamp(F(m), max=C(m)),
    "clamp_real_both_tensors": lambda m: m.clamp(F(m), T(m), C(m)),
    "clamp_double_complex64": lambda m: m.clamp(F(m, m.float64), C(m)),
    "clamp_half_complex_0d": lambda m: m.clamp(F(m, m.float16), C0(m)),
    "clamp_int_complex_tensor": lambda m: m.clamp(I(m), C(m)),
    "clamp_bound_broadcast_first": lambda m: m.clamp(m.ones(2), m.ones(3, dtype=m.complex64)),
    "clamp_out_cast_first": lambda m: m.clamp(F(m), C(m), out=m.empty(3)),
    "clamp_min_tensor": lambda m: m.clamp_min(F(m), C(m)),
    "clamp_min_complex_input_tensor": lambda m: m.clamp_min(C(m), T(m)),
    "clamp_max_tensor_double": lambda m: m.clamp_max(F(m, m.float64), C(m)),
    "clamp_min_broadcast_first": lambda m: m.clamp_min(m.ones(2, dtype=m.complex64), m.ones(3)),
    # a complex number bound: a double for a floating tensor, a complex result otherwise
    "clamp_number_imaginary": lambda m: m.clamp(F(m), 1j),
    "clamp_number_max_imaginary": lambda m: m.clamp(F(m), 0, 1j),
    "clamp_half_number_imaginary": lambda m: m.clamp(F(m, m.float16), 1j),
    "clamp_tensor_and_number": lambda m: m.clamp(F(m), T(m), 1j),
    "clamp_int_number": lambda m: m.clamp(I(m), 2 + 0j),
    "clamp_bool_number": lambda m: m.clamp(m.tensor([True]), 1j),
    "clamp_int_tensor_and_number": lambda m: m.clamp(I(m), m.tensor(0), 2 + 0j),
    "clamp_min_number_real": lambda m: m.clamp_min(F(m), 2 + 0j),
    "clamp_max_number": lambda m: m.clamp_max(F(m), 1j),
    # in-place clamp: a result the tensor cannot hold is a cast error first
    "clamp_inplace": lambda m: C(m).clamp_(0),
    "clip_inplace_number": lambda m: F(m).clip_(1j),
    "clamp_inplace_complex_tensor": lambda m: F(m).clamp_(C(m)),
    "clamp_inplace_keywords": lambda m: F(m).clamp_(min=T(m), max=C(m)),
    "clamp_inplace_int_tensor": lambda m: I(m).clamp_(C(m)),
    "clamp_inplace_int_number": lambda m: I(m).clamp_(2 + 0j),
    "clamp_inplace_bool_number": lambda m: m.tensor([True]).clamp_(1j),
    "clamp_inplace_broadcast_first": lambda m: m.ones(2).clamp_(m.ones(3, dtype=m.complex64)),
    "clamp_min_inplace_number": lambda m: I(m).clamp_min_(2 + 0j),
    "clamp_min_inplace_tensor": lambda m: F(m).clamp_min_(C(m)),
    "clamp_min_inplace_complex": lambda m: C(m).clamp_min_(C(m)),
    "clamp_max_inplace_tensor": lambda m: F(m).clamp_max_(C(m)),
    # reductions
    "max": lambda m: m.max(C(m)),
    "min_0d": lambda m: m.min(C0(m)),
    "max_double": lambda m: m.max(C(m, m.complex128)),
    "method_max": lambda m: C(m).max(),
    "max_dim": lambda m: m.max(C(m), 0),
    "min_dim_0d": lambda m: m.min(C0(m), 0),
    "max_dim_empty_result": lambda m: m.max(E(m, 0, 2), 1),
    "method_min_dim": lambda m: C2(m).min(1, keepdim=True),
    "max_dim_out": lambda m: m.max(C(m), 0, out=_pairs(m)),
    "amax": lambda m: m.amax(C(m)),
    "amin_dim": lambda m: m.amin(C2(m), (0, 1)),
    "amax_0d": lambda m: m.amax(C0(m)),
    "amax_out": lambda m: m.amax(C(m), out=E(m)),
    "aminmax": lambda m: m.aminmax(C(m)),
    "aminmax_dim": lambda m: m.aminmax(C2(m), dim=0),
    "aminmax_empty_result": lambda m: m.aminmax(E(m, 0, 2), dim=1),
    "aminmax_0d": lambda m: m.aminmax(C0(m)),
    "aminmax_0d_dim": lambda m: m.aminmax(C0(m), dim=0),
    "argmax": lambda m: m.argmax(C(m)),
    "argmin_dim": lambda m: m.argmin(C2(m), 1),
    "argmax_0d": lambda m: m.argmax(C0(m)),
    "argmax_before_dim_check": lambda m: m.argmax(C(m), 5),
    "argmax_empty": lambda m: m.argmax(E(m)),
    "method_argmin": lambda m: C(m).argmin(),
    "median": lambda m: m.median(C(m)),
    "median_0d": lambda m: m.median(C0(m)),
    "median_dim": lambda m: m.median(C2(m), 1),
    "median_dim_0d": lambda m: m.median(C0(m), 0),
    "median_dim_empty_result": lambda m: m.median(E(m, 0, 2), 1),
    "nanmedian": lambda m: m.nanmedian(C(m)),
    "nanmedian_dim": lambda m: C(m).nanmedian(0),
    "cummax": lambda m: m.cummax(C(m), 0),
    "cummin": lambda m: C2(m).cummin(1),
    # sorting and selection
    "sort": lambda m: m.sort(C(m)),
    "sort_descending_stable": lambda m: m.sort(C(m), dim=0, descending=True, stable=True),
    "sort_0d": lambda m: m.sort(C0(m)),
    "sort_empty": lambda m: m.sort(E(m)),
    "sort_out": lambda m: m.sort(C(m), out=_pairs(m)),
    "method_sort": lambda m: C(m).sort(),
    "argsort": lambda m: m.argsort(C(m)),
    "argsort_0d": lambda m: m.argsort(C0(m)),
    "msort": lambda m: m.msort(C2(m)),
    "method_msort": lambda m: C0(m).msort(),
    "topk": lambda m: m.topk(C(m), 1),
    "topk_k0": lambda m: m.topk(C(m), 0),
    "topk_0d": lambda m: m.topk(C0(m), 1),
    "topk_out": lambda m: m.topk(C(m), 1, out=_pairs(m)),
    "method_topk": lambda m: C(m).topk(2, largest=False),
    "kthvalue": lambda m: m.kthvalue(C(m), 1),
    "kthvalue_empty_result": lambda m: m.kthvalue(E(m, 0, 2), 1, 1),
    "method_kthvalue": lambda m: C(m).kthvalue(2),
    "mode": lambda m: m.mode(C(m)),
    "mode_dim": lambda m: C2(m).mode(0),
    "unique": lambda m: m.unique(C(m)),
    "unique_double": lambda m: m.unique(C(m, m.complex128), return_counts=True),
    "unique_empty": lambda m: m.unique(E(m)),
    "unique_dim": lambda m: m.unique(C2(m), dim=1),
    "unique_dim_before_dim_check": lambda m: m.unique(C(m), dim=5),
    "method_unique": lambda m: C(m).unique(sorted=False),
    "unique_consecutive": lambda m: m.unique_consecutive(C(m)),
    "unique_consecutive_dim0_1d": lambda m: m.unique_consecutive(C(m), dim=0),
    "unique_consecutive_dim": lambda m: m.unique_consecutive(C(m), dim=-1),
    "unique_consecutive_dim_2d": lambda m: m.unique_consecutive(C2(m), dim=0),
    "isin": lambda m: m.isin(C(m), F(m)),
    "isin_test_elements": lambda m: m.isin(F(m, m.float64), C(m)),
    "isin_first_complex_named": lambda m: m.isin(C(m), C(m, m.complex128)),
    "isin_number": lambda m: m.isin(F(m), 1j),
    "isin_number_elements": lambda m: m.isin(1j, F(m)),
    "isin_empty": lambda m: m.isin(m.zeros(0), C(m)),
    "searchsorted": lambda m: m.searchsorted(F(m), C(m)),
    "searchsorted_promoted": lambda m: m.searchsorted(C(m), F(m, m.float64)),
    "searchsorted_number": lambda m: m.searchsorted(F(m), 1j),
    "searchsorted_half_number": lambda m: m.searchsorted(F(m, m.float16), 1j),
    "searchsorted_complex_sequence": lambda m: m.searchsorted(C(m), 1.0, right=True),
    "searchsorted_shape_first": lambda m: m.searchsorted(m.ones(2, 2), C(m)),
    "bucketize": lambda m: m.bucketize(C(m), F(m)),
    "bucketize_number": lambda m: m.bucketize(1j, F(m)),
    "bucketize_boundaries_dim_first": lambda m: m.bucketize(C(m), m.ones(2, 2)),
    "histc": lambda m: m.histc(C(m)),
    "histc_range": lambda m: m.histc(C(m), 3, 0, 1),
    "histc_empty": lambda m: m.histc(E(m)),
    "histc_bins_first": lambda m: m.histc(C(m), bins=0),
    "histc_range_first": lambda m: m.histc(C(m), 10, 1, 0),
    "histogram": lambda m: m.histogram(C(m)),
    "quantile": lambda m: m.quantile(C(m), 0.5),
    "nanquantile": lambda m: m.nanquantile(C(m), 0.5),
}


@pytest.mark.parametrize("call", REFUSED.values(), ids=REFUSED.keys())
def test_refused_as_torch(call):
    with pytest.raises(Exception) as t:
        call(torch)
    with pytest.raises(Exception) as e:
        call(ember)
    assert type(e.value) is type(t.value)
    assert str(e.value) == str(t.value)


def _unpacked(r):
    return tuple(r) if isinstance(r, tuple) else r


TAKEN = {
    "eq": lambda m: m.eq(C(m), 1 + 2j),
    "ne": lambda m: m.ne(C(m), F(m)),
    "eq_promoted": lambda m: m.eq(C(m), C(m, m.complex128)),
    "op_eq": lambda m: C(m) == C0(m),
    "op_ne": lambda m: 1j != C(m),
    "eq_out": lambda m: m.eq(C(m), C(m), out=m.empty(3, dtype=m.bool)),
    "eq_inplace": lambda m: C(m).eq_(1 + 2j),
    "ne_inplace": lambda m: C(m).ne_(C(m)),
    "equal": lambda m: m.equal(C(m), C(m)),
    "isclose": lambda m: m.isclose(C(m), C(m) + 1e-9),
    "allclose": lambda m: m.allclose(C(m), C(m)),
    "where": lambda m: m.where(m.tensor([True, False, True]), C(m), 0),
    "nonzero": lambda m: m.nonzero(C(m)),
    "count_nonzero": lambda m: m.count_nonzero(C2(m)),
    "sgn": lambda m: m.sgn(C(m)),
    # the 0-d and empty forms torch does not refuse
    "amax_empty_result": lambda m: m.amax(E(m, 2, 0), 0),
    "amin_empty_result": lambda m: m.amin(E(m, 0, 2), 1),
    "median_empty": lambda m: m.median(E(m)),
    "nanmedian_empty": lambda m: m.nanmedian(E(m)),
    "kthvalue_0d": lambda m: m.kthvalue(C0(m), 1),
    "mode_0d": lambda m: m.mode(C0(m)),
    "mode_empty_result": lambda m: m.mode(E(m, 2, 0), 0),
    "cummax_0d": lambda m: m.cummax(C0(m), 0),
    "cummin_empty": lambda m: m.cummin(E(m), 0),
    # a complex bound with no imaginary part is a double to clamp (not to clamp_min/clamp_max)
    "clamp_number_real": lambda m: m.clamp(F(m), 2 + 0j),
    "clamp_number_max_real": lambda m: m.clamp(F(m), None, 2 + 0j),
    "clamp_half_number_real": lambda m: m.clamp(F(m, m.float16), 2 + 0j),
    "clamp_tensor_and_number_real": lambda m: m.clamp(F(m), T(m), 2 + 0j),
    "clamp_inplace_number_real": lambda m: F(m).clamp_(2 + 0j),
    # real operands, through the same code
    "lt_int8_wraps": lambda m: m.tensor([1, 2], dtype=m.int8) < 300,
    "lt_promoted": lambda m: F(m) < I(m),
    "le_int_float_number": lambda m: m.le(I(m), 1.5),
    "gt_half_number": lambda m: F(m, m.float16) > 1,
    "ge_reflected": lambda m: 2 >= F(m),
    "lt_inplace_real": lambda m: F(m).lt_(2),
    "maximum_real": lambda m: m.maximum(F(m), I(m)),
    "clamp_real": lambda m: m.clamp(F(m), 1.5, 2.5),
    "clamp_int_float": lambda m: m.clamp(I(m), 1.5),
    "clamp_bool_float": lambda m: m.clamp(m.tensor([True, False]), 0.5),
    "clamp_bool_mixed": lambda m: m.clamp(m.tensor([True, False]), True, 1),
    "clamp_tensors_real": lambda m: m.clamp(F(m), T(m), m.tensor([2.0])),
    "sort_real": lambda m: m.sort(F(m), descending=True),
    "max_real": lambda m: m.max(I(m), 0),
    "argmax_real": lambda m: m.argmax(F(m)),
    "aminmax_empty_result_real": lambda m: m.aminmax(m.zeros(0, 2), dim=1),
    "isin_real": lambda m: m.isin(F(m), I(m)),
    "searchsorted_real": lambda m: m.searchsorted(F(m), 1.5),
}


@pytest.mark.parametrize("call", TAKEN.values(), ids=TAKEN.keys())
def test_taken_as_torch(call):
    t, e = call(torch), call(ember)
    if isinstance(t, bool):
        assert e is t
    else:
        assert_same(_unpacked(e), _unpacked(t))


# torch's own errors on real input, worded as torch words them (found alongside the above)
REAL_ERRORS = {
    "aminmax_empty_dim": lambda m: m.aminmax(m.zeros(0, 2), dim=0),
    "aminmax_empty": lambda m: m.aminmax(m.zeros(0, 2)),
    "clamp_bool_min": lambda m: m.clamp(m.tensor([True]), True),
    "clamp_bool_max": lambda m: m.clamp(m.tensor([True]), None, False),
    "clamp_bool_both": lambda m: m.clamp(m.tensor([True]), True, True),
    "histc_bins": lambda m: m.histc(I(m), bins=0),
    "histc_range": lambda m: m.histc(F(m), 10, 1, 0),
    "histc_int": lambda m: m.histc(I(m)),
    "histogram_int": lambda m: m.histogram(I(m)),
    "nanquantile_dtype": lambda m: m.nanquantile(I(m), 0.5),
    "nanquantile_q": lambda m: m.nanquantile(F(m), 2.0),
    "nanquantile_interpolation": lambda m: m.nanquantile(F(m), 0.5, interpolation="x"),
    "nanquantile_empty": lambda m: m.nanquantile(m.zeros(0), 0.5),
}


@pytest.mark.parametrize("call", REAL_ERRORS.values(), ids=REAL_ERRORS.keys())
def test_real_errors_as_torch(call):
    test_refused_as_torch(call)


@pytest.mark.parametrize(
    "name",
    ["eq", "ne", "not_equal", "lt", "less", "le", "less_equal", "gt", "greater", "ge",
     "greater_equal"],
)  # fmt: skip
@pytest.mark.parametrize("first", [1.0, 2, True, 1j])
def test_comparison_functions_take_a_tensor_first(name, first):
    """torch.lt(1.0, t) is a TypeError naming the function as called (the operators, which
    reach the reflected comparison with the tensor first, are unaffected)."""
    msgs = []
    for m in (ember, torch):
        with pytest.raises(TypeError) as info:
            getattr(m, name)(first, m.ones(2))
        msgs.append(str(info.value))
    assert msgs[0] == msgs[1]
    assert (first < ember.ones(2) if first != 1j else first == ember.ones(2)).shape == (2,)


def test_equal_takes_tensors():
    """torch.equal with a number: torch's TypeError naming the argument (an AttributeError)."""
    for args in ((1.0, [1.0, 2.0]), ([1.0, 2.0], 1.0)):
        msgs = []
        for m in (ember, torch):
            with pytest.raises(TypeError) as info:
                m.equal(*(m.tensor(a) if isinstance(a, list) else a for a in args))
            msgs.append(str(info.value))
        assert msgs[0] == msgs[1]
