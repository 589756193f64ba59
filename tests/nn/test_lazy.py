"""Lazy modules (LazyLinear, LazyConv*, LazyConvTranspose*, LazyBatchNorm*, LazyInstanceNorm*),
UninitializedParameter / UninitializedBuffer, LazyModuleMixin and nn.utils.skip_init against
torch: the same seed materialises the same weights, the class change, state dicts both ways
(also through files), the errors with torch's types and messages, optimizers."""

from __future__ import annotations

import copy
import io
import pickle
import re

import numpy as np
import pytest

import ember
import ember.nn as nn
from ember.nn.modules.lazy import LazyModuleMixin
from ember.nn.parameter import is_lazy
from tests._support.same_stream import assert_bitwise, assert_streams_aligned
from tests._support.torch_ref import assert_same, torch

tnn = torch.nn

# (constructor, input shape); the constructor is evaluated with nn/float64 of each library
CASES = [
    ("LazyLinear(3)", (2, 5)),
    ("LazyLinear(4, bias=False)", (3, 2, 6)),
    ("LazyLinear(3, dtype=float64)", (2, 5)),
    ("LazyConv1d(4, 3)", (2, 3, 8)),
    ("LazyConv1d(4, 3, padding=1, padding_mode='reflect')", (3, 8)),
    ("LazyConv2d(4, 3, stride=2, padding=1, groups=2)", (2, 4, 7, 7)),
    ("LazyConv2d(5, (3, 2), bias=False)", (3, 6, 6)),
    ("LazyConv3d(2, 2)", (1, 3, 4, 4, 4)),
    ("LazyConvTranspose1d(4, 3, stride=2)", (2, 3, 5)),
    ("LazyConvTranspose2d(4, 3, stride=2, output_padding=1, groups=2)", (1, 2, 5, 5)),
    ("LazyConvTranspose3d(2, 2, bias=False)", (1, 2, 3, 3, 3)),
    ("LazyBatchNorm1d()", (4, 3)),
    ("LazyBatchNorm1d(momentum=None, dtype=float64)", (4, 3, 5)),
    ("LazyBatchNorm2d()", (2, 3, 4, 4)),
    ("LazyBatchNorm3d(affine=False)", (2, 2, 3, 3, 3)),
    ("LazyBatchNorm2d(track_running_stats=False, bias=False)", (2, 3, 4, 4)),
    ("LazyInstanceNorm1d()", (2, 3, 6)),
    ("LazyInstanceNorm2d(affine=False)", (2, 3, 4, 4)),
    ("LazyInstanceNorm3d(track_running_stats=False)", (1, 2, 3, 3, 3)),
]
IDS = [c for c, _ in CASES]


def _make(lib, expr: str):
    mod = ember if lib is nn else torch
    return eval("nn." + expr, {"nn": lib, "float64": mod.float64})


def _input(shape, dtype=np.float32, seed: int = 0):
    arr = np.random.default_rng(seed).standard_normal(shape).astype(dtype)
    return ember.tensor(arr), torch.from_numpy(arr.copy())


def _pair(expr: str, seed: int = 7):
    """The ember and the torch module, built after the same seed (both still lazy)."""
    ember.manual_seed(seed)
    torch.manual_seed(seed)
    return _make(nn, expr), _make(tnn, expr)


def _run_first_forward(expr, shape):
    e, t = _pair(expr)
    dt = np.float64 if "float64" in expr else np.float32
    xe, xt = _input(shape, dt)
    ye, yt = e(xe), t(xt)
    return e, t, ye, yt, xe, xt


def _assert_same_state(e, t) -> None:
    """Parameters bit for bit, buffers (statistics a forward computed) to float rounding."""
    assert_bitwise(dict(e.named_parameters()), dict(t.named_parameters()))
    es, ts = e.state_dict(), t.state_dict()
    assert list(es) == list(ts)
    for k, v in ts.items():
        assert_same(es[k], v, rtol=1e-6, atol=1e-7)


