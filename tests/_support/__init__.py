"""Helpers shared by several test files (fixtures are in tests/conftest.py)."""
