"""Autocast against torch on the CPU: the dtype each listed op gives inside an autocast region
(bfloat16 for the lower-precision list, float32 for the fp32 list, untouched for other ops), the
values and the gradients that flow back through the casts, the state functions, the context
manager's nesting and thread-locality, the deprecated spellings and their warnings."""

from __future__ import annotations

import threading
import warnings

import numpy as np
import pytest

import ember
import ember.nn.functional as F
from tests._support.torch_ref import torch

TF = torch.nn.functional
RNG = np.random.default_rng(0)


def arr(*shape):
    return RNG.standard_normal(shape).astype(np.float32)


M44, V4, M34 = arr(4, 4), arr(4), arr(3, 4)
B244 = arr(2, 4, 4)
X3, W3 = arr(2, 3, 8), arr(4, 3, 3)
X4, W4 = arr(2, 3, 8, 8), arr(4, 3, 3, 3)
X5, W5 = arr(1, 3, 4, 4, 4), arr(2, 3, 3, 3, 3)
TGT = np.array([0, 1, 2, 3])
PROB = RNG.uniform(0.05, 0.95, (4, 4)).astype(np.float32)
SIGN = np.sign(M44).astype(np.float32)

# name -> (function of the module ember or torch and the function namespace, input arrays)
# each case runs with the first input in float32 and in bfloat16 (the others float32)
CASES = {
    # lower-precision list
    "matmul": (lambda m, f, a, b: m.matmul(a, b), (M44, M44)),
    "matmul_op": (lambda m, f, a, b: a @ b, (M44, M44)),
    "mm": (lambda m, f, a, b: m.mm(a, b), (M44, M44)),
    "bmm": (lambda m, f, a, b: m.bmm(a, b), (B244, B244)),
    "addmm": (lambda m, f, a, b, c: m.addmm(a, b, c), (M44, M44, M44)),
    "baddbmm": (lambda m, f, a, b, c: m.baddbmm(a, b, c), (B244, B244, B244)),
    "addbmm": (lambda m, f, a, b, c: m.addbmm(a, b, c), (M44, B244, B244)),
    "linear": (lambda m, f, a, w, b: f.linear(a, w, b), (M34, M44, V4)),
    "linear_nobias": (lambda m, f, a, w: f.linear(a, w), (M34, M44)),
    "conv1d": (lambda m, f, x, w: f.conv1d(x, w), (X3, W3)),
    "conv2d": (lambda m, f, x, w: f.conv2d(x, w, padding=1), (X4, W4)),
    "conv3d": (lambda m, f, x, w: f.conv3d(x, w), (X5, W5)),
    "conv_transpose1d": (lambda m, f, x, w: f.conv_transpose1d(x, w), (X3, arr(3, 4, 3))),
    "conv_transpose2d": (lambda m, f, x, w: f.conv_transpose2d(x, w), (X4, arr(3, 4, 3, 3))),
    "prelu": (lambda m, f, x, w: f.prelu(x, w), (M44, np.array([0.25], np.float32))),
    "sdpa": (lambda m, f, q, k, v: f.scaled_dot_product_attention(q, k, v), (B244, B244, B244)),
    "einsum": (lambda m, f, a, b: m.einsum("bij,bjk->bik", a, b), (B244, B244)),
    # fp32 list
    "mse_loss": (lambda m, f, a, b: f.mse_loss(a, b), (M44, M44)),
    "l1_loss": (lambda m, f, a, b: f.l1_loss(a, b), (M44, M44)),
    "smooth_l1_loss": (lambda m, f, a, b: f.smooth_l1_loss(a, b), (M44, M44)),
    "huber_loss": (lambda m, f, a, b: f.huber_loss(a, b), (M44, M44)),
    "cross_entropy": (lambda m, f, a: f.cross_entropy(a, m.tensor(TGT)), (M44,)),
    "cross_entropy_probs": (lambda m, f, a, p: f.cross_entropy(a, p), (M44, PROB)),
    "nll_loss": (lambda m, f, a: f.nll_loss(a, m.tensor(TGT)), (M44,)),
    "bce": (lambda m, f, a, b: f.binary_cross_entropy(a, b), (PROB, PROB)),
    "bce_logits": (lambda m, f, a, b: f.binary_cross_entropy_with_logits(a, b), (M44, PROB)),
    "kl_div": (lambda m, f, a, b: f.kl_div(a, b, reduction="batchmean"), (M44, PROB)),
    "soft_margin": (lambda m, f, a, b: f.soft_margin_loss(a, b), (M44, SIGN)),
    "hinge_embedding": (lambda m, f, a, b: f.hinge_embedding_loss(a, b), (M44, SIGN)),
    "margin_ranking": (lambda m, f, a, b, y: f.margin_ranking_loss(a, b, y), (V4, V4, SIGN[0])),
    "cosine_embedding": (
        lambda m, f, a, b, y: f.cosine_embedding_loss(a, b, y),
        (M44, M44, SIGN[0]),
    ),
    "triplet_margin": (lambda m, f, a, b, c: f.triplet_margin_loss(a, b, c), (M44, M44, M44)),
    "poisson_nll": (lambda m, f, a, b: f.poisson_nll_loss(a, b), (M44, PROB)),
    "gaussian_nll": (lambda m, f, a, b, v: f.gaussian_nll_loss(a, b, v), (M44, M44, PROB)),
    "prod": (lambda m, f, a: m.prod(a), (M44,)),
    "trace": (lambda m, f, a: m.trace(a), (M44,)),
    "cdist": (lambda m, f, a, b: m.cdist(a, b), (M44, M34)),
    "reflection_pad": (lambda m, f, x: f.pad(x, (1, 1, 1, 1), mode="reflect"), (X4,)),
    "replication_pad": (lambda m, f, x: f.pad(x, (1, 1, 1, 1), mode="replicate"), (X4,)),
    "max_pool3d": (lambda m, f, x: f.max_pool3d(x, 2), (X5,)),
    "avg_pool3d": (lambda m, f, x: f.avg_pool3d(x, 2), (X5,)),
    "adaptive_avg_pool3d": (lambda m, f, x: f.adaptive_avg_pool3d(x, 1), (X5,)),
    # neither list: the dtype the inputs give
    "max_pool2d": (lambda m, f, x: f.max_pool2d(x, 2), (X4,)),
    "avg_pool2d": (lambda m, f, x: f.avg_pool2d(x, 2), (X4,)),
    "softmax": (lambda m, f, a: m.softmax(a, 1), (M44,)),
    "log_softmax": (lambda m, f, a: m.log_softmax(a, 1), (M44,)),
    "layer_norm": (lambda m, f, a: f.layer_norm(a, (4,)), (M44,)),
    "relu": (lambda m, f, a: f.relu(a), (M44,)),
    "gelu": (lambda m, f, a: f.gelu(a), (M44,)),
    "constant_pad": (lambda m, f, x: f.pad(x, (1, 1)), (X4,)),
    "sum": (lambda m, f, a: m.sum(a), (M44,)),
    "mv": (lambda m, f, a, v: m.mv(a, v), (M44, V4)),
    "dot": (lambda m, f, a, b: m.dot(a, b), (V4, V4)),
    "add": (lambda m, f, a, b: a + b, (M44, M44)),
}


