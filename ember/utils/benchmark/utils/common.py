"""What a benchmark measured (``TaskSpec``, ``Measurement``) and the helpers that format times, as
``torch.utils.benchmark.utils.common``.

torch computes several of these numbers on float32 tensors (``torch.tensor(python_float)``): the
base-10 logarithms that pick a unit or count digits, the spread behind ``significant_figures``
and the rounding of ``trim_sigfig``. They are computed here in the same precision, so a value on
a unit or digit boundary falls on the same side as in torch and tables print the same text.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import textwrap
from collections.abc import Iterable, Iterator
from typing import Any

import numpy as np

from ...._backend.cpu.threads import get_num_threads, set_num_threads

__all__ = [
    "TaskSpec",
    "Measurement",
    "select_unit",
    "unit_to_english",
    "trim_sigfig",
    "ordered_unique",
    "set_torch_threads",
]

_MAX_SIGNIFICANT_FIGURES = 4
_MIN_CONFIDENCE_INTERVAL = 25e-9  # seconds: no timer resolves finer than this
# a relative IQR above these gets a warning in the repr (and a mark in Compare's tables)
_IQR_WARN_THRESHOLD = 0.1
_IQR_GROSS_WARN_THRESHOLD = 0.25

_UNITS = {-3: "ns", -2: "us", -1: "ms"}  # floor(log10(t) / 3) -> unit; anything else is "s"
_SCALES = {"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "s": 1}
_ENGLISH = {"ns": "nanosecond", "us": "microsecond", "ms": "millisecond", "s": "second"}


def _log10(x: float) -> float:
    """log10(x) as ``torch.tensor(x).log10().item()``: float32 unless x is a NumPy float64."""
    with np.errstate(invalid="ignore", divide="ignore"):  # torch gives nan/-inf silently
        if isinstance(x, np.float64):
            return float(np.log10(x))
        # torch's float32 log10 is correctly rounded; NumPy's float32 loop is not, so go through
        # float64 and round once
        return float(np.float32(np.log10(np.float64(np.float32(x)))))


@dataclasses.dataclass(init=True, repr=False, eq=True, frozen=True)
class TaskSpec:
    """What a Timer runs: its code and the labels that name it (everything but the globals)."""

    stmt: str
    setup: str
    global_setup: str = ""
    label: str | None = None
    sub_label: str | None = None
    description: str | None = None
    env: str | None = None
    num_threads: int = 1

    @property
    def title(self) -> str:
        """The label (else the one-line stmt), with the sub_label after a colon."""
        suffix = f": {self.sub_label}" if self.sub_label else ""
        if self.label is not None:
            return self.label + suffix
        if "\n" not in self.stmt:
            return self.stmt + suffix
        sub = f" ({self.sub_label})" if self.sub_label else ""
        return f"stmt:{sub}\n{textwrap.indent(self.stmt, '  ')}"

    def setup_str(self) -> str:
        """The setup as the repr shows it; empty for no setup (``"pass"``)."""
        if self.setup == "pass" or not self.setup:
            return ""
        if "\n" in self.setup:
            return f"setup:\n{textwrap.indent(self.setup, '  ')}"
        return f"setup: {self.setup}"

    def summarize(self) -> str:
        """Title, description and setup, one section each (a multi-line one followed by a blank
        line), for the reprs of the classes that hold a TaskSpec."""
        sections = [s for s in (self.title, self.description or "", self.setup_str()) if s]
        return "\n".join(s + "\n" if "\n" in s else s for s in sections)


_TASKSPEC_FIELDS = tuple(f.name for f in dataclasses.fields(TaskSpec))


@dataclasses.dataclass(init=True, repr=False)
class Measurement:
    """The times of one or more runs of a statement, with statistics over them.

    Each of ``raw_times`` is the time of ``number_per_run`` executions; statistics are over
    ``times`` (per execution). The fields of ``task_spec`` read as attributes (``m.stmt``,
    ``m.label``, ``m.num_threads``...). Picklable; ``metadata`` is the caller's.
    """

    number_per_run: int
    raw_times: list[float]
    task_spec: TaskSpec
    metadata: dict[Any, Any] | None = None

    def __post_init__(self) -> None:
        # filled on first use by _lazy_init (the times are never re-read afterwards, as torch)
        self._sorted_times: tuple[float, ...] = ()
        self._warnings: tuple[str, ...] = ()
        self._median: float = -1.0
        self._mean: float = -1.0
        self._p25: float = -1.0
        self._p75: float = -1.0

    def __getattr__(self, name: str) -> Any:
        if name in _TASKSPEC_FIELDS:
            return getattr(self.task_spec, name)
        return super().__getattribute__(name)

    @property
    def times(self) -> list[float]:
        """Each raw time divided by ``number_per_run``: seconds per execution."""
        return [t / self.number_per_run for t in self.raw_times]

    @property
    def median(self) -> float:
        """Median of ``times`` (linear interpolation, as ``torch.quantile``)."""
        self._lazy_init()
        return self._median

    @property
    def mean(self) -> float:
        """Mean of ``times``."""
        self._lazy_init()
        return self._mean

    @property
    def iqr(self) -> float:
        """Interquartile range of ``times``: 75th minus 25th percentile."""
        self._lazy_init()
        return self._p75 - self._p25

    @property
    def significant_figures(self) -> int:
        """A rough count (1 to 4) of the digits of the median that the spread supports.

        From the middle half of the sorted times: a 90% confidence interval of the mean with
        z = 1.645 (never below 25 ns), and floor(log10(median / interval)). ``Compare`` uses it
        when trimming digits; the repr does not.
        """
        self._lazy_init()
        n_total = len(self._sorted_times)
        middle = self._sorted_times[n_total // 4 : math.ceil(3 * n_total / 4)]
        # torch takes the spread on a float32 tensor, accumulating in float64
        as_f32 = np.asarray(middle, dtype=np.float32).astype(np.float64)
        std = float(np.float32(as_f32.std()))
        sqrt_n = float(np.sqrt(np.float32(len(middle))))
        interval = max(1.645 * std / sqrt_n, _MIN_CONFIDENCE_INTERVAL)
        digits = math.floor(_log10(self._median / interval))
        return min(max(digits, 1), _MAX_SIGNIFICANT_FIGURES)

    @property
    def has_warnings(self) -> bool:
        """True when the IQR is 10% of the median or more (the repr then prints a warning)."""
        self._lazy_init()
        return bool(self._warnings)

    def _lazy_init(self) -> None:
        if not self.raw_times or self._sorted_times:
            return
        self._sorted_times = tuple(sorted(self.times))
        ordered = np.asarray(self._sorted_times, dtype=np.float64)
        # NumPy's default ("linear") quantile is torch.quantile's interpolation, bit for bit
        self._median = float(np.quantile(ordered, 0.5))
        self._mean = float(ordered.mean())
        self._p25 = float(np.quantile(ordered, 0.25))
        self._p75 = float(np.quantile(ordered, 0.75))

        if not self.meets_confidence(_IQR_GROSS_WARN_THRESHOLD):
            self._add_warning("This suggests significant environmental influence.")
        elif not self.meets_confidence(_IQR_WARN_THRESHOLD):
            self._add_warning("This could indicate system fluctuation.")

    def _add_warning(self, why: str) -> None:
        relative = self.iqr / self.median * 100
        self._warnings += (
            f"  WARNING: Interquartile range is {relative:.1f}% of the median measurement.\n"
            f"           {why}",
        )

    def meets_confidence(self, threshold: float = _IQR_WARN_THRESHOLD) -> bool:
        """True when IQR / median is below ``threshold``."""
        return self.iqr / self.median < threshold

    @property
    def title(self) -> str:
        """The task's title (label, else stmt, with the sub_label)."""
        return self.task_spec.title

    @property
    def env(self) -> str | None:
        """The task's ``env``: None when unset, as torch's (its "Unspecified env" is never
        reached: that property fails and attribute lookup falls back to the TaskSpec field)."""
        return self.task_spec.env

    @property
    def as_row_name(self) -> str:
        """The row name in ``Compare``: sub_label, else stmt, else ``"[Unknown]"``."""
        return self.sub_label or self.stmt or "[Unknown]"

    def __repr__(self) -> str:
        """Object line, task summary, median, IQR (4+ times), counts and warnings, as torch's."""
        self._lazy_init()
        n = len(self._sorted_times)
        unit, scale = select_unit(self._median)
        lines = [object.__repr__(self), self.task_spec.summarize()]
        lines.append(f"  {'Median: ' if n > 1 else ''}{self._median / scale:.2f} {unit}")
        if n >= 4:
            lines.append(
                f"  IQR:    {self.iqr / scale:.2f} {unit} "
                f"({self._p25 / scale:.2f} to {self._p75 / scale:.2f})"
            )
        threads = self.num_threads
        lines.append(
            f"  {n} measurement{'s' if n > 1 else ''}, {self.number_per_run} runs "
            f"{'per measurement,' if n > 1 else ','} {threads} thread{'s' if threads > 1 else ''}"
        )
        lines.append("\n".join(self._warnings))
        return "\n".join("\n".join(lines).strip().splitlines())

    @staticmethod
    def merge(measurements: Iterable[Measurement]) -> list[Measurement]:
        """Pool replicates of the same TaskSpec into one Measurement each (first-seen order).

        The pooled times are per execution (``number_per_run=1``), since replicates may have
        run different block sizes; metadata is dropped.
        """
        groups: dict[TaskSpec, list[float]] = {}
        for m in measurements:
            groups.setdefault(m.task_spec, []).extend(m.times)
        return [
            Measurement(number_per_run=1, raw_times=times, task_spec=spec, metadata=None)
            for spec, times in groups.items()
        ]


