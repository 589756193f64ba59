"""ember ops as ONNX nodes: one function per op class, keyed '<ops module>.<class name>'.

Each function takes the tracer (its ``name(x, dtype)`` gives the graph value of an argument,
``g`` the graph being built, ``opset`` the target opset), the op's ``apply`` arguments and the
op's outputs (tensors with the values of this trace), and returns the output value name(s).
"""

from __future__ import annotations

import math

import numpy as np

import ember

from ._proto import elem_type
from .errors import UnsupportedOperatorError

_INT64_MAX = 2**63 - 1


def _unsupported(what: str, tr, since: int | None = None):
    return UnsupportedOperatorError(what, tr.opset, since)


def _dt(t) -> np.dtype:
    return t._data.dtype if isinstance(t, ember.Tensor) else np.asarray(t).dtype


def _shape(t) -> tuple:
    return tuple(t.shape)


def _cast_to(tr, x, dtype) -> str:
    """The value of ``x`` as ``dtype`` (a Cast when a tensor of another dtype)."""
    name = tr.name(x, dtype)
    if isinstance(x, ember.Tensor) and _dt(x) != dtype:
        return tr.g.add("Cast", [name], {"to": elem_type(dtype)})
    return name


# --- elementwise ------------------------------------------------------------------------------


def _binary(op_type: str):
    def fn(tr, inp, outs):
        a, b, rt = inp
        return tr.g.add(op_type, [_cast_to(tr, a, rt), _cast_to(tr, b, rt)])

    return fn


def _pow(tr, inp, outs):
    a, b, rt = inp
    return tr.g.add("Pow", [_cast_to(tr, a, rt), _cast_to(tr, b, rt)])


def _unary(op_type: str, **attrs):
    def fn(tr, inp, outs):
        return tr.g.add(op_type, [tr.name(inp[0])], attrs)

    return fn


def _rsqrt(tr, inp, outs):
    return tr.g.add("Reciprocal", [tr.g.add("Sqrt", [tr.name(inp[0])])])


def _silu(tr, inp, outs):
    x = tr.name(inp[0])
    return tr.g.add("Mul", [x, tr.g.add("Sigmoid", [x])])


def _leaky_relu(tr, inp, outs):
    return tr.g.add("LeakyRelu", [tr.name(inp[0])], {"alpha": float(inp[1])})


def _elu(tr, inp, outs):
    x, alpha, scale, input_scale = inp
    if scale == 1 and input_scale == 1:
        return tr.g.add("Elu", [tr.name(x)], {"alpha": float(alpha)})
    if (
        input_scale == 1
        and math.isclose(alpha, 1.6732632423543772)
        and math.isclose(scale, 1.0507009873554805)
    ):
        return tr.g.add("Selu", [tr.name(x)], {"alpha": float(alpha), "gamma": float(scale)})
    raise _unsupported("aten::elu (with scale or input_scale)", tr)


def _clip(tr, x, lo, hi) -> str:
    dt = _dt(x)
    bounds = ["" if v is None else tr.name(np.asarray(v, dt), dt) for v in (lo, hi)]
    while bounds and bounds[-1] == "":
        bounds.pop()
    return tr.g.add("Clip", [tr.name(x)] + bounds)


def _hardtanh(tr, inp, outs):
    x, lo, hi = inp
    if lo == 0:
        if hi == math.inf:
            return tr.g.add("Relu", [tr.name(x)])
    return _clip(tr, x, lo, hi)


def _clamp(tr, inp, outs):
    x, lo, hi = inp
    if isinstance(lo, ember.Tensor) or isinstance(hi, ember.Tensor):
        y = tr.name(x)
        if lo is not None:
            y = tr.g.add("Max", [y, _cast_to(tr, lo, _dt(x))])
        if hi is not None:
            y = tr.g.add("Min", [y, _cast_to(tr, hi, _dt(x))])
        return y
    return _clip(tr, x, lo, hi)


def _softplus(tr, inp, outs):
    x, beta, threshold = inp
    if beta != 1:
        raise _unsupported("aten::softplus (beta != 1)", tr)
    # ONNX Softplus has no threshold: above it torch returns x, which log(1 + e^x) rounds to
    return tr.g.add("Softplus", [tr.name(x)])


