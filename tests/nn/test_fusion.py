"""nn.utils.fusion against torch: fused conv/linear weights and biases (values, dtypes,
requires_grad), fused modules against the unfused eval-mode pair, the checks and their errors."""

from __future__ import annotations

import numpy as np
import pytest

import ember
import ember.nn.utils.fusion as EF
from tests._support.torch_ref import assert_same, to_torch, torch

TF = pytest.importorskip("torch.nn.utils.fusion")

CONVS = {  # name: (in channels, out channels, kernel, input shape without the batch)
    "Conv1d": (3, 5, 3, (3, 9)),
    "Conv2d": (3, 5, 3, (3, 7, 6)),
    "Conv3d": (2, 4, 2, (2, 4, 5, 3)),
    "ConvTranspose1d": (3, 5, 3, (3, 6)),
    "ConvTranspose2d": (3, 5, 2, (3, 4, 5)),
    "ConvTranspose3d": (2, 4, 2, (2, 3, 4, 3)),
}


def _copy_into(t_mod, e_mod) -> None:
    """torch module ``t_mod`` takes ``e_mod``'s parameters and buffers."""
    state = {k: to_torch(v) for k, v in e_mod.state_dict().items()}
    t_mod.load_state_dict(state)


def _bn_pair(dims: int, n: int, affine: bool, dtype, seed: int):
    """An eval-mode BatchNorm (ember, torch) with the same non-trivial statistics and affine."""
    name = f"BatchNorm{dims}d"
    e = getattr(ember.nn, name)(n, affine=affine, eps=1e-3).to(dtype)
    t = getattr(torch.nn, name)(n, affine=affine, eps=1e-3).to(getattr(torch, str(dtype)[6:]))
    rng = np.random.default_rng(seed)
    with ember.no_grad():
        e.running_mean.copy_(ember.tensor(rng.standard_normal(n)))
        e.running_var.copy_(ember.tensor(rng.uniform(0.3, 2.5, n)))
        if affine:
            e.weight.copy_(ember.tensor(rng.uniform(0.5, 1.5, n)))
            e.bias.copy_(ember.tensor(rng.standard_normal(n)))
    _copy_into(t, e)
    return e.eval(), t.eval()


def _conv_pair(name: str, bias: bool, dtype, seed: int):
    cin, cout, k, _ = CONVS[name]
    ember.manual_seed(seed)
    e = getattr(ember.nn, name)(cin, cout, k, bias=bias).to(dtype)
    t = getattr(torch.nn, name)(cin, cout, k, bias=bias).to(getattr(torch, str(dtype)[6:]))
    _copy_into(t, e)
    return e.eval(), t.eval()


def _input(shape, dtype, seed=7):
    a = np.random.default_rng(seed).standard_normal((2, *shape))
    return ember.tensor(a, dtype=dtype), torch.tensor(a, dtype=getattr(torch, str(dtype)[6:]))


TOL = {ember.float32: (1e-5, 1e-6), ember.float64: (1e-12, 1e-13)}
OUT_TOL = {ember.float32: (1e-4, 1e-5), ember.float64: (1e-10, 1e-11)}


@pytest.mark.parametrize("dtype", [ember.float32, ember.float64], ids=["f32", "f64"])
@pytest.mark.parametrize("affine", [True, False], ids=["affine", "plain_bn"])
@pytest.mark.parametrize("bias", [True, False], ids=["bias", "no_bias"])
@pytest.mark.parametrize("name", list(CONVS))
def test_fuse_conv_bn_eval_like_torch(name, bias, affine, dtype):
    ce, ct = _conv_pair(name, bias, dtype, seed=len(name))
    transpose = "Transpose" in name
    bne, bnt = _bn_pair(int(name[-2]), CONVS[name][1], affine, dtype, seed=3)
    fe = EF.fuse_conv_bn_eval(ce, bne, transpose=transpose)
    ft = TF.fuse_conv_bn_eval(ct, bnt, transpose=transpose)
    assert type(fe) is type(ce) and fe is not ce
    rtol, atol = TOL[dtype]
    for p, q in ((fe.weight, ft.weight), (fe.bias, ft.bias)):
        assert isinstance(p, ember.nn.Parameter)
        assert p.requires_grad == q.requires_grad
        assert_same(p, q, rtol, atol)
    # the fused layer gives the pair's output, in ember and against torch's fused layer
    xe, xt = _input(CONVS[name][3], dtype)
    rtol, atol = OUT_TOL[dtype]
    assert_same(fe(xe), bnt(ct(xt)), rtol, atol)
    assert_same(fe(xe), to_torch(bne(ce(xe))), rtol, atol)
    # the originals are left as they were
    assert (ce.bias is None) == (not bias)
    assert_same(ce.weight, ct.weight.detach(), 0, 0)


