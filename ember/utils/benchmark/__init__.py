"""ember.utils.benchmark: time statements and tabulate the results, as
``torch.utils.benchmark``.

``Timer`` (Python statements), ``Measurement``, ``Compare`` and the formatting helpers behave
and print as torch's. The Fuzzer family and Callgrind's result classes are not provided: asking
for them raises ember's not-implemented error.
"""

from ..._torch_alias import module_getattr as _module_getattr
from .utils.common import (
    Measurement,
    TaskSpec,
    ordered_unique,
    select_unit,
    set_torch_threads,
    trim_sigfig,
    unit_to_english,
)
from .utils.compare import Colorize, Compare
from .utils.timer import Language, Timer, timer

__all__ = [
    "TaskSpec",
    "Measurement",
    "select_unit",
    "unit_to_english",
    "trim_sigfig",
    "ordered_unique",
    "set_torch_threads",
    "Timer",
    "timer",
    "Language",
    "Colorize",
    "Compare",
]

__getattr__ = _module_getattr(__name__)  # Fuzzer, CallgrindStats...: the not-implemented error
