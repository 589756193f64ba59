"""sorting ops (filled in by the core-ops work)."""

from __future__ import annotations

__all__: list = []