def select_unit(t: float) -> tuple[str, float]:
    """The unit ("ns", "us", "ms" or "s") and its size in seconds that show ``t`` seconds as a
    number from 1 to 1000."""
    unit = _UNITS.get(int(_log10(t) // 3), "s")
    return unit, _SCALES[unit]


def unit_to_english(u: str) -> str:
    """The English name of a unit: ``"ns"`` -> ``"nanosecond"``, likewise "us", "ms", "s"."""
    return _ENGLISH[u]


def trim_sigfig(x: float, n: int) -> float:
    """``x`` rounded to ``n`` significant figures (3.14159, 2 -> 3.1), as float32 arithmetic
    gives it (torch's result, 3.1000001430511475)."""
    if n != int(n):
        raise AssertionError("Number of significant figures must be an integer")
    magnitude = math.ceil(_log10(abs(x)))
    scale = 10 ** (magnitude - n)
    ratio = x / scale
    if isinstance(ratio, np.float64):  # torch.tensor keeps a NumPy float64 in float64
        return float(np.round(ratio) * scale)
    # torch rounds (half to even) and rescales a float32 tensor; the scale becomes float32 too
    return float(np.float32(np.round(np.float32(ratio))) * np.float32(scale))


def ordered_unique(elements: Iterable[Any]) -> list[Any]:
    """The distinct elements in first-seen order."""
    return list(dict.fromkeys(elements))


@contextlib.contextmanager
def set_torch_threads(n: int) -> Iterator[None]:
    """Run the block with ember's CPU thread count set to ``n``; the old count comes back after."""
    prior = get_num_threads()
    try:
        set_num_threads(n)
        yield
    finally:
        set_num_threads(prior)
