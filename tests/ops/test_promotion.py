"""Type promotion of elementwise ops against torch: every dtype pair (and Python scalar) of the
binary ops, every dtype of the unary ops: same result dtype and values, or the same error."""

from __future__ import annotations

import numpy as np
import pytest

import ember
from tests._support.elementwise import NO_GRAD_UNARY, UNARY, small_tensor
from tests._support.torch_ref import torch

GRID_DT = [
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
]


@pytest.mark.parametrize(
    "op",
    [
        "add",
        "sub",
        "mul",
        "div",
        "pow",
        "remainder",
        "floor_divide",
        "maximum",
        "minimum",
        "fmod",
        "eq",
        "lt",
        "ne",
        "logical_and",
        "bitwise_and",
    ],
)
def test_binary_dtype_grid_vs_torch(op):
    """Every dtype pair and operand kind: same result dtype and values, or same error type."""
    import itertools

    for da, db in itertools.product(GRID_DT, GRID_DT + ["scalar"]):
        for ka in ("t", "0d"):
            for kb in ("t", "0d") if db != "scalar" else (2, 2.5, True, -1):
                ta = small_tensor(torch, da, ka)
                ea = small_tensor(ember, da, ka)
                tb = small_tensor(torch, db, kb) if db != "scalar" else kb
                eb = small_tensor(ember, db, kb) if db != "scalar" else kb
                try:
                    rt = getattr(torch, op)(ta, tb)
                except Exception as ex:  # noqa: BLE001
                    with pytest.raises(type(ex)):
                        getattr(ember, op)(ea, eb)
                    continue
                with np.errstate(all="ignore"):
                    re_ = getattr(ember, op)(ea, eb)
                assert str(re_.dtype) == str(rt.dtype), (op, da, db, ka, kb)
                tv = rt.float().numpy() if rt.dtype == torch.bfloat16 else rt.numpy()
                ev = np.asarray(re_.float().numpy() if re_.dtype is ember.bfloat16 else re_.numpy())
                np.testing.assert_allclose(
                    ev.astype(float),
                    tv.astype(float),
                    rtol=1e-2,
                    atol=1e-3,
                    err_msg=str((op, da, db, ka, kb)),
                )


@pytest.mark.parametrize(
    "name",
    [n for n, _ in UNARY]
    + NO_GRAD_UNARY
    + ["angle", "real", "imag", "bitwise_not", "logical_not", "nan_to_num"],
)
def test_unary_dtype_grid_vs_torch(name):
    """Every dtype: same result dtype and values as torch, or the same error type."""
    for dt in GRID_DT:
        floating = dt in ("float16", "bfloat16", "float32", "float64")
        vals = [0.25, 0.5, 0.75, 0.1] if floating else [0, 1, 2, 3]
        if dt == "bool":
            vals = [True, False, True, True]
        t = torch.tensor(vals, dtype=getattr(torch, dt))
        e = ember.tensor(vals, dtype=getattr(ember, dt))
        try:
            rt = getattr(torch, name)(t)
        except Exception as ex:  # noqa: BLE001
            with pytest.raises(type(ex)):
                getattr(ember, name)(e)
            continue
        with np.errstate(all="ignore"):
            re_ = getattr(ember, name)(e)
        assert str(re_.dtype) == str(rt.dtype), (name, dt)
        tv = rt.float().numpy() if rt.dtype == torch.bfloat16 else rt.numpy()
        ev = re_.float().numpy() if re_.dtype is ember.bfloat16 else re_.numpy()
        np.testing.assert_allclose(
            np.asarray(ev).astype(float),
            tv.astype(float),
            rtol=1e-2,
            atol=1e-3,
            err_msg=f"{name} {dt}",
        )
