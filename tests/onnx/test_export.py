"""ember.onnx.export against onnxruntime and torch's own (TorchScript) exporter."""

from __future__ import annotations

import io
import math
import warnings

import numpy as np
import pytest

import ember
import ember.nn as enn
import ember.nn.functional as eF
from ember.autograd import node as _node
from tests._support.torch_ref import torch

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

tnn, tF = torch.nn, torch.nn.functional


# --- the models: one builder per architecture, run with ember's or torch's nn -----------------


def mlp(nn, F, T):
    return nn.Sequential(
        nn.Linear(8, 16), nn.Tanh(), nn.Linear(16, 16), nn.ReLU(), nn.Linear(16, 4)
    )


def cnn(nn, F, T):
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(1, 6, 3, padding=1)
            self.conv2 = nn.Conv2d(6, 8, 3, stride=1, dilation=1)
            self.fc = nn.Linear(8 * 2 * 2, 10)

        def forward(self, x):
            x = F.max_pool2d(F.relu(self.conv1(x)), 2)
            x = F.max_pool2d(F.relu(self.conv2(x)), 2)
            x = x.view(x.size(0), -1)
            return F.log_softmax(self.fc(x), dim=1)

    return Net()


def bn_residual(nn, F, T):
    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(4, 4, 3, padding=1, bias=False)
            self.bn1 = nn.BatchNorm2d(4)
            self.conv2 = nn.Conv2d(4, 4, 3, padding=1, groups=2, bias=False)
            self.bn2 = nn.BatchNorm2d(4)
            self.pool = nn.AdaptiveAvgPool2d(1)
            self.head = nn.Linear(4, 3)

        def forward(self, x):
            y = F.relu(self.bn1(self.conv1(x)))
            y = self.bn2(self.conv2(y))
            y = F.relu(y + x)
            return self.head(T.flatten(self.pool(y), 1))

    return Block()


