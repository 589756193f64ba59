"""Fixtures for the whole suite (helpers to import are in tests/_support/)."""

from __future__ import annotations

import pytest

import ember
from tests._support.torch_ref import torch


@pytest.fixture(autouse=True)
def _seed_and_defaults():
    ember.manual_seed(0)
    torch.manual_seed(0)
    yield
    ember.set_default_dtype(ember.float32)
