"""``Compare``: many Measurements as text tables, as ``torch.utils.benchmark.Compare``.

One table per label; a row per (num_threads, env, sub_label or stmt), grouped under a
"N threads:" rule; a column per description. Replicates of a task are merged first. The text
(widths, centring, digits, colours) is torch's, character for character.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Iterable

from . import common

__all__ = ["Colorize", "Compare"]

# ANSI escapes of the colourised tables
BEST = "\033[92m"
GOOD = "\033[34m"
BAD = "\033[2m\033[91m"
VERY_BAD = "\033[31m"
BOLD = "\033[1m"
TERMINATE = "\033[0m"

_Cell = common.Measurement | None


class Colorize(enum.Enum):
    """How cells are coloured against the best time: not at all, per column or per row."""

    NONE = "none"
    COLUMNWISE = "columnwise"
    ROWWISE = "rowwise"


class _Column:
    """One column's number format, shared by its cells so that decimal points line up."""

    def __init__(
        self,
        grouped_results: list[tuple[_Cell, ...]],
        time_scale: float,
        time_unit: str,
        trim_significant_figures: bool,
        highlight_warnings: bool,
    ) -> None:
        self._grouped_results = grouped_results
        self._flat_results = [r for group in grouped_results for r in group]
        self._time_scale = time_scale
        self._time_unit = time_unit
        self._trim_significant_figures = trim_significant_figures
        self._highlight_warnings = highlight_warnings and any(
            r.has_warnings for r in self._flat_results if r
        )
        # digits before the point, from the float32 log10 torch takes
        leading = [
            math.ceil(common._log10(r.median / time_scale)) if r else None
            for r in self._flat_results
        ]
        unit_digits = max(d for d in leading if d is not None)
        if trim_significant_figures:
            decimal_digits = min(
                max(m.significant_figures - d, 0)
                for d, m in zip(leading, self._flat_results)
                if m is not None and d is not None
            )
        else:
            decimal_digits = 1
        width = unit_digits + decimal_digits + (1 if decimal_digits else 0)
        # the spec string itself is torch's, so odd widths (0, negative) format as they do there
        self._number_spec = f">{width}.{decimal_digits}f"
        self._note_spec = f">{7 if self._highlight_warnings else 0}"

    def get_results_for(self, group: int) -> tuple[_Cell, ...]:
        return self._grouped_results[group]

    def num_to_str(self, value: float | None, estimated_sigfigs: int, spread: float | None) -> str:
        """A cell's text; an empty cell is blanks of a filled one's width."""
        if value is None:
            return " " * len(self.num_to_str(1, estimated_sigfigs, None))
        if self._trim_significant_figures:
            value = common.trim_sigfig(value, estimated_sigfigs)
        note = ""
        if self._highlight_warnings and spread is not None:
            note = f" (! {spread * 100:.0f}%)"
        return format(value, self._number_spec) + format(note, self._note_spec)


def optional_min(seq: Iterable[float]) -> float | None:
    """min(seq), or None for an empty sequence."""
    values = list(seq)
    return min(values) if values else None


