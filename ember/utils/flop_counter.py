"""torch.utils.flop_counter: count the FLOPs of the matrix products, convolutions and attention
an ember program runs, forward and backward, per module, with torch's formulas and keys.

ember has no ATen ops, so the counter is an op mode of ``autograd.node``: it sees each op call
and maps the ember op to the ATen ops torch would have run for the same call (``linear`` as
``aten.addmm`` or ``aten.mm``, ``matmul`` as ``aten.mm``/``aten.bmm`` or an uncounted
``mv``/``dot``, ...). The backward FLOPs are known at forward time from the shapes and from
which inputs need a gradient; a post-hook on the node adds them when its backward runs, under
the modules then being differentiated (``ModuleTracker``'s parents).
"""

from __future__ import annotations

import math
import warnings
from collections import defaultdict
from collections.abc import Callable
from typing import Any

from .._backend.xp import is_cpu
from ..autograd import node as _node
from ..nn.modules.module import Module
from ..ops.attention import ScaledDotProductAttention
from ..ops.conv import ConvNd
from ..ops.conv_transpose import ConvTransposeNd
from ..ops.linalg import AddMM, MatMul
from ..ops.linear import _Linear
from ..tensor import Tensor
from .module_tracker import ModuleTracker

__all__ = ["FlopCounterMode", "register_flop_formula"]

_MM, _ADDMM, _BMM = "aten.mm", "aten.addmm", "aten.bmm"
_CONV, _CONV_BW = "aten.convolution", "aten.convolution_backward"
_SDPA_FW = "aten._scaled_dot_product_efficient_attention"
_SDPA_BW = "aten._scaled_dot_product_efficient_attention_backward"

# user formulas: op class -> f(*input shapes, out_shape=...) -> flops (register_flop_formula)
_custom_registry: dict = {}


def register_flop_formula(targets: Any, get_raw: bool = False) -> Callable:
    """Register ``f(*input_shapes, out_shape=...)`` as the forward FLOP count of ember op
    classes (torch keys its registry by ATen op; ember's ops are ``autograd.node.Op``
    subclasses). With ``get_raw`` the formula gets the op's arguments instead of shapes."""

    def register(fn: Callable) -> Callable:
        for t in targets if isinstance(targets, (list, tuple)) else (targets,):
            _custom_registry[t] = (fn, get_raw)
        return fn

    return register


def _shape(a: Any) -> Any:
    return tuple(a.shape) if isinstance(a, Tensor) else a


def _mm(m: int, k: int, n: int) -> int:
    return 2 * m * k * n


# --- what torch runs for each ember op: lists of (aten name, flops) forward, and per backward --


def _matmul_plan(a: Tensor, b: Tensor) -> tuple[str | None, int]:
    """The ATen product torch's matmul decomposes ``a @ b`` into (None: mv or dot, which torch
    does not count) and its FLOPs."""
    sa, sb = tuple(a.shape), tuple(b.shape)
    da, db = len(sa), len(sb)
    if da == 1 and db == 1:
        return None, 0
    if da == 2 and db == 1:
        return None, 0
    if da <= 2 and db == 2:
        m = sa[0] if da == 2 else 1
        return _MM, _mm(m, sa[-1], sb[1])
    if _folds(a, b):
        if (da >= db and db == 1) or (db > da and da == 1):
            return None, 0  # folded into an mv
        big = sa if da >= db else sb
        batch = math.prod(big[:-2])
        m = sa[-2] if da >= 2 else 1
        n = sb[-1] if db >= 2 else 1
        return _MM, batch * _mm(m, sa[-1], n)
    m = sa[-2] if da >= 2 else 1
    n = sb[-1] if db >= 2 else 1
    batch = math.prod(_broadcast(sa[:-2] if da >= 2 else (), sb[:-2] if db >= 2 else ()))
    return _BMM, batch * _mm(m, sa[-1], n)


def _broadcast(x: tuple, y: tuple) -> tuple:
    n = max(len(x), len(y))
    x, y = (1,) * (n - len(x)) + x, (1,) * (n - len(y)) + y
    return tuple(max(p, q) if min(p, q) != 0 else 0 for p, q in zip(x, y))


def _folds(a: Tensor, b: Tensor) -> bool:
    """torch's rule for running an n-d by (1 or 2)-d product as one 2-d product."""
    da, db = a.dim(), b.dim()
    big, small = (a, b) if da >= db else (b, a)
    if not (big.dim() >= 3 and small.dim() <= 2):
        return False
    if small.requires_grad:
        return True
    if da == 2:
        return False
    if big.numel() == 0:
        return True
    view = big if da >= db else big.mT
    shape, strides = view.shape, view.stride()
    return all(strides[i] == strides[i + 1] * shape[i + 1] for i in range(view.dim() - 2))