def _gelu(tr, inp, outs):
    x, approx = inp
    name = tr.name(x)
    if tr.opset >= 20:
        return tr.g.add("Gelu", [name], {"approximate": approx})
    dt = _dt(x)
    half, one = tr.name(np.asarray(0.5, dt)), tr.name(np.asarray(1.0, dt))
    if approx == "tanh":
        c = tr.name(np.asarray(math.sqrt(2 / math.pi), dt))
        k = tr.name(np.asarray(0.044715, dt))
        cube = tr.g.add("Mul", [tr.g.add("Mul", [name, name]), name])
        inner = tr.g.add("Mul", [c, tr.g.add("Add", [name, tr.g.add("Mul", [k, cube])])])
        gate = tr.g.add("Add", [one, tr.g.add("Tanh", [inner])])
    else:
        r2 = tr.name(np.asarray(math.sqrt(2.0), dt))
        gate = tr.g.add("Add", [one, tr.g.add("Erf", [tr.g.add("Div", [name, r2])])])
    return tr.g.add("Mul", [tr.g.add("Mul", [name, half]), gate])


def _softmax(op_type: str):
    def fn(tr, inp, outs):
        return tr.g.add(op_type, [tr.name(inp[0])], {"axis": int(inp[1])})

    return fn


def _cast(tr, inp, outs):
    return tr.g.add("Cast", [tr.name(inp[0])], {"to": elem_type(inp[1])})


def _identity(tr, inp, outs):
    return tr.g.add("Identity", [tr.name(inp[0])])


def _where(tr, inp, outs):
    cond, a, b, rt = inp
    c = tr.name(cond)
    if _dt(cond) != np.bool_:
        c = tr.g.add("Cast", [c], {"to": elem_type(np.bool_)})
    return tr.g.add("Where", [c, _cast_to(tr, a, rt), _cast_to(tr, b, rt)])


# --- linear algebra, convolution, pooling, normalization --------------------------------------


def _linear(tr, inp, outs):
    x, w, b = inp
    if x.ndim == 2:
        return tr.g.add("Gemm", [tr.name(x), tr.name(w), tr.name(b)], {"transB": 1})
    wt = tr.g.add("Transpose", [tr.name(w)], {"perm": [1, 0]} if w.ndim == 2 else {})
    y = tr.g.add("MatMul", [tr.name(x), wt])
    return y if b is None else tr.g.add("Add", [y, tr.name(b)])


def _matmul(tr, inp, outs):
    return tr.g.add("MatMul", [tr.name(inp[0]), tr.name(inp[1])])


def _conv_pads(pads) -> list:
    return [int(p[0]) for p in pads] + [int(p[1]) for p in pads]


def _conv(tr, inp, outs):
    x, w, b, s, pads, d, g = inp
    attrs = {
        "kernel_shape": list(w.shape[2:]),
        "strides": list(s),
        "pads": _conv_pads(pads),
        "dilations": list(d),
        "group": int(g),
    }
    ins = [tr.name(x), tr.name(w)] + ([tr.name(b)] if b is not None else [])
    return tr.g.add("Conv", ins, attrs)


def _conv_transpose(tr, inp, outs):
    x, w, b, s, pads, d, g, osz = inp
    k = w.shape[2:]
    spatial = x.shape[2:]
    # the output padding that turns the smallest output size into the one asked for
    extra = [
        int(osz[i]) - ((spatial[i] - 1) * s[i] - pads[i][0] - pads[i][1] + d[i] * (k[i] - 1) + 1)
        for i in range(len(k))
    ]
    attrs = {
        "kernel_shape": list(k),
        "strides": list(s),
        "pads": _conv_pads(pads),
        "dilations": list(d),
        "group": int(g),
        "output_padding": extra,
    }
    ins = [tr.name(x), tr.name(w)] + ([tr.name(b)] if b is not None else [])
    return tr.g.add("ConvTranspose", ins, attrs)


