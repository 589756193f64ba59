"""The ``use_deterministic_algorithms`` flag (ember's CPU ops are deterministic already)."""

from __future__ import annotations

_settings = {"deterministic": False, "warn_only": False}


def use_deterministic_algorithms(mode: bool, *, warn_only: bool = False) -> None:
    """Record the flag (ember's CPU ops are deterministic already)."""
    _settings["deterministic"] = bool(mode)
    _settings["warn_only"] = bool(warn_only)


def are_deterministic_algorithms_enabled() -> bool:
    return _settings["deterministic"]