def _rule_matmul(inputs: tuple, out: Any) -> tuple[list, list]:
    a, b = inputs[0], inputs[1]
    key, flops = _matmul_plan(a, b)
    if key is None:
        return [], []
    return [(key, flops)], [[(key, flops)], [(key, flops)]]


def _rule_addmm(inputs: tuple, out: Any) -> tuple[list, list]:
    m1, m2 = inputs[1], inputs[2]
    f = _mm(m1.shape[0], m1.shape[1], m2.shape[1])
    return [(_ADDMM, f)], [[], [(_MM, f)], [(_MM, f)]]


def _rule_linear(inputs: tuple, out: Any) -> tuple[list, list]:
    x, w, b = inputs[0], inputs[1], inputs[2]
    rows = math.prod(x.shape[:-1])
    f = _mm(rows, w.shape[1], w.shape[0])
    fused = b is not None and (x.dim() <= 2 or x.is_contiguous())  # torch: addmm, else matmul
    return [(_ADDMM if fused else _MM, f)], [[(_MM, f)], [(_MM, f)], []]


def _conv_count(x: tuple, w: tuple, out: tuple, transposed: bool) -> int:
    """torch's convolution count: 2 * batch * Cout * Cin/groups * taps * positions."""
    positions = math.prod((x if transposed else out)[2:])
    return 2 * x[0] * w[0] * w[1] * math.prod(w[2:]) * positions


def _swap01(s: tuple) -> tuple:
    return (s[1], s[0]) + tuple(s[2:])


def _rule_conv(transposed: bool) -> Callable:
    def rule(inputs: tuple, out: Any) -> tuple[list, list]:
        x, w = tuple(inputs[0].shape), tuple(inputs[1].shape)
        y = tuple(out.shape)
        gin = _conv_count(y, w, x, not transposed)
        if transposed:
            gw = _conv_count(_swap01(y), _swap01(x), _swap01(w), False)
        else:
            gw = _conv_count(_swap01(x), _swap01(y), _swap01(w), False)
        bw = [[(_CONV_BW, gin)], [(_CONV_BW, gw)], [(_CONV_BW, 0)]]
        return [(_CONV, _conv_count(x, w, y, transposed))], bw

    return rule


def _rule_sdpa(inputs: tuple, out: Any) -> tuple[list, list]:
    q, k, v = inputs[0], inputs[1], inputs[2]
    dropout_p = inputs[5]
    sq, sk, sv = tuple(q.shape), tuple(k.shape), tuple(v.shape)
    bh = math.prod(sq[:-2])
    lq, d, s, dv = sq[-2], sq[-1], sk[-2], sv[-1]
    scores, values = bh * _mm(lq, d, s), bh * _mm(lq, s, dv)
    fused = q.dim() == 4 and (dropout_p == 0.0 or not is_cpu(q._data))
    if fused:
        if is_cpu(q._data):
            return [], []  # torch's CPU flash kernel has no formula: it counts 0
        bw = scores + 2 * values + 2 * bh * _mm(lq, s, d)
        return [(_SDPA_FW, scores + values)], [[(_SDPA_BW, bw)]] * 3
    # the math path: q k^T and p v as bmm; each input's gradient is one more bmm
    return [(_BMM, scores), (_BMM, values)], [
        [(_BMM, scores), ("p", values)],
        [(_BMM, scores), ("p", values)],
        [(_BMM, values)],
    ]


_RULES: dict = {
    MatMul: _rule_matmul,
    AddMM: _rule_addmm,
    _Linear: _rule_linear,
    ConvNd: _rule_conv(False),
    ConvTransposeNd: _rule_conv(True),
    ScaledDotProductAttention: _rule_sdpa,
}


def _backward_counts(per_input: list, needs: tuple) -> list:
    """The backward's (name, flops) for the inputs that need a gradient; ``"p"`` entries (the
    attention probabilities' gradient, a bmm) count once if any input that owns one needs it."""
    out, shared = [], None
    for i, entries in enumerate(per_input):
        if i < len(needs) and needs[i]:
            for key, f in entries:
                if key == "p":
                    shared = f
                else:
                    out.append((key, f))
    if shared is not None:
        out.append((_BMM, shared))
    if out and out[0][0] == _SDPA_BW:
        return out[:1]
    if any(k == _CONV_BW for k, _ in out):
        return [(_CONV_BW, sum(f for _, f in out))]
    return out