class _Row:
    """One row of a table: its name cell and one cell per column."""

    def __init__(
        self,
        results: list[_Cell],
        row_group: int,
        render_env: bool,
        env_str_len: int,
        row_name_str_len: int,
        time_scale: float,
        colorize: Colorize,
        num_threads: int | None = None,
    ) -> None:
        self._results = results
        self._row_group = row_group
        self._render_env = render_env
        self._env_str_len = env_str_len
        self._row_name_str_len = row_name_str_len
        self._time_scale = time_scale
        self._colorize = colorize
        self._columns: tuple[_Column, ...] = ()
        self._num_threads = num_threads  # set on the first row of a thread group only

    def register_columns(self, columns: tuple[_Column, ...]) -> None:
        self._columns = columns

    def as_column_strings(self) -> list[str]:
        first = next(r for r in self._results if r is not None)
        env = f"({first.env})" if self._render_env else ""
        cells = ["  " + env.ljust(self._env_str_len + 4) + first.as_row_name]
        for m, col in zip(self._results, self._columns):
            if m is None:
                cells.append(col.num_to_str(None, 1, None))
            else:
                spread = m.iqr / m.median if m.has_warnings else None
                cells.append(
                    col.num_to_str(m.median / self._time_scale, m.significant_figures, spread)
                )
        return cells

    @staticmethod
    def color_segment(segment: str, value: float, best_value: float) -> str:
        """``segment`` coloured by how ``value`` compares with ``best_value``."""
        if value <= best_value * 1.01 or value <= best_value + 100e-9:
            return BEST + BOLD + segment + TERMINATE * 2
        if value <= best_value * 1.1:
            return GOOD + BOLD + segment + TERMINATE * 2
        if value >= best_value * 5:
            return VERY_BAD + BOLD + segment + TERMINATE * 2
        if value >= best_value * 2:
            return BAD + segment + TERMINATE * 2
        return segment

    def row_separator(self, overall_width: int) -> list[str]:
        if self._num_threads is None:
            return []
        return [f"{self._num_threads} threads: ".ljust(overall_width, "-")]

    def finalize_column_strings(
        self, column_strings: list[str], col_widths: list[int]
    ) -> list[str]:
        if self._colorize == Colorize.ROWWISE:
            row_min = min(r.median for r in self._results if r is not None)
            best: list[float | None] = [row_min] * len(column_strings)
        elif self._colorize == Colorize.COLUMNWISE:
            best = [
                optional_min(
                    r.median for r in col.get_results_for(self._row_group) if r is not None
                )
                for col in self._columns
            ]
        else:
            best = [None] * len(column_strings)
        out = [column_strings[0].ljust(col_widths[0])]
        for text, width, result, best_value in zip(
            column_strings[1:], col_widths[1:], self._results, best
        ):
            text = text.center(width)
            if self._colorize != Colorize.NONE and result is not None and best_value is not None:
                text = self.color_segment(text, result.median, best_value)
            out.append(text)
        return out


class Table:
    """The table of the Measurements that share one label."""

    def __init__(
        self,
        results: list[common.Measurement],
        colorize: Colorize,
        trim_significant_figures: bool,
        highlight_warnings: bool,
    ) -> None:
        if len({r.label for r in results}) != 1:
            raise AssertionError("All results must share the same label")
        self.results = results
        self._colorize = colorize
        self._trim_significant_figures = trim_significant_figures
        self._highlight_warnings = highlight_warnings
        self.label = results[0].label
        self.time_unit, self.time_scale = common.select_unit(min(r.median for r in results))
        self.row_keys = common.ordered_unique(self.row_fn(r) for r in results)
        # stable on (num_threads, env): statements keep the order they came in
        self.row_keys.sort(key=lambda key: key[:2])
        self.column_keys = common.ordered_unique(self.col_fn(r) for r in results)
        self.rows, self.columns = self.populate_rows_and_columns()

    @staticmethod
    def row_fn(m: common.Measurement) -> tuple[int, str | None, str]:
        return m.num_threads, m.env, m.as_row_name

    @staticmethod
    def col_fn(m: common.Measurement) -> str | None:
        return m.description

    def populate_rows_and_columns(self) -> tuple[tuple[_Row, ...], tuple[_Column, ...]]:
        row_at = {key: i for i, key in enumerate(self.row_keys)}
        col_at = {key: j for j, key in enumerate(self.column_keys)}
        grid: list[list[_Cell]] = [[None] * len(self.column_keys) for _ in self.row_keys]
        for r in self.results:
            grid[row_at[self.row_fn(r)]][col_at[self.col_fn(r)]] = r

        envs = {r.env for r in self.results}
        render_env = len(envs) > 1
        env_str_len = max(len(e) for e in envs) if render_env else 0
        row_name_str_len = max(len(r.as_row_name) for r in self.results)

        rows: list[_Row] = []
        groups: list[list[list[_Cell]]] = []  # the grid's rows, per thread count
        prior_threads, prior_env = -1, ""
        for (num_threads, env, _), cells in zip(self.row_keys, grid):
            new_group = num_threads != prior_threads
            if new_group:
                prior_threads, prior_env = num_threads, ""
                groups.append([])
            rows.append(
                _Row(
                    results=cells,
                    row_group=len(groups) - 1,
                    # the env is written on the first row of each run of equal envs
                    render_env=render_env and env != prior_env,
                    env_str_len=env_str_len,
                    row_name_str_len=row_name_str_len,
                    time_scale=self.time_scale,
                    colorize=self._colorize,
                    num_threads=num_threads if new_group else None,
                )
            )
            groups[-1].append(cells)
            prior_env = env

        columns = tuple(
            _Column(
                grouped_results=[tuple(cells[j] for cells in g) for g in groups],
                time_scale=self.time_scale,
                time_unit=self.time_unit,
                trim_significant_figures=self._trim_significant_figures,
                highlight_warnings=self._highlight_warnings,
            )
            for j in range(len(self.column_keys))
        )
        for row in rows:
            row.register_columns(columns)
        return tuple(rows), columns

    def render(self) -> str:
        string_rows = [["", *self.column_keys]]
        string_rows.extend(r.as_column_strings() for r in self.rows)
        num_cols = max(len(sr) for sr in string_rows)
        for sr in string_rows:
            sr.extend([""] * (num_cols - len(sr)))

        col_widths = [max(len(s) for s in col) for col in zip(*string_rows)]
        header = "  |  ".join(s.center(w) for s, w in zip(string_rows[0], col_widths))
        overall_width = len(header)
        lines = [header]
        for string_row, row in zip(string_rows[1:], self.rows):
            lines.extend(row.row_separator(overall_width))
            lines.append("  |  ".join(row.finalize_column_strings(string_row, col_widths)))

        title = f" {self.label or ''} ".center(overall_width - 2, "-")
        unit = self.time_unit
        text = f"[{title}]\n" + "\n".join(lines) + "\n\n"
        text += f"Times are in {common.unit_to_english(unit)}s ({unit}).\n"
        if self._highlight_warnings and any(r.has_warnings for r in self.results):
            text += "(! XX%) Measurement has high variance, where XX is the IQR / median * 100.\n"
        return text