def _run(name, lib, first_bf16, grad):
    fn, arrays = CASES[name]
    m, f = (ember, F) if lib == "ember" else (torch, TF)
    ts = []
    for i, a in enumerate(arrays):
        t = m.tensor(a)
        if i == 0 and first_bf16:
            t = t.to(m.bfloat16)
        if grad and t.is_floating_point():
            t.requires_grad_()
        ts.append(t)
    with m.autocast("cpu"):
        out = fn(m, f, *ts)
    return out, ts


@pytest.mark.parametrize("first_bf16", [False, True], ids=["f32", "bf16"])
@pytest.mark.parametrize("name", list(CASES))
def test_op_dtype_and_values_inside_autocast(name, first_bf16):
    try:
        t, _ = _run(name, "torch", first_bf16, False)
    except RuntimeError:  # torch refuses the mixed dtypes (mv, dot: on no list, so not cast)
        with pytest.raises(RuntimeError):
            _run(name, "ember", first_bf16, False)
        return
    e, _ = _run(name, "ember", first_bf16, False)
    assert str(e.dtype) == str(t.dtype)
    got = e.float().numpy()
    want = t.float().numpy()
    tol = 3e-2 if t.dtype == torch.bfloat16 or first_bf16 else 1e-4
    np.testing.assert_allclose(got, want, rtol=tol, atol=tol * max(1.0, np.abs(want).max()))


