"""Fixtures for the whole suite (helpers to import are in tests/_support/)."""

from __future__ import annotations

import os

import pytest

import ember
from ember._backend.cpu import blas as _blas
from ember._backend.cpu.threads import _settings
from tests._support.torch_ref import torch


@pytest.fixture(autouse=True, scope="session")
def _private_disk_cache(tmp_path_factory):
    """ember's disk cache in a folder of the run's own: no test reads or writes the user's."""
    saved = os.environ.get("EMBER_CACHE_DIR")
    os.environ["EMBER_CACHE_DIR"] = str(tmp_path_factory.mktemp("ember-cache"))
    yield
    if saved is None:
        del os.environ["EMBER_CACHE_DIR"]
    else:
        os.environ["EMBER_CACHE_DIR"] = saved


@pytest.fixture(autouse=True)
def _seed_and_defaults():
    ember.manual_seed(0)
    torch.manual_seed(0)
    yield
    ember.set_default_dtype(ember.float32)


@pytest.fixture
def restore_thread_settings():
    """For tests that change the thread counts: put ember's and the BLAS's back afterwards."""
    saved, blas = _settings["threads"], _blas.get_threads()
    yield
    _settings["threads"] = saved
    if blas is not None:
        _blas.set_threads(blas)