def _msg_with_func(msg: str) -> str:
    """torch's "uninitialized parameter" message with the refused function's name left out
    (torch names a C++ dispatcher entry, ember the ember function that was called)."""
    return re.sub(r" in <.*?>\. This error", " in <F>. This error", msg)


# --- construction, repr and state before the first forward ------------------------------------


@pytest.mark.parametrize("expr", IDS)
def test_lazy_module_before_forward(expr):
    e, t = _pair(expr)
    assert repr(e) == repr(t)
    assert type(e).__name__ == type(t).__name__
    assert isinstance(e, LazyModuleMixin)
    assert e.has_uninitialized_params() == t.has_uninitialized_params()
    es, ts = e.state_dict(), t.state_dict()
    assert list(es) == list(ts)
    for k in ts:
        assert repr(es[k]) == repr(ts[k]), k
        assert is_lazy(es[k]) == tnn.parameter.is_lazy(ts[k]), k
    assert [n for n, _ in e.named_parameters()] == [n for n, _ in t.named_parameters()]
    assert [n for n, _ in e.named_buffers()] == [n for n, _ in t.named_buffers()]
    for (_, pe), (_, pt) in zip(e.named_parameters(), t.named_parameters()):
        assert type(pe).__name__ == type(pt).__name__ == "UninitializedParameter"
        assert str(pe.dtype) == str(pt.dtype)
        assert pe.requires_grad == pt.requires_grad
    # construction drew nothing from the generator (torch initialises at the first forward)
    assert_streams_aligned()


# --- the first forward: same weights, same output, the class change ---------------------------


@pytest.mark.parametrize("expr,shape", CASES, ids=IDS)
def test_first_forward_materialises_torch_weights(expr, shape):
    e, t, ye, yt, _, _ = _run_first_forward(expr, shape)
    assert_same(ye, yt, rtol=1e-5, atol=1e-5)
    # the class the module becomes, and its repr with the inferred size
    assert type(t).__name__ in dir(nn)
    assert type(e) is getattr(nn, type(t).__name__)
    assert not isinstance(e, LazyModuleMixin)
    assert repr(e) == repr(t)
    assert not hasattr(e, "_initialize_hook") and not hasattr(t, "_initialize_hook")
    # parameters bit for bit (the same draws, in the same order, as torch); the running
    # statistics the forward updated to rounding
    _assert_same_state(e, t)
    for (ne, pe), (nt, _) in zip(e.named_parameters(), t.named_parameters()):
        assert ne == nt and type(pe) is nn.Parameter and pe.requires_grad
    assert_streams_aligned()


@pytest.mark.parametrize("expr,shape", CASES, ids=IDS)
def test_gradients_of_the_second_call(expr, shape):
    """After the first call the module is the plain layer: values and gradients as torch's."""
    e, t, _, _, xe, xt = _run_first_forward(expr, shape)
    xe.requires_grad_(True)
    xt.requires_grad_(True)
    ye, yt = e(xe), t(xt)
    assert_same(ye, yt, rtol=1e-5, atol=1e-5)
    (ye**2).sum().backward()
    (yt**2).sum().backward()
    assert_same(xe.grad, xt.grad, rtol=1e-4, atol=1e-4)
    ge = {n: p.grad for n, p in e.named_parameters()}
    gt = {n: p.grad for n, p in t.named_parameters()}
    assert list(ge) == list(gt)
    for n in gt:
        assert_same(ge[n], gt[n], rtol=1e-4, atol=1e-4)


def test_type_becomes_the_non_lazy_class():
    m = nn.LazyLinear(3)
    assert type(m) is nn.LazyLinear and isinstance(m, nn.Linear)
    m(ember.ones(2, 4))
    assert type(m) is nn.Linear
    assert (m.in_features, m.out_features) == (4, 3)
    assert tuple(m.weight.shape) == (3, 4)
    c = nn.LazyConvTranspose2d(4, 3)
    c(ember.ones(1, 2, 5, 5))
    assert type(c) is nn.ConvTranspose2d
    # torch's hierarchy: the lazy norms are not instances of the non-lazy classes before
    assert not isinstance(nn.LazyBatchNorm2d(), nn.BatchNorm2d)
    assert not isinstance(tnn.LazyBatchNorm2d(), tnn.BatchNorm2d)
    assert not isinstance(nn.LazyInstanceNorm1d(), nn.InstanceNorm1d)