def test_fuse_conv_bn_eval_grouped_and_strided():
    ember.manual_seed(1)
    ce = ember.nn.Conv2d(4, 6, 3, stride=2, padding=1, groups=2).eval()
    ct = torch.nn.Conv2d(4, 6, 3, stride=2, padding=1, groups=2).eval()
    _copy_into(ct, ce)
    bne, bnt = _bn_pair(2, 6, True, ember.float32, seed=5)
    fe, ft = EF.fuse_conv_bn_eval(ce, bne), TF.fuse_conv_bn_eval(ct, bnt)
    assert_same(fe.weight, ft.weight)
    assert_same(fe.bias, ft.bias)
    xe, xt = _input((4, 7, 7), ember.float32)
    assert_same(fe(xe), ft(xt), 1e-4, 1e-5)


def test_fused_conv_trains_like_torch():
    ce, ct = _conv_pair("Conv2d", True, ember.float32, seed=2)
    bne, bnt = _bn_pair(2, 5, True, ember.float32, seed=4)
    fe, ft = EF.fuse_conv_bn_eval(ce, bne), TF.fuse_conv_bn_eval(ct, bnt)
    xe, xt = _input(CONVS["Conv2d"][3], ember.float32)
    fe(xe).pow(2).sum().backward()
    ft(xt).pow(2).sum().backward()
    assert_same(fe.weight.grad, ft.weight.grad, 1e-4, 1e-4)
    assert_same(fe.bias.grad, ft.bias.grad, 1e-4, 1e-4)
    assert fe.weight.grad_fn is None and ce.weight.grad is None


@pytest.mark.parametrize("transpose", [False, True])
@pytest.mark.parametrize(
    "conv_dt, bias_dt, bn_dt",
    [
        ("float16", "float16", "float32"),
        ("float32", "float64", "float32"),
        ("float32", None, "float64"),
        ("float64", "float32", "float32"),
    ],
)
def test_fuse_conv_bn_weights_dtypes_like_torch(conv_dt, bias_dt, bn_dt, transpose):
    rng = np.random.default_rng(11)
    w = rng.standard_normal((4, 4, 3, 3))
    b = rng.standard_normal(4)
    rm, rv = rng.standard_normal(4), rng.uniform(0.5, 2, 4)
    bw, bb = rng.uniform(0.5, 1.5, 4), rng.standard_normal(4)

    def args(lib):
        def mk(a, dt, rg=False):
            return lib.tensor(a, dtype=getattr(lib, dt), requires_grad=rg)

        return (
            mk(w, conv_dt, rg=True),
            None if bias_dt is None else mk(b, bias_dt),
            mk(rm, bn_dt),
            mk(rv, bn_dt),
            1e-5,
            mk(bw, bn_dt),
            mk(bb, bn_dt),
            transpose,
        )

    got, want = EF.fuse_conv_bn_weights(*args(ember)), TF.fuse_conv_bn_weights(*args(torch))
    tol = 1e-3 if "float16" == conv_dt else 1e-6
    for p, q in zip(got, want):
        assert isinstance(p, ember.nn.Parameter) and p.requires_grad == q.requires_grad
        assert_same(p, q, tol, tol)


@pytest.mark.parametrize("dtype", [ember.float32, ember.float64], ids=["f32", "f64"])
@pytest.mark.parametrize("bias", [True, False], ids=["bias", "no_bias"])
@pytest.mark.parametrize("features", [4, 1], ids=["per_feature", "one_feature"])
def test_fuse_linear_bn_eval_like_torch(features, bias, dtype):
    ember.manual_seed(3)
    le = ember.nn.Linear(5, 4, bias=bias).to(dtype).eval()
    lt = torch.nn.Linear(5, 4, bias=bias).to(getattr(torch, str(dtype)[6:])).eval()
    _copy_into(lt, le)
    bne, bnt = _bn_pair(1, features, True, dtype, seed=8)
    fe, ft = EF.fuse_linear_bn_eval(le, bne), TF.fuse_linear_bn_eval(lt, bnt)
    assert type(fe) is ember.nn.Linear and fe is not le
    rtol, atol = TOL[dtype]
    for p, q in ((fe.weight, ft.weight), (fe.bias, ft.bias)):
        assert isinstance(p, ember.nn.Parameter) and p.requires_grad == q.requires_grad
        assert_same(p, q, rtol, atol)
    xe, xt = _input((5,), dtype)
    rtol, atol = OUT_TOL[dtype]
    assert_same(fe(xe), ft(xt), rtol, atol)
    if features == 4:  # BatchNorm1d over (N, C) is the per-feature map the fusion folds in
        assert_same(fe(xe), to_torch(bne(le(xe))), rtol, atol)


