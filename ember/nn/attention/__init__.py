"""ember.nn.attention: ``SDPBackend`` and the ``sdpa_kernel`` context manager, as torch's.

ember computes ``scaled_dot_product_attention`` one way (its own math), so the backend flags kept
here only record which kernels a script asked for: they are read back by
``torch.backends.cuda.flash_sdp_enabled()`` and its siblings, and restored on exit, exactly as
torch's are, but they do not change which computation runs.
"""

from __future__ import annotations

import contextlib
import enum
from collections.abc import Iterable, Iterator

from ..._torch_alias import module_getattr as _module_getattr

__all__ = ["SDPBackend", "sdpa_kernel"]


class SDPBackend(enum.Enum):
    """The scaled dot product attention kernels torch knows (ember records the choice only).

    As torch's enum: members compare by identity (``SDPBackend.MATH != 0``), ``int()`` gives the
    value.
    """

    ERROR = -1
    MATH = 0
    FLASH_ATTENTION = 1
    EFFICIENT_ATTENTION = 2
    CUDNN_ATTENTION = 3
    OVERRIDEABLE = 4

    def __int__(self) -> int:
        return self.value

    def __repr__(self) -> str:
        return f"<SDPBackend.{self.name}: {self.value}>"

    def __str__(self) -> str:
        return f"SDPBackend.{self.name}"


# the flag name in torch's setters, and the backend it switches; every backend starts enabled
_FLAG_BACKENDS: dict[str, SDPBackend] = {
    "cudnn": SDPBackend.CUDNN_ATTENTION,
    "flash": SDPBackend.FLASH_ATTENTION,
    "mem_efficient": SDPBackend.EFFICIENT_ATTENTION,
    "math": SDPBackend.MATH,
    "overrideable": SDPBackend.OVERRIDEABLE,
}
_enabled: dict[str, bool] = dict.fromkeys(_FLAG_BACKENDS, True)
_priority: list[int] = [1, 2, 0, 3, 4]  # torch's default order: flash, efficient, math, cudnn, ...
_math_fp16_bf16_reduction = [False]


def _type_name(value: object) -> str:
    t = type(value)
    return t.__qualname__ if t.__module__ == "builtins" else f"{t.__module__}.{t.__qualname__}"


def _set_flag(name: str, enabled: bool) -> None:
    """Record one backend flag; a non-bool raises torch's RuntimeError (its wording, as is)."""
    if type(enabled) is not bool:
        # torch's setters all name set_sdp_use_math, except cudnn's, which prints a stray "%s"
        who, sep = ("cudnn", "%s") if name == "cudnn" else ("math", "")
        raise RuntimeError(f"set_sdp_use_{who} expects a bool, but got {sep}{_type_name(enabled)}")
    _enabled[name] = enabled


def _get_flag(name: str) -> bool:
    return _enabled[name]


def _set_math_reduction(enabled: bool) -> None:
    if type(enabled) is not bool:
        raise RuntimeError(f"set_sdp_use_math expects a bool, but got {_type_name(enabled)}")
    _math_fp16_bf16_reduction[0] = enabled


def _get_math_reduction() -> bool:
    return _math_fp16_bf16_reduction[0]


def _get_priority_order() -> list[int]:
    return list(_priority)


def _current_backends(with_priority: bool = False) -> list[SDPBackend]:
    backends = [b for name, b in _FLAG_BACKENDS.items() if _enabled[name]]
    if with_priority:
        backends.sort(key=lambda b: _priority.index(int(b)))
    return backends


def _apply(backends: Iterable[SDPBackend], set_priority: bool) -> None:
    chosen = list(backends)
    for name, backend in _FLAG_BACKENDS.items():
        _enabled[name] = backend in chosen
    if set_priority:
        order = [int(b) for b in chosen]  # int() of a non-backend raises, as torch's does
        order += [p for p in _priority if p not in order]
        # torch keeps a fixed table of five entries and copies only the first five
        _priority[:] = order[: len(_priority)]


@contextlib.contextmanager
def sdpa_kernel(
    backends: list[SDPBackend] | SDPBackend, set_priority: bool = False
) -> Iterator[dict]:
    """Enable only ``backends`` for scaled dot product attention inside the block.

    As torch: one backend or a list of them (duplicates dropped); with ``set_priority`` the list
    order becomes the priority order; the previous flags come back on exit. An empty list is
    accepted (all flags off). ember's attention runs the same way whichever flags are set.
    """
    if not isinstance(backends, (list, SDPBackend)):
        raise AssertionError(
            "Backend must be an instance of SDPBackend or a list of SDPBackend instances, "
            f"got {type(backends).__name__}"
        )
    if isinstance(backends, SDPBackend):
        backends = [backends]
    backends = list(dict.fromkeys(backends))
    previous = _current_backends(with_priority=set_priority)
    try:
        _apply(backends, set_priority)
        yield {}
    finally:
        _apply(previous, set_priority)


__getattr__ = _module_getattr(__name__)  # unknown names: a clear not-implemented error