def test_lazy_layers_in_a_network_match_torch():
    def net(m):
        return m.Sequential(
            m.LazyConv2d(4, 3, padding=1),
            m.LazyBatchNorm2d(),
            m.ReLU(),
            m.Flatten(),
            m.LazyLinear(5),
            m.ReLU(),
            m.LazyLinear(2),
        )

    ember.manual_seed(3)
    torch.manual_seed(3)
    e, t = net(nn), net(tnn)
    assert repr(e) == repr(t)
    xe, xt = _input((2, 3, 5, 5))
    assert_same(e(xe), t(xt), rtol=1e-5, atol=1e-5)
    assert repr(e) == repr(t)
    _assert_same_state(e, t)


def test_module_conversion_before_the_first_forward():
    """dtype and device moves apply to the uninitialised tensors (the placeholders keep their
    identity), so the module materialises in the new dtype, as torch's."""
    e, t = _pair("LazyBatchNorm1d()")
    we = e.weight
    e.double()
    t.double()
    assert e.weight is we and is_lazy(we)
    assert str(e.weight.dtype) == str(t.weight.dtype) == "torch.float64"
    assert str(e.running_mean.dtype) == str(t.running_mean.dtype) == "torch.float64"
    assert is_lazy(e.running_mean) and tnn.parameter.is_lazy(t.running_mean)
    assert str(e.num_batches_tracked.dtype) == str(t.num_batches_tracked.dtype)
    xe, xt = _input((4, 3), np.float64)
    assert_same(e(xe), t(xt))
    assert_bitwise(dict(e.state_dict()), dict(t.state_dict()))
    m = nn.LazyLinear(2).to(ember.float64)
    m(ember.ones(1, 3, dtype=ember.float64))
    assert m.weight.dtype is ember.float64


def test_load_state_dict_after_materialising_by_forward():
    e, t, *_ = _run_first_forward("LazyLinear(3)", (2, 5))
    ember.manual_seed(0)
    fresh = nn.LazyLinear(3)
    assert fresh.load_state_dict(e.state_dict()) is not None
    assert_bitwise(dict(fresh.state_dict()), dict(t.state_dict()))


# --- state dicts: into an uninitialised lazy module, both directions, through files ------------


def _torch_state_as_ember(sd):
    return {k: ember.tensor(v.detach().numpy().copy()) for k, v in sd.items()}


def test_load_state_dict_materialises_with_the_loaded_shapes():
    torch.manual_seed(1)
    src = tnn.Linear(5, 3)
    e = nn.LazyLinear(3)
    t = tnn.LazyLinear(3)
    we = e.weight
    assert repr(e.load_state_dict(_torch_state_as_ember(src.state_dict()))) == repr(
        t.load_state_dict(src.state_dict())
    )
    # materialised in place, still the lazy class (in_features read at the first forward)
    assert e.weight is we and type(we) is nn.Parameter
    assert type(e) is nn.LazyLinear and type(t) is tnn.LazyLinear
    assert e.in_features == t.in_features == 0
    assert not e.has_uninitialized_params() and not t.has_uninitialized_params()
    assert_bitwise(dict(e.state_dict()), dict(t.state_dict()))
    xe, xt = _input((4, 5))
    assert_same(e(xe), t(xt))
    assert type(e) is nn.Linear and repr(e) == repr(t)
    assert_bitwise(dict(e.state_dict()), dict(src.state_dict()))


def test_load_state_dict_then_wrong_input_raises_torch_assertion():
    sd = tnn.Linear(5, 3).state_dict()
    e, t = nn.LazyLinear(3), tnn.LazyLinear(3)
    e.load_state_dict(_torch_state_as_ember(sd))
    t.load_state_dict(sd)
    with pytest.raises(AssertionError) as te:
        t(torch.ones(2, 4))
    with pytest.raises(AssertionError) as ee:
        e(ember.ones(2, 4))
    assert str(ee.value) == str(te.value)


