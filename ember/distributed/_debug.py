"""Debug levels (``TORCH_DISTRIBUTED_DEBUG``) and ``breakpoint`` on one rank."""

from __future__ import annotations

import enum
import os
import sys

from .collectives import barrier
from .process_group import _default_pg, get_rank

__all__ = [
    "DebugLevel",
    "breakpoint",
    "get_debug_level",
    "set_debug_level",
    "set_debug_level_from_env",
]


class DebugLevel(enum.IntEnum):
    """How much the distributed package checks and logs, as ``torch.distributed.DebugLevel``."""

    OFF = 0
    INFO = 1
    DETAIL = 2


_level = {"now": DebugLevel.OFF}


def get_debug_level() -> DebugLevel:
    """The current debug level (OFF unless set, or read from TORCH_DISTRIBUTED_DEBUG)."""
    return _level["now"]


def set_debug_level(level: DebugLevel) -> None:
    """Set the debug level (ember records it; its collectives log nothing extra)."""
    _level["now"] = DebugLevel(level)


def set_debug_level_from_env() -> None:
    """Set the level from TORCH_DISTRIBUTED_DEBUG (OFF, INFO or DETAIL; unset means OFF)."""
    text = os.environ.get("TORCH_DISTRIBUTED_DEBUG", "OFF").strip().upper()
    try:
        _level["now"] = DebugLevel[text]
    except KeyError:
        raise ValueError(
            "The value of TORCH_DISTRIBUTED_DEBUG must be OFF, INFO, or DETAIL, not "
            f"{os.environ['TORCH_DISTRIBUTED_DEBUG']!r}"
        ) from None


if os.environ.get("TORCH_DISTRIBUTED_DEBUG"):
    set_debug_level_from_env()


def _make_pdb():
    """A pdb that reads the terminal: under a launcher, a rank's stdin is not the keyboard."""
    import pdb  # measured: 20 ms of `import ember`, paid only when a breakpoint is hit

    class TtyPdb(pdb.Pdb):
        def interaction(self, *args, **kwargs):
            saved = sys.stdin
            try:
                with open("/dev/tty") as tty:
                    sys.stdin = tty
                    return super().interaction(*args, **kwargs)
            except OSError:  # no terminal (a test, a batch job): keep the given stdin
                sys.stdin = saved
                return super().interaction(*args, **kwargs)
            finally:
                sys.stdin = saved

    return TtyPdb()


_skips: dict[int, int] = {}


def breakpoint(rank: int = 0, skip: int = 0, timeout_s: float | None = 3600) -> None:  # noqa: A001
    """Stop in pdb on rank ``rank`` only; the other ranks wait at a barrier until it continues.

    ``skip`` ignores the first ``skip`` calls from the same place. ``timeout_s`` replaces the
    default group's timeout, if it has one (as torch, so a long debug session does not time the
    waiting ranks out).
    """
    if skip > 0:
        caller = sys._getframe(1)
        where = hash((caller.f_code.co_filename, caller.f_lineno))
        _skips[where] = _skips.get(where, 0) + 1
        if _skips[where] <= skip:
            return
    pg = _default_pg()
    if timeout_s is not None and pg.timeout is not None:
        pg.timeout = float(timeout_s)  # without a timeout the group already waits forever
    if get_rank() == rank:
        debugger = _make_pdb()
        debugger.message(
            "\n!!! ATTENTION !!!\n\n"
            f"Type 'up' to get to the frame that called dist.breakpoint(rank={rank})\n"
        )
        debugger.set_trace(sys._getframe(1))
    barrier()