def _suffix(n: int) -> str:
    return ["", "K", "M", "B", "T"][max(0, min(4, (len(str(n)) - 2) // 3))]


def _with_suffix(n: int, suffix: str) -> str:
    return f"{n / 1000 ** ['', 'K', 'M', 'B', 'T'].index(suffix):.3f}{suffix}"


def _percent(n: int, total: int) -> str:
    return "0%" if total == 0 else f"{n / total:.2%}"


class FlopCounterMode:
    """Context manager counting the FLOPs run inside it, in total and per module, as
    torch.utils.flop_counter.FlopCounterMode (keys: "Global" and module paths; ops: torch's ATen
    names as strings, e.g. "aten.mm"). Prints the table on exit when ``display``."""

    def __init__(
        self,
        mods: Module | list | None = None,
        depth: int = 2,
        display: bool = True,
        custom_mapping: dict | None = None,
    ) -> None:
        if mods is not None:
            warnings.warn(
                "mods argument is not needed anymore, you can stop passing it", stacklevel=2
            )
        self.flop_counts: dict = defaultdict(lambda: defaultdict(int))
        self.depth = depth
        self.display = display
        self.custom_mapping = {**_custom_registry}
        for k, v in (custom_mapping or {}).items():
            self.custom_mapping[k] = v if isinstance(v, tuple) else (v, getattr(v, "_get_raw", 0))
        self.mod_tracker = ModuleTracker()
        self._active = False
        self._bw_handles: list = []

    def get_total_flops(self) -> int:
        """The FLOPs counted in all (torch's "Global" total)."""
        return sum(self.flop_counts["Global"].values())

    def get_flop_counts(self) -> dict[str, dict[Any, int]]:
        """{module path: {op: flops}}, with "Global" for the whole program."""
        return {k: dict(v) for k, v in self.flop_counts.items()}

    def get_table(self, depth: int | None = None) -> str:
        """The table torch prints: each module to ``depth`` with its ops, FLOPs and % of the
        total; "Global" first when some FLOPs lie outside every module."""
        if depth is None:
            depth = self.depth if self.depth is not None else 999999
        total = self.get_total_flops()
        suffix = _suffix(total)
        rows: list = []
        subsumed = False

        def rows_of(name: str, indent: int) -> list:
            nonlocal subsumed
            ops = self.flop_counts[name]
            flops = sum(ops.values())
            subsumed |= flops >= total
            pad = " " * indent
            out = [[pad + name, _with_suffix(flops, suffix), _percent(flops, total)]]
            for op, f in ops.items():
                out.append([f"{pad} - {op}", _with_suffix(f, suffix), _percent(f, total)])
            return out

        for name in sorted(self.flop_counts):
            if name == "Global" or name.count(".") + 1 > depth:
                continue
            rows.extend(rows_of(name, name.count(".")))
        if "Global" in self.flop_counts and not subsumed:
            for r in rows:
                r[0] = " " + r[0]
            rows = rows_of("Global", 0) + rows
        if not rows:
            rows = [["Global", "0", "0%"]]
        return _tabulate(["Module", "FLOP", "% Total"], rows)

    def __enter__(self) -> FlopCounterMode:
        self.flop_counts.clear()
        self.mod_tracker.__enter__()
        self._active = True
        _node.push_op_mode(self)
        return self

    def __exit__(self, *exc: Any) -> None:
        _node.pop_op_mode()
        self._active = False
        for h in self._bw_handles:
            h.remove()
        self._bw_handles.clear()
        self.mod_tracker.__exit__()
        if self.display:
            print(self.get_table(self.depth))

    def _add(self, counts: list) -> None:
        for par in set(self.mod_tracker.parents):
            d = self.flop_counts[par]
            for key, f in counts:
                d[key] += f

    def run_op(self, cls: type, inputs: tuple, proceed: Callable) -> Any:
        """The op mode's entry: run the op, count its forward, arm the count of its backward."""
        out = proceed()
        custom = self.custom_mapping.get(cls)
        if custom is not None:
            fn, raw = custom
            first = out[0] if isinstance(out, tuple) else out
            shape = _shape(first)
            args = inputs if raw else [_shape(a) for a in inputs]
            self._add([(cls.__name__, fn(*args, out_shape=shape))])
            return out
        rule = _RULES.get(cls)
        if rule is None:
            return out
        first = out[0] if isinstance(out, tuple) else out
        fw, bw = rule(inputs, first)
        if fw:
            self._add(fw)
        node = first.grad_fn if isinstance(first, Tensor) else None
        if bw and type(node) is cls:
            counts = _backward_counts(bw, node._needs)
            if counts:
                self._bw_handles.append(node.register_hook(self._backward_hook(counts)))
        return out

    def _backward_hook(self, counts: list) -> Callable:
        def hook(grad_inputs: Any, grad_outputs: Any) -> None:
            if self._active:
                self._add(counts)

        return hook


def _tabulate(header: list, rows: list) -> str:
    """A plain table as tabulate's default format, first column left, the others right."""
    cols = list(zip(header, *rows))
    widths = [max(len(str(c)) for c in col) for col in cols]

    def line(cells: list) -> str:
        out = []
        for i, (c, w) in enumerate(zip(cells, widths)):
            out.append(str(c).ljust(w) if i == 0 else str(c).rjust(w))
        return "  ".join(out)

    sep = "  ".join("-" * w for w in widths)
    return "\n".join([line(header), sep] + [line(r) for r in rows])