def test_load_batchnorm_state_into_lazy_batchnorm():
    torch.manual_seed(2)
    src = tnn.BatchNorm2d(3)
    src(torch.randn(4, 3, 2, 2))  # running statistics that are not the initial ones
    e, t = nn.LazyBatchNorm2d(), tnn.LazyBatchNorm2d()
    e.load_state_dict(_torch_state_as_ember(src.state_dict()))
    t.load_state_dict(src.state_dict())
    assert_bitwise(dict(e.state_dict()), dict(t.state_dict()))
    assert type(e.running_mean) is ember.Tensor
    xe, xt = _input((2, 3, 2, 2))
    e.eval()
    t.eval()
    assert_same(e(xe), t(xt))
    # torch keeps num_features 0 when the state dict materialised the module: so does ember
    assert repr(e) == repr(t)


def test_load_partial_and_unexpected_keys_as_torch():
    e, t = nn.LazyLinear(3), tnn.LazyLinear(3)
    re_ = e.load_state_dict({"weight": ember.zeros(3, 4)}, strict=False)
    rt = t.load_state_dict({"weight": torch.zeros(3, 4)}, strict=False)
    assert repr(re_) == repr(rt)
    assert type(e.weight) is nn.Parameter and is_lazy(e.bias)
    e, t = nn.LazyLinear(3, bias=False), tnn.LazyLinear(3, bias=False)
    sd = tnn.Linear(4, 3).state_dict()
    with pytest.raises(RuntimeError) as te:
        t.load_state_dict(sd)
    with pytest.raises(RuntimeError) as ee:
        e.load_state_dict(_torch_state_as_ember(sd))
    assert str(ee.value) == str(te.value)
    assert type(e.weight) is nn.Parameter  # materialised before the key check, as torch


def test_uninitialised_into_uninitialised_and_into_initialised():
    e = nn.LazyLinear(3)
    t = tnn.LazyLinear(3)
    assert repr(e.load_state_dict(nn.LazyLinear(3).state_dict())) == repr(
        t.load_state_dict(tnn.LazyLinear(3).state_dict())
    )
    assert e.has_uninitialized_params() and t.has_uninitialized_params()
    with pytest.raises(RuntimeError) as te:
        tnn.Linear(4, 3).load_state_dict(tnn.LazyLinear(3).state_dict())
    with pytest.raises(RuntimeError) as ee:
        nn.Linear(4, 3).load_state_dict(nn.LazyLinear(3).state_dict())
    assert str(ee.value) == str(te.value)
    assert "Can't access the shape of an uninitialized parameter" in str(ee.value)


def test_materialised_state_through_files_both_ways():
    # ember -> file -> torch lazy module
    e, t, *_ = _run_first_forward("LazyConv2d(4, 3)", (2, 3, 6, 6))
    buf = io.BytesIO()
    ember.save(e.state_dict(), buf)
    buf.seek(0)
    t2 = tnn.LazyConv2d(4, 3)
    t2.load_state_dict(torch.load(buf))
    assert_bitwise(dict(e.state_dict()), dict(t2.state_dict()))
    # torch -> file -> ember lazy module
    buf = io.BytesIO()
    torch.save(t.state_dict(), buf)
    buf.seek(0)
    e2 = nn.LazyConv2d(4, 3)
    e2.load_state_dict(ember.load(buf))
    xe, xt = _input((1, 3, 6, 6), seed=5)
    assert_same(e2(xe), t2(xt), rtol=1e-5, atol=1e-5)
    assert type(e2) is nn.Conv2d and type(t2) is tnn.Conv2d