@pytest.mark.parametrize(
    "name", ["matmul", "linear", "conv2d", "mse_loss", "cross_entropy", "bce_logits", "einsum"]
)
def test_gradients_flow_back_through_the_casts(name):
    e, ets = _run(name, "ember", False, True)
    t, tts = _run(name, "torch", False, True)
    e.float().sum().backward()
    t.float().sum().backward()
    for a, b in zip(ets, tts):
        if b.grad is None:
            assert a.grad is None
            continue
        assert str(a.grad.dtype) == str(b.grad.dtype) == "torch.float32"
        np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=3e-2, atol=3e-2)


def test_float64_and_integer_inputs_are_not_cast():
    a = ember.randn(3, 3, dtype=ember.float64)
    with ember.autocast("cpu"):
        assert ember.mm(a, a).dtype == ember.float64
        assert F.mse_loss(a, a).dtype == ember.float64
        i = ember.arange(4)
        assert ember.prod(i).dtype == ember.int64


def test_outside_and_disabled_regions_do_not_cast():
    a = ember.randn(3, 3)
    assert ember.mm(a, a).dtype == ember.float32
    with ember.autocast("cpu"):
        with ember.autocast("cpu", enabled=False):
            assert ember.mm(a, a).dtype == ember.float32
            assert not ember.is_autocast_enabled("cpu")
        assert ember.mm(a, a).dtype == ember.bfloat16
    assert ember.mm(a, a).dtype == ember.float32
    # a CUDA region leaves CPU tensors alone (and disables itself without a GPU)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with ember.autocast("cuda"):
            assert ember.mm(a, a).dtype == ember.float32


def test_cpu_float16_region_casts_to_float16_as_torch():
    a = np.ones((2, 2), np.float32)
    with ember.autocast("cpu", dtype=ember.float16):
        e = ember.mm(ember.tensor(a), ember.tensor(a))
        assert ember.get_autocast_dtype("cpu") == ember.float16
    with torch.autocast("cpu", dtype=torch.float16):
        t = torch.mm(torch.tensor(a), torch.tensor(a))
    assert str(e.dtype) == str(t.dtype) == "torch.float16"
    assert ember.get_autocast_dtype("cpu") == ember.bfloat16


def test_state_functions_match_torch():
    for m in (ember, torch):
        assert m.is_autocast_enabled() is False
        assert m.is_autocast_enabled("cpu") is False
        assert str(m.get_autocast_dtype("cpu")) == "torch.bfloat16"
        assert str(m.get_autocast_dtype("cuda")) == "torch.float16"
        assert str(m.get_autocast_cpu_dtype()) == "torch.bfloat16"
        assert str(m.get_autocast_gpu_dtype()) == "torch.float16"
        assert m.is_autocast_cache_enabled() is True
        assert m.is_autocast_cpu_enabled() is False
        with m.autocast("cpu"):
            assert m.is_autocast_enabled("cpu") and m.is_autocast_cpu_enabled()
            assert m.is_autocast_enabled() is False  # no argument: CUDA
        m.set_autocast_enabled("cpu", True)
        assert m.is_autocast_enabled("cpu")
        m.set_autocast_enabled("cpu", False)
        assert m.autocast_increment_nesting() == 1
        assert m.autocast_decrement_nesting() == 0
        assert m.amp.is_autocast_available("cpu") and m.amp.is_autocast_available("cuda")
    assert ember.autocast is ember.amp.autocast


