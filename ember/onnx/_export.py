"""torch.onnx.export: capture the model, fix up what depends on dynamic axes, write the file."""

from __future__ import annotations

import inspect
import os
from collections.abc import Collection, Mapping, Sequence
from typing import Any, BinaryIO

import numpy as np

import ember
from ember import nn

from . import _proto
from ._capture import capture, to_numpy
from ._enums import OperatorExportTypes, TrainingMode
from ._translate import TABLE
from .errors import OnnxExporterError

DEFAULT_OPSET = 20  # torch 2.13's default for both of its exporters
MIN_OPSET, MAX_OPSET = 13, 23

_exporting = [0]  # > 0 while an export runs (is_in_onnx_export)


def _ir_version(opset: int) -> int:
    # the IR version that introduced each opset (ONNX's versioning table)
    return 8 if opset <= 18 else 9 if opset <= 20 else 10 if opset <= 22 else 11


def is_in_onnx_export() -> bool:
    """Whether an ONNX export is running (``torch.onnx.is_in_onnx_export``)."""
    return _exporting[0] > 0


def _split_args(args, kwargs):
    if isinstance(args, ember.Tensor):
        args = (args,)
    args = tuple(args)
    kwargs = dict(kwargs or {})
    if args and isinstance(args[-1], dict):  # torch's convention: a trailing dict is kwargs
        kwargs = {**args[-1], **kwargs}
        args = args[:-1]
    return args, kwargs


def _default_input_names(model, args, kwargs) -> list[str]:
    try:
        params = list(inspect.signature(model.forward).parameters)
    except (TypeError, ValueError):
        params = []
    names = [
        params[i] if i < len(params) else f"input_{i}"
        for i, a in enumerate(args)
        if isinstance(a, ember.Tensor)
    ]
    return names + [k for k, v in kwargs.items() if isinstance(v, ember.Tensor)]


def _flat_outputs(out) -> list:
    if isinstance(out, ember.Tensor):
        return [out]
    if isinstance(out, Mapping):
        out = list(out.values())
    if isinstance(out, (list, tuple)):
        return [t for o in out for t in _flat_outputs(o)]
    return []


def _dynamic_dims(dynamic_axes, name: str) -> dict[int, str]:
    axes = (dynamic_axes or {}).get(name)
    if axes is None:
        return {}
    if isinstance(axes, Mapping):
        return {int(k): str(v) for k, v in axes.items()}
    return {int(k): f"{name}_dynamic_axes_{i + 1}" for i, k in enumerate(axes)}


def _grown(a, dims: dict[int, str]):
    """``a`` with every dynamic axis one longer (its first slice repeated), for the second
    trace; floating inputs also change value, to catch values frozen into constants."""
    x = to_numpy(a)
    for ax in dims:
        x = np.concatenate([x, np.take(x, [0], axis=ax)], axis=ax)
    if x.dtype.kind in "fc":
        x = x * x.dtype.type(0.5) + x.dtype.type(0.25)
    return ember.from_numpy(np.ascontiguousarray(x))


def _fix_shapes(ga, gb, dynamic: bool) -> None:
    """Rewrite the sizes in graph A's shape constants that differ in the trace with grown
    dynamic axes (B): 0 where Reshape keeps the input's dim, -1 for the one other; raise where
    the graph cannot say it."""
    same = [n[0] for n in ga.nodes] == [n[0] for n in gb.nodes] and len(ga.shape_consts) == len(
        gb.shape_consts
    )
    if not same:
        raise OnnxExporterError(
            "the model runs different operations when the size of a dynamic axis or the "
            "input values change: ember's exporter records one run and cannot export that"
        )
    for (kind, name, va, ia), (_, _, vb, ib) in zip(ga.shape_consts, gb.shape_consts):
        if va == vb:
            continue
        moving = [i for i in range(len(va)) if va[i] != vb[i]]
        new = list(va)
        if kind == "reshape" and dynamic:
            rest = []
            for i in moving:
                if i < len(ia) and ia[i] == va[i] and ib[i] == vb[i]:
                    new[i] = 0
                else:
                    rest.append(i)
            if len(rest) == 1 and -1 not in va:
                new[rest[0]] = -1
                rest = []
            if not rest:
                ga.initializers[name] = np.asarray(new, np.int64)
                continue
        raise OnnxExporterError(
            f"a {kind} size of the graph ({list(va)}, then {list(vb)}) follows the size of a "
            "dynamic axis in a way ember's exporter cannot express"
        )
    for (name, a), (_, b) in zip(ga.anonymous, gb.anonymous):
        if a.shape != b.shape or not np.array_equal(a, b, equal_nan=a.dtype.kind in "fc"):
            raise OnnxExporterError(
                f"the constant {name!r} (shape {list(a.shape)}) changes with the inputs: it is "
                "computed from them outside ember's ops (a comparison, .item(), .numpy(), a "
                "shape read with .size()), which the exported graph would freeze"
            )


