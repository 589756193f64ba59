"""``Timer``: time a Python statement with ember's thread count pinned, as
``torch.utils.benchmark.Timer``.

It runs on ``timeit.Timer``, so statement and setup compile (and fail) as timeit's do. C++
statements and Callgrind instruction counts are torch features ember has no counterpart for.
"""

from __future__ import annotations

import enum
import shutil
import sys
import textwrap
import timeit
from collections.abc import Callable
from typing import Any

# the package itself: a statement's ``torch`` global (the package never imports this module, so
# this makes no import cycle)
import ember

from ...._backend.xp import cupy, cupy_loaded
from ...._torch_alias import not_implemented
from . import common

__all__ = ["Timer", "timer", "Language"]

_CALLGRIND_TOOLS = ("valgrind", "callgrind_control", "callgrind_annotate")


def timer() -> float:
    """``timeit.default_timer()`` after waiting for queued GPU work, if any can be queued."""
    # GPU work is only ever queued through CuPy, so before it is loaded there is nothing to wait
    # for and the clock read stays as cheap as timeit's
    if cupy_loaded():
        cupy().cuda.Device().synchronize()
    return timeit.default_timer()


class Language(enum.Enum):
    """The language of a Timer's statement (ember times Python only)."""

    PYTHON = 0
    CPP = 1