@pytest.mark.parametrize(
    "call",
    [
        lambda m: m.amp.autocast(1),
        lambda m: m.amp.autocast("foo"),
        lambda m: m.is_autocast_enabled("foo"),
        lambda m: m.amp.autocast("cpu")(3),
    ],
)
def test_errors_match_torch(call):
    with pytest.raises(Exception) as te:
        call(torch)
    with pytest.raises(type(te.value)) as ee:
        call(ember)
    assert str(ee.value) == str(te.value)


def _warnings(fn):
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        fn()
    return [(x.category, str(x.message)) for x in w]


@pytest.mark.parametrize(
    "make",
    [
        lambda m: m.amp.autocast("cpu", dtype=m.float32),
        lambda m: m.cuda.amp.autocast(),
        lambda m: m.cpu.amp.autocast(),
        lambda m: m.autocast("cuda"),
    ],
)
def test_warnings_match_torch(make):
    assert _warnings(lambda: make(ember)) == _warnings(lambda: make(torch))


def test_unsupported_cpu_dtype_disables_the_region():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ctx = ember.autocast("cpu", dtype=ember.float32)
    a = ember.randn(2, 2)
    with ctx:
        assert not ember.is_autocast_enabled("cpu")
        assert ember.mm(a, a).dtype == ember.float32


def test_deprecated_spellings_default_dtypes():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        c = ember.cpu.amp.autocast()
        g = ember.cuda.amp.autocast(enabled=False)
    assert c.fast_dtype == ember.bfloat16 and c.device == "cpu"
    assert g.fast_dtype == ember.float16 and g.device == "cuda"
    a = ember.randn(2, 2)
    with c:
        assert ember.mm(a, a).dtype == ember.bfloat16


def test_decorator_and_nesting_restore_state():
    @ember.autocast("cpu")
    def f(a):
        assert ember.is_autocast_enabled("cpu")
        return ember.mm(a, a)

    a = ember.randn(2, 2)
    assert f(a).dtype == ember.bfloat16
    assert not ember.is_autocast_enabled("cpu")
    for m in (ember, torch):  # an inner region without dtype takes the current one, as torch
        with m.autocast("cpu", dtype=m.float16):
            with m.autocast("cpu", dtype=m.bfloat16):
                assert m.get_autocast_dtype("cpu") == m.bfloat16
                with m.autocast("cpu"):
                    assert m.get_autocast_dtype("cpu") == m.bfloat16
            assert m.get_autocast_dtype("cpu") == m.float16
            with m.autocast("cpu"):
                assert m.get_autocast_dtype("cpu") == m.float16
        assert m.get_autocast_dtype("cpu") == m.bfloat16
    try:
        with ember.autocast("cpu"):
            raise KeyError
    except KeyError:
        pass
    assert not ember.is_autocast_enabled("cpu")


def test_state_is_thread_local():
    seen = []
    with ember.autocast("cpu"):
        th = threading.Thread(target=lambda: seen.append(ember.is_autocast_enabled("cpu")))
        th.start()
        th.join()
        assert ember.is_autocast_enabled("cpu")
    assert seen == [False]


def test_custom_fwd_casts_inputs_and_runs_forward_without_autocast():
    class Sq(ember.autograd.Function):
        @staticmethod
        @ember.amp.custom_fwd(device_type="cpu", cast_inputs=ember.float32)
        def forward(ctx, x):
            ctx.inner = ember.is_autocast_enabled("cpu")
            ctx.save_for_backward(x)
            return ember.mm(x, x)

        @staticmethod
        @ember.amp.custom_bwd(device_type="cpu")
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return g @ x.T + x.T @ g

    x = ember.randn(3, 3).to(ember.bfloat16).requires_grad_()
    with ember.autocast("cpu"):
        y = Sq.apply(x)
    assert y.dtype == ember.float32
    y.sum().backward()
    assert x.grad.dtype == ember.bfloat16


