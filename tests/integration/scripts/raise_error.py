"""Fails two calls deep, so the traceback shape can be checked."""

import torch  # noqa: F401


def inner():
    raise ValueError("boom from the user script")


def outer():
    inner()


outer()