def export(
    model,
    args: tuple[Any, ...] | Any = (),
    f: str | os.PathLike | BinaryIO | None = None,
    *,
    kwargs: dict[str, Any] | None = None,
    verbose: bool | None = None,
    input_names: Sequence[str] | None = None,
    output_names: Sequence[str] | None = None,
    opset_version: int | None = None,
    dynamo: bool = True,
    external_data: bool = True,
    dynamic_shapes: Any = None,
    custom_translation_table: Mapping | None = None,
    report: bool = False,
    optimize: bool = True,
    verify: bool = False,
    profile: bool = False,
    dump_exported_program: bool = False,
    artifacts_dir: str | os.PathLike = ".",
    export_params: bool = True,
    keep_initializers_as_inputs: bool = False,
    dynamic_axes: Mapping[str, Mapping[int, str]] | Mapping[str, Sequence[int]] | None = None,
    training: TrainingMode = TrainingMode.EVAL,
    operator_export_type: OperatorExportTypes = OperatorExportTypes.ONNX,
    do_constant_folding: bool = True,
    custom_opsets: Mapping[str, int] | None = None,
    export_modules_as_functions: bool | Collection[type] = False,
    autograd_inlining: bool = True,
) -> None:
    """Export ``model`` run on ``args`` as an ONNX model written to ``f`` (a path or a binary
    file), as torch.onnx.export.

    ember records one run of the model through its op dispatch (the TorchScript exporter's
    tracing, for ``dynamo`` True or False), writes the protobuf itself (the onnx package is not
    needed) and puts parameters and buffers in as initializers under their state_dict names.
    ``dynamic_axes`` name dims of inputs and outputs; a second run with those axes one longer
    finds the Reshape sizes that follow them. ``dynamic_shapes``, custom opsets and
    translation tables, ``export_modules_as_functions``, ATen fallbacks and TRAINING mode raise
    OnnxExporterError; ``do_constant_folding``, ``optimize``, ``external_data`` and the report
    options are accepted and have no effect.
    """
    if f is None:
        raise OnnxExporterError("ember's torch.onnx.export needs f (ONNXProgram is not made)")
    opset = DEFAULT_OPSET if opset_version is None else int(opset_version)
    if not MIN_OPSET <= opset <= MAX_OPSET:
        raise OnnxExporterError(
            f"ember exports ONNX opsets {MIN_OPSET} to {MAX_OPSET}, not {opset_version}"
        )
    unsupported = {
        "dynamic_shapes (use dynamic_axes)": dynamic_shapes is not None,
        "custom_translation_table": bool(custom_translation_table),
        "custom_opsets": bool(custom_opsets),
        "export_modules_as_functions": bool(export_modules_as_functions),
        "operator_export_type other than ONNX": operator_export_type != OperatorExportTypes.ONNX,
        "training=TrainingMode.TRAINING": training == TrainingMode.TRAINING,
    }
    for what, asked in unsupported.items():
        if asked:
            raise OnnxExporterError(f"ember's ONNX exporter does not support {what}")
    args, kwargs = _split_args(args, kwargs)
    is_module = isinstance(model, nn.Module)
    state_names: dict[int, str] = {}
    if is_module:
        for key, t in model.state_dict(keep_vars=True).items():
            state_names.setdefault(id(t), key)
    names_in = _default_input_names(model, args, kwargs)
    if input_names:
        names_in[: len(input_names)] = list(input_names)[: len(names_in)]
    modes = [(m, m.training) for m in model.modules()] if is_module else []
    if is_module and training == TrainingMode.EVAL:
        model.train(False)
    _exporting[0] += 1
    try:
        ga, tra, ins_a, out_a = capture(model, args, kwargs, opset, TABLE, state_names)
        outs_a = _flat_outputs(out_a)
        # the second run: dynamic axes one longer, floating inputs changed
        dims_in = [_dynamic_dims(dynamic_axes, n) for n in names_in]
        it = iter(dims_in)
        args_b = [_grown(a, next(it)) if isinstance(a, ember.Tensor) else a for a in args]
        kwargs_b = {
            k: _grown(v, next(it)) if isinstance(v, ember.Tensor) else v for k, v in kwargs.items()
        }
        gb, _, _, out_b = capture(model, tuple(args_b), kwargs_b, opset, TABLE, state_names)
        outs_b = _flat_outputs(out_b)
    finally:
        _exporting[0] -= 1
        for m, mode in modes:
            m.training = mode
    if not outs_a:
        raise OnnxExporterError("the model returned no tensor to export")
    _fix_shapes(ga, gb, bool(dynamic_axes))
    data = _write(
        ga,
        tra,
        ins_a,
        outs_a,
        outs_b,
        names_in,
        output_names,
        dims_in,
        dynamic_axes,
        export_params,
        keep_initializers_as_inputs,
        set(state_names.values()),
    )
    if verbose:
        for n in ga.nodes:
            print(f"{n[4]}: {n[2]} = {n[0]}({', '.join(n[1])}) {n[3] or ''}")
    if isinstance(f, (str, os.PathLike)):
        with open(f, "wb") as fh:
            fh.write(data)
    else:
        f.write(data)