def test_nanogpt_autocast_pattern_trains_on_cpu():
    """nanoGPT's `ctx = nullcontext() if device_type == 'cpu' else torch.amp.autocast(...)` with
    the CPU region on: a small model's loss in autocast, backward, step."""
    ember.manual_seed(0)
    model = ember.nn.Sequential(ember.nn.Linear(8, 16), ember.nn.GELU(), ember.nn.Linear(16, 4))
    opt = ember.optim.AdamW(model.parameters(), lr=1e-2)
    x, y = ember.randn(32, 8), ember.randint(0, 4, (32,))
    losses = []
    for _ in range(20):
        with ember.amp.autocast(device_type="cpu", dtype=ember.bfloat16):
            logits = model(x)
            loss = F.cross_entropy(logits, y)
        assert logits.dtype == ember.bfloat16 and loss.dtype == ember.float32
        opt.zero_grad(set_to_none=True)
        loss.backward()
        assert all(p.grad.dtype == ember.float32 for p in model.parameters())
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < losses[0] * 0.8


@pytest.mark.parametrize(
    "call",
    [
        lambda m: m.is_autocast_cpu_enabled(),
        lambda m: m.set_autocast_cpu_enabled(False),
        lambda m: m.get_autocast_cpu_dtype(),
        lambda m: m.set_autocast_cpu_dtype(m.bfloat16),
        lambda m: m.get_autocast_gpu_dtype(),
        lambda m: m.set_autocast_gpu_dtype(m.float16),
    ],
)
def test_deprecated_state_functions_warn_as_torch(call):
    (e,) = _warnings(lambda: call(ember))
    (t,) = _warnings(lambda: call(torch))
    assert e[0] is t[0] is DeprecationWarning
    assert t[1].startswith(e[1])  # torch appends where in its C++ it warned


@pytest.mark.parametrize("path", ["amp", "cuda.amp", "cpu", "cpu.amp"])
def test_missing_names_in_the_amp_modules_name_the_torch_api(path):
    mod = ember
    for part in path.split("."):
        mod = getattr(mod, part)
    msg = f"ember does not implement torch.{path}.nope yet"
    with pytest.raises(NotImplementedError, match=msg):
        mod.nope  # noqa: B018
    assert not hasattr(mod, "nope")


def test_float64_gradcheck_inside_a_region():
    """float64 passes through the casts: finite differences agree inside a CPU region."""
    x = ember.randn(3, 4, dtype=ember.float64, requires_grad=True)
    w = ember.randn(2, 4, dtype=ember.float64, requires_grad=True)
    with ember.autocast("cpu"):
        assert ember.autograd.gradcheck(lambda a, b: F.mse_loss(F.linear(a, b), a[:, :2]), (x, w))


@pytest.mark.parametrize(
    "name", ["conv2d", "conv3d", "conv_transpose2d", "linear", "addmm", "max_pool2d", "softmax"]
)
def test_bfloat16_ops_and_gradients_match_torch_outside_a_region(name):
    """The bfloat16 paths autocast leans on (convolutions and products accumulated in float32
    and rounded once, max pooling, softmax) agree with torch's bfloat16 ops, gradients too."""
    fn, arrays = CASES[name]
    res = []
    for m, f in ((ember, F), (torch, TF)):
        ts = [m.tensor(a).to(m.bfloat16).requires_grad_() for a in arrays]
        out = fn(m, f, *ts)
        out.float().sum().backward()
        res.append((str(out.dtype), out.float().detach().numpy(), [t.grad for t in ts]))
    assert res[0][0] == res[1][0] == "torch.bfloat16"
    np.testing.assert_allclose(res[0][1], res[1][1], rtol=2e-2, atol=5e-2)
    for ge, gt in zip(res[0][2], res[1][2]):
        assert str(ge.dtype) == str(gt.dtype)
        np.testing.assert_allclose(ge.float().numpy(), gt.float().numpy(), rtol=2e-2, atol=1e-1)