@pytest.mark.parametrize("lin_dt, bias_dt", [("float16", "float16"), ("float32", None)])
def test_fuse_linear_bn_weights_dtypes_like_torch(lin_dt, bias_dt):
    rng = np.random.default_rng(12)
    w, b = rng.standard_normal((3, 6)), rng.standard_normal(3)
    rm, rv = rng.standard_normal(3), rng.uniform(0.5, 2, 3)
    bw, bb = rng.uniform(0.5, 1.5, 3), rng.standard_normal(3)

    def args(lib):
        def mk(a, dt="float32", rg=False):
            return lib.tensor(a, dtype=getattr(lib, dt), requires_grad=rg)

        bias = None if bias_dt is None else mk(b, bias_dt, rg=True)
        return mk(w, lin_dt), bias, mk(rm), mk(rv), 1e-5, mk(bw), mk(bb)

    got, want = EF.fuse_linear_bn_weights(*args(ember)), TF.fuse_linear_bn_weights(*args(torch))
    tol = 1e-3 if lin_dt == "float16" else 1e-6
    for p, q in zip(got, want):
        assert isinstance(p, ember.nn.Parameter) and p.requires_grad == q.requires_grad
        assert_same(p, q, tol, tol)


def _raises_like(fn_e, args_e, fn_t, args_t, exc=None):
    """Both calls raise the same exception type; returns (ember's message, torch's)."""
    with pytest.raises(BaseException) as want:
        fn_t(*args_t)
    with pytest.raises(type(want.value)) as got:
        fn_e(*args_e)
    if exc is not None:
        assert type(want.value) is exc
    return str(got.value), str(want.value)


@pytest.mark.parametrize("kind", ["conv", "linear"])
@pytest.mark.parametrize("which", ["layer", "bn"])
def test_fusion_only_in_eval_mode(which, kind):
    if kind == "conv":
        le, lt = _conv_pair("Conv2d", True, ember.float32, seed=1)
        fuse_e, fuse_t = EF.fuse_conv_bn_eval, TF.fuse_conv_bn_eval
        bne, bnt = _bn_pair(2, 5, True, ember.float32, seed=1)
    else:
        le, lt = ember.nn.Linear(3, 5).eval(), torch.nn.Linear(3, 5).eval()
        fuse_e, fuse_t = EF.fuse_linear_bn_eval, TF.fuse_linear_bn_eval
        bne, bnt = _bn_pair(1, 5, True, ember.float32, seed=1)
    (le if which == "layer" else bne).train()
    (lt if which == "layer" else bnt).train()
    got, want = _raises_like(fuse_e, (le, bne), fuse_t, (lt, bnt), AssertionError)
    assert got == want == "Fusion only for eval!"


def test_fusion_needs_running_stats():
    ce, ct = _conv_pair("Conv1d", True, ember.float32, seed=1)
    bne = ember.nn.BatchNorm1d(5, track_running_stats=False).eval()
    bnt = torch.nn.BatchNorm1d(5, track_running_stats=False).eval()
    got, want = _raises_like(
        EF.fuse_conv_bn_eval, (ce, bne), TF.fuse_conv_bn_eval, (ct, bnt), AssertionError
    )
    assert got == want
    le, lt = ember.nn.Linear(3, 5).eval(), torch.nn.Linear(3, 5).eval()
    got, want = _raises_like(EF.fuse_linear_bn_eval, (le, bne), TF.fuse_linear_bn_eval, (lt, bnt))
    assert got == want == "bn.running_mean and bn.running_var must not be None"


@pytest.mark.parametrize("stats", [True, False])
def test_fuse_linear_bn_shape_check(stats):
    # the shape check comes before the running-stats check, as in torch
    le, lt = ember.nn.Linear(3, 5).eval(), torch.nn.Linear(3, 5).eval()
    bne = ember.nn.BatchNorm1d(4, track_running_stats=stats).eval()
    bnt = torch.nn.BatchNorm1d(4, track_running_stats=stats).eval()
    got, want = _raises_like(
        EF.fuse_linear_bn_eval, (le, bne), TF.fuse_linear_bn_eval, (lt, bnt), AssertionError
    )
    assert got == want
    assert "linear.out_features=5 and bn.num_features=4" in got


def test_fuse_linear_bn_without_affine_fails_as_torch():
    # torch's linear fusion needs the BatchNorm's weight and bias: None fails in the arithmetic
    le, lt = ember.nn.Linear(3, 5).eval(), torch.nn.Linear(3, 5).eval()
    bne, bnt = _bn_pair(1, 5, False, ember.float32, seed=2)
    _raises_like(EF.fuse_linear_bn_eval, (le, bne), TF.fuse_linear_bn_eval, (lt, bnt), TypeError)


def test_fusion_namespace_like_torch():
    assert EF.__all__ == TF.__all__
    assert ember.nn.utils.fusion is EF
    for name in TF.__all__:
        assert getattr(ember.nn.utils, name) is getattr(EF, name)
        assert hasattr(torch.nn.utils, name)