def test_uninitialised_state_through_files_both_ways():
    buf = io.BytesIO()
    ember.save(nn.LazyBatchNorm1d().state_dict(), buf)
    buf.seek(0)
    with pytest.raises(pickle.UnpicklingError):  # as for torch's own file: not a weights global
        torch.load(buf)
    buf.seek(0)
    sd = torch.load(buf, weights_only=False)
    ref = tnn.LazyBatchNorm1d().state_dict()
    assert list(sd) == list(ref)
    assert [repr(v) for v in sd.values()] == [repr(v) for v in ref.values()]
    assert type(sd["weight"]) is tnn.UninitializedParameter
    assert type(sd["running_mean"]) is tnn.UninitializedBuffer
    buf = io.BytesIO()
    torch.save(ref, buf)
    buf.seek(0)
    with pytest.raises(pickle.UnpicklingError):
        ember.load(buf)
    buf.seek(0)
    sd = ember.load(buf, weights_only=False)
    assert type(sd["weight"]) is nn.UninitializedParameter
    assert type(sd["running_var"]) is nn.UninitializedBuffer
    m = nn.LazyBatchNorm1d()
    m.load_state_dict(sd)
    assert m.has_uninitialized_params()


# --- uninitialised tensors: what works, what raises ----------------------------------------


@pytest.mark.parametrize(
    "call",
    [
        lambda lib, w: w.dim(),
        lambda lib, w: w.numel(),
        lambda lib, w: w + 1,
        lambda lib, w: w.sum(),
        lambda lib, w: w.detach(),
        lambda lib, w: w.clone(),
        lambda lib, w: w.tolist(),
        lambda lib, w: len(w),
        lambda lib, w: lib.nn.functional.linear(lib.ones(2, 2), w),
    ],
)
def test_op_on_uninitialised_parameter_raises_torch_value_error(call):
    with pytest.raises(ValueError) as te:
        call(torch, tnn.LazyLinear(3).weight)
    with pytest.raises(ValueError) as ee:
        call(ember, nn.LazyLinear(3).weight)
    assert _msg_with_func(str(ee.value)) == _msg_with_func(str(te.value))
    assert str(ee.value).startswith("Attempted to use an uninitialized parameter in <function ")


def test_uninitialised_buffer_message_names_its_class():
    with pytest.raises(ValueError) as te:
        tnn.LazyBatchNorm1d().running_mean.sum()
    with pytest.raises(ValueError) as ee:
        nn.LazyBatchNorm1d().running_mean.sum()
    assert _msg_with_func(str(ee.value)) == _msg_with_func(str(te.value))
    assert "torch.nn.parameter.UninitializedBuffer" in str(ee.value)


def test_shape_and_share_memory_raise_torch_runtime_errors():
    for get in (lambda w: w.shape, lambda w: w.share_memory_()):
        with pytest.raises(RuntimeError) as te:
            get(tnn.UninitializedParameter())
        with pytest.raises(RuntimeError) as ee:
            get(nn.UninitializedParameter())
        assert str(ee.value) == str(te.value)


def test_queries_that_work_on_uninitialised_tensors():
    e = nn.UninitializedParameter(dtype=ember.float64)
    t = tnn.UninitializedParameter(dtype=torch.float64)
    assert repr(e) == repr(t) == "<UninitializedParameter>"
    assert str(e) == str(t)
    assert str(e.dtype) == str(t.dtype)
    assert str(e.device) == str(t.device)
    assert tuple(e.size()) == tuple(t.size()) == (0,)
    assert e.ndim == t.ndim == 1
    assert e.requires_grad is t.requires_grad is True
    assert e.is_leaf and e.grad is None and e.grad_fn is None
    assert e.is_floating_point() and not e.is_complex()
    assert e.get_device() == t.get_device() == -1
    assert tuple(e.data.shape) == tuple(t.data.shape) == (0,)
    assert e.float() is not None and is_lazy(e.float())
    assert e.cpu() is e and t.cpu() is t
    assert isinstance(e, nn.Parameter) and isinstance(t, tnn.Parameter)
    b = nn.UninitializedBuffer(persistent=False)
    tb = tnn.UninitializedBuffer(persistent=False)
    assert repr(b) == repr(tb) and b.persistent is tb.persistent is False
    assert b.requires_grad is tb.requires_grad is False
    assert not isinstance(b, nn.Parameter)


