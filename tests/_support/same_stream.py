"""Same seed, same numbers: run a piece of code under ember and under torch from one seed and
assert the results are equal bit for bit, and that both generators end in the same state."""

from __future__ import annotations

import numpy as np

import ember
from tests._support.torch_ref import torch


def host(x) -> np.ndarray:
    """An ember or torch tensor (or a number, or a list of them) as a NumPy array; bfloat16 widened
    to float32, which is exact."""
    if isinstance(x, ember.Tensor):
        a = np.asarray(x.detach()._host())
        return a.astype(np.float32) if str(a.dtype) == "bfloat16" else a
    if isinstance(x, torch.Tensor):
        x = x.detach()
        return (x.float() if x.dtype == torch.bfloat16 else x).numpy()
    return np.asarray(x)


def assert_bitwise(e, t, what: str = "") -> None:
    """Equal shapes, dtypes (by name) and values, NaNs in the same places."""
    if isinstance(t, dict):
        assert list(e) == list(t), (what, list(e), list(t))
        for k in t:
            assert_bitwise(e[k], t[k], f"{what}[{k}]")
        return
    if isinstance(t, (list, tuple)):
        assert len(e) == len(t), what
        for i, (a, b) in enumerate(zip(e, t)):
            assert_bitwise(a, b, f"{what}[{i}]")
        return
    if isinstance(t, torch.Tensor):
        assert isinstance(e, ember.Tensor), (what, type(e))
        assert str(e.dtype) == str(t.dtype), (what, e.dtype, t.dtype)
    a, b = host(e), host(t)
    assert a.shape == b.shape, (what, a.shape, b.shape)
    np.testing.assert_array_equal(a, b, err_msg=what, strict=True)


def assert_streams_aligned(generator_pair=None) -> None:
    """The next draws of the two generators (the global ones by default) agree: both consumed
    the same number of 32- and 64-bit words."""
    ge, gt = generator_pair if generator_pair is not None else (None, None)
    assert_bitwise(
        ember.rand(5, generator=ge, dtype=ember.float64),
        torch.rand(5, generator=gt, dtype=torch.float64),
        "next draw",
    )
    assert_bitwise(ember.rand(3, generator=ge), torch.rand(3, generator=gt), "next draw")


def run_both(make_ember, make_torch, seed: int = 0):
    """Seed both libraries, run each maker, assert the results and the following draws agree;
    return the two results."""
    ember.manual_seed(seed)
    torch.manual_seed(seed)
    e = make_ember()
    t = make_torch()
    assert_bitwise(e, t)
    assert_streams_aligned()
    return e, t
