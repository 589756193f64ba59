"""torch's tensor printing: ``tensor([[1., 2.]], requires_grad=True)``, with its number
formatting (4 decimals, scientific notation for wide ranges, integers shown as ``1.``),
summarisation of large tensors, and the dtype/grad_fn suffixes."""

from __future__ import annotations

import math

import numpy as np

from . import dtypes
from .tensor import Tensor

PRECISION = 4
THRESHOLD = 1000
EDGEITEMS = 3
LINEWIDTH = 80
SCI_MODE = None  # None: chosen per tensor; True/False: forced

_PROFILES = {
    "default": (4, 1000, 3, 80),
    "short": (2, 1000, 2, 80),
    "full": (4, float("inf"), 3, 80),
}


def set_printoptions(
    precision=None, threshold=None, edgeitems=None, linewidth=None, profile=None, sci_mode=None
) -> None:
    """Printing options for tensors, as torch.set_printoptions."""
    global PRECISION, THRESHOLD, EDGEITEMS, LINEWIDTH, SCI_MODE
    if profile is not None:
        PRECISION, THRESHOLD, EDGEITEMS, LINEWIDTH = _PROFILES[profile]
    if precision is not None:
        PRECISION = precision
    if threshold is not None:
        THRESHOLD = threshold
    if edgeitems is not None:
        EDGEITEMS = edgeitems
    if linewidth is not None:
        LINEWIDTH = linewidth
    SCI_MODE = sci_mode


def get_printoptions() -> dict:
    """The current printing options."""
    return {
        "precision": PRECISION,
        "threshold": THRESHOLD,
        "edgeitems": EDGEITEMS,
        "linewidth": LINEWIDTH,
        "sci_mode": SCI_MODE,
    }


class _Formatter:
    """Picks one number format for all values shown (from the nonzero finite ones, as torch)
    and pads every value to a common width."""

    def __init__(self, values: np.ndarray, is_float: bool):
        self.floating = is_float
        self.int_mode = True
        self.sci_mode = False
        self.width = 1
        vals = values.reshape(-1)
        if not is_float:
            self.width = max((len(str(v)) for v in vals.tolist()), default=1)
            return
        v64 = vals.astype(np.float64)
        nz = v64[np.isfinite(v64) & (v64 != 0)]
        if nz.size == 0:
            return
        absnz = np.abs(nz)
        hi, lo = absnz.max(), absnz.min()
        self.int_mode = bool(np.all(nz == np.ceil(nz)))
        if self.int_mode:
            self.sci_mode = bool(hi / lo > 1000.0 or hi > 1e8)
        else:
            self.sci_mode = bool(hi / lo > 1000.0 or hi > 1e8 or lo < 1e-4)
        if SCI_MODE is not None:
            self.sci_mode = SCI_MODE
        if self.sci_mode:
            strs = [f"{v:.{PRECISION}e}" for v in nz.tolist()]
        elif self.int_mode:
            strs = [f"{v:.0f}." for v in nz.tolist()]
        else:
            strs = [f"{v:.{PRECISION}f}" for v in nz.tolist()]
        self.width = max(len(x) for x in strs)

    def format(self, v) -> str:
        if self.floating:
            if self.sci_mode:
                s = f"{v:.{PRECISION}e}"
            elif self.int_mode:
                s = f"{v:.0f}" + ("." if math.isfinite(v) else "")
            else:
                s = f"{v:.{PRECISION}f}"
        else:
            s = str(v)
        return " " * (self.width - len(s)) + s


def _special(v) -> str:
    if isinstance(v, float) and math.isnan(v):
        return "nan"
    if isinstance(v, float) and math.isinf(v):
        return "inf" if v > 0 else "-inf"
    return str(v)


def _summarize(a: np.ndarray) -> np.ndarray:
    """The edge items torch shows of a large tensor (for choosing the number format)."""
    if a.ndim == 0:
        return a.reshape(1)
    if a.shape[0] > 2 * EDGEITEMS:
        parts = [a[:EDGEITEMS], a[-EDGEITEMS:]]
    else:
        parts = [a]
    return np.concatenate(
        [_summarize(p[i]).reshape(-1) for p in parts for i in range(len(p))]
        or [np.zeros(0, a.dtype)]
    )