def _ceil_mode(x, k, s, p, d, osz) -> int:
    spatial = x.shape[2:]
    floor = [(spatial[i] + 2 * p[i] - d[i] * (k[i] - 1) - 1) // s[i] + 1 for i in range(len(k))]
    return int(list(osz) != floor)


def _max_pool(tr, inp, outs):
    x, k, s, p, d, osz, box = inp
    if box is not None:
        raise _unsupported("aten::max_pool_with_indices", tr)
    attrs = {
        "kernel_shape": list(k),
        "strides": list(s),
        "pads": list(p) * 2,
        "dilations": list(d),
        "ceil_mode": _ceil_mode(x, k, s, p, d, osz),
    }
    return tr.g.add("MaxPool", [tr.name(x)], attrs)


def _avg_pool(tr, inp, outs):
    x, k, s, p, osz, include_pad, override = inp
    if override:
        raise _unsupported("aten::avg_pool2d (divisor_override)", tr)
    attrs = {
        "kernel_shape": list(k),
        "strides": list(s),
        "pads": list(p) * 2,
        "count_include_pad": int(bool(include_pad)),
        "ceil_mode": _ceil_mode(x, k, s, p, (1,) * len(k), osz),
    }
    return tr.g.add("AveragePool", [tr.name(x)], attrs)


def _adaptive_avg_pool(tr, inp, outs):
    x, osz = inp
    spatial = x.shape[2:]
    if all(o == 1 for o in osz):
        return tr.g.add("GlobalAveragePool", [tr.name(x)])
    if all(i % o == 0 for i, o in zip(spatial, osz)):
        k = [i // o for i, o in zip(spatial, osz)]
        return tr.g.add("AveragePool", [tr.name(x)], {"kernel_shape": k, "strides": k})
    raise _unsupported("aten::adaptive_avg_pool2d (input size not a multiple of output)", tr)


def _norm(tr, inp, outs):
    x, w, b, axes, eps, bshape, stats, *rest = inp
    centre = rest[0] if rest else True
    n = x.ndim
    axes = sorted(a % n for a in axes)
    if stats is not None or axes != list(range(n - len(axes), n)):
        raise _unsupported("aten::native_norm (not over trailing dims)", tr)
    dt = _dt(x)
    ns = tuple(x.shape[n - len(axes) :])
    scale = tr.name(w) if w is not None else tr.name(np.ones(ns, dt))
    if not centre:  # RMS norm: x / sqrt(mean(x^2) + eps) * w (+ b)
        xn = tr.name(x)
        ms = _reduce(tr, "ReduceMean", tr.g.add("Mul", [xn, xn]), axes, True)
        den = tr.g.add("Sqrt", [tr.g.add("Add", [ms, tr.name(np.asarray(eps, dt))])])
        y = tr.g.add("Mul", [tr.g.add("Div", [xn, den]), scale])
        return y if b is None else tr.g.add("Add", [y, tr.name(b)])
    if tr.opset < 17:
        raise _unsupported("aten::layer_norm", tr, 17)
    ins = [tr.name(x), scale] + ([tr.name(b)] if b is not None else [])
    return tr.g.add("LayerNormalization", ins, {"axis": axes[0], "epsilon": float(eps)})


def _embedding(tr, inp, outs):
    idx, w = inp[0], inp[1]
    return tr.g.add("Gather", [tr.name(w), tr.name(idx)], {"axis": 0})


def _sdpa(tr, inp, outs):
    q, k, v, mask, bool_mask, dropout_p, is_causal, scale, gqa, _gen = inp
    if dropout_p or gqa:
        raise _unsupported("aten::scaled_dot_product_attention (dropout or GQA)", tr)
    dt = _dt(q)
    L, S = q.shape[-2], k.shape[-2]
    if scale is None:
        scale = 1.0 / math.sqrt(q.shape[-1])
    kt = tr.g.add(
        "Transpose", [tr.name(k)], {"perm": list(range(k.ndim - 2)) + [k.ndim - 1, k.ndim - 2]}
    )
    scores = tr.g.add("MatMul", [tr.name(q), kt])
    scores = tr.g.add("Mul", [scores, tr.name(np.asarray(scale, dt))])
    if is_causal:
        bias = np.where(np.tril(np.ones((L, S), bool)), 0, -np.inf).astype(dt)
        scores = tr.g.add("Add", [scores, tr.name(bias)])
    if mask is not None:
        if _dt(mask) == np.bool_ or bool_mask:
            m = tr.name(mask)
            if _dt(mask) != np.bool_:
                m = tr.g.add("Cast", [m], {"to": elem_type(np.bool_)})
            scores = tr.g.add("Where", [m, scores, tr.name(np.asarray(-np.inf, dt))])
        else:
            scores = tr.g.add("Add", [scores, _cast_to(tr, mask, dt)])
    attn = tr.g.add("Softmax", [scores], {"axis": -1})
    return tr.g.add("MatMul", [attn, tr.name(v)])


# --- reductions -------------------------------------------------------------------------------


def _reduce(tr, op_type: str, x: str, dims, keepdim: bool) -> str:
    attrs = {"keepdims": int(bool(keepdim))}
    ins = [x]
    if dims is not None:
        dims = [int(d) for d in dims]
        # axes moved from an attribute to an input: ReduceSum at opset 13, the others at 18
        if op_type == "ReduceSum" and tr.opset >= 13 or tr.opset >= 18:
            ins.append(tr.g.ints(dims))
        else:
            attrs["axes"] = dims
    return tr.g.add(op_type, ins, attrs)


def _reduction(op_type: str):
    def fn(tr, inp, outs):
        a, dims, keepdim, npdt = inp
        x = _cast_to(tr, a, npdt) if npdt is not None else tr.name(a)
        return _reduce(tr, op_type, x, dims, keepdim)

    return fn


def _amax(tr, inp, outs):
    a, dims, keepdim, is_max = inp
    return _reduce(tr, "ReduceMax" if is_max else "ReduceMin", tr.name(a), dims, keepdim)


# --- shapes, views, indexing, joining ---------------------------------------------------------


def _reshape(tr, inp, outs):
    a, shape = inp[0], inp[1]
    target = tr.g.shape_const("reshape", shape, tuple(a.shape))
    return tr.g.add("Reshape", [tr.name(a), target])


def _permute(tr, inp, outs):
    return tr.g.add("Transpose", [tr.name(inp[0])], {"perm": [int(p) for p in inp[1]]})


def _expand(tr, inp, outs):
    a, shape = inp
    # ONNX Expand broadcasts both ways: 1 keeps an input dim, whatever its size at run time
    ishape = (1,) * (len(shape) - a.ndim) + tuple(a.shape)
    sizes = [1 if (s == -1 or s == i) else s for s, i in zip(shape, ishape)]
    return tr.g.add("Expand", [tr.name(a), tr.g.shape_const("expand", sizes, ishape)])


def _index(tr, x, shape: tuple, key) -> str:
    """Basic indexing (slices, ints, None, Ellipsis) as Slice, Gather and Unsqueeze nodes."""
    key = key if isinstance(key, tuple) else (key,)
    n_real = sum(1 for k in key if k is not None and k is not Ellipsis)
    full: list = []
    for k in key:
        if k is Ellipsis:
            full += [slice(None)] * (len(shape) - n_real)
        else:
            full.append(k)
    full += [slice(None)] * (len(shape) - sum(1 for k in full if k is not None))
    starts, ends, axes, steps, ints, nones = [], [], [], [], [], []
    ax = out_pos = 0
    for k in full:
        if k is None:
            nones.append(out_pos)
            out_pos += 1
            continue
        if isinstance(k, slice):
            if k != slice(None):
                step = 1 if k.step is None else int(k.step)
                starts.append(0 if k.start is None else int(k.start))
                stop = _INT64_MAX if k.stop is None else int(k.stop)
                if stop >= shape[ax]:
                    stop = _INT64_MAX  # to the end, whatever the axis's size at run time
                ends.append(stop)
                axes.append(ax)
                steps.append(step)
            out_pos += 1
        elif isinstance(k, (int, np.integer)) and not isinstance(k, bool):
            ints.append((ax, int(k)))
        else:
            raise _unsupported(f"aten::index (index of type {type(k).__name__})", tr)
        ax += 1
    if axes:
        ins = [x, tr.g.ints(starts), tr.g.shape_const("slice_end", ends), tr.g.ints(axes)]
        x = tr.g.add("Slice", ins + [tr.g.ints(steps)])
    for ax, i in reversed(ints):  # the last first: earlier axes keep their numbers
        x = tr.g.add("Gather", [x, tr.name(np.asarray(i, np.int64))], {"axis": ax})
    if nones:
        x = tr.g.add("Unsqueeze", [x, tr.g.ints(nones)])
    return x


def _getitem(tr, inp, outs):
    a, key, basic = inp
    if not basic:
        keys = key if isinstance(key, tuple) else (key,)
        tensors = [k for k in keys if isinstance(k, ember.Tensor) or hasattr(k, "dtype")]
        if len(keys) == 1 and len(tensors) == 1 and _dt(tensors[0]).kind in "iu":
            return tr.g.add("Gather", [tr.name(a), tr.name(tensors[0])], {"axis": 0})
        raise _unsupported("aten::index (advanced indexing)", tr)
    return _index(tr, tr.name(a), tuple(a.shape), key)


def _slice(tr, inp, outs):
    a, key = inp
    return _index(tr, tr.name(a), tuple(a.shape), key)


def _split(tr, inp, outs):
    """split/chunk's one node: a Slice per piece (names in the pieces' order)."""
    a, d, sizes, _ = inp
    x, shape = tr.name(a), tuple(a.shape)
    names, start = [], 0
    for n in sizes:
        names.append(_index(tr, x, shape, (slice(None),) * d + (slice(start, start + n),)))
        start += n
    return names


def _cat(tr, inp, outs):
    dim, *tensors = inp
    return tr.g.add("Concat", [tr.name(t) for t in tensors], {"axis": int(dim)})


def _stack(tr, inp, outs):
    *tensors, dim = inp
    axes = tr.g.ints([dim])
    parts = [tr.g.add("Unsqueeze", [tr.name(t), axes]) for t in tensors]
    return tr.g.add("Concat", parts, {"axis": int(dim)})


TABLE = {
    "arith.Add": _binary("Add"),
    "arith.Sub": _binary("Sub"),
    "arith.Mul": _binary("Mul"),
    "arith.Div": _binary("Div"),
    "arith.Pow": _pow,
    "_elementwise.Neg": _unary("Neg"),
    "_elementwise.Abs": _unary("Abs"),
    "_elementwise.Sqrt": _unary("Sqrt"),
    "_elementwise.Rsqrt": _rsqrt,
    "_elementwise.Exp": _unary("Exp"),
    "_elementwise.Log": _unary("Log"),
    "_elementwise.Erf": _unary("Erf"),
    "_elementwise.Sin": _unary("Sin"),
    "_elementwise.Cos": _unary("Cos"),
    "_elementwise.Reciprocal": _unary("Reciprocal"),
    "_elementwise.Floor": _unary("Floor"),
    "_elementwise.Ceil": _unary("Ceil"),
    "_elementwise.Relu": _unary("Relu"),
    "_elementwise.Sigmoid": _unary("Sigmoid"),
    "_elementwise.Tanh": _unary("Tanh"),
    "_elementwise.Silu": _silu,
    "_elementwise.LeakyRelu": _leaky_relu,
    "_elementwise.Elu": _elu,
    "_elementwise.Hardtanh": _hardtanh,
    "_elementwise.Softplus": _softplus,
    "compare.Clamp": _clamp,
    "compare.Where": _where,
    "activation._Gelu": _gelu,
    "activation._Softmax": _softmax("Softmax"),
    "activation._LogSoftmax": _softmax("LogSoftmax"),
    "unary.Cast": _cast,
    "unary.Clone": _identity,
    "linear._Linear": _linear,
    "linalg.MatMul": _matmul,
    "conv.ConvNd": _conv,
    "conv_transpose.ConvTransposeNd": _conv_transpose,
    "pooling.MaxPool": _max_pool,
    "pooling.AvgPool": _avg_pool,
    "pool_adaptive.AdaptiveAvgPool": _adaptive_avg_pool,
    "normalization._Norm": _norm,
    "embedding._Embedding": _embedding,
    "attention.ScaledDotProductAttention": _sdpa,
    "reduction.Sum": _reduction("ReduceSum"),
    "reduction.Mean": _reduction("ReduceMean"),
    "reduction.AMaxMin": _amax,
    "view.Reshape": _reshape,
    "view.Permute": _permute,
    "view.Expand": _expand,
    "view.Slice": _slice,
    "join.SplitViews": _split,
    "indexing.GetItem": _getitem,
    "join.Cat": _cat,
    "join.Stack": _stack,
}
