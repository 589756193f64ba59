"""The process-wide flags torch keeps at its top level (ember/_settings.py and the deterministic
debug mode in ember/_backend/determinism.py): the same reads after the same writes as torch,
torch's errors and warnings for bad values; each test restores what it set."""

from __future__ import annotations

import pytest

import ember
from tests._support.torch_ref import torch


@pytest.fixture
def restore():
    saved = [
        (lib, lib.get_float32_matmul_precision(), lib.get_deterministic_debug_mode(),
         lib.is_warn_always_enabled(), lib.is_anomaly_enabled(), lib.is_anomaly_check_nan_enabled())
        for lib in (ember, torch)
    ]  # fmt: skip
    yield
    for lib, prec, mode, warn, anomaly, nan in saved:
        lib.set_float32_matmul_precision(prec)
        lib.set_deterministic_debug_mode(mode)
        lib.set_warn_always(warn)
        lib.set_anomaly_enabled(anomaly, nan)


def _reads(lib):
    return (
        lib.get_float32_matmul_precision(),
        lib.get_deterministic_debug_mode(),
        lib.are_deterministic_algorithms_enabled(),
        lib.is_deterministic_algorithms_warn_only_enabled(),
        lib.is_warn_always_enabled(),
        lib.is_anomaly_enabled(),
        lib.is_anomaly_check_nan_enabled(),
    )


def test_defaults_and_writes_read_back_as_torch(restore):
    assert _reads(ember) == _reads(torch)
    for lib in (ember, torch):
        lib.set_float32_matmul_precision("high")
        lib.set_deterministic_debug_mode("warn")
        lib.set_warn_always(True)
        lib.set_anomaly_enabled(True, False)
    assert _reads(ember) == _reads(torch)
    for lib in (ember, torch):
        lib.set_deterministic_debug_mode(2)
        lib.set_float32_matmul_precision("medium")
    assert _reads(ember) == _reads(torch)
    for lib in (ember, torch):
        lib.set_deterministic_debug_mode("default")
        lib.use_deterministic_algorithms(True, warn_only=True)
    assert _reads(ember) == _reads(torch)
    assert ember.get_num_interop_threads() >= 1


def test_bad_values_as_torch(restore):
    for lib in (ember, torch):
        with pytest.warns(UserWarning, match="is not one of 'highest', 'high', or 'medium'"):
            lib.set_float32_matmul_precision("bogus")
        assert lib.get_float32_matmul_precision() == "highest"
        for bad, msg in (("bogus", "expected one of `default`"), (5, "expected 0, 1, or 2")):
            with pytest.raises(RuntimeError, match=msg):
                lib.set_deterministic_debug_mode(bad)


def test_anomaly_context_managers_as_torch(restore):
    for lib in (ember, torch):
        seen = []
        with lib.autograd.detect_anomaly(check_nan=False):
            seen.append((lib.is_anomaly_enabled(), lib.is_anomaly_check_nan_enabled()))
        seen.append(lib.is_anomaly_enabled())
        lib.autograd.set_detect_anomaly(True)
        seen.append(lib.is_anomaly_enabled())
        with lib.autograd.set_detect_anomaly(False):
            seen.append(lib.is_anomaly_enabled())
        seen.append(lib.is_anomaly_enabled())
        lib.autograd.set_detect_anomaly(False)
        if lib is ember:
            mine = seen
    assert mine == seen == [(True, False), False, True, False, True]