def _fmt_rec(a: np.ndarray, fmt: _Formatter, indent: int, summarize: bool) -> str:
    if a.ndim == 0:
        return fmt.format(a.item())
    if a.ndim == 1:
        items = a.tolist()
        if summarize and len(items) > 2 * EDGEITEMS:
            strs = (
                [fmt.format(v) for v in items[:EDGEITEMS]]
                + [" ..."]
                + [fmt.format(v) for v in items[-EDGEITEMS:]]
            )
        else:
            strs = [fmt.format(v) for v in items]
        per_line = max(1, math.floor((LINEWIDTH - indent) / (fmt.width + 2)))
        lines = [", ".join(strs[i : i + per_line]) for i in range(0, len(strs), per_line)]
        return "[" + (",\n" + " " * (indent + 1)).join(lines) + "]"
    n = a.shape[0]
    if summarize and n > 2 * EDGEITEMS:
        rows = (
            [_fmt_rec(a[i], fmt, indent + 1, summarize) for i in range(EDGEITEMS)]
            + ["..."]
            + [_fmt_rec(a[i], fmt, indent + 1, summarize) for i in range(n - EDGEITEMS, n)]
        )
    else:
        rows = [_fmt_rec(a[i], fmt, indent + 1, summarize) for i in range(n)]
    sep = "," + "\n" * (a.ndim - 1) + " " * (indent + 1)
    return "[" + sep.join(rows) + "]"


def tensor_str(t, indent: int) -> str:
    a = t._host()
    dt = t.dtype
    if dt is dtypes.bfloat16 or dt is dtypes.float16:
        a = a.astype(np.float32)
    if dt.is_complex:
        return _complex_str(a, indent)
    if a.size == 0:
        return "[]"
    summarize = a.size > THRESHOLD
    sample = _summarize(a) if summarize else a
    fmt = _Formatter(sample, dt.is_floating_point)
    if a.dtype == np.bool_:
        fmt = _Formatter(np.array([True]), False)
        fmt.width = max(len(str(v)) for v in sample.reshape(-1).tolist())
    return _fmt_rec(a, fmt, indent, summarize)


def _complex_str(a, indent) -> str:
    flat = a.reshape(-1)
    re = _Formatter(flat.real.astype(np.float64), True)
    im = _Formatter(np.abs(flat.imag.astype(np.float64)), True)

    class _C:
        width = re.width + im.width + 2

        @staticmethod
        def format(v):
            sign = "-" if v.imag < 0 or (v.imag == 0 and math.copysign(1, v.imag) < 0) else "+"
            return f"{re.format(v.real)}{sign}{im.format(abs(v.imag)).lstrip()}j"

    return _fmt_rec(a, _C, indent, a.size > THRESHOLD)


def tensor_repr(t, prefix: str = "tensor(") -> str:
    if type(t) is not Tensor and getattr(t, "_is_param", False):
        prefix = "Parameter containing:\ntensor("
    indent = len("tensor(")
    body = tensor_str(t, indent)
    suffixes = []
    dev = t.device
    if dev.type != "cpu":
        suffixes.append(f"device='{dev}'")
    dt = t.dtype
    shown_default = (
        dt is dtypes._default
        or dt is dtypes.int64
        or dt is dtypes.bool_
        or (dt is dtypes.complex64 and dtypes._default is dtypes.float32)
        or (dt is dtypes.complex128 and dtypes._default is dtypes.float64)
    )
    if t._data.size == 0 and t._data.shape != (0,):
        suffixes.append(f"size={tuple(t._data.shape)}")
    if not shown_default or (t._data.size == 0 and dt is not dtypes._default):
        suffixes.append(f"dtype={dt!r}")
    if t.grad_fn is not None:
        suffixes.append(f"grad_fn=<{t.grad_fn.name().rsplit('::', 1)[-1]}>")
    elif t._rg:
        suffixes.append("requires_grad=True")
    return _with_suffixes(prefix + body, suffixes, indent) + ")"


def _with_suffixes(text: str, suffixes: list, indent: int) -> str:
    """Append ', suffix' items, each on a new line when it would pass the line width."""
    parts = [text]
    last = len(text) - text.rfind("\n") + 1
    for suf in suffixes:
        if last + len(suf) + 2 > LINEWIDTH:
            parts.append(",\n" + " " * indent + suf)
            last = indent + len(suf)
        else:
            parts.append(", " + suf)
            last += len(suf) + 2
    return "".join(parts)