def test_materialize_in_place():
    for dt in ("float32", "float64"):
        e = nn.UninitializedParameter(requires_grad=False, dtype=getattr(ember, dt))
        t = tnn.UninitializedParameter(requires_grad=False, dtype=getattr(torch, dt))
        e.materialize((2, 3))
        t.materialize((2, 3))
        assert type(e) is nn.Parameter and type(t) is tnn.Parameter
        assert tuple(e.shape) == tuple(t.shape) and str(e.dtype) == str(t.dtype)
        assert e.requires_grad is t.requires_grad is False
    e = nn.UninitializedBuffer()
    e.materialize((4,), dtype=ember.float16)
    assert type(e) is ember.Tensor and e.dtype is ember.float16 and tuple(e.shape) == (4,)
    with pytest.raises(RuntimeError) as te:
        tnn.UninitializedParameter().materialize((2,), dtype=torch.int64)
    with pytest.raises(RuntimeError) as ee:
        nn.UninitializedParameter().materialize((2,), dtype=ember.int64)
    assert str(ee.value) == str(te.value)


def test_uninitialised_buffer_assigned_registers_as_buffer():
    for lib in (nn, tnn):
        m = lib.Module()
        m.stats = lib.UninitializedBuffer(persistent=False)
        m.kept = lib.UninitializedBuffer()
        assert list(dict(m.named_buffers())) == ["stats", "kept"]
        assert m._non_persistent_buffers_set == {"stats"}
    # a plain Module's state_dict detaches its tensors, which an uninitialised one refuses
    with pytest.raises(ValueError) as te:
        tm = tnn.Module()
        tm.kept = tnn.UninitializedBuffer()
        tm.state_dict()
    with pytest.raises(ValueError) as ee:
        em = nn.Module()
        em.kept = nn.UninitializedBuffer()
        em.state_dict()
    assert _msg_with_func(str(ee.value)) == _msg_with_func(str(te.value))


def test_pickle_and_deepcopy_of_an_uninitialised_lazy_module():
    for lib in (nn, tnn):
        m = lib.LazyLinear(3)
        for clone in (pickle.loads(pickle.dumps(m)), copy.deepcopy(m)):
            assert type(clone) is lib.LazyLinear and clone.weight is not m.weight
            assert clone.has_uninitialized_params()
            clone((ember if lib is nn else torch).ones(2, 5))
            assert type(clone) is lib.Linear and tuple(clone.weight.shape) == (3, 5)
        assert m.has_uninitialized_params()


# --- errors of the lazy layers ---------------------------------------------------------------


@pytest.mark.parametrize(
    "expr,shape,exc",
    [
        ("LazyConv2d(4, 3, groups=2)", (1, 3, 5, 5), ValueError),
        ("LazyConv2d(4, 3)", (5, 5), RuntimeError),
        ("LazyConvTranspose1d(2, 3)", (1, 2, 3, 4), RuntimeError),
        ("LazyConv3d(2, 1)", (2, 3), RuntimeError),
    ],
)
def test_lazy_conv_input_errors(expr, shape, exc):
    e, t = _pair(expr)
    xe, xt = _input(shape)
    with pytest.raises(exc) as te:
        t(xt)
    with pytest.raises(exc) as ee:
        e(xe)
    assert str(ee.value) == str(te.value)
    assert type(e).__name__ == type(t).__name__  # still lazy: the hook failed


def test_lazy_conv_transpose_padding_mode_error():
    with pytest.raises(ValueError) as te:
        tnn.LazyConvTranspose2d(2, 3, padding_mode="reflect")
    with pytest.raises(ValueError) as ee:
        nn.LazyConvTranspose2d(2, 3, padding_mode="reflect")
    assert str(ee.value) == str(te.value)