class Timer:
    """Times a statement in the manner of ``timeit.Timer``, with warmup, replicates and labels.

    ``stmt`` runs ``number`` times per measurement after ``setup``, in a namespace made of a
    copy of ``globals`` plus ``torch`` (the ember package) unless given. While it runs, ember
    uses ``num_threads`` CPU threads (1 by default, torch's choice for comparable numbers); the
    previous count comes back afterwards. ``label``, ``sub_label``, ``description`` and ``env``
    name the result in its repr and in ``Compare``'s tables.

    ``language=Language.CPP`` ("cpp", "c++") raises NotImplementedError: torch compiles the
    statement against libtorch's C++ API, which ember does not have.
    """

    def __init__(
        self,
        stmt: str = "pass",
        setup: str = "pass",
        global_setup: str = "",
        timer: Callable[[], float] = timer,
        globals: dict[str, Any] | None = None,
        label: str | None = None,
        sub_label: str | None = None,
        description: str | None = None,
        env: str | None = None,
        num_threads: int = 1,
        language: Language | str = Language.PYTHON,
    ) -> None:
        if not isinstance(stmt, str):
            raise ValueError("Currently only a `str` stmt is supported.")
        # a copy: exec adds __builtins__ to the namespace it is given
        self._globals = dict(globals or {})
        if language in (Language.PYTHON, "py", "python"):
            self._globals.setdefault("torch", ember)
            self._language = Language.PYTHON
            if global_setup:
                raise ValueError(
                    f"global_setup is C++ only, got `{global_setup}`. Most "
                    "likely this code can simply be moved to `setup`."
                )
        elif language in (Language.CPP, "cpp", "c++"):
            raise not_implemented("torch.utils.benchmark.Timer for C++ (language=Language.CPP)")
        else:
            raise ValueError(f"Invalid language `{language}`.")

        # code written in an indented triple-quoted string runs (and prints) as if unindented
        stmt, setup = _tidy(stmt), _tidy(setup)
        self._timer = timeit.Timer(stmt=stmt, setup=setup, timer=timer, globals=dict(self._globals))
        self._task_spec = common.TaskSpec(
            stmt=stmt,
            setup=setup,
            global_setup=global_setup,
            label=label,
            sub_label=sub_label,
            description=description,
            env=env,
            num_threads=num_threads,
        )

    def _timeit(self, number: int) -> float:
        # floored at 1 ns: a zero time would divide by zero in the statistics
        return max(self._timer.timeit(number), 1e-9)

    def timeit(self, number: int = 1000000) -> common.Measurement:
        """One measurement of ``number`` runs, after a warmup of ``number // 100`` (at least 2)."""
        with common.set_torch_threads(self._task_spec.num_threads):
            self._timeit(number=max(int(number // 100), 2))
            return common.Measurement(
                number_per_run=number,
                raw_times=[self._timeit(number=number)],
                task_spec=self._task_spec,
            )

    def repeat(self, repeat: int = -1, number: int = -1) -> None:
        """Not provided (as torch): use ``blocked_autorange``."""
        raise NotImplementedError("See `Timer.blocked_autorange.`")

    def autorange(self, callback: Callable[[int, float], Any] | None = None) -> None:
        """Not provided (as torch): use ``blocked_autorange``."""
        raise NotImplementedError("See `Timer.blocked_autorange.`")

    def _threaded_measurement_loop(
        self,
        number: int,
        time_hook: Callable[[], float],
        stop_hook: Callable[[list[float]], bool],
        min_run_time: float,
        max_run_time: float | None = None,
        callback: Callable[[int, float], Any] | None = None,
    ) -> list[float]:
        total_time = 0.0
        can_stop = False
        times: list[float] = []
        with common.set_torch_threads(self._task_spec.num_threads):
            while total_time < min_run_time or not can_stop:
                spent = time_hook()
                times.append(spent)
                total_time += spent
                if callback:
                    callback(number, spent)
                can_stop = stop_hook(times)
                if max_run_time and total_time > max_run_time:
                    break
        return times

    def _estimate_block_size(self, min_run_time: float) -> int:
        """Runs per block: grown tenfold until the timer's own overhead is under 0.01% of a block
        and a block takes min_run_time / 1000 (or a block alone exceeds min_run_time)."""
        with common.set_torch_threads(self._task_spec.num_threads):
            overhead = sorted(self._timeit(0) for _ in range(5))[2]
            number = 1
            while True:
                taken = self._timeit(number)
                if overhead / taken <= 1e-4 and taken >= min_run_time / 1000:
                    break
                if taken > min_run_time:
                    break
                if number * 10 > 2147483647:  # torch's bound (a C int in its C++ timer)
                    break
                number *= 10
        return number

    def blocked_autorange(
        self,
        callback: Callable[[int, float], Any] | None = None,
        min_run_time: float = 0.2,
    ) -> common.Measurement:
        """Blocks of a fixed number of runs, timed one by one until they add up to
        ``min_run_time`` seconds.

        The block size comes from a warmup that grows it until reading the clock costs under
        0.01% of a block, so short statements are measured without the timer's bias.
        ``callback(number, seconds)`` is called after each block.
        """
        number = self._estimate_block_size(min_run_time)
        times = self._threaded_measurement_loop(
            number,
            lambda: self._timeit(number),
            lambda times: True,
            min_run_time=min_run_time,
            callback=callback,
        )
        return common.Measurement(number_per_run=number, raw_times=times, task_spec=self._task_spec)

    def adaptive_autorange(
        self,
        threshold: float = 0.1,
        *,
        min_run_time: float = 0.01,
        max_run_time: float = 10.0,
        callback: Callable[[int, float], Any] | None = None,
    ) -> common.Measurement:
        """As ``blocked_autorange``, but keeps going until there are more than 3 blocks, they
        add up to ``min_run_time`` and IQR / median is below ``threshold``, or until
        ``max_run_time`` seconds have been spent."""
        number = self._estimate_block_size(min_run_time=0.05)

        def stop_hook(times: list[float]) -> bool:
            if len(times) <= 3:
                return False
            partial = common.Measurement(
                number_per_run=number, raw_times=times, task_spec=self._task_spec
            )
            return partial.meets_confidence(threshold=threshold)

        times = self._threaded_measurement_loop(
            number,
            lambda: self._timeit(number),
            stop_hook,
            min_run_time,
            max_run_time,
            callback=callback,
        )
        return common.Measurement(number_per_run=number, raw_times=times, task_spec=self._task_spec)

    def collect_callgrind(
        self,
        number: int = 100,
        *,
        repeats: int | None = None,
        collect_baseline: bool = True,
        retain_out_file: bool = False,
    ) -> Any:
        """Instruction counts under Callgrind: not implemented by ember.

        Raises what torch raises before profiling: ValueError for ``repeats < 1``, the
        statement's own error (it runs once), OSError("Missing: ...") when valgrind,
        callgrind_control or callgrind_annotate is not on the PATH; with all of them present,
        ember's not-implemented error.
        """
        if repeats is not None and repeats < 1:
            raise ValueError("If specified, `repeats` must be >= 1")
        self._timeit(1)
        if not sys.platform.startswith("linux"):  # torch's builds have valgrind hooks on Linux
            raise OSError("Valgrind is not supported on this platform.")
        missing = [tool for tool in _CALLGRIND_TOOLS if shutil.which(tool) is None]
        if missing:
            raise OSError("Missing: " + ", ".join(missing))
        raise not_implemented("torch.utils.benchmark.Timer.collect_callgrind")


def _tidy(code: str) -> str:
    """Dedented, without the newline that opens a triple-quoted block or trailing whitespace."""
    code = textwrap.dedent(code)
    return (code[1:] if code.startswith("\n") else code).rstrip()
