"""The ``use_deterministic_algorithms`` flags and torch's debug-mode view of them (ember's CPU ops
are deterministic already)."""

from __future__ import annotations

_settings = {"deterministic": False, "warn_only": False, "fill_uninitialized_memory": True}


def use_deterministic_algorithms(mode: bool, *, warn_only: bool = False) -> None:
    """Record the flag (ember's CPU ops are deterministic already)."""
    _settings["deterministic"] = bool(mode)
    _settings["warn_only"] = bool(warn_only)


def are_deterministic_algorithms_enabled() -> bool:
    return _settings["deterministic"]


_DEBUG_MODES = {"default": 0, "warn": 1, "error": 2}


def get_deterministic_debug_mode() -> int:
    """0 (off), 1 (warn) or 2 (error), from the deterministic flags, as torch."""
    if not _settings["deterministic"]:
        return 0
    return 1 if _settings["warn_only"] else 2


def set_deterministic_debug_mode(debug_mode) -> None:
    """'default'/0, 'warn'/1 or 'error'/2: the deterministic flags, as torch."""
    if isinstance(debug_mode, str):
        if debug_mode not in _DEBUG_MODES:
            raise RuntimeError(
                "invalid value of debug_mode, expected one of `default`, `warn`, `error`, "
                f"but got {debug_mode}"
            )
        debug_mode = _DEBUG_MODES[debug_mode]
    elif not isinstance(debug_mode, int):
        raise TypeError(f"debug_mode must be str or int, but got {type(debug_mode)}")
    if debug_mode not in (0, 1, 2):
        raise RuntimeError(
            f"invalid value of debug_mode, expected 0, 1, or 2, but got {debug_mode}"
        )
    use_deterministic_algorithms(debug_mode != 0, warn_only=debug_mode == 1)


def is_deterministic_algorithms_warn_only_enabled() -> bool:
    return _settings["warn_only"]


def fill_uninitialized_memory() -> bool:
    """torch.utils.deterministic.fill_uninitialized_memory (True by default, as torch)."""
    return _settings["fill_uninitialized_memory"]


def set_fill_uninitialized_memory(mode: bool) -> None:
    """Record the flag (a bool, else RuntimeError, as torch)."""
    if not isinstance(mode, bool):
        raise RuntimeError(f"expected a bool, but got {type(mode).__name__}")
    _settings["fill_uninitialized_memory"] = mode