def _write(
    g,
    tracer,
    ins,
    outs_a,
    outs_b,
    names_in,
    output_names,
    dims_in,
    dynamic_axes,
    export_params,
    keep_inits,
    state_keys,
) -> bytes:
    """The ModelProto's bytes: inputs and outputs named, shaped and typed."""
    for k, name in enumerate(names_in):
        g.rename(f"__input_{k}", name)
    n_out = len(outs_a)
    names_out = [f"output_{i}" if n_out > 1 else "output" for i in range(n_out)]
    if output_names:
        names_out[: len(output_names)] = list(output_names)[:n_out]
    taken = set(names_in) | set(g.initializers)
    for t, name in zip(outs_a, names_out):
        v = tracer.name(t)
        if v in taken or g.producer(v) is None or v.startswith("__input_"):
            g.nodes.append(["Identity", [v], [name], {}, f"/Identity_{name}"])
        else:
            g.rename(v, name)
        taken.add(name)
    graph_inputs = []
    for t, name, dims in zip(ins, names_in, dims_in):
        shape = [dims.get(i, d) for i, d in enumerate(t.shape)]
        graph_inputs.append(_proto.value_info(name, t._data.dtype, shape))
    graph_outputs = []
    for i, (ta, name) in enumerate(zip(outs_a, names_out)):
        named = _dynamic_dims(dynamic_axes, name)
        tb = outs_b[i] if i < len(outs_b) else ta
        shape = []
        for ax, d in enumerate(ta.shape):
            if ax in named:
                shape.append(named[ax])
            elif ax < tb.ndim and tb.shape[ax] != d and dynamic_axes:
                shape.append(f"{name}_dim_{ax}")
            else:
                shape.append(int(d))
        graph_outputs.append(_proto.value_info(name, ta._data.dtype, shape))
    inits = []
    for name, arr in g.initializers.items():
        as_input = keep_inits or (not export_params and name in state_keys)
        if as_input:
            graph_inputs.append(_proto.value_info(name, arr.dtype, arr.shape))
        if export_params or name not in state_keys:
            inits.append(_proto.tensor(name, arr))
    nodes = [_proto.node(op, i, o, name, attrs) for op, i, o, attrs, name in g.nodes]
    body = _proto.graph("main_graph", nodes, inits, graph_inputs, graph_outputs)
    return _proto.model(body, g.opset, _ir_version(g.opset), "ember", ember.__version__)