def transformer(nn, F, T):
    class Attn(nn.Module):
        def __init__(self, d=16, h=2):
            super().__init__()
            self.h, self.d = h, d
            self.ln1 = nn.LayerNorm(d)
            self.qkv = nn.Linear(d, 3 * d)
            self.proj = nn.Linear(d, d)
            self.ln2 = nn.LayerNorm(d)
            self.ff = nn.Sequential(nn.Linear(d, 32), nn.GELU(), nn.Dropout(0.1), nn.Linear(32, d))

        def forward(self, x):
            B, L, D = x.shape
            q, k, v = self.qkv(self.ln1(x)).chunk(3, dim=-1)
            q = q.reshape(B, L, self.h, D // self.h).transpose(1, 2)
            k = k.reshape(B, L, self.h, D // self.h).transpose(1, 2)
            v = v.reshape(B, L, self.h, D // self.h).transpose(1, 2)
            att = F.softmax(q @ k.transpose(-2, -1) / math.sqrt(D // self.h), dim=-1)
            y = (att @ v).transpose(1, 2).reshape(B, L, D)
            x = x + self.proj(y)
            return x + self.ff(self.ln2(x))

    return Attn()


def embed_linear(nn, F, T):
    class Bag(nn.Module):
        def __init__(self):
            super().__init__()
            self.emb = nn.Embedding(20, 8)
            self.out = nn.Linear(8, 5)

        def forward(self, tokens):
            return self.out(self.emb(tokens).mean(dim=1))

    return Bag()


def misc_ops(nn, F, T):
    class Misc(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv1d(3, 4, 3, stride=2, padding=1)
            self.up = nn.ConvTranspose2d(4, 2, 3, stride=2, padding=1, output_padding=1)
            self.bn = nn.BatchNorm1d(4)
            self.act = nn.ELU()

        def forward(self, x):
            y = F.gelu(self.conv(x))  # (B, 4, 4)
            y = self.act(F.leaky_relu(self.bn(y), 0.2))
            y = F.avg_pool1d(y, 2) if False else y
            z = self.up(y.unsqueeze(-1))  # (B, 2, 8, 2)
            z = T.cat([z, T.sigmoid(z) * 2.0 - 1.0, T.exp(-z.abs()) / 3], dim=1)
            z = z[:, 1:5, ::2].permute(0, 2, 3, 1).squeeze(2)  # (B, 4, 4)
            s = T.sqrt(z.pow(2) + 1.0).log() - T.tanh(z)
            return F.softmax(s.sum(-1), -1), s.mean(dim=(1, 2), keepdim=True)

    return Misc()


MODELS = {
    "mlp": (mlp, lambda b: [np.random.randn(b, 8).astype(np.float32)]),
    "cnn": (cnn, lambda b: [np.random.randn(b, 1, 14, 14).astype(np.float32)]),
    "bn_residual": (bn_residual, lambda b: [np.random.randn(b, 4, 6, 6).astype(np.float32)]),
    "transformer": (transformer, lambda b: [np.random.randn(b, 5, 16).astype(np.float32)]),
    "embed_linear": (embed_linear, lambda b: [np.random.randint(0, 20, (b, 7)).astype(np.int64)]),
    "misc_ops": (misc_ops, lambda b: [np.random.randn(b, 3, 8).astype(np.float32)]),
}


def _pair(build):
    """The ember model (its BatchNorm statistics made non-trivial) and the same torch model."""
    em = build(enn, eF, ember)
    for mod in em.modules():
        if isinstance(mod, enn.modules.batchnorm._BatchNorm):
            mod.running_mean.copy_(ember.randn(mod.num_features) * 0.1)
            mod.running_var.copy_(ember.rand(mod.num_features) + 0.5)
            mod.weight.data.copy_(ember.rand(mod.num_features) + 0.5)
    tm = build(tnn, tF, torch)
    tm.load_state_dict({k: torch.from_numpy(v.numpy().copy()) for k, v in em.state_dict().items()})
    return em.eval(), tm.eval()


def _export(model, inputs, **kw) -> bytes:
    buf = io.BytesIO()
    ember.onnx.export(model, tuple(ember.from_numpy(a) for a in inputs), buf, **kw)
    return buf.getvalue()


def _names(n: int, stem: str) -> list[str]:
    return [f"{stem}{i}" for i in range(n)]


@pytest.mark.parametrize("name", sorted(MODELS))
def test_onnxruntime_matches_ember_and_torch_with_dynamic_batch(name):
    np.random.seed(0)
    ember.manual_seed(0)
    build, make = MODELS[name]
    em, tm = _pair(build)
    x2 = make(2)
    n_out = len(em(*[ember.from_numpy(a) for a in x2])) if name == "misc_ops" else 1
    ins, outs = _names(len(x2), "in"), _names(n_out, "out")
    axes = {n: {0: "batch"} for n in ins + outs}
    data = _export(em, x2, input_names=ins, output_names=outs, dynamic_axes=axes)
    proto = onnx.load_from_string(data)
    onnx.checker.check_model(proto, full_check=True)
    assert [i.name for i in proto.graph.input] == ins
    assert [o.name for o in proto.graph.output] == outs
    assert proto.graph.input[0].type.tensor_type.shape.dim[0].dim_param == "batch"
    sess = ort.InferenceSession(data, providers=["CPUExecutionProvider"])
    for batch in (2, 5):
        xs = make(batch)
        got = sess.run(None, dict(zip(ins, xs)))
        with ember.no_grad():
            want = em(*[ember.from_numpy(a) for a in xs])
        with torch.no_grad():
            ref = tm(*[torch.from_numpy(a) for a in xs])
        want = want if isinstance(want, tuple) else (want,)
        ref = ref if isinstance(ref, tuple) else (ref,)
        for g, w, r in zip(got, want, ref):
            np.testing.assert_allclose(g, w.numpy(), rtol=1e-4, atol=1e-5)
            np.testing.assert_allclose(g, r.numpy(), rtol=1e-4, atol=1e-5)


def _state_names(proto) -> set[str]:
    """Parameter and buffer names the graph holds: initializers, and torch's Identity copies
    (its exporter keeps one initializer for equal tensors and makes the others Identities)."""
    names = {t.name for t in proto.graph.initializer}
    names |= {n.output[0] for n in proto.graph.node if n.op_type == "Identity"}
    return names


@pytest.mark.parametrize("name", ["mlp", "cnn", "bn_residual", "embed_linear"])
def test_structure_matches_torchs_exporter(name):
    build, make = MODELS[name]
    em, tm = _pair(build)
    x = make(2)
    kw = dict(input_names=["x"], output_names=["y"], dynamic_axes={"x": [0], "y": [0]})
    ours = onnx.load_from_string(_export(em, x, **kw))
    buf = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(tm, tuple(torch.from_numpy(a) for a in x), buf, dynamo=False, **kw)
    theirs = onnx.load_from_string(buf.getvalue())
    keys = set(em.state_dict())
    # torch's exporter folds BatchNorm into the preceding Conv: those weights get new names
    folded = {k for k in keys if k.startswith(("conv1.", "conv2.", "bn1.", "bn2."))}
    if name != "bn_residual":
        folded = set()
    assert _state_names(theirs) & keys - folded == {t.name for t in ours.graph.initializer} & (
        keys - folded
    )
    assert [i.name for i in ours.graph.input] == [i.name for i in theirs.graph.input]
    assert [o.name for o in ours.graph.output] == [o.name for o in theirs.graph.output]
    assert ours.opset_import[0].version == theirs.opset_import[0].version == 20
    assert ours.ir_version == theirs.ir_version
    dims = [d.dim_param or d.dim_value for d in ours.graph.input[0].type.tensor_type.shape.dim]
    assert dims[0] == "x_dynamic_axes_1"


def test_initializers_are_named_by_state_dict_keys():
    em, _ = _pair(bn_residual)
    proto = onnx.load_from_string(_export(em, [np.zeros((1, 4, 6, 6), np.float32)]))
    inits = {t.name for t in proto.graph.initializer}
    for key in ("conv1.weight", "bn1.weight", "bn1.running_mean", "bn2.running_var", "head.bias"):
        assert key in inits
    assert "bn1.num_batches_tracked" not in inits  # unused by the graph, as torch
    assert [n.op_type for n in proto.graph.node].count("BatchNormalization") == 2


def test_opset_17_decomposes_gelu_and_runs():
    em, _ = _pair(transformer)
    x = np.random.randn(3, 5, 16).astype(np.float32)
    data = _export(em, [x], opset_version=17, input_names=["x"])
    proto = onnx.load_from_string(data)
    onnx.checker.check_model(proto)
    assert proto.opset_import[0].version == 17 and proto.ir_version == 8
    types = {n.op_type for n in proto.graph.node}
    assert "Erf" in types and "Gelu" not in types and "LayerNormalization" in types
    got = ort.InferenceSession(data, providers=["CPUExecutionProvider"]).run(None, {"x": x})[0]
    with ember.no_grad():
        np.testing.assert_allclose(got, em(ember.from_numpy(x)).numpy(), rtol=1e-4, atol=1e-5)


def test_layer_norm_below_opset_17_is_unsupported():
    em, _ = _pair(transformer)
    with pytest.raises(ember.onnx.errors.UnsupportedOperatorError, match="version 17"):
        _export(em, [np.zeros((1, 5, 16), np.float32)], opset_version=15)


def test_an_unsupported_op_raises_a_clear_error():
    class Cum(enn.Module):
        def forward(self, x):
            return ember.cumsum(x * 2, dim=1)

    with pytest.raises(ember.onnx.errors.UnsupportedOperatorError, match="Cumsum|cumulative"):
        _export(Cum(), [np.ones((2, 3), np.float32)])
    assert issubclass(ember.onnx.errors.UnsupportedOperatorError, ember.onnx.OnnxExporterError)
    assert not _node._profiling  # the op mode is gone after a failed export


def test_a_value_computed_outside_the_ops_is_refused_not_frozen():
    class Masked(enn.Module):
        def forward(self, x):
            return x * (x > 0)  # the comparison makes no node: its values would be frozen

    with pytest.raises(ember.onnx.OnnxExporterError, match="changes with the inputs"):
        _export(Masked(), [np.random.randn(2, 3).astype(np.float32)])


def test_writes_to_a_path_and_keeps_the_training_mode(tmp_path):
    em = mlp(enn, eF, ember).train()
    path = tmp_path / "model.onnx"
    ember.onnx.export(em, ember.randn(2, 8), str(path), input_names=["x"], output_names=["y"])
    assert em.training and all(m.training for m in em.modules())
    proto = onnx.load(str(path))
    onnx.checker.check_model(proto)
    assert [i.name for i in proto.graph.input] == ["x"]


def test_is_in_onnx_export_and_export_options():
    seen = []

    class Probe(enn.Module):
        def __init__(self):
            super().__init__()
            self.fc = enn.Linear(3, 2)

        def forward(self, x):
            seen.append(ember.onnx.is_in_onnx_export())
            return self.fc(x)

    x = np.ones((1, 3), np.float32)
    data = _export(Probe(), [x], keep_initializers_as_inputs=True)
    assert seen and all(seen) and not ember.onnx.is_in_onnx_export()
    proto = onnx.load_from_string(data)
    assert [i.name for i in proto.graph.input] == ["x", "fc.weight", "fc.bias"]
    proto = onnx.load_from_string(_export(Probe(), [x], export_params=False))
    assert not proto.graph.initializer
    assert [i.name for i in proto.graph.input] == ["x", "fc.weight", "fc.bias"]
    assert ember.onnx.TrainingMode.EVAL == 0 and ember.onnx.OperatorExportTypes.ONNX == 0
    with pytest.raises(ember.onnx.OnnxExporterError, match="opset"):
        _export(Probe(), [x], opset_version=9)


def test_torch_onnx_resolves_under_the_alias():
    import importlib

    import ember._torch_alias as alias

    assert ember.onnx.export is importlib.import_module("ember.onnx").export
    assert alias._ember_name("torch.onnx") == "ember.onnx"