class Compare:
    """Tables comparing many Measurements: one per label, rows by thread count, env and
    sub_label (else stmt), columns by description; replicates are merged first.

    ``print()`` or ``str()`` renders them; ``trim_significant_figures()``, ``colorize()`` and
    ``highlight_warnings()`` switch options on. Every Measurement needs a ``description``
    (torch fails on None with a TypeError, and so does this).
    """

    def __init__(self, results: list[common.Measurement]) -> None:
        self._results: list[common.Measurement] = []
        self.extend_results(results)
        self._trim_significant_figures = False
        self._colorize = Colorize.NONE
        self._highlight_warnings = False

    def __str__(self) -> str:
        return "\n".join(self._render())

    def extend_results(self, results: Iterable[common.Measurement]) -> None:
        """Add more Measurements (ValueError for anything else; nothing is added then)."""
        results = list(results)
        for r in results:
            if not isinstance(r, common.Measurement):
                raise ValueError(f"Expected an instance of `Measurement`, got {type(r)} instead.")
        self._results.extend(results)

    def trim_significant_figures(self) -> None:
        """Print each time with only the digits its spread supports."""
        self._trim_significant_figures = True

    def colorize(self, rowwise: bool = False) -> None:
        """Colour times against the best in their column (or, ``rowwise``, in their row)."""
        self._colorize = Colorize.ROWWISE if rowwise else Colorize.COLUMNWISE

    def highlight_warnings(self) -> None:
        """Mark times whose IQR is 10% of the median or more with "(! XX%)"."""
        self._highlight_warnings = True

    def print(self) -> None:
        """Print the tables."""
        print(str(self))

    def _render(self) -> list[str]:
        by_label: dict[str | None, list[common.Measurement]] = {}
        for r in common.Measurement.merge(self._results):
            by_label.setdefault(r.label, []).append(r)
        return [self._layout(group) for group in by_label.values()]

    def _layout(self, results: list[common.Measurement]) -> str:
        table = Table(
            results, self._colorize, self._trim_significant_figures, self._highlight_warnings
        )
        return table.render()
