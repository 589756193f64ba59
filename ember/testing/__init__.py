"""torch.testing: ``assert_close`` and ``make_tensor``.

``assert_close(actual, expected)`` compares tensors, NumPy arrays, Python numbers and sequences
or mappings of them the way torch's does: the same attributes checked (shape, dtype, device;
layout and strides on request), |actual - expected| <= atol + rtol * |expected| elementwise with
torch's default tolerances per dtype, and an AssertionError that names the mismatched elements
and the greatest differences in torch's words. ``make_tensor`` draws a tensor uniformly from
``[low, high)`` with torch's default ranges, through ember's generator (so a seed gives torch's
numbers).

    >>> import ember as torch
    >>> torch.testing.assert_close(torch.tensor([1.0, 2.0]), torch.tensor([1.0, 2.0 + 1e-7]))
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from .. import dtypes
from ..ops.complex import view_as_real
from ..ops.creation import empty
from ..random import randint
from ..tensor import Tensor, _wrap

__all__ = ["assert_close", "make_tensor"]

# (rtol, atol) per dtype; any other dtype compares exactly
_PRECISION = {
    "float16": (1e-3, 1e-5),
    "bfloat16": (1.6e-2, 1e-5),
    "float32": (1.3e-6, 1e-5),
    "float64": (1e-7, 1e-7),
    "complex32": (1e-3, 1e-5),
    "complex64": (1.3e-6, 1e-5),
    "complex128": (1e-7, 1e-7),
}


class _Mismatch(AssertionError):
    """An attribute or value mismatch, before the location suffix is added."""


def _tolerances(*dts: str) -> tuple[float, float]:
    pairs = [_PRECISION.get(d, (0.0, 0.0)) for d in dts]
    return max(p[0] for p in pairs), max(p[1] for p in pairs)


def _as_tensor(x) -> Tensor:
    return x if isinstance(x, Tensor) else _wrap(np.asarray(x))


def _fmt_index(flat: int, shape: tuple) -> str:
    return str(tuple(int(i) for i in np.unravel_index(flat, shape))) if shape else "()"


def _num(v) -> str:
    """A difference as torch prints it (Python's repr of an int or a float)."""
    return repr(v.item() if hasattr(v, "item") else v)


def _compare_values(a: np.ndarray, e: np.ndarray, rtol, atol, equal_nan, msg, is_scalar):
    """Raise torch's mismatch message unless ``a`` and ``e`` (same shape) are close."""
    kind = a.dtype.kind
    if kind == "b":
        a, e = a.astype(np.uint8), e.astype(np.uint8)
        kind = "u"
    if kind in "fc":
        with np.errstate(invalid="ignore", over="ignore"):
            diff = np.abs(a - e)
            ok = diff <= atol + rtol * np.abs(e)
            ok |= a == e  # infinities of one sign
            if equal_nan:
                ok |= np.isnan(a) & np.isnan(e)
    else:
        wide_a, wide_e = a.astype(np.int64), e.astype(np.int64)
        diff = np.abs(wide_a - wide_e)
        ok = diff <= atol + rtol * np.abs(wide_e)
    if ok.all():
        return
    equal = rtol == 0 and atol == 0
    word = "equal" if equal else "close"
    with np.errstate(divide="ignore", invalid="ignore"):
        rel_dt = a.dtype if kind in "fc" else np.float32
        rel = (diff / np.abs(e if kind in "fc" else e.astype(np.float32))).astype(
            np.float64 if kind == "c" else rel_dt, copy=False
        )
    if is_scalar:  # torch works out a scalar's differences in Python numbers
        av, ev = _scalar(a), _scalar(e)
        dv = abs(av - ev)
        rv = dv / abs(ev) if ev != 0 else (math.nan if dv != dv or dv == 0 else math.inf)
        text = (
            f"Scalars are not {word}!\n\nExpected {ev} but got {av}.\n"
            f"Absolute difference: {dv!r}"
            + ("" if equal else f" (up to {atol} allowed)")
            + f"\nRelative difference: {rv!r}"
            + ("" if equal else f" (up to {rtol} allowed)")
        )
    else:
        bad = ~ok
        d = np.where(bad, diff, 0)
        r = np.where(bad, rel, 0)
        ia, ir = int(np.argmax(d)), int(np.argmax(r))
        n_bad, total = int(bad.sum()), a.size
        text = (
            f"Tensor-likes are not {word}!\n\n"
            f"Mismatched elements: {n_bad} / {total} ({100 * n_bad / total:.1f}%)\n"
            f"Greatest absolute difference: {_num(d.reshape(-1)[ia])} at index "
            f"{_fmt_index(ia, a.shape)}" + ("" if equal else f" (up to {atol} allowed)") + "\n"
            f"Greatest relative difference: {_num(r.reshape(-1)[ir])} at index "
            f"{_fmt_index(ir, a.shape)}" + ("" if equal else f" (up to {rtol} allowed)")
        )
    raise _Mismatch(msg(text) if callable(msg) else (msg if msg is not None else text))


def _scalar(a: np.ndarray):
    return a.reshape(-1)[0].item()


def _attr(name: str, a, e) -> None:
    if a != e:
        raise _Mismatch(f"The values for attribute '{name}' do not match: {a} != {e}.")


def _compare_tensors(actual, expected, rtol, atol, equal_nan, check_device, check_dtype,
                     check_layout, check_stride, msg) -> None:  # fmt: skip
    a_t, e_t = _as_tensor(actual), _as_tensor(expected)
    _attr("shape", a_t.shape, e_t.shape)
    if check_device:
        _attr("device", a_t.device, e_t.device)
    if check_dtype:
        _attr("dtype", a_t.dtype, e_t.dtype)
    if check_layout:
        _attr("layout", a_t.layout, e_t.layout)
    if check_stride and a_t.numel() > 1:
        _attr("stride()", a_t.stride(), e_t.stride())
    a, e = ((t.to_dense() if t.is_sparse else t).detach().cpu()._host() for t in (a_t, e_t))
    if rtol is None:
        rtol, atol = _tolerances(a_t.dtype.name, e_t.dtype.name)
    if a.dtype != e.dtype:
        common = np.promote_types(a.dtype, e.dtype)
        a, e = a.astype(common), e.astype(common)
    if a.dtype.name == "bfloat16":  # ml_dtypes: compare in float32, which holds it exactly
        a, e = a.astype(np.float32), e.astype(np.float32)
    _compare_values(a, e, rtol, atol, equal_nan, msg, is_scalar=a.ndim == 0)


def _compare_numbers(actual, expected, rtol, atol, equal_nan, check_dtype, msg) -> None:
    if check_dtype and type(actual) is not type(expected):
        raise _Mismatch(f"The (d)types do not match: {type(actual)} != {type(expected)}.")
    if rtol is None:
        kind = {bool: "bool", int: "int64", float: "float64", complex: "complex128"}
        rtol, atol = _tolerances(kind.get(type(actual), "float64"), kind.get(type(expected), ""))
    if isinstance(actual, complex) or isinstance(expected, complex):
        a, e = np.asarray([complex(actual)]), np.asarray([complex(expected)])
    elif isinstance(actual, float) or isinstance(expected, float):
        a, e = np.asarray([float(actual)]), np.asarray([float(expected)])
    else:
        a, e = np.asarray([int(actual)]), np.asarray([int(expected)])
    _compare_values(a, e, rtol, atol, equal_nan, msg, is_scalar=True)


_NUMBERS = (bool, int, float, complex, np.number, np.bool_)


def _tensor_like(x) -> bool:
    return isinstance(x, (Tensor, np.ndarray))


def _compare(actual, expected, where: str, opts: dict) -> None:
    try:
        if _tensor_like(actual) and _tensor_like(expected):
            _compare_tensors(actual, expected, **opts)
            return
        if isinstance(actual, _NUMBERS) and isinstance(expected, _NUMBERS):
            num = {k: opts[k] for k in ("rtol", "atol", "equal_nan", "check_dtype", "msg")}
            _compare_numbers(actual, expected, **num)
            return
    except _Mismatch as m:
        text = str(m)
        if where and opts["msg"] is None:
            text += f"\n\nThe failure occurred for item {where}"
        raise AssertionError(text) from None
    if isinstance(actual, Mapping) and isinstance(expected, Mapping):
        if set(actual) != set(expected):
            raise AssertionError(
                f"The keys of the mappings do not match:\nMissing keys in the actual mapping: "
                f"{sorted(set(expected) - set(actual), key=repr)}\nExtra keys in the actual "
                f"mapping: {sorted(set(actual) - set(expected), key=repr)}"
            )
        for k in expected:
            _compare(actual[k], expected[k], f"{where}[{k!r}]", opts)
        return
    seq = (list, tuple)
    if isinstance(actual, seq) and isinstance(expected, seq):
        if len(actual) != len(expected):
            raise AssertionError(
                f"The length of the sequences mismatch: {len(actual)} != {len(expected)}"
            )
        for i, (a, e) in enumerate(zip(actual, expected)):
            _compare(a, e, f"{where}[{i}]", opts)
        return
    if actual is None and expected is None:
        return
    raise TypeError(
        f"No comparison pair was able to handle inputs of type {type(actual)} and {type(expected)}."
    )


def assert_close(
    actual: Any,
    expected: Any,
    *,
    allow_subclasses: bool = True,
    rtol: float | None = None,
    atol: float | None = None,
    equal_nan: bool = False,
    check_device: bool = True,
    check_dtype: bool = True,
    check_layout: bool = True,
    check_stride: bool = False,
    msg: str | Callable[[str], str] | None = None,
) -> None:
    """Raise an AssertionError unless ``actual`` and ``expected`` are close (torch's rules).

    Tensors, NumPy arrays and numbers compare elementwise: |actual - expected| <= atol + rtol *
    |expected|, with torch's tolerances for the dtypes when ``rtol``/``atol`` are omitted (exact
    for integers and bools); sequences and mappings compare item by item."""
    if (rtol is None) != (atol is None):
        missing = "atol" if atol is None else "rtol"
        raise ValueError(
            f"Both 'rtol' and 'atol' must be either specified or omitted, but got no {missing}."
        )
    opts = dict(
        rtol=rtol,
        atol=atol,
        equal_nan=equal_nan,
        check_device=check_device,
        check_dtype=check_dtype,
        check_layout=check_layout,
        check_stride=check_stride,
        msg=msg,
    )
    _compare(actual, expected, "", opts)


def assert_allclose(actual, expected, rtol=None, atol=None, equal_nan=True, msg="") -> None:
    """Deprecated in torch (``assert_close`` replaces it): the same check, NaNs equal."""
    warnings.warn(
        "`torch.testing.assert_allclose()` is deprecated since 1.12 and will be removed in a "
        "future release. Please use `torch.testing.assert_close()` instead.",
        FutureWarning,
        stacklevel=2,
    )
    if not isinstance(actual, Tensor):
        actual = _wrap(np.asarray(actual))
    if not isinstance(expected, Tensor):
        expected = _wrap(np.asarray(expected, dtype=actual._data.dtype))
    if rtol is None and atol is None:
        rtol, atol = _tolerances(actual.dtype.name, expected.dtype.name)
    assert_close(actual, expected, rtol=rtol, atol=atol, equal_nan=equal_nan,
                 check_device=True, check_dtype=False, check_stride=False,
                 msg=msg or None)  # fmt: skip


def make_tensor(
    *shape,
    dtype,
    device,
    low: float | None = None,
    high: float | None = None,
    requires_grad: bool = False,
    noncontiguous: bool = False,
    exclude_zero: bool = False,
    memory_format=None,
) -> Tensor:
    """A tensor of ``shape`` drawn uniformly from ``[low, high)`` (torch's default ranges: bools
    [0, 2), unsigned [0, 10), signed [-9, 10), floating and complex [-9, 9)), as
    torch.testing.make_tensor, through ember's generator."""
    dt = dtypes.to_dtype(dtype)
    if len(shape) == 1 and isinstance(shape[0], Sequence):
        shape = tuple(shape[0])
    shape = tuple(int(s) for s in shape)
    if noncontiguous and memory_format is not None:
        raise ValueError(
            "The parameters `noncontiguous` and `memory_format` are mutually exclusive, but got "
            f"noncontiguous={noncontiguous} and memory_format={memory_format}"
        )
    integral = dt.is_floating_point is False and not dt.is_complex
    if requires_grad and integral:
        raise ValueError(
            "`requires_grad=True` is not supported for boolean and integral dtypes, but got "
            f"dtype={dt}"
        )

    def bounds(lowest, highest, default_low, default_high):
        lo = default_low if low is None else low
        hi = default_high if high is None else high
        if any(isinstance(v, float) and math.isnan(v) for v in (lo, hi)):
            raise ValueError(f"`low` and `high` cannot be NaN, but got low={lo} and high={hi}")
        if lo == hi and not integral:
            warnings.warn(
                "Passing `low==high` to `torch.testing.make_tensor` for floating or complex types "
                "is deprecated since 2.1 and will be removed in 2.3. Use `torch.full(...)` "
                "instead.",
                FutureWarning,
                stacklevel=3,
            )
        elif lo >= hi:
            raise ValueError(f"`low` must be less than `high`, but got {lo} >= {hi}")
        elif hi < lowest or lo >= highest:
            raise ValueError(
                f"The value interval specified by `low` and `high` is [{lo}, {hi}), but {dt} "
                f"only supports [{lowest}, {highest})"
            )
        lo, hi = min(max(lo, lowest), highest), min(max(hi, lowest), highest)
        return (math.ceil(lo), math.ceil(hi)) if integral else (lo, hi)

    n = 1
    for s in shape:
        n *= s
    noncontiguous = noncontiguous and n > 1
    if noncontiguous:
        shape = (*shape[:-1], 2 * shape[-1])
    if dt is dtypes.bool_:
        lo, hi = bounds(0, 2, 0, 2)
        result = randint(lo, hi, shape, device=device, dtype=dt)
    elif integral:
        info = dtypes.iinfo(dt)
        lo, hi = bounds(info.min, info.max + (1 if dt is not dtypes.int64 else 0), -9, 10)
        result = randint(lo, hi, shape, device=device, dtype=dt)
    else:
        info = dtypes.finfo(dt)
        lo, hi = bounds(info.min, info.max, -9, 9)
        result = empty(shape, device=device, dtype=dt)
        target = view_as_real(result) if dt.is_complex else result
        if hi - lo >= dtypes.finfo(target.dtype).max:  # uniform_ needs to - from below max
            target.uniform_(lo / 2, hi / 2).mul_(2)
        else:
            target.uniform_(lo, hi)
    if noncontiguous:
        result = result[..., 1::2]
    elif memory_format is not None:
        result = result.clone(memory_format=memory_format)
    if exclude_zero:
        tiny = 1 if integral else dtypes.finfo(dt).tiny
        result[result == 0] = tiny  # a real number, as torch assigns
    if not integral:
        result.requires_grad_(requires_grad)
    return result