def _custom_lazy(lib, init_all: bool, define_init: bool = True):
    class Scale(LazyModuleMixin if lib is nn else tnn.modules.lazy.LazyModuleMixin, lib.Module):
        def __init__(self):
            super().__init__()
            self.w = lib.UninitializedParameter()
            self.b = lib.UninitializedParameter()

        def forward(self, x):
            return x * self.w + self.b

    def initialize_parameters(self, x):
        self.w.materialize((x.shape[-1],))
        with (ember if lib is nn else torch).no_grad():
            self.w.fill_(2.0)
        if init_all:
            self.b.materialize((x.shape[-1],))
            with (ember if lib is nn else torch).no_grad():
                self.b.fill_(0.5)

    if define_init:
        Scale.initialize_parameters = initialize_parameters
    return Scale()


def test_custom_lazy_module_with_the_mixin():
    e, t = _custom_lazy(nn, True), _custom_lazy(tnn, True)
    assert e.has_uninitialized_params() and t.has_uninitialized_params()
    xe, xt = _input((2, 3))
    assert_same(e(xe), t(xt))
    assert type(e).__name__ == "Scale"  # no cls_to_become: the class stays
    assert not e.has_uninitialized_params() and not hasattr(e, "_initialize_hook")
    assert_same(e(xe), t(xt))


def test_custom_lazy_module_errors():
    for kw, exc in (({"init_all": False}, RuntimeError), ({"init_all": True}, NotImplementedError)):
        define = exc is RuntimeError
        with pytest.raises(exc) as te:
            _custom_lazy(tnn, kw["init_all"], define)(torch.ones(2, 3))
        with pytest.raises(exc) as ee:
            _custom_lazy(nn, kw["init_all"], define)(ember.ones(2, 3))
        assert str(ee.value) == str(te.value)


def test_lazy_module_mixin_import_path():
    import ember.nn.modules.lazy as lazy

    assert lazy.LazyModuleMixin is LazyModuleMixin
    assert lazy.__all__ == tnn.modules.lazy.__all__
    assert issubclass(nn.LazyLinear, LazyModuleMixin)
    assert nn.LazyLinear.cls_to_become is nn.Linear
    assert nn.LazyBatchNorm3d.cls_to_become is nn.BatchNorm3d
    assert nn.LazyInstanceNorm2d.cls_to_become is nn.InstanceNorm2d


def test_hook_that_removes_itself_during_the_call():
    """A forward (pre-)hook may remove itself while hooks run (lazy modules rely on it)."""
    calls = []
    m = nn.Linear(2, 2)

    def pre(mod, args):
        calls.append("pre")
        h1.remove()

    def post(mod, args, out):
        calls.append("post")
        h2.remove()

    h1 = m.register_forward_pre_hook(pre)
    h2 = m.register_forward_hook(post)
    m(ember.ones(1, 2))
    m(ember.ones(1, 2))
    assert calls == ["pre", "post"]


# --- optimizers hold the same parameter objects --------------------------------------------


@pytest.mark.parametrize("opt", ["SGD", "Adam"])
def test_optimizer_built_before_the_first_forward(opt):
    e, t = _pair("LazyLinear(3)")
    oe = getattr(ember.optim, opt)(e.parameters(), lr=0.1)
    ot = getattr(torch.optim, opt)(t.parameters(), lr=0.1)
    xe, xt = _input((4, 5))
    for _ in range(2):
        oe.zero_grad()
        ot.zero_grad()
        (e(xe) ** 2).sum().backward()
        (t(xt) ** 2).sum().backward()
        oe.step()
        ot.step()
    assert oe.param_groups[0]["params"][0] is e.weight
    assert oe.param_groups[0]["params"][1] is e.bias
    for k, v in t.state_dict().items():
        assert_same(e.state_dict()[k], v, rtol=1e-5, atol=1e-6)


