"""Complex inputs that torch refuses (activations, rounding, special functions, remainders)
raise its exception and message in ember; the ones it computes give its values."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import ember

Z = [[1.5 + 2j, -1 - 1.5j], [3j, 2 + 0j]]

# each case: lib -> (lib, functional) -> callable on a complex tensor
REFUSED = {
    "relu": lambda L, F, x: F.relu(x),
    "torch.relu": lambda L, F, x: L.relu(x),
    "relu_": lambda L, F, x: L.relu_(x.clone()),
    "Tensor.relu": lambda L, F, x: x.relu(),
    "relu6": lambda L, F, x: F.relu6(x),
    "hardtanh": lambda L, F, x: F.hardtanh(x),
    "hardtanh_": lambda L, F, x: F.hardtanh_(x.clone()),
    "leaky_relu": lambda L, F, x: F.leaky_relu(x),
    "leaky_relu_": lambda L, F, x: F.leaky_relu_(x.clone()),
    "threshold": lambda L, F, x: F.threshold(x, 0.5, 0.0),
    "elu": lambda L, F, x: F.elu(x),
    "celu": lambda L, F, x: F.celu(x),
    "selu": lambda L, F, x: F.selu(x),
    "gelu": lambda L, F, x: F.gelu(x),
    "gelu_tanh": lambda L, F, x: F.gelu(x, approximate="tanh"),
    "softplus": lambda L, F, x: F.softplus(x),
    "hardswish": lambda L, F, x: F.hardswish(x),
    "hardsigmoid": lambda L, F, x: F.hardsigmoid(x),
    "mish": lambda L, F, x: F.mish(x),
    "logsigmoid": lambda L, F, x: F.logsigmoid(x),
    "hardshrink": lambda L, F, x: F.hardshrink(x),
    "softshrink": lambda L, F, x: F.softshrink(x),
    "prelu": lambda L, F, x: F.prelu(x, L.tensor([0.25 + 0j], dtype=x.dtype)),
    "prelu_mixed": lambda L, F, x: F.prelu(x, L.tensor([0.25])),
    "rrelu_eval": lambda L, F, x: F.rrelu(x),
    "rrelu_train": lambda L, F, x: F.rrelu(x, training=True),
    "glu": lambda L, F, x: F.glu(x, 0),
    "softmax_dim0": lambda L, F, x: F.softmax(x, 0),
    "softmax_last": lambda L, F, x: F.softmax(x, -1),
    "log_softmax_dim0": lambda L, F, x: F.log_softmax(x, 0),
    "log_softmax_last": lambda L, F, x: x.log_softmax(1),
    "softmin": lambda L, F, x: F.softmin(x, 0),
    "softmax_int": lambda L, F, x: L.softmax(L.ones(2, 2, dtype=L.int64), 0),
    "softmax_to_complex": lambda L, F, x: F.softmax(x.real, 1, dtype=x.dtype),
    "sign": lambda L, F, x: L.sign(x),
    "sign_": lambda L, F, x: x.clone().sign_(),
    "floor": lambda L, F, x: L.floor(x),
    "ceil": lambda L, F, x: L.ceil(x),
    "trunc": lambda L, F, x: L.trunc(x),
    "fix": lambda L, F, x: L.fix(x),
    "round": lambda L, F, x: L.round(x),
    "round_decimals": lambda L, F, x: L.round(x, decimals=1),
    "frac": lambda L, F, x: L.frac(x),
    "signbit": lambda L, F, x: L.signbit(x),
    "erf": lambda L, F, x: L.erf(x),
    "erfc": lambda L, F, x: L.erfc(x),
    "erfinv": lambda L, F, x: L.erfinv(x),
    "erfcx": lambda L, F, x: L.special.erfcx(x),
    "lgamma": lambda L, F, x: L.lgamma(x),
    "gammaln": lambda L, F, x: L.special.gammaln(x),
    "digamma": lambda L, F, x: L.digamma(x),
    "psi": lambda L, F, x: L.special.psi(x),
    "i0": lambda L, F, x: L.i0(x),
    "deg2rad": lambda L, F, x: L.deg2rad(x),
    "rad2deg": lambda L, F, x: L.rad2deg(x),
    "fmod": lambda L, F, x: L.fmod(x, x.flip(0)),
    "fmod_number": lambda L, F, x: L.fmod(x, 2),
    "remainder": lambda L, F, x: L.remainder(x, 2),
    "mod_operator": lambda L, F, x: x % 2,
    "floordiv_operator": lambda L, F, x: x // 2,
    "floor_divide": lambda L, F, x: L.floor_divide(x, x.flip(0)),
    "div_floor": lambda L, F, x: L.div(x, x.flip(0), rounding_mode="floor"),
    "div_trunc": lambda L, F, x: L.div(x, x.flip(0), rounding_mode="trunc"),
    "copysign": lambda L, F, x: L.copysign(x, x.flip(0)),
    "nextafter": lambda L, F, x: L.nextafter(x, x.flip(0)),
    "atan2": lambda L, F, x: L.atan2(x, x.flip(0)),
    "atan2_mixed": lambda L, F, x: L.atan2(x, x.real),
    "hypot": lambda L, F, x: L.hypot(x, x.flip(0)),
    "logaddexp2": lambda L, F, x: L.logaddexp2(x, x.flip(0)),
    "heaviside": lambda L, F, x: L.heaviside(x, x),
    "heaviside_mixed": lambda L, F, x: L.heaviside(x.real, x),
    # the special functions: real kernels, which dropped the imaginary part
    "ndtr": lambda L, F, x: L.special.ndtr(x),
    "ndtri": lambda L, F, x: L.special.ndtri(x),
    "log_ndtr": lambda L, F, x: L.special.log_ndtr(x),
    "entr": lambda L, F, x: L.special.entr(x),
    "i0e": lambda L, F, x: L.special.i0e(x),
    "i1": lambda L, F, x: L.special.i1(x),
    "i1e": lambda L, F, x: L.special.i1e(x),
    "airy_ai": lambda L, F, x: L.special.airy_ai(x),
    "bessel_j0": lambda L, F, x: L.special.bessel_j0(x),
    "bessel_y1": lambda L, F, x: L.special.bessel_y1(x),
    "modified_bessel_k0": lambda L, F, x: L.special.modified_bessel_k0(x),
    "scaled_modified_bessel_k1": lambda L, F, x: L.special.scaled_modified_bessel_k1(x),
    "spherical_bessel_j0": lambda L, F, x: L.special.spherical_bessel_j0(x),
    "polygamma_0": lambda L, F, x: L.polygamma(0, x),
    "polygamma_1": lambda L, F, x: L.polygamma(1, x),
    "polygamma_3": lambda L, F, x: L.special.polygamma(3, x),
    "mvlgamma": lambda L, F, x: L.mvlgamma(x, 2),
    "logit": lambda L, F, x: L.logit(x),
    "xlogy": lambda L, F, x: L.xlogy(x, x.flip(0)),
    "xlogy_real_first": lambda L, F, x: L.xlogy(x.real, x),
    "xlogy_number": lambda L, F, x: L.xlogy(2j, x.real),
    "xlog1py": lambda L, F, x: L.special.xlog1py(x.real, x),
    "zeta": lambda L, F, x: L.special.zeta(x, x.real),
    "igamma": lambda L, F, x: L.igamma(x.real, x),
    "igammac": lambda L, F, x: L.igammac(x, x.real),
    "gammainc": lambda L, F, x: L.special.gammainc(x.real, x),
    "gammaincc": lambda L, F, x: L.special.gammaincc(x, x.real),
    "chebyshev_t": lambda L, F, x: L.special.chebyshev_polynomial_t(x, x.real),
    "hermite_h": lambda L, F, x: L.special.hermite_polynomial_h(x.real, x),
}


def _outcome(lib, fn, dtype):
    F = lib.nn.functional
    x = lib.tensor(Z, dtype=getattr(lib, dtype))
    try:
        return fn(lib, F, x)
    except Exception as e:  # noqa: BLE001 - the exception itself is compared
        return e


@pytest.mark.parametrize("dtype", ["complex64", "complex128"])
@pytest.mark.parametrize("case", sorted(REFUSED))
def test_refused_like_torch(case, dtype):
    expected = _outcome(torch, REFUSED[case], dtype)
    assert isinstance(expected, Exception), f"torch computes {case}; move it to COMPUTED"
    with pytest.raises(type(expected)) as got:
        REFUSED[case](ember, ember.nn.functional, ember.tensor(Z, dtype=getattr(ember, dtype)))
    assert str(got.value) == str(expected)


COMPUTED = {
    "sigmoid": lambda L, F, x: F.sigmoid(x),
    "tanh": lambda L, F, x: L.tanh(x),
    "silu": lambda L, F, x: F.silu(x),
    "softsign": lambda L, F, x: F.softsign(x),
    "tanhshrink": lambda L, F, x: F.tanhshrink(x),
    "sgn": lambda L, F, x: L.sgn(x),
    "logaddexp": lambda L, F, x: L.logaddexp(x, x.flip(0) * 3),
    "logcumsumexp_0": lambda L, F, x: L.logcumsumexp(x * 4, 0),
    "logcumsumexp_1": lambda L, F, x: L.logcumsumexp(x * 4, 1),
    "softmax_empty": lambda L, F, x: F.softmax(x[:0], 0),
}


@pytest.mark.parametrize("dtype", ["complex64", "complex128"])
@pytest.mark.parametrize("case", sorted(COMPUTED))
def test_computed_like_torch(case, dtype):
    expected = _outcome(torch, COMPUTED[case], dtype)
    got = _outcome(ember, COMPUTED[case], dtype)
    assert not isinstance(expected, Exception), expected
    assert not isinstance(got, Exception), got
    assert str(got.dtype) == str(expected.dtype)
    tol = 1e-5 if dtype == "complex64" else 1e-12
    np.testing.assert_allclose(got.numpy(), expected.numpy(), rtol=tol, atol=tol)


def _both(fn):
    out = []
    for lib in (torch, ember):
        try:
            fn(lib)
        except Exception as e:  # noqa: BLE001 - the exception itself is compared
            out.append(e)
        else:
            out.append(None)
    return out


MISC = {
    "isclose_c64_c128": lambda L: L.isclose(L.tensor([1j]), L.tensor([1j], dtype=L.complex128)),
    "isclose_f32_f64": lambda L: L.isclose(L.ones(2), L.ones(2, dtype=L.float64)),
    "isclose_f32_i64": lambda L: L.isclose(L.ones(2), L.ones(2, dtype=L.int64)),
    "isclose_number": lambda L: L.isclose(L.ones(2), 1.0),
    "allclose_f32_f64": lambda L: L.allclose(L.ones(2), L.ones(2, dtype=L.float64)),
    "allclose_number_first": lambda L: L.allclose(1.0, L.ones(2)),
    "detach_view": lambda L: L.ones(4)[:2].detach_(),
    "detach_view_grad": lambda L: L.ones(4, requires_grad=True).view(2, 2).detach_(),
    "detach_detached_view": lambda L: L.ones(4, requires_grad=True).detach()[1:].detach_(),
    "celu_alpha_0": lambda L: L.nn.functional.celu(L.ones(2), 0.0),
    "prelu_f64_f32": lambda L: L.nn.functional.prelu(L.ones(2, 2, dtype=L.float64), L.ones(1)),
    "softmax_int_last": lambda L: L.softmax(L.ones(2, 2, dtype=L.int64), 1),
}


@pytest.mark.parametrize("case", sorted(MISC))
def test_misc_errors_like_torch(case):
    expected, got = _both(MISC[case])
    assert expected is not None
    assert type(got) is type(expected)
    assert str(got) == str(expected)


@pytest.mark.parametrize(
    "fn",
    [
        lambda L: L.ones(2).detach_(),
        lambda L: (L.ones(2, requires_grad=True) * 2).detach_(),
        lambda L: L.ones(2, requires_grad=True).detach().detach_(),
        lambda L: L.isclose(L.ones(2), L.ones(2)),
        lambda L: L.softmax(L.ones(0, 2, dtype=L.int64), 1),
    ],
)
def test_still_allowed(fn):
    assert _both(fn) == [None, None]