# --- nn.utils.skip_init ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "cls,args,kwargs",
    [
        ("Linear", (5, 3), {}),
        ("Linear", (), {"in_features": 6, "out_features": 1, "dtype": "float64"}),
        ("Conv2d", (3, 4, 3), {"bias": False}),
        ("BatchNorm1d", (3,), {"dtype": "float64"}),
        ("Embedding", (10, 4), {}),
        ("GRUCell", (3, 4), {}),
        ("MultiheadAttention", (8, 2), {}),
        ("Linear", (5, 3), {"device": "cpu"}),
    ],
)
def test_skip_init_builds_the_module_without_initialising(cls, args, kwargs):
    def build(lib, mod):
        kw = {k: getattr(mod, v) if k == "dtype" else v for k, v in kwargs.items()}
        return lib.utils.skip_init(getattr(lib, cls), *args, **kw)

    ember.manual_seed(11)
    torch.manual_seed(11)
    e, t = build(nn, ember), build(tnn, torch)
    assert_streams_aligned()  # nothing drawn: the initialisers did not run
    assert repr(e) == repr(t)
    pe, pt = dict(e.named_parameters()), dict(t.named_parameters())
    assert list(pe) == list(pt)
    for k in pt:
        assert type(pe[k]) is nn.Parameter and pe[k].requires_grad
        assert tuple(pe[k].shape) == tuple(pt[k].shape), k
        assert str(pe[k].dtype) == str(pt[k].dtype), k
        assert str(pe[k].device) == str(pt[k].device) == "cpu"
    be, bt = dict(e.named_buffers()), dict(t.named_buffers())
    assert list(be) == list(bt)
    for k in bt:
        assert tuple(be[k].shape) == tuple(bt[k].shape) and str(be[k].dtype) == str(bt[k].dtype)
    assert list(e.state_dict()) == list(t.state_dict())
    # initialisation is back on afterwards
    ember.manual_seed(2)
    torch.manual_seed(2)
    assert_bitwise(dict(nn.Linear(4, 2).state_dict()), dict(tnn.Linear(4, 2).state_dict()))


def test_skip_init_skips_the_initialisers():
    """The nn.init initialisers do nothing while skip_init builds (torch builds on the meta
    device, where they do nothing); a draw outside nn.init leaves the stream untouched too."""

    class Draws(nn.Module):
        def __init__(self, device=None):
            super().__init__()
            self.w = nn.Parameter(ember.zeros(3, 3, device=device))
            nn.init.orthogonal_(self.w)
            nn.init.uniform_(self.w)
            nn.init.constant_(self.w, 3.0)
            self.seen = self.w.detach().clone()  # what the initialisers left in w
            self.v = nn.Parameter(ember.empty(4, device=device).normal_())

    ember.manual_seed(0)
    torch.manual_seed(0)
    m = nn.utils.skip_init(Draws)
    assert tuple(m.w.shape) == (3, 3) and tuple(m.v.shape) == (4,)
    assert (m.seen.numpy() == 0).all()
    assert_streams_aligned()
    assert (Draws().seen.numpy() == 3).all()  # outside skip_init they run


def test_skip_init_errors_as_torch():
    class NoDevice(nn.Module):
        def __init__(self, n, **kw):
            super().__init__()

    class TNoDevice(tnn.Module):
        def __init__(self, n, **kw):
            super().__init__()

    for e_call, t_call, exc in [
        (lambda: nn.utils.skip_init(nn.ReLU), lambda: tnn.utils.skip_init(tnn.ReLU), RuntimeError),
        (
            lambda: nn.utils.skip_init(NoDevice, 3),
            lambda: tnn.utils.skip_init(TNoDevice, 3),
            RuntimeError,
        ),
        (lambda: nn.utils.skip_init(int), lambda: tnn.utils.skip_init(int), RuntimeError),
        (
            lambda: nn.utils.skip_init(nn.LazyLinear, 3),
            lambda: tnn.utils.skip_init(tnn.LazyLinear, 3),
            ValueError,
        ),
        (
            lambda: nn.utils.skip_init(nn.Linear, 3),
            lambda: tnn.utils.skip_init(tnn.Linear, 3),
            TypeError,
        ),
    ]:
        with pytest.raises(exc) as te:
            t_call()
        with pytest.raises(exc) as ee:
            e_call()
        if exc is ValueError:
            assert _msg_with_func(str(ee.value)) == _msg_with_func(str(te.value))
        else:
            assert str(ee.value) == str(te.value)
